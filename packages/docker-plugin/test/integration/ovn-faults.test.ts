// OVN mode under faults, two simulated hosts (needs root and OVN: namespaces, ovsdb-server, ovs-vswitchd,
// ovn-northd, ovn-controller; testkit startOvnEnv). The plugin binary runs in each chassis' namespace with
// a short orphan grace and reconcile interval. Shows, after each fault, that no stale logical port, held
// address, OVS port or veth of ours is left and that the endpoints that were there still talk:
// the plugin SIGKILLed with a hold made and with a CreateEndpoint in flight; ovn-controller restarted; a
// host "rebooted" (every daemon killed, its namespace gone and back on the same conf.db).
import {
  canPing,
  deleteNetns,
  type OvnEnv,
  run,
  sleep,
  startOvnEnv,
  waitFor,
} from '@ovs-container-network/testkit';
import t from 'tap';
import {
  attach,
  createNetwork,
  dockerId,
  type Endpoint,
  lspNames,
  type OvnPlugin,
  startOvnPlugin,
  waitChassisReady,
} from '../helpers/ovn.js';

const env: OvnEnv = await startOvnEnv({ chassis: 2 });
t.teardown(() => env.stop());
await waitChassisReady(env);
const [chA, chB] = env.chassis;
if (!chA || !chB) throw new Error('two chassis expected');
const fast = { orphanGraceSeconds: 2, reconcileIntervalSeconds: 1 };
const a: OvnPlugin = await startOvnPlugin(env, chA, fast);
t.teardown(() => a.stop());
const b: OvnPlugin = await startOvnPlugin(env, chB, { ...fast, name: a.name });
t.teardown(() => b.stop());

const SW = `ocnt-${dockerId().slice(0, 8)}`;
const spec = { logicalSwitch: SW, subnet: '10.81.0.0/24' };
const na = await createNetwork(a, spec);
const nb = await createNetwork(b, spec);
if (na.reply.status !== 200 || nb.reply.status !== 200) throw new Error(JSON.stringify([na.reply, nb.reply]));
const keepA: Endpoint = await attach(a, na);
let keepB: Endpoint = await attach(b, nb);

const ours = async (p: OvnPlugin) => {
  const ovs = (await p.chassis.vsctl('list-ports', 'br-int'))
    .split('\n')
    .filter((x) => x.startsWith(p.prefix));
  const links = JSON.parse((await run('ip', ['-n', p.chassis.netns, '-j', 'link', 'show'])).stdout) as {
    ifname: string;
  }[];
  return {
    ovs: ovs.sort(),
    links: links
      .map((l) => l.ifname)
      .filter((n) => n.startsWith(p.prefix))
      .sort(),
  };
};
const baseA = await ours(a);

t.test(
  'plugin SIGKILLed mid-attach: the reconciler reclaims the hold, the port, the OVS port, the veth',
  async (t) => {
    const before = (await lspNames(env, SW)).sort();
    t.equal(before.length, 2);
    // A hold whose CreateEndpoint never comes.
    await a.ok('/IpamDriver.RequestAddress', { PoolID: na.pools[0]?.poolId });
    // A CreateEndpoint cut off once its OVS port exists (the NB port is claimed, the veth made).
    const held = await a.ok('/IpamDriver.RequestAddress', { PoolID: na.pools[0]?.poolId });
    const inflight = a
      .call('/NetworkDriver.CreateEndpoint', {
        NetworkID: na.networkId,
        EndpointID: dockerId(),
        Interface: { Address: held.Address, AddressIPv6: '', MacAddress: '' },
        Options: {},
      })
      .catch(() => undefined);
    await waitFor(
      async () => (await ours(a)).ovs.length > baseA.ovs.length,
      20_000,
      'the in-flight OVS port',
    );
    await a.kill('SIGKILL');
    await inflight;
    t.equal((await lspNames(env, SW)).length, 4, 'two holds of the killed plugin are in NB');
    await a.start();
    await waitFor(
      async () => (await lspNames(env, SW)).length === 2,
      30_000,
      'the reconciler to remove them',
    );
    t.same((await lspNames(env, SW)).sort(), before, 'only the live endpoints remain in NB');
    t.same(await ours(a), baseA, 'no OVS port or veth of the killed attach left');
    t.ok(await canPing(keepA.netns, keepB.ip as string, 3), 'the existing endpoints still talk');
  },
);

t.test('ovn-controller restarted: existing endpoints talk, a new attach works, nothing stale', async (t) => {
  await chB.restartController();
  t.ok(await canPing(keepA.netns, keepB.ip as string, 5), 'A → B after the restart');
  const e = await attach(b, nb);
  t.ok(await canPing(keepA.netns, e.ip as string, 3), 'a new endpoint on B');
  await e.remove();
  t.equal((await lspNames(env, SW)).length, 2);
});

t.test('host B rebooted: its stale ports go once its plugin is back, A is untouched', async (t) => {
  const portA = `ocn/${SW}/${keepA.ip}`;
  const portB = `ocn/${SW}/${keepB.ip}`;
  await b.kill('SIGKILL');
  await chB.reboot();
  await waitChassisReady(env);
  t.same(
    (await lspNames(env, SW)).sort(),
    [portA, portB].sort(),
    "B's port is still in NB while B's plugin is down",
  );
  await b.start();
  await waitFor(async () => !(await lspNames(env, SW)).includes(portB), 30_000, "B's stale port to go");
  t.same(await lspNames(env, SW), [portA], "only A's port remains: B's plugin removed only its own");
  t.same((await ours(b)).ovs, [], 'no OVS port of ours left on B (its conf.db survived the reboot)');
  // What `--restart always` does after a reboot: a new endpoint on B, reachable from A.
  await sleep(100);
  // The reboot ended the old container: its namespace goes, as dockerd removes a dead container's.
  await deleteNetns(keepB.netns);
  keepB = await attach(b, nb);
  // The new endpoint may get the old one's address with a new MAC: A's namespace still has the old
  // neighbour entry (a container would too; Linux re-resolves it only once the entry goes stale).
  await run('ip', ['-n', keepA.netns, 'neigh', 'flush', 'all']);
  t.ok(await canPing(keepA.netns, keepB.ip as string, 3), 'a new endpoint on the rebooted host talks to A');
  await keepB.remove();
  await keepA.remove();
  t.same(await lspNames(env, SW), [], 'nothing left');
});
