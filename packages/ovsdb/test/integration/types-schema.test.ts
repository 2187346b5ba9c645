// Every column type of the test schema (test/fixtures/schemas/typed.ovsschema) written to a real
// ovsdb-server through the typed model, read back and compared; strong and weak references, and garbage
// collection of the non-root table.
import { fileURLToPath } from 'node:url';
import { startOvsdbServer } from '@ovs-container-network/testkit';
import t, { type Test } from 'tap';
import { connect, type OvsdbClient } from '../../src/client.js';
import { database } from '../../src/database.js';
import { ReferentialIntegrityViolation } from '../../src/errors.js';
import { randomRowUuid } from '../../src/uuid.js';
import * as Typed from '../fixtures/typed-model.js';

const schema = fileURLToPath(new URL('../fixtures/schemas/typed.ovsschema', import.meta.url));

async function setup(t: Test) {
  const server = await startOvsdbServer({ schema });
  t.teardown(() => server.stop());
  const client: OvsdbClient = await connect(server.unixEndpoint);
  t.teardown(() => client.close());
  return database(client, Typed.model);
}

/** Order-insensitive form for comparison: ovsdb-server keeps sets and maps sorted, not in our order. */
function norm(v: unknown): unknown {
  const key = (x: unknown) => JSON.stringify(norm(x));
  if (Array.isArray(v)) return [...v].map(norm).sort((a, b) => (key(a) < key(b) ? -1 : 1));
  if (v instanceof Map) return norm([...v.entries()]);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  return v;
}

const u1 = randomRowUuid();
const u2 = randomRowUuid();

const samples: Typed.AtomsInsert[] = [
  {
    i: 42,
    r: 1.0,
    b: true,
    s: 'héllo ✓ 𝄞 "quoted" \\ back\nslash',
    u: u1,
    i_bounded: -5,
    r_bounded: 2.5,
    s_len: '𝄞𝄞𝄞𝄞𝄞',
    s_enum: 'blue',
    i_enum: 2,
    r_enum: 1.5,
    b_true: true,
    oi: 0,
    or: -0.25,
    ob: false,
    os: '',
    ou: u2,
    si: [3, 1, 2],
    sr: [0.5, 1, 2.75],
    sb: [true, false],
    ss: ['b', 'a'],
    su: [u1, u2],
    s_bounded: [1, 9],
    m_ss: { a: '1', 'key with space': 'v', __proto__x: 'p' },
    m_is: new Map([
      [1, 'one'],
      [-2, 'neg'],
    ]),
    m_si: { x: 0, y: 100 },
    m_rb: new Map([
      [0.5, true],
      [1, false],
    ]),
    m_bu: new Map([[true, u1]]),
    m_ur: { [u1]: 1.5 },
    m_enum: { a: 1, c: -3 },
    fixed: 'f',
    eph: 7,
  },
  {
    i: Number.MAX_SAFE_INTEGER,
    r: 1e300,
    s_enum: 'red',
    i_bounded: 4094,
    s_len: null,
    i_enum: null,
    oi: null,
    or: null,
    ob: null,
    os: null,
    ou: null,
    si: [5],
    sr: [1],
    sb: [true],
    ss: ['only'],
    su: [u1],
    m_ss: {},
    m_is: new Map(),
  },
  {
    i: -Number.MAX_SAFE_INTEGER,
    r: -0.5,
    s_enum: 'green',
    ss: [''],
    si: [],
    su: [],
    s_len: 'ab',
    m_enum: {},
  },
];

t.test('every column shape is written, read back and equal', async (t) => {
  const db = await setup(t);
  for (const [n, sample] of samples.entries()) {
    const id = await db.transact((t) => t.insert(Typed.Atoms, sample));
    const [row] = await db.select(Typed.Atoms, [['_uuid', '==', id]]);
    t.ok(row, `sample ${n} found`);
    if (!row) continue;
    t.equal(row._uuid, id);
    for (const [column, written] of Object.entries(sample)) {
      const read = (row as unknown as Record<string, unknown>)[column];
      t.same(norm(read), norm(written), `sample ${n}: ${column}`);
    }
    t.equal(typeof row.r, 'number');
    t.ok(row.m_is instanceof Map, 'integer-keyed maps read back as Map');
  }
  // Columns never written hold their defaults.
  const [third] = await db.select(Typed.Atoms, [['s_enum', '==', 'green']]);
  t.equal(third?.b, false);
  t.equal(third?.os, null);
  t.same(third?.ss, ['']);
  t.same(third?.m_ss, {});
  // Conditions by the column types.
  const big = await db.select(Typed.Atoms, [['i', '>', 2 ** 52]]);
  t.same(
    big.map((r) => r.i),
    [Number.MAX_SAFE_INTEGER],
  );
  const inc = await db.select(Typed.Atoms, [['si', 'includes', [1, 3]]]);
  t.equal(inc.length, 1);
  const mapInc = await db.select(Typed.Atoms, [['m_si', 'includes', { y: 100 }]]);
  t.equal(mapInc.length, 1);
  const optNull = await db.select(Typed.Atoms, [['oi', '==', null]]);
  t.equal(optNull.length, 2);
});

t.test('strong and weak references; the non-root table is garbage-collected', async (t) => {
  const db = await setup(t);
  const ids = await db.transact((t) => {
    const c1 = t.insert(Typed.Child, { name: 'c1', value: 1 });
    const c2 = t.insert(Typed.Child, { name: 'c2', value: 2 });
    const target = t.insert(Typed.Target, { name: 'strong' });
    const weak = t.insert(Typed.Target, { name: 'weak' });
    const parent = t.insert(Typed.Parent, {
      name: 'p',
      children: [c1],
      child_map: { second: c2 },
      target,
      weak_targets: [weak],
    });
    return { c1, c2, target, weak, parent };
  });
  // A child nobody references would be collected at commit: refused before sending.
  await t.rejects(
    db.transact((t) => t.insert(Typed.Child, { name: 'orphan', value: 3 })),
    /the Child row inserted by operation 0 .* would be garbage-collected/,
  );
  const [p] = await db.select(Typed.Parent, [['_uuid', '==', ids.parent]]);
  t.same(p?.children, [ids.c1]);
  t.same(p?.child_map, { second: ids.c2 });
  t.equal(p?.target, ids.target);
  t.same(p?.weak_targets, [ids.weak]);
  const childNames = async () => (await db.select(Typed.Child)).map((c) => c.name).sort();
  t.same(await childNames(), ['c1', 'c2'], 'no orphan');

  // Dropping the last strong reference collects the child.
  await db.transact((t) =>
    t.mutate(Typed.Parent, [['_uuid', '==', ids.parent]], [['children', 'delete', [ids.c1]]]),
  );
  t.same(await childNames(), ['c2']);
  await db.transact((t) =>
    t.mutate(Typed.Parent, [['name', '==', 'p']], [['child_map', 'delete', ['second']]]),
  );
  t.same(await childNames(), []);

  // A weak reference to a deleted row vanishes.
  const n = await db.transact((t) => t.delete(Typed.Target, [['_uuid', '==', ids.weak]]));
  t.equal(n, 1);
  const [p2] = await db.select(Typed.Parent, [['name', '==', 'p']]);
  t.same(p2?.weak_targets, []);

  // Deleting a strongly referenced row breaks referential integrity: the commit fails, nothing changes.
  await t.rejects(
    db.transact((t) => t.delete(Typed.Target, [['_uuid', '==', ids.target]])),
    ReferentialIntegrityViolation,
  );
  t.equal((await db.select(Typed.Target, [['name', '==', 'strong']])).length, 1);
});
