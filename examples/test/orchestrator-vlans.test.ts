// Example 2 must keep working: namespaces (and busybox containers) on two VLANs, ping + TCP within a VLAN,
// isolation across, a VLAN change, and a teardown that leaves nothing behind.

import { docker, ensureDocker, run, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { ovsdbEndpoint, runExample } from '../lib/run-example.js';

async function leftovers(prefix: string, bridge: string) {
  const { stdout: ns } = await run('ip', ['netns', 'list']);
  const { stdout: br } = await run('ovs-vsctl', [`--db=${ovsdbEndpoint()}`, 'list-br']);
  return {
    namespaces: ns.split('\n').filter((l) => l.startsWith(prefix)),
    bridge: br.split('\n').includes(bridge),
  };
}

for (const mode of ['namespaces', 'docker'] as const) {
  t.test(`orchestrator-vlans with ${mode}`, async (t) => {
    if (mode === 'docker') await ensureDocker();
    const prefix = uniqueName('e', 10);
    const bridge = uniqueName('br');
    t.teardown(async () => {
      const { stdout } = await run('ip', ['netns', 'list']);
      for (const l of stdout.split('\n'))
        if (l.startsWith(prefix)) await run('ip', ['netns', 'del', l.split(' ')[0]!]);
      if (mode === 'docker') {
        const { stdout: ids } = await docker(['ps', '-aq', '--filter', `name=${prefix}`], true);
        if (ids.trim()) await docker(['rm', '-f', ...ids.trim().split('\n')], true);
      }
      await run('ovs-vsctl', [`--db=${ovsdbEndpoint()}`, '--if-exists', 'del-br', bridge], {
        allowFail: true,
      });
    });
    const args = ['--ovsdb', ovsdbEndpoint(), '--bridge', bridge, '--prefix', prefix];
    const r = await runExample('orchestrator-vlans.ts', mode === 'docker' ? [...args, '--docker'] : args);
    t.equal(r.code, 0, `exits 0\n${r.stdout}\n${r.stderr}`);
    t.match(r.stdout, /wired 6 endpoints to/);
    t.match(r.stdout, new RegExp(`ok   ping ${prefix}tg100 -> ${prefix}t100-1 works`));
    t.match(r.stdout, new RegExp(`ok   ping ${prefix}tg100 -> ${prefix}t200-1 is blocked`));
    t.match(r.stdout, new RegExp(`ok   tcp ${prefix}tg200 -> ${prefix}t200-2: 1048576 bytes`));
    t.match(r.stdout, /ok {3}after set-vlan .* answers /);
    t.match(r.stdout, /ok {3}after set-vlan tcp .*: 1048576 bytes/);
    t.match(r.stdout, /tore down 6 ports/);
    t.match(r.stdout, /all connectivity checks passed/);
    t.notMatch(r.stdout, /FAIL/);
    t.same(await leftovers(prefix, bridge), { namespaces: [], bridge: false }, 'nothing left behind');
  });
}
