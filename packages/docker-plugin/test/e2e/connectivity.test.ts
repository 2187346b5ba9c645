// One bridge, networks on it, containers started by the real dockerd through the legacy plugin socket:
// ping and TCP inside a network, IPv6, MTU, MAC, --ip, the gateway, and isolation between networks at L2
// (ARP) and L3 (routed through the host), with a positive control that routing works when both networks
// opt out of isolation.
import { docker, ensureDocker, run, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import {
  canArp,
  canPingFrom,
  containerIp,
  deleteBridges,
  exec,
  leftovers,
  removeAll,
  runContainer,
  settledLeftovers,
  startPluginProcess,
  tcpBetween,
  vsctl,
} from '../helpers/plugin.js';

const r = () => Math.floor(Math.random() * 200) + 20;

t.test('containers on plugin networks', async (t) => {
  await ensureDocker();
  const p = await startPluginProcess();
  const bridge = uniqueName('br');
  const containers: string[] = [];
  const networks: string[] = [];
  t.teardown(async () => {
    await removeAll(containers, networks);
    // The bridge goes even when stop() throws, or it leaks into the next run.
    await p.stop().finally(() => deleteBridges(p.ovsdb, [bridge]));
  });

  const o2 = r();
  const o3 = r() & ~3;
  const tenant = uniqueName('tn');
  const netA = uniqueName('na');
  const netB = uniqueName('nb');
  networks.push(netA, netB);
  const subA = `10.${o2}.${o3}.0/24`;
  const subB = `10.${o2}.${o3 + 1}.0/24`;
  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--ipv6',
    '--subnet',
    subA,
    '--subnet',
    `fd00:${o2}:${o3}::/64`,
    '-o',
    `bridge=${bridge}`,
    '-o',
    'mtu=1400',
    '-o',
    `tenant_id=${tenant}`,
    netA,
  ]);
  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--ipv6',
    '--subnet',
    subB,
    '--subnet',
    `fd00:${o2}:${o3 + 1}::/64`,
    '-o',
    `bridge=${bridge}`,
    netB,
  ]);

  const fixedIp = `10.${o2}.${o3}.10`;
  const mac = '02:42:0a:0b:0c:0d';
  const a1 = await runContainer(netA, ['--ip', fixedIp, '--mac-address', mac]);
  containers.push(a1);
  const a2 = await runContainer(netA);
  containers.push(a2);
  const b1 = await runContainer(netB);
  containers.push(b1);

  t.equal(await containerIp(a1, netA), fixedIp, '--ip is the container address');
  t.equal(
    (await exec(a1, ['cat', '/sys/class/net/eth0/address'])).stdout.trim(),
    mac,
    '--mac-address is used',
  );
  t.equal((await exec(a1, ['cat', '/sys/class/net/eth0/mtu'])).stdout.trim(), '1400', 'network MTU inside');
  const a2mac = (await exec(a2, ['cat', '/sys/class/net/eth0/address'])).stdout.trim();
  t.match(a2mac, /^02:/, 'a generated MAC (locally administered) when none is given');

  const a2ip = await containerIp(a2, netA);
  const a2ip6 = await containerIp(a2, netA, true);
  const b1ip = await containerIp(b1, netB);
  t.ok(await canPingFrom(a1, a2ip), 'ping within a network');
  t.ok(a2ip6.startsWith(`fd00:${o2}:${o3}::`), `IPv6 address ${a2ip6}`);
  t.ok(
    await waitFor(() => canPingFrom(a1, a2ip6), 10_000, 'ping -6'),
    'ping -6 within a network (dual stack)',
  );
  t.equal(await tcpBetween(a1, a2, a2ip), 1024 * 1024, 'TCP: every byte of 1 MiB arrives');
  t.ok(await canPingFrom(a1, `10.${o2}.${o3}.1`), 'the gateway (internal mode) answers ping');
  t.ok(await canPingFrom(a1, `fd00:${o2}:${o3}::1`), 'the IPv6 gateway answers ping');

  t.ok(await canArp(a2, fixedIp), 'control: ARP works inside a network');
  t.notOk(await canArp(b1, fixedIp), 'L2: no ARP reply across networks on one bridge');
  t.notOk(await canPingFrom(b1, fixedIp), 'L3: no route through the host across networks');
  t.notOk(await canPingFrom(a1, b1ip), 'L3: and not the other way');

  // The tenant is on every port of the network (and on its gateway port).
  const tenantPorts = await vsctl(
    p.ovsdb,
    '--columns=name',
    '--format=csv',
    '--no-headings',
    'find',
    'Port',
    `external_ids:ocn-tenant=${tenant}`,
  );
  t.equal(
    tenantPorts.split('\n').filter(Boolean).length,
    3,
    'ovs-vsctl find Port external_ids:ocn-tenant=… lists 2 endpoints + gateway',
  );
  const tag = await vsctl(
    p.ovsdb,
    'get',
    'Port',
    tenantPorts.split('\n')[0]?.replaceAll('"', '') ?? '',
    'tag',
  );
  t.match(tag, /^\d+$/, 'ports carry the network VLAN tag');

  // Positive control for the L3 check: two networks that both opt out of isolation route to each other.
  const netC = uniqueName('nc');
  const netD = uniqueName('nd');
  networks.push(netC, netD);
  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--subnet',
    `10.${o2}.${o3 + 2}.0/24`,
    '-o',
    `bridge=${bridge}`,
    '-o',
    'isolate=false',
    netC,
  ]);
  await docker([
    'network',
    'create',
    '-d',
    p.name,
    '--subnet',
    `10.${o2}.${o3 + 3}.0/24`,
    '-o',
    `bridge=${bridge}`,
    '-o',
    'isolate=false',
    netD,
  ]);
  const c1 = await runContainer(netC);
  containers.push(c1);
  const d1 = await runContainer(netD);
  containers.push(d1);
  t.ok(
    await canPingFrom(c1, await containerIp(d1, netD)),
    'control: isolate=false networks are routed by the host',
  );
  t.notOk(await canPingFrom(c1, fixedIp), 'an isolated network stays unreachable from an open one');

  // rm -f and network rm leave nothing behind: no port, no veth, no bridge, no rule.
  await docker(['rm', '-f', ...containers.splice(0)]);
  for (const n of networks.splice(0)) await docker(['network', 'rm', n]);
  await waitFor(async () => (await leftovers(p)).length === 0, 15_000, 'no leftovers');
  t.same(await settledLeftovers(p), [], 'no port or link with the plugin prefix is left');
  const { code } = await run('ovs-vsctl', [`--db=${p.ovsdb}`, 'br-exists', bridge], { allowFail: true });
  t.equal(code, 2, 'the bridge the plugin created is gone');
  const rules = (await run('ip', ['rule', 'show'])).stdout + (await run('ip', ['-6', 'rule', 'show'])).stdout;
  t.notMatch(rules, new RegExp(`iif ${p.prefix}`), 'no isolation rule is left');
});
