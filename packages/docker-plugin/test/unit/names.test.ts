import t from 'tap';
import {
  decodeOptionMac,
  gatewayPortName,
  generateMac,
  hashName,
  isValidIfName,
  normalizeMac,
  vethNames,
} from '../../src/core/names.js';

const idA = `${'a'.repeat(60)}0001`;
const idB = `${'a'.repeat(60)}0002`;

t.test('veth names: at most 15 bytes, from the whole endpoint id, stable', async (t) => {
  const a = vethNames(idA);
  const b = vethNames(idB);
  t.equal(Buffer.byteLength(a.host), 15);
  t.equal(Buffer.byteLength(a.container), 15);
  t.match(a.host, /^ocnh[a-z2-7]{11}$/);
  t.match(a.container, /^ocnc[a-z2-7]{11}$/);
  t.not(a.host, b.host, 'ids differing only in the last characters get different names');
  t.same(vethNames(idA), a, 'deterministic');
  t.not(vethNames(idA, 'ocn', 1).host, a.host, 'a salt gives the alternative after a collision');
  const t4 = vethNames(idA, 'ocnt');
  t.equal(t4.host.length, 15);
  t.match(t4.host, /^ocnth/);
  t.equal(gatewayPortName(idA).length, 15);
  t.match(gatewayPortName(idA), /^ocng/);
  t.equal(hashName('x', 20).length, 20);
});

t.test('MAC addresses', async (t) => {
  const m = generateMac(idA);
  t.match(m, /^02(:[0-9a-f]{2}){5}$/, 'locally administered unicast');
  t.equal(generateMac(idA), m, 'stable for a retried CreateEndpoint');
  t.not(generateMac(idB), m);
  t.equal(normalizeMac('mac', '02-AA-bb-cc-dd-ee'), '02:aa:bb:cc:dd:ee');
  t.throws(() => normalizeMac('mac', '01:00:5e:00:00:01'), /unicast/);
  t.throws(() => normalizeMac('mac', 'zz'), /mac="zz": expected a MAC address/);
  // Docker 20.10 sends net.HardwareAddr through encoding/json: base64 of the six bytes.
  t.equal(decodeOptionMac(Buffer.from([2, 0x42, 0xac, 0x11, 0, 9]).toString('base64')), '02:42:ac:11:00:09');
  t.equal(decodeOptionMac('02:42:AC:11:00:09'), '02:42:ac:11:00:09');
  t.equal(decodeOptionMac(''), undefined);
  t.equal(decodeOptionMac('AAAA'), undefined);
});

t.test('interface names', async (t) => {
  t.ok(isValidIfName('br-0.100_x'));
  t.notOk(isValidIfName('x'.repeat(16)));
  t.notOk(isValidIfName('a b'));
  t.notOk(isValidIfName('..'));
  t.notOk(isValidIfName(''));
});
