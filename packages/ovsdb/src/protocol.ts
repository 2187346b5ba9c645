// Typed params and results of every OVSDB JSON-RPC method, in wire form (RFC 7047 §4.1 and the Open vSwitch
// extensions in ovsdb-server.7 "RPC Methods"). Values inside rows stay in wire notation (`["set",…]`,
// `["uuid",…]`); the schema-aware notation codec converts them.

/** Any JSON value. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [k: string]: JsonValue };

/** A row in wire notation: column name → value (RFC 7047 §5.1). */
export type WireRow = Record<string, unknown>;

/** A `.ovsschema` / get_schema result as sent (RFC 7047 §3.2); parsed by the schema module. */
export interface WireDatabaseSchema {
  name: string;
  version: string;
  cksum?: string;
  tables: Record<string, unknown>;
  [k: string]: unknown;
}

/** A condition `[column, function, value]` (RFC 7047 §5.1). */
export type WireCondition = readonly [column: string, fn: string, value: unknown];

/** The id a client gives a monitor; any JSON value (RFC 7047 §4.1.5 "json-value"). */
export type MonitorId = JsonValue;

/** RFC 7047 §4.1.5 <monitor-select>. */
export interface MonitorSelect {
  initial?: boolean;
  insert?: boolean;
  delete?: boolean;
  modify?: boolean;
}

/** RFC 7047 §4.1.5 <monitor-request>. */
export interface MonitorRequest {
  columns?: readonly string[];
  select?: MonitorSelect;
}

/** ovsdb-server.7 "monitor_cond": a monitor request with a condition. */
export interface MonitorCondRequest extends MonitorRequest {
  /** Conditions ANDed; `true`/`false` literals are allowed as conditions. Omitted: every row. */
  where?: readonly (WireCondition | boolean)[];
}

/** ovsdb-server.7 "monitor_cond_change": new conditions (and optionally columns) per table. */
export interface MonitorCondChangeRequest {
  columns?: readonly string[];
  where?: readonly (WireCondition | boolean)[];
}

export type MonitorRequests = Record<string, MonitorRequest | readonly MonitorRequest[]>;
export type MonitorCondRequests = Record<string, MonitorCondRequest | readonly MonitorCondRequest[]>;
export type MonitorCondChangeRequests = Record<string, readonly MonitorCondChangeRequest[]>;

/** RFC 7047 §4.1.6 <row-update>: `old` and/or `new`. */
export interface RowUpdate {
  old?: WireRow;
  new?: WireRow;
}
/** RFC 7047 §4.1.6 <table-updates>: table → row uuid → row-update. */
export type TableUpdates = Record<string, Record<string, RowUpdate>>;

/**
 * ovsdb-server.7 <row-update2>: exactly one member. `initial`/`insert` omit columns at their default;
 * `modify` carries for sets and maps the elements to toggle, for other columns the new value; `delete` is null.
 */
export type RowUpdate2 = { initial: WireRow } | { insert: WireRow } | { modify: WireRow } | { delete: null };
/** ovsdb-server.7 <table-updates2>. */
export type TableUpdates2 = Record<string, Record<string, RowUpdate2>>;

/** ovsdb-server.7 "monitor_cond_since" reply: `[found, last-txn-id, updates2]`. */
export type MonitorCondSinceResult = [found: boolean, lastTxnId: string, updates: TableUpdates2];

/** RFC 7047 §4.1.8 / §4.1.9 lock and steal reply. */
export interface LockResult {
  locked: boolean;
}

/** Methods a client calls: name → [params, result]. */
export interface ClientMethods {
  /** RFC 7047 §4.1.1. */
  list_dbs: [params: [], result: string[]];
  /** RFC 7047 §4.1.2. */
  get_schema: [params: [db: string], result: WireDatabaseSchema];
  /** RFC 7047 §4.1.3: `[db, op…]` → one result per operation (+ an extra commit-time error). */
  transact: [params: [db: string, ...operations: unknown[]], result: unknown[]];
  /** RFC 7047 §4.1.5. */
  monitor: [params: [db: string, monitorId: MonitorId, requests: MonitorRequests], result: TableUpdates];
  /** ovsdb-server.7 "monitor_cond". */
  monitor_cond: [
    params: [db: string, monitorId: MonitorId, requests: MonitorCondRequests],
    result: TableUpdates2,
  ];
  /** ovsdb-server.7 "monitor_cond_change". */
  monitor_cond_change: [
    params: [monitorId: MonitorId, newMonitorId: MonitorId, requests: MonitorCondChangeRequests],
    result: unknown,
  ];
  /** ovsdb-server.7 "monitor_cond_since": last-txn-id is a uuid (all zeros: send everything; null is refused). */
  monitor_cond_since: [
    params: [db: string, monitorId: MonitorId, requests: MonitorCondRequests, lastTxnId: string],
    result: MonitorCondSinceResult,
  ];
  /** RFC 7047 §4.1.7. */
  monitor_cancel: [params: [monitorId: MonitorId], result: unknown];
  /** RFC 7047 §4.1.8. */
  lock: [params: [lockId: string], result: LockResult];
  /** RFC 7047 §4.1.9. */
  steal: [params: [lockId: string], result: LockResult];
  /** RFC 7047 §4.1.10. */
  unlock: [params: [lockId: string], result: unknown];
  /** RFC 7047 §4.1.11: the reply's result is the request's params. */
  echo: [params: unknown[], result: unknown[]];
  /** ovsdb-server.7 "get_server_id": the server's uuid (changes when it restarts). */
  get_server_id: [params: [], result: string];
  /** ovsdb-server.7 "set_db_change_aware": after it, schema changes cancel monitors (monitor_canceled). */
  set_db_change_aware: [params: [aware: boolean], result: unknown];
  /** ovsdb-server.7 "convert": online schema conversion. */
  convert: [params: [db: string, schema: WireDatabaseSchema], result: unknown];
}

/** Notifications a client sends (id null): RFC 7047 §4.1.4 "cancel" a pending transact by its id. */
export interface ClientNotifications {
  cancel: [requestId: string | number];
}

/** Notifications the server sends: name → params. */
export interface ServerNotifications {
  /** RFC 7047 §4.1.6. */
  update: [monitorId: MonitorId, updates: TableUpdates];
  /** ovsdb-server.7 "update2" (monitors made with monitor_cond). */
  update2: [monitorId: MonitorId, updates: TableUpdates2];
  /** ovsdb-server.7 "update3" (monitors made with monitor_cond_since). */
  update3: [monitorId: MonitorId, lastTxnId: string, updates: TableUpdates2];
  /** RFC 7047 §4.1.8: a queued lock was granted. */
  locked: [lockId: string];
  /** RFC 7047 §4.1.9: another client stole our lock. */
  stolen: [lockId: string];
  /** ovsdb-server.7: a db-change-aware session's monitor was canceled (schema change, db removed). */
  monitor_canceled: [monitorId: MonitorId];
}

export type ClientMethod = keyof ClientMethods;
export type ParamsOf<M extends ClientMethod> = ClientMethods[M][0];
export type ResultOf<M extends ClientMethod> = ClientMethods[M][1];
export type ServerNotification = keyof ServerNotifications;
export const SERVER_NOTIFICATIONS: readonly ServerNotification[] = [
  'update',
  'update2',
  'update3',
  'locked',
  'stolen',
  'monitor_canceled',
];
