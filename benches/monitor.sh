#!/usr/bin/env bash
# make bench-monitor: SET throughput with one MONITOR client attached, redlite against
# the reference redis-server 7.0, side by side in one run (issue #19's measure).
#
# - SET key:__rand_int__ value, redis-benchmark -c 50 at -P 16 and -P 1, with a
#   `redis-cli monitor` reading every line into /dev/null;
# - the same without the monitor, for the cost of watching.
# Each figure is the median of ROUNDS rounds, the servers alternating. The table goes to
# stdout and into benches/BENCHMARKS.md as its "## MONITOR" section.
#
# Needs redis-server, redis-benchmark and redis-cli.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
N_P16=${N_P16:-1000000}
N_P1=${N_P1:-100000}
OUT=${OUT:-benches/BENCHMARKS.md}

source benches/common.sh
need_tools bench-monitor
start_pair

for round in $(seq 1 "$ROUNDS"); do
  for s in redlite redis; do
    port=$(port_of $s)
    rps plain_P16 $s -c 50 -n "$N_P16" -P 16 -r 100000 SET key:__rand_int__ value
    redis-cli -p "$port" MONITOR >/dev/null &
    mon=$!
    sleep 0.2
    rps monitored_P16 $s -c 50 -n "$N_P16" -P 16 -r 100000 SET key:__rand_int__ value
    rps monitored_P1 $s -c 50 -n "$N_P1" -P 1 -r 100000 SET key:__rand_int__ value
    kill "$mon" 2>/dev/null || true
    wait "$mon" 2>/dev/null || true
    rps plain_P1 $s -c 50 -n "$N_P1" -P 1 -r 100000 SET key:__rand_int__ value
  done
  echo "round $round done" >&2
done

{
  echo "## MONITOR: \`make bench-monitor\`"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $(redis-server --version | cut -d' ' -f1-3)"
  echo "- method: the two servers alternating, $ROUNDS rounds, median. SET"
  echo "  \`key:__rand_int__ value\` with redis-benchmark \`-c 50 -r 100000\`, with one"
  echo "  \`redis-cli monitor\` attached (reading into /dev/null) and without."
  echo
  echo "| measure | redlite rps | redis rps | ratio |"
  echo "|---|---:|---:|---:|"
  for l in monitored_P16 monitored_P1 plain_P16 plain_P1; do
    a=$(med $l redlite); b=$(med $l redis)
    echo "| SET $l | $a | $b | $(ratio "$a" "$b") |"
  done
  echo
  echo "Ratios are redlite / Redis: above 1 is better."
} >"$WORK/section.md"
write_section "MONITOR: \`make bench-monitor\`" "$WORK/section.md" "$OUT"
