// Errors of @ovs-container-network/ovn. One root class with a stable `code`; subclasses carry context and
// always keep the lower layer's error as `cause` (an OvsdbError from the transaction, usually).

export type OvnErrorCode =
  | 'OVN_ERR_INVALID_ARGUMENT'
  | 'OVN_ERR_NOT_FOUND'
  | 'OVN_ERR_CONFLICT'
  | 'OVN_ERR_TRANSACTION'
  | 'OVN_ERR_TIMEOUT'
  | 'OVN_ERR_ABORTED';

/** Root of every error this package throws; `code` is stable, `cause` carries the underlying error. */
export class OvnError extends Error {
  readonly code: OvnErrorCode;
  constructor(code: OvnErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Bad input, refused before any operation was added: names the field, the value and what is allowed. */
export class OvnInvalidArgumentError extends OvnError {
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;
  constructor(field: string, value: unknown, allowed: string, options?: { cause?: unknown }) {
    super('OVN_ERR_INVALID_ARGUMENT', `invalid ${field}: ${show(value)} (allowed: ${allowed})`, options);
    this.field = field;
    this.value = value;
    this.allowed = allowed;
  }
}

/** A row the operation needs (a parent switch or router, say) does not exist. */
export class OvnNotFoundError extends OvnError {
  readonly table: string;
  readonly key: string;
  constructor(table: string, key: string, message?: string, options?: { cause?: unknown }) {
    super('OVN_ERR_NOT_FOUND', message ?? `${table} ${key} does not exist`, options);
    this.table = table;
    this.key = key;
  }
}

/**
 * A guard (`wait`/`verify`) in the transaction failed: another writer changed what this one read. Safe to
 * rebuild the transaction from a fresh read and retry.
 */
export class OvnConflictError extends OvnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVN_ERR_CONFLICT', message, options);
  }
}

/** The server refused the transaction for another reason (constraint, referential integrity, …). */
export class OvnTransactionError extends OvnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVN_ERR_TRANSACTION', message, options);
  }
}

/** Something awaited did not happen in time; the message names what. */
export class OvnTimeoutError extends OvnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVN_ERR_TIMEOUT', message, options);
  }
}

/** The caller's AbortSignal fired. */
export class OvnAbortError extends OvnError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('OVN_ERR_ABORTED', message, options);
  }
}
