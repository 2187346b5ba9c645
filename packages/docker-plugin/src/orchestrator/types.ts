// The orchestrator API's request and result types. The OVS layout is the one `ovs-docker` uses
// (/usr/bin/ovs-docker): the host end of the veth is both the Port and the Interface name, and the
// Interface's external_ids record `container_id` and `container_iface`, so `ovs-docker del-ports`/`set-vlan`
// find our ports and our `list()` finds theirs.
import type { RateLimitsSpec } from '../core/qos.js';

/** Where the interface goes: a process's network namespace, a namespace file, or a Docker container. */
export type TargetRef =
  /** A process id: its namespace is /proc/PID/ns/net. */
  | { pid: number }
  /** A namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`, a bind mount) or a bare name under /run/netns. */
  | { netns: string }
  /** A Docker container id, id prefix or name, resolved through the Engine API on the daemon's socket. */
  | { container: string };

export interface AttachRoute {
  /** Destination in CIDR form (`10.1.0.0/16`, `fd00::/64`), or `default`. */
  destination: string;
  /** Next hop; omitted for an on-link route. */
  via?: string;
}

export interface AttachRequest {
  /** The OVS bridge. Created (with the orchestrator's datapath type) when missing, like `ovs-docker`. */
  bridge: string;
  target: TargetRef;
  /** The interface name inside the namespace (ovs-docker's INTERFACE), e.g. `eth1`. */
  ifname: string;
  /**
   * The id recorded as `external_ids:container_id`. Defaults to the container reference as given (what
   * `ovs-docker` records), `pid-<PID>` for a pid, and the namespace path for a namespace.
   */
  containerId?: string;
  /** IPv4 and IPv6 addresses in CIDR form (`10.0.0.2/24`, `fd00::2/64`). */
  addresses?: readonly string[];
  /** Unicast MAC `aa:bb:cc:dd:ee:ff`; default: the kernel's random one. */
  mac?: string;
  /** MTU of both veth ends (68..65535). */
  mtu?: number;
  /** IPv4 default gateway. */
  gateway?: string;
  /** IPv6 default gateway. */
  gateway6?: string;
  routes?: readonly AttachRoute[];
  /** Access VLAN (Port.tag, 0..4095). Exclusive with `trunks`. */
  vlan?: number;
  /** Trunk VLANs (Port.trunks, each 0..4095). Exclusive with `vlan`. */
  trunks?: readonly number[];
  /** Extra external_ids on the Interface (and Port). Keys `container_id`/`container_iface` are reserved. */
  externalIds?: Readonly<Record<string, string>>;
  /**
   * TX checksum offload on the container end. Default false: on the userspace (netdev) datapath TCP never
   * connects with it on (PROTOCOLS.md §1).
   */
  txChecksumOffload?: boolean;
  /** Abort the attach; whatever was done is undone. */
  signal?: AbortSignal;
  /**
   * Rate limits from the container's point of view: `ingress` is what it receives (an HTB QoS on the OVS
   * port), `egress` what it sends (a token bucket on its interface in its namespace); `rate` in bit/s,
   * `burst` in bytes (default 10 ms at the rate). Change them later with `setRateLimit`.
   */
  rateLimit?: RateLimitsSpec;
  /** Makes this interface the monitor of that name: mirrors `to` it output here (see `mirror`). */
  monitor?: string;
}

/** What `mirror` copies: an attached interface's traffic (both directions), or a whole VLAN of a bridge. */
export type MirrorSourceRef = InterfaceRef | { bridge: string; vlan: number };

export interface MirrorRequest {
  source: MirrorSourceRef;
  /** A monitor name (an attachment made with `monitor: NAME`), or the name of an OVS port on the bridge. */
  to: string;
}

/** A port that joins a container's interface to a bridge, as recorded in OVS. */
export interface Attachment {
  bridge: string;
  /** Port and Interface name = the host end of the veth pair. */
  port: string;
  containerId: string;
  /** The interface name inside the namespace. */
  ifname: string;
  /** Port.tag, undefined for none. */
  vlan: number | undefined;
  trunks: number[];
  /** Interface.external_ids (including container_id and container_iface). */
  externalIds: Record<string, string>;
  /** Interface.ofport once vswitchd has attached the port; -1 on failure; undefined while pending. */
  ofport: number | undefined;
  /** True when this library made the port (an `ovs-docker` port is false). */
  managed: boolean;
}

/** Which attachment: a container (as recorded, or a target to derive the id from) and its interface. */
export interface InterfaceRef {
  containerId?: string;
  target?: TargetRef;
  ifname: string;
  /** Only on this bridge (ovs-docker takes a BRIDGE argument but ignores it; so do we when omitted). */
  bridge?: string;
}

export interface ContainerRef {
  containerId?: string;
  target?: TargetRef;
  bridge?: string;
}

export interface ListFilter {
  bridge?: string;
  containerId?: string;
}

export type VlanSetting = { vlan: number } | { trunks: readonly number[] } | { vlan: null };
