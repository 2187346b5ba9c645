#!/usr/bin/env node
// Builds the native addon (build/Release/ocn_netlink.node) with node-gyp. Runs as this package's `install`
// script, so `pnpm install` builds it on a fresh machine. Uses the node-gyp devDependency, or npm's bundled
// copy; passes --nodedir=/usr when the distribution's Node headers are there (no download needed).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(pkgDir, 'package.json'));

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
