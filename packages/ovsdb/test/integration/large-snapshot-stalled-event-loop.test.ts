// Regression: the replica applied a 10,000-row initial snapshot in one synchronous run (after one
// JSON.parse of the whole ~20 MB message), stalling the event loop. Now the snapshot is applied in steps
// with the event loop running in between. What must hold (checked here against a real ovsdb-server):
// the event loop turns during the sync; `ready` and `isReady` only once every row is in (no partial
// snapshot visible as ready); an update committed while the snapshot is being applied is applied after
// it, as its own batch, with no anomaly.
import { startOvsdbServer } from '@ovs-container-network/testkit';
import t from 'tap';
import { connect } from '../../src/client.js';
import { Replica } from '../../src/replica/replica.js';
import { OvsdbSession } from '../../src/session/session.js';

const N = 5000;

t.test('a large initial snapshot: sliced, ready only when complete, later updates after it', async (t) => {
  const server = await startOvsdbServer();
  t.teardown(() => server.stop());
  const writer = await connect(server.unixEndpoint);
  t.teardown(() => writer.close());
  const ops: unknown[] = [];
  const ports: unknown[] = [];
  for (let i = 0; i < N; i++) {
    ops.push({ op: 'insert', table: 'Interface', 'uuid-name': `i${i}`, row: { name: `ocnts${i}` } });
    ops.push({
      op: 'insert',
      table: 'Port',
      'uuid-name': `p${i}`,
      row: {
        name: `ocnts${i}`,
        tag: 1 + (i % 4000),
        interfaces: ['named-uuid', `i${i}`],
        external_ids: ['map', [['endpoint', `ep-${i}`]]],
      },
    });
    ports.push(['named-uuid', `p${i}`]);
  }
  ops.push({
    op: 'insert',
    table: 'Bridge',
    'uuid-name': 'br',
    row: { name: 'ocntsbr', ports: ['set', ports] },
  });
  ops.push({ op: 'insert', table: 'Open_vSwitch', row: { bridges: ['named-uuid', 'br'] } });
  await writer.transact('Open_vSwitch', ops, { timeoutMs: 120_000 });

  const session = OvsdbSession.start({ remotes: server.unixEndpoint, database: 'Open_vSwitch' });
  t.teardown(() => session.close());
  const replica = Replica.start(session, { tables: { Port: {}, Interface: {} } });
  t.teardown(() => replica.close());
  const batches: { size: number; types: string[] }[] = [];
  replica.on('batch', (b) => batches.push({ size: b.length, types: [...new Set(b.map((c) => c.type))] }));

  let partialSeen = 0;
  let readyTooEarly = 0;
  let modified: Promise<unknown> | undefined;
  let polling = true;
  const poll = () => {
    const size = replica.table('Port').size + replica.table('Interface').size;
    if (replica.isReady && size < 2 * N) readyTooEarly++;
    if (!replica.isReady && size > 0 && size < 2 * N) {
      partialSeen++;
      // Commit a change while the snapshot is being applied: its update3 must come after the snapshot.
      modified ??= writer.transact('Open_vSwitch', [
        { op: 'update', table: 'Port', where: [['name', '==', 'ocnts0']], row: { tag: 4001 } },
      ]);
    }
    if (polling) setImmediate(poll);
  };
  setImmediate(poll);
  let readyAt = -1;
  await replica.ready.then(() => {
    readyAt = replica.table('Port').size + replica.table('Interface').size;
  });
  t.equal(readyAt, 2 * N, 'every row is in when ready resolves');
  t.ok(
    partialSeen > 0,
    `the event loop ran while the snapshot was applied (${partialSeen} turns saw it partial)`,
  );
  t.equal(readyTooEarly, 0, 'never isReady with a partial snapshot');
  t.ok(modified, 'a change was committed during the apply');
  await modified;
  await writer.echo([]);
  // The replica's own connection: one round trip so that the update3 has been read and applied.
  await (await session.connected()).echo([]);
  polling = false;
  const p0 = replica.table('Port').filter((p) => p.name === 'ocnts0')[0];
  t.equal(p0?.tag, 4001, 'the change made during the apply is in the replica');
  t.equal(replica.stats.anomalies, 0, 'no anomaly: the update was not applied before the snapshot');
  t.same(batches[0], { size: 2 * N, types: ['insert'] }, 'first batch: the whole snapshot');
  t.same(batches[1], { size: 1, types: ['modify'] }, 'then the change, as its own batch');
});
