// OVSDB locks (RFC 7047 §4.1.8–4.1.10) held across reconnections. A lock belongs to a connection: the
// server releases it when the connection drops, so the SessionLock asks for it again on every new
// connection. `lock` queues (a `locked` notification arrives when granted); `steal` takes it at once and
// the previous owner gets `stolen`. Transactions that must only commit while the lock is held include an
// `assert` operation (RFC 7047 §5.2.10), which fails with "not owner" otherwise.

import { EventEmitter } from 'node:events';
import type { OvsdbClient } from '../client.js';
import { AbortError, InvalidArgumentError, NotConnectedError } from '../errors.js';
import type { OvsdbSession } from './session.js';

const LOCK_ID = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface LockEventMap {
  /** The lock is ours (granted at once, after queueing, or by stealing). */
  locked: [];
  /** Another client stole it; we stay queued only if we ask again (`acquire`/`steal`). */
  stolen: [];
  /** The connection dropped: the server released it. It is asked for again on reconnect. */
  lost: [];
}

export class SessionLock {
  readonly id: string;
  readonly session: OvsdbSession;
  #owned = false;
  #wanted: 'lock' | 'steal' | undefined;
  #released = false;
  #client: OvsdbClient | undefined;
  readonly #ee = new EventEmitter<LockEventMap>();
  readonly #hook = (client: OvsdbClient) => this.#onConnect(client);
  readonly #onDisconnect = () => {
    this.#client = undefined;
    if (this.#owned) {
      this.#owned = false;
      this.#ee.emit('lost');
    }
  };

  /** @internal Use `lock(session, id)`. */
  constructor(session: OvsdbSession, id: string) {
    if (typeof id !== 'string' || !LOCK_ID.test(id))
      throw new InvalidArgumentError(
        `lock id: ${JSON.stringify(id)} is not allowed; expected an <id> (a letter or "_", then letters, digits, "_")`,
      );
    this.id = id;
    this.session = session;
    this.#ee.setMaxListeners(0);
    session.addConnectHook(this.#hook);
    session.on('disconnected', this.#onDisconnect);
  }

  /** Whether this session holds the lock now. */
  get owned(): boolean {
    return this.#owned;
  }

  on<K extends keyof LockEventMap>(event: K, listener: (...args: LockEventMap[K]) => void): this {
    this.#ee.on(event, listener as never);
    return this;
  }
  off<K extends keyof LockEventMap>(event: K, listener: (...args: LockEventMap[K]) => void): this {
    this.#ee.off(event, listener as never);
    return this;
  }

  /** Asks for the lock (queued behind the owner) and resolves once it is ours. */
  async acquire(signal?: AbortSignal): Promise<void> {
    this.#checkOpen();
    this.#wanted ??= 'lock';
    const client = this.session.client;
    if (client && client !== this.#client) await this.#request(client, 'lock');
    await this.#waitOwned(signal);
  }

  /** Takes the lock from its owner (RFC 7047 §4.1.9); resolves once it is ours. */
  async steal(signal?: AbortSignal): Promise<void> {
    this.#checkOpen();
    this.#wanted = 'steal';
    const client = await this.session.connected(signal);
    await this.#request(client, 'steal');
    await this.#waitOwned(signal);
  }

  /** Gives the lock up (or leaves the queue) and stops asking for it on reconnect. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#wanted = undefined;
    this.session.removeConnectHook(this.#hook);
    this.session.off('disconnected', this.#onDisconnect);
    const client = this.#client;
    this.#client = undefined;
    this.#owned = false;
    if (client && client.status === 'open') await client.unlock(this.id).catch(() => {});
  }

  /** The `assert` operation for a transaction that may only commit while the lock is held. */
  assertOperation(): { op: 'assert'; lock: string } {
    return { op: 'assert', lock: this.id };
  }

  #checkOpen(): void {
    if (this.#released) throw new InvalidArgumentError(`lock "${this.id}" was released; create a new one`);
  }

  async #waitOwned(signal?: AbortSignal): Promise<void> {
    while (!this.#owned) {
      if (this.#released) throw new NotConnectedError(`lock "${this.id}" was released`);
      if (signal?.aborted)
        throw new AbortError(`gave up waiting for lock "${this.id}"`, { cause: signal.reason });
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#ee.off('locked', done);
          signal?.removeEventListener('abort', done);
          clearInterval(poll);
          resolve();
        };
        // Also wake now and then to notice `release()`.
        const poll = setInterval(() => {
          if (this.#released) done();
        }, 200);
        this.#ee.on('locked', done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  async #request(client: OvsdbClient, how: 'lock' | 'steal'): Promise<void> {
    if (client !== this.#client) this.#listen(client);
    const res = how === 'steal' ? await client.steal(this.id) : await client.lock(this.id);
    if (res.locked && !this.#owned && client === this.#client) {
      this.#owned = true;
      this.#ee.emit('locked');
    }
  }

  #listen(client: OvsdbClient): void {
    this.#client = client;
    client.on('locked', (id) => {
      if (id !== this.id || client !== this.#client || this.#owned) return;
      this.#owned = true;
      this.#ee.emit('locked');
    });
    client.on('stolen', (id) => {
      if (id !== this.id || client !== this.#client) return;
      this.#owned = false;
      // RFC 7047 §4.1.9: after "stolen" the client is no longer queued; ask again to wait for it.
      this.#ee.emit('stolen');
    });
  }

  async #onConnect(client: OvsdbClient): Promise<void> {
    if (this.#released || this.#wanted === undefined) {
      this.#client = undefined;
      return;
    }
    // On a new connection a previous steal is not repeated: queue like everyone else.
    await this.#request(client, 'lock');
  }
}

/** A lock on `session` named `id`; call `acquire()` or `steal()`. */
export function lock(session: OvsdbSession, id: string): SessionLock {
  return new SessionLock(session, id);
}
