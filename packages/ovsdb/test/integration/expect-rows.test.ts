// Regression (issue 10, "typed transaction that silently does nothing"): the README's add-port
// transaction mutates Bridge where name == br0; against a missing bridge it committed ([uuid, uuid, 0])
// and ovsdb-server garbage-collected the new Port and Interface without a word. With `{ expect: 'one' }`
// the server itself aborts the whole transaction (a wait guard, atomically) and the call rejects with
// RowCountMismatch; nothing is inserted. Also: a non-root insert nothing references is refused before
// sending (issue 13 item 7) — shown here to be what the server would otherwise drop.
import { startOvsdbServer } from '@ovs-container-network/testkit';
import t, { type Test } from 'tap';
import { connect } from '../../src/client.js';
import { database } from '../../src/database.js';
import { InvalidArgumentError, RowCountMismatch, TimedOut } from '../../src/errors.js';
import * as OVS from '../../src/models/generated/open-vswitch.js';

async function setup(t: Test) {
  const server = await startOvsdbServer();
  t.teardown(() => server.stop());
  const client = await connect(server.unixEndpoint);
  t.teardown(() => client.close());
  const db = database(client, OVS.model);
  await db.transact((x) => {
    const br = x.insert(OVS.Bridge, { name: 'br0' });
    x.insert(OVS.Open_vSwitch, { bridges: [br] });
  });
  return { client, db };
}

const addPort =
  (bridge: string, name: string) =>
  (x: Parameters<Parameters<ReturnType<typeof database<typeof OVS.model>>['transact']>[0]>[0]) => {
    const iface = x.insert(OVS.Interface, { name });
    const port = x.insert(OVS.Port, { name, interfaces: [iface] });
    x.mutate(OVS.Bridge, [['name', '==', bridge]], [['ports', 'insert', [port]]], { expect: 'one' });
    return port;
  };

t.test('a mutate of a missing bridge aborts the transaction; nothing is inserted', async (t) => {
  const { db } = await setup(t);
  const err = await db.transact(addPort('nope', 'ocntp1')).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, RowCountMismatch);
  t.type(err, TimedOut, 'still a TimedOut (the wait guard failed)');
  const e = err as RowCountMismatch;
  t.equal(e.expected, 'one');
  t.equal(e.table, 'Bridge');
  t.equal(e.guarded, 3, 'the guarded mutate is operation 3 (the guard is 2)');
  t.match(
    e.message,
    /transaction aborted, nothing changed: operation 3 \(mutate Bridge where \[\["name","==","nope"\]\]\) expects one row, and none matched/,
  );
  t.same(await db.select(OVS.Port), [], 'no Port');
  t.same(await db.select(OVS.Interface), [], 'no Interface');

  const port = await db.transact(addPort('br0', 'ocntp2'));
  const [br] = await db.select(OVS.Bridge, [['name', '==', 'br0']], ['ports']);
  t.same(br?.ports, [port], 'with the bridge there, it commits');
});

t.test('expect some / none, on update and delete', async (t) => {
  const { db } = await setup(t);
  await t.rejects(
    db.transact((x) => x.update(OVS.Bridge, [['name', '==', 'x']], { stp_enable: true }, { expect: 'some' })),
    { name: 'RowCountMismatch', expected: 'some' },
  );
  const n = await db.transact((x) => x.update(OVS.Bridge, [], { stp_enable: true }, { expect: 'some' }));
  t.equal(n, 1);
  await t.rejects(
    db.transact((x) => {
      x.comment('must not delete');
      return x.delete(OVS.Flow_Sample_Collector_Set, [], { expect: 'some' });
    }),
    RowCountMismatch,
  );
  // 'none': create the bridge only if no bridge of that name exists (insert-if-absent, atomically).
  const ensure = (name: string) =>
    db.transact((x) => {
      x.mutate(OVS.Bridge, [['name', '==', name]], [['external_ids', 'insert', { seen: 'y' }]], {
        expect: 'none',
      });
      const br = x.insert(OVS.Bridge, { name });
      x.mutate(OVS.Open_vSwitch, [], [['bridges', 'insert', [br]]]);
      return br;
    });
  t.ok(await ensure('br1'));
  await t.rejects(ensure('br1'), {
    name: 'RowCountMismatch',
    expected: 'none',
    message: /expects no row, and some matched/,
  });
  t.equal((await db.select(OVS.Bridge, [['name', '==', 'br1']])).length, 1, 'only one br1');
  // 'one' needs a where that pins at most one row.
  t.throws(
    () => db.transaction().update(OVS.Port, [['tag', '==', 1]], { tag: 2 }, { expect: 'one' }),
    /expect "one" needs a where that matches at most one row.*Port has \(name\)/,
  );
  t.throws(() => db.transaction().delete(OVS.Port, [], { expect: 'two' as never }), InvalidArgumentError);
});

t.test('an unreferenced non-root insert: refused before sending (the server would drop it)', async (t) => {
  const { client, db } = await setup(t);
  // Raw, the server commits and garbage-collects the row at once.
  const raw = await client.transact('Open_vSwitch', [
    { op: 'insert', table: 'Interface', row: { name: 'ocntgc' } },
  ]);
  t.match(raw, [{ uuid: ['uuid', String] }]);
  t.same(await db.select(OVS.Interface, [['name', '==', 'ocntgc']]), [], 'collected silently');
  await t.rejects(
    db.transact((x) => x.insert(OVS.Interface, { name: 'ocntgc' })),
    {
      name: 'InvalidArgumentError',
      message: /the Interface row inserted by operation 0 .* would be garbage-collected/,
    },
  );
});
