// Published ports, outbound NAT and isolation with the system dockerd (started with --iptables=false by
// scripts/ensure-docker.sh; CI runs this file again against a dockerd with its default firewall, see
// scripts/test.sh). Needs root, OVS (the shared sandbox), dockerd, nft, gcc (static UDP echo), python3, curl.
import { docker, ensureDocker, run, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { deleteBridges, startPluginProcess } from '../helpers/plugin.js';
import { portsSuite } from '../helpers/ports-suite.js';

t.test('north-south on the system dockerd', async (t) => {
  await ensureDocker();
  // Which setting this run is (CI restarts the system dockerd with its default firewall for a second pass).
  const chains = await run('iptables-nft', ['-S', 'DOCKER-USER'], { allowFail: true });
  const firewall = chains.code === 0 ? 'dockerd iptables=true' : 'dockerd iptables=false';
  const p = await startPluginProcess();
  const bridge = uniqueName('br');
  t.teardown(async () => {
    // The bridge goes even when stop() throws, or it leaks into the next run.
    await p.stop().finally(() => deleteBridges(p.ovsdb, [bridge]));
  });
  await portsSuite(t, { label: firewall, docker, host: { netns: undefined }, plugin: p, bridge });
});
