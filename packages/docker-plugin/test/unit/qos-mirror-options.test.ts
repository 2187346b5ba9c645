// Rate-limit and mirror options: units, defaults, network defaults under endpoint options, and refusals that
// name the option, the value and what is allowed.
import t from 'tap';
import { parseEndpointExtras } from '../../src/core/endpoint-extras.js';
import { InvalidOptionError } from '../../src/core/errors.js';
import { parseNetworkOptions } from '../../src/core/options.js';
import {
  checkRateLimits,
  decodeLimit,
  defaultBurst,
  encodeLimit,
  encodeNetworkQos,
  parseBurst,
  parseRate,
} from '../../src/core/qos.js';
import type { NetworkRecord } from '../../src/core/records.js';
import { decodeNetwork, encodeNetwork } from '../../src/core/records.js';

t.test('rates and bursts with units', async (t) => {
  t.equal(parseRate('rate.ingress', '10mbit'), 10_000_000);
  t.equal(parseRate('rate.ingress', '10M'), 10_000_000);
  t.equal(parseRate('rate.ingress', '1.5gbit'), 1_500_000_000);
  t.equal(parseRate('rate.ingress', '500kbit'), 500_000);
  t.equal(parseBurst('burst.egress', '64kb'), 65_536);
  t.equal(parseBurst('burst.egress', '1514'), 1514);
  t.equal(parseBurst('burst.egress', '2m'), 2 * 1024 * 1024);
  for (const bad of ['10', 'fast', '10mbps', '-1mbit', '1bit', '200gbit', ''])
    t.throws(() => parseRate('rate.ingress', bad), InvalidOptionError, bad);
  t.throws(
    () => parseRate('rate.ingress', '10'),
    /invalid option rate.ingress="10": expected a rate in bits per second with a unit/,
  );
  t.throws(
    () => parseBurst('burst.ingress', '100'),
    /invalid option burst.ingress="100": expected a size in bytes/,
  );
  t.equal(defaultBurst(10e6), 12_500, '10 ms at the rate');
  t.equal(defaultBurst(1e6), 3028, 'at least two frames');
  t.same(decodeLimit(encodeLimit({ rate: 10e6, burst: 12500 })), { rate: 10e6, burst: 12500 });
  for (const forged of ['1/2', 'x', '10000000/1', '10000000/12500/1', '99999999999999/12500'])
    t.equal(decodeLimit(forged), undefined, `forged ${forged}`);
});

t.test('network options: defaults recorded, refused values name the option', async (t) => {
  const ctx = { datapathType: 'netdev' as const, internal: false, ipv6: false };
  const o = parseNetworkOptions(
    { 'rate.ingress': '10mbit', 'burst.ingress': '64kb', 'rate.egress': '50mbit', 'mirror.to': 'mon' },
    ctx,
  );
  t.same(o.qos, { ingress: { rate: 10e6, burst: 65536 }, egress: { rate: 50e6, burst: 62500 } });
  t.equal(o.mirrorTo, 'mon');
  t.same(encodeNetworkQos(o.qos), { ingress: '10000000/65536', egress: '50000000/62500' });
  t.throws(
    () => parseNetworkOptions({ 'burst.ingress': '64kb' }, ctx),
    /burst.ingress="64kb": expected a burst together with a rate/,
  );
  t.throws(
    () => parseNetworkOptions({ 'rate.sideways': '1mbit' }, ctx),
    /rate.sideways="1mbit": expected a known option;.*rate.ingress/,
  );
  t.throws(
    () => parseNetworkOptions({ 'mirror.to': 'a b' }, ctx),
    /mirror.to="a b": expected a monitor name/,
  );
  t.throws(
    () => parseNetworkOptions({ mtu: '9000', 'rate.egress': '10mbit', 'burst.egress': '4kb' }, ctx),
    /burst.egress="4kb": expected at least one frame of the network's MTU 9000/,
  );
});

t.test('endpoint options over the network defaults', async (t) => {
  const net = {
    v: 1,
    id: 'a'.repeat(64),
    owner: 'ocn',
    bridge: 'br0',
    vlan: 5,
    mtu: 1500,
    datapathType: 'netdev',
    gatewayMode: 'none',
    isolate: true,
    qos: { ingress: '10000000/12500' },
  } as NetworkRecord;
  t.ok(decodeNetwork(encodeNetwork(net)), 'a record with qos decodes');
  t.equal(
    decodeNetwork(encodeNetwork({ ...net, qos: { ingress: 'lots' } })),
    undefined,
    'a forged qos is refused',
  );
  t.same(
    parseEndpointExtras({}, net).limits,
    { ingress: { rate: 10e6, burst: 12500 } },
    'the network default',
  );
  t.same(parseEndpointExtras({ 'rate.ingress': '50mbit' }, net).limits, {
    ingress: { rate: 50e6, burst: 62500 },
  });
  t.same(
    parseEndpointExtras({ 'rate.ingress': 'none' }, net).limits,
    { ingress: null },
    'lifted for one endpoint',
  );
  t.same(parseEndpointExtras({ 'burst.ingress': '32kb' }, net).limits, {
    ingress: { rate: 10e6, burst: 32768 },
  });
  t.same(
    parseEndpointExtras({ 'com.docker.network.endpoint.exposedports': [] }, net).limits.egress,
    undefined,
  );
  t.equal(parseEndpointExtras({ 'mirror.monitor': 'mon' }, net).monitor, 'mon');
  t.throws(
    () => parseEndpointExtras({ 'mirror.from': 'x' }, net),
    /mirror.from="x": expected a known endpoint option/,
  );
  t.throws(
    () => parseEndpointExtras({ 'mirror.to': 'm', 'mirror.monitor': 'm' }, net),
    /nothing on a monitor/,
  );
});

t.test('orchestrator limits as objects', async (t) => {
  t.same(checkRateLimits('limits', { ingress: { rate: 10e6 } }), { ingress: { rate: 10e6, burst: 12500 } });
  t.same(checkRateLimits('limits', { egress: null }), { egress: null });
  t.throws(
    () => checkRateLimits('limits', { egress: { rate: 10e6, burst: 1000 } }, 1500),
    /limits.egress.burst=1000: expected an integer number of bytes from 1514/,
  );
  t.throws(() => checkRateLimits('limits', [1]), /limits=\[1\]/);
});
