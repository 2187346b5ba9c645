// What the core needs from the kernel, as the subset of @ovs-container-network/netlink's NetlinkHandle it
// calls (a NetlinkHandle satisfies it structurally; tests may pass a fake). One handle per namespace.
import { createHash } from 'node:crypto';
import type { NetnsRef } from '@ovs-container-network/netlink';

export type { NetnsRef };

export interface KernelLink {
  index: number;
  name: string;
  mtu: number;
  mac: string | undefined;
  up: boolean;
  kind: string | undefined;
  /** IFLA_GROUP: the core puts the host end of every veth it creates in its owner's group (ownerGroup). */
  group?: number | undefined;
}

export interface KernelVethOptions {
  name: string;
  group?: number;
  mtu?: number;
  mac?: string;
  up?: boolean;
  txChecksum?: boolean;
  peer: {
    name: string;
    netns?: NetnsRef;
    mtu?: number;
    mac?: string;
    up?: boolean;
    txChecksum?: boolean;
  };
}

export interface KernelRoute {
  dst: string;
  gateway?: string;
  dev?: string | number;
  table?: number;
  onLink?: boolean;
  metric?: number;
  src?: string;
  type?: 'unicast' | 'local' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw';
  family?: 4 | 6;
  replace?: boolean;
}

export interface KernelRuleSpec {
  family?: 4 | 6;
  priority?: number;
  from?: string;
  to?: string;
  table?: number;
  action?: 'lookup' | 'prohibit' | 'unreachable' | 'blackhole' | 'goto' | 'nop';
  iif?: string;
}

export interface KernelRule {
  family: 4 | 6;
  priority: number | undefined;
  from: string | undefined;
  to: string | undefined;
  table: number;
  action: string;
  iif: string | undefined;
}

export interface KernelHandle {
  readonly netns: string;
  close(): void;
  listLinks(): Promise<KernelLink[]>;
  findLink(link: string | number): Promise<KernelLink | undefined>;
  createVeth(o: KernelVethOptions): Promise<unknown>;
  setLink(
    link: string | number,
    changes: { name?: string; mtu?: number; mac?: string; up?: boolean; netns?: NetnsRef },
  ): Promise<void>;
  deleteLink(link: string | number, options?: { missingOk?: boolean }): Promise<void>;
  setTxChecksum(ifname: string, on: boolean): boolean;
  addAddress(
    link: string | number,
    cidr: string,
    options?: { nodad?: boolean; replace?: boolean; noPrefixRoute?: boolean },
  ): Promise<void>;
  listAddresses(filter?: {
    link?: string | number;
    family?: 4 | 6;
  }): Promise<{ cidr: string; index: number }[]>;
  addRoute(spec: KernelRoute): Promise<void>;
  addRule(spec: KernelRuleSpec): Promise<void>;
  deleteRule(spec: KernelRuleSpec): Promise<void>;
  listRules(filter?: { family?: 4 | 6 }): Promise<KernelRule[]>;
}

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
 * leaves no veth without its mark. 0x6f63xxxx ("oc") plus 16 bits of SHA-256(owner); the Orchestrator's
 * batch deletes use transient groups 0x4f43xxxx, and group 0 is the kernel's default.
 */
export function ownerGroup(owner: string): number {
  const h = createHash('sha256').update(`ocn-owner\0${owner}`).digest();
  return 0x6f63_0000 + (((h[0] ?? 0) << 8) | (h[1] ?? 0));
}

/** Kernel link kinds of an OVS internal port: the kernel datapath's vport, the userspace datapath's tap. */
export const OVS_INTERNAL_KINDS: ReadonlySet<string> = new Set(['openvswitch', 'tun']);
