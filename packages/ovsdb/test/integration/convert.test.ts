// An online schema conversion (`ovsdb-client convert`) during a monitor. The replica's session is
// db-change-aware (set_db_change_aware), so the server cancels the monitor (monitor_canceled) instead of
// dropping the connection; the replica fetches the new schema, re-monitors and diffs the new snapshot in:
// rows keep their uuids and gain the new column, with modify events and no purge.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, startOvsdbServer, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { Replica } from '../../src/replica/replica.js';
import type { RowChange } from '../../src/replica/store.js';
import { OvsdbSession } from '../../src/session/session.js';

const V1 = {
  name: 'Ocnt',
  version: '1.0.0',
  tables: { Item: { columns: { name: { type: 'string' }, n: { type: 'integer' } }, isRoot: true } },
};
const V2 = {
  name: 'Ocnt',
  version: '1.1.0',
  tables: {
    Item: {
      columns: { name: { type: 'string' }, n: { type: 'integer' }, color: { type: 'string' } },
      isRoot: true,
    },
  },
};

t.test('online conversion during a monitor: new schema fetched, resync by diff', async (t) => {
  const dir = mkdtempSync('/run/ocnt-cv-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'v1.ovsschema'), JSON.stringify(V1));
  writeFileSync(join(dir, 'v2.ovsschema'), JSON.stringify(V2));
  const server = await startOvsdbServer({ schema: join(dir, 'v1.ovsschema') });
  t.teardown(() => server.stop());
  const session = OvsdbSession.start({ remotes: server.unixEndpoint, database: 'Ocnt' });
  t.teardown(() => session.close());
  const replica = Replica.start(session, { tables: { Item: {} } });
  t.teardown(() => replica.close());
  await replica.transact('Ocnt', [
    { op: 'insert', table: 'Item', row: { name: 'a', n: 1 } },
    { op: 'insert', table: 'Item', row: { name: 'b', n: 2 } },
  ]);
  const before = new Map([...replica.table('Item')].map((r) => [r._uuid, r]));
  t.equal(before.size, 2);
  const connections = session.status.connections;
  const events: RowChange[] = [];
  replica.on('change', (c) => events.push(c));

  await run('ovsdb-client', ['convert', server.unixEndpoint, join(dir, 'v2.ovsschema')]);
  await waitFor(
    () => replica.stats.schemaChanges === 1 && replica.stats.fullSnapshots === 2,
    20_000,
    'the resync',
  );
  t.equal(replica.schema?.version, '1.1.0', 'the new schema was fetched');
  t.equal(session.status.connections, connections, 'monitor_canceled: the connection was kept');
  const after = [...replica.table('Item')];
  t.same(after.map((r) => r._uuid).sort(), [...before.keys()].sort(), 'same rows, same uuids');
  t.ok(
    after.every((r) => r.color === ''),
    'rows carry the new column at its default',
  );
  t.same(
    events.map((e) => e.type),
    ['modify', 'modify'],
    'only modify events (new column), no delete/insert purge',
  );

  await replica.transact('Ocnt', [
    { op: 'update', table: 'Item', where: [['name', '==', 'a']], row: { color: 'red' } },
  ]);
  t.equal(
    replica.table('Item').filter((r) => r.name === 'a')[0]?.color,
    'red',
    'the new column is monitored',
  );
  t.equal(replica.stats.anomalies, 0);
});
