// Group commit: requests that arrive while earlier ones are being carried out go out together, in one
// request to the kernel or one OVSDB transaction, instead of queueing one by one. Concurrent Docker calls
// (20 CreateEndpoints, a burst of DeleteEndpoints) then share the fixed cost of a commit: ovsdb-server and
// ovs-vswitchd handle one change of a 5,000-port Bridge row instead of 20, and the kernel waits out one
// RCU grace period for many links.
//
// - Keys submitted in one turn of the event loop form a batch (equal keys share one result).
// - A batch goes out once its turn is over and one of `slots` is free; with every slot busy, the keys
//   submitted meanwhile gather into one batch for the first slot to free. So a lone request pays one
//   setImmediate, and under load the batches grow instead of the queue.
// - `run` gets the batch and the slot it holds, and answers each key with its result or its own Error:
//   one key's failure is its caller's alone.
//
//   const adds = new GroupCommit<Spec, Uuid>(async (specs) => new Map(…), { slots: 1 });
//   const uuid = await adds.submit(spec);
type Waiter<R> = { resolve: (r: R) => void; reject: (err: unknown) => void };

export type GroupRun<K, R> = (keys: readonly K[], slot: number) => Promise<ReadonlyMap<K, R | Error>>;

export class GroupCommit<K, R> {
  readonly #run: GroupRun<K, R>;
  /** The batch being gathered; `ready` once its first turn is over. */
  #batch: { waiters: Map<K, Waiter<R>[]>; ready: boolean } | undefined;
  readonly #freeSlots: number[];

  constructor(run: GroupRun<K, R>, options: { slots?: number } = {}) {
    const slots = options.slots ?? 1;
    if (!Number.isInteger(slots) || slots < 1)
      throw new RangeError(`slots ${slots}: expected an integer ≥ 1`);
    this.#run = run;
    this.#freeSlots = Array.from({ length: slots }, (_, i) => slots - 1 - i);
  }

  submit(key: K): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (!this.#batch) {
        const batch = { waiters: new Map<K, Waiter<R>[]>(), ready: false };
        this.#batch = batch;
        setImmediate(() => {
          batch.ready = true;
          this.#launch();
        });
      }
      const waiters = this.#batch.waiters.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.#batch.waiters.set(key, [{ resolve, reject }]);
    });
  }

  /** Sends the gathered batch if its turn is over and a slot is free. */
  #launch(): void {
    const batch = this.#batch;
    if (!batch?.ready || this.#freeSlots.length === 0) return;
    const slot = this.#freeSlots.pop() as number;
    this.#batch = undefined;
    const settle = (results: ReadonlyMap<K, R | Error> | Error) => {
      this.#freeSlots.push(slot);
      for (const [key, waiters] of batch.waiters) {
        const r =
          results instanceof Error
            ? results
            : results.has(key)
              ? (results.get(key) as R | Error)
              : new Error('group commit: the batch gave no result for this request');
        for (const w of waiters) {
          if (r instanceof Error) w.reject(r);
          else w.resolve(r);
        }
      }
      this.#launch();
    };
    this.#run([...batch.waiters.keys()], slot).then(settle, (err: unknown) =>
      settle(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
