// The core's OVSDB layer: typed rows and lookups over the replica (model.ts, view.ts), the backend that
// keeps the replica (backend.ts), and the domain builders that add one change to a typed Transaction
// (ports.ts, networks.ts). See /packages/docker-plugin/README.md "The core".
export { DEFAULT_UNREACHABLE_TIMEOUT_MS, OvsdbBackend, type OvsdbBackendOptions } from './backend.js';
export {
  type BridgeRow,
  type BridgeUuid,
  type InterfaceRow,
  type InterfaceUuid,
  MONITORED,
  OVS,
  type OvsRows,
  type OvsTransaction,
  type PortRow,
  type PortUuid,
  type RootRow,
} from './model.js';
export {
  deleteNetworkRecord,
  findNetworkRecord,
  networkRecordEntry,
  networkRecords,
  putNetworkRecord,
  recordAt,
  recordKeys,
  verifyNetworkRecords,
} from './networks.js';
export {
  addBridge,
  addPort,
  insertPort,
  type NewBridge,
  type NewInterface,
  type NewPort,
  putPorts,
  removeBridge,
  removePorts,
  setPortVlan,
  trunkVlan,
} from './ports.js';
export type { OptimisticOptions, OvsBackend, OvsView } from './view.js';
