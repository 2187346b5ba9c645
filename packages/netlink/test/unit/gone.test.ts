// GoneTracker and the RTM_DELLINK parser, pure logic: hand-built payloads and a fake socket.
import { EventEmitter } from 'node:events';
import t from 'tap';
import { dellinkIdentity, GoneTracker, IDLE_MS, NOT_FOUND_GRACE_MS } from '../../src/gone.js';

/** ifinfomsg (index at offset 4) followed by the given attributes (type, payload), 4-aligned. */
function payload(index: number, attrs: [number, Buffer][]): Buffer {
  const head = Buffer.alloc(16);
  head.writeInt32LE(index, 4);
  const parts = [head];
  for (const [type, data] of attrs) {
    const len = 4 + data.length;
    const a = Buffer.alloc((len + 3) & ~3);
    a.writeUInt16LE(len, 0);
    a.writeUInt16LE(type, 2);
    data.copy(a, 4);
    parts.push(a);
  }
  return Buffer.concat(parts);
}
const ifname = (s: string) => Buffer.from(`${s}\0`);

t.test('dellinkIdentity', async (t) => {
  t.same(dellinkIdentity(payload(7, [[3, ifname('veth0')]])), { index: 7, name: 'veth0' });
  t.same(
    dellinkIdentity(
      payload(8, [
        [4, Buffer.alloc(4)],
        [0x8000 | 1, Buffer.alloc(6)],
        [3, ifname('eth1')],
      ]),
    ),
    { index: 8, name: 'eth1' },
    'after other attributes, padded, one with a flag bit',
  );
  t.same(
    dellinkIdentity(payload(9, [[0x4000 | 3, ifname('x')]])),
    { index: 9, name: 'x' },
    'the NLA_F_NET_BYTEORDER bit is not part of the type',
  );
  t.same(dellinkIdentity(payload(10, [])), { index: 10, name: undefined }, 'no IFLA_IFNAME');
  t.same(dellinkIdentity(payload(11, [[3, Buffer.alloc(0)]])), { index: 11, name: undefined }, 'empty name');
  t.same(dellinkIdentity(payload(11, [[3, Buffer.from('ab')]])), { index: 11, name: 'ab' }, 'no NUL');
  const truncated = payload(12, [[3, ifname('veth0')]]).subarray(0, 20);
  t.same(dellinkIdentity(truncated), { index: 12, name: undefined }, 'an attribute longer than the message');
  const zero = payload(13, [[3, ifname('a')]]);
  zero.writeUInt16LE(0, 16);
  t.same(dellinkIdentity(zero), { index: 13, name: undefined }, 'a zero-length attribute ends the scan');
  t.equal(dellinkIdentity(Buffer.alloc(15)), undefined, 'shorter than an ifinfomsg');
});

class FakeSocket extends EventEmitter {
  groups: number[] = [];
  closed = false;
  refd: boolean | undefined;
  addMembership(g: number) {
    this.groups.push(g);
  }
  ref(on: boolean) {
    this.refd = on;
  }
  close() {
    this.closed = true;
  }
  del(index: number, name?: string) {
    const attrs: [number, Buffer][] = name === undefined ? [] : [[3, ifname(name)]];
    this.emit('message', [{ type: 17, flags: 0, seq: 0, port: 0, data: payload(index, attrs) }]);
  }
  newlink(index: number, name: string) {
    this.emit('message', [
      { type: 16, flags: 0, seq: 0, port: 0, data: payload(index, [[3, ifname(name)]]) },
    ]);
  }
}

function tracker() {
  const socks: FakeSocket[] = [];
  const g = new GoneTracker(() => {
    const s = new FakeSocket();
    socks.push(s);
    return s as never;
  }, 'test');
  return { g, socks };
}

const settled = async (p: Promise<unknown>) => {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await new Promise((r) => setImmediate(r));
  return state;
};

t.test('a wait by index resolves on its DELLINK, not on a NEWLINK or another index', async (t) => {
  const { g, socks } = tracker();
  const w = g.track({ index: 5 });
  const s = socks[0]!;
  t.same(s.groups, [1], 'subscribed to RTNLGRP_LINK');
  t.equal(s.refd, true, 'a pending wait keeps the process alive');
  s.newlink(5, 'a');
  s.del(6, 'a');
  t.equal(await settled(w.promise), 'pending');
  s.del(5, 'a');
  t.equal(await settled(w.promise), 'resolved');
  t.equal(s.refd, false, 'with no wait left, the socket keeps nothing alive');
  g.close();
});

t.test('a wait by name: a DELLINK for another device of that name does not end it', async (t) => {
  const { g, socks } = tracker();
  const w = g.track({ name: 'x' });
  socks[0]!.del(41, 'x'); // an earlier device named x, its event still unread when the wait began
  w.indexIs(42);
  t.equal(await settled(w.promise), 'pending', 'index 41 is not this x');
  socks[0]!.del(42, 'x');
  t.equal(await settled(w.promise), 'resolved');
  g.close();
});

t.test('a DELLINK seen before the index is known still counts once the index is', async (t) => {
  const { g, socks } = tracker();
  const w = g.track({ name: 'x' });
  socks[0]!.del(42, 'x');
  t.equal(await settled(w.promise), 'pending', 'not before the index is known');
  w.indexIs(42);
  t.equal(await settled(w.promise), 'resolved');
  g.close();
});

t.test('fail, abort and close reject; one socket serves every wait', async (t) => {
  const { g, socks } = tracker();
  const a = g.track({ index: 1 });
  const ac = new AbortController();
  const b = g.track({ index: 2 }, ac.signal);
  const c = g.track({ index: 3 });
  t.equal(socks.length, 1, 'one socket');
  a.fail(new Error('ENODEV'));
  await t.rejects(a.promise, { message: 'ENODEV' });
  ac.abort(new Error('stop'));
  await t.rejects(b.promise, { message: 'stop' });
  g.close();
  await t.rejects(c.promise, { code: 'NETLINK_ERR_CLOSED' });
  t.ok(socks[0]!.closed, 'closed with the tracker');
  t.throws(() => g.track({ index: 4 }), { code: 'NETLINK_ERR_CLOSED' }, 'no wait after close');
  const pre = new AbortController();
  pre.abort(new Error('already'));
  const { g: g2 } = tracker();
  await t.rejects(g2.track({ index: 1 }, pre.signal).promise, { message: 'already' });
  g2.close();
});

t.test('an overrun fails pending waits and drops the socket; the next wait opens a new one', async (t) => {
  const { g, socks } = tracker();
  const a = g.track({ index: 1 });
  socks[0]!.emit('error', Object.assign(new Error('recv: ENOBUFS'), { errno: 105, code: 'ENOBUFS' }));
  await t.rejects(a.promise);
  t.ok(socks[0]!.closed, 'dropped');
  t.notOk(g.listening);
  const b = g.track({ index: 2 });
  t.equal(socks.length, 2, 'a fresh socket');
  socks[0]!.del(2, 'late'); // the old socket is ignored
  t.equal(await settled(b.promise), 'pending');
  socks[1]!.del(2);
  t.equal(await settled(b.promise), 'resolved');
  g.close();
});

t.test('idle: the socket closes IDLE_MS after the last wait, and reopens on the next', async (t) => {
  const { g, socks } = tracker();
  const a = g.track({ index: 1 });
  socks[0]!.del(1);
  await a.promise;
  t.ok(g.listening, 'still open right after');
  const b = g.track({ index: 2 });
  t.equal(socks.length, 1, 'reused while open');
  b.fail(new Error('x'));
  await t.rejects(b.promise);
  await new Promise((r) => setTimeout(r, IDLE_MS + 100));
  t.notOk(g.listening, 'closed when idle');
  t.ok(socks[0]!.closed);
  const c = g.track({ index: 3 });
  t.equal(socks.length, 2, 'reopened');
  c.fail(new Error('y'));
  await t.rejects(c.promise);
  g.close();
});

t.test('a socket that cannot subscribe is closed and the wait throws', async (t) => {
  const made: FakeSocket[] = [];
  const g = new GoneTracker(() => {
    const s = new FakeSocket();
    s.addMembership = () => {
      throw Object.assign(new Error('setsockopt: EPERM'), { errno: 1, code: 'EPERM' });
    };
    made.push(s);
    return s as never;
  }, 'test');
  t.throws(() => g.track({ index: 1 }));
  t.ok(made[0]!.closed, 'closed again');
  t.notOk(g.listening);
});

t.test('not found: a DELLINK seen before, or within the grace, ends the wait; else the error', async (t) => {
  const { g, socks } = tracker();
  const before = g.track({ name: 'x' });
  socks[0]!.del(42, 'x');
  before.notFound(new Error('ENODEV'));
  t.equal(await settled(before.promise), 'resolved', 'the delete overtook the lookup, its event read first');
  const after = g.track({ name: 'y' });
  after.notFound(new Error('ENODEV'));
  t.equal(await settled(after.promise), 'pending', 'waits out the grace');
  socks[0]!.del(43, 'y');
  t.equal(await settled(after.promise), 'resolved', 'the event read after the lookup');
  const never = g.track({ name: 'z' });
  never.notFound(new Error('ENODEV'));
  socks[0]!.del(44, 'other');
  const t0 = Date.now();
  await t.rejects(never.promise, { message: 'ENODEV' }, "no event for it: the lookup's error");
  t.ok(Date.now() - t0 >= NOT_FOUND_GRACE_MS - 10, 'not before the grace ran out');
  g.close();
});
