// The orchestrator API: attach network namespaces, processes and Docker containers to OVS bridges in-process
// (what `ovs-docker` and hand-written orchestrator helpers do, atomically and without spawning anything).

export {
  type ContainerInfo,
  DEFAULT_DOCKER_SOCKET,
  DockerEngine,
  type DockerEngineOptions,
} from './docker-engine.js';
export {
  AlreadyAttachedError,
  AttachFailedError,
  DockerApiError,
  NotAttachedError,
  OrchestratorArgumentError,
  TargetGoneError,
} from './errors.js';
export type { AttachStep, OrchestratorOptions } from './orchestrator.js';
export {
  CONTAINER_ID_KEY,
  CONTAINER_IFACE_KEY,
  Orchestrator,
  OWNER_KEY as ORCHESTRATOR_OWNER_KEY,
  OWNER_VALUE as ORCHESTRATOR_OWNER_VALUE,
} from './orchestrator.js';
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
