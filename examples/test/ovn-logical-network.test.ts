// The OVN logical-network example must keep working: against a private OVN_Northbound ovsdb-server it builds
// the network in one transaction, a second run changes nothing, ovn-nbctl sees it, --delete leaves nothing.

import { run, startOvsdbServer } from '@ovs-container-network/testkit';
import t from 'tap';
import { runExample } from '../lib/run-example.js';

t.test('ovn-logical-network', async (t) => {
  const nb = await startOvsdbServer({ schema: '/usr/share/ovn/ovn-nb.ovsschema' });
  t.teardown(() => nb.stop());
  const args = ['--nb', nb.unixEndpoint, '--prefix', 'ex'];

  const r = await runExample('ovn-logical-network.ts', args);
  t.equal(r.code, 0, `exits 0\n${r.stdout}\n${r.stderr}`);
  t.match(r.stdout, /ensured network ex: \d+ operations in one transaction/);
  t.match(r.stdout, /ensured again: no change/);
  t.match(r.stdout, /switch ex-web: subnet 10\.10\.1\.0\/24, 3 ports/);
  t.match(r.stdout, /switch ex-db: subnet 10\.10\.2\.0\/24, 3 ports/);
  t.match(r.stdout, /router ex-lr: 2 ports, 1 route, 1 NAT rule/);
  t.match(r.stdout, /load balancer ex-web-lb: 10\.10\.1\.100:80 -> 10\.10\.1\.11:8080,10\.10\.1\.12:8080/);

  const nbctl = (...a: string[]) => run('ovn-nbctl', [`--db=${nb.unixEndpoint}`, ...a]);
  const show = (await nbctl('show')).stdout;
  t.match(show, /switch [0-9a-f-]+ \(ex-web\)/);
  t.match(show, /router-port: ex-web-rp/);
  t.match((await nbctl('--bare', '--columns=name', 'list', 'Port_Group')).stdout, /ex_db_ports/);

  const rerun = await runExample('ovn-logical-network.ts', args);
  t.match(rerun.stdout, /ensured network ex: already in place/, 'a second run is a no-op');

  const del = await runExample('ovn-logical-network.ts', [...args, '--delete']);
  t.equal(del.code, 0, del.stderr);
  t.match(del.stdout, /deleted network ex: \d+ operations \(changed\)/);
  for (const table of [
    'Logical_Switch',
    'Logical_Switch_Port',
    'Logical_Router',
    'NAT',
    'Load_Balancer',
    'ACL',
    'Port_Group',
    'DHCP_Options',
    'Load_Balancer_Health_Check',
    'Logical_Router_Static_Route',
  ]) {
    t.equal((await nbctl('--bare', '--columns=_uuid', 'list', table)).stdout.trim(), '', `${table} is empty`);
  }
});
