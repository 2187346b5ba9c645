// OvsBackend over @ovs-container-network/ovsdb: a reconnecting OvsdbSession and a typed Replica of the
// four tables the core reads (only the columns it uses, model.ts), with lookups by name and a port → bridge
// index kept from the replica's updates. Transactions are typed (`Transaction` on the generated models) and
// go through the replica, which waits for the first snapshot, so nothing is decided from an empty view
// (libovsdb #250-style bugs).
import {
  database,
  OvsdbSession,
  optimistic,
  Replica,
  type ReplicaChange,
  type ReplicaOptions,
  type ResultOf,
  type SessionStatus,
  type TlsOptions,
} from '@ovs-container-network/ovsdb';
import { describeError, OvsdbFailure } from '../errors.js';
import { LEASE_EXT } from '../ipam-state.js';
import { type Logger, silentLogger } from '../types.js';
import {
  type BridgeRow,
  type InterfaceRow,
  MONITORED,
  OVS,
  type OvsRows,
  type OvsTransaction,
  type PortRow,
  type QueueRow,
  type RootRow,
} from './model.js';
import type { OptimisticOptions, OvsBackend, OvsChange } from './view.js';

/** The index key of an IPAM lease row (ipam-state.ts): owner and pool id, or undefined for other rows. */
function leasePoolKey(ids: Readonly<Record<string, string>>): string | undefined {
  const owner = ids[LEASE_EXT.owner];
  const pool = ids[LEASE_EXT.pool];
  return owner === undefined || pool === undefined || ids[LEASE_EXT.address] === undefined
    ? undefined
    : `${owner}\n${pool}`;
}

/**
 * What a set column gained and lost between two versions of a row. A port added to or removed from a bridge
 * of 5,000 ports is a one-element change, and hashing both whole sets for it cost ~0.25 ms per call. The
 * replica keeps the old elements' order and appends the new ones (ovsdb datum.ts toggleSet), so one walk of
 * identity compares finds the change; the result is checked (what left is not in `after`, what came was not
 * in `before`), and anything else (a reorder, a large change) takes the general way.
 */
export function setDiff<T>(before: readonly T[], after: readonly T[]): { added: T[]; removed: T[] } {
  const SMALL = 16;
  const removed: T[] = [];
  let j = 0;
  let small = true;
  for (let i = 0; i < before.length && small; i++) {
    if (j < after.length && before[i] === after[j]) j++;
    else small = removed.push(before[i] as T) <= SMALL;
  }
  const added = small ? after.slice(j) : [];
  if (
    small &&
    added.length <= SMALL &&
    !removed.some((r) => after.includes(r)) &&
    !added.some((a) => before.includes(a))
  )
    return { added, removed };
  const was = new Set(before);
  const is = new Set(after);
  return { added: after.filter((p) => !was.has(p)), removed: before.filter((p) => !is.has(p)) };
}

const TABLES: ReplicaOptions<OvsRows>['tables'] = {
  Open_vSwitch: { columns: MONITORED.Open_vSwitch },
  Bridge: { columns: MONITORED.Bridge, indexes: { byName: (r) => r.name } },
  Port: {
    columns: MONITORED.Port,
    indexes: {
      byName: (r) => r.name,
      byInterface: (r) => (r.interfaces.length === 1 ? r.interfaces[0] : undefined),
    },
  },
  Interface: {
    columns: MONITORED.Interface,
    indexes: { byName: (r) => r.name, byContainerId: (r) => r.external_ids.container_id },
  },
  Queue: { columns: MONITORED.Queue, indexes: { byLeasePool: (r) => leasePoolKey(r.external_ids) } },
};

export interface OvsdbBackendOptions {
  /** `unix:PATH`, `tcp:HOST:PORT` or `ssl:HOST:PORT` (several for a cluster). */
  endpoint: string | readonly string[];
  /** How long to wait for the first snapshot (default 30 s). */
  readyTimeoutMs?: number;
  /** CA, certificate and key for `ssl:` endpoints (files or PEM; ovsdb package TlsOptions). */
  tls?: TlsOptions;
  /**
   * During an outage, how long a transaction waits for the connection to come back before it fails with
   * "OVSDB … is unreachable" (default 10 s). It is never sent later behind the caller's back.
   */
  unreachableTimeoutMs?: number;
  /** Outages and recoveries are logged here, with the cause (the TLS reason, ECONNREFUSED, …). */
  logger?: Logger;
  /**
   * Fail at once, with the ovsdb package's `ConnectError`, when every remote refused the first attempt
   * (as `OvsdbClient.connect` does), instead of retrying until `readyTimeoutMs`. For library callers
   * (`Orchestrator.connect`); the plugin keeps retrying, since OVS may come up after it at boot.
   */
  failFast?: boolean;
}

export const DEFAULT_UNREACHABLE_TIMEOUT_MS = 10_000;

export class OvsdbBackend implements OvsBackend {
  readonly session: OvsdbSession;
  readonly replica: Replica<OvsRows>;
  readonly #db: ReturnType<typeof database<typeof OVS.model>>;
  /** Port uuid → uuid of the bridge whose `ports` holds it, kept from the replica's Bridge changes. */
  readonly #portBridge = new Map<string, string>();

  readonly endpoint: string;
  readonly #unreachableMs: number;
  readonly #log: Logger;
  /** When the current outage began (undefined while connected), and its last cause. */
  #downSince: number | undefined;
  #lastError: string | undefined;
  #everConnected = false;

  private constructor(session: OvsdbSession, replica: Replica<OvsRows>, opts: OvsdbBackendOptions) {
    this.session = session;
    this.replica = replica;
    this.#db = database(replica, OVS.model);
    replica.on('change', (c) => this.#indexBridge(c));
    this.endpoint = typeof opts.endpoint === 'string' ? opts.endpoint : opts.endpoint.join(',');
    this.#unreachableMs = opts.unreachableTimeoutMs ?? DEFAULT_UNREACHABLE_TIMEOUT_MS;
    this.#log = opts.logger ?? silentLogger;
    this.#downSince = Date.now();
    session.on('status', (st) => this.#onStatus(st));
  }

  /** Logs every outage once when it starts, each new cause during it, and the recovery. */
  #onStatus(st: SessionStatus): void {
    if (st.state === 'connected') {
      if (this.#everConnected && this.#downSince !== undefined)
        this.#log.info(
          { ovsdb: this.endpoint, downMs: Date.now() - this.#downSince },
          'OVSDB connection restored',
        );
      else this.#log.info({ ovsdb: st.remote ?? this.endpoint }, 'OVSDB connected');
      this.#everConnected = true;
      this.#downSince = undefined;
      this.#lastError = undefined;
      return;
    }
    if (st.state === 'closed') return;
    if (this.#downSince === undefined) this.#downSince = Date.now();
    const cause = st.error ? describeError(st.error) : undefined;
    if (cause !== undefined && cause !== this.#lastError) {
      this.#lastError = cause;
      this.#log.warn(
        { ovsdb: st.remote ?? this.endpoint, err: cause, since: new Date(this.#downSince).toISOString() },
        this.#everConnected ? 'OVSDB unreachable' : 'cannot connect to OVSDB',
      );
    }
  }

  /** Why OVSDB cannot be used right now ("OVSDB at … is unreachable since …: cause"), or undefined. */
  unreachable(): string | undefined {
    if (this.connected || this.#downSince === undefined) return undefined;
    return `OVSDB at ${this.endpoint} is unreachable since ${new Date(this.#downSince).toISOString()}${this.#lastError ? ` (${this.#lastError})` : ''}`;
  }

  /** Connects and waits for the first snapshot. */
  static async open(opts: OvsdbBackendOptions): Promise<OvsdbBackend> {
    const session = new OvsdbSession({
      remotes: opts.endpoint,
      database: 'Open_vSwitch',
      ...(opts.tls ? { client: { tls: opts.tls } } : {}),
    });
    const replica = Replica.start<OvsRows>(session, { tables: TABLES });
    const backend = new OvsdbBackend(session, replica, opts);
    const timeout = opts.readyTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    let onStatus: ((st: SessionStatus) => void) | undefined;
    const remotes = new Set(typeof opts.endpoint === 'string' ? [opts.endpoint] : opts.endpoint);
    try {
      await Promise.race([
        replica.ready,
        new Promise<never>((_r, reject) => {
          if (!opts.failFast) return;
          const failed = new Set<string>();
          onStatus = (st) => {
            if (st.connections > 0 || st.state !== 'disconnected' || st.remote === undefined) return;
            failed.add(st.remote);
            if (failed.size >= remotes.size && st.error) reject(st.error);
          };
          session.on('status', onStatus);
        }),
        new Promise<never>((_r, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new OvsdbFailure(
                  `no OVSDB snapshot from ${backend.endpoint} within ${timeout} ms${backend.#lastError ? `: ${backend.#lastError}` : ''}`,
                ),
              ),
            timeout,
          );
        }),
      ]);
    } catch (err) {
      await backend.close();
      throw err;
    } finally {
      clearTimeout(timer);
      if (onStatus) session.off('status', onStatus);
    }
    return backend;
  }

  get connected(): boolean {
    return this.session.status.state === 'connected';
  }

  /** Keeps #portBridge: the ports a Bridge row gained point at it, the ones it lost stop pointing at it. */
  #indexBridge(c: ReplicaChange<OvsRows>): void {
    if (c.table !== 'Bridge') return;
    const before = c.old?.ports ?? [];
    const after = c.new?.ports ?? [];
    if (before === after) return;
    const bridge = (c.new ?? c.old)?._uuid;
    if (bridge === undefined) return;
    const diff = setDiff(before, after);
    for (const p of diff.removed) if (this.#portBridge.get(p) === bridge) this.#portBridge.delete(p);
    for (const p of diff.added) this.#portBridge.set(p, bridge);
  }

  root(): RootRow | undefined {
    for (const r of this.replica.table('Open_vSwitch')) return r;
    return undefined;
  }
  bridges(): Iterable<BridgeRow> {
    return this.replica.table('Bridge');
  }
  bridge(u: string): BridgeRow | undefined {
    return this.replica.table('Bridge').get(u);
  }
  bridgeByName(name: string): BridgeRow | undefined {
    return this.replica.table('Bridge').find('byName', name);
  }
  ports(): Iterable<PortRow> {
    return this.replica.table('Port');
  }
  port(u: string): PortRow | undefined {
    return this.replica.table('Port').get(u);
  }
  portByName(name: string): PortRow | undefined {
    return this.replica.table('Port').find('byName', name);
  }
  iface(u: string): InterfaceRow | undefined {
    return this.replica.table('Interface').get(u);
  }
  ifaceByName(name: string): InterfaceRow | undefined {
    return this.replica.table('Interface').find('byName', name);
  }
  bridgeOfPort(portUuid: string): BridgeRow | undefined {
    const b = this.#portBridge.get(portUuid);
    return b === undefined ? undefined : this.bridge(b);
  }
  portOfInterface(ifaceUuid: string): PortRow | undefined {
    return this.replica.table('Port').find('byInterface', ifaceUuid);
  }
  interfacesOfContainer(containerId: string): InterfaceRow[] {
    return this.replica.table('Interface').findAll('byContainerId', containerId);
  }
  queue(u: string): QueueRow | undefined {
    return this.replica.table('Queue').get(u);
  }
  leaseRows(owner: string, pool: string): QueueRow[] {
    return this.replica.table('Queue').findAll('byLeasePool', `${owner}\n${pool}`);
  }
  onChange(listener: (changes: readonly OvsChange[]) => void): () => void {
    this.replica.on('batch', listener);
    return () => this.replica.off('batch', listener);
  }

  /** During an outage, waits (bounded) for the session to come back; never sends later behind the caller's back. */
  async #reachable(): Promise<void> {
    if (this.connected) return;
    try {
      await this.session.connected(AbortSignal.timeout(this.#unreachableMs));
    } catch (err) {
      throw new OvsdbFailure(
        `${this.unreachable() ?? `OVSDB at ${this.endpoint} is unreachable`}; gave up after ${this.#unreachableMs} ms`,
        { cause: err },
      );
    }
  }

  async transact<const H>(build: (t: OvsTransaction) => H): Promise<ResultOf<H>> {
    await this.#reachable();
    return this.#db.transact(build);
  }

  async optimistic<const H>(
    build: (t: OvsTransaction) => H,
    opts: OptimisticOptions = {},
  ): Promise<ResultOf<H>> {
    await this.#reachable();
    return optimistic(this.replica, OVS.model, (t) => build(t as OvsTransaction), opts);
  }

  async close(): Promise<void> {
    await this.replica.close().catch(() => undefined);
    await this.session.close().catch(() => undefined);
  }
}
