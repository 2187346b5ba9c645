// Root: a real dnsmasq in a namespace of its own hands out leases to our client, which speaks for an
// endpoint MAC (not its interface's) from another namespace over an AF_PACKET socket.
import t from 'tap';
import { acquire, DhcpNoAnswerError, parseLease, release, renew, serializeLease } from '../../src/index.js';
import { lanFixture, SERVER_IP } from '../helpers/lan.js';

const MAC = '02:42:0a:e7:00:99';

t.test('acquire: DISCOVER/OFFER/REQUEST/ACK, the lease file shows the endpoint MAC and address', async (t) => {
  const lan = await lanFixture(t);
  const lease = await acquire({ netns: { name: lan.clientNs }, ifname: lan.clientIf, mac: MAC, hostname: 'web-1', timeoutMs: 10_000 });
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
});
