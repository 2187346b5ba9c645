// A live, typed replica of the tables and columns a user asks for, kept by a monitor on an OvsdbSession.
//
// Monitor method: monitor_cond_since (ovsdb-server ≥ 2.12, resumable), else monitor_cond (update2), else
// monitor (RFC 7047 update), chosen once per server by trying them in that order. On every new connection
// the replica re-monitors: with monitor_cond_since and the last transaction id it saw, the server answers
// found=true and only the missed changes (no reload). Only clustered databases have transaction ids;
// standalone ones and servers whose bounded history lost our id answer found=false with a full snapshot,
// which is diffed against what the replica holds (RowStore.replaceAll) so that listeners see exactly the
// differences and readers never see an empty or half-filled replica (the bug of purge-on-reconnect).
//
// The first snapshot and the updates that follow it are applied in wire order: the connection hands the
// monitor reply to `onResult` synchronously, before any later notification is dispatched.

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { CallOptions, OvsdbClient } from '../client.js';
import { decodesReplies } from '../connection.js';
import type { DatabaseModel, RowOf as ModelRowOf } from '../database.js';
import {
  AbortError,
  InvalidArgumentError,
  NotConnectedError,
  ReplicaError,
  RpcError,
  showValue,
  TimeoutError,
} from '../errors.js';
import type {
  MonitorCondRequests,
  MonitorCondSinceResult,
  MonitorId,
  MonitorRequests,
  TableUpdates,
  TableUpdates2,
  WireCondition,
} from '../protocol.js';
import { type DatabaseSchema, parseSchema } from '../schema.js';
import { Channel } from '../session/channel.js';
import type { OvsdbSession } from '../session/session.js';
import { ZERO_UUID } from './datum.js';
import { type IndexKey, type Row, type RowChange, type RowIndex, RowStore, TableStore } from './store.js';

export type MonitorMethod = 'monitor_cond_since' | 'monitor_cond' | 'monitor';
const METHODS: readonly MonitorMethod[] = ['monitor_cond_since', 'monitor_cond', 'monitor'];

export type Condition = WireCondition | boolean;

export interface ReplicaTableOptions<R = Row> {
  /** Columns to monitor (default: every column of the schema). `_uuid` is always there. */
  columns?: readonly string[];
  /** Rows to monitor: conditions ANDed, in wire notation (default: all rows). monitor_cond(_since) only. */
  where?: readonly Condition[];
  /** Named lookups: `{ byName: (port) => port.name }`; a key of undefined/null leaves a row out. */
  indexes?: Record<string, IndexKey<R>>;
}

/** Table name → row type, e.g. generated models: `{ Port: Port; Interface: Interface }`. */
export type TableMap = object;

/**
 * The row types of every table of a generated database model:
 * `Replica.start<ModelRows<typeof OVS.model>>(session, { tables: { Port: {} } })`.
 */
export type ModelRows<DM extends DatabaseModel> = {
  [K in keyof DM['tables'] & string]: ModelRowOf<DM['tables'][K]>;
};

export type RowOf<M extends TableMap, K extends keyof M> = M[K] & { readonly _uuid: string };

export interface ReplicaOptions<M extends TableMap> {
  tables: { [K in keyof M & string]?: ReplicaTableOptions<RowOf<M, K>> };
  /** Force a monitor method (default: the best the server supports). */
  method?: MonitorMethod;
}

/** What happened on the last (re)connection. */
export interface SyncInfo {
  readonly method: MonitorMethod;
  /** monitor_cond_since answered found=true: only missed changes were sent, nothing was reloaded. */
  readonly resumed: boolean;
  readonly changes: number;
}

export interface ReplicaStats {
  /** Full snapshots received (the first sync included). */
  fullSnapshots: number;
  /** Reconnections resumed from the last transaction id without a reload. */
  resumes: number;
  /** Update notifications applied. */
  updates: number;
  /** Row changes emitted. */
  changes: number;
  /** modify/delete of unknown rows and inserts of known ones (should stay 0). */
  anomalies: number;
  /** Schema changes handled (monitor_canceled). */
  schemaChanges: number;
}

/**
 * A change of one of the replica's tables, typed by table: `if (c.table === 'Port') c.new?.tag`.
 */
export type ReplicaChange<M extends TableMap, K extends keyof M & string = keyof M & string> = {
  [T in K]: RowChange<RowOf<M, T>> & { readonly table: T };
}[K];

export interface ReplicaEvents<M extends TableMap> {
  change: [ReplicaChange<M>];
  /** One applied notification or snapshot (a transaction): all its changes, after they are visible. */
  batch: [readonly ReplicaChange<M>[]];
  sync: [SyncInfo];
  error: [Error];
}
type ReplicaEventMap = ReplicaEvents<Record<string, Row>>;

/** Read access to one replicated table. Rows are immutable snapshots; a change makes a new row object. */
export class ReplicaTable<R extends { readonly _uuid: string }> implements Iterable<R> {
  readonly #replica: Replica<TableMap>;
  readonly name: string;
  constructor(replica: Replica<TableMap>, name: string) {
    this.#replica = replica;
    this.name = name;
  }
  #store(): TableStore {
    return this.#replica.store(this.name);
  }
  get(uuid: string): R | undefined {
    return this.#store().rows.get(uuid) as R | undefined;
  }
  has(uuid: string): boolean {
    return this.#store().rows.has(uuid);
  }
  get size(): number {
    return this.#store().rows.size;
  }
  values(): IterableIterator<R> {
    return this.#store().rows.values() as IterableIterator<R>;
  }
  [Symbol.iterator](): Iterator<R> {
    return this.values();
  }
  filter(pred: (row: R) => boolean): R[] {
    const out: R[] = [];
    for (const r of this.values()) if (pred(r)) out.push(r);
    return out;
  }
  #index(name: string): RowIndex {
    const ix = this.#store().indexes.get(name);
    if (!ix)
      throw new InvalidArgumentError(
        `index "${name}" is not declared on ${this.name}; declared: ${[...this.#store().indexes.keys()].join(', ') || 'none'}`,
      );
    return ix;
  }
  /** The row whose index key equals `key` (the first one if several do). */
  find(index: string, key: unknown): R | undefined {
    return this.#index(index).get(key) as R | undefined;
  }
  /** Every row whose index key equals `key`. */
  findAll(index: string, key: unknown): R[] {
    return this.#index(index).getAll(key) as R[];
  }
}

let monitorSeq = 0;

export { ReplicaError } from '../errors.js';

/**
 * `const r = Replica.start(session, { tables: { Port: { columns: ['name', 'external_ids'], indexes: { byName: (p) => p.name } } } })`;
 * `await r.ready`; `r.table('Port').find('byName', 'eth0')`; `for await (const ch of r.changes()) …`.
 */
export class Replica<M extends TableMap = Record<string, Row>> {
  /** transact() hands RequestOptions.decoder on to the session (see Transaction.execute). */
  readonly [decodesReplies] = true as const;
  readonly session: OvsdbSession;
  readonly database: string;
  /** Resolves when the first snapshot is in the replica; rejects if the replica closes first. */
  readonly ready: Promise<void>;
  readonly stats: ReplicaStats = {
    fullSnapshots: 0,
    resumes: 0,
    updates: 0,
    changes: 0,
    anomalies: 0,
    schemaChanges: 0,
  };
  readonly #specs = new Map<
    string,
    {
      columns: readonly string[] | undefined;
      where: readonly Condition[] | undefined;
      indexes: Record<string, IndexKey>;
    }
  >();
  #store = new RowStore();
  #schema: DatabaseSchema | undefined;
  #forced: MonitorMethod | undefined;
  #method: MonitorMethod | undefined;
  #lastTxnId: string | null = null;
  #monitorId: string | undefined;
  #acceptIds = new Set<string>();
  #client: OvsdbClient | undefined;
  #synced = false;
  #closed = false;
  #resolveReady!: () => void;
  #rejectReady!: (e: Error) => void;
  readonly #ee = new EventEmitter<ReplicaEventMap>();
  readonly #channels = new Set<{ ch: Channel<RowChange>; tables: Set<string> | undefined }>();
  readonly #hook = (client: OvsdbClient, signal: AbortSignal) => this.#onConnect(client, signal);
  #schemaChange: Promise<void> | undefined;
  #resyncAgain: boolean | undefined;

  constructor(session: OvsdbSession, opts: ReplicaOptions<NoInfer<M>>) {
    if (typeof opts !== 'object' || opts === null || typeof opts.tables !== 'object' || opts.tables === null)
      throw new InvalidArgumentError(
        'replica options: "tables" is required: an object of table name → options',
      );
    if (opts.method !== undefined && !METHODS.includes(opts.method))
      throw new InvalidArgumentError(
        `method: ${JSON.stringify(opts.method)} is not allowed; expected one of ${METHODS.join(', ')}`,
      );
    const names = Object.keys(opts.tables);
    if (names.length === 0)
      throw new InvalidArgumentError('tables: {} is not allowed; name at least one table');
    for (const name of names) {
      const t = (opts.tables as Record<string, ReplicaTableOptions | undefined>)[name] ?? {};
      if (
        t.columns !== undefined &&
        (!Array.isArray(t.columns) || t.columns.some((c) => typeof c !== 'string'))
      )
        throw new InvalidArgumentError(
          `tables.${name}.columns: ${JSON.stringify(t.columns)} is not allowed; expected an array of column names`,
        );
      if (t.where !== undefined && !Array.isArray(t.where))
        throw new InvalidArgumentError(
          `tables.${name}.where: ${JSON.stringify(t.where)} is not allowed; expected an array of conditions`,
        );
      if (t.where !== undefined && opts.method === 'monitor')
        throw new InvalidArgumentError(
          `tables.${name}.where: conditions need monitor_cond or monitor_cond_since, not "monitor"`,
        );
      for (const [ix, fn] of Object.entries(t.indexes ?? {}))
        if (typeof fn !== 'function')
          throw new InvalidArgumentError(`tables.${name}.indexes.${ix}: expected a function row → key`);
      this.#specs.set(name, {
        columns: t.columns,
        where: t.where,
        indexes: (t.indexes ?? {}) as Record<string, IndexKey>,
      });
    }
    this.session = session;
    this.database = session.database;
    this.#forced = opts.method;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.#ee.setMaxListeners(0);
    session.addConnectHook(this.#hook);
    const live = session.client;
    if (live) void this.#onConnect(live, new AbortController().signal).catch((e) => session.reconnect(e));
  }

  /** Attaches a replica to a session (which starts connecting if it has not yet). */
  static start<M extends TableMap = Record<string, Row>>(
    session: OvsdbSession,
    opts: ReplicaOptions<NoInfer<M>>,
  ): Replica<M> {
    const r = new Replica<M>(session, opts);
    session.start();
    return r;
  }

  /** The schema the replica decodes with (after the first connection). */
  get schema(): DatabaseSchema | undefined {
    return this.#schema;
  }

  /** The monitor method in use (after the first connection). */
  get method(): MonitorMethod | undefined {
    return this.#method;
  }

  /** The last transaction id seen (monitor_cond_since on a clustered database), or null. */
  get lastTxnId(): string | null {
    return this.#lastTxnId;
  }

  /** The id of the live monitor (changes on every (re)monitor and condition change). */
  get monitorId(): string | undefined {
    return this.#monitorId;
  }

  /** Whether the first snapshot has arrived. */
  get isReady(): boolean {
    return this.#synced;
  }

  table<K extends keyof M & string>(name: K): ReplicaTable<RowOf<M, K>> {
    if (!this.#specs.has(name))
      throw new InvalidArgumentError(
        `table "${name}" is not replicated; replicated: ${[...this.#specs.keys()].join(', ')}`,
      );
    return new ReplicaTable<RowOf<M, K>>(this as unknown as Replica<TableMap>, name);
  }

  /** @internal The current store of a table (replaced after a schema change). */
  store(name: string): TableStore {
    const t = this.#store.tables.get(name);
    if (!t) {
      if (!this.#specs.has(name)) throw new InvalidArgumentError(`table "${name}" is not replicated`);
      return EMPTY_TABLE;
    }
    return t;
  }

  on<K extends keyof ReplicaEvents<M>>(event: K, listener: (...args: ReplicaEvents<M>[K]) => void): this {
    this.#ee.on(event, listener as never);
    return this;
  }
  off<K extends keyof ReplicaEvents<M>>(event: K, listener: (...args: ReplicaEvents<M>[K]) => void): this {
    this.#ee.off(event, listener as never);
    return this;
  }

  /**
   * Row changes as an AsyncIterable, from now on (optionally only some tables). Each change carries the
   * old and the new row. Leave the loop to unsubscribe; the stream ends when the replica closes.
   */
  changes<K extends keyof M & string = keyof M & string>(
    opts: { tables?: readonly K[] } = {},
  ): AsyncIterableIterator<ReplicaChange<M, K>> {
    const entry = {
      ch: undefined as unknown as Channel<RowChange>,
      tables: opts.tables ? new Set<string>(opts.tables) : undefined,
    };
    entry.ch = new Channel<RowChange>(() => this.#channels.delete(entry));
    if (this.#closed) entry.ch.end();
    else this.#channels.add(entry);
    return entry.ch as unknown as AsyncIterableIterator<ReplicaChange<M, K>>;
  }

  /**
   * Replaces a table's monitor condition (monitor_cond_change). Rows that stop matching are deleted from
   * the replica, rows that start matching are inserted, with events. Kept for later reconnections.
   */
  async setCondition(table: keyof M & string, where: readonly Condition[] | undefined): Promise<void> {
    const spec = this.#specs.get(table);
    if (!spec) throw new InvalidArgumentError(`table "${table}" is not replicated`);
    if (where !== undefined && !Array.isArray(where))
      throw new InvalidArgumentError(
        `where: ${JSON.stringify(where)} is not allowed; expected an array of conditions`,
      );
    if (this.#forced === 'monitor' || this.#method === 'monitor')
      throw new InvalidArgumentError(
        'setCondition: conditions need monitor_cond or monitor_cond_since, not "monitor"',
      );
    spec.where = where;
    const client = this.#client;
    const oldId = this.#monitorId;
    if (client?.status !== 'open' || oldId === undefined || !this.#synced) return; // applied on connect
    const newId = `ocn-replica-${++monitorSeq}`;
    this.#acceptIds.add(newId);
    await client.monitorCondChange(oldId, newId, { [table]: [{ where: where ?? [true] }] });
    if (this.#monitorId === oldId) {
      this.#monitorId = newId;
      this.#acceptIds.delete(oldId);
    }
  }

  /**
   * Sends a transaction once the first snapshot is in, so operations built from the replica see real data
   * (transacting before the first snapshot is a classic IDL bug). The replica is a Transactor:
   * `database(replica, OVS.model).transact((t) => …)` waits for `ready`. Updates caused by a transaction
   * arrive before its reply (ovsdb-server), so when this resolves the replica already shows the result.
   */
  async transact(db: string, operations: readonly unknown[], opts: CallOptions = {}): Promise<unknown[]> {
    await (opts.timeoutMs === undefined && opts.signal === undefined ? this.ready : this.whenReady(opts));
    return this.session.transact(db, operations, opts);
  }

  /**
   * `ready`, bounded: rejects with TimeoutError after `timeoutMs`, or with AbortError when `signal` aborts,
   * naming the remotes and why the last connection attempt failed (e.g. the server is unreachable). The
   * replica itself keeps trying; `ready` still resolves once the first snapshot arrives.
   */
  whenReady(opts: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<void> {
    const { timeoutMs, signal } = opts;
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) {
      return Promise.reject(
        new InvalidArgumentError(
          `whenReady: timeoutMs ${showValue(timeoutMs)} is not allowed; expected a non-negative number of milliseconds`,
        ),
      );
    }
    if (this.#synced) return this.ready;
    const why = () => {
      const st = this.session.status;
      const last = st.error ? `; last error: ${st.error.message}` : '';
      return `replica of ${this.database} not ready (session ${st.state}, remotes ${this.session.remotes.join(', ')}${last})`;
    };
    if (signal?.aborted) return Promise.reject(new AbortError(why(), { cause: signal.reason }));
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(new AbortError(why(), { cause: signal?.reason }));
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          done();
          reject(new TimeoutError(`${why()} after ${timeoutMs} ms`));
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.ready.then(
        () => {
          done();
          resolve();
        },
        (e: unknown) => {
          done();
          reject(e);
        },
      );
    });
  }

  /** Detaches from the session (the session stays open) and ends the change streams. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.session.removeConnectHook(this.#hook);
    this.#detach();
    const client = this.#client;
    const id = this.#monitorId;
    this.#client = undefined;
    if (client && id !== undefined && client.status === 'open')
      await client.monitorCancel(id).catch(() => {});
    for (const { ch } of this.#channels) ch.end();
    this.#channels.clear();
    if (!this.#synced)
      this.#rejectReady(new NotConnectedError('the replica was closed before its first snapshot'));
  }

  // ---- connection handling ------------------------------------------------------------------------------

  #listeners: { client: OvsdbClient; off: () => void } | undefined;

  #detach(): void {
    this.#listeners?.off();
    this.#listeners = undefined;
  }

  #attach(client: OvsdbClient): void {
    this.#detach();
    const accept = (id: MonitorId) => typeof id === 'string' && this.#acceptIds.has(id);
    const onUpdate3 = (id: MonitorId, txnId: string, updates: TableUpdates2) => {
      if (!accept(id)) return;
      this.#lastTxnId = txnId;
      this.#apply((out) => this.#store.applyUpdate2(updates, out));
    };
    const onUpdate2 = (id: MonitorId, updates: TableUpdates2) => {
      if (accept(id)) this.#apply((out) => this.#store.applyUpdate2(updates, out));
    };
    const onUpdate = (id: MonitorId, updates: TableUpdates) => {
      if (accept(id)) this.#apply((out) => this.#store.applyUpdate1(updates, out));
    };
    const onCanceled = (id: MonitorId) => {
      if (accept(id)) this.#onSchemaChange(client);
    };
    client.on('update3', onUpdate3);
    client.on('update2', onUpdate2);
    client.on('update', onUpdate);
    client.on('monitor_canceled', onCanceled);
    this.#listeners = {
      client,
      off: () => {
        client.off('update3', onUpdate3);
        client.off('update2', onUpdate2);
        client.off('update', onUpdate);
        client.off('monitor_canceled', onCanceled);
      },
    };
  }

  #apply(fn: (out: RowChange[]) => void): void {
    const out: RowChange[] = [];
    const before = this.#store.stats.anomalies;
    try {
      fn(out);
    } catch (err) {
      // A notification we cannot apply: the replica may be inconsistent. Reload it (diffed, on the same
      // connection) rather than carry on with wrong data.
      this.#emitError(new ReplicaError('could not apply an update; reloading', { cause: err }));
      this.#resync();
      return;
    }
    this.stats.updates++;
    const anomalies = this.#store.stats.anomalies - before;
    this.#emit(out);
    if (anomalies > 0) {
      // A modify/delete of a row we do not hold (or an insert of one we do): we missed something.
      this.stats.anomalies += anomalies;
      this.#emitError(new ReplicaError(`${anomalies} update(s) did not match the replica; reloading`));
      this.#resync();
    }
  }

  /** Full reload of the same tables on the live connection, emitted as a diff (also after a schema change). */
  #resync(fetchSchema = false): void {
    const client = this.#client;
    if (client?.status !== 'open') return; // the next connection re-monitors anyway
    if (this.#schemaChange) {
      // One is running; run again after it (a schema change must not be lost behind an anomaly reload).
      this.#resyncAgain = this.#resyncAgain === true || fetchSchema;
      return;
    }
    this.#schemaChange = (async () => {
      try {
        if (fetchSchema) {
          const fresh = parseSchema(await client.getSchema(this.database));
          this.stats.schemaChanges++;
          this.#buildStores(fresh);
        }
        const old = this.#monitorId;
        this.#lastTxnId = null;
        await this.#monitor(client);
        // A schema change canceled the old monitor already; otherwise cancel it now.
        if (!fetchSchema && old !== undefined) await client.monitorCancel(old).catch(() => {});
      } catch (err) {
        this.#emitError(new ReplicaError('resync failed; reconnecting', { cause: err }));
        this.session.reconnect(err instanceof Error ? err : new Error(String(err)));
      } finally {
        this.#schemaChange = undefined;
        const again = this.#resyncAgain;
        this.#resyncAgain = undefined;
        if (again !== undefined && client === this.#client) this.#resync(again);
      }
    })();
  }

  #emit(out: readonly RowChange[]): void {
    if (out.length === 0) return;
    this.stats.changes += out.length;
    if (this.#ee.listenerCount('change') > 0) for (const c of out) this.#ee.emit('change', c);
    if (this.#ee.listenerCount('batch') > 0) this.#ee.emit('batch', out);
    for (const { ch, tables } of this.#channels) {
      for (const c of out) if (!tables || tables.has(c.table)) ch.push(c);
    }
  }

  #emitError(err: Error): void {
    if (this.#ee.listenerCount('error') > 0) this.#ee.emit('error', err);
  }

  /** Builds (or rebuilds, after a schema change) the table stores, keeping the rows held so far. */
  #buildStores(schema: DatabaseSchema): void {
    const next = new RowStore();
    for (const [name, spec] of this.#specs) {
      const ts = schema.tables.get(name);
      if (!ts)
        throw new InvalidArgumentError(
          `table "${name}" is not in database ${schema.name}; tables: ${[...schema.tables.keys()].join(', ')}`,
        );
      const t = new TableStore(ts, spec.columns);
      const old = this.#store.tables.get(name);
      if (old) t.rows = old.rows;
      for (const [ix, fn] of Object.entries(spec.indexes)) t.addIndex(ix, fn);
      next.addTable(t);
    }
    this.#store = next;
    this.#schema = schema;
  }

  #requests(method: MonitorMethod): MonitorCondRequests | MonitorRequests {
    const out: Record<string, { columns?: readonly string[]; where?: readonly Condition[] }> = {};
    for (const [name, spec] of this.#specs) {
      const t = this.#store.tables.get(name) as TableStore;
      const req: { columns?: readonly string[]; where?: readonly Condition[] } = {
        columns: t.codecs.map((c) => c.name),
      };
      if (method !== 'monitor' && spec.where !== undefined) req.where = spec.where;
      out[name] = req;
    }
    return out;
  }

  async #onConnect(client: OvsdbClient, _signal: AbortSignal): Promise<void> {
    if (this.#closed) return;
    if (this.#schemaChange) await this.#schemaChange.catch(() => {});
    const fresh = parseSchema(await client.getSchema(this.database));
    const schemaChanged = this.#schema !== undefined && !sameSchema(this.#schema, fresh);
    if (this.#schema === undefined || schemaChanged) {
      try {
        this.#buildStores(fresh);
      } catch (err) {
        // A table or column the server's schema lacks: retrying cannot help. Fail `ready` and detach.
        if (!this.#synced) this.#rejectReady(err as Error);
        this.#emitError(err as Error);
        void this.close();
        return;
      }
    }
    if (schemaChanged) {
      this.stats.schemaChanges++;
      this.#lastTxnId = null;
    }
    // ovsdb-server.7: a db-change-aware session gets monitor_canceled (and keeps its connection) when the
    // schema changes. Servers before 2.9 lack the method: they close the connection instead.
    await client.setDbChangeAware(true).catch(() => {});
    this.#client = client;
    this.#attach(client);
    try {
      await this.#monitor(client);
    } catch (err) {
      this.#emitError(new ReplicaError(`monitoring ${this.database} failed`, { cause: err }));
      throw err;
    }
  }

  async #monitor(client: OvsdbClient): Promise<void> {
    const candidates = this.#forced ? [this.#forced] : this.#method ? [this.#method] : METHODS;
    for (const method of candidates) {
      const id = `ocn-replica-${++monitorSeq}`;
      const prev = this.#monitorId;
      this.#monitorId = id;
      this.#acceptIds = new Set([id]);
      try {
        await this.#monitorWith(client, method, id);
        this.#method = method;
        return;
      } catch (err) {
        this.#monitorId = prev;
        const unknown = err instanceof RpcError && /unknown method/i.test(err.error);
        if (!unknown || this.#forced) throw err;
      }
    }
    throw new ReplicaError('the server supports none of monitor_cond_since, monitor_cond, monitor');
  }

  #monitorWith(client: OvsdbClient, method: MonitorMethod, id: string): Promise<unknown> {
    const requests = this.#requests(method);
    // First sync: the store is empty and the snapshot is applied directly (while it is parsed, see
    // onSlice); later syncs, and a first one after a partial first attempt, diff it (replaceAll).
    const first = !this.#synced && this.#store.empty;
    const db = this.database;
    const out: RowChange[] = [];
    const before = this.#store.stats.anomalies;
    // A large first snapshot: rows are applied slice by slice as the connection parses the message, so
    // the parsed wire rows are garbage at once instead of piling up (memory, GC pauses). Paths: the
    // table-updates object is result[2] (monitor_cond_since) or result (monitor_cond, monitor).
    const at = method === 'monitor_cond_since' ? 2 : 1;
    const onSlice = first
      ? (path: readonly (string | number)[], part: Record<string, unknown> | unknown[]): boolean => {
          if (path[0] !== 'result' || (at === 2 && path[1] !== 2) || path.length > at + 1) return false;
          if (Array.isArray(part)) return false;
          const updates =
            path.length === at + 1 ? { [path[at] as string]: part } : path.length === at ? part : undefined;
          if (updates === undefined) return false;
          if (method === 'monitor') this.#store.applyUpdate1(updates, out);
          else this.#store.applyUpdate2(updates, out);
          return true;
        }
      : undefined;
    // Applies a monitor reply. A large snapshot is applied in steps with the event loop running in between
    // (runSteps): the returned promise makes the connection hold every later message (updates included)
    // until the snapshot is in, and `ready`, the events and the stats come only once it is complete.
    const done = (
      full: boolean,
      resumed: boolean,
      apply: (out: RowChange[]) => Generator<void, void, void>,
      after?: () => void,
    ): Promise<void> | undefined => {
      const finish = () => {
        this.stats.anomalies += this.#store.stats.anomalies - before;
        this.#method = method;
        if (full) this.stats.fullSnapshots++;
        if (resumed) this.stats.resumes++;
        after?.();
        this.#emit(out);
        if (!this.#synced) {
          this.#synced = true;
          this.#resolveReady();
        }
        if (this.#ee.listenerCount('sync') > 0)
          this.#ee.emit('sync', { method, resumed, changes: out.length });
      };
      const pending = runSteps(apply(out));
      if (pending === undefined) {
        finish();
        return undefined;
      }
      return pending.then(finish);
    };
    const snapshot2 = (u: unknown) => (out: RowChange[]) =>
      first ? this.#store.applyUpdate2Steps(u, out) : this.#store.replaceAllSteps(u, 2, out);
    switch (method) {
      case 'monitor_cond_since':
        // ovsdb-server wants a string: the all-zero uuid asks for everything (ovsdb-server.7).
        return client.monitorCondSince(
          db,
          id,
          requests as MonitorCondRequests,
          this.#lastTxnId ?? ZERO_UUID,
          {
            ...(onSlice ? { onSlice } : {}),
            onResult: (r) => {
              const [found, txnId, updates] = r as MonitorCondSinceResult;
              const resumed = found === true && !first;
              return done(
                !resumed,
                resumed,
                resumed ? (out) => this.#store.applyUpdate2Steps(updates, out) : snapshot2(updates),
                () => {
                  this.#lastTxnId = txnId;
                },
              );
            },
          },
        );
      case 'monitor_cond':
        return client.monitorCond(db, id, requests as MonitorCondRequests, {
          ...(onSlice ? { onSlice } : {}),
          onResult: (r) => done(true, false, snapshot2(r)),
        });
      case 'monitor':
        return client.monitor(db, id, requests as MonitorRequests, {
          ...(onSlice ? { onSlice } : {}),
          onResult: (r) =>
            done(true, false, (out) =>
              first ? applyUpdate1Steps(this.#store, r, out) : this.#store.replaceAllSteps(r, 1, out),
            ),
        });
    }
  }

  /** monitor_canceled: the schema changed (online conversion). Fetch it, rebuild, full resync with diff. */
  #onSchemaChange(_client: OvsdbClient): void {
    this.#resync(true);
  }
}

/** Between two steps of a snapshot's application, the event loop gets a turn at least this often (ms). */
const APPLY_SLICE_MS = 5;

/**
 * Runs steps until they are done. Returns undefined when they finished within one slice (small
 * snapshots stay synchronous), else a promise that runs the rest in slices of APPLY_SLICE_MS.
 */
function runSteps(steps: Generator<void, void, void>): Promise<void> | undefined {
  const slice = (): boolean => {
    const t0 = performance.now();
    while (!steps.next().done) if (performance.now() - t0 >= APPLY_SLICE_MS) return false;
    return true;
  };
  if (slice()) return undefined;
  return new Promise<void>((resolve, reject) => {
    const next = () => {
      try {
        if (slice()) resolve();
        else setImmediate(next);
      } catch (err) {
        reject(err);
      }
    };
    setImmediate(next);
  });
}

// biome-ignore lint/correctness/useYield: RFC 7047 monitor (old servers) is applied in one step
function* applyUpdate1Steps(store: RowStore, r: unknown, out: RowChange[]): Generator<void, void, void> {
  store.applyUpdate1(r, out);
}

function sameSchema(a: DatabaseSchema, b: DatabaseSchema): boolean {
  if (a.name !== b.name || a.version !== b.version || a.cksum !== b.cksum) return false;
  // Member order may differ between get_schema answers (a restarted clustered server): compare canonically.
  return canonical(a.json) === canonical(b.json);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => k !== 'doc')
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  if (typeof v === 'bigint') return String(v); // a 64-bit bound read exactly (framer.ts parseExact)
  return JSON.stringify(v) ?? 'null';
}

const EMPTY_TABLE = new TableStore(
  parseSchema({ name: 'Empty', version: '0.0.0', tables: { Empty: { columns: {} } } }).tables.get(
    'Empty',
  ) as never,
  [],
);
