// Links through our API, every result checked with `ip -json link` / `ethtool -k`: veth pairs (peer created
// inside a namespace), set/rename/move, TX checksum offload, lo, delete one by one and by group, link events.
import { run, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { type LinkEvent, NetlinkHandle, openHandle } from '../../src/index.js';
import { ethtoolTx, ipLink, ipLinks, linkCleanup, netnsFixture } from '../helpers/fixtures.js';

const host = openHandle();
t.teardown(() => host.close());

t.test('veth pair with the peer created inside a namespace: names, MTU, MAC, up, TX offload', async (t) => {
  const ns = netnsFixture(t);
  const inner = openHandle({ name: ns });
  t.teardown(() => inner.close());
  const name = uniqueName('v');
  linkCleanup(t, name);
  const peerName = uniqueName('p');
  const pair = await host.createVeth({
    name,
    mtu: 1400,
    mac: '02:00:00:aa:00:01',
    up: true,
    txChecksum: false,
    peer: { name: peerName, netns: { name: ns }, mac: '02:00:00:aa:00:02', up: true, txChecksum: false },
  });
  const h = await ipLink(name);
  const p = await ipLink(peerName, ns);
  t.equal(h?.ifindex, pair.index, 'host end index as ip reports it');
  t.equal(p?.ifindex, pair.peerIndex, 'peer index as ip -n reports it');
  t.equal(h?.link_index, pair.peerIndex, 'host end points at the peer');
  t.match(h, { mtu: 1400, address: '02:00:00:aa:00:01' });
  t.match(p, { mtu: 1400, address: '02:00:00:aa:00:02' }, 'peer inherits the MTU and has its MAC');
  t.ok(h?.flags.includes('UP'), 'host end up');
  t.ok(p?.flags.includes('UP'), 'peer up');
  t.equal(await ethtoolTx(name), 'off', 'ethtool -k: host end tx-checksumming off');
  t.equal(await ethtoolTx(peerName, ns), 'off', 'ethtool -k: peer tx-checksumming off');
  t.equal(await ipLink(peerName), undefined, 'no peer on the host');

  const got = await host.getLink(name);
  t.match(got, { index: pair.index, name, mtu: 1400, mac: '02:00:00:aa:00:01', up: true, kind: 'veth' });
  const listed = await inner.listLinks();
  t.same(listed.map((l) => l.name).sort(), [peerName, 'lo'].sort(), 'listLinks inside the namespace');
  const viaIp = await ipLinks(ns);
  for (const l of listed) {
    const ip = viaIp.find((x) => x.ifname === l.name);
    t.match(ip, { ifindex: l.index, mtu: l.mtu }, `${l.name} matches ip -json`);
  }
});

t.test('setLink: rename, MTU, MAC, down and up, group — each seen by ip', async (t) => {
  const a = uniqueName('s');
  const b = uniqueName('s');
  const renamed = uniqueName('r');
  linkCleanup(t, a, renamed);
  await host.createVeth({ name: a, peer: { name: b } });
  await host.setLink(a, { name: renamed, mtu: 1280, mac: '02:00:00:bb:00:01', up: true, group: 4242 });
  t.equal(await ipLink(a), undefined, 'old name gone');
  const l = await ipLink(renamed);
  t.match(l, { mtu: 1280, address: '02:00:00:bb:00:01' });
  t.ok(l?.flags.includes('UP'));
  t.equal(String(l?.group), '4242', 'ip -json prints the group number as a string');
  await host.setLink(renamed, { up: false });
  t.notOk((await ipLink(renamed))?.flags.includes('UP'), 'down');
  const byIndex = (await host.getLink(renamed)).index;
  await host.setLink(byIndex, { up: true });
  t.ok((await ipLink(renamed))?.flags.includes('UP'), 'up again, addressed by ifindex');
  // By name without a rename or a move, the name goes in the SETLINK itself (no GETLINK first): the
  // change lands on that link, and a missing name is ENODEV naming it, with nothing changed.
  await host.setLink(renamed, { group: 4343, mtu: 1300 });
  const g = await ipLink(renamed);
  t.equal(String(g?.group), '4343', 'group set by name');
  t.equal(g?.mtu, 1300, 'MTU set by name');
  t.equal((await ipLink(b))?.mtu, 1500, 'the peer is untouched');
  const missing = uniqueName('n');
  await t.rejects(host.setLink(missing, { group: 4444 }), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'ENODEV',
    operation: 'setLink',
    ifname: missing,
  });
  t.equal(await ipLink(missing), undefined, 'nothing made under the missing name');
  t.equal(String((await ipLink(renamed))?.group), '4343', 'the other link keeps its group');
});

t.test('moveLink: into a namespace with rename, MTU, MAC and up in one message', async (t) => {
  const ns = netnsFixture(t);
  const a = uniqueName('m');
  const b = uniqueName('m');
  linkCleanup(t, a, b);
  await host.createVeth({ name: a, peer: { name: b } });
  await host.moveLink(b, { name: ns }, { name: 'eth1', mtu: 1450, mac: '02:00:00:cc:00:01', up: true });
  t.equal(await ipLink(b), undefined, 'left the host');
  const moved = await ipLink('eth1', ns);
  t.match(moved, { mtu: 1450, address: '02:00:00:cc:00:01' });
  t.ok(moved?.flags.includes('UP'));

  // Into a namespace where the new name is taken: EEXIST, and the link stays where it was.
  const c = uniqueName('m');
  const d = uniqueName('m');
  linkCleanup(t, c);
  await host.createVeth({ name: c, peer: { name: d } });
  await t.rejects(host.moveLink(d, { name: ns }, { name: 'eth1' }), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'EEXIST',
    operation: 'moveLink',
  });
  t.ok(await ipLink(d), 'moved back: still on the host under its name');
  t.equal(await ipLink(d, ns), undefined, 'not left in the namespace');
  t.equal((await ipLinks(ns)).filter((l) => l.ifname === 'eth1').length, 1, 'the namespace has one eth1');
});

t.test('TX checksum offload on/off matches ethtool -k; lo up', async (t) => {
  const ns = netnsFixture(t);
  const inner = openHandle({ name: ns });
  t.teardown(() => inner.close());
  await inner.createVeth({ name: 'x0', peer: { name: 'x1' } });
  t.equal(await ethtoolTx('x0', ns), 'on', 'veth starts with tx checksumming on');
  t.equal(inner.getTxChecksum('x0'), true);
  t.equal(inner.setTxChecksum('x0', false), false);
  t.equal(await ethtoolTx('x0', ns), 'off');
  t.equal(inner.getTxChecksum('x0'), false);
  t.equal(inner.setTxChecksum('x0', true), true);
  t.equal(await ethtoolTx('x0', ns), 'on');
  t.throws(() => inner.setTxChecksum('nosuch0', false), { code: 'NETLINK_ERR_KERNEL', errno: 'ENODEV' });

  t.notOk((await ipLink('lo', ns))?.flags.includes('UP'));
  await inner.setLoopbackUp();
  t.ok((await ipLink('lo', ns))?.flags.includes('UP'), 'lo up');
});

t.test('delete one by one and by link group', async (t) => {
  const a = uniqueName('d');
  const b = uniqueName('d');
  linkCleanup(t, a);
  await host.createVeth({ name: a, peer: { name: b } });
  t.match(await host.findLink(b), { name: b, kind: 'veth' }, 'findLink finds the peer');
  await host.deleteLink(a);
  t.equal(await ipLink(a), undefined, 'deleted');
  t.equal(await host.findLink(a), undefined, 'findLink: undefined once gone');
  t.equal(await ipLink(b), undefined, 'the peer went with it');
  await t.rejects(host.deleteLink(a), { code: 'NETLINK_ERR_KERNEL', errno: 'ENODEV', ifname: a });
  await host.deleteLink(a, { missingOk: true });

  const group = 1_000_000 + Math.floor(Math.random() * 1_000_000);
  const names = Array.from({ length: 6 }, () => uniqueName('g'));
  linkCleanup(t, ...names);
  for (const n of names) await host.createVeth({ name: n, group, peer: { name: uniqueName('g') } });
  const inGroup = await ipLinks().then((ls) =>
    ls.filter((l) => String(l.group) === String(group)).map((l) => l.ifname),
  );
  t.same(inGroup.sort(), [...names].sort(), 'ip link shows the group');
  await host.deleteLinkGroup(group);
  for (const n of names) t.equal(await ipLink(n), undefined, `${n} deleted with its group`);
  await t.rejects(host.deleteLinkGroup(0), { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'group' });
});

t.test('link events arrive as an async iterable', async (t) => {
  const ns = netnsFixture(t);
  const inner = openHandle({ name: ns });
  t.teardown(() => inner.close());
  const events = inner.watchLinks();
  t.teardown(() => events.close());
  await run('ip', ['-n', ns, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1']);
  await run('ip', ['-n', ns, 'link', 'del', 'w0']);
  const seen: LinkEvent[] = [];
  const gone = new Set<string>();
  for await (const ev of events) {
    seen.push(ev);
    if (ev.type === 'del') gone.add(ev.link.name);
    if (gone.has('w0') && gone.has('w1')) break;
  }
  t.ok(
    seen.some((e) => e.type === 'new' && e.link.name === 'w0' && e.link.kind === 'veth'),
    'new w0',
  );
  t.ok(
    seen.some((e) => e.type === 'del' && e.link.name === 'w1'),
    'del w1',
  );
  t.same(await events.next(), { value: undefined, done: true }, 'break ended the subscription');

  const ac = new AbortController();
  const aborted = inner.watchLinks({ signal: ac.signal });
  const pending = aborted.next();
  ac.abort();
  t.same(await pending, { value: undefined, done: true }, 'an AbortSignal ends it too');
});

t.test('failure: a taken name is EEXIST and nothing is left behind', async (t) => {
  const ns = netnsFixture(t);
  const taken = uniqueName('t');
  const other = uniqueName('t');
  linkCleanup(t, taken);
  await host.createVeth({ name: taken, mtu: 1300, peer: { name: other } });
  const peerName = uniqueName('t');
  await t.rejects(host.createVeth({ name: taken, peer: { name: peerName, netns: { name: ns } } }), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'EEXIST',
    operation: 'createVeth',
    ifname: taken,
  });
  t.match(await ipLink(taken), { mtu: 1300 }, 'the existing link is untouched');
  t.equal(await ipLink(peerName, ns), undefined, 'no peer in the namespace');
  t.equal(await ipLink(peerName), undefined, 'no peer on the host');

  // The peer's name taken inside the target namespace: the whole NEWLINK fails, no host end remains.
  const inner = openHandle({ name: ns });
  t.teardown(() => inner.close());
  await inner.createVeth({ name: 'eth0', peer: { name: 'eth9' } });
  const fresh = uniqueName('t');
  linkCleanup(t, fresh);
  await t.rejects(host.createVeth({ name: fresh, peer: { name: 'eth0', netns: inner } }), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'EEXIST',
  });
  t.equal(await ipLink(fresh), undefined, 'no host end');
});

t.test('failure: a missing namespace is ENOENT, a long name is refused; nothing created', async (t) => {
  const name = uniqueName('f');
  linkCleanup(t, name);
  const missing = uniqueName('nx');
  await t.rejects(host.createVeth({ name, peer: { name: 'eth0', netns: { name: missing } } }), {
    code: 'NETLINK_ERR_KERNEL',
    errno: 'ENOENT',
    netns: missing,
  });
  t.equal(await ipLink(name), undefined);
  await t.rejects(host.createVeth({ name: 'ocnt0123456789abc', peer: { name: 'p' } }), {
    code: 'NETLINK_ERR_INVALID_ARGUMENT',
    field: 'name',
    value: 'ocnt0123456789abc',
    message: /1\.\.15 bytes/,
  });
  await t.rejects(host.createVeth({ name, peer: { name: 'bad/name' } }), {
    code: 'NETLINK_ERR_INVALID_ARGUMENT',
    field: 'peer.name',
  });
  await t.rejects(host.createVeth({ name, mtu: 10, peer: { name: 'p' } }), {
    code: 'NETLINK_ERR_INVALID_ARGUMENT',
    field: 'mtu',
  });
  t.equal(await ipLink(name), undefined, 'nothing reached the kernel');
});

t.test(
  'failure: namespace deleted mid-way — the held handle still works, new opens get ENOENT, and once released nothing is left',
  async (t) => {
    const ns = netnsFixture(t);
    const inner = NetlinkHandle.open({ name: ns });
    const name = uniqueName('z');
    linkCleanup(t, name);
    await host.createVeth({ name, peer: { name: 'eth0', netns: inner, up: true } });
    await run('ip', ['netns', 'del', ns]);
    t.throws(
      () => openHandle({ name: ns }),
      { code: 'NETLINK_ERR_KERNEL', errno: 'ENOENT' },
      'the name is gone',
    );
    await t.rejects(host.moveLink(name, { name: ns }), { code: 'NETLINK_ERR_KERNEL', errno: 'ENOENT' });
    await inner.addAddress('eth0', '10.77.0.2/24');
    t.ok(
      (await inner.listAddresses({ link: 'eth0' })).some((a) => a.cidr === '10.77.0.2/24'),
      'still configurable',
    );
    inner.close();
    // The kernel tears the namespace down asynchronously; its veth ends, and their host peers, go with it.
    await waitFor(
      async () => (await ipLink(name)) === undefined,
      20_000,
      'host end to vanish with the namespace',
    );
    t.pass('host end gone');
  },
);

t.test(
  'failure after the pair exists (the peer namespace handle closed mid-way): the pair is deleted',
  async (t) => {
    const ns = netnsFixture(t);
    const inner = NetlinkHandle.open({ name: ns });
    const name = uniqueName('k');
    linkCleanup(t, name);
    // The NEWLINK leaves synchronously inside createVeth; bringing the peer up needs `inner`, closed by then.
    const creating = host.createVeth({ name, peer: { name: 'eth0', netns: inner, up: true } });
    inner.close();
    await t.rejects(creating, { code: 'NETLINK_ERR_CLOSED' });
    t.equal(await ipLink(name), undefined, 'host end deleted by the undo');
    t.equal(await ipLink('eth0', ns), undefined, 'and the peer with it');
  },
);
