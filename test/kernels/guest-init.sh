#!/bin/busybox sh
# /init of the test-kernel initramfs (see boot.sh). Loads the 9p/virtio modules,
# mounts the host root read-only over virtio-9p, gives it tmpfs where programs
# write, mounts the run's exchange directory (read-write, same path as on the
# host), runs $xfer/cmd.sh chrooted into the host root with its output on ttyS1,
# writes the exit code to $xfer/rc and powers off. Kernel messages stay on ttyS0.
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "guest-init: $*" >/dev/ttyS0; }
fail() { say "FAILED: $*"; sync; reboot -f; }

xfer=
workdir=
for w in $(cat /proc/cmdline); do
  case "$w" in
    hotspan.xfer=*) xfer=${w#hotspan.xfer=} ;;
    hotspan.workdir=*) workdir=${w#hotspan.workdir=} ;;
  esac
done
[ -n "$xfer" ] || fail "no hotspan.xfer= on the kernel command line"

while read -r m; do
  insmod "/modules/$m.ko" || fail "insmod $m"
done </modules/order

R=/newroot
# cache=loose: the host root is read-only for the guest's lifetime, so caching is safe and
# saves most 9p round trips (node and the agent's dist/ are read on every start).
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot $R || fail "mount host root"
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs -o mode=1777 shm $R/dev/shm
mount -t tmpfs -o mode=1777 tmp $R/tmp
mount -t tmpfs run $R/run
for d in var/tmp var/lib/hotspan var/log root; do
  [ -d "$R/$d" ] && mount -t tmpfs "$(basename $d)" "$R/$d"
done
mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null || say "no debugfs"
mount -t tracefs tracefs $R/sys/kernel/tracing 2>/dev/null || say "no tracefs at /sys/kernel/tracing"
mount -t bpf bpf $R/sys/fs/bpf 2>/dev/null || say "no bpffs"
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null || say "no cgroup2"
# The checkout, mounted after the tmpfs mounts above so that one under /tmp or /root stays visible.
if [ -n "$workdir" ] && [ "$workdir" != / ]; then
  mkdir -p "$R$workdir" 2>/dev/null
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose workdir "$R$workdir" || fail "mount $workdir"
fi
mkdir -p "$R$xfer"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 xfer "$R$xfer" || fail "mount $xfer"
hostname hotspan-guest
ip link set lo up || fail "lo up"

read -r up _ </proc/uptime
say "booted $(uname -r) in ${up}s; running $xfer/cmd.sh"
stty -F /dev/ttyS1 raw -echo 2>/dev/null
chroot $R /bin/sh "$xfer/cmd.sh" </dev/null >/dev/ttyS1 2>&1
echo $? >"$R$xfer/rc"
read -r up _ </proc/uptime
say "command done at ${up}s"
sync
umount "$R$xfer"
reboot -f
