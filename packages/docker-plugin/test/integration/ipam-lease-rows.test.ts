// The plugin's IPAM driver with one OVSDB row per allocated address (core/ipam-state.ts), against the
// shared OVS sandbox: lease rows appear and go with RequestAddress/ReleaseAddress, a new driver on the same
// database (a restart) keeps the allocations, two drivers racing get distinct addresses, the v1 format
// (addresses in the JSON) is migrated on the first write, and a refused request changes nothing in OVS.
// What OVS holds is read with ovs-vsctl, not through the replica under test. Root; needs OCN_OVSDB.
import { uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { OvsIpamDriver } from '../../src/core/ipam-driver.js';
import { LEASE_EXT, leaseUuid } from '../../src/core/ipam-state.js';
import { OvsdbBackend } from '../../src/core/ovs/backend.js';
import { sweepOrphanQos } from '../../src/core/qos.js';
import { ipamKey } from '../../src/core/records.js';
import { vsctl } from '../helpers/plugin.js';

const OVSDB = process.env.OCN_OVSDB ?? 'unix:/run/ocn-shared/db.sock';
const gw = { RequestAddressType: 'com.docker.network.gateway' };
const bare = (a: string) => a.replace(/\/\d+$/, '');

interface Row {
  uuid: string;
  ids: Record<string, string>;
}

/** The Queue rows of `owner`, as ovs-vsctl shows them. */
async function leaseRows(owner: string): Promise<Row[]> {
  const out = await vsctl(
    OVSDB,
    '--format=json',
    '--columns=_uuid,external_ids',
    'find',
    'Queue',
    `external_ids:${LEASE_EXT.owner}=${owner}`,
  );
  const { data } = JSON.parse(out) as { data: [[string, string], [string, [string, string][]]][] };
  return data
    .map(([[, uuid], [, map]]) => ({ uuid, ids: Object.fromEntries(map) }))
    .sort((a, b) => (a.ids[LEASE_EXT.address] ?? '').localeCompare(b.ids[LEASE_EXT.address] ?? ''));
}

const addresses = async (owner: string) => (await leaseRows(owner)).map((r) => r.ids[LEASE_EXT.address]);

async function stateText(owner: string): Promise<string | undefined> {
  const out = await vsctl(OVSDB, '--if-exists', 'get', 'Open_vSwitch', '.', `external_ids:ocn-ipam-${owner}`);
  return out === '' ? undefined : (JSON.parse(out) as string);
}

async function cleanup(owner: string): Promise<void> {
  for (const r of await leaseRows(owner)) await vsctl(OVSDB, 'destroy', 'Queue', r.uuid);
  await vsctl(OVSDB, 'remove', 'Open_vSwitch', '.', 'external_ids', `ocn-ipam-${owner}`);
}

let lastBackend: OvsdbBackend | undefined;
async function driver(t: { teardown(fn: () => unknown): void }, owner: string): Promise<OvsIpamDriver> {
  const backend = await OvsdbBackend.open({ endpoint: OVSDB, readyTimeoutMs: 10_000 });
  t.teardown(() => backend.close());
  lastBackend = backend;
  return new OvsIpamDriver(backend, owner);
}

const o2 = () => 20 + Math.floor(Math.random() * 200);

t.test('rows per address; release; restart; ReleasePool', async (t) => {
  const owner = uniqueName('ipl');
  t.teardown(() => cleanup(owner));
  const a = await driver(t, owner);
  const net = `10.${o2()}.${o2()}`;
  const pool = await a.requestPool({ AddressSpace: 'ocn-local', Pool: `${net}.0/24` });
  t.same(await addresses(owner), [], 'a pool alone has no rows');
  t.same(
    JSON.parse((await stateText(owner)) ?? ''),
    {
      v: 2,
      pools: [
        { id: pool.PoolID, addressSpace: 'ocn-local', v6: false, pool: `${net}.0/24`, subPool: '', refs: 1 },
      ],
    },
    'the key holds the pools only (v2)',
  );
  t.equal((await a.requestAddress({ PoolID: pool.PoolID, Options: gw })).Address, `${net}.1/24`, 'gateway');
  const got = [];
  for (let i = 0; i < 3; i++) got.push(bare((await a.requestAddress({ PoolID: pool.PoolID })).Address));
  t.same(got, [`${net}.2`, `${net}.3`, `${net}.4`]);
  const rows = await leaseRows(owner);
  t.same(
    rows.map((r) => r.ids[LEASE_EXT.address]),
    [`${net}.1`, `${net}.2`, `${net}.3`, `${net}.4`],
  );
  for (const r of rows) {
    t.equal(
      r.uuid,
      leaseUuid(owner, pool.PoolID, r.ids[LEASE_EXT.address] ?? ''),
      'uuid v5 of the lease key',
    );
    t.equal(r.ids[LEASE_EXT.pool], pool.PoolID);
    t.ok(Math.abs(Number(r.ids[LEASE_EXT.leased]) - Date.now()) < 60_000, 'lease time in ms');
  }

  await a.releaseAddress({ PoolID: pool.PoolID, Address: `${net}.3` });
  t.same(await addresses(owner), [`${net}.1`, `${net}.2`, `${net}.4`], 'released: its row is gone');
  await a.releaseAddress({ PoolID: pool.PoolID, Address: `${net}.3` });
  t.pass('a second release is no error');

  // A restart: a new driver (its own connection and replica) on the same database.
  const b = await driver(t, owner);
  t.equal(
    (await b.requestAddress({ PoolID: pool.PoolID })).Address,
    `${net}.3/24`,
    'the free one, after a restart',
  );
  t.equal((await b.requestAddress({ PoolID: pool.PoolID })).Address, `${net}.5/24`, 'taken ones stay taken');
  await t.rejects(b.requestAddress({ PoolID: pool.PoolID, Address: `${net}.2` }), /already in use/);

  // The lease rows are Queue rows with ocn-owner, like QoS queues: the reconciler's sweep of orphan QoS
  // rows (qos.ts) must leave them alone.
  await sweepOrphanQos(lastBackend as OvsdbBackend, owner);
  t.equal((await addresses(owner)).length, 5, 'the QoS sweep leaves lease rows alone');

  await b.requestPool({ AddressSpace: 'ocn-local', Pool: `${net}.0/24` });
  await b.releasePool({ PoolID: pool.PoolID });
  t.equal((await addresses(owner)).length, 5, 'still referenced once: rows stay');
  await b.releasePool({ PoolID: pool.PoolID });
  t.same(await addresses(owner), [], 'refs → 0: every row of the pool goes');
  t.equal(await stateText(owner), undefined, 'and the key');
});

t.test('two drivers racing for addresses get distinct ones', async (t) => {
  const owner = uniqueName('ipr');
  t.teardown(() => cleanup(owner));
  const a = await driver(t, owner);
  const b = await driver(t, owner);
  const bBackend = lastBackend as OvsdbBackend;
  const net = `10.${o2()}.${o2()}`;
  const pool = await a.requestPool({ AddressSpace: 'ocn-local', Pool: `${net}.0/24` });
  // b learns of the pool through its own replica, an update after a's transaction (as a second plugin
  // process would): wait for it, or b may be asked before it has heard.
  await waitFor(
    async () => bBackend.root()?.external_ids[ipamKey(owner)] !== undefined,
    5_000,
    "b's replica to see the pool",
  );
  const calls = Array.from({ length: 40 }, (_x, i) =>
    (i % 2 ? a : b).requestAddress({ PoolID: pool.PoolID }),
  );
  const got = (await Promise.all(calls)).map((r) => bare(r.Address));
  t.equal(new Set(got).size, 40, 'no address handed out twice');
  t.same((await addresses(owner)).sort(), [...got].sort(), 'one row per address');
  const expect = Array.from({ length: 40 }, (_x, i) => `${net}.${i + 1}`).sort();
  t.same([...got].sort(), expect, 'and together they are the lowest 40');
});

t.test('a v1 state (addresses in the JSON) is migrated on the first write', async (t) => {
  const owner = uniqueName('ipm');
  t.teardown(() => cleanup(owner));
  const net = `10.${o2()}.${o2()}`;
  const id = `ocn-local/${net}.0/24`;
  const v1 = {
    pools: [
      {
        id,
        addressSpace: 'ocn-local',
        v6: false,
        pool: `${net}.0/24`,
        subPool: '',
        refs: 1,
        allocated: [`${net}.1`, `${net}.2`, `${net}.4`],
        leases: { [`${net}.1`]: 1000, [`${net}.2`]: 2000 },
      },
    ],
  };
  await vsctl(
    OVSDB,
    'set',
    'Open_vSwitch',
    '.',
    `external_ids:ocn-ipam-${owner}=${JSON.stringify(JSON.stringify(v1))}`,
  );
  const a = await driver(t, owner);
  t.equal((await a.requestAddress({ PoolID: id })).Address, `${net}.3/24`, 'v1 addresses count as taken');
  const rows = await leaseRows(owner);
  t.same(
    rows.map((r) => r.ids[LEASE_EXT.address]),
    [`${net}.1`, `${net}.2`, `${net}.3`, `${net}.4`],
    'all rows now',
  );
  t.equal(rows[0]?.ids[LEASE_EXT.leased], '1000', 'lease times kept');
  const { allocated: _a, leases: _l, ...spec } = v1.pools[0] as (typeof v1.pools)[0];
  t.same(JSON.parse((await stateText(owner)) ?? ''), { v: 2, pools: [spec] }, 'the key is v2');
  t.equal((await a.requestAddress({ PoolID: id })).Address, `${net}.5/24`);
});

t.test('a refused request changes nothing in OVS', async (t) => {
  const owner = uniqueName('ipf');
  t.teardown(() => cleanup(owner));
  const a = await driver(t, owner);
  const net = `10.${o2()}.${o2()}`;
  const pool = await a.requestPool({ AddressSpace: 'ocn-local', Pool: `${net}.0/30` });
  await a.requestAddress({ PoolID: pool.PoolID });
  await a.requestAddress({ PoolID: pool.PoolID });
  const before = JSON.stringify([await leaseRows(owner), await stateText(owner)]);
  await t.rejects(a.requestAddress({ PoolID: pool.PoolID }), /no free address left/);
  await t.rejects(a.requestAddress({ PoolID: pool.PoolID, Address: `${net}.1` }), /already in use/);
  await t.rejects(a.requestAddress({ PoolID: pool.PoolID, Address: '10.0.0.300' }), /not an IPv4 address/);
  await t.rejects(a.requestAddress({ PoolID: 'ocn-local/nope' }), /unknown pool/);
  await t.rejects(a.requestPool({ AddressSpace: 'ocn-local', Pool: `${net}.0/29` }), /overlaps/);
  t.equal(
    JSON.stringify([await leaseRows(owner), await stateText(owner)]),
    before,
    'rows and key as they were',
  );

  // A malformed state is refused naming what is wrong, and not overwritten.
  const bad = JSON.stringify({
    v: 2,
    pools: [{ ...JSON.parse((await stateText(owner)) ?? '').pools[0], refs: -1 }],
  });
  await vsctl(OVSDB, 'set', 'Open_vSwitch', '.', `external_ids:ocn-ipam-${owner}=${JSON.stringify(bad)}`);
  await t.rejects(
    a.releaseAddress({ PoolID: pool.PoolID, Address: `${net}.1` }),
    /pools\[0\]\.refs -1 is not allowed/,
  );
  t.equal(await stateText(owner), bad, 'left as it was');
  t.equal((await addresses(owner)).length, 2, 'rows too');
});
