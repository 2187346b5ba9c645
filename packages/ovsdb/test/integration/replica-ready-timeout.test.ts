// Regression (issue 13 item 7): `replica.ready` never rejected while the server was unreachable.
// `replica.whenReady({ timeoutMs, signal })` rejects with a clear error naming the remote and the last
// connection error; the replica keeps trying and becomes ready once a server is there.
import { join } from 'node:path';
import { startOvsdbServer, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { AbortError, TimeoutError } from '../../src/errors.js';
import { Replica } from '../../src/replica/replica.js';
import { OvsdbSession } from '../../src/session/session.js';

t.test('whenReady rejects while the server is unreachable, and resolves once it is there', async (t) => {
  const server = await startOvsdbServer();
  t.teardown(() => server.stop());
  const missing = `unix:${join(server.dir, `${uniqueName('gone')}.sock`)}`;
  const session = OvsdbSession.start({ remotes: missing, database: 'Open_vSwitch' });
  t.teardown(() => session.close());
  const replica = Replica.start(session, { tables: { Bridge: {} } });
  t.teardown(() => replica.close());
  const started = Date.now();
  await t.rejects(replica.whenReady({ timeoutMs: 300 }), {
    name: 'TimeoutError',
    message: new RegExp(
      `replica of Open_vSwitch not ready \\(session \\w+, remotes ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; last error: .*\\) after 300 ms`,
    ),
  });
  t.ok(Date.now() - started < 2000, 'the timeout is kept');
  const ac = new AbortController();
  const p = replica.whenReady({ signal: ac.signal });
  ac.abort(new Error('caller gave up'));
  const err = await p.catch((e: unknown) => e);
  t.type(err, AbortError);
  t.match((err as Error).message, /not ready/);
  t.type(TimeoutError, 'function');
  await t.rejects(replica.whenReady({ timeoutMs: -1 }), /timeoutMs -1 is not allowed/);
  t.equal(replica.isReady, false);

  const ok = OvsdbSession.start({ remotes: server.unixEndpoint, database: 'Open_vSwitch' });
  t.teardown(() => ok.close());
  const live = Replica.start(ok, { tables: { Bridge: {} } });
  t.teardown(() => live.close());
  await live.whenReady({ timeoutMs: 5000 });
  t.equal(live.isReady, true);
});
