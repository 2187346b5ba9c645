// DHCP IPAM mode against a real dnsmasq on the network's VLAN of a bridge in the shared OVS sandbox, with the
// plugin run in-process and driven over its socket exactly as Docker drives it (the call order of moby
// libnetwork: RequestPool, gateway RequestAddress, CreateNetwork; RequestAddress with the MAC, CreateEndpoint,
// Join; DeleteEndpoint, ReleaseAddress; DeleteNetwork, ReleasePool). The "container" is a namespace we
// create, to which we move the endpoint's interface as Docker would. No dockerd (test/e2e/dhcp.test.ts has it).
// Root; needs the OVS sandbox (OCN_OVSDB, with ovs-vswitchd) and dnsmasq-base.
import { rmSync } from 'node:fs';
import {
  createNetns,
  deleteNetns,
  nsExec,
  run,
  sleep,
  uniqueName,
  waitFor,
} from '@ovs-container-network/testkit';
import { pino } from 'pino';
import t from 'tap';
import { type PluginOptions, startPlugin } from '../../src/plugin.js';
import { dhcpLan } from '../helpers/dhcp-lan.js';
import { postPlugin, testPrefix } from '../helpers/plugin.js';

const OVSDB = process.env.OCN_OVSDB ?? 'unix:/run/ocn-shared/db.sock';
const MAC_LABEL = 'com.docker.network.endpoint.macaddress';
const hex64 = () =>
  Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
const randomMac = () =>
  `02:${Array.from({ length: 5 }, () =>
    Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0'),
  ).join(':')}`;

async function vsctl(...args: string[]): Promise<string> {
  return (await run('ovs-vsctl', [`--db=${OVSDB}`, '--timeout=20', ...args])).stdout.trim();
}

/** Root external_ids keys of DHCP mode for `owner`. */
async function dhcpKeys(owner: string): Promise<Record<string, string>> {
  const out = await vsctl('--format=json', '--columns=external_ids', 'list', 'Open_vSwitch');
  const rows = (JSON.parse(out) as { data: [[string, [string, string][]]][] }).data;
  const m = Object.fromEntries(rows[0]?.[0][1] ?? []);
  return Object.fromEntries(
    Object.entries(m).filter(([k]) => k.startsWith(`ocn-dhcp-`) && k.includes(`-${owner}/`)),
  );
}

/** OVS ports and kernel links whose names start with `prefix`. */
async function leftovers(prefix: string): Promise<string[]> {
  const ports = (await vsctl('--format=csv', '--no-headings', '--columns=name', 'list', 'Port'))
    .split('\n')
    .map((s) => s.replaceAll('"', '').trim())
    .filter((n) => n.startsWith(prefix));
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
  return [...ports.map((p) => `port ${p}`), ...links.map((l) => `link ${l}`)];
}

interface Rig {
  name: string;
  prefix: string;
  bridge: string;
  socket: string;
  call(method: string, body: unknown): Promise<Record<string, unknown>>;
  fail(method: string, body: unknown): Promise<{ err: string; ms: number }>;
  restart(): Promise<void>;
  /** The plugin's last log lines (debug level), for a failure to show. */
  logs(): string;
}

async function rig(
  t: { teardown(fn: () => unknown): void },
  extra: Partial<PluginOptions> = {},
): Promise<Rig> {
  const name = uniqueName('p');
  const prefix = testPrefix();
  const bridge = uniqueName('br');
  const socket = `/run/docker/plugins/${name}.sock`;
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (l: string) => {
        lines.push(l.trimEnd());
        if (lines.length > 200) lines.shift();
      },
    },
  );
  await vsctl('add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=netdev');
  const start = () =>
    startPlugin({
      ovsdb: OVSDB,
      name,
      socket,
      datapathType: 'netdev',
      prefix,
      reconcileIntervalMs: 0,
      logger,
      ...extra,
    });
  let plugin = await start();
  t.teardown(async () => {
    await plugin.close().catch(() => undefined);
    rmSync(socket, { force: true });
    await vsctl('--if-exists', 'del-br', bridge).catch(() => undefined);
    for (const l of await leftovers(prefix))
      if (l.startsWith('link ')) await run('ip', ['link', 'del', l.slice(5)], { allowFail: true });
    const keys = Object.keys(await dhcpKeys(name));
    if (keys.length > 0)
      await vsctl('remove', 'Open_vSwitch', '.', 'external_ids', ...keys).catch(() => undefined);
  });
  const post = async (method: string, body: unknown) => {
    const r = await postPlugin(socket, `/${method}`, body);
    return { ...r, json: JSON.parse(r.body || '{}') as Record<string, unknown> };
  };
  return {
    name,
    prefix,
    bridge,
    socket,
    async call(method, body) {
      const r = await post(method, body);
      if (r.status !== 200) throw new Error(`${method} → ${r.status} ${r.body}`);
      return r.json;
    },
    async fail(method, body) {
      const r = await post(method, body);
      if (r.status === 200) throw new Error(`${method} succeeded: ${r.body}`);
      return { err: String(r.json.Err ?? r.json.Error), ms: r.ms };
    },
    async restart() {
      await plugin.close();
      plugin = await start();
    },
    logs: () =>
      lines
        .filter((l) => /DHCP|dhcp|lease/.test(l))
        .slice(-40)
        .join('\n'),
  };
}

t.test('GetCapabilities asks Docker for the endpoint MAC', async (t) => {
  const r = await rig(t);
  t.same(await r.call('IpamDriver.GetCapabilities', {}), {
    RequiresMACAddress: true,
    RequiresRequestReplay: false,
  });
});

t.test(
  'lease from dnsmasq for the endpoint MAC, renewed at T1 from the container namespace, renewed after a restart, released on delete',
  async (t) => {
    const r = await rig(t);
    const vlan = 100 + Math.floor(Math.random() * 900);
    // T2 = 6 s: a renewal whose request or answer is lost is retransmitted no sooner than 60 s (RFC 2131
    // §4.4.5), so only the rebinding at T2 can make up for it within the test's wait. CI once lost the first
    // packet of an exchange under load (DISCOVER…ACK in 4.9 s, one retransmission).
    const lan = await dhcpLan(t, { ovsdb: OVSDB, bridge: r.bridge, vlan, t1: 3, t2: 6 });

    // Network creation: no --subnet, so the pool and gateway are learned from the server.
    const pool = await r.call('IpamDriver.RequestPool', {
      AddressSpace: 'ocn-local',
      Options: { mode: 'dhcp', vlan: String(vlan), bridge: r.bridge },
      V6: false,
    });
    t.same(pool, { PoolID: `ocn-dhcp/${r.bridge}/${vlan}`, Pool: lan.subnet, Data: {} });
    t.same(lan.leases(), [], 'the probe lease was released at once');
    const gw = await r.call('IpamDriver.RequestAddress', {
      PoolID: pool.PoolID,
      Options: { RequestAddressType: 'com.docker.network.gateway' },
    });
    t.equal(gw.Address, `${lan.router}/24`, "the gateway is the offer's router");
    const networkId = hex64();
    await r.call('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: { 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'ocn-local', Pool: pool.Pool, Gateway: gw.Address }],
    });
    const brIds = await vsctl('get', 'Bridge', r.bridge, `external_ids:ocn-net-${networkId}`);
    t.match(
      JSON.parse(JSON.parse(brIds)),
      { vlan, bridge: r.bridge, gatewayMode: 'external' },
      'VLAN and bridge from the pool',
    );
    t.notOk(JSON.parse(JSON.parse(brIds)).gatewayPort, 'no gateway port takes the router address');

    // docker run: the MAC libnetwork generated goes to RequestAddress, then CreateEndpoint.
    const mac = randomMac();
    const t0 = Date.now();
    const addr = await r.call('IpamDriver.RequestAddress', {
      PoolID: pool.PoolID,
      Options: { [MAC_LABEL]: mac },
    });
    t.comment(`RequestAddress (client port + DISCOVER…ACK) took ${Date.now() - t0} ms`);
    const ip = String(addr.Address).split('/')[0] ?? '';
    t.match(addr.Address, /^10\.239\.\d+\.\d+\/24$/);
    t.same(
      lan.leases().map((l) => [l.mac, l.ip]),
      [[mac, ip]],
      "dnsmasq's lease file shows the endpoint MAC and address",
    );
    t.same(await leftovers(r.prefix), [], 'the client port is gone after the exchange');
    const leaseKey = `ocn-dhcp-lease-${r.name}/${r.bridge}/${vlan}/${ip}`;
    t.ok((await dhcpKeys(r.name))[leaseKey], 'the lease is recorded in OVS');

    const endpointId = hex64();
    await r.call('NetworkDriver.CreateEndpoint', {
      NetworkID: networkId,
      EndpointID: endpointId,
      Interface: { Address: addr.Address, MacAddress: mac },
      Options: {},
    });
    const sandbox = await createNetns(uniqueName('sb'));
    t.teardown(() => deleteNetns(sandbox));
    const join = await r.call('NetworkDriver.Join', {
      NetworkID: networkId,
      EndpointID: endpointId,
      SandboxKey: `/run/netns/${sandbox}`,
      Options: {},
    });
    t.equal(join.Gateway, lan.router);
    // What Docker does after Join: move SrcName into the sandbox as eth0 and configure it.
    const src = (join.InterfaceName as { SrcName: string }).SrcName;
    await run('ip', ['link', 'set', src, 'netns', sandbox, 'name', 'eth0']);
    await nsExec(sandbox, 'ip', ['addr', 'add', String(addr.Address), 'dev', 'eth0']);
    await nsExec(sandbox, 'ip', ['link', 'set', 'eth0', 'up']);
    t.ok(
      (await nsExec(sandbox, 'ping', ['-c', '1', '-W', '2', lan.serverIp], true)).code === 0,
      'the container reaches the LAN',
    );

    // T1 = 3 s (option 58): the keeper renews by unicast from the container's namespace (or, if that
    // exchange was lost, rebinds at T2 = 6 s by broadcast, from there too).
    const expiry0 = lan.leases()[0]?.expiry ?? 0;
    const renewals = () =>
      lan.log().match(new RegExp(`DHCPACK\\(lan0\\) ${ip.replaceAll('.', '\\.')} ${mac}`, 'g'))?.length ?? 0;
    const explain = (what: string) => (err: unknown) => {
      t.comment(
        `${what}: the plugin logged\n${r.logs()}\ndnsmasq logged\n${lan.log().split('\n').slice(-15).join('\n')}`,
      );
      throw err;
    };
    await waitFor(() => renewals() >= 2, 10_000, 'a renewal ACK').catch(explain('no renewal ACK'));
    await waitFor(() => (lan.leases()[0]?.expiry ?? 0) > expiry0, 3000, 'the lease file expiry to move on');
    const rec1 = JSON.parse((await dhcpKeys(r.name))[leaseKey] ?? '{}');
    t.equal(rec1.sandbox, `/run/netns/${sandbox}`, 'the lease record knows the sandbox');

    // A restarted plugin reads the lease from OVS and goes on renewing.
    await r.restart();
    const before = renewals();
    await waitFor(() => renewals() > before, 10_000, 'a renewal by the restarted plugin').catch(
      explain('no renewal by the restarted plugin'),
    );
    // dnsmasq logs its ACK before the plugin has it and writes it to OVS: wait for the record (bounded).
    const saved = async () =>
      JSON.parse((await dhcpKeys(r.name))[leaseKey] ?? '{}').lease?.obtainedAt > rec1.lease.obtainedAt;
    await waitFor(saved, 3000, 'the renewed lease in OVS').catch(() => undefined);
    t.ok(await saved(), 'the renewed lease was saved in OVS');

    // docker rm: Leave, DeleteEndpoint, then ReleaseAddress → DHCPRELEASE.
    await r.call('NetworkDriver.Leave', { NetworkID: networkId, EndpointID: endpointId });
    await nsExec(sandbox, 'ip', ['link', 'set', 'eth0', 'netns', '1', 'name', src], true);
    await r.call('NetworkDriver.DeleteEndpoint', { NetworkID: networkId, EndpointID: endpointId });
    await r.call('IpamDriver.ReleaseAddress', { PoolID: pool.PoolID, Address: ip });
    await waitFor(() => lan.leases().length === 0, 3000, 'the lease to leave the lease file');
    t.match(lan.log(), new RegExp(`DHCPRELEASE\\(lan0\\) ${ip.replaceAll('.', '\\.')} ${mac}`));
    t.notOk((await dhcpKeys(r.name))[leaseKey], 'the lease record is gone');
    const n = renewals();
    await sleep(4000);
    t.equal(renewals(), n, 'no renewal after the release');

    await r.call('NetworkDriver.DeleteNetwork', { NetworkID: networkId });
    await r.call('IpamDriver.ReleaseAddress', { PoolID: pool.PoolID, Address: lan.router });
    await r.call('IpamDriver.ReleasePool', { PoolID: pool.PoolID });
    t.same(await dhcpKeys(r.name), {}, 'nothing of DHCP mode is left in OVS');
    t.same(await leftovers(r.prefix), [], 'no port or link of the plugin is left');
  },
);

t.test('a silent DHCP server: a clear error within the bound, and nothing is left behind', async (t) => {
  const r = await rig(t);
  const vlan = 100 + Math.floor(Math.random() * 900);
  const lan = await dhcpLan(t, { ovsdb: OVSDB, bridge: r.bridge, vlan, dnsmasq: false });
  const opts = { mode: 'dhcp', vlan: String(vlan), bridge: r.bridge, dhcp_timeout: '2' };

  // Learning the subnet from nobody.
  const learn = await r.fail('IpamDriver.RequestPool', { Options: opts });
  t.match(learn.err, /no DHCP server answered on interface '\w+'.*broadcast DHCPDISCOVER got no DHCPOFFER/);
  t.match(learn.err, new RegExp(`bridge ${r.bridge} VLAN ${vlan}`));
  t.ok(learn.ms < 4000, `answered in ${learn.ms} ms (bound: 2 s + the client port)`);
  t.same(await dhcpKeys(r.name), {}, 'no pool recorded');

  // With --subnet/--gateway the network is created; the endpoint's address then times out.
  const pool = await r.call('IpamDriver.RequestPool', { Options: opts, Pool: lan.subnet });
  const gw = await r.call('IpamDriver.RequestAddress', {
    PoolID: pool.PoolID,
    Address: lan.router,
    Options: { RequestAddressType: 'com.docker.network.gateway' },
  });
  const networkId = hex64();
  await r.call('NetworkDriver.CreateNetwork', {
    NetworkID: networkId,
    Options: { 'com.docker.network.generic': {} },
    IPv4Data: [{ Pool: pool.Pool, Gateway: gw.Address }],
  });
  const mac = randomMac();
  const e = await r.fail('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Options: { [MAC_LABEL]: mac } });
  t.match(e.err, new RegExp(`DHCP for MAC ${mac}.*no DHCP server answered.*DHCPDISCOVER got no DHCPOFFER`));
  t.ok(e.ms >= 1900 && e.ms < 4000, `answered in ${e.ms} ms`);
  t.same(await leftovers(r.prefix), [], 'no client port or veth left');
  t.same(
    Object.keys(await dhcpKeys(r.name)),
    [`ocn-dhcp-pool-${r.name}/${r.bridge}/${vlan}`],
    'only the pool',
  );
  await r.call('NetworkDriver.DeleteNetwork', { NetworkID: networkId });
  await r.call('IpamDriver.ReleasePool', { PoolID: pool.PoolID });
  t.same(await dhcpKeys(r.name), {});
});

t.test('bad input is refused with the option, the value and what is allowed; nothing changes', async (t) => {
  const r = await rig(t);
  const noVlan = await r.fail('IpamDriver.RequestPool', { Options: { mode: 'dhcp' } });
  t.match(noVlan.err, /invalid option vlan=undefined: expected the VLAN/);
  const badVlan = await r.fail('IpamDriver.RequestPool', { Options: { mode: 'dhcp', vlan: '5000' } });
  t.match(badVlan.err, /invalid option vlan="5000": expected a VLAN id: an integer from 1 to 4094/);
  const unknown = await r.fail('IpamDriver.RequestPool', {
    Options: { mode: 'dhcp', vlan: '7', colour: 'red' },
  });
  t.match(
    unknown.err,
    /invalid option colour="red": expected a DHCP-mode --ipam-opt: mode, vlan, bridge, dhcp_timeout/,
  );
  const v6 = await r.fail('IpamDriver.RequestPool', { Options: { mode: 'dhcp', vlan: '7' }, V6: true });
  t.match(v6.err, /IPv4 only/);
  const timeout = await r.fail('IpamDriver.RequestPool', {
    Options: { mode: 'dhcp', vlan: '7', dhcp_timeout: '60' },
  });
  t.match(timeout.err, /invalid option dhcp_timeout="60": expected seconds from 1 to 7/);
  const pool = await r.call('IpamDriver.RequestPool', {
    Options: { mode: 'dhcp', vlan: '7', bridge: r.bridge },
    Pool: '10.238.7.0/24',
  });
  const ip = await r.fail('IpamDriver.RequestAddress', {
    PoolID: pool.PoolID,
    Address: '10.238.7.9',
    Options: { [MAC_LABEL]: randomMac() },
  });
  t.match(ip.err, /invalid option --ip="10.238.7.9": expected nothing on a DHCP network/);
  const noMac = await r.fail('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Options: {} });
  t.match(noMac.err, /without Options\["com.docker.network.endpoint.macaddress"\]/);
  const internal = await r.fail('NetworkDriver.CreateNetwork', {
    NetworkID: hex64(),
    Options: { 'com.docker.network.generic': { gateway_mode: 'internal' } },
    IPv4Data: [{ Pool: '10.238.7.0/24', Gateway: '10.238.7.1/24' }],
  });
  t.match(
    internal.err,
    /invalid option gateway_mode="internal": expected "external" \(default\) or "none" on a DHCP network/,
  );
  const otherVlan = await r.fail('NetworkDriver.CreateNetwork', {
    NetworkID: hex64(),
    Options: { 'com.docker.network.generic': { vlan: '8' } },
    IPv4Data: [{ Pool: '10.238.7.0/24', Gateway: '10.238.7.1/24' }],
  });
  t.match(
    otherVlan.err,
    new RegExp(`invalid option vlan=8: expected the DHCP pool's \\(--ipam-opt\\): bridge ${r.bridge} VLAN 7`),
  );
  t.notOk(
    (await vsctl('get', 'Bridge', r.bridge, 'external_ids')).includes('ocn-net-'),
    'no network recorded',
  );
  await r.call('IpamDriver.ReleasePool', { PoolID: pool.PoolID });
  t.same(await dhcpKeys(r.name), {});
});
