#!/usr/bin/env bash
# The TypeScript snippets of the root README must compile against the built packages: each ```ts block is
# written into examples/ (where the workspace packages resolve) and type-checked with the tests' settings.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=examples/.readme-snippets
rm -rf "$dir"; mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
awk -v dir="$dir" '
  /^```ts$/ { n++; file = sprintf("%s/snippet-%d.ts", dir, n); inblock = 1; next }
  /^```$/ && inblock { print "export {};" > file; close(file); inblock = 0; next }
  inblock { print > file }
' README.md
cat >"$dir/tsconfig.json" <<'JSON'
{ "extends": "../../tsconfig.tests.json", "include": ["*.ts"] }
JSON
pnpm exec tsc -p "$dir/tsconfig.json" --noEmit
echo "README snippets: $(ls "$dir"/*.ts | wc -l) type-checked"
