// The CIDR rule for every layer of the plugin: pools, gateways and aux addresses of networks, IPAM requests,
// CreateEndpoint's addresses, the Orchestrator's addresses and routes. Addresses are parsed and formatted by
// netlink's parseIp/formatIp (the one address codec of the project); this module adds prefixes, numeric
// ranges for the IPAM arithmetic, and the plugin's words.
import {
  type IpBytes,
  formatIp as netlinkFormatIp,
  parseIp as netlinkParseIp,
} from '@ovs-container-network/netlink';
import { IpamError, show } from '../errors.js';

export interface Cidr {
  v6: boolean;
  /** Network address as a number. */
  base: bigint;
  prefix: number;
  size: bigint;
  text: string;
}

export function parseCidr(field: string, text: string, v6?: boolean): Cidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  const addr = m?.[1];
  const len = m?.[2];
  if (addr === undefined || len === undefined) {
    throw new IpamError(`${field} ${show(text)} is not a CIDR such as 10.1.0.0/24 or fd00::/64`);
  }
  const isV6 = addr.includes(':');
  if (v6 !== undefined && isV6 !== v6) {
    throw new IpamError(`${field} ${show(text)} is not an ${v6 ? 'IPv6' : 'IPv4'} CIDR`);
  }
  const bits = isV6 ? 128 : 32;
  const prefix = Number(len);
  if (prefix > bits) throw new IpamError(`${field} ${show(text)}: prefix length above ${bits}`);
  const value = parseIp(field, addr, isV6);
  const size = 1n << BigInt(bits - prefix);
  const base = (value / size) * size;
  return { v6: isV6, base, prefix, size, text: `${formatIp(base, isV6)}/${prefix}` };
}

export function parseIp(field: string, text: string, v6?: boolean): bigint {
  const isV6 = v6 ?? text.includes(':');
  let ip: IpBytes;
  try {
    ip = netlinkParseIp(text, field);
  } catch (err) {
    throw new IpamError(`${field} ${show(text)} is not an ${isV6 ? 'IPv6' : 'IPv4'} address`, {
      cause: err,
    });
  }
  if ((ip.family === 6) !== isV6)
    throw new IpamError(`${field} ${show(text)} is not an ${isV6 ? 'IPv6' : 'IPv4'} address`);
  let v = 0n;
  for (const b of ip.bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** The text of an address (IPv6 in RFC 5952 form, netlink's formatIp). */
export function formatIp(value: bigint, v6: boolean): string {
  const bytes = new Uint8Array(v6 ? 16 : 4);
  let v = value;
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return netlinkFormatIp(bytes);
}

export function contains(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.v6 === inner.v6 && inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size
  );
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.v6 === b.v6 && a.base < b.base + b.size && b.base < a.base + a.size;
}

export function cidrContainsIp(cidrText: string, ipText: string): boolean {
  const c = parseCidr('subnet', cidrText);
  const v = parseIp('address', ipText.replace(/\/\d+$/, ''), c.v6);
  return v >= c.base && v < c.base + c.size;
}

/** The canonical text of an address (bare or "ip/len"), as the IPAM state records it; undefined if invalid. */
export function canonicalIp(text: string): string | undefined {
  try {
    const bareIp = text.replace(/\/\d+$/, '');
    const v6 = bareIp.includes(':');
    return formatIp(parseIp('address', bareIp, v6), v6);
  } catch {
    return undefined;
  }
}

/** True when two CIDRs (of the same family) share an address. */
export function cidrsOverlap(a: string, b: string): boolean {
  return overlaps(parseCidr('subnet', a), parseCidr('subnet', b));
}

export const CIDR_ALLOWED = 'an address in CIDR form, e.g. 10.0.0.2/24 or fd00::2/64';

/**
 * An address with its prefix length ("10.0.0.2/24"), as the Orchestrator takes it: the address, the length
 * and the family; or what is allowed.
 */
export function addressCidr(
  value: unknown,
): { address: string; prefix: number; family: 4 | 6 } | { problem: string } {
  if (typeof value !== 'string') return { problem: CIDR_ALLOWED };
  const slash = value.indexOf('/');
  if (slash < 0) return { problem: CIDR_ALLOWED };
  const address = value.slice(0, slash);
  const family = ipFamily(address);
  if (family === undefined) return { problem: CIDR_ALLOWED };
  const lenText = value.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max)
    return { problem: `${CIDR_ALLOWED}; the prefix length is 0..${max}` };
  return { address, prefix: Number(lenText), family };
}

/** 4 or 6 for an IPv4 or IPv6 address text, else undefined. */
export function ipFamily(value: unknown): 4 | 6 | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return netlinkParseIp(value).family;
  } catch {
    return undefined;
  }
}
