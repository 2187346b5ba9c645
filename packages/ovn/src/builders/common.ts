// Helpers shared by the builders: the parent lookups every child builder needs, and the usual columns.

import { OvnNotFoundError } from '../errors.js';
import type { Entry, NbPlanCore, Ref } from '../plan.js';
import { checkMapEdit, checkName, type MapEdit } from '../validate.js';
import type { NbBuilderTable } from '../view.js';

/** `externalIds` of every spec: keys an owner sets on the row (null removes a key). */
export interface Owned {
  /** `external_ids` keys to set (null removes the key); other keys are left alone. */
  readonly externalIds?: MapEdit;
}

export function ownedIds(field: string, spec: { readonly externalIds?: unknown }): MapEdit | undefined {
  return spec.externalIds === undefined ? undefined : checkMapEdit(`${field}.externalIds`, spec.externalIds);
}

export function optionalMap(field: string, v: unknown): MapEdit | undefined {
  return v === undefined ? undefined : checkMapEdit(field, v);
}

/** The values of a map edit that are set (for inserts: null means "absent"). */
export function setKeys(edit: MapEdit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (edit) for (const [k, v] of Object.entries(edit)) if (v !== null) out[k] = v;
  return out;
}

/** The row of a named parent table that must exist (in the view or earlier in the plan). */
export function need<T extends NbBuilderTable>(
  plan: NbPlanCore,
  table: T,
  field: string,
  name: unknown,
): Entry<T> {
  const n = checkName(field, name);
  const e = plan.one(table, n);
  if (!e) throw new OvnNotFoundError(table, n, `${field}: ${table} "${n}" does not exist (ensure it first)`);
  return e;
}

/** Applies `externalIds` (and other map edits) to an existing row. */
export function editMaps(plan: NbPlanCore, entry: Entry, maps: Record<string, MapEdit | undefined>): void {
  for (const [col, edit] of Object.entries(maps)) plan.editMap(entry, col, edit);
}

/**
 * The parent holding `child` in its `column`: `expected` when it does (the usual case, answered without a
 * scan), else whichever row of `table` does, else undefined.
 */
export function ownerOf<T extends NbBuilderTable>(
  plan: NbPlanCore,
  table: T,
  column: string,
  child: Ref<string>,
  expected: Entry<T>,
): Entry<T> | undefined {
  if (((expected.row[column] ?? []) as unknown[]).includes(child)) return expected;
  return parentsOf(plan, table, column, child)[0];
}

/** The rows of `table` whose reference column `column` (a set or an optional) holds `child`. */
export function parentsOf<T extends NbBuilderTable>(
  plan: NbPlanCore,
  table: T,
  column: string,
  child: Ref<string>,
): Entry<T>[] {
  const key = (r: unknown) => (typeof r === 'string' ? r : `@${(r as { name: string }).name}`);
  const want = key(child);
  return plan.all(table).filter((p) => {
    const v = p.row[column];
    return Array.isArray(v)
      ? v.some((r) => key(r) === want)
      : v !== null && v !== undefined && key(v) === want;
  });
}

/** Removes a child row from every parent that references it; the row then goes away (non-root GC). */
export function detachChild(plan: NbPlanCore, parents: readonly Entry[], column: string, child: Entry): void {
  for (const p of parents) plan.removeFromSet(p, column, [child.ref]);
  plan.forget(child);
}

/**
 * Clears a row's strong reference to an HA_Chassis_Group before the row goes: ovsdb-server checks
 * reference counts before it collects garbage, so a group could not be deleted in the same transaction
 * as the last port that still pointed at it.
 */
export function releaseGroup(plan: NbPlanCore, entry: Entry): void {
  if (entry.row.ha_chassis_group !== null && entry.row.ha_chassis_group !== undefined) {
    plan.set(entry, { ha_chassis_group: null });
  }
}

/** A child row identified within its parent's set column (NAT in Logical_Router.nat, say). */
export interface ChildSpec<T extends NbBuilderTable> {
  readonly parent: Entry;
  readonly column: string;
  readonly table: T;
  /** Whether an existing child is the one meant (its identity). */
  readonly match: (child: Entry<T>) => boolean;
  /** Columns to set on an existing child (undefined values are skipped). */
  readonly cols: Record<string, unknown>;
  /** Map edits for an existing child. */
  readonly maps: Record<string, MapEdit | undefined>;
  /** The row to insert when there is none (null values are left out: the column keeps its default). */
  readonly row: Record<string, unknown>;
}

/**
 * Ensures one child: updates the matching one, or inserts it and adds it to the parent's set. The insert
 * is guarded by verifying the parent's set as read, so two writers cannot both add the same child.
 */
export function ensureChild<T extends NbBuilderTable>(plan: NbPlanCore, c: ChildSpec<T>): Ref<T> {
  const cur = plan.children(c.parent, c.column, c.table).find(c.match);
  if (cur) {
    plan.set(cur, c.cols);
    editMaps(plan, cur, c.maps);
    return cur.ref;
  }
  plan.verify(c.parent, [c.column]);
  const row: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.row)) if (v !== null && v !== undefined) row[k] = v;
  const child = plan.insert(c.table, row);
  plan.addToSet(c.parent, c.column, [child.ref]);
  return child.ref;
}

/** Removes the parent's children that match; returns how many. */
export function deleteChildren<T extends NbBuilderTable>(
  plan: NbPlanCore,
  parent: Entry,
  column: string,
  table: T,
  match: (child: Entry<T>) => boolean,
): number {
  const gone = plan.children(parent, column, table).filter(match);
  for (const c of gone) detachChild(plan, [parent], column, c);
  return gone.length;
}

/**
 * Removes weak references to a row that is about to go (deleted, or garbage-collected at commit) from the
 * rows of `table` that hold it in `column`. ovsdb-server should drop them itself, but OVS 3.1.0 leaves a
 * dangling weak reference when the same transaction modified the referring row *before* the delete (e.g.
 * `mutate Logical_Switch load_balancer …` then `delete DNS …` keeps the DNS uuid in `dns_records`; in the
 * other order the reference goes). Removing them explicitly is correct in any order.
 */
export function dropWeakRefs(plan: NbPlanCore, table: NbBuilderTable, column: string, target: Entry): void {
  for (const holder of parentsOf(plan, table, column, target.ref)) {
    const v = holder.row[column];
    if (Array.isArray(v)) plan.removeFromSet(holder, column, [target.ref]);
    else plan.set(holder, { [column]: null });
  }
}

/**
 * Deletes a named port (switch or router port): it leaves its parent's `ports` (and is garbage-collected),
 * after letting go of its HA chassis group. False if it did not exist.
 */
export function deleteNamedPort(
  plan: NbPlanCore,
  table: 'Logical_Switch_Port' | 'Logical_Router_Port',
  parentTable: 'Logical_Switch' | 'Logical_Router',
  name: unknown,
): boolean {
  const field = table === 'Logical_Switch_Port' ? 'LogicalSwitchPort.name' : 'LogicalRouterPort.name';
  const cur = plan.one(table, checkName(field, name));
  if (!cur) return false;
  releaseGroup(plan, cur);
  if (table === 'Logical_Switch_Port') dropWeakRefs(plan, 'Port_Group', 'ports', cur);
  detachChild(plan, parentsOf(plan, parentTable, 'ports', cur.ref), 'ports', cur);
  return true;
}
