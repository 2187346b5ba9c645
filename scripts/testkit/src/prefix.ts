// Interface-name prefixes for plugins that tests start on the shared OVS sandbox and host namespace. A plugin's
// prefix is its namespace: its veths, gateway ports, policy rules and nf_tables table are all named by it, and
// tests check "nothing of ours is left" by it. The plugin allows 6 characters, so a prefix is `ocntz` plus one
// of 36: drawn at random, two plugins running at once in two test lanes shared one in about 1 in 36 starts
// (seen in CI: one test counted the other lane's gateway port as its own leftover). So a prefix is claimed
// machine-wide: a file /run/ocnt-prefixes/<c> made with O_EXCL holds the holder's pid. It is held until that
// process exits (a claim whose pid is gone is taken over), and a process reuses its own claims once the
// plugin that had one has stopped (`releaseTestPrefix`), so one file starting many plugins holds few.
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where claims live; OCNT_PREFIX_DIR moves them (the claim test uses a folder of its own). */
const DIR = process.env.OCNT_PREFIX_DIR ?? '/run/ocnt-prefixes';
const CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const HEAD = 'ocntz';
/** This process's claims: character → in use by a running plugin. */
const mine = new Map<string, boolean>();
let exitHook = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryClaim(c: string): boolean {
  const path = join(DIR, c);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(path, 'utf8'));
    } catch {
      continue; // released between our write and read: try again
    }
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) return false;
    try {
      unlinkSync(path); // a claim whose holder is gone (killed, or a file half written)
    } catch {}
  }
  return false;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * A prefix `ocntz<c>` no other live process on this machine holds. Waits (up to 120 s, polling) when all 36
 * are held, and throws then.
 */
export function claimTestPrefix(): string {
  for (const [c, inUse] of mine) {
    if (!inUse) {
      mine.set(c, true);
      return HEAD + c;
    }
  }
  mkdirSync(DIR, { recursive: true });
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of mine.keys()) {
        try {
          unlinkSync(join(DIR, c));
        } catch {}
      }
    });
  }
  const deadline = Date.now() + 120_000;
  for (;;) {
    const order = [...CHARS].sort(() => Math.random() - 0.5);
    for (const c of order) {
      if (mine.has(c)) continue;
      if (tryClaim(c)) {
        mine.set(c, true);
        return HEAD + c;
      }
    }
    if (Date.now() > deadline)
      throw new Error(`claimTestPrefix: all 36 prefixes ${HEAD}? are held by live processes (${DIR})`);
    sleepSync(250);
  }
}

/** The plugin with this prefix has stopped: this process may hand the prefix to its next plugin. */
export function releaseTestPrefix(prefix: string): void {
  const c = prefix.slice(HEAD.length);
  if (prefix.startsWith(HEAD) && mine.has(c)) mine.set(c, false);
}
