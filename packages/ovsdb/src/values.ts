// The value codec: native JS values ⇄ RFC 7047 §5.1 value notation, converted by the column type.
//
// JS shapes (by ColumnSchema.kind):
//   scalar    atom                               wire: atom
//   optional  atom | null   (null = no value)     wire: atom, or ["set", []]
//   set       atom[]        (distinct)            wire: ["set", [...]], or the bare atom for one element
//   map       Record<string, V> for string/uuid keys, Map<K, V> for integer/real/boolean keys
//             (encoding accepts both a plain object and a Map)         wire: always ["map", [[k, v], ...]]
// Atoms: integer and real → number (the server prints 1.0 as 1; only the column type tells them apart),
// boolean, string, uuid → branded string (Uuid); a RowRef encodes as ["named-uuid", name].
// 64-bit integers are exact both ways: an integer beyond ±(2^53 − 1) decodes to a `bigint` (smaller ones
// stay `number`), and a `bigint` is sent as its exact digits; see MAX_SAFE_OVSDB_INTEGER.

import { ProtocolError, ValidationError } from './errors.js';
import {
  type Atom,
  type AtomicType,
  type BaseType,
  type ColumnSchema,
  describeBase,
  describeType,
  isInRootSet,
  type TableSchema,
} from './schema.js';
import { isRowRef, isUuid } from './uuid.js';
import { checkAtomAt, isStorableReal, isStorableString, type Place } from './validate.js';

/** How strictly a datum is checked against its column's cardinality. */
export interface EncodeOptions {
  /**
   * Treat `min` as 0, as ovsdb-server does for condition values of `includes`/`excludes` and for the
   * `insert`/`delete` mutators (ovsdb-condition.c, ovsdb-mutation.c): a subset may be smaller than `min`.
   */
  readonly relaxMin?: boolean;
  /** Lift `max` too (the `delete` mutator may name any number of elements). */
  readonly relaxMax?: boolean;
  /** For maps: the value is a set of keys (the `delete` mutator's other form). */
  readonly keysOnly?: boolean;
}

const EMPTY_SET: readonly unknown[] = Object.freeze(['set', Object.freeze([])]);
const STRICT: EncodeOptions = Object.freeze({});
const INSERT: { forUpdate?: boolean } = Object.freeze({});

/** Encodes one column value to wire notation, validating it. Throws ValidationError. */
export function encodeDatum(
  place: Place,
  column: ColumnSchema,
  v: unknown,
  opts: EncodeOptions = STRICT,
): unknown {
  return encodeValue(place.table, place.column, column, v, opts);
}

/**
 * encodeDatum with the place as two strings (no Place object per value on the hot paths: encodeRow and
 * the operation builders). Not exported by the package.
 */
export function encodeValue(
  table: string,
  name: string,
  column: ColumnSchema,
  v: unknown,
  opts: EncodeOptions,
): unknown {
  const { type } = column;
  switch (column.kind) {
    case 'scalar':
      if (v === undefined || v === null || Array.isArray(v)) {
        throw new ValidationError(table, name, v, describeType(type));
      }
      return checkAtomAt(table, name, type.key, v);
    case 'optional':
      if (v === null || v === undefined) return EMPTY_SET;
      if (Array.isArray(v) || v instanceof Set) {
        // As a set: only where the server relaxes the cardinality (condition and mutator arguments).
        if (!opts.relaxMin) throw new ValidationError(table, name, v, describeType(type));
        return encodeSet(table, name, column, v, [...v], opts);
      }
      return checkAtomAt(table, name, type.key, v);
    case 'set': {
      if (opts.keysOnly) throw new ValidationError(table, name, v, describeType(type));
      if (v === undefined || v === null || isPlainObject(v) || v instanceof Map) {
        throw new ValidationError(table, name, v, describeType(type));
      }
      // RFC 7047 §5.1: "a <set> ... may be represented by the <atom>" when it has one element, so a bare
      // atom is accepted for a set column as well as an array.
      const items = v instanceof Set ? [...v] : Array.isArray(v) ? v : [v];
      return encodeSet(table, name, column, v, items, opts);
    }
    case 'map': {
      const vt = type.value as BaseType;
      if (opts.keysOnly) {
        const keys = v instanceof Set ? [...v] : Array.isArray(v) ? v : [v];
        const out = keys.map((k) => checkAtomAt(table, name, type.key, k, v));
        checkDistinct(table, name, column, v, out);
        return out.length === 1 ? out[0] : ['set', out];
      }
      let entries: [unknown, unknown][];
      if (v instanceof Map) entries = [...v.entries()];
      else if (isPlainObject(v)) entries = objectEntries(table, name, type.key, v);
      else throw new ValidationError(table, name, v, describeType(type));
      checkCount(table, name, column, v, entries.length, opts);
      const pairs = entries.map(([k, val]) => [
        checkAtomAt(table, name, type.key, k, v),
        checkAtomAt(table, name, vt, val, v),
      ]);
      checkDistinct(
        table,
        name,
        column,
        v,
        pairs.map((p) => p[0]),
      );
      return ['map', pairs];
    }
  }
}

function encodeSet(
  table: string,
  name: string,
  column: ColumnSchema,
  v: unknown,
  items: readonly unknown[],
  opts: EncodeOptions,
): unknown {
  const key = column.type.key;
  checkCount(table, name, column, v, items.length, opts);
  if (items.length === 1) {
    // RFC 7047 §5.1: a set of exactly one element may be (and by Open vSwitch is) written as the atom.
    return checkAtomAt(table, name, key, items[0], v);
  }
  // Built by push: a packed array, which JSON.stringify serialises on its fast path (not a holey one).
  const out: unknown[] = [];
  for (let i = 0; i < items.length; i++) out.push(checkAtomAt(table, name, key, items[i], v));
  checkDistinct(table, name, column, v, out);
  return ['set', out];
}

const DECIMAL_INTEGER = /^-?(0|[1-9][0-9]*)$/;

/**
 * The entries of a plain object given for a map. Property names are strings, so for keys of other types
 * the name is read back as the key it unambiguously spells: an integer in decimal ("7", "-2"), a real as
 * JavaScript prints it (`String(n)`: "0.5", "1e+21"), "true"/"false" for booleans. Anything else is
 * refused, naming the key.
 */
function objectEntries(
  table: string,
  name: string,
  key: BaseType,
  v: Record<string, unknown>,
): [unknown, unknown][] {
  const entries: [unknown, unknown][] = Object.entries(v);
  if (key.type === 'string' || key.type === 'uuid') return entries;
  for (const e of entries) {
    const k = e[0] as string;
    let atom: unknown;
    if (key.type === 'integer') atom = DECIMAL_INTEGER.test(k) ? Number(k) : undefined;
    else if (key.type === 'real') atom = String(Number(k)) === k ? Number(k) : undefined;
    else atom = k === 'true' ? true : k === 'false' ? false : undefined;
    if (atom === undefined) {
      const spelled =
        key.type === 'integer'
          ? 'decimal integers such as "7" or "-2"'
          : key.type === 'real'
            ? 'numbers as JavaScript prints them, such as "0.5"'
            : '"true" or "false"';
      throw new ValidationError(
        table,
        name,
        v,
        `${describeBase(key)} keys; a plain object's property names must be ${spelled} (key ${JSON.stringify(k)}), or pass a Map`,
      );
    }
    e[0] = atom;
  }
  return entries;
}

function checkCount(
  table: string,
  name: string,
  column: ColumnSchema,
  v: unknown,
  n: number,
  opts: EncodeOptions,
): void {
  const min = opts.relaxMin ? 0 : column.type.min;
  const max = opts.relaxMax ? Number.POSITIVE_INFINITY : column.type.max;
  if (n < min || n > max) throw new ValidationError(table, name, v, describeType(column.type));
}

function checkDistinct(
  table: string,
  name: string,
  column: ColumnSchema,
  v: unknown,
  wireAtoms: unknown[],
): void {
  if (wireAtoms.length < 2) return;
  const seen = new Set<string>();
  for (const a of wireAtoms) {
    const k = typeof a === 'object' ? JSON.stringify(a) : `${typeof a}:${String(a)}`;
    if (seen.has(k)) {
      throw new ValidationError(
        table,
        name,
        v,
        `${describeType(column.type)} (duplicate ${JSON.stringify(a)})`,
      );
    }
    seen.add(k);
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Encodes a row (an object of column → JS value) to a wire <row>, validating every value. Unknown columns
 * are errors; `undefined` members are skipped (the column keeps its default, or is left unchanged in an
 * update). With `forUpdate`, immutable columns and `_uuid`/`_version` are refused.
 */
export function encodeRow(
  table: TableSchema,
  row: Readonly<Record<string, unknown>>,
  opts: { forUpdate?: boolean } = INSERT,
): Record<string, unknown> {
  if (!isPlainObject(row)) {
    throw new ValidationError(table.name, '*', row, 'a plain object of column → value');
  }
  const columns = tableCodec(table).columns;
  const out: Record<string, unknown> = {};
  // for…in over own members (a plain object: no inherited enumerable ones) allocates no entry pairs.
  for (const name in row) {
    if (!Object.hasOwn(row, name)) continue;
    const v = row[name];
    if (v === undefined) continue;
    const c = columns.get(name);
    if (c === undefined) throw new ValidationError(table.name, name, v, unknownColumnHint(table, name));
    if (opts.forUpdate && !c.column.mutable) {
      throw new ValidationError(
        table.name,
        name,
        v,
        'no change: the column is immutable (set it at insert only)',
      );
    }
    out[name] = encodeStrict(table.name, c, v);
  }
  return out;
}

// ---- per-table codecs ------------------------------------------------------------------------------------
//
// What encoding needs of a table, worked out once per table from its schema: each user column with an
// encoder compiled for its type (the checks its kind and base type need, and nothing else), the columns
// an insert must set, whether the table is a root, and its strong-reference columns (Transaction's
// garbage check). A compiled encoder only accepts the common shapes of valid values; anything else —
// every invalid value, and rare shapes such as a Set for a set column — returns SLOW and goes through
// encodeValue, which gives the same result or the same ValidationError as before. So the compiled path
// changes no outcome, only how many checks a valid value goes through.

/** A compiled encoder's answer for a value it leaves to encodeValue. */
const SLOW: unique symbol = Symbol('ovsdb.slow');
type Compiled = (v: unknown) => unknown;

/** One user column of a table codec. */
export interface ColumnCodec {
  readonly column: ColumnSchema;
  /** The strict (row, `==` condition) encoder, or undefined where only encodeValue applies. */
  readonly strict: Compiled | undefined;
  /** Whether keys / values hold strong references (Transaction's garbage check). */
  readonly strongKey: boolean;
  readonly strongValue: boolean;
}

export interface TableCodec {
  /** The user columns by name (not `_uuid`/`_version`: no row may set them). */
  readonly columns: ReadonlyMap<string, ColumnCodec>;
  /** Every column by name, `_uuid` and `_version` too (conditions). */
  readonly all: ReadonlyMap<string, ColumnCodec>;
  /** See requiredColumns. */
  readonly required: readonly ColumnSchema[];
  /** In the root set (schema.ts isInRootSet). */
  readonly root: boolean;
  /** The columns that hold strong references. */
  readonly strongRefs: readonly ColumnCodec[];
}

// The codec hangs off the table schema itself under a symbol (a property load, where a WeakMap lookup per
// operation showed in instruction counts); a table schema that cannot take it falls back to the WeakMap.
const CODEC: unique symbol = Symbol('ovsdb.tableCodec');
const codecs = new WeakMap<TableSchema, TableCodec>();

/** The codec of a table (made on first use). Not exported by the package. */
export function tableCodec(table: TableSchema): TableCodec {
  const c = (table as { [CODEC]?: TableCodec })[CODEC];
  if (c !== undefined) return c;
  let made = codecs.get(table);
  if (made === undefined) {
    made = makeCodec(table);
    if (Object.isExtensible(table)) Object.defineProperty(table, CODEC, { value: made });
    else codecs.set(table, made);
  }
  return made;
}

function makeCodec(table: TableSchema): TableCodec {
  const columns = new Map<string, ColumnCodec>();
  const all = new Map<string, ColumnCodec>();
  const strongRefs: ColumnCodec[] = [];
  for (const column of table.columns.values()) {
    const c: ColumnCodec = Object.freeze({
      column,
      strict: compileStrict(column),
      strongKey: isStrongRef(column.type.key),
      strongValue: isStrongRef(column.type.value),
    });
    all.set(column.name, c);
    if (column.name === '_uuid' || column.name === '_version') continue;
    columns.set(column.name, c);
    if (c.strongKey || c.strongValue) strongRefs.push(c);
  }
  return Object.freeze({
    columns,
    all,
    required: Object.freeze(computeRequired(table)),
    root: isInRootSet(table),
    strongRefs: Object.freeze(strongRefs),
  });
}

function isStrongRef(b: BaseType | undefined): boolean {
  return b !== undefined && b.refTable !== undefined && b.refType !== 'weak';
}

/** Encodes `v` for column `c` with the strict rules (encodeValue with no relaxation). */
export function encodeStrict(table: string, c: ColumnCodec, v: unknown): unknown {
  const strict = c.strict;
  if (strict !== undefined) {
    const w = strict(v);
    if (w !== SLOW) return w;
  }
  return encodeValue(table, c.column.name, c.column, v, STRICT);
}

/** The compiled strict encoder of a column, or undefined (maps, and constraints left to encodeValue). */
function compileStrict(column: ColumnSchema): Compiled | undefined {
  const atom = compileAtom(column.type.key);
  if (atom === undefined) return undefined;
  const { min, max } = column.type;
  switch (column.kind) {
    case 'scalar':
      return atom; // null, undefined and arrays fail every atom check: SLOW, and encodeValue refuses them
    case 'optional':
      // Arrays and Sets are refused by the strict rules: encodeValue says so.
      return (v) => (v === null ? EMPTY_SET : typeof v === 'object' && !isRowRef(v) ? SLOW : atom(v));
    case 'set':
      return (v) => {
        // A bare primitive atom is a one-element set (RFC 7047 §5.1); other objects (Sets, handles given
        // bare, wrong shapes) take encodeValue.
        if (!Array.isArray(v)) return typeof v === 'object' || min > 1 || max < 1 ? SLOW : atom(v);
        const n = v.length;
        if (n < min || n > max) return SLOW;
        if (n === 1) return atom(v[0]); // written as the bare atom, as encodeSet does
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) {
          const a = atom(v[i]);
          if (a === SLOW) return SLOW;
          out.push(a);
        }
        if (!distinct(out)) return SLOW;
        return ['set', out];
      };
    case 'map':
      return undefined;
  }
}

/** True when no two wire atoms are equal, as checkDistinct compares them (atoms of one base type). */
function distinct(atoms: readonly unknown[]): boolean {
  const n = atoms.length;
  if (n > 8) {
    const seen = new Set<string>();
    for (const a of atoms) {
      const k = typeof a === 'object' ? JSON.stringify(a) : `${typeof a}:${String(a)}`;
      if (seen.has(k)) return false;
      seen.add(k);
    }
    return true;
  }
  for (let i = 1; i < n; i++) {
    const a = atoms[i];
    for (let j = 0; j < i; j++) {
      const b = atoms[j];
      if (a === b) return false; // also 0 and -0, which checkDistinct's String() makes equal
      if (typeof a === 'object') {
        const x = a as readonly unknown[];
        const y = b as readonly unknown[];
        if (x[0] === y[0] && x[1] === y[1]) return false;
      }
    }
  }
  return true;
}

/**
 * The compiled check of one atom: its wire form, or SLOW. Only base types whose checks are simple are
 * compiled (enums, string lengths and integer enums are left to checkAtomAt).
 */
function compileAtom(base: BaseType): Compiled | undefined {
  if (base.enum !== undefined) {
    if (base.type !== 'string' || base.minLength !== undefined || base.maxLength !== undefined)
      return undefined;
    const allowed = new Set(base.enum);
    return (v) => (typeof v === 'string' && allowed.has(v) && isStorableString(v) ? v : SLOW);
  }
  switch (base.type) {
    case 'string':
      if (base.minLength !== undefined || base.maxLength !== undefined) return undefined;
      return (v) => (typeof v === 'string' && isStorableString(v) ? v : SLOW);
    case 'integer': {
      const lo = base.minInteger ?? Number.NEGATIVE_INFINITY;
      const hi = base.maxInteger ?? Number.POSITIVE_INFINITY;
      // bigints take checkAtomAt (64-bit range, sent as numbers when small)
      return (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= lo && v <= hi ? v : SLOW);
    }
    case 'real': {
      const lo = base.minReal ?? Number.NEGATIVE_INFINITY;
      const hi = base.maxReal ?? Number.POSITIVE_INFINITY;
      return (v) => (typeof v === 'number' && isStorableReal(v) && v >= lo && v <= hi ? v : SLOW);
    }
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : SLOW);
    case 'uuid': {
      const ref = base.refTable;
      return (v) => {
        if (typeof v === 'string') return isUuid(v) ? ['uuid', v] : SLOW;
        if (!isRowRef(v) || (ref !== undefined && v.table !== ref)) return SLOW;
        return ['named-uuid', v.name];
      };
    }
  }
}

export function unknownColumnHint(table: TableSchema, name: string): string {
  const cols = table.userColumns.map((c) => c.name);
  if (name === '_uuid' || name === '_version') {
    return `a writable column of ${table.name} ("${name}" is set by the server): ${cols.join(', ')}`;
  }
  return `a column of ${table.name}: ${cols.join(', ')}`;
}

// ---- decoding ----------------------------------------------------------------------------------------

function bad(where: string, what: string, json: unknown): never {
  throw new ProtocolError(`${where}: cannot decode ${JSON.stringify(json)} as ${what}`);
}

/** Decodes one wire atom. `where` is used in error messages only. */
export function decodeAtom(base: BaseType, json: unknown, where = 'value'): Atom {
  switch (base.type) {
    case 'integer':
      // An integer beyond ±(2^53 − 1) arrives as an exact bigint (framer.ts parseExact).
      if (typeof json !== 'number' && typeof json !== 'bigint') return bad(where, base.type, json);
      return json;
    case 'real':
      // A real printed without a fraction and beyond 2^53 (e.g. 12345678901234568) is read as a bigint
      // too; as a double it is exact (OVS prints reals with %.17g, which round-trips).
      if (typeof json === 'bigint') return Number(json);
      if (typeof json !== 'number') return bad(where, base.type, json);
      return json;
    case 'boolean':
      if (typeof json !== 'boolean') return bad(where, base.type, json);
      return json;
    case 'string':
      if (typeof json !== 'string') return bad(where, base.type, json);
      return json;
    case 'uuid':
      if (!Array.isArray(json) || json[0] !== 'uuid' || typeof json[1] !== 'string') {
        return bad(where, 'uuid', json);
      }
      return json[1];
  }
}

/** The atoms of a set datum (a bare atom or ["set", [...]]); also works for optional and scalar columns. */
export function decodeElements(column: ColumnSchema, json: unknown, where = column.name): Atom[] {
  if (Array.isArray(json) && json[0] === 'set') {
    const items = json[1];
    if (!Array.isArray(items)) return bad(where, 'set', json);
    return items.map((a) => decodeAtom(column.type.key, a, where));
  }
  return [decodeAtom(column.type.key, json, where)];
}

/** The key/value pairs of a map datum ["map", [[k, v], ...]]. */
export function decodePairs(column: ColumnSchema, json: unknown, where = column.name): [Atom, Atom][] {
  const vt = column.type.value;
  if (!vt || !Array.isArray(json) || json[0] !== 'map' || !Array.isArray(json[1]))
    return bad(where, 'map', json);
  return (json[1] as unknown[]).map((p) => {
    if (!Array.isArray(p) || p.length !== 2) return bad(where, 'map pair', p);
    return [decodeAtom(column.type.key, p[0], where), decodeAtom(vt, p[1], where)];
  });
}

/** True when map values of this column decode to a Record (string and uuid keys), false for a Map. */
export function mapUsesRecord(column: ColumnSchema): boolean {
  return column.type.key.type === 'string' || column.type.key.type === 'uuid';
}

/** Builds the JS map value from pairs, as decodeDatum does. */
export function pairsToMap(column: ColumnSchema, pairs: Iterable<readonly [Atom, Atom]>): unknown {
  // Object.fromEntries defines own properties, so a "__proto__" key stays data.
  return mapUsesRecord(column) ? Object.fromEntries(pairs) : new Map(pairs);
}

/** Decodes one column's wire datum to its JS value (see the table at the top of this file). */
export function decodeDatum(column: ColumnSchema, json: unknown, where = column.name): unknown {
  switch (column.kind) {
    case 'scalar': {
      const items = decodeElements(column, json, where);
      if (items.length !== 1) return bad(where, 'exactly one value', json);
      return items[0];
    }
    case 'optional': {
      const items = decodeElements(column, json, where);
      if (items.length > 1) return bad(where, 'at most one value', json);
      return items.length ? items[0] : null;
    }
    case 'set':
      return decodeElements(column, json, where);
    case 'map':
      return pairsToMap(column, decodePairs(column, json, where));
  }
}

/** The all-zero uuid: the default uuid atom, and the "no transaction yet" id of monitor_cond_since. */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** The default atom of a type (ovsdb-data.c ovsdb_atom_init_default). */
export function defaultAtom(type: AtomicType): Atom {
  switch (type) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
  }
}

/**
 * The value a column holds when a row does not set it (ovsdb-data.c ovsdb_datum_init_default: `min`
 * default atoms — 0, 0.0, false, "" or the all-zero uuid — and nothing for min 0). update2 and select with
 * few columns omit such columns; decodeRow fills them in. A fresh value on every call.
 */
export function defaultValue(column: ColumnSchema): unknown {
  switch (column.kind) {
    case 'scalar':
      return defaultAtom(column.type.key.type);
    case 'optional':
      return null;
    case 'set':
      return column.type.min === 1 ? [defaultAtom(column.type.key.type)] : [];
    case 'map':
      return pairsToMap(
        column,
        column.type.min === 1
          ? [[defaultAtom(column.type.key.type), defaultAtom((column.type.value as BaseType).type)]]
          : [],
      );
  }
}

/**
 * Columns an insert must set (the run-time twin of the NoDefault marker in generated models):
 * - those whose default (see defaultValue) the column's own constraints refuse, e.g. a scalar enum
 *   (default "") or an integer with minInteger 1 (default 0): ovsdb-server rejects such an insert with
 *   "constraint violation";
 * - a scalar reference: its default, the all-zero uuid, names no row ("referential integrity violation",
 *   or for a weak reference the value vanishes and the column is left empty);
 * - a set or map with min ≥ 1: its default is one made-up default element, never what a caller means.
 * We say so before sending.
 */
export function requiredColumns(table: TableSchema): readonly ColumnSchema[] {
  return tableCodec(table).required;
}

function computeRequired(table: TableSchema): readonly ColumnSchema[] {
  return table.userColumns.filter((c) => {
    if (c.type.min === 0) return false;
    if (c.kind === 'set' || c.kind === 'map') return true;
    if (c.type.key.refTable !== undefined) return true;
    try {
      encodeDatum({ table: table.name, column: c.name }, c, defaultValue(c));
      return false;
    } catch {
      return true;
    }
  });
}

export interface DecodeRowOptions {
  /** Fill columns the wire row omits with their defaults (default true). */
  readonly fillDefaults?: boolean;
}

/**
 * Decodes a wire <row> (select result, update/update2 initial/insert row) to a JS row. Columns the schema
 * does not know (a newer server) are skipped, so generated models keep working against newer schemas.
 */
export function decodeRow(
  table: TableSchema,
  wire: unknown,
  opts: DecodeRowOptions = {},
): Record<string, unknown> {
  if (typeof wire !== 'object' || wire === null || Array.isArray(wire)) {
    throw new ProtocolError(`${table.name}: a row must be a JSON object, got ${JSON.stringify(wire)}`);
  }
  const out: Record<string, unknown> = {};
  const src = wire as Record<string, unknown>;
  for (const [name, json] of Object.entries(src)) {
    const column = table.columns.get(name);
    if (!column) continue;
    out[name] = decodeDatum(column, json, `${table.name}.${name}`);
  }
  if (opts.fillDefaults !== false) {
    for (const column of table.userColumns) {
      if (!Object.hasOwn(out, column.name)) out[column.name] = defaultValue(column);
    }
  }
  return out;
}
