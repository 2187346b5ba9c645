// Names and values are refused before the kernel sees them, with the field, the value and what is allowed.
import t from 'tap';
import { NetlinkInvalidArgumentError } from '../../src/errors.js';
import { formatMac, parseMac, validateIfname, validateMtu, validateNetnsName } from '../../src/validate.js';

t.test('interface names: 1..15 bytes, no slash, colon, whitespace, not . or ..', async (t) => {
  for (const ok of ['eth0', 'a', 'ocnt0123456789a', 'veth-x_y.z', 'ünï']) t.equal(validateIfname(ok), ok);
  for (const bad of [
    '',
    '.',
    '..',
    'a/b',
    'a b',
    'a\tb',
    'a:1',
    'ocnt0123456789ab',
    'üüüüüüüü',
    'x\0y',
    7,
    null,
  ]) {
    t.throws(() => validateIfname(bad, 'peer.name'), NetlinkInvalidArgumentError, JSON.stringify(bad));
  }
  t.throws(() => validateIfname('0123456789abcdef', 'peer.name'), {
    code: 'NETLINK_ERR_INVALID_ARGUMENT',
    field: 'peer.name',
    value: '0123456789abcdef',
    message: /invalid peer\.name: "0123456789abcdef" \(allowed: 1\.\.15 bytes/,
  });
});

t.test('namespace names: a file name under /run/netns', async (t) => {
  t.equal(validateNetnsName('ocntns1'), 'ocntns1');
  for (const bad of ['', '.', '..', 'a/b', 'a b', 'x'.repeat(256)]) {
    t.throws(() => validateNetnsName(bad), { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'netns' });
  }
});

t.test('MTU 68..65535', async (t) => {
  t.equal(validateMtu(1500), 1500);
  for (const bad of [67, 65536, 1500.5, '1500', -1])
    t.throws(() => validateMtu(bad), { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'mtu' });
});

t.test('MAC addresses: six octets, unicast, not zero; round trip', async (t) => {
  t.equal(formatMac(parseMac('02:AB:cd:00:11:22')), '02:ab:cd:00:11:22');
  t.equal(formatMac(parseMac('02-00-00-00-00-01')), '02:00:00:00:00:01');
  for (const bad of ['01:00:5e:00:00:01', '00:00:00:00:00:00', '02:00:00:00:00', 'zz:00:00:00:00:00', 3]) {
    t.throws(() => parseMac(bad, 'peer.mac'), { code: 'NETLINK_ERR_INVALID_ARGUMENT', field: 'peer.mac' });
  }
});
