#!/usr/bin/env bash
# The main job, end to end: install what is missing, start Open vSwitch (a private sandbox) and dockerd,
# start the plugin, create two VLAN networks on one OVS bridge, run containers on them, show that they talk
# within a network and not across, and show what OVS holds.
#
#   scripts/demo.sh                  run the demo (idempotent; re-running starts over)
#   scripts/demo.sh --cleanup        remove everything the demo created and stop what it started
#   scripts/demo.sh --ovn            the OVN demo instead (scripts/demo-ovn.ts): two simulated hosts, each with
#                                    its own OVS, ovn-controller, dockerd and the plugin, one network across
#                                    them, two tenants; it tears itself down at the end (--cleanup stops a
#                                    run that was interrupted)
#
# It uses a private OVS sandbox in /run/ocn-demo (userspace datapath) unless OCN_OVSDB points at a running
# OVS already (only one userspace ovs-vswitchd fits in a network namespace).
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER=/usr/bin/docker
DIR=/run/ocn-demo
NAME=ocn-demo
PREFIX=ocnd
state=/run/ocn-demo.env
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
  if [[ -f /run/ocn-demo-ovn.pid ]]; then
    # The OVN demo's testkit tears its hosts down on SIGTERM (and the kernel kills its daemons if it dies).
    pid=$(cat /run/ocn-demo-ovn.pid)
    kill -TERM "$pid" 2>/dev/null && for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f /run/ocn-demo-ovn.pid
  fi
  for c in ocn-demo-red1 ocn-demo-red2 ocn-demo-blue1; do "$DOCKER" rm -f "$c" >/dev/null 2>&1 || true; done
  for n in ocn-demo-red ocn-demo-blue; do "$DOCKER" network rm "$n" >/dev/null 2>&1 || true; done
  if [[ -f $DIR-plugin.pid ]]; then kill "$(cat "$DIR-plugin.pid")" 2>/dev/null || true; rm -f "$DIR-plugin.pid"; fi
  rm -f "/run/docker/plugins/$NAME.sock" "$DIR-plugin.log"
  if [[ -f $state ]]; then
    # shellcheck disable=SC1090
    source "$state"
    [[ ${DEMO_OWN_SANDBOX:-0} == 1 ]] && scripts/ovs-sandbox.sh stop "$DIR" || true
    [[ ${DEMO_OWN_SANDBOX:-0} == 1 ]] || ovs-vsctl --db="$DEMO_OVSDB" --if-exists del-br ocn-demo-br 2>/dev/null || true
    rm -f "$state"
  fi
}

if [[ ${1:-} == --cleanup ]]; then cleanup; echo "demo cleaned up"; exit 0; fi
[[ $(id -u) == 0 ]] || { echo "demo.sh needs root (OVS, veth pairs, dockerd)" >&2; exit 1; }
if [[ ${1:-} == --ovn ]]; then
  cleanup
  say "Installing what is missing and building (scripts/setup.sh)"
  bash scripts/setup.sh
  node_modules/.bin/tsx scripts/demo-ovn.ts &
  echo $! >/run/ocn-demo-ovn.pid
  trap 'kill -TERM "$(cat /run/ocn-demo-ovn.pid)" 2>/dev/null' INT TERM
  rc=0; wait "$!" || rc=$?
  rm -f /run/ocn-demo-ovn.pid
  exit "$rc"
fi
cleanup; rm -f "$DIR-plugin.log"

say "1. Installing what is missing and building (scripts/setup.sh)"
bash scripts/setup.sh

say "2. Open vSwitch and dockerd"
own=0
if [[ -n ${OCN_OVSDB:-} ]]; then
  ovsdb=$OCN_OVSDB
  echo "using the running OVS at $ovsdb (OCN_OVSDB)"
else
  if ! env_lines=$(scripts/ovs-sandbox.sh start "$DIR"); then
    echo "demo: could not start a private OVS sandbox. If another OVS with a userspace datapath already runs" \
         "here, point the demo at it: OCN_OVSDB=unix:/run/ocn-dev/db.sock scripts/demo.sh" >&2
    exit 1
  fi
  eval "$(sed 's/^/export /' <<<"$env_lines")"
  ovsdb=$OCN_OVSDB; own=1
  echo "private OVS sandbox in $DIR: ovsdb-server + ovs-vswitchd (userspace datapath)"
fi
printf 'DEMO_OVSDB=%q\nDEMO_OWN_SANDBOX=%s\n' "$ovsdb" "$own" >"$state"
bash scripts/ensure-docker.sh

say "3. The plugin: a legacy Docker plugin socket, all state in OVS"
nohup node packages/docker-plugin/dist/bin/ovs-container-network.js --ovsdb "$ovsdb" --name "$NAME" \
  --datapath-type netdev --prefix "$PREFIX" --log-level info >"$DIR-plugin.log" 2>&1 &
echo $! >"$DIR-plugin.pid"
for _ in $(seq 100); do [[ -S /run/docker/plugins/$NAME.sock ]] && break; sleep 0.1; done
[[ -S /run/docker/plugins/$NAME.sock ]] || { echo "the plugin did not start; see $DIR-plugin.log" >&2; tail "$DIR-plugin.log" >&2; exit 1; }
echo "listening on /run/docker/plugins/$NAME.sock (log: $DIR-plugin.log)"

say "4. Two VLAN networks on one OVS bridge"
run "$DOCKER" network create -d "$NAME" --subnet 10.210.10.0/24 -o bridge=ocn-demo-br -o vlan=10 -o tenant_id=red ocn-demo-red
run "$DOCKER" network create -d "$NAME" --subnet 10.210.20.0/24 -o bridge=ocn-demo-br -o vlan=20 -o tenant_id=blue ocn-demo-blue

say "5. Containers"
run "$DOCKER" run -d --name ocn-demo-red1 --network ocn-demo-red local/busybox sleep 86400
run "$DOCKER" run -d --name ocn-demo-red2 --network ocn-demo-red local/busybox sleep 86400
run "$DOCKER" run -d --name ocn-demo-blue1 --network ocn-demo-blue local/busybox sleep 86400
addr_of() { "$DOCKER" inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
red2=$(addr_of ocn-demo-red2 ocn-demo-red); blue1=$(addr_of ocn-demo-blue1 ocn-demo-blue)

say "6. Within a network: works"
run "$DOCKER" exec ocn-demo-red1 ping -c 3 -W 1 "$red2"
# A ping alone proves little on the userspace datapath (TCP needs TX checksum offload off, which the plugin
# sets on every container end): send 2 MiB over TCP and count what arrives.
# busybox `nc -l` hangs up as soon as its own stdin ends: hold the listener's stdin open with -i.
"$DOCKER" exec -i ocn-demo-red2 sh -c 'timeout 15 nc -l -p 5000 | wc -c' < <(sleep 20) > "$DIR-tcp.out" &
listener=$!
sleep 0.5
run "$DOCKER" exec ocn-demo-red1 sh -c "head -c 2097152 /dev/zero | timeout 15 nc $red2 5000"
wait "$listener" || true
got=$(tr -d ' \n' < "$DIR-tcp.out"); rm -f "$DIR-tcp.out"
[[ $got == 2097152 ]] || { echo "UNEXPECTED: TCP delivered $got of 2097152 bytes" >&2; exit 1; }
echo "→ TCP: $got of 2097152 bytes arrived"
say "   Across networks (VLAN 10 → VLAN 20, even routed through the host): blocked"
if "$DOCKER" exec ocn-demo-red1 ping -c 2 -W 1 "$blue1"; then
  echo "UNEXPECTED: red reached blue" >&2; exit 1
else
  echo "→ no reply from $blue1, as intended"
fi

say "7. What OVS holds (the plugin's only state)"
run ovs-vsctl --db="$ovsdb" show
run ovs-vsctl --db="$ovsdb" --columns=name,tag,external_ids find Port external_ids:ocn-tenant=red

say "Done. Clean up with: scripts/demo.sh --cleanup (as root)"
