// whenGone and deleteLink({until: 'gone'}) against the real kernel (needs root), each in a namespace of its
// own: the wait ends on the device's RTM_DELLINK multicast (which the kernel sends before its RCU wait), not
// on an earlier device of the same name, and bad input is refused with nothing deleted.
import { execFileSync } from 'node:child_process';
import { ipJson } from '@ovs-container-network/testkit';
import t from 'tap';
import { openHandle } from '../../src/index.js';
import { netnsFixture } from '../helpers/fixtures.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const linkNames = async (ns: string) =>
  (await ipJson<{ ifname: string }[]>(['link', 'show'], ns)).map((l) => l.ifname).sort();

function setup(t: Teardown) {
  const ns = netnsFixture(t, 'gone');
  const h = openHandle({ name: ns });
  t.teardown(() => h.close());
  return { ns, h };
}

t.test("deleteLink until 'gone': both ends unlisted, and the names make a new pair at once", async (t) => {
  const { ns, h } = setup(t);
  for (let i = 0; i < 5; i++) {
    await h.createVeth({ name: 'ga', peer: { name: 'gb' } });
    await h.deleteLink('ga', { until: 'gone' });
    t.same(await linkNames(ns), ['lo'], `round ${i}: neither end listed`);
  }
  await h.createVeth({ name: 'ga', peer: { name: 'gb' } });
  t.same(await linkNames(ns), ['ga', 'gb', 'lo'], 'the names are free again');
  await t.rejects(h.deleteLink('nosuch', { until: 'gone' }), { code: 'NETLINK_ERR_KERNEL', errno: 'ENODEV' });
  await h.deleteLink('nosuch', { until: 'gone', missingOk: true });
});

t.test('whenGone by name and by ifindex ends with a plain delete, for every member of a group', async (t) => {
  const { ns, h } = setup(t);
  const group = 4242;
  const pairs = ['g0', 'g1', 'g2', 'g3'];
  for (const n of pairs) await h.createVeth({ name: n, group, peer: { name: `${n}p` } });
  const idx = (await h.getLink('g1')).index;
  const waits = [h.whenGone('g0'), h.whenGone(idx), h.whenGone('g2p'), h.whenGone('g3')];
  await h.deleteLinkGroup(group);
  await Promise.all(waits);
  t.same(await linkNames(ns), ['lo']);
  const a = h.whenGone('lo');
  const ac = new AbortController();
  const b = h.whenGone('lo', { signal: ac.signal });
  ac.abort(new Error('no longer needed'));
  await t.rejects(b, { message: 'no longer needed' }, 'an aborted wait rejects with the reason');
  h.close();
  await t.rejects(a, { code: 'NETLINK_ERR_CLOSED' }, 'close fails pending waits');
});

t.test('whenGone with the index given: no lookup, and the wait ends on that device only', async (t) => {
  const { ns, h } = setup(t);
  await h.createVeth({ name: 'ka', peer: { name: 'kb' } });
  const index = (await h.getLink('ka')).index;
  const w = h.whenGone('ka', { index });
  execFileSync('ip', ['-n', ns, 'link', 'del', 'ka']);
  await w;
  t.same(await linkNames(ns), ['lo'], 'ended by its delete');
  // No lookup: a device that is not there gives no ENODEV; the wait stays until its signal ends it.
  const ac = new AbortController();
  const none = h.whenGone('nosuch', { index: 2_000_000_000, signal: ac.signal });
  const state = await Promise.race([
    none.then(
      () => 'resolved',
      () => 'rejected',
    ),
    new Promise((r) => setTimeout(() => r('pending'), 150)),
  ]);
  t.equal(state, 'pending', 'no lookup, so no ENODEV: still pending after 150 ms');
  ac.abort(new Error('done'));
  await t.rejects(none, { message: 'done' });
  for (const bad of [0, -1, 1.5, 2 ** 31])
    await t.rejects(
      h.whenGone('ka', { index: bad }),
      { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'index' },
      `index ${bad} refused`,
    );
});

t.test('an earlier device of the same name, its DELLINK unread, does not end the wait', async (t) => {
  const { ns, h } = setup(t);
  await h.createVeth({ name: 'keep', peer: { name: 'keepp' } });
  const holder = h.whenGone('keep'); // the event socket is open from here on
  await h.createVeth({ name: 'gx', peer: { name: 'gxp' } });
  // Synchronously (the event loop cannot read in between): delete gx and make a new gx.
  execFileSync('ip', ['-n', ns, 'link', 'del', 'gx']);
  execFileSync('ip', ['-n', ns, 'link', 'add', 'gx', 'type', 'veth', 'peer', 'name', 'gxp']);
  const w = h.whenGone('gx');
  let done = false;
  void w.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 200));
  t.equal(done, false, 'the old gx going is not the new one going');
  t.ok((await linkNames(ns)).includes('gx'));
  await h.deleteLink('gx');
  await w;
  t.pass('the new gx going ends it');
  await h.deleteLink('keep');
  await holder;
});

t.test('bad input is refused and deletes nothing', async (t) => {
  const { ns, h } = setup(t);
  await h.createVeth({ name: 'gq', peer: { name: 'gqp' } });
  await t.rejects(h.deleteLink('gq', { until: 'soon' as never }), {
    code: 'NETLINK_ERR_INVALID_ARGUMENT',
    field: 'until',
    message: /soon.*'answered' or 'gone'/,
  });
  await t.rejects(h.whenGone(0), { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'link' });
  await t.rejects(h.whenGone('x'.repeat(16)), { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'link' });
  await t.rejects(h.whenGone('nosuch'), { code: 'NETLINK_ERR_KERNEL', errno: 'ENODEV' });
  t.same(await linkNames(ns), ['gq', 'gqp', 'lo'], 'nothing deleted');
});
