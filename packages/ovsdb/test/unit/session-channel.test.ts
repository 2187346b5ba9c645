// The push → AsyncIterable bridge behind replica.changes() and session.statusChanges().
import t from 'tap';
import { Channel } from '../../src/session/channel.js';

t.test('values pushed before and after next() arrive in order; end() finishes after the queue', async (t) => {
  const ch = new Channel<number>();
  ch.push(1);
  ch.push(2);
  t.same(await ch.next(), { value: 1, done: false });
  const pending = ch.next();
  ch.push(2.5);
  t.same(await pending, { value: 2, done: false });
  t.same(await ch.next(), { value: 2.5, done: false });
  ch.push(3);
  ch.end();
  ch.push(4);
  t.same(await ch.next(), { value: 3, done: false }, 'queued values survive end()');
  t.same(await ch.next(), { value: undefined, done: true });
  t.ok(ch.closed);
});

t.test('end() wakes a waiting consumer; leaving a for-await unsubscribes', async (t) => {
  let unsubscribed = 0;
  const ch = new Channel<string>(() => unsubscribed++);
  const waiting = ch.next();
  ch.end();
  t.same(await waiting, { value: undefined, done: true });
  t.equal(unsubscribed, 1);

  const ch2 = new Channel<string>(() => unsubscribed++);
  ch2.push('a');
  ch2.push('b');
  const got: string[] = [];
  for await (const v of ch2) {
    got.push(v);
    break;
  }
  t.same(got, ['a']);
  t.equal(unsubscribed, 2, 'break called return()');
  t.same(await ch2.next(), { value: undefined, done: true });
});

t.test('a long queue is compacted without losing values', async (t) => {
  const ch = new Channel<number>();
  for (let i = 0; i < 5000; i++) ch.push(i);
  let sum = 0;
  for (let i = 0; i < 5000; i++) sum += (await ch.next()).value as number;
  t.equal(sum, (4999 * 5000) / 2);
});
