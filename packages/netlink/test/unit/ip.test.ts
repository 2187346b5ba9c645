// IP text ↔ network-order bytes, CIDR parsing, RFC 5952 formatting, IPv4 broadcast.
import t from 'tap';
import { formatIp, ipv4Broadcast, parseCidr, parseIp } from '../../src/ip.js';

t.test('IPv4 text to bytes and back', async (t) => {
  const a = parseIp('10.0.255.1');
  t.equal(a.family, 4);
  t.same([...a.bytes], [10, 0, 255, 1]);
  t.equal(formatIp(a.bytes), '10.0.255.1');
  for (const bad of ['10.0.0', '256.0.0.1', '01.0.0.1', '1.2.3.4.5', '', 'x', 1]) {
    t.throws(() => parseIp(bad, 'gateway'), { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'gateway' });
  }
});

t.test('IPv6 text to bytes and back in canonical form (RFC 5952)', async (t) => {
  const cases: [string, string][] = [
    ['fd00::1', 'fd00::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::ff:fe00:2', 'fe80::ff:fe00:2'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ];
  for (const [input, canonical] of cases) {
    const ip = parseIp(input);
    t.equal(ip.family, 6);
    t.equal(ip.bytes.length, 16);
    t.equal(formatIp(ip.bytes), canonical, input);
  }
  t.same([...parseIp('fd00::1').bytes], [0xfd, 0, ...new Array(13).fill(0), 1]);
  for (const bad of ['fd00:::1', 'fe80::1%eth0', 'g::1', '1:2:3:4:5:6:7:8:9']) {
    t.throws(() => parseIp(bad), { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'address' });
  }
});

t.test('CIDR: prefix required unless told otherwise, bounded by the family', async (t) => {
  t.same(parseCidr('10.0.0.2/24').prefixLen, 24);
  t.same(parseCidr('fd00::2/64').prefixLen, 64);
  t.equal(parseCidr('10.0.0.2', 'dst', false).prefixLen, 32);
  t.equal(parseCidr('fd00::2', 'dst', false).prefixLen, 128);
  for (const bad of ['10.0.0.2', '10.0.0.2/33', 'fd00::/129', '10.0.0.2/', '10.0.0.2/a', '/24']) {
    t.throws(
      () => parseCidr(bad, 'address'),
      { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'address', value: bad },
      bad,
    );
  }
});

t.test('IPv4 broadcast of a network', async (t) => {
  t.equal(formatIp(ipv4Broadcast(parseCidr('10.0.0.2/24'))), '10.0.0.255');
  t.equal(formatIp(ipv4Broadcast(parseCidr('172.16.5.9/12'))), '172.31.255.255');
  t.equal(formatIp(ipv4Broadcast(parseCidr('10.0.0.2/0'))), '255.255.255.255');
  t.equal(formatIp(ipv4Broadcast(parseCidr('10.0.0.2/32'))), '10.0.0.2');
});
