import { readFileSync } from 'node:fs';
import t from 'tap';
import { modelFromSchema } from '../../src/database.js';
import { InvalidArgumentError, ProtocolError, ValidationError } from '../../src/errors.js';
import * as OVS from '../../src/models/generated/open-vswitch.js';
import {
  abort,
  assert,
  comment,
  commit,
  decodeResult,
  del,
  insert,
  mutate,
  ops,
  select,
  update,
  wait,
} from '../../src/operations.js';
import { namedRef, uuid } from '../../src/uuid.js';
import { requiredColumns } from '../../src/values.js';

const typed = modelFromSchema(
  readFileSync(new URL('../fixtures/schemas/typed.ovsschema', import.meta.url), 'utf8'),
);
const Atoms = typed.tables.Atoms!;
const Parent = typed.tables.Parent!;
const U1 = uuid('11111111-2222-3333-4444-555555555555');

t.test('insert: row encoded, uuid-name and explicit uuid', async (t) => {
  const iface = namedRef('Interface', 'iface0');
  const op = insert(
    OVS.Port,
    { name: 'p1', interfaces: [iface], tag: 100, trunks: [], external_ids: { tenant: 'a' } },
    { uuidName: 'port0', uuid: U1 },
  );
  t.same(op.wire, {
    op: 'insert',
    table: 'Port',
    row: {
      name: 'p1',
      interfaces: ['named-uuid', 'iface0'],
      tag: 100,
      trunks: ['set', []],
      external_ids: ['map', [['tenant', 'a']]],
    },
    'uuid-name': 'port0',
    uuid: U1,
  });
  t.ok(Object.isFrozen(op.wire), 'operations are immutable values');
  t.throws(() => insert(OVS.Interface, {}, { uuidName: '1bad' }), /uuid-name/);
  t.throws(() => insert(OVS.Interface, {}, { uuid: 'nope' }), /Interface\.uuid: "nope"/);
  t.throws(() => insert({} as typeof OVS.Interface, {}), InvalidArgumentError);
  // s_enum's default "" is not in its enum: ovsdb-server would refuse the row ("constraint violation").
  t.throws(
    () => insert(Atoms, {}),
    /Atoms\.s_enum: undefined is not allowed; expected a value: the column is required/,
  );
  t.same(
    requiredColumns(Atoms.schema).map((c) => c.name),
    ['s_enum', 'ss'],
  );
});

t.test('select: where, columns, all rows', async (t) => {
  t.same(select(OVS.Bridge).wire, { op: 'select', table: 'Bridge', where: [] });
  t.same(select(OVS.Bridge, [['name', '==', 'br0']], ['_uuid', 'ports']).wire, {
    op: 'select',
    table: 'Bridge',
    where: [['name', '==', 'br0']],
    columns: ['_uuid', 'ports'],
  });
  t.throws(() => select(Atoms, [], ['nope']), /Atoms\.nope/);
});

t.test('conditions: every function, typed per column', async (t) => {
  const where = [
    ['i', '<', 1],
    ['i', '<=', 2],
    ['r', '>', 0.5],
    ['oi', '>=', 3],
    ['s', '==', 'x'],
    ['oi', '!=', null],
    ['ss', 'includes', []],
    ['si', 'excludes', [1, 2]],
    ['m_ss', 'includes', { a: 'b' }],
    ['_uuid', '==', U1],
  ] as const;
  t.same(select(Atoms, where).wire.where, [
    ['i', '<', 1],
    ['i', '<=', 2],
    ['r', '>', 0.5],
    ['oi', '>=', 3],
    ['s', '==', 'x'],
    ['oi', '!=', ['set', []]],
    ['ss', 'includes', ['set', []]],
    ['si', 'excludes', ['set', [1, 2]]],
    ['m_ss', 'includes', ['map', [['a', 'b']]]],
    ['_uuid', '==', ['uuid', U1]],
  ]);
  t.throws(() => select(Atoms, [['s', '<', 'x']]), /"<" only on integer or real/);
  t.throws(() => select(Atoms, [['si', '<', 1]]), /"<" only on integer or real/);
  // @ts-expect-error — refused by the types as well as at run time
  t.throws(() => select(Atoms, [['i', '~', 1]]), /a condition function: </);
  // @ts-expect-error — refused by the types as well as at run time
  t.throws(() => select(Atoms, [['i', '==']]), /a condition \[column, function, value\]/);
  t.throws(() => select(Atoms, [['nope', '==', 1]]), /Atoms\.nope: .*a column of Atoms/);
  t.throws(() => select(Atoms, [['ss', '==', []]]), /array of 1 or more/, '== needs a full value');
});

t.test('update refuses immutable columns; delete; mutate with every mutator', async (t) => {
  t.same(update(Atoms, [['i', '==', 1]], { s: 'y', oi: null }).wire, {
    op: 'update',
    table: 'Atoms',
    where: [['i', '==', 1]],
    row: { s: 'y', oi: ['set', []] },
  });
  t.throws(() => update(Atoms, [], { fixed: 'z' }), /Atoms\.fixed: .*immutable/);
  t.same(del(Atoms, [['i', '==', 1]]).wire, { op: 'delete', table: 'Atoms', where: [['i', '==', 1]] });
  t.equal(ops.delete, del);
  const op = mutate(
    Atoms,
    [],
    [
      ['i', '+=', 1],
      ['i', '-=', 2],
      ['r', '*=', 1.5],
      ['r', '/=', 2],
      ['i', '%=', 3],
      ['si', '+=', 1],
      ['si', 'insert', [7, 8]],
      ['ss', 'delete', ['a']],
      ['m_ss', 'insert', { k: 'v' }],
      ['m_ss', 'delete', { k: 'v' }],
      ['m_ss', 'delete', ['k', 'l']],
      ['i_bounded', '+=', 10_000],
      ['os', 'insert', 'x'],
      ['oi', 'delete', 3],
    ],
  );
  t.same(op.wire.mutations, [
    ['i', '+=', 1],
    ['i', '-=', 2],
    ['r', '*=', 1.5],
    ['r', '/=', 2],
    ['i', '%=', 3],
    ['si', '+=', 1],
    ['si', 'insert', ['set', [7, 8]]],
    ['ss', 'delete', 'a'],
    ['m_ss', 'insert', ['map', [['k', 'v']]]],
    ['m_ss', 'delete', ['map', [['k', 'v']]]],
    ['m_ss', 'delete', ['set', ['k', 'l']]],
    ['i_bounded', '+=', 10_000],
    ['os', 'insert', 'x'],
    ['oi', 'delete', 3],
  ]);
  t.throws(() => mutate(Atoms, [], [['r', '%=', 2]]), /"%=" on integer/);
  t.throws(() => mutate(Atoms, [], [['s', '+=', 'x']]), /on integer or real columns/);
  t.throws(() => mutate(Atoms, [], [['i', 'insert', [1]]]), /on sets, optional values and maps only/);
  t.throws(() => mutate(Atoms, [], [['fixed', 'insert', ['x']]]), /immutable/);
  // @ts-expect-error — refused by the types as well as at run time
  t.throws(() => mutate(Atoms, [], [['i', '^=', 1]]), /a mutator/);
  t.throws(() => mutate(Atoms, [], [['i', '+=', 1.5]]), ValidationError);
});

t.test('wait, commit, abort, comment, assert', async (t) => {
  t.same(
    wait(Parent, {
      where: [['name', '==', 'a']],
      columns: ['name'],
      until: '==',
      rows: [{ name: 'a' }],
      timeout: 0,
    }).wire,
    {
      op: 'wait',
      table: 'Parent',
      where: [['name', '==', 'a']],
      columns: ['name'],
      until: '==',
      rows: [{ name: 'a' }],
      timeout: 0,
    },
  );
  t.throws(
    // @ts-expect-error — refused by the types as well as at run time
    () => wait(Parent, { columns: ['name'], until: '==', rows: [{ children: [] }] }),
    /waited-on columns/,
  );
  t.throws(() => wait(Parent, { columns: ['name'], until: '<' as '==', rows: [] }), /"==" or "!="/);
  t.throws(() => wait(Parent, { columns: ['name'], until: '==', rows: [], timeout: -1 }), /non-negative/);
  t.same(commit(true).wire, { op: 'commit', durable: true });
  t.same(commit().wire, { op: 'commit', durable: false });
  t.same(abort().wire, { op: 'abort' });
  t.same(comment('hi').wire, { op: 'comment', comment: 'hi' });
  t.same(assert('my_lock').wire, { op: 'assert', lock: 'my_lock' });
  t.throws(() => assert('bad lock'), InvalidArgumentError);
});

t.test('decodeResult per operation kind', async (t) => {
  t.equal(decodeResult(insert(Atoms, { s_enum: 'red', ss: 'x' }), { uuid: ['uuid', U1] }), U1);
  t.same(decodeResult(select(Atoms, [], ['i', 'si']), { rows: [{ i: 1, si: 2 }] }), [{ i: 1, si: [2] }]);
  const full = decodeResult(select(Atoms), { rows: [{ _uuid: ['uuid', U1], i: 1 }] }) as Record<
    string,
    unknown
  >[];
  t.equal(full[0]!._uuid, U1);
  t.same(full[0]!.ss, [''], 'defaults filled in for a full select');
  t.equal(decodeResult(update(Atoms, [], {}), { count: 3 }), 3);
  t.equal(decodeResult(commit(), {}), undefined);
  t.throws(() => decodeResult(insert(Atoms, { s_enum: 'red', ss: 'x' }), {}), ProtocolError);
  t.throws(() => decodeResult(select(Atoms), { count: 1 }), ProtocolError);
  t.throws(() => decodeResult(del(Atoms, []), { rows: [] }), ProtocolError);
});
