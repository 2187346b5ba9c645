import t, { type Test } from 'tap';
import { OrchestratorArgumentError, PluginError } from '../../src/core/errors.js';
import type { AttachRequest } from '../../src/orchestrator/types.js';
import {
  checkVlanSetting,
  defaultContainerId,
  netnsPathOf,
  normalizeAttach,
} from '../../src/orchestrator/validate.js';

const base: AttachRequest = { bridge: 'br0', target: { pid: 42 }, ifname: 'eth1' };

function rejects(t: Test, req: unknown, field: string, mentions: RegExp): void {
  try {
    normalizeAttach(req as AttachRequest);
    t.fail(`expected ${JSON.stringify(req)} to be refused`);
  } catch (err) {
    t.ok(err instanceof OrchestratorArgumentError, 'an OrchestratorArgumentError');
    t.ok(err instanceof PluginError, 'rooted in PluginError');
    const e = err as OrchestratorArgumentError;
    t.equal(e.code, 'PLUGIN_ERR_INVALID_OPTION');
    t.equal(e.field, field, `names the field ${field}`);
    t.match(e.message, mentions, 'says what is allowed');
  }
}

t.test('a minimal request is normalized with defaults', (t) => {
  const n = normalizeAttach(base);
  t.same(n, {
    bridge: 'br0',
    target: { pid: 42 },
    ifname: 'eth1',
    containerId: 'pid-42',
    addresses: [],
    mac: undefined,
    mtu: undefined,
    gateway: undefined,
    gateway6: undefined,
    routes: [],
    vlan: undefined,
    trunks: [],
    externalIds: {},
    txChecksumOffload: false,
  });
  t.end();
});

t.test('a full request keeps every field, lower-cases the MAC, sorts and dedups trunks', (t) => {
  const n = normalizeAttach({
    bridge: 'br-int',
    target: { container: 'web_1' },
    ifname: 'eth2',
    addresses: ['10.0.0.2/24', 'fd00::2/64'],
    mac: '02:AA:bb:cc:dd:ee',
    mtu: 1450,
    gateway: '10.0.0.1',
    gateway6: 'fd00::1',
    routes: [{ destination: '10.9.0.0/16', via: '10.0.0.254' }, { destination: '10.8.0.0/16' }],
    trunks: [20, 10, 20],
    externalIds: { tenant: 'a' },
    txChecksumOffload: true,
  });
  t.equal(n.containerId, 'web_1', 'a container ref is recorded as given, like ovs-docker');
  t.same(
    n.addresses.map((a) => [a.address, a.prefix, a.family]),
    [
      ['10.0.0.2', 24, 4],
      ['fd00::2', 64, 6],
    ],
  );
  t.equal(n.mac, '02:aa:bb:cc:dd:ee');
  t.same(n.trunks, [10, 20]);
  t.equal(n.vlan, undefined);
  t.same(n.routes, [{ destination: '10.9.0.0/16', via: '10.0.0.254' }, { destination: '10.8.0.0/16' }]);
  t.equal(n.txChecksumOffload, true);
  t.end();
});

t.test('bad fields are refused with the field, the value and what is allowed', (t) => {
  rejects(t, { ...base, bridge: 'a-bridge-name-that-is-too-long' }, 'bridge', /1 to 15 bytes/);
  rejects(t, { ...base, bridge: '' }, 'bridge', /interface name/);
  rejects(t, { ...base, ifname: 'eth/1' }, 'ifname', /without "\/"/);
  rejects(t, { ...base, ifname: 'eth 1' }, 'ifname', /whitespace/);
  rejects(t, { ...base, ifname: 7 }, 'ifname', /interface name/);
  rejects(t, { ...base, vlan: 5000 }, 'vlan', /0\.\.4095/);
  rejects(t, { ...base, vlan: 'abc' }, 'vlan', /0\.\.4095/);
  rejects(t, { ...base, vlan: 1.5 }, 'vlan', /integer/);
  rejects(t, { ...base, trunks: [] }, 'trunks', /non-empty/);
  rejects(t, { ...base, trunks: [1, 4096] }, 'trunks[1]', /0\.\.4095/);
  rejects(t, { ...base, vlan: 10, trunks: [10] }, 'trunks', /access or trunk/);
  rejects(t, { ...base, mtu: 10 }, 'mtu', /68 to 65535/);
  rejects(t, { ...base, mtu: 70000 }, 'mtu', /68 to 65535/);
  rejects(t, { ...base, mac: '01:00:5e:00:00:01' }, 'mac', /unicast/);
  rejects(t, { ...base, mac: '00:00:00:00:00:00' }, 'mac', /non-zero/);
  rejects(t, { ...base, mac: 'zz:00:00:00:00:01' }, 'mac', /MAC address like/);
  rejects(t, { ...base, addresses: ['10.0.0.2'] }, 'addresses[0]', /CIDR/);
  rejects(t, { ...base, addresses: ['10.0.0.2/33'] }, 'addresses[0]', /0\.\.32/);
  rejects(t, { ...base, addresses: ['fd00::2/129'] }, 'addresses[0]', /0\.\.128/);
  rejects(t, { ...base, addresses: ['10.0.0.300/24'] }, 'addresses[0]', /CIDR/);
  rejects(t, { ...base, addresses: '10.0.0.2/24' }, 'addresses', /array/);
  rejects(t, { ...base, gateway: 'fd00::1' }, 'gateway', /IPv4/);
  rejects(t, { ...base, gateway6: '10.0.0.1' }, 'gateway6', /IPv6/);
  rejects(t, { ...base, routes: [{ destination: '10.1.0.0/16', via: 'fd00::1' }] }, 'routes[0].via', /IPv4/);
  rejects(t, { ...base, routes: [{ destination: 'default' }] }, 'routes[0].via', /next hop/);
  rejects(t, { ...base, routes: [{ destination: '10.1.0.0' }] }, 'routes[0].destination', /CIDR/);
  rejects(
    t,
    { ...base, externalIds: { container_id: 'x' } },
    'externalIds.container_id',
    /reserved|set from/,
  );
  rejects(t, { ...base, externalIds: { a: 1 } }, 'externalIds.a', /string/);
  rejects(t, { ...base, containerId: 'has space' }, 'containerId', /spaces/);
  rejects(t, { ...base, containerId: 'pid:1' }, 'containerId', /cannot match ':'/);
  rejects(t, { ...base, containerId: '' }, 'containerId', /1\.\.255/);
  rejects(t, { ...base, target: {} }, 'target', /exactly one/);
  rejects(t, { ...base, target: { pid: 1, netns: '/x' } }, 'target', /exactly one/);
  rejects(t, { ...base, target: { pid: -3 } }, 'target.pid', /positive/);
  rejects(t, { ...base, target: { netns: 'a/b' } }, 'target.netns', /absolute path/);
  rejects(t, { ...base, target: { container: 'bad name!' } }, 'target.container', /container id/);
  rejects(t, { ...base, txChecksumOffload: 'no' }, 'txChecksumOffload', /boolean/);
  rejects(t, { ...base, colour: 'blue' }, 'request', /known field/);
  rejects(t, null, 'request', /object/);
  t.end();
});

t.test('namespace paths and default container ids', (t) => {
  t.equal(netnsPathOf({ pid: 7 }), '/proc/7/ns/net');
  t.equal(netnsPathOf({ netns: 'blue' }), '/run/netns/blue');
  t.equal(netnsPathOf({ netns: '/var/run/netns/red' }), '/var/run/netns/red');
  t.equal(defaultContainerId({ container: '/web' }), 'web');
  t.equal(defaultContainerId({ pid: 7 }), 'pid-7');
  t.equal(defaultContainerId({ netns: 'blue' }), '/run/netns/blue');
  t.end();
});

t.test('VLAN settings for setVlan', (t) => {
  t.same(checkVlanSetting(100), { vlan: 100 });
  t.same(checkVlanSetting({ vlan: null }), { vlan: null });
  t.same(checkVlanSetting({ trunks: [3, 1] }), { trunks: [1, 3] });
  t.throws(() => checkVlanSetting(4096), /invalid option vlan=4096/);
  t.throws(() => checkVlanSetting({ vlan: 1, trunks: [1] }), /VLAN id 0\.\.4095, \{vlan/);
  t.throws(() => checkVlanSetting('10'), OrchestratorArgumentError);
  t.end();
});
