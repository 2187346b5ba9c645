// The IPAM state in OVS as data (core/ipam-state.ts): the v2 format (pools only) read strictly, the v1
// format (addresses in the JSON) read for migration, lease row uuids, and the allocation's search hint.
import t from 'tap';
import { Ipam, MemoryBook, NextFree, parseCidr } from '../../src/core/ipam.js';
import {
  encodeIpamState,
  LEASE_EXT,
  leaseIds,
  leaseOf,
  leaseUuid,
  parseIpamState,
} from '../../src/core/ipam-state.js';

const WHERE = 'Open_vSwitch external_ids:ocn-ipam-x';
const pool = {
  id: 'ocn-local/10.9.0.0/24',
  addressSpace: 'ocn-local',
  v6: false,
  pool: '10.9.0.0/24',
  subPool: '',
  refs: 1,
};

t.test('v2 round-trips; no pool is no key', async (t) => {
  const text = encodeIpamState([pool]);
  t.equal(text, JSON.stringify({ v: 2, pools: [pool] }));
  t.same(parseIpamState(text, WHERE), { version: 2, pools: [pool] });
  t.equal(encodeIpamState([]), undefined);
  t.same(parseIpamState(undefined, WHERE), { version: 2, pools: [] });
});

t.test('v2 is read strictly: the error names the field, the value and what is allowed', async (t) => {
  const bad = (pools: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ v: 2, pools, ...extra });
  const cases: [string, RegExp][] = [
    ['{', /is not JSON/],
    ['[]', /the state \[\] is not allowed; expected an object/],
    [JSON.stringify({ v: 3, pools: [] }), /v 3 is not allowed; expected 2/],
    [bad([], { more: 1 }), /field "more" is not allowed; expected only v and pools/],
    [bad('x'), /pools "x" is not allowed; expected a list of at most 4096 pools/],
    [
      bad([{ ...pool, allocated: [] }]),
      /pools\[0\] field "allocated" is not allowed; expected one of id, addressSpace/,
    ],
    [
      bad([{ ...pool, refs: 0 }]),
      /pools\[0\]\.refs 0 is not allowed; expected an integer from 1 to 2147483647/,
    ],
    [bad([{ ...pool, refs: 1.5 }]), /pools\[0\]\.refs 1\.5/],
    [bad([{ ...pool, v6: 'no' }]), /pools\[0\]\.v6 "no" is not allowed; expected true or false/],
    [
      bad([{ ...pool, addressSpace: 'x' }]),
      /pools\[0\]\.addressSpace "x" is not allowed; expected ocn-local or ocn-global/,
    ],
    [
      bad([{ ...pool, pool: '10.9.0.1/24' }]),
      /pools\[0\]\.pool "10\.9\.0\.1\/24" is not allowed; expected the canonical form "10\.9\.0\.0\/24"/,
    ],
    [
      bad([{ ...pool, pool: 'fd00::/64' }]),
      /pools\[0\]\.pool "fd00::\/64" is not allowed; expected an IPv4 CIDR/,
    ],
    [
      bad([{ ...pool, subPool: '10.8.0.0/25' }]),
      /pools\[0\]\.subPool "10\.8\.0\.0\/25" is not allowed; expected '' or a CIDR inside pool/,
    ],
    [
      bad([{ ...pool, id: 'forged' }]),
      /pools\[0\]\.id "forged" is not allowed; expected "ocn-local\/10\.9\.0\.0\/24"/,
    ],
    [
      bad([pool, pool]),
      /pools\[1\]\.id "ocn-local\/10\.9\.0\.0\/24" is not allowed; expected a pool id not used by another pool/,
    ],
  ];
  for (const [text, re] of cases) t.throws(() => parseIpamState(text, WHERE), re, text.slice(0, 60));
  t.throws(() => parseIpamState('{', WHERE), { code: 'PLUGIN_ERR_IPAM' });
  t.throws(() => parseIpamState(bad([{ ...pool, refs: 0 }]), WHERE), new RegExp(WHERE));
});

t.test('v1 (addresses in the JSON) is read for migration, with lease times', async (t) => {
  const v1 = JSON.stringify({
    pools: [{ ...pool, allocated: ['10.9.0.1', '10.9.0.2'], leases: { '10.9.0.1': 1234 } }],
  });
  const before = Date.now();
  const st = parseIpamState(v1, WHERE);
  t.equal(st.version, 1);
  t.same(st.pools, [pool], 'the pools without addresses');
  const m = st.v1Leases?.get(pool.id);
  t.equal(m?.get('10.9.0.1'), 1234);
  t.ok((m?.get('10.9.0.2') ?? 0) >= before, 'no lease time: counts from now');
  t.throws(
    () => parseIpamState(JSON.stringify({ pools: [{ ...pool, allocated: ['10.8.0.1'] }] }), WHERE),
    /pools\[0\]\.allocated\[0\] "10\.8\.0\.1" is not allowed; expected an address of pool 10\.9\.0\.0\/24/,
  );
  t.throws(
    () =>
      parseIpamState(
        JSON.stringify({ pools: [{ ...pool, leases: { '10.9.0.1': -1 }, allocated: ['10.9.0.1'] }] }),
        WHERE,
      ),
    /leases\["10\.9\.0\.1"\] -1 is not allowed/,
  );
  t.throws(() => parseIpamState(JSON.stringify({ v: 1, pools: [] }), WHERE), /the v1 format has no v/);
});

t.test('lease uuids: deterministic v5 of owner + pool + address; leaseOf checks the uuid', async (t) => {
  const u = leaseUuid('x', pool.id, '10.9.0.2');
  t.equal(leaseUuid('x', pool.id, '10.9.0.2'), u, 'same key, same uuid (in every process)');
  t.equal(
    u,
    '59d03d41-42f0-51d9-9bee-e22c6db9c1fc',
    'fixed namespace: stable across releases (Python uuid5 agrees)',
  );
  t.equal(u[14], '5');
  t.not(leaseUuid('y', pool.id, '10.9.0.2'), u, 'per owner');
  t.not(leaseUuid('x', 'ocn-global/10.9.0.0/24', '10.9.0.2'), u, 'per pool');
  t.not(leaseUuid('x', pool.id, '10.9.0.3'), u, 'per address');
  const ids = leaseIds('x', pool.id, '10.9.0.2', 77);
  t.same(ids, {
    [LEASE_EXT.owner]: 'x',
    [LEASE_EXT.pool]: pool.id,
    [LEASE_EXT.address]: '10.9.0.2',
    [LEASE_EXT.leased]: '77',
  });
  t.same(leaseOf({ _uuid: u, external_ids: ids }, 'x'), { pool: pool.id, address: '10.9.0.2', leased: 77 });
  t.equal(leaseOf({ _uuid: u, external_ids: ids }, 'y'), undefined, 'another owner');
  t.equal(
    leaseOf({ _uuid: u, external_ids: { ...ids, [LEASE_EXT.address]: '10.9.0.9' } }, 'x'),
    undefined,
    'an edited row (uuid does not match its key) is not a lease',
  );
});

t.test('search hint: lowest free address, without walking the taken ones again', async (t) => {
  const book = new MemoryBook();
  let checks = 0;
  const counting = {
    has: (p: string, a: string) => {
      checks++;
      return book.has(p, a);
    },
    add: book.add.bind(book),
    delete: book.delete.bind(book),
    entries: book.entries.bind(book),
    dropPool: book.dropPool.bind(book),
  };
  const ipam = new Ipam(undefined, { book: counting });
  const p = ipam.requestPool({ Pool: '10.50.0.0/16' });
  for (let i = 0; i < 5000; i++) ipam.requestAddress({ PoolID: p.PoolID });
  checks = 0;
  t.equal(ipam.requestAddress({ PoolID: p.PoolID }).Address, '10.50.19.137/16', 'the 5,001st address');
  t.ok(checks <= 3, `checks for the 5,001st address: ${checks}`);
  ipam.releaseAddress({ PoolID: p.PoolID, Address: '10.50.0.9' });
  ipam.releaseAddress({ PoolID: p.PoolID, Address: '10.50.0.7' });
  checks = 0;
  t.equal(ipam.requestAddress({ PoolID: p.PoolID }).Address, '10.50.0.7/16', 'released: lowest first');
  t.equal(ipam.requestAddress({ PoolID: p.PoolID }).Address, '10.50.0.9/16');
  t.equal(ipam.requestAddress({ PoolID: p.PoolID }).Address, '10.50.19.138/16', 'then on from the frontier');
  t.ok(checks <= 8, `checks: ${checks}`);
  t.equal(
    ipam.requestAddress({ PoolID: p.PoolID, Options: { RequestAddressType: 'com.docker.network.gateway' } })
      .Address,
    '10.50.19.139/16',
    'the gateway search shares the range of a pool without sub-pool',
  );
});

t.test(
  'search hint: addresses freed behind its back are found once the range above is used up',
  async (t) => {
    const taken = new Set<bigint>();
    const hints = new NextFree();
    const range = parseCidr('p', '10.1.1.0/29');
    const find = () => hints.find('p', range, range, (v) => taken.has(v));
    for (let i = 0; i < 6; i++) {
      const v = find();
      if (v === undefined) throw new Error('pool full too early');
      taken.add(v);
    }
    t.equal(find(), undefined, 'full (.1–.6)');
    taken.delete(parseCidr('p', '10.1.1.3/32').base); // another writer released .3
    t.equal(find(), parseCidr('p', '10.1.1.3/32').base, 'found by the fallback scan');
  },
);
