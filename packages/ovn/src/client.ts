// The client entry: an NB session and replica (and, optionally, SB), on one endpoint or the members of a
// cluster (leader-only by default, so writes go to the leader and reads never go back in time), TLS through
// the ovsdb package's endpoint syntax (`ssl:HOST:PORT` + `tls` options). Writes go through the NB replica,
// which waits for its first snapshot before sending (no transaction built from an empty cache) and shows
// the result when the transaction resolves (ovsdb-server sends a monitor's updates before the reply).

import {
  type ClientOptions,
  type Database,
  database,
  type ModelRows,
  OvsdbSession,
  Replica,
  type ReplicaTableOptions,
  type ResultOf,
  type TlsOptions,
  type Transaction,
  type TransactOptions,
} from '@ovs-container-network/ovsdb';
import * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import type * as SB from '@ovs-container-network/ovsdb/models/ovn-southbound';
import { OvnAbortError, OvnInvalidArgumentError, OvnTimeoutError } from './errors.js';
import {
  bumpNbCfg,
  type CfgObserved,
  type ChassisCfgObserved,
  chassisBehind,
  describeBehind,
  nbCfgOf,
  type PortUpObserved,
  type PropagationLevel,
  type WaitOptions,
  waitForCfg,
  waitForChassisCfg,
  waitForPortUp,
} from './propagation.js';
import { renderNbShow, renderSbShow } from './show.js';
import { replicaTransactor } from './transactor.js';
import { type NbRows, nbReplicaTables } from './view.js';

export type SbRows = ModelRows<typeof SB.model>;
export type NbReplica = Replica<NbRows>;
export type SbReplica = Replica<SbRows>;

/** Which tables (and columns, conditions, indexes) a replica keeps. */
export type TableSelection<M> = {
  [K in keyof M & string]?: ReplicaTableOptions<M[K] & { readonly _uuid: string }>;
};

export interface OvnClientOptions {
  /** NB remotes: one endpoint or every member of a cluster (`unix:`, `tcp:`, `ssl:`). */
  nb: string | readonly string[];
  /** SB remotes; without them, port-up waits and the SB show are unavailable. */
  sb?: string | readonly string[];
  /** Clustered databases: use only the leader (default true). */
  leaderOnly?: boolean;
  /** TLS for `ssl:` remotes (same options as the ovsdb package). */
  tls?: TlsOptions;
  /** Other connection options (timeouts, probes), passed to every session. */
  client?: Omit<ClientOptions, 'tls'>;
  /** Reconnect back-off (default 1 s → 8 s). */
  backoff?: { initialMs?: number; maxMs?: number; jitter?: number };
  /** NB tables to replicate (default: every table, every column). NB_Global is always added. */
  nbTables?: TableSelection<NbRows>;
  /** SB tables to replicate (default: what waits and show need). */
  sbTables?: TableSelection<SbRows>;
}

const NO_OPTIONS: OvnTransactOptions = Object.freeze({});
const OPTION_KEYS = new Set(['nb', 'sb', 'leaderOnly', 'tls', 'client', 'backoff', 'nbTables', 'sbTables']);

/** The NB_Global columns the cfg waits read; merged into any NB selection. */
const NB_GLOBAL_COLUMNS = ['nb_cfg', 'sb_cfg', 'hv_cfg', 'hv_cfg_timestamp'] as const;

/** The SB tables `waitForPortUp`, the hv_cfg diagnosis and `showSb` read. */
export const DEFAULT_SB_TABLES: TableSelection<SbRows> = {
  SB_Global: { columns: ['nb_cfg'] },
  Chassis: { columns: ['name', 'hostname', 'encaps', 'other_config'] },
  Chassis_Private: { columns: ['name', 'chassis', 'nb_cfg', 'nb_cfg_timestamp'] },
  Encap: { columns: ['type', 'ip', 'options', 'chassis_name'] },
  Port_Binding: {
    columns: ['logical_port', 'chassis', 'up', 'type', 'datapath'],
    indexes: { byLogicalPort: (b) => b.logical_port },
  },
};

/** The least SB replica `waitForChassisCfg` needs (a few rows per chassis, nothing per port). */
export const CHASSIS_CFG_SB_TABLES: TableSelection<SbRows> = {
  Chassis: { columns: ['name', 'other_config'] },
  Chassis_Private: { columns: ['name', 'chassis', 'nb_cfg', 'nb_cfg_timestamp'] },
};

/** Every NB table, all columns, with the builders' `byName` indexes (so `replicaView(ovn.nb)` works). */
function allTables(): TableSelection<NbRows> {
  const out: Record<string, ReplicaTableOptions> = {};
  for (const name of Object.keys(NB.model.tables)) out[name] = {};
  return { ...out, ...nbReplicaTables() } as TableSelection<NbRows>;
}

function checkRemotes(field: string, v: unknown): readonly string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || list.some((r) => typeof r !== 'string' || r === ''))
    throw new OvnInvalidArgumentError(
      field,
      v,
      'an endpoint such as "tcp:10.0.0.1:6641" or a non-empty array of them (unix:PATH, tcp:HOST:PORT, ssl:HOST:PORT)',
    );
  return list as string[];
}

export interface OvnTransactOptions extends WaitOptions {
  /** Bound for the transaction's reply (ms; default none). `timeoutMs` bounds the wait after it. */
  requestTimeoutMs?: number;
  /**
   * Wait after the commit like `ovn-nbctl --wait=sb|hv`: the transaction also increments `nb_cfg`, and the
   * call resolves once `sb_cfg` (ovn-northd wrote the SB) or `hv_cfg` (every chassis applied it) reaches the
   * new value. Default 'none'.
   */
  wait?: 'none' | PropagationLevel;
}

/**
 * `const ovn = await OvnClient.connect({ nb: ['tcp:10.0.0.1:6641', …], sb: […] })`; `ovn.nb` is the live NB
 * replica, `await ovn.transact((t) => …, { wait: 'hv' })` writes, `await ovn.waitForPortUp('web-1')` awaits.
 */
export class OvnClient {
  readonly nbSession: OvsdbSession;
  readonly sbSession: OvsdbSession | undefined;
  /** The live NB replica (typed by the generated OVN_Northbound model). */
  readonly nb: NbReplica;
  /** The live SB replica (when `sb` remotes were given). */
  readonly sb: SbReplica | undefined;
  /** Typed transactions on NB, through the replica (waits for its first snapshot). */
  readonly nbDb: Database<typeof NB.model>;

  constructor(opts: OvnClientOptions) {
    if (typeof opts !== 'object' || opts === null)
      throw new OvnInvalidArgumentError('options', opts, 'an object with at least `nb`');
    for (const k of Object.keys(opts))
      if (!OPTION_KEYS.has(k)) throw new OvnInvalidArgumentError('options', k, [...OPTION_KEYS].join(', '));
    const nbRemotes = checkRemotes('nb', opts.nb);
    const sbRemotes = opts.sb === undefined ? undefined : checkRemotes('sb', opts.sb);
    if (opts.leaderOnly !== undefined && typeof opts.leaderOnly !== 'boolean')
      throw new OvnInvalidArgumentError('leaderOnly', opts.leaderOnly, 'true or false');
    const client: ClientOptions = { ...opts.client, ...(opts.tls ? { tls: opts.tls } : {}) };
    const common = {
      leaderOnly: opts.leaderOnly ?? true,
      client,
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
    };
    const nbTables = { ...(opts.nbTables ?? allTables()) };
    const g = nbTables.NB_Global;
    if (g?.columns)
      nbTables.NB_Global = { ...g, columns: [...new Set([...g.columns, ...NB_GLOBAL_COLUMNS])] };
    else if (!g) nbTables.NB_Global = { columns: [...NB_GLOBAL_COLUMNS] };
    this.nbSession = new OvsdbSession({ ...common, remotes: nbRemotes, database: 'OVN_Northbound' });
    this.nb = new Replica<NbRows>(this.nbSession, { tables: nbTables });
    this.nbDb = database(replicaTransactor(this.nb), NB.model);
    if (sbRemotes) {
      this.sbSession = new OvsdbSession({ ...common, remotes: sbRemotes, database: 'OVN_Southbound' });
      this.sb = new Replica<SbRows>(this.sbSession, { tables: opts.sbTables ?? DEFAULT_SB_TABLES });
    } else {
      this.sbSession = undefined;
      this.sb = undefined;
    }
  }

  /** Creates the client, starts its sessions and waits for the first snapshots (bounded by `timeoutMs`). */
  static async connect(opts: OvnClientOptions, wait: WaitOptions = {}): Promise<OvnClient> {
    const c = new OvnClient(opts);
    c.start();
    try {
      await c.ready(wait);
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  /** Starts connecting (idempotent; `connect` does it). */
  start(): void {
    this.nbSession.start();
    this.sbSession?.start();
  }

  /** Resolves when every replica has its first snapshot. */
  async ready(opts: WaitOptions = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const all = Promise.all([this.nb.ready, this.sb?.ready]);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        all,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const st = (s: OvsdbSession | undefined, n: string) =>
              s ? `${n} ${s.status.state}${s.status.error ? ` (${s.status.error.message})` : ''}` : '';
            reject(
              new OvnTimeoutError(
                `timed out after ${timeoutMs} ms: the first NB${this.sb ? '/SB' : ''} snapshot did not arrive; ${[
                  st(this.nbSession, 'NB'),
                  st(this.sbSession, 'SB'),
                ]
                  .filter(Boolean)
                  .join(', ')}`,
              ),
            );
          }, timeoutMs);
          onAbort = () => reject(new OvnAbortError('aborted waiting for the first snapshot'));
          opts.signal?.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A typed NB transaction (the builders of `Transaction`, and this package's builders, add to `t`).
   * With `wait: 'sb' | 'hv'` the same transaction increments `nb_cfg` and the call resolves once the
   * change has propagated that far.
   */
  transact<const H>(
    build: (t: Transaction) => H,
    opts: OvnTransactOptions = NO_OPTIONS,
  ): Promise<ResultOf<H>> {
    // Not async for the plain case: no promise hop of our own before the write.
    if (opts === NO_OPTIONS) return this.nbDb.transact(build);
    const { wait = 'none', signal, requestTimeoutMs } = opts;
    const txOpts: TransactOptions = {
      ...(signal ? { signal } : {}),
      ...(requestTimeoutMs === undefined ? {} : { timeoutMs: requestTimeoutMs }),
    };
    if (wait === 'none') return this.nbDb.transact(build, txOpts);
    return this.#transactAndWait(build, wait, txOpts, opts);
  }

  async #transactAndWait<const H>(
    build: (t: Transaction) => H,
    wait: OvnTransactOptions['wait'],
    txOpts: TransactOptions,
    opts: OvnTransactOptions,
  ): Promise<ResultOf<H>> {
    const { timeoutMs, signal } = opts;
    if (wait !== 'sb' && wait !== 'hv')
      throw new OvnInvalidArgumentError('wait', wait, "'none', 'sb' or 'hv'");
    const r = await this.nbDb.transact((t) => ({ user: build(t), cfg: bumpNbCfg(t) }), txOpts);
    const res = r as unknown as { user: ResultOf<H>; cfg: { nb_cfg: number | bigint }[] };
    await this.waitForCfg(nbCfgOf(res.cfg), wait, {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(signal ? { signal } : {}),
    });
    return res.user;
  }

  /**
   * `ovn-nbctl --wait=sb|hv sync`: increments `nb_cfg` and waits until `sb_cfg` or `hv_cfg` reaches it.
   * Resolves with NB_Global as seen at that moment and `at` (performance.now() when the replica showed it).
   */
  async sync(level: PropagationLevel, opts: WaitOptions = {}): Promise<CfgObserved> {
    const rows = await this.nbDb.transact((t) => bumpNbCfg(t), opts.signal ? { signal: opts.signal } : {});
    return this.waitForCfg(nbCfgOf(rows), level, opts);
  }

  /** Waits until NB_Global `sb_cfg`/`hv_cfg` ≥ `nbCfg` (a value from `bumpNbCfg`). */
  waitForCfg(nbCfg: number, level: PropagationLevel, opts: WaitOptions = {}): Promise<CfgObserved> {
    return waitForCfg(this.nb, nbCfg, level, { ...opts, lagging: (n) => this.#lagging(n) });
  }

  /**
   * Waits until every chassis reports `nbCfg` in SB Chassis_Private: what `hv_cfg` ≥ `nbCfg` stands for,
   * seen one ovn-northd run earlier (needs the `sb` option).
   */
  waitForChassisCfg(nbCfg: number, opts: WaitOptions = {}): Promise<ChassisCfgObserved> {
    try {
      return waitForChassisCfg(this.#needSb('the chassis wait reads SB Chassis_Private'), nbCfg, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The SB replica, or an OvnInvalidArgumentError naming the `sb` option and `why` it is needed. */
  #needSb(why: string): SbReplica {
    if (!this.sb)
      throw new OvnInvalidArgumentError('sb', undefined, `SB remotes in OvnClient options (${why})`);
    return this.sb;
  }

  /** Names the chassis whose ovn-controller has not reported `nbCfg` yet (from the SB replica). */
  #lagging(nbCfg: number): string {
    const sb = this.sb;
    if (!sb?.isReady) return 'connect an SB replica (the `sb` option) to name the lagging chassis';
    let seen: ReturnType<typeof chassisBehind>;
    try {
      seen = chassisBehind(sb, nbCfg);
    } catch {
      return 'the SB replica does not monitor Chassis_Private and Chassis';
    }
    return seen.behind.length
      ? `chassis behind: ${describeBehind(seen.behind)}`
      : `no chassis is behind in SB Chassis_Private (${seen.counted} chassis)`;
  }

  /** Waits until logical port `name` is bound (to `chassis`, a system-id, if given) and up in the SB. */
  waitForPortUp(name: string, opts: WaitOptions & { chassis?: string } = {}): Promise<PortUpObserved> {
    try {
      return waitForPortUp(this.#needSb('port-up waits read the SB'), name, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** What `ovn-nbctl show` prints, rendered from the NB replica. */
  showNb(): string {
    return renderNbShow(this.nb);
  }

  /** What `ovn-sbctl show` prints, rendered from the SB replica. */
  showSb(): string {
    return renderSbShow(this.#needSb('the SB show reads the SB'));
  }

  async close(): Promise<void> {
    await this.nb.close();
    await this.sb?.close();
    await this.nbSession.close();
    await this.sbSession?.close();
  }
}
