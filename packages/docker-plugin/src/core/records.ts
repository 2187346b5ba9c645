// The external_ids layout: everything the driver knows lives in OVS, readable with ovs-vsctl.
//
//   Bridge     external_ids:ocn-owner=<driver>            the driver created the bridge (and may delete it)
//              external_ids:ocn-net-<network id>=<JSON>   one key per network on that bridge (NetworkRecord)
//   Port       external_ids:ocn-owner, ocn-kind (endpoint|gateway|uplink), ocn-network, ocn-endpoint,
//   Interface  ocn-tenant, ocn-peer (container end), ocn-created (ms), ocn-ipv4, ocn-ipv6; the Interface also
//              attached-mac and iface-id=<endpoint id> (the keys OVN and ovs-docker use)
//   Open_vSwitch external_ids:ocn-ipam-<driver>=<JSON>    the IPAM driver's pools (ipam-state.ts)
//   Queue      external_ids:ocn-owner, ocn-ipam-pool, ocn-ipam-address, ocn-ipam-leased: one row per address
//
//   ovs-vsctl find Port external_ids:ocn-tenant=acme     every port of tenant acme
//   ovs-vsctl find Port external_ids:ocn-owner=ovs-container-network
import { monitorNameProblem } from './mirror.js';
import type { GatewayMode } from './options.js';
import { networkQosProblem } from './qos.js';
import { type DatapathType, datapathTypeProblem } from './rules/datapath.js';
import { idProblem, ownerProblem, tenantProblem, vlanProblem } from './rules/ids.js';
import { hostIfNameProblem, ifNameProblem } from './rules/ifname.js';
import { mtuProblem } from './rules/mtu.js';
import { gatewayProblem, poolProblem } from './rules/subnet.js';

export const EXT = {
  owner: 'ocn-owner',
  kind: 'ocn-kind',
  network: 'ocn-network',
  endpoint: 'ocn-endpoint',
  tenant: 'ocn-tenant',
  peer: 'ocn-peer',
  created: 'ocn-created',
  ipv4: 'ocn-ipv4',
  ipv6: 'ocn-ipv6',
  attachedMac: 'attached-mac',
  ifaceId: 'iface-id',
} as const;

export const NET_KEY_PREFIX = 'ocn-net-';
export const netKey = (networkId: string) => `${NET_KEY_PREFIX}${networkId}`;
export const ipamKey = (owner: string) => `ocn-ipam-${owner}`;

export type PortKind = 'endpoint' | 'gateway' | 'uplink';

export interface SubnetRecord {
  /** CIDR of the subnet. */
  pool: string;
  /** Gateway in CIDR form (as Docker sends it), if any. */
  gateway?: string;
  /** `--aux-address` values (bare IPs): allocated in the pool for others, never reaped. */
  aux?: string[];
}

export interface NetworkRecord {
  v: 1;
  id: string;
  owner: string;
  bridge: string;
  vlan: number;
  tenant?: string;
  mtu: number;
  datapathType: DatapathType;
  gatewayMode: GatewayMode;
  isolate: boolean;
  uplink?: string;
  /** Name of the internal port holding the gateway addresses (gateway_mode internal). */
  gatewayPort?: string;
  /** ns16: `-o masquerade=false` (absent: masquerade, the default). */
  masquerade?: false;
  ipv4?: SubnetRecord;
  ipv6?: SubnetRecord;
  /** Rate limits every endpoint gets unless it says otherwise: `{ingress?, egress?}` as `RATE/BURST` (qos.ts). */
  qos?: Record<string, string>;
  /** Monitor the whole network is mirrored to (mirror.ts). */
  mirrorTo?: string;
}

export function encodeNetwork(r: NetworkRecord): string {
  return JSON.stringify(r);
}

/**
 * Parses a record read from OVS. OVS is writable by anyone with access to the database socket, so a record
 * is input like a Docker request: every field is checked with the same rules (rules/*.ts) as the options
 * and the IPAM data it was made from, and anything malformed, unknown or out of range makes the whole
 * record undefined (ignored). Whether the record is *ours* (owner, derived port names) is the driver's
 * check on top of this one.
 */
export function decodeNetwork(text: string | undefined): NetworkRecord | undefined {
  if (text === undefined || text.length > 4096) return undefined;
  let r: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    r = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  return isNetworkRecord(r) ? r : undefined;
}

const RECORD_KEYS = new Set([
  'v',
  'id',
  'owner',
  'bridge',
  'vlan',
  'tenant',
  'mtu',
  'datapathType',
  'gatewayMode',
  'isolate',
  'uplink',
  'gatewayPort',
  'ipv4',
  'ipv6',
  'masquerade',
  'qos',
  'mirrorTo',
]);

function isNetworkRecord(r: Record<string, unknown>): r is Record<string, unknown> & NetworkRecord {
  return networkRecordProblem(r) === undefined;
}

/** What is wrong with a decoded record (the first problem), or undefined. Exported for tests and logs. */
export function networkRecordProblem(r: Record<string, unknown>): string | undefined {
  for (const k of Object.keys(r)) if (!RECORD_KEYS.has(k)) return `unknown field ${k}`;
  if (r.v !== 1) return 'v is not 1';
  const checks: [string, string | undefined][] = [
    ['id', idProblem(r.id)],
    ['owner', ownerProblem(r.owner)],
    ['bridge', hostIfNameProblem(r.bridge)],
    ['vlan', vlanProblem(r.vlan)],
    ['tenant', r.tenant === undefined ? undefined : tenantProblem(r.tenant)],
    ['uplink', r.uplink === undefined ? undefined : hostIfNameProblem(r.uplink)],
    ['gatewayPort', r.gatewayPort === undefined ? undefined : ifNameProblem(r.gatewayPort)],
    ['datapathType', datapathTypeProblem(r.datapathType)],
    [
      'gatewayMode',
      r.gatewayMode === 'internal' || r.gatewayMode === 'external' || r.gatewayMode === 'none'
        ? undefined
        : 'internal, external or none',
    ],
    ['isolate', typeof r.isolate === 'boolean' ? undefined : 'a boolean'],
    ['masquerade', r.masquerade === undefined || r.masquerade === false ? undefined : 'false or absent'],
    ['ipv4', subnetRecordProblem(r.ipv4, false)],
    ['ipv6', subnetRecordProblem(r.ipv6, true)],
    ['qos', r.qos === undefined ? undefined : networkQosProblem(r.qos)],
    ['mirrorTo', r.mirrorTo === undefined ? undefined : monitorNameProblem(r.mirrorTo)],
  ];
  for (const [field, problem] of checks) if (problem) return `${field}: expected ${problem}`;
  if (r.gatewayPort !== undefined && r.gatewayMode !== 'internal')
    return 'gatewayPort: only a network with gatewayMode internal has one';
  if (r.uplink !== undefined && r.uplink === r.bridge)
    return 'uplink: expected an interface other than the bridge';
  const mtu = mtuProblem(r.mtu, {
    ipv6: r.ipv6 !== undefined,
    internalPort: r.gatewayPort !== undefined,
  });
  if (mtu) return `mtu: expected ${mtu}`;
  return undefined;
}

function subnetRecordProblem(s: unknown, v6: boolean): string | undefined {
  if (s === undefined) return undefined;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return 'an object {pool, gateway?}';
  const o = s as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'pool' && k !== 'gateway' && k !== 'aux') return `no field ${k}`;
  const pool = poolProblem(o.pool, v6);
  if (pool) return pool;
  if (
    o.aux !== undefined &&
    (!Array.isArray(o.aux) || o.aux.length > 256 || o.aux.some((a) => typeof a !== 'string' || a.length > 64))
  )
    return 'aux: a list of at most 256 addresses';
  return o.gateway === undefined ? undefined : gatewayProblem(o.pool as string, o.gateway);
}
