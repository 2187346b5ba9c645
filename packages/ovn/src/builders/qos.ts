// QoS rules, meters and HA chassis groups (ovn-nb(5) QoS, Meter, Meter_Band, HA_Chassis_Group, HA_Chassis).

import { OvnInvalidArgumentError } from '../errors.js';
import type { Entry, NbPlanCore, Ref } from '../plan.js';
import { checkBool, checkEnum, checkInt, checkKeys, checkList, checkName, checkSpec } from '../validate.js';
import { deleteChildren, editMaps, ensureChild, need, type Owned, ownedIds, setKeys } from './common.js';
import { MAX_PRIORITY } from './router.js';
import { type DIRECTIONS, ruleKey, sameRule } from './security.js';

const U32 = 4294967295;

// ---- QoS ---------------------------------------------------------------------------------------------

export interface QosSpec extends Owned {
  readonly switch: string;
  readonly direction: (typeof DIRECTIONS)[number];
  readonly priority: number;
  readonly match: string;
  /** `bandwidth:rate` in kbps (1..4294967295). */
  readonly rate?: number;
  /** `bandwidth:burst` in kilobits (with rate). */
  readonly burst?: number;
  /** `action:dscp` mark (0..63). */
  readonly dscp?: number;
}

export function ensureQos(plan: NbPlanCore, spec: QosSpec): Ref<'QoS'> {
  const f = 'QoS';
  checkKeys(f, checkSpec(f, spec), [
    'switch',
    'direction',
    'priority',
    'match',
    'rate',
    'burst',
    'dscp',
    'externalIds',
  ]);
  const sw = need(plan, 'Logical_Switch', `${f}.switch`, spec.switch);
  const k = ruleKey(f, spec);
  if (spec.rate === undefined && spec.dscp === undefined) {
    throw new OvnInvalidArgumentError(f, spec, 'a rate, a dscp mark, or both');
  }
  if (spec.burst !== undefined && spec.rate === undefined) {
    throw new OvnInvalidArgumentError(`${f}.burst`, spec.burst, 'a burst only together with a rate');
  }
  const bandwidth: Record<string, number> = {};
  if (spec.rate !== undefined) bandwidth.rate = checkInt(`${f}.rate`, spec.rate, 1, U32);
  if (spec.burst !== undefined) bandwidth.burst = checkInt(`${f}.burst`, spec.burst, 1, U32);
  const action: Record<string, number> = {};
  if (spec.dscp !== undefined) action.dscp = checkInt(`${f}.dscp`, spec.dscp, 0, 63);
  const externalIds = ownedIds(f, spec);
  return ensureChild(plan, {
    parent: sw,
    column: 'qos_rules',
    table: 'QoS',
    match: (q) => sameRule(q, k),
    cols: { bandwidth, action },
    maps: { external_ids: externalIds },
    row: { ...k, bandwidth, action, external_ids: setKeys(externalIds) },
  });
}

export function deleteQos(
  plan: NbPlanCore,
  spec: Pick<QosSpec, 'switch' | 'direction' | 'priority' | 'match'>,
): boolean {
  const sw = need(plan, 'Logical_Switch', 'QoS.switch', spec.switch);
  const k = ruleKey('QoS', spec);
  return deleteChildren(plan, sw, 'qos_rules', 'QoS', (q) => sameRule(q, k)) > 0;
}

// ---- Meter -------------------------------------------------------------------------------------------

export interface MeterBandSpec {
  /** Rate in the meter's unit (1..4294967295). */
  readonly rate: number;
  readonly burstSize?: number;
  readonly action?: 'drop';
}

export interface MeterSpec extends Owned {
  readonly name: string;
  readonly unit: 'kbps' | 'pktps';
  /** At least one band; replaces the meter's bands when they differ. */
  readonly bands: readonly MeterBandSpec[];
  readonly fair?: boolean;
}

function bandKey(b: { action: unknown; rate: unknown; burst_size: unknown }): string {
  return `${b.action}/${b.rate}/${b.burst_size}`;
}

export function ensureMeter(plan: NbPlanCore, spec: MeterSpec): Ref<'Meter'> {
  const f = 'Meter';
  checkKeys(f, checkSpec(f, spec), ['name', 'unit', 'bands', 'fair', 'externalIds']);
  const name = checkName(`${f}.name`, spec.name);
  const unit = checkEnum(`${f}.unit`, spec.unit, ['kbps', 'pktps']);
  const bands = checkList(`${f}.bands`, spec.bands, (fl, b) => {
    checkKeys(fl, checkSpec(fl, b), ['rate', 'burstSize', 'action']);
    const x = b as MeterBandSpec;
    return {
      action: x.action === undefined ? 'drop' : checkEnum(`${fl}.action`, x.action, ['drop']),
      rate: checkInt(`${fl}.rate`, x.rate, 1, U32),
      burst_size: x.burstSize === undefined ? 0 : checkInt(`${fl}.burstSize`, x.burstSize, 0, U32),
    };
  });
  if (bands.length === 0) throw new OvnInvalidArgumentError(`${f}.bands`, spec.bands, 'at least one band');
  const fair = spec.fair === undefined ? undefined : checkBool(`${f}.fair`, spec.fair);
  const externalIds = ownedIds(f, spec);
  const insertBands = () => bands.map((b) => plan.insert('Meter_Band', { ...b }).ref);
  const cur = plan.one('Meter', name);
  if (cur) {
    const have = plan.children(cur, 'bands', 'Meter_Band');
    const want = bands.map(bandKey).sort().join(' ');
    const cols: Record<string, unknown> = { unit };
    if (fair !== undefined) cols.fair = fair;
    if (
      have
        .map((b) => bandKey(b.row as never))
        .sort()
        .join(' ') !== want
    ) {
      // Bands are non-root: the old ones go once the meter no longer references them.
      for (const b of have) plan.forget(b);
      cols.bands = insertBands();
    }
    plan.set(cur, cols);
    editMaps(plan, cur, { external_ids: externalIds });
    return cur.ref;
  }
  const row: Record<string, unknown> = {
    name,
    unit,
    bands: insertBands(),
    external_ids: setKeys(externalIds),
  };
  if (fair !== undefined) row.fair = fair;
  // Meter.name is a unique index.
  return plan.insert('Meter', row).ref;
}

export function deleteMeter(plan: NbPlanCore, name: string): boolean {
  const cur = plan.one('Meter', checkName('Meter.name', name));
  if (!cur) return false;
  for (const b of plan.children(cur, 'bands', 'Meter_Band')) plan.forget(b);
  plan.deleteRow(cur);
  return true;
}

// ---- HA_Chassis_Group ----------------------------------------------------------------------------------

export interface HaChassisSpec {
  /** The chassis' system-id. */
  readonly chassis: string;
  readonly priority: number;
}

export interface HaChassisGroupSpec extends Owned {
  readonly name: string;
  /** The members; replaces the membership (members not listed are removed). */
  readonly chassis?: readonly HaChassisSpec[];
}

export function ensureHaChassisGroup(plan: NbPlanCore, spec: HaChassisGroupSpec): Ref<'HA_Chassis_Group'> {
  const f = 'HaChassisGroup';
  checkKeys(f, checkSpec(f, spec), ['name', 'chassis', 'externalIds']);
  const name = checkName(`${f}.name`, spec.name);
  const members =
    spec.chassis === undefined
      ? undefined
      : checkList(`${f}.chassis`, spec.chassis, (fl, c) => {
          checkKeys(fl, checkSpec(fl, c), ['chassis', 'priority']);
          const x = c as HaChassisSpec;
          return {
            chassis: checkName(`${fl}.chassis`, x.chassis),
            priority: checkInt(`${fl}.priority`, x.priority, 0, MAX_PRIORITY),
          };
        });
  if (members && new Set(members.map((m) => m.chassis)).size !== members.length) {
    throw new OvnInvalidArgumentError(`${f}.chassis`, spec.chassis, 'each chassis at most once');
  }
  const externalIds = ownedIds(f, spec);
  let group = plan.one('HA_Chassis_Group', name);
  if (!group) {
    // HA_Chassis_Group.name is a unique index.
    group = plan.insert('HA_Chassis_Group', { name, external_ids: setKeys(externalIds) });
  } else editMaps(plan, group, { external_ids: externalIds });
  if (members) syncMembers(plan, group, members);
  return group.ref;
}

function syncMembers(
  plan: NbPlanCore,
  group: Entry<'HA_Chassis_Group'>,
  members: readonly HaChassisSpec[],
): void {
  const listed = (h: Entry) => members.some((m) => m.chassis === h.row.chassis_name);
  deleteChildren(plan, group, 'ha_chassis', 'HA_Chassis', (h) => !listed(h));
  for (const m of members) {
    ensureChild(plan, {
      parent: group,
      column: 'ha_chassis',
      table: 'HA_Chassis',
      match: (h) => h.row.chassis_name === m.chassis,
      cols: { priority: m.priority },
      maps: {},
      row: { chassis_name: m.chassis, priority: m.priority },
    });
  }
}

/** Deletes the group (and its HA_Chassis). Fails at commit if a port still references it. */
export function deleteHaChassisGroup(plan: NbPlanCore, name: string): boolean {
  const cur = plan.one('HA_Chassis_Group', checkName('HaChassisGroup.name', name));
  if (!cur) return false;
  for (const h of plan.children(cur, 'ha_chassis', 'HA_Chassis')) plan.forget(h);
  plan.deleteRow(cur);
  return true;
}
