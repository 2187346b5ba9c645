// Regression: a record in OVS could point the driver at any host interface. A `"gatewayPort":"<host
// interface>"` written into a bridge's external_ids:ocn-net-x made one reconcile change that interface's MTU,
// give it the gateway address and a prohibit rule; deleting the record left the address and the rule. Records
// are input: validated like Docker's requests, acted on only when this driver made them, cleaned up by record.
import t from 'tap';
import { OVS } from '../../src/core/ovs/model.js';
import { decodeNetwork, networkRecordProblem } from '../../src/core/records.js';
import { addForeignPort, driverSetup, networkRequest } from '../helpers/fakes.js';

const NET_A = `${'a'.repeat(63)}1`;
const NET_X = `${'f'.repeat(63)}9`;

const setup = driverSetup;
const net = networkRequest;

const valid = {
  v: 1,
  id: NET_X,
  owner: 'ocntest',
  bridge: 'ocntbr0',
  vlan: 7,
  mtu: 1500,
  datapathType: 'netdev',
  gatewayMode: 'internal',
  isolate: true,
  gatewayPort: 'ocntgxxxxxxxxxx',
  ipv4: { pool: '10.77.2.0/24', gateway: '10.77.2.1/24' },
};

t.test('decodeNetwork validates every field with the options rules', async (t) => {
  t.ok(decodeNetwork(JSON.stringify(valid)), 'a well-formed record');
  const bad: Array<[string, Record<string, unknown>]> = [
    ['gateway outside the pool', { ipv4: { pool: '10.77.2.0/24', gateway: '10.78.0.1/24' } }],
    ['gateway with another prefix length', { ipv4: { pool: '10.77.2.0/24', gateway: '10.77.2.1/8' } }],
    ['gatewayPort not an interface name', { gatewayPort: 'a/b' }],
    ['bridge lo', { bridge: 'lo' }],
    ['uplink ovs-netdev', { uplink: 'ovs-netdev' }],
    ['vlan 0', { vlan: 0 }],
    ['mtu above what an internal port takes', { mtu: 65535 }],
    ['id that is a number', { id: 5 }],
    ['unknown field', { extra: 1 }],
    ['datapath type', { datapathType: 'dpdk' }],
    ['isolate not boolean', { isolate: 'yes' }],
    ['gatewayPort without gateway mode internal', { gatewayMode: 'none' }],
  ];
  for (const [what, change] of bad) {
    const r = { ...valid, ...change };
    t.equal(decodeNetwork(JSON.stringify(r)), undefined, `${what}: ignored (${networkRecordProblem(r)})`);
  }
  t.equal(decodeNetwork('['.repeat(10_000)), undefined, 'oversized text');
});

t.test('a forged record naming a host interface is never acted on, and leaves nothing behind', async (t) => {
  const { ovs, kernel, driver } = await setup(t);
  await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }));
  kernel.add('eth0', 'veth');
  const eth0 = kernel.links.get('eth0');
  const br = ovs.bridgeByName('ocntbr0');
  // The repro: a record with our owner, a valid shape, and "gatewayPort":"eth0".
  const forged = { ...valid, gatewayPort: 'eth0' };
  if (!br) throw new Error('no bridge');
  await ovs.other.transact((t) =>
    t.mutate(
      OVS.Bridge,
      [['_uuid', '==', br._uuid]],
      [['external_ids', 'insert', { [`ocn-net-${NET_X}`]: JSON.stringify(forged) }]],
    ),
  );
  await driver.reconcile();
  t.equal(eth0?.mtu, 1500, 'the host interface keeps its MTU');
  t.same(eth0?.addresses, [], 'it gets no gateway address');
  t.notOk(
    kernel.rules.some((r) => r.iif === 'eth0'),
    'and no prohibit rule',
  );
  t.notOk(
    kernel.rules.some((r) => r.to === '10.77.2.0/24'),
    'and no rule of ours for the forged subnet on any interface',
  );
  t.equal(driver.network(NET_X), undefined, 'the driver does not know the forged network');
  t.equal(driver.stats().networks, 1);
  await t.rejects(
    driver.createEndpoint({ NetworkID: NET_X, EndpointID: `${'e'.repeat(63)}1`, Interface: {} }),
    /not known to driver/,
  );
});

t.test('a forged endpoint port claiming our owner is not deleted from the kernel', async (t) => {
  const { ovs, kernel, driver } = await setup(t);
  await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }));
  kernel.add('docker0', 'bridge');
  await addForeignPort(ovs, 'ocntbr0', 'docker0', {
    'ocn-owner': 'ocntest',
    'ocn-kind': 'endpoint',
    'ocn-network': 'gone',
    'ocn-endpoint': 'x',
    'ocn-peer': 'docker0',
  });
  const { removed } = await driver.reconcile();
  t.ok(kernel.links.has('docker0'), 'the host interface is still there');
  t.same(removed, [], 'nothing removed');
});

t.test('deleting a network removes its rules by record', async (t) => {
  const { kernel, driver } = await setup(t);
  await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }));
  await driver.createNetwork(net(NET_X, { bridge: 'ocntbr0' }, '10.2.0.0/24', '10.2.0.1/24'));
  t.equal(kernel.rules.length, 2);
  await driver.deleteNetwork({ NetworkID: NET_X });
  t.same(kernel.rules, [], 'both directions gone: the deleted one by record, the other as no longer wanted');
});
