import { readFileSync } from 'node:fs';
import t from 'tap';
import { ProtocolError, ValidationError } from '../../src/errors.js';
import { getTable, parseSchema } from '../../src/schema.js';
import { namedRef } from '../../src/uuid.js';
import {
  decodeDatum,
  decodeElements,
  decodePairs,
  decodeRow,
  defaultValue,
  encodeDatum,
  encodeRow,
} from '../../src/values.js';

const schema = parseSchema(
  readFileSync(new URL('../fixtures/schemas/typed.ovsschema', import.meta.url), 'utf8'),
);
const atoms = getTable(schema, 'Atoms');
const U1 = '11111111-2222-3333-4444-555555555555';
const U2 = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

const enc = (column: string, v: unknown) =>
  encodeDatum({ table: 'Atoms', column }, atoms.columns.get(column)!, v);
const dec = (column: string, json: unknown) => decodeDatum(atoms.columns.get(column)!, json);

// [column, JS value, wire notation]: every atom type × scalar / optional / set / map, bounds and enums.
const roundTrips: [string, unknown, unknown][] = [
  ['i', 42, 42],
  ['i', -7, -7],
  ['i', Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ['r', 1.5, 1.5],
  ['r', 1, 1],
  ['b', true, true],
  ['b', false, false],
  ['s', '', ''],
  ['s', 'héllo ✓ 𝄞', 'héllo ✓ 𝄞'],
  ['u', U1, ['uuid', U1]],
  ['i_bounded', -5, -5],
  ['i_bounded', 4094, 4094],
  ['r_bounded', -1.5, -1.5],
  ['r_bounded', 2.5, 2.5],
  ['s_len', 'ab', 'ab'],
  ['s_len', '𝄞𝄞𝄞𝄞𝄞', '𝄞𝄞𝄞𝄞𝄞'],
  ['s_len', null, ['set', []]],
  ['s_enum', 'green', 'green'],
  ['i_enum', 3, 3],
  ['i_enum', null, ['set', []]],
  ['r_enum', 0.5, 0.5],
  ['b_true', true, true],
  ['oi', 0, 0],
  ['oi', null, ['set', []]],
  ['or', 2.25, 2.25],
  ['or', null, ['set', []]],
  ['ob', false, false],
  ['ob', null, ['set', []]],
  ['os', 'x', 'x'],
  ['os', null, ['set', []]],
  ['ou', U1, ['uuid', U1]],
  ['ou', null, ['set', []]],
  ['si', [], ['set', []]],
  ['si', [5], 5],
  ['si', [1, 2, 3], ['set', [1, 2, 3]]],
  ['sr', [0.5, 1], ['set', [0.5, 1]]],
  ['sb', [true, false], ['set', [true, false]]],
  ['sb', [true], true],
  ['ss', ['only'], 'only'],
  ['ss', ['a', 'b'], ['set', ['a', 'b']]],
  [
    'su',
    [U1, U2],
    [
      'set',
      [
        ['uuid', U1],
        ['uuid', U2],
      ],
    ],
  ],
  ['su', [U1], ['uuid', U1]],
  ['s_bounded', [1, 9], ['set', [1, 9]]],
  ['m_ss', {}, ['map', []]],
  [
    'm_ss',
    { a: '1', b: '2' },
    [
      'map',
      [
        ['a', '1'],
        ['b', '2'],
      ],
    ],
  ],
  ['m_ss', { __proto__x: 'p' }, ['map', [['__proto__x', 'p']]]],
  [
    'm_is',
    new Map([
      [1, 'one'],
      [-2, 'minus two'],
    ]),
    [
      'map',
      [
        [1, 'one'],
        [-2, 'minus two'],
      ],
    ],
  ],
  [
    'm_si',
    { a: 0, b: 100 },
    [
      'map',
      [
        ['a', 0],
        ['b', 100],
      ],
    ],
  ],
  ['m_rb', new Map([[0.5, true]]), ['map', [[0.5, true]]]],
  [
    'm_bu',
    new Map([
      [true, U1],
      [false, U2],
    ]),
    [
      'map',
      [
        [true, ['uuid', U1]],
        [false, ['uuid', U2]],
      ],
    ],
  ],
  ['m_ur', { [U1]: 1.5 }, ['map', [[['uuid', U1], 1.5]]]],
  [
    'm_enum',
    { a: 1, c: 3 },
    [
      'map',
      [
        ['a', 1],
        ['c', 3],
      ],
    ],
  ],
];

t.test('every column shape round-trips through the wire notation', async (t) => {
  for (const [column, js, wire] of roundTrips) {
    t.same(enc(column, js), wire, `${column}: encode ${String(js)}`);
    t.same(dec(column, wire), js, `${column}: decode ${JSON.stringify(wire)}`);
    t.same(dec(column, JSON.parse(JSON.stringify(wire))), js, `${column}: decode after JSON`);
  }
});

t.test('a one-element set decodes from both the bare atom and ["set",[x]]', async (t) => {
  t.same(dec('si', ['set', [5]]), [5]);
  t.same(dec('si', 5), [5]);
  t.same(dec('su', ['set', [['uuid', U1]]]), [U1]);
  t.same(dec('oi', ['set', [7]]), 7);
  t.same(dec('i', ['set', [7]]), 7);
});

t.test('integer vs real is decided by the column type (the server prints 1.0 as 1)', async (t) => {
  t.equal(dec('r', 1), 1);
  t.equal(typeof dec('r', 1), 'number');
  t.throws(() => enc('i', 1.5), ValidationError);
  t.equal(enc('r', 3), 3);
});

t.test('64-bit integers: bigint sent exactly; a number beyond ±(2^53 − 1) refused', async (t) => {
  t.equal(enc('i', 123n), 123);
  t.equal(enc('i', 2n ** 60n), 2n ** 60n);
  t.throws(() => enc('i', 2 ** 60), /2\^53/);
});

t.test('set elements and map keys must be distinct', async (t) => {
  t.throws(() => enc('si', [1, 1]), /duplicate 1/);
  t.throws(() => enc('su', [U1, U1]), ValidationError);
});

t.test('named references encode as named-uuid and check their table', async (t) => {
  const parent = getTable(schema, 'Parent');
  const ref = namedRef('Child', 'c1');
  const col = parent.columns.get('children')!;
  t.same(encodeDatum({ table: 'Parent', column: 'children' }, col, [ref]), ['named-uuid', 'c1']);
  t.same(encodeDatum({ table: 'Parent', column: 'children' }, col, [ref, U1]), [
    'set',
    [
      ['named-uuid', 'c1'],
      ['uuid', U1],
    ],
  ]);
  t.throws(
    () => encodeDatum({ table: 'Parent', column: 'children' }, col, [namedRef('Target', 'x')]),
    /Parent\.children: .* named reference "x" is a Target row/,
  );
  const cm = parent.columns.get('child_map')!;
  t.same(encodeDatum({ table: 'Parent', column: 'child_map' }, cm, { k: ref }), [
    'map',
    [['k', ['named-uuid', 'c1']]],
  ]);
});

t.test('bad values are ValidationErrors naming table, column, value and what is allowed', async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ['i', '1', /Atoms\.i: "1" is not allowed; expected integer$/],
    ['i', null, /Atoms\.i: null .* expected integer/],
    ['i_bounded', 4095, /Atoms\.i_bounded: 4095 .* integer in \[-5, 4094\]/],
    ['i_bounded', -6, /integer in \[-5, 4094\]/],
    ['r_bounded', 2.6, /real in \[-1.5, 2.5\]/],
    ['r', Number.NaN, /expected real/],
    ['r', Number.POSITIVE_INFINITY, /expected real/],
    ['b', 1, /expected boolean/],
    ['s', 5, /expected string/],
    ['s_len', 'a', /string of length 2\.\.5/],
    ['s_len', '123456', /string of length 2\.\.5/],
    ['s_enum', 'yellow', /Atoms\.s_enum: "yellow" .* one of "red", "green", "blue"/],
    ['i_enum', 4, /one of 1, 2, 3/],
    ['r_enum', 1, /one of 0\.5, 1\.5/],
    ['b_true', false, /one of true/],
    ['u', 'not-a-uuid', /expected uuid/],
    ['oi', [1], /integer or null/],
    ['si', { a: 5 }, /array of 0 or more distinct integer/],
    ['sr', [1, 2, 3, 4], /array of 0\.\.3 distinct real/],
    ['ss', [], /array of 1 or more distinct string/],
    ['s_bounded', [0], /integer in \[1, 9\]/],
    ['m_ss', [['a', 'b']], /map of 0 or more entries string → string/],
    ['m_si', { a: 101 }, /integer in \[0, 100\]/],
    ['m_si', { a: '1' }, /integer/],
    ['m_enum', { d: 1 }, /one of "a", "b", "c"/],
    ['m_enum', { a: 1, b: 2, c: 3 }, /map of 0\.\.2 entries/],
    ['m_bu', new Map([[true, 'x']]), /uuid/],
  ];
  for (const [column, v, re] of cases) {
    try {
      enc(column, v);
      t.fail(`${column}: ${String(v)} should be refused`);
    } catch (err) {
      t.type(err, ValidationError);
      const e = err as ValidationError;
      t.equal(e.table, 'Atoms');
      t.equal(e.column, column);
      t.equal(e.code, 'OVSDB_ERR_VALIDATION');
      t.match(e.message, re, `${column}: ${e.message}`);
    }
  }
});

t.test('relaxed encoding for includes/excludes and insert/delete mutators', async (t) => {
  const ss = atoms.columns.get('ss')!;
  t.same(encodeDatum({ table: 'Atoms', column: 'ss' }, ss, [], { relaxMin: true }), ['set', []]);
  const sr = atoms.columns.get('sr')!;
  t.same(encodeDatum({ table: 'Atoms', column: 'sr' }, sr, [1, 2, 3, 4], { relaxMax: true }), [
    'set',
    [1, 2, 3, 4],
  ]);
  const m = atoms.columns.get('m_ss')!;
  t.same(encodeDatum({ table: 'Atoms', column: 'm_ss' }, m, ['a', 'b'], { keysOnly: true }), [
    'set',
    ['a', 'b'],
  ]);
  t.same(encodeDatum({ table: 'Atoms', column: 'm_ss' }, m, ['a'], { keysOnly: true }), 'a');
});

t.test('encodeRow: unknown columns, immutable columns in updates, undefined skipped', async (t) => {
  t.same(encodeRow(atoms, { i: 1, s: 'x', oi: undefined, si: [1, 2] }), {
    i: 1,
    s: 'x',
    si: ['set', [1, 2]],
  });
  t.throws(
    () => encodeRow(atoms, { nope: 1 }),
    /Atoms\.nope: 1 is not allowed; expected a column of Atoms: i, r, b/,
  );
  t.throws(() => encodeRow(atoms, { _uuid: U1 }), /set by the server/);
  t.same(encodeRow(atoms, { fixed: 'f' }), { fixed: 'f' });
  t.throws(() => encodeRow(atoms, { fixed: 'f' }, { forUpdate: true }), /Atoms\.fixed: .*immutable/);
});

t.test('decodeRow fills defaults, keeps _uuid, skips unknown columns', async (t) => {
  const row = decodeRow(atoms, { _uuid: ['uuid', U1], i: 3, ss: 'x', m_is: ['map', [[1, 'a']]], future: 5 });
  t.equal(row._uuid, U1);
  t.equal(row.i, 3);
  t.same(row.ss, ['x']);
  t.same(row.m_is, new Map([[1, 'a']]));
  t.equal(row.r, 0);
  t.equal(row.b, false);
  t.equal(row.s, '');
  t.equal(row.u, '00000000-0000-0000-0000-000000000000');
  t.equal(row.oi, null);
  t.same(row.si, []);
  t.same(row.m_ss, {});
  t.notOk('future' in row);
  const sparse = decodeRow(atoms, { i: 3 }, { fillDefaults: false });
  t.same(Object.keys(sparse), ['i']);
  t.same(defaultValue(atoms.columns.get('ss')!), ['']);
  t.throws(() => decodeRow(atoms, [1]), ProtocolError);
});

t.test('decode helpers for update2 diffs', async (t) => {
  t.same(
    decodeElements(atoms.columns.get('su')!, [
      'set',
      [
        ['uuid', U1],
        ['uuid', U2],
      ],
    ]),
    [U1, U2],
  );
  t.same(decodeElements(atoms.columns.get('su')!, ['uuid', U1]), [U1]);
  t.same(decodePairs(atoms.columns.get('m_si')!, ['map', [['a', 1]]]), [['a', 1]]);
  t.throws(() => decodePairs(atoms.columns.get('m_si')!, ['set', []]), ProtocolError);
  t.throws(() => dec('u', 'bare-string'), /Atoms|u: cannot decode/);
  t.throws(() => dec('i', 'x'), ProtocolError);
  t.throws(() => dec('oi', ['set', [1, 2]]), /at most one/);
});

t.test('a "__proto__" map key stays data', async (t) => {
  const m = dec('m_ss', ['map', [['__proto__', 'x']]]) as Record<string, string>;
  t.equal(Object.getPrototypeOf(m), Object.prototype);
  t.equal(Object.hasOwn(m, '__proto__'), true);
  t.equal(Object.getOwnPropertyDescriptor(m, '__proto__')?.value, 'x');
});
