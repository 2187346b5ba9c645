import { NetlinkInvalidArgumentError } from './errors.js';
import { NetlinkHandle } from './handle.js';
import { parseIp } from './ip.js';
import type { NetnsRef } from './netns.js';
import type { RouteSpec } from './types.js';

export interface AttachOptions {
  /** Name of the host end. */
  hostName: string;
  /** The container's namespace (a handle opened there is reused, anything else is opened and closed). */
  netns: NetnsRef | NetlinkHandle;
  /** Name of the container end inside the namespace (e.g. `eth0`). */
  ifname: string;
  /** MTU of both ends. */
  mtu?: number | undefined;
  /** MAC of the container end. */
  mac?: string | undefined;
  /** MAC of the host end. */
  hostMac?: string | undefined;
  /** Link group of the host end (for bulk detach with `deleteLinkGroup`). */
  group?: number | undefined;
  /** TX checksum offload of the container end (`false` for OVS's userspace datapath, PROTOCOLS.md §1). */
  txChecksum?: boolean | undefined;
  /** Addresses (`ip/len`) for the container end; IPv6 ones are added with `nodad`. */
  addresses?: string[] | undefined;
  /** Default gateway(s) inside the namespace: an IPv4 and/or an IPv6 address. */
  gateways?: string[] | undefined;
  /** Further routes inside the namespace (`dev` defaults to the container end). */
  routes?: RouteSpec[] | undefined;
  /** Bring `lo` up in the namespace too. */
  loopbackUp?: boolean | undefined;
}

export interface Attachment {
  hostName: string;
  hostIndex: number;
  ifname: string;
  /** ifindex of the container end inside the namespace. */
  index: number;
}

/**
 * A container-style attach: a veth pair whose container end is created directly inside the namespace with
 * its final name, MTU and MAC, brought up, given addresses, default gateways and routes; the host end up.
 * All or nothing: if any step fails, the pair is deleted (which removes both ends) and the error rethrown.
 */
export async function attachVeth(host: NetlinkHandle, o: AttachOptions): Promise<Attachment> {
  if (typeof o !== 'object' || o === null) {
    throw new NetlinkInvalidArgumentError(
      'options',
      o,
      '{hostName, netns, ifname, mtu?, mac?, addresses?, …}',
    );
  }
  const gateways = (o.gateways ?? []).map((g, i) => ({ text: g, ip: parseIp(g, `gateways[${i}]`) }));
  const ns = o.netns instanceof NetlinkHandle ? o.netns : NetlinkHandle.open(o.netns);
  try {
    const pair = await host.createVeth({
      name: o.hostName,
      up: true,
      ...(o.mtu === undefined ? {} : { mtu: o.mtu }),
      ...(o.hostMac === undefined ? {} : { mac: o.hostMac }),
      ...(o.group === undefined ? {} : { group: o.group }),
      peer: {
        name: o.ifname,
        netns: ns,
        ...(o.mac === undefined ? {} : { mac: o.mac }),
        ...(o.txChecksum === undefined ? {} : { txChecksum: o.txChecksum }),
      },
    });
    try {
      // Pipelined: the requests leave in this order on the namespace's socket and the kernel applies them in
      // order (link up before the routes that need it), so there is one wait instead of one per step.
      const dev = pair.peerIndex;
      const steps: Promise<void>[] = [];
      if (o.loopbackUp === true) steps.push(ns.setLoopbackUp());
      steps.push(ns.setLink(dev, { up: true }));
      for (const a of o.addresses ?? []) steps.push(ns.addAddress(dev, a, { nodad: a.includes(':') }));
      for (const g of gateways) {
        steps.push(ns.addRoute({ dst: 'default', gateway: g.text, dev, family: g.ip.family }));
      }
      for (const r of o.routes ?? []) steps.push(ns.addRoute({ dev, ...r }));
      const results = await Promise.allSettled(steps);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    } catch (err) {
      await host.deleteLink(pair.index, { missingOk: true }).catch(() => undefined);
      throw err;
    }
    return { hostName: pair.name, hostIndex: pair.index, ifname: o.ifname, index: pair.peerIndex };
  } finally {
    if (ns !== o.netns) ns.close();
  }
}

/** Undoes {@link attachVeth}: deletes the host end (and with it the container end); a missing one is fine. */
export async function detachVeth(host: NetlinkHandle, hostName: string): Promise<void> {
  await host.deleteLink(hostName, { missingOk: true });
}
