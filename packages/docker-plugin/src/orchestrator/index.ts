// The orchestrator API ('@ovs-container-network/docker-plugin/orchestrator'): attach network namespaces,
// processes and Docker containers to OVS bridges in-process (what `ovs-docker` and hand-written orchestrator
// helpers do, atomically and without spawning anything). Built on the core; the core never imports it.

export {
  AlreadyAttachedError,
  AttachFailedError,
  DockerApiError,
  NotAttachedError,
  OrchestratorArgumentError,
  TargetGoneError,
} from '../core/errors.js';
export {
  type ContainerInfo,
  DEFAULT_DOCKER_SOCKET,
  DockerEngine,
  type DockerEngineOptions,
} from './docker-engine.js';
export type { AttachStep, OrchestratorOptions } from './orchestrator.js';
export {
  CONTAINER_ID_KEY,
  CONTAINER_IFACE_KEY,
  Orchestrator,
  OWNER_KEY as ORCHESTRATOR_OWNER_KEY,
  OWNER_VALUE as ORCHESTRATOR_OWNER_VALUE,
} from './orchestrator.js';
// OVN mode: attach to a logical switch of the plugin's OVN networks.
export { type OvnAttachment, type OvnAttachRequest, OvnOrchestrator } from './ovn.js';
export type {
  Attachment,
  AttachRequest,
  AttachRoute,
  ContainerRef,
  InterfaceRef,
  ListFilter,
  MirrorRequest,
  MirrorSourceRef,
  TargetRef,
  VlanSetting,
} from './types.js';
