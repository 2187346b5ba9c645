// The IPAM driver's logic (moby libnetwork/ipams/remote/api): address pools and the addresses in them,
// pure and serialisable so the state can live in OVS. Addresses are parsed and formatted by the one CIDR
// rule (rules/cidr.ts).
import { IpamError, show } from './errors.js';
import { type Cidr, contains, formatIp, overlaps, parseCidr, parseIp } from './rules/cidr.js';

export { canonicalIp, cidrContainsIp, cidrsOverlap, formatIp, parseCidr, parseIp } from './rules/cidr.js';

export const LOCAL_ADDRESS_SPACE = 'ocn-local';
export const GLOBAL_ADDRESS_SPACE = 'ocn-global';
/** RequestAddress Options["RequestAddressType"] for the gateway (moby libnetwork/ipamapi). */
export const REQUEST_ADDRESS_TYPE = 'RequestAddressType';
export const GATEWAY_ADDRESS_TYPE = 'com.docker.network.gateway';

/** Where pools come from when RequestPool names none: /24s of 10.97.0.0/16, /64s of fd6f:636e::/48. */
export const DEFAULT_V4_SUPERNET = '10.97.0.0/16';
export const DEFAULT_V4_PREFIX = 24;
export const DEFAULT_V6_SUPERNET = 'fd6f:636e::/48';
export const DEFAULT_V6_PREFIX = 64;

export interface PoolRecord {
  id: string;
  addressSpace: string;
  v6: boolean;
  /** Canonical CIDR of the pool. */
  pool: string;
  /** Canonical CIDR addresses are handed out from ('' = the whole pool). */
  subPool: string;
  /** Reference count: identical RequestPool calls share the pool. */
  refs: number;
  /** Allocated addresses, canonical text. */
  allocated: string[];
  /** When each allocated address was handed out (ms since the epoch), for reaping lost allocations. */
  leases?: Record<string, number>;
}

export interface IpamSnapshot {
  pools: PoolRecord[];
}

export interface RequestPoolInput {
  AddressSpace?: string | undefined;
  Pool?: string | undefined;
  SubPool?: string | undefined;
  V6?: boolean | undefined;
}

export interface RequestAddressInput {
  PoolID: string;
  Address?: string | undefined;
  Options?: Record<string, string> | null | undefined;
}

/** The pool id of an explicit request: identical requests map to the same pool. */
function poolId(space: string, pool: string, subPool: string): string {
  return `${space}/${pool}${subPool === '' ? '' : `/${subPool}`}`;
}

export class Ipam {
  readonly #pools = new Map<string, PoolRecord>();
  readonly #allocated = new Map<string, Set<string>>();
  readonly #leases = new Map<string, Map<string, number>>();
  /** Where the next search for a default pool starts: a retried RequestPool gets a different pool. */
  readonly #cursor = new Map<string, bigint>();

  constructor(snapshot?: IpamSnapshot) {
    for (const p of snapshot?.pools ?? []) {
      this.#pools.set(p.id, { ...p, allocated: [...p.allocated] });
      this.#allocated.set(p.id, new Set(p.allocated));
      // An allocation recorded without its time (older state) counts from when it is first seen.
      const seen = Date.now();
      this.#leases.set(
        p.id,
        new Map(p.allocated.map((a) => [a, typeof p.leases?.[a] === 'number' ? p.leases[a] : seen])),
      );
    }
  }

  snapshot(): IpamSnapshot {
    return {
      pools: [...this.#pools.values()].map((p) => ({
        ...p,
        allocated: [...(this.#allocated.get(p.id) ?? [])],
        leases: Object.fromEntries(this.#leases.get(p.id) ?? []),
      })),
    };
  }

  pool(id: string): PoolRecord | undefined {
    const p = this.#pools.get(id);
    return p && { ...p, allocated: [...(this.#allocated.get(id) ?? [])] };
  }

  requestPool(req: RequestPoolInput): { PoolID: string; Pool: string; Data: Record<string, string> } {
    const space = req.AddressSpace || LOCAL_ADDRESS_SPACE;
    if (space !== LOCAL_ADDRESS_SPACE && space !== GLOBAL_ADDRESS_SPACE) {
      throw new IpamError(
        `unknown address space ${show(space)}; this driver has ${LOCAL_ADDRESS_SPACE} and ${GLOBAL_ADDRESS_SPACE}`,
      );
    }
    const v6 = req.V6 === true;
    if (!req.Pool) {
      if (req.SubPool) throw new IpamError('SubPool (--ip-range) needs a Pool (--subnet)');
      const cidr = this.#freeDefaultPool(space, v6);
      const id = poolId(space, cidr.text, '');
      this.#add({ id, addressSpace: space, v6, pool: cidr.text, subPool: '', refs: 1, allocated: [] });
      return { PoolID: id, Pool: cidr.text, Data: {} };
    }
    const pool = parseCidr('Pool', req.Pool, v6);
    if (pool.size < (v6 ? 4n : 4n)) throw new IpamError(`Pool ${pool.text} is too small for a network`);
    let subPool = '';
    if (req.SubPool) {
      const sub = parseCidr('SubPool', req.SubPool, v6);
      if (!contains(pool, sub)) throw new IpamError(`SubPool ${sub.text} is not inside Pool ${pool.text}`);
      subPool = sub.text;
    }
    const id = poolId(space, pool.text, subPool);
    const existing = this.#pools.get(id);
    if (existing) {
      existing.refs++;
      return { PoolID: id, Pool: existing.pool, Data: {} };
    }
    for (const other of this.#pools.values()) {
      if (other.addressSpace !== space || other.v6 !== v6) continue;
      if (overlaps(parseCidr('Pool', other.pool), pool)) {
        throw new IpamError(`Pool ${pool.text} overlaps pool ${other.pool} already in use in ${space}`);
      }
    }
    this.#add({ id, addressSpace: space, v6, pool: pool.text, subPool, refs: 1, allocated: [] });
    return { PoolID: id, Pool: pool.text, Data: {} };
  }

  releasePool(id: string): void {
    const p = this.#pools.get(id);
    if (!p) throw new IpamError(`unknown pool ${show(id)}`);
    p.refs--;
    if (p.refs <= 0) {
      this.#pools.delete(id);
      this.#allocated.delete(id);
      this.#leases.delete(id);
    }
  }

  requestAddress(req: RequestAddressInput): { Address: string; Data: Record<string, string> } {
    const p = this.#pools.get(req.PoolID);
    if (!p) throw new IpamError(`unknown pool ${show(req.PoolID)}`);
    const pool = parseCidr('Pool', p.pool, p.v6);
    const range = p.subPool === '' ? pool : parseCidr('SubPool', p.subPool, p.v6);
    const taken = this.#allocated.get(p.id) ?? new Set<string>();
    const isGateway = req.Options?.[REQUEST_ADDRESS_TYPE] === GATEWAY_ADDRESS_TYPE;
    let value: bigint;
    if (req.Address) {
      value = parseIp('Address', req.Address.replace(/\/\d+$/, ''), p.v6);
      if (value < pool.base || value >= pool.base + pool.size) {
        throw new IpamError(`Address ${req.Address} is not in pool ${p.pool}`);
      }
      if (!p.v6 && pool.size > 2n && (value === pool.base || value === pool.base + pool.size - 1n)) {
        throw new IpamError(`Address ${req.Address} is the network or broadcast address of ${p.pool}`);
      }
      if (taken.has(formatIp(value, p.v6))) {
        throw new IpamError(`Address ${req.Address} is already in use in pool ${p.pool}`);
      }
    } else {
      // The gateway gets the first host address of the pool (Docker's default IPAM does the same);
      // others the first free address of the sub-pool.
      const from = isGateway ? pool : range;
      const found = this.#firstFree(from, pool, taken, p.v6);
      if (found === undefined) throw new IpamError(`pool ${p.subPool || p.pool} has no free address left`);
      value = found;
    }
    const text = formatIp(value, p.v6);
    taken.add(text);
    this.#allocated.set(p.id, taken);
    this.#leaseMap(p.id).set(text, Date.now());
    return { Address: `${text}/${pool.prefix}`, Data: {} };
  }

  releaseAddress(req: { PoolID: string; Address: string }): void {
    const p = this.#pools.get(req.PoolID);
    if (!p) throw new IpamError(`unknown pool ${show(req.PoolID)}`);
    const value = parseIp('Address', req.Address.replace(/\/\d+$/, ''), p.v6);
    const text = formatIp(value, p.v6);
    this.#allocated.get(p.id)?.delete(text);
    this.#leases.get(p.id)?.delete(text);
  }

  /**
   * Releases the addresses of pools with CIDR `pool` that are not in `keep` and were handed out before
   * `before` (ms): allocations whose RequestAddress reply Docker never got (the plugin died with the call in
   * flight; Docker resent it empty and gave up), so nothing will ever release them. Returns what went.
   */
  reap(pool: string, keep: ReadonlySet<string>, before: number): string[] {
    const out: string[] = [];
    for (const p of this.#pools.values()) {
      if (p.pool !== pool) continue;
      const leases = this.#leaseMap(p.id);
      for (const a of [...(this.#allocated.get(p.id) ?? [])]) {
        if (keep.has(a) || (leases.get(a) ?? 0) >= before) continue;
        this.#allocated.get(p.id)?.delete(a);
        leases.delete(a);
        out.push(a);
      }
    }
    return out;
  }

  #leaseMap(id: string): Map<string, number> {
    let m = this.#leases.get(id);
    if (!m) {
      m = new Map();
      this.#leases.set(id, m);
    }
    return m;
  }

  #add(p: PoolRecord): void {
    this.#pools.set(p.id, p);
    this.#allocated.set(p.id, new Set());
    this.#leases.set(p.id, new Map());
  }

  #firstFree(range: Cidr, pool: Cidr, taken: Set<string>, v6: boolean): bigint | undefined {
    const last = range.base + range.size - 1n;
    // IPv4: skip the network and broadcast addresses of the pool; IPv6: skip the subnet-router anycast
    // address (RFC 4291 §2.6.1), the first of the prefix.
    let first = range.base;
    if (first === pool.base) first++;
    const end = !v6 && last === pool.base + pool.size - 1n && pool.size > 2n ? last - 1n : last;
    for (let v = first, n = 0; v <= end && n < 1_000_000; v++, n++) {
      if (!taken.has(formatIp(v, v6))) return v;
    }
    return undefined;
  }

  #freeDefaultPool(space: string, v6: boolean): Cidr {
    const supernet = parseCidr('default pool', v6 ? DEFAULT_V6_SUPERNET : DEFAULT_V4_SUPERNET, v6);
    const prefix = v6 ? DEFAULT_V6_PREFIX : DEFAULT_V4_PREFIX;
    const step = 1n << BigInt((v6 ? 128 : 32) - prefix);
    const used = [...this.#pools.values()]
      .filter((p) => p.addressSpace === space && p.v6 === v6)
      .map((p) => parseCidr('Pool', p.pool, v6));
    const key = `${space}/${v6}`;
    const count = supernet.size / step;
    const start = this.#cursor.get(key) ?? 0n;
    for (let i = 0n; i < count; i++) {
      const index = (start + i) % count;
      const c = parseCidr('Pool', `${formatIp(supernet.base + index * step, v6)}/${prefix}`, v6);
      if (!used.some((u) => overlaps(u, c))) {
        this.#cursor.set(key, index + 1n);
        return c;
      }
    }
    throw new IpamError(`no free /${prefix} pool left in ${supernet.text}`);
  }
}
