export const VERSION = '0.1.0';
export {
  ATOMIC_TYPES,
  type Atom,
  type AtomicType,
  type BaseType,
  type ColumnKind,
  type ColumnSchema,
  type ColumnType,
  columnKind,
  type DatabaseSchema,
  describeBase,
  describeType,
  getTable,
  parseSchema,
  rootTables,
  type TableSchema,
} from './schema.js';
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
} from './values.js';
