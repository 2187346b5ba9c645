// OVN mode across two simulated hosts (needs root and OVN: network namespaces, ovsdb-server, ovs-vswitchd,
// ovn-northd, ovn-controller; testkit startOvnEnv). The plugin BINARY runs inside each chassis' namespace
// with --ovn-nb, driven over its socket with Docker's plugin bodies (no dockerd here; helper ovn15docker's
// e2e tests run real dockerds). Shows: one network on two hosts is one logical switch; cross-host ping
// (IPv4 and IPv6) and 2 MiB over TCP, right after CreateEndpoint+Join return; the MTU derived from GENEVE
// and a larger one refused; a mismatch refused with NB unchanged; --ip honoured or refused; 2×50 concurrent
// allocations distinct; deletes leave nothing behind.
import { canPing, nsExec, type OvnEnv, run, startOvnEnv, tcpTransfer } from '@ovs-container-network/testkit';
import t from 'tap';
import { gatewayRouterName, tenantSubnetsSetName, transitSwitchName } from '../../src/core/ovn/model.js';
import {
  attach,
  createNetwork,
  dockerId,
  lspNames,
  nbDump,
  type OvnPlugin,
  startOvnPlugin,
  waitChassisReady,
} from '../helpers/ovn.js';

const env: OvnEnv = await startOvnEnv({ chassis: 2 });
t.teardown(() => env.stop());
await waitChassisReady(env);
const [chA, chB] = env.chassis;
if (!chA || !chB) throw new Error('two chassis expected');
// Default flags: CreateEndpoint returns once every chassis knows the port (--ovn-remote-wait), so the first
// ping cannot be lost. A reads the chassis' acks in the SB (the default); B waits on NB hv_cfg only
// (--ovn-sb off): the first ping below goes to B's new endpoint (test/e2e/ovn-cross-host checks the
// default both ways, right after docker run).
const a: OvnPlugin = await startOvnPlugin(env, chA);
t.teardown(() => a.stop());
const b: OvnPlugin = await startOvnPlugin(env, chB, { name: a.name, extraArgs: ['--ovn-sb', 'off'] });
t.teardown(() => b.stop());

const SW = `ocnt-${dockerId().slice(0, 8)}`;
const spec = { logicalSwitch: SW, subnet: '10.61.0.0/24', subnet6: 'fd00:61::/64', tenant: 'ta' };

t.test('one network on two hosts is one logical switch; cross-host ping v4/v6 and TCP at once', async (t) => {
  const na = await createNetwork(a, spec);
  t.equal(na.reply.status, 200, JSON.stringify(na.reply.body));
  const nb = await createNetwork(b, spec);
  t.equal(nb.reply.status, 200, JSON.stringify(nb.reply.body));
  const ls = JSON.parse(
    await env.nbctl('--format=json', '--columns=external_ids', 'find', 'Logical_Switch', `name=${SW}`),
  );
  t.equal(ls.data.length, 1, 'one logical switch');
  const ids = Object.fromEntries(ls.data[0][0][1]) as Record<string, string>;
  t.equal(ids['ocn-host-' + chA.name], na.networkId);
  t.equal(ids['ocn-host-' + chB.name], nb.networkId);
  t.equal(ids['ocn-mtu'], '1442', 'GENEVE on a 1500 underlay: 1442');
  t.equal(ids['ocn-subnets'], '10.61.0.0/24,fd00:61::/64');

  // `docker network connect --driver-opt dns_name=…` reaches CreateEndpoint's Options.
  const ea = await attach(a, na, { options: { dns_name: `web-${SW.slice(5)}` } });
  const eb = await attach(b, nb);
  t.not(ea.ip, eb.ip, 'distinct addresses');
  t.equal(ea.join.Gateway, '10.61.0.1');
  t.equal(ea.join.GatewayIPv6, 'fd00:61::1');
  // The first ping right after Join: the port is installed on both chassis.
  t.ok(await canPing(ea.netns, eb.ip as string, 1), 'first ping A → B');
  // A's wait for the other chassis read their reports in the SB (the chassis' ovn-remote); B's, NB hv_cfg.
  const sbLines = (p: OvnPlugin) => ({
    replica: p.logs.some((l) => l.includes('the remote wait reads the chassis reports from the SB')),
    ended: p.logs.some((l) => l.includes('the remote wait ended on the chassis reports in the SB')),
  });
  t.same(
    sbLines(a),
    { replica: true, ended: true },
    'A: an SB replica of the chassis reports, and a wait ended on them',
  );
  t.same(sbLines(b), { replica: false, ended: false }, 'B (--ovn-sb off): no SB replica');
  t.ok(await canPing(eb.netns, ea.ip6 as string), 'IPv6 B → A');
  t.ok(await canPing(ea.netns, '10.61.0.1'), 'the gateway (tenant router port) answers');
  t.equal(
    await tcpTransfer(ea.netns, eb.netns, eb.ip as string),
    2 * 1024 * 1024,
    '2 MiB over TCP across hosts',
  );
  // Names across hosts: OVN's DNS (the switch's DNS row) answers B's query for A's endpoint.
  const q = await nsExec(eb.netns, 'busybox', ['nslookup', `web-${SW.slice(5)}`, '10.61.0.1'], true);
  t.match(q.stdout, ea.ip as string, `B resolves A's endpoint by name: ${q.stdout} ${q.stderr}`);
  const lsp = JSON.parse(
    await env.nbctl(
      '--format=json',
      '--columns=addresses,port_security,options,external_ids',
      'list',
      'Logical_Switch_Port',
      `ocn/${SW}/${ea.ip}`,
    ),
  );
  const [addresses, portSecurity] = lsp.data[0];
  t.match(addresses, /fd00:61::/, 'addresses carry MAC, IPv4 and IPv6');
  t.same(addresses, portSecurity, 'port_security = addresses');
  t.match(JSON.stringify(lsp.data[0][2]), chA.name, 'requested-chassis');
  t.match(JSON.stringify(lsp.data[0][3]), ea.endpointId, 'external_ids name the endpoint');
  const src = String((ea.join.InterfaceName as { SrcName: string }).SrcName);
  const hostEnd = `${a.prefix}h${src.slice(a.prefix.length + 1)}`;
  t.equal(await chA.vsctl('get', 'Interface', hostEnd, 'external_ids:iface-id'), `"ocn/${SW}/${ea.ip}"`);
  const mtu = await chA.vsctl('get', 'Interface', hostEnd, 'mtu');
  t.equal(mtu, '1442');

  await ea.remove();
  await eb.remove();
  t.same(await lspNames(env, SW), [], 'no logical port left after DeleteEndpoint + ReleaseAddress');
  t.equal(
    await env.nbctl('--columns=records', '--bare', 'find', 'DNS', `external_ids:ocn-switch=${SW}`),
    '',
    'its DNS record went with it',
  );
  const left = (await chA.vsctl('list-ports', 'br-int')).split('\n').filter((p) => p.startsWith(a.prefix));
  t.same(left, [], 'no OVS port of the plugin left on A');

  t.test('a second network on one host for the same switch is refused', async (t) => {
    const r = await createNetwork(a, spec);
    t.equal(r.reply.status, 500);
    t.match(String(r.reply.body.Err), /already belongs to Docker network/);
  });

  t.test('mismatches are refused, naming the field and both values, with NB unchanged', async (t) => {
    const before = await nbDump(env);
    const cases = [
      {
        ...spec,
        subnet: '10.62.0.0/24',
        want: /subnet 10\.61\.0\.0\/24; this network asks 10\.62\.0\.0\/24/,
      },
      { ...spec, tenant: 'tb', want: /tenant=ta; this network asks tenant=tb/ },
      { ...spec, isolate: false, want: /isolate=true; this network asks isolate=false/ },
      { ...spec, mtu: 1400, want: /mtu=1442; this network asks mtu=1400/ },
      { ...spec, logicalSwitch: `${SW}x`, mtu: 1443, want: /mtu.*1443.*at most 1442/ },
    ];
    for (const { want, ...s } of cases) {
      const r = await createNetwork(b, s).catch((err: Error) => ({
        reply: { status: 500, body: { Err: err.message } },
      }));
      t.equal(r.reply.status, 500, `refused: ${JSON.stringify(s)}`);
      t.match(String(r.reply.body.Err), want);
    }
    // Not through our IPAM (Docker's default address space): refused.
    const r = await b.call('/NetworkDriver.CreateNetwork', {
      NetworkID: dockerId(),
      Options: { 'com.docker.network.generic': { mode: 'ovn', logical_switch: `${SW}y` } },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.63.0.0/24', Gateway: '10.63.0.1/24' }],
    });
    t.equal(r.status, 500);
    t.match(String(r.body.Err), /--ipam-driver/);
    t.equal(await nbDump(env), before, 'NB unchanged (ovn-nbctl --format=json list, before and after)');
  });

  t.test('--ip is honoured, or refused when another host holds it', async (t) => {
    const e = await attach(a, na, { ip: '10.61.0.77' });
    t.equal(e.ip, '10.61.0.77');
    const pool = nb.pools.find((p) => !p.v6)?.poolId;
    const r = await b.call('/IpamDriver.RequestAddress', { PoolID: pool, Address: '10.61.0.77' });
    t.equal(r.status, 500);
    t.match(
      String(r.body.Err),
      new RegExp(`10\\.61\\.0\\.77 is in use on logical switch ${SW}.*chassis ${chA.name}`),
    );
    await e.remove();
  });

  t.test('2 hosts × 50 concurrent allocations get 100 distinct addresses', async (t) => {
    const pa = na.pools.find((p) => !p.v6)?.poolId;
    const pb = nb.pools.find((p) => !p.v6)?.poolId;
    const both = await Promise.all([
      ...Array.from({ length: 50 }, () => a.ok('/IpamDriver.RequestAddress', { PoolID: pa })),
      ...Array.from({ length: 50 }, () => b.ok('/IpamDriver.RequestAddress', { PoolID: pb })),
    ]);
    const got = both.map((r) => String(r.Address));
    t.equal(new Set(got).size, 100, '100 distinct');
    t.equal((await lspNames(env, SW)).length, 100, '100 holds in NB');
    await Promise.all(
      got.map((addr, i) =>
        (i < 50 ? a : b).ok('/IpamDriver.ReleaseAddress', { PoolID: i < 50 ? pa : pb, Address: addr }),
      ),
    );
    t.same(await lspNames(env, SW), [], 'released');
  });

  t.test('DeleteNetwork: the switch stays while another host is a member, goes with the last', async (t) => {
    await a.ok('/NetworkDriver.DeleteNetwork', { NetworkID: na.networkId });
    t.match(await env.nbctl('ls-list'), SW);
    await a.ok('/NetworkDriver.DeleteNetwork', { NetworkID: na.networkId }); // idempotent
    await b.ok('/NetworkDriver.DeleteNetwork', { NetworkID: nb.networkId });
    t.notMatch(await env.nbctl('ls-list'), SW, 'switch gone');
    t.notMatch(await env.nbctl('lr-list'), /\(ocn-ta\)/, "the tenant's router went with its last network");
  });

  t.test(
    'north-south: a network takes its SNAT along; the last one every tenant object; then the transit path goes',
    async (t) => {
      const tenant = `g${dockerId().slice(0, 6)}`;
      const g1 = { logicalSwitch: `${SW}g1`, subnet: '10.63.0.0/24', tenant };
      const g2 = { logicalSwitch: `${SW}g2`, subnet: '10.64.0.0/24', tenant };
      const g1a = await createNetwork(a, g1);
      const g1b = await createNetwork(b, g1);
      const g2a = await createNetwork(a, g2);
      for (const n of [g1a, g1b, g2a]) t.equal(n.reply.status, 200, JSON.stringify(n.reply.body));
      const e1 = await attach(a, g1a);
      const e2 = await attach(b, g1b);
      const e3 = await attach(a, g2a);
      for (const [p, n, e] of [
        [a, g1a, e1],
        [b, g1b, e2],
        [a, g2a, e3],
      ] as const)
        await p.ok('/NetworkDriver.ProgramExternalConnectivity', {
          NetworkID: n.networkId,
          EndpointID: e.endpointId,
          Options: {},
        });
      const grA = gatewayRouterName(tenant, chA.name);
      const grB = gatewayRouterName(tenant, chB.name);
      const nat = (gr: string) => env.nbctl('lr-nat-list', gr);
      const routes = (gr: string) => env.nbctl('lr-route-list', gr);
      t.match(await nat(grA), /10\.63\.0\.0\/24/, 'A: SNAT of the tenant subnets');
      t.match(await nat(grA), /10\.64\.0\.0\/24/, 'A: the second network is SNATed too');
      t.match(await routes(grB), /10\.64\.0\.0\/24/, 'B: a route back to the second network');
      const linkOf = (ch: typeof chA, p: typeof a) =>
        nsExec(ch.netns, 'ip', ['-o', 'link', 'show', `${p.prefix}gw-h`.slice(0, 15)], true);
      t.equal((await linkOf(chA, a)).code, 0, 'A has its transit veth');

      // The second network goes (its endpoint first, as dockerd does): its SNAT and routes leave both routers.
      await e3.remove();
      await a.ok('/NetworkDriver.DeleteNetwork', { NetworkID: g2a.networkId });
      for (const gr of [grA, grB]) {
        t.notMatch(await nat(gr), /10\.64\.0\.0/, `${gr}: the deleted network's SNAT is gone`);
        t.notMatch(await routes(gr), /10\.64\.0\.0/, `${gr}: and its route`);
        t.match(await routes(gr), /10\.63\.0\.0\/24/, `${gr}: the other network's route stays`);
      }
      t.match(await nat(grA), /10\.63\.0\.0\/24/, "the remaining network's SNAT stays");

      // The tenant's last network: nothing of the tenant is left in NB.
      await e1.remove();
      await e2.remove();
      await a.ok('/NetworkDriver.DeleteNetwork', { NetworkID: g1a.networkId });
      await b.ok('/NetworkDriver.DeleteNetwork', { NetworkID: g1b.networkId });
      for (const table of ['Logical_Router', 'Logical_Switch', 'Port_Group'])
        t.equal(
          await env.nbctl('--bare', '--columns=name', 'find', table, `external_ids:ocn-tenant=${tenant}`),
          '',
          `no ${table} of the tenant is left`,
        );
      const sets = await env.nbctl('--bare', '--columns=name', 'list', 'Address_Set');
      t.notMatch(sets, tenantSubnetsSetName(tenant, 4), 'no address set of the tenant is left');
      t.notMatch(await env.nbctl('lr-list'), tenant, 'no router names the tenant');
      t.notMatch(await env.nbctl('ls-list'), tenant, 'no switch names the tenant');

      // The reconciler (it runs before a restarted plugin serves): no gateway of this host, no transit path.
      for (const [p, ch] of [
        [a, chA],
        [b, chB],
      ] as const) {
        await p.kill('SIGTERM');
        await p.start();
        t.notMatch(await env.nbctl('ls-list'), transitSwitchName(ch.name), `${ch.name}: transit switch gone`);
        const ports = await ch.vsctl('list-ports', 'br-int');
        t.notMatch(ports, `${p.prefix}gw-o`, `${ch.name}: its OVS port gone`);
        t.not((await linkOf(ch, p)).code, 0, `${ch.name}: its transit veth gone`);
      }
    },
  );
});

t.test('an SB that cannot be reached: the remote wait goes on through NB hv_cfg', async (t) => {
  // A plugin pair of its own (the same name on both hosts); host A's SB remote has no server behind it.
  const c = await startOvnPlugin(env, chA, { extraArgs: ['--ovn-sb', 'tcp:127.0.0.1:9'] });
  t.teardown(() => c.stop());
  const d = await startOvnPlugin(env, chB, { name: c.name });
  t.teardown(() => d.stop());
  const ls = `ocnt-${dockerId().slice(0, 8)}`;
  const nspec = { logicalSwitch: ls, subnet: '10.64.0.0/24', tenant: 'tsb' };
  const nc = await createNetwork(c, nspec);
  const nd = await createNetwork(d, nspec);
  const ed = await attach(d, nd);
  const ec = await attach(c, nc);
  t.ok(await canPing(ec.netns, ed.ip as string, 1), 'first ping from the new endpoint');
  t.ok(await canPing(ed.netns, ec.ip as string, 1), 'and back');
  t.ok(
    c.logs.some((l) => l.includes('the SB replica of the chassis reports is not connected')),
    'the unreachable SB is reported',
  );
  t.equal(
    c.logs.filter((l) => l.includes('the SB replica of the chassis reports is not connected')).length,
    1,
    'once, not on every retry',
  );
  t.notOk(
    c.logs.some((l) => l.includes('the remote wait ended on the chassis reports in the SB')),
    'no wait ended on the SB',
  );
  t.notOk(
    c.logs.some((l) => l.includes('not every chassis applied')),
    'and none timed out: NB hv_cfg ended it',
  );
  await ec.remove();
  await ed.remove();
  await c.ok('/NetworkDriver.DeleteNetwork', { NetworkID: nc.networkId });
  await d.ok('/NetworkDriver.DeleteNetwork', { NetworkID: nd.networkId });
});

t.test('a chassis that stops applying: waited for once, named, then not until it catches up', async (t) => {
  // Host B's ovn-controller is killed: its Chassis_Private stays at the nb_cfg it last applied.
  const stuck = `ocnt-${dockerId().slice(0, 8)}`;
  const nspec = { logicalSwitch: stuck, subnet: '10.65.0.0/24', tenant: 'tst' };
  const na = await createNetwork(a, nspec);
  const nb = await createNetwork(b, nspec);
  const peer = await attach(b, nb);
  await chB.killController();
  t.teardown(() => (chB.controllerPid === undefined ? chB.startController() : undefined));
  const warned = () => a.logs.filter((l) => l.includes('not every chassis applied port'));
  const before = warned().length;
  const e1 = await attach(a, na);
  t.equal(warned().length, before + 1, 'the first attach waited --ovn-remote-wait and warned');
  t.match(warned().at(-1) ?? '', new RegExp(`${chB.name} \\(at \\d+\\) behind`), 'naming host B from the SB');
  const e2 = await attach(a, na);
  t.equal(warned().length, before + 1, 'the next attach did not wait for B again (no second warning)');
  await chB.startController();
  await run('ovn-nbctl', [`--db=${env.nb.remote}`, '--timeout=60', '--wait=hv', 'sync']);
  const e3 = await attach(a, na);
  t.ok(
    a.logs.some((l) => l.includes('every chassis caught up again')),
    'once B caught up, the wait is back',
  );
  t.equal(warned().length, before + 1, 'and it ended without a warning');
  t.ok(await canPing(peer.netns, e3.ip as string, 1), 'first ping from B to the new endpoint');
  for (const e of [e1, e2, e3, peer]) await e.remove();
  await a.ok('/NetworkDriver.DeleteNetwork', { NetworkID: na.networkId });
  await b.ok('/NetworkDriver.DeleteNetwork', { NetworkID: nb.networkId });
});
