// The plugin's own IPAM driver (--ipam-driver) with its state in OVS: addresses survive a plugin restart
// without collisions, pools are released with the network. And the Prometheus endpoint (--metrics).
import { docker, ensureDocker, freePort, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  canPingFrom,
  containerIp,
  deleteBridges,
  ipamAddresses,
  removeAll,
  runContainer,
  settledLeftovers,
  startPluginProcess,
  vsctl,
} from '../helpers/plugin.js';

t.test('IPAM driver state in OVS across a restart; metrics', async (t) => {
  await ensureDocker();
  const port = await freePort();
  const p = await startPluginProcess({ extraArgs: ['--metrics', `127.0.0.1:${port}`] });
  const bridge = uniqueName('br');
  const net = uniqueName('ni');
  const containers: string[] = [];
  t.teardown(async () => {
    await removeAll(containers, [net]);
    // The bridge goes even when stop() throws, or it leaks into the next run.
    await p.stop().finally(() => deleteBridges(p.ovsdb, [bridge]));
  });
  const o2 = Math.floor(Math.random() * 200) + 20;
  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--ipam-driver',
    p.name,
    '--subnet',
    `10.${o2}.248.0/24`,
    '--gateway',
    `10.${o2}.248.1`,
    '-o',
    `bridge=${bridge}`,
    net,
  ]);
  const c1 = await runContainer(net);
  const c2 = await runContainer(net);
  containers.push(c1, c2);
  const ip1 = await containerIp(c1, net);
  const ip2 = await containerIp(c2, net);
  t.same([ip1, ip2].sort(), [`10.${o2}.248.2`, `10.${o2}.248.3`], 'addresses from the plugin IPAM');
  t.ok(await canPingFrom(c1, ip2), 'ping');
  const key = `ocn-ipam-${p.name}`;
  const stored = JSON.parse(
    JSON.parse(await vsctl(p.ovsdb, 'get', 'Open_vSwitch', '.', `external_ids:${key}`)),
  );
  t.match(stored, { v: 2, pools: [{ pool: `10.${o2}.248.0/24` }] }, 'the pool in Open_vSwitch external_ids');
  t.same(
    await ipamAddresses(p.ovsdb, p.name, `10.${o2}.248.0/24`),
    [`10.${o2}.248.1`, `10.${o2}.248.2`, `10.${o2}.248.3`],
    'its addresses as lease rows (Queue), one per address',
  );

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.match(metrics, /ocn_plugin_calls_total\{call="NetworkDriver.CreateEndpoint"\} 2/, 'calls per call');
  t.match(
    metrics,
    /ocn_plugin_call_duration_seconds_bucket\{le="[^"]+",call="NetworkDriver.Join"\}/,
    'latency per call',
  );
  t.match(metrics, /ocn_plugin_networks 1/, 'networks');
  t.match(metrics, /ocn_plugin_endpoints 2/, 'endpoints');
  t.match(metrics, /ocn_plugin_ovsdb_connected 1/, 'OVSDB connection state');

  await p.stop();
  await p.start();
  const c3 = await runContainer(net);
  containers.push(c3);
  t.equal(
    await containerIp(c3, net),
    `10.${o2}.248.4`,
    'after a restart the next address is still free (state came from OVS)',
  );
  t.ok(await canPingFrom(c3, ip1), 'and it is connected');

  await docker(['rm', '-f', ...containers.splice(0)]);
  await docker(['network', 'rm', net]);
  const ids = await vsctl(p.ovsdb, 'get', 'Open_vSwitch', '.', 'external_ids');
  t.notMatch(ids, key, 'pool and addresses released with the network: the IPAM key is gone');
  t.same(await ipamAddresses(p.ovsdb, p.name, `10.${o2}.248.0/24`), [], 'and its lease rows');
  t.same(await settledLeftovers(p), [], 'no leftovers');
});
