// Shared by the example programs: flags, the OVSDB endpoint, and running a check tool. The examples spawn
// `ip`/`ping`/`nc` only to SHOW that traffic flows; the wiring itself never spawns anything.
import { execFile } from 'node:child_process';
import { parseArgs } from 'node:util';

export const DEFAULT_OVSDB = 'unix:/var/run/openvswitch/db.sock';

type FlagSpec = Record<string, { type: 'string' | 'boolean'; default?: string | boolean; short?: string }>;

/**
 * Parses `--flag value` options; `--ovsdb` is always accepted and defaults to $OCN_OVSDB, then to the
 * standard OVS socket. `--help` prints the usage and exits.
 */
export function flags<T extends FlagSpec>(
  usage: string,
  spec: T,
): { ovsdb: string } & { [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : string } {
  const { values } = parseArgs({
    options: { ...spec, ovsdb: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  }) as { values: Record<string, string | boolean | undefined> };
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const ovsdb = (values.ovsdb as string | undefined) ?? process.env.OCN_OVSDB ?? DEFAULT_OVSDB;
  return { ...values, ovsdb } as never;
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool (no shell) and collects its output; never rejects. */
export function sh(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Runs the async main function; prints an error with its cause chain and exits 1 on failure. */
export function main(fn: () => Promise<void>): void {
  fn().then(
    () => process.exit(0),
    (err: unknown) => {
      let cur: unknown = err;
      let prefix = 'error';
      while (cur !== undefined && cur !== null) {
        const e = cur as { message?: unknown; code?: unknown };
        console.error(`${prefix}: ${String(e.message ?? cur)}${e.code ? ` [${String(e.code)}]` : ''}`);
        cur = cur instanceof Error ? cur.cause : undefined;
        prefix = '  caused by';
      }
      process.exit(1);
    },
  );
}
