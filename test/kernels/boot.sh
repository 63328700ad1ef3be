#!/usr/bin/env bash
# Boots one of Debian's kernels under qemu (TCG, no KVM needed) with this machine's
# root shared read-only over virtio-9p, runs one command in the guest, prints its
# output (stdout and stderr, merged) and exits with its exit code.
#
#   test/kernels/boot.sh [options] <series> -- <command> [args...]
#
#   series        5.10 | 6.1 | 6.12 | trixie-bpo   (see fetch-kernel.sh; fetched and cached on first use)
#   --mem MiB     guest memory (default 3072)
#   --cpus N      vCPUs (default 2)
#   --timeout S   whole boot + command, seconds (default 600); exit 124 when it expires
#   --env K=V     exported in the guest (repeatable); PATH, CI and HOTSPAN_* pass through
#   --share DIR   host directory mounted read-write at the same path in the guest
#                 (default: a fresh /tmp/hotspan-boot.* removed afterwards); the command
#                 sees it as $HOTSPAN_GUEST_SHARE, the place to leave files for the host
#   --console     stream the guest's kernel console (ttyS0) to stderr
#
# The command runs as root in the caller's working directory, chrooted into the
# host root: the repo, node and dist/ are the host's. Writable in the guest:
# /tmp, /run, /dev/shm, /var/tmp, /var/lib/hotspan, /var/log, /root (tmpfs) and the share.
# Exit codes: the command's; 124 timeout; 125 the guest never ran the command.
#
#   e.g. test/kernels/boot.sh 5.10 -- uname -r
#        test/kernels/boot.sh 6.1 -- node dist/agent/cli.js doctor --json
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
mem=3072 cpus=2 timeout_s=600 share= console=0 envs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --mem) mem=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --share) share=$2; shift 2 ;;
    --console) console=1; shift ;;
    --) shift; break ;;
    -*) echo "boot.sh: unknown option $1" >&2; exit 2 ;;
    *) [ -z "${series:-}" ] || { echo "boot.sh: one series only" >&2; exit 2; }; series=$1; shift ;;
  esac
done
[ -n "${series:-}" ] && [ $# -gt 0 ] || { sed -n '2,26p' "$0" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "boot.sh: needs qemu-system-x86 (bash deploy/setup.sh --dev)" >&2; exit 2; }

kdir=$(bash "$HERE/fetch-kernel.sh" "$series")
if [ -n "$share" ]; then
  mkdir -p "$share"; share=$(cd "$share" && pwd); keep=1
else
  share=$(mktemp -d /tmp/hotspan-boot.XXXXXX); keep=0
fi
rm -f "$share/rc"
initrd=
cleanup() { rm -f "$initrd"; [ "$keep" = 1 ] || rm -rf "$share"; }
trap cleanup EXIT

# The command script: environment, working directory, then the command, all quoted.
{
  echo "export PATH=$(printf %q "$PATH") HOME=/root TERM=dumb LANG=C.UTF-8"
  echo "export HOTSPAN_GUEST_SHARE=$(printf %q "$share") HOTSPAN_GUEST_KERNEL=$(printf %q "$series")"
  [ -n "${CI:-}" ] && echo "export CI=$(printf %q "$CI")"
  while IFS='=' read -r k _; do
    [[ "$k" == HOTSPAN_* ]] && [[ "$k" != HOTSPAN_GUEST_* ]] && echo "export $k=$(printf %q "${!k}")"
  done < <(env)
  for kv in "${envs[@]}"; do echo "export $(printf %q "$kv")"; done
  echo "cd $(printf %q "$PWD") || exit 125"
  printf 'exec'; printf ' %q' "$@"; echo
} >"$share/cmd.sh"

initrd=$(mktemp /tmp/hotspan-initrd.XXXXXX)
bash "$HERE/make-initramfs.sh" "$kdir" "$initrd"
console_log=$share/console.log
[ "$keep" = 1 ] || console_log=$(mktemp /tmp/hotspan-console.XXXXXX)
# No AVX for the guest CPU: Debian's QEMU 7.2 was the first to emulate AVX/AVX2 in TCG, and its
# emulation has known miscompilations fixed only in later releases (e.g. CVTPS2PD, qemu#1377); node
# (simdutf, V8) picks AVX2 paths when the CPU offers them. Under `-cpu max` the guest agent died
# with SIGSEGV in ~1 of 10 runs (5.10 and 7.3 guests, never on a real CPU). What is tested here is
# the kernel, not the instruction set. HOTSPAN_GUEST_CPU overrides.
guest_cpu=${HOTSPAN_GUEST_CPU:-Westmere}
qemu=(qemu-system-x86_64 -machine q35 -accel tcg,thread=multi -cpu "$guest_cpu" -smp "$cpus" -m "$mem"
  -nodefaults -no-reboot -display none -monitor none -nic none
  -kernel "$kdir/vmlinuz" -initrd "$initrd"
  -append "console=ttyS0 panic=-1 loglevel=7 mitigations=off hotspan.xfer=$share hotspan.workdir=$PWD"
  -serial "file:$console_log" -chardev stdio,id=out,signal=off -serial chardev:out
  -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
  -fsdev local,id=xfer,path="$share",security_model=none,multidevs=remap
  -device virtio-9p-pci,fsdev=xfer,mount_tag=xfer
  # The working directory (the checkout) again on its own: the guest puts tmpfs on /tmp, /root,
  # /var/tmp…, and a checkout under one of them (CI clones anywhere) would be hidden.
  -fsdev local,id=workdir,path="$PWD",security_model=none,readonly=on,multidevs=remap
  -device virtio-9p-pci,fsdev=workdir,mount_tag=workdir)

tailpid=
if [ "$console" = 1 ]; then
  : >"$console_log"; tail -n +1 -f "$console_log" >&2 & tailpid=$!
fi
start=$EPOCHREALTIME
set +e
timeout --kill-after=10 "$timeout_s" "${qemu[@]}" </dev/null
qrc=$?
set -e
[ -n "$tailpid" ] && kill "$tailpid" 2>/dev/null
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
release=$(cat "$kdir/release")
if [ -f "$share/rc" ]; then
  rc=$(cat "$share/rc")
  printf 'boot.sh: %s (%s): exit %s after %ss\n' "$series" "$release" "$rc" "$secs" >&2
else
  rc=125; [ "$qrc" = 124 ] && rc=124
  printf 'boot.sh: %s (%s): the command did not finish (qemu exit %s after %ss); console tail:\n' \
    "$series" "$release" "$qrc" "$secs" >&2
  tail -n 40 "$console_log" >&2
fi
[ "$keep" = 1 ] || rm -f "$console_log"
exit "$rc"
