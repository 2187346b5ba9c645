// The orchestrator with Docker containers as targets (resolved through the Engine API on the daemon's
// socket): busybox containers started with --network none get their interfaces from the API; traffic is
// checked with ping and TCP; ovs-docker and the API see each other's ports; a container removed during the
// attach leaves nothing behind.

import {
  BUSYBOX_IMAGE,
  canPing,
  docker,
  ensureDocker,
  ovsSandbox,
  run,
  tcpTransfer,
  uniqueName,
} from '@ovs-container-network/testkit';
import t from 'tap';
import { Orchestrator } from '../../src/orchestrator/index.js';

await ensureDocker();
const sandbox = await ovsSandbox({ vswitchd: true });
const bridge = uniqueName('br');
const containers: string[] = [];
const aliases: string[] = [];
let removeAt: { step: string; name: string } | undefined;

const orch = await Orchestrator.connect({
  ovsdb: sandbox.endpoint,
  datapathType: 'netdev',
  namePrefix: 'ocnt',
  onStep: async (step) => {
    if (removeAt?.step === step) await docker(['rm', '-f', removeAt.name]);
  },
});
const ovsDockerEnv = { ...process.env, OVS_RUNDIR: sandbox.dir, PATH: `/usr/bin:${process.env.PATH ?? ''}` };

t.teardown(async () => {
  await orch.detachAll({ bridge }).catch(() => undefined);
  await orch.close();
  for (const a of aliases) await run('ip', ['netns', 'del', a], { allowFail: true });
  if (containers.length) await docker(['rm', '-f', ...containers], true);
  await sandbox.vsctl('--if-exists', 'del-br', bridge);
  await sandbox.stop();
});

async function container(): Promise<{ name: string; netns: string }> {
  const name = uniqueName('c');
  containers.push(name);
  await docker(['run', '-d', '--network', 'none', '--name', name, BUSYBOX_IMAGE, 'sleep', '600']);
  // A named alias of the container's namespace (`ip netns attach`), so the testkit's checks can enter it.
  const pid = (await docker(['inspect', '-f', '{{.State.Pid}}', name])).stdout.trim();
  const netns = uniqueName('n');
  aliases.push(netns);
  await run('ip', ['netns', 'attach', netns, pid]);
  return { name, netns };
}

t.test('containers by name: attach, ping + TCP, detach by container', async (t) => {
  const [a, b] = [await container(), await container()];
  const attA = await orch.attach({
    bridge,
    target: { container: a.name },
    ifname: 'eth1',
    addresses: ['10.93.0.1/24'],
    mtu: 1450,
    vlan: 93,
  });
  await orch.attach({
    bridge,
    target: { container: b.name },
    ifname: 'eth1',
    addresses: ['10.93.0.2/24'],
    vlan: 93,
  });
  t.equal(attA.containerId, a.name, 'recorded as given, like ovs-docker');
  const { stdout } = await docker(['exec', a.name, 'ip', '-o', 'addr', 'show', 'dev', 'eth1']);
  t.match(stdout, /inet 10\.93\.0\.1\/24/, 'the container sees its address');
  t.ok(await canPing(a.netns, '10.93.0.2'), 'ping between containers');
  t.equal(await tcpTransfer(a.netns, b.netns, '10.93.0.2', 1 << 20), 1 << 20, 'TCP between containers');

  // detach by the full container id finds the port recorded under the name
  const id = (await docker(['inspect', '-f', '{{.Id}}', a.name])).stdout.trim();
  t.equal(await orch.detachAll({ target: { container: id } }), 1);
  t.notOk(await canPing(b.netns, '10.93.0.1', 1), 'gone after detach');
  t.equal(await orch.detach({ target: { container: b.name }, ifname: 'eth1' }), true);
});

t.test('ovs-docker and the API see each other', async (t) => {
  const c = await container();
  await run('ovs-docker', ['add-port', bridge, 'eth5', c.name, '--ipaddress=10.94.0.5/24'], {
    env: ovsDockerEnv,
  });
  const listed = await orch.list({ containerId: c.name });
  t.equal(listed.length, 1, 'our list shows the port ovs-docker made');
  t.equal(listed[0]?.ifname, 'eth5');
  t.equal(listed[0]?.managed, false);
  const vlan = await orch.setVlan({ target: { container: c.name }, ifname: 'eth5' }, 95);
  t.equal(await sandbox.vsctl('get', 'port', vlan.port, 'tag'), '95', 'set-vlan on an ovs-docker port');

  await orch.attach({ bridge, target: { container: c.name }, ifname: 'eth6', vlan: 95 });
  await run('ovs-docker', ['del-ports', bridge, c.name], { env: ovsDockerEnv });
  t.same(await orch.list({ containerId: c.name }), [], 'ovs-docker del-ports removed ours and its own');
});

t.test('a container removed during the attach leaves nothing behind', async (t) => {
  for (const step of ['resolved', 'wired']) {
    const c = await container();
    removeAt = { step, name: c.name };
    await t.rejects(
      orch.attach({ bridge, target: { container: c.name }, ifname: 'eth1', addresses: ['10.96.0.1/24'] }),
      { name: 'TargetGoneError' },
      `removed after ${step}`,
    );
    removeAt = undefined;
    t.same(await orch.list({ containerId: c.name }), [], `removed after ${step}: no port`);
    const host = orch.portName(c.name, 'eth1');
    const { code } = await run('ip', ['link', 'show', 'dev', host], { allowFail: true });
    t.not(code, 0, `removed after ${step}: no host veth`);
  }
  await t.rejects(orch.attach({ bridge, target: { container: uniqueName('none') }, ifname: 'eth1' }), {
    name: 'TargetGoneError',
    message: /does not exist/,
  });
});
