// Regressions (issue 13 items 2 and 7), found by writing programs against the library as a new user would:
// - a column with no valid default (an integer range without 0, a set with min 1, an enum without "", a
//   reference with min 1) was optional in `Insert` and failed only at run time;
// - a table of another database compiled into a transaction;
// - `db.select` took no column list, unlike `t.select`;
// - a bare atom for a set column was refused, though RFC 7047 §5.1 allows it;
// - a plain object was refused for an integer-keyed map;
// - `excludes` with more elements than the column's max was refused (ovsdb-server lifts max for excludes;
//   for includes it keeps it: "set must have 0 to 3 members", checked against ovsdb-server 3.1).
// The `@ts-expect-error` lines are checked by `pnpm run typecheck` (an unused one is itself an error).
import t from 'tap';
import { database } from '../../src/database.js';
import { ValidationError } from '../../src/errors.js';
import * as OVS from '../../src/models/generated/open-vswitch.js';
import * as NB from '../../src/models/generated/ovn-northbound.js';
import * as SB from '../../src/models/generated/ovn-southbound.js';
import { insert, mutate, select } from '../../src/operations.js';
import { Transaction } from '../../src/transaction.js';
import { uuid } from '../../src/uuid.js';
import * as Typed from '../fixtures/typed-model.js';

const U = uuid<'Interface'>('11111111-2222-3333-4444-555555555555');

t.test('columns without a valid default are required in Insert (types and run time alike)', async (t) => {
  // @ts-expect-error — Port.interfaces is a set with min 1
  t.throws(() => insert(OVS.Port, { name: 'p' }), { column: 'interfaces', message: /required/ });
  // @ts-expect-error — ACL.direction and ACL.action are enums without ""
  t.throws(() => insert(NB.ACL, { priority: 1, match: 'ip4' }), { column: 'action' });
  // @ts-expect-error — Port_Binding.datapath is a reference (min 1): the zero uuid names no row
  t.throws(() => insert(SB.Port_Binding, { logical_port: 'x', tunnel_key: 1 }), { column: 'datapath' });
  const dp = uuid<'Datapath_Binding'>('11111111-2222-3333-4444-555555555555');
  // @ts-expect-error — Port_Binding.tunnel_key is an integer in [1, 32767]: its default 0 is outside
  t.throws(() => insert(SB.Port_Binding, { logical_port: 'x', datapath: dp }), {
    column: 'tunnel_key',
  } as object);
  // @ts-expect-error — Atoms.ss is a set with min 1; Atoms.s_enum is an enum without ""
  t.throws(() => insert(Typed.Atoms, { s_enum: 'red' }), { column: 'ss' });
  t.ok(insert(OVS.Port, { name: 'p', interfaces: [U] }));
  t.ok(insert(OVS.Interface, {}), 'columns whose default is valid stay optional');
});

t.test('a table of another database does not compile into a transaction', async (t) => {
  const nb = new Transaction('OVN_Northbound');
  // @ts-expect-error — OVS.Bridge belongs to Open_vSwitch
  t.throws(() => nb.insert(OVS.Bridge, { name: 'b' }), /belongs to database Open_vSwitch/);
  // @ts-expect-error — and for every builder
  t.throws(() => nb.delete(OVS.Bridge, []), /belongs to database Open_vSwitch/);
  const db = database({ transact: async () => [{ rows: [] }] }, NB.model);
  await db.transact((tx) => {
    // @ts-expect-error — a transaction of db (OVN_Northbound) takes NB tables only
    t.throws(() => tx.select(OVS.Bridge), /belongs to database Open_vSwitch/);
    tx.select(NB.Logical_Switch);
  });
  // @ts-expect-error — db.select too
  await t.rejects(db.select(OVS.Bridge), /belongs to database Open_vSwitch/);
  const any = new Transaction('Open_vSwitch' as string);
  t.ok(any.select(OVS.Bridge), 'a transaction on a database named at run time takes any table');
});

t.test('db.select takes a column list like t.select', async (t) => {
  const sent: unknown[] = [];
  const db = database(
    {
      transact: async (_db: string, ops: readonly unknown[]) => {
        sent.push(...ops);
        return [{ rows: [{ name: 'br0', _uuid: ['uuid', U] }] }];
      },
    },
    OVS.model,
  );
  const rows = await db.select(OVS.Bridge, [['name', '==', 'br0']], ['name', '_uuid']);
  t.same(sent, [
    { op: 'select', table: 'Bridge', where: [['name', '==', 'br0']], columns: ['name', '_uuid'] },
  ]);
  t.same(rows, [{ name: 'br0', _uuid: U }]);
  const name: string = rows[0]!.name;
  // @ts-expect-error — only the selected columns are in the row type
  t.equal(rows[0]!.ports, undefined, name);
  await db.select(OVS.Bridge, [], { timeoutMs: 1000 });
  t.same(sent[1], { op: 'select', table: 'Bridge', where: [] }, 'options still go third');
});

t.test('a bare atom is accepted for a set column (RFC 7047 §5.1)', async (t) => {
  t.same(insert(OVS.Port, { name: 'p', interfaces: U }).wire.row, { name: 'p', interfaces: ['uuid', U] });
  t.same(insert(Typed.Atoms, { s_enum: 'red', ss: 'one', si: 5 }).wire.row, {
    s_enum: 'red',
    ss: 'one',
    si: 5,
  });
  t.same(mutate(OVS.Bridge, [], [['ports', 'delete', uuid<'Port'>(U)]]).wire.mutations, [
    ['ports', 'delete', ['uuid', U]],
  ]);
  t.same(mutate(OVS.Bridge, [], [['external_ids', 'delete', 'k']]).wire.mutations, [
    ['external_ids', 'delete', 'k'],
  ]);
  t.same(select(OVS.Port, [['trunks', 'includes', 10]]).wire.where, [['trunks', 'includes', 10]]);
  t.throws(() => insert(Typed.Atoms, { s_enum: 'red', ss: 7 as never }), ValidationError, 'still typed');
  t.throws(() => insert(Typed.Atoms, { s_enum: 'red', ss: { a: 1 } as never }), ValidationError);
});

t.test('a plain object is accepted for integer-, real- and boolean-keyed maps', async (t) => {
  const row = insert(Typed.Atoms, {
    s_enum: 'red',
    ss: 'x',
    m_is: { 7: 'seven', [-2]: 'neg' },
    m_rb: { 0.5: true, 1e21: false },
    m_bu: { true: U },
  }).wire.row as Record<string, unknown>;
  t.same(row.m_is, [
    'map',
    [
      [7, 'seven'],
      [-2, 'neg'],
    ],
  ]);
  t.same(row.m_rb, [
    'map',
    [
      [0.5, true],
      [1e21, false],
    ],
  ]);
  t.same(row.m_bu, ['map', [[true, ['uuid', U]]]]);
  t.same((insert(OVS.AutoAttach, { mappings: { 100: 10 } }).wire.row as Record<string, unknown>).mappings, [
    'map',
    [[100, 10]],
  ]);
  for (const [m, key] of [
    [{ m_is: { '07': 'x' } }, '07'],
    [{ m_is: { '1.5': 'x' } }, '1.5'],
    [{ m_is: { abc: 'x' } }, 'abc'],
    [{ m_rb: { '0.50': true } }, '0.50'],
    [{ m_bu: { yes: U } }, 'yes'],
  ] as const) {
    t.throws(() => insert(Typed.Atoms, { s_enum: 'red', ss: 'x', ...(m as object) }), {
      name: 'ValidationError',
      message: new RegExp(`key "${key.replace('.', '\\.')}"`),
    });
  }
  // @ts-expect-error — a boolean-keyed map has only the keys true and false
  t.throws(() => insert(Typed.Atoms, { s_enum: 'red', ss: 'x', m_bu: { maybe: U } }), ValidationError);
});

t.test('excludes lifts the column max, includes does not (as ovsdb-server does)', async (t) => {
  // Atoms.sr is a set of 0..3 reals.
  t.same(select(Typed.Atoms, [['sr', 'excludes', [1, 2, 3, 4]]]).wire.where, [
    ['sr', 'excludes', ['set', [1, 2, 3, 4]]],
  ]);
  t.throws(() => select(Typed.Atoms, [['sr', 'includes', [1, 2, 3, 4]]]), /array of 0\.\.3/);
  t.throws(
    () => select(Typed.Atoms, [['sr', 'excludes', [1, 'x' as never]]]),
    ValidationError,
    'element types still checked',
  );
  // An optional column's argument is a set of 0..1 (includes) or any size (excludes).
  t.same(select(Typed.Atoms, [['oi', 'excludes', [1, 2]]]).wire.where, [['oi', 'excludes', ['set', [1, 2]]]]);
  t.same(select(Typed.Atoms, [['oi', 'includes', []]]).wire.where, [['oi', 'includes', ['set', []]]]);
  t.throws(() => select(Typed.Atoms, [['oi', 'includes', [1, 2]]]), ValidationError);
  t.throws(() => select(Typed.Atoms, [['oi', '==', [1, 2] as never]]), ValidationError);
  // A map: excludes with more pairs than max (m_bu: 0..2).
  t.ok(
    select(Typed.Atoms, [
      [
        'm_bu',
        'excludes',
        new Map([
          [true, U],
          [false, U],
        ]),
      ],
    ]),
  );
});
