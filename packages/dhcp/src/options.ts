// DHCP options (RFC 2132) as typed fields, and their TLV encoding: code (1 byte), length (1 byte), data.
// PAD (0) and END (255) have no length byte (RFC 2132 §3.1, §3.2). An option longer than 255 bytes is split
// into several instances of the same code, which the decoder concatenates in order (RFC 3396 §5–§7).
import { formatIpv4, ipv4Bytes } from './addr.js';
import { DhcpInvalidArgumentError, DhcpMalformedError } from './errors.js';

/** Option codes this package reads or writes (RFC 2132 unless noted). */
export const Option = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVER: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST_ADDRESS: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  END: 255,
} as const;

/** DHCP message types, option 53 (RFC 2132 §9.6). */
export const MESSAGE_TYPES = [
  'DISCOVER',
  'OFFER',
  'REQUEST',
  'DECLINE',
  'ACK',
  'NAK',
  'RELEASE',
  'INFORM',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** The options of one message. Times are in seconds. Options this package does not know stay in `other`. */
export interface DhcpOptions {
  messageType?: MessageType;
  subnetMask?: string;
  routers?: string[];
  dnsServers?: string[];
  hostname?: string;
  domainName?: string;
  broadcastAddress?: string;
  requestedIp?: string;
  leaseTime?: number;
  serverId?: string;
  parameterRequestList?: number[];
  message?: string;
  maxMessageSize?: number;
  renewalTime?: number;
  rebindingTime?: number;
  /** Option 61, raw: type byte then identifier (RFC 2132 §9.14; RFC 4361 uses type 255, IAID, DUID). */
  clientId?: Buffer;
  /** Any other option, by code, raw (concatenated when split, RFC 3396). */
  other?: Map<number, Buffer>;
}

type Kind = 'ip' | 'ips' | 'u32' | 'u16' | 'string' | 'bytes' | 'codes' | 'type';
interface Spec {
  code: number;
  key: Exclude<keyof DhcpOptions, 'other'>;
  kind: Kind;
  /** Minimum data length (RFC 2132 states one for every option). */
  min: number;
}

const SPECS: readonly Spec[] = [
  { code: Option.MESSAGE_TYPE, key: 'messageType', kind: 'type', min: 1 },
  { code: Option.SUBNET_MASK, key: 'subnetMask', kind: 'ip', min: 4 },
  { code: Option.ROUTER, key: 'routers', kind: 'ips', min: 4 },
  { code: Option.DNS_SERVER, key: 'dnsServers', kind: 'ips', min: 4 },
  { code: Option.HOSTNAME, key: 'hostname', kind: 'string', min: 1 },
  { code: Option.DOMAIN_NAME, key: 'domainName', kind: 'string', min: 1 },
  { code: Option.BROADCAST_ADDRESS, key: 'broadcastAddress', kind: 'ip', min: 4 },
  { code: Option.REQUESTED_IP, key: 'requestedIp', kind: 'ip', min: 4 },
  { code: Option.LEASE_TIME, key: 'leaseTime', kind: 'u32', min: 4 },
  { code: Option.SERVER_ID, key: 'serverId', kind: 'ip', min: 4 },
  { code: Option.PARAMETER_REQUEST_LIST, key: 'parameterRequestList', kind: 'codes', min: 1 },
  { code: Option.MESSAGE, key: 'message', kind: 'string', min: 1 },
  { code: Option.MAX_MESSAGE_SIZE, key: 'maxMessageSize', kind: 'u16', min: 2 },
  { code: Option.RENEWAL_TIME, key: 'renewalTime', kind: 'u32', min: 4 },
  { code: Option.REBINDING_TIME, key: 'rebindingTime', kind: 'u32', min: 4 },
  { code: Option.CLIENT_ID, key: 'clientId', kind: 'bytes', min: 2 },
];
const BY_CODE = new Map(SPECS.map((s) => [s.code, s]));
const FIXED: Partial<Record<Kind, number>> = { ip: 4, u32: 4, u16: 2, type: 1 };

function encodeValue(spec: Spec, value: unknown): Buffer {
  const field = `options.${spec.key}`;
  switch (spec.kind) {
    case 'type': {
      const i = MESSAGE_TYPES.indexOf(value as MessageType);
      if (i < 0) throw new DhcpInvalidArgumentError(field, value, MESSAGE_TYPES.join(', '));
      return Buffer.of(i + 1);
    }
    case 'ip':
      return ipv4Bytes(value, field);
    case 'ips': {
      if (!Array.isArray(value) || value.length === 0) {
        throw new DhcpInvalidArgumentError(field, value, 'a non-empty array of IPv4 addresses');
      }
      return Buffer.concat(value.map((v, i) => ipv4Bytes(v, `${field}[${i}]`)));
    }
    case 'u32':
    case 'u16': {
      const max = spec.kind === 'u32' ? 0xffffffff : 0xffff;
      const min = spec.code === Option.MAX_MESSAGE_SIZE ? 576 : 0;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new DhcpInvalidArgumentError(field, value, `an integer from ${min} to ${max}`);
      }
      const b = Buffer.alloc(spec.kind === 'u32' ? 4 : 2);
      if (spec.kind === 'u32') b.writeUInt32BE(value);
      else b.writeUInt16BE(value);
      return b;
    }
    case 'string': {
      if (typeof value !== 'string' || value.length === 0 || /\0/u.test(value)) {
        throw new DhcpInvalidArgumentError(field, value, 'a non-empty string without NUL');
      }
      return Buffer.from(value, 'utf8');
    }
    case 'bytes': {
      if (!Buffer.isBuffer(value) || value.length < spec.min) {
        throw new DhcpInvalidArgumentError(field, value, `a Buffer of at least ${spec.min} bytes`);
      }
      return value;
    }
    case 'codes': {
      if (
        !Array.isArray(value) ||
        value.length === 0 ||
        value.some((c) => !Number.isInteger(c) || c < 1 || c > 254)
      ) {
        throw new DhcpInvalidArgumentError(field, value, 'a non-empty array of option codes 1..254');
      }
      return Buffer.from(value as number[]);
    }
  }
}

function pushTlv(out: Buffer[], code: number, data: Buffer): void {
  // RFC 3396 §7: a value longer than 255 bytes is carried by consecutive instances of the option.
  if (data.length === 0) {
    out.push(Buffer.of(code, 0));
    return;
  }
  for (let off = 0; off < data.length; off += 255) {
    const part = data.subarray(off, off + 255);
    out.push(Buffer.of(code, part.length), part);
  }
}

/** Encodes options as TLVs, message type first, then by code, then END. Validates every value. */
export function encodeOptions(opts: DhcpOptions): Buffer {
  const out: Buffer[] = [];
  for (const spec of SPECS) {
    const v = opts[spec.key];
    if (v !== undefined) pushTlv(out, spec.code, encodeValue(spec, v));
  }
  for (const [code, data] of [...(opts.other ?? new Map<number, Buffer>())].sort((a, b) => a[0] - b[0])) {
    if (!Number.isInteger(code) || code < 1 || code > 254 || BY_CODE.has(code) || code === Option.OVERLOAD) {
      throw new DhcpInvalidArgumentError(
        'options.other',
        code,
        'an option code 1..254 that has no typed field (and is not 52, overload)',
      );
    }
    if (!Buffer.isBuffer(data))
      throw new DhcpInvalidArgumentError(`options.other[${code}]`, data, 'a Buffer');
    pushTlv(out, code, data);
  }
  out.push(Buffer.of(Option.END));
  return Buffer.concat(out);
}

/**
 * Splits one option area into (code, data) pairs, appended to `into` (RFC 3396: same code concatenates).
 * `base` is the area's offset in the whole message; `offsets` gets where each code first appears, for errors.
 * An area must end with END.
 */
export function scanOptionArea(
  area: Buffer,
  base: number,
  into: Map<number, Buffer[]>,
  offsets: Map<number, number>,
  what: string,
): void {
  let i = 0;
  while (i < area.length) {
    const code = area[i] as number;
    if (code === Option.PAD) {
      i++;
      continue;
    }
    if (code === Option.END) return;
    if (i + 1 >= area.length)
      throw new DhcpMalformedError(`option ${code} in ${what} has no length byte`, base + i);
    const len = area[i + 1] as number;
    if (i + 2 + len > area.length) {
      throw new DhcpMalformedError(
        `option ${code} in ${what} says ${len} bytes but only ${area.length - i - 2} remain`,
        base + i,
      );
    }
    const list = into.get(code) ?? [];
    list.push(area.subarray(i + 2, i + 2 + len));
    into.set(code, list);
    if (!offsets.has(code)) offsets.set(code, base + i);
    i += 2 + len;
  }
  throw new DhcpMalformedError(`${what} has no END option (255)`, base + area.length);
}

/** Turns the raw (code → data) map into typed options, checking each known option's length and value. */
export function typedOptions(raw: Map<number, Buffer[]>, offsets: Map<number, number>): DhcpOptions {
  const opts: DhcpOptions = {};
  const other = new Map<number, Buffer>();
  for (const [code, parts] of raw) {
    const data = Buffer.concat(parts);
    if (code === Option.OVERLOAD) continue;
    const spec = BY_CODE.get(code);
    if (spec === undefined) {
      other.set(code, data);
      continue;
    }
    const at = offsets.get(code) ?? 0;
    const fixed = FIXED[spec.kind];
    if (fixed !== undefined ? data.length !== fixed : data.length < spec.min) {
      throw new DhcpMalformedError(
        `option ${code} (${spec.key}) has ${data.length} bytes, wants ${fixed ?? `at least ${spec.min}`}`,
        at,
      );
    }
    if (spec.kind === 'ips' && data.length % 4 !== 0) {
      throw new DhcpMalformedError(
        `option ${code} (${spec.key}) length ${data.length} is not a multiple of 4`,
        at,
      );
    }
    (opts as Record<string, unknown>)[spec.key] = decodeValue(spec, data, at);
  }
  if (other.size > 0) opts.other = other;
  return opts;
}

function decodeValue(spec: Spec, data: Buffer, at: number): unknown {
  switch (spec.kind) {
    case 'type': {
      const t = MESSAGE_TYPES[(data[0] as number) - 1];
      if (t === undefined) throw new DhcpMalformedError(`message type ${data[0]} is not 1..8`, at);
      return t;
    }
    case 'ip':
      return formatIpv4(data);
    case 'ips': {
      const ips: string[] = [];
      for (let i = 0; i < data.length; i += 4) ips.push(formatIpv4(data, i));
      return ips;
    }
    case 'u32':
      return data.readUInt32BE(0);
    case 'u16':
      return data.readUInt16BE(0);
    case 'string':
      // Some servers NUL-terminate strings (RFC 2132 §2 says they should not); tolerate trailing NULs.
      return data.toString('utf8').replace(/\0+$/u, '');
    case 'bytes':
      return Buffer.from(data);
    case 'codes':
      return [...data];
  }
}

/** Option 61 of type 1 (RFC 2132 §9.14): the hardware type (1, Ethernet) followed by the MAC. */
export function clientIdFromMac(mac: Buffer): Buffer {
  return Buffer.concat([Buffer.of(1), mac]);
}

/** Option 61 as RFC 4361 §6.1 defines it: type 255, a 4-byte IAID, then a DUID (RFC 8415). */
export function rfc4361ClientId(iaid: number, duid: Buffer): Buffer {
  if (!Number.isInteger(iaid) || iaid < 0 || iaid > 0xffffffff) {
    throw new DhcpInvalidArgumentError('iaid', iaid, 'an integer from 0 to 4294967295');
  }
  if (!Buffer.isBuffer(duid) || duid.length < 3 || duid.length > 130) {
    throw new DhcpInvalidArgumentError('duid', duid, 'a Buffer of 3 to 130 bytes (RFC 8415 §11)');
  }
  const b = Buffer.alloc(5);
  b[0] = 255;
  b.writeUInt32BE(iaid, 1);
  return Buffer.concat([b, duid]);
}
