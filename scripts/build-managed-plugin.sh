#!/usr/bin/env bash
# Builds the managed (v2) Docker plugin from what is on this machine — the node binary and its shared
# libraries, the built workspace with production node_modules (pnpm deploy), busybox — then
# `docker plugin create` and, with --enable, `docker plugin enable`. The driver registers as NAME:latest.
#
#   scripts/build-managed-plugin.sh [NAME] [--enable] [--offline] [--set KEY=VALUE]...
#     NAME       plugin name (default ovs-container-network); users then run docker network create -d NAME:latest
#     --enable   docker plugin enable after creating it
#     --offline  resolve the production dependencies from pnpm's store and metadata cache only (no registry);
#                needs a machine where `pnpm install` already ran with a warm cache. The default asks the
#                registry for metadata, so it works on a fresh machine too.
#     --set      passed to `docker plugin set` before enabling, e.g. --set ovs-rundir.source=/run/ocn-sandbox
#                --set OCN_DATAPATH_TYPE=netdev
#   scripts/build-managed-plugin.sh --remove NAME     disable and remove the plugin
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER=/usr/bin/docker
name=ovs-container-network; enable=0; sets=(); remove=0; offline=()
while (( $# )); do
  case $1 in
    --enable) enable=1 ;;
    --set) sets+=("$2"); shift ;;
    --remove) remove=1 ;;
    --offline) offline=(--offline) ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "build-managed-plugin: unknown flag $1 (see --help)" >&2; exit 2 ;;
    *) name=$1 ;;
  esac
  shift
done
if (( remove )); then
  "$DOCKER" plugin disable -f "$name" >/dev/null 2>&1 || true
  "$DOCKER" plugin rm -f "$name" >/dev/null 2>&1 || true
  exit 0
fi

# Every step says what failed: its output is kept and printed when it fails, hidden when it works.
step() {
  local what=$1; shift
  local out
  if ! out=$("$@" 2>&1); then
    printf 'build-managed-plugin: %s failed: %s\n%s\n' "$what" "$*" "$out" >&2
    exit 1
  fi
}

[[ -f packages/docker-plugin/dist/bin/ovs-container-network.js ]] || step 'the workspace build' pnpm run build
native=packages/netlink/build/Release/ocn_netlink.node
[[ -f $native ]] || { echo "build-managed-plugin: $native is missing (run scripts/setup.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/ocn-plugin-XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{usr/local/bin,opt,bin,etc,tmp,proc,sys,dev,run/docker/plugins,var/run/openvswitch}

# node and every shared library it loads (paths as ldd prints them), plus the dynamic loader.
node_bin=$(readlink -f "$(command -v node)")
cp "$node_bin" "$root/usr/local/bin/node"
for lib in $(ldd "$node_bin" | grep -oE '/[^ ]+\.so[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

# The package with production dependencies only (workspace packages copied, not linked).
# --legacy: pnpm 10's default deploy needs inject-workspace-packages, which would copy the workspace packages
# into each other for development too. Without --offline, pnpm fetches the metadata it lacks from the registry
# (a fresh machine's metadata cache is empty: `pnpm install --frozen-lockfile` never fills it).
step 'pnpm deploy of the plugin' \
  pnpm --filter @ovs-container-network/docker-plugin deploy --prod --legacy "${offline[@]}" "$work/deploy"
mv "$work/deploy" "$root/opt/ocn"
nl=$root/opt/ocn/node_modules/@ovs-container-network/netlink
mkdir -p "$nl/build/Release"
cp "$native" "$nl/build/Release/"

# busybox for `docker plugin` debugging (sh, ls, cat…).
bb=$(command -v busybox || echo /bin/busybox)
if [[ -x $bb ]]; then
  cp "$bb" "$root/bin/busybox"
  for a in sh ls cat ps; do ln -sf busybox "$root/bin/$a"; done
fi
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"

cp docker/config.json "$work/config.json"
"$DOCKER" plugin disable -f "$name" >/dev/null 2>&1 || true
"$DOCKER" plugin rm -f "$name" >/dev/null 2>&1 || true
step 'docker plugin create' "$DOCKER" plugin create "$name" "$work"
for s in "${sets[@]}"; do step "docker plugin set $s" "$DOCKER" plugin set "$name" "$s"; done
if (( enable )); then step 'docker plugin enable' "$DOCKER" plugin enable "$name"; fi
echo "managed plugin $name created$( (( enable )) && echo ' and enabled'); use: docker network create -d $name:latest …"
