// Runs the real plugin binary for end-to-end tests: a legacy plugin socket in /run/docker/plugins with a
// unique driver name `ocnt…` and interface prefix `ocnt…`, on the shared OVS sandbox (userspace datapath).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  claimTestPrefix,
  DOCKER,
  docker,
  releaseTestPrefix,
  run,
  sleep,
  uniqueName,
  waitFor,
} from '@ovs-container-network/testkit';

export const PKG_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
/** The plugin binary; OCN_PLUGIN_BIN runs another build (e.g. main's, to see a regression test fail). */
export const BIN = process.env.OCN_PLUGIN_BIN ?? join(PKG_ROOT, 'dist/bin/ovs-container-network.js');

export interface PluginProcess {
  readonly name: string;
  readonly prefix: string;
  readonly socket: string;
  readonly ovsdb: string;
  readonly logs: string[];
  child: ChildProcess;
  /** Sends a signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the binary again with the same name, prefix and socket. */
  start(): Promise<void>;
  /** SIGTERM, then removes the socket. */
  stop(): Promise<void>;
}

export interface PluginProcessOptions {
  ovsdb?: string;
  orphanGraceSeconds?: number;
  reconcileIntervalSeconds?: number;
  extraArgs?: string[];
  /** Run with only these capabilities (setpriv bounding set), e.g. ['net_admin']. Default: all of root's. */
  capabilities?: string[];
  /** Where the plugin listens (default the Docker socket path; a proxy may take that one). */
  socket?: string;
  /** The driver name (default a unique `ocntp…`). */
  name?: string;
  prefix?: string;
  logLevel?: string;
}

/**
 * An interface-name prefix for one plugin instance: `ocntz` + one character, claimed machine-wide so no plugin
 * running in another test lane has it (testkit's claimTestPrefix). The `z` keeps it apart from the `ocnt<tag>`
 * names tests give bridges and links (a prefix like `ocntbr` would claim test bridges).
 */
export function testPrefix(): string {
  return claimTestPrefix();
}

/** True when the plugin answers Plugin.Activate on its socket (a stale socket refuses connections). */
function activate(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/Plugin.Activate', method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** How long `stop()` waits for the plugin to exit after SIGTERM (it takes well under a second). */
const STOP_GRACE_MS = 30_000;

export async function startPluginProcess(opts: PluginProcessOptions = {}): Promise<PluginProcess> {
  const ovsdb = opts.ovsdb ?? process.env.OCN_OVSDB;
  if (!ovsdb)
    throw new Error('OCN_OVSDB is not set: run the tests through scripts/test.sh or export the sandbox');
  const name = opts.name ?? uniqueName('p');
  const prefix = opts.prefix ?? testPrefix();
  const socket = opts.socket ?? `/run/docker/plugins/${name}.sock`;
  const logs: string[] = [];
  const wrap = opts.capabilities
    ? [
        '/usr/bin/setpriv',
        `--bounding-set=-all,${opts.capabilities.map((c) => `+${c}`).join(',')}`,
        '--',
        process.execPath,
      ]
    : [process.execPath];
  const args = [
    ...wrap.slice(1),
    BIN,
    '--ovsdb',
    ovsdb,
    '--name',
    name,
    '--socket',
    socket,
    '--datapath-type',
    'netdev',
    '--prefix',
    prefix,
    '--log-level',
    opts.logLevel ?? 'info',
    '--orphan-grace',
    String(opts.orphanGraceSeconds ?? 15),
    '--reconcile-interval',
    String(opts.reconcileIntervalSeconds ?? 2),
    ...(opts.extraArgs ?? []),
  ];
  const p: PluginProcess = {
    name,
    prefix,
    socket,
    ovsdb,
    logs,
    child: undefined as unknown as ChildProcess,
    async kill(signal = 'SIGKILL') {
      const c = p.child;
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill(signal);
      await exited;
    },
    async start() {
      const c = spawn(wrap[0] ?? process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (d: Buffer) => {
        for (const line of d.toString().split('\n')) if (line) logs.push(line);
        if (logs.length > 5000) logs.splice(0, logs.length - 5000);
      };
      c.stdout?.on('data', keep);
      c.stderr?.on('data', keep);
      p.child = c;
      try {
        // An exit ends the wait at once (waitFor retries what throws until its deadline).
        const up = await waitFor(
          async () => (c.exitCode !== null ? 'exited' : existsSync(socket) && (await activate(socket))),
          30_000,
          `plugin ${name} to listen`,
        );
        if (up === 'exited') throw new Error(`plugin exited ${c.exitCode}`);
      } catch (err) {
        if (c.exitCode === null) c.kill('SIGKILL');
        throw new Error(`${(err as Error).message}; its last output:\n${logs.slice(-20).join('\n')}`);
      }
    },
    async stop() {
      // A plugin that does not exit within STOP_GRACE_MS of SIGTERM is a bug (its close() never settled):
      // kill it so the test goes on, and fail with what it last logged, which names the step it was in.
      const c = p.child;
      const running = c.exitCode === null && c.signalCode === null;
      const exited = running ? new Promise<void>((r) => c.once('exit', () => r())) : Promise.resolve();
      if (running) c.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const hung = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), STOP_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
      if (hung) {
        await p.kill('SIGKILL');
        rmSync(socket, { force: true });
        throw new Error(
          `plugin ${name} did not exit within ${STOP_GRACE_MS / 1000} s of SIGTERM (killed); its last output:\n${logs.slice(-40).join('\n')}`,
        );
      }
      rmSync(socket, { force: true });
      // The plugin's shutdown watchdog (--shutdown-timeout) exits 1 when a close step hangs: that is the same bug.
      if (running && c.exitCode !== 0)
        throw new Error(
          `plugin ${name} exited ${c.exitCode ?? c.signalCode} after SIGTERM, not 0; its last output:\n${logs.slice(-40).join('\n')}`,
        );
      // A prefix claimed here may go to this process's next plugin (never to another process's).
      if (opts.prefix === undefined) releaseTestPrefix(prefix);
    },
  };
  await p.start();
  return p;
}

/** `docker run -d` on a network; returns the container name. */
export async function runContainer(
  network: string,
  extra: string[] = [],
  name = uniqueName('c'),
): Promise<string> {
  await docker([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    network,
    ...extra,
    'local/busybox',
    'sleep',
    '3600',
  ]);
  return name;
}

/** The container's address on a network (IPv4, or IPv6 with v6=true). */
export async function containerIp(container: string, network: string, v6 = false): Promise<string> {
  const f = v6 ? 'GlobalIPv6Address' : 'IPAddress';
  const { stdout } = await docker([
    'inspect',
    '-f',
    `{{(index .NetworkSettings.Networks "${network}").${f}}}`,
    container,
  ]);
  return stdout.trim();
}

export async function exec(container: string, cmd: string[], allowFail = true) {
  return docker(['exec', container, ...cmd], allowFail);
}

export async function canPingFrom(container: string, addr: string, count = 2): Promise<boolean> {
  const args = ['ping', ...(addr.includes(':') ? ['-6'] : []), '-c', String(count), '-W', '1', addr];
  const { code } = await exec(container, args);
  return code === 0;
}

/** L2 reachability: an ARP reply from `ip` on eth0 (arp_ignore=0 answers for any local address). */
export async function canArp(container: string, ip: string): Promise<boolean> {
  const { code } = await exec(container, ['arping', '-c', '2', '-w', '2', '-I', 'eth0', ip]);
  return code === 0;
}

/**
 * Sends `bytes` over TCP from one container to another with busybox nc; returns the bytes received. The
 * listener runs under `docker exec -i` with stdin held open: busybox `nc -l` closes the connection as soon
 * as its own stdin ends, which a plain `docker exec` (stdin /dev/null) does at once.
 */
export async function tcpBetween(
  from: string,
  to: string,
  toIp: string,
  bytes = 1024 * 1024,
): Promise<number> {
  const port = 5000 + Math.floor(Math.random() * 1000);
  const server = spawn(DOCKER, ['exec', '-i', to, 'sh', '-c', `timeout 20 nc -l -p ${port} | wc -c`], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let out = '';
  server.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const done = new Promise<void>((r) => server.once('exit', () => r()));
  try {
    await sleep(500);
    await exec(from, ['sh', '-c', `head -c ${bytes} /dev/zero | timeout 15 nc ${toIp} ${port}`]);
    await Promise.race([done, sleep(20_000)]);
  } finally {
    server.stdin?.end();
    server.kill();
  }
  return Number.parseInt(out.trim() || '0', 10);
}

export async function vsctl(ovsdb: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('ovs-vsctl', [`--db=${ovsdb}`, '--timeout=20', ...args]);
  return stdout.trim();
}

/**
 * What is left with the plugin's prefix once things settled: polls until nothing is left (vswitchd deletes a
 * gateway port's tap a moment after the port is gone) or 15 s passed, then returns what is still there.
 */
export async function settledLeftovers(p: PluginProcess, timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await leftovers(p);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(200);
  }
}

/** Every OVS port and kernel link whose name starts with the plugin's prefix. */
export async function leftovers(p: PluginProcess): Promise<string[]> {
  const ports = (await vsctl(p.ovsdb, '--format=csv', '--no-headings', '--columns=name', 'list', 'Port'))
    .split('\n')
    .map((s) => s.replaceAll('"', '').trim())
    .filter((n) => n.startsWith(p.prefix));
  const { stdout } = await run('ip', ['-o', 'link', 'show']);
  const links = stdout
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((n) => n.startsWith(p.prefix));
  return [...ports.map((n) => `port ${n}`), ...links.map((n) => `link ${n}`)];
}

/** Removes containers and networks by name, ignoring missing ones. */
export async function removeAll(containers: string[], networks: string[]): Promise<void> {
  if (containers.length) await docker(['rm', '-f', ...containers], true);
  for (const n of networks) await docker(['network', 'rm', n], true);
}

/** Deletes bridges by name (tests create `ocnt…` bridges). */
export async function deleteBridges(ovsdb: string, bridges: string[]): Promise<void> {
  for (const b of bridges)
    await run('ovs-vsctl', [`--db=${ovsdb}`, '--timeout=20', '--if-exists', 'del-br', b], {
      allowFail: true,
    });
}

/**
 * One plugin call on a unix socket, as Docker makes it (POST, no Content-Type; an object is sent as JSON).
 * Resolves with the status, the raw body and how long the answer took.
 */
export function postPlugin(
  socketPath: string,
  path: string,
  body: unknown,
  timeoutMs = 20_000,
): Promise<{ status: number; body: string; ms: number }> {
  const start = Date.now();
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', agent: false, timeout: timeoutMs }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => {
        data += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, ms: Date.now() - start }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The endpoint ids OVS holds for a network (ports with ocn-kind=endpoint), sorted. */
export async function ovsEndpointIds(ovsdb: string, networkId: string): Promise<string[]> {
  const out = await vsctl(
    ovsdb,
    '--columns=external_ids',
    '--format=json',
    'find',
    'Port',
    `external_ids:ocn-network=${networkId}`,
    'external_ids:ocn-kind=endpoint',
  );
  const rows = (JSON.parse(out) as { data: [[string, [string, string][]]][] }).data;
  return rows.map((r) => new Map(r[0][1]).get('ocn-endpoint') ?? '').sort();
}

/**
 * The addresses the plugin's IPAM driver `owner` holds in pool `poolCidr` (any address space or sub-pool):
 * its lease rows in the Queue table (core/ipam-state.ts), read with ovs-vsctl. Sorted.
 */
export async function ipamAddresses(ovsdb: string, owner: string, poolCidr: string): Promise<string[]> {
  const out = await vsctl(
    ovsdb,
    '--format=json',
    '--columns=external_ids',
    'find',
    'Queue',
    `external_ids:ocn-owner=${owner}`,
  );
  const { data } = JSON.parse(out) as { data: [[string, [string, string][]]][] };
  return data
    .map(([[, map]]) => Object.fromEntries(map))
    .filter((ids) => {
      const id = ids['ocn-ipam-pool'];
      const cidr = id?.split('/').slice(1, 3).join('/');
      return ids['ocn-ipam-address'] !== undefined && cidr === poolCidr;
    })
    .map((ids) => ids['ocn-ipam-address'] as string)
    .sort();
}
