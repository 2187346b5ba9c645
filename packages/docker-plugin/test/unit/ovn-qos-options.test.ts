// OVN mode's QoS rules (core/ovn/qos.ts): options over a network's defaults, the policer's default burst,
// the NB bandwidth units, and the switch record round trip. Pure.
import t from 'tap';
import { InvalidOptionError } from '../../src/core/errors.js';
import { mirrorRows, parseOvnMirrorOptions } from '../../src/core/ovn/mirror.js';
import { parseOvnNetworkOptions } from '../../src/core/ovn/model.js';
import { nbBandwidth, parseOvnQosOptions, switchQos, switchQosIds } from '../../src/core/ovn/qos.js';
import { policerBurst } from '../../src/core/qos.js';

t.test('options over defaults, policer burst, units', async (t) => {
  const net = parseOvnQosOptions({ 'rate.egress': '10mbit', dscp: '46' });
  t.same(net, { limits: { egress: { rate: 10_000_000, burst: 375_000 } }, dscp: 46 }, '300 ms of burst');
  t.equal(policerBurst(10_000_000), 375_000);
  t.equal(policerBurst(8_000), 3_028, 'at least two frames');
  t.same(nbBandwidth({ rate: 10_000_000, burst: 375_000 }), { rate: 10_000, burst: 3_000 }, 'kbit/s, kbit');
  t.same(nbBandwidth({ rate: 8_001, burst: 1_514 }), { rate: 9, burst: 13 }, 'rounded up, never 0');
  const ep = parseOvnQosOptions({ 'rate.egress': 'none', 'rate.ingress': '50mbit', dscp: 'none' }, net);
  t.same(ep, { limits: { egress: null, ingress: { rate: 50_000_000, burst: 1_875_000 } }, dscp: null });
  t.same(parseOvnQosOptions({ 'burst.egress': '1mb' }, net).limits.egress, {
    rate: 10_000_000,
    burst: 1_048_576,
  });
  t.same(parseOvnQosOptions({ dns_name: 'x' }, net), net, 'other keys ignored');
  t.throws(() => parseOvnQosOptions({ dscp: '64' }), /dscp.*"64".*0 to 63/);
  t.throws(() => parseOvnQosOptions({ dscp: '4.5' }), InvalidOptionError);
  t.throws(() => parseOvnQosOptions({ 'rate.up': '1mbit' }), /rate\.up.*rate\.ingress/);
  t.throws(() => parseOvnQosOptions({ 'burst.ingress': '1mb' }), /together with a rate/);
});

t.test('network record on the switch', async (t) => {
  const q = parseOvnQosOptions({ 'rate.ingress': '5mbit', 'burst.ingress': '64kb', dscp: '10' });
  const ids = switchQosIds(q);
  t.same(ids, { 'ocn-rate-ingress': '5000000/65536', 'ocn-dscp': '10' });
  t.same(switchQos(ids), q);
  t.same(
    switchQos({ 'ocn-rate-ingress': 'lots', 'ocn-dscp': '99' }),
    { limits: {} },
    'forged values ignored',
  );
  t.same(parseOvnNetworkOptions({ mode: 'ovn', logical_switch: 'w', 'rate.egress': '1mbit' }).qos, {
    'rate.egress': '1mbit',
  });
});

t.test('mirror options of an OVN endpoint (core/ovn/mirror.ts)', async (t) => {
  t.equal(parseOvnMirrorOptions({ dns_name: 'x' }), undefined, 'no mirror.sink: no mirror');
  t.same(parseOvnMirrorOptions({ 'mirror.sink': '10.0.0.9' }), { sink: '10.0.0.9', type: 'gre', key: 0 });
  t.same(parseOvnMirrorOptions({ 'mirror.sink': '10.0.0.9', 'mirror.type': 'erspan', 'mirror.key': '7' }), {
    sink: '10.0.0.9',
    type: 'erspan',
    key: 7,
  });
  t.same(
    mirrorRows('ocn/w/10.1.0.2', 'p', { sink: '10.0.0.9', type: 'gre', key: 7 }).map((r) => [
      r.name,
      r.filter,
      r.index,
    ]),
    [
      ['ocn/w/10.1.0.2/sent', 'from-lport', 7],
      ['ocn/w/10.1.0.2/received', 'to-lport', 8],
    ],
  );
  t.throws(
    () => parseOvnMirrorOptions({ 'mirror.sink': '10.0.0.9', 'mirror.type': 'local' }),
    /gre or erspan/,
  );
  t.throws(() => parseOvnMirrorOptions({ 'mirror.sink': 'fd00::1' }), /IPv4/);
  t.throws(() => parseOvnMirrorOptions({ 'mirror.sink': '10.0.0.9', 'mirror.key': '1023' }), /0 to 1022/);
  t.throws(() => parseOvnMirrorOptions({ 'mirror.to': 'mon' }), /mirror\.to.*GRE\/ERSPAN collector/);
  t.throws(() => parseOvnMirrorOptions({ 'mirror.type': 'gre' }), /mirror\.sink/);
});
