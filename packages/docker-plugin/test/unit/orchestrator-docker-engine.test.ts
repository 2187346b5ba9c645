// The Engine API client against an in-process HTTP server on a unix socket that answers like dockerd.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DockerApiError, OrchestratorArgumentError, TargetGoneError } from '../../src/core/errors.js';
import { DockerEngine } from '../../src/orchestrator/docker-engine.js';

const ID = 'a'.repeat(64);
const seen: { method: string | undefined; url: string | undefined; host: string | undefined }[] = [];

function reply(req: IncomingMessage): { status: number; body: string } {
  seen.push({ method: req.method, url: req.url, host: req.headers.host });
  switch (req.url) {
    case '/containers/web/json':
      return {
        status: 200,
        body: JSON.stringify({
          Id: ID,
          Name: '/web',
          State: { Running: true, Pid: 1234, Status: 'running' },
        }),
      };
    case '/containers/stopped/json':
      return {
        status: 200,
        body: JSON.stringify({
          Id: ID,
          Name: '/stopped',
          State: { Running: false, Pid: 0, Status: 'exited' },
        }),
      };
    case '/containers/garbled/json':
      return { status: 200, body: 'not json' };
    case '/containers/broken/json':
      return { status: 500, body: JSON.stringify({ message: 'something broke' }) };
    default:
      return { status: 404, body: JSON.stringify({ message: 'No such container' }) };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'ocnt-docker-'));
const socketPath = join(dir, 'docker.sock');
let server: Server;

t.before(async () => {
  server = createServer((req, res) => {
    const { status, body } = reply(req);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
});
t.teardown(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

t.test('inspect resolves a running container to its pid and namespace', async (t) => {
  const engine = new DockerEngine({ socketPath });
  const info = await engine.inspect('web');
  t.same(info, {
    id: ID,
    name: 'web',
    running: true,
    pid: 1234,
    netnsPath: '/proc/1234/ns/net',
    status: 'running',
  });
  const last = seen.at(-1);
  t.equal(last?.method, 'GET');
  t.equal(last?.url, '/containers/web/json');
  t.ok(last?.host, 'sends a Host header');
  t.same(await engine.resolveNetns('web'), info);
});

t.test('a missing or stopped container is a TargetGoneError', async (t) => {
  const engine = new DockerEngine({ socketPath });
  await t.rejects(engine.inspect('nope'), { statusCode: 404, message: /no such container: nope/ });
  await t.rejects(engine.resolveNetns('nope'), TargetGoneError);
  await t.rejects(engine.resolveNetns('nope'), { code: 'PLUGIN_ERR_NOT_FOUND', message: /does not exist/ });
  await t.rejects(engine.resolveNetns('stopped'), { message: /not running \(status exited\)/ });
});

t.test('daemon errors and bad replies are DockerApiErrors with the daemon message', async (t) => {
  const engine = new DockerEngine({ socketPath });
  await t.rejects(engine.inspect('broken'), { statusCode: 500, message: /HTTP 500 something broke/ });
  await t.rejects(engine.inspect('garbled'), { message: /not JSON/ });
  const gone = new DockerEngine({ socketPath: join(dir, 'missing.sock') });
  const err = await gone.inspect('web').catch((e: unknown) => e);
  t.ok(err instanceof DockerApiError);
  t.match((err as Error).message, /missing\.sock.*ENOENT/);
});

t.test('bad references and options are refused before any request', async (t) => {
  const engine = new DockerEngine({ socketPath });
  const before = seen.length;
  await t.rejects(engine.inspect('../etc'), OrchestratorArgumentError);
  await t.rejects(engine.inspect(''), { code: 'PLUGIN_ERR_INVALID_OPTION', message: /container/ });
  t.equal(seen.length, before, 'nothing was sent');
  t.throws(() => new DockerEngine({ socketPath: 'relative.sock' }), /absolute path/);
  t.throws(() => new DockerEngine({ socketPath, timeoutMs: 0 }), /positive integer/);
});

// Regression: an Orchestrator container named `/name` (as Docker shows names) failed with "HTTP 301" and an
// empty message: the leading slash was sent encoded (%2F). Docker strips it; so do we.
t.test('a container name with a leading slash is looked up as Docker does', async (t) => {
  const d = new DockerEngine({ socketPath });
  const info = await d.inspect('/web');
  t.equal(info.name, 'web');
  t.equal(info.pid, 1234);
  t.equal(seen.at(-1)?.url, '/containers/web/json');
});
