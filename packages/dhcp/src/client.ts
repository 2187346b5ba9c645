// The DHCP client's I/O: one packet socket on the given interface of the given namespace per exchange,
// frames built for the endpoint's MAC (not the interface's), and a machine (machine.ts) deciding what to send.
// Sockets live only as long as an exchange and are always closed, on success, error, timeout or abort.
import { type NetnsRef, PacketSocket } from '@ovs-container-network/netlink';
import { BROADCAST_IP, BROADCAST_MAC, macBytes } from './addr.js';
import {
  DhcpError,
  DhcpInvalidArgumentError,
  DhcpNakError,
  DhcpNoAnswerError,
  type ExchangeContext,
} from './errors.js';
import {
  buildArpProbe,
  buildArpReply,
  buildUdpFrame,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  parseArp,
  parseUdpFrame,
} from './frame.js';
import { type Lease, validateLease } from './lease.js';
import { type Action, type ClientState, DhcpClientMachine, type Timing } from './machine.js';
import { decodeMessage, encodeMessage } from './message.js';

/** Where the client speaks: an interface of a network namespace (`'host'` by default). */
export interface Where {
  netns?: NetnsRef;
  ifname: string;
}

/** What every call may tune; the defaults are RFC 2131's. */
export interface ClientOptions {
  signal?: AbortSignal;
  /** Bound on the whole call (ms). */
  timeoutMs?: number;
  timing?: Partial<Timing>;
  random?: () => number;
  /** The machine's clock (epoch ms); lease times are measured on it. Date.now by default. */
  clock?: () => number;
  /**
   * Answer ARP requests for the leased address with the endpoint's MAC while an exchange runs, so a server
   * can unicast its DHCPACK to ciaddr (RFC 2131 §4.1) even when nothing else holds the address (default true).
   */
  answerArp?: boolean;
}

export interface AcquireOptions extends Where, ClientOptions {
  /** The endpoint's MAC: chaddr and the frames' source. */
  mac: string;
  hostname?: string;
  /** Option 61 (clientIdFromMac, rfc4361ClientId). */
  clientId?: Buffer;
  /** A lease from an earlier life: INIT-REBOOT asks for its address again (RFC 2131 §3.2). */
  lease?: Lease;
  /**
   * Probe the acknowledged address with ARP for this long (RFC 2131 §4.4.1 "SHOULD", RFC 5227) and, when
   * another MAC answers, send DHCPDECLINE and start over. 0 (the default) skips the probe.
   */
  probeMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
/** The longest single wait between checks of the signal and the machine's timers. */
const POLL_SLICE_MS = 250;

function timeoutOf(v: unknown): number {
  if (v === undefined) return DEFAULT_TIMEOUT_MS;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new DhcpInvalidArgumentError('timeoutMs', v, 'a number of milliseconds > 0');
  }
  return v;
}

/** Runs `fn` with a packet socket open on `where`, and closes it whatever happens. */
export async function withSocket<T>(
  where: Where,
  mac: string,
  fn: (sock: PacketSocket, ctx: ExchangeContext) => Promise<T>,
): Promise<T> {
  let sock: PacketSocket;
  try {
    sock = PacketSocket.open(where.netns ?? 'host', where.ifname);
  } catch (err) {
    throw new DhcpError(
      'DHCP_ERR_IO',
      `cannot open a packet socket on '${where.ifname}' for MAC ${mac}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    return await fn(sock, { netns: sock.netns, ifname: sock.ifname, mac });
  } finally {
    await sock.close();
  }
}

export function frameFor(a: Extract<Action, { type: 'send' }>, mac: Buffer): Buffer {
  const to = a.to;
  return buildUdpFrame({
    srcMac: mac,
    dstMac: to.broadcast ? BROADCAST_MAC : macBytes(to.mac, 'serverMac'),
    srcIp: a.srcIp,
    dstIp: to.broadcast ? BROADCAST_IP : to.ip,
    srcPort: DHCP_CLIENT_PORT,
    dstPort: DHCP_SERVER_PORT,
    payload: encodeMessage(a.message),
  });
}

export interface Converse {
  machine: DhcpClientMachine;
  sock: PacketSocket;
  ctx: ExchangeContext;
  clock: () => number;
  /** Real-time (Date.now) end of the conversation. */
  deadline: number;
  signal: AbortSignal | undefined;
  answerArp: boolean;
  stop: (a: Action) => boolean;
}

function aborted(ctx: ExchangeContext, signal: AbortSignal): DhcpError {
  return new DhcpError(
    'DHCP_ERR_ABORTED',
    `DHCP on '${ctx.ifname}' (netns ${ctx.netns}) for MAC ${ctx.mac} aborted`,
    { cause: signal.reason },
  );
}

/**
 * Sends the machine's messages and feeds it what arrives until an action satisfies `stop` (returned), or the
 * deadline passes (undefined). Frames that are not DHCP replies to this client are ignored.
 */
export async function converse(c: Converse, first: Action[]): Promise<Action | undefined> {
  const mac = macBytes(c.machine.mac);
  let pending = first;
  for (;;) {
    for (const a of pending) {
      if (a.type === 'send') {
        try {
          c.sock.send(frameFor(a, mac));
        } catch (err) {
          throw new DhcpError(
            'DHCP_ERR_IO',
            `sending DHCP${a.message.options?.messageType} on '${c.ctx.ifname}' (netns ${c.ctx.netns}) for MAC ${c.ctx.mac} failed: ${(err as Error).message}`,
            { cause: err },
          );
        }
      }
      if (c.stop(a)) return a;
    }
    pending = [];
    if (c.signal?.aborted) throw aborted(c.ctx, c.signal);
    const left = c.deadline - Date.now();
    if (left <= 0) return undefined;
    const untilTimer = c.machine.nextDeadline() - c.clock();
    const frame = await c.sock.recv(Math.max(0, Math.min(left, untilTimer, POLL_SLICE_MS)));
    if (frame !== null) pending.push(...handleFrame(c, frame, mac));
    if (c.clock() >= c.machine.nextDeadline()) pending.push(...c.machine.tick(c.clock()));
  }
}

function handleFrame(c: Converse, frame: Buffer, mac: Buffer): Action[] {
  const arp = parseArp(frame);
  if (arp !== undefined) {
    const l = c.machine.lease;
    if (c.answerArp && arp.op === 'request' && l !== undefined && arp.targetIp === l.address) {
      try {
        c.sock.send(buildArpReply(arp, mac, l.address));
      } catch {
        // best effort: the server asks again, and without an answer the exchange times out with a clear error
      }
    }
    return [];
  }
  const udp = parseUdpFrame(frame);
  if (udp === undefined || udp.dstPort !== DHCP_CLIENT_PORT || udp.srcPort !== DHCP_SERVER_PORT) return [];
  let msg: ReturnType<typeof decodeMessage>;
  try {
    msg = decodeMessage(udp.payload);
  } catch {
    return []; // RFC 2131 §4.1: a client silently discards what it cannot parse
  }
  return c.machine.receive(msg, c.clock(), { mac: udp.srcMac, ip: udp.srcIp });
}

export function waitingFor(state: ClientState, m: DhcpClientMachine, address: string | undefined): string {
  switch (state) {
    case 'SELECTING':
      return 'broadcast DHCPDISCOVER got no DHCPOFFER';
    case 'REQUESTING':
      return `broadcast DHCPREQUEST${address === undefined ? '' : ` for ${address}`} got no DHCPACK or DHCPNAK`;
    case 'REBOOTING':
      return `broadcast DHCPREQUEST (INIT-REBOOT) for ${address} got no DHCPACK or DHCPNAK`;
    case 'RENEWING':
      return `DHCPREQUEST (RENEWING) for ${address} unicast to ${m.lease?.serverId} got no DHCPACK or DHCPNAK`;
    case 'REBINDING':
      return `broadcast DHCPREQUEST (REBINDING) for ${address} got no DHCPACK or DHCPNAK`;
    default:
      return `no answer in state ${state}`;
  }
}

export const isResult = (a: Action): boolean =>
  a.type === 'bound' || a.type === 'renewed' || a.type === 'nak';

/** Sends an ARP probe for `ip` and waits `ms` for an answer; resolves to the MAC holding it, if any. */
async function probe(sock: PacketSocket, mac: string, ip: string, ms: number): Promise<string | undefined> {
  sock.send(buildArpProbe(macBytes(mac), ip));
  const deadline = Date.now() + ms;
  for (let left = ms; left > 0; left = deadline - Date.now()) {
    const frame = await sock.recv(left);
    const arp = frame === null ? undefined : parseArp(frame);
    if (arp !== undefined && arp.senderIp === ip && arp.senderMac !== mac) return arp.senderMac;
  }
  return undefined;
}

/** A machine for the MAC, client id and hostname a lease record was obtained with. */
export function machineForLease(
  l: Lease,
  opts: Pick<ClientOptions, 'timing' | 'random'> = {},
): DhcpClientMachine {
  return new DhcpClientMachine({
    mac: l.mac,
    ...(l.hostname === undefined ? {} : { hostname: l.hostname }),
    ...(l.clientId === undefined ? {} : { clientId: Buffer.from(l.clientId, 'hex') }),
    ...(opts.timing === undefined ? {} : { timing: opts.timing }),
    ...(opts.random === undefined ? {} : { random: opts.random }),
  });
}

/** A conversation of `machine` on `sock` until `deadline` (real time), ending at a bound/renewed/nak. */
function conversation(
  machine: DhcpClientMachine,
  sock: PacketSocket,
  ctx: ExchangeContext,
  opts: ClientOptions,
  deadline: number,
): Converse {
  return {
    machine,
    sock,
    ctx,
    clock: opts.clock ?? Date.now,
    deadline,
    signal: opts.signal,
    answerArp: opts.answerArp ?? true,
    stop: isResult,
  };
}

/**
 * Gets a lease for `mac` on `ifname` in `netns`: DISCOVER/OFFER/REQUEST/ACK, or INIT-REBOOT with `lease`.
 * A DHCPNAK starts over with DISCOVER (RFC 2131 §3.1, §3.2) until the time is up. Throws DhcpNoAnswerError
 * (naming interface, MAC and what went unanswered) when nothing usable came back within `timeoutMs`.
 */
export async function acquire(opts: AcquireOptions): Promise<Lease> {
  const timeoutMs = timeoutOf(opts.timeoutMs);
  const probeMs = opts.probeMs ?? 0;
  if (typeof probeMs !== 'number' || !Number.isFinite(probeMs) || probeMs < 0 || probeMs >= timeoutMs) {
    throw new DhcpInvalidArgumentError(
      'probeMs',
      probeMs,
      `milliseconds from 0 to below timeoutMs (${timeoutMs})`,
    );
  }
  const machine = new DhcpClientMachine({
    mac: opts.mac,
    ...(opts.clientId === undefined ? {} : { clientId: opts.clientId }),
    ...(opts.hostname === undefined ? {} : { hostname: opts.hostname }),
    ...(opts.timing === undefined ? {} : { timing: opts.timing }),
    ...(opts.random === undefined ? {} : { random: opts.random }),
  });
  const prior = opts.lease === undefined ? undefined : validateLease(opts.lease, 'lease');
  const clock = opts.clock ?? Date.now;
  if (opts.signal?.aborted) {
    throw aborted({ netns: 'not opened', ifname: opts.ifname, mac: machine.mac }, opts.signal);
  }
  const started = Date.now();
  return withSocket(opts, machine.mac, async (sock, ctx) => {
    const c = conversation(machine, sock, ctx, opts, started + timeoutMs);
    let first = prior === undefined ? machine.discover(clock()) : machine.reboot(prior, clock());
    let lastRefusal = '';
    let attempts = 0;
    for (;;) {
      const r = await converse(c, first);
      attempts += machine.attempts;
      if (r === undefined) {
        const address = machine.state === 'REBOOTING' ? prior?.address : undefined;
        const what = waitingFor(machine.state, machine, address) + lastRefusal;
        throw new DhcpNoAnswerError(ctx, what, attempts, Date.now() - started);
      }
      if (r.type === 'bound' || r.type === 'renewed') {
        const holder = probeMs > 0 ? await probe(sock, machine.mac, r.lease.address, probeMs) : undefined;
        if (holder === undefined) return r.lease;
        // RFC 2131 §4.4.1: the address is in use: DHCPDECLINE, and INIT again after the backoff.
        lastRefusal = ` (after declining ${r.lease.address}, which ${holder} holds)`;
        first = machine.decline(clock());
        continue;
      }
      if (r.type === 'nak') {
        // RFC 2131 §3.1 step 4, §3.2 step 3: after a DHCPNAK the client starts over in INIT.
        lastRefusal = ` (after a DHCPNAK from ${r.server} for ${r.address}${r.message === undefined ? '' : `: ${r.message}`})`;
        first = machine.discover(clock());
      }
    }
  });
}

/**
 * Extends `lease` now (RENEWING: DHCPREQUEST unicast to its server from its address). Resolves to the
 * renewed lease; DhcpNakError when refused (the address is gone), DhcpNoAnswerError when nothing answered.
 */
export async function renew(lease: Lease, where: Where, opts: ClientOptions = {}): Promise<Lease> {
  const l = validateLease(lease, 'lease');
  const timeoutMs = timeoutOf(opts.timeoutMs);
  // One call, bounded by timeoutMs: retransmit every 4 s rather than RFC 2131 §4.4.5's 60 s.
  const machine = machineForLease(l, { ...opts, timing: { minRenewRetransmitMs: 4000, ...opts.timing } });
  const clock = opts.clock ?? Date.now;
  const started = Date.now();
  return withSocket(where, machine.mac, async (sock, ctx) => {
    const c = conversation(machine, sock, ctx, opts, started + timeoutMs);
    const r = await converse(c, machine.renewNow(l, clock()));
    if (r === undefined) {
      throw new DhcpNoAnswerError(
        ctx,
        waitingFor(machine.state, machine, l.address),
        machine.attempts,
        Date.now() - started,
      );
    }
    if (r.type === 'nak') throw new DhcpNakError(ctx, r.server, r.message, r.address);
    if (r.type === 'renewed' || r.type === 'bound') return r.lease;
    throw new DhcpError('DHCP_ERR_STATE', `renew: unexpected ${r.type}`);
  });
}

/** Gives `lease` back: one DHCPRELEASE unicast to its server (RFC 2131 §4.4.6; there is no answer). */
export async function release(
  lease: Lease,
  where: Where,
  opts: Pick<ClientOptions, 'clock'> = {},
): Promise<void> {
  const l = validateLease(lease, 'lease');
  const machine = machineForLease(l);
  const clock = opts.clock ?? Date.now;
  machine.resume(l, clock());
  await withSocket(where, machine.mac, async (sock, ctx) => {
    const mac = macBytes(machine.mac);
    for (const a of machine.release(clock())) {
      if (a.type !== 'send') continue;
      try {
        sock.send(frameFor(a, mac));
      } catch (err) {
        throw new DhcpError(
          'DHCP_ERR_IO',
          `sending DHCPRELEASE on '${ctx.ifname}' (netns ${ctx.netns}) for MAC ${ctx.mac} failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
  });
}
