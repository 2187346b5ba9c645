// Connection logic against a scripted peer on a private unix socket (no ovsdb-server): wire order of
// replies and notifications, the exact bytes we send, and how protocol violations close the session.
import t from 'tap';
import {
  ConnectionClosedError,
  FramingError,
  ProtocolError,
  RpcError,
  TimeoutError,
} from '../../src/errors.js';
import { peer } from '../fixtures/scripted-peer.js';

t.test('requests go out in the JSON-RPC 1.0 dialect, never with "jsonrpc"', async (t) => {
  const p = await peer(t);
  const r = p.conn.request('list_dbs', []);
  await p.waitFor('"id":1}');
  t.equal(p.received(), '{"method":"list_dbs","params":[],"id":1}');
  p.sock.write('{"id":1,"result":["Open_vSwitch"],"error":null}');
  t.same(await r, ['Open_vSwitch']);
  p.conn.notify('cancel', [1]);
  const big = p.conn.request('transact', ['db', { op: 'insert', table: 'T', row: { n: 9007199254740993n } }]);
  await p.waitFor('"id":2}');
  t.match(p.received(), '{"method":"cancel","params":[1],"id":null}');
  t.match(p.received(), '"row":{"n":9007199254740993}', 'a BigInt goes out as bare digits');
  t.notMatch(p.received(), 'jsonrpc');
  p.sock.write('{"id":2,"result":[{}],"error":null}');
  t.same(await big, [{}]);
});

t.test("the server's echo is answered with its params; unknown server requests get an error", async (t) => {
  const p = await peer(t);
  p.sock.write('{"id":"echo","method":"echo","params":[]}');
  await p.waitFor('"id":"echo"}');
  t.equal(p.received(), '{"result":[],"error":null,"id":"echo"}');
  p.sock.write('{"id":7,"method":"frobnicate","params":[1]}');
  await p.waitFor('"id":7}');
  t.match(p.received(), '{"result":null,"error":{"error":"unknown method","details":"frobnicate"},"id":7}');
});

t.test(`onResult runs before a notification that follows the reply; promises settle later`, async (t) => {
  const p = await peer(t);
  const order: string[] = [];
  p.conn.on('update3', (id, txn) => order.push(`update3 ${String(id)} ${txn}`));
  p.conn.on('notification', (method) => order.push(`notification ${method}`));
  const r = p.conn
    .request('monitor_cond_since', ['db', 'm', {}, '0'], { onResult: () => order.push('onResult') })
    .then(() => order.push('resolved'));
  await p.waitFor('"id":1}');
  // The reply and an update3 in one chunk: the update must not overtake the reply's onResult.
  p.sock.write(
    '{"id":1,"result":[false,"t0",{}],"error":null}{"id":null,"method":"update3","params":["m","t1",{}]}',
  );
  await r;
  t.same(order, ['onResult', 'notification update3', 'update3 m t1', 'resolved']);
});

t.test(`error replies become RpcError; replies to unknown ids are ignored`, async (t) => {
  const p = await peer(t);
  const a = p.conn.request('get_schema', ['nope']).catch((e: unknown) => e);
  const b = p.conn.request('lock', ['x']).catch((e: unknown) => e);
  await p.waitFor('"id":2}');
  p.sock.write('{"id":99,"result":{},"error":null}');
  p.sock.write('{"id":1,"error":{"error":"unknown database","details":"no nope","syntax":"[\\"nope\\"]"}}');
  p.sock.write('{"id":2,"result":null,"error":"not leader"}');
  const ea = (await a) as RpcError;
  t.type(ea, RpcError);
  t.same(
    [ea.method, ea.error, ea.details, ea.syntax],
    ['get_schema', 'unknown database', 'no nope', '["nope"]'],
  );
  t.match(await b, { error: 'not leader', method: 'lock' });
  t.equal(p.conn.status, 'open');
});

t.test(`bytes that are not JSON close the connection with a FramingError`, async (t) => {
  const p = await peer(t);
  const pending = p.conn.request('echo', []).catch((e: unknown) => e);
  const txn = p.conn.request('transact', ['db']).catch((e: unknown) => e);
  p.sock.write('{"id":1,"result":[],"error":null}oops');
  const reason = await p.conn.closed;
  t.type(reason, FramingError);
  t.same(await pending, [], 'the reply before the garbage was delivered');
  t.match(await txn, { name: 'MaybeCommittedError', cause: reason });
  t.equal(p.conn.status, 'closed');
});

t.test(
  'a message outside the JSON-RPC 1.0 envelope closes the connection with a ProtocolError',
  async (t) => {
    const p = await peer(t);
    const pending = p.conn.request('echo', []).catch((e: unknown) => e);
    p.sock.write('{"jsonrpc":"2.0","id":1,"result":[]}');
    t.type(await p.conn.closed, ProtocolError);
    t.match(await pending, { name: 'ConnectionClosedError' });
    t.type(await pending, ConnectionClosedError);
  },
);

t.test('a message larger than maxMessageBytes closes the connection', async (t) => {
  const p = await peer(t, { maxMessageBytes: 64 });
  p.sock.write(`{"id":null,"method":"update","params":["m",{"x":"${'y'.repeat(100)}"}]}`);
  const reason = await p.conn.closed;
  t.type(reason, FramingError);
  t.match(reason?.message, /maxMessageBytes \(64 bytes\)/);
});

t.test('inactivity probe: an unanswered echo closes the connection', async (t) => {
  const p = await peer(t, { inactivityProbeMs: 50 });
  await p.waitFor('"params":["ocn-inactivity-probe"]');
  const reason = await p.conn.closed;
  t.type(reason, TimeoutError);
  t.match(reason?.message, /inactivity probe/);
});

t.test('the peer closing the socket rejects pending requests', async (t) => {
  const p = await peer(t);
  const pending = p.conn.request('list_dbs', []).catch((e: unknown) => e);
  await p.waitFor('"id":1}');
  p.sock.end();
  t.type(await pending, ConnectionClosedError);
  t.type(await p.conn.closed, ConnectionClosedError);
  await t.rejects(p.conn.request('echo', []), ConnectionClosedError);
  t.throws(() => p.conn.notify('cancel', [1]), ConnectionClosedError);
});

t.test(
  'a decoder turns the result into the resolved value, and what it throws into the rejection',
  async (t) => {
    const p = await peer(t);
    const decoded = p.conn.request('transact', ['db'], {
      decoder: { decodeReply: (r) => ({ decoded: r }) },
    });
    const failing = p.conn
      .request('transact', ['db'], {
        decoder: {
          decodeReply: () => {
            throw new ProtocolError('bad result');
          },
        },
      })
      .catch((e: unknown) => e);
    const rpcError = p.conn
      .request('transact', ['db'], { decoder: { decodeReply: () => t.fail('not called on an error reply') } })
      .catch((e: unknown) => e);
    await p.waitFor('"id":3}');
    p.sock.write(
      '{"id":1,"result":[{"count":1}],"error":null}{"id":2,"result":[],"error":null}{"id":3,"result":null,"error":"no"}',
    );
    t.same(await decoded, { decoded: [{ count: 1 }] });
    t.match(await failing, { name: 'ProtocolError', message: 'bad result' });
    t.type(await rpcError, RpcError);
    t.equal(p.conn.pendingCount, 0, 'nothing left pending');
  },
);
