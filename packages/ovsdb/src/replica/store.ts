// The replica's row store: tables of decoded rows keyed by uuid, user-declared indexes, and the pure
// application of `update` (RFC 7047 §4.1.6), `update2` and `update3` (Open vSwitch extensions, ovsdb-server(7))
// table-updates. No I/O: the Replica feeds it notifications and monitor replies and emits the changes it
// returns. Rows are never mutated in place: a modify builds a new row object, so an event's `old` row stays
// what it was and readers holding a row see a consistent snapshot of it.

import { ProtocolError } from '../errors.js';
import type { TableSchema } from '../schema.js';
import { type ColumnCodec, columnCodec, valueEquals } from './datum.js';

/** A decoded row: `_uuid` plus the monitored columns. */
export type Row = { readonly _uuid: string } & Readonly<Record<string, unknown>>;

export type RowChange<R = Row> =
  | {
      readonly table: string;
      readonly type: 'insert';
      readonly uuid: string;
      readonly old: undefined;
      readonly new: R;
    }
  | {
      readonly table: string;
      readonly type: 'modify';
      readonly uuid: string;
      readonly old: R;
      readonly new: R;
    }
  | {
      readonly table: string;
      readonly type: 'delete';
      readonly uuid: string;
      readonly old: R;
      readonly new: undefined;
    };

/** Computes an index key from a row; `undefined` or `null` leaves the row out of the index. */
export type IndexKey<R = Row> = (row: R) => unknown;

type Bucket = Row | Map<string, Row>;

/** One user-declared index: key → row (or several rows when the key is not unique). */
export class RowIndex {
  readonly #key: IndexKey;
  readonly #map = new Map<unknown, Bucket>();

  constructor(
    readonly name: string,
    key: IndexKey,
  ) {
    this.#key = key;
  }

  keyOf(row: Row): unknown {
    return this.#key(row);
  }

  add(row: Row, k: unknown = this.#key(row)): void {
    if (k === undefined || k === null) return;
    const b = this.#map.get(k);
    if (b === undefined) this.#map.set(k, row);
    else if (b instanceof Map) b.set(row._uuid, row);
    else if (b._uuid === row._uuid) this.#map.set(k, row);
    else
      this.#map.set(
        k,
        new Map([
          [b._uuid, b],
          [row._uuid, row],
        ]),
      );
  }

  remove(row: Row, k: unknown = this.#key(row)): void {
    if (k === undefined || k === null) return;
    const b = this.#map.get(k);
    if (b === undefined) return;
    if (b instanceof Map) {
      b.delete(row._uuid);
      if (b.size === 1) this.#map.set(k, b.values().next().value as Row);
      else if (b.size === 0) this.#map.delete(k);
    } else if (b._uuid === row._uuid) this.#map.delete(k);
  }

  get(k: unknown): Row | undefined {
    const b = this.#map.get(k);
    if (b === undefined || !(b instanceof Map)) return b;
    return b.values().next().value;
  }

  getAll(k: unknown): Row[] {
    const b = this.#map.get(k);
    if (b === undefined) return [];
    return b instanceof Map ? [...b.values()] : [b];
  }

  clear(): void {
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }
}

/** The monitored part of one table. */
export class TableStore {
  readonly name: string;
  readonly codecs: readonly ColumnCodec[];
  readonly #byName: Map<string, ColumnCodec>;
  rows = new Map<string, Row>();
  readonly indexes = new Map<string, RowIndex>();

  constructor(schema: TableSchema, columns: readonly string[] | undefined) {
    this.name = schema.name;
    const names = columns ?? schema.userColumns.map((c) => c.name);
    this.codecs = names.map((n) => {
      const c = schema.columns.get(n);
      if (!c || n === '_uuid') throw new ProtocolError(`table ${schema.name} has no column "${n}"`);
      return columnCodec(c);
    });
    this.#byName = new Map(this.codecs.map((c) => [c.name, c]));
    const shape: Record<string, null> = { _uuid: null };
    for (const c of this.codecs) shape[c.name] = null;
    this.#template = JSON.parse(JSON.stringify(shape)) as Record<string, unknown>;
  }

  /**
   * A fast-mode object with every column, cloned for each new row. Adding 20–40 properties one by one with
   * computed names (keyed stores) pushes V8 objects into dictionary mode past about a dozen out-of-object
   * properties, which costs ~1.5 KB per row; a clone of an object JSON.parse built keeps one shared shape
   * (hidden class) with fast properties, and stores to existing properties keep it.
   */
  readonly #template: Record<string, unknown>;

  /** A full row from a wire row in which absent columns are at their default (update2 initial/insert). */
  build(uuid: string, wire: Record<string, unknown> | null | undefined): Row {
    const row: Record<string, unknown> = { ...this.#template };
    row._uuid = uuid;
    const codecs = this.codecs;
    if (wire == null) {
      for (let i = 0; i < codecs.length; i++) {
        const c = codecs[i] as ColumnCodec;
        row[c.name] = c.defaultValue;
      }
    } else {
      for (let i = 0; i < codecs.length; i++) {
        const c = codecs[i] as ColumnCodec;
        const w = wire[c.name];
        row[c.name] = w === undefined ? c.defaultValue : c.decode(w);
      }
    }
    return row as Row;
  }

  /** The new row after an update2 "modify". */
  modify(old: Row, wire: Record<string, unknown>): Row {
    const row: Record<string, unknown> = { ...old };
    for (const name in wire) {
      const c = this.#byName.get(name);
      if (c === undefined) continue; // a column we did not ask for (e.g. _version): ignore
      row[name] = c.applyModify(old[name], wire[name]);
    }
    return row as Row;
  }

  /** Whether two rows hold equal values in every monitored column. */
  equalRows(a: Row, b: Row): boolean {
    for (const c of this.codecs) if (!valueEquals(a[c.name], b[c.name])) return false;
    return true;
  }

  addIndex(name: string, key: IndexKey): RowIndex {
    const ix = new RowIndex(name, key);
    for (const row of this.rows.values()) ix.add(row);
    this.indexes.set(name, ix);
    return ix;
  }

  put(uuid: string, old: Row | undefined, row: Row): void {
    this.rows.set(uuid, row);
    if (this.indexes.size === 0) return;
    for (const ix of this.indexes.values()) {
      if (old === undefined) ix.add(row);
      else {
        const ko = ix.keyOf(old);
        const kn = ix.keyOf(row);
        if (ko === kn) ix.add(row, kn);
        else {
          ix.remove(old, ko);
          ix.add(row, kn);
        }
      }
    }
  }

  remove(uuid: string, old: Row): void {
    this.rows.delete(uuid);
    for (const ix of this.indexes.values()) ix.remove(old);
  }
}

/** Rows applied between two steps of applyUpdate2Steps/replaceAllSteps. */
const STEP_ROWS = 64;

export interface ApplyStats {
  /** modify/delete of a row the replica does not hold, or insert of one it already holds. */
  anomalies: number;
}

function wireRows(tu: unknown, table: string): Record<string, unknown> {
  if (typeof tu !== 'object' || tu === null || Array.isArray(tu))
    throw new ProtocolError(`table-update for ${table} is not an object`);
  return tu as Record<string, unknown>;
}

/** All tables of a replica and the pure update-application engine. */
export class RowStore {
  readonly tables = new Map<string, TableStore>();
  readonly stats: ApplyStats = { anomalies: 0 };

  addTable(t: TableStore): void {
    this.tables.set(t.name, t);
  }

  /**
   * Applies update2/update3 table-updates (`{table: {uuid: {initial|insert|modify|delete}}}`), appending the
   * changes to `out`. A whole notification is one transaction: apply it fully, then emit.
   */
  applyUpdate2(updates: unknown, out: RowChange[]): void {
    const steps = this.applyUpdate2Steps(updates, out);
    while (!steps.next().done);
  }

  /** applyUpdate2 as steps: yields after every STEP_ROWS rows, so a caller can spread a snapshot over time. */
  *applyUpdate2Steps(updates: unknown, out: RowChange[]): Generator<void, void, void> {
    if (updates == null) return;
    let n = 0;
    for (const tname in updates as Record<string, unknown>) {
      const t = this.tables.get(tname);
      if (t === undefined) continue; // not monitored by us (e.g. a table the server added)
      const rows = wireRows((updates as Record<string, unknown>)[tname], tname);
      for (const uuid in rows) {
        if (++n === STEP_ROWS) {
          n = 0;
          yield;
        }
        const ru = rows[uuid] as Record<string, unknown> | null;
        if (ru == null || typeof ru !== 'object')
          throw new ProtocolError(`row-update2 for ${tname} ${uuid} is not an object`);
        const old = t.rows.get(uuid);
        if ('modify' in ru) {
          if (old === undefined) {
            this.stats.anomalies++;
            continue;
          }
          const row = t.modify(old, ru.modify as Record<string, unknown>);
          t.put(uuid, old, row);
          out.push({ table: tname, type: 'modify', uuid, old, new: row });
        } else if ('delete' in ru) {
          if (old === undefined) {
            this.stats.anomalies++;
            continue;
          }
          t.remove(uuid, old);
          out.push({ table: tname, type: 'delete', uuid, old, new: undefined });
        } else if ('initial' in ru || 'insert' in ru) {
          const row = t.build(uuid, (ru.initial ?? ru.insert) as Record<string, unknown> | null);
          t.put(uuid, old, row);
          if (old === undefined) out.push({ table: tname, type: 'insert', uuid, old: undefined, new: row });
          else {
            this.stats.anomalies++;
            out.push({ table: tname, type: 'modify', uuid, old, new: row });
          }
        } else
          throw new ProtocolError(
            `row-update2 for ${tname} ${uuid} has none of initial/insert/modify/delete`,
          );
      }
    }
  }

  /**
   * Applies RFC 7047 `update` table-updates (`{table: {uuid: {old?, new?}}}`). "new" holds every monitored
   * column, so an insert or modify rebuilds the row from it; "old" without "new" is a delete.
   */
  applyUpdate1(updates: unknown, out: RowChange[]): void {
    if (updates == null) return;
    for (const tname in updates as Record<string, unknown>) {
      const t = this.tables.get(tname);
      if (t === undefined) continue;
      const rows = wireRows((updates as Record<string, unknown>)[tname], tname);
      for (const uuid in rows) {
        const ru = rows[uuid] as { old?: Record<string, unknown>; new?: Record<string, unknown> } | null;
        if (ru == null || typeof ru !== 'object')
          throw new ProtocolError(`row-update for ${tname} ${uuid} is not an object`);
        const old = t.rows.get(uuid);
        if (ru.new !== undefined) {
          const fresh = t.build(uuid, ru.new);
          // "new" of RFC 7047 carries every monitored column, but be safe if one is missing: keep the old value.
          const row = old === undefined ? fresh : mergeMissing(t, fresh, old, ru.new);
          t.put(uuid, old, row);
          out.push(
            old === undefined
              ? { table: tname, type: 'insert', uuid, old: undefined, new: row }
              : { table: tname, type: 'modify', uuid, old, new: row },
          );
        } else if (old !== undefined) {
          t.remove(uuid, old);
          out.push({ table: tname, type: 'delete', uuid, old, new: undefined });
        } else this.stats.anomalies++;
      }
    }
  }

  /**
   * Replaces the whole content with a full snapshot (a reload after a reconnect whose history was gone,
   * or after a schema change) without ever exposing an empty or half-filled replica: the snapshot is built
   * aside, compared row by row, then swapped in; `out` receives exactly the differences (rows equal in
   * every column keep their object identity and produce no event).
   */
  replaceAll(snapshot: unknown, version: 1 | 2, out: RowChange[]): void {
    const steps = this.replaceAllSteps(snapshot, version, out);
    while (!steps.next().done);
  }

  /**
   * replaceAll as steps: the snapshot's rows are built aside in steps of STEP_ROWS rows; the comparison
   * and the swap happen in the last step, at once, so no reader ever sees a mix of old and new.
   */
  *replaceAllSteps(snapshot: unknown, version: 1 | 2, out: RowChange[]): Generator<void, void, void> {
    let n = 0;
    const fresh = new Map<string, Map<string, Row>>();
    for (const t of this.tables.values()) fresh.set(t.name, new Map());
    if (snapshot != null) {
      for (const tname in snapshot as Record<string, unknown>) {
        const t = this.tables.get(tname);
        const target = fresh.get(tname);
        if (t === undefined || target === undefined) continue;
        const rows = wireRows((snapshot as Record<string, unknown>)[tname], tname);
        for (const uuid in rows) {
          if (++n === STEP_ROWS) {
            n = 0;
            yield;
          }
          const ru = rows[uuid] as Record<string, unknown> | null;
          if (ru == null) continue;
          const wire = (version === 2 ? (ru.initial ?? ru.insert) : ru.new) as
            | Record<string, unknown>
            | undefined;
          if (version === 2 ? !('initial' in ru || 'insert' in ru) : wire === undefined) continue;
          target.set(uuid, t.build(uuid, wire ?? null));
        }
      }
    }
    for (const t of this.tables.values()) {
      const next = fresh.get(t.name) as Map<string, Row>;
      for (const [uuid, old] of t.rows) {
        if (!next.has(uuid)) {
          t.remove(uuid, old);
          out.push({ table: t.name, type: 'delete', uuid, old, new: undefined });
        }
      }
      for (const [uuid, row] of next) {
        const old = t.rows.get(uuid);
        if (old === undefined) {
          t.put(uuid, undefined, row);
          out.push({ table: t.name, type: 'insert', uuid, old: undefined, new: row });
        } else if (!t.equalRows(old, row)) {
          t.put(uuid, old, row);
          out.push({ table: t.name, type: 'modify', uuid, old, new: row });
        }
      }
    }
  }

  /** Whether every table is empty. */
  get empty(): boolean {
    for (const t of this.tables.values()) if (t.rows.size > 0) return false;
    return true;
  }
}

function mergeMissing(t: TableStore, fresh: Row, old: Row, wire: Record<string, unknown>): Row {
  let row: Record<string, unknown> | undefined;
  for (const c of t.codecs) {
    if (wire[c.name] === undefined) {
      row ??= { ...fresh };
      row[c.name] = old[c.name];
    }
  }
  return (row ?? fresh) as Row;
}
