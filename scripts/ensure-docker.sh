#!/usr/bin/env bash
# Make sure a dockerd answers on /var/run/docker.sock (start Debian's dockerd when none runs) and that the
# local image local/busybox exists. There is no registry to pull from: the image is made from the
# busybox-static binary of the host.
set -euo pipefail
DOCKER=/usr/bin/docker   # Debian's 20.10 client matches the daemon (the preinstalled 28.x client needs API 1.44)
log=${OCN_DOCKERD_LOG:-/var/log/ocn-dockerd.log}

if ! "$DOCKER" info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "ensure-docker: dockerd not found; run scripts/setup.sh" >&2; exit 1; }
  # --iptables=false: this machine has no use for Docker's NAT rules, and tests stay off the outside network.
  nohup dockerd --iptables=false --ip6tables=false >>"$log" 2>&1 &
  for _ in $(seq 300); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.1; done
  "$DOCKER" info >/dev/null 2>&1 || { echo "ensure-docker: dockerd did not come up; see $log" >&2; tail -20 "$log" >&2; exit 1; }
fi

if ! "$DOCKER" image inspect local/busybox >/dev/null 2>&1; then
  "$(dirname "$0")/busybox-rootfs.sh" | "$DOCKER" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - local/busybox >/dev/null
fi
echo "dockerd ready; image local/busybox present"
