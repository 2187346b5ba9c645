// Typed models and the typed database handle.
//
// A generated model (see codegen/) describes each table's columns with the descriptor types below; the
// row, insert, update, condition and mutation types are derived from them, so a wrong column or a wrong
// value type fails to compile. The model also carries the parsed schema, so encoding, decoding and
// validation work at run time without asking a server.

import { InvalidArgumentError } from './errors.js';
import { type ColumnKind, type DatabaseSchema, getTable, parseSchema, type TableSchema } from './schema.js';
import {
  executeMapped,
  type Handle,
  NO_OPTIONS,
  Transaction,
  type TransactionResult,
  type TransactOptions,
  type Transactor,
} from './transaction.js';
import type { RowRef, Uuid } from './uuid.js';
import { decodeRow } from './values.js';

// ---- column descriptors (type level only) -------------------------------------------------------------

/** Marks a uuid atom; `T` is the referenced table (`string` for a uuid without refTable). */
export interface RefTo<T extends string = string> {
  readonly refTo: T;
}

/** Describes one column: its kind, key and value atom types, and whether update/mutate may change it. */
export interface ColumnSpec {
  readonly kind: ColumnKind | 'any';
  readonly key: unknown;
  readonly value: unknown;
  readonly mutable: boolean;
}
/** A single value (min 1, max 1). */
export interface Scalar<A, M extends boolean = true> extends ColumnSpec {
  readonly kind: 'scalar';
  readonly key: A;
  readonly value: never;
  readonly mutable: M;
}
/** An optional value (min 0, max 1): `A | null`. */
export interface Optional<A, M extends boolean = true> extends ColumnSpec {
  readonly kind: 'optional';
  readonly key: A;
  readonly value: never;
  readonly mutable: M;
}
/** A set: an array of distinct `A`. */
export interface SetOf<A, M extends boolean = true> extends ColumnSpec {
  readonly kind: 'set';
  readonly key: A;
  readonly value: never;
  readonly mutable: M;
}
/** A map from `K` to `V`. */
export interface MapOf<K, V, M extends boolean = true> extends ColumnSpec {
  readonly kind: 'map';
  readonly key: K;
  readonly value: V;
  readonly mutable: M;
}
/** A column of a table known only at run time (models made from a schema without code generation). */
export interface AnyColumn extends ColumnSpec {
  readonly kind: 'any';
  readonly key: unknown;
  readonly value: unknown;
  readonly mutable: true;
}

export type Columns = { readonly [column: string]: ColumnSpec };
export type AnyColumns = { readonly [column: string]: AnyColumn };

/** An atom as read: references become `Uuid<Table>`. */
export type ReadAtom<A> = A extends RefTo<infer T> ? Uuid<T> : A;
/** An atom as written: references accept an existing row's uuid or a row inserted in the same transaction. */
export type WriteAtom<A> =
  A extends RefTo<infer T>
    ? Uuid<T> | RowRef<T>
    : number extends A
      ? number | bigint // integers may also be given as bigint (any 64-bit value)
      : A;

type ReadMap<K, V> = [K] extends [RefTo]
  ? Record<string, ReadAtom<V>>
  : [K] extends [string]
    ? string extends K
      ? Record<string, ReadAtom<V>>
      : { [P in K]?: ReadAtom<V> }
    : Map<ReadAtom<K>, ReadAtom<V>>;

// Plain objects are accepted for every key type whose keys a property name spells unambiguously: strings
// and uuids as they are, integers and reals as JavaScript prints them ({ 7: 'a' }), booleans as
// "true"/"false" (values.ts objectEntries checks the spelling at run time).
type WriteMap<K, V> = [K] extends [RefTo]
  ? Readonly<Record<string, WriteAtom<V>>> | ReadonlyMap<WriteAtom<K>, WriteAtom<V>>
  : [K] extends [string]
    ? string extends K
      ? Readonly<Record<string, WriteAtom<V>>> | ReadonlyMap<K, WriteAtom<V>>
      : { readonly [P in K]?: WriteAtom<V> } | ReadonlyMap<K, WriteAtom<V>>
    : [K] extends [number | bigint] // integer keys whose range exceeds 2^53 read as number | bigint
      ? number extends K
        ? Readonly<Record<number, WriteAtom<V>>> | ReadonlyMap<WriteAtom<K>, WriteAtom<V>>
        : { readonly [P in K & number]?: WriteAtom<V> } | ReadonlyMap<K, WriteAtom<V>>
      : [K] extends [boolean]
        ? { readonly true?: WriteAtom<V>; readonly false?: WriteAtom<V> } | ReadonlyMap<K, WriteAtom<V>>
        : ReadonlyMap<WriteAtom<K>, WriteAtom<V>>;

/** The JS value of a column as decoded (select results, replica rows). */
export type ReadValue<C extends ColumnSpec> = C extends AnyColumn
  ? unknown
  : C['kind'] extends 'scalar'
    ? ReadAtom<C['key']>
    : C['kind'] extends 'optional'
      ? ReadAtom<C['key']> | null
      : C['kind'] extends 'set'
        ? ReadAtom<C['key']>[]
        : ReadMap<C['key'], C['value']>;

/** The JS value a column accepts (insert, update, conditions). */
export type WriteValue<C extends ColumnSpec> = C extends AnyColumn
  ? unknown
  : C['kind'] extends 'scalar'
    ? WriteAtom<C['key']>
    : C['kind'] extends 'optional'
      ? WriteAtom<C['key']> | null
      : C['kind'] extends 'set'
        ? readonly WriteAtom<C['key']>[] | WriteAtom<C['key']> // RFC 7047 §5.1: one element as the atom
        : WriteMap<C['key'], C['value']>;

/** A decoded row: every column, plus `_uuid` and `_version`. */
export type Row<C extends Columns, Name extends string = string> = {
  readonly _uuid: Uuid<Name>;
  readonly _version: Uuid;
} & { [K in keyof C]: ReadValue<C[K]> };

/**
 * Marks a column an insert must set: its default (0, "", false, the all-zero uuid, or a set of one such
 * atom) does not satisfy the column's own constraints — an enum without it, an integer range or string
 * length that excludes it, a set or map with min ≥ 1, or a reference that the zero uuid cannot satisfy.
 * Generated models add it (`Scalar<…> & NoDefault`); values.ts requiredColumns is the same rule at run time.
 */
export interface NoDefault {
  readonly noDefault: true;
}

/** Names of the columns an insert must set (those marked NoDefault). */
export type RequiredColumn<C extends Columns> = {
  [K in keyof C]: C[K] extends NoDefault ? K : never;
}[keyof C];

/**
 * What `insert` accepts: every required column (see NoDefault) and any subset of the others; omitted
 * columns get their defaults.
 */
export type Insert<C extends Columns> = {
  readonly [K in Exclude<keyof C, RequiredColumn<C>>]?: WriteValue<C[K]>;
} & { readonly [K in RequiredColumn<C>]: WriteValue<C[K]> };

/** Names of the columns update and mutate may change. */
export type MutableColumn<C extends Columns> = {
  [K in keyof C]: C[K]['mutable'] extends false ? never : K;
}[keyof C] &
  string;

/** What `update` accepts: any subset of the mutable columns. */
export type Update<C extends Columns> = { readonly [K in MutableColumn<C>]?: WriteValue<C[K]> };

/** RFC 7047 §5.1 <function>. */
export type ConditionFunction = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';
export type Comparison = '<' | '<=' | '>=' | '>';

type ConditionFor<K, C extends ColumnSpec> = C extends AnyColumn
  ? readonly [K, ConditionFunction, unknown]
  : C['kind'] extends 'scalar'
    ? C['key'] extends number | bigint
      ? readonly [K, ConditionFunction, WriteValue<C>]
      : readonly [K, Exclude<ConditionFunction, Comparison>, WriteValue<C>]
    : C['kind'] extends 'optional'
      ?
          | (C['key'] extends number | bigint
              ? readonly [K, ConditionFunction, WriteValue<C>]
              : readonly [K, Exclude<ConditionFunction, Comparison>, WriteValue<C>])
          // the server reads includes/excludes arguments of an optional column as a set
          | readonly [K, 'includes' | 'excludes', readonly WriteAtom<C['key']>[]]
      : readonly [K, '==' | '!=' | 'includes' | 'excludes', WriteValue<C>];

/**
 * A condition `[column, function, value]` (RFC 7047 §5.1), typed per column: `<`/`<=`/`>=`/`>` only on
 * integer and real columns, values in the column's JS shape. `includes`/`excludes` take a subset.
 */
export type Condition<C extends Columns, Name extends string = string> =
  | { [K in keyof C & string]: ConditionFor<K, C[K]> }[keyof C & string]
  | readonly ['_uuid', '==' | '!=', Uuid<Name> | RowRef<Name>]
  | readonly ['_version', '==' | '!=', Uuid];

/** RFC 7047 §5.1 <mutator>. */
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
export type ArithmeticMutator = '+=' | '-=' | '*=' | '/=' | '%=';

type MutationFor<K, C extends ColumnSpec> = C extends AnyColumn
  ? readonly [K, Mutator, unknown]
  : C['kind'] extends 'map'
    ?
        | readonly [K, 'insert', WriteValue<C>]
        | readonly [K, 'delete', WriteValue<C> | readonly WriteAtom<C['key']>[] | WriteAtom<C['key']>]
    : C['kind'] extends 'set'
      ?
          | readonly [K, 'insert' | 'delete', WriteValue<C>]
          | (C['key'] extends number | bigint ? readonly [K, ArithmeticMutator, number | bigint] : never)
      : C['kind'] extends 'optional'
        ?
            | readonly [K, 'insert' | 'delete', WriteAtom<C['key']>]
            | (C['key'] extends number | bigint ? readonly [K, ArithmeticMutator, number | bigint] : never)
        : C['key'] extends number | bigint
          ? readonly [K, ArithmeticMutator, number | bigint]
          : never;

/**
 * A mutation `[column, mutator, value]` (RFC 7047 §5.1) on a mutable column: arithmetic on integer/real
 * columns (applied to every element of a set), `insert`/`delete` of elements on sets and maps; a map's
 * `delete` takes either a map (pairs must match) or an array of keys.
 */
export type Mutation<C extends Columns> = { [K in MutableColumn<C>]: MutationFor<K, C[K]> }[MutableColumn<C>];

// ---- models -------------------------------------------------------------------------------------------

declare const columnsPhantom: unique symbol;

/** A table of a database model: its name and schema, with its column types attached at the type level. */
export interface TableModel<
  Name extends string = string,
  C extends Columns = Columns,
  DB extends string = string,
> {
  readonly name: Name;
  /** The database the table belongs to (a literal type in generated models: see Transaction). */
  readonly database: DB;
  readonly schema: TableSchema;
  /** Type-level only; never set at run time. */
  readonly [columnsPhantom]?: C;
}

export type ColumnsOf<T> = T extends TableModel<string, infer C> ? C : never;
export type NameOf<T> = T extends TableModel<infer N, Columns> ? N : never;
/** The decoded row type of a table model, e.g. `RowOf<typeof OVS.Port>`. */
export type RowOf<T> = T extends TableModel<infer N, infer C> ? Row<C, N> : never;

export interface DatabaseModel<
  Name extends string = string,
  Tables extends { readonly [table: string]: TableModel } = { readonly [table: string]: TableModel },
> {
  readonly name: Name;
  readonly schema: DatabaseSchema;
  readonly tables: Tables;
}

/**
 * The database type of a table whose database is known only at run time (untyped models): it fits a
 * transaction of any database, and the run-time check (Transaction) still applies.
 */
// biome-ignore lint/suspicious/noExplicitAny: `any` is what lets an untyped table into any Transaction<DB>
export type AnyDatabase = any;

/**
 * The model of one table of a parsed schema; `C` describes its columns and `DB` names its database
 * (generated code passes both), so that a table of another database does not compile into a transaction.
 */
export function defineTable<
  Name extends string,
  C extends Columns = AnyColumns,
  DB extends string = AnyDatabase,
>(schema: DatabaseSchema, name: Name): TableModel<Name, C, DB> {
  return Object.freeze({ name, database: schema.name as DB, schema: getTable(schema, name) });
}

/** A database model from generated table models; `name` must be the schema's name. */
export function defineDatabase<Name extends string, Tables extends { readonly [table: string]: TableModel }>(
  name: Name,
  schema: DatabaseSchema,
  tables: Tables,
): DatabaseModel<Name, Tables> {
  if (schema.name !== name) {
    throw new InvalidArgumentError(`defineDatabase: the schema is ${schema.name}, not ${name}`);
  }
  return Object.freeze({ name, schema, tables: Object.freeze({ ...tables }) });
}

/**
 * An untyped model straight from a schema (a `.ovsschema` text or JSON, a `get_schema` result, or a parsed
 * DatabaseSchema): tables are looked up by name at run time and values are `unknown`; the same
 * validation and decoding apply.
 */
export function modelFromSchema(
  schema: DatabaseSchema | unknown,
): DatabaseModel<string, { readonly [table: string]: TableModel<string, AnyColumns, AnyDatabase> }> {
  const s = isParsedSchema(schema) ? schema : parseSchema(schema);
  const tables: Record<string, TableModel<string, AnyColumns, AnyDatabase>> = {};
  for (const name of s.tables.keys()) tables[name] = defineTable(s, name);
  return Object.freeze({ name: s.name, schema: s, tables: Object.freeze(tables) });
}

function isParsedSchema(v: unknown): v is DatabaseSchema {
  return typeof v === 'object' && v !== null && (v as { tables?: unknown }).tables instanceof Map;
}

/**
 * Decodes a wire row of a model's table to its typed row, every column filled (defaults for omitted
 * ones). Pass `uuid` when the row's uuid travels outside it (update/update2 notifications key rows by uuid).
 */
export function decodeTableRow<N extends string, C extends Columns>(
  table: TableModel<N, C>,
  wire: unknown,
  uuid?: string,
): Row<C, N> {
  const row = decodeRow(table.schema, wire);
  if (uuid !== undefined) row._uuid = uuid;
  return row as Row<C, N>;
}

// ---- the typed handle ---------------------------------------------------------------------------------

/** The results a `transact` callback's return value maps to: handles become their decoded results. */
export type ResultOf<H> =
  H extends Handle<infer R>
    ? R
    : H extends readonly unknown[]
      ? { -readonly [K in keyof H]: ResultOf<H[K]> }
      : H extends object
        ? { -readonly [K in keyof H]: ResultOf<H[K]> }
        : H;

/**
 * A database bound to a transport (anything with `transact(db, ops, opts)`, e.g. `OvsdbClient`) and a model.
 *
 *     const db = database(client, OVS.model);
 *     const [portUuid] = await db.transact((t) => {
 *       const iface = t.insert(OVS.Interface, { name: 'p1' });
 *       const port = t.insert(OVS.Port, { name: 'p1', interfaces: [iface], tag: 100 });
 *       t.mutate(OVS.Bridge, [['name', '==', 'br0']], [['ports', 'insert', [port]]]);
 *       return [port] as const;
 *     });
 */
export class Database<M extends DatabaseModel = DatabaseModel> {
  readonly transactor: Transactor;
  readonly model: M;
  constructor(transactor: Transactor, model: M) {
    if (typeof transactor?.transact !== 'function') {
      throw new InvalidArgumentError(
        'database: the first argument must have a transact(db, operations) method',
      );
    }
    if (typeof model?.name !== 'string' || !(model.schema?.tables instanceof Map)) {
      throw new InvalidArgumentError(
        'database: the second argument must be a database model (e.g. OVS.model)',
      );
    }
    this.transactor = transactor;
    this.model = model;
  }

  /** A new, empty transaction on this database; run it with `transaction.execute(db.transactor)`. */
  transaction(): Transaction<M['name']> {
    return new Transaction(this.model.name);
  }

  /**
   * Builds a transaction with `build`, sends it, and maps what `build` returned (a handle, or an array or
   * object of handles) to decoded results. Rejects with a TransactionError subclass when an operation or
   * the commit fails, and with the transport's errors otherwise.
   */
  transact<const H>(
    build: (t: Transaction<M['name']>) => H,
    opts: TransactOptions = NO_OPTIONS,
  ): Promise<ResultOf<H>> {
    // Not async: `build` and the write happen synchronously in this call, and the results are mapped in
    // the reply's promise reaction (each async/await layer added a promise hop before the caller resumed).
    let t: Transaction<M['name']>;
    let shape: H;
    try {
      t = this.transaction();
      shape = build(t);
    } catch (err) {
      return Promise.reject(err);
    }
    return executeMapped(t, this.transactor, opts, shape);
  }

  /** Like `transact`, but resolves to the whole TransactionResult. */
  run(
    build: (t: Transaction<M['name']>) => void,
    opts: TransactOptions = NO_OPTIONS,
  ): Promise<TransactionResult> {
    let t: Transaction<M['name']>;
    try {
      t = this.transaction();
      build(t);
    } catch (err) {
      return Promise.reject(err);
    }
    return t.execute(this.transactor, opts);
  }

  /**
   * Selects rows of one table (one `select` in its own transaction); with `columns`, only those columns
   * (as `t.select`).
   */
  select<N extends string, C extends Columns>(
    table: TableModel<N, C, M['name']>,
    where?: readonly Condition<C, N>[],
    opts?: TransactOptions,
  ): Promise<Row<C, N>[]>;
  select<N extends string, C extends Columns, K extends (keyof C & string) | '_uuid' | '_version'>(
    table: TableModel<N, C, M['name']>,
    where: readonly Condition<C, N>[],
    columns: readonly K[],
    opts?: TransactOptions,
  ): Promise<Pick<Row<C, N>, K>[]>;
  select<N extends string, C extends Columns>(
    table: TableModel<N, C, M['name']>,
    where: readonly Condition<C, N>[] = [],
    columnsOrOpts?: readonly ((keyof C & string) | '_uuid' | '_version')[] | TransactOptions,
    opts: TransactOptions = NO_OPTIONS,
  ): Promise<unknown> {
    if (Array.isArray(columnsOrOpts)) {
      const columns = columnsOrOpts as readonly ((keyof C & string) | '_uuid' | '_version')[];
      return this.transact((t) => t.select(table, where, columns), opts);
    }
    return this.transact((t) => t.select(table, where), (columnsOrOpts as TransactOptions) ?? opts);
  }
}

export function database<M extends DatabaseModel>(transactor: Transactor, model: M): Database<M> {
  return new Database(transactor, model);
}
