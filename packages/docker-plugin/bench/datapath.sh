#!/usr/bin/env bash
# The raw datapath under the plugin's published ports, without Docker or the plugin: TCP throughput (iperf3,
# one stream) between network namespaces through a userspace-datapath OVS bridge (datapath_type=netdev,
# what the plugin creates here) versus a kernel Linux bridge, interleaved in the same run.
#
#   veth  : ns A --veth-- [bridge] --veth-- ns B          (container to container)
#   tap   : "host" namespace's OVS internal port (a tap, the plugin's gateway) -- [bridge] --veth-- ns B
#           (the published-port path: host stack → gateway → container); for the Linux bridge, the
#           bridge device itself carries the host address.
#
# Its own ovsdb-server + ovs-vswitchd run in a namespace of their own (one userspace datapath per network
# namespace, PROTOCOLS.md §1), so it never touches another OVS. Needs root, iperf3, ethtool, OVS.
#
#   bench/datapath.sh [ROUNDS] [SECONDS]
# Environment:
#   OCN_DP_OTHER_CONFIG   e.g. "userspace-tso-enable=true" (set before vswitchd starts; TSO is read once)
#   OCN_DP_TXOFF          1 (default): TX checksum offload off on the namespace ends of the OVS veths
#                         (PROTOCOLS.md §1); 0: leave the defaults
#   OCN_DP_MTU            MTU of every link of both bridges (default 1500)
#   OCN_DP_TYPE           Interface type of the OVS veth ports: system (default) or afxdp / afxdp-nonpmd
#   OCN_DP_NICE           renice vswitchd to this (e.g. -10): how much of the gap is CPU contention
set -euo pipefail
rounds=${1:-3}
secs=${2:-4}
other=${OCN_DP_OTHER_CONFIG:-}
txoff=${OCN_DP_TXOFF:-1}
mtu=${OCN_DP_MTU:-1500}
type=${OCN_DP_TYPE:-system}
p=t16$$
H=${p}h
dir=/run/ocn-dp$$
here=$(cd "$(dirname "$0")/../../.." && pwd)

cleanup() {
  # iperf3 -D outlives its namespace: stop our servers by their pidfiles.
  for f in "$dir".iperf-*; do [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null; rm -f "$f"; done
  ip netns exec "$H" "$here/scripts/ovs-sandbox.sh" stop "$dir" >/dev/null 2>&1 || true
  for n in "$H" ${p}a ${p}b ${p}c ${p}d; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT

for n in "$H" ${p}a ${p}b ${p}c ${p}d; do ip netns add "$n"; ip -n "$n" link set lo up; done
# Start vswitchd with the other_config asked for already in the database: some keys are read only at start.
ip netns exec "$H" "$here/scripts/ovs-sandbox.sh" start "$dir" --no-vswitchd >/dev/null
vsctl() { ovs-vsctl --db="unix:$dir/db.sock" "$@"; }
for kv in $other; do vsctl --no-wait set Open_vSwitch . "other_config:$kv"; done
ip netns exec "$H" env OVS_RUNDIR="$dir" OVS_LOGDIR="$dir" OVS_DBDIR="$dir" ovs-vswitchd "unix:$dir/db.sock" \
  --pidfile="$dir/ovs-vswitchd.pid" --unixctl="$dir/ovs-vswitchd.ctl" --log-file="$dir/ovs-vswitchd.log" \
  --detach --no-chdir -vconsole:off
vsctl --timeout=20 set Open_vSwitch . external_ids:ocn-sandbox=1
if [[ -n ${OCN_DP_NICE:-} ]]; then renice -n "$OCN_DP_NICE" -p "$(cat "$dir/ovs-vswitchd.pid")" >/dev/null; fi
vsctl add-br ${p}o -- set Bridge ${p}o datapath_type=netdev

# veth NAME-in (in namespace NS, address ADDR) / NAME-out (in the host namespace).
veth() { # name ns addr
  ip -n "$H" link add "$1o" type veth peer name "$1i"
  ip -n "$H" link set "$1i" netns "$2"
  ip -n "$H" link set "$1o" mtu "$mtu" up
  ip -n "$2" link set "$1i" mtu "$mtu" up
  ip -n "$2" addr add "$3/24" dev "$1i"
}
# OVS side: A and B on veths, plus an internal port "g" with the host's address (the plugin's gateway).
veth ${p}A ${p}a 10.77.1.1
veth ${p}B ${p}b 10.77.1.2
for x in A B; do
  if [[ $txoff == 1 ]]; then ip netns exec "${p}${x,,}" ethtool -K "${p}${x}i" tx off >/dev/null; fi
  vsctl add-port ${p}o "${p}${x}o" -- set Interface "${p}${x}o" type="$type"
done
vsctl add-port ${p}o ${p}g -- set Interface ${p}g type=internal mtu_request="$mtu"
ip -n "$H" addr add 10.77.1.254/24 dev ${p}g
ip -n "$H" link set ${p}g up
# Linux bridge side: C and D, the bridge itself with the host's address.
ip -n "$H" link add ${p}k type bridge
veth ${p}C ${p}c 10.77.2.1
veth ${p}D ${p}d 10.77.2.2
ip -n "$H" link set ${p}Co master ${p}k
ip -n "$H" link set ${p}Do master ${p}k
ip -n "$H" link set ${p}k mtu "$mtu" up
ip -n "$H" addr add 10.77.2.254/24 dev ${p}k

for n in ${p}b ${p}d; do ip netns exec "$n" iperf3 -s -D -I "$dir.iperf-$n" >/dev/null; done
sleep 1
ip netns exec ${p}a ping -c1 -W2 10.77.1.2 >/dev/null && ip netns exec ${p}c ping -c1 -W2 10.77.2.2 >/dev/null

gbps() { # ns target [-R] → Gbit/s (0 if iperf3 failed)
  local out
  out=$(ip netns exec "$1" timeout $((secs + 15)) iperf3 -c "$2" -t "$secs" -J ${3:-} 2>/dev/null) || { echo 0; return; }
  python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9,3))' <<<"$out" 2>/dev/null || echo 0
}
# CPU seconds used by vswitchd over a run (utime+stime from /proc, in clock ticks).
vcpu() { awk '{print $14+$15}' "/proc/$(cat "$dir/ovs-vswitchd.pid")/stat"; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  other_config='$other' txoff=$txoff mtu=$mtu type=$type nice=${OCN_DP_NICE:-0}"
for r in $(seq "$rounds"); do
  c0=$(vcpu); ov=$(gbps ${p}a 10.77.1.2); c1=$(vcpu)
  lv=$(gbps ${p}c 10.77.2.2)
  ot=$(gbps "$H" 10.77.1.2)
  lt=$(gbps "$H" 10.77.2.2)
  orr=$(gbps "$H" 10.77.1.2 -R)
  lr=$(gbps "$H" 10.77.2.2 -R)
  echo "round $r  veth→veth: ovs $ov lb $lv | host→container: ovs $ot lb $lt | container→host: ovs $orr lb $lr Gbit/s (ovs/lb $(python3 -c "print(f'{$ov/$lv:.2f} {$ot/$lt:.2f} {$orr/$lr:.2f}')"); vswitchd cpu $(( c1 - c0 )) ticks in veth run)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
