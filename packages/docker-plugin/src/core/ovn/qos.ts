// Rate limits and DSCP marking of OVN endpoints, as NB QoS rows on the endpoint's logical switch
// (ovn-nb(5) QoS): one row per limited direction, matched on the endpoint's logical port.
//
// - What the container SENDS (`egress`, from its point of view, as in core/qos.ts) is `from-lport` with
//   `inport == "<lsp>"`; what it RECEIVES (`ingress`) is `to-lport` with `outport == "<lsp>"`. The DSCP
//   mark (`action:dscp`) rides on the from-lport row: it marks what the container sends.
// - ovn-northd turns `bandwidth` into a meter (ls_in_qos_meter / ls_out_qos_meter) and ovn-controller
//   into an OpenFlow meter, which the userspace datapath implements (dpif-netdev meters): a POLICER, so
//   the default burst is policerBurst (300 ms at the rate; measured: 10 ms gives TCP a tenth of the rate).
//   `bandwidth:rate` is kbit/s and `bandwidth:burst` kilobits (ovn-nb(5)); limits are kept exactly (bit/s,
//   bytes) in the row's external_ids `ocn-rate`.
// - The LSP options `qos_max_rate`/`qos_burst` are not used: measured here (23.03, userspace datapath),
//   `qos_max_rate=10000000` on both VIF ports of a transfer left it at 137 Mbit/s and ovn-controller put
//   no QoS on their OVS ports (it applies them to egress interfaces, i.e. a localnet's physical port).
// - The rows are children of Logical_Switch.qos_rules (QoS is not a root table: a row no switch references
//   is garbage-collected), tagged `ocn-owner` and `ocn-qos-port=<lsp>`, and removed in the transaction
//   that deletes the port (driver.ts #deletePorts); a deleted switch takes its rows with it.
import type { NbPlan } from '@ovs-container-network/ovn';
import type * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import { InvalidOptionError } from '../errors.js';
import {
  DIRECTIONS,
  type Direction,
  DSCP_OPTION,
  decodeLimit,
  encodeLimit,
  isRateOption,
  parseDscp,
  parseRateOptions,
  policerBurst,
  type RateLimit,
  type RateLimits,
} from '../qos.js';

/** Priority of our rows (ovn-nb(5): 0..32767): one row per port and direction, so any fixed value works. */
export const QOS_PRIORITY = 1000;

export const OVN_QOS_EXT = {
  owner: 'ocn-owner',
  port: 'ocn-qos-port',
  /** `RATE/BURST` in bit/s and bytes: the limit as asked (the row's bandwidth is rounded to kbit). */
  rate: 'ocn-rate',
  dscp: 'ocn-dscp',
} as const;

/** Switch external_ids holding a network's defaults (`-o rate.*`, `-o dscp`). */
export const SWITCH_QOS_KEYS = {
  ingress: 'ocn-rate-ingress',
  egress: 'ocn-rate-egress',
  dscp: 'ocn-dscp',
} as const;

/** An endpoint's QoS: both limits and the DSCP mark of what it sends; absent/null = none. */
export interface OvnQos {
  limits: RateLimits;
  dscp?: number | null | undefined;
}

/** The options of this module (network `-o` and endpoint `--driver-opt`). */
export function isOvnQosOption(key: string): boolean {
  return isRateOption(key) || key === DSCP_OPTION;
}

/**
 * `rate.*`/`burst.*`/`dscp` over `defaults` (a network's, for an endpoint). Unknown `rate.`/`burst.` keys
 * are refused (a typo must not silently mean "unlimited"); other keys are ignored.
 */
export function parseOvnQosOptions(
  opts: Readonly<Record<string, unknown>>,
  defaults: OvnQos = { limits: {} },
  mtu = 1500,
): OvnQos {
  const rate: Record<string, unknown> = {};
  let dscp = defaults.dscp;
  for (const [k, v] of Object.entries(opts)) {
    if (isRateOption(k)) rate[k] = v;
    else if (k === DSCP_OPTION) {
      const s = typeof v === 'string' ? v.trim().toLowerCase() : v;
      dscp = s === 'none' ? null : parseDscp(k, v);
    } else if (k.startsWith('rate.') || k.startsWith('burst.'))
      throw new InvalidOptionError(
        k,
        v,
        'a known option: rate.ingress, rate.egress, burst.ingress, burst.egress, dscp',
      );
  }
  return { limits: parseRateOptions(rate, defaults.limits, mtu, policerBurst), dscp };
}

/** A network's defaults as switch external_ids (only keys with a value). */
export function switchQosIds(q: OvnQos): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of DIRECTIONS) {
    const l = q.limits[d];
    if (l) out[SWITCH_QOS_KEYS[d]] = encodeLimit(l);
  }
  if (q.dscp !== undefined && q.dscp !== null) out[SWITCH_QOS_KEYS.dscp] = String(q.dscp);
  return out;
}

/** A network's defaults read back from its switch's external_ids (malformed values are ignored). */
export function switchQos(ids: Readonly<Record<string, string>>): OvnQos {
  const limits: RateLimits = {};
  for (const d of DIRECTIONS) {
    const l = decodeLimit(ids[SWITCH_QOS_KEYS[d]]);
    if (l) limits[d] = l;
  }
  const s = ids[SWITCH_QOS_KEYS.dscp];
  const dscp = s !== undefined && /^[0-9]{1,2}$/.test(s) && Number(s) <= 63 ? Number(s) : undefined;
  return { limits, ...(dscp === undefined ? {} : { dscp }) };
}

function rowKey(lsp: string, d: Direction): { direction: 'from-lport' | 'to-lport'; match: string } {
  // ovn-nb(5): port names in a match are quoted strings; ours (`ocn/<switch>/<ip>`) hold no quote.
  return d === 'egress'
    ? { direction: 'from-lport', match: `inport == "${lsp}"` }
    : { direction: 'to-lport', match: `outport == "${lsp}"` };
}

/** kbit/s and kilobits as ovn-nb(5) QoS.bandwidth takes them (rounded up: never 0). */
export function nbBandwidth(l: RateLimit): { rate: number; burst: number } {
  return { rate: Math.ceil(l.rate / 1000), burst: Math.ceil((l.burst * 8) / 1000) };
}

type QosRow = NB.QoS & { readonly _uuid: string };

/** The QoS rows of `owner` for port `lsp` in a replica/table iterable. */
export function portQosRows(rows: Iterable<QosRow>, owner: string, lsp: string): QosRow[] {
  const out: QosRow[] = [];
  for (const r of rows)
    if (r.external_ids[OVN_QOS_EXT.owner] === owner && r.external_ids[OVN_QOS_EXT.port] === lsp) out.push(r);
  return out;
}

/** What the rows of a port say (the exact limits from external_ids). */
export function recordedOvnQos(rows: readonly QosRow[]): OvnQos {
  const limits: RateLimits = {};
  let dscp: number | undefined;
  for (const r of rows) {
    const d: Direction = r.direction === 'from-lport' ? 'egress' : 'ingress';
    const l = decodeLimit(r.external_ids[OVN_QOS_EXT.rate]);
    if (l) limits[d] = l;
    if (d === 'egress' && r.action.dscp !== undefined) dscp = r.action.dscp;
  }
  return { limits, ...(dscp === undefined ? {} : { dscp }) };
}

/**
 * Plans the port's QoS rows to say `q` (inside an nbTransact build): each direction's row updated in
 * place, inserted, or deleted. Idempotent; a port with no limit and no mark has no row.
 */
export function planPortQos(nb: NbPlan, o: { sw: string; lsp: string; owner: string; qos: OvnQos }): void {
  for (const d of DIRECTIONS) {
    const k = rowKey(o.lsp, d);
    const limit = o.qos.limits[d] ?? undefined;
    const dscp = d === 'egress' && o.qos.dscp !== null ? o.qos.dscp : undefined;
    if (!limit && dscp === undefined) {
      nb.deleteQos({ switch: o.sw, priority: QOS_PRIORITY, ...k });
      continue;
    }
    nb.ensureQos({
      switch: o.sw,
      priority: QOS_PRIORITY,
      ...k,
      ...(limit ? nbBandwidth(limit) : {}),
      ...(dscp === undefined ? {} : { dscp }),
      externalIds: {
        [OVN_QOS_EXT.owner]: o.owner,
        [OVN_QOS_EXT.port]: o.lsp,
        [OVN_QOS_EXT.rate]: limit ? encodeLimit(limit) : null,
        [OVN_QOS_EXT.dscp]: dscp === undefined ? null : String(dscp),
      },
    });
  }
}

/** Plans the removal of the port's rows (with the port). */
export function planDropPortQos(nb: NbPlan, o: { sw: string; lsp: string }): void {
  for (const d of DIRECTIONS) nb.deleteQos({ switch: o.sw, priority: QOS_PRIORITY, ...rowKey(o.lsp, d) });
}

export function hasQos(q: OvnQos): boolean {
  return Boolean(q.limits.ingress || q.limits.egress || (q.dscp !== undefined && q.dscp !== null));
}
