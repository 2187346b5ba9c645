// North–south traffic of single-host networks: published ports (ProgramExternalConnectivity /
// RevokeExternalConnectivity), outbound masquerade, and the accepts a dockerd with its default firewall
// needs. State: each endpoint's bindings are recorded on its OVS Port (external_ids:ocn-ports, written with
// the typed Transaction API), the networks' NAT setting in their records. Everything in the kernel — our
// nf_tables table, the DOCKER-USER accepts, the port proxies — is derived from OVS by sync(), which
// replaces the whole table in one atomic batch. So a restart (after a crash too) rebuilds exactly what
// the records say, and whatever the records no longer name (a container removed, a network deleted while
// the plugin was down) is gone after the first sync.
import { readFileSync } from 'node:fs';
import type { NftHandle } from '@ovs-container-network/netlink/nftables';
import { FIREWALL_CHAINS, NftBatch, NftBatchError } from '@ovs-container-network/netlink/nftables';
import { Mutex } from '../driver.js';
import { InvalidRequestError, NotFoundError } from '../errors.js';
import { type BridgeRow, OVS, type PortRow } from '../ovs/model.js';
import type { OvsBackend, OvsChange } from '../ovs/view.js';
import { EXT, type NetworkRecord } from '../records.js';
import type { Logger } from '../types.js';
import { silentLogger } from '../types.js';
import {
  decodeBindings,
  dockerPortMap,
  encodeBindings,
  LABEL_PORTMAP,
  type PortBinding,
  type PortRequest,
  parsePortMap,
} from './portmap.js';
import { openProxy, PortInUseError, type PortProxy } from './proxy.js';
import {
  bindingTargets,
  dockerUserRules,
  type Forwarding,
  type NsEndpoint,
  type NsNetwork,
  tableRules,
} from './rules.js';

/** The Port external_ids key holding an endpoint's published ports (JSON, see portmap.ts). */
export const PORTS_KEY = 'ocn-ports';

/**
 * Whether an OVS change can change what a sync writes (see NorthSouth.start): a network record (a Bridge's
 * external_ids; every port added or removed modifies its Bridge's `ports`, which does not count), or a port
 * that has or had published ports. The replica keeps an unchanged column's value by reference in a modify.
 */
export function affectsRules(c: OvsChange): boolean {
  if (c.table === 'Port') {
    return c.old?.external_ids[PORTS_KEY] !== undefined || c.new?.external_ids[PORTS_KEY] !== undefined;
  }
  if (c.table !== 'Bridge') return false;
  return c.old === undefined || c.new === undefined || !sameMap(c.old.external_ids, c.new.external_ids);
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

/** What NorthSouth needs of the driver: its records, read from the OVSDB replica. */
export interface NorthSouthDriver {
  readonly name: string;
  networks(): Iterable<{ record: NetworkRecord; bridge: BridgeRow }>;
  isOwnRecord(record: NetworkRecord, bridge: BridgeRow): boolean;
  endpointPort(endpointId: string): PortRow | undefined;
  isOwnEndpointPort(port: PortRow): boolean;
}

export interface NorthSouthOptions {
  driver: NorthSouthDriver;
  ovs: OvsBackend;
  nft: NftHandle;
  /** The table is `inet ocn-<prefix>`; DOCKER-USER rules carry the comment `ocn-<prefix>`. */
  prefix: string;
  logger?: Logger;
  /** Read the forwarding sysctls (tests may pin them). */
  forwarding?: () => Forwarding;
  /** Networks and published endpoints of another source (OVN mode's gateways, core/ovn/gateway.ts). */
  extra?: { networks(): NsNetwork[]; endpoints(): NsEndpoint[] };
}

interface ExternalRequest {
  NetworkID?: unknown;
  EndpointID?: unknown;
  Options?: Record<string, unknown> | null;
}

function readForwarding(): Forwarding {
  const on = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim() === '1';
    } catch {
      return false;
    }
  };
  return { 4: on('/proc/sys/net/ipv4/ip_forward'), 6: on('/proc/sys/net/ipv6/conf/all/forwarding') };
}

const proxyKey = (endpointId: string, b: PortBinding, listenIp: string) =>
  `${endpointId} ${b.proto} ${listenIp} ${b.hostPort} ${b.port}`;

export class NorthSouth {
  readonly table: string;
  readonly #comment: string;
  readonly #d: NorthSouthDriver;
  readonly #ovs: NorthSouthOptions['ovs'];
  readonly #nft: NftHandle;
  readonly #log: Logger;
  readonly #forwarding: () => Forwarding;
  readonly #extra: NorthSouthOptions['extra'];
  readonly #lock = new Mutex();
  /** Open proxies by endpoint/binding/listen address. */
  readonly #proxies = new Map<string, PortProxy>();
  /** Endpoints being programmed: their proxies are opened before their record exists. */
  readonly #pending = new Set<string>();
  #unsubscribe: (() => void) | undefined;
  #scheduled: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(o: NorthSouthOptions) {
    this.#d = o.driver;
    this.#ovs = o.ovs;
    this.#nft = o.nft;
    this.table = `ocn-${o.prefix}`;
    this.#comment = `ocn-${o.prefix}`;
    this.#log = o.logger ?? silentLogger;
    this.#forwarding = o.forwarding ?? readForwarding;
    this.#extra = o.extra;
  }

  /**
   * First sync (rebuilds what the records say, removes the rest), then follows the OVS changes that can
   * change the rules: network records (Bridge), and ports that have or had published ports. An endpoint
   * without published ports coming or going leaves the table as it was, so it costs no sync (a sync walks
   * every network record and port). With `extra` (OVN mode) every change syncs: its state is not all here.
   */
  async start(): Promise<void> {
    await this.sync();
    this.#unsubscribe = this.#ovs.onChange((changes) => {
      if (this.#extra || changes.some(affectsRules)) this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#closed || this.#scheduled) return;
    this.#scheduled = setTimeout(() => {
      this.#scheduled = undefined;
      this.#lock
        .run(() => this.#syncLocked(false))
        .catch((err: unknown) => this.#log.error({ err: String(err) }, 'north-south sync failed'));
    }, 20);
    this.#scheduled.unref();
  }

  // ---- the state, from OVS --------------------------------------------------------------------------

  #networks(): Map<string, NsNetwork> {
    const out = new Map<string, NsNetwork>();
    for (const { record, bridge } of this.#d.networks()) {
      if (!this.#d.isOwnRecord(record, bridge) || !record.gatewayPort) continue;
      const subnets: NsNetwork['subnets'] = [];
      if (record.ipv4?.gateway) subnets.push({ family: 4, pool: record.ipv4.pool });
      if (record.ipv6?.gateway) subnets.push({ family: 6, pool: record.ipv6.pool });
      out.set(record.id, {
        id: record.id,
        gatewayPort: record.gatewayPort,
        subnets,
        masquerade: record.masquerade !== false,
      });
    }
    return out;
  }

  #endpoints(networks: Map<string, NsNetwork>): NsEndpoint[] {
    const out: NsEndpoint[] = [];
    for (const port of this.#ovs.ports()) {
      const ids = port.external_ids;
      if (ids[PORTS_KEY] === undefined || !this.#d.isOwnEndpointPort(port)) continue;
      const network = networks.get(ids[EXT.network] ?? '');
      const bindings = decodeBindings(ids[PORTS_KEY]);
      if (!network || !bindings) {
        if (!bindings) this.#log.warn({ port: port.name }, `ignoring a malformed ${PORTS_KEY} record`);
        continue;
      }
      out.push({ id: ids[EXT.endpoint] ?? '', network, ipv4: ids[EXT.ipv4], ipv6: ids[EXT.ipv6], bindings });
    }
    return out;
  }

  // ---- Docker calls -----------------------------------------------------------------------------------

  #endpointOf(req: ExternalRequest) {
    if (typeof req.EndpointID !== 'string' || typeof req.NetworkID !== 'string')
      throw new InvalidRequestError('invalid request: expected NetworkID and EndpointID strings');
    const port = this.#d.endpointPort(req.EndpointID);
    if (!port || port.external_ids[EXT.network] !== req.NetworkID)
      throw new NotFoundError(
        `endpoint ${req.EndpointID.slice(0, 12)} does not exist on network ${req.NetworkID.slice(0, 12)}`,
      );
    const network = this.#networks().get(req.NetworkID);
    return { port, network, endpointId: req.EndpointID };
  }

  /**
   * ProgramExternalConnectivity: binds every requested host port (the proxy socket; a taken port fails the
   * call and nothing stays), records the bindings in OVS, then syncs the rules. Idempotent: a repeated call
   * for an endpoint that already has its record changes nothing.
   */
  program(req: ExternalRequest): Promise<void> {
    return this.#lock.run(async () => {
      const { port, network, endpointId } = this.#endpointOf(req);
      const requests = parsePortMap(req.Options?.[LABEL_PORTMAP]);
      if (requests.length === 0) return;
      if (!network)
        throw new InvalidRequestError(
          `network ${String(req.NetworkID).slice(0, 12)} has no gateway on this host (gateway_mode internal with a subnet gateway), so it cannot publish ports`,
        );
      if (decodeBindings(port.external_ids[PORTS_KEY]) !== undefined) {
        await this.#syncLocked();
        return;
      }
      const ep = { ipv4: port.external_ids[EXT.ipv4], ipv6: port.external_ids[EXT.ipv6] };
      const opened: [string, PortProxy][] = [];
      const bindings: PortBinding[] = [];
      this.#pending.add(endpointId);
      try {
        for (const r of requests) bindings.push(await this.#bind(endpointId, r, ep, opened));
        await this.#ovs.transact((t) =>
          t.mutate(
            OVS.Port,
            [['name', '==', port.name]],
            [
              ['external_ids', 'delete', [PORTS_KEY]],
              ['external_ids', 'insert', { [PORTS_KEY]: encodeBindings(bindings) }],
            ],
            { expect: 'one' },
          ),
        );
        for (const [k, p] of opened) this.#proxies.set(k, p);
        opened.length = 0;
      } finally {
        for (const [, p] of opened) await p.close();
        this.#pending.delete(endpointId);
      }
      // Not forced: the table changes (new bindings), DOCKER-USER only if the networks did (it never does
      // here), which spares four netlink dumps per `docker run -p`. The reconcile loop forces both.
      await this.#syncLocked(false);
      this.#log.info({ endpointId: endpointId.slice(0, 12), ports: bindings }, 'ports published');
    });
  }

  /**
   * Published ports of another source (OVN mode): binds every requested host port (proxy to `target`'s
   * address on the same host port; a taken port fails the call and nothing stays), lets `commit` record the
   * bindings (in NB), then syncs the rules, which `extra` now names.
   */
  publishVia(
    endpointId: string,
    requests: PortRequest[],
    target: { ipv4?: string; ipv6?: string },
    commit: (bindings: PortBinding[]) => Promise<void>,
  ): Promise<PortBinding[]> {
    return this.#lock.run(async () => {
      const opened: [string, PortProxy][] = [];
      const bindings: PortBinding[] = [];
      this.#pending.add(endpointId);
      try {
        for (const r of requests)
          bindings.push(await this.#bind(endpointId, r, { ...target, viaHostPort: true }, opened));
        await commit(bindings);
        for (const [k, p] of opened) this.#proxies.set(k, p);
        opened.length = 0;
      } finally {
        for (const [, p] of opened) await p.close();
        this.#pending.delete(endpointId);
      }
      await this.#syncLocked();
      this.#log.info({ endpointId: endpointId.slice(0, 12), ports: bindings }, 'ports published (OVN)');
      return bindings;
    });
  }

  /** Binds one request: each family's proxy on the same host port (a range: its first port free in all). */
  async #bind(
    endpointId: string,
    r: PortRequest,
    ep: { ipv4?: string | undefined; ipv6?: string | undefined; viaHostPort?: boolean },
    opened: [string, PortProxy][],
  ): Promise<PortBinding> {
    const candidates =
      r.hostPort === 0
        ? [0]
        : Array.from({ length: r.hostPortEnd - r.hostPort + 1 }, (_, i) => r.hostPort + i);
    let lastErr: unknown;
    for (const candidate of candidates) {
      // With port 0 the first family's socket picks the port and the others must get the same one.
      for (let attempt = 0; attempt < (candidate === 0 ? 8 : 1); attempt++) {
        const mine: [string, PortProxy][] = [];
        let hostPort = candidate;
        try {
          const probe: PortBinding = { proto: r.proto, port: r.port, hostIp: r.hostIp, hostPort: 0 };
          const targets = bindingTargets(probe, ep);
          if (targets.length === 0)
            throw new InvalidRequestError(
              `cannot publish ${r.port}/${r.proto} on ${r.hostIp || 'all addresses'}: the endpoint has no address of that family`,
            );
          for (const t of targets) {
            const p = await openProxy({
              proto: r.proto,
              listenIp: t.listenIp,
              listenPort: hostPort,
              targetIp: t.target,
              // Via the host port: the same port as bound (0: the port the kernel picked).
              targetPort: ep.viaHostPort ? hostPort : r.port,
            });
            hostPort = p.port;
            mine.push([proxyKey(endpointId, { ...probe, hostPort }, t.listenIp), p]);
          }
          opened.push(...mine);
          return { proto: r.proto, port: r.port, hostIp: r.hostIp, hostPort };
        } catch (err) {
          for (const [, p] of mine) await p.close();
          if (!(err instanceof PortInUseError)) throw err;
          lastErr = err;
        }
      }
    }
    if (candidates.length > 1)
      throw new PortInUseError(
        `no free host port in ${r.hostPort}-${r.hostPortEnd}/${r.proto} on ${r.hostIp || 'all addresses'}: every one is already in use`,
        { cause: lastErr },
      );
    throw lastErr;
  }

  /** RevokeExternalConnectivity: drops the record, then the rules and proxies go with the next sync. */
  revoke(req: ExternalRequest): Promise<void> {
    return this.#lock.run(async () => {
      if (typeof req.EndpointID !== 'string') return;
      const port = this.#d.endpointPort(req.EndpointID);
      if (port && port.external_ids[PORTS_KEY] !== undefined) {
        await this.#ovs.transact((t) =>
          t.mutate(OVS.Port, [['name', '==', port.name]], [['external_ids', 'delete', [PORTS_KEY]]]),
        );
      }
      await this.#syncLocked(false);
    });
  }

  /** EndpointOperInfo values: the bindings, in Docker's shape (see the README on `docker port`). */
  operInfo(endpointId: string): Record<string, unknown> {
    const port = this.#d.endpointPort(endpointId);
    const b = decodeBindings(port?.external_ids[PORTS_KEY]);
    return b && b.length > 0 ? { 'com.docker.network.portmap': dockerPortMap(b) } : {};
  }

  // ---- the kernel ------------------------------------------------------------------------------------

  /**
   * Rebuilds the table, the DOCKER-USER accepts and the proxies from OVS. Skips the kernel when nothing
   * changed since the last sync, unless `force` (the reconcile loop forces one: someone may have flushed
   * the ruleset, or dockerd may have just created DOCKER-USER).
   */
  sync(options: { force?: boolean } = {}): Promise<void> {
    return this.#lock.run(() => this.#syncLocked(options.force === true));
  }

  /** What the last successful sync wrote: the whole state, and the networks' subnets (DOCKER-USER's input). */
  #last: string | undefined;
  #lastUser: string | undefined;

  async #syncLocked(force = true): Promise<void> {
    if (this.#closed) return;
    const own = this.#networks();
    const endpoints = [...this.#endpoints(own), ...(this.#extra?.endpoints() ?? [])];
    const networks = [...own.values(), ...(this.#extra?.networks() ?? [])];
    await this.#syncProxies(endpoints);
    const rules = tableRules(networks, endpoints, this.#forwarding());
    const subnets = JSON.stringify(networks.map((n) => n.subnets));
    const fingerprint = JSON.stringify([rules, subnets]);
    if (!force && fingerprint === this.#last) return;
    // DOCKER-USER depends on the networks alone: unless forced, it is left as the last sync wrote it when
    // they did not change (published ports come and go with containers; listing it costs netlink dumps).
    const user = force || subnets !== this.#lastUser;
    this.#last = undefined;
    if (user) this.#lastUser = undefined;
    const b = new NftBatch();
    // add + delete + add: the table is replaced whole, atomically, whether or not it existed.
    b.addTable({ family: 'inet', name: this.table });
    b.deleteTable({ family: 'inet', name: this.table });
    if (rules.length > 0) {
      b.addTable({ family: 'inet', name: this.table });
      for (const [name, base] of Object.entries(FIREWALL_CHAINS))
        b.addChain({ family: 'inet', table: this.table, name, base });
      for (const r of rules)
        b.addRule({
          family: 'inet',
          table: this.table,
          chain: r.chain,
          expressions: r.expressions,
          comment: r.comment,
        });
    }
    if (user) await this.#dockerUser(b, networks);
    await this.#nft.commit(b, { echo: false });
    this.#last = fingerprint;
    if (user) this.#lastUser = subnets;
  }

  /**
   * dockerd with its default firewall sets the FORWARD policy to DROP and jumps first to DOCKER-USER, the
   * chain it documents for other forwarding rules and never flushes (it survives dockerd restarts; dockerd
   * re-creates the chain and its jump at start). Our accepts go first in it, replaced on each sync; when
   * the chain does not exist (dockerd --iptables=false, or not started yet) there is nothing to do, and the
   * next forced sync after dockerd made it adds them (each reconcile forces one).
   */
  async #dockerUser(b: NftBatch, networks: NsNetwork[]): Promise<void> {
    for (const [family, fam] of [
      ['ip', 4],
      ['ip6', 6],
    ] as const) {
      const chains = await this.#nft.listChains(family, 'filter').catch(() => []);
      if (!chains.some((c) => c.name === 'DOCKER-USER')) continue;
      const have = await this.#nft.listRules(family, { table: 'filter', chain: 'DOCKER-USER' });
      for (const r of have) {
        if (r.comment === this.#comment && r.handle !== undefined)
          b.deleteRule({ family, table: 'filter', chain: 'DOCKER-USER', handle: r.handle });
      }
      for (const r of dockerUserRules(networks, fam).reverse()) {
        b.addRule({
          family,
          table: 'filter',
          chain: 'DOCKER-USER',
          expressions: r.expressions,
          comment: this.#comment,
          at: 'start',
        });
      }
    }
  }

  async #syncProxies(endpoints: NsEndpoint[]): Promise<void> {
    const want = new Map<
      string,
      { ep: NsEndpoint; b: PortBinding; t: ReturnType<typeof bindingTargets>[number] }
    >();
    for (const ep of endpoints)
      for (const b of ep.bindings)
        for (const t of bindingTargets(b, ep)) want.set(proxyKey(ep.id, b, t.listenIp), { ep, b, t });
    for (const [k, p] of this.#proxies) {
      if (want.has(k) || this.#pending.has(k.split(' ')[0] ?? '')) continue;
      this.#proxies.delete(k);
      await p.close();
    }
    for (const [k, { ep, b, t }] of want) {
      if (this.#proxies.has(k)) continue;
      try {
        this.#proxies.set(
          k,
          await openProxy({
            proto: b.proto,
            listenIp: t.listenIp,
            listenPort: b.hostPort,
            targetIp: t.target,
            targetPort: ep.viaHostPort ? b.hostPort : b.port,
          }),
        );
      } catch (err) {
        // After a restart someone else may have taken the port meanwhile: the DNAT rules still serve it.
        this.#log.warn({ endpointId: ep.id.slice(0, 12), err: String(err) }, 'cannot reopen the port proxy');
      }
    }
  }

  /** Stops following OVS and closes the proxies; the table stays (containers keep running). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    if (this.#scheduled) clearTimeout(this.#scheduled);
    await this.#lock.run(async () => {
      for (const p of this.#proxies.values()) await p.close();
      this.#proxies.clear();
    });
  }

  /** Removes everything of ours from the kernel (table, DOCKER-USER rules). For tests and uninstall. */
  async destroy(): Promise<void> {
    const b = new NftBatch();
    b.addTable({ family: 'inet', name: this.table });
    b.deleteTable({ family: 'inet', name: this.table });
    await this.#dockerUser(b, []);
    await this.#nft.commit(b, { echo: false }).catch((err: unknown) => {
      if (!(err instanceof NftBatchError)) throw err;
    });
  }
}
