#!/usr/bin/env bash
# Installs the legacy plugin as a systemd service ordered before docker.service, after checking the unit
# with `systemd-analyze verify`.
#
#   scripts/install-systemd.sh [--root DIR] [--no-start] [-- PLUGIN FLAGS...]
#     PLUGIN FLAGS   passed to ovs-container-network, e.g. -- --datapath-type netdev --ovsdb unix:/run/ocn/db.sock
#     --root DIR     install into DIR/etc/systemd/system instead of / (for packaging and for checking)
#     --no-start     install and enable, but do not start now
#   scripts/install-systemd.sh --uninstall
#
# The managed-plugin alternative needs no service: scripts/build-managed-plugin.sh NAME --enable (Docker
# starts managed plugins itself, before containers).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
root=; start=1; uninstall=0; args=()
while (( $# )); do
  case $1 in
    --root) root=$2; shift ;;
    --no-start) start=0 ;;
    --uninstall) uninstall=1 ;;
    --) shift; args=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install-systemd: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
unit=ovs-container-network.service
dest=$root/etc/systemd/system/$unit

if (( uninstall )); then
  systemctl disable --now "$unit" 2>/dev/null || true
  rm -f "$dest"
  systemctl daemon-reload 2>/dev/null || true
  exit 0
fi

entry=$repo/packages/docker-plugin/dist/bin/ovs-container-network.js
[[ -f $entry ]] || pnpm run build >/dev/null
node_bin=$(readlink -f "$(command -v node)")
# systemd's own quoting (systemd.service(5) "Command lines"): double quotes, with \ and " escaped; % and $
# doubled so they are not specifiers or variables.
quoted=
for a in "${args[@]}"; do
  a=${a//%/%%}; a=${a//\$/\$\$}
  if [[ $a =~ [[:space:]\"\\\'] || -z $a ]]; then
    a=${a//\\/\\\\}; a=${a//\"/\\\"}
    quoted+=" \"$a\""
  else
    quoted+=" $a"
  fi
done
quoted=${quoted# }
sed_rep=$(printf '%s' "$quoted" | sed -e 's/[\\&|]/\\&/g')
mkdir -p "$(dirname "$dest")"
sed -e "s|@NODE@|$node_bin|" -e "s|@ENTRY@|$entry|" -e "s|@ARGS@|$sed_rep|" \
    -e "s|@DOCS@|$repo/packages/docker-plugin/README.md|" \
    packages/docker-plugin/systemd/$unit >"$dest"
# verify checks the syntax, the ExecStart binary and the dependencies it can resolve.
out=$(systemd-analyze verify "$dest" 2>&1 | grep -v -e 'docker.service' -e 'openvswitch' -e 'ovsdb-server' -e 'ovs-vswitchd' || true)
if [[ -n $out ]]; then echo "install-systemd: systemd-analyze verify: $out" >&2; exit 1; fi
echo "installed $dest"
[[ -z $root ]] || exit 0
if [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
  systemctl enable "$unit"
  (( start )) && systemctl start "$unit"
else
  echo "install-systemd: systemd is not running here; the unit is installed and will start at boot"
fi
