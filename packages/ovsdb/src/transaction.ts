// Transactions: collect operations, hand out references to inserted rows, send them in one `transact`,
// and turn the raw result array into typed results or a typed error (RFC 7047 §4.1.3).

import { decodesReplies, type ReplyDecoder } from './connection.js';
import type { Columns, Condition, Insert, Mutation, ResultOf, Row, TableModel, Update } from './database.js';
import { InvalidArgumentError, ProtocolError, RowCountMismatch, transactionError } from './errors.js';
import {
  abort,
  assert,
  comment,
  commit,
  decodeResult,
  del,
  type InsertOptions,
  insertOperation,
  mutate,
  type Operation,
  select,
  update,
  type WaitSpec,
  wait,
} from './operations.js';
import type { TableSchema } from './schema.js';
import { namedUuidWire, type RowRef, refTag, refWire, type Uuid } from './uuid.js';
import { type ColumnCodec as RefColumn, tableCodec } from './values.js';

/** The shared default of omitted options arguments (not allocated per call; never written). */
export const NO_OPTIONS: Readonly<Record<string, never>> = Object.freeze({});

export interface TransactOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/**
 * What a transaction is sent through: `OvsdbClient` fits, and so does any object that sends RFC 7047
 * `transact` params and resolves to the raw result array.
 */
export interface Transactor {
  transact(db: string, operations: readonly unknown[], opts?: TransactOptions): Promise<unknown[]>;
}

/** How many rows an update, mutate or delete must match, else the whole transaction aborts. */
export type ExpectRows = 'one' | 'some' | 'none';

export interface WriteOptions {
  /**
   * Makes the operation's match count part of the transaction: `'some'` (at least one row), `'one'` (the
   * `where` must pin at most one row: `_uuid ==`, or `==` on every column of one of the table's indexes)
   * or `'none'`. Otherwise nothing commits and the transaction rejects with RowCountMismatch. Enforced by
   * ovsdb-server, atomically: a `wait` (RFC 7047 §5.2.6) on the same `where` with `columns: []` and
   * `timeout: 0` goes right before the operation. ovsdb-server compares the *distinct* projections of the
   * matching rows, so with no columns it can tell none from some but cannot count: exact counts above one
   * are not offered.
   */
  readonly expect?: ExpectRows;
}

/**
 * The `wait` operation made by WriteOptions.expect, with what it guards (see decodeResults). A class of
 * its own (frozen like every Operation), so decodeResults tells it by instanceof, with no side table.
 */
class GuardWait implements Operation<void> {
  readonly op = 'wait' as const;
  readonly wire: Readonly<Record<string, unknown>>;
  readonly table: TableSchema;
  readonly database: string | undefined;
  readonly columns = undefined;
  readonly expected: ExpectRows;
  /** The guarded operation's kind. */
  readonly guarded: string;
  readonly where: readonly unknown[];
  constructor(guarded: Operation, table: TableSchema, where: readonly unknown[], expected: ExpectRows) {
    this.wire = Object.freeze({
      op: 'wait',
      table: table.name,
      where,
      columns: NO_COLUMNS,
      until: expected === 'none' ? '==' : '!=',
      rows: NO_ROWS,
      timeout: 0,
    });
    this.table = table;
    this.database = guarded.database;
    this.expected = expected;
    this.guarded = guarded.op;
    this.where = where;
    Object.freeze(this);
  }
}
const NO_COLUMNS: readonly string[] = Object.freeze([]);
const NO_ROWS: readonly unknown[] = Object.freeze([]);

/** Stands for the result of one operation of a transaction; `TransactionResult.get(handle)` reads it. */
export class Handle<R> {
  declare readonly __result: R;
  readonly index: number;
  constructor(index: number) {
    this.index = index;
  }
}

/**
 * The handle of an insert: also a reference to the new row usable by later operations of the same
 * transaction.
 */
export class InsertHandle<Table extends string> extends Handle<Uuid<Table>> implements RowRef<Table> {
  readonly [refTag] = true as const;
  /** ["named-uuid", name], made once: every use of this handle in the transaction sends this array. */
  readonly [refWire]: readonly ['named-uuid', string];
  readonly name: string;
  readonly table: Table;
  constructor(index: number, table: Table, name: string) {
    super(index);
    this.table = table;
    this.name = name;
    this[refWire] = namedUuidWire(name);
    Object.freeze(this);
  }
}

// Handles hold nothing but their index (and an insert's table and uuid-name), are frozen, and mean the
// same in every transaction, so the common ones are made once and shared: a transaction allocates no
// handle for a plain operation or for an insert with a generated name.
const HANDLES: Handle<unknown>[] = [];
const CACHED = 1024;
function handleAt(index: number): Handle<unknown> {
  let h = HANDLES[index];
  if (h === undefined) {
    h = Object.freeze(new Handle<unknown>(index));
    if (index < CACHED) HANDLES[index] = h;
  }
  return h;
}
/** By table name: the insert handles of generated names (`row<index>`), by index. */
const INSERT_HANDLES = new Map<string, InsertHandle<string>[]>();
function generatedHandle<N extends string>(index: number, table: N): InsertHandle<N> {
  let byIndex = INSERT_HANDLES.get(table);
  if (byIndex === undefined) {
    byIndex = [];
    if (INSERT_HANDLES.size < 256) INSERT_HANDLES.set(table, byIndex);
  }
  let h = byIndex[index];
  if (h === undefined) {
    h = new InsertHandle(index, table, rowName(index));
    if (index < CACHED) byIndex[index] = h;
  }
  return h as InsertHandle<N>;
}

// Generated uuid-names `row<n>`, made once per n: the same strings (hash computed) for every transaction.
const ROW_NAMES: string[] = [];
function rowName(n: number): string {
  let name = ROW_NAMES[n];
  if (name === undefined) {
    name = `row${n}`;
    if (n < 1024) ROW_NAMES[n] = name;
  }
  return name;
}

/**
 * Sends `t` like `t.execute(transactor, opts)` and resolves to `result.map(shape)` (for Database.transact;
 * not exported by the package).
 */
export let executeMapped: <H>(
  t: Transaction,
  transactor: Transactor,
  opts: TransactOptions,
  shape: H,
) => Promise<ResultOf<H>>;

/**
 * One transaction on database `DB`. Typed on the database name: a table model of another database does
 * not compile into it (generated models carry their database's name; `new Transaction('Open_vSwitch')`
 * and `db.transaction()` infer it). The same is checked at run time.
 */
export class Transaction<DB extends string = string> {
  readonly database: DB;
  readonly #ops: Operation[] = [];
  /** The uuid-names of this transaction's inserts, once one was given by the caller (see insert). */
  #names: Set<string> | undefined;
  #sent = false;

  constructor(database: DB) {
    if (typeof database !== 'string' || database === '') {
      throw new InvalidArgumentError(
        `Transaction: database must be a database name, got ${JSON.stringify(database)}`,
      );
    }
    this.database = database;
  }

  get operations(): readonly Operation[] {
    return this.#ops;
  }

  /** Adds a built operation (see operations.ts). */
  add<R>(op: Operation<R>): Handle<R> {
    return handleAt(this.#push(op)) as Handle<R>;
  }

  /** The names insert() generated so far (while #names is unset, each is `row<its index>`). */
  #usedNames(): Set<string> {
    const names = new Set<string>();
    const ops = this.#ops;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as Operation;
      if (op.op === 'insert' && op.wire['uuid-name'] === rowName(i)) names.add(rowName(i));
    }
    return names;
  }

  /** Appends `op` and returns its index. */
  #push(op: Operation): number {
    if (this.#sent) throw new InvalidArgumentError('Transaction: operations cannot be added after execute()');
    if (op.database !== undefined && op.database !== this.database) {
      throw new InvalidArgumentError(
        `Transaction: table ${op.table?.name} belongs to database ${op.database}, not ${this.database}`,
      );
    }
    return this.#ops.push(op) - 1;
  }

  /**
   * Inserts a row; the returned handle is a reference to the new row (send it in a uuid column of a later
   * operation) and, after execute(), reads the new row's uuid.
   */
  insert<N extends string, C extends Columns>(
    table: TableModel<N, C, DB>,
    row: Insert<C>,
    opts: InsertOptions<N> = NO_OPTIONS,
  ): InsertHandle<N> {
    let name = opts.uuidName;
    const generated = name === undefined;
    // #names stays unset while every name is generated: `row<index>` names are distinct by construction.
    let names = this.#names;
    if (name === undefined) {
      name = rowName(this.#ops.length);
      if (names !== undefined) while (names.has(name)) name = `${name}_`;
    } else {
      names ??= this.#usedNames();
      if (names.has(name)) {
        throw new InvalidArgumentError(
          `Transaction: uuid-name "${name}" is already used in this transaction`,
        );
      }
    }
    // A generated name (`row<n>_…`) is an <id> by construction: insertOperation skips matching it again.
    const index = this.#push(insertOperation(table, row, name, opts.uuid, generated));
    if (names !== undefined) {
      names.add(name);
      this.#names = names;
    }
    return generated && name === rowName(index)
      ? generatedHandle(index, table.name)
      : new InsertHandle(index, table.name, name);
  }

  select<N extends string, C extends Columns>(
    table: TableModel<N, C, DB>,
    where?: readonly Condition<C, N>[],
  ): Handle<Row<C, N>[]>;
  select<N extends string, C extends Columns, K extends (keyof C & string) | '_uuid' | '_version'>(
    table: TableModel<N, C, DB>,
    where: readonly Condition<C, N>[],
    columns: readonly K[],
  ): Handle<Pick<Row<C, N>, K>[]>;
  select<N extends string, C extends Columns>(
    table: TableModel<N, C, DB>,
    where: readonly Condition<C, N>[] = [],
    columns?: readonly ((keyof C & string) | '_uuid' | '_version')[],
  ): Handle<unknown> {
    return this.add(columns === undefined ? select(table, where) : select(table, where, columns));
  }

  /** `update`; with `{ expect }`, the transaction aborts unless the `where` matches as expected. */
  update<N extends string, C extends Columns>(
    table: TableModel<N, C, DB>,
    where: readonly Condition<C, N>[],
    row: Update<C>,
    opts: WriteOptions = NO_OPTIONS,
  ): Handle<number> {
    return this.#guarded(update(table, where, row), opts);
  }

  /** `mutate`; with `{ expect }`, the transaction aborts unless the `where` matches as expected. */
  mutate<N extends string, C extends Columns>(
    table: TableModel<N, C, DB>,
    where: readonly Condition<C, N>[],
    mutations: readonly Mutation<C>[],
    opts: WriteOptions = NO_OPTIONS,
  ): Handle<number> {
    return this.#guarded(mutate(table, where, mutations), opts);
  }

  /** `delete`; with `{ expect }`, the transaction aborts unless the `where` matches as expected. */
  delete<N extends string, C extends Columns>(
    table: TableModel<N, C, DB>,
    where: readonly Condition<C, N>[],
    opts: WriteOptions = NO_OPTIONS,
  ): Handle<number> {
    return this.#guarded(del(table, where), opts);
  }

  /** Adds `op`, preceded by the `wait` guard that opts.expect asks for. */
  #guarded(op: Operation<number>, opts: WriteOptions): Handle<number> {
    const expected = opts?.expect;
    if (expected === undefined) return this.add(op);
    const table = op.table as TableSchema;
    const where = op.wire.where as unknown[];
    if (expected !== 'one' && expected !== 'some' && expected !== 'none') {
      throw new InvalidArgumentError(
        `${op.op} ${table.name}: expect ${JSON.stringify(expected)} is not allowed; expected "one", "some" or "none"`,
      );
    }
    if (expected === 'one' && !pinsOneRow(table, where)) {
      const ixs = table.indexes.map((ix) => `(${ix.join(', ')})`).join(', ');
      throw new InvalidArgumentError(
        `${op.op} ${table.name}: expect "one" needs a where that matches at most one row — "_uuid" "==" a row, or "==" on every column of an index${ixs ? ` (${table.name} has ${ixs})` : ` (${table.name} has no index)`}; OVSDB cannot count rows inside a transaction, so use expect "some" otherwise`,
      );
    }
    this.#push(new GuardWait(op, table, where, expected));
    return this.add(op);
  }

  wait<N extends string, C extends Columns, K extends keyof C & string>(
    table: TableModel<N, C, DB>,
    spec: WaitSpec<C, N, K>,
  ): Handle<void> {
    return this.add(wait(table, spec));
  }

  commit(durable = false): Handle<void> {
    return this.add(commit(durable));
  }

  abort(): Handle<void> {
    return this.add(abort());
  }

  comment(text: string): Handle<void> {
    return this.add(comment(text));
  }

  assert(lock: string): Handle<void> {
    return this.add(assert(lock));
  }

  /** The `transact` params after the database name: the operations as sent. */
  toWire(): unknown[] {
    const ops = this.#ops;
    // Built by push: packed (JSON.stringify's fast path), where `new Array(n)` is holey.
    const out: unknown[] = [];
    for (let i = 0; i < ops.length; i++) out.push((ops[i] as Operation).wire);
    return out;
  }

  /** Sends the transaction once and decodes its results (see decodeResults). */
  execute(transactor: Transactor, opts: TransactOptions = NO_OPTIONS): Promise<TransactionResult> {
    // Not an async function: the request is written synchronously and the result is decoded in the
    // reply's own settlement, with no promise hop of ours (bench/add-port.ts).
    return this.#run(transactor, opts, WHOLE_RESULT) as Promise<TransactionResult>;
  }

  /**
   * Marks the transaction sent, checks it, sends it and decodes the reply: by the connection itself when
   * the transactor takes a decoder (OvsdbClient: no promise hop), else in one `then` reaction.
   */
  #run(transactor: Transactor, opts: TransactOptions, shape: unknown): Promise<unknown> {
    if (this.#sent)
      return Promise.reject(new InvalidArgumentError('Transaction: execute() may be called once'));
    this.#sent = true;
    const ops = this.#ops;
    try {
      checkNoGarbage(ops);
      const wire = this.toWire();
      if ((transactor as { [decodesReplies]?: unknown })[decodesReplies] === true) {
        // Its members are the caller's options (possibly undefined, which the connection treats as unset).
        const decoding = new DecodingOptions(opts, ops, shape) as unknown as TransactOptions;
        return transactor.transact(this.database, wire, decoding);
      }
      return transactor.transact(this.database, wire, opts).then((raw) => decodeReply(ops, raw, shape));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  static {
    // Database.transact's path: decode the results and map the build callback's shape in the reply's
    // settlement (execute(...).then(map) took one more hop before the caller resumed).
    executeMapped = (t, transactor, opts, shape) => t.#run(transactor, opts, shape) as Promise<never>;
  }
}

/** The shape that asks for the whole TransactionResult (execute()). */
const WHOLE_RESULT: unique symbol = Symbol('ovsdb.wholeResult');

function decodeReply(ops: readonly Operation[], raw: unknown, shape: unknown): unknown {
  const result = decodeResults(ops, raw);
  return shape === WHOLE_RESULT ? result : result.map(shape);
}

/** The request options of a transaction sent through OvsdbClient: the caller's, plus the decoder. */
class DecodingOptions implements ReplyDecoder {
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
  readonly decoder: ReplyDecoder;
  readonly #ops: readonly Operation[];
  readonly #shape: unknown;
  constructor(opts: TransactOptions, ops: readonly Operation[], shape: unknown) {
    this.signal = opts.signal;
    this.timeoutMs = opts.timeoutMs;
    this.decoder = this;
    this.#ops = ops;
    this.#shape = shape;
  }
  decodeReply(raw: unknown): unknown {
    return decodeReply(this.#ops, raw, this.#shape);
  }
}

/** True when `where` (as sent) can match at most one row: `_uuid ==`, or `==` on all columns of an index. */
function pinsOneRow(table: TableSchema, where: readonly unknown[]): boolean {
  if (hasEquality(where, '_uuid')) return true;
  const ixs = table.indexes;
  for (let i = 0; i < ixs.length; i++) {
    const ix = ixs[i] as readonly string[];
    if (ix.length === 0) continue;
    let all = true;
    for (let c = 0; c < ix.length && all; c++) all = hasEquality(where, ix[c] as string);
    if (all) return true;
  }
  return false;
}

/** True when `where` (as sent) has a condition `[column, "==", …]`. */
function hasEquality(where: readonly unknown[], column: string): boolean {
  for (let i = 0; i < where.length; i++) {
    const c = where[i] as readonly unknown[];
    if (c[1] === '==' && c[0] === column) return true;
  }
  return false;
}

/**
 * Refuses a transaction that inserts a row into a non-root table that nothing keeps: ovsdb-server would
 * garbage-collect it at commit without a word (RFC 7047 §3.2 isRoot; ovsdb.7.rst "root set"). A row is
 * kept when a strong reference to it is written by an update or a mutate (into rows that exist), by an
 * insert into a root table, or by an inserted row that is itself kept. Transactions with `abort` are left
 * alone (they commit nothing).
 *
 * This runs on every execute(), so it is O(operations) and allocates nothing in the common case: the
 * strong-reference columns of each table are computed once (values.ts tableCodec), references usually point to
 * earlier inserts (one backward pass marks them; a forward reference makes it repeat until nothing
 * changes), and a generated uuid-name `row<n>` names operation n (other names are looked up by a scan,
 * or in a Map built on first need when there are many operations).
 */
function checkNoGarbage(ops: readonly Operation[]): void {
  const n = ops.length;
  const scan = gc;
  if (scan.kept.length < n) scan.kept = new Uint8Array(Math.max(n, 2 * scan.kept.length));
  const kept = scan.kept;
  // kept[i]: 1 = operation i is an insert that is kept (or an update/mutate, whose refs always count),
  // 2 = its references were followed, 0 = not (yet) kept.
  let suspects = false;
  for (let i = 0; i < n; i++) {
    const op = ops[i] as Operation;
    const kind = op.op;
    if (kind === 'abort') return;
    let k = 0;
    if (kind === 'update' || kind === 'mutate') k = op.table === undefined ? 0 : 1;
    else if (kind === 'insert' && op.table !== undefined) {
      if (tableCodec(op.table).root) k = 1;
      else suspects = true;
    }
    kept[i] = k;
  }
  if (!suspects) return;
  scan.ops = ops;
  scan.byName = undefined;
  scan.byUuid = undefined;
  try {
    let again = true;
    while (again) {
      again = false;
      for (let i = n - 1; i >= 0; i--) {
        if (kept[i] !== 1) continue;
        kept[i] = 2;
        if (markReferenced(scan, ops[i] as Operation, i)) again = true;
      }
    }
    for (let i = 0; i < n; i++) {
      const op = ops[i] as Operation;
      // Root inserts started kept (1): a 0 here is an insert into a non-root table that nothing keeps.
      if (op.op !== 'insert' || kept[i] !== 0 || op.table === undefined) continue;
      const name = op.wire['uuid-name'];
      throw new InvalidArgumentError(
        `Transaction: the ${op.table.name} row inserted by operation ${i}${typeof name === 'string' ? ` (uuid-name "${name}")` : ''} would be garbage-collected at commit: ${op.table.name} is not a root table and no operation of this transaction keeps a strong reference to it. Reference it from a root row or an existing row (e.g. a mutate that inserts it into a set), or from another inserted row that is kept.`,
      );
    }
  } finally {
    scan.ops = NO_OPS;
    scan.byName = undefined;
    scan.byUuid = undefined;
  }
}

/** checkNoGarbage's scratch state, reused by every call (it runs synchronously, never re-entered). */
interface GcScan {
  ops: readonly Operation[];
  kept: Uint8Array;
  byName: Map<string, number> | undefined;
  byUuid: Map<string, number> | undefined;
  /** Set by markAtom: a reference to a later operation was marked (another pass is needed). */
  forward: boolean;
  /** The index of the operation whose references are being followed. */
  from: number;
}
const NO_OPS: readonly Operation[] = [];
const gc: GcScan = {
  ops: NO_OPS,
  kept: new Uint8Array(16),
  byName: undefined,
  byUuid: undefined,
  forward: false,
  from: 0,
};

/** Marks the inserts that operation `i` strongly references; true when one of them comes later. */
function markReferenced(scan: GcScan, op: Operation, i: number): boolean {
  const cols = tableCodec(op.table as TableSchema).strongRefs;
  if (cols.length === 0) return false;
  scan.forward = false;
  scan.from = i;
  const w = op.wire;
  if (op.op === 'mutate') {
    const mutations = w.mutations as readonly (readonly unknown[])[];
    for (let m = 0; m < mutations.length; m++) {
      const mu = mutations[m] as readonly unknown[];
      if (mu[1] !== 'insert') continue;
      const col = findColumn(cols, mu[0]);
      if (col !== undefined) markDatum(scan, col, mu[2]);
    }
  } else {
    const row = w.row as Record<string, unknown> | undefined;
    if (typeof row !== 'object' || row === null) return false;
    for (let c = 0; c < cols.length; c++) {
      const col = cols[c] as RefColumn;
      const d = row[col.column.name];
      if (d !== undefined) markDatum(scan, col, d);
    }
  }
  return scan.forward;
}

function findColumn(cols: readonly RefColumn[], name: unknown): RefColumn | undefined {
  for (let c = 0; c < cols.length; c++) if ((cols[c] as RefColumn).column.name === name) return cols[c];
  return undefined;
}

/** Marks the rows a wire datum (atom, ["set", …] or ["map", …]) strongly references. */
function markDatum(scan: GcScan, col: RefColumn, datum: unknown): void {
  if (!Array.isArray(datum)) return;
  const tag = datum[0];
  if (tag === 'map') {
    const pairs = datum[1] as readonly (readonly unknown[])[];
    for (let p = 0; p < pairs.length; p++) {
      const pair = pairs[p] as readonly unknown[];
      if (col.strongKey) markAtom(scan, pair[0]);
      if (col.strongValue) markAtom(scan, pair[1]);
    }
  } else if (tag === 'set') {
    if (!col.strongKey) return;
    const atoms = datum[1] as readonly unknown[];
    for (let a = 0; a < atoms.length; a++) markAtom(scan, atoms[a]);
  } else if (col.strongKey) markAtom(scan, datum);
}

function markAtom(scan: GcScan, atom: unknown): void {
  if (!Array.isArray(atom)) return;
  let j: number;
  if (atom[0] === 'named-uuid') j = insertNamed(scan, atom[1]);
  else if (atom[0] === 'uuid') j = insertWithUuid(scan, atom[1]);
  else return;
  if (j < 0 || scan.kept[j] !== 0) return;
  scan.kept[j] = 1;
  if (j > scan.from) scan.forward = true;
}

/** The index of the insert with uuid-name `name`, or -1. */
function insertNamed(scan: GcScan, name: unknown): number {
  if (typeof name !== 'string') return -1;
  const ops = scan.ops;
  // A generated name row<n> (or row<n>_…, see Transaction.insert) is operation n's when it says so.
  const g = generatedIndex(name);
  if (g >= 0 && g < ops.length && (ops[g] as Operation).wire['uuid-name'] === name) return g;
  if (ops.length <= 16) {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as Operation;
      if (op.op === 'insert' && op.wire['uuid-name'] === name) return i;
    }
    return -1;
  }
  let byName = scan.byName;
  if (byName === undefined) {
    byName = new Map();
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as Operation;
      const nm = op.wire['uuid-name'];
      if (op.op === 'insert' && typeof nm === 'string') byName.set(nm, i);
    }
    scan.byName = byName;
  }
  return byName.get(name) ?? -1;
}

/** The index of the insert with explicit uuid `uuid`, or -1 (most references name existing rows). */
function insertWithUuid(scan: GcScan, uuid: unknown): number {
  let byUuid = scan.byUuid;
  if (byUuid === undefined) {
    byUuid = EMPTY_INDEX;
    const ops = scan.ops;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as Operation;
      const u = op.wire.uuid;
      if (op.op !== 'insert' || typeof u !== 'string') continue;
      if (byUuid === EMPTY_INDEX) byUuid = new Map();
      byUuid.set(u, i);
    }
    scan.byUuid = byUuid;
  }
  return typeof uuid === 'string' ? (byUuid.get(uuid) ?? -1) : -1;
}
const EMPTY_INDEX: Map<string, number> = new Map();

/** n for "row<n>" (and "row<n>_…"), else -1; reads the characters without slicing. */
function generatedIndex(name: string): number {
  if (
    name.length < 4 ||
    name.charCodeAt(0) !== 114 ||
    name.charCodeAt(1) !== 111 ||
    name.charCodeAt(2) !== 119
  )
    return -1;
  let v = 0;
  let i = 3;
  for (; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    if (v > 0x7fffffff) return -1;
  }
  if (i === 3) return -1;
  for (; i < name.length; i++) if (name.charCodeAt(i) !== 95) return -1;
  return v;
}

/**
 * Turns a raw `transact` result array into typed results. RFC 7047 §4.1.3: one result per operation;
 * an error object `{error, details?}` at the failing operation (later entries are null or missing); a
 * commit-time error (e.g. "referential integrity violation", "constraint violation") is an extra element
 * after the last operation. Errors become TransactionError subclasses carrying the index and details.
 */
export function decodeResults(operations: readonly Operation[], raw: unknown): TransactionResult {
  if (!Array.isArray(raw))
    throw new ProtocolError(`transact result must be an array, got ${JSON.stringify(raw)}`);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i] as { error?: unknown; details?: unknown } | null;
    if (r !== null && typeof r === 'object' && typeof r.error === 'string') {
      const guard = i < operations.length ? operations[i] : undefined;
      if (guard instanceof GuardWait && r.error === 'timed out') {
        throw new RowCountMismatch(
          guard.expected,
          { index: i + 1, op: guard.guarded, table: guard.table.name, where: guard.where },
          i,
          operations[i]?.wire,
          raw,
        );
      }
      throw transactionError(
        r.error,
        typeof r.details === 'string' ? r.details : undefined,
        i,
        i < operations.length ? operations[i]?.wire : undefined,
        raw,
      );
    }
  }
  if (raw.length < operations.length) {
    throw new ProtocolError(`transact returned ${raw.length} results for ${operations.length} operations`);
  }
  const results = new Array<unknown>(operations.length);
  for (let i = 0; i < operations.length; i++) results[i] = decodeResult(operations[i] as Operation, raw[i]);
  return new TransactionResult(operations, raw, results);
}

export class TransactionResult {
  readonly operations: readonly Operation[];
  /** The raw result array as the server sent it. */
  readonly raw: readonly unknown[];
  /** The decoded result of each operation, in order. */
  readonly results: readonly unknown[];

  constructor(operations: readonly Operation[], raw: readonly unknown[], results: readonly unknown[]) {
    this.operations = operations;
    this.raw = raw;
    this.results = results;
  }

  /** The decoded result of one operation (an insert handle yields the new row's uuid). */
  get<R>(handle: Handle<R>): R {
    if (!(handle instanceof Handle) || handle.index >= this.results.length) {
      throw new InvalidArgumentError('TransactionResult.get: not a handle of this transaction');
    }
    return this.results[handle.index] as R;
  }

  /** Replaces every handle in `shape` (a handle, or nested arrays/plain objects of handles) by its result. */
  map<H>(shape: H): ResultOf<H> {
    return this.#walk(shape) as ResultOf<H>;
  }

  #walk(v: unknown): unknown {
    if (v === undefined || v === null || typeof v !== 'object') return v;
    if (v instanceof Handle) return this.get(v);
    if (Array.isArray(v)) return v.map((x) => this.#walk(x));
    if (Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.#walk(x)]));
    }
    return v;
  }
}
