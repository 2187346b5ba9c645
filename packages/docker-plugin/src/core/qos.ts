// Rate limits of an endpoint, in both directions, named from the container's point of view (as the
// Kubernetes bandwidth plugin names them): `ingress` is what the container receives, `egress` what it sends.
//
// Where each direction is enforced (measured on OVS 3.1, userspace datapath, veth ports, kernel 6.18):
// - ingress (to the container): OVS sends it into the host end of the veth, so a QoS on the Port shapes it.
//   `linux-htb` works: ovs-vswitchd installs an HTB qdisc on the host end and AF_PACKET transmits go through
//   it. The Port's QoS (type linux-htb, other_config:max-rate in bit/s) holds queue 0 (max-rate, burst in
//   bits), the HTB class every packet without a set_queue action uses. `egress-policer` (other_config
//   cir/cbs, bytes) is implemented only by netdev-dpdk (ovs-vswitchd.conf.db(5): "egress policing for
//   userspace port types with DPDK"): on a veth port it was accepted and limited nothing.
// - egress (from the container): OVS's Interface ingress_policing_rate/burst (kbps/kb) is applied with a
//   kernel tc policer (the log says "adding cls_basic policing action failed: No such file or directory"
//   on a kernel without cls_basic/act_police), and even where tc accepts it the userspace datapath reads
//   the veth with an ETH_P_ALL packet socket, which sees frames before tc ingress drops them. Measured: no
//   limit at all. What works is shaping where the packets are transmitted, on the container end of the
//   veth: a token-bucket qdisc (sch_tbf) in the container's namespace. A qdisc is dropped when its device
//   moves to another namespace, so it is installed once the interface is where it stays.
//
// State lives in OVS like the rest: the limits are recorded on the Port (external_ids ocn-rate-ingress /
// ocn-rate-egress, `RATE/BURST` in bit/s and bytes), the QoS and Queue rows carry the port's name. QoS and
// Queue are ROOT tables in vswitch.ovsschema (isRoot true): nothing garbage-collects them, so every path
// that removes a port or a limit deletes them, and a sweep removes ours that no Port references.
import { type Handle, type ResultOf, Transaction } from '@ovs-container-network/ovsdb';
import * as OVS from '@ovs-container-network/ovsdb/models/open-vswitch';
import { ConflictError, InvalidOptionError, NotFoundError, OvsdbFailure, show } from './errors.js';

/** One direction's limit: `rate` in bits per second, `burst` in bytes. */
export interface RateLimit {
  rate: number;
  burst: number;
}

/** Both directions, from the container's point of view; absent (or null) means unlimited. */
export interface RateLimits {
  /** What the container receives. */
  ingress?: RateLimit | null | undefined;
  /** What the container sends. */
  egress?: RateLimit | null | undefined;
}

/** Limits as the Orchestrator API takes them: the burst is optional (default: defaultBurst). */
export interface RateLimitsSpec {
  ingress?: { rate: number; burst?: number } | null | undefined;
  egress?: { rate: number; burst?: number } | null | undefined;
}

export type Direction = 'ingress' | 'egress';
export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

/** Option keys (`-o` and `--driver-opt`): `rate.ingress=10mbit`, `burst.egress=64kb`, … */
export const RATE_OPTION_KEYS = ['rate.ingress', 'rate.egress', 'burst.ingress', 'burst.egress'] as const;

export const MIN_RATE = 8_000; // 8 kbit/s
export const MAX_RATE = 100_000_000_000; // 100 Gbit/s
export const MIN_BURST = 1_514; // one Ethernet frame of a 1500-byte MTU
export const MAX_BURST = 256 * 1024 * 1024;

/** external_ids of the Port holding its limits, and of the QoS/Queue rows naming their port. */
export const QOS_EXT = {
  ingress: 'ocn-rate-ingress',
  egress: 'ocn-rate-egress',
  port: 'ocn-qos-port',
  owner: 'ocn-owner',
} as const;

const RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  k: 1e3,
  mbit: 1e6,
  m: 1e6,
  gbit: 1e9,
  g: 1e9,
};
const BURST_UNITS: Record<string, number> = { b: 1, k: 1024, kb: 1024, m: 1024 * 1024, mb: 1024 * 1024 };
const RATE_ALLOWED =
  'a rate in bits per second with a unit: bit, kbit (k), mbit (m) or gbit (g), decimal (1mbit = 1000000 bit/s), from 8kbit to 100gbit, e.g. 10mbit';
const BURST_ALLOWED = `a size in bytes with an optional unit: b, kb (k) or mb (m), binary (1kb = 1024 bytes), from ${MIN_BURST} bytes to 256mb, e.g. 64kb`;

/** Parses `10mbit`, `500kbit`, `1.5gbit` (bits per second). */
export function parseRate(field: string, v: unknown): number {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : typeof v === 'number' ? String(v) : undefined;
  const m = s === undefined ? null : /^([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)$/.exec(s);
  const unit = m ? RATE_UNITS[m[2] as string] : undefined;
  if (!m || unit === undefined) throw new InvalidOptionError(field, v, RATE_ALLOWED);
  const rate = Math.round(Number(m[1]) * unit);
  if (!(rate >= MIN_RATE && rate <= MAX_RATE)) throw new InvalidOptionError(field, v, RATE_ALLOWED);
  return rate;
}

/** Parses `64kb`, `1514`, `2mb` (bytes). */
export function parseBurst(field: string, v: unknown): number {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : typeof v === 'number' ? String(v) : undefined;
  const m = s === undefined ? null : /^([0-9]+)\s*([a-z]*)$/.exec(s);
  const unit = m ? BURST_UNITS[m[2] || 'b'] : undefined;
  if (!m || unit === undefined) throw new InvalidOptionError(field, v, BURST_ALLOWED);
  const burst = Number(m[1]) * unit;
  if (!(burst >= MIN_BURST && burst <= MAX_BURST)) throw new InvalidOptionError(field, v, BURST_ALLOWED);
  return burst;
}

/**
 * The burst used when none is given: 10 ms at the rate, at least two full frames of the MTU. A shaper's
 * bucket this size lets TCP reach the rate (it refills every 10 ms) without a long line-rate spike.
 */
export function defaultBurst(rate: number, mtu = 1500): number {
  return Math.max(Math.ceil((rate / 8) * 0.01), 2 * (mtu + 14));
}

/**
 * The burst used when none is given on an OVN network, where the limit is a POLICER (an OpenFlow meter
 * that drops what exceeds it), not a shaper: 300 ms at the rate. Measured here (OVN 23.03, userspace
 * datapath, 4 s TCP transfers): a 10 ms bucket gave 3 Mbit/s of a 50 Mbit/s limit, 100 ms about 25,
 * 300 ms 48.3 (and 9.7 of 10); TCP needs a bucket that absorbs a congestion window's worth of burst.
 */
export function policerBurst(rate: number, mtu = 1500): number {
  return Math.min(MAX_BURST, Math.max(Math.ceil((rate / 8) * 0.3), 2 * (mtu + 14)));
}

/** The DSCP option (`-o dscp=46`, `--driver-opt dscp=10`): marks what the container sends. */
export const DSCP_OPTION = 'dscp';

/** Parses a DSCP code point, 0..63 (e.g. 46 = EF, 10 = AF11). */
export function parseDscp(field: string, v: unknown): number {
  const s = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
  if (!/^[0-9]{1,2}$/.test(s) || Number(s) > 63)
    throw new InvalidOptionError(field, v, 'a DSCP code point, an integer from 0 to 63 (e.g. 46 for EF)');
  return Number(s);
}

/** True when `key` is one of the rate options (the callers route those keys here). */
export function isRateOption(key: string): boolean {
  return (RATE_OPTION_KEYS as readonly string[]).includes(key);
}

/**
 * The limits named by `rate.*`/`burst.*` options (other keys ignored), over `defaults` (a network's, for
 * an endpoint): a direction's rate replaces the default's, its burst alone keeps the default's rate.
 * `rate.X=none` (or `0`) lifts a network default for one endpoint. Bursts below the MTU's frame are
 * refused: a token bucket smaller than one packet never lets it through.
 */
export function parseRateOptions(
  opts: Readonly<Record<string, unknown>>,
  defaults: RateLimits = {},
  mtu = 1500,
  burstFor: (rate: number, mtu: number) => number = defaultBurst,
): RateLimits {
  const out: RateLimits = {};
  for (const dir of DIRECTIONS) {
    const rk = `rate.${dir}`;
    const bk = `burst.${dir}`;
    const rv = opts[rk];
    const bv = opts[bk];
    let limit: RateLimit | null | undefined = defaults[dir] ?? undefined;
    if (rv !== undefined) {
      const s = typeof rv === 'string' ? rv.trim().toLowerCase() : rv;
      if (s === 'none' || s === '0' || s === 0) limit = null;
      else {
        const rate = parseRate(rk, rv);
        limit = { rate, burst: burstFor(rate, mtu) };
      }
    }
    if (bv !== undefined) {
      const burst = parseBurst(bk, bv);
      if (!limit)
        throw new InvalidOptionError(
          bk,
          bv,
          `a burst together with a rate (${rk}, on the endpoint or the network)`,
        );
      limit = { rate: limit.rate, burst };
    }
    if (limit && limit.burst < mtu + 14)
      throw new InvalidOptionError(
        bk,
        bv ?? `${limit.burst}`,
        `at least one frame of the network's MTU ${mtu} (${mtu + 14} bytes): a smaller token bucket never passes a full-size packet`,
      );
    if (limit !== undefined) out[dir] = limit;
  }
  return out;
}

/** Checks limits given as an object (Orchestrator API): `{ingress?: {rate, burst?} | null, egress?: …}`. */
export function checkRateLimits(
  field: string,
  v: unknown,
  mtu = 1500,
  burstFor: (rate: number, mtu: number) => number = defaultBurst,
): RateLimits {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new InvalidOptionError(
      field,
      v,
      'an object {ingress?, egress?} of {rate (bit/s), burst? (bytes)} or null',
    );
  const out: RateLimits = {};
  for (const [k, x] of Object.entries(v)) {
    if (k !== 'ingress' && k !== 'egress')
      throw new InvalidOptionError(`${field}.${k}`, x, '"ingress" (to the container) or "egress" (from it)');
    if (x === null || x === undefined) {
      out[k] = null;
      continue;
    }
    const o = x as { rate?: unknown; burst?: unknown };
    if (
      typeof o !== 'object' ||
      !Number.isInteger(o.rate) ||
      (o.rate as number) < MIN_RATE ||
      (o.rate as number) > MAX_RATE
    )
      throw new InvalidOptionError(
        `${field}.${k}.rate`,
        o?.rate,
        `an integer number of bits per second from ${MIN_RATE} to ${MAX_RATE}`,
      );
    const rate = o.rate as number;
    const burst = o.burst === undefined ? burstFor(rate, mtu) : o.burst;
    if (
      !Number.isInteger(burst) ||
      (burst as number) < Math.max(MIN_BURST, mtu + 14) ||
      (burst as number) > MAX_BURST
    )
      throw new InvalidOptionError(
        `${field}.${k}.burst`,
        o.burst,
        `an integer number of bytes from ${Math.max(MIN_BURST, mtu + 14)} (one frame of MTU ${mtu}) to ${MAX_BURST}`,
      );
    out[k] = { rate, burst: burst as number };
  }
  return out;
}

/** `RATE/BURST` as recorded in external_ids. */
export function encodeLimit(l: RateLimit): string {
  return `${l.rate}/${l.burst}`;
}

/** A recorded limit read back from OVS (input like any other: malformed → undefined). */
export function decodeLimit(s: string | undefined): RateLimit | undefined {
  if (s === undefined) return undefined;
  const m = /^([0-9]{1,12})\/([0-9]{1,10})$/.exec(s);
  if (!m) return undefined;
  const rate = Number(m[1]);
  const burst = Number(m[2]);
  if (rate < MIN_RATE || rate > MAX_RATE || burst < MIN_BURST || burst > MAX_BURST) return undefined;
  return { rate, burst };
}

/** The limits recorded on a Port's external_ids. */
export function recordedLimits(externalIds: Readonly<Record<string, string>>): RateLimits {
  const out: RateLimits = {};
  for (const dir of DIRECTIONS) {
    const l = decodeLimit(externalIds[QOS_EXT[dir]]);
    if (l) out[dir] = l;
  }
  return out;
}

/** Validates the `qos` field of a network record (records.ts): `{ingress?: RATE/BURST, egress?: …}`. */
export function networkQosProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'qos must be an object';
  for (const [k, x] of Object.entries(v)) {
    if (k !== 'ingress' && k !== 'egress') return `qos has no field ${k}`;
    if (typeof x !== 'string' || decodeLimit(x) === undefined) return `qos.${k} must be RATE/BURST`;
  }
  return undefined;
}

/** A network record's defaults (see networkQosProblem) as limits. */
export function networkQosLimits(v: Readonly<Record<string, string>> | undefined): RateLimits {
  const out: RateLimits = {};
  for (const dir of DIRECTIONS) {
    const l = decodeLimit(v?.[dir]);
    if (l) out[dir] = l;
  }
  return out;
}

export function encodeNetworkQos(l: RateLimits): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const dir of DIRECTIONS) {
    const x = l[dir];
    if (x) out[dir] = encodeLimit(x);
  }
  return Object.keys(out).length ? out : undefined;
}

export function describeLimits(l: RateLimits): string {
  const parts = DIRECTIONS.flatMap((d) => {
    const x = l[d];
    return x ? [`${d} ${x.rate / 1e6} Mbit/s burst ${x.burst} B`] : [];
  });
  return parts.join(', ') || 'unlimited';
}

// ---- OVS side: the Port's QoS (ingress = to the container) ------------------------------------------------

/**
 * What the QoS and mirror code needs from OVSDB: one typed transaction per call, built by `build` and sent
 * (the shape of the core's OvsBackend.transact, which is passed as is).
 */
export interface TypedOvs {
  transact<const H>(build: (t: Transaction<'Open_vSwitch'>) => H): Promise<ResultOf<H>>;
}

/**
 * Sends a transaction built with `new Transaction(…)` through `ovs` (its operations, in order, so its
 * handles stay valid) and reads results by handle.
 */
export async function exec(
  ovs: TypedOvs,
  txn: Transaction<'Open_vSwitch'>,
): Promise<{ get<R>(handle: Handle<R>): R }> {
  const results = (await ovs.transact((x) => txn.operations.map((op) => x.add(op)))) as unknown[];
  return { get: <R>(h: Handle<R>) => results[h.index] as R };
}

export interface ApplyQosSpec {
  /** The Port (= Interface) name. */
  port: string;
  /** Recorded on the QoS and Queue rows (`ocn-owner`). */
  owner: string;
  limits: RateLimits;
}

/**
 * Records `limits` on the Port and makes its QoS say the same, in ONE transaction: the ingress limit as a
 * linux-htb QoS with queue 0 (created, updated in place, or deleted with its Queue), both limits as Port
 * external_ids. A Port whose QoS another tool made is refused (ConflictError) and left alone. ovs-vswitchd
 * changes the HTB class in place: traffic follows within its next reconfiguration (milliseconds).
 */
export async function applyPortQos(t: TypedOvs, spec: ApplyQosSpec): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const read = new Transaction('Open_vSwitch');
    const ports = read.select(OVS.Port, [['name', '==', spec.port]], ['_uuid', 'qos', 'external_ids']);
    const qoses = read.select(
      OVS.QoS,
      [['external_ids', 'includes', { [QOS_EXT.port]: spec.port }]],
      ['_uuid', 'queues', 'external_ids'],
    );
    const got = await exec(t, read).catch((err: unknown) => {
      throw new OvsdbFailure(`reading the QoS of port ${spec.port} failed`, { cause: err });
    });
    const port = got.get(ports)[0];
    if (!port) throw new NotFoundError(`OVS port ${spec.port} does not exist`);
    const ours = got.get(qoses).filter((q) => q.external_ids[QOS_EXT.owner] === spec.owner);
    if (port.qos !== null && !ours.some((q) => q._uuid === port.qos))
      throw new ConflictError(
        `port ${spec.port} has a QoS (${port.qos}) that this plugin did not make; leaving it alone (clear it with \`ovs-vsctl clear Port ${spec.port} qos\`)`,
      );
    const txn = new Transaction('Open_vSwitch');
    txn.comment(`${spec.owner}: rate limits of ${spec.port}: ${describeLimits(spec.limits)}`);
    // The port must still be the one we read (same uuid, same QoS): else read again.
    txn.wait(OVS.Port, {
      where: [['_uuid', '==', port._uuid]],
      columns: ['qos'],
      until: '==',
      rows: [{ qos: port.qos }],
      timeout: 0,
    });
    const ids = { ...port.external_ids };
    for (const dir of DIRECTIONS) {
      const l = spec.limits[dir];
      if (l) ids[QOS_EXT[dir]] = encodeLimit(l);
      else delete ids[QOS_EXT[dir]];
    }
    const ingress = spec.limits.ingress;
    const current = ours.find((q) => q._uuid === port.qos);
    const rowIds = { [QOS_EXT.owner]: spec.owner, [QOS_EXT.port]: spec.port };
    const queueConfig = ingress ? { 'max-rate': String(ingress.rate), burst: String(ingress.burst * 8) } : {};
    const qosConfig = ingress ? { 'max-rate': String(ingress.rate) } : {};
    // Every other QoS of ours naming this port is garbage (a crash between two transactions): deleted
    // before anything is inserted, so the delete cannot match the new rows.
    if (!ingress || ours.some((q) => q._uuid !== current?._uuid))
      deleteOwnRows(txn, spec.port, spec.owner, ingress ? current?._uuid : undefined);
    if (ingress && current) {
      txn.update(OVS.QoS, [['_uuid', '==', current._uuid]], { other_config: qosConfig });
      const q0 = current.queues.get(0);
      if (q0 !== undefined) txn.update(OVS.Queue, [['_uuid', '==', q0]], { other_config: queueConfig });
      else {
        const queue = txn.insert(OVS.Queue, { other_config: queueConfig, external_ids: rowIds });
        txn.mutate(OVS.QoS, [['_uuid', '==', current._uuid]], [['queues', 'insert', new Map([[0, queue]])]]);
      }
      txn.update(OVS.Port, [['_uuid', '==', port._uuid]], { external_ids: ids });
    } else if (ingress) {
      const queue = txn.insert(OVS.Queue, { other_config: queueConfig, external_ids: rowIds });
      const qos = txn.insert(OVS.QoS, {
        type: 'linux-htb',
        other_config: qosConfig,
        queues: new Map([[0, queue]]),
        external_ids: rowIds,
      });
      txn.update(OVS.Port, [['_uuid', '==', port._uuid]], { qos, external_ids: ids });
    } else {
      txn.update(OVS.Port, [['_uuid', '==', port._uuid]], { qos: null, external_ids: ids });
    }
    try {
      await exec(t, txn);
      return;
    } catch (err) {
      if (attempt < 5 && /timed out/.test(String((err as Error).message))) continue;
      throw new OvsdbFailure(
        `setting the rate limits of port ${spec.port} failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
}

/** Deletes our QoS rows (and their Queues) naming `port`, except `keep`. */
function deleteOwnRows(
  txn: Transaction<'Open_vSwitch'>,
  port: string,
  owner: string,
  keep: OVS.QoSUuid | undefined,
): void {
  const ids = { [QOS_EXT.port]: port, [QOS_EXT.owner]: owner };
  if (keep === undefined) {
    txn.delete(OVS.QoS, [['external_ids', 'includes', ids]]);
    txn.delete(OVS.Queue, [['external_ids', 'includes', ids]]);
  } else {
    txn.delete(OVS.QoS, [
      ['external_ids', 'includes', ids],
      ['_uuid', '!=', keep],
    ]);
  }
}

/**
 * Drops the QoS of a port that is about to be removed (or was): clears Port.qos if the port is still there
 * and deletes our QoS and Queue rows naming it, in one transaction. Idempotent.
 */
export async function releasePortQos(t: TypedOvs, port: string, owner: string): Promise<void> {
  const txn = new Transaction('Open_vSwitch');
  txn.comment(`${owner}: drop the QoS of ${port}`);
  txn.update(OVS.Port, [['name', '==', port]], { qos: null });
  deleteOwnRows(txn, port, owner, undefined);
  await exec(t, txn).catch((err: unknown) => {
    throw new OvsdbFailure(`removing the QoS of port ${port} failed`, { cause: err });
  });
}

/**
 * Deletes QoS and Queue rows of `owner` that no Port (resp. QoS) references — left by a crash between a
 * port's removal and its QoS's. Returns how many QoS rows went.
 */
export async function sweepOrphanQos(t: TypedOvs, owner: string): Promise<number> {
  const read = new Transaction('Open_vSwitch');
  const qoses = read.select(
    OVS.QoS,
    [['external_ids', 'includes', { [QOS_EXT.owner]: owner }]],
    ['_uuid', 'external_ids'],
  );
  const queues = read.select(
    OVS.Queue,
    [['external_ids', 'includes', { [QOS_EXT.owner]: owner }]],
    ['_uuid', 'external_ids'],
  );
  const ports = read.select(OVS.Port, [['qos', '!=', null]], ['qos']);
  const allQos = read.select(OVS.QoS, [], ['_uuid', 'queues']);
  const got = await exec(t, read);
  const used = new Set(got.get(ports).map((p) => p.qos));
  const usedQueues = new Set(got.get(allQos).flatMap((q) => [...q.queues.values()]));
  const deadQos = got
    .get(qoses)
    .filter((q) => q.external_ids[QOS_EXT.port] !== undefined && !used.has(q._uuid));
  const deadQueues = got
    .get(queues)
    .filter(
      (q) => q.external_ids[QOS_EXT.port] !== undefined && (!usedQueues.has(q._uuid) || deadQos.length > 0),
    );
  if (deadQos.length === 0 && deadQueues.length === 0) return 0;
  const txn = new Transaction('Open_vSwitch');
  txn.comment(`${owner}: sweep ${deadQos.length} unreferenced QoS row(s)`);
  for (const q of deadQos) txn.delete(OVS.QoS, [['_uuid', '==', q._uuid]]);
  const deadQosIds = new Set(deadQos.map((q) => q._uuid));
  const keptQueues = new Set(
    got
      .get(allQos)
      .filter((q) => !deadQosIds.has(q._uuid))
      .flatMap((q) => [...q.queues.values()]),
  );
  for (const q of deadQueues) if (!keptQueues.has(q._uuid)) txn.delete(OVS.Queue, [['_uuid', '==', q._uuid]]);
  await exec(t, txn).catch(() => undefined); // a concurrent change: the next sweep sees it again
  return deadQos.length;
}

// ---- kernel side: the container end (egress = from the container) ---------------------------------------

/** The part of a netlink handle the egress shaper needs (NetlinkHandle has it). */
export interface ShapingHandle {
  setTokenBucket(
    link: string | number,
    spec: { rateBitsPerSecond: number; burstBytes: number } | null,
  ): Promise<void>;
}

/** Shapes what the container sends on `ifname` (its end of the veth, in its namespace), or lifts it. */
export async function applyContainerShaping(
  kernel: ShapingHandle,
  ifname: string | number,
  limit: RateLimit | null | undefined,
): Promise<void> {
  await kernel.setTokenBucket(
    ifname,
    limit ? { rateBitsPerSecond: limit.rate, burstBytes: limit.burst } : null,
  );
}

export { show };
