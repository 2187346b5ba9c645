import t from 'tap';
import { database, decodeTableRow, modelFromSchema } from '../../src/database.js';
import {
  Aborted,
  ConstraintViolation,
  InvalidArgumentError,
  ProtocolError,
  ReferentialIntegrityViolation,
  TimedOut,
  TransactionError,
} from '../../src/errors.js';
import * as OVS from '../../src/models/generated/open-vswitch.js';
import { decodeResults, Transaction, type Transactor } from '../../src/transaction.js';
import { isRowRef } from '../../src/uuid.js';

const U1 = '11111111-2222-3333-4444-555555555555';
const U2 = '22222222-2222-3333-4444-555555555555';

/** A test-only transactor: records what it is sent and answers with canned results. */
function fake(answer: (ops: readonly unknown[]) => unknown[]): Transactor & { sent: [string, unknown[]][] } {
  const sent: [string, unknown[]][] = [];
  return {
    sent,
    async transact(db, ops) {
      sent.push([db, [...ops]]);
      return answer(ops);
    },
  };
}

t.test('a transaction hands out references and decodes typed results', async (t) => {
  const tx = fake(() => [{ uuid: ['uuid', U1] }, { uuid: ['uuid', U2] }, { count: 1 }, { rows: [] }]);
  const db = database(tx, OVS.model);
  const res = await db.transact((t) => {
    const iface = t.insert(OVS.Interface, { name: 'p1' });
    const port = t.insert(OVS.Port, { name: 'p1', interfaces: [iface], tag: 100 });
    const n = t.mutate(OVS.Bridge, [['name', '==', 'br0']], [['ports', 'insert', [port]]]);
    return { port, n, rows: t.select(OVS.Bridge, [['name', '==', 'none']]), iface: [iface] };
  });
  t.same(res, { port: U2, n: 1, rows: [], iface: [U1] });
  const [db0, ops] = tx.sent[0]!;
  t.equal(db0, 'Open_vSwitch');
  t.same(ops, [
    { op: 'insert', table: 'Interface', row: { name: 'p1' }, 'uuid-name': 'row0' },
    {
      op: 'insert',
      table: 'Port',
      row: { name: 'p1', interfaces: ['named-uuid', 'row0'], tag: 100 },
      'uuid-name': 'row1',
    },
    {
      op: 'mutate',
      table: 'Bridge',
      where: [['name', '==', 'br0']],
      mutations: [['ports', 'insert', ['named-uuid', 'row1']]],
    },
    { op: 'select', table: 'Bridge', where: [['name', '==', 'none']] },
  ]);
});

t.test('handles, get(), explicit uuid-names, execute once', async (t) => {
  const txn = new Transaction('Open_vSwitch');
  const a = txn.insert(OVS.Open_vSwitch, {}, { uuidName: 'ia' });
  t.ok(isRowRef(a));
  t.equal(a.name, 'ia');
  t.throws(() => txn.insert(OVS.Open_vSwitch, {}, { uuidName: 'ia' }), /already used/);
  const c = txn.comment('hello');
  const res = await txn.execute(fake(() => [{ uuid: ['uuid', U1] }, {}]));
  t.equal(res.get(a), U1);
  t.equal(res.get(c), undefined);
  await t.rejects(txn.execute(fake(() => [])), InvalidArgumentError);
  t.throws(() => txn.comment('late'), /after execute/);
  const other = new Transaction('Other');
  // @ts-expect-error — a table of another database does not compile into the transaction
  t.throws(() => other.insert(OVS.Interface, { name: 'x' }), /belongs to database Open_vSwitch/);
});

t.test('error results map to TransactionError subclasses with index and details', async (t) => {
  const txn = new Transaction('Open_vSwitch');
  txn.insert(OVS.Interface, { name: 'a' });
  txn.wait(OVS.Bridge, { columns: ['name'], until: '==', rows: [], timeout: 0 });
  const raw = [{ uuid: ['uuid', U1] }, { error: 'timed out', details: 'waited 0 ms' }, null];
  try {
    decodeResults(txn.operations, raw);
    t.fail('should throw');
  } catch (err) {
    t.type(err, TimedOut);
    t.type(err, TransactionError);
    const e = err as TransactionError;
    t.equal(e.index, 1);
    t.equal(e.error, 'timed out');
    t.equal(e.details, 'waited 0 ms');
    t.same(e.operation, txn.operations[1]!.wire);
    t.same(e.results, raw);
    t.equal(e.code, 'OVSDB_ERR_TRANSACTION');
  }
  // Commit-time errors: an extra element after the last operation.
  const ri = [
    { uuid: ['uuid', U1] },
    {},
    { error: 'referential integrity violation', details: 'row x references…' },
  ];
  t.throws(() => decodeResults(txn.operations, ri), ReferentialIntegrityViolation);
  try {
    decodeResults(txn.operations, ri);
  } catch (err) {
    t.equal((err as TransactionError).index, 2);
    t.equal((err as TransactionError).operation, undefined);
    t.match((err as Error).message, /at commit: referential integrity violation/);
  }
  t.throws(
    () => decodeResults(txn.operations, [{ uuid: ['uuid', U1] }, {}, { error: 'constraint violation' }]),
    ConstraintViolation,
  );
  t.throws(() => decodeResults(txn.operations, [{ uuid: ['uuid', U1] }, { error: 'aborted' }]), Aborted);
  t.throws(() => decodeResults(txn.operations, [{ error: 'something new' }]), TransactionError);
  t.throws(() => decodeResults(txn.operations, [{ uuid: ['uuid', U1] }]), ProtocolError, 'too few results');
  t.throws(() => decodeResults(txn.operations, { nope: 1 }), ProtocolError);
});

t.test('database(): arguments checked; untyped models from a schema', async (t) => {
  t.throws(() => database({} as Transactor, OVS.model), InvalidArgumentError);
  t.throws(
    () =>
      database(
        fake(() => []),
        {} as typeof OVS.model,
      ),
    InvalidArgumentError,
  );
  const m = modelFromSchema(OVS.schema);
  t.equal(m.name, 'Open_vSwitch');
  const tx = fake(() => [{ rows: [{ _uuid: ['uuid', U1], name: 'br0', ports: ['set', []] }] }]);
  const rows = await database(tx, m).select(m.tables.Bridge!, [['name', '==', 'br0']]);
  t.equal(rows[0]!.name, 'br0');
  t.same(rows[0]!.ports, []);
  const r = await database(tx, OVS.model).run((t) => {
    t.select(OVS.Bridge);
  });
  t.equal(r.results.length, 1);
});

t.test('decodeTableRow: a typed row from a wire row and an outside uuid', async (t) => {
  const row = decodeTableRow(OVS.Port, { name: 'p1', tag: 7, trunks: ['set', [1, 2]] }, U1);
  t.equal(row._uuid, U1);
  t.equal(row.tag, 7);
  t.same(row.trunks, [1, 2]);
  t.same(row.external_ids, {}, 'omitted columns hold their defaults');
  t.equal(row.vlan_mode, null);
});
