// The public surface of @ovs-container-network/ovn. Each block names what is public; nothing else is
// importable. Blocks: errors, builders (typed NB operations on a Transaction), then the runtime
// (propagation waits, chassis setup, show) appended at the end.

export const VERSION = '0.1.0';

// --- errors ---
export {
  OvnAbortError,
  OvnConflictError,
  OvnError,
  type OvnErrorCode,
  OvnInvalidArgumentError,
  OvnNotFoundError,
  OvnTimeoutError,
  OvnTransactionError,
} from './errors.js';

// --- builders ---

export {
  CHASSIS_TABLES,
  type ChassisConfig,
  type ChassisRows,
  chassisExternalIds,
  configureChassis,
  type EncapType,
  type IntegrationBridgeOptions,
  OvnChassisDb,
} from './chassis.js';
// --- runtime (propagation, chassis, show) ---
export {
  DEFAULT_SB_TABLES,
  type NbReplica,
  type NbRows,
  OvnClient,
  type OvnClientOptions,
  type OvnTransactOptions,
  type SbReplica,
  type SbRows,
  type TableSelection,
} from './client.js';
export {
  awaitReplica,
  bumpNbCfg,
  type CfgObserved,
  DEFAULT_WAIT_TIMEOUT_MS,
  type InstalledObserved,
  nbCfgOf,
  type Observed,
  type PortUpObserved,
  type PropagationLevel,
  type WaitOptions,
  waitForCfg,
  waitForOvnInstalled,
  waitForPortUp,
} from './propagation.js';
export { ovsdbString, renderNbShow, renderSbShow } from './show.js';
