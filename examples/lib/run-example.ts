// Runs an example program the way a user does (`tsx examples/NAME.ts …`) against the test sandbox.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, run } from '@ovs-container-network/testkit';

export const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
export const EXAMPLES = join(REPO_ROOT, 'examples');

/** The sandbox endpoint the test phase exports; examples default to the system socket otherwise. */
export function ovsdbEndpoint(): string {
  const ep = process.env.OCN_OVSDB;
  if (!ep)
    throw new Error('OCN_OVSDB is not set: run the examples tests through scripts/test.sh or export it');
  return ep;
}

export function runExample(file: string, args: readonly string[], timeoutMs = 240_000) {
  return run(TSX, [join(EXAMPLES, file), ...args], { allowFail: true, timeoutMs, cwd: REPO_ROOT });
}

/** Starts a long-running example; resolves once a stdout line matches `ready`. */
export function startExample(
  file: string,
  args: readonly string[],
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const child = spawn(TSX, [join(EXAMPLES, file), ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not print ${ready} within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, output: () => out });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before it was ready:\n${out}`));
    });
  });
}

/** SIGTERM, then wait for the exit code. */
export function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}
