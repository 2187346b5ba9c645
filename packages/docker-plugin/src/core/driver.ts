// The Docker network driver over OVS and rtnetlink. Stateless: every network is a key in its bridge's
// external_ids, every endpoint an OVS Port with external_ids (records.ts); the OVSDB replica is the only
// memory, so a restarted plugin knows everything at once and Docker's missing CreateNetwork replay
// (PROTOCOLS.md §3) does not matter.
import {
  ConflictError,
  InvalidOptionError,
  InvalidRequestError,
  NotFoundError,
  OvsdbFailure,
  PluginError,
} from './errors.js';
import { cidrContainsIp, parseCidr } from './ipam.js';
import { hasErrno, type KernelHandle } from './kernel.js';
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
import {
  type BridgeRow,
  comment,
  insert,
  map,
  mutate,
  named,
  type OvsBackend,
  type OvsOp,
  type PortRow,
  set,
  transactionFailure,
  uuid,
  waitUnchanged,
} from './ovs.js';
import {
  decodeNetwork,
  EXT,
  encodeNetwork,
  NET_KEY_PREFIX,
  type NetworkRecord,
  netKey,
  type SubnetRecord,
} from './records.js';
import type {
  CreateEndpointRequest,
  CreateEndpointResponse,
  CreateNetworkRequest,
  DriverStats,
  EndpointRef,
  IpamData,
  JoinRequest,
  JoinResponse,
  Logger,
  NetworkDriverApi,
} from './types.js';
import { silentLogger } from './types.js';
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

  constructor(opts: DriverOptions) {
    this.name = opts.name ?? DEFAULT_DRIVER_NAME;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/.test(this.name)) {
      throw new InvalidOptionError('name', this.name, '1 to 63 characters from [A-Za-z0-9_.:-]');
    }
    this.prefix = validatePrefix(opts.prefix ?? 'ocn');
    this.datapathType = opts.datapathType ?? 'system';
    this.#ovs = opts.ovs;
    this.#kernel = opts.kernel;
    this.#log = opts.logger ?? silentLogger;
    this.#orphanGraceMs = opts.orphanGraceMs ?? 60_000;
    this.#rulePriority = opts.rulePriority ?? DEFAULT_RULE_PRIORITY;
    this.wiring = new Wiring({ ovs: opts.ovs, kernel: opts.kernel, logger: this.#log });
  }

  // ---- reading the replica --------------------------------------------------------------------------------

  /** Every network recorded in OVS (any owner), with its bridge. */
  *networks(): Iterable<{ record: NetworkRecord; bridge: BridgeRow }> {
    for (const bridge of this.#ovs.bridges()) {
      for (const [k, v] of Object.entries(bridge.externalIds)) {
        if (!k.startsWith(NET_KEY_PREFIX)) continue;
        const record = decodeNetwork(v);
        if (record) yield { record, bridge };
      }
    }
  }

  network(networkId: string): { record: NetworkRecord; bridge: BridgeRow } | undefined {
    const key = netKey(networkId);
    for (const bridge of this.#ovs.bridges()) {
      const record = decodeNetwork(bridge.externalIds[key]);
      if (record) return { record, bridge };
    }
    return undefined;
  }

  /** The endpoint's Port: found by its derived name (O(1)), checked against its recorded endpoint id. */
  endpointPort(endpointId: string): PortRow | undefined {
    for (let salt = 0; salt < 4; salt++) {
      const port = this.#ovs.portByName(vethNames(endpointId, this.prefix, salt).host);
      if (port?.externalIds[EXT.endpoint] === endpointId && port.externalIds[EXT.owner] === this.name)
        return port;
      if (!port) break;
    }
    return undefined;
  }

  stats(): DriverStats {
    let networks = 0;
    for (const n of this.networks()) if (n.record.owner === this.name) networks++;
    let endpoints = 0;
    for (const p of this.#ovs.ports()) {
      if (p.externalIds[EXT.owner] === this.name && p.externalIds[EXT.kind] === 'endpoint') endpoints++;
    }
    return { networks, endpoints, ovsdbConnected: this.#ovs.connected };
  }

  // ---- networks ----------------------------------------------------------------------------------------

  async createNetwork(req: CreateNetworkRequest): Promise<void> {
    const options = req.Options ?? {};
    const ipv6 = options[LABEL_ENABLE_IPV6] === true || options[LABEL_ENABLE_IPV6] === 'true';
    const internal = options[LABEL_INTERNAL] === true || options[LABEL_INTERNAL] === 'true';
    const opts = parseNetworkOptions(options[LABEL_GENERIC], {
      datapathType: this.datapathType,
      internal,
      ipv6,
    });
    const ipv4 = subnetOf('IPv4Data', req.IPv4Data);
    const ipv6Data = subnetOf('IPv6Data', req.IPv6Data);
    await this.#networkLock.run(() => this.#createNetwork(req.NetworkID, opts, ipv4, ipv6Data));
  }

  async #createNetwork(
    id: string,
    opts: NetworkOptions,
    ipv4: SubnetRecord | undefined,
    ipv6: SubnetRecord | undefined,
  ): Promise<void> {
    if (this.network(id)) {
      this.#log.info({ networkId: id }, 'network already recorded; CreateNetwork is idempotent');
      return;
    }
    if (opts.uplink !== undefined) {
      const link = await this.#kernel.findLink(opts.uplink);
      if (!link) throw new InvalidOptionError('uplink', opts.uplink, 'an existing host interface');
      const upPort = this.#ovs.portByName(opts.uplink);
      const upBridge = upPort && this.#ovs.bridgeOfPort(upPort.uuid);
      if (upBridge && upBridge.name !== opts.bridge) {
        throw new InvalidOptionError(
          'uplink',
          opts.uplink,
          `an interface not already on another bridge (it is on ${upBridge.name})`,
        );
      }
    }
    for (let attempt = 0; ; attempt++) {
      const ops: OvsOp[] = [comment(`${this.name}: create network ${id.slice(0, 12)}`)];
      const bridge = this.#ovs.bridgeByName(opts.bridge);
      if (
        bridge &&
        bridge.datapathType !== opts.datapathType &&
        (bridge.datapathType !== '' || opts.datapathType !== 'system')
      ) {
        throw new InvalidOptionError(
          'datapath_type',
          opts.datapathType,
          `the datapath type of existing bridge ${opts.bridge} (${bridge.datapathType || 'system'})`,
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
      if (ipv4) record.ipv4 = ipv4;
      if (ipv6) record.ipv6 = ipv6;
      if (opts.gatewayMode === 'internal' && (ipv4?.gateway || ipv6?.gateway)) {
        record.gatewayPort = gatewayPortName(id, this.prefix);
      }

      let bridgeRef: unknown;
      if (bridge) {
        bridgeRef = uuid(bridge.uuid);
        // Two writers that picked the same free VLAN from the same view cannot both commit.
        ops.push(waitUnchanged('Bridge', bridge.uuid, 'external_ids', map(bridge.externalIds)));
        ops.push(
          mutate(
            'Bridge',
            bridge.uuid,
            'external_ids',
            'insert',
            map({ [netKey(id)]: encodeNetwork(record) }),
          ),
        );
      } else {
        const root = this.#ovs.rootUuid();
        if (!root)
          throw new OvsdbFailure('the Open_vSwitch table has no row (was the database initialised?)');
        bridgeRef = named('br');
        // Like `ovs-vsctl add-br`: the bridge's own internal port and interface, named after it.
        ops.push(insert('Interface', { name: opts.bridge, type: 'internal' }, 'bri'));
        ops.push(insert('Port', { name: opts.bridge, interfaces: named('bri') }, 'brp'));
        ops.push(
          insert(
            'Bridge',
            {
              name: opts.bridge,
              datapath_type: opts.datapathType,
              ports: named('brp'),
              external_ids: map({ [EXT.owner]: this.name, [netKey(id)]: encodeNetwork(record) }),
            },
            'br',
          ),
        );
        ops.push(mutate('Open_vSwitch', root, 'bridges', 'insert', named('br')));
      }
      const portIds = (kind: string) => ({
        [EXT.owner]: this.name,
        [EXT.kind]: kind,
        [EXT.network]: id,
        ...(record.tenant === undefined ? {} : { [EXT.tenant]: record.tenant }),
      });
      if (record.gatewayPort) {
        ops.push(
          insert(
            'Interface',
            {
              name: record.gatewayPort,
              type: 'internal',
              mtu_request: record.mtu,
              external_ids: map(portIds('gateway')),
            },
            'gwi',
          ),
        );
        ops.push(
          insert(
            'Port',
            {
              name: record.gatewayPort,
              tag: vlan,
              interfaces: named('gwi'),
              external_ids: map(portIds('gateway')),
            },
            'gwp',
          ),
        );
        ops.push({
          op: 'mutate',
          table: 'Bridge',
          where: [['_uuid', '==', bridgeRef]],
          mutations: [['ports', 'insert', named('gwp')]],
        });
      }
      if (record.uplink !== undefined) {
        const up = this.#ovs.portByName(record.uplink);
        if (up) {
          ops.push(mutate('Port', up.uuid, 'trunks', 'insert', vlan));
        } else {
          ops.push(insert('Interface', { name: record.uplink }, 'upi'));
          ops.push(
            insert(
              'Port',
              {
                name: record.uplink,
                trunks: vlan,
                interfaces: named('upi'),
                external_ids: map({ [EXT.owner]: this.name, [EXT.kind]: 'uplink' }),
              },
              'upp',
            ),
          );
          ops.push({
            op: 'mutate',
            table: 'Bridge',
            where: [['_uuid', '==', bridgeRef]],
            mutations: [['ports', 'insert', named('upp')]],
          });
        }
      }
      const results = await this.#ovs.transact(ops).catch((err: unknown) => {
        throw new OvsdbFailure(`recording network ${id.slice(0, 12)} in OVS failed`, { cause: err });
      });
      const failed = transactionFailure(results, ops);
      if (failed) {
        // "timed out" on our wait: the bridge changed since we read it; decide again from the new view.
        if (failed.op?.op === 'wait' && attempt < 20) {
          await sleep(5 + Math.random() * 20);
          continue;
        }
        throw new OvsdbFailure(
          `recording network ${id.slice(0, 12)} in OVS failed: ${failed.error}${failed.details ? ` (${failed.details})` : ''}`,
        );
      }
      try {
        await this.#setupGateway(record);
        await this.syncIsolation();
      } catch (err) {
        await this.#removeNetwork(record).catch(() => undefined);
        throw err;
      }
      this.#log.info(
        { networkId: id.slice(0, 12), bridge: record.bridge, vlan, gatewayMode: record.gatewayMode },
        'network created',
      );
      return;
    }
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
    await this.#kernel.setLink(name, { mtu: record.mtu, up: true });
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
    // Endpoints Docker forgot to delete first: their veths go with them.
    for (const p of [...this.#ovs.ports()]) {
      if (p.externalIds[EXT.network] === record.id && p.externalIds[EXT.kind] === 'endpoint') {
        await this.wiring.detach({ hostIfName: p.name });
      }
    }
    for (let attempt = 0; ; attempt++) {
      const bridge = this.#ovs.bridgeByName(record.bridge);
      if (!bridge) return;
      const ops: OvsOp[] = [comment(`${this.name}: delete network ${record.id.slice(0, 12)}`)];
      ops.push(waitUnchanged('Bridge', bridge.uuid, 'external_ids', map(bridge.externalIds)));
      ops.push(mutate('Bridge', bridge.uuid, 'external_ids', 'delete', set([netKey(record.id)])));
      const removedPorts = new Set<string>();
      const gw = record.gatewayPort ? this.#ovs.portByName(record.gatewayPort) : undefined;
      if (gw) removedPorts.add(gw.uuid);
      const remaining = [...Object.keys(bridge.externalIds)].filter(
        (k) => k.startsWith(NET_KEY_PREFIX) && k !== netKey(record.id),
      );
      if (record.uplink !== undefined) {
        const up = this.#ovs.portByName(record.uplink);
        if (up) {
          const stillUsed = remaining.some(
            (k) => decodeNetwork(bridge.externalIds[k])?.uplink === record.uplink,
          );
          if (!stillUsed && up.externalIds[EXT.owner] === this.name) removedPorts.add(up.uuid);
          else ops.push(mutate('Port', up.uuid, 'trunks', 'delete', record.vlan));
        }
      }
      const ownBridge = bridge.externalIds[EXT.owner] === this.name;
      const otherPorts = bridge.ports.filter(
        (p) => !removedPorts.has(p) && this.#ovs.port(p)?.name !== bridge.name,
      );
      if (ownBridge && remaining.length === 0 && otherPorts.length === 0) {
        const root = this.#ovs.rootUuid();
        if (root) ops.push(mutate('Open_vSwitch', root, 'bridges', 'delete', uuid(bridge.uuid)));
      } else if (removedPorts.size > 0) {
        ops.push(
          mutate('Bridge', bridge.uuid, 'ports', 'delete', set([...removedPorts].map((u) => uuid(u)))),
        );
      }
      const results = await this.#ovs.transact(ops).catch((err: unknown) => {
        throw new OvsdbFailure(`removing network ${record.id.slice(0, 12)} from OVS failed`, { cause: err });
      });
      const failed = transactionFailure(results, ops);
      if (!failed) {
        this.#log.info({ networkId: record.id.slice(0, 12), bridge: record.bridge }, 'network deleted');
        return;
      }
      if (failed.op?.op === 'wait' && attempt < 20) {
        await sleep(5 + Math.random() * 20);
        continue;
      }
      throw new OvsdbFailure(`removing network ${record.id.slice(0, 12)} failed: ${failed.error}`);
    }
  }

  // ---- endpoints ---------------------------------------------------------------------------------------

  async createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResponse> {
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

    const existing = this.endpointPort(req.EndpointID);
    if (existing) {
      this.#log.info(
        { endpointId: req.EndpointID.slice(0, 12) },
        'endpoint exists; CreateEndpoint is idempotent',
      );
      return reply;
    }
    const names = await this.#freeNames(req.EndpointID);
    this.#busy.add(names.host);
    try {
      const ids: Record<string, string> = {
        [EXT.owner]: this.name,
        [EXT.kind]: 'endpoint',
        [EXT.network]: net.id,
        [EXT.endpoint]: req.EndpointID,
        [EXT.peer]: names.container,
        [EXT.created]: String(Date.now()),
      };
      if (net.tenant !== undefined) ids[EXT.tenant] = net.tenant;
      if (iface.Address) ids[EXT.ipv4] = iface.Address;
      if (iface.AddressIPv6) ids[EXT.ipv6] = iface.AddressIPv6;
      await this.wiring.attach({
        bridge: net.bridge,
        hostIfName: names.host,
        containerIfName: names.container,
        mtu: net.mtu,
        mac,
        tag: net.vlan,
        externalIds: ids,
        interfaceExternalIds: { [EXT.attachedMac]: mac, [EXT.ifaceId]: req.EndpointID },
        txChecksumOff: net.datapathType === 'netdev',
      });
    } finally {
      this.#busy.delete(names.host);
    }
    return reply;
  }

  /** Host/container names for an endpoint that are free in OVS and in the kernel (collision-checked). */
  async #freeNames(endpointId: string): Promise<{ host: string; container: string }> {
    for (let salt = 0; salt < 4; salt++) {
      const n = vethNames(endpointId, this.prefix, salt);
      if (this.#ovs.portByName(n.host) || this.#ovs.ifaceByName(n.host)) continue;
      const [h, c] = await Promise.all([this.#kernel.findLink(n.host), this.#kernel.findLink(n.container)]);
      if (h || c) {
        // A leftover of this very endpoint (e.g. a crash between veth and OVS) is ours to replace.
        if (salt === 0 && !this.#busy.has(n.host)) {
          await this.#kernel.deleteLink(h ? n.host : n.container, { missingOk: true });
          return n;
        }
        continue;
      }
      return n;
    }
    throw new ConflictError(`no free interface name for endpoint ${endpointId.slice(0, 12)}`);
  }

  async join(req: JoinRequest): Promise<JoinResponse> {
    const found = this.network(req.NetworkID);
    if (!found)
      throw new NotFoundError(`network ${req.NetworkID.slice(0, 12)} is not known to driver ${this.name}`);
    const port = this.endpointPort(req.EndpointID);
    if (!port) throw new NotFoundError(`endpoint ${req.EndpointID.slice(0, 12)} does not exist`);
    const net = found.record;
    const reply: JoinResponse = {
      InterfaceName: { SrcName: port.externalIds[EXT.peer] ?? '', DstPrefix: 'eth' },
      // We never want Docker's docker_gwbridge: the gateway (if any) is ours or the uplink's router.
      DisableGatewayService: true,
    };
    if (net.gatewayMode !== 'none') {
      if (net.ipv4?.gateway) reply.Gateway = bare(net.ipv4.gateway);
      if (net.ipv6?.gateway) reply.GatewayIPv6 = bare(net.ipv6.gateway);
    }
    return reply;
  }

  async leave(_req: EndpointRef): Promise<void> {
    // Docker moves the interface back to the host after Leave; DeleteEndpoint removes it.
  }

  async deleteEndpoint(req: EndpointRef): Promise<void> {
    const port = this.endpointPort(req.EndpointID);
    const host = port?.name ?? vethNames(req.EndpointID, this.prefix).host;
    this.#busy.add(host);
    try {
      const removed = await this.wiring.detach({ hostIfName: host });
      const peer = port?.externalIds[EXT.peer];
      // If the pair was broken (host end gone), the container end may still be in the host namespace.
      if (peer) await this.#kernel.deleteLink(peer, { missingOk: true });
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
      const nets = [...this.networks()].map((n) => n.record).filter((r) => r.owner === this.name);
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
      const gwPrefix = `${this.prefix}g`;
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
          // Ours: our priority and a gateway port name with our prefix (two drivers on one host need
          // different prefixes anyway, their interface names would collide otherwise).
          if (r.iif.startsWith(gwPrefix)) {
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
    const known = new Set<string>();
    const now = Date.now();
    for (const port of [...this.#ovs.ports()]) {
      const ids = port.externalIds;
      if (ids[EXT.owner] !== this.name) continue;
      known.add(port.name);
      const peerName = ids[EXT.peer];
      if (peerName) known.add(peerName);
      if (this.#busy.has(port.name)) continue;
      const kind = ids[EXT.kind];
      const networkId = ids[EXT.network];
      const peer = ids[EXT.peer];
      let why: string | undefined;
      if (kind === 'endpoint') {
        const created = Number(ids[EXT.created] ?? '0');
        if (!networkId || !this.network(networkId)) why = 'its network is gone';
        else if (!links.has(port.name)) why = 'its veth is gone';
        else if (peer && links.has(peer) && now - created >= this.#orphanGraceMs) {
          why = 'its container end never left the host';
        }
      } else if (kind === 'gateway') {
        if (!networkId || !this.network(networkId)) why = 'its network is gone';
      }
      if (!why) continue;
      this.#busy.add(port.name);
      try {
        await this.wiring.detach({ hostIfName: port.name });
        if (peer) await this.#kernel.deleteLink(peer, { missingOk: true });
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
    const vethRe = new RegExp(`^${this.prefix}[hc][a-z2-7]{${15 - this.prefix.length - 1}}$`);
    for (const [name, link] of links) {
      if (link.kind !== 'veth' || !vethRe.test(name) || known.has(name)) continue;
      const host = `${this.prefix}h${name.slice(this.prefix.length + 1)}`;
      if (this.#busy.has(host) || known.has(host)) continue;
      // Re-check: it may have been created since we listed the ports.
      if (this.#ovs.portByName(host)) continue;
      // Deleting one end of a pair deleted the other, listed separately.
      if (!(await this.#kernel.findLink(name))) continue;
      await this.#kernel.deleteLink(name, { missingOk: true }).catch(() => undefined);
      removed.push(name);
      this.#log.warn({ link: name }, 'removed orphan veth');
    }
    for (const { record } of [...this.networks()]) {
      if (record.owner !== this.name || !record.gatewayPort) continue;
      await this.#setupGateway(record).catch((err: unknown) =>
        this.#log.error({ networkId: record.id.slice(0, 12), err: String(err) }, 'gateway setup failed'),
      );
    }
    await this.syncIsolation();
    return { removed };
  }
}

function subnetOf(field: string, data: IpamData[] | null | undefined): SubnetRecord | undefined {
  const first = data?.[0];
  if (!first?.Pool) return undefined;
  try {
    const pool = parseCidr(`${field}.Pool`, first.Pool).text;
    const out: SubnetRecord = { pool };
    if (first.Gateway) {
      parseCidr(`${field}.Gateway`, first.Gateway);
      out.gateway = first.Gateway.includes('/') ? first.Gateway : `${first.Gateway}/${pool.split('/')[1]}`;
    }
    return out;
  } catch (err) {
    if (err instanceof PluginError) throw new InvalidRequestError(err.message, { cause: err });
    throw err;
  }
}
