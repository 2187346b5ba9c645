// LeaseKeeper without sockets: option validation, and what keep() decides from the record and the clock alone.
import t from 'tap';
import { LeaseKeeper } from '../../src/index.js';
import { LEASE } from '../helpers/fixtures.js';

const where = { ifname: 'eth0' };

t.test('options are validated at construction', async (t) => {
  t.throws(() => new LeaseKeeper({ exchangeWindowMs: 0 }), {
    code: 'DHCP_ERR_INVALID_ARGUMENT',
    field: 'exchangeWindowMs',
  });
  t.throws(() => new LeaseKeeper({ maxSleepMs: 2 ** 31 }), {
    code: 'DHCP_ERR_INVALID_ARGUMENT',
    field: 'maxSleepMs',
  });
  t.throws(() => new LeaseKeeper({ timing: { requestAttempts: 0 } }), {
    code: 'DHCP_ERR_INVALID_ARGUMENT',
    field: 'timing.requestAttempts',
  });
});

t.test('keep(): a record before T1 is held silently; past expiry it is reported and forgotten', async (t) => {
  const now = LEASE.obtainedAt + 10_000;
  const k = new LeaseKeeper({ clock: () => now });
  const events: string[] = [];
  k.on('state', (key, from, to) => events.push(`${key}:${from}>${to}`));
  k.on('expired', (key) => events.push(`${key}:expired`));
  k.keep('a', LEASE, where);
  t.same(k.keys(), ['a']);
  t.same(k.lease('a'), LEASE);
  k.keep('b', { ...LEASE, obtainedAt: now - 121_000 }, where);
  t.same(k.keys(), ['a']);
  t.same(events, ['a:INIT>BOUND', 'b:INIT>BOUND', 'b:BOUND>INIT', 'b:expired']);
  k.forget('a');
  t.same(k.keys(), []);
  await k.close();
  t.throws(() => k.keep('c', LEASE, where), { code: 'DHCP_ERR_STATE' });
});

t.test('keep() refuses a bad key or record and keeps nothing', async (t) => {
  const k = new LeaseKeeper();
  t.teardown(() => k.close());
  t.throws(() => k.keep('', LEASE, where), { code: 'DHCP_ERR_INVALID_ARGUMENT', field: 'key' });
  t.throws(() => k.keep('a', { ...LEASE, address: '10.0.0' }, where), {
    code: 'DHCP_ERR_INVALID_ARGUMENT',
    field: 'lease.address',
  });
  t.same(k.keys(), []);
});

t.test(
  'a where-resolver is asked at each exchange; when it throws, the attempt fails and is retried',
  async (t) => {
    // At T1 on a clock set there: the keeper renews at once and asks where to (the plugin's resolver looks
    // up the container's namespace, which may not be joined yet).
    const k = new LeaseKeeper({ clock: () => LEASE.obtainedAt + 60_000, maxSleepMs: 50 });
    t.teardown(() => k.close());
    let asked = 0;
    const failed = new Promise<[string, Error]>((resolve) =>
      k.once('failed', (key, err) => resolve([key, err])),
    );
    k.keep('a', LEASE, () => {
      asked++;
      throw new Error('its endpoint has not joined a container yet');
    });
    const hold = setTimeout(() => undefined, 5000); // the keeper's timers are unref'd
    const [key, err] = await failed;
    clearTimeout(hold);
    t.equal(key, 'a');
    t.match(err, { code: 'DHCP_ERR_IO', message: /cannot tell where to renew a: .*not joined/ });
    t.equal(asked, 1);
    t.same(k.keys(), ['a'], 'still kept: the next deadline tries again');
  },
);
