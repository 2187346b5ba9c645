// Type test: the generated models make a wrong column or a wrong value type a compile error. The
// `@ts-expect-error` lines are checked by `pnpm run typecheck` (an unused one is itself an error); the
// runtime assertions check that the same mistakes, when forced past the compiler, are ValidationErrors.
import t from 'tap';
import { database, type Row, type RowOf } from '../../src/database.js';
import { ValidationError } from '../../src/errors.js';
import * as OVS from '../../src/models/generated/open-vswitch.js';
import { insert, mutate, select, update } from '../../src/operations.js';
import { Transaction } from '../../src/transaction.js';
import { type Uuid, uuid } from '../../src/uuid.js';
import * as Typed from '../fixtures/typed-model.js';

const U = uuid<'Interface'>('11111111-2222-3333-4444-555555555555');

t.test('typed models accept correct rows and reject wrong columns and value types', async (t) => {
  const txn = new Transaction('Open_vSwitch');
  const iface = txn.insert(OVS.Interface, { name: 'p1', type: 'internal' });
  const port = txn.insert(OVS.Port, {
    name: 'p1',
    interfaces: [iface, U],
    tag: 100,
    vlan_mode: 'access',
    trunks: [1, 2],
    external_ids: { tenant: 'a' },
  });
  txn.mutate(OVS.Bridge, [['name', '==', 'br0']], [['ports', 'insert', [port]]]);
  txn.update(OVS.Port, [['_uuid', '==', port]], { tag: null, other_config: { a: 'b' } });
  txn.mutate(OVS.Port, [['tag', '>=', 1]], [['tag', '+=', 1]]);
  txn.mutate(OVS.Bridge, [], [['external_ids', 'delete', ['k1', 'k2']]]);

  // @ts-expect-error — Port has no column "vlan"
  t.throws(() => insert(OVS.Port, { name: 'p2', vlan: 100 }), ValidationError);
  // @ts-expect-error — tag is an integer, not a string
  t.throws(() => insert(OVS.Port, { name: 'p2', tag: '100' }), ValidationError);
  // @ts-expect-error — vlan_mode is an enum
  t.throws(() => insert(OVS.Port, { name: 'p2', vlan_mode: 'tagged' }), ValidationError);
  // @ts-expect-error — external_ids values are strings
  t.throws(() => insert(OVS.Port, { external_ids: { n: 1 } }), ValidationError);
  // @ts-expect-error — a Port reference where Interface references go
  t.throws(() => insert(OVS.Port, { name: 'p3', interfaces: [port] }), ValidationError);
  // RFC 7047 §5.1: a one-element set may be given as the bare atom
  t.same(insert(OVS.Port, { name: 'p3', interfaces: iface }).wire.row, {
    name: 'p3',
    interfaces: ['named-uuid', iface.name],
  });
  // @ts-expect-error — interfaces is a set of references, not a map
  t.throws(() => insert(OVS.Port, { name: 'p3', interfaces: { a: iface } }), ValidationError);
  // @ts-expect-error — name is immutable: update may not change it
  t.throws(() => update(OVS.Port, [], { name: 'x' }), ValidationError);
  // @ts-expect-error — "<" is for integer and real columns only
  t.throws(() => select(OVS.Port, [['name', '<', 'x']]), ValidationError);
  // @ts-expect-error — the condition value must fit the column
  t.throws(() => select(OVS.Port, [['tag', '==', 'x']]), ValidationError);
  // @ts-expect-error — arithmetic on a string column
  t.throws(() => mutate(OVS.Port, [], [['mac', '+=', 1]]), ValidationError);
  // @ts-expect-error — an integer enum keeps its literal type (Typed.Atoms.i_enum is 1 | 2 | 3)
  t.throws(() => insert(Typed.Atoms, { s_enum: 'red', i_enum: 4 }), ValidationError);
  t.ok(insert(Typed.Atoms, { s_enum: 'red', ss: 'x', i_enum: 3, i: 5n }), 'bigint for integers');
  t.equal(txn.operations.length, 6);
});

t.test('decoded rows are typed', async (t) => {
  type P = RowOf<typeof OVS.Port>;
  const same: Row<OVS.PortColumns, 'Port'> extends P ? true : false = true;
  t.ok(same);
  const row = {} as OVS.Port;
  const tag: number | null = row.tag;
  const ifaces: Uuid<'Interface'>[] = row.interfaces;
  const ids: Record<string, string> = row.external_ids;
  const mode: OVS.PortVlanMode | null = row.vlan_mode;
  const id: Uuid<'Port'> = row._uuid;
  // @ts-expect-error — a Port's interfaces are Interface uuids, not Bridge uuids
  const wrong: Uuid<'Bridge'>[] = row.interfaces;
  t.same(
    [tag, ifaces, ids, mode, id, wrong],
    [undefined, undefined, undefined, undefined, undefined, undefined],
  );
});

t.test('transact results are typed per handle (tuples and objects)', async (t) => {
  const U = '11111111-2222-3333-4444-555555555555';
  const db = database(
    { transact: async () => [{ uuid: ['uuid', U] }, { rows: [] }, { count: 2 }] },
    OVS.model,
  );
  const [iface, bridges, n] = await db.transact((t) => [
    t.insert(OVS.Open_vSwitch, {}), // a root table: an unreferenced Interface would be refused
    t.select(OVS.Bridge, [], ['name', '_uuid']),
    t.update(OVS.Port, [], { tag: 1 }),
  ]);
  const i: Uuid<'Open_vSwitch'> = iface;
  const names: string[] = bridges.map((b) => b.name);
  const count: number = n;
  // @ts-expect-error — only the selected columns are in the rows
  t.equal(bridges[0]?.ports, undefined);
  t.same([i, names, count], [U, [], 2]);
});
