// Transactions: collect operations, hand out references to inserted rows, send them in one `transact`,
// and turn the raw result array into typed results or a typed error (RFC 7047 §4.1.3).

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
import { type BaseType, isInRootSet, type TableSchema } from './schema.js';
import { type RowRef, refTag, type Uuid } from './uuid.js';

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

interface Guard {
  readonly expected: ExpectRows;
  readonly op: string;
  readonly table: string;
  readonly where: unknown;
}
/** The `wait` operations made by WriteOptions.expect, with what they guard (see decodeResults). */
const guards = new WeakMap<Operation, Guard>();

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
  readonly name: string;
  readonly table: Table;
  constructor(index: number, table: Table, name: string) {
    super(index);
    this.table = table;
    this.name = name;
    Object.freeze(this);
  }
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
    return new Handle<R>(this.#push(op));
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
    return new InsertHandle(index, table.name, name);
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
    const wait: Operation<void> = Object.freeze({
      op: 'wait',
      wire: Object.freeze({
        op: 'wait',
        table: table.name,
        where,
        columns: [],
        until: expected === 'none' ? '==' : '!=',
        rows: [],
        timeout: 0,
      }),
      table,
      database: op.database,
      columns: undefined,
    });
    guards.set(wait, { expected, op: op.op, table: table.name, where });
    this.#push(wait);
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
    const out = new Array<unknown>(ops.length);
    for (let i = 0; i < ops.length; i++) out[i] = (ops[i] as Operation).wire;
    return out;
  }

  /** Sends the transaction once and decodes its results (see decodeResults). */
  execute(transactor: Transactor, opts: TransactOptions = NO_OPTIONS): Promise<TransactionResult> {
    // Not an async function: the request is written synchronously and the result is decoded in the
    // reply's own promise reaction, with no extra promise hops on either side (bench/add-port.ts).
    const ops = this.#ops;
    const sent = this.#send(transactor, opts);
    return sent === undefined
      ? Promise.reject(new InvalidArgumentError('Transaction: execute() may be called once'))
      : sent.then((raw) => decodeResults(ops, raw));
  }

  /** Marks the transaction sent and sends it; undefined when it was sent before. */
  #send(transactor: Transactor, opts: TransactOptions): Promise<unknown[]> | undefined {
    if (this.#sent) return undefined;
    this.#sent = true;
    try {
      checkNoGarbage(this.#ops);
      return transactor.transact(this.database, this.toWire(), opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  static {
    // Database.transact's path: decode the results and map the build callback's shape in one promise
    // reaction (execute(...).then(map) took one more hop before the caller resumed).
    executeMapped = (t, transactor, opts, shape) => {
      const ops = t.#ops;
      const sent = t.#send(transactor, opts);
      return sent === undefined
        ? Promise.reject(new InvalidArgumentError('Transaction: execute() may be called once'))
        : sent.then((raw) => decodeResults(ops, raw).map(shape));
    };
  }
}

/** True when `where` (as sent) can match at most one row: `_uuid ==`, or `==` on all columns of an index. */
function pinsOneRow(table: TableSchema, where: readonly unknown[]): boolean {
  const eq = new Set<string>();
  for (const c of where) {
    const [col, fn] = c as [string, string];
    if (fn === '==') eq.add(col);
  }
  return eq.has('_uuid') || table.indexes.some((ix) => ix.length > 0 && ix.every((c) => eq.has(c)));
}

/**
 * Refuses a transaction that inserts a row into a non-root table that nothing keeps: ovsdb-server would
 * garbage-collect it at commit without a word (RFC 7047 §3.2 isRoot; ovsdb.7.rst "root set"). A row is
 * kept when a strong reference to it is written by an update or a mutate (into rows that exist), by an
 * insert into a root table, or by an inserted row that is itself kept. Transactions with `abort` are left
 * alone (they commit nothing).
 */
function checkNoGarbage(ops: readonly Operation[]): void {
  let suspects = false;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as Operation;
    if (op.op === 'abort') return;
    if (op.op === 'insert' && op.table !== undefined && !isInRootSet(op.table)) suspects = true;
  }
  if (!suspects) return;
  const byKey = new Map<string, number>(); // "n:<uuid-name>" / "u:<uuid>" → the insert's index
  const refs = new Map<number, string[]>(); // an insert's index → the keys it strongly references
  const queue: number[] = [];
  const anchors: string[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as Operation;
    const table = op.table;
    if (table === undefined) continue;
    const w = op.wire;
    if (op.op === 'insert') {
      if (typeof w['uuid-name'] === 'string') byKey.set(`n:${w['uuid-name']}`, i);
      if (typeof w.uuid === 'string') byKey.set(`u:${w.uuid}`, i);
      const out: string[] = [];
      strongRefsOfRow(table, w.row, out);
      refs.set(i, out);
      if (isInRootSet(table)) queue.push(i);
    } else if (op.op === 'update') {
      strongRefsOfRow(table, w.row, anchors);
    } else if (op.op === 'mutate') {
      for (const m of w.mutations as unknown[][]) {
        const col = table.columns.get(m[0] as string);
        if (col && m[1] === 'insert') strongRefsOfDatum(col.type.key, col.type.value, m[2], anchors);
      }
    }
  }
  const kept = new Set<number>();
  for (const k of anchors) {
    const i = byKey.get(k);
    if (i !== undefined) queue.push(i);
  }
  while (queue.length) {
    const i = queue.pop() as number;
    if (kept.has(i)) continue;
    kept.add(i);
    for (const k of refs.get(i) ?? []) {
      const j = byKey.get(k);
      if (j !== undefined && !kept.has(j)) queue.push(j);
    }
  }
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as Operation;
    if (op.op !== 'insert' || kept.has(i) || op.table === undefined || isInRootSet(op.table)) continue;
    const name = op.wire['uuid-name'];
    throw new InvalidArgumentError(
      `Transaction: the ${op.table.name} row inserted by operation ${i}${typeof name === 'string' ? ` (uuid-name "${name}")` : ''} would be garbage-collected at commit: ${op.table.name} is not a root table and no operation of this transaction keeps a strong reference to it. Reference it from a root row or an existing row (e.g. a mutate that inserts it into a set), or from another inserted row that is kept.`,
    );
  }
}

function strongRefsOfRow(table: TableSchema, row: unknown, out: string[]): void {
  if (typeof row !== 'object' || row === null) return;
  for (const name in row as Record<string, unknown>) {
    const col = table.columns.get(name);
    if (col) strongRefsOfDatum(col.type.key, col.type.value, (row as Record<string, unknown>)[name], out);
  }
}

function isStrongRef(b: BaseType | undefined): boolean {
  return b !== undefined && b.refTable !== undefined && b.refType !== 'weak';
}

/** Adds the keys of the rows a wire datum (atom, ["set", …] or ["map", …]) strongly references. */
function strongRefsOfDatum(key: BaseType, value: BaseType | undefined, datum: unknown, out: string[]): void {
  const k = isStrongRef(key);
  const v = isStrongRef(value);
  if (!k && !v) return;
  const atom = (a: unknown) => {
    if (!Array.isArray(a)) return;
    if (a[0] === 'named-uuid') out.push(`n:${a[1]}`);
    else if (a[0] === 'uuid') out.push(`u:${a[1]}`);
  };
  if (!Array.isArray(datum)) return;
  if (datum[0] === 'map') {
    for (const p of datum[1] as unknown[][]) {
      if (k) atom(p[0]);
      if (v) atom(p[1]);
    }
  } else if (datum[0] === 'set') {
    if (k) for (const a of datum[1] as unknown[]) atom(a);
  } else if (k) atom(datum);
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
      const guard = i < operations.length ? guards.get(operations[i] as Operation) : undefined;
      if (guard !== undefined && r.error === 'timed out') {
        throw new RowCountMismatch(
          guard.expected,
          { index: i + 1, op: guard.op, table: guard.table, where: guard.where },
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
