// The orchestrator's backend on the driver core: the OVS view/transactor (the replica) and the kernel
// handle the Docker driver uses, with the core's Wiring primitive doing every attach (veth pair, OVS port
// in one transaction, MTU/MAC/TX offload, container end created inside the namespace and configured, all
// rolled back on failure). What it adds: bridges made on demand (as `ovs-docker add-port` does), removal of
// many ports at once, and VLAN changes.

import { NetlinkHandle } from '@ovs-container-network/netlink';
import { ConflictError, OvsdbFailure, ovsdbFailure } from '../core/errors.js';
import type { KernelRoute } from '../core/kernel.js';
import { openHostKernel } from '../core/link-reaper.js';
import {
  type PortRow as CorePortRow,
  type InterfaceRow,
  OVS,
  type OvsTransaction,
  type PortUuid,
} from '../core/ovs/model.js';
import { addBridge, removeBridge, removePorts, setPortVlan } from '../core/ovs/ports.js';
import type { OvsBackend as CoreOvs } from '../core/ovs/view.js';
import { releasePortExtras } from '../core/port-extras.js';
import { applyContainerShaping, type RateLimit, type TypedOvs } from '../core/qos.js';
import { Wiring } from '../core/wiring.js';
import type { Backend, PortRow, WireSpec } from './backend.js';

export interface CoreBackendOptions {
  ovs: CoreOvs;
  /** A handle in the host namespace (created when omitted, and then closed with the backend). */
  kernel?: NetlinkHandle;
  /** Resolves when the view holds the first snapshot (default: at once). */
  ready?: () => Promise<void>;
  /** Closes the OVS side (default: `ovs.close()`). */
  close?: () => Promise<void>;
}

export class CoreBackend implements Backend {
  readonly #ovs: CoreOvs;
  readonly #kernel: NetlinkHandle;
  readonly #ownKernel: boolean;
  readonly #wiring: Wiring;
  readonly #ready: () => Promise<void>;
  readonly #closeOvs: () => Promise<void>;
  readonly #bridgeCreation = new Map<string, Promise<void>>();
  readonly #rows = new WeakMap<CorePortRow, { iface: InterfaceRow; row: PortRow }>();
  /** Ports waiting to be removed in the next batch (one OVSDB transaction, one link-group delete). */
  #batch: { ports: Set<string>; done: Promise<void> } | undefined;
  /** The next-cfg handshake waiting to start (joined by every caller of this turn). */
  #applying: { done: Promise<void> } | undefined;

  constructor(opts: CoreBackendOptions) {
    this.#ovs = opts.ovs;
    this.#ownKernel = opts.kernel === undefined;
    this.#kernel = opts.kernel ?? openHostKernel();
    this.#wiring = new Wiring({
      ovs: opts.ovs,
      kernel: this.#kernel,
      openKernel: (ns) => NetlinkHandle.open(ns),
    });
    this.#ready = opts.ready ?? (() => Promise.resolve());
    this.#closeOvs = opts.close ?? (async () => opts.ovs.close?.());
  }

  ready(): Promise<void> {
    return this.#ready();
  }

  /**
   * The Orchestrator's view of one port, built once per version of its Port and Interface rows (replica rows
   * are immutable: a change makes new objects), so looking ports up costs no rebuild of every row.
   */
  #row(port: CorePortRow | undefined): PortRow | undefined {
    if (port?.interfaces.length !== 1) return undefined;
    const iface = this.#ovs.iface(port.interfaces[0]!);
    const bridge = this.#ovs.bridgeOfPort(port._uuid);
    if (!iface || !bridge) return undefined;
    const hit = this.#rows.get(port);
    if (hit && hit.iface === iface && hit.row.bridge === bridge.name) return hit.row;
    const row: PortRow = {
      bridge: bridge.name,
      port: port.name,
      portUuid: port._uuid,
      ifaceUuid: iface._uuid,
      tag: port.tag ?? undefined,
      trunks: [...port.trunks],
      ifaceExternalIds: { ...iface.external_ids },
      portExternalIds: { ...port.external_ids },
      ofport: iface.ofport === null ? undefined : Number(iface.ofport),
    };
    this.#rows.set(port, { iface, row });
    return row;
  }

  ports(): PortRow[] {
    const out: PortRow[] = [];
    for (const bridge of this.#ovs.bridges()) out.push(...this.bridgePortRows(bridge.name));
    return out;
  }

  bridgePortRows(bridge: string): PortRow[] {
    const out: PortRow[] = [];
    for (const portUuid of this.#ovs.bridgeByName(bridge)?.ports ?? []) {
      const row = this.#row(this.#ovs.port(portUuid));
      if (row) out.push(row);
    }
    return out;
  }

  portRow(name: string): PortRow | undefined {
    return this.#row(this.#ovs.portByName(name));
  }

  portRowByUuid(portUuid: string): PortRow | undefined {
    return this.#row(this.#ovs.port(portUuid));
  }

  containerPortRows(containerIds: Iterable<string>): PortRow[] {
    const out = new Map<string, PortRow>();
    for (const id of containerIds)
      for (const iface of this.#ovs.interfacesOfContainer(id)) {
        const row = this.#row(this.#ovs.portOfInterface(iface._uuid));
        if (row) out.set(row.portUuid, row);
      }
    return [...out.values()];
  }

  bridgeExists(name: string): boolean {
    return this.#ovs.bridgeByName(name) !== undefined;
  }

  bridgePortCount(name: string): number {
    const b = this.#ovs.bridgeByName(name);
    if (!b) return 0;
    return b.ports.filter((p) => this.#ovs.port(p)?.name !== name).length;
  }

  /** A bridge like `ovs-vsctl add-br`: the Bridge, its internal Port/Interface of the same name, in Open_vSwitch.bridges. */
  ensureBridge(name: string, datapathType: string): Promise<void> {
    let p = this.#bridgeCreation.get(name);
    if (!p) {
      p = this.#createBridge(name, datapathType).finally(() => this.#bridgeCreation.delete(name));
      this.#bridgeCreation.set(name, p);
    }
    return p;
  }

  async #createBridge(name: string, datapathType: string): Promise<void> {
    if (this.bridgeExists(name)) return;
    const root = this.#ovs.root();
    if (!root) throw new OvsdbFailure('the Open_vSwitch table has no row: run `ovs-vsctl init` first');
    try {
      await this.#ovs.transact((t) => addBridge(t, root, { name, datapathType }));
    } catch (err) {
      // Bridge.name is an index: a concurrent creator (another process) makes our insert fail; theirs is fine.
      if (!this.bridgeExists(name)) throw ovsdbFailure(`creating bridge ${name}`, err);
    }
  }

  async deleteBridge(name: string): Promise<void> {
    const b = this.#ovs.bridgeByName(name);
    const root = this.#ovs.root();
    if (!b || !root) return;
    await this.#transact((t) => removeBridge(t, root, b._uuid), `deleting bridge ${name}`);
  }

  async wire(spec: WireSpec): Promise<void> {
    const routes: KernelRoute[] = [];
    if (spec.gateway !== undefined) routes.push({ dst: 'default', gateway: spec.gateway });
    if (spec.gateway6 !== undefined) routes.push({ dst: 'default', gateway: spec.gateway6, family: 6 });
    for (const r of spec.routes)
      routes.push(
        r.destination === 'default'
          ? { dst: 'default', gateway: r.via!, ...(r.via!.includes(':') ? { family: 6 as const } : {}) }
          : { dst: r.destination, ...(r.via === undefined ? {} : { gateway: r.via }) },
      );
    await this.#wiring.attach({
      bridge: spec.bridge,
      hostIfName: spec.hostName,
      containerIfName: spec.peerName,
      ...(spec.mtu === undefined ? {} : { mtu: spec.mtu }),
      ...(spec.mac === undefined ? {} : { mac: spec.mac }),
      ...(spec.trunks.length ? { trunks: spec.trunks } : spec.vlan === undefined ? {} : { tag: spec.vlan }),
      externalIds: spec.portExternalIds,
      interfaceExternalIds: spec.ifaceExternalIds,
      ...(spec.portExternalIds['ocn-owner'] === undefined
        ? {}
        : { owner: spec.portExternalIds['ocn-owner'] }),
      txChecksumOff: !spec.txChecksumOffload,
      target: {
        netns: { fd: spec.netnsFd },
        ifname: spec.ifname,
        addresses: spec.addresses.map((a) => a.cidr),
        routes,
      },
    });
  }

  /**
   * Removals are batched: every unwire issued in the same turn of the event loop joins one OVSDB transaction
   * and one link-group delete, because each veth deletion costs the kernel an RCU grace period (~20 ms
   * here, PROTOCOLS.md §4) while a group delete pays it once for all.
   */
  unwire(ports: readonly string[]): Promise<void> {
    if (ports.length === 0) return Promise.resolve();
    if (!this.#batch) {
      const batch: { ports: Set<string>; done: Promise<void> } = {
        ports: new Set(),
        done: Promise.resolve(),
      };
      batch.done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (this.#batch === batch) this.#batch = undefined;
        return this.#remove([...batch.ports]);
      });
      this.#batch = batch;
    }
    for (const p of ports) this.#batch.ports.add(p);
    return this.#batch.done;
  }

  async #remove(names: string[]): Promise<void> {
    // 0. The ports' QoS (root rows, never garbage-collected) and mirrors (core/port-extras.ts).
    for (const n of names) {
      const port = this.#ovs.portByName(n);
      if (port) await releasePortExtras(this.#ovs, port);
    }
    // 1. OVS: one transaction taking every port off its bridge (Port/Interface rows are garbage-collected,
    //    RFC 7047 §3.2 isRoot=false); removePorts matches the bridge at commit time, so no retry is needed.
    const uuids: PortUuid[] = [];
    for (const n of names) {
      const port = this.#ovs.portByName(n);
      if (port) uuids.push(port._uuid);
    }
    if (uuids.length > 0)
      await this.#transact((t) => removePorts(t, uuids), `removing ports ${names.join(' ')}`);
    // 2. Kernel: the host ends in one link-group delete (Wiring's reaper; a missing link is fine).
    await this.#wiring.deleteLinks(names);
  }

  /** Typed OVSDB transactions through the same replica (rate limits, mirrors). */
  transactor(): TypedOvs {
    return this.#ovs;
  }

  /**
   * Shapes what the container end of `hostIfName` sends (its token bucket), inside `netns` (a path or an
   * open fd) where it is called `ifname` — only after checking that this interface IS the veth peer of our
   * host end (each one's IFLA_LINK names the other), since the namespace path is read back from OVS.
   */
  async shapePeer(
    hostIfName: string,
    netns: string | number,
    ifname: string,
    limit: RateLimit | null | undefined,
  ): Promise<void> {
    const host = await this.#kernel.findLink(hostIfName);
    const h = NetlinkHandle.open(typeof netns === 'number' ? { fd: netns } : { path: netns });
    try {
      const peer = await h.findLink(ifname);
      if (
        host?.kind !== 'veth' ||
        peer?.kind !== 'veth' ||
        peer.index !== host.peerIndex ||
        peer.peerIndex !== host.index
      )
        throw new ConflictError(
          `interface ${ifname} in ${typeof netns === 'number' ? 'the target namespace' : netns} is not the veth peer of port ${hostIfName}; its rate limit was not changed`,
        );
      await applyContainerShaping(h, peer.index, limit);
    } finally {
      h.close();
    }
  }

  async setVlan(row: PortRow, tag: number | undefined, trunks: readonly number[]): Promise<void> {
    const port = this.#ovs.port(row.portUuid);
    if (!port) return;
    await this.#transact(
      (t) => setPortVlan(t, port._uuid, tag, trunks),
      `setting the VLAN of port ${row.port}`,
    );
  }

  /**
   * ovs-vswitchd copies Open_vSwitch.next_cfg to cur_cfg once it has reconfigured itself from the database
   * (vswitch.ovsschema; ovs-vsctl(8) "--no-wait"). Bump next_cfg and wait for cur_cfg to reach it. Callers in
   * the same turn of the event loop share one bump: it comes after all of their commits.
   */
  applied(timeoutMs: number): Promise<void> {
    if (!this.#applying) {
      const p = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (this.#applying?.done === p) this.#applying = undefined;
        return this.#bumpAndWait(timeoutMs);
      });
      this.#applying = { done: p };
    }
    return this.#applying.done;
  }

  async #bumpAndWait(timeoutMs: number): Promise<void> {
    const root = this.#ovs.root();
    if (!root) throw new OvsdbFailure('the Open_vSwitch table has no row: run `ovs-vsctl init` first');
    const where = [['_uuid', '==', root._uuid]] as const;
    const [bumped] = await this.#transact((t) => {
      t.mutate(OVS.Open_vSwitch, where, [['next_cfg', '+=', 1]]);
      return [t.select(OVS.Open_vSwitch, where, ['next_cfg'])] as const;
    }, 'asking ovs-vswitchd to confirm its configuration');
    const target = Number(bumped[0]?.next_cfg);
    const deadline = Date.now() + timeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      const [rows] = await this.#transact(
        (t) => [t.select(OVS.Open_vSwitch, where, ['cur_cfg'])] as const,
        'reading Open_vSwitch.cur_cfg',
      );
      const cur = Number(rows[0]?.cur_cfg);
      if (cur >= target) return;
      if (Date.now() >= deadline)
        throw new OvsdbFailure(
          `ovs-vswitchd did not apply the change within ${timeoutMs} ms (cur_cfg ${cur} < next_cfg ${target}): ` +
            'is ovs-vswitchd running on this database?',
        );
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  async hostLinkExists(name: string): Promise<boolean> {
    return (await this.#kernel.findLink(name)) !== undefined;
  }

  async close(): Promise<void> {
    await this.#batch?.done.catch(() => undefined);
    if (this.#ownKernel) this.#kernel.close();
    await this.#closeOvs();
  }

  #transact<const H>(build: (t: OvsTransaction) => H, what: string) {
    return this.#ovs.transact(build).catch((err: unknown) => {
      throw ovsdbFailure(what, err);
    });
  }
}
