// Differential: seeded random transactions (about a fifth of them fail: duplicate index, range and
// referential errors, aborts, failed waits, expect guards) against a real ovsdb-server that is SIGKILLed
// mid-stream (twice, with transactions in flight) and restarted; the replica must end up equal to `ovsdb-client dump`, compared through an
// independent canonical form. Seeds: OCN_DIFF_SEEDS="1,2,3" (default three fixed seeds, a few seconds each).
import { fileURLToPath } from 'node:url';
import { startOvsdbServer, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { connect, type OvsdbClient } from '../../src/client.js';
import { database } from '../../src/database.js';
import { TransactionError } from '../../src/errors.js';
import { Replica } from '../../src/replica/replica.js';
import { OvsdbSession } from '../../src/session/session.js';
import type { Transaction } from '../../src/transaction.js';
import type { Uuid } from '../../src/uuid.js';
import * as C from '../fixtures/conformance-model.js';
import { canonRow, dumpTable, schemaTypes } from '../fixtures/wire-canon.js';

const schemaFile = fileURLToPath(new URL('../fixtures/schemas/conformance.ovsschema', import.meta.url));
const types = schemaTypes(schemaFile);
const TABLES = ['Values', 'Child', 'Peer'] as const;
const SEEDS = (process.env.OCN_DIFF_SEEDS ?? '7,1013,4242').split(',').map(Number);
const STEPS = 300;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick };
}

const STR = ['', 'a', 'b', '𝄞', 'héllo', '\u{10FFFF}', 'x y', '"q"'];
const REAL = [0, 0.5, -1.25, 1 / 3, 1e300, -2.5e-300, 1e21];

type Tx = Transaction<'Conformance'>;

function step(rnd: ReturnType<typeof prng>, x: Tx, peers: string[]): void {
  const tag = () => `t${rnd.int(24)}`;
  const where = () => [['tag', '==', tag()]] as const;
  switch (rnd.int(11)) {
    case 0:
    case 1: {
      const kids = Array.from({ length: rnd.int(3) }, () =>
        x.insert(C.Child, { name: rnd.pick(STR), n: rnd.int(1001) }),
      );
      x.insert(C.Values, {
        tag: tag(), // may collide with an existing tag: a commit-time "constraint violation"
        i: rnd.int(2 ** 40) - 2 ** 39,
        r: rnd.pick(REAL),
        s: rnd.pick(STR),
        i_pos: 1 + rnd.int(9),
        s3: [rnd.pick(STR)],
        m_s2: { [rnd.pick(STR)]: rnd.next() < 0.5 },
        si: Array.from(new Set(Array.from({ length: rnd.int(5) }, () => rnd.int(100)))),
        m_ss: Object.fromEntries(Array.from({ length: rnd.int(4) }, () => [rnd.pick(STR), rnd.pick(STR)])),
        m_ii: Object.fromEntries(Array.from({ length: rnd.int(3) }, () => [String(rnd.int(50)), rnd.int(9)])),
        children: kids,
        peers: peers.length && rnd.next() < 0.5 ? [rnd.pick(peers) as Uuid<'Peer'>] : [],
      });
      return;
    }
    case 2:
      x.update(C.Values, where(), {
        s: rnd.pick(STR),
        r: rnd.pick(REAL),
        ob: rnd.next() < 0.5 ? null : true,
      });
      return;
    case 3:
      x.mutate(C.Values, where(), [
        [
          'si',
          rnd.next() < 0.5 ? 'insert' : 'delete',
          [rnd.int(100), rnd.int(100)].filter((v, i, a) => a.indexOf(v) === i),
        ],
        ['m_ss', 'insert', { [rnd.pick(STR)]: rnd.pick(STR) }],
        ['i', '+=', rnd.int(1000)],
      ]);
      return;
    case 4:
      // range error at commit when i_range leaves [-4096, 4095]
      x.mutate(C.Values, where(), [['i_range', '+=', rnd.int(3000)]]);
      return;
    case 5:
      x.delete(C.Values, where());
      return;
    case 6: {
      // Drop a row's children (the server garbage-collects them) or give it a new one.
      if (rnd.next() < 0.5) x.update(C.Values, where(), { children: [] });
      else {
        const kid = x.insert(C.Child, { name: 'k', n: rnd.int(1001) });
        x.mutate(C.Values, where(), [['children', 'insert', [kid]]], {
          expect: rnd.next() < 0.5 ? 'one' : 'some',
        });
      }
      return;
    }
    case 7: {
      const name = `p${rnd.int(6)}`;
      if (rnd.next() < 0.6)
        x.insert(C.Peer, { name }); // duplicates fail at commit
      else x.delete(C.Peer, [['name', '==', name]]); // weak references to it vanish
      return;
    }
    case 8:
      x.update(C.Values, where(), { m_s2: { a: true, b: rnd.next() < 0.5 } });
      x.wait(C.Values, { where: where(), columns: ['i_pos'], until: '==', rows: [{ i_pos: 1 }], timeout: 0 });
      return;
    case 9:
      x.update(C.Values, where(), { s: 'aborted' });
      x.abort();
      return;
    default:
      // referential integrity violation: delete a child that a Values row still references
      x.delete(C.Child, [['name', '==', 'k']]);
  }
}

/** JSON with object keys sorted (the canonical rows are compared as text while polling). */
function stable(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

function canonAll(rows: (table: string) => Iterable<Record<string, unknown>>) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const tb of TABLES) {
    for (const r of rows(tb)) out[`${tb}:${r._uuid as string}`] = canonRow(types.get(tb)!, r, 'js');
  }
  return out;
}

for (const seed of SEEDS) {
  t.test(
    `seed ${seed}: replica = ovsdb-client dump across ${STEPS} random transactions and two SIGKILLs`,
    async (t) => {
      const rnd = prng(seed);
      let server = await startOvsdbServer({ schema: schemaFile });
      t.teardown(() => server.stop());
      const ep = server.unixEndpoint;
      const session = OvsdbSession.start({
        remotes: ep,
        database: 'Conformance',
        backoff: { initialMs: 50, maxMs: 200 },
      });
      t.teardown(() => session.close());
      const replica = Replica.start(session, { tables: { Values: {}, Child: {}, Peer: {} } });
      t.teardown(() => replica.close());
      await replica.whenReady({ timeoutMs: 10_000 });
      let client: OvsdbClient = await connect(ep);
      t.teardown(() => client.close());

      const fromDump = () => {
        const out: Record<string, Record<string, unknown>> = {};
        for (const tb of TABLES) {
          for (const [u, r] of dumpTable(ep, 'Conformance', tb, types.get(tb)!)) out[`${tb}:${u}`] = r;
        }
        return out;
      };
      const fromReplica = () =>
        canonAll((tb) => replica.table(tb as 'Values').values() as Iterable<Record<string, unknown>>);
      const converge = async (what: string) => {
        const t0 = Date.now();
        let last: unknown;
        try {
          await waitFor(() => {
            const a = fromReplica();
            const b = fromDump();
            last = [a, b];
            return stable(a) === stable(b);
          }, 10_000);
        } catch {
          // fall through to the assertion, which shows the difference
        }
        const [a, b] = (last as [unknown, unknown]) ?? [fromReplica(), fromDump()];
        t.same(a, b, `${what}: replica = ovsdb-client dump`);
        if (process.env.OCN_DIFF_TRACE)
          t.comment(`${what}: converged in ${Date.now() - t0} ms, at ${Date.now() - start} ms`);
      };

      const start = Date.now();
      const outcome = { ok: 0, failed: 0, unknown: 0 };
      const kinds = new Set<string>();
      const run = async (i: number) => {
        const peers = [...replica.table('Peer').values()].map((p) => (p as { _uuid: string })._uuid);
        try {
          await database(client, C.model).transact((x) => {
            step(rnd, x, peers);
            if (rnd.next() < 0.3) step(rnd, x, peers); // two steps in one transaction, sometimes
          });
          outcome.ok++;
        } catch (err) {
          if (err instanceof TransactionError) {
            outcome.failed++;
            kinds.add(err.error);
          } else if (
            (err as { code?: string }).code === 'OVSDB_ERR_VALIDATION' ||
            (err as Error).name === 'InvalidArgumentError'
          ) {
            outcome.failed++;
            kinds.add((err as Error).name);
          } else {
            outcome.unknown++;
            kinds.add((err as Error).name);
          }
        }
        return i;
      };

      for (let i = 0; i < STEPS; i++) {
        if (i === Math.floor(STEPS / 3) || i === Math.floor((2 * STEPS) / 3)) {
          await converge(`before the kill (step ${i})`);
          // SIGKILL with transactions in flight: their outcome is unknown to us, not to the dump.
          const inflight = [run(i), run(i + 0.5)];
          await server.kill('SIGKILL');
          await Promise.all(inflight);
          server = await server.restart();
          client.close();
          client = await connect(ep);
          continue;
        }
        await run(i);
        if (i % 50 === 49) await converge(`after step ${i}`);
      }
      await converge('at the end');
      t.ok(outcome.ok > STEPS / 4, `committed: ${JSON.stringify(outcome)}`);
      t.ok(outcome.failed > 5, `failures: ${[...kinds].join(', ')}`);
      t.ok(replica.stats.fullSnapshots >= 3, 'the replica reloaded after each restart');
    },
  );
}
