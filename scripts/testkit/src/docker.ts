import { join } from 'node:path';
import { type RunResult, run } from './exec.js';
import { DOCKER, SCRIPTS } from './paths.js';

/** Starts dockerd when none answers and makes sure the local/busybox image exists. */
export async function ensureDocker(): Promise<void> {
  await run(join(SCRIPTS, 'ensure-docker.sh'), [], { timeoutMs: 120_000 });
}

/** Debian's docker client (matching dockerd 20.10). Rejects on a non-zero exit unless `allowFail`. */
export function docker(args: readonly string[], allowFail = false): Promise<RunResult> {
  return run(DOCKER, args, { allowFail, timeoutMs: 180_000 });
}

export const BUSYBOX_IMAGE = 'local/busybox';
