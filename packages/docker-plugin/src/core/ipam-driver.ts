// The IPAM driver: Ipam's logic with its state kept in OVS (Open_vSwitch external_ids:ocn-ipam-<driver>),
// so a restarted plugin still knows its pools and addresses. Each call reads the state from the replica,
// applies one change and writes it back in a transaction guarded by a `wait` on the previous value
// (compare-and-swap; RFC 7047 §5.2.6), decided again (ovsdb `optimistic`) if another writer got there first.

import { Mutex } from './driver.js';
import { IpamError, OvsdbFailure, ovsdbFailure, PluginError } from './errors.js';
import { Ipam, type IpamSnapshot } from './ipam.js';
import { OVS, type RootRow } from './ovs/model.js';
import type { OvsBackend } from './ovs/view.js';
import { ipamKey } from './records.js';
import type { IpamDriverApi } from './types.js';

export class OvsIpamDriver implements IpamDriverApi {
  readonly #ovs: OvsBackend;
  readonly #key: string;
  readonly #lock = new Mutex();
  /** Default-pool search position, kept across calls so a retried RequestPool gets a different pool. */
  readonly #cursorIpam = new Ipam();

  constructor(ovs: OvsBackend, owner: string) {
    this.#ovs = ovs;
    this.#key = ipamKey(owner);
  }

  #load(root: RootRow): { ipam: Ipam; raw: string | undefined } {
    const raw = root.external_ids[this.#key];
    let snap: IpamSnapshot | undefined;
    if (raw !== undefined) {
      try {
        snap = JSON.parse(raw) as IpamSnapshot;
      } catch (err) {
        throw new IpamError(`the IPAM state in Open_vSwitch external_ids:${this.#key} is not JSON`, {
          cause: err,
        });
      }
    }
    return { ipam: new Ipam(snap), raw };
  }

  async #change<T>(fn: (ipam: Ipam) => T): Promise<T> {
    return this.#lock.run(async () => {
      let result: { value: T } | undefined;
      await this.#ovs
        .optimistic(
          (t) => {
            const root = this.#ovs.root();
            if (!root) throw new OvsdbFailure('the Open_vSwitch table has no row');
            const { ipam, raw } = this.#load(root);
            result = { value: fn(ipam) };
            const snap = ipam.snapshot();
            // No pool left: the key goes (nothing of the driver stays in OVS).
            const next = snap.pools.length === 0 ? undefined : JSON.stringify(snap);
            if (next === raw) return;
            const row = [['_uuid', '==', root._uuid]] as const;
            t.comment(`ipam ${this.#key}`);
            if (raw !== undefined) {
              // Compare-and-swap on one key: the row must still include the value we read.
              t.wait(OVS.Open_vSwitch, {
                where: [...row, ['external_ids', 'includes', { [this.#key]: raw }]],
                columns: [],
                until: '==',
                rows: [{}],
                timeout: 0,
              });
              t.mutate(OVS.Open_vSwitch, row, [['external_ids', 'delete', [this.#key]]]);
            }
            if (next !== undefined)
              t.mutate(OVS.Open_vSwitch, row, [['external_ids', 'insert', { [this.#key]: next }]]);
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
        const used = ipam.snapshot().pools.map((p) => p.pool);
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
