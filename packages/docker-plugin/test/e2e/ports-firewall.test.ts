// The north-south checks against a dockerd with its DEFAULT firewall (iptables=true: FORWARD policy DROP,
// DOCKER-USER), without touching the machine's own dockerd or firewall: a namespace acting as the host
// (test/helpers/firewall-host.ts: own ovsdb-server + vswitchd, dockerd, the plugin). IPv6 forwarding is on
// there, so IPv6 ports go through DNAT (the machine's own netns has it off and the proxy serves IPv6): the
// two files test both paths. Also checks that iptables-nft still reads the tables dockerd owns after the
// plugin wrote DOCKER-USER. Needs root, OVS, dockerd, nft, iptables-nft, gcc, python3, curl.
import { uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { startFirewallHost } from '../helpers/firewall-host.js';
import { hostRun } from '../helpers/north-south.js';
import { portsSuite } from '../helpers/ports-suite.js';

t.test('north-south on a dockerd with its default firewall (iptables=true)', async (t) => {
  const fw = await startFirewallHost();
  t.teardown(() => fw.stop());
  const { ns, dockerd, plugin } = fw;
  const host = { netns: ns };
  const forward = await hostRun(host, 'iptables-nft', ['-S', 'FORWARD']);
  t.match(forward.stdout, /-P FORWARD DROP/, 'dockerd set the FORWARD policy to DROP');
  t.match(forward.stdout, /-j DOCKER-USER/, 'and jumps to DOCKER-USER');

  await portsSuite(t, {
    label: 'dockerd iptables=true',
    docker: (args, allowFail) => dockerd.docker(args, allowFail),
    host,
    plugin,
    bridge: uniqueName('br'),
    // Checked while the networks exist: iptables-nft still parses the table dockerd owns.
    async whileUp(t) {
      const user = await hostRun(host, 'iptables-nft', ['-S', 'DOCKER-USER']);
      t.equal(user.code, 0, `iptables-nft -S DOCKER-USER: ${user.stderr.trim()}`);
      t.match(
        user.stdout,
        /-s 10\.\d+\.\d+\.0\/24 .*-j ACCEPT/,
        'our accepts are there, readable by iptables',
      );
      const save = await hostRun(host, 'iptables-nft-save', []);
      t.equal(save.code, 0, 'iptables-nft-save reads every table');
      t.notMatch(save.stderr + save.stdout, /incompatible|unsupported/i, 'no table iptables cannot read');
    },
  });
  const after = await hostRun(host, 'iptables-nft', ['-S', 'DOCKER-USER']);
  t.notMatch(after.stdout, /ocn-/, 'no DOCKER-USER rule of ours once the networks are gone');
});
