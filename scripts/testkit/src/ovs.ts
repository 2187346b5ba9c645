import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, waitFor } from './exec.js';
import { SCRIPTS, VSWITCH_SCHEMA } from './paths.js';

export interface OvsSandbox {
  /** Run directory holding conf.db, db.sock, logs and control sockets. */
  readonly dir: string;
  /** The OVSDB endpoint, e.g. `unix:/run/ocn-sandbox/db.sock`. */
  readonly endpoint: string;
  /** True when the sandbox was started by scripts/test.sh (or the developer) and is shared by this run. */
  readonly shared: boolean;
  /** `ovs-vsctl --db=<endpoint> --timeout=20 …args`, stdout trimmed. */
  vsctl(...args: string[]): Promise<string>;
  /** Stops a private sandbox; a shared one is left running. */
  stop(): Promise<void>;
}

/**
 * The OVS sandbox for a test. scripts/test.sh starts one per run (ovsdb-server + userspace ovs-vswitchd)
 * and exports OCN_OVS_DIR/OCN_OVSDB; tests share it and keep apart through unique names. Run alone, a test
 * starts a private sandbox in a short directory of its own (unix socket paths are limited to 108 bytes).
 * Only one userspace ovs-vswitchd fits in a network namespace, so `vswitchd: true` without a shared sandbox
 * fails when another one runs.
 */
export async function ovsSandbox(opts: { vswitchd?: boolean } = {}): Promise<OvsSandbox> {
  const sharedDir = process.env.OCN_OVS_DIR;
  const sharedEndpoint = process.env.OCN_OVSDB;
  if (sharedDir && sharedEndpoint) return makeSandbox(sharedDir, sharedEndpoint, true);
  const dir = mkdtempSync('/run/ocnt-ovs-');
  const args = ['start', dir];
  if (!opts.vswitchd) args.push('--no-vswitchd');
  const { stdout } = await run(join(SCRIPTS, 'ovs-sandbox.sh'), args);
  const endpoint = /OCN_OVSDB=(\S+)/.exec(stdout)?.[1];
  if (!endpoint) throw new Error(`ovs-sandbox.sh printed no endpoint: ${stdout}`);
  return makeSandbox(dir, endpoint, false);
}

function makeSandbox(dir: string, endpoint: string, shared: boolean): OvsSandbox {
  return {
    dir,
    endpoint,
    shared,
    async vsctl(...args) {
      const { stdout } = await run('ovs-vsctl', [`--db=${endpoint}`, '--timeout=20', ...args]);
      return stdout.trim();
    },
    async stop() {
      if (!shared) await run(join(SCRIPTS, 'ovs-sandbox.sh'), ['stop', dir]);
    },
  };
}

export interface OvsdbServerOptions {
  /** Schema file for a new standalone database; defaults to vswitch.ovsschema. */
  schema?: string;
  /** Listen on TCP 127.0.0.1 (a free port) as well as the unix socket. */
  tcp?: boolean;
  /** Extra ovsdb-server arguments (e.g. --remote=pssl:…, --private-key=…). */
  extraArgs?: string[];
  /** An existing database file (e.g. a cluster member); no new database is created. */
  dbFile?: string;
}

export interface OvsdbServer {
  readonly dir: string;
  readonly dbFile: string;
  readonly unixEndpoint: string;
  /** `tcp:127.0.0.1:PORT` when started with `tcp: true`. */
  readonly tcpEndpoint: string | undefined;
  readonly process: ChildProcess;
  /** Sends a signal (default SIGKILL) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new ovsdb-server on the same database file, sockets and port. */
  restart(): Promise<OvsdbServer>;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * A bare ovsdb-server for one test, run in the foreground as a child so it can be killed and restarted on
 * the same database (reconnect tests) or started with a schema of the test's own.
 */
export async function startOvsdbServer(
  opts: OvsdbServerOptions = {},
  reuse?: { dir: string; port?: number },
): Promise<OvsdbServer> {
  const dir = reuse?.dir ?? mkdtempSync('/run/ocnt-db-');
  const dbFile = opts.dbFile ?? join(dir, 'test.db');
  if (!reuse && !opts.dbFile) await run('ovsdb-tool', ['create', dbFile, opts.schema ?? VSWITCH_SCHEMA]);
  const sock = join(dir, 'db.sock');
  const port = opts.tcp ? (reuse?.port ?? (await freePort())) : undefined;
  const args = [
    dbFile,
    `--remote=punix:${sock}`,
    ...(port === undefined ? [] : [`--remote=ptcp:${port}:127.0.0.1`]),
    `--unixctl=${join(dir, 'ctl')}`,
    `--log-file=${join(dir, 'ovsdb-server.log')}`,
    '-vconsole:off',
    '--no-chdir',
    ...(opts.extraArgs ?? []),
  ];
  reapOnExit();
  const child = spawn('ovsdb-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  live.set(child, dir);
  child.once('exit', () => live.delete(child));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`ovsdb-server exited: ${stderr}`);
      const { code } = await run('ovsdb-client', ['list-dbs', `unix:${sock}`], {
        allowFail: true,
        timeoutMs: 2000,
      });
      return code === 0;
    },
    10_000,
    'ovsdb-server to listen',
  );
  let successor: OvsdbServer | undefined;
  const server: OvsdbServer = {
    dir,
    dbFile,
    unixEndpoint: `unix:${sock}`,
    tcpEndpoint: port === undefined ? undefined : `tcp:127.0.0.1:${port}`,
    process: child,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
    async restart() {
      await server.kill('SIGKILL');
      successor = await startOvsdbServer({ ...opts, dbFile }, port === undefined ? { dir } : { dir, port });
      return successor;
    },
    async stop() {
      // A test may keep the first object for its teardown: stopping it stops whatever restart() started.
      await successor?.stop();
      await server.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

// Servers still running when the test process ends are killed and their directories removed, so a test that
// throws before its teardown (or forgets it) leaves no ovsdb-server behind. tap stops a test file that
// overruns its timeout with SIGTERM or SIGALRM; turn that into a normal exit so the hook runs.
const live = new Map<ChildProcess, string>();
let hooked = false;
function reapOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const [child, dir] of live) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
  // SIGALRM: tap's root test kills its own process with it 10 s after a timeout (@tapjs/core tap.js
  // alarmKill), and a process killed by a signal never emits 'exit'.
  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGALRM', 142],
  ] as const) {
    if (process.listenerCount(sig) === 0) process.once(sig, () => process.exit(code));
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
