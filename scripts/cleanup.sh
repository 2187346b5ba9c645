#!/usr/bin/env bash
# Removes whatever tests left behind: everything they create is named with the prefix "ocnt"
# (scripts/testkit/src/names.ts). With --check it only reports, and exits 1 when something is left.
set -uo pipefail
check=0; [[ ${1:-} == --check ]] && check=1
DOCKER=/usr/bin/docker
left=()

if command -v "$DOCKER" >/dev/null && "$DOCKER" info >/dev/null 2>&1; then
  for c in $("$DOCKER" ps -aq --filter name=ocnt); do left+=("container $c"); (( check )) || "$DOCKER" rm -f "$c" >/dev/null 2>&1; done
  stuck=()
  for n in $("$DOCKER" network ls -q --filter name=ocnt); do
    left+=("docker network $n")
    (( check )) && continue
    out=$("$DOCKER" network rm "$n" 2>&1) && continue
    [[ $out == *'has active endpoints'* && $("$DOCKER" network inspect -f '{{len .Containers}}' "$n" 2>/dev/null) == 0 ]] && stuck+=("$n")
  done
  # Docker 20.10 keeps a per-network endpoint counter beside the endpoints; concurrent creates and deletes
  # can leave it above zero with no endpoint left (moby#42119), and then the network cannot be removed until
  # dockerd restarts and counts again. Restart it in the firewall setting it runs with.
  if (( ${#stuck[@]} )) && [[ -r /var/run/docker.pid ]]; then
    echo "cleanup: dockerd's endpoint count is stale for network(s) ${stuck[*]} (moby#42119); restarting dockerd" >&2
    pid=$(cat /var/run/docker.pid)
    fw=default; tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '--iptables=false' && fw=off
    kill "$pid"
    for _ in $(seq 300); do "$DOCKER" info >/dev/null 2>&1 || break; sleep 0.1; done
    for _ in $(seq 100); do [[ -e /var/run/docker.pid ]] || break; sleep 0.1; done
    OCN_DOCKER_FIREWALL=$fw "$(dirname "$0")/ensure-docker.sh" >/dev/null
    # Its driver is gone, so Docker answers "plugin not found", but the network goes.
    for n in "${stuck[@]}"; do "$DOCKER" network rm "$n" >/dev/null 2>&1; done
  fi
  for p in $("$DOCKER" plugin ls --format '{{.Name}}' 2>/dev/null | grep '^ocnt' || true); do
    left+=("docker plugin $p"); (( check )) || { "$DOCKER" plugin disable -f "$p"; "$DOCKER" plugin rm -f "$p"; } >/dev/null 2>&1
  done
fi
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^ocnt' || true); do
  left+=("netns $ns"); (( check )) || ip netns del "$ns" 2>/dev/null
done
for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^ocnt' || true); do
  left+=("link $l"); (( check )) || ip link del "$l" 2>/dev/null
done
# Test-prefix claims (scripts/testkit/src/prefix.ts) are bookkeeping, not something a test made: claims of
# processes that are gone go, and the folder with them once empty.
if [[ -d /run/ocnt-prefixes ]] && (( ! check )); then
  for f in /run/ocnt-prefixes/*; do
    [[ -f $f ]] || continue
    pid=$(cat "$f" 2>/dev/null)
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || rm -f "$f"
  done
  rmdir /run/ocnt-prefixes 2>/dev/null
fi
for d in /run/ocnt-*; do
  [[ -e $d ]] || continue
  [[ $d == /run/ocnt-prefixes ]] && continue
  left+=("dir $d")
  if (( ! check )); then
    for pidf in "$d"/*.pid; do [[ -f $pidf ]] && kill -KILL "$(cat "$pidf")" 2>/dev/null; done
    pkill -KILL -f -- "$d/" 2>/dev/null
    rm -rf "$d"
  fi
done
# Container cgroups of the testkit's per-host dockerds (--cgroup-parent /ocnt-dk-…), deepest first.
for cg in /sys/fs/cgroup/*/ocnt-*; do
  [[ -d $cg ]] || continue
  left+=("cgroup $cg"); (( check )) || find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
done
for s in /run/docker/plugins/ocnt*.sock; do
  [[ -e $s ]] || continue
  left+=("socket $s"); (( check )) || rm -f "$s"
done

if (( ${#left[@]} )); then
  if (( check )); then printf 'left behind: %s\n' "${left[@]}"; exit 1; fi
  printf 'cleanup: removed %s\n' "${left[@]}"
fi
exit 0
