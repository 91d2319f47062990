#!/usr/bin/env bash
# make bench-aof: the append-only file, redlite against the reference redis-server 7.0.
#
# - SET and INCR throughput with `appendonly yes` and `appendfsync everysec` and
#   `always`, at -P 1 and -P 16 (median of ROUNDS, the servers alternating);
# - BGREWRITEAOF time for KEYS keys (until INFO says the rewrite is done);
# - startup with that AOF, until PING answers;
# - the longest client wait (redis-benchmark's max latency) of a SET load while a
#   rewrite runs, and without one.
# Both servers write to their own directories on the same disk. Writes the table to the
# "## Append-only file" section of benches/BENCHMARKS.md (replacing it) and prints it.
# ONLY=rewrite runs just the last part (rewrite time, startup, the longest waits), prints
# its rows and leaves BENCHMARKS.md as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
N_P1=${N_P1:-50000}
N_P16=${N_P16:-300000}
KEYS=${KEYS:-1000000}
OUT=${OUT:-benches/BENCHMARKS.md}
ONLY=${ONLY:-}
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "bench-aof needs $tool on PATH" >&2; exit 1; }
done
source benches/common.sh

rps() { # port args...: requests per second of one redis-benchmark run
  redis-benchmark -p "$1" --csv "${@:2}" 2>/dev/null | grep -v '^"test"' | tail -1 |
    tr -d '"' | awk -F, '{print $2}'
}
max_ms() { # port args...: the slowest request of one run, in ms
  redis-benchmark -p "$1" --csv "${@:2}" 2>/dev/null | grep -v '^"test"' | tail -1 |
    tr -d '"' | awk -F, '{print $8}'
}
rewrite_ms() { # port: starts BGREWRITEAOF and times it until INFO says it is done
  local t0 t1
  t0=$(now_ms)
  redis-cli -p "$1" BGREWRITEAOF >/dev/null
  while :; do
    sleep 0.01
    redis-cli -p "$1" INFO persistence | grep -q '^aof_rewrite_in_progress:0' &&
      ! redis-cli -p "$1" INFO persistence | grep -q '^aof_rewrite_scheduled:1' && break
  done
  t1=$(now_ms)
  echo $((t1 - t0))
}

RESULTS="$WORK/aof-results"
: >"$RESULTS"
FSYNCS="everysec always"
[ "$ONLY" = rewrite ] && FSYNCS=""
for fsync in $FSYNCS; do
  start_server redlite "$WORK/rl-$fsync" --save "" --appendonly yes --appendfsync "$fsync" \
    --aof-use-rdb-preamble no
  RL_PORT=$PORT
  start_server redis "$WORK/rd-$fsync" --save "" --appendonly yes --appendfsync "$fsync" \
    --aof-use-rdb-preamble no
  RD_PORT=$PORT
  for round in $(seq 1 "$ROUNDS"); do
    for t in ping_mbulk set incr; do # PING: the ceiling, measured in the same moments
      for P in 1 16; do
        n=$N_P1; [ "$P" = 16 ] && n=$N_P16
        for s in redlite redis; do
          port=$RL_PORT; [ $s = redis ] && port=$RD_PORT
          echo "${t}_${fsync}_P$P $s $(rps "$port" -c 50 -r 100000 -P "$P" -n "$n" -t "$t")" >>"$RESULTS"
        done
      done
    done
    echo "$fsync round $round done" >&2
  done
  redis-cli -p "$RL_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  redis-cli -p "$RD_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
done

declare -A REWRITE LOAD WAIT_REWRITE WAIT_PLAIN
for s in redlite redis; do
  dir="$WORK/big-$s"
  extra=(--aof-use-rdb-preamble no) # both write the base as commands
  start_server $s "$dir" --save "" --appendonly yes --appendfsync everysec "${extra[@]}"
  load_keys "$PORT"
  [ "$(redis-cli -p "$PORT" DBSIZE)" = "$KEYS" ] || { echo "$s: DBSIZE is not $KEYS" >&2; exit 1; }
  REWRITE[$s]=$(rewrite_ms "$PORT")
  WAIT_PLAIN[$s]=$(max_ms "$PORT" -c 50 -r 1000000 -n 200000 -t set)
  # The load runs while a rewrite of the whole data set does.
  redis-cli -p "$PORT" BGREWRITEAOF >/dev/null
  WAIT_REWRITE[$s]=$(max_ms "$PORT" -c 50 -r 1000000 -n 200000 -t set)
  while ! redis-cli -p "$PORT" INFO persistence | grep -q '^aof_rewrite_in_progress:0'; do
    sleep 0.05
  done
  redis-cli -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  wait "$PID" 2>/dev/null || true
  t0=$(now_ms)
  start_server $s "$dir" --save "" --appendonly yes "${extra[@]}"
  t1=$(now_ms)
  LOAD[$s]=$((t1 - t0))
  [ "$(redis-cli -p "$PORT" DBSIZE)" -ge "$KEYS" ] || { echo "$s: reload lost keys" >&2; exit 1; }
  redis-cli -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
done

rewrite_rows() {
  echo "| BGREWRITEAOF until done (ms) | ${REWRITE[redlite]} | ${REWRITE[redis]} | $(ratio "${REWRITE[redlite]}" "${REWRITE[redis]}") |"
  echo "| startup with the AOF, until PING answers (ms) | ${LOAD[redlite]} | ${LOAD[redis]} | $(ratio "${LOAD[redlite]}" "${LOAD[redis]}") |"
  echo "| longest SET wait during a rewrite (ms) | ${WAIT_REWRITE[redlite]} | ${WAIT_REWRITE[redis]} | $(ratio "${WAIT_REWRITE[redlite]}" "${WAIT_REWRITE[redis]}") |"
  echo "| longest SET wait without one (ms) | ${WAIT_PLAIN[redlite]} | ${WAIT_PLAIN[redis]} | $(ratio "${WAIT_PLAIN[redlite]}" "${WAIT_PLAIN[redis]}") |"
}
if [ "$ONLY" = rewrite ]; then
  rewrite_rows
  exit 0
fi

{
  echo "## Append-only file"
  echo
  echo "\`make bench-aof\`, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; both servers"
  echo "with \`appendonly yes\` in their own directories on the same disk (with"
  echo "\`aof-use-rdb-preamble no\` on both: the base as commands). Throughput: redis-benchmark"
  echo "\`-c 50 -r 100000\`, -n $N_P1 at -P 1 and -n $N_P16 at -P 16, median of $ROUNDS rounds."
  echo "The ping_mbulk rows are PING on the same servers in the same rounds: the most any"
  echo "command can reach with one thread woken per request (see the README's \"Benchmarks\")."
  echo
  echo "| test | rps redlite | rps redis | ratio |"
  echo "|---|---:|---:|---:|"
  for label in $(awk '{print $1}' "$RESULTS" | awk '!seen[$0]++'); do
    a=$(awk -v l="$label" '$1 == l && $2 == "redlite" {print $3}' "$RESULTS" | median)
    b=$(awk -v l="$label" '$1 == l && $2 == "redis" {print $3}' "$RESULTS" | median)
    echo "| $label | $a | $b | $(ratio "$a" "$b") |"
  done
  echo
  echo "$KEYS keys \`key:%012d\` with 100-byte values (ratios below 1 are better):"
  echo
  echo "| figure | redlite | redis | ratio |"
  echo "|---|---:|---:|---:|"
  rewrite_rows
  echo
} >"$WORK/aof.md"
write_section "Append-only file" "$WORK/aof.md" "$OUT"
