// Errors of @ovs-container-network/docker-plugin. One root class with a stable `code`; subclasses carry
// context. The HTTP layer turns every error into `500 {"Err": message}` (moby pkg/plugins: any status but
// 200 is an error and the body's Err is shown to the user), so messages are written for the user.
import { RowCountMismatch, TransactionError } from '@ovs-container-network/ovsdb';

export type PluginErrorCode =
  | 'PLUGIN_ERR_INVALID_OPTION'
  | 'PLUGIN_ERR_INVALID_REQUEST'
  | 'PLUGIN_ERR_CONFLICT'
  | 'PLUGIN_ERR_NOT_FOUND'
  | 'PLUGIN_ERR_IPAM'
  | 'PLUGIN_ERR_OVSDB'
  | 'PLUGIN_ERR_NETLINK'
  | 'PLUGIN_ERR_WIRING'
  | 'PLUGIN_ERR_INTERNAL';

export class PluginError extends Error {
  readonly code: PluginErrorCode;
  constructor(code: PluginErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A network/endpoint option (`-o k=v`, compose `driver_opts`) or a CLI flag was wrong. */
export class InvalidOptionError extends PluginError {
  readonly option: string;
  readonly value: unknown;
  readonly allowed: string;
  constructor(option: string, value: unknown, allowed: string, options?: { cause?: unknown }) {
    super(
      'PLUGIN_ERR_INVALID_OPTION',
      `invalid option ${option}=${show(value)}: expected ${allowed}`,
      options,
    );
    this.option = option;
    this.value = value;
    this.allowed = allowed;
  }
}

/** A request body is not what the Docker plugin API sends (bad JSON, missing or mistyped field). */
export class InvalidRequestError extends PluginError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PLUGIN_ERR_INVALID_REQUEST', message, options);
  }
}

/**
 * A call that needs its body arrived with an empty one. moby's plugin client (pkg/plugins/client.go,
 * callWithRetry) resends a call whose attempt failed on the connection — e.g. because the plugin was
 * restarted while the call was in flight — building the new request from the body reader the first attempt
 * already consumed, so the resend carries `Content-Length: 0`.
 */
export class ResentWithoutBodyError extends InvalidRequestError {
  readonly call: string;
  constructor(call: string) {
    super(
      `${call} arrived without its body: Docker resent it after its first attempt was cut off (the plugin restarted while the call was in flight), and Docker's plugin client resends an empty body (moby pkg/plugins/client.go); nothing was done, retry the command`,
    );
    this.call = call;
  }
}

/** The request conflicts with what exists (a VLAN already used on the bridge, an address in use, …). */
export class ConflictError extends PluginError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PLUGIN_ERR_CONFLICT', message, options);
  }
}

export class NotFoundError extends PluginError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PLUGIN_ERR_NOT_FOUND', message, options);
  }
}

export class IpamError extends PluginError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PLUGIN_ERR_IPAM', message, options);
  }
}

/** OVSDB refused or failed a transaction; `cause` is the ovsdb package's error. */
export class OvsdbFailure extends PluginError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PLUGIN_ERR_OVSDB', message, options);
  }
}

/**
 * `what failed: <the server's error>` as an OvsdbFailure whose `cause` is the ovsdb package's error (a
 * TransactionError subclass when the server refused: its RFC 7047 error string and details are named).
 */
export function ovsdbFailure(what: string, err: unknown): OvsdbFailure {
  if (err instanceof OvsdbFailure) return err;
  const reason =
    err instanceof TransactionError && !(err instanceof RowCountMismatch)
      ? `${err.error}${err.details ? ` (${err.details})` : ''}`
      : describeError(err);
  return new OvsdbFailure(`${what} failed: ${reason}`, { cause: err });
}

/** A kernel (rtnetlink/ethtool) operation failed; `cause` is the netlink package's error. */
export class NetlinkFailure extends PluginError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PLUGIN_ERR_NETLINK', message, options);
  }
}

/** Wiring an endpoint failed; whatever was created was rolled back (`rollbackErrors` lists what was not). */
export class WiringError extends PluginError {
  readonly rollbackErrors: readonly unknown[];
  constructor(message: string, options: { cause?: unknown; rollbackErrors?: readonly unknown[] } = {}) {
    super('PLUGIN_ERR_WIRING', message, options.cause === undefined ? {} : { cause: options.cause });
    this.rollbackErrors = options.rollbackErrors ?? [];
  }
}

// ---- the Orchestrator's errors: subclasses of the same root, so a caller switches on one `code` namespace
// whichever layer failed. Each carries the context a caller acts on.

/**
 * A request field was wrong: the message names the field, the value and what is allowed. Nothing changed.
 * Code PLUGIN_ERR_INVALID_OPTION, like a bad `-o` option of the driver.
 */
export class OrchestratorArgumentError extends InvalidOptionError {
  get field(): string {
    return this.option;
  }
}

/** The Docker Engine API failed (socket unreachable, HTTP error, bad reply). Code PLUGIN_ERR_INTERNAL. */
export class DockerApiError extends PluginError {
  readonly statusCode: number | undefined;
  constructor(message: string, statusCode?: number, options?: { cause?: unknown }) {
    super('PLUGIN_ERR_INTERNAL', message, options);
    this.statusCode = statusCode;
  }
}

/**
 * The process, container or namespace to attach to does not exist (any more): it exited before or during
 * the call. Code PLUGIN_ERR_NOT_FOUND; whatever the attach had done was undone.
 */
export class TargetGoneError extends NotFoundError {}

/** No port is recorded for this container and interface. Code PLUGIN_ERR_NOT_FOUND. */
export class NotAttachedError extends NotFoundError {}

/** The interface is already attached on another bridge. Code PLUGIN_ERR_CONFLICT. */
export class AlreadyAttachedError extends ConflictError {}

/** An attach failed part-way and was rolled back (`rollbackErrors` lists what could not be). Code PLUGIN_ERR_WIRING. */
export class AttachFailedError extends WiringError {}

/** Longest part of a value echoed back in a message: enough to recognise it, never a hostile 10 KB blob. */
export const SHOW_MAX = 80;

/** A value as JSON for a message, cut to SHOW_MAX characters (the length of the rest is named). */
export function show(v: unknown): string {
  let text: string;
  if (typeof v === 'string') text = JSON.stringify(v);
  else {
    try {
      text = JSON.stringify(v) ?? String(v);
    } catch {
      text = String(v);
    }
  }
  return clip(text, SHOW_MAX);
}

/** `text` cut to `max` characters, saying how much was left out. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** The message of any thrown value, with the causes chained (`a: b: c`) so the user sees the root cause. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let i = 0; i < 4 && cur !== undefined && cur !== null; i++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    if (!parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(': ');
}
