#!/usr/bin/env bash
# The kernel matrix's workload, run in each guest by boot.sh (and natively on the host) from
# the repo root. It only drives the real CLI and fixtures and leaves raw evidence in
# $HOTSPAN_GUEST_SHARE; test/kernels/matrix.test.ts judges it on the host against ground
# truth (the fixtures' design and logs). Every step is timed: under qemu TCG each costs
# seconds, and the timings show where a slow kernel spends them.
#
#   out/kernel, btf          uname -r; whether /sys/kernel/btf/vmlinux exists
#   out/doctor.json          hotspan doctor --json
#   out/split.pb.gz          hotspan record of the 60/30/10 split fixture
#   out/unwind.pb.gz         hotspan record of the -O2 -fomit-frame-pointer unwind_chain fixture
#                            (unwinding on by default: every sample must reach main)
#   out/sent-traces          the trace ids sent to the C http_server, one a line
#   out/server.log           that server's own log of the requests it answered
#   out/server.pid           its pid
#   out/refused.json         {"pid","port","errno"} of a connect to a closed port
#   out/agent.log, agent-stop  the agent's stderr; "exit=<code> stop_ms=<ms>" after SIGTERM
#   out/store/               the agent's embedded store, copied after it stopped
#   out/steps                "<step> <exit code> <seconds>" per step
set -uo pipefail
out=${HOTSPAN_GUEST_SHARE:?set HOTSPAN_GUEST_SHARE to the directory for the results}
RECORD_S=${HOTSPAN_MATRIX_RECORD_S:-6}
BIN=test/fixtures/bin
CLI=dist/agent/cli.js
# Node as npm start runs it (agent/node-flags.ts; test/unit/agent/node-flags.test.ts keeps this
# line equal to it). HOTSPAN_MATRIX_NODE_FLAGS adds V8 flags for experiments.
read -r -a NODE <<<"node --expose-gc --no-wasm-dynamic-tiering --no-wasm-tier-up --no-wasm-lazy-compilation ${HOTSPAN_MATRIX_NODE_FLAGS:-}"
work=$(mktemp -d /tmp/hotspan-matrix.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
: >"$out/steps"

step() { # step NAME CMD...: runs it, logs its exit code and wall time
  local name=$1 t0=$EPOCHREALTIME rc secs
  shift
  "$@"
  rc=$?
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  echo "$name $rc $secs" >>"$out/steps"
  printf '[matrix] %-14s exit %-3s %6ss\n' "$name" "$rc" "$secs"
  return "$rc"
}

kernel_facts() {
  uname -r >"$out/kernel"
  if [ -e /sys/kernel/btf/vmlinux ]; then echo yes; else echo no; fi >"$out/btf"
}

doctor() { "${NODE[@]}" "$CLI" doctor --json >"$out/doctor.json" 2>"$out/doctor.err"; }

record_split() {
  # The fixture measures its own CPU per burner (the truth the shares are held to); its
  # cumulative file is copied just before and after the recording, whose interval it brackets.
  # Its truth file (rewritten every 100 ms) lives on the guest's tmpfs: on the 9p share those
  # writes cost the fixture enough kernel time to crowd burn_* out of its own profile (62%).
  "$BIN/split" $((RECORD_S + 30)) "$work/split.truth" &
  local split=$!
  pids+=("$split")
  # Record only once the pid is the fixture (exec done): under TCG the fork→exec gap is long, and
  # a profiler that saw the pre-exec maps names nothing (84% [unknown] in an early run).
  local i
  for i in $(seq 1 100); do [ "$(readlink "/proc/$split/exe")" = "$PWD/$BIN/split" ] && break; sleep 0.1; done
  for i in $(seq 1 50); do [ -s "$work/split.truth" ] && break; sleep 0.1; done
  cp "$work/split.truth" "$out/split.truth.before" 2>/dev/null
  "${NODE[@]}" "$CLI" record --duration "${RECORD_S}s" --pid "$split" -o "$out/split.pb.gz" >"$out/record.log" 2>&1
  local rc=$?
  cp "$work/split.truth" "$out/split.truth.after" 2>/dev/null
  kill "$split" 2>/dev/null
  echo "$split" >"$out/split.pid"
  return $rc
}

UNWIND_RECORD_S=${HOTSPAN_MATRIX_UNWIND_RECORD_S:-4}
# The .eh_frame walker in this kernel: a fixture with no frame pointers at all. Under TCG its
# tables take tens of seconds to build, so the recording starts once they are in (--unwind-wait).
record_unwind() {
  "$BIN/unwind_chain" 0 &
  local fixture=$!
  pids+=("$fixture")
  local i
  for i in $(seq 1 100); do [ "$(readlink "/proc/$fixture/exe")" = "$PWD/$BIN/unwind_chain" ] && break; sleep 0.1; done
  "${NODE[@]}" "$CLI" record --duration "${UNWIND_RECORD_S}s" --pid "$fixture" --unwind-wait 150s -o "$out/unwind.pb.gz" >"$out/unwind-record.log" 2>&1
  local rc=$?
  kill "$fixture" 2>/dev/null
  return $rc
}

# The demangler's WASM on two threads, as the agent runs it (test/fixtures/js/demangle-churn.ts),
# V8 tracing every WASM code collection. Under V8's defaults a 5.10 guest's node jumped into WASM
# code V8 had freed (SIGSEGV in 4 of 6 runs, and the agent in CI); as npm start starts node, no
# WASM code is freed (agent/node-flags.ts). The host judges the trace (matrix.test.ts).
demangle_churn() {
  "${NODE[@]}" --trace-wasm-code-gc --import tsx test/fixtures/js/demangle-churn.ts 2 >"$out/demangle.log" 2>&1
}

agent_pid=
# The agent as deployed: default 10 s windows, embedded store (tests elsewhere use 2 s windows,
# which multiply the synchronous store appends that, under TCG, block its event loop for minutes).
start_agent() {
  # qemu TCG runs this guest's node ~10x slower than the host (a cold `node -e 0` takes ~14 s), so
  # the 10 s a real node gets for SIGTERM is scaled to 180 s here (stops measured 15–95 s); the host suites keep 10 s.
  # In a guest, a crash leaves its core in the share (the host runs gdb on it: matrix.test.ts);
  # the host row leaves the machine's core_pattern alone.
  if [ -n "${HOTSPAN_GUEST_KERNEL:-}" ]; then
    ulimit -c unlimited
    echo "$out/core.%e.%p" >/proc/sys/kernel/core_pattern
  fi
  HOTSPAN_HTTP_PORT=0 HOTSPAN_HEALTH_PORT=0 HOTSPAN_SHUTDOWN_TIMEOUT=${HOTSPAN_MATRIX_SHUTDOWN_TIMEOUT:-180s} \
    "${NODE[@]}" "$CLI" agent --data-dir "$work/data" 2>"$out/agent.log" &
  agent_pid=$!
  pids+=("$agent_pid")
  local i
  for i in $(seq 1 1800); do # up to 180 s: the verifier under TCG is slow
    grep -qE 'hotspan: profiling (every process|pid [0-9]+) at [0-9]+ Hz' "$out/agent.log" && return 0
    kill -0 "$agent_pid" 2>/dev/null || { echo "agent exited before it was ready" >&2; return 1; }
    sleep 0.1
  done
  echo "agent not ready after 180 s" >&2
  return 1
}

http_traffic() {
  "$BIN/http_server" "$work/server.log" >"$work/server.port" &
  local server=$!
  pids+=("$server")
  echo "$server" >"$out/server.pid"
  local i port=
  for i in $(seq 1 100); do port=$(head -n1 "$work/server.port"); [ -n "$port" ] && break; sleep 0.1; done
  [ -n "$port" ] || { echo "http_server printed no port" >&2; return 1; }
  # One curl, one keep-alive connection, a different trace id per request (--next).
  local args=() tid
  : >"$out/sent-traces"
  for i in $(seq 1 10); do
    tid=$(printf 'c0ffee%02x%024x' "$i" "$(( $$ * 1000 + i ))")
    echo "$tid" >>"$out/sent-traces"
    [ "$i" -gt 1 ] && args+=(--next)
    args+=(-sS -o /dev/null -H "traceparent: 00-$tid-$(printf '%016x' "$i")-01" "http://127.0.0.1:$port/fast")
  done
  curl --http1.1 "${args[@]}"
}

refused_connect() {
  python3 - >"$out/refused.json" <<'EOF'
import json, os, socket
s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
try:
    socket.create_connection(('127.0.0.1', port), timeout=10)
    err = 0
except OSError as e:
    err = e.errno
print(json.dumps({"pid": os.getpid(), "port": port, "errno": err}))
EOF
}

# The agent's own deadline is HOTSPAN_SHUTDOWN_TIMEOUT (above); past STOP_WAIT_S it is killed so
# the guest still reports.
STOP_WAIT_S=${HOTSPAN_MATRIX_STOP_WAIT_S:-240}
stop_agent() {
  local t0=$EPOCHREALTIME rc i killed=
  kill -TERM "$agent_pid"
  for i in $(seq 1 $((STOP_WAIT_S * 10))); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$agent_pid" 2>/dev/null; then kill -9 "$agent_pid"; killed=" killed_after_s=$STOP_WAIT_S"; fi
  wait "$agent_pid"
  rc=$?
  echo "exit=$rc stop_ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')$killed" >"$out/agent-stop"
  cp "$work/server.log" "$out/server.log" 2>/dev/null
  cp -r "$work/data/store" "$out/store" 2>/dev/null
  return "$rc"
}

main() {
  step kernel kernel_facts
  step doctor doctor
  step record record_split
  step unwind record_unwind
  step demangle demangle_churn
  if step agent-start start_agent; then
    step http http_traffic
    step refused refused_connect
    # Flow metrics leave every 10 s (not at shutdown): wait past one export after the traffic.
    step wait-export sleep 11
    step agent-stop stop_agent
  fi
}
# One function, so bash has parsed the whole file before it runs (an edit mid-run cannot bite).
main "$@"; exit 0
