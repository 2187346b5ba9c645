// TunnelNeighbours' choice of what to poke (core/ovn/underlay.ts), on a stand-in SB replica: other chassis'
// encap IPs only, plain addresses only (the rows are read back from the SB), at most once a minute each,
// nothing when the datapath does not need it. Datagrams go to 127.0.0.1 / ::1 (the discard port).
import t from 'tap';
import { TunnelNeighbours, WARM_EVERY_MS } from '../../src/core/ovn/underlay.js';

const rows = [
  { ip: '127.0.0.1', chassis_name: 'other' },
  { ip: '::1', chassis_name: 'other6' },
  { ip: '127.0.0.2', chassis_name: 'me' },
  { ip: '127.0.0.1; rm -rf /', chassis_name: 'bad' },
  { ip: '', chassis_name: 'empty' },
];
let enabled = true;
let ready = true;
const listeners = new Set<string>();
const sb = {
  get isReady() {
    return ready;
  },
  table: () => ({ values: () => rows.values() }),
  on: (ev: string) => listeners.add(ev),
  off: (ev: string) => listeners.delete(ev),
};
const n = new TunnelNeighbours({
  sb: sb as never,
  self: () => 'me',
  enabled: () => enabled,
  log: { debug() {}, info() {}, warn() {}, error() {} },
});
t.teardown(() => n.close());

t.test('pokes the other chassis once a minute, never itself or a malformed address', async (t) => {
  t.same([...listeners].sort(), ['batch', 'sync'], 'warms on every replica batch and re-sync');
  const t0 = 1_000_000;
  t.equal(n.warm(t0), 2, 'two other chassis with plain addresses (IPv4 and IPv6)');
  t.equal(n.warm(t0 + 1000), 0, 'not again within the minute');
  t.equal(n.warm(t0 + WARM_EVERY_MS), 2, 'again after it');
  enabled = false;
  t.equal(n.warm(t0 + 3 * WARM_EVERY_MS), 0, 'nothing on a datapath that does not need it');
  enabled = true;
  ready = false;
  t.equal(n.warm(t0 + 4 * WARM_EVERY_MS), 0, 'nothing before the SB replica has synced');
  ready = true;
  t.equal(n.warm(t0 + 5 * WARM_EVERY_MS), 2);
});

t.test('close stops listening', async (t) => {
  n.close();
  t.same([...listeners], [], 'no listener left');
});
