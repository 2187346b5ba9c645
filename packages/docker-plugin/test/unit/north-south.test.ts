// The pure parts of north-south: Docker's port options parsed (and refused with the field named), the
// OVS record round trip, the rules computed from a state (what goes in which chain, per family), and which
// OVS changes can change them (the others cost no sync).
import t from 'tap';
import { InvalidRequestError } from '../../src/core/errors.js';
import { affectsRules, PORTS_KEY } from '../../src/core/external/north-south.js';
import {
  decodeBindings,
  dockerPortMap,
  encodeBindings,
  parseExposed,
  parsePortMap,
} from '../../src/core/external/portmap.js';
import {
  bindingTargets,
  dockerUserRules,
  type NsNetwork,
  tableRules,
} from '../../src/core/external/rules.js';
import type { OvsChange } from '../../src/core/ovs/view.js';

t.test("Docker's portmap: the shapes moby sends", async (t) => {
  t.same(
    parsePortMap([
      { Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 },
      { Proto: 17, IP: '', Port: 53, HostIP: '127.0.0.1', HostPort: 5353, HostPortEnd: 0 },
      { Proto: 6, IP: '', Port: 80, HostIP: '::', HostPort: 8000, HostPortEnd: 8010 },
      { Proto: 6, Port: 443, HostPort: 0 },
    ]),
    [
      { proto: 'tcp', port: 80, hostIp: '', hostPort: 8080, hostPortEnd: 8080 },
      { proto: 'udp', port: 53, hostIp: '127.0.0.1', hostPort: 5353, hostPortEnd: 5353 },
      { proto: 'tcp', port: 80, hostIp: '::', hostPort: 8000, hostPortEnd: 8010 },
      { proto: 'tcp', port: 443, hostIp: '', hostPort: 0, hostPortEnd: 0 },
    ],
  );
  t.same(parsePortMap(undefined), []);
  t.same(parsePortMap(null), []);
  t.same(parseExposed([{ Proto: 6, Port: 80 }]), [{ proto: 'tcp', port: 80 }]);
});

t.test('bad port options name the field and what is allowed', async (t) => {
  const bad: [unknown, RegExp][] = [
    ['x', /com\.docker\.network\.portmap "x": expected a list/],
    [[{ Proto: 132, Port: 80, HostPort: 1 }], /\[0\]\.Proto 132: expected 6 \(tcp\) or 17 \(udp\)/],
    [[{ Proto: 6, Port: 0, HostPort: 1 }], /\[0\]\.Port 0: expected a port 1\.\.65535/],
    [[{ Proto: 6, Port: 80, HostPort: 70000 }], /\[0\]\.HostPort 70000/],
    [
      [{ Proto: 6, Port: 80, HostPort: 9000, HostPortEnd: 8000 }],
      /HostPortEnd 8000: expected a port ≥ HostPort/,
    ],
    [
      [{ Proto: 6, Port: 80, HostIP: 'nope', HostPort: 1 }],
      /HostIP "nope": expected an IPv4 or IPv6 address/,
    ],
  ];
  for (const [v, re] of bad)
    t.throws(() => parsePortMap(v), { constructor: InvalidRequestError, message: re });
});

t.test('the OVS record round-trips and refuses anything else', async (t) => {
  const b = [{ proto: 'tcp' as const, port: 80, hostIp: '', hostPort: 8080 }];
  t.same(decodeBindings(encodeBindings(b)), b);
  t.equal(decodeBindings('{"x":1}'), undefined);
  t.equal(decodeBindings('[{"proto":"sctp","port":1,"hostIp":"","hostPort":1}]'), undefined);
  t.equal(decodeBindings('[{"proto":"tcp","port":1,"hostIp":"","hostPort":1,"extra":1}]'), undefined);
  t.equal(decodeBindings('not json'), undefined);
  t.same(dockerPortMap(b), [{ Proto: 6, Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 }]);
});

const net: NsNetwork = {
  id: 'a'.repeat(64),
  gatewayPort: 'ocnga',
  subnets: [
    { family: 4, pool: '10.1.2.0/24' },
    { family: 6, pool: 'fd00:1:2::/64' },
  ],
  masquerade: true,
};
const ep = { id: 'e'.repeat(64), network: net, ipv4: '10.1.2.5/24', ipv6: 'fd00:1:2::5/64' };

t.test('bindings are published per family the endpoint has, and a host address picks one', async (t) => {
  const all = { proto: 'tcp' as const, port: 80, hostIp: '', hostPort: 8080 };
  t.same(bindingTargets(all, ep), [
    { family: 4, target: '10.1.2.5', listenIp: '0.0.0.0' },
    { family: 6, target: 'fd00:1:2::5', listenIp: '::' },
  ]);
  t.same(bindingTargets({ ...all, hostIp: '192.0.2.1' }, ep), [
    { family: 4, target: '10.1.2.5', listenIp: '192.0.2.1' },
  ]);
  t.same(bindingTargets(all, { ipv4: '10.1.2.5/24' }), [
    { family: 4, target: '10.1.2.5', listenIp: '0.0.0.0' },
  ]);
});

t.test('rules: DNAT, hairpin and masquerade, only where the family forwards', async (t) => {
  const e = { ...ep, bindings: [{ proto: 'tcp' as const, port: 80, hostIp: '', hostPort: 8080 }] };
  const both = tableRules([net], [e], { 4: true, 6: true });
  const count = (chain: string) => both.filter((r) => r.chain === chain).length;
  t.equal(count('prerouting'), 2, 'one DNAT per family');
  t.equal(count('output'), 2, 'the same for the host, loopback excluded');
  t.equal(count('postrouting'), 4, 'hairpin per family + masquerade per subnet');
  const v4only = tableRules([net], [e], { 4: true, 6: false });
  t.equal(
    v4only.filter((r) => r.chain === 'prerouting').length,
    1,
    'IPv6 forwarding off: the proxy serves it',
  );
  const lo = tableRules([], [{ ...e, bindings: [{ ...e.bindings[0]!, hostIp: '127.0.0.1' }] }], {
    4: true,
    6: true,
  });
  t.same(lo, [], 'a loopback binding has no rule: the proxy alone serves it');
  t.same(tableRules([{ ...net, masquerade: false }], [], { 4: true, 6: true }), [], 'masquerade=false');
  t.ok(
    both.every((r) => r.comment?.startsWith('ocn ')),
    'every rule says whose it is',
  );
});

t.test('DOCKER-USER: -s and -d accepts per subnet of the family', async (t) => {
  t.equal(dockerUserRules([net], 4).length, 2);
  t.equal(dockerUserRules([net], 6).length, 2);
  t.equal(dockerUserRules([{ ...net, subnets: [] }], 4).length, 0);
});

t.test('which OVS changes can change the rules', async (t) => {
  const port = (ids: Record<string, string>) => ({ name: 'p', external_ids: ids });
  const change = (table: string, old: unknown, now: unknown) =>
    ({ table, type: 'modify', uuid: 'u', old, new: now }) as unknown as OvsChange;
  const published = port({ [PORTS_KEY]: '[]', 'ocn-network': 'n' });
  const plain = port({ 'ocn-network': 'n' });
  const ids = { 'ocn-network-n': '{}' };
  const bridge = (ports: string[], external_ids: Record<string, string> = ids) => ({ ports, external_ids });
  t.ok(
    affectsRules(change('Bridge', bridge([]), bridge([], { ...ids, 'ocn-network-m': '{}' }))),
    'a network record added',
  );
  t.ok(affectsRules(change('Bridge', bridge([]), bridge([], {}))), 'or removed');
  t.ok(affectsRules(change('Bridge', bridge([]), bridge([], { 'ocn-network-n': '{"x":1}' }))), 'or changed');
  t.ok(
    affectsRules({
      table: 'Bridge',
      type: 'insert',
      uuid: 'b',
      old: undefined,
      new: bridge([]),
    } as unknown as OvsChange),
    'a bridge came',
  );
  t.ok(
    affectsRules({
      table: 'Bridge',
      type: 'delete',
      uuid: 'b',
      old: bridge([]),
      new: undefined,
    } as unknown as OvsChange),
    'a bridge went',
  );
  t.notOk(
    affectsRules(change('Bridge', bridge(['p1']), bridge(['p1', 'p2']))),
    'a port added to a bridge (its ports), records untouched',
  );
  t.notOk(
    affectsRules(change('Bridge', bridge(['p1']), bridge([], { ...ids }))),
    'equal records in a new object',
  );
  t.ok(affectsRules(change('Port', undefined, published)), 'a port with published ports came');
  t.ok(affectsRules(change('Port', published, undefined)), 'a port with published ports went');
  t.ok(affectsRules(change('Port', plain, published)), 'a port got published ports');
  t.ok(affectsRules(change('Port', published, plain)), 'a port lost them');
  t.notOk(affectsRules(change('Port', undefined, plain)), 'an endpoint without published ports came');
  t.notOk(affectsRules(change('Port', plain, undefined)), 'or went');
  t.notOk(affectsRules(change('Interface', {}, {})), 'an Interface (ofport, stats) changed');
  t.notOk(affectsRules(change('Open_vSwitch', {}, {})), 'the root row (cur_cfg) changed');
});
