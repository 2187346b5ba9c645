// Regression (issue 12, item 5): `--ovsdb ssl:` was documented but unusable — the binary had no flags or
// environment variables for CA, certificate and key, and never logged the TLS reason (against `pssl:` it
// said only `no OVSDB snapshot … within 30000 ms`). Real ovsdb-server --remote=pssl with a test PKI, the real
// plugin binary. Needs root (the plugin's socket in /run/docker/plugins).
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort, run, sleep, startOvsdbServer, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { TestPki } from '../helpers/pki.js';
import { BIN, postPlugin, startPluginProcess, vsctl } from '../helpers/plugin.js';

const pki = new TestPki();
t.teardown(() => pki.remove());
await pki.ca('ca');
await pki.ca('rogue-ca');
await pki.cert('server', 'ca');
await pki.cert('client', 'ca');
await pki.cert('rogue-client', 'rogue-ca');

const port = await freePort();
const server = await startOvsdbServer({
  extraArgs: [
    `--remote=pssl:${port}:127.0.0.1`,
    `--private-key=${pki.path('server.key')}`,
    `--certificate=${pki.path('server.pem')}`,
    `--ca-cert=${pki.path('ca.pem')}`,
  ],
});
t.teardown(() => server.stop());
await run('ovs-vsctl', [`--db=${server.unixEndpoint}`, '--no-wait', 'init']);
const endpoint = `ssl:127.0.0.1:${port}`;

/** Runs the binary with `args`/`env` until `done(logs)` holds or it exits; returns its output. */
async function runUntil(
  args: string[],
  env: Record<string, string>,
  done: (out: string) => boolean,
): Promise<{ out: string; code: number | null }> {
  const socket = `/run/docker/plugins/${uniqueName('p')}.sock`;
  const c: ChildProcess = spawn(process.execPath, [BIN, '--socket', socket, '--log-level', 'info', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  c.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  c.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  try {
    await waitFor(() => done(out) || c.exitCode !== null, 15_000, 'the expected output');
  } catch {
    // reported by the caller's assertions, with the output
  }
  const code = c.exitCode;
  if (c.exitCode === null) c.kill('SIGKILL');
  return { out, code };
}

t.test('flags: CA, certificate and key → the plugin works over ssl:', async (t) => {
  const p = await startPluginProcess({
    ovsdb: endpoint,
    extraArgs: [
      '--ovsdb-ca',
      pki.path('ca.pem'),
      '--ovsdb-cert',
      pki.path('client.pem'),
      '--ovsdb-key',
      pki.path('client.key'),
    ],
  });
  t.teardown(() => p.stop());
  const id = 'c'.repeat(64);
  const bridge = uniqueName('br');
  const r = await postPlugin(p.socket, '/NetworkDriver.CreateNetwork', {
    NetworkID: id,
    Options: { 'com.docker.network.generic': { bridge, gateway_mode: 'none' } },
    IPv4Data: [{ Pool: '10.66.0.0/24' }],
  });
  t.equal(r.status, 200, r.body);
  t.match(
    await vsctl(server.unixEndpoint, 'br-get-external-id', bridge),
    new RegExp(`ocn-net-${id}`),
    'recorded over TLS',
  );
  t.ok(
    p.logs.some((l) => l.includes('OVSDB connected')),
    'the connection is logged',
  );
  await postPlugin(p.socket, '/NetworkDriver.DeleteNetwork', { NetworkID: id });
});

t.test('a client certificate the server does not trust: the TLS reason is logged', async (t) => {
  const { out } = await runUntil(
    ['--ovsdb', endpoint, '--name', uniqueName('p')],
    {
      OCN_OVSDB_CA: pki.path('ca.pem'),
      OCN_OVSDB_CERT: pki.path('rogue-client.pem'),
      OCN_OVSDB_KEY: pki.path('rogue-client.key'),
    },
    (o) => o.includes('cannot connect to OVSDB'),
  );
  t.match(out, /cannot connect to OVSDB/, 'the failure is logged');
  t.match(out, new RegExp(`"ovsdb":"${endpoint}"`), 'with the endpoint');
  t.match(
    out,
    /"err":"[^"]*(alert|certificate|handshake|socket hang up|ECONNRESET)/i,
    `with the TLS cause: ${out.split('\n').find((l) => l.includes('cannot connect')) ?? out}`,
  );
});

t.test('a server certificate our CA did not sign: the verification error is logged', async (t) => {
  const { out } = await runUntil(
    [
      '--ovsdb',
      endpoint,
      '--name',
      uniqueName('p'),
      '--ovsdb-ca',
      pki.path('rogue-ca.pem'),
      '--ovsdb-cert',
      pki.path('client.pem'),
      '--ovsdb-key',
      pki.path('client.key'),
    ],
    {},
    (o) => o.includes('cannot connect to OVSDB'),
  );
  t.match(
    out,
    /"err":"[^"]*(certificate|verify|self.signed)/i,
    `names the verification failure: ${out.split('\n').find((l) => l.includes('cannot connect')) ?? out}`,
  );
});

t.test('ssl: without all three files is refused at once, naming the flags', async (t) => {
  const { out, code } = await runUntil(
    ['--ovsdb', endpoint, '--ovsdb-ca', pki.path('ca.pem')],
    {},
    () => false,
  );
  t.equal(code, 1);
  t.match(
    out,
    /invalid option --ovsdb-cert="": expected a PEM file: --ovsdb ssl:127\.0\.0\.1:\d+ needs --ovsdb-ca, --ovsdb-cert and --ovsdb-key/,
  );
  const missing = await runUntil(
    [
      '--ovsdb',
      endpoint,
      '--ovsdb-ca',
      '/nonexistent.pem',
      '--ovsdb-cert',
      pki.path('client.pem'),
      '--ovsdb-key',
      pki.path('client.key'),
    ],
    {},
    () => false,
  );
  t.match(missing.out, /--ovsdb-ca="\/nonexistent.pem": expected a readable PEM file \(ENOENT\)/);
  await sleep(10);
});
