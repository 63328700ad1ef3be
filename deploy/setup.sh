#!/usr/bin/env bash
# Brings a fresh Debian/Ubuntu machine to the point where `npm start` and `npm test`
# work: installs missing system packages, then rebuilds only what is stale (BPF
# objects, the native addon, the TypeScript). Safe to run on every start.
#
#   deploy/setup.sh              runtime packages + build
#   deploy/setup.sh --dev        also the tools tests compare against (perf, tshark, pprof, ...)
#   deploy/setup.sh --build-only no package installs
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

mode=runtime
for a in "$@"; do
  case "$a" in
    --dev) mode=dev ;;
    --build-only) mode=build ;;
    *) echo "setup: unknown flag $a" >&2; exit 2 ;;
  esac
done

log() { printf 'setup: %s\n' "$*" >&2; }

runtime_pkgs=(clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config bpftool make g++ python3)
dev_pkgs=(linux-perf bpftrace tshark wrk golang-go golang-github-google-pprof-dev chromium
          binutils elfutils iproute2 curl util-linux procps openssl python3-prometheus-client
          qemu-system-x86 busybox-static xz-utils zstd gdb # qemu..gdb: the kernel matrix (test/kernels; gdb reads a crashed guest agent's core)
          rustc) # the Rust unwinding fixture (test/fixtures/rust)

missing_pkgs() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$p"
  done
}

install_pkgs() {
  local missing
  mapfile -t missing < <(missing_pkgs "$@")
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing system packages: ${missing[*]}"
    log "fix: run as root once (sudo npm run setup), or: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "$mode" != build ]; then
  install_pkgs "${runtime_pkgs[@]}"
  [ "$mode" = dev ] && install_pkgs "${dev_pkgs[@]}"
  # kubectl renders deploy/kubernetes in tests. Debian's kubernetes-client conflicts with
  # another packaged kubectl (e.g. Google Cloud's), so it is installed only when none exists.
  if [ "$mode" = dev ] && ! command -v kubectl >/dev/null; then install_pkgs kubernetes-client; fi
fi

# npm dependencies (a fresh clone has none).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"
  # `npm ci`: installs exactly the committed lock and never rewrites it, so every machine gets the
  # same tree and a fresh clone stays clean. The lock records every platform's optional DuckDB
  # bindings; after adding a dependency, commit the lock that `npm install` writes.
  npm ci --no-audit --no-fund >/dev/null
fi

# BPF objects: CO-RE against the running kernel's BTF (see bpf/Makefile).
make -s -C bpf

# Native addon: rebuilt when any of its sources is newer than the binary.
addon=native/build/Release/hotspan.node
if [ ! -f "$addon" ] || [ -n "$(find native -maxdepth 1 -newer "$addon" \( -name '*.cc' -o -name '*.h' -o -name binding.gyp \) 2>/dev/null)" ] \
   || [ bpf/hotspan.h -nt "$addon" ]; then
  log "building native addon"
  (cd native && npx --no-install node-gyp rebuild --silent >/dev/null)
fi

# TypeScript: compiled when any source is newer than the last build.
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find agent src -name '*.ts' -newer "$stamp" 2>/dev/null | head -n1)" ] \
   || [ tsconfig.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  log "compiling TypeScript"
  npx --no-install tsc -p .
  touch "$stamp"
fi

# Google's pprof, built offline from Debian's Go sources: tests use it as ground truth.
if [ "$mode" = dev ] && [ ! -x test/fixtures/bin/pprof ]; then
  log "building Google pprof (GOPATH mode, offline)"
  mkdir -p test/fixtures/bin
  GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$ROOT/test/fixtures/bin/.gocache" \
    go build -o test/fixtures/bin/pprof github.com/google/pprof
fi
