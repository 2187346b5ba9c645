// Regression (issue 13 item 7): an inserted row of a non-root table that nothing in the transaction
// references was sent, committed, and silently garbage-collected by ovsdb-server. Now execute() refuses it
// before sending, naming the row and its table. (Against a real server: test/integration/expect-rows.test.ts.)
import t from 'tap';
import { modelFromSchema } from '../../src/database.js';
import { InvalidArgumentError } from '../../src/errors.js';
import * as OVS from '../../src/models/generated/open-vswitch.js';
import { Transaction, type Transactor } from '../../src/transaction.js';
import { namedRef, uuid } from '../../src/uuid.js';
import * as Typed from '../fixtures/typed-model.js';

const U = uuid<'Interface'>('11111111-2222-3333-4444-555555555555');

function counting(): Transactor & { sent: number } {
  const tr = {
    sent: 0,
    async transact(_db: string, ops: readonly unknown[]) {
      tr.sent++;
      return ops.map((o) => ((o as { op: string }).op === 'insert' ? { uuid: ['uuid', U] } : { count: 1 }));
    },
  };
  return tr;
}

t.test('an unreferenced non-root insert is refused before sending', async (t) => {
  const tr = counting();
  const txn = new Transaction('Open_vSwitch');
  txn.insert(OVS.Interface, { name: 'lost' }, { uuidName: 'lost' });
  await t.rejects(txn.execute(tr), {
    name: 'InvalidArgumentError',
    message:
      /the Interface row inserted by operation 0 \(uuid-name "lost"\) would be garbage-collected at commit: Interface is not a root table/,
  });
  t.equal(tr.sent, 0, 'nothing was sent');

  // A chain that ends nowhere is garbage too: Port → Interface, but no Bridge keeps the Port.
  const chain = new Transaction('Open_vSwitch');
  const i = chain.insert(OVS.Interface, { name: 'p1' });
  chain.insert(OVS.Port, { name: 'p1', interfaces: [i] });
  await t.rejects(chain.execute(tr), /the Interface row inserted by operation 0/);

  // A weak reference does not keep a row.
  const W = modelFromSchema({
    name: 'W',
    version: '1.0.0',
    tables: {
      R: {
        isRoot: true,
        columns: {
          weak: { type: { key: { type: 'uuid', refTable: 'N', refType: 'weak' }, min: 0, max: 'unlimited' } },
        },
      },
      N: { columns: { name: { type: 'string' } } },
    },
  });
  const weak = new Transaction('W');
  const n = weak.insert(W.tables.N!, { name: 'x' });
  weak.insert(W.tables.R!, { weak: [n] });
  await t.rejects(weak.execute(tr), /the N row inserted by operation 0/);
  t.equal(tr.sent, 0);
});

t.test('rows kept by a mutate, an update, a root insert or a kept row pass', async (t) => {
  const tr = counting();
  const ok = async (build: (x: Transaction<'Open_vSwitch'>) => void) => {
    const txn = new Transaction('Open_vSwitch');
    build(txn);
    await txn.execute(tr);
  };
  await ok((x) => {
    const i = x.insert(OVS.Interface, { name: 'p1' });
    const p = x.insert(OVS.Port, { name: 'p1', interfaces: [i] });
    x.mutate(OVS.Bridge, [['name', '==', 'br0']], [['ports', 'insert', [p]]]);
  });
  await ok((x) => {
    const i = x.insert(OVS.Interface, { name: 'p2' });
    x.update(OVS.Port, [['name', '==', 'p2']], { interfaces: [i] });
  });
  await ok((x) => {
    const b = x.insert(OVS.Bridge, { name: 'br1' });
    x.insert(OVS.Open_vSwitch, { bridges: [b] });
  });
  await ok((x) => {
    x.insert(OVS.Interface, { name: 'gone' });
    x.abort();
  });
  t.equal(tr.sent, 4);
  const p = new Transaction('Typed');
  p.insert(Typed.Child, { name: 'c' }, { uuid: '22222222-2222-3333-4444-555555555555', uuidName: 'c' });
  p.update(Typed.Parent, [], { children: [uuid<'Child'>('22222222-2222-3333-4444-555555555555')] });
  await p.execute(tr);
  t.equal(tr.sent, 5, 'a row inserted with an explicit uuid and referenced by it is kept');
  t.type(InvalidArgumentError, 'function');
});

// The check runs on every execute() and resolves references by index for generated names, by a scan or a
// Map otherwise, in one backward pass unless a reference points forward: every route must give the same
// answer.
t.test('forward references, user names that look generated, and long transactions', async (t) => {
  const tr = counting();
  // The mutate comes first and names the Port inserted after it (ovsdb-server resolves named-uuids over
  // the whole transaction): the Port, and the Interface it references, are kept.
  const fwd = new Transaction('Open_vSwitch');
  fwd.mutate(OVS.Bridge, [['name', '==', 'br0']], [['ports', 'insert', [namedRef('Port', 'later')]]]);
  const i = fwd.insert(OVS.Interface, { name: 'f1' });
  fwd.insert(OVS.Port, { name: 'f1', interfaces: [i] }, { uuidName: 'later' });
  await fwd.execute(tr);
  t.equal(tr.sent, 1, 'kept through a forward reference');

  // A forward chain: Port (op 1) → Interface (op 2, named "row0", which is not operation 0's name).
  const chain = new Transaction('Open_vSwitch');
  chain.mutate(OVS.Bridge, [['name', '==', 'br0']], [['ports', 'insert', [namedRef('Port', 'p')]]]);
  chain.insert(OVS.Port, { name: 'c1', interfaces: [namedRef('Interface', 'row0')] }, { uuidName: 'p' });
  chain.insert(OVS.Interface, { name: 'c1' }, { uuidName: 'row0' });
  await chain.execute(tr);
  t.equal(tr.sent, 2, 'a user name like row<n> is found by its name');

  // 40 operations with user names (the Map route): every Interface is kept but the last one.
  const long = new Transaction('Open_vSwitch');
  const ports = [];
  for (let k = 0; k < 20; k++) {
    const iface = long.insert(OVS.Interface, { name: `l${k}` }, { uuidName: `i${k}` });
    if (k < 19)
      ports.push(long.insert(OVS.Port, { name: `l${k}`, interfaces: [iface] }, { uuidName: `p${k}` }));
  }
  long.mutate(OVS.Bridge, [['name', '==', 'br0']], [['ports', 'insert', ports]]);
  await t.rejects(long.execute(tr), /the Interface row inserted by operation 38 \(uuid-name "i19"\)/);
  t.equal(tr.sent, 2, 'nothing was sent');
});
