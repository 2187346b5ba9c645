// BOOTP/DHCP messages (RFC 2131 §2, Figure 1): a fixed 236-byte header, the magic cookie 99.130.83.99
// (RFC 2131 §3), then options (RFC 2132). Pure: bytes in, values out.
import { formatIpv4, ipv4Bytes, ZERO_IP } from './addr.js';
import { DhcpInvalidArgumentError, DhcpMalformedError } from './errors.js';
import { type DhcpOptions, encodeOptions, Option, scanOptionArea, typedOptions } from './options.js';

export const BOOTP_HEADER_BYTES = 236;
export const MAGIC_COOKIE = Buffer.of(99, 130, 83, 99);
/** RFC 1542 §3.1.1: relay agents may drop BOOTP messages shorter than 300 bytes, so pad to it. */
export const BOOTP_MIN_BYTES = 300;
/** The "broadcast" bit, the leftmost of `flags` (RFC 2131 §2, Figure 2); the others must be zero. */
const BROADCAST_FLAG = 0x8000;

const SNAME = { offset: 44, length: 64 } as const;
const FILE = { offset: 108, length: 128 } as const;

export type BootpOp = 'BOOTREQUEST' | 'BOOTREPLY';

export interface DhcpMessage {
  op: BootpOp;
  /** Hardware address type (ARP's: 1 = Ethernet, RFC 1700). */
  htype: number;
  /** Hardware address length (6 for Ethernet). */
  hlen: number;
  hops: number;
  /** Transaction id the client chose; replies carry it back. */
  xid: number;
  secs: number;
  /** Ask the server to broadcast its reply (the client cannot receive unicast before it has an address). */
  broadcast: boolean;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The client's hardware address, `hlen` bytes. */
  chaddr: Buffer;
  /** Server host name and boot file (empty when unused, or when they carry options: see `overload`). */
  sname: string;
  file: string;
  options: DhcpOptions;
}

/** What a caller has to say; everything else defaults to zero / empty (Ethernet htype and hlen). */
export type DhcpMessageInit = Pick<DhcpMessage, 'op' | 'xid' | 'chaddr'> & Partial<DhcpMessage>;

function u(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new DhcpInvalidArgumentError(field, v, `an integer from 0 to ${max}`);
  }
  return v;
}

function fixedString(v: unknown, field: string, length: number): Buffer {
  const b = Buffer.alloc(length);
  if (typeof v !== 'string') throw new DhcpInvalidArgumentError(field, v, 'a string');
  const bytes = Buffer.from(v, 'utf8');
  if (bytes.length >= length || bytes.includes(0)) {
    throw new DhcpInvalidArgumentError(field, v, `at most ${length - 1} bytes without NUL`);
  }
  bytes.copy(b);
  return b;
}

/** Encodes a message; every field is validated first, and nothing is written for bad input. */
export function encodeMessage(init: DhcpMessageInit): Buffer {
  const m: DhcpMessage = {
    htype: 1,
    hlen: init.chaddr?.length ?? 6,
    hops: 0,
    secs: 0,
    broadcast: false,
    ciaddr: ZERO_IP,
    yiaddr: ZERO_IP,
    siaddr: ZERO_IP,
    giaddr: ZERO_IP,
    sname: '',
    file: '',
    options: {},
    ...init,
  };
  if (m.op !== 'BOOTREQUEST' && m.op !== 'BOOTREPLY') {
    throw new DhcpInvalidArgumentError('op', m.op, "'BOOTREQUEST' or 'BOOTREPLY'");
  }
  if (!Buffer.isBuffer(m.chaddr) || m.chaddr.length > 16) {
    throw new DhcpInvalidArgumentError('chaddr', m.chaddr, 'a Buffer of at most 16 bytes');
  }
  if (u(m.hlen, 'hlen', 16) !== m.chaddr.length) {
    throw new DhcpInvalidArgumentError('hlen', m.hlen, `the length of chaddr (${m.chaddr.length})`);
  }
  if (typeof m.broadcast !== 'boolean')
    throw new DhcpInvalidArgumentError('broadcast', m.broadcast, 'a boolean');
  const head = Buffer.alloc(BOOTP_HEADER_BYTES);
  head[0] = m.op === 'BOOTREQUEST' ? 1 : 2;
  head[1] = u(m.htype, 'htype', 255);
  head[2] = m.hlen;
  head[3] = u(m.hops, 'hops', 255);
  head.writeUInt32BE(u(m.xid, 'xid', 0xffffffff), 4);
  head.writeUInt16BE(u(m.secs, 'secs', 0xffff), 8);
  head.writeUInt16BE(m.broadcast ? BROADCAST_FLAG : 0, 10);
  ipv4Bytes(m.ciaddr, 'ciaddr').copy(head, 12);
  ipv4Bytes(m.yiaddr, 'yiaddr').copy(head, 16);
  ipv4Bytes(m.siaddr, 'siaddr').copy(head, 20);
  ipv4Bytes(m.giaddr, 'giaddr').copy(head, 24);
  m.chaddr.copy(head, 28);
  fixedString(m.sname, 'sname', SNAME.length).copy(head, SNAME.offset);
  fixedString(m.file, 'file', FILE.length).copy(head, FILE.offset);
  if (m.options === null || typeof m.options !== 'object') {
    throw new DhcpInvalidArgumentError('options', m.options, 'an object of DHCP options');
  }
  const out = Buffer.concat([head, MAGIC_COOKIE, encodeOptions(m.options)]);
  return out.length >= BOOTP_MIN_BYTES
    ? out
    : Buffer.concat([out, Buffer.alloc(BOOTP_MIN_BYTES - out.length)]);
}

function cString(b: Buffer, offset: number, length: number, field: string): string {
  const area = b.subarray(offset, offset + length);
  const nul = area.indexOf(0);
  const text = area.subarray(0, nul < 0 ? length : nul);
  if (nul < 0) throw new DhcpMalformedError(`${field} is not NUL-terminated`, offset);
  return text.toString('utf8');
}

/**
 * Decodes a message, strictly: op 1 or 2, hlen ≤ 16, the magic cookie, well-formed options ending with END,
 * known options of legal lengths. Option 52 (overload, RFC 2132 §9.3) makes `file` (1), `sname` (2) or both
 * (3) carry further options, read after the options field in that order (RFC 2131 §4.1).
 */
export function decodeMessage(b: Buffer): DhcpMessage {
  if (b.length < BOOTP_HEADER_BYTES + MAGIC_COOKIE.length) {
    throw new DhcpMalformedError(
      `${b.length} bytes is shorter than the 240-byte header and cookie`,
      b.length,
    );
  }
  const opByte = b[0] as number;
  if (opByte !== 1 && opByte !== 2) throw new DhcpMalformedError(`op ${opByte} is neither 1 nor 2`, 0);
  const hlen = b[2] as number;
  if (hlen > 16) throw new DhcpMalformedError(`hlen ${hlen} exceeds the 16-byte chaddr field`, 2);
  if (!b.subarray(236, 240).equals(MAGIC_COOKIE)) {
    throw new DhcpMalformedError(
      `magic cookie is ${[...b.subarray(236, 240)].join('.')}, not 99.130.83.99`,
      236,
    );
  }
  const raw = new Map<number, Buffer[]>();
  const where = new Map<number, number>();
  const scan = (area: Buffer, base: number, what: string): void =>
    scanOptionArea(area, base, raw, where, what);
  scan(b.subarray(240), 240, 'the options field');
  let overload = 0;
  const ov = raw.get(Option.OVERLOAD);
  if (ov !== undefined) {
    const data = Buffer.concat(ov);
    if (data.length !== 1 || (data[0] as number) < 1 || (data[0] as number) > 3) {
      throw new DhcpMalformedError(
        `option 52 (overload) must be one byte 1, 2 or 3`,
        where.get(Option.OVERLOAD) ?? 240,
      );
    }
    overload = data[0] as number;
    if (overload & 1) scan(b.subarray(FILE.offset, FILE.offset + FILE.length), FILE.offset, 'the file field');
    if (overload & 2)
      scan(b.subarray(SNAME.offset, SNAME.offset + SNAME.length), SNAME.offset, 'the sname field');
  }
  const flags = b.readUInt16BE(10);
  return {
    op: opByte === 1 ? 'BOOTREQUEST' : 'BOOTREPLY',
    htype: b[1] as number,
    hlen,
    hops: b[3] as number,
    xid: b.readUInt32BE(4),
    secs: b.readUInt16BE(8),
    broadcast: (flags & BROADCAST_FLAG) !== 0,
    ciaddr: formatIpv4(b, 12),
    yiaddr: formatIpv4(b, 16),
    siaddr: formatIpv4(b, 20),
    giaddr: formatIpv4(b, 24),
    chaddr: Buffer.from(b.subarray(28, 28 + hlen)),
    sname: overload & 2 ? '' : cString(b, SNAME.offset, SNAME.length, 'sname'),
    file: overload & 1 ? '' : cString(b, FILE.offset, FILE.length, 'file'),
    options: typedOptions(raw, where),
  };
}
