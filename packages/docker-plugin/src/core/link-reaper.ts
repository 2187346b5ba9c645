// Deleting host veth ends, many at a time. Each RTM_DELLINK waits for an RCU grace period under the rtnl lock
// (~16–20 ms here, PROTOCOLS.md §4), so N deletes one after the other cost N grace periods, and 20 concurrent
// DeleteEndpoints queued behind each other took 440 ms at p99. The kernel deletes every link of a link group
// in one request with one grace period (rtnl_group_dellink → unregister_netdevice_many), so:
//
// - one delete at a time is in flight (group commit): a delete asked for while none is goes out at once, as
//   a plain RTM_DELLINK (the sequential case pays nothing extra);
// - the ones asked for meanwhile wait for it, and then go out together: each is moved into REAPING_GROUP
//   (RTM_SETLINK, no grace period) and the group is deleted in one RTM_DELLINK.
//
//   const reaper = new LinkReaper(kernel);
//   await Promise.all(names.map((n) => reaper.delete(n)));   // true where the link was there
import { hasErrno, type KernelHandle, REAPING_GROUP } from './kernel.js';

type Waiter = { resolve: (wasThere: boolean) => void; reject: (err: unknown) => void };

export class LinkReaper {
  readonly #kernel: Pick<KernelHandle, 'setLink' | 'deleteLink' | 'deleteLinkGroup'>;
  #queue = new Map<string, Waiter[]>();
  #draining = false;

  constructor(kernel: Pick<KernelHandle, 'setLink' | 'deleteLink' | 'deleteLinkGroup'>) {
    this.#kernel = kernel;
  }

  /**
   * Deletes the link `name` (with a veth, its peer goes too). Resolves true when it was there, false when it
   * was not (ENODEV: deleting is idempotent); rejects with the kernel's error otherwise.
   */
  delete(name: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const waiters = this.#queue.get(name);
      if (waiters) waiters.push({ resolve, reject });
      else this.#queue.set(name, [{ resolve, reject }]);
      if (!this.#draining) {
        this.#draining = true;
        void this.#drain();
      }
    });
  }

  async #drain(): Promise<void> {
    // Deletes asked for in this turn of the event loop (a batch of removals) join the first request.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#queue.size > 0) {
      const batch = this.#queue;
      this.#queue = new Map();
      const results = await this.#deleteAll([...batch.keys()]);
      for (const [name, waiters] of batch) {
        const r = results.get(name);
        for (const w of waiters) {
          if (r instanceof Error) w.reject(r);
          else w.resolve(r === true);
        }
      }
    }
    this.#draining = false;
  }

  /** Deletes these links; never throws: each name gets true, false (was not there) or its error. */
  async #deleteAll(names: readonly string[]): Promise<Map<string, boolean | Error>> {
    const out = new Map<string, boolean | Error>();
    if (names.length === 1) {
      out.set(names[0]!, await this.#one(names[0]!));
      return out;
    }
    const tagged: string[] = [];
    await Promise.all(
      names.map(async (n) => {
        try {
          await this.#kernel.setLink(n, { group: REAPING_GROUP });
          tagged.push(n);
        } catch (err) {
          out.set(n, hasErrno(err, 'ENODEV', 'ENOENT') ? false : await this.#one(n));
        }
      }),
    );
    if (tagged.length === 0) return out;
    try {
      await this.#kernel.deleteLinkGroup(REAPING_GROUP);
      for (const n of tagged) out.set(n, true);
    } catch (err) {
      // ENODEV: none left in the group; they were there when moved into it, and something (their namespace
      // going, a group delete of another process) took them since.
      if (hasErrno(err, 'ENODEV')) for (const n of tagged) out.set(n, true);
      else for (const n of tagged) out.set(n, await this.#one(n));
    }
    return out;
  }

  async #one(name: string): Promise<boolean | Error> {
    try {
      await this.#kernel.deleteLink(name);
      return true;
    } catch (err) {
      if (hasErrno(err, 'ENODEV', 'ENOENT')) return false;
      return err instanceof Error ? err : new Error(String(err));
    }
  }
}
