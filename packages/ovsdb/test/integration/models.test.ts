// The shipped models against real databases: a bridge with a VLAN-tagged port built in ONE transaction
// with the Open_vSwitch models on the shared OVS sandbox (checked with ovs-vsctl), and the OVN Northbound
// model on a private ovsdb-server.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  OVN_NB_SCHEMA,
  ovsSandbox,
  run,
  startOvsdbServer,
  uniqueName,
} from '@ovs-container-network/testkit';
import t from 'tap';
import { connect } from '../../src/client.js';
import { generateModule } from '../../src/codegen/generate.js';
import { database } from '../../src/database.js';
import * as OVS from '../../src/models/generated/open-vswitch.js';
import * as NB from '../../src/models/generated/ovn-northbound.js';
import { parseSchema } from '../../src/schema.js';
import { randomRowUuid } from '../../src/uuid.js';

t.test('a bridge with a VLAN-tagged port in one transaction (Open_vSwitch models)', async (t) => {
  const sandbox = await ovsSandbox({ vswitchd: true });
  t.teardown(() => sandbox.stop());
  const client = await connect(sandbox.endpoint);
  t.teardown(() => client.close());
  const db = database(client, OVS.model);
  const br = uniqueName('br');
  const port = uniqueName('p');
  // Cleanup touches only our bridge, by name, pass or fail (its ports and interfaces go with it).
  t.teardown(() => sandbox.vsctl('--if-exists', 'del-br', br));

  const { bridge, vlanPort } = await db.transact((t) => {
    const brIface = t.insert(OVS.Interface, { name: br, type: 'internal' });
    const brPort = t.insert(OVS.Port, { name: br, interfaces: [brIface] });
    const iface = t.insert(OVS.Interface, { name: port, type: 'internal', external_ids: { owner: 'ocnt' } });
    const vlanPort = t.insert(OVS.Port, {
      name: port,
      interfaces: [iface],
      tag: 100,
      vlan_mode: 'access',
      external_ids: { tenant: 'a' },
    });
    const bridge = t.insert(OVS.Bridge, {
      name: br,
      datapath_type: 'netdev',
      ports: [brPort, vlanPort],
      external_ids: { 'created-by': 'ocnt-models-test' },
    });
    t.mutate(OVS.Open_vSwitch, [], [['bridges', 'insert', [bridge]]]);
    return { bridge, vlanPort };
  });

  t.equal(await sandbox.vsctl('get', 'Port', port, 'tag'), '100');
  t.equal(await sandbox.vsctl('get', 'Port', port, 'vlan_mode'), 'access');
  t.equal(await sandbox.vsctl('get', 'Port', port, '_uuid'), vlanPort);
  t.equal(await sandbox.vsctl('get', 'Bridge', br, 'datapath_type'), 'netdev');
  t.equal(await sandbox.vsctl('get', 'Bridge', br, '_uuid'), bridge);
  t.equal(await sandbox.vsctl('port-to-br', port), br);
  t.same((await sandbox.vsctl('list-ports', br)).split('\n'), [port]);
  t.equal(await sandbox.vsctl('get', 'Port', port, 'external_ids:tenant'), 'a');

  // Read back through the typed model.
  const [row] = await db.select(OVS.Port, [['name', '==', port]]);
  t.equal(row?.tag, 100);
  t.same(row?.external_ids, { tenant: 'a' });
  const [b] = await db.select(OVS.Bridge, [['_uuid', '==', bridge]]);
  t.ok(b?.ports.includes(vlanPort));

  // Removing the bridge from the root set deletes it with its ports (they are not root tables).
  await db.transact((t) => t.mutate(OVS.Open_vSwitch, [], [['bridges', 'delete', [bridge]]]));
  t.equal((await sandbox.vsctl('--if-exists', 'get', 'Port', port, 'tag')).trim(), '');
  t.equal((await db.select(OVS.Port, [['name', '==', port]])).length, 0);
});

t.test('an out-of-range VLAN tag is refused before anything is sent', async (t) => {
  let sent = 0;
  const counting = {
    async transact() {
      sent++;
      return [];
    },
  };
  await t.rejects(
    database(counting, OVS.model).transact((t) =>
      t.insert(OVS.Port, { name: 'ocntx', interfaces: [randomRowUuid<'Interface'>()], tag: 4096 }),
    ),
    { name: 'ValidationError', table: 'Port', column: 'tag', value: 4096, allowed: 'integer in [0, 4095]' },
  );
  t.equal(sent, 0);
});

t.test('OVN Northbound models: a logical switch with a port', async (t) => {
  const server = await startOvsdbServer({ schema: OVN_NB_SCHEMA });
  t.teardown(() => server.stop());
  const client = await connect(server.unixEndpoint);
  t.teardown(() => client.close());
  const db = database(client, NB.model);
  const ls = await db.transact((t) => {
    const lsp = t.insert(NB.Logical_Switch_Port, { name: 'ocnt-lsp', addresses: ['dynamic'] });
    return t.insert(NB.Logical_Switch, {
      name: 'ocnt-ls',
      ports: [lsp],
      other_config: { subnet: '10.0.0.0/24' },
    });
  });
  const [row] = await db.select(NB.Logical_Switch, [['_uuid', '==', ls]]);
  t.equal(row?.name, 'ocnt-ls');
  t.equal(row?.ports.length, 1);
  const ports = await db.select(NB.Logical_Switch_Port);
  t.same(
    ports.map((p) => [p.name, p.addresses]),
    [['ocnt-lsp', ['dynamic']]],
  );
  await t.rejects(
    // @ts-expect-error — direction has no valid default (an enum without ""): the type requires it too
    db.transact((t) => t.insert(NB.ACL, { priority: 1, match: 'ip4', action: 'allow' })),
    /ACL\.direction: undefined is not allowed; expected a value: the column is required/,
  );
});

t.test('ovsdb-codegen --server generates the same module as from the schema file', async (t) => {
  const server = await startOvsdbServer({ schema: OVN_NB_SCHEMA });
  t.teardown(() => server.stop());
  const cli = fileURLToPath(new URL('../../src/bin/ovsdb-codegen.ts', import.meta.url));
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', cli, '--server', server.unixEndpoint, '--db', 'OVN_Northbound'],
    { encoding: 'utf8' },
  );
  t.equal(res.status, 0, res.stderr);
  const fromFile = generateModule(parseSchema(readFileSync(OVN_NB_SCHEMA, 'utf8')));
  const body = (code: string) => code.split('\n').slice(3).join('\n');
  t.match(res.stdout, /Generated by ovsdb-codegen from OVN_Northbound on a live server/);
  t.equal(body(res.stdout).length > 1000, true);
  // ovsdb-server normalizes the schema it returns (sorted, defaults omitted); the canonical form makes the
  // module the same as from the file, apart from the line naming the source.
  t.equal(body(res.stdout), body(fromFile));
  const unknown = spawnSync(
    process.execPath,
    ['--import', 'tsx', cli, '--server', server.unixEndpoint, '--db', 'Nope'],
    { encoding: 'utf8' },
  );
  t.equal(unknown.status, 1);
  t.match(unknown.stderr, /unknown database|Nope/);
});

t.test('ovsdb-codegen --server over ssl: with a client certificate', async (t) => {
  // A throwaway PKI: a CA, and server and client certificates it signed (the server's names 127.0.0.1).
  const dir = mkdtempSync(join(tmpdir(), 'ocnt-pki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = (n: string) => join(dir, n);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=ocnt-ca',
  ]);
  writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const n of ['server', 'client']) {
    await run('openssl', [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f(`${n}.key`),
      '-out',
      f(`${n}.csr`),
      '-subj',
      `/CN=ocnt-${n}`,
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      f(`${n}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${n}.pem`),
      '-days',
      '2',
      '-extfile',
      f('ext'),
    ]);
  }
  const port = await freePort();
  const server = await startOvsdbServer({
    schema: OVN_NB_SCHEMA,
    extraArgs: [
      `--remote=pssl:${port}:127.0.0.1`,
      `--private-key=${f('server.key')}`,
      `--certificate=${f('server.pem')}`,
      `--ca-cert=${f('ca.pem')}`,
    ],
  });
  t.teardown(() => server.stop());
  const cli = fileURLToPath(new URL('../../src/bin/ovsdb-codegen.ts', import.meta.url));
  const gen = (...extra: string[]) =>
    spawnSync(
      process.execPath,
      ['--import', 'tsx', cli, '--server', `ssl:127.0.0.1:${port}`, '--db', 'OVN_Northbound', ...extra],
      { encoding: 'utf8' },
    );
  const ok = gen('-p', f('client.key'), '-c', f('client.pem'), '-C', f('ca.pem'));
  t.equal(ok.status, 0, ok.stderr);
  t.match(ok.stdout, /export const Logical_Switch = \$defineTable/);
  const noCert = gen('-C', f('ca.pem'));
  t.equal(noCert.status, 1, 'the server refuses a client without a certificate');
  t.match(noCert.stderr, /^ovsdb-codegen: /);
});
