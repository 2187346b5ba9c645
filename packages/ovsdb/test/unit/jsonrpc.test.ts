import { JSONRPCClient, JSONRPCServer, JSONRPCServerAndClient } from 'json-rpc-2.0';
import t from 'tap';
import { ProtocolError } from '../../src/errors.js';
import {
  encodeWireMessage,
  libraryToWire,
  OVSDB_ERROR_CODE,
  parseWireMessage,
  toWireError,
  wireToLibraryRequest,
  wireToLibraryResponse,
} from '../../src/jsonrpc.js';

t.test('wire → library: requests, notifications, replies', async (t) => {
  const echo = parseWireMessage({ method: 'echo', params: [], id: 'echo' });
  t.same(wireToLibraryRequest(echo as never), { jsonrpc: '2.0', method: 'echo', params: [], id: 'echo' });
  // id null marks a notification in JSON-RPC 1.0; json-rpc-2.0 marks it by omitting id.
  const upd = parseWireMessage({ method: 'update2', params: ['m', {}], id: null });
  const lib = wireToLibraryRequest(upd as never);
  t.same(lib, { jsonrpc: '2.0', method: 'update2', params: ['m', {}] });
  t.notOk('id' in lib);

  t.same(wireToLibraryResponse(parseWireMessage({ id: 3, result: ['a'], error: null }) as never), {
    jsonrpc: '2.0',
    id: 3,
    result: ['a'],
  });
  // ovsdb-server omits "result" on error replies.
  const err = parseWireMessage({
    id: 4,
    error: {
      error: 'unknown database',
      details: 'get_schema request specifies unknown database x',
      syntax: '["x"]',
    },
  });
  t.same(wireToLibraryResponse(err as never), {
    jsonrpc: '2.0',
    id: 4,
    error: {
      code: OVSDB_ERROR_CODE,
      message: 'unknown database',
      data: {
        error: 'unknown database',
        details: 'get_schema request specifies unknown database x',
        syntax: '["x"]',
      },
    },
  });
  t.same(wireToLibraryResponse(parseWireMessage({ id: 5, result: null, error: 'canceled' }) as never).error, {
    code: OVSDB_ERROR_CODE,
    message: 'canceled',
    data: { error: 'canceled' },
  });
});

t.test('parseWireMessage enforces the JSON-RPC 1.0 envelope', async (t) => {
  t.throws(() => parseWireMessage({ jsonrpc: '2.0', id: 1, result: 1 }), ProtocolError, 'no jsonrpc member');
  t.throws(() => parseWireMessage([1]), ProtocolError);
  t.throws(() => parseWireMessage({ method: 'echo', params: {}, id: 1 }), /params must be an array/);
  t.throws(() => parseWireMessage({ id: 1, result: 1, error: 'x' }), /both/);
  t.throws(() => parseWireMessage({ id: 1 }), /no method, result or error/);
  t.throws(() => parseWireMessage({ id: { a: 1 }, result: 1, error: null }), /id must be/);
});

t.test('library → wire: never "jsonrpc", notifications get id null, no null results', async (t) => {
  t.same(libraryToWire({ jsonrpc: '2.0', method: 'transact', params: ['db', { op: 'commit' }], id: 7 }), {
    method: 'transact',
    params: ['db', { op: 'commit' }],
    id: 7,
  });
  t.same(libraryToWire({ jsonrpc: '2.0', method: 'cancel', params: [7] }), {
    method: 'cancel',
    params: [7],
    id: null,
  });
  t.same(libraryToWire({ jsonrpc: '2.0', id: 'echo', result: [] }), { result: [], error: null, id: 'echo' });
  t.same(libraryToWire({ jsonrpc: '2.0', id: 'x', error: { code: -32601, message: 'Method not found' } }), {
    result: null,
    error: { error: 'Method not found' },
    id: 'x',
  });
  t.same(
    libraryToWire({
      jsonrpc: '2.0',
      id: 'x',
      error: { code: OVSDB_ERROR_CODE, message: 'm', data: { error: 'e', details: 'd' } },
    }),
    { result: null, error: { error: 'e', details: 'd' }, id: 'x' },
  );
  t.throws(() => libraryToWire({ jsonrpc: '2.0', id: 1, result: null }), /null result/);
  t.throws(() => libraryToWire({ jsonrpc: '2.0', id: 1 }), /null result/);
  t.throws(() => libraryToWire([{ jsonrpc: '2.0', method: 'echo', params: [], id: 1 }]), /batches/);
  t.throws(
    () => libraryToWire({ jsonrpc: '2.0', method: 'echo', params: { a: 1 }, id: 1 }),
    /must be an array/,
  );
  t.same(libraryToWire({ jsonrpc: '2.0', method: 'list_dbs', id: 1 }), {
    method: 'list_dbs',
    params: [],
    id: 1,
  });
});

t.test('encodeWireMessage writes exactly the JSON-RPC 1.0 members', async (t) => {
  t.equal(
    encodeWireMessage({ method: 'echo', params: ['ü'], id: 1 }),
    '{"method":"echo","params":["ü"],"id":1}',
  );
  t.equal(
    encodeWireMessage({ method: 'cancel', params: [1], id: null }),
    '{"method":"cancel","params":[1],"id":null}',
  );
  t.equal(
    encodeWireMessage({ result: [], error: null, id: 'echo' }),
    '{"result":[],"error":null,"id":"echo"}',
  );
  // 64-bit integers (RFC 7047 §5.1) go out as bare digits.
  t.equal(
    encodeWireMessage({ method: 'transact', params: [{ v: 9007199254740993n, w: -5n, s: 'x' }], id: 2 }),
    '{"method":"transact","params":[{"v":9007199254740993,"w":-5,"s":"x"}],"id":2}',
  );
});

t.test('toWireError normalises strings and objects', async (t) => {
  t.same(toWireError('not leader'), { error: 'not leader' });
  t.same(toWireError({ error: 'e', details: 'd', syntax: 's' }), { error: 'e', details: 'd', syntax: 's' });
  t.same(toWireError(42), { error: '42' });
});

t.test('json-rpc-2.0 round trip through the codec, as the connection uses it', async (t) => {
  const sent: string[] = [];
  const rpc = new JSONRPCServerAndClient(
    new JSONRPCServer(),
    new JSONRPCClient((payload) => {
      sent.push(encodeWireMessage(libraryToWire(payload)));
    }),
  );
  rpc.addMethod('echo', (params: unknown) => params);
  const updates: unknown[] = [];
  rpc.addMethod('update3', (params: unknown) => {
    updates.push(params);
  });
  const p = rpc.client.requestAdvanced({ jsonrpc: '2.0', method: 'list_dbs', params: [], id: 1 });
  t.same(sent, ['{"method":"list_dbs","params":[],"id":1}'], 'written synchronously, in the 1.0 dialect');
  rpc.client.receive(
    wireToLibraryResponse(parseWireMessage({ id: 1, result: ['Open_vSwitch'], error: null }) as never),
  );
  t.same((await p).result, ['Open_vSwitch']);

  // The server's echo is answered with its params; a notification is dispatched and not answered.
  const echoReply = await rpc.server.receive(
    wireToLibraryRequest(parseWireMessage({ method: 'echo', params: [], id: 'echo' }) as never),
  );
  t.same(libraryToWire(echoReply), { result: [], error: null, id: 'echo' });
  const none = await rpc.server.receive(
    wireToLibraryRequest(
      parseWireMessage({ method: 'update3', params: ['m', 'txn', {}], id: null }) as never,
    ),
  );
  t.equal(none, null);
  t.same(updates, [['m', 'txn', {}]]);
  rpc.client.notify('cancel', [1], undefined);
  t.equal(sent.at(-1), '{"method":"cancel","params":[1],"id":null}');
});
