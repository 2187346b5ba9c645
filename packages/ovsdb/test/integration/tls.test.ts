// ssl: endpoints against ovsdb-server --remote=pssl with a test PKI made here with the openssl CLI: a CA,
// a server certificate for "ovsdb.test", a client certificate, and a rogue CA with its own client
// certificate. ovsdb-server (stream-ssl) requires a client certificate signed by its --ca-cert.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, run, startOvsdbServer } from '@ovs-container-network/testkit';
import t from 'tap';
import { OvsdbClient } from '../../src/client.js';
import { ConnectError, type OvsdbError } from '../../src/errors.js';

const dir = mkdtempSync('/run/ocnt-pki-');
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const p = (f: string) => join(dir, f);

async function openssl(...args: string[]): Promise<void> {
  await run('openssl', args);
}
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
async function makeCa(name: string): Promise<void> {
  await openssl(
    'req',
    '-x509',
    ...EC,
    '-keyout',
    p(`${name}.key`),
    '-out',
    p(`${name}.pem`),
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  );
}
async function makeCert(name: string, ca: string, san?: string): Promise<void> {
  await openssl('req', ...EC, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${name}`);
  const ext = p(`${name}.ext`);
  const args = ['x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${ca}.pem`), '-CAkey', p(`${ca}.key`)];
  args.push('-CAcreateserial', '-out', p(`${name}.pem`), '-days', '2');
  if (san) {
    await run('sh', ['-c', `printf 'subjectAltName=${san}\\n' > ${ext}`]);
    args.push('-extfile', ext);
  }
  await openssl(...args);
}

await makeCa('ca');
await makeCa('rogue-ca');
await makeCert('server', 'ca', 'DNS:ovsdb.test');
await makeCert('client', 'ca');
await makeCert('rogue-client', 'rogue-ca');

const port = await freePort();
const server = await startOvsdbServer({
  extraArgs: [
    `--remote=pssl:${port}:127.0.0.1`,
    `--private-key=${p('server.key')}`,
    `--certificate=${p('server.pem')}`,
    `--ca-cert=${p('ca.pem')}`,
  ],
});
t.teardown(() => server.stop());
const endpoint = `ssl:127.0.0.1:${port}`;
const clientFiles = { caFile: p('ca.pem'), certFile: p('client.pem'), keyFile: p('client.key') };

/** Connects and makes one request; returns the error, if any. */
async function attempt(tls: Parameters<typeof OvsdbClient.connect>[1]): Promise<OvsdbError | undefined> {
  try {
    const c = await OvsdbClient.connect(endpoint, { connectTimeoutMs: 5000, ...tls });
    try {
      await c.listDbs({ timeoutMs: 5000 });
    } finally {
      await c.close();
    }
    return undefined;
  } catch (err) {
    return err as OvsdbError;
  }
}

t.test('a client certificate signed by the CA, full server verification (chain and name)', async (t) => {
  const c = await OvsdbClient.connect(endpoint, { tls: { ...clientFiles, servername: 'ovsdb.test' } });
  t.teardown(() => c.close());
  t.same((await c.listDbs()).sort(), ['Open_vSwitch', '_Server']);
  t.match(await c.getServerId(), /^[0-9a-f-]{36}$/);
  t.equal(c.connection.endpoint, endpoint);
});

t.test(
  'PEM contents instead of files; hostname check off verifies the chain only (as OVS does)',
  async (t) => {
    const tls = {
      ca: readFileSync(p('ca.pem')),
      cert: readFileSync(p('client.pem'), 'utf8'),
      key: readFileSync(p('client.key')),
      checkHostname: false,
    };
    const c = await OvsdbClient.connect(endpoint, { tls });
    t.teardown(() => c.close());
    t.same(await c.echo(['tls']), ['tls']);
  },
);

t.test('server verification failure: the certificate does not name 127.0.0.1', async (t) => {
  const err = await attempt({ tls: clientFiles });
  t.type(err, ConnectError);
  t.match(err?.message, /ssl:127\.0\.0\.1:\d+/);
  t.match((err?.cause as { code?: string } | undefined)?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
});

t.test('server verification failure: the server certificate is not signed by our CA', async (t) => {
  const err = await attempt({
    tls: {
      caFile: p('rogue-ca.pem'),
      certFile: p('client.pem'),
      keyFile: p('client.key'),
      servername: 'ovsdb.test',
    },
  });
  t.type(err, ConnectError);
  t.match(
    (err?.cause as { code?: string } | undefined)?.code,
    /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/,
  );
});

t.test('refused client certificate: signed by another CA, or none at all', async (t) => {
  for (const tls of [
    {
      caFile: p('ca.pem'),
      certFile: p('rogue-client.pem'),
      keyFile: p('rogue-client.key'),
      servername: 'ovsdb.test',
    },
    { caFile: p('ca.pem'), servername: 'ovsdb.test' },
  ]) {
    const err = await attempt({ tls });
    // With TLS 1.3 the client may finish its side of the handshake before the server checks our
    // certificate: the refusal then arrives as an alert that closes the connection before any reply.
    t.ok(err, `refused (${tls.certFile ?? 'no certificate'})`);
    t.match(err?.code, /^OVSDB_ERR_(CONNECT|CONNECTION_CLOSED)$/);
  }
  // The server is unaffected: a good client still gets in.
  t.equal(await attempt({ tls: { ...clientFiles, servername: 'ovsdb.test' } }), undefined);
});

t.test('bad TLS options are refused before connecting', async (t) => {
  await t.rejects(
    OvsdbClient.connect(endpoint, { tls: { certFile: p('client.pem') } }),
    /certificate without a key/,
  );
  await t.rejects(
    OvsdbClient.connect(`tcp:127.0.0.1:${port}`, { tls: clientFiles }),
    /allowed only with ssl/,
  );
  const missing = await attempt({ tls: { ...clientFiles, caFile: p('nope.pem') } });
  t.type(missing, ConnectError);
  t.match(missing?.message, /cannot read tls\.caFile/);
});
