export const VERSION = '0.1.0';
export { type CallOptions, type ClientOptions, connect, OvsdbClient, ZERO_TXN_ID } from './client.js';
export { type GenerateOptions, generateModule } from './codegen/generate.js';
export {
  Connection,
  type ConnectionEvents,
  type ConnectionOptions,
  type ConnectionStatus,
  type RequestOptions,
  TypedEventEmitter,
  validateConnectionOptions,
} from './connection.js';
export {
  type AnyColumn,
  type AnyColumns,
  type ArithmeticMutator,
  type ColumnSpec,
  type Columns,
  type ColumnsOf,
  type Comparison,
  type Condition,
  type ConditionFunction,
  Database,
  type DatabaseModel,
  database,
  decodeTableRow,
  defineDatabase,
  defineTable,
  type Insert,
  type MapOf,
  type MutableColumn,
  type Mutation,
  type Mutator,
  modelFromSchema,
  type NameOf,
  type Optional,
  type ReadAtom,
  type ReadValue,
  type RefTo,
  type ResultOf,
  type Row,
  type RowOf,
  type Scalar,
  type SetOf,
  type TableModel,
  type Update,
  type WriteAtom,
  type WriteValue,
} from './database.js';
export * from './errors.js';
export { DEFAULT_MAX_MESSAGE_BYTES, type FramerOptions, JsonFramer } from './framer.js';
export {
  encodeWireMessage,
  libraryToWire,
  parseWireMessage,
  toWireError,
  type WireError,
  type WireId,
  type WireMessage,
  type WireNotification,
  type WireReply,
  type WireRequest,
  wireToLibraryRequest,
  wireToLibraryResponse,
} from './jsonrpc.js';
export {
  abort,
  assert,
  comment,
  commit,
  decodeResult,
  del,
  encodeMutations,
  encodeWhere,
  type InsertOptions,
  insert,
  mutate,
  type Operation,
  type OperationKind,
  ops,
  select,
  update,
  type WaitSpec,
  wait,
} from './operations.js';
export type * from './protocol.js';
export { SERVER_NOTIFICATIONS } from './protocol.js';
export { ConflictError, type OptimisticOptions, optimistic, verify } from './replica/concurrency.js';
export {
  type Condition as ReplicaCondition,
  type ModelRows,
  type MonitorMethod,
  Replica,
  type ReplicaChange,
  ReplicaError,
  type ReplicaEvents,
  type ReplicaOptions,
  type ReplicaStats,
  ReplicaTable,
  type ReplicaTableOptions,
  type RowOf as ReplicaRowOf,
  type SyncInfo,
  type TableMap,
} from './replica/replica.js';
export type { IndexKey, Row as ReplicaRow, RowChange } from './replica/store.js';
export {
  ATOMIC_TYPES,
  type Atom,
  type AtomicType,
  type BaseType,
  type ColumnKind,
  type ColumnSchema,
  type ColumnType,
  canonicalSchemaJson,
  columnKind,
  type DatabaseSchema,
  describeBase,
  describeType,
  getTable,
  parseSchema,
  rootTables,
  type TableSchema,
} from './schema.js';
export { Backoff, type BackoffOptions, RemoteRotation, shuffle } from './session/backoff.js';
export { lock, SessionLock } from './session/lock.js';
export type { DatabaseModel as ServerDatabaseModel, ServerDatabaseRow } from './session/server-db.js';
export {
  type ConnectHook,
  NotUsableError,
  OvsdbSession,
  type SessionOptions,
  type SessionState,
  type SessionStatus,
} from './session/session.js';
export {
  decodeResults,
  Handle,
  InsertHandle,
  Transaction,
  TransactionResult,
  type TransactOptions,
  type Transactor,
} from './transaction.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  type Endpoint,
  openTransport,
  parseEndpoint,
  type TlsOptions,
  type TransportOptions,
} from './transport.js';
export {
  isRowRef,
  isUuid,
  namedRef,
  type RowRef,
  randomRowUuid,
  type Uuid,
  type UuidLike,
  uuid,
} from './uuid.js';
export { codePointLength, MAX_SAFE_OVSDB_INTEGER, type Place } from './validate.js';
export {
  type DecodeRowOptions,
  decodeAtom,
  decodeDatum,
  decodeElements,
  decodePairs,
  decodeRow,
  defaultValue,
  type EncodeOptions,
  encodeDatum,
  encodeRow,
  mapUsesRecord,
  pairsToMap,
  requiredColumns,
} from './values.js';
