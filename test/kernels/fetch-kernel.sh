#!/usr/bin/env bash
# Fetches one of Debian's amd64 kernels and prepares it for test/kernels/boot.sh.
#
#   test/kernels/fetch-kernel.sh <series>      prints the kernel's cache directory
#
# Series: 5.10 (bullseye), 6.1 (bookworm), 6.12 (trixie), trixie-bpo (newest trixie-backports).
# The cache directory holds vmlinuz, config, the kernel release and the modules a
# 9p root needs (see collect-modules.sh); it is keyed by package name and version
# under $HOTSPAN_KERNEL_CACHE (default /var/cache/hotspan-kernels), so a machine
# downloads each kernel once. apt runs with a private source list, list and
# package cache there too: the system's apt state is never read or changed, and
# bullseye is reachable although the system lists only its own release.
set -euo pipefail

series=${1:?usage: fetch-kernel.sh <5.10|6.1|6.12|trixie-bpo>}
CACHE=${HOTSPAN_KERNEL_CACHE:-/var/cache/hotspan-kernels}
MIRROR=${HOTSPAN_DEBIAN_MIRROR:-http://deb.debian.org}
HERE=$(cd "$(dirname "$0")" && pwd)
log() { printf 'fetch-kernel: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Package-name pattern per series: the signed image exists in every suite and
# carries the same vmlinuz and modules as the -unsigned one.
case "$series" in
  5.10) pattern='^linux-image-5\.10\.0-[0-9]+-amd64$' ;;
  6.1) pattern='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
  6.12) pattern='^linux-image-6\.12\.[0-9]+\+deb13-amd64$' ;;
  trixie-bpo) pattern='^linux-image-[7-9]\.[0-9]+\.[0-9]+\+deb13-amd64$' ;;
  *) die "unknown series '$series' (5.10, 6.1, 6.12 or trixie-bpo)" ;;
esac

for tool in apt-get apt-cache dpkg-deb flock busybox xz zstd; do
  command -v "$tool" >/dev/null || die "missing $tool (bash deploy/setup.sh --dev installs busybox-static)"
done

APT=$CACHE/apt
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/etc"
exec 9>"$CACHE/.lock"
flock 9 # one fetch at a time on this machine (helpers and CI share the cache)

cat >"$APT/etc/sources.list" <<EOF
deb $MIRROR/debian bullseye main
deb $MIRROR/debian-security bullseye-security main
deb $MIRROR/debian bookworm main
deb $MIRROR/debian-security bookworm-security main
deb $MIRROR/debian trixie main
deb $MIRROR/debian-security trixie-security main
deb $MIRROR/debian trixie-backports main
EOF
aptopts=(-o Dir::Etc::sourcelist="$APT/etc/sources.list" -o Dir::Etc::sourceparts=-
         -o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache"
         -o Dir::State::status=/dev/null -o APT::Architecture=amd64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root)

# Lists are refreshed once a day; offline, the last kernel fetched for the series still boots.
stamp=$APT/lists/.updated
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
  log "updating private apt lists ($MIRROR)"
  if apt-get "${aptopts[@]}" -qq update >&2; then touch "$stamp"
  elif [ -L "$CACHE/series-$series" ]; then
    log "apt update failed; using the cached $(readlink "$CACHE/series-$series")"
    readlink -f "$CACHE/series-$series"; exit 0
  else die "apt update failed and no $series kernel is cached"
  fi
fi

# Resolving a name costs seconds of apt-cache; reuse the answer until the lists change.
if [ "$CACHE/.resolved-$series" -nt "$stamp" ] && [ -f "$CACHE/series-$series/.complete" ]; then
  readlink -f "$CACHE/series-$series"; exit 0
fi
pkg=$(apt-cache "${aptopts[@]}" pkgnames linux-image- | grep -E "$pattern" | sort -V | tail -n1)
[ -n "$pkg" ] || die "no package matches $pattern in the Debian archive"
version=$(apt-cache "${aptopts[@]}" show --no-all-versions "$pkg" | sed -n 's/^Version: //p' | head -n1)
dir=$CACHE/${pkg}_${version}
if [ -f "$dir/.complete" ]; then
  ln -sfn "$(basename "$dir")" "$CACHE/series-$series"; touch "$CACHE/.resolved-$series"
  echo "$dir"; exit 0
fi

log "downloading $pkg $version"
work=$(mktemp -d "$CACHE/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Since 7.x Debian splits the image into linux-binary-*, linux-modules-* and linux-base-*.
parts=$(apt-cache "${aptopts[@]}" show --no-all-versions "$pkg" | sed -n 's/^Depends: //p' | tr ',|' '\n\n' \
  | sed -n 's/^ *\(linux-\(binary\|modules\|base\)-[^ ]*\).*/\1/p')
(cd "$work" && apt-get "${aptopts[@]}" -qq download "$pkg" $parts >&2)
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
deb=$pkg
vmlinuz=$(ls "$work"/root/boot/vmlinuz-* "$work"/root/usr/lib/linux/vmlinuz-* "$work"/root/usr/lib/modules/*/vmlinuz 2>/dev/null | head -n1 || true)
[ -n "$vmlinuz" ] || die "$pkg ships no vmlinuz"
case "$vmlinuz" in
  */vmlinuz) release=$(basename "$(dirname "$vmlinuz")") ;;
  *) release=${vmlinuz##*/vmlinuz-} ;;
esac
config=$(ls "$work/root/boot/config-$release" "$work/root/usr/lib/modules/$release/config" 2>/dev/null | head -n1 || true)
moddir=$work/root/lib/modules/$release
[ -d "$moddir" ] || moddir=$work/root/usr/lib/modules/$release
[ -f "$vmlinuz" ] && [ -f "$config" ] && [ -d "$moddir" ] || die "$deb lacks vmlinuz, config or modules"
# BTF is what CO-RE relocates against; a kernel without it cannot run the agent at all.
grep -q '^CONFIG_DEBUG_INFO_BTF=y' "$config" || die "$pkg has no CONFIG_DEBUG_INFO_BTF"

mkdir -p "$work/out"
cp "$vmlinuz" "$work/out/vmlinuz"
cp "$config" "$work/out/config"
echo "$release" >"$work/out/release"
echo "$pkg $version" >"$work/out/package"
bash "$HERE/collect-modules.sh" "$moddir" "$work/out/modules"

rm -rf "$dir"
mv "$work/out" "$dir"
touch "$dir/.complete"
ln -sfn "$(basename "$dir")" "$CACHE/series-$series"; touch "$CACHE/.resolved-$series"
log "cached $pkg $version ($release) in $dir"
echo "$dir"
