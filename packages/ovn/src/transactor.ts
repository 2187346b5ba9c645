// The Transactor this package writes through: the replica's session, with one difference from
// `OvsdbSession.transact` (ovsdb 0.1.0). When the session closes a connection itself — the `_Server`
// monitor saw the leader step down, e.g. on a leadership transfer — the connection is 'closing' until its
// socket's close event, while the session still reports 'connected' with that client. `session.transact`
// then retries the unsent transaction on the same client in a loop of microtasks ("cannot send transact:
// connection is closing" → retry → …) that starves the event loop, so the close event never comes and the
// process hangs. Here a transaction that could not be written waits for that connection to finish closing
// (a macrotask away) before asking the session for the next one.

import {
  ConnectionClosedError,
  type OvsdbClient,
  type OvsdbSession,
  type Replica,
  type TableMap,
  type TransactOptions,
  type Transactor,
} from '@ovs-container-network/ovsdb';

/** Until `client` has closed and the session no longer hands it out. */
async function settled(session: OvsdbSession, client: OvsdbClient): Promise<void> {
  await client.closed;
  while (session.client === client) await new Promise((r) => setImmediate(r));
}

const TRANSACTORS = new WeakMap<object, Transactor>();

/** The transactor of `replica` (one per replica, shared by OvnClient, OvnChassisDb and nbTransact). */
export function replicaTransactor<M extends TableMap>(replica: Replica<M>): Transactor {
  let t = TRANSACTORS.get(replica);
  if (t === undefined) {
    t = makeTransactor(replica);
    TRANSACTORS.set(replica, t);
  }
  return t;
}

function makeTransactor<M extends TableMap>(replica: Replica<M>): Transactor {
  const session: OvsdbSession = replica.session;
  const slow = async (
    db: string,
    operations: readonly unknown[],
    opts: TransactOptions,
  ): Promise<unknown[]> => {
    // As Replica.transact: never build on (or send before) the first snapshot.
    await replica.ready;
    for (;;) {
      const client = await session.connected(opts.signal);
      if (client.status !== 'open') {
        await settled(session, client);
        continue;
      }
      try {
        return await client.transact(db, operations, opts);
      } catch (err) {
        // Not written (the connection was no longer open): safe to send on the next connection.
        if (err instanceof ConnectionClosedError && client.status !== 'open') {
          await settled(session, client);
          continue;
        }
        throw err;
      }
    }
  };
  return {
    transact(db: string, operations: readonly unknown[], opts: TransactOptions = {}): Promise<unknown[]> {
      // The common case without a promise hop of our own: synced, connected, open.
      const client = session.client;
      if (!replica.isReady || !client || client.status !== 'open') return slow(db, operations, opts);
      return client.transact(db, operations, opts).catch((err: unknown) => {
        if (err instanceof ConnectionClosedError && client.status !== 'open')
          return slow(db, operations, opts);
        throw err;
      });
    },
  };
}
