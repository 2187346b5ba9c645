// The lease record: what a client knows about its lease, as plain data that survives a restart (the plugin
// keeps it in an OVS `external_ids` value). Times are wall-clock epoch milliseconds, so another process can
// read them; durations are the server's seconds.
import { ipv4Bytes, macBytes } from './addr.js';
import { DhcpInvalidArgumentError } from './errors.js';

export interface Lease {
  /** The endpoint's MAC the lease belongs to (chaddr). */
  mac: string;
  /** Option 61 sent, hex, when one was. */
  clientId?: string;
  hostname?: string;
  address: string;
  subnetMask?: string;
  routers: string[];
  dnsServers: string[];
  domainName?: string;
  /** Option 54 of the ACK: where RENEWING unicasts. */
  serverId: string;
  /** Source MAC of the ACK's frame (the server's, or its relay's): the next hop for unicast renewal. */
  serverMac: string;
  /** Option 51, and T1/T2 (options 58/59, or RFC 2131 §4.4.5's 0.5 and 0.875 of the lease time). */
  leaseTimeSec: number;
  renewalTimeSec: number;
  rebindingTimeSec: number;
  /** When the request that got this ACK was sent (RFC 2131 §4.4.1: the lease runs from then). */
  obtainedAt: number;
}

export const LEASE_INFINITE = 0xffffffff;

/** When the client moves to RENEWING (T1), REBINDING (T2), and when the lease ends. */
export function leaseTimes(l: Lease): { t1: number; t2: number; expires: number } {
  if (l.leaseTimeSec === LEASE_INFINITE) return { t1: Infinity, t2: Infinity, expires: Infinity };
  return {
    t1: l.obtainedAt + l.renewalTimeSec * 1000,
    t2: l.obtainedAt + l.rebindingTimeSec * 1000,
    expires: l.obtainedAt + l.leaseTimeSec * 1000,
  };
}

/** The prefix length of `subnetMask`, or undefined when it is not a contiguous mask. */
export function prefixLength(mask: string): number | undefined {
  const b = ipv4Bytes(mask, 'subnetMask');
  const n = b.readUInt32BE(0);
  const len = 32 - Math.log2((~n >>> 0) + 1);
  return Number.isInteger(len) ? len : undefined;
}

const SERIAL_VERSION = 1;

/** A compact JSON text of the lease (about 300 bytes), for an `external_ids` value. */
export function serializeLease(l: Lease): string {
  return JSON.stringify({ v: SERIAL_VERSION, ...validateLease(l, 'lease') });
}

/** Reads {@link serializeLease}'s text back, validating every field. */
export function parseLease(text: string): Lease {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new DhcpInvalidArgumentError('lease', text, 'the JSON text serializeLease() wrote', { cause: err });
  }
  if (obj === null || typeof obj !== 'object' || (obj as { v?: unknown }).v !== SERIAL_VERSION) {
    throw new DhcpInvalidArgumentError('lease.v', (obj as { v?: unknown } | null)?.v, `${SERIAL_VERSION}`);
  }
  const { v: _v, ...rest } = obj as Record<string, unknown>;
  return validateLease(rest as unknown as Lease, 'lease');
}

function seconds(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > LEASE_INFINITE) {
    throw new DhcpInvalidArgumentError(field, v, 'whole seconds from 0 to 4294967295');
  }
  return v;
}

function optString(v: unknown, field: string): void {
  if (v !== undefined && (typeof v !== 'string' || v.length === 0)) {
    throw new DhcpInvalidArgumentError(field, v, 'a non-empty string, or absent');
  }
}

/** Checks a lease record field by field; returns a copy holding only the known fields. */
export function validateLease(l: Lease, field: string): Lease {
  if (l === null || typeof l !== 'object') throw new DhcpInvalidArgumentError(field, l, 'a lease record');
  macBytes(l.mac, `${field}.mac`);
  macBytes(l.serverMac, `${field}.serverMac`);
  ipv4Bytes(l.address, `${field}.address`);
  ipv4Bytes(l.serverId, `${field}.serverId`);
  if (l.subnetMask !== undefined) ipv4Bytes(l.subnetMask, `${field}.subnetMask`);
  for (const k of ['routers', 'dnsServers'] as const) {
    if (!Array.isArray(l[k]))
      throw new DhcpInvalidArgumentError(`${field}.${k}`, l[k], 'an array of IPv4 addresses');
    for (const [i, a] of l[k].entries()) ipv4Bytes(a, `${field}.${k}[${i}]`);
  }
  optString(l.hostname, `${field}.hostname`);
  optString(l.domainName, `${field}.domainName`);
  if (
    l.clientId !== undefined &&
    (typeof l.clientId !== 'string' || !/^([0-9a-f]{2}){2,}$/u.test(l.clientId))
  ) {
    throw new DhcpInvalidArgumentError(`${field}.clientId`, l.clientId, 'lowercase hex of at least 2 bytes');
  }
  const lease = seconds(l.leaseTimeSec, `${field}.leaseTimeSec`);
  const t1 = seconds(l.renewalTimeSec, `${field}.renewalTimeSec`);
  const t2 = seconds(l.rebindingTimeSec, `${field}.rebindingTimeSec`);
  if (lease !== LEASE_INFINITE && !(t1 <= t2 && t2 <= lease)) {
    throw new DhcpInvalidArgumentError(
      `${field}.renewalTimeSec/rebindingTimeSec`,
      [t1, t2, lease],
      'T1 <= T2 <= lease time',
    );
  }
  if (typeof l.obtainedAt !== 'number' || !Number.isFinite(l.obtainedAt) || l.obtainedAt < 0) {
    throw new DhcpInvalidArgumentError(`${field}.obtainedAt`, l.obtainedAt, 'epoch milliseconds');
  }
  const out: Lease = {
    mac: l.mac.toLowerCase(),
    address: l.address,
    routers: [...l.routers],
    dnsServers: [...l.dnsServers],
    serverId: l.serverId,
    serverMac: l.serverMac.toLowerCase(),
    leaseTimeSec: lease,
    renewalTimeSec: t1,
    rebindingTimeSec: t2,
    obtainedAt: l.obtainedAt,
  };
  if (l.clientId !== undefined) out.clientId = l.clientId;
  if (l.hostname !== undefined) out.hostname = l.hostname;
  if (l.subnetMask !== undefined) out.subnetMask = l.subnetMask;
  if (l.domainName !== undefined) out.domainName = l.domainName;
  return out;
}
