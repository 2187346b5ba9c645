// nbTransact's loop with a scripted transactor (no server): read, build, send; a lost race (a failed guard)
// is read again and rebuilt, other failures are not; nothing is sent when nothing changes.
import type { Transactor } from '@ovs-container-network/ovsdb';
import t from 'tap';
import {
  interfaceExternalIds,
  nbTransact,
  OvnConflictError,
  OvnInvalidArgumentError,
  OvnTransactionError,
} from '../../src/index.js';

/** Answers select-only transactions (the snapshot read) with no rows, and the others from `script`. */
function scripted(
  script: ((ops: readonly { op: string }[]) => unknown[])[],
): Transactor & { sent: unknown[][] } {
  const sent: unknown[][] = [];
  return {
    sent,
    async transact(_db, operations) {
      const ops = operations as { op: string }[];
      if (ops.every((o) => o.op === 'select')) return ops.map(() => ({ rows: [] }));
      sent.push([...ops]);
      const next = script.shift();
      if (!next) throw new Error('unexpected transaction');
      return next(ops);
    },
  };
}

const ok = (ops: readonly { op: string }[]) =>
  ops.map((o) =>
    o.op === 'insert'
      ? { uuid: ['uuid', '22222222-0000-4000-8000-000000000001'] }
      : o.op === 'wait'
        ? {}
        : { count: 1 },
  );
const guardFailed = (ops: readonly { op: string }[]) => [
  { error: 'timed out', details: `wait on ${ops.length} ops` },
];

t.test('a failed guard is retried from a fresh read; the insert ref maps to the new uuid', async (t) => {
  const tr = scripted([guardFailed, ok]);
  const r = await nbTransact(tr, (nb) => nb.ensureSwitch({ name: 'ls0' }));
  t.equal(r.attempts, 2);
  t.equal(r.changed, true);
  t.equal(r.value, '22222222-0000-4000-8000-000000000001');
  t.equal(tr.sent.length, 2, 'sent twice');
});

t.test('a race lost every time ends in OvnConflictError with the cause', async (t) => {
  const tr = scripted([guardFailed, guardFailed, guardFailed]);
  await t.rejects(
    nbTransact(tr, (nb) => nb.ensureSwitch({ name: 'ls0' }), { attempts: 3 }),
    OvnConflictError,
  );
  t.equal(tr.sent.length, 3);
});

t.test('other server errors are not retried', async (t) => {
  const tr = scripted([() => [{ count: 1 }, { error: 'referential integrity violation', details: 'x' }]]);
  const err = await nbTransact(tr, (nb) => nb.ensureSwitch({ name: 'ls0' })).catch((e: unknown) => e);
  t.ok(err instanceof OvnTransactionError);
  t.match((err as Error).message, /referential integrity violation: x/);
  t.equal(tr.sent.length, 1);
});

t.test('nothing to change: nothing is sent; bad options and bad input are refused', async (t) => {
  const tr = scripted([]);
  const r = await nbTransact(tr, () => 'no builders');
  t.same(r, { value: 'no builders', changed: false, operations: 0, attempts: 1 });
  await t.rejects(
    nbTransact(tr, () => 0, { attempts: 0 }),
    OvnInvalidArgumentError,
  );
  await t.rejects(
    nbTransact(tr, (nb) => nb.ensureSwitch({ name: 'a b' })),
    OvnInvalidArgumentError,
  );
  t.equal(tr.sent.length, 0);
});

t.test('iface-id: what an OVS Interface carries to bind to a logical port', async (t) => {
  t.same(interfaceExternalIds('ls0-vm1'), { 'iface-id': 'ls0-vm1' });
  t.throws(() => interfaceExternalIds('bad name'), OvnInvalidArgumentError);
});
