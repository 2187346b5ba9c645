// A dockerd of its own for a simulated host (PROTOCOLS.md §5: a dockerd per network namespace works with
// dockerd 20.10), and the plugin binary run inside the same host.
//
// How the daemon is started, and why:
//   setpriv --pdeathsig SIGKILL -- nsenter --net=/run/netns/NS --
//     unshare --pid --kill-child=SIGKILL --mount-proc --propagation private -- sh -c 'mount --bind … && exec dockerd …'
// - `nsenter --net`, not `ip netns exec`: the latter remounts /sys in a new mount namespace, hiding
//   /sys/fs/cgroup, and dockerd dies with "Devices cgroup isn't mounted" (PROTOCOLS.md §5).
// - A private **mount namespace** solves plugin discovery: dockerd looks for legacy plugin sockets in the
//   fixed directory /run/docker/plugins (moby pkg/plugins/discovery.go, `socketsPath`), shared by every
//   dockerd on the machine. Each host's dockerd sees its own directory `DIR/plugins` bind-mounted there, so
//   every host can run the plugin under the same driver name (`-d ovs-container-network` on all of them, as
//   on real hosts), and no host sees another host's plugin or the system dockerd's. The plugin itself runs
//   in the root mount namespace and listens on `DIR/plugins/NAME.sock`. Container rootfs and netns mounts
//   live only in that namespace, so they cannot leak into the root namespace: they vanish with the daemon.
// - A private **PID namespace** with dockerd as its init: SIGKILLing dockerd kills containerd, every shim
//   and every container of that host at once (the kernel kills a PID namespace's processes when its init
//   dies), which is exactly a host losing power. `--kill-child` and `setpriv --pdeathsig` make the kernel
//   deliver that SIGKILL when unshare, or the test process itself, dies for any reason (even SIGKILL), so
//   nothing outlives the test. dockerd's own --pidfile therefore says 1; it is kept under exec/ so that
//   scripts/cleanup.sh (which kills the pid in every /run/ocnt-*/​*.pid) never reads it; `unshare.pid` is
//   the outer pid.
// - dockerd starts its own containerd (state under the exec-root, root under the data-root).
//   `--cgroup-parent /ocnt-dk-…` keeps this host's container cgroups apart; they are removed on stop.
// - `--bridge=none`, `--config-file` an empty file (no /etc/docker/daemon.json), `--iptables` as asked
//   (false by default; true lets dockerd own the FORWARD policy and DOCKER-USER of this namespace only).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { type RunResult, run, sleep } from './exec.js';
import { DOCKER, REPO_ROOT, SCRIPTS } from './paths.js';

export interface SimDockerdOptions {
  /** The network namespace (a name under /run/netns) the daemon and its containers live in. */
  netns: string;
  /** Let dockerd manage iptables inside that namespace (default false: `--iptables=false`). */
  iptables?: boolean;
  /** Import local/busybox into the daemon (default true). */
  busybox?: boolean;
  /** Extra dockerd flags. */
  extraArgs?: string[];
}

export interface SimDockerd {
  readonly netns: string;
  /** Private directory: data/, exec/, plugins/, docker.sock, dockerd.log. */
  readonly dir: string;
  /** The daemon's unix socket path. */
  readonly socket: string;
  /** `unix://<socket>`, for DOCKER_HOST. */
  readonly host: string;
  /** Where this host's plugins listen: the daemon sees this directory as /run/docker/plugins. */
  readonly pluginDir: string;
  /** dockerd's pid in the root PID namespace (undefined while stopped). */
  readonly pid: number | undefined;
  /** Debian's docker client against this daemon; rejects on a non-zero exit unless `allowFail`. */
  docker(args: readonly string[], allowFail?: boolean): Promise<RunResult>;
  /**
   * SIGKILLs the daemon: containerd, shims and containers die with it (a power cut). The data-root stays,
   * so `start()` brings the daemon back with its containers (restart policies apply).
   */
  kill(): Promise<void>;
  /** Starts the daemon again on the same directories (after kill or stop({ keepData: true })). */
  start(): Promise<void>;
  /**
   * Removes every container (so plugins get Leave/DeleteEndpoint), SIGTERMs the daemon (SIGKILL after
   * 15 s), removes its cgroups and, unless keepData, its directory. Safe to call twice.
   */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

interface Live {
  dir: string;
  cgroupParent: string;
  child: ChildProcess | undefined;
}
const live = new Set<Live>();

/** Starts a dockerd inside `netns` (see the comment at the top of this file) and waits until it answers. */
export async function startDockerd(opts: SimDockerdOptions): Promise<SimDockerd> {
  if (!existsSync(`/run/netns/${opts.netns}`))
    throw new Error(
      `startDockerd: network namespace "${opts.netns}" does not exist (/run/netns/${opts.netns})`,
    );
  const dir = mkdtempSync('/run/ocnt-dk-');
  const cgroupParent = `/${dir.slice('/run/'.length)}`;
  const socket = join(dir, 'docker.sock');
  const pluginDir = join(dir, 'plugins');
  for (const d of ['data', 'exec', 'plugins']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  // The mount point must exist in the root namespace for the bind mount inside the private one.
  mkdirSync('/run/docker/plugins', { recursive: true });
  const self: Live = { dir, cgroupParent, child: undefined };
  live.add(self);
  reapOnExit();
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${socket}` };
  delete env.DOCKER_CONTEXT;
  const client = (args: readonly string[], allowFail = false) =>
    run(DOCKER, args, { allowFail, env, timeoutMs: 180_000 });

  const dockerdArgs = [
    '--data-root',
    join(dir, 'data'),
    '--exec-root',
    join(dir, 'exec'),
    '-H',
    `unix://${socket}`,
    '--pidfile',
    join(dir, 'exec', 'dockerd.pid'),
    '--config-file',
    join(dir, 'daemon.json'),
    '--cgroup-parent',
    cgroupParent,
    '--bridge=none',
    `--iptables=${opts.iptables === true}`,
    '--ip6tables=false',
    '--userland-proxy=false',
    ...(opts.extraArgs ?? []),
  ];
  const script = `mount --bind "$0" /run/docker/plugins && exec dockerd "$@" >>"$0/../dockerd.log" 2>&1`;
  let stopped = false;

  const innerPid = (): number | undefined => {
    const outer = self.child?.pid;
    if (outer === undefined || self.child?.exitCode !== null || self.child?.signalCode !== null) return;
    return childOf(outer);
  };
  const exited = (c: ChildProcess) =>
    c.exitCode !== null || c.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => c.once('exit', () => r()));

  const start = async () => {
    if (self.child && self.child.exitCode === null && self.child.signalCode === null) return;
    rmSync(socket, { force: true });
    // dockerd refuses to start while its pidfile names a live process, and inside its PID namespace it
    // wrote "1", which is always alive.
    rmSync(join(dir, 'exec', 'dockerd.pid'), { force: true });
    const child = spawn(
      'setpriv',
      [
        '--pdeathsig',
        'SIGKILL',
        '--',
        'nsenter',
        `--net=/run/netns/${opts.netns}`,
        '--',
        'unshare',
        '--pid',
        '--kill-child=SIGKILL',
        '--mount-proc',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        script,
        pluginDir,
        ...dockerdArgs,
      ],
      { stdio: 'ignore' },
    );
    self.child = child;
    writeFileSync(join(dir, 'unshare.pid'), `${child.pid}\n`);
    try {
      await untilUp(
        child,
        async () => existsSync(socket) && (await client(['version'], true)).code === 0,
        60_000,
        `dockerd in ${opts.netns} to answer on ${socket}`,
      );
    } catch (err) {
      const log = readTail(join(dir, 'dockerd.log'));
      throw new Error(`${(err as Error).message}; dockerd.log ends:\n${log}`, { cause: err });
    }
  };

  const kill = async () => {
    const c = self.child;
    if (!c) return;
    const pid = innerPid();
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    else c.kill('SIGKILL');
    await exited(c);
    self.child = undefined;
  };

  const d: SimDockerd = {
    netns: opts.netns,
    dir,
    socket,
    host: `unix://${socket}`,
    pluginDir,
    get pid() {
      return innerPid();
    },
    docker: client,
    kill,
    start,
    async stop(o = {}) {
      if (stopped) return;
      if (!o.keepData) stopped = true;
      const c = self.child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const ids = (await client(['ps', '-aq'], true)).stdout.split('\n').filter(Boolean);
        if (ids.length) await client(['rm', '-f', ...ids], true);
        const pid = innerPid();
        if (pid !== undefined) process.kill(pid, 'SIGTERM');
        await Promise.race([exited(c), sleep(15_000)]);
        await kill();
      }
      removeCgroups(cgroupParent);
      if (!o.keepData) {
        rmSync(dir, { recursive: true, force: true });
        live.delete(self);
      }
    },
  };
  try {
    await start();
    if (opts.busybox ?? true) await importBusybox(d);
  } catch (err) {
    await d.stop().catch(() => {});
    throw err;
  }
  return d;
}

/** Imports local/busybox (scripts/busybox-rootfs.sh) into a daemon. */
async function importBusybox(d: SimDockerd): Promise<void> {
  const tar = join(d.dir, 'busybox-rootfs.tar');
  await run(join(SCRIPTS, 'busybox-rootfs.sh'), [tar]);
  await run(
    'sh',
    [
      '-c',
      `"$0" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - local/busybox < "$1" >/dev/null`,
      DOCKER,
      tar,
    ],
    { env: { ...process.env, DOCKER_HOST: d.host } },
  );
  rmSync(tar, { force: true });
}

/** Polls `ready` every 50 ms; fails at once when the process exits, or after timeoutMs. */
async function untilUp(
  child: ChildProcess,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what}: the process exited (${child.exitCode ?? child.signalCode})`);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function readTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Removes `/sys/fs/cgroup/<controller>/<parent>` and everything under it, depth first (empty by now). */
function removeCgroups(parent: string): void {
  let controllers: string[] = [];
  try {
    controllers = readdirSync('/sys/fs/cgroup');
  } catch {
    return;
  }
  const rmTree = (p: string) => {
    let entries: string[] = [];
    try {
      entries = readdirSync(p);
    } catch {
      return;
    }
    for (const e of entries) {
      const sub = join(p, e);
      try {
        if (statSync(sub).isDirectory()) rmTree(sub);
      } catch {}
    }
    try {
      rmdirSync(p);
    } catch {}
  };
  for (const c of controllers) rmTree(join('/sys/fs/cgroup', c, parent));
}

export interface SimPluginOptions {
  /** The host's network namespace: the plugin's veths are made there. */
  netns: string;
  /** The host's Open_vSwitch database (`--ovsdb`). */
  ovsdb: string;
  /** The directory the host's dockerd sees as /run/docker/plugins (SimDockerd.pluginDir). */
  pluginDir: string;
  /** Driver name (default ovs-container-network: every host has its own plugin directory). */
  name?: string;
  /** Interface-name prefix (default `ocntz` + 1 random character, as test/helpers/plugin.ts: short, swept). */
  prefix?: string;
  /** Extra flags, e.g. the OVN remotes. */
  extraArgs?: readonly string[];
  logLevel?: string;
  /** Another build of the plugin binary. */
  bin?: string;
}

export interface SimPlugin {
  readonly name: string;
  readonly prefix: string;
  readonly socket: string;
  /** The last 5,000 lines the plugin printed. */
  readonly logs: string[];
  readonly pid: number | undefined;
  /** Starts the binary (again) with the same flags and waits until it answers Plugin.Activate. */
  start(): Promise<void>;
  /** Sends a signal (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM (SIGKILL after 10 s) and removes the socket. */
  stop(): Promise<void>;
}

export const PLUGIN_BIN = join(REPO_ROOT, 'packages/docker-plugin/dist/bin/ovs-container-network.js');

/**
 * Runs the plugin binary (packages/docker-plugin/dist/bin) inside a simulated host's network namespace,
 * against that host's own OVS, listening where that host's dockerd looks for plugins. Like the daemon, it
 * is SIGKILLed by the kernel if the test process dies.
 */
export async function startPlugin(opts: SimPluginOptions): Promise<SimPlugin> {
  const name = opts.name ?? 'ovs-container-network';
  const prefix = opts.prefix ?? `ocntz${'abcdefghijklmnopqrstuvwxyz0123456789'[randomInt(36)]}`;
  const socket = join(opts.pluginDir, `${name}.sock`);
  const logs: string[] = [];
  let child: ChildProcess | undefined;
  const args = [
    '--pdeathsig',
    'SIGKILL',
    '--',
    'nsenter',
    `--net=/run/netns/${opts.netns}`,
    '--',
    process.execPath,
    opts.bin ?? PLUGIN_BIN,
    '--ovsdb',
    opts.ovsdb,
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
    ...(opts.extraArgs ?? []),
  ];
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const p: SimPlugin = {
    name,
    prefix,
    socket,
    logs,
    get pid() {
      return alive() ? child?.pid : undefined;
    },
    async start() {
      if (alive()) return;
      rmSync(socket, { force: true });
      const c = spawn('setpriv', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      const keep = (b: Buffer) => {
        for (const line of b.toString().split('\n')) if (line) logs.push(line);
        if (logs.length > 5000) logs.splice(0, logs.length - 5000);
      };
      c.stdout?.on('data', keep);
      c.stderr?.on('data', keep);
      try {
        await untilUp(
          c,
          async () => existsSync(socket) && (await activate(socket)),
          30_000,
          `plugin ${name} in ${opts.netns} to listen on ${socket}`,
        );
      } catch (err) {
        c.kill('SIGKILL');
        throw new Error(`${(err as Error).message}; its last output:\n${logs.slice(-20).join('\n')}`, {
          cause: err,
        });
      }
    },
    async kill(signal = 'SIGKILL') {
      const c = child;
      if (!c || !alive()) return;
      const done = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill(signal);
      await done;
    },
    async stop() {
      const c = child;
      if (c && alive()) {
        const done = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGTERM');
        await Promise.race([done, sleep(10_000)]);
        await p.kill('SIGKILL');
      }
      rmSync(socket, { force: true });
    },
  };
  await p.start();
  return p;
}

/** True when a plugin answers Plugin.Activate on its socket. */
async function activate(socketPath: string): Promise<boolean> {
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/Plugin.Activate', method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

// Daemons still up when the test process ends: the kernel already SIGKILLs them (pdeathsig), and this
// removes their directories and cgroups too. tap ends an overrunning test file with SIGTERM; the handlers
// in ovn.ts and here turn that into an exit.
let hooked = false;
function reapSync(): void {
  for (const l of live) {
    const outer = l.child?.pid;
    if (outer !== undefined) {
      const inner = childOf(outer);
      for (const pid of [inner, outer]) {
        try {
          if (pid !== undefined) process.kill(pid, 'SIGKILL');
        } catch {}
      }
      // Wait until the namespace's init is dead (gone or a zombie: namespaces and mounts are released
      // before a task becomes a zombie), so its mounts are gone before the directory is removed.
      for (let i = 0; inner !== undefined && i < 100 && running(inner); i++) execFileSync('sleep', ['0.05']);
    }
    removeCgroups(l.cgroupParent);
    rmSync(l.dir, { recursive: true, force: true });
  }
  live.clear();
}
function childOf(pid: number): number | undefined {
  try {
    const n = Number.parseInt(
      readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0] ?? '',
      10,
    );
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
function reapOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', reapSync);
  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    process.once(sig, () => {
      reapSync();
      process.exit(code);
    });
  }
}
