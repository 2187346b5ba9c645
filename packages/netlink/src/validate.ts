import { NetlinkInvalidArgumentError } from './errors.js';

/** IFNAMSIZ is 16 including the terminating NUL (include/uapi/linux/if.h). */
export const IFNAME_MAX_BYTES = 15;

const IFNAME_ALLOWED = `1..${IFNAME_MAX_BYTES} bytes, no '/', ':', whitespace or NUL, not '.' or '..'`;

/**
 * Checks an interface name the way the kernel's dev_valid_name() does (net/core/dev.c), plus ':' which the
 * kernel reserves for aliases; throws a {@link NetlinkInvalidArgumentError} naming `field`.
 */
export function validateIfname(name: unknown, field = 'ifname'): string {
  if (typeof name !== 'string') throw new NetlinkInvalidArgumentError(field, name, IFNAME_ALLOWED);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0 || bytes > IFNAME_MAX_BYTES || name === '.' || name === '..' || /[/:\s\0]/u.test(name)) {
    throw new NetlinkInvalidArgumentError(field, name, IFNAME_ALLOWED);
  }
  return name;
}

const NETNS_ALLOWED = "1..255 bytes, no '/', whitespace or NUL, not '.' or '..'";

/** Checks a named-namespace name (a file name under /run/netns, as `ip netns add` requires). */
export function validateNetnsName(name: unknown, field = 'netns'): string {
  if (typeof name !== 'string') throw new NetlinkInvalidArgumentError(field, name, NETNS_ALLOWED);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0 || bytes > 255 || name === '.' || name === '..' || /[/\s\0]/u.test(name)) {
    throw new NetlinkInvalidArgumentError(field, name, NETNS_ALLOWED);
  }
  return name;
}

/** MTU range accepted here: 68 (IPv4 minimum) .. 65535 (veth's maximum). */
export function validateMtu(mtu: unknown, field = 'mtu'): number {
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw new NetlinkInvalidArgumentError(field, mtu, 'an integer 68..65535');
  }
  return mtu;
}

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated) into 6 bytes; refuses multicast and all-zero addresses. */
export function parseMac(mac: unknown, field = 'mac'): Buffer {
  const allowed = "6 hex octets 'aa:bb:cc:dd:ee:ff', unicast (lowest bit of the first octet 0), not all zero";
  if (typeof mac !== 'string' || !/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/iu.test(mac)) {
    throw new NetlinkInvalidArgumentError(field, mac, allowed);
  }
  const b = Buffer.from(mac.split(/[:-]/u).map((h) => Number.parseInt(h, 16)));
  if (((b[0] ?? 0) & 1) === 1 || b.every((x) => x === 0))
    throw new NetlinkInvalidArgumentError(field, mac, allowed);
  return b;
}

/** Formats 6 bytes as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** An unsigned 32-bit integer (link group, table, priority, fwmark). */
export function validateU32(v: unknown, field: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 0xffffffff) {
    throw new NetlinkInvalidArgumentError(field, v, `an integer ${min}..4294967295`);
  }
  return v;
}

/** A request timeout in milliseconds (a positive integer); `undefined` gives `fallback`. */
export function validateTimeoutMs(v: unknown, fallback: number, field = 'timeoutMs'): number {
  const ms = v ?? fallback;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms <= 0) {
    throw new NetlinkInvalidArgumentError(field, v, 'a positive integer (milliseconds)');
  }
  return ms;
}
