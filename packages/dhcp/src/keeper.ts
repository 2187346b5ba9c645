// Keeps leases alive: per lease a machine (machine.ts) resumed from its record, a timer at the machine's next
// deadline (T1, a retransmission, T2, expiry), and at each a short exchange on a socket opened for it.
import { EventEmitter } from 'node:events';
import {
  converse,
  isResult,
  machineForLease,
  release,
  type Where,
  waitingFor,
  withSocket,
} from './client.js';
import { DhcpError, DhcpInvalidArgumentError, DhcpNakError, DhcpNoAnswerError } from './errors.js';
import { type Lease, validateLease } from './lease.js';
import {
  type Action,
  type ClientState,
  DEFAULT_TIMING,
  type DhcpClientMachine,
  type Timing,
  validateTiming,
} from './machine.js';

export interface KeeperEvents {
  /** A DHCPACK extended the lease: store `lease` (it replaces the old record). */
  renewed: [key: string, lease: Lease];
  /** The lease ran out without an answer (RFC 2131 §4.4.5): stop using the address. The key is forgotten. */
  expired: [key: string, lease: Lease];
  /** The server refused the renewal (DHCPNAK): the address is gone. The key is forgotten. */
  lost: [key: string, error: DhcpNakError];
  /** One renewal attempt got no answer, or the socket failed; the keeper tries again at the next deadline. */
  failed: [key: string, error: DhcpError];
  state: [key: string, from: ClientState, to: ClientState];
}

export interface LeaseKeeperOptions {
  /** Epoch ms; lease times are measured on it (Date.now by default). */
  clock?: () => number;
  timing?: Partial<Timing>;
  random?: () => number;
  /** How long each renewal attempt listens for its DHCPACK before closing its socket (default 4 s). */
  exchangeWindowMs?: number;
  answerArp?: boolean;
  /**
   * The longest the keeper sleeps before looking at the clock again (default 30 s), so a clock that jumps
   * (a host resumed from suspend, an NTP step) is noticed within this time, not at a stale timer.
   */
  maxSleepMs?: number;
}

/**
 * Where a lease is renewed: fixed, or resolved before each exchange (e.g. the interface with the endpoint's
 * MAC inside a container's namespace, which may not exist yet or may have been renamed). A resolver that
 * throws counts as a failed attempt (`failed` event; the keeper tries again at the next deadline).
 */
export type WhereSource = Where | (() => Where | Promise<Where>);

interface Entry {
  key: string;
  where: WhereSource;
  machine: DhcpClientMachine;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  gone: boolean;
}

/**
 * Renews leases at T1 (unicast), rebinds at T2 (broadcast), reports expiry, with events. Holds no socket
 * between exchanges. Resume after a restart by calling keep() with the stored record.
 */
export class LeaseKeeper extends EventEmitter<KeeperEvents> {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: () => number;
  readonly #window: number;
  readonly #maxSleep: number;
  readonly #opts: LeaseKeeperOptions;
  #closed = false;

  constructor(opts: LeaseKeeperOptions = {}) {
    super();
    const w = opts.exchangeWindowMs ?? 4000;
    if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) {
      throw new DhcpInvalidArgumentError('exchangeWindowMs', w, 'a number of milliseconds > 0');
    }
    this.#window = w;
    const m = opts.maxSleepMs ?? 30_000;
    if (typeof m !== 'number' || !Number.isFinite(m) || m <= 0 || m > 0x7fffffff) {
      throw new DhcpInvalidArgumentError('maxSleepMs', m, 'milliseconds from 1 to 2147483647');
    }
    this.#maxSleep = m;
    this.#clock = opts.clock ?? Date.now;
    this.#opts = opts;
    validateTiming({ ...DEFAULT_TIMING, ...opts.timing }); // fail here rather than at the first lease
  }

  /** Starts keeping `lease` (replacing what `key` held). A lease past T1/T2 is renewed/rebound at once. */
  keep(key: string, lease: Lease, where: WhereSource): void {
    if (this.#closed) throw new DhcpError('DHCP_ERR_STATE', `LeaseKeeper is closed (keep '${key}')`);
    if (typeof key !== 'string' || key.length === 0)
      throw new DhcpInvalidArgumentError('key', key, 'a non-empty string');
    const l = validateLease(lease, 'lease');
    this.forget(key);
    const machine = machineForLease(l, this.#opts);
    const e: Entry = { key, where, machine, timer: undefined, running: undefined, gone: false };
    this.#entries.set(key, e);
    this.#handle(e, machine.resume(l, this.#clock()));
    if (!e.gone) this.#schedule(e);
  }

  /** The current record for `key`. */
  lease(key: string): Lease | undefined {
    return this.#entries.get(key)?.machine.lease;
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /** Stops keeping `key` without telling the server (the lease runs out on its own). */
  forget(key: string): void {
    const e = this.#entries.get(key);
    if (e === undefined) return;
    e.gone = true;
    clearTimeout(e.timer);
    this.#entries.delete(key);
  }

  /** Stops keeping `key` and sends DHCPRELEASE for it. */
  async release(key: string): Promise<void> {
    const e = this.#entries.get(key);
    if (e === undefined) return;
    this.forget(key);
    await e.running;
    const l = e.machine.lease;
    if (l !== undefined) await release(l, await resolveWhere(e.where), { clock: this.#clock });
  }

  /** Forgets every lease (no release) and waits for running exchanges to finish. */
  async close(): Promise<void> {
    this.#closed = true;
    const running = [...this.#entries.values()].map((e) => e.running);
    for (const key of this.keys()) this.forget(key);
    await Promise.all(running);
  }

  #schedule(e: Entry): void {
    clearTimeout(e.timer);
    const at = e.machine.nextDeadline();
    if (e.gone || !Number.isFinite(at)) return;
    const delay = Math.min(this.#maxSleep, Math.max(0, at - this.#clock()));
    e.timer = setTimeout(() => {
      e.timer = undefined;
      e.running = this.#run(e).finally(() => {
        e.running = undefined;
        this.#schedule(e);
      });
    }, delay);
    e.timer.unref();
  }

  async #run(e: Entry): Promise<void> {
    if (e.gone) return;
    const now = this.#clock();
    if (now < e.machine.nextDeadline()) return; // a wake-up to look at the clock: nothing due yet
    const actions = e.machine.tick(now);
    this.#handle(e, actions);
    if (e.gone || !actions.some((a) => a.type === 'send')) return;
    const mac = e.machine.mac;
    try {
      const where = await resolveWhere(e.where).catch((err: unknown) => {
        throw err instanceof DhcpError
          ? err
          : new DhcpError('DHCP_ERR_IO', `cannot tell where to renew ${e.key}: ${String(err)}`, {
              cause: err,
            });
      });
      const r = await withSocket(where, mac, (sock, ctx) =>
        converse(
          {
            machine: e.machine,
            sock,
            ctx,
            clock: this.#clock,
            deadline: Date.now() + this.#window,
            signal: undefined,
            answerArp: this.#opts.answerArp ?? true,
            stop: (a) => {
              // converse() ticks the machine itself: its state changes and expiry are reported from here.
              if (a.type === 'state' || a.type === 'expired') this.#handle(e, [a]);
              return isResult(a) || a.type === 'expired';
            },
          },
          actions.filter((a) => a.type === 'send'),
        ).then((res) => {
          if (res === undefined) {
            const what = waitingFor(e.machine.state, e.machine, e.machine.lease?.address);
            this.#emitSafe(
              'failed',
              e.key,
              new DhcpNoAnswerError(ctx, what, e.machine.attempts, this.#window),
            );
            return undefined;
          }
          if (res.type === 'nak') return new DhcpNakError(ctx, res.server, res.message, res.address);
          if (res.type === 'expired') return undefined;
          return res;
        }),
      );
      if (r instanceof DhcpNakError) {
        this.forget(e.key);
        this.#emitSafe('lost', e.key, r);
      } else if (r !== undefined && r.type === 'renewed' && !e.gone) {
        this.#emitSafe('renewed', e.key, r.lease);
      }
    } catch (err) {
      const error =
        err instanceof DhcpError ? err : new DhcpError('DHCP_ERR_IO', String(err), { cause: err });
      this.#emitSafe('failed', e.key, error);
    }
  }

  #handle(e: Entry, actions: Action[]): void {
    for (const a of actions) {
      if (a.type === 'state') this.#emitSafe('state', e.key, a.from, a.to);
      else if (a.type === 'expired') {
        this.forget(e.key);
        this.#emitSafe('expired', e.key, a.lease);
      }
    }
  }

  /** A listener that throws must not break the keeper's timers. */
  #emitSafe<K extends keyof KeeperEvents>(event: K, ...args: KeeperEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: KeeperEvents[K]) => boolean)(event, ...args);
    } catch {
      // ignored: listener errors are the listener's
    }
  }
}

async function resolveWhere(w: WhereSource): Promise<Where> {
  return typeof w === 'function' ? await w() : w; // a resolver that throws rejects, never throws
}
