// A push → AsyncIterable bridge with an unbounded queue, for change events and status streams. Each
// consumer gets its own channel; leaving a `for await` (break/return/throw) unsubscribes it.

export class Channel<T> implements AsyncIterableIterator<T> {
  readonly #queue: T[] = [];
  #head = 0;
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #closed = false;
  readonly #onClose: (() => void) | undefined;

  constructor(onClose?: () => void) {
    this.#onClose = onClose;
  }

  push(v: T): void {
    if (this.#closed) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w({ value: v, done: false });
    } else this.#queue.push(v);
  }

  /** Ends the stream after the queued values are consumed. */
  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose?.();
    const w = this.#waiter;
    if (w && this.#head >= this.#queue.length) {
      this.#waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#queue.length) {
      const v = this.#queue[this.#head++] as T;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value: v, done: false });
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#queue.length = 0;
    this.#head = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
