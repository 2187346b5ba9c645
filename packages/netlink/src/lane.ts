// The ordered request lane of a NetlinkHandle: requests leave in the order they were made, several in one
// sendmsg, each send and its answers on one of the addon's worker threads (never on the main thread: the
// kernel handles an rtnetlink request inside sendmsg, under the rtnl lock, for as long as another process
// holds that lock). Pure logic over a LaneIo, so it is tested without a kernel.
import { type NetlinkMessage, parseMessages } from 'netlink';
import { type KernelErrorContext, NetlinkError, NetlinkKernelError, toNetlinkError } from './errors.js';
import { errorOf, NLM_F, NLMSG_DONE, NLMSG_ERROR, nlmsg } from './wire.js';

/**
 * Requests sent together in one sendmsg; more wait for the next. Their answers wait in the socket's receive
 * buffer until the worker reads them, and the kernel drops what does not fit (ENOBUFS), so keep it small.
 */
export const MAX_BATCH = 16;

/** What the lane needs from the system (the addon, in the handle). */
export interface LaneIo {
  /** A new blocking NETLINK_ROUTE socket in the handle's namespace. */
  open(): number;
  /** Sends `msgs` in one sendmsg on a worker thread; every answer whose seq is one of theirs, raw. */
  send(fd: number, msgs: Buffer): Promise<Buffer>;
  close(fd: number): void;
}

interface Queued {
  readonly type: number;
  readonly payload: Buffer;
  readonly flags: number;
  readonly ctx: KernelErrorContext;
  readonly resolve: (msgs: NetlinkMessage[]) => void;
  readonly reject: (err: unknown) => void;
  seq: number;
}

const isDump = (r: Queued): boolean => (r.flags & NLM_F.DUMP) === NLM_F.DUMP;

export class RequestLane {
  readonly #io: LaneIo;
  readonly #timeoutMs: number;
  /** Adds the handle's namespace to an error context. */
  readonly #ctx: (ctx: KernelErrorContext) => KernelErrorContext;
  /** The lane's socket, or -1 after a timeout gave it up (the next batch opens a new one). */
  #fd: number;
  readonly #queue: Queued[] = [];
  /** The batch on its worker thread; answered, or failed by close() or its timeout. */
  #batch: Queued[] | undefined;
  #seq = 1;
  /** The error close() was given; later requests fail with it. */
  #closed: { err: unknown } | undefined;
  /** Sends still on their worker threads (a socket may go only after its send returns). */
  readonly #inFlight = new Set<Promise<void>>();
  /** Sockets given up after a timeout, closed once their worker returns. */
  readonly #abandoned = new Set<number>();

  constructor(
    io: LaneIo,
    fd: number,
    timeoutMs: number,
    ctx: (ctx: KernelErrorContext) => KernelErrorContext,
  ) {
    this.#io = io;
    this.#fd = fd;
    this.#timeoutMs = timeoutMs;
    this.#ctx = ctx;
  }

  /**
   * One request (NLM_F_REQUEST | NLM_F_ACK added) and its answers, without the ACK; the kernel's error as a
   * {@link NetlinkKernelError}. Sent at once when the lane is idle (so the caller's buffers and fds are read
   * before this returns), else with the next batch. `hold` queues it without sending, to leave with the next
   * request in the same sendmsg.
   */
  request(
    type: number,
    payload: Buffer,
    flags: number,
    ctx: KernelErrorContext,
    hold = false,
  ): Promise<NetlinkMessage[]> {
    return new Promise<NetlinkMessage[]>((resolve, reject) => {
      if (this.#closed !== undefined) {
        reject(this.#closed.err);
        return;
      }
      this.#queue.push({ type, payload, flags, ctx, resolve, reject, seq: 0 });
      if (!hold) this.#next();
    });
  }

  /**
   * Fails every request not yet answered, and every later one, with `err`; resolves once no send is left on a
   * worker thread.
   */
  close(err: unknown): Promise<void> {
    if (this.#closed === undefined) {
      this.#closed = { err };
      for (const r of this.#batch?.splice(0) ?? []) r.reject(err);
      this.#batch = undefined;
      for (const r of this.#queue.splice(0)) r.reject(err);
    }
    const fd = this.#fd;
    this.#fd = -1;
    return Promise.allSettled([...this.#inFlight]).then(() => {
      if (fd >= 0) this.#io.close(fd);
    });
  }

  /** Sends the next batch: queued requests up to {@link MAX_BATCH}, a dump alone (one per socket at a time). */
  #next(): void {
    if (this.#closed !== undefined || this.#batch !== undefined || this.#queue.length === 0) return;
    let n = 1;
    if (!isDump(this.#queue[0] as Queued))
      while (n < MAX_BATCH && n < this.#queue.length && !isDump(this.#queue[n] as Queued)) n++;
    const batch = this.#queue.splice(0, n);
    if (this.#seq > 0x7fff_0000) this.#seq = 1; // the seqs of one batch never wrap
    const msgs = batch.map((r) => {
      r.seq = this.#seq++;
      return nlmsg(r.type, NLM_F.REQUEST | NLM_F.ACK | r.flags, r.seq, r.payload);
    });
    let fd = this.#fd;
    let answer: Promise<Buffer>;
    try {
      if (fd < 0) {
        fd = this.#io.open();
        this.#fd = fd;
      }
      answer = this.#io.send(fd, msgs.length === 1 ? (msgs[0] as Buffer) : Buffer.concat(msgs));
    } catch (err) {
      for (const r of batch) r.reject(toNetlinkError(err, this.#ctx(r.ctx)));
      queueMicrotask(() => this.#next());
      return;
    }
    this.#batch = batch;
    const timer = setTimeout(() => {
      if (this.#batch !== batch) return;
      this.#batch = undefined;
      // The worker may stay in the kernel: its socket goes once it returns; the lane goes on with a new one.
      if (this.#fd === fd) {
        this.#fd = -1;
        this.#abandoned.add(fd);
      }
      for (const r of batch) {
        r.reject(
          new NetlinkError('NETLINK_ERR_TIMEOUT', `${r.ctx.operation}: the kernel did not answer in time`),
        );
      }
      this.#next();
    }, this.#timeoutMs);
    const settle = (deliver: () => void): void => {
      clearTimeout(timer);
      if (this.#batch !== batch) return; // timed out or closed: already failed
      this.#batch = undefined;
      deliver();
      this.#next();
    };
    const done = answer.then(
      (raw) => settle(() => this.#answer(batch, raw)),
      (err: unknown) =>
        settle(() => {
          for (const r of batch) r.reject(toNetlinkError(err, this.#ctx(r.ctx)));
        }),
    );
    this.#inFlight.add(done);
    void done.then(() => {
      this.#inFlight.delete(done);
      if (this.#abandoned.delete(fd)) this.#io.close(fd);
    });
  }

  /** Hands each request of a batch its answers, or the kernel's error. */
  #answer(batch: Queued[], raw: Buffer): void {
    let msgs: NetlinkMessage[];
    try {
      msgs = parseMessages(raw);
    } catch (err) {
      for (const r of batch) {
        r.reject(
          new NetlinkError(
            'NETLINK_ERR_PROTOCOL',
            `${r.ctx.operation}: the kernel's answer could not be parsed`,
            {
              cause: err,
            },
          ),
        );
      }
      return;
    }
    const first = (batch[0] as Queued).seq;
    const replies = batch.map((): NetlinkMessage[] => []);
    const errnos = batch.map(() => 0);
    const ended = batch.map(() => false);
    for (const m of msgs) {
      const i = m.seq - first;
      const out = replies[i];
      if (out === undefined) continue; // not one of this batch's seqs (the worker filters these already)
      if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
        ended[i] = true;
        const errno = errorOf(m.data);
        if (errno !== 0) errnos[i] = errno;
      } else out.push(m);
    }
    batch.forEach((r, i) => {
      const errno = errnos[i] ?? 0;
      if (errno !== 0) r.reject(new NetlinkKernelError(errno, this.#ctx(r.ctx)));
      else if (!ended[i])
        r.reject(
          new NetlinkError('NETLINK_ERR_PROTOCOL', `${r.ctx.operation}: the kernel's answer has no end`),
        );
      else r.resolve(replies[i] ?? []);
    });
  }
}
