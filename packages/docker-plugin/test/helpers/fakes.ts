// Test doubles for the driver's logic: a private, real ovsdb-server (no ovs-vswitchd: nothing reaches the
// kernel) behind the real OvsdbBackend, with every transaction recorded, and an in-memory kernel of named
// links and rules. Tests that use ovsSetup run ovsdb-server, so they need root (CI runs them as root).
import { database } from '@ovs-container-network/ovsdb';
import { run, startOvsdbServer } from '@ovs-container-network/testkit';
import type { CreateNetworkRequest } from '../../src/core/api.js';
import { OvsNetworkDriver } from '../../src/core/driver.js';
import type {
  KernelHandle,
  KernelLink,
  KernelRoute,
  KernelRule,
  KernelRuleSpec,
  KernelVethOptions,
} from '../../src/core/kernel.js';
import { OvsdbBackend } from '../../src/core/ovs/backend.js';
import { OVS } from '../../src/core/ovs/model.js';
import { addPort } from '../../src/core/ovs/ports.js';

/** What tap's `t` offers that the helpers use. */
interface Teardown {
  teardown(fn: () => unknown): void;
}

export type TestOvs = OvsdbBackend & {
  /** Every transaction sent, as its RFC 7047 operations (for counting and for inspecting the guards). */
  readonly transactions: Record<string, unknown>[][];
  /** Runs before each recorded transaction is sent (lets a test change the database "concurrently"). */
  beforeTransact: ((ops: readonly Record<string, unknown>[]) => Promise<void> | void) | undefined;
  /** The database as the replica shows it, as JSON (to check that a refused call changed nothing). */
  dump(): string;
  /** Typed transactions that are not recorded: another client writing the same database. */
  other: ReturnType<typeof database<typeof OVS.model>>;
};

/** A fresh Open_vSwitch database on a private ovsdb-server, initialised like `ovs-vsctl init`. */
export async function ovsSetup(t: Teardown): Promise<TestOvs> {
  const server = await startOvsdbServer();
  t.teardown(() => server.stop());
  await run('ovs-vsctl', [`--db=${server.unixEndpoint}`, '--no-wait', 'init']);
  const backend = await OvsdbBackend.open({ endpoint: server.unixEndpoint, readyTimeoutMs: 10_000 });
  t.teardown(() => backend.close());
  const replica = backend.replica;
  const send = replica.transact.bind(replica);
  const transactions: Record<string, unknown>[][] = [];
  const ovs = Object.assign(backend, {
    transactions,
    beforeTransact: undefined as TestOvs['beforeTransact'],
    dump: () =>
      JSON.stringify(
        ['Open_vSwitch', 'Bridge', 'Port', 'Interface'].map((name) =>
          [...replica.store(name).rows.values()].sort((a, b) => (a._uuid < b._uuid ? -1 : 1)),
        ),
      ),
    other: database(backend.session, OVS.model),
  });
  replica.transact = async (db, operations, opts) => {
    const ops = operations as Record<string, unknown>[];
    await ovs.beforeTransact?.(ops);
    transactions.push([...ops]);
    return send(db, operations, opts);
  };
  return ovs;
}

class KernelError extends Error {
  constructor(readonly errno: string) {
    super(errno);
  }
}

/** Links by name; veth pairs delete together; internal ports of FakeOvs appear as links on demand. */
export class FakeKernel implements KernelHandle {
  readonly netns = 'host';
  links = new Map<string, KernelLink & { peer?: string; txChecksum?: boolean; addresses: string[] }>();
  rules: KernelRule[] = [];
  #next = 100;
  /** Names that appear when looked up (vswitchd creating internal ports). */
  autoCreate: ((name: string) => boolean) | undefined;

  close() {}
  async listLinks() {
    return [...this.links.values()];
  }
  async findLink(l: string | number) {
    const name = String(l);
    if (!this.links.has(name) && this.autoCreate?.(name)) this.add(name, 'tun');
    return this.links.get(name);
  }
  add(name: string, kind: string, peer?: string) {
    const link = {
      index: this.#next++,
      name,
      mtu: 1500,
      mac: undefined,
      up: false,
      lowerUp: false,
      operState: 'down',
      kind,
      group: 0,
      master: undefined,
      peerIndex: undefined,
      linkNetnsId: undefined,
      alias: undefined,
      flags: 0,
      addresses: [] as string[],
    };
    this.links.set(name, peer === undefined ? link : { ...link, peer });
  }
  async createVeth(o: KernelVethOptions) {
    if (this.links.has(o.name) || this.links.has(o.peer.name)) throw new KernelError('EEXIST');
    this.add(o.name, 'veth', o.peer.name);
    this.add(o.peer.name, 'veth', o.name);
    const peer = this.links.get(o.peer.name);
    if (peer) {
      peer.mtu = o.peer.mtu ?? o.mtu ?? 1500;
      peer.mac = o.peer.mac;
      peer.txChecksum = o.peer.txChecksum ?? true;
    }
    const host = this.links.get(o.name);
    if (host) {
      host.mtu = o.mtu ?? 1500;
      host.group = o.group ?? 0;
    }
    return { name: o.name, index: host?.index ?? 0, peerName: o.peer.name, peerIndex: peer?.index ?? 0 };
  }
  async setLink(
    l: string | number,
    c: { mtu?: number | undefined; up?: boolean | undefined; group?: number | undefined },
  ) {
    const link = this.links.get(String(l));
    if (!link) throw new KernelError('ENODEV');
    if (c.group !== undefined) link.group = c.group;
    if (c.mtu !== undefined) link.mtu = c.mtu;
    if (c.up !== undefined) link.up = c.up;
  }
  async deleteLink(l: string | number, o: { missingOk?: boolean | undefined } = {}) {
    const link = this.links.get(String(l));
    if (!link) {
      if (o.missingOk) return;
      throw new KernelError('ENODEV');
    }
    this.#unlist(link.name);
    if (link.peer) this.#unlist(link.peer);
  }
  async deleteLinkGroup(group: number) {
    const doomed = [...this.links.values()].filter((l) => l.group === group);
    if (doomed.length === 0) throw new KernelError('ENODEV');
    for (const l of doomed) {
      this.#unlist(l.name);
      if (l.peer) this.#unlist(l.peer);
    }
  }
  /** Waits by link name, resolved when the link is unlisted (the kernel's RTM_DELLINK multicast). */
  readonly #goneWaits = new Map<string, Set<() => void>>();
  #unlist(name: string) {
    this.links.delete(name);
    const waits = this.#goneWaits.get(name);
    this.#goneWaits.delete(name);
    for (const w of waits ?? []) w();
  }
  /** The `index` option of each whenGone call, in order. */
  goneIndexes: (number | undefined)[] = [];
  whenGone(
    l: string | number,
    o: { signal?: AbortSignal | undefined; index?: number | undefined } = {},
  ): Promise<void> {
    this.goneIndexes.push(o.index);
    const link =
      typeof l === 'number' ? [...this.links.values()].find((x) => x.index === l) : this.links.get(l);
    if (!link) return Promise.reject(new KernelError('ENODEV'));
    return new Promise((resolve, reject) => {
      const waits = this.#goneWaits.get(link.name) ?? new Set();
      this.#goneWaits.set(link.name, waits);
      const done = () => {
        o.signal?.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        waits.delete(done);
        reject(o.signal?.reason);
      };
      waits.add(done);
      o.signal?.addEventListener('abort', abort, { once: true });
    });
  }
  setTxChecksum() {
    return false;
  }
  async addAddress(l: string | number, cidr: string) {
    const link = this.links.get(String(l));
    if (!link) throw new KernelError('ENODEV');
    if (!link.addresses.includes(cidr)) link.addresses.push(cidr);
  }
  async listAddresses() {
    return [];
  }
  async addRoute(_r: KernelRoute) {}
  async addRule(s: KernelRuleSpec) {
    const key = JSON.stringify([s.family, s.priority, s.iif, s.to, s.action]);
    if (this.rules.some((r) => JSON.stringify([r.family, r.priority, r.iif, r.to, r.action]) === key)) {
      throw new KernelError('EEXIST');
    }
    this.rules.push({
      family: s.family ?? 4,
      priority: s.priority ?? 0,
      from: s.from,
      to: s.to,
      table: 0,
      action: s.action ?? 'lookup',
      goto: undefined,
      iif: s.iif,
      oif: undefined,
      fwmark: undefined,
      fwmask: undefined,
      invert: false,
    });
  }
  async deleteRule(s: KernelRuleSpec) {
    const i = this.rules.findIndex(
      (r) => r.iif === s.iif && r.to === s.to && r.priority === s.priority && r.family === s.family,
    );
    if (i < 0) throw new KernelError('ENOENT');
    this.rules.splice(i, 1);
  }
  async listRules(f: { family?: 4 | 6 | undefined } = {}) {
    return this.rules.filter((r) => f.family === undefined || r.family === f.family);
  }
}

/** A driver named `ocntest` (prefix `ocnt`, userspace datapath) over a private OVSDB and a fake kernel. */
export async function driverSetup(t: Teardown, opts: { grace?: number } = {}) {
  const ovs = await ovsSetup(t);
  const kernel = new FakeKernel();
  // ovs-vswitchd would create the kernel device of an internal port: the fake kernel shows one on demand.
  kernel.autoCreate = (name) => ovs.ifaceByName(name)?.type === 'internal';
  const driver = new OvsNetworkDriver({
    name: 'ocntest',
    ovs,
    kernel,
    datapathType: 'netdev',
    prefix: 'ocnt',
    orphanGraceMs: opts.grace ?? 60_000,
  });
  return { ovs, kernel, driver };
}

/** A CreateNetwork request as Docker sends it, with these generic options and one IPv4 subnet. */
export function networkRequest(
  id: unknown,
  generic: Record<string, string>,
  pool = '10.1.0.0/24',
  gw = '10.1.0.1/24',
): CreateNetworkRequest {
  return {
    NetworkID: id as string,
    Options: { 'com.docker.network.generic': generic, 'com.docker.network.enable_ipv6': false },
    IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: pool, Gateway: gw }],
    IPv6Data: [],
  };
}

/** Adds a port (and its interface) named `name` with these external_ids to a bridge, as another tool would. */
export async function addForeignPort(
  ovs: TestOvs,
  bridge: string,
  name: string,
  externalIds: Record<string, string> = {},
): Promise<void> {
  const br = ovs.bridgeByName(bridge);
  if (!br) throw new Error(`no bridge ${bridge}`);
  await ovs.other.transact((t) => addPort(t, br._uuid, { name, externalIds }));
}
