// Typed OVSDB methods over one Connection (RFC 7047 §4.1 and ovsdb-server.7 "RPC Methods"). Wire values
// in and out: the schema, notation and transaction modules sit on top of these.

import {
  Connection,
  type ConnectionEvents,
  type ConnectionOptions,
  type ConnectionStatus,
  decodesReplies,
  type RequestOptions,
} from './connection.js';
import { InvalidArgumentError } from './errors.js';
import type {
  ClientMethod,
  LockResult,
  MonitorCondChangeRequests,
  MonitorCondRequests,
  MonitorCondSinceResult,
  MonitorId,
  MonitorRequests,
  ParamsOf,
  ResultOf,
  TableUpdates,
  TableUpdates2,
  WireDatabaseSchema,
} from './protocol.js';

/** The last-txn-id that matches no transaction: monitor_cond_since then sends every row. */
export const ZERO_TXN_ID = '00000000-0000-0000-0000-000000000000';

export type ClientOptions = ConnectionOptions;
/** Per-call options: timeout and cancellation (and the low-level hooks of RequestOptions). */
export type CallOptions = RequestOptions;

/**
 * An OVSDB client: `const c = await OvsdbClient.connect('unix:/run/openvswitch/db.sock')`.
 * Every method sends one request; many may be in flight at once (pipelining).
 * Server notifications are events: `c.on('update2', (monitorId, updates) => …)`.
 */
export class OvsdbClient {
  readonly connection: Connection;
  /** transact() hands RequestOptions.decoder to the connection (see Transaction.execute). */
  readonly [decodesReplies] = true as const;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  /** Connects to `unix:PATH`, `tcp:HOST:PORT` or `ssl:HOST:PORT`. Options are validated first. */
  static async connect(endpoint: string, opts: ClientOptions = {}): Promise<OvsdbClient> {
    return new OvsdbClient(await Connection.open(endpoint, opts));
  }

  get endpoint(): string {
    return this.connection.endpoint;
  }
  get status(): ConnectionStatus {
    return this.connection.status;
  }
  get closed(): Promise<Error | undefined> {
    return this.connection.closed;
  }
  close(reason?: Error): Promise<void> {
    return this.connection.close(reason);
  }

  on<K extends keyof ConnectionEvents & string>(event: K, listener: ConnectionEvents[K]): this {
    this.connection.on(event, listener);
    return this;
  }
  once<K extends keyof ConnectionEvents & string>(event: K, listener: ConnectionEvents[K]): this {
    this.connection.once(event, listener);
    return this;
  }
  off<K extends keyof ConnectionEvents & string>(event: K, listener: ConnectionEvents[K]): this {
    this.connection.off(event, listener);
    return this;
  }

  /** Any method, typed when it is one of ClientMethods. */
  request<M extends ClientMethod>(method: M, params: ParamsOf<M>, opts?: CallOptions): Promise<ResultOf<M>>;
  request<T = unknown>(method: string, params: readonly unknown[], opts?: CallOptions): Promise<T>;
  request(method: string, params: readonly unknown[], opts: CallOptions = {}): Promise<unknown> {
    return this.connection.request(method, params, opts);
  }

  /** Sends a notification (id null). */
  notify(method: string, params: readonly unknown[]): void {
    this.connection.notify(method, params);
  }

  /** RFC 7047 §4.1.1: the names of the server's databases. */
  listDbs(opts?: CallOptions): Promise<string[]> {
    return this.connection.request('list_dbs', [], opts);
  }

  /** RFC 7047 §4.1.2: the database schema as JSON (parse it with the schema module). */
  getSchema(db: string, opts?: CallOptions): Promise<WireDatabaseSchema> {
    const bad = checkString('getSchema', 'db', db);
    if (bad) return Promise.reject(bad);
    return this.connection.request('get_schema', [db], opts);
  }

  /**
   * RFC 7047 §4.1.3, raw: wire operations in, the wire result array out (one element per operation, plus
   * an extra element for a commit-time error). Rejects with RpcError only for a JSON-RPC level error
   * (e.g. unknown database); per-operation errors are in the array. If the connection drops, or the call
   * times out or is aborted after the request was written, it rejects with MaybeCommittedError.
   */
  transact(db: string, operations: readonly unknown[], opts?: CallOptions): Promise<unknown[]> {
    const bad = checkString('transact', 'db', db);
    if (bad) return Promise.reject(bad);
    if (!Array.isArray(operations)) {
      return Promise.reject(
        new InvalidArgumentError(
          `transact: operations: ${typeof operations} is not allowed; expected an array`,
        ),
      );
    }
    // A plain copy loop (spreading goes through the iterator protocol, slow while the code is cold), by push:
    // a packed array takes JSON.stringify's fast path, a holey `new Array(n)` its slow one.
    const params: unknown[] = [db];
    for (let i = 0; i < operations.length; i++) params.push(operations[i]);
    return this.connection.request('transact', params, opts);
  }

  /**
   * RFC 7047 §4.1.4: asks the server to complete or cancel the pending transact with this request id (a
   * notification: no reply; the transact's own reply tells what happened — error "canceled" if it did not
   * commit). Take the id from CallOptions.onSent.
   */
  cancel(requestId: number | string): void {
    this.connection.notify('cancel', [requestId]);
  }

  /** RFC 7047 §4.1.5: the initial rows; later changes arrive as `update` events. */
  monitor(
    db: string,
    monitorId: MonitorId,
    requests: MonitorRequests,
    opts?: CallOptions,
  ): Promise<TableUpdates> {
    const bad = checkString('monitor', 'db', db);
    if (bad) return Promise.reject(bad);
    return this.connection.request('monitor', [db, monitorId, requests], opts);
  }

  /** ovsdb-server.7 "monitor_cond": conditional monitor; changes arrive as `update2` events. */
  monitorCond(
    db: string,
    monitorId: MonitorId,
    requests: MonitorCondRequests,
    opts?: CallOptions,
  ): Promise<TableUpdates2> {
    const bad = checkString('monitorCond', 'db', db);
    if (bad) return Promise.reject(bad);
    return this.connection.request('monitor_cond', [db, monitorId, requests], opts);
  }

  /** ovsdb-server.7 "monitor_cond_change": replaces the conditions of a monitor_cond monitor. */
  monitorCondChange(
    monitorId: MonitorId,
    newMonitorId: MonitorId,
    requests: MonitorCondChangeRequests,
    opts?: CallOptions,
  ): Promise<unknown> {
    return this.connection.request('monitor_cond_change', [monitorId, newMonitorId, requests], opts);
  }

  /**
   * ovsdb-server.7 "monitor_cond_since": `[found, lastTxnId, updates]`; with found=true, updates are only
   * the changes after `lastTxnId`. Changes arrive as `update3` events. Only clustered databases have
   * transaction ids; a standalone one always answers found=false. `null` sends the all-zero id.
   */
  monitorCondSince(
    db: string,
    monitorId: MonitorId,
    requests: MonitorCondRequests,
    lastTxnId: string | null,
    opts?: CallOptions,
  ): Promise<MonitorCondSinceResult> {
    const bad = checkString('monitorCondSince', 'db', db);
    if (bad) return Promise.reject(bad);
    // ovsdb-server.7: last-txn-id is a uuid; the all-zero uuid (what ovsdb-client sends) asks for everything.
    return this.connection.request(
      'monitor_cond_since',
      [db, monitorId, requests, lastTxnId ?? ZERO_TXN_ID],
      opts,
    );
  }

  /** RFC 7047 §4.1.7. */
  monitorCancel(monitorId: MonitorId, opts?: CallOptions): Promise<unknown> {
    return this.connection.request('monitor_cancel', [monitorId], opts);
  }

  /** RFC 7047 §4.1.8: `{locked: false}` means queued; a `locked` event follows when granted. */
  lock(lockId: string, opts?: CallOptions): Promise<LockResult> {
    const bad = checkString('lock', 'lockId', lockId);
    if (bad) return Promise.reject(bad);
    return this.connection.request('lock', [lockId], opts);
  }

  /** RFC 7047 §4.1.9: takes the lock; the previous owner gets a `stolen` event. */
  steal(lockId: string, opts?: CallOptions): Promise<LockResult> {
    const bad = checkString('steal', 'lockId', lockId);
    if (bad) return Promise.reject(bad);
    return this.connection.request('steal', [lockId], opts);
  }

  /** RFC 7047 §4.1.10. */
  unlock(lockId: string, opts?: CallOptions): Promise<unknown> {
    const bad = checkString('unlock', 'lockId', lockId);
    if (bad) return Promise.reject(bad);
    return this.connection.request('unlock', [lockId], opts);
  }

  /** RFC 7047 §4.1.11: resolves with the params it was given. */
  echo(params: readonly unknown[] = [], opts?: CallOptions): Promise<unknown[]> {
    return this.connection.request('echo', params, opts);
  }

  /** ovsdb-server.7 "get_server_id": the server's uuid. */
  getServerId(opts?: CallOptions): Promise<string> {
    return this.connection.request('get_server_id', [], opts);
  }

  /** ovsdb-server.7 "set_db_change_aware": monitors get `monitor_canceled` when the schema changes. */
  setDbChangeAware(aware = true, opts?: CallOptions): Promise<unknown> {
    if (typeof aware !== 'boolean') {
      return Promise.reject(
        new InvalidArgumentError(
          `setDbChangeAware: aware: ${JSON.stringify(aware)} is not allowed; expected a boolean`,
        ),
      );
    }
    return this.connection.request('set_db_change_aware', [aware], opts);
  }

  /** ovsdb-server.7 "convert": converts `db` to `schema` online. */
  convert(db: string, schema: WireDatabaseSchema, opts?: CallOptions): Promise<unknown> {
    const bad = checkString('convert', 'db', db);
    if (bad) return Promise.reject(bad);
    return this.connection.request('convert', [db, schema], opts);
  }
}

/** Shorthand for `OvsdbClient.connect`. */
export function connect(endpoint: string, opts?: ClientOptions): Promise<OvsdbClient> {
  return OvsdbClient.connect(endpoint, opts);
}

function checkString(method: string, field: string, v: unknown): InvalidArgumentError | undefined {
  if (typeof v !== 'string' || v.length === 0) {
    return new InvalidArgumentError(
      `${method}: ${field}: ${JSON.stringify(v)} is not allowed; expected a non-empty string`,
    );
  }
  return undefined;
}
