// Deleting host veth ends, many at a time. Each RTM_DELLINK ends in an RCU wait (~16–20 ms here, PROTOCOLS.md
// §4): 20 deletes one after the other cost 20 of them, and 20 concurrent DeleteEndpoints queued behind each
// other took 440 ms at p99. Two kernel facts make it cheap:
//
// - the kernel deletes every link of a link group in one request with one wait (rtnl_group_dellink →
//   unregister_netdevice_many);
// - the wait (netdev_run_todo → rcu_barrier) comes after the rtnl lock is dropped, so deletes on several
//   threads wait it out together (the netlink handle runs several blocking requests at once, each on
//   its own socket and thread: `openHostKernel()` opens one with a socket per slot).
//
// So deletes go through a group commit (group-commit.ts) with REAPER_SLOTS slots: the ones asked for in one
// turn of the event loop form a batch, which goes out at once while a slot is free: one link as a plain
// RTM_DELLINK (the sequential case pays nothing extra), more by moving each into the slot's reserved group
// (RTM_SETLINK, no wait) and deleting the group in one RTM_DELLINK. With every slot busy, what is asked for
// gathers into one batch for the first slot to free.
//
//   const reaper = new LinkReaper(kernel);
//   await Promise.all(names.map((n) => reaper.delete(n)));   // true where the link was there
import { goneOrAnswered, NetlinkHandle } from '@ovs-container-network/netlink';
import { GroupCommit } from './group-commit.js';
import { hasErrno, type KernelHandle, reapingGroup } from './kernel.js';

/** Deletes in flight at once (each holds a blocking netlink socket of the handle while it waits). */
export const REAPER_SLOTS = 6;

/** A host-namespace handle with a blocking socket for each of the reaper's slots. */
export function openHostKernel(): NetlinkHandle {
  return NetlinkHandle.open('host', { blockingRequests: REAPER_SLOTS });
}

type ReaperKernel = Pick<KernelHandle, 'setLink' | 'deleteLink' | 'deleteLinkGroup' | 'whenGone'>;

export class LinkReaper {
  readonly #kernel: ReaperKernel;
  readonly #commit = new GroupCommit<string, boolean>((names, slot) => this.#deleteAll(names, slot), {
    slots: REAPER_SLOTS,
  });

  constructor(kernel: ReaperKernel) {
    this.#kernel = kernel;
  }

  /**
   * Deletes the link `name` (with a veth, its peer goes too). Resolves true when it was there, false when it
   * was not (ENODEV: deleting is idempotent); rejects with the kernel's error otherwise. `index`, when the
   * caller knows the device's ifindex (OVS's `Interface.ifindex`), spares the name lookup of the gone wait.
   */
  async delete(name: string, index?: number): Promise<boolean> {
    // Subscribed before the delete can go out. A failed delete is never announced, so its error stays ours.
    const ac = new AbortController();
    const gone = this.#kernel.whenGone(name, { signal: ac.signal, index });
    try {
      return await goneOrAnswered(gone, this.#commit.submit(name), true);
    } finally {
      ac.abort();
    }
  }

  /** Deletes these links; never throws: each name gets true, false (was not there) or its error. */
  async #deleteAll(names: readonly string[], slot: number): Promise<Map<string, boolean | Error>> {
    const group = reapingGroup(slot);
    const out = new Map<string, boolean | Error>();
    if (names.length === 1) {
      out.set(names[0]!, await this.#one(names[0]!));
      return out;
    }
    const tagged: string[] = [];
    await Promise.all(
      names.map(async (n) => {
        try {
          await this.#kernel.setLink(n, { group });
          tagged.push(n);
        } catch (err) {
          out.set(n, hasErrno(err, 'ENODEV', 'ENOENT') ? false : await this.#one(n));
        }
      }),
    );
    if (tagged.length === 0) return out;
    try {
      await this.#kernel.deleteLinkGroup(group);
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
