// The orchestrator API against the real thing: the shared OVS sandbox (userspace datapath), real namespaces,
// traffic checked with ping AND TCP (PROTOCOLS.md §1: ping alone proves nothing on the netdev datapath).

import {
  canPing,
  createNetns,
  deleteNetns,
  ipJson,
  nsExec,
  ovsSandbox,
  run,
  tcpTransfer,
  uniqueName,
} from '@ovs-container-network/testkit';
import t from 'tap';
import { Orchestrator } from '../../src/orchestrator/index.js';

const sandbox = await ovsSandbox({ vswitchd: true });
const bridge = uniqueName('br');
const orch = await Orchestrator.connect({
  ovsdb: sandbox.endpoint,
  datapathType: 'netdev',
  namePrefix: 'ocnt',
});
const namespaces: string[] = [];

t.teardown(async () => {
  await orch.detachAll({ bridge }).catch(() => undefined);
  await orch.close();
  await sandbox.vsctl('--if-exists', 'del-br', bridge);
  await Promise.all(namespaces.map((ns) => deleteNetns(ns)));
  await sandbox.stop();
});

async function netns(): Promise<string> {
  const ns = await createNetns(uniqueName('ns'));
  namespaces.push(ns);
  return ns;
}

async function hostLinkExists(name: string): Promise<boolean> {
  const { code } = await run('ip', ['link', 'show', 'dev', name], { allowFail: true });
  return code === 0;
}

async function ovsFind(containerId: string): Promise<string[]> {
  const out = await sandbox.vsctl(
    '--data=bare',
    '--no-heading',
    '--columns=name',
    'find',
    'interface',
    `external_ids:container_id=${containerId}`,
  );
  return out.split('\n').filter((l) => l.trim() !== '');
}

async function portTag(port: string): Promise<string> {
  return sandbox.vsctl('get', 'port', port, 'tag');
}

t.test(
  'attach configures the namespace and OVS; traffic flows (ping + TCP); detach removes it all',
  async (t) => {
    const [a, b] = [await netns(), await netns()];
    const attA = await orch.attach({
      bridge,
      target: { netns: a },
      ifname: 'eth1',
      addresses: ['10.71.0.1/24', 'fd71::1/64'],
      mac: '02:00:00:71:00:01',
      mtu: 1400,
      gateway: '10.71.0.254',
      gateway6: 'fd71::fe',
      routes: [{ destination: '10.200.0.0/16', via: '10.71.0.253' }, { destination: '10.201.0.0/16' }],
      vlan: 71,
      externalIds: { role: 'traffic-gen' },
    });
    await orch.attach({
      bridge,
      target: { netns: b },
      ifname: 'eth1',
      addresses: ['10.71.0.2/24', 'fd71::2/64'],
      vlan: 71,
    });

    t.equal(attA.bridge, bridge);
    t.equal(attA.ifname, 'eth1');
    t.equal(attA.vlan, 71);
    t.equal(attA.containerId, `/run/netns/${a}`);
    t.equal(attA.externalIds.container_iface, 'eth1', 'ovs-docker layout: container_iface');
    t.equal(attA.externalIds.role, 'traffic-gen');
    t.ok(attA.managed);

    const links = await ipJson<{ ifname: string; mtu: number; address: string; operstate: string }[]>(
      ['link', 'show', 'dev', 'eth1'],
      a,
    );
    t.equal(links[0]?.mtu, 1400, 'MTU inside');
    t.equal(links[0]?.address, '02:00:00:71:00:01', 'MAC inside');
    const addrs = await ipJson<{ addr_info: { local: string; prefixlen: number }[] }[]>(
      ['addr', 'show', 'dev', 'eth1'],
      a,
    );
    const locals = addrs[0]?.addr_info.map((x) => `${x.local}/${x.prefixlen}`) ?? [];
    t.ok(locals.includes('10.71.0.1/24'), 'IPv4 address inside');
    t.ok(locals.includes('fd71::1/64'), 'IPv6 address inside');
    const { stdout: features } = await nsExec(a, 'ethtool', ['-k', 'eth1']);
    t.match(features, /tx-checksumming: off/, 'TX checksum offload off on the container end');

    const routes = await ipJson<{ dst: string; gateway?: string; dev: string }[]>(['route', 'show'], a);
    t.ok(
      routes.some((r) => r.dst === 'default' && r.gateway === '10.71.0.254' && r.dev === 'eth1'),
      'IPv4 default route via the gateway',
    );
    t.ok(
      routes.some((r) => r.dst === '10.200.0.0/16' && r.gateway === '10.71.0.253'),
      'a route via a next hop',
    );
    t.ok(
      routes.some((r) => r.dst === '10.201.0.0/16' && r.gateway === undefined && r.dev === 'eth1'),
      'an on-link route',
    );
    const routes6 = await ipJson<{ dst: string; gateway?: string }[]>(['-6', 'route', 'show', 'default'], a);
    t.ok(
      routes6.some((r) => r.gateway === 'fd71::fe'),
      'IPv6 default route via gateway6',
    );
    t.same(await ovsFind(`/run/netns/${a}`), [attA.port], 'ovs-vsctl finds the port by container_id');
    t.equal(await portTag(attA.port), '71');
    t.equal(await sandbox.vsctl('get', 'interface', attA.port, 'external_ids:container_iface'), 'eth1');
    t.ok(await hostLinkExists(attA.port), 'host end exists');

    t.ok(await canPing(a, '10.71.0.2'), 'ping a → b');
    t.ok(await canPing(a, 'fd71::2'), 'ping -6 a → b');
    t.equal(await tcpTransfer(a, b, '10.71.0.2', 1 << 20), 1 << 20, 'TCP a → b carries 1 MiB');

    const listed = await orch.list({ bridge, containerId: `/run/netns/${a}` });
    t.equal(listed.length, 1);
    t.equal(listed[0]?.port, attA.port);

    t.equal(await orch.detach({ target: { netns: a }, ifname: 'eth1' }), true, 'detach reports a removal');
    t.same(await ovsFind(`/run/netns/${a}`), [], 'no port left');
    t.notOk(await hostLinkExists(attA.port), 'no host veth left');
    t.same(await ipJson(['link', 'show', 'dev', 'eth1'], a).catch(() => []), [], 'no interface left inside');
    t.equal(await orch.detach({ target: { netns: a }, ifname: 'eth1' }), false, 'a second detach is a no-op');

    const again = await orch.attach({
      bridge,
      target: { netns: a },
      ifname: 'eth1',
      addresses: ['10.71.0.1/24'],
      vlan: 71,
    });
    t.equal(again.port, attA.port, 're-attach uses the same derived port name');
    t.ok(await canPing(a, '10.71.0.2'), 'ping after re-attach');
    t.equal(await tcpTransfer(b, a, '10.71.0.1', 1 << 20), 1 << 20, 'TCP b → a after re-attach');
    t.equal(await orch.detachAll({ containerId: `/run/netns/${a}` }), 1);
    t.equal(await orch.detachAll({ containerId: `/run/netns/${b}` }), 1);
  },
);

t.test('an identical attach is idempotent; a conflicting one is refused and changes nothing', async (t) => {
  const a = await netns();
  const req = {
    bridge,
    target: { netns: a },
    ifname: 'eth1',
    addresses: ['10.72.0.1/24'],
    vlan: 72,
  } as const;
  const first = await orch.attach(req);
  const second = await orch.attach(req);
  t.equal(second.port, first.port);
  t.same(await ovsFind(`/run/netns/${a}`), [first.port], 'still one port');
  const other = uniqueName('br');
  await t.rejects(orch.attach({ ...req, bridge: other }), {
    code: 'PLUGIN_ERR_CONFLICT',
    message: /already attached/,
  });
  t.equal(await sandbox.vsctl('--if-exists', 'br-exists', other).catch(() => 'missing'), 'missing');
  await orch.detach({ target: { netns: a }, ifname: 'eth1' });
});

t.test('bad input is refused before anything changes', async (t) => {
  const a = await netns();
  const before = await sandbox.vsctl('--data=bare', '--no-heading', '--columns=name', 'list', 'interface');
  await t.rejects(orch.attach({ bridge, target: { netns: a }, ifname: 'eth1', vlan: 5000 }), {
    code: 'PLUGIN_ERR_INVALID_OPTION',
    message: /vlan=5000.*0\.\.4095/,
  });
  await t.rejects(orch.attach({ bridge, target: { netns: a }, ifname: 'eth1', mtu: 10 }), {
    message: /mtu=10/,
  });
  await t.rejects(orch.attach({ bridge, target: { netns: a }, ifname: 'a-very-long-ifname' }), {
    message: /ifname/,
  });
  await t.rejects(orch.attach({ bridge, target: { netns: uniqueName('gone') }, ifname: 'eth1' }), {
    code: 'PLUGIN_ERR_NOT_FOUND',
  });
  t.equal(
    await sandbox.vsctl('--data=bare', '--no-heading', '--columns=name', 'list', 'interface'),
    before,
    'OVS unchanged',
  );
});

t.test('a VLAN change moves the port: traffic checked before and after', async (t) => {
  const [a, b] = [await netns(), await netns()];
  const attA = await orch.attach({
    bridge,
    target: { netns: a },
    ifname: 'eth1',
    addresses: ['10.73.0.1/24'],
    vlan: 73,
  });
  const attB = await orch.attach({
    bridge,
    target: { netns: b },
    ifname: 'eth1',
    addresses: ['10.73.0.2/24'],
    vlan: 73,
  });
  t.ok(await canPing(a, '10.73.0.2'), 'same VLAN: ping');
  t.equal(await tcpTransfer(a, b, '10.73.0.2', 1 << 20), 1 << 20, 'same VLAN: TCP');

  const moved = await orch.setVlan({ target: { netns: b }, ifname: 'eth1' }, 74);
  t.equal(moved.vlan, 74);
  t.equal(await portTag(attB.port), '74', 'OVS holds the new tag');
  t.notOk(await canPing(a, '10.73.0.2', 1), 'different VLANs: no ping');
  t.equal(await tcpTransfer(a, b, '10.73.0.2', 4096, 5202), 0, 'different VLANs: no TCP');

  await orch.setVlan({ target: { netns: a }, ifname: 'eth1' }, { vlan: 74 });
  t.equal(await portTag(attA.port), '74');
  t.ok(await canPing(a, '10.73.0.2'), 'both moved: ping again');
  t.equal(await tcpTransfer(b, a, '10.73.0.1', 1 << 20, 5203), 1 << 20, 'both moved: TCP again');

  const trunk = await orch.setVlan({ target: { netns: a }, ifname: 'eth1' }, { trunks: [74, 75] });
  t.same(trunk.trunks, [74, 75]);
  t.equal(trunk.vlan, undefined);
  t.equal(await sandbox.vsctl('get', 'port', attA.port, 'trunks'), '[74, 75]');
  await t.rejects(orch.setVlan({ target: { netns: a }, ifname: 'eth9' }, 10), {
    code: 'PLUGIN_ERR_NOT_FOUND',
  });
  await orch.detachAll({ bridge });
});

t.test('ovs-docker sees our ports: `ovs-docker del-ports` removes them', async (t) => {
  const a = await netns();
  const id = uniqueName('c');
  await orch.attach({ bridge, target: { netns: a }, containerId: id, ifname: 'eth1', vlan: 76 });
  await orch.attach({ bridge, target: { netns: a }, containerId: id, ifname: 'eth2', vlan: 77 });
  t.equal((await ovsFind(id)).length, 2);
  await run('ovs-docker', ['del-ports', bridge, id], { env: { ...process.env, OVS_RUNDIR: sandbox.dir } });
  t.same(await ovsFind(id), [], 'ovs-docker found and removed both');
  t.same(await orch.list({ containerId: id }), [], 'our list agrees');
});

t.test('50 concurrent attaches', async (t) => {
  const nss = await Promise.all(Array.from({ length: 50 }, () => netns()));
  const atts = await Promise.all(
    nss.map((ns, i) =>
      orch.attach({
        bridge,
        target: { netns: ns },
        ifname: 'eth1',
        addresses: [`10.80.0.${i + 1}/24`],
        vlan: 80,
      }),
    ),
  );
  t.equal(new Set(atts.map((a) => a.port)).size, 50, '50 distinct ports');
  const onBridge = (await sandbox.vsctl('list-ports', bridge)).split('\n').filter((p) => p.trim() !== '');
  t.equal(onBridge.length, 50, 'OVS holds 50 ports');
  t.equal((await orch.list({ bridge })).length, 50, 'list agrees');
  t.ok(await canPing(nss[0]!, '10.80.0.50'), 'first reaches last');
  t.equal(await tcpTransfer(nss[49]!, nss[0]!, '10.80.0.1', 1 << 20), 1 << 20, 'TCP last → first');
  const removed = await Promise.all(nss.map((ns) => orch.detachAll({ target: { netns: ns } })));
  t.equal(
    removed.reduce((s, n) => s + n, 0),
    50,
  );
  t.equal(await sandbox.vsctl('list-ports', bridge), '', 'bridge empty');
  for (const a of atts) if (await hostLinkExists(a.port)) t.fail(`host veth ${a.port} left`);
});
