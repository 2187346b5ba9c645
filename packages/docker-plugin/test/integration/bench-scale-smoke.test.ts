// Keeps bench/scale.ts from rotting: runs it in smoke mode (4 networks, 40 endpoints, a 400-address pool),
// this tree's build as both "old" and "new" so the comparison path runs too, and checks that it printed
// every metric row with numbers for both builds, and that it left nothing behind — namespaces, sandbox
// directories, processes, links with its prefixes — also when interrupted with Ctrl-C in the middle.
// Needs root, ovsdb-server and ovs-vswitchd (the bench starts private sandboxes in namespaces of its own).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@ovs-container-network/testkit';
import t from 'tap';
import { BIN, PKG_ROOT } from '../helpers/plugin.js';

const SCRIPT = join(PKG_ROOT, 'bench/scale.ts');

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function bench(args: string[], onStderr?: (text: string, child: ChildProcess) => void): Promise<Finished> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    cwd: PKG_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr?.(stderr, child);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

/** The resources the bench announced (`netns …, sandbox …, prefix …, bridge …`). */
function announced(stdout: string) {
  return [...stdout.matchAll(/netns (\S+), sandbox (\S+), prefix (\S+), bridge (\S+)/g)].map((m) => ({
    ns: m[1] ?? '',
    dir: m[2] ?? '',
    prefix: m[3] ?? '',
    bridge: m[4] ?? '',
  }));
}

/** Whatever of those still exists, checked without the bench's help. */
async function leftBehind(res: ReturnType<typeof announced>): Promise<string[]> {
  const out: string[] = [];
  const netns = (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]);
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '');
  for (const r of res) {
    if (netns.includes(r.ns)) out.push(`netns ${r.ns}`);
    if (existsSync(r.dir)) out.push(`dir ${r.dir}`);
    const procs = await run('pgrep', ['-f', r.dir], { allowFail: true });
    if (procs.stdout.trim()) out.push(`processes of ${r.dir}: ${procs.stdout.trim()}`);
    for (const l of links) if (l.startsWith(r.prefix) || l === r.bridge) out.push(`host link ${l}`);
  }
  return out;
}

t.test('smoke run: every metric row, numbers for old and new, nothing left', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ocnt-scale-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'out.json');
  const r = await bench(['--smoke', '--old', BIN, '--new', BIN, '--json', json]);
  t.equal(r.code, 0, `exit 0\n${r.stdout}\n${r.stderr.slice(-3000)}`);
  const res = announced(r.stdout);
  t.equal(res.length, 2, 'two builds announced their namespaces and sandboxes');

  const out = JSON.parse(readFileSync(json, 'utf8')) as {
    rows: { metric: string; old?: number; new?: number; target?: string }[];
  };
  const metrics = out.rows.map((row) => row.metric);
  for (const m of [
    'CreateEndpoint+Join p50, sequential',
    'CreateEndpoint+Join p99, sequential',
    'CreateEndpoint+Join p50, 20 concurrent',
    'CreateEndpoint+Join p99, 20 concurrent',
    'DeleteEndpoint p50, sequential',
    'DeleteEndpoint p99, sequential',
    'DeleteEndpoint p50, 20 concurrent',
    'DeleteEndpoint p99, 20 concurrent',
    'RequestAddress p50 at 100',
    'RequestAddress p50 at 400',
    'RequestAddress at 400 / at 100',
    'plugin CPU per CreateEndpoint+Join, sequential',
    'plugin CPU per Leave+DeleteEndpoint, 20 concurrent',
    'plugin CPU per RequestAddress+ReleaseAddress at 400',
  ]) {
    t.ok(metrics.includes(m), `row ${m}`);
  }
  for (const row of out.rows) {
    // CPU per call is counted in clock ticks (10 ms) over the phase: a smoke phase may round to 0.
    const cpu = row.metric.includes(' CPU per ');
    for (const build of ['old', 'new'] as const) {
      const v = row[build];
      t.ok(
        typeof v === 'number' && Number.isFinite(v) && (v > 0 || (cpu && v === 0)),
        `${row.metric}: ${build} = ${v}`,
      );
    }
    // The printed table has the row with both figures, the ratio and, for a target, met/missed for each.
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${row.metric} `));
    t.ok(line, `table prints ${row.metric}`);
    const cells = (line ?? '')
      .slice(row.metric.length)
      .trim()
      .split(/\s{2,}/);
    t.match(cells[0], /^\d+\.\d+( ms| s|×)$/, `${row.metric}: old cell ${cells[0]}`);
    t.match(cells[1], /^\d+\.\d+( ms| s|×)$/, `${row.metric}: new cell ${cells[1]}`);
    t.match(cells[2], cpu ? /^(\d+\.\d+|—)$/ : /^\d+\.\d+$/, `${row.metric}: new/old ${cells[2]}`);
    if (row.target)
      t.match(cells.slice(-2).join(' '), /^(met|missed) (met|missed)$/, `${row.metric}: met/missed`);
  }
  t.match(r.stdout, /load average \(1\/5\/15 min\): start \d/, 'the load average is printed');
  t.match(r.stdout, /cleanup: ok, nothing left/);
  t.same(await leftBehind(res), [], 'no namespace, directory, process or link is left');
});

t.test('Ctrl-C in the middle of populating: everything is still removed', async (t) => {
  let interrupted = false;
  const r = await bench(
    ['--smoke', '--only', 'new', '--endpoints', '2000', '--networks', '8'],
    (text, child) => {
      // Once the networks exist the endpoints are being created: interrupt then.
      if (!interrupted && /new: 8 networks in/.test(text)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    },
  );
  t.ok(interrupted, `the bench reached the endpoints\n${r.stderr.slice(-2000)}`);
  t.equal(r.code, 130, `exit 130 after SIGINT\n${r.stderr.slice(-2000)}`);
  const res = announced(r.stdout);
  t.equal(res.length, 1, 'one build announced');
  t.notMatch(r.stderr, /cleanup problem/);
  t.same(await leftBehind(res), [], 'no namespace, directory, process or link is left');
});
