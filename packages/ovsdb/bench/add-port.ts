// Benchmark: the add-port transaction (insert Interface, insert Port with interfaces=[named-uuid], mutate
// Bridge.ports insert), run twice: first against a private ovsdb-server (vswitch schema, no ovs-vswitchd:
// only this process and the server, so the client-side cost shows with little noise), then against the
// shared sandbox WITH ovs-vswitchd, on a bridge of our own.
//
// Clients, all in one run and interleaved (op by op when sequential, chunk by chunk when pipelined; in a
// fresh random order each time) so they share the noise of this busy machine:
//   ours (typed)        — database(client, OVS.model).transact(...) from this package (builders + validation)
//   ours (wire)         — client.transact(db, rawOps): the connection alone
//   raw, simplest       — THE BASELINE: a raw client written the simplest way (one net socket,
//                         JSON.stringify per request, brace-depth framing of a string buffer rescanned on
//                         every chunk), as an independent harness would write it
//   raw socket          — a minimal client with an incremental framer; once with one write per request,
//                         once with the writes of a tick coalesced (raw, coalesced)
//   python IDL          — /usr/bin/python3 with ovs.db.idl (python3-openvswitch), timed inside Python
//                         (sandbox only)
//   ovs-vsctl           — one `ovs-vsctl add-port` process per port (fewer iterations; sandbox only)
// Run: `pnpm bench` in packages/ovsdb (OCN_OVSDB selects the sandbox; default /run/ocn-dev).
// Sequential ops are measured twice: interleaved op by op (every client sees the same noise), and in blocks
// (each client runs N/5 ops in a row, clients in a fresh random order, as a harness timing one client at a
// time would). Client CPU per op (process.cpuUsage around each op) is reported too: on this shared 2-core
// machine it is far less noisy than wall time.
// Env: BENCH_N (default 1000), BENCH_ROUNDS (5), BENCH_WINDOW (32 in flight), BENCH_VSCTL_N (30),
// BENCH_PRIVATE=0 to skip the private server, BENCH_SANDBOX=0 to skip the shared sandbox.

import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, SYSTEM_PYTHON, sleep, startOvsdbServer } from '@ovs-container-network/testkit';
import { OvsdbClient } from '../src/client.js';
import { type Database, database } from '../src/database.js';
import * as OVS from '../src/models/generated/open-vswitch.js';
import type { Uuid } from '../src/uuid.js';
import { addPortOps } from './add-port-ops.js';
import { SimplestRawClient } from './simplest-raw-client.js';

const ENDPOINT = process.env.OCN_OVSDB ?? 'unix:/run/ocn-dev/db.sock';
const N = Number(process.env.BENCH_N ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 32);
const VSCTL_N = Number(process.env.BENCH_VSCTL_N ?? 30);
/** BENCH_PRIVATE=0 skips the private ovsdb-server run. */
const PRIVATE = process.env.BENCH_PRIVATE !== '0';
/** BENCH_SANDBOX=0 skips the shared sandbox run (e.g. when it is not running). */
const SANDBOX = process.env.BENCH_SANDBOX !== '0';
const DB = 'Open_vSwitch';
const here = dirname(fileURLToPath(import.meta.url));

if (!ENDPOINT.startsWith('unix:'))
  throw new Error(`the raw client of this benchmark speaks unix: only, got ${ENDPOINT}`);

// Names: 'ocnt' + 3 hex of this run + client letter + mode letter + index: at most 15 bytes.
const RUN = randomBytes(2).toString('hex').slice(0, 3);
const BRIDGE = `ocnt${RUN}bench`;
const portName = (client: string, mode: string, i: number) => `ocnt${RUN}${client}${mode}${i}`;

function checkResults(res: unknown, name: string): void {
  if (
    !Array.isArray(res) ||
    res.length !== 3 ||
    res.some((r) => r === null || (r as { error?: unknown }).error)
  ) {
    throw new Error(`add-port ${name} failed: ${JSON.stringify(res)}`);
  }
}

// ---- the raw-socket baseline ----------------------------------------------------------------------------

/**
 * A minimal OVSDB client: one socket, JSON.stringify out, a trivial brace-counting framer in. With
 * `coalesce`, the requests of one tick leave in one write (as our Connection does): pipelined throughput
 * against vswitchd depends on it, so the baseline is measured both ways.
 */
class RawClient {
  private out: string[] = [];
  private flushScheduled = false;
  private readonly pending = new Map<number, (msg: { result: unknown; error: unknown }) => void>();
  private nextId = 0;
  private buf = '';
  private scan = 0;
  private depth = 0;
  private inStr = false;
  private esc = false;
  private constructor(
    private readonly sock: Socket,
    private readonly coalesce: boolean,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
  }
  static open(path: string, coalesce: boolean): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect(path, () => resolve(new RawClient(s, coalesce)));
      s.once('error', reject);
    });
  }
  private onData(d: string): void {
    this.buf += d;
    let start = 0;
    for (let i = this.scan; i < this.buf.length; i++) {
      const c = this.buf.charCodeAt(i);
      if (this.inStr) {
        if (this.esc) this.esc = false;
        else if (c === 92) this.esc = true;
        else if (c === 34) this.inStr = false;
      } else if (c === 34) this.inStr = true;
      else if (c === 123 || c === 91) this.depth++;
      else if ((c === 125 || c === 93) && --this.depth === 0) {
        this.onMessage(JSON.parse(this.buf.slice(start, i + 1)));
        start = i + 1;
      }
    }
    this.buf = this.buf.slice(start);
    this.scan = this.buf.length;
  }
  private onMessage(msg: {
    id: unknown;
    method?: string;
    params?: unknown;
    result: unknown;
    error: unknown;
  }): void {
    if (msg.method === 'echo') {
      this.sock.write(JSON.stringify({ id: msg.id, result: msg.params, error: null }));
      return;
    }
    const cb = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
    if (cb) {
      this.pending.delete(msg.id as number);
      cb(msg);
    }
  }
  transact(ops: unknown[]): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) =>
        m.error === null || m.error === undefined ? resolve(m.result) : reject(m.error),
      );
      this.write(JSON.stringify({ method: 'transact', params: [DB, ...ops], id }));
    });
  }
  private write(text: string): void {
    if (!this.coalesce) {
      this.sock.write(text);
      return;
    }
    this.out.push(text);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => {
        this.flushScheduled = false;
        this.sock.write(this.out.join(''));
        this.out = [];
      });
    }
  }
  close(): void {
    this.sock.end();
  }
}

// ---- measurement ----------------------------------------------------------------------------------------

type AddPort = (name: string) => Promise<void>;

interface Run {
  ms: number[];
  totalMs: number;
}

async function pipelined(addPort: AddPort, names: string[], window: number): Promise<Run> {
  const ms: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++]!;
      const s = performance.now();
      await addPort(name);
      ms.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return { ms, totalMs: performance.now() - t0 };
}

// A seeded PRNG (xorshift32), so runs are comparable.
let seed = 0x9e3779b9;
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
}
function shuffled<T>(xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function add(rec: Record<string, number[]>, key: string, ...xs: number[]): void {
  const a = rec[key];
  if (a) a.push(...xs);
  else rec[key] = xs;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}
const median = (xs: readonly number[]) => quantile(xs, 0.5);

// ---- main -----------------------------------------------------------------------------------------------

async function vsctl(...args: string[]): Promise<string> {
  const { stdout } = await run('ovs-vsctl', [`--db=${ENDPOINT}`, '--timeout=60', ...args]);
  return stdout.trim();
}

interface Target {
  /** Shown in the output. */
  readonly title: string;
  readonly endpoint: string;
  /** The bridge the ports go to: its name (for the Python IDL) and its uuid. */
  readonly bridgeName: string;
  readonly bridge: Uuid<'Bridge'>;
  /** Time for vswitchd to settle after the bridge was emptied (0 without vswitchd). */
  readonly settleMs: number;
  /** Also run the Python IDL (it needs vswitchd's schema version only; skipped on the private server). */
  readonly python: boolean;
}

interface Figures {
  seq: Record<string, number[]>;
  /** Sequential, in blocks of N/5 ops per client. */
  block: Record<string, number[]>;
  /** Client CPU (user + system) per sequential op, µs. */
  cpu: Record<string, number[]>;
  pipeMs: Record<string, number[]>;
  pipeTput: Record<string, number[]>;
  python: number[];
  pythonConnectMs: number;
}

/**
 * BENCH_BASE_SRC: the src/ directory of another checkout of this package (e.g. the commit before a change,
 * extracted with `git archive`, with a node_modules link next to it): its typed client runs as one more
 * client, "base (typed)", interleaved with the others, so before/after figures come from one run.
 */
const BASE_SRC = process.env.BENCH_BASE_SRC;
const base =
  BASE_SRC === undefined
    ? undefined
    : {
        OvsdbClient: (await import(join(BASE_SRC, 'client.ts'))).OvsdbClient as typeof OvsdbClient,
        database: (await import(join(BASE_SRC, 'database.ts'))).database as typeof database,
        OVS: (await import(join(BASE_SRC, 'models/generated/open-vswitch.ts'))) as typeof OVS,
      };

const LETTERS: Record<string, string> = {
  ...(base ? { 'base (typed)': 'b' } : {}),
  'ours (typed)': 't',
  'ours (wire)': 'w',
  'raw, simplest': 's',
  'raw socket': 'r',
  'raw, coalesced': 'c',
};

interface Connections {
  readonly client: OvsdbClient;
  readonly simplest: SimplestRawClient;
  readonly raw: RawClient;
  readonly rawCoalesced: RawClient;
  readonly db: Database<typeof OVS.model>;
  readonly baseClient: OvsdbClient | undefined;
  readonly baseDb: Database<typeof OVS.model> | undefined;
}

/** Opens the four connections of a round in a random order (see measure). */
async function openConnections(endpoint: string, socketPath: string): Promise<Connections> {
  const open: Record<string, () => Promise<OvsdbClient | RawClient | SimplestRawClient>> = {
    client: () => OvsdbClient.connect(endpoint),
    simplest: () => SimplestRawClient.open(socketPath, DB),
    raw: () => RawClient.open(socketPath, false),
    rawCoalesced: () => RawClient.open(socketPath, true),
    ...(base ? { baseClient: () => base.OvsdbClient.connect(endpoint) } : {}),
  };
  const got: Record<string, OvsdbClient | RawClient | SimplestRawClient> = {};
  for (const k of shuffled(Object.keys(open))) got[k] = await open[k]!();
  const client = got.client as OvsdbClient;
  return {
    client,
    simplest: got.simplest as SimplestRawClient,
    raw: got.raw as RawClient,
    rawCoalesced: got.rawCoalesced as RawClient,
    db: database(client, OVS.model),
    baseClient: got.baseClient as OvsdbClient | undefined,
    baseDb: base && database(got.baseClient as OvsdbClient, base.OVS.model),
  };
}

async function closeConnections(c: Connections): Promise<void> {
  c.raw.close();
  c.rawCoalesced.close();
  c.simplest.close();
  await c.baseClient?.close();
  await c.client.close();
}

/** Runs every client against one server: warm-up, then ROUNDS of sequential, Python, pipelined. */
async function measure(target: Target): Promise<Figures> {
  const { endpoint, bridge } = target;
  const socketPath = endpoint.slice('unix:'.length);
  // The connections are opened in a fresh random order every round: ovsdb-server's latency depends on a
  // session's place among its sessions (opening the raw clients first instead of last moved raw's median
  // by ~25 µs against ours), so a fixed order would favour whichever client connected last.
  let c = await openConnections(endpoint, socketPath);
  try {
    const clients: Record<string, AddPort> = {
      ...(base
        ? {
            'base (typed)': async (name: string) => {
              const B = base.OVS;
              await c.baseDb!.transact((t) => {
                const iface = t.insert(B.Interface, { name });
                const port = t.insert(B.Port, { name, interfaces: [iface] });
                t.mutate(B.Bridge, [['_uuid', '==', bridge]], [['ports', 'insert', [port]]]);
              });
            },
          }
        : {}),
      'ours (typed)': async (name) => {
        await c.db.transact((t) => {
          const iface = t.insert(OVS.Interface, { name });
          const port = t.insert(OVS.Port, { name, interfaces: [iface] });
          t.mutate(OVS.Bridge, [['_uuid', '==', bridge]], [['ports', 'insert', [port]]]);
        });
      },
      'ours (wire)': async (name) => {
        checkResults(await c.client.transact(DB, addPortOps(bridge, name)), name);
      },
      'raw, simplest': async (name) => {
        checkResults(await c.simplest.transact(addPortOps(bridge, name)), name);
      },
      'raw socket': async (name) => {
        checkResults(await c.raw.transact(addPortOps(bridge, name)), name);
      },
      'raw, coalesced': async (name) => {
        checkResults(await c.rawCoalesced.transact(addPortOps(bridge, name)), name);
      },
    };

    /** Removes every port of the bridge (ports and interfaces are garbage-collected), lets vswitchd settle. */
    const clear = async () => {
      await c.client.transact(DB, [
        {
          op: 'update',
          table: 'Bridge',
          where: [['_uuid', '==', ['uuid', bridge]]],
          row: { ports: ['set', []] },
        },
      ]);
      if (target.settleMs > 0) await sleep(target.settleMs);
    };

    const fig: Figures = {
      seq: {},
      block: {},
      cpu: {},
      pipeMs: {},
      pipeTput: {},
      python: [],
      pythonConnectMs: 0,
    };
    await clear();
    const labels = Object.keys(clients);
    // Warm-up (JIT, server caches), interleaved like the measurement, not recorded.
    for (let i = 0; i < 200; i++) {
      for (const label of shuffled(labels)) await clients[label]!(portName(LETTERS[label]!, 'x', i));
      if (i % 100 === 99) await clear();
    }
    await clear();
    const CHUNK = Math.max(1, Math.floor(N / 10));
    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0) {
        await closeConnections(c);
        c = await openConnections(endpoint, socketPath);
      }
      // Sequential, interleaved op by op in a fresh random order each time: every client sees the same
      // load on this shared 2-core machine, the same bridge size, and the same mix of predecessors (a
      // fixed rotation made each client always follow the same other one, which skewed results by ~40 µs:
      // the code and caches of the client that ran just before are what is warm).
      for (let i = 0; i < N; i++) {
        for (const label of shuffled(labels)) {
          const c0 = process.cpuUsage();
          const s0 = performance.now();
          await clients[label]!(portName(LETTERS[label]!, 's', i));
          add(fig.seq, label, performance.now() - s0);
          const cu = process.cpuUsage(c0);
          add(fig.cpu, label, cu.user + cu.system);
        }
      }
      await clear();
      // Sequential in blocks: each client runs BLOCK ops in a row, the clients in a fresh random order.
      const BLOCK = Math.max(1, Math.floor(N / 5));
      for (const label of shuffled(labels)) {
        for (let i = 0; i < BLOCK; i++) {
          const s0 = performance.now();
          await clients[label]!(portName(LETTERS[label]!, 'b', i));
          add(fig.block, label, performance.now() - s0);
        }
        await clear();
      }
      if (target.python) {
        // The Python IDL, sequential (its transactions block; it has no pipelining), in its own process.
        const { stdout } = await run(SYSTEM_PYTHON, [
          join(here, 'python-idl-add-port.py'),
          endpoint,
          target.bridgeName,
          portName('y', 's', 0).slice(0, -1),
          String(N),
        ]);
        const out = JSON.parse(stdout) as { connect_ms: number; ms: number[] };
        fig.python.push(...out.ms);
        fig.pythonConnectMs = out.connect_ms;
        await clear();
      }
      // Pipelined, interleaved chunk by chunk (CHUNK ops per client, random order), WINDOW in flight; the
      // throughput of every chunk is a sample (ROUNDS × 10 per client), as for sequential ops.
      for (let from = 0; from < N; from += CHUNK) {
        const names = (label: string) =>
          Array.from({ length: Math.min(CHUNK, N - from) }, (_, i) =>
            portName(LETTERS[label]!, 'p', from + i),
          );
        for (const label of shuffled(labels)) {
          const r = await pipelined(clients[label]!, names(label), WINDOW);
          add(fig.pipeMs, label, ...r.ms);
          add(fig.pipeTput, label, (r.ms.length / r.totalMs) * 1000);
        }
        await clear();
      }
      process.stderr.write(`${target.title}: round ${round + 1}/${ROUNDS} done\n`);
    }
    return fig;
  } finally {
    await closeConnections(c);
  }
}

const f = (x: number) => x.toFixed(3).padStart(9);
function line(label: string, mode: string, xs: number[], tput?: number): void {
  console.log(
    `${label.padEnd(20)}${mode.padEnd(16)}${f(median(xs))} ms  p99 ${f(quantile(xs, 0.99))} ms  ${
      tput === undefined
        ? `${((1000 / median(xs)) | 0).toString().padStart(7)} ops/s (1/median)`
        : `${(tput | 0).toString().padStart(7)} ops/s (median of chunks)`
    }  n=${xs.length}`,
  );
}
function ratio(name: string, v: number, target?: string, ok?: boolean): void {
  console.log(
    `${name.padEnd(52)}${v.toFixed(3).padStart(7)}${target === undefined ? '' : `  target ${target}  ${ok ? 'MET' : 'MISSED'}`}`,
  );
}

function report(target: Target, fig: Figures, vsctlMs?: number[]): void {
  const labels = Object.keys(LETTERS);
  console.log(`\n== ${target.title}`);
  console.log('client              mode            median per op    p99 per op      throughput');
  for (const label of labels) line(label, 'sequential', fig.seq[label]!);
  for (const label of labels) line(label, 'seq. in blocks', fig.block[label]!);
  if (fig.python.length) line('python IDL', 'sequential', fig.python);
  if (vsctlMs) line('ovs-vsctl add-port', 'per call', vsctlMs);
  for (const label of labels)
    line(label, `pipelined x${WINDOW}`, fig.pipeMs[label]!, median(fig.pipeTput[label]!));
  if (fig.python.length) {
    console.log(`(python IDL initial connect+sync: ${fig.pythonConnectMs.toFixed(1)} ms, not included)`);
  }
  console.log('client CPU per sequential op (process.cpuUsage, median µs):');
  for (const label of labels)
    console.log(`  ${label.padEnd(20)}${median(fig.cpu[label]!).toFixed(0).padStart(6)} µs`);
  // The baseline the issue names: the raw client written the simplest way.
  const base = 'raw, simplest';
  const rawSeq = median(fig.seq[base]!);
  const rawBlock = median(fig.block[base]!);
  const rawTput = median(fig.pipeTput[base]!);
  const before = 'base (typed)' in fig.seq; // BENCH_BASE_SRC ran
  if (before) {
    ratio(
      'ours (typed)/base (typed) sequential median',
      median(fig.seq['ours (typed)']!) / median(fig.seq['base (typed)']!),
    );
    ratio(
      'ours (typed)/base (typed) CPU per op',
      median(fig.cpu['ours (typed)']!) / median(fig.cpu['base (typed)']!),
    );
  }
  for (const label of [...(before ? ['base (typed)'] : []), 'ours (typed)', 'ours (wire)', 'raw socket']) {
    const s = median(fig.seq[label]!) / rawSeq;
    ratio(`${label}/${base} sequential median`, s, '<= 1.05', s <= 1.05);
    const b = median(fig.block[label]!) / rawBlock;
    ratio(`${label}/${base} sequential, in blocks`, b, '<= 1.05', b <= 1.05);
    const p = median(fig.pipeTput[label]!) / rawTput;
    ratio(`${label}/${base} pipelined throughput`, p, '>= 0.95', p >= 0.95);
    if (fig.python.length) {
      const py = median(fig.python) / median(fig.seq[label]!);
      ratio(`python IDL/${label} sequential median`, py);
    }
  }
  const rawSock = median(fig.pipeTput['raw socket']!);
  ratio('raw, coalesced/raw socket pipelined throughput', median(fig.pipeTput['raw, coalesced']!) / rawSock);
  if (vsctlMs) ratio('ovs-vsctl/ours (typed) per call', median(vsctlMs) / median(fig.seq['ours (typed)']!));
}

console.log(
  `add-port benchmark: N=${N} x ${ROUNDS} rounds per server, pipelined window ${WINDOW}, ovs-vsctl N=${VSCTL_N}`,
);

// 1. A private ovsdb-server (vswitch schema, no ovs-vswitchd): only our process and the server, so the
//    client-side cost shows with far less noise.
if (PRIVATE) {
  const server = await startOvsdbServer({});
  try {
    const c = await OvsdbClient.connect(server.unixEndpoint);
    // Bridge is not a root table: it lives while the Open_vSwitch row refers to it.
    const res = await c.transact(DB, [
      { op: 'insert', table: 'Bridge', row: { name: BRIDGE }, 'uuid-name': 'br' },
      { op: 'insert', table: 'Open_vSwitch', row: { bridges: ['named-uuid', 'br'] } },
    ]);
    await c.close();
    if (res.length !== 2 || res.some((r) => r === null || (r as { error?: unknown }).error)) {
      throw new Error(`creating the bridge failed: ${JSON.stringify(res)}`);
    }
    const target: Target = {
      title: `private ovsdb-server ${server.unixEndpoint}, no vswitchd`,
      endpoint: server.unixEndpoint,
      bridgeName: BRIDGE,
      bridge: (res[0] as { uuid: [string, Uuid<'Bridge'>] }).uuid[1],
      settleMs: 0,
      python: false,
    };
    report(target, await measure(target));
  } finally {
    await server.stop();
  }
}

// 2. The shared sandbox WITH ovs-vswitchd, on a bridge of our own; with the Python IDL and ovs-vsctl.
if (SANDBOX) await sandboxRun();
async function sandboxRun(): Promise<void> {
  await vsctl('add-br', BRIDGE, '--', 'set', 'Bridge', BRIDGE, 'datapath_type=netdev');
  try {
    const c = await OvsdbClient.connect(ENDPOINT);
    const [br] = await database(c, OVS.model).select(OVS.Bridge, [['name', '==', BRIDGE]]);
    await c.close();
    if (!br) throw new Error(`bridge ${BRIDGE} not found`);
    const target: Target = {
      title: `${ENDPOINT}, vswitchd running, bridge ${BRIDGE} (netdev)`,
      endpoint: ENDPOINT,
      bridgeName: BRIDGE,
      bridge: br._uuid,
      settleMs: 300,
      python: true,
    };
    const fig = await measure(target);
    // ovs-vsctl add-port: one process per port, as scripts do it (it also waits for vswitchd to apply it).
    const vsctlMs: number[] = [];
    for (let i = 0; i < VSCTL_N; i++) {
      const s = performance.now();
      await vsctl('add-port', BRIDGE, portName('v', 's', i));
      vsctlMs.push(performance.now() - s);
    }
    report(target, fig, vsctlMs);
  } finally {
    await vsctl('--if-exists', 'del-br', BRIDGE).catch((e: unknown) =>
      console.error(`cleanup failed: ${String(e)}`),
    );
  }
}
