// The orchestrator's backend on a private ovsdb-server (needs root; no ovs-vswitchd) and an in-memory kernel:
// bridges made once, removals batched into one transaction and one link-group delete (of the reserved reaping
// group), VLAN changes, and the next_cfg/cur_cfg handshake.
import type { NetlinkHandle } from '@ovs-container-network/netlink';
import { ValidationError } from '@ovs-container-network/ovsdb';
import t from 'tap';
import { ownerGroup, REAPING_GROUP } from '../../src/core/kernel.js';
import { OVS } from '../../src/core/ovs/model.js';
import { addBridge, addPort, insertPort } from '../../src/core/ovs/ports.js';
import { CoreBackend } from '../../src/orchestrator/ovs-backend.js';
import { ovsSetup, type TestOvs } from '../helpers/fakes.js';

/** Adds a port `name` with these Interface external_ids to `bridge` (made when missing), as another client. */
async function addTestPort(ovs: TestOvs, bridge: string, name: string, ids: Record<string, string> = {}) {
  const root = ovs.root();
  if (!root) throw new Error('no root row');
  const br = ovs.bridgeByName(bridge);
  const port = { name, tag: 7, iface: { externalIds: ids } };
  await ovs.other.transact((t) => {
    if (br) addPort(t, br._uuid, port);
    else addBridge(t, root, { name: bridge, datapathType: 'netdev', ports: [insertPort(t, port)] });
  });
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
    if (!this.links.has(name)) throw Object.assign(new Error('no such device'), { errno: 'ENODEV' });
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
  /** Deletions are not watched here: the answers decide (as when the kernel's events cannot be read). */
  whenGone(): Promise<void> {
    return Promise.reject(Object.assign(new Error('not watched'), { errno: 'EOPNOTSUPP' }));
  }
  close() {
    this.calls.push('close');
  }
}

async function make(t: { teardown(fn: () => unknown): void }) {
  const ovs = await ovsSetup(t);
  const kernel = new FakeKernel();
  const be = new CoreBackend({ ovs, kernel: kernel as unknown as NetlinkHandle, close: async () => {} });
  return { ovs, kernel, be };
}

/** Transactions whose operations touch `table` with `op`. */
const sent = (ovs: TestOvs, op: string, table: string) =>
  ovs.transactions.filter((tx) => tx.some((o) => o.op === op && o.table === table));

t.test('ports() joins Bridge, Port and Interface rows', async (t) => {
  const { ovs, be } = await make(t);
  await addTestPort(ovs, 'br0', 'a', { container_id: 'c1', container_iface: 'eth1' });
  const a = be.ports().find((p) => p.port === 'a');
  t.same(a, {
    bridge: 'br0',
    port: 'a',
    portUuid: ovs.portByName('a')?._uuid,
    ifaceUuid: ovs.ifaceByName('a')?._uuid,
    tag: 7,
    trunks: [],
    ifaceExternalIds: { container_id: 'c1', container_iface: 'eth1' },
    portExternalIds: {},
    ofport: undefined,
  });
  t.equal(be.bridgePortCount('br0'), 1, "the bridge's own internal port does not count");
  t.ok(be.bridgeExists('br0'));
  t.notOk(be.bridgeExists('br9'));
});

t.test('ensureBridge: one transaction for concurrent callers, like ovs-vsctl add-br', async (t) => {
  const { ovs, be } = await make(t);
  await Promise.all([be.ensureBridge('br1', 'netdev'), be.ensureBridge('br1', 'netdev')]);
  t.equal(ovs.transactions.length, 1, 'one transaction');
  t.same(
    ovs.transactions[0]?.map((o) => `${o.op} ${o.table}`),
    ['insert Interface', 'insert Port', 'insert Bridge', 'wait Open_vSwitch', 'mutate Open_vSwitch'],
  );
  const br = ovs.bridgeByName('br1');
  t.equal(br?.datapath_type, 'netdev');
  t.same(
    br?.ports.map((p) => ovs.port(p)?.name),
    ['br1'],
    'its own port',
  );
  t.equal(ovs.ifaceByName('br1')?.type, 'internal');
  // Another process makes the bridge first: the server's index violation is fine once the bridge exists.
  ovs.beforeTransact = async () => {
    ovs.beforeTransact = undefined;
    const root = ovs.root();
    if (root) await ovs.other.transact((t) => addBridge(t, root, { name: 'br2' }));
  };
  await be.ensureBridge('br2', 'netdev');
  t.ok(be.bridgeExists('br2'));
  // Another process takes the port name but makes no bridge: a real failure, named.
  ovs.beforeTransact = async () => {
    ovs.beforeTransact = undefined;
    const br1 = ovs.bridgeByName('br1');
    if (br1) await ovs.other.transact((t) => addPort(t, br1._uuid, { name: 'br3' }));
  };
  await t.rejects(be.ensureBridge('br3', 'netdev'), {
    code: 'PLUGIN_ERR_OVSDB',
    message: /creating bridge br3 failed: constraint violation/,
  });
  t.notOk(be.bridgeExists('br3'));
});

t.test('removals in one turn: one transaction and one group delete; missing links are fine', async (t) => {
  const { ovs, kernel, be } = await make(t);
  for (const n of ['a', 'b', 'c']) {
    await addTestPort(ovs, 'br0', n);
    kernel.links.set(n, 0);
  }
  await addTestPort(ovs, 'br1', 'd');
  kernel.links.set('keep', 0);
  const before = ovs.transactions.length;
  await Promise.all([be.unwire(['a']), be.unwire(['b', 'gone']), be.unwire(['c', 'd'])]);
  t.equal(ovs.transactions.length - before, 1, 'one OVSDB transaction');
  for (const n of ['a', 'b', 'c', 'd']) t.notOk(ovs.portByName(n), `port ${n} gone`);
  t.same(
    ovs.bridgeByName('br0')?.ports.map((p) => ovs.port(p)?.name),
    ['br0'],
    'only its own port left',
  );
  t.same(
    kernel.calls.filter((c) => c.startsWith('delete')),
    ['deleteLinkGroup'],
    'one group delete',
  );
  t.same([...kernel.links.keys()], ['keep'], 'only the foreign link is left');
});

t.test('the group is the reserved reaping group: a link a killed process left in it goes too', async (t) => {
  const { ovs, kernel, be } = await make(t);
  for (const n of ['a', 'b']) {
    await addTestPort(ovs, 'br0', n);
    kernel.links.set(n, 0);
  }
  kernel.links.set('doomed-earlier', REAPING_GROUP);
  kernel.links.set('keep', ownerGroup('someone'));
  await be.unwire(['a', 'b']);
  t.same(
    kernel.calls.filter((c) => c.startsWith('setLink') || c.startsWith('delete')),
    ['setLink a', 'setLink b', 'deleteLinkGroup'],
  );
  t.same([...kernel.links.keys()], ['keep'], 'what another owner marked stays');
});

t.test('setVlan: tag or trunks, the other cleared', async (t) => {
  const { ovs, be } = await make(t);
  await addTestPort(ovs, 'br0', 'a');
  const row = be.ports().find((p) => p.port === 'a');
  if (!row) throw new Error('no port a');
  await be.setVlan(row, 42, []);
  t.match(ovs.portByName('a'), { tag: 42, trunks: [] });
  await be.setVlan(row, undefined, [1, 2]);
  t.match(ovs.portByName('a'), { tag: null, trunks: [1, 2] });
  const err = await be.setVlan(row, 5000, []).catch((e: unknown) => e);
  t.match(err, { code: 'PLUGIN_ERR_OVSDB', message: /setting the VLAN of port a failed: .*5000/ });
  t.ok((err as Error).cause instanceof ValidationError, "the ovsdb package's error is the cause");
  t.match(ovs.portByName('a'), { tag: null, trunks: [1, 2] }, 'unchanged');
});

t.test('applied: one next_cfg bump per turn, then cur_cfg polled until it catches up', async (t) => {
  const { ovs, be } = await make(t);
  // ovs-vswitchd's part: copy next_cfg to cur_cfg, a little later (the replica does not monitor them).
  let vswitchd = true;
  const root = ovs.root();
  if (!root) throw new Error('no root row');
  const timer = setInterval(() => {
    if (!vswitchd) return;
    void ovs.other
      .transact((t) => [t.select(OVS.Open_vSwitch, [], ['next_cfg', 'cur_cfg'])] as const)
      .then(([rows]) => {
        const r = rows[0];
        if (r && r.cur_cfg !== r.next_cfg)
          return ovs.other.transact((t) =>
            t.update(OVS.Open_vSwitch, [['_uuid', '==', root._uuid]], { cur_cfg: r.next_cfg }),
          );
      });
  }, 10);
  t.teardown(() => clearInterval(timer));
  await Promise.all([be.applied(2000), be.applied(2000), be.applied(2000)]);
  const bumps = ovs.transactions.filter((tx) =>
    tx.some((o) => o.op === 'mutate' && JSON.stringify(o.mutations).includes('next_cfg')),
  );
  t.equal(bumps.length, 1, 'one bump for three callers of the same turn');
  t.ok(sent(ovs, 'select', 'Open_vSwitch').length >= 2, 'then cur_cfg read until it reached next_cfg');
  vswitchd = false;
  await t.rejects(be.applied(30), {
    code: 'PLUGIN_ERR_OVSDB',
    message: /did not apply the change within 30 ms/,
  });
});

t.test('close closes the kernel handle it was given only when it opened it', async (t) => {
  const { kernel, be } = await make(t);
  await be.close();
  t.notOk(kernel.calls.includes('close'), "a caller's handle stays open");
});
