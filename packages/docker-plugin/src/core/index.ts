// The embeddable core of the Docker driver ('@ovs-container-network/docker-plugin/core'): no Fastify, no
// HTTP, and nothing of the layers above it (http/, orchestrator/, plugin.ts). Its public surface is this
// list; everything else in core/ is internal. The Orchestrator is its own export ('./orchestrator').

export type {
  CreateEndpointRequest,
  CreateEndpointResponse,
  CreateNetworkRequest,
  EndpointInterface,
  EndpointRef,
  IpamData,
  JoinRequest,
  JoinResponse,
  RequestAddressInput,
  RequestAddressResponse,
  RequestPoolInput,
  RequestPoolResponse,
  StaticRoute,
} from './api.js';
export {
  DEFAULT_DRIVER_NAME,
  DEFAULT_RULE_PRIORITY,
  type DriverOptions,
  Mutex,
  OvsNetworkDriver,
} from './driver.js';
export {
  AlreadyAttachedError,
  AttachFailedError,
  ConflictError,
  DockerApiError,
  describeError,
  InvalidOptionError,
  InvalidRequestError,
  IpamError,
  NetlinkFailure,
  NotAttachedError,
  NotFoundError,
  OrchestratorArgumentError,
  OvsdbFailure,
  ovsdbFailure,
  PluginError,
  type PluginErrorCode,
  ResentWithoutBodyError,
  show,
  TargetGoneError,
  WiringError,
} from './errors.js';
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
export * as ovs from './ovs/index.js';
export {
  type BridgeRow,
  type InterfaceRow,
  type OvsBackend,
  OvsdbBackend,
  type OvsdbBackendOptions,
  type OvsTransaction,
  type OvsView,
  type PortRow,
} from './ovs/index.js';
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
export {
  decodeNetwork,
  EXT,
  encodeNetwork,
  ipamKey,
  NET_KEY_PREFIX,
  type NetworkRecord,
  netKey,
  type PortKind,
  type SubnetRecord,
} from './records.js';
export {
  type DriverStats,
  type IpamDriverApi,
  type Logger,
  type NetworkDriverApi,
  silentLogger,
} from './types.js';
export { type Attached, type AttachSpec, type AttachTarget, Wiring, type WiringOptions } from './wiring.js';
