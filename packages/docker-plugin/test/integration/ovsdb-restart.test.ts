// The plugin's only memory is the OVSDB replica: killed and restarted ovsdb-server (same database file),
// the session reconnects and the driver keeps working, knowing every network and endpoint it had; a plugin
// started afresh on the same database knows them too. Real ovsdb-server and real veth pairs; no vswitchd is
// needed with gateway_mode=none.

import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { run, startOvsdbServer, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { startPlugin } from '../../src/plugin.js';
import { testPrefix } from '../helpers/plugin.js';

function call(
  socketPath: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', agent: false }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => {
        data += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data || '{}') }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const NET = `${'a'.repeat(56)}${Math.random().toString(16).slice(2, 10)}`;
const ep = (i: number) => `${NET.slice(0, 56)}${String(i).padStart(8, '0')}`;

t.test('ovsdb-server killed and restarted: the plugin reconnects and remembers', async (t) => {
  let server = await startOvsdbServer();
  await run('ovs-vsctl', [`--db=${server.unixEndpoint}`, '--no-wait', 'init']);
  const prefix = testPrefix();
  const bridge = uniqueName('br');
  const socket = `/run/docker/plugins/${uniqueName('p')}.sock`;
  const start = () =>
    startPlugin({
      ovsdb: server.unixEndpoint,
      name: 'ocnttest',
      socket,
      datapathType: 'netdev',
      prefix,
      reconcileIntervalMs: 0,
    });
  let plugin = await start();
  t.teardown(async () => {
    await plugin.close().catch(() => undefined);
    const { stdout } = await run('ip', ['-o', 'link', 'show']);
    for (const l of stdout.split('\n')) {
      const name = l.split(': ')[1]?.split('@')[0];
      if (name?.startsWith(prefix)) await run('ip', ['link', 'del', name], { allowFail: true });
    }
    await server.stop();
    rmSync(socket, { force: true });
  });

  const created = await call(socket, '/NetworkDriver.CreateNetwork', {
    NetworkID: NET,
    Options: { 'com.docker.network.generic': { bridge, gateway_mode: 'none', vlan: '77' } },
    IPv4Data: [{ Pool: '10.99.0.0/24', Gateway: '10.99.0.1/24' }],
  });
  t.equal(created.status, 200);
  t.equal(
    (
      await call(socket, '/NetworkDriver.CreateEndpoint', {
        NetworkID: NET,
        EndpointID: ep(1),
        Interface: { Address: '10.99.0.2/24' },
      })
    ).status,
    200,
  );

  server = await server.restart();
  await waitFor(() => plugin.backend.connected, 20_000, 'the session to reconnect');
  const again = await call(socket, '/NetworkDriver.CreateEndpoint', {
    NetworkID: NET,
    EndpointID: ep(2),
    Interface: { Address: '10.99.0.3/24' },
  });
  t.equal(again.status, 200, `CreateEndpoint after the restart: ${JSON.stringify(again.body)}`);
  const join = await call(socket, '/NetworkDriver.Join', {
    NetworkID: NET,
    EndpointID: ep(1),
    SandboxKey: '',
  });
  t.match(
    join.body,
    { InterfaceName: { SrcName: new RegExp(`^${prefix}c`) } },
    'the endpoint from before the restart is still known',
  );

  await plugin.close();
  plugin = await start();
  t.equal(plugin.driver.stats().endpoints, 2, 'a new plugin process reads both endpoints from OVS');
  const tag = (
    await run('ovs-vsctl', [
      `--db=${server.unixEndpoint}`,
      'get',
      'Port',
      plugin.driver.endpointPort(ep(2))?.name ?? '?',
      'tag',
    ])
  ).stdout.trim();
  t.equal(tag, '77');
  for (const i of [1, 2]) {
    t.equal(
      (await call(socket, '/NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: ep(i) })).status,
      200,
    );
  }
  t.equal((await call(socket, '/NetworkDriver.DeleteNetwork', { NetworkID: NET })).status, 200);
  t.equal(
    (await run('ovs-vsctl', [`--db=${server.unixEndpoint}`, 'br-exists', bridge], { allowFail: true })).code,
    2,
    'bridge gone',
  );
});
