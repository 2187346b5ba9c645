// In-memory stand-ins for unit tests of the driver's logic: an OVS database that executes the RFC 7047
// operations the core builds (insert, mutate, update, wait, comment), and a kernel of named links and rules.
import { randomUUID } from 'node:crypto';
import { OvsNetworkDriver } from '../../src/core/driver.js';
import type {
  KernelHandle,
  KernelLink,
  KernelRoute,
  KernelRule,
  KernelRuleSpec,
  KernelVethOptions,
} from '../../src/core/kernel.js';
import type { BridgeRow, InterfaceRow, OvsBackend, OvsOp, PortRow } from '../../src/core/ovs.js';
import type { CreateNetworkRequest } from '../../src/core/types.js';

type Row = Record<string, unknown> & { _uuid: string };

function decode(v: unknown, named: Map<string, string>): unknown {
  if (Array.isArray(v)) {
    if (v[0] === 'uuid') return v[1];
    if (v[0] === 'named-uuid') return named.get(v[1] as string);
    if (v[0] === 'set') return (v[1] as unknown[]).map((x) => decode(x, named));
    if (v[0] === 'map') return Object.fromEntries((v[1] as [string, string][]).map(([k, x]) => [k, x]));
  }
  return v;
}

const SETS = new Set(['ports', 'interfaces', 'trunks', 'bridges']);

export class FakeOvs implements OvsBackend {
  connected = true;
  tables: Record<string, Map<string, Row>> = {
    Open_vSwitch: new Map(),
    Bridge: new Map(),
    Port: new Map(),
    Interface: new Map(),
  };
  transactions: OvsOp[][] = [];
  /** Called before each transaction (lets a test change the database "concurrently"). */
  beforeTransact: ((ops: readonly OvsOp[]) => void) | undefined;
  listeners = new Set<() => void>();

  constructor() {
    const root = randomUUID();
    this.tables.Open_vSwitch?.set(root, { _uuid: root, bridges: [], external_ids: {} });
  }

  #t(name: string): Map<string, Row> {
    const t = this.tables[name];
    if (!t) throw new Error(`no table ${name}`);
    return t;
  }

  #match(row: Row, where: unknown[], named: Map<string, string>): boolean {
    return where.every((c) => {
      const [col, fn, val] = c as [string, string, unknown];
      const v = decode(val, named);
      if (fn === '==') return JSON.stringify(row[col]) === JSON.stringify(v) || row[col] === v;
      if (fn === 'includes') {
        const have = row[col] as Record<string, string>;
        return Object.entries(v as Record<string, string>).every(([k, x]) => have[k] === x);
      }
      throw new Error(`fake: condition ${fn}`);
    });
  }

  async transact(ops: readonly OvsOp[]): Promise<unknown[]> {
    this.beforeTransact?.(ops);
    this.transactions.push([...ops]);
    const snapshot = JSON.stringify(
      Object.fromEntries(Object.entries(this.tables).map(([k, v]) => [k, [...v]])),
    );
    const named = new Map<string, string>();
    const results: unknown[] = [];
    for (const op of ops) {
      const o = op as Record<string, unknown>;
      const table = o.table as string;
      if (o.op === 'comment') results.push({});
      else if (o.op === 'insert') {
        const id = randomUUID();
        named.set(o['uuid-name'] as string, id);
        const row: Row = { _uuid: id };
        for (const [k, v] of Object.entries(o.row as Record<string, unknown>)) {
          const d = decode(v, named);
          row[k] = SETS.has(k) && !Array.isArray(d) ? [d] : d;
        }
        this.#t(table).set(id, row);
        results.push({ uuid: ['uuid', id] });
      } else if (o.op === 'wait') {
        const rows = [...this.#t(table).values()].filter((r) => this.#match(r, o.where as unknown[], named));
        const cols = o.columns as string[];
        const got = rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c]])));
        const want = (o.rows as Record<string, unknown>[]).map((r) =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, decode(v, named)])),
        );
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          this.#restore(snapshot);
          results.push({ error: 'timed out' });
          return results;
        }
        results.push({});
      } else if (o.op === 'mutate' || o.op === 'update') {
        const rows = [...this.#t(table).values()].filter((r) => this.#match(r, o.where as unknown[], named));
        for (const r of rows) {
          if (o.op === 'update') {
            for (const [k, v] of Object.entries(o.row as Record<string, unknown>)) r[k] = decode(v, named);
            continue;
          }
          for (const [col, mut, val] of o.mutations as [string, string, unknown][]) {
            const v = decode(val, named);
            if (SETS.has(col)) {
              const items = Array.isArray(v) ? v : [v];
              const cur = (r[col] as unknown[]) ?? [];
              r[col] =
                mut === 'insert' ? [...new Set([...cur, ...items])] : cur.filter((x) => !items.includes(x));
            } else {
              const cur = { ...(r[col] as Record<string, string>) };
              if (mut === 'insert')
                for (const [k, x] of Object.entries(v as Record<string, string>)) cur[k] ??= x;
              else for (const k of Array.isArray(v) ? v : [v]) delete cur[k as string];
              r[col] = cur;
            }
          }
        }
        results.push({ count: rows.length });
      } else throw new Error(`fake: op ${String(o.op)}`);
    }
    this.#gc();
    for (const l of this.listeners) l();
    return results;
  }

  #restore(snapshot: string): void {
    const s = JSON.parse(snapshot) as Record<string, [string, Row][]>;
    for (const [k, v] of Object.entries(s)) this.tables[k] = new Map(v);
  }

  /** Non-root tables vanish without a strong reference (RFC 7047 §3.2): Bridge, Port, Interface. */
  #gc(): void {
    const root = [...this.#t('Open_vSwitch').values()][0];
    const liveBridges = new Set((root?.bridges as string[]) ?? []);
    for (const id of [...this.#t('Bridge').keys()]) if (!liveBridges.has(id)) this.#t('Bridge').delete(id);
    const livePorts = new Set([...this.#t('Bridge').values()].flatMap((b) => b.ports as string[]));
    for (const id of [...this.#t('Port').keys()]) if (!livePorts.has(id)) this.#t('Port').delete(id);
    const liveIfs = new Set([...this.#t('Port').values()].flatMap((p) => p.interfaces as string[]));
    for (const id of [...this.#t('Interface').keys()]) if (!liveIfs.has(id)) this.#t('Interface').delete(id);
  }

  #bridge = (r: Row): BridgeRow => ({
    uuid: r._uuid,
    name: r.name as string,
    datapathType: (r.datapath_type as string) ?? '',
    externalIds: (r.external_ids as Record<string, string>) ?? {},
    ports: (r.ports as string[]) ?? [],
  });
  #port = (r: Row): PortRow => ({
    uuid: r._uuid,
    name: r.name as string,
    tag: r.tag as number | undefined,
    trunks: (r.trunks as number[]) ?? [],
    externalIds: (r.external_ids as Record<string, string>) ?? {},
    interfaces: (r.interfaces as string[]) ?? [],
  });
  #iface = (r: Row): InterfaceRow => ({
    uuid: r._uuid,
    name: r.name as string,
    type: (r.type as string) ?? '',
    externalIds: (r.external_ids as Record<string, string>) ?? {},
    ofport: undefined,
    error: undefined,
  });

  rootUuid() {
    return [...this.#t('Open_vSwitch').keys()][0];
  }
  rootExternalIds() {
    return ([...this.#t('Open_vSwitch').values()][0]?.external_ids as Record<string, string>) ?? {};
  }
  bridges() {
    return [...this.#t('Bridge').values()].map(this.#bridge);
  }
  bridge(u: string) {
    const r = this.#t('Bridge').get(u);
    return r && this.#bridge(r);
  }
  bridgeByName(name: string) {
    return this.bridges().find((b) => b.name === name);
  }
  ports() {
    return [...this.#t('Port').values()].map(this.#port);
  }
  port(u: string) {
    const r = this.#t('Port').get(u);
    return r && this.#port(r);
  }
  portByName(name: string) {
    return this.ports().find((p) => p.name === name);
  }
  iface(u: string) {
    const r = this.#t('Interface').get(u);
    return r && this.#iface(r);
  }
  ifaceByName(name: string) {
    return [...this.#t('Interface').values()].map(this.#iface).find((i) => i.name === name);
  }
  bridgeOfPort(p: string) {
    return this.bridges().find((b) => b.ports.includes(p));
  }
  onChange(l: () => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
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
      kind,
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
    return {};
  }
  async setLink(l: string | number, c: { mtu?: number; up?: boolean; group?: number }) {
    const link = this.links.get(String(l));
    if (!link) throw new KernelError('ENODEV');
    if (c.group !== undefined) link.group = c.group;
    if (c.mtu !== undefined) link.mtu = c.mtu;
    if (c.up !== undefined) link.up = c.up;
  }
  async deleteLink(l: string | number, o: { missingOk?: boolean } = {}) {
    const link = this.links.get(String(l));
    if (!link) {
      if (o.missingOk) return;
      throw new KernelError('ENODEV');
    }
    this.links.delete(link.name);
    if (link.peer) this.links.delete(link.peer);
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
      priority: s.priority,
      from: s.from,
      to: s.to,
      table: 0,
      action: s.action ?? 'lookup',
      iif: s.iif,
    });
  }
  async deleteRule(s: KernelRuleSpec) {
    const i = this.rules.findIndex(
      (r) => r.iif === s.iif && r.to === s.to && r.priority === s.priority && r.family === s.family,
    );
    if (i < 0) throw new KernelError('ENOENT');
    this.rules.splice(i, 1);
  }
  async listRules(f: { family?: 4 | 6 } = {}) {
    return this.rules.filter((r) => f.family === undefined || r.family === f.family);
  }
}

/** A driver named `ocntest` (prefix `ocnt`, userspace datapath) over the fakes; vswitchd makes internal ports. */
export function driverSetup(opts: { grace?: number } = {}) {
  const ovs = new FakeOvs();
  const kernel = new FakeKernel();
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
  ovs: FakeOvs,
  bridge: string,
  name: string,
  externalIds: Record<string, string> = {},
): Promise<void> {
  const br = ovs.bridgeByName(bridge);
  await ovs.transact([
    { op: 'insert', table: 'Interface', row: { name }, 'uuid-name': 'i' },
    {
      op: 'insert',
      table: 'Port',
      row: { name, interfaces: ['named-uuid', 'i'], external_ids: ['map', Object.entries(externalIds)] },
      'uuid-name': 'p',
    },
    {
      op: 'mutate',
      table: 'Bridge',
      where: [['_uuid', '==', ['uuid', br?.uuid]]],
      mutations: [['ports', 'insert', ['named-uuid', 'p']]],
    },
  ]);
}
