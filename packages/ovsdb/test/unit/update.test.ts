// The replica's update-application engine (src/replica/store.ts, datum.ts) against hand-written
// notifications in the exact shapes ovsdb-server sends: update (RFC 7047 §4.1.6), update2/update3
// (ovsdb-server(7)): initial/insert rows with columns omitted at their default, modify carrying toggled set
// elements and changed map keys for max > 1 columns and new values for the others, delete.
import t from 'tap';
import { columnCodec, toggleSet, valueEquals, ZERO_UUID } from '../../src/replica/datum.js';
import { type RowChange, RowStore, TableStore } from '../../src/replica/store.js';
import { parseSchema } from '../../src/schema.js';

const schema = parseSchema({
  name: 'T',
  version: '1.0.0',
  tables: {
    A: {
      columns: {
        i: { type: 'integer' },
        r: { type: 'real' },
        b: { type: 'boolean' },
        s: { type: 'string' },
        u: { type: 'uuid' },
        oi: { type: { key: 'integer', min: 0, max: 1 } },
        ou: { type: { key: { type: 'uuid', refTable: 'B' }, min: 0, max: 1 } },
        ss: { type: { key: 'string', min: 0, max: 'unlimited' } },
        s1: { type: { key: 'integer', min: 1, max: 3 } },
        su: { type: { key: { type: 'uuid', refTable: 'B' }, min: 0, max: 'unlimited' } },
        m: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        mi: { type: { key: 'integer', value: { type: 'uuid', refTable: 'B' }, min: 0, max: 'unlimited' } },
        m1: { type: { key: 'string', value: 'integer', min: 0, max: 1 } },
      },
    },
    B: {
      columns: {
        name: { type: 'string' },
        ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
    },
  },
});
const A = schema.tables.get('A')!;
const B = schema.tables.get('B')!;
const U1 = '11111111-1111-1111-1111-111111111111';
const U2 = '22222222-2222-2222-2222-222222222222';
const U3 = '33333333-3333-3333-3333-333333333333';

function store(cols?: string[]) {
  const s = new RowStore();
  s.addTable(new TableStore(A, cols));
  s.addTable(new TableStore(B, undefined));
  return s;
}
const rowA = (s: RowStore, uuid: string) => s.tables.get('A')!.rows.get(uuid) as Record<string, unknown>;

t.test('initial omits default columns: every kind gets its default', async (t) => {
  const s = store();
  const out: RowChange[] = [];
  s.applyUpdate2({ A: { [U1]: { initial: {} } } }, out);
  t.same(rowA(s, U1), {
    _uuid: U1,
    i: 0,
    r: 0,
    b: false,
    s: '',
    u: ZERO_UUID,
    oi: null,
    ou: null,
    ss: [],
    s1: [0],
    su: [],
    m: {},
    mi: new Map(),
    m1: {},
  });
  t.equal(out.length, 1);
  t.equal(out[0]?.type, 'insert');
  t.equal(out[0]?.old, undefined);
});

t.test('initial decodes every kind from wire notation', async (t) => {
  const s = store();
  s.applyUpdate2(
    {
      A: {
        [U1]: {
          insert: {
            i: 5,
            r: 1,
            b: true,
            s: 'x',
            u: ['uuid', U2],
            oi: 7,
            ou: ['uuid', U3],
            ss: ['set', ['a', 'b']],
            s1: 3,
            su: ['uuid', U2],
            m: ['map', [['k', 'v']]],
            mi: ['map', [[1, ['uuid', U2]]]],
            m1: ['map', [['one', 1]]],
          },
        },
      },
    },
    [],
  );
  const r = rowA(s, U1);
  t.same(r, {
    _uuid: U1,
    i: 5,
    r: 1,
    b: true,
    s: 'x',
    u: U2,
    oi: 7,
    ou: U3,
    ss: ['a', 'b'],
    s1: [3],
    su: [U2],
    m: { k: 'v' },
    mi: new Map([[1, U2]]),
    m1: { one: 1 },
  });
});

t.test('modify: scalars and optionals carry new values, sets toggle, maps add/remove/replace', async (t) => {
  const s = store();
  s.applyUpdate2(
    {
      A: {
        [U1]: {
          initial: {
            i: 1,
            oi: 4,
            ss: ['set', ['a', 'b']],
            su: ['set', [['uuid', U2]]],
            m: [
              'map',
              [
                ['keep', '1'],
                ['drop', '2'],
                ['change', '3'],
              ],
            ],
            mi: [
              'map',
              [
                [1, ['uuid', U2]],
                [2, ['uuid', U3]],
              ],
            ],
            m1: ['map', [['x', 1]]],
          },
        },
      },
    },
    [],
  );
  const before = rowA(s, U1);
  const out: RowChange[] = [];
  s.applyUpdate2(
    {
      A: {
        [U1]: {
          modify: {
            i: 2,
            oi: ['set', []],
            ss: ['set', ['a', 'c']],
            su: ['uuid', U3],
            m: [
              'map',
              [
                ['drop', '2'],
                ['change', '33'],
                ['new', '4'],
              ],
            ],
            mi: [
              'map',
              [
                [1, ['uuid', U2]],
                [2, ['uuid', U2]],
                [3, ['uuid', U3]],
              ],
            ],
            m1: ['map', [['y', 2]]],
          },
        },
      },
    },
    out,
  );
  const r = rowA(s, U1);
  t.equal(r.i, 2);
  t.equal(r.oi, null, 'optional emptied by ["set",[]]');
  t.same([...(r.ss as string[])].sort(), ['b', 'c'], 'a toggled off, c toggled on');
  t.same([...(r.su as string[])].sort(), [U2, U3].sort(), 'a bare uuid atom is a one-element diff');
  t.same(r.m, { keep: '1', change: '33', new: '4' });
  t.same(
    r.mi,
    new Map([
      [2, U2],
      [3, U3],
    ]),
  );
  t.same(r.m1, { y: 2 }, 'a max-1 map carries its new value, not a difference');
  t.equal(out.length, 1);
  const ev = out[0]!;
  t.equal(ev.type, 'modify');
  t.equal(ev.old, before, 'the event carries the old row object');
  t.equal(ev.new, r);
  t.equal(before.i, 1, 'the old row is not mutated');
  t.same([...(before.ss as string[])].sort(), ['a', 'b']);
  t.same(before.m, { keep: '1', drop: '2', change: '3' });
  t.equal(r.s, '', 'columns not in the modify keep their value');
});

t.test('optional set back from null to a value; set min 1 diff', async (t) => {
  const s = store();
  s.applyUpdate2({ A: { [U1]: { initial: { s1: ['set', [1, 2]] } } } }, []);
  s.applyUpdate2({ A: { [U1]: { modify: { oi: 9, s1: ['set', [1, 3]] } } } }, []);
  t.equal(rowA(s, U1).oi, 9);
  t.same([...(rowA(s, U1).s1 as number[])].sort(), [2, 3]);
});

t.test('delete removes the row and emits the old row', async (t) => {
  const s = store();
  s.applyUpdate2({ A: { [U1]: { initial: { i: 3 } }, [U2]: { initial: {} } } }, []);
  const old = rowA(s, U1);
  const out: RowChange[] = [];
  s.applyUpdate2({ A: { [U1]: { delete: null } } }, out);
  t.equal(rowA(s, U1), undefined);
  t.ok(rowA(s, U2));
  t.same(out, [{ table: 'A', type: 'delete', uuid: U1, old, new: undefined }]);
});

t.test('only the monitored columns are held; unknown tables and columns are ignored', async (t) => {
  const s = store(['i', 'm']);
  s.applyUpdate2({ A: { [U1]: { initial: { i: 1, s: 'zz' } } }, Z: { [U2]: { initial: {} } } }, []);
  t.same(rowA(s, U1), { _uuid: U1, i: 1, m: {} });
  s.applyUpdate2({ A: { [U1]: { modify: { _version: ['uuid', U3], i: 2 } } } }, []);
  t.same(rowA(s, U1), { _uuid: U1, i: 2, m: {} });
});

t.test('anomalies: modify/delete of an unknown row are counted, not applied', async (t) => {
  const s = store();
  const out: RowChange[] = [];
  s.applyUpdate2({ A: { [U1]: { modify: { i: 1 } }, [U2]: { delete: null } } }, out);
  t.equal(out.length, 0);
  t.equal(s.stats.anomalies, 2);
  t.throws(() => s.applyUpdate2({ A: { [U1]: { bogus: {} } } }, out), { code: 'OVSDB_ERR_PROTOCOL' });
  t.throws(() => s.applyUpdate2({ A: 5 }, out), { code: 'OVSDB_ERR_PROTOCOL' });
});

t.test('update (RFC 7047): new carries every column; old without new deletes', async (t) => {
  const s = store(['i', 'ss', 'm']);
  const out: RowChange[] = [];
  s.applyUpdate1({ A: { [U1]: { new: { i: 1, ss: ['set', []], m: ['map', [['a', 'b']]] } } } }, out);
  t.same(rowA(s, U1), { _uuid: U1, i: 1, ss: [], m: { a: 'b' } });
  s.applyUpdate1({ A: { [U1]: { old: { i: 1 }, new: { i: 2, ss: 'x', m: ['map', []] } } } }, out);
  t.same(rowA(s, U1), { _uuid: U1, i: 2, ss: ['x'], m: {} });
  s.applyUpdate1({ A: { [U1]: { old: { i: 2, ss: 'x', m: ['map', []] } } } }, out);
  t.equal(rowA(s, U1), undefined);
  t.same(
    out.map((e) => e.type),
    ['insert', 'modify', 'delete'],
  );
  t.equal(out[1]?.old?.i, 1);
});

t.test('replaceAll: a reload emits exactly the differences and keeps equal rows', async (t) => {
  const s = store(['i', 'ss', 'm']);
  s.applyUpdate2(
    {
      A: {
        [U1]: { initial: { i: 1, ss: ['set', ['a', 'b']], m: ['map', [['k', 'v']]] } },
        [U2]: { initial: { i: 2 } },
        [U3]: { initial: { i: 3 } },
      },
    },
    [],
  );
  const keep = rowA(s, U1);
  const out: RowChange[] = [];
  const U4 = '44444444-4444-4444-4444-444444444444';
  s.replaceAll(
    {
      A: {
        [U1]: { initial: { i: 1, ss: ['set', ['b', 'a']], m: ['map', [['k', 'v']]] } },
        [U2]: { initial: { i: 20 } },
        [U4]: { initial: { i: 4 } },
      },
    },
    2,
    out,
  );
  t.equal(rowA(s, U1), keep, 'an unchanged row keeps its identity (set order does not matter)');
  t.same(
    out.map((e) => [e.type, e.uuid]).sort(),
    [
      ['delete', U3],
      ['insert', U4],
      ['modify', U2],
    ].sort(),
  );
  t.equal(rowA(s, U2).i, 20);
  const out1: RowChange[] = [];
  s.replaceAll({ A: { [U4]: { new: { i: 4, ss: ['set', []], m: ['map', []] } } } }, 1, out1);
  t.equal(s.tables.get('A')!.rows.size, 1);
  t.equal(out1.length, 2, 'two deletes, U4 unchanged');
  const out2: RowChange[] = [];
  s.replaceAll(null, 2, out2);
  t.ok(s.empty);
  t.equal(out2.length, 1);
});

t.test(
  'indexes: unique lookups, renames (also swapped in one transaction), non-unique keys, map keys',
  async (t) => {
    const s = store();
    const b = s.tables.get('B')!;
    const byName = b.addIndex('byName', (r) => r.name);
    const byTenant = b.addIndex('byTenant', (r) => (r.ids as Record<string, string>).tenant);
    s.applyUpdate2(
      {
        B: {
          [U1]: { initial: { name: 'x', ids: ['map', [['tenant', 't1']]] } },
          [U2]: { initial: { name: 'y', ids: ['map', [['tenant', 't1']]] } },
          [U3]: { initial: { name: 'z' } },
        },
      },
      [],
    );
    t.equal(byName.get('x')?._uuid, U1);
    t.equal(byName.get('y')?._uuid, U2);
    t.same(
      byTenant
        .getAll('t1')
        .map((r) => r._uuid)
        .sort(),
      [U1, U2].sort(),
    );
    t.equal(byTenant.get('none'), undefined);
    t.equal(byTenant.size, 1, 'rows without the key are not indexed');
    s.applyUpdate2({ B: { [U1]: { modify: { name: 'y' } }, [U2]: { modify: { name: 'x' } } } }, []);
    t.equal(byName.get('x')?._uuid, U2, 'swap applied in one transaction');
    t.equal(byName.get('y')?._uuid, U1);
    t.equal(byName.get('x')?.name, 'x', 'the index holds the new row object');
    s.applyUpdate2({ B: { [U2]: { modify: { ids: ['map', [['tenant', 't1']]] } } } }, []);
    t.same(
      byTenant.getAll('t1').map((r) => r._uuid),
      [U1],
    );
    s.applyUpdate2({ B: { [U1]: { delete: null } } }, []);
    t.equal(byName.get('y'), undefined);
    t.same(byTenant.getAll('t1'), []);
    t.equal(byTenant.size, 0);
    const late = b.addIndex('late', (r) => r.name);
    t.equal(late.get('z')?._uuid, U3, 'an index added later covers existing rows');
    s.replaceAll({ B: { [U3]: { initial: { name: 'w' } } } }, 2, []);
    t.equal(late.get('z'), undefined, 'a reload updates indexes');
    t.equal(late.get('w')?._uuid, U3);
  },
);

t.test('a "__proto__" map key is data, not a prototype change', async (t) => {
  const s = store(['m']);
  s.applyUpdate2({ A: { [U1]: { initial: { m: ['map', [['__proto__', 'x']]] } } } }, []);
  const m = rowA(s, U1).m as Record<string, unknown>;
  t.same(Object.keys(m), ['__proto__']);
  t.equal(Object.getPrototypeOf(m), Object.prototype);
  s.applyUpdate2({ A: { [U1]: { modify: { m: ['map', [['__proto__', 'x']]] } } } }, []);
  t.same(Object.keys(rowA(s, U1).m as object), []);
});

t.test('datum helpers', async (t) => {
  t.same(toggleSet([1, 2, 3], [2, 4]), [1, 3, 4]);
  const big = Array.from({ length: 100 }, (_, i) => i);
  const toggled = toggleSet(big, [0, 100, 50]);
  t.equal(toggled.length, 99);
  t.notOk(toggled.includes(0));
  t.ok(toggled.includes(100));
  // A diff of more than 8 elements takes the Set-of-the-diff path: same result, old order kept, new appended.
  const diff = [3, 1000, 5, 1001, 7, 1002, 9, 1003, 11, 1004];
  t.same(toggleSet(big, diff), [
    ...big.filter((x) => ![3, 5, 7, 9, 11].includes(x)),
    1000,
    1001,
    1002,
    1003,
    1004,
  ]);
  t.same(
    toggleSet(big, diff),
    diff.reduce((acc: unknown[], e) => toggleSet(acc, [e]), big),
    'as one element at a time',
  );
  // Large sets carry a membership index from version to version: a chain of toggles, with removals, re-adds
  // and a duplicate in one diff (counted once), equals the same toggles done on plain arrays; and no
  // version is changed by a later toggle (rows are immutable).
  let cur: unknown[] = Array.from({ length: 300 }, (_, i) => `u${i}`);
  let model = [...cur];
  const versions: [unknown[], unknown[]][] = [];
  const diffs = [['u5'], ['n1'], ['u5', 'n2', 'u7'], ['n1'], ['n1', 'n1'], ['u0', 'u299', 'n3'], []];
  for (const d of diffs) {
    cur = toggleSet(cur, d);
    for (const e of new Set(d)) model = model.includes(e) ? model.filter((x) => x !== e) : [...model, e];
    t.same(cur, model, `after toggling ${JSON.stringify(d)}`);
    versions.push([cur, [...cur]]);
  }
  for (const [v, copy] of versions) t.same(v, copy, 'an earlier version is unchanged');
  // Toggling an older version again (its index moved on) still gives the right answer.
  const [older] = versions[1] as [unknown[], unknown[]];
  t.same(toggleSet(older, ['n1']).includes('n1'), false, 'n1 was in that version: toggled out');
  t.ok(valueEquals([1, 2], [2, 1]));
  t.notOk(valueEquals([1, 2], [1, 3]));
  t.ok(valueEquals(big, [...big].reverse()));
  t.notOk(valueEquals({ a: 1 }, { a: 2 }));
  t.notOk(valueEquals({ a: 1 }, { b: 1 }));
  t.ok(valueEquals(new Map([[1, 'a']]), new Map([[1, 'a']])));
  t.notOk(valueEquals(new Map([[1, 'a']]), { 1: 'a' }));
  t.notOk(valueEquals(null, 0));
  const c = columnCodec(A.columns.get('ss')!);
  t.ok(Object.isFrozen(c.defaultValue), 'shared defaults are frozen');
  t.throws(() => new TableStore(A, ['nope']), { code: 'OVSDB_ERR_PROTOCOL' });
});

// ovsdb_datum_diff (ovsdb-data.c) as the server computes an update2 "modify" for a max > 1 column: for a set,
// the symmetric difference; for a map, removed keys with their old value, added keys and changed keys with
// their new value. Applying that diff to the old value must give the new one, for any pair of values.
t.test('random old/new pairs: applying the server-style diff gives the new value', async (t) => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pick = <T>(xs: readonly T[], k: number) => {
    const pool = [...xs];
    const out: T[] = [];
    for (let i = 0; i < k && pool.length; i++) out.push(pool.splice(rnd(pool.length), 1)[0] as T);
    return out;
  };
  const uuids = Array.from({ length: 8 }, (_, i) => `${String(i).repeat(8)}-0000-0000-0000-000000000000`);
  const strings = ['a', 'b', 'c', 'd', 'e', 'f', '', 'é', '__proto__', 'constructor'];
  const ints = [0, 1, 2, 3, 4, 5, -7, 4095];
  const s = store(['ss', 'su', 'm', 'mi']);
  const ts = s.tables.get('A')!;
  let n = 0;
  for (let iter = 0; iter < 400; iter++) {
    const oldSS = pick(strings, rnd(6));
    const newSS = pick(strings, rnd(6));
    const oldSU = pick(uuids, rnd(5));
    const newSU = pick(uuids, rnd(5));
    const oldM = Object.fromEntries(
      pick(strings, rnd(5)).map((k) => [k, strings[rnd(strings.length)] as string]),
    );
    const newM = Object.fromEntries(
      pick(strings, rnd(5)).map((k) => [k, strings[rnd(strings.length)] as string]),
    );
    const oldMI = new Map(pick(ints, rnd(5)).map((k) => [k, uuids[rnd(uuids.length)] as string]));
    const newMI = new Map(pick(ints, rnd(5)).map((k) => [k, uuids[rnd(uuids.length)] as string]));
    const setWire = (xs: unknown[]) => (xs.length === 1 ? xs[0] : ['set', xs]);
    const sym = <T>(a: T[], b: T[]) => [
      ...a.filter((x) => !b.includes(x)),
      ...b.filter((x) => !a.includes(x)),
    ];
    const mapDiff = <K, V>(a: Map<K, V>, b: Map<K, V>): [K, V][] => {
      const out: [K, V][] = [];
      for (const [k, v] of a) if (!b.has(k)) out.push([k, v]);
      for (const [k, v] of b) if (!a.has(k) || a.get(k) !== v) out.push([k, v]);
      return out;
    };
    const uuid = `${String(iter % 10).repeat(8)}-1111-1111-1111-${String(iter).padStart(12, '0')}`;
    s.applyUpdate2(
      {
        A: {
          [uuid]: {
            insert: {
              ss: ['set', oldSS],
              su: ['set', oldSU.map((u) => ['uuid', u])],
              m: ['map', Object.entries(oldM)],
              mi: ['map', [...oldMI].map(([k, v]) => [k, ['uuid', v]])],
            },
          },
        },
      },
      [],
    );
    const diff = {
      ss: setWire(sym(oldSS, newSS)),
      su: setWire(sym(oldSU, newSU).map((u) => ['uuid', u])),
      m: ['map', mapDiff(new Map(Object.entries(oldM)), new Map(Object.entries(newM)))],
      mi: ['map', mapDiff(oldMI, newMI).map(([k, v]) => [k, ['uuid', v]])],
    };
    s.applyUpdate2({ A: { [uuid]: { modify: diff } } }, []);
    const r = ts.rows.get(uuid) as Record<string, unknown>;
    const ok =
      valueEquals(r.ss, newSS) &&
      valueEquals(r.su, newSU) &&
      valueEquals(r.m, newM) &&
      valueEquals(r.mi, newMI);
    if (!ok)
      t.fail(`iteration ${iter}: ${JSON.stringify({ oldSS, newSS, got: r.ss, oldM, newM, gotM: r.m })}`);
    else n++;
  }
  t.equal(n, 400, 'every random pair round-tripped');
  t.equal(s.stats.anomalies, 0);
});
