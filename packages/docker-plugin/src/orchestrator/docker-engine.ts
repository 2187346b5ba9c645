// A minimal Docker Engine API client over the daemon's unix socket: only what attaching needs (resolve a
// container to the pid of its init process). No CLI: `GET /containers/{id}/json` answers with
// `{Id, Name, State: {Running, Pid, Status}}` (Docker Engine API, "ContainerInspect").
import { request } from 'node:http';
import { DockerApiError, OrchestratorArgumentError, TargetGoneError } from '../core/errors.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export interface DockerEngineOptions {
  /** The daemon's unix socket; default /var/run/docker.sock. */
  socketPath?: string;
  /** Per-request timeout in milliseconds; default 10 000. */
  timeoutMs?: number;
}

export interface ContainerInfo {
  /** The full 64-hex container id. */
  id: string;
  /** The name without Docker's leading '/'. */
  name: string;
  running: boolean;
  /** The pid of the container's init process in the host's pid namespace (0 when not running). */
  pid: number;
  /** `/proc/<pid>/ns/net`, the container's network namespace. */
  netnsPath: string;
  status: string;
}

interface InspectReply {
  Id?: unknown;
  Name?: unknown;
  State?: { Running?: unknown; Pid?: unknown; Status?: unknown };
}

// Docker accepts a full id, a unique id prefix or a name ([a-zA-Z0-9][a-zA-Z0-9_.-]*, optionally with '/').
const CONTAINER_REF = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

export class DockerEngine {
  readonly socketPath: string;
  readonly timeoutMs: number;

  constructor(opts: DockerEngineOptions = {}) {
    this.socketPath = opts.socketPath ?? DEFAULT_DOCKER_SOCKET;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    if (!this.socketPath.startsWith('/'))
      throw new OrchestratorArgumentError('docker socketPath', opts.socketPath, 'an absolute path');
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs <= 0)
      throw new OrchestratorArgumentError('docker timeoutMs', opts.timeoutMs, 'a positive integer');
  }

  /** Inspects a container by id, id prefix or name. Throws DockerApiError (statusCode 404 for a missing container). */
  async inspect(ref: string): Promise<ContainerInfo> {
    if (typeof ref !== 'string' || !CONTAINER_REF.test(ref))
      throw new OrchestratorArgumentError(
        'container',
        ref,
        'a Docker container id, id prefix or name: letters, digits, _ . -, at most 255 characters',
      );
    // Docker names carry a leading '/' (its API shows "/name"); the Engine API takes the bare name, and an
    // encoded '/' (%2F) in the path is answered with a 301 redirect and an empty body.
    const bare = ref.replace(/^\//, '');
    const { status, body } = await this.call('GET', `/containers/${encodeURIComponent(bare)}/json`);
    if (status === 404) throw new DockerApiError(`no such container: ${ref}`, 404);
    if (status !== 200)
      throw new DockerApiError(
        `inspecting container ${ref}: HTTP ${status} ${message(body) || '(no message from the daemon)'}`,
        status,
      );
    const c = parse<InspectReply>(body, `inspect ${ref}`);
    const id = typeof c.Id === 'string' ? c.Id : '';
    const pid = typeof c.State?.Pid === 'number' ? c.State.Pid : 0;
    return {
      id,
      name: typeof c.Name === 'string' ? c.Name.replace(/^\//, '') : '',
      running: c.State?.Running === true,
      pid,
      netnsPath: `/proc/${pid}/ns/net`,
      status: typeof c.State?.Status === 'string' ? c.State.Status : 'unknown',
    };
  }

  /** Resolves a running container to its network namespace; a stopped or missing one is a TargetGoneError. */
  async resolveNetns(ref: string): Promise<ContainerInfo> {
    let info: ContainerInfo;
    try {
      info = await this.inspect(ref);
    } catch (err) {
      if (err instanceof DockerApiError && err.statusCode === 404)
        throw new TargetGoneError(`container ${ref} does not exist`, { cause: err });
      throw err;
    }
    if (!info.running || info.pid <= 0)
      throw new TargetGoneError(`container ${ref} is not running (status ${info.status})`);
    return info;
  }

  /** One HTTP request on the unix socket; resolves with the status and the raw body. */
  call(method: string, path: string, payload?: unknown): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const data = payload === undefined ? undefined : JSON.stringify(payload);
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          // The host header is required by HTTP/1.1; the daemon ignores its value.
          headers: {
            host: 'docker',
            ...(data === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }),
          },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', (err) =>
            reject(
              new DockerApiError(`reading reply of ${method} ${path}: ${err.message}`, undefined, {
                cause: err,
              }),
            ),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no reply within ${this.timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(
          new DockerApiError(
            `Docker Engine API at ${this.socketPath}: ${method} ${path}: ${err.message}`,
            undefined,
            { cause: err },
          ),
        ),
      );
      req.end(data);
    });
  }
}

function parse<T>(body: string, what: string): T {
  try {
    return JSON.parse(body) as T;
  } catch (err) {
    throw new DockerApiError(`${what}: the daemon's reply is not JSON: ${body.slice(0, 200)}`, undefined, {
      cause: err,
    });
  }
}

/** The daemon's error replies are `{"message": "..."}`. */
function message(body: string): string {
  try {
    const m = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON: show the raw text
  }
  return body.trim().slice(0, 200);
}
