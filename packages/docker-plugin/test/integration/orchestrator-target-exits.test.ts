// Regression: attaching to a process whose network namespace dies during the attach must leave nothing
// behind — no OVS port, no host veth. The namespace is a `sleep` in a fresh netns (`unshare -n`), killed at
// each step of the attach (deterministically, through onStep), and then at random moments.
import { type ChildProcess, spawn } from 'node:child_process';
import { ovsSandbox, run, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { Orchestrator } from '../../src/orchestrator/index.js';

const sandbox = await ovsSandbox({ vswitchd: true });
const bridge = uniqueName('br');
const children = new Set<ChildProcess>();
let killAt: { step: string; child: ChildProcess } | undefined;

const orch = await Orchestrator.connect({
  ovsdb: sandbox.endpoint,
  datapathType: 'netdev',
  namePrefix: 'ocnt',
  onStep: async (step) => {
    if (killAt?.step === step) await kill(killAt.child);
  },
});

t.teardown(async () => {
  for (const c of children) await kill(c);
  await orch.detachAll({ bridge }).catch(() => undefined);
  await orch.close();
  await sandbox.vsctl('--if-exists', 'del-br', bridge);
  await sandbox.stop();
});

async function sleeper(): Promise<ChildProcess> {
  const child = spawn('unshare', ['-n', 'sleep', '600'], { stdio: 'ignore' });
  children.add(child);
  // unshare execs sleep in the same pid once the namespace exists
  await waitFor(
    async () => {
      const { stdout } = await run('readlink', [`/proc/${child.pid}/exe`], { allowFail: true });
      return stdout.includes('sleep');
    },
    5000,
    'unshare to exec sleep',
  );
  return child;
}

function kill(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function leftovers(containerId: string): Promise<{ ports: string; links: string }> {
  const ports = await sandbox.vsctl(
    '--data=bare',
    '--no-heading',
    '--columns=name',
    'find',
    'interface',
    `external_ids:container_id=${containerId}`,
  );
  const host = orch.portName(containerId, 'eth1');
  const { code } = await run('ip', ['link', 'show', 'dev', host], { allowFail: true });
  return { ports, links: code === 0 ? host : '' };
}

t.test('the process is killed after its namespace was resolved, or after the wiring', async (t) => {
  for (const step of ['resolved', 'wired']) {
    const child = await sleeper();
    const containerId = `pid-${child.pid}`;
    killAt = { step, child };
    await t.rejects(
      orch.attach({
        bridge,
        target: { pid: child.pid! },
        ifname: 'eth1',
        addresses: ['10.91.0.1/24'],
        vlan: 91,
      }),
      { code: 'PLUGIN_ERR_NOT_FOUND', name: 'TargetGoneError' },
      `killed after ${step}: the attach fails with TargetGoneError`,
    );
    killAt = undefined;
    t.same(await leftovers(containerId), { ports: '', links: '' }, `killed after ${step}: nothing left`);
  }
});

t.test('a process that is already gone is refused and nothing is made', async (t) => {
  const child = await sleeper();
  const pid = child.pid!;
  await kill(child);
  await t.rejects(orch.attach({ bridge, target: { pid }, ifname: 'eth1' }), { name: 'TargetGoneError' });
  t.same(await leftovers(`pid-${pid}`), { ports: '', links: '' });
});

t.test(
  'killed at random moments: either the attach fails cleanly or it succeeded and prune clears it',
  async (t) => {
    for (let i = 0; i < 8; i++) {
      const child = await sleeper();
      const containerId = `pid-${child.pid}`;
      const attach = orch
        .attach({ bridge, target: { pid: child.pid! }, ifname: 'eth1', addresses: ['10.92.0.1/24'] })
        .then(
          () => 'attached',
          (err: { name?: string }) => err.name ?? 'error',
        );
      setTimeout(() => void kill(child), i * 4);
      const outcome = await attach;
      t.ok(['attached', 'TargetGoneError'].includes(outcome), `run ${i}: ${outcome}`);
      await kill(child);
      // The namespace is gone now; a successful attach left a port whose veth died with it: prune removes it.
      await waitFor(
        async () => (await leftovers(containerId)).links === '',
        20_000,
        'the veth to vanish with its namespace',
      );
      await orch.prune({ containerId });
      t.same(await leftovers(containerId), { ports: '', links: '' }, `run ${i}: nothing left after prune`);
    }
  },
);
