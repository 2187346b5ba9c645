// uuidV5: name-based row uuids (RFC 4122 §4.3) for inserts with an explicit uuid. The expected values are
// Python's uuid.uuid5 (the reference implementation most tools agree with).
import t from 'tap';
import { isUuid, uuidV5 } from '../../src/index.js';

const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

t.test('matches the reference implementation', async (t) => {
  t.equal(uuidV5(DNS, 'python.org'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
  t.equal(uuidV5(URL, 'ünïcode'), 'a1461847-ff8f-51b5-a530-79217721296c', 'the name is hashed as UTF-8');
  t.equal(uuidV5(DNS.toUpperCase(), 'python.org'), '886313e1-3b8a-5372-9b90-0c9aee199e5d', 'either case');
});

t.test('deterministic, version 5, RFC 4122 variant, distinct per name and namespace', async (t) => {
  const a = uuidV5(DNS, 'x');
  t.equal(uuidV5(DNS, 'x'), a);
  t.ok(isUuid(a));
  t.equal(a[14], '5', 'version nibble');
  t.match(a[19], /[89ab]/, 'variant bits 10xx');
  t.not(uuidV5(DNS, 'y'), a);
  t.not(uuidV5(URL, 'x'), a);
});

t.test('a namespace that is not a uuid is refused, naming it', async (t) => {
  t.throws(() => uuidV5('nope', 'x'), /uuidV5: namespace "nope" is not a uuid/);
});
