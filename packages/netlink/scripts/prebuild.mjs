#!/usr/bin/env node
// `prepack`: copies the addon built here (build/Release/ocn_netlink.node, N-API, so one binary serves every
// Node ≥ 20 on this platform and architecture) to prebuilds/<platform>-<arch>/, which the tarball ships.
// Consumers then need no compiler and no install script. Fails when the addon was not built.
// `postpack` (with --clean) removes prebuilds/ again, so that a checkout never loads a stale copy.
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.argv.includes('--clean')) {
  rmSync(join(pkgDir, 'prebuilds'), { recursive: true, force: true });
  process.exit(0);
}
const built = join(pkgDir, 'build', 'Release', 'ocn_netlink.node');
if (!existsSync(built)) {
  console.error(`netlink prepack: ${built} is missing; run \`pnpm run build:native\` first`);
  process.exit(1);
}
const dir = join(pkgDir, 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(dir, { recursive: true });
copyFileSync(built, join(dir, 'ocn_netlink.node'));
console.error(`netlink prepack: ${join(dir, 'ocn_netlink.node')}`);
