// What the orchestrator needs from OVS and the kernel, as one narrow interface. The implementation
// (ovs-backend.ts) composes the ovsdb package's client/replica and the netlink package, reusing the driver
// core's wiring; keeping the orchestrator's logic (idempotency, target liveness, rollback, serialization)
// against this interface keeps it readable and lets unit tests drive it with a fake.
import type { RateLimit, TypedOvs } from '../core/qos.js';
import type { NormalizedAttach } from './validate.js';

/** One OVS Port with its single Interface, as the replica holds it. */
export interface PortRow {
  bridge: string;
  /** Port name = Interface name = host end of the veth. */
  port: string;
  portUuid: string;
  ifaceUuid: string;
  tag: number | undefined;
  trunks: number[];
  ifaceExternalIds: Record<string, string>;
  portExternalIds: Record<string, string>;
  ofport: number | undefined;
}

export interface WireSpec extends NormalizedAttach {
  /** Host end name (the OVS port). */
  hostName: string;
  /** Temporary name of the container end before it is renamed to `ifname` inside the namespace. */
  peerName: string;
  /** An open fd of the target namespace (held by the orchestrator for the whole attach). */
  netnsFd: number;
  /** Interface external_ids to record (container_id, container_iface, owner marker, user's ids). */
  ifaceExternalIds: Record<string, string>;
  /** Port external_ids to record. */
  portExternalIds: Record<string, string>;
}

export interface Backend {
  /** Resolves when the replica holds the first snapshot. */
  ready(): Promise<void>;
  /** Every Port (with one Interface) on every bridge, from the replica. */
  ports(): PortRow[];
  /** The port of this name (by index), if it has one Interface and is on a bridge. */
  portRow(name: string): PortRow | undefined;
  /** The port of this uuid, likewise. */
  portRowByUuid(portUuid: string): PortRow | undefined;
  /** Ports whose Interface records one of these `container_id`s (by index). */
  containerPortRows(containerIds: Iterable<string>): PortRow[];
  /** Ports of one bridge. */
  bridgePortRows(bridge: string): PortRow[];
  bridgeExists(name: string): boolean;
  /** Creates the bridge with this datapath type; resolves when it exists (also when someone else made it). */
  ensureBridge(name: string, datapathType: string): Promise<void>;
  /** Deletes a bridge (and its ports) from OVS. */
  deleteBridge(name: string): Promise<void>;
  /** Ports of a bridge other than its own internal port. */
  bridgePortCount(name: string): number;
  /**
   * veth pair + OVS port (tag/trunks/external_ids, one transaction) + MTU/MAC/TX offload + container end moved
   * into the namespace, renamed and configured (addresses, routes). All or nothing: on failure whatever was
   * done is undone before it throws.
   */
  wire(spec: WireSpec): Promise<void>;
  /**
   * Removes the ports of these names from OVS (one transaction) and deletes the host veths of these names
   * (missing ports and veths are fine: detaching is idempotent).
   */
  unwire(ports: readonly string[]): Promise<void>;
  setVlan(row: PortRow, tag: number | undefined, trunks: readonly number[]): Promise<void>;
  /**
   * Resolves once ovs-vswitchd has applied everything committed so far (Open_vSwitch next_cfg/cur_cfg, the
   * handshake `ovs-vsctl` waits on unless given --no-wait); rejects after `timeoutMs`.
   */
  applied(timeoutMs: number): Promise<void>;
  /** True when a link of this name exists in the host namespace. */
  hostLinkExists(name: string): Promise<boolean>;
  close(): Promise<void>;
  /** Typed OVSDB transactions (rate limits, mirrors: orchestrator/qos-mirror.ts); optional for fakes. */
  transactor?(): TypedOvs;
  /** Sets the token bucket of the veth peer of `hostIfName`, called `ifname` in `netns` (a path or an fd). */
  shapePeer?(
    hostIfName: string,
    netns: string | number,
    ifname: string,
    limit: RateLimit | null | undefined,
  ): Promise<void>;
}
