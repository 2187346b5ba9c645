// LinkReaper (pure logic, an in-memory kernel): one delete at a time is in flight; the ones asked for meanwhile
// go in one link-group delete of the reserved group; a missing link is false, a failure is its caller's alone.
import t from 'tap';
import { REAPING_GROUP } from '../../src/core/kernel.js';
import { LinkReaper } from '../../src/core/link-reaper.js';

const errno = (e: string) => Object.assign(new Error(e), { errno: e });

class Kernel {
  links = new Map<string, number>();
  calls: string[] = [];
  /** While set, deleteLink waits for it (a delete "in flight"). */
  hold: Promise<void> | undefined;
  failDelete = new Map<string, string>();
  failGroup: string | undefined;
  async setLink(name: string | number, ch: { group?: number }) {
    this.calls.push(`setLink ${name}`);
    if (!this.links.has(String(name))) throw errno('ENODEV');
    this.links.set(String(name), ch.group ?? 0);
  }
  async deleteLink(name: string | number) {
    this.calls.push(`deleteLink ${name}`);
    await this.hold;
    const e = this.failDelete.get(String(name));
    if (e) throw errno(e);
    if (!this.links.delete(String(name))) throw errno('ENODEV');
  }
  async deleteLinkGroup(group: number) {
    this.calls.push(`deleteLinkGroup ${group.toString(16)}`);
    if (this.failGroup) throw errno(this.failGroup);
    const doomed = [...this.links].filter(([, g]) => g === group);
    if (doomed.length === 0) throw errno('ENODEV');
    for (const [n] of doomed) this.links.delete(n);
  }
}

function setup(names: string[]) {
  const k = new Kernel();
  for (const n of names) k.links.set(n, 0x6f63_1234);
  return { k, reaper: new LinkReaper(k as never) };
}

t.test('one delete on its own is a plain RTM_DELLINK', async (t) => {
  const { k, reaper } = setup(['a']);
  t.equal(await reaper.delete('a'), true);
  t.equal(await reaper.delete('a'), false, 'again: it is not there (idempotent)');
  t.same(k.calls, ['deleteLink a', 'deleteLink a']);
});

t.test('deletes asked for while one is in flight go together in one group delete', async (t) => {
  const { k, reaper } = setup(['a', 'b', 'c', 'd', 'keep']);
  let release!: () => void;
  k.hold = new Promise((r) => (release = r));
  const first = reaper.delete('a');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  t.same(k.calls, ['deleteLink a'], 'the first went out alone');
  const rest = [
    reaper.delete('b'),
    reaper.delete('c'),
    reaper.delete('gone'),
    reaper.delete('d'),
    reaper.delete('c'),
  ];
  k.hold = undefined;
  release();
  t.same(await Promise.all([first, ...rest]), [true, true, true, false, true, true]);
  t.same(k.calls.slice(1).sort(), [
    `deleteLinkGroup ${REAPING_GROUP.toString(16)}`,
    'setLink b',
    'setLink c',
    'setLink d',
    'setLink gone',
  ]);
  t.same([...k.links.keys()], ['keep'], 'only the link nobody asked for is left');
});

t.test('deletes of one turn join the first request', async (t) => {
  const { k, reaper } = setup(['a', 'b', 'c']);
  t.same(await Promise.all(['a', 'b', 'c'].map((n) => reaper.delete(n))), [true, true, true]);
  t.equal(k.calls.filter((c) => c.startsWith('delete')).length, 1, 'one RTM_DELLINK for three links');
});

t.test(
  'a group delete the kernel refuses falls back to one by one; errors stay with their caller',
  async (t) => {
    const { k, reaper } = setup(['a', 'b', 'c']);
    k.failGroup = 'EOPNOTSUPP';
    k.failDelete.set('b', 'EPERM');
    const [a, b, c] = await Promise.allSettled(['a', 'b', 'c'].map((n) => reaper.delete(n)));
    t.same(a, { status: 'fulfilled', value: true });
    t.match(b, { status: 'rejected', reason: { errno: 'EPERM' } });
    t.same(c, { status: 'fulfilled', value: true });
    t.same([...k.links.keys()], ['b'], 'the one that failed is still there');
    t.equal(await reaper.delete('c'), false, 'and the reaper goes on');
  },
);

t.test('the group found empty (the links went meanwhile) is success', async (t) => {
  const { k, reaper } = setup(['a', 'b']);
  k.deleteLinkGroup = async (g: number) => {
    k.calls.push(`deleteLinkGroup ${g}`);
    k.links.clear(); // their namespace went, or another process's group delete took them
    throw errno('ENODEV');
  };
  t.same(await Promise.all([reaper.delete('a'), reaper.delete('b')]), [true, true]);
});
