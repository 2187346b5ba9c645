// The BOOTP/DHCP codec: round trips, every truncation, overload (RFC 2132 §9.3), long options (RFC 3396),
// and each kind of malformed input refused with a DhcpMalformedError that says where.
import t from 'tap';
import {
  clientIdFromMac,
  DhcpInvalidArgumentError,
  DhcpMalformedError,
  type DhcpMessageInit,
  decodeMessage,
  encodeMessage,
  MAGIC_COOKIE,
  Option,
  rfc4361ClientId,
} from '../../src/index.js';

const chaddr = Buffer.from([0x02, 0x42, 0x0a, 0, 0, 7]);

const offer: DhcpMessageInit = {
  op: 'BOOTREPLY',
  xid: 0xdeadbeef,
  chaddr,
  secs: 3,
  broadcast: true,
  yiaddr: '10.0.0.7',
  siaddr: '10.0.0.1',
  giaddr: '10.9.0.1',
  hops: 1,
  sname: 'srv',
  file: 'boot.img',
  options: {
    messageType: 'OFFER',
    serverId: '10.0.0.1',
    leaseTime: 3600,
    renewalTime: 1800,
    rebindingTime: 3150,
    subnetMask: '255.255.255.0',
    routers: ['10.0.0.1', '10.0.0.254'],
    dnsServers: ['10.0.0.2'],
    domainName: 'lan.example',
    hostname: 'web-1',
    clientId: clientIdFromMac(chaddr),
    parameterRequestList: [1, 3, 6],
    message: 'hello',
    maxMessageSize: 1500,
    broadcastAddress: '10.0.0.255',
    other: new Map([[119, Buffer.from([3, 0x6c, 0x61, 0x6e, 0])]]),
  },
};

t.test('round trip of every field and option', async (t) => {
  const b = encodeMessage(offer);
  t.equal(b[0], 2, 'op BOOTREPLY');
  t.equal(b.readUInt16BE(10), 0x8000, 'broadcast flag is the top bit');
  t.same(b.subarray(236, 240), MAGIC_COOKIE);
  t.equal(b[240], Option.MESSAGE_TYPE, 'message type first');
  const m = decodeMessage(b);
  t.same(m, { ...offer, htype: 1, hlen: 6, ciaddr: '0.0.0.0' });
});

t.test('short messages are padded to the 300 bytes of RFC 1542; END is present', async (t) => {
  const b = encodeMessage({ op: 'BOOTREQUEST', xid: 1, chaddr, options: { messageType: 'DISCOVER' } });
  t.equal(b.length, 300);
  t.equal(b[243], Option.END);
  t.same(decodeMessage(b).options, { messageType: 'DISCOVER' });
});

t.test('every truncation is refused with an offset, never a crash', async (t) => {
  const b = encodeMessage(offer);
  const end = b.lastIndexOf(Option.END);
  for (let n = 0; n <= end; n++) {
    t.throws(() => decodeMessage(b.subarray(0, n)), DhcpMalformedError, `${n} bytes`);
  }
  t.doesNotThrow(() => decodeMessage(b.subarray(0, end + 1)), 'up to END is enough');
});

function withOptions(opts: number[], patch?: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(240);
  b[0] = 2;
  b[1] = 1;
  b[2] = 6;
  chaddr.copy(b, 28);
  MAGIC_COOKIE.copy(b, 236);
  patch?.(b);
  return Buffer.concat([b, Buffer.from(opts)]);
}

t.test('malformed inputs name what is wrong and where', async (t) => {
  const cases: Array<[string, Buffer, RegExp, number?]> = [
    ['op 3', withOptions([255], (b) => (b[0] = 3)), /op 3/, 0],
    ['hlen 17', withOptions([255], (b) => (b[2] = 17)), /hlen 17/, 2],
    ['bad cookie', withOptions([255], (b) => (b[239] = 0)), /magic cookie is 99\.130\.83\.0/, 236],
    ['no END', withOptions([53, 1, 2]), /no END/],
    ['length overrun', withOptions([53, 5, 2, 255]), /option 53 .* says 5 bytes but only 2 remain/, 240],
    ['no length byte', withOptions([0, 0, 53]), /no length byte/, 242],
    ['message type 9', withOptions([53, 1, 9, 255]), /message type 9/, 240],
    [
      'lease time 3 bytes',
      withOptions([51, 3, 0, 0, 1, 255]),
      /option 51 \(leaseTime\) has 3 bytes, wants 4/,
      240,
    ],
    ['router 6 bytes', withOptions([3, 6, 1, 2, 3, 4, 5, 6, 255]), /not a multiple of 4/],
    ['client id 1 byte', withOptions([61, 1, 1, 255]), /wants at least 2/],
    ['overload 4', withOptions([52, 1, 4, 255]), /overload/],
    [
      'sname without NUL',
      withOptions([255], (b) => b.fill(0x41, 44, 108)),
      /sname is not NUL-terminated/,
      44,
    ],
  ];
  for (const [name, b, msg, offset] of cases) {
    const err = t.throws(() => decodeMessage(b), DhcpMalformedError, name) as unknown as DhcpMalformedError;
    t.match(err?.message, msg, name);
    t.equal(err?.code, 'DHCP_ERR_MALFORMED');
    if (offset !== undefined) t.equal(err?.offset, offset, `${name}: offset`);
  }
});

t.test('PAD is skipped; a string option with a trailing NUL is tolerated', async (t) => {
  const m = decodeMessage(withOptions([0, 0, 53, 1, 5, 0, 12, 4, 0x61, 0x62, 0x63, 0, 255]));
  t.same(m.options, { messageType: 'ACK', hostname: 'abc' });
});

t.test('overload: options continue in file (1), sname (2) or both (3), in that order', async (t) => {
  const both = withOptions([53, 1, 5, 52, 1, 3, 255], (b) => {
    Buffer.from([51, 4, 0, 0, 0x0e, 0x10, 255]).copy(b, 108); // file: lease time 3600
    Buffer.from([54, 4, 10, 0, 0, 1, 255]).copy(b, 44); // sname: server id
  });
  const m = decodeMessage(both);
  t.same(m.options, { messageType: 'ACK', leaseTime: 3600, serverId: '10.0.0.1' });
  t.equal(m.sname, '');
  t.equal(m.file, '');
  const fileOnly = withOptions([53, 1, 5, 52, 1, 1, 255], (b) => {
    Buffer.from([3, 4, 10, 0, 0, 1, 255]).copy(b, 108);
    b.write('srv\0', 44);
  });
  const f = decodeMessage(fileOnly);
  t.same(f.options.routers, ['10.0.0.1']);
  t.equal(f.sname, 'srv');
  const split = withOptions([53, 1, 5, 6, 4, 1, 1, 1, 1, 52, 1, 1, 255], (b) => {
    Buffer.from([6, 4, 2, 2, 2, 2, 255]).copy(b, 108);
  });
  t.same(
    decodeMessage(split).options.dnsServers,
    ['1.1.1.1', '2.2.2.2'],
    'a split option concatenates (RFC 3396)',
  );
  const noEnd = withOptions([53, 1, 5, 52, 1, 1, 255], (b) => b.fill(0x7f, 108, 236));
  t.throws(() => decodeMessage(noEnd), /file field/);
});

t.test('an option longer than 255 bytes is split on encode and joined on decode (RFC 3396)', async (t) => {
  const big = Buffer.alloc(600, 7);
  const b = encodeMessage({ op: 'BOOTREPLY', xid: 2, chaddr, options: { other: new Map([[224, big]]) } });
  t.same(decodeMessage(b).options.other?.get(224), big);
  t.equal(b[240], 224);
  t.equal(b[241], 255);
});

t.test('bad input to the encoder names the field and what is allowed', async (t) => {
  const bad: Array<[Partial<DhcpMessageInit>, string]> = [
    [{ op: 'X' as 'BOOTREQUEST' }, 'op'],
    [{ xid: -1 }, 'xid'],
    [{ xid: 2 ** 32 }, 'xid'],
    [{ secs: 70000 }, 'secs'],
    [{ ciaddr: '10.0.0.256' }, 'ciaddr'],
    [{ yiaddr: 'fd00::1' }, 'yiaddr'],
    [{ chaddr: Buffer.alloc(17) }, 'chaddr'],
    [{ hlen: 5 }, 'hlen'],
    [{ sname: 'x'.repeat(64) }, 'sname'],
    [{ options: { messageType: 'HELLO' as 'ACK' } }, 'options.messageType'],
    [{ options: { routers: [] } }, 'options.routers'],
    [{ options: { routers: ['1.2.3'] } }, 'options.routers[0]'],
    [{ options: { leaseTime: 1.5 } }, 'options.leaseTime'],
    [{ options: { maxMessageSize: 500 } }, 'options.maxMessageSize'],
    [{ options: { hostname: '' } }, 'options.hostname'],
    [{ options: { clientId: Buffer.of(1) } }, 'options.clientId'],
    [{ options: { parameterRequestList: [0] } }, 'options.parameterRequestList'],
    [{ options: { other: new Map([[53, Buffer.of(1)]]) } }, 'options.other'],
  ];
  for (const [patch, field] of bad) {
    const err = t.throws(() => encodeMessage({ op: 'BOOTREQUEST', xid: 1, chaddr, ...patch })) as unknown;
    t.type(err, DhcpInvalidArgumentError, field);
    t.equal((err as DhcpInvalidArgumentError).field, field);
    t.match((err as Error).message, /allowed: /);
  }
});

t.test('client identifiers: type 1 + MAC (RFC 2132), type 255 + IAID + DUID (RFC 4361)', async (t) => {
  t.same(clientIdFromMac(chaddr), Buffer.from([1, 0x02, 0x42, 0x0a, 0, 0, 7]));
  const duid = Buffer.from('0004' + 'ab'.repeat(16), 'hex'); // DUID-UUID
  const id = rfc4361ClientId(7, duid);
  t.equal(id[0], 255);
  t.equal(id.readUInt32BE(1), 7);
  t.same(id.subarray(5), duid);
  t.throws(() => rfc4361ClientId(-1, duid), { code: 'DHCP_ERR_INVALID_ARGUMENT', field: 'iaid' });
  t.throws(() => rfc4361ClientId(1, Buffer.alloc(2)), { code: 'DHCP_ERR_INVALID_ARGUMENT', field: 'duid' });
});
