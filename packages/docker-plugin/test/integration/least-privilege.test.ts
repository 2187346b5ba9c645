// Regression (issue 12, item 7): more privilege than needed. docker/config.json asked for CAP_SYS_ADMIN and
// CAP_NET_RAW, the managed plugin mounted all of /var/run/openvswitch read-write (control sockets
// included), and the systemd unit had no CapabilityBoundingSet. The driver path runs with CAP_NET_ADMIN
// alone: shown here with the real binary under `setpriv --bounding-set=-all,+net_admin` on the shared OVS
// sandbox (gateway port, isolation rules, veth with TX offload off, Join, deletes). Needs root.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  deleteBridges,
  PKG_ROOT,
  postPlugin,
  settledLeftovers,
  startPluginProcess,
} from '../helpers/plugin.js';

const CAP_NET_ADMIN = 12; // include/uapi/linux/capability.h

t.test(
  'the managed plugin asks for CAP_NET_ADMIN only and mounts the OVS run directory read-only',
  async (t) => {
    const config = JSON.parse(readFileSync(join(REPO_ROOT, 'docker/config.json'), 'utf8'));
    t.same(config.linux.capabilities, ['CAP_NET_ADMIN']);
    t.equal(config.mounts.length, 1, 'one mount');
    // The directory, not db.sock alone: a file bind mount pins the socket's old inode once ovsdb-server restarts.
    t.match(config.mounts[0], {
      source: '/var/run/openvswitch',
      destination: '/var/run/openvswitch',
      type: 'bind',
    });
    t.ok(config.mounts[0].options.includes('ro'), 'read-only');
    t.notOk(config.mounts[0].options.includes('rw'), 'never read-write');
    t.ok(config['x-why']?.capabilities && config['x-why']?.mounts, 'and says why');
  },
);

t.test('the systemd unit is bounded to CAP_NET_ADMIN', async (t) => {
  const unit = readFileSync(join(PKG_ROOT, 'systemd/ovs-container-network.service'), 'utf8');
  t.match(unit, /^CapabilityBoundingSet=CAP_NET_ADMIN$/m);
  t.match(unit, /^AmbientCapabilities=CAP_NET_ADMIN$/m);
  t.notMatch(unit, /^[^#].*CAP_SYS_ADMIN/m, 'no CAP_SYS_ADMIN');
  t.match(unit, /^NoNewPrivileges=yes$/m);
  t.match(unit, /^ProtectSystem=strict$/m);
});

t.test('the driver path works with CAP_NET_ADMIN as the only capability', async (t) => {
  const p = await startPluginProcess({ capabilities: ['net_admin'], reconcileIntervalSeconds: 0 });
  const bridge = uniqueName('br');
  t.teardown(async () => {
    // The bridge goes even when stop() throws, or it leaks into the next run.
    await p.stop().finally(() => deleteBridges(p.ovsdb, [bridge]));
  });
  const status = readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
  const eff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
  t.equal(eff, 1n << BigInt(CAP_NET_ADMIN), 'the plugin process has CAP_NET_ADMIN and nothing else');

  const netA = `${'a'.repeat(56)}${Math.random().toString(16).slice(2, 10)}`;
  const netB = `${'b'.repeat(56)}${Math.random().toString(16).slice(2, 10)}`;
  const ep = `${'e'.repeat(56)}${Math.random().toString(16).slice(2, 10)}`;
  const o2 = 20 + Math.floor(Math.random() * 200);
  const steps: [string, unknown][] = [
    [
      'CreateNetwork',
      {
        NetworkID: netA,
        Options: { 'com.docker.network.generic': { bridge } },
        IPv4Data: [{ Pool: `10.${o2}.1.0/24`, Gateway: `10.${o2}.1.1/24` }],
      },
    ],
    [
      'CreateNetwork',
      {
        NetworkID: netB,
        Options: { 'com.docker.network.generic': { bridge } },
        IPv4Data: [{ Pool: `10.${o2}.2.0/24`, Gateway: `10.${o2}.2.1/24` }],
      },
    ],
    ['CreateEndpoint', { NetworkID: netA, EndpointID: ep, Interface: { Address: `10.${o2}.1.5/24` } }],
    ['Join', { NetworkID: netA, EndpointID: ep, SandboxKey: '' }],
    ['Leave', { NetworkID: netA, EndpointID: ep }],
    ['DeleteEndpoint', { NetworkID: netA, EndpointID: ep }],
    ['DeleteNetwork', { NetworkID: netB }],
    ['DeleteNetwork', { NetworkID: netA }],
  ];
  for (const [call, body] of steps) {
    const r = await postPlugin(p.socket, `/NetworkDriver.${call}`, body);
    t.equal(r.status, 200, `${call}: ${r.body}`);
  }
  t.same(await settledLeftovers(p), [], 'and everything it made is gone');
});
