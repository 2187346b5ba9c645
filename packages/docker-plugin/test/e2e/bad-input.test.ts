// Bad input through `docker network create` gets the driver's clear error and changes nothing in OVS;
// malformed requests and unknown calls sent straight to the socket get 500 {"Err"} and the plugin keeps
// serving.
import { docker, ensureDocker, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  deleteBridges,
  leftovers,
  postPlugin,
  removeAll,
  startPluginProcess,
  vsctl,
} from '../helpers/plugin.js';

t.test('bad network options are refused with a clear error and OVS is unchanged', async (t) => {
  await ensureDocker();
  const p = await startPluginProcess();
  const bridge = uniqueName('br');
  const networks: string[] = [];
  t.teardown(async () => {
    await removeAll([], networks);
    // The bridge goes even when stop() throws, or it leaks into the next run.
    await p.stop().finally(() => deleteBridges(p.ovsdb, [bridge]));
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
    ['mtu=10', ['-o', 'mtu=10'], /invalid option mtu="10": expected an MTU: an integer from 68 to 65521/],
    [
      'unknown option',
      ['-o', 'colour=red'],
      /invalid option colour="red": expected a known option; this driver accepts bridge, vlan/,
    ],
    [
      '40-character bridge',
      ['-o', `bridge=${'b'.repeat(40)}`],
      /invalid option bridge="b{40}": expected an interface name of 1 to 15 bytes/,
    ],
    // Regressions (issue 12, item 8): accepted before.
    [
      'bridge=lo',
      ['-o', 'bridge=lo'],
      /invalid option bridge="lo": expected .*other than lo, ovs-system, ovs-netdev/,
    ],
    ['bridge=ovs-netdev', ['-o', 'bridge=ovs-netdev'], /invalid option bridge="ovs-netdev"/],
    ['uplink=lo', ['-o', `bridge=${bridge}`, '-o', 'uplink=lo'], /invalid option uplink="lo"/],
    [
      'mtu=65535 with a gateway port',
      ['-o', `bridge=${bridge}`, '-o', 'mtu=65535'],
      /invalid option mtu="65535": expected an MTU: an integer from 68 to 65521/,
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
  const bad = await postPlugin(p.socket, '/NetworkDriver.CreateNetwork', '{"NetworkID": ');
  t.equal(bad.status, 500);
  t.match(JSON.parse(bad.body), { Err: /not valid JSON/ });
  const unknown = await postPlugin(p.socket, '/NetworkDriver.Teleport', '{}');
  t.equal(unknown.status, 500);
  t.match(JSON.parse(unknown.body), { Err: /unknown plugin call/ });
  const missing = await postPlugin(p.socket, '/NetworkDriver.CreateEndpoint', '{"NetworkID":"x"}');
  t.equal(missing.status, 500);
  t.match(JSON.parse(missing.body), { Err: /EndpointID/ });
  // Regression (issue 12, item 2): `curl -d '' …/NetworkDriver.CreateNetwork` never reached the tolerant
  // parser ("body must be object"). An empty body is Docker's resend after a cut-off attempt.
  const empty = await postPlugin(p.socket, '/NetworkDriver.CreateNetwork', '');
  t.equal(empty.status, 500);
  t.match(JSON.parse(empty.body), {
    Err: /NetworkDriver.CreateNetwork arrived without its body: Docker resent it/,
  });
  const operInfo = await postPlugin(p.socket, '/NetworkDriver.EndpointOperInfo', '');
  t.same(JSON.parse(operInfo.body), { Value: {} }, 'a read-only call is answered without its body');
  // Regression: a 400k-deep body was answered with "Maximum call stack size exceeded".
  const deep = await postPlugin(
    p.socket,
    '/NetworkDriver.CreateNetwork',
    `${'['.repeat(400_000)}${']'.repeat(400_000)}`,
  );
  t.equal(deep.status, 500);
  t.match(JSON.parse(deep.body), { Err: /nests deeper than 32 levels/ });
  // Regression: NetworkIDs that are numbers or invalid UTF-8 were accepted.
  const num = await postPlugin(p.socket, '/NetworkDriver.CreateNetwork', '{"NetworkID":5}');
  t.match(JSON.parse(num.body), { Err: /NetworkID/ });
  const bad8 = await postPlugin(
    p.socket,
    '/NetworkDriver.CreateNetwork',
    Buffer.from([0x7b, 0x22, 0x4e, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
  );
  t.match(JSON.parse(bad8.body), { Err: /not valid UTF-8/ });
  // Regression: a 10 KB tenant was echoed back in full.
  const longTenant = await docker(
    ['network', 'create', '-d', p.name, '-o', `tenant_id=${'x'.repeat(10_000)}`, uniqueName('nx')],
    true,
  );
  t.not(longTenant.code, 0);
  t.ok(longTenant.stderr.length < 1000, `the value is cut in the error (${longTenant.stderr.length} bytes)`);
  const alive = await postPlugin(p.socket, '/Plugin.Activate', '');
  t.same(JSON.parse(alive.body), { Implements: ['NetworkDriver', 'IpamDriver'] }, 'the plugin keeps serving');
  const net2 = uniqueName('nv');
  networks.push(net2);
  await docker(['network', 'create', '-d', p.name, '-o', `bridge=${bridge}`, net2]);
  t.pass('and Docker can still use it');
});
