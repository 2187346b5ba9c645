// Bad input through `docker network create` gets the driver's clear error and changes nothing in OVS;
// malformed requests and unknown calls sent straight to the socket get 500 {"Err"} and the plugin keeps
// serving.
import { request } from 'node:http';
import { docker, ensureDocker, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { deleteBridges, leftovers, removeAll, startPluginProcess, vsctl } from '../helpers/plugin.js';

function post(socketPath: string, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST' }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => {
        data += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('bad network options are refused with a clear error and OVS is unchanged', async (t) => {
  await ensureDocker();
  const p = await startPluginProcess();
  const bridge = uniqueName('br');
  const networks: string[] = [];
  t.teardown(async () => {
    await removeAll([], networks);
    await p.stop();
    await deleteBridges(p.ovsdb, [bridge]);
  });
  const first = uniqueName('nv');
  networks.push(first);
  await docker(['network', 'create', '-d', p.name, '-o', `bridge=${bridge}`, '-o', 'vlan=100', first]);
  const state = async () => ({
    bridges: await vsctl(
      p.ovsdb,
      '--columns=name,external_ids',
      '--format=json',
      'find',
      'Bridge',
      `external_ids:ocn-owner=${p.name}`,
    ),
    ports: await leftovers(p),
  });
  const before = await state();

  const cases: Array<[string, string[], RegExp]> = [
    [
      'vlan=5000',
      ['-o', 'vlan=5000'],
      /invalid option vlan="5000": expected a VLAN id: an integer from 1 to 4094/,
    ],
    ['vlan=abc', ['-o', 'vlan=abc'], /invalid option vlan="abc"/],
    ['mtu=10', ['-o', 'mtu=10'], /invalid option mtu="10": expected an MTU: an integer from 68 to 65535/],
    [
      'unknown option',
      ['-o', 'colour=red'],
      /invalid option colour="red": expected a known option; this driver accepts bridge, vlan/,
    ],
    [
      '40-character bridge',
      ['-o', `bridge=${'b'.repeat(40)}`],
      /invalid option bridge="b{40}": expected an interface name of 1 to 15 characters/,
    ],
    [
      'VLAN already used on the bridge',
      ['-o', `bridge=${bridge}`, '-o', 'vlan=100'],
      /VLAN 100 is already used on bridge/,
    ],
  ];
  for (const [what, opts, message] of cases) {
    const name = uniqueName('nx');
    const r = await docker(['network', 'create', '-d', p.name, ...opts, name], true);
    if (r.code === 0) networks.push(name);
    t.not(r.code, 0, `${what}: refused`);
    t.match(r.stderr, message, `${what}: the error names the option, the value and what is allowed`);
  }
  t.same(await state(), before, 'OVS is unchanged: no bridge, port, veth or network record was added');

  // Straight to the socket.
  const bad = await post(p.socket, '/NetworkDriver.CreateNetwork', '{"NetworkID": ');
  t.equal(bad.status, 500);
  t.match(JSON.parse(bad.body), { Err: /not valid JSON/ });
  const unknown = await post(p.socket, '/NetworkDriver.Teleport', '{}');
  t.equal(unknown.status, 500);
  t.match(JSON.parse(unknown.body), { Err: /unknown plugin call/ });
  const missing = await post(p.socket, '/NetworkDriver.CreateEndpoint', '{"NetworkID":"x"}');
  t.equal(missing.status, 500);
  t.match(JSON.parse(missing.body), { Err: /EndpointID/ });
  const alive = await post(p.socket, '/Plugin.Activate', '');
  t.same(JSON.parse(alive.body), { Implements: ['NetworkDriver', 'IpamDriver'] }, 'the plugin keeps serving');
  const net2 = uniqueName('nv');
  networks.push(net2);
  await docker(['network', 'create', '-d', p.name, '-o', `bridge=${bridge}`, net2]);
  t.pass('and Docker can still use it');
});
