// Test helpers: a private standalone OVN_Northbound ovsdb-server, and reading it back with the reference
// tools (`ovn-nbctl --format=json list`, `ovsdb-client dump --format=json`), decoded from OVSDB notation and
// normalized so two databases can be compared with uuids and ordering aside.

import { type OvsdbServer, run, startOvsdbServer } from '@ovs-container-network/testkit';

export const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';

export function startNb(): Promise<OvsdbServer> {
  return startOvsdbServer({ schema: NB_SCHEMA });
}

type Json = unknown;

/** Decodes an OVSDB JSON value (as ovn-nbctl/ovsdb-client print it): uuids → {uuid}, sets → arrays, maps → objects. */
export function decode(v: Json): unknown {
  if (!Array.isArray(v)) return v;
  const [tag, x] = v as [string, Json];
  if (tag === 'uuid' || tag === 'named-uuid') return { uuid: x as string };
  if (tag === 'set') return (x as Json[]).map(decode);
  if (tag === 'map')
    return Object.fromEntries((x as [Json, Json][]).map(([k, val]) => [String(decode(k)), decode(val)]));
  return v;
}

export type DecodedRow = Record<string, unknown> & { _uuid: string };

function rowsOf(headings: string[], data: Json[][]): DecodedRow[] {
  return data.map((cells) => {
    const row: Record<string, unknown> = {};
    headings.forEach((h, i) => {
      const d = decode(cells[i]);
      row[h] = h === '_uuid' || h === '_version' ? (d as { uuid: string }).uuid : d;
    });
    return row as DecodedRow;
  });
}

/** `ovn-nbctl --format=json list TABLE`, decoded. */
export async function nbctlList(db: string, table: string): Promise<DecodedRow[]> {
  const { stdout } = await run('ovn-nbctl', [`--db=${db}`, '--format=json', 'list', table]);
  const j = JSON.parse(stdout) as { headings: string[]; data: Json[][] };
  return rowsOf(j.headings, j.data);
}

export async function nbctlShow(db: string): Promise<string> {
  return (await run('ovn-nbctl', [`--db=${db}`, 'show'])).stdout;
}

/** `ovsdb-client dump --format=json`: every table's rows, decoded. */
export async function dump(db: string): Promise<Map<string, DecodedRow[]>> {
  const { stdout } = await run('ovsdb-client', ['dump', '--format=json', db, 'OVN_Northbound']);
  const out = new Map<string, DecodedRow[]>();
  // One JSON object per table, one per line.
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const t = JSON.parse(line) as { caption: string; headings: string[]; data: Json[][] };
    out.set(t.caption.replace(/ table$/, ''), rowsOf(t.headings, t.data));
  }
  return out;
}

/**
 * A dump with uuids aside: each row becomes a canonical string in which references are replaced by the
 * canonical form of the referenced row (recursively) and sets are sorted; each table becomes the sorted
 * list of its rows. Two databases with the same contents give the same result whatever their uuids.
 */
export function canonical(
  d: Map<string, DecodedRow[]>,
  opts: { skip?: readonly string[]; dropDangling?: boolean } = {},
): Record<string, string[]> {
  const skip = opts.skip ?? ['NB_Global'];
  const byUuid = new Map<string, DecodedRow>();
  for (const rows of d.values()) for (const r of rows) byUuid.set(r._uuid, r);
  const memo = new Map<string, string>();
  const value = (v: unknown, depth: number): unknown => {
    if (Array.isArray(v)) {
      const items = v.map((x) => value(x, depth));
      return (opts.dropDangling ? items.filter((x) => x !== 'dangling') : items)
        .map((x) => JSON.stringify(x))
        .sort();
    }
    if (typeof v === 'object' && v !== null) {
      if ('uuid' in v && Object.keys(v).length === 1) {
        const target = byUuid.get((v as { uuid: string }).uuid);
        return target === undefined ? 'dangling' : depth > 8 ? 'deep' : form(target, depth + 1);
      }
      return Object.fromEntries(
        Object.entries(v)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, x]) => [k, value(x, depth)]),
      );
    }
    return v;
  };
  const form = (r: DecodedRow, depth: number): string => {
    const cached = memo.get(r._uuid);
    if (cached !== undefined) return cached;
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(r).sort()) {
      if (k === '_uuid' || k === '_version') continue;
      const v = value(r[k], depth);
      // A one-element set is printed as a bare atom: a lone dangling reference is an empty set once dropped.
      o[k] = opts.dropDangling && v === 'dangling' ? [] : v;
    }
    const s = JSON.stringify(o);
    memo.set(r._uuid, s);
    return s;
  };
  const out: Record<string, string[]> = {};
  for (const [t, rows] of [...d].sort(([a], [b]) => a.localeCompare(b))) {
    if (skip.includes(t)) continue;
    out[t] = rows.map((r) => form(r, 0)).sort();
  }
  return out;
}

/** Row counts per table (tables with rows only). */
export function counts(
  d: Map<string, DecodedRow[]>,
  skip: readonly string[] = ['NB_Global'],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [t, rows] of d) if (!skip.includes(t) && rows.length > 0) out[t] = rows.length;
  return out;
}
