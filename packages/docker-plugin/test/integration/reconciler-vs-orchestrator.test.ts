// Regression (issue 12, item 3): the plugin's reconciler deleted the Orchestrator's veths. Both default to
// the prefix `ocn`; with `--reconcile-interval 0.01` and 300 attach/detach cycles, 18 attaches returned
// success with their host veth already gone and the plugin logged 63 `removed orphan veth`. Ownership must
// come from the owner recorded at creation, not from a name prefix. Here the plugin binary and an in-process
// Orchestrator share one prefix and one OVSDB (a bare ovsdb-server: no ovs-vswitchd is needed for veths and
// ports). Needs root.
import { createNetns, deleteNetns, run, startOvsdbServer, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { Orchestrator } from '../../src/orchestrator/index.js';
import { startPluginProcess, testPrefix } from '../helpers/plugin.js';

const CYCLES = 300;

async function linkExists(name: string): Promise<boolean> {
  const { code } = await run('ip', ['link', 'show', 'dev', name], { allowFail: true });
  return code === 0;
}

t.test(`${CYCLES} attach/detach cycles while the plugin reconciles every 10 ms, same prefix`, async (t) => {
  const server = await startOvsdbServer();
  const db = server.unixEndpoint;
  const bridge = uniqueName('br');
  const ns = await createNetns(uniqueName('ns'));
  const prefix = testPrefix();
  let cleanup = async () => {};
  t.teardown(async () => {
    await cleanup();
    await deleteNetns(ns);
    await server.stop();
  });
  await run('ovs-vsctl', [`--db=${db}`, '--no-wait', 'init']);
  await run('ovs-vsctl', [`--db=${db}`, '--no-wait', 'add-br', bridge]);
  const p = await startPluginProcess({ ovsdb: db, prefix, reconcileIntervalSeconds: 0.01 });
  const orch = await Orchestrator.connect({ ovsdb: db, namePrefix: prefix, waitForSwitch: false });
  cleanup = async () => {
    await orch.detachAll({ bridge }).catch(() => undefined);
    await orch.close();
    await p.stop();
  };

  let gone = 0;
  const failed: string[] = [];
  for (let i = 0; i < CYCLES; i++) {
    const containerId = `ocnt-cycle-${i}`;
    try {
      const a = await orch.attach({
        bridge,
        target: { netns: ns },
        containerId,
        ifname: 'eth1',
        addresses: ['10.99.0.2/24'],
      });
      // The reconciler gets a few chances at it before we look.
      await new Promise((r) => setTimeout(r, i % 10 === 0 ? 30 : 1));
      if (!(await linkExists(a.port))) gone++;
    } catch (err) {
      failed.push((err as Error).message);
    }
    await orch.detach({ containerId, ifname: 'eth1' }).catch(() => undefined);
  }
  t.equal(gone, 0, `no attach lost its host veth to the plugin (${gone} of ${CYCLES} did)`);
  t.same(failed.slice(0, 3), [], `no attach failed (${failed.length} of ${CYCLES} did)`);
  const removedByPlugin = p.logs.filter((l) => /removed orphan/.test(l)).length;
  t.equal(removedByPlugin, 0, 'the plugin removed nothing of the Orchestrator');
  t.ok(
    p.logs.some((l) => l.includes('plugin listening')),
    'the plugin was running (and reconciling) throughout',
  );
});
