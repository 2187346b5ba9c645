// One JSON-RPC 1.0 session with an ovsdb-server over one socket: framing, request/response correlation,
// notifications as typed events, the server's echo, the inactivity probe, timeouts and cancellation.
// No reconnect here: the session layer above opens a new Connection. Nothing is ever replayed.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { JSONRPCServer } from 'json-rpc-2.0';
import {
  AbortError,
  ConnectionClosedError,
  InvalidArgumentError,
  MaybeCommittedError,
  ProtocolError,
  RpcError,
  TimeoutError,
} from './errors.js';
import { DEFAULT_SLICE_BYTES, JsonFramer, SlicedMessage, type SliceSink } from './framer.js';
import {
  encodeWireMessage,
  isWireReply,
  libraryToWire,
  OVSDB_ERROR_CODE,
  parseWireMessage,
  toWireError,
  type WireMessage,
  wireToLibraryRequest,
} from './jsonrpc.js';
import { SERVER_NOTIFICATIONS, type ServerNotifications } from './protocol.js';
import {
  type Endpoint,
  openTransport,
  parseEndpoint,
  type TransportOptions,
  validateTransportOptions,
} from './transport.js';

// ---- typed event emitter ---------------------------------------------------------------------------------

type Listener = (...args: never[]) => void;

/** A typed facade over EventEmitter: event names and listener arguments are checked. */
export class TypedEventEmitter<E extends { [K in keyof E]: Listener }> {
  readonly #ee = new EventEmitter();
  constructor() {
    this.#ee.setMaxListeners(0);
  }
  on<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.#ee.on(event, listener as unknown as (...args: unknown[]) => void);
    return this;
  }
  once<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.#ee.once(event, listener as unknown as (...args: unknown[]) => void);
    return this;
  }
  off<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.#ee.off(event, listener as unknown as (...args: unknown[]) => void);
    return this;
  }
  listenerCount<K extends keyof E & string>(event: K): number {
    return this.#ee.listenerCount(event);
  }
  protected emit<K extends keyof E & string>(event: K, ...args: Parameters<E[K]>): boolean {
    return this.#ee.emit(event, ...args);
  }
}

type NotificationListeners = {
  [K in keyof ServerNotifications]: (...params: ServerNotifications[K]) => void;
};

/** Events of a Connection. Server notifications carry their params as arguments. */
export interface ConnectionEvents extends NotificationListeners {
  /** Every notification from the server, including ones without a typed event. */
  notification: (method: string, params: unknown[]) => void;
  /** The connection closed; `reason` is undefined for a plain `close()`. Emitted once. */
  close: (reason: Error | undefined) => void;
}

// ---- options ---------------------------------------------------------------------------------------------

export interface RequestOptions {
  /** Reject with TimeoutError after this many ms (default: the connection's requestTimeoutMs). 0: none. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Called synchronously with the result when the reply is read, before any later message (such as an
   * `update` notification) is dispatched. Promises settle later; a replica uses this to apply a monitor's
   * initial rows in wire order. If it returns a promise, nothing read after the reply is dispatched until
   * that promise settles (and the request resolves after it): a large snapshot can be applied in slices
   * without an update overtaking it.
   */
  onResult?: (result: unknown) => unknown;
  /**
   * For a reply large enough to be parsed in slices (see sliceBytes): called with each slice as it is
   * parsed, before onResult (see SliceSink; paths start at the message, e.g. `['result', 2, 'Port']`).
   * A slice it takes (returns true) is left out of the result. The replica uses it to apply the rows of
   * a large snapshot while the rest is still being parsed, so the parsed rows never pile up.
   */
  onSlice?: SliceSink;
  /** Called with the request id once the request is written (e.g. to `cancel` it). */
  onSent?: (id: number) => void;
  /**
   * The request resolves to `decoder.decodeReply(result)` instead of the result (and rejects with what it
   * throws): a typed layer decodes in the reply's own settlement, with no promise hop of its own.
   */
  decoder?: ReplyDecoder;
}

/** See RequestOptions.decoder. */
export interface ReplyDecoder {
  decodeReply(result: unknown): unknown;
}

/**
 * Marks transactors whose `transact(db, ops, opts)` honours RequestOptions.decoder (OvsdbClient); a
 * Transaction passes its decoder only to those.
 */
export const decodesReplies: unique symbol = Symbol('ovsdb.decodesReplies');

export interface ConnectionOptions extends TransportOptions {
  /** Default per-request timeout in ms; 0 or undefined: none. */
  requestTimeoutMs?: number;
  /**
   * Inactivity probe (as OVS lib/reconnect.c): after this many ms without receiving anything, send an
   * echo; if nothing arrives within as many ms again, close. 0 disables. Default 5000 for tcp:/ssl: (the
   * OVS default), off for unix:.
   */
  inactivityProbeMs?: number;
  /** Largest accepted message in bytes (default 256 MiB). */
  maxMessageBytes?: number;
  /**
   * Messages of at least this many bytes are parsed in slices of about 128 KB, with the event loop
   * getting a turn in between, so that a large initial snapshot does not stall the process.
   * Default 1 MiB (DEFAULT_SLICE_BYTES); 0 parses every message at once.
   */
  sliceBytes?: number;
}

export type ConnectionStatus = 'open' | 'closing' | 'closed';

const OPTION_KEYS = new Set([
  'connectTimeoutMs',
  'tls',
  'requestTimeoutMs',
  'inactivityProbeMs',
  'maxMessageBytes',
  'sliceBytes',
]);

/** Validates connection options before anything is opened. */
export function validateConnectionOptions(endpoint: Endpoint, opts: ConnectionOptions): void {
  if (typeof opts !== 'object' || opts === null) {
    throw new InvalidArgumentError(`options: ${String(opts)} is not allowed; expected an object`);
  }
  for (const k of Object.keys(opts)) {
    if (!OPTION_KEYS.has(k)) {
      throw new InvalidArgumentError(`${k}: unknown option; allowed: ${[...OPTION_KEYS].join(', ')}`);
    }
  }
  validateTransportOptions(endpoint, opts);
  for (const k of ['requestTimeoutMs', 'inactivityProbeMs'] as const) {
    const v = opts[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new InvalidArgumentError(
        `${k}: ${JSON.stringify(v)} is not allowed; expected a number of ms >= 0`,
      );
    }
  }
  const m = opts.maxMessageBytes;
  if (m !== undefined && (!Number.isSafeInteger(m) || m < 2)) {
    throw new InvalidArgumentError(
      `maxMessageBytes: ${JSON.stringify(m)} is not allowed; expected an integer >= 2`,
    );
  }
  const sb = opts.sliceBytes;
  if (sb !== undefined && (!Number.isSafeInteger(sb) || sb < 0)) {
    throw new InvalidArgumentError(
      `sliceBytes: ${JSON.stringify(sb)} is not allowed; expected an integer >= 0 (0: never slice)`,
    );
  }
}

function validateRequestOptions(method: string, opts: RequestOptions): void {
  const t = opts.timeoutMs;
  if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t) || t < 0)) {
    throw new InvalidArgumentError(
      `${method}: timeoutMs: ${JSON.stringify(t)} is not allowed; expected a number of ms >= 0`,
    );
  }
}

// ---- connection ------------------------------------------------------------------------------------------

interface Pending {
  readonly id: number;
  readonly method: string;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly onResult: ((result: unknown) => unknown) | undefined;
  readonly onSlice: SliceSink | undefined;
  readonly decoder: ReplyDecoder | undefined;
  written: boolean;
  done: boolean;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const PROBE_PARAMS = ['ocn-inactivity-probe'];
/** The shared default of request()'s options (not allocated per call; never written). */
const NO_REQUEST_OPTIONS: RequestOptions = Object.freeze({});
/**
 * While a sliced message is parsed, the event loop gets a turn at least this often (ms). Chosen so the
 * longest stall of a 10,000-row initial sync stays well under 25 ms on this 2-core machine.
 */
const SLICE_MS = 5;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Whether a parsed object is a well-formed reply: only the members id, result and error, and not both a
 * result and an error (as parseWireMessage checks; anything else takes that path and its errors).
 */
function isPlainReply(v: { result?: unknown; error?: unknown }): boolean {
  let n = 0;
  for (const k in v) {
    if (k !== 'id' && k !== 'result' && k !== 'error') return false;
    n++;
  }
  const hasResult = v.result !== undefined && v.result !== null;
  const hasError = v.error !== undefined && v.error !== null;
  return n >= 2 && !(hasResult && hasError);
}

function isThenable(v: unknown): v is PromiseLike<void> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * A JSON-RPC 1.0 connection to ovsdb-server. Open one with `Connection.open(endpoint, opts)`.
 * Requests may be pipelined: any number can be in flight; replies are matched by id.
 */
export class Connection extends TypedEventEmitter<ConnectionEvents> {
  readonly endpoint: string;
  /** Resolves (never rejects) when the connection has closed, with the reason (undefined: `close()`). */
  readonly closed: Promise<Error | undefined>;

  readonly #socket: Socket;
  readonly #framer: JsonFramer;
  /** Dispatches server-bound messages (echo requests, notifications); replies are matched in #onReply. */
  readonly #server: JSONRPCServer<void>;
  readonly #pending = new Map<number, Pending>();
  readonly #requestTimeoutMs: number;
  readonly #probeMs: number;
  #nextId = 0;
  #status: ConnectionStatus = 'open';
  #resolveClosed!: (reason: Error | undefined) => void;
  #closeReason: Error | undefined;
  #out: string[] = [];
  #flushScheduled = false;
  #lastReceived = 0;
  #probeTimer: NodeJS.Timeout | undefined;
  #probeSentAt = 0;
  /** Values framed but not dispatched yet, in wire order, from #inboxAt on. */
  #inbox: unknown[] = [];
  #inboxAt = 0;
  /** A sliced parse or an asynchronous onResult holds dispatch (and reading) until it is done. */
  #held = false;
  /** A framing error met after the values in the inbox: acted on once they are dispatched. */
  #framingError: Error | undefined;
  readonly #sliceBytes: number;
  /** Reading is paused for one turn of the event loop (see #onData). */
  #yielding = false;
  readonly #endYield = () => {
    this.#yielding = false;
    if (!this.#held && this.#status !== 'closed') this.#socket.resume();
  };
  readonly #flushBound = () => this.#flush();

  /** Opens a transport to `endpoint` and wraps it. Options are validated before connecting. */
  static async open(endpoint: string, opts: ConnectionOptions = {}): Promise<Connection> {
    const parsed = parseEndpoint(endpoint);
    validateConnectionOptions(parsed, opts);
    const socket = await openTransport(endpoint, opts);
    return new Connection(socket, endpoint, opts, parsed);
  }

  /** Wraps an already connected socket (`open` is the usual entry point). */
  constructor(
    socket: Socket,
    endpoint: string,
    opts: ConnectionOptions = {},
    parsed = parseEndpoint(endpoint),
  ) {
    super();
    validateConnectionOptions(parsed, opts);
    this.endpoint = endpoint;
    this.#socket = socket;
    this.#sliceBytes = opts.sliceBytes ?? DEFAULT_SLICE_BYTES;
    this.#framer = new JsonFramer({
      ...(opts.maxMessageBytes === undefined ? {} : { maxMessageBytes: opts.maxMessageBytes }),
      sliceBytes: this.#sliceBytes,
    });
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 0;
    this.#probeMs = opts.inactivityProbeMs ?? (parsed.kind === 'unix' ? 0 : 5000);
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });

    // json-rpc-2.0's server part dispatches what the server sends us; every such message crosses the
    // dialect codec (jsonrpc.ts) in and out. Its errorListener sees exceptions thrown by our handlers
    // (i.e. by event listeners): rethrow them outside the library, as EventEmitter would.
    const server = new JSONRPCServer<void>({
      errorListener: (_message, err) => {
        queueMicrotask(() => {
          throw err;
        });
      },
    });
    this.#server = server;
    // RFC 7047 §4.1.11: "echo" may be sent by either side; the reply's result is the request's params.
    // ovsdb-server sends it as its own inactivity probe (id "echo").
    server.addMethod('echo', (params: unknown) => params);
    for (const name of SERVER_NOTIFICATIONS) {
      server.addMethod(name, (params: unknown) => {
        this.#emitNotification(name, params as unknown[]);
      });
    }
    server.handleMethodNotFound = async (request) => {
      // Unknown notifications still reach the generic "notification" event; unknown requests get an error.
      if (request.id === undefined) {
        this.#emitNotification(request.method, (request.params ?? []) as unknown[]);
        return null;
      }
      return {
        jsonrpc: '2.0',
        id: request.id,
        error: {
          code: OVSDB_ERROR_CODE,
          message: 'unknown method',
          data: { error: 'unknown method', details: request.method },
        },
      };
    };

    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => {
      this.#closeReason ??= err;
    });
    socket.on('close', () =>
      this.#finish(this.#closeReason ?? new ConnectionClosedError('connection closed by peer')),
    );
    this.#lastReceived = Date.now();
    if (this.#probeMs > 0) this.#armProbe(this.#probeMs);
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  /** Requests written or about to be, without a reply yet. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request and resolves with its `result`. Rejects with RpcError when the reply's `error` is
   * not null, TimeoutError / AbortError, ConnectionClosedError when the connection closes first — or
   * MaybeCommittedError for a `transact` that was written and got no reply (it may have committed).
   */
  request<T = unknown>(
    method: string,
    params: readonly unknown[],
    opts: RequestOptions = NO_REQUEST_OPTIONS,
  ): Promise<T> {
    if (typeof method !== 'string' || method.length === 0) {
      return Promise.reject(
        new InvalidArgumentError(`method: ${JSON.stringify(method)} is not allowed; expected a method name`),
      );
    }
    if (!Array.isArray(params)) {
      return Promise.reject(
        new InvalidArgumentError(
          `${method}: params: ${typeof params} is not allowed; expected an array (RFC 7047 §4)`,
        ),
      );
    }
    try {
      validateRequestOptions(method, opts);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#status !== 'open') {
      return Promise.reject(
        new ConnectionClosedError(`cannot send ${method}: connection is ${this.#status}`, {
          cause: this.#closeReason,
        }),
      );
    }
    const signal = opts.signal;
    if (signal?.aborted) {
      return Promise.reject(new AbortError(`${method} aborted before it was sent`, { cause: signal.reason }));
    }
    // method is a non-empty string, params an array and id a number (checked above): the wire form is
    // encoded directly (jsonrpc.ts encodeWireMessage writes exactly the JSON-RPC 1.0 members).
    const id = ++this.#nextId;
    let text: string;
    try {
      text = encodeWireMessage({ method, params, id });
    } catch (err) {
      return Promise.reject(
        new InvalidArgumentError(
          `${method}: params cannot be sent: ${String((err as Error).message ?? err)}`,
          { cause: err },
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        id,
        method,
        resolve: resolve as (v: unknown) => void,
        reject,
        onResult: opts.onResult,
        onSlice: opts.onSlice,
        decoder: opts.decoder,
        written: true,
        done: false,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      this.#pending.set(id, p);
      this.#write(text);
      const timeoutMs = opts.timeoutMs ?? this.#requestTimeoutMs;
      if (timeoutMs > 0) {
        p.timer = setTimeout(
          () => this.#giveUp(p, new TimeoutError(`${method} got no reply within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }
      if (signal) {
        p.onAbort = () => this.#giveUp(p, new AbortError(`${method} aborted`, { cause: signal.reason }));
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      opts.onSent?.(id);
    });
  }

  /** Sends a notification (id null), e.g. `cancel`. Throws ConnectionClosedError when not open. */
  notify(method: string, params: readonly unknown[]): void {
    if (this.#status !== 'open') {
      throw new ConnectionClosedError(`cannot send ${method}: connection is ${this.#status}`, {
        cause: this.#closeReason,
      });
    }
    if (!Array.isArray(params)) {
      throw new InvalidArgumentError(`${method}: params: ${typeof params} is not allowed; expected an array`);
    }
    this.#write(encodeWireMessage({ method, params: params as unknown[], id: null }));
  }

  /**
   * Closes the connection: queued writes are flushed, pending requests are rejected (a written `transact`
   * with MaybeCommittedError). Resolves when the socket has closed.
   */
  async close(reason?: Error): Promise<void> {
    if (this.#status === 'open') {
      this.#status = 'closing';
      this.#closeReason = reason;
      this.#rejectAll(reason);
      this.#flush();
      this.#socket.end();
      const t = setTimeout(() => this.#socket.destroy(), 1000);
      t.unref();
    }
    await this.closed;
  }

  // ---- outgoing ----

  /** A reply of json-rpc-2.0's server part (to the server's echo or an unknown method), in the wire form. */
  #sendLibrary(payload: unknown): void {
    let text: string;
    try {
      text = encodeWireMessage(libraryToWire(payload) as WireMessage);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
      return;
    }
    this.#write(text);
  }

  /**
   * The first message of a tick is written at once (no added latency for a lone request); the ones that
   * follow in the same tick (a pipelined burst) are coalesced into one write at the end of the tick.
   * Measured with bench/add-port.ts: one write per burst lets ovsdb-server read the burst at once.
   */
  #write(text: string): void {
    if (this.#status === 'closed') return;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flushBound);
      if (!this.#socket.destroyed) this.#socket.write(text);
      return;
    }
    this.#out.push(text);
  }

  #flush(): void {
    this.#flushScheduled = false;
    const out = this.#out;
    if (out.length === 0 || this.#socket.destroyed) {
      out.length = 0;
      return;
    }
    this.#socket.write(out.length === 1 ? out[0]! : out.join(''));
    out.length = 0;
  }

  // ---- incoming ----

  #onData(chunk: Buffer): void {
    // Only the inactivity probe reads these (no clock read per chunk without one).
    if (this.#probeMs > 0) {
      this.#lastReceived = Date.now();
      this.#probeSentAt = 0;
    }
    try {
      this.#framer.pushTo(chunk, this.#inbox);
    } catch (err) {
      // The values framed before the bad bytes are still dispatched, then the connection closes.
      this.#framingError = err as Error;
    }
    if (!this.#held) this.#drain();
    // Inside a large message, libuv may hand over dozens of 64 KB reads in one turn of the event loop
    // (several MB to scan): read on only after the loop had a turn. The data waits in the socket.
    if (
      this.#sliceBytes > 0 &&
      !this.#yielding &&
      !this.#held &&
      this.#framer.bufferedBytes >= this.#sliceBytes &&
      this.#status === 'open'
    ) {
      this.#yielding = true;
      this.#socket.pause();
      setImmediate(this.#endYield);
    }
  }

  /**
   * Dispatches the inbox in wire order, synchronously, so that a reply's onResult runs before a later
   * update is emitted. A sliced message or a promise returned by onResult holds the rest (and the socket
   * is paused) until it is done; then draining resumes where it stopped.
   */
  #drain(): void {
    const inbox = this.#inbox;
    while (this.#inboxAt < inbox.length) {
      if (this.#status === 'closed') {
        inbox.length = 0;
        this.#inboxAt = 0;
        return;
      }
      const value = inbox[this.#inboxAt++];
      if (value instanceof SlicedMessage) {
        // The reply's id comes from its small members, so that slices can go to its request as they
        // are parsed (onSlice).
        const env = value.envelope();
        const p =
          typeof env.id === 'number' && env.method === undefined ? this.#pending.get(env.id) : undefined;
        this.#hold(this.#parseSliced(value, p?.onSlice).then((v) => this.#dispatch(v)));
        return;
      }
      const wait = this.#dispatch(value);
      if (wait !== undefined) {
        this.#hold(wait);
        return;
      }
    }
    inbox.length = 0;
    this.#inboxAt = 0;
    if (this.#framingError !== undefined) this.#destroy(this.#framingError);
  }

  #hold(p: Promise<unknown>): void {
    this.#held = true;
    this.#socket.pause();
    p.then(
      () => {
        this.#held = false;
        if (this.#status === 'closed') return;
        this.#socket.resume();
        this.#drain();
      },
      (err: unknown) => {
        this.#held = false;
        this.#destroy(err instanceof Error ? err : new ProtocolError(String(err)));
      },
    );
  }

  /** Parses a large message slice by slice, giving the event loop a turn every SLICE_MS. */
  async #parseSliced(m: SlicedMessage, sink: SliceSink | undefined): Promise<unknown> {
    const steps = m.steps(sink);
    let t0 = performance.now();
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      if (performance.now() - t0 >= SLICE_MS) {
        await yieldToLoop();
        if (this.#status === 'closed') throw this.#closeReason ?? new ConnectionClosedError('closed');
        t0 = performance.now();
      }
    }
  }

  /** Dispatches one parsed message; returns a promise when the rest must wait for it. */
  #dispatch(value: unknown): Promise<void> | undefined {
    if (this.#status === 'closed') return undefined;
    // Fast path for the common message, a reply to one of our requests: the envelope checked in place
    // (members id, result, error only; id a number), without the copy parseWireMessage makes.
    const v = value as { id?: unknown; result?: unknown; error?: unknown };
    if (typeof v === 'object' && v !== null && typeof v.id === 'number' && isPlainReply(v)) {
      return this.#onReply({ result: v.result ?? null, error: v.error ?? null, id: v.id });
    }
    let msg: WireMessage;
    try {
      msg = parseWireMessage(value);
    } catch (err) {
      this.#framingError = undefined;
      this.#inbox.length = 0;
      this.#inboxAt = 0;
      this.#destroy(err as Error);
      return undefined;
    }
    if (isWireReply(msg)) return this.#onReply(msg);
    // Fed to the library's server part without awaiting: handlers run synchronously inside receive().
    this.#server.receive(wireToLibraryRequest(msg)).then((resp) => {
      if (resp && !Array.isArray(resp) && this.#status === 'open') this.#sendLibrary(resp);
    });
    return undefined;
  }

  #onReply(msg: WireMessage & { result: unknown; error: unknown; id: unknown }): Promise<void> | undefined {
    const id = msg.id;
    const p = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (p === undefined) {
      // A reply to a request we gave up on (timeout/abort), or to our probe. Nothing to do.
      return undefined;
    }
    // Answered: from here on a close cannot turn it into ConnectionClosed/MaybeCommitted.
    this.#pending.delete(p.id);
    if (msg.error !== null) {
      const e = toWireError(msg.error);
      this.#fail(p, new RpcError(p.method, e.error, e.details, e.syntax));
      return undefined;
    }
    if (p.onResult) {
      let r: unknown;
      try {
        r = p.onResult(msg.result);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
      if (isThenable(r)) {
        const result = msg.result;
        return Promise.resolve(r).then(
          () => this.#settle(p, result),
          (err: unknown) => {
            this.#settle(p, result);
            queueMicrotask(() => {
              throw err;
            });
          },
        );
      }
    }
    this.#settle(p, msg.result);
    return undefined;
  }

  /** Resolves an answered request with its result, or with what its decoder makes of it. */
  #settle(p: Pending, result: unknown): void {
    this.#cleanup(p);
    const d = p.decoder;
    if (d === undefined) {
      p.resolve(result);
      return;
    }
    let v: unknown;
    try {
      v = d.decodeReply(result);
    } catch (err) {
      p.reject(err);
      return;
    }
    p.resolve(v);
  }

  #emitNotification(method: string, params: unknown[]): void {
    try {
      this.emit('notification', method, params);
      if ((SERVER_NOTIFICATIONS as readonly string[]).includes(method)) {
        (this.emit as (e: string, ...a: unknown[]) => boolean)(method, ...params);
      }
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  // ---- failure paths ----

  #cleanup(p: Pending): void {
    p.done = true;
    this.#pending.delete(p.id);
    if (p.timer) clearTimeout(p.timer);
    if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
  }

  #fail(p: Pending, err: unknown): void {
    if (p.done) return;
    this.#cleanup(p);
    p.reject(err);
  }

  /** Local timeout or abort of a written request. */
  #giveUp(p: Pending, err: TimeoutError | AbortError): void {
    if (p.done) return;
    if (p.method === 'transact' && p.written) {
      // RFC 7047 §4.1.4: "cancel" asks the server to complete or cancel the transact with that id. Its
      // reply may already be on the way: the outcome is unknown to us.
      if (this.#status === 'open') this.notify('cancel', [p.id]);
      this.#fail(
        p,
        new MaybeCommittedError(`transact ${p.id} was sent and ${err.message}: it may have committed`, {
          cause: err,
        }),
      );
    } else {
      this.#fail(p, err);
    }
  }

  #rejectAll(reason: Error | undefined): void {
    for (const p of [...this.#pending.values()]) {
      if (p.method === 'transact' && p.written) {
        this.#fail(
          p,
          new MaybeCommittedError(
            'transact was sent but the connection closed before its reply: it may have committed',
            {
              cause: reason,
            },
          ),
        );
      } else {
        this.#fail(
          p,
          new ConnectionClosedError(`${p.method}: connection closed before the reply`, { cause: reason }),
        );
      }
    }
  }

  #destroy(reason: Error): void {
    if (this.#status === 'closed') return;
    this.#closeReason ??= reason;
    this.#socket.destroy();
    this.#finish(this.#closeReason);
  }

  #finish(reason: Error | undefined): void {
    if (this.#status === 'closed') return;
    const userClose = this.#status === 'closing';
    this.#status = 'closed';
    if (this.#probeTimer) clearTimeout(this.#probeTimer);
    this.#out.length = 0;
    const r = userClose ? this.#closeReason : reason;
    this.#rejectAll(r);
    if (!this.#socket.destroyed) this.#socket.destroy();
    this.#resolveClosed(r);
    try {
      this.emit('close', r);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  // ---- inactivity probe (OVS lib/reconnect.c: probe after idle, disconnect after another idle period) ----

  #armProbe(ms: number): void {
    this.#probeTimer = setTimeout(() => this.#onProbeTimer(), ms);
    this.#probeTimer.unref();
  }

  #onProbeTimer(): void {
    if (this.#status !== 'open') return;
    const now = Date.now();
    if (this.#probeSentAt > 0) {
      if (now - this.#probeSentAt >= this.#probeMs) {
        this.#destroy(
          new TimeoutError(
            `inactivity probe: nothing received for ${now - this.#lastReceived} ms after an echo`,
          ),
        );
        return;
      }
      this.#armProbe(this.#probeMs - (now - this.#probeSentAt));
      return;
    }
    const idle = now - this.#lastReceived;
    if (idle < this.#probeMs) {
      this.#armProbe(this.#probeMs - idle);
      return;
    }
    this.#probeSentAt = now;
    this.request('echo', PROBE_PARAMS).catch(() => undefined);
    this.#armProbe(this.#probeMs);
  }
}
