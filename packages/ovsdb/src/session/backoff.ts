// Reconnect pacing and remote selection. Pure: time and randomness come in as arguments so the unit tests
// are deterministic. The reference clients (ovsdb-idl's reconnect.c, libovsdb) back off 1 s → 8 s and try
// the remotes of a cluster in a shuffled order; we do the same and add full jitter so that many clients
// restarted together do not reconnect in lockstep.

import { InvalidArgumentError } from '../errors.js';

export interface BackoffOptions {
  /** First delay after a failure, ms (default 1000). */
  initialMs?: number;
  /** Ceiling, ms (default 8000). */
  maxMs?: number;
  /** Fraction of each delay that is randomised, 0..1 (default 0.5: delay ∈ [d/2, d]). */
  jitter?: number;
}

/**
 * Exponential back-off with jitter. `next()` gives the delay before the next attempt and doubles the base
 * up to `maxMs`; `reset()` after a connection that worked.
 */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly jitter: number;
  #current: number;
  readonly #random: () => number;

  constructor(opts: BackoffOptions = {}, random: () => number = Math.random) {
    const initialMs = opts.initialMs ?? 1000;
    const maxMs = opts.maxMs ?? 8000;
    const jitter = opts.jitter ?? 0.5;
    if (!Number.isFinite(initialMs) || initialMs < 0)
      throw new InvalidArgumentError(`backoff.initialMs: ${initialMs} is not allowed; expected a number ≥ 0`);
    if (!Number.isFinite(maxMs) || maxMs < initialMs)
      throw new InvalidArgumentError(
        `backoff.maxMs: ${maxMs} is not allowed; expected a number ≥ initialMs (${initialMs})`,
      );
    if (!(jitter >= 0 && jitter <= 1))
      throw new InvalidArgumentError(`backoff.jitter: ${jitter} is not allowed; expected a number in [0, 1]`);
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.jitter = jitter;
    this.#current = initialMs;
    this.#random = random;
  }

  /** The delay before the next attempt, then the base doubles (capped at maxMs). */
  next(): number {
    const base = this.#current;
    this.#current = Math.min(this.maxMs, Math.max(1, base * 2));
    return Math.round(base * (1 - this.jitter * this.#random()));
  }

  /** The current base delay (what the next `next()` is derived from). */
  get base(): number {
    return this.#current;
  }

  reset(): void {
    this.#current = this.initialMs;
  }
}

/** Fisher–Yates shuffle into a new array. */
export function shuffle<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}

/**
 * Cycles through a shuffled list of remotes. Each full pass reshuffles, so a dead remote is not always
 * tried first. `passCompleted` tells the caller when every remote was tried once since the last success
 * (that is when the back-off grows).
 */
export class RemoteRotation {
  readonly remotes: readonly string[];
  #order: string[];
  #pos = 0;
  #triedSinceSuccess = 0;
  readonly #random: () => number;

  constructor(remotes: readonly string[], random: () => number = Math.random) {
    if (remotes.length === 0)
      throw new InvalidArgumentError('remotes: [] is not allowed; expected at least one endpoint');
    for (const r of remotes)
      if (typeof r !== 'string' || r === '')
        throw new InvalidArgumentError(
          `remotes: ${JSON.stringify(r)} is not allowed; expected an endpoint string such as "tcp:127.0.0.1:6641"`,
        );
    this.remotes = [...remotes];
    this.#random = random;
    this.#order = shuffle(this.remotes, random);
  }

  /** The next remote to try. */
  next(): string {
    if (this.#pos >= this.#order.length) {
      this.#order = shuffle(this.remotes, this.#random);
      this.#pos = 0;
    }
    this.#triedSinceSuccess++;
    return this.#order[this.#pos++] as string;
  }

  /** True once every remote was tried since the last `succeeded()`. */
  get passCompleted(): boolean {
    return this.#triedSinceSuccess >= this.remotes.length;
  }

  /** Called when a remote turned out usable (connected, and leader when that is required). */
  succeeded(): void {
    this.#triedSinceSuccess = 0;
  }

  /** Forget the pass counter so the next failure starts a new pass (used after a wait). */
  startPass(): void {
    this.#triedSinceSuccess = 0;
  }
}
