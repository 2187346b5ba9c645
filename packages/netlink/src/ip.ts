import { IPv6 } from 'ip-num';
import { NetlinkInvalidArgumentError } from './errors.js';

export const AF_INET = 2;
export const AF_INET6 = 10;

export type Family = 4 | 6;

/** An IP address as the kernel wants it: family and network-order bytes (4 or 16). */
export interface IpBytes {
  family: Family;
  bytes: Buffer;
}

/** An address or network with a prefix length (`10.0.0.2/24`, `fd00::/64`). */
export interface Cidr extends IpBytes {
  prefixLen: number;
}

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/u;

/** Parses IPv4 dotted quad or IPv6 text into bytes; throws a field-naming error for anything else. */
export function parseIp(text: unknown, field = 'address'): IpBytes {
  if (typeof text === 'string') {
    if (V4.test(text)) return { family: 4, bytes: Buffer.from(text.split('.').map(Number)) };
    if (text.includes(':') && !text.includes('%')) {
      try {
        let v = IPv6.fromString(text).getValue();
        const bytes = Buffer.alloc(16);
        for (let i = 15; i >= 0; i--) {
          bytes[i] = Number(v & 0xffn);
          v >>= 8n;
        }
        return { family: 6, bytes };
      } catch {
        // fall through to the error below
      }
    }
  }
  throw new NetlinkInvalidArgumentError(field, text, "an IPv4 address 'a.b.c.d' or an IPv6 address");
}

/** Parses `addr/len`; `len` defaults to 32/128 when `requirePrefix` is false. */
export function parseCidr(text: unknown, field = 'address', requirePrefix = true): Cidr {
  const allowed = "'a.b.c.d/len' (len 0..32) or 'ipv6/len' (len 0..128)";
  if (typeof text !== 'string') throw new NetlinkInvalidArgumentError(field, text, allowed);
  const slash = text.indexOf('/');
  if (slash < 0 && requirePrefix) throw new NetlinkInvalidArgumentError(field, text, allowed);
  const ip = slash < 0 ? parseIp(text, field) : parseIpOr(text.slice(0, slash), field, text, allowed);
  const max = ip.family === 4 ? 32 : 128;
  if (slash < 0) return { ...ip, prefixLen: max };
  const lenText = text.slice(slash + 1);
  const len = /^\d{1,3}$/u.test(lenText) ? Number(lenText) : Number.NaN;
  if (!(len >= 0 && len <= max)) throw new NetlinkInvalidArgumentError(field, text, allowed);
  return { ...ip, prefixLen: len };
}

function parseIpOr(addr: string, field: string, whole: string, allowed: string): IpBytes {
  try {
    return parseIp(addr, field);
  } catch {
    throw new NetlinkInvalidArgumentError(field, whole, allowed);
  }
}

/** Formats 4 or 16 network-order bytes as text (IPv6 in RFC 5952 canonical form). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new RangeError(`formatIp: expected 4 or 16 bytes, got ${bytes.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952 §4.2: compress the longest run (first on a tie) of at least two zero groups.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The kernel address family number for 4 / 6. */
export function afOf(family: Family): number {
  return family === 4 ? AF_INET : AF_INET6;
}

/** The directed broadcast address of an IPv4 network (`10.0.0.2/24` → `10.0.0.255`). */
export function ipv4Broadcast(c: Cidr): Buffer {
  const out = Buffer.from(c.bytes);
  const host = 32 - c.prefixLen;
  const v = (out.readUInt32BE(0) | (host >= 32 ? 0xffffffff : (1 << host) - 1)) >>> 0;
  out.writeUInt32BE(v, 0);
  return out;
}

/** The netmask of a prefix as network-order bytes (`4, 20` → ff ff f0 00). */
export function prefixMask(family: Family, prefixLen: number): Buffer {
  const out = Buffer.alloc(family === 4 ? 4 : 16);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLen - i * 8));
    out[i] = (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

/** The network part only (host bits cleared): the kernel refuses a route dst with host bits set (EINVAL). */
export function maskNetwork(c: Cidr): Buffer {
  const mask = prefixMask(c.family, c.prefixLen);
  return Buffer.from(c.bytes.map((b, i) => b & (mask[i] ?? 0)));
}
