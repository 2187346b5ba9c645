// North–south traffic of OVN networks (model.ts draws the path): per tenant and chassis a gateway router
// (`options:chassis`, an l3gateway bound to this chassis) between the tenant's join switch and this
// chassis' transit switch, whose other end is a veth in the host (TRANSIT.host). Outbound: each endpoint's
// IPv4 address is rerouted by a tenant-router policy to its own chassis' gateway router, which SNATs the
// tenant's subnets (unless `masquerade=false`) to its transit address; the host masquerades the transit
// network out of its route (the server sees the host's address). Published ports: an OVN load balancer on
// the gateway router (VIP = its transit address and the host port → the container), reached through the
// host's nf_tables DNAT and, for 127.0.0.1, the in-process proxy of core/external (NorthSouth, `extra`).
//
// Everything carries ocn-owner and ocn-chassis in external_ids; per-endpoint objects also ocn-endpoint.
// RevokeExternalConnectivity and DeleteEndpoint remove an endpoint's objects; the reconciler removes this
// chassis' objects whose endpoint has no logical port any more (a plugin SIGKILLed meanwhile).
import { writeFileSync } from 'node:fs';
import {
  type NbPlan,
  nbTransact,
  type OvnChassisDb,
  type OvnClient,
  parseIp,
} from '@ovs-container-network/ovn';
import type { Replica } from '@ovs-container-network/ovsdb';
import * as OVS from '@ovs-container-network/ovsdb/models/open-vswitch';
import type * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import { InvalidRequestError, NotFoundError } from '../errors.js';
import { decodeBindings, encodeBindings, type PortBinding, type PortRequest } from '../external/portmap.js';
import type { NsEndpoint, NsNetwork } from '../external/rules.js';
import { hasErrno, type KernelHandle } from '../kernel.js';
import type { Logger } from '../types.js';
import {
  gatewayAcls,
  gatewayPolicies,
  gatewayRouterName,
  JOIN,
  joinIp,
  joinSwitchName,
  K,
  portGroupName,
  publishLbName,
  REROUTE_PRIORITY,
  routerMac,
  routerName,
  TRANSIT,
  tenantJoinPortName,
  tenantSubnetsSetName,
  transitSwitchName,
} from './model.js';

type NbRowsT = { [T in keyof typeof NB.model.tables]: unknown };
type Row = { readonly _uuid: string; readonly name?: string; readonly external_ids: Record<string, string> };

/** What the gateway needs to know of an endpoint (OvnDriver.endpointInfo). */
export interface GatewayEndpoint {
  tenant: string;
  ipv4: string | undefined;
  masquerade: boolean;
  /** The tenant's IPv4 subnets that SNAT (networks with masquerade on) and all of them. */
  snatSubnets: string[];
  subnets: string[];
}

export interface OvnGatewayOptions {
  name: string;
  prefix: string;
  ovn: OvnClient;
  chassis: OvnChassisDb;
  kernel: KernelHandle;
  bridge: string;
  chassisName: () => string;
  endpoint: (endpointId: string) => GatewayEndpoint | undefined;
  /** True while the endpoint has a logical port of this chassis. */
  endpointExists: (endpointId: string) => boolean;
  /**
   * Runs an NB step again when the connection, not the data, failed (OvnDriver's: a Raft leader killed
   * mid-call). Every step here is safe to repeat: each re-reads the replica and ensures or deletes.
   */
  retry: <T>(what: string, fn: () => Promise<T>) => Promise<T>;
  log: Logger;
}

export class OvnGateway {
  readonly #o: OvnGatewayOptions;
  /** Host end of the transit veth (with TRANSIT.host) and the end on br-int. */
  readonly hostIf: string;
  readonly #ovsIf: string;
  /** ensure() one at a time: the transit address of a new tenant's router is picked from the replica. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(o: OvnGatewayOptions) {
    this.#o = o;
    this.hostIf = `${o.prefix}gw-h`.slice(0, 15);
    this.#ovsIf = `${o.prefix}gw-o`.slice(0, 15);
  }

  get #nb(): Replica<NbRowsT> & OvnClient['nb'] {
    return this.#o.ovn.nb as never;
  }
  #rows(table: string): Row[] {
    return [...(this.#nb.table(table as never).values() as Iterable<Row>)];
  }
  #mine(r: Row, me: string): boolean {
    return r.external_ids[K.owner] === this.#o.name && r.external_ids[K.chassis] === me;
  }

  /** One NB transaction (optimistic, up to 10 attempts), repeated when the connection failed. */
  #transact(what: string, fn: (nb: NbPlan) => void): Promise<void> {
    return this.#o.retry(what, () =>
      nbTransact(this.#nb as never, fn, { attempts: 10 }).then(() => undefined),
    );
  }

  // ---- the host end ---------------------------------------------------------------------------------

  /** The transit veth (one end on br-int bound to the transit switch's host port), its address, forwarding. */
  async #ensureHost(me: string): Promise<void> {
    const k = this.#o.kernel;
    if (!(await k.findLink(this.hostIf))) {
      await k.createVeth({
        name: this.#ovsIf,
        up: true,
        txChecksum: false,
        peer: { name: this.hostIf, txChecksum: false },
      });
    }
    const host = await k.findLink(this.hostIf);
    if (!host) throw new NotFoundError(`transit interface ${this.hostIf} vanished`);
    if (!host.up) await k.setLink(this.hostIf, { up: true });
    const addrs = await k.listAddresses();
    if (!addrs.some((a) => a.index === host.index && a.cidr === `${TRANSIT.host}/${TRANSIT.len}`))
      await k.addAddress(this.hostIf, `${TRANSIT.host}/${TRANSIT.len}`);
    // As Docker's bridge driver does: routed traffic needs forwarding (net.ipv4.ip_forward, per namespace).
    try {
      writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    } catch (err) {
      this.#o.log.warn({ err: String(err) }, 'cannot turn on net.ipv4.ip_forward');
    }
    const rep = this.#o.chassis.replica;
    await rep.ready;
    if (rep.table('Port').find('byName', this.#ovsIf)) return;
    const br = rep.table('Bridge').find('byName', this.#o.bridge);
    if (!br) throw new NotFoundError(`integration bridge ${this.#o.bridge} does not exist on this host`);
    await this.#o.chassis.db().run((t) => {
      t.wait(OVS.Port, {
        where: [['name', '==', this.#ovsIf]],
        columns: ['name'],
        until: '==',
        rows: [],
        timeout: 0,
      });
      const i = t.insert(OVS.Interface, {
        name: this.#ovsIf,
        external_ids: { 'iface-id': `${transitSwitchName(me)}-host`, [K.ovsOwner]: this.#o.name },
      });
      const p = t.insert(OVS.Port, {
        name: this.#ovsIf,
        interfaces: [i],
        external_ids: { [K.ovsOwner]: this.#o.name },
      });
      t.mutate(OVS.Bridge, [['_uuid', '==', br._uuid as never]], [['ports', 'insert', [p]]]);
    });
  }

  // ---- NB: the tenant's gateway router on this chassis ----------------------------------------------

  /** The transit address of the tenant's gateway router here (existing, or the lowest free one). */
  #transitIp(tenant: string, me: string): string {
    const gr = this.#rows('Logical_Router_Port').filter(
      (p) => this.#mine(p, me) && p.external_ids[K.role] === 'transit',
    );
    const have = gr.find((p) => p.external_ids[K.tenant] === tenant)?.external_ids[K.vip];
    if (have) return have;
    const used = new Set(gr.map((p) => p.external_ids[K.vip]));
    for (let i = TRANSIT.first; i <= TRANSIT.last; i++) {
      const ip = `169.254.61.${i}`;
      if (!used.has(ip)) return ip;
    }
    throw new InvalidRequestError(
      `no transit address left in ${TRANSIT.cidr} for another tenant's gateway on this host`,
    );
  }

  #encapIp(): string {
    const root = [...this.#o.chassis.replica.table('Open_vSwitch').values()][0];
    return root?.external_ids['ovn-encap-ip'] ?? '';
  }

  /** Ensures the path of `tenant` on this chassis; returns the gateway router's transit address (the VIP). */
  ensure(ep: GatewayEndpoint): Promise<string> {
    const run = this.#queue.then(() => this.#ensure(ep));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #ensure(ep: GatewayEndpoint): Promise<string> {
    const me = this.#o.chassisName();
    await this.#ensureHost(me);
    const tenant = ep.tenant;
    const join = joinIp(this.#encapIp());
    const owner = { [K.owner]: this.#o.name };
    const mine = { ...owner, [K.chassis]: me, [K.tenant]: tenant };
    const gr = gatewayRouterName(tenant, me);
    const lr = routerName(tenant);
    const js = joinSwitchName(tenant);
    const ts = transitSwitchName(me);
    const vip = this.#transitIp(tenant, me);
    const clash = this.#rows('Logical_Router_Port').find(
      (p) =>
        p.external_ids[K.role] === 'join' &&
        p.external_ids[K.tenant] === tenant &&
        p.external_ids[K.chassis] !== me &&
        p.external_ids[K.vip] === join,
    );
    if (clash)
      throw new InvalidRequestError(
        `the join address ${join} of this chassis (from ovn-encap-ip ${this.#encapIp()}) is already chassis ${clash.external_ids[K.chassis]}'s: underlay addresses must differ in their low 22 bits`,
      );
    await this.#transact('gateway of the tenant', (nb) => {
      // This chassis' transit switch, with the host's veth as a port.
      nb.ensureSwitch({ name: ts, externalIds: { ...owner, [K.chassis]: me, [K.role]: 'transit' } });
      // (No ocn-chassis on these ports: the driver's reconciler reads that as an endpoint's or a hold's.)
      nb.ensureSwitchPort({ switch: ts, name: `${ts}-host`, addresses: ['unknown'], externalIds: owner });
      // The tenant's join switch and its router's port on it (shared by the chassis).
      nb.ensureSwitch({ name: js, externalIds: { ...owner, [K.tenant]: tenant, [K.role]: 'join' } });
      nb.ensureRouterPort({
        router: lr,
        name: tenantJoinPortName(tenant),
        mac: routerMac(js),
        networks: [`${JOIN.router}/${JOIN.len}`],
        externalIds: { ...owner, [K.tenant]: tenant },
      });
      nb.ensureSwitchPort({
        switch: js,
        name: `${tenantJoinPortName(tenant)}-sw`,
        routerPort: tenantJoinPortName(tenant),
        externalIds: owner,
      });
      // The gateway router of (tenant, chassis).
      nb.ensureRouter({
        name: gr,
        options: { chassis: me, lb_force_snat_ip: 'router_ip' },
        externalIds: { ...mine, [K.role]: 'gateway' },
      });
      // Its two ports: on this chassis' transit switch (the VIP) and on the tenant's join switch.
      for (const [role, sw, address, len] of [
        ['transit', ts, vip, TRANSIT.len],
        ['join', js, join, JOIN.len],
      ] as const) {
        const port = `${gr}-${role}`;
        nb.ensureRouterPort({
          router: gr,
          name: port,
          mac: routerMac(port),
          networks: [`${address}/${len}`],
          externalIds: { ...mine, [K.role]: role, [K.vip]: address },
        });
        nb.ensureSwitchPort({ switch: sw, name: `${port}-sw`, routerPort: port, externalIds: owner });
      }
      nb.ensureStaticRoute({ router: gr, prefix: '0.0.0.0/0', nexthop: TRANSIT.host, externalIds: mine });
      for (const s of ep.subnets)
        nb.ensureStaticRoute({ router: gr, prefix: s, nexthop: JOIN.router, externalIds: mine });
      for (const s of ep.snatSubnets)
        nb.ensureNat({ router: gr, type: 'snat', externalIp: vip, logicalIp: s, externalIds: mine });
      nb.ensureStaticRoute({ router: lr, prefix: '0.0.0.0/0', nexthop: JOIN.unused, externalIds: owner });
      for (const p of gatewayPolicies(tenant))
        nb.ensureRouterPolicy({ router: lr, ...p, externalIds: owner });
      for (const a of gatewayAcls(tenant))
        nb.ensureAcl({ parent: { portGroup: portGroupName(tenant) }, ...a, externalIds: owner });
    });
    return vip;
  }

  // ---- teardown -------------------------------------------------------------------------------------------

  /**
   * DeleteNetwork of a tenant network's last host, inside its transaction: the network's SNAT entries and
   * routes go from the tenant's gateway routers (every chassis'). With the tenant's last network
   * (`tenantGone`, which the caller guards with a `wait`), every tenant-wide object goes too: the tenant
   * router (its ports, policies and routes with it), the gateway routers and their transit-switch ports, the
   * join switch, the port group (its ACLs with it) and the address sets.
   */
  teardown(nb: NbPlan, tenant: string, subnets: readonly string[], tenantGone: boolean): void {
    const gateways = this.#rows('Logical_Router').filter(
      (r) =>
        r.external_ids[K.owner] === this.#o.name &&
        r.external_ids[K.tenant] === tenant &&
        r.external_ids[K.role] === 'gateway',
    ) as (Row & NB.Logical_Router)[];
    if (tenantGone) {
      for (const gr of gateways) {
        if (this.#nb.table('Logical_Switch_Port').find('byName', `${gr.name}-transit-sw`))
          nb.deleteSwitchPort(`${gr.name}-transit-sw`);
        nb.deleteRouter(gr.name);
      }
      const has = (table: 'Logical_Router' | 'Logical_Switch' | 'Port_Group' | 'Address_Set', name: string) =>
        this.#nb.table(table).find('byName', name as never) !== undefined;
      if (has('Logical_Router', routerName(tenant))) nb.deleteRouter(routerName(tenant));
      if (has('Logical_Switch', joinSwitchName(tenant))) nb.deleteSwitch(joinSwitchName(tenant));
      if (has('Port_Group', portGroupName(tenant))) nb.deletePortGroup(portGroupName(tenant));
      for (const fam of [4, 6] as const)
        if (has('Address_Set', tenantSubnetsSetName(tenant, fam)))
          nb.deleteAddressSet(tenantSubnetsSetName(tenant, fam));
      return;
    }
    const gone = new Set(subnets);
    const nats = this.#nb.table('NAT');
    for (const gr of gateways) {
      for (const u of gr.nat) {
        const n = nats.get(u as never) as NB.NAT | undefined;
        if (n && n.type === 'snat' && gone.has(n.logical_ip))
          nb.deleteNat({ router: gr.name, type: 'snat', externalIp: n.external_ip, logicalIp: n.logical_ip });
      }
      for (const s of gone) nb.deleteStaticRoute({ router: gr.name, prefix: s, nexthop: JOIN.router });
    }
  }

  /**
   * The reconciler's part for this host: once no gateway router of this chassis is left (their tenants'
   * networks are gone), the transit switch, its OVS port on br-int and the transit veth go. One at a time
   * with ensure() (the same queue), so a gateway being set up meanwhile keeps its path.
   */
  #sweepTransit(me: string): Promise<string[]> {
    const run = this.#queue.then(async (): Promise<string[]> => {
      if (this.networks().length > 0) return [];
      const out: string[] = [];
      const ts = transitSwitchName(me);
      if (this.#nb.table('Logical_Switch').find('byName', ts as never)) {
        await this.#transact('transit switch', (nb) => void nb.deleteSwitch(ts));
        out.push(`transit switch ${ts}`);
      }
      const rep = this.#o.chassis.replica;
      // (The chassis replica monitors external_ids of Interface, not of Port: the mark is read there.)
      const port = rep.table('Port').find('byName', this.#ovsIf);
      const iface = rep.table('Interface').find('byName', this.#ovsIf);
      const br = rep.table('Bridge').find('byName', this.#o.bridge);
      if (port && iface?.external_ids[K.ovsOwner] === this.#o.name) {
        await this.#o.chassis.db().run((t) => {
          if (br)
            t.mutate(OVS.Bridge, [['_uuid', '==', br._uuid as never]], [['ports', 'delete', [port._uuid]]]);
        });
        out.push(`OVS port ${this.#ovsIf}`);
      }
      if (await this.#o.kernel.findLink(this.hostIf)) {
        await this.#o.kernel.deleteLink(this.hostIf).catch((err: unknown) => {
          if (!hasErrno(err, 'ENODEV')) throw err;
        });
        out.push(`transit veth ${this.hostIf}`);
      }
      return out;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  // ---- per endpoint -------------------------------------------------------------------------------------

  /**
   * ProgramExternalConnectivity of an OVN endpoint: the gateway path, its reroute policy, and (through
   * `publish`, which binds the host ports and runs `commit` with what it bound) its published ports.
   */
  async program(
    endpointId: string,
    requests: readonly PortRequest[],
    publish: (vip: string, commit: (b: PortBinding[]) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    const ep = this.#o.endpoint(endpointId);
    if (!ep)
      throw new NotFoundError(`endpoint ${endpointId.slice(0, 12)} is not an OVN endpoint of this host`);
    const wantPorts = requests.length > 0;
    // Refused before anything is written.
    for (const r of requests)
      if (r.hostIp.includes(':'))
        throw new InvalidRequestError(
          `invalid HostIP ${JSON.stringify(r.hostIp)} of ${r.port}/${r.proto}: expected an IPv4 host address or none (OVN mode publishes ports over IPv4 only)`,
        );
    if (!ep.ipv4) {
      if (wantPorts)
        throw new InvalidRequestError(
          `endpoint ${endpointId.slice(0, 12)} has no IPv4 address: OVN mode publishes ports over IPv4 only`,
        );
      return;
    }
    const me = this.#o.chassisName();
    const vip = await this.ensure(ep);
    const join = joinIp(this.#encapIp());
    const ids = { [K.owner]: this.#o.name, [K.chassis]: me, [K.endpoint]: endpointId, [K.role]: 'reroute' };
    await this.#transact(
      'reroute policy',
      (nb) =>
        void nb.ensureRouterPolicy({
          router: routerName(ep.tenant),
          priority: REROUTE_PRIORITY,
          match: `ip4.src == ${ep.ipv4}`,
          action: 'reroute',
          nexthops: [join],
          externalIds: ids,
        }),
    );
    if (!wantPorts) return;
    if (
      this.#rows('Load_Balancer').some((l) => this.#mine(l, me) && l.external_ids[K.endpoint] === endpointId)
    )
      return; // programmed already (Docker repeats the call after a plugin restart)
    await publish(vip, async (bindings) => {
      const gr = gatewayRouterName(ep.tenant, me);
      await this.#transact('published ports', (nb) => {
        for (const proto of ['tcp', 'udp'] as const) {
          const mine = bindings.filter((b) => b.proto === proto);
          if (mine.length === 0) continue;
          const vips: Record<string, string[]> = {};
          for (const b of mine) vips[`${vip}:${b.hostPort}`] = [`${ep.ipv4}:${b.port}`];
          nb.ensureLoadBalancer({
            name: publishLbName(me, endpointId, proto),
            protocol: proto,
            vips,
            routers: [gr],
            externalIds: { ...ids, [K.role]: 'publish', [K.vip]: vip, [K.ports]: encodeBindings(mine) },
          });
        }
      });
      // NorthSouth's sync reads the load balancers from the replica next.
      for (let i = 0; i < 100 && this.bindings(endpointId).length === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
    });
  }

  /** Removes an endpoint's reroute policy and load balancers (Revoke, DeleteEndpoint, reconciler). */
  async revoke(endpointIds: readonly string[]): Promise<number> {
    const me = this.#o.chassisName();
    const want = new Set(endpointIds);
    const hit = (r: Row) => this.#mine(r, me) && want.has(r.external_ids[K.endpoint] ?? '');
    const lbs = this.#rows('Load_Balancer').filter(hit);
    const pols = this.#rows('Logical_Router_Policy').filter(hit) as (Row & {
      priority: number;
      match: string;
    })[];
    if (lbs.length === 0 && pols.length === 0) return 0;
    await this.#transact('north-south removal', (nb) => {
      for (const l of lbs) nb.deleteLoadBalancer(l.name ?? '');
      for (const p of pols) {
        const lr = this.#rows('Logical_Router').find((r) =>
          (r as unknown as NB.Logical_Router).policies.includes(p._uuid as never),
        );
        if (lr?.name) nb.deleteRouterPolicy({ router: lr.name, priority: p.priority, match: p.match });
      }
    });
    return lbs.length + pols.length;
  }

  /** The reconciler's part: this chassis' per-endpoint objects whose endpoint is gone. */
  async sweep(): Promise<string[]> {
    let me: string;
    try {
      me = this.#o.chassisName();
    } catch {
      return [];
    }
    // The host end comes back after a host reboot (the namespace, and the veth with it, were gone).
    if (this.networks().length > 0)
      await this.#ensureHost(me).catch((err: unknown) =>
        this.#o.log.warn({ err: String(err) }, 'cannot restore the transit interface'),
      );
    const stale = new Set<string>();
    for (const t of ['Load_Balancer', 'Logical_Router_Policy'])
      for (const r of this.#rows(t)) {
        const ep = r.external_ids[K.endpoint];
        if (ep && this.#mine(r, me) && !this.#o.endpointExists(ep)) stale.add(ep);
      }
    if (stale.size > 0) await this.revoke([...stale]);
    const transit = await this.#sweepTransit(me);
    return [...[...stale].map((e) => `north-south ${e.slice(0, 12)}`), ...transit];
  }

  // ---- for NorthSouth (the host's nf_tables table and proxies) -----------------------------------------

  /** The transit network, once this host has a gateway. */
  networks(): NsNetwork[] {
    let me: string;
    try {
      me = this.#o.chassisName();
    } catch {
      return [];
    }
    if (!this.#rows('Logical_Router').some((r) => this.#mine(r, me) && r.external_ids[K.role] === 'gateway'))
      return [];
    return [this.#transit()];
  }

  #transit(): NsNetwork {
    return {
      id: 'ovn-transit',
      gatewayPort: this.hostIf,
      subnets: [{ family: 4, pool: TRANSIT.cidr }],
      masquerade: true,
    };
  }

  /** Published ports of this chassis: DNAT to the gateway router's VIP, on the same host port. */
  endpoints(): NsEndpoint[] {
    let me: string;
    try {
      me = this.#o.chassisName();
    } catch {
      return [];
    }
    const out: NsEndpoint[] = [];
    const network = this.#transit();
    for (const l of this.#rows('Load_Balancer')) {
      if (!this.#mine(l, me) || l.external_ids[K.role] !== 'publish') continue;
      const bindings = decodeBindings(l.external_ids[K.ports]);
      const vip = l.external_ids[K.vip];
      if (!bindings || !vip || parseIp(vip)?.family !== 4) continue;
      out.push({ id: l.external_ids[K.endpoint] ?? '', network, ipv4: vip, bindings, viaHostPort: true });
    }
    return out;
  }

  /** The bindings of an endpoint (EndpointOperInfo). */
  bindings(endpointId: string): PortBinding[] {
    let me: string;
    try {
      me = this.#o.chassisName();
    } catch {
      return [];
    }
    return this.#rows('Load_Balancer')
      .filter((l) => this.#mine(l, me) && l.external_ids[K.endpoint] === endpointId)
      .flatMap((l) => decodeBindings(l.external_ids[K.ports]) ?? []);
  }
}
