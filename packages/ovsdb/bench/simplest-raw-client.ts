// The baseline of the add-port benchmarks (add-port.ts, typed-loop.ts): a raw OVSDB client written the
// simplest way, as an independent harness would write it.

import { connect as netConnect, type Socket } from 'node:net';

/**
 * The simplest raw client: one net socket, JSON.stringify out, and in a string buffer scanned from its
 * start on every chunk, counting brace depth outside strings; each complete object is JSON.parse'd and its
 * id looked up. No coalescing, no options.
 */
export class SimplestRawClient {
  private buf = '';
  private nextId = 0;
  private readonly pending = new Map<number, (m: { result: unknown; error: unknown }) => void>();
  private constructor(
    private readonly sock: Socket,
    private readonly db: string,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let depth = 0;
      let start = 0;
      let inStr = false;
      let esc = false;
      for (let i = 0; i < this.buf.length; i++) {
        const ch = this.buf[i];
        if (inStr) {
          if (esc) esc = false;
          else if (ch === '\\') esc = true;
          else if (ch === '"') inStr = false;
        } else if (ch === '"') inStr = true;
        else if (ch === '{') depth++;
        else if (ch === '}' && --depth === 0) {
          const msg = JSON.parse(this.buf.slice(start, i + 1));
          start = i + 1;
          if (msg.method === 'echo')
            sock.write(JSON.stringify({ id: msg.id, result: msg.params, error: null }));
          const cb = this.pending.get(msg.id);
          if (cb) {
            this.pending.delete(msg.id);
            cb(msg);
          }
        }
      }
      this.buf = this.buf.slice(start);
    });
  }
  static open(path: string, db: string): Promise<SimplestRawClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect(path, () => resolve(new SimplestRawClient(s, db)));
      s.once('error', reject);
    });
  }
  transact(ops: unknown[]): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => (m.error == null ? resolve(m.result) : reject(m.error)));
      this.sock.write(JSON.stringify({ method: 'transact', params: [this.db, ...ops], id }));
    });
  }
  close(): void {
    this.sock.end();
  }
}
