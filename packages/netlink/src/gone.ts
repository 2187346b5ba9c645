// Knowing when a link is gone without waiting for its delete to be answered. The kernel unlists a device and
// multicasts RTM_DELLINK under the rtnl lock (unregister_netdevice_many), then, with the lock dropped, waits
// for an RCU barrier and the device's last references (netdev_run_todo) before it answers the request: 0.8 ms
// against 20.8 ms (medians, 20 veths here). Once the multicast is out the name is free and the link is in no
// dump, so a caller that only needs "gone" can go on 20 ms sooner.
//
// One RTNLGRP_LINK socket per handle serves every wait. It reads only RTM_DELLINK's ifindex and IFLA_IFNAME
// (every NEWLINK of the namespace passes through it too, so it decodes nothing else), and it is open only
// while waits are pending (and for IDLE_MS after), so a handle at rest receives nothing.
//
// A wait is for one device: a name resolves to its ifindex first (RTM_GETLINK), and the wait ends on a
// DELLINK for that ifindex (ifindexes are not reused: the kernel allocates them cyclically). So a DELLINK for
// an earlier device of the same name, still unread on the socket, is not taken for this one. Events that
// arrive before the ifindex is known are kept as candidates for the name. When the lookup finds no device
// (a delete sent right after the wait began overtook it), a DELLINK for the name seen since the wait began,
// or within NOT_FOUND_GRACE_MS, ends it; otherwise it fails with the lookup's error. Only there can an
// earlier same-named device's unread event be taken for this one's, and then this one is gone as well.
import type { NetlinkMessage, NetlinkSocket } from 'netlink';
import { NetlinkError, toNetlinkError } from './errors.js';

const RTNLGRP_LINK = 1;
const RTM_DELLINK = 17;
const IFLA_IFNAME = 3;
const IFINFOMSG_LEN = 16;
/** Attribute type bits (NLA_F_NESTED, NLA_F_NET_BYTEORDER are the top two). */
const NLA_TYPE_MASK = 0x3fff;
/** How long the socket stays open with no wait pending. */
export const IDLE_MS = 500;
/**
 * How long a wait whose device was not found stays open for its DELLINK: the kernel unlists a device before
 * it multicasts the DELLINK, and the lookup's answer and the event come on different sockets, so "no such
 * device" may be read first when a delete raced the lookup.
 */
export const NOT_FOUND_GRACE_MS = 100;

export interface DellinkIdentity {
  index: number;
  name: string | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * The ifindex and IFLA_IFNAME of an RTM_DELLINK payload (ifinfomsg + attributes); undefined when the payload
 * is too short for an ifinfomsg. A malformed attribute ends the scan (the name is then undefined).
 */
export function dellinkIdentity(data: Uint8Array): DellinkIdentity | undefined {
  if (data.length < IFINFOMSG_LEN) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const index = view.getInt32(4, true);
  let off = IFINFOMSG_LEN;
  while (off + 4 <= data.length) {
    const len = view.getUint16(off, true);
    const type = view.getUint16(off + 2, true) & NLA_TYPE_MASK;
    if (len < 4 || off + len > data.length) break;
    if (type === IFLA_IFNAME) {
      let end = off + 4;
      while (end < off + len && data[end] !== 0) end++;
      return { index, name: end > off + 4 ? utf8.decode(data.subarray(off + 4, end)) : undefined };
    }
    off += (len + 3) & ~3;
  }
  return { index, name: undefined };
}

const GONE = Symbol('gone');

/**
 * `ifGone` as soon as `gone` resolves, else whatever `answered` settles to (its error included); a failed or
 * aborted `gone` leaves it to `answered`. Once gone, a later rejection of `answered` is not reported: a link
 * announced as deleted cannot still be there. The race of `deleteLink({until: 'gone'})` and of callers that
 * pair `whenGone` with a delete of their own (subscribe first, then send the delete).
 */
export async function goneOrAnswered<T>(gone: Promise<void>, answered: Promise<T>, ifGone: T): Promise<T> {
  const first = await Promise.race([
    gone.then(
      () => GONE,
      () => answered,
    ),
    answered,
  ]);
  if (first !== GONE) return first as T;
  answered.catch(() => undefined);
  return ifGone;
}

/** One pending wait: settle it with `indexIs` (its device's ifindex, once known) or `fail`. */
export interface GoneWait {
  readonly promise: Promise<void>;
  /** The device's ifindex: a DELLINK for it ends the wait (at once, when one was seen already). */
  indexIs(index: number): void;
  /** The lookup found no such device (`err`): gone if its DELLINK is seen in time, else fails with `err`. */
  notFound(err: unknown): void;
  fail(err: unknown): void;
}

interface Entry extends GoneWait {
  readonly name: string | undefined;
  index: number | undefined;
  /** ifindexes of DELLINKs for `name` (or `index`) seen before the lookup's answer. */
  readonly seen: Set<number>;
  /** Set once the lookup found nothing: any DELLINK for the name (or index) ends the wait. */
  lookupFailed: boolean;
  settled: boolean;
  onDellink(id: DellinkIdentity): void;
}

export class GoneTracker {
  readonly #open: () => NetlinkSocket;
  readonly #netns: string;
  #sock: NetlinkSocket | undefined;
  readonly #waits = new Set<Entry>();
  #idle: NodeJS.Timeout | undefined;
  #closed = false;

  /** `open` makes an unsubscribed NETLINK_ROUTE socket in the handle's namespace. */
  constructor(open: () => NetlinkSocket, netns: string) {
    this.#open = open;
    this.#netns = netns;
  }

  /** Whether the event socket is open (for tests). */
  get listening(): boolean {
    return this.#sock !== undefined;
  }

  /**
   * Starts a wait for the link named `name` (its ifindex to follow through `indexIs`) or with ifindex `index`.
   * Synchronous: the subscription is in place when it returns, so a delete sent afterwards cannot be missed.
   * Throws when the socket cannot be opened. An aborted signal rejects with its reason.
   */
  track(link: { name: string } | { index: number }, signal?: AbortSignal): GoneWait {
    if (this.#closed) throw this.#closedError();
    this.#listen();
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const onAbort = (): void => entry.fail(signal?.reason);
    let grace: NodeJS.Timeout | undefined;
    const finish = (): void => {
      entry.settled = true;
      if (grace !== undefined) clearTimeout(grace);
      signal?.removeEventListener('abort', onAbort);
      this.#waits.delete(entry);
      if (this.#waits.size === 0) {
        this.#sock?.ref(false);
        this.#armIdle();
      }
    };
    const entry: Entry = {
      promise,
      name: 'name' in link ? link.name : undefined,
      index: 'index' in link ? link.index : undefined,
      seen: new Set(),
      lookupFailed: false,
      settled: false,
      indexIs: (index) => {
        if (entry.settled) return;
        if (entry.seen.has(index)) {
          finish();
          resolve();
        } else entry.index = index;
      },
      notFound: (err) => {
        if (entry.settled) return;
        if (entry.seen.size > 0) {
          finish();
          resolve();
          return;
        }
        entry.lookupFailed = true;
        // Kept referenced: the caller is waiting for this answer, and it comes within the grace.
        grace = setTimeout(() => entry.fail(err), NOT_FOUND_GRACE_MS);
      },
      fail: (err) => {
        if (entry.settled) return;
        finish();
        reject(err);
      },
      onDellink: (id) => {
        const byIndex = entry.index !== undefined && id.index === entry.index;
        const byName = entry.name !== undefined && id.name === entry.name;
        if (byIndex || (entry.lookupFailed && byName)) {
          finish();
          resolve();
        } else if (byName) entry.seen.add(id.index);
      },
    };
    this.#waits.add(entry);
    this.#sock?.ref(true);
    if (signal !== undefined) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    return entry;
  }

  /** Fails every pending wait with NETLINK_ERR_CLOSED and closes the socket; later `track` calls throw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(this.#closedError());
    this.#drop();
  }

  #closedError(): NetlinkError {
    return new NetlinkError('NETLINK_ERR_CLOSED', `the handle for netns ${this.#netns} was closed`);
  }

  #listen(): void {
    if (this.#idle !== undefined) {
      clearTimeout(this.#idle);
      this.#idle = undefined;
    }
    if (this.#sock !== undefined) return;
    const sock = this.#open();
    try {
      sock.on('message', (msgs: NetlinkMessage[]) => {
        if (this.#sock !== sock) return;
        for (const m of msgs) {
          if (m.type !== RTM_DELLINK) continue;
          const id = dellinkIdentity(m.data);
          if (id === undefined) continue;
          for (const w of [...this.#waits]) w.onDellink(id);
        }
      });
      // A receive overrun (ENOBUFS) means events were lost: no pending wait can trust the socket any more.
      // They fail (their callers fall back to the requests' answers) and the next wait opens a fresh socket.
      sock.on('error', (err: unknown) => {
        if (this.#sock !== sock) return;
        this.#drop();
        this.#failAll(toNetlinkError(err, { operation: 'whenGone', netns: this.#netns }));
      });
      sock.addMembership(RTNLGRP_LINK);
      // Referenced only while a wait is pending (track, finish): a pending wait keeps the process alive, as a
      // pending request does, and a socket with nothing to wait for keeps nothing alive.
      sock.ref(false);
    } catch (err) {
      sock.close();
      throw toNetlinkError(err, { operation: 'whenGone', netns: this.#netns });
    }
    this.#sock = sock;
  }

  #armIdle(): void {
    if (this.#sock === undefined || this.#idle !== undefined) return;
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      if (this.#waits.size === 0) this.#drop();
    }, IDLE_MS);
    this.#idle.unref();
  }

  #drop(): void {
    if (this.#idle !== undefined) {
      clearTimeout(this.#idle);
      this.#idle = undefined;
    }
    const sock = this.#sock;
    this.#sock = undefined;
    sock?.close();
  }

  #failAll(err: unknown): void {
    for (const w of [...this.#waits]) w.fail(err);
  }
}
