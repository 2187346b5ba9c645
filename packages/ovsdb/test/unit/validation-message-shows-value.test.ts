// Regression (issue 13 item 4): error messages misreported the value. `r: NaN` said "null is not allowed"
// and `mis: new Map([[7, 424245]])` said "{} is not allowed" (JSON.stringify), while err.value was right.
import t from 'tap';
import { showValue, ValidationError } from '../../src/errors.js';
import { insert } from '../../src/operations.js';
import * as Typed from '../fixtures/typed-model.js';

const base = { s_enum: 'red', ss: 'x' } as const;

t.test('the message prints the value as given', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ r: Number.NaN }, /Atoms\.r: NaN is not allowed/],
    [{ r: Number.POSITIVE_INFINITY }, /Atoms\.r: Infinity is not allowed/],
    [{ r: Number.NEGATIVE_INFINITY }, /Atoms\.r: -Infinity is not allowed/],
    [{ m_is: new Map([[7, 424245]]) }, /Atoms\.m_is: Map \{7 => 424245\} is not allowed/],
    [{ si: new Set([1, 'x']) }, /Atoms\.si: Set \{1, "x"\} is not allowed/],
    [{ s: 12n }, /Atoms\.s: 12n is not allowed/],
    [{ i: 2n ** 70n }, /Atoms\.i: 1180591620717411303424n is not allowed/], // beyond 64 bits (2^60n is valid: exact integers)
    [{ s: Symbol('q') }, /Atoms\.s: Symbol\(q\) is not allowed/],
    [{ b: () => 1 }, /Atoms\.b: \[function b\] is not allowed/],
    [{ sr: [1, Number.NaN] }, /Atoms\.sr: \[1,NaN\] is not allowed/],
    [{ s: new Date(0) }, /Atoms\.s: Date 1970-01-01T00:00:00\.000Z is not allowed/],
  ];
  for (const [row, re] of cases) {
    t.throws(() => insert(Typed.Atoms, { ...base, ...row } as never), re, re.source);
  }
  try {
    insert(Typed.Atoms, { s_enum: 'red' } as never);
    t.fail('ss is required');
  } catch (err) {
    t.type(err, ValidationError);
    t.match((err as Error).message, /Atoms\.ss: undefined is not allowed/);
  }
  t.equal(showValue(-0), '-0');
  t.equal(showValue(undefined), 'undefined');
  t.equal(showValue({ a: undefined, b: [Number.NaN] }), '{"a":undefined,"b":[NaN]}');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  t.equal(showValue(cyclic), '{"self":[circular]}');
  t.ok(showValue('x'.repeat(1000)).length <= 200, 'long values are cut');
});
