// The machinery under every builder: a plan reads rows from a view, decides what to insert, update, mutate
// or delete, and appends those operations to an ovsdb Transaction, guarded so that a decision made from a
// stale read fails the whole transaction instead of committing something wrong.
//
// Guards (RFC 7047 §5.2.6 `wait`, timeout 0: fails at once with "timed out" when the condition does not
// hold; nothing commits):
// - absent: before inserting a row identified by columns that no index protects (Logical_Switch.name,
//   DHCP_Options.cidr + external_ids, …), wait until the rows matching that identity equal [] — what
//   libovsdbops does for names that are not indexes ("buildFailOnDuplicateOps"). Tables with a unique
//   index (Logical_Switch_Port.name, Port_Group.name, …) need none: the server refuses the duplicate at
//   commit ("constraint violation").
// - exists: before changing or referencing a row that was read, wait until it still has its identity
//   (a `_uuid ==` lookup, cheap on the server). A row deleted meanwhile fails the transaction instead of
//   silently updating nothing.
// - verify: before inserting a child whose identity lives in its parent's set (NAT, routes, ACLs, QoS,
//   health checks, HA_Chassis, …), wait until the parent's set still equals what was read — ovsdbapp's
//   `verify`. Two writers racing to add the same child cannot both commit.
// Map columns are edited with `mutate` (delete the keys, insert the pairs), which commutes with other
// writers' keys; set columns with `mutate insert/delete`. Every change is applied to an overlay so later
// builders in the same plan see it, and verify guards check the value at their place in the transaction.

import type { Columns, RowRef, TableModel, Transaction, Uuid, UuidLike } from '@ovs-container-network/ovsdb';
import * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import { OvnConflictError } from './errors.js';
import type { MapEdit } from './validate.js';
import type { NbBuilderTable, NbView } from './view.js';

/** A reference to a row: its uuid when it existed, the insert's named reference when this plan made it. */
export type Ref<T extends string> = UuidLike<T>;

type Value = unknown;
type RowData = Record<string, Value>;

/** A row as this plan sees it: the view's row with the plan's changes applied, or a row it inserted. */
export interface Entry<T extends NbBuilderTable = NbBuilderTable> {
  readonly table: T;
  readonly ref: Ref<T>;
  /** Existing rows: the uuid read from the view. */
  readonly uuid: Uuid<T> | undefined;
  readonly inserted: boolean;
  /** Current values (read shape: arrays for sets, records for maps, null for empty optionals). */
  readonly row: RowData;
}

function model(table: NbBuilderTable): TableModel<string, Columns> {
  return NB.model.tables[table] as unknown as TableModel<string, Columns>;
}

function refKey(v: unknown): string {
  if (typeof v === 'object' && v !== null && 'name' in v) return `@${(v as RowRef).name}`;
  return String(v);
}

/** Deep equality of read-shape values: sets compare as sets, maps as maps. */
export function sameValue(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    const keys = new Set(a.map(refKey));
    return b.every((x) => keys.has(refKey(x)));
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => k in b && a[k] === b[k]);
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null)
    return refKey(a) === refKey(b);
  return false;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

const DEFAULTS = new Map<string, RowData>();

/** Every column at its default value (read shape), made once per table. */
function defaults(table: NbBuilderTable): RowData {
  const cached = DEFAULTS.get(table);
  if (cached) return cached;
  const out: RowData = {};
  for (const [name, c] of model(table).schema.columns) {
    if (name.startsWith('_')) continue;
    switch (c.kind) {
      case 'set':
        out[name] = [];
        break;
      case 'map':
        out[name] = {};
        break;
      case 'optional':
        out[name] = null;
        break;
      default: {
        const t = c.type.key.type;
        out[name] = t === 'integer' || t === 'real' ? 0 : t === 'boolean' ? false : '';
      }
    }
  }
  // Not frozen: it is the prototype of inserted rows, whose own columns must stay assignable.
  DEFAULTS.set(table, out);
  return out;
}

export interface PlanStats {
  /** Operations that change the database (insert, update, mutate, delete). */
  changes: number;
  /** Guard operations (wait). */
  guards: number;
}

/**
 * The state shared by the builders of one transaction. Make one with `new NbPlan(txn, view)` (or let
 * `nbTransact` make it), call builders on it, then execute the transaction.
 */
export class NbPlanCore {
  readonly txn: Transaction;
  readonly view: NbView;
  readonly stats: PlanStats = { changes: 0, guards: 0 };
  /** Existing rows this plan touched, by uuid, with the plan's changes applied. */
  readonly #overlay = new Map<string, Entry>();
  /** Rows this plan inserted, by table. */
  readonly #inserted = new Map<string, Entry[]>();
  readonly #deleted = new Set<string>();
  readonly #guarded = new Set<string>();
  readonly #verified = new Set<string>();

  constructor(txn: Transaction, view: NbView) {
    this.txn = txn;
    this.view = view;
  }

  #entryOf<T extends NbBuilderTable>(table: T, row: { readonly _uuid: string }): Entry<T> | undefined {
    if (this.#deleted.has(row._uuid)) return undefined;
    const seen = this.#overlay.get(row._uuid) as Entry<T> | undefined;
    if (seen) return seen;
    const entry: Entry<T> = {
      table,
      ref: row._uuid as Uuid<T>,
      uuid: row._uuid as Uuid<T>,
      inserted: false,
      row: { ...(row as RowData) },
    };
    this.#overlay.set(row._uuid, entry as Entry);
    this.#read.set(entry as Entry, row as RowData);
    return entry;
  }

  /** The row of `table` with that uuid (or named reference of a row this plan inserted). */
  get<T extends NbBuilderTable>(table: T, ref: Ref<T>): Entry<T> | undefined {
    if (typeof ref === 'string') {
      const row = this.view.get(table, ref);
      return row === undefined ? undefined : this.#entryOf(table, row);
    }
    return (this.#inserted.get(table) ?? []).find((e) => e.ref === ref) as Entry<T> | undefined;
  }

  /** Every current row of `table` (the view's, minus deletions, plus this plan's inserts). */
  all<T extends NbBuilderTable>(table: T): Entry<T>[] {
    const out: Entry<T>[] = [];
    for (const r of this.view.rows(table)) {
      const e = this.#entryOf(table, r);
      if (e) out.push(e);
    }
    return out.concat((this.#inserted.get(table) ?? []) as Entry<T>[]);
  }

  /** The rows of `table` named `name`. */
  named<T extends NbBuilderTable>(table: T, name: string): Entry<T>[] {
    const out: Entry<T>[] = [];
    for (const r of this.view.named(table, name)) {
      const e = this.#entryOf(table, r);
      if (e) out.push(e);
    }
    for (const e of this.#inserted.get(table) ?? []) if (e.row.name === name) out.push(e as Entry<T>);
    return out;
  }

  /** The one row of `table` named `name`, undefined if none; two or more is a conflict the caller must fix. */
  one<T extends NbBuilderTable>(table: T, name: string): Entry<T> | undefined {
    const rows = this.named(table, name);
    if (rows.length > 1) {
      throw new OvnConflictError(
        `${rows.length} ${table} rows are named "${name}" (${rows.map((r) => r.uuid).join(', ')}); ` +
          'delete the extra ones by uuid before ensuring it',
      );
    }
    return rows[0];
  }

  /** The entries of `parent`'s set column `column` (children rows of `table`). */
  children<T extends NbBuilderTable>(parent: Entry, column: string, table: T): Entry<T>[] {
    const refs = (parent.row[column] ?? []) as Ref<T>[];
    const out: Entry<T>[] = [];
    for (const r of refs) {
      const e = this.get(table, r);
      if (e) out.push(e);
    }
    return out;
  }

  // ---- operations ---------------------------------------------------------------------------------------

  /** Inserts a row; `row` holds write-shape values (refs may be named references). */
  insert<T extends NbBuilderTable>(table: T, row: RowData): Entry<T> {
    const handle = this.txn.insert(model(table), row as never) as unknown as RowRef<T>;
    this.#handles.add(handle as object);
    // The row as inserted, over the table's defaults as a prototype (no copy of every column per insert).
    const full = Object.assign(Object.create(defaults(table)) as RowData, row);
    const entry: Entry<T> = { table, ref: handle, uuid: undefined, inserted: true, row: full };
    const list = this.#inserted.get(table);
    if (list) list.push(entry as Entry);
    else this.#inserted.set(table, [entry as Entry]);
    this.stats.changes++;
    return entry;
  }

  /** Guard: no row of `table` matches `where` (ovsdb conditions on this table's columns). */
  guardAbsent(table: NbBuilderTable, where: readonly (readonly [string, string, unknown])[]): void {
    const col = where[0]?.[0] ?? 'external_ids';
    this.txn.wait(model(table), { where: where as never, columns: [col], until: '==', rows: [], timeout: 0 });
    this.stats.guards++;
  }

  /** Guard: the row read still exists with the same value in `column` (its identity). */
  guardExists(entry: Entry, column: string): void {
    if (entry.inserted || this.#guarded.has(entry.uuid as string)) return;
    this.#guarded.add(entry.uuid as string);
    this.#wait(entry, [column]);
  }

  /** Guard: `columns` of the row still hold what this plan believes they hold at this point. */
  verify(entry: Entry, columns: readonly string[]): void {
    if (entry.inserted) return;
    const todo = columns.filter((c) => !this.#verified.has(`${entry.uuid}/${c}`));
    if (todo.length === 0) return;
    for (const c of todo) this.#verified.add(`${entry.uuid}/${c}`);
    this.#guarded.add(entry.uuid as string);
    this.#wait(entry, todo);
  }

  #wait(entry: Entry, columns: readonly string[]): void {
    const expected: RowData = {};
    for (const c of columns) expected[c] = entry.row[c];
    this.txn.wait(model(entry.table), {
      where: [['_uuid', '==', entry.ref]] as never,
      columns: columns as never,
      until: '==',
      rows: [expected] as never,
      timeout: 0,
    });
    this.stats.guards++;
  }

  #touched(entry: Entry, column: string): void {
    if (!entry.inserted) this.#verified.delete(`${entry.uuid}/${column}`);
  }

  /** Sets columns whose current value differs; returns the columns changed. */
  set(entry: Entry, values: RowData): string[] {
    const changed: RowData = {};
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      if (!sameValue(entry.row[k], v)) changed[k] = v;
    }
    const cols = Object.keys(changed);
    if (cols.length === 0) return cols;
    this.guardExists(entry, identityColumn(entry.table));
    this.txn.update(model(entry.table), [['_uuid', '==', entry.ref]] as never, changed as never);
    this.stats.changes++;
    for (const c of cols) {
      entry.row[c] = changed[c];
      this.#touched(entry, c);
    }
    return cols;
  }

  /** Applies a map edit (string sets the key, null removes it) with one mutate; false when nothing differs. */
  editMap(entry: Entry, column: string, edit: MapEdit | undefined): boolean {
    if (edit === undefined) return false;
    const cur = (entry.row[column] ?? {}) as Record<string, string>;
    const del: string[] = [];
    const put: Record<string, string> = {};
    for (const [k, v] of Object.entries(edit)) {
      if (v === null) {
        if (k in cur) del.push(k);
      } else if (cur[k] !== v) {
        if (k in cur) del.push(k);
        put[k] = v;
      }
    }
    if (del.length === 0 && Object.keys(put).length === 0) return false;
    if (entry.inserted) {
      // A row this plan inserted: the insert itself could not carry the later keys; update it whole.
      const next = { ...cur };
      for (const k of del) delete next[k];
      Object.assign(next, put);
      this.txn.update(model(entry.table), [['_uuid', '==', entry.ref]] as never, { [column]: next } as never);
      entry.row[column] = next;
      this.stats.changes++;
      return true;
    }
    this.guardExists(entry, identityColumn(entry.table));
    const mutations: unknown[] = [];
    if (del.length > 0) mutations.push([column, 'delete', del]);
    if (Object.keys(put).length > 0) mutations.push([column, 'insert', put]);
    this.txn.mutate(model(entry.table), [['_uuid', '==', entry.ref]] as never, mutations as never);
    this.stats.changes++;
    const next = { ...cur };
    for (const k of del) delete next[k];
    Object.assign(next, put);
    entry.row[column] = next;
    this.#touched(entry, column);
    return true;
  }

  /** Adds references (or strings) to a set column; only the missing ones are sent. */
  addToSet(entry: Entry, column: string, values: readonly unknown[]): boolean {
    // Members are uuid strings or this plan's insert handles (the same objects it hands out), so equality
    // finds them. The first add to a set scans and copies it once; from the second add to the same set in
    // this plan on, the copy is this plan's own and a Set indexes it (many ports on one switch in one
    // transaction stay linear).
    const cur = (entry.row[column] ?? []) as unknown[];
    const index = this.#sets.get(cur);
    // A set still as the view holds it has uuids only: none of this plan's insert handles is in it, so
    // adding a row this plan made (a new port to a switch with thousands) needs no scan.
    const fromView = !entry.inserted && cur === this.#read.get(entry)?.[column];
    const add: unknown[] = [];
    for (const v of values) {
      if (fromView && this.#handles.has(v as object)) {
        if (!add.includes(v)) add.push(v);
        continue;
      }
      if (index ? index.has(v) : cur.includes(v)) continue;
      if (add.includes(v)) continue;
      add.push(v);
    }
    if (add.length === 0) return false;
    this.guardExists(entry, identityColumn(entry.table));
    this.txn.mutate(
      model(entry.table),
      [['_uuid', '==', entry.ref]] as never,
      [[column, 'insert', add]] as never,
    );
    this.stats.changes++;
    if (index) {
      for (const v of add) {
        cur.push(v);
        index.add(v);
      }
    } else {
      const next = cur.concat(add);
      entry.row[column] = next;
      if (this.#owned.has(cur)) this.#sets.set(next, new Set(next));
      else this.#owned.add(next);
    }
    this.#touched(entry, column);
    return true;
  }

  /** Insert handles this plan made. */
  readonly #handles = new Set<object>();
  /** The view's row each existing entry was made from (its arrays are the view's, unchanged). */
  readonly #read = new Map<Entry, RowData>();
  /** Set arrays this plan made (copies it may change in place once indexed). */
  readonly #owned = new Set<unknown[]>();
  readonly #sets = new Map<unknown[], Set<unknown>>();

  /** Removes references (or strings) from a set column; only the present ones are sent. */
  removeFromSet(entry: Entry, column: string, values: readonly unknown[]): boolean {
    const cur = (entry.row[column] ?? []) as unknown[];
    const drop = new Set(values.map(refKey));
    const present = cur.filter((v) => drop.has(refKey(v)));
    if (present.length === 0) return false;
    this.txn.mutate(
      model(entry.table),
      [['_uuid', '==', entry.ref]] as never,
      [[column, 'delete', present]] as never,
    );
    this.stats.changes++;
    entry.row[column] = cur.filter((v) => !drop.has(refKey(v)));
    this.#touched(entry, column);
    return true;
  }

  /** Deletes a root row (its non-root children go with it: garbage collection). */
  deleteRow(entry: Entry): void {
    this.txn.delete(model(entry.table), [['_uuid', '==', entry.ref]] as never);
    this.stats.changes++;
    if (entry.uuid !== undefined) this.#deleted.add(entry.uuid);
    else {
      const list = this.#inserted.get(entry.table) ?? [];
      this.#inserted.set(
        entry.table,
        list.filter((e) => e !== entry),
      );
    }
  }

  /**
   * Marks a non-root row gone once its last parent reference was removed (garbage collection); later
   * lookups in this plan no longer see it.
   */
  forget(entry: Entry): void {
    if (entry.uuid !== undefined) this.#deleted.add(entry.uuid);
    else
      this.#inserted.set(
        entry.table,
        (this.#inserted.get(entry.table) ?? []).filter((e) => e !== entry),
      );
  }
}

const IDENTITY: Partial<Record<NbBuilderTable, string>> = {
  ACL: 'priority',
  DHCP_Options: 'cidr',
  DNS: 'external_ids',
  HA_Chassis: 'chassis_name',
  Load_Balancer_Health_Check: 'vip',
  Logical_Router_Policy: 'priority',
  Logical_Router_Static_Route: 'ip_prefix',
  Meter_Band: 'action',
  NAT: 'type',
  QoS: 'priority',
};

/** The column whose value a row keeps for life (its name, mostly): what an existence guard compares. */
export function identityColumn(table: NbBuilderTable): string {
  return IDENTITY[table] ?? 'name';
}
