// Endpoint options of the Docker driver beyond wiring: rate limits and mirroring. Docker passes
// `docker network connect --driver-opt k=v` (and compose's per-service `driver_opts`) as top-level keys of
// CreateEndpoint's Options (PROTOCOLS.md §3), next to its own `com.docker.network.*` keys.
//
//   rate.ingress / rate.egress / burst.ingress / burst.egress   over the network's `-o` defaults (qos.ts)
//   mirror.to=NAME        mirror this endpoint's traffic (both directions) to monitor NAME (mirror.ts)
//   mirror.monitor=NAME   this endpoint is monitor NAME

import { NetlinkHandle } from '@ovs-container-network/netlink';
import { InvalidOptionError } from './errors.js';
import { addMirror, isMirrorOption, parseMonitorName, syncMirrors } from './mirror.js';
import type { TypedOvs } from './qos.js';
import {
  applyContainerShaping,
  applyPortQos,
  isRateOption,
  networkQosLimits,
  parseRateOptions,
  type RateLimit,
  type RateLimits,
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
