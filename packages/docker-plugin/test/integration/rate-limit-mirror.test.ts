// Rate limits and port mirroring through the Orchestrator, against the real thing: the shared OVS sandbox
// (userspace datapath), real namespaces, TCP measured from bytes and time, frames captured with an AF_PACKET
// socket on the monitor. Needs root (namespaces, OVS). Throughput figures depend on a shared CPU: the
// limits under test (10 and 50 Mbit/s) are far below what the machine forwards, and every figure is printed
// with the load average.
import {
  type CapturedFrame,
  capture,
  createNetns,
  deleteNetns,
  ipJson,
  measureTcp,
  nsExec,
  ovsSandbox,
  uniqueName,
} from '@ovs-container-network/testkit';
import t from 'tap';
import { Orchestrator, OrchestratorArgumentError } from '../../src/orchestrator/index.js';
import { fullSpeed, load, ok10, rateWithin, report } from '../helpers/rates.js';

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

interface Node {
  ns: string;
  id: string;
  ip: string;
  mac: string;
}

const VLAN = 170;
async function node(i: number, extra: { monitor?: string; vlan?: number } = {}): Promise<Node> {
  const ns = await createNetns(uniqueName('ns'));
  namespaces.push(ns);
  // No IPv6 (router solicitations, MLD) in these namespaces: a capture should see only what a test sends.
  await nsExec(ns, 'sysctl', [
    '-qw',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  ]);
  const n: Node = {
    ns,
    id: `rl-${ns}`,
    ip: `10.170.0.${i}`,
    mac: `02:00:00:aa:00:${i.toString(16).padStart(2, '0')}`,
  };
  await orch.attach({
    bridge,
    target: { netns: ns },
    containerId: n.id,
    ifname: 'eth1',
    addresses: [`${n.ip}/24`],
    mac: n.mac,
    vlan: extra.vlan ?? VLAN,
    ...(extra.monitor === undefined ? {} : { monitor: extra.monitor }),
  });
  return n;
}

/** Static neighbours: no ARP broadcast, so a capture sees exactly the test's frames. */
async function neighbours(nodes: Node[]): Promise<void> {
  for (const a of nodes)
    for (const b of nodes)
      if (a !== b)
        await nsExec(a.ns, 'ip', [
          'neigh',
          'replace',
          b.ip,
          'lladdr',
          b.mac,
          'dev',
          'eth1',
          'nud',
          'permanent',
        ]);
}

async function qosRowsOf(port: string): Promise<string> {
  const q = await sandbox.vsctl(
    '--no-heading',
    '--columns=_uuid',
    'find',
    'QoS',
    `external_ids:ocn-qos-port=${port}`,
  );
  const u = await sandbox.vsctl(
    '--no-heading',
    '--columns=_uuid',
    'find',
    'Queue',
    `external_ids:ocn-qos-port=${port}`,
  );
  return `${q}${u}`.trim();
}

const [a, b] = [await node(1), await node(2)];
const ref = (n: Node) => ({ containerId: n.id, ifname: 'eth1' });
const portOf = (n: Node) => orch.portName(n.id, 'eth1');

t.test('rate limits: 10 and 50 Mbit/s in each direction, full speed without', async (t) => {
  await fullSpeed(t, 'a → b without limits', () => measureTcp(a.ns, b.ns, b.ip, { seconds: 2 }));
  for (const mbit of [10, 50]) {
    const rate = mbit * 1e6;
    await orch.setRateLimit(ref(a), { egress: { rate }, ingress: { rate } });
    await rateWithin(t, `a → b, a's egress ${mbit} Mbit/s`, mbit, () => measureTcp(a.ns, b.ns, b.ip));
    await rateWithin(t, `b → a, a's ingress ${mbit} Mbit/s`, mbit, () => measureTcp(b.ns, a.ns, a.ip));
  }
  t.match(await sandbox.vsctl('get', 'Port', portOf(a), 'external_ids'), /ocn-rate-egress="50000000\/62500"/);
  t.equal(
    await sandbox.vsctl('get', 'QoS', (await sandbox.vsctl('get', 'Port', portOf(a), 'qos')).trim(), 'type'),
    'linux-htb',
  );

  await orch.setRateLimit(ref(a), null);
  t.equal(await qosRowsOf(portOf(a)), '', 'lifting the limits deletes the QoS and Queue rows');
  await fullSpeed(t, 'a → b after lifting', () => measureTcp(a.ns, b.ns, b.ip, { seconds: 2 }));
});

// The limit to the container (ingress: the port's HTB queue in ovs-vswitchd) is changed under a running
// transfer. The limit from the container (egress: a tbf on the container's veth end) is changed, and a
// transfer started 1 s later is measured: a tbf replaced under a running TCP stream stalled it for > 5 s on
// this kernel (retransmission back-off after the queue shrank; see the package README), so a running stream
// would measure TCP's recovery, not when the limit applies.
t.test('a limit changed on a running endpoint applies within 1 s', async (t) => {
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  {
    const [from, to] = [b, a];
    const tries: string[] = [];
    let passed = false;
    // Up to 3 runs, as rateWithin: a starved run shows a low "before", which proves nothing either way.
    for (let attempt = 0; attempt < 3 && !passed; attempt++) {
      await orch.setRateLimit(ref(a), { ingress: { rate: 50e6 } });
      let changedAt = 0;
      const timer = setTimeout(() => {
        changedAt = Date.now();
        void orch.setRateLimit(ref(a), { ingress: { rate: 10e6 } });
      }, 1800);
      const r = await measureTcp(from.ns, to.ns, to.ip, { seconds: 4.5, windowMs: 250 });
      clearTimeout(timer);
      report(
        t,
        `ingress: 50 → 10 Mbit/s at ${((changedAt - r.startMs) / 1000).toFixed(2)} s (attempt ${attempt + 1})`,
        r,
      );
      const before = r.windows.filter((_w, i) => r.startMs + (i + 1) * r.windowMs <= changedAt).slice(1);
      const settled = r.windows.filter((_w, i) => r.startMs + i * r.windowMs >= changedAt + 1000);
      const bm = before.length ? mean(before) : 0;
      const sm = settled.length ? mean(settled) : 0;
      tries.push(
        `before ${bm.toFixed(1)} (${before.length} windows), from 1 s after ${sm.toFixed(1)} (${settled.length})`,
      );
      passed = before.length >= 2 && settled.length >= 4 && bm > 40 && ok10(sm, 10);
      await orch.setRateLimit(ref(a), null);
    }
    t.ok(
      passed,
      `ingress: ~50 Mbit/s before, within ±10 % of 10 from 1 s after the change (${tries.join('; ')}; load ${load()})`,
    );
  }
  {
    const tries: string[] = [];
    let passed = false;
    for (let attempt = 0; attempt < 3 && !passed; attempt++) {
      await orch.setRateLimit(ref(a), { egress: { rate: 50e6 } });
      const before = await measureTcp(a.ns, b.ns, b.ip, { seconds: 2, windowMs: 250 });
      await orch.setRateLimit(ref(a), { egress: { rate: 10e6 } });
      await new Promise((r) => setTimeout(r, 1000));
      const after = await measureTcp(a.ns, b.ns, b.ip, { seconds: 3, windowMs: 250 });
      report(t, `egress: 50 Mbit/s (attempt ${attempt + 1})`, before);
      report(t, `egress: 10 Mbit/s from 1 s after the change (attempt ${attempt + 1})`, after);
      tries.push(`before ${before.mbps.toFixed(1)}, from 1 s after ${after.mbps.toFixed(1)}`);
      passed = ok10(before.mbps, 50) && ok10(after.mbps, 10);
      await orch.setRateLimit(ref(a), null);
    }
    t.ok(
      passed,
      `egress: within ±10 % of 50 before, and of 10 in a transfer started 1 s after the change (${tries.join('; ')}; load ${load()})`,
    );
  }
});

t.test('bad limits are refused and OVS is unchanged', async (t) => {
  await orch.setRateLimit(ref(a), { ingress: { rate: 20e6 } });
  const before = `${await sandbox.vsctl('get', 'Port', portOf(a), 'external_ids', 'qos')}${await qosRowsOf(portOf(a))}`;
  for (const bad of [
    { ingress: { rate: 10 } },
    { ingress: { rate: 20e6, burst: 100 } },
    { egress: { rate: '10mbit' } },
    { sideways: { rate: 20e6 } },
  ]) {
    await t.rejects(orch.setRateLimit(ref(a), bad as never), OrchestratorArgumentError, JSON.stringify(bad));
  }
  await t.rejects(
    orch.setRateLimit(ref(a), { ingress: { rate: 1 } }),
    /invalid option limits\.ingress\.rate=1: expected an integer number of bits per second/,
  );
  const after = `${await sandbox.vsctl('get', 'Port', portOf(a), 'external_ids', 'qos')}${await qosRowsOf(portOf(a))}`;
  t.equal(after, before, 'OVS rows as they were');
  const ns = await createNetns(uniqueName('ns'));
  namespaces.push(ns);
  await t.rejects(
    orch.attach({
      bridge,
      target: { netns: ns },
      containerId: 'bad-rl',
      ifname: 'eth1',
      rateLimit: { egress: { rate: 0 } },
    }),
    OrchestratorArgumentError,
  );
  t.same(await orch.list({ containerId: 'bad-rl' }), [], 'a refused attach creates nothing');
  await orch.setRateLimit(ref(a), null);
});

t.test('attach takes limits; detach leaves no QoS or Queue rows behind', async (t) => {
  const c = await node(3);
  const ns = await createNetns(uniqueName('ns'));
  namespaces.push(ns);
  await nsExec(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  await orch.attach({
    bridge,
    target: { netns: ns },
    containerId: 'rl-limited',
    ifname: 'eth1',
    addresses: ['10.170.0.9/24'],
    vlan: VLAN,
    rateLimit: { ingress: { rate: 10e6 }, egress: { rate: 10e6 } },
  });
  const port = orch.portName('rl-limited', 'eth1');
  t.not(await qosRowsOf(port), '', 'the QoS exists');
  await rateWithin(t, 'attached with egress 10 Mbit/s', 10, () => measureTcp(ns, c.ns, c.ip, { seconds: 2 }));
  await orch.detach({ containerId: 'rl-limited', ifname: 'eth1' });
  t.equal(await qosRowsOf(port), '', 'no QoS or Queue row is left');
  t.equal(
    await sandbox.vsctl(
      '--no-heading',
      '--columns=_uuid',
      'find',
      'QoS',
      'external_ids:ocn-owner=ocn-orchestrator',
    ),
    '',
  );
  await orch.detach(ref(c));
});

t.test(
  'mirroring: the monitor sees exactly the mirrored interface, both ways, and nothing after',
  async (t) => {
    const [c, d] = [await node(4), await node(5)];
    // The monitor sits on a VLAN of its own, so nothing reaches it but what is mirrored (no flooding of the
    // network's unknown-unicast or multicast frames once the mirror is gone: OVS flushes its MAC table when
    // mirrors change).
    const m = await node(6, { monitor: 'mon17', vlan: 171 });
    await neighbours([a, b, c, d]);
    const [hostEnd] = await ipJson<{ address: string }[]>(['link', 'show', 'dev', portOf(m)]);
    const monitorHostMac = hostEnd?.address;
    const ping = (from: Node, to: Node) =>
      nsExec(from.ns, 'ping', ['-c', '5', '-i', '0.1', '-W', '1', to.ip]);
    const ping1 = (from: Node, to: Node) => nsExec(from.ns, 'ping', ['-c', '1', '-W', '1', to.ip], true);
    const trafficWhile = async (seconds: number): Promise<CapturedFrame[]> => {
      // Let OVS learn every MAC first, so that no test frame is flooded to the mirrored port.
      await Promise.all([ping1(a, b), ping1(c, d)]);
      const cap = await capture(m.ns, 'eth1', seconds);
      await Promise.all([ping(a, b), ping(c, d)]);
      // The host end of the monitor's own veth (IPv6 on in the host) talks straight to its peer, not
      // through OVS: not a mirrored frame.
      return (await cap.done).filter((f) => f.src !== monitorHostMac);
    };

    const info = await orch.mirror({ source: ref(a), to: 'mon17' });
    t.equal(info.output, portOf(m), 'the mirror outputs to the monitor');
    let frames = await trafficWhile(2.5);
    const icmp = frames.filter((f) => f.proto === 1);
    t.equal(icmp.filter((f) => f.ipsrc === a.ip && f.ipdst === b.ip).length, 5, 'a → b echo requests, all 5');
    t.equal(icmp.filter((f) => f.ipsrc === b.ip && f.ipdst === a.ip).length, 5, 'b → a echo replies, all 5');
    // Multicast the switch floods to a (IPv6 MLD of the host's own veth ends) is traffic a receives; a
    // unicast frame between two other stations would be a neighbour's.
    const multicast = (mac: string) => (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
    const strangers = frames.filter((f) => f.src !== a.mac && f.dst !== a.mac && !multicast(f.dst));
    t.same(strangers, [], `nothing of a's neighbours (c ↔ d): ${JSON.stringify(strangers.slice(0, 4))}`);
    t.equal(
      frames.filter((f) => f.src === a.mac || f.dst === a.mac).length,
      10,
      "a's 10 ICMP frames, each once",
    );

    t.equal(await orch.unmirror(ref(a)), 1, 'unmirror removes it');
    frames = await trafficWhile(2);
    t.same(frames, [], `after removal the monitor sees nothing more (${JSON.stringify(frames.slice(0, 5))})`);

    // A whole VLAN: c ↔ d are seen too; then the mirror of a port goes with its port.
    await orch.mirror({ source: { bridge, vlan: VLAN }, to: 'mon17' });
    frames = await trafficWhile(2.5);
    t.ok(frames.filter((f) => f.ipsrc === c.ip && f.ipdst === d.ip).length === 5, 'a VLAN mirror sees c → d');
    t.ok(frames.filter((f) => f.ipsrc === a.ip && f.ipdst === b.ip).length === 5, 'and a → b');
    await orch.unmirror({ bridge, vlan: VLAN });

    await orch.mirror({ source: ref(c), to: 'mon17' });
    t.equal((await orch.mirrors({ bridge })).length, 1);
    await orch.detach(ref(c));
    t.same(await orch.mirrors({ bridge }), [], 'detaching the mirrored interface removes its mirror');
    t.equal(
      await sandbox.vsctl('--no-heading', '--columns=_uuid', 'list', 'Mirror'),
      '',
      'no Mirror row left',
    );
    await t.rejects(orch.mirror({ source: ref(a), to: 'bad name!' }), OrchestratorArgumentError);
    await orch.detach(ref(d));
    await orch.detach(ref(m));
  },
);
