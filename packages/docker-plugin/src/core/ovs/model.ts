// The part of the Open_vSwitch database the core reads and writes, typed by the generated models of the
// ovsdb package. The replica monitors only the columns below; the row types are the generated rows narrowed
// to them, so reading an unmonitored column does not compile.
import type { Transaction } from '@ovs-container-network/ovsdb';
import * as OVS from '@ovs-container-network/ovsdb/models/open-vswitch';

export { OVS };

/** A transaction on the Open_vSwitch database: every write of the core goes through one. */
export type OvsTransaction = Transaction<typeof OVS.DATABASE_NAME>;

/** The columns the replica monitors, per table. */
export const MONITORED = {
  Open_vSwitch: ['bridges', 'external_ids', 'other_config'],
  Bridge: ['name', 'datapath_type', 'external_ids', 'ports'],
  Port: ['name', 'tag', 'trunks', 'external_ids', 'interfaces'],
  /** `ifindex`: a delete waits for that device's RTM_DELLINK without looking it up (link-reaper.ts). */
  Interface: ['name', 'type', 'external_ids', 'ofport', 'error', 'ifindex'],
  /** The IPAM driver's lease rows (ipam-state.ts), and QoS queues (qos.ts). */
  Queue: ['external_ids'],
} as const;

type Monitored<T extends { readonly _uuid: unknown }, K extends readonly string[]> = Pick<
  T,
  '_uuid' | (K[number] & keyof T)
>;

/** The Open_vSwitch root row. */
export type RootRow = Monitored<OVS.Open_vSwitch, typeof MONITORED.Open_vSwitch>;
export type BridgeRow = Monitored<OVS.Bridge, typeof MONITORED.Bridge>;
export type PortRow = Monitored<OVS.Port, typeof MONITORED.Port>;
export type InterfaceRow = Monitored<OVS.Interface, typeof MONITORED.Interface>;
export type QueueRow = Monitored<OVS.Queue, typeof MONITORED.Queue>;

/** Table name → row type, for `Replica<OvsRows>`. */
export interface OvsRows {
  Open_vSwitch: RootRow;
  Bridge: BridgeRow;
  Port: PortRow;
  Interface: InterfaceRow;
  Queue: QueueRow;
}

/**
 * Does this vswitchd run with userspace TCP segmentation offload (`other_config:userspace-tso-enable=true`,
 * read by ovs-vswitchd once at start)? Then its netdev-linux ports exchange packets with the kernel with
 * virtio-net headers that carry checksum and segmentation state, so a veth may keep TX checksum offload
 * (and with it TSO) on: a netdev bridge need not turn it off (PROTOCOLS.md §1) and moves 64 KiB segments
 * instead of MTU-sized packets. Only read: the plugin never writes this key.
 */
export function userspaceTso(root: RootRow | undefined): boolean {
  return root?.other_config['userspace-tso-enable'] === 'true';
}

export type BridgeUuid = OVS.BridgeUuid;
export type PortUuid = OVS.PortUuid;
export type InterfaceUuid = OVS.InterfaceUuid;
export type QueueUuid = OVS.QueueUuid;
