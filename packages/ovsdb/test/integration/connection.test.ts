// Connection behaviour against a real ovsdb-server that we stop (SIGSTOP), kill and restart: pending
// requests on close, MaybeCommittedError for an unanswered transact, timeouts, AbortSignal, the
// inactivity probe, and nothing replayed.
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { run, startOvsdbServer, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { OvsdbClient } from '../../src/client.js';
import { Connection } from '../../src/connection.js';
import {
  AbortError,
  ConnectError,
  ConnectionClosedError,
  InvalidArgumentError,
  MaybeCommittedError,
  TimeoutError,
} from '../../src/errors.js';

const DB = 'Open_vSwitch';

/** Turns on the server's jsonrpc debug log, which records every message it sends and receives. */
async function debugLog(dir: string): Promise<void> {
  await run('ovs-appctl', ['-t', join(dir, 'ctl'), 'vlog/set', 'jsonrpc:file:dbg']);
}

function countInLog(dir: string, text: string): number {
  return readFileSync(join(dir, 'ovsdb-server.log'), 'utf8').split(text).length - 1;
}

function insertQos(key: string) {
  return { op: 'insert', table: 'QoS', row: { type: 'linux-htb', external_ids: ['map', [['k', key]]] } };
}

async function countQos(c: OvsdbClient, key: string): Promise<number> {
  const [r] = (await c.transact(DB, [
    {
      op: 'select',
      table: 'QoS',
      where: [['external_ids', 'includes', ['map', [['k', key]]]]],
      columns: ['_uuid'],
    },
  ])) as [{ rows: unknown[] }];
  return r.rows.length;
}

t.test(
  `server killed mid-request: pending requests rejected; written transact → MaybeCommittedError`,
  async (t) => {
    const server = await startOvsdbServer({ tcp: true });
    t.teardown(() => server.stop());
    const c = await OvsdbClient.connect(server.unixEndpoint);
    // SIGSTOP: the server reads nothing, so our requests stay unanswered until we kill it.
    server.process.kill('SIGSTOP');
    const list = c.listDbs().catch((e: unknown) => e);
    const txn = c.transact(DB, [insertQos('killed')]).catch((e: unknown) => e);
    t.equal(c.connection.pendingCount, 2);
    await server.kill('SIGKILL');
    const listErr = await list;
    t.type(listErr, ConnectionClosedError, 'a pending read is ConnectionClosedError');
    const txnErr = await txn;
    t.type(txnErr, MaybeCommittedError, 'a written transact may have committed');
    t.ok((txnErr as MaybeCommittedError).cause instanceof Error, 'with the close reason as cause');
    t.equal(c.status, 'closed');
    t.ok((await c.closed) instanceof Error, 'closed resolves with the reason');
    t.type(await c.echo().catch((e: unknown) => e), ConnectionClosedError, 'new requests fail at once');

    // Nothing is replayed: a new connection to the restarted server sees the transaction committed at most
    // once (here: never, the server was stopped before reading it), and the old one stays closed.
    const again = await server.restart();
    t.teardown(() => again.stop());
    const c2 = await OvsdbClient.connect(again.unixEndpoint);
    t.teardown(() => c2.close());
    t.equal(await countQos(c2, 'killed'), 0);
    t.equal(c.status, 'closed');
  },
);

t.test('the close event fires once with the reason; close() is idempotent', async (t) => {
  const server = await startOvsdbServer();
  t.teardown(() => server.stop());
  const c = await OvsdbClient.connect(server.unixEndpoint);
  const reasons: (Error | undefined)[] = [];
  c.on('close', (r) => reasons.push(r));
  const pending = c.transact(DB, [{ op: 'comment', comment: 'x' }]).catch((e: unknown) => e);
  const closing = c.close();
  await closing;
  await c.close();
  t.same(reasons, [undefined], 'user close: no reason');
  t.type(await pending, MaybeCommittedError, 'a transact written before close()');
});

t.test(`per-request timeout and AbortSignal`, async (t) => {
  const server = await startOvsdbServer();
  t.teardown(() => server.stop());
  const c = await OvsdbClient.connect(server.unixEndpoint, { requestTimeoutMs: 60_000 });
  t.teardown(() => c.close());
  server.process.kill('SIGSTOP');
  t.teardown(() => {
    server.process.kill('SIGCONT');
  });

  const timedOut = await c.echo(['slow'], { timeoutMs: 200 }).catch((e: unknown) => e);
  t.type(timedOut, TimeoutError);
  t.match((timedOut as Error).message, /echo got no reply within 200 ms/);

  const ac = new AbortController();
  const aborted = c.listDbs({ signal: ac.signal }).catch((e: unknown) => e);
  ac.abort(new Error('user gave up'));
  t.type(await aborted, AbortError);

  const pre = new AbortController();
  pre.abort();
  const before = c.connection.pendingCount;
  t.type(await c.echo([], { signal: pre.signal }).catch((e: unknown) => e), AbortError, 'already aborted');
  t.equal(c.connection.pendingCount, before, 'an already aborted request is not sent');

  // A transact that was written and then timed out may still commit: MaybeCommittedError, cause the timeout.
  const txnErr = await c.transact(DB, [insertQos('timeout')], { timeoutMs: 200 }).catch((e: unknown) => e);
  t.type(txnErr, MaybeCommittedError);
  t.type((txnErr as Error).cause, TimeoutError);

  // The server resumes: the connection is still usable, and late replies to abandoned requests are ignored.
  server.process.kill('SIGCONT');
  t.same(await c.echo(['after']), ['after']);
  t.equal(c.status, 'open');
  t.equal(c.connection.pendingCount, 0, 'late replies matched nothing');
  // The timed-out transact did commit on the server, exactly once: it was sent once and never replayed.
  t.equal(await countQos(c, 'timeout'), 1);

  await t.rejects(c.echo([], { timeoutMs: -1 }), InvalidArgumentError);
});

t.test('inactivity probe: echo after idle; close when the server does not answer', async (t) => {
  const server = await startOvsdbServer({ tcp: true });
  t.teardown(() => server.stop());
  await debugLog(server.dir);
  const c = await OvsdbClient.connect(server.tcpEndpoint!, { inactivityProbeMs: 300 });
  t.teardown(() => c.close());
  // Idle for several probe periods with a live server: probes are sent and answered, the connection stays.
  await waitFor(
    () => countInLog(server.dir, 'received request, method="echo", params=["ocn-inactivity-probe"]') >= 2,
    10_000,
    'two probes',
  );
  t.equal(c.status, 'open', 'answered probes keep the connection');

  server.process.kill('SIGSTOP');
  t.teardown(() => {
    server.process.kill('SIGCONT');
  });
  const reason = await c.closed;
  t.type(reason, TimeoutError, 'closed by the probe');
  t.match(reason?.message ?? '', /inactivity probe/);

  // unix: has no probe by default; tcp: defaults to 5 s (OVS default).
  server.process.kill('SIGCONT');
  const u = await Connection.open(server.unixEndpoint);
  t.teardown(() => u.close());
  t.equal(u.status, 'open');
});

t.test('we answer the server’s echo (its own inactivity probe)', async (t) => {
  // ovsdb-server probes an idle session with "echo" (id "echo") after 5 s and drops it when unanswered
  // for another 5 s (ovsdb-server.1 --remote, inactivity_probe default). Our own probe is off here.
  const server = await startOvsdbServer({ tcp: true });
  t.teardown(() => server.stop());
  await debugLog(server.dir);
  const c = await OvsdbClient.connect(server.tcpEndpoint!, { inactivityProbeMs: 0 });
  t.teardown(() => c.close());
  await waitFor(
    () => countInLog(server.dir, 'received reply, result=[], id="echo"') >= 2,
    30_000,
    'two answered server probes',
  );
  t.equal(c.status, 'open', 'the server kept us');
  t.same(await c.echo(['x']), ['x']);
});

t.test('connect errors and option validation', async (t) => {
  await t.rejects(OvsdbClient.connect('unix:/run/ocnt-no-such-dir/db.sock'), ConnectError);
  await t.rejects(OvsdbClient.connect('tcp:127.0.0.1:1'), ConnectError);
  await t.rejects(OvsdbClient.connect('punix:/x'), InvalidArgumentError);
  await t.rejects(
    OvsdbClient.connect('unix:/x', { inactivityProbeMs: -5 }),
    /inactivityProbeMs: -5 is not allowed/,
  );
  await t.rejects(OvsdbClient.connect('unix:/x', { bogus: 1 } as never), /bogus: unknown option/);
  await t.rejects(
    OvsdbClient.connect('unix:/x', { maxMessageBytes: 1 }),
    /maxMessageBytes: 1 is not allowed/,
  );
  // A TCP listener that accepts and never speaks: the TLS handshake cannot finish, the connect times out.
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    silent.close();
  });
  const port = (silent.address() as AddressInfo).port;
  const err = await OvsdbClient.connect(`ssl:127.0.0.1:${port}`, { connectTimeoutMs: 200 }).catch(
    (e: unknown) => e,
  );
  t.type(err, ConnectError);
  t.match((err as Error).message, `cannot connect to ssl:127.0.0.1:${port}: timed out after 200 ms`);
});
