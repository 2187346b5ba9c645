// The embeddable core of the Docker driver: no Fastify, no HTTP. Orchestrators import
// '@ovs-container-network/docker-plugin/core'.

export * from '../orchestrator/index.js';
export {
  DEFAULT_DRIVER_NAME,
  DEFAULT_RULE_PRIORITY,
  type DriverOptions,
  Mutex,
  OvsNetworkDriver,
} from './driver.js';
export * from './errors.js';
export {
  GATEWAY_ADDRESS_TYPE,
  GLOBAL_ADDRESS_SPACE,
  Ipam,
  type IpamSnapshot,
  LOCAL_ADDRESS_SPACE,
  type PoolRecord,
} from './ipam.js';
export { OvsIpamDriver } from './ipam-driver.js';
export type {
  KernelHandle,
  KernelLink,
  KernelOpener,
  KernelRoute,
  KernelRule,
  KernelRuleSpec,
  KernelVethOptions,
  NetnsRef,
} from './kernel.js';
export {
  addMirror,
  listMirrors,
  MIRROR_EXT,
  type MirrorFilter,
  type MirrorInfo,
  type MirrorSource,
  type MirrorSpec,
  removeMirrors,
  syncMirrors,
} from './mirror.js';
export {
  DEFAULT_PREFIX,
  decodeOptionMac,
  gatewayPortName,
  generateMac,
  isValidIfName,
  normalizeMac,
  type VethNames,
  vethNames,
} from './names.js';
export {
  type DatapathType,
  DEFAULT_BRIDGE,
  DEFAULT_MTU,
  type GatewayMode,
  type NetworkOptions,
  parseNetworkOptions,
} from './options.js';
export {
  type BridgeRow,
  type InterfaceRow,
  type OvsBackend,
  type OvsOp,
  type OvsTransactor,
  type OvsView,
  type PortRow,
  transactionFailure,
} from './ovs.js';
export { OvsdbBackend, type OvsdbBackendOptions } from './ovsdb-backend.js';
export {
  applyPortQos,
  defaultBurst,
  parseBurst,
  parseRate,
  QOS_EXT,
  type RateLimit,
  type RateLimits,
  type RateLimitsSpec,
  releasePortQos,
  sweepOrphanQos,
} from './qos.js';
export { EXT, type NetworkRecord, type PortKind, type SubnetRecord } from './records.js';
export type * from './types.js';
export { silentLogger } from './types.js';
export { type Attached, type AttachSpec, type AttachTarget, Wiring, type WiringOptions } from './wiring.js';
