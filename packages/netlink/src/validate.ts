import { NetlinkInvalidArgumentError } from './errors.js';

/** IFNAMSIZ is 16 including the terminating NUL (include/uapi/linux/if.h). */
export const IFNAME_MAX_BYTES = 15;

const IFNAME_ALLOWED = `1..${IFNAME_MAX_BYTES} bytes, no '/', ':', whitespace or control characters, not '.' or '..'`;

/**
 * The interface-name rule, the one home of it (the docker-plugin's rules build on it): the kernel's
 * dev_valid_name() (net/core/dev.c: 1..15 bytes, not "." or "..", no '/' or whitespace), plus ':' which the
 * kernel reserves for aliases, and no control characters (NUL included), which would garble logs.
 */
export function isValidIfname(name: unknown): name is string {
  if (typeof name !== 'string') return false;
  const bytes = Buffer.byteLength(name, 'utf8');
  return (
    bytes > 0 &&
    bytes <= IFNAME_MAX_BYTES &&
    name !== '.' &&
    name !== '..' &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and control characters are refused
    !/[/:\s\u0000-\u001f\u007f]/u.test(name)
  );
}

/** Checks an interface name (isValidIfname); throws a {@link NetlinkInvalidArgumentError} naming `field`. */
export function validateIfname(name: unknown, field = 'ifname'): string {
  if (!isValidIfname(name)) throw new NetlinkInvalidArgumentError(field, name, IFNAME_ALLOWED);
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

/** The smallest MTU accepted: IPv4's minimum (RFC 791). */
export const MTU_MIN = 68;
/** The largest MTU accepted: ETH_MAX_MTU, a veth's max_mtu (drivers/net/veth.c). */
export const MTU_MAX = 65535;

/** MTU range accepted here: MTU_MIN .. MTU_MAX. */
export function validateMtu(mtu: unknown, field = 'mtu'): number {
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < MTU_MIN || mtu > MTU_MAX) {
    throw new NetlinkInvalidArgumentError(field, mtu, `an integer ${MTU_MIN}..${MTU_MAX}`);
  }
  return mtu;
}

/**
 * The MAC-address rule, the one home of it: six hex octets separated by ':' or '-', unicast (the lowest bit
 * of the first octet 0, IEEE 802) and not all zero — what an interface can be given. Undefined when `mac`
 * is such an address, else which part of the rule it breaks (callers word their own errors).
 */
export function macDefect(mac: unknown): 'format' | 'multicast' | 'zero' | undefined {
  if (typeof mac !== 'string' || !/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/iu.test(mac)) return 'format';
  const first = Number.parseInt(mac.slice(0, 2), 16);
  if ((first & 1) === 1) return 'multicast';
  if (/^(00[:-]){5}00$/u.test(mac)) return 'zero';
  return undefined;
}

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated) into 6 bytes; refuses multicast and all-zero addresses. */
export function parseMac(mac: unknown, field = 'mac'): Buffer {
  if (macDefect(mac) !== undefined)
    throw new NetlinkInvalidArgumentError(
      field,
      mac,
      "6 hex octets 'aa:bb:cc:dd:ee:ff', unicast (lowest bit of the first octet 0), not all zero",
    );
  return Buffer.from((mac as string).split(/[:-]/u).map((h) => Number.parseInt(h, 16)));
}

/** Formats 6 bytes as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Whether `v` can be an ifindex (the kernel's are positive and fit an int). */
export function isIfindex(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 0x7fffffff;
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
