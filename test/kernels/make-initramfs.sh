#!/usr/bin/env bash
# Builds a guest initramfs: static busybox, test/kernels/guest-init.sh as /init and
# the kernel's 9p/virtio modules (collected by fetch-kernel.sh). Cheap (~1 s), so
# boot.sh builds it on every boot and guest-init.sh edits need no re-fetch.
#
#   make-initramfs.sh <kernel cache dir> <out.cpio.gz>
set -euo pipefail
kdir=$1 out=$2
HERE=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,newroot}
cp -r "$kdir/modules" "$root/modules"
mknod "$root/dev/console" c 5 1 # init's stdio before devtmpfs is mounted
busybox=$(command -v busybox)
cp "$busybox" "$root/bin/busybox"
cp "$HERE/guest-init.sh" "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . -mindepth 1 | sed 's|^\./||' | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$out"
