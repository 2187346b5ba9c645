// Port mirroring through the OVS Mirror table (ovs-vswitchd.conf.db(5) "Mirror"): a container's traffic
// (select_src_port = select_dst_port = its port: what it sends and what it receives) or a whole network's
// (select_all with select_vlan = the network's VLAN) copied to an output port, the monitor.
//
// The monitor is named, not addressed: an endpoint declares itself `mirror.monitor=NAME` (recorded on its
// Port as external_ids ocn-monitor=NAME), and a mirror `mirror.to=NAME` outputs to the port of the bridge
// that carries that name — or, failing that, to the OVS port called NAME (an interface an operator added).
// A mirror whose monitor is not there yet (or went away: output_port is a weak reference, so OVS clears it
// when the port goes) is kept *pending* with no output_port — ovs-vswitchd ignores such a mirror — and is
// connected when a monitor of that name appears. OVS reserves an output port for mirroring: "No frames other
// than those selected for mirroring via this column will be forwarded to the port, and any frames received
// on the port will be discarded."
//
// Measured on OVS 3.1's userspace datapath: adding or removing a Mirror does not change datapath flows that
// already exist (with steady traffic they kept their old actions for as long as we watched — a new mirror
// copied nothing, a removed one kept copying), although ovs-vswitchd had applied the database. A change
// of the output port's bundle settings does make it recompute them, so every mirror change also sets
// (or clears) `protected` on its output port in the same transaction — harmless there, since OVS forwards
// nothing but mirrored frames to an output port anyway.
//
// Stateless like the rest: the Mirror rows are the record (external_ids ocn-owner, ocn-mirror-of =
// `port:NAME` | `vlan:N`, ocn-mirror-to = NAME, ocn-network for a network's mirror). Mirror is a non-root
// table held by Bridge.mirrors: removing it from there deletes it. A port mirror whose port went
// (select_src_port is a weak reference too) is removed by the next sweep; callers remove mirrors explicitly
// with what they mirror.
import { Transaction } from '@ovs-container-network/ovsdb';
import * as OVS from '@ovs-container-network/ovsdb/models/open-vswitch';
import { InvalidOptionError, NotFoundError, OvsdbFailure } from './errors.js';
import { exec, type TypedOvs } from './qos.js';

export const MIRROR_EXT = {
  owner: 'ocn-owner',
  of: 'ocn-mirror-of',
  to: 'ocn-mirror-to',
  network: 'ocn-network',
  /** On a Port: the monitor name it answers to. */
  monitor: 'ocn-monitor',
  /** On a Port: it is the source of this mirror (so removing the port knows to remove the mirror). */
  mirrored: 'ocn-mirrored',
} as const;

/** Option keys: `mirror.to=NAME` (network or endpoint), `mirror.monitor=NAME` (endpoint). */
export const MIRROR_OPTION_KEYS = ['mirror.to', 'mirror.monitor'] as const;

export type MirrorSource = { port: string } | { vlan: number };

export interface MirrorSpec {
  bridge: string;
  source: MirrorSource;
  /** A monitor name (a port's ocn-monitor) or an OVS port name on the bridge. */
  to: string;
  owner: string;
  /** The network a VLAN mirror belongs to (removed with it). */
  network?: string;
}

export interface MirrorInfo {
  name: string;
  bridge: string;
  source: MirrorSource;
  to: string;
  /** The output port's name, or undefined while no monitor of that name is on the bridge. */
  output: string | undefined;
  network: string | undefined;
}

const MONITOR_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/;
const MONITOR_ALLOWED =
  'a monitor name: 1 to 64 characters [A-Za-z0-9_.:@-], starting with a letter or digit (an endpoint with mirror.monitor=NAME, or an OVS port of that name)';

export function isMirrorOption(key: string): boolean {
  return (MIRROR_OPTION_KEYS as readonly string[]).includes(key);
}

/** A monitor name given as an option value. */
export function parseMonitorName(field: string, v: unknown): string {
  const s = typeof v === 'string' ? v.trim() : undefined;
  if (s === undefined || !MONITOR_RE.test(s)) throw new InvalidOptionError(field, v, MONITOR_ALLOWED);
  return s;
}

export function monitorNameProblem(v: unknown): string | undefined {
  return typeof v === 'string' && MONITOR_RE.test(v) ? undefined : MONITOR_ALLOWED;
}

const sourceKey = (s: MirrorSource) => ('port' in s ? `port:${s.port}` : `vlan:${s.vlan}`);

function decodeSource(s: string | undefined): MirrorSource | undefined {
  if (s?.startsWith('port:')) return { port: s.slice(5) };
  const m = s === undefined ? null : /^vlan:([0-9]{1,4})$/.exec(s);
  return m ? { vlan: Number(m[1]) } : undefined;
}

/** The Mirror row's name (Mirror.name is not an index; ours are told apart by external_ids). */
export function mirrorName(owner: string, source: MirrorSource): string {
  return `${owner}:${sourceKey(source)}`;
}

interface PortView {
  _uuid: OVS.PortUuid;
  name: string;
  external_ids: Record<string, string>;
}

/** The port of `bridge` a mirror to `to` outputs to: the one named monitor `to`, else the port called `to`. */
function resolveOutput(ports: readonly PortView[], to: string): PortView | undefined {
  return ports.find((p) => p.external_ids[MIRROR_EXT.monitor] === to) ?? ports.find((p) => p.name === to);
}

async function bridgePorts(
  t: TypedOvs,
  bridge: string,
): Promise<{ bridge: OVS.BridgeUuid; ports: PortView[]; mirrors: OVS.MirrorUuid[] } | undefined> {
  const read = new Transaction('Open_vSwitch');
  const b = read.select(OVS.Bridge, [['name', '==', bridge]], ['_uuid', 'ports', 'mirrors']);
  const p = read.select(OVS.Port, [], ['_uuid', 'name', 'external_ids']);
  const got = await exec(t, read);
  const row = got.get(b)[0];
  if (!row) return undefined;
  const mine = new Set<string>(row.ports);
  return { bridge: row._uuid, ports: got.get(p).filter((x) => mine.has(x._uuid)), mirrors: row.mirrors };
}

/**
 * Adds (or replaces) the mirror of `source` on `spec.bridge`, output to the monitor if it is there
 * (else pending). One transaction; the source port must exist on the bridge (else NotFoundError and
 * nothing changes).
 */
export async function addMirror(t: TypedOvs, spec: MirrorSpec): Promise<MirrorInfo> {
  const to = parseMonitorName('mirror.to', spec.to);
  const view = await bridgePorts(t, spec.bridge).catch((err: unknown) => {
    throw new OvsdbFailure(`reading bridge ${spec.bridge} failed`, { cause: err });
  });
  if (!view) throw new NotFoundError(`OVS bridge ${spec.bridge} does not exist`);
  const src =
    'port' in spec.source
      ? view.ports.find((p) => 'port' in spec.source && p.name === spec.source.port)
      : undefined;
  if ('port' in spec.source && !src)
    throw new NotFoundError(`port ${spec.source.port} to mirror is not on bridge ${spec.bridge}`);
  const out = resolveOutput(view.ports, to);
  if (out && src && out._uuid === src._uuid)
    throw new InvalidOptionError('mirror.to', to, 'a monitor other than the mirrored port itself');
  const name = mirrorName(spec.owner, spec.source);
  const existing = await listMirrors(t, { owner: spec.owner, bridge: spec.bridge });
  const txn = new Transaction('Open_vSwitch');
  txn.comment(`${spec.owner}: mirror ${sourceKey(spec.source)} to ${to}`);
  const ids: Record<string, string> = {
    [MIRROR_EXT.owner]: spec.owner,
    [MIRROR_EXT.of]: sourceKey(spec.source),
    [MIRROR_EXT.to]: to,
  };
  if (spec.network !== undefined) ids[MIRROR_EXT.network] = spec.network;
  const row =
    src !== undefined
      ? { name, select_src_port: [src._uuid], select_dst_port: [src._uuid], external_ids: ids }
      : { name, select_all: true, select_vlan: [(spec.source as { vlan: number }).vlan], external_ids: ids };
  const mirror = txn.insert(OVS.Mirror, out ? { ...row, output_port: out._uuid } : row);
  if (out) txn.update(OVS.Port, [['_uuid', '==', out._uuid]], { protected: true });
  const stale = existing.filter((m) => m.name === name).map((m) => m.uuid);
  txn.mutate(
    OVS.Bridge,
    [['_uuid', '==', view.bridge]],
    stale.length
      ? [
          ['mirrors', 'delete', stale],
          ['mirrors', 'insert', [mirror]],
        ]
      : [['mirrors', 'insert', [mirror]]],
    { expect: 'one' },
  );
  if (src) {
    txn.mutate(
      OVS.Port,
      [['_uuid', '==', src._uuid]],
      [['external_ids', 'insert', { [MIRROR_EXT.mirrored]: name }]],
    );
    // The source port must still be on the bridge when this commits (else the weak reference would be empty).
    txn.mutate(
      OVS.Bridge,
      [
        ['_uuid', '==', view.bridge],
        ['ports', 'includes', [src._uuid]],
      ],
      [],
      { expect: 'one' },
    );
  }
  await exec(t, txn).catch((err: unknown) => {
    throw new OvsdbFailure(`adding mirror ${name} failed: ${(err as Error).message}`, { cause: err });
  });
  return { name, bridge: spec.bridge, source: spec.source, to, output: out?.name, network: spec.network };
}

export interface MirrorFilter {
  owner: string;
  bridge?: string;
  source?: MirrorSource;
  network?: string;
  to?: string;
}

/** Mirrors of `owner` matching the filter, as recorded in OVS. */
export async function listMirrors(
  t: TypedOvs,
  f: MirrorFilter,
): Promise<(MirrorInfo & { uuid: OVS.MirrorUuid })[]> {
  const ids: Record<string, string> = { [MIRROR_EXT.owner]: f.owner };
  if (f.source) ids[MIRROR_EXT.of] = sourceKey(f.source);
  if (f.network !== undefined) ids[MIRROR_EXT.network] = f.network;
  if (f.to !== undefined) ids[MIRROR_EXT.to] = f.to;
  const read = new Transaction('Open_vSwitch');
  const m = read.select(
    OVS.Mirror,
    [['external_ids', 'includes', ids]],
    ['_uuid', 'name', 'output_port', 'external_ids'],
  );
  const b = read.select(OVS.Bridge, [], ['name', 'mirrors']);
  const p = read.select(OVS.Port, [], ['_uuid', 'name']);
  const got = await exec(t, read);
  const bridgeOf = new Map<string, string>();
  for (const br of got.get(b)) for (const x of br.mirrors) bridgeOf.set(x, br.name);
  const portName = new Map<string, string>(got.get(p).map((x) => [x._uuid, x.name]));
  const out: (MirrorInfo & { uuid: OVS.MirrorUuid })[] = [];
  for (const row of got.get(m)) {
    const source = decodeSource(row.external_ids[MIRROR_EXT.of]);
    const bridge = bridgeOf.get(row._uuid);
    const to = row.external_ids[MIRROR_EXT.to];
    if (!source || bridge === undefined || to === undefined) continue;
    if (f.bridge !== undefined && bridge !== f.bridge) continue;
    out.push({
      uuid: row._uuid,
      name: row.name,
      bridge,
      source,
      to,
      output: row.output_port === null ? undefined : portName.get(row.output_port),
      network: row.external_ids[MIRROR_EXT.network],
    });
  }
  return out;
}

/** Removes the mirrors matching the filter (one transaction). Returns how many went. */
export async function removeMirrors(t: TypedOvs, f: MirrorFilter): Promise<number> {
  const found = await listMirrors(t, f);
  if (found.length === 0) return 0;
  const txn = new Transaction('Open_vSwitch');
  txn.comment(`${f.owner}: remove ${found.length} mirror(s)`);
  const removed = new Set<string>(found.map((m) => m.uuid));
  const stillOutputs = new Set(
    (await listMirrors(t, { owner: f.owner })).filter((m) => !removed.has(m.uuid)).map((m) => m.output),
  );
  for (const m of found) {
    txn.mutate(OVS.Bridge, [['mirrors', 'includes', [m.uuid]]], [['mirrors', 'delete', [m.uuid]]]);
    // See the header: makes ovs-vswitchd recompute the flows that copied to this port.
    if (m.output !== undefined && !stillOutputs.has(m.output))
      txn.update(OVS.Port, [['name', '==', m.output]], { protected: false });
    if ('port' in m.source)
      txn.mutate(
        OVS.Port,
        [['name', '==', m.source.port]],
        [['external_ids', 'delete', [MIRROR_EXT.mirrored]]],
      );
  }
  await exec(t, txn).catch((err: unknown) => {
    throw new OvsdbFailure(`removing mirrors failed: ${(err as Error).message}`, { cause: err });
  });
  return found.length;
}

/**
 * Brings the mirrors of `owner` on `bridge` up to date: a pending mirror whose monitor is now there gets its
 * output port; a port mirror whose port went is removed (its weak select reference was cleared by OVS).
 * Called after a port appears (a monitor) or goes. One read and at most one write.
 */
export async function syncMirrors(t: TypedOvs, owner: string, bridge: string): Promise<void> {
  const view = await bridgePorts(t, bridge);
  if (!view || view.mirrors.length === 0) return;
  const read = new Transaction('Open_vSwitch');
  const m = read.select(
    OVS.Mirror,
    [['external_ids', 'includes', { [MIRROR_EXT.owner]: owner }]],
    ['_uuid', 'output_port', 'select_src_port', 'external_ids'],
  );
  const got = await exec(t, read);
  const onBridge = new Set<string>(view.mirrors);
  const txn = new Transaction('Open_vSwitch');
  let changes = 0;
  for (const row of got.get(m)) {
    if (!onBridge.has(row._uuid)) continue;
    const source = decodeSource(row.external_ids[MIRROR_EXT.of]);
    const to = row.external_ids[MIRROR_EXT.to];
    if (source && 'port' in source && row.select_src_port.length === 0) {
      txn.mutate(OVS.Bridge, [['_uuid', '==', view.bridge]], [['mirrors', 'delete', [row._uuid]]]);
      changes++;
      continue;
    }
    const out = to === undefined ? undefined : resolveOutput(view.ports, to);
    const want = out?._uuid ?? null;
    if (want !== row.output_port && !(out && row.select_src_port.includes(out._uuid))) {
      txn.update(OVS.Mirror, [['_uuid', '==', row._uuid]], { output_port: want });
      if (out) txn.update(OVS.Port, [['_uuid', '==', out._uuid]], { protected: true });
      changes++;
    }
  }
  if (changes === 0) return;
  txn.comment(`${owner}: ${changes} mirror change(s) on ${bridge}`);
  await exec(t, txn).catch(() => undefined); // raced with another change: the next sync sees it
}
