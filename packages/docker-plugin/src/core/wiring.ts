// The low-level wiring primitive shared by the Docker driver and the orchestrator API: one veth pair per
// endpoint, its host end an OVS Port/Interface on a bridge (tag or trunks, external_ids) added in ONE OVSDB
// transaction, the same MTU on both ends, TX checksum offload off on the container end for the userspace
// datapath (PROTOCOLS.md §1: otherwise TCP never connects), a MAC; optionally the container end created
// directly inside a target namespace and configured there (addresses, routes). Every partial failure is
// rolled back; removal is idempotent.
//
//   const w = new Wiring({ ovs, kernel: NetlinkHandle.open(), openKernel: (ns) => NetlinkHandle.open(ns) });
//   const ep = await w.attach({ bridge: 'br0', hostIfName: 'vethh1', containerIfName: 'vethc1', tag: 100,
//                               mtu: 1500, externalIds: { 'ocn-owner': 'me' } });
//   await w.detach({ hostIfName: ep.hostIfName });
import { isIfindex } from '@ovs-container-network/netlink';
import { TransactionError, ValidationError } from '@ovs-container-network/ovsdb';
import {
  ConflictError,
  describeError,
  NotFoundError,
  OvsdbFailure,
  ovsdbFailure,
  PluginError,
  WiringError,
} from './errors.js';
import { GroupCommit } from './group-commit.js';
import {
  hasErrno,
  type KernelHandle,
  type KernelOpener,
  type KernelRoute,
  type NetnsRef,
  ownerGroup,
} from './kernel.js';
import { LinkReaper } from './link-reaper.js';
import type { BridgeUuid, PortUuid } from './ovs/model.js';
import { addPort, type NewPort, removePorts } from './ovs/ports.js';
import type { OvsBackend } from './ovs/view.js';
import { releasePortExtras } from './port-extras.js';
import { isValidIfName } from './rules/ifname.js';
import { type Logger, silentLogger } from './types.js';

export interface AttachTarget {
  /** The namespace the container end is created in (a pid, a path such as /proc/PID/ns/net, a name). */
  netns: NetnsRef;
  /** Its name inside the namespace (default: `containerIfName`). */
  ifname?: string;
  /** Addresses in CIDR form (IPv4 and/or IPv6); IPv6 ones are added without DAD so they work at once. */
  addresses?: readonly string[];
  /** Routes inside the namespace, e.g. `{ dst: 'default', gateway: '10.0.0.1' }`. */
  routes?: readonly KernelRoute[];
}

export interface AttachSpec {
  /** An existing OVS bridge. */
  bridge: string;
  /** Host end of the veth pair; also the OVS Port and Interface name (≤ 15 bytes). */
  hostIfName: string;
  /** Container end while it is in the host namespace (≤ 15 bytes). */
  containerIfName: string;
  /** MTU of both ends (default: the kernel's, 1500). */
  mtu?: number;
  /** MAC of the container end (default: random, chosen by the kernel). */
  mac?: string;
  /** Access port on this VLAN… */
  tag?: number;
  /** …or a trunk of these VLANs. */
  trunks?: readonly number[];
  /** external_ids of the Port (and of the Interface, merged with `interfaceExternalIds`). */
  externalIds?: Readonly<Record<string, string>>;
  interfaceExternalIds?: Readonly<Record<string, string>>;
  /** TX checksum offload off on the container end; default: on a netdev (userspace) bridge. */
  txChecksumOff?: boolean;
  /** Create the container end inside this namespace and configure it there. */
  target?: AttachTarget;
  /**
   * Who made the pair (`ocn-owner`): the host end is created in this owner's link group, so a sweep for
   * veths left by a crash between the kernel and OVS removes only its own user's (kernel.ts ownerGroup).
   */
  owner?: string;
}

export interface Attached {
  bridge: string;
  hostIfName: string;
  /** The container end's name (inside the target namespace when one was given). */
  containerIfName: string;
  portUuid: string;
}

export interface WiringOptions {
  ovs: OvsBackend;
  /** A handle in the host namespace. */
  kernel: KernelHandle;
  /** Opens handles in other namespaces; needed only for `target`. */
  openKernel?: KernelOpener;
  logger?: Logger;
}

/** A port waiting for its add transaction. */
interface PendingPort {
  bridge: BridgeUuid;
  port: NewPort;
}

export class Wiring {
  readonly #ovs: OvsBackend;
  readonly #kernel: KernelHandle;
  readonly #open: KernelOpener | undefined;
  readonly #log: Logger;
  /**
   * OVS port additions and removals, each a group commit (group-commit.ts): the ones asked for while a
   * transaction of their kind is in flight go in the next one together. With 5,000 ports on a bridge, every
   * transaction changes a 5,000-element Bridge.ports that ovsdb-server, ovs-vswitchd and every replica
   * handle whole: 20 concurrent CreateEndpoints cost ~1 ms of ovsdb-server each when sent one by one.
   */
  readonly #adds = new GroupCommit<PendingPort, PortUuid>((ps) => this.#addPorts(ps));
  readonly #removals = new GroupCommit<string, boolean>((names) => this.#removePorts(names));
  /** Veth deletions, concurrent ones in one link-group delete. */
  readonly #reaper: LinkReaper;

  constructor(opts: WiringOptions) {
    this.#ovs = opts.ovs;
    this.#kernel = opts.kernel;
    this.#reaper = new LinkReaper(opts.kernel);
    this.#open = opts.openKernel;
    this.#log = opts.logger ?? silentLogger;
  }

  /**
   * Creates the veth pair and the OVS port. Throws ConflictError when the host name is already an OVS port
   * or a link (nothing is touched then), NotFoundError for a missing bridge, WiringError (after rolling
   * back) when a step fails.
   */
  async attach(spec: AttachSpec): Promise<Attached> {
    for (const [field, name] of [
      ['hostIfName', spec.hostIfName],
      ['containerIfName', spec.containerIfName],
    ] as const) {
      if (!isValidIfName(name))
        throw new WiringError(`${field} ${JSON.stringify(name)} is not a valid interface name`);
    }
    const bridge = this.#ovs.bridgeByName(spec.bridge);
    if (!bridge) throw new NotFoundError(`OVS bridge ${JSON.stringify(spec.bridge)} does not exist`);
    if (this.#ovs.portByName(spec.hostIfName) || this.#ovs.ifaceByName(spec.hostIfName)) {
      throw new ConflictError(`an OVS port named ${spec.hostIfName} already exists`);
    }
    const txOff = spec.txChecksumOff ?? bridge.datapath_type === 'netdev';
    const peerName = spec.target?.ifname ?? spec.containerIfName;
    const peer: Parameters<KernelHandle['createVeth']>[0]['peer'] = { name: peerName };
    if (spec.mtu !== undefined) peer.mtu = spec.mtu;
    if (spec.mac !== undefined) peer.mac = spec.mac;
    if (txOff) peer.txChecksum = false;
    if (spec.target) {
      peer.netns = spec.target.netns;
      peer.up = true;
    }
    try {
      await this.#kernel.createVeth({
        name: spec.hostIfName,
        up: true,
        ...(spec.owner === undefined ? {} : { group: ownerGroup(spec.owner) }),
        ...(spec.mtu === undefined ? {} : { mtu: spec.mtu }),
        peer,
      });
    } catch (err) {
      if (hasErrno(err, 'EEXIST')) {
        throw new ConflictError(`interface ${spec.hostIfName} or ${peerName} already exists`, { cause: err });
      }
      throw new WiringError(`cannot create veth pair ${spec.hostIfName}/${peerName}: ${describeError(err)}`, {
        cause: err,
      });
    }

    let portUuid: PortUuid | undefined;
    try {
      portUuid = await this.#addPort(bridge._uuid, spec);
      if (spec.target) await this.#configureTarget(spec.target, peerName);
      return { bridge: spec.bridge, hostIfName: spec.hostIfName, containerIfName: peerName, portUuid };
    } catch (err) {
      const rollbackErrors: unknown[] = [];
      if (portUuid !== undefined) {
        await this.#removePort(spec.hostIfName).catch((e: unknown) => rollbackErrors.push(e));
      }
      await this.#kernel
        .deleteLink(spec.hostIfName, { missingOk: true })
        .catch((e: unknown) => rollbackErrors.push(e));
      this.#log.warn({ hostIfName: spec.hostIfName, err: String(err), rollbackErrors }, 'attach rolled back');
      if (err instanceof PluginError && !(err instanceof OvsdbFailure)) throw err;
      throw new WiringError(
        `cannot attach ${spec.hostIfName} to bridge ${spec.bridge}: ${describeError(err)}`,
        {
          cause: err,
          rollbackErrors,
        },
      );
    }
  }

  /**
   * Removes the OVS port named `hostIfName` (from whichever bridge holds it) and the veth pair. Idempotent:
   * a missing port or link is success. Returns what was actually removed.
   */
  async detach(ref: { hostIfName: string }): Promise<{ port: boolean; link: boolean }> {
    // The port's QoS (root rows, never garbage-collected) and its mirrors go first (core/port-extras.ts).
    const row = this.#ovs.portByName(ref.hostIfName);
    if (row) await releasePortExtras(this.#ovs, row);
    // vswitchd records the device's ifindex on the Interface; read now, before the removal takes the row.
    // Read back from OVS, so checked: vswitchd leaves the column empty, or 0, until it knows it.
    const recorded = this.#ovs.ifaceByName(ref.hostIfName)?.ifindex;
    const index = isIfindex(recorded) ? recorded : undefined;
    const port = await this.#removePort(ref.hostIfName);
    const link = await this.#reaper.delete(ref.hostIfName, index);
    return { port, link };
  }

  /**
   * Deletes these links (a veth takes its peer along); the ones asked for while another delete is in flight,
   * by this call or any other, go in one link-group delete (link-reaper.ts). Resolves to the names that were
   * there; a missing link is success.
   */
  async deleteLinks(names: readonly string[]): Promise<Set<string>> {
    const was = await Promise.all(names.map((n) => this.#reaper.delete(n)));
    return new Set(names.filter((_, i) => was[i]));
  }

  /** The port `attach` adds for `spec` (for callers composing a larger transaction with `addPort`). */
  static portOf(spec: Omit<AttachSpec, 'bridge' | 'containerIfName'>): NewPort {
    return {
      name: spec.hostIfName,
      ...(spec.tag === undefined ? {} : { tag: spec.tag }),
      ...(spec.trunks === undefined ? {} : { trunks: spec.trunks }),
      externalIds: { ...spec.externalIds },
      iface: { externalIds: { ...spec.externalIds, ...spec.interfaceExternalIds } },
    };
  }

  #addPort(bridge: BridgeUuid, spec: AttachSpec): Promise<PortUuid> {
    return this.#adds.submit({ bridge, port: Wiring.portOf(spec) });
  }

  /**
   * One transaction adding these ports. If the server refused it (a TransactionError: a name taken
   * meanwhile, a bridge deleted) or a value failed validation, each port is tried in a transaction of its
   * own, so one bad port fails its caller alone. Any other failure (an outage; a MaybeCommittedError, which
   * says nothing about which ports exist now) goes to every caller, and each rolls back its own.
   */
  async #addPorts(ps: readonly PendingPort[]): Promise<Map<PendingPort, PortUuid | Error>> {
    const out = new Map<PendingPort, PortUuid | Error>();
    const fail = (p: PendingPort, err: unknown) =>
      out.set(p, ovsdbFailure(`adding port ${p.port.name}`, err));
    try {
      const uuids = await this.#ovs.transact((t) => ps.map((p) => addPort(t, p.bridge, p.port)));
      for (const [i, p] of ps.entries()) out.set(p, uuids[i] as PortUuid);
    } catch (err) {
      const definite = err instanceof TransactionError || err instanceof ValidationError;
      if (ps.length === 1 || !definite) for (const p of ps) fail(p, err);
      else
        await Promise.all(
          ps.map((p) =>
            this.#ovs
              .transact((t) => addPort(t, p.bridge, p.port))
              .then(
                (u) => out.set(p, u),
                (e: unknown) => fail(p, e),
              ),
          ),
        );
    }
    return out;
  }

  /**
   * Removes a port by name from whichever bridge holds it (Port and Interface are garbage-collected).
   * Concurrent removals (DeleteEndpoints, a reconcile pass) share one transaction; each caller learns
   * whether its port was there.
   */
  #removePort(name: string): Promise<boolean> {
    return this.#removals.submit(name);
  }

  /** One transaction taking these ports off their bridges; each name gets whether it was there. */
  async #removePorts(names: readonly string[]): Promise<Map<string, boolean>> {
    const found = new Map<string, PortUuid>();
    for (const n of names) {
      const port = this.#ovs.portByName(n);
      if (port) found.set(n, port._uuid);
    }
    if (found.size > 0)
      await this.#ovs
        .transact((t) => removePorts(t, found.values()))
        .catch((err: unknown) => {
          throw ovsdbFailure(`removing port ${[...found.keys()].join(' ')}`, err);
        });
    return new Map(names.map((n) => [n, found.has(n)]));
  }

  async #configureTarget(target: AttachTarget, ifname: string): Promise<void> {
    if (!target.addresses?.length && !target.routes?.length) return;
    if (!this.#open) throw new WiringError('configuring a target namespace needs `openKernel`');
    const h = this.#open(target.netns);
    try {
      for (const cidr of target.addresses ?? []) {
        try {
          await h.addAddress(ifname, cidr, cidr.includes(':') ? { nodad: true } : {});
        } catch (err) {
          // addrconf refuses an IPv6 address with EACCES when the interface has disable_ipv6=1 (net/ipv6/
          // addrconf.c inet6_addr_add → ipv6_add_addr). Docker sets net.ipv6.conf.all/default.disable_ipv6=1 in
          // containers that are on no IPv6 network (--network none included), and new interfaces inherit it.
          if (cidr.includes(':') && hasErrno(err, 'EACCES')) {
            throw new WiringError(
              `cannot add ${cidr} to ${ifname}: IPv6 is disabled in the target namespace ` +
                '(net.ipv6.conf.default.disable_ipv6=1, as Docker sets it in containers on no IPv6 network, ' +
                'e.g. --network none); start the container with --sysctl net.ipv6.conf.all.disable_ipv6=0 ' +
                `--sysctl net.ipv6.conf.default.disable_ipv6=0, or attach IPv4 addresses only (${describeError(err)})`,
              { cause: err },
            );
          }
          throw err;
        }
      }
      for (const r of target.routes ?? [])
        await h.addRoute({ ...r, ...(r.dev === undefined ? { dev: ifname } : {}) });
    } finally {
      h.close();
    }
  }
}
