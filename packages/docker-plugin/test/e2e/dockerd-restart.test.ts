// dockerd restarted with `--restart always` containers on the plugin's network: they come back connected
// (Docker re-creates their endpoints with new ids; the old ones are gone from OVS). dockerd is shared by
// every test on this machine, so this test runs a PRIVATE dockerd (own data/exec root, socket, containerd)
// and restarts that one; plugin discovery (/run/docker/plugins) is shared, and the names are unique.
// Its default bridge is a Linux bridge of its own (never --bridge=none, which deletes docker0).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { DOCKER, ensureDocker, run, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { deleteBridges, ovsEndpointIds, settledLeftovers, startPluginProcess } from '../helpers/plugin.js';

t.test('dockerd restart: --restart always containers come back connected', async (t) => {
  await ensureDocker();
  const p = await startPluginProcess({ orphanGraceSeconds: 10 });
  const dir = `/run/${uniqueName('dd')}`;
  const sock = `${dir}/docker.sock`;
  mkdirSync(dir, { recursive: true });
  const bridge = uniqueName('br');
  const net = uniqueName('nr');
  // Its default bridge network gets a Linux bridge of its own: with --bridge=none dockerd DELETES docker0
  // (moby daemon_unix.go removeDefaultBridgeInterface), which would break the shared daemon.
  const dbridge = uniqueName('db');
  await run('ip', ['link', 'add', dbridge, 'type', 'bridge']);
  await run('ip', ['addr', 'add', `172.31.${Math.floor(Math.random() * 250) + 1}.1/24`, 'dev', dbridge]);
  let daemon: ChildProcess | undefined;
  const dk = (args: string[], allowFail = false) =>
    run(DOCKER, ['-H', `unix://${sock}`, ...args], { allowFail, timeoutMs: 120_000 });
  const startDaemon = async () => {
    daemon = spawn(
      'dockerd',
      [
        '-H',
        `unix://${sock}`,
        '--data-root',
        `${dir}/data`,
        '--exec-root',
        `${dir}/x`,
        '--pidfile',
        `${dir}/dockerd.pid`,
        `--bridge=${dbridge}`,
        '--iptables=false',
        '--ip6tables=false',
        '--ip-masq=false',
        '--log-level=warn',
        '--shutdown-timeout=2',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(async () => (await dk(['info'], true)).code === 0, 60_000, 'the private dockerd');
  };
  const stopDaemon = async () => {
    const d = daemon;
    if (!d || d.exitCode !== null || d.signalCode !== null) return;
    const exited = new Promise<void>((r) => d.once('exit', () => r()));
    d.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
    await exited;
  };
  t.teardown(async () => {
    if (daemon && daemon.exitCode === null) {
      await dk(['rm', '-f', 'ocntr1', 'ocntr2'], true);
      await dk(['network', 'rm', net], true);
    }
    await stopDaemon();
    // The bridge goes even when stop() throws, or it leaks into the next run.
    await p.stop().finally(() => deleteBridges(p.ovsdb, [bridge]));
    rmSync(dir, { recursive: true, force: true });
    await run('ip', ['link', 'del', dbridge], { allowFail: true });
  });

  await startDaemon();
  const image = await run('sh', ['-c', `${DOCKER} save local/busybox | ${DOCKER} -H unix://${sock} load`]);
  t.match(image.stdout, /local\/busybox/, 'image copied into the private dockerd');
  const o2 = Math.floor(Math.random() * 200) + 20;
  await dk([
    'network',
    'create',
    '-d',
    p.name,
    '--subnet',
    `10.${o2}.249.0/24`,
    '-o',
    `bridge=${bridge}`,
    net,
  ]);
  for (const [c, ip] of [
    ['ocntr1', `10.${o2}.249.11`],
    ['ocntr2', `10.${o2}.249.12`],
  ] as const) {
    await dk([
      'run',
      '-d',
      '--name',
      c,
      '--restart',
      'always',
      '--network',
      net,
      '--ip',
      ip,
      'local/busybox',
      'sleep',
      '3600',
    ]);
  }
  const ping = async () =>
    (await dk(['exec', 'ocntr1', 'ping', '-c', '1', '-W', '1', `10.${o2}.249.12`], true)).code === 0;
  t.ok(await ping(), 'before the restart: ping');
  const netId = (await dk(['network', 'inspect', '-f', '{{.Id}}', net])).stdout.trim();
  const endpointsInOvs = () => ovsEndpointIds(p.ovsdb, netId);
  const endpointsInDocker = async () =>
    (await dk(['network', 'inspect', '-f', '{{range .Containers}}{{.EndpointID}} {{end}}', net])).stdout
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .sort();
  const before = await endpointsInOvs();
  t.equal(before.length, 2);

  await stopDaemon();
  await startDaemon();
  await waitFor(
    async () =>
      (await dk(['inspect', '-f', '{{.State.Running}}', 'ocntr1', 'ocntr2'], true)).stdout.trim() ===
      'true\ntrue',
    60_000,
    'containers restarted',
  );
  t.ok(
    await waitFor(ping, 30_000, 'ping after the restart'),
    'after the restart: the containers are connected again',
  );
  await waitFor(
    async () => JSON.stringify(await endpointsInOvs()) === JSON.stringify(await endpointsInDocker()),
    45_000,
    'OVS to hold exactly Docker’s endpoints',
  );
  const after = await endpointsInOvs();
  t.equal(after.length, 2, 'two endpoints in OVS');
  t.notSame(after, before, 'new endpoint ids; the old ports are gone');

  await dk(['rm', '-f', 'ocntr1', 'ocntr2']);
  await dk(['network', 'rm', net]);
  t.same(await settledLeftovers(p), [], 'nothing left');
});
