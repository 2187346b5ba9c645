// The logical network the integration and differential tests build: every builder once or more, in the
// steps `ovsdbapp-sequence.py` replays through ovsdbapp's NB API. Each step is one transaction.

import type { NbPlan } from '../src/index.js';

export const OWNER = { owner: 'ovn-test' } as const;

export const DHCP4 = {
  server_id: '10.0.0.1',
  server_mac: '00:00:00:00:ff:01',
  lease_time: '3600',
  router: '10.0.0.1',
} as const;

export const STEPS: readonly ((nb: NbPlan) => void)[] = [
  (nb) => {
    nb.ensureSwitch({
      name: 'ls0',
      subnet: '10.0.0.0/24',
      excludeIps: ['10.0.0.1', '10.0.0.100..10.0.0.110'],
      externalIds: OWNER,
    });
    nb.ensureSwitchPort({ switch: 'ls0', name: 'ls0-p1', addresses: ['dynamic'], externalIds: OWNER });
    nb.ensureSwitchPort({
      switch: 'ls0',
      name: 'ls0-p2',
      addresses: [{ mac: '0a:00:00:00:00:02', ips: ['10.0.0.2'] }],
      portSecurity: [{ mac: '0a:00:00:00:00:02', ips: ['10.0.0.2'] }],
    });
    nb.ensureSwitchPort({
      switch: 'ls0',
      name: 'ls0-p3',
      addresses: ['unknown'],
      type: 'localnet',
      options: { network_name: 'phys' },
    });
  },
  (nb) => {
    nb.ensureRouter({ name: 'lr0', externalIds: OWNER });
    nb.ensureRouterPort({
      router: 'lr0',
      name: 'lr0-ls0',
      mac: '00:00:00:00:ff:01',
      networks: ['10.0.0.1/24'],
    });
    nb.ensureSwitchPort({ switch: 'ls0', name: 'ls0-lr0', routerPort: 'lr0-ls0' });
    // ovsdbapp names gateway chassis PORT_CHASSIS; ovn-nbctl (our default) PORT-CHASSIS.
    nb.ensureGatewayChassis({ routerPort: 'lr0-ls0', chassis: 'ch1', priority: 10, name: 'lr0-ls0_ch1' });
  },
  (nb) => {
    nb.ensureStaticRoute({ router: 'lr0', prefix: '0.0.0.0/0', nexthop: '10.0.0.254' });
    nb.ensureStaticRoute({ router: 'lr0', prefix: '192.168.0.0/16', nexthop: '10.0.0.253', ecmp: true });
    nb.ensureStaticRoute({ router: 'lr0', prefix: '192.168.0.0/16', nexthop: '10.0.0.252', ecmp: true });
    nb.ensureStaticRoute({
      router: 'lr0',
      prefix: '172.20.0.0/16',
      nexthop: '10.0.0.251',
      routeTable: 'rtb1',
    });
    nb.ensureRouterPolicy({
      router: 'lr0',
      priority: 100,
      match: 'ip4.src == 10.0.0.0/24',
      action: 'reroute',
      nexthops: ['10.0.0.250'],
    });
  },
  (nb) => {
    nb.ensureNat({ router: 'lr0', type: 'snat', externalIp: '172.16.0.1', logicalIp: '10.0.0.0/24' });
    nb.ensureNat({
      router: 'lr0',
      type: 'dnat_and_snat',
      externalIp: '172.16.0.2',
      logicalIp: '10.0.0.2',
      logicalPort: 'ls0-p2',
      externalMac: '0a:00:00:00:00:f2',
    });
    nb.ensureNat({ router: 'lr0', type: 'dnat', externalIp: '172.16.0.3', logicalIp: '10.0.0.3' });
  },
  (nb) => {
    nb.ensureLoadBalancer({
      name: 'lb0',
      vips: { '10.0.0.10:80': ['10.0.0.2:8080', '10.0.0.3:8080'] },
      healthChecks: [{ vip: '10.0.0.10:80', interval: 5 }],
      switches: ['ls0'],
      routers: ['lr0'],
    });
    nb.ensureLoadBalancer({ name: 'lb1', vips: { '10.0.0.11:53': ['10.0.0.2:5353'] }, protocol: 'udp' });
  },
  (nb) => {
    nb.ensurePortGroup({ name: 'pg0' });
    nb.addPortGroupPorts({ portGroup: 'pg0', ports: ['ls0-p1', 'ls0-p2'] });
    nb.ensureAcl({
      parent: { portGroup: 'pg0' },
      direction: 'to-lport',
      priority: 1001,
      match: 'outport == @pg0 && ip4',
      action: 'allow-related',
    });
    nb.ensureAcl({
      parent: { switch: 'ls0' },
      direction: 'from-lport',
      priority: 100,
      match: 'ip4.dst == 8.8.8.8',
      action: 'drop',
      log: true,
      severity: 'info',
      name: 'no-dns',
      externalIds: OWNER,
    });
    nb.ensureAddressSet({ name: 'as0', addresses: ['10.0.0.2', '10.0.0.3'] });
  },
  (nb) => {
    const dhcp = nb.ensureDhcpOptions({ cidr: '10.0.0.0/24', options: DHCP4, externalIds: OWNER });
    nb.ensureSwitchPort({ switch: 'ls0', name: 'ls0-p2', dhcpv4Options: dhcp });
    nb.ensureDns({ externalIds: OWNER, records: { 'vm1.example': ['10.0.0.2'] }, switches: ['ls0'] });
  },
  (nb) => {
    nb.ensureQos({
      switch: 'ls0',
      direction: 'from-lport',
      priority: 100,
      match: 'inport == "ls0-p1"',
      rate: 1000,
      burst: 100,
    });
    nb.ensureQos({ switch: 'ls0', direction: 'to-lport', priority: 200, match: 'ip4', dscp: 10 });
    nb.ensureMeter({ name: 'm0', unit: 'pktps', bands: [{ rate: 100, burstSize: 10 }], fair: false });
  },
  (nb) => {
    nb.ensureHaChassisGroup({
      name: 'hcg0',
      chassis: [
        { chassis: 'ch1', priority: 20 },
        { chassis: 'ch2', priority: 10 },
      ],
    });
    nb.ensureRouterPort({
      router: 'lr0',
      name: 'lr0-ext',
      mac: '00:00:00:00:ff:02',
      networks: ['172.16.0.254/24'],
      haChassisGroup: 'hcg0',
    });
  },
];

/** All steps in one plan (one atomic transaction). */
export function buildAll(nb: NbPlan): void {
  for (const step of STEPS) step(nb);
}

/** Deletions and updates after STEPS, in one transaction (`ovsdbapp-sequence.py --changes` replays them). */
export function CHANGES(nb: NbPlan): void {
  nb.deleteSwitchPort('ls0-p3');
  nb.deleteNat({ router: 'lr0', type: 'dnat', externalIp: '172.16.0.3', logicalIp: '10.0.0.3' });
  nb.deleteStaticRoute({ router: 'lr0', prefix: '0.0.0.0/0' });
  nb.deleteRouterPolicy({ router: 'lr0', priority: 100, match: 'ip4.src == 10.0.0.0/24' });
  nb.deleteAcl({
    parent: { portGroup: 'pg0' },
    direction: 'to-lport',
    priority: 1001,
    match: 'outport == @pg0 && ip4',
  });
  nb.deleteQos({ switch: 'ls0', direction: 'to-lport', priority: 200, match: 'ip4' });
  nb.deleteLoadBalancer('lb1');
  nb.deleteMeter('m0');
  nb.ensureHaChassisGroup({ name: 'hcg0', chassis: [{ chassis: 'ch1', priority: 20 }] });
  nb.deleteGatewayChassis({ routerPort: 'lr0-ls0', chassis: 'ch1' });
  nb.deleteHealthCheck({ loadBalancer: 'lb0', vip: '10.0.0.10:80' });
  nb.detachLoadBalancer({ loadBalancer: 'lb0', switches: ['ls0'] });
  nb.removePortGroupPorts({ portGroup: 'pg0', ports: ['ls0-p1'] });
  nb.removeAddresses({ addressSet: 'as0', addresses: ['10.0.0.3'] });
  nb.ensureSwitchPort({ switch: 'ls0', name: 'ls0-p1', addresses: ['0a:00:00:00:00:05 10.0.0.5'] });
  nb.deleteDns({ externalIds: OWNER });
}
