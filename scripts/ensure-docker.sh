#!/usr/bin/env bash
# Make sure a dockerd answers on /var/run/docker.sock (start Debian's dockerd when none runs) and that the
# local image local/busybox exists. There is no registry to pull from: the image is made from the
# busybox-static binary of the host.
set -euo pipefail
DOCKER=/usr/bin/docker   # Debian's 20.10 client matches the daemon (the preinstalled 28.x client needs API 1.44)
log=${OCN_DOCKERD_LOG:-/var/log/ocn-dockerd.log}

# OCN_DOCKER_FIREWALL: `off` (default) starts dockerd with --iptables=false: this machine has no use for
# Docker's NAT rules, and tests stay off the outside network. `default` starts it with its own default
# (iptables=true: it turns forwarding on, sets FORWARD to DROP when forwarding was off, makes DOCKER-USER),
# for the e2e pass of scripts/test.sh that checks the plugin against Docker's firewall. A running dockerd
# in the other setting is restarted only with OCN_DOCKER_RESTART=1 (test.sh on CI); otherwise it is an error.
firewall=${OCN_DOCKER_FIREWALL:-off}
case $firewall in
  off) flags=(--iptables=false --ip6tables=false) ;;
  default) flags=() ;;
  *) echo "ensure-docker: OCN_DOCKER_FIREWALL=$firewall: expected off or default" >&2; exit 2 ;;
esac
pidfile=/var/run/docker.pid
if "$DOCKER" info >/dev/null 2>&1 && [[ -r $pidfile ]]; then
  running=default
  tr '\0' ' ' <"/proc/$(cat "$pidfile")/cmdline" 2>/dev/null | grep -q -- '--iptables=false' && running=off
  if [[ $running != "$firewall" ]]; then
    if [[ ${OCN_DOCKER_RESTART:-0} != 1 ]]; then
      echo "ensure-docker: dockerd runs with firewall $running, $firewall asked; set OCN_DOCKER_RESTART=1 to restart it" >&2
      exit 1
    fi
    kill "$(cat "$pidfile")"
    for _ in $(seq 300); do "$DOCKER" info >/dev/null 2>&1 || break; sleep 0.1; done
    for _ in $(seq 100); do [[ -e $pidfile ]] || break; sleep 0.1; done
  fi
fi

if ! "$DOCKER" info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "ensure-docker: dockerd not found; run scripts/setup.sh" >&2; exit 1; }
  nohup dockerd "${flags[@]}" >>"$log" 2>&1 &
  for _ in $(seq 300); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.1; done
  "$DOCKER" info >/dev/null 2>&1 || { echo "ensure-docker: dockerd did not come up; see $log" >&2; tail -20 "$log" >&2; exit 1; }
fi

if ! "$DOCKER" image inspect local/busybox >/dev/null 2>&1; then
  "$(dirname "$0")/busybox-rootfs.sh" | "$DOCKER" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - local/busybox >/dev/null
fi
echo "dockerd ready; image local/busybox present"
