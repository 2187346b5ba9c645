import type { NetlinkMessage, NetlinkSocket } from 'netlink';
import { NetlinkError, toNetlinkError } from './errors.js';
import type { Link, LinkEvent } from './types.js';

const RTNLGRP_LINK = 1;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;

/**
 * A subscription to RTNLGRP_LINK on a socket of its own: every RTM_NEWLINK / RTM_DELLINK the kernel
 * multicasts in the namespace, as an async iterable. Events queue until read; `close()` (or `break` in a
 * `for await`, or the AbortSignal) ends it. A receive-buffer overrun (ENOBUFS: events were lost) ends the
 * iteration with that error, since a consumer that silently misses events would act on a wrong picture.
 */
export class LinkWatcher implements AsyncIterableIterator<LinkEvent> {
  readonly #sock: NetlinkSocket;
  readonly #queue: LinkEvent[] = [];
  #waiter: { resolve: (r: IteratorResult<LinkEvent>) => void; reject: (e: unknown) => void } | undefined;
  #error: NetlinkError | undefined;
  #closed = false;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.close();

  constructor(sock: NetlinkSocket, decode: (data: Buffer) => Link, netns: string, signal?: AbortSignal) {
    this.#sock = sock;
    this.#signal = signal;
    sock.on('message', (msgs: NetlinkMessage[]) => {
      for (const m of msgs) {
        if (m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) continue;
        let link: Link;
        try {
          link = decode(m.data);
        } catch {
          continue;
        }
        this.#push({ type: m.type === RTM_NEWLINK ? 'new' : 'del', link });
      }
    });
    sock.on('error', (err) => {
      this.#fail(toNetlinkError(err, { operation: 'watchLinks', netns }));
    });
    sock.addMembership(RTNLGRP_LINK);
    // Keep the process alive while someone listens.
    sock.ref(true);
    if (signal !== undefined) {
      if (signal.aborted) this.close();
      else signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  #push(ev: LinkEvent): void {
    if (this.#closed) return;
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w.resolve({ value: ev, done: false });
    } else this.#queue.push(ev);
  }

  #fail(err: NetlinkError): void {
    if (this.#closed) return;
    this.#error = err;
    const w = this.#waiter;
    this.#waiter = undefined;
    this.close();
    w?.reject(err);
  }

  next(): Promise<IteratorResult<LinkEvent>> {
    const ev = this.#queue.shift();
    if (ev !== undefined) return Promise.resolve({ value: ev, done: false });
    if (this.#error !== undefined) {
      const err = this.#error;
      this.#error = undefined;
      return Promise.reject(err);
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter !== undefined) {
      return Promise.reject(
        new NetlinkError('NETLINK_ERR_PROTOCOL', 'watchLinks: next() called concurrently'),
      );
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<LinkEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Ends the subscription; queued events are dropped, a pending `next()` resolves as done. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#sock.close();
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.resolve({ value: undefined, done: true });
  }
}
