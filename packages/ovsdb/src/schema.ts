// The OVSDB schema model: `.ovsschema` files and `get_schema` results (RFC 7047 §3.2) parsed into a typed,
// checked, immutable model that the value codec, validation and code generation work from.

import { SchemaError } from './errors.js';

/** RFC 7047 §3.2 <atomic-type>. */
export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';
export const ATOMIC_TYPES: readonly AtomicType[] = ['integer', 'real', 'boolean', 'string', 'uuid'];

/**
 * A JS atom as the codec hands it out: integers and reals are numbers (an integer beyond ±(2^53 − 1) a
 * bigint), uuids strings.
 */
export type Atom = number | bigint | boolean | string;

/** RFC 7047 §3.2 <base-type>, with the constraints that apply to its atomic type. */
export interface BaseType {
  readonly type: AtomicType;
  /** Allowed values, when the schema gives an `enum`. */
  readonly enum: readonly Atom[] | undefined;
  readonly minInteger: number | undefined;
  readonly maxInteger: number | undefined;
  readonly minReal: number | undefined;
  readonly maxReal: number | undefined;
  /** String length bounds, in Unicode code points. */
  readonly minLength: number | undefined;
  readonly maxLength: number | undefined;
  /** For uuids: the table the value points into. */
  readonly refTable: string | undefined;
  /** `strong` (the default when refTable is set) or `weak`: weak references to deleted rows vanish. */
  readonly refType: 'strong' | 'weak' | undefined;
}

/**
 * How a column's values look in JS:
 * - `scalar`   min 1, max 1, no value type: a bare atom
 * - `optional` min 0, max 1, no value type: atom or `null`
 * - `set`      any other min/max without a value type: an array
 * - `map`      with a value type: a record (string and uuid keys) or a Map (other keys)
 */
export type ColumnKind = 'scalar' | 'optional' | 'set' | 'map';

/** RFC 7047 §3.2 <type>. `max` is `Infinity` for "unlimited". */
export interface ColumnType {
  readonly key: BaseType;
  readonly value: BaseType | undefined;
  readonly min: number;
  readonly max: number;
}

export interface ColumnSchema {
  readonly name: string;
  readonly type: ColumnType;
  readonly kind: ColumnKind;
  /** Ephemeral columns are not persisted (RFC 7047 §3.2 <column-schema>). */
  readonly ephemeral: boolean;
  /** Immutable columns can be set by insert only, never by update or mutate (Open vSwitch extension). */
  readonly mutable: boolean;
}

export interface TableSchema {
  readonly name: string;
  /** Every column including the implicit `_uuid` and `_version`, in schema order after those two. */
  readonly columns: ReadonlyMap<string, ColumnSchema>;
  /** The columns the schema declares (without `_uuid`/`_version`), in schema order. */
  readonly userColumns: readonly ColumnSchema[];
  readonly maxRows: number | undefined;
  /** Non-root tables are garbage-collected when no strong reference points at a row. */
  readonly isRoot: boolean;
  /** Sets of column names whose values must be unique across rows. */
  readonly indexes: readonly (readonly string[])[];
}

export interface DatabaseSchema {
  readonly name: string;
  readonly version: string;
  readonly cksum: string | undefined;
  readonly tables: ReadonlyMap<string, TableSchema>;
  /** The JSON the schema was parsed from (for code generation and display). */
  readonly json: unknown;
}

const ID = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VERSION = /^\d+\.\d+\.\d+$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(where: string, message: string): never {
  throw new SchemaError(`${where}: ${message}`);
}

function checkMembers(where: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) fail(where, `unknown member "${k}" (allowed: ${allowed.join(', ')})`);
  }
}

/** Parses `.ovsschema` JSON (text or a parsed value) or a `get_schema` result. Throws SchemaError. */
export function parseSchema(input: unknown): DatabaseSchema {
  let json = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (err) {
      throw new SchemaError(`schema is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  if (!isObject(json)) fail('schema', 'expected a JSON object');
  checkMembers('schema', json, ['name', 'version', 'cksum', 'tables', 'doc']);
  const { name, version, cksum, tables } = json;
  if (typeof name !== 'string' || !ID.test(name))
    fail('schema', `"name" must be an identifier, got ${show(name)}`);
  // RFC 7047 makes "version" required; Open vSwitch accepts its absence in old schemas, so do we.
  if (version !== undefined && (typeof version !== 'string' || !VERSION.test(version))) {
    fail(name, `"version" must look like "x.y.z", got ${show(version)}`);
  }
  if (cksum !== undefined && typeof cksum !== 'string') fail(name, `"cksum" must be a string`);
  if (!isObject(tables)) fail(name, '"tables" must be an object');
  const parsed = new Map<string, TableSchema>();
  for (const [tname, t] of Object.entries(tables)) parsed.set(tname, parseTable(name, tname, t));
  const anyRoot = [...parsed.values()].some((t) => t.isRoot);
  for (const t of parsed.values()) rootSet.set(t, anyRoot ? t.isRoot : true);
  // References must point at tables that exist.
  for (const t of parsed.values()) {
    for (const c of t.userColumns) {
      for (const b of [c.type.key, c.type.value]) {
        if (b?.refTable !== undefined && !parsed.has(b.refTable)) {
          fail(`${name}.${t.name}.${c.name}`, `refTable "${b.refTable}" is not a table of this schema`);
        }
      }
    }
  }
  return {
    name,
    version: typeof version === 'string' ? version : '0.0.0',
    cksum: typeof cksum === 'string' ? cksum : undefined,
    tables: parsed,
    json,
  };
}

function parseTable(db: string, name: string, t: unknown): TableSchema {
  const where = `${db}.${name}`;
  if (!ID.test(name) || name.startsWith('_'))
    fail(where, 'table names are identifiers not starting with "_"');
  if (!isObject(t)) fail(where, 'table schema must be an object');
  checkMembers(where, t, ['columns', 'maxRows', 'isRoot', 'indexes', 'doc']);
  if (!isObject(t.columns)) fail(where, '"columns" must be an object');
  const columns = new Map<string, ColumnSchema>();
  const uuidType: ColumnType = { key: baseType('uuid'), value: undefined, min: 1, max: 1 };
  // RFC 7047 §3.2: every table has the implicit columns "_uuid" and "_version".
  columns.set('_uuid', { name: '_uuid', type: uuidType, kind: 'scalar', ephemeral: false, mutable: false });
  columns.set('_version', {
    name: '_version',
    type: uuidType,
    kind: 'scalar',
    ephemeral: false,
    mutable: false,
  });
  const userColumns: ColumnSchema[] = [];
  for (const [cname, c] of Object.entries(t.columns)) {
    if (!ID.test(cname) || cname.startsWith('_')) {
      fail(`${where}.${cname}`, 'column names are identifiers not starting with "_"');
    }
    const col = parseColumn(`${where}.${cname}`, cname, c);
    columns.set(cname, col);
    userColumns.push(col);
  }
  const { maxRows, isRoot, indexes } = t;
  if (maxRows !== undefined && !(Number.isInteger(maxRows) && (maxRows as number) >= 1)) {
    fail(where, `"maxRows" must be a positive integer, got ${show(maxRows)}`);
  }
  if (isRoot !== undefined && typeof isRoot !== 'boolean') fail(where, '"isRoot" must be a boolean');
  const idx: string[][] = [];
  if (indexes !== undefined) {
    if (!Array.isArray(indexes)) fail(where, '"indexes" must be an array of arrays of column names');
    for (const ix of indexes) {
      if (!Array.isArray(ix) || ix.length === 0) fail(where, `index ${show(ix)} must be a non-empty array`);
      for (const col of ix) {
        if (typeof col !== 'string' || !columns.has(col))
          fail(where, `index names unknown column ${show(col)}`);
      }
      idx.push([...(ix as string[])]);
    }
  }
  return {
    name,
    columns,
    userColumns,
    maxRows: maxRows as number | undefined,
    // RFC 7047: "If isRoot is omitted or false, ..." — but ovsdb-server treats a schema in which no table
    // has isRoot as all-root (ovsdb.7.rst, "root set"). We report the member as given; see rootTables().
    isRoot: isRoot === true,
    indexes: idx,
  };
}

function parseColumn(where: string, name: string, c: unknown): ColumnSchema {
  if (!isObject(c)) fail(where, 'column schema must be an object');
  checkMembers(where, c, ['type', 'ephemeral', 'mutable', 'doc']);
  if (c.ephemeral !== undefined && typeof c.ephemeral !== 'boolean')
    fail(where, '"ephemeral" must be a boolean');
  if (c.mutable !== undefined && typeof c.mutable !== 'boolean') fail(where, '"mutable" must be a boolean');
  const type = parseType(where, c.type);
  return {
    name,
    type,
    kind: columnKind(type),
    ephemeral: c.ephemeral === true,
    mutable: c.mutable !== false,
  };
}

export function columnKind(type: ColumnType): ColumnKind {
  if (type.value !== undefined) return 'map';
  if (type.max === 1) return type.min === 1 ? 'scalar' : 'optional';
  return 'set';
}

function parseType(where: string, t: unknown): ColumnType {
  if (typeof t === 'string') return { key: parseBase(where, t), value: undefined, min: 1, max: 1 };
  if (!isObject(t)) fail(where, `"type" must be an atomic type name or an object, got ${show(t)}`);
  checkMembers(where, t, ['key', 'value', 'min', 'max']);
  const key = parseBase(`${where} key`, t.key);
  const value = t.value === undefined ? undefined : parseBase(`${where} value`, t.value);
  const min = t.min === undefined ? 1 : t.min;
  const max = t.max === undefined ? 1 : t.max === 'unlimited' ? Number.POSITIVE_INFINITY : t.max;
  if (!(min === 0 || min === 1)) fail(where, `"min" must be 0 or 1, got ${show(min)}`);
  if (!(max === Number.POSITIVE_INFINITY || (Number.isInteger(max) && (max as number) >= 1))) {
    fail(where, `"max" must be a positive integer or "unlimited", got ${show(t.max)}`);
  }
  if ((max as number) < (min as number)) fail(where, `"max" ${show(max)} is less than "min" ${show(min)}`);
  return { key, value, min: min as number, max: max as number };
}

function baseType(type: AtomicType): BaseType {
  return {
    type,
    enum: undefined,
    minInteger: undefined,
    maxInteger: undefined,
    minReal: undefined,
    maxReal: undefined,
    minLength: undefined,
    maxLength: undefined,
    refTable: undefined,
    refType: undefined,
  };
}

function parseBase(where: string, b: unknown): BaseType {
  if (typeof b === 'string') {
    if (!ATOMIC_TYPES.includes(b as AtomicType)) {
      fail(where, `unknown atomic type ${show(b)} (allowed: ${ATOMIC_TYPES.join(', ')})`);
    }
    return baseType(b as AtomicType);
  }
  if (!isObject(b)) fail(where, `base type must be an atomic type name or an object, got ${show(b)}`);
  const type = b.type;
  if (typeof type !== 'string' || !ATOMIC_TYPES.includes(type as AtomicType)) {
    fail(where, `unknown atomic type ${show(type)} (allowed: ${ATOMIC_TYPES.join(', ')})`);
  }
  const allowedByType: Record<AtomicType, string[]> = {
    integer: ['minInteger', 'maxInteger'],
    real: ['minReal', 'maxReal'],
    boolean: [],
    string: ['minLength', 'maxLength'],
    uuid: ['refTable', 'refType'],
  };
  checkMembers(where, b, ['type', 'enum', ...allowedByType[type as AtomicType]]);
  const out: { -readonly [K in keyof BaseType]: BaseType[K] } = { ...baseType(type as AtomicType) };
  const num = (k: 'minInteger' | 'maxInteger' | 'minReal' | 'maxReal' | 'minLength' | 'maxLength') => {
    let v = b[k];
    if (v === undefined) return undefined;
    // A bound beyond ±(2^53 − 1) read from a server arrives as a bigint (framer.ts); held as a double.
    if (typeof v === 'bigint' && k.endsWith('Integer')) v = Number(v);
    const ok = k.endsWith('Real') ? typeof v === 'number' && Number.isFinite(v) : Number.isInteger(v);
    if (!ok) fail(where, `"${k}" must be ${k.endsWith('Real') ? 'a number' : 'an integer'}, got ${show(v)}`);
    return v as number;
  };
  out.minInteger = num('minInteger');
  out.maxInteger = num('maxInteger');
  out.minReal = num('minReal');
  out.maxReal = num('maxReal');
  out.minLength = num('minLength');
  out.maxLength = num('maxLength');
  for (const [lo, hi] of [
    [out.minInteger, out.maxInteger],
    [out.minReal, out.maxReal],
    [out.minLength, out.maxLength],
  ] as const) {
    if (lo !== undefined && hi !== undefined && lo > hi) fail(where, `minimum ${lo} exceeds maximum ${hi}`);
  }
  if (b.refTable !== undefined) {
    if (typeof b.refTable !== 'string' || !ID.test(b.refTable))
      fail(where, '"refTable" must be a table name');
    out.refTable = b.refTable;
    if (b.refType !== undefined && b.refType !== 'strong' && b.refType !== 'weak') {
      fail(where, `"refType" must be "strong" or "weak", got ${show(b.refType)}`);
    }
    out.refType = (b.refType as 'strong' | 'weak' | undefined) ?? 'strong';
  } else if (b.refType !== undefined) {
    fail(where, '"refType" needs "refTable"');
  }
  if (b.enum !== undefined) out.enum = parseEnum(where, out.type, b.enum);
  return out;
}

// The enum is a <set> in value notation (RFC 7047 §3.2): a bare atom or ["set", [atoms…]].
function parseEnum(where: string, type: AtomicType, e: unknown): Atom[] {
  const items = Array.isArray(e) && e[0] === 'set' && Array.isArray(e[1]) ? (e[1] as unknown[]) : [e];
  if (items.length === 0) fail(where, '"enum" must not be empty');
  return items.map((a) => {
    const ok =
      type === 'integer'
        ? Number.isInteger(a)
        : type === 'real'
          ? typeof a === 'number'
          : type === 'boolean'
            ? typeof a === 'boolean'
            : typeof a === 'string';
    if (!ok) fail(where, `"enum" member ${show(a)} is not of type ${type}`);
    return a as Atom;
  });
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function sortAtoms(atoms: readonly Atom[]): Atom[] {
  return [...atoms].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number'
      ? a - b
      : String(a) < String(b)
        ? -1
        : String(a) > String(b)
          ? 1
          : 0,
  );
}

function baseJson(b: BaseType): unknown {
  const out: Record<string, unknown> = { type: b.type };
  // ovsdb-server keeps sets sorted, so a schema read back with get_schema lists enums sorted.
  if (b.enum) out.enum = ['set', sortAtoms(b.enum)];
  for (const k of ['minInteger', 'maxInteger', 'minReal', 'maxReal', 'minLength', 'maxLength'] as const) {
    if (b[k] !== undefined) out[k] = b[k];
  }
  if (b.refTable !== undefined) {
    out.refTable = b.refTable;
    out.refType = b.refType ?? 'strong';
  }
  return Object.keys(out).length === 1 ? b.type : out;
}

/**
 * The schema as canonical JSON: tables and columns sorted by name, enums sorted, defaults omitted, short
 * forms where they exist. A schema file and the same schema read back from a server (which normalizes it)
 * give the same canonical JSON, so generated code does not depend on where the schema came from.
 */
export function canonicalSchemaJson(schema: DatabaseSchema): unknown {
  const tables: Record<string, unknown> = {};
  for (const t of [...schema.tables.values()].sort(byName)) {
    const columns: Record<string, unknown> = {};
    for (const c of [...t.userColumns].sort(byName)) {
      const { key, value, min, max } = c.type;
      // The short form "type": "<atomic-type>" exists only for a plain scalar (RFC 7047 §3.2 <type>).
      const k = baseJson(key);
      const type =
        value === undefined && min === 1 && max === 1 && typeof k === 'string'
          ? k
          : {
              key: k,
              ...(value === undefined ? {} : { value: baseJson(value) }),
              ...(min === 1 ? {} : { min }),
              ...(max === 1 ? {} : { max: max === Number.POSITIVE_INFINITY ? 'unlimited' : max }),
            };
      columns[c.name] = {
        type,
        ...(c.ephemeral ? { ephemeral: true } : {}),
        ...(c.mutable ? {} : { mutable: false }),
      };
    }
    tables[t.name] = {
      columns,
      ...(t.isRoot ? { isRoot: true } : {}),
      ...(t.maxRows === undefined ? {} : { maxRows: t.maxRows }),
      ...(t.indexes.length ? { indexes: t.indexes.map((ix) => [...ix]) } : {}),
    };
  }
  return {
    name: schema.name,
    version: schema.version,
    ...(schema.cksum === undefined ? {} : { cksum: schema.cksum }),
    tables,
  };
}

/** The table, or a SchemaError naming the tables that exist. */
export function getTable(schema: DatabaseSchema, table: string): TableSchema {
  const t = schema.tables.get(table);
  if (!t) throw new SchemaError(`${schema.name} has no table "${table}"`);
  return t;
}

const rootSet = new WeakMap<TableSchema, boolean>();

/**
 * Whether ovsdb-server keeps rows of this table without references (see rootTables). True for a table
 * that parseSchema did not make.
 */
export function isInRootSet(table: TableSchema): boolean {
  return rootSet.get(table) ?? true;
}

/**
 * Tables in the root set. ovsdb.7.rst: if no table in the schema has "isRoot": true, every table is a root
 * (that is how schemas without the member keep working); otherwise only the marked ones.
 */
export function rootTables(schema: DatabaseSchema): Set<string> {
  const all = [...schema.tables.values()];
  const marked = all.filter((t) => t.isRoot);
  return new Set((marked.length ? marked : all).map((t) => t.name));
}

/** A short description of what a column accepts, e.g. "set of 0..4 integer in [0, 4095]". */
export function describeType(type: ColumnType): string {
  const kind = columnKind(type);
  const key = describeBase(type.key);
  if (kind === 'scalar') return key;
  if (kind === 'optional') return `${key} or null`;
  const range = type.max === Number.POSITIVE_INFINITY ? `${type.min} or more` : `${type.min}..${type.max}`;
  if (kind === 'set') return `array of ${range} distinct ${key}`;
  return `map of ${range} entries ${key} → ${describeBase(type.value as BaseType)}`;
}

export function describeBase(b: BaseType): string {
  if (b.enum) return `one of ${b.enum.map((a) => JSON.stringify(a)).join(', ')}`;
  const range = (lo: number | undefined, hi: number | undefined) =>
    lo === undefined && hi === undefined ? '' : ` in [${lo ?? '-∞'}, ${hi ?? '∞'}]`;
  switch (b.type) {
    case 'integer':
      return `integer${range(b.minInteger, b.maxInteger)}`;
    case 'real':
      return `real${range(b.minReal, b.maxReal)}`;
    case 'string':
      return b.minLength === undefined && b.maxLength === undefined
        ? 'string'
        : `string of length ${b.minLength ?? 0}..${b.maxLength ?? '∞'}`;
    case 'uuid':
      return b.refTable ? `uuid of a row of ${b.refTable} (or a named reference)` : 'uuid';
    default:
      return b.type;
  }
}

function show(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
