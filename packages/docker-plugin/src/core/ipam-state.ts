// The IPAM driver's state in OVS, as data (ipam-driver.ts does the I/O):
//
//   Open_vSwitch external_ids:ocn-ipam-<owner> = {"v":2,"pools":[{id, addressSpace, v6, pool, subPool, refs}]}
//   Queue (one row per allocated address)  external_ids:ocn-owner=<owner>, ocn-ipam-pool=<pool id>,
//                                           ocn-ipam-address=<canonical ip>, ocn-ipam-leased=<ms>
//
// Queue is a root table of vswitch.ovsschema: its rows are kept without references, and carry nothing the
// datapath uses unless a QoS lists them (ours are in no QoS). The row's uuid is a name-based uuid (v5) of
// the lease key, owner + pool id + address: two writers racing for one address insert the same uuid, so a
// `wait` on it lets one win and sends the other back to pick again. Release deletes by uuid (idempotent).
//
// The v1 format (before per-address rows) kept the addresses in the JSON (`allocated`, `leases`); it is
// read, and converted on the driver's first write. Both are input (anyone with the database socket can
// write them): read strictly, and a malformed state is refused with the field, value and what is allowed.
import { uuidV5 } from '@ovs-container-network/ovsdb';
import type * as OVS from '@ovs-container-network/ovsdb/models/open-vswitch';
import { IpamError, show } from './errors.js';
import { GLOBAL_ADDRESS_SPACE, LOCAL_ADDRESS_SPACE, type PoolSpec, poolId } from './ipam.js';
import { contains, formatIp, parseCidr, parseIp } from './rules/cidr.js';

/** external_ids of a lease row (Queue). */
export const LEASE_EXT = {
  owner: 'ocn-owner',
  pool: 'ocn-ipam-pool',
  address: 'ocn-ipam-address',
  leased: 'ocn-ipam-leased',
} as const;

/** The uuid v5 namespace of lease rows (fixed: the uuids must be the same in every plugin process). */
export const LEASE_UUID_NAMESPACE = 'b0c9e4d2-6f5e-4c1a-9a57-2a8e1f0c3d61';

/** The uuid of the lease row of `address` in pool `poolId` of driver `owner`. */
export function leaseUuid(owner: string, pool: string, address: string): OVS.QueueUuid {
  return uuidV5<'Queue'>(LEASE_UUID_NAMESPACE, `${owner}\n${pool}\n${address}`);
}

/** The external_ids of a lease row. */
export function leaseIds(
  owner: string,
  pool: string,
  address: string,
  leased: number,
): Record<string, string> {
  return {
    [LEASE_EXT.owner]: owner,
    [LEASE_EXT.pool]: pool,
    [LEASE_EXT.address]: address,
    [LEASE_EXT.leased]: String(leased),
  };
}

export interface Lease {
  pool: string;
  address: string;
  leased: number;
}

/**
 * The lease a Queue row records for `owner`, if it is one of ours and well-formed: its uuid must be the one
 * its key gives (so a row written by anyone else, or edited, is not taken for a lease). A missing or bad
 * lease time reads as 0 (old: a reaper may take it once nothing uses the address).
 */
export function leaseOf(
  row: { readonly _uuid: string; readonly external_ids: Readonly<Record<string, string>> },
  owner: string,
): Lease | undefined {
  const ids = row.external_ids;
  const pool = ids[LEASE_EXT.pool];
  const address = ids[LEASE_EXT.address];
  if (ids[LEASE_EXT.owner] !== owner || pool === undefined || address === undefined) return undefined;
  if (row._uuid !== leaseUuid(owner, pool, address)) return undefined;
  const leased = Number(ids[LEASE_EXT.leased]);
  return { pool, address, leased: Number.isSafeInteger(leased) && leased >= 0 ? leased : 0 };
}

/** The state as read: pools, and for the v1 format the addresses it still holds (pool id → address → ms). */
export interface IpamState {
  version: 1 | 2;
  pools: PoolSpec[];
  /** v1 only: the allocations to move into lease rows. */
  v1Leases?: Map<string, Map<string, number>>;
}

/** The v2 text of `pools`; undefined when there is none (the key goes: nothing of the driver stays). */
export function encodeIpamState(pools: readonly PoolSpec[]): string | undefined {
  if (pools.length === 0) return undefined;
  return JSON.stringify({
    v: 2,
    pools: pools.map((p) => ({
      id: p.id,
      addressSpace: p.addressSpace,
      v6: p.v6,
      pool: p.pool,
      subPool: p.subPool,
      refs: p.refs,
    })),
  });
}

export const MAX_POOLS = 4096;
const MAX_STATE_CHARS = 8 * 1024 * 1024;
const POOL_KEYS = ['id', 'addressSpace', 'v6', 'pool', 'subPool', 'refs'];
const V1_POOL_KEYS = [...POOL_KEYS, 'allocated', 'leases'];

/**
 * Parses the state under `where` (e.g. "Open_vSwitch external_ids:ocn-ipam-x"): undefined text is an empty
 * state. Throws IpamError naming the field, its value and what is allowed.
 */
export function parseIpamState(text: string | undefined, where: string): IpamState {
  if (text === undefined) return { version: 2, pools: [] };
  const bad = (field: string, value: unknown, allowed: string, cause?: unknown): never => {
    throw new IpamError(
      `the IPAM state in ${where} is invalid: ${field} ${show(value)} is not allowed; expected ${allowed}`,
      cause === undefined ? undefined : { cause },
    );
  };
  if (text.length > MAX_STATE_CHARS)
    bad('the text', `${text.slice(0, 32)}…`, `at most ${MAX_STATE_CHARS} characters`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new IpamError(`the IPAM state in ${where} is not JSON`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return bad('the state', doc, 'an object {"v":2,"pools":[…]}');
  const o = doc as Record<string, unknown>;
  const version = 'v' in o ? o.v : 1;
  if (version !== 2 && version !== 1) return bad('v', o.v, '2 (or no v: the v1 format)');
  if ('v' in o && version === 1) return bad('v', o.v, '2 (the v1 format has no v)');
  for (const k of Object.keys(o)) if (k !== 'v' && k !== 'pools') bad('field', k, 'only v and pools');
  if (!Array.isArray(o.pools) || o.pools.length > MAX_POOLS)
    return bad('pools', o.pools, `a list of at most ${MAX_POOLS} pools`);
  const pools: PoolSpec[] = [];
  const ids = new Set<string>();
  const v1Leases = new Map<string, Map<string, number>>();
  for (const [i, raw] of (o.pools as unknown[]).entries()) {
    const at = `pools[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      bad(at, raw, 'an object {id, addressSpace, v6, pool, subPool, refs}');
    const p = raw as Record<string, unknown>;
    const keys = version === 2 ? POOL_KEYS : V1_POOL_KEYS;
    for (const k of Object.keys(p)) if (!keys.includes(k)) bad(`${at} field`, k, `one of ${keys.join(', ')}`);
    if (p.addressSpace !== LOCAL_ADDRESS_SPACE && p.addressSpace !== GLOBAL_ADDRESS_SPACE)
      bad(`${at}.addressSpace`, p.addressSpace, `${LOCAL_ADDRESS_SPACE} or ${GLOBAL_ADDRESS_SPACE}`);
    if (typeof p.v6 !== 'boolean') bad(`${at}.v6`, p.v6, 'true or false');
    const v6 = p.v6 as boolean;
    const family = v6 ? 'an IPv6' : 'an IPv4';
    const canonical = (field: string, value: unknown) => {
      if (typeof value !== 'string') return bad(field, value, `${family} CIDR in canonical form`);
      let text: string;
      try {
        text = parseCidr(field, value, v6).text;
      } catch (err) {
        return bad(field, value, `${family} CIDR in canonical form`, err);
      }
      if (text !== value) bad(field, value, `the canonical form ${show(text)}`);
      return parseCidr(field, value, v6);
    };
    const pool = canonical(`${at}.pool`, p.pool);
    if (p.subPool !== '') {
      const sub = canonical(`${at}.subPool`, p.subPool);
      if (!contains(pool, sub)) bad(`${at}.subPool`, p.subPool, `'' or a CIDR inside pool ${pool.text}`);
    }
    if (typeof p.refs !== 'number' || !Number.isInteger(p.refs) || p.refs < 1 || p.refs > 2 ** 31 - 1)
      bad(`${at}.refs`, p.refs, 'an integer from 1 to 2147483647');
    const id = poolId(p.addressSpace as string, pool.text, p.subPool as string);
    if (p.id !== id) bad(`${at}.id`, p.id, `${show(id)} (address space/pool[/subPool])`);
    if (ids.has(id)) bad(`${at}.id`, id, 'a pool id not used by another pool');
    ids.add(id);
    pools.push({
      id,
      addressSpace: p.addressSpace as string,
      v6,
      pool: pool.text,
      subPool: p.subPool as string,
      refs: p.refs as number,
    });
    if (version === 1) v1Leases.set(id, v1Addresses(at, p, pool, bad));
  }
  return version === 2 ? { version, pools } : { version, pools, v1Leases };
}

/** The addresses of a v1 pool with their lease times (those without one count from now). */
function v1Addresses(
  at: string,
  p: Record<string, unknown>,
  pool: ReturnType<typeof parseCidr>,
  bad: (field: string, value: unknown, allowed: string, cause?: unknown) => never,
): Map<string, number> {
  const out = new Map<string, number>();
  const allocated = p.allocated ?? [];
  if (!Array.isArray(allocated) || allocated.length > Number(pool.size > 1_000_000n ? 1_000_000n : pool.size))
    return bad(`${at}.allocated`, p.allocated, 'a list of addresses of the pool');
  const leases = p.leases ?? {};
  if (typeof leases !== 'object' || leases === null || Array.isArray(leases))
    return bad(`${at}.leases`, p.leases, 'an object address → ms since the epoch');
  const times = leases as Record<string, unknown>;
  const now = Date.now();
  for (const [j, a] of (allocated as unknown[]).entries()) {
    const field = `${at}.allocated[${j}]`;
    if (typeof a !== 'string') return bad(field, a, `an address of pool ${pool.text}`);
    let v: bigint;
    try {
      v = parseIp(field, a, pool.v6);
    } catch (err) {
      return bad(field, a, `an address of pool ${pool.text}`, err);
    }
    if (v < pool.base || v >= pool.base + pool.size || formatIp(v, pool.v6) !== a)
      bad(field, a, `an address of pool ${pool.text} in canonical form`);
    const t = times[a];
    if (t !== undefined && (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0))
      bad(`${at}.leases[${show(a)}]`, t, 'ms since the epoch (an integer ≥ 0)');
    out.set(a, typeof t === 'number' ? t : now);
  }
  return out;
}
