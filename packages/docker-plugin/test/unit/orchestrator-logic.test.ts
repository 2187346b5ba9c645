// The orchestrator's own logic (idempotency, serialization, rollback when the target vanishes, ovs-docker
// layout) against an in-memory backend. A plain file stands in for the namespace file: the orchestrator
// holds it open and checks it is still the same file (inode) after wiring, as it does with /proc/PID/ns/net.
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Backend, PortRow, WireSpec } from '../../src/orchestrator/backend.js';
import { DockerEngine } from '../../src/orchestrator/docker-engine.js';
import { Orchestrator, type OrchestratorOptions } from '../../src/orchestrator/orchestrator.js';

class FakeBackend implements Backend {
  rows: PortRow[] = [];
  links = new Set<string>();
  bridges = new Map<string, string>();
  calls: string[] = [];
  failWire: Error | undefined;
  #n = 0;
  async ready() {}
  ports() {
    return this.rows.map((r) => ({ ...r }));
  }
  portRow(name: string) {
    return this.ports().find((r) => r.port === name);
  }
  portRowByUuid(uuid: string) {
    return this.ports().find((r) => r.portUuid === uuid);
  }
  containerPortRows(ids: Iterable<string>) {
    const set = new Set(ids);
    return this.ports().filter((r) => set.has(r.ifaceExternalIds.container_id ?? ''));
  }
  bridgePortRows(bridge: string) {
    return this.ports().filter((r) => r.bridge === bridge);
  }
  bridgeExists(name: string) {
    return this.bridges.has(name);
  }
  async ensureBridge(name: string, dp: string) {
    this.calls.push(`ensureBridge ${name} ${dp}`);
    this.bridges.set(name, dp);
  }
  async deleteBridge(name: string) {
    this.calls.push(`deleteBridge ${name}`);
    this.bridges.delete(name);
  }
  bridgePortCount(name: string) {
    return this.rows.filter((r) => r.bridge === name).length;
  }
  async wire(spec: WireSpec) {
    this.calls.push(`wire ${spec.hostName}`);
    await new Promise((r) => setTimeout(r, 5));
    if (this.failWire) throw this.failWire;
    this.links.add(spec.hostName);
    this.#n++;
    this.rows.push({
      bridge: spec.bridge,
      port: spec.hostName,
      portUuid: `p${this.#n}`,
      ifaceUuid: `i${this.#n}`,
      tag: spec.trunks.length ? undefined : spec.vlan,
      trunks: [...spec.trunks],
      ifaceExternalIds: { ...spec.ifaceExternalIds },
      portExternalIds: { ...spec.portExternalIds },
      ofport: 1,
    });
  }
  async unwire(ports: readonly string[]) {
    this.calls.push(`unwire ${ports.join(',')}`);
    this.rows = this.rows.filter((r) => !ports.includes(r.port));
    for (const p of ports) this.links.delete(p);
  }
  async setVlan(row: PortRow, tag: number | undefined, trunks: readonly number[]) {
    this.calls.push(`setVlan ${row.port} ${tag} [${trunks.join(',')}]`);
    const r = this.rows.find((x) => x.portUuid === row.portUuid);
    if (r) {
      r.tag = tag;
      r.trunks = [...trunks];
    }
  }
  failApplied: Error | undefined;
  async applied(timeoutMs: number) {
    this.calls.push(`applied ${timeoutMs}`);
    if (this.failApplied) throw this.failApplied;
  }
  async hostLinkExists(name: string) {
    return this.links.has(name);
  }
  async close() {
    this.calls.push('close');
  }
}

const dir = mkdtempSync(join(tmpdir(), 'ocnt-orch-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
function nsFile(): string {
  const p = join(dir, `ns${seq++}`);
  writeFileSync(p, '');
  return p;
}

function make(opts: Partial<OrchestratorOptions> = {}): { orch: Orchestrator; be: FakeBackend } {
  const be = new FakeBackend();
  const orch = new Orchestrator({
    backend: be,
    docker: new DockerEngine({ socketPath: join(dir, 'no-docker.sock') }),
    datapathType: 'netdev',
    namePrefix: 'ocnt',
    onStep: opts.onStep,
    switchTimeoutMs: 1000,
  });
  return { orch, be };
}

t.test('attach records the ovs-docker layout and creates the bridge once', async (t) => {
  const { orch, be } = make();
  const ns = nsFile();
  const a = await orch.attach({
    bridge: 'br0',
    target: { netns: ns },
    ifname: 'eth1',
    vlan: 10,
    externalIds: { k: 'v' },
  });
  t.equal(a.containerId, ns);
  t.equal(a.ifname, 'eth1');
  t.equal(a.vlan, 10);
  t.ok(a.managed);
  t.match(a.port, /^ocnth[a-z2-7]{10}$/, '15-byte host name from the core naming');
  t.same(a.externalIds, {
    k: 'v',
    container_id: ns,
    container_iface: 'eth1',
    'ocn-owner': 'ocn-orchestrator',
  });
  t.same(be.calls, ['ensureBridge br0 netdev', `wire ${a.port}`, 'applied 1000'], 'waits for ovs-vswitchd');
  await orch.attach({ bridge: 'br0', target: { netns: nsFile() }, ifname: 'eth1' });
  t.equal(be.calls.filter((c) => c.startsWith('ensureBridge')).length, 1, 'bridge made once');
});

t.test(
  'an identical attach is a no-op; a VLAN difference is reconciled; another bridge conflicts',
  async (t) => {
    const { orch, be } = make();
    const ns = nsFile();
    const req = { bridge: 'br0', target: { netns: ns }, ifname: 'eth1', vlan: 10 } as const;
    const a = await orch.attach(req);
    const b = await orch.attach(req);
    t.same(b, a);
    t.equal(be.calls.filter((c) => c.startsWith('wire')).length, 1, 'wired once');
    const c = await orch.attach({ ...req, vlan: 20 });
    t.equal(c.vlan, 20);
    t.ok(be.calls.includes(`setVlan ${a.port} 20 []`));
    await t.rejects(orch.attach({ ...req, bridge: 'br1' }), {
      code: 'PLUGIN_ERR_CONFLICT',
      message: /already attached to bridge br0/,
    });
  },
);

t.test('a stale port (its veth vanished with its namespace) is replaced on attach', async (t) => {
  const { orch, be } = make();
  const ns = nsFile();
  const a = await orch.attach({ bridge: 'br0', target: { netns: ns }, ifname: 'eth1' });
  be.links.delete(a.port);
  const b = await orch.attach({ bridge: 'br0', target: { netns: ns }, ifname: 'eth1' });
  t.equal(b.port, a.port);
  t.same(be.calls.slice(-3), [`unwire ${a.port}`, `wire ${a.port}`, 'applied 1000']);
});

t.test('concurrent identical attaches wire once', async (t) => {
  const { orch, be } = make();
  const ns = nsFile();
  const all = await Promise.all(
    Array.from({ length: 10 }, () => orch.attach({ bridge: 'br0', target: { netns: ns }, ifname: 'eth1' })),
  );
  t.equal(new Set(all.map((a) => a.port)).size, 1);
  t.equal(be.calls.filter((c) => c.startsWith('wire')).length, 1);
  t.equal(be.rows.length, 1);
});

t.test('a target that vanishes during the attach leaves nothing behind', async (t) => {
  for (const step of ['resolved', 'wired'] as const) {
    const ns = nsFile();
    const { orch, be } = make({
      onStep: (s) => {
        if (s === step) unlinkSync(ns);
      },
    });
    await t.rejects(orch.attach({ bridge: 'br0', target: { netns: ns }, ifname: 'eth1' }), {
      code: 'PLUGIN_ERR_NOT_FOUND',
      name: 'TargetGoneError',
      message: /exited during the attach; nothing was left behind/,
    });
    t.same(be.rows, [], `no port (vanished after ${step})`);
    t.same([...be.links], [], `no veth (vanished after ${step})`);
  }
  const { orch } = make();
  await t.rejects(orch.attach({ bridge: 'br0', target: { netns: join(dir, 'missing') }, ifname: 'eth1' }), {
    name: 'TargetGoneError',
    message: /does not exist/,
  });
});

t.test('a failing step or wiring is reported as a WiringError and undone', async (t) => {
  const ns = nsFile();
  const { orch, be } = make({
    onStep: (s) => {
      if (s === 'wired') throw new Error('health check failed');
    },
  });
  await t.rejects(orch.attach({ bridge: 'br0', target: { netns: ns }, ifname: 'eth1' }), {
    code: 'PLUGIN_ERR_WIRING',
    message: /failed and was undone: health check failed/,
  });
  t.same(be.rows, []);
  const other = make();
  other.be.failWire = new Error('EEXIST');
  await t.rejects(other.orch.attach({ bridge: 'br0', target: { netns: ns }, ifname: 'eth1' }), {
    code: 'PLUGIN_ERR_WIRING',
    cause: { message: 'EEXIST' },
  });
  const slow = make();
  slow.be.failApplied = new Error('ovs-vswitchd did not apply the change within 1000 ms');
  await t.rejects(slow.orch.attach({ bridge: 'br0', target: { netns: ns }, ifname: 'eth1' }), {
    code: 'PLUGIN_ERR_WIRING',
    message: /undone: ovs-vswitchd did not apply/,
  });
  t.same(slow.be.rows, [], 'an attach ovs-vswitchd never applied is rolled back');
  const ac = new AbortController();
  ac.abort(new Error('caller gave up'));
  await t.rejects(orch.attach({ bridge: 'br0', target: { netns: ns }, ifname: 'eth1', signal: ac.signal }), {
    message: 'caller gave up',
  });
});

t.test('detach, detachAll, setVlan, list and prune', async (t) => {
  const { orch, be } = make();
  const ns = nsFile();
  await orch.attach({ bridge: 'br0', target: { netns: ns }, ifname: 'eth1', vlan: 5 });
  await orch.attach({ bridge: 'br0', target: { netns: ns }, ifname: 'eth2', vlan: 5 });
  await orch.attach({ bridge: 'br1', target: { netns: nsFile() }, ifname: 'eth1', containerId: 'other' });
  // a port made by ovs-docker: random name, no owner marker
  be.rows.push({
    bridge: 'br1',
    port: '85ea876c5b514_l',
    portUuid: 'px',
    ifaceUuid: 'ix',
    tag: undefined,
    trunks: [],
    ifaceExternalIds: { container_id: 'legacy', container_iface: 'eth1' },
    portExternalIds: {},
    ofport: 3,
  });
  be.links.add('85ea876c5b514_l');
  // a port that is not a container's
  be.rows.push({
    bridge: 'br1',
    port: 'uplink0',
    portUuid: 'pu',
    ifaceUuid: 'iu',
    tag: undefined,
    trunks: [],
    ifaceExternalIds: {},
    portExternalIds: {},
    ofport: 4,
  });

  t.equal((await orch.list()).length, 4, 'the uplink is not an attachment');
  t.same(
    (await orch.list({ bridge: 'br1' })).map((a) => [a.containerId, a.managed]),
    [
      ['legacy', false],
      ['other', true],
    ],
    "sorted by bridge and port; managed tells ours from ovs-docker's",
  );
  const moved = await orch.setVlan({ target: { netns: ns }, ifname: 'eth2' }, { trunks: [7, 8] });
  t.equal(be.calls.at(-1), 'applied 1000', 'setVlan waits for ovs-vswitchd');
  t.same([moved.vlan, moved.trunks], [undefined, [7, 8]]);
  await t.rejects(orch.setVlan({ containerId: 'nobody', ifname: 'eth1' }, 3), {
    code: 'PLUGIN_ERR_NOT_FOUND',
  });
  t.equal(await orch.detach({ target: { netns: ns }, ifname: 'eth1' }), true);
  t.equal(await orch.detach({ target: { netns: ns }, ifname: 'eth1' }), false);
  t.equal(await orch.detachAll({ target: { netns: ns } }), 1);
  t.equal(await orch.detach({ containerId: 'legacy', ifname: 'eth1' }), true, "removes ovs-docker's port");
  be.links.clear();
  t.same(
    (await orch.prune()).map((a) => a.containerId),
    ['other'],
    'prune removes the attachment whose veth is gone',
  );
  t.equal(be.rows.length, 1, 'only the uplink is left');
  t.equal(await orch.detachAll({ bridge: 'br1' }), 0);
  await t.rejects(orch.detachAll({}), { code: 'PLUGIN_ERR_INVALID_OPTION' });
  await t.rejects(orch.detach({ ifname: 'eth1' }), { message: /containerId/ });
});

t.test('deleteBridge refuses a bridge in use with ifEmpty; calls after close reject', async (t) => {
  const { orch, be } = make();
  await orch.attach({ bridge: 'br0', target: { netns: nsFile() }, ifname: 'eth1' });
  await t.rejects(orch.deleteBridge('br0', { ifEmpty: true }), { code: 'PLUGIN_ERR_CONFLICT' });
  t.equal(await orch.deleteBridge('br0'), true);
  t.equal(be.rows.length, 0);
  t.equal(await orch.deleteBridge('br0'), false);
  await orch.close();
  t.ok(be.calls.includes('close'));
  await t.rejects(orch.list(), /closed/);
});

// Regression: for a `--network host` container the Orchestrator put 10.98.0.8/24 and a route into the host.
t.test('a target in our own network namespace is refused and nothing is wired', async (t) => {
  const { orch, be } = make();
  for (const target of [{ pid: process.pid }, { netns: '/proc/self/ns/net' }]) {
    await t.rejects(
      orch.attach({ bridge: 'br0', target, ifname: 'eth1', addresses: ['10.98.0.8/24'] }),
      { code: 'PLUGIN_ERR_INVALID_OPTION', message: /a network namespace other than this process's own/ },
      JSON.stringify(target),
    );
  }
  t.same(be.calls, [], 'no bridge, no wiring');
});
