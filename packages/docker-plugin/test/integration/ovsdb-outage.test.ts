// Regression (issue 12, item 6): during an ovsdb-server outage calls hung in silence — a `docker run`
// blocked 44.8 s and nothing was logged. Now the outage and the recovery are logged with their cause, and
// every call is answered within --call-timeout with an error that says OVSDB is unreachable, and where.
// Real ovsdb-server (killed and restarted on its database), the real plugin binary, real veths. Needs root.
import { run, startOvsdbServer, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { leftovers, postPlugin, startPluginProcess } from '../helpers/plugin.js';

const network = (id: string, bridge: string) => ({
  NetworkID: id,
  Options: { 'com.docker.network.generic': { bridge, gateway_mode: 'none' } },
  IPv4Data: [{ Pool: '10.65.0.0/24' }],
});

t.test(
  'ovsdb-server down: logged, answered within --call-timeout naming OVSDB; back: logged, working',
  async (t) => {
    let server = await startOvsdbServer();
    const db = server.unixEndpoint;
    await run('ovs-vsctl', [`--db=${db}`, '--no-wait', 'init']);
    const bridge = uniqueName('br');
    const p = await startPluginProcess({
      ovsdb: db,
      reconcileIntervalSeconds: 0,
      extraArgs: ['--call-timeout', '2'],
    });
    t.teardown(async () => {
      await p.stop();
      await server.stop();
    });
    const netA = 'a'.repeat(64);
    t.equal((await postPlugin(p.socket, '/NetworkDriver.CreateNetwork', network(netA, bridge))).status, 200);

    await server.kill('SIGKILL');
    await waitFor(
      () => p.logs.some((l) => l.includes('OVSDB unreachable')),
      10_000,
      'the outage to be logged',
    );
    const line = p.logs.find((l) => l.includes('OVSDB unreachable')) ?? '';
    t.match(line, new RegExp(`"ovsdb":"${db}"`), 'the outage log names the endpoint');
    t.match(line, /"err":"[^"]+"/, `and the cause: ${line}`);

    const created = await postPlugin(
      p.socket,
      '/NetworkDriver.CreateNetwork',
      network('b'.repeat(64), bridge),
      8000,
    );
    t.ok(created.ms < 4000, `CreateNetwork answered in ${created.ms} ms (bound 2 s)`);
    t.equal(created.status, 500);
    t.match(
      JSON.parse(created.body).Err,
      new RegExp(`OVSDB at ${db} is unreachable since .*; gave up after`),
    );

    const ep = await postPlugin(p.socket, '/NetworkDriver.CreateEndpoint', {
      NetworkID: netA,
      EndpointID: 'e'.repeat(64),
      Interface: {},
    });
    t.ok(ep.ms < 4000, `CreateEndpoint answered in ${ep.ms} ms`);
    t.equal(ep.status, 500);
    t.match(JSON.parse(ep.body).Err, /OVSDB at .* is unreachable/);
    const links = (await run('ip', ['-o', 'link', 'show'])).stdout
      .split('\n')
      .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
      .filter((n) => n.startsWith(p.prefix));
    t.same(links, [], 'the veth it made was rolled back');

    const info = await postPlugin(p.socket, '/NetworkDriver.EndpointOperInfo', {
      NetworkID: netA,
      EndpointID: 'e'.repeat(64),
    });
    t.equal(info.status, 200, 'read-only calls are answered from the replica meanwhile');

    server = await server.restart();
    await waitFor(
      () => p.logs.some((l) => l.includes('OVSDB connection restored')),
      20_000,
      'the recovery log',
    );
    const again = await postPlugin(p.socket, '/NetworkDriver.CreateNetwork', network('c'.repeat(64), bridge));
    t.equal(again.status, 200, `working again: ${again.body}`);
    for (const id of [netA, 'c'.repeat(64)])
      await postPlugin(p.socket, '/NetworkDriver.DeleteNetwork', { NetworkID: id });
    t.same(await leftovers(p), [], 'nothing left');
  },
);
