#!/usr/bin/env bash
# Idempotent setup of a fresh machine of this kind (Debian 12, root): the Debian packages the tests and the
# demo need, pnpm at the version package.json pins, the workspace's dependencies, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(openvswitch-switch openvswitch-common python3-openvswitch python3-ovsdbapp ovn-central ovn-host docker.io
          docker-compose busybox-static iproute2 iputils-ping ethtool procps g++ make python3 openssl nftables dnsmasq-base
          ovn-docker python3-flask iperf3 strace)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The packages' init scripts fail to start services on a machine without systemd; that is harmless:
  # tests start private daemons of their own (scripts/ovs-sandbox.sh, scripts/ensure-docker.sh).
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

pnpm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [[ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]]; then
  # corepack fails here ("No compatible signature found"); npm's global install works.
  echo "setup: installing pnpm@$pnpm_version"
  npm install -g "pnpm@$pnpm_version" >/dev/null 2>&1
fi

pnpm install --frozen-lockfile --reporter=append-only 2>&1 | grep -vE '^(Progress|Packages):' || true
pnpm run build
