// Load balancers: VIPs, protocol, health checks, attachment to switches and routers (ovn-nb(5)
// Load_Balancer, Load_Balancer_Health_Check).

import { checkIp, checkIpPort } from '../address.js';
import { OvnInvalidArgumentError } from '../errors.js';
import type { Entry, NbPlanCore, Ref } from '../plan.js';
import {
  checkEnum,
  checkInt,
  checkKeys,
  checkList,
  checkName,
  checkSpec,
  type MapEdit,
} from '../validate.js';
import {
  deleteChildren,
  dropWeakRefs,
  editMaps,
  ensureChild,
  need,
  type Owned,
  optionalMap,
  ownedIds,
  setKeys,
} from './common.js';

export const LB_PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
export const LB_SELECTION_FIELDS = ['eth_src', 'eth_dst', 'ip_src', 'ip_dst', 'tp_src', 'tp_dst'] as const;

export interface HealthCheckSpec {
  /** A VIP of the load balancer, with its port. */
  readonly vip: string;
  /** `interval`, `timeout`, `success_count`, `failure_count` (seconds / counts). */
  readonly interval?: number;
  readonly timeout?: number;
  readonly successCount?: number;
  readonly failureCount?: number;
  readonly externalIds?: MapEdit;
}

export interface LoadBalancerSpec extends Owned {
  readonly name: string;
  /** VIP (`IP`, `IPv4:port`, `[IPv6]:port`) → backends in the same form; replaces `vips` as a whole. */
  readonly vips: Readonly<Record<string, readonly string[]>>;
  /** Default "tcp". */
  readonly protocol?: (typeof LB_PROTOCOLS)[number];
  readonly selectionFields?: readonly (typeof LB_SELECTION_FIELDS)[number][];
  /** `options` keys (e.g. `reject`, `hairpin_snat_ip`); null removes one. */
  readonly options?: MapEdit;
  /** `ip_port_mappings`: backend IP → `LSP:SOURCE_IP` for health checks (null removes). */
  readonly ipPortMappings?: MapEdit;
  /** Health checks, one per VIP (ensured; others are left alone). */
  readonly healthChecks?: readonly HealthCheckSpec[];
  /** Switches and routers (by name) to attach the load balancer to. */
  readonly switches?: readonly string[];
  readonly routers?: readonly string[];
}

const LB_KEYS = [
  'name',
  'vips',
  'protocol',
  'selectionFields',
  'options',
  'ipPortMappings',
  'healthChecks',
  'switches',
  'routers',
  'externalIds',
];

/** Checks VIPs and backends; returns the `vips` column (backends joined with ","). */
export function lbVips(f: string, vips: unknown): Record<string, string> {
  if (typeof vips !== 'object' || vips === null || Array.isArray(vips)) {
    throw new OvnInvalidArgumentError(f, vips, 'an object VIP → array of backends');
  }
  const out: Record<string, string> = {};
  for (const [vip, backends] of Object.entries(vips)) {
    const v = checkIpPort(`${f} key`, vip);
    const list = checkList(`${f}[${JSON.stringify(vip)}]`, backends, (fl, b) => {
      const e = checkIpPort(fl, b);
      if (e.ip.family !== v.ip.family)
        throw new OvnInvalidArgumentError(fl, b, `an IPv${v.ip.family} backend like its VIP`);
      if ((e.port === undefined) !== (v.port === undefined)) {
        throw new OvnInvalidArgumentError(
          fl,
          b,
          v.port === undefined
            ? 'a backend without a port (the VIP has none)'
            : 'a backend with a port (the VIP has one)',
        );
      }
      return e.text;
    });
    if (list.length === 0)
      throw new OvnInvalidArgumentError(`${f}[${JSON.stringify(vip)}]`, backends, 'at least one backend');
    out[v.text] = list.join(',');
  }
  return out;
}

function healthOptions(f: string, h: HealthCheckSpec): Record<string, string> {
  const o: Record<string, string> = {};
  const put = (key: string, v: number | undefined, field: string, min: number) => {
    if (v !== undefined) o[key] = String(checkInt(`${f}.${field}`, v, min, 2 ** 31 - 1));
  };
  put('interval', h.interval, 'interval', 1);
  put('timeout', h.timeout, 'timeout', 1);
  put('success_count', h.successCount, 'successCount', 1);
  put('failure_count', h.failureCount, 'failureCount', 1);
  return o;
}

interface HealthCheck {
  vip: string;
  options: Record<string, string>;
  externalIds: MapEdit | undefined;
}

/** Checks one health check against the VIPs (before anything is added to the transaction). */
function healthCheck(f: string, h: HealthCheckSpec, vips: Record<string, string>): HealthCheck {
  checkKeys(f, checkSpec(f, h), [
    'vip',
    'interval',
    'timeout',
    'successCount',
    'failureCount',
    'externalIds',
  ]);
  const vip = checkIpPort(`${f}.vip`, h.vip);
  if (vip.port === undefined || !(vip.text in vips)) {
    throw new OvnInvalidArgumentError(
      `${f}.vip`,
      h.vip,
      `one of the load balancer's VIPs, with a port (${Object.keys(vips).join(', ')})`,
    );
  }
  return {
    vip: vip.text,
    options: healthOptions(f, h),
    externalIds: optionalMap(`${f}.externalIds`, h.externalIds),
  };
}

function ensureHealthCheck(plan: NbPlanCore, lb: Entry<'Load_Balancer'>, h: HealthCheck): void {
  ensureChild(plan, {
    parent: lb,
    column: 'health_check',
    table: 'Load_Balancer_Health_Check',
    match: (c) => c.row.vip === h.vip,
    cols: { options: h.options },
    maps: { external_ids: h.externalIds },
    row: { vip: h.vip, options: h.options, external_ids: setKeys(h.externalIds) },
  });
}

export function ensureLoadBalancer(plan: NbPlanCore, spec: LoadBalancerSpec): Ref<'Load_Balancer'> {
  const f = 'LoadBalancer';
  checkKeys(f, checkSpec(f, spec), LB_KEYS);
  const name = checkName(`${f}.name`, spec.name);
  const vips = lbVips(`${f}.vips`, spec.vips);
  const protocol =
    spec.protocol === undefined ? 'tcp' : checkEnum(`${f}.protocol`, spec.protocol, LB_PROTOCOLS);
  const selection =
    spec.selectionFields === undefined
      ? undefined
      : checkList(`${f}.selectionFields`, spec.selectionFields, (fl, x) =>
          checkEnum(fl, x, LB_SELECTION_FIELDS),
        );
  const options = optionalMap(`${f}.options`, spec.options);
  const mappings = optionalMap(`${f}.ipPortMappings`, spec.ipPortMappings);
  for (const k of Object.keys(mappings ?? {})) checkIp(`${f}.ipPortMappings key`, k);
  const externalIds = ownedIds(f, spec);
  const switches = checkList(`${f}.switches`, spec.switches ?? [], (fl, x) =>
    need(plan, 'Logical_Switch', fl, x),
  );
  const routers = checkList(`${f}.routers`, spec.routers ?? [], (fl, x) =>
    need(plan, 'Logical_Router', fl, x),
  );
  const checks = checkList(`${f}.healthChecks`, spec.healthChecks ?? [], (fl, h) =>
    healthCheck(fl, h as HealthCheckSpec, vips),
  );
  const cols: Record<string, unknown> = { vips, protocol };
  if (selection !== undefined) cols.selection_fields = selection;
  let lb = plan.one('Load_Balancer', name);
  if (lb) {
    plan.set(lb, cols);
    editMaps(plan, lb, { options, ip_port_mappings: mappings, external_ids: externalIds });
  } else {
    plan.guardAbsent('Load_Balancer', [['name', '==', name]]);
    lb = plan.insert('Load_Balancer', {
      name,
      ...cols,
      options: setKeys(options),
      ip_port_mappings: setKeys(mappings),
      external_ids: setKeys(externalIds),
    });
  }
  for (const h of checks) ensureHealthCheck(plan, lb, h);
  for (const s of switches) plan.addToSet(s, 'load_balancer', [lb.ref]);
  for (const r of routers) plan.addToSet(r, 'load_balancer', [lb.ref]);
  return lb.ref;
}

/** Deletes the load balancer; switches and routers drop it (weak references). False if it did not exist. */
export function deleteLoadBalancer(plan: NbPlanCore, name: string): boolean {
  const lb = plan.one('Load_Balancer', checkName('LoadBalancer.name', name));
  if (!lb) return false;
  dropWeakRefs(plan, 'Logical_Switch', 'load_balancer', lb);
  dropWeakRefs(plan, 'Logical_Router', 'load_balancer', lb);
  plan.deleteRow(lb);
  return true;
}

/** Attaches (or with `detach`, removes) a load balancer to switches and routers. */
export function attachLoadBalancer(
  plan: NbPlanCore,
  spec: { loadBalancer: string; switches?: readonly string[]; routers?: readonly string[] },
  detach = false,
): void {
  const f = 'AttachLoadBalancer';
  const lb = need(plan, 'Load_Balancer', `${f}.loadBalancer`, spec.loadBalancer);
  const parents: Entry[] = [
    ...checkList(`${f}.switches`, spec.switches ?? [], (fl, x) => need(plan, 'Logical_Switch', fl, x)),
    ...checkList(`${f}.routers`, spec.routers ?? [], (fl, x) => need(plan, 'Logical_Router', fl, x)),
  ];
  for (const p of parents) {
    if (detach) plan.removeFromSet(p, 'load_balancer', [lb.ref]);
    else {
      plan.guardExists(lb, 'name');
      plan.addToSet(p, 'load_balancer', [lb.ref]);
    }
  }
}

/** Removes the health check of `vip`. False if there was none. */
export function deleteHealthCheck(plan: NbPlanCore, spec: { loadBalancer: string; vip: string }): boolean {
  const lb = need(plan, 'Load_Balancer', 'HealthCheck.loadBalancer', spec.loadBalancer);
  const vip = checkIpPort('HealthCheck.vip', spec.vip).text;
  return deleteChildren(plan, lb, 'health_check', 'Load_Balancer_Health_Check', (c) => c.row.vip === vip) > 0;
}
