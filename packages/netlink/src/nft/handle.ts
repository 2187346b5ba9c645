// nf_tables over a NETLINK_NETFILTER socket in one network namespace: commit batches, read the
// generation, dump tables/chains/rules/sets/elements. The codec is in wire.ts/expr.ts; this file only does
// I/O and maps the kernel's answers to typed values and errors.
import { RawNetlinkSocket } from 'netlink';
import {
  errnoName,
  NetlinkError,
  NetlinkInvalidArgumentError,
  NetlinkKernelError,
  toNetlinkError,
} from '../errors.js';
import { closeNetnsFd, type NetnsFd, type NetnsRef, socketInNetns } from '../netns.js';
import { validateTimeoutMs } from '../validate.js';
import { NLM_F } from '../wire.js';
import { attrMap, attrStr, optBe64 } from './attr.js';
import { NftBatch, validateFamily, validateNftName } from './batch.js';
import {
  decodeChain,
  decodeElements,
  decodeError,
  decodeGeneration,
  decodeRule,
  decodeSet,
  decodeTable,
  encodeBatch,
  encodeRequest,
  NETLINK_NETFILTER,
  NFPROTO,
  NFT_MSG,
  NFTA_RULE,
  NFTA_SET_ELEM_LIST,
  type NftChain,
  type NftFamily,
  type NftRequest,
  type NftRule,
  type NftSet,
  type NftSetElement,
  type NftTable,
  NLM_F_ECHO,
  NLMSG_DONE,
  NLMSG_ERROR,
  type NlMessage,
  nftType,
  parseMessages,
  splitNft,
} from './wire.js';

/** One failed message of a batch: its index in the batch, what it was, the errno. */
export interface NftFailure {
  index: number;
  describe: string;
  errno: string;
  errnoValue: number;
}

/**
 * The kernel refused a batch, so nothing of it was applied (nfnetlink_rcv_batch aborts the whole
 * transaction). `index` is the first failing message (0-based, as in `batch.ops`), or -1 when the batch as
 * a whole was refused: `ERESTART` when the ruleset generation was not the expected one, or an error of the
 * commit itself. `failures` lists every failing message (the kernel goes on after an error and reports all).
 */
export class NftBatchError extends NetlinkKernelError {
  override name = 'NftBatchError';
  readonly index: number;
  readonly failures: NftFailure[];
  constructor(failures: NftFailure[], total: number, netns: string) {
    const first = failures[0] as NftFailure;
    const where = first.index < 0 ? 'the batch' : `message ${first.index + 1} of ${total}`;
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    super(first.errnoValue, { operation: 'nftCommit', detail: `${where} (${first.describe})${more}`, netns });
    this.index = first.index;
    this.failures = failures;
  }
}

export interface NftHandleOptions {
  /** How long to wait for the kernel's answer (default 15000 ms). */
  timeoutMs?: number | undefined;
}

export interface CommitOptions {
  /**
   * Apply only if the ruleset is still at this generation (NFNL_BATCH_GENID; from getGeneration()), else
   * the kernel refuses with ERESTART and nothing changes: optimistic concurrency against other writers.
   */
  generation?: number | undefined;
  /**
   * Ask for the handles of what is created (NLM_F_ECHO; default true). The echoes are as large as the
   * requests and must fit the socket's receive buffer with the rest of the answers; without them a batch
   * of any size is answered in a few bytes.
   */
  echo?: boolean | undefined;
}

export interface CommitResult {
  /** Per message of the batch: the handle the kernel gave the new table/chain/rule/set (NLM_F_ECHO). */
  handles: (number | undefined)[];
  /** The ruleset generation right after the commit. */
  generation?: number | undefined;
}

export interface Ruleset {
  tables: NftTable[];
  chains: NftChain[];
  rules: NftRule[];
  sets: NftSet[];
}

interface Waiter {
  first: number;
  last: number;
  onMessage(m: NlMessage): void;
  fail(err: unknown): void;
}

/**
 * A NETLINK_NETFILTER socket opened inside a network namespace (setns in, socket, setns back, like
 * NetlinkHandle), so every change and dump acts on that namespace's ruleset. Requests run one at a time:
 * a batch's answers and a dump's parts never interleave.
 */
export class NftHandle {
  readonly netns: string;
  readonly #ns: NetnsFd;
  readonly #sock: RawNetlinkSocket;
  readonly #timeoutMs: number;
  #seq: number;
  #chain: Promise<unknown> = Promise.resolve();
  #waiter: Waiter | undefined;
  #closed = false;

  private constructor(ns: NetnsFd, sock: RawNetlinkSocket, timeoutMs: number) {
    this.netns = ns.description;
    this.#ns = ns;
    this.#sock = sock;
    this.#timeoutMs = timeoutMs;
    this.#seq = (Date.now() & 0x3fffffff) + 1;
    sock.on('message', (buf) => this.#onDatagram(buf));
    sock.on('error', (err) => {
      // ENOBUFS: answers were dropped because the receive buffer was full. The kernel may have committed.
      const detail =
        err.code === 'ENOBUFS'
          ? 'answers overflowed the receive buffer (net.core.rmem_max); the batch may have been applied: compare getGeneration(), or commit with echo: false'
          : undefined;
      this.#waiter?.fail(toNetlinkError(err, { operation: 'nftReceive', netns: this.netns, detail }));
    });
    sock.unref();
  }

  static open(ns: NetnsRef = 'host', options: NftHandleOptions = {}): NftHandle {
    const timeoutMs = validateTimeoutMs(options.timeoutMs, 15_000);
    // A batch must fit one sendmsg (netlink_sendmsg: EMSGSIZE beyond sk_sndbuf); the answers to it (echoed
    // objects) must fit the receive buffer (else ENOBUFS). The kernel caps both at net.core.{w,r}mem_max
    // and doubles the value asked for.
    const { sock, nsFd } = socketInNetns(
      ns,
      'openNftHandle',
      () => new RawNetlinkSocket(NETLINK_NETFILTER, { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 }),
    );
    return new NftHandle(nsFd, sock, timeoutMs);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiter?.fail(
      new NetlinkError('NETLINK_ERR_CLOSED', `the nftables handle for netns ${this.netns} was closed`),
    );
    this.#sock.close();
    closeNetnsFd(this.#ns);
  }

  /**
   * Applies a batch as one transaction. Resolves with the handles of what was created; rejects with an
   * {@link NftBatchError} naming the failing message(s), in which case nothing of the batch was applied.
   */
  commit(batch: NftBatch, options: CommitOptions = {}): Promise<CommitResult> {
    if (!(batch instanceof NftBatch)) throw new NetlinkInvalidArgumentError('batch', batch, 'an NftBatch');
    if (
      options.generation !== undefined &&
      (!Number.isInteger(options.generation) || options.generation < 0 || options.generation > 0xffffffff)
    ) {
      throw new NetlinkInvalidArgumentError(
        'generation',
        options.generation,
        'a generation id from getGeneration() (u32)',
      );
    }
    const ops = batch.ops.slice();
    if (ops.length === 0) return Promise.resolve({ handles: [] });
    return this.#serial(() =>
      this.#commit(
        ops.map((o) => o.request),
        ops.map((o) => o.describe),
        options.generation,
        options.echo !== false,
      ),
    );
  }

  async #commit(
    requests: NftRequest[],
    describe: string[],
    genId: number | undefined,
    echo: boolean,
  ): Promise<CommitResult> {
    const n = requests.length;
    const begin = this.#nextSeq(n + 3);
    const end = begin + n + 1;
    const sentinel = end + 1;
    // NLM_F_ECHO on creations: the kernel sends each new object back with its handle (nf_tables_*_notify).
    const sent = echo
      ? requests.map((r) => (isCreate(r.msg) ? { ...r, flags: r.flags | NLM_F_ECHO } : r))
      : requests;
    // The kernel handles a batch inside the sendmsg that carries it and queues every answer (errors, echoes,
    // the BATCH_END ack) to our socket before sendmsg returns; a GETGEN sent right after is answered behind
    // all of them. Its answer therefore says "everything about the batch is in", failed or not, and brings
    // the generation the batch produced.
    const getgen = encodeRequest(
      { msg: NFT_MSG.GETGEN, flags: NLM_F.ACK, family: NFPROTO.unspec, attrs: Buffer.alloc(0) },
      sentinel,
    );
    const handles: (number | undefined)[] = new Array(n).fill(undefined);
    const failures: NftFailure[] = [];
    let committed = false;
    let generation: number | undefined;
    const fail = (index: number, errno: number): void => {
      failures.push({
        index,
        describe: index < 0 ? 'batch' : (describe[index] ?? '?'),
        errno: errnoName(errno),
        errnoValue: errno,
      });
    };
    await this.#exchange(
      [encodeBatch(sent, begin, { genId }), getgen],
      begin,
      sentinel,
      `nftCommit (${n} messages)`,
      (m, done) => {
        if (m.type === NLMSG_ERROR) {
          const e = decodeError(m);
          if (e.seq === sentinel) return done();
          // BEGIN: refused as a whole (ERESTART for a stale generation, a commit error, ENOMEM for errors).
          if (e.seq === begin) fail(-1, e.errno);
          else if (e.seq === end) committed = e.errno === 0;
          else if (e.errno !== 0) fail(e.seq - begin - 1, e.errno);
          return undefined;
        }
        if (m.seq === sentinel) {
          if (m.type === nftType(NFT_MSG.NEWGEN)) generation = decodeGeneration(m);
          return undefined;
        }
        const i = m.seq - begin - 1;
        if (i >= 0 && i < n && handles[i] === undefined) handles[i] = echoHandle(m);
        return undefined;
      },
    );
    if (failures.length > 0) {
      failures.sort((a, b) => a.index - b.index);
      throw new NftBatchError(failures, n, this.netns);
    }
    if (!committed) {
      throw new NetlinkError(
        'NETLINK_ERR_PROTOCOL',
        `nftCommit: neither an error nor the BATCH_END acknowledgement came back (netns ${this.netns})`,
      );
    }
    return { handles, generation };
  }

  /** The ruleset's generation id (NFT_MSG_GETGEN → NEWGEN, NFTA_GEN_ID); it grows with every commit. */
  getGeneration(): Promise<number> {
    return this.#serial(async () => {
      const msgs = await this.#request(
        { msg: NFT_MSG.GETGEN, flags: 0, family: NFPROTO.unspec, attrs: Buffer.alloc(0) },
        'getGeneration',
      );
      const gen = msgs.find((m) => m.type === nftType(NFT_MSG.NEWGEN));
      if (gen === undefined)
        throw new NetlinkError('NETLINK_ERR_PROTOCOL', 'getGeneration: no NEWGEN in the answer');
      return decodeGeneration(gen);
    });
  }

  /** Every table (of one family, or all). */
  listTables(family?: NftFamily): Promise<NftTable[]> {
    return this.#dump(NFT_MSG.GETTABLE, NFT_MSG.NEWTABLE, family, Buffer.alloc(0), 'listTables', decodeTable);
  }

  /** Every chain (of one family, or all; of one table when given). */
  async listChains(family?: NftFamily, table?: string): Promise<NftChain[]> {
    const all = await this.#dump(
      NFT_MSG.GETCHAIN,
      NFT_MSG.NEWCHAIN,
      family,
      Buffer.alloc(0),
      'listChains',
      decodeChain,
    );
    return table === undefined ? all : all.filter((c) => c.table === table);
  }

  /**
   * Rules in chain order (of one family or all; the kernel filters by table and chain: NFTA_RULE_TABLE /
   * NFTA_RULE_CHAIN in the dump request, nf_tables_dump_rules_start).
   */
  listRules(family?: NftFamily, filter: { table?: string; chain?: string } = {}): Promise<NftRule[]> {
    const parts: Buffer[] = [];
    if (filter.table !== undefined)
      parts.push(attrStr(NFTA_RULE.TABLE, validateNftName(filter.table, 'table')));
    if (filter.chain !== undefined) {
      if (filter.table === undefined)
        throw new NetlinkInvalidArgumentError(
          'chain',
          filter.chain,
          'a chain filter together with its table',
        );
      parts.push(attrStr(NFTA_RULE.CHAIN, validateNftName(filter.chain, 'chain')));
    }
    return this.#dump(
      NFT_MSG.GETRULE,
      NFT_MSG.NEWRULE,
      family,
      Buffer.concat(parts),
      'listRules',
      decodeRule,
    );
  }

  async listSets(family?: NftFamily, table?: string): Promise<NftSet[]> {
    const all = await this.#dump(
      NFT_MSG.GETSET,
      NFT_MSG.NEWSET,
      family,
      Buffer.alloc(0),
      'listSets',
      decodeSet,
    );
    return table === undefined ? all : all.filter((s) => s.table === table);
  }

  /** The elements of one set (the kernel needs family, table and set for this dump). */
  async listElements(family: NftFamily, table: string, set: string): Promise<NftSetElement[]> {
    validateFamily(family);
    const attrs = Buffer.concat([
      attrStr(NFTA_SET_ELEM_LIST.TABLE, validateNftName(table, 'table')),
      attrStr(NFTA_SET_ELEM_LIST.SET, validateNftName(set, 'set')),
    ]);
    const parts = await this.#dump(
      NFT_MSG.GETSETELEM,
      NFT_MSG.NEWSETELEM,
      family,
      attrs,
      'listElements',
      decodeElements,
    );
    return parts.flatMap((p) => p.elements);
  }

  /** Tables, chains, rules and sets, like `nft list ruleset` (of one family, or all). */
  async listRuleset(family?: NftFamily): Promise<Ruleset> {
    const tables = await this.listTables(family);
    const chains = await this.listChains(family);
    const rules = await this.listRules(family);
    const sets = await this.listSets(family);
    return { tables, chains, rules, sets };
  }

  // ---- plumbing ----------------------------------------------------------------------------------------

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new NetlinkError('NETLINK_ERR_CLOSED', `the nftables handle for netns ${this.netns} is closed`),
      );
    }
    const p = this.#chain.then(fn, fn);
    this.#chain = p.catch(() => undefined);
    return p;
  }

  #nextSeq(count: number): number {
    const s = this.#seq;
    this.#seq += count;
    if (this.#seq > 0x7fffffff) this.#seq = 1;
    return s;
  }

  #dump<T>(
    get: number,
    expect: number,
    family: NftFamily | undefined,
    attrs: Buffer,
    operation: string,
    decode: (m: NlMessage) => T,
  ): Promise<T[]> {
    const fam = family === undefined ? NFPROTO.unspec : NFPROTO[validateFamily(family)];
    return this.#serial(async () => {
      const msgs = await this.#request({ msg: get, flags: NLM_F.DUMP, family: fam, attrs }, operation);
      return msgs.filter((m) => m.type === nftType(expect)).map(decode);
    });
  }

  /** One request outside a batch (GET*): collects the answer until NLMSG_DONE, an error or the ACK. */
  async #request(r: NftRequest, operation: string): Promise<NlMessage[]> {
    const seq = this.#nextSeq(1);
    const out: NlMessage[] = [];
    let errno = 0;
    await this.#exchange(
      encodeRequest({ ...r, flags: r.flags | NLM_F.ACK }, seq),
      seq,
      seq,
      operation,
      (m, done) => {
        if (m.type === NLMSG_DONE) return done();
        if (m.type === NLMSG_ERROR) {
          errno = decodeError(m).errno;
          return done();
        }
        // A dump ends with NLMSG_DONE; any other request with its ACK (NLM_F_ACK), after the answer.
        out.push(m);
        return undefined;
      },
    );
    if (errno !== 0) throw new NetlinkKernelError(errno, { operation, netns: this.netns });
    return out;
  }

  /** Sends the buffers and feeds every answer with a seq in [first, last] to `onMessage` until it calls done(). */
  #exchange(
    bufs: Buffer | Buffer[],
    first: number,
    last: number,
    operation: string,
    onMessage: (m: NlMessage, done: () => void) => void,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#waiter = undefined;
        this.#sock.unref();
        if (err === undefined) resolve();
        else reject(err);
      };
      const timer = setTimeout(
        () =>
          finish(
            new NetlinkError(
              'NETLINK_ERR_TIMEOUT',
              `${operation}: the kernel did not answer within ${this.#timeoutMs} ms (netns ${this.netns})`,
            ),
          ),
        this.#timeoutMs,
      );
      this.#waiter = {
        first,
        last,
        onMessage: (m) => onMessage(m, () => finish()),
        fail: (err) => finish(err),
      };
      this.#sock.ref();
      // One sendmsg per buffer, in order (a batch must be one sendmsg: nfnetlink_rcv sees one skb).
      for (const buf of Array.isArray(bufs) ? bufs : [bufs]) {
        this.#sock.send(buf, {}, (err) => {
          if (err !== undefined && err !== null) {
            finish(
              toNetlinkError(err, {
                operation,
                netns: this.netns,
                detail: `a message of ${buf.length} bytes`,
              }),
            );
          }
        });
      }
    });
  }

  #onDatagram(buf: Buffer): void {
    const w = this.#waiter;
    if (w === undefined) return; // A late answer to a timed-out request, or a notification: ignored.
    let msgs: NlMessage[];
    try {
      msgs = parseMessages(buf);
    } catch (err) {
      w.fail(err);
      return;
    }
    for (const m of msgs) {
      if (this.#waiter !== w) return;
      // The seq of an error is the one of the request it answers (inside struct nlmsgerr).
      const seq = m.type === NLMSG_ERROR ? decodeError(m).seq : m.seq;
      if (seq < w.first || seq > w.last) continue;
      try {
        w.onMessage(m);
      } catch (err) {
        w.fail(err);
      }
    }
  }
}

/** Opens an nf_tables handle in a namespace (default: the host's). Same as `NftHandle.open`. */
export function openNftHandle(ns: NetnsRef = 'host', options: NftHandleOptions = {}): NftHandle {
  return NftHandle.open(ns, options);
}

function isCreate(msg: number): boolean {
  return (
    msg === NFT_MSG.NEWTABLE || msg === NFT_MSG.NEWCHAIN || msg === NFT_MSG.NEWRULE || msg === NFT_MSG.NEWSET
  );
}

/** The handle attribute of each echoed NEW* message (nf_tables.h: table 4, chain 2, rule 3, set 16). */
const HANDLE_ATTR = new Map([
  [nftType(NFT_MSG.NEWTABLE), 4],
  [nftType(NFT_MSG.NEWCHAIN), 2],
  [nftType(NFT_MSG.NEWRULE), 3],
  [nftType(NFT_MSG.NEWSET), 16],
]);

/** The handle in an echoed NEW* message, read without decoding the rest (a rule's expressions). */
function echoHandle(m: NlMessage): number | undefined {
  const type = HANDLE_ATTR.get(m.type);
  if (type === undefined) return undefined;
  return optBe64(attrMap(splitNft(m).attrs, 'echo').get(type), 'echoed handle');
}
