// Example 3 must keep working: the plugin runs against the sandbox (netdev datapath, a driver name and
// socket of this test's own), docker-compose brings the app up on two networks with driver_opts, the
// example checks HTTP/TCP/isolation/MTU/tenant, and `down` leaves no port, veth or network behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { docker, ensureDocker, REPO_ROOT, run, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { ovsdbEndpoint, runExample } from '../lib/run-example.js';

await ensureDocker();
const driver = uniqueName('drv');
const socket = `/run/docker/plugins/${driver}.sock`;
const bridge = uniqueName('br');
const project = uniqueName('p');
const vsctl = (...args: string[]) => run('ovs-vsctl', [`--db=${ovsdbEndpoint()}`, ...args]);

let plugin: ChildProcess | undefined;
let pluginLog = '';

t.teardown(async () => {
  // Whatever the example left (it runs `down` itself): containers and networks of the project.
  const { stdout: ids } = await docker(['ps', '-aq', '--filter', `name=${project}`], true);
  if (ids.trim()) await docker(['rm', '-f', ...ids.trim().split('\n')], true);
  const { stdout: nets } = await docker(['network', 'ls', '-q', '--filter', `name=${project}`], true);
  if (nets.trim()) await docker(['network', 'rm', ...nets.trim().split('\n')], true);
  if (plugin && plugin.exitCode === null) {
    const exited = new Promise((r) => plugin?.once('exit', r));
    plugin.kill('SIGTERM');
    await exited;
  }
  await vsctl('--if-exists', 'del-br', bridge).catch(() => undefined);
});

t.test('compose-app on the plugin', async (t) => {
  plugin = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'packages/docker-plugin/dist/bin/ovs-container-network.js'),
      '--ovsdb',
      ovsdbEndpoint(),
      '--name',
      driver,
      '--socket',
      socket,
      '--datapath-type',
      'netdev',
      '--prefix',
      'ocnt',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  plugin.stdout?.on('data', (d: Buffer) => {
    pluginLog += d.toString();
  });
  plugin.stderr?.on('data', (d: Buffer) => {
    pluginLog += d.toString();
  });
  await waitFor(() => existsSync(socket), 20_000, `the plugin socket ${socket}`);

  const r = await runExample('compose-app.ts', [
    '--ovsdb',
    ovsdbEndpoint(),
    '--driver',
    driver,
    '--bridge',
    bridge,
    '--project',
    project,
  ]);
  t.equal(r.code, 0, `exits 0\n${r.stdout}\n${r.stderr}\nplugin log:\n${pluginLog}`);
  t.match(r.stdout, /ok {3}app -> web over HTTP/);
  t.match(r.stdout, /ok {3}app -> db over TCP 5432/);
  t.match(r.stdout, /ok {3}web cannot reach db/);
  t.match(r.stdout, /ok {3}web's MTU is the network's/);
  t.match(r.stdout, /ok {3}tenant_id is recorded/);
  t.match(r.stdout, /down: removed containers and networks/);
  t.match(r.stdout, /all checks passed/);

  // After `down`: no endpoint port of this test's driver is left in OVS.
  const { stdout: ports } = await vsctl(
    '--data=bare',
    '--no-heading',
    '--columns=name',
    'find',
    'Port',
    `external_ids:ocn-owner=${driver}`,
  );
  t.equal(ports.trim(), '', 'no port of the driver left');
  const { stdout: nets } = await docker(['network', 'ls', '-q', '--filter', `name=${project}`]);
  t.equal(nets.trim(), '', 'no network left');
});
