// Input rules of the builders, in one place: names, integers in OVN's ranges, enums, match expressions and
// string maps. Every failure is an OvnInvalidArgumentError naming the field, the value and what is allowed,
// thrown before any operation is added to the transaction.

import { OvnInvalidArgumentError } from './errors.js';

/** Longest name accepted (OVN itself has no limit; this keeps names printable in logs and ovn-nbctl). */
export const MAX_NAME_LENGTH = 256;

// No whitespace, control characters or quotes: ovn-nbctl and match expressions (`inport == "NAME"`) take
// names as tokens, and an OVS Interface's external_ids:iface-id must equal the logical port's name.
const NAME = /^[^\s\p{Cc}"\\]+$/u;

/** An OVN object name: 1..256 characters, no whitespace, control characters, `"` or `\`. */
export function checkName(field: string, v: unknown, max = MAX_NAME_LENGTH): string {
  if (typeof v !== 'string' || v.length === 0 || (v.length > max && [...v].length > max) || !NAME.test(v)) {
    throw new OvnInvalidArgumentError(
      field,
      v,
      `a name of 1..${max} characters without whitespace, control characters, '"' or '\\'`,
    );
  }
  return v;
}

/** An integer in [min, max]. */
export function checkInt(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new OvnInvalidArgumentError(field, v, `an integer ${min}..${max}`);
  }
  return v;
}

/** One of `allowed`. */
export function checkEnum<const T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new OvnInvalidArgumentError(field, v, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return v as T;
}

/** A non-empty OVN match expression (not parsed here: ovn-northd parses and reports it). */
export function checkMatch(field: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '' || v.includes('\0')) {
    throw new OvnInvalidArgumentError(
      field,
      v,
      'a non-empty OVN match expression, e.g. "ip4.src == 10.0.0.0/24"',
    );
  }
  return v;
}

export function checkBool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new OvnInvalidArgumentError(field, v, 'true or false');
  return v;
}

/** A plain string (may be empty), without NUL. */
export function checkString(field: string, v: unknown): string {
  if (typeof v !== 'string' || v.includes('\0'))
    throw new OvnInvalidArgumentError(field, v, 'a string without NUL');
  return v;
}

/**
 * A map edit `{key: value | null}`: string values are set, `null` removes the key. Keys are non-empty
 * strings; values strings without NUL.
 */
export type MapEdit = Readonly<Record<string, string | null>>;

export function checkMapEdit(field: string, v: unknown): MapEdit {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Map) {
    throw new OvnInvalidArgumentError(
      field,
      v,
      'an object of string keys to string values (null removes a key)',
    );
  }
  for (const [k, x] of Object.entries(v)) {
    if (k === '' || k.includes('\0'))
      throw new OvnInvalidArgumentError(`${field} key`, k, 'a non-empty string');
    if (x !== null && (typeof x !== 'string' || x.includes('\0'))) {
      throw new OvnInvalidArgumentError(
        `${field}.${k}`,
        x,
        'a string without NUL, or null to remove the key',
      );
    }
  }
  return v as MapEdit;
}

/** An array (possibly empty) whose elements `check` accepts, duplicates removed, order kept. */
export function checkList<T>(field: string, v: unknown, check: (field: string, x: unknown) => T): T[] {
  if (!Array.isArray(v)) throw new OvnInvalidArgumentError(field, v, 'an array');
  const out: T[] = [];
  v.forEach((x, i) => {
    const c = check(`${field}[${i}]`, x);
    if (!out.includes(c)) out.push(c);
  });
  return out;
}

/** An object argument (the spec of a builder). */
export function checkSpec(field: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new OvnInvalidArgumentError(field, v, 'an object');
  }
  return v as Record<string, unknown>;
}

/** Refuses keys of `spec` that are not in `known` (a typo must not pass silently). */
export function checkKeys(field: string, spec: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(spec)) {
    if (!known.includes(k)) {
      throw new OvnInvalidArgumentError(
        `${field}.${k}`,
        spec[k],
        `no such option; known: ${known.join(', ')}`,
      );
    }
  }
}
