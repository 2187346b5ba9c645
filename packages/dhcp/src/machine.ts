// The client's lease state machine (RFC 2131 §4.4, Figure 5), without I/O: it is told what arrived and what
// time it is, and answers with actions (messages to send, lease events). The caller owns sockets and timers:
// it calls tick() at nextDeadline(). Time is epoch milliseconds from the caller's clock.
import { formatMac, macBytes, ZERO_IP } from './addr.js';
import { DhcpInvalidArgumentError } from './errors.js';
import { LEASE_INFINITE, type Lease, leaseTimes, validateLease } from './lease.js';
import type { DhcpMessage, DhcpMessageInit } from './message.js';
import { type DhcpOptions, Option } from './options.js';

export type ClientState =
  | 'INIT'
  | 'SELECTING'
  | 'REQUESTING'
  | 'INIT-REBOOT'
  | 'REBOOTING'
  | 'BOUND'
  | 'RENEWING'
  | 'REBINDING'
  | 'RELEASED';

/** Retransmission timing (RFC 2131 §4.1): 4 s, doubling up to 64 s, each ±1 s at random. */
export interface Timing {
  initialRetransmitMs: number;
  maxRetransmitMs: number;
  jitterMs: number;
  /** RENEWING/REBINDING wait half the time left to T2/expiry, but at least this (RFC 2131 §4.4.5: 60 s). */
  minRenewRetransmitMs: number;
  /** DHCPREQUESTs in REQUESTING before starting over in INIT. */
  requestAttempts: number;
  /** After a DHCPDECLINE, wait at least this before starting over (RFC 2131 §3.1.5: 10 s). */
  declineBackoffMs: number;
}

export const DEFAULT_TIMING: Timing = {
  initialRetransmitMs: 4000,
  maxRetransmitMs: 64000,
  jitterMs: 1000,
  minRenewRetransmitMs: 60000,
  requestAttempts: 4,
  declineBackoffMs: 10000,
};

/** Where a message goes: broadcast (255.255.255.255, ff:ff:…), or unicast to a server's address and MAC. */
export type Destination = { broadcast: true } | { broadcast: false; ip: string; mac: string };

export type Action =
  | { type: 'send'; message: DhcpMessageInit; srcIp: string; to: Destination; state: ClientState }
  | { type: 'bound'; lease: Lease }
  | { type: 'renewed'; lease: Lease; via: 'RENEWING' | 'REBINDING' | 'REBOOTING' }
  | { type: 'nak'; state: ClientState; server: string; message: string | undefined; address: string }
  | { type: 'expired'; lease: Lease }
  | { type: 'state'; from: ClientState; to: ClientState };

/** Where a received message came from (the frame's source), so unicast renewal knows the next hop. */
export interface Origin {
  mac: string;
  ip: string;
}

export interface MachineOptions {
  /** The endpoint's MAC: chaddr of every message. */
  mac: string;
  /** Option 61 (see clientIdFromMac / rfc4361ClientId). */
  clientId?: Buffer;
  hostname?: string;
  timing?: Partial<Timing>;
  /** [0, 1), for xids and jitter; Math.random by default. Inject for reproducible tests. */
  random?: () => number;
}

/** Options the client asks for (RFC 2132 §9.8). */
export const PARAMETER_REQUEST_LIST = [
  Option.SUBNET_MASK,
  Option.ROUTER,
  Option.DNS_SERVER,
  Option.DOMAIN_NAME,
  Option.BROADCAST_ADDRESS,
  Option.LEASE_TIME,
  Option.RENEWAL_TIME,
  Option.REBINDING_TIME,
];

export class DhcpClientMachine {
  readonly mac: string;
  readonly timing: Timing;
  #macBytes: Buffer;
  #clientId: Buffer | undefined;
  #hostname: string | undefined;
  #random: () => number;
  #state: ClientState = 'INIT';
  #lease: Lease | undefined;
  #offer: { address: string; serverId: string } | undefined;
  #xid = 0;
  /** When the first message of the current exchange went out (secs, and the lease start). */
  #exchangeStart = 0;
  #attempts = 0;
  #interval = 0;
  #retransmitAt = Infinity;
  #restartAt = Infinity;
  #last: Extract<Action, { type: 'send' }> | undefined;

  constructor(opts: MachineOptions) {
    this.#macBytes = macBytes(opts.mac, 'mac');
    this.mac = formatMac(this.#macBytes);
    if (opts.clientId !== undefined && (!Buffer.isBuffer(opts.clientId) || opts.clientId.length < 2)) {
      throw new DhcpInvalidArgumentError(
        'clientId',
        opts.clientId,
        'a Buffer of at least 2 bytes (RFC 2132 §9.14)',
      );
    }
    if (
      opts.hostname !== undefined &&
      !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/u.test(opts.hostname)
    ) {
      throw new DhcpInvalidArgumentError(
        'hostname',
        opts.hostname,
        'one DNS label: letters, digits, hyphens, 1–63',
      );
    }
    this.#clientId = opts.clientId;
    this.#hostname = opts.hostname;
    this.#random = opts.random ?? Math.random;
    this.timing = validateTiming({ ...DEFAULT_TIMING, ...opts.timing });
  }

  get state(): ClientState {
    return this.#state;
  }

  get lease(): Lease | undefined {
    return this.#lease;
  }

  /** The current exchange's transaction id (replies must carry it). */
  get xid(): number {
    return this.#xid;
  }

  /** Retransmissions so far of the message of the current exchange, counting the first. */
  get attempts(): number {
    return this.#attempts;
  }

  /** INIT → SELECTING: broadcast DHCPDISCOVER. */
  discover(now: number): Action[] {
    const out: Action[] = [];
    this.#lease = undefined;
    this.#offer = undefined;
    this.#newExchange(now);
    this.#to('SELECTING', out);
    this.#send(out, now, 'DISCOVER', {}, ZERO_IP, { broadcast: true });
    return out;
  }

  /**
   * INIT-REBOOT → REBOOTING with a lease from an earlier life (RFC 2131 §3.2, §4.3.2): broadcast DHCPREQUEST
   * with the address in option 50, no server id, ciaddr 0.
   */
  reboot(lease: Lease, now: number): Action[] {
    const out: Action[] = [];
    this.#adopt(lease);
    this.#to('INIT-REBOOT', out);
    this.#newExchange(now);
    this.#to('REBOOTING', out);
    this.#send(out, now, 'REQUEST', { requestedIp: lease.address }, ZERO_IP, { broadcast: true });
    return out;
  }

  /**
   * Takes up a saved lease as if this process had held it all along (a restarted plugin): BOUND, sending
   * nothing; the next tick() moves on to RENEWING / REBINDING when T1 / T2 have passed, or reports `expired`.
   */
  resume(lease: Lease, now: number): Action[] {
    const out: Action[] = [];
    this.#adopt(lease);
    this.#last = undefined;
    this.#retransmitAt = Infinity;
    this.#to('BOUND', out);
    if (now >= leaseTimes(this.#lease as Lease).expires) out.push(...this.tick(now));
    return out;
  }

  /**
   * Extends a lease now, before T1 (RFC 2131 §4.4.5 lets a client extend its lease at any time): RENEWING,
   * DHCPREQUEST unicast to the server, ciaddr = the address.
   */
  renewNow(lease: Lease, now: number): Action[] {
    const out = this.resume(lease, now);
    const l = this.#lease;
    if (l !== undefined) this.#startRenewing(l, now, out);
    return out;
  }

  /** RENEWING: DHCPREQUEST unicast to the lease's server from its address, ciaddr set, no 50/54. */
  #startRenewing(l: Lease, now: number, out: Action[]): void {
    this.#newExchange(now);
    this.#to('RENEWING', out);
    const server: Destination = { broadcast: false, ip: l.serverId, mac: l.serverMac };
    this.#send(out, now, 'REQUEST', {}, l.address, server, l.address);
  }

  /** The earliest time at which tick() has something to do. */
  nextDeadline(): number {
    const l = this.#lease;
    switch (this.#state) {
      case 'SELECTING':
      case 'REQUESTING':
      case 'REBOOTING':
        return this.#retransmitAt;
      case 'BOUND':
        return l === undefined ? Infinity : leaseTimes(l).t1;
      case 'RENEWING':
        return l === undefined ? Infinity : Math.min(this.#retransmitAt, leaseTimes(l).t2);
      case 'REBINDING':
        return l === undefined ? Infinity : Math.min(this.#retransmitAt, leaseTimes(l).expires);
      case 'INIT':
        return this.#restartAt;
      default:
        return Infinity;
    }
  }

  /** Timers: retransmissions, T1, T2, expiry, restart after DECLINE. */
  tick(now: number): Action[] {
    const out: Action[] = [];
    const l = this.#lease;
    const times = l === undefined ? undefined : leaseTimes(l);
    if (l !== undefined && times !== undefined && ['BOUND', 'RENEWING', 'REBINDING'].includes(this.#state)) {
      if (now >= times.expires) {
        // RFC 2131 §4.4.5: at expiry the client stops using the address and returns to INIT.
        this.#lease = undefined;
        this.#to('INIT', out);
        out.push({ type: 'expired', lease: l });
        return out;
      }
      if (this.#state !== 'REBINDING' && now >= times.t2) {
        this.#newExchange(now);
        this.#to('REBINDING', out);
        this.#send(out, now, 'REQUEST', {}, l.address, { broadcast: true }, l.address);
        return out;
      }
      if (this.#state === 'BOUND' && now >= times.t1) {
        this.#startRenewing(l, now, out);
        return out;
      }
    }
    if (this.#state === 'INIT' && now >= this.#restartAt) {
      this.#restartAt = Infinity;
      return this.discover(now);
    }
    if (now >= this.#retransmitAt && this.#last !== undefined) {
      if (this.#state === 'REQUESTING' && this.#attempts >= this.timing.requestAttempts) {
        // RFC 2131 §3.1 step 5 / §4.4.1: no DHCPACK or DHCPNAK after the retransmissions: start over.
        return this.discover(now);
      }
      this.#attempts++;
      this.#scheduleRetransmit(now);
      const msg: DhcpMessageInit = { ...this.#last.message, secs: this.#secs(now) };
      const again = { ...this.#last, message: msg };
      this.#last = again;
      out.push(again);
    }
    return out;
  }

  /** A received message (already decoded); anything not for this exchange is ignored. */
  receive(msg: DhcpMessage, now: number, from: Origin): Action[] {
    const out: Action[] = [];
    if (msg.op !== 'BOOTREPLY' || msg.xid !== this.#xid || !msg.chaddr.equals(this.#macBytes)) return out;
    const type = msg.options.messageType;
    const serverId = msg.options.serverId;
    if (this.#state === 'SELECTING') {
      // The first acceptable offer wins (RFC 2131 §4.4.1 lets the client choose; dnsmasq sends one).
      if (type !== 'OFFER' || msg.yiaddr === ZERO_IP || serverId === undefined) return out;
      this.#offer = { address: msg.yiaddr, serverId };
      this.#to('REQUESTING', out);
      // Same xid as the offer (RFC 2131 §4.4.1); a fresh retransmission schedule.
      this.#attempts = 0;
      this.#send(out, now, 'REQUEST', { requestedIp: msg.yiaddr, serverId }, ZERO_IP, { broadcast: true });
      return out;
    }
    if (!['REQUESTING', 'REBOOTING', 'RENEWING', 'REBINDING'].includes(this.#state)) return out;
    if (this.#state === 'REQUESTING' && serverId !== this.#offer?.serverId) return out;
    const address = this.#offer?.address ?? this.#lease?.address ?? ZERO_IP;
    if (type === 'NAK') {
      // RFC 2131 §4.4.2 / §4.4.5: a NAK sends the client back to INIT; the lease is gone.
      const was = this.#state;
      this.#lease = undefined;
      this.#offer = undefined;
      this.#to('INIT', out);
      out.push({
        type: 'nak',
        state: was,
        server: serverId ?? from.ip,
        message: msg.options.message,
        address,
      });
      return out;
    }
    if (type !== 'ACK' || msg.yiaddr === ZERO_IP) return out;
    if (this.#state !== 'REQUESTING' && msg.yiaddr !== address) return out;
    const lease = this.#leaseFromAck(msg, from, serverId ?? this.#lease?.serverId ?? from.ip);
    if (lease === undefined) return out;
    const was = this.#state;
    this.#lease = lease;
    this.#offer = undefined;
    this.#to('BOUND', out);
    out.push(
      was === 'REQUESTING' ? { type: 'bound', lease } : { type: 'renewed', lease, via: was as 'RENEWING' },
    );
    return out;
  }

  /**
   * The offered address is in use (the caller probed it): DHCPDECLINE (RFC 2131 §4.4.1), back to INIT, and
   * discover again after `declineBackoffMs`.
   */
  decline(now: number): Action[] {
    const out: Action[] = [];
    const l = this.#lease;
    if (l === undefined || this.#state !== 'BOUND') return out;
    this.#newExchange(now);
    this.#send(out, now, 'DECLINE', { requestedIp: l.address, serverId: l.serverId }, ZERO_IP, {
      broadcast: true,
    });
    this.#last = undefined;
    this.#retransmitAt = Infinity;
    this.#lease = undefined;
    this.#restartAt = now + this.timing.declineBackoffMs;
    this.#to('INIT', out);
    return out;
  }

  /** Gives the lease back: DHCPRELEASE unicast to the server (RFC 2131 §4.4.6), never retransmitted. */
  release(now: number): Action[] {
    const out: Action[] = [];
    const l = this.#lease;
    if (l !== undefined && ['BOUND', 'RENEWING', 'REBINDING'].includes(this.#state)) {
      this.#newExchange(now);
      this.#send(
        out,
        now,
        'RELEASE',
        { serverId: l.serverId },
        l.address,
        {
          broadcast: false,
          ip: l.serverId,
          mac: l.serverMac,
        },
        l.address,
      );
    }
    this.#last = undefined;
    this.#retransmitAt = Infinity;
    this.#lease = undefined;
    this.#to('RELEASED', out);
    return out;
  }

  #adopt(lease: Lease): void {
    const l = validateLease(lease, 'lease');
    if (l.mac !== this.mac)
      throw new DhcpInvalidArgumentError('lease.mac', l.mac, `this client's MAC ${this.mac}`);
    this.#lease = l;
    this.#offer = undefined;
  }

  #leaseFromAck(msg: DhcpMessage, from: Origin, serverId: string): Lease | undefined {
    const o = msg.options;
    // An ACK to a DHCPREQUEST must carry the lease time (RFC 2131 §4.3.1, Table 3); keep the old one if not.
    const leaseTimeSec = o.leaseTime ?? this.#lease?.leaseTimeSec;
    if (leaseTimeSec === undefined) return undefined;
    const infinite = leaseTimeSec === LEASE_INFINITE;
    // RFC 2131 §4.4.5: T1 defaults to 0.5 and T2 to 0.875 of the lease time; keep T1 <= T2 <= lease.
    let t2 = o.rebindingTime ?? (infinite ? LEASE_INFINITE : Math.floor(leaseTimeSec * 0.875));
    if (!infinite && t2 > leaseTimeSec) t2 = Math.floor(leaseTimeSec * 0.875);
    let t1 = o.renewalTime ?? (infinite ? LEASE_INFINITE : Math.floor(leaseTimeSec * 0.5));
    if (!infinite && t1 > t2) t1 = Math.floor(t2 * (0.5 / 0.875));
    const lease: Lease = {
      mac: this.mac,
      address: msg.yiaddr,
      routers: o.routers ?? [],
      dnsServers: o.dnsServers ?? [],
      serverId,
      serverMac: from.mac,
      leaseTimeSec,
      renewalTimeSec: t1,
      rebindingTimeSec: t2,
      obtainedAt: this.#exchangeStart,
    };
    if (this.#clientId !== undefined) lease.clientId = this.#clientId.toString('hex');
    if (this.#hostname !== undefined) lease.hostname = this.#hostname;
    if (o.subnetMask !== undefined) lease.subnetMask = o.subnetMask;
    if (o.domainName !== undefined) lease.domainName = o.domainName;
    return lease;
  }

  #newExchange(now: number): void {
    this.#xid = Math.floor(this.#random() * 0x100000000) >>> 0;
    this.#exchangeStart = now;
    this.#attempts = 0;
  }

  #secs(now: number): number {
    return Math.min(0xffff, Math.max(0, Math.floor((now - this.#exchangeStart) / 1000)));
  }

  #scheduleRetransmit(now: number): void {
    const t = this.timing;
    const l = this.#lease;
    if ((this.#state === 'RENEWING' || this.#state === 'REBINDING') && l !== undefined) {
      // RFC 2131 §4.4.5: wait half the time remaining until T2 (RENEWING) or expiry (REBINDING), ≥ 60 s.
      const times = leaseTimes(l);
      const until = this.#state === 'RENEWING' ? times.t2 : times.expires;
      this.#retransmitAt = now + Math.max(t.minRenewRetransmitMs, (until - now) / 2);
      return;
    }
    // RFC 2131 §4.1: 4 s before the first retransmission, doubling to 64 s, randomized by ±1 s.
    this.#interval =
      this.#attempts <= 1 ? t.initialRetransmitMs : Math.min(this.#interval * 2, t.maxRetransmitMs);
    const jitter = (this.#random() * 2 - 1) * t.jitterMs;
    this.#retransmitAt = now + Math.max(0, this.#interval + jitter);
  }

  #send(
    out: Action[],
    now: number,
    type: DhcpOptions['messageType'] & string,
    extra: DhcpOptions,
    srcIp: string,
    to: Destination,
    ciaddr = ZERO_IP,
  ): void {
    const options: DhcpOptions = { messageType: type, ...extra };
    if (this.#clientId !== undefined) options.clientId = this.#clientId;
    if (type === 'DISCOVER' || type === 'REQUEST') {
      if (this.#hostname !== undefined) options.hostname = this.#hostname;
      options.parameterRequestList = PARAMETER_REQUEST_LIST;
    }
    const message: DhcpMessageInit = {
      op: 'BOOTREQUEST',
      xid: this.#xid,
      chaddr: this.#macBytes,
      secs: type === 'DECLINE' || type === 'RELEASE' ? 0 : this.#secs(now),
      // Before it has an address the client cannot take unicast: ask for broadcast replies (RFC 2131 §4.1).
      broadcast: ciaddr === ZERO_IP,
      ciaddr,
      options,
    };
    const action: Extract<Action, { type: 'send' }> = {
      type: 'send',
      message,
      srcIp,
      to,
      state: this.#state,
    };
    out.push(action);
    this.#last = action;
    this.#attempts++;
    this.#scheduleRetransmit(now);
  }

  #to(state: ClientState, out: Action[]): void {
    if (state === this.#state) return;
    out.push({ type: 'state', from: this.#state, to: state });
    this.#state = state;
  }
}

/** Checks every timing value (finite, >= 0; at least one request attempt; jitter below the first wait). */
export function validateTiming(t: Timing): Timing {
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new DhcpInvalidArgumentError(`timing.${k}`, v, 'a finite number >= 0 (milliseconds, or a count)');
    }
  }
  if (t.requestAttempts < 1)
    throw new DhcpInvalidArgumentError('timing.requestAttempts', t.requestAttempts, '>= 1');
  if (t.jitterMs > t.initialRetransmitMs) {
    throw new DhcpInvalidArgumentError(
      'timing.jitterMs',
      t.jitterMs,
      `at most initialRetransmitMs (${t.initialRetransmitMs})`,
    );
  }
  return t;
}
