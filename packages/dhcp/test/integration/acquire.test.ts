// Root: a real dnsmasq in a namespace of its own hands out leases to our client, which speaks for an
// endpoint MAC (not its interface's) from another namespace over an AF_PACKET socket.
import { readdirSync, readlinkSync } from 'node:fs';
import { nsExec, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';
import { acquire, DhcpNoAnswerError, parseLease, release, renew, serializeLease } from '../../src/index.js';
import { lanFixture, SERVER_IP } from '../helpers/lan.js';

const MAC = '02:42:0a:e7:00:99';

t.test(
  'acquire: DISCOVER/OFFER/REQUEST/ACK, the lease file shows the endpoint MAC and address',
  async (t) => {
    const lan = await lanFixture(t);
    const lease = await acquire({
      netns: { name: lan.clientNs },
      ifname: lan.clientIf,
      mac: MAC,
      hostname: 'web-1',
      timeoutMs: 10_000,
    });
    t.match(lease.address, /^10\.231\.0\.\d+$/);
    t.equal(lease.serverId, SERVER_IP);
    t.equal(lease.subnetMask, '255.255.255.0');
    t.same(lease.routers, ['10.231.0.1']);
    t.same(lease.dnsServers, ['10.231.0.2']);
    t.equal(lease.leaseTimeSec, 120);
    t.equal(lease.renewalTimeSec, 60);
    const rows = lan.leases();
    t.equal(rows.length, 1, lan.log());
    t.equal(rows[0]?.mac, MAC);
    t.equal(rows[0]?.ip, lease.address);
    t.equal(rows[0]?.hostname, 'web-1');
  },
);

t.test('renew (unicast from the lease address, ARP answered for the endpoint), then release', async (t) => {
  const lan = await lanFixture(t);
  const where = { netns: { name: lan.clientNs }, ifname: lan.clientIf };
  const lease = await acquire({ ...where, mac: MAC, timeoutMs: 10_000 });
  const before = lan.leases()[0]?.expiry ?? 0;
  await new Promise((r) => setTimeout(r, 1100)); // the lease file has 1 s resolution
  const renewed = await renew(lease, where, { timeoutMs: 10_000 });
  t.equal(renewed.address, lease.address);
  t.ok(renewed.obtainedAt > lease.obtainedAt);
  t.ok((lan.leases()[0]?.expiry ?? 0) > before, 'dnsmasq moved the expiry on');
  const renewLine = new RegExp(`DHCPREQUEST\\(lan0\\) ${lease.address.replace(/\./g, '\\.')} ${MAC}`);
  t.equal(await lan.logged(renewLine, 2), 2, 'acquire and renew each logged a DHCPREQUEST');
  t.equal(await lan.logged(/DHCPACK/, 2), 2);
  t.equal(
    await lan.logged(/broadcast response/, 2),
    2,
    'the renewal ACK was unicast (only OFFER and ACK broadcast)',
  );
  await release(renewed, where);
  await waitForLeases(lan, 0);
  t.same(lan.leases(), [], 'the lease disappeared from the lease file');
  await waitFor(() => lan.log().includes('DHCPRELEASE(lan0)'), 3000, 'dnsmasq to log the release');
});

t.test('INIT-REBOOT: a lease record saved as text is asked for again after a "restart"', async (t) => {
  const lan = await lanFixture(t);
  const where = { netns: { name: lan.clientNs }, ifname: lan.clientIf };
  const first = await acquire({ ...where, mac: MAC, timeoutMs: 10_000 });
  const saved = serializeLease(first);
  const again = await acquire({ ...where, mac: MAC, lease: parseLease(saved), timeoutMs: 10_000 });
  t.equal(again.address, first.address);
  t.equal(await lan.logged(/DHCPACK/, 2), 2);
  t.equal(await lan.logged(/DHCPDISCOVER/, 1), 1, 'no second DISCOVER');
});

t.test(
  'INIT-REBOOT for an address of another subnet: DHCPNAK, then DISCOVER gets a fresh lease',
  async (t) => {
    const lan = await lanFixture(t);
    const where = { netns: { name: lan.clientNs }, ifname: lan.clientIf };
    const first = await acquire({ ...where, mac: MAC, timeoutMs: 10_000 });
    const other = '02:42:0a:e7:00:98';
    const stale = { ...first, mac: other, address: '10.231.1.77' }; // not in this LAN's subnet
    const lease = await acquire({ ...where, mac: other, lease: stale, timeoutMs: 10_000 });
    t.not(lease.address, '10.231.1.77');
    t.equal(await lan.logged(/DHCPNAK/, 1), 1);
  },
);

t.test('ARP probe: an offered address someone holds is declined, and the next one taken', async (t) => {
  const lan = await lanFixture(t, { range: '10.231.0.10,10.231.0.11' });
  // The server's side holds .10 already, as a host that took it without asking would: its kernel answers ARP.
  await nsExec(lan.serverNs, 'ip', ['addr', 'add', '10.231.0.10/24', 'dev', 'lan0']);
  const lease = await acquire({
    netns: { name: lan.clientNs },
    ifname: lan.clientIf,
    mac: MAC,
    probeMs: 300,
    timeoutMs: 10_000,
    timing: { declineBackoffMs: 200 },
  });
  t.equal(lease.address, '10.231.0.11');
  t.equal(await lan.logged(/DHCPDECLINE\(lan0\) 10\.231\.0\.10/, 1), 1, lan.log());
  t.same(
    lan.leases().map((l) => [l.mac, l.ip]),
    [[MAC, '10.231.0.11']],
  );
});

t.test('a server that does not answer: a clear error within the bounded time, no socket left', async (t) => {
  const lan = await lanFixture(t, { dnsmasq: false });
  const sockets = socketFds();
  const started = Date.now();
  const err = await acquire({
    netns: { name: lan.clientNs },
    ifname: lan.clientIf,
    mac: MAC,
    timeoutMs: 2500,
    timing: { initialRetransmitMs: 500, jitterMs: 100 },
  }).catch((e: unknown) => e);
  const took = Date.now() - started;
  t.type(err, DhcpNoAnswerError);
  t.equal((err as DhcpNoAnswerError).code, 'DHCP_ERR_NO_ANSWER');
  t.match((err as Error).message, `interface '${lan.clientIf}'`);
  t.match((err as Error).message, MAC);
  t.match((err as Error).message, 'DHCPDISCOVER got no DHCPOFFER');
  t.ok((err as DhcpNoAnswerError).attempts >= 3, `retransmitted (${(err as DhcpNoAnswerError).attempts})`);
  t.ok(took >= 2400 && took < 4000, `bounded: ${took} ms`);
  t.same(socketFds(), sockets, 'no socket left open');
});

t.test('abort: the signal stops acquire at once, socket closed', async (t) => {
  const lan = await lanFixture(t, { dnsmasq: false });
  const sockets = socketFds();
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('endpoint deleted')), 300);
  const err = await acquire({
    netns: { name: lan.clientNs },
    ifname: lan.clientIf,
    mac: MAC,
    signal: ac.signal,
  }).catch((e: unknown) => e);
  t.match(err, { code: 'DHCP_ERR_ABORTED' });
  const pre = await acquire({
    netns: { name: lan.clientNs },
    ifname: lan.clientIf,
    mac: MAC,
    signal: AbortSignal.abort(),
  }).catch((e: unknown) => e);
  t.match(
    pre,
    { code: 'DHCP_ERR_ABORTED', message: /eth0.*02:42:0a:e7:00:99/ },
    'an aborted signal opens nothing',
  );
  t.same(socketFds(), sockets, 'no socket left open');
});

t.test('bad input is refused before any socket opens', async (t) => {
  await t.rejects(acquire({ ifname: 'lo', mac: '01:00:5e:00:00:01' }), {
    code: 'DHCP_ERR_INVALID_ARGUMENT',
    field: 'mac',
  });
  await t.rejects(acquire({ ifname: 'lo', mac: MAC, timeoutMs: -1 }), {
    code: 'DHCP_ERR_INVALID_ARGUMENT',
    field: 'timeoutMs',
  });
  await t.rejects(acquire({ ifname: 'lo', mac: MAC, timeoutMs: 1000, probeMs: 1000 }), {
    code: 'DHCP_ERR_INVALID_ARGUMENT',
    field: 'probeMs',
  });
  await t.rejects(acquire({ ifname: 'no-such-if0', mac: MAC, timeoutMs: 100 }), {
    code: 'DHCP_ERR_IO',
    message: /no-such-if0/,
  });
});

/** The socket fds this process holds (a packet socket made in another namespace shows here as any other). */
function socketFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) out.push(fd);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

async function waitForLeases(lan: { leases(): unknown[] }, n: number): Promise<void> {
  const deadline = Date.now() + 3000;
  while (lan.leases().length !== n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
