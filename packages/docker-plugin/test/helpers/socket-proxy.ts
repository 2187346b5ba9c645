// A unix-socket proxy between Docker and the plugin, for crash tests: it tells whether a call was in flight
// (request bytes forwarded, no reply bytes back yet) at the moment the plugin died, which the plugin itself
// cannot report once SIGKILLed. A connection whose last traffic went client → plugin awaits a reply. When the
// plugin's side closes, such a connection counts as a call cut off, and Docker's side is closed too (Docker
// sees EOF, as it would without the proxy, and resends: moby pkg/plugins/client.go). While the plugin is
// down, new connections are closed at once (Docker sees the same failure and retries).
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

export class SocketProxy {
  readonly listenPath: string;
  readonly upstreamPath: string;
  #server: Server | undefined;
  readonly #awaiting = new Set<Socket>();
  readonly #clients = new Set<Socket>();
  /** Calls cut off by an upstream close since the last `takeCut()`. */
  #cut = 0;
  /** Every connection the proxy handled (for the report). */
  connections = 0;
  #armed: { fn: () => void; delayMs: number } | undefined;

  constructor(listenPath: string, upstreamPath: string) {
    this.listenPath = listenPath;
    this.upstreamPath = upstreamPath;
  }

  async start(): Promise<void> {
    rmSync(this.listenPath, { force: true });
    this.#server = createServer((client) => this.#handle(client));
    await new Promise<void>((resolve, reject) => {
      this.#server?.once('error', reject);
      this.#server?.listen(this.listenPath, () => resolve());
    });
  }

  /** Connections that forwarded a request and have had no reply byte yet. */
  inFlight(): number {
    return this.#awaiting.size;
  }

  /**
   * Calls `fn` (e.g. a SIGKILL of the plugin) `delayMs` after the next request is forwarded, at a moment a
   * call is still in flight; re-arms itself while none is.
   */
  armWhenInFlight(fn: () => void, delayMs: number): void {
    this.#armed = { fn, delayMs };
  }

  #fire(): void {
    const armed = this.#armed;
    if (!armed) return;
    this.#armed = undefined;
    setTimeout(() => {
      if (this.inFlight() > 0) armed.fn();
      else this.#armed = armed;
    }, armed.delayMs);
  }

  /** Calls that were in flight when the plugin's side closed, since the last call of this method. */
  takeCut(): number {
    const n = this.#cut;
    this.#cut = 0;
    return n;
  }

  #handle(client: Socket): void {
    this.connections++;
    this.#clients.add(client);
    const upstream = connect(this.upstreamPath);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (this.#awaiting.delete(client)) this.#cut++;
      this.#clients.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d) => {
      this.#awaiting.add(client);
      upstream.write(d);
      this.#fire();
    });
    upstream.on('data', (d) => {
      this.#awaiting.delete(client);
      client.write(d);
    });
    // Docker closing its end first is not a cut call: forget it before tearing down.
    client.on('close', () => {
      this.#awaiting.delete(client);
      finish();
    });
    client.on('error', () => undefined);
    upstream.on('close', finish);
    upstream.on('error', () => undefined);
  }

  async stop(): Promise<void> {
    for (const c of this.#clients) c.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    rmSync(this.listenPath, { force: true });
  }
}
