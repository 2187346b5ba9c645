// Public surface of @ovs-container-network/netlink: rtnetlink (links, veth pairs, addresses, routes, rules,
// link events) in any network namespace, named namespaces, TX checksum offload — without spawning `ip`.

export { type Attachment, type AttachOptions, attachVeth, detachVeth } from './attach.js';
export {
  errnoName,
  isErrno,
  type KernelErrorContext,
  NetlinkError,
  type NetlinkErrorCode,
  NetlinkInvalidArgumentError,
  NetlinkKernelError,
} from './errors.js';
export { LinkWatcher } from './events.js';
export { goneOrAnswered } from './gone.js';
export { type HandleOptions, NetlinkHandle, openHandle } from './handle.js';
export { type Cidr, type Family, formatIp, type IpBytes, parseCidr, parseIp } from './ip.js';
export { createNetns, deleteNetns, listNetns, NETNS_RUN_DIR, type NetnsRef } from './netns.js';
export { PacketSocket } from './packet.js';
export type { TokenBucketSpec } from './tc.js';
export type {
  Address,
  AddressOptions,
  Link,
  LinkChanges,
  LinkEvent,
  NetnsTarget,
  Route,
  RouteSpec,
  Rule,
  RuleSpec,
  VethOptions,
  VethPair,
  VethPeerOptions,
} from './types.js';
export {
  formatMac,
  IFNAME_MAX_BYTES,
  isIfindex,
  isValidIfname,
  MTU_MAX,
  MTU_MIN,
  macDefect,
  parseMac,
  validateIfname,
  validateNetnsName,
} from './validate.js';
export type { RouteType, RuleAction } from './wire.js';
