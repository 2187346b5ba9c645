// Regression: integers beyond 2^53 written by ovsdb-client read back as other numbers (JSON.parse rounds
// them before the library sees them). 2^62+1, -2^63 and 2^63-1 are written with `ovsdb-client transact`
// and must read back exactly through a raw select, a typed select, monitor updates (update3 through the
// replica, and raw update2) and the replica's snapshot; bigints written by us must read back exactly in
// `ovsdb-client` output too. Column types: scalar (i), optional (oi), set (si), map keys (m_is).
import { fileURLToPath } from 'node:url';
import { run, startOvsdbServer } from '@ovs-container-network/testkit';
import t from 'tap';
import { connect } from '../../src/client.js';
import { database } from '../../src/database.js';
import type { TableUpdates2 } from '../../src/protocol.js';
import { Replica } from '../../src/replica/replica.js';
import { OvsdbSession } from '../../src/session/session.js';
import * as Typed from '../fixtures/typed-model.js';

const schema = fileURLToPath(new URL('../fixtures/schemas/typed.ovsschema', import.meta.url));
const BIG = 2n ** 62n + 1n; // 4611686018427387905: as a double it would be 4611686018427387904
const MIN = -(2n ** 63n);
const MAX = 2n ** 63n - 1n;
const SAFE = 2 ** 53 - 1;

/** Text of a JSON value with bigints written as bare digits (what ovsdb-client expects). */
function wire(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `@@${x}@@` : x)).replace(
    /"@@(-?\d+)@@"/g,
    '$1',
  );
}

t.test('64-bit integers written by ovsdb-client read back exactly everywhere', async (t) => {
  const server = await startOvsdbServer({ schema });
  t.teardown(() => server.stop());
  const client = await connect(server.unixEndpoint);
  t.teardown(() => client.close());
  const db = database(client, Typed.model);

  // The replica, synced before the write: the row reaches it as an update3 (monitor_cond_since).
  const session = OvsdbSession.start({ remotes: server.unixEndpoint, database: 'Typed' });
  t.teardown(() => session.close());
  const replica = Replica.start<{ Atoms: Typed.Atoms }>(session, { tables: { Atoms: {} } });
  t.teardown(() => replica.close());
  await replica.ready;
  // A raw monitor too: update2 notifications as the wire delivers them.
  const raw: TableUpdates2[] = [];
  client.on('update2', (_id, u) => raw.push(u));
  await client.monitorCond('Typed', 'raw', { Atoms: [{ columns: ['i', 'oi', 'si', 'm_is'] }] });

  const row = {
    s: 'ocnt-int64',
    ss: 'x',
    s_enum: 'red',
    i: BIG,
    oi: MIN,
    si: ['set', [MIN, MAX, BIG, SAFE, -SAFE]],
    m_is: [
      'map',
      [
        [MAX, 'max'],
        [MIN, 'min'],
        [BIG, 'big'],
      ],
    ],
  };
  const { stdout } = await run('ovsdb-client', [
    'transact',
    server.unixEndpoint,
    wire(['Typed', { op: 'insert', table: 'Atoms', row }]),
  ]);
  t.match(stdout, /"uuid"/, `ovsdb-client inserted the row: ${stdout}`);
  await client.echo([]); // the monitor's update was sent before this reply

  const expectSet = [MIN, -SAFE, SAFE, BIG, MAX]; // sorted as ovsdb-server keeps sets
  const check = (r: Record<string, unknown> | undefined, how: string) => {
    t.ok(r, `${how}: the row is there`);
    if (!r) return;
    t.equal(r.i, BIG, `${how}: i is 2^62+1 exactly`);
    t.equal(r.oi, MIN, `${how}: oi is -2^63 exactly`);
    t.same(
      [...(r.si as unknown[])].sort((a, b) => (BigInt(a as number) < BigInt(b as number) ? -1 : 1)),
      expectSet,
      `${how}: si exact`,
    );
    t.equal(typeof (r.si as unknown[]).find((x) => x === SAFE), 'number', `${how}: 2^53-1 stays a number`);
    const m = r.m_is as Map<unknown, unknown>;
    t.same(
      [m.get(MAX), m.get(MIN), m.get(BIG)],
      ['max', 'min', 'big'],
      `${how}: map keys exact (Map keyed by bigint)`,
    );
  };

  // Raw select: the wire values themselves are bigints.
  const [sel] = (await client.transact('Typed', [
    { op: 'select', table: 'Atoms', where: [['s', '==', 'ocnt-int64']], columns: ['i', 'oi'] },
  ])) as [{ rows: { i: unknown; oi: unknown }[] }];
  t.same(sel.rows, [{ i: BIG, oi: MIN }], 'raw select: bigints on the wire level');
  // Typed select.
  const [typed] = await db.select(Typed.Atoms, [['s', '==', 'ocnt-int64']]);
  check(typed as Record<string, unknown> | undefined, 'typed select');
  // The replica (update3 of monitor_cond_since).
  const inReplica = replica.table('Atoms').filter((a) => a.s === 'ocnt-int64')[0];
  check(inReplica as Record<string, unknown> | undefined, 'replica (update3)');
  // Raw update2.
  const insert = raw.flatMap((u) => Object.values(u.Atoms ?? {})).find((ru) => 'insert' in ru) as
    | { insert: Record<string, unknown> }
    | undefined;
  t.equal(insert?.insert.i, BIG, 'raw update2: 2^62+1 exactly');
  t.equal(insert?.insert.oi, MIN, 'raw update2: -2^63 exactly');

  // A fresh replica: the same row in its initial snapshot.
  const s2 = OvsdbSession.start({ remotes: server.unixEndpoint, database: 'Typed' });
  t.teardown(() => s2.close());
  const r2 = Replica.start<{ Atoms: Typed.Atoms }>(s2, { tables: { Atoms: {} } });
  t.teardown(() => r2.close());
  await r2.ready;
  check(
    r2.table('Atoms').filter((a) => a.s === 'ocnt-int64')[0] as Record<string, unknown> | undefined,
    'replica (initial snapshot)',
  );

  // Written by us as bigints (typed update and a mutation), read back by ovsdb-client.
  await db.transact((tx) => {
    tx.update(Typed.Atoms, [['s', '==', 'ocnt-int64']], { i: MAX, oi: MIN + 1n });
    tx.mutate(Typed.Atoms, [['s', '==', 'ocnt-int64']], [['si', 'delete', [BIG]]]);
  });
  const dump = await run('ovsdb-client', [
    'query',
    server.unixEndpoint,
    JSON.stringify(['Typed', { op: 'select', table: 'Atoms', where: [], columns: ['i', 'oi', 'si'] }]),
  ]);
  t.match(dump.stdout, `"i":${MAX}`, 'ovsdb-client reads 2^63-1 as written');
  t.match(dump.stdout, `"oi":${MIN + 1n}`, 'ovsdb-client reads -2^63+1 as written');
  t.notMatch(dump.stdout, String(BIG), 'the deleted set element is gone');
  const [after] = await db.select(Typed.Atoms, [['i', '==', MAX]]);
  t.equal(after?.oi, MIN + 1n, 'a condition on a bigint matches; read back exactly');
  t.equal(replica.table('Atoms').filter((a) => a.s === 'ocnt-int64')[0]?.i, MAX, 'replica modify exact');
});

t.test('a number beyond 2^53 is refused before sending; a bigint beyond 64 bits too', async (t) => {
  const server = await startOvsdbServer({ schema });
  t.teardown(() => server.stop());
  const client = await connect(server.unixEndpoint);
  t.teardown(() => client.close());
  const db = database(client, Typed.model);
  await t.rejects(
    db.transact((tx) => tx.insert(Typed.Atoms, { ss: ['x'], s_enum: 'red', i: 2 ** 62 })),
    /Atoms\.i: 4611686018427388000 is not allowed; expected integer; a number beyond .*pass a bigint/,
  );
  await t.rejects(
    db.transact((tx) => tx.insert(Typed.Atoms, { ss: ['x'], s_enum: 'red', i: 2n ** 63n })),
    /Atoms\.i: 9223372036854775808n is not allowed; expected integer within the 64-bit range/,
  );
  t.same(await db.select(Typed.Atoms, []), [], 'nothing was written');
});
