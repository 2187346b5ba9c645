#!/usr/bin/env bash
# A private Open vSwitch: ovsdb-server + ovs-vswitchd (userspace datapath) in a run directory of its own,
# as OVS's own tutorial sandbox does. It never touches a system OVS (/var/run/openvswitch).
#
#   scripts/ovs-sandbox.sh start [DIR] [--no-vswitchd]   start, then print shell assignments:
#                                                        OCN_OVS_DIR=DIR OCN_OVSDB=unix:DIR/db.sock
#   scripts/ovs-sandbox.sh stop  [DIR]                   stop both daemons and remove DIR
#   scripts/ovs-sandbox.sh env   [DIR]                   print the assignments of a running sandbox
#
# OCN_OVS_OTHER_CONFIG="k=v …" sets Open_vSwitch other_config before vswitchd starts (keys it reads only at
# start, e.g. userspace-tso-enable=true: see packages/docker-plugin/README.md, "Throughput").
# DIR defaults to /run/ocn-sandbox. Unix socket paths are limited to 108 bytes: keep DIR short.
# Only one userspace-datapath ovs-vswitchd can run per network namespace (it owns the tap "ovs-netdev").
set -euo pipefail

cmd=${1:-}
dir=${2:-/run/ocn-sandbox}
[[ $dir == --* ]] && dir=/run/ocn-sandbox
with_vswitchd=1
for a in "$@"; do [[ $a == --no-vswitchd ]] && with_vswitchd=0; done
schema=/usr/share/openvswitch/vswitch.ovsschema

# Is an ovs-vswitchd running in this network namespace (one in another namespace does not count)?
vswitchd_here() {
  local me pid
  me=$(readlink /proc/self/ns/net)
  for pid in $(pgrep -x ovs-vswitchd); do
    [[ $(readlink "/proc/$pid/ns/net" 2>/dev/null) == "$me" ]] && return 0
  done
  return 1
}

print_env() { echo "OCN_OVS_DIR=$dir"; echo "OCN_OVSDB=unix:$dir/db.sock"; }

stop() {
  # "exit --cleanup" makes vswitchd delete its datapath and the tap devices of internal ports; a plain
  # SIGTERM leaves "ovs-netdev" and every bridge's tap behind, and the next vswitchd could not start.
  if [[ -S $dir/ovs-vswitchd.ctl ]]; then
    timeout 10 ovs-appctl -t "$dir/ovs-vswitchd.ctl" exit --cleanup >/dev/null 2>&1 || true
  fi
  for d in ovs-vswitchd ovsdb-server; do  # the pidfile is gone if exit --cleanup worked
    if [[ -f $dir/$d.pid ]]; then
      pid=$(cat "$dir/$d.pid" 2>/dev/null || true)
      if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
  done
  # The netdev datapath's own tap outlives even "exit --cleanup"; ours, since start refused to run beside another.
  if [[ -f $dir/vswitchd.started ]] && ip link show ovs-netdev >/dev/null 2>&1; then
    ip link del ovs-netdev 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case $cmd in
  start)
    command -v ovsdb-server >/dev/null || { echo "ovs-sandbox: ovsdb-server not found; run scripts/setup.sh" >&2; exit 1; }
    if [[ -f $dir/ovsdb-server.pid ]] && kill -0 "$(cat "$dir/ovsdb-server.pid")" 2>/dev/null; then
      echo "ovs-sandbox: already running in $dir" >&2; print_env; exit 0
    fi
    rm -rf "$dir"; mkdir -p "$dir"
    ovsdb-tool create "$dir/conf.db" "$schema"
    ovsdb-server "$dir/conf.db" --remote="punix:$dir/db.sock" --pidfile="$dir/ovsdb-server.pid" \
      --unixctl="$dir/ovsdb-server.ctl" --log-file="$dir/ovsdb-server.log" --detach --no-chdir -vconsole:off 2>/dev/null
    ovs-vsctl --db="unix:$dir/db.sock" --no-wait init >/dev/null
    for kv in ${OCN_OVS_OTHER_CONFIG:-}; do
      ovs-vsctl --db="unix:$dir/db.sock" --no-wait set Open_vSwitch . "other_config:$kv" >/dev/null
    done
    if (( with_vswitchd )); then
      # A vswitchd killed with SIGKILL (e.g. at the end of an earlier session) leaves its tap behind:
      # with no ovs-vswitchd left anywhere, that tap is stale and safe to remove.
      if ip link show ovs-netdev >/dev/null 2>&1 && ! vswitchd_here; then
        ip link del ovs-netdev 2>/dev/null || true
      fi
      # Checking the tap alone is not enough: vswitchd removes "ovs-netdev" while it has no netdev bridge.
      if vswitchd_here || ip link show ovs-netdev >/dev/null 2>&1; then
        echo "ovs-sandbox: another ovs-vswitchd runs in this network namespace (only one userspace datapath" \
             "fits); stop it, share its sandbox (OCN_OVS_DIR/OCN_OVSDB), or use --no-vswitchd" >&2
        stop; exit 1
      fi
      touch "$dir/vswitchd.started"
      OVS_RUNDIR=$dir OVS_LOGDIR=$dir OVS_DBDIR=$dir ovs-vswitchd "unix:$dir/db.sock" \
        --pidfile="$dir/ovs-vswitchd.pid" --unixctl="$dir/ovs-vswitchd.ctl" \
        --log-file="$dir/ovs-vswitchd.log" --detach --no-chdir -vconsole:off 2>/dev/null
      # vswitchd bumps next_cfg/cur_cfg once it has read the database: wait for it.
      ovs-vsctl --db="unix:$dir/db.sock" --timeout=20 set Open_vSwitch . external_ids:ocn-sandbox=1 >/dev/null
    fi
    print_env
    ;;
  stop) stop ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env [DIR] [--no-vswitchd]" >&2; exit 2 ;;
esac
