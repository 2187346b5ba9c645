// Networks on two bridges at once, the same VLAN id on both bridges kept apart, and an uplink trunk carrying
// a network's VLAN to a namespace that acts as the outside router (gateway_mode=external).
import {
  createNetns,
  deleteNetns,
  docker,
  ensureDocker,
  nsExec,
  run,
  uniqueName,
} from '@ovs-container-network/testkit';
import t from 'tap';
import {
  canArp,
  canPingFrom,
  containerIp,
  deleteBridges,
  exec,
  removeAll,
  runContainer,
  settledLeftovers,
  startPluginProcess,
  tcpBetween,
  vsctl,
} from '../helpers/plugin.js';

const o2 = Math.floor(Math.random() * 200) + 20;
const o3 = (Math.floor(Math.random() * 60) + 1) * 4;

t.test('two bridges, one VLAN id on both, and an uplink trunk to a router namespace', async (t) => {
  await ensureDocker();
  const p = await startPluginProcess();
  const brA = uniqueName('ba');
  const brB = uniqueName('bb');
  const brR = uniqueName('br');
  const containers: string[] = [];
  const networks: string[] = [];
  const ns = await createNetns();
  const upHost = uniqueName('up');
  t.teardown(async () => {
    await removeAll(containers, networks);
    await p.stop();
    await deleteNetns(ns);
    await run('ip', ['link', 'del', upHost], { allowFail: true });
    await deleteBridges(p.ovsdb, [brA, brB, brR]);
  });

  const netX = uniqueName('nx');
  const netY = uniqueName('ny');
  networks.push(netX, netY);
  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--subnet',
    `10.${o2}.${o3}.0/24`,
    '-o',
    `bridge=${brA}`,
    '-o',
    'vlan=100',
    netX,
  ]);
  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--subnet',
    `10.${o2}.${o3 + 1}.0/24`,
    '-o',
    `bridge=${brB}`,
    '-o',
    'vlan=100',
    netY,
  ]);
  const x1 = await runContainer(netX);
  const x2 = await runContainer(netX);
  const y1 = await runContainer(netY);
  const y2 = await runContainer(netY);
  containers.push(x1, x2, y1, y2);
  const x1ip = await containerIp(x1, netX);
  const y1ip = await containerIp(y1, netY);
  t.ok(await canPingFrom(x2, x1ip), `ping on bridge ${brA}`);
  t.ok(await canPingFrom(y2, y1ip), `ping on bridge ${brB}`);
  t.equal(await tcpBetween(y2, y1, y1ip), 1024 * 1024, `TCP on bridge ${brB}`);
  t.equal(await vsctl(p.ovsdb, 'br-exists', brA), '', 'both bridges exist');
  const tags = await vsctl(
    p.ovsdb,
    '--columns=tag',
    '--format=csv',
    '--no-headings',
    'find',
    'Port',
    `external_ids:ocn-network=${(await docker(['network', 'inspect', '-f', '{{.Id}}', netY])).stdout.trim()}`,
  );
  t.match(tags, /100/, 'VLAN 100 on the second bridge too');
  t.ok(await canArp(x2, x1ip), 'control: ARP on VLAN 100 of the first bridge');
  t.notOk(await canArp(y1, x1ip), 'VLAN 100 of one bridge does not reach VLAN 100 of the other (L2)');
  t.notOk(await canPingFrom(y1, x1ip), 'nor routed through the host');

  // Uplink: a veth trunk into a second OVS bridge (the "outside" switch; this kernel has no 8021q module),
  // where an access port on the VLAN leads to a namespace holding the router address.
  const vid = 300 + Math.floor(Math.random() * 100);
  const upFar = uniqueName('uf');
  const rHost = uniqueName('rh');
  await run('ip', ['link', 'add', upHost, 'type', 'veth', 'peer', 'name', upFar]);
  await run('ip', ['link', 'set', upHost, 'up']);
  await run('ip', ['link', 'set', upFar, 'up']);
  await run('ip', ['link', 'add', rHost, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await run('ip', ['link', 'set', rHost, 'up']);
  await nsExec(ns, 'ip', ['addr', 'add', `10.${o2}.${o3 + 2}.254/24`, 'dev', 'eth0']);
  await nsExec(ns, 'ip', ['link', 'set', 'eth0', 'up']);
  // The router sends into OVS through a veth (PROTOCOLS.md §1).
  await nsExec(ns, 'ethtool', ['-K', 'eth0', 'tx', 'off']);
  await vsctl(p.ovsdb, 'add-br', brR, '--', 'set', 'Bridge', brR, 'datapath_type=netdev');
  await vsctl(p.ovsdb, 'add-port', brR, upFar, `trunks=${vid}`);
  await vsctl(p.ovsdb, 'add-port', brR, rHost, `tag=${vid}`);
  const netU = uniqueName('nu');
  networks.push(netU);
  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--subnet',
    `10.${o2}.${o3 + 2}.0/24`,
    '--gateway',
    `10.${o2}.${o3 + 2}.254`,
    '-o',
    `bridge=${brA}`,
    '-o',
    `vlan=${vid}`,
    '-o',
    `uplink=${upHost}`,
    '-o',
    'gateway_mode=external',
    netU,
  ]);
  t.equal(
    await vsctl(p.ovsdb, 'get', 'Port', upHost, 'trunks'),
    `[${vid}]`,
    'the uplink is a trunk of the VLAN',
  );
  const u1 = await runContainer(netU);
  containers.push(u1);
  t.ok(await canPingFrom(u1, `10.${o2}.${o3 + 2}.254`), 'the container reaches the router over the trunk');
  const route = (await exec(u1, ['ip', 'route'])).stdout;
  t.match(route, new RegExp(`default via 10\\.${o2}\\.${o3 + 2}\\.254`), 'the router is the default gateway');
  const u1ip = await containerIp(u1, netU);
  const fromRouter = await nsExec(ns, 'ping', ['-c', '2', '-W', '1', u1ip], true);
  t.equal(fromRouter.code, 0, 'the router reaches the container');

  await docker(['rm', '-f', ...containers.splice(0)]);
  for (const n of networks.splice(0)) await docker(['network', 'rm', n]);
  t.same(await settledLeftovers(p), [], 'nothing with the plugin prefix is left');
  const brs = await vsctl(p.ovsdb, 'list-br');
  t.notMatch(brs, brA, 'bridge A removed');
  t.notMatch(brs, brB, 'bridge B removed');
  t.equal(
    (await run('ip', ['link', 'show', upHost], { allowFail: true })).code,
    0,
    'the uplink interface itself is left alone',
  );
});
