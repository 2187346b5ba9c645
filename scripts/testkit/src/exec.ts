import { execFile } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  /** Resolve instead of rejecting when the command exits non-zero. */
  allowFail?: boolean;
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  cwd?: string;
}

/** Runs a command (no shell) and collects its output. Tests use real tools to check results. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        const res = { stdout: String(stdout), stderr: String(stderr), code };
        if (err && !opts.allowFail) {
          reject(
            new Error(`${cmd} ${args.join(' ')} exited ${code}: ${String(stderr).trim() || err.message}`, {
              cause: err,
            }),
          );
        } else resolve(res);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** `ip -json …` parsed; `netns` runs it inside a named namespace. */
export async function ipJson<T = unknown>(args: readonly string[], netns?: string): Promise<T> {
  const full = netns === undefined ? ['-json', ...args] : ['-json', '-n', netns, ...args];
  const { stdout } = await run('ip', full);
  return (stdout.trim() === '' ? [] : JSON.parse(stdout)) as T;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes; returns the value or throws. */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last });
    await sleep(50);
  }
}
