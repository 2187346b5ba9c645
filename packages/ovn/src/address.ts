// Addresses as OVN_Northbound stores them: MACs, IPv4/IPv6 addresses, prefixes and `IP[:port]` endpoints.
// Pure parsing and canonical printing (the package depends on nothing but ovsdb). Canonical forms: MACs in
// lower case with colons; IPv6 as RFC 5952 §4 prints it (lower case, the longest run of two or more zero
// groups as "::", the first such run on a tie), which is what ovn-northd and ovsdbapp (netaddr) print too.

import { OvnInvalidArgumentError } from './errors.js';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** The address as an unsigned integer (32 or 128 bits). */
  readonly value: bigint;
  /** Canonical text. */
  readonly text: string;
}

export interface IpPrefix extends IpAddress {
  /** Prefix length, 0..32 or 0..128. */
  readonly length: number;
  /** True when bits beyond the prefix length are zero (a network, not a host in it). */
  readonly isNetwork: boolean;
  /** Canonical `address/length` (the address as given, host bits kept). */
  readonly cidr: string;
}

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEXGROUP = /^[0-9a-fA-F]{1,4}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function v4Value(s: string): bigint | undefined {
  if (!V4.test(s)) return undefined;
  let v = 0;
  for (const part of s.split('.')) v = v * 256 + Number(part);
  return BigInt(v);
}

function v6Value(s: string): bigint | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  let head = s;
  let tailV4: bigint | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    tailV4 = v4Value(s.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): string[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((g) => HEXGROUP.test(g)) ? groups : undefined;
  };
  const left = parse(halves[0] as string);
  const right = halves.length === 2 ? parse(halves[1] as string) : [];
  if (left === undefined || right === undefined) return undefined;
  const given = left.length + right.length;
  if (halves.length === 2 ? given > 7 : given !== 8) return undefined;
  const groups = [...left, ...new Array<string>(8 - given).fill('0'), ...right];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return v;
}

function formatV4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}

/** RFC 5952 §4.2: compress the longest run (≥ 2) of zero groups, the first one on a tie; lower case. */
function formatV6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses an IPv4 or IPv6 address (no prefix, no zone); undefined when it is neither. */
export function parseIp(s: unknown): IpAddress | undefined {
  if (typeof s !== 'string') return undefined;
  const v4 = v4Value(s);
  // V4 admits no leading zeros, so a dotted quad it accepts is already in canonical form.
  if (v4 !== undefined) return { family: 4, value: v4, text: s };
  if (!s.includes(':')) return undefined;
  const v6 = v6Value(s);
  return v6 === undefined ? undefined : { family: 6, value: v6, text: formatV6(v6) };
}

/** Parses `address/length`; with `allowBare`, an address alone counts as a host prefix (/32, /128). */
export function parsePrefix(s: unknown, allowBare = false): IpPrefix | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  const addr = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (addr === undefined) return undefined;
  const max = addr.family === 4 ? 32 : 128;
  let length = max;
  if (slash < 0) {
    if (!allowBare) return undefined;
  } else {
    const len = s.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(len) || Number(len) > max) return undefined;
    length = Number(len);
  }
  const hostBits = BigInt(max - length);
  const isNetwork = (addr.value & ((1n << hostBits) - 1n)) === 0n;
  return { ...addr, length, isNetwork, cidr: `${addr.text}/${length}` };
}

// ---- checked forms: throw OvnInvalidArgumentError naming the field ------------------------------------

/** A MAC address `xx:xx:xx:xx:xx:xx`, returned in lower case. */
export function checkMac(field: string, v: unknown): string {
  if (typeof v !== 'string' || !MAC.test(v)) {
    throw new OvnInvalidArgumentError(field, v, 'a MAC address: six hex pairs separated by ":"');
  }
  return v.toLowerCase();
}

/** An IPv4 or IPv6 address in canonical form. */
export function checkIp(field: string, v: unknown, family?: IpFamily): IpAddress {
  const ip = parseIp(v);
  if (ip === undefined || (family !== undefined && ip.family !== family)) {
    const what = family === undefined ? 'an IPv4 or IPv6 address' : `an IPv${family} address`;
    throw new OvnInvalidArgumentError(field, v, `${what} without a prefix length`);
  }
  return ip;
}

export interface PrefixRules {
  /** Accept an address without `/length` as a host prefix. */
  readonly allowBare?: boolean;
  /** Refuse host bits beyond the prefix (a network address is required). */
  readonly network?: boolean;
  readonly family?: IpFamily;
}

/** An `address/length` prefix. */
export function checkPrefix(field: string, v: unknown, rules: PrefixRules = {}): IpPrefix {
  const p = parsePrefix(v, rules.allowBare ?? false);
  const what = `${rules.family === undefined ? 'an IPv4 or IPv6' : `an IPv${rules.family}`} prefix "address/length"${rules.allowBare ? ' or an address' : ''}`;
  if (p === undefined || (rules.family !== undefined && p.family !== rules.family)) {
    throw new OvnInvalidArgumentError(field, v, what);
  }
  if (rules.network && !p.isNetwork) {
    throw new OvnInvalidArgumentError(field, v, `${what} with no host bits set (a network address)`);
  }
  return p;
}

export interface IpPort {
  readonly ip: IpAddress;
  readonly port: number | undefined;
  /** Canonical text as OVN stores it: `IP`, `IPv4:port` or `[IPv6]:port`. */
  readonly text: string;
}

/** `IP`, `IPv4:port`, `[IPv6]` or `[IPv6]:port` (a load-balancer VIP or backend). */
export function checkIpPort(field: string, v: unknown): IpPort {
  const bad = () =>
    new OvnInvalidArgumentError(
      field,
      v,
      'an endpoint "IPv4", "IPv4:port", "IPv6" or "[IPv6]:port" (port 1..65535)',
    );
  if (typeof v !== 'string') throw bad();
  let host = v;
  let port: number | undefined;
  const bare = parseIp(v);
  if (bare !== undefined) return { ip: bare, port: undefined, text: bare.text };
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    if (close < 0) throw bad();
    host = v.slice(1, close);
    const rest = v.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw bad();
      port = portNumber(rest.slice(1));
      if (port === undefined) throw bad();
    }
    const ip = parseIp(host);
    if (ip === undefined || ip.family !== 6) throw bad();
    return { ip, port, text: port === undefined ? ip.text : `[${ip.text}]:${port}` };
  }
  const colon = v.lastIndexOf(':');
  if (colon < 0) throw bad();
  host = v.slice(0, colon);
  port = portNumber(v.slice(colon + 1));
  const ip = parseIp(host);
  if (ip === undefined || ip.family !== 4 || port === undefined) throw bad();
  return { ip, port, text: `${ip.text}:${port}` };
}

function portNumber(s: string): number | undefined {
  if (!/^[1-9]\d{0,4}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/** The prefix with its host bits cleared, as `network/length` (ovn-nbctl normalizes route prefixes so). */
export function networkOf(p: IpPrefix): string {
  const max = p.family === 4 ? 32 : 128;
  const host = (1n << BigInt(max - p.length)) - 1n;
  const net = p.value & ~host;
  return `${p.family === 4 ? formatV4(net) : formatV6(net)}/${p.length}`;
}
