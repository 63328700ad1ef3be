# Sourced by the probes (cwd: the repository): the built agent as `npm start` runs it, plus
# $NODEFLAGS (V8 flags to try), beside the split fixture and a spinner that keep both CPUs busy.
# Leaves its pid in $agent and its data dir in $d; everything is stopped and removed on exit.
d=$(mktemp -d)
test/fixtures/bin/split 100000 "$d/truth" >/dev/null 2>&1 & fixture=$!
(while :; do :; done) & spinner=$!
# shellcheck disable=SC2086
node --expose-gc --no-wasm-dynamic-tiering --no-wasm-tier-up --no-wasm-lazy-compilation ${NODEFLAGS:-} dist/agent/cli.js agent --data-dir "$d" >"$d/log" 2>&1 & agent=$!
trap 'kill $agent $fixture $spinner 2>/dev/null; wait 2>/dev/null; rm -rf "$d"' EXIT
