import { constants } from 'node:os';

/** Stable error codes of this package. */
export type NetlinkErrorCode =
  | 'NETLINK_ERR_KERNEL'
  | 'NETLINK_ERR_INVALID_ARGUMENT'
  | 'NETLINK_ERR_CLOSED'
  | 'NETLINK_ERR_TIMEOUT'
  | 'NETLINK_ERR_NATIVE'
  | 'NETLINK_ERR_PROTOCOL';

/** Root of every error this package throws; `code` is stable, `cause` carries the underlying error. */
export class NetlinkError extends Error {
  override name = 'NetlinkError';
  readonly code: NetlinkErrorCode;
  constructor(code: NetlinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}
// The kernel's EOPNOTSUPP shares its number with ENOTSUP on Linux; keep the name `ip` prints.
if (constants.errno.EOPNOTSUPP !== undefined) errnoNames.set(constants.errno.EOPNOTSUPP, 'EOPNOTSUPP');
// Not in Node's table: ERESTART (asm-generic/errno.h), nf_tables' answer to a stale NFNL_BATCH_GENID.
if (!errnoNames.has(85)) errnoNames.set(85, 'ERESTART');

/** The symbolic name of a positive errno (`17` → `'EEXIST'`), or `'E<number>'` when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

/** What failed, for error messages and for callers that branch on it. */
export interface KernelErrorContext {
  /** The operation, e.g. `'createVeth'`, `'addAddress'`, `'openNetns'`. */
  operation: string;
  /** The interface concerned, when there is one. */
  ifname?: string | undefined;
  /** The namespace the handle works in (`'host'`, a name, a path). */
  netns?: string | undefined;
  /** Anything else worth printing (`'10.0.0.1/24'`, a rule). */
  detail?: string | undefined;
}

/**
 * The kernel (or a system call) refused: `errno` is the symbolic name (`'EEXIST'`, `'ENODEV'`, `'EBUSY'`,
 * `'EPERM'`, `'ENOENT'`…), `errnoValue` the number.
 */
export class NetlinkKernelError extends NetlinkError {
  override name = 'NetlinkKernelError';
  readonly errno: string;
  readonly errnoValue: number;
  readonly operation: string;
  readonly ifname: string | undefined;
  readonly netns: string | undefined;
  readonly detail: string | undefined;
  constructor(errnoValue: number, ctx: KernelErrorContext, options?: { cause?: unknown }) {
    const errno = errnoName(errnoValue);
    const where = [
      ctx.ifname === undefined ? '' : ` interface '${ctx.ifname}'`,
      ctx.detail === undefined ? '' : ` ${ctx.detail}`,
      ctx.netns === undefined ? '' : ` (netns ${ctx.netns})`,
    ].join('');
    super('NETLINK_ERR_KERNEL', `${ctx.operation}${where}: ${errno} (${describeErrno(errnoValue)})`, options);
    this.errno = errno;
    this.errnoValue = Math.abs(errnoValue);
    this.operation = ctx.operation;
    this.ifname = ctx.ifname;
    this.netns = ctx.netns;
    this.detail = ctx.detail;
  }
}

/** Bad input, refused before anything reached the kernel: names the field, the value and what is allowed. */
export class NetlinkInvalidArgumentError extends NetlinkError {
  override name = 'NetlinkInvalidArgumentError';
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;
  constructor(field: string, value: unknown, allowed: string) {
    super('NETLINK_ERR_INVALID_ARGUMENT', `invalid ${field}: ${safeString(value)} (allowed: ${allowed})`);
    this.field = field;
    this.value = value;
    this.allowed = allowed;
  }
}

/** True when `err` is a {@link NetlinkKernelError} with one of the given errno names. */
export function isErrno(err: unknown, ...names: string[]): err is NetlinkKernelError {
  return err instanceof NetlinkKernelError && names.includes(err.errno);
}

const kernelRejected = /Request rejected: (E[A-Z0-9]+|\d+)/;

/**
 * Turns whatever a lower layer threw into a {@link NetlinkError}: the npm `netlink` package's
 * `Error('Request rejected: EEXIST')`, a libuv/Node errno error (`{code, errno}`), our addon's
 * `{errno, syscall}`.
 */
export function toNetlinkError(err: unknown, ctx: KernelErrorContext): NetlinkError {
  if (err instanceof NetlinkError) return err;
  if (err instanceof Error) {
    const m = kernelRejected.exec(err.message);
    if (m?.[1] !== undefined) {
      const v = /^\d+$/.test(m[1]) ? Number(m[1]) : constants.errno[m[1] as keyof typeof constants.errno];
      if (typeof v === 'number') return new NetlinkKernelError(v, ctx, { cause: err });
    }
    const e = err as Error & { errno?: unknown; code?: unknown };
    if (typeof e.code === 'string' && e.code in constants.errno) {
      return new NetlinkKernelError(constants.errno[e.code as keyof typeof constants.errno], ctx, {
        cause: err,
      });
    }
    if (typeof e.errno === 'number' && e.errno !== 0) {
      return new NetlinkKernelError(Math.abs(e.errno), ctx, { cause: err });
    }
    if (err.message === 'Timeout has been reached') {
      return new NetlinkError('NETLINK_ERR_TIMEOUT', `${ctx.operation}: the kernel did not answer in time`, {
        cause: err,
      });
    }
  }
  return new NetlinkError('NETLINK_ERR_PROTOCOL', `${ctx.operation}: ${safeString(err)}`, { cause: err });
}

const descriptions: Record<string, string> = {
  EEXIST: 'already exists',
  ENODEV: 'no such device',
  ENOENT: 'no such file, namespace or entry',
  EBUSY: 'busy',
  EPERM: 'operation not permitted',
  EACCES: 'permission denied',
  EINVAL: 'invalid argument',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  EOPNOTSUPP: 'operation not supported',
  ENOTCONN: 'not connected',
  ESRCH: 'no such entry',
  ENOBUFS: 'socket buffer overrun',
  EBADF: 'bad file descriptor',
  ERESTART: 'the nf_tables ruleset changed since the generation given',
};

function describeErrno(v: number): string {
  return descriptions[errnoName(v)] ?? `errno ${Math.abs(v)}`;
}

function safeString(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Error) return v.message;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
