// OVN mode's rules in one place: the network options (`-o mode=ovn …`), the names of the NB objects the
// plugin makes, the external_ids keys it writes, and the address arithmetic of its IPAM. Pure.

import { createHash } from 'node:crypto';
import { type IpPrefix, parseIp, parsePrefix } from '@ovs-container-network/ovn';
import { InvalidOptionError } from '../errors.js';
import { LABEL_DRIVER_MTU, LABEL_GENERIC } from '../options.js';
import { DSCP_OPTION, RATE_OPTION_KEYS } from '../qos.js';
import { isOvnQosOption } from './qos.js';

/** external_ids keys (Logical_Switch, Logical_Switch_Port, OVS Interface). */
export const K = {
  owner: 'ocn-owner',
  /**
   * Owner of the OVS Port/Interface of an OVN endpoint: not `ocn-owner`, which the single-host driver's
   * reconciler reads as "mine" (it would report every OVN port as forged).
   */
  ovsOwner: 'ocn-ovn-owner',
  tenant: 'ocn-tenant',
  subnets: 'ocn-subnets',
  gateways: 'ocn-gateways',
  mtu: 'ocn-mtu',
  isolate: 'ocn-isolate',
  /** `ocn-host-<chassis>` = the Docker network id on that chassis: per-host membership of a switch. */
  hostPrefix: 'ocn-host-',
  chassis: 'ocn-chassis',
  endpoint: 'ocn-endpoint',
  network: 'ocn-network',
  /** An address hold (RequestAddress before CreateEndpoint): the address and when it was made (ms). */
  hold: 'ocn-hold',
  holdAt: 'ocn-hold-at',
  claimedAt: 'ocn-claimed-at',
  /** A dual-stack endpoint's second hold names the port that carries its address. */
  partOf: 'ocn-part-of',
  switch: 'ocn-switch',
  /** A port the Orchestrator attached: `<container id>/<ifname>` (no Docker endpoint). */
  attached: 'ocn-attached',
  /** Names of an endpoint in its switch's DNS row (comma list). */
  dns: 'ocn-dns',
  /**
   * On the switch: the last address allocated, per family (`ocn-ipam-last-v4`/`-v6`); the next allocation
   * starts after it. A hint, written blindly with each hold (no guard, no conflict between hosts).
   */
  ipamLast: 'ocn-ipam-last-v',
} as const;

/** CreateEndpoint option (`docker network connect --driver-opt dns_name=a,b`): names OVN's DNS answers. */
export const DNS_NAME_OPTION = 'dns_name';
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Lower-case DNS names (ovn-controller compares them lower-cased), comma-separated. */
export function parseDnsNames(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  if (typeof v !== 'string')
    throw new InvalidOptionError(DNS_NAME_OPTION, v, 'a comma-separated list of host names');
  const names = v.split(',').map((n) => n.trim().toLowerCase().replace(/\.$/, ''));
  for (const n of names)
    if (n.length > 253 || !n.split('.').every((l) => DNS_LABEL.test(l)))
      throw new InvalidOptionError(DNS_NAME_OPTION, v, 'host names of letters, digits, "-" and "."');
  return [...new Set(names)];
}

export const OVN_NETWORK_OPTION_KEYS = [
  'mode',
  'logical_switch',
  'tenant_id',
  'isolate',
  'mtu',
  ...RATE_OPTION_KEYS,
  DSCP_OPTION,
] as const;
export const DEFAULT_TENANT = 'default';
/** Encapsulation overhead on the underlay MTU (outer IPv4 + UDP + header + inner Ethernet). */
export const ENCAP_OVERHEAD: Readonly<Record<string, number>> = { geneve: 58, vxlan: 50, stt: 58 };

export interface OvnNetworkOptions {
  logicalSwitch: string;
  tenant: string;
  isolate: boolean;
  /** Asked for with `-o mtu`; undefined: derived from the encapsulation. */
  mtu: number | undefined;
  /** `-o rate.*`, `-o burst.*`, `-o dscp` as given: parsed by ovn/qos.ts once the MTU is known. */
  qos: Record<string, unknown>;
}

const SWITCH_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const TENANT_RE = /^[A-Za-z0-9_]{1,32}$/;

/** True when the generic options ask for OVN mode (`-o mode=ovn`). */
export function isOvnMode(options: Record<string, unknown> | null | undefined): boolean {
  const g = options?.[LABEL_GENERIC];
  return typeof g === 'object' && g !== null && (g as Record<string, unknown>).mode === 'ovn';
}

export function checkSwitchName(field: string, v: unknown): string {
  if (typeof v !== 'string' || !SWITCH_RE.test(v))
    throw new InvalidOptionError(field, v, 'a logical switch name of 1..64 characters [A-Za-z0-9_.-]');
  return v;
}

/** Parses `-o` options of an OVN network; anything of the single-host mode is refused by name. */
export function parseOvnNetworkOptions(generic: unknown): OvnNetworkOptions {
  const o = (generic ?? {}) as Record<string, unknown>;
  const out: OvnNetworkOptions = {
    logicalSwitch: '',
    tenant: DEFAULT_TENANT,
    isolate: true,
    mtu: undefined,
    qos: {},
  };
  for (const [key, value] of Object.entries(o)) {
    const s = typeof value === 'string' ? value.trim() : String(value);
    if (isOvnQosOption(key)) {
      out.qos[key] = value;
      continue;
    }
    switch (key) {
      case 'mode':
        if (s !== 'ovn') throw new InvalidOptionError(key, value, '"ovn"');
        break;
      case 'logical_switch':
        out.logicalSwitch = checkSwitchName(key, s);
        break;
      case 'tenant_id':
        if (!TENANT_RE.test(s))
          throw new InvalidOptionError(key, value, 'a tenant of 1..32 characters [A-Za-z0-9_]');
        out.tenant = s;
        break;
      case 'isolate':
        if (['true', '1', 'yes', 'on'].includes(s.toLowerCase())) out.isolate = true;
        else if (['false', '0', 'no', 'off'].includes(s.toLowerCase())) out.isolate = false;
        else throw new InvalidOptionError(key, value, 'true or false');
        break;
      case 'mtu':
      case LABEL_DRIVER_MTU:
        if (!/^[0-9]{1,5}$/.test(s) || Number(s) < 576)
          throw new InvalidOptionError(
            key,
            value,
            'an integer ≥ 576 (1280 with IPv6), at most the overlay MTU',
          );
        out.mtu = Number(s);
        break;
      default:
        throw new InvalidOptionError(
          key,
          value,
          `a known option of an OVN network (mode=ovn accepts ${OVN_NETWORK_OPTION_KEYS.join(', ')})`,
        );
    }
  }
  if (out.logicalSwitch === '')
    throw new InvalidOptionError(
      'logical_switch',
      '',
      'the logical switch name: mode=ovn needs -o logical_switch=NAME (the same on every host; Docker does not send the network name)',
    );
  return out;
}

// ---- names ---------------------------------------------------------------------------------------------

/** The LSP holding `ip` on `sw` (the hold, then the endpoint's port): unique by NB's name index. */
export function holdName(sw: string, ip: string): string {
  return `ocn/${sw}/${ip}`;
}
export function routerName(tenant: string): string {
  return `ocn-${tenant}`;
}
/** The router port of a switch on its tenant's router, and the switch's router-type port. */
export function routerPortName(sw: string): string {
  return `ocn-lrp-${sw}`;
}
export function switchRouterPortName(sw: string): string {
  return `ocn-rp-${sw}`;
}
/** Port group of a tenant's endpoint ports (names in matches: letters, digits, underscore). */
export function portGroupName(tenant: string): string {
  return `ocn_${tenant}`;
}
export function tenantSubnetsSetName(tenant: string, family: 4 | 6): string {
  return `ocn_${tenant}_subnets${family}`;
}
/** A router port MAC for a switch: locally administered, from SHA-256 of the switch name (same on every host). */
export function routerMac(sw: string): string {
  const h = createHash('sha256').update(`ocn-lrp:${sw}`).digest();
  return [0x0a, h[0] ?? 0, h[1] ?? 0, h[2] ?? 0, h[3] ?? 0, h[4] ?? 0]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');
}

// ---- addresses ------------------------------------------------------------------------------------------

export function formatIp(family: 4 | 6, v: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const hex = v.toString(16).padStart(32, '0');
  const groups = hex.match(/.{4}/g) ?? [];
  const full = groups.join(':');
  return parseIp(full)?.text ?? full;
}

/** The network of a CIDR with host bits cleared; throws naming `field` for anything else. */
export function subnetOf(field: string, cidr: unknown): IpPrefix {
  const p = parsePrefix(cidr);
  if (!p)
    throw new InvalidOptionError(field, cidr, 'a subnet in CIDR form, e.g. 10.20.0.0/24 or fd00:20::/64');
  const bits = p.family === 4 ? 32 : 128;
  const max = p.family === 4 ? 30 : 126;
  if (p.length < 8 || p.length > max)
    throw new InvalidOptionError(field, cidr, `a prefix length from 8 to ${max} (room for hosts)`);
  const mask = ((1n << BigInt(p.length)) - 1n) << BigInt(bits - p.length);
  const net = p.value & mask;
  return parsePrefix(`${formatIp(p.family, net)}/${p.length}`) as IpPrefix;
}

/** First and last assignable host value of a subnet (IPv4: no network/broadcast; IPv6: no subnet-router anycast). */
export function hostRange(p: IpPrefix): { first: bigint; last: bigint } {
  const bits = p.family === 4 ? 32 : 128;
  const size = 1n << BigInt(bits - p.length);
  return { first: p.value + 1n, last: p.family === 4 ? p.value + size - 2n : p.value + size - 1n };
}

export function inSubnet(p: IpPrefix, v: bigint): boolean {
  const bits = p.family === 4 ? 32 : 128;
  const size = 1n << BigInt(bits - p.length);
  return v >= p.value && v < p.value + size;
}

/**
 * The tenant-router policies that keep an `isolate=true` network to itself: within the subnet allowed,
 * anything else from or to it dropped (traffic to the network's own gateway is not routed, so it still
 * answers). No `!=` on prefixes: OVN expands a negated prefix bit by bit, and negations ANDed together
 * multiply into thousands of OpenFlow flows.
 */
export function isolationPolicies(
  subnet: IpPrefix,
): { priority: number; match: string; action: 'allow' | 'drop' }[] {
  const f = subnet.family === 4 ? 'ip4' : 'ip6';
  const s = subnet.cidr;
  return [
    { priority: 2001, match: `${f}.src == ${s} && ${f}.dst == ${s}`, action: 'allow' },
    { priority: 2000, match: `${f}.src == ${s}`, action: 'drop' },
    { priority: 2000, match: `${f}.dst == ${s}`, action: 'drop' },
  ];
}

/**
 * The ACLs of a tenant's port group: traffic into the tenant's ports from the tenant's subnets (and IPv6
 * link-local and unspecified sources, for ND and DAD) allowed, any other IP dropped. Written without
 * negations (see isolationPolicies): `!(ip6.src == ::)` alone is 128 flows, and with two more negations
 * ANDed it was ~80,000 flows that stalled ovs-vswitchd (measured here: ovn-controller's desired flows at
 * 10 MB, its OpenFlow connection timing out).
 */
export function tenantAcls(tenant: string): { priority: number; match: string; action: 'allow' | 'drop' }[] {
  const pg = portGroupName(tenant);
  const s4 = tenantSubnetsSetName(tenant, 4);
  const s6 = tenantSubnetsSetName(tenant, 6);
  return [
    { priority: 2001, match: `outport == @${pg} && ip4 && ip4.src == $${s4}`, action: 'allow' },
    {
      priority: 2001,
      match: `outport == @${pg} && ip6 && (ip6.src == $${s6} || ip6.src == fe80::/10 || ip6.src == ::)`,
      action: 'allow',
    },
    { priority: 2000, match: `outport == @${pg} && ip`, action: 'drop' },
  ];
}
