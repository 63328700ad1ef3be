#!/usr/bin/env bash
# Copies the modules that mounting a virtio-9p root needs, with their dependencies,
# out of an extracted kernel package, decompressed (busybox insmod hands the raw
# image to init_module(2)), plus `order`: one name a line, dependencies first.
# Debian builds 9p and virtio_pci as modules; what a kernel has built in
# (modules.builtin) is skipped. Dependencies come from each module's own
# `depends=` field: the package ships no modules.dep (depmod writes it on install).
#
#   collect-modules.sh <lib/modules/RELEASE dir> <out dir>
set -euo pipefail
moddir=$1 out=$2
WANT=(9p 9pnet_virtio virtio_pci)
mkdir -p "$out"

declare -A path_of=() builtin=() seen=()
while IFS= read -r f; do
  name=${f##*/}; name=${name%%.ko*}; path_of[${name//-/_}]=$f
done < <(find "$moddir" -name '*.ko*')
if [ -f "$moddir/modules.builtin" ]; then
  while IFS= read -r f; do
    name=${f##*/}; name=${name%%.ko*}; builtin[${name//-/_}]=1
  done <"$moddir/modules.builtin"
fi

order=()
add() { # depth-first: a module's dependencies load before it
  local name=$1 src dep
  if [ -n "${seen[$name]:-}" ] || [ -n "${builtin[$name]:-}" ]; then return 0; fi
  seen[$name]=1
  src=${path_of[$name]:-}
  [ -n "$src" ] || { echo "collect-modules: $name is neither a module nor built in" >&2; exit 1; }
  case "$src" in
    *.ko.xz) xz -dc "$src" ;;
    *.ko.zst) zstd -qdc "$src" ;;
    *.ko.gz) gzip -dc "$src" ;;
    *) cat "$src" ;;
  esac >"$out/$name.ko"
  # .modinfo is NUL-separated key=value strings; `depends=` lists the module's imports.
  for dep in $(tr '\0' '\n' <"$out/$name.ko" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '); do
    add "${dep//-/_}"
  done
  order+=("$name")
}
for m in "${WANT[@]}"; do add "$m"; done
printf '%s\n' "${order[@]}" >"$out/order"
echo "collect-modules: ${moddir##*/}: ${order[*]:-(all built in)}" >&2
