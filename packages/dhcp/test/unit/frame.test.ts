// Ethernet/IPv4/UDP/ARP framing: checksums (RFC 1071 / RFC 768), and what the parser refuses.
import t from 'tap';
import {
  buildArpProbe,
  buildArpReply,
  buildUdpFrame,
  internetChecksum,
  parseArp,
  parseUdpFrame,
} from '../../src/index.js';

const mac = Buffer.from([2, 0x42, 0, 0, 0, 9]);
const payload = Buffer.from('dhcp payload, odd length');

function frame(): Buffer {
  return buildUdpFrame({
    srcMac: mac,
    dstMac: Buffer.alloc(6, 0xff),
    srcIp: '0.0.0.0',
    dstIp: '255.255.255.255',
    srcPort: 68,
    dstPort: 67,
    payload,
  });
}

t.test('RFC 1071 example sum', async (t) => {
  // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2; the checksum is its complement.
  t.equal(internetChecksum(Buffer.from([0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7])), ~0xddf2 & 0xffff);
});

t.test('a built frame parses back; IP and UDP checksums verify to zero', async (t) => {
  const f = frame();
  t.equal(f.readUInt16BE(12), 0x0800);
  const ip = f.subarray(14, 34);
  t.equal(internetChecksum(ip), 0, 'IP header checksum');
  const udp = f.subarray(34);
  const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17]), udp.subarray(4, 6)]);
  t.equal(internetChecksum(pseudo, udp), 0, 'UDP checksum over the pseudo header');
  t.same(parseUdpFrame(f), {
    dstMac: 'ff:ff:ff:ff:ff:ff',
    srcMac: '02:42:00:00:00:09',
    srcIp: '0.0.0.0',
    dstIp: '255.255.255.255',
    srcPort: 68,
    dstPort: 67,
    payload,
  });
});

t.test('the parser ignores what is not an unfragmented IPv4 UDP datagram with a good header', async (t) => {
  const f = frame();
  for (let n = 0; n < 42; n++) t.equal(parseUdpFrame(f.subarray(0, n)), undefined, `truncated to ${n}`);
  const badSum = Buffer.from(f);
  badSum[14 + 8] = 1; // TTL changed, checksum not
  t.equal(parseUdpFrame(badSum), undefined, 'bad IP checksum');
  const frag = Buffer.from(f);
  frag.writeUInt16BE(0x2000, 14 + 6); // MF
  t.equal(parseUdpFrame(frag), undefined, 'fragment');
  const tcp = Buffer.from(f);
  tcp[14 + 9] = 6;
  t.equal(parseUdpFrame(tcp), undefined, 'TCP');
  const v6 = Buffer.from(f);
  v6.writeUInt16BE(0x86dd, 12);
  t.equal(parseUdpFrame(v6), undefined, 'IPv6 ethertype');
});

t.test('ARP: a request is parsed and answered with our MAC and address', async (t) => {
  const req = Buffer.alloc(42);
  Buffer.alloc(6, 0xff).copy(req, 0);
  Buffer.from([2, 0, 0, 0, 0, 1]).copy(req, 6);
  req.writeUInt16BE(0x0806, 12);
  Buffer.from([0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 7]).copy(
    req,
    14,
  );
  const a = parseArp(req);
  t.same(a, {
    op: 'request',
    senderMac: '02:00:00:00:00:01',
    senderIp: '10.0.0.1',
    targetMac: '00:00:00:00:00:00',
    targetIp: '10.0.0.7',
  });
  const reply = parseArp(buildArpReply(a as NonNullable<typeof a>, mac, '10.0.0.7'));
  t.same(reply, {
    op: 'reply',
    senderMac: '02:42:00:00:00:09',
    senderIp: '10.0.0.7',
    targetMac: '02:00:00:00:00:01',
    targetIp: '10.0.0.1',
  });
  t.equal(parseArp(req.subarray(0, 41)), undefined);
  t.equal(parseArp(frame()), undefined);
});

t.test('ARP probe (RFC 5227): broadcast request, sender 0.0.0.0, target the address', async (t) => {
  const f = buildArpProbe(mac, '10.0.0.7');
  t.same(f.subarray(0, 6), Buffer.alloc(6, 0xff));
  t.same(parseArp(f), {
    op: 'request',
    senderMac: '02:42:00:00:00:09',
    senderIp: '0.0.0.0',
    targetMac: '00:00:00:00:00:00',
    targetIp: '10.0.0.7',
  });
});
