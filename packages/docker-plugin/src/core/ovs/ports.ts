// Domain builders: small functions that add the operations of one OVS change to a typed Transaction, so
// callers compose several into ONE atomic transaction (a network's bridge + gateway port + uplink, an
// endpoint's port, many removals). They only build: nothing is sent until the caller's transact/optimistic
// returns. Every column is checked against the Open_vSwitch schema by the compiler and again before sending.
//
//   await ovs.transact((t) => addPort(t, bridge._uuid, { name: 'vethh1', tag: 100, externalIds: { a: 'b' } }));
//   await ovs.transact((t) => removePorts(t, [port._uuid]));
import type { InsertHandle } from '@ovs-container-network/ovsdb';
import { type BridgeUuid, OVS, type OvsTransaction, type PortUuid, type RootRow } from './model.js';

/** The single Interface of a new port (named like the port). */
export interface NewInterface {
  /** `internal` for a port whose kernel device ovs-vswitchd creates; default: a system device (a veth end). */
  type?: string;
  /** Interface.mtu_request. */
  mtuRequest?: number;
  externalIds?: Readonly<Record<string, string>>;
}

export interface NewPort {
  /** Port and Interface name (the kernel device's name). */
  name: string;
  /** Access port on this VLAN… */
  tag?: number;
  /** …or a trunk of these VLANs. */
  trunks?: readonly number[];
  /** Port external_ids. */
  externalIds?: Readonly<Record<string, string>>;
  iface?: NewInterface;
}

/**
 * Inserts an Interface and a Port holding it; returns the Port's handle. The port must still be put on a
 * bridge in the same transaction (`addPort`, or `addBridge({ ports })`): the server would drop it otherwise.
 */
export function insertPort(t: OvsTransaction, spec: NewPort): InsertHandle<'Port'> {
  const i = spec.iface ?? {};
  const iface = t.insert(OVS.Interface, {
    name: spec.name,
    ...(i.type === undefined ? {} : { type: i.type }),
    ...(i.mtuRequest === undefined ? {} : { mtu_request: i.mtuRequest }),
    external_ids: { ...i.externalIds },
  });
  return t.insert(OVS.Port, {
    name: spec.name,
    interfaces: [iface],
    ...(spec.tag === undefined ? {} : { tag: spec.tag }),
    ...(spec.trunks === undefined || spec.trunks.length === 0 ? {} : { trunks: [...spec.trunks] }),
    external_ids: { ...spec.externalIds },
  });
}

/** A new port on an existing bridge; the whole transaction aborts (RowCountMismatch) if the bridge is gone. */
export function addPort(t: OvsTransaction, bridge: BridgeUuid, spec: NewPort): InsertHandle<'Port'> {
  const port = insertPort(t, spec);
  putPorts(t, bridge, [port]);
  return port;
}

/** Puts ports inserted in this transaction (insertPort) on an existing bridge (aborts if it is gone). */
export function putPorts(
  t: OvsTransaction,
  bridge: BridgeUuid,
  ports: readonly InsertHandle<'Port'>[],
): void {
  if (ports.length === 0) return;
  t.mutate(OVS.Bridge, [['_uuid', '==', bridge]], [['ports', 'insert', ports]], { expect: 'one' });
}

/**
 * Takes ports off whichever bridge holds them at commit time (no read of the view, so no race with a port
 * moved or a bridge deleted meanwhile); their Port and Interface rows are garbage-collected (RFC 7047 §3.2,
 * isRoot false). A port no bridge holds is no error.
 */
export function removePorts(t: OvsTransaction, ports: Iterable<PortUuid>): void {
  for (const p of ports) t.mutate(OVS.Bridge, [['ports', 'includes', [p]]], [['ports', 'delete', [p]]]);
}

export interface NewBridge {
  name: string;
  datapathType?: string;
  externalIds?: Readonly<Record<string, string>>;
  /** More ports of the new bridge (insertPort handles), besides its own internal port. */
  ports?: readonly InsertHandle<'Port'>[];
}

/**
 * A bridge like `ovs-vsctl add-br`: the Bridge with its own internal Port/Interface of the same name, listed
 * in Open_vSwitch.bridges.
 */
export function addBridge(t: OvsTransaction, root: RootRow, spec: NewBridge): InsertHandle<'Bridge'> {
  const own = insertPort(t, { name: spec.name, iface: { type: 'internal' } });
  const bridge = t.insert(OVS.Bridge, {
    name: spec.name,
    ...(spec.datapathType === undefined ? {} : { datapath_type: spec.datapathType }),
    ports: [own, ...(spec.ports ?? [])],
    external_ids: { ...spec.externalIds },
  });
  t.mutate(OVS.Open_vSwitch, [['_uuid', '==', root._uuid]], [['bridges', 'insert', [bridge]]], {
    expect: 'one',
  });
  return bridge;
}

/** Deletes a bridge with all its ports (they are garbage-collected with it). */
export function removeBridge(t: OvsTransaction, root: RootRow, bridge: BridgeUuid): void {
  t.mutate(OVS.Open_vSwitch, [['_uuid', '==', root._uuid]], [['bridges', 'delete', [bridge]]]);
}

/** Makes a port an access port on `tag`, or (tag undefined) a trunk of `trunks`: the other one is cleared. */
export function setPortVlan(
  t: OvsTransaction,
  port: PortUuid,
  tag: number | undefined,
  trunks: readonly number[],
): void {
  t.update(OVS.Port, [['_uuid', '==', port]], { tag: tag ?? null, trunks: [...trunks] });
}

/** Adds VLAN `vlan` to (or removes it from) a trunk port's `trunks`. */
export function trunkVlan(t: OvsTransaction, port: PortUuid, op: 'insert' | 'delete', vlan: number): void {
  t.mutate(OVS.Port, [['_uuid', '==', port]], [['trunks', op, [vlan]]]);
}
