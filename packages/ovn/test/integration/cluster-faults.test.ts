// Clustered NB and SB (3 Raft members each) with ovn-northd pointed at every member. During 200 logical
// switch port writes through OvnClient (8 in flight), the NB leader is SIGKILLed, later restarted, and a
// leadership transfer is forced the way automatic compaction does it (raft_notify_snapshot_recommended; a
// user `ovsdb-server/compact` does not transfer leadership in OVS 3.1). Every write either succeeds, fails
// with a known error, or is reported MaybeCommittedError (never replayed); at the end the NB replica equals
// a fresh snapshot from the leader, nothing was applied twice, and northd still propagates (sync 'sb').
import { MaybeCommittedError, OvsdbClient } from '@ovs-container-network/ovsdb';
import * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import { type OvnEnv, startOvnEnv, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { OvnClient } from '../../src/index.js';

const env: OvnEnv = await startOvnEnv({ nb: 'clustered', sb: 'clustered' });
t.teardown(() => env.stop());

t.test('NB leader killed and leadership transferred during 200 writes', async (t) => {
  const ovn = await OvnClient.connect({
    nb: env.nb.endpoints,
    sb: env.sb.endpoints,
    backoff: { initialMs: 100, maxMs: 500 },
    client: { inactivityProbeMs: 0 },
  });
  t.teardown(() => ovn.close());
  const SWITCHES = 10;
  const switches = await ovn.transact((tx) =>
    Array.from({ length: SWITCHES }, (_, i) => tx.insert(NB.Logical_Switch, { name: `ocnt-ls${i}` })),
  );
  const firstLeader = await env.nb.leader();
  t.equal(ovn.nbSession.status.remote, env.nb.endpoints[firstLeader], 'leader-only: on the leader');

  const TOTAL = 200;
  const ok: string[] = [];
  const maybe: string[] = [];
  const failed: { name: string; error: string }[] = [];
  let next = 0;
  const faults: string[] = [];
  const onWrite = async (i: number) => {
    if (i === 50) {
      faults.push(`kill NB member ${firstLeader}`);
      await env.nb.kill(firstLeader);
    } else if (i === 110) {
      faults.push(`restart NB member ${firstLeader}`);
      await env.nb.restart(firstLeader);
    } else if (i === 150) {
      const { from, to } = await env.nb.transferLeadership();
      faults.push(`leadership ${from} → ${to}`);
    }
  };
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= TOTAL) return;
      await onWrite(i);
      const name = `ocnt-w${i}`;
      const mac = `0a:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:01`;
      const addr = `${mac} 10.78.${i >> 8}.${(i & 255) + 1}`;
      try {
        await ovn.transact(
          (tx) => {
            const p = tx.insert(NB.Logical_Switch_Port, { name, addresses: [addr], port_security: [addr] });
            tx.mutate(
              NB.Logical_Switch,
              [['_uuid', '==', switches[i % SWITCHES] as NB.Logical_SwitchUuid]],
              [['ports', 'insert', [p]]],
            );
          },
          { requestTimeoutMs: 15_000 },
        );
        ok.push(name);
      } catch (err) {
        if (err instanceof MaybeCommittedError) maybe.push(name);
        else failed.push({ name, error: (err as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  t.equal(ok.length + maybe.length + failed.length, TOTAL, 'every write has an outcome');
  t.comment(
    `faults: ${faults.join('; ')}; ok ${ok.length}, maybe-committed ${maybe.length}, failed ${failed.length}`,
  );
  t.ok(ok.length >= TOTAL - 40, `most writes committed (${ok.length})`);

  const leader = await env.nb.leader();
  // The fresh snapshot, straight from the leader.
  const raw = await OvsdbClient.connect(env.nb.endpoints[leader] as string);
  t.teardown(() => raw.close());
  const portsOf = (p: unknown): string[] => {
    const v = p as [string, unknown];
    if (v[0] === 'uuid') return [v[1] as string];
    return (v[1] as [string, string][]).map((x) => x[1]).sort();
  };
  const snapshot = async () => {
    const [lsps, lss] = (await raw.transact('OVN_Northbound', [
      { op: 'select', table: 'Logical_Switch_Port', where: [], columns: ['_uuid', 'name'] },
      { op: 'select', table: 'Logical_Switch', where: [], columns: ['_uuid', 'name', 'ports'] },
    ])) as [
      { rows: { _uuid: [string, string]; name: string }[] },
      { rows: { _uuid: [string, string]; name: string; ports: unknown }[] },
    ];
    return {
      ports: new Map(lsps.rows.map((r) => [r._uuid[1], r.name])),
      switches: new Map(lss.rows.map((r) => [r._uuid[1], `${r.name}:${portsOf(r.ports).join(',')}`])),
    };
  };
  const first = await snapshot();
  const names = new Set(first.ports.values());
  t.same(
    ok.filter((n) => !names.has(n)),
    [],
    'every successful write is in the database',
  );
  t.same(
    failed.filter((f) => names.has(f.name)),
    [],
    'no known-failed write is in the database',
  );
  // MaybeCommittedError is resolved by a re-read, never by a blind replay: the writes that did not commit
  // are sent again, guarded by a `wait` that no port of that name exists, so a resend cannot double one.
  const lost = maybe.filter((n) => !names.has(n));
  t.comment(`maybe-committed writes that did commit: ${maybe.length - lost.length}/${maybe.length}`);
  for (const name of lost)
    await ovn.transact((tx) => {
      tx.wait(NB.Logical_Switch_Port, {
        where: [['name', '==', name]],
        columns: ['name'],
        until: '==',
        rows: [],
        timeout: 0,
      });
      const p = tx.insert(NB.Logical_Switch_Port, { name });
      tx.mutate(NB.Logical_Switch, [['name', '==', 'ocnt-ls0']], [['ports', 'insert', [p]]]);
    });
  const fresh = await snapshot();
  const freshPorts = fresh.ports;
  const freshSwitches = fresh.switches;
  t.equal(
    [...freshPorts.values()].filter((n) => n.startsWith('ocnt-w')).length,
    TOTAL,
    'every one of the 200 writes has its port, exactly once',
  );

  await waitFor(
    () =>
      ovn.nbSession.status.state === 'connected' &&
      ovn.nb.table('Logical_Switch_Port').size === freshPorts.size,
    30_000,
    'the replica to catch up',
  );
  const mine = new Map([...ovn.nb.table('Logical_Switch_Port')].map((r) => [r._uuid, r.name]));
  t.same(mine, freshPorts, 'replica Logical_Switch_Port equals a fresh snapshot');
  const mineSw = new Map(
    [...ovn.nb.table('Logical_Switch')].map((r) => [r._uuid, `${r.name}:${[...r.ports].sort().join(',')}`]),
  );
  t.same(mineSw, freshSwitches, 'replica Logical_Switch (with ports) equals a fresh snapshot');
  t.equal(ovn.nb.stats.anomalies, 0, 'no update applied twice or to a missing row');
  t.equal(ovn.nbSession.status.remote, env.nb.endpoints[leader], 'the session is on the current leader');
  t.comment(`replica: full snapshots ${ovn.nb.stats.fullSnapshots}, resumes ${ovn.nb.stats.resumes}`);

  // northd follows the cluster too: the SB catches up with this NB state.
  const s = await ovn.sync('sb', { timeoutMs: 30_000 });
  t.ok(s.sbCfg >= s.nbCfg, `northd wrote the SB for nb_cfg ${s.nbCfg}`);
  const bindings = ovn.sb?.table('Port_Binding').size ?? 0;
  t.equal(bindings, freshPorts.size, 'one SB Port_Binding per logical switch port');
});

t.test('SB leadership transfer: the SB replica follows, waits keep working', async (t) => {
  const ovn = await OvnClient.connect({
    nb: env.nb.endpoints,
    sb: env.sb.endpoints,
    backoff: { initialMs: 100, maxMs: 500 },
  });
  t.teardown(() => ovn.close());
  const { from, to } = await env.sb.transferLeadership();
  t.not(from, to);
  await ovn.transact(
    (tx) => {
      const p = tx.insert(NB.Logical_Switch_Port, { name: 'ocnt-after-sb-transfer' });
      tx.mutate(NB.Logical_Switch, [['name', '==', 'ocnt-ls0']], [['ports', 'insert', [p]]]);
    },
    { wait: 'sb', timeoutMs: 30_000 },
  );
  await waitFor(
    () =>
      ovn.sb?.table('Port_Binding').filter((b) => b.logical_port === 'ocnt-after-sb-transfer').length === 1,
    30_000,
    'the new binding in the SB replica',
  );
  await waitFor(
    () => ovn.sbSession?.status.remote === env.sb.endpoints[to],
    30_000,
    'the SB session on the new leader',
  );
  t.pass('SB replica on the new leader with the new binding');
});
