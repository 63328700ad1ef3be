#!/bin/bash
# Where the agent's CPU goes, by thread: the built agent as `npm start` runs it, on a busy host
# (the split fixture and a spinner), warmed up for WARM seconds, then each thread's user+sys time
# over MEASURE seconds (from /proc/PID/task/TID/stat; BPF run time is not in it: the bench has it).
#
#   bash test/bench/probes/agent-threads.sh [WARM=60] [MEASURE=120]   (root; after npm run build)
#
# Node names no thread, so they are told apart by what they are: the main thread has the
# process's pid; V8's platform workers (GC, TurboFan) are created right after it; worker_threads
# (store, symbol loader, demangler) and DuckDB's own threads come later. Set NODEFLAGS to try
# V8 flags (NODEFLAGS=--single-threaded-gc ...).
set -euo pipefail
cd "$(dirname "$0")/../../.."
warm=${1:-60} measure=${2:-120}
# shellcheck source=test/bench/probes/busy-host.sh
source test/bench/probes/busy-host.sh
sleep "$warm"
snap() { for t in /proc/$agent/task/*; do echo "$(basename "$t") $(awk '{print $14+$15}' "$t/stat" 2>/dev/null || echo 0)"; done | sort -n; }
snap >"$d/a"; sleep "$measure"; snap >"$d/b"
hz=$(getconf CLK_TCK)
echo "agent pid $agent; % of one core over ${measure} s after ${warm} s (threads in creation order)"
join "$d/a" "$d/b" | awk -v s="$measure" -v hz="$hz" -v main="$agent" '
  { d = ($3 - $2) / hz; all += d; if (d > 0) printf "  tid %-8s %-6s %6.2f%%\n", $1, ($1 == main ? "main" : ""), 100 * d / s }
  END { printf "  total          %6.2f%%\n", 100 * all / s }'
grep -E 'VmRSS|VmHWM' "/proc/$agent/status" | tr -s ' \t' ' '
