// Regression: input the driver accepted although it should not (issue 12, item 8), at the driver level:
// a gateway outside its pool or with another prefix length (which added a host route 10.0.0.0/8), a
// repeated CreateNetwork with other options (200, the old record silently kept), NetworkIDs that are not
// ids, a bridge named like an existing host interface, and a DeleteEndpoint that ignored its NetworkID.
import t from 'tap';
import { driverSetup, networkRequest } from '../helpers/fakes.js';

const NET_A = `${'a'.repeat(63)}1`;
const NET_B = `${'b'.repeat(63)}2`;
const EP1 = `${'e'.repeat(63)}1`;

const setup = driverSetup;
const net = (id: unknown, generic: Record<string, string>, pool = '10.77.2.0/24', gw = '10.77.2.1/24') =>
  networkRequest(id, generic, pool, gw);

t.test('a gateway outside its pool or with another prefix length is refused', async (t) => {
  const { ovs, driver } = await setup(t);
  const before = ovs.dump();
  await t.rejects(
    driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }, '10.77.2.0/24', '10.77.2.1/8')),
    /invalid IPv4Data.Gateway "10.77.2.1\/8": expected an address inside 10.77.2.0\/24 written ADDRESS\/24/,
  );
  await t.rejects(
    driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }, '10.77.2.0/24', '10.78.0.1/24')),
    /Gateway "10.78.0.1\/24": expected an address inside 10.77.2.0\/24/,
  );
  await t.rejects(
    driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }, '10.77.2.0/24', '10.77.2.0/24')),
    /not the network or broadcast address/,
  );
  t.equal(ovs.dump(), before, 'nothing recorded');
});

t.test('a repeated CreateNetwork: identical → idempotent, other options → refused', async (t) => {
  const { ovs, driver } = await setup(t);
  await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0', tenant_id: 'acme' }));
  const n = ovs.transactions.length;
  await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0', tenant_id: 'acme' }));
  t.equal(ovs.transactions.length, n, 'identical: nothing written');
  await t.rejects(
    driver.createNetwork(net(NET_A, { bridge: 'ocntbr0', tenant_id: 'other' })),
    /network aaaaaaaaaaaa is already recorded with other settings \(tenant "acme" → "other"\)/,
  );
  await t.rejects(
    driver.createNetwork(net(NET_A, { bridge: 'ocntbr0', tenant_id: 'acme', mtu: '1400' })),
    /mtu 1500 → 1400/,
  );
  t.equal(ovs.transactions.length, n, 'nothing written');
});

t.test('NetworkIDs that are not ids are refused', async (t) => {
  const { driver } = await setup(t);
  for (const id of [5, '', 'a b', '\uFFFD', 'x'.repeat(200), null]) {
    await t.rejects(
      driver.createNetwork(net(id, {})),
      /invalid NetworkID .*: expected 1 to 128 characters/,
      String(id),
    );
  }
});

t.test('bridge= naming a host interface that is not an OVS bridge is refused', async (t) => {
  const { kernel, driver } = await setup(t);
  kernel.add('eth0', 'veth');
  await t.rejects(
    driver.createNetwork(net(NET_A, { bridge: 'eth0' })),
    /bridge="eth0": expected an OVS bridge, or a name no host interface has/,
  );
  kernel.add('up0', 'veth');
  await t.rejects(
    driver.createNetwork(net(NET_A, { bridge: 'ocntbr0', uplink: 'ocntbr0' })),
    /uplink="ocntbr0": expected a host interface other than the bridge/,
  );
});

t.test('DeleteEndpoint checks its NetworkID', async (t) => {
  const { driver, kernel } = await setup(t);
  await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }));
  await driver.createEndpoint({ NetworkID: NET_A, EndpointID: EP1, Interface: {} });
  const port = driver.endpointPort(EP1);
  await t.rejects(
    driver.deleteEndpoint({ NetworkID: NET_B, EndpointID: EP1 }),
    /endpoint eeeeeeeeeeee belongs to network aaaaaaaaaaaa, not bbbbbbbbbbbb; nothing was deleted/,
  );
  t.ok(driver.endpointPort(EP1), 'the endpoint is still there');
  t.ok(kernel.links.has(port?.name ?? ''), 'and its veth');
  await t.rejects(
    driver.join({ NetworkID: NET_B, EndpointID: EP1, SandboxKey: '' }),
    /network bbbbbbbbbbbb is not known/,
  );
  await driver.deleteEndpoint({ NetworkID: NET_A, EndpointID: EP1 });
  t.notOk(driver.endpointPort(EP1));
});

// A CreateNetwork whose reply a restart cut off leaves its record (Docker failed the command and never sends
// DeleteNetwork); a retried `docker network create` with the same subnet must not get a second gateway port
// with the same address (two host routes for one subnet).
t.test(
  'a routed subnet overlapping a recorded one is refused, naming the record and the remedy',
  async (t) => {
    const { ovs, driver } = await setup(t);
    await driver.createNetwork(net(NET_A, { bridge: 'ocntbr0' }));
    const before = ovs.dump();
    await t.rejects(
      driver.createNetwork(net(NET_B, { bridge: 'ocntbr0' })),
      /subnet 10.77.2.0\/24 overlaps 10.77.2.0\/24 of network aaaaaaaaaaaa, recorded in OVS on bridge ocntbr0 .*ovs-vsctl br-set-external-id ocntbr0 ocn-net-a{63}1/,
    );
    t.equal(ovs.dump(), before, 'nothing recorded');
    await driver.createNetwork(net(NET_B, { bridge: 'ocntbr0', gateway_mode: 'none' }));
    t.pass('an isolated L2 network (no gateway port) may reuse the subnet');
  },
);
