// Every builder against a real standalone OVN_Northbound ovsdb-server, read back with ovn-nbctl
// (`--format=json list`, `show`): the rows are what was asked for, ensuring again changes nothing, deleting
// leaves nothing behind (and nothing else is touched), bad input changes nothing, several builders commit
// or fail as one transaction, and two writers racing to ensure the same objects never make two.

import {
  type ModelRows,
  OvsdbClient,
  OvsdbSession,
  Replica,
  Transaction,
} from '@ovs-container-network/ovsdb';
import type * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import t from 'tap';
import {
  isRaceLost,
  NbPlan,
  NbSnapshot,
  nbReplicaTables,
  nbTransact,
  OvnInvalidArgumentError,
  OvnTransactionError,
} from '../../src/index.js';
import { counts, type DecodedRow, dump, nbctlList, nbctlShow, startNb } from '../helpers.js';
import { buildAll, DHCP4, OWNER } from '../sequence.js';

const server = await startNb();
t.teardown(() => server.stop());
const db = server.unixEndpoint;
const client = await OvsdbClient.connect(db);
t.teardown(() => client.close());

const byName = (rows: DecodedRow[], name: string) => rows.find((r) => r.name === name);
const ref = (v: unknown) => (v as { uuid: string }).uuid;

t.test('every builder, read back with ovn-nbctl', async (t) => {
  const first = await nbTransact(client, buildAll);
  t.ok(first.changed, 'the network was created in one transaction');
  t.equal(first.attempts, 1);

  const ls = byName(await nbctlList(db, 'Logical_Switch'), 'ls0')!;
  t.same(ls.other_config, { subnet: '10.0.0.0/24', exclude_ips: '10.0.0.1 10.0.0.100..10.0.0.110' });
  t.same(ls.external_ids, OWNER);
  const lsps = await nbctlList(db, 'Logical_Switch_Port');
  t.same(lsps.map((p) => p.name).sort(), ['ls0-lr0', 'ls0-p1', 'ls0-p2', 'ls0-p3'], 'four ports');
  t.equal((ls.ports as unknown[]).length, 4, 'all on ls0');
  const p2 = byName(lsps, 'ls0-p2')!;
  t.equal(p2.addresses, '0a:00:00:00:00:02 10.0.0.2');
  t.equal(p2.port_security, '0a:00:00:00:00:02 10.0.0.2');
  t.equal(byName(lsps, 'ls0-p1')!.addresses, 'dynamic');
  t.same(byName(lsps, 'ls0-p3')!.options, { network_name: 'phys' });
  t.equal(byName(lsps, 'ls0-p3')!.type, 'localnet');
  const rp = byName(lsps, 'ls0-lr0')!;
  t.equal(rp.type, 'router');
  t.equal(rp.addresses, 'router');
  t.same(rp.options, { 'router-port': 'lr0-ls0' });

  const lr = byName(await nbctlList(db, 'Logical_Router'), 'lr0')!;
  t.equal((lr.ports as unknown[]).length, 2);
  const lrps = await nbctlList(db, 'Logical_Router_Port');
  const lrp = byName(lrps, 'lr0-ls0')!;
  t.equal(lrp.mac, '00:00:00:00:ff:01');
  t.equal(lrp.networks, '10.0.0.1/24');
  const gw = (await nbctlList(db, 'Gateway_Chassis'))[0]!;
  t.match(gw, { name: 'lr0-ls0_ch1', chassis_name: 'ch1', priority: 10 });
  t.equal(ref(lrp.gateway_chassis), gw._uuid);

  const routes = await nbctlList(db, 'Logical_Router_Static_Route');
  t.same(
    routes.map((r) => `${r.route_table}|${r.ip_prefix}|${r.nexthop}|${r.policy}`).sort(),
    [
      '|0.0.0.0/0|10.0.0.254|dst-ip',
      '|192.168.0.0/16|10.0.0.252|dst-ip',
      '|192.168.0.0/16|10.0.0.253|dst-ip',
      'rtb1|172.20.0.0/16|10.0.0.251|dst-ip',
    ].sort(),
    'default route, two ECMP next hops, a route in table rtb1',
  );
  const pol = (await nbctlList(db, 'Logical_Router_Policy'))[0]!;
  t.match(pol, { priority: 100, action: 'reroute', nexthops: '10.0.0.250', match: 'ip4.src == 10.0.0.0/24' });

  const nats = await nbctlList(db, 'NAT');
  t.same(
    nats
      .map(
        (n) =>
          `${n.type} ${n.external_ip} ${n.logical_ip} ${JSON.stringify(n.logical_port)} ${JSON.stringify(n.external_mac)}`,
      )
      .sort(),
    [
      'dnat 172.16.0.3 10.0.0.3 [] []',
      'dnat_and_snat 172.16.0.2 10.0.0.2 "ls0-p2" "0a:00:00:00:00:f2"',
      'snat 172.16.0.1 10.0.0.0/24 [] []',
    ],
  );

  const lbs = await nbctlList(db, 'Load_Balancer');
  const lb0 = byName(lbs, 'lb0')!;
  t.same(lb0.vips, { '10.0.0.10:80': '10.0.0.2:8080,10.0.0.3:8080' });
  t.equal(lb0.protocol, 'tcp');
  t.equal(byName(lbs, 'lb1')!.protocol, 'udp');
  const hc = (await nbctlList(db, 'Load_Balancer_Health_Check'))[0]!;
  t.match(hc, { vip: '10.0.0.10:80', options: { interval: '5' } });
  t.equal(ref(lb0.health_check), hc._uuid);
  t.equal(ref(ls.load_balancer), lb0._uuid, 'lb0 on the switch');
  t.equal(ref(lr.load_balancer), lb0._uuid, 'lb0 on the router');

  const pg = (await nbctlList(db, 'Port_Group'))[0]!;
  t.equal(pg.name, 'pg0');
  t.same(
    (pg.ports as { uuid: string }[]).map((p) => p.uuid).sort(),
    lsps
      .filter((p) => p.name === 'ls0-p1' || p.name === 'ls0-p2')
      .map((p) => p._uuid)
      .sort(),
  );
  const acls = await nbctlList(db, 'ACL');
  t.equal(ref(pg.acls), acls.find((a) => a.priority === 1001)!._uuid, 'the port group ACL');
  t.match(
    acls.find((a) => a.priority === 100),
    {
      direction: 'from-lport',
      action: 'drop',
      log: true,
      severity: 'info',
      name: 'no-dns',
      external_ids: OWNER,
    },
  );
  t.equal(ref(ls.acls), acls.find((a) => a.priority === 100)!._uuid, 'the switch ACL');
  t.same((await nbctlList(db, 'Address_Set'))[0]!.addresses, ['10.0.0.2', '10.0.0.3']);

  const dhcp = (await nbctlList(db, 'DHCP_Options'))[0]!;
  t.match(dhcp, { cidr: '10.0.0.0/24', options: DHCP4, external_ids: OWNER });
  t.equal(ref(p2.dhcpv4_options), dhcp._uuid, 'ls0-p2 uses the DHCP options');
  const dns = (await nbctlList(db, 'DNS'))[0]!;
  t.same(dns.records, { 'vm1.example': '10.0.0.2' });
  t.equal(ref(ls.dns_records), dns._uuid);

  const qos = await nbctlList(db, 'QoS');
  t.same(qos.map((q) => [q.priority, q.bandwidth, q.action]).sort(), [
    [100, { burst: 100, rate: 1000 }, {}],
    [200, {}, { dscp: 10 }],
  ]);
  const meter = (await nbctlList(db, 'Meter'))[0]!;
  t.match(meter, { name: 'm0', unit: 'pktps', fair: false });
  t.match((await nbctlList(db, 'Meter_Band'))[0], { rate: 100, burst_size: 10, action: 'drop' });
  const hcg = (await nbctlList(db, 'HA_Chassis_Group'))[0]!;
  t.same((await nbctlList(db, 'HA_Chassis')).map((h) => `${h.chassis_name}:${h.priority}`).sort(), [
    'ch1:20',
    'ch2:10',
  ]);
  t.equal(ref(byName(lrps, 'lr0-ext')!.ha_chassis_group), hcg._uuid);

  const show = await nbctlShow(db);
  t.match(show, /switch [0-9a-f-]+ \(ls0\)/);
  t.match(show, /router-port: lr0-ls0/);
  t.match(show, /nat [0-9a-f-]+\n\s+external ip: "172.16.0.1"/);

  // Same call twice: nothing is sent, and the database is byte-for-byte the same.
  const before = await dump(db);
  const again = await nbTransact(client, buildAll);
  t.equal(again.changed, false, 'the second ensure sends nothing');
  t.same(await dump(db), before, 'and nothing changed');
});

t.test('changing a spec updates only what differs, and merges map keys', async (t) => {
  const r = await nbTransact(client, (nb) => {
    nb.ensureSwitch({ name: 'ls0', subnet: '10.0.0.0/24', excludeIps: null, externalIds: { extra: 'x' } });
    nb.ensureSwitchPort({ switch: 'ls0', name: 'ls0-p1', addresses: ['dynamic'], requestedChassis: 'ch1' });
    nb.ensureStaticRoute({ router: 'lr0', prefix: '0.0.0.0/0', nexthop: '10.0.0.1' });
  });
  t.ok(r.changed);
  const ls = byName(await nbctlList(db, 'Logical_Switch'), 'ls0')!;
  t.same(ls.other_config, { subnet: '10.0.0.0/24' }, 'exclude_ips removed, subnet kept');
  t.same(ls.external_ids, { ...OWNER, extra: 'x' }, 'owner key kept, extra key added');
  t.same(byName(await nbctlList(db, 'Logical_Switch_Port'), 'ls0-p1')!.options, {
    'requested-chassis': 'ch1',
  });
  const def = (await nbctlList(db, 'Logical_Router_Static_Route')).filter((x) => x.ip_prefix === '0.0.0.0/0');
  t.same(
    def.map((x) => x.nexthop),
    ['10.0.0.1'],
    'a non-ECMP route is replaced, not duplicated',
  );
});

t.test('IPv6: prefixes, addresses and VIPs are stored in canonical form', async (t) => {
  await nbTransact(client, (nb) => {
    nb.ensureSwitch({ name: 'v6', ipv6Prefix: 'FD00:1:0:0::/64', macOnly: false });
    nb.ensureSwitchPort({ switch: 'v6', name: 'v6-p', addresses: ['0A:00:00:00:06:01 fd00:1:0:0:0:0:0:5'] });
    nb.ensureLoadBalancer({ name: 'v6-lb', vips: { '[FD00:1::0:10]:80': ['[fd00:1::5]:8080'] } });
  });
  t.same(byName(await nbctlList(db, 'Logical_Switch'), 'v6')!.other_config, {
    ipv6_prefix: 'fd00:1::/64',
    mac_only: 'false',
  });
  t.equal(
    byName(await nbctlList(db, 'Logical_Switch_Port'), 'v6-p')!.addresses,
    '0a:00:00:00:06:01 fd00:1::5',
  );
  t.same(byName(await nbctlList(db, 'Load_Balancer'), 'v6-lb')!.vips, {
    '[fd00:1::10]:80': '[fd00:1::5]:8080',
  });
  const again = await nbTransact(client, (nb) => {
    nb.ensureSwitch({ name: 'v6', ipv6Prefix: 'fd00:1::/64', macOnly: false });
    nb.ensureSwitchPort({ switch: 'v6', name: 'v6-p', addresses: ['0a:00:00:00:06:01 FD00:1::5'] });
  });
  t.equal(again.changed, false, 'other spellings of the same addresses change nothing');
  await nbTransact(client, (nb) => {
    nb.deleteSwitch('v6');
    nb.deleteLoadBalancer('v6-lb');
  });
});

t.test('bad input names the field, the value and what is allowed, and sends nothing', async (t) => {
  const before = await dump(db);
  const bad: [string, (nb: NbPlan) => void, RegExp][] = [
    [
      'mac',
      (nb) => nb.ensureRouterPort({ router: 'lr0', name: 'x', mac: '00:11', networks: ['10.9.0.1/24'] }),
      /invalid LogicalRouterPort\.mac: "00:11" \(allowed: a MAC address/,
    ],
    [
      'cidr',
      (nb) => nb.ensureSwitch({ name: 'x', subnet: '10.0.0.1/24' }),
      /invalid LogicalSwitch\.subnet: "10\.0\.0\.1\/24" \(allowed: an IPv4 prefix .* no host bits/,
    ],
    [
      'priority',
      (nb) =>
        nb.ensureAcl({
          parent: { switch: 'ls0' },
          direction: 'to-lport',
          priority: 40000,
          match: 'ip4',
          action: 'drop',
        }),
      /invalid ACL\.priority: 40000 \(allowed: an integer 0\.\.32767\)/,
    ],
    [
      'port',
      (nb) => nb.ensureLoadBalancer({ name: 'x', vips: { '10.0.0.1:70000': ['10.0.0.2:80'] } }),
      /invalid LoadBalancer\.vips key: "10\.0\.0\.1:70000"/,
    ],
    ['name', (nb) => nb.ensureSwitch({ name: 'has space' }), /invalid LogicalSwitch\.name: "has space"/],
    [
      'tag',
      (nb) => nb.ensureSwitchPort({ switch: 'ls0', name: 'c1', parent: { name: 'ls0-p1', tag: 5000 } }),
      /invalid LogicalSwitchPort\.parent\.tag: 5000 \(allowed: an integer 0\.\.4095\)/,
    ],
    [
      'unknown option',
      (nb) => nb.ensureSwitch({ name: 'x', subnett: '10.0.0.0/24' } as never),
      /invalid LogicalSwitch\.subnett/,
    ],
    [
      'family',
      (nb) => nb.ensureNat({ router: 'lr0', type: 'snat', externalIp: '172.16.0.9', logicalIp: 'fd00::/64' }),
      /invalid NAT\.logicalIp/,
    ],
  ];
  for (const [what, build, message] of bad) {
    const err = await nbTransact(client, (nb) => {
      nb.ensureSwitch({ name: 'would-be-made' });
      build(nb);
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof OvnInvalidArgumentError, `${what}: OvnInvalidArgumentError`);
    t.match((err as Error).message, message, `${what}: ${(err as Error).message}`);
  }
  t.same(await dump(db), before, 'nothing changed');
});

t.test('several builders are one transaction: a server-side failure commits none of them', async (t) => {
  const before = await dump(db);
  // ha_chassis_group is a strong reference from lr0-ext: deleting the group fails referential integrity.
  await t.rejects(
    nbTransact(client, (nb) => {
      nb.ensureSwitch({ name: 'atomic-ls' });
      nb.ensureSwitchPort({ switch: 'atomic-ls', name: 'atomic-p' });
      nb.deleteHaChassisGroup('hcg0');
    }),
    OvnTransactionError,
  );
  t.same(await dump(db), before, 'the new switch and port were not committed');
});

t.test('two writers racing to ensure the same objects make one of each', async (t) => {
  const other = await OvsdbClient.connect(db);
  t.teardown(() => other.close());
  for (let round = 0; round < 5; round++) {
    const build = (nb: NbPlan) => {
      nb.ensureSwitch({ name: `race-${round}`, externalIds: OWNER });
      nb.ensureSwitchPort({ switch: `race-${round}`, name: `race-${round}-p` });
      nb.ensureNat({
        router: 'lr0',
        type: 'dnat',
        externalIp: '172.16.1.1',
        logicalIp: `10.0.1.${round + 1}`,
      });
      nb.ensureAcl({
        parent: { switch: 'ls0' },
        direction: 'to-lport',
        priority: 10 + round,
        match: 'ip6',
        action: 'allow',
      });
      nb.ensureDhcpOptions({ cidr: `10.${round + 10}.0.0/24`, options: DHCP4, externalIds: OWNER });
    };
    // Both read before either writes: each builds from the same snapshot, so one of them must lose a guard.
    const [va, vb] = await Promise.all([NbSnapshot.load(client), NbSnapshot.load(other)]);
    const ta = new Transaction('OVN_Northbound');
    const tb = new Transaction('OVN_Northbound');
    build(new NbPlan(ta, va));
    build(new NbPlan(tb, vb));
    const results = await Promise.allSettled([ta.execute(client), tb.execute(other)]);
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}: exactly one commits`);
    // nbTransact retries the loser, which then finds everything in place.
    const retry = await nbTransact(other, build);
    t.equal(retry.changed, false, `round ${round}: the retry finds nothing to do`);
  }
  const d = await dump(db);
  const names = (table: string) => (d.get(table) ?? []).map((r) => r.name);
  for (let round = 0; round < 5; round++) {
    t.equal(names('Logical_Switch').filter((n) => n === `race-${round}`).length, 1);
  }
  t.equal((d.get('NAT') ?? []).filter((n) => n.external_ip === '172.16.1.1').length, 5, 'one NAT per round');
  t.equal((d.get('ACL') ?? []).filter((a) => a.match === 'ip6').length, 5, 'one ACL per round');
  t.equal((d.get('DHCP_Options') ?? []).length, 6, 'one DHCP_Options per round (plus the first)');

  // A port on an existing switch has no absence guard: the unique index on Logical_Switch_Port.name refuses
  // the second insert at commit ("constraint violation"), and that counts as a lost race too.
  {
    const build = (nb: NbPlan) =>
      nb.ensureSwitchPort({ switch: 'ls0', name: 'race-lsp', addresses: ['dynamic'] });
    const [va, vb] = await Promise.all([NbSnapshot.load(client), NbSnapshot.load(other)]);
    const ta = new Transaction('OVN_Northbound');
    const tb = new Transaction('OVN_Northbound');
    build(new NbPlan(ta, va));
    build(new NbPlan(tb, vb));
    const results = await Promise.allSettled([ta.execute(client), tb.execute(other)]);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    t.ok(lost, 'one of the two inserts is refused');
    t.ok(isRaceLost(lost?.reason), `and counts as a lost race: ${(lost?.reason as Error)?.message}`);
    t.equal((await nbTransact(other, build)).changed, false, 'the retry finds the port');
  }

  // And concurrently through nbTransact itself: all resolve, one object each.
  await Promise.all(
    [client, other, client, other].map((c) =>
      nbTransact(c, (nb) => {
        nb.ensureLoadBalancer({
          name: 'race-lb',
          vips: { '10.0.9.1:80': ['10.0.0.2:80'] },
          switches: ['ls0'],
        });
        nb.ensureRouter({ name: 'race-lr' });
      }),
    ),
  );
  const d2 = await dump(db);
  t.equal((d2.get('Load_Balancer') ?? []).filter((r) => r.name === 'race-lb').length, 1);
  t.equal((d2.get('Logical_Router') ?? []).filter((r) => r.name === 'race-lr').length, 1);
});

t.test('a live replica as the view', async (t) => {
  const session = new OvsdbSession({ remotes: db, database: 'OVN_Northbound' });
  const replica = Replica.start<ModelRows<typeof NB.model>>(session, { tables: nbReplicaTables() });
  t.teardown(async () => {
    await replica.close();
    await session.close();
  });
  await replica.ready;
  const build = (nb: NbPlan) => {
    nb.ensureSwitch({ name: 'replica-ls' });
    nb.ensureSwitchPort({
      switch: 'replica-ls',
      name: 'replica-p',
      addresses: ['0a:00:00:00:01:01 10.1.0.5'],
    });
  };
  const r1 = await nbTransact(replica, build);
  t.ok(r1.changed);
  t.match(r1.value, undefined);
  // The replica sees our own change before the reply (updates precede the reply on a connection).
  const r2 = await nbTransact(replica, build);
  t.equal(r2.changed, false, 'ensuring again from the replica changes nothing');
  // Another writer deletes the port behind the replica's back; a fresh ensure re-creates it.
  await nbTransact(client, (nb) => nb.deleteSwitchPort('replica-p'));
  const r3 = await nbTransact(replica, build, { fresh: true });
  t.ok(r3.changed);
  t.ok(byName(await nbctlList(db, 'Logical_Switch_Port'), 'replica-p'));
});

t.test('two replicas racing: the loser catches up (one echo) and finds the object', async (t) => {
  const start = () => {
    const session = new OvsdbSession({ remotes: db, database: 'OVN_Northbound' });
    const replica = Replica.start<ModelRows<typeof NB.model>>(session, { tables: nbReplicaTables() });
    t.teardown(async () => {
      await replica.close();
      await session.close();
    });
    return replica;
  };
  const [ra, rb] = [start(), start()];
  await Promise.all([ra.ready, rb.ready]);
  for (let round = 0; round < 5; round++) {
    const build = (nb: NbPlan) => {
      nb.ensureSwitch({ name: `rr-${round}` });
      nb.ensureAcl({
        parent: { switch: 'ls0' },
        direction: 'from-lport',
        priority: 20 + round,
        match: 'ip6',
        action: 'drop',
      });
    };
    const [a, b] = await Promise.all([nbTransact(ra, build), nbTransact(rb, build)]);
    t.equal([a, b].filter((r) => r.changed).length, 1, `round ${round}: one of them made the objects`);
    t.ok(
      a.attempts + b.attempts >= 3,
      `round ${round}: the other needed a second attempt (${a.attempts}+${b.attempts})`,
    );
  }
  const d = await dump(db);
  for (let round = 0; round < 5; round++) {
    t.equal((d.get('Logical_Switch') ?? []).filter((r) => r.name === `rr-${round}`).length, 1);
    t.equal((d.get('ACL') ?? []).filter((a) => a.priority === 20 + round && a.match === 'ip6').length, 1);
  }
});

t.test('each delete removes what its ensure made, and nothing else', async (t) => {
  const base = counts(await dump(db));
  const steps: [string, (nb: NbPlan) => unknown, Record<string, number>][] = [
    [
      'nat',
      (nb) =>
        nb.deleteNat({ router: 'lr0', type: 'snat', externalIp: '172.16.0.1', logicalIp: '10.0.0.0/24' }),
      { NAT: -1 },
    ],
    [
      'ecmp route',
      (nb) => nb.deleteStaticRoute({ router: 'lr0', prefix: '192.168.0.0/16', nexthop: '10.0.0.252' }),
      { Logical_Router_Static_Route: -1 },
    ],
    [
      'policy',
      (nb) => nb.deleteRouterPolicy({ router: 'lr0', priority: 100, match: 'ip4.src == 10.0.0.0/24' }),
      { Logical_Router_Policy: -1 },
    ],
    [
      'gateway chassis',
      (nb) => nb.deleteGatewayChassis({ routerPort: 'lr0-ls0', chassis: 'ch1' }),
      { Gateway_Chassis: -1 },
    ],
    [
      'health check',
      (nb) => nb.deleteHealthCheck({ loadBalancer: 'lb0', vip: '10.0.0.10:80' }),
      { Load_Balancer_Health_Check: -1 },
    ],
    [
      'qos',
      (nb) => nb.deleteQos({ switch: 'ls0', direction: 'to-lport', priority: 200, match: 'ip4' }),
      { QoS: -1 },
    ],
    [
      'acl',
      (nb) =>
        nb.deleteAcl({
          parent: { portGroup: 'pg0' },
          direction: 'to-lport',
          priority: 1001,
          match: 'outport == @pg0 && ip4',
        }),
      { ACL: -1 },
    ],
    ['port', (nb) => nb.deleteSwitchPort('ls0-p3'), { Logical_Switch_Port: -1 }],
    ['meter', (nb) => nb.deleteMeter('m0'), { Meter: -1, Meter_Band: -1 }],
    ['dns', (nb) => nb.deleteDns({ externalIds: OWNER }), { DNS: -1 }],
    ['dhcp', (nb) => nb.deleteDhcpOptions({ cidr: '10.0.0.0/24', externalIds: OWNER }), { DHCP_Options: -1 }],
    ['address set', (nb) => nb.deleteAddressSet('as0'), { Address_Set: -1 }],
    ['lb', (nb) => nb.deleteLoadBalancer('lb1'), { Load_Balancer: -1 }],
  ];
  let expected = { ...base };
  for (const [what, del, delta] of steps) {
    await nbTransact(client, del);
    for (const [k, d] of Object.entries(delta)) expected[k] = (expected[k] ?? 0) + d;
    expected = Object.fromEntries(Object.entries(expected).filter(([, n]) => n > 0));
    t.same(counts(await dump(db)), expected, `delete ${what}: exactly its rows are gone`);
    const again = await nbTransact(client, del);
    t.equal(again.changed, false, `delete ${what} twice: nothing more to do`);
  }
  // The rest: routers, switches, groups. Then the database is empty.
  await nbTransact(client, (nb) => {
    nb.deleteRouterPort('lr0-ext');
    nb.deleteHaChassisGroup('hcg0');
    for (const r of ['lr0', 'race-lr']) nb.deleteRouter(r);
    for (const lb of ['lb0', 'race-lb']) nb.deleteLoadBalancer(lb);
    nb.deletePortGroup('pg0');
    for (const s of ['ls0', 'replica-ls']) nb.deleteSwitch(s);
    for (let round = 0; round < 5; round++) {
      nb.deleteSwitch(`race-${round}`);
      nb.deleteSwitch(`rr-${round}`);
    }
    for (let round = 0; round < 5; round++)
      nb.deleteDhcpOptions({ cidr: `10.${round + 10}.0.0/24`, externalIds: OWNER });
  });
  t.same(counts(await dump(db)), {}, 'nothing is left');
});
