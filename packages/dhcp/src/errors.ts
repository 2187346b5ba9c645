/** Stable error codes of this package. */
export type DhcpErrorCode =
  | 'DHCP_ERR_INVALID_ARGUMENT'
  | 'DHCP_ERR_MALFORMED'
  | 'DHCP_ERR_NO_ANSWER'
  | 'DHCP_ERR_NAK'
  | 'DHCP_ERR_ABORTED'
  | 'DHCP_ERR_STATE'
  | 'DHCP_ERR_IO';

/** Root of every error this package throws; `code` is stable, `cause` carries the underlying error. */
export class DhcpError extends Error {
  override name = 'DhcpError';
  readonly code: DhcpErrorCode;
  constructor(code: DhcpErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Bad input, refused before anything was sent: names the field, the value and what is allowed. */
export class DhcpInvalidArgumentError extends DhcpError {
  override name = 'DhcpInvalidArgumentError';
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;
  constructor(field: string, value: unknown, allowed: string, options?: { cause?: unknown }) {
    super(
      'DHCP_ERR_INVALID_ARGUMENT',
      `invalid ${field}: ${safeString(value)} (allowed: ${allowed})`,
      options,
    );
    this.field = field;
    this.value = value;
    this.allowed = allowed;
  }
}

/** A message or frame that does not decode: `offset` is where in the input it went wrong. */
export class DhcpMalformedError extends DhcpError {
  override name = 'DhcpMalformedError';
  readonly offset: number;
  constructor(message: string, offset: number) {
    super('DHCP_ERR_MALFORMED', `malformed DHCP message at byte ${offset}: ${message}`);
    this.offset = offset;
  }
}

/** Where an exchange happened, for errors that name the interface, the MAC and the server. */
export interface ExchangeContext {
  netns: string;
  ifname: string;
  mac: string;
}

/** Nothing (or nothing usable) answered within the bounded time: says what was sent and how often. */
export class DhcpNoAnswerError extends DhcpError {
  override name = 'DhcpNoAnswerError';
  readonly context: ExchangeContext;
  readonly waitingFor: string;
  readonly attempts: number;
  readonly elapsedMs: number;
  constructor(ctx: ExchangeContext, waitingFor: string, attempts: number, elapsedMs: number) {
    super(
      'DHCP_ERR_NO_ANSWER',
      `no DHCP server answered on interface '${ctx.ifname}' (netns ${ctx.netns}) for MAC ${ctx.mac}: ` +
        `${waitingFor} — ${attempts} attempt(s) in ${Math.round(elapsedMs)} ms`,
    );
    this.context = ctx;
    this.waitingFor = waitingFor;
    this.attempts = attempts;
    this.elapsedMs = elapsedMs;
  }
}

/** The server refused the address (DHCPNAK, RFC 2131 §4.3.2); `serverMessage` is its option 56, if any. */
export class DhcpNakError extends DhcpError {
  override name = 'DhcpNakError';
  readonly context: ExchangeContext;
  readonly server: string;
  readonly serverMessage: string | undefined;
  constructor(ctx: ExchangeContext, server: string, serverMessage: string | undefined, address: string) {
    super(
      'DHCP_ERR_NAK',
      `DHCP server ${server} refused ${address} for MAC ${ctx.mac} on '${ctx.ifname}' (netns ${ctx.netns})` +
        (serverMessage === undefined ? '' : `: ${serverMessage}`),
    );
    this.context = ctx;
    this.server = server;
    this.serverMessage = serverMessage;
  }
}

export function safeString(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
