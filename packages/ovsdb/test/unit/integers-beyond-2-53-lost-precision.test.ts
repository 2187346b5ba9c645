// Regression: integers beyond ±(2^53 − 1) were rounded by JSON.parse before the library saw them. The
// framer finds long digit runs while it frames and parses those messages exactly (framer.ts parseExact);
// the codecs keep bigints for integer columns and make doubles of reals.
import t from 'tap';
import { JsonFramer, parseExact, SlicedMessage } from '../../src/framer.js';
import { encodeWireMessage } from '../../src/jsonrpc.js';
import { columnCodec } from '../../src/replica/datum.js';
import { parseSchema } from '../../src/schema.js';
import { decodeDatum } from '../../src/values.js';

const MSG =
  '{"id":1,"result":[4611686018427387905,-9223372036854775808,9223372036854775807,' +
  '9007199254740991,-9007199254740991,9007199254740992,1.2345678901234567e+300,-12345678901234567.5,' +
  '12345678901234567e2,"12345678901234567890",{"k":["set",[18446744073709551,0]]}],"error":null}';
const EXPECTED = [
  2n ** 62n + 1n,
  -(2n ** 63n),
  2n ** 63n - 1n,
  9007199254740991,
  -9007199254740991,
  9007199254740992n,
  1.2345678901234567e300,
  Number('-12345678901234567.5'), // reals: a fraction or an exponent keeps them numbers
  Number('12345678901234567e2'),
  '12345678901234567890',
  { k: ['set', [18446744073709551n, 0]] },
];

function frame(chunks: Buffer[]): unknown[] {
  const f = new JsonFramer();
  const out: unknown[] = [];
  for (const c of chunks) f.pushTo(c, out);
  return out;
}

t.test('long integer literals become exact bigints; others stay numbers, strings stay strings', async (t) => {
  const [msg] = frame([Buffer.from(MSG)]) as [{ result: unknown[] }];
  t.same(msg.result, EXPECTED);
  t.equal(typeof msg.result[3], 'number', '2^53 - 1 is a number');
  t.equal(typeof msg.result[5], 'bigint', '2^53 is a bigint');
});

t.test('split at every byte boundary (digit runs straddle chunks)', async (t) => {
  const bytes = Buffer.from(MSG);
  let bad = 0;
  for (let k = 0; k <= bytes.length; k++) {
    const [msg] = frame([bytes.subarray(0, k), bytes.subarray(k)]) as [{ result: unknown[] }];
    try {
      t.strictSame(msg.result, EXPECTED);
    } catch {
      bad++;
    }
    if ((msg.result[0] as bigint) !== 2n ** 62n + 1n) bad++;
  }
  t.equal(bad, 0);
});

t.test('a message without long digit runs takes the plain path, unchanged', async (t) => {
  const text = '{"id":2,"result":[123456789012345,"99999999999999999999"],"error":null}';
  t.same(frame([Buffer.from(text)]), [JSON.parse(text)]);
  t.same(parseExact(text), JSON.parse(text));
});

t.test('a sliced message is exact too', async (t) => {
  const rows: string[] = [];
  for (let i = 0; i < 3000; i++)
    rows.push(`"r${i}":{"initial":{"n":${i === 1234 ? '-9223372036854775808' : i}}}`);
  const text = `{"id":3,"result":[false,"t",{"T":{${rows.join(',')}}}],"error":null}`;
  const f = new JsonFramer({ sliceBytes: 1024 });
  const [m] = f.push(Buffer.from(text));
  t.type(m, SlicedMessage);
  const steps = (m as SlicedMessage).steps();
  let r = steps.next();
  while (!r.done) r = steps.next();
  const v = r.value as { result: [boolean, string, { T: Record<string, { initial: { n: unknown } }> }] };
  t.equal(v.result[2].T.r1234?.initial.n, -(2n ** 63n));
  t.equal(v.result[2].T.r1233?.initial.n, 1233);
});

t.test('bigints are written as their digits', async (t) => {
  t.equal(
    encodeWireMessage({ method: 'transact', params: ['db', { i: 2n ** 63n - 1n, j: -(2n ** 63n) }], id: 1 }),
    '{"method":"transact","params":["db",{"i":9223372036854775807,"j":-9223372036854775808}],"id":1}',
  );
});

t.test('decoding: integer columns keep bigints, real columns make doubles', async (t) => {
  const s = parseSchema({
    name: 'D',
    version: '1.0.0',
    tables: {
      T: {
        columns: {
          i: { type: 'integer' },
          r: { type: 'real' },
          si: { type: { key: 'integer', min: 0, max: 'unlimited' } },
          mi: { type: { key: 'integer', value: 'integer', min: 0, max: 'unlimited' } },
        },
      },
    },
  });
  const col = (n: string) => s.tables.get('T')!.columns.get(n)!;
  const big = 2n ** 62n + 1n;
  t.equal(decodeDatum(col('i'), big), big);
  t.equal(decodeDatum(col('r'), 12345678901234568n), 12345678901234568);
  t.same(decodeDatum(col('si'), ['set', [big, 1]]), [big, 1]);
  t.same(decodeDatum(col('mi'), ['map', [[big, -big]]]), new Map([[big, -big]]));
  t.equal(columnCodec(col('i')).decode(big), big, 'replica codec');
  t.equal(columnCodec(col('r')).decode(12345678901234568n), 12345678901234568, 'replica codec, real');
  const m = columnCodec(col('mi'));
  t.same(
    m.applyModify(m.decode(['map', [[big, 1n << 60n]]]), ['map', [[big, 1n << 60n]]]),
    new Map(),
    'diff removes',
  );
  const schemaBound = parseSchema({
    name: 'B',
    version: '1.0.0',
    tables: { T: { columns: { i: { type: { key: { type: 'integer', maxInteger: 2n ** 63n - 1n } } } } } },
  });
  t.equal(
    schemaBound.tables.get('T')!.columns.get('i')!.type.key.maxInteger,
    2 ** 63,
    'a bound read as bigint',
  );
});
