// What the core needs from the kernel: the part of @ovs-container-network/netlink's NetlinkHandle it calls
// (its types, not copies; tests may pass a fake that has these methods). One handle per namespace.
import { createHash } from 'node:crypto';
import type {
  Link,
  NetlinkHandle,
  NetnsRef,
  RouteSpec,
  Rule,
  RuleSpec,
  VethOptions,
} from '@ovs-container-network/netlink';

export type { NetnsRef };
export type KernelLink = Link;
export type KernelVethOptions = VethOptions;
export type KernelRoute = RouteSpec;
export type KernelRuleSpec = RuleSpec;
export type KernelRule = Rule;

/** The NetlinkHandle methods the core calls. */
export type KernelHandle = Pick<
  NetlinkHandle,
  | 'netns'
  | 'close'
  | 'listLinks'
  | 'findLink'
  | 'createVeth'
  | 'setLink'
  | 'deleteLink'
  | 'deleteLinkGroup'
  | 'whenGone'
  | 'setTxChecksum'
  | 'addAddress'
  | 'listAddresses'
  | 'addRoute'
  | 'addRule'
  | 'deleteRule'
  | 'listRules'
>;

/** Opens a handle in a namespace (NetlinkHandle.open). */
export type KernelOpener = (ns: NetnsRef) => KernelHandle;

/** True when a netlink error carries one of these errno names (e.g. 'ENODEV', 'EEXIST'). */
export function hasErrno(err: unknown, ...names: string[]): boolean {
  const e = err as { errno?: unknown } | undefined;
  return typeof e?.errno === 'string' && names.includes(e.errno);
}

/**
 * The link group marking a host veth end as made by `owner`: set in the very RTM_NEWLINK that creates the
 * pair (rtnl_create_link() applies IFLA_GROUP; it ignores IFLA_IFALIAS), so a process killed at any point
 * leaves no veth without its mark. 0x6f63xxxx ("oc") plus 16 bits of SHA-256(owner); 0x6f64xxxx are the
 * reaping groups bulk deletes use (below), and group 0 is the kernel's default.
 */
export function ownerGroup(owner: string): number {
  const h = createHash('sha256').update(`ocn-owner\0${owner}`).digest();
  return 0x6f63_0000 + (((h[0] ?? 0) << 8) | (h[1] ?? 0));
}

/**
 * The link groups a host veth end is moved into right before a bulk delete deletes the group (link-reaper.ts):
 * 0x6f64xxxx, one per delete that may be in flight at once (`reapingGroup(slot)`). Reserved: whatever carries
 * one is being deleted. So a group delete may take another process's doomed links with its own (that process
 * then finds them gone, which is what it asked for), and a reconciler sweep finishes what a process killed
 * between the move and the delete left (driver.ts reconcile, `isReapingGroup`).
 */
export const REAPING_GROUP = 0x6f64_0000;

export function reapingGroup(slot: number): number {
  return REAPING_GROUP + slot;
}

export function isReapingGroup(group: number | undefined): boolean {
  return group !== undefined && group >>> 16 === REAPING_GROUP >>> 16;
}

/** Kernel link kinds of an OVS internal port: the kernel datapath's vport, the userspace datapath's tap. */
export const OVS_INTERNAL_KINDS: ReadonlySet<string> = new Set(['openvswitch', 'tun']);
