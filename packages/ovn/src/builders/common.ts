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

/** The parent rows of `table` whose set column `column` holds `child`. */
export function parentsOf<T extends NbBuilderTable>(
  plan: NbPlanCore,
  table: T,
  column: string,
  child: Ref<string>,
): Entry<T>[] {
  const key = typeof child === 'string' ? child : `@${child.name}`;
  return plan
    .all(table)
    .filter((p) =>
      ((p.row[column] ?? []) as unknown[]).some(
        (r) => (typeof r === 'string' ? r : `@${(r as { name: string }).name}`) === key,
      ),
    );
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
