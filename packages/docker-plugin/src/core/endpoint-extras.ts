// Endpoint options of the Docker driver beyond wiring: rate limits and mirroring. Docker passes
// `docker network connect --driver-opt k=v` (and compose's per-service `driver_opts`) as top-level keys of
// CreateEndpoint's Options (PROTOCOLS.md §3), next to its own `com.docker.network.*` keys.
//
//   rate.ingress / rate.egress / burst.ingress / burst.egress   over the network's `-o` defaults (qos.ts)
//   mirror.to=NAME        mirror this endpoint's traffic (both directions) to monitor NAME (mirror.ts)
//   mirror.monitor=NAME   this endpoint is monitor NAME

import { NetlinkHandle } from '@ovs-container-network/netlink';
import { Transaction } from '@ovs-container-network/ovsdb';
import * as OVS from '@ovs-container-network/ovsdb/models/open-vswitch';
import { InvalidOptionError, NotFoundError } from './errors.js';
import { addMirror, isMirrorOption, parseMonitorName, syncMirrors } from './mirror.js';
import type { PortUuid } from './ovs/model.js';
import type { TypedOvs } from './qos.js';
import {
  applyContainerShaping,
  applyPortQos,
  exec,
  isRateOption,
  networkQosLimits,
  parseRateOptions,
  RATE_OPTION_KEYS,
  type RateLimit,
  type RateLimits,
  recordedLimits,
} from './qos.js';
import type { NetworkRecord } from './records.js';
import type { Logger } from './types.js';

export interface EndpointExtras {
  limits: RateLimits;
  mirrorTo: string | undefined;
  monitor: string | undefined;
}

const OUR_PREFIXES = ['rate.', 'burst.', 'mirror.'];

/** Reads and checks the endpoint's options (unknown `rate.`/`burst.`/`mirror.` keys are refused). */
export function parseEndpointExtras(
  options: Readonly<Record<string, unknown>> | null | undefined,
  net: NetworkRecord,
): EndpointExtras {
  const opts = options ?? {};
  const rate: Record<string, unknown> = {};
  let mirrorTo: string | undefined;
  let monitor: string | undefined;
  for (const [k, v] of Object.entries(opts)) {
    if (!OUR_PREFIXES.some((p) => k.startsWith(p))) continue;
    if (isRateOption(k)) rate[k] = v;
    else if (k === 'mirror.to') mirrorTo = parseMonitorName(k, v);
    else if (k === 'mirror.monitor') monitor = parseMonitorName(k, v);
    else if (!isMirrorOption(k))
      throw new InvalidOptionError(
        k,
        v,
        'a known endpoint option: rate.ingress, rate.egress, burst.ingress, burst.egress, mirror.to, mirror.monitor',
      );
  }
  if (mirrorTo !== undefined && monitor !== undefined)
    throw new InvalidOptionError('mirror.to', mirrorTo, 'nothing on a monitor (mirror.monitor) itself');
  // A monitor is exempt from the network's default limits (it takes only its own): mirrored copies shaped
  // at the monitor's port also slowed the mirrored traffic itself in our measurements.
  const defaults = monitor === undefined ? networkQosLimits(net.qos) : {};
  return { limits: parseRateOptions(rate, defaults, net.mtu), mirrorTo, monitor };
}

/** After the port exists: its QoS and recorded limits, its mirror, and the mirrors waiting for it as monitor. */
export async function applyEndpointExtras(
  t: TypedOvs,
  net: NetworkRecord,
  port: string,
  owner: string,
  extras: EndpointExtras,
): Promise<void> {
  if (extras.limits.ingress || extras.limits.egress)
    await applyPortQos(t, { port, owner, limits: extras.limits });
  if (extras.mirrorTo !== undefined)
    await addMirror(t, { bridge: net.bridge, source: { port }, to: extras.mirrorTo, owner });
  if (extras.monitor !== undefined) await syncMirrors(t, owner, net.bridge);
}

/** Port external_ids key: the sandbox (network namespace file) Join was given, for later egress changes. */
export const SANDBOX_KEY = 'ocn-sandbox';

/**
 * Records the sandbox of a joined endpoint on its Port (once: a rejoin with the same key writes nothing). The
 * row is named by its uuid: ovsdb-server 3.1 looks a `_uuid ==` condition up and scans the whole table for
 * any other (ovsdb/query.c), and every Join writes this.
 */
export async function recordSandbox(
  t: TypedOvs,
  port: { _uuid: PortUuid; external_ids: Readonly<Record<string, string>> },
  sandboxKey: string,
): Promise<void> {
  if (!sandboxKey.startsWith('/') || port.external_ids[SANDBOX_KEY] === sandboxKey) return;
  const txn = new Transaction('Open_vSwitch');
  txn.mutate(
    OVS.Port,
    [['_uuid', '==', port._uuid]],
    [
      ['external_ids', 'delete', [SANDBOX_KEY]],
      ['external_ids', 'insert', { [SANDBOX_KEY]: sandboxKey }],
    ],
  );
  await exec(t, txn);
}

/**
 * Changes the limits of a RUNNING endpoint (the plugin socket's `/Ocn.SetRateLimit`): `rate.*`/`burst.*`
 * over what the port has now (`rate.X=none` lifts one), ingress on the Port's QoS, egress on the token
 * bucket in the sandbox recorded at Join. Checked before anything changes. Returns what applies now.
 */
export async function changeEndpointLimits(
  t: TypedOvs,
  o: {
    port: { name: string; external_ids: Readonly<Record<string, string>> };
    owner: string;
    mtu: number;
    options: Readonly<Record<string, unknown>>;
  },
): Promise<RateLimits> {
  const rate: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o.options)) {
    if (!isRateOption(k)) throw new InvalidOptionError(k, v, `a rate option: ${RATE_OPTION_KEYS.join(', ')}`);
    rate[k] = v;
  }
  const limits = parseRateOptions(rate, recordedLimits(o.port.external_ids), o.mtu);
  if ('rate.egress' in rate || 'burst.egress' in rate) {
    const sandbox = o.port.external_ids[SANDBOX_KEY];
    if (!sandbox)
      throw new NotFoundError(
        `endpoint port ${o.port.name} has not joined a container (no sandbox recorded): its egress cannot be shaped yet`,
      );
    if (!(await shapeInSandbox(o.port.name, sandbox, limits.egress)))
      throw new NotFoundError(
        `the container end of ${o.port.name} is not in sandbox ${sandbox} (has the container stopped?)`,
      );
  }
  await applyPortQos(t, { port: o.port.name, owner: o.owner, limits });
  return limits;
}

/** Puts (or lifts) the token bucket on the peer of `hostIfName` inside `sandboxKey`; false if not there. */
async function shapeInSandbox(
  hostIfName: string,
  sandboxKey: string,
  limit: RateLimit | null | undefined,
): Promise<boolean> {
  const host = NetlinkHandle.open('host');
  let ns: NetlinkHandle | undefined;
  try {
    const me = await host.findLink(hostIfName);
    if (me?.kind !== 'veth') return false;
    ns = NetlinkHandle.open({ path: sandboxKey });
    const peer = (await ns.listLinks()).find(
      (l) => l.kind === 'veth' && l.index === me.peerIndex && l.peerIndex === me.index,
    );
    if (!peer) return false;
    await applyContainerShaping(ns, peer.index, limit);
    return true;
  } finally {
    ns?.close();
    host.close();
  }
}

/**
 * Docker moves the container end into the sandbox after Join answers, and a qdisc does not survive the
 * move: wait (in the background, up to 10 s) for the veth peer of `hostIfName` to appear in the sandbox
 * namespace — found by each end's IFLA_LINK naming the other, whatever Docker renamed it to — and put the
 * token bucket on it there.
 */
export function shapeWhenMoved(
  hostIfName: string,
  sandboxKey: string,
  limit: RateLimit | null | undefined,
  log: Logger,
): void {
  if (!sandboxKey.startsWith('/')) return;
  void (async () => {
    const host = NetlinkHandle.open('host');
    try {
      const me = await host.findLink(hostIfName);
      if (me?.kind !== 'veth') return;
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        let ns: NetlinkHandle | undefined;
        try {
          ns = NetlinkHandle.open({ path: sandboxKey });
          const peer = (await ns.listLinks()).find(
            (l) => l.kind === 'veth' && l.index === me.peerIndex && l.peerIndex === me.index,
          );
          if (peer) {
            await applyContainerShaping(ns, peer.index, limit);
            log.debug({ port: hostIfName, sandbox: sandboxKey }, 'egress rate limit applied');
            return;
          }
        } catch {
          // the sandbox may not be ready yet
        } finally {
          ns?.close();
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      log.warn(
        { port: hostIfName, sandbox: sandboxKey },
        'egress rate limit not applied: the interface never reached the sandbox',
      );
    } finally {
      host.close();
    }
  })().catch((err: unknown) =>
    log.warn({ port: hostIfName, err: String(err) }, 'egress rate limit not applied'),
  );
}
