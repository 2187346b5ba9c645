#!/usr/bin/env bash
# Builds the managed (v2) Docker plugin OFFLINE from what is on this machine — the node binary and its
# shared libraries, the built workspace with production node_modules (pnpm deploy), busybox — then
# `docker plugin create` and, with --enable, `docker plugin enable`. The driver registers as NAME:latest.
#
#   scripts/build-managed-plugin.sh [NAME] [--enable] [--set KEY=VALUE]...
#     NAME   plugin name (default ovs-container-network); users then run docker network create -d NAME:latest
#     --set  passed to `docker plugin set` before enabling, e.g. --set ovs-rundir.source=/run/ocn-dev
#            --set OCN_DATAPATH_TYPE=netdev
#   scripts/build-managed-plugin.sh --remove NAME     disable and remove the plugin
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER=/usr/bin/docker
name=ovs-container-network; enable=0; sets=(); remove=0
while (( $# )); do
  case $1 in
    --enable) enable=1 ;;
    --set) sets+=("$2"); shift ;;
    --remove) remove=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) name=$1 ;;
  esac
  shift
done
if (( remove )); then
  "$DOCKER" plugin disable -f "$name" >/dev/null 2>&1 || true
  "$DOCKER" plugin rm -f "$name" >/dev/null 2>&1 || true
  exit 0
fi

[[ -f packages/docker-plugin/dist/bin/ovs-container-network.js ]] || pnpm run build >/dev/null
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
pnpm --filter @ovs-container-network/docker-plugin deploy --prod --legacy --offline "$work/deploy" >/dev/null
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
"$DOCKER" plugin create "$name" "$work" >/dev/null
for s in "${sets[@]}"; do "$DOCKER" plugin set "$name" "$s"; done
if (( enable )); then "$DOCKER" plugin enable "$name" >/dev/null; fi
echo "managed plugin $name created$( (( enable )) && echo ' and enabled'); use: docker network create -d $name:latest …"
