// Regression (issue 13 item 1): values ovsdb-server cannot parse were sent anyway. `'a\u0000b'`, a lone
// surrogate and the subnormal 5e-324 made the server drop the connection (every request in flight failed);
// 1.7976931348623157e308 committed but the server prints it as 1.79769313486232e+308, which its own parser
// rejects, so `ovsdb-client dump` failed from then on. Now each is a ValidationError that says what is
// allowed, before anything is sent. The bounds are checked against a real server in
// test/integration/unstorable-values.test.ts.
import t from 'tap';
import { InvalidArgumentError, ValidationError } from '../../src/errors.js';
import { comment, insert } from '../../src/operations.js';
import {
  isStorableReal,
  isStorableString,
  MAX_OVSDB_REAL_MAGNITUDE,
  MIN_OVSDB_REAL_MAGNITUDE,
} from '../../src/validate.js';
import * as Typed from '../fixtures/typed-model.js';

const base = { s_enum: 'red', ss: 'x' } as const;

t.test('strings with U+0000 or an unpaired surrogate are refused, saying what is allowed', async (t) => {
  for (const s of ['a\u0000b', '\u0000', 'x\ud800y', 'x\udc00y', '\ud800', 'end\udbff', '\udfff\ud800']) {
    t.throws(() => insert(Typed.Atoms, { ...base, s }), {
      name: 'ValidationError',
      column: 's',
      value: s,
      message: /no U\+0000 and no unpaired surrogate/,
    });
    t.notOk(isStorableString(s), JSON.stringify(s));
  }
  // Everywhere a string goes: map keys and values, set elements, comments.
  t.throws(() => insert(Typed.Atoms, { ...base, m_ss: { 'k\u0000': 'v' } }), ValidationError);
  t.throws(() => insert(Typed.Atoms, { ...base, m_ss: { k: '\ud800' } }), ValidationError);
  t.throws(() => insert(Typed.Atoms, { ...base, ss: ['ok', 'b\u0000'] }), ValidationError);
  t.throws(() => comment('c\u0000'), InvalidArgumentError);
  // Astral characters (a valid pair), U+FFFF and other controls are fine.
  for (const s of ['𝄞', '\udbff\udfff', '\uffff', '\u0001\u001f\u2028', '']) {
    // (the assertion names the code points: a raw U+2028 would break the TAP stream)
    t.ok(insert(Typed.Atoms, { ...base, s }), [...s].map((c) => c.codePointAt(0)?.toString(16)).join(' '));
  }
});

t.test('reals: subnormals, 15-digit overflow, NaN and Infinity are refused', async (t) => {
  const refused = [
    5e-324,
    -5e-324,
    2.2250738585072014e-308, // DBL_MIN: prints as 2.2250738585072e-308, a subnormal
    2.225073858507205e-308,
    1.7976931348623157e308, // DBL_MAX: prints as 1.79769313486232e+308, which overflows
    -1.7976931348623157e308,
    1.7976931348623155e308,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ];
  for (const r of refused) {
    t.throws(
      () => insert(Typed.Atoms, { ...base, r }),
      {
        name: 'ValidationError',
        column: 'r',
        message: /0 or a finite real of magnitude in \[2\.2250738585072053e-308, 1\.797693134862315e\+308\]/,
      },
      String(r),
    );
    t.notOk(isStorableReal(r), String(r));
  }
  const allowed = [
    0,
    -0,
    MIN_OVSDB_REAL_MAGNITUDE,
    -MIN_OVSDB_REAL_MAGNITUDE,
    MAX_OVSDB_REAL_MAGNITUDE,
    -MAX_OVSDB_REAL_MAGNITUDE,
    1 / 3,
    1e300,
    1e-300,
  ];
  for (const r of allowed) t.ok(insert(Typed.Atoms, { ...base, r }), String(r));
  // The bounds are tight: the next double outward is refused.
  const below = MIN_OVSDB_REAL_MAGNITUDE - 2 ** -1074;
  t.notOk(isStorableReal(below));
  t.equal(Number(below.toPrecision(15)) < 2 ** -1022, true, 'prints as a subnormal');
  t.equal(Number(MIN_OVSDB_REAL_MAGNITUDE.toPrecision(15)) >= 2 ** -1022, true);
  t.equal(Number.isFinite(Number(MAX_OVSDB_REAL_MAGNITUDE.toPrecision(15))), true);
  t.notOk(isStorableReal(MAX_OVSDB_REAL_MAGNITUDE + 2 ** 971));
  // Also in sets, maps (keys and values), conditions and mutations.
  t.throws(() => insert(Typed.Atoms, { ...base, sr: [1, 5e-324] }), ValidationError);
  t.throws(() => insert(Typed.Atoms, { ...base, m_rb: new Map([[Number.NaN, true]]) }), ValidationError);
  t.throws(
    () =>
      insert(Typed.Atoms, {
        ...base,
        m_ur: { '11111111-2222-3333-4444-555555555555': Number.POSITIVE_INFINITY },
      }),
    ValidationError,
  );
});
