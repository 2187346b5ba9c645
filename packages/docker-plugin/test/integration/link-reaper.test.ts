// LinkReaper against the real kernel (needs root): in a namespace of its own, 20 veth pairs deleted at once
// while one delete is in flight go out at once, in one RTM_DELLINK of a reaping group of their own; both ends
// of every pair go, a link nobody asked for stays, and a name that is not there is false.
import { NetlinkHandle } from '@ovs-container-network/netlink';
import { createNetns, deleteNetns, ipJson, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { reapingGroup } from '../../src/core/kernel.js';
import { LinkReaper } from '../../src/core/link-reaper.js';

t.test('concurrent deletes: one group delete, every pair gone, nothing else touched', async (t) => {
  const ns = await createNetns(uniqueName('rp'));
  t.teardown(() => deleteNetns(ns));
  const h = NetlinkHandle.open({ name: ns });
  t.teardown(() => h.close());
  const names = Array.from({ length: 21 }, (_, i) => `rh${i}`);
  for (const n of names) await h.createVeth({ name: n, peer: { name: `rc${n.slice(2)}` } });
  await h.createVeth({ name: 'keep0', peer: { name: 'keep1' } });

  const calls: string[] = [];
  const spy = {
    setLink: (l: string | number, c: { group?: number }) => {
      calls.push(`setLink ${l} ${c.group}`);
      return h.setLink(l, c);
    },
    deleteLink: (l: string | number) => {
      calls.push(`deleteLink ${l}`);
      return h.deleteLink(l);
    },
    deleteLinkGroup: (g: number) => {
      calls.push(`deleteLinkGroup ${g}`);
      return h.deleteLinkGroup(g);
    },
    whenGone: (l: string | number, o: { signal?: AbortSignal | undefined }) => h.whenGone(l, o),
  };
  const reaper = new LinkReaper(spy);
  const first = reaper.delete(names[0]!);
  await new Promise((r) => setImmediate(r)); // the first is on its way
  const rest = names.slice(1).map((n) => reaper.delete(n));
  const missing = reaper.delete('nosuchlink');
  t.same(
    await Promise.all([first, ...rest]),
    names.map(() => true),
    'each was there',
  );
  t.equal(await missing, false, 'a name that is not there: false');

  const left = (await ipJson<{ ifname: string }[]>(['link', 'show'], ns)).map((l) => l.ifname).sort();
  t.same(left, ['keep0', 'keep1', 'lo'], 'both ends of every pair gone, the other pair kept');
  t.equal(calls[0], `deleteLink ${names[0]}`, 'the first went out alone');
  const groups = calls.filter((c) => c.startsWith('deleteLinkGroup '));
  t.same(
    groups,
    [`deleteLinkGroup ${reapingGroup(1)}`],
    'the other 20 (and the missing name) in one group delete',
  );
  t.equal(
    calls.filter((c) => c.startsWith('setLink ') && c.endsWith(` ${reapingGroup(1)}`)).length,
    21,
    'each moved into that group first',
  );
  t.equal(calls.filter((c) => c.startsWith('deleteLink ')).length, 1, 'no delete one by one after the first');
});
