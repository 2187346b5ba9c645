// Benchmark: logical switch ports created per second, side by side in one run, on a standalone and on a
// 3-member clustered OVN_Northbound (ovsdb-server only: no ovn-northd, so only the clients and the server
// share the CPU). Each port has a name, addresses and port_security ("MAC IPv4"), is added to one of 10
// switches (insert Logical_Switch_Port + mutate Logical_Switch.ports), one port per transaction unless said.
//
//   ours (typed)        OvnClient.transact((t) => …): the generated models, validation, a live replica of
//                       every NB table (each insert also comes back as a monitor update it applies)
//   ours (builders)     the same through nbTransact(ovn.nb, (nb) => nb.ensureSwitchPort(…)): lookups in the
//                       replica, guards, retries on a lost race
//   raw socket          a minimal client written here (net.Socket, JSON.stringify, a brace-counting framer);
//                       no monitor
//   ovsdbapp            /usr/bin/python3 with python3-ovsdbapp (lsp_add; timed inside Python)
//   ovn-nbctl           one process per port (lsp-add + lsp-set-addresses + lsp-set-port-security in one
//                       call), and in daemon mode (ovn-nbctl --detach; OVN_NB_DAEMON)
//
// Sequential ops of ours and raw are interleaved op by op, pipelined (32 in flight) and batched (100 per
// transaction) ones chunk by chunk, in a fresh random order each time, so they share the machine's noise.
// Then: LSP creation → `up` on a bound chassis (the OVS interface with its iface-id exists first; startOvnEnv
// with one chassis), and the NB replica's initial sync with 10,000 ports on 100 switches against a raw
// floor (one monitor_cond_since reply on a plain socket, parsed once) and ovsdbapp, each in a fresh child
// process, with the longest event-loop stall.
//
// Run: pnpm --filter @ovs-container-network/ovn bench   (needs root for the chassis namespace)
// Env: BENCH_N (ports per client and mode, default 6000: with 1000, 32 in flight gave 6 chunk samples per
// client, two of them partial, and its ratio swung 0.78-1.02 between runs a minute apart), BENCH_PY_N (500), BENCH_NBCTL_N (30),
// BENCH_DAEMON_N (60), BENCH_UP_N (10), BENCH_SYNC_N (10000); BENCH_ONLY=rates|up|sync runs one part.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Transaction } from '@ovs-container-network/ovsdb';
import * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import {
  OVN_NB_SCHEMA,
  run,
  SYSTEM_PYTHON,
  startCluster,
  startOvnEnv,
  startOvsdbServer,
} from '@ovs-container-network/testkit';
import { type NbPlan, nbTransact, OvnChassisDb, OvnClient } from '../src/index.js';

const N = Number(process.env.BENCH_N ?? 6000);
const PY_N = Number(process.env.BENCH_PY_N ?? 500);
const NBCTL_N = Number(process.env.BENCH_NBCTL_N ?? 30);
const DAEMON_N = Number(process.env.BENCH_DAEMON_N ?? 60);
const UP_N = Number(process.env.BENCH_UP_N ?? 10);
const SYNC_N = Number(process.env.BENCH_SYNC_N ?? 10_000);
const ONLY = process.env.BENCH_ONLY;
const WINDOW = 32;
const BATCH = 100;
const SWITCHES = 10;
const HERE = dirname(fileURLToPath(import.meta.url));
const ZERO = '00000000-0000-0000-0000-000000000000';

/**
 * Port i's name and its "MAC IPv4" (addresses = port_security). Each prefix gets its own block of indexes
 * so that MACs and IPs never repeat on a switch (ovn-nbctl refuses a duplicate IPv4 address).
 */
const blocks = new Map<string, number>();
function baseOf(prefix: string): number {
  let b = blocks.get(prefix);
  if (b === undefined) {
    b = (blocks.size + 1) * 20_000;
    blocks.set(prefix, b);
  }
  return b;
}
function port(prefix: string, i: number): { name: string; addr: string } {
  const k = baseOf(prefix) + i;
  const h = (n: number) => (n & 255).toString(16).padStart(2, '0');
  const mac = `0a:${h(k >> 24)}:${h(k >> 16)}:${h(k >> 8)}:${h(k)}:01`;
  return { name: `${prefix}${i}`, addr: `${mac} 10.${100 + ((k >> 16) & 63)}.${(k >> 8) & 255}.${k & 255}` };
}

function lspOps(sw: string, name: string, addr: string): unknown[] {
  return [
    {
      op: 'insert',
      table: 'Logical_Switch_Port',
      row: { name, addresses: addr, port_security: addr },
      'uuid-name': 'p',
    },
    {
      op: 'mutate',
      table: 'Logical_Switch',
      where: [['_uuid', '==', ['uuid', sw]]],
      mutations: [['ports', 'insert', ['named-uuid', 'p']]],
    },
  ];
}

// ---- the raw-socket baseline ---------------------------------------------------------------------------

/**
 * A minimal OVSDB client: JSON out, a brace-counting framer in, replies matched by id; echo answered. The
 * requests of one tick leave in one write, as ours do (ovsdb-server then reads a pipelined burst at once).
 */
class Raw {
  #out: string[] = [];
  readonly #pending = new Map<number, (m: { result?: unknown; error?: unknown }) => void>();
  #id = 0;
  #buf = '';
  #pos = 0;
  #depth = 0;
  #str = false;
  #esc = false;
  private constructor(readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.#read(d));
  }
  static open(endpoint: string): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = netConnect(endpoint.replace(/^unix:/, ''), () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }
  #read(d: string): void {
    this.#buf += d;
    let start = 0;
    for (let i = this.#pos; i < this.#buf.length; i++) {
      const c = this.#buf.charCodeAt(i);
      if (this.#str) {
        if (this.#esc) this.#esc = false;
        else if (c === 0x5c) this.#esc = true;
        else if (c === 0x22) this.#str = false;
      } else if (c === 0x22) this.#str = true;
      else if (c === 0x7b || c === 0x5b) this.#depth++;
      else if ((c === 0x7d || c === 0x5d) && --this.#depth === 0) {
        const m = JSON.parse(this.#buf.slice(start, i + 1));
        start = i + 1;
        if (m.method === 'echo') this.sock.write(JSON.stringify({ id: m.id, result: m.params, error: null }));
        else this.#pending.get(m.id)?.(m);
      }
    }
    this.#buf = this.#buf.slice(start);
    this.#pos = this.#buf.length;
  }
  transact(ops: unknown[]): Promise<unknown[]> {
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (m) => {
        this.#pending.delete(id);
        const r = m.result as { error?: string }[] | undefined;
        if (m.error || !r || r.some((x) => x?.error)) reject(new Error(JSON.stringify(m)));
        else resolve(r);
      });
      if (
        this.#out.push(JSON.stringify({ id, method: 'transact', params: ['OVN_Northbound', ...ops] })) === 1
      )
        process.nextTick(() => {
          this.sock.write(this.#out.join(''));
          this.#out = [];
        });
    });
  }
  close(): void {
    this.sock.destroy();
  }
}

// ---- figures ---------------------------------------------------------------------------------------------

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? (s[m] as number)
      : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

type Client = {
  name: string;
  one: (i: number) => Promise<void>;
  batch?: (from: number, n: number) => Promise<void>;
};

async function throughput(model: string, endpoints: readonly string[], leader: string): Promise<void> {
  let raw = await Raw.open(leader);
  const boot = (await raw.transact(
    Array.from({ length: SWITCHES }, (_, i) => ({
      op: 'insert',
      table: 'Logical_Switch',
      row: { name: `ocnt-bench-ls${i}` },
    })),
  )) as { uuid: [string, string] }[];
  const sw = boot.map((r) => r.uuid[1]);
  const swName = (i: number) => `ocnt-bench-ls${i % SWITCHES}`;
  // Pass 1: the typed path with a replica of NB_Global only (no row of the monitor to apply) beside the raw
  // client, nothing else monitoring. Pass 2: the default client (a replica of every NB table, as ovsdbapp
  // keeps) and the builders beside the raw client again — every client's inserts then also reach that
  // replica, in this process.
  const openLite = () =>
    OvnClient.connect({
      nb: endpoints,
      client: { inactivityProbeMs: 0 },
      nbTables: { NB_Global: { columns: ['nb_cfg'] } },
    });
  const openFull = () => OvnClient.connect({ nb: endpoints, client: { inactivityProbeMs: 0 } });
  let lite: OvnClient | undefined;
  const lt = () => lite as OvnClient;
  const typed = (prefix: string) => (t: Transaction, i: number) => {
    const { name, addr } = port(prefix, i);
    const p = t.insert(NB.Logical_Switch_Port, { name, addresses: [addr], port_security: [addr] });
    t.mutate(
      NB.Logical_Switch,
      [['_uuid', '==', sw[i % SWITCHES] as NB.Logical_SwitchUuid]],
      [['ports', 'insert', [p]]],
    );
  };
  const ensure = (prefix: string) => (nb: NbPlan, i: number) => {
    const { name, addr } = port(prefix, i);
    nb.ensureSwitchPort({ switch: swName(i), name, addresses: [addr], portSecurity: [addr] });
  };
  const rawOne = (prefix: string) => (i: number) => {
    const { name, addr } = port(prefix, i);
    return raw.transact(lspOps(sw[i % SWITCHES] as string, name, addr)).then(() => {});
  };
  const rawBatch = (prefix: string) => (from: number, n: number) => {
    const ops: unknown[] = [];
    for (let i = from; i < from + n; i++) {
      const { name, addr } = port(prefix, i);
      const [ins, mut] = lspOps(sw[i % SWITCHES] as string, name, addr) as [
        Record<string, unknown>,
        Record<string, unknown>,
      ];
      ops.push(
        { ...ins, 'uuid-name': `p${i}` },
        { ...mut, mutations: [['ports', 'insert', ['named-uuid', `p${i}`]]] },
      );
    }
    return raw.transact(ops).then(() => {});
  };
  let ovn: OvnClient | undefined;
  const full = () => ovn as OvnClient;
  const clients = (pass: 1 | 2, mode: string): Client[] => {
    const rawName = pass === 1 ? 'raw socket' : 'raw socket (pass 2, beside a full replica)';
    const r = {
      name: rawName,
      one: rawOne(`ocnt-r${pass}${mode}-`),
      batch: rawBatch(`ocnt-r${pass}${mode}-`),
    };
    if (pass === 1) {
      const tl = typed(`ocnt-l${mode}-`);
      return [
        {
          name: 'ours (typed, NB_Global-only replica)',
          one: (i) =>
            lt()
              .transact((t) => tl(t, i))
              .then(() => {}),
          batch: (from, n) =>
            lt()
              .transact((t) => {
                for (let i = from; i < from + n; i++) tl(t, i);
              })
              .then(() => {}),
        },
        r,
      ];
    }
    const ty = typed(`ocnt-t${mode}-`);
    const en = ensure(`ocnt-e${mode}-`);
    return [
      {
        name: 'ours (typed, full NB replica)',
        one: (i) =>
          full()
            .transact((t) => ty(t, i))
            .then(() => {}),
        batch: (from, n) =>
          full()
            .transact((t) => {
              for (let i = from; i < from + n; i++) ty(t, i);
            })
            .then(() => {}),
      },
      {
        name: 'ours (builders: nbTransact ensureSwitchPort, full NB replica)',
        one: (i) => nbTransact(full().nb, (nb) => en(nb, i)).then(() => {}),
        batch: (from, n) =>
          nbTransact(full().nb, (nb) => {
            for (let i = from; i < from + n; i++) en(nb, i);
          }).then(() => {}),
      },
      r,
    ];
  };
  const results = new Map<string, Map<string, number>>(); // client → mode → ports/s

  const put = (c: string, mode: string, v: number) => {
    const m = results.get(c) ?? new Map<string, number>();
    m.set(mode, v);
    results.set(c, m);
  };
  // ovsdbapp and ovn-nbctl first, while NB is small: ovn-nbctl reads the whole database on every call.
  // ovsdbapp: sequential and 100 per transaction (synchronous API: no pipelining).
  const py = async (prefix: string, n: number, perTxn: number) => {
    const { stdout } = await run(
      SYSTEM_PYTHON,
      [
        join(HERE, 'ovsdbapp-lsp.py'),
        endpoints.join(','), // every member: a leader change under load must not strand it
        prefix,
        String(baseOf(prefix)),
        String(n),
        String(perTxn),
        Array.from({ length: SWITCHES }, (_, i) => `ocnt-bench-ls${i}`).join(','),
      ],
      { timeoutMs: 600_000 },
    );
    return JSON.parse(stdout.trim()) as { total_ms: number; txn_ms: number[] };
  };
  const pySeq = await py('ocnt-ys-', PY_N, 1);
  put('ovsdbapp', 'seq', 1000 / median(pySeq.txn_ms));
  put('ovsdbapp', 'seqMedMs', median(pySeq.txn_ms));
  const pyBatch = await py('ocnt-yb-', PY_N, BATCH);
  put('ovsdbapp', 'batch', (BATCH * 1000) / median(pyBatch.txn_ms));

  // ovn-nbctl per call, and in daemon mode.
  const db = `--db=${endpoints.join(',')}`;
  const nbctlArgs = (prefix: string, i: number) => {
    const { name, addr } = port(prefix, i);
    return [
      'lsp-add',
      swName(i),
      name,
      '--',
      'lsp-set-addresses',
      name,
      addr,
      '--',
      'lsp-set-port-security',
      name,
      addr,
    ];
  };
  {
    const ms: number[] = [];
    for (let i = 0; i < NBCTL_N; i++) {
      const s = performance.now();
      await run('ovn-nbctl', [db, ...nbctlArgs('ocnt-n-', i)]);
      ms.push(performance.now() - s);
    }
    put('ovn-nbctl, per call', 'seq', 1000 / median(ms));
    put('ovn-nbctl, per call', 'seqMedMs', median(ms));
  }
  {
    const dir = mkdtempSync('/run/ocnt-nbctld-');
    try {
      // The daemon prints the control socket that OVN_NB_DAEMON names; OVN_RUNDIR keeps it in our dir.
      const { stdout } = await run(
        'ovn-nbctl',
        [
          db,
          '--detach',
          `--pidfile=${join(dir, 'nbctl.pid')}`,
          `--log-file=${join(dir, 'nbctl.log')}`,
          `--unixctl=${join(dir, 'nbctl.ctl')}`,
          '--no-chdir',
        ],
        { env: { ...process.env, OVN_RUNDIR: dir } },
      );
      const sock = stdout.trim();
      const env = { ...process.env, OVN_NB_DAEMON: sock };
      const ms: number[] = [];
      for (let i = 0; i < DAEMON_N; i++) {
        const s = performance.now();
        await run('ovn-nbctl', nbctlArgs('ocnt-d-', i), { env });
        ms.push(performance.now() - s);
      }
      put('ovn-nbctl, daemon mode', 'seq', 1000 / median(ms));
      put('ovn-nbctl, daemon mode', 'seqMedMs', median(ms));
    } finally {
      const pidFile = join(dir, 'nbctl.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
      if (pid > 0) process.kill(pid, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // Samples per client: sequential ms per op, pipelined ports/s per chunk, batched ms per transaction.
  const samples = new Map<string, { seq: number[]; pipe: number[]; batch: number[] }>();
  const sample = (c: string) => {
    let x = samples.get(c);
    if (!x) {
      x = { seq: [], pipe: [], batch: [] };
      samples.set(c, x);
    }
    return x;
  };
  const measure = async (pass: 1 | 2, lo: number, hi: number) => {
    // Sequential, interleaved op by op.
    const seq = clients(pass, 's');
    for (let i = lo; i < hi; i++)
      for (const c of shuffle([...seq])) {
        const s = performance.now();
        await c.one(i);
        sample(c.name).seq.push(performance.now() - s);
      }
    // Pipelined: 32 in flight, chunks of 256 ports, per-chunk throughput.
    const CHUNK = 256;
    const pipe = clients(pass, 'p');
    for (let from = lo; from < hi; from += CHUNK)
      for (const c of shuffle([...pipe])) {
        let next = from;
        const end = Math.min(hi, from + CHUNK);
        const s = performance.now();
        await Promise.all(
          Array.from({ length: WINDOW }, async () => {
            while (next < end) await c.one(next++);
          }),
        );
        sample(c.name).pipe.push(((end - from) * 1000) / (performance.now() - s));
      }
    // Batched: 100 ports per transaction.
    const bat = clients(pass, 'b');
    for (let from = lo; from < hi; from += BATCH)
      for (const c of shuffle([...bat])) {
        const s = performance.now();
        await c.batch?.(from, Math.min(BATCH, hi - from));
        sample(c.name).batch.push(performance.now() - s);
      }
  };
  // Rounds, each on fresh connections opened in a random order: ovsdb-server's latency depends on a
  // session's place among its sessions (packages/ovsdb/bench/add-port.ts measured ~25 µs of bias).
  const ROUNDS = 3;
  for (const pass of [1, 2] as const)
    for (let r = 0; r < ROUNDS; r++) {
      raw.close();
      for (const which of shuffle(['raw', 'ours'])) {
        if (which === 'raw') raw = await Raw.open(leader);
        else if (pass === 1) lite = await openLite();
        else ovn = await openFull();
      }
      await measure(pass, Math.floor((r * N) / ROUNDS), Math.floor(((r + 1) * N) / ROUNDS));
      await lite?.close();
      await ovn?.close();
      lite = undefined;
      ovn = undefined;
    }
  raw.close();
  for (const [c, x] of samples) {
    put(c, 'seq', 1000 / median(x.seq));
    put(c, 'seqMedMs', median(x.seq));
    put(c, 'pipe', median(x.pipe));
    put(c, 'batch', (BATCH * 1000) / median(x.batch));
  }

  console.log(`\n### ${model} NB — ports/s (median per op / per chunk / per transaction)\n`);
  console.log(
    '| client | sequential: per txn | sequential ports/s | 32 in flight ports/s | 100 per txn ports/s |',
  );
  console.log('|---|---|---|---|---|');
  for (const [c, m] of results)
    console.log(
      `| ${c} | ${fmt(m.get('seqMedMs') ?? Number.NaN, 3)} ms | ${fmt(m.get('seq') ?? Number.NaN)} | ${fmt(m.get('pipe') ?? Number.NaN)} | ${fmt(m.get('batch') ?? Number.NaN)} |`,
    );
  const ours = results.get('ours (typed, NB_Global-only replica)');
  const oursFull = results.get('ours (typed, full NB replica)');
  const builders = results.get('ours (builders: nbTransact ensureSwitchPort, full NB replica)');
  const raw2 = results.get('raw socket (pass 2, beside a full replica)');
  const rawR = results.get('raw socket');
  const py2 = results.get('ovsdbapp');
  const ratio = (a: Map<string, number> | undefined, b: Map<string, number> | undefined, k: string) =>
    fmt((a?.get(k) ?? Number.NaN) / (b?.get(k) ?? Number.NaN), 2);
  console.log(
    `\npass 1, typed (NB_Global-only replica) / raw: sequential ${ratio(ours, rawR, 'seq')}×, 32 in flight ${ratio(ours, rawR, 'pipe')}×, 100 per txn ${ratio(ours, rawR, 'batch')}×`,
  );
  console.log(
    `pass 2, typed (full replica) / raw beside it: sequential ${ratio(oursFull, raw2, 'seq')}×, 32 in flight ${ratio(oursFull, raw2, 'pipe')}×, 100 per txn ${ratio(oursFull, raw2, 'batch')}×`,
  );
  console.log(
    `pass 2, builders (full replica) / raw beside it: sequential ${ratio(builders, raw2, 'seq')}×, 32 in flight ${ratio(builders, raw2, 'pipe')}×, 100 per txn ${ratio(builders, raw2, 'batch')}×; builders / typed (full replica): ${ratio(builders, oursFull, 'seq')}×, ${ratio(builders, oursFull, 'pipe')}×, ${ratio(builders, oursFull, 'batch')}×`,
  );
  console.log(
    `typed (full replica) / ovsdbapp (which also keeps a full replica): sequential ${ratio(oursFull, py2, 'seq')}×, 100 per txn ${ratio(oursFull, py2, 'batch')}×`,
  );
}

// ---- LSP creation → up on a bound chassis ----------------------------------------------------------------

async function portUp(): Promise<void> {
  const env = await startOvnEnv({ chassis: 1 });
  try {
    const ch = env.chassis[0];
    if (!ch) throw new Error('no chassis');
    const ovn = await OvnClient.connect({ nb: env.nb.endpoints, sb: env.sb.endpoints });
    const chdb = await OvnChassisDb.connect(ch.endpoint);
    await ovn.transact((t) => t.insert(NB.Logical_Switch, { name: 'ocnt-up-ls' }));
    const up: number[] = [];
    const installed: number[] = [];
    const hv: number[] = [];
    for (let i = 0; i < UP_N; i++) {
      const { name, addr } = port('ocnt-up-', i);
      const [mac, ip] = addr.split(' ') as [string, string];
      await ch.addWorkload({ mac, address: `${ip}/8`, ifaceId: name }); // bound before the LSP exists
      const t0 = performance.now();
      const upP = ovn.waitForPortUp(name, { chassis: ch.name, timeoutMs: 30_000 });
      const instP = chdb.waitForOvnInstalled(name, { timeoutMs: 30_000 });
      await ovn.transact((t) => {
        const p = t.insert(NB.Logical_Switch_Port, { name, addresses: [addr], port_security: [addr] });
        t.mutate(NB.Logical_Switch, [['name', '==', 'ocnt-up-ls']], [['ports', 'insert', [p]]]);
      });
      const [u, inst] = await Promise.all([upP, instP]);
      up.push(u.at - t0);
      installed.push(inst.at - t0);
      const s = performance.now();
      await ovn.sync('hv', { timeoutMs: 30_000 });
      hv.push(performance.now() - s);
    }
    console.log(
      `\n### LSP created → bound chassis (1 chassis, ${UP_N} ports, each OVS interface bound first)\n`,
    );
    console.log(`| measurement | p50 | max |\n|---|---|---|`);
    console.log(
      `| LSP insert → SB Port_Binding up (waitForPortUp) | ${fmt(median(up), 1)} ms | ${fmt(Math.max(...up), 1)} ms |`,
    );
    console.log(
      `| LSP insert → ovn-installed (waitForOvnInstalled) | ${fmt(median(installed), 1)} ms | ${fmt(Math.max(...installed), 1)} ms |`,
    );
    console.log(
      `| sync('hv') round trip (nb_cfg bump → hv_cfg) | ${fmt(median(hv), 1)} ms | ${fmt(Math.max(...hv), 1)} ms |`,
    );
    await chdb.close();
    await ovn.close();
  } finally {
    await env.stop();
  }
}

// ---- initial sync of 10,000 ports on 100 switches ----------------------------------------------------------

interface SyncFigures {
  ms: number;
  /** monitorEventLoopDelay max. */
  stallMs: number;
  /** The longest gap between two runs of a 1 ms interval timer, and the process CPU time inside it. */
  gapMs: number;
  gapCpuMs: number;
  /** Process CPU time (user + system) from the start of the sync to its end. */
  cpuMs: number;
  rows: number;
}

const cpuSince = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

/**
 * The longest gap between ticks of a 1 ms interval, with the CPU time this process spent inside it: on a
 * loaded machine a long gap with little CPU in it is the scheduler, not us.
 */
function gapWatch(): () => { gapMs: number; gapCpuMs: number } {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let gapMs = 0;
  let gapCpuMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    if (now - last > gapMs) {
      gapMs = now - last;
      gapCpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    }
    last = now;
    lastCpu = cpu;
  }, 1);
  return () => {
    clearInterval(timer);
    return { gapMs, gapCpuMs };
  };
}

async function childFloor(endpoint: string): Promise<SyncFigures> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const gaps = gapWatch();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const sock = netConnect(endpoint.slice('unix:'.length));
  const chunks: Buffer[] = [];
  const MARK = '"ocn-floor-echo"';
  const tables = Object.fromEntries(Object.keys(NB.model.tables).map((t) => [t, {}]));
  const full = await new Promise<string>((resolve, reject) => {
    sock.on('error', reject);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      const tail = c.subarray(Math.max(0, c.length - 64)).toString('latin1');
      if (tail.includes(MARK)) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    sock.write(
      JSON.stringify({
        id: 1,
        method: 'monitor_cond_since',
        params: ['OVN_Northbound', 'floor', tables, ZERO],
      }) + JSON.stringify({ id: 'ocn-floor-echo', method: 'echo', params: [] }),
    );
  });
  const end = full.lastIndexOf('{', full.lastIndexOf(MARK));
  const reply = JSON.parse(full.slice(0, end)) as { result: [boolean, string, Record<string, object>] };
  const ms = performance.now() - t0;
  const cpuMs = cpuSince(c0);
  await new Promise((r) => setTimeout(r, 5));
  h.disable();
  sock.destroy();
  const rows = Object.keys(reply.result[2].Logical_Switch_Port ?? {}).length;
  return { ms, stallMs: h.max / 1e6, ...gaps(), cpuMs, rows };
}

async function childOurs(endpoint: string): Promise<SyncFigures> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const gaps = gapWatch();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const ovn = await OvnClient.connect({ nb: endpoint }, { timeoutMs: 120_000 });
  const ms = performance.now() - t0;
  const cpuMs = cpuSince(c0);
  await new Promise((r) => setTimeout(r, 5));
  h.disable();
  const g = gaps();
  const rows = ovn.nb.table('Logical_Switch_Port').size;
  await ovn.close();
  return { ms, stallMs: h.max / 1e6, ...g, cpuMs, rows };
}

function runChild(kind: 'floor' | 'ours', endpoint: string): Promise<SyncFigures> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), 'child', kind, endpoint],
      { maxBuffer: 1 << 20, timeout: 300_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${kind} child failed: ${stderr || err.message}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop() as string) as SyncFigures);
      },
    );
  });
}

async function initialSync(): Promise<void> {
  const server = await startOvsdbServer({ schema: OVN_NB_SCHEMA });
  try {
    const raw = await Raw.open(server.unixEndpoint);
    const LS = 100;
    const sws = (await raw.transact(
      Array.from({ length: LS }, (_, i) => ({
        op: 'insert',
        table: 'Logical_Switch',
        row: { name: `ocnt-sync-ls${i}` },
      })),
    )) as { uuid: [string, string] }[];
    for (let from = 0; from < SYNC_N; from += 500) {
      const ops: unknown[] = [];
      for (let i = from; i < Math.min(SYNC_N, from + 500); i++) {
        const { name, addr } = port('ocnt-sync-', i);
        ops.push(
          {
            op: 'insert',
            table: 'Logical_Switch_Port',
            row: { name, addresses: addr, port_security: addr, external_ids: ['map', [['owner', 'bench']]] },
            'uuid-name': `p${i}`,
          },
          {
            op: 'mutate',
            table: 'Logical_Switch',
            where: [['_uuid', '==', ['uuid', (sws[i % LS] as { uuid: [string, string] }).uuid[1]]]],
            mutations: [['ports', 'insert', ['named-uuid', `p${i}`]]],
          },
        );
      }
      await raw.transact(ops);
    }
    raw.close();
    const floor: SyncFigures[] = [];
    const ours: SyncFigures[] = [];
    for (let r = 0; r < 5; r++)
      for (const k of shuffle(['floor', 'ours'] as const))
        (k === 'floor' ? floor : ours).push(await runChild(k, server.unixEndpoint));
    const { stdout } = await run(
      SYSTEM_PYTHON,
      [join(HERE, 'ovsdbapp-lsp.py'), '--sync', server.unixEndpoint],
      { timeoutMs: 300_000 },
    );
    const py = JSON.parse(stdout.trim()) as { ms: number; rows: number };
    const f = median(floor.map((x) => x.ms));
    const o = median(ours.map((x) => x.ms));
    console.log(
      `\n### NB initial sync: ${SYNC_N} ports on ${LS} switches (every NB table, all columns; medians of 5 fresh processes)\n`,
    );
    const stalls = (xs: SyncFigures[]) =>
      `${fmt(median(xs.map((x) => x.stallMs)))} ms (max ${fmt(Math.max(...xs.map((x) => x.stallMs)))}) | ${xs.map((x) => `${fmt(x.gapMs)}/${fmt(x.gapCpuMs, 1)}`).join(', ')} ms`;
    console.log(
      '| client | time (each run) | CPU time, median | longest event-loop stall (monitorEventLoopDelay max) | longest 1 ms-timer gap / CPU inside it, each run | rows |\n|---|---|---|---|---|---|',
    );
    console.log(
      `| raw floor (one monitor_cond_since reply, parsed once) | ${fmt(f)} ms (${floor.map((x) => fmt(x.ms)).join(', ')}) | ${fmt(median(floor.map((x) => x.cpuMs)))} ms | ${stalls(floor)} | ${floor[0]?.rows} |`,
    );
    console.log(
      `| OvnClient (session, _Server, schema, monitor, typed rows) | ${fmt(o)} ms (${ours.map((x) => fmt(x.ms)).join(', ')}) | ${fmt(median(ours.map((x) => x.cpuMs)))} ms | ${stalls(ours)} | ${ours[0]?.rows} |`,
    );
    console.log(`| ovsdbapp (one run) | ${fmt(py.ms)} ms | | | | ${py.rows} |`);
    console.log(`\nours/floor ${fmt(o / f, 2)}×; ours/ovsdbapp ${fmt(o / py.ms, 2)}×`);
  } finally {
    await server.stop();
  }
}

// ---- main --------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (process.argv[2] === 'child') {
    const kind = process.argv[3];
    const ep = process.argv[4] as string;
    console.log(JSON.stringify(kind === 'floor' ? await childFloor(ep) : await childOurs(ep)));
    return;
  }
  console.log(
    `# LSP creation benchmark (N=${N}, ovsdbapp N=${PY_N}, ovn-nbctl N=${NBCTL_N}, daemon N=${DAEMON_N})`,
  );
  if (ONLY === undefined || ONLY === 'rates') {
    const server = await startOvsdbServer({ schema: OVN_NB_SCHEMA });
    try {
      await run('ovn-nbctl', [`--db=${server.unixEndpoint}`, 'init']);
      await throughput('standalone', [server.unixEndpoint], server.unixEndpoint);
    } finally {
      await server.stop();
    }
  }
  if (ONLY === undefined || ONLY === 'rates') {
    const cluster = await startCluster({ schema: OVN_NB_SCHEMA, size: 3 });
    try {
      await run('ovn-nbctl', [`--db=${cluster.endpoints.join(',')}`, 'init']);
      const leader = cluster.endpoints[await cluster.leader()] as string;
      await throughput('clustered (3 members)', cluster.endpoints, leader);
    } finally {
      await cluster.stop();
    }
  }
  if (ONLY === undefined || ONLY === 'up') await portUp();
  if (ONLY === undefined || ONLY === 'sync') await initialSync();
}

await main();
