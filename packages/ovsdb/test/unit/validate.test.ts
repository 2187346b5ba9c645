import t from 'tap';
import { ValidationError } from '../../src/errors.js';
import { parseSchema } from '../../src/schema.js';
import { namedRef } from '../../src/uuid.js';
import { checkAtom, codePointLength, MAX_SAFE_OVSDB_INTEGER } from '../../src/validate.js';

const s = parseSchema({
  name: 'V',
  version: '1.0.0',
  tables: {
    T: {
      columns: {
        n: { type: { key: { type: 'integer', minInteger: -3, maxInteger: 3 } } },
        s: { type: { key: { type: 'string', minLength: 1, maxLength: 2 } } },
        r: { type: { key: { type: 'uuid', refTable: 'T' } } },
      },
    },
  },
});
const col = (n: string) => s.tables.get('T')!.columns.get(n)!.type.key;
const at = (c: string) => ({ table: 'T', column: c });

t.test('string lengths count code points (RFC 7047 §3.2), as ovsdb-server does', async (t) => {
  t.equal(codePointLength(''), 0);
  t.equal(codePointLength('ab'), 2);
  t.equal(codePointLength('é'), 1);
  t.equal(codePointLength('𝄞'), 1, 'a surrogate pair is one code point');
  t.equal(codePointLength('\ud834'), 1, 'a lone surrogate counts once');
  t.equal(checkAtom(at('s'), col('s'), '𝄞𝄞'), '𝄞𝄞');
  t.throws(() => checkAtom(at('s'), col('s'), '𝄞𝄞𝄞'), /string of length 1\.\.2/);
  t.throws(() => checkAtom(at('s'), col('s'), ''), ValidationError);
});

t.test('integer bounds, 64-bit integers as bigint, numbers beyond 2^53 refused', async (t) => {
  t.equal(checkAtom(at('n'), col('n'), -3), -3);
  t.equal(checkAtom(at('n'), col('n'), 3n), 3);
  t.throws(() => checkAtom(at('n'), col('n'), 4), /integer in \[-3, 3\]/);
  t.throws(() => checkAtom(at('n'), col('n'), -4n), /integer in \[-3, 3\]/);
  const free = parseSchema({
    name: 'W',
    version: '1.0.0',
    tables: { T: { columns: { i: { type: 'integer' } } } },
  });
  const i = free.tables.get('T')!.columns.get('i')!.type.key;
  t.equal(checkAtom(at('i'), i, MAX_SAFE_OVSDB_INTEGER), MAX_SAFE_OVSDB_INTEGER);
  t.equal(checkAtom(at('i'), i, -BigInt(MAX_SAFE_OVSDB_INTEGER)), -MAX_SAFE_OVSDB_INTEGER);
  t.throws(() => checkAtom(at('i'), i, MAX_SAFE_OVSDB_INTEGER + 1), /2\^53/);
  t.equal(checkAtom(at('i'), i, BigInt(MAX_SAFE_OVSDB_INTEGER) + 1n), BigInt(MAX_SAFE_OVSDB_INTEGER) + 1n);
  t.equal(checkAtom(at('i'), i, 2n ** 63n - 1n), 2n ** 63n - 1n, 'the largest 64-bit integer');
  t.equal(checkAtom(at('i'), i, -(2n ** 63n)), -(2n ** 63n), 'the smallest 64-bit integer');
  t.throws(() => checkAtom(at('i'), i, 2n ** 63n), /within the 64-bit range/);
  t.throws(() => checkAtom(at('i'), i, -(2n ** 63n) - 1n), /within the 64-bit range/);
  t.throws(() => checkAtom(at('i'), i, 2 ** 60), /pass a bigint \(e\.g\. 1152921504606846976n\)/);
  t.throws(() => checkAtom(at('i'), i, 1.5), /expected integer$/);
  t.throws(() => checkAtom(at('i'), i, '1'), ValidationError);
});

t.test('references: a uuid or a named reference to the right table', async (t) => {
  const U = '01234567-89ab-cdef-0123-456789ABCDEF';
  t.same(checkAtom(at('r'), col('r'), U), ['uuid', U], 'upper-case hex is a uuid too');
  t.same(checkAtom(at('r'), col('r'), namedRef('T', 'row')), ['named-uuid', 'row']);
  t.throws(
    () => checkAtom(at('r'), col('r'), namedRef('Other', 'row')),
    /named reference "row" is a Other row/,
  );
  t.throws(() => checkAtom(at('r'), col('r'), '0123'), /uuid of a row of T/);
  t.throws(() => checkAtom(at('r'), col('r'), ['uuid', U]), ValidationError, 'wire notation is not accepted');
  t.throws(() => namedRef('T', '9row'), /uuid-name/);
});

t.test('errors carry table, column, the whole value and what is allowed', async (t) => {
  try {
    checkAtom(at('n'), col('n'), 9, [1, 9]);
    t.fail('should throw');
  } catch (err) {
    const e = err as ValidationError;
    t.equal(e.table, 'T');
    t.equal(e.column, 'n');
    t.same(e.value, [1, 9], 'the whole value the caller gave');
    t.equal(e.allowed, 'integer in [-3, 3]');
    t.equal(e.message, 'T.n: [1,9] is not allowed; expected integer in [-3, 3]');
  }
});
