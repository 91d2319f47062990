#!/usr/bin/env bash
# make bench-acl: what ACL checks cost. GET and SET throughput (redis-benchmark -c 50,
# -P 1 and -P 16, random keys) for a restricted user, on redlite and on the reference
# redis-server 7.0 side by side in one run, and the same on redlite as the `default`
# user (which may run everything: one flag test per command), to report the cost of
# the check as restricted / default.
#
# The restricted user: `on >pw ~key:* ~other:* -@all +@string +@connection` (key
# patterns and category rules, so every GET and SET is checked against both).
# Each figure is the median of ROUNDS rounds, the servers alternating. The table goes
# to stdout and into benches/BENCHMARKS.md as its "## ACL" section.
#
# Needs redis-server, redis-benchmark and redis-cli.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
N_P1=${N_P1:-100000}
N_P16=${N_P16:-500000}
OUT=${OUT:-benches/BENCHMARKS.md}

for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "bench-acl needs $tool on PATH" >&2; exit 1; }
done
source benches/common.sh

start_server redlite "$WORK/rl" --save ""; RL_PORT=$PORT
start_server redis "$WORK/rd" --save ""; RD_PORT=$PORT
for port in "$RL_PORT" "$RD_PORT"; do
  redis-cli -p "$port" ACL SETUSER bench on '>pw' '~key:*' '~other:*' -@all +@string +@connection >/dev/null
  [ "$(redis-cli -p "$port" --user bench --pass pw GET key:1 2>/dev/null)" = "" ] ||
    { echo "the bench user cannot GET on port $port" >&2; exit 1; }
  [ "$(redis-cli -p "$port" --user bench --pass pw SET nope 1 2>/dev/null | cut -c1-6)" = NOPERM ] ||
    { echo "the bench user is not restricted on port $port" >&2; exit 1; }
  redis-cli -p "$port" ACL LOG RESET >/dev/null # (the refusal just checked)
done

RESULTS="$WORK/results"
: >"$RESULTS"
# run LABEL PORT P AUTH...: one redis-benchmark run of SET and GET; appends
# "LABEL-set-P rps" and "LABEL-get-P rps".
run() {
  local label=$1 port=$2 p=$3; shift 3
  local n=$N_P1; [ "$p" = 16 ] && n=$N_P16
  redis-benchmark -p "$port" "$@" --csv -c 50 -n "$n" -P "$p" -r 100000 -t ping_mbulk,set,get 2>/dev/null |
    grep -v '^"test"' | tr -d '"' |
    awk -F, -v l="$label" -v p="$p" '{print l "-" tolower($1) "-P" p, $2}' >>"$RESULTS"
}

for round in $(seq 1 "$ROUNDS"); do
  for p in 1 16; do
    run redlite_restricted "$RL_PORT" "$p" --user bench -a pw
    run redis_restricted "$RD_PORT" "$p" --user bench -a pw
    run redlite_default "$RL_PORT" "$p"
    run redis_default "$RD_PORT" "$p"
  done
  echo "round $round done" >&2
done
# Nothing was refused but redis-benchmark's own CONFIG GET at startup: every GET and
# SET was allowed (ACL LOG's objects are the refused commands, keys or channels).
for port in "$RL_PORT" "$RD_PORT"; do
  denied=$(redis-cli -p "$port" ACL LOG 100 | awk 'prev == "object" && $0 != "config|get" {n++} {prev = $0} END {print n + 0}')
  [ "$denied" = 0 ] || { echo "port $port logged $denied unexpected ACL denials" >&2; exit 1; }
done

med() { awk -v l="$1" '$1 == l {print $2}' "$RESULTS" | median; }
{
  echo "## ACL: \`make bench-acl\`"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $(redis-server --version | cut -d' ' -f1-3)"
  echo "- method: redis-benchmark \`-c 50 -r 100000 -t ping_mbulk,set,get\`, -P 1 ($N_P1 requests) and -P 16"
  echo "  ($N_P16), $ROUNDS rounds, median. The restricted user is"
  echo "  \`on >pw ~key:* ~other:* -@all +@string +@connection\` on both servers; \`default\` may"
  echo "  run everything."
  echo
  echo "| test | redlite, restricted | redis, restricted | ratio | redlite, default | redis, default | ratio, default | cost (restricted / default) | Redis's cost |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for t in ping_mbulk-P1 set-P1 get-P1 ping_mbulk-P16 set-P16 get-P16; do
    a=$(med "redlite_restricted-$t"); b=$(med "redis_restricted-$t")
    d=$(med "redlite_default-$t"); e=$(med "redis_default-$t")
    echo "| ${t/-/ } (rps) | $a | $b | $(ratio "$a" "$b") | $d | $e | $(ratio "$d" "$e") | $(ratio "$a" "$d") | $(ratio "$b" "$e") |"
  done
  echo
  echo "ratio is redlite / Redis with the same user (above 1: redlite is faster); cost is a"
  echo "server's restricted user over its default user (1.00: the check is free). PING at"
  echo "-P 1 is the ceiling of any command at -P 1: it does nothing but the round trip, which"
  echo "wakes one thread per request (see the README's \"Benchmarks\")."
} >"$WORK/section.md"
write_section "ACL: \`make bench-acl\`" "$WORK/section.md" "$OUT"
