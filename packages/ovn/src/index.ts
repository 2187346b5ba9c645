// The public surface of @ovs-container-network/ovn. Each block names what is public; nothing else is
// importable. Blocks: errors, builders (typed NB operations on a Transaction), then the runtime
// (propagation waits, chassis setup, show) appended at the end.

export const VERSION = '0.1.0';

// --- builders ---
export {
  checkIp,
  checkIpPort,
  checkMac,
  checkPrefix,
  type IpAddress,
  type IpFamily,
  type IpPort,
  type IpPrefix,
  networkOf,
  type PrefixRules,
  parseIp,
  parsePrefix,
} from './address.js';
export type { HealthCheckSpec, LoadBalancerSpec } from './builders/lb.js';
export { LB_PROTOCOLS, LB_SELECTION_FIELDS, lbVips } from './builders/lb.js';
export type {
  HaChassisGroupSpec,
  HaChassisSpec,
  MeterBandSpec,
  MeterSpec,
  QosSpec,
} from './builders/qos.js';
export {
  type GatewayChassisEntry,
  type GatewayChassisSpec,
  type LogicalRouterPortSpec,
  type LogicalRouterSpec,
  MAX_PRIORITY,
  type NatSpec,
  type NatType,
  type RouterPolicySpec,
  type StaticRouteSpec,
} from './builders/router.js';
export {
  ACL_ACTIONS,
  type AclParent,
  type AclSpec,
  type AddressSetSpec,
  DIRECTIONS,
  type PortGroupSpec,
  SEVERITIES,
} from './builders/security.js';
export type { DhcpOptionsSpec, DnsSpec } from './builders/services.js';
export {
  interfaceExternalIds,
  type LogicalSwitchPortSpec,
  type LogicalSwitchSpec,
  LSP_TYPES,
  type LspAddress,
  type LspType,
  lspAddress,
  type PortSecurityEntry,
  portSecurityEntry,
} from './builders/switch.js';
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
  CHASSIS_CFG_SB_TABLES,
  DEFAULT_SB_TABLES,
  type NbReplica,
  OvnClient,
  type OvnClientOptions,
  type OvnTransactOptions,
  type SbReplica,
  type SbRows,
  type TableSelection,
} from './client.js';
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
export { NbPlan } from './nb.js';
export { type Entry as NbEntry, NbPlanCore, type PlanStats, type Ref, sameValue } from './plan.js';
export {
  awaitReplica,
  bumpNbCfg,
  type CfgObserved,
  type ChassisCfgObserved,
  chassisBehind,
  DEFAULT_WAIT_TIMEOUT_MS,
  describeBehind,
  type InstalledObserved,
  nbCfgOf,
  type Observed,
  type PortUpObserved,
  type PropagationLevel,
  type WaitOptions,
  waitForCfg,
  waitForChassisCfg,
  waitForOvnInstalled,
  waitForPortUp,
} from './propagation.js';
export { ovsdbString, renderNbShow, renderSbShow } from './show.js';
export { isRaceLost, type NbTransactOptions, type NbTransactResult, nbTransact } from './transact.js';
export { checkName, MAX_NAME_LENGTH, type MapEdit } from './validate.js';
export {
  BY_NAME,
  NB_BUILDER_TABLES,
  type NbBuilderTable,
  type NbRow,
  type NbRows,
  NbSnapshot,
  type NbTableName,
  type NbView,
  nbReplicaTables,
  replicaView,
} from './view.js';
