// The Orchestrator on OVN (needs root and OVN: namespaces, ovsdb-server, ovs-vswitchd, ovn-northd,
// ovn-controller; testkit startOvnEnv). A network made by the plugin on host A; on host B the Orchestrator
// (run inside B's namespace, as a process on that host would) attaches a plain namespace to the same logical
// switch: address from NB, port bound through iface-id, resolved once ovn-installed. Shows: the namespace
// talks to A's endpoint at once; attaching again is idempotent; a failed attach (address taken) leaves
// nothing; detach removes the port and the NB port.
import { join } from 'node:path';
import {
  canPing,
  createNetns,
  deleteNetns,
  type OvnEnv,
  run,
  startOvnEnv,
  uniqueName,
} from '@ovs-container-network/testkit';
import t from 'tap';
import {
  attach,
  createNetwork,
  dockerId,
  lspNames,
  startOvnPlugin,
  waitChassisReady,
} from '../helpers/ovn.js';
import { PKG_ROOT } from '../helpers/plugin.js';

const env: OvnEnv = await startOvnEnv({ chassis: 2 });
t.teardown(() => env.stop());
await waitChassisReady(env);
const [chA, chB] = env.chassis;
if (!chA || !chB) throw new Error('two chassis expected');
const a = await startOvnPlugin(env, chA);
t.teardown(() => a.stop());

const SW = `ocnt-${dockerId().slice(0, 8)}`;
const net = await createNetwork(a, { logicalSwitch: SW, subnet: '10.91.0.0/24' });
if (net.reply.status !== 200) throw new Error(JSON.stringify(net.reply.body));
const ea = await attach(a, net);
t.teardown(() => ea.remove());

const TSX = join(PKG_ROOT, '../../node_modules/.bin/tsx');
async function orchestrate(op: 'attach' | 'detach', args: Record<string, unknown>) {
  const body = JSON.stringify({ op, name: a.name, ovsdb: chB?.endpoint, nb: env.nb.endpoints, args });
  const r = await run('ip', [
    'netns',
    'exec',
    chB?.netns as string,
    TSX,
    join(PKG_ROOT, 'test/helpers/ovn-attach-runner.ts'),
    body,
  ]);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
    ok?: Record<string, unknown>;
    error?: string;
  };
}

t.test('the Orchestrator attaches a namespace on host B to the switch', async (t) => {
  const ns = uniqueName('o');
  await createNetns(ns);
  t.teardown(() => deleteNetns(ns));
  const req = { logicalSwitch: SW, target: { netns: ns }, ifname: 'eth1', containerId: `ocnt-${ns}` };
  const r = await orchestrate('attach', req);
  t.ok(r.ok, r.error ?? '');
  const ip = String((r.ok?.addresses as string[] | undefined)?.[0] ?? '').split('/')[0] as string;
  t.ok(await canPing(ns, ea.ip as string, 3), 'the attached namespace reaches A');
  t.ok(await canPing(ea.netns, ip), 'and A reaches it');
  const again = await orchestrate('attach', req);
  t.equal(again.ok?.logicalPort, r.ok?.logicalPort, 'attach again: the same port, nothing new');
  t.equal((await lspNames(env, SW)).length, 2);
  // Refused and undone: an address A's endpoint holds.
  const taken = await orchestrate('attach', { ...req, ifname: 'eth2', ip: ea.ip });
  t.match(String(taken.error), /in use on logical switch/);
  t.equal((await lspNames(env, SW)).length, 2, 'nothing left by the failed attach');
  const d = await orchestrate('detach', { containerId: req.containerId, ifname: 'eth1' });
  t.equal(d.ok, true);
  t.same(await lspNames(env, SW), [`ocn/${SW}/${ea.ip}`], 'its NB port is gone');
  const ovs = await chB.vsctl(
    '--columns=external_ids',
    'find',
    'Interface',
    `external_ids:iface-id="${r.ok?.logicalPort}"`,
  );
  t.equal(ovs, '', 'its OVS port is gone');
});
