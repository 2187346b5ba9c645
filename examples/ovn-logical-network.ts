// Example — an OVN logical network as code: two tiers on two logical switches with DHCP and dynamic
// addresses, a router between them with a default route and SNAT, a load balancer in front of the web
// tier, ACLs on a port group. One typed, atomic OVN_Northbound transaction built by the ovn package's
// builders; running it again changes nothing; --delete takes it all away again.
//
//   tsx examples/ovn-logical-network.ts [--nb unix:/var/run/ovn/ovnnb_db.sock] [--prefix demo] [--delete]

import { type NbPlan, NbSnapshot, nbTransact } from '@ovs-container-network/ovn';
import { OvsdbClient } from '@ovs-container-network/ovsdb';
import { flags, main } from './lib/cli.js';

const opts = flags('usage: tsx examples/ovn-logical-network.ts [--nb EP] [--prefix NAME] [--delete]', {
  nb: { type: 'string', default: 'unix:/var/run/ovn/ovnnb_db.sock' },
  prefix: { type: 'string', default: 'demo' },
  delete: { type: 'boolean', default: false },
});

const p = opts.prefix;
const owner = { owner: 'ovn-logical-network-example', app: p };

/** The whole network; every call is an idempotent "ensure". */
function network(nb: NbPlan): void {
  const tiers = [
    { tier: 'web', net: '10.10.1', mac: '0a:00:00:00:01' },
    { tier: 'db', net: '10.10.2', mac: '0a:00:00:00:02' },
  ];
  nb.ensureRouter({ name: `${p}-lr`, externalIds: owner });
  for (const { tier, net, mac } of tiers) {
    const ls = `${p}-${tier}`;
    nb.ensureSwitch({ name: ls, subnet: `${net}.0/24`, excludeIps: [`${net}.1`], externalIds: owner });
    // The router's leg on this switch: a router port and the switch port of type "router" facing it.
    nb.ensureRouterPort({ router: `${p}-lr`, name: `${ls}-rp`, mac: `${mac}:01`, networks: [`${net}.1/24`] });
    nb.ensureSwitchPort({ switch: ls, name: `${ls}-to-lr`, routerPort: `${ls}-rp` });
    const dhcp = nb.ensureDhcpOptions({
      cidr: `${net}.0/24`,
      options: { server_id: `${net}.1`, server_mac: `${mac}:01`, lease_time: '3600', router: `${net}.1` },
      externalIds: { ...owner, tier },
    });
    // Two workloads per tier: northd picks their addresses from the subnet ("dynamic").
    for (const n of [1, 2]) {
      nb.ensureSwitchPort({
        switch: ls,
        name: `${ls}-vm${n}`,
        addresses: ['dynamic'],
        dhcpv4Options: dhcp,
        externalIds: owner,
      });
    }
  }
  nb.ensureStaticRoute({ router: `${p}-lr`, prefix: '0.0.0.0/0', nexthop: '10.10.0.254' });
  nb.ensureNat({ router: `${p}-lr`, type: 'snat', externalIp: '10.10.0.10', logicalIp: '10.10.0.0/16' });
  nb.ensureLoadBalancer({
    name: `${p}-web-lb`,
    vips: { '10.10.1.100:80': ['10.10.1.11:8080', '10.10.1.12:8080'] },
    healthChecks: [{ vip: '10.10.1.100:80', interval: 5, timeout: 2 }],
    switches: [`${p}-web`],
    routers: [`${p}-lr`],
    externalIds: owner,
  });
  // Only the web tier may reach the database tier, on 5432.
  const pg = `${p.replace(/[^A-Za-z0-9_]/g, '_')}_db_ports`;
  nb.ensurePortGroup({ name: pg, ports: [`${p}-db-vm1`, `${p}-db-vm2`], externalIds: owner });
  nb.ensureAcl({
    parent: { portGroup: pg },
    direction: 'to-lport',
    priority: 1001,
    match: `outport == @${pg} && ip4.src == 10.10.1.0/24 && tcp.dst == 5432`,
    action: 'allow-related',
  });
  nb.ensureAcl({
    parent: { portGroup: pg },
    direction: 'to-lport',
    priority: 1000,
    match: `outport == @${pg} && ip4`,
    action: 'drop',
  });
}

function teardown(nb: NbPlan): void {
  nb.deleteLoadBalancer(`${p}-web-lb`);
  nb.deletePortGroup(`${p.replace(/[^A-Za-z0-9_]/g, '_')}_db_ports`);
  for (const tier of ['web', 'db']) {
    nb.deleteSwitch(`${p}-${tier}`);
    nb.deleteDhcpOptions({
      cidr: tier === 'web' ? '10.10.1.0/24' : '10.10.2.0/24',
      externalIds: { ...owner, tier },
    });
  }
  nb.deleteRouter(`${p}-lr`);
}

main(async () => {
  const client = await OvsdbClient.connect(opts.nb);
  if (opts.delete) {
    const r = await nbTransact(client, teardown);
    console.log(
      `deleted network ${p}: ${r.operations} operations (${r.changed ? 'changed' : 'nothing to delete'})`,
    );
    await client.close();
    return;
  }
  const t0 = performance.now();
  const first = await nbTransact(client, network);
  console.log(
    `ensured network ${p}: ${first.changed ? `${first.operations} operations in one transaction` : 'already in place'}, ` +
      `${(performance.now() - t0).toFixed(1)} ms`,
  );
  const again = await nbTransact(client, network);
  console.log(`ensured again: ${again.changed ? `${again.operations} operations` : 'no change'}`);

  // Read it back (one select transaction of the builder tables).
  const view = await NbSnapshot.load(client);
  for (const tier of ['web', 'db']) {
    const [ls] = view.named('Logical_Switch', `${p}-${tier}`);
    console.log(`switch ${p}-${tier}: subnet ${ls?.other_config.subnet}, ${ls?.ports.length} ports`);
  }
  const [lr] = view.named('Logical_Router', `${p}-lr`);
  console.log(
    `router ${p}-lr: ${lr?.ports.length} ports, ${lr?.static_routes.length} route, ${lr?.nat.length} NAT rule`,
  );
  const [lb] = view.named('Load_Balancer', `${p}-web-lb`);
  console.log(
    `load balancer ${p}-web-lb: ${Object.entries(lb?.vips ?? {})
      .map(([v, b]) => `${v} -> ${b}`)
      .join('; ')}`,
  );
  await client.close();
});
