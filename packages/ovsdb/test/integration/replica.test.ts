// The replica against a real ovsdb-server (vswitch schema, no vswitchd): first snapshot, typed lookups by
// uuid and by declared indexes, change events as callbacks and as an AsyncIterable, live condition
// changes, the monitor_cond and monitor fallbacks, transactions waiting for `ready`, and a reconnect on a
// standalone database (no transaction ids: a full resync that emits only the differences).
import { startOvsdbServer, waitFor } from '@ovs-container-network/testkit';
import t, { type Test } from 'tap';
import type * as OVS from '../../src/models/generated/open-vswitch.js';
import { type ModelRows, Replica } from '../../src/replica/replica.js';
import type { RowChange } from '../../src/replica/store.js';
import type { SessionStatus } from '../../src/session/session.js';
import { OvsdbSession } from '../../src/session/session.js';

interface Tables {
  Port: { name: string; interfaces: string[]; external_ids: Record<string, string>; tag: number | null };
  Interface: { name: string; type: string; external_ids: Record<string, string> };
}

const insertPort = (name: string, ids: Record<string, string> = {}) => [
  {
    op: 'insert',
    table: 'Interface',
    'uuid-name': 'i',
    row: { name, external_ids: ['map', Object.entries(ids)] },
  },
  {
    op: 'insert',
    table: 'Port',
    'uuid-name': 'p',
    row: { name, interfaces: ['named-uuid', 'i'], external_ids: ['map', Object.entries(ids)] },
  },
  // Port/Interface are not root tables: reference the port from a bridge so it survives the commit.
  {
    op: 'mutate',
    table: 'Bridge',
    where: [],
    mutations: [['ports', 'insert', ['set', [['named-uuid', 'p']]]]],
  },
];

async function setup(t: Test, method?: 'monitor_cond' | 'monitor') {
  const server = await startOvsdbServer();
  t.teardown(() => server.stop());
  const session = OvsdbSession.start({ remotes: server.unixEndpoint, database: 'Open_vSwitch' });
  t.teardown(() => session.close());
  await session.transact('Open_vSwitch', [
    { op: 'insert', table: 'Bridge', 'uuid-name': 'b', row: { name: 'ocntbr' } },
    { op: 'insert', table: 'Open_vSwitch', row: { bridges: ['named-uuid', 'b'] } },
  ]);
  await session.transact('Open_vSwitch', insertPort('p0', { tenant: 'a' }));
  const replica = Replica.start<Tables>(session, {
    ...(method ? { method } : {}),
    tables: {
      Port: { columns: ['name', 'interfaces', 'external_ids', 'tag'], indexes: { byName: (p) => p.name } },
      Interface: {
        columns: ['name', 'type', 'external_ids'],
        indexes: { byTenant: (i) => i.external_ids.tenant },
      },
    },
  });
  t.teardown(() => replica.close());
  return { server, session, replica };
}

for (const method of [undefined, 'monitor_cond', 'monitor'] as const) {
  t.test(`snapshot, lookups and events (${method ?? 'monitor_cond_since'})`, async (t) => {
    const { session, replica } = await setup(t, method);
    await replica.ready;
    t.equal(replica.method, method ?? 'monitor_cond_since');
    const ports = replica.table('Port');
    const p0 = ports.find('byName', 'p0');
    t.ok(p0, 'port p0 is in the first snapshot');
    t.same(p0?.external_ids, { tenant: 'a' });
    t.equal(p0?.tag, null);
    t.equal(replica.table('Interface').get(p0?.interfaces[0] ?? '')?.name, 'p0', 'reference by uuid');
    t.equal(replica.table('Interface').findAll('byTenant', 'a').length, 1);
    t.equal(replica.stats.fullSnapshots, 1);

    const seen: RowChange[] = [];
    replica.on('change', (c) => seen.push(c));
    const stream = replica.changes({ tables: ['Port'] });
    await session.transact('Open_vSwitch', insertPort('p1', { tenant: 'b' }));
    t.ok(ports.find('byName', 'p1'), 'our own insert is visible when transact resolves');
    await session.transact('Open_vSwitch', [
      { op: 'update', table: 'Port', where: [['name', '==', 'p1']], row: { tag: 7 } },
      {
        op: 'mutate',
        table: 'Port',
        where: [['name', '==', 'p1']],
        mutations: [['external_ids', 'insert', ['map', [['x', 'y']]]]],
      },
    ]);
    const p1 = ports.find('byName', 'p1');
    t.equal(p1?.tag, 7);
    t.same(p1?.external_ids, { tenant: 'b', x: 'y' });
    const first = await stream.next();
    t.equal(first.value?.type, 'insert');
    t.equal(first.value?.table, 'Port');
    const second = await stream.next();
    t.equal(second.value?.type, 'modify');
    t.equal((second.value?.old as { tag: unknown } | undefined)?.tag, null, 'old row carried');
    t.equal((second.value?.new as { tag: unknown } | undefined)?.tag, 7, 'new row carried');
    await stream.return?.();
    t.ok(
      seen.some((c) => c.table === 'Interface' && c.type === 'insert'),
      'callbacks see every table',
    );
    t.equal(replica.stats.anomalies, 0);
  });
}

t.test('live condition change (monitor_cond_change)', async (t) => {
  const { session, replica } = await setup(t);
  await session.transact('Open_vSwitch', insertPort('p1', { tenant: 'b' }));
  await replica.ready;
  await waitFor(() => replica.table('Port').size === 2, 10_000, 'two ports');
  const events: RowChange[] = [];
  replica.on('change', (c) => events.push(c));
  await replica.setCondition('Port', [['name', '==', 'p1']]);
  await waitFor(() => replica.table('Port').size === 1, 10_000, 'only p1 left');
  t.ok(replica.table('Port').find('byName', 'p1'));
  t.ok(
    events.some((e) => e.type === 'delete' && (e.old as { name?: string }).name === 'p0'),
    'p0 deleted with an event',
  );
  await session.transact('Open_vSwitch', insertPort('p2'));
  t.equal(replica.table('Port').find('byName', 'p2'), undefined, 'new rows outside the condition stay out');
  await replica.setCondition('Port', undefined);
  await waitFor(() => replica.table('Port').size === 3, 10_000, 'all ports back');
  t.equal(replica.stats.anomalies, 0);
});

t.test('standalone restart: reconnects and resyncs with a diff, not a purge', async (t) => {
  const { server, session, replica } = await setup(t);
  await replica.ready;
  const before = replica.table('Port').find('byName', 'p0');
  const events: RowChange[] = [];
  replica.on('change', (c) => events.push(c));
  let sizeSeen = Number.POSITIVE_INFINITY;
  replica.on('batch', () => {
    sizeSeen = Math.min(sizeSeen, replica.table('Port').size);
  });
  const states: string[] = [];
  const statusStream = (async () => {
    for await (const st of session.statusChanges() as AsyncIterable<SessionStatus>) {
      states.push(st.state);
      if (st.state === 'connected' && st.connections >= 2) break;
    }
  })();
  const restarted = await server.restart();
  t.teardown(() => restarted.stop());
  await waitFor(() => replica.stats.fullSnapshots === 2, 30_000, 'a second full snapshot');
  t.equal(replica.stats.resumes, 0, 'a standalone database cannot resume');
  t.same(events, [], 'nothing changed, so no events');
  t.equal(replica.table('Port').find('byName', 'p0'), before, 'rows kept their identity');
  t.equal(sizeSeen, Number.POSITIVE_INFINITY);
  await statusStream;
  t.ok(session.status.connections >= 2);
  t.equal(states[0], 'connected', 'the stream starts with the current status');
  t.ok(states.includes('disconnected'), `a disconnection was reported (${states.join(' → ')})`);
  t.equal(states.at(-1), 'connected');
});

t.test('typed rows from the generated models; a table the server lacks fails ready', async (t) => {
  const { session } = await setup(t);
  const replica = Replica.start<ModelRows<typeof OVS.model>>(session, {
    tables: { Bridge: { columns: ['name', 'ports'], indexes: { byName: (b) => b.name } } },
  });
  t.teardown(() => replica.close());
  await replica.ready;
  const br = replica.table('Bridge').find('byName', 'ocntbr');
  // Typed: ports is an array of Port uuids, name a string (a wrong property would not compile).
  const ports: readonly string[] = br?.ports ?? [];
  const name: string | undefined = br?.name;
  t.equal(name, 'ocntbr');
  t.equal(ports.length, 1);
  t.throws(() => replica.table('Port' as never), { code: 'OVSDB_ERR_INVALID_ARGUMENT' }, 'not replicated');
  // Change events are typed by table: on Bridge, `new.name` is a string.
  const names: string[] = [];
  replica.on('change', (c) => {
    if (c.table === 'Bridge' && c.type === 'insert') names.push(c.new.name);
  });
  await replica.transact('Open_vSwitch', [
    { op: 'insert', table: 'Bridge', 'uuid-name': 'b2', row: { name: 'ocntbr2' } },
    // Bridge is not a root table: reference it from Open_vSwitch or it is garbage-collected at once.
    {
      op: 'mutate',
      table: 'Open_vSwitch',
      where: [],
      mutations: [['bridges', 'insert', ['named-uuid', 'b2']]],
    },
  ]);
  t.same(names, ['ocntbr2']);

  const bad = Replica.start<{ Nope: object }>(session, { tables: { Nope: {} } });
  const errors: Error[] = [];
  bad.on('error', (e) => errors.push(e));
  await t.rejects(bad.ready, {
    code: 'OVSDB_ERR_INVALID_ARGUMENT',
    message: /table "Nope" is not in database Open_vSwitch/,
  });
  t.equal(errors.length, 1);
  t.ok(session.status.state === 'connected', 'the session is not disturbed');
  t.throws(() => new Replica(session, { tables: {} }), { message: /name at least one table/ });
  t.throws(() => new Replica(session, { tables: { Port: { columns: 'name' as never } } }), {
    message: /tables.Port.columns/,
  });
  t.throws(() => new Replica(session, { method: 'monitor', tables: { Port: { where: [true] } } }), {
    message: /conditions need monitor_cond/,
  });
});

t.test('an update that does not match the replica triggers a diffed reload', async (t) => {
  const { session, replica } = await setup(t);
  await replica.ready;
  await session.connected();
  const errors: Error[] = [];
  replica.on('error', (e) => errors.push(e));
  const before = replica.table('Port').find('byName', 'p0');
  // Inject what a broken server or a lost notification would look like: a modify of a row we never saw.
  const conn = session.client?.connection as unknown as { emit(e: string, ...a: unknown[]): boolean };
  conn.emit('update3', replica.monitorId, '00000000-0000-0000-0000-000000000001', {
    Port: { '99999999-9999-9999-9999-999999999999': { modify: { tag: 5 } } },
  });
  await waitFor(() => replica.stats.fullSnapshots === 2, 10_000, 'the reload');
  t.equal(replica.stats.anomalies, 1);
  t.match(errors[0]?.message ?? '', /did not match the replica; reloading/);
  t.equal(replica.table('Port').find('byName', 'p0'), before, 'unchanged rows keep their identity');
  await session.transact('Open_vSwitch', insertPort('p9'));
  t.ok(replica.table('Port').find('byName', 'p9'), 'the new monitor follows changes');
});
