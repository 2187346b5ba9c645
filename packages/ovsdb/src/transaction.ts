// Transactions: collect operations, hand out references to inserted rows, send them in one `transact`,
// and turn the raw result array into typed results or a typed error (RFC 7047 §4.1.3).

import type { Columns, Condition, Insert, Mutation, ResultOf, Row, TableModel, Update } from './database.js';
import { InvalidArgumentError, ProtocolError, transactionError } from './errors.js';
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

  update<N extends string, C extends Columns>(
    table: TableModel<N, C, DB>,
    where: readonly Condition<C, N>[],
    row: Update<C>,
  ): Handle<number> {
    return this.add(update(table, where, row));
  }

  mutate<N extends string, C extends Columns>(
    table: TableModel<N, C, DB>,
    where: readonly Condition<C, N>[],
    mutations: readonly Mutation<C>[],
  ): Handle<number> {
    return this.add(mutate(table, where, mutations));
  }

  delete<N extends string, C extends Columns>(
    table: TableModel<N, C, DB>,
    where: readonly Condition<C, N>[],
  ): Handle<number> {
    return this.add(del(table, where));
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
