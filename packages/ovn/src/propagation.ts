// Propagation you can await, event-driven through replicas (never by polling).
//
// - NB `nb_cfg` → `sb_cfg` → `hv_cfg` is how `ovn-nbctl --wait=sb|hv` measures propagation (ovn-nb(5)
//   NB_Global): a client increments `nb_cfg`; ovn-northd copies it to SB_Global and, once it has written
//   the SB for that NB state, sets NB `sb_cfg`; every ovn-controller reports the `nb_cfg` it has applied in
//   its Chassis_Private row, and northd sets NB `hv_cfg` to the minimum of those.
// - A logical port is bound when its SB Port_Binding has a `chassis`, and up when `up` is true.
// - ovn-controller marks an OVS Interface `external_ids:ovn-installed="true"` in the chassis' own
//   Open_vSwitch database once its flows are installed (ovn-kubernetes polls this every 200 ms).
//
// Each wait checks the replica at once, then again after every batch the replica applies (one server
// transaction), and resolves synchronously in that batch's listener: the latency is the replica's, not a
// poll interval's.

import type { Replica, ReplicaChange, TableMap, Transaction } from '@ovs-container-network/ovsdb';
import type * as OVS from '@ovs-container-network/ovsdb/models/open-vswitch';
import * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import type * as SB from '@ovs-container-network/ovsdb/models/ovn-southbound';
import { OvnAbortError, OvnInvalidArgumentError, OvnTimeoutError } from './errors.js';

/** Default bound for every wait (ms). */
export const DEFAULT_WAIT_TIMEOUT_MS = 30_000;

export interface WaitOptions {
  /** Give up after this many ms with an OvnTimeoutError naming what did not happen (default 30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** When the awaited state was seen: `performance.now()` in the listener that saw it. */
export interface Observed {
  readonly at: number;
}

function checkWaitOptions(opts: WaitOptions): number {
  const t = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0)
    throw new OvnInvalidArgumentError('timeoutMs', t, 'a finite number of ms ≥ 0');
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal))
    throw new OvnInvalidArgumentError('signal', String(opts.signal), 'an AbortSignal');
  return t;
}

/**
 * Resolves with `check()`'s value as soon as it is not `undefined`: checked when the replica is ready and
 * after every batch it applies (and every re-sync). On timeout, rejects with an OvnTimeoutError whose
 * message is `what` followed by `state()` (what the replica shows instead).
 */
export function awaitReplica<M extends TableMap, T>(
  replica: Replica<M>,
  check: () => T | undefined,
  describe: { what: string; state: () => string },
  opts: WaitOptions = {},
): Promise<T> {
  let timeoutMs: number;
  try {
    timeoutMs = checkWaitOptions(opts);
  } catch (err) {
    return Promise.reject(err);
  }
  const { signal } = opts;
  if (signal?.aborted)
    return Promise.reject(
      new OvnAbortError(`aborted waiting for ${describe.what}`, { cause: signal.reason }),
    );
  if (replica.isReady) {
    const v = check();
    if (v !== undefined) return Promise.resolve(v);
  }
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = () => {
      done = true;
      clearTimeout(timer);
      replica.off('batch', onBatch);
      replica.off('sync', onBatch);
      signal?.removeEventListener('abort', onAbort);
    };
    const onBatch = () => {
      if (done || !replica.isReady) return;
      let v: T | undefined;
      try {
        v = check();
      } catch (err) {
        finish();
        reject(err);
        return;
      }
      if (v !== undefined) {
        finish();
        resolve(v);
      }
    };
    const onAbort = () => {
      finish();
      reject(new OvnAbortError(`aborted waiting for ${describe.what}`, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      if (done) return;
      finish();
      let state: string;
      try {
        state = replica.isReady ? describe.state() : `the ${replica.database} replica has not synced yet`;
      } catch (err) {
        state = `(state unavailable: ${(err as Error).message})`;
      }
      reject(
        new OvnTimeoutError(`timed out after ${timeoutMs} ms: ${describe.what} did not happen; ${state}`),
      );
    }, timeoutMs);
    replica.on('batch', onBatch as (changes: readonly ReplicaChange<M>[]) => void);
    replica.on('sync', onBatch);
    signal?.addEventListener('abort', onAbort, { once: true });
    // Ready may come first (its snapshot batch fires before `ready` settles, but we may be late for it).
    void replica.ready.then(onBatch, () => {});
  });
}

// ---- nb_cfg → sb_cfg → hv_cfg ----------------------------------------------------------------------------

export type PropagationLevel = 'sb' | 'hv';

const LEVELS: readonly PropagationLevel[] = ['sb', 'hv'];

/** What NB_Global showed when the wait resolved. */
export interface CfgObserved extends Observed {
  readonly nbCfg: number;
  readonly sbCfg: number;
  readonly hvCfg: number;
  /** `hv_cfg_timestamp` (ms since the epoch, set by northd), 0 when unset. */
  readonly hvCfgTimestamp: number;
}

type NbRows = { NB_Global: NB.NB_Global };

/**
 * Adds the `nb_cfg` increment `ovn-nbctl --wait` sends to a transaction (mutate `nb_cfg += 1`, then select
 * it back in the same transaction, so the new value is known without a read-modify-write race). The
 * handle resolves to the NB_Global rows; `nbCfgOf(rows)` gives the new value.
 */
export function bumpNbCfg(t: Transaction) {
  t.mutate(NB.NB_Global, [], [['nb_cfg', '+=', 1]]);
  return t.select(NB.NB_Global, [], ['nb_cfg']);
}

/** The new `nb_cfg` from `bumpNbCfg`'s result; throws when NB has no NB_Global row. */
export function nbCfgOf(rows: readonly { nb_cfg: number | bigint }[]): number {
  const row = rows[0];
  if (!row)
    throw new OvnInvalidArgumentError(
      'NB_Global',
      'no row',
      'an initialised Northbound database (ovn-northd or `ovn-nbctl init` creates NB_Global)',
    );
  // Number() also for an ovsdb model that reads integers as `number | bigint` (exact 64-bit).
  return Number(row.nb_cfg);
}

/**
 * Waits until NB_Global shows `sb_cfg` (level 'sb') or `hv_cfg` (level 'hv') ≥ `nbCfg`. The replica must
 * monitor NB_Global's `nb_cfg`, `sb_cfg`, `hv_cfg` and `hv_cfg_timestamp`. `lagging`, when given, names
 * what has not caught up (the client passes the chassis whose Chassis_Private.nb_cfg is behind).
 */
export function waitForCfg<M extends NbRows>(
  nb: Replica<M>,
  nbCfg: number,
  level: PropagationLevel,
  opts: WaitOptions & { lagging?: (nbCfg: number) => string } = {},
): Promise<CfgObserved> {
  if (!LEVELS.includes(level))
    return Promise.reject(new OvnInvalidArgumentError('wait', level, `one of ${LEVELS.join(', ')}`));
  if (!Number.isSafeInteger(nbCfg) || nbCfg < 0)
    return Promise.reject(new OvnInvalidArgumentError('nbCfg', nbCfg, 'an integer ≥ 0'));
  const table = (nb as unknown as Replica<NbRows>).table('NB_Global');
  const global = () => table.values().next().value as NB.NB_Global | undefined;
  const column = level === 'sb' ? 'sb_cfg' : 'hv_cfg';
  const { lagging, ...waitOpts } = opts;
  return awaitReplica(
    nb,
    () => {
      const g = global();
      if (!g || Number(g[column]) < nbCfg) return undefined;
      return {
        at: performance.now(),
        nbCfg: Number(g.nb_cfg),
        sbCfg: Number(g.sb_cfg),
        hvCfg: Number(g.hv_cfg),
        hvCfgTimestamp: Number(g.hv_cfg_timestamp),
      };
    },
    {
      what:
        level === 'sb'
          ? `NB_Global.sb_cfg reaching ${nbCfg} (ovn-northd writing the SB for this NB state)`
          : `NB_Global.hv_cfg reaching ${nbCfg} (every chassis applying this NB state)`,
      state: () => {
        const g = global();
        if (!g) return 'NB has no NB_Global row';
        const base = `NB_Global shows nb_cfg=${g.nb_cfg} sb_cfg=${g.sb_cfg} hv_cfg=${g.hv_cfg}`;
        if (Number(g.sb_cfg) < nbCfg)
          return `${base}: ovn-northd has not caught up (is it running and connected?)`;
        return lagging ? `${base}; ${lagging(nbCfg)}` : base;
      },
    },
    waitOpts,
  );
}

// ---- every chassis applied an nb_cfg, seen in the SB (one ovn-northd run before hv_cfg) ----------------

type ChassisRows = { Chassis: SB.Chassis; Chassis_Private: SB.Chassis_Private };

/** What the SB showed when every chassis had applied the awaited `nb_cfg`. */
export interface ChassisCfgObserved extends Observed {
  readonly nbCfg: number;
  /** How many chassis were counted (remote chassis, `other_config:is-remote=true`, are not). */
  readonly chassis: number;
  /** The latest `Chassis_Private.nb_cfg_timestamp` among them (ovn-controller's clock, ms), 0 when none. */
  readonly appliedTs: number;
}

/**
 * The chassis whose Chassis_Private `nb_cfg` is below `nbCfg`, counted as ovn-northd counts them for
 * `hv_cfg`: every Chassis_Private row except those of remote chassis (`other_config:is-remote=true`); a row
 * whose Chassis is gone still counts.
 */
export function chassisBehind<M extends ChassisRows>(
  sb: Replica<M>,
  nbCfg: number,
): { behind: { name: string; nbCfg: number }[]; counted: number; appliedTs: number } {
  const r = sb as unknown as Replica<ChassisRows>;
  const chassis = r.table('Chassis');
  const behind: { name: string; nbCfg: number }[] = [];
  let counted = 0;
  let appliedTs = 0;
  for (const p of r.table('Chassis_Private').values()) {
    const c = p.chassis ? chassis.get(p.chassis) : undefined;
    if (c?.other_config['is-remote'] === 'true') continue;
    counted++;
    const at = Number(p.nb_cfg);
    if (at < nbCfg) behind.push({ name: p.name, nbCfg: at });
    else appliedTs = Math.max(appliedTs, Number(p.nb_cfg_timestamp));
  }
  return { behind, counted, appliedTs };
}

/** `host-b (at 41), host-c (at 40)`: the chassis `chassisBehind` found, for messages. */
export function describeBehind(behind: readonly { name: string; nbCfg: number }[]): string {
  return behind.map((b) => `${b.name} (at ${b.nbCfg})`).join(', ');
}

/**
 * Waits until every chassis reports `nbCfg` (a value from `bumpNbCfg`) in its SB Chassis_Private row: the
 * state `hv_cfg` reaching `nbCfg` stands for, seen directly, without waiting for the ovn-northd run that
 * folds the rows into NB `hv_cfg` (at 1,000 ports OVN 23.03's northd recomputes everything for it: tens of
 * ms). The replica must monitor Chassis_Private (`name`, `chassis`, `nb_cfg`, `nb_cfg_timestamp`) and
 * Chassis (`other_config`). Per batch it reads every Chassis_Private row: O(chassis), not O(ports).
 */
export function waitForChassisCfg<M extends ChassisRows>(
  sb: Replica<M>,
  nbCfg: number,
  opts: WaitOptions = {},
): Promise<ChassisCfgObserved> {
  if (!Number.isSafeInteger(nbCfg) || nbCfg < 0)
    return Promise.reject(new OvnInvalidArgumentError('nbCfg', nbCfg, 'an integer ≥ 0'));
  return awaitReplica(
    sb,
    () => {
      const { behind, counted, appliedTs } = chassisBehind(sb, nbCfg);
      return behind.length ? undefined : { at: performance.now(), nbCfg, chassis: counted, appliedTs };
    },
    {
      what: `every chassis reporting nb_cfg ${nbCfg} in SB Chassis_Private (applying this NB state)`,
      state: () => {
        const { behind, counted } = chassisBehind(sb, nbCfg);
        return `chassis behind (of ${counted}): ${describeBehind(behind)}`;
      },
    },
    opts,
  );
}

// ---- a logical port bound and up (SB Port_Binding) -------------------------------------------------------

type SbRows = { Port_Binding: SB.Port_Binding; Chassis: SB.Chassis };

/** What the SB showed when the port was bound and up. */
export interface PortUpObserved extends Observed {
  readonly logicalPort: string;
  /** The SB Chassis name (`system-id`) the port is bound to. */
  readonly chassis: string;
}

/**
 * Waits until the SB Port_Binding of `logicalPort` is bound to a chassis (to `chassis`, a system-id, when
 * given) and `up` is true. The replica must monitor Port_Binding (`logical_port`, `chassis`, `up`) and
 * Chassis (`name`).
 */
export function waitForPortUp<M extends SbRows>(
  sb: Replica<M>,
  logicalPort: string,
  opts: WaitOptions & { chassis?: string } = {},
): Promise<PortUpObserved> {
  if (typeof logicalPort !== 'string' || logicalPort === '')
    return Promise.reject(new OvnInvalidArgumentError('logicalPort', logicalPort, 'a non-empty port name'));
  if (opts.chassis !== undefined && (typeof opts.chassis !== 'string' || opts.chassis === ''))
    return Promise.reject(new OvnInvalidArgumentError('chassis', opts.chassis, 'a non-empty chassis name'));
  const r = sb as unknown as Replica<SbRows>;
  const bindings = r.table('Port_Binding');
  const chassisTable = r.table('Chassis');
  const { chassis: wanted, ...waitOpts } = opts;
  // A scan per batch would cost O(ports); look the binding up once by name and then follow its uuid.
  let uuid: string | undefined;
  const binding = (): SB.Port_Binding | undefined => {
    if (uuid !== undefined) {
      const b = bindings.get(uuid);
      if (b && b.logical_port === logicalPort) return b;
      uuid = undefined;
    }
    for (const b of bindings.values())
      if (b.logical_port === logicalPort) {
        uuid = b._uuid;
        return b;
      }
    return undefined;
  };
  const chassisName = (b: SB.Port_Binding) => (b.chassis ? chassisTable.get(b.chassis)?.name : undefined);
  return awaitReplica(
    sb,
    () => {
      const b = binding();
      if (b?.up !== true || !b.chassis) return undefined;
      const name = chassisName(b);
      if (name === undefined || (wanted !== undefined && name !== wanted)) return undefined;
      return { at: performance.now(), logicalPort, chassis: name };
    },
    {
      what: `logical port ${logicalPort} bound${wanted === undefined ? '' : ` to chassis ${wanted}`} and up`,
      state: () => {
        const b = binding();
        if (!b)
          return `the SB has no Port_Binding for ${logicalPort} (is it in NB, and is ovn-northd running?)`;
        if (!b.chassis)
          return `Port_Binding ${logicalPort} is bound to no chassis (no OVS Interface with external_ids:iface-id=${logicalPort} on a running chassis?)`;
        const name = chassisName(b) ?? `(unknown Chassis ${b.chassis})`;
        if (wanted !== undefined && name !== wanted)
          return `Port_Binding ${logicalPort} is bound to chassis ${name}, not ${wanted}`;
        return `Port_Binding ${logicalPort} is bound to ${name} but up is ${String(b.up)}`;
      },
    },
    waitOpts,
  );
}

// ---- local flows installed (Interface external_ids:ovn-installed) ---------------------------------------

type OvsRows = { Interface: OVS.Interface };

/** What the chassis' Open_vSwitch database showed. */
export interface InstalledObserved extends Observed {
  /** The OVS Interface name. */
  readonly interface: string;
  /** `external_ids:ovn-installed-ts` (ms since the epoch, ovn-controller's clock), if set. */
  readonly installedTs: number | undefined;
}

/**
 * Waits until the OVS Interface whose `external_ids:iface-id` is `ifaceId` carries
 * `external_ids:ovn-installed="true"` in the chassis' own Open_vSwitch database. The replica must monitor
 * Interface (`name`, `external_ids`).
 */
export function waitForOvnInstalled<M extends OvsRows>(
  ovs: Replica<M>,
  ifaceId: string,
  opts: WaitOptions = {},
): Promise<InstalledObserved> {
  if (typeof ifaceId !== 'string' || ifaceId === '')
    return Promise.reject(new OvnInvalidArgumentError('ifaceId', ifaceId, 'a non-empty logical port name'));
  const ifaces = (ovs as unknown as Replica<OvsRows>).table('Interface');
  const find = () => ifaces.filter((i) => i.external_ids['iface-id'] === ifaceId);
  return awaitReplica(
    ovs,
    () => {
      for (const i of find())
        if (i.external_ids['ovn-installed'] === 'true') {
          const ts = Number(i.external_ids['ovn-installed-ts']);
          return {
            at: performance.now(),
            interface: i.name,
            installedTs: Number.isFinite(ts) ? ts : undefined,
          };
        }
      return undefined;
    },
    {
      what: `ovn-installed on the interface with iface-id ${ifaceId}`,
      state: () => {
        const found = find();
        if (found.length === 0) return `no Interface has external_ids:iface-id=${ifaceId}`;
        return `${found.map((i) => i.name).join(', ')} has iface-id ${ifaceId} but no ovn-installed=true (is ovn-controller running, and is the logical port in NB?)`;
      },
    },
    opts,
  );
}
