#!/usr/bin/env bash
# make bench-cache: redlite as a bounded cache against the reference redis-server 7.0,
# side by side in one run (issue #18).
#
# - The cache workload: both servers with `--maxmemory 64mb` and the policy, once with
#   allkeys-lru and once with allkeys-lfu (fresh servers for each). The client
#   (benches/cache_load.rs) draws Zipfian ranks (s = 0.99) over 2,000,000 keys
#   `key:%012d` from 50 connections, GETs each and SETs a 100-byte value on a miss. Each
#   server first gets a warm-up of WARMUP GETs (pipelined, not measured) so that it is
#   full and evicting, then ROUNDS measured runs of OPS GETs, the servers alternating;
#   round r uses seed r on both. While the client runs, the server's RSS is sampled
#   every 100 ms. Reported: the peak RSS over the measured runs (and over the warm-up,
#   apart), divided by maxmemory; the median hit rate (the client's count, and INFO's
#   keyspace_hits and keyspace_misses over the run); the median GETs per second;
#   evicted_keys over a run and used_memory after it.
# Bytes per key of every type are `make bench-memory`'s.
# The table goes to stdout and into benches/BENCHMARKS.md as its "## Memory limits"
# section.
#
# Needs redis-server, redis-benchmark and redis-cli.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
CACHE_KEYS=${CACHE_KEYS:-2000000}
OPS=${OPS:-1000000}
WARMUP=${WARMUP:-2000000}
CONNS=${CONNS:-50}
VALUE=${VALUE:-100}
ZIPF=${ZIPF:-0.99}
PIPELINE=${PIPELINE:-1}
MAXMEMORY=${MAXMEMORY:-64mb}
POLICIES=${POLICIES:-allkeys-lru allkeys-lfu}
OUT=${OUT:-benches/BENCHMARKS.md}

source benches/common.sh
need_tools bench-cache
# The workload client, built by Cargo as a bench target; its path from Cargo's report.
CLIENT=$(cargo bench --quiet --no-run --bench cache_load --message-format=json 2>/dev/null |
  grep -o '"executable":"[^"]*cache_load[^"]*"' | tail -1 | cut -d'"' -f4)
[ -x "$CLIENT" ] || { echo "bench-cache: the cache_load client did not build" >&2; exit 1; }

RESULTS="$WORK/results"
: >"$RESULTS"
declare -A PEAK # "policy server" (or "policy server warm-up") -> the highest RSS, in kB

# info_field PORT FIELD: FIELD's value in INFO, or nothing when the server has no such field.
info_field() {
  redis-cli -p "$1" INFO | tr -d '\r' | awk -F: -v f="$2" '$1 == f {print $2}'
}
# drive KEY SERVER PORT PID client-args...: runs the client against PORT while sampling
# PID's RSS every 100 ms into PEAK[KEY]; the client's result line goes to $WORK/line.
drive() {
  local key=$1 port=$3 pid=$4 client rss
  shift 4
  "$CLIENT" "$port" "$@" >"$WORK/line" &
  client=$!
  PIDS+=("$client")
  while kill -0 "$client" 2>/dev/null; do
    rss=$(rss_kb "$pid" 2>/dev/null) || { echo "bench-cache: $2 exited during the run" >&2; exit 1; }
    [ "$rss" -gt "${PEAK[$key]:-0}" ] && PEAK[$key]=$rss
    sleep 0.1
  done
  wait "$client" || { echo "bench-cache: the client failed against $2" >&2; exit 1; }
  rss=$(rss_kb "$pid" 2>/dev/null) || { echo "bench-cache: $2 exited during the run" >&2; exit 1; }
  [ "$rss" -gt "${PEAK[$key]:-0}" ] && PEAK[$key]=$rss
  return 0
}
field() { tr ' ' '\n' <"$WORK/line" | awk -F= -v f="$1" '$1 == f {print $2}'; }
# record LABEL SERVER VALUE: one line for `med`, left out when VALUE is empty.
record() { [ -z "$3" ] || echo "$1 $2 $3" >>"$RESULTS"; }
# delta BEFORE AFTER: AFTER - BEFORE, or nothing if either is missing.
delta() { [ -n "$1" ] && [ -n "$2" ] && echo $(($2 - $1)) || true; }

for policy in $POLICIES; do
  start_server redlite "$WORK/$policy-rl" --save "" --maxmemory "$MAXMEMORY" \
    --maxmemory-policy "$policy"
  RL_PORT=$PORT; RL_PID=$PID
  start_server redis "$WORK/$policy-rd" --save "" --maxmemory "$MAXMEMORY" \
    --maxmemory-policy "$policy"
  RD_PORT=$PORT; RD_PID=$PID
  pid_of() { if [ "$1" = redlite ]; then echo "$RL_PID"; else echo "$RD_PID"; fi; }
  MAXMEM_BYTES=$(redis-cli -p "$RD_PORT" CONFIG GET maxmemory | tail -1)
  for s in redlite redis; do
    drive "$policy $s warm-up" $s "$(port_of $s)" "$(pid_of $s)" \
      "$CACHE_KEYS" "$WARMUP" "$CONNS" "$VALUE" "$ZIPF" 1000 32
    echo "$policy $s warm-up: $(cat "$WORK/line")" >&2
  done
  for round in $(seq 1 "$ROUNDS"); do
    for s in redlite redis; do
      port=$(port_of $s)
      ev0=$(info_field "$port" evicted_keys)
      h0=$(info_field "$port" keyspace_hits); m0=$(info_field "$port" keyspace_misses)
      drive "$policy $s" $s "$port" "$(pid_of $s)" \
        "$CACHE_KEYS" "$OPS" "$CONNS" "$VALUE" "$ZIPF" "$round" "$PIPELINE"
      echo "$policy $s round $round: $(cat "$WORK/line")" >&2
      [ "$(field errors)" = 0 ] || echo "bench-cache: $s answered errors: $(cat "$WORK/line")" >&2
      record "$policy.hit" $s "$(awk -v r="$(field hit_rate)" 'BEGIN {printf "%.2f", r * 100}')"
      record "$policy.ops" $s "$(field ops_per_sec)"
      ev=$(delta "$ev0" "$(info_field "$port" evicted_keys)")
      record "$policy.evicted" $s "$ev"
      # Redis must be evicting during the measured runs, or the warm-up was too short.
      [ $s = redis ] && [ "$ev" = 0 ] && echo "bench-cache: redis evicted nothing in round $round; raise WARMUP" >&2
      h=$(delta "$h0" "$(info_field "$port" keyspace_hits)")
      m=$(delta "$m0" "$(info_field "$port" keyspace_misses)")
      [ -n "$h" ] && [ -n "$m" ] &&
        record "$policy.info_hit" $s "$(awk -v h="$h" -v m="$m" 'BEGIN {if (h + m) printf "%.2f", 100 * h / (h + m)}')"
      used=$(info_field "$port" used_memory)
      [ -n "$used" ] && record "$policy.used" $s "$(awk -v u="$used" 'BEGIN {printf "%.1f", u / 1048576}')"
    done
  done
  kill "$RL_PID" "$RD_PID" 2>/dev/null || true
  wait "$RL_PID" "$RD_PID" 2>/dev/null || true
done

# medv LABEL SERVER: the median, or nothing when nothing was recorded (`med` says 0).
medv() {
  awk -v l="$1" -v s="$2" '$1 == l && $2 == s {f = 1} END {exit !f}' "$RESULTS" && med "$1" "$2" || true
}
# points A B: A - B in percentage points, signed.
points() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%+.1f points", a - b }'; }
show() { [ -n "$1" ] && echo "$1" || echo "n/a"; }
declare -A R W MB
{
  echo "## Memory limits: \`make bench-cache\`"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $(redis-server --version | cut -d' ' -f1-3)"
  echo "- the cache workload (benches/cache_load.rs): \`maxmemory $MAXMEMORY\`, Zipfian GETs"
  echo "  (s = $ZIPF) over $CACHE_KEYS keys \`key:%012d\`, a SET of a $VALUE-byte value on each"
  echo "  miss, $CONNS connections (pipeline $PIPELINE); fresh servers for each policy, a"
  echo "  warm-up of $WARMUP GETs (pipeline 32), then $ROUNDS measured runs of $OPS GETs, the"
  echo "  servers alternating. Peak RSS: the highest of the samples taken every 100 ms during"
  echo "  the measured runs (and, in its own row, during the warm-up); MiB are 1024 kB. Hit rate,"
  echo "  GETs/s, evicted keys (per run) and used_memory (after a run): medians."
  echo
  echo "| policy | measure | redlite | redis | redlite vs redis | goal |"
  echo "|---|---|---:|---:|---:|---|"
  for policy in $POLICIES; do
    for s in redlite redis; do
      R[$s]=$(awk -v k="${PEAK[$policy $s]:-}" -v m="$MAXMEM_BYTES" 'BEGIN { if (k != "") printf "%.2f", k * 1024 / m }')
      W[$s]=$(awk -v k="${PEAK[$policy $s warm-up]:-}" -v m="$MAXMEM_BYTES" 'BEGIN { if (k != "") printf "%.2f", k * 1024 / m }')
      MB[$s]=$(awk -v k="${PEAK[$policy $s]:-}" 'BEGIN { if (k != "") printf "%.1f", k / 1024 }')
    done
    echo "| $policy | peak RSS in the runs (MiB) | $(show "${MB[redlite]}") | $(show "${MB[redis]}") | $(ratio "${MB[redlite]}" "${MB[redis]}") | |"
    echo "| $policy | peak RSS in the runs / maxmemory | $(show "${R[redlite]}") | $(show "${R[redis]}") | | redlite < 1.2 |"
    echo "| $policy | peak RSS in the warm-up / maxmemory | $(show "${W[redlite]}") | $(show "${W[redis]}") | | |"
    a=$(medv "$policy.hit" redlite); b=$(medv "$policy.hit" redis)
    echo "| $policy | hit rate (%) | $(show "$a") | $(show "$b") | $(points "$a" "$b") | within 2 points |"
    a=$(medv "$policy.info_hit" redlite); b=$(medv "$policy.info_hit" redis)
    echo "| $policy | hit rate by INFO keyspace_hits/misses (%) | $(show "$a") | $(show "$b") | $(points "$a" "$b") | |"
    a=$(medv "$policy.ops" redlite); b=$(medv "$policy.ops" redis)
    echo "| $policy | GETs/s | $(show "$a") | $(show "$b") | $(ratio "$a" "$b") | ≥ 1.0 |"
    a=$(medv "$policy.evicted" redlite); b=$(medv "$policy.evicted" redis)
    echo "| $policy | evicted keys per run | $(show "$a") | $(show "$b") | | |"
    a=$(medv "$policy.used" redlite); b=$(medv "$policy.used" redis)
    echo "| $policy | used_memory after a run (MiB) | $(show "$a") | $(show "$b") | | |"
  done
  echo
  echo "Bytes per key of every type: \`make bench-memory\` (its own section)."
  echo
  echo "Ratios are redlite / Redis: above 1 is better for throughput, below 1 for memory."
} >"$WORK/section.md"
write_section "Memory limits: \`make bench-cache\`" "$WORK/section.md" "$OUT"
