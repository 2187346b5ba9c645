// Root: LeaseKeeper renewing against a real dnsmasq. dnsmasq's shortest lease is 2 minutes (dnsmasq(8),
// --dhcp-range), so the keeper runs on a clock set ahead: T1 (60 s), T2 (105 s) and expiry arrive in ~1 s.
import { sleep, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { acquire, type Lease, LeaseKeeper, parseLease, serializeLease } from '../../src/index.js';
import { lanFixture } from '../helpers/lan.js';

const MAC = '02:42:0a:e7:01:23';

function once<T extends unknown[]>(
  k: LeaseKeeper,
  event: 'renewed' | 'expired' | 'failed',
  ms: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    k.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    });
  });
}

t.test(
  'renews at T1 (unicast), and after a "restart" past T2 rebinds (broadcast); release empties the lease file',
  async (t) => {
    const lan = await lanFixture(t);
    const where = { netns: { name: lan.clientNs }, ifname: lan.clientIf };
    const lease = await acquire({ ...where, mac: MAC, timeoutMs: 10_000 });
    const stored = new Map<string, string>([['ep1', serializeLease(lease)]]);

    // T1 is 60 s after obtainedAt: a clock 58.8 s ahead reaches it in ~1.2 s.
    const ahead = lease.obtainedAt + 58_800 - Date.now();
    const k1 = new LeaseKeeper({ clock: () => Date.now() + ahead });
    t.teardown(() => k1.close());
    const states: string[] = [];
    k1.on('state', (_key, from, to) => states.push(`${from}>${to}`));
    k1.on('renewed', (key, l) => stored.set(key, serializeLease(l)));
    const expiryBefore = lan.leases()[0]?.expiry ?? 0;
    k1.keep('ep1', parseLease(stored.get('ep1') as string), where);
    const [, renewed] = await once<[string, Lease]>(k1, 'renewed', 8000);
    t.equal(renewed.address, lease.address);
    t.same(states, ['INIT>BOUND', 'BOUND>RENEWING', 'RENEWING>BOUND']);
    t.ok((lan.leases()[0]?.expiry ?? 0) > expiryBefore, 'dnsmasq extended the lease');
    t.same(parseLease(stored.get('ep1') as string), renewed, 'the stored record is the renewed lease');
    await k1.close(); // the plugin is killed

    // A new keeper resumes from the stored record on a clock past T2 (105 s): REBINDING at once, broadcast.
    const saved = parseLease(stored.get('ep1') as string);
    const ahead2 = saved.obtainedAt + 106_000 - Date.now();
    const k2 = new LeaseKeeper({ clock: () => Date.now() + ahead2 });
    t.teardown(() => k2.close());
    const states2: string[] = [];
    k2.on('state', (_key, from, to) => states2.push(`${from}>${to}`));
    const rebound = once<[string, Lease]>(k2, 'renewed', 8000);
    k2.keep('ep1', saved, where);
    const [, l2] = await rebound;
    t.equal(l2.address, lease.address);
    t.same(states2, ['INIT>BOUND', 'BOUND>REBINDING', 'REBINDING>BOUND']);
    t.equal(await lan.logged(/DHCPACK/, 3), 3, 'ACKs: acquire, renew, rebind');

    await k2.release('ep1');
    await waitFor(() => lan.leases().length === 0, 3000, 'the lease to leave the lease file');
    t.same(k2.keys(), []);
  },
);

t.test('a record already past its expiry is reported expired, and nothing is sent', async (t) => {
  const lan = await lanFixture(t);
  const where = { netns: { name: lan.clientNs }, ifname: lan.clientIf };
  const lease = await acquire({ ...where, mac: MAC, timeoutMs: 10_000 });
  const k = new LeaseKeeper({ clock: () => Date.now() + 121_000 });
  t.teardown(() => k.close());
  const expired = once<[string, Lease]>(k, 'expired', 1000);
  k.keep('ep1', lease, where);
  const [key, l] = await expired;
  t.equal(key, 'ep1');
  t.equal(l.address, lease.address);
  t.same(k.keys(), []);
  await sleep(300);
  t.equal(lan.log().match(/DHCPREQUEST/g)?.length, 1, 'only the acquire request');
});

t.test('renewal with the server gone: failed events, then REBINDING, then expired', async (t) => {
  const lan = await lanFixture(t);
  const where = { netns: { name: lan.clientNs }, ifname: lan.clientIf };
  const lease = await acquire({ ...where, mac: MAC, timeoutMs: 10_000 });
  await lan.stopServer();
  let offset = lease.obtainedAt + 60_000 - Date.now();
  const k = new LeaseKeeper({
    clock: () => Date.now() + offset,
    exchangeWindowMs: 300,
    maxSleepMs: 100,
    timing: { minRenewRetransmitMs: 200 },
  });
  t.teardown(() => k.close());
  const states: string[] = [];
  k.on('state', (_key, _from, to) => states.push(to));
  const failed = once<[string, Error]>(k, 'failed', 3000);
  k.keep('ep1', lease, where);
  const [, err] = await failed;
  t.match(err, { code: 'DHCP_ERR_NO_ANSWER', message: /RENEWING.*eth0|eth0.*RENEWING/ });
  offset = lease.obtainedAt + 105_000 - Date.now(); // jump to T2
  await waitFor(() => states.includes('REBINDING'), 3000, 'REBINDING');
  const expired = once<[string, Lease]>(k, 'expired', 3000);
  offset = lease.obtainedAt + 120_000 - Date.now(); // and to expiry
  await expired;
  t.same(k.keys(), []);
});
