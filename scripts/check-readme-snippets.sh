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

# The shell lines the READMEs tell a newcomer to type must work as typed (issue 10: a trial on a fresh
# root-only machine hit each of these): no `sudo` at the start of a command (CI-like machines have none; the
# READMEs say "as root" instead), no global `tsx` (it is a devDependency: `pnpm exec tsx`), no image but
# `local/busybox` (there is no registry to pull from), every scripts/… path exists, and no run directory
# other than the ones scripts/ovs-sandbox.sh and demo.sh really use.
bad=0
readmes=(README.md packages/*/README.md examples/README.md)
complain() { echo "README check: $1" >&2; bad=1; }
while IFS= read -r hit; do complain "a command starts with sudo: $hit"; done < <(grep -nE '^\s*sudo |`sudo [a-z]' "${readmes[@]}" || true)
while IFS= read -r hit; do complain "tsx without pnpm exec: $hit"; done < <(grep -nE '(^|[`\s])tsx examples/' "${readmes[@]}" | grep -v 'pnpm exec tsx' || true)
while IFS= read -r hit; do complain "an image that does not exist here: $hit"; done < <(grep -nE 'docker run [^`]*busybox' "${readmes[@]}" | grep -v 'local/busybox' || true)
while IFS= read -r hit; do complain "a run directory nothing creates: $hit"; done < <(grep -nE '/run/ocn-dev\b' "${readmes[@]}" docker/config.json || true)
for path in $(grep -ohE '\bscripts/[A-Za-z0-9_.-]+\.sh' "${readmes[@]}" | sort -u); do
  [[ -f $path ]] || complain "$path is shown but does not exist"
done
(( bad )) && exit 1
echo "README commands: checked"
