// The nf_tables codec, byte for byte against what `nft` 1.0.6 sends for the same commands
// (test/fixtures/nft-capture.txt), plus round trips through the decoder and malformed input.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parseCidr, parseIp } from '../../src/ip.js';
import {
  decodeChain,
  decodeElements,
  decodeError,
  decodeRule,
  decodeSet,
  decodeTable,
  elementsAttrs,
  encodeRequest,
  nftType,
} from '../../src/nft/wire.js';
import {
  decodeExprs,
  type Expr,
  encodeBatch,
  encodeExprs,
  forwardAcceptRule,
  intervals,
  masqueradeRule,
  match,
  NFT_TYPE,
  NftBatch,
  type NftRequest,
  NlMessageReader,
  parseMessages,
  publishedPortRules,
  stmt,
} from '../../src/nftables.js';

interface Captured {
  command: string;
  type: number;
  flags: number;
  body: Buffer;
}

const captured: Captured[] = readFileSync(new URL('../fixtures/nft-capture.txt', import.meta.url), 'utf8')
  .split('\n\n')
  .filter((b) => b.startsWith('> '))
  .map((block) => {
    const [cmd, tf, body] = block.trim().split('\n') as [string, string, string];
    const [type, flags] = tf.split(' ').map((x) => Number.parseInt(x, 16)) as [number, number];
    return { command: cmd.slice(2), type, flags, body: Buffer.from(body, 'hex') };
  });

const find = (prefix: string): Captured => {
  const c = captured.find((x) => x.command.startsWith(prefix));
  if (c === undefined) throw new Error(`no captured message for ${prefix}`);
  return c;
};

/** nfgenmsg + attributes of one request, as in the capture (the part after the nlmsghdr). */
const body = (r: NftRequest): Buffer => encodeRequest(r, 1).subarray(16);
const only = (b: NftBatch): NftRequest => (b.ops[0] as { request: NftRequest }).request;

const ip = (s: string) => parseIp(s).bytes;
const v4 = (s: string) => parseCidr(s, 'x', false);

t.test('table and base chains encode exactly as nft sends them', async (t) => {
  const table = only(new NftBatch().addTable({ family: 'inet', name: 'ocn-x' }));
  t.equal(body(table).toString('hex'), find('add table inet ocn-x').body.toString('hex'));
  t.equal(nftType(table.msg), find('add table').type);
  const chains = [
    ['prerouting', { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' }],
    ['postrouting', { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' }],
    ['forward', { type: 'filter', hook: 'forward', priority: 0, policy: 'accept' }],
  ] as const;
  for (const [name, base] of chains) {
    const r = only(new NftBatch().addChain({ family: 'inet', table: 'ocn-x', name, base }));
    const c = find(`add chain inet ocn-x ${name}`);
    t.equal(body(r).toString('hex'), c.body.toString('hex'), `chain ${name}`);
    t.equal(r.flags | 1, c.flags, 'NLM_F_REQUEST|NLM_F_CREATE');
  }
  const regular = only(new NftBatch().addChain({ family: 'inet', table: 'ocn-x', name: 'other' }));
  t.equal(body(regular).toString('hex'), find('add chain inet ocn-x other').body.toString('hex'));
});

const ruleCases: [string, string, Expr[], string?][] = [
  [
    'add rule inet ocn-x prerouting meta nfproto ipv4 ip daddr 192.0.2.1',
    'prerouting',
    [
      ...match.nfproto(4),
      ...match.addr('daddr', v4('192.0.2.1')),
      ...match.l4proto('tcp'),
      ...match.port('dport', 8080),
      stmt.counter(),
      ...stmt.nat('dnat', { address: ip('10.0.0.2'), port: 80 }),
    ],
    'p1',
  ],
  [
    'add rule inet ocn-x prerouting meta nfproto ipv4 fib daddr',
    'prerouting',
    [
      ...match.nfproto(4),
      ...match.fibDaddrLocal(),
      ...match.l4proto('udp'),
      ...match.port('dport', [8080, 8090]),
      stmt.counter(),
      ...stmt.nat('dnat', { address: ip('10.0.0.2'), port: 80 }),
    ],
  ],
  [
    'add rule inet ocn-x prerouting meta nfproto ipv6',
    'prerouting',
    [
      ...match.nfproto(6),
      ...match.addr('daddr', parseCidr('fd00::1', 'x', false)),
      ...match.l4proto('tcp'),
      ...match.port('dport', 8443),
      stmt.counter(),
      ...stmt.nat('dnat', { address: ip('fd00::2'), port: 443 }),
    ],
  ],
  [
    'add rule inet ocn-x postrouting',
    'postrouting',
    [
      ...match.nfproto(4),
      ...match.addr('saddr', v4('10.0.0.0/20')),
      ...match.ifname('oifname', 'br-x', true),
      ...stmt.masquerade(),
    ],
  ],
  [
    'add rule inet ocn-x forward ct status dnat',
    'forward',
    [
      ...match.ctStatus(['dnat']),
      ...match.nfproto(4),
      ...match.addr('daddr', v4('10.0.0.2')),
      ...match.l4proto('tcp'),
      ...match.port('dport', 80),
      stmt.accept(),
    ],
  ],
  [
    'add rule inet ocn-x forward ct state',
    'forward',
    [...match.ctState(['established', 'related']), stmt.accept()],
  ],
  [
    'add rule inet ocn-x forward iifname',
    'forward',
    [...match.ifname('iifname', 'br-x'), stmt.jump('other')],
  ],
  [
    'add rule inet ocn-x forward ct original',
    'forward',
    [...match.ctAddr('original', 'saddr', v4('10.0.0.0/24')), stmt.return()],
  ],
];

t.test('rules encode byte for byte as nft sends them, and decode back to the same expressions', async (t) => {
  for (const [prefix, chain, expressions, comment] of ruleCases) {
    const c = find(prefix);
    const r = only(new NftBatch().addRule({ family: 'inet', table: 'ocn-x', chain, expressions, comment }));
    t.equal(body(r).toString('hex'), c.body.toString('hex'), c.command);
    t.equal(r.flags | 1, c.flags, 'NLM_F_REQUEST|NLM_F_CREATE|NLM_F_APPEND');
    // Decoding nft's own bytes gives our expressions back.
    const decoded = decodeRule({ type: c.type, flags: c.flags, seq: 0, portId: 0, payload: c.body });
    t.same(decoded.expressions, expressions.map(normalize), `${c.command} decodes`);
    t.equal(decoded.comment, comment);
    t.equal(decoded.chain, chain);
    t.equal(decoded.family, 'inet');
  }
});

/** What the decoder fills in that builders leave out (optional fields present as undefined). */
const normalize = (e: Expr): Expr => decodeExprs(encodeExprs([e]))[0] as Expr;

t.test(
  'the batch frames requests between BEGIN and END with consecutive seqs, an ACK asked for END only, and the genid',
  async (t) => {
    const b = new NftBatch().addTable({ family: 'ip', name: 't' }).deleteTable({ family: 'ip', name: 't' });
    const buf = encodeBatch(
      b.ops.map((o) => o.request),
      100,
      { genId: 7 },
    );
    const msgs = parseMessages(buf);
    t.same(
      msgs.map((m) => [m.type, m.seq, m.flags & 0x5]),
      [
        [0x10, 100, 1],
        [0x0a00, 101, 1],
        [0x0a02, 102, 1],
        [0x11, 103, 5],
      ],
    );
    // BATCH_BEGIN: nfgenmsg {AF_UNSPEC, V0, res_id = htons(NFNL_SUBSYS_NFTABLES)}, NFNL_BATCH_GENID be32 7.
    t.equal((msgs[0] as { payload: Buffer }).payload.toString('hex'), `0000000a${'08000100'}00000007`);
    t.equal((msgs[3] as { payload: Buffer }).payload.toString('hex'), '0000000a');
    const each = parseMessages(
      encodeBatch(
        b.ops.map((o) => o.request),
        1,
        { ackEach: true },
      ),
    );
    t.same(
      each.map((m) => m.flags & 0x4),
      [0, 4, 4, 4],
      'ackEach: an ACK per message',
    );
    // The captured BEGIN/END bodies are the same.
    t.equal(captured[0]?.body.toString('hex'), '0000000a');
  },
);

t.test('published ports build the expected rules, and every bad field is named', async (t) => {
  const rules = publishedPortRules({
    proto: 'tcp',
    hostIp: '192.0.2.1',
    hostPort: 8080,
    containerIp: '10.0.0.2',
    containerPort: 80,
    comment: 'p1',
  });
  t.same(
    rules.map((r) => r.chain),
    ['prerouting', 'output', 'postrouting', 'forward'],
  );
  t.same(
    rules[0]?.expressions,
    ruleCases[0]?.[2],
    'same expressions as `ip daddr H tcp dport P counter dnat ip to C:Q`',
  );
  const ranged = publishedPortRules({
    proto: 'udp',
    family: 6,
    hostPort: [5000, 5002],
    containerIp: 'fd00::2',
    containerPort: [6000, 6002],
    chains: ['prerouting'],
    forward: false,
  });
  t.equal(ranged.length, 4, 'a range onto a range: one rule per port (+ the hairpin masquerade)');
  const single = publishedPortRules({
    proto: 'udp',
    hostPort: [5000, 5009],
    containerIp: '10.0.0.2',
    containerPort: 53,
    forward: false,
  });
  t.equal(single.length, 3, 'a range onto one port: one rule per chain (+ the hairpin masquerade)');
  const bad: [object, string][] = [
    [{ proto: 'sctp', hostPort: 1, containerIp: '10.0.0.2' }, 'proto'],
    [{ proto: 'tcp', hostPort: 0, containerIp: '10.0.0.2' }, 'hostPort'],
    [{ proto: 'tcp', hostPort: [9, 1], containerIp: '10.0.0.2' }, 'hostPort'],
    [{ proto: 'tcp', hostPort: 80, containerIp: '10.0.0' }, 'containerIp'],
    [{ proto: 'tcp', hostPort: 80, hostIp: 'fd00::1', containerIp: '10.0.0.2' }, 'hostIp'],
    [{ proto: 'tcp', hostPort: [80, 90], containerIp: '10.0.0.2', containerPort: [1, 2] }, 'containerPort'],
    [{ proto: 'tcp', hostPort: 80, containerIp: '10.0.0.2', comment: 'x'.repeat(200) }, 'comment'],
  ];
  for (const [spec, field] of bad) {
    t.throws(
      () => publishedPortRules(spec as never),
      { code: 'NETLINK_ERR_INVALID_ARGUMENT', field },
      `${field} refused`,
    );
  }
  t.throws(() => new NftBatch().addTable({ family: 'ipx' as never, name: 't' }), {
    field: 'family',
    message: /allowed: inet, ip, arp, netdev, bridge, ip6/,
  });
  t.throws(
    () => new NftBatch().addChain({ family: 'ip', table: 't', name: '' }),
    { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'chain' },
    'empty chain name',
  );
  t.throws(
    () => new NftBatch().deleteRule({ family: 'ip', table: 't', chain: 'c', handle: 0 }),
    { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'handle' },
    'handle 0',
  );
});

t.test('set elements: intervals and map data round-trip', async (t) => {
  const attrs = elementsAttrs({ table: 't', name: 's' }, [
    { key: ip('10.1.0.0') },
    { key: ip('10.2.0.0'), intervalEnd: true },
    { key: Buffer.from([0, 80]), data: ip('10.0.0.2') },
    { key: Buffer.from([0, 81]), verdict: { kind: 'jump', chain: 'x' } },
  ]);
  const m = {
    type: nftType(12),
    flags: 0,
    seq: 0,
    portId: 0,
    payload: Buffer.concat([Buffer.from([2, 0, 0, 0]), attrs]),
  };
  const d = decodeElements(m);
  t.equal(d.set, 's');
  t.same(d.elements, [
    { key: ip('10.1.0.0') },
    { key: ip('10.2.0.0'), intervalEnd: true },
    { key: Buffer.from([0, 80]), data: ip('10.0.0.2') },
    { key: Buffer.from([0, 81]), verdict: { kind: 'jump', chain: 'x' } },
  ]);
});

t.test('a stream of messages split at every byte boundary parses the same', async (t) => {
  const whole = Buffer.concat(
    captured.map((c, i) => {
      const h = Buffer.alloc(16);
      h.writeUInt32LE(16 + c.body.length, 0);
      h.writeUInt16LE(c.type, 4);
      h.writeUInt16LE(c.flags, 6);
      h.writeUInt32LE(i, 8);
      return Buffer.concat([h, c.body, Buffer.alloc(((c.body.length + 3) & ~3) - c.body.length)]);
    }),
  );
  const expected = parseMessages(whole).map((m) => [m.type, m.seq, m.payload.toString('hex')]);
  t.equal(expected.length, captured.length);
  for (let cut = 1; cut < whole.length; cut += 1) {
    const r = new NlMessageReader();
    const got = [...r.push(whole.subarray(0, cut)), ...r.push(whole.subarray(cut))];
    if (got.length !== expected.length) {
      t.fail(`split at ${cut}: ${got.length} messages`);
      return;
    }
    t.equal(r.pending, 0);
  }
  const r = new NlMessageReader();
  const got = [];
  for (let i = 0; i < whole.length; i++) got.push(...r.push(whole.subarray(i, i + 1)));
  t.same(
    got.map((m) => [m.type, m.seq, m.payload.toString('hex')]),
    expected,
    'byte by byte',
  );
});

t.test('malformed input is refused with NETLINK_ERR_PROTOCOL, never misread', async (t) => {
  const rule = find('add rule inet ocn-x prerouting meta nfproto ipv4 ip daddr');
  const msg = (payload: Buffer) => ({ type: rule.type, flags: 0, seq: 0, portId: 0, payload });
  // Truncated anywhere inside the attributes: an attribute overruns what is left.
  // (Cutting only the last attribute's padding is fine: the kernel does not send it either way.)
  for (const cut of [6, 20, 40, 100, rule.body.length - 4]) {
    t.throws(
      () => decodeRule(msg(rule.body.subarray(0, cut))),
      { code: 'NETLINK_ERR_PROTOCOL' },
      `cut at ${cut}`,
    );
  }
  // An attribute length smaller than its header.
  const broken = Buffer.from(rule.body);
  broken.writeUInt16LE(2, 4);
  t.throws(() => decodeRule(msg(broken)), { code: 'NETLINK_ERR_PROTOCOL', message: /length 2/ });
  t.throws(() => decodeTable(msg(Buffer.from([1, 0]))), {
    code: 'NETLINK_ERR_PROTOCOL',
    message: /without nfgenmsg/,
  });
  t.throws(() => decodeChain(msg(Buffer.from([99, 0, 0, 0]))), { message: /unknown nf_tables family 99/ });
  t.throws(() => parseMessages(Buffer.alloc(10)), { message: /shorter than a nlmsghdr/ });
  const h = Buffer.alloc(16);
  h.writeUInt32LE(400, 0);
  t.throws(() => parseMessages(h), { message: /nlmsg_len 400/ });
  t.throws(() => new NlMessageReader().push(Buffer.alloc(16)), { message: /nlmsg_len 0/ });
  t.throws(() => decodeError(msg(Buffer.alloc(8))), { message: /NLMSG_ERROR of 8 bytes/ });
});

t.test('masquerade and forward-accept builders check every field', async (t) => {
  const m = masqueradeRule({ source: '10.0.0.0/24', notOutInterfaces: ['br-x'] });
  t.equal(m.chain, 'postrouting');
  t.same(m.expressions, [
    ...match.nfproto(4),
    ...match.addr('saddr', v4('10.0.0.0/24')),
    ...match.ifname('oifname', 'br-x', true),
    ...stmt.masquerade(),
  ]);
  const bad: [() => unknown, string][] = [
    [() => masqueradeRule({ source: '10.0.0.0' }), 'source'],
    [() => masqueradeRule({ source: '10.0.0.0/24', notOutInterfaces: ['a/b'] }), 'notOutInterfaces[0]'],
    [() => forwardAcceptRule({ ctState: ['bogus' as never] }), 'ctState'],
    [() => forwardAcceptRule({ dport: 80 }), 'proto'],
    [() => forwardAcceptRule({ saddr: '10.0.0.0/8', daddr: 'fd00::1' }), 'daddr'],
    [() => forwardAcceptRule({ iifname: 'x'.repeat(16) }), 'iifname'],
  ];
  for (const [fn, field] of bad) t.throws(fn, { code: 'NETLINK_ERR_INVALID_ARGUMENT', field }, field);
});

t.test('interval elements: one past the end, none past the top of the key space', async (t) => {
  const show = (els: { key: Buffer; intervalEnd?: boolean | undefined }[]) =>
    els.map((e) => `${[...e.key].join('.')}${e.intervalEnd === true ? '!' : ''}`);
  t.same(show(intervals.cidrs([v4('10.1.0.0/16'), v4('192.0.2.1'), v4('10.3.255.0/20')])), [
    '10.1.0.0',
    '10.2.0.0!',
    '192.0.2.1',
    '192.0.2.2!',
    '10.3.240.0',
    '10.4.0.0!',
  ]);
  t.same(show(intervals.cidrs([v4('255.255.255.255'), v4('128.0.0.0/1'), v4('0.0.0.0/0')])), [
    '255.255.255.255',
    '128.0.0.0',
    '0.0.0.0',
  ]);
  t.same(
    intervals
      .ports([80, [8000, 8100], [65000, 65535]])
      .map((e) => [e.key.readUInt16BE(0), e.intervalEnd === true]),
    [
      [80, false],
      [81, true],
      [8000, false],
      [8101, true],
      [65000, false],
    ],
  );
});

t.test('sets: nft bytes decode to typed values, and encode back byte for byte', async (t) => {
  const nets = find('add set ip sets nets');
  const dmap = find('add map ip sets dmap');
  const msg = (c: Captured) => ({ type: c.type, flags: c.flags, seq: 0, portId: 0, payload: c.body });
  const s1 = decodeSet(msg(nets));
  t.match(s1, {
    family: 'ip',
    table: 'sets',
    name: 'nets',
    flags: ['interval'],
    keyType: NFT_TYPE.ipv4_addr,
    keyLen: 4,
    id: 1,
  });
  const s2 = decodeSet(msg(dmap));
  t.match(s2, {
    name: 'dmap',
    flags: ['map'],
    keyType: NFT_TYPE.inet_service,
    keyLen: 2,
    dataType: NFT_TYPE.ipv4_addr,
    dataLen: 4,
    id: 2,
  });
  // Our encoder, given nft's userdata (its key/data byte-order TLVs), produces nft's exact message.
  const b = new NftBatch();
  b.addSet({
    family: 'ip',
    table: 'sets',
    name: 'nets',
    flags: ['interval'],
    keyType: 7,
    keyLen: 4,
    userdata: s1.userdata,
  });
  b.addSet({
    family: 'ip',
    table: 'sets',
    name: 'dmap',
    flags: ['map'],
    keyType: 13,
    keyLen: 2,
    dataType: 7,
    dataLen: 4,
    userdata: s2.userdata,
  });
  t.equal(body((b.ops[0] as { request: NftRequest }).request).toString('hex'), nets.body.toString('hex'));
  t.equal(body((b.ops[1] as { request: NftRequest }).request).toString('hex'), dmap.body.toString('hex'));
  t.same(
    b.ops.map((o) => o.request.flags | 1),
    [nets.flags, dmap.flags],
  );
});
