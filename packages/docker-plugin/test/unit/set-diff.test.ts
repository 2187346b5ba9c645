// setDiff (core/ovs/backend.ts), which keeps the port → bridge index from the replica's Bridge changes: the
// fast walk for the replica's order (old elements kept in order, new ones appended) and the general way for
// anything else must both give exactly what a set difference gives.
import t from 'tap';
import { setDiff } from '../../src/core/ovs/backend.js';

const reference = (before: string[], after: string[]) => ({
  added: after.filter((x) => !before.includes(x)).sort(),
  removed: before.filter((x) => !after.includes(x)).sort(),
});
const sorted = (d: { added: string[]; removed: string[] }) => ({
  added: [...d.added].sort(),
  removed: [...d.removed].sort(),
});

t.test('the replica order: one added, one removed, both, none', async (t) => {
  const big = Array.from({ length: 5000 }, (_, i) => `p${i}`);
  t.same(setDiff(big, [...big, 'new']), { added: ['new'], removed: [] });
  t.same(
    setDiff(
      big,
      big.filter((p) => p !== 'p2500'),
    ),
    { added: [], removed: ['p2500'] },
  );
  t.same(setDiff(big, [...big.filter((p) => p !== 'p0'), 'n1', 'n2']), {
    added: ['n1', 'n2'],
    removed: ['p0'],
  });
  t.same(setDiff(big, [...big]), { added: [], removed: [] });
  t.same(setDiff([], ['a']), { added: ['a'], removed: [] });
  t.same(setDiff(['a'], []), { added: [], removed: ['a'] });
});

t.test('any other order or size is still exact (randomised against a plain set difference)', async (t) => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  let bad = 0;
  for (let round = 0; round < 2000; round++) {
    const universe = Array.from({ length: 1 + rand(60) }, (_, i) => `u${i}`);
    const before = universe.filter(() => rand(2) === 0);
    const after = universe.filter(() => rand(2) === 0);
    if (rand(2) === 0) after.reverse(); // not the replica's order
    if (rand(3) === 0) after.splice(0, after.length, ...before.filter(() => rand(8) !== 0), `x${round}`);
    const got = sorted(setDiff(before, after));
    const want = reference(before, after);
    if (JSON.stringify(got) !== JSON.stringify(want)) bad++;
  }
  t.equal(bad, 0, 'every one of 2,000 random pairs gives the set difference');
  // A move to the middle (not appended) that the walk could misread as remove + add of others.
  t.same(sorted(setDiff(['a', 'b', 'c', 'd'], ['b', 'a', 'c', 'd'])), { added: [], removed: [] });
  t.same(sorted(setDiff(['a', 'b', 'c'], ['a', 'z', 'b', 'c'])), { added: ['z'], removed: [] });
});
