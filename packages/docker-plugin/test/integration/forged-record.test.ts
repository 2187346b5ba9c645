// Regression (issue 12, item 1): a record in OVS could point the plugin at any host interface. Written into
// a bridge's external_ids:ocn-net-x with `"gatewayPort":"<host interface>"`, within one reconcile the
// interface's MTU changed, it gained the gateway address and a `prohibit` rule; deleting the record left the
// address and the rule, because cleanup only looked at interfaces named `<prefix>g…`. Real ovsdb-server, the
// real plugin binary, a real veth pair standing in for a host NIC. Needs root.
import { run, sleep, startOvsdbServer, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { startPluginProcess } from '../helpers/plugin.js';

interface IpLink {
  ifname: string;
  mtu: number;
  addr_info?: { local: string; prefixlen: number }[];
}

async function link(name: string): Promise<IpLink | undefined> {
  const { stdout, code } = await run('ip', ['-j', 'addr', 'show', 'dev', name], { allowFail: true });
  return code === 0 ? (JSON.parse(stdout) as IpLink[])[0] : undefined;
}

async function rulesOn(name: string): Promise<string[]> {
  const { stdout } = await run('ip', ['rule', 'show']);
  return stdout.split('\n').filter((l) => l.includes(`iif ${name} `) || l.endsWith(`iif ${name}`));
}

t.test('a forged record naming a host interface: never acted on, nothing left when it goes', async (t) => {
  const server = await startOvsdbServer();
  let stopPlugin = async () => {};
  const nic = uniqueName('nic');
  t.teardown(async () => {
    await stopPlugin();
    await run('ip', ['link', 'del', nic], { allowFail: true });
    await server.stop();
  });
  const db = server.unixEndpoint;
  await run('ovs-vsctl', [`--db=${db}`, '--no-wait', 'init']);
  const bridge = uniqueName('br');
  await run('ovs-vsctl', [`--db=${db}`, '--no-wait', 'add-br', bridge]);
  await run('ip', [
    'link',
    'add',
    nic,
    'mtu',
    '1500',
    'type',
    'veth',
    'peer',
    'name',
    `${nic.slice(0, 14)}p`,
  ]);
  const p = await startPluginProcess({ ovsdb: db, reconcileIntervalSeconds: 0.2 });
  stopPlugin = () => p.stop();

  const base = {
    v: 1,
    owner: p.name,
    bridge,
    mtu: 1400,
    datapathType: 'system',
    isolate: true,
  };
  const forged = {
    ...base,
    id: 'f'.repeat(64),
    vlan: 77,
    gatewayMode: 'internal',
    gatewayPort: nic,
    ipv4: { pool: '10.77.2.0/24', gateway: '10.77.2.1/24' },
  };
  // A second network of "ours", so the old code also had a reason to add an isolation rule on the NIC.
  const other = {
    ...base,
    id: 'e'.repeat(64),
    vlan: 78,
    gatewayMode: 'none',
    ipv4: { pool: '10.78.2.0/24' },
  };
  const setId = (id: string, value: string) =>
    run('ovs-vsctl', [`--db=${db}`, '--no-wait', 'br-set-external-id', bridge, `ocn-net-${id}`, value]);
  await setId(forged.id, JSON.stringify(forged));
  await setId(other.id, JSON.stringify(other));
  await sleep(1500); // several reconciles (every 0.2 s)

  const after = await link(nic);
  t.equal(after?.mtu, 1500, 'the host interface keeps its MTU');
  t.same(
    (after?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
    [],
    'it gets no gateway address',
  );
  t.same(await rulesOn(nic), [], 'and no prohibit rule');
  t.ok(
    p.logs.some((l) => l.includes('plugin listening')),
    'the plugin is up and reconciling',
  );

  // Deleting the records leaves nothing behind (there is nothing to leave).
  await run('ovs-vsctl', [`--db=${db}`, '--no-wait', 'br-set-external-id', bridge, `ocn-net-${forged.id}`]);
  await run('ovs-vsctl', [`--db=${db}`, '--no-wait', 'br-set-external-id', bridge, `ocn-net-${other.id}`]);
  await sleep(800);
  const gone = await link(nic);
  t.same(
    (gone?.addr_info ?? []).map((a) => a.local),
    [],
    'no address left on the host interface',
  );
  t.same(await rulesOn(nic), [], 'no rule left for it');
  t.equal(p.child.exitCode, null, 'the plugin kept running');
});
