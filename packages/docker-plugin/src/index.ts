// @ovs-container-network/docker-plugin: the Docker network + IPAM driver on Open vSwitch. The top layer:
// the HTTP app (Fastify), its server and startPlugin. The core (no Fastify) is also exported on its own as
// './core', the Orchestrator as './orchestrator'; both are re-exported here, by name.
export {
  type Attached,
  type AttachSpec,
  type AttachTarget,
  ConflictError,
  DEFAULT_DRIVER_NAME,
  type DriverOptions,
  describeError,
  InvalidOptionError,
  InvalidRequestError,
  IpamError,
  type KernelHandle,
  type Logger,
  type NetworkRecord,
  NotFoundError,
  OvsdbBackend,
  type OvsdbBackendOptions,
  OvsdbFailure,
  OvsIpamDriver,
  OvsNetworkDriver,
  PluginError,
  type PluginErrorCode,
  parseNetworkOptions,
  Wiring,
  WiringError,
} from './core/index.js';
export { type BuildOptions, build, PLUGIN_CONTENT_TYPE } from './http/app.js';
export { PluginMetrics } from './http/metrics.js';
export { defaultSocketPath, listenUnix, PLUGIN_DIR } from './http/server.js';
export {
  type Attachment,
  type AttachRequest,
  Orchestrator,
  type OrchestratorOptions,
} from './orchestrator/index.js';
export { type PluginOptions, type RunningPlugin, startPlugin } from './plugin.js';
export const VERSION = '0.1.0';
