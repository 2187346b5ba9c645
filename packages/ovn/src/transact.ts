// nbTransact: read, build with the builders, send once; when a guard fails because another writer got
// there first, read again and rebuild (a bounded number of times). What a transaction decided from a read
// is only committed if the read still holds (see plan.ts), so the retry is what makes "ensure" converge.

import {
  ConstraintViolation,
  Replica,
  type ResultOf,
  TimedOut,
  Transaction,
  TransactionError,
  type TransactOptions,
  type Transactor,
} from '@ovs-container-network/ovsdb';
import * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import { OvnConflictError, OvnInvalidArgumentError, OvnTransactionError } from './errors.js';
import { NbPlan } from './nb.js';
import { replicaTransactor } from './transactor.js';
import { type NbRows, NbSnapshot, type NbView, replicaView } from './view.js';

export interface NbTransactOptions extends TransactOptions {
  /** Attempts in all when guards keep failing (default 5). */
  readonly attempts?: number;
  /**
   * With a Replica source: one echo round trip first, so the replica holds every change committed before
   * this call (other writers' included). Without it the plan reads what the replica has seen so far.
   */
  readonly fresh?: boolean;
}

export interface NbTransactResult<H> {
  /** What the build callback returned, with insert refs replaced by the new rows' uuids. */
  readonly value: ResultOf<H>;
  /** False when everything already was as asked: nothing was sent. */
  readonly changed: boolean;
  /** Operations sent in the successful attempt (guards included). */
  readonly operations: number;
  readonly attempts: number;
}

/** True for the failures a fresh read can resolve: a guard (`wait`) or a unique index hit by a racing writer. */
export function isRaceLost(err: unknown): boolean {
  if (err instanceof TimedOut) return (err.operation as { op?: string } | undefined)?.op === 'wait';
  return err instanceof ConstraintViolation && /identical values/.test(err.details ?? '');
}

/**
 * Builds and sends one OVN_Northbound transaction with the builders. `source` is a Replica of
 * OVN_Northbound (started with `nbReplicaTables()`: reads are local) or any transactor such as an
 * OvsdbClient (each attempt first reads the builder tables in one select transaction).
 */
export async function nbTransact<const H>(
  source: Transactor | Replica<NbRows>,
  build: (nb: NbPlan) => H,
  opts: NbTransactOptions = {},
): Promise<NbTransactResult<H>> {
  const attempts = opts.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new OvnInvalidArgumentError('attempts', attempts, 'an integer >= 1');
  }
  const { attempts: _a, fresh, ...txOpts } = opts;
  const replica = source instanceof Replica ? (source as Replica<NbRows>) : undefined;
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let view: NbView;
    if (replica) {
      // No await (no promise hop) once the replica is synced: several nbTransact calls on one replica
      // build and send in the same tick, and pipeline on its connection.
      if (!replica.isReady) await replica.ready;
      if (fresh && attempt === 1) await catchUp(replica, opts.signal);
      view = replicaView(replica);
    } else view = await NbSnapshot.load(source, txOpts);
    const txn = new Transaction(NB.DATABASE_NAME);
    const nb = new NbPlan(txn, view);
    const shape = build(nb);
    if (txn.operations.every((op) => op.op === 'wait')) {
      return { value: shape as ResultOf<H>, changed: false, operations: 0, attempts: attempt };
    }
    try {
      // A replica writes through its session as OvnClient.transact does (see transactor.ts).
      const result = await txn.execute(replica ? replicaTransactor(replica) : source, txOpts);
      return {
        value: result.map(shape),
        changed: true,
        operations: txn.operations.length,
        attempts: attempt,
      };
    } catch (err) {
      if (!isRaceLost(err)) {
        if (err instanceof TransactionError) {
          throw new OvnTransactionError(
            `OVN_Northbound transaction failed: ${err.error}${err.details ? `: ${err.details}` : ''}`,
            { cause: err },
          );
        }
        throw err;
      }
      last = err;
      if (replica) await catchUp(replica, opts.signal);
    }
  }
  const e = last as TransactionError;
  throw new OvnConflictError(
    `OVN_Northbound transaction still lost a race after ${attempts} attempts: ${e.error}${e.details ? `: ${e.details}` : ''}`,
    { cause: last },
  );
}

/**
 * The server sends a monitor's updates before later replies on the same connection: one echo round trip
 * makes sure every change committed before it (the one that beat us, say) is in the replica.
 */
async function catchUp(replica: Replica<NbRows>, signal: AbortSignal | undefined): Promise<void> {
  const client = await replica.session.connected(signal);
  await client.echo([]);
}
