// Blocking requests (link deletes) wait on threads of their own: one stuck in the kernel must neither keep
// the process from exiting (process.exit joins libuv's pool, so a pool thread stuck in recv hangs it for
// good) nor take libuv's pool threads from fs and DNS. Needs root (netlink sockets) and nothing else.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const child = fileURLToPath(new URL('../fixtures/unanswered-requests.ts', import.meta.url));

/**
 * Runs the child; resolves with its exit code (null: SIGKILLed after `killAfterMs`) and its output. Not testkit's
 * `run`: its timeout sends SIGTERM, which a process stuck in exit() can survive and then end with code 0.
 */
function runChild(
  count: number,
  killAfterMs: number,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, child, String(count)], {
      env: { ...process.env, UV_THREADPOOL_SIZE: '4' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

t.test('a request the kernel never answers does not keep the process from exiting', async (t) => {
  const r = await runChild(1, 20_000);
  t.match(r.out, /unanswered/, 'the request was still waiting in the kernel');
  t.equal(r.code, 0, `process.exit(0) ended the process (stderr: ${r.err.slice(-500)})`);
});

t.test('8 unanswered requests leave the 4 pool threads to fs', async (t) => {
  const r = await runChild(8, 20_000);
  t.match(r.out, /unanswered/, 'all 8 were still waiting');
  t.match(r.out, /fs ok/, 'a file read completed while they waited');
  t.equal(r.code, 0, `and the process exited (stderr: ${r.err.slice(-500)})`);
});
