import type { Family } from './ip.js';
import type { NetnsRef } from './netns.js';
import type { RouteType, RuleAction } from './wire.js';

/** A network interface as the kernel reports it (RTM_NEWLINK). */
export interface Link {
  index: number;
  name: string;
  mtu: number;
  /** `aa:bb:cc:dd:ee:ff` (undefined for links without a hardware address). */
  mac: string | undefined;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  lowerUp: boolean;
  /** IFLA_OPERSTATE: `'up'`, `'down'`, `'lowerlayerdown'`, `'unknown'`… */
  operState: string;
  /** IFLA_INFO_KIND: `'veth'`, `'bridge'`, `'tun'`… (undefined for plain devices such as `lo`). */
  kind: string | undefined;
  group: number;
  /** ifindex of the master (bridge, bond), if enslaved. */
  master: number | undefined;
  /** IFLA_LINK: for a veth, the peer's ifindex (in the peer's namespace). */
  peerIndex: number | undefined;
  /** IFLA_LINK_NETNSID: the peer's namespace id, when the peer lives in another namespace. */
  linkNetnsId: number | undefined;
  alias: string | undefined;
  /** Raw IFF_* flags. */
  flags: number;
}

/** Changes applied to a link by one RTM_SETLINK. */
export interface LinkChanges {
  /** Rename (in the target namespace when `netns` is given). */
  name?: string | undefined;
  mtu?: number | undefined;
  mac?: string | undefined;
  up?: boolean | undefined;
  /** Link group (for bulk deletion with `deleteLinkGroup`). */
  group?: number | undefined;
  alias?: string | undefined;
  /** Move the link into this namespace (rename and configuration happen in the same message). */
  netns?: NetnsRef | NetnsTarget | undefined;
}

/** Anything holding an open namespace fd (a NetlinkHandle is one). */
export interface NetnsTarget {
  readonly netnsFd: number;
  readonly netns: string;
}

export interface VethPeerOptions {
  name: string;
  /** Create the peer directly inside this namespace (default: the handle's namespace). */
  netns?: NetnsRef | NetnsTarget | undefined;
  /** Default: the first end's `mtu`. */
  mtu?: number | undefined;
  mac?: string | undefined;
  /** Bring the peer up after creation (a separate SETLINK in the peer's namespace). */
  up?: boolean | undefined;
  group?: number | undefined;
  /** TX checksum offload of the peer (`false` = `ethtool -K PEER tx off`). */
  txChecksum?: boolean | undefined;
}

export interface VethOptions {
  name: string;
  mtu?: number | undefined;
  mac?: string | undefined;
  up?: boolean | undefined;
  group?: number | undefined;
  /** TX checksum offload of this end. */
  txChecksum?: boolean | undefined;
  peer: VethPeerOptions;
}

export interface VethPair {
  name: string;
  index: number;
  peerName: string;
  /** The peer's ifindex in its own namespace. */
  peerIndex: number;
}

export interface Address {
  index: number;
  family: Family;
  /** The address without prefix, e.g. `10.0.0.2`. */
  address: string;
  prefixLen: number;
  /** `address/prefixLen`. */
  cidr: string;
  scope: number;
  label: string | undefined;
  flags: number;
  nodad: boolean;
  tentative: boolean;
  dadFailed: boolean;
  permanent: boolean;
}

export interface AddressOptions {
  /** IPv6: skip duplicate address detection (IFA_F_NODAD) so the address is usable at once. */
  nodad?: boolean | undefined;
  /** Do not add the prefix route for the address (IFA_F_NOPREFIXROUTE). */
  noPrefixRoute?: boolean | undefined;
  /** Replace an existing identical address instead of failing with EEXIST. */
  replace?: boolean | undefined;
}

export interface RouteSpec {
  /** `'default'` or a network `a.b.c.d/len` / `ipv6/len` (a bare address means a host route). */
  dst: string;
  gateway?: string | undefined;
  /** Outgoing interface (name or ifindex). */
  dev?: string | number | undefined;
  /** Routing table id (default 254, `main`). */
  table?: number | undefined;
  /** Gateway is on the link even if no address covers it (RTNH_F_ONLINK). */
  onLink?: boolean | undefined;
  metric?: number | undefined;
  /** Preferred source address (RTA_PREFSRC). */
  src?: string | undefined;
  /** Default `'unicast'`. */
  type?:
    | Extract<RouteType, 'unicast' | 'local' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw'>
    | undefined;
  scope?: 'universe' | 'link' | 'host' | undefined;
  /** Needed only for `dst: 'default'` without a gateway (default 4). */
  family?: Family | undefined;
  /** Replace a route with the same key instead of failing with EEXIST. */
  replace?: boolean | undefined;
}

export interface Route {
  family: Family;
  /** `'default'` or `network/len`. */
  dst: string;
  gateway: string | undefined;
  /** ifindex of the outgoing interface. */
  dev: number | undefined;
  table: number;
  protocol: number;
  scope: number;
  type: RouteType;
  metric: number | undefined;
  src: string | undefined;
  onLink: boolean;
}

export interface RuleSpec {
  /** Default: from `from`/`to`, else 4. */
  family?: Family | undefined;
  priority?: number | undefined;
  /** Source network (`10.1.0.0/24`). */
  from?: string | undefined;
  /** Destination network. */
  to?: string | undefined;
  /** Table to look up (action `'lookup'`). */
  table?: number | undefined;
  /** Default `'lookup'` when `table` is given. `'prohibit'` answers EACCES, `'unreachable'` ENETUNREACH. */
  action?: RuleAction | undefined;
  /** Target priority for action `'goto'`. */
  goto?: number | undefined;
  /** Input interface name. */
  iif?: string | undefined;
  /** Output interface name. */
  oif?: string | undefined;
  fwmark?: number | undefined;
  fwmask?: number | undefined;
  /** Negate the selector (`ip rule add not …`). */
  invert?: boolean | undefined;
}

export interface Rule {
  family: Family;
  /** 0 for the `local` rule (the kernel omits FRA_PRIORITY when it is 0). */
  priority: number;
  from: string | undefined;
  to: string | undefined;
  table: number;
  action: RuleAction | 'unknown';
  goto: number | undefined;
  iif: string | undefined;
  oif: string | undefined;
  fwmark: number | undefined;
  fwmask: number | undefined;
  invert: boolean;
}

export interface LinkEvent {
  /** `'new'` (created or changed) or `'del'` (deleted or moved away). */
  type: 'new' | 'del';
  link: Link;
}
