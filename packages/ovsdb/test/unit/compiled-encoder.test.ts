// The compiled per-table encoders (values.ts tableCodec) must change no outcome: for every column type and
// a spread of valid, invalid and oddly shaped values, encodeStrict gives exactly what the generic
// encodeValue gives — the same wire value, or a ValidationError with the same message and value.
import t from 'tap';
import { parseSchema } from '../../src/schema.js';
import { namedRef } from '../../src/uuid.js';
import { encodeStrict, encodeValue, tableCodec } from '../../src/values.js';

const U1 = '2c1d2f64-5d4c-4e1a-9f0b-3b8f0c6a7d11';
const U2 = '6f1a2b3c-4d5e-4f60-8172-839405a6b7c8';
const key = (k: unknown) => ({ key: k });
const s = parseSchema({
  name: 'C',
  version: '1.0.0',
  tables: {
    T: {
      isRoot: true,
      columns: {
        i: { type: 'integer' },
        ib: { type: key({ type: 'integer', minInteger: -3, maxInteger: 3 }) },
        ie: { type: key({ type: 'integer', enum: ['set', [1, 2]] }) },
        r: { type: 'real' },
        rb: { type: key({ type: 'real', minReal: 0.5, maxReal: 2 }) },
        b: { type: 'boolean' },
        s: { type: 'string' },
        se: { type: key({ type: 'string', enum: ['set', ['a', 'b']] }) },
        sl: { type: key({ type: 'string', minLength: 1, maxLength: 2 }) },
        u: { type: 'uuid' },
        ref: { type: key({ type: 'uuid', refTable: 'T' }) },
        wref: { type: key({ type: 'uuid', refTable: 'T', refType: 'weak' }) },
        oi: { type: { key: 'integer', min: 0, max: 1 } },
        os: { type: { key: 'string', min: 0, max: 1 } },
        oref: { type: { key: { type: 'uuid', refTable: 'U' }, min: 0, max: 1 } },
        si: { type: { key: 'integer', min: 0, max: 'unlimited' } },
        s13: { type: { key: 'string', min: 1, max: 3 } },
        s13i: { type: { key: 'integer', min: 1, max: 3 } },
        sref: { type: { key: { type: 'uuid', refTable: 'U' }, min: 1, max: 'unlimited' } },
        sr: { type: { key: 'real', min: 0, max: 'unlimited' } },
        m: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
    },
    U: { columns: { n: { type: 'integer' } } },
  },
});
const T = s.tables.get('T')!;

const big = 2n ** 62n + 1n;
const values: unknown[] = [
  undefined,
  null,
  0,
  -0,
  1,
  2,
  3,
  4,
  -4,
  0.5,
  1.5,
  2.5,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  5e-324,
  1.7976931348623157e308,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  3n,
  big,
  true,
  false,
  '',
  'a',
  'b',
  'ab',
  'abc',
  'a\u0000b',
  'x\ud800y',
  '𝄞',
  '𝄞𝄞𝄞',
  U1,
  U2,
  'not-a-uuid',
  namedRef('row1', 'T'),
  namedRef('row2', 'U'),
  [],
  [1],
  [1, 2],
  [1, 1],
  [0, -0],
  [1, 2, 3],
  [1, 2, 3, 4],
  [1, 'a'],
  ['a'],
  ['a', 'b'],
  ['a', 'a'],
  ['a', 'b', 'c', 'd'],
  [U1],
  [U1, U2],
  [U1, U1],
  [namedRef('row1', 'U')],
  [namedRef('row1', 'U'), namedRef('row1', 'U')],
  [namedRef('row1', 'U'), namedRef('row2', 'U')],
  [namedRef('row1', 'U'), U1],
  [namedRef('row1', 'T')],
  [0.5, 0.25],
  [Number.NaN],
  Array.from({ length: 12 }, (_, i) => i),
  [...Array.from({ length: 11 }, (_, i) => i), 3],
  new Set([1, 2]),
  new Set(['a']),
  new Map([['a', 'b']]),
  { a: 'b' },
  { a: 1 },
  Object.create(null),
  [[1]],
  [null],
  [undefined],
];

function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (err) {
    const e = err as Error & { value?: unknown };
    return { error: e.constructor.name, message: e.message, value: e.value };
  }
}

t.test('encodeStrict agrees with encodeValue on every column and value', async (t) => {
  const codec = tableCodec(T);
  let compared = 0;
  let compiled = 0;
  for (const c of codec.all.values()) {
    if (c.strict !== undefined) compiled++;
    for (const [i, v] of values.entries()) {
      const generic = outcome(() => encodeValue('T', c.column.name, c.column, v, {}));
      const fast = outcome(() => encodeStrict('T', c, v));
      t.strictSame(fast, generic, `${c.column.name} = values[${i}]`);
      compared++;
    }
  }
  t.ok(compiled >= 15, `most columns have a compiled encoder (${compiled})`);
  t.ok(compared > 1000, `${compared} comparisons`);
});

t.test('the codec lists required and strong-reference columns once per table', async (t) => {
  const codec = tableCodec(T);
  t.equal(tableCodec(T), codec, 'made once');
  t.same(
    codec.required.map((c) => c.name),
    ['ie', 'rb', 'se', 'sl', 'ref', 'wref', 's13', 's13i', 'sref'],
  );
  t.same(
    codec.strongRefs.map((c) => c.column.name),
    ['ref', 'oref', 'sref'],
  );
  t.equal(codec.root, true);
  t.equal(tableCodec(s.tables.get('U')!).root, false);
  t.notOk(
    Object.keys(T).some((k) => k.includes('codec')),
    'the codec is not an enumerable member',
  );
});
