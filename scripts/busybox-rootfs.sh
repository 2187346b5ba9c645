#!/usr/bin/env bash
# Writes the rootfs of the local/busybox image as a tar stream to stdout (or to FILE): busybox-static with a
# symlink per applet. There is no registry to pull from on these machines; scripts/ensure-docker.sh and
# the testkit's per-host dockerds (scripts/testkit/src/dockerd.ts) import this with
# `docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - local/busybox`.
#
#   scripts/busybox-rootfs.sh [FILE]
set -euo pipefail
busybox=$(command -v busybox || true)
[[ -x /bin/busybox ]] && busybox=/bin/busybox
[[ -n $busybox ]] || { echo "busybox-rootfs: busybox-static not installed; run scripts/setup.sh" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root,var/run}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
if [[ -n ${1:-} ]]; then tar -C "$root" -cf "$1" .; else tar -C "$root" -c .; fi
