// UUIDs and named references. RFC 7047 §5.1: a <uuid> is ["uuid", "<36 hex-and-dash chars>"]; a
// <named-uuid> is ["named-uuid", <id>] and refers to a row inserted earlier in the same transaction.

import { createHash, randomUUID } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';

declare const uuidBrand: unique symbol;

/**
 * A row uuid as a string, branded with the table it belongs to (when known) so that a `Port` uuid cannot
 * be put where an `Interface` reference is expected. `Uuid` (no argument) is a uuid of any table.
 */
export type Uuid<Table extends string = string> = string & { readonly [uuidBrand]: Table };

/**
 * True for 8-4-4-4-12 hex digits (either case). A character loop rather than a RegExp: it runs for every
 * uuid sent and was a visible share of the add-port benchmark's profile.
 */
export function isUuid(v: unknown): v is Uuid {
  if (typeof v !== 'string' || v.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}

/** Checks and brands a uuid string, e.g. one read from `ovs-vsctl`. */
export function uuid<Table extends string = string>(s: string): Uuid<Table> {
  if (!isUuid(s)) {
    throw new InvalidArgumentError(`uuid: ${JSON.stringify(s)} is not a uuid (8-4-4-4-12 hex digits)`);
  }
  return s as Uuid<Table>;
}

/** A fresh random uuid, e.g. for `insert` with an explicit `uuid` (Open vSwitch 2.13+). */
export function randomRowUuid<Table extends string = string>(): Uuid<Table> {
  return randomUUID() as Uuid<Table>;
}

/**
 * A name-based (version 5, SHA-1) uuid, RFC 4122 §4.3: the same `name` in the same `namespace` always gives
 * the same uuid. For `insert` with an explicit `uuid` (Open vSwitch 2.13+) where the row's identity is a key
 * of the caller's own: two writers inserting "the same" row collide on the uuid, so a `wait` on it (or the
 * server's "duplicate uuid") settles the race. `namespace` is a uuid of the caller's choosing.
 */
export function uuidV5<Table extends string = string>(namespace: string, name: string): Uuid<Table> {
  if (!isUuid(namespace)) {
    throw new InvalidArgumentError(`uuidV5: namespace ${JSON.stringify(namespace)} is not a uuid`);
  }
  // The hash covers the namespace's 16 bytes in network order, then the name (UTF-8).
  const h = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50; // version 5 in the high nibble of time_hi_and_version
  h[8] = ((h[8] as number) & 0x3f) | 0x80; // the RFC 4122 variant (10xx) in clock_seq_hi_and_reserved
  const x = h.toString('hex', 0, 16);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}` as Uuid<Table>;
}

/** Internal: marks RowRef objects (not exported from the package index). */
export const refTag: unique symbol = Symbol('ovsdb.named-uuid');

/**
 * Internal: a RowRef made by this library (namedRef, Transaction.insert) carries its wire form, a frozen
 * ["named-uuid", name], under this symbol, so the refs of a transaction are encoded without a new array
 * per use (checkAtomAt uses it only when it names the same row).
 */
export const refWire: unique symbol = Symbol('ovsdb.named-uuid.wire');

/** The frozen wire form of a named reference (see refWire). */
export function namedUuidWire(name: string): readonly ['named-uuid', string] {
  return Object.freeze(['named-uuid', name] as const);
}

/**
 * A reference to a row inserted in the same transaction, handed out by `Transaction.insert` (or made by
 * `namedRef`). It is sent as ["named-uuid", name]; the server substitutes the new row's uuid.
 */
export interface RowRef<Table extends string = string> {
  readonly [refTag]: true;
  /** The uuid-name (an <id>: letters, digits and "_", not starting with a digit). */
  readonly name: string;
  readonly table: Table;
}

const ID = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function namedRef<Table extends string>(table: Table, name: string): RowRef<Table> {
  if (!ID.test(name)) {
    throw new InvalidArgumentError(
      `uuid-name: ${JSON.stringify(name)} is not an <id> (letters, digits and "_", not starting with a digit)`,
    );
  }
  return Object.freeze({ [refTag]: true as const, [refWire]: namedUuidWire(name), name, table });
}

export function isRowRef(v: unknown): v is RowRef {
  return typeof v === 'object' && v !== null && (v as { [refTag]?: unknown })[refTag] === true;
}

/** Where a reference is accepted: an existing row's uuid or a row inserted in the same transaction. */
export type UuidLike<Table extends string = string> = Uuid<Table> | RowRef<Table>;
