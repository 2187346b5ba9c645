// Regression (found by the OVN runtime's leadership-transfer test): when the session closes a connection
// itself (its `_Server` monitor saw the leader step down), that connection is 'closing' until its socket's
// close event while the session still reported 'connected' with it. `session.transact` then retried the
// unsent transaction on the same client in a loop of microtasks ("cannot send transact: connection is
// closing" → retry → …) that starved the event loop: the close event never came and the process hung.
// The session must not hand out a client that is no longer open. Needs a real ovsdb-server.
import { startOvsdbServer } from '@ovs-container-network/testkit';
import t from 'tap';
import { OvsdbSession } from '../../src/session/session.js';

t.test('a transaction sent while the session closes its connection goes out on the next one', async (t) => {
  const server = await startOvsdbServer();
  const session = OvsdbSession.start({ remotes: server.unixEndpoint, database: 'Open_vSwitch' });
  t.teardown(async () => {
    await session.close();
    await server.stop();
  });
  const first = await session.connected();
  // What the session does on a leader change: close the connection, without waiting for the socket.
  void first.close();
  t.not(first.status, 'open', 'the old connection is closing');
  t.equal(session.client, undefined, 'the session no longer hands it out');
  // A timer must still fire while the transaction waits: the event loop is not starved.
  let ticked = false;
  const timer = setTimeout(() => {
    ticked = true;
  }, 1);
  const res = await session.transact('Open_vSwitch', [{ op: 'select', table: 'Open_vSwitch', where: [] }]);
  clearTimeout(timer);
  t.ok(ticked, 'timers ran while it waited');
  t.equal((res[0] as { rows: unknown[] }).rows.length, 0, 'answered on the new connection');
  t.not(session.client, first, 'by another client');
});
