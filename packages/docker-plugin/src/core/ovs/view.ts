// What the core needs from OVSDB: a read view of the Open_vSwitch database (the replica, with lookups by
// index) and typed transactions. Every change is ONE transaction, so it is atomic; the view is the core's
// only memory (PROTOCOLS.md §2: the updates a transaction causes arrive before its reply, so the view
// already shows them when `transact` resolves).
import type { ReplicaChange, ResultOf } from '@ovs-container-network/ovsdb';
import type {
  BridgeRow,
  InterfaceRow,
  OvsRows,
  OvsTransaction,
  PortRow,
  QueueRow,
  RootRow,
} from './model.js';

/** One changed row of the monitored tables, typed by its table. */
export type OvsChange = ReplicaChange<OvsRows>;

/** The replica as the core reads it. Lookups are synchronous, by index, and see every committed transaction. */
export interface OvsView {
  readonly connected: boolean;
  /** The Open_vSwitch root row (undefined before `ovs-vsctl init`). */
  root(): RootRow | undefined;
  bridges(): Iterable<BridgeRow>;
  bridge(uuid: string): BridgeRow | undefined;
  bridgeByName(name: string): BridgeRow | undefined;
  ports(): Iterable<PortRow>;
  port(uuid: string): PortRow | undefined;
  portByName(name: string): PortRow | undefined;
  iface(uuid: string): InterfaceRow | undefined;
  ifaceByName(name: string): InterfaceRow | undefined;
  /** The bridge holding a port (an index kept from the replica's updates). */
  bridgeOfPort(portUuid: string): BridgeRow | undefined;
  /** The port whose only interface this is (index). */
  portOfInterface(ifaceUuid: string): PortRow | undefined;
  /** Interfaces with `external_ids:container_id` = `containerId` (index; the key ovs-docker records). */
  interfacesOfContainer(containerId: string): InterfaceRow[];
  /** A Queue row by uuid (the IPAM driver's lease rows have uuids derived from their key). */
  queue(uuid: string): QueueRow | undefined;
  /** The lease rows of IPAM pool `pool` of driver `owner` (index on ocn-owner + ocn-ipam-pool). */
  leaseRows(owner: string, pool: string): QueueRow[];
  /**
   * Called after any change to the monitored rows, with the rows that changed (one update's worth); returns
   * an unsubscribe function.
   */
  onChange(listener: (changes: readonly OvsChange[]) => void): () => void;
}

export interface OptimisticOptions {
  /** Builds in all before giving up with the ovsdb package's ConflictError (default 5). */
  readonly attempts?: number;
}

/**
 * The view plus typed writes. Both methods reject with the ovsdb package's errors (a `TransactionError`
 * subclass when the server refused, `ConflictError` when `optimistic` ran out of attempts, a connection
 * error…); callers wrap them in the plugin's own errors with the ovsdb error as `cause`.
 */
export interface OvsBackend extends OvsView {
  /** Builds one transaction with `build` and sends it; resolves to what `build` returned, handles mapped. */
  transact<const H>(build: (t: OvsTransaction) => H): Promise<ResultOf<H>>;
  /**
   * Like `transact`, for a transaction decided from the view: `build` adds `verify` (or other `wait`)
   * operations on what it read; when one fails because another writer changed the data, the view catches
   * up and `build` runs again (ovsdb `optimistic`).
   */
  optimistic<const H>(build: (t: OvsTransaction) => H, opts?: OptimisticOptions): Promise<ResultOf<H>>;
  close?(): Promise<void>;
}
