// NbCfgBarrier: concurrent callers share nb_cfg bumps, and nobody gets a bump sent before they asked.
import t from 'tap';
import { NbCfgBarrier } from '../../src/core/ovn/barrier.js';

function rig() {
  let cfg = 0;
  const sent: { at: number; resolve: () => void }[] = [];
  let clock = 0;
  const b = new NbCfgBarrier(
    () =>
      new Promise<number>((resolve) => {
        const n = ++cfg;
        sent.push({ at: clock, resolve: () => resolve(n) });
      }),
  );
  return { b, sent, tick: () => ++clock, now: () => clock };
}
const flush = () => new Promise((r) => setImmediate(r));

t.test('callers asking together share one bump', async (t) => {
  const { b, sent } = rig();
  const ps = Array.from({ length: 100 }, () => b.after());
  await flush();
  t.equal(sent.length, 1, 'one bump for 100 callers');
  sent[0]?.resolve();
  t.same(new Set(await Promise.all(ps)), new Set([1]));
});

t.test('a caller arriving while a bump is in flight gets the next one, sent after it asked', async (t) => {
  const { b, sent, tick } = rig();
  const first = b.after();
  await flush();
  t.equal(sent.length, 1);
  tick();
  const askedAt = 1;
  const late = Array.from({ length: 10 }, () => b.after());
  await flush();
  t.equal(sent.length, 1, 'the next bump waits for the reply of the one in flight');
  sent[0]?.resolve();
  t.equal(await first, 1);
  await flush();
  t.equal(sent.length, 2, 'then one bump for all who asked meanwhile');
  t.ok((sent[1]?.at ?? -1) >= askedAt, 'sent after they asked');
  sent[1]?.resolve();
  t.same(new Set(await Promise.all(late)), new Set([2]));
});

t.test('a failed bump fails its callers only; the next one is sent', async (t) => {
  let n = 0;
  const b = new NbCfgBarrier(async () => {
    n++;
    if (n === 1) throw new Error('NB gone');
    return n;
  });
  await t.rejects(b.after(), /NB gone/);
  t.equal(await b.after(), 2);
});
