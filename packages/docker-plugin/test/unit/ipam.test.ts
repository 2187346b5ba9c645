import t from 'tap';
import { cidrContainsIp, Ipam, parseCidr } from '../../src/core/ipam.js';

const gw = { RequestAddressType: 'com.docker.network.gateway' };

t.test('explicit pools: identical requests share a reference-counted pool', async (t) => {
  const ipam = new Ipam();
  const a = ipam.requestPool({ AddressSpace: 'ocn-local', Pool: '10.9.0.7/24' });
  t.same(a, { PoolID: 'ocn-local/10.9.0.0/24', Pool: '10.9.0.0/24', Data: {} });
  t.same(ipam.requestPool({ AddressSpace: 'ocn-local', Pool: '10.9.0.0/24' }), a);
  t.equal(ipam.pool(a.PoolID)?.refs, 2);
  t.throws(() => ipam.requestPool({ Pool: '10.9.0.128/25' }), /overlaps pool 10.9.0.0\/24/);
  ipam.releasePool(a.PoolID);
  t.ok(ipam.pool(a.PoolID), 'still referenced once');
  ipam.releasePool(a.PoolID);
  t.equal(ipam.pool(a.PoolID), undefined);
  t.throws(() => ipam.releasePool(a.PoolID), /unknown pool/);
  t.throws(() => ipam.requestPool({ AddressSpace: 'other', Pool: '10.0.0.0/8' }), /unknown address space/);
  t.throws(() => ipam.requestPool({ Pool: '10.0.0.0' }), /not a CIDR/);
  t.throws(() => ipam.requestPool({ Pool: 'fd00::/64' }), /not an IPv4 CIDR/);
  t.throws(() => ipam.requestPool({ Pool: '10.0.0.0/24', SubPool: '10.0.1.0/25' }), /not inside/);
});

t.test('default pools: a different free pool on each request', async (t) => {
  const ipam = new Ipam();
  const a = ipam.requestPool({});
  const b = ipam.requestPool({});
  t.equal(a.Pool, '10.97.0.0/24');
  t.equal(b.Pool, '10.97.1.0/24');
  ipam.releasePool(a.PoolID);
  t.equal(ipam.requestPool({}).Pool, '10.97.2.0/24', 'a retry moves on');
  const v6 = ipam.requestPool({ V6: true });
  t.equal(v6.Pool, 'fd6f:636e::/64');
});

t.test('addresses: gateway first, then the sub-pool, no duplicates, release', async (t) => {
  const ipam = new Ipam();
  const p = ipam.requestPool({ Pool: '192.168.7.0/24', SubPool: '192.168.7.128/25' });
  t.same(ipam.requestAddress({ PoolID: p.PoolID, Options: gw }), { Address: '192.168.7.1/24', Data: {} });
  t.equal(ipam.requestAddress({ PoolID: p.PoolID }).Address, '192.168.7.128/24');
  t.equal(ipam.requestAddress({ PoolID: p.PoolID }).Address, '192.168.7.129/24');
  t.equal(ipam.requestAddress({ PoolID: p.PoolID, Address: '192.168.7.50' }).Address, '192.168.7.50/24');
  t.throws(() => ipam.requestAddress({ PoolID: p.PoolID, Address: '192.168.7.50' }), /already in use/);
  t.throws(() => ipam.requestAddress({ PoolID: p.PoolID, Address: '192.168.8.1' }), /not in pool/);
  t.throws(() => ipam.requestAddress({ PoolID: p.PoolID, Address: '192.168.7.255' }), /broadcast/);
  ipam.releaseAddress({ PoolID: p.PoolID, Address: '192.168.7.128/24' });
  t.equal(ipam.requestAddress({ PoolID: p.PoolID }).Address, '192.168.7.128/24', 'released address reused');

  const small = ipam.requestPool({ Pool: '10.1.1.0/30' });
  t.equal(ipam.requestAddress({ PoolID: small.PoolID }).Address, '10.1.1.1/30');
  t.equal(ipam.requestAddress({ PoolID: small.PoolID }).Address, '10.1.1.2/30');
  t.throws(() => ipam.requestAddress({ PoolID: small.PoolID }), /no free address/);

  const v6 = ipam.requestPool({ Pool: 'fd00:1::/64', V6: true });
  t.equal(ipam.requestAddress({ PoolID: v6.PoolID, Options: gw }).Address, 'fd00:1::1/64');
  t.equal(ipam.requestAddress({ PoolID: v6.PoolID }).Address, 'fd00:1::2/64');
});

t.test('snapshots round-trip', async (t) => {
  const ipam = new Ipam();
  const p = ipam.requestPool({ Pool: '10.3.0.0/24' });
  ipam.requestAddress({ PoolID: p.PoolID });
  const copy = new Ipam(JSON.parse(JSON.stringify(ipam.snapshot())));
  t.equal(copy.requestAddress({ PoolID: p.PoolID }).Address, '10.3.0.2/24');
});

t.test('cidr helpers', async (t) => {
  t.equal(parseCidr('x', 'fd00:0:0:0::5/64').text, 'fd00::/64');
  t.ok(cidrContainsIp('10.0.0.0/24', '10.0.0.9/24'));
  t.notOk(cidrContainsIp('10.0.0.0/24', '10.0.1.9'));
});

// Regression (issue 12, item 2): a RequestAddress in flight when the plugin died left its allocation for
// good (Docker resends it empty, fails the run, and never releases an address it never got).
t.test('reap releases old allocations nobody uses, and only those', async (t) => {
  const ipam = new Ipam();
  const p = ipam.requestPool({ AddressSpace: 'ocn-local', Pool: '10.44.0.0/24' });
  const gwAddr = ipam.requestAddress({ PoolID: p.PoolID, Options: gw }).Address;
  const a = ipam.requestAddress({ PoolID: p.PoolID }).Address;
  const lost = ipam.requestAddress({ PoolID: p.PoolID }).Address;
  const bare = (x: string) => x.replace(/\/\d+$/, '');
  t.same(
    ipam.reap('10.44.0.0/24', new Set([bare(gwAddr), bare(a)]), Date.now() - 60_000),
    [],
    'young allocations stay',
  );
  t.same(
    ipam.reap('10.44.0.0/24', new Set([bare(gwAddr), bare(a)]), Date.now() + 1),
    [bare(lost)],
    'the unused one goes',
  );
  t.same(ipam.pool(p.PoolID)?.allocated.sort(), [bare(gwAddr), bare(a)].sort());
  t.same(ipam.reap('10.45.0.0/24', new Set(), Date.now() + 1), [], 'other pools are not touched');
  const again = new Ipam(ipam.snapshot());
  t.ok(again.snapshot().pools[0]?.leases?.[bare(a)], 'lease times survive the round trip through OVS');
});
