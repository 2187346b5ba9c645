// waitForChassisCfg against a real, standalone OVN_Southbound ovsdb-server (needs root: the server's
// directory is under /run). The test plays the ovn-controllers: it writes the Chassis and Chassis_Private
// rows itself, so each step is exactly known. Shows: the wait resolves in the batch that brings the last
// counted chassis to the target, not before; a remote chassis (other_config:is-remote=true) is skipped and a
// Chassis_Private without its Chassis still counts (as ovn-northd counts them for hv_cfg); a chassis that
// goes away stops holding the wait; the timeout names the chassis behind; bad input is refused.
import { OvsdbClient, OvsdbSession, Replica } from '@ovs-container-network/ovsdb';
import type * as SB from '@ovs-container-network/ovsdb/models/ovn-southbound';
import { startOvsdbServer } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  awaitReplica,
  CHASSIS_CFG_SB_TABLES,
  type ChassisCfgObserved,
  OvnInvalidArgumentError,
  OvnTimeoutError,
  waitForChassisCfg,
} from '../../src/index.js';

const server = await startOvsdbServer({ schema: '/usr/share/ovn/ovn-sb.ovsschema' });
t.teardown(() => server.stop());
const writer = await OvsdbClient.connect(server.unixEndpoint);
t.teardown(() => writer.close());
const session = new OvsdbSession({ remotes: [server.unixEndpoint], database: 'OVN_Southbound' });
type Rows = { Chassis: SB.Chassis; Chassis_Private: SB.Chassis_Private };
const sb = new Replica<Rows>(session, { tables: CHASSIS_CFG_SB_TABLES as never });
session.start();
await sb.ready;
t.teardown(async () => {
  await sb.close();
  await session.close();
});

const DB = 'OVN_Southbound';
async function tx(ops: unknown[]): Promise<unknown[]> {
  const res = (await writer.transact(DB, ops as never)) as unknown as { error?: string }[];
  const bad = res.find((r) => r?.error);
  if (bad) throw new Error(`transaction failed: ${JSON.stringify(res)}`);
  return res;
}

let encaps = 0;
/** A Chassis (with its Encap) and its Chassis_Private at `nbCfg`. */
async function addChassis(name: string, nbCfg: number, remote = false): Promise<void> {
  await tx([
    {
      op: 'insert',
      table: 'Encap',
      row: { type: 'geneve', ip: `192.0.2.${++encaps}`, chassis_name: name },
      'uuid-name': 'e',
    },
    {
      op: 'insert',
      table: 'Chassis',
      row: {
        name,
        hostname: name,
        encaps: ['named-uuid', 'e'],
        other_config: ['map', remote ? [['is-remote', 'true']] : []],
      },
      'uuid-name': 'c',
    },
    { op: 'insert', table: 'Chassis_Private', row: { name, chassis: ['named-uuid', 'c'], nb_cfg: nbCfg } },
  ]);
}

const setCfg = (name: string, nbCfg: number) =>
  tx([
    {
      op: 'update',
      table: 'Chassis_Private',
      where: [['name', '==', name]],
      row: { nb_cfg: nbCfg, nb_cfg_timestamp: Date.now() },
    },
  ]);

/** Resolves once the replica shows `name`'s Chassis_Private at `nbCfg` (or no such row, for undefined). */
const replicaShows = (name: string, nbCfg: number | undefined) =>
  awaitReplica(
    sb,
    () => {
      const row = [...sb.table('Chassis_Private').values()].find((r) => r.name === name);
      return (row === undefined ? undefined : Number(row.nb_cfg)) === nbCfg ? true : undefined;
    },
    { what: `the replica showing ${name} at ${nbCfg}`, state: () => 'not yet' },
    { timeoutMs: 5000 },
  );

/** Settles to the observed value, or to 'pending' if the wait has not resolved after the replica caught up. */
async function state(p: Promise<ChassisCfgObserved>): Promise<ChassisCfgObserved | 'pending'> {
  await tx([{ op: 'comment', comment: 'sync' }]); // a round trip after which the replica has the writes
  await new Promise((r) => setImmediate(r));
  return Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), 50))]);
}

t.test('resolves with the last counted chassis, skipping remote ones', async (t) => {
  await addChassis('ch-a', 4);
  await addChassis('ch-b', 4);
  await addChassis('ch-remote', 0, true); // never catches up, and must not hold the wait
  await replicaShows('ch-remote', 0);
  const now = await waitForChassisCfg(sb, 4, { timeoutMs: 1000 });
  t.equal(now.chassis, 2, 'two chassis counted, the remote one not');

  const p = waitForChassisCfg(sb, 5, { timeoutMs: 5000 });
  t.equal(await state(p), 'pending', 'no chassis at 5 yet');
  await setCfg('ch-a', 5);
  t.equal(await state(p), 'pending', 'ch-b still at 4');
  const before = Date.now();
  await setCfg('ch-b', 6);
  const seen = await state(p);
  t.not(seen, 'pending', 'resolved once ch-b reported 6 ≥ 5');
  if (seen !== 'pending') {
    t.equal(seen.nbCfg, 5);
    t.equal(seen.chassis, 2);
    t.ok(seen.appliedTs >= before, `appliedTs ${seen.appliedTs} is the last report's`);
  }
});

t.test('a Chassis_Private without its Chassis counts; a deleted chassis stops holding it', async (t) => {
  // ovn-northd warns about such a row and still takes its nb_cfg into hv_cfg.
  await tx([{ op: 'insert', table: 'Chassis_Private', row: { name: 'ch-orphan', nb_cfg: 1 } }]);
  await replicaShows('ch-orphan', 1);
  const p = waitForChassisCfg(sb, 5, { timeoutMs: 5000 });
  t.equal(await state(p), 'pending', 'the orphan row at 1 holds the wait');
  await tx([{ op: 'delete', table: 'Chassis_Private', where: [['name', '==', 'ch-orphan']] }]);
  const seen = await state(p);
  t.not(seen, 'pending', 'resolved once the row went away');
});

t.test('the timeout names the chassis behind; bad input is refused', async (t) => {
  const e = await waitForChassisCfg(sb, 7, { timeoutMs: 150 }).catch((err: unknown) => err);
  t.type(e, OvnTimeoutError);
  t.match(
    (e as Error).message,
    /timed out after 150 ms: every chassis reporting nb_cfg 7 in SB Chassis_Private .* did not happen; chassis behind \(of 2\): ch-a \(at 5\), ch-b \(at 6\)$/,
  );
  const bad = await waitForChassisCfg(sb, -1).catch((err: unknown) => err);
  t.type(bad, OvnInvalidArgumentError);
  t.match((bad as Error).message, /nbCfg/);
  const bad2 = await waitForChassisCfg(sb, 1.5).catch((err: unknown) => err);
  t.type(bad2, OvnInvalidArgumentError);
});
