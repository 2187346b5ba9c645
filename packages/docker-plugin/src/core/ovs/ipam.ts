// The IPAM driver's lease rows (ipam-state.ts: one Queue row per allocated address, its uuid derived from
// owner + pool id + address): builders that add their operations to a typed Transaction.
//
//   await ovs.optimistic((t) => insertLease(t, owner, { pool, address, leased: Date.now() }));
//   await ovs.transact((t) => deleteLease(t, owner, pool, address));
import { LEASE_EXT, type Lease, leaseIds, leaseUuid } from '../ipam-state.js';
import { OVS, type OvsTransaction } from './model.js';

/**
 * Inserts the lease row of an address, guarded by a `wait` that no row has its uuid yet (RFC 7047 §5.2.6,
 * until "==" rows [] timeout 0): of two writers racing for one address, the second fails that wait, and
 * `optimistic` decides again from the refreshed replica (where the address is now taken).
 */
export function insertLease(t: OvsTransaction, owner: string, lease: Lease): void {
  const uuid = leaseUuid(owner, lease.pool, lease.address);
  t.wait(OVS.Queue, { where: [['_uuid', '==', uuid]], columns: [], until: '==', rows: [], timeout: 0 });
  t.insert(OVS.Queue, { external_ids: leaseIds(owner, lease.pool, lease.address, lease.leased) }, { uuid });
}

/** Deletes the lease row of an address (no row is no error: a release is idempotent). */
export function deleteLease(t: OvsTransaction, owner: string, pool: string, address: string): void {
  t.delete(OVS.Queue, [['_uuid', '==', leaseUuid(owner, pool, address)]]);
}

/** Deletes every lease row of a pool (ReleasePool), whether this process's replica has seen them or not. */
export function deletePoolLeases(t: OvsTransaction, owner: string, pool: string): void {
  t.delete(OVS.Queue, [['external_ids', 'includes', { [LEASE_EXT.owner]: owner, [LEASE_EXT.pool]: pool }]]);
}
