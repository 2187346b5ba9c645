// Benchmark: initial sync of a database holding N Port + N Interface rows (all columns, with external_ids)
// into the replica, side by side in the same run with the Python IDL (python3-openvswitch, timing itself in
// a subprocess) and with a raw floor (one monitor_cond_since reply read from a plain socket and parsed once).
// Each measurement runs in a fresh child process so that time and memory are not polluted by the others.
// Also: the longest event-loop stall during our sync, and the throughput of applying modify updates (end to
// end through ovsdb-server, and the update engine alone).
//
// Run: pnpm --filter @ovs-container-network/ovsdb bench:sync   (N via OCN_BENCH_SYNC_N, default 10000)
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SYSTEM_PYTHON, startOvsdbServer, VSWITCH_SCHEMA } from '@ovs-container-network/testkit';
import { OvsdbClient } from '../src/client.js';
import { Replica } from '../src/replica/replica.js';
import { type RowChange, RowStore, TableStore } from '../src/replica/store.js';
import { parseSchema } from '../src/schema.js';
import { OvsdbSession } from '../src/session/session.js';

const N = Number(process.env.OCN_BENCH_SYNC_N ?? 10_000);
const RUNS = Number(process.env.OCN_BENCH_SYNC_RUNS ?? 5);
const PY_RUNS = Number(process.env.OCN_BENCH_SYNC_PY_RUNS ?? 2);
const HERE = dirname(fileURLToPath(import.meta.url));
const ZERO = '00000000-0000-0000-0000-000000000000';

interface SyncFigures {
  ms: number;
  rssGrowth: number;
  heapGrowth?: number;
  stallMs?: number;
  /** The most CPU time the process used between two ticks of a 1 ms interval (ms). */
  busyMs?: number;
  rows: number;
}

/**
 * A setInterval-lag probe that also reads the process's CPU time at every tick. On this shared 2-core
 * machine a long gap between two ticks is often time the process was not scheduled at all; the CPU time
 * used within the gap is the part of it that is our own work (JS, GC, parsing).
 */
function lagProbe(): { stop(): { wallMs: number; busyMs: number } } {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let wallMs = 0;
  let busyMs = 0;
  const iv = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    wallMs = Math.max(wallMs, now - last);
    busyMs = Math.max(busyMs, (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000);
    last = now;
    lastCpu = cpu;
  }, 1);
  return {
    stop() {
      clearInterval(iv);
      return { wallMs, busyMs };
    },
  };
}

const gc = (globalThis as { gc?: () => void }).gc;
function settle(): void {
  if (gc) {
    gc();
    gc();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

// ---- children ----------------------------------------------------------------------------------------------

/**
 * Measures one sync in this (fresh) process: time until `sync` resolves, the longest event-loop stall
 * (histogram and lag probe), and the memory growth while its result is still held.
 */
async function measured(
  sync: () => Promise<{ rows(): number; close(): Promise<void> | void }>,
): Promise<SyncFigures> {
  settle();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const probe = lagProbe();
  const t0 = performance.now();
  const held = await sync();
  const ms = performance.now() - t0;
  await tick(); // let the histogram's timer fire after the stall, or the stall is not recorded
  h.disable();
  const { busyMs } = probe.stop();
  const rows = held.rows();
  settle();
  const mem = process.memoryUsage();
  const out = {
    ms,
    rssGrowth: mem.rss - rss0,
    heapGrowth: mem.heapUsed - heap0,
    stallMs: h.max / 1e6,
    busyMs,
    rows,
  };
  await held.close();
  return out;
}

function childFloor(endpoint: string): Promise<SyncFigures> {
  return measured(async () => {
    const sock = netConnect(endpoint.slice('unix:'.length));
    const chunks: Buffer[] = [];
    const MARK = '"ocn-floor-echo"';
    const full = await new Promise<string>((resolve, reject) => {
      sock.on('error', reject);
      sock.on('data', (c: Buffer) => {
        chunks.push(c);
        // The echo sent after the monitor request is answered after the monitor reply (replies are in order).
        const tail = c.length >= 64 ? c.subarray(c.length - 64).toString('latin1') : c.toString('latin1');
        if (tail.includes(MARK)) resolve(Buffer.concat(chunks).toString('utf8'));
      });
      sock.write(
        JSON.stringify({
          id: 1,
          method: 'monitor_cond_since',
          params: ['Open_vSwitch', 'floor', { Port: {}, Interface: {} }, ZERO],
        }) + JSON.stringify({ id: 'ocn-floor-echo', method: 'echo', params: [] }),
      );
    });
    chunks.length = 0; // only the parsed reply is held while memory is measured
    const end = full.lastIndexOf('{', full.lastIndexOf(MARK));
    const reply = JSON.parse(full.slice(0, end)) as { result: [boolean, string, Record<string, object>] };
    return {
      rows: () => {
        const updates = reply.result[2];
        return Object.keys(updates.Port ?? {}).length + Object.keys(updates.Interface ?? {}).length;
      },
      close: () => {
        sock.destroy();
      },
    };
  });
}

function childOurs(endpoint: string): Promise<SyncFigures> {
  return measured(async () => {
    const session = OvsdbSession.start({ remotes: endpoint, database: 'Open_vSwitch' });
    const replica = Replica.start(session, { tables: { Port: {}, Interface: {} } });
    await replica.ready;
    return {
      rows: () => replica.table('Port').size + replica.table('Interface').size,
      close: async () => {
        await replica.close();
        await session.close();
      },
    };
  });
}

// ---- parent ------------------------------------------------------------------------------------------------

function runChild(kind: 'floor' | 'ours', endpoint: string): Promise<SyncFigures> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), 'child', kind, endpoint],
      { maxBuffer: 1 << 20, timeout: 300_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${kind} child failed: ${stderr || err.message}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop() as string) as SyncFigures);
      },
    );
  });
}

function runPython(endpoint: string): Promise<SyncFigures> {
  return new Promise((resolve, reject) => {
    execFile(
      SYSTEM_PYTHON,
      [join(HERE, 'sync-python-idl.py'), endpoint, String(N)],
      { maxBuffer: 1 << 20, timeout: 300_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`python IDL failed: ${stderr || err.message}`));
        const r = JSON.parse(stdout.trim()) as {
          ms: number;
          rss_growth_bytes: number;
          ports: number;
          interfaces: number;
        };
        resolve({ ms: r.ms, rssGrowth: r.rss_growth_bytes, rows: r.ports + r.interfaces });
      },
    );
  });
}

async function fill(client: OvsdbClient): Promise<void> {
  const ops: unknown[] = [];
  const ports: unknown[] = [];
  for (let i = 0; i < N; i++) {
    const mac = `02:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:01`;
    ops.push({
      op: 'insert',
      table: 'Interface',
      'uuid-name': `i${i}`,
      row: {
        name: `ocntb${i}`,
        type: 'internal',
        external_ids: [
          'map',
          [
            ['iface-id', `ep-${i.toString(16).padStart(8, '0')}`],
            ['attached-mac', mac],
            ['container_id', `c${i.toString(16).padStart(12, '0')}`],
            ['iface-status', 'active'],
          ],
        ],
      },
    });
    ops.push({
      op: 'insert',
      table: 'Port',
      'uuid-name': `p${i}`,
      row: {
        name: `ocntb${i}`,
        interfaces: ['named-uuid', `i${i}`],
        tag: 1 + (i % 4094),
        external_ids: [
          'map',
          [
            ['network', `net-${i % 16}`],
            ['endpoint', `ep-${i.toString(16).padStart(8, '0')}`],
          ],
        ],
      },
    });
    ports.push(['named-uuid', `p${i}`]);
  }
  ops.push({
    op: 'insert',
    table: 'Bridge',
    'uuid-name': 'br',
    row: { name: 'ocntbench', ports: ['set', ports] },
  });
  ops.push({ op: 'insert', table: 'Open_vSwitch', row: { bridges: ['named-uuid', 'br'] } });
  const res = await client.transact('Open_vSwitch', ops, { timeoutMs: 300_000 });
  const bad = res.find((r) => r && typeof r === 'object' && 'error' in r);
  if (bad) throw new Error(`fill failed: ${JSON.stringify(bad)}`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
const perRow = (b: number, rows: number) => `${(b / rows).toFixed(0)} B/row`;

async function modifyEndToEnd(endpoint: string): Promise<number[]> {
  const session = OvsdbSession.start({ remotes: endpoint, database: 'Open_vSwitch' });
  const replica = Replica.start(session, { tables: { Port: {}, Interface: {} } });
  await replica.ready;
  const rates: number[] = [];
  for (let round = 0; round < 3; round++) {
    const before = replica.stats.changes;
    const t0 = performance.now();
    // One transaction modifying every Interface: a map key added/changed (update2 carries the diff).
    await replica.transact('Open_vSwitch', [
      {
        op: 'mutate',
        table: 'Interface',
        where: [],
        mutations: [['external_ids', 'insert', ['map', [[`round${round}`, 'x']]]]],
      },
    ]);
    const ms = performance.now() - t0;
    const applied = replica.stats.changes - before;
    if (applied !== N) throw new Error(`expected ${N} modifies, got ${applied}`);
    rates.push((applied / ms) * 1000);
  }
  await replica.close();
  await session.close();
  return rates;
}

function modifyEngineOnly(): number[] {
  const schema = parseSchema(JSON.parse(readFileSync(VSWITCH_SCHEMA, 'utf8')));
  const store = new RowStore();
  store.addTable(new TableStore(schema.tables.get('Interface')!, undefined));
  const uuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  const initial: Record<string, unknown> = {};
  for (let i = 0; i < N; i++)
    initial[uuid(i)] = {
      initial: {
        name: `if${i}`,
        external_ids: [
          'map',
          [
            ['iface-id', `x${i}`],
            ['attached-mac', 'm'],
          ],
        ],
        mtu: 1500,
      },
    };
  store.applyUpdate2({ Interface: initial }, []);
  const rates: number[] = [];
  for (let round = 0; round < 7; round++) {
    const mod: Record<string, unknown> = {};
    for (let i = 0; i < N; i++)
      mod[uuid(i)] = { modify: { external_ids: ['map', [[`k${round}`, 'v']]], mtu: 1400 + round } };
    const out: RowChange[] = [];
    const t0 = performance.now();
    store.applyUpdate2({ Interface: mod }, out);
    const ms = performance.now() - t0;
    if (out.length !== N) throw new Error('engine applied the wrong number of modifies');
    rates.push((N / ms) * 1000);
  }
  return rates;
}

async function main(): Promise<void> {
  console.log(
    `# initial sync of ${N} Port + ${N} Interface rows (all columns, external_ids), vswitch schema`,
  );
  const server = await startOvsdbServer();
  try {
    const filler = await OvsdbClient.connect(server.unixEndpoint);
    const tf = performance.now();
    await fill(filler);
    await filler.close();
    console.log(`filled in one transaction: ${(performance.now() - tf).toFixed(0)} ms`);
    const ep = server.unixEndpoint;
    const floor: SyncFigures[] = [];
    const ours: SyncFigures[] = [];
    const py: SyncFigures[] = [];
    // Side by side: the floor and the replica alternate, in a fresh random order each round.
    for (let r = 0; r < RUNS; r++) {
      const pair: ('floor' | 'ours')[] = Math.random() < 0.5 ? ['floor', 'ours'] : ['ours', 'floor'];
      for (const kind of pair) (kind === 'floor' ? floor : ours).push(await runChild(kind, ep));
      if (r < PY_RUNS) py.push(await runPython(ep));
    }
    for (const [name, xs] of [
      ['raw floor', floor],
      ['replica', ours],
      ['python IDL', py],
    ] as const) {
      for (const x of xs)
        if (x.rows !== 2 * N) throw new Error(`${name} synced ${x.rows} rows, expected ${2 * N}`);
    }
    const rows = 2 * N;
    const f = { ms: median(floor.map((x) => x.ms)), rss: median(floor.map((x) => x.rssGrowth)) };
    const o = {
      ms: median(ours.map((x) => x.ms)),
      rss: median(ours.map((x) => x.rssGrowth)),
      heap: median(ours.map((x) => x.heapGrowth ?? 0)),
      stall: median(ours.map((x) => x.stallMs ?? 0)),
    };
    const p = { ms: median(py.map((x) => x.ms)), rss: median(py.map((x) => x.rssGrowth)) };
    const fstall = median(floor.map((x) => x.stallMs ?? 0));
    console.log(
      `(medians: ${RUNS} runs of the floor and the replica, ${PY_RUNS} of the Python IDL; each in a fresh process)`,
    );
    console.log(
      `raw floor   : ${f.ms.toFixed(0)} ms, RSS +${mb(f.rss)} (${perRow(f.rss, rows)}), stall ${fstall.toFixed(0)} ms`,
    );
    console.log(
      `replica     : ${o.ms.toFixed(0)} ms, RSS +${mb(o.rss)} (${perRow(o.rss, rows)}), heap +${mb(o.heap)} (${perRow(o.heap, rows)}), longest event-loop stall ${o.stall.toFixed(0)} ms`,
    );
    console.log(`python IDL  : ${p.ms.toFixed(0)} ms, RSS +${mb(p.rss)} (${perRow(p.rss, rows)})`);
    const spread = (xs: SyncFigures[], k: 'ms' | 'stallMs' | 'busyMs') =>
      xs.map((x) => (x[k] ?? 0).toFixed(0)).join(' ');
    console.log(`runs (ms)   : floor ${spread(floor, 'ms')}; replica ${spread(ours, 'ms')}`);
    console.log(`stalls (ms) : floor ${spread(floor, 'stallMs')}; replica ${spread(ours, 'stallMs')}`);
    console.log(
      `CPU within the longest gap (ms, our own work): floor ${spread(floor, 'busyMs')}; replica ${spread(ours, 'busyMs')}; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    const met = (ok: boolean) => (ok ? 'MET' : 'MISSED');
    console.log(
      `ratios      : sync time replica/floor ${(o.ms / f.ms).toFixed(2)}x (target ≤ 1.3x: ${met(o.ms / f.ms <= 1.3)}), replica/python ${(o.ms / p.ms).toFixed(2)}x; memory per row replica/python ${(o.rss / p.rss).toFixed(2)} (target ≤ 0.5: ${met(o.rss / p.rss <= 0.5)}); longest stall ${o.stall.toFixed(0)} ms (median of runs; target ≤ 25 ms: ${met(o.stall <= 25)})`,
    );
    const e2e = await modifyEndToEnd(ep);
    console.log(
      `modify, end to end (one transaction mutating ${N} Interface.external_ids, until applied in the replica): median ${median(e2e).toFixed(0)} rows/s`,
    );
    const engine = modifyEngineOnly();
    console.log(
      `modify, update engine alone (update2 map diff + scalar): median ${median(engine).toFixed(0)} rows/s`,
    );
  } finally {
    await server.stop();
  }
}

if (process.argv[2] === 'child') {
  const kind = process.argv[3];
  const endpoint = process.argv[4] as string;
  const r = kind === 'floor' ? await childFloor(endpoint) : await childOurs(endpoint);
  console.log(JSON.stringify(r));
  process.exit(0);
} else {
  await main();
}
