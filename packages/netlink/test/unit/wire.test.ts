// Byte-exact checks of the rtnetlink encoders against layouts worked out by hand from the UAPI headers.
import t from 'tap';
import { ruleWire } from '../../src/codec.js';
import {
  addressPayload,
  attr,
  attrStr,
  decodeLinkMessage,
  decodeRouteMessage,
  deleteGroupPayload,
  ifinfomsg,
  newVethPayload,
  nlmsg,
  parseAttrs,
  routePayload,
  rulePayload,
  setLinkPayload,
  vethLinkInfo,
} from '../../src/wire.js';

const hex = (b: Buffer) => b.toString('hex');
const h = (s: string) => s.replace(/\s+/g, '');

t.test('attributes are length-prefixed and padded to 4 bytes', async (t) => {
  t.equal(hex(attr(3, Buffer.from([1, 2, 3]))), h('0700 0300 010203 00'));
  t.equal(hex(attrStr(3, 'eth0')), h('0900 0300 65746830 00 000000'));
  t.equal(hex(attr(1, Buffer.alloc(0))), h('0400 0100'));
});

t.test('ifinfomsg is 16 bytes: family, pad, type, index, flags, change', async (t) => {
  t.equal(hex(ifinfomsg({ index: 7, flags: 1, change: 1 })), h('00 00 0000 07000000 01000000 01000000'));
});

t.test('veth IFLA_LINKINFO nests KIND "veth" and DATA{PEER: ifinfomsg + peer attrs}', async (t) => {
  const got = vethLinkInfo({ name: 'p0' });
  const expected = h(`
    3000 1200
      0900 0100 76657468 00 000000
      2000 0200
        1c00 0100
          00 00 0000 00000000 00000000 00000000
          0700 0300 703000 00`);
  t.equal(hex(got), expected);
  t.equal(got.length, 48);
});

t.test('veth peer with MTU, MAC and a namespace fd', async (t) => {
  const mac = Buffer.from([2, 0, 0, 0, 0, 9]);
  const got = vethLinkInfo({ name: 'p0', mtu: 1400, mac, netnsFd: 21 });
  const peer = parseAttrs(parseAttrs(parseAttrs(got).get(18) as Buffer).get(2) as Buffer).get(1) as Buffer;
  const attrs = parseAttrs(peer, 16);
  t.equal(attrs.get(3)?.toString('latin1'), 'p0\0');
  t.equal(attrs.get(4)?.readUInt32LE(0), 1400);
  t.same(attrs.get(1), mac);
  t.equal(attrs.get(28)?.readUInt32LE(0), 21, 'IFLA_NET_NS_FD');
  t.equal(peer.readUInt32LE(8), 0, 'no IFF_UP in the peer header (the kernel answers ENOTCONN)');
});

t.test('NEWLINK veth: host flags carry IFF_UP, then host attrs, then linkinfo', async (t) => {
  const p = newVethPayload({ name: 'h0', up: true, group: 5 }, { name: 'p0' });
  const link = decodeLinkMessage(p);
  t.equal(link.flags, 1);
  t.equal(p.readUInt32LE(12), 1, 'change mask IFF_UP');
  t.equal(link.attrs.get(27)?.readUInt32LE(0), 5, 'IFLA_GROUP');
  t.equal(link.kind, 'veth');
});

t.test('SETLINK: down sets change without flags; move+rename carries NET_NS_FD and IFNAME', async (t) => {
  const down = setLinkPayload(9, { up: false });
  t.equal(hex(down), h('00 00 0000 09000000 00000000 01000000'));
  const move = decodeLinkMessage(setLinkPayload(9, { netnsFd: 30, name: 'eth0', mtu: 1450 }));
  t.equal(move.attrs.get(28)?.readUInt32LE(0), 30);
  t.equal(move.attrs.get(3)?.toString('latin1'), 'eth0\0');
  t.equal(move.attrs.get(4)?.readUInt32LE(0), 1450);
  t.equal(move.index, 9);
});

t.test('group delete: ifindex 0 and IFLA_GROUP', async (t) => {
  t.equal(hex(deleteGroupPayload(77)), h('00 00 0000 00000000 00000000 00000000 0800 1b00 4d000000'));
});

t.test('route: rtmsg then RTA_TABLE, RTA_DST, RTA_GATEWAY', async (t) => {
  const p = routePayload({
    family: 2,
    dstLen: 24,
    dst: Buffer.from([10, 1, 0, 0]),
    gateway: Buffer.from([10, 0, 0, 1]),
    table: 100,
    protocol: 3,
    scope: 0,
    type: 1,
  });
  t.equal(
    hex(p),
    h('02 18 00 00 64 03 00 01 00000000  0800 0f00 64000000  0800 0100 0a010000  0800 0500 0a000001'),
  );
});

t.test('route: a table above 255 goes only in RTA_TABLE (rtm_table = RT_TABLE_UNSPEC)', async (t) => {
  const p = routePayload({ family: 2, dstLen: 0, table: 1000, protocol: 3, scope: 253, type: 1, oif: 4 });
  const r = decodeRouteMessage(p);
  t.equal(p.readUInt8(4), 0);
  t.equal(r.table, 1000);
  t.equal(r.attrs.get(4)?.readUInt32LE(0), 4, 'RTA_OIF');
  t.equal(r.scope, 253);
});

t.test('route: on-link flag travels in rtm_flags', async (t) => {
  const p = routePayload({ family: 2, dstLen: 0, table: 254, protocol: 3, scope: 0, type: 1, flags: 4 });
  t.equal(p.readUInt32LE(8), 4);
});

t.test('rule: fib_rule_hdr then FRA_PRIORITY, FRA_SRC, FRA_DST', async (t) => {
  const p = rulePayload({
    family: 2,
    action: 8,
    priority: 100,
    src: Buffer.from([10, 1, 0, 0]),
    srcLen: 24,
    dst: Buffer.from([10, 2, 0, 0]),
    dstLen: 24,
  });
  t.equal(
    hex(p),
    h('02 18 18 00 00 00 00 08 00000000  0800 0600 64000000  0800 0200 0a010000  0800 0100 0a020000'),
  );
});

t.test('rule: lookup in a table, iif name, invert', async (t) => {
  const p = rulePayload({ family: 10, action: 1, table: 300, iifname: 'eth0', invert: true });
  const r = decodeRouteMessage(p);
  t.equal(r.family, 10);
  t.equal(r.type, 1, 'FR_ACT_TO_TBL');
  t.equal(p.readUInt8(4), 0, 'table > 255 only in FRA_TABLE');
  t.equal(r.table, 300);
  t.equal(r.flags, 2, 'FIB_RULE_INVERT');
  t.equal(r.attrs.get(3)?.toString('latin1'), 'eth0\0');
});

t.test(
  'ruleWire: host bits are masked off, the family follows the networks, lookup needs a table',
  async (t) => {
    const w = ruleWire({ from: '10.1.0.5/24', to: '10.2.3.4/16', action: 'prohibit', priority: 10 }, false);
    t.same([...(w.src ?? [])], [10, 1, 0, 0]);
    t.same([...(w.dst ?? [])], [10, 2, 0, 0]);
    t.equal(w.family, 2);
    t.equal(w.action, 8);
    t.equal(ruleWire({ from: 'fd00::/64', table: 7 }, false).family, 10);
    t.equal(ruleWire({ from: 'fd00::/64', table: 7 }, false).action, 1, 'lookup implied by table');
    t.throws(() => ruleWire({ action: 'lookup' }, false), {
      code: 'NETLINK_ERR_INVALID_ARGUMENT',
      field: 'table',
    });
    t.throws(() => ruleWire({ from: '10.0.0.0/8', to: 'fd00::/8', table: 5 }, false), {
      code: 'NETLINK_ERR_INVALID_ARGUMENT',
      field: 'rule',
    });
    t.throws(() => ruleWire({ priority: 1 }, false), {
      field: 'rule',
      message: /a table \(lookup\) or an action/,
    });
    t.equal(ruleWire({ priority: 1 }, true).action, 0, 'delete may leave the action open');
    t.throws(() => ruleWire({ action: 'jump' as never, table: 1 }, false), {
      code: 'NETLINK_ERR_INVALID_ARGUMENT',
      field: 'action',
    });
  },
);

t.test('address: ifaddrmsg, IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST, IFA_FLAGS', async (t) => {
  const p = addressPayload({
    family: 2,
    prefixLen: 24,
    index: 3,
    local: Buffer.from([10, 0, 0, 2]),
    broadcast: Buffer.from([10, 0, 0, 255]),
  });
  t.equal(hex(p), h('02 18 00 00 03000000  0800 0200 0a000002  0800 0100 0a000002  0800 0400 0a0000ff'));
  const v6 = addressPayload({ family: 10, prefixLen: 64, index: 3, local: Buffer.alloc(16, 1), flags: 2 });
  t.equal(v6.readUInt8(2), 2, 'IFA_F_NODAD in the header');
  t.equal(parseAttrs(v6, 8).get(8)?.readUInt32LE(0), 2, 'and in IFA_FLAGS');
});

t.test('nlmsg header: length includes itself; parseAttrs stops at truncated attributes', async (t) => {
  const m = nlmsg(16, 0x605, 42, Buffer.from([1, 2, 3, 4]));
  t.equal(hex(m), h('14000000 1000 0506 2a000000 00000000 01020304'));
  const truncated = Buffer.concat([attrStr(3, 'ok'), Buffer.from([0x20, 0, 1, 0, 9])]);
  t.same([...parseAttrs(truncated).keys()], [3]);
});
