// Checks of JS values against column types, run before anything is sent. Each check returns nothing when
// the value fits, or throws a ValidationError that names table, column, value and what is allowed.

import { ValidationError } from './errors.js';
import { type BaseType, describeBase } from './schema.js';
import { isRowRef, isUuid } from './uuid.js';

/** Where a value goes; used in error messages. */
export interface Place {
  readonly table: string;
  readonly column: string;
}

/**
 * The largest integer read as a `number`. OVSDB integers are 64-bit (RFC 7047 §3.1); JS numbers are exact
 * only within ±(2^53 − 1). Integers beyond it are read as exact `bigint`s (the framer finds their digits
 * before JSON.parse could round them) and are written from `bigint`s; a `number` beyond it is refused
 * (ValidationError), since it may already have been rounded.
 */
export const MAX_SAFE_OVSDB_INTEGER = Number.MAX_SAFE_INTEGER;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE_MIN = BigInt(-MAX_SAFE_OVSDB_INTEGER);
const SAFE_MAX = BigInt(MAX_SAFE_OVSDB_INTEGER);

/**
 * The magnitudes of nonzero reals ovsdb-server can store *and read back*. Open vSwitch 3.1 prints reals with
 * `%.15g` (lib/json.c json_serialize: `"%.*g", DBL_DIG`) and parses them with strtod through
 * `str_to_double` (lib/util.c), which fails on ERANGE unless the result is 0, i.e. on overflow and on every
 * subnormal. So a real is safe only when it is normal and its 15-digit form is finite and normal too:
 * 2.2250738585072014e-308 (DBL_MIN) prints as 2.2250738585072e-308, a subnormal; 1.7976931348623157e308
 * (DBL_MAX) prints as 1.79769313486232e+308, which overflows. Both bounds below were found by stepping
 * one ulp at a time with `toPrecision(15)`, which rounds exactly as glibc's printf does (no ties occur
 * this close to the limits), and checked against ovsdb-server 3.1.
 */
export const MIN_OVSDB_REAL_MAGNITUDE = 2.2250738585072053e-308;
export const MAX_OVSDB_REAL_MAGNITUDE = 1.797693134862315e308;
const REAL_RULE = `0 or a finite real of magnitude in [${MIN_OVSDB_REAL_MAGNITUDE}, ${MAX_OVSDB_REAL_MAGNITUDE}] (ovsdb-server prints reals with 15 significant digits and cannot parse subnormals, overflow, NaN or Infinity)`;

/** True for reals ovsdb-server can store and print back parseably (see MIN_OVSDB_REAL_MAGNITUDE). */
export function isStorableReal(v: number): boolean {
  if (v === 0) return true;
  const a = Math.abs(v);
  return a >= MIN_OVSDB_REAL_MAGNITUDE && a <= MAX_OVSDB_REAL_MAGNITUDE;
}

// String.prototype.isWellFormed is in Node 20 (V8 11.1) but not in TypeScript's ES2023 lib.
type WellFormed = { isWellFormed(): boolean };
const STRING_RULE =
  'a string of Unicode scalar values (no U+0000 and no unpaired surrogate: ovsdb-server refuses both)';

/**
 * True for strings ovsdb-server can store: lib/json.c refuses `\u0000` ("null bytes not supported in quoted
 * strings") and a lone leading surrogate ("malformed escaped surrogate pair") while parsing, which drops
 * the whole connection; a lone trailing surrogate fails ovsdb-data.c's utf8_validate ("constraint
 * violation"). Checked against ovsdb-server 3.1.
 */
export function isStorableString(s: string): boolean {
  return (s as unknown as WellFormed).isWellFormed() && !s.includes('\0');
}

/** Counts Unicode code points, the unit of minLength/maxLength (RFC 7047 §3.2). */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * Checks one atom against its base type and returns it in wire form (numbers, booleans, strings,
 * ["uuid", s] / ["named-uuid", name]).
 */
export function checkAtom(place: Place, base: BaseType, v: unknown, whole: unknown = v): unknown {
  return checkAtomAt(place.table, place.column, base, v, whole);
}

/** checkAtom with the place as two strings: the hot paths allocate no Place object per value. */
export function checkAtomAt(
  table: string,
  column: string,
  base: BaseType,
  v: unknown,
  whole: unknown = v,
): unknown {
  // `bad` is a module function, not a closure: this runs for every value sent, and a closure per call
  // showed up in profiles of the add-port benchmark. Table and column come as two strings rather than a
  // Place object, so callers allocate nothing per value.
  switch (base.type) {
    case 'integer': {
      if (typeof v === 'bigint') {
        if (v < INT64_MIN || v > INT64_MAX) {
          throw new ValidationError(table, column, whole, `${describeBase(base)} within the 64-bit range`);
        }
        if (base.minInteger !== undefined && v < base.minInteger) return bad(table, column, base, whole);
        if (base.maxInteger !== undefined && v > base.maxInteger) return bad(table, column, base, whole);
        // Within ±(2^53 − 1) a bigint is sent as a number (and so compares equal to a number enum).
        if (v >= SAFE_MIN && v <= SAFE_MAX) {
          const n = Number(v);
          if (base.enum && !base.enum.includes(n)) return bad(table, column, base, whole);
          return n;
        }
        if (base.enum && !base.enum.some((e) => typeof e === 'number' && BigInt(e) === v))
          return bad(table, column, base, whole);
        return v; // JSON-RPC encoding writes its exact digits (jsonrpc.ts stringify)
      }
      if (typeof v !== 'number' || !Number.isInteger(v)) return bad(table, column, base, whole);
      if (!Number.isSafeInteger(v)) {
        throw new ValidationError(
          table,
          column,
          whole,
          `${describeBase(base)}; a number beyond ±(2^53 − 1) is not exact: pass a bigint (e.g. ${BigInt(v)}n)`,
        );
      }
      if (base.minInteger !== undefined && v < base.minInteger) return bad(table, column, base, whole);
      if (base.maxInteger !== undefined && v > base.maxInteger) return bad(table, column, base, whole);
      if (base.enum && !base.enum.includes(v)) return bad(table, column, base, whole);
      return v;
    }
    case 'real': {
      if (typeof v !== 'number') return bad(table, column, base, whole);
      if (!isStorableReal(v)) {
        throw new ValidationError(table, column, whole, `${describeBase(base)}: ${REAL_RULE}`);
      }
      if (base.minReal !== undefined && v < base.minReal) return bad(table, column, base, whole);
      if (base.maxReal !== undefined && v > base.maxReal) return bad(table, column, base, whole);
      if (base.enum && !base.enum.includes(v)) return bad(table, column, base, whole);
      return v;
    }
    case 'boolean': {
      if (typeof v !== 'boolean') return bad(table, column, base, whole);
      if (base.enum && !base.enum.includes(v)) return bad(table, column, base, whole);
      return v;
    }
    case 'string': {
      if (typeof v !== 'string') return bad(table, column, base, whole);
      if (!isStorableString(v)) {
        throw new ValidationError(table, column, whole, `${describeBase(base)}: ${STRING_RULE}`);
      }
      if (base.minLength !== undefined || base.maxLength !== undefined) {
        const len = codePointLength(v);
        if (base.minLength !== undefined && len < base.minLength) return bad(table, column, base, whole);
        if (base.maxLength !== undefined && len > base.maxLength) return bad(table, column, base, whole);
      }
      if (base.enum && !base.enum.includes(v)) return bad(table, column, base, whole);
      return v;
    }
    case 'uuid': {
      if (isRowRef(v)) {
        if (base.refTable !== undefined && v.table !== base.refTable) {
          throw new ValidationError(
            table,
            column,
            whole,
            `${describeBase(base)}; the named reference "${v.name}" is a ${v.table} row`,
          );
        }
        // A fresh (packed, unfrozen) array: JSON.stringify serialises a frozen array element by element
        // through its slow path, which cost more than the allocation (callgrind, bench/typed-loop.ts).
        return ['named-uuid', v.name];
      }
      if (!isUuid(v)) return bad(table, column, base, whole);
      if (base.enum && !base.enum.includes(v)) return bad(table, column, base, whole);
      return ['uuid', v];
    }
  }
}

function bad(table: string, column: string, base: BaseType, whole: unknown): never {
  throw new ValidationError(table, column, whole, describeBase(base));
}
