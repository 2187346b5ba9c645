// The driver's decisions over a private ovsdb-server (needs root) and an in-memory kernel: the external_ids layout, VLAN allocation
// (explicit, automatic, conflicts, the wait guard against a concurrent writer), CreateEndpoint's reply,
// Join, idempotent deletes, isolation rules and the reconciler. The real thing runs in test/e2e.
import t from 'tap';
import { ownerGroup, REAPING_GROUP, reapingGroup } from '../../src/core/kernel.js';
import { vethNames } from '../../src/core/names.js';
import { OVS } from '../../src/core/ovs/model.js';
import { addForeignPort, driverSetup, networkRequest } from '../helpers/fakes.js';

const NET_A = `${'a'.repeat(63)}1`;
const NET_B = `${'b'.repeat(63)}2`;
const EP1 = `${'e'.repeat(63)}1`;

const setup = driverSetup;
const net = networkRequest;

t.test(
  'CreateNetwork records the network on a new bridge, with a gateway port and a free VLAN',
  async (t) => {
    const { ovs, kernel, driver } = await setup(t);
    await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0', tenant_id: 'acme' }));
    const br = ovs.bridgeByName('ocntbr0');
    t.ok(br, 'bridge created');
    t.equal(br?.datapath_type, 'netdev');
    t.equal(br?.external_ids['ocn-owner'], 'ocntest');
    const rec = JSON.parse(br?.external_ids[`ocn-net-${NET_A}`] ?? '{}');
    t.match(rec, {
      v: 1,
      id: NET_A,
      owner: 'ocntest',
      vlan: 2,
      gatewayMode: 'internal',
      tenant: 'acme',
      mtu: 1500,
    });
    const gw = ovs.portByName(rec.gatewayPort);
    t.equal(gw?.tag, 2, 'gateway port on the network VLAN');
    t.equal(gw?.external_ids['ocn-tenant'], 'acme');
    t.same(
      kernel.links.get(rec.gatewayPort)?.addresses,
      ['10.1.0.1/24'],
      'gateway address on the internal port',
    );
    t.ok(ovs.portByName('ocntbr0'), 'the bridge has its own internal port, like ovs-vsctl add-br');

    await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0', tenant_id: 'acme' }));
    t.equal(ovs.transactions.length, 1, 'a repeated identical CreateNetwork changes nothing');

    await driver.createNetwork(net(NET_B, { bridge: 'ocntbr0' }, '10.2.0.0/24', '10.2.0.1/24'));
    const recB = JSON.parse(ovs.bridgeByName('ocntbr0')?.external_ids[`ocn-net-${NET_B}`] ?? '{}');
    t.equal(recB.vlan, 3, 'the next free VLAN');
    t.equal(kernel.rules.length, 2, 'isolation: one prohibit rule per direction');
    t.match(kernel.rules, [
      { action: 'prohibit', iif: rec.gatewayPort, to: '10.2.0.0/24' },
      { iif: recB.gatewayPort, to: '10.1.0.0/24' },
    ]);
  },
);

t.test(
  'a vswitchd with userspace TSO keeps TX checksum offload (and TSO) on the container end',
  async (t) => {
    const { ovs, kernel, driver } = await setup(t);
    await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }));
    await driver.createEndpoint({ NetworkID: NET_A, EndpointID: EP1, Interface: { Address: '10.1.0.5/24' } });
    const before = driver.endpointPort(EP1)?.external_ids['ocn-peer'] ?? '';
    t.equal(kernel.links.get(before)?.txChecksum, false, 'without it: off (PROTOCOLS.md §1)');
    const root = ovs.root();
    if (!root) throw new Error('no root row');
    await ovs.other.transact((tx) =>
      tx.update(OVS.Open_vSwitch, [['_uuid', '==', root._uuid]], {
        other_config: { 'userspace-tso-enable': 'true' },
      }),
    );
    await driver.createEndpoint({
      NetworkID: NET_A,
      EndpointID: `${'f'.repeat(63)}1`,
      Interface: { Address: '10.1.0.6/24' },
    });
    const after = driver.endpointPort(`${'f'.repeat(63)}1`)?.external_ids['ocn-peer'] ?? '';
    t.equal(kernel.links.get(after)?.txChecksum, true, 'with userspace-tso-enable=true: left on');
    t.same(ovs.root()?.other_config, { 'userspace-tso-enable': 'true' }, 'the plugin wrote nothing there');
  },
);

t.test('VLAN conflicts and bad options change nothing', async (t) => {
  const { ovs, driver } = await setup(t);
  await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0', vlan: '100' }));
  const before = ovs.dump();
  await t.rejects(
    driver.createNetwork(net(NET_B, { bridge: 'ocntbr0', vlan: '100' }, '10.2.0.0/24', '10.2.0.1/24')),
    /VLAN 100 is already used on bridge ocntbr0/,
  );
  await t.rejects(driver.createNetwork(net(NET_B, { vlan: '5000' })), /vlan="5000"/);
  await t.rejects(driver.createNetwork(net(NET_B, { color: 'red' })), /color="red"/);
  await t.rejects(
    driver.createNetwork(net(NET_B, { uplink: 'nosuch0' }, '10.2.0.0/24', '10.2.0.1/24')),
    /uplink="nosuch0": expected an existing host interface/,
  );
  t.equal(ovs.dump(), before, 'OVS unchanged');
  // The same VLAN on another bridge is fine.
  await driver.createNetwork(net(NET_B, { bridge: 'ocntbr1', vlan: '100' }, '10.2.0.0/24', '10.2.0.1/24'));
  t.ok(ovs.bridgeByName('ocntbr1'));
});

t.test(
  'a concurrent writer taking the VLAN we picked makes the wait guard fail; we pick again',
  async (t) => {
    const { ovs, driver } = await setup(t);
    await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0', gateway_mode: 'none' }));
    let raced = false;
    ovs.beforeTransact = async () => {
      if (raced) return;
      raced = true;
      // Another plugin instance records a network with VLAN 3 between our read and our write.
      const br = ovs.bridgeByName('ocntbr0');
      if (br) {
        const rec = {
          v: 1,
          id: 'other',
          owner: 'x',
          bridge: 'ocntbr0',
          vlan: 3,
          mtu: 1500,
          datapathType: 'netdev',
          gatewayMode: 'none',
          isolate: true,
        };
        await ovs.other.transact((t) =>
          t.mutate(
            OVS.Bridge,
            [['_uuid', '==', br._uuid]],
            [['external_ids', 'insert', { 'ocn-net-other': JSON.stringify(rec) }]],
          ),
        );
      }
    };
    await driver.createNetwork(net(NET_B, { bridge: 'ocntbr0', gateway_mode: 'none' }));
    const recB = JSON.parse(ovs.bridgeByName('ocntbr0')?.external_ids[`ocn-net-${NET_B}`] ?? '{}');
    t.equal(recB.vlan, 4, 'not the VLAN the other writer took');
    const creates = ovs.transactions.filter((tx) =>
      tx.some(
        (o) => o.op === 'comment' && String(o.comment).includes(`create network ${NET_B.slice(0, 12)}`),
      ),
    );
    t.equal(creates.length, 2, 'retried once');
    t.ok(
      creates.every((tx) => tx.some((o) => o.op === 'wait' && o.table === 'Bridge')),
      'each attempt guarded by a wait on the bridge it read',
    );
  },
);

t.test(
  'endpoints: reply has only empty fields, veth + port with external_ids, Join, idempotent delete',
  async (t) => {
    const { ovs, kernel, driver } = await setup(t);
    await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0', tenant_id: 't1', mtu: '1400' }));
    const reply = await driver.createEndpoint({
      NetworkID: NET_A,
      EndpointID: EP1,
      Interface: { Address: '10.1.0.5/24' },
    });
    t.match(reply, { Interface: { MacAddress: /^02(:[0-9a-f]{2}){5}$/ } });
    t.same(Object.keys(reply.Interface ?? {}), ['MacAddress'], 'only the MAC, which the request left empty');
    const port = driver.endpointPort(EP1);
    t.ok(port);
    t.match(port?.external_ids, {
      'ocn-owner': 'ocntest',
      'ocn-kind': 'endpoint',
      'ocn-network': NET_A,
      'ocn-endpoint': EP1,
      'ocn-tenant': 't1',
      'ocn-ipv4': '10.1.0.5/24',
    });
    t.equal(port?.tag, 2);
    t.equal(port?.name.length, 15);
    const peer = port?.external_ids['ocn-peer'] ?? '';
    t.equal(kernel.links.get(peer)?.mtu, 1400, 'MTU on the container end');
    t.equal(kernel.links.get(port?.name ?? '')?.mtu, 1400, 'MTU on the host end');
    t.equal(kernel.links.get(peer)?.txChecksum, false, 'TX checksum off on the container end (netdev)');
    t.equal(ovs.ifaceByName(port?.name ?? '')?.external_ids['attached-mac'], reply.Interface?.MacAddress);

    const given = await driver.createEndpoint({
      NetworkID: NET_A,
      EndpointID: `${'f'.repeat(63)}1`,
      Interface: { Address: '10.1.0.6/24', MacAddress: '02:42:00:00:00:09' },
    });
    t.same(given, {}, 'a given MAC is not echoed');
    await t.rejects(
      driver.createEndpoint({
        NetworkID: NET_A,
        EndpointID: `${'f'.repeat(63)}2`,
        Interface: { Address: '10.9.0.6/24' },
      }),
      /not in the network's subnet/,
    );

    const join = await driver.join({
      NetworkID: NET_A,
      EndpointID: EP1,
      SandboxKey: '/var/run/docker/netns/x',
    });
    t.same(join, {
      InterfaceName: { SrcName: peer, DstPrefix: 'eth' },
      DisableGatewayService: true,
      Gateway: '10.1.0.1',
    });

    await driver.deleteEndpoint({ NetworkID: NET_A, EndpointID: EP1 });
    t.notOk(driver.endpointPort(EP1), 'port gone');
    t.notOk(kernel.links.has(peer), 'veth gone');
    await driver.deleteEndpoint({ NetworkID: NET_A, EndpointID: EP1 });
    t.pass('a second DeleteEndpoint is fine');
    await t.rejects(driver.join({ NetworkID: NET_A, EndpointID: EP1, SandboxKey: '' }), /does not exist/);
  },
);

t.test('DeleteNetwork removes endpoints, gateway, rules and the bridge it created', async (t) => {
  const { ovs, kernel, driver } = await setup(t);
  await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }));
  await driver.createNetwork(net(NET_B, { bridge: 'ocntbr0' }, '10.2.0.0/24', '10.2.0.1/24'));
  await driver.createEndpoint({ NetworkID: NET_A, EndpointID: EP1, Interface: { Address: '10.1.0.5/24' } });
  await driver.deleteNetwork({ NetworkID: NET_A });
  t.notOk(driver.network(NET_A));
  t.notOk(driver.endpointPort(EP1), 'an endpoint Docker did not delete goes with its network');
  t.equal(kernel.rules.length, 0, 'no isolation rule left with one network');
  t.ok(ovs.bridgeByName('ocntbr0'), 'bridge kept while a network uses it');
  await driver.deleteNetwork({ NetworkID: NET_B });
  t.notOk(ovs.bridgeByName('ocntbr0'), 'bridge removed with its last network');
  t.equal([...ovs.ports()].length, 0);
  await driver.deleteNetwork({ NetworkID: NET_B });
  t.pass('idempotent');
});

t.test('reconcile removes orphans and leaves healthy endpoints and foreign ports alone', async (t) => {
  const { ovs, kernel, driver } = await setup(t, { grace: 0 });
  await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }));
  const ids = [1, 2, 3].map((i) => `${'c'.repeat(63)}${i}`);
  for (const id of ids) await driver.createEndpoint({ NetworkID: NET_A, EndpointID: id, Interface: {} });
  const [p1, p2, p3] = ids.map((id) => driver.endpointPort(id));
  // 1: joined (container end moved away) and healthy; 2: its namespace died (veth gone); 3: never joined.
  kernel.links.delete(p1?.external_ids['ocn-peer'] ?? '');
  await kernel.deleteLink(p2?.name ?? '');
  // A veth of ours that no port references (crash between veth and OVS), and a foreign port.
  // Ours is what is in our owner's link group (set when the veth was made), not what has our prefix.
  kernel.add('ocnthaaaaaaaaaa', 'veth', 'ocntcaaaaaaaaaa');
  kernel.add('ocntcaaaaaaaaaa', 'veth', 'ocnthaaaaaaaaaa');
  kernel.add('ocnthbbbbbbbbbb', 'veth');
  for (const n of ['ocnthaaaaaaaaaa', 'ocnthbbbbbbbbbb'])
    await kernel.setLink(n, { group: ownerGroup('ocntest') });
  // Same prefix, another user of the core (an Orchestrator): never ours to remove.
  kernel.add('ocnthcccccccccc', 'veth');
  await kernel.setLink('ocnthcccccccccc', { group: ownerGroup('ocn-orchestrator') });
  kernel.add('ocnthdddddddddd', 'veth');
  // Moved into the reaping group by a bulk delete that a kill cut short (its port already gone).
  kernel.add('ocntheeeeeeeeee', 'veth');
  await kernel.setLink('ocntheeeeeeeeee', { group: REAPING_GROUP });
  kernel.add('ocnthffffffffff', 'veth');
  await kernel.setLink('ocnthffffffffff', { group: reapingGroup(2) });
  await addForeignPort(ovs, 'ocntbr0', 'foreign0');
  const { removed } = await driver.reconcile();
  t.ok(driver.endpointPort(ids[0] ?? ''), 'healthy joined endpoint kept');
  t.notOk(driver.endpointPort(ids[1] ?? ''), 'endpoint whose veth died removed');
  t.notOk(driver.endpointPort(ids[2] ?? ''), 'never-joined endpoint removed after the grace period');
  t.notOk(kernel.links.has(p3?.name ?? ''), 'and its veth');
  t.notOk(kernel.links.has('ocnthaaaaaaaaaa'), 'unreferenced veth of ours removed');
  t.ok(ovs.portByName('foreign0'), 'a port we do not own is untouched');
  t.ok(kernel.links.has('ocnthcccccccccc'), "another owner's veth with our prefix is untouched");
  t.ok(kernel.links.has('ocnthdddddddddd'), 'an unmarked veth with our prefix is untouched');
  t.notOk(kernel.links.has('ocntheeeeeeeeee'), 'a veth left in the reaping group is finished off');
  t.notOk(kernel.links.has('ocnthffffffffff'), 'in any reaping group (a delete of another slot)');
  t.equal(removed.length, 6);
});

t.test(
  'concurrent CreateEndpoints share add transactions; a port refused by the server fails its caller alone',
  async (t) => {
    const { ovs, kernel, driver } = await setup(t);
    await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }));
    const ep = (i: number) => `${'c'.repeat(62)}${i.toString().padStart(2, '0')}`;
    const addsOf = (txs: Record<string, unknown>[][]) =>
      txs.filter((ops) => ops.some((o) => o.op === 'insert' && o.table === 'Port'));
    const before = ovs.transactions.length;
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        driver.createEndpoint({
          NetworkID: NET_A,
          EndpointID: ep(i),
          Interface: { Address: `10.1.0.${10 + i}/24` },
        }),
      ),
    );
    const adds = addsOf(ovs.transactions.slice(before));
    t.ok(adds.length <= 2, `10 concurrent endpoints in ${adds.length} add transaction(s), not 10`);
    t.equal(
      adds.flat().filter((o) => o.op === 'insert' && o.table === 'Port').length,
      10,
      'every port inserted once',
    );
    for (let i = 0; i < 10; i++) t.ok(driver.endpointPort(ep(i)), `endpoint ${i} has its port`);

    // Another client takes the name of one of the next ports at commit time: the merged transaction fails
    // on the unique name, each port is then tried alone, and only that one fails.
    const taken = vethNames(ep(12), 'ocnt').host;
    let once = true;
    ovs.beforeTransact = async (ops) => {
      if (!once || !ops.some((o) => o.op === 'insert' && o.table === 'Port')) return;
      once = false;
      await addForeignPort(ovs, 'ocntbr0', taken);
    };
    const results = await Promise.allSettled(
      [10, 11, 12, 13].map((i) =>
        driver.createEndpoint({
          NetworkID: NET_A,
          EndpointID: ep(i),
          Interface: { Address: `10.1.0.${10 + i}/24` },
        }),
      ),
    );
    t.same(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      'only the endpoint whose name was taken fails',
    );
    t.match((results[2] as PromiseRejectedResult).reason, { message: new RegExp(taken) }, 'naming its port');
    for (const i of [10, 11, 13]) t.ok(driver.endpointPort(ep(i)), `endpoint ${i} has its port`);
    t.notOk(driver.endpointPort(ep(12)), 'the refused one has none');
    t.ok(ovs.portByName(taken), "and the other client's port is untouched");
    const peer = vethNames(ep(12), 'ocnt').container;
    t.notOk(
      kernel.links.has(taken) || kernel.links.has(peer),
      'the veth pair of the refused one was rolled back',
    );
  },
);

t.test('CreateEndpoint looks kernel links up only when a name it picked is taken there', async (t) => {
  const { ovs, kernel, driver } = await setup(t);
  await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }));
  const ep = (i: number) => `${'d'.repeat(62)}${i.toString().padStart(2, '0')}`;
  let lookups = 0;
  const findLink = kernel.findLink.bind(kernel);
  kernel.findLink = async (l: string | number) => {
    lookups++;
    return findLink(l);
  };
  await driver.createEndpoint({
    NetworkID: NET_A,
    EndpointID: ep(1),
    Interface: { Address: '10.1.0.11/24' },
  });
  t.equal(lookups, 0, 'names free in OVS and in the kernel: no lookup');
  t.ok(ovs.portByName(vethNames(ep(1), 'ocnt').host), 'the first names were used');

  // Someone else's link holds the first host name: the pair goes under the next names, theirs stays.
  const first = vethNames(ep(2), 'ocnt', 0);
  kernel.add(first.host, 'dummy');
  await driver.createEndpoint({
    NetworkID: NET_A,
    EndpointID: ep(2),
    Interface: { Address: '10.1.0.12/24' },
  });
  t.ok(lookups > 0, 'a taken name: the kernel is asked');
  t.ok(ovs.portByName(vethNames(ep(2), 'ocnt', 1).host), 'the next names are used');
  t.equal(kernel.links.get(first.host)?.kind, 'dummy', 'the other link is untouched');
  t.notOk(kernel.links.has(first.container), 'nothing was made under the taken names');

  // A veth of ours under the first names, left by a crash between the kernel and OVS: replaced.
  const left = vethNames(ep(3), 'ocnt', 0);
  await kernel.createVeth({ name: left.host, group: ownerGroup('ocntest'), peer: { name: left.container } });
  await driver.createEndpoint({
    NetworkID: NET_A,
    EndpointID: ep(3),
    Interface: { Address: '10.1.0.13/24' },
  });
  t.ok(ovs.portByName(left.host), 'our leftover is replaced under the same names');
  t.equal(kernel.links.get(left.host)?.group, ownerGroup('ocntest'), 'by a new veth of ours');
});

t.test(
  "DeleteEndpoint's gone wait takes the ifindex vswitchd recorded, and none when there is none",
  async (t) => {
    const { ovs, kernel, driver } = await setup(t);
    await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }));
    const ep = (i: number) => `${'f'.repeat(62)}${i.toString().padStart(2, '0')}`;
    for (const i of [1, 2])
      await driver.createEndpoint({
        NetworkID: NET_A,
        EndpointID: ep(i),
        Interface: { Address: `10.1.0.${20 + i}/24` },
      });
    // What ovs-vswitchd writes once it has opened the device; a private ovsdb-server has no vswitchd.
    const host = vethNames(ep(1), 'ocnt').host;
    await ovs.transact((tx) => tx.update(OVS.Interface, [['name', '==', host]], { ifindex: 4242 }));
    await driver.deleteEndpoint({ NetworkID: NET_A, EndpointID: ep(1) });
    await driver.deleteEndpoint({ NetworkID: NET_A, EndpointID: ep(2) });
    t.same(kernel.goneIndexes, [4242, undefined], 'the recorded index, then none (nothing recorded)');
    t.notOk(kernel.links.has(host), 'and the link is gone');
  },
);
