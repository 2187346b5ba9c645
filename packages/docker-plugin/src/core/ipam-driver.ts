// The IPAM driver: Ipam's logic with its state kept in OVS, so a restarted plugin still knows its pools and
// addresses (ipam-state.ts has the layout):
// - the pools, in Open_vSwitch external_ids:ocn-ipam-<driver> (format v2, pools only);
// - one Queue row per allocated address, with a uuid derived from owner + pool + address.
// A call costs the same at 100 and at 10,000 addresses: it reads the pools (parsed once per version of the
// key), checks addresses by uuid in the replica, finds the next free one from a kept search hint (ipam.ts
// NextFree), and writes only what changed: RequestAddress inserts one row, ReleaseAddress deletes one. Each
// call is one transaction decided from the replica and guarded by `wait`s on what it read — the pools'
// text (compare-and-swap, RFC 7047 §5.2.6) and, for a new address, that no row has its uuid yet — and
// decided again (ovsdb `optimistic`) when another writer got there first.

import { Mutex } from './driver.js';
import { IpamError, OvsdbFailure, ovsdbFailure, PluginError } from './errors.js';
import { type AddressBook, Ipam, NextFree } from './ipam.js';
import {
  encodeIpamState,
  type IpamState,
  type Lease,
  leaseOf,
  leaseUuid,
  parseIpamState,
} from './ipam-state.js';
import { deleteLease, deletePoolLeases, insertLease } from './ovs/ipam.js';
import { OVS, type OvsTransaction } from './ovs/model.js';
import type { OvsBackend, OvsView } from './ovs/view.js';
import { ipamKey } from './records.js';
import type { IpamDriverApi } from './types.js';

/**
 * The allocations as one call sees them: the lease rows of the replica (and, while the state is still in
 * the v1 format, the addresses its JSON holds), with this call's changes on top. The changes become the
 * transaction's operations (`write`).
 */
class LeaseBook implements AddressBook {
  readonly #view: OvsView;
  readonly #owner: string;
  readonly #v1: ReadonlyMap<string, ReadonlyMap<string, number>> | undefined;
  readonly #adds = new Map<string, Lease>();
  readonly #deletes = new Map<string, { pool: string; address: string }>();
  readonly #drops = new Set<string>();

  constructor(
    view: OvsView,
    owner: string,
    v1: ReadonlyMap<string, ReadonlyMap<string, number>> | undefined,
  ) {
    this.#view = view;
    this.#owner = owner;
    this.#v1 = v1;
  }

  get changed(): boolean {
    return this.#adds.size + this.#deletes.size + this.#drops.size > 0;
  }
  get adds(): boolean {
    return this.#adds.size > 0;
  }

  has(pool: string, address: string): boolean {
    const u = leaseUuid(this.#owner, pool, address);
    if (this.#adds.has(u)) return true;
    if (this.#deletes.has(u) || this.#drops.has(pool)) return false;
    // Any row with the uuid counts (even one not well-formed): the uuid cannot be inserted again.
    return this.#view.queue(u) !== undefined || this.#v1?.get(pool)?.has(address) === true;
  }

  add(pool: string, address: string, leased: number): void {
    const u = leaseUuid(this.#owner, pool, address);
    this.#deletes.delete(u);
    this.#adds.set(u, { pool, address, leased });
  }

  delete(pool: string, address: string): void {
    const u = leaseUuid(this.#owner, pool, address);
    if (this.#adds.delete(u)) return;
    this.#deletes.set(u, { pool, address });
  }

  *entries(pool: string): Iterable<readonly [string, number]> {
    if (this.#drops.has(pool)) return;
    const seen = new Set<string>();
    for (const row of this.#view.leaseRows(this.#owner, pool)) {
      const l = leaseOf(row, this.#owner);
      if (!l || l.pool !== pool || this.#deletes.has(row._uuid) || seen.has(l.address)) continue;
      seen.add(l.address);
      yield [l.address, l.leased];
    }
    for (const [a, leased] of this.#v1?.get(pool) ?? []) {
      if (seen.has(a) || this.#deletes.has(leaseUuid(this.#owner, pool, a))) continue;
      seen.add(a);
      yield [a, leased];
    }
    for (const l of this.#adds.values())
      if (l.pool === pool && !seen.has(l.address)) yield [l.address, l.leased];
  }

  dropPool(pool: string): void {
    this.#drops.add(pool);
    for (const [u, l] of this.#adds) if (l.pool === pool) this.#adds.delete(u);
    for (const [u, l] of this.#deletes) if (l.pool === pool) this.#deletes.delete(u);
  }

  /** The v1 addresses that must become rows (migration), minus what this call released. */
  *migrating(): Iterable<Lease> {
    for (const [pool, addresses] of this.#v1 ?? []) {
      if (this.#drops.has(pool)) continue;
      for (const [address, leased] of addresses) {
        const u = leaseUuid(this.#owner, pool, address);
        if (this.#deletes.has(u) || this.#adds.has(u) || this.#view.queue(u) !== undefined) continue;
        yield { pool, address, leased };
      }
    }
  }

  /** Adds this call's changes to `t`. */
  write(t: OvsTransaction): void {
    for (const pool of this.#drops) deletePoolLeases(t, this.#owner, pool);
    for (const l of this.#deletes.values()) deleteLease(t, this.#owner, l.pool, l.address);
    for (const l of this.#adds.values()) insertLease(t, this.#owner, l);
  }
}

export class OvsIpamDriver implements IpamDriverApi {
  readonly #ovs: OvsBackend;
  readonly #owner: string;
  readonly #key: string;
  readonly #lock = new Mutex();
  /** Default-pool search position, kept across calls so a retried RequestPool gets a different pool. */
  readonly #cursorIpam = new Ipam();
  /** Where the next free address is looked for, per pool (a hint: every candidate is checked). */
  readonly #hints = new NextFree();
  /** The last state text read and its parse: the key changes only when pools do. */
  #parsed: { raw: string | undefined; state: IpamState } | undefined;

  constructor(ovs: OvsBackend, owner: string) {
    this.#ovs = ovs;
    this.#owner = owner;
    this.#key = ipamKey(owner);
  }

  #state(raw: string | undefined): IpamState {
    if (this.#parsed?.raw === raw && this.#parsed) return this.#parsed.state;
    const state = parseIpamState(raw, `Open_vSwitch external_ids:${this.#key}`);
    this.#parsed = { raw, state };
    return state;
  }

  async #change<T>(fn: (ipam: Ipam) => T): Promise<T> {
    return this.#lock.run(async () => {
      let result: { value: T } | undefined;
      await this.#ovs
        .optimistic(
          (t) => {
            result = undefined;
            const root = this.#ovs.root();
            if (!root) throw new OvsdbFailure('the Open_vSwitch table has no row');
            const raw = root.external_ids[this.#key];
            const state = this.#state(raw);
            const book = new LeaseBook(this.#ovs, this.#owner, state.v1Leases);
            const ipam = new Ipam({ pools: state.pools }, { book, hints: this.#hints });
            result = { value: fn(ipam) };
            // The v1 format is converted on the first write: v2 pools + one row per address, at once.
            const next = encodeIpamState(ipam.pools());
            const migrate = [...book.migrating()];
            const poolsChanged = next !== raw;
            if (!poolsChanged && !book.changed) return;
            t.comment(`ipam ${this.#key}`);
            const row = [['_uuid', '==', root._uuid]] as const;
            if (raw !== undefined && (poolsChanged || book.adds)) {
              // The pools are as we read them: compare-and-swap for a pool change, and for a new address
              // the guarantee that its pool was not released meanwhile (its row would be left behind).
              t.wait(OVS.Open_vSwitch, {
                where: [...row, ['external_ids', 'includes', { [this.#key]: raw }]],
                columns: [],
                until: '==',
                rows: [{}],
                timeout: 0,
              });
            }
            if (poolsChanged) {
              if (raw !== undefined)
                t.mutate(OVS.Open_vSwitch, row, [['external_ids', 'delete', [this.#key]]]);
              // No pool left: the key goes (nothing of the driver stays in OVS).
              if (next !== undefined)
                t.mutate(OVS.Open_vSwitch, row, [['external_ids', 'insert', { [this.#key]: next }]]);
            }
            for (const l of migrate) insertLease(t, this.#owner, l);
            book.write(t);
          },
          { attempts: 20 },
        )
        .catch((err: unknown) => {
          if (err instanceof PluginError) throw err;
          throw ovsdbFailure('saving the IPAM state in OVS', err);
        });
      if (!result) throw new OvsdbFailure('saving the IPAM state failed: nothing was decided');
      return result.value;
    });
  }

  async requestPool(req: Parameters<IpamDriverApi['requestPool']>[0]) {
    return this.#change((ipam) => {
      if (!req.Pool) {
        // Let the long-lived cursor pick, then record that pool in the persisted state.
        const used = ipam.pools().map((p) => p.pool);
        for (let i = 0; i < 1024; i++) {
          const candidate = this.#cursorIpam.requestPool({ AddressSpace: req.AddressSpace, V6: req.V6 });
          this.#cursorIpam.releasePool(candidate.PoolID);
          if (!used.includes(candidate.Pool)) {
            return ipam.requestPool({ AddressSpace: req.AddressSpace, Pool: candidate.Pool, V6: req.V6 });
          }
        }
        throw new IpamError('no free default pool left');
      }
      return ipam.requestPool(req);
    });
  }

  async releasePool(req: { PoolID: string }): Promise<void> {
    await this.#change((ipam) => ipam.releasePool(req.PoolID));
  }

  async requestAddress(req: Parameters<IpamDriverApi['requestAddress']>[0]) {
    return this.#change((ipam) => ipam.requestAddress(req));
  }

  async releaseAddress(req: { PoolID: string; Address: string }): Promise<void> {
    await this.#change((ipam) => ipam.releaseAddress(req));
  }

  /**
   * Reaps lost allocations (Ipam.reap): for each pool CIDR in `inUse` (the pools of this driver's networks),
   * addresses older than `graceMs` that no endpoint, gateway or aux address uses. Returns what went.
   */
  async reap(inUse: ReadonlyMap<string, ReadonlySet<string>>, graceMs: number): Promise<string[]> {
    if (inUse.size === 0) return [];
    return this.#change((ipam) => {
      const before = Date.now() - graceMs;
      return [...inUse].flatMap(([pool, keep]) => ipam.reap(pool, keep, before));
    });
  }
}
