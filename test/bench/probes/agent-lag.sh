#!/bin/bash
# The agent's event-loop stalls on a busy host: the built agent as `npm start` runs it (busy-host.sh;
# NODEFLAGS=... adds V8 flags to try), warmed up for WARM seconds, then /metrics scraped every 5 s
# for MEASURE seconds: CPU of all threads (no BPF: the bench has it), the max and p99 of
# hotspan_event_loop_delay_seconds over the scrapes, and RSS every 30 s.
#
#   bash test/bench/probes/agent-lag.sh [WARM=60] [MEASURE=180]   (root; after npm run build)
#
# A control for the host's own share of the lag (a process doing nothing but measure its loop):
#   node -e "const h=require('perf_hooks').monitorEventLoopDelay({resolution:10});h.enable();setTimeout(()=>console.log(h.max/1e6,h.percentile(99)/1e6),90e3)"
set -euo pipefail
cd "$(dirname "$0")/../../.."
warm=${1:-60} measure=${2:-180}
export HOTSPAN_HEALTH_PORT=${HOTSPAN_HEALTH_PORT:-7070}
# shellcheck source=test/bench/probes/busy-host.sh
source test/bench/probes/busy-host.sh
sleep "$warm"
metrics() { curl -s -m 4 "localhost:$HOTSPAN_HEALTH_PORT/metrics" || true; }
metrics >/dev/null # resets the delay histogram: the warm-up is not counted
t0=$(awk '{print $14+$15}' "/proc/$agent/stat")
lagmax=0 lagp99=0 rss=""
for ((i = 0; i < measure; i += 5)); do
  sleep 5
  m=$(metrics)
  mx=$(awk '/hotspan_event_loop_delay_seconds\{quantile="max"\}/ { print $2 * 1000 }' <<<"$m")
  p=$(awk '/hotspan_event_loop_delay_seconds\{quantile="0.99"\}/ { print $2 * 1000 }' <<<"$m")
  lagmax=$(awk -v a="$lagmax" -v b="${mx:-0}" 'BEGIN { print (b > a ? b : a) }')
  lagp99=$(awk -v a="$lagp99" -v b="${p:-0}" 'BEGIN { print (b > a ? b : a) }')
  ((i % 30 == 25)) && rss="$rss $(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$agent/status")"
done
t1=$(awk '{print $14+$15}' "/proc/$agent/stat")
echo "agent${NODEFLAGS:+ with $NODEFLAGS}; after ${warm} s, over ${measure} s:"
echo "  CPU $(awk -v t=$((t1 - t0)) -v s="$measure" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", 100 * t / hz / s }')% of one core (user+sys, all threads)" \
  "| loop lag max ${lagmax} ms, p99 ${lagp99} ms (max over 5 s scrapes) | RSS MB every 30 s:${rss}"
