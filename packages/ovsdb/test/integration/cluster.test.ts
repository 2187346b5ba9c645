// A three-server Raft cluster on loopback whose leader is killed while another client writes. The replica
// (leader-only, through `_Server`) moves to the new leader and ends equal to a fresh snapshot taken from
// it, with every committed write seen exactly once: one insert event per row, no modify/delete, no anomaly
// (an update applied twice or lost would show as one of those). Writes whose connection died in flight
// come back as MaybeCommittedError and are never replayed by the library.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { OvsdbClient } from '../../src/client.js';
import { MaybeCommittedError } from '../../src/errors.js';
import { Replica } from '../../src/replica/replica.js';
import type { RowChange } from '../../src/replica/store.js';
import { OvsdbSession } from '../../src/session/session.js';

const SCHEMA = {
  name: 'Ocnt',
  version: '1.0.0',
  tables: {
    Item: {
      columns: { name: { type: 'string' }, n: { type: 'integer' } },
      isRoot: true,
      indexes: [['name']],
    },
  },
};

interface Tables {
  Item: { name: string; n: number };
}

t.test(
  'leader killed during writes: the replica follows the new leader, nothing lost or doubled',
  async (t) => {
    const dir = mkdtempSync('/run/ocnt-ct-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const schemaFile = join(dir, 'ocnt.ovsschema');
    writeFileSync(schemaFile, JSON.stringify(SCHEMA));
    const cluster = await startCluster({ schema: schemaFile, size: 3 });
    t.teardown(() => cluster.stop());

    const opts = {
      database: 'Ocnt',
      backoff: { initialMs: 200, maxMs: 1000 },
      client: { inactivityProbeMs: 0 },
    };
    const session = OvsdbSession.start({ ...opts, remotes: cluster.endpoints });
    t.teardown(() => session.close());
    const replica = Replica.start<Tables>(session, {
      tables: { Item: { indexes: { byName: (r) => r.name } } },
    });
    t.teardown(() => replica.close());
    const events: RowChange[] = [];
    replica.on('change', (c) => events.push(c));
    await replica.ready;
    await session.connected();
    const firstLeader = await cluster.leader();
    t.equal(session.status.remote, cluster.endpoints[firstLeader], 'leader-only: connected to the leader');
    t.equal(session.status.server?.leader, true);

    const writer = OvsdbSession.start({ ...opts, remotes: cluster.endpoints });
    t.teardown(() => writer.close());
    const committed: string[] = [];
    const maybe: string[] = [];
    const failed: string[] = [];
    const TOTAL = 60;
    let killed = false;
    for (let i = 0; i < TOTAL; i++) {
      const name = `w${i}`;
      if (i === 20) {
        await cluster.kill(firstLeader);
        killed = true;
      }
      try {
        const res = await writer.transact('Ocnt', [{ op: 'insert', table: 'Item', row: { name, n: i } }]);
        const r = res[0] as { uuid?: unknown; error?: string };
        if (r?.uuid) committed.push(name);
        else failed.push(`${name}: ${JSON.stringify(res)}`);
      } catch (err) {
        if (err instanceof MaybeCommittedError) maybe.push(name);
        else failed.push(`${name}: ${(err as Error).message}`);
      }
    }
    t.ok(killed);
    t.ok(
      committed.length >= TOTAL - 5,
      `most writes committed (${committed.length}; maybe: ${maybe.join(',')}; failed: ${failed.join(' | ')})`,
    );

    const newLeader = await cluster.leader();
    t.not(newLeader, firstLeader, 'a new leader was elected');
    // The fresh snapshot, read straight from the new leader.
    const c = await OvsdbClient.connect(cluster.endpoints[newLeader] as string);
    t.teardown(() => c.close());
    const [sel] = (await c.transact('Ocnt', [
      { op: 'select', table: 'Item', where: [], columns: ['_uuid', 'name', 'n'] },
    ])) as [{ rows: { _uuid: [string, string]; name: string; n: number }[] }];
    const fresh = new Map(sel.rows.map((r) => [r._uuid[1], `${r.name}=${r.n}`]));
    for (const name of committed)
      t.ok([...fresh.values()].includes(`${name}=${name.slice(1)}`), `${name} committed`);

    await waitFor(
      () => replica.table('Item').size === fresh.size && session.status.state === 'connected',
      30_000,
      'the replica to catch up with the new leader',
    );
    const mine = new Map([...replica.table('Item')].map((r) => [r._uuid, `${r.name}=${r.n}`]));
    t.same(mine, fresh, 'the replica equals a fresh snapshot');
    t.equal(session.status.remote, cluster.endpoints[newLeader], 'the replica moved to the new leader');
    t.equal(session.status.server?.leader, true);

    const inserts = new Map<string, number>();
    for (const e of events) {
      if (e.type === 'insert') inserts.set(e.uuid, (inserts.get(e.uuid) ?? 0) + 1);
    }
    t.same(
      events.filter((e) => e.type !== 'insert').map((e) => `${e.type}:${e.uuid}`),
      [],
      'no modify or delete: nothing was applied twice or purged',
    );
    t.equal(inserts.size, fresh.size, 'one insert event per row');
    t.ok(
      [...inserts.values()].every((n) => n === 1),
      'no row inserted twice',
    );
    t.equal(replica.stats.anomalies, 0);
    t.comment(
      `syncs: full=${replica.stats.fullSnapshots} resumed=${replica.stats.resumes}; maybe-committed: ${maybe.length}`,
    );
  },
);

t.test('leader-only refuses a follower; read-from-followers is opt-in', async (t) => {
  const dir = mkdtempSync('/run/ocnt-ct-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const schemaFile = join(dir, 'ocnt.ovsschema');
  writeFileSync(schemaFile, JSON.stringify(SCHEMA));
  const cluster = await startCluster({ schema: schemaFile, size: 3 });
  t.teardown(() => cluster.stop());
  const leader = await cluster.leader();
  const follower = cluster.endpoints[(leader + 1) % 3] as string;
  const opts = {
    database: 'Ocnt',
    backoff: { initialMs: 100, maxMs: 300 },
    client: { inactivityProbeMs: 0 },
  };

  const strict = OvsdbSession.start({ ...opts, remotes: follower });
  t.teardown(() => strict.close());
  const refusal = await waitFor(
    () => (strict.status.state === 'disconnected' ? strict.status.error : undefined),
    20_000,
    'the follower to be refused',
  );
  t.match(refusal?.message ?? '', /not the leader/, 'leader-only: the follower is not used');
  t.equal(strict.client, undefined);

  const relaxed = OvsdbSession.start({ ...opts, remotes: follower, leaderOnly: false });
  t.teardown(() => relaxed.close());
  const replica = Replica.start<Tables>(relaxed, { tables: { Item: {} } });
  t.teardown(() => replica.close());
  await replica.ready;
  await relaxed.connected();
  t.equal(relaxed.status.server?.leader, false, `connected to a follower: ${JSON.stringify(relaxed.status)}`);
  // Writes sent to a follower are forwarded to the leader; the follower's monitor shows the result.
  await replica.transact('Ocnt', [{ op: 'insert', table: 'Item', row: { name: 'via-follower', n: 1 } }]);
  await waitFor(() => replica.table('Item').size === 1, 10_000, 'the row in the follower replica');
  t.ok(relaxed.minIndex > 0, 'the Raft index seen is tracked');
});
