// 50 container-style attaches at once on one handle (veth, peer created in its own namespace, MTU, MAC, up,
// addresses, default route, TX offload off), checked with ip -json; then bulk removal by link group. And an
// attach that fails half-way is undone completely.
import { ipJson, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { attachVeth, openHandle } from '../../src/index.js';
import { ethtoolTx, ipLink, ipLinks, linkCleanup, netnsFixture } from '../helpers/fixtures.js';

const N = 50;

t.test(`${N} veth pairs created and configured concurrently`, async (t) => {
  const host = openHandle();
  t.teardown(() => host.close());
  const namespaces = Array.from({ length: N }, () => netnsFixture(t, 'c'));
  const inner = namespaces.map((name) => openHandle({ name }));
  t.teardown(() => {
    for (const h of inner) h.close();
  });
  const group = 2_000_000 + Math.floor(Math.random() * 1_000_000);
  const names = Array.from({ length: N }, () => uniqueName('c'));
  linkCleanup(t, ...names);
  const mac = (i: number) => `02:00:00:c0:00:${i.toString(16).padStart(2, '0')}`;

  const results = await Promise.all(
    names.map((hostName, i) =>
      attachVeth(host, {
        hostName,
        netns: inner[i] as (typeof inner)[number],
        ifname: 'eth0',
        mtu: 1400 + i,
        mac: mac(i),
        group,
        txChecksum: false,
        addresses: [`10.60.${i}.2/24`, `fd00:60:${(i + 1).toString(16)}::2/64`],
        gateways: [`10.60.${i}.1`],
      }),
    ),
  );
  t.equal(results.length, N);

  const inGroup = (await ipLinks()).filter((l) => String(l.group) === String(group));
  t.equal(inGroup.length, N, 'ip link shows all host ends in the group');
  t.ok(
    inGroup.every((l) => l.flags.includes('UP')),
    'all host ends up',
  );
  for (const [i, r] of results.entries()) {
    const ns = namespaces[i] as string;
    const l = await ipLink(r.ifname, ns);
    t.match(l, { ifindex: r.index, mtu: 1400 + i, address: mac(i) }, `${r.ifname} in ${ns}`);
    t.ok(l?.flags.includes('UP'));
  }
  for (const [i, ns] of namespaces.entries()) {
    const routes = await ipJson<{ dst: string; gateway?: string }[]>(['-4', 'route', 'show', 'default'], ns);
    t.equal(
      routes.length,
      N / namespaces.length,
      `${ns}: one default route per interface (by metric-less dev)`,
    );
    const addrs = await ipJson<{ addr_info: { local: string }[] }[]>(['addr', 'show'], ns);
    const all = addrs.flatMap((a) => a.addr_info.map((x) => x.local));
    t.ok(
      all.includes(`10.60.${i}.2`) && all.includes(`fd00:60:${(i + 1).toString(16)}::2`),
      `${ns}: addresses`,
    );
  }
  t.equal(await ethtoolTx('eth0', namespaces[0]), 'off', 'TX offload off on a container end');

  await host.deleteLinkGroup(group);
  const left = (await ipLinks()).filter((l) => String(l.group) === String(group));
  t.equal(left.length, 0, 'group deleted: no host end left');
  for (const ns of namespaces) {
    t.same(
      (await ipLinks(ns)).map((l) => l.ifname),
      ['lo'],
      `${ns}: container ends gone too`,
    );
  }
});

t.test('an attach failing half-way (route refused) deletes the pair it created', async (t) => {
  const host = openHandle();
  t.teardown(() => host.close());
  const ns = netnsFixture(t, 'u');
  const hostName = uniqueName('u');
  linkCleanup(t, hostName);
  await t.rejects(
    attachVeth(host, {
      hostName,
      netns: { name: ns },
      ifname: 'eth0',
      addresses: ['10.70.0.2/24'],
      gateways: ['10.99.0.1'], // not on any connected network: ENETUNREACH after the veth exists
    }),
    { code: 'NETLINK_ERR_KERNEL', errno: 'ENETUNREACH', operation: 'addRoute' },
  );
  t.equal(await ipLink(hostName), undefined, 'no host end left');
  t.equal(await ipLink('eth0', ns), undefined, 'no container end left');
});

t.test(
  'concurrent deletes share the blocking sockets: each gets its own answer; close() lets them finish',
  async (t) => {
    const ns = netnsFixture(t, 'd');
    const h = openHandle({ name: ns });
    const names = Array.from({ length: 12 }, (_, i) => `dh${i}`);
    for (const n of names) await h.createVeth({ name: n, peer: { name: `dc${n.slice(2)}` } });
    const missing = h.deleteLink('nosuchlink');
    const deletes = names.map((n) => h.deleteLink(n));
    await t.rejects(
      missing,
      { code: 'NETLINK_ERR_KERNEL', errno: 'ENODEV', operation: 'deleteLink', ifname: 'nosuchlink' },
      'the missing one alone fails',
    );
    await Promise.all(deletes);
    t.same(
      (await ipLinks(ns)).map((l) => l.ifname),
      ['lo'],
      'every pair gone, both ends',
    );

    for (const n of names) await h.createVeth({ name: n, peer: { name: `dc${n.slice(2)}` } });
    const pending = names.map((n) => h.deleteLink(n));
    h.close();
    await Promise.all(pending);
    t.same(
      (await ipLinks(ns)).map((l) => l.ifname),
      ['lo'],
      'deletes in flight or queued at close() still finished',
    );
    await t.rejects(h.deleteLink('dh0'), { code: 'NETLINK_ERR_CLOSED' }, 'a delete after close() is refused');
  },
);
