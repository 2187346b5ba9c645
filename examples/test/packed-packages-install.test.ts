// The packages as a consumer gets them (issue 10): `pnpm pack` tarballs installed into a fresh project
// outside this workspace, once with npm and once with pnpm (which skips dependencies' install scripts), then
// a small program that uses each package through its public `exports` (fixtures/consumer.mjs) and both bins.
// It fails when a package's exports, bin, files or native addon step is broken. Needs root (a namespace) and
// the npm registry (the packages' third-party dependencies); starts a bare ovsdb-server of its own.
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, run, startOvsdbServer, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';

const PACKAGES = ['ovsdb', 'netlink', 'docker-plugin', 'ovn', 'dhcp'] as const;
const CONSUMER = join(REPO_ROOT, 'examples/test/fixtures/consumer.mjs');
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

const work = mkdtempSync('/tmp/ocnt-pack-');
t.teardown(async () => {
  rmSync(work, { recursive: true, force: true });
});

// Pack each package as it would be published (workspace:* rewritten to versions, prepack run).
const tarballs: Record<string, string> = {};
for (const p of PACKAGES) {
  const { stdout } = await run('pnpm', ['pack', '--pack-destination', work], {
    cwd: join(REPO_ROOT, 'packages', p),
    timeoutMs: 120_000,
  });
  const file = stdout.trim().split('\n').pop()?.trim() ?? '';
  tarballs[p] = file.startsWith('/') ? file : join(work, file);
}

t.test('the tarballs hold what consumers need', async (t) => {
  for (const p of PACKAGES)
    t.ok(readdirSync(work).includes(tarballs[p]?.split('/').pop() ?? ''), `${p} packed`);
  const list = async (p: string) => (await run('tar', ['-tzf', tarballs[p] ?? ''])).stdout;
  t.match(
    await list('netlink'),
    `package/prebuilds/${process.platform}-${process.arch}/ocn_netlink.node`,
    'the prebuilt addon ships',
  );
  t.match(await list('ovsdb'), 'package/dist/bin/ovsdb-codegen.js');
  t.match(await list('docker-plugin'), 'package/dist/bin/ovs-container-network.js');
  const manifest = JSON.parse(
    (await run('tar', ['-xzOf', tarballs['docker-plugin'] ?? '', 'package/package.json'])).stdout,
  ) as { dependencies: Record<string, string> };
  t.notMatch(JSON.stringify(manifest.dependencies), 'workspace:', 'no workspace: ranges left');
  t.notOk(
    readdirSync(join(REPO_ROOT, 'packages/netlink')).includes('prebuilds'),
    'postpack removed prebuilds/ from the checkout',
  );
});

/** A fresh project holding the consumer program and dependencies on the tarballs. */
function project(name: string, manager: 'npm' | 'pnpm'): string {
  const dir = join(work, name);
  mkdirSync(dir);
  const deps = Object.fromEntries(
    PACKAGES.map((p) => [`@ovs-container-network/${p}`, `file:${tarballs[p]}`]),
  );
  const pkg: Record<string, unknown> = { name, private: true, type: 'module', dependencies: deps };
  // The packages depend on each other by version (0.1.0), which no registry has: point those at the tarballs
  // too. npm dedupes them against the top-level tarballs by itself; pnpm needs its overrides.
  if (manager === 'pnpm') pkg.pnpm = { overrides: deps };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  copyFileSync(CONSUMER, join(dir, 'consumer.mjs'));
  return dir;
}

for (const manager of ['npm', 'pnpm'] as const) {
  t.test(`installed with ${manager}: each package, both bins`, async (t) => {
    const dir = project(`consumer-${manager}`, manager);
    const install =
      manager === 'npm'
        ? await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
            cwd: dir,
            timeoutMs: 300_000,
            allowFail: true,
          })
        : await run('pnpm', ['install', '--reporter=append-only'], {
            cwd: dir,
            timeoutMs: 300_000,
            allowFail: true,
          });
    t.equal(install.code, 0, `${manager} install exits 0\n${install.stdout}\n${install.stderr}`);
    if (install.code !== 0) return;

    // Servers of its own: the program inserts the one Open_vSwitch row a database may hold.
    const server = await startOvsdbServer();
    const nbServer = await startOvsdbServer({ schema: '/usr/share/ovn/ovn-nb.ovsschema' });
    t.teardown(async () => {
      await server.stop();
      await nbServer.stop();
    });
    const ns = uniqueName('pk');
    const r = await run('node', ['consumer.mjs', server.unixEndpoint, ns, nbServer.unixEndpoint], {
      cwd: dir,
      allowFail: true,
      timeoutMs: 60_000,
    });
    t.equal(r.code, 0, `the consumer program exits 0\n${r.stdout}\n${r.stderr}`);
    t.match(r.stdout, /ovsdb: databases .*Open_vSwitch/, 'ovsdb: connect and list');
    t.match(r.stdout, /ovsdb: inserted 2 rows/, 'ovsdb: a typed transaction');
    t.match(r.stdout, new RegExp(`netlink: links in ${ns}: lo`), 'netlink: the addon works in a namespace');
    t.match(r.stdout, /core: attachments 0/, 'docker-plugin/core: the Orchestrator');
    t.match(
      r.stdout,
      /plugin: Plugin.Activate 200 .*NetworkDriver/,
      'docker-plugin: the plugin answers Docker',
    );

    const out = join(dir, 'ovs-model.ts');
    const gen = await run(join(dir, 'node_modules/.bin/ovsdb-codegen'), [SCHEMA, '-o', out], {
      cwd: dir,
      allowFail: true,
    });
    t.equal(gen.code, 0, `bin ovsdb-codegen exits 0\n${gen.stderr}`);
    if (gen.code === 0) t.match(readFileSync(out, 'utf8'), /export const Bridge/, 'it generated models');
    const help = await run(join(dir, 'node_modules/.bin/ovs-container-network'), ['--help'], {
      cwd: dir,
      allowFail: true,
    });
    t.equal(help.code, 0, `bin ovs-container-network --help exits 0\n${help.stderr}`);
    t.match(help.stdout, /usage: ovs-container-network/);
  });
}
