// Logical routers, their ports and gateway chassis, static routes (ECMP, route tables), policies and NAT
// (ovn-nb(5) Logical_Router, Logical_Router_Port, Gateway_Chassis, Logical_Router_Static_Route,
// Logical_Router_Policy, NAT).

import { checkIp, checkMac, checkPrefix, type IpFamily, networkOf } from '../address.js';
import { OvnConflictError, OvnInvalidArgumentError } from '../errors.js';
import type { Entry, NbPlanCore, Ref } from '../plan.js';
import {
  checkBool,
  checkEnum,
  checkInt,
  checkKeys,
  checkList,
  checkMatch,
  checkName,
  checkSpec,
  checkString,
  type MapEdit,
} from '../validate.js';
import {
  deleteChildren,
  deleteNamedPort,
  detachChild,
  editMaps,
  ensureChild,
  need,
  type Owned,
  optionalMap,
  ownedIds,
  ownerOf,
  releaseGroup,
  setKeys,
} from './common.js';

/** Priorities of policies, ACLs, QoS rules, gateway and HA chassis: the schema's range. */
export const MAX_PRIORITY = 32767;

// ---- Logical_Router -----------------------------------------------------------------------------------

export interface LogicalRouterSpec extends Owned {
  readonly name: string;
  readonly enabled?: boolean | null;
  /** `options` keys (e.g. `chassis` for a gateway router); null removes one. */
  readonly options?: MapEdit;
}

export function ensureLogicalRouter(plan: NbPlanCore, spec: LogicalRouterSpec): Ref<'Logical_Router'> {
  const f = 'LogicalRouter';
  checkKeys(f, checkSpec(f, spec), ['name', 'enabled', 'options', 'externalIds']);
  const name = checkName(`${f}.name`, spec.name);
  const enabled =
    spec.enabled === undefined || spec.enabled === null
      ? spec.enabled
      : checkBool(`${f}.enabled`, spec.enabled);
  const options = optionalMap(`${f}.options`, spec.options);
  const externalIds = ownedIds(f, spec);
  const cur = plan.one('Logical_Router', name);
  if (cur) {
    if (enabled !== undefined) plan.set(cur, { enabled });
    editMaps(plan, cur, { options, external_ids: externalIds });
    return cur.ref;
  }
  plan.guardAbsent('Logical_Router', [['name', '==', name]]);
  const row: Record<string, unknown> = {
    name,
    options: setKeys(options),
    external_ids: setKeys(externalIds),
  };
  if (enabled !== undefined && enabled !== null) row.enabled = enabled;
  return plan.insert('Logical_Router', row).ref;
}

/** Deletes the router with its ports, routes, policies and NAT rules. False if it did not exist. */
export function deleteLogicalRouter(plan: NbPlanCore, name: string): boolean {
  const cur = plan.one('Logical_Router', checkName('LogicalRouter.name', name));
  if (!cur) return false;
  for (const p of plan.children(cur, 'ports', 'Logical_Router_Port')) {
    releaseGroup(plan, p);
    plan.forget(p);
  }
  plan.deleteRow(cur);
  return true;
}

// ---- Logical_Router_Port ------------------------------------------------------------------------------

export interface GatewayChassisEntry {
  /** The chassis' system-id (`chassis_name`). */
  readonly chassis: string;
  readonly priority: number;
}

export interface LogicalRouterPortSpec extends Owned {
  readonly router: string;
  readonly name: string;
  readonly mac: string;
  /** At least one `address/length` (the router's address on that network). */
  readonly networks: readonly string[];
  /** The peer router port (router-to-router links). */
  readonly peer?: string | null;
  readonly enabled?: boolean | null;
  readonly options?: MapEdit;
  /** `ipv6_ra_configs` keys (null removes one). */
  readonly ipv6RaConfigs?: MapEdit;
  /** Makes this a distributed gateway port: Gateway_Chassis rows named `PORT-CHASSIS`. */
  readonly gatewayChassis?: readonly GatewayChassisEntry[];
  /** HA_Chassis_Group by name (instead of gatewayChassis). */
  readonly haChassisGroup?: string | null;
}

const LRP_KEYS = [
  'router',
  'name',
  'mac',
  'networks',
  'peer',
  'enabled',
  'options',
  'ipv6RaConfigs',
  'gatewayChassis',
  'haChassisGroup',
  'externalIds',
];

export function ensureLogicalRouterPort(
  plan: NbPlanCore,
  spec: LogicalRouterPortSpec,
): Ref<'Logical_Router_Port'> {
  const f = 'LogicalRouterPort';
  checkKeys(f, checkSpec(f, spec), LRP_KEYS);
  const name = checkName(`${f}.name`, spec.name);
  const router = need(plan, 'Logical_Router', `${f}.router`, spec.router);
  const mac = checkMac(`${f}.mac`, spec.mac);
  const networks = checkList(`${f}.networks`, spec.networks, (fl, x) => checkPrefix(fl, x).cidr);
  if (networks.length === 0)
    throw new OvnInvalidArgumentError(`${f}.networks`, spec.networks, 'at least one "address/length"');
  const peer = spec.peer === undefined || spec.peer === null ? spec.peer : checkName(`${f}.peer`, spec.peer);
  const enabled =
    spec.enabled === undefined || spec.enabled === null
      ? spec.enabled
      : checkBool(`${f}.enabled`, spec.enabled);
  const options = optionalMap(`${f}.options`, spec.options);
  const ra = optionalMap(`${f}.ipv6RaConfigs`, spec.ipv6RaConfigs);
  const hcg =
    spec.haChassisGroup === undefined || spec.haChassisGroup === null
      ? spec.haChassisGroup
      : need(plan, 'HA_Chassis_Group', `${f}.haChassisGroup`, spec.haChassisGroup).ref;
  const gws =
    spec.gatewayChassis === undefined
      ? undefined
      : checkList(`${f}.gatewayChassis`, spec.gatewayChassis, (fl, g) => {
          checkSpec(fl, g);
          const e = g as GatewayChassisEntry;
          return {
            chassis: checkName(`${fl}.chassis`, e.chassis),
            priority: checkInt(`${fl}.priority`, e.priority, 0, MAX_PRIORITY),
          };
        });
  const externalIds = ownedIds(f, spec);
  const cols: Record<string, unknown> = { mac, networks };
  if (peer !== undefined) cols.peer = peer;
  if (enabled !== undefined) cols.enabled = enabled;
  if (hcg !== undefined) cols.ha_chassis_group = hcg;

  let port = plan.one('Logical_Router_Port', name);
  if (port) {
    const owner = ownerOf(plan, 'Logical_Router', 'ports', port.ref, router);
    if (owner && owner.ref !== router.ref) {
      throw new OvnConflictError(
        `Logical_Router_Port "${name}" exists on router "${owner.row.name}", not "${router.row.name}"`,
      );
    }
    plan.set(port, cols);
    editMaps(plan, port, { options, ipv6_ra_configs: ra, external_ids: externalIds });
    if (!owner) plan.addToSet(router, 'ports', [port.ref]);
  } else {
    const row: Record<string, unknown> = {
      name,
      ...cols,
      options: setKeys(options),
      ipv6_ra_configs: setKeys(ra),
      external_ids: setKeys(externalIds),
    };
    for (const k of ['peer', 'enabled', 'ha_chassis_group']) if (row[k] === null) delete row[k];
    port = plan.insert('Logical_Router_Port', row);
    plan.addToSet(router, 'ports', [port.ref]);
  }
  for (const g of gws ?? []) ensureGatewayChassisOn(plan, port, { chassis: g.chassis, priority: g.priority });
  return port.ref;
}

/** Removes the port from its router (with its gateway chassis). False if it did not exist. */
export function deleteLogicalRouterPort(plan: NbPlanCore, name: string): boolean {
  return deleteNamedPort(plan, 'Logical_Router_Port', 'Logical_Router', name);
}

// ---- Gateway_Chassis ------------------------------------------------------------------------------------

export interface GatewayChassisSpec extends Owned {
  readonly routerPort: string;
  readonly chassis: string;
  readonly priority: number;
  /** Row name; default `PORT-CHASSIS`, as ovn-nbctl lrp-set-gateway-chassis names it. */
  readonly name?: string;
  readonly options?: MapEdit;
}

function ensureGatewayChassisOn(
  plan: NbPlanCore,
  port: Entry<'Logical_Router_Port'>,
  spec: Omit<GatewayChassisSpec, 'routerPort'>,
): Ref<'Gateway_Chassis'> {
  const f = 'GatewayChassis';
  const chassis = checkName(`${f}.chassis`, spec.chassis);
  const priority = checkInt(`${f}.priority`, spec.priority, 0, MAX_PRIORITY);
  const name = spec.name === undefined ? `${port.row.name}-${chassis}` : checkName(`${f}.name`, spec.name);
  const options = optionalMap(`${f}.options`, spec.options);
  const externalIds = ownedIds(f, spec);
  const cur = plan.one('Gateway_Chassis', name);
  if (cur) {
    plan.set(cur, { chassis_name: chassis, priority });
    editMaps(plan, cur, { options, external_ids: externalIds });
    plan.addToSet(port, 'gateway_chassis', [cur.ref]);
    return cur.ref;
  }
  // Gateway_Chassis.name is a unique index.
  const gw = plan.insert('Gateway_Chassis', {
    name,
    chassis_name: chassis,
    priority,
    options: setKeys(options),
    external_ids: setKeys(externalIds),
  });
  plan.addToSet(port, 'gateway_chassis', [gw.ref]);
  return gw.ref;
}

export function ensureGatewayChassis(plan: NbPlanCore, spec: GatewayChassisSpec): Ref<'Gateway_Chassis'> {
  const f = 'GatewayChassis';
  checkKeys(f, checkSpec(f, spec), ['routerPort', 'chassis', 'priority', 'name', 'options', 'externalIds']);
  const port = need(plan, 'Logical_Router_Port', `${f}.routerPort`, spec.routerPort);
  const { routerPort: _, ...rest } = spec;
  return ensureGatewayChassisOn(plan, port, rest);
}

/** Removes the gateway chassis `chassis` from the port. False if it was not there. */
export function deleteGatewayChassis(
  plan: NbPlanCore,
  spec: { routerPort: string; chassis: string },
): boolean {
  const port = need(plan, 'Logical_Router_Port', 'GatewayChassis.routerPort', spec.routerPort);
  const chassis = checkName('GatewayChassis.chassis', spec.chassis);
  const gws = plan
    .children(port, 'gateway_chassis', 'Gateway_Chassis')
    .filter((g) => g.row.chassis_name === chassis);
  for (const g of gws) detachChild(plan, [port], 'gateway_chassis', g);
  return gws.length > 0;
}

// ---- Logical_Router_Static_Route --------------------------------------------------------------------------

export interface StaticRouteSpec extends Owned {
  readonly router: string;
  /** Destination (or, with policy src-ip, source) prefix; host bits are cleared as ovn-nbctl does. */
  readonly prefix: string;
  /** Next-hop address, or "discard". */
  readonly nexthop: string;
  readonly policy?: 'dst-ip' | 'src-ip';
  readonly outputPort?: string | null;
  /** `route_table` ("" is the main table). */
  readonly routeTable?: string;
  /**
   * ECMP: a route is identified by its prefix AND next hop, so several next hops for one prefix coexist.
   * Without it a route is identified by its prefix and ensuring a new next hop replaces the old one.
   */
  readonly ecmp?: boolean;
  readonly options?: MapEdit;
}

interface RouteKey {
  prefix: string;
  nexthop: string;
  policy: string;
  routeTable: string;
}

function routeKey(f: string, spec: StaticRouteSpec): RouteKey & { family: IpFamily } {
  const bare = typeof spec.prefix === 'string' && !spec.prefix.includes('/');
  const p = checkPrefix(`${f}.prefix`, spec.prefix, { allowBare: true });
  const nexthop =
    spec.nexthop === 'discard' ? 'discard' : checkIp(`${f}.nexthop`, spec.nexthop, p.family).text;
  return {
    family: p.family,
    prefix: bare ? p.text : networkOf(p),
    nexthop,
    policy:
      spec.policy === undefined ? 'dst-ip' : checkEnum(`${f}.policy`, spec.policy, ['dst-ip', 'src-ip']),
    routeTable: spec.routeTable === undefined ? '' : checkString(`${f}.routeTable`, spec.routeTable),
  };
}

function routeMatches(e: Entry, k: RouteKey, withNexthop: boolean): boolean {
  const policy = (e.row.policy as string | null) ?? 'dst-ip';
  return (
    e.row.ip_prefix === k.prefix &&
    policy === k.policy &&
    e.row.route_table === k.routeTable &&
    (!withNexthop || e.row.nexthop === k.nexthop)
  );
}

export function ensureStaticRoute(
  plan: NbPlanCore,
  spec: StaticRouteSpec,
): Ref<'Logical_Router_Static_Route'> {
  const f = 'StaticRoute';
  checkKeys(f, checkSpec(f, spec), [
    'router',
    'prefix',
    'nexthop',
    'policy',
    'outputPort',
    'routeTable',
    'ecmp',
    'options',
    'externalIds',
  ]);
  const router = need(plan, 'Logical_Router', `${f}.router`, spec.router);
  const k = routeKey(f, spec);
  const ecmp = spec.ecmp === undefined ? false : checkBool(`${f}.ecmp`, spec.ecmp);
  const outputPort =
    spec.outputPort === undefined || spec.outputPort === null
      ? spec.outputPort
      : checkName(`${f}.outputPort`, spec.outputPort);
  const options = optionalMap(`${f}.options`, spec.options);
  const externalIds = ownedIds(f, spec);
  const routes = plan.children(router, 'static_routes', 'Logical_Router_Static_Route');
  const same = routes.filter((r) => routeMatches(r, k, ecmp));
  if (same.length > 1) {
    throw new OvnConflictError(
      `router "${router.row.name}" has ${same.length} routes for ${k.prefix} (ECMP); pass ecmp: true to ensure one of them`,
    );
  }
  const cols: Record<string, unknown> = { nexthop: k.nexthop, policy: k.policy };
  if (outputPort !== undefined) cols.output_port = outputPort;
  const found = same[0];
  return ensureChild(plan, {
    parent: router,
    column: 'static_routes',
    table: 'Logical_Router_Static_Route',
    match: (r) => r === found,
    cols,
    maps: { options, external_ids: externalIds },
    row: {
      ip_prefix: k.prefix,
      route_table: k.routeTable,
      ...cols,
      options: setKeys(options),
      external_ids: setKeys(externalIds),
    },
  });
}

/** Removes the routes for `prefix` (only the one via `nexthop` when given). Returns how many. */
export function deleteStaticRoute(
  plan: NbPlanCore,
  spec: Pick<StaticRouteSpec, 'router' | 'prefix' | 'policy' | 'routeTable'> & { readonly nexthop?: string },
): number {
  const f = 'StaticRoute';
  const router = need(plan, 'Logical_Router', `${f}.router`, spec.router);
  const k = routeKey(f, { ...spec, nexthop: spec.nexthop ?? 'discard' });
  const withNexthop = spec.nexthop !== undefined;
  return deleteChildren(plan, router, 'static_routes', 'Logical_Router_Static_Route', (r) =>
    routeMatches(r, k, withNexthop),
  );
}

// ---- Logical_Router_Policy ----------------------------------------------------------------------------

export interface RouterPolicySpec extends Owned {
  readonly router: string;
  readonly priority: number;
  readonly match: string;
  readonly action: 'allow' | 'drop' | 'reroute';
  /** Next hops of a reroute (one or more: ECMP). */
  readonly nexthops?: readonly string[];
  readonly options?: MapEdit;
}

export function ensureRouterPolicy(plan: NbPlanCore, spec: RouterPolicySpec): Ref<'Logical_Router_Policy'> {
  const f = 'RouterPolicy';
  checkKeys(f, checkSpec(f, spec), [
    'router',
    'priority',
    'match',
    'action',
    'nexthops',
    'options',
    'externalIds',
  ]);
  const router = need(plan, 'Logical_Router', `${f}.router`, spec.router);
  const priority = checkInt(`${f}.priority`, spec.priority, 0, MAX_PRIORITY);
  const match = checkMatch(`${f}.match`, spec.match);
  const action = checkEnum(`${f}.action`, spec.action, ['allow', 'drop', 'reroute']);
  const nexthops =
    spec.nexthops === undefined
      ? []
      : checkList(`${f}.nexthops`, spec.nexthops, (fl, x) => checkIp(fl, x).text);
  if ((action === 'reroute') !== nexthops.length > 0) {
    throw new OvnInvalidArgumentError(
      `${f}.nexthops`,
      spec.nexthops,
      'one or more next hops with action "reroute", none otherwise',
    );
  }
  const options = optionalMap(`${f}.options`, spec.options);
  const externalIds = ownedIds(f, spec);
  return ensureChild(plan, {
    parent: router,
    column: 'policies',
    table: 'Logical_Router_Policy',
    match: (p) => p.row.priority === priority && p.row.match === match,
    cols: { action, nexthops },
    maps: { options, external_ids: externalIds },
    row: { priority, match, action, nexthops, options: setKeys(options), external_ids: setKeys(externalIds) },
  });
}

export function deleteRouterPolicy(
  plan: NbPlanCore,
  spec: { router: string; priority: number; match: string },
): boolean {
  const f = 'RouterPolicy';
  const router = need(plan, 'Logical_Router', `${f}.router`, spec.router);
  const priority = checkInt(`${f}.priority`, spec.priority, 0, MAX_PRIORITY);
  const match = checkMatch(`${f}.match`, spec.match);
  const same = (p: Entry) => p.row.priority === priority && p.row.match === match;
  return deleteChildren(plan, router, 'policies', 'Logical_Router_Policy', same) > 0;
}

// ---- NAT ------------------------------------------------------------------------------------------------

export type NatType = 'snat' | 'dnat' | 'dnat_and_snat';

export interface NatSpec extends Owned {
  readonly router: string;
  readonly type: NatType;
  readonly externalIp: string;
  /** dnat and dnat_and_snat: an address; snat: an address or a network. */
  readonly logicalIp: string;
  /** dnat_and_snat only, with externalMac: distributed NAT on the chassis of this logical port. */
  readonly logicalPort?: string;
  readonly externalMac?: string;
  /** `external_port_range`, e.g. "1024-65535" (snat). */
  readonly externalPortRange?: string;
  readonly options?: MapEdit;
}

interface NatKey {
  type: NatType;
  externalIp: string;
  logicalIp: string;
}

function natKey(f: string, spec: Pick<NatSpec, 'type' | 'externalIp' | 'logicalIp'>): NatKey {
  const type = checkEnum(`${f}.type`, spec.type, ['snat', 'dnat', 'dnat_and_snat']);
  const ext = checkIp(`${f}.externalIp`, spec.externalIp);
  let logicalIp: string;
  if (type === 'snat') {
    const p = checkPrefix(`${f}.logicalIp`, spec.logicalIp, {
      allowBare: true,
      family: ext.family,
      network: true,
    });
    logicalIp = p.length === (p.family === 4 ? 32 : 128) ? p.text : p.cidr;
  } else {
    logicalIp = checkIp(`${f}.logicalIp`, spec.logicalIp, ext.family).text;
  }
  return { type, externalIp: ext.text, logicalIp };
}

function natMatches(e: Entry, k: NatKey): boolean {
  return e.row.type === k.type && e.row.external_ip === k.externalIp && e.row.logical_ip === k.logicalIp;
}

export function ensureNat(plan: NbPlanCore, spec: NatSpec): Ref<'NAT'> {
  const f = 'NAT';
  checkKeys(f, checkSpec(f, spec), [
    'router',
    'type',
    'externalIp',
    'logicalIp',
    'logicalPort',
    'externalMac',
    'externalPortRange',
    'options',
    'externalIds',
  ]);
  const router = need(plan, 'Logical_Router', `${f}.router`, spec.router);
  const k = natKey(f, spec);
  if ((spec.logicalPort === undefined) !== (spec.externalMac === undefined)) {
    throw new OvnInvalidArgumentError(
      `${f}.logicalPort`,
      spec.logicalPort,
      'logicalPort and externalMac together, or neither',
    );
  }
  if (spec.logicalPort !== undefined && k.type !== 'dnat_and_snat') {
    throw new OvnInvalidArgumentError(`${f}.type`, k.type, '"dnat_and_snat" with logicalPort/externalMac');
  }
  const cols: Record<string, unknown> = {
    logical_port: spec.logicalPort === undefined ? null : checkName(`${f}.logicalPort`, spec.logicalPort),
    external_mac: spec.externalMac === undefined ? null : checkMac(`${f}.externalMac`, spec.externalMac),
  };
  if (spec.externalPortRange !== undefined) {
    const r = checkString(`${f}.externalPortRange`, spec.externalPortRange);
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(r);
    if (
      r !== '' &&
      (!m || Number(m[1]) < 1 || Number(m[2] ?? m[1]) > 65535 || Number(m[2] ?? m[1]) < Number(m[1]))
    ) {
      throw new OvnInvalidArgumentError(
        `${f}.externalPortRange`,
        r,
        '"" or "PORT" or "LOW-HIGH" within 1..65535',
      );
    }
    cols.external_port_range = r;
  }
  const options = optionalMap(`${f}.options`, spec.options);
  const externalIds = ownedIds(f, spec);
  return ensureChild(plan, {
    parent: router,
    column: 'nat',
    table: 'NAT',
    match: (n) => natMatches(n, k),
    cols,
    maps: { options, external_ids: externalIds },
    row: {
      type: k.type,
      external_ip: k.externalIp,
      logical_ip: k.logicalIp,
      ...cols,
      options: setKeys(options),
      external_ids: setKeys(externalIds),
    },
  });
}

export function deleteNat(
  plan: NbPlanCore,
  spec: Pick<NatSpec, 'router' | 'type' | 'externalIp' | 'logicalIp'>,
): boolean {
  const router = need(plan, 'Logical_Router', 'NAT.router', spec.router);
  const k = natKey('NAT', spec);
  return deleteChildren(plan, router, 'nat', 'NAT', (n) => natMatches(n, k)) > 0;
}
