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

/** A pool as the IPAM state in OVS records it (ipam-state.ts, format v2): no addresses. */
export interface PoolSpec {
  id: string;
  addressSpace: string;
  v6: boolean;
  /** Canonical CIDR of the pool. */
  pool: string;
  /** Canonical CIDR addresses are handed out from ('' = the whole pool). */
  subPool: string;
  /** Reference count: identical RequestPool calls share the pool. */
  refs: number;
}

/** A pool with its addresses (the in-memory view, and the v1 state format). */
export interface PoolRecord extends PoolSpec {
  /** Allocated addresses, canonical text. */
  allocated: string[];
  /** When each allocated address was handed out (ms since the epoch), for reaping lost allocations. */
  leases?: Record<string, number>;
}

export interface IpamSnapshot {
  pools: PoolRecord[];
}

/**
 * Where the allocated addresses of the pools live: in memory (MemoryBook), or one OVSDB row per address
 * (ipam-driver.ts). Lookups are by pool and address, never a scan: the cost of a call does not grow with
 * the number of addresses.
 */
export interface AddressBook {
  has(poolId: string, address: string): boolean;
  /** Records an allocation made at `leased` (ms since the epoch). */
  add(poolId: string, address: string, leased: number): void;
  delete(poolId: string, address: string): void;
  /** The pool's allocations with their lease times (for reaping and listing; O(addresses of the pool)). */
  entries(poolId: string): Iterable<readonly [string, number]>;
  /** Forgets every allocation of the pool (ReleasePool). */
  dropPool(poolId: string): void;
}

/** An AddressBook in memory: pool id → address → lease time. */
export class MemoryBook implements AddressBook {
  readonly #pools = new Map<string, Map<string, number>>();
  has(poolId: string, address: string): boolean {
    return this.#pools.get(poolId)?.has(address) === true;
  }
  add(poolId: string, address: string, leased: number): void {
    let m = this.#pools.get(poolId);
    if (!m) {
      m = new Map();
      this.#pools.set(poolId, m);
    }
    m.set(address, leased);
  }
  delete(poolId: string, address: string): void {
    this.#pools.get(poolId)?.delete(address);
  }
  entries(poolId: string): Iterable<readonly [string, number]> {
    return this.#pools.get(poolId)?.entries() ?? [];
  }
  dropPool(poolId: string): void {
    this.#pools.delete(poolId);
  }
}

/** A binary min-heap of bigints (the released addresses below a search frontier). */
class MinHeap {
  readonly #a: bigint[] = [];
  get size(): number {
    return this.#a.length;
  }
  peek(): bigint | undefined {
    return this.#a[0];
  }
  push(v: bigint): void {
    const a = this.#a;
    let i = a.push(v) - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if ((a[up] as bigint) <= v) break;
      a[i] = a[up] as bigint;
      i = up;
    }
    a[i] = v;
  }
  pop(): void {
    const a = this.#a;
    const last = a.pop();
    if (last === undefined || a.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && (a[r] as bigint) < (a[l] as bigint) ? r : l;
      if ((a[c] as bigint) >= last) break;
      a[i] = a[c] as bigint;
      i = c;
    }
    a[i] = last;
  }
}

interface Cursor {
  first: bigint;
  end: bigint;
  /** Every address in [first, frontier) is taken, or in `holes`, or was released by another writer. */
  frontier: bigint;
  /** Addresses released below the frontier (possibly taken again since: checked when looked at). */
  holes: MinHeap;
}

/**
 * The search hint of the address allocation, kept across calls: per pool and search range, a frontier below
 * which every address is known to be taken, and the addresses released below it. Finding the lowest free
 * address therefore costs O(1) amortised (plus O(log n) per released address) instead of a walk over every
 * taken one, and the answer is the same as that walk's: the lowest free address (as before, so a released
 * address is handed out again first). The hint is only a hint: each candidate is checked against the book,
 * so it may be shared by calls that fail, and it never needs to be stored. Releases made by another writer
 * (another plugin on the same database) are not seen here; their addresses are found again once the range
 * above the frontier is used up.
 */
export class NextFree {
  readonly #cursors = new Map<string, Map<string, Cursor>>();

  find(poolId: string, range: Cidr, pool: Cidr, taken: (v: bigint) => boolean): bigint | undefined {
    let byRange = this.#cursors.get(poolId);
    if (!byRange) {
      byRange = new Map();
      this.#cursors.set(poolId, byRange);
    }
    let c = byRange.get(range.text);
    if (!c) {
      const [first, end] = hostRange(range, pool);
      c = { first, end, frontier: first, holes: new MinHeap() };
      byRange.set(range.text, c);
    }
    for (let h = c.holes.peek(); h !== undefined; h = c.holes.peek()) {
      if (h < c.frontier && !taken(h)) return h;
      c.holes.pop();
    }
    while (c.frontier <= c.end && taken(c.frontier)) c.frontier++;
    if (c.frontier <= c.end) return c.frontier;
    // The range above the frontier is used up: look below it once more (releases by other writers).
    for (let v = c.first, n = 0; v < c.frontier && n < 1_000_000; v++, n++) {
      if (!taken(v)) {
        c.frontier = v; // [first, v) was just seen taken
        return v;
      }
    }
    return undefined;
  }

  /** An address of the pool was released: the searches that passed it look at it again. */
  released(poolId: string, value: bigint): void {
    for (const c of this.#cursors.get(poolId)?.values() ?? [])
      if (value >= c.first && value < c.frontier) c.holes.push(value);
  }

  dropPool(poolId: string): void {
    this.#cursors.delete(poolId);
  }
}

/**
 * The addresses of `range` that may be handed out: IPv4 skips the network and broadcast addresses of the
 * pool; IPv6 the subnet-router anycast address (RFC 4291 §2.6.1), the first of the prefix.
 */
function hostRange(range: Cidr, pool: Cidr): [bigint, bigint] {
  const last = range.base + range.size - 1n;
  let first = range.base;
  if (first === pool.base) first++;
  const end = !pool.v6 && last === pool.base + pool.size - 1n && pool.size > 2n ? last - 1n : last;
  return [first, end];
}

export interface IpamOptions {
  /** Where the addresses live (default: in memory, loaded from the snapshot's `allocated`). */
  book?: AddressBook;
  /** The allocation's search hint, to keep across Ipam instances (default: a new one). */
  hints?: NextFree;
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
export function poolId(space: string, pool: string, subPool: string): string {
  return `${space}/${pool}${subPool === '' ? '' : `/${subPool}`}`;
}

export class Ipam {
  readonly #pools = new Map<string, PoolSpec>();
  readonly #book: AddressBook;
  readonly #hints: NextFree;
  /** Where the next search for a default pool starts: a retried RequestPool gets a different pool. */
  readonly #cursor = new Map<string, bigint>();

  /**
   * `snapshot`: the pools, and (in memory, or the v1 format) their addresses. With `opts.book` the addresses
   * are the book's and a snapshot's `allocated` is not read.
   */
  constructor(
    snapshot?: { pools: readonly (PoolSpec & Partial<Pick<PoolRecord, 'allocated' | 'leases'>>)[] },
    opts: IpamOptions = {},
  ) {
    this.#hints = opts.hints ?? new NextFree();
    const book = opts.book ?? new MemoryBook();
    this.#book = book;
    // An allocation recorded without its time (older state) counts from when it is first seen.
    const seen = Date.now();
    for (const p of snapshot?.pools ?? []) {
      const { allocated, leases, ...spec } = p;
      this.#pools.set(p.id, spec);
      if (opts.book) continue;
      for (const a of allocated ?? []) {
        const at = leases?.[a];
        book.add(p.id, a, typeof at === 'number' ? at : seen);
      }
    }
  }

  /** The pools, without their addresses (what the v2 state records). */
  pools(): PoolSpec[] {
    return [...this.#pools.values()].map((p) => ({ ...p }));
  }

  snapshot(): IpamSnapshot {
    return { pools: [...this.#pools.keys()].map((id) => this.#record(id) as PoolRecord) };
  }

  pool(id: string): PoolRecord | undefined {
    return this.#record(id);
  }

  #record(id: string): PoolRecord | undefined {
    const p = this.#pools.get(id);
    if (!p) return undefined;
    const entries = [...this.#book.entries(id)];
    return { ...p, allocated: entries.map(([a]) => a), leases: Object.fromEntries(entries) };
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
      this.#add({ id, addressSpace: space, v6, pool: cidr.text, subPool: '', refs: 1 });
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
    this.#add({ id, addressSpace: space, v6, pool: pool.text, subPool, refs: 1 });
    return { PoolID: id, Pool: pool.text, Data: {} };
  }

  releasePool(id: string): void {
    const p = this.#pools.get(id);
    if (!p) throw new IpamError(`unknown pool ${show(id)}`);
    p.refs--;
    if (p.refs <= 0) {
      this.#pools.delete(id);
      this.#book.dropPool(id);
      this.#hints.dropPool(id);
    }
  }

  requestAddress(req: RequestAddressInput): { Address: string; Data: Record<string, string> } {
    const p = this.#pools.get(req.PoolID);
    if (!p) throw new IpamError(`unknown pool ${show(req.PoolID)}`);
    const pool = parseCidr('Pool', p.pool, p.v6);
    const range = p.subPool === '' ? pool : parseCidr('SubPool', p.subPool, p.v6);
    const book = this.#book;
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
      if (book.has(p.id, formatIp(value, p.v6))) {
        throw new IpamError(`Address ${req.Address} is already in use in pool ${p.pool}`);
      }
    } else {
      // The gateway gets the first host address of the pool (Docker's default IPAM does the same);
      // others the lowest free address of the sub-pool.
      const from = isGateway ? pool : range;
      const found = this.#hints.find(p.id, from, pool, (v) => book.has(p.id, formatIp(v, p.v6)));
      if (found === undefined) throw new IpamError(`pool ${p.subPool || p.pool} has no free address left`);
      value = found;
    }
    const text = formatIp(value, p.v6);
    book.add(p.id, text, Date.now());
    return { Address: `${text}/${pool.prefix}`, Data: {} };
  }

  releaseAddress(req: { PoolID: string; Address: string }): void {
    const p = this.#pools.get(req.PoolID);
    if (!p) throw new IpamError(`unknown pool ${show(req.PoolID)}`);
    const value = parseIp('Address', req.Address.replace(/\/\d+$/, ''), p.v6);
    this.#book.delete(p.id, formatIp(value, p.v6));
    this.#hints.released(p.id, value);
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
      for (const [a, leased] of [...this.#book.entries(p.id)]) {
        if (keep.has(a) || leased >= before) continue;
        this.#book.delete(p.id, a);
        this.#hints.released(p.id, parseIp('Address', a, p.v6));
        out.push(a);
      }
    }
    return out;
  }

  #add(p: PoolSpec): void {
    this.#pools.set(p.id, p);
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
