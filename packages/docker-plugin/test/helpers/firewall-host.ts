// A namespace acting as a host with a dockerd in its DEFAULT firewall setting (iptables=true), so tests
// and benchmarks see Docker's FORWARD DROP policy and DOCKER-USER without touching the machine's own
// dockerd or firewall: its own ovsdb-server and userspace ovs-vswitchd (one per namespace, PROTOCOLS.md
// §1), its own dockerd (testkit startDockerd) and the plugin running inside it.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  createNetns,
  deleteNetns,
  run,
  type SimDockerd,
  type SimPlugin,
  startDockerd,
  startOvsdbServer,
  startPlugin,
  uniqueName,
  waitFor,
} from '@ovs-container-network/testkit';

export interface FirewallHost {
  ns: string;
  ovsdb: string;
  dockerd: SimDockerd;
  plugin: SimPlugin;
  stop(): Promise<void>;
}

/**
 * OCN_TEST_OVS_OTHER_CONFIG="k=v k=v": other_config for the namespace's vswitchd when the caller gives
 * none (e.g. `userspace-tso-enable=true` to run a suite on a vswitchd with userspace TSO).
 */
export function otherConfigFromEnv(
  text = process.env.OCN_TEST_OVS_OTHER_CONFIG ?? '',
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of text.split(/\s+/).filter(Boolean)) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`OVS other_config ${JSON.stringify(kv)} is not KEY=VALUE`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

export async function startFirewallHost(
  opts: {
    pluginArgs?: string[];
    ipv6Forwarding?: boolean;
    /** Open_vSwitch other_config set before vswitchd starts (e.g. userspace-tso-enable, read only then). */
    ovsOtherConfig?: Readonly<Record<string, string>>;
  } = {},
): Promise<FirewallHost> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    const ns = await createNetns(uniqueName('fw'));
    cleanups.push(() => deleteNetns(ns));
    const db = await startOvsdbServer();
    cleanups.push(() => db.stop());
    await run('ovs-vsctl', [`--db=${db.unixEndpoint}`, '--no-wait', 'init']);
    for (const [k, v] of Object.entries(opts.ovsOtherConfig ?? otherConfigFromEnv()))
      await run('ovs-vsctl', [
        `--db=${db.unixEndpoint}`,
        '--no-wait',
        'set',
        'Open_vSwitch',
        '.',
        `other_config:${k}=${v}`,
      ]);
    const vswitchd: ChildProcess = spawn(
      'setpriv',
      [
        '--pdeathsig',
        'SIGKILL',
        '--',
        'nsenter',
        `--net=/run/netns/${ns}`,
        '--',
        'ovs-vswitchd',
        db.unixEndpoint,
        `--unixctl=${join(db.dir, 'vswitchd.ctl')}`,
        `--log-file=${join(db.dir, 'vswitchd.log')}`,
        '-vconsole:off',
        '--no-chdir',
      ],
      { stdio: 'ignore', env: { ...process.env, OVS_RUNDIR: db.dir } },
    );
    cleanups.push(() => {
      vswitchd.kill('SIGKILL');
    });
    await waitFor(
      async () =>
        (await run('ovs-appctl', ['-t', join(db.dir, 'vswitchd.ctl'), 'version'], { allowFail: true }))
          .code === 0,
      15_000,
      'ovs-vswitchd in the namespace',
    );
    // IPv4 forwarding off first, as on a fresh host: dockerd then turns it on and sets FORWARD to DROP
    // (the case of issue 16; a new namespace would inherit it on here).
    await run('nsenter', [
      `--net=/run/netns/${ns}`,
      '--',
      'sysctl',
      '-qw',
      'net.ipv4.ip_forward=0',
      `net.ipv6.conf.all.forwarding=${opts.ipv6Forwarding === false ? 0 : 1}`,
    ]);
    const dockerd = await startDockerd({ netns: ns, iptables: true });
    cleanups.push(() => dockerd.stop());
    const plugin = await startPlugin({
      netns: ns,
      ovsdb: db.unixEndpoint,
      pluginDir: dockerd.pluginDir,
      name: uniqueName('p'),
      extraArgs: opts.pluginArgs ?? ['--reconcile-interval', '2', '--orphan-grace', '15'],
    });
    cleanups.push(() => plugin.stop());
    return { ns, ovsdb: db.unixEndpoint, dockerd, plugin, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
