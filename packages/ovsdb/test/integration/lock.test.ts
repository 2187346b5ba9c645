// Two clients contending for one lock (RFC 7047 §4.1.8–4.1.10): the second waits in the queue until the
// first releases; `assert` in a transaction commits only for the owner ("not owner" otherwise); `steal`
// takes it and the previous owner is told `stolen`.
import { startOvsdbServer, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { NotOwner, transactionError } from '../../src/errors.js';
import { lock } from '../../src/session/lock.js';
import { OvsdbSession } from '../../src/session/session.js';

t.test('lock contention, assert, release and steal', async (t) => {
  const server = await startOvsdbServer();
  t.teardown(() => server.stop());
  const a = OvsdbSession.start({ remotes: server.unixEndpoint, database: 'Open_vSwitch' });
  const b = OvsdbSession.start({ remotes: server.unixEndpoint, database: 'Open_vSwitch' });
  t.teardown(() => a.close());
  t.teardown(() => b.close());

  const la = lock(a, 'ocnt_lock');
  const lb = lock(b, 'ocnt_lock');
  await la.acquire();
  t.ok(la.owned, 'a owns the lock');
  let bLocked = false;
  const bWaits = lb.acquire().then(() => {
    bLocked = true;
  });
  await waitFor(async () => (await b.connected()) !== undefined, 10_000, 'b connected');
  t.notOk(lb.owned, 'b is queued, not owner');

  const guarded = async (s: OvsdbSession, l: typeof la) => {
    const res = await s.transact('Open_vSwitch', [l.assertOperation(), { op: 'comment', comment: 'ocnt' }]);
    const i = res.findIndex((r) => r && typeof r === 'object' && 'error' in r);
    if (i >= 0) {
      const e = res[i] as { error: string; details?: string };
      throw transactionError(e.error, e.details, i, undefined, res);
    }
  };
  await guarded(a, la);
  await t.rejects(guarded(b, lb), NotOwner, 'assert fails for the non-owner');

  await la.release();
  await bWaits;
  t.ok(bLocked && lb.owned, 'b got the lock when a released it');
  await guarded(b, lb);

  const la2 = lock(a, 'ocnt_lock');
  let stolen = false;
  lb.on('stolen', () => {
    stolen = true;
  });
  await la2.steal();
  t.ok(la2.owned, 'a stole the lock');
  await waitFor(() => stolen, 10_000, 'b to be told "stolen"');
  t.notOk(lb.owned);
  await t.rejects(guarded(b, lb), NotOwner);
  await guarded(a, la2);
  t.throws(() => lock(a, 'bad id!'), { code: 'OVSDB_ERR_INVALID_ARGUMENT' });
  await lb.release();

  // The lock belongs to the connection: a server restart loses it, the session asks for it again.
  const seen: string[] = [];
  la2.on('lost', () => seen.push('lost'));
  la2.on('locked', () => seen.push('locked'));
  const restarted = await server.restart();
  t.teardown(() => restarted.stop());
  await waitFor(() => seen.includes('locked'), 30_000, 'the lock to be re-acquired after the restart');
  t.same(seen, ['lost', 'locked']);
  t.ok(la2.owned);
  await guarded(a, la2);
  await la2.release();
});
