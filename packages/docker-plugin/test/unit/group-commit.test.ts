// GroupCommit (pure logic): one turn's keys form a batch; a batch goes out while a slot is free; with every
// slot busy the keys submitted meanwhile gather into one batch; equal keys share a result; one key's Error
// rejects its callers alone; a run that throws rejects the whole batch and the commit goes on.
import t from 'tap';
import { GroupCommit } from '../../src/core/group-commit.js';

const turn = () => new Promise((r) => setImmediate(r));

function recorder(slots: number) {
  const batches: { keys: string[]; slot: number }[] = [];
  let release!: () => void;
  let hold: Promise<void> | undefined = new Promise((r) => (release = r));
  const gc = new GroupCommit<string, string>(
    async (keys, slot) => {
      batches.push({ keys: [...keys], slot });
      await hold;
      return new Map(keys.map((k) => [k, k.startsWith('bad') ? new Error(`refused ${k}`) : k.toUpperCase()]));
    },
    { slots },
  );
  return {
    gc,
    batches,
    open() {
      hold = undefined;
      release();
    },
  };
}

t.test('one turn is one batch; a lone request goes out after one turn', async (t) => {
  const r = recorder(1);
  r.open();
  t.same(await Promise.all(['a', 'b', 'a'].map((k) => r.gc.submit(k))), ['A', 'B', 'A']);
  t.same(r.batches, [{ keys: ['a', 'b'], slot: 0 }], 'equal keys share one entry');
});

t.test('with the slot busy, what comes meanwhile (over several turns) gathers into one batch', async (t) => {
  const r = recorder(1);
  const first = r.gc.submit('a');
  await turn();
  await turn();
  const later = [r.gc.submit('b')];
  await turn();
  later.push(r.gc.submit('c'), r.gc.submit('bad1'));
  await turn();
  t.same(
    r.batches.map((b) => b.keys),
    [['a']],
    'nothing else goes out while the slot is busy',
  );
  r.open();
  t.equal(await first, 'A');
  const [b, c, bad] = await Promise.allSettled(later);
  t.same(
    [b, c],
    [
      { status: 'fulfilled', value: 'B' },
      { status: 'fulfilled', value: 'C' },
    ],
  );
  t.match(
    bad,
    { status: 'rejected', reason: { message: 'refused bad1' } },
    'its own error, the others unharmed',
  );
  t.same(
    r.batches.map((x) => x.keys),
    [['a'], ['b', 'c', 'bad1']],
  );
});

t.test('with two slots, the second batch does not wait for the first', async (t) => {
  const r = recorder(2);
  const p = [r.gc.submit('a')];
  await turn();
  await turn();
  p.push(r.gc.submit('b'));
  await turn();
  await turn();
  t.same(
    r.batches,
    [
      { keys: ['a'], slot: 0 },
      { keys: ['b'], slot: 1 },
    ],
    'both in flight, each in its slot',
  );
  r.open();
  t.same(await Promise.all(p), ['A', 'B']);
});

t.test('a run that throws rejects its batch only; a result left out is an error, not a hang', async (t) => {
  let calls = 0;
  const gc = new GroupCommit<string, number>(async (keys) => {
    calls++;
    if (calls === 1) throw new Error('kernel said no');
    return new Map(keys.filter((k) => k !== 'forgotten').map((k) => [k, k.length]));
  });
  await t.rejects(gc.submit('x'), { message: 'kernel said no' });
  t.same(await gc.submit('abc'), 3, 'the commit goes on');
  await t.rejects(gc.submit('forgotten'), { message: /no result/ });
  t.throws(() => new GroupCommit(async () => new Map(), { slots: 0 }), /slots 0/);
});
