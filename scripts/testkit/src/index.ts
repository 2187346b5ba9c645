// Test helpers shared by every package's tests. They may spawn processes: they check results with the
// real tools (ip, ovs-vsctl, docker). Runtime code in packages/*/src never does.

export { type Cluster, type ClusterMember, type ClusterOptions, startCluster } from './cluster.js';
export { BUSYBOX_IMAGE, docker, ensureDocker } from './docker.js';
export {
  PLUGIN_BIN,
  type SimDockerd,
  type SimDockerdOptions,
  type SimPlugin,
  type SimPluginOptions,
  startDockerd,
  startPlugin,
} from './dockerd.js';
export { ipJson, type RunOptions, type RunResult, run, sleep, waitFor } from './exec.js';
export { TEST_PREFIX, uniqueName } from './names.js';
export { canPing, createNetns, deleteNetns, nsExec, txOffloadOff } from './netns.js';
export {
  type OvnChassis,
  type OvnDb,
  type OvnDbModel,
  type OvnEnv,
  type OvnEnvOptions,
  type OvnWorkload,
  type OvnWorkloadOptions,
  startOvnEnv,
} from './ovn.js';
export {
  freePort,
  type OvsdbServer,
  type OvsdbServerOptions,
  type OvsSandbox,
  ovsSandbox,
  startOvsdbServer,
} from './ovs.js';
export {
  DOCKER,
  OVN_NB_SCHEMA,
  OVN_SB_SCHEMA,
  REPO_ROOT,
  SCRIPTS,
  SYSTEM_PYTHON,
  VSWITCH_SCHEMA,
} from './paths.js';
export { claimTestPrefix, releaseTestPrefix } from './prefix.js';
export { tcpTransfer } from './tcp.js';
export { type CapturedFrame, capture, measureTcp, type TcpRate } from './traffic.js';
