// The rtnetlink codec (src/codec.ts, moved out of handle.ts): pure functions between the public types and
// wire.ts. Requests are checked before anything is sent; replies are decoded from messages built with
// wire.ts's own encoders (a round trip), so no socket or namespace is needed.
import t from 'tap';
import {
  checkFamily,
  describeRoute,
  describeRule,
  linkSpec,
  routeWire,
  ruleWire,
  selector,
  toAddress,
  toLink,
  toRoute,
  toRule,
} from '../../src/codec.js';
import { NetlinkInvalidArgumentError } from '../../src/errors.js';
import {
  addressPayload,
  attrStr,
  decodeRouteMessage,
  IFA_F,
  IFF_UP,
  IFLA,
  ifinfomsg,
  linkAttrs,
  RT_SCOPE,
  RT_TABLE,
  RTPROT,
  routePayload,
  rulePayload,
} from '../../src/wire.js';

const invalid = (field: string) => ({ code: 'NETLINK_ERR_INVALID_ARGUMENT', field });

t.test('selector and linkSpec check what they pass on', async (t) => {
  t.same(selector(7, 'link'), { index: 7 });
  t.same(selector('eth0', 'link'), { name: 'eth0' });
  t.throws(() => selector(0, 'link'), invalid('link'));
  t.throws(() => selector('a/b', 'dev'), invalid('dev'));
  const s = linkSpec({ mtu: 1400, mac: '02:00:00:00:00:01', group: 9, alias: 'x' }, 'peer.');
  t.equal(s.mtu, 1400);
  t.same([...(s.mac ?? [])], [2, 0, 0, 0, 0, 1]);
  t.match(s, { group: 9, alias: 'x' });
  t.throws(() => linkSpec({ mtu: 10 }, 'peer.'), invalid('peer.mtu'));
  t.throws(() => linkSpec({ mac: '01:00:5e:00:00:01' }, ''), invalid('mac'));
  t.throws(() => linkSpec({ alias: 'a'.repeat(256) }, ''), invalid('alias'));
  t.equal(checkFamily(6), 6);
  t.throws(() => checkFamily(5), NetlinkInvalidArgumentError);
});

t.test('routeWire: masked dst, family, scope and protocol as iproute2 sends them', async (t) => {
  const add = routeWire({ dst: '10.1.2.3/24', gateway: '10.0.0.1' }, undefined, false);
  t.match(add, { family: 2, dstLen: 24, table: RT_TABLE.MAIN, protocol: RTPROT.BOOT, type: 1 });
  t.same([...(add.dst ?? [])], [10, 1, 2, 0], 'host bits cleared');
  t.equal(add.scope, RT_SCOPE.UNIVERSE, 'via a gateway: universe');
  t.equal(routeWire({ dst: '10.9.0.0/16' }, 3, false).scope, RT_SCOPE.LINK, 'no gateway: link scope');
  t.equal(routeWire({ dst: 'default', family: 6, gateway: 'fd00::1' }, undefined, false).family, 10);
  const del = routeWire({ dst: '10.1.0.0/24' }, undefined, true);
  t.match(del, { protocol: RTPROT.UNSPEC, scope: RT_SCOPE.NOWHERE, type: 0 }, 'delete leaves them open');
  t.throws(() => routeWire({ dst: '10.1.0.0/24' }, undefined, false), invalid('route'));
  t.throws(() => routeWire({ dst: '10.1.0.0/24', gateway: 'fd00::1' }, undefined, false), invalid('gateway'));
  t.throws(
    () => routeWire({ dst: '10.1.0.0/24', type: 'bogus' as never }, undefined, false),
    invalid('type'),
  );
  t.throws(() => routeWire(null as never, undefined, false), invalid('route'));
});

t.test('routes and rules decode back to what was asked (round trip through wire.ts)', async (t) => {
  const wire = routeWire(
    { dst: '10.1.0.0/24', gateway: '10.0.0.1', metric: 5, src: '10.0.0.2', onLink: true },
    4,
    false,
  );
  t.same(toRoute(decodeRouteMessage(routePayload(wire))), {
    family: 4,
    dst: '10.1.0.0/24',
    gateway: '10.0.0.1',
    dev: 4,
    table: RT_TABLE.MAIN,
    protocol: RTPROT.BOOT,
    scope: RT_SCOPE.UNIVERSE,
    type: 'unicast',
    metric: 5,
    src: '10.0.0.2',
    onLink: true,
  });
  t.equal(
    toRoute(decodeRouteMessage(routePayload(routeWire({ dst: 'default', dev: 1 }, 1, false))))?.dst,
    'default',
  );
  const rule = toRule(
    rulePayload(ruleWire({ priority: 100, to: 'fd00::/64', iif: 'ocng1', action: 'prohibit' }, false)),
  );
  t.match(rule, {
    family: 6,
    priority: 100,
    to: 'fd00::/64',
    iif: 'ocng1',
    action: 'prohibit',
    invert: false,
  });
});

t.test('links and addresses decode from RTM_NEWLINK / RTM_NEWADDR payloads', async (t) => {
  const link = toLink(
    Buffer.concat([
      ifinfomsg({ index: 12, flags: IFF_UP }),
      ...linkAttrs({ name: 'veth1', mtu: 1400, mac: Buffer.from([2, 0, 0, 0, 0, 9]), group: 3 }),
      attrStr(IFLA.IFALIAS, 'hello'),
    ]),
  );
  t.match(link, {
    index: 12,
    name: 'veth1',
    mtu: 1400,
    mac: '02:00:00:00:00:09',
    up: true,
    lowerUp: false,
    group: 3,
    alias: 'hello',
  });
  const addr = toAddress(
    addressPayload({
      family: 10,
      prefixLen: 64,
      index: 12,
      local: Buffer.from('fd000000000000000000000000000002', 'hex'),
      flags: IFA_F.NODAD,
    }),
  );
  t.match(addr, {
    family: 6,
    address: 'fd00::2',
    cidr: 'fd00::2/64',
    index: 12,
    nodad: true,
    tentative: false,
  });
  t.equal(
    toAddress(addressPayload({ family: 99, prefixLen: 8, index: 1, local: Buffer.alloc(4) })),
    undefined,
  );
});

t.test('descriptions name what a request was about', async (t) => {
  t.equal(
    describeRoute({ dst: 'default', gateway: '10.0.0.1', dev: 'eth0' }),
    'default via 10.0.0.1 dev eth0',
  );
  t.equal(
    describeRule({ priority: 5, invert: true, to: '10.0.0.0/8', action: 'prohibit' }),
    'pref 5 not from all to 10.0.0.0/8 prohibit',
  );
});
