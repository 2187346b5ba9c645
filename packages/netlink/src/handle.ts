import { createNetlink, type NetlinkMessage, type NetlinkSocket } from 'netlink';
import {
  checkFamily,
  describeRoute,
  describeRule,
  linkSpec,
  routeWire,
  ruleWire,
  selector,
  toAddress,
  toLink,
  toRoute,
  toRule,
} from './codec.js';
import {
  type KernelErrorContext,
  NetlinkError,
  NetlinkInvalidArgumentError,
  NetlinkKernelError,
  toNetlinkError,
} from './errors.js';
import { LinkWatcher } from './events.js';
import { GoneTracker, type GoneWait, goneOrAnswered } from './gone.js';
import { afOf, type Family, ipv4Broadcast, parseCidr } from './ip.js';
import { RequestLane } from './lane.js';
import { native } from './native.js';
import { closeNetnsFd, type NetnsFd, type NetnsRef, openNetnsFd, socketInNetns } from './netns.js';
import {
  deleteRootQdiscPayload,
  RTM_TC,
  TC_H_ROOT,
  type TokenBucketSpec,
  tbfQdiscPayload,
  tcmsg,
} from './tc.js';
import type {
  Address,
  AddressOptions,
  Link,
  LinkChanges,
  NetnsTarget,
  Route,
  RouteSpec,
  Rule,
  RuleSpec,
  VethOptions,
  VethPair,
} from './types.js';
import { isIfindex, validateIfname, validateTimeoutMs, validateU32 } from './validate.js';
import {
  addressPayload,
  attrString,
  decodeRouteMessage,
  deleteGroupPayload,
  IFA_F,
  ifaddrmsg,
  ifinfomsg,
  type LinkAttrSpec,
  linkSelector,
  NLM_F,
  newVethPayload,
  nlmsg,
  parseAttrs,
  RT_TABLE,
  RTM,
  routePayload,
  rtmsg,
  rulePayload,
  setLinkPayload,
} from './wire.js';

export interface HandleOptions {
  /** How long to wait for the kernel's answer to one request (default 15000 ms). */
  timeoutMs?: number | undefined;
  /**
   * Blocking requests (link deletes) in flight at once, each on its own blocking socket (1–64, default 3).
   * The kernel's RCU wait after a delete comes after it drops the rtnl lock, so concurrent deletes wait it out
   * together. Each waits on a thread of its own, not on libuv's pool: fs and DNS keep every pool thread, and a
   * request stuck in the kernel does not keep `process.exit()` (which joins the pool) from ending the process.
   */
  blockingRequests?: number | undefined;
}

const CREATE_EXCL = NLM_F.CREATE | NLM_F.EXCL;

/**
 * rtnetlink in one network namespace. The sockets are opened inside the namespace (setns in, socket, setns
 * back, synchronously on the main thread), so every request — links, addresses, routes, rules, ethtool —
 * acts there, like Go netlink's `NewHandleAt`.
 *
 * No request is sent from the main thread. The kernel handles an rtnetlink request inside sendmsg, under the
 * rtnl lock, so a send from the event loop would stall it for as long as another process (ovs-vswitchd
 * adding ports) holds that lock. Requests go in order on one "lane": a blocking socket whose sends and reads
 * run on one of the addon's worker threads. Requests made while the lane is busy leave together in the next
 * sendmsg, in the order they were made (the kernel handles one message after the other, so a caller may
 * pipeline dependent steps); a dump leaves alone (one dump per socket at a time). Link deletes go on further
 * blocking sockets, several at once (`blockingRequests`): RTM_DELLINK also waits for an RCU grace period
 * (~16 ms) inside sendmsg, after the rtnl lock is dropped, so concurrent deletes wait it out together.
 */
export class NetlinkHandle implements NetnsTarget {
  /** Where this handle works: `'host'`, a namespace name, a path, `pid N` or `fd N`. */
  readonly netns: string;
  readonly #ns: NetnsFd;
  /** Every request but link deletes, in order, on a worker thread. */
  readonly #lane: RequestLane;
  /**
   * Blocking rtnetlink sockets for pool-thread requests (made on demand, up to `blockingRequests`, each carrying
   * one request at a time), and the AF_INET socket for ioctls (made on first use).
   */
  readonly #routeFds: number[] = [];
  readonly #idleRouteFds: number[] = [];
  readonly #blockingWaiters: ((fd: number) => void)[] = [];
  readonly #blockingInFlight = new Set<Promise<unknown>>();
  #inetFd = -1;
  readonly #timeoutMs: number;
  readonly #isHost: boolean;
  #closed = false;
  #blockingSeq = 1;

  readonly #maxBlocking: number;
  /** RTM_DELLINK multicasts for `whenGone` (a socket open only while waits are pending). */
  readonly #gone: GoneTracker;

  private constructor(ns: NetnsFd, isHost: boolean, laneFd: number, timeoutMs: number, maxBlocking: number) {
    this.#maxBlocking = maxBlocking;
    this.netns = ns.description;
    this.#isHost = isHost;
    this.#ns = ns;
    this.#lane = new RequestLane(
      {
        open: () => this.#inNetns(() => native().routeSocket()),
        send: (fd, msgs) => native().nlRequest(fd, msgs),
        close: (fd) => native().closeFd(fd),
      },
      laneFd,
      timeoutMs,
      (ctx) => this.#ctx(ctx),
    );
    this.#timeoutMs = timeoutMs;
    this.#gone = new GoneTracker(() => this.#eventSocket('whenGone', 1 << 21), this.netns);
  }

  /**
   * Opens a handle in a namespace (default: the host's). A missing namespace throws a
   * {@link NetlinkKernelError} with errno `ENOENT`. The handle keeps the namespace alive until `close()`.
   */
  static open(ns: NetnsRef = 'host', options: HandleOptions = {}): NetlinkHandle {
    const timeoutMs = validateTimeoutMs(options.timeoutMs, 15_000);
    const blocking = options.blockingRequests ?? 3;
    if (!Number.isInteger(blocking) || blocking < 1 || blocking > 64)
      throw new NetlinkInvalidArgumentError(
        'blockingRequests',
        options.blockingRequests,
        'an integer in [1, 64]',
      );
    const { sock, nsFd } = socketInNetns(ns, 'openHandle', () => {
      const fd = native().routeSocket();
      return { fd, close: () => native().closeFd(fd) };
    });
    return new NetlinkHandle(nsFd, ns === 'host', sock.fd, timeoutMs, blocking);
  }

  /** The open namespace fd (valid until `close()`); usable as a move target in `setLink({netns})`. */
  get netnsFd(): number {
    this.#ensureOpen('netnsFd');
    return this.#ns.fd;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the sockets and releases the namespace. Pending deletions finish first. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#gone.close();
    const closedErr = new NetlinkError('NETLINK_ERR_CLOSED', `the handle for netns ${this.netns} was closed`);
    const laneDone = this.#lane.close(closedErr);
    const addon = native();
    const inetFd = this.#inetFd;
    this.#inetFd = -1;
    // Blocking requests made before close() (deletions, ethtool calls) finish, queued ones included: a socket
    // may be in use on its thread until its request settles, and only then may it go.
    void Promise.allSettled([laneDone, ...this.#blockingInFlight]).then(() => {
      if (inetFd >= 0) addon.closeFd(inetFd);
      for (const fd of this.#routeFds.splice(0)) addon.closeFd(fd);
      this.#idleRouteFds.length = 0;
      closeNetnsFd(this.#ns);
    });
  }

  // ---- links -------------------------------------------------------------------------------------------

  /** All links of the namespace. */
  async listLinks(): Promise<Link[]> {
    const msgs = await this.#request(RTM.GETLINK, ifinfomsg(), NLM_F.DUMP, { operation: 'listLinks' });
    return msgs.filter((m) => m.type === RTM.NEWLINK).map((m) => toLink(m.data));
  }

  /** One link by name or ifindex; ENODEV when there is none. */
  async getLink(link: string | number): Promise<Link> {
    const sel = selector(link, 'link');
    const ctx = { operation: 'getLink', ifname: String(link) };
    const msgs = await this.#request(RTM.GETLINK, linkSelector(sel), 0, ctx);
    const m = msgs.find((x) => x.type === RTM.NEWLINK);
    if (m === undefined) throw new NetlinkKernelError(19 /* ENODEV */, this.#ctx(ctx));
    return toLink(m.data);
  }

  /** One link by name or ifindex, or undefined when there is none. */
  async findLink(link: string | number): Promise<Link | undefined> {
    try {
      return await this.getLink(link);
    } catch (err) {
      if (err instanceof NetlinkKernelError && err.errno === 'ENODEV') return undefined;
      throw err;
    }
  }

  /**
   * Creates a veth pair in one RTM_NEWLINK (CREATE|EXCL): this end in the handle's namespace, the peer
   * directly in `peer.netns` when given. Then, if asked, sets TX checksum offload and brings the peer up; if
   * any of that fails the pair is deleted again and the error rethrown. EEXIST when a name is taken.
   */
  async createVeth(o: VethOptions): Promise<VethPair> {
    const name = validateIfname(o?.name, 'name');
    if (typeof o.peer !== 'object' || o.peer === null) {
      throw new NetlinkInvalidArgumentError('peer', o.peer, '{name, netns?, mtu?, mac?, up?, group?}');
    }
    const peerName = validateIfname(o.peer.name, 'peer.name');
    const host: LinkAttrSpec & { up?: boolean } = { name, ...linkSpec(o, '') };
    if (o.up !== undefined) host.up = o.up;
    const peer: LinkAttrSpec = { name: peerName, ...linkSpec(o.peer, 'peer.') };
    if (peer.mtu === undefined && host.mtu !== undefined) peer.mtu = host.mtu;
    const ctx = { operation: 'createVeth', ifname: name };
    this.#ensureOpen(ctx.operation);

    const peerTarget = o.peer.netns === undefined ? undefined : resolveTarget(o.peer.netns, ctx.operation);
    if (peerTarget !== undefined) peer.netnsFd = peerTarget.fd.fd;
    let tempPeerHandle: NetlinkHandle | undefined;
    try {
      // GETLINK right behind NEWLINK in one sendmsg (the kernel answers in order): no extra round trip.
      const creating = this.#request(RTM.NEWLINK, newVethPayload(host, peer), CREATE_EXCL, ctx, true);
      const reading = this.getLink(name);
      reading.catch(() => undefined);
      await creating;
      try {
        const created = await reading;
        if (o.txChecksum !== undefined) await this.#setTxChecksumOffThread(name, o.txChecksum, ctx);
        let peerHandle: NetlinkHandle = this;
        if (peerTarget !== undefined) {
          if (peerTarget.handle !== undefined) peerHandle = peerTarget.handle;
          else if (o.peer.up === true || o.peer.txChecksum !== undefined) {
            tempPeerHandle = NetlinkHandle.open({ fd: peerTarget.fd.fd });
            peerHandle = tempPeerHandle;
          }
        }
        if (o.peer.txChecksum !== undefined)
          await peerHandle.#setTxChecksumOffThread(peerName, o.peer.txChecksum, ctx);
        if (o.peer.up === true) {
          // By ifindex: saves the name lookup (IFLA_LINK of this end is the peer's index in its namespace).
          await peerHandle.setLink(created.peerIndex ?? peerName, { up: true });
        }
        return { name, index: created.index, peerName, peerIndex: created.peerIndex ?? 0 };
      } catch (err) {
        // Undo: deleting one end of a veth pair deletes both.
        await this.deleteLink(name, { missingOk: true }).catch(() => undefined);
        throw err;
      }
    } finally {
      tempPeerHandle?.close();
      if (peerTarget !== undefined) closeNetnsFd(peerTarget.fd);
    }
  }

  /**
   * Changes a link with one RTM_SETLINK: rename, MTU, MAC, group, alias, up/down, and with `netns` a move
   * into another namespace — the kernel moves first and applies the rest there. If that fails (say the new
   * name is taken in the target: EEXIST), the link is moved back, so it stays where it was.
   */
  async setLink(link: string | number, changes: LinkChanges): Promise<void> {
    if (typeof changes !== 'object' || changes === null) {
      throw new NetlinkInvalidArgumentError(
        'changes',
        changes,
        '{name?, mtu?, mac?, up?, group?, alias?, netns?}',
      );
    }
    const spec: LinkAttrSpec & { up?: boolean } = linkSpec(changes, '');
    if (changes.name !== undefined) spec.name = validateIfname(changes.name, 'name');
    if (changes.up !== undefined) {
      if (typeof changes.up !== 'boolean')
        throw new NetlinkInvalidArgumentError('up', changes.up, 'true or false');
      spec.up = changes.up;
    }
    const ctx = { operation: changes.netns === undefined ? 'setLink' : 'moveLink', ifname: String(link) };
    const current = changes.netns === undefined ? undefined : await this.getLink(link);
    let index: number;
    const sel = selector(link, 'link');
    if ('name' in sel && changes.name === undefined && current === undefined) {
      // By name in the request itself (ifindex 0 + IFLA_IFNAME: rtnl_setlink looks the name up, and
      // do_setlink renames only when an ifindex is given), not a GETLINK first: one message instead of two
      // (a LinkReaper turn moved thousands of links into its group one GETLINK + SETLINK each).
      index = 0;
      spec.name = sel.name;
    } else {
      const idx = current?.index ?? this.#indexOf(link, ctx);
      index = typeof idx === 'number' ? idx : await idx;
    }
    const target = changes.netns === undefined ? undefined : resolveTarget(changes.netns, ctx.operation);
    if (target !== undefined) spec.netnsFd = target.fd.fd;
    try {
      await this.#request(RTM.SETLINK, setLinkPayload(index, spec), 0, ctx);
    } catch (err) {
      // The kernel moves first and applies the rest in the target (net/core/rtnetlink.c do_setlink): a
      // rename or MTU that fails there leaves the link moved under its old name. Move it back.
      if (target !== undefined && current !== undefined) await this.#moveBack(target, current.name);
      throw err;
    } finally {
      if (target !== undefined) closeNetnsFd(target.fd);
    }
  }

  async #moveBack(target: { fd: NetnsFd; handle: NetlinkHandle | undefined }, name: string): Promise<void> {
    let there: NetlinkHandle | undefined;
    try {
      there = target.handle ?? NetlinkHandle.open({ fd: target.fd.fd });
      if ((await there.findLink(name)) !== undefined) await there.setLink(name, { netns: this });
    } catch {
      // Best effort: the original error is what the caller needs to see.
    } finally {
      if (there !== undefined && there !== target.handle) there.close();
    }
  }

  /** Moves a link into `netns`, optionally renaming and configuring it in the same message. */
  moveLink(
    link: string | number,
    netns: NetnsRef | NetnsTarget,
    changes: Omit<LinkChanges, 'netns'> = {},
  ): Promise<void> {
    return this.setLink(link, { ...changes, netns });
  }

  /** `lo` up (a new namespace starts with it down). */
  setLoopbackUp(): Promise<void> {
    return this.setLink('lo', { up: true });
  }

  /**
   * Deletes a link (for a veth, both ends). Runs on a thread of its own, so the kernel's RCU wait does not stall
   * the event loop. ENODEV when missing, unless `missingOk`.
   *
   * `until` says when to resolve: `'answered'` (default) when the kernel answers the request, after its RCU
   * barrier and the device's last references (~16–20 ms); `'gone'` as soon as the link is unlisted (its
   * RTM_DELLINK multicast, ~1 ms): its names are free and no dump shows it, while the request still runs to its
   * end (and `close()` lets it finish). Once gone, a later error cannot mean the link is still there, so none is
   * reported; if the multicast cannot be watched (an overrun, the handle closing), the answer decides.
   */
  async deleteLink(
    link: string | number,
    options: { missingOk?: boolean | undefined; until?: 'answered' | 'gone' | undefined } = {},
  ): Promise<void> {
    const sel = selector(link, 'link');
    const until = options.until ?? 'answered';
    if (until !== 'answered' && until !== 'gone')
      throw new NetlinkInvalidArgumentError('until', options.until, "'answered' or 'gone'");
    const ctx = { operation: 'deleteLink', ifname: String(link) };
    // Subscribed before the request goes out, so its multicast cannot come first.
    const ac = until === 'gone' ? new AbortController() : undefined;
    const gone = ac && this.whenGone(link, { signal: ac.signal });
    const answered = this.#blocking(RTM.DELLINK, linkSelector(sel), ctx).catch((err: unknown) => {
      if (options.missingOk === true && err instanceof NetlinkKernelError && err.errno === 'ENODEV') return;
      throw err;
    });
    if (gone === undefined) return answered;
    try {
      return await goneOrAnswered(gone, answered, undefined);
    } finally {
      ac?.abort();
    }
  }

  /**
   * Resolves once the link (as it is now: a name is resolved to its ifindex) is deleted, on its RTM_DELLINK
   * multicast, whoever deletes it. Rejects with ENODEV when there is no such link now (after a short grace
   * for a delete sent right after this call, which may overtake the lookup), with the signal's
   * reason when aborted, with NETLINK_ERR_CLOSED when the handle closes, and with the socket's error when
   * events were lost (a receive overrun). Subscribed before it returns: a delete sent after the call is seen.
   *
   * `index`: the device's ifindex, when the caller knows it (say from OVS's `Interface.ifindex`). Then no
   * lookup is made (an RTM_GETLINK, which blocks the event loop while the rtnl lock is busy), so there is no
   * ENODEV either: a wait for a device that is not there ends only with the signal or `close()`. Meant for a
   * caller about to delete the device itself.
   */
  whenGone(
    link: string | number,
    options: { signal?: AbortSignal | undefined; index?: number | undefined } = {},
  ): Promise<void> {
    let wait: GoneWait;
    let sel: { index: number } | { name: string };
    try {
      sel = selector(link, 'link');
      const index = options.index;
      if (index !== undefined && !isIfindex(index))
        throw new NetlinkInvalidArgumentError('index', index, 'an ifindex: an integer in [1, 2147483647]');
      this.#ensureOpen('whenGone');
      wait = this.#gone.track(sel, options.signal);
      if (index !== undefined) {
        wait.indexIs(index);
        return wait.promise;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    this.getLink(link).then(
      (l) => wait.indexIs(l.index),
      (err: unknown) =>
        err instanceof NetlinkKernelError && err.errno === 'ENODEV' ? wait.notFound(err) : wait.fail(err),
    );
    return wait.promise;
  }

  /**
   * Deletes every link of a group in one RTM_DELLINK (one RCU wait for all of them; on a thread of its own).
   * Group 0 (every ordinary link) is refused.
   */
  async deleteLinkGroup(group: number): Promise<void> {
    validateU32(group, 'group', 1);
    await this.#blocking(RTM.DELLINK, deleteGroupPayload(group), {
      operation: 'deleteLinkGroup',
      detail: `group ${group}`,
    });
  }

  // ---- device features -----------------------------------------------------------------------------------

  /**
   * Switches TX checksum offload (`ethtool -K IF tx on|off`) with the SIOCETHTOOL ioctl ETHTOOL_STXCSUM on a
   * socket of the handle's namespace; returns the state read back. Synchronous: one ioctl.
   */
  setTxChecksum(ifname: string, on: boolean): boolean {
    validateIfname(ifname, 'ifname');
    if (typeof on !== 'boolean') throw new NetlinkInvalidArgumentError('on', on, 'true or false');
    this.#ensureOpen('setTxChecksum');
    try {
      return native().txChecksum(this.#inetSocket(), ifname, on);
    } catch (err) {
      throw toNetlinkError(err, this.#ctx({ operation: 'setTxChecksum', ifname }));
    }
  }

  /** setTxChecksum on a worker thread: the kernel takes the rtnl lock for every SIOCETHTOOL. */
  async #setTxChecksumOffThread(ifname: string, on: boolean, ctx: KernelErrorContext): Promise<void> {
    this.#ensureOpen(ctx.operation);
    const p = native().txChecksumAsync(this.#inetSocket(), ifname, on);
    this.#blockingInFlight.add(p);
    try {
      await p;
    } catch (err) {
      throw toNetlinkError(err, this.#ctx({ ...ctx, ifname }));
    } finally {
      this.#blockingInFlight.delete(p);
    }
  }

  /** Whether TX checksum offload is on (`ethtool -k IF` → tx-checksumming). */
  getTxChecksum(ifname: string): boolean {
    validateIfname(ifname, 'ifname');
    this.#ensureOpen('getTxChecksum');
    try {
      return native().txChecksum(this.#inetSocket(), ifname);
    } catch (err) {
      throw toNetlinkError(err, this.#ctx({ operation: 'getTxChecksum', ifname }));
    }
  }

  // ---- traffic control -----------------------------------------------------------------------------------

  /**
   * Shapes what a link transmits with a root token-bucket qdisc (`tc qdisc replace dev IF root tbf rate R
   * burst B limit L`), or with `null` removes the root qdisc (the device's default comes back; none is fine).
   * A qdisc belongs to the device in its namespace: moving the device to another namespace drops it.
   */
  async setTokenBucket(link: string | number, spec: TokenBucketSpec | null): Promise<void> {
    const ctx = { operation: 'setTokenBucket', ifname: String(link) };
    if (spec !== null) {
      if (typeof spec !== 'object')
        throw new NetlinkInvalidArgumentError(
          'spec',
          spec,
          'an object {rateBitsPerSecond, burstBytes} or null',
        );
      if (!Number.isSafeInteger(spec.rateBitsPerSecond) || spec.rateBitsPerSecond < 8)
        throw new NetlinkInvalidArgumentError('rateBitsPerSecond', spec.rateBitsPerSecond, 'an integer ≥ 8');
      validateU32(spec.burstBytes, 'burstBytes', 1);
      if (spec.queueBytes !== undefined) validateU32(spec.queueBytes, 'queueBytes', 1);
    }
    const index = await this.#indexOf(link, ctx);
    if (spec === null) {
      try {
        await this.#request(RTM_TC.DELQDISC, deleteRootQdiscPayload(index), 0, ctx);
      } catch (err) {
        // No root qdisc of ours (the default one cannot be deleted): nothing to remove.
        if (err instanceof NetlinkKernelError && (err.errno === 'ENOENT' || err.errno === 'EINVAL')) return;
        throw err;
      }
      return;
    }
    await this.#request(RTM_TC.NEWQDISC, tbfQdiscPayload(index, spec), NLM_F.CREATE | NLM_F.REPLACE, ctx);
  }

  /** The root qdisc's kind (`tbf`, `noqueue`, `htb`, …) of a link, or undefined. */
  async rootQdisc(link: string | number): Promise<string | undefined> {
    const ctx = { operation: 'rootQdisc', ifname: String(link) };
    const index = await this.#indexOf(link, ctx);
    const msgs = await this.#request(RTM_TC.GETQDISC, tcmsg(0, 0), NLM_F.DUMP, ctx);
    for (const m of msgs) {
      if (m.type !== RTM_TC.NEWQDISC || m.data.readInt32LE(4) !== index) continue;
      if (m.data.readUInt32LE(12) !== TC_H_ROOT) continue;
      return attrString(parseAttrs(m.data, 20).get(1));
    }
    return undefined;
  }

  // ---- addresses ---------------------------------------------------------------------------------------

  /** Adds `addr/len` to a link (IPv4 gets its broadcast address; `nodad` for IPv6). EEXIST if present. */
  async addAddress(link: string | number, cidr: string, options: AddressOptions = {}): Promise<void> {
    const c = parseCidr(cidr, 'address');
    const ctx = { operation: 'addAddress', ifname: String(link), detail: cidr };
    const idx = this.#indexOf(link, ctx);
    const index = typeof idx === 'number' ? idx : await idx;
    let flags = 0;
    if (options.nodad === true) flags |= IFA_F.NODAD;
    if (options.noPrefixRoute === true) flags |= IFA_F.NOPREFIXROUTE;
    const payload = addressPayload({
      family: afOf(c.family),
      prefixLen: c.prefixLen,
      index,
      local: c.bytes,
      flags,
      ...(c.family === 4 && c.prefixLen < 31 ? { broadcast: ipv4Broadcast(c) } : {}),
    });
    const f = options.replace === true ? NLM_F.CREATE | NLM_F.REPLACE : CREATE_EXCL;
    await this.#request(RTM.NEWADDR, payload, f, ctx);
  }

  /** Removes `addr/len` from a link; EADDRNOTAVAIL when it is not there. */
  async deleteAddress(link: string | number, cidr: string): Promise<void> {
    const c = parseCidr(cidr, 'address');
    const ctx = { operation: 'deleteAddress', ifname: String(link), detail: cidr };
    const idx = this.#indexOf(link, ctx);
    const index = typeof idx === 'number' ? idx : await idx;
    const payload = addressPayload({ family: afOf(c.family), prefixLen: c.prefixLen, index, local: c.bytes });
    await this.#request(RTM.DELADDR, payload, 0, ctx);
  }

  /** Addresses of the namespace, optionally of one link and/or one family. */
  async listAddresses(
    filter: { link?: string | number | undefined; family?: Family | undefined } = {},
  ): Promise<Address[]> {
    const ctx = { operation: 'listAddresses' };
    const index = filter.link === undefined ? undefined : await this.#resolveIndex(filter.link, ctx);
    const af = filter.family === undefined ? 0 : afOf(checkFamily(filter.family));
    const msgs = await this.#request(RTM.GETADDR, ifaddrmsg(af, 0, 0, 0, 0), NLM_F.DUMP, ctx);
    return msgs
      .filter((m) => m.type === RTM.NEWADDR)
      .map((m) => toAddress(m.data))
      .filter((a): a is Address => a !== undefined && (index === undefined || a.index === index));
  }

  // ---- routes ------------------------------------------------------------------------------------------

  /** Adds a route (default via a gateway, on-link, in a table…). EEXIST if an equal one exists. */
  async addRoute(spec: RouteSpec): Promise<void> {
    const ctx = { operation: 'addRoute', detail: describeRoute(spec) };
    const dev = spec?.dev === undefined ? undefined : this.#indexOf(spec.dev, ctx);
    const wire = routeWire(spec, typeof dev === 'object' ? await dev : dev, false);
    const f = spec.replace === true ? NLM_F.CREATE | NLM_F.REPLACE : CREATE_EXCL;
    await this.#request(RTM.NEWROUTE, routePayload(wire), f, ctx);
  }

  /** Deletes a route; unspecified fields match anything (like `ip route del`). ESRCH when none matches. */
  async deleteRoute(spec: RouteSpec): Promise<void> {
    const ctx = { operation: 'deleteRoute', detail: describeRoute(spec) };
    const dev = spec?.dev === undefined ? undefined : this.#indexOf(spec.dev, ctx);
    const wire = routeWire(spec, typeof dev === 'object' ? await dev : dev, true);
    await this.#request(RTM.DELROUTE, routePayload(wire), 0, ctx);
  }

  /** Routes of one table (default `main`, 254; `'all'` for every table). */
  async listRoutes(
    filter: { family?: Family | undefined; table?: number | 'all' | undefined } = {},
  ): Promise<Route[]> {
    const af = filter.family === undefined ? 0 : afOf(checkFamily(filter.family));
    const table = filter.table ?? RT_TABLE.MAIN;
    if (table !== 'all') validateU32(table, 'table');
    const msgs = await this.#request(RTM.GETROUTE, rtmsg({ family: af }), NLM_F.DUMP, {
      operation: 'listRoutes',
    });
    const RTM_F_CLONED = 0x200;
    return msgs
      .filter((m) => m.type === RTM.NEWROUTE)
      .map((m) => decodeRouteMessage(m.data))
      .filter((r) => (r.flags & RTM_F_CLONED) === 0 && (table === 'all' || r.table === table))
      .map(toRoute)
      .filter((r): r is Route => r !== undefined);
  }

  // ---- policy routing rules ----------------------------------------------------------------------------

  /** Adds a policy-routing rule (`ip rule add`). EEXIST if an identical rule exists. */
  async addRule(spec: RuleSpec): Promise<void> {
    const ctx = { operation: 'addRule', detail: describeRule(spec) };
    await this.#request(RTM.NEWRULE, rulePayload(ruleWire(spec, false)), CREATE_EXCL, ctx);
  }

  /** Deletes the first rule matching every given field (`ip rule del`). ENOENT when none matches. */
  async deleteRule(spec: RuleSpec): Promise<void> {
    const ctx = { operation: 'deleteRule', detail: describeRule(spec) };
    await this.#request(RTM.DELRULE, rulePayload(ruleWire(spec, true)), 0, ctx);
  }

  /** Rules of one family (default 4). */
  async listRules(filter: { family?: Family | undefined } = {}): Promise<Rule[]> {
    const af = afOf(filter.family === undefined ? 4 : checkFamily(filter.family));
    const msgs = await this.#request(RTM.GETRULE, rtmsg({ family: af }), NLM_F.DUMP, {
      operation: 'listRules',
    });
    return msgs.filter((m) => m.type === RTM.NEWRULE).map((m) => toRule(m.data));
  }

  // ---- events ------------------------------------------------------------------------------------------

  /**
   * Link events of the namespace (RTNLGRP_LINK) as an async iterable; the subscription starts now, so
   * nothing between this call and the first `next()` is missed. Stop with `break`, `close()` or `signal`.
   */
  watchLinks(options: { signal?: AbortSignal | undefined } = {}): LinkWatcher {
    this.#ensureOpen('watchLinks');
    const sock = this.#eventSocket('watchLinks', 1 << 20);
    return new LinkWatcher(sock, (data) => toLink(data), this.netns, options.signal);
  }

  /** An unsubscribed NETLINK_ROUTE socket in the handle's namespace, for multicast events. */
  #eventSocket(operation: string, recvBufferSize: number): NetlinkSocket {
    let sock: NetlinkSocket | undefined;
    try {
      this.#inNetns(() => {
        sock = createNetlink(0, { recvBufferSize, sendBufferSize: 1 << 12 });
      });
    } catch (err) {
      throw toNetlinkError(err, this.#ctx({ operation }));
    }
    if (sock === undefined)
      throw new NetlinkError('NETLINK_ERR_NATIVE', `${operation}: no socket was created`);
    return sock;
  }

  // ---- plumbing ----------------------------------------------------------------------------------------

  /** Runs `fn` with the calling thread inside the handle's namespace (sockets made there stay there). */
  #inNetns<T>(fn: () => T): T {
    return this.#isHost ? fn() : native().callInNetns(this.#ns.fd, fn);
  }

  #inetSocket(): number {
    if (this.#inetFd < 0) this.#inetFd = this.#inNetns(() => native().inetSocket());
    return this.#inetFd;
  }

  /** An idle blocking socket, a new one while fewer than `blockingRequests` exist, else the next one released. */
  #takeRouteSocket(): number | Promise<number> {
    const idle = this.#idleRouteFds.pop();
    if (idle !== undefined) return idle;
    if (this.#routeFds.length < this.#maxBlocking) {
      const fd = this.#inNetns(() => native().routeSocket());
      this.#routeFds.push(fd);
      return fd;
    }
    return new Promise<number>((resolve) => this.#blockingWaiters.push(resolve));
  }

  #releaseRouteSocket(fd: number): void {
    const next = this.#blockingWaiters.shift();
    if (next) next(fd);
    else this.#idleRouteFds.push(fd);
  }

  #ctx(ctx: KernelErrorContext): KernelErrorContext {
    return { ...ctx, netns: this.netns };
  }

  #ensureOpen(operation: string): void {
    if (this.#closed) {
      throw new NetlinkError(
        'NETLINK_ERR_CLOSED',
        `${operation}: the handle for netns ${this.netns} is closed`,
      );
    }
  }

  /** An ifindex at once for numbers (so the caller's request leaves synchronously), a lookup for names. */
  #indexOf(link: string | number, ctx: KernelErrorContext): number | Promise<number> {
    const sel = selector(link, 'link');
    return 'index' in sel ? sel.index : this.#resolveIndex(sel.name, ctx);
  }

  async #resolveIndex(link: string | number, ctx: KernelErrorContext): Promise<number> {
    const sel = selector(link, 'link');
    if ('index' in sel) return sel.index;
    const msgs = await this.#request(RTM.GETLINK, linkSelector(sel), 0, { ...ctx, ifname: sel.name });
    const m = msgs.find((x) => x.type === RTM.NEWLINK);
    if (m === undefined)
      throw new NetlinkKernelError(19 /* ENODEV */, this.#ctx({ ...ctx, ifname: sel.name }));
    return m.data.readInt32LE(4);
  }

  /** One request on the lane (see {@link RequestLane.request}), refused once the handle is closed. */
  #request(
    type: number,
    payload: Buffer,
    flags: number,
    ctx: KernelErrorContext,
    hold = false,
  ): Promise<NetlinkMessage[]> {
    try {
      this.#ensureOpen(ctx.operation);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#lane.request(type, payload, flags, ctx, hold);
  }

  /**
   * A request on a blocking socket, sent and answered on one of the addon's worker threads (`nlTransact`). Up
   * to `blockingRequests` run at once, each on its own socket: the kernel's RCU wait after a link delete
   * (netdev_run_todo → rcu_barrier) comes after the rtnl lock is dropped, so concurrent deletes on several
   * threads wait out one grace period together.
   * Beyond that, requests wait for a socket in FIFO order.
   */
  #blocking(type: number, payload: Buffer, ctx: KernelErrorContext): Promise<void> {
    this.#ensureOpen(ctx.operation);
    const run = async (): Promise<void> => {
      let fd: number;
      try {
        fd = await this.#takeRouteSocket();
      } catch (err) {
        throw toNetlinkError(err, this.#ctx(ctx));
      }
      let errno: number;
      try {
        errno = await native().nlTransact(
          fd,
          nlmsg(type, NLM_F.REQUEST | NLM_F.ACK, this.#blockingSeq++, payload),
        );
      } catch (err) {
        throw toNetlinkError(err, this.#ctx(ctx));
      } finally {
        this.#releaseRouteSocket(fd);
      }
      if (errno !== 0) throw new NetlinkKernelError(errno, this.#ctx(ctx));
    };
    const p = run();
    this.#blockingInFlight.add(p);
    void p.then(
      () => this.#blockingInFlight.delete(p),
      () => this.#blockingInFlight.delete(p),
    );
    return p;
  }
}

/** Opens a handle in a namespace (default: the host's). Same as `NetlinkHandle.open`. */
export function openHandle(ns: NetnsRef = 'host', options: HandleOptions = {}): NetlinkHandle {
  return NetlinkHandle.open(ns, options);
}

// ---- helpers ---------------------------------------------------------------------------------------------

function isTarget(x: unknown): x is NetnsTarget {
  return typeof x === 'object' && x !== null && 'netnsFd' in x;
}

/** A move/creation target: a handle (its fd, borrowed) or a NetnsRef (opened now, closed by the caller). */
function resolveTarget(
  t: NetnsRef | NetnsTarget,
  operation: string,
): { fd: NetnsFd; handle: NetlinkHandle | undefined } {
  if (isTarget(t)) {
    return {
      fd: { fd: t.netnsFd, owned: false, description: t.netns },
      handle: t instanceof NetlinkHandle ? t : undefined,
    };
  }
  return { fd: openNetnsFd(t, operation), handle: undefined };
}
