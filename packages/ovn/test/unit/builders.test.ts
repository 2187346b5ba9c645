// The operations each builder emits (pure: a snapshot view and a Transaction, no server), and input checks.
import { decodeTableRow, Transaction } from '@ovs-container-network/ovsdb';
import * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import t from 'tap';
import {
  NbPlan,
  NbSnapshot,
  OvnConflictError,
  OvnInvalidArgumentError,
  OvnNotFoundError,
} from '../../src/index.js';

const U = {
  ls: '11111111-0000-4000-8000-000000000001',
  lsp: '11111111-0000-4000-8000-000000000002',
  lr: '11111111-0000-4000-8000-000000000003',
  nat: '11111111-0000-4000-8000-000000000004',
  ls2: '11111111-0000-4000-8000-000000000005',
};

/** A snapshot holding one switch with one port and one router with one SNAT rule. */
function view() {
  const ls = decodeTableRow(
    NB.Logical_Switch,
    { name: 'ls0', ports: ['uuid', U.lsp], external_ids: ['map', [['owner', 'a']]] },
    U.ls,
  );
  const ls2 = decodeTableRow(NB.Logical_Switch, { name: 'ls1' }, U.ls2);
  const lsp = decodeTableRow(NB.Logical_Switch_Port, { name: 'p1', addresses: 'dynamic' }, U.lsp);
  const lr = decodeTableRow(NB.Logical_Router, { name: 'lr0', nat: ['uuid', U.nat] }, U.lr);
  const nat = decodeTableRow(
    NB.NAT,
    { type: 'snat', external_ip: '172.16.0.1', logical_ip: '10.0.0.0/24' },
    U.nat,
  );
  return new NbSnapshot({
    Logical_Switch: [ls, ls2],
    Logical_Switch_Port: [lsp],
    Logical_Router: [lr],
    NAT: [nat],
  });
}

function plan() {
  const txn = new Transaction('OVN_Northbound');
  return { txn, nb: new NbPlan(txn, view()) };
}

t.test('ensure of a missing switch: an absence guard on its name, then the insert', async (t) => {
  const { txn, nb } = plan();
  nb.ensureSwitch({ name: 'new', subnet: '10.1.0.0/24', externalIds: { owner: 'me' } });
  t.same(txn.toWire(), [
    {
      op: 'wait',
      table: 'Logical_Switch',
      where: [['name', '==', 'new']],
      columns: ['name'],
      until: '==',
      rows: [],
      timeout: 0,
    },
    {
      op: 'insert',
      table: 'Logical_Switch',
      row: {
        name: 'new',
        other_config: ['map', [['subnet', '10.1.0.0/24']]],
        external_ids: ['map', [['owner', 'me']]],
      },
      'uuid-name': 'row1',
    },
  ]);
  t.same(nb.stats, { changes: 1, guards: 1 });
});

t.test('ensure of an existing switch that already matches emits nothing', async (t) => {
  const { txn, nb } = plan();
  t.equal(nb.ensureSwitch({ name: 'ls0', externalIds: { owner: 'a' } }), U.ls, 'returns the existing uuid');
  t.same(txn.toWire(), []);
});

t.test('a changed map key: an existence guard, then one mutate deleting and inserting the key', async (t) => {
  const { txn, nb } = plan();
  nb.ensureSwitch({ name: 'ls0', externalIds: { owner: 'b', gone: null } });
  t.same(txn.toWire(), [
    {
      op: 'wait',
      table: 'Logical_Switch',
      where: [['_uuid', '==', ['uuid', U.ls]]],
      columns: ['name'],
      until: '==',
      rows: [{ name: 'ls0' }],
      timeout: 0,
    },
    {
      op: 'mutate',
      table: 'Logical_Switch',
      where: [['_uuid', '==', ['uuid', U.ls]]],
      mutations: [
        ['external_ids', 'delete', 'owner'],
        ['external_ids', 'insert', ['map', [['owner', 'b']]]],
      ],
    },
  ]);
});

t.test('a port on an existing switch: insert, existence guard on the switch, set insert', async (t) => {
  const { txn, nb } = plan();
  nb.ensureSwitchPort({
    switch: 'ls0',
    name: 'p2',
    addresses: [{ mac: '0A:00:00:00:00:02', ips: ['10.0.0.2'] }],
    portSecurity: ['0a:00:00:00:00:02 10.0.0.2/32'],
  });
  t.same(txn.toWire(), [
    {
      op: 'insert',
      table: 'Logical_Switch_Port',
      row: {
        name: 'p2',
        addresses: '0a:00:00:00:00:02 10.0.0.2',
        port_security: '0a:00:00:00:00:02 10.0.0.2/32',
      },
      'uuid-name': 'row0',
    },
    {
      op: 'wait',
      table: 'Logical_Switch',
      where: [['_uuid', '==', ['uuid', U.ls]]],
      columns: ['name'],
      until: '==',
      rows: [{ name: 'ls0' }],
      timeout: 0,
    },
    {
      op: 'mutate',
      table: 'Logical_Switch',
      where: [['_uuid', '==', ['uuid', U.ls]]],
      mutations: [['ports', 'insert', ['named-uuid', 'row0']]],
    },
  ]);
});

t.test(
  'a batch of ports on one switch: each added once, found again by name, view set untouched',
  async (t) => {
    const snap = view();
    const viewPorts = snap.get('Logical_Switch', U.ls)?.ports;
    const txn = new Transaction('OVN_Northbound');
    const nb = new NbPlan(txn, snap);
    const refs = [];
    for (let i = 0; i < 50; i++) refs.push(nb.ensureSwitchPort({ switch: 'ls0', name: `b${i}` }));
    const ops = txn.operations.length;
    t.equal(ops, 50 + 1 + 50, '50 inserts, one existence guard on the switch, 50 set inserts');
    // Again, in the same plan: every port is found among this plan's inserts and already on the switch.
    for (let i = 0; i < 50; i++) t.equal(nb.ensureSwitchPort({ switch: 'ls0', name: `b${i}` }), refs[i]);
    // The port that existed before is found in the view's set (a uuid member).
    t.equal(nb.ensureSwitchPort({ switch: 'ls0', name: 'p1' }), U.lsp);
    t.equal(txn.operations.length, ops, 'nothing more was added');
    const sw = nb.one('Logical_Switch', 'ls0');
    t.same(
      sw?.row.ports,
      [U.lsp, ...refs],
      "the plan's view of the set: the view's member, then each new port once",
    );
    t.same(viewPorts, [U.lsp], "the view's own array is unchanged");
    // Removing one and adding it back goes through the set again.
    t.equal(nb.deleteSwitchPort('b7'), true);
    t.equal(nb.one('Logical_Switch_Port', 'b7'), undefined, 'a deleted insert is no longer found by name');
    nb.ensureSwitchPort({ switch: 'ls0', name: 'b7' });
    t.equal(
      ((nb.one('Logical_Switch', 'ls0')?.row.ports ?? []) as unknown[]).length,
      51,
      'the port is back, once',
    );
  },
);

t.test('composed in one plan: a port on a switch inserted earlier refers to it by named-uuid', async (t) => {
  const { txn, nb } = plan();
  nb.ensureSwitch({ name: 'fresh' });
  nb.ensureSwitchPort({
    switch: 'fresh',
    name: 'fp',
    addresses: ['router'],
    type: 'router',
    options: { 'router-port': 'x' },
  });
  nb.ensureSwitchPort({
    switch: 'fresh',
    name: 'fp',
    addresses: ['router'],
    type: 'router',
    options: { 'router-port': 'x' },
  });
  const ops = txn.toWire();
  t.same(
    ops.map((o) => (o as { op: string }).op),
    ['wait', 'insert', 'insert', 'mutate'],
    'the second identical ensure adds nothing; a new parent needs no existence guard',
  );
  t.same((ops[3] as { where: unknown }).where, [['_uuid', '==', ['named-uuid', 'row1']]]);
});

t.test('a NAT rule: verify the router set read, insert, add; the same rule again is found', async (t) => {
  const { txn, nb } = plan();
  t.equal(
    nb.ensureNat({ router: 'lr0', type: 'snat', externalIp: '172.16.0.1', logicalIp: '10.0.0.0/24' }),
    U.nat,
  );
  t.same(txn.toWire(), [], 'existing rule: nothing');
  nb.ensureNat({ router: 'lr0', type: 'dnat_and_snat', externalIp: '172.16.0.2', logicalIp: '10.0.0.2' });
  const ops = txn.toWire() as { op: string; columns?: string[]; rows?: unknown }[];
  t.same(
    ops.map((o) => o.op),
    ['wait', 'insert', 'mutate'],
  );
  t.same(ops[0]?.columns, ['nat']);
  t.same(ops[0]?.rows, [{ nat: ['uuid', U.nat] }], 'the set as read');
  // A second new rule in the same plan verifies the set as it is at that point of the transaction.
  nb.ensureNat({ router: 'lr0', type: 'dnat', externalIp: '172.16.0.3', logicalIp: '10.0.0.3' });
  const all = txn.toWire() as { op: string; rows?: { nat?: unknown }[] }[];
  t.same(
    all.map((o) => o.op),
    ['wait', 'insert', 'mutate', 'wait', 'insert', 'mutate'],
  );
  t.same(all[3]?.rows?.[0]?.nat, [
    'set',
    [
      ['uuid', U.nat],
      ['named-uuid', 'row1'],
    ],
  ]);
});

t.test(
  'deletes: a non-root row leaves its parent set; a root row is deleted; absent is a no-op',
  async (t) => {
    const { txn, nb } = plan();
    t.equal(nb.deleteSwitchPort('p1'), true);
    t.equal(nb.deleteSwitchPort('p1'), false, 'already gone in this plan');
    t.equal(
      nb.deleteNat({ router: 'lr0', type: 'snat', externalIp: '172.16.0.1', logicalIp: '10.0.0.0/24' }),
      true,
    );
    t.equal(nb.deleteSwitch('ls1'), true);
    t.equal(nb.deleteSwitch('nope'), false);
    t.same(txn.toWire(), [
      {
        op: 'mutate',
        table: 'Logical_Switch',
        where: [['_uuid', '==', ['uuid', U.ls]]],
        mutations: [['ports', 'delete', ['uuid', U.lsp]]],
      },
      {
        op: 'mutate',
        table: 'Logical_Router',
        where: [['_uuid', '==', ['uuid', U.lr]]],
        mutations: [['nat', 'delete', ['uuid', U.nat]]],
      },
      { op: 'delete', table: 'Logical_Switch', where: [['_uuid', '==', ['uuid', U.ls2]]] },
    ]);
  },
);

t.test('static routes: ECMP keeps next hops apart; without it a new next hop replaces the old', async (t) => {
  const { txn, nb } = plan();
  nb.ensureStaticRoute({ router: 'lr0', prefix: '10.9.0.5/16', nexthop: '10.0.0.1', ecmp: true });
  nb.ensureStaticRoute({ router: 'lr0', prefix: '10.9.0.0/16', nexthop: '10.0.0.2', ecmp: true });
  const inserts = txn.toWire().filter((o) => (o as { op: string }).op === 'insert') as {
    row: Record<string, unknown>;
  }[];
  t.same(
    inserts.map((i) => [i.row.ip_prefix, i.row.nexthop]),
    [
      ['10.9.0.0/16', '10.0.0.1'],
      ['10.9.0.0/16', '10.0.0.2'],
    ],
    'host bits cleared as ovn-nbctl does',
  );
  t.throws(
    () => nb.ensureStaticRoute({ router: 'lr0', prefix: '10.9.0.0/16', nexthop: '10.0.0.3' }),
    OvnConflictError,
  );
  const { txn: t2, nb: nb2 } = plan();
  nb2.ensureStaticRoute({ router: 'lr0', prefix: '10.8.0.0/16', nexthop: '10.0.0.1' });
  nb2.ensureStaticRoute({ router: 'lr0', prefix: '10.8.0.0/16', nexthop: '10.0.0.2' });
  t.same(
    t2.toWire().map((o) => (o as { op: string }).op),
    ['wait', 'insert', 'mutate', 'update'],
    'the second call updates the nexthop of the route the first inserted',
  );
});

t.test('references that do not exist, and ports on another switch, are refused before sending', async (t) => {
  const { txn, nb } = plan();
  t.throws(() => nb.ensureSwitchPort({ switch: 'missing', name: 'x' }), OvnNotFoundError);
  t.throws(() => nb.ensureSwitchPort({ switch: 'ls1', name: 'p1' }), {
    message: /exists on switch "ls0", not "ls1"/,
  });
  t.throws(
    () =>
      nb.ensureAcl({
        parent: { portGroup: 'pg' },
        direction: 'to-lport',
        priority: 1,
        match: 'ip',
        action: 'drop',
      }),
    OvnNotFoundError,
  );
  t.same(txn.toWire(), []);
});

t.test('validation: field, value and what is allowed', async (t) => {
  const { txn, nb } = plan();
  const cases: [() => unknown, RegExp][] = [
    [
      () => nb.ensureSwitchPort({ switch: 'ls0', name: 'q', addresses: 'dynamic' as never }),
      /invalid LogicalSwitchPort\.addresses: "dynamic" \(allowed: an array\)/,
    ],
    [
      () => nb.ensureSwitchPort({ switch: 'ls0', name: 'q', dhcpv4Options: 'nope' as never }),
      /invalid LogicalSwitchPort\.dhcpv4Options: "nope"/,
    ],
    [() => nb.ensureSwitch({ name: '' }), /invalid LogicalSwitch\.name: "" \(allowed: a name of 1\.\.256/],
    [() => nb.ensureSwitch({ name: 'a', excludeIps: ['10.0.0.9..10.0.0.1'] }), /exclude_ips|excludeIps/],
    [
      () => nb.ensureSwitch({ name: 'a', ipv6Prefix: 'fd00::/48' }),
      /invalid LogicalSwitch\.ipv6Prefix: "fd00::\/48" \(allowed: a \/64/,
    ],
    [
      () => nb.ensureSwitchPort({ switch: 'ls0', name: 'q', addresses: ['00:11:22 10.0.0.1'] }),
      /invalid LogicalSwitchPort\.addresses\[0\]\.mac/,
    ],
    [
      () => nb.ensureSwitchPort({ switch: 'ls0', name: 'q', type: 'bogus' as never }),
      /invalid LogicalSwitchPort\.type: "bogus" \(allowed: one of "", "router"/,
    ],
    [
      () => nb.ensureSwitchPort({ switch: 'ls0', name: 'q', routerPort: 'r', type: 'localnet' }),
      /invalid LogicalSwitchPort\.type/,
    ],
    [
      () => nb.ensureRouterPort({ router: 'lr0', name: 'r', mac: '00:00:00:00:00:01', networks: [] }),
      /networks: \[\] \(allowed: at least one/,
    ],
    [
      () => nb.ensureStaticRoute({ router: 'lr0', prefix: '10.0.0.0/8', nexthop: 'fd00::1' }),
      /invalid StaticRoute\.nexthop: "fd00::1" \(allowed: an IPv4 address/,
    ],
    [
      () => nb.ensureRouterPolicy({ router: 'lr0', priority: 1, match: 'ip4', action: 'reroute' }),
      /nexthops/,
    ],
    [
      () => nb.ensureNat({ router: 'lr0', type: 'dnat', externalIp: '1.1.1.1', logicalIp: '10.0.0.0/24' }),
      /invalid NAT\.logicalIp/,
    ],
    [
      () =>
        nb.ensureNat({
          router: 'lr0',
          type: 'snat',
          externalIp: '1.1.1.1',
          logicalIp: '10.0.0.0/24',
          logicalPort: 'p1',
          externalMac: '00:00:00:00:00:01',
        }),
      /invalid NAT\.type: "snat" \(allowed: "dnat_and_snat"/,
    ],
    [
      () => nb.ensureLoadBalancer({ name: 'lb', vips: { '10.0.0.1:80': ['10.0.0.2'] } }),
      /a backend with a port/,
    ],
    [() => nb.ensureLoadBalancer({ name: 'lb', vips: { '10.0.0.1:80': ['fd00::2'] } }), /an IPv4 backend/],
    [
      () =>
        nb.ensureLoadBalancer({
          name: 'lb',
          vips: { '10.0.0.1:80': ['10.0.0.2:80'] },
          healthChecks: [{ vip: '10.0.0.9:80' }],
        }),
      /healthChecks\[0\]\.vip/,
    ],
    [
      () =>
        nb.ensureAcl({
          parent: { switch: 'ls0' },
          direction: 'in' as never,
          priority: 1,
          match: 'ip',
          action: 'drop',
        }),
      /invalid ACL\.direction: "in"/,
    ],
    [
      () =>
        nb.ensureAcl({
          parent: { switch: 'ls0' },
          direction: 'to-lport',
          priority: 1,
          match: ' ',
          action: 'drop',
        }),
      /invalid ACL\.match/,
    ],
    [
      () =>
        nb.ensureAcl({
          parent: { switch: 'ls0' },
          direction: 'to-lport',
          priority: 1,
          match: 'ip',
          action: 'drop',
          name: 'x'.repeat(64),
        }),
      /invalid ACL\.name: .* 1\.\.63/,
    ],
    [() => nb.ensurePortGroup({ name: 'pg-1' }), /invalid PortGroup\.name: "pg-1" \(allowed: an identifier/],
    [
      () => nb.ensureAddressSet({ name: 'as', addresses: ['10.0.0.300'] }),
      /invalid AddressSet\.addresses\[0\]/,
    ],
    [() => nb.ensureDhcpOptions({ cidr: '10.0.0.0/24', options: { server_id: '10.0.0.1' } }), /server_mac/],
    [() => nb.ensureDns({ externalIds: {}, records: { a: ['10.0.0.1'] } }), /at least one key/],
    [
      () => nb.ensureDns({ externalIds: { o: 'x' }, records: { Bad_Name: ['10.0.0.1'] } }),
      /a lower-case DNS name/,
    ],
    [
      () => nb.ensureQos({ switch: 'ls0', direction: 'to-lport', priority: 1, match: 'ip4' }),
      /a rate, a dscp mark, or both/,
    ],
    [
      () => nb.ensureQos({ switch: 'ls0', direction: 'to-lport', priority: 1, match: 'ip4', dscp: 64 }),
      /invalid QoS\.dscp: 64 \(allowed: an integer 0\.\.63\)/,
    ],
    [
      () => nb.ensureMeter({ name: 'm', unit: 'kbps', bands: [{ rate: 0 }] }),
      /invalid Meter\.bands\[0\]\.rate: 0 \(allowed: an integer 1\.\.4294967295\)/,
    ],
    [
      () =>
        nb.ensureHaChassisGroup({
          name: 'g',
          chassis: [
            { chassis: 'c', priority: 1 },
            { chassis: 'c', priority: 2 },
          ],
        }),
      /each chassis at most once/,
    ],
    [() => nb.ensureGatewayChassis({ routerPort: 'nope', chassis: 'c', priority: 1 }), /does not exist/],
  ];
  for (const [call, message] of cases) {
    try {
      call();
      t.fail(`accepted: ${message}`);
    } catch (err) {
      t.ok(err instanceof OvnInvalidArgumentError || err instanceof OvnNotFoundError, String(err));
      t.match((err as Error).message, message);
    }
  }
  t.same(txn.toWire(), [], 'no operation was added by a refused call');
});

t.test(
  'a set read from the view: new rows are added without a scan, each once, and the overlay shows them',
  async (t) => {
    const { txn, nb } = plan();
    const a = nb.ensureSwitchPort({ switch: 'ls0', name: 'pa', addresses: ['0a:00:00:00:00:0a 10.0.0.10'] });
    const b = nb.ensureSwitchPort({
      switch: 'ls0',
      name: 'pb',
      portSecurity: ['0A:00:00:00:00:0B 10.0.0.11'],
    });
    const sw = nb.one('Logical_Switch', 'ls0');
    t.ok(sw);
    if (!sw) return;
    t.same(sw.row.ports, [U.lsp, a, b], 'the existing port, then the two new ones');
    t.equal(nb.addToSet(sw, 'ports', [a, b, U.lsp]), false, 'all three are members: nothing to send');
    // The same port ensured again in this plan changes nothing more.
    const n = txn.operations.length;
    t.equal(
      nb.ensureSwitchPort({ switch: 'ls0', name: 'pa', addresses: ['0a:00:00:00:00:0a 10.0.0.10'] }),
      a,
    );
    t.equal(txn.operations.length, n);
    const wire = txn.toWire() as { op: string; table: string; row?: Record<string, unknown> }[];
    t.same(
      wire.map((o) => `${o.op} ${o.table}`),
      [
        'insert Logical_Switch_Port',
        'wait Logical_Switch',
        'mutate Logical_Switch',
        'insert Logical_Switch_Port',
        'mutate Logical_Switch',
      ],
    );
    // Canonical entries pass through as given; others are normalised (the MAC in lower case).
    t.equal(wire[0]?.row?.addresses, '0a:00:00:00:00:0a 10.0.0.10');
    t.equal(wire[3]?.row?.port_security, '0a:00:00:00:00:0b 10.0.0.11');
  },
);
