// Logical switches and their ports (ovn-nb(5) Logical_Switch, Logical_Switch_Port).

import { checkIp, checkMac, checkPrefix } from '../address.js';
import { OvnConflictError, OvnInvalidArgumentError } from '../errors.js';
import type { NbPlanCore, Ref } from '../plan.js';
import {
  checkBool,
  checkEnum,
  checkInt,
  checkKeys,
  checkList,
  checkName,
  checkSpec,
  type MapEdit,
} from '../validate.js';
import {
  deleteNamedPort,
  dropWeakRefs,
  editMaps,
  need,
  type Owned,
  optionalMap,
  ownedIds,
  ownerOf,
  releaseGroup,
  setKeys,
} from './common.js';

// ---- Logical_Switch ---------------------------------------------------------------------------------------

export interface LogicalSwitchSpec extends Owned {
  readonly name: string;
  /** `other_config:subnet`: the IPv4 network ovn-northd allocates `dynamic` addresses from (null removes). */
  readonly subnet?: string | null;
  /** `other_config:ipv6_prefix`: a /64 network (or its address) for dynamic IPv6 addresses (null removes). */
  readonly ipv6Prefix?: string | null;
  /** `other_config:exclude_ips`: addresses or `A..B` ranges of the subnet northd must not hand out. */
  readonly excludeIps?: readonly string[] | null;
  /** `other_config:mac_only`: allocate only MAC addresses dynamically. */
  readonly macOnly?: boolean | null;
  /** Other `other_config` keys (null removes a key). */
  readonly otherConfig?: MapEdit;
}

const LS_KEYS = ['name', 'subnet', 'ipv6Prefix', 'excludeIps', 'macOnly', 'otherConfig', 'externalIds'];

function excludeEntry(field: string, v: unknown): string {
  if (typeof v === 'string' && v.includes('..')) {
    const [a, b, ...rest] = v.split('..');
    const lo = checkIp(`${field} (range start)`, a, 4);
    const hi = checkIp(`${field} (range end)`, b, 4);
    if (rest.length > 0 || lo.value > hi.value) {
      throw new OvnInvalidArgumentError(field, v, 'an IPv4 address or a range "A..B" with A <= B');
    }
    return `${lo.text}..${hi.text}`;
  }
  return checkIp(field, v, 4).text;
}

export function switchOtherConfig(spec: LogicalSwitchSpec): MapEdit | undefined {
  const f = 'LogicalSwitch';
  const edit: Record<string, string | null> = {
    ...(optionalMap(`${f}.otherConfig`, spec.otherConfig) ?? {}),
  };
  if (spec.subnet !== undefined) {
    edit.subnet =
      spec.subnet === null
        ? null
        : checkPrefix(`${f}.subnet`, spec.subnet, { family: 4, network: true }).cidr;
  }
  if (spec.ipv6Prefix !== undefined) {
    if (spec.ipv6Prefix === null) edit.ipv6_prefix = null;
    else {
      const p = checkPrefix(`${f}.ipv6Prefix`, spec.ipv6Prefix, {
        family: 6,
        allowBare: true,
        network: true,
      });
      if (p.length !== 64 && p.length !== 128) {
        throw new OvnInvalidArgumentError(
          `${f}.ipv6Prefix`,
          spec.ipv6Prefix,
          'a /64 IPv6 network, e.g. "fd00:1::/64"',
        );
      }
      edit.ipv6_prefix = p.length === 128 ? p.text : p.cidr;
    }
  }
  if (spec.excludeIps !== undefined) {
    edit.exclude_ips =
      spec.excludeIps === null || spec.excludeIps.length === 0
        ? null
        : checkList(`${f}.excludeIps`, spec.excludeIps, excludeEntry).join(' ');
  }
  if (spec.macOnly !== undefined) {
    edit.mac_only = spec.macOnly === null ? null : String(checkBool(`${f}.macOnly`, spec.macOnly));
  }
  return Object.keys(edit).length === 0 ? undefined : edit;
}

export function ensureLogicalSwitch(plan: NbPlanCore, spec: LogicalSwitchSpec): Ref<'Logical_Switch'> {
  const s = checkSpec('LogicalSwitch', spec);
  checkKeys('LogicalSwitch', s, LS_KEYS);
  const name = checkName('LogicalSwitch.name', spec.name);
  const otherConfig = switchOtherConfig(spec);
  const externalIds = ownedIds('LogicalSwitch', spec);
  const cur = plan.one('Logical_Switch', name);
  if (cur) {
    editMaps(plan, cur, { other_config: otherConfig, external_ids: externalIds });
    return cur.ref;
  }
  // Logical_Switch.name is not an index: guard against a concurrent writer inserting the same name.
  plan.guardAbsent('Logical_Switch', [['name', '==', name]]);
  return plan.insert('Logical_Switch', {
    name,
    other_config: setKeys(otherConfig),
    external_ids: setKeys(externalIds),
  }).ref;
}

/** Deletes the switch; its ports, ACLs and QoS rules go with it (non-root rows). False if it did not exist. */
export function deleteLogicalSwitch(plan: NbPlanCore, name: string): boolean {
  const cur = plan.one('Logical_Switch', checkName('LogicalSwitch.name', name));
  if (!cur) return false;
  for (const p of plan.children(cur, 'ports', 'Logical_Switch_Port')) {
    releaseGroup(plan, p);
    dropWeakRefs(plan, 'Port_Group', 'ports', p);
    plan.forget(p);
  }
  plan.deleteRow(cur);
  return true;
}

// ---- Logical_Switch_Port ----------------------------------------------------------------------------------

/** One entry of `addresses`: a keyword, or a MAC (or `dynamic`) with IPs (or `dynamic`). */
export type LspAddress =
  | 'dynamic'
  | 'router'
  | 'unknown'
  | { readonly mac: string | 'dynamic'; readonly ips?: readonly string[] | 'dynamic' };

/** One entry of `port_security`: a MAC and the IPs or prefixes allowed from it. */
export interface PortSecurityEntry {
  readonly mac: string;
  readonly ips?: readonly string[];
}

export const LSP_TYPES = [
  '',
  'router',
  'localnet',
  'localport',
  'l2gateway',
  'vtep',
  'external',
  'virtual',
  'remote',
] as const;
export type LspType = (typeof LSP_TYPES)[number];

export interface LogicalSwitchPortSpec extends Owned {
  /** The switch the port belongs to (by name). */
  readonly switch: string;
  /** Unique across OVN_Northbound; an OVS Interface binds to it through `external_ids:iface-id`. */
  readonly name: string;
  /** `addresses` (replaced as a whole). */
  readonly addresses?: readonly (LspAddress | string)[];
  /** `port_security` (replaced as a whole). */
  readonly portSecurity?: readonly (PortSecurityEntry | string)[];
  /** `type` ("" is a VIF). */
  readonly type?: LspType;
  /** `options` keys to set (null removes one). */
  readonly options?: MapEdit;
  /** Connects the port to a router port: type "router", options:router-port, addresses ["router"]. */
  readonly routerPort?: string;
  /** `options:requested-chassis`: the chassis (system-id) that should bind the port. */
  readonly requestedChassis?: string | null;
  /** `parent_name` and `tag_request` of a nested (container-in-VM) port; tag 0 lets northd choose. */
  readonly parent?: { readonly name: string; readonly tag: number };
  readonly enabled?: boolean | null;
  /** DHCP_Options rows (uuids, or refs returned by ensureDhcpOptions) for `dhcpv4_options`/`dhcpv6_options`. */
  readonly dhcpv4Options?: Ref<'DHCP_Options'> | null;
  readonly dhcpv6Options?: Ref<'DHCP_Options'> | null;
  /** HA_Chassis_Group by name (type "external" ports). */
  readonly haChassisGroup?: string | null;
}

const LSP_KEYS = [
  'switch',
  'name',
  'addresses',
  'portSecurity',
  'type',
  'options',
  'routerPort',
  'requestedChassis',
  'parent',
  'enabled',
  'dhcpv4Options',
  'dhcpv6Options',
  'haChassisGroup',
  'externalIds',
];

function ipList(field: string, ips: readonly string[], prefixes: boolean): string[] {
  return checkList(field, ips, (f, x) =>
    prefixes && typeof x === 'string' && x.includes('/') ? checkPrefix(f, x).cidr : checkIp(f, x).text,
  );
}

// "mac ipv4" already in canonical form (lower-case MAC, dotted quad without leading zeros, one space): the
// usual entry, returned as given without the general parse below. Anything else takes the general path.
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const CANONICAL_MAC_V4 = new RegExp(`^[0-9a-f]{2}(?::[0-9a-f]{2}){5}(?: ${OCTET}(?:\\.${OCTET}){3})?$`);

/** Canonical text of one `addresses` entry. */
export function lspAddress(field: string, a: unknown): string {
  if (a === 'dynamic' || a === 'router' || a === 'unknown') return a;
  if (typeof a === 'string' && CANONICAL_MAC_V4.test(a)) return a;
  if (typeof a === 'string') {
    const [mac, ...ips] = a.trim().split(/\s+/);
    return lspAddress(field, { mac, ips: ips.length === 1 && ips[0] === 'dynamic' ? 'dynamic' : ips });
  }
  if (typeof a !== 'object' || a === null) {
    throw new OvnInvalidArgumentError(field, a, '"dynamic", "router", "unknown", "MAC [IP…]" or {mac, ips}');
  }
  const { mac, ips } = a as { mac?: unknown; ips?: unknown };
  const m = mac === 'dynamic' ? 'dynamic' : checkMac(`${field}.mac`, mac);
  if (ips === 'dynamic') {
    if (m === 'dynamic') return 'dynamic';
    return `${m} dynamic`;
  }
  const list = ips === undefined ? [] : ipList(`${field}.ips`, ips as string[], false);
  if (m === 'dynamic' && list.length === 0) return 'dynamic';
  return [m, ...list].join(' ');
}

/** Canonical text of one `port_security` entry. */
export function portSecurityEntry(field: string, p: unknown): string {
  if (typeof p === 'string' && CANONICAL_MAC_V4.test(p)) return p;
  if (typeof p === 'string') {
    const [mac, ...ips] = p.trim().split(/\s+/);
    return portSecurityEntry(field, { mac, ips });
  }
  if (typeof p !== 'object' || p === null)
    throw new OvnInvalidArgumentError(field, p, '"MAC [IP…]" or {mac, ips}');
  const { mac, ips } = p as { mac?: unknown; ips?: unknown };
  const list = ips === undefined ? [] : ipList(`${field}.ips`, ips as string[], true);
  return [checkMac(`${field}.mac`, mac), ...list].join(' ');
}

/** A DHCP_Options reference (a uuid, or a ref from ensureDhcpOptions in this plan) that must exist. */
function dhcpRef(plan: NbPlanCore, field: string, v: unknown): Ref<'DHCP_Options'> | null {
  if (v === null) return null;
  const e =
    typeof v === 'string' || typeof v === 'object'
      ? plan.get('DHCP_Options', v as Ref<'DHCP_Options'>)
      : undefined;
  if (!e)
    throw new OvnInvalidArgumentError(
      field,
      v,
      'the uuid of a DHCP_Options row, or the ref ensureDhcpOptions returned',
    );
  return e.ref;
}

export function ensureLogicalSwitchPort(
  plan: NbPlanCore,
  spec: LogicalSwitchPortSpec,
): Ref<'Logical_Switch_Port'> {
  const f = 'LogicalSwitchPort';
  const s = checkSpec(f, spec);
  checkKeys(f, s, LSP_KEYS);
  const name = checkName(`${f}.name`, spec.name);
  const sw = need(plan, 'Logical_Switch', `${f}.switch`, spec.switch);
  const options: Record<string, string | null> = { ...(optionalMap(`${f}.options`, spec.options) ?? {}) };
  let type = spec.type === undefined ? undefined : checkEnum(`${f}.type`, spec.type, LSP_TYPES);
  let addresses =
    spec.addresses === undefined ? undefined : checkList(`${f}.addresses`, spec.addresses, lspAddress);
  if (spec.routerPort !== undefined) {
    if (type !== undefined && type !== 'router') {
      throw new OvnInvalidArgumentError(`${f}.type`, type, '"router" (or no type) with routerPort');
    }
    type = 'router';
    options['router-port'] = checkName(`${f}.routerPort`, spec.routerPort);
    addresses ??= ['router'];
  }
  if (spec.requestedChassis !== undefined) {
    options['requested-chassis'] =
      spec.requestedChassis === null ? null : checkName(`${f}.requestedChassis`, spec.requestedChassis);
  }
  const portSecurity =
    spec.portSecurity === undefined
      ? undefined
      : checkList(`${f}.portSecurity`, spec.portSecurity, portSecurityEntry);
  let parent: { name: string; tag: number } | undefined;
  if (spec.parent !== undefined) {
    checkSpec(`${f}.parent`, spec.parent);
    parent = {
      name: checkName(`${f}.parent.name`, spec.parent.name),
      tag: checkInt(`${f}.parent.tag`, spec.parent.tag, 0, 4095),
    };
  }
  const enabled =
    spec.enabled === undefined || spec.enabled === null
      ? spec.enabled
      : checkBool(`${f}.enabled`, spec.enabled);
  const dhcpv4 =
    spec.dhcpv4Options === undefined ? undefined : dhcpRef(plan, `${f}.dhcpv4Options`, spec.dhcpv4Options);
  const dhcpv6 =
    spec.dhcpv6Options === undefined ? undefined : dhcpRef(plan, `${f}.dhcpv6Options`, spec.dhcpv6Options);
  const hcg =
    spec.haChassisGroup === undefined || spec.haChassisGroup === null
      ? spec.haChassisGroup
      : need(plan, 'HA_Chassis_Group', `${f}.haChassisGroup`, spec.haChassisGroup).ref;
  const externalIds = ownedIds(f, spec);

  const cols: Record<string, unknown> = {};
  if (type !== undefined) cols.type = type;
  if (addresses !== undefined) cols.addresses = addresses;
  if (portSecurity !== undefined) cols.port_security = portSecurity;
  if (enabled !== undefined) cols.enabled = enabled;
  if (dhcpv4 !== undefined) cols.dhcpv4_options = dhcpv4;
  if (dhcpv6 !== undefined) cols.dhcpv6_options = dhcpv6;
  if (hcg !== undefined) cols.ha_chassis_group = hcg;
  const optionsEdit = Object.keys(options).length === 0 ? undefined : options;

  const cur = plan.one('Logical_Switch_Port', name);
  if (cur) {
    const owner = ownerOf(plan, 'Logical_Switch', 'ports', cur.ref, sw);
    if (owner && owner.ref !== sw.ref) {
      throw new OvnConflictError(
        `Logical_Switch_Port "${name}" exists on switch "${owner.row.name}", not "${sw.row.name}"`,
      );
    }
    if (parent !== undefined && (cur.row.parent_name !== parent.name || cur.row.tag_request !== parent.tag)) {
      throw new OvnConflictError(
        `Logical_Switch_Port "${name}" exists with parent ${JSON.stringify(cur.row.parent_name)} tag ${JSON.stringify(cur.row.tag_request)}; parent and tag cannot change`,
      );
    }
    plan.set(cur, cols);
    editMaps(plan, cur, { options: optionsEdit, external_ids: externalIds });
    if (!owner) plan.addToSet(sw, 'ports', [cur.ref]);
    return cur.ref;
  }
  // Logical_Switch_Port.name is a unique index: a concurrent duplicate fails the commit by itself.
  const row: Record<string, unknown> = {
    name,
    ...cols,
    options: setKeys(optionsEdit),
    external_ids: setKeys(externalIds),
  };
  if (parent) {
    row.parent_name = parent.name;
    row.tag_request = parent.tag;
  }
  for (const k of ['enabled', 'dhcpv4_options', 'dhcpv6_options', 'ha_chassis_group'])
    if (row[k] === null) delete row[k];
  const port = plan.insert('Logical_Switch_Port', row);
  plan.addToSet(sw, 'ports', [port.ref]);
  return port.ref;
}

/** Removes the port from its switch (the row goes with it). False if it did not exist. */
export function deleteLogicalSwitchPort(plan: NbPlanCore, name: string): boolean {
  return deleteNamedPort(plan, 'Logical_Switch_Port', 'Logical_Switch', name);
}

/** The `external_ids` an OVS Interface needs so that ovn-controller binds it to logical port `port`. */
export function interfaceExternalIds(port: string): { readonly 'iface-id': string } {
  return { 'iface-id': checkName('port', port) };
}
