// The Transactor this package writes through: the replica's session, without the promise hops of
// `Replica.transact` when the replica is synced and connected. Anything else (not synced yet, no live
// connection, or a transaction that could not be written because its connection was closing) goes through
// `OvsdbSession.transact`, which waits for the next connection and sends what was never written there.
// (The session hands out only an open client: a closing one made an earlier version of ovsdb retry on it in
// a loop of microtasks, which this file used to work around.)

import {
  ConnectionClosedError,
  decodesReplies,
  type Replica,
  type TableMap,
  type TransactOptions,
  type Transactor,
} from '@ovs-container-network/ovsdb';

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
  const session = replica.session;
  const slow = async (
    db: string,
    operations: readonly unknown[],
    opts: TransactOptions,
  ): Promise<unknown[]> => {
    // As Replica.transact: never build on (or send before) the first snapshot.
    await replica.ready;
    return session.transact(db, operations, opts);
  };
  const t: Transactor & { readonly [decodesReplies]: true } = {
    // Both paths hand the options (with a Transaction's reply decoder) to the client: the reply is decoded
    // where it settles, with no `then` of the Transaction's own.
    [decodesReplies]: true,
    transact(db: string, operations: readonly unknown[], opts: TransactOptions = {}): Promise<unknown[]> {
      // The common case without a promise hop of our own: synced and connected (session.client is open).
      const client = session.client;
      if (!replica.isReady || client === undefined) return slow(db, operations, opts);
      return client.transact(db, operations, opts).catch((err: unknown) => {
        // Not written (the connection closed before it could be): safe to send on the next connection.
        if (err instanceof ConnectionClosedError) return slow(db, operations, opts);
        throw err;
      });
    },
  };
  return t;
}
