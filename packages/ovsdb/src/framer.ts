// Splits the OVSDB byte stream into JSON values. Pure: no I/O.
//
// ovsdb-server writes JSON-RPC messages back to back with no delimiter (RFC 7047 §4: "JSON-RPC over a
// stream"; OVS lib/jsonrpc.c feeds bytes to an incremental JSON parser). A message is a JSON object, so a
// value ends when the bracket depth returns to zero outside a string. We scan bytes, never characters:
// every structural byte ({ } [ ] " \) is ASCII, and no byte of a multibyte UTF-8 sequence is below 0x80,
// so a code point split across chunks cannot be mistaken for structure. Each complete value is decoded
// from UTF-8 and parsed exactly once.

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

/** Default bound on one message: large enough for an OVN Southbound initial dump, small enough to fail. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export interface FramerOptions {
  /** Largest accepted value in bytes; a longer one is a FramingError. Default 256 MiB. */
  maxMessageBytes?: number;
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

  constructor(opts: FramerOptions = {}) {
    const max = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isSafeInteger(max) || max < 2) {
      throw new FramingError(`maxMessageBytes: ${String(max)} is not allowed; expected an integer >= 2`);
    }
    this.maxMessageBytes = max;
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
          } else if (c !== SPACE && c !== LF && c !== CR && c !== TAB) {
            throw new FramingError(
              `unexpected byte 0x${c.toString(16).padStart(2, '0')} between JSON-RPC messages; expected '{' or whitespace`,
            );
          }
          i++;
          continue;
        }
        if (c === QUOTE) {
          inString = true;
        } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          depth++;
        } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          depth--;
          if (depth === 0) {
            out.push(this.complete(buf, start, i + 1));
            start = -1;
          }
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
  }

  /** Decodes bytes [start, end) of `buf` (plus any earlier partial chunks) as one JSON value. */
  private complete(buf: Buffer, start: number, end: number): unknown {
    let text: string;
    if (this.partial.length === 0) {
      if (end - start > this.maxMessageBytes) {
        throw new FramingError(`message exceeds maxMessageBytes (${this.maxMessageBytes} bytes)`);
      }
      text = buf.toString('utf8', start, end);
    } else {
      const total = this.partialBytes + end;
      if (total > this.maxMessageBytes) {
        throw new FramingError(`message exceeds maxMessageBytes (${this.maxMessageBytes} bytes)`);
      }
      this.partial.push(buf.subarray(0, end));
      text = Buffer.concat(this.partial, total).toString('utf8');
      this.partial = [];
      this.partialBytes = 0;
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new FramingError(`invalid JSON in message: ${(err as Error).message}`, { cause: err });
    }
  }
}
