// Issue 17, external DHCP, with the real dockerd: a network in DHCP IPAM mode gets its subnet, gateway and
// addresses from dnsmasq (the LAN's server) on the network's VLAN. `docker run` gets an address for the
// container's MAC (dnsmasq's lease file shows both), it is renewed while the container runs (T1 = 4 s, set
// with option 58: dnsmasq's shortest lease is 2 minutes), renewals go on after a plugin SIGKILL and restart,
// and `docker rm` releases it. A silent server fails `docker run` with a clear error within the bound, and
// leaves no OVS port, veth or lease record.
// Root; needs dockerd, the OVS sandbox (OCN_OVSDB, with ovs-vswitchd) and dnsmasq-base.
import { docker, ensureDocker, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { dhcpLan } from '../helpers/dhcp-lan.js';
import {
  canPingFrom,
  containerIp,
  deleteBridges,
  removeAll,
  runContainer,
  settledLeftovers,
  startPluginProcess,
  vsctl,
} from '../helpers/plugin.js';

async function dhcpKeys(ovsdb: string, owner: string): Promise<string[]> {
  const out = await vsctl(ovsdb, '--format=json', '--columns=external_ids', 'list', 'Open_vSwitch');
  const rows = (JSON.parse(out) as { data: [[string, [string, string][]]][] }).data;
  return (rows[0]?.[0][1] ?? [])
    .map(([k]) => k)
    .filter((k) => k.startsWith('ocn-dhcp-') && k.includes(`-${owner}/`));
}

t.test(
  'docker run on a DHCP network: leased, renewed (also after a plugin SIGKILL), released on rm',
  async (t) => {
    await ensureDocker();
    const p = await startPluginProcess({ orphanGraceSeconds: 30, reconcileIntervalSeconds: 2 });
    const bridge = uniqueName('br');
    const net = uniqueName('nd');
    const containers: string[] = [];
    t.teardown(async () => {
      await removeAll(containers, [net]);
      // The bridge goes even when stop() throws, or it leaks into the next run.
      await p.stop().finally(() => deleteBridges(p.ovsdb, [bridge]));
    });
    await vsctl(p.ovsdb, 'add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=netdev');
    const vlan = 100 + Math.floor(Math.random() * 900);
    // T2 = 8 s: a lost renewal is retransmitted no sooner than 60 s (RFC 2131 §4.4.5); the rebinding at T2
    // makes up for it within the waits below.
    const lan = await dhcpLan(t, { ovsdb: p.ovsdb, bridge, vlan, t1: 4, t2: 8 });

    // No --subnet/--gateway: the plugin learns them from the server.
    await docker([
      'network',
      'create',
      '-d',
      p.name,
      '--ipam-driver',
      p.name,
      '--ipam-opt',
      'mode=dhcp',
      '--ipam-opt',
      `vlan=${vlan}`,
      '--ipam-opt',
      `bridge=${bridge}`,
      net,
    ]);
    const ipam = (await docker(['network', 'inspect', '-f', '{{json .IPAM.Config}}', net])).stdout;
    t.same(
      JSON.parse(ipam),
      [{ Subnet: lan.subnet, Gateway: lan.router }],
      "Docker's subnet and gateway are the LAN's",
    );

    const c = await runContainer(net);
    containers.push(c);
    const ip = await containerIp(c, net);
    const mac = (
      await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").MacAddress}}`, c])
    ).stdout.trim();
    t.match(ip, /^10\.239\.\d+\.\d+$/);
    t.same(
      lan.leases().map((l) => [l.mac, l.ip]),
      [[mac, ip]],
      "dnsmasq's lease file shows the container's MAC and address",
    );
    const acquired = p.logs.find((l) => l.includes('DHCP lease acquired'));
    const fig = acquired ? (JSON.parse(acquired) as { dhcpMs?: number; clientPortMs?: number }) : {};
    t.comment(`RequestAddress: client port ${fig.clientPortMs} ms + DISCOVER…ACK ${fig.dhcpMs} ms`);
    t.ok(await canPingFrom(c, lan.serverIp), 'the container reaches the LAN server');
    const route = (await docker(['exec', c, 'ip', 'route'])).stdout;
    t.match(
      route,
      new RegExp(`default via ${lan.router.replaceAll('.', '\\.')}`),
      "the LAN's router is the default",
    );

    const acks = () =>
      lan.log().match(new RegExp(`DHCPACK\\(lan0\\) ${ip.replaceAll('.', '\\.')} ${mac}`, 'g'))?.length ?? 0;
    const expiry0 = lan.leases()[0]?.expiry ?? 0;
    // A renewal that times out says why: the plugin's DHCP log lines and dnsmasq's last ones.
    const why = (err: unknown): never => {
      const plugin = p.logs.filter((l) => /dhcp/i.test(l)).slice(-12);
      const server = lan.log().trim().split('\n').slice(-12);
      throw new Error(`${String(err)}\nplugin:\n${plugin.join('\n')}\ndnsmasq:\n${server.join('\n')}`);
    };
    await waitFor(() => acks() >= 3, 15_000, 'two renewals (T1 = 4 s)').catch(why);
    await waitFor(() => (lan.leases()[0]?.expiry ?? 0) > expiry0, 3000, 'the lease file expiry to move on');
    t.pass(`renewed while the container runs: ${acks() - 1} renewal(s)`);

    await p.kill('SIGKILL');
    await p.start();
    const before = acks();
    await waitFor(() => acks() >= before + 2, 15_000, 'renewals by the restarted plugin').catch(why);
    t.pass('still renewed after a plugin SIGKILL and restart');
    t.ok(await canPingFrom(c, lan.serverIp), 'and the container still reaches the LAN');

    await docker(['rm', '-f', c]);
    containers.splice(0);
    await waitFor(() => lan.leases().length === 0, 5000, 'the lease to leave the lease file');
    t.match(
      lan.log(),
      new RegExp(`DHCPRELEASE\\(lan0\\) ${ip.replaceAll('.', '\\.')} ${mac}`),
      'DHCPRELEASE on docker rm',
    );
    await docker(['network', 'rm', net]);
    t.same(await dhcpKeys(p.ovsdb, p.name), [], 'no pool or lease record left in OVS');
    t.same(await settledLeftovers(p), [], 'no port or veth of the plugin left');
  },
);

t.test(
  'a DHCP server that does not answer: docker run fails clearly within the bound, nothing left',
  async (t) => {
    await ensureDocker();
    const p = await startPluginProcess({ orphanGraceSeconds: 30, reconcileIntervalSeconds: 2 });
    const bridge = uniqueName('br');
    const net = uniqueName('ns');
    const name = uniqueName('c');
    t.teardown(async () => {
      await removeAll([name], [net]);
      // The bridge goes even when stop() throws, or it leaks into the next run.
      await p.stop().finally(() => deleteBridges(p.ovsdb, [bridge]));
    });
    await vsctl(p.ovsdb, 'add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=netdev');
    const vlan = 100 + Math.floor(Math.random() * 900);
    const lan = await dhcpLan(t, { ovsdb: p.ovsdb, bridge, vlan, dnsmasq: false });
    await docker([
      'network',
      'create',
      '-d',
      p.name,
      '--ipam-driver',
      p.name,
      '--ipam-opt',
      'mode=dhcp',
      '--ipam-opt',
      `vlan=${vlan}`,
      '--ipam-opt',
      `bridge=${bridge}`,
      '--ipam-opt',
      'dhcp_timeout=3',
      '--subnet',
      lan.subnet,
      '--gateway',
      lan.router,
      net,
    ]);
    const t0 = Date.now();
    const r = await docker(
      ['run', '-d', '--name', name, '--network', net, 'local/busybox', 'sleep', '60'],
      true,
    );
    const ms = Date.now() - t0;
    t.not(r.code, 0, 'docker run fails');
    t.match(
      r.stderr,
      /no DHCP server answered on interface .* for MAC [0-9a-f:]{17}: broadcast DHCPDISCOVER got no DHCPOFFER/,
    );
    t.match(r.stderr, new RegExp(`bridge ${bridge} VLAN ${vlan}`));
    t.ok(ms < 10_000, `docker run answered in ${ms} ms (DHCP bound 3 s)`);
    t.same(await dhcpKeys(p.ovsdb, p.name), [`ocn-dhcp-pool-${p.name}/${bridge}/${vlan}`], 'no lease record');
    t.same(await settledLeftovers(p), [], 'no port or veth of the plugin left');
    await docker(['rm', '-f', name], true);
    await docker(['network', 'rm', net]);
    t.same(await dhcpKeys(p.ovsdb, p.name), [], 'the pool went with the network');
  },
);
