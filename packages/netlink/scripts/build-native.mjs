#!/usr/bin/env node
// Makes the native addon available. Runs as this package's `install` script:
// - in a published tarball that ships prebuilds/<platform>-<arch>/ocn_netlink.node, and that binary loads
//   here, there is nothing to build (the same happens when pnpm skips the script: the loader finds it);
// - otherwise (this repository, or a platform without a prebuilt binary) it builds build/Release/ocn_netlink.node
//   with node-gyp: the node-gyp devDependency, or npm's bundled copy; with --nodedir=/usr when the
//   distribution's Node headers are there (no download needed).
// `--force` (the package's build:native script) always builds.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(pkgDir, 'package.json'));
const force = process.argv.includes('--force');

const prebuilt = join(pkgDir, 'prebuilds', `${process.platform}-${process.arch}`, 'ocn_netlink.node');
if (!force && existsSync(prebuilt)) {
  try {
    require(prebuilt);
    process.exit(0);
  } catch (err) {
    console.error(
      `netlink: the prebuilt ${prebuilt} does not load here (${err.message}); building from source`,
    );
  }
}

function findNodeGyp() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {}
  const npmBundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules');
  const candidate = join(npmBundled, 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(candidate)) return candidate;
  return undefined;
}

const gyp = findNodeGyp();
if (gyp === undefined) {
  console.error('netlink: node-gyp not found (install the devDependencies or npm) — cannot build the addon');
  process.exit(1);
}
const args = [gyp, 'rebuild'];
if (existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const res = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: 'inherit' });
process.exit(res.status ?? 1);
