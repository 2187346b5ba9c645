// Example 1 must keep working: connect, list, one typed transaction, the replica sees it, cleanup.

import { run, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { ovsdbEndpoint, runExample } from '../lib/run-example.js';

t.test('ovsdb-basics', async (t) => {
  const bridge = uniqueName('br');
  const port = uniqueName('p');
  const vsctl = (...args: string[]) => run('ovs-vsctl', [`--db=${ovsdbEndpoint()}`, ...args]);
  t.teardown(() => vsctl('--if-exists', 'del-br', bridge).catch(() => undefined));
  const r = await runExample('ovsdb-basics.ts', [
    '--ovsdb',
    ovsdbEndpoint(),
    '--bridge',
    bridge,
    '--port',
    port,
    '--vlan',
    '321',
  ]);
  t.equal(r.code, 0, `exits 0\n${r.stdout}\n${r.stderr}`);
  t.match(r.stdout, /databases: .*Open_vSwitch/);
  t.match(r.stdout, /bridges before: \d+/);
  t.match(
    r.stdout,
    new RegExp(
      `created bridge ${bridge} \\([0-9a-f-]{36}\\) with port ${port} tag 321 in one transaction of 6 operations`,
    ),
  );
  t.match(r.stdout, new RegExp(`replica: insert Bridge ${bridge}`));
  t.match(r.stdout, new RegExp(`replica: insert Port ${port}`));
  t.match(r.stdout, new RegExp(`replica lookup: Port ${port} has tag 321`));
  t.match(r.stdout, new RegExp(`removed bridge ${bridge}`));
  const { stdout } = await vsctl('list-br');
  t.notOk(stdout.split('\n').includes(bridge), 'the bridge is gone');
});
