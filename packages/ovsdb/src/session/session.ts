// A reconnecting OVSDB session: one live OvsdbClient at a time, chosen among several remotes, re-established
// with back-off after it drops. For clustered databases it checks the server through the `_Server` database
// before using it (leader-only by default, never older than an index already seen) and keeps watching it,
// so a leader change moves the session to the new leader. Replicas and locks attach to it and are restored
// on every new connection (onConnect hooks run before the session reports "connected").
//
// Transactions are never replayed behind the caller's back: one written on a connection that then drops
// rejects with MaybeCommittedError (from the connection layer); only a transaction that was never written
// (ConnectionClosedError before sending) waits for the next connection.

import { EventEmitter } from 'node:events';
import { type CallOptions, type ClientOptions, OvsdbClient } from '../client.js';
import { decodesReplies } from '../connection.js';
import {
  AbortError,
  ConnectionClosedError,
  InvalidArgumentError,
  NotConnectedError,
  NotUsableError,
  RpcError,
} from '../errors.js';
import type { MonitorId, TableUpdates2, WireRow } from '../protocol.js';
import { Backoff, type BackoffOptions, RemoteRotation } from './backoff.js';
import { Channel } from './channel.js';
import { decodeServerDatabaseRow, type ServerDatabaseRow, ServerTracker } from './server-db.js';

export type SessionState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface SessionStatus {
  readonly state: SessionState;
  /** The remote connected to or being tried. */
  readonly remote: string | undefined;
  /** Why the last connection or attempt ended (disconnected), or what closed the session. */
  readonly error: Error | undefined;
  /** `_Server` facts about the database on the connected server (connected state only). */
  readonly server: ServerDatabaseRow | undefined;
  /** Successful connections so far (1 after the first). */
  readonly connections: number;
}

export interface SessionOptions {
  /** One endpoint or several (a cluster): `unix:PATH`, `tcp:HOST:PORT`, `ssl:HOST:PORT`. Tried shuffled. */
  remotes: string | readonly string[];
  /** The database the session serves (checked in `_Server`, used by transact). */
  database: string;
  /** Clustered databases: use only the leader (default true). false reads from followers too. */
  leaderOnly?: boolean;
  /** Back-off between passes over the remotes (default 1 s → 8 s, jitter 0.5). */
  backoff?: BackoffOptions;
  /** Options for each connection (connect timeout, TLS, probes). */
  client?: ClientOptions;
}

export type ConnectHook = (client: OvsdbClient, signal: AbortSignal) => Promise<void>;

interface SessionEventMap {
  status: [SessionStatus];
  connected: [OvsdbClient];
  disconnected: [Error | undefined];
}

const SERVER_MONITOR_ID = 'ocn-server-db';
const OPTION_KEYS = new Set(['remotes', 'database', 'leaderOnly', 'backoff', 'client']);

/**
 * `const s = OvsdbSession.start({ remotes: ['tcp:10.0.0.1:6641', 'tcp:10.0.0.2:6641'], database: 'OVN_Northbound' })`.
 * `for await (const st of s.status())` follows the connection; `s.transact(ops)` sends on the current one.
 */
export class OvsdbSession {
  /** transact() hands RequestOptions.decoder on to the client (see Transaction.execute). */
  readonly [decodesReplies] = true as const;
  readonly database: string;
  readonly leaderOnly: boolean;
  readonly remotes: readonly string[];
  readonly #rotation: RemoteRotation;
  readonly #backoff: Backoff;
  readonly #clientOptions: ClientOptions;
  readonly #tracker: ServerTracker;
  readonly #ee = new EventEmitter<SessionEventMap>();
  readonly #hooks: ConnectHook[] = [];
  #client: OvsdbClient | undefined;
  #status: SessionStatus;
  #closed = false;
  #abort = new AbortController();
  #wake: (() => void) | undefined;
  #connections = 0;
  #loop: Promise<void> | undefined;

  constructor(opts: SessionOptions) {
    if (typeof opts !== 'object' || opts === null)
      throw new InvalidArgumentError(`session options: ${String(opts)} is not allowed; expected an object`);
    for (const k of Object.keys(opts))
      if (!OPTION_KEYS.has(k))
        throw new InvalidArgumentError(
          `session options: unknown option "${k}"; allowed: ${[...OPTION_KEYS].join(', ')}`,
        );
    if (typeof opts.database !== 'string' || opts.database === '')
      throw new InvalidArgumentError(
        `database: ${JSON.stringify(opts.database)} is not allowed; expected a database name such as "Open_vSwitch"`,
      );
    if (opts.leaderOnly !== undefined && typeof opts.leaderOnly !== 'boolean')
      throw new InvalidArgumentError(
        `leaderOnly: ${JSON.stringify(opts.leaderOnly)} is not allowed; expected a boolean`,
      );
    const remotes = typeof opts.remotes === 'string' ? [opts.remotes] : opts.remotes;
    if (!Array.isArray(remotes))
      throw new InvalidArgumentError(
        `remotes: ${JSON.stringify(opts.remotes)} is not allowed; expected an endpoint string or an array of them`,
      );
    this.database = opts.database;
    this.leaderOnly = opts.leaderOnly ?? true;
    this.#rotation = new RemoteRotation(remotes);
    this.remotes = this.#rotation.remotes;
    this.#backoff = new Backoff(opts.backoff ?? {});
    this.#clientOptions = opts.client ?? {};
    this.#tracker = new ServerTracker(this.database, this.leaderOnly);
    this.#ee.setMaxListeners(0);
    this.#status = {
      state: 'connecting',
      remote: undefined,
      error: undefined,
      server: undefined,
      connections: 0,
    };
  }

  /** Creates a session and starts connecting. */
  static start(opts: SessionOptions): OvsdbSession {
    const s = new OvsdbSession(opts);
    s.start();
    return s;
  }

  /** Starts the connect loop (idempotent). Hooks added before this run on the first connection too. */
  start(): void {
    if (this.#loop || this.#closed) return;
    this.#loop = this.#run();
  }

  get status(): SessionStatus {
    return this.#status;
  }

  /**
   * The live client, or undefined while not connected. A client that is closing (the session dropped it, e.g.
   * its `_Server` monitor saw the leader step down) is not live even before its socket's close event moves the
   * session on: handing it out made `transact` retry on it in a loop of microtasks that starved the event loop.
   */
  get client(): OvsdbClient | undefined {
    const c = this.#client;
    return this.#status.state === 'connected' && c?.status === 'open' ? c : undefined;
  }

  /** The highest Raft index accepted from any server so far (0 for standalone databases). */
  get minIndex(): number {
    return this.#tracker.minIndex;
  }

  on<K extends keyof SessionEventMap>(event: K, listener: (...args: SessionEventMap[K]) => void): this {
    this.#ee.on(event, listener as never);
    return this;
  }
  off<K extends keyof SessionEventMap>(event: K, listener: (...args: SessionEventMap[K]) => void): this {
    this.#ee.off(event, listener as never);
    return this;
  }

  /**
   * Status changes as an AsyncIterable: the current status first, then every change, until the session
   * closes. Leave the loop to unsubscribe.
   */
  statusChanges(): AsyncIterableIterator<SessionStatus> {
    const listener = (s: SessionStatus) => {
      ch.push(s);
      if (s.state === 'closed') ch.end();
    };
    const ch: Channel<SessionStatus> = new Channel(() => this.#ee.off('status', listener));
    ch.push(this.#status);
    if (this.#status.state === 'closed') ch.end();
    else this.#ee.on('status', listener);
    return ch;
  }

  /**
   * Registers work to do on every new connection before the session reports "connected" (monitors, locks).
   * A hook that throws makes the session drop that connection and try again.
   */
  addConnectHook(hook: ConnectHook): void {
    this.#hooks.push(hook);
  }

  removeConnectHook(hook: ConnectHook): void {
    const i = this.#hooks.indexOf(hook);
    if (i >= 0) this.#hooks.splice(i, 1);
  }

  /** Resolves with the live client, waiting for a connection (rejects when the session closes or on abort). */
  async connected(signal?: AbortSignal): Promise<OvsdbClient> {
    for (;;) {
      const c = this.client;
      if (c) return c;
      if (this.#closed) throw new NotConnectedError('the session is closed');
      if (signal?.aborted) throw new AbortError('gave up waiting for a connection', { cause: signal.reason });
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#ee.off('status', onStatus);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const onStatus = (s: SessionStatus) => {
          if (s.state === 'connected' || s.state === 'closed') done();
        };
        this.#ee.on('status', onStatus);
        signal?.addEventListener('abort', done, { once: true });
        // Connected, but on a client that is closing: its close (a macrotask away) moves the status on.
      });
    }
  }

  /**
   * Sends a transaction (`transact` params after the database name) on the live connection, waiting for
   * one if needed. The session is a Transactor: `database(session, OVS.model)` works on it. A transaction
   * that was written and whose connection dropped rejects with MaybeCommittedError and is not resent; one
   * that could not be written is sent on the next connection.
   */
  async transact(db: string, operations: readonly unknown[], opts: CallOptions = {}): Promise<unknown[]> {
    for (;;) {
      const client = await this.connected(opts.signal);
      try {
        return await client.transact(db, operations, opts);
      } catch (err) {
        if (err instanceof ConnectionClosedError && !this.#closed) continue; // never written: safe
        throw err;
      }
    }
  }

  /** Any request on the live connection (waits for one). Not retried if the connection drops. */
  async request<T = unknown>(method: string, params: readonly unknown[], opts: CallOptions = {}): Promise<T> {
    const client = await this.connected(opts.signal);
    return client.request<T>(method, params, opts);
  }

  /** Drops the current connection (if any) and reconnects, e.g. after a protocol anomaly. */
  reconnect(reason: Error = new ConnectionClosedError('reconnect requested')): void {
    void this.#client?.close(reason);
    this.#wake?.();
  }

  /** Closes the session and its connection; pending requests reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new NotConnectedError('the session is closed'));
    this.#wake?.();
    const c = this.#client;
    this.#client = undefined;
    if (c) await c.close();
    await this.#loop;
    this.#setStatus({ state: 'closed', remote: undefined, error: undefined, server: undefined });
  }

  #setStatus(s: Omit<SessionStatus, 'connections'>): void {
    this.#status = { ...s, connections: this.#connections };
    this.#ee.emit('status', this.#status);
    if (s.state === 'connected' && this.#client) this.#ee.emit('connected', this.#client);
    if (s.state === 'disconnected') this.#ee.emit('disconnected', s.error);
  }

  async #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = undefined;
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const remote = this.#rotation.next();
      this.#setStatus({ state: 'connecting', remote, error: undefined, server: undefined });
      let client: OvsdbClient | undefined;
      try {
        client = await OvsdbClient.connect(remote, this.#clientOptions);
        if (this.#closed) {
          await client.close();
          break;
        }
        this.#client = client;
        const server = await this.#checkServer(client);
        const ac = new AbortController();
        void client.closed.then(() => ac.abort());
        for (const hook of [...this.#hooks]) await hook(client, ac.signal);
        if (client.status !== 'open') throw (await client.closed) ?? new ConnectionClosedError();
        this.#connections++;
        this.#rotation.succeeded();
        this.#backoff.reset();
        this.#setStatus({ state: 'connected', remote, error: undefined, server });
        const reason = await client.closed;
        this.#client = undefined;
        if (this.#closed) break;
        this.#setStatus({
          state: 'disconnected',
          remote,
          error: reason ?? new ConnectionClosedError('connection closed'),
          server: undefined,
        });
        // A connection that worked: try the next remote at once (a cluster usually has another member up).
        this.#rotation.startPass();
        continue;
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        if (client) await client.close(e).catch(() => {});
        this.#client = undefined;
        if (this.#closed) break;
        this.#setStatus({ state: 'disconnected', remote, error: e, server: undefined });
      }
      if (this.#rotation.passCompleted) {
        await this.#sleep(this.#backoff.next());
        this.#rotation.startPass();
      }
    }
  }

  /**
   * Reads and then watches `_Server.Database` for our database (ovsdb-server ≥ 2.9). Throws when the server
   * is not usable (not leader, not connected to its cluster, older than seen). While connected, an update
   * that makes it unusable (the leader stepped down) closes the connection, which reconnects elsewhere.
   * Servers without `_Server` are taken as standalone.
   */
  async #checkServer(client: OvsdbClient): Promise<ServerDatabaseRow | undefined> {
    const rows = new Map<string, WireRow>();
    let initial: TableUpdates2;
    const onUpdate2 = (id: MonitorId, updates: TableUpdates2) => {
      if (id !== SERVER_MONITOR_ID) return;
      for (const [uuid, ru] of Object.entries(updates.Database ?? {})) {
        if ('delete' in ru) rows.delete(uuid);
        else if ('modify' in ru) rows.set(uuid, { ...rows.get(uuid), ...ru.modify });
        else rows.set(uuid, ('initial' in ru ? ru.initial : (ru as { insert: WireRow }).insert) ?? {});
      }
      const decoded = [...rows.values()].map(decodeServerDatabaseRow);
      const mine = decoded.find((r) => r.name === this.database);
      if (mine) this.#tracker.observe(mine);
      const check = this.#tracker.check(decoded);
      if (!check.ok && client.status === 'open')
        void client.close(new NotUsableError(client.endpoint, check.reason, check.message));
    };
    // Listen before asking: an update2 right behind the reply is dispatched before this await resumes.
    client.on('update2', onUpdate2);
    try {
      initial = await client.monitorCond(
        '_Server',
        SERVER_MONITOR_ID,
        {
          Database: {
            columns: ['name', 'model', 'connected', 'leader', 'schema', 'cid', 'sid', 'index'],
            where: [['name', '==', this.database]],
          },
        },
        {
          onResult: (r) => {
            for (const [uuid, ru] of Object.entries((r as TableUpdates2).Database ?? {}))
              rows.set(uuid, ('initial' in ru ? ru.initial : {}) as WireRow);
          },
        },
      );
    } catch (err) {
      if (err instanceof RpcError && (err.error === 'unknown database' || err.error === 'unknown method'))
        return undefined;
      throw err;
    }
    void initial;
    const decoded = [...rows.values()].map(decodeServerDatabaseRow);
    const check = this.#tracker.check(decoded);
    if (!check.ok) throw new NotUsableError(client.endpoint, check.reason, check.message);
    return check.row;
  }
}

export { NotUsableError } from '../errors.js';
