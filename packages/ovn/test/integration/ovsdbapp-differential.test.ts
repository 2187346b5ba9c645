// Differential against ovsdbapp (Debian python3-ovsdbapp): the same sequence of operations through our
// builders and through ovsdbapp's OVN_Northbound API, each on a fresh standalone ovsdb-server, leaves the
// same contents (`ovsdb-client dump`), uuids and ordering aside.

import { join } from 'node:path';
import { OvsdbClient } from '@ovs-container-network/ovsdb';
import { run } from '@ovs-container-network/testkit';
import t from 'tap';
import { nbTransact } from '../../src/index.js';
import { canonical, counts, dump, startNb } from '../helpers.js';
import { CHANGES, STEPS } from '../sequence.js';

const SCRIPT = join(import.meta.dirname, '..', 'ovsdbapp-sequence.py');

t.test('builders and ovsdbapp leave the same OVN_Northbound contents', async (t) => {
  const ours = await startNb();
  const theirs = await startNb();
  t.teardown(() => Promise.all([ours.stop(), theirs.stop()]));
  const client = await OvsdbClient.connect(ours.unixEndpoint);
  t.teardown(() => client.close());

  for (const step of STEPS) await nbTransact(client, step);
  // Debian's interpreter: python3-ovsdbapp lives in its dist-packages (a pyenv python3 may shadow it).
  await run('/usr/bin/python3', [SCRIPT, theirs.unixEndpoint], { timeoutMs: 60_000 });

  const a = await dump(ours.unixEndpoint);
  const b = await dump(theirs.unixEndpoint);
  const expected = {
    ACL: 2,
    Address_Set: 1,
    DHCP_Options: 1,
    DNS: 1,
    Gateway_Chassis: 1,
    HA_Chassis: 2,
    HA_Chassis_Group: 1,
    Load_Balancer: 2,
    Load_Balancer_Health_Check: 1,
    Logical_Router: 1,
    Logical_Router_Policy: 1,
    Logical_Router_Port: 2,
    Logical_Router_Static_Route: 4,
    Logical_Switch: 1,
    Logical_Switch_Port: 4,
    Meter: 1,
    Meter_Band: 1,
    NAT: 3,
    Port_Group: 1,
    QoS: 2,
  };
  t.same(counts(a), expected, 'our database has every object of the sequence');
  t.same(counts(b), expected, "ovsdbapp's database has every object of the sequence");
  const ca = canonical(a);
  const cb = canonical(b);
  for (const table of Object.keys(expected)) t.same(ca[table], cb[table], `${table}: same rows`);

  // Ensuring the whole sequence again through the builders changes nothing, and still matches.
  for (const step of STEPS) {
    const r = await nbTransact(client, step);
    t.equal(r.changed, false, 'a repeated step sends nothing');
  }
  t.same(canonical(await dump(ours.unixEndpoint)), cb, 'still equal after ensuring everything again');

  // Then deletions and updates through both, on fresh servers that went through STEPS first.
  const ours2 = await startNb();
  const theirs2 = await startNb();
  t.teardown(() => Promise.all([ours2.stop(), theirs2.stop()]));
  const client2 = await OvsdbClient.connect(ours2.unixEndpoint);
  t.teardown(() => client2.close());
  for (const step of STEPS) await nbTransact(client2, step);
  const changed = await nbTransact(client2, CHANGES);
  t.ok(changed.changed, 'the changes are one transaction');
  await run('/usr/bin/python3', [SCRIPT, theirs2.unixEndpoint, '--changes'], { timeoutMs: 60_000 });
  const a2 = await dump(ours2.unixEndpoint);
  const b2 = await dump(theirs2.unixEndpoint);
  const after = {
    ...expected,
    ACL: 1,
    DNS: undefined,
    Gateway_Chassis: undefined,
    HA_Chassis: 1,
    Load_Balancer: 1,
    Load_Balancer_Health_Check: undefined,
    Logical_Router_Policy: undefined,
    Logical_Router_Static_Route: 3,
    Logical_Switch_Port: 3,
    Meter: undefined,
    Meter_Band: undefined,
    NAT: 2,
    QoS: 1,
  };
  const want = Object.fromEntries(Object.entries(after).filter(([, n]) => n !== undefined));
  t.same(counts(a2), want, 'our deletions removed exactly their rows');
  t.same(counts(b2), want, "ovsdbapp's deletions removed the same rows");
  // ovsdbapp's transaction mutates ls0 (ls_lb_del) before deleting the DNS row, and ovsdb-server 3.1.0 then
  // keeps the deleted row's uuid in ls0's weak dns_records. The builders remove weak references themselves.
  t.match(
    canonical(b2).Logical_Switch?.[0],
    /"dns_records":"dangling"/,
    "ovsdbapp's run leaves a dangling weak reference",
  );
  t.notMatch(canonical(a2).Logical_Switch?.[0], /dangling/, 'ours does not');
  const ca2 = canonical(a2, { dropDangling: true });
  const cb2 = canonical(b2, { dropDangling: true });
  for (const table of Object.keys(expected))
    t.same(ca2[table], cb2[table], `after the changes, ${table}: same rows`);
  t.equal((await nbTransact(client2, CHANGES)).changed, false, 'the changes again: nothing to do');
});
