// An OVN test environment on one machine (PROTOCOLS.md §5): a central NB and SB, each a standalone
// ovsdb-server or a Raft cluster (cluster.ts), ovn-northd pointed at every member, and N simulated chassis.
// A chassis is a network namespace with its own ovsdb-server, a userspace ovs-vswitchd (`br-int` netdev,
// fail-mode secure, in-band off; `br-phy` holding the chassis' underlay address on its internal port, the
// underlay veth as its port: userspace tunnels only route through an OVS bridge) and ovn-controller, each
// with OVS_RUNDIR/OVN_RUNDIR of its own and absolute socket paths. The underlay is a Linux bridge in a
// namespace of its own, so nothing but loopback unix sockets touches the root namespace. With `withDocker`
// each chassis also gets a dockerd of its own (dockerd.ts) and, with `plugin`, the plugin binary in its
// namespace against its own OVS and the NB.
//
// Daemons run in the foreground as children (`nsenter --net=… cmd` execs cmd, so the child is the daemon):
// they can be killed and restarted, and whatever is still running when the test process exits is killed and
// its namespaces and directories removed (also when a test fails before its teardown).
//
// Leadership transfer: in OVS 3.1 `ovsdb-server/compact` by user request does NOT transfer leadership (it
// snapshots on the leader in a thread, ovsdb-server.c ovsdb_server_compact → ovsdb_snapshot); only the
// automatic compaction path does (ovsdb_storage_should_snapshot → raft_notify_snapshot_recommended,
// "Transferring leadership to write a snapshot."). `cluster/failure-test transfer-leadership` calls that same
// function on the next raft_run, so it is how a test forces the compaction-time transfer (verified here).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Cluster, startCluster } from './cluster.js';
import { type SimDockerd, type SimPlugin, startDockerd, startPlugin } from './dockerd.js';
import { type RunResult, run, sleep, waitFor } from './exec.js';
import { uniqueName } from './names.js';
import { createNetns, deleteNetns } from './netns.js';
import { type OvsdbServer, startOvsdbServer } from './ovs.js';
import { OVN_NB_SCHEMA, OVN_SB_SCHEMA, VSWITCH_SCHEMA } from './paths.js';

export type OvnDbModel = 'standalone' | 'clustered';

export interface OvnEnvOptions {
  /** NB model (default standalone). */
  nb?: OvnDbModel;
  /** SB model (default standalone). */
  sb?: OvnDbModel;
  /** Members of each clustered database (default 3). */
  clusterSize?: number;
  /** Simulated chassis (default 0). */
  chassis?: number;
  /**
   * Set each chassis' Open_vSwitch external_ids (system-id, ovn-remote, ovn-encap-*, datapath type) and
   * create br-int with ovs-vsctl (default true). false leaves both to the test (e.g. the library's chassis
   * helpers): ovn-controller is started anyway and waits for them.
   */
  configureChassis?: boolean;
  /** Start ovn-northd (default true). */
  northd?: boolean;
  /**
   * Give every chassis a dockerd of its own (dockerd.ts: own data-root, exec-root, socket, containerd,
   * plugin directory; local/busybox imported). `{ iptables: true }` lets each dockerd manage iptables in
   * its chassis namespace. Default false.
   */
  withDocker?: boolean | { iptables?: boolean };
  /**
   * Also start the plugin on every chassis (needs withDocker): `--ovsdb <chassis db> --ovn-nb <NB remotes>`
   * plus these flags. Default: no plugin (start it with `chassis.startPlugin()`).
   */
  plugin?: boolean | { extraArgs?: readonly string[]; name?: string };
}

/** NB or SB: one standalone server or a cluster, behind one interface. */
export interface OvnDb {
  readonly database: 'OVN_Northbound' | 'OVN_Southbound';
  readonly model: OvnDbModel;
  /** `unix:` endpoint of every member (one for standalone). */
  readonly endpoints: readonly string[];
  /** The endpoints joined with commas, for `--db=` of ovn-nbctl/ovn-sbctl and ovn-northd. */
  readonly remote: string;
  /** The cluster, when clustered. */
  readonly cluster: Cluster | undefined;
  /** Index of the leader (0 for standalone). */
  leader(timeoutMs?: number): Promise<number>;
  /** The control socket of member i (for ovs-appctl -t). */
  ctl(i: number): string;
  /** SIGKILLs member i. */
  kill(i: number): Promise<void>;
  /** Starts a killed member again on its database file and socket. */
  restart(i: number): Promise<void>;
  /**
   * Makes the leader step down the way automatic compaction does (raft_notify_snapshot_recommended) and
   * waits for another member to lead. Returns both indexes. Clustered only.
   */
  transferLeadership(timeoutMs?: number): Promise<{ from: number; to: number }>;
  /** `ovsdb-server/compact` on member i (on a 3.1 leader this does not transfer leadership: see above). */
  compact(i: number): Promise<void>;
  stop(): Promise<void>;
}

export interface OvnWorkload {
  /** The workload's network namespace (its interface is `eth0`). */
  readonly netns: string;
  /** The interface's name on the chassis' br-int (the OVS Interface name). */
  readonly port: string;
  readonly mac: string;
  /** Address with prefix length, e.g. `10.0.0.2/24`. */
  readonly address: string;
  /** Bare address. */
  readonly ip: string;
  /** Removes the OVS port, the veth and the namespace. */
  remove(): Promise<void>;
}

export interface OvnWorkloadOptions {
  mac: string;
  /** Address with prefix length. */
  address: string;
  /** `external_ids:iface-id` of the OVS Interface; leave it out to bind it later. */
  ifaceId?: string;
  /** Interface MTU (default 1442: a 1500 underlay minus 58 bytes of GENEVE). */
  mtu?: number;
}

export interface OvnChassis {
  readonly index: number;
  /** `system-id` (the SB Chassis name). */
  readonly name: string;
  readonly netns: string;
  readonly dir: string;
  /** `unix:` endpoint of the chassis' own Open_vSwitch database. */
  readonly endpoint: string;
  /** The underlay (and GENEVE encap) address. */
  readonly encapIp: string;
  /** The SB remotes ovn-controller uses (`ovn-remote`). */
  readonly ovnRemote: string;
  /** `ovs-vsctl --db=<endpoint> …`, stdout trimmed. */
  vsctl(...args: string[]): Promise<string>;
  /** ovn-controller's pid (undefined while stopped). */
  readonly controllerPid: number | undefined;
  /** ovn-controller's control socket, for `ovn-appctl -t` (undefined while stopped). */
  readonly controllerCtl: string | undefined;
  /** SIGKILLs ovn-controller. */
  killController(): Promise<void>;
  /** Starts ovn-controller (after killController) and waits until it is connected to the SB. */
  startController(): Promise<void>;
  /** Waits until ovn-controller says it is connected to the SB (`connection-status`). */
  waitConnected(timeoutMs?: number): Promise<void>;
  /** killController + startController. */
  restartController(): Promise<void>;
  /**
   * "Reboots" the chassis: every daemon SIGKILLed, the namespace deleted (its veths, workloads' ports and
   * tap devices go with it), then the namespace, the underlay link and the daemons come back on the same
   * conf.db. Workload namespaces survive without their interface.
   */
  reboot(): Promise<void>;
  /** A namespace with `eth0` whose peer is a port of br-int (TX offload off, IPv6 off). */
  addWorkload(opts: OvnWorkloadOptions): Promise<OvnWorkload>;
  /** The chassis' dockerd (withDocker), or undefined. */
  readonly dockerd: SimDockerd | undefined;
  /** The chassis' plugin while started, or undefined. */
  readonly plugin: SimPlugin | undefined;
  /** Debian's docker client against this chassis' dockerd (withDocker only). */
  docker(args: readonly string[], allowFail?: boolean): Promise<RunResult>;
  /**
   * Starts the plugin in this chassis' namespace against its own OVS and the NB (`--ovsdb <endpoint>
   * --ovn-nb <NB remotes>` + extraArgs), listening in its dockerd's plugin directory. Again after a stop or
   * kill: the same flags unless new ones are given. A reboot restarts it with the same flags.
   */
  startPlugin(opts?: { extraArgs?: readonly string[]; name?: string }): Promise<SimPlugin>;
}

export interface OvnEnv {
  readonly dir: string;
  readonly nb: OvnDb;
  readonly sb: OvnDb;
  readonly chassis: readonly OvnChassis[];
  /** The underlay namespace (a Linux bridge `ocntbr` joins the chassis). */
  readonly underlay: string;
  /** `ovn-nbctl --db=<all NB members> --timeout=20 …args`, stdout trimmed. */
  nbctl(...args: string[]): Promise<string>;
  /** `ovn-sbctl --db=<all SB members> --timeout=20 …args`, stdout trimmed. */
  sbctl(...args: string[]): Promise<string>;
  /** ovn-northd's process (undefined without northd). */
  readonly northd: ChildProcess | undefined;
  /** Tears everything down: daemons, namespaces, databases, directories. Safe to call twice. */
  stop(): Promise<void>;
}

const UNDERLAY_PREFIX = '10.99.0.';
const UNDERLAY_BRIDGE = 'ocntbr';
/** The underlay veth's name inside a chassis namespace. */
const CHASSIS_UPLINK = 'ocntul';

/** Starts NB, SB, northd and the chassis; waits until every configured chassis is in the SB. */
export async function startOvnEnv(opts: OvnEnvOptions = {}): Promise<OvnEnv> {
  const nChassis = opts.chassis ?? 0;
  if (!Number.isInteger(nChassis) || nChassis < 0 || nChassis > 200)
    throw new Error(`startOvnEnv: chassis ${nChassis} is not allowed; expected an integer in [0, 200]`);
  const dir = mkdtempSync('/run/ocnt-ovn-');
  const owned: Owned = { dir, netns: new Set(), daemons: new Set() };
  envs.add(owned);
  reapOnExit();
  const chassis: Chassis[] = [];
  let nb: OvnDb | undefined;
  let sb: OvnDb | undefined;
  let northd: Daemon | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await northd?.kill();
    for (const c of chassis) await c.shutdown();
    await nb?.stop();
    await sb?.stop();
    for (const ns of owned.netns) await deleteNetns(ns);
    rmSync(dir, { recursive: true, force: true });
    envs.delete(owned);
  };
  try {
    [nb, sb] = await Promise.all([
      startDb('OVN_Northbound', opts.nb ?? 'standalone', opts.clusterSize),
      startDb('OVN_Southbound', opts.sb ?? 'standalone', opts.clusterSize),
    ]);
    const nbRemote = nb.remote;
    const sbRemote = sb.remote;
    await run('ovn-nbctl', [`--db=${nbRemote}`, '--timeout=20', 'init']);
    await run('ovn-sbctl', [`--db=${sbRemote}`, '--timeout=20', 'init']);
    if (opts.northd ?? true) {
      northd = spawnDaemon(owned, 'ovn-northd', [
        `--ovnnb-db=${nbRemote}`,
        `--ovnsb-db=${sbRemote}`,
        `--unixctl=${join(dir, 'northd.ctl')}`,
        `--log-file=${join(dir, 'ovn-northd.log')}`,
        '-vconsole:off',
        '--no-chdir',
      ]);
      await waitFor(() => existsSync(join(dir, 'northd.ctl')), 10_000, 'ovn-northd to start');
    }
    const underlay = await createNetns(uniqueName('ul'));
    owned.netns.add(underlay);
    await run('ip', ['-n', underlay, 'link', 'add', UNDERLAY_BRIDGE, 'type', 'bridge']);
    await run('ip', ['-n', underlay, 'link', 'set', UNDERLAY_BRIDGE, 'up']);
    await nsenter(underlay, 'ethtool', ['-K', UNDERLAY_BRIDGE, 'tx', 'off'], true);
    for (let i = 0; i < nChassis; i++) {
      const c = new Chassis(owned, i, join(dir, `ch${i}`), underlay, sbRemote, opts.configureChassis ?? true);
      c.nbRemote = nbRemote;
      chassis.push(c);
      await c.boot(true);
    }
    if (opts.withDocker) {
      const iptables = typeof opts.withDocker === 'object' && opts.withDocker.iptables === true;
      await Promise.all(chassis.map((c) => c.startDocker(iptables)));
      if (opts.plugin) {
        const p = typeof opts.plugin === 'object' ? opts.plugin : {};
        await Promise.all(chassis.map((c) => c.startPlugin(p)));
      }
    } else if (opts.plugin) {
      throw new Error('startOvnEnv: plugin needs withDocker (the plugin listens where dockerd looks)');
    }
    if (opts.configureChassis ?? true) {
      await Promise.all(chassis.map((c) => c.waitConnected()));
      await waitFor(
        async () => {
          const names = (
            await run('ovn-sbctl', [`--db=${sbRemote}`, '--bare', '--columns=name', 'list', 'Chassis'])
          ).stdout;
          return chassis.every((c) => names.includes(c.name));
        },
        30_000,
        'every chassis to register in the SB',
      );
    }
    const env: OvnEnv = {
      dir,
      nb,
      sb,
      chassis,
      underlay,
      get northd() {
        return northd?.process;
      },
      async nbctl(...args) {
        return (await run('ovn-nbctl', [`--db=${nbRemote}`, '--timeout=20', ...args])).stdout.trim();
      },
      async sbctl(...args) {
        return (await run('ovn-sbctl', [`--db=${sbRemote}`, '--timeout=20', ...args])).stdout.trim();
      },
      stop,
    };
    return env;
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

async function startDb(
  database: 'OVN_Northbound' | 'OVN_Southbound',
  model: OvnDbModel,
  size = 3,
): Promise<OvnDb> {
  const schema = database === 'OVN_Northbound' ? OVN_NB_SCHEMA : OVN_SB_SCHEMA;
  if (model === 'clustered') {
    const cluster = await startCluster({ schema, size });
    const ctl = (i: number) => join((cluster.members[i] as { server: OvsdbServer }).server.dir, 'ctl');
    const db: OvnDb = {
      database,
      model,
      endpoints: cluster.endpoints,
      remote: cluster.endpoints.join(','),
      cluster,
      leader: (t) => cluster.leader(t),
      ctl,
      kill: (i) => cluster.kill(i),
      restart: (i) => cluster.restart(i),
      async transferLeadership(timeoutMs = 20_000) {
        const from = await cluster.leader();
        await run('ovs-appctl', ['-t', ctl(from), 'cluster/failure-test', 'transfer-leadership']);
        const to = await waitFor(
          async () => {
            const l = await cluster.leader(timeoutMs);
            return l === from ? 0 : l + 1;
          },
          timeoutMs,
          `${database}: leadership to move away from member ${from}`,
        );
        return { from, to: to - 1 };
      },
      async compact(i) {
        await run('ovs-appctl', ['-t', ctl(i), 'ovsdb-server/compact', database]);
      },
      stop: () => cluster.stop(),
    };
    return db;
  }
  if (model !== 'standalone')
    throw new Error(
      `startOvnEnv: ${database} model "${String(model)}" is not allowed; expected standalone or clustered`,
    );
  let server = await startOvsdbServer({ schema });
  const first = server;
  const only = (i: number) => {
    if (i !== 0) throw new Error(`${database} is standalone: member ${i} does not exist (only 0)`);
  };
  return {
    database,
    model,
    endpoints: [server.unixEndpoint],
    remote: server.unixEndpoint,
    cluster: undefined,
    leader: async () => 0,
    ctl: (i) => {
      only(i);
      return join(server.dir, 'ctl');
    },
    async kill(i) {
      only(i);
      await server.kill('SIGKILL');
    },
    async restart(i) {
      only(i);
      server = await server.restart();
    },
    async transferLeadership() {
      throw new Error(`${database} is standalone: it has no leadership to transfer`);
    },
    async compact(i) {
      only(i);
      await run('ovs-appctl', ['-t', join(server.dir, 'ctl'), 'ovsdb-server/compact', database]);
    },
    // The first server object's stop() also stops whatever its restart() started.
    stop: () => first.stop(),
  };
}

interface Daemon {
  readonly process: ChildProcess;
  readonly alive: boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

interface Owned {
  dir: string;
  netns: Set<string>;
  daemons: Set<ChildProcess>;
}

/** A daemon in the foreground as a child, optionally inside a namespace (nsenter execs it: same pid). */
function spawnDaemon(
  owned: Owned,
  cmd: string,
  args: readonly string[],
  opts: { netns?: string; env?: NodeJS.ProcessEnv } = {},
): Daemon {
  const argv =
    opts.netns === undefined
      ? [cmd, ...args]
      : ['nsenter', `--net=/run/netns/${opts.netns}`, '--', cmd, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  child.stderr?.on('data', () => {});
  owned.daemons.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('exit', () => owned.daemons.delete(child));
  return {
    process: child,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
  };
}

function nsenter(netns: string, cmd: string, args: readonly string[], allowFail = false) {
  return run('nsenter', [`--net=/run/netns/${netns}`, '--', cmd, ...args], { allowFail });
}

class Chassis implements OvnChassis {
  readonly index: number;
  readonly name: string;
  readonly dir: string;
  readonly encapIp: string;
  readonly ovnRemote: string;
  #netns: string;
  readonly #owned: Owned;
  readonly #underlay: string;
  readonly #configure: boolean;
  #db: OvsdbServer | undefined;
  #vswitchd: Daemon | undefined;
  #controller: Daemon | undefined;
  readonly #workloads = new Set<string>();
  #dockerd: SimDockerd | undefined;
  #plugin: SimPlugin | undefined;
  #pluginOpts: { extraArgs?: readonly string[]; name?: string } = {};
  nbRemote = '';

  constructor(
    owned: Owned,
    index: number,
    dir: string,
    underlay: string,
    sbRemote: string,
    configure: boolean,
  ) {
    this.#owned = owned;
    this.index = index;
    this.name = uniqueName('ch', 24);
    this.dir = dir;
    this.encapIp = `${UNDERLAY_PREFIX}${index + 1}`;
    this.ovnRemote = sbRemote;
    this.#netns = uniqueName('ch');
    this.#underlay = underlay;
    this.#configure = configure;
  }

  get netns(): string {
    return this.#netns;
  }
  get endpoint(): string {
    return `unix:${join(this.dir, 'db', 'db.sock')}`;
  }
  get controllerPid(): number | undefined {
    return this.#controller?.alive ? this.#controller.process.pid : undefined;
  }
  get controllerCtl(): string | undefined {
    const pid = this.controllerPid;
    // ovn-controller 23.03 has no --unixctl: its control socket is OVN_RUNDIR/ovn-controller.PID.ctl.
    return pid === undefined ? undefined : join(this.dir, `ovn-controller.${pid}.ctl`);
  }
  get #env(): NodeJS.ProcessEnv {
    return { OVS_RUNDIR: this.dir, OVN_RUNDIR: this.dir };
  }

  get dockerd(): SimDockerd | undefined {
    return this.#dockerd;
  }
  get plugin(): SimPlugin | undefined {
    return this.#plugin;
  }

  docker(args: readonly string[], allowFail = false): Promise<RunResult> {
    if (!this.#dockerd) throw new Error(`chassis ${this.index} has no dockerd: start the env withDocker`);
    return this.#dockerd.docker(args, allowFail);
  }

  async startDocker(iptables: boolean): Promise<void> {
    // With its firewall on, as on a fresh host: IPv4 forwarding off first, so dockerd turns it on and sets
    // the FORWARD policy to DROP (a namespace may start with it on, inherited from the machine's).
    if (iptables) await run('ip', ['netns', 'exec', this.#netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=0']);
    this.#dockerd = await startDockerd({ netns: this.#netns, iptables });
  }

  async startPlugin(opts?: { extraArgs?: readonly string[]; name?: string }): Promise<SimPlugin> {
    if (!this.#dockerd) throw new Error(`chassis ${this.index} has no dockerd: start the env withDocker`);
    if (opts) this.#pluginOpts = opts;
    if (this.#plugin?.pid !== undefined) {
      if (!opts) return this.#plugin;
      await this.#plugin.stop();
    }
    if (this.#plugin && !opts) {
      await this.#plugin.start();
      return this.#plugin;
    }
    this.#plugin = await startPlugin({
      netns: this.#netns,
      ovsdb: this.endpoint,
      pluginDir: this.#dockerd.pluginDir,
      ...(this.#pluginOpts.name === undefined ? {} : { name: this.#pluginOpts.name }),
      extraArgs: ['--ovn-nb', this.nbRemote, ...(this.#pluginOpts.extraArgs ?? [])],
    });
    return this.#plugin;
  }

  async vsctl(...args: string[]): Promise<string> {
    return (await run('ovs-vsctl', [`--db=${this.endpoint}`, '--timeout=20', ...args])).stdout.trim();
  }

  /** Namespace, underlay link, ovsdb-server, ovs-vswitchd, bridges, ovn-controller. */
  async boot(first: boolean): Promise<void> {
    const ns = this.#netns;
    await createNetns(ns);
    this.#owned.netns.add(ns);
    // The veth is made in the underlay namespace with its peer created straight in the chassis namespace.
    const peer = `ocntp${this.index}`;
    await run('ip', ['-n', this.#underlay, 'link', 'del', peer], { allowFail: true });
    await run('ip', [
      '-n',
      this.#underlay,
      'link',
      'add',
      peer,
      'type',
      'veth',
      'peer',
      'name',
      CHASSIS_UPLINK,
      'netns',
      ns,
    ]);
    await run('ip', ['-n', this.#underlay, 'link', 'set', peer, 'master', UNDERLAY_BRIDGE, 'up']);
    await run('ip', ['-n', ns, 'link', 'set', CHASSIS_UPLINK, 'up']);
    await nsenter(this.#underlay, 'ethtool', ['-K', peer, 'tx', 'off'], true);
    await nsenter(ns, 'ethtool', ['-K', CHASSIS_UPLINK, 'tx', 'off'], true);
    await nsenter(
      ns,
      'sysctl',
      ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
      true,
    );

    const dbDir = join(this.dir, 'db');
    const dbFile = join(this.dir, 'conf.db');
    if (first) {
      mkdirSync(dbDir, { recursive: true });
      await run('ovsdb-tool', ['create', dbFile, VSWITCH_SCHEMA]);
      this.#db = await startOvsdbServer({ dbFile }, { dir: dbDir });
      await this.vsctl('--no-wait', 'init');
    } else {
      this.#db = await startOvsdbServer({ dbFile }, { dir: dbDir });
    }
    this.#vswitchd = spawnDaemon(
      this.#owned,
      'ovs-vswitchd',
      [
        this.endpoint,
        `--unixctl=${join(this.dir, 'ovs-vswitchd.ctl')}`,
        `--log-file=${join(this.dir, 'ovs-vswitchd.log')}`,
        '-vconsole:off',
        '--no-chdir',
      ],
      { netns: ns, env: this.#env },
    );
    await waitFor(
      async () => {
        if (!this.#vswitchd?.alive) throw new Error(`ovs-vswitchd of ${this.name} exited`);
        return (
          (
            await run('ovs-appctl', ['-t', join(this.dir, 'ovs-vswitchd.ctl'), 'version'], {
              allowFail: true,
            })
          ).code === 0
        );
      },
      15_000,
      `ovs-vswitchd of ${this.name}`,
    );
    if (first) {
      await this.vsctl(
        '--may-exist',
        'add-br',
        'br-phy',
        '--',
        'set',
        'Bridge',
        'br-phy',
        'datapath_type=netdev',
        '--',
        '--may-exist',
        'add-port',
        'br-phy',
        CHASSIS_UPLINK,
      );
      if (this.#configure) {
        await this.vsctl(
          '--may-exist',
          'add-br',
          'br-int',
          '--',
          'set',
          'Bridge',
          'br-int',
          'datapath_type=netdev',
          'fail-mode=secure',
          'other-config:disable-in-band=true',
        );
        await this.vsctl(
          'set',
          'Open_vSwitch',
          '.',
          `external_ids:system-id=${this.name}`,
          `external_ids:ovn-remote="${this.ovnRemote}"`,
          'external_ids:ovn-encap-type=geneve',
          `external_ids:ovn-encap-ip=${this.encapIp}`,
          'external_ids:ovn-bridge-datapath-type=netdev',
        );
      }
    }
    // br-phy's internal port (a tap device) holds the underlay address; vswitchd recreates it on boot.
    await waitFor(
      async () => (await run('ip', ['-n', ns, 'link', 'show', 'br-phy'], { allowFail: true })).code === 0,
      15_000,
      `br-phy of ${this.name}`,
    );
    await run('ip', ['-n', ns, 'addr', 'replace', `${this.encapIp}/24`, 'dev', 'br-phy']);
    await run('ip', ['-n', ns, 'link', 'set', 'br-phy', 'up']);
    await this.startController(!first || this.#configure);
  }

  async startController(wait = true): Promise<void> {
    if (this.#controller?.alive) return;
    // ovn-controller 23.03 has no --unixctl: its control socket is OVN_RUNDIR/ovn-controller.PID.ctl.
    this.#controller = spawnDaemon(
      this.#owned,
      'ovn-controller',
      [this.endpoint, `--log-file=${join(this.dir, 'ovn-controller.log')}`, '-vconsole:off', '--no-chdir'],
      { netns: this.#netns, env: this.#env },
    );
    if (wait) await this.waitConnected();
  }

  /** Waits until ovn-controller says it is connected to the SB. */
  async waitConnected(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        const ctl = this.controllerCtl;
        if (ctl === undefined) throw new Error(`ovn-controller of ${this.name} exited`);
        if (!existsSync(ctl)) return false;
        const r = await run('ovn-appctl', ['-t', ctl, 'connection-status'], {
          allowFail: true,
          timeoutMs: 5000,
        });
        return r.stdout.trim() === 'connected';
      },
      timeoutMs,
      `ovn-controller of ${this.name} to connect to the SB`,
    );
  }

  async killController(): Promise<void> {
    await this.#controller?.kill('SIGKILL');
    this.#controller = undefined;
    // A SIGKILLed ovn-controller leaves its control socket behind.
    for (const f of readdirSync(this.dir))
      if (/^ovn-controller\.\d+\.ctl$/.test(f)) rmSync(join(this.dir, f), { force: true });
  }

  async restartController(): Promise<void> {
    await this.killController();
    await this.startController();
  }

  async reboot(): Promise<void> {
    const hadPlugin = this.#plugin?.pid !== undefined;
    await this.#plugin?.kill('SIGKILL');
    await this.#dockerd?.kill();
    await this.killController();
    await this.#vswitchd?.kill('SIGKILL');
    await this.#db?.kill('SIGKILL');
    await deleteNetns(this.#netns);
    this.#owned.netns.delete(this.#netns);
    await sleep(50);
    await this.boot(false);
    // The plugin first: dockerd restarts `--restart` containers at once and gives up on a plugin that
    // does not answer within its retry window.
    if (hadPlugin) await this.#plugin?.start();
    await this.#dockerd?.start();
  }

  async addWorkload(opts: OvnWorkloadOptions): Promise<OvnWorkload> {
    const wl = await createNetns(uniqueName('wl'));
    this.#owned.netns.add(wl);
    this.#workloads.add(wl);
    const port = uniqueName('v');
    const ns = this.#netns;
    const ip = opts.address.split('/')[0] as string;
    try {
      await run('ip', ['-n', ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', wl]);
      await nsenter(ns, 'ethtool', ['-K', port, 'tx', 'off'], true);
      await nsenter(wl, 'ethtool', ['-K', 'eth0', 'tx', 'off'], true);
      await nsenter(
        wl,
        'sysctl',
        ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
        true,
      );
      await run('ip', ['-n', ns, 'link', 'set', port, 'up']);
      await run('ip', [
        '-n',
        wl,
        'link',
        'set',
        'eth0',
        'address',
        opts.mac,
        'mtu',
        String(opts.mtu ?? 1442),
        'up',
      ]);
      await run('ip', ['-n', wl, 'addr', 'add', opts.address, 'dev', 'eth0']);
      const bind =
        opts.ifaceId === undefined
          ? []
          : ['--', 'set', 'Interface', port, `external_ids:iface-id=${opts.ifaceId}`];
      await this.vsctl('add-port', 'br-int', port, ...bind);
    } catch (err) {
      await deleteNetns(wl);
      this.#owned.netns.delete(wl);
      throw err;
    }
    return {
      netns: wl,
      port,
      mac: opts.mac,
      address: opts.address,
      ip,
      remove: async () => {
        await this.vsctl('--if-exists', 'del-port', 'br-int', port).catch(() => {});
        await run('ip', ['-n', this.#netns, 'link', 'del', port], { allowFail: true });
        await deleteNetns(wl);
        this.#owned.netns.delete(wl);
        this.#workloads.delete(wl);
      },
    };
  }

  async shutdown(): Promise<void> {
    // Containers first, while the plugin still answers (Leave/DeleteEndpoint), then the daemons.
    await this.#dockerd?.stop().catch(() => {});
    await this.#plugin?.stop().catch(() => {});
    await this.killController();
    await this.#vswitchd?.kill('SIGKILL');
    await this.#db?.stop();
    for (const wl of this.#workloads) await deleteNetns(wl);
    await deleteNetns(this.#netns);
  }
}

// Environments still up when the test process ends are torn down synchronously, so a failing test leaves
// no daemon, namespace or directory behind (ovsdb-servers are reaped by ovs.ts). tap ends a test file that
// overruns with SIGTERM; turn that into an exit so this runs.
const envs = new Set<Owned>();
let hooked = false;
function reapSync(): void {
  for (const o of envs) {
    for (const child of o.daemons) child.kill('SIGKILL');
    for (const ns of o.netns) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {}
    }
    rmSync(o.dir, { recursive: true, force: true });
  }
  envs.clear();
}
function reapOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', reapSync);
  // Unconditionally: tap's signal-exit handler re-raises the signal when it is the only listener, and a
  // process killed by a signal never emits 'exit' (ovs.ts's reaper then never runs either).
  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
    // tap's root test SIGALRMs its own process 10 s after a timeout (@tapjs/core tap.js alarmKill).
    ['SIGALRM', 142],
  ] as const) {
    process.once(sig, () => {
      reapSync();
      process.exit(code);
    });
  }
}
