// What the builders read: a view of OVN_Northbound rows. An ensure decides between insert, update and
// nothing from it, then guards that decision in the transaction (see plan.ts). Two views ship: a snapshot
// read with one `select` transaction (scripts, tests), and a live ovsdb Replica (long-running programs;
// ovsdbapp and libovsdb work from their replica the same way).

import {
  type ModelRows,
  type Replica,
  type ReplicaTableOptions,
  type RowOf,
  Transaction,
  type TransactOptions,
  type Transactor,
} from '@ovs-container-network/ovsdb';
import * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import { OvnInvalidArgumentError } from './errors.js';

type Tables = (typeof NB.model)['tables'];
export type NbTableName = keyof Tables & string;
/** A decoded OVN_Northbound row of table `T`, every column present. */
export type NbRow<T extends NbTableName> = RowOf<Tables[T]>;
/** Row types by table, for `Replica<NbRows>`. */
export type NbRows = ModelRows<typeof NB.model>;

/** The tables the builders read and write. */
export const NB_BUILDER_TABLES = [
  'ACL',
  'Address_Set',
  'DHCP_Options',
  'DNS',
  'Gateway_Chassis',
  'HA_Chassis',
  'HA_Chassis_Group',
  'Load_Balancer',
  'Load_Balancer_Health_Check',
  'Logical_Router',
  'Logical_Router_Policy',
  'Logical_Router_Port',
  'Logical_Router_Static_Route',
  'Logical_Switch',
  'Logical_Switch_Port',
  'Meter',
  'Meter_Band',
  'NAT',
  'Port_Group',
  'QoS',
] as const satisfies readonly NbTableName[];
export type NbBuilderTable = (typeof NB_BUILDER_TABLES)[number];

/** Read access the builders need. Rows must carry every column of their table. */
export interface NbView {
  rows<T extends NbBuilderTable>(table: T): Iterable<NbRow<T>>;
  get<T extends NbBuilderTable>(table: T, uuid: string): NbRow<T> | undefined;
  /** Rows whose `name` column equals `name`; a view may answer from an index. */
  named<T extends NbBuilderTable>(table: T, name: string): NbRow<T>[];
}

const NAMED = new Set<string>(NB_BUILDER_TABLES.filter((t) => NB.model.tables[t].schema.columns.has('name')));

/** An in-memory view: the rows of the builder tables as one `select` transaction read them. */
export class NbSnapshot implements NbView {
  readonly #rows = new Map<string, Map<string, { readonly _uuid: string }>>();
  readonly #byName = new Map<string, Map<string, { readonly _uuid: string }[]>>();

  constructor(rows: { readonly [T in NbBuilderTable]?: readonly NbRow<T>[] } = {}) {
    for (const t of NB_BUILDER_TABLES) {
      const m = new Map<string, { readonly _uuid: string }>();
      for (const r of (rows[t] ?? []) as readonly { readonly _uuid: string }[]) m.set(r._uuid, r);
      this.#rows.set(t, m);
    }
  }

  /** Reads every builder table in one transaction (a consistent snapshot). */
  static async load(transactor: Transactor, opts: TransactOptions = {}): Promise<NbSnapshot> {
    const txn = new Transaction(NB.DATABASE_NAME);
    const handles = NB_BUILDER_TABLES.map((t) => txn.select(NB.model.tables[t] as typeof NB.ACL));
    const result = await txn.execute(transactor, opts);
    const rows: Record<string, unknown> = {};
    NB_BUILDER_TABLES.forEach((t, i) => {
      rows[t] = result.get(handles[i] as (typeof handles)[number]);
    });
    return new NbSnapshot(rows as never);
  }

  rows<T extends NbBuilderTable>(table: T): Iterable<NbRow<T>> {
    return this.#table(table).values() as Iterable<NbRow<T>>;
  }

  get<T extends NbBuilderTable>(table: T, uuid: string): NbRow<T> | undefined {
    return this.#table(table).get(uuid) as NbRow<T> | undefined;
  }

  named<T extends NbBuilderTable>(table: T, name: string): NbRow<T>[] {
    if (!NAMED.has(table)) return [];
    let ix = this.#byName.get(table);
    if (ix === undefined) {
      ix = new Map();
      for (const r of this.#table(table).values()) {
        const n = (r as { name?: unknown }).name;
        if (typeof n !== 'string') continue;
        const list = ix.get(n);
        if (list) list.push(r);
        else ix.set(n, [r]);
      }
      this.#byName.set(table, ix);
    }
    return (ix.get(name) ?? []) as NbRow<T>[];
  }

  #table(table: string): Map<string, { readonly _uuid: string }> {
    const m = this.#rows.get(table);
    if (m === undefined) {
      throw new OvnInvalidArgumentError(
        'table',
        table,
        `one of the builder tables: ${NB_BUILDER_TABLES.join(', ')}`,
      );
    }
    return m;
  }
}

/** The index name replica tables get from {@link nbReplicaTables}. */
export const BY_NAME = 'byName';

/**
 * Replica table options for every builder table (all columns, a `byName` index where the table has a
 * name): `Replica.start<NbRows>(session, { tables: nbReplicaTables() })`, then `replicaView(replica)`.
 */
export function nbReplicaTables(): {
  [T in NbBuilderTable]: ReplicaTableOptions<NbRows[T] & { _uuid: string }>;
} {
  const out: Record<string, ReplicaTableOptions<never>> = {};
  for (const t of NB_BUILDER_TABLES) {
    out[t] = NAMED.has(t) ? { indexes: { [BY_NAME]: (r: { name?: unknown }) => r.name as string } } : {};
  }
  return out as never;
}

/**
 * A view over a live Replica of OVN_Northbound. Every builder table must be replicated with all its
 * columns; a `byName` index (see nbReplicaTables) makes name lookups O(1), a scan is used otherwise.
 * The view holds no rows of its own (it reads the replica as it is at each call), so one view per replica
 * is made once and shared by every plan built on it.
 */
export function replicaView(replica: Replica<NbRows>): NbView {
  let view = VIEWS.get(replica);
  if (view === undefined) {
    view = new ReplicaView(replica);
    VIEWS.set(replica, view);
  }
  return view;
}

const VIEWS = new WeakMap<Replica<NbRows>, NbView>();

class ReplicaView implements NbView {
  readonly #replica: Replica<NbRows>;

  constructor(replica: Replica<NbRows>) {
    this.#replica = replica;
  }

  // The table's current store, read at each call (a schema change replaces it); no ReplicaTable wrapper is
  // made per lookup.
  rows<T extends NbBuilderTable>(t: T): Iterable<NbRow<T>> {
    return this.#replica.store(t).rows.values() as never;
  }

  get<T extends NbBuilderTable>(t: T, uuid: string): NbRow<T> | undefined {
    return this.#replica.store(t).rows.get(uuid) as never;
  }

  named<T extends NbBuilderTable>(t: T, name: string): NbRow<T>[] {
    if (!NAMED.has(t)) return [];
    const store = this.#replica.store(t);
    const ix = store.indexes.get(BY_NAME);
    if (ix) return ix.getAll(name) as never;
    const out: NbRow<T>[] = [];
    for (const r of store.rows.values()) if ((r as { name?: unknown }).name === name) out.push(r as never);
    return out;
  }
}
