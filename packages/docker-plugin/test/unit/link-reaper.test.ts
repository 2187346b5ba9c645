// LinkReaper (pure logic, an in-memory kernel): a batch (the deletes of one turn) goes out at once while fewer
// than REAPER_SLOTS are in flight, each in its own reserved group; with every slot busy, what is asked for
// gathers into one group delete; a missing link is false, a failure is its caller's alone.
import t from 'tap';
import { isReapingGroup, reapingGroup } from '../../src/core/kernel.js';
import { LinkReaper, REAPER_SLOTS } from '../../src/core/link-reaper.js';

const errno = (e: string) => Object.assign(new Error(e), { errno: e });

class Kernel {
  links = new Map<string, number>();
  calls: string[] = [];
  /** While set, deleteLink and deleteLinkGroup wait for it (a delete "in flight"). */
  hold: Promise<void> | undefined;
  inFlight = 0;
  maxInFlight = 0;
  failDelete = new Map<string, string>();
  failGroup: string | undefined;
  /**
   * When set, deletes unlist their links (and announce it to `whenGone`) as soon as they go out, before
   * `hold`, as the kernel multicasts RTM_DELLINK before its RCU wait; a failing delete announces nothing.
   * Unset, `whenGone` rejects (as when events cannot be watched) and the answer decides.
   */
  announce = false;
  readonly gone = new Map<string, () => void>();
  /** The `index` option of each whenGone call, in order. */
  goneIndexes: (number | undefined)[] = [];
  whenGone(name: string | number, o: { signal?: AbortSignal; index?: number | undefined }): Promise<void> {
    this.goneIndexes.push(o.index);
    if (!this.announce) return Promise.reject(errno('EOPNOTSUPP'));
    if (!this.links.has(String(name))) return Promise.reject(errno('ENODEV'));
    return new Promise((resolve, reject) => {
      this.gone.set(String(name), resolve);
      o.signal?.addEventListener(
        'abort',
        () => {
          this.gone.delete(String(name));
          reject(o.signal?.reason);
        },
        { once: true },
      );
    });
  }
  #unlist(name: string): boolean {
    if (!this.links.delete(name)) return false;
    this.gone.get(name)?.();
    this.gone.delete(name);
    return true;
  }
  async setLink(name: string | number, ch: { group?: number }) {
    this.calls.push(`setLink ${name}`);
    if (!this.links.has(String(name))) throw errno('ENODEV');
    this.links.set(String(name), ch.group ?? 0);
  }
  async deleteLink(name: string | number) {
    this.calls.push(`deleteLink ${name}`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const e = this.failDelete.get(String(name));
    const early = this.announce && !e ? this.#unlist(String(name)) : undefined;
    await this.hold;
    this.inFlight--;
    if (e) throw errno(e);
    if (!(early ?? this.#unlist(String(name)))) throw errno('ENODEV');
  }
  async deleteLinkGroup(group: number) {
    this.calls.push(`deleteLinkGroup ${group.toString(16)}`);
    if (!isReapingGroup(group)) throw new Error(`group ${group} is not a reaping group`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const doomed = [...this.links].filter(([, g]) => g === group);
    if (this.announce && !this.failGroup) for (const [n] of doomed) this.#unlist(n);
    await this.hold;
    this.inFlight--;
    if (this.failGroup) throw errno(this.failGroup);
    if (doomed.length === 0) throw errno('ENODEV');
    for (const [n] of doomed) this.#unlist(n);
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

const turn = () => new Promise((r) => setImmediate(r));

t.test('a delete asked for while another is in flight does not wait for it', async (t) => {
  const { k, reaper } = setup(['a', 'b', 'c']);
  let release!: () => void;
  k.hold = new Promise((r) => (release = r));
  const first = reaper.delete('a');
  await turn();
  await turn();
  const second = [reaper.delete('b'), reaper.delete('c')];
  await turn();
  await turn();
  t.same(
    k.calls,
    ['deleteLink a', 'setLink b', 'setLink c', `deleteLinkGroup ${reapingGroup(1).toString(16)}`],
    'the second batch went out at once, in a group of its own',
  );
  t.equal(k.maxInFlight, 2, 'two deletes in flight together');
  release();
  t.same(await Promise.all([first, ...second]), [true, true, true]);
});

t.test('with every slot busy, the deletes asked for gather into one group delete', async (t) => {
  const busyNames = Array.from({ length: REAPER_SLOTS }, (_, i) => `busy${i}`);
  const { k, reaper } = setup([...busyNames, 'd', 'e', 'f', 'g', 'h', 'keep']);
  let release!: () => void;
  k.hold = new Promise((r) => (release = r));
  const busy: Promise<boolean>[] = [];
  for (const n of busyNames) {
    busy.push(reaper.delete(n));
    await turn();
    await turn();
  }
  t.equal(k.inFlight, REAPER_SLOTS, 'every slot in flight');
  const before = k.calls.length;
  const rest = [
    reaper.delete('d'),
    reaper.delete('e'),
    reaper.delete('gone'),
    reaper.delete('f'),
    reaper.delete('e'),
  ];
  await turn();
  const late = [reaper.delete('g'), reaper.delete('h')]; // a later turn: same waiting batch
  await turn();
  t.equal(k.calls.length, before, 'nothing goes out while every slot is busy');
  k.hold = undefined;
  release();
  t.same(
    await Promise.all(busy),
    busyNames.map(() => true),
  );
  t.same(await Promise.all([...rest, ...late]), [true, true, false, true, true, true, true]);
  const after = k.calls.slice(before);
  t.equal(after.filter((c) => c.startsWith('deleteLinkGroup')).length, 1, 'one group delete for all of them');
  t.same(after.filter((c) => c.startsWith('setLink')).sort(), [
    'setLink d',
    'setLink e',
    'setLink f',
    'setLink g',
    'setLink gone',
    'setLink h',
  ]);
  t.equal(k.maxInFlight, REAPER_SLOTS, 'never more than REAPER_SLOTS in flight');
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

t.test(
  'a delete resolves on the gone notice, while its request still waits; its slot stays busy',
  async (t) => {
    const { k, reaper } = setup(['a', 'b']);
    k.announce = true;
    let release!: () => void;
    k.hold = new Promise((r) => (release = r));
    t.equal(await reaper.delete('a'), true, 'resolved with the request still held');
    t.equal(k.inFlight, 1, 'the request is still in flight');
    t.equal(k.gone.size, 0, 'no wait left behind');
    const b = reaper.delete('b');
    await turn();
    await turn();
    t.same(
      k.calls,
      ['deleteLink a', 'deleteLink b'],
      'the next goes out in another slot (the first still holds its own)',
    );
    t.equal(k.maxInFlight, 2);
    t.equal(await b, true);
    release();
    await turn();
    t.equal(k.inFlight, 0, 'both requests answered after the release');
    t.equal(await reaper.delete('a'), false, 'gone: deleting again is false');
  },
);

t.test('group members resolve on the gone notice too', async (t) => {
  const { k, reaper } = setup(['a', 'b', 'c', 'd']);
  k.announce = true;
  let release!: () => void;
  k.hold = new Promise((r) => (release = r));
  const all = await Promise.all(['a', 'b', 'c', 'd'].map((n) => reaper.delete(n)));
  t.same(all, [true, true, true, true], 'all four resolved with the group delete still held');
  t.equal(k.calls.filter((c) => c.startsWith('deleteLinkGroup')).length, 1, 'one group delete');
  t.equal(k.inFlight, 1);
  t.equal(k.gone.size, 0, 'no wait left behind');
  release();
});

t.test(
  "a failing delete is not announced: its error is still the caller's, and no wait is left",
  async (t) => {
    const { k, reaper } = setup(['a']);
    k.announce = true;
    k.failDelete.set('a', 'EBUSY');
    await t.rejects(reaper.delete('a'), { message: 'EBUSY' });
    t.equal(k.gone.size, 0, 'the wait was aborted');
    t.ok(k.links.has('a'), 'the link is still there');
  },
);

t.test('a missing link with the notice watched: false, from the answer', async (t) => {
  const { k, reaper } = setup([]);
  k.announce = true;
  t.equal(await reaper.delete('nosuch'), false);
  t.same(k.calls, ['deleteLink nosuch']);
});

t.test('the ifindex the caller knows goes to the gone wait, which then looks nothing up', async (t) => {
  const { k, reaper } = setup(['a', 'b']);
  k.announce = true;
  t.equal(await reaper.delete('a', 42), true);
  t.equal(await reaper.delete('b'), true);
  t.same(k.goneIndexes, [42, undefined], 'passed when known, left out otherwise');
});
