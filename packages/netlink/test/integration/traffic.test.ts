// Real traffic between namespaces configured only through our API: ping and a 2 MB TCP stream over a veth
// pair, then a routed path where a policy rule (`from A to B prohibit`) keeps two networks apart at L3.
import { canPing, nsExec, tcpTransfer } from '@ovs-container-network/testkit';
import t from 'tap';
import { attachVeth, detachVeth, openHandle } from '../../src/index.js';
import { ipLinks, netnsFixture } from '../helpers/fixtures.js';

t.test('a namespace with addresses and a default route pings another and carries TCP', async (t) => {
  const a = netnsFixture(t, 'a');
  const b = netnsFixture(t, 'b');
  const ha = openHandle({ name: a });
  const hb = openHandle({ name: b });
  t.teardown(() => {
    ha.close();
    hb.close();
  });
  await ha.setLoopbackUp();
  await hb.setLoopbackUp();
  await ha.createVeth({ name: 'eth0', mtu: 1500, up: true, peer: { name: 'eth0', netns: hb, up: true } });
  await ha.addAddress('eth0', '10.31.0.1/24');
  await hb.addAddress('eth0', '10.31.0.2/24');
  await ha.addAddress('eth0', 'fd00:31::1/64', { nodad: true });
  await hb.addAddress('eth0', 'fd00:31::2/64', { nodad: true });
  // Default routes through the other end: traffic to anything goes over the pair.
  await ha.addRoute({ dst: 'default', gateway: '10.31.0.2' });
  await hb.addRoute({ dst: 'default', gateway: '10.31.0.1' });

  t.ok(await canPing(a, '10.31.0.2'), 'a → b ping');
  t.ok(await canPing(b, '10.31.0.1'), 'b → a ping');
  t.ok(await canPing(a, 'fd00:31::2'), 'a → b ping over IPv6 (nodad: usable at once)');
  const bytes = 2 * 1024 * 1024;
  t.equal(await tcpTransfer(a, b, '10.31.0.2', bytes, 5301), bytes, '2 MB over TCP a → b');
  t.equal(await tcpTransfer(b, a, '10.31.0.1', bytes, 5302), bytes, '2 MB over TCP b → a');

  // The default route really is used: an address outside the subnet is routed to b (which answers for it).
  await hb.addAddress('lo', '10.99.99.9/32');
  t.ok(await canPing(a, '10.99.99.9'), 'off-subnet address reached via the default route');
});

t.test(
  'a prohibit rule on a router keeps two networks apart at L3; deleting it restores traffic',
  async (t) => {
    const a = netnsFixture(t, 'a');
    const r = netnsFixture(t, 'r');
    const b = netnsFixture(t, 'b');
    const router = openHandle({ name: r });
    t.teardown(() => router.close());
    await router.setLoopbackUp();
    await nsExec(r, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    // Container-style attaches from the router's side: the container end is created inside a / b directly.
    await attachVeth(router, {
      hostName: 'ra',
      netns: { name: a },
      ifname: 'eth0',
      addresses: ['10.41.0.2/24'],
      gateways: ['10.41.0.1'],
      loopbackUp: true,
    });
    await attachVeth(router, {
      hostName: 'rb',
      netns: { name: b },
      ifname: 'eth0',
      addresses: ['10.42.0.2/24'],
      gateways: ['10.42.0.1'],
      loopbackUp: true,
    });
    await router.addAddress('ra', '10.41.0.1/24');
    await router.addAddress('rb', '10.42.0.1/24');

    t.ok(await canPing(a, '10.42.0.2'), 'routed a → b');
    const bytes = 512 * 1024;
    t.equal(await tcpTransfer(a, b, '10.42.0.2', bytes, 5303), bytes, 'TCP a → b through the router');

    await router.addRule({ priority: 100, from: '10.41.0.0/24', to: '10.42.0.0/24', action: 'prohibit' });
    t.notOk(await canPing(a, '10.42.0.2'), 'prohibited a → b');
    const ping = await nsExec(a, 'ping', ['-c', '1', '-W', '1', '10.42.0.2'], true);
    t.match(ping.stdout + ping.stderr, /Packet filtered|Communication prohibited|100% packet loss/);
    t.ok(await canPing(a, '10.41.0.1'), 'a still reaches its gateway');

    await router.deleteRule({ priority: 100, from: '10.41.0.0/24', to: '10.42.0.0/24', action: 'prohibit' });
    t.ok(await canPing(a, '10.42.0.2'), 'allowed again');

    await detachVeth(router, 'rb');
    t.same(
      (await ipLinks(b)).map((l) => l.ifname),
      ['lo'],
      'detachVeth removed both ends',
    );
    await detachVeth(router, 'rb');
    t.pass('detaching twice is fine');
  },
);
