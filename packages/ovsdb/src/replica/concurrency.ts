// Optimistic concurrency on top of the replica: a transaction built from rows read in the replica carries
// `wait` operations (RFC 7047 §5.2.6, until "==", timeout 0) asserting that the columns it read still hold
// the values it saw. If another client changed them in between, the wait fails at once with "timed out",
// nothing commits, and `optimistic` rebuilds the transaction from the refreshed replica and tries again, a
// bounded number of times. This is what ovsdb-idl calls "verify". Transactions whose outcome is unknown
// (MaybeCommittedError: the connection dropped after sending) are never retried here.

import { type Columns, database, type ResultOf, type TableModel } from '../database.js';
import { ConflictError, InvalidArgumentError, RowCountMismatch, TimedOut } from '../errors.js';
import { wait } from '../operations.js';
import type { Transaction, TransactOptions } from '../transaction.js';
import type { Replica, TableMap } from './replica.js';

/**
 * A `wait` operation asserting that `row` (as read from the replica) still has the same values in
 * `columns`. Add it to a transaction: `t.add(verify(OVS.Port, port, ['tag']))`.
 */
export function verify<N extends string, C extends Columns, K extends keyof C & string>(
  table: TableModel<N, C>,
  row: { readonly _uuid: string } & { readonly [P in K]?: unknown },
  columns: readonly K[],
): ReturnType<typeof wait<N, C, K>> {
  if (typeof row?._uuid !== 'string')
    throw new InvalidArgumentError(
      `verify: row must be a replica row with a _uuid, got ${JSON.stringify(row)}`,
    );
  const expected: Record<string, unknown> = {};
  for (const c of columns) {
    if (!(c in row))
      throw new InvalidArgumentError(
        `verify: ${table.name}.${c} is not in the row (is the column monitored?); row columns: ${Object.keys(row).join(', ')}`,
      );
    expected[c] = (row as Record<string, unknown>)[c];
  }
  return wait(table, {
    where: [['_uuid', '==', row._uuid]] as never,
    columns,
    until: '==',
    rows: [expected] as never,
    timeout: 0,
  });
}

export { ConflictError } from '../errors.js';

export interface OptimisticOptions extends TransactOptions {
  /** Attempts in all (default 5). */
  readonly attempts?: number;
}

/**
 * Runs `build` against the current replica and sends the transaction; when one of its verify (`wait`)
 * operations fails because the data changed, waits until the replica has caught up and rebuilds. Returns
 * what `build` returned, with handles mapped to results (like `Database.transact`).
 *
 *     await optimistic(replica, OVS.model, (t, r) => {
 *       const port = r.table('Port').find('byName', 'p1')!;
 *       t.add(verify(OVS.Port, port, ['tag']));
 *       t.update(OVS.Port, [['_uuid', '==', port._uuid]], { tag: (port.tag ?? 0) + 1 });
 *     });
 */
export async function optimistic<M extends TableMap, DM extends Parameters<typeof database>[1], H>(
  replica: Replica<M>,
  model: DM,
  build: (t: Transaction, replica: Replica<M>) => H,
  opts: OptimisticOptions = {},
): Promise<ResultOf<H>> {
  const attempts = opts.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new InvalidArgumentError(`attempts: ${attempts} is not allowed; expected an integer ≥ 1`);
  const db = database(replica, model);
  const { attempts: _a, ...txOpts } = opts;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    await replica.ready;
    try {
      return await db.transact((t) => build(t, replica), txOpts);
    } catch (err) {
      if (
        !(err instanceof TimedOut) ||
        err instanceof RowCountMismatch || // an expect guard: the data, not a race, decided
        (err.operation as { op?: string } | undefined)?.op !== 'wait'
      )
        throw err;
      last = err;
      // The server sends a monitor's updates before later replies on the same connection, so one round trip
      // makes sure every change committed before our failed transaction is in the replica.
      const client = await replica.session.connected(opts.signal);
      await client.echo([]);
    }
  }
  throw new ConflictError(attempts, { cause: last });
}
