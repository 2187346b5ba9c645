// The lease state machine on a fake clock (RFC 2131 §4.4): every transition, the retransmission schedule,
// T1 unicast / T2 broadcast, expiry, NAK, DECLINE, RELEASE, INIT-REBOOT, resume after a restart.
import t from 'tap';
import {
  type Action,
  DhcpClientMachine,
  type DhcpMessage,
  type DhcpOptions,
  decodeMessage,
  encodeMessage,
  type Lease,
  type MessageType,
} from '../../src/index.js';

const MAC = '02:42:0a:00:00:07';
const SERVER = { mac: '02:00:00:00:00:01', ip: '10.0.0.1' };
const T0 = 1_700_000_000_000;

/** A deterministic "random": the middle of the range, so jitter is 0. */
const mid = () => 0.5;

function machine(opts: Partial<ConstructorParameters<typeof DhcpClientMachine>[0]> = {}) {
  return new DhcpClientMachine({ mac: MAC, random: mid, hostname: 'web-1', ...opts });
}

function reply(
  m: DhcpClientMachine,
  type: MessageType,
  extra: Partial<DhcpMessage> = {},
  options: DhcpOptions = {},
): DhcpMessage {
  return decodeMessage(
    encodeMessage({
      op: 'BOOTREPLY',
      xid: m.xid,
      chaddr: Buffer.from(MAC.split(':').map((h) => Number.parseInt(h, 16))),
      yiaddr: type === 'NAK' ? '0.0.0.0' : '10.0.0.7',
      ...extra,
      options: {
        messageType: type,
        serverId: SERVER.ip,
        ...(type === 'NAK' ? {} : { leaseTime: 120 }),
        ...options,
      },
    }),
  );
}

const sends = (as: Action[]) => as.filter((a): a is Extract<Action, { type: 'send' }> => a.type === 'send');
const types = (as: Action[]) =>
  as.map((a) =>
    a.type === 'send'
      ? `send:${a.message.options?.messageType}`
      : a.type === 'state'
        ? `${a.from}>${a.to}`
        : a.type,
  );

async function bound(m = machine()): Promise<{ m: DhcpClientMachine; lease: Lease }> {
  m.discover(T0);
  m.receive(reply(m, 'OFFER'), T0 + 10, SERVER);
  const as = m.receive(reply(m, 'ACK'), T0 + 20, SERVER);
  const b = as.find((a) => a.type === 'bound');
  if (b?.type !== 'bound') throw new Error('not bound');
  return { m, lease: b.lease };
}

t.test('INIT → SELECTING → REQUESTING → BOUND; the messages RFC 2131 Table 5 asks for', async (t) => {
  const m = machine();
  const d = m.discover(T0);
  t.same(types(d), ['INIT>SELECTING', 'send:DISCOVER']);
  const disc = sends(d)[0];
  t.same(disc?.to, { broadcast: true });
  t.equal(disc?.srcIp, '0.0.0.0');
  t.equal(disc?.message.broadcast, true);
  t.equal(disc?.message.options?.hostname, 'web-1');
  const xid = m.xid;
  t.same(m.receive(reply(m, 'OFFER', { xid: xid + 1 }), T0, SERVER), [], 'another xid is ignored');
  t.same(
    m.receive(reply(m, 'OFFER', { yiaddr: '0.0.0.0' }), T0, SERVER),
    [],
    'an offer without address is ignored',
  );
  const r = m.receive(reply(m, 'OFFER'), T0 + 100, SERVER);
  t.same(types(r), ['SELECTING>REQUESTING', 'send:REQUEST']);
  const req = sends(r)[0]?.message;
  t.equal(req?.xid, xid, 'REQUEST keeps the offer xid');
  t.equal(req?.options?.requestedIp, '10.0.0.7');
  t.equal(req?.options?.serverId, SERVER.ip);
  t.equal(req?.ciaddr, '0.0.0.0');
  t.same(
    m.receive(reply(m, 'ACK', {}, { serverId: '10.0.0.99' }), T0, SERVER),
    [],
    'ACK from another server ignored',
  );
  const a = m.receive(
    reply(m, 'ACK', {}, { subnetMask: '255.255.255.0', routers: ['10.0.0.1'] }),
    T0 + 200,
    SERVER,
  );
  t.same(types(a), ['REQUESTING>BOUND', 'bound']);
  t.match(m.lease, {
    address: '10.0.0.7',
    serverId: SERVER.ip,
    serverMac: SERVER.mac,
    leaseTimeSec: 120,
    renewalTimeSec: 60,
    rebindingTimeSec: 105,
    obtainedAt: T0,
    subnetMask: '255.255.255.0',
    hostname: 'web-1',
  });
  t.equal(m.nextDeadline(), T0 + 60_000, 'T1');
});

t.test('retransmission: 4 s, 8 s, 16 s, 32 s, 64 s, 64 s; jitter within ±1 s; secs counts up', async (t) => {
  const m = machine();
  m.discover(T0);
  const gaps: number[] = [];
  let now = T0;
  for (let i = 0; i < 6; i++) {
    const at = m.nextDeadline();
    gaps.push(at - now);
    now = at;
    const again = sends(m.tick(now));
    t.equal(again.length, 1);
    t.equal(again[0]?.message.secs, Math.floor((now - T0) / 1000));
    t.equal(again[0]?.message.xid, m.xid, 'same xid on retransmission');
  }
  t.same(gaps, [4000, 8000, 16000, 32000, 64000, 64000]);
  t.same(m.tick(now + 1), [], 'nothing before the next deadline');
  let r = 0;
  const j = machine({ random: () => (r = (r + 0.37) % 1) });
  j.discover(T0);
  const first = j.nextDeadline() - T0;
  t.ok(first >= 3000 && first <= 5000, `first retransmit at ${first} ms`);
  const fast = machine({ timing: { initialRetransmitMs: 10, maxRetransmitMs: 40, jitterMs: 0 } });
  fast.discover(0);
  const fastGaps: number[] = [];
  let n = 0;
  for (let i = 0; i < 4; i++) {
    const at = fast.nextDeadline();
    fastGaps.push(at - n);
    n = at;
    fast.tick(n);
  }
  t.same(fastGaps, [10, 20, 40, 40], 'injectable timing, capped');
});

t.test('REQUESTING without answer starts over in INIT after requestAttempts', async (t) => {
  const m = machine({ timing: { requestAttempts: 2 } });
  m.discover(T0);
  m.receive(reply(m, 'OFFER'), T0, SERVER);
  t.same(types(m.tick(m.nextDeadline())), ['send:REQUEST']);
  const back = m.tick(m.nextDeadline());
  t.same(types(back), ['REQUESTING>SELECTING', 'send:DISCOVER']);
});

t.test('T1: RENEWING unicast from the address; ACK → BOUND with the lease restarted', async (t) => {
  const { m, lease } = await bound();
  const r = m.tick(T0 + 60_000);
  t.same(types(r), ['BOUND>RENEWING', 'send:REQUEST']);
  const s = sends(r)[0];
  t.same(s?.to, { broadcast: false, ip: SERVER.ip, mac: SERVER.mac });
  t.equal(s?.srcIp, lease.address);
  t.equal(s?.message.ciaddr, lease.address);
  t.equal(s?.message.broadcast, false);
  t.equal(s?.message.options?.requestedIp, undefined, 'no option 50 in RENEWING');
  t.equal(s?.message.options?.serverId, undefined, 'no option 54 in RENEWING');
  t.equal(m.nextDeadline(), T0 + 105_000, 'next: T2 (a retransmit would be ≥ 60 s later)');
  const a = m.receive(reply(m, 'ACK'), T0 + 60_500, SERVER);
  t.same(types(a), ['RENEWING>BOUND', 'renewed']);
  t.equal(m.lease?.obtainedAt, T0 + 60_000, 'the lease runs from when the request went out');
});

t.test('T2: REBINDING broadcast; no answer → expired at the end of the lease → INIT', async (t) => {
  const { m } = await bound(machine({ timing: { minRenewRetransmitMs: 1000 } }));
  m.tick(T0 + 60_000);
  const retry = m.nextDeadline();
  t.equal(retry, T0 + 60_000 + 22_500, 'RENEWING retransmits after half the time to T2');
  t.same(types(m.tick(retry)), ['send:REQUEST']);
  const rb = m.tick(T0 + 105_000);
  t.same(types(rb), ['RENEWING>REBINDING', 'send:REQUEST']);
  t.same(sends(rb)[0]?.to, { broadcast: true });
  t.equal(sends(rb)[0]?.message.ciaddr, '10.0.0.7');
  const ex = m.tick(T0 + 120_000);
  t.same(types(ex), ['REBINDING>INIT', 'expired']);
  t.equal(m.lease, undefined);
  t.equal(m.nextDeadline(), Infinity, 'INIT waits for discover()');
});

t.test('NAK in RENEWING drops the lease: INIT, with what the server said', async (t) => {
  const { m } = await bound();
  m.tick(T0 + 60_000);
  const n = m.receive(reply(m, 'NAK', {}, { message: 'wrong network' }), T0 + 60_010, SERVER);
  t.same(types(n), ['RENEWING>INIT', 'nak']);
  t.match(n[1], {
    type: 'nak',
    state: 'RENEWING',
    server: SERVER.ip,
    message: 'wrong network',
    address: '10.0.0.7',
  });
  t.equal(m.lease, undefined);
});

t.test(
  'INIT-REBOOT: broadcast REQUEST with option 50 and no server id; ACK → BOUND, NAK → INIT',
  async (t) => {
    const { lease } = await bound();
    const m = machine();
    const r = m.reboot(lease, T0 + 1000);
    t.same(types(r), ['INIT>INIT-REBOOT', 'INIT-REBOOT>REBOOTING', 'send:REQUEST']);
    const msg = sends(r)[0]?.message;
    t.equal(msg?.options?.requestedIp, lease.address);
    t.equal(msg?.options?.serverId, undefined);
    t.equal(msg?.ciaddr, '0.0.0.0');
    t.same(types(m.receive(reply(m, 'ACK'), T0 + 1100, SERVER)), ['REBOOTING>BOUND', 'renewed']);
    const m2 = machine();
    m2.reboot(lease, T0);
    t.same(types(m2.receive(reply(m2, 'NAK'), T0, SERVER)), ['REBOOTING>INIT', 'nak']);
    t.throws(() => machine({ mac: '02:00:00:00:00:99' }).reboot(lease, T0), {
      code: 'DHCP_ERR_INVALID_ARGUMENT',
      field: 'lease.mac',
    });
  },
);

t.test('resume after a restart: BOUND silently, or straight to RENEWING/REBINDING, or expired', async (t) => {
  const { lease } = await bound();
  const fresh = machine();
  t.same(types(fresh.resume(lease, T0 + 1000)), ['INIT>BOUND']);
  t.equal(fresh.nextDeadline(), T0 + 60_000);
  const late = machine();
  late.resume(lease, T0 + 70_000);
  t.same(types(late.tick(T0 + 70_000)), ['BOUND>RENEWING', 'send:REQUEST']);
  const later = machine();
  later.resume(lease, T0 + 110_000);
  t.same(types(later.tick(T0 + 110_000)), ['BOUND>REBINDING', 'send:REQUEST']);
  t.same(types(machine().resume(lease, T0 + 120_000)), ['INIT>BOUND', 'BOUND>INIT', 'expired']);
});

t.test('DECLINE: broadcast with option 50 and 54, INIT, discover again after the backoff', async (t) => {
  const { m } = await bound(machine({ timing: { declineBackoffMs: 10_000 } }));
  const d = m.decline(T0 + 100);
  t.same(types(d), ['send:DECLINE', 'BOUND>INIT']);
  t.match(sends(d)[0]?.message.options, { requestedIp: '10.0.0.7', serverId: SERVER.ip });
  t.equal(m.nextDeadline(), T0 + 10_100);
  t.same(m.tick(T0 + 5000), []);
  t.same(types(m.tick(T0 + 10_100)), ['INIT>SELECTING', 'send:DISCOVER']);
});

t.test('RELEASE: unicast to the server from the address, once; then nothing more', async (t) => {
  const { m } = await bound();
  const r = m.release(T0 + 100);
  t.same(types(r), ['send:RELEASE', 'BOUND>RELEASED']);
  const s = sends(r)[0];
  t.same(s?.to, { broadcast: false, ip: SERVER.ip, mac: SERVER.mac });
  t.equal(s?.message.ciaddr, '10.0.0.7');
  t.equal(s?.message.options?.serverId, SERVER.ip);
  t.equal(m.nextDeadline(), Infinity);
  t.same(m.tick(T0 + 1e9), []);
});

t.test('ACK without T1/T2 uses 0.5 and 0.875 of the lease; inconsistent T1/T2 are clamped', async (t) => {
  const m = machine();
  m.discover(T0);
  m.receive(reply(m, 'OFFER'), T0, SERVER);
  m.receive(reply(m, 'ACK', {}, { leaseTime: 1000, renewalTime: 900, rebindingTime: 2000 }), T0, SERVER);
  t.match(m.lease, { leaseTimeSec: 1000, rebindingTimeSec: 875, renewalTimeSec: 500 });
});

t.test('bad options are refused at construction', async (t) => {
  t.throws(() => machine({ mac: 'ff:ff:ff:ff:ff:ff' }), { code: 'DHCP_ERR_INVALID_ARGUMENT', field: 'mac' });
  t.throws(() => machine({ hostname: 'bad_name' }), { code: 'DHCP_ERR_INVALID_ARGUMENT', field: 'hostname' });
  t.throws(() => machine({ clientId: Buffer.of(1) }), {
    code: 'DHCP_ERR_INVALID_ARGUMENT',
    field: 'clientId',
  });
  t.throws(() => machine({ timing: { initialRetransmitMs: -1 } }), {
    code: 'DHCP_ERR_INVALID_ARGUMENT',
    field: 'timing.initialRetransmitMs',
  });
  t.throws(() => machine({ timing: { requestAttempts: 0 } }), {
    code: 'DHCP_ERR_INVALID_ARGUMENT',
    field: 'timing.requestAttempts',
  });
  t.throws(() => machine({ timing: { initialRetransmitMs: 100, jitterMs: 500 } }), {
    code: 'DHCP_ERR_INVALID_ARGUMENT',
    field: 'timing.jitterMs',
  });
});
