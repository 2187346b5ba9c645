// The IPAM driver: Ipam's logic with its state kept in OVS (Open_vSwitch external_ids:ocn-ipam-<driver>),
// so a restarted plugin still knows its pools and addresses. Each call reads the state from the replica,
// applies one change and writes it back in a transaction guarded by a `wait` on the previous value
// (compare-and-swap; RFC 7047 §5.2.6), retried if another writer got there first.

import { Mutex } from './driver.js';
import { IpamError, OvsdbFailure } from './errors.js';
import { Ipam, type IpamSnapshot } from './ipam.js';
import { comment, map, mutate, type OvsBackend, type OvsOp, set, transactionFailure, uuid } from './ovs.js';
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

  #load(): { ipam: Ipam; raw: string | undefined } {
    const raw = this.#ovs.rootExternalIds()[this.#key];
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
      for (let attempt = 0; attempt < 20; attempt++) {
        const root = this.#ovs.rootUuid();
        if (!root) throw new OvsdbFailure('the Open_vSwitch table has no row');
        const { ipam, raw } = this.#load();
        const result = fn(ipam);
        const snap = ipam.snapshot();
        // No pool left: the key goes (nothing of the driver stays in OVS).
        const next = snap.pools.length === 0 ? undefined : JSON.stringify(snap);
        if (next === raw) return result;
        const ops: OvsOp[] = [comment(`ipam ${this.#key}`)];
        if (raw !== undefined) {
          // Compare-and-swap on one key: wait until the row still includes the value we read.
          ops.push({
            op: 'wait',
            table: 'Open_vSwitch',
            where: [
              ['_uuid', '==', uuid(root)],
              ['external_ids', 'includes', map({ [this.#key]: raw })],
            ],
            columns: [],
            until: '==',
            rows: [{}],
            timeout: 0,
          });
          ops.push(mutate('Open_vSwitch', root, 'external_ids', 'delete', set([this.#key])));
        }
        if (next !== undefined) {
          ops.push(mutate('Open_vSwitch', root, 'external_ids', 'insert', map({ [this.#key]: next })));
        }
        const results = await this.#ovs.transact(ops).catch((err: unknown) => {
          throw new OvsdbFailure('saving the IPAM state in OVS failed', { cause: err });
        });
        const failed = transactionFailure(results, ops);
        if (!failed) return result;
        if (failed.op?.op !== 'wait') throw new OvsdbFailure(`saving the IPAM state failed: ${failed.error}`);
      }
      throw new OvsdbFailure('saving the IPAM state failed: it kept changing under us');
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
