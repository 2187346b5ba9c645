// The Docker network driver over OVS and rtnetlink. Stateless: every network is a key in its bridge's
// external_ids, every endpoint an OVS Port with external_ids (records.ts); the OVSDB replica is the only
// memory, so a restarted plugin knows everything at once and Docker's missing CreateNetwork replay
// (PROTOCOLS.md §3) does not matter.

import type {
  CreateEndpointRequest,
  CreateEndpointResponse,
  CreateNetworkRequest,
  EndpointRef,
  IpamData,
  JoinRequest,
  JoinResponse,
} from './api.js';
import {
  applyEndpointExtras,
  changeEndpointLimits,
  parseEndpointExtras,
  recordSandbox,
  shapeWhenMoved,
} from './endpoint-extras.js';
import {
  ConflictError,
  InvalidOptionError,
  InvalidRequestError,
  NotFoundError,
  OvsdbFailure,
  ovsdbFailure,
  PluginError,
  show,
} from './errors.js';
import { hasErrno, isReapingGroup, type KernelHandle, OVS_INTERNAL_KINDS, ownerGroup } from './kernel.js';
import { addMirror, MIRROR_EXT, removeMirrors } from './mirror.js';
import {
  decodeOptionMac,
  gatewayPortName,
  generateMac,
  normalizeMac,
  validatePrefix,
  vethNames,
} from './names.js';
import {
  type DatapathType,
  LABEL_ENABLE_IPV6,
  LABEL_GENERIC,
  LABEL_INTERNAL,
  LABEL_MAC,
  type NetworkOptions,
  parseNetworkOptions,
} from './options.js';
import { type BridgeRow, type PortRow, type PortUuid, userspaceTso } from './ovs/model.js';
import {
  deleteNetworkRecord,
  findNetworkRecord,
  networkRecordEntry,
  networkRecords,
  putNetworkRecord,
  recordAt,
  recordKeys,
  verifyNetworkRecords,
} from './ovs/networks.js';
import { addBridge, insertPort, putPorts, removeBridge, removePorts, trunkVlan } from './ovs/ports.js';
import type { OvsBackend } from './ovs/view.js';
import { encodeNetworkQos, recordedLimits, sweepOrphanQos } from './qos.js';
import { EXT, type NetworkRecord, netKey, type SubnetRecord } from './records.js';
import { canonicalIp, cidrContainsIp, cidrsOverlap, parseCidr } from './rules/cidr.js';
import { idProblem, ownerProblem } from './rules/ids.js';
import { RESERVED_IFNAMES } from './rules/ifname.js';
import { gatewayProblem } from './rules/subnet.js';
import { type DriverStats, type Logger, type NetworkDriverApi, silentLogger } from './types.js';
import { Wiring } from './wiring.js';

export const DEFAULT_DRIVER_NAME = 'ovs-container-network';
/** Priority of the policy-routing rules that keep networks apart at L3 (below main's 32766). */
export const DEFAULT_RULE_PRIORITY = 28515;
/** VLANs handed out when a network names none. */
export const VLAN_ALLOC_FIRST = 2;
export const VLAN_MAX = 4094;

export interface DriverOptions {
  /** Driver name; recorded as owner on everything the driver creates. */
  name?: string;
  ovs: OvsBackend;
  /** rtnetlink handle in the host namespace. */
  kernel: KernelHandle;
  /** Datapath type of bridges the driver creates (`-o datapath_type` overrides per network). */
  datapathType?: DatapathType;
  /** Prefix of every interface name the driver creates (≤ 6 characters). */
  prefix?: string;
  logger?: Logger;
  /** Unjoined endpoints older than this are orphans (Docker never sent DeleteEndpoint). Default 60 s. */
  orphanGraceMs?: number;
  rulePriority?: number;
  /** DHCP IPAM mode (core/dhcp-ipam.ts): CreateNetwork and Join consult it for networks on a DHCP pool. */
  dhcp?: DhcpNetworkHooks;
}

/** What the driver asks DHCP mode (core/dhcp-ipam.ts, DhcpIpam implements it). */
export interface DhcpNetworkHooks {
  networkOptions(
    subnet: string | undefined,
    addressSpace: string | undefined,
    generic: unknown,
    opts: NetworkOptions,
  ): NetworkOptions;
  joined(sandboxKey: string, bridge: string, vlan: number, ipv4: string | undefined): Promise<void>;
}

/** A simple FIFO mutex: network changes and IPAM updates run one at a time in this process. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/** A VLAN pick or a bridge's last network, decided again when another writer changed the bridge meanwhile. */
const NETWORK_ATTEMPTS = { attempts: 20 } as const;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const bare = (cidr: string) => cidr.replace(/\/\d+$/, '');

export class OvsNetworkDriver implements NetworkDriverApi {
  readonly name: string;
  readonly prefix: string;
  readonly datapathType: DatapathType;
  readonly wiring: Wiring;
  readonly #ovs: OvsBackend;
  readonly #kernel: KernelHandle;
  readonly #log: Logger;
  readonly #networkLock = new Mutex();
  /** Endpoints (host interface names) being created or deleted: the reconciler leaves them alone. */
  readonly #busy = new Set<string>();
  readonly #orphanGraceMs: number;
  readonly #rulePriority: number;
  readonly #ruleLock = new Mutex();
  /** Ports already warned about (claim our owner, fail the ownership check): one log line each. */
  readonly #warned = new Set<string>();
  readonly #dhcp: DhcpNetworkHooks | undefined;

  constructor(opts: DriverOptions) {
    this.name = opts.name ?? DEFAULT_DRIVER_NAME;
    const nameProblem = ownerProblem(this.name);
    if (nameProblem) throw new InvalidOptionError('name', this.name, nameProblem);
    this.prefix = validatePrefix(opts.prefix ?? 'ocn');
    this.datapathType = opts.datapathType ?? 'system';
    this.#ovs = opts.ovs;
    this.#kernel = opts.kernel;
    this.#log = opts.logger ?? silentLogger;
    this.#orphanGraceMs = opts.orphanGraceMs ?? 60_000;
    this.#rulePriority = opts.rulePriority ?? DEFAULT_RULE_PRIORITY;
    this.wiring = new Wiring({ ovs: opts.ovs, kernel: opts.kernel, logger: this.#log });
    this.#dhcp = opts.dhcp;
  }

  // ---- reading the replica --------------------------------------------------------------------------------

  /** Every network recorded in OVS (any owner), with its bridge. */
  networks(): Iterable<{ record: NetworkRecord; bridge: BridgeRow }> {
    return networkRecords(this.#ovs);
  }

  /** A network of THIS driver (isOwnRecord), found by id. */
  network(networkId: string): { record: NetworkRecord; bridge: BridgeRow } | undefined {
    const found = this.#anyNetwork(networkId);
    return found && this.isOwnRecord(found.record, found.bridge) ? found : undefined;
  }

  /** A network recorded under this id by anyone (valid records only). */
  #anyNetwork(networkId: string): { record: NetworkRecord; bridge: BridgeRow } | undefined {
    return findNetworkRecord(this.#ovs, networkId);
  }

  /**
   * A record this driver made and may act on: valid (decodeNetwork), owned by this driver, stored on the
   * bridge it names, and its gateway port — the only host interface the driver configures — named as this
   * driver names it. A record written by anyone else into OVS (e.g. `"gatewayPort":"eth0"`) is ignored.
   */
  isOwnRecord(record: NetworkRecord, bridge: BridgeRow): boolean {
    return (
      record.owner === this.name &&
      record.bridge === bridge.name &&
      (record.gatewayPort === undefined || record.gatewayPort === gatewayPortName(record.id, this.prefix))
    );
  }

  /** An endpoint Port this driver made: owner, kind, a valid endpoint id and both veth names derived from it. */
  isOwnEndpointPort(port: PortRow): boolean {
    const ids = port.external_ids;
    const ep = ids[EXT.endpoint];
    if (ids[EXT.owner] !== this.name || ids[EXT.kind] !== 'endpoint' || idProblem(ep)) return false;
    for (let salt = 0; salt < 4; salt++) {
      const n = vethNames(ep as string, this.prefix, salt);
      if (n.host === port.name) return ids[EXT.peer] === n.container;
    }
    return false;
  }

  /** A gateway Port this driver made: owner, kind and the name derived from its network id. */
  isOwnGatewayPort(port: PortRow): boolean {
    const ids = port.external_ids;
    const net = ids[EXT.network];
    return (
      ids[EXT.owner] === this.name &&
      ids[EXT.kind] === 'gateway' &&
      idProblem(net) === undefined &&
      port.name === gatewayPortName(net as string, this.prefix)
    );
  }

  /** The endpoint's Port: found by its derived name (O(1)), checked against its recorded endpoint id. */
  endpointPort(endpointId: string): PortRow | undefined {
    for (let salt = 0; salt < 4; salt++) {
      const port = this.#ovs.portByName(vethNames(endpointId, this.prefix, salt).host);
      if (port?.external_ids[EXT.endpoint] === endpointId && this.isOwnEndpointPort(port)) return port;
      if (!port) break;
    }
    return undefined;
  }

  /**
   * For each subnet of this driver's networks, the addresses in use: gateways, aux addresses and the
   * addresses of its endpoints (canonical text, as the IPAM state records them). What the IPAM reaper keeps.
   */
  addressesInUse(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    const own = new Map<string, NetworkRecord>();
    for (const { record, bridge } of this.networks())
      if (this.isOwnRecord(record, bridge)) own.set(record.id, record);
    const add = (pool: string, a: string | undefined) => {
      const c = a === undefined ? undefined : canonicalIp(a);
      if (c !== undefined) out.get(pool)?.add(c);
    };
    for (const r of own.values()) {
      for (const s of [r.ipv4, r.ipv6]) {
        if (!s) continue;
        out.set(s.pool, out.get(s.pool) ?? new Set());
        add(s.pool, s.gateway);
        for (const a of s.aux ?? []) add(s.pool, a);
      }
    }
    for (const p of this.#ovs.ports()) {
      if (!this.isOwnEndpointPort(p)) continue;
      const r = own.get(p.external_ids[EXT.network] ?? '');
      if (!r) continue;
      if (r.ipv4) add(r.ipv4.pool, p.external_ids[EXT.ipv4]);
      if (r.ipv6) add(r.ipv6.pool, p.external_ids[EXT.ipv6]);
    }
    return out;
  }

  stats(): DriverStats {
    let networks = 0;
    for (const n of this.networks()) if (this.isOwnRecord(n.record, n.bridge)) networks++;
    let endpoints = 0;
    for (const p of this.#ovs.ports()) if (this.isOwnEndpointPort(p)) endpoints++;
    return { networks, endpoints, ovsdbConnected: this.#ovs.connected };
  }

  // ---- networks ----------------------------------------------------------------------------------------

  async createNetwork(req: CreateNetworkRequest): Promise<void> {
    checkId('NetworkID', req.NetworkID);
    const options = req.Options ?? {};
    const ipv6 = options[LABEL_ENABLE_IPV6] === true || options[LABEL_ENABLE_IPV6] === 'true';
    const internal = options[LABEL_INTERNAL] === true || options[LABEL_INTERNAL] === 'true';
    const ipv4 = subnetOf('IPv4Data', req.IPv4Data, false);
    const ipv6Data = subnetOf('IPv6Data', req.IPv6Data, true);
    let opts = parseNetworkOptions(options[LABEL_GENERIC], {
      datapathType: this.datapathType,
      internal,
      ipv6: ipv6 || ipv6Data !== undefined,
      gateway: ipv4?.gateway !== undefined || ipv6Data?.gateway !== undefined,
    });
    // DHCP IPAM mode: a subnet that is a DHCP pool's takes the pool's bridge, VLAN and gateway_mode=external.
    if (this.#dhcp)
      opts = this.#dhcp.networkOptions(
        ipv4?.pool,
        req.IPv4Data?.[0]?.AddressSpace,
        options[LABEL_GENERIC],
        opts,
      );
    await this.#networkLock.run(() => this.#createNetwork(req.NetworkID, opts, ipv4, ipv6Data));
  }

  /** The record CreateNetwork would write (the VLAN as given, or the one `vlan` names). */
  #recordFor(
    id: string,
    opts: NetworkOptions,
    vlan: number,
    ipv4: SubnetRecord | undefined,
    ipv6: SubnetRecord | undefined,
  ): NetworkRecord {
    const record: NetworkRecord = {
      v: 1,
      id,
      owner: this.name,
      bridge: opts.bridge,
      vlan,
      mtu: opts.mtu,
      datapathType: opts.datapathType,
      gatewayMode: opts.gatewayMode,
      isolate: opts.isolate,
    };
    if (opts.tenantId !== undefined) record.tenant = opts.tenantId;
    if (opts.uplink !== undefined) record.uplink = opts.uplink;
    if (!opts.masquerade) record.masquerade = false; // ns16
    if (ipv4) record.ipv4 = ipv4;
    if (ipv6) record.ipv6 = ipv6;
    if (opts.gatewayMode === 'internal' && (ipv4?.gateway || ipv6?.gateway)) {
      record.gatewayPort = gatewayPortName(id, this.prefix);
    }
    const qos = encodeNetworkQos(opts.qos);
    if (qos) record.qos = qos;
    if (opts.mirrorTo !== undefined) record.mirrorTo = opts.mirrorTo;
    return record;
  }

  /**
   * Two networks whose gateway ports hold addresses of overlapping subnets would give the host two routes
   * for one destination. Docker never creates such networks itself (its IPAM refuses overlapping pools), so
   * the other one is a record Docker does not know — typically a CreateNetwork whose reply a restart cut
   * off (Docker then failed the command and never sends DeleteNetwork). Refuse, and say how to remove it.
   */
  #checkRoutedSubnets(
    id: string,
    opts: NetworkOptions,
    ipv4: SubnetRecord | undefined,
    ipv6: SubnetRecord | undefined,
  ): void {
    if (opts.gatewayMode !== 'internal') return;
    for (const mine of [ipv4, ipv6]) {
      if (!mine?.gateway) continue;
      for (const { record, bridge } of this.networks()) {
        if (record.id === id || !record.gatewayPort || !this.isOwnRecord(record, bridge)) continue;
        for (const theirs of [record.ipv4, record.ipv6]) {
          if (!theirs?.gateway || theirs.pool.includes(':') !== mine.pool.includes(':')) continue;
          if (!cidrsOverlap(theirs.pool, mine.pool)) continue;
          throw new ConflictError(
            `subnet ${mine.pool} overlaps ${theirs.pool} of network ${record.id.slice(0, 12)}, recorded in OVS on bridge ${bridge.name} with a gateway port; if Docker does not know that network (e.g. its CreateNetwork was cut off by a plugin restart), remove it with \`ovs-vsctl br-set-external-id ${bridge.name} ocn-net-${record.id}\` and the reconciler removes its gateway port`,
          );
        }
      }
    }
  }

  /** bridge= and uplink= name host interfaces: refuse the ones a network must not take over. */
  async #checkInterfaces(opts: NetworkOptions): Promise<void> {
    if (!this.#ovs.bridgeByName(opts.bridge)) {
      // OVS would create the bridge's internal interface under this name: it must not be a host interface.
      const link = await this.#kernel.findLink(opts.bridge);
      if (link && !OVS_INTERNAL_KINDS.has(link.kind ?? '')) {
        throw new InvalidOptionError(
          'bridge',
          opts.bridge,
          `an OVS bridge, or a name no host interface has (${opts.bridge} is a ${link.kind ?? 'physical'} interface)`,
        );
      }
    }
    if (opts.uplink === undefined) return;
    const up = opts.uplink;
    if (up === opts.bridge)
      throw new InvalidOptionError('uplink', up, 'a host interface other than the bridge itself');
    const oursRe = new RegExp(`^${this.prefix}[hcg][a-z2-7]{${15 - this.prefix.length - 1}}$`);
    if (oursRe.test(up) || this.#ovs.bridgeByName(up))
      throw new InvalidOptionError(
        'uplink',
        up,
        `a host interface that is not an OVS bridge or one of this driver's (${this.prefix}…)`,
      );
    const link = await this.#kernel.findLink(up);
    if (!link) throw new InvalidOptionError('uplink', up, 'an existing host interface');
    if (RESERVED_IFNAMES.has(up) || OVS_INTERNAL_KINDS.has(link.kind ?? ''))
      throw new InvalidOptionError(
        'uplink',
        up,
        'a host interface that is not loopback or an OVS internal port',
      );
    const upPort = this.#ovs.portByName(up);
    const upBridge = upPort && this.#ovs.bridgeOfPort(upPort._uuid);
    if (upBridge && upBridge.name !== opts.bridge) {
      throw new InvalidOptionError(
        'uplink',
        up,
        `an interface not already on another bridge (it is on ${upBridge.name})`,
      );
    }
  }

  async #createNetwork(
    id: string,
    opts: NetworkOptions,
    ipv4: SubnetRecord | undefined,
    ipv6: SubnetRecord | undefined,
  ): Promise<void> {
    const existing = this.#anyNetwork(id);
    if (existing) {
      // Idempotent only for the same request: a different one must not be answered 200 with the old record.
      const want = this.#recordFor(id, opts, opts.vlan ?? existing.record.vlan, ipv4, ipv6);
      const diff = recordDiff(existing.record, want);
      if (diff.length > 0 || !this.isOwnRecord(existing.record, existing.bridge)) {
        throw new ConflictError(
          `network ${id.slice(0, 12)} is already recorded${existing.record.owner === this.name ? '' : ` by ${existing.record.owner}`} with other settings (${diff.join(', ') || 'owner'}); delete it first`,
        );
      }
      this.#log.info({ networkId: id.slice(0, 12) }, 'network already recorded; CreateNetwork is idempotent');
      return;
    }
    await this.#checkInterfaces(opts);
    this.#checkRoutedSubnets(id, opts, ipv4, ipv6);
    let record: NetworkRecord | undefined;
    await this.#ovs
      .optimistic((t) => {
        t.comment(`${this.name}: create network ${id.slice(0, 12)}`);
        const bridge = this.#ovs.bridgeByName(opts.bridge);
        if (
          bridge &&
          bridge.datapath_type !== opts.datapathType &&
          (bridge.datapath_type !== '' || opts.datapathType !== 'system')
        ) {
          throw new InvalidOptionError(
            'datapath_type',
            opts.datapathType,
            `the datapath type of existing bridge ${opts.bridge} (${bridge.datapath_type || 'system'})`,
          );
        }
        const used = new Map<number, string>();
        for (const n of this.networks())
          if (n.record.bridge === opts.bridge) used.set(n.record.vlan, n.record.id);
        let vlan = opts.vlan;
        if (vlan !== undefined) {
          const other = used.get(vlan);
          if (other !== undefined) {
            throw new ConflictError(
              `invalid option vlan=${vlan}: VLAN ${vlan} is already used on bridge ${opts.bridge} by network ${other.slice(0, 12)}; pick another VLAN or bridge`,
            );
          }
        } else {
          for (let v = VLAN_ALLOC_FIRST; v <= VLAN_MAX && vlan === undefined; v++) if (!used.has(v)) vlan = v;
          if (vlan === undefined) throw new ConflictError(`bridge ${opts.bridge} has no free VLAN left`);
        }
        const rec = this.#recordFor(id, opts, vlan, ipv4, ipv6);
        record = rec;
        const portIds = (kind: string) => ({
          [EXT.owner]: this.name,
          [EXT.kind]: kind,
          [EXT.network]: id,
          ...(rec.tenant === undefined ? {} : { [EXT.tenant]: rec.tenant }),
        });
        // The network's own ports: its gateway (an internal port holding the gateway addresses) and its
        // uplink (a trunk of the network VLANs), inserted here and put on the bridge below.
        const ports = [];
        if (rec.gatewayPort) {
          ports.push(
            insertPort(t, {
              name: rec.gatewayPort,
              tag: vlan,
              externalIds: portIds('gateway'),
              iface: { type: 'internal', mtuRequest: rec.mtu, externalIds: portIds('gateway') },
            }),
          );
        }
        const up = rec.uplink === undefined ? undefined : this.#ovs.portByName(rec.uplink);
        if (up) trunkVlan(t, up._uuid, 'insert', vlan);
        else if (rec.uplink !== undefined) {
          ports.push(
            insertPort(t, {
              name: rec.uplink,
              trunks: [vlan],
              externalIds: { [EXT.owner]: this.name, [EXT.kind]: 'uplink' },
            }),
          );
        }
        if (bridge) {
          // Two writers that picked the same free VLAN from the same view cannot both commit.
          verifyNetworkRecords(t, bridge);
          putNetworkRecord(t, bridge._uuid, rec);
          putPorts(t, bridge._uuid, ports);
        } else {
          const root = this.#ovs.root();
          if (!root)
            throw new OvsdbFailure('the Open_vSwitch table has no row (was the database initialised?)');
          addBridge(t, root, {
            name: opts.bridge,
            datapathType: opts.datapathType,
            externalIds: { [EXT.owner]: this.name, ...networkRecordEntry(rec) },
            ports,
          });
        }
      }, NETWORK_ATTEMPTS)
      .catch((err: unknown) => {
        if (err instanceof PluginError) throw err;
        throw ovsdbFailure(`recording network ${id.slice(0, 12)} in OVS`, err);
      });
    if (!record) return;
    try {
      await this.#setupGateway(record);
      await this.syncIsolation();
      // qos17: `-o mirror.to`: the whole VLAN, to the monitor (pending until it joins; core/mirror.ts).
      if (record.mirrorTo !== undefined)
        await addMirror(this.#ovs, {
          bridge: record.bridge,
          source: { vlan: record.vlan },
          to: record.mirrorTo,
          owner: this.name,
          network: record.id,
        });
    } catch (err) {
      await this.#removeNetwork(record).catch(() => undefined);
      throw err;
    }
    this.#log.info(
      {
        networkId: id.slice(0, 12),
        bridge: record.bridge,
        vlan: record.vlan,
        gatewayMode: record.gatewayMode,
      },
      'network created',
    );
  }

  /** Gateway addresses on the internal port (vswitchd creates its tap device after the transaction). */
  async #setupGateway(record: NetworkRecord): Promise<void> {
    const name = record.gatewayPort;
    if (!name) return;
    let link = await this.#kernel.findLink(name);
    for (let i = 0; !link && i < 250; i++) {
      await sleep(20);
      link = await this.#kernel.findLink(name);
    }
    if (!link) {
      const iface = this.#ovs.ifaceByName(name);
      throw new OvsdbFailure(
        `ovs-vswitchd did not create the gateway port ${name}${iface?.error ? `: ${iface.error}` : ''} (is ovs-vswitchd running, with datapath_type ${record.datapathType}?)`,
      );
    }
    // Act only on the OVS internal port this driver recorded: never on a host interface of that name.
    const port = this.#ovs.portByName(name);
    const iface = this.#ovs.ifaceByName(name);
    if (
      !port ||
      !this.isOwnGatewayPort(port) ||
      port.external_ids[EXT.network] !== record.id ||
      iface?.type !== 'internal' ||
      !OVS_INTERNAL_KINDS.has(link.kind ?? '')
    ) {
      throw new ConflictError(
        `gateway port ${name} of network ${record.id.slice(0, 12)} is not an OVS internal port of driver ${this.name} (kernel kind ${link.kind ?? 'none'}); leaving it alone`,
      );
    }
    await this.#kernel.setLink(name, { mtu: record.mtu, up: true }).catch((err: unknown) => {
      throw new InvalidOptionError('mtu', record.mtu, `an MTU gateway port ${name} accepts`, { cause: err });
    });
    for (const gw of [record.ipv4?.gateway, record.ipv6?.gateway]) {
      if (!gw) continue;
      await this.#kernel.addAddress(
        name,
        gw,
        gw.includes(':') ? { nodad: true, replace: true } : { replace: true },
      );
    }
  }

  async deleteNetwork(req: { NetworkID: string }): Promise<void> {
    await this.#networkLock.run(async () => {
      const found = this.network(req.NetworkID);
      if (!found) {
        this.#log.info({ networkId: req.NetworkID.slice(0, 12) }, 'network not recorded; nothing to delete');
        return;
      }
      await this.#removeNetwork(found.record);
      await this.syncIsolation();
    });
  }

  /** Removes a network's endpoints, gateway and uplink trunk, its record, and the bridge if it was ours and is now empty. */
  async #removeNetwork(record: NetworkRecord): Promise<void> {
    // qos17: the network's own mirror goes with it (its endpoints' mirrors go with them, in Wiring.detach).
    if (record.mirrorTo !== undefined)
      await removeMirrors(this.#ovs, { owner: this.name, network: record.id });
    // Endpoints Docker forgot to delete first: their veths go with them.
    for (const p of [...this.#ovs.ports()]) {
      if (p.external_ids[EXT.network] === record.id && this.isOwnEndpointPort(p)) {
        await this.wiring.detach({ hostIfName: p.name });
      }
    }
    // Cleanup by record: the isolation rules of this network's gateway port go before the record does.
    if (record.gatewayPort) await this.#deleteRulesOf(record.gatewayPort);
    let bridgeName: string | undefined;
    await this.#ovs
      .optimistic((t) => {
        bridgeName = undefined;
        const bridge = this.#ovs.bridgeByName(record.bridge);
        if (!bridge) return;
        bridgeName = bridge.name;
        t.comment(`${this.name}: delete network ${record.id.slice(0, 12)}`);
        verifyNetworkRecords(t, bridge);
        deleteNetworkRecord(t, bridge._uuid, record.id);
        const removedPorts = new Set<PortUuid>();
        const gw = record.gatewayPort ? this.#ovs.portByName(record.gatewayPort) : undefined;
        if (gw && this.isOwnGatewayPort(gw)) removedPorts.add(gw._uuid);
        const remaining = recordKeys(bridge).filter((k) => k !== netKey(record.id));
        if (record.uplink !== undefined) {
          const up = this.#ovs.portByName(record.uplink);
          if (up) {
            const stillUsed = remaining.some((k) => recordAt(bridge, k)?.uplink === record.uplink);
            if (!stillUsed && up.external_ids[EXT.owner] === this.name) removedPorts.add(up._uuid);
            else trunkVlan(t, up._uuid, 'delete', record.vlan);
          }
        }
        const ownBridge = bridge.external_ids[EXT.owner] === this.name;
        const otherPorts = bridge.ports.filter(
          (p) => !removedPorts.has(p) && this.#ovs.port(p)?.name !== bridge.name,
        );
        const root = this.#ovs.root();
        if (ownBridge && remaining.length === 0 && otherPorts.length === 0 && root)
          removeBridge(t, root, bridge._uuid);
        else removePorts(t, removedPorts);
      }, NETWORK_ATTEMPTS)
      .catch((err: unknown) => {
        throw ovsdbFailure(`removing network ${record.id.slice(0, 12)} from OVS`, err);
      });
    if (bridgeName !== undefined)
      this.#log.info({ networkId: record.id.slice(0, 12), bridge: record.bridge }, 'network deleted');
  }

  // ---- endpoints ---------------------------------------------------------------------------------------

  async createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResponse> {
    checkId('NetworkID', req.NetworkID);
    checkId('EndpointID', req.EndpointID);
    const found = this.network(req.NetworkID);
    if (!found)
      throw new NotFoundError(`network ${req.NetworkID.slice(0, 12)} is not known to driver ${this.name}`);
    const net = found.record;
    const iface = req.Interface ?? {};
    const given = iface.MacAddress ?? '';
    let mac: string;
    if (given !== '') mac = normalizeMac('MacAddress', given);
    else {
      const fromOption = decodeOptionMac(req.Options?.[LABEL_MAC]);
      mac = fromOption ? normalizeMac(LABEL_MAC, fromOption) : generateMac(req.EndpointID);
    }
    for (const [field, addr, subnet] of [
      ['Address', iface.Address, net.ipv4?.pool],
      ['AddressIPv6', iface.AddressIPv6, net.ipv6?.pool],
    ] as const) {
      if (addr && subnet && !cidrContainsIp(subnet, addr)) {
        throw new InvalidRequestError(`${field} ${addr} is not in the network's subnet ${subnet}`);
      }
    }
    const reply: CreateEndpointResponse = given === '' ? { Interface: { MacAddress: mac } } : {};
    // qos17: --driver-opt rate.* / burst.* / mirror.* (core/endpoint-extras.ts), checked before anything is made.
    const extras = parseEndpointExtras(req.Options, net);

    const existing = this.endpointPort(req.EndpointID);
    if (existing && existing.external_ids[EXT.network] !== net.id) {
      throw new ConflictError(
        `endpoint ${req.EndpointID.slice(0, 12)} already exists on network ${String(existing.external_ids[EXT.network]).slice(0, 12)}`,
      );
    }
    if (existing) {
      this.#log.info(
        { endpointId: req.EndpointID.slice(0, 12) },
        'endpoint exists; CreateEndpoint is idempotent',
      );
      return reply;
    }
    const ids: Record<string, string> = {
      [EXT.owner]: this.name,
      [EXT.kind]: 'endpoint',
      [EXT.network]: net.id,
      [EXT.endpoint]: req.EndpointID,
      [EXT.created]: String(Date.now()),
    };
    if (net.tenant !== undefined) ids[EXT.tenant] = net.tenant;
    if (extras.monitor !== undefined) ids[MIRROR_EXT.monitor] = extras.monitor;
    if (iface.Address) ids[EXT.ipv4] = iface.Address;
    if (iface.AddressIPv6) ids[EXT.ipv6] = iface.AddressIPv6;
    const attach = async (names: { host: string; container: string }): Promise<void> => {
      this.#busy.add(names.host);
      try {
        await this.wiring.attach({
          bridge: net.bridge,
          hostIfName: names.host,
          containerIfName: names.container,
          mtu: net.mtu,
          mac,
          tag: net.vlan,
          externalIds: { ...ids, [EXT.peer]: names.container },
          interfaceExternalIds: { [EXT.attachedMac]: mac, [EXT.ifaceId]: req.EndpointID },
          // A userspace datapath forwards unfinished checksums unless it runs with userspace TSO.
          txChecksumOff: net.datapathType === 'netdev' && !userspaceTso(this.#ovs.root()),
          owner: this.name,
        });
        await applyEndpointExtras(this.#ovs, net, names.host, this.name, extras).catch(
          async (err: unknown) => {
            await this.wiring.detach({ hostIfName: names.host }).catch(() => undefined);
            await this.#kernel.deleteLink(names.container, { missingOk: true }).catch(() => undefined);
            throw err;
          },
        );
      } finally {
        this.#busy.delete(names.host);
      }
    };
    // The names free in OVS are tried at once: the veth is created with CREATE|EXCL, so a kernel link that
    // holds one of them (rare: a crash between veth and OVS, or someone else's link) makes it fail with
    // EEXIST and nothing is made. Only then are the kernel's links looked up (two RTM_GETLINKs, each of which
    // blocks the event loop for as long as the rtnl lock is busy, ~1 ms under load, saved on every other
    // CreateEndpoint).
    try {
      await attach(this.#namesFreeInOvs(req.EndpointID));
    } catch (err) {
      if (!(err instanceof ConflictError) || !hasErrno(err.cause, 'EEXIST')) throw err;
      await attach(await this.#freeNames(req.EndpointID));
    }
    return reply;
  }

  #takenInOvs(name: string): boolean {
    return this.#ovs.portByName(name) !== undefined || this.#ovs.ifaceByName(name) !== undefined;
  }

  /** The first host/container names for an endpoint that no OVS port or interface uses. */
  #namesFreeInOvs(endpointId: string): { host: string; container: string } {
    for (let salt = 0; salt < 4; salt++) {
      const n = vethNames(endpointId, this.prefix, salt);
      if (!this.#takenInOvs(n.host)) return n;
    }
    throw new ConflictError(`no free interface name for endpoint ${endpointId.slice(0, 12)}`);
  }

  /** Host/container names for an endpoint that are free in OVS and in the kernel (collision-checked). */
  async #freeNames(endpointId: string): Promise<{ host: string; container: string }> {
    for (let salt = 0; salt < 4; salt++) {
      const n = vethNames(endpointId, this.prefix, salt);
      if (this.#takenInOvs(n.host)) continue;
      const [h, c] = await Promise.all([this.#kernel.findLink(n.host), this.#kernel.findLink(n.container)]);
      if (h || c) {
        // A leftover of this very endpoint (e.g. a crash between veth and OVS) is ours to replace.
        if (
          salt === 0 &&
          !this.#busy.has(n.host) &&
          h?.kind === 'veth' &&
          h.group === ownerGroup(this.name)
        ) {
          await this.#kernel.deleteLink(n.host, { missingOk: true });
          return n;
        }
        continue;
      }
      return n;
    }
    throw new ConflictError(`no free interface name for endpoint ${endpointId.slice(0, 12)}`);
  }

  async join(req: JoinRequest): Promise<JoinResponse> {
    checkId('NetworkID', req.NetworkID);
    checkId('EndpointID', req.EndpointID);
    const found = this.network(req.NetworkID);
    if (!found)
      throw new NotFoundError(`network ${req.NetworkID.slice(0, 12)} is not known to driver ${this.name}`);
    const port = this.endpointPort(req.EndpointID);
    if (!port || port.external_ids[EXT.network] !== req.NetworkID)
      throw new NotFoundError(
        `endpoint ${req.EndpointID.slice(0, 12)} does not exist on network ${req.NetworkID.slice(0, 12)}`,
      );
    const net = found.record;
    // qos17: what the container sends is shaped on its veth end, once Docker has moved it into the sandbox.
    if (recordedLimits(port.external_ids).egress && typeof req.SandboxKey === 'string')
      shapeWhenMoved(port.name, req.SandboxKey, recordedLimits(port.external_ids).egress, this.#log);
    // ovn17: the sandbox is recorded, so that /Ocn.SetRateLimit can change the egress limit later.
    if (typeof req.SandboxKey === 'string') await recordSandbox(this.#ovs, port, req.SandboxKey);
    const reply: JoinResponse = {
      InterfaceName: { SrcName: port.external_ids[EXT.peer] ?? '', DstPrefix: 'eth' },
      // We never want Docker's docker_gwbridge: the gateway (if any) is ours or the uplink's router.
      DisableGatewayService: true,
    };
    if (net.gatewayMode !== 'none') {
      if (net.ipv4?.gateway) reply.Gateway = bare(net.ipv4.gateway);
      if (net.ipv6?.gateway) reply.GatewayIPv6 = bare(net.ipv6.gateway);
    }
    // DHCP IPAM mode: renewals go from the container's namespace (core/dhcp-ipam.ts).
    await this.#dhcp?.joined(req.SandboxKey, net.bridge, net.vlan, port.external_ids[EXT.ipv4]);
    return reply;
  }

  /** `/Ocn.SetRateLimit` (http/app.ts): changes a running endpoint's limits (endpoint-extras.ts). */
  async setEndpointQos(req: {
    NetworkID: string;
    EndpointID: string;
    Options: Record<string, unknown>;
  }): Promise<Record<string, unknown>> {
    checkId('NetworkID', req.NetworkID);
    checkId('EndpointID', req.EndpointID);
    const found = this.network(req.NetworkID);
    if (!found)
      throw new NotFoundError(`network ${req.NetworkID.slice(0, 12)} is not known to driver ${this.name}`);
    const port = this.endpointPort(req.EndpointID);
    if (!port || port.external_ids[EXT.network] !== req.NetworkID)
      throw new NotFoundError(
        `endpoint ${req.EndpointID.slice(0, 12)} does not exist on network ${req.NetworkID.slice(0, 12)}`,
      );
    const limits = await changeEndpointLimits(this.#ovs, {
      port,
      owner: this.name,
      mtu: found.record.mtu,
      options: req.Options,
    });
    return { Limits: limits };
  }

  async leave(_req: EndpointRef): Promise<void> {
    // Docker moves the interface back to the host after Leave; DeleteEndpoint removes it.
  }

  async deleteEndpoint(req: EndpointRef): Promise<void> {
    checkId('NetworkID', req.NetworkID);
    checkId('EndpointID', req.EndpointID);
    const port = this.endpointPort(req.EndpointID);
    const recorded = port?.external_ids[EXT.network];
    if (port && recorded !== req.NetworkID) {
      throw new InvalidRequestError(
        `endpoint ${req.EndpointID.slice(0, 12)} belongs to network ${String(recorded).slice(0, 12)}, not ${req.NetworkID.slice(0, 12)}; nothing was deleted`,
      );
    }
    const host = port?.name ?? vethNames(req.EndpointID, this.prefix).host;
    this.#busy.add(host);
    try {
      const removed = await this.wiring.detach({ hostIfName: host });
      const peer = port ? port.external_ids[EXT.peer] : undefined;
      // If the pair was broken (host end gone), the container end may still be in the host namespace; with
      // the host end there, deleting it took the peer along.
      if (peer && !removed.link) await this.#kernel.deleteLink(peer, { missingOk: true });
      this.#log.debug({ endpointId: req.EndpointID.slice(0, 12), ...removed }, 'endpoint deleted');
    } finally {
      this.#busy.delete(host);
    }
  }

  async endpointOperInfo(req: EndpointRef): Promise<Record<string, unknown>> {
    const port = this.endpointPort(req.EndpointID);
    return port ? { 'ocn.port': port.name, 'ocn.vlan': port.tag ?? 0 } : {};
  }

  // ---- L3 isolation --------------------------------------------------------------------------------------

  /**
   * Policy-routing rules (no netfilter): for each gateway port g_i of an isolating network i and each other
   * network j of this driver, `iif g_i to subnet(j) prohibit`. Traffic that a container sends to its gateway
   * for another network is answered with "prohibited" instead of being routed. Networks that both say
   * `isolate=false` route to each other. Local addresses are looked up first (rule 0), so the host's own
   * addresses stay reachable. Recomputed from OVS; extra rules of ours are removed.
   */
  syncIsolation(): Promise<void> {
    return this.#ruleLock.run(async () => {
      const nets = [...this.networks()]
        .filter((n) => this.isOwnRecord(n.record, n.bridge))
        .map((n) => n.record);
      const ownGateways = new Set(nets.flatMap((n) => (n.gatewayPort ? [n.gatewayPort] : [])));
      const want = new Map<string, { iif: string; to: string; family: 4 | 6 }>();
      for (const i of nets) {
        if (!i.gatewayPort) continue;
        for (const j of nets) {
          if (j.id === i.id || (!i.isolate && !j.isolate)) continue;
          for (const s of [j.ipv4, j.ipv6]) {
            if (!s) continue;
            const to = parseCidr('subnet', s.pool).text;
            const family = to.includes(':') ? 6 : 4;
            want.set(`${family} ${i.gatewayPort} ${to}`, { iif: i.gatewayPort, to, family });
          }
        }
      }
      const have = new Set<string>();
      for (const family of [4, 6] as const) {
        const rules = await this.#kernel.listRules({ family });
        for (const r of rules) {
          if (r.priority !== this.#rulePriority || r.action !== 'prohibit' || !r.iif || !r.to) continue;
          const key = `${family} ${r.iif} ${r.to}`;
          if (want.has(key)) {
            have.add(key);
            continue;
          }
          // A rule no longer wanted, on the gateway port of one of OUR records (cleanup by record: a rule
          // is never judged by its name; #removeNetwork removes a deleted network's rules itself).
          if (ownGateways.has(r.iif)) {
            await this.#kernel
              .deleteRule({ family, priority: this.#rulePriority, iif: r.iif, to: r.to, action: 'prohibit' })
              .catch((err: unknown) => {
                if (!hasErrno(err, 'ENOENT')) throw err;
              });
          }
        }
      }
      for (const [key, r] of want) {
        if (have.has(key)) continue;
        await this.#kernel
          .addRule({
            family: r.family,
            priority: this.#rulePriority,
            iif: r.iif,
            to: r.to,
            action: 'prohibit',
          })
          .catch((err: unknown) => {
            if (!hasErrno(err, 'EEXIST')) throw err;
          });
      }
    });
  }

  /** Removes every isolation rule of ours whose iif is `gatewayPort` (a network being deleted). */
  #deleteRulesOf(gatewayPort: string): Promise<void> {
    return this.#ruleLock.run(async () => {
      for (const family of [4, 6] as const) {
        for (const r of await this.#kernel.listRules({ family })) {
          if (r.priority !== this.#rulePriority || r.action !== 'prohibit' || r.iif !== gatewayPort || !r.to)
            continue;
          await this.#kernel
            .deleteRule({ family, priority: this.#rulePriority, iif: r.iif, to: r.to, action: 'prohibit' })
            .catch((err: unknown) => {
              if (!hasErrno(err, 'ENOENT')) throw err;
            });
        }
      }
    });
  }

  // ---- reconciliation ------------------------------------------------------------------------------------

  /**
   * Removes what no endpoint needs any more, and nothing else:
   * - endpoint ports of this driver whose host veth is gone (the container's namespace died with it);
   * - endpoint ports whose container end is still in the host namespace after the grace period (never
   *   joined, or left and never deleted — e.g. Docker sent DeleteEndpoint while the plugin was down);
   * - endpoint ports of networks that are no longer recorded, and gateway ports without their network;
   * - veths with this driver's prefix that no port references (a crash between veth and OVS);
   * then re-applies gateway addresses and isolation rules.
   */
  async reconcile(): Promise<{ removed: string[] }> {
    const removed: string[] = [];
    const links = new Map((await this.#kernel.listLinks()).map((l) => [l.name, l]));
    // Every name any OVS port (of any owner) uses: never an orphan of ours.
    const known = new Set<string>();
    for (const port of this.#ovs.ports()) {
      known.add(port.name);
      const peer = port.external_ids[EXT.peer];
      if (peer) known.add(peer);
    }
    const now = Date.now();
    for (const port of [...this.#ovs.ports()]) {
      const ids = port.external_ids;
      // Ownership comes from the record (owner + names derived from its ids), never from a name prefix:
      // another user of the core (an Orchestrator, another driver) may use the same prefix.
      const kind = ids[EXT.kind];
      const isEndpoint = kind === 'endpoint' && this.isOwnEndpointPort(port);
      const isGateway = kind === 'gateway' && this.isOwnGatewayPort(port);
      if (!isEndpoint && !isGateway) {
        if (ids[EXT.owner] === this.name && !this.#busy.has(port.name) && !this.#warned.has(port._uuid)) {
          this.#warned.add(port._uuid);
          this.#log.warn(
            { port: port.name },
            'ignoring a port that claims this driver as owner but was not made by it',
          );
        }
        continue;
      }
      if (this.#busy.has(port.name)) continue;
      const networkId = ids[EXT.network];
      const peer = ids[EXT.peer];
      let why: string | undefined;
      if (isEndpoint) {
        const created = Number(ids[EXT.created] ?? '0');
        if (!networkId || !this.network(networkId)) why = 'its network is gone';
        else if (!links.has(port.name)) why = 'its veth is gone';
        else if (peer && links.has(peer) && now - created >= this.#orphanGraceMs) {
          why = 'its container end never left the host';
        }
      } else if (!networkId || this.network(networkId)?.record.gatewayPort !== port.name) {
        why = 'its network is gone';
      }
      if (!why) continue;
      this.#busy.add(port.name);
      try {
        await this.wiring.detach({ hostIfName: port.name });
        if (peer && links.get(peer)?.kind === 'veth')
          await this.#kernel.deleteLink(peer, { missingOk: true });
        removed.push(port.name);
        this.#log.warn(
          { port: port.name, endpointId: ids[EXT.endpoint]?.slice(0, 12), why },
          'removed orphan',
        );
      } catch (err) {
        this.#log.error({ port: port.name, err: String(err) }, 'cannot remove orphan');
      } finally {
        this.#busy.delete(port.name);
      }
    }
    // Veths left by a crash between the kernel and OVS: host ends created in this driver's link group, or
    // moved into a reaping group by a delete that a kill cut short (their ports were removed before).
    const group = ownerGroup(this.name);
    const ours = (g: number | undefined) => g === group || isReapingGroup(g);
    const hostRe = new RegExp(`^${this.prefix}h[a-z2-7]{${15 - this.prefix.length - 1}}$`);
    for (const [name, link] of links) {
      if (link.kind !== 'veth' || !ours(link.group) || !hostRe.test(name) || known.has(name)) continue;
      if (this.#busy.has(name)) continue;
      // Re-check: it may have been created (and recorded) since we listed the ports.
      if (this.#ovs.portByName(name)) continue;
      const fresh = await this.#kernel.findLink(name);
      if (!ours(fresh?.group)) continue;
      await this.#kernel.deleteLink(name, { missingOk: true }).catch(() => undefined);
      removed.push(name);
      this.#log.warn({ link: name }, 'removed orphan veth');
    }
    for (const { record, bridge } of [...this.networks()]) {
      if (!this.isOwnRecord(record, bridge) || !record.gatewayPort) continue;
      await this.#setupGateway(record).catch((err: unknown) =>
        this.#log.error({ networkId: record.id.slice(0, 12), err: String(err) }, 'gateway setup failed'),
      );
    }
    await this.syncIsolation();
    // qos17: QoS/Queue rows are root rows: ours that no port references (a crash mid-removal) go here.
    await sweepOrphanQos(this.#ovs, this.name).catch((err: unknown) =>
      this.#log.error({ err: String(err) }, 'QoS sweep failed'),
    );
    return { removed };
  }
}

function checkId(field: string, value: unknown): void {
  const problem = idProblem(value);
  if (problem) throw new InvalidRequestError(`invalid ${field} ${show(value)}: expected ${problem}`);
}

/** The fields in which two records of one network differ. */
function recordDiff(a: NetworkRecord, b: NetworkRecord): string[] {
  const x0 = new Map<string, unknown>(Object.entries(a));
  const y0 = new Map<string, unknown>(Object.entries(b));
  const out: string[] = [];
  for (const k of new Set([...x0.keys(), ...y0.keys()])) {
    const x = x0.get(k);
    const y = y0.get(k);
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${k} ${show(x)} → ${show(y)}`);
  }
  return out;
}

function subnetOf(field: string, data: IpamData[] | null | undefined, v6: boolean): SubnetRecord | undefined {
  const first = data?.[0];
  if (!first?.Pool) return undefined;
  try {
    const pool = parseCidr(`${field}.Pool`, first.Pool, v6).text;
    const out: SubnetRecord = { pool };
    if (first.Gateway) {
      // Docker sends "ip/len"; a bare ip gets the pool's length. Either way it must lie in the pool, with
      // the pool's length (rules/subnet.ts): `10.77.2.1/8` on a /24 would route all of 10/8 to the port.
      const gw = first.Gateway.includes('/') ? first.Gateway : `${first.Gateway}/${pool.split('/')[1]}`;
      const problem = gatewayProblem(pool, gw);
      if (problem)
        throw new InvalidRequestError(`invalid ${field}.Gateway ${show(first.Gateway)}: expected ${problem}`);
      out.gateway = gw;
    }
    const aux = Object.values(first.AuxAddresses ?? {});
    if (aux.length > 0) {
      const bad = aux.find((a) => typeof a !== 'string' || !cidrContainsIp(pool, a));
      if (bad !== undefined)
        throw new InvalidRequestError(
          `invalid ${field}.AuxAddresses ${show(bad)}: expected addresses inside ${pool}`,
        );
      out.aux = aux.map((a) => a.replace(/\/\d+$/, ''));
    }
    return out;
  } catch (err) {
    if (err instanceof PluginError && !(err instanceof InvalidRequestError))
      throw new InvalidRequestError(err.message, { cause: err });
    throw err;
  }
}
