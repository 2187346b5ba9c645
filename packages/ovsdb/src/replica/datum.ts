// Wire datum → JS value for the replica, and the update2 "diff" arithmetic. The JS shapes are the codec's
// (schema.ts ColumnKind): scalar → atom, optional → atom | null, set → array, map → record for string and
// uuid keys, Map for other keys; uuids are strings. This module is the replica's hot path (an initial
// snapshot decodes every cell once), so it is written for speed: one closure per column, chosen once.
//
// Facts (RFC 7047 §5.1, PROTOCOLS.md §2): a set of exactly one element may come as the bare atom; a uuid
// atom is ["uuid", "…"]; a map is always ["map", [[k, v], …]].
// update2 (ovsdb-server monitor.c + ovsdb-data.c ovsdb_datum_diff): "initial"/"insert" rows omit columns at
// their default; in "modify", a column whose type has max > 1 carries the difference (set: elements to
// toggle; map: a key not in the old map is added, a key with the same value is removed, a key with another
// value is replaced) and every other column carries its new value.

import type { BaseType, ColumnSchema } from '../schema.js';

export type JsValue = unknown;

/** Decodes one wire atom. */
type AtomDecoder = (w: unknown) => unknown;

const decodeUuid: AtomDecoder = (w) => (w as [string, string])[1];
// Integers beyond ±(2^53 − 1) already arrive as exact bigints (framer.ts parseExact): kept as they are.
const decodePlain: AtomDecoder = (w) => w;
// A real printed without a fraction beyond 2^53 arrives as a bigint too; as a double it is exact.
const decodeReal: AtomDecoder = (w) => (typeof w === 'bigint' ? Number(w) : w);

function atomDecoder(b: BaseType): AtomDecoder {
  return b.type === 'uuid' ? decodeUuid : b.type === 'real' ? decodeReal : decodePlain;
}

import { defaultAtom } from '../values.js';

export { defaultAtom, ZERO_UUID } from '../values.js';

/** Whether map keys of this type are held in a plain record (string and uuid) or a Map (others). */
export function mapUsesRecord(c: ColumnSchema): boolean {
  return c.type.key.type === 'string' || c.type.key.type === 'uuid';
}

/** Sets a record key; `__proto__` would otherwise change the prototype instead of adding a key. */
function putKey(rec: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(rec, k, { value: v, enumerable: true, writable: true, configurable: true });
  else rec[k] = v;
}

/**
 * Per-column codec for the replica: decode a full wire value, the default value (shared and frozen, so
 * rows that hold it share one object), and apply an update2 modify value to an old JS value.
 */
export interface ColumnCodec {
  readonly name: string;
  readonly column: ColumnSchema;
  /** Whether update2 "modify" carries a difference for this column (type max > 1). */
  readonly isDiff: boolean;
  readonly defaultValue: unknown;
  decode(w: unknown): unknown;
  /** New JS value from the old one and an update2 "modify" value. Never mutates `old`. */
  applyModify(old: unknown, w: unknown): unknown;
}

export function columnCodec(c: ColumnSchema): ColumnCodec {
  const key = atomDecoder(c.type.key);
  const isDiff = c.type.max > 1;
  switch (c.kind) {
    case 'scalar': {
      const decode = key;
      return {
        name: c.name,
        column: c,
        isDiff,
        defaultValue: defaultAtom(c.type.key.type),
        decode,
        applyModify: (_o, w) => decode(w),
      };
    }
    case 'optional': {
      const decode = (w: unknown): unknown => {
        if (Array.isArray(w) && w[0] === 'set') {
          const items = w[1] as unknown[];
          return items.length === 0 ? null : key(items[0]);
        }
        return key(w);
      };
      return {
        name: c.name,
        column: c,
        isDiff,
        defaultValue: null,
        decode,
        applyModify: (_o, w) => decode(w),
      };
    }
    case 'set': {
      const decode = (w: unknown): unknown => {
        if (Array.isArray(w) && w[0] === 'set') {
          const items = w[1] as unknown[];
          const out = new Array<unknown>(items.length);
          for (let i = 0; i < items.length; i++) out[i] = key(items[i]);
          return out;
        }
        return [key(w)];
      };
      const defaultValue = Object.freeze(c.type.min === 0 ? [] : [defaultAtom(c.type.key.type)]);
      const applyModify = isDiff
        ? (old: unknown, w: unknown): unknown => toggleSet(old as readonly unknown[], decode(w) as unknown[])
        : (_o: unknown, w: unknown) => decode(w);
      return { name: c.name, column: c, isDiff, defaultValue, decode, applyModify };
    }
    case 'map': {
      const value = atomDecoder(c.type.value as BaseType);
      const record = mapUsesRecord(c);
      const decode = record
        ? (w: unknown): unknown => {
            const pairs = (w as [string, [unknown, unknown][]])[1];
            const out: Record<string, unknown> = {};
            for (let i = 0; i < pairs.length; i++) {
              const p = pairs[i] as [unknown, unknown];
              putKey(out, key(p[0]) as string, value(p[1]));
            }
            return out;
          }
        : (w: unknown): unknown => {
            const pairs = (w as [string, [unknown, unknown][]])[1];
            const out = new Map<unknown, unknown>();
            for (let i = 0; i < pairs.length; i++) {
              const p = pairs[i] as [unknown, unknown];
              out.set(key(p[0]), value(p[1]));
            }
            return out;
          };
      let defaultValue: unknown;
      if (c.type.min === 0) defaultValue = record ? Object.freeze({}) : new Map();
      else {
        const k = defaultAtom(c.type.key.type);
        const v = defaultAtom((c.type.value as BaseType).type);
        defaultValue = record ? Object.freeze({ [k as string]: v }) : new Map([[k, v]]);
      }
      const applyModify = !isDiff
        ? (_o: unknown, w: unknown) => decode(w)
        : record
          ? (old: unknown, w: unknown): unknown => diffRecord(old as Record<string, unknown>, w, key, value)
          : (old: unknown, w: unknown): unknown => diffMap(old as Map<unknown, unknown>, w, key, value);
      return { name: c.name, column: c, isDiff, defaultValue, decode, applyModify };
    }
  }
}

/** Sets at least this large keep a membership index from one version of the column to the next. */
const INDEXED_SET_MIN = 64;
/**
 * The members of the newest version of a large set column, by its array. A version's index moves on to the
 * array that replaces it (the old array keeps its elements; it just loses the index), so a chain of updates
 * to one column builds it once.
 */
const SET_INDEX = new WeakMap<readonly unknown[], Set<unknown>>();

/**
 * Toggles each element of `diff` in a copy of `old` (update2 set difference; RFC 7047 sets have no
 * duplicates, so each element counts once), keeping `old`'s order and appending what is new. `old` is never
 * changed (rows are immutable: a caller may still hold the previous row).
 * Cost: the copy of `old` plus O(|diff|). Membership in a large set is read from an index carried from
 * version to version (a one-port change to a switch with 10,000 ports took ~275 µs scanning the uuids with
 * indexOf; the copy alone is ~10 µs). A removal filters the copy once. Small sets scan, as that is cheaper
 * than an index.
 */
export function toggleSet(old: readonly unknown[], diff: readonly unknown[]): unknown[] {
  if (diff.length === 0) return old.slice();
  if (old.length < INDEXED_SET_MIN) {
    if (diff.length === 1) {
      const i = old.indexOf(diff[0]);
      if (i < 0) return old.concat(diff);
      const out = old.slice();
      out.splice(i, 1);
      return out;
    }
    const toggle = new Set(diff);
    const out: unknown[] = [];
    for (const e of old) {
      if (toggle.has(e))
        toggle.delete(e); // present before: the diff removes it
      else out.push(e);
    }
    for (const e of toggle) out.push(e); // absent before: the diff adds it
    return out;
  }
  let index = SET_INDEX.get(old);
  if (index === undefined) index = new Set(old);
  else SET_INDEX.delete(old);
  let removed: Set<unknown> | undefined;
  const added: unknown[] = [];
  for (const e of diff.length === 1 ? diff : new Set(diff)) {
    if (index.has(e)) {
      index.delete(e);
      if (removed === undefined) removed = new Set();
      removed.add(e);
    } else {
      index.add(e);
      added.push(e);
    }
  }
  // concat sizes the copy once (a slice then push would grow, and copy, the backing store again).
  let out: unknown[];
  if (removed === undefined) out = old.concat(added);
  else {
    out = old.filter((e) => !(removed as Set<unknown>).has(e));
    for (const e of added) out.push(e);
  }
  SET_INDEX.set(out, index);
  return out;
}

function diffRecord(
  old: Record<string, unknown>,
  w: unknown,
  key: AtomDecoder,
  value: AtomDecoder,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(old)) putKey(out, k, old[k]);
  const pairs = (w as [string, [unknown, unknown][]])[1];
  for (const p of pairs) {
    const k = key(p[0]) as string;
    const v = value(p[1]);
    if (Object.hasOwn(out, k)) {
      if (out[k] === v) delete out[k];
      else out[k] = v;
    } else putKey(out, k, v);
  }
  return out;
}

function diffMap(
  old: Map<unknown, unknown>,
  w: unknown,
  key: AtomDecoder,
  value: AtomDecoder,
): Map<unknown, unknown> {
  const out = new Map(old);
  const pairs = (w as [string, [unknown, unknown][]])[1];
  for (const p of pairs) {
    const k = key(p[0]);
    const v = value(p[1]);
    if (out.has(k)) {
      if (out.get(k) === v) out.delete(k);
      else out.set(k, v);
    } else out.set(k, v);
  }
  return out;
}

/** Deep equality of two JS column values of the same column (atoms, arrays as sets, records, Maps). */
export function valueEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    if (a.length <= 16) {
      for (const e of a) if (!b.includes(e)) return false;
      return true;
    }
    const s = new Set(b);
    for (const e of a) if (!s.has(e)) return false;
    return true;
  }
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || b.get(k) !== v) return false;
    return true;
  }
  if (typeof a === 'object' && a !== null) {
    if (typeof b !== 'object' || b === null || Array.isArray(b) || b instanceof Map) return false;
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    const ka = Object.keys(ra);
    if (ka.length !== Object.keys(rb).length) return false;
    for (const k of ka) if (!Object.hasOwn(rb, k) || ra[k] !== rb[k]) return false;
    return true;
  }
  return false;
}
