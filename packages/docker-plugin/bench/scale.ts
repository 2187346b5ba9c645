// The plugin at scale, old code against new in one run: each build is started as the real binary on its own
// unix socket, against a private OVS sandbox (ovsdb-server + ovs-vswitchd, userspace datapath) inside a
// network namespace of its own — only one netdev vswitchd fits per namespace, and the shared sandbox has the
// host's — and driven over HTTP exactly as dockerd drives a remote driver (no dockerd involved).
//
// With N networks and E endpoints present (default 200 and 5,000, created through the API), it measures
//   CreateEndpoint+Join   p50/p99, sequential and C concurrent (C = 20)
//   DeleteEndpoint        p50/p99, sequential and C concurrent
//   RequestAddress        p50 on a /16 pool holding 100, 1,000 and 10,000 addresses (allocated through the API)
// and prints old, new, new/old and the issue's targets (met/missed), with the load average.
//
//   pnpm --filter @ovs-container-network/docker-plugin bench:scale -- --old /path/to/old/dist/bin/ovs-container-network.js
//   pnpm --filter @ovs-container-network/docker-plugin bench:scale-smoke        # seconds: 4 networks, 40 endpoints
//
// Flags: --old PATH, --new PATH (default this tree's build; either may be left out with --only new|old),
// --networks, --endpoints, --samples, --concurrency, --fill-concurrency, --addresses 100,1000,10000,
// --old-addresses 100,1000 (the old build stops there: its fill is quadratic), --fill-budget SECONDS (per
// build, default 900: a fill that takes longer stops, and the levels above it have no figures), --ipam-samples,
// --ipam-warmup N (unmeasured RequestAddress+ReleaseAddress pairs before the first level, default 1000), --ipam docker|plugin (who hands out the endpoints' addresses: Docker's default IPAM, as
// with `docker network create -d ovs-container-network`, or the plugin's own IPAM, as with `--ipam-driver`),
// --order interleaved|sequential, --json FILE, --cpu-prof DIR (each plugin writes a V8 CPU profile there),
// --isolate true|false (the networks' `isolate` option, default false: with isolation, N networks with
// gateways need N·(N−1) policy-routing rules — 39,800 for 200 — and CreateNetwork then takes ~1 s each,
// which is not what this bench is about; the endpoint and IPAM calls never touch those rules).
//
// The reconciler runs with a long interval (--reconcile-interval, default 3600 s) and the orphan grace is a
// day: no dockerd moves a container end into a sandbox here, so every endpoint would look like an orphan.
// Needs root, ovsdb-server and ovs-vswitchd. Everything it creates (namespaces, /run/ocnt-bench-* dirs,
// daemons, the plugins, veths, bridges) is removed at the end, also on failure and on Ctrl-C; the veths are
// first deleted through DeleteEndpoint and counted (a leftover fails the run), then the namespace goes.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { run, SCRIPTS, sleep, uniqueName, waitFor } from '@ovs-container-network/testkit';

const PKG_ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const THIS_BUILD = join(PKG_ROOT, 'dist/bin/ovs-container-network.js');
const SANDBOX = join(SCRIPTS, 'ovs-sandbox.sh');
/** Clock ticks per second of /proc/PID/stat (USER_HZ: 100 on every Linux architecture Node runs on). */
const CLK_TCK = 100;

const { values: flags } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string' },
    only: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    networks: { type: 'string' },
    endpoints: { type: 'string' },
    samples: { type: 'string' },
    concurrency: { type: 'string' },
    'fill-concurrency': { type: 'string' },
    addresses: { type: 'string' },
    'old-addresses': { type: 'string' },
    'fill-budget': { type: 'string' },
    'ipam-samples': { type: 'string' },
    'ipam-warmup': { type: 'string' },
    ipam: { type: 'string', default: 'docker' },
    order: { type: 'string', default: 'interleaved' },
    'reconcile-interval': { type: 'string', default: '3600' },
    isolate: { type: 'string', default: 'false' },
    json: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});

function intFlag(name: string, value: string | undefined, dflt: number, min = 1): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} ${value}: expected an integer ≥ ${min}`);
  return n;
}
const smoke = flags.smoke === true;
const NETWORKS = intFlag('networks', flags.networks, smoke ? 4 : 200);
const ENDPOINTS = intFlag('endpoints', flags.endpoints, smoke ? 40 : 5000, 0);
const SAMPLES = intFlag('samples', flags.samples, smoke ? 20 : 200);
const CONC = intFlag('concurrency', flags.concurrency, 20);
const FILL_CONC = intFlag('fill-concurrency', flags['fill-concurrency'], 8);
/** Unmeasured RequestAddress+ReleaseAddress pairs before the first level (V8 warm-up). */
const IPAM_WARMUP = intFlag('ipam-warmup', flags['ipam-warmup'], smoke ? 10 : 1000, 0);
const IPAM_SAMPLES = intFlag('ipam-samples', flags['ipam-samples'], smoke ? 10 : 50);
const LEVELS = (flags.addresses ?? (smoke ? '100,400' : '100,1000,10000')).split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 60_000) throw new Error(`--addresses ${s}: expected 1–60000`);
  return n;
});
if (LEVELS.some((n, i) => i > 0 && n <= (LEVELS[i - 1] ?? 0))) throw new Error('--addresses must increase');
// The old code's fill is quadratic (its whole IPAM state is rewritten per call): on a loaded machine the
// fill to 10,000 takes longer than a run can afford, so the old build may stop at fewer levels.
const OLD_LEVELS = flags['old-addresses']?.split(',').map(Number) ?? LEVELS;
for (const l of OLD_LEVELS)
  if (!LEVELS.includes(l))
    throw new Error(`--old-addresses ${l}: must be one of --addresses ${LEVELS.join(',')}`);
const FILL_BUDGET_MS = intFlag('fill-budget', flags['fill-budget'], 900) * 1000;
const IPAM_MODE = flags.ipam;
if (IPAM_MODE !== 'docker' && IPAM_MODE !== 'plugin') throw new Error(`--ipam ${IPAM_MODE}: docker|plugin`);
const ORDER = flags.order;
if (ORDER !== 'interleaved' && ORDER !== 'sequential')
  throw new Error(`--order ${ORDER}: interleaved|sequential`);
if (NETWORKS > 250 * 256) throw new Error('--networks: at most 64000');
const ISOLATE = flags.isolate;
if (ISOLATE !== 'true' && ISOLATE !== 'false') throw new Error(`--isolate ${ISOLATE}: true|false`);
const RECONCILE = intFlag('reconcile-interval', flags['reconcile-interval'], 3600);

const builds: { label: 'old' | 'new'; bin: string }[] = [];
if (flags.old !== undefined && flags.only !== 'new') builds.push({ label: 'old', bin: resolve(flags.old) });
if (flags.only !== 'old') builds.push({ label: 'new', bin: resolve(flags.new ?? THIS_BUILD) });
if (builds.length === 0) throw new Error('nothing to run: --only old needs --old PATH');
for (const b of builds)
  if (!existsSync(b.bin)) throw new Error(`--${b.label} ${b.bin}: no such file (build it)`);

// ---- statistics and output --------------------------------------------------------------------------------

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
function pct(xs: readonly number[], p: number): number {
  const s = sorted(xs);
  if (s.length === 0) return Number.NaN;
  if (p === 50) {
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  }
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const log = (msg: string) =>
  process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---- the Docker plugin API, as dockerd calls it -----------------------------------------------------------

class PluginError extends Error {}

/** One keep-alive agent per plugin, as moby's plugin client reuses its connections. */
function caller(socketPath: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const call = (path: string, body: unknown): Promise<Record<string, unknown>> =>
    new Promise((ok, fail) => {
      // POST, Accept: the plugin API's media type, no Content-Type, Go JSON + newline (PROTOCOLS.md §3).
      const req = request(
        {
          socketPath,
          path,
          method: 'POST',
          agent,
          timeout: 120_000,
          headers: { Accept: 'application/vnd.docker.plugins.v1.2+json' },
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            data += d;
          });
          res.on('end', () => {
            let parsed: Record<string, unknown>;
            try {
              parsed = JSON.parse(data || '{}') as Record<string, unknown>;
            } catch {
              fail(new PluginError(`${path}: status ${res.statusCode}, not JSON: ${data.slice(0, 200)}`));
              return;
            }
            if (res.statusCode !== 200) fail(new PluginError(`${path}: ${String(parsed.Err ?? data)}`));
            else ok(parsed);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${path}: no answer within 120 s`)));
      req.on('error', fail);
      req.end(`${JSON.stringify(body)}\n`);
    });
  return { call, close: () => agent.destroy() };
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

interface Net {
  id: string;
  subnet: string;
  gateway: string; // ip/len
  poolId?: string;
  free: number[]; // host numbers (docker IPAM mode)
  next: number;
}
interface Endpoint {
  net: Net;
  id: string;
  address: string; // ip/len
}

// ---- one plugin under test: namespace, sandbox, process ---------------------------------------------------

class Target {
  readonly label: string;
  readonly bin: string;
  readonly ns = uniqueName('bn');
  readonly dir = `/run/ocnt-bench-${hex(4)}`;
  readonly prefix = `ocntk${'abcdefghijklmnopqrstuvwxyz'[Math.floor(Math.random() * 26)]}`;
  readonly bridge = uniqueName('bb');
  readonly name = uniqueName('bp');
  readonly socket: string;
  readonly ovsdb: string;
  readonly logs: string[] = [];
  child: ChildProcess | undefined;
  api: ReturnType<typeof caller> | undefined;
  addressSpace = 'LocalDefault';
  readonly nets: Net[] = [];
  readonly endpoints = new Map<string, Endpoint>();
  populateMs = { networks: 0, endpoints: 0 };
  #nsCreated = false;
  #sandboxStarted = false;

  constructor(label: string, bin: string) {
    this.label = label;
    this.bin = bin;
    this.socket = `${this.dir}/plugin.sock`;
    this.ovsdb = `unix:${this.dir}/db.sock`;
  }

  /**
   * CPU time (user + system, ms) the plugin, ovsdb-server and ovs-vswitchd have used so far: /proc/PID/stat
   * fields 14–15 (the plugin's includes its pool threads and the kernel work its syscalls do).
   */
  cpu(): { plugin: number; ovsdb: number; vswitchd: number } {
    const of = (pid: number | undefined) => {
      if (pid === undefined) return Number.NaN;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
      } catch {
        return Number.NaN;
      }
    };
    this.#ovsdbPid ??= Number(readFileSync(`${this.dir}/ovsdb-server.pid`, 'utf8').trim());
    this.#vswitchdPid ??= Number(readFileSync(`${this.dir}/ovs-vswitchd.pid`, 'utf8').trim());
    return { plugin: of(this.child?.pid), ovsdb: of(this.#ovsdbPid), vswitchd: of(this.#vswitchdPid) };
  }
  #ovsdbPid: number | undefined;
  #vswitchdPid: number | undefined;

  call(path: string, body: unknown) {
    if (!this.api) throw new Error(`${this.label}: plugin not running`);
    return this.api.call(path, body);
  }

  async start(): Promise<void> {
    await run('ip', ['netns', 'add', this.ns]);
    this.#nsCreated = true;
    await run('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    this.#sandboxStarted = true;
    await run('ip', ['netns', 'exec', this.ns, SANDBOX, 'start', this.dir]);
    const nodeArgs = flags['cpu-prof']
      ? ['--cpu-prof', '--cpu-prof-dir', resolve(flags['cpu-prof'], this.label)]
      : [];
    const args = [
      'netns',
      'exec',
      this.ns,
      process.execPath,
      ...nodeArgs,
      this.bin,
      '--ovsdb',
      this.ovsdb,
      '--name',
      this.name,
      '--socket',
      this.socket,
      '--datapath-type',
      'netdev',
      '--prefix',
      this.prefix,
      '--log-level',
      'warn',
      '--orphan-grace',
      '86400',
      '--reconcile-interval',
      String(RECONCILE),
      // Measure latency, not the call bound (with --isolate true, 200 networks make CreateNetwork slow).
      '--call-timeout',
      '120',
    ];
    // `ip netns exec` execs the command after setns: the child's pid is the plugin's.
    const c = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line) this.logs.push(line);
      if (this.logs.length > 200) this.logs.splice(0, this.logs.length - 200);
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    this.child = c;
    this.api = caller(this.socket);
    await waitFor(
      async () => {
        if (c.exitCode !== null)
          throw new Error(`plugin exited ${c.exitCode}: ${this.logs.slice(-10).join('\n')}`);
        if (!existsSync(this.socket)) return false;
        return this.call('/Plugin.Activate', null).then(
          () => true,
          () => false,
        );
      },
      30_000,
      `${this.label} plugin to listen on ${this.socket}`,
    );
    const spaces = await this.call('/IpamDriver.GetDefaultAddressSpaces', null);
    this.addressSpace = String(spaces.LocalDefaultAddressSpace ?? 'LocalDefault');
  }

  // ---- what dockerd sends ----

  async createNetwork(i: number): Promise<void> {
    const subnet = `10.${64 + (i >> 8)}.${i & 255}.0/24`;
    const base = subnet.slice(0, -4);
    const net: Net = { id: hex(32), subnet, gateway: `${base}1/24`, free: [], next: 2 };
    let space = 'LocalDefault';
    if (IPAM_MODE === 'plugin') {
      space = this.addressSpace;
      const pool = await this.call('/IpamDriver.RequestPool', {
        AddressSpace: space,
        Pool: subnet,
        SubPool: '',
        Options: {},
        V6: false,
      });
      net.poolId = String(pool.PoolID);
      const gw = await this.call('/IpamDriver.RequestAddress', {
        PoolID: net.poolId,
        Address: '',
        Options: { RequestAddressType: 'com.docker.network.gateway' },
      });
      net.gateway = String(gw.Address);
    }
    await this.call('/NetworkDriver.CreateNetwork', {
      NetworkID: net.id,
      Options: {
        'com.docker.network.enable_ipv6': false,
        'com.docker.network.generic': { bridge: this.bridge, isolate: ISOLATE },
      },
      IPv4Data: [{ AddressSpace: space, Pool: subnet, Gateway: net.gateway, AuxAddresses: null }],
      IPv6Data: [],
    });
    this.nets[i] = net;
  }

  /** The address Docker's IPAM (or the plugin's) gives the next endpoint; untimed. */
  async #address(net: Net): Promise<string> {
    if (net.poolId !== undefined) {
      const r = await this.call('/IpamDriver.RequestAddress', {
        PoolID: net.poolId,
        Address: '',
        Options: null,
      });
      return String(r.Address);
    }
    const host = net.free.pop() ?? net.next++;
    if (host > 254) throw new Error(`network ${net.subnet} is full (more than 253 endpoints)`);
    return `${net.subnet.slice(0, -4)}${host}/24`;
  }

  /** RequestAddress (untimed), then CreateEndpoint + Join, timed; returns ms. */
  async createEndpoint(net: Net): Promise<number> {
    const ep: Endpoint = { net, id: hex(32), address: await this.#address(net) };
    const t0 = performance.now();
    const created = await this.call('/NetworkDriver.CreateEndpoint', {
      NetworkID: net.id,
      EndpointID: ep.id,
      Interface: { Address: ep.address, AddressIPv6: '', MacAddress: '' },
      Options: { 'com.docker.network.endpoint.exposedports': null, 'com.docker.network.portmap': null },
    });
    const joined = await this.call('/NetworkDriver.Join', {
      NetworkID: net.id,
      EndpointID: ep.id,
      SandboxKey: `/var/run/docker/netns/${hex(6)}`,
      Options: { 'com.docker.network.endpoint.exposedports': null, 'com.docker.network.portmap': null },
    });
    const ms = performance.now() - t0;
    const iface = created.Interface as { MacAddress?: unknown } | undefined;
    const src = (joined.InterfaceName as { SrcName?: unknown } | undefined)?.SrcName;
    if (typeof iface?.MacAddress !== 'string' || typeof src !== 'string' || !src.startsWith(this.prefix)) {
      throw new Error(
        `${this.label}: unexpected replies ${JSON.stringify(created)} ${JSON.stringify(joined)}`,
      );
    }
    this.endpoints.set(ep.id, ep);
    return ms;
  }

  /** Leave (untimed), DeleteEndpoint (timed), then the address goes back; returns ms. */
  async deleteEndpoint(ep: Endpoint): Promise<number> {
    const ref = { NetworkID: ep.net.id, EndpointID: ep.id };
    await this.call('/NetworkDriver.Leave', ref);
    const t0 = performance.now();
    await this.call('/NetworkDriver.DeleteEndpoint', ref);
    const ms = performance.now() - t0;
    this.endpoints.delete(ep.id);
    const bare = ep.address.replace(/\/\d+$/, '');
    if (ep.net.poolId !== undefined) {
      await this.call('/IpamDriver.ReleaseAddress', { PoolID: ep.net.poolId, Address: bare });
    } else {
      ep.net.free.push(Number(bare.split('.')[3]));
    }
    return ms;
  }

  async deleteNetwork(net: Net): Promise<void> {
    await this.call('/NetworkDriver.DeleteNetwork', { NetworkID: net.id });
    if (net.poolId !== undefined) {
      await this.call('/IpamDriver.ReleaseAddress', {
        PoolID: net.poolId,
        Address: net.gateway.replace(/\/\d+$/, ''),
      });
      await this.call('/IpamDriver.ReleasePool', { PoolID: net.poolId });
    }
  }

  // ---- checks and teardown ----

  /** OVS ports, the bridge and kernel links (in the namespace) this plugin left. */
  async leftovers(): Promise<string[]> {
    const out: string[] = [];
    const ports = await run(
      'ovs-vsctl',
      [
        `--db=${this.ovsdb}`,
        '--timeout=20',
        '--format=csv',
        '--no-headings',
        '--columns=name',
        'list',
        'Port',
      ],
      { allowFail: true },
    );
    for (const n of ports.stdout.split('\n').map((s) => s.replaceAll('"', '').trim()))
      if (n.startsWith(this.prefix) || n === this.bridge) out.push(`port ${n}`);
    const links = await run('ip', ['-n', this.ns, '-o', 'link', 'show'], { allowFail: true });
    for (const l of links.stdout.split('\n')) {
      const n = l.split(': ')[1]?.split('@')[0] ?? '';
      if (n.startsWith(this.prefix) || n === this.bridge) out.push(`link ${n}`);
    }
    return out;
  }

  async stopPlugin(): Promise<void> {
    this.api?.close();
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    if (await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)])) return;
    c.kill('SIGKILL');
    await exited;
  }

  /** Everything this target made, whatever state it is in. Never throws; returns what it could not remove. */
  async destroy(): Promise<string[]> {
    const problems: string[] = [];
    await this.stopPlugin().catch((e: unknown) => problems.push(`plugin: ${String(e)}`));
    if (this.#sandboxStarted) {
      const r = await run('ip', ['netns', 'exec', this.ns, SANDBOX, 'stop', this.dir], { allowFail: true });
      if (r.code !== 0) problems.push(`sandbox stop: ${r.stderr.trim()}`);
    }
    // The namespace takes every veth still in it along.
    if (this.#nsCreated) await run('ip', ['netns', 'del', this.ns], { allowFail: true });
    if (existsSync(this.dir)) await run('rm', ['-rf', this.dir], { allowFail: true });
    // Independent checks: nothing of ours is left anywhere.
    if ((await run('ip', ['netns', 'list'])).stdout.split('\n').some((l) => l.split(' ')[0] === this.ns))
      problems.push(`netns ${this.ns} still exists`);
    if (existsSync(this.dir)) problems.push(`${this.dir} still exists`);
    const procs = await run('pgrep', ['-f', this.dir], { allowFail: true });
    if (procs.stdout.trim())
      problems.push(`processes still running with ${this.dir}: ${procs.stdout.trim()}`);
    const host = await run('ip', ['-o', 'link', 'show'], { allowFail: true });
    for (const l of host.stdout.split('\n')) {
      const n = l.split(': ')[1]?.split('@')[0] ?? '';
      if (n.startsWith(this.prefix) || n === this.bridge) problems.push(`host link ${n}`);
    }
    return problems;
  }
}

/** Runs `fn` over `items` with `conc` workers; the first failure stops the others and is thrown. */
async function pool<T, R>(
  items: readonly T[],
  conc: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T, i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, items.length) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---- phases -------------------------------------------------------------------------------------------------

type Result = Map<string, number>;
const results = new Map<string, Result>(); // label → metric → value
const put = (t: Target, metric: string, v: number) => {
  let r = results.get(t.label);
  if (!r) {
    r = new Map();
    results.set(t.label, r);
  }
  r.set(metric, v);
};

async function populate(t: Target): Promise<void> {
  let t0 = performance.now();
  await pool(range(NETWORKS), FILL_CONC, (i) => t.createNetwork(i));
  t.populateMs.networks = performance.now() - t0;
  put(t, 'populate: networks (s)', t.populateMs.networks / 1000);
  log(`${t.label}: ${NETWORKS} networks in ${(t.populateMs.networks / 1000).toFixed(1)} s`);
  t0 = performance.now();
  let done = 0;
  // Round-robin over the networks: concurrent calls go to different networks (Docker serialises
  // CreateEndpoint per network).
  await pool(range(ENDPOINTS), FILL_CONC, async (i) => {
    await t.createEndpoint(t.nets[i % NETWORKS]!);
    if (++done % 1000 === 0)
      log(`${t.label}: ${done} endpoints, ${((performance.now() - t0) / 1000).toFixed(1)} s, load ${load()}`);
  });
  t.populateMs.endpoints = performance.now() - t0;
  put(t, 'populate: endpoints (s)', t.populateMs.endpoints / 1000);
  log(`${t.label}: ${ENDPOINTS} endpoints in ${(t.populateMs.endpoints / 1000).toFixed(1)} s`);
}

// Raw samples (ms) per build and metric; percentiles are taken at the end, over all rounds.
const samples = new Map<string, Map<string, number[]>>();
const add = (t: Target, metric: string, xs: readonly number[]) => {
  let m = samples.get(t.label);
  if (!m) {
    m = new Map();
    samples.set(t.label, m);
  }
  m.set(metric, [...(m.get(metric) ?? []), ...xs]);
};
const got = (t: Target, metric: string) => samples.get(t.label)?.get(metric) ?? [];

// CPU per call, load-independent where latency is not: [plugin ms, ovsdb-server ms, ovs-vswitchd ms, calls]
// per build and metric.
const cpuUse = new Map<string, Map<string, [number, number, number, number]>>();
async function withCpu<T>(t: Target, metric: string, calls: number, fn: () => Promise<T>): Promise<T> {
  const a = t.cpu();
  const out = await fn();
  const b = t.cpu();
  let m = cpuUse.get(t.label);
  if (!m) {
    m = new Map();
    cpuUse.set(t.label, m);
  }
  const [p, o, v, n] = m.get(metric) ?? [0, 0, 0, 0];
  m.set(metric, [p + b.plugin - a.plugin, o + b.ovsdb - a.ovsdb, v + b.vswitchd - a.vswitchd, n + calls]);
  return out;
}
function cpuText(t: Target, metric: string): string {
  const [p, , , n] = cpuUse.get(t.label)?.get(metric) ?? [Number.NaN, 0, 0, 0];
  return `${(p / n).toFixed(1)} ms`;
}
function putCpu(t: Target, metric: string): void {
  const [p, o, v, n] = cpuUse.get(t.label)?.get(metric) ?? [Number.NaN, Number.NaN, Number.NaN, 0];
  put(t, `plugin CPU per ${metric}`, p / n);
  put(t, `ovsdb-server CPU per ${metric}`, o / n);
  put(t, `ovs-vswitchd CPU per ${metric}`, v / n);
}

/** CreateEndpoint+Join for `n` new endpoints at concurrency `conc`, then DeleteEndpoint of them at `conc`. */
/**
 * Waits (up to 60 s) until every build's ovs-vswitchd has caught up: under 10 ms of CPU in 250 ms. With 5,000
 * ports a vswitchd reconfiguration costs ~18 ms, so a phase of sequential deletes leaves seconds of work
 * queued, and the next phase would otherwise measure that backlog (of whichever build ran just before).
 */
async function settle(ts: readonly Target[]): Promise<void> {
  const until = Date.now() + 60_000;
  for (;;) {
    const a = ts.map((t) => t.cpu().vswitchd);
    await sleep(250);
    const busy = ts.some((t, i) => t.cpu().vswitchd - (a[i] as number) >= 10);
    if (!busy) return;
    if (Date.now() > until) {
      log(`ovs-vswitchd still busy after 60 s; measuring anyway (load ${load()})`);
      return;
    }
  }
}

async function attachDetach(t: Target, n: number, conc: number, tag: string): Promise<void> {
  await settle(targets);
  const created = await withCpu(t, `CreateEndpoint+Join, ${tag}`, n, () =>
    pool(range(n), conc, (i) => t.createEndpoint(t.nets[(i * 7) % NETWORKS]!)),
  );
  // The endpoints just created (a Map keeps insertion order: the last n).
  const mine = [...t.endpoints.values()].slice(-n);
  await settle(targets);
  const deleted = await withCpu(t, `Leave+DeleteEndpoint, ${tag}`, n, () =>
    pool(mine, conc, (ep) => t.deleteEndpoint(ep)),
  );
  add(t, `CreateEndpoint+Join, ${tag}`, created);
  add(t, `DeleteEndpoint, ${tag}`, deleted);
  log(
    `${t.label} ${tag}, ${n} samples: CreateEndpoint+Join p50 ${pct(created, 50).toFixed(1)} p99 ${pct(created, 99).toFixed(1)} ms; ` +
      `DeleteEndpoint p50 ${pct(deleted, 50).toFixed(1)} p99 ${pct(deleted, 99).toFixed(1)} ms; ` +
      `plugin CPU so far per call ${cpuText(t, `CreateEndpoint+Join, ${tag}`)} / ${cpuText(t, `Leave+DeleteEndpoint, ${tag}`)}; load ${load()}`,
  );
}

/**
 * Runs `fn` for every build in two rounds of half the samples each, in the order A B then B A, so that a drift
 * in the machine's load during the phase does not favour either build.
 */
async function abba(ts: readonly Target[], total: number, fn: (t: Target, n: number) => Promise<void>) {
  const first = Math.ceil(total / 2);
  for (const t of ts) await fn(t, first);
  for (const t of [...ts].reverse()) await fn(t, total - first);
}

async function endpointPhase(ts: readonly Target[], conc: number): Promise<void> {
  const tag = conc === 1 ? 'sequential' : `${conc} concurrent`;
  await abba(ts, SAMPLES, (t, n) => attachDetach(t, n, conc, tag));
  for (const t of ts) {
    for (const call of ['CreateEndpoint+Join', 'DeleteEndpoint']) {
      const xs = got(t, `${call}, ${tag}`);
      put(t, `${call} p50, ${tag}`, pct(xs, 50));
      put(t, `${call} p99, ${tag}`, pct(xs, 99));
    }
    putCpu(t, `CreateEndpoint+Join, ${tag}`);
    putCpu(t, `Leave+DeleteEndpoint, ${tag}`);
  }
}

/**
 * A /16 pool per build, filled through RequestAddress to each level; at each level IPAM_SAMPLES timed
 * RequestAddress calls, each followed by a timed ReleaseAddress, so the pool holds exactly that many
 * addresses while measured. The fills of all builds run at once (they are not measured, and the old code's
 * fill to 10,000 is quadratic: ~15 min here); the samples are taken one build at a time, A B B A.
 */
async function ipamPhase(ts: readonly Target[]): Promise<void> {
  const pools = new Map<Target, string>();
  for (const t of ts) {
    const reply = await t.call('/IpamDriver.RequestPool', {
      AddressSpace: t.addressSpace,
      Pool: '10.200.0.0/16',
      SubPool: '',
      Options: {},
      V6: false,
    });
    pools.set(t, String(reply.PoolID));
  }
  const request = (t: Target) =>
    t.call('/IpamDriver.RequestAddress', { PoolID: pools.get(t), Address: '', Options: null });
  const held = new Map<Target, number>(ts.map((t) => [t, 0]));
  const fillMs = new Map<Target, number>();
  const stopped = new Set<Target>();
  const levelsOf = (t: Target) => (t.label === 'old' ? OLD_LEVELS : LEVELS);
  for (const level of LEVELS) {
    const now = ts.filter((t) => levelsOf(t).includes(level) && !stopped.has(t));
    if (now.length === 0) continue;
    await Promise.all(
      now.map(async (t) => {
        const from = held.get(t) ?? 0;
        const t0 = performance.now();
        let done = 0;
        let over = false;
        await pool(range(level - from), FILL_CONC, async () => {
          if (over || performance.now() - t0 + (fillMs.get(t) ?? 0) > FILL_BUDGET_MS) {
            over = true;
            return;
          }
          await request(t);
          if (++done % 2000 === 0) log(`${t.label}: filling, ${from + done} addresses, load ${load()}`);
        });
        fillMs.set(t, (fillMs.get(t) ?? 0) + performance.now() - t0);
        held.set(t, from + done);
        if (over) {
          const note = `${t.label}: the IPAM fill ran out of its ${FILL_BUDGET_MS / 1000} s budget at ${from + done} addresses (on the way to ${level}); no figures at ${level} and above`;
          notes.push(note);
          log(note);
          stopped.add(t);
        } else {
          log(
            `${t.label}: filled to ${level} addresses in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
          );
        }
      }),
    );
    const measured = now.filter((t) => !stopped.has(t));
    if (level === LEVELS[0]) {
      // Unmeasured pairs first: otherwise the lowest level also measures V8's warm-up (its figure came out
      // 2–4× the warm one, which made the per-level ratios say more about the JIT than about the IPAM).
      for (const t of measured)
        for (let i = 0; i < IPAM_WARMUP; i++) {
          const address = String((await request(t)).Address);
          await t.call('/IpamDriver.ReleaseAddress', {
            PoolID: pools.get(t),
            Address: address.replace(/\/\d+$/, ''),
          });
        }
    }
    await abba(measured, IPAM_SAMPLES, async (t, n) => {
      const req: number[] = [];
      const rel: number[] = [];
      await withCpu(t, `RequestAddress+ReleaseAddress at ${level}`, n, async () => {
        for (let i = 0; i < n; i++) {
          let t1 = performance.now();
          const address = String((await request(t)).Address);
          req.push(performance.now() - t1);
          t1 = performance.now();
          await t.call('/IpamDriver.ReleaseAddress', {
            PoolID: pools.get(t),
            Address: address.replace(/\/\d+$/, ''),
          });
          rel.push(performance.now() - t1);
        }
      });
      add(t, `RequestAddress at ${level}`, req);
      add(t, `ReleaseAddress at ${level}`, rel);
    });
    for (const t of measured) {
      put(t, `RequestAddress p50 at ${level}`, pct(got(t, `RequestAddress at ${level}`), 50));
      put(t, `ReleaseAddress p50 at ${level}`, pct(got(t, `ReleaseAddress at ${level}`), 50));
      putCpu(t, `RequestAddress+ReleaseAddress at ${level}`);
      log(
        `${t.label}: ${level} addresses: RequestAddress p50 ${pct(got(t, `RequestAddress at ${level}`), 50).toFixed(2)} ms, ` +
          `ReleaseAddress p50 ${pct(got(t, `ReleaseAddress at ${level}`), 50).toFixed(2)} ms; ` +
          `plugin CPU per pair ${cpuText(t, `RequestAddress+ReleaseAddress at ${level}`)}; load ${load()}`,
      );
    }
  }
  for (const t of ts) {
    const first = results.get(t.label)?.get(`RequestAddress p50 at ${LEVELS[0]}`) ?? Number.NaN;
    for (const l of LEVELS.slice(1)) {
      const at = results.get(t.label)?.get(`RequestAddress p50 at ${l}`);
      if (at !== undefined) put(t, `RequestAddress at ${l} / at ${LEVELS[0]}`, at / first);
    }
    await t.call('/IpamDriver.ReleasePool', { PoolID: pools.get(t) });
  }
}

/** Deletes every endpoint and network through the API and counts what is left. Returns the leftovers. */
async function teardown(t: Target): Promise<string[]> {
  const t0 = performance.now();
  await pool([...t.endpoints.values()], FILL_CONC, (ep) => t.deleteEndpoint(ep));
  await pool(t.nets.filter(Boolean), FILL_CONC, (n) => t.deleteNetwork(n));
  log(`${t.label}: everything deleted through the API in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // vswitchd removes a gateway port's (and the bridge's) tap device a moment after the port is gone — with
  // thousands of ports just deleted, and a loaded machine, a minute or more later.
  const deadline = Date.now() + 180_000;
  for (;;) {
    const left = await t.leftovers();
    if (left.length === 0) return [];
    if (Date.now() > deadline) {
      // The tap devices of internal ports (gateways, the bridge) are vswitchd's to remove, not the plugin's:
      // with no OVS row left for them they are vswitchd's backlog (the namespace takes them), not a leak.
      const ports = left.filter((l) => l.startsWith('port '));
      const taps = left.filter((l) => l.startsWith(`link ${t.prefix}g`) || l === `link ${t.bridge}`);
      if (ports.length === 0 && taps.length > 0) {
        notes.push(
          `${t.label}: every OVS row is gone, but ovs-vswitchd had not removed ${taps.length} tap devices of deleted internal ports 3 min later (removed with the namespace)`,
        );
      }
      return ports.length === 0 ? left.filter((l) => !taps.includes(l)) : left;
    }
    await sleep(1000);
  }
}

// ---- the run ------------------------------------------------------------------------------------------------

const targets = builds.map((b) => new Target(b.label, b.bin));
let destroying: Promise<string[]> | undefined;
const destroyAll = () => {
  destroying ??= (async () => (await Promise.all(targets.map((t) => t.destroy()))).flat())();
  return destroying;
};
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    interrupted = true;
    log(`${sig}: cleaning up`);
    if (results.size) printTable();
    void destroyAll().then((p) => {
      for (const x of p) log(`cleanup problem: ${x}`);
      process.exit(130);
    });
  });
}

const loads: string[] = [];
const notes: string[] = [];
async function main(): Promise<number> {
  console.log(
    `scale bench: ${NETWORKS} networks (isolate=${ISOLATE}), ${ENDPOINTS} endpoints (${IPAM_MODE} IPAM), ${SAMPLES} samples, ` +
      `concurrency ${CONC}, fill concurrency ${FILL_CONC}, addresses ${LEVELS.join(',')}${OLD_LEVELS === LEVELS ? '' : ` (old: ${OLD_LEVELS.join(',')})`} (${IPAM_SAMPLES} samples), order ${ORDER}`,
  );
  for (const t of targets)
    console.log(
      `  ${t.label}: ${t.bin}\n    netns ${t.ns}, sandbox ${t.dir}, prefix ${t.prefix}, bridge ${t.bridge}`,
    );
  loads.push(`start ${load()}`);
  const phases: [string, (ts: readonly Target[]) => Promise<void>][] = [
    ['sequential', (ts) => endpointPhase(ts, 1)],
    [`${CONC} concurrent`, (ts) => endpointPhase(ts, CONC)],
    ['ipam', ipamPhase],
  ];
  const leftovers: string[] = [];
  const each = async (t: Target) => {
    leftovers.push(...(await teardown(t)).map((l) => `${t.label}: ${l}`));
  };
  if (ORDER === 'interleaved') {
    for (const t of targets) await t.start();
    for (const t of targets) await populate(t);
    loads.push(`populated ${load()}`);
    for (const [name, fn] of phases) {
      await fn(targets);
      loads.push(`after ${name} ${load()}`);
    }
    await Promise.all(targets.map(each));
  } else {
    for (const t of targets) {
      await t.start();
      await populate(t);
      for (const [, fn] of phases) await fn([t]);
      loads.push(`after ${t.label} ${load()}`);
      await each(t);
      const p = await t.destroy();
      leftovers.push(...p.map((x) => `${t.label}: ${x}`));
    }
  }
  printTable();
  const problems = [...leftovers, ...(await destroyAll())];
  if (problems.length) {
    console.log(`LEFTOVERS (${problems.length}): ${problems.slice(0, 20).join('; ')}`);
    return 1;
  }
  console.log(
    `cleanup: ok, nothing left (${targets.map((t) => `${t.ns} ${t.dir} ${t.prefix}*`).join(', ')})`,
  );
  return 0;
}

interface Row {
  metric: string;
  unit: 'ms' | 's' | '×';
  target?: { max: number; text: string };
}
function rows(): Row[] {
  const out: Row[] = [
    { metric: 'populate: networks (s)', unit: 's' },
    { metric: 'populate: endpoints (s)', unit: 's' },
  ];
  for (const tag of ['sequential', `${CONC} concurrent`]) {
    const seq = tag === 'sequential';
    out.push({ metric: `CreateEndpoint+Join p50, ${tag}`, unit: 'ms' });
    out.push({
      metric: `CreateEndpoint+Join p99, ${tag}`,
      unit: 'ms',
      ...(CONC === 20 || seq
        ? { target: seq ? { max: 10, text: '≤ 10 ms' } : { max: 60, text: '≤ 60 ms' } }
        : {}),
    });
    out.push({ metric: `DeleteEndpoint p50, ${tag}`, unit: 'ms' });
    out.push({
      metric: `DeleteEndpoint p99, ${tag}`,
      unit: 'ms',
      ...(!seq && CONC === 20 ? { target: { max: 60, text: '≤ 60 ms' } } : {}),
    });
  }
  for (const tag of ['sequential', `${CONC} concurrent`]) {
    for (const who of ['plugin', 'ovsdb-server', 'ovs-vswitchd']) {
      out.push({ metric: `${who} CPU per CreateEndpoint+Join, ${tag}`, unit: 'ms' });
      out.push({ metric: `${who} CPU per Leave+DeleteEndpoint, ${tag}`, unit: 'ms' });
    }
  }
  for (const l of LEVELS) out.push({ metric: `RequestAddress p50 at ${l}`, unit: 'ms' });
  for (const l of LEVELS) out.push({ metric: `ReleaseAddress p50 at ${l}`, unit: 'ms' });
  for (const who of ['plugin', 'ovsdb-server'])
    for (const l of LEVELS)
      out.push({ metric: `${who} CPU per RequestAddress+ReleaseAddress at ${l}`, unit: 'ms' });
  for (const l of LEVELS.slice(1)) {
    out.push({
      metric: `RequestAddress at ${l} / at ${LEVELS[0]}`,
      unit: '×',
      ...(l === LEVELS.at(-1) ? { target: { max: 1.5, text: '≤ 1.5×' } } : {}),
    });
  }
  return out;
}

function printTable(): void {
  const labels = targets.map((t) => t.label);
  const fmt = (v: number | undefined, unit: Row['unit']) =>
    v === undefined || Number.isNaN(v)
      ? '—'
      : unit === 'ms'
        ? `${v.toFixed(2)} ms`
        : unit === 's'
          ? `${v.toFixed(1)} s`
          : `${v.toFixed(2)}×`;
  const header = [
    'metric',
    ...labels,
    ...(labels.length === 2 ? ['new/old'] : []),
    'target',
    ...labels.map((l) => `${l} meets`),
  ];
  const table: string[][] = [header];
  const json: Record<string, unknown>[] = [];
  for (const r of rows()) {
    const vals = labels.map((l) => results.get(l)?.get(r.metric));
    const line = [r.metric, ...vals.map((v) => fmt(v, r.unit))];
    if (labels.length === 2) {
      const [o, n] = vals;
      line.push(o !== undefined && n !== undefined && o > 0 ? (n / o).toFixed(2) : '—');
    }
    line.push(r.target?.text ?? '');
    const meets = vals.map((v) =>
      r.target && v !== undefined ? (v <= r.target.max ? 'met' : 'missed') : '',
    );
    line.push(...meets);
    table.push(line);
    json.push({
      metric: r.metric,
      unit: r.unit,
      target: r.target?.text,
      ...Object.fromEntries(labels.map((l, i) => [l, vals[i]])),
    });
  }
  const widths = header.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
  console.log('');
  for (const [i, row] of table.entries()) {
    console.log(
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    );
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  for (const n of notes) console.log(`note: ${n}`);
  console.log(`load average (1/5/15 min): ${loads.join('; ')}; end ${load()}`);
  if (flags.json) {
    writeFileSync(
      flags.json,
      `${JSON.stringify({ builds: targets.map((t) => ({ label: t.label, bin: t.bin })), rows: json, loads }, null, 2)}\n`,
    );
  }
}

let code = 1;
try {
  code = await main();
} catch (err) {
  // Interrupted: the calls in flight failed because the plugins went; the signal handler exits.
  if (interrupted) await destroyAll().then(() => sleep(60_000));
  console.error(err);
  for (const t of targets)
    if (t.logs.length) console.error(`${t.label} plugin's last output:\n${t.logs.slice(-20).join('\n')}`);
  if (results.size) printTable();
  for (const p of await destroyAll()) console.error(`cleanup problem: ${p}`);
}
process.exit(code);
