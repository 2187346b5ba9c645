// The north-south checks against a dockerd with its DEFAULT firewall (iptables=true: FORWARD policy DROP,
// DOCKER-USER), without touching the machine's own dockerd or firewall: a namespace acting as the host,
// with its own ovsdb-server + userspace ovs-vswitchd (one per namespace, PROTOCOLS.md §1), its own dockerd
// (testkit startDockerd) and the plugin inside it. Also checks that iptables-nft still reads the tables
// dockerd owns after the plugin wrote DOCKER-USER. Needs root, OVS, dockerd, nft, iptables-nft, gcc.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  createNetns,
  deleteNetns,
  run,
  startDockerd,
  startOvsdbServer,
  startPlugin,
  uniqueName,
  waitFor,
} from '@ovs-container-network/testkit';
import t from 'tap';
import { hostRun } from '../helpers/north-south.js';
import { portsSuite } from '../helpers/ports-suite.js';

t.test('north-south on a dockerd with its default firewall (iptables=true)', async (t) => {
  const ns = await createNetns(uniqueName('fw'));
  t.teardown(() => deleteNetns(ns));
  const db = await startOvsdbServer();
  t.teardown(() => db.stop());
  await run('ovs-vsctl', [`--db=${db.unixEndpoint}`, '--no-wait', 'init']);
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
  t.teardown(() => {
    vswitchd.kill('SIGKILL');
  });
  await waitFor(
    async () =>
      (await run('ovs-appctl', ['-t', join(db.dir, 'vswitchd.ctl'), 'version'], { allowFail: true })).code ===
      0,
    15_000,
    'ovs-vswitchd in the namespace',
  );
  // IPv6 forwarding on in this "host", so IPv6 ports go through DNAT here (the machine's own netns has it
  // off, where the proxy serves IPv6): both paths are tested between the two files.
  // IPv4 forwarding off first, as on a fresh host: dockerd then turns it on and sets FORWARD to DROP (the
  // case of issue 16). A new namespace inherits it on here.
  await run('nsenter', [
    `--net=/run/netns/${ns}`,
    '--',
    'sysctl',
    '-qw',
    'net.ipv4.ip_forward=0',
    'net.ipv6.conf.all.forwarding=1',
  ]);
  const dockerd = await startDockerd({ netns: ns, iptables: true });
  t.teardown(() => dockerd.stop());
  const host = { netns: ns };
  const forward = await hostRun(host, 'iptables-nft', ['-S', 'FORWARD']);
  t.match(forward.stdout, /-P FORWARD DROP/, 'dockerd set the FORWARD policy to DROP');
  t.match(forward.stdout, /-j DOCKER-USER/, 'and jumps to DOCKER-USER');

  const plugin = await startPlugin({
    netns: ns,
    ovsdb: db.unixEndpoint,
    pluginDir: dockerd.pluginDir,
    name: uniqueName('p'),
    extraArgs: ['--reconcile-interval', '2', '--orphan-grace', '15'],
  });
  t.teardown(() => plugin.stop());

  await portsSuite(t, {
    label: 'dockerd iptables=true',
    docker: (args, allowFail) => dockerd.docker(args, allowFail),
    host,
    plugin,
    bridge: uniqueName('br'),
    // Checked while the networks exist: iptables-nft still parses the table dockerd owns.
    async whileUp(t) {
      const user = await hostRun(host, 'iptables-nft', ['-S', 'DOCKER-USER']);
      t.equal(user.code, 0, `iptables-nft -S DOCKER-USER: ${user.stderr.trim()}`);
      t.match(
        user.stdout,
        /-s 10\.\d+\.\d+\.0\/24 .*-j ACCEPT/,
        'our accepts are there, readable by iptables',
      );
      const save = await hostRun(host, 'iptables-nft-save', []);
      t.equal(save.code, 0, 'iptables-nft-save reads every table');
      t.notMatch(save.stderr + save.stdout, /incompatible|unsupported/i, 'no table iptables cannot read');
    },
  });
  const after = await hostRun(host, 'iptables-nft', ['-S', 'DOCKER-USER']);
  t.notMatch(after.stdout, /ocn-/, 'no DOCKER-USER rule of ours once the networks are gone');
});
