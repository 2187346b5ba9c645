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

/** An empty set (array) or map (plain object). */
function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (!isRecord(v)) return false;
  for (const _ in v) return false;
  return true;
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
    return this.#byHandle.get(ref as object) as Entry<T> | undefined;
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
    // This plan's inserts, from their name index (a batch of N ports looks up N names: no scan of the N).
    for (const e of this.#insertedByName.get(table)?.get(name) ?? []) out.push(e as Entry<T>);
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
    // Empty sets and maps are every such column's default (RFC 7047 §5.2.1: an insert's omitted columns
    // get their defaults): they are left out of the operation, not encoded and sent.
    let wire = row;
    for (const k in row) {
      if (isEmpty(row[k])) {
        wire = {};
        for (const c in row) if (!isEmpty(row[c])) wire[c] = row[c];
        break;
      }
    }
    const handle = this.txn.insert(model(table), wire as never) as unknown as RowRef<T>;
    this.#handles.add(handle as object);
    // The row as inserted, over the table's defaults as a prototype (no copy of every column per insert).
    const full = Object.assign(Object.create(defaults(table)) as RowData, row);
    const entry: Entry<T> = { table, ref: handle, uuid: undefined, inserted: true, row: full };
    const list = this.#inserted.get(table);
    if (list) list.push(entry as Entry);
    else this.#inserted.set(table, [entry as Entry]);
    this.#byHandle.set(handle as object, entry as Entry);
    this.#nameIndex(entry as Entry, true);
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
    // No key to make when nothing was verified (the usual plan: no verify guard at all).
    if (!entry.inserted && this.#verified.size > 0) this.#verified.delete(`${entry.uuid}/${column}`);
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
    const renamed = entry.inserted && 'name' in changed;
    if (renamed) this.#nameIndex(entry, false);
    for (const c of cols) {
      entry.row[c] = changed[c];
      this.#touched(entry, c);
    }
    if (renamed) this.#nameIndex(entry, true);
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
    // finds them. The first add to a set copies it once (the view's array, or a caller's, is never changed);
    // from then on the copy is this plan's own, changed in place, with the handles it holds in a Set (a
    // batch of N new ports on one switch of M ports costs M + N, not N·M). uuid strings are looked up in a
    // Set of the other members, built only when one is asked for.
    const cur = (entry.row[column] ?? []) as unknown[];
    let own = this.#sets.get(cur);
    // A set still as the view holds it has uuids only: none of this plan's insert handles is in it, so
    // adding a row this plan made (a new port to a switch with thousands) needs no scan.
    const fromView = own === undefined && !entry.inserted && cur === this.#read.get(entry)?.[column];
    const add: unknown[] = [];
    for (const v of values) {
      if (add.includes(v)) continue;
      const handle = this.#handles.has(v as object);
      const present = own
        ? handle
          ? own.handles.has(v as object)
          : this.#others(own, cur).has(v)
        : !(fromView && handle) && cur.includes(v);
      if (!present) add.push(v);
    }
    if (add.length === 0) return false;
    this.guardExists(entry, identityColumn(entry.table));
    this.txn.mutate(
      model(entry.table),
      [['_uuid', '==', entry.ref]] as never,
      [[column, 'insert', add]] as never,
    );
    this.stats.changes++;
    let target = cur;
    if (own === undefined) {
      target = cur.slice();
      own = { handles: new Set(), others: undefined };
      if (!fromView) for (const v of cur) if (this.#handles.has(v as object)) own.handles.add(v as object);
      this.#sets.set(target, own);
      entry.row[column] = target;
    }
    for (const v of add) {
      target.push(v);
      if (this.#handles.has(v as object)) own.handles.add(v as object);
      else own.others?.add(v);
    }
    this.#touched(entry, column);
    return true;
  }

  /** The members of an owned set array that are not this plan's insert handles, as a Set (made once). */
  #others(own: OwnedSet, arr: readonly unknown[]): Set<unknown> {
    if (own.others === undefined) {
      own.others = new Set();
      for (const v of arr) if (!this.#handles.has(v as object)) own.others.add(v);
    }
    return own.others;
  }

  /** Adds (or removes) an inserted entry to (from) the name index of its table. */
  #nameIndex(entry: Entry, add: boolean): void {
    const name = entry.row.name;
    if (typeof name !== 'string') return;
    let byName = this.#insertedByName.get(entry.table);
    if (byName === undefined) {
      byName = new Map();
      this.#insertedByName.set(entry.table, byName);
    }
    const list = byName.get(name);
    if (add) {
      if (list) list.push(entry);
      else byName.set(name, [entry]);
    } else if (list) {
      const rest = list.filter((e) => e !== entry);
      if (rest.length === 0) byName.delete(name);
      else byName.set(name, rest);
    }
  }

  /** Drops a row this plan inserted from every lookup (deleted again, or garbage-collected). */
  #dropInserted(entry: Entry): void {
    this.#inserted.set(
      entry.table,
      (this.#inserted.get(entry.table) ?? []).filter((e) => e !== entry),
    );
    this.#byHandle.delete(entry.ref as object);
    this.#nameIndex(entry, false);
  }

  /** Insert handles this plan made. */
  readonly #handles = new Set<object>();
  /** The entry of each insert handle. */
  readonly #byHandle = new Map<object, Entry>();
  /** This plan's inserted entries by table and current name. */
  readonly #insertedByName = new Map<string, Map<string, Entry[]>>();
  /** The view's row each existing entry was made from (its arrays are the view's, unchanged). */
  readonly #read = new Map<Entry, RowData>();
  /** Set arrays this plan made (copies it changes in place), with what they hold. */
  readonly #sets = new Map<unknown[], OwnedSet>();

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
    else this.#dropInserted(entry);
  }

  /**
   * Marks a non-root row gone once its last parent reference was removed (garbage collection); later
   * lookups in this plan no longer see it.
   */
  forget(entry: Entry): void {
    if (entry.uuid !== undefined) this.#deleted.add(entry.uuid);
    else this.#dropInserted(entry);
  }
}

/** A set array this plan owns: the insert handles in it, and (made on demand) its other members. */
interface OwnedSet {
  readonly handles: Set<object>;
  others: Set<unknown> | undefined;
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
