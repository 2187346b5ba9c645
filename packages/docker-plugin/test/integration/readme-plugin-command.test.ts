// Regression (issue 10): the plugin start command that the READMEs showed, `pnpm plugin -- --datapath-type
// netdev`, failed under pnpm 10 with "Unexpected argument '--datapath-type'". This runs every `pnpm plugin …`
// line of the root, the plugin's and the examples' READMEs exactly as written: each must parse (with --help
// appended), and the root README's one must bring a plugin up that answers Docker's handshake. Its endpoint,
// name and socket come from OCN_* variables, which the documented flags do not override. Needs root and the
// OVS sandbox (scripts/test.sh exports OCN_OVSDB).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { REPO_ROOT, run, uniqueName, waitFor } from '@ovs-container-network/testkit';
import t from 'tap';

const READMES = ['README.md', 'packages/docker-plugin/README.md', 'examples/README.md'];

/** The `pnpm plugin …` commands a README shows, as argument lists (`&` and trailing comments dropped). */
function documented(file: string): string[][] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  const out: string[][] = [];
  for (const m of text.matchAll(/(?:^|`)(pnpm plugin[^`\n#&]*)/gm)) {
    const args = (m[1] ?? '').trim().split(/\s+/);
    out.push(args);
  }
  return out;
}

function activate(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path: '/Plugin.Activate' }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => {
        data += c.toString();
      });
      res.on('end', () => resolve(`${res.statusCode} ${data}`));
    });
    req.on('error', reject);
    req.end();
  });
}

const all = READMES.flatMap((f) => documented(f).map((args) => ({ file: f, args })));

t.test('every README shows the plugin command, and each one parses', async (t) => {
  for (const f of READMES) t.ok(documented(f).length > 0, `${f} shows a pnpm plugin command`);
  for (const { file, args } of all) {
    const [cmd = 'pnpm', ...rest] = args;
    const r = await run(cmd, [...rest, '--help'], { cwd: REPO_ROOT, allowFail: true });
    t.equal(r.code, 0, `${file}: \`${args.join(' ')} --help\` exits 0\n${r.stderr}`);
    t.match(r.stdout, /usage: ovs-container-network/, `${file}: it reached the plugin's flag parser`);
  }
});

t.test("the root README's command brings the plugin up", async (t) => {
  const ovsdb = process.env.OCN_OVSDB;
  if (!ovsdb) throw new Error('OCN_OVSDB is not set: run through scripts/test.sh');
  const [args] = documented('README.md');
  if (!args) throw new Error('README.md shows no pnpm plugin command');
  const name = uniqueName('rp');
  const socket = `/run/docker/plugins/${name}.sock`;
  const [cmd = 'pnpm', ...rest] = args;
  const child: ChildProcess = spawn(cmd, rest, {
    cwd: REPO_ROOT,
    env: { ...process.env, OCN_OVSDB: ovsdb, OCN_NAME: name, OCN_SOCKET: socket, OCN_PREFIX: 'ocnt' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  t.teardown(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  });
  await waitFor(() => existsSync(socket) || child.exitCode !== null, 30_000, 'the plugin socket');
  t.equal(child.exitCode, null, `\`${args.join(' ')}\` keeps running\n${output}`);
  t.match(await activate(socket), /^200 .*NetworkDriver/, 'it answers Plugin.Activate');
});
