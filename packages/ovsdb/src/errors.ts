// Errors of @ovs-container-network/ovsdb. One root class with a stable `code`; subclasses carry context.
// RFC 7047 §4.1.3 lists the error strings a transaction can return; each gets a class of its own.

export type OvsdbErrorCode =
  | 'OVSDB_ERR_INVALID_ARGUMENT'
  | 'OVSDB_ERR_CONNECT'
  | 'OVSDB_ERR_CONNECTION_CLOSED'
  | 'OVSDB_ERR_TIMEOUT'
  | 'OVSDB_ERR_ABORTED'
  | 'OVSDB_ERR_FRAMING'
  | 'OVSDB_ERR_PROTOCOL'
  | 'OVSDB_ERR_RPC'
  | 'OVSDB_ERR_SCHEMA'
  | 'OVSDB_ERR_VALIDATION'
  | 'OVSDB_ERR_TRANSACTION'
  | 'OVSDB_ERR_NOT_CONNECTED'
  | 'OVSDB_ERR_MAYBE_COMMITTED';

export class OvsdbError extends Error {
  readonly code: OvsdbErrorCode;
  constructor(code: OvsdbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An option or argument was wrong; the message says which, the value, and what is allowed. */
export class InvalidArgumentError extends OvsdbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVSDB_ERR_INVALID_ARGUMENT', message, options);
  }
}

export class ConnectError extends OvsdbError {
  readonly endpoint: string;
  constructor(endpoint: string, message: string, options?: { cause?: unknown }) {
    super('OVSDB_ERR_CONNECT', `cannot connect to ${endpoint}: ${message}`, options);
    this.endpoint = endpoint;
  }
}

/** The connection closed while a request was pending, or a request was made on a closed connection. */
export class ConnectionClosedError extends OvsdbError {
  constructor(message = 'connection closed', options?: { cause?: unknown }) {
    super('OVSDB_ERR_CONNECTION_CLOSED', message, options);
  }
}

export class TimeoutError extends OvsdbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVSDB_ERR_TIMEOUT', message, options);
  }
}

export class AbortError extends OvsdbError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('OVSDB_ERR_ABORTED', message, options);
  }
}

/** The byte stream is not a sequence of JSON values, or one value exceeds the size bound. */
export class FramingError extends OvsdbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVSDB_ERR_FRAMING', message, options);
  }
}

/** The peer broke the JSON-RPC 1.0 rules ovsdb-server follows (e.g. a reply to no request). */
export class ProtocolError extends OvsdbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVSDB_ERR_PROTOCOL', message, options);
  }
}

/**
 * A JSON-RPC request failed: the reply's `error` member was not null. OVSDB error values are strings or
 * objects `{error, details?, syntax?}` (RFC 7047 §3.1), not `{code, message}`.
 */
export class RpcError extends OvsdbError {
  readonly method: string;
  /** The `error` string, e.g. "unknown database", "syntax error", "not leader". */
  readonly error: string;
  readonly details: string | undefined;
  readonly syntax: unknown;
  constructor(method: string, error: string, details?: string, syntax?: unknown) {
    super('OVSDB_ERR_RPC', `${method} failed: ${error}${details ? `: ${details}` : ''}`);
    this.method = method;
    this.error = error;
    this.details = details;
    this.syntax = syntax;
  }
}

export class SchemaError extends OvsdbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVSDB_ERR_SCHEMA', message, options);
  }
}

/** A value does not fit its column's type; caught before anything is sent. */
export class ValidationError extends OvsdbError {
  readonly table: string;
  readonly column: string;
  readonly value: unknown;
  /** What the column allows, in words (e.g. "integer in [1, 4094]"). */
  readonly allowed: string;
  constructor(table: string, column: string, value: unknown, allowed: string) {
    super(
      'OVSDB_ERR_VALIDATION',
      `${table}.${column}: ${showValue(value)} is not allowed; expected ${allowed}`,
    );
    this.table = table;
    this.column = column;
    this.value = value;
    this.allowed = allowed;
  }
}

/**
 * A transaction failed. `index` is the failing operation's position in the transaction, or the number of
 * operations for commit-time errors (they come as an extra result element after the last operation).
 */
export class TransactionError extends OvsdbError {
  /** The RFC 7047 error string, e.g. "constraint violation". */
  readonly error: string;
  readonly details: string | undefined;
  readonly index: number;
  /** The failing operation as sent (undefined for commit-time errors). */
  readonly operation: unknown;
  /** The raw result array. */
  readonly results: readonly unknown[];
  constructor(
    error: string,
    details: string | undefined,
    index: number,
    operation: unknown,
    results: readonly unknown[],
  ) {
    const where = operation === undefined ? 'at commit' : `in operation ${index}`;
    super('OVSDB_ERR_TRANSACTION', `transaction failed ${where}: ${error}${details ? `: ${details}` : ''}`);
    this.error = error;
    this.details = details;
    this.index = index;
    this.operation = operation;
    this.results = results;
  }
}

// One class per RFC 7047 §4.1.3 / Open vSwitch error string.
export class ReferentialIntegrityViolation extends TransactionError {}
export class ConstraintViolation extends TransactionError {}
export class ResourcesExhausted extends TransactionError {}
export class IoError extends TransactionError {}
export class DuplicateUuidName extends TransactionError {}
export class DomainError extends TransactionError {}
export class RangeError_ extends TransactionError {}
export class TimedOut extends TransactionError {}
export class NotSupported extends TransactionError {}
export class Aborted extends TransactionError {}
export class NotOwner extends TransactionError {}
export class NotAllowed extends TransactionError {}
export class PermissionError extends TransactionError {}
export class UnknownColumn extends TransactionError {}
export class SyntaxError_ extends TransactionError {}
export class DuplicateUuid extends TransactionError {}

/**
 * An update, mutate or delete given `{ expect }` matched a different number of rows than expected, so the
 * whole transaction was aborted by the server and nothing changed. It comes from the `wait` guard the
 * transaction put before the operation (error string "timed out"), hence the subclass of TimedOut.
 */
export class RowCountMismatch extends TimedOut {
  /** What the operation expected: exactly one row, at least one, or none. */
  readonly expected: 'one' | 'some' | 'none';
  /** The index of the guarded operation (the guard is the operation before it). */
  readonly guarded: number;
  readonly table: string;
  readonly where: unknown;
  constructor(
    expected: 'one' | 'some' | 'none',
    guarded: { index: number; op: string; table: string; where: unknown },
    index: number,
    operation: unknown,
    results: readonly unknown[],
  ) {
    super('timed out', '"where" clause test failed', index, operation, results);
    this.expected = expected;
    this.guarded = guarded.index;
    this.table = guarded.table;
    this.where = guarded.where;
    const want = expected === 'one' ? 'one row' : expected === 'some' ? 'at least one row' : 'no row';
    const got = expected === 'none' ? 'some matched' : 'none matched';
    this.message =
      `transaction aborted, nothing changed: operation ${guarded.index} (${guarded.op} ${guarded.table} ` +
      `where ${showValue(guarded.where)}) expects ${want}, and ${got}`;
  }
}

const transactionErrorClasses: Record<string, typeof TransactionError> = {
  'referential integrity violation': ReferentialIntegrityViolation,
  'constraint violation': ConstraintViolation,
  'resources exhausted': ResourcesExhausted,
  'I/O error': IoError,
  'duplicate uuid-name': DuplicateUuidName,
  'domain error': DomainError,
  'range error': RangeError_,
  'timed out': TimedOut,
  'not supported': NotSupported,
  aborted: Aborted,
  'not owner': NotOwner,
  'not allowed': NotAllowed,
  'permission error': PermissionError,
  'unknown column': UnknownColumn,
  'syntax error': SyntaxError_,
  'duplicate uuid': DuplicateUuid,
};

/** Builds the error class for an RFC 7047 error string (a plain TransactionError for unknown strings). */
export function transactionError(
  error: string,
  details: string | undefined,
  index: number,
  operation: unknown,
  results: readonly unknown[],
): TransactionError {
  const Cls = transactionErrorClasses[error] ?? TransactionError;
  return new Cls(error, details, index, operation, results);
}

/**
 * The connection dropped after a transaction was sent and before its reply: it may or may not have
 * committed. Never replayed behind the caller's back; the caller decides (e.g. re-read, then retry).
 */
export class MaybeCommittedError extends OvsdbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVSDB_ERR_MAYBE_COMMITTED', message, options);
  }
}

export class NotConnectedError extends OvsdbError {
  constructor(message = 'not connected', options?: { cause?: unknown }) {
    super('OVSDB_ERR_NOT_CONNECTED', message, options);
  }
}

/** The server is reachable but must not be used (not the leader, cut off from its cluster, stale). */
export class NotUsableError extends OvsdbError {
  readonly endpoint: string;
  readonly reason: string;
  constructor(endpoint: string, reason: string, message: string) {
    super('OVSDB_ERR_NOT_CONNECTED', `${endpoint}: ${message}`);
    this.endpoint = endpoint;
    this.reason = reason;
  }
}

/** A problem the replica met and handled itself (an update it could not apply, a failed resync). */
export class ReplicaError extends OvsdbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVSDB_ERR_PROTOCOL', message, options);
  }
}

/** A verify conflict (optimistic concurrency) that persisted for every attempt. */
export class ConflictError extends OvsdbError {
  readonly attempts: number;
  constructor(attempts: number, options?: { cause?: unknown }) {
    super(
      'OVSDB_ERR_TRANSACTION',
      `optimistic transaction still conflicted after ${attempts} attempts`,
      options,
    );
    this.attempts = attempts;
  }
}

/**
 * The value as the caller gave it, for messages: JSON where JSON is faithful, and JavaScript's own notation
 * where it is not (JSON.stringify prints NaN and Infinity as null, a Map or Set as {}, drops undefined and
 * throws on bigint). Long output is cut at 200 characters.
 */
export function showValue(v: unknown): string {
  const s = show(v, new Set(), 0);
  return s.length > 200 ? `${s.slice(0, 199)}…` : s;
}

function show(v: unknown, seen: Set<object>, depth: number): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'boolean':
    case 'undefined':
      return String(v);
    case 'symbol':
      return v.toString();
    case 'function':
      return `[function ${v.name || '(anonymous)'}]`;
  }
  if (v === null) return 'null';
  const o = v as object;
  if (seen.has(o)) return '[circular]';
  if (depth > 4) return '[…]';
  seen.add(o);
  try {
    const inner = (x: unknown) => show(x, seen, depth + 1);
    if (Array.isArray(o)) return `[${o.map(inner).join(',')}]`;
    if (o instanceof Map) return `Map {${[...o].map(([k, x]) => `${inner(k)} => ${inner(x)}`).join(', ')}}`;
    if (o instanceof Set) return `Set {${[...o].map(inner).join(', ')}}`;
    if (o instanceof Date) return `Date ${Number.isNaN(o.getTime()) ? 'invalid' : o.toISOString()}`;
    const proto = Object.getPrototypeOf(o);
    const ctor =
      proto === null || proto === Object.prototype ? '' : `${proto.constructor?.name ?? 'object'} `;
    const body = Object.entries(o).map(([k, x]) => `${JSON.stringify(k)}:${inner(x)}`);
    return `${ctor}{${body.join(',')}}`;
  } finally {
    seen.delete(o);
  }
}
