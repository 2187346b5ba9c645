// Address parsing and canonical printing: what OVN_Northbound stores for MACs, IPs, prefixes, endpoints.
import t from 'tap';
import {
  checkIp,
  checkIpPort,
  checkMac,
  checkPrefix,
  networkOf,
  OvnInvalidArgumentError,
  parseIp,
  parsePrefix,
} from '../../src/index.js';

t.test('IPv4 and IPv6 addresses, canonical IPv6 per RFC 5952', async (t) => {
  t.equal(parseIp('10.0.0.1')?.text, '10.0.0.1');
  for (const bad of [
    '10.0.0',
    '10.0.0.256',
    '010.0.0.1',
    '1.2.3.4.5',
    '',
    'fe80::1%eth0',
    ':::',
    '1::2::3',
    'g::1',
  ]) {
    t.equal(parseIp(bad), undefined, `${JSON.stringify(bad)} is not an address`);
  }
  const v6: [string, string][] = [
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ['fe80::', 'fe80::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ];
  for (const [given, canonical] of v6) t.equal(parseIp(given)?.text, canonical, `${given} → ${canonical}`);
});

t.test('prefixes: length, host bits, bare addresses, network of', async (t) => {
  t.match(parsePrefix('10.0.0.0/24'), { length: 24, isNetwork: true, cidr: '10.0.0.0/24' });
  t.match(parsePrefix('10.0.0.5/24'), { isNetwork: false });
  t.equal(parsePrefix('10.0.0.5'), undefined, 'a bare address is not a prefix by default');
  t.match(parsePrefix('10.0.0.5', true), { length: 32, isNetwork: true });
  t.equal(parsePrefix('10.0.0.0/33'), undefined);
  t.equal(parsePrefix('10.0.0.0/024'), undefined);
  t.equal(networkOf(parsePrefix('10.1.2.3/16')!), '10.1.0.0/16');
  t.equal(networkOf(parsePrefix('fd00:1:2:3::9/64')!), 'fd00:1:2:3::/64');
  t.throws(() => checkPrefix('subnet', '10.0.0.1/24', { network: true }), {
    message: /invalid subnet: "10\.0\.0\.1\/24" \(allowed: .*no host bits set/,
  });
  t.throws(() => checkPrefix('p', 'fd00::/64', { family: 4 }), { message: /an IPv4 prefix/ });
});

t.test('MACs are lower-cased; bad ones name the field', async (t) => {
  t.equal(checkMac('mac', '0A:BB:cc:00:00:01'), '0a:bb:cc:00:00:01');
  for (const bad of ['0a:bb:cc:00:00', '0a-bb-cc-00-00-01', 'zz:00:00:00:00:00', 7]) {
    t.throws(() => checkMac('LogicalRouterPort.mac', bad), OvnInvalidArgumentError);
  }
  try {
    checkMac('LogicalRouterPort.mac', 'x');
    t.fail('accepted');
  } catch (e) {
    t.match(e, { field: 'LogicalRouterPort.mac', value: 'x', code: 'OVN_ERR_INVALID_ARGUMENT' });
  }
});

t.test('endpoints IP[:port] as load balancers store them', async (t) => {
  t.same(checkIpPort('vip', '10.0.0.1:80'), { ip: checkIp('x', '10.0.0.1'), port: 80, text: '10.0.0.1:80' });
  t.equal(checkIpPort('vip', '10.0.0.1').text, '10.0.0.1');
  t.equal(checkIpPort('vip', '[FD00::0001]:443').text, '[fd00::1]:443');
  t.equal(checkIpPort('vip', 'fd00::1').text, 'fd00::1');
  t.equal(checkIpPort('vip', '[fd00::1]').text, 'fd00::1');
  for (const bad of [
    '10.0.0.1:0',
    '10.0.0.1:65536',
    '10.0.0.1:',
    'fd00::1:80x',
    '[10.0.0.1]:80',
    '[fd00::1]80',
    'host:80',
  ]) {
    t.throws(() => checkIpPort('vip', bad), { message: /invalid vip: .* \(allowed: an endpoint/ }, bad);
  }
});
