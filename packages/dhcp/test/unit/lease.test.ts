// The lease record: serialization for OVS external_ids, and validation of what comes back.
import t from 'tap';
import {
  DhcpInvalidArgumentError,
  leaseTimes,
  parseLease,
  prefixLength,
  serializeLease,
} from '../../src/index.js';
import { LEASE } from '../helpers/fixtures.js';

t.test('round trip through text; small enough for an external_ids value', async (t) => {
  const text = serializeLease(LEASE);
  t.ok(text.length < 400, `${text.length} bytes`);
  t.same(parseLease(text), LEASE);
  t.same(leaseTimes(LEASE), { t1: 1_700_000_060_000, t2: 1_700_000_105_000, expires: 1_700_000_120_000 });
  t.equal(prefixLength('255.255.255.0'), 24);
  t.equal(prefixLength('255.0.255.0'), undefined);
});

t.test('bad records name the field', async (t) => {
  const bad: Array<[string, string]> = [
    ['not json', 'lease'],
    ['{"v":2}', 'lease.v'],
    [JSON.stringify({ v: 1, ...LEASE, mac: 'zz' }), 'lease.mac'],
    [JSON.stringify({ v: 1, ...LEASE, address: '10.0.0' }), 'lease.address'],
    [JSON.stringify({ v: 1, ...LEASE, routers: 'x' }), 'lease.routers'],
    [JSON.stringify({ v: 1, ...LEASE, leaseTimeSec: -1 }), 'lease.leaseTimeSec'],
    [JSON.stringify({ v: 1, ...LEASE, renewalTimeSec: 110 }), 'lease.renewalTimeSec/rebindingTimeSec'],
    [JSON.stringify({ v: 1, ...LEASE, obtainedAt: 'yesterday' }), 'lease.obtainedAt'],
    [JSON.stringify({ v: 1, ...LEASE, clientId: 'XYZ' }), 'lease.clientId'],
  ];
  for (const [text, field] of bad) {
    const err = t.throws(() => parseLease(text)) as unknown;
    t.type(err, DhcpInvalidArgumentError, field);
    t.equal((err as DhcpInvalidArgumentError).field, field);
  }
});
