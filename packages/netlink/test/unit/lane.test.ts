// The request lane's logic (batching, order, dumps alone, answers matched by seq, timeouts, close) over a
// fake LaneIo that records every send and answers when the test says so. No kernel needed.
import t from 'tap';
import { type LaneIo, MAX_BATCH, RequestLane } from '../../src/lane.js';
import { NLM_F, NLMSG_DONE, NLMSG_ERROR, nlmsg, RTM } from '../../src/wire.js';

interface Sent {
  fd: number;
  msgs: { type: number; flags: number; seq: number }[];
  answer: (raw: Buffer) => void;
  fail: (err: unknown) => void;
}

function fakeIo(firstFd = 10) {
  const sent: Sent[] = [];
  const closed: number[] = [];
  let nextFd = firstFd + 1;
  const opened: number[] = [];
  const io: LaneIo = {
    open: () => {
      opened.push(nextFd);
      return nextFd++;
    },
    send: (fd, buf) =>
      new Promise<Buffer>((answer, fail) => {
        const msgs: Sent['msgs'] = [];
        for (let off = 0; off < buf.length; ) {
          const len = buf.readUInt32LE(off);
          msgs.push({
            type: buf.readUInt16LE(off + 4),
            flags: buf.readUInt16LE(off + 6),
            seq: buf.readUInt32LE(off + 8),
          });
          off += (len + 3) & ~3;
        }
        sent.push({ fd, msgs, answer, fail });
      }),
    close: (fd) => closed.push(fd),
  };
  return { io, sent, closed, opened };
}

const ack = (seq: number, errno = 0): Buffer => {
  const p = Buffer.alloc(20);
  p.writeInt32LE(-errno, 0);
  return nlmsg(NLMSG_ERROR, 0, seq, p);
};
const done = (seq: number): Buffer => nlmsg(NLMSG_DONE, NLM_F.MULTI, seq, Buffer.alloc(4));
const reply = (seq: number, marker: number): Buffer => {
  const p = Buffer.alloc(16);
  p.writeInt32LE(marker, 4);
  return nlmsg(RTM.NEWLINK, 0, seq, p);
};
const tick = () => new Promise((r) => setImmediate(r));
const lane = (io: LaneIo, timeoutMs = 60_000) =>
  new RequestLane(io, 10, timeoutMs, (c) => ({ ...c, netns: 'test' }));
const markers = (msgs: { data: Buffer }[]) => msgs.map((m) => m.data.readInt32LE(4));

t.test('an idle lane sends at once; requests made meanwhile leave together, in order', async (t) => {
  const { io, sent } = fakeIo();
  const l = lane(io);
  const a = l.request(RTM.GETLINK, Buffer.alloc(16), 0, { operation: 'a' });
  t.equal(sent.length, 1, 'sent before request() returned');
  t.same(
    sent[0]?.msgs.map((m) => m.flags),
    [NLM_F.REQUEST | NLM_F.ACK],
    'REQUEST and ACK added',
  );
  const b = l.request(RTM.SETLINK, Buffer.alloc(16), 0, { operation: 'b' });
  const c = l.request(RTM.GETLINK, Buffer.alloc(16), 0, { operation: 'c' });
  const d = l.request(RTM.NEWLINK, Buffer.alloc(16), NLM_F.CREATE, { operation: 'd' });
  t.equal(sent.length, 1, 'nothing more leaves while a batch is out');
  const s0 = sent[0] as Sent;
  s0.answer(Buffer.concat([reply(s0.msgs[0]!.seq, 7), ack(s0.msgs[0]!.seq)]));
  t.same(markers(await a), [7], 'the first answer');
  t.equal(sent.length, 2);
  const s1 = sent[1] as Sent;
  t.same(
    s1.msgs.map((m) => m.type),
    [RTM.SETLINK, RTM.GETLINK, RTM.NEWLINK],
    'one sendmsg, in the order made',
  );
  t.same(
    s1.msgs.map((m) => m.seq - s0.msgs[0]!.seq),
    [1, 2, 3],
    'consecutive seqs',
  );
  const [sb, sc, sd] = s1.msgs.map((m) => m.seq) as [number, number, number];
  // Answers for each, one of them an error; a stray seq is ignored.
  s1.answer(Buffer.concat([ack(sb, 19), reply(sc, 3), ack(sc), reply(99_999, 1), ack(sd, 17)]));
  await t.rejects(b, { code: 'NETLINK_ERR_KERNEL', errno: 'ENODEV', operation: 'b', netns: 'test' });
  t.same(markers(await c), [3], 'its own answer only');
  await t.rejects(d, { code: 'NETLINK_ERR_KERNEL', errno: 'EEXIST', operation: 'd' });
});

t.test(`batches hold at most ${MAX_BATCH} requests, and a dump leaves alone`, async (t) => {
  const { io, sent } = fakeIo();
  const l = lane(io);
  const first = l.request(RTM.GETLINK, Buffer.alloc(16), 0, { operation: 'x' });
  const many = Array.from({ length: MAX_BATCH + 2 }, () =>
    l.request(RTM.SETLINK, Buffer.alloc(16), 0, { operation: 's' }),
  );
  const dump = l.request(RTM.GETLINK, Buffer.alloc(16), NLM_F.DUMP, { operation: 'dump' });
  const after = l.request(RTM.SETLINK, Buffer.alloc(16), 0, { operation: 'after' });
  const answerAll = (s: Sent) =>
    s.answer(Buffer.concat(s.msgs.map((m) => (m.flags & NLM_F.DUMP ? done(m.seq) : ack(m.seq)))));
  answerAll(sent[0] as Sent);
  await first;
  t.equal(sent[1]?.msgs.length, MAX_BATCH, 'a full batch');
  answerAll(sent[1] as Sent);
  await tick();
  t.same(
    sent[2]?.msgs.map((m) => m.type),
    [RTM.SETLINK, RTM.SETLINK],
    'the rest, stopping before the dump',
  );
  answerAll(sent[2] as Sent);
  await Promise.all(many);
  t.same(
    sent[3]?.msgs.map((m) => m.flags),
    [NLM_F.REQUEST | NLM_F.ACK | NLM_F.DUMP],
    'the dump alone',
  );
  const s3 = sent[3] as Sent;
  s3.answer(Buffer.concat([reply(s3.msgs[0]!.seq, 1), reply(s3.msgs[0]!.seq, 2), done(s3.msgs[0]!.seq)]));
  t.same(markers(await dump), [1, 2], 'every part of the dump');
  t.same(sent[4]?.msgs.length, 1, 'then the next');
  answerAll(sent[4] as Sent);
  await after;
});

t.test('hold: queued, and sent with the next request in one sendmsg', async (t) => {
  const { io, sent } = fakeIo();
  const l = lane(io);
  const create = l.request(RTM.NEWLINK, Buffer.alloc(16), 0, { operation: 'create' }, true);
  t.equal(sent.length, 0, 'held');
  const read = l.request(RTM.GETLINK, Buffer.alloc(16), 0, { operation: 'read' });
  t.same(
    sent[0]?.msgs.map((m) => m.type),
    [RTM.NEWLINK, RTM.GETLINK],
  );
  const [c, r] = sent[0]!.msgs.map((m) => m.seq) as [number, number];
  sent[0]!.answer(Buffer.concat([ack(c), reply(r, 5), ack(r)]));
  t.same(await create, []);
  t.same(markers(await read), [5]);
});

t.test(
  'a batch the kernel does not answer in time: rejected, its socket closed when it returns, the lane goes on',
  async (t) => {
    const { io, sent, closed, opened } = fakeIo();
    const l = lane(io, 20);
    const stuck = l.request(RTM.SETLINK, Buffer.alloc(16), 0, { operation: 'stuck' });
    const next = l.request(RTM.GETLINK, Buffer.alloc(16), 0, { operation: 'next' });
    await t.rejects(stuck, {
      code: 'NETLINK_ERR_TIMEOUT',
      message: /stuck: the kernel did not answer in time/,
    });
    t.equal(sent.length, 2, 'the next batch left');
    t.equal(sent[1]?.fd, opened[0], 'on a new socket');
    t.not(sent[1]?.fd, 10);
    t.same(closed, [], 'the stuck socket stays while its worker is in the kernel');
    sent[1]!.answer(ack(sent[1]!.msgs[0]!.seq));
    t.same(await next, []);
    sent[0]!.answer(ack(sent[0]!.msgs[0]!.seq)); // late: nobody is told
    await tick();
    t.same(closed, [10], 'closed once its worker returned');
    await l.close(new Error('closed'));
    t.same(closed, [10, opened[0]], 'close() closes the current one');
  },
);

t.test('close: pending and queued requests fail; the socket goes after the worker returns', async (t) => {
  const { io, sent, closed } = fakeIo();
  const l = lane(io);
  const out = l.request(RTM.SETLINK, Buffer.alloc(16), 0, { operation: 'out' });
  const queued = l.request(RTM.SETLINK, Buffer.alloc(16), 0, { operation: 'queued' });
  const err = new Error('handle closed');
  let closedDone = false;
  const closing = l.close(err).then(() => {
    closedDone = true;
  });
  await t.rejects(out, err);
  await t.rejects(queued, err);
  await tick();
  t.equal(closedDone, false, 'waits for the worker');
  t.same(closed, []);
  sent[0]!.answer(ack(sent[0]!.msgs[0]!.seq));
  await closing;
  t.same(closed, [10]);
  await t.rejects(
    l.request(RTM.GETLINK, Buffer.alloc(16), 0, { operation: 'late' }),
    err,
    'later requests fail too',
  );
});

t.test(
  'failures: a send that throws, a system error, an answer without an end, bytes that do not parse',
  async (t) => {
    const { io, sent } = fakeIo();
    let throwOpen = true;
    const l = new RequestLane(
      {
        ...io,
        open: () => {
          if (throwOpen) throw Object.assign(new Error('socket: EMFILE'), { errno: 24 });
          return io.open();
        },
      },
      -1,
      60_000,
      (c) => c,
    );
    await t.rejects(l.request(RTM.GETLINK, Buffer.alloc(16), 0, { operation: 'open' }), {
      code: /NETLINK_ERR/,
    });
    throwOpen = false;
    const sys = l.request(RTM.GETLINK, Buffer.alloc(16), 0, { operation: 'sys' });
    sent[0]!.fail(Object.assign(new Error('recv: EAGAIN'), { errno: 11, syscall: 'recv' }));
    await t.rejects(sys, { code: /NETLINK_ERR/ });
    const noEnd = l.request(RTM.GETLINK, Buffer.alloc(16), 0, { operation: 'noEnd' });
    sent[1]!.answer(reply(sent[1]!.msgs[0]!.seq, 1));
    await t.rejects(noEnd, {
      code: 'NETLINK_ERR_PROTOCOL',
      message: /noEnd: the kernel's answer has no end/,
    });
    const junk = l.request(RTM.GETLINK, Buffer.alloc(16), 0, { operation: 'junk' });
    sent[2]!.answer(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    await t.rejects(junk, {
      code: 'NETLINK_ERR_PROTOCOL',
      message: /junk: the kernel's answer could not be parsed/,
    });
    const ok = l.request(RTM.GETLINK, Buffer.alloc(16), 0, { operation: 'ok' });
    sent[3]!.answer(ack(sent[3]!.msgs[0]!.seq));
    t.same(await ok, [], 'and the lane still works');
  },
);
