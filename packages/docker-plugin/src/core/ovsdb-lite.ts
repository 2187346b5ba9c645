// INTERIM: a minimal OVSDB connection (RFC 7047 JSON-RPC 1.0 over unix/tcp, `monitor` replica of the four
// tables the driver reads, reconnect). Used only until @ovs-container-network/ovsdb exports its session and
// replica (OvsdbBackend in ovsdb-backend.ts then replaces it). Framing per PROTOCOLS.md §2: values back to
// back without delimiter, split by tracking depth and strings; UTF-8 decoded across chunks.
import { connect as netConnect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { OvsdbFailure } from './errors.js';
import type { BridgeRow, InterfaceRow, OvsBackend, OvsOp, PortRow } from './ovs.js';

type Raw = Record<string, unknown>;

const COLUMNS: Record<string, string[]> = {
  Open_vSwitch: ['bridges', 'external_ids'],
  Bridge: ['name', 'datapath_type', 'external_ids', 'ports'],
  Port: ['name', 'tag', 'trunks', 'external_ids', 'interfaces'],
  Interface: ['name', 'type', 'external_ids', 'ofport', 'error'],
};

/** Wire datum → JS: sets → arrays, maps → objects, uuids → strings (RFC 7047 §5.1). */
function datum(v: unknown): unknown {
  if (Array.isArray(v)) {
    if (v[0] === 'set') return (v[1] as unknown[]).map(datum);
    if (v[0] === 'map')
      return Object.fromEntries((v[1] as [unknown, unknown][]).map(([k, x]) => [String(datum(k)), datum(x)]));
    if (v[0] === 'uuid' || v[0] === 'named-uuid') return v[1];
  }
  return v;
}
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const obj = (v: unknown): Record<string, string> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};

class Framer {
  #buf = '';
  #depth = 0;
  #inStr = false;
  #esc = false;
  #start = 0;
  #pos = 0;
  readonly #dec = new StringDecoder('utf8');
  push(chunk: Buffer): unknown[] {
    this.#buf += this.#dec.write(chunk);
    const out: unknown[] = [];
    for (; this.#pos < this.#buf.length; this.#pos++) {
      const c = this.#buf[this.#pos];
      if (this.#inStr) {
        if (this.#esc) this.#esc = false;
        else if (c === '\\') this.#esc = true;
        else if (c === '"') this.#inStr = false;
      } else if (c === '"') this.#inStr = true;
      else if (c === '{' || c === '[') {
        if (this.#depth === 0) this.#start = this.#pos;
        this.#depth++;
      } else if (c === '}' || c === ']') {
        this.#depth--;
        if (this.#depth === 0) out.push(JSON.parse(this.#buf.slice(this.#start, this.#pos + 1)));
      }
    }
    if (this.#depth === 0) {
      this.#buf = '';
      this.#pos = 0;
    }
    return out;
  }
}

export class OvsdbLite implements OvsBackend {
  readonly endpoint: string;
  #sock: Socket | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #tables = new Map<string, Map<string, Raw>>();
  readonly #listeners = new Set<() => void>();
  #closed = false;
  #connected = false;
  readonly #cache = new WeakMap<Raw, BridgeRow | PortRow | InterfaceRow>();

  private constructor(endpoint: string) {
    this.endpoint = endpoint;
    for (const t of Object.keys(COLUMNS)) this.#tables.set(t, new Map());
  }

  static async open(opts: { endpoint: string | readonly string[] }): Promise<OvsdbLite> {
    const endpoint = typeof opts.endpoint === 'string' ? opts.endpoint : (opts.endpoint[0] ?? '');
    const c = new OvsdbLite(endpoint);
    await c.#connect();
    return c;
  }

  async #connect(): Promise<void> {
    const m = /^(unix|tcp):(.+)$/.exec(this.endpoint);
    if (!m)
      throw new OvsdbFailure(
        `unsupported OVSDB endpoint ${this.endpoint}: expected unix:PATH or tcp:HOST:PORT`,
      );
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s =
        m[1] === 'unix'
          ? netConnect(m[2] ?? '')
          : netConnect(Number(m[2]?.split(':').pop()), m[2]?.split(':').slice(0, -1).join(':'));
      s.once('connect', () => resolve(s));
      s.once('error', (e) =>
        reject(new OvsdbFailure(`cannot connect to ${this.endpoint}: ${e.message}`, { cause: e })),
      );
    });
    this.#sock = sock;
    const framer = new Framer();
    sock.on('data', (chunk: Buffer) => {
      for (const msg of framer.push(chunk)) this.#onMessage(msg as Raw);
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.#connected = false;
      for (const p of this.#pending.values()) p.reject(new OvsdbFailure('OVSDB connection closed'));
      this.#pending.clear();
      if (!this.#closed) setTimeout(() => this.#reconnect(), 1000).unref();
    });
    const requests = Object.fromEntries(Object.entries(COLUMNS).map(([t, columns]) => [t, { columns }]));
    const initial = (await this.#request('monitor', ['Open_vSwitch', null, requests])) as Raw;
    for (const t of this.#tables.values()) t.clear();
    this.#apply(initial);
    this.#connected = true;
  }

  #reconnect(): void {
    if (this.#closed) return;
    this.#connect().catch(() => {
      if (!this.#closed) setTimeout(() => this.#reconnect(), 1000).unref();
    });
  }

  #request(method: string, params: unknown[]): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#sock?.write(JSON.stringify({ method, params, id }));
    });
  }

  #onMessage(msg: Raw): void {
    if (msg.method === 'echo') {
      this.#sock?.write(JSON.stringify({ result: msg.params, error: null, id: msg.id }));
      return;
    }
    if (msg.method === 'update') {
      this.#apply((msg.params as unknown[])[1] as Raw);
      return;
    }
    const p = typeof msg.id === 'number' ? this.#pending.get(msg.id) : undefined;
    if (!p) return;
    this.#pending.delete(msg.id as number);
    if (msg.error) p.reject(new OvsdbFailure(`OVSDB error: ${JSON.stringify(msg.error)}`));
    else p.resolve(msg.result);
  }

  #apply(updates: Raw): void {
    for (const [table, rows] of Object.entries(updates ?? {})) {
      const t = this.#tables.get(table);
      if (!t) continue;
      for (const [uuid, change] of Object.entries(rows as Record<string, { new?: Raw }>)) {
        if (!change.new) t.delete(uuid);
        else {
          const row: Raw = { _uuid: uuid };
          for (const [k, v] of Object.entries(change.new)) row[k] = datum(v);
          t.set(uuid, row);
        }
      }
    }
    for (const l of this.#listeners) l();
  }

  get connected(): boolean {
    return this.#connected;
  }

  #b = (r: Raw): BridgeRow => {
    let v = this.#cache.get(r) as BridgeRow | undefined;
    if (!v) {
      v = {
        uuid: r._uuid as string,
        name: String(r.name ?? ''),
        datapathType: String(r.datapath_type ?? ''),
        externalIds: obj(r.external_ids),
        ports: list(r.ports).map(String),
      };
      this.#cache.set(r, v);
    }
    return v;
  };
  #p = (r: Raw): PortRow => {
    let v = this.#cache.get(r) as PortRow | undefined;
    if (!v) {
      const tag = list(r.tag);
      v = {
        uuid: r._uuid as string,
        name: String(r.name ?? ''),
        tag: tag.length ? Number(tag[0]) : undefined,
        trunks: list(r.trunks).map(Number),
        externalIds: obj(r.external_ids),
        interfaces: list(r.interfaces).map(String),
      };
      this.#cache.set(r, v);
    }
    return v;
  };
  #i = (r: Raw): InterfaceRow => {
    let v = this.#cache.get(r) as InterfaceRow | undefined;
    if (!v) {
      const of = list(r.ofport);
      const err = list(r.error);
      v = {
        uuid: r._uuid as string,
        name: String(r.name ?? ''),
        type: String(r.type ?? ''),
        externalIds: obj(r.external_ids),
        ofport: of.length ? Number(of[0]) : undefined,
        error: err.length ? String(err[0]) : undefined,
      };
      this.#cache.set(r, v);
    }
    return v;
  };
  #rows(t: string): Raw[] {
    return [...(this.#tables.get(t)?.values() ?? [])];
  }

  rootUuid() {
    return this.#rows('Open_vSwitch')[0]?._uuid as string | undefined;
  }
  rootExternalIds() {
    return obj(this.#rows('Open_vSwitch')[0]?.external_ids);
  }
  bridges() {
    return this.#rows('Bridge').map(this.#b);
  }
  bridge(u: string) {
    const r = this.#tables.get('Bridge')?.get(u);
    return r && this.#b(r);
  }
  bridgeByName(name: string) {
    return this.bridges().find((b) => b.name === name);
  }
  ports() {
    return this.#rows('Port').map(this.#p);
  }
  port(u: string) {
    const r = this.#tables.get('Port')?.get(u);
    return r && this.#p(r);
  }
  portByName(name: string) {
    return this.ports().find((p) => p.name === name);
  }
  iface(u: string) {
    const r = this.#tables.get('Interface')?.get(u);
    return r && this.#i(r);
  }
  ifaceByName(name: string) {
    return this.#rows('Interface')
      .map(this.#i)
      .find((i) => i.name === name);
  }
  bridgeOfPort(p: string) {
    return this.bridges().find((b) => b.ports.includes(p));
  }
  onChange(l: () => void) {
    this.#listeners.add(l);
    return () => {
      this.#listeners.delete(l);
    };
  }
  async transact(operations: readonly OvsOp[]): Promise<unknown[]> {
    if (!this.#connected) throw new OvsdbFailure(`not connected to ${this.endpoint}`);
    return (await this.#request('transact', ['Open_vSwitch', ...operations])) as unknown[];
  }
  async close(): Promise<void> {
    this.#closed = true;
    this.#sock?.destroy();
  }
}
