// Validation of orchestrator requests before anything is touched: every error names the field, the value
// and what is allowed, and a rejected request changes nothing.

import { InvalidOptionError, OrchestratorArgumentError } from '../core/errors.js';
import { parseMonitorName } from '../core/mirror.js';
import { checkRateLimits, parseDscp, type RateLimits } from '../core/qos.js';
import { addressCidr, ipFamily } from '../core/rules/cidr.js';
import { ifNameProblem } from '../core/rules/ifname.js';
import { canonicalMac, macProblem } from '../core/rules/mac.js';
import { mtuProblem } from '../core/rules/mtu.js';
import type { AttachRequest, AttachRoute, TargetRef, VlanSetting } from './types.js';

/** An interface name (rules/ifname.ts, the kernel's dev_valid_name, shared with the driver). */
export function checkIfname(field: string, value: unknown): string {
  const problem = ifNameProblem(value);
  if (problem) throw new OrchestratorArgumentError(field, value, problem);
  return value as string;
}

/** OVS bridge names become the bridge's internal interface name: the same rule as an interface name. */
export function checkBridge(value: unknown, field = 'bridge'): string {
  return checkIfname(field, value);
}

export function checkVlan(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 4095)
    throw new OrchestratorArgumentError(field, value, 'an integer VLAN id 0..4095 (Port.tag)');
  return value;
}

export function checkTrunks(field: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new OrchestratorArgumentError(field, value, 'a non-empty array of VLAN ids 0..4095');
  const out = value.map((v, i) => checkVlan(`${field}[${i}]`, v));
  return [...new Set(out)].sort((a, b) => a - b);
}

/** A veth MTU (rules/mtu.ts: 68 to 65535, ETH_MAX_MTU of the veth driver). */
export function checkMtu(value: unknown, field = 'mtu'): number {
  const problem = mtuProblem(value);
  if (problem) throw new OrchestratorArgumentError(field, value, problem);
  return value as number;
}

/** A MAC address (rules/mac.ts, shared with the driver): unicast, non-zero; returned in canonical text. */
export function checkMac(value: unknown, field = 'mac'): string {
  const problem = macProblem(value);
  if (problem) throw new OrchestratorArgumentError(field, value, problem);
  return canonicalMac(value as string);
}

/** An address in CIDR form (rules/cidr.ts); returns its family. */
export function checkCidr(field: string, value: unknown): { address: string; prefix: number; family: 4 | 6 } {
  const c = addressCidr(value);
  if ('problem' in c) throw new OrchestratorArgumentError(field, value, c.problem);
  return c;
}

export function checkIp(field: string, value: unknown, family?: 4 | 6): string {
  const f = ipFamily(value);
  if (f === undefined || (family !== undefined && f !== family))
    throw new OrchestratorArgumentError(
      field,
      value,
      family === 6 ? 'an IPv6 address' : family === 4 ? 'an IPv4 address' : 'an IPv4 or IPv6 address',
    );
  return value as string;
}

export function checkRoute(field: string, value: unknown): AttachRoute {
  if (typeof value !== 'object' || value === null)
    throw new OrchestratorArgumentError(field, value, 'an object {destination, via?}');
  const r = value as { destination?: unknown; via?: unknown };
  let family: 4 | 6 | undefined;
  if (r.destination !== 'default') family = checkCidr(`${field}.destination`, r.destination).family;
  if (r.via === undefined) {
    if (r.destination === 'default')
      throw new OrchestratorArgumentError(`${field}.via`, r.via, 'a next hop for a default route');
    return { destination: r.destination as string };
  }
  const via = checkIp(`${field}.via`, r.via, family);
  return { destination: r.destination as string, via };
}

const RESERVED_IDS = new Set(['container_id', 'container_iface']);

export function checkExternalIds(value: unknown, field = 'externalIds'): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new OrchestratorArgumentError(field, value, 'an object of string keys to string values');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.length === 0) throw new OrchestratorArgumentError(field, k, 'non-empty keys');
    if (RESERVED_IDS.has(k))
      throw new OrchestratorArgumentError(
        `${field}.${k}`,
        v,
        'no value: container_id and container_iface are set from containerId and ifname',
      );
    if (typeof v !== 'string') throw new OrchestratorArgumentError(`${field}.${k}`, v, 'a string');
    out[k] = v;
  }
  return out;
}

/**
 * Recorded in external_ids and matched by ovs-docker's unquoted `ovs-vsctl find interface
 * external_ids:container_id=ID`, which parses ID as a set of strings: ':' and '=' make it fail, ',' and
 * whitespace split it (lib/ovsdb-data.c). So ids are limited to characters that survive that parse.
 */
const CONTAINER_ID = /^[A-Za-z0-9_.@+/~-]{1,255}$/;

export function checkContainerId(value: unknown, field = 'containerId'): string {
  if (typeof value !== 'string' || !CONTAINER_ID.test(value))
    throw new OrchestratorArgumentError(
      field,
      value,
      "1..255 letters, digits or _ . @ + / ~ - (ovs-vsctl/ovs-docker cannot match ':', '=', ',' or spaces)",
    );
  return value;
}

export function checkTarget(value: unknown, field = 'target'): TargetRef {
  const allowed = 'exactly one of {pid: number}, {netns: string}, {container: string}';
  if (typeof value !== 'object' || value === null) throw new OrchestratorArgumentError(field, value, allowed);
  const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
  if (keys.length !== 1) throw new OrchestratorArgumentError(field, value, allowed);
  const t = value as { pid?: unknown; netns?: unknown; container?: unknown };
  if (keys[0] === 'pid') {
    if (typeof t.pid !== 'number' || !Number.isInteger(t.pid) || t.pid <= 0)
      throw new OrchestratorArgumentError(`${field}.pid`, t.pid, 'a positive integer process id');
    return { pid: t.pid };
  }
  if (keys[0] === 'netns') {
    if (typeof t.netns !== 'string' || t.netns.length === 0 || t.netns.includes('\0'))
      throw new OrchestratorArgumentError(
        `${field}.netns`,
        t.netns,
        'a namespace file path (/run/netns/NAME, /proc/PID/ns/net) or a name under /run/netns',
      );
    if (!t.netns.startsWith('/') && (t.netns.includes('/') || t.netns === '.' || t.netns === '..'))
      throw new OrchestratorArgumentError(
        `${field}.netns`,
        t.netns,
        'an absolute path, or a bare name (no "/") under /run/netns',
      );
    return { netns: t.netns };
  }
  if (keys[0] === 'container') {
    if (typeof t.container !== 'string' || !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/.test(t.container))
      throw new OrchestratorArgumentError(
        `${field}.container`,
        t.container,
        'a Docker container id, id prefix or name: letters, digits, _ . -',
      );
    return { container: t.container };
  }
  throw new OrchestratorArgumentError(field, value, allowed);
}

/** The namespace file of a target that needs no Docker lookup. */
export function netnsPathOf(target: { pid: number } | { netns: string }): string {
  if ('pid' in target) return `/proc/${target.pid}/ns/net`;
  return target.netns.startsWith('/') ? target.netns : `/run/netns/${target.netns}`;
}

/** The `container_id` recorded for a target when the caller gives none (ovs-docker records the ref as given). */
export function defaultContainerId(target: TargetRef): string {
  if ('container' in target) return target.container.replace(/^\//, '');
  if ('pid' in target) return `pid-${target.pid}`;
  return netnsPathOf(target);
}

export interface NormalizedAttach {
  bridge: string;
  target: TargetRef;
  ifname: string;
  containerId: string;
  addresses: { cidr: string; address: string; prefix: number; family: 4 | 6 }[];
  mac: string | undefined;
  mtu: number | undefined;
  gateway: string | undefined;
  gateway6: string | undefined;
  routes: AttachRoute[];
  vlan: number | undefined;
  trunks: number[];
  externalIds: Record<string, string>;
  txChecksumOffload: boolean;
  /** Rate limits (core/qos.ts), undefined for none. */
  rateLimit: RateLimits | undefined;
  /** The monitor name this attachment answers to as a mirror's output (core/mirror.ts). */
  monitor: string | undefined;
}

const ATTACH_KEYS = new Set([
  'bridge',
  'target',
  'ifname',
  'containerId',
  'addresses',
  'mac',
  'mtu',
  'gateway',
  'gateway6',
  'routes',
  'vlan',
  'trunks',
  'externalIds',
  'txChecksumOffload',
  'signal',
  'rateLimit',
  'monitor',
]);

/** Checks a whole attach request and returns it normalized. Throws OrchestratorArgumentError. */
export function normalizeAttach(req: AttachRequest): NormalizedAttach {
  if (typeof req !== 'object' || req === null)
    throw new OrchestratorArgumentError('request', req, 'an object {bridge, target, ifname, …}');
  for (const k of Object.keys(req))
    if (!ATTACH_KEYS.has(k))
      throw new OrchestratorArgumentError('request', k, `a known field: ${[...ATTACH_KEYS].join(', ')}`);
  const bridge = checkBridge(req.bridge);
  const target = checkTarget(req.target);
  const ifname = checkIfname('ifname', req.ifname);
  const containerId =
    req.containerId === undefined
      ? checkContainerId(defaultContainerId(target), 'containerId (derived from the target; give one)')
      : checkContainerId(req.containerId);
  if (req.addresses !== undefined && !Array.isArray(req.addresses))
    throw new OrchestratorArgumentError('addresses', req.addresses, 'an array of CIDR strings');
  const addresses = (req.addresses ?? []).map((a, i) => ({ cidr: a, ...checkCidr(`addresses[${i}]`, a) }));
  const mac = req.mac === undefined ? undefined : checkMac(req.mac);
  const mtu = req.mtu === undefined ? undefined : checkMtu(req.mtu);
  const gateway = req.gateway === undefined ? undefined : checkIp('gateway', req.gateway, 4);
  const gateway6 = req.gateway6 === undefined ? undefined : checkIp('gateway6', req.gateway6, 6);
  if (req.routes !== undefined && !Array.isArray(req.routes))
    throw new OrchestratorArgumentError('routes', req.routes, 'an array of {destination, via?}');
  const routes = (req.routes ?? []).map((r, i) => checkRoute(`routes[${i}]`, r));
  if (req.vlan !== undefined && req.trunks !== undefined)
    throw new OrchestratorArgumentError(
      'trunks',
      req.trunks,
      'nothing when vlan is set: a port is access or trunk',
    );
  const vlan = req.vlan === undefined ? undefined : checkVlan('vlan', req.vlan);
  const trunks = req.trunks === undefined ? [] : checkTrunks('trunks', req.trunks);
  const externalIds = req.externalIds === undefined ? {} : checkExternalIds(req.externalIds);
  if (req.txChecksumOffload !== undefined && typeof req.txChecksumOffload !== 'boolean')
    throw new OrchestratorArgumentError('txChecksumOffload', req.txChecksumOffload, 'a boolean');
  const rateLimit =
    req.rateLimit === undefined ? undefined : checkOrchestratorLimits('rateLimit', req.rateLimit, mtu);
  const monitor =
    req.monitor === undefined ? undefined : asArgumentError(() => parseMonitorName('monitor', req.monitor));
  return {
    rateLimit,
    monitor,
    bridge,
    target,
    ifname,
    containerId,
    addresses,
    mac,
    mtu,
    gateway,
    gateway6,
    routes,
    vlan,
    trunks,
    externalIds,
    txChecksumOffload: req.txChecksumOffload ?? false,
  };
}

/** Rate limits of the API (`{ingress?, egress?}` of `{rate, burst?}`), errors as OrchestratorArgumentError. */
export function checkOrchestratorLimits(
  field: string,
  v: unknown,
  mtu: number | undefined,
  burstFor?: (rate: number, mtu: number) => number,
): RateLimits {
  return asArgumentError(() => checkRateLimits(field, v, mtu ?? 1500, burstFor));
}

/** A DSCP mark of the API (0..63, or null for none), errors as OrchestratorArgumentError. */
export function checkOrchestratorDscp(field: string, v: unknown): number | null {
  if (v === null) return null;
  return asArgumentError(() => parseDscp(field, typeof v === 'number' ? String(v) : v));
}

function asArgumentError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InvalidOptionError && !(err instanceof OrchestratorArgumentError))
      throw new OrchestratorArgumentError(err.option, err.value, err.allowed);
    throw err;
  }
}

export function checkVlanSetting(value: unknown): VlanSetting {
  if (typeof value === 'number') return { vlan: checkVlan('vlan', value) };
  if (typeof value === 'object' && value !== null) {
    const v = value as { vlan?: unknown; trunks?: unknown };
    if ('vlan' in v && !('trunks' in v))
      return v.vlan === null ? { vlan: null } : { vlan: checkVlan('vlan', v.vlan) };
    if ('trunks' in v && !('vlan' in v)) return { trunks: checkTrunks('trunks', v.trunks) };
  }
  throw new OrchestratorArgumentError(
    'vlan',
    value,
    'a VLAN id 0..4095, {vlan: id | null} or {trunks: [ids]}',
  );
}
