// ovsdb-server killed and restarted during a monitor. On a clustered database (one member is enough: it has
// transaction ids) the replica comes back with monitor_cond_since and the last transaction id it saw, and
// the server answers found=true: only the missed changes, no reload (asserted through the replica's
// counters). Then the server's bounded history is made to lose our id (more transactions than it keeps
// while the replica is cut off): found=false, a full snapshot, diffed into correct events.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { startCluster, startOvsdbServer, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { OvsdbClient } from '../../src/client.js';
import { MaybeCommittedError } from '../../src/errors.js';
import { Replica } from '../../src/replica/replica.js';
import type { RowChange } from '../../src/replica/store.js';
import { OvsdbSession } from '../../src/session/session.js';

const SCHEMA = {
  name: 'Ocnt',
  version: '1.0.0',
  tables: {
    Item: {
      columns: {
        name: { type: 'string' },
        n: { type: 'integer' },
        tags: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
      isRoot: true,
      indexes: [['name']],
    },
  },
};

interface Tables {
  Item: { name: string; n: number; tags: Record<string, string> };
}

/** A TCP → unix proxy the test can cut, to keep the replica away from a server that stays up. */
async function proxy(target: string) {
  const sockets = new Set<Socket>();
  let open = true;
  const srv = createServer((c) => {
    if (!open) return c.destroy();
    const s = createConnection(target);
    sockets.add(c).add(s);
    c.pipe(s).pipe(c);
    const drop = () => {
      c.destroy();
      s.destroy();
      sockets.delete(c);
      sockets.delete(s);
    };
    c.on('error', drop).on('close', drop);
    s.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    endpoint: `tcp:127.0.0.1:${port}`,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

t.test(
  'restart of a clustered server: resume without reload, then reload when history is gone',
  async (t) => {
    const dir = mkdtempSync('/run/ocnt-rc-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const schemaFile = join(dir, 'ocnt.ovsschema');
    writeFileSync(schemaFile, JSON.stringify(SCHEMA));
    const cluster = await startCluster({ schema: schemaFile, size: 1 });
    t.teardown(() => cluster.stop());
    const endpoint = cluster.endpoints[0] as string;
    const px = await proxy(endpoint.slice('unix:'.length));
    t.teardown(() => px.close());

    const session = OvsdbSession.start({
      remotes: px.endpoint,
      database: 'Ocnt',
      backoff: { initialMs: 200, maxMs: 1000 },
      client: { inactivityProbeMs: 0 },
    });
    t.teardown(() => session.close());
    const replica = Replica.start<Tables>(session, {
      tables: { Item: { indexes: { byName: (r) => r.name } } },
    });
    t.teardown(() => replica.close());
    const events: RowChange[] = [];
    replica.on('change', (c) => events.push(c));

    // A writer on the server directly (not through the proxy).
    const write = async (ops: unknown[]) => {
      const c = await OvsdbClient.connect(endpoint);
      try {
        const res = await c.transact('Ocnt', ops);
        if (res.some((r) => r && typeof r === 'object' && 'error' in r)) throw new Error(JSON.stringify(res));
      } finally {
        await c.close();
      }
    };
    const insert = (name: string, n: number) => ({ op: 'insert', table: 'Item', row: { name, n } });

    // ovsdb-server trims its transaction history to 100 transactions AND to no more atoms than the database
    // holds (ovsdb/transaction.c, ovsdb_txn_history_run): a tiny database forgets at once. Fill it a little.
    await write(
      Array.from({ length: 50 }, (_, i) => ({
        op: 'insert',
        table: 'Item',
        row: {
          name: `filler${i}`,
          n: i,
          tags: [
            'map',
            [
              ['k', 'v'],
              ['k2', 'v2'],
            ],
          ],
        },
      })),
    );
    await write([insert('a', 1), insert('b', 2)]);
    await replica.ready;
    await waitFor(() => replica.table('Item').size === 52, 10_000, 'the first rows');
    t.equal(replica.method, 'monitor_cond_since');
    t.equal(replica.stats.fullSnapshots, 1);
    t.equal(replica.table('Item').size, 52);
    const txnBefore = replica.lastTxnId;
    t.ok(
      txnBefore && txnBefore !== '00000000-0000-0000-0000-000000000000',
      'a clustered database has txn ids',
    );

    // 1. Kill the server, change data behind the replica's back (after restart), see it resume.
    await cluster.kill(0);
    px.cut(); // keep the replica away until we have written behind its back
    await waitFor(() => session.status.state !== 'connected', 10_000, 'the session to notice');
    await cluster.restart(0);
    await write([insert('c', 3)]);
    await write([{ op: 'update', table: 'Item', where: [['name', '==', 'a']], row: { n: 10 } }]);
    await write([{ op: 'delete', table: 'Item', where: [['name', '==', 'b']] }]);
    const b = replica.table('Item').find('byName', 'b');
    events.length = 0;
    px.restore();
    await waitFor(() => replica.stats.resumes === 1, 30_000, 'a resumed monitor');
    t.equal(replica.stats.fullSnapshots, 1, 'no second full snapshot: resumed without a reload');
    t.equal(replica.table('Item').find('byName', 'a')?.n, 10);
    t.ok(replica.table('Item').find('byName', 'c'));
    t.equal(replica.table('Item').find('byName', 'b'), undefined);
    t.same(
      events.map((e) => `${e.type}:${(e.new ?? e.old).name}`).sort(),
      ['delete:b', 'insert:c', 'modify:a'],
      'exactly the missed changes, as events',
    );
    t.equal(events.find((e) => e.type === 'delete')?.old as unknown, b, 'the delete carries the old row');

    // 2. Cut the replica off and commit more transactions than the server's history keeps (100 in OVS 3.1).
    px.cut();
    await waitFor(() => session.status.state !== 'connected', 10_000, 'the session to notice the cut');
    const c = await OvsdbClient.connect(endpoint);
    for (let i = 0; i < 130; i++) {
      await c.transact('Ocnt', [
        { op: 'update', table: 'Item', where: [['name', '==', 'c']], row: { n: 100 + i } },
      ]);
    }
    await c.transact('Ocnt', [insert('d', 4), { op: 'delete', table: 'Item', where: [['name', '==', 'a']] }]);
    await c.close();
    events.length = 0;
    const snapshotsBefore = replica.stats.fullSnapshots;
    px.restore();
    await waitFor(() => replica.stats.fullSnapshots === snapshotsBefore + 1, 30_000, 'a full resync');
    t.equal(replica.stats.resumes, 1, 'the history was gone: not resumed');
    t.equal(replica.table('Item').find('byName', 'c')?.n, 229);
    t.ok(replica.table('Item').find('byName', 'd'));
    t.equal(replica.table('Item').find('byName', 'a'), undefined);
    t.same(
      events.map((e) => `${e.type}:${(e.new ?? e.old).name}`).sort(),
      ['delete:a', 'insert:d', 'modify:c'],
      `the reload emitted exactly the differences: ${JSON.stringify(events)}`,
    );
    t.equal(replica.stats.anomalies, 0);

    // 3. And it keeps following live changes afterwards.
    await write([insert('e', 5)]);
    await waitFor(() => replica.table('Item').find('byName', 'e'), 10_000, 'a live insert');
  },
);

t.test('a transaction in flight when the server dies: MaybeCommittedError, never replayed', async (t) => {
  const dir = mkdtempSync('/run/ocnt-rc-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const schemaFile = join(dir, 'ocnt.ovsschema');
  writeFileSync(schemaFile, JSON.stringify(SCHEMA));
  const server = await startOvsdbServer({ schema: schemaFile });
  let current = server;
  t.teardown(() => current.stop());
  // A dead remote first in the list: the session must skip it and use the live one.
  const session = OvsdbSession.start({
    remotes: [`unix:${join(dir, 'nothing-here.sock')}`, server.unixEndpoint],
    database: 'Ocnt',
    backoff: { initialMs: 100, maxMs: 400 },
  });
  t.teardown(() => session.close());
  await session.connected();
  t.equal(session.status.remote, server.unixEndpoint);

  // The wait can never hold, so the transaction stays pending on the server until we kill it.
  let sent = false;
  const inFlight = session.transact(
    'Ocnt',
    [
      {
        op: 'wait',
        table: 'Item',
        where: [['name', '==', 'never']],
        columns: ['name'],
        until: '==',
        rows: [{ name: 'never' }],
        timeout: 60_000,
      },
      { op: 'insert', table: 'Item', row: { name: 'ghost', n: 1 } },
    ],
    {
      onSent: () => {
        sent = true;
      },
    },
  );
  const outcome = inFlight.catch((e: unknown) => e);
  await waitFor(() => sent, 10_000, 'the transaction to be written');
  await server.kill();
  const err = await outcome;
  t.ok(err instanceof MaybeCommittedError, `typed error: ${(err as Error).message}`);
  t.equal((err as MaybeCommittedError).code, 'OVSDB_ERR_MAYBE_COMMITTED');

  current = await server.restart();
  await session.connected();
  await waitFor(() => session.status.state === 'connected', 20_000, 'reconnected');
  // Let any (wrong) replay happen, then look: the insert must not be there.
  await session.request('echo', []);
  const res = (await session.transact('Ocnt', [
    { op: 'select', table: 'Item', where: [['name', '==', 'ghost']] },
  ])) as [{ rows: unknown[] }];
  t.same(res[0].rows, [], 'the transaction was not replayed on the new connection');
});
