// Records shared by unit tests.
import type { Lease } from '../../src/index.js';

/** A complete lease record: every optional field set. */
export const LEASE: Lease = {
  mac: '02:42:0a:00:00:07',
  address: '10.0.0.7',
  subnetMask: '255.255.255.0',
  routers: ['10.0.0.1'],
  dnsServers: ['10.0.0.2', '10.0.0.3'],
  domainName: 'lan',
  hostname: 'web-1',
  clientId: '0102420a000007',
  serverId: '10.0.0.1',
  serverMac: '02:00:00:00:00:01',
  leaseTimeSec: 120,
  renewalTimeSec: 60,
  rebindingTimeSec: 105,
  obtainedAt: 1_700_000_000_000,
};
