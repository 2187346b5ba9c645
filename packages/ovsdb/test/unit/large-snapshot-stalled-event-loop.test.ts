// Regression: a 10,000-row initial snapshot (one ~20 MB message) was parsed by a single JSON.parse and
// applied in one go, stalling the event loop for 150+ ms. Now a large message is parsed in slices
// (framer.ts SlicedMessage) with the event loop running in between, and the connection holds every later
// message until a slow onResult (the replica applying a snapshot in steps) is done. These tests check the
// mechanism, not timings: no JSON.parse of the whole message, loop turns during it, exact values, order.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FramingError } from '../../src/errors.js';
import { JsonFramer, SlicedMessage } from '../../src/framer.js';
import { peer } from '../fixtures/scripted-peer.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const traffic = readFileSync(join(fixtures, 'ovsdb-traffic.bin'));
const expected = JSON.parse(readFileSync(join(fixtures, 'ovsdb-traffic.json'), 'utf8')) as unknown[];

function resolve(v: unknown): { value: unknown; steps: number } {
  if (!(v instanceof SlicedMessage)) return { value: v, steps: 0 };
  const it = v.steps();
  let steps = 0;
  for (;;) {
    const r = it.next();
    if (r.done) return { value: r.value, steps };
    steps++;
  }
}

/** A monitor_cond_since reply like ovsdb-server's, with awkward content in places. */
function snapshot(rows: number): string {
  const table = (name: string) => {
    const out: string[] = [];
    for (let i = 0; i < rows; i++) {
      const uuid = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
      out.push(
        `"${uuid}":{"initial":{"name":"${name}${i} ✓ 𝄞 \\"q\\" \\\\ {[,:]}","tag":${i},` +
          `"external_ids":["map",[["k","v${i}"],["__proto__","x"]]],"trunks":["set",[]],"other_config":["map",[]]}}`,
      );
    }
    return `{${out.join(', ')}}`;
  };
  return `{"id":7,"result":[false,"txn-1",{"Port":${table('p')} , "Interface":${table('i')},"Empty":{}}],"error":null}`;
}

/** Records the longest text JSON.parse is given until restore(). */
function spyOnParse(): { largest(): number; restore(): void } {
  const parse = JSON.parse;
  let largest = 0;
  JSON.parse = ((s: string, r?: never) => {
    largest = Math.max(largest, s.length);
    return parse(s, r);
  }) as typeof JSON.parse;
  return {
    largest: () => largest,
    restore: () => {
      JSON.parse = parse;
    },
  };
}

t.test('every captured message, sliced, equals JSON.parse of it, at every split point', async (t) => {
  let bad = 0;
  for (let k = 0; k <= traffic.length; k += 7) {
    const f = new JsonFramer({ sliceBytes: 2 }); // every message is sliced
    const out = [...f.push(traffic.subarray(0, k)), ...f.push(traffic.subarray(k))];
    if (JSON.stringify(out.map((v) => resolve(v).value)) !== JSON.stringify(expected)) bad++;
  }
  t.equal(bad, 0);
});

t.test('a large snapshot is parsed in slices, none near the size of the message', async (t) => {
  const text = snapshot(4000);
  const bytes = Buffer.from(text);
  t.ok(bytes.length > 1_500_000, `${bytes.length} bytes`);
  const f = new JsonFramer({ sliceBytes: 1024 * 1024 });
  const [m] = f.push(bytes);
  t.type(m, SlicedMessage);
  const spy = spyOnParse();
  let got: { value: unknown; steps: number };
  try {
    got = resolve(m);
  } finally {
    spy.restore();
  }
  const largest = spy.largest();
  t.ok(got.steps >= 8, `${got.steps} steps`);
  t.ok(largest < 200 * 1024, `largest single JSON.parse: ${largest} chars`);
  t.same(got.value, JSON.parse(text), 'equal to one JSON.parse of the whole');
  const ports = (got.value as { result: [boolean, string, Record<string, Record<string, unknown>>] })
    .result[2].Port as Record<string, { initial: { external_ids: [string, [string, string][]] } }>;
  t.equal(Object.getPrototypeOf(ports), Object.prototype, '"__proto__" keys stay data, prototypes intact');
  t.equal(Object.keys(ports).length, 4000);
});

t.test('invalid JSON inside a sliced message is a FramingError', async (t) => {
  const text = snapshot(2000).replace('"tag":1234,', '"tag":1234,,');
  const [m] = new JsonFramer({ sliceBytes: 1024 }).push(Buffer.from(text));
  t.throws(() => resolve(m), FramingError);
});

t.test('the connection parses a large reply in slices, with the event loop running', async (t) => {
  const p = await peer(t);
  const text = snapshot(4000).replace('"id":7', '"id":1');
  const spy = spyOnParse();
  t.teardown(() => spy.restore());
  let turns = 0;
  let counting = true;
  const count = () => {
    turns++;
    if (counting) setImmediate(count);
  };
  let turnsAtLastByte = -1;
  const r = p.conn.request('monitor_cond_since', ['db', 'm', {}, '0']);
  await p.waitFor('"id":1}');
  p.sock.write(text, () => {
    turnsAtLastByte = turns;
  });
  setImmediate(count);
  const result = (await r) as [boolean, string, Record<string, object>];
  counting = false;
  spy.restore();
  const largest = spy.largest();
  t.same(result, JSON.parse(text).result);
  t.ok(largest < 200 * 1024, `largest single JSON.parse: ${largest} chars (message ${text.length})`);
  t.ok(
    turns > turnsAtLastByte + 2,
    `event loop turns after the last byte was written: ${turns - turnsAtLastByte}`,
  );
});

t.test('an onResult that returns a promise holds later messages until it settles', async (t) => {
  const p = await peer(t);
  const order: string[] = [];
  p.conn.on('update3', (_id, txn) => order.push(`update3 ${txn}`));
  let release!: () => void;
  const applied = new Promise<void>((r) => {
    release = r;
  });
  const r = p.conn
    .request('monitor_cond_since', ['db', 'm', {}, '0'], {
      onResult: () => {
        order.push('onResult');
        return applied.then(() => {
          order.push('applied');
        });
      },
    })
    .then(() => order.push('resolved'));
  await p.waitFor('"id":1}');
  const echo = p.conn.request('echo', ['after']).then(() => order.push('echo reply'));
  await p.waitFor('"id":2}');
  p.sock.write(
    '{"id":1,"result":[false,"t0",{}],"error":null}{"id":null,"method":"update3","params":["m","t1",{}]}' +
      '{"id":2,"result":["after"],"error":null}',
  );
  for (let i = 0; i < 20; i++) await new Promise((res) => setImmediate(res));
  t.same(order, ['onResult'], 'nothing dispatched while the snapshot is applied');
  release();
  await Promise.all([r, echo]);
  t.same(order, ['onResult', 'applied', 'resolved', 'update3 t1', 'echo reply']);
});

t.test('a big snapshot with a message right behind it in the same write: order kept', async (t) => {
  const p = await peer(t);
  const order: string[] = [];
  p.conn.on('update3', (_id, txn) => order.push(`update3 ${txn}`));
  const text = snapshot(3000).replace('"id":7', '"id":1');
  const r = p.conn
    .request('monitor_cond_since', ['db', 'm', {}, '0'], { onResult: () => order.push('onResult') })
    .then(() => order.push('resolved'));
  await p.waitFor('"id":1}');
  p.sock.write(`${text}{"id":null,"method":"update3","params":["m","t2",{}]}`);
  await r;
  await new Promise((res) => setImmediate(res));
  t.same(order, ['onResult', 'resolved', 'update3 t2'], 'the update only after the reply');
});

t.test('a sink takes the rows as they are parsed; the envelope is read first', async (t) => {
  const text = snapshot(3000);
  const [m] = new JsonFramer({ sliceBytes: 1024 }).push(Buffer.from(text));
  const sliced = m as SlicedMessage;
  t.same(sliced.envelope(), { id: 7, error: null }, 'id and error without parsing the result');
  const taken: Record<string, Record<string, unknown>> = {};
  const it = sliced.steps((path, part) => {
    if (path.length !== 3 || path[0] !== 'result' || path[1] !== 2 || Array.isArray(part)) return false;
    const table = path[2] as string;
    taken[table] = { ...taken[table], ...part };
    return true;
  });
  let r = it.next();
  while (!r.done) r = it.next();
  const whole = JSON.parse(text);
  t.same(r.value, { ...whole, result: [false, 'txn-1', { Port: {}, Interface: {}, Empty: {} }] });
  t.same(taken, { Port: whole.result[2].Port, Interface: whole.result[2].Interface });
});

t.test('a large message arriving in many chunks is sliced across chunk boundaries exactly', async (t) => {
  const text = snapshot(1500);
  const bytes = Buffer.from(text);
  const f = new JsonFramer({ sliceBytes: 64 * 1024 });
  const out: unknown[] = [];
  // Odd chunk sizes put chunk boundaries inside keys, strings, multibyte characters and numbers.
  for (let i = 0, n = 0; i < bytes.length; n++) {
    const len = 1 + ((n * 7919) % 4093);
    f.pushTo(bytes.subarray(i, i + len), out);
    i += len;
  }
  t.equal(out.length, 1);
  t.type(out[0], SlicedMessage);
  t.same(resolve(out[0]).value, JSON.parse(text));
});
