// OvsBackend over @ovs-container-network/ovsdb: a reconnecting OvsdbSession and a Replica of the four
// tables the driver reads (only the columns it uses). Transactions go through the replica, which waits for
// the first snapshot, so nothing is decided from an empty view (libovsdb #250-style bugs).
import { OvsdbSession, Replica, type SessionStatus, type TlsOptions } from '@ovs-container-network/ovsdb';
import { describeError, OvsdbFailure } from './errors.js';
import type { BridgeRow, InterfaceRow, OvsBackend, OvsOp, PortRow } from './ovs.js';
import { type Logger, silentLogger } from './types.js';

type Raw = { readonly _uuid: string } & Readonly<Record<string, unknown>>;

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const strMap = (v: unknown): Record<string, string> => {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), String(x)]));
  return v && typeof v === 'object' ? (v as Record<string, string>) : {};
};
const strList = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
const intOpt = (v: unknown): number | undefined => {
  if (Array.isArray(v)) return v.length ? Number(v[0]) : undefined;
  return v === null || v === undefined ? undefined : Number(v);
};
const intList = (v: unknown): number[] => (Array.isArray(v) ? v.map(Number) : v == null ? [] : [Number(v)]);

const TABLES = {
  Open_vSwitch: { columns: ['bridges', 'external_ids'] },
  Bridge: {
    columns: ['name', 'datapath_type', 'external_ids', 'ports'],
    indexes: { byName: (r: Raw) => r.name },
  },
  Port: {
    columns: ['name', 'tag', 'trunks', 'external_ids', 'interfaces'],
    indexes: { byName: (r: Raw) => r.name },
  },
  Interface: {
    columns: ['name', 'type', 'external_ids', 'ofport', 'error'],
    indexes: { byName: (r: Raw) => r.name },
  },
} as const;

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
  readonly replica: Replica;
  readonly #bridges = new WeakMap<object, BridgeRow>();
  readonly #ports = new WeakMap<object, PortRow>();
  readonly #ifaces = new WeakMap<object, InterfaceRow>();

  readonly endpoint: string;
  readonly #unreachableMs: number;
  readonly #log: Logger;
  /** When the current outage began (undefined while connected), and its last cause. */
  #downSince: number | undefined;
  #lastError: string | undefined;
  #everConnected = false;

  private constructor(session: OvsdbSession, replica: Replica, opts: OvsdbBackendOptions) {
    this.session = session;
    this.replica = replica;
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
    const replica = Replica.start(session, { tables: TABLES as never });
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

  #rows(table: string): Iterable<Raw> {
    return this.replica.table(table) as unknown as Iterable<Raw>;
  }
  #find(table: string, name: string): Raw | undefined {
    return (this.replica.table(table) as unknown as { find(i: string, k: unknown): Raw | undefined }).find(
      'byName',
      name,
    );
  }
  #get(table: string, u: string): Raw | undefined {
    return (this.replica.table(table) as unknown as { get(u: string): Raw | undefined }).get(u);
  }

  #bridge(r: Raw | undefined): BridgeRow | undefined {
    if (!r) return undefined;
    let b = this.#bridges.get(r);
    if (!b) {
      b = {
        uuid: r._uuid,
        name: str(r.name),
        datapathType: str(r.datapath_type),
        externalIds: strMap(r.external_ids),
        ports: strList(r.ports),
      };
      this.#bridges.set(r, b);
    }
    return b;
  }
  #port(r: Raw | undefined): PortRow | undefined {
    if (!r) return undefined;
    let p = this.#ports.get(r);
    if (!p) {
      p = {
        uuid: r._uuid,
        name: str(r.name),
        tag: intOpt(r.tag),
        trunks: intList(r.trunks),
        externalIds: strMap(r.external_ids),
        interfaces: strList(r.interfaces),
      };
      this.#ports.set(r, p);
    }
    return p;
  }
  #iface(r: Raw | undefined): InterfaceRow | undefined {
    if (!r) return undefined;
    let i = this.#ifaces.get(r);
    if (!i) {
      const err = r.error;
      i = {
        uuid: r._uuid,
        name: str(r.name),
        type: str(r.type),
        externalIds: strMap(r.external_ids),
        ofport: intOpt(r.ofport),
        error: Array.isArray(err)
          ? (err[0] as string | undefined)
          : typeof err === 'string'
            ? err
            : undefined,
      };
      this.#ifaces.set(r, i);
    }
    return i;
  }

  rootUuid(): string | undefined {
    for (const r of this.#rows('Open_vSwitch')) return r._uuid;
    return undefined;
  }
  rootExternalIds(): Readonly<Record<string, string>> {
    for (const r of this.#rows('Open_vSwitch')) return strMap(r.external_ids);
    return {};
  }
  *bridges(): Iterable<BridgeRow> {
    for (const r of this.#rows('Bridge')) yield this.#bridge(r) as BridgeRow;
  }
  bridge(u: string): BridgeRow | undefined {
    return this.#bridge(this.#get('Bridge', u));
  }
  bridgeByName(name: string): BridgeRow | undefined {
    return this.#bridge(this.#find('Bridge', name));
  }
  *ports(): Iterable<PortRow> {
    for (const r of this.#rows('Port')) yield this.#port(r) as PortRow;
  }
  port(u: string): PortRow | undefined {
    return this.#port(this.#get('Port', u));
  }
  portByName(name: string): PortRow | undefined {
    return this.#port(this.#find('Port', name));
  }
  iface(u: string): InterfaceRow | undefined {
    return this.#iface(this.#get('Interface', u));
  }
  ifaceByName(name: string): InterfaceRow | undefined {
    return this.#iface(this.#find('Interface', name));
  }
  bridgeOfPort(portUuid: string): BridgeRow | undefined {
    for (const b of this.bridges()) if (b.ports.includes(portUuid)) return b;
    return undefined;
  }
  onChange(listener: () => void): () => void {
    const l = () => listener();
    this.replica.on('batch', l);
    return () => this.replica.off('batch', l);
  }
  async transact(operations: readonly OvsOp[]): Promise<unknown[]> {
    if (!this.connected) {
      // Bounded: wait for the session to come back, but never let the transaction go out later, after the
      // caller (Docker) was told it failed.
      try {
        await this.session.connected(AbortSignal.timeout(this.#unreachableMs));
      } catch (err) {
        throw new OvsdbFailure(
          `${this.unreachable() ?? `OVSDB at ${this.endpoint} is unreachable`}; gave up after ${this.#unreachableMs} ms`,
          { cause: err },
        );
      }
    }
    return this.replica.transact('Open_vSwitch', operations);
  }
  async close(): Promise<void> {
    await this.replica.close().catch(() => undefined);
    await this.session.close().catch(() => undefined);
  }
}
