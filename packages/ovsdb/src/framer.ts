// Splits the OVSDB byte stream into JSON values. Pure: no I/O.
//
// ovsdb-server writes JSON-RPC messages back to back with no delimiter (RFC 7047 §4: "JSON-RPC over a
// stream"; OVS lib/jsonrpc.c feeds bytes to an incremental JSON parser). A message is a JSON object, so a
// value ends when the bracket depth returns to zero outside a string. We scan bytes, never characters:
// every structural byte ({ } [ ] " \) is ASCII, and no byte of a multibyte UTF-8 sequence is below 0x80,
// so a code point split across chunks cannot be mistaken for structure. Each complete value is decoded
// from UTF-8 and parsed exactly once.
//
// Two additions, both recorded during that same scan (no second pass over the bytes):
// - 64-bit integers. OVSDB integers are 64-bit (RFC 7047 §5.1) and JSON.parse rounds any integer beyond
//   ±(2^53 − 1) to a double before we can see it (Node 20's V8 has no JSON.parse source access). A run of
//   16 or more digits outside strings marks the message; only such a message is parsed by parseExact,
//   which turns integer literals beyond ±(2^53 − 1) into exact `bigint`s. Integers within that range stay
//   `number`, so the common path is unchanged.
// - Large messages. A message of `sliceBytes` or more (an initial monitor snapshot of 10,000s of rows is
//   tens of MB) is not parsed at once, which would stall the event loop for 100+ ms: it is returned as a
//   SlicedMessage holding the positions of the brackets and commas of its outer levels, and is parsed in
//   slices of about 128 KB (rows, batched) that the caller interleaves with the event loop.

import { FramingError } from './errors.js';

const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const COLON = 0x3a;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Brackets and commas are recorded down to this depth (1 = the message object). 4 reaches the rows of
 * every bulky reply: {result:[found, txn, {table: {uuid: row}}]} (monitor_cond_since, update3 params),
 * {result:{table:{uuid: row}}} (monitor, monitor_cond), {result:[{rows:[row, …]}]} (select).
 */
const MARK_DEPTH = 4;
// A mark is position * 4 + kind.
const OPEN = 0;
const CLOSE = 1;
const SEP = 2;
/** Integer literals with at least this many digits may exceed 2^53 − 1 (a 16-digit one may). */
const LONG_DIGITS = 16;

/** Default bound on one message: large enough for an OVN Southbound initial dump, small enough to fail. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

/** Default size from which a message is returned as a SlicedMessage (when slicing is on). */
export const DEFAULT_SLICE_BYTES = 1024 * 1024;

export interface FramerOptions {
  /** Largest accepted value in bytes; a longer one is a FramingError. Default 256 MiB. */
  maxMessageBytes?: number;
  /**
   * Messages of at least this many bytes are returned as a SlicedMessage, to be parsed in slices
   * (`parseSliced` or `SlicedMessage.steps`). 0 (the default): every message is parsed at once.
   */
  sliceBytes?: number;
}

/**
 * Incremental splitter of back-to-back JSON values (objects or arrays at the top level). `push(chunk)`
 * returns the values completed by that chunk, parsed. Work is linear in the input: each byte is scanned
 * once, and bytes of a value spanning several chunks are copied once when the value completes.
 * After a FramingError the framer is unusable (the stream has lost synchronisation).
 */
export class JsonFramer {
  readonly maxMessageBytes: number;
  /** Chunks (or chunk tails) holding the start of the value in progress. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private failed: FramingError | undefined;
  readonly sliceBytes: number;
  /** Consecutive digits just scanned outside strings. */
  private digits = 0;
  /** Marks (position * 4 + kind) of the value in progress, down to MARK_DEPTH. */
  private marks: number[] = [];
  /** Positions of digit runs of LONG_DIGITS or more in the value in progress. */
  private longs: number[] = [];

  constructor(opts: FramerOptions = {}) {
    const max = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isSafeInteger(max) || max < 2) {
      throw new FramingError(`maxMessageBytes: ${String(max)} is not allowed; expected an integer >= 2`);
    }
    this.maxMessageBytes = max;
    const slice = opts.sliceBytes ?? 0;
    if (!Number.isSafeInteger(slice) || slice < 0) {
      throw new FramingError(`sliceBytes: ${String(slice)} is not allowed; expected an integer >= 0`);
    }
    this.sliceBytes = slice;
  }

  /** Bytes of the value in progress (0 between values). */
  get bufferedBytes(): number {
    return this.partialBytes;
  }

  /** Feeds one chunk; returns the values it completes, in order. Throws FramingError on bad input. */
  push(chunk: Uint8Array): unknown[] {
    const out: unknown[] = [];
    this.pushTo(chunk, out);
    return out;
  }

  /** Like push, but appends the completed values to `out` (no allocation per chunk). */
  pushTo(chunk: Uint8Array, out: unknown[]): void {
    if (this.failed) throw this.failed;
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const len = buf.length;
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    // Start of the current value inside this chunk (-1: it began in an earlier chunk, or none in progress).
    let start = depth > 0 ? 0 : -1;
    // Position in the value in progress = i + base.
    let base = this.partialBytes;
    let digits = this.digits;
    let marks = this.marks;
    let longs = this.longs;
    // Next backslash at or after the scan position, cached so string scanning stays linear.
    let nextBackslash = -2;
    let i = 0;
    try {
      while (i < len) {
        if (inString) {
          if (escaped) {
            escaped = false;
            i++;
            continue;
          }
          const q = buf.indexOf(QUOTE, i);
          if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = buf.indexOf(BACKSLASH, i);
          if (nextBackslash !== -1 && (q === -1 || nextBackslash < q)) {
            // An escape before the next quote: skip the backslash and the byte it escapes.
            i = nextBackslash + 1;
            escaped = true;
            continue;
          }
          if (q === -1) {
            i = len;
            break;
          }
          inString = false;
          i = q + 1;
          continue;
        }
        const c = buf[i]!;
        if (depth === 0) {
          if (c === OPEN_BRACE || c === OPEN_BRACKET) {
            depth = 1;
            start = i;
            base = -i;
            marks.length = 0;
            longs.length = 0;
            marks.push(OPEN);
          } else if (c !== SPACE && c !== LF && c !== CR && c !== TAB) {
            throw new FramingError(
              `unexpected byte 0x${c.toString(16).padStart(2, '0')} between JSON-RPC messages; expected '{' or whitespace`,
            );
          }
          i++;
          continue;
        }
        if (c <= NINE && c >= ZERO) {
          if (++digits === LONG_DIGITS) longs.push(i + base);
          i++;
          continue;
        }
        digits = 0;
        if (c === QUOTE) {
          inString = true;
        } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          if (++depth <= MARK_DEPTH) marks.push((i + base) * 4 + OPEN);
        } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          if (depth <= MARK_DEPTH) marks.push((i + base) * 4 + CLOSE);
          depth--;
          if (depth === 0) {
            out.push(this.complete(buf, start, i + 1));
            start = -1;
            // complete() hands the arrays of a sliced message over and starts new ones.
            marks = this.marks;
            longs = this.longs;
          }
        } else if (c === COMMA && depth <= MARK_DEPTH) {
          marks.push((i + base) * 4 + SEP);
        }
        i++;
      }
      if (depth > 0) {
        const from = Math.max(start, 0);
        this.partialBytes += len - from;
        if (this.partialBytes > this.maxMessageBytes) {
          throw new FramingError(
            `message exceeds maxMessageBytes (${this.maxMessageBytes} bytes); raise the bound or check the peer`,
          );
        }
        // Keep a view (no copy); Buffer.concat copies once when the value completes.
        this.partial.push(from === 0 ? buf : buf.subarray(from));
      }
    } catch (err) {
      this.failed = err instanceof FramingError ? err : new FramingError(String(err), { cause: err });
      this.partial = [];
      this.partialBytes = 0;
      throw this.failed;
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    this.digits = digits;
  }

  /** Decodes bytes [start, end) of `buf` (plus any earlier partial chunks) as one JSON value. */
  private complete(buf: Buffer, start: number, end: number): unknown {
    let text: string;
    if (this.partial.length === 0) {
      const size = end - start;
      if (size > this.maxMessageBytes) {
        throw new FramingError(`message exceeds maxMessageBytes (${this.maxMessageBytes} bytes)`);
      }
      if (this.sliceBytes > 0 && size >= this.sliceBytes) return this.sliced([buf.subarray(start, end)]);
      // No subarray here: on the hot path (small replies in one chunk) a Buffer view costs more than
      // decoding the range directly.
      text = buf.toString('utf8', start, end);
    } else {
      const total = this.partialBytes + end;
      if (total > this.maxMessageBytes) {
        throw new FramingError(`message exceeds maxMessageBytes (${this.maxMessageBytes} bytes)`);
      }
      this.partial.push(buf.subarray(0, end));
      const chunks = this.partial;
      this.partial = [];
      this.partialBytes = 0;
      // A sliced message keeps its chunks (no copy of tens of MB in one go).
      if (this.sliceBytes > 0 && total >= this.sliceBytes) return this.sliced(chunks);
      text = Buffer.concat(chunks, total).toString('utf8');
    }
    try {
      return this.longs.length === 0 ? JSON.parse(text) : parseExact(text);
    } catch (err) {
      throw new FramingError(`invalid JSON in message: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Hands the marks of the value just completed to a SlicedMessage and starts new ones. */
  private sliced(chunks: Buffer[]): SlicedMessage {
    const m = new SlicedMessage(chunks, this.marks, this.longs);
    this.marks = [];
    this.longs = [];
    return m;
  }
}

// ---- exact 64-bit integers ---------------------------------------------------------------------------------

// A long integer literal is rewritten into a JSON string holding this marker and its digits, and the
// reviver turns that string into a bigint. ovsdb-server never sends a string holding U+0000 (OVS lib/json.c
// refuses "\u0000"), so no string from the server can be taken for a marker.
const INT_MARK = '\u0000ocn-int:';
const INT_MARK_JSON = '"\\u0000ocn-int:';
const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER); // 16 digits

function reviveInt(_key: string, v: unknown): unknown {
  return typeof v === 'string' && v.charCodeAt(0) === 0 && v.startsWith(INT_MARK)
    ? BigInt(v.slice(INT_MARK.length))
    : v;
}

/**
 * JSON.parse, except that integer literals beyond ±(2^53 − 1) become exact `bigint`s (a literal with a
 * fraction or an exponent stays a number). For the rare text that holds a run of 16+ digits.
 */
export function parseExact(text: string): unknown {
  let out = '';
  let last = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
      continue;
    }
    if (c !== 0x2d && (c < ZERO || c > NINE)) continue;
    // A number token: -?digits, then maybe a fraction and an exponent.
    const from = i;
    const d0 = c === 0x2d ? i + 1 : i;
    let j = d0;
    while (j < n && text.charCodeAt(j) >= ZERO && text.charCodeAt(j) <= NINE) j++;
    const intEnd = j;
    let integer = true;
    while (j < n) {
      const d = text.charCodeAt(j);
      if ((d >= ZERO && d <= NINE) || d === 0x2b || d === 0x2d) j++;
      else if (d === 0x2e || d === 0x65 || d === 0x45) {
        integer = false;
        j++;
      } else break;
    }
    const len = intEnd - d0;
    if (
      integer &&
      (len > MAX_SAFE_DIGITS.length ||
        (len === MAX_SAFE_DIGITS.length && text.slice(d0, intEnd) > MAX_SAFE_DIGITS))
    ) {
      out += `${text.slice(last, from)}${INT_MARK_JSON}${text.slice(from, intEnd)}"`;
      last = intEnd;
    }
    i = j - 1;
  }
  if (last === 0) return JSON.parse(text);
  return JSON.parse(out + text.slice(last), reviveInt);
}

// ---- large messages, parsed in slices ----------------------------------------------------------------------

/** Members of one container are grouped into slices of about this many bytes for one JSON.parse each. */
const SLICE_TARGET = 128 * 1024;

/** Sets an own property; `__proto__` would otherwise change the prototype (JSON.parse makes it data). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/**
 * Receives the slices of a large message as they are parsed: `path` leads from the message root to the
 * container the batch belongs to (e.g. `['result', 2, 'Port']` for rows of a monitor_cond_since reply),
 * `part` holds a run of that container's members (an object of some of its members, or an array of some
 * of its elements). Returning true takes the batch: it is then left out of the parsed value.
 */
export type SliceSink = (
  path: readonly (string | number)[],
  part: Record<string, unknown> | unknown[],
) => boolean;

/** Top-level members up to this size are parsed by `envelope()`. */
const ENVELOPE_MEMBER = 256;

/**
 * A complete message too large to parse at once. `steps()` parses it slice by slice: each `next()` does
 * one JSON.parse of at most about 128 KB (one slice of rows, or one large member's key) and the last one
 * returns the value, equal to `JSON.parse` of the whole message (with parseExact's integers).
 */
export class SlicedMessage {
  /** The message's bytes, in the chunks they arrived in, and where each chunk starts in the message. */
  readonly #chunks: Buffer[];
  readonly #starts: number[];
  readonly #length: number;
  readonly #marks: number[];
  readonly #longs: number[];
  /** For each mark that opens a container, the index of the mark that closes it. */
  #closeOf: Int32Array | undefined;
  #sink: SliceSink | undefined;

  constructor(chunks: Buffer[], marks: number[], longs: number[]) {
    this.#chunks = chunks;
    this.#starts = new Array<number>(chunks.length);
    let at = 0;
    for (let i = 0; i < chunks.length; i++) {
      this.#starts[i] = at;
      at += (chunks[i] as Buffer).length;
    }
    this.#length = at;
    this.#marks = marks;
    this.#longs = longs;
  }

  get byteLength(): number {
    return this.#length;
  }

  /**
   * The message's small top-level members (such as `id`, `method` and a null `error`), parsed without
   * the rest: tells which request a large reply answers before its result is parsed.
   */
  envelope(): Record<string, unknown> {
    const marks = this.#marks;
    const out: Record<string, unknown> = {};
    if (this.#byte(0) !== OPEN_BRACE) return out;
    let depth = 0;
    let segStart = 1;
    let nested = false;
    for (let k = 1; k < marks.length; k++) {
      const m = marks[k] as number;
      const kind = m & 3;
      if (kind === OPEN) {
        depth++;
        nested = true;
      } else if (kind === CLOSE && depth > 0) depth--;
      else if (depth === 0) {
        const pos = Math.floor(m / 4);
        if (!nested && pos - segStart <= ENVELOPE_MEMBER && this.#nonEmpty(segStart, pos)) {
          try {
            Object.assign(out, parseExact(`{${this.#text(segStart, pos)}}`));
          } catch {
            // Left to steps(), which reports invalid JSON.
          }
        }
        segStart = pos + 1;
        nested = false;
        if (kind === CLOSE) break;
      }
    }
    return out;
  }

  /**
   * Parses the message slice by slice (see the class); `sink` may take batches as they are parsed (see
   * SliceSink). Throws FramingError for invalid JSON.
   */
  *steps(sink?: SliceSink): Generator<void, unknown, void> {
    const marks = this.#marks;
    const closeOf = new Int32Array(marks.length);
    const stack: number[] = [];
    for (let k = 0; k < marks.length; k++) {
      const kind = (marks[k] as number) & 3;
      if (kind === OPEN) stack.push(k);
      else if (kind === CLOSE) {
        const o = stack.pop();
        if (o === undefined) throw new FramingError('invalid JSON in message: unbalanced brackets');
        closeOf[o] = k;
      }
    }
    if (stack.length > 0) throw new FramingError('invalid JSON in message: unbalanced brackets');
    this.#closeOf = closeOf;
    this.#sink = sink;
    try {
      return yield* this.#container(0, []);
    } catch (err) {
      // JSON.parse's errors are the message's fault; anything else (e.g. thrown by the sink) passes on.
      if (!(err instanceof SyntaxError)) throw err;
      throw new FramingError(`invalid JSON in message: ${err.message}`, { cause: err });
    }
  }

  /** The chunk holding byte `pos`. */
  #chunkAt(pos: number): number {
    const starts = this.#starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #byte(pos: number): number {
    const c = this.#chunkAt(pos);
    return (this.#chunks[c] as Buffer)[pos - (this.#starts[c] as number)] as number;
  }

  /** Bytes [from, to) decoded; a range across chunks is copied (it is at most a slice long). */
  #text(from: number, to: number): string {
    const c = this.#chunkAt(from);
    const chunk = this.#chunks[c] as Buffer;
    const base = this.#starts[c] as number;
    if (to - base <= chunk.length) return chunk.toString('utf8', from - base, to - base);
    const parts: Buffer[] = [];
    for (let i = c, at = from; at < to; i++) {
      const ch = this.#chunks[i] as Buffer;
      const b = this.#starts[i] as number;
      parts.push(ch.subarray(at - b, Math.min(ch.length, to - b)));
      at = b + ch.length;
    }
    return Buffer.concat(parts, to - from).toString('utf8');
  }

  /** The last `:` at or before `pos` and not before `min` (-1 if none). */
  #colonBefore(pos: number, min: number): number {
    for (let i = pos; i >= min; i--) if (this.#byte(i) === COLON) return i;
    return -1;
  }

  #nonEmpty(from: number, to: number): boolean {
    for (let i = from; i < to; i++) {
      const c = this.#byte(i);
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return true;
    }
    return false;
  }

  /** JSON.parse of bytes [from, to), wrapped in `open`/`close`, exact for long integers in that range. */
  #parse(open: string, from: number, to: number, close: string): unknown {
    const text = open + this.#text(from, to) + close;
    return this.#hasLong(from, to) ? parseExact(text) : JSON.parse(text);
  }

  #hasLong(from: number, to: number): boolean {
    const longs = this.#longs;
    // Binary search for the first position >= from.
    let lo = 0;
    let hi = longs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((longs[mid] as number) < from) lo = mid + 1;
      else hi = mid;
    }
    return lo < longs.length && (longs[lo] as number) < to;
  }

  /** The container opened by mark `o`: large members recursively, runs of small ones in batches. */
  *#container(o: number, path: readonly (string | number)[]): Generator<void, unknown, void> {
    const marks = this.#marks;
    const closeOf = this.#closeOf as Int32Array;
    const c = closeOf[o] as number;
    const openPos = Math.floor((marks[o] as number) / 4);
    const isObject = this.#byte(openPos) === OPEN_BRACE;
    const result: Record<string, unknown> | unknown[] = isObject ? {} : [];
    // Members: [start, end) byte ranges between the separators; child: the mark opening its value or -1.
    let segStart = openPos + 1;
    let child = -1;
    let batchFrom = -1;
    let batchTo = -1;
    // Members (array elements) seen so far, for the index in a child's path.
    let index = 0;
    const sink = this.#sink;
    const flush = (): void => {
      if (batchFrom < 0) return;
      const part = this.#parse(isObject ? '{' : '[', batchFrom, batchTo, isObject ? '}' : ']');
      batchFrom = -1;
      if (sink?.(path, part as Record<string, unknown> | unknown[])) return;
      if (isObject) {
        const src = part as Record<string, unknown>;
        for (const k in src) put(result as Record<string, unknown>, k, src[k]);
      } else {
        const src = part as unknown[];
        for (let x = 0; x < src.length; x++) (result as unknown[]).push(src[x]);
      }
    };
    for (let k = o + 1; k <= c; k++) {
      const m = marks[k] as number;
      const kind = m & 3;
      if (kind === OPEN) {
        child = k;
        k = closeOf[k] as number;
        continue;
      }
      // A separator, or the container's close: the member [segStart, pos) is complete.
      const pos = Math.floor(m / 4);
      const size = pos - segStart;
      if (size >= SLICE_TARGET && child >= 0) {
        // A large member whose value is a recorded container: parse it on its own, by its own members.
        if (batchFrom >= 0) {
          flush();
          yield;
        }
        const childPos = Math.floor((marks[child] as number) / 4);
        let key: string | undefined;
        if (isObject) {
          const colon = this.#colonBefore(childPos, segStart);
          if (colon < segStart) throw new FramingError('invalid JSON in message: member without a key');
          key = JSON.parse(this.#text(segStart, colon)) as string;
          if (typeof key !== 'string') throw new FramingError('invalid JSON in message: key is not a string');
        }
        const value = yield* this.#container(child, [...path, key ?? index]);
        if (key === undefined) (result as unknown[]).push(value);
        else put(result as Record<string, unknown>, key, value);
      } else if (kind === SEP || this.#nonEmpty(segStart, pos)) {
        if (batchFrom >= 0 && pos - batchFrom > SLICE_TARGET) {
          flush();
          yield;
        }
        if (batchFrom < 0) batchFrom = segStart;
        batchTo = pos;
      }
      if (kind === SEP || this.#nonEmpty(segStart, pos)) index++;
      segStart = pos + 1;
      child = -1;
    }
    flush();
    return result;
  }
}
