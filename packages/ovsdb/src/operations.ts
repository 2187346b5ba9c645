// Operation builders (RFC 7047 §5.2). Pure: each returns an Operation — the wire object to send plus what
// is needed to decode its result — and validates every value before anything can be sent. Nothing here
// does I/O; a Transaction collects operations and one `transact` call sends them.

import type {
  Columns,
  Condition,
  ConditionFunction,
  Insert,
  Mutation,
  Mutator,
  Row,
  TableModel,
  Update,
  WriteValue,
} from './database.js';
import { InvalidArgumentError, ProtocolError, showValue, ValidationError } from './errors.js';
import { type BaseType, type ColumnSchema, describeType, type TableSchema } from './schema.js';
import type { Uuid } from './uuid.js';
import { isUuid } from './uuid.js';
import { checkAtomAt, isStorableString } from './validate.js';
import {
  decodeRow,
  defaultValue,
  type EncodeOptions,
  encodeDatum,
  encodeRow,
  encodeStrict,
  encodeValue,
  isPlainObject,
  requiredColumns,
  tableCodec,
  unknownColumnHint,
} from './values.js';

export type OperationKind =
  | 'insert'
  | 'select'
  | 'update'
  | 'mutate'
  | 'delete'
  | 'wait'
  | 'commit'
  | 'abort'
  | 'comment'
  | 'assert';

declare const resultPhantom: unique symbol;

/** One transaction operation: the wire object, and (type level) the type its result decodes to. */
export interface Operation<R = unknown> {
  readonly op: OperationKind;
  /** Exactly what is sent, e.g. `{op: 'insert', table: 'Port', row: {...}, 'uuid-name': 'row1'}`. */
  readonly wire: Readonly<Record<string, unknown>>;
  /** The table operated on (undefined for commit, abort, comment, assert). */
  readonly table: TableSchema | undefined;
  /** The database the table belongs to (undefined for operations without a table). */
  readonly database: string | undefined;
  /** For select: the columns asked for (undefined = all). */
  readonly columns: readonly string[] | undefined;
  /** Type level only. */
  readonly [resultPhantom]?: R;
}

const FUNCTIONS: readonly ConditionFunction[] = ['<', '<=', '==', '!=', '>=', '>', 'includes', 'excludes'];
const MUTATORS: readonly Mutator[] = ['+=', '-=', '*=', '/=', '%=', 'insert', 'delete'];
const ID = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Shared encodeDatum options (not allocated per value).
const STRICT: EncodeOptions = Object.freeze({});
const RELAX_MIN: EncodeOptions = Object.freeze({ relaxMin: true });
const RELAX_COUNT: EncodeOptions = Object.freeze({ relaxMin: true, relaxMax: true });
const RELAX_BOTH: EncodeOptions = Object.freeze({ relaxMin: true, relaxMax: true, keysOnly: false });
const RELAX_KEYS: EncodeOptions = Object.freeze({ relaxMin: true, relaxMax: true, keysOnly: true });

function make<R>(
  op: OperationKind,
  wire: Record<string, unknown>,
  table?: TableModel,
  columns?: readonly string[],
): Operation<R> {
  return Object.freeze(
    table === undefined
      ? { op, wire: Object.freeze(wire), table: undefined, database: undefined, columns: undefined }
      : {
          op,
          wire: Object.freeze(wire),
          table: table.schema,
          database: table.database,
          columns: columns === undefined ? undefined : Object.freeze([...columns]),
        },
  );
}

function column(table: TableSchema, name: unknown, value: unknown): ColumnSchema {
  const c = typeof name === 'string' ? table.columns.get(name) : undefined;
  if (!c) throw new ValidationError(table.name, String(name), value, unknownColumnHint(table, String(name)));
  return c;
}

function checkTable(fn: string, table: TableModel): void {
  if (typeof table !== 'object' || table === null || !(table.schema?.columns instanceof Map)) {
    throw new InvalidArgumentError(`${fn}: the first argument must be a table model (e.g. OVS.Port)`);
  }
}

/** Encodes a `where` clause: an array of [column, function, value] (RFC 7047 §5.1 <condition>). */
export function encodeWhere(table: TableSchema, where: readonly unknown[]): unknown[] {
  if (!Array.isArray(where)) {
    throw new ValidationError(table.name, 'where', where, 'an array of [column, function, value] conditions');
  }
  // Built by push: packed arrays take JSON.stringify's fast path (a `new Array(n)` is holey and does not).
  const out: unknown[] = [];
  for (let i = 0; i < where.length; i++) out.push(encodeCondition(table, where[i]));
  return out;
}

function encodeCondition(table: TableSchema, cond: unknown): unknown {
  if (!Array.isArray(cond) || cond.length !== 3) {
    throw new ValidationError(table.name, 'where', cond, 'a condition [column, function, value]');
  }
  const name: unknown = cond[0];
  const fn: unknown = cond[1];
  const value: unknown = cond[2];
  const col = column(table, name, cond);
  if (!FUNCTIONS.includes(fn as ConditionFunction)) {
    throw new ValidationError(table.name, col.name, fn, `a condition function: ${FUNCTIONS.join(' ')}`);
  }
  switch (fn) {
    case '<':
    case '<=':
    case '>=':
    case '>': {
      // RFC 7047 §5.1: the ordering functions apply to integer and real columns holding at most one
      // value; ovsdb-server wants exactly one atom as the argument.
      const numeric = col.type.key.type === 'integer' || col.type.key.type === 'real';
      if (!numeric || col.type.value !== undefined || col.type.max !== 1) {
        throw new ValidationError(
          table.name,
          col.name,
          cond,
          `"${fn}" only on integer or real columns with at most one value; use == != includes excludes`,
        );
      }
      return [col.name, fn, checkAtomAt(table.name, col.name, unconstrained(col.type.key), value)];
    }
    case 'includes':
    case 'excludes':
      // ovsdb/condition.c (ovsdb_clause_from_json) parses the argument of a non-scalar column with its
      // type relaxed: min 0 for includes and excludes, and also max unlimited for excludes only (checked
      // against ovsdb-server 3.1: includes with more than max elements is a "syntax error"). Scalar
      // columns keep exactly one value.
      if (col.kind === 'scalar') {
        return [col.name, fn, encodeValue(table.name, col.name, col, value, STRICT)];
      }
      return [
        col.name,
        fn,
        encodeValue(table.name, col.name, col, value, fn === 'excludes' ? RELAX_COUNT : RELAX_MIN),
      ];
    default: {
      const c = tableCodec(table).all.get(col.name);
      return [
        col.name,
        fn,
        c ? encodeStrict(table.name, c, value) : encodeValue(table.name, col.name, col, value, STRICT),
      ];
    }
  }
}

// Arithmetic arguments are checked against the bare atomic type: ovsdb-mutation.c clears the column's
// constraints for them and checks the mutated result instead ("range error" / "constraint violation").
function unconstrained(b: BaseType): BaseType {
  return {
    ...b,
    enum: undefined,
    minInteger: undefined,
    maxInteger: undefined,
    minReal: undefined,
    maxReal: undefined,
  };
}

/** Encodes `mutations`: an array of [column, mutator, value] (RFC 7047 §5.1 <mutation>). */
export function encodeMutations(table: TableSchema, mutations: readonly unknown[]): unknown[] {
  if (!Array.isArray(mutations)) {
    throw new ValidationError(table.name, 'mutations', mutations, 'an array of [column, mutator, value]');
  }
  const out: unknown[] = [];
  for (let i = 0; i < mutations.length; i++) out.push(encodeMutation(table, mutations[i]));
  return out;
}

function encodeMutation(table: TableSchema, m: unknown): unknown {
  if (!Array.isArray(m) || m.length !== 3) {
    throw new ValidationError(table.name, 'mutations', m, 'a mutation [column, mutator, value]');
  }
  const name: unknown = m[0];
  const mutator: unknown = m[1];
  const value: unknown = m[2];
  const col = column(table, name, m);
  if (!col.mutable || col.name === '_uuid' || col.name === '_version') {
    throw new ValidationError(table.name, col.name, m, 'no mutation: the column is immutable');
  }
  if (!MUTATORS.includes(mutator as Mutator)) {
    throw new ValidationError(table.name, col.name, mutator, `a mutator: ${MUTATORS.join(' ')}`);
  }
  if (mutator === 'insert' || mutator === 'delete') {
    if (col.kind === 'scalar') {
      throw new ValidationError(
        table.name,
        col.name,
        m,
        `"${mutator}" on sets, optional values and maps only`,
      );
    }
    // ovsdb/mutation.c (ovsdb_mutation_from_json): the argument of insert and delete has min 0; delete's
    // also has no max, and for a map it may instead be a set of keys (anything but a map here: an array,
    // a Set or one bare key).
    const keysOnly =
      col.kind === 'map' && mutator === 'delete' && !(value instanceof Map) && !isPlainObject(value);
    const opts = mutator === 'insert' ? RELAX_MIN : keysOnly ? RELAX_KEYS : RELAX_BOTH;
    return [col.name, mutator, encodeValue(table.name, col.name, col, value, opts)];
  }
  const t = col.type.key.type;
  if (
    (t !== 'integer' && t !== 'real') ||
    col.type.value !== undefined ||
    (mutator === '%=' && t !== 'integer')
  ) {
    throw new ValidationError(
      table.name,
      col.name,
      m,
      mutator === '%='
        ? '"%=" on integer columns (or sets of integers) only'
        : `"${mutator}" on integer or real columns (or sets of them) only`,
    );
  }
  return [col.name, mutator, checkAtomAt(table.name, col.name, unconstrained(col.type.key), value)];
}

export interface InsertOptions<Name extends string = string> {
  /** The uuid-name other operations of the transaction refer to the new row by. */
  readonly uuidName?: string;
  /** An explicit uuid for the new row (Open vSwitch 2.13+; sent as a bare string). */
  readonly uuid?: Uuid<Name> | string;
}

/** `insert` (RFC 7047 §5.2.1): result is the new row's uuid. */
export function insert<N extends string, C extends Columns>(
  table: TableModel<N, C>,
  row: Insert<C>,
  opts: InsertOptions<N> = {},
): Operation<Uuid<N>> {
  return insertOperation(table, row, opts.uuidName, opts.uuid, false);
}

/**
 * `insert` for Transaction.insert (not exported by the package): `generatedName` says the uuid-name was
 * made by the transaction (`row<n>_…`, an <id> by construction), so it is not matched against ID again.
 */
export function insertOperation<N extends string, C extends Columns>(
  table: TableModel<N, C>,
  row: Insert<C>,
  uuidName: string | undefined,
  uuid: Uuid<N> | string | undefined,
  generatedName: boolean,
): Operation<Uuid<N>> {
  checkTable('insert', table);
  const schema = table.schema;
  const required = requiredColumns(schema);
  for (let i = 0; i < required.length; i++) {
    const c = required[i] as ColumnSchema;
    if ((row as Record<string, unknown>)[c.name] === undefined) {
      throw new ValidationError(table.name, c.name, undefined, requiredReason(c));
    }
  }
  const wire: Record<string, unknown> = {
    op: 'insert',
    table: table.name,
    row: encodeRow(schema, row as Record<string, unknown>),
  };
  if (uuidName !== undefined) {
    if (!generatedName && !ID.test(uuidName)) {
      throw new ValidationError(table.name, 'uuid-name', uuidName, 'an <id>: letters, digits and "_"');
    }
    wire['uuid-name'] = uuidName;
  }
  if (uuid !== undefined) {
    if (!isUuid(uuid)) throw new ValidationError(table.name, 'uuid', uuid, 'a uuid');
    wire.uuid = uuid;
  }
  return make('insert', wire, table);
}

function requiredReason(c: ColumnSchema): string {
  const what = describeType(c.type);
  if (c.kind === 'set' || c.kind === 'map') {
    return `a value: the column is required (${what}; it has no default of ${c.type.min} or more elements)`;
  }
  if (c.type.key.refTable !== undefined) {
    return `a value: the column is required (${what}; its default, the all-zero uuid, names no row)`;
  }
  return `a value: the column is required because its default ${JSON.stringify(defaultValue(c))} is not ${what}`;
}

type SelectColumn<C extends Columns> = (keyof C & string) | '_uuid' | '_version';

/** `select` (RFC 7047 §5.2.2): result is the decoded rows. `where: []` selects all rows. */
export function select<N extends string, C extends Columns>(
  table: TableModel<N, C>,
  where?: readonly Condition<C, N>[],
): Operation<Row<C, N>[]>;
export function select<N extends string, C extends Columns, K extends SelectColumn<C>>(
  table: TableModel<N, C>,
  where: readonly Condition<C, N>[],
  columns: readonly K[],
): Operation<Pick<Row<C, N>, K>[]>;
export function select<N extends string, C extends Columns>(
  table: TableModel<N, C>,
  where: readonly Condition<C, N>[] = [],
  columns?: readonly string[],
): Operation<unknown> {
  checkTable('select', table);
  const wire: Record<string, unknown> = {
    op: 'select',
    table: table.name,
    where: encodeWhere(table.schema, where),
  };
  if (columns !== undefined) {
    for (const c of columns) column(table.schema, c, columns);
    wire.columns = [...columns];
  }
  return make('select', wire, table, columns);
}

/** `update` (RFC 7047 §5.2.3): result is the number of rows matched. Immutable columns are refused. */
export function update<N extends string, C extends Columns>(
  table: TableModel<N, C>,
  where: readonly Condition<C, N>[],
  row: Update<C>,
): Operation<number> {
  checkTable('update', table);
  return make(
    'update',
    {
      op: 'update',
      table: table.name,
      where: encodeWhere(table.schema, where),
      row: encodeRow(table.schema, row as Record<string, unknown>, { forUpdate: true }),
    },
    table,
  );
}

/** `mutate` (RFC 7047 §5.2.4): result is the number of rows matched. */
export function mutate<N extends string, C extends Columns>(
  table: TableModel<N, C>,
  where: readonly Condition<C, N>[],
  mutations: readonly Mutation<C>[],
): Operation<number> {
  checkTable('mutate', table);
  return make(
    'mutate',
    {
      op: 'mutate',
      table: table.name,
      where: encodeWhere(table.schema, where),
      mutations: encodeMutations(table.schema, mutations),
    },
    table,
  );
}

/** `delete` (RFC 7047 §5.2.5): result is the number of rows deleted. */
export function del<N extends string, C extends Columns>(
  table: TableModel<N, C>,
  where: readonly Condition<C, N>[],
): Operation<number> {
  checkTable('delete', table);
  return make('delete', { op: 'delete', table: table.name, where: encodeWhere(table.schema, where) }, table);
}

export interface WaitSpec<C extends Columns, N extends string, K extends keyof C & string> {
  readonly where?: readonly Condition<C, N>[];
  /** The columns compared. */
  readonly columns: readonly K[];
  /** `==`: wait until the selected rows equal `rows`; `!=`: until they differ. */
  readonly until: '==' | '!=';
  readonly rows: readonly { readonly [P in K]?: WriteValue<C[P]> }[];
  /** Milliseconds to wait; 0 fails at once when the condition does not hold. Unset: wait indefinitely. */
  readonly timeout?: number;
}

/** `wait` (RFC 7047 §5.2.6): fails with "timed out" (TimedOut) when the condition does not hold in time. */
export function wait<N extends string, C extends Columns, K extends keyof C & string>(
  table: TableModel<N, C>,
  spec: WaitSpec<C, N, K>,
): Operation<void> {
  checkTable('wait', table);
  const s = table.schema;
  if (spec.until !== '==' && spec.until !== '!=')
    throw new ValidationError(s.name, 'until', spec.until, '"==" or "!="');
  if (!Array.isArray(spec.columns))
    throw new ValidationError(s.name, 'columns', spec.columns, 'an array of columns');
  const cols = spec.columns.map((c) => column(s, c, spec.columns));
  if (!Array.isArray(spec.rows)) throw new ValidationError(s.name, 'rows', spec.rows, 'an array of rows');
  const rows = spec.rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r as Record<string, unknown>)) {
      const c = cols.find((x) => x.name === k);
      if (!c)
        throw new ValidationError(s.name, k, v, `one of the waited-on columns: ${spec.columns.join(', ')}`);
      out[k] = encodeDatum({ table: s.name, column: k }, c, v);
    }
    return out;
  });
  const wire: Record<string, unknown> = {
    op: 'wait',
    table: table.name,
    where: encodeWhere(s, spec.where ?? []),
    columns: cols.map((c) => c.name),
    until: spec.until,
    rows,
  };
  if (spec.timeout !== undefined) {
    if (!Number.isSafeInteger(spec.timeout) || spec.timeout < 0) {
      throw new ValidationError(s.name, 'timeout', spec.timeout, 'a non-negative integer (milliseconds)');
    }
    wire.timeout = spec.timeout;
  }
  return make('wait', wire, table);
}

/** `commit` (RFC 7047 §5.2.7): with `durable`, the reply waits until the change is on disk. */
export function commit(durable = false): Operation<void> {
  if (typeof durable !== 'boolean')
    throw new InvalidArgumentError(`commit: durable must be a boolean, got ${durable}`);
  return make('commit', { op: 'commit', durable });
}

/** `abort` (RFC 7047 §5.2.8): the transaction fails with "aborted" (Aborted) and changes nothing. */
export function abort(): Operation<void> {
  return make('abort', { op: 'abort' });
}

/** `comment` (RFC 7047 §5.2.9): text for the database log. */
export function comment(text: string): Operation<void> {
  if (typeof text !== 'string' || !isStorableString(text)) {
    throw new InvalidArgumentError(
      `comment: expected a string without U+0000 or unpaired surrogates (ovsdb-server refuses both), got ${showValue(text)}`,
    );
  }
  return make('comment', { op: 'comment', comment: text });
}

/** `assert` (RFC 7047 §5.2.10): fails with "not owner" (NotOwner) unless this session holds `lock`. */
export function assert(lock: string): Operation<void> {
  if (typeof lock !== 'string' || !ID.test(lock)) {
    throw new InvalidArgumentError(
      `assert: lock must be an <id> (letters, digits, "_"), got ${JSON.stringify(lock)}`,
    );
  }
  return make('assert', { op: 'assert', lock });
}

/** All builders under their RFC names (`ops.delete`). */
export const ops = Object.freeze({
  insert,
  select,
  update,
  mutate,
  delete: del,
  wait,
  commit,
  abort,
  comment,
  assert,
});

/** Decodes one operation's raw result (that is not an error) to its typed value. */
export function decodeResult<R>(op: Operation<R>, raw: unknown): R {
  const obj = (typeof raw === 'object' && raw !== null ? raw : undefined) as
    | Record<string, unknown>
    | undefined;
  switch (op.op) {
    case 'insert': {
      const u = obj?.uuid;
      if (!Array.isArray(u) || u[0] !== 'uuid' || typeof u[1] !== 'string')
        return badResult(op, raw, '{"uuid": ["uuid", …]}');
      return u[1] as R;
    }
    case 'select': {
      const rows = obj?.rows;
      if (!Array.isArray(rows)) return badResult(op, raw, '{"rows": [...]}');
      const table = op.table as TableSchema;
      const fillDefaults = op.columns === undefined;
      return rows.map((r) => decodeRow(table, r, { fillDefaults })) as R;
    }
    case 'update':
    case 'mutate':
    case 'delete': {
      const n = obj?.count;
      if (typeof n !== 'number') return badResult(op, raw, '{"count": n}');
      return n as R;
    }
    default:
      return undefined as R;
  }
}

function badResult(op: Operation, raw: unknown, what: string): never {
  throw new ProtocolError(`${op.op} result: expected ${what}, got ${JSON.stringify(raw)}`);
}
