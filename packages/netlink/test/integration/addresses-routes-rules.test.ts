// Addresses, routes and policy-routing rules through our API inside a namespace, each result checked with
// `ip -json addr/route/rule` there, plus the kernel's refusals as typed errors.
import { ipJson } from '@ovs-container-network/testkit';
import t from 'tap';
import { openHandle } from '../../src/index.js';
import { ipAddrs, netnsFixture } from '../helpers/fixtures.js';

async function setup(t: { teardown(fn: () => unknown): void }) {
  const ns = netnsFixture(t);
  const h = openHandle({ name: ns });
  t.teardown(() => h.close());
  await h.setLoopbackUp();
  await h.createVeth({ name: 'a0', up: true, peer: { name: 'b0', up: true } });
  return { ns, h };
}

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  flags?: string[];
  type?: string;
  metric?: number;
}
interface IpRule {
  priority: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  table?: string;
  action?: string;
  iif?: string;
}

t.test('IPv4 and IPv6 addresses: add (nodad), list, delete', async (t) => {
  const { ns, h } = await setup(t);
  await h.addAddress('a0', '10.11.0.1/24');
  await h.addAddress('a0', 'fd00:11::1/64', { nodad: true });
  const addrs = await ipAddrs('a0', ns);
  t.ok(addrs.includes('10.11.0.1/24'), 'ip shows the IPv4 address');
  t.ok(addrs.includes('fd00:11::1/64'), 'ip shows the IPv6 address');

  const v6 = await ipJson<{ addr_info: { local: string; nodad?: boolean; tentative?: boolean }[] }[]>(
    ['-6', 'addr', 'show', 'dev', 'a0'],
    ns,
  );
  const info = v6[0]?.addr_info.find((a) => a.local === 'fd00:11::1');
  t.equal(info?.nodad, true, 'ip shows nodad');
  t.notOk(info?.tentative, 'usable at once: not tentative');
  const brd = await ipJson<{ addr_info: { local: string; broadcast?: string }[] }[]>(
    ['-4', 'addr', 'show', 'dev', 'a0'],
    ns,
  );
  t.equal(brd[0]?.addr_info[0]?.broadcast, '10.11.0.255', 'IPv4 broadcast set');

  const listed = await h.listAddresses({ link: 'a0' });
  t.ok(listed.some((a) => a.cidr === '10.11.0.1/24' && a.family === 4));
  t.ok(listed.some((a) => a.cidr === 'fd00:11::1/64' && a.family === 6 && a.nodad));
  t.same(
    (await h.listAddresses({ family: 4 })).map((a) => a.cidr).sort(),
    ['10.11.0.1/24', '127.0.0.1/8'],
    'family filter',
  );

  await t.rejects(h.addAddress('a0', '10.11.0.1/24'), { code: 'NETLINK_ERR_KERNEL', errno: 'EEXIST' });
  await h.addAddress('a0', '10.11.0.1/24', { replace: true });
  await h.deleteAddress('a0', '10.11.0.1/24');
  await h.deleteAddress('a0', 'fd00:11::1/64');
  t.notOk(
    (await ipAddrs('a0', ns)).some((a) => a === '10.11.0.1/24' || a === 'fd00:11::1/64'),
    'both gone',
  );
  await t.rejects(h.deleteAddress('a0', '10.11.0.1/24'), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'EADDRNOTAVAIL',
  });
  await t.rejects(h.addAddress('nosuch0', '10.11.0.1/24'), { code: 'NETLINK_ERR_KERNEL', errno: 'ENODEV' });
  await t.rejects(h.addAddress('a0', '10.11.0.1'), {
    code: 'NETLINK_ERR_INVALID_ARGUMENT',
    field: 'address',
  });
});

t.test('routes: default via a gateway, on-link, in a table; list and delete', async (t) => {
  const { ns, h } = await setup(t);
  await h.addAddress('a0', '10.12.0.2/24');
  await h.addAddress('a0', 'fd00:12::2/64', { nodad: true });
  await h.addRoute({ dst: 'default', gateway: '10.12.0.1' });
  await h.addRoute({ dst: 'default', gateway: 'fd00:12::1' });
  await h.addRoute({ dst: '192.168.50.0/24', gateway: '172.30.0.1', dev: 'a0', onLink: true });
  await h.addRoute({ dst: '10.200.0.0/16', dev: 'a0', table: 100 });
  await h.addRoute({ dst: 'default', gateway: '10.12.0.254', table: 100, metric: 10 });
  await h.addRoute({ dst: '10.201.0.0/16', type: 'prohibit', table: 100 });

  const main4 = await ipJson<IpRoute[]>(['-4', 'route', 'show'], ns);
  t.match(
    main4.find((r) => r.dst === 'default'),
    { gateway: '10.12.0.1', dev: 'a0' },
    'default via gw',
  );
  const onlink = main4.find((r) => r.dst === '192.168.50.0/24');
  t.match(onlink, { gateway: '172.30.0.1', dev: 'a0' });
  t.ok(onlink?.flags?.includes('onlink'), 'onlink flag');
  const main6 = await ipJson<IpRoute[]>(['-6', 'route', 'show'], ns);
  t.match(
    main6.find((r) => r.dst === 'default'),
    { gateway: 'fd00:12::1', dev: 'a0' },
    'IPv6 default',
  );
  const t100 = await ipJson<IpRoute[]>(['route', 'show', 'table', '100'], ns);
  t.match(
    t100.find((r) => r.dst === '10.200.0.0/16'),
    { dev: 'a0' },
  );
  t.match(
    t100.find((r) => r.dst === 'default'),
    { gateway: '10.12.0.254', metric: 10 },
  );
  t.match(
    t100.find((r) => r.dst === '10.201.0.0/16'),
    { type: 'prohibit' },
  );

  const listed = await h.listRoutes({ family: 4 });
  const index = (await h.getLink('a0')).index;
  t.match(
    listed.find((r) => r.dst === 'default'),
    { gateway: '10.12.0.1', dev: index, table: 254 },
  );
  t.match(
    listed.find((r) => r.dst === '192.168.50.0/24'),
    { onLink: true },
  );
  const listed100 = await h.listRoutes({ table: 100 });
  t.same(listed100.map((r) => r.dst).sort(), ['10.200.0.0/16', '10.201.0.0/16', 'default']);
  t.ok(
    (await h.listRoutes({ table: 'all' })).some((r) => r.table === 255),
    "'all' includes the local table",
  );

  await t.rejects(h.addRoute({ dst: 'default', gateway: '10.12.0.1' }), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'EEXIST',
  });
  await h.addRoute({ dst: 'default', gateway: '10.12.0.3', replace: true });
  t.match(
    (await ipJson<IpRoute[]>(['-4', 'route', 'show', 'default'], ns))[0],
    { gateway: '10.12.0.3' },
    'replaced',
  );
  await t.rejects(h.addRoute({ dst: '10.99.0.0/16', gateway: '10.99.0.1' }), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'ENETUNREACH',
  });
  await t.rejects(h.addRoute({ dst: '10.99.0.0/16' }), {
    code: 'NETLINK_ERR_INVALID_ARGUMENT',
    field: 'route',
  });
  await t.rejects(h.addRoute({ dst: '10.0.0.0/8', gateway: 'fd00::1' }), {
    code: 'NETLINK_ERR_INVALID_ARGUMENT',
    field: 'gateway',
  });

  await h.deleteRoute({ dst: 'default' });
  await h.deleteRoute({ dst: '10.200.0.0/16', table: 100 });
  await h.deleteRoute({ dst: 'default', family: 6 });
  t.notOk(
    (await ipJson<IpRoute[]>(['-4', 'route', 'show'], ns)).some((r) => r.dst === 'default'),
    'v4 default gone',
  );
  t.notOk(
    (await ipJson<IpRoute[]>(['-6', 'route', 'show'], ns)).some((r) => r.dst === 'default'),
    'v6 default gone',
  );
  t.notOk(
    (await ipJson<IpRoute[]>(['route', 'show', 'table', '100'], ns)).some((r) => r.dst === '10.200.0.0/16'),
  );
  await t.rejects(h.deleteRoute({ dst: '10.200.0.0/16', table: 100 }), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'ESRCH',
  });
});

t.test('policy-routing rules: add, list, delete; duplicates and misses are typed errors', async (t) => {
  const { ns, h } = await setup(t);
  await h.addRule({ priority: 1000, from: '10.1.0.0/24', to: '10.2.0.0/24', action: 'prohibit' });
  await h.addRule({ priority: 1001, from: '10.1.0.0/24', table: 100 });
  await h.addRule({ priority: 1002, iif: 'a0', table: 200 });
  await h.addRule({ priority: 1003, from: 'fd00:1::/64', to: 'fd00:2::/64', action: 'unreachable' });

  const rules4 = await ipJson<IpRule[]>(['-4', 'rule', 'show'], ns);
  t.match(
    rules4.find((r) => r.priority === 1000),
    {
      src: '10.1.0.0',
      srclen: 24,
      dst: '10.2.0.0',
      dstlen: 24,
      action: 'prohibit',
    },
  );
  t.match(
    rules4.find((r) => r.priority === 1001),
    { src: '10.1.0.0', srclen: 24, table: '100' },
  );
  t.match(
    rules4.find((r) => r.priority === 1002),
    { iif: 'a0', table: '200' },
  );
  const rules6 = await ipJson<IpRule[]>(['-6', 'rule', 'show'], ns);
  t.match(
    rules6.find((r) => r.priority === 1003),
    { src: 'fd00:1::', dst: 'fd00:2::', action: 'unreachable' },
  );

  const listed = await h.listRules();
  t.match(
    listed.find((r) => r.priority === 1000),
    {
      family: 4,
      from: '10.1.0.0/24',
      to: '10.2.0.0/24',
      action: 'prohibit',
    },
  );
  t.match(
    listed.find((r) => r.priority === 1001),
    { from: '10.1.0.0/24', table: 100, action: 'lookup' },
  );
  t.match(
    listed.find((r) => r.priority === 1002),
    { iif: 'a0', table: 200 },
  );
  t.match(
    listed.find((r) => r.priority === 0),
    { table: 255, action: 'lookup' },
    'the local rule, priority 0',
  );
  t.match(
    (await h.listRules({ family: 6 })).find((r) => r.priority === 1003),
    { action: 'unreachable' },
  );

  await t.rejects(h.addRule({ priority: 1000, from: '10.1.0.0/24', to: '10.2.0.0/24', action: 'prohibit' }), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'EEXIST',
    operation: 'addRule',
  });
  await h.deleteRule({ priority: 1000 });
  await h.deleteRule({ priority: 1001, from: '10.1.0.0/24', table: 100 });
  await h.deleteRule({ priority: 1003, family: 6 });
  const after = await ipJson<IpRule[]>(['-4', 'rule', 'show'], ns);
  t.notOk(
    after.some((r) => r.priority === 1000 || r.priority === 1001),
    'deleted',
  );
  t.ok(
    after.some((r) => r.priority === 1002),
    'the others stay',
  );
  await t.rejects(h.deleteRule({ priority: 1000 }), { code: 'NETLINK_ERR_KERNEL', errno: 'ENOENT' });
  await t.rejects(h.addRule({ priority: 5, action: 'lookup' }), {
    code: 'NETLINK_ERR_INVALID_ARGUMENT',
    field: 'table',
  });
});
