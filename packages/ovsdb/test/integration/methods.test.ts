// Every client method against a real ovsdb-server (its own, vswitch schema), plus a read-only pass over
// the shared sandbox.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  freePort,
  ovsSandbox,
  run,
  startOvsdbServer,
  VSWITCH_SCHEMA,
  waitFor,
} from '@ovs-container-network/testkit';
import t from 'tap';
import { type ClientOptions, OvsdbClient } from '../../src/client.js';
import { RpcError } from '../../src/errors.js';
import type { TableUpdates, TableUpdates2, WireDatabaseSchema } from '../../src/protocol.js';

const DB = 'Open_vSwitch';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const server = await startOvsdbServer({ tcp: true });
t.teardown(() => server.stop());

async function client(endpoint = server.unixEndpoint, opts: ClientOptions = {}): Promise<OvsdbClient> {
  const c = await OvsdbClient.connect(endpoint, opts);
  t.teardown(() => c.close());
  return c;
}

/** Inserts a QoS row with the given external_ids (a root table without maxRows, so it stays). */
async function insertRoot(c: OvsdbClient, key: string, value: string): Promise<string> {
  const res = await c.transact(DB, [
    { op: 'insert', table: 'QoS', row: { type: 'linux-htb', external_ids: ['map', [[key, value]]] } },
  ]);
  const first = res[0] as { uuid: [string, string] };
  return first.uuid[1];
}

t.test('list_dbs, get_schema, echo, get_server_id', async (t) => {
  const c = await client();
  t.same((await c.listDbs()).sort(), ['Open_vSwitch', '_Server']);
  const schema = await c.getSchema(DB);
  t.equal(schema.name, DB);
  t.equal(schema.version, JSON.parse(readFileSync(VSWITCH_SCHEMA, 'utf8')).version);
  t.ok('Bridge' in schema.tables);
  const err = await c.getSchema('nope').catch((e: unknown) => e);
  t.type(err, RpcError);
  t.equal((err as RpcError).error, 'unknown database');
  t.equal((err as RpcError).method, 'get_schema');
  t.same(await c.echo(['a', 1, { ü: ['日本'] }]), ['a', 1, { ü: ['日本'] }]);
  t.same(await c.echo(), []);
  const id = await c.getServerId();
  t.match(id, UUID_RE);
  const c2 = await client(server.tcpEndpoint);
  t.equal(await c2.getServerId(), id, 'same server, same id, over tcp too');
});

t.test('transact: raw operations in, raw results out; per-op errors are in the array', async (t) => {
  const c = await client();
  const text = 'ünïcødé ✓ 日本';
  const uuid = await insertRoot(c, 'text', text);
  t.match(uuid, UUID_RE);
  const [sel] = (await c.transact(DB, [
    { op: 'select', table: 'QoS', where: [['_uuid', '==', ['uuid', uuid]]], columns: ['external_ids'] },
  ])) as [{ rows: { external_ids: unknown }[] }];
  t.same(sel.rows, [{ external_ids: ['map', [['text', text]]] }]);
  const res = await c.transact(DB, [
    { op: 'select', table: 'QoS', where: [], columns: ['nope'] },
    { op: 'comment', comment: 'never reached' },
  ]);
  t.equal(res.length, 2);
  t.match(res[0], { error: 'syntax error' });
  t.equal(res[1], null, 'ops after the failing one are null');
  const rpcErr = await c.transact('nope', [{ op: 'comment', comment: 'x' }]).catch((e: unknown) => e);
  t.type(rpcErr, RpcError, 'unknown database is a JSON-RPC level error');
  t.same(await c.transact(DB, [{ op: 'delete', table: 'QoS', where: [['_uuid', '==', ['uuid', uuid]]] }]), [
    { count: 1 },
  ]);
});

t.test('monitor: initial rows, then update notifications', async (t) => {
  const c = await client();
  const w = await client();
  const updates: [unknown, TableUpdates][] = [];
  c.on('update', (id, u) => updates.push([id, u]));
  const initial = await c.monitor(DB, ['mon', 1], { QoS: { columns: ['external_ids'] } });
  t.type(initial, 'object');
  const uuid = await insertRoot(w, 'm', 'monitor');
  await waitFor(() => updates.some(([, u]) => uuid in (u.QoS ?? {})), 10_000, 'update');
  const [id, u] = updates.find(([, u]) => uuid in (u.QoS ?? {}))!;
  t.same(id, ['mon', 1], 'the monitor id comes back as given');
  t.same(u.QoS?.[uuid], { new: { external_ids: ['map', [['m', 'monitor']]] } });

  // monitor_cancel: afterwards our own transaction's reply arrives with no update before it.
  t.same(await c.monitorCancel(['mon', 1]), {});
  const before = updates.length;
  await insertRoot(c, 'm', 'after cancel');
  t.equal(updates.length, before, 'no update after monitor_cancel');
  const again = await c.monitorCancel(['mon', 1]).catch((e: unknown) => e);
  t.type(again, RpcError, 'canceling an unknown monitor is an error');
});

t.test('monitor_cond and monitor_cond_change: update2 for matching rows only', async (t) => {
  const c = await client();
  const updates: TableUpdates2[] = [];
  c.on('update2', (id, u) => {
    if (id === 'cond' || id === 'cond2') updates.push(u);
  });
  const initial = await c.monitorCond(DB, 'cond', {
    QoS: [{ columns: ['external_ids'], where: [['external_ids', 'includes', ['map', [['k', 'a']]]]] }],
  });
  t.type(initial, 'object');
  const a = await insertRoot(c, 'k', 'a');
  const b = await insertRoot(c, 'k', 'b');
  // Updates for our own transaction arrive before its reply.
  t.ok(
    updates.some((u) => a in (u.QoS ?? {})),
    'row matching the condition reported',
  );
  t.notOk(
    updates.some((u) => b in (u.QoS ?? {})),
    'row not matching the condition not reported',
  );
  t.same(updates.find((u) => a in (u.QoS ?? {}))?.QoS?.[a], {
    insert: { external_ids: ['map', [['k', 'a']]] },
  });
  updates.length = 0;
  t.same(
    await c.monitorCondChange('cond', 'cond2', {
      QoS: [{ where: [['external_ids', 'includes', ['map', [['k', 'b']]]]] }],
    }),
    {},
  );
  await waitFor(() => updates.some((u) => b in (u.QoS ?? {})), 10_000, 'b after the condition change');
  const c2 = await insertRoot(c, 'k', 'b');
  t.ok(
    updates.some((u) => c2 in (u.QoS ?? {})),
    'new matching row under the new condition',
  );
});

t.test('monitor_cond_since: [found, last-txn-id, updates] and update3', async (t) => {
  const c = await client();
  const updates: [string, TableUpdates2][] = [];
  c.on('update3', (id, txn, u) => {
    if (id === 'since') updates.push([txn, u]);
  });
  const [found, lastTxnId, initial] = await c.monitorCondSince(
    DB,
    'since',
    { QoS: [{ columns: ['external_ids'] }] },
    null,
  );
  // A standalone database has no transaction ids (PROTOCOLS.md §2): found=false, zero id, full contents.
  t.equal(found, false);
  t.equal(typeof lastTxnId, 'string');
  t.type(initial, 'object');
  const uuid = await insertRoot(c, 's', 'since');
  t.ok(
    updates.some(([, u]) => uuid in (u.QoS ?? {})),
    'update3 before the transact reply',
  );
});

t.test('lock, steal, unlock with two clients: locked and stolen events', async (t) => {
  const a = await client();
  const b = await client();
  const events: string[] = [];
  a.on('locked', (id) => events.push(`a locked ${id}`));
  a.on('stolen', (id) => events.push(`a stolen ${id}`));
  b.on('locked', (id) => events.push(`b locked ${id}`));
  b.on('stolen', (id) => events.push(`b stolen ${id}`));
  t.same(await a.lock('L'), { locked: true });
  t.same(await b.lock('L'), { locked: false }, 'b is queued');
  t.same(await a.unlock('L'), {});
  await waitFor(() => events.includes('b locked L'), 10_000, 'b gets the lock');
  t.same(await a.steal('L'), { locked: true });
  await waitFor(() => events.includes('b stolen L'), 10_000, 'b learns it was stolen');
  // assert with the lock held succeeds; without it, "not owner".
  const ok = await a.transact(DB, [{ op: 'assert', lock: 'L' }]);
  t.same(ok, [{}]);
  const notOwner = await b.transact(DB, [{ op: 'assert', lock: 'L' }]);
  t.match(notOwner[0], { error: 'not owner' });
  const err = await a.lock('L').catch((e: unknown) => e);
  t.type(err, RpcError, 'locking a lock twice on one session is an error');
});

t.test('cancel: a notification with id null that makes the server drop a blocked transact', async (t) => {
  // Log what the server receives, to see how it classified our cancel.
  const ctl = join(server.dir, 'ctl');
  await run('ovs-appctl', ['-t', ctl, 'vlog/set', 'jsonrpc:file:dbg']);
  t.teardown(() => run('ovs-appctl', ['-t', ctl, 'vlog/set', 'jsonrpc:file:info'], { allowFail: true }));
  const c = await client();
  const w = await client();
  const key = `cancel${process.pid}`;
  // A wait that is not satisfied blocks the transaction on the server (RFC 7047 §5.2.6): wait until the
  // QoS rows carrying `key` are exactly one row with key=done.
  const wait = {
    op: 'wait',
    table: 'QoS',
    where: [['external_ids', 'includes', ['map', [[key, 'done']]]]],
    columns: ['external_ids'],
    until: '==',
    rows: [{ external_ids: ['map', [[key, 'done']]] }],
  };
  let canceledId = -1;
  const canceled = c.transact(DB, [wait], { onSent: (id) => (canceledId = id) }).catch((e: unknown) => e);
  const kept = c.transact(DB, [wait]);
  t.ok(canceledId > 0, 'onSent gave the request id');
  t.same(await c.echo(['still alive']), ['still alive'], 'the session serves other requests meanwhile');
  t.equal(c.connection.pendingCount, 2, 'both transacts are blocked');
  c.cancel(canceledId);
  t.same(
    await c.echo(['after cancel']),
    ['after cancel'],
    'the cancel notification did not break the session',
  );
  const log = readFileSync(join(server.dir, 'ovsdb-server.log'), 'utf8');
  t.match(
    log,
    `received notification, method="cancel", params=[${canceledId}]`,
    'the server saw a notification',
  );
  // Satisfy the wait: the kept transact completes; the canceled one was dropped by the server. RFC 7047
  // §4.1.4 promises a reply to the canceled request, but ovsdb-server 3.1 sends none (observed).
  await insertRoot(w, key, 'done');
  t.same(await kept, [{}]);
  t.same(await c.echo(['later']), ['later']);
  t.equal(c.connection.pendingCount, 1, 'no reply for the canceled transact');
  await c.close();
  t.match(await canceled, { name: 'MaybeCommittedError', code: 'OVSDB_ERR_MAYBE_COMMITTED' });
});

t.test('set_db_change_aware and convert: monitor_canceled after an online schema change', async (t) => {
  const c = await client();
  const w = await client();
  const canceled: unknown[] = [];
  c.on('monitor_canceled', (id) => canceled.push(id));
  t.same(await c.setDbChangeAware(true), {});
  await c.monitorCond(DB, 'aware', { QoS: [{ columns: ['external_ids'] }] });
  const schema = JSON.parse(readFileSync(VSWITCH_SCHEMA, 'utf8')) as WireDatabaseSchema & {
    tables: Record<string, { columns: Record<string, unknown> }>;
  };
  schema.tables.QoS!.columns.ocnt_added = { type: { key: 'string', min: 0, max: 1 } };
  const [maj, min, patch] = schema.version.split('.').map(Number) as [number, number, number];
  schema.version = `${maj}.${min}.${patch + 1}`;
  t.same(await w.convert(DB, schema), {});
  await waitFor(() => canceled.length > 0, 10_000, 'monitor_canceled');
  t.same(canceled, ['aware']);
  // ovsdb-server.7: sessions that are not db-change-aware are disconnected by a schema change.
  await waitFor(() => w.status === 'closed', 10_000, 'the unaware session to be closed');
  t.equal(c.status, 'open', 'the aware session stays');
  const fresh = await client();
  const after = await fresh.getSchema(DB);
  t.equal(after.version, schema.version);
  t.ok('ocnt_added' in (after.tables.QoS as { columns: object }).columns);
  const bad = await fresh
    .convert(DB, { name: DB, version: '1.0.0', tables: { Nope: {} } })
    .catch((e: unknown) => e);
  t.type(bad, RpcError, 'an invalid schema is refused');
});

t.test('generic request and notify', async (t) => {
  const c = await client();
  t.same(await c.request('list_dbs', []), ['Open_vSwitch', '_Server']);
  t.same(await c.request<string[]>('echo', ['x']), ['x']);
  const err = await c.request('no_such_method', []).catch((e: unknown) => e);
  t.type(err, RpcError);
  c.notify('cancel', [424242]);
  t.same(await c.echo(['ok']), ['ok'], 'a notification for an unknown id leaves the session usable');
});

t.test('pipelining: many requests in flight on one socket', async (t) => {
  const c = await client();
  const n = 500;
  const replies = await Promise.all(Array.from({ length: n }, (_, i) => c.echo([i])));
  t.same(
    replies.map((r) => r[0]),
    Array.from({ length: n }, (_, i) => i),
  );
});

t.test('tcp: with an IPv6 host in brackets', async (t) => {
  const port = await freePort();
  const v6 = await startOvsdbServer({ extraArgs: [`--remote=ptcp:${port}:[::1]`] });
  t.teardown(() => v6.stop());
  const c = await client(`tcp:[::1]:${port}`);
  t.same((await c.listDbs()).sort(), ['Open_vSwitch', '_Server']);
  t.equal(c.endpoint, `tcp:[::1]:${port}`);
});

t.test('the shared sandbox answers the read-only methods', async (t) => {
  const sandbox = await ovsSandbox();
  t.teardown(() => sandbox.stop());
  const c = await client(sandbox.endpoint);
  t.ok((await c.listDbs()).includes(DB));
  t.equal((await c.getSchema(DB)).name, DB);
  t.match(await c.getServerId(), UUID_RE);
  const [sel] = (await c.transact(DB, [
    { op: 'select', table: 'Open_vSwitch', where: [], columns: ['_uuid'] },
  ])) as [{ rows: unknown[] }];
  t.equal(sel.rows.length, 1, 'the sandbox has its Open_vSwitch row');
});
