// Every RFC 7047 operation against a real ovsdb-server through typed transactions, and the error results
// (operation errors and the commit-time extra element) mapped to their classes.
import { fileURLToPath } from 'node:url';
import { startOvsdbServer } from '@ovs-container-network/testkit';
import t, { type Test } from 'tap';
import { connect } from '../../src/client.js';
import { database } from '../../src/database.js';
import {
  Aborted,
  ConstraintViolation,
  NotOwner,
  ReferentialIntegrityViolation,
  TimedOut,
  type TransactionError,
} from '../../src/errors.js';
import { Transaction } from '../../src/transaction.js';
import { randomRowUuid } from '../../src/uuid.js';
import * as Typed from '../fixtures/typed-model.js';

const schema = fileURLToPath(new URL('../fixtures/schemas/typed.ovsschema', import.meta.url));

async function setup(t: Test) {
  const server = await startOvsdbServer({ schema });
  t.teardown(() => server.stop());
  const client = await connect(server.unixEndpoint);
  t.teardown(() => client.close());
  return { server, client, db: database(client, Typed.model) };
}

t.test('insert, select, update, mutate, delete', async (t) => {
  const { db } = await setup(t);
  const explicit = randomRowUuid<'Atoms'>();
  const [a, b] = await db.transact((t) => [
    t.insert(
      Typed.Atoms,
      { s_enum: 'red', ss: 'one', i: 1, si: [1, 2], m_ss: { k: 'v', drop: 'x' } },
      { uuid: explicit },
    ),
    t.insert(Typed.Atoms, { s_enum: 'green', ss: ['a'], i: 2 }),
  ]);
  t.equal(a, explicit, 'insert with an explicit uuid (OVS 2.13+)');
  t.match(b, /^[0-9a-f-]{36}$/);

  const cols = await db.transact((t) => t.select(Typed.Atoms, [['i', '<=', 2]], ['_uuid', 'i', 's_enum']));
  t.same(cols.map((r) => [r.i, r.s_enum]).sort(), [
    [1, 'red'],
    [2, 'green'],
  ]);
  t.same(
    Object.keys(cols[0] ?? {}).sort(),
    ['_uuid', 'i', 's_enum'],
    'select with columns returns only those',
  );

  const updated = await db.transact((t) =>
    t.update(Typed.Atoms, [['i', '==', 2]], { s_enum: 'blue', oi: 9 }),
  );
  t.equal(updated, 1);
  const counts = await db.transact((t) => [
    t.mutate(
      Typed.Atoms,
      [['_uuid', '==', a]],
      [
        ['i', '+=', 10],
        ['i', '*=', 3],
        ['i', '-=', 1],
        ['i', '/=', 2],
        ['i', '%=', 5],
        ['si', 'insert', [7]],
        ['si', 'delete', [1]],
        ['m_ss', 'insert', { n: 'new' }],
        ['m_ss', 'delete', ['drop']],
        ['os', 'insert', 'set-once'],
      ],
    ),
    t.select(Typed.Atoms, [['_uuid', '==', a]]),
  ]);
  t.equal(counts[0], 1);
  const row = counts[1][0];
  t.equal(row?.i, ((((1 + 10) * 3 - 1) / 2) % 5) | 0, '((1+10)*3-1)/2 %5 with integer division');
  t.same(row?.si, [2, 7]);
  t.same(row?.m_ss, { k: 'v', n: 'new' });
  t.equal(row?.os, 'set-once', 'insert into an empty optional value');

  const deleted = await db.transact((t) => t.delete(Typed.Atoms, [['s_enum', '==', 'blue']]));
  t.equal(deleted, 1);
  t.same(
    (await db.select(Typed.Atoms)).map((r) => r._uuid),
    [a],
  );
});

t.test('wait: satisfied, timed out, and woken by another client', async (t) => {
  const { db, server } = await setup(t);
  await db.transact((t) => t.insert(Typed.Target, { name: 'before' }));
  const ok = await db.transact((t) => [
    t.wait(Typed.Target, {
      where: [],
      columns: ['name'],
      until: '==',
      rows: [{ name: 'before' }],
      timeout: 0,
    }),
    t.insert(Typed.Target, { name: 'second' }),
  ]);
  t.match(ok[1], /^[0-9a-f-]{36}$/);

  const err = await db
    .transact((t) => [
      t.comment('will time out'),
      t.wait(Typed.Target, {
        where: [['name', '==', 'nope']],
        columns: ['name'],
        until: '!=',
        rows: [],
        timeout: 0,
      }),
    ])
    .catch((e: unknown) => e);
  t.type(err, TimedOut);
  t.equal((err as TransactionError).index, 1);
  t.equal((err as TransactionError).error, 'timed out');

  // A wait with a (generous) timeout completes once another session makes the condition true.
  const other = await connect(server.unixEndpoint);
  t.teardown(() => other.close());
  const waiting = db.transact((t) =>
    t.wait(Typed.Target, {
      where: [['name', '==', 'later']],
      columns: ['name'],
      until: '==',
      rows: [{ name: 'later' }],
      timeout: 30_000,
    }),
  );
  await database(other, Typed.model).transact((t) => t.insert(Typed.Target, { name: 'later' }));
  t.equal(await waiting, undefined);
});

t.test('commit, abort, comment, assert', async (t) => {
  const { db, client } = await setup(t);
  const r = await db.run((t) => {
    t.comment('ocnt: durable commit');
    t.insert(Typed.Target, { name: 'durable' });
    t.commit(true);
  });
  t.equal(r.results.length, 3);

  const aborted = await db
    .transact((t) => {
      t.insert(Typed.Target, { name: 'aborted' });
      t.abort();
    })
    .catch((e: unknown) => e);
  t.type(aborted, Aborted);
  t.equal((aborted as TransactionError).index, 1);
  t.equal(
    (await db.select(Typed.Target, [['name', '==', 'aborted']])).length,
    0,
    'an aborted transaction changes nothing',
  );

  await t.rejects(
    db.transact((t) => t.assert('ocnt_lock')),
    NotOwner,
  );
  const lock = await client.lock('ocnt_lock');
  t.same(lock, { locked: true });
  await db.transact((t) => {
    t.assert('ocnt_lock');
    t.insert(Typed.Target, { name: 'locked' });
  });
  t.equal((await db.select(Typed.Target, [['name', '==', 'locked']])).length, 1);
});

t.test('constraint and referential integrity violations come at commit as an extra element', async (t) => {
  const { db } = await setup(t);
  await db.transact((t) => t.insert(Typed.Parent, { name: 'dup' }));
  const dup = await db.transact((t) => t.insert(Typed.Parent, { name: 'dup' })).catch((e: unknown) => e);
  t.type(dup, ConstraintViolation);
  t.equal((dup as TransactionError).index, 1, 'index = number of operations');
  t.equal((dup as TransactionError).operation, undefined);
  t.match((dup as TransactionError).details, /dup/);

  const tooMany = await db
    .run((t) => {
      t.insert(Typed.Single, { name: 'one' });
      t.insert(Typed.Single, { name: 'two' });
    })
    .catch((e: unknown) => e);
  t.type(tooMany, ConstraintViolation);
  t.match((tooMany as TransactionError).details, /Single/);

  const range = await db
    .transact((t) => {
      const row = t.insert(Typed.Atoms, { s_enum: 'red', ss: ['a'], i_bounded: 4000 });
      t.mutate(Typed.Atoms, [['_uuid', '==', row]], [['i_bounded', '+=', 1000]]);
    })
    .catch((e: unknown) => e);
  t.type(range, ConstraintViolation);
  t.equal((range as TransactionError).index, 1, 'a mutation out of range fails its own operation');

  const dangling = await db
    .transact((t) => t.insert(Typed.Parent, { name: 'dangling', target: randomRowUuid<'Target'>() }))
    .catch((e: unknown) => e);
  t.type(dangling, ReferentialIntegrityViolation);
  t.equal((dangling as TransactionError).index, 1);
  t.match((dangling as TransactionError).details, /references nonexistent row/);
  t.equal((await db.select(Typed.Parent, [['name', '==', 'dangling']])).length, 0);
});

t.test('a Transaction can be built apart and executed through any transactor', async (t) => {
  const { client } = await setup(t);
  const txn = new Transaction('Typed');
  const target = txn.insert(Typed.Target, { name: 'x' });
  const parent = txn.insert(Typed.Parent, { name: 'px', target });
  const res = await txn.execute(client);
  t.match(res.get(parent), /^[0-9a-f-]{36}$/);
  t.not(res.get(parent), res.get(target));
});
