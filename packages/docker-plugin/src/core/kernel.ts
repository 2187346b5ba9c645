// What the core needs from the kernel, as the subset of @ovs-container-network/netlink's NetlinkHandle it
// calls (a NetlinkHandle satisfies it structurally; tests may pass a fake). One handle per namespace.
import type { NetnsRef } from '@ovs-container-network/netlink';

export type { NetnsRef };

export interface KernelLink {
  index: number;
  name: string;
  mtu: number;
  mac: string | undefined;
  up: boolean;
  kind: string | undefined;
  /** IFLA_IFALIAS: the core writes `ocn-owner=<owner>` on the host end of every veth it creates. */
  alias?: string | undefined;
}

export interface KernelVethOptions {
  name: string;
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
    changes: { name?: string; mtu?: number; mac?: string; up?: boolean; alias?: string; netns?: NetnsRef },
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
 * The alias marking a host veth end as made by `owner`. The kernel ignores IFLA_IFALIAS in RTM_NEWLINK
 * (rtnl_create_link() does not read it; checked on 6.x), so it is set right after the veth is created.
 */
export const ownerAlias = (owner: string) => `ocn-owner=${owner}`;

/** Kernel link kinds of an OVS internal port: the kernel datapath's vport, the userspace datapath's tap. */
export const OVS_INTERNAL_KINDS: ReadonlySet<string> = new Set(['openvswitch', 'tun']);
