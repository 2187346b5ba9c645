// Reconnect pacing (1 s → 8 s with jitter) and shuffled remote rotation, with injected randomness.
import t from 'tap';
import { Backoff, RemoteRotation, shuffle } from '../../src/session/backoff.js';

const seq = (...xs: number[]) => {
  let i = 0;
  return () => xs[i++ % xs.length] as number;
};

t.test('doubles from 1 s to the 8 s ceiling; reset starts over', async (t) => {
  const b = new Backoff({}, () => 0);
  t.same([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [1000, 2000, 4000, 8000, 8000, 8000]);
  b.reset();
  t.equal(b.next(), 1000);
});

t.test('jitter keeps each delay within [d·(1−jitter), d]', async (t) => {
  const lo = new Backoff({ jitter: 0.5 }, () => 0.999999);
  t.equal(lo.next(), 500);
  t.equal(lo.next(), 1000);
  const random = new Backoff({ initialMs: 100, maxMs: 400, jitter: 0.25 });
  for (let i = 0; i < 50; i++) {
    const base = random.base;
    const d = random.next();
    t.ok(d >= base * 0.75 - 1 && d <= base, `delay ${d} within jitter of ${base}`);
  }
});

t.test('bad options are refused with the field and what is allowed', async (t) => {
  t.throws(() => new Backoff({ initialMs: -1 }), {
    code: 'OVSDB_ERR_INVALID_ARGUMENT',
    message: /initialMs: -1/,
  });
  t.throws(() => new Backoff({ initialMs: 1000, maxMs: 10 }), { message: /maxMs: 10 .*≥ initialMs/ });
  t.throws(() => new Backoff({ jitter: 2 }), { message: /jitter: 2 .*\[0, 1\]/ });
  t.throws(() => new RemoteRotation([]), { code: 'OVSDB_ERR_INVALID_ARGUMENT', message: /remotes/ });
  t.throws(() => new RemoteRotation(['']), { code: 'OVSDB_ERR_INVALID_ARGUMENT' });
});

t.test('shuffle is a permutation', async (t) => {
  const xs = ['a', 'b', 'c', 'd', 'e'];
  for (let i = 0; i < 20; i++) t.same(shuffle(xs).sort(), xs);
  t.same(
    shuffle(xs, () => 0),
    ['b', 'c', 'd', 'e', 'a'],
  );
  t.same(xs, ['a', 'b', 'c', 'd', 'e'], 'input untouched');
});

t.test('rotation visits every remote once per pass, reshuffling between passes', async (t) => {
  const r = new RemoteRotation(['x', 'y', 'z'], seq(0.1, 0.9, 0.5, 0.3));
  const first = [r.next(), r.next(), r.next()];
  t.same([...first].sort(), ['x', 'y', 'z']);
  t.ok(r.passCompleted);
  const second = [r.next(), r.next(), r.next()];
  t.same([...second].sort(), ['x', 'y', 'z']);
  r.succeeded();
  t.notOk(r.passCompleted);
  r.next();
  t.notOk(r.passCompleted);
  const single = new RemoteRotation(['only']);
  t.equal(single.next(), 'only');
  t.equal(single.next(), 'only');
  t.ok(single.passCompleted);
});
