// OVN mode: a Docker network is an OVN logical switch, shared by every host that creates a network with the
// same `logical_switch`; OVN_Northbound is the only state (no KV store, nothing of our own on disk).
//
// - CreateNetwork ensures the switch (its external_ids say owner, tenant, subnets, gateways, MTU, isolate)
//   or joins it when those match, and records this host in `ocn-host-<chassis>=<network id>`. The tenant's
//   router gets a port with the gateways. A mismatch is refused before anything is written.
// - IPAM: an address is held by a Logical_Switch_Port named `ocn/<switch>/<ip>` (NB's unique index on
//   Logical_Switch_Port.name makes the hold atomic across hosts: a second insert of the same name fails
//   with a constraint violation, and the loser takes the next address). CreateEndpoint turns the hold into
//   the endpoint's port (addresses, port_security, requested-chassis) and binds a veth through iface-id.
// - Everything this host makes carries `ocn-chassis=<system-id>`; the reconciler removes only this
//   chassis' stale holds, ports and OVS interfaces.

import {
  bumpNbCfg,
  chassisBehind,
  describeBehind,
  type IpPrefix,
  type NbPlan,
  nbCfgOf,
  nbTransact,
  type OvnChassisDb,
  type OvnClient,
  OvnTimeoutError,
  parseIp,
  parsePrefix,
  type SbReplica,
  waitForChassisCfg,
} from '@ovs-container-network/ovn';
import {
  ConnectError,
  ConnectionClosedError,
  MaybeCommittedError,
  NotConnectedError,
  NotUsableError,
  type Replica,
} from '@ovs-container-network/ovsdb';
import * as OVS from '@ovs-container-network/ovsdb/models/open-vswitch';
import * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import type {
  CreateEndpointRequest,
  CreateEndpointResponse,
  CreateNetworkRequest,
  EndpointRef,
  IpamData,
  JoinRequest,
  JoinResponse,
} from '../api.js';
import {
  ConflictError,
  InvalidOptionError,
  IpamError,
  NotFoundError,
  PluginError,
  WiringError,
} from '../errors.js';
import { GLOBAL_ADDRESS_SPACE, LOCAL_ADDRESS_SPACE } from '../ipam.js';
import type { KernelHandle } from '../kernel.js';
import { decodeOptionMac, generateMac, normalizeMac, vethNames } from '../names.js';
import { LABEL_GENERIC, LABEL_MAC } from '../options.js';
import type { Logger } from '../types.js';
import { silentLogger } from '../types.js';
import { NbCfgBarrier } from './barrier.js';
import type { OvnConfig } from './config.js';
import { type GatewayEndpoint, OvnGateway } from './gateway.js';
import { mirrorRows, OVN_MIRROR_EXT, type OvnMirrorSpec, parseOvnMirrorOptions } from './mirror.js';
import {
  checkSwitchName,
  DNS_NAME_OPTION,
  ENCAP_OVERHEAD,
  formatIp,
  holdName,
  hostRange,
  inSubnet,
  isolationPolicies,
  joinSwitchName,
  K,
  parseDnsNames,
  parseOvnNetworkOptions,
  portGroupName,
  routerMac,
  routerName,
  routerPortName,
  subnetOf,
  switchRouterPortName,
  tenantAcls,
  tenantSubnetsSetName,
} from './model.js';
import {
  hasQos,
  isOvnQosOption,
  type OvnQos,
  parseOvnQosOptions,
  planDropPortQos,
  planPortQos,
  portQosRows,
  recordedOvnQos,
  SWITCH_QOS_KEYS,
  switchQos,
  switchQosIds,
} from './qos.js';

type NbRowsT = { [T in keyof typeof NB.model.tables]: unknown };
type Lsp = NB.Logical_Switch_Port & { readonly _uuid: string };
type QosRow = NB.QoS & { readonly _uuid: string };
type Ls = NB.Logical_Switch & { readonly _uuid: string };

export class OvnModeError extends PluginError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PLUGIN_ERR_OVN', message, options);
    this.name = 'OvnModeError';
  }
}

export interface OvnDriverOptions {
  name: string;
  ovn: OvnClient;
  chassis: OvnChassisDb;
  /**
   * SB replica of Chassis and Chassis_Private: the remote wait ends on the chassis' reports there while
   * `live()` (its session connected: a replica cut off may miss a chassis that registered meanwhile).
   */
  sb?: { replica: SbReplica; live(): boolean };
  kernel: KernelHandle;
  config: OvnConfig;
  prefix?: string;
  /** Holds and unjoined ports of this chassis older than this are reclaimed (default 60 s). */
  graceMs?: number;
  logger?: Logger;
}

/** What a switch says about itself (its external_ids, parsed). */
interface SwitchInfo {
  tenant: string;
  subnets: IpPrefix[];
  gateways: string[];
  mtu: number;
  isolate: boolean;
}

const POOL_PREFIX = 'ovn/';

export class OvnDriver {
  readonly name: string;
  readonly #ovn: OvnClient;
  readonly #chassis: OvnChassisDb;
  readonly #sb: OvnDriverOptions['sb'];
  readonly #kernel: KernelHandle;
  readonly #cfg: OvnConfig;
  readonly #prefix: string;
  readonly #graceMs: number;
  readonly #log: Logger;
  /** Candidate hold names being inserted by this process right now (not yet in the replica). */
  readonly #pending = new Set<string>();
  /** Endpoints (and Orchestrator keys) with a call of this process in flight: the reconciler leaves them. */
  readonly #inflight = new Set<string>();
  /** nb_cfg bumps shared by concurrent endpoints (for the wait for the other chassis). */
  readonly #barrier = new NbCfgBarrier(() =>
    this.#retry('the nb_cfg bump', () => this.#ovn.nbDb.transact((t) => bumpNbCfg(t))).then((rows) =>
      nbCfgOf(rows as never),
    ),
  );
  /** An nb_cfg that hv_cfg did not reach within --ovn-remote-wait: a chassis is down or far behind. */
  #hvStuckAt: number | undefined;
  /** How remote waits ended: on the chassis reports in the SB, or on NB hv_cfg. */
  readonly #remoteWaits = { sb: 0, nb: 0 };

  constructor(o: OvnDriverOptions) {
    this.name = o.name;
    this.#ovn = o.ovn;
    this.#chassis = o.chassis;
    this.#sb = o.sb;
    this.#kernel = o.kernel;
    this.#cfg = o.config;
    this.#prefix = o.prefix ?? 'ocn';
    this.#graceMs = o.graceMs ?? 60_000;
    this.#log = o.logger ?? silentLogger;
    this.gateway = new OvnGateway({
      name: this.name,
      prefix: this.#prefix,
      ovn: this.#ovn,
      chassis: this.#chassis,
      kernel: this.#kernel,
      bridge: this.#cfg.bridge,
      chassisName: () => this.chassisName(),
      endpoint: (id) => this.endpointInfo(id),
      endpointExists: (id) => this.#endpointPorts(id).length > 0 || this.#inflight.has(id),
      retry: (what, fn) => this.#retry(what, fn),
      log: this.#log,
    });
  }

  /** North–south: outbound NAT and published ports through a gateway router of this chassis. */
  readonly gateway: OvnGateway;

  /** What the gateway needs of an endpoint of this chassis: tenant, IPv4 address, the tenant's subnets. */
  endpointInfo(endpointId: string): GatewayEndpoint | undefined {
    const primary = this.#endpointPorts(endpointId)[0];
    if (!primary) return undefined;
    const sw = primary.name.split('/')[1] ?? '';
    const ls = this.#switch(sw);
    if (!ls) return undefined;
    const info = this.#info(ls);
    const entry = (primary.addresses[0] ?? '').split(' ').slice(1);
    const ipv4 = entry.find((a) => parseIp(a)?.family === 4);
    const subnets: string[] = [];
    const snatSubnets: string[] = [];
    for (const other of this.#tenantSwitches(info.tenant)) {
      for (const s of this.#info(other).subnets) {
        if (s.family !== 4) continue;
        subnets.push(s.cidr);
        if (other.external_ids[K.masquerade] !== 'false') snatSubnets.push(s.cidr);
      }
    }
    return {
      tenant: info.tenant,
      ipv4,
      masquerade: ls.external_ids[K.masquerade] !== 'false',
      subnets,
      snatSubnets,
    };
  }

  /**
   * Runs an NB step again when the connection, not the data, failed: a Raft leader killed or stepping down
   * mid-call (the session reconnects to the new leader). Every step given here is safe to repeat.
   */
  async #retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#cfg.installTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const e = err as { cause?: unknown };
        const transient = [err, e.cause].some(
          (x) =>
            x instanceof MaybeCommittedError ||
            x instanceof ConnectionClosedError ||
            x instanceof NotConnectedError ||
            x instanceof NotUsableError ||
            x instanceof ConnectError,
        );
        if (!transient || Date.now() + 100 * attempt > deadline) throw err;
        this.#log.warn({ what, attempt, err: (err as Error).message }, 'NB connection lost; retrying');
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  get #nb(): Replica<NbRowsT> & OvnClient['nb'] {
    return this.#ovn.nb as never;
  }

  /**
   * After `port` is ovn-installed here: waits (bounded by --ovn-remote-wait and what is left of `deadline`)
   * until every chassis applied the SB as of now, so the other hosts know the port's chassis and the reply
   * to its first packet is not dropped. The chassis' reports are read in the SB replica when there is one
   * (one ovn-northd run sooner), and NB hv_cfg is awaited beside it (the SB replica may be down). Never fails
   * the attach: a chassis that is down would otherwise fail every attach. Once a target was missed, later
   * calls skip the wait until every chassis has passed it.
   */
  async #awaitRemote(port: string, deadline: number): Promise<void> {
    const bound = Math.min(this.#cfg.remoteWaitMs, deadline - Date.now());
    if (this.#cfg.remoteWaitMs <= 0 || bound <= 0) return;
    if (this.#hvStuckAt !== undefined) {
      if (!this.#caughtUp(this.#hvStuckAt)) return;
      this.#log.info({ was: this.#hvStuckAt }, 'every chassis caught up again');
      this.#hvStuckAt = undefined;
    }
    const t0 = Date.now();
    let target: number | undefined;
    try {
      // The bump itself is bounded too (it is retried across an NB leader change, which may take longer).
      let timer: NodeJS.Timeout | undefined;
      target = await Promise.race([
        this.#barrier.after(),
        new Promise<undefined>((r) => {
          timer = setTimeout(() => r(undefined), bound);
        }),
      ]).finally(() => clearTimeout(timer));
      if (target === undefined) {
        this.#log.warn({ port }, `the nb_cfg bump took over ${bound} ms (--ovn-remote-wait); not waiting`);
        return;
      }
      await this.#awaitApplied(target, Math.max(1, bound - (Date.now() - t0)));
    } catch (err) {
      if (target !== undefined && err instanceof OvnTimeoutError) {
        this.#hvStuckAt = Math.max(this.#hvStuckAt ?? 0, target);
        const late = this.#sbBehind(target);
        const behind = late?.length ? describeBehind(late) : undefined;
        this.#log.warn(
          { port, nbCfg: target, ...(behind ? { behind } : {}), err: err.message },
          `not every chassis applied port ${port} within ${bound} ms (--ovn-remote-wait)${behind ? `: ${behind} behind` : ''}; replies from them may be lost at first, and later endpoints do not wait until they catch up`,
        );
      } else this.#log.warn({ port, err: (err as Error).message }, 'waiting for the other chassis failed');
    }
  }

  /** Every chassis applied `nbCfg`: NB hv_cfg, or (sooner) their SB reports, whichever shows it first. */
  async #awaitApplied(nbCfg: number, timeoutMs: number): Promise<void> {
    const sb = this.#sb?.live() ? this.#sb.replica : undefined;
    if (!sb) {
      await this.#ovn.waitForCfg(nbCfg, 'hv', { timeoutMs });
      this.#remoteWaits.nb++;
      return;
    }
    const done = new AbortController();
    try {
      const via = await Promise.any([
        this.#ovn.waitForCfg(nbCfg, 'hv', { timeoutMs, signal: done.signal }).then(() => 'nb' as const),
        waitForChassisCfg(sb, nbCfg, { timeoutMs, signal: done.signal }).then(() => 'sb' as const),
      ]);
      this.#remoteWaits[via]++;
      if (via === 'sb' && this.#remoteWaits.sb === 1)
        this.#log.info({ nbCfg }, 'the remote wait ended on the chassis reports in the SB (the first time)');
    } catch (err) {
      // Both failed: the NB wait's error says most (nb_cfg, sb_cfg, hv_cfg and the chassis behind).
      throw err instanceof AggregateError ? err.errors[0] : err;
    } finally {
      done.abort();
    }
  }

  /** The chassis whose SB report is below `nbCfg`; undefined unless the SB replica is live and synced. */
  #sbBehind(nbCfg: number): { name: string; nbCfg: number }[] | undefined {
    const sb = this.#sb;
    return sb?.live() && sb.replica.isReady ? chassisBehind(sb.replica, nbCfg).behind : undefined;
  }

  /** Has every chassis applied `nbCfg` (as NB hv_cfg or the SB reports show)? */
  #caughtUp(nbCfg: number): boolean {
    const g = [...this.#nb.table('NB_Global').values()][0] as { hv_cfg?: number | bigint } | undefined;
    return Number(g?.hv_cfg ?? 0) >= nbCfg || this.#sbBehind(nbCfg)?.length === 0;
  }

  /** How many remote waits ended through the SB reports and through NB hv_cfg (metrics). */
  get remoteWaits(): { readonly sb: number; readonly nb: number } {
    return { ...this.#remoteWaits };
  }

  // ---- local chassis -----------------------------------------------------------------------------------

  /** This host's chassis name: the local Open_vSwitch row's external_ids:system-id. */
  chassisName(): string {
    const root = [...this.#chassis.replica.table('Open_vSwitch').values()][0];
    const id = root?.external_ids['system-id'];
    if (typeof id !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(id))
      throw new OvnModeError(
        `OVN mode needs this host's chassis name in the local Open_vSwitch external_ids:system-id (found ${JSON.stringify(id ?? null)}); is ovn-controller set up on this host?`,
      );
    return id;
  }

  /** The overlay MTU: underlay MTU minus the encapsulation's overhead. */
  async overlayMtu(): Promise<{ mtu: number; underlay: number; encap: string }> {
    const root = [...this.#chassis.replica.table('Open_vSwitch').values()][0];
    const encap = (root?.external_ids['ovn-encap-type'] ?? 'geneve').split(',')[0] ?? 'geneve';
    const overhead = ENCAP_OVERHEAD[encap] ?? 58;
    let underlay = this.#cfg.underlayMtu;
    if (underlay === undefined) {
      // The kernel link holding ovn-encap-ip (br-phy on the userspace datapath), else 1500.
      const ip = root?.external_ids['ovn-encap-ip'];
      if (ip) {
        const addrs = await this.#kernel.listAddresses().catch(() => []);
        const hit = addrs.find((a) => a.cidr.split('/')[0] === ip);
        if (hit) underlay = (await this.#kernel.findLink(hit.index).catch(() => undefined))?.mtu;
      }
      underlay ??= 1500;
    }
    return { mtu: underlay - overhead, underlay, encap };
  }

  // ---- NB reads -----------------------------------------------------------------------------------------

  #switch(name: string): Ls | undefined {
    return this.#nb.table('Logical_Switch').find('byName', name) as Ls | undefined;
  }

  #lsp(name: string): Lsp | undefined {
    return this.#nb.table('Logical_Switch_Port').find('byName', name) as Lsp | undefined;
  }

  /** The switch this host created for Docker network `networkId` (ocn-host-<chassis> = id). */
  switchOfNetwork(networkId: string): Ls | undefined {
    const key = K.hostPrefix + this.chassisName();
    for (const ls of this.#nb.table('Logical_Switch').values() as Iterable<Ls>) {
      if (ls.external_ids[key] === networkId && ls.external_ids[K.owner] === this.name) return ls;
    }
    return undefined;
  }

  /** True when this driver handles network `networkId` (it is an OVN network of this host). */
  handlesNetwork(networkId: string): boolean {
    try {
      return this.switchOfNetwork(networkId) !== undefined;
    } catch {
      return false;
    }
  }

  #info(ls: Ls): SwitchInfo {
    const e = ls.external_ids;
    const subnets = (e[K.subnets] ?? '')
      .split(',')
      .filter((s) => s !== '')
      .map((s) => parsePrefix(s))
      .filter((p): p is IpPrefix => p !== undefined);
    return {
      tenant: e[K.tenant] ?? '',
      subnets,
      gateways: (e[K.gateways] ?? '').split(',').filter((s) => s !== ''),
      mtu: Number(e[K.mtu] ?? 0),
      isolate: e[K.isolate] === 'true',
    };
  }

  /** The network switches of a tenant (not its join switch). */
  #tenantSwitches(tenant: string): Ls[] {
    const out: Ls[] = [];
    for (const ls of this.#nb.table('Logical_Switch').values() as Iterable<Ls>) {
      const e = ls.external_ids;
      if (e[K.owner] === this.name && e[K.tenant] === tenant && e[K.role] !== 'join') out.push(ls);
    }
    return out;
  }

  #dnsRow(sw: string): (NB.DNS & { readonly _uuid: string }) | undefined {
    for (const d of this.#nb.table('DNS').values() as Iterable<NB.DNS & { readonly _uuid: string }>)
      if (d.external_ids[K.owner] === this.name && d.external_ids[K.switch] === sw) return d;
    return undefined;
  }

  /** The endpoint's port(s) on this chassis: the primary (with addresses) first. */
  #endpointPorts(endpointId: string): Lsp[] {
    const me = this.chassisName();
    const ports = (this.#nb.table('Logical_Switch_Port').values() as Iterable<Lsp>)[Symbol.iterator]();
    const out: Lsp[] = [];
    for (let r = ports.next(); !r.done; r = ports.next()) {
      const p = r.value;
      if (p.external_ids[K.endpoint] === endpointId && p.external_ids[K.chassis] === me) out.push(p);
    }
    return out.sort((a, b) => (a.external_ids[K.partOf] ? 1 : 0) - (b.external_ids[K.partOf] ? 1 : 0));
  }

  // ---- NetworkDriver ------------------------------------------------------------------------------------

  async createNetwork(req: CreateNetworkRequest): Promise<void> {
    const opts = parseOvnNetworkOptions(req.Options?.[LABEL_GENERIC]);
    const chassis = this.chassisName();
    const pools = [...(req.IPv4Data ?? []), ...(req.IPv6Data ?? [])].filter(
      (d) => d.Pool && d.Pool !== '0.0.0.0/0',
    );
    if (pools.length === 0)
      throw new InvalidOptionError(
        '--subnet',
        '',
        'a subnet: an OVN network needs --subnet (and this driver as --ipam-driver)',
      );
    const subnets: IpPrefix[] = [];
    const gateways: string[] = [];
    for (const d of pools) {
      this.#checkIpamData(d, opts.logicalSwitch);
      const p = subnetOf('--subnet', d.Pool);
      if (subnets.some((s) => s.family === p.family))
        throw new InvalidOptionError('--subnet', d.Pool, 'one IPv4 and/or one IPv6 subnet per OVN network');
      subnets.push(p);
      const gw = d.Gateway ? (d.Gateway.split('/')[0] ?? '') : formatIp(p.family, hostRange(p).first);
      const g = parseIp(gw);
      if (!g || !inSubnet(p, g.value))
        throw new InvalidOptionError('--gateway', d.Gateway, `an address in ${p.cidr}`);
      gateways.push(g.text);
    }
    const { mtu: overlay, underlay, encap } = await this.overlayMtu();
    if (opts.mtu !== undefined && opts.mtu > overlay)
      throw new InvalidOptionError(
        'mtu',
        opts.mtu,
        `at most ${overlay} (underlay MTU ${underlay} minus ${underlay - overlay} bytes of ${encap}: larger frames are dropped in the overlay without ICMP)`,
      );
    const mtu = opts.mtu ?? overlay;
    if (subnets.some((s) => s.family === 6) && mtu < 1280)
      throw new InvalidOptionError('mtu', mtu, 'at least 1280 on a network with IPv6');
    const want: Record<string, string> = {
      [K.tenant]: opts.tenant,
      [K.subnets]: subnets.map((s) => s.cidr).join(','),
      [K.gateways]: gateways.join(','),
      [K.mtu]: String(mtu),
      [K.isolate]: String(opts.isolate),
      [K.masquerade]: String(opts.masquerade),
    };
    // -o rate.* / burst.* / dscp: every endpoint's defaults, recorded on the switch (ovn/qos.ts).
    const qosIds = switchQosIds(parseOvnQosOptions(opts.qos, { limits: {} }, mtu));
    const sw = opts.logicalSwitch;
    await this.#retry('CreateNetwork', () =>
      nbTransact(
        this.#nb as never,
        (nb) => {
          const cur = this.#switch(sw);
          if (cur) {
            if (cur.external_ids[K.owner] !== this.name)
              throw new ConflictError(
                `logical switch ${sw} already exists and is not managed by ${this.name} (external_ids:${K.owner}=${JSON.stringify(cur.external_ids[K.owner] ?? null)})`,
              );
            for (const [k, v] of Object.entries(want)) {
              const have = cur.external_ids[k] ?? '';
              if (have !== v)
                throw new ConflictError(
                  `logical switch ${sw} already exists with ${k.slice(4)}=${have}; this network asks ${k.slice(4)}=${v} (create it with the same options on every host, or another logical_switch)`,
                );
            }
            for (const k of Object.values(SWITCH_QOS_KEYS)) {
              const have = cur.external_ids[k] ?? 'none';
              const v = qosIds[k] ?? 'none';
              if (have !== v)
                throw new ConflictError(
                  `logical switch ${sw} already exists with ${k.slice(4)}=${have}; this network asks ${k.slice(4)}=${v} (create it with the same options on every host, or another logical_switch)`,
                );
            }
            const other = Object.entries(cur.external_ids).find(([k]) => k === K.hostPrefix + chassis);
            if (other && other[1] !== req.NetworkID)
              throw new ConflictError(
                `logical switch ${sw} already belongs to Docker network ${other[1].slice(0, 12)} on this host (chassis ${chassis}); one network per switch per host`,
              );
          }
          nb.ensureSwitch({
            name: sw,
            externalIds: {
              [K.owner]: this.name,
              ...want,
              ...qosIds,
              [K.hostPrefix + chassis]: req.NetworkID,
            },
          });
          this.#ensureGateway(nb, sw, opts.tenant, subnets, gateways, opts.isolate);
        },
        { attempts: 10 },
      ),
    );
    this.#log.info(
      { networkId: req.NetworkID, logicalSwitch: sw, tenant: opts.tenant, mtu },
      'OVN network ready',
    );
  }

  #checkIpamData(d: IpamData, sw: string): void {
    const space = d.AddressSpace ?? '';
    if (space !== LOCAL_ADDRESS_SPACE && space !== GLOBAL_ADDRESS_SPACE)
      throw new InvalidOptionError(
        '--ipam-driver',
        space,
        `this driver's IPAM: an OVN network needs --ipam-driver ${this.name} --ipam-opt logical_switch=${sw}, so that addresses are unique across hosts`,
      );
    if (d.AuxAddresses && Object.keys(d.AuxAddresses).length > 0)
      throw new InvalidOptionError(
        '--aux-address',
        JSON.stringify(d.AuxAddresses),
        'none: not supported on OVN networks',
      );
  }

  /** The tenant's router, this switch's router port with the gateways, and the tenant's port group + ACLs. */
  #ensureGateway(
    nb: NbPlan,
    sw: string,
    tenant: string,
    subnets: IpPrefix[],
    gateways: string[],
    isolate: boolean,
  ): void {
    const owner = { [K.owner]: this.name };
    const lr = routerName(tenant);
    nb.ensureRouter({ name: lr, externalIds: { ...owner, [K.tenant]: tenant } });
    nb.ensureRouterPort({
      router: lr,
      name: routerPortName(sw),
      mac: routerMac(sw),
      networks: subnets.map((s, i) => `${gateways[i]}/${s.length}`),
      externalIds: { ...owner, [K.switch]: sw },
    });
    nb.ensureSwitchPort({
      switch: sw,
      name: switchRouterPortName(sw),
      routerPort: routerPortName(sw),
      externalIds: owner,
    });
    if (isolate)
      for (const s of subnets)
        for (const p of isolationPolicies(s, tenant))
          nb.ensureRouterPolicy({
            router: lr,
            ...p,
            externalIds: { ...owner, [K.switch]: sw },
          });
    // Tenants: every endpoint port is in its tenant's port group; traffic into it from addresses outside
    // the tenant's subnets is dropped (defence beyond topology: tenants' routers are never connected).
    for (const fam of [4, 6] as const) {
      const mine = subnets.filter((s) => s.family === fam).map((s) => s.cidr);
      const set = tenantSubnetsSetName(tenant, fam);
      nb.ensureAddressSet({ name: set, externalIds: owner });
      if (mine.length > 0) nb.addAddresses({ addressSet: set, addresses: mine });
    }
    // The switch's DNS row (records added per endpoint with map mutations, so hosts never overwrite each other).
    const dnsIds = { [K.owner]: this.name, [K.switch]: sw };
    if (!this.#dnsRow(sw)) nb.ensureDns({ externalIds: dnsIds, records: {}, switches: [sw] });
    const pg = portGroupName(tenant);
    nb.ensurePortGroup({ name: pg, externalIds: { ...owner, [K.tenant]: tenant } });
    for (const acl of tenantAcls(tenant))
      nb.ensureAcl({ parent: { portGroup: pg }, direction: 'to-lport', ...acl, externalIds: owner });
  }

  async deleteNetwork(req: { NetworkID: string }): Promise<void> {
    const chassis = this.chassisName();
    const key = K.hostPrefix + chassis;
    await this.#retry('DeleteNetwork', () =>
      nbTransact(
        this.#nb as never,
        (nb) => {
          const ls = this.switchOfNetwork(req.NetworkID);
          if (!ls) return;
          const sw = ls.name;
          const hosts = Object.keys(ls.external_ids).filter((k) => k.startsWith(K.hostPrefix) && k !== key);
          const rp = this.#lsp(switchRouterPortName(sw));
          const others = ls.ports.filter((u) => u !== rp?._uuid);
          if (hosts.length > 0 || others.length > 0) {
            // Other hosts (or ports of other hosts) remain: only this host's membership goes.
            nb.ensureSwitch({ name: sw, externalIds: { [key]: null } });
            return;
          }
          // The last host: switch, router port; guarded by the switch's ports and external_ids as read.
          nb.txn.wait(NB.Logical_Switch, {
            where: [['_uuid', '==', ls._uuid as never]],
            columns: ['ports', 'external_ids'],
            until: '==',
            rows: [{ ports: ls.ports as never, external_ids: ls.external_ids }],
            timeout: 0,
          });
          const info = this.#info(ls);
          // The tenant's last network takes every tenant-wide object with it, guarded by a `wait` that no
          // other network switch of the tenant exists (one being created on another host meanwhile).
          const tenantGone = !this.#tenantSwitches(info.tenant).some((o) => o.name !== sw);
          if (tenantGone)
            nb.txn.wait(NB.Logical_Switch, {
              where: [
                ['external_ids', 'includes', { [K.owner]: this.name, [K.tenant]: info.tenant }],
                ['name', '!=', joinSwitchName(info.tenant)],
              ],
              columns: ['name'],
              until: '==',
              rows: [{ name: sw }],
              timeout: 0,
            });
          nb.deleteSwitch(sw);
          nb.deleteRouterPort(routerPortName(sw));
          if (this.#dnsRow(sw)) nb.deleteDns({ externalIds: { [K.owner]: this.name, [K.switch]: sw } });
          const lr = routerName(info.tenant);
          if (info.isolate && this.#nb.table('Logical_Router').find('byName', lr))
            for (const s of info.subnets)
              for (const p of isolationPolicies(s, info.tenant))
                nb.deleteRouterPolicy({ router: lr, priority: p.priority, match: p.match });
          if (!tenantGone)
            for (const s of info.subnets) {
              const set = tenantSubnetsSetName(info.tenant, s.family);
              if (this.#nb.table('Address_Set').find('byName', set))
                nb.removeAddresses({ addressSet: set, addresses: [s.cidr] });
            }
          this.gateway.teardown(
            nb,
            info.tenant,
            info.subnets.filter((s) => s.family === 4).map((s) => s.cidr),
            tenantGone,
          );
        },
        { attempts: 10 },
      ),
    );
  }

  async createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResponse> {
    const ls = this.switchOfNetwork(req.NetworkID);
    if (!ls)
      throw new NotFoundError(`network ${req.NetworkID.slice(0, 12)} is not an OVN network of this host`);
    const sw = ls.name;
    const info = this.#info(ls);
    const me = this.chassisName();
    const iface = req.Interface ?? {};
    const optionMac = req.Options?.[LABEL_MAC];
    const givenMac = iface.MacAddress ? normalizeMac('MacAddress', iface.MacAddress) : undefined;
    const fromOption = decodeOptionMac(optionMac);
    const mac = givenMac ?? (fromOption ? normalizeMac(LABEL_MAC, fromOption) : generateMac(req.EndpointID));
    const ips: string[] = [];
    for (const [field, a] of [
      ['Interface.Address', iface.Address],
      ['Interface.AddressIPv6', iface.AddressIPv6],
    ] as const) {
      if (!a) continue;
      const ip = parseIp(a.split('/')[0]);
      if (!ip || !info.subnets.some((s) => s.family === ip.family && inSubnet(s, ip.value)))
        throw new InvalidOptionError(
          field,
          a,
          `an address in ${info.subnets.map((s) => s.cidr).join(' or ')}`,
        );
      ips.push(ip.text);
    }
    if (ips.length === 0)
      throw new InvalidOptionError(
        'Interface.Address',
        '',
        `an address from this driver's IPAM on logical switch ${sw}`,
      );
    // The holds RequestAddress made; the first becomes the endpoint's port.
    const holds = ips.map((ip) => {
      const h = this.#lsp(holdName(sw, ip));
      if (!h)
        throw new IpamError(
          `address ${ip} is not held on logical switch ${sw}: OVN networks need --ipam-driver ${this.name} --ipam-opt logical_switch=${sw}`,
        );
      if (h.external_ids[K.chassis] !== me)
        throw new ConflictError(
          `address ${ip} on logical switch ${sw} is held by chassis ${h.external_ids[K.chassis]}, not ${me}`,
        );
      const by = h.external_ids[K.endpoint];
      if (by !== undefined && by !== req.EndpointID)
        throw new ConflictError(
          `address ${ip} on logical switch ${sw} is already used by endpoint ${by.slice(0, 12)}`,
        );
      return h;
    });
    const dnsNames = parseDnsNames(req.Options?.[DNS_NAME_OPTION]);
    const qos = this.#endpointQos(req.Options, ls, info.mtu);
    const mirror = parseOvnMirrorOptions(req.Options ?? {});
    const dns = dnsNames.length > 0 ? this.#dnsRow(sw) : undefined;
    if (dnsNames.length > 0 && !dns)
      throw new OvnModeError(`logical switch ${sw} has no DNS row of ${this.name}: create the network again`);
    const primary = holds[0] as Lsp;
    const lspName = primary.name;
    const veth = vethNames(req.EndpointID, this.#prefix);
    const entry = `${mac} ${ips.join(' ')}`;
    const now = String(Date.now());
    const pg = portGroupName(info.tenant);
    this.#inflight.add(req.EndpointID);
    try {
      return await this.#createEndpoint(req, {
        holds,
        primary,
        lspName,
        veth,
        entry,
        now,
        pg,
        me,
        mac,
        ips,
        dns,
        dnsNames,
        givenMac,
        info,
        qos,
        sw,
        mirror,
      });
    } finally {
      this.#inflight.delete(req.EndpointID);
    }
  }

  async #createEndpoint(
    req: CreateEndpointRequest,
    c: {
      holds: Lsp[];
      primary: Lsp;
      lspName: string;
      veth: { host: string; container: string };
      entry: string;
      now: string;
      pg: string;
      me: string;
      mac: string;
      ips: string[];
      dns: (NB.DNS & { readonly _uuid: string }) | undefined;
      dnsNames: string[];
      givenMac: string | undefined;
      info: SwitchInfo;
      qos: OvnQos;
      sw: string;
      mirror: OvnMirrorSpec | undefined;
    },
  ): Promise<CreateEndpointResponse> {
    const { holds, primary, lspName, veth, entry, now, pg, me, mac, ips, dns, dnsNames, givenMac, info } = c;
    await this.#retry('CreateEndpoint', () =>
      this.#ovn.transact((t) => {
        t.update(NB.Logical_Switch_Port, [['_uuid', '==', primary._uuid as never]], {
          addresses: [entry],
          port_security: [entry],
        });
        t.mutate(
          NB.Logical_Switch_Port,
          [['_uuid', '==', primary._uuid as never]],
          [
            ['options', 'delete', ['requested-chassis']],
            ['options', 'insert', { 'requested-chassis': me }],
            ['external_ids', 'delete', [K.endpoint, K.network, K.claimedAt, K.dns]],
            [
              'external_ids',
              'insert',
              {
                [K.endpoint]: req.EndpointID,
                [K.network]: req.NetworkID,
                [K.claimedAt]: now,
                ...(dnsNames.length > 0 ? { [K.dns]: dnsNames.join(',') } : {}),
              },
            ],
          ],
        );
        if (dns) {
          // Each name's key replaced (the latest endpoint with a name wins, as Docker's own DNS does).
          t.mutate(
            NB.DNS,
            [['_uuid', '==', dns._uuid as never]],
            [
              ['records', 'delete', dnsNames],
              ['records', 'insert', Object.fromEntries(dnsNames.map((n) => [n, ips.join(' ')]))],
            ],
          );
        }
        for (const h of holds.slice(1)) {
          t.mutate(
            NB.Logical_Switch_Port,
            [['_uuid', '==', h._uuid as never]],
            [
              ['external_ids', 'delete', [K.endpoint, K.partOf, K.claimedAt]],
              [
                'external_ids',
                'insert',
                { [K.endpoint]: req.EndpointID, [K.partOf]: lspName, [K.claimedAt]: now },
              ],
            ],
          );
        }
        t.mutate(NB.Port_Group, [['name', '==', pg]], [['ports', 'insert', [primary._uuid as never]]]);
      }),
    );
    try {
      if (hasQos(c.qos)) await this.#applyQos(c.sw, lspName, c.qos);
      if (c.mirror) await this.#addMirror(primary._uuid, lspName, c.mirror);
      await this.#wire(req.EndpointID, req.NetworkID, lspName, veth, mac, info.mtu);
      await this.#chassis.waitForOvnInstalled(lspName, { timeoutMs: this.#cfg.installTimeoutMs });
    } catch (err) {
      const rollback = await this.#unwire(req.EndpointID, veth.host)
        .then(() => this.#deletePorts(holds.map((h) => h.name)))
        .then(
          () => [] as unknown[],
          (e: unknown) => [e],
        );
      const why =
        err instanceof OvnTimeoutError
          ? `port ${lspName} was not ready on chassis ${me} within ${this.#cfg.installTimeoutMs} ms (--ovn-install-timeout): ${err.message}`
          : `wiring endpoint ${req.EndpointID.slice(0, 12)} to logical port ${lspName} failed: ${(err as Error).message}`;
      throw new WiringError(why, { cause: err, rollbackErrors: rollback });
    }
    return givenMac ? {} : { Interface: { MacAddress: mac } };
  }

  /** veth pair (container end stays here until Docker moves it), OVS port on br-int bound to the LSP. */
  async #wire(
    endpointId: string,
    networkId: string,
    lspName: string,
    veth: { host: string; container: string },
    mac: string,
    mtu: number,
  ): Promise<void> {
    const existing = await this.#kernel.findLink(veth.host);
    if (!existing) {
      await this.#kernel.createVeth({
        name: veth.host,
        mtu,
        up: true,
        txChecksum: false,
        peer: { name: veth.container, mtu, mac, txChecksum: false },
      });
    }
    const bridge = this.#cfg.bridge;
    await this.#chassis.replica.ready;
    const br = this.#chassis.replica.table('Bridge').find('byName', bridge);
    if (!br)
      throw new OvnModeError(
        `integration bridge ${bridge} does not exist on this host (is ovn-controller running?)`,
      );
    if (this.#chassis.replica.table('Port').find('byName', veth.host)) return;
    await this.#chassis.db().run((t) => {
      t.wait(OVS.Port, {
        where: [['name', '==', veth.host]],
        columns: ['name'],
        until: '==',
        rows: [],
        timeout: 0,
      });
      const i = t.insert(OVS.Interface, {
        name: veth.host,
        external_ids: {
          'iface-id': lspName,
          [K.ovsOwner]: this.name,
          [K.endpoint]: endpointId,
          [K.network]: networkId,
          [K.claimedAt]: String(Date.now()),
        },
      });
      const p = t.insert(OVS.Port, {
        name: veth.host,
        interfaces: [i],
        external_ids: { [K.ovsOwner]: this.name },
      });
      t.mutate(OVS.Bridge, [['_uuid', '==', br._uuid as never]], [['ports', 'insert', [p]]]);
    });
  }

  /** Removes the OVS port and the veth of an endpoint; missing pieces are fine. */
  async #unwire(endpointId: string, hostName: string): Promise<void> {
    await this.#chassis.replica.ready;
    const ports = this.#chassis.replica.table('Port').filter((p) => p.name === hostName);
    const ifaces = this.#chassis.replica
      .table('Interface')
      .filter((i) => i.external_ids[K.endpoint] === endpointId && i.external_ids[K.ovsOwner] === this.name);
    const byIface = this.#chassis.replica
      .table('Port')
      .filter((p) => p.interfaces.some((u) => ifaces.some((i) => i._uuid === u)));
    const all = [...new Map([...ports, ...byIface].map((p) => [p._uuid, p])).values()];
    if (all.length > 0) {
      await this.#chassis.db().run((t) => {
        for (const br of this.#chassis.replica.table('Bridge').values()) {
          const mine = all.filter((p) => br.ports.includes(p._uuid as never));
          if (mine.length > 0)
            t.mutate(
              OVS.Bridge,
              [['_uuid', '==', br._uuid as never]],
              [['ports', 'delete', mine.map((p) => p._uuid as never)]],
            );
        }
      });
    }
    await this.#kernel.deleteLink(hostName, { missingOk: true });
  }

  /** Deletes logical switch ports by name (and their port group memberships). */
  async #deletePorts(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.#retry('deleting logical ports', () =>
      nbTransact(this.#nb as never, (nb) => {
        for (const n of names) {
          const p = this.#lsp(n);
          const sw = p?.name.split('/')[1];
          const dnsNames = (p?.external_ids[K.dns] ?? '').split(',').filter((x) => x !== '');
          const dns = sw && dnsNames.length > 0 ? this.#dnsRow(sw) : undefined;
          if (p && dns) {
            // Only the pairs this port wrote (a map delete by key-value pair: RFC 7047 §5.1).
            const value = p.addresses[0]?.split(' ').slice(1).join(' ') ?? '';
            nb.txn.mutate(
              NB.DNS,
              [['_uuid', '==', dns._uuid as never]],
              [['records', 'delete', Object.fromEntries(dnsNames.map((d) => [d, value]))]],
            );
          }
          // Its QoS rows are children of the switch, not of the port: they go in the same transaction.
          if (p && sw && this.#switch(sw) && this.#portQosRows(n).length > 0)
            planDropPortQos(nb, { sw, lsp: n });
          // Mirror is a root table: its rows go explicitly, before the port (weak references, dropWeakRefs).
          const mirrors = p ? this.#portMirrors(n) : [];
          if (p && mirrors.length > 0) {
            nb.txn.mutate(
              NB.Logical_Switch_Port,
              [['_uuid', '==', p._uuid as never]],
              [['mirror_rules', 'delete', mirrors.map((m) => m._uuid as never)]],
            );
            for (const m of mirrors) nb.txn.delete(NB.Mirror, [['_uuid', '==', m._uuid as never]]);
          }
          nb.deleteSwitchPort(n);
        }
      }),
    );
  }

  // ---- QoS (ovn/qos.ts) ----------------------------------------------------------------------------------

  /** An endpoint's `--driver-opt rate.* / burst.* / dscp` over its switch's defaults. */
  #endpointQos(options: Readonly<Record<string, unknown>> | null | undefined, ls: Ls, mtu: number): OvnQos {
    const mine: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(options ?? {}))
      if (isOvnQosOption(k) || k.startsWith('rate.') || k.startsWith('burst.')) mine[k] = v;
    return parseOvnQosOptions(mine, switchQos(ls.external_ids), mtu);
  }

  #portMirrors(lsp: string): (NB.Mirror & { readonly _uuid: string })[] {
    const out: (NB.Mirror & { readonly _uuid: string })[] = [];
    for (const m of this.#nb.table('Mirror').values() as Iterable<NB.Mirror & { readonly _uuid: string }>)
      if (m.external_ids[OVN_MIRROR_EXT.owner] === this.name && m.external_ids[OVN_MIRROR_EXT.port] === lsp)
        out.push(m);
    return out;
  }

  /** Inserts the port's two Mirror rows (sent, received) and references them from its mirror_rules. */
  async #addMirror(lspUuid: string, lsp: string, m: OvnMirrorSpec): Promise<void> {
    await this.#retry('adding the mirror', () =>
      this.#ovn.transact((t) => {
        const refs = mirrorRows(lsp, this.name, m).map((row) => t.insert(NB.Mirror, row));
        t.mutate(
          NB.Logical_Switch_Port,
          [['_uuid', '==', lspUuid as never]],
          [['mirror_rules', 'insert', refs]],
        );
      }),
    );
  }

  #portQosRows(lsp: string): QosRow[] {
    return portQosRows(this.#nb.table('QoS').values() as Iterable<QosRow>, this.name, lsp);
  }

  async #applyQos(sw: string, lsp: string, qos: OvnQos): Promise<void> {
    await this.#retry('setting QoS', () =>
      nbTransact(this.#nb as never, (nb) => planPortQos(nb, { sw, lsp, owner: this.name, qos })),
    );
  }

  /** The QoS of a logical port of ours (limits exactly as asked, and the DSCP mark). */
  portQos(lsp: string): OvnQos {
    return recordedOvnQos(this.#portQosRows(lsp));
  }

  /**
   * Changes the QoS of a running endpoint's (or attachment's) logical port `lsp`: a direction or `dscp`
   * left out keeps its value, null lifts it. Resolves once every chassis applied it (nb_cfg → hv_cfg), so
   * traffic follows when it returns. Returns what the port has now.
   */
  async setPortQos(
    lsp: string,
    change: { limits?: OvnQos['limits']; dscp?: number | null },
  ): Promise<OvnQos> {
    const p = this.#lsp(lsp);
    const sw = p?.name.split('/')[1];
    if (!p || !sw || p.external_ids[K.owner] !== this.name || !this.#switch(sw))
      throw new NotFoundError(`logical port ${lsp} is not a port of ${this.name}`);
    const cur = this.portQos(lsp);
    const next: OvnQos = { limits: { ...cur.limits }, dscp: cur.dscp };
    for (const d of ['ingress', 'egress'] as const)
      if (change.limits && d in change.limits) next.limits[d] = change.limits[d] ?? null;
    if ('dscp' in change) next.dscp = change.dscp ?? null;
    await this.#applyQos(sw, lsp, next);
    await this.#retry('the hv_cfg wait', () =>
      this.#ovn.sync('hv', { timeoutMs: this.#cfg.installTimeoutMs }),
    );
    return this.portQos(lsp);
  }

  /**
   * `/Ocn.SetRateLimit` (http/app.ts): `rate.*`/`burst.*`/`dscp` over what the endpoint's port has now
   * (`none` lifts one), applied on every chassis before it returns.
   */
  async setEndpointQos(req: {
    NetworkID: string;
    EndpointID: string;
    Options: Record<string, unknown>;
  }): Promise<Record<string, unknown>> {
    const ls = this.switchOfNetwork(req.NetworkID);
    if (!ls)
      throw new NotFoundError(`network ${req.NetworkID.slice(0, 12)} is not an OVN network of this host`);
    const lsp = this.endpointPortName(req.EndpointID);
    if (!lsp)
      throw new NotFoundError(`endpoint ${req.EndpointID.slice(0, 12)} has no logical port on this chassis`);
    for (const [k, v] of Object.entries(req.Options))
      if (!isOvnQosOption(k))
        throw new InvalidOptionError(
          k,
          v,
          'a QoS option: rate.ingress, rate.egress, burst.ingress, burst.egress, dscp',
        );
    const next = parseOvnQosOptions(req.Options, this.portQos(lsp), this.#info(ls).mtu);
    const now = await this.setPortQos(lsp, { limits: next.limits, dscp: next.dscp ?? null });
    return { LogicalPort: lsp, Limits: now.limits, DSCP: now.dscp ?? null };
  }

  /** The logical port of a Docker endpoint on this chassis (for the admin route). */
  endpointPortName(endpointId: string): string | undefined {
    return this.#endpointPorts(endpointId)[0]?.name;
  }

  /** The MTU of the switch a port of ours is on (bursts are checked against it). */
  portMtu(lsp: string): number {
    const ls = this.#switch(lsp.split('/')[1] ?? '');
    return ls ? this.#info(ls).mtu : 1500;
  }

  async join(req: JoinRequest): Promise<JoinResponse> {
    const ls = this.switchOfNetwork(req.NetworkID);
    if (!ls)
      throw new NotFoundError(`network ${req.NetworkID.slice(0, 12)} is not an OVN network of this host`);
    const [port] = this.#endpointPorts(req.EndpointID);
    if (!port)
      throw new NotFoundError(`endpoint ${req.EndpointID.slice(0, 12)} has no logical port on this chassis`);
    // Returns at once when CreateEndpoint saw it installed; after an ovn-controller restart, waits again.
    const deadline = Date.now() + this.#cfg.installTimeoutMs;
    await this.#chassis.waitForOvnInstalled(port.name, { timeoutMs: this.#cfg.installTimeoutMs });
    // The wait for the other chassis is here, not in CreateEndpoint: Docker serialises CreateEndpoint per
    // network but not Join, so concurrent containers wait side by side and share nb_cfg bumps.
    await this.#awaitRemote(port.name, deadline);
    const info = this.#info(ls);
    const reply: JoinResponse = {
      InterfaceName: { SrcName: vethNames(req.EndpointID, this.#prefix).container, DstPrefix: 'eth' },
      // No docker_gwbridge: the gateway is the tenant's logical router.
      DisableGatewayService: true,
    };
    info.subnets.forEach((s, i) => {
      const gw = info.gateways[i];
      if (!gw) return;
      if (s.family === 4) reply.Gateway = gw;
      else reply.GatewayIPv6 = gw;
    });
    return reply;
  }

  async leave(_req: EndpointRef): Promise<void> {}

  async deleteEndpoint(req: EndpointRef): Promise<void> {
    await this.gateway.revoke([req.EndpointID]);
    const ports = this.#endpointPorts(req.EndpointID);
    await this.#unwire(req.EndpointID, vethNames(req.EndpointID, this.#prefix).host);
    await this.#deletePorts(ports.map((p) => p.name));
  }

  async endpointOperInfo(_req: EndpointRef): Promise<Record<string, unknown>> {
    return {};
  }

  // ---- IPAM ---------------------------------------------------------------------------------------------

  /** PoolID `ovn/<switch>/<cidr>`: RequestAddress needs the switch, and only RequestPool gets --ipam-opt. */
  async requestPool(req: {
    Pool?: string | undefined;
    SubPool?: string | undefined;
    Options?: Record<string, string> | null | undefined;
    V6?: boolean | undefined;
  }): Promise<{ PoolID: string; Pool: string; Data: Record<string, string> }> {
    const sw = checkSwitchName('--ipam-opt logical_switch', req.Options?.logical_switch);
    for (const k of Object.keys(req.Options ?? {}))
      if (k !== 'logical_switch')
        throw new InvalidOptionError(`--ipam-opt ${k}`, req.Options?.[k], 'logical_switch only');
    if (req.SubPool)
      throw new InvalidOptionError('--ip-range', req.SubPool, 'none: not supported on OVN networks');
    let pool = req.Pool;
    if (!pool) {
      const ls = this.#switch(sw);
      const fam = req.V6 ? 6 : 4;
      pool = ls ? this.#info(ls).subnets.find((s) => s.family === fam)?.cidr : undefined;
      if (!pool)
        throw new InvalidOptionError(
          '--subnet',
          '',
          `a subnet: logical switch ${sw} has no IPv${fam} subnet yet to take`,
        );
    }
    const p = subnetOf('--subnet', pool);
    if ((p.family === 6) !== (req.V6 === true))
      throw new InvalidOptionError('--subnet', pool, req.V6 ? 'an IPv6 subnet' : 'an IPv4 subnet');
    const ls = this.#switch(sw);
    if (ls) {
      const have = this.#info(ls).subnets.find((s) => s.family === p.family);
      if (have && have.cidr !== p.cidr)
        throw new ConflictError(
          `logical switch ${sw} already exists with subnet ${have.cidr}; this network asks ${p.cidr}`,
        );
    }
    return { PoolID: `${POOL_PREFIX}${sw}/${p.cidr}`, Pool: p.cidr, Data: {} };
  }

  static isOvnPool(poolId: string): boolean {
    return poolId.startsWith(POOL_PREFIX);
  }

  #pool(poolId: string): { sw: string; subnet: IpPrefix } {
    const rest = poolId.slice(POOL_PREFIX.length);
    const i = rest.indexOf('/');
    const sw = rest.slice(0, i);
    const p = parsePrefix(rest.slice(i + 1));
    if (i < 1 || !p)
      throw new InvalidOptionError('PoolID', poolId, 'a pool id this driver returned (ovn/<switch>/<cidr>)');
    return { sw, subnet: p };
  }

  async releasePool(_req: { PoolID: string }): Promise<void> {}

  async requestAddress(req: {
    PoolID: string;
    Address?: string | undefined;
    Options?: Record<string, string> | null | undefined;
  }): Promise<{ Address: string; Data: Record<string, string> }> {
    const { sw, subnet } = this.#pool(req.PoolID);
    const len = subnet.length;
    const ls = this.#switch(sw);
    const info = ls ? this.#info(ls) : undefined;
    let asked: ReturnType<typeof parseIp>;
    if (req.Address) {
      asked = parseIp(req.Address.split('/')[0]);
      if (!asked || asked.family !== subnet.family || !inSubnet(subnet, asked.value))
        throw new InvalidOptionError('--ip', req.Address, `an address in ${subnet.cidr}`);
    }
    if (req.Options?.RequestAddressType === 'com.docker.network.gateway') {
      // The gateway is the switch's (the same on every host), never held.
      const have = info?.gateways.find((g) => parseIp(g)?.family === subnet.family);
      if (have && asked && asked.text !== have)
        throw new ConflictError(
          `logical switch ${sw} already exists with gateway ${have}; this network asks ${asked.text}`,
        );
      return {
        Address: `${have ?? asked?.text ?? formatIp(subnet.family, hostRange(subnet).first)}/${len}`,
        Data: {},
      };
    }
    if (!ls || !info)
      throw new IpamError(
        `logical switch ${sw} does not exist yet: addresses are allocated once the network is created (--aux-address is not supported on OVN networks)`,
      );
    const me = this.chassisName();
    const gateways = new Set(info.gateways);
    const cursorKey = `${K.ipamLast}${subnet.family}`;
    const tryHold = async (ip: string, moveCursor: boolean): Promise<boolean> => {
      const name = holdName(sw, ip);
      this.#pending.add(name);
      // Milliseconds (the reconciler compares it) with random decimals: our own attempt is recognisable.
      const at = `${Date.now()}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
      try {
        await this.#retry('RequestAddress', () =>
          this.#ovn.transact((t) => {
            const h = t.insert(NB.Logical_Switch_Port, {
              name,
              external_ids: { [K.owner]: this.name, [K.chassis]: me, [K.hold]: ip, [K.holdAt]: at },
            });
            t.mutate(
              NB.Logical_Switch,
              [['_uuid', '==', ls._uuid as never]],
              [
                ['ports', 'insert', [h]],
                ...(moveCursor
                  ? ([
                      ['external_ids', 'delete', [cursorKey]],
                      ['external_ids', 'insert', { [cursorKey]: ip }],
                    ] as const)
                  : []),
              ],
            );
          }),
        );
        return true;
      } catch (err) {
        // Taken — unless by our own earlier attempt whose reply a leader change cut off.
        if ((err as { error?: string }).error === 'constraint violation')
          return this.#lsp(name)?.external_ids[K.holdAt] === at;
        throw new IpamError(
          `holding address ${ip} on logical switch ${sw} in OVN_Northbound failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      } finally {
        this.#pending.delete(name);
      }
    };
    if (asked) {
      if (gateways.has(asked.text))
        throw new ConflictError(`address ${asked.text} is the gateway of logical switch ${sw}`);
      if (!(await tryHold(asked.text, false))) {
        const h = this.#lsp(holdName(sw, asked.text));
        throw new ConflictError(
          `address ${asked.text} is in use on logical switch ${sw}${h ? ` (port ${h.name}, chassis ${h.external_ids[K.chassis] ?? '?'}${h.external_ids[K.endpoint] ? `, endpoint ${h.external_ids[K.endpoint]?.slice(0, 12)}` : ''})` : ''}`,
        );
      }
      return { Address: `${asked.text}/${len}`, Data: {} };
    }
    const { first, last } = hostRange(subnet);
    // Next fit, as Docker's own IPAM allocates serially: start after the switch's last allocated address and
    // wrap around. Handing out the lowest free address would give a just-released address to the next
    // container at once, with a new MAC (Docker picks a random one per endpoint): peers still holding the
    // old neighbour entry send to a MAC nobody has until the entry expires (up to ~45 s reachable + 5 s
    // delay + probes). That is how a restarted container (`--restart always` after a host reboot) took
    // 42.6 s to be reachable again. Each candidate taken in the replica, or by a call of ours in flight, is
    // skipped; a candidate another host took first (constraint violation) too.
    const lastIp = parseIp(ls.external_ids[cursorKey]);
    const after =
      lastIp && lastIp.family === subnet.family && lastIp.value >= first && lastIp.value < last
        ? lastIp.value + 1n
        : first;
    const size = last - first + 1n;
    for (let i = 0n, tries = 0; i < size && tries < 100_000; i++) {
      const v = after + i <= last ? after + i : after + i - size;
      const ip = formatIp(subnet.family, v);
      if (gateways.has(ip)) continue;
      const name = holdName(sw, ip);
      if (this.#pending.has(name) || this.#lsp(name)) continue;
      tries++;
      if (await tryHold(ip, true)) return { Address: `${ip}/${len}`, Data: {} };
    }
    throw new IpamError(`no free address left in ${subnet.cidr} on logical switch ${sw}`);
  }

  async releaseAddress(req: { PoolID: string; Address: string }): Promise<void> {
    const { sw } = this.#pool(req.PoolID);
    const ip = parseIp(req.Address.split('/')[0]);
    if (!ip) return;
    const h = this.#lsp(holdName(sw, ip.text));
    // Only this chassis' unclaimed hold; a port DeleteEndpoint has not removed yet stays its business.
    if (!h || h.external_ids[K.chassis] !== this.chassisName() || h.external_ids[K.endpoint] !== undefined)
      return;
    await this.#deletePorts([h.name]);
  }

  // ---- for the Orchestrator (src/orchestrator/ovn.ts) ----------------------------------------------------

  /** The logical switch port the Orchestrator made for `key` (`<container id>/<ifname>`), if any. */
  attachedPort(key: string): Lsp | undefined {
    for (const p of this.#nb.table('Logical_Switch_Port').values() as Iterable<Lsp>)
      if (p.external_ids[K.attached] === key && p.external_ids[K.owner] === this.name) return p;
    return undefined;
  }

  /**
   * Holds addresses on switch `sw` (one per subnet; `ip` for the IPv4 or IPv6 one if given) and makes them a
   * port bound to this chassis, marked `ocn-attached=<key>`. Returns what the interface needs.
   */
  async claimForAttach(o: {
    sw: string;
    key: string;
    mac: string;
    ip?: string | undefined;
    dnsNames?: string[];
    /** Over the switch's defaults (`-o rate.*`, `-o dscp`): a direction given replaces, null lifts. */
    qos?: { limits?: OvnQos['limits']; dscp?: number | null } | undefined;
  }) {
    const ls = this.#switch(o.sw);
    if (!ls || ls.external_ids[K.owner] !== this.name)
      throw new NotFoundError(
        `logical switch ${o.sw} is not an OVN network of ${this.name} (create it first)`,
      );
    const info = this.#info(ls);
    const asked = o.ip === undefined ? undefined : parseIp(o.ip.split('/')[0]);
    if (o.ip !== undefined && !asked) throw new InvalidOptionError('ip', o.ip, 'an IPv4 or IPv6 address');
    const addrs: string[] = [];
    try {
      for (const s of info.subnets) {
        const r = await this.requestAddress({
          PoolID: `${POOL_PREFIX}${o.sw}/${s.cidr}`,
          ...(asked && asked.family === s.family ? { Address: asked.text } : {}),
        });
        addrs.push(r.Address);
      }
      const ips = addrs.map((a) => a.split('/')[0] as string);
      const holds = ips.map((ip) => this.#lsp(holdName(o.sw, ip)) as Lsp);
      const primary = holds[0] as Lsp;
      const entry = `${o.mac} ${ips.join(' ')}`;
      const me = this.chassisName();
      const now = String(Date.now());
      const dns = o.dnsNames?.length ? this.#dnsRow(o.sw) : undefined;
      await this.#ovn.transact((t) => {
        t.update(NB.Logical_Switch_Port, [['_uuid', '==', primary._uuid as never]], {
          addresses: [entry],
          port_security: [entry],
        });
        t.mutate(
          NB.Logical_Switch_Port,
          [['_uuid', '==', primary._uuid as never]],
          [
            ['options', 'insert', { 'requested-chassis': me }],
            [
              'external_ids',
              'insert',
              {
                [K.attached]: o.key,
                [K.claimedAt]: now,
                ...(dns ? { [K.dns]: (o.dnsNames ?? []).join(',') } : {}),
              },
            ],
          ],
        );
        for (const h of holds.slice(1))
          t.mutate(
            NB.Logical_Switch_Port,
            [['_uuid', '==', h._uuid as never]],
            [
              [
                'external_ids',
                'insert',
                { [K.attached]: o.key, [K.partOf]: primary.name, [K.claimedAt]: now },
              ],
            ],
          );
        t.mutate(
          NB.Port_Group,
          [['name', '==', portGroupName(info.tenant)]],
          [['ports', 'insert', [primary._uuid as never]]],
        );
        if (dns && o.dnsNames)
          t.mutate(
            NB.DNS,
            [['_uuid', '==', dns._uuid as never]],
            [
              ['records', 'delete', o.dnsNames],
              ['records', 'insert', Object.fromEntries(o.dnsNames.map((n) => [n, ips.join(' ')]))],
            ],
          );
      });
      const qos = switchQos(ls.external_ids);
      for (const d of ['ingress', 'egress'] as const)
        if (o.qos?.limits && d in o.qos.limits) qos.limits[d] = o.qos.limits[d] ?? null;
      if (o.qos && 'dscp' in o.qos) qos.dscp = o.qos.dscp ?? null;
      if (hasQos(qos)) await this.#applyQos(o.sw, primary.name, qos);
      const gateway = info.gateways.find((g) => parseIp(g)?.family === 4);
      const gateway6 = info.gateways.find((g) => parseIp(g)?.family === 6);
      return {
        port: primary.name,
        addresses: addrs,
        mtu: info.mtu,
        gateway,
        gateway6,
        bridge: this.#cfg.bridge,
      };
    } catch (err) {
      await this.#deletePorts(addrs.map((a) => holdName(o.sw, a.split('/')[0] as string))).catch(
        () => undefined,
      );
      throw err;
    }
  }

  /** Waits until `port` is ovn-installed here, then (bounded, never failing) applied on every chassis. */
  async waitReady(port: string): Promise<void> {
    const deadline = Date.now() + this.#cfg.installTimeoutMs;
    await this.#chassis.waitForOvnInstalled(port, { timeoutMs: this.#cfg.installTimeoutMs });
    await this.#awaitRemote(port, deadline);
  }

  /** Deletes the Orchestrator's port(s) for `key`. */
  async releaseAttached(key: string): Promise<void> {
    const names = [...(this.#nb.table('Logical_Switch_Port').values() as Iterable<Lsp>)]
      .filter((p) => p.external_ids[K.attached] === key && p.external_ids[K.owner] === this.name)
      .map((p) => p.name);
    await this.#deletePorts(names);
  }

  // ---- reconciler ---------------------------------------------------------------------------------------

  /**
   * Removes this chassis' stale objects, nothing of other chassis: holds never claimed within the grace
   * time; ports whose veth is gone (container gone, host rebooted) or whose container end is still in this
   * namespace after the grace time (never joined: the plugin died mid-attach, or Docker gave up); OVS
   * interfaces of ours whose logical port is gone. Returns the names removed.
   */
  async reconcile(): Promise<{ removed: string[] }> {
    let me: string;
    try {
      me = this.chassisName();
    } catch {
      return { removed: [] };
    }
    await this.#chassis.replica.ready;
    const now = Date.now();
    const old = (ts: string | undefined) => ts === undefined || now - Number(ts) >= this.#graceMs;
    const links = new Set((await this.#kernel.listLinks()).map((l) => l.name));
    const ifaces = this.#chassis.replica
      .table('Interface')
      .filter((i) => i.external_ids[K.ovsOwner] === this.name && i.external_ids[K.endpoint] !== undefined);
    const ifaceByLsp = new Map(ifaces.map((i) => [i.external_ids['iface-id'] ?? '', i]));
    const staleLsps: string[] = [];
    const staleEndpoints = new Map<string, string>(); // endpoint id → host veth
    for (const p of this.#nb.table('Logical_Switch_Port').values() as Iterable<Lsp>) {
      const e = p.external_ids;
      if (e[K.owner] !== this.name || e[K.chassis] !== me) continue;
      const ep = e[K.endpoint];
      if (e[K.attached] !== undefined) {
        // The Orchestrator's: stale once no OVS Interface of this host binds it (after the grace).
        if (
          !this.#chassis.replica.table('Interface').filter((i) => i.external_ids['iface-id'] === p.name)
            .length &&
          old(e[K.claimedAt])
        )
          staleLsps.push(p.name);
        continue;
      }
      if (ep === undefined) {
        if (old(e[K.holdAt])) staleLsps.push(p.name);
        continue;
      }
      if (e[K.partOf] !== undefined) continue; // goes with its primary
      if (this.#inflight.has(ep)) continue; // its CreateEndpoint is still running here
      const veth = vethNames(ep, this.#prefix);
      const iface = ifaceByLsp.get(p.name);
      const gone = !links.has(veth.host) && (iface !== undefined || old(e[K.claimedAt]));
      const unjoined = links.has(veth.container) && old(e[K.claimedAt]);
      const unbound = iface === undefined && old(e[K.claimedAt]);
      if (gone || unjoined || unbound) {
        staleEndpoints.set(ep, veth.host);
        staleLsps.push(...this.#endpointPorts(ep).map((x) => x.name));
      }
    }
    for (const i of ifaces) {
      const lsp = i.external_ids['iface-id'];
      if (lsp && !this.#lsp(lsp) && old(i.external_ids[K.claimedAt]))
        staleEndpoints.set(i.external_ids[K.endpoint] ?? '', i.name);
    }
    for (const [ep, host] of staleEndpoints) await this.#unwire(ep, host);
    await this.#deletePorts([...new Set(staleLsps)]);
    const swept = await this.gateway.sweep();
    const removed = [...new Set(staleLsps), ...[...staleEndpoints.values()], ...swept];
    if (removed.length > 0)
      this.#log.warn({ removed }, 'OVN reconciler removed stale objects of this chassis');
    return { removed };
  }
}
