// Issue 17, OVN side of external DHCP: in OVN mode OVN's own DHCP_Options serve a network, for consumers that
// run their own DHCP client. A logical switch port with `dhcpv4_options` (packages/ovn's DHCP_Options builder),
// a namespace attached to the chassis' br-int by the Orchestrator (bound by iface-id, no address), and busybox
// udhcpc in it: ovn-controller's pinctrl answers DISCOVER and REQUEST, and the lease (address, router, lease
// time) arrives in ≤ 1 s. Runs on startOvnEnv (NB, SB, northd, one chassis) and does not need the plugin's
// OVN mode. Root; needs OVN and busybox.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nbTransact, OvnClient } from '@ovs-container-network/ovn';
import { OvsdbClient } from '@ovs-container-network/ovsdb';
import {
  createNetns,
  deleteNetns,
  nsExec,
  REPO_ROOT,
  run,
  startOvnEnv,
  uniqueName,
} from '@ovs-container-network/testkit';
import t from 'tap';

const env = await startOvnEnv({ chassis: 1 });
t.teardown(() => env.stop());
const ch = env.chassis[0];
if (!ch) throw new Error('no chassis');
const ovn = await OvnClient.connect({ nb: env.nb.endpoints, sb: env.sb.endpoints });
t.teardown(() => ovn.close());

t.test(
  'udhcpc in an Orchestrator-attached namespace gets its lease from OVN DHCP_Options in ≤ 1 s',
  async (t) => {
    const mac = '0a:00:00:17:00:05';
    const lsp = 'ocnt-dhcp-lsp';
    const client = await OvsdbClient.connect(env.nb.endpoints[0] ?? '');
    t.teardown(() => client.close());
    await nbTransact(client, (nb) => {
      nb.ensureSwitch({ name: 'ocnt-dhcp-ls', subnet: '10.77.0.0/24' });
      const dhcp = nb.ensureDhcpOptions({
        cidr: '10.77.0.0/24',
        options: {
          server_id: '10.77.0.1',
          server_mac: '0a:00:00:17:00:01',
          lease_time: '3600',
          router: '10.77.0.1',
          dns_server: '10.77.0.53',
        },
        externalIds: { 'ocnt-test': 'dhcp17' },
      });
      nb.ensureSwitchPort({
        switch: 'ocnt-dhcp-ls',
        name: lsp,
        addresses: [`${mac} 10.77.0.5`],
        dhcpv4Options: dhcp,
      });
    });

    const ns = await createNetns(uniqueName('dh'));
    t.teardown(() => deleteNetns(ns));
    const up = ovn.waitForPortUp(lsp, { chassis: ch.name, timeoutMs: 30_000 });
    const attach = await run(
      'nsenter',
      [
        `--net=/run/netns/${ch.netns}`,
        join(REPO_ROOT, 'node_modules/.bin/tsx'),
        join(REPO_ROOT, 'packages/docker-plugin/test/helpers/attach-in-netns.ts'),
        ch.endpoint,
        `/run/netns/${ns}`,
        mac,
        lsp,
      ],
      { timeoutMs: 60_000 },
    );
    const attachment = JSON.parse(attach.stdout.trim().split('\n').pop() ?? '{}') as {
      port: string;
      bridge: string;
    };
    t.equal(attachment.bridge, 'br-int', 'attached by the Orchestrator to br-int');
    await up;
    await ovn.sync('hv', { timeoutMs: 30_000 });
    t.equal(
      (await nsExec(ns, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout.trim(),
      '',
      'no address before DHCP',
    );

    // udhcpc's script prints what it got (and configures nothing: we look at the lease itself).
    const dir = mkdtempSync(join(tmpdir(), 'ocnt-udhcpc-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, 'script.sh');
    writeFileSync(
      script,
      '#!/bin/sh\n[ "$1" = bound ] && echo "lease ip=$ip mask=$mask router=$router dns=$dns lease=$lease"\nexit 0\n',
    );
    chmodSync(script, 0o755);
    const t0 = performance.now();
    const r = await nsExec(ns, 'busybox', [
      'udhcpc',
      '-i',
      'eth0',
      '-f',
      '-q',
      '-n',
      '-t',
      '3',
      '-T',
      '1',
      '-s',
      script,
    ]);
    const ms = performance.now() - t0;
    t.match(r.stdout, /lease ip=10\.77\.0\.5 mask=24 router=10\.77\.0\.1 dns=10\.77\.0\.53 lease=3600/);
    t.comment(
      `udhcpc: lease from OVN in ${ms.toFixed(0)} ms (process start included); load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    t.ok(ms <= 1000, `lease in ${ms.toFixed(0)} ms (≤ 1 s)`);

    await nbTransact(client, (nb) => {
      nb.deleteSwitch('ocnt-dhcp-ls');
      nb.deleteDhcpOptions({ cidr: '10.77.0.0/24', externalIds: { 'ocnt-test': 'dhcp17' } });
    });
  },
);
