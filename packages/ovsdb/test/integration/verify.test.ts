// Optimistic concurrency: a transaction built from a replica row carries a verify (`wait … until "=="`,
// timeout 0) of the columns it read. Another client changed that column in between, so the first attempt
// fails with "timed out" and commits nothing; `optimistic` rebuilds from the refreshed replica and the
// second attempt commits. A verify that keeps failing ends in ConflictError after the bounded attempts.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOvsdbServer, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { modelFromSchema } from '../../src/database.js';
import { TimedOut } from '../../src/errors.js';
import { ConflictError, optimistic, verify } from '../../src/replica/concurrency.js';
import { Replica } from '../../src/replica/replica.js';
import { OvsdbSession } from '../../src/session/session.js';

const SCHEMA = {
  name: 'Ocnt',
  version: '1.0.0',
  tables: { Item: { columns: { name: { type: 'string' }, n: { type: 'integer' } }, isRoot: true } },
};
const model = modelFromSchema(SCHEMA);
const Item = model.tables.Item!;

interface Tables {
  Item: { name: string; n: number };
}

t.test('a verify conflict is retried from the fresh replica', async (t) => {
  const dir = mkdtempSync('/run/ocnt-vf-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 's.ovsschema'), JSON.stringify(SCHEMA));
  const server = await startOvsdbServer({ schema: join(dir, 's.ovsschema') });
  t.teardown(() => server.stop());
  const session = OvsdbSession.start({ remotes: server.unixEndpoint, database: 'Ocnt' });
  t.teardown(() => session.close());
  const other = OvsdbSession.start({ remotes: server.unixEndpoint, database: 'Ocnt' });
  t.teardown(() => other.close());
  const replica = Replica.start<Tables>(session, {
    tables: { Item: { indexes: { byName: (r) => r.name } } },
  });
  t.teardown(() => replica.close());

  await replica.transact('Ocnt', [{ op: 'insert', table: 'Item', row: { name: 'x', n: 1 } }]);
  const stale = replica.table('Item').find('byName', 'x')!;
  t.equal(stale.n, 1);
  // Another client changes the column after we read it.
  await other.transact('Ocnt', [
    { op: 'update', table: 'Item', where: [['name', '==', 'x']], row: { n: 5 } },
  ]);
  await waitFor(() => replica.table('Item').find('byName', 'x')?.n === 5, 10_000, 'the replica to see n=5');

  let attempts = 0;
  const seen: number[] = [];
  await optimistic(replica, model, (tx, r) => {
    attempts++;
    // The first attempt uses the row read before the other client's change: its verify must fail.
    const row = attempts === 1 ? stale : r.table('Item').find('byName', 'x')!;
    seen.push(row.n);
    tx.add(verify(Item, row, ['n']));
    tx.update(Item, [['_uuid', '==', row._uuid]], { n: row.n + 1 });
  });
  t.equal(attempts, 2, 'one conflict, one retry');
  t.same(seen, [1, 5]);
  t.equal(replica.table('Item').find('byName', 'x')?.n, 6, 'the retry built on the fresh value (5 + 1)');

  // Always stale: bounded, then ConflictError (carrying the TimedOut of the wait as its cause).
  let tries = 0;
  const err = await optimistic(
    replica,
    model,
    (tx) => {
      tries++;
      tx.add(verify(Item, stale, ['n']));
      tx.update(Item, [['_uuid', '==', stale._uuid]], { n: 100 });
    },
    { attempts: 3 },
  ).catch((e: unknown) => e);
  t.ok(err instanceof ConflictError, 'gives up with ConflictError');
  t.ok((err as ConflictError).cause instanceof TimedOut, 'the cause is the failed wait');
  t.equal(tries, 3);
  t.equal(replica.table('Item').find('byName', 'x')?.n, 6, 'nothing committed');
  t.throws(() => verify(Item, { _uuid: stale._uuid } as never, ['n']), {
    code: 'OVSDB_ERR_INVALID_ARGUMENT',
  });
});
