// The managed (v2) plugin: rootfs built by scripts/build-managed-plugin.sh on its default path (no registry
// image; the npm packages come from the registry), created and enabled with the sandbox's OVS run directory
// mounted; the driver registers as NAME:latest and carries real traffic.
import { join } from 'node:path';
import { docker, ensureDocker, REPO_ROOT, run, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  canPingFrom,
  containerIp,
  deleteBridges,
  removeAll,
  runContainer,
  tcpBetween,
  testPrefix,
  vsctl,
} from '../helpers/plugin.js';

const SCRIPT = join(REPO_ROOT, 'scripts/build-managed-plugin.sh');

t.test('managed plugin: create, enable, containers talk over OVS, nothing left', async (t) => {
  await ensureDocker();
  const ovsDir = process.env.OCN_OVS_DIR;
  const ovsdb = process.env.OCN_OVSDB;
  if (!ovsDir || !ovsdb) throw new Error('OCN_OVS_DIR/OCN_OVSDB are not set: run through scripts/test.sh');
  const name = uniqueName('m');
  const prefix = testPrefix();
  const bridge = uniqueName('br');
  const net = uniqueName('nm');
  const containers: string[] = [];
  t.teardown(async () => {
    await removeAll(containers, [net]);
    await run(SCRIPT, ['--remove', name], { allowFail: true });
    await deleteBridges(ovsdb, [bridge]);
  });
  // The plugin sees the sandbox's db.sock at the default path /var/run/openvswitch/db.sock.
  await run(
    SCRIPT,
    [
      name,
      '--set',
      `ovs-rundir.source=${ovsDir}`,
      '--set',
      'OCN_DATAPATH_TYPE=netdev',
      '--set',
      `OCN_PREFIX=${prefix}`,
      '--set',
      `OCN_NAME=${name}`,
      '--enable',
    ],
    { timeoutMs: 180_000 },
  );
  const ls = await docker(['plugin', 'ls', '--format', '{{.Name}} {{.Enabled}}']);
  t.match(ls.stdout, new RegExp(`${name}:latest true`), 'enabled as NAME:latest');

  const o2 = Math.floor(Math.random() * 200) + 20;
  await docker([
    'network',
    'create',
    '-d',
    `${name}:latest`,
    '--subnet',
    `10.${o2}.254.0/24`,
    '-o',
    `bridge=${bridge}`,
    '-o',
    'vlan=42',
    net,
  ]);
  const a = await runContainer(net);
  const b = await runContainer(net);
  containers.push(a, b);
  const bip = await containerIp(b, net);
  t.ok(await canPingFrom(a, bip), 'ping through the managed plugin');
  t.equal(await tcpBetween(a, b, bip), 1024 * 1024, 'TCP through the managed plugin');
  const owners = await vsctl(
    ovsdb,
    '--columns=name',
    '--format=csv',
    '--no-headings',
    'find',
    'Port',
    `external_ids:ocn-owner=${name}`,
  );
  t.equal(
    owners.split('\n').filter(Boolean).length,
    3,
    'two endpoint ports and the gateway, owned by the plugin',
  );

  await docker(['rm', '-f', ...containers.splice(0)]);
  await docker(['network', 'rm', net]);
  // vswitchd deletes the gateway's tap shortly after its port is gone.
  const links = async () =>
    (await run('ip', ['-o', 'link', 'show'])).stdout.split('\n').filter((l) => l.includes(`: ${prefix}`));
  await waitFor(async () => (await links()).length === 0, 15_000, 'the plugin interfaces to go');
  t.same(await links(), [], 'no veth or gateway port left');
  t.equal(
    (await run('ovs-vsctl', [`--db=${ovsdb}`, 'br-exists', bridge], { allowFail: true })).code,
    2,
    'bridge removed',
  );
});
