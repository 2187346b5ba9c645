// ACLs, port groups and address sets (ovn-nb(5) ACL, Port_Group, Address_Set).

import { checkIp, checkPrefix } from '../address.js';
import { OvnInvalidArgumentError } from '../errors.js';
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
  type MapEdit,
} from '../validate.js';
import {
  deleteChildren,
  editMaps,
  ensureChild,
  need,
  type Owned,
  optionalMap,
  ownedIds,
  setKeys,
} from './common.js';
import { MAX_PRIORITY } from './router.js';

export const ACL_ACTIONS = ['allow', 'allow-related', 'allow-stateless', 'drop', 'reject'] as const;
export const DIRECTIONS = ['from-lport', 'to-lport'] as const;
export const SEVERITIES = ['alert', 'warning', 'notice', 'info', 'debug'] as const;

/** Where an ACL (or QoS rule) hangs: a switch or a port group, by name. */
export type AclParent = { readonly switch: string } | { readonly portGroup: string };

export interface AclSpec extends Owned {
  readonly parent: AclParent;
  readonly direction: (typeof DIRECTIONS)[number];
  readonly priority: number;
  readonly match: string;
  readonly action: (typeof ACL_ACTIONS)[number];
  readonly log?: boolean;
  readonly severity?: (typeof SEVERITIES)[number] | null;
  /** `name` (at most 63 characters: it is logged). */
  readonly name?: string | null;
  readonly meter?: string | null;
  readonly label?: number;
  readonly options?: MapEdit;
}

function aclParent(plan: NbPlanCore, f: string, p: unknown): Entry<'Logical_Switch'> | Entry<'Port_Group'> {
  const o = checkSpec(f, p);
  if ('switch' in o && !('portGroup' in o)) return need(plan, 'Logical_Switch', `${f}.switch`, o.switch);
  if ('portGroup' in o && !('switch' in o)) return need(plan, 'Port_Group', `${f}.portGroup`, o.portGroup);
  throw new OvnInvalidArgumentError(f, p, '{switch: NAME} or {portGroup: NAME}');
}

interface RuleKey {
  direction: string;
  priority: number;
  match: string;
}

export function ruleKey(f: string, spec: { direction: unknown; priority: unknown; match: unknown }): RuleKey {
  return {
    direction: checkEnum(`${f}.direction`, spec.direction, DIRECTIONS),
    priority: checkInt(`${f}.priority`, spec.priority, 0, MAX_PRIORITY),
    match: checkMatch(`${f}.match`, spec.match),
  };
}

/** ACLs and QoS rules are identified in their parent by direction, priority and match (as ovsdbapp does). */
export function sameRule(e: Entry, k: RuleKey): boolean {
  return e.row.direction === k.direction && e.row.priority === k.priority && e.row.match === k.match;
}

export function ensureAcl(plan: NbPlanCore, spec: AclSpec): Ref<'ACL'> {
  const f = 'ACL';
  checkKeys(f, checkSpec(f, spec), [
    'parent',
    'direction',
    'priority',
    'match',
    'action',
    'log',
    'severity',
    'name',
    'meter',
    'label',
    'options',
    'externalIds',
  ]);
  const parent = aclParent(plan, `${f}.parent`, spec.parent);
  const k = ruleKey(f, spec);
  const cols: Record<string, unknown> = {
    action: checkEnum(`${f}.action`, spec.action, ACL_ACTIONS),
    log: spec.log === undefined ? false : checkBool(`${f}.log`, spec.log),
  };
  if (spec.severity !== undefined)
    cols.severity = spec.severity === null ? null : checkEnum(`${f}.severity`, spec.severity, SEVERITIES);
  if (spec.name !== undefined) cols.name = spec.name === null ? null : checkName(`${f}.name`, spec.name, 63);
  if (spec.meter !== undefined) cols.meter = spec.meter === null ? null : checkName(`${f}.meter`, spec.meter);
  if (spec.label !== undefined) cols.label = checkInt(`${f}.label`, spec.label, 0, 4294967295);
  const options = optionalMap(`${f}.options`, spec.options);
  const externalIds = ownedIds(f, spec);
  return ensureChild(plan, {
    parent,
    column: 'acls',
    table: 'ACL',
    match: (a) => sameRule(a, k),
    cols,
    maps: { options, external_ids: externalIds },
    row: { ...k, ...cols, options: setKeys(options), external_ids: setKeys(externalIds) },
  });
}

export function deleteAcl(
  plan: NbPlanCore,
  spec: Pick<AclSpec, 'parent' | 'direction' | 'priority' | 'match'>,
): boolean {
  const parent = aclParent(plan, 'ACL.parent', spec.parent);
  const k = ruleKey('ACL', spec);
  return deleteChildren(plan, parent, 'acls', 'ACL', (a) => sameRule(a, k)) > 0;
}

// ---- Port_Group ----------------------------------------------------------------------------------------

// Port groups and address sets are named in match expressions (`@pg`, `$as`): ovn-northd wants identifiers.
const PG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const AS_NAME = /^[A-Za-z_.][A-Za-z0-9_.]*$/;

function checkSymbol(field: string, v: unknown, re: RegExp, what: string): string {
  if (typeof v !== 'string' || !re.test(v) || v.length > 256)
    throw new OvnInvalidArgumentError(field, v, what);
  return v;
}

export const checkPortGroupName = (field: string, v: unknown) =>
  checkSymbol(
    field,
    v,
    PG_NAME,
    'an identifier (letters, digits, "_"; not starting with a digit): it is written @NAME in matches',
  );
export const checkAddressSetName = (field: string, v: unknown) =>
  checkSymbol(
    field,
    v,
    AS_NAME,
    'an identifier (letters, digits, "_", "."; not starting with a digit): it is written $NAME in matches',
  );

export interface PortGroupSpec extends Owned {
  readonly name: string;
  /** Logical switch ports by name; replaces the membership (use addPortGroupPorts to add some). */
  readonly ports?: readonly string[];
}

function portRefs(plan: NbPlanCore, f: string, ports: unknown): Ref<'Logical_Switch_Port'>[] {
  return checkList(f, ports, (fl, x) => need(plan, 'Logical_Switch_Port', fl, x).ref);
}

export function ensurePortGroup(plan: NbPlanCore, spec: PortGroupSpec): Ref<'Port_Group'> {
  const f = 'PortGroup';
  checkKeys(f, checkSpec(f, spec), ['name', 'ports', 'externalIds']);
  const name = checkPortGroupName(`${f}.name`, spec.name);
  const ports = spec.ports === undefined ? undefined : portRefs(plan, `${f}.ports`, spec.ports);
  const externalIds = ownedIds(f, spec);
  const cur = plan.one('Port_Group', name);
  if (cur) {
    if (ports !== undefined) plan.set(cur, { ports });
    editMaps(plan, cur, { external_ids: externalIds });
    return cur.ref;
  }
  // Port_Group.name is a unique index.
  return plan.insert('Port_Group', { name, ports: ports ?? [], external_ids: setKeys(externalIds) }).ref;
}

/** Adds (or with `remove`, removes) ports to a port group: a set mutation, no read-modify-write. */
export function portGroupPorts(
  plan: NbPlanCore,
  spec: { portGroup: string; ports: readonly string[] },
  remove = false,
): boolean {
  const f = 'PortGroupPorts';
  const pg = need(plan, 'Port_Group', `${f}.portGroup`, spec.portGroup);
  if (remove) {
    const refs = checkList(
      `${f}.ports`,
      spec.ports,
      (fl, x) => plan.one('Logical_Switch_Port', checkName(fl, x))?.ref,
    );
    return plan.removeFromSet(
      pg,
      'ports',
      refs.filter((r) => r !== undefined),
    );
  }
  return plan.addToSet(pg, 'ports', portRefs(plan, `${f}.ports`, spec.ports));
}

/** Deletes the port group with its ACLs. False if it did not exist. */
export function deletePortGroup(plan: NbPlanCore, name: string): boolean {
  const cur = plan.one('Port_Group', checkPortGroupName('PortGroup.name', name));
  if (!cur) return false;
  for (const a of plan.children(cur, 'acls', 'ACL')) plan.forget(a);
  plan.deleteRow(cur);
  return true;
}

// ---- Address_Set ---------------------------------------------------------------------------------------

export interface AddressSetSpec extends Owned {
  readonly name: string;
  /** IPv4/IPv6 addresses or prefixes; replaces the set (use addressSetAddresses to add some). */
  readonly addresses?: readonly string[];
}

function addressList(f: string, v: unknown): string[] {
  return checkList(f, v, (fl, x) =>
    typeof x === 'string' && x.includes('/') ? checkPrefix(fl, x).cidr : checkIp(fl, x).text,
  );
}

export function ensureAddressSet(plan: NbPlanCore, spec: AddressSetSpec): Ref<'Address_Set'> {
  const f = 'AddressSet';
  checkKeys(f, checkSpec(f, spec), ['name', 'addresses', 'externalIds']);
  const name = checkAddressSetName(`${f}.name`, spec.name);
  const addresses = spec.addresses === undefined ? undefined : addressList(`${f}.addresses`, spec.addresses);
  const externalIds = ownedIds(f, spec);
  const cur = plan.one('Address_Set', name);
  if (cur) {
    if (addresses !== undefined) plan.set(cur, { addresses });
    editMaps(plan, cur, { external_ids: externalIds });
    return cur.ref;
  }
  return plan.insert('Address_Set', { name, addresses: addresses ?? [], external_ids: setKeys(externalIds) })
    .ref;
}

export function addressSetAddresses(
  plan: NbPlanCore,
  spec: { addressSet: string; addresses: readonly string[] },
  remove = false,
): boolean {
  const as = need(plan, 'Address_Set', 'AddressSetAddresses.addressSet', spec.addressSet);
  const list = addressList('AddressSetAddresses.addresses', spec.addresses);
  return remove ? plan.removeFromSet(as, 'addresses', list) : plan.addToSet(as, 'addresses', list);
}

export function deleteAddressSet(plan: NbPlanCore, name: string): boolean {
  const cur = plan.one('Address_Set', checkAddressSetName('AddressSet.name', name));
  if (!cur) return false;
  plan.deleteRow(cur);
  return true;
}
