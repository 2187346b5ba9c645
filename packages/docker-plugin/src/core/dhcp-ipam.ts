// DHCP IPAM mode (issue 17): a network whose addresses come from a DHCP server that already serves its VLAN
// (the LAN's). The plugin is the DHCP client on each endpoint's behalf (@ovs-container-network/dhcp); the
// pool and every lease live in OVS, so a restarted plugin goes on renewing. No process is spawned.
//
// What Docker's IPAM API gives us (moby libnetwork, network.go / endpoint.go):
// - RequestPool gets only `--ipam-opt` (Options), `--subnet` (Pool), `--ip-range` (SubPool): not the network's
//   driver options or id. So the pool names its LAN itself: `--ipam-opt mode=dhcp --ipam-opt vlan=N
//   [--ipam-opt bridge=B]`. PoolID = `ocn-dhcp/<bridge>/<vlan>`, self-describing.
// - RequestAddress gets the PoolID and Options — and, when the IPAM driver's GetCapabilities says
//   `RequiresMACAddress: true`, Options["com.docker.network.endpoint.macaddress"]: libnetwork generates the
//   endpoint's MAC (netutils.GenerateRandomMAC) *before* RequestAddress when the user gave none, and then
//   sends that same MAC in the driver's CreateEndpoint (Interface.MacAddress). So we acquire for exactly the
//   MAC the container will have. RequestAddress comes before CreateEndpoint, so the container does not exist
//   yet: the DISCOVER goes out (broadcast flag, RFC 2131 §4.1) from a short-lived veth pair put on the
//   network's bridge and VLAN for that one exchange ("client port"), removed whatever happens.
// - Renewal at T1 is unicast to the server and its ACK unicast to the endpoint's MAC: OVS has learned that MAC
//   on the container's port, so renewals go from inside the container's namespace (Join's SandboxKey, recorded
//   in the lease record), on the interface that has the lease's MAC.
// - ReleaseAddress (after DeleteEndpoint: the container's interface is gone) gets PoolID and address only:
//   the lease record, keyed by pool and address, knows the MAC; DHCPRELEASE goes from a client port.
// - CreateNetwork sees the pool CIDR, not the PoolID: the driver asks `networkOptions()` here whether the CIDR
//   is a DHCP pool's, and takes the pool's bridge and VLAN, with gateway_mode=external (the LAN's router is
//   the gateway; an internal gateway port would take the router's address).
//
// In OVS (Open_vSwitch external_ids, one key per pool and per lease, so a change rewrites one small value):
//   ocn-dhcp-pool-<owner>/<bridge>/<vlan>       {"v":1,"pool":"10.0.0.0/24","gateway":"10.0.0.1",…}
//   ocn-dhcp-lease-<owner>/<bridge>/<vlan>/<ip> {"v":1,"lease":{mac, serverId, T1…},"sandbox":"/var/run/…"}
// Client ports carry Port/Interface external_ids ocn-dhcp-owner=<owner>, and their veths the owner's link
// group, so `reap()` removes what a crash between creating and removing one left behind.
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import {
  acquire,
  DhcpError,
  type Lease,
  LeaseKeeper,
  type LeaseKeeperOptions,
  prefixLength,
  release,
  validateLease,
  type Where,
} from '@ovs-container-network/dhcp';
import { Transaction, type Transactor, uuid } from '@ovs-container-network/ovsdb';
import * as OVS from '@ovs-container-network/ovsdb/models/open-vswitch';
import { type DhcpNetworkHooks, Mutex } from './driver.js';
import {
  ConflictError,
  describeError,
  InvalidOptionError,
  InvalidRequestError,
  IpamError,
  OvsdbFailure,
  show,
} from './errors.js';
import {
  cidrContainsIp,
  formatIp,
  GATEWAY_ADDRESS_TYPE,
  GLOBAL_ADDRESS_SPACE,
  LOCAL_ADDRESS_SPACE,
  parseCidr,
  parseIp,
  REQUEST_ADDRESS_TYPE,
} from './ipam.js';
import type { KernelHandle, KernelOpener } from './kernel.js';
import { ownerGroup } from './kernel.js';
import { hashName, normalizeMac } from './names.js';
import { DEFAULT_BRIDGE, LABEL_MAC, type NetworkOptions, parseIfName } from './options.js';
import { vlanProblem } from './rules/ids.js';
import { IFNAMSIZ_MAX } from './rules/ifname.js';
import type { IpamDriverApi, Logger } from './types.js';
import { silentLogger } from './types.js';

export const DHCP_POOL_PREFIX = 'ocn-dhcp/';
/** `--ipam-opt` keys of DHCP mode. */
export const DHCP_IPAM_OPTION_KEYS = ['mode', 'vlan', 'bridge', 'dhcp_timeout'] as const;
/** Default bound on one acquisition (DISCOVER … ACK), and the largest allowed. */
export const DEFAULT_DHCP_TIMEOUT_MS = 6000;
/** Port/Interface external_ids key marking a client port (not ocn-owner: the driver's reconciler warns about those). */
export const CLIENT_PORT_OWNER = 'ocn-dhcp-owner';

export interface DhcpPoolRecord {
  v: 1;
  bridge: string;
  vlan: number;
  /** Canonical CIDR: `--subnet`, or learned from the server's offer (yiaddr + option 1). */
  pool: string;
  /** Bare IP: `--gateway`, or the offer's first router (option 3). */
  gateway?: string;
  /** Bound on each acquisition (ms). */
  timeoutMs: number;
  /** Identical RequestPool calls share the pool. */
  refs: number;
}

export interface DhcpLeaseRecord {
  v: 1;
  lease: Lease;
  /** Join's SandboxKey: the container's namespace, where renewals are sent from. */
  sandbox?: string;
  /** When the address was handed to Docker (ms), for reaping leases whose RequestAddress reply was lost. */
  created: number;
  /** The server refused a renewal or the lease ran out: no more renewals, no DHCPRELEASE. */
  lost?: boolean;
}

/** The OVS rows DHCP mode reads (its own narrow shapes: any replica view adapts to them in a few lines). */
export interface DhcpBridge {
  readonly uuid: string;
  readonly name: string;
  readonly ports: readonly string[];
}
export interface DhcpPort {
  readonly uuid: string;
  readonly name: string;
  readonly externalIds: Readonly<Record<string, string>>;
}
export interface DhcpIface {
  readonly ofport: number | undefined;
  readonly error: string | undefined;
}

/** What DHCP mode reads from and writes to OVS: lookups in the replica, and typed transactions. */
export interface DhcpOvs {
  rootExternalIds(): Readonly<Record<string, string>>;
  bridgeByName(name: string): DhcpBridge | undefined;
  portByName(name: string): DhcpPort | undefined;
  ifaceByName(name: string): DhcpIface | undefined;
  ports(): Iterable<DhcpPort>;
  /** Sends one typed transaction on the Open_vSwitch database, built by `build` (packages/ovsdb). */
  transact(build: (t: Transaction<'Open_vSwitch'>) => void): Promise<void>;
}

/** A DhcpOvs `transact` over a packages/ovsdb Transactor (an OvsdbClient, a Replica, a session). */
export function transactVia(transactor: Transactor): DhcpOvs['transact'] {
  return async (build) => {
    const t = new Transaction('Open_vSwitch');
    build(t);
    await t.execute(transactor);
  };
}

export interface DhcpIpamOptions {
  owner: string;
  /** Interface-name prefix of the driver (client ports are `<prefix>d…`/`<prefix>e…`). */
  prefix: string;
  ovs: DhcpOvs;
  kernel: KernelHandle;
  openKernel: KernelOpener;
  logger?: Logger;
  /** Docker calls are answered within this (plugin --call-timeout): acquisitions must end well before. */
  callTimeoutMs?: number;
  keeper?: LeaseKeeperOptions;
  /** A lease without an endpoint using its address this long after RequestAddress is released (default 60 s). */
  orphanGraceMs?: number;
}

/** An endpoint as the driver records it, for the reaper: its network's bridge and VLAN, and its IPv4 address. */
export interface EndpointAddress {
  bridge: string;
  vlan: number;
  ipv4: string;
}

const poolKey = (owner: string, bridge: string, vlan: number) => `ocn-dhcp-pool-${owner}/${bridge}/${vlan}`;
const leaseKey = (owner: string, bridge: string, vlan: number, ip: string) =>
  `ocn-dhcp-lease-${owner}/${bridge}/${vlan}/${ip}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `ocn-dhcp/<bridge>/<vlan>` → its parts, or undefined for a PoolID of another mode. */
export function parseDhcpPoolId(id: string): { bridge: string; vlan: number } | undefined {
  if (typeof id !== 'string' || !id.startsWith(DHCP_POOL_PREFIX)) return undefined;
  const m = /^ocn-dhcp\/([^/]+)\/(\d{1,4})$/.exec(id);
  if (!m?.[1] || !m[2]) throw new IpamError(`malformed DHCP PoolID ${show(id)}`);
  return { bridge: m[1], vlan: Number(m[2]) };
}

export function isDhcpPoolRequest(options: Record<string, string> | null | undefined): boolean {
  return options?.mode === 'dhcp';
}

function parsePoolRecord(text: string | undefined, key: string): DhcpPoolRecord | undefined {
  if (text === undefined) return undefined;
  let r: DhcpPoolRecord;
  try {
    r = JSON.parse(text) as DhcpPoolRecord;
  } catch (err) {
    throw new IpamError(`Open_vSwitch external_ids:${key} is not JSON`, { cause: err });
  }
  // Read back from OVS, so input: every field checked.
  if (
    r === null ||
    typeof r !== 'object' ||
    r.v !== 1 ||
    vlanProblem(r.vlan) !== undefined ||
    typeof r.bridge !== 'string' ||
    typeof r.pool !== 'string' ||
    parseCidr('pool', r.pool, false).text !== r.pool ||
    (r.gateway !== undefined && !cidrContainsIp(r.pool, r.gateway)) ||
    !Number.isInteger(r.timeoutMs) ||
    r.timeoutMs <= 0 ||
    !Number.isInteger(r.refs) ||
    r.refs < 0
  ) {
    throw new IpamError(`Open_vSwitch external_ids:${key} is not a DHCP pool record: ${show(text)}`);
  }
  return r;
}

function parseLeaseRecord(text: string, key: string): DhcpLeaseRecord {
  try {
    const r = JSON.parse(text) as DhcpLeaseRecord;
    if (r?.v !== 1 || typeof r.created !== 'number') throw new Error('not a version 1 record');
    if (r.sandbox !== undefined && (typeof r.sandbox !== 'string' || !r.sandbox.startsWith('/')))
      throw new Error(`sandbox ${show(r.sandbox)} is not an absolute path`);
    const out: DhcpLeaseRecord = { v: 1, lease: validateLease(r.lease, 'lease'), created: r.created };
    if (r.sandbox !== undefined) out.sandbox = r.sandbox;
    if (r.lost === true) out.lost = true;
    return out;
  } catch (err) {
    throw new IpamError(
      `Open_vSwitch external_ids:${key} is not a DHCP lease record: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * DHCP mode of the IPAM driver. `requestPool` … `releaseAddress` take the calls whose pools are DHCP pools
 * (`DhcpAwareIpam` routes them); `networkOptions` and `joined` are the network driver's hooks.
 */
export class DhcpIpam implements DhcpNetworkHooks {
  readonly #owner: string;
  readonly #prefix: string;
  readonly #ovs: DhcpOvs;
  readonly #kernel: KernelHandle;
  readonly #openKernel: KernelOpener;
  readonly #log: Logger;
  readonly #maxTimeoutMs: number;
  readonly #graceMs: number;
  readonly #lock = new Mutex();
  readonly keeper: LeaseKeeper;
  /** Client ports in use (host-end names): the reaper leaves them alone. */
  readonly #busy = new Set<string>();

  constructor(opts: DhcpIpamOptions) {
    this.#owner = opts.owner;
    this.#prefix = opts.prefix;
    this.#ovs = opts.ovs;
    this.#kernel = opts.kernel;
    this.#openKernel = opts.openKernel;
    this.#log = opts.logger ?? silentLogger;
    // Leave room for the client port's setup and teardown inside Docker's call.
    this.#maxTimeoutMs = Math.max(1000, (opts.callTimeoutMs ?? 10_000) - 2500);
    this.#graceMs = opts.orphanGraceMs ?? 60_000;
    this.keeper = new LeaseKeeper(opts.keeper ?? {});
    this.keeper.on('renewed', (key, lease) => {
      this.#log.info({ lease: key, address: lease.address, t1: lease.renewalTimeSec }, 'DHCP lease renewed');
      this.#updateLease(key, (r) => ({ ...r, lease })).catch((err: unknown) =>
        this.#log.error({ lease: key, err: describeError(err) }, 'cannot save the renewed DHCP lease in OVS'),
      );
    });
    this.keeper.on('failed', (key, err) =>
      this.#log.warn({ lease: key, err: err.message }, 'DHCP renewal attempt failed; retrying'),
    );
    const lost = (key: string, why: string) => {
      this.#log.error(
        { lease: key, why },
        'DHCP lease lost: the container keeps an address it no longer holds',
      );
      this.#updateLease(key, (r) => ({ ...r, lost: true })).catch(() => undefined);
    };
    this.keeper.on('lost', (key, err) => lost(key, err.message));
    this.keeper.on('expired', (key) => lost(key, 'the lease expired without a renewal'));
  }

  // ---- reading OVS -------------------------------------------------------------------------------------

  #pool(bridge: string, vlan: number): DhcpPoolRecord | undefined {
    const key = poolKey(this.#owner, bridge, vlan);
    return parsePoolRecord(this.#ovs.rootExternalIds()[key], key);
  }

  /** Every DHCP pool of this owner. Records that do not validate are skipped (and logged). */
  pools(): DhcpPoolRecord[] {
    const prefix = `ocn-dhcp-pool-${this.#owner}/`;
    const out: DhcpPoolRecord[] = [];
    for (const [k, v] of Object.entries(this.#ovs.rootExternalIds())) {
      if (!k.startsWith(prefix)) continue;
      try {
        const r = parsePoolRecord(v, k);
        if (r && k === poolKey(this.#owner, r.bridge, r.vlan)) out.push(r);
      } catch (err) {
        this.#log.warn({ key: k, err: describeError(err) }, 'ignoring an invalid DHCP pool record');
      }
    }
    return out;
  }

  /** Every lease record of this owner, by key. */
  leases(): Map<string, DhcpLeaseRecord> {
    const prefix = `ocn-dhcp-lease-${this.#owner}/`;
    const out = new Map<string, DhcpLeaseRecord>();
    for (const [k, v] of Object.entries(this.#ovs.rootExternalIds())) {
      if (!k.startsWith(prefix)) continue;
      try {
        const r = parseLeaseRecord(v, k);
        if (k.endsWith(`/${r.lease.address}`)) out.set(k, r);
      } catch (err) {
        this.#log.warn({ key: k, err: describeError(err) }, 'ignoring an invalid DHCP lease record');
      }
    }
    return out;
  }

  #lease(key: string): DhcpLeaseRecord | undefined {
    const text = this.#ovs.rootExternalIds()[key];
    return text === undefined ? undefined : parseLeaseRecord(text, key);
  }

  // ---- writing OVS (typed transactions on the root row's external_ids) ---------------------------------

  async #writeKeys(what: string, set: Record<string, string>, remove: readonly string[] = []): Promise<void> {
    const drop = [...new Set([...remove, ...Object.keys(set)])];
    try {
      await this.#ovs.transact((t) => {
        t.comment(`${this.#owner}: ${what}`);
        if (drop.length > 0) t.mutate(OVS.Open_vSwitch, [], [['external_ids', 'delete', drop]]);
        if (Object.keys(set).length > 0) t.mutate(OVS.Open_vSwitch, [], [['external_ids', 'insert', set]]);
      });
    } catch (err) {
      throw new OvsdbFailure(`${what}: the OVSDB transaction failed: ${describeError(err)}`, { cause: err });
    }
  }

  #updateLease(key: string, fn: (r: DhcpLeaseRecord) => DhcpLeaseRecord): Promise<void> {
    return this.#lock.run(async () => {
      const r = this.#lease(key);
      if (r === undefined) return; // released meanwhile
      await this.#writeKeys(`update DHCP lease ${key}`, { [key]: JSON.stringify(fn(r)) });
    });
  }

  // ---- the IPAM calls ------------------------------------------------------------------------------------

  async requestPool(req: Parameters<IpamDriverApi['requestPool']>[0]) {
    const o = req.Options ?? {};
    for (const k of Object.keys(o)) {
      if (!(DHCP_IPAM_OPTION_KEYS as readonly string[]).includes(k))
        throw new InvalidOptionError(k, o[k], `a DHCP-mode --ipam-opt: ${DHCP_IPAM_OPTION_KEYS.join(', ')}`);
    }
    if (req.V6)
      throw new InvalidRequestError(
        'DHCP mode (--ipam-opt mode=dhcp) is IPv4 only (the plugin is a DHCPv4 client): create the network without --ipv6',
      );
    if (req.SubPool)
      throw new InvalidOptionError(
        '--ip-range',
        req.SubPool,
        'nothing in DHCP mode: the DHCP server picks addresses',
      );
    if (o.vlan === undefined)
      throw new InvalidOptionError(
        'vlan',
        undefined,
        'the VLAN the LAN and its DHCP server are on (--ipam-opt vlan=N), 1–4094',
      );
    if (!/^\d{1,4}$/.test(o.vlan) || vlanProblem(Number(o.vlan)) !== undefined)
      throw new InvalidOptionError('vlan', o.vlan, 'a VLAN id: an integer from 1 to 4094');
    const vlan = Number(o.vlan);
    const bridge = o.bridge === undefined ? DEFAULT_BRIDGE : parseIfName('bridge', o.bridge);
    let timeoutMs = DEFAULT_DHCP_TIMEOUT_MS;
    if (o.dhcp_timeout !== undefined) {
      const max = Math.floor(this.#maxTimeoutMs / 1000);
      const s = Number(o.dhcp_timeout);
      if (!/^\d+$/.test(o.dhcp_timeout) || s < 1 || s > max)
        throw new InvalidOptionError(
          'dhcp_timeout',
          o.dhcp_timeout,
          `seconds from 1 to ${max} (below the plugin's --call-timeout, so Docker gets the answer)`,
        );
      timeoutMs = s * 1000;
    }
    timeoutMs = Math.min(timeoutMs, this.#maxTimeoutMs);
    return this.#lock.run(async () => {
      const id = `${DHCP_POOL_PREFIX}${bridge}/${vlan}`;
      const existing = this.#pool(bridge, vlan);
      const given = req.Pool ? parseCidr('Pool', req.Pool, false).text : undefined;
      if (existing) {
        if (given !== undefined && given !== existing.pool)
          throw new ConflictError(
            `bridge ${bridge} VLAN ${vlan} already has a DHCP pool for ${existing.pool} (not ${given}); one LAN, one pool`,
          );
        await this.#writeKeys(`DHCP pool ${id} shared`, {
          [poolKey(this.#owner, bridge, vlan)]: JSON.stringify({ ...existing, refs: existing.refs + 1 }),
        });
        return { PoolID: id, Pool: existing.pool, Data: {} };
      }
      let record: DhcpPoolRecord;
      if (given !== undefined) {
        record = { v: 1, bridge, vlan, pool: given, timeoutMs, refs: 1 };
      } else {
        record = { ...(await this.#learn(bridge, vlan, timeoutMs)), timeoutMs, refs: 1 };
      }
      await this.#writeKeys(`DHCP pool ${id}`, {
        [poolKey(this.#owner, bridge, vlan)]: JSON.stringify(record),
      });
      this.#log.info({ pool: id, subnet: record.pool, gateway: record.gateway }, 'DHCP pool created');
      return { PoolID: id, Pool: record.pool, Data: {} };
    });
  }

  /**
   * No `--subnet`: asks the LAN's server. A full DISCOVER … ACK for a probe MAC (locally administered, from
   * the bridge and VLAN), then DHCPRELEASE at once: the ACK's yiaddr + subnet mask give the pool, its first
   * router the gateway.
   */
  async #learn(
    bridge: string,
    vlan: number,
    timeoutMs: number,
  ): Promise<Pick<DhcpPoolRecord, 'v' | 'bridge' | 'vlan' | 'pool' | 'gateway'>> {
    if (!this.#ovs.bridgeByName(bridge))
      throw new InvalidOptionError(
        'bridge',
        bridge,
        'an existing OVS bridge that reaches the LAN, to learn the subnet from its DHCP server — or give --subnet and --gateway',
      );
    const h = createHash('sha256').update(`dhcp-probe:${this.#owner}/${bridge}/${vlan}`).digest();
    const mac = [0x02, h[0] ?? 0, h[1] ?? 0, h[2] ?? 0, h[3] ?? 0, h[4] ?? 0]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join(':');
    const lease = await this.#withClientPort(bridge, vlan, mac, async (where) => {
      const l = await this.#acquire(
        where,
        mac,
        timeoutMs,
        `learning the subnet of bridge ${bridge} VLAN ${vlan}`,
      );
      await release(l, where).catch(() => undefined);
      return l;
    });
    const len = lease.subnetMask === undefined ? undefined : prefixLength(lease.subnetMask);
    if (len === undefined)
      throw new IpamError(
        `the DHCP server ${lease.serverId} on bridge ${bridge} VLAN ${vlan} sent no usable subnet mask (option 1: ${show(lease.subnetMask)}); give --subnet and --gateway`,
      );
    const pool = parseCidr('subnet', `${lease.address}/${len}`, false).text;
    const gateway = lease.routers.find((r) => cidrContainsIp(pool, r));
    return { v: 1, bridge, vlan, pool, ...(gateway === undefined ? {} : { gateway }) };
  }

  async releasePool(req: { PoolID: string }): Promise<void> {
    const p = parseDhcpPoolId(req.PoolID);
    if (!p) throw new IpamError(`not a DHCP pool: ${show(req.PoolID)}`);
    await this.#lock.run(async () => {
      const key = poolKey(this.#owner, p.bridge, p.vlan);
      const r = this.#pool(p.bridge, p.vlan);
      if (!r) return;
      if (r.refs > 1) {
        await this.#writeKeys(`DHCP pool ${req.PoolID} released once`, {
          [key]: JSON.stringify({ ...r, refs: r.refs - 1 }),
        });
        return;
      }
      // The last reference: leases Docker never released go with the pool (each DHCPRELEASE best effort).
      const mine = `ocn-dhcp-lease-${this.#owner}/${p.bridge}/${p.vlan}/`;
      const leases = [...this.leases()].filter(([k]) => k.startsWith(mine));
      for (const [k, l] of leases) await this.#giveBack(k, l, p.bridge, p.vlan);
      await this.#writeKeys(`DHCP pool ${req.PoolID} removed`, {}, [key, ...leases.map(([k]) => k)]);
      this.#log.info({ pool: req.PoolID }, 'DHCP pool removed');
    });
  }

  async requestAddress(req: Parameters<IpamDriverApi['requestAddress']>[0]) {
    const p = parseDhcpPoolId(req.PoolID);
    if (!p) throw new IpamError(`not a DHCP pool: ${show(req.PoolID)}`);
    const pool = this.#pool(p.bridge, p.vlan);
    if (!pool) throw new IpamError(`unknown pool ${show(req.PoolID)}`);
    const len = pool.pool.split('/')[1];
    if (req.Options?.[REQUEST_ADDRESS_TYPE] === GATEWAY_ADDRESS_TYPE) {
      // The LAN's router: announced to containers, never handed out by us.
      const gw = req.Address ? req.Address.replace(/\/\d+$/, '') : pool.gateway;
      if (gw === undefined)
        throw new IpamError(
          `the DHCP network on bridge ${p.bridge} VLAN ${p.vlan} needs --gateway (the LAN router's address in ${pool.pool}); the plugin learns it from the server only when --subnet is left out too`,
        );
      if (!cidrContainsIp(pool.pool, gw)) throw new IpamError(`gateway ${gw} is not in ${pool.pool}`);
      return { Address: `${formatIp(parseIp('gateway', gw, false), false)}/${len}`, Data: {} };
    }
    if (req.Address)
      throw new InvalidOptionError(
        '--ip',
        req.Address,
        'nothing on a DHCP network: the LAN’s DHCP server decides the address (reserve one for the MAC there, with --mac-address)',
      );
    const rawMac = req.Options?.[LABEL_MAC];
    if (!rawMac)
      throw new InvalidRequestError(
        `RequestAddress on DHCP pool ${req.PoolID} came without Options["${LABEL_MAC}"]: Docker sends the endpoint's MAC only to IPAM drivers with RequiresMACAddress, which this one announces`,
      );
    const mac = normalizeMac(LABEL_MAC, rawMac);
    const t0 = performance.now();
    let dhcpMs = 0;
    const lease = await this.#withClientPort(p.bridge, p.vlan, mac, async (where) => {
      const t1 = performance.now();
      const l = await this.#acquire(
        where,
        mac,
        pool.timeoutMs,
        `network on bridge ${p.bridge} VLAN ${p.vlan}`,
      );
      dhcpMs = performance.now() - t1;
      return l;
    });
    const totalMs = performance.now() - t0;
    const key = leaseKey(this.#owner, p.bridge, p.vlan, lease.address);
    try {
      if (!cidrContainsIp(pool.pool, lease.address))
        throw new IpamError(
          `the DHCP server ${lease.serverId} handed out ${lease.address} for MAC ${mac}, which is outside the network's subnet ${pool.pool}; released it`,
        );
      const record: DhcpLeaseRecord = { v: 1, lease, created: Date.now() };
      await this.#lock.run(() =>
        this.#writeKeys(`DHCP lease ${lease.address} for ${mac}`, { [key]: JSON.stringify(record) }),
      );
    } catch (err) {
      await this.#withClientPort(p.bridge, p.vlan, mac, (where) => release(lease, where)).catch(
        () => undefined,
      );
      throw err;
    }
    this.#keep(key, lease);
    this.#log.info(
      {
        pool: req.PoolID,
        address: lease.address,
        mac,
        server: lease.serverId,
        leaseSec: lease.leaseTimeSec,
        t1: lease.renewalTimeSec,
        dhcpMs: Math.round(dhcpMs),
        clientPortMs: Math.round(totalMs - dhcpMs),
      },
      'DHCP lease acquired',
    );
    return { Address: `${lease.address}/${len}`, Data: {} };
  }

  async releaseAddress(req: { PoolID: string; Address: string }): Promise<void> {
    const p = parseDhcpPoolId(req.PoolID);
    if (!p) throw new IpamError(`not a DHCP pool: ${show(req.PoolID)}`);
    const ip = req.Address.replace(/\/\d+$/, '');
    const key = leaseKey(this.#owner, p.bridge, p.vlan, ip);
    const r = this.#lease(key);
    if (!r) return; // the gateway, or released already
    await this.#giveBack(key, r, p.bridge, p.vlan);
    await this.#lock.run(() => this.#writeKeys(`DHCP lease ${ip} released`, {}, [key]));
  }

  /** Stops renewing and sends DHCPRELEASE (RFC 2131 §4.4.6) from a client port; failures are logged only. */
  async #giveBack(key: string, r: DhcpLeaseRecord, bridge: string, vlan: number): Promise<void> {
    this.keeper.forget(key);
    if (r.lost) return;
    try {
      await this.#withClientPort(bridge, vlan, r.lease.mac, (where) => release(r.lease, where));
      this.#log.info({ lease: key, mac: r.lease.mac }, 'DHCP lease released');
    } catch (err) {
      this.#log.warn(
        { lease: key, err: describeError(err) },
        'DHCPRELEASE not sent; the lease runs out on the server',
      );
    }
  }

  // ---- the network driver's hooks ----------------------------------------------------------------------

  /**
   * CreateNetwork of a network whose IPv4 subnet is a DHCP pool's: the pool's bridge and VLAN (an explicit
   * `-o bridge`/`-o vlan` must agree), and gateway_mode `external` (the LAN's router; `internal` would put the
   * router's address on a host port, `none` is allowed). Other networks: `opts` unchanged.
   */
  networkOptions(
    subnet: string | undefined,
    addressSpace: string | undefined,
    generic: unknown,
    opts: NetworkOptions,
  ): NetworkOptions {
    if (subnet === undefined) return opts;
    // Another IPAM driver's network (Docker's default IPAM says "LocalDefault"): never a DHCP pool of ours.
    if (addressSpace && addressSpace !== LOCAL_ADDRESS_SPACE && addressSpace !== GLOBAL_ADDRESS_SPACE)
      return opts;
    const given = (generic ?? {}) as Record<string, unknown>;
    const candidates = this.pools().filter((p) => p.pool === subnet);
    const explicitVlan = 'vlan' in given ? opts.vlan : undefined;
    const explicitBridge = 'bridge' in given ? opts.bridge : undefined;
    const matching = candidates.filter(
      (p) =>
        (explicitVlan === undefined || p.vlan === explicitVlan) &&
        (explicitBridge === undefined || p.bridge === explicitBridge),
    );
    if (matching.length === 0) {
      const p = candidates[0];
      if (p)
        throw new InvalidOptionError(
          explicitVlan !== undefined && p.vlan !== explicitVlan ? 'vlan' : 'bridge',
          explicitVlan !== undefined && p.vlan !== explicitVlan ? explicitVlan : explicitBridge,
          `the DHCP pool's (--ipam-opt): bridge ${p.bridge} VLAN ${p.vlan}, or leave -o vlan/bridge out`,
        );
      return opts;
    }
    if (matching.length > 1)
      throw new ConflictError(
        `subnet ${subnet} is the DHCP pool of ${matching.map((p) => `bridge ${p.bridge} VLAN ${p.vlan}`).join(' and ')}: say which with -o vlan= and -o bridge=`,
      );
    const p = matching[0] as DhcpPoolRecord;
    if ('gateway_mode' in given && opts.gatewayMode === 'internal')
      throw new InvalidOptionError(
        'gateway_mode',
        'internal',
        '"external" (default) or "none" on a DHCP network: its gateway is the LAN router, not a host port',
      );
    return {
      ...opts,
      bridge: p.bridge,
      vlan: p.vlan,
      gatewayMode: opts.gatewayMode === 'internal' ? 'external' : opts.gatewayMode,
    };
  }

  /** Join of an endpoint on a DHCP network: records the sandbox, so renewals go from the container. */
  async joined(sandboxKey: string, bridge: string, vlan: number, ipv4: string | undefined): Promise<void> {
    if (ipv4 === undefined) return;
    const key = leaseKey(this.#owner, bridge, vlan, ipv4.replace(/\/\d+$/, ''));
    if (!this.#ovs.rootExternalIds()[key]) return; // not a DHCP network's endpoint
    if (typeof sandboxKey !== 'string' || !sandboxKey.startsWith('/'))
      throw new InvalidRequestError(`Join: SandboxKey ${show(sandboxKey)} is not a namespace path`);
    await this.#updateLease(key, (r) => ({ ...r, sandbox: sandboxKey }));
  }

  // ---- renewal -----------------------------------------------------------------------------------------

  #keep(key: string, lease: Lease): void {
    this.keeper.keep(key, lease, () => this.#whereToRenew(key));
  }

  /** The container's interface with the lease's MAC, in the namespace Join recorded. */
  async #whereToRenew(key: string): Promise<Where> {
    const r = this.#lease(key);
    if (!r) throw new DhcpError('DHCP_ERR_STATE', `lease ${key} is no longer recorded in OVS`);
    if (!r.sandbox)
      throw new DhcpError('DHCP_ERR_STATE', `lease ${key}: its endpoint has not joined a container yet`);
    if (!existsSync(r.sandbox))
      throw new DhcpError('DHCP_ERR_STATE', `lease ${key}: sandbox ${r.sandbox} is gone`);
    const h = this.#openKernel({ path: r.sandbox });
    try {
      // The record is input (OVS is writable by others): only a veth with the lease's MAC is used.
      const link = (await h.listLinks()).find((l) => l.mac === r.lease.mac && l.kind === 'veth');
      if (!link)
        throw new DhcpError(
          'DHCP_ERR_STATE',
          `lease ${key}: no veth with MAC ${r.lease.mac} in ${r.sandbox}`,
        );
      return { netns: { path: r.sandbox }, ifname: link.name };
    } finally {
      h.close();
    }
  }

  /** Resumes renewing every recorded lease (a restarted plugin): the keeper goes on from the saved times. */
  start(): number {
    let n = 0;
    for (const [key, r] of this.leases()) {
      if (r.lost) continue;
      this.#keep(key, r.lease);
      n++;
    }
    if (n > 0) this.#log.info({ leases: n }, 'DHCP leases resumed from OVS');
    return n;
  }

  async close(): Promise<void> {
    await this.keeper.close();
  }

  // ---- client ports ------------------------------------------------------------------------------------

  async #acquire(where: Where, mac: string, timeoutMs: number, what: string): Promise<Lease> {
    try {
      return await acquire({ ...where, mac, timeoutMs });
    } catch (err) {
      if (err instanceof DhcpError)
        throw new IpamError(`DHCP for MAC ${mac} (${what}): ${err.message}`, { cause: err });
      throw err;
    }
  }

  #clientPortNames(bridge: string, vlan: number, mac: string): { host: string; client: string } {
    const h = hashName(`${bridge}/${vlan}/${mac}`, IFNAMSIZ_MAX - this.#prefix.length - 1);
    return { host: `${this.#prefix}d${h}`, client: `${this.#prefix}e${h}` };
  }

  /**
   * A veth pair for one exchange: `<prefix>d…` on the bridge as an access port of `vlan`, `<prefix>e…` (host
   * namespace) where the packet socket binds. Removed (OVS port and veth) whatever `fn` does.
   */
  async #withClientPort<T>(
    bridge: string,
    vlan: number,
    mac: string,
    fn: (where: Where) => Promise<T>,
  ): Promise<T> {
    const br = this.#ovs.bridgeByName(bridge);
    if (!br) throw new IpamError(`bridge ${bridge} of the DHCP pool (VLAN ${vlan}) does not exist`);
    const names = this.#clientPortNames(bridge, vlan, mac);
    if (this.#busy.has(names.host))
      throw new ConflictError(
        `a DHCP exchange for MAC ${mac} on bridge ${bridge} VLAN ${vlan} is already running`,
      );
    this.#busy.add(names.host);
    try {
      await this.#kernel.deleteLink(names.host, { missingOk: true }); // a leftover of a crash
      await this.#kernel.createVeth({
        name: names.host,
        group: ownerGroup(this.#owner),
        peer: { name: names.client },
      });
      try {
        // No IPv6 on either end: the host would send router solicitations, DAD and MLD into the LAN.
        for (const n of [names.host, names.client]) {
          try {
            writeFileSync(`/proc/sys/net/ipv6/conf/${n}/disable_ipv6`, '1');
          } catch {
            // no IPv6 on this host, or no permission: harmless, the pair lives for one exchange
          }
        }
        await this.#kernel.setLink(names.client, { up: true });
        await this.#kernel.setLink(names.host, { up: true });
        const ids = { [CLIENT_PORT_OWNER]: this.#owner, 'ocn-dhcp-mac': mac };
        try {
          await this.#ovs.transact((t) => {
            t.comment(`${this.#owner}: DHCP client port for ${mac}`);
            const iface = t.insert(OVS.Interface, { name: names.host, external_ids: ids });
            const port = t.insert(OVS.Port, {
              name: names.host,
              tag: vlan,
              interfaces: [iface],
              external_ids: ids,
            });
            t.mutate(OVS.Bridge, [['_uuid', '==', uuid<'Bridge'>(br.uuid)]], [['ports', 'insert', [port]]]);
          });
        } catch (err) {
          throw new OvsdbFailure(
            `adding DHCP client port ${names.host} to ${bridge}: ${describeError(err)}`,
            { cause: err },
          );
        }
        try {
          await this.#attached(names.host);
          return await fn({ netns: 'host', ifname: names.client });
        } finally {
          await this.#removeClientPort(bridge, names.host);
        }
      } finally {
        await this.#kernel
          .deleteLink(names.host, { missingOk: true })
          .catch((err: unknown) =>
            this.#log.warn({ link: names.host, err: describeError(err) }, 'cannot delete a DHCP client veth'),
          );
      }
    } finally {
      this.#busy.delete(names.host);
    }
  }

  /** ovs-vswitchd has opened the port (ofport assigned), so frames sent now reach the bridge. */
  async #attached(name: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const iface = this.#ovs.ifaceByName(name);
      if (iface?.error)
        throw new OvsdbFailure(`ovs-vswitchd cannot add DHCP client port ${name}: ${iface.error}`);
      if (iface?.ofport !== undefined && iface.ofport > 0) return;
      await sleep(20);
    }
    throw new OvsdbFailure(`ovs-vswitchd did not add DHCP client port ${name} within 2 s (is it running?)`);
  }

  async #removeClientPort(bridge: string, name: string): Promise<void> {
    const br = this.#ovs.bridgeByName(bridge);
    const port = this.#ovs.portByName(name);
    if (!br || !port || port.externalIds[CLIENT_PORT_OWNER] !== this.#owner) return;
    await this.#ovs
      .transact((t) => {
        t.comment(`${this.#owner}: remove DHCP client port ${name}`);
        t.mutate(
          OVS.Bridge,
          [['_uuid', '==', uuid<'Bridge'>(br.uuid)]],
          [['ports', 'delete', [uuid<'Port'>(port.uuid)]]],
        );
      })
      .catch((err: unknown) =>
        this.#log.warn({ port: name, err: describeError(err) }, 'cannot remove a DHCP client port'),
      );
  }

  /**
   * Removes what a crash left: client ports (Port external_ids ocn-dhcp-owner=<owner>) and their veths
   * (`<prefix>d…` in the owner's link group) not in use; and leases older than the grace period whose address
   * no endpoint of a network on their bridge and VLAN has (a RequestAddress whose reply a restart cut off).
   */
  async reap(endpoints: Iterable<EndpointAddress>): Promise<string[]> {
    const removed: string[] = [];
    for (const port of [...this.#ovs.ports()]) {
      if (port.externalIds[CLIENT_PORT_OWNER] !== this.#owner || this.#busy.has(port.name)) continue;
      for (const br of this.#bridgesHolding(port.uuid)) await this.#removeClientPort(br, port.name);
      await this.#kernel.deleteLink(port.name, { missingOk: true }).catch(() => undefined);
      removed.push(port.name);
    }
    const group = ownerGroup(this.#owner);
    const re = new RegExp(`^${this.#prefix}d[a-z2-7]{${IFNAMSIZ_MAX - this.#prefix.length - 1}}$`);
    for (const link of await this.#kernel.listLinks()) {
      if (link.kind !== 'veth' || link.group !== group || !re.test(link.name) || this.#busy.has(link.name))
        continue;
      if (this.#ovs.portByName(link.name)) continue;
      await this.#kernel.deleteLink(link.name, { missingOk: true }).catch(() => undefined);
      removed.push(link.name);
    }
    const used = new Set<string>();
    for (const e of endpoints)
      used.add(leaseKey(this.#owner, e.bridge, e.vlan, e.ipv4.replace(/\/\d+$/, '')));
    const before = Date.now() - this.#graceMs;
    for (const [key, r] of this.leases()) {
      if (used.has(key) || r.created >= before) continue;
      const m = /^ocn-dhcp-lease-.+\/([^/]+)\/(\d+)\/[^/]+$/.exec(key);
      if (!m?.[1] || !m[2]) continue;
      await this.#giveBack(key, r, m[1], Number(m[2]));
      await this.#lock.run(() => this.#writeKeys(`DHCP lease ${key} reaped`, {}, [key]));
      removed.push(key);
    }
    return removed;
  }

  *#bridgesHolding(portUuid: string): Iterable<string> {
    for (const p of this.pools()) {
      const br = this.#ovs.bridgeByName(p.bridge);
      if (br?.ports.includes(portUuid)) yield br.name;
    }
  }
}

/**
 * The plugin's IPAM driver with DHCP mode: pools requested with `--ipam-opt mode=dhcp` (and their PoolIDs)
 * go to `DhcpIpam`, everything else to the static driver. `requiresMacAddress` makes Docker send the
 * endpoint's MAC in RequestAddress (and use it in CreateEndpoint) for every network of this IPAM driver.
 */
export class DhcpAwareIpam implements IpamDriverApi {
  readonly requiresMacAddress = true;
  readonly #static: IpamDriverApi;
  readonly dhcp: DhcpIpam;

  constructor(staticIpam: IpamDriverApi, dhcp: DhcpIpam) {
    this.#static = staticIpam;
    this.dhcp = dhcp;
  }

  requestPool(req: Parameters<IpamDriverApi['requestPool']>[0]) {
    return isDhcpPoolRequest(req.Options) ? this.dhcp.requestPool(req) : this.#static.requestPool(req);
  }
  releasePool(req: { PoolID: string }) {
    return parseDhcpPoolId(req.PoolID) ? this.dhcp.releasePool(req) : this.#static.releasePool(req);
  }
  requestAddress(req: Parameters<IpamDriverApi['requestAddress']>[0]) {
    return parseDhcpPoolId(req.PoolID) ? this.dhcp.requestAddress(req) : this.#static.requestAddress(req);
  }
  releaseAddress(req: { PoolID: string; Address: string }) {
    return parseDhcpPoolId(req.PoolID) ? this.dhcp.releaseAddress(req) : this.#static.releaseAddress(req);
  }
}
