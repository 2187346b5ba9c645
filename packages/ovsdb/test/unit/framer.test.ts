import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FramingError } from '../../src/errors.js';
import { JsonFramer } from '../../src/framer.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
// Real ovsdb-server traffic captured by test/fixtures/capture-traffic.ts.
const traffic = readFileSync(join(fixtures, 'ovsdb-traffic.bin'));
const expected = JSON.parse(readFileSync(join(fixtures, 'ovsdb-traffic.json'), 'utf8')) as unknown[];
const TEXT = 'ünïcødé ✓ 日本';

function frameAll(chunks: Uint8Array[], framer = new JsonFramer()): unknown[] {
  const out: unknown[] = [];
  for (const c of chunks) framer.pushTo(c, out);
  if (framer.bufferedBytes !== 0) throw new Error(`${framer.bufferedBytes} bytes left over`);
  return out;
}

t.test('the captured traffic holds what the tests rely on', async (t) => {
  t.ok(expected.length >= 8);
  t.ok(traffic.includes(Buffer.from(TEXT)), 'multibyte text on the wire');
  t.ok(traffic.includes(Buffer.from('\\"q\\" \\\\')), 'escaped quote and backslash on the wire');
  t.ok(JSON.stringify(expected).includes(TEXT));
});

t.test('whole stream in one chunk', async (t) => {
  t.same(frameAll([traffic]), expected);
});

t.test('split in two at every byte boundary', async (t) => {
  let failures = 0;
  for (let k = 0; k <= traffic.length; k++) {
    const got = frameAll([traffic.subarray(0, k), traffic.subarray(k)]);
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      failures++;
      if (failures < 3) t.fail(`split at ${k} differs`);
    }
  }
  t.equal(failures, 0, `all ${traffic.length + 1} splits give the captured messages`);
});

t.test('one byte at a time (every multibyte code point straddles chunks)', async (t) => {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < traffic.length; i++) chunks.push(traffic.subarray(i, i + 1));
  t.same(frameAll(chunks), expected);
});

t.test('split in three around every byte of the multibyte text', async (t) => {
  const at = traffic.indexOf(Buffer.from(TEXT));
  const len = Buffer.byteLength(TEXT);
  for (let a = at; a <= at + len; a++) {
    for (let b = a; b <= at + len; b++) {
      t.same(
        frameAll([traffic.subarray(0, a), traffic.subarray(a, b), traffic.subarray(b)]),
        expected,
        `${a}/${b}`,
      );
    }
  }
});

t.test('pseudo-random chunkings', async (t) => {
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let round = 0; round < 50; round++) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < traffic.length; ) {
      const n = 1 + (rnd() % 700);
      chunks.push(traffic.subarray(i, i + n));
      i += n;
    }
    t.same(frameAll(chunks), expected, `round ${round}`);
  }
});

t.test('escapes and structure inside strings', async (t) => {
  const values = [
    { s: 'a "quoted" } ] { [ string' },
    { s: 'backslash at end \\' },
    { s: '\\\\"' },
    { s: '\\' },
    ['\\"}', { k: '\u0000\u001f\u2028' }],
    { s: 'emoji 😀 and 日本', n: [1, 2.5, -3e10, true, false, null] },
  ];
  const text = values.map((v) => JSON.stringify(v)).join('');
  const bytes = Buffer.from(text);
  for (let k = 0; k <= bytes.length; k++) {
    t.same(frameAll([bytes.subarray(0, k), bytes.subarray(k)]), values);
  }
});

t.test('whitespace between values, none inside the count', async (t) => {
  const bytes = Buffer.from(' \n{"a":1}\r\n\t [2] \n\n{ "b" : [ 3 , 4 ] }  ');
  t.same(frameAll([bytes]), [{ a: 1 }, [2], { b: [3, 4] }]);
  const f = new JsonFramer();
  t.same(f.push(Buffer.from('{"a":')), []);
  t.equal(f.bufferedBytes, 5);
  t.same(f.push(Buffer.from('1} ')), [{ a: 1 }]);
  t.equal(f.bufferedBytes, 0);
});

t.test('accepts Uint8Array that is not a Buffer', async (t) => {
  const u = new TextEncoder().encode('{"x":"ü"}');
  t.same(new JsonFramer().push(u), [{ x: 'ü' }]);
});

t.test('size bound: a value longer than maxMessageBytes is a FramingError', async (t) => {
  const f = new JsonFramer({ maxMessageBytes: 16 });
  t.same(f.push(Buffer.from('{"a":"0123456"}')), [{ a: '0123456' }], '15 bytes pass');
  t.throws(() => f.push(Buffer.from('{"a":"01234567890"}')), FramingError);
  // The framer is unusable afterwards: the stream lost synchronisation.
  t.throws(() => f.push(Buffer.from('{}')), FramingError);

  const g = new JsonFramer({ maxMessageBytes: 16 });
  t.same(g.push(Buffer.from('{"a":"0123')), []);
  t.throws(
    () => g.push(Buffer.from('456789abcdef')),
    /maxMessageBytes \(16 bytes\)/,
    'bounded across chunks',
  );

  t.throws(() => new JsonFramer({ maxMessageBytes: 0 }), FramingError);
});

t.test('garbage between values and invalid JSON are FramingErrors', async (t) => {
  t.throws(() => new JsonFramer().push(Buffer.from('{"a":1}x')), /unexpected byte 0x78/);
  t.throws(() => new JsonFramer().push(Buffer.from('123')), FramingError);
  t.throws(() => new JsonFramer().push(Buffer.from('{"a":1,}')), /invalid JSON/);
  const out: unknown[] = [];
  t.throws(() => new JsonFramer().pushTo(Buffer.from('{"ok":1}{"bad":}'), out), FramingError);
  t.same(out, [{ ok: 1 }], 'values before the error are delivered');
});
