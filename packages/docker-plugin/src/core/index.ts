// The embeddable core of the Docker driver: no Fastify, no HTTP. Orchestrators import
// '@ovs-container-network/docker-plugin/core'.
export * from './errors.js';
export {
  GATEWAY_ADDRESS_TYPE,
  GLOBAL_ADDRESS_SPACE,
  Ipam,
  type IpamSnapshot,
  LOCAL_ADDRESS_SPACE,
  type PoolRecord,
} from './ipam.js';
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
export type * from './types.js';
export { silentLogger } from './types.js';
