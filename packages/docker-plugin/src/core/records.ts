// The external_ids layout: everything the driver knows lives in OVS, readable with ovs-vsctl.
//
//   Bridge     external_ids:ocn-owner=<driver>            the driver created the bridge (and may delete it)
//              external_ids:ocn-net-<network id>=<JSON>   one key per network on that bridge (NetworkRecord)
//   Port       external_ids:ocn-owner, ocn-kind (endpoint|gateway|uplink), ocn-network, ocn-endpoint,
//   Interface  ocn-tenant, ocn-peer (container end), ocn-created (ms), ocn-ipv4, ocn-ipv6; the Interface also
//              attached-mac and iface-id=<endpoint id> (the keys OVN and ovs-docker use)
//   Open_vSwitch external_ids:ocn-ipam-<driver>=<JSON>    the IPAM driver's pools and addresses
//
//   ovs-vsctl find Port external_ids:ocn-tenant=acme     every port of tenant acme
//   ovs-vsctl find Port external_ids:ocn-owner=ovs-container-network
import type { DatapathType, GatewayMode } from './options.js';

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
  ipv4?: SubnetRecord;
  ipv6?: SubnetRecord;
}

export function encodeNetwork(r: NetworkRecord): string {
  return JSON.stringify(r);
}

/** Parses a record; undefined for anything malformed (never trusted blindly: OVS is user-writable). */
export function decodeNetwork(text: string | undefined): NetworkRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as Partial<NetworkRecord>;
    if (
      r.v !== 1 ||
      typeof r.id !== 'string' ||
      typeof r.owner !== 'string' ||
      typeof r.bridge !== 'string' ||
      typeof r.vlan !== 'number' ||
      typeof r.mtu !== 'number'
    ) {
      return undefined;
    }
    return r as NetworkRecord;
  } catch {
    return undefined;
  }
}
