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
  /** `false` on a switch created with `-o masquerade=false`: no SNAT on the chassis gateways. */
  masquerade: 'ocn-masquerade',
  /** A published-port load balancer: its bindings (portmap.ts encodeBindings) and VIP address. */
  ports: 'ocn-ports',
  vip: 'ocn-vip',
  /** What a north-south object is: gateway, reroute, publish. */
  role: 'ocn-role',
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
  'masquerade',
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
  /** Outbound SNAT on the chassis gateway (`-o masquerade=false` turns it off). */
  masquerade: boolean;
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
    masquerade: true,
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
      case 'masquerade':
        if (['true', '1', 'yes', 'on'].includes(s.toLowerCase())) out[key] = true;
        else if (['false', '0', 'no', 'off'].includes(s.toLowerCase())) out[key] = false;
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
  tenant: string,
): { priority: number; match: string; action: 'allow' | 'drop' }[] {
  const f = subnet.family === 4 ? 'ip4' : 'ip6';
  const s = subnet.cidr;
  const all = `$${tenantSubnetsSetName(tenant, subnet.family)}`;
  return [
    { priority: 2001, match: `${f}.src == ${s} && ${f}.dst == ${s}`, action: 'allow' },
    { priority: 2000, match: `${f}.src == ${s}`, action: 'drop' },
    { priority: 2000, match: `${f}.dst == ${s}`, action: 'drop' },
    // Above the chassis gateways' policies (gatewayPolicies): other networks of the tenant stay out of
    // reach even though traffic to the outside is let through.
    { priority: 2008, match: `${f}.src == ${s} && ${f}.dst == ${s}`, action: 'allow' },
    { priority: 2007, match: `${f}.src == ${s} && ${f}.dst == ${all}`, action: 'drop' },
    { priority: 2007, match: `${f}.dst == ${s} && ${f}.src == ${all}`, action: 'drop' },
  ];
}

// ---- north-south: a gateway router per tenant and chassis ----------------------------------------------
//
// container → tenant router ─(policy: ip4.src == <endpoint> reroute)→ join switch of the tenant → gateway
// router of (tenant, this chassis) ─(SNAT to its transit address)→ transit switch of this chassis → host
// veth (TRANSIT_HOST) → host kernel (nf_tables masquerade out of the host's route). Published ports come in
// the other way: host DNAT to the gateway router's transit address and the host port, an OVN load balancer
// there to the container (lb_force_snat_ip=router_ip, so the tenant ACLs see a join address as source).

/** The transit network between this host and its gateway routers (the same on every chassis). */
export const TRANSIT = { cidr: '169.254.61.0/24', host: '169.254.61.1', len: 24, first: 2, last: 254 };
/** The join network of a tenant: its router at JOIN.router, each chassis' gateway router at joinIp(). */
export const JOIN = {
  cidr: '100.64.0.0/10',
  router: '100.64.0.1',
  len: 10,
  /**
   * The tenant router's default route points here, an address nobody holds: routing must find a route
   * before the policy stage (lr_in_ip_routing comes before lr_in_policy, and drops without one), and the
   * per-endpoint reroute policy then picks the endpoint's own chassis' gateway.
   */
  unused: '100.127.255.254',
};

/**
 * A chassis' address on the join networks: 100.64.0.0/10 plus the low 22 bits of its IPv4 underlay address
 * (ovn-encap-ip), unique for hosts whose underlay fits in a /10 (two hosts 4 Mi addresses apart collide, and
 * the second is refused when it sets up its gateway). No allocation protocol between hosts.
 */
export function joinIp(encapIp: string): string {
  const ip = parseIp(encapIp);
  if (ip?.family !== 4)
    throw new InvalidOptionError(
      'ovn-encap-ip',
      encapIp,
      'an IPv4 underlay address (OVN mode gateways derive the join address from it)',
    );
  const base = parseIp('100.64.0.0')?.value ?? 0n;
  const v = base + (ip.value & 0x3fffffn);
  const text = formatIp(4, v);
  if (text === JOIN.router || text === JOIN.unused || v === base || v >= base + 0x3ffffen)
    throw new InvalidOptionError(
      'ovn-encap-ip',
      encapIp,
      `an underlay address whose low 22 bits do not map to ${text} (reserved on the join network ${JOIN.cidr})`,
    );
  return text;
}

export function gatewayRouterName(tenant: string, chassis: string): string {
  return `ocn-gw-${tenant}-${chassis}`;
}
export function transitSwitchName(chassis: string): string {
  return `ocn-transit-${chassis}`;
}
export function joinSwitchName(tenant: string): string {
  return `ocn-join-${tenant}`;
}
/** The tenant router's port on its join switch. */
export function tenantJoinPortName(tenant: string): string {
  return `ocn-lrp-join-${tenant}`;
}
export function publishLbName(chassis: string, endpointId: string, proto: string): string {
  return `ocn-pub-${chassis}-${endpointId.slice(0, 12)}-${proto}`;
}

/** Tenant-router policies of the gateways (below the isolation policies' 2007/2008). */
export function gatewayPolicies(tenant: string): { priority: number; match: string; action: 'allow' }[] {
  const s4 = `$${tenantSubnetsSetName(tenant, 4)}`;
  return [
    // From a gateway router (outside → container: answers and published ports): routed as usual.
    { priority: 2010, match: `inport == "${tenantJoinPortName(tenant)}"`, action: 'allow' },
    // Between the tenant's routed networks: routed as usual, not to a gateway.
    { priority: 2006, match: `ip4.src == ${s4} && ip4.dst == ${s4}`, action: 'allow' },
  ];
}
/** Per endpoint (priority 2005, below gatewayPolicies): its traffic leaves through this chassis' gateway. */
export const REROUTE_PRIORITY = 2005;

/**
 * Tenant ACLs the gateways add: outbound connections are committed to conntrack (from-lport
 * allow-related), so their answers (from any address) pass the tenant's drop; published ports arrive
 * SNATed to a join address (the gateway router's lb_force_snat_ip).
 */
export function gatewayAcls(tenant: string): {
  direction: 'from-lport' | 'to-lport';
  priority: number;
  match: string;
  action: 'allow' | 'allow-related';
}[] {
  const pg = portGroupName(tenant);
  return [
    { direction: 'from-lport', priority: 2001, match: `inport == @${pg} && ip4`, action: 'allow-related' },
    {
      direction: 'to-lport',
      priority: 2001,
      match: `outport == @${pg} && ip4 && ip4.src == ${JOIN.cidr}`,
      action: 'allow',
    },
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
