// The orchestrator's backend on the driver core: the OVS view/transactor (the replica) and the kernel
// handle the Docker driver uses, with the core's Wiring primitive doing every attach (veth pair, OVS port
// in one transaction, MTU/MAC/TX offload, container end created inside the namespace and configured, all
// rolled back on failure). What it adds: bridges made on demand (as `ovs-docker add-port` does), removal of
// many ports at once, and VLAN changes.

import { NetlinkHandle } from '@ovs-container-network/netlink';
import { ConflictError, OvsdbFailure } from '../core/errors.js';
import type { KernelRoute } from '../core/kernel.js';
import {
  type OvsBackend as CoreOvs,
  insert,
  mutate,
  named,
  type OvsOp,
  set,
  transactionFailure,
  update,
  uuid,
} from '../core/ovs.js';
import { releasePortExtras } from '../core/port-extras.js';
import type { TypedOvs } from '../core/qos.js';
import { applyContainerShaping, asTransactor, type RateLimit } from '../core/qos.js';
import { Wiring } from '../core/wiring.js';
import type { Backend, PortRow, WireSpec } from './backend.js';

export interface CoreBackendOptions {
  ovs: CoreOvs;
  /** A handle in the host namespace (created when omitted, and then closed with the backend). */
  kernel?: NetlinkHandle;
  /** Resolves when the view holds the first snapshot (default: at once). */
  ready?: () => Promise<void>;
  /** Closes the OVS side (default: `ovs.close()`). */
  close?: () => Promise<void>;
}

export class CoreBackend implements Backend {
  readonly #ovs: CoreOvs;
  readonly #kernel: NetlinkHandle;
  readonly #ownKernel: boolean;
  readonly #wiring: Wiring;
  readonly #ready: () => Promise<void>;
  readonly #closeOvs: () => Promise<void>;
  readonly #bridgeCreation = new Map<string, Promise<void>>();
  /** Ports waiting to be removed in the next batch (one OVSDB transaction, one link-group delete). */
  #batch: { ports: Set<string>; done: Promise<void> } | undefined;
  /** The next-cfg handshake waiting to start (joined by every caller of this turn). */
  #applying: { done: Promise<void> } | undefined;

  constructor(opts: CoreBackendOptions) {
    this.#ovs = opts.ovs;
    this.#ownKernel = opts.kernel === undefined;
    this.#kernel = opts.kernel ?? NetlinkHandle.open('host');
    this.#wiring = new Wiring({
      ovs: opts.ovs,
      kernel: this.#kernel,
      openKernel: (ns) => NetlinkHandle.open(ns),
    });
    this.#ready = opts.ready ?? (() => Promise.resolve());
    this.#closeOvs = opts.close ?? (async () => opts.ovs.close?.());
  }

  ready(): Promise<void> {
    return this.#ready();
  }

  ports(): PortRow[] {
    const out: PortRow[] = [];
    for (const bridge of this.#ovs.bridges()) {
      for (const portUuid of bridge.ports) {
        const port = this.#ovs.port(portUuid);
        if (port?.interfaces.length !== 1) continue;
        const iface = this.#ovs.iface(port.interfaces[0]!);
        if (!iface) continue;
        out.push({
          bridge: bridge.name,
          port: port.name,
          portUuid: port.uuid,
          ifaceUuid: iface.uuid,
          tag: port.tag,
          trunks: [...port.trunks],
          ifaceExternalIds: { ...iface.externalIds },
          portExternalIds: { ...port.externalIds },
          ofport: iface.ofport,
        });
      }
    }
    return out;
  }

  bridgeExists(name: string): boolean {
    return this.#ovs.bridgeByName(name) !== undefined;
  }

  bridgePortCount(name: string): number {
    const b = this.#ovs.bridgeByName(name);
    if (!b) return 0;
    return b.ports.filter((p) => this.#ovs.port(p)?.name !== name).length;
  }

  /** A bridge like `ovs-vsctl add-br`: the Bridge, its internal Port/Interface of the same name, in Open_vSwitch.bridges. */
  ensureBridge(name: string, datapathType: string): Promise<void> {
    let p = this.#bridgeCreation.get(name);
    if (!p) {
      p = this.#createBridge(name, datapathType).finally(() => this.#bridgeCreation.delete(name));
      this.#bridgeCreation.set(name, p);
    }
    return p;
  }

  async #createBridge(name: string, datapathType: string): Promise<void> {
    if (this.bridgeExists(name)) return;
    const root = this.#ovs.rootUuid();
    if (!root) throw new OvsdbFailure('the Open_vSwitch table has no row: run `ovs-vsctl init` first');
    const ops: OvsOp[] = [
      insert('Interface', { name, type: 'internal' }, 'bi'),
      insert('Port', { name, interfaces: named('bi') }, 'bp'),
      insert('Bridge', { name, ports: named('bp'), datapath_type: datapathType }, 'bb'),
      mutate('Open_vSwitch', root, 'bridges', 'insert', named('bb')),
    ];
    const results = await this.#transact(ops, `creating bridge ${name}`, true);
    // Bridge.name is an index: a concurrent creator (another process) makes our insert fail; theirs is fine.
    if (transactionFailure(results, ops) && !this.bridgeExists(name))
      throw new OvsdbFailure(`creating bridge ${name} failed: ${describe(results, ops)}`);
  }

  async deleteBridge(name: string): Promise<void> {
    const b = this.#ovs.bridgeByName(name);
    const root = this.#ovs.rootUuid();
    if (!b || !root) return;
    await this.#transact(
      [mutate('Open_vSwitch', root, 'bridges', 'delete', uuid(b.uuid))],
      `deleting bridge ${name}`,
    );
  }

  async wire(spec: WireSpec): Promise<void> {
    const routes: KernelRoute[] = [];
    if (spec.gateway !== undefined) routes.push({ dst: 'default', gateway: spec.gateway });
    if (spec.gateway6 !== undefined) routes.push({ dst: 'default', gateway: spec.gateway6, family: 6 });
    for (const r of spec.routes)
      routes.push(
        r.destination === 'default'
          ? { dst: 'default', gateway: r.via!, ...(r.via!.includes(':') ? { family: 6 as const } : {}) }
          : { dst: r.destination, ...(r.via === undefined ? {} : { gateway: r.via }) },
      );
    await this.#wiring.attach({
      bridge: spec.bridge,
      hostIfName: spec.hostName,
      containerIfName: spec.peerName,
      ...(spec.mtu === undefined ? {} : { mtu: spec.mtu }),
      ...(spec.mac === undefined ? {} : { mac: spec.mac }),
      ...(spec.trunks.length ? { trunks: spec.trunks } : spec.vlan === undefined ? {} : { tag: spec.vlan }),
      externalIds: spec.portExternalIds,
      interfaceExternalIds: spec.ifaceExternalIds,
      ...(spec.portExternalIds['ocn-owner'] === undefined
        ? {}
        : { owner: spec.portExternalIds['ocn-owner'] }),
      txChecksumOff: !spec.txChecksumOffload,
      target: {
        netns: { fd: spec.netnsFd },
        ifname: spec.ifname,
        addresses: spec.addresses.map((a) => a.cidr),
        routes,
      },
    });
  }

  /**
   * Removals are batched: every unwire issued in the same turn of the event loop joins one OVSDB transaction
   * and one link-group delete, because each veth deletion costs the kernel an RCU grace period (~20 ms
   * here, PROTOCOLS.md §4) while a group delete pays it once for all.
   */
  unwire(ports: readonly string[]): Promise<void> {
    if (ports.length === 0) return Promise.resolve();
    if (!this.#batch) {
      const batch: { ports: Set<string>; done: Promise<void> } = {
        ports: new Set(),
        done: Promise.resolve(),
      };
      batch.done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (this.#batch === batch) this.#batch = undefined;
        return this.#remove([...batch.ports]);
      });
      this.#batch = batch;
    }
    for (const p of ports) this.#batch.ports.add(p);
    return this.#batch.done;
  }

  async #remove(names: string[]): Promise<void> {
    // 0. The ports' QoS (root rows, never garbage-collected) and mirrors (core/port-extras.ts).
    for (const n of names) {
      const port = this.#ovs.portByName(n);
      if (port) await releasePortExtras(this.#ovs, port);
    }
    // 1. OVS: one transaction removing every port from its bridge (Port/Interface rows are garbage-collected,
    //    RFC 7047 §3.2 isRoot=false). Retried when a bridge changed between the read and the commit.
    for (let attempt = 0; ; attempt++) {
      const byBridge = new Map<string, string[]>();
      for (const n of names) {
        const port = this.#ovs.portByName(n);
        const bridge = port && this.#ovs.bridgeOfPort(port.uuid);
        if (port && bridge) byBridge.set(bridge.uuid, [...(byBridge.get(bridge.uuid) ?? []), port.uuid]);
      }
      if (byBridge.size === 0) break;
      const ops = [...byBridge].map(([b, ps]) =>
        mutate('Bridge', b, 'ports', 'delete', set(ps.map((p) => uuid(p)))),
      );
      const results = await this.#transact(ops, `removing ports ${names.join(' ')}`, true);
      if (!transactionFailure(results, ops)) break;
      if (attempt >= 2)
        throw new OvsdbFailure(`removing ports ${names.join(' ')} failed: ${describe(results, ops)}`);
    }
    // 2. Kernel: tag the host ends with a fresh link group and delete the group in one request.
    const present: string[] = [];
    for (const n of names) if (await this.#kernel.findLink(n)) present.push(n);
    if (present.length === 0) return;
    if (present.length === 1) {
      await this.#kernel.deleteLink(present[0]!, { missingOk: true });
      return;
    }
    const group = 0x4f43_0000 + Math.floor(Math.random() * 0xffff) + 1;
    const tagged: string[] = [];
    for (const n of present) {
      try {
        await this.#kernel.setLink(n, { group });
        tagged.push(n);
      } catch {
        // vanished meanwhile (its namespace died): nothing to delete
      }
    }
    if (tagged.length === 0) return;
    // A group delete removes every link of the group: make sure only ours carry this (random) number.
    const strangers = (await this.#kernel.listLinks()).filter(
      (l) => l.group === group && !tagged.includes(l.name),
    );
    if (strangers.length === 0) await this.#kernel.deleteLinkGroup(group);
    else for (const n of tagged) await this.#kernel.deleteLink(n, { missingOk: true });
  }

  /** Typed OVSDB transactions through the same replica (rate limits, mirrors). */
  transactor(): TypedOvs {
    return asTransactor(this.#ovs);
  }

  /**
   * Shapes what the container end of `hostIfName` sends (its token bucket), inside `netns` (a path or an
   * open fd) where it is called `ifname` — only after checking that this interface IS the veth peer of our
   * host end (each one's IFLA_LINK names the other), since the namespace path is read back from OVS.
   */
  async shapePeer(
    hostIfName: string,
    netns: string | number,
    ifname: string,
    limit: RateLimit | null | undefined,
  ): Promise<void> {
    const host = await this.#kernel.findLink(hostIfName);
    const h = NetlinkHandle.open(typeof netns === 'number' ? { fd: netns } : { path: netns });
    try {
      const peer = await h.findLink(ifname);
      if (
        host?.kind !== 'veth' ||
        peer?.kind !== 'veth' ||
        peer.index !== host.peerIndex ||
        peer.peerIndex !== host.index
      )
        throw new ConflictError(
          `interface ${ifname} in ${typeof netns === 'number' ? 'the target namespace' : netns} is not the veth peer of port ${hostIfName}; its rate limit was not changed`,
        );
      await applyContainerShaping(h, peer.index, limit);
    } finally {
      h.close();
    }
  }

  async setVlan(row: PortRow, tag: number | undefined, trunks: readonly number[]): Promise<void> {
    const ops = [
      update('Port', row.portUuid, {
        tag: tag === undefined ? ['set', []] : tag,
        trunks: set(trunks),
      }),
    ];
    await this.#transact(ops, `setting the VLAN of port ${row.port}`);
  }

  /**
   * ovs-vswitchd copies Open_vSwitch.next_cfg to cur_cfg once it has reconfigured itself from the database
   * (vswitch.ovsschema; ovs-vsctl(8) "--no-wait"). Bump next_cfg and wait for cur_cfg to reach it. Callers in
   * the same turn of the event loop share one bump: it comes after all of their commits.
   */
  applied(timeoutMs: number): Promise<void> {
    if (!this.#applying) {
      const p = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (this.#applying?.done === p) this.#applying = undefined;
        return this.#bumpAndWait(timeoutMs);
      });
      this.#applying = { done: p };
    }
    return this.#applying.done;
  }

  async #bumpAndWait(timeoutMs: number): Promise<void> {
    const root = this.#ovs.rootUuid();
    if (!root) throw new OvsdbFailure('the Open_vSwitch table has no row: run `ovs-vsctl init` first');
    const where = [['_uuid', '==', uuid(root)]];
    const bump: OvsOp[] = [
      { op: 'mutate', table: 'Open_vSwitch', where, mutations: [['next_cfg', '+=', 1]] },
      { op: 'select', table: 'Open_vSwitch', where, columns: ['next_cfg'] },
    ];
    const res = await this.#transact(bump, 'asking ovs-vswitchd to confirm its configuration');
    const target = Number((res[1] as { rows?: { next_cfg?: unknown }[] }).rows?.[0]?.next_cfg);
    const poll: OvsOp[] = [{ op: 'select', table: 'Open_vSwitch', where, columns: ['cur_cfg'] }];
    const deadline = Date.now() + timeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      const r = await this.#transact(poll, 'reading Open_vSwitch.cur_cfg');
      const cur = Number((r[0] as { rows?: { cur_cfg?: unknown }[] }).rows?.[0]?.cur_cfg);
      if (cur >= target) return;
      if (Date.now() >= deadline)
        throw new OvsdbFailure(
          `ovs-vswitchd did not apply the change within ${timeoutMs} ms (cur_cfg ${cur} < next_cfg ${target}): ` +
            'is ovs-vswitchd running on this database?',
        );
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  async hostLinkExists(name: string): Promise<boolean> {
    return (await this.#kernel.findLink(name)) !== undefined;
  }

  async close(): Promise<void> {
    await this.#batch?.done.catch(() => undefined);
    if (this.#ownKernel) this.#kernel.close();
    await this.#closeOvs();
  }

  async #transact(ops: OvsOp[], what: string, tolerateOpErrors = false): Promise<unknown[]> {
    let results: unknown[];
    try {
      results = await this.#ovs.transact(ops);
    } catch (err) {
      throw new OvsdbFailure(`${what} failed`, { cause: err });
    }
    if (!tolerateOpErrors && transactionFailure(results, ops))
      throw new OvsdbFailure(`${what} failed: ${describe(results, ops)}`);
    return results;
  }
}

function describe(results: readonly unknown[], ops: readonly OvsOp[]): string {
  const f = transactionFailure(results, ops);
  return f ? `${f.error}${f.details ? ` (${f.details})` : ''}` : 'unknown error';
}
