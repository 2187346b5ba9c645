// The orchestrator's backend on in-memory OVS and kernel fakes: the operations it sends, bridges made once,
// removals batched into one transaction and one link-group delete, and never a group delete that would take
// a foreign link with it.
import type { NetlinkHandle } from '@ovs-container-network/netlink';
import t from 'tap';
import type { BridgeRow, InterfaceRow, OvsBackend, OvsOp, PortRow } from '../../src/core/ovs.js';
import { CoreBackend } from '../../src/orchestrator/ovs-backend.js';

class FakeOvs implements OvsBackend {
  connected = true;
  bridgesRows: BridgeRow[] = [];
  portsRows: PortRow[] = [];
  ifaces: InterfaceRow[] = [];
  sent: OvsOp[][] = [];
  reply: ((ops: readonly OvsOp[]) => unknown[]) | undefined;
  rootUuid() {
    return 'root';
  }
  rootExternalIds() {
    return {};
  }
  bridges() {
    return this.bridgesRows;
  }
  bridge(u: string) {
    return this.bridgesRows.find((b) => b.uuid === u);
  }
  bridgeByName(n: string) {
    return this.bridgesRows.find((b) => b.name === n);
  }
  ports() {
    return this.portsRows;
  }
  port(u: string) {
    return this.portsRows.find((p) => p.uuid === u);
  }
  portByName(n: string) {
    return this.portsRows.find((p) => p.name === n);
  }
  iface(u: string) {
    return this.ifaces.find((i) => i.uuid === u);
  }
  ifaceByName(n: string) {
    return this.ifaces.find((i) => i.name === n);
  }
  bridgeOfPort(u: string) {
    return this.bridgesRows.find((b) => b.ports.includes(u));
  }
  onChange() {
    return () => {};
  }
  async transact(ops: readonly OvsOp[]) {
    this.sent.push([...ops]);
    await new Promise((r) => setTimeout(r, 2));
    return this.reply ? this.reply(ops) : ops.map(() => ({}));
  }
  addPort(bridge: string, name: string, ids: Record<string, string> = {}) {
    let b = this.bridgeByName(bridge);
    if (!b) {
      b = { uuid: `b-${bridge}`, name: bridge, datapathType: 'netdev', externalIds: {}, ports: [] };
      this.bridgesRows.push(b);
    }
    (b.ports as string[]).push(`p-${name}`);
    this.portsRows.push({
      uuid: `p-${name}`,
      name,
      tag: 7,
      trunks: [],
      externalIds: {},
      interfaces: [`i-${name}`],
    });
    this.ifaces.push({ uuid: `i-${name}`, name, type: '', externalIds: ids, ofport: 3, error: undefined });
  }
}

class FakeKernel {
  links = new Map<string, number>();
  calls: string[] = [];
  async findLink(name: string) {
    return this.links.has(name) ? { name, group: this.links.get(name) } : undefined;
  }
  async listLinks() {
    return [...this.links].map(([name, group]) => ({ name, group }));
  }
  async setLink(name: string, ch: { group?: number }) {
    this.calls.push(`setLink ${name}`);
    if (!this.links.has(name)) throw new Error('ENODEV');
    this.links.set(name, ch.group ?? 0);
  }
  async deleteLink(name: string) {
    this.calls.push(`deleteLink ${name}`);
    this.links.delete(name);
  }
  async deleteLinkGroup(group: number) {
    this.calls.push('deleteLinkGroup');
    for (const [n, g] of this.links) if (g === group) this.links.delete(n);
  }
  close() {
    this.calls.push('close');
  }
}

function make() {
  const ovs = new FakeOvs();
  const kernel = new FakeKernel();
  const be = new CoreBackend({ ovs, kernel: kernel as unknown as NetlinkHandle });
  return { ovs, kernel, be };
}

t.test('ports() joins Bridge, Port and Interface rows', async (t) => {
  const { ovs, be } = make();
  ovs.addPort('br0', 'a', { container_id: 'c1', container_iface: 'eth1' });
  t.same(be.ports(), [
    {
      bridge: 'br0',
      port: 'a',
      portUuid: 'p-a',
      ifaceUuid: 'i-a',
      tag: 7,
      trunks: [],
      ifaceExternalIds: { container_id: 'c1', container_iface: 'eth1' },
      portExternalIds: {},
      ofport: 3,
    },
  ]);
  t.equal(be.bridgePortCount('br0'), 1);
  t.ok(be.bridgeExists('br0'));
  t.notOk(be.bridgeExists('br9'));
});

t.test('ensureBridge: one transaction for concurrent callers, like ovs-vsctl add-br', async (t) => {
  const { ovs, be } = make();
  await Promise.all([be.ensureBridge('br1', 'netdev'), be.ensureBridge('br1', 'netdev')]);
  t.equal(ovs.sent.length, 1, 'one transaction');
  const ops = ovs.sent[0]!;
  t.same(
    ops.map((o) => `${o.op} ${o.table}`),
    ['insert Interface', 'insert Port', 'insert Bridge', 'mutate Open_vSwitch'],
  );
  t.match(ops[0], { row: { name: 'br1', type: 'internal' } });
  t.match(ops[2], { row: { name: 'br1', datapath_type: 'netdev', ports: ['named-uuid', 'bp'] } });
  // Another process made the bridge first: the server's index violation is fine once the bridge exists.
  ovs.reply = (o) => [...o.map(() => ({})), { error: 'constraint violation' }];
  ovs.addPort('br2', 'x');
  await be.ensureBridge('br2', 'netdev');
  ovs.bridgesRows = [];
  await t.rejects(be.ensureBridge('br3', 'netdev'), {
    code: 'PLUGIN_ERR_OVSDB',
    message: /constraint violation/,
  });
});

t.test('removals in one turn: one transaction and one group delete; missing links are fine', async (t) => {
  const { ovs, kernel, be } = make();
  for (const n of ['a', 'b', 'c']) {
    ovs.addPort('br0', n);
    kernel.links.set(n, 0);
  }
  ovs.addPort('br1', 'd');
  kernel.links.set('keep', 0);
  await Promise.all([be.unwire(['a']), be.unwire(['b', 'gone']), be.unwire(['c', 'd'])]);
  t.equal(ovs.sent.length, 1, 'one OVSDB transaction');
  t.same(
    ovs.sent[0]!.map((o) => [o.table, (o.mutations as unknown[][])[0]![2]]),
    [
      [
        'Bridge',
        [
          'set',
          [
            ['uuid', 'p-a'],
            ['uuid', 'p-b'],
            ['uuid', 'p-c'],
          ],
        ],
      ],
      ['Bridge', ['uuid', 'p-d']],
    ],
    'one mutate per bridge',
  );
  t.same(
    kernel.calls.filter((c) => c.startsWith('delete')),
    ['deleteLinkGroup'],
    'one group delete',
  );
  t.same([...kernel.links.keys()], ['keep'], 'only the foreign link is left');
});

t.test('a foreign link in the group number means one-by-one deletes', async (t) => {
  const { ovs, kernel, be } = make();
  for (const n of ['a', 'b']) {
    ovs.addPort('br0', n);
    kernel.links.set(n, 0);
  }
  // whatever group number the backend draws, pretend a stranger has it too
  const origSet = kernel.setLink.bind(kernel);
  kernel.setLink = async (name, ch) => {
    await origSet(name, ch);
    kernel.links.set('stranger', ch.group ?? 0);
  };
  await be.unwire(['a', 'b']);
  t.same(
    kernel.calls.filter((c) => c.startsWith('delete')),
    ['deleteLink a', 'deleteLink b'],
  );
  t.ok(kernel.links.has('stranger'), 'the stranger survives');
});

t.test('setVlan: tag or trunks, the other cleared', async (t) => {
  const { ovs, be } = make();
  ovs.addPort('br0', 'a');
  const row = be.ports()[0]!;
  await be.setVlan(row, 42, []);
  await be.setVlan(row, undefined, [1, 2]);
  t.same(
    ovs.sent.map((ops) => ops[0]!.row),
    [
      { tag: 42, trunks: ['set', []] },
      { tag: ['set', []], trunks: ['set', [1, 2]] },
    ],
  );
  ovs.reply = () => [{ error: 'constraint violation', details: 'tag out of range' }];
  await t.rejects(be.setVlan(row, 5, []), { message: /constraint violation \(tag out of range\)/ });
});

t.test('applied: one next_cfg bump per turn, then cur_cfg polled until it catches up', async (t) => {
  const { ovs, be } = make();
  let cur = 4;
  ovs.reply = (ops) =>
    ops.map((o) => {
      if (o.op === 'select' && (o.columns as string[])[0] === 'next_cfg') return { rows: [{ next_cfg: 5 }] };
      if (o.op === 'select') return { rows: [{ cur_cfg: cur++ }] };
      return { count: 1 };
    });
  await Promise.all([be.applied(1000), be.applied(1000), be.applied(1000)]);
  const bumps = ovs.sent.filter((ops) => ops[0]!.op === 'mutate');
  t.equal(bumps.length, 1, 'one bump for three callers of the same turn');
  t.match(bumps[0]![0], { table: 'Open_vSwitch', mutations: [['next_cfg', '+=', 1]] });
  t.equal(ovs.sent.length, 3, 'bump, then cur_cfg read until it reached next_cfg (4, then 5)');
  cur = 0;
  ovs.reply = (ops) =>
    ops.map((o) => (o.op === 'select' ? { rows: [{ next_cfg: 9, cur_cfg: cur }] } : { count: 1 }));
  await t.rejects(be.applied(30), {
    code: 'PLUGIN_ERR_OVSDB',
    message: /did not apply the change within 30 ms/,
  });
});

t.test('close closes the kernel handle it was given only when it opened it', async (t) => {
  const { kernel, be } = make();
  await be.close();
  t.notOk(kernel.calls.includes('close'), "a caller's handle stays open");
});
