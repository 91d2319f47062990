#!/usr/bin/env bash
# make bench-compare: redlite against the reference redis-server 7.0, side by side.
#
# Starts both servers on free ports with saving off, runs the same redis-benchmark
# invocations against each, alternating, for ROUNDS rounds, and reports the median of
# each figure: requests per second, p50 and p99 latency, and the server's CPU time per
# operation (from /proc/<pid>/stat), split into user and kernel time, with the server
# threads' context switches per request (from /proc/<pid>/task/*/status). Then memory
# per key after 1,000,000 SETs of 100-byte values, and SAVE time, dump size and load
# time for that data set.
# Prints a markdown table and writes it to benches/BENCHMARKS.md.
#
# Then tail latency (issue #22), the "## Tail latency" section: p99, p99.9 and the
# slowest request of redis-benchmark runs with 100-byte values, for SET and GET over
# KEYS keys at -c 50 and -c 500, a growing keyspace (GROW_N SETs of random new keys), and
# SET and GET while a BGSAVE of KEYS keys runs. ONLY=latency runs just that part (and
# leaves the rest of BENCHMARKS.md as it is).
#
# Needs only redis-server, redis-benchmark, redis-cli and coreutils/awk.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
N_P1=${N_P1:-100000}
N_P16=${N_P16:-500000}
N_C1000=${N_C1000:-100000}
KEYS=${KEYS:-1000000}
N_LAT=${N_LAT:-200000}
GROW_N=${GROW_N:-600000}
LAT_ROUNDS=${LAT_ROUNDS:-$ROUNDS}
ONLY=${ONLY:-}
OUT=${OUT:-benches/BENCHMARKS.md}
# redis-benchmark's -t names. SPOP and ZPOPMIN pop from keys the benchmark never fills
# (FLUSHALL runs before each test), so they measure the empty-key reply on both servers.
TESTS="ping_inline ping_mbulk set get incr lpush rpush lpop rpop sadd hset spop zadd
  zpopmin lrange_100 lrange_300 lrange_500 lrange_600 mset"
# The command each test needs, to skip tests whose commands redlite lacks so far.
declare -A NEEDS=([ping_inline]=ping [ping_mbulk]=ping [set]=set [get]=get [incr]=incr
  [lpush]=lpush [rpush]=rpush [lpop]=lpop [rpop]=rpop [sadd]=sadd [hset]=hset [spop]=spop
  [zadd]=zadd [zpopmin]=zpopmin [lrange_100]=lrange [lrange_300]=lrange [lrange_500]=lrange
  [lrange_600]=lrange [mset]=mset)

for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "bench-compare needs $tool on PATH" >&2; exit 1; }
done
source benches/common.sh

start_server redlite "$WORK/rl" --save ""; RL_PORT=$PORT; RL_PID=$PID
start_server redis "$WORK/rd" --save ""; RD_PORT=$PORT; RD_PID=$PID

# latency SERVER LABEL ROUND args...: one redis-benchmark run (full output, 3 digits),
# appending "label server round p99 p99.9 max" (ms) to $LAT_RESULTS. The percentiles
# are read off its "Latency by percentile distribution": the first line at or above
# 99% and 99.9% (HdrHistogram halves the distance each line, so "p99" is the 99.2%
# line and "p99.9" the 99.902% one, on both servers alike), and the 100% line.
LAT_RESULTS="$WORK/latency"
: >"$LAT_RESULTS"
latency() {
  local server=$1 label=$2 round=$3; shift 3
  redis-benchmark -p "$(port_of "$server")" --precision 3 "$@" 2>/dev/null | tr '\r' '\n' |
    awk -v l="$label" -v s="$server" -v r="$round" '
      /^Latency by percentile/ { on = 1; next }
      /^Cumulative distribution/ { on = 0 }
      on && / milliseconds / { p = $1; sub("%", "", p)
        if (p + 0 >= 99 && p99 == "") p99 = $3
        if (p + 0 >= 99.9 && p999 == "") p999 = $3
        max = $3 }
      END { if (max != "") print l, s, r, p99, p999, max }' >>"$LAT_RESULTS"
}
bgsave_done() { # port: waits until no BGSAVE runs
  while redis-cli -p "$1" INFO persistence | grep -q '^rdb_bgsave_in_progress:1'; do sleep 0.1; done
}
lat_args=(-d 100 -r "$KEYS" -n "$N_LAT")
run_latency() {
  for round in $(seq 1 "$LAT_ROUNDS"); do
    for s in redlite redis; do
      port=$(port_of $s)
      redis-cli -p "$port" FLUSHALL >/dev/null
      load_keys "$port"
      for c in 50 500; do
        for t in set get; do
          latency $s "${t}_c${c}" "$round" -c "$c" -t "$t" "${lat_args[@]}"
        done
      done
      redis-cli -p "$port" FLUSHALL >/dev/null
      latency $s grow_c50 "$round" -c 50 -t set -d 100 -r 100000000 -n "$GROW_N"
      redis-cli -p "$port" FLUSHALL >/dev/null
      load_keys "$port"
      for t in set get; do
        bgsave_done "$port"
        redis-cli -p "$port" BGSAVE >/dev/null
        latency $s "${t}_during_bgsave" "$round" -c 50 -t "$t" "${lat_args[@]}"
      done
      bgsave_done "$port"
      redis-cli -p "$port" FLUSHALL >/dev/null
    done
    echo "latency round $round done" >&2
  done
  {
    echo "## Tail latency (issue #22)"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; written by \`make bench-compare\`"
    echo "- method: redis-benchmark, 100-byte values, the two servers alternating, $LAT_ROUNDS rounds:"
    echo "  SET and GET with \`-r $KEYS -n $N_LAT\` over $KEYS keys loaded first; \`grow\`: $GROW_N"
    echo "  SETs of random new keys (\`-r 100000000\`) into an empty server; \`during_bgsave\`:"
    echo "  the same SET or GET run started right after a BGSAVE of $KEYS keys."
    echo "  p99 and p99.9 are redis-benchmark's 99.2% and 99.902% percentile lines, median of"
    echo "  the rounds; max is the slowest request, median and worst of the rounds (ms)."
    echo "  Ratios are redlite / Redis."
    echo
    echo "| case | p99 redlite | p99 redis | p99.9 redlite | p99.9 redis | p99.9 ratio | max redlite | max redis | max ratio | worst max redlite | worst max redis |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for label in $(awk '{print $1}' "$LAT_RESULTS" | awk '!seen[$0]++'); do
      declare -A v=()
      for s in redlite redis; do
        for f in 4 5 6; do
          v[$s$f]=$(awk -v l="$label" -v s="$s" -v f="$f" '$1 == l && $2 == s {print $f}' "$LAT_RESULTS" | median)
        done
        v[${s}worst]=$(awk -v l="$label" -v s="$s" '$1 == l && $2 == s {print $6}' "$LAT_RESULTS" | sort -g | tail -1)
      done
      echo "| $label | ${v[redlite4]} | ${v[redis4]} | ${v[redlite5]} | ${v[redis5]} | $(ratio "${v[redlite5]}" "${v[redis5]}") | ${v[redlite6]} | ${v[redis6]} | $(ratio "${v[redlite6]}" "${v[redis6]}") | ${v[redliteworst]} | ${v[redisworst]} |"
    done
  } >"$WORK/latency.md"
}

if [ "$ONLY" = latency ]; then
  run_latency
  write_section "Tail latency (issue #22)" "$WORK/latency.md" "$OUT"
  exit 0
fi

# The tests both servers can run.
RUN_TESTS=()
for t in $TESTS; do
  if [ "$(redis-cli -p "$RL_PORT" COMMAND INFO "${NEEDS[$t]}" | head -c 1)" != "" ]; then
    RUN_TESTS+=("$t")
  else
    echo "skipping $t: redlite has no ${NEEDS[$t]} yet" >&2
  fi
done

# bench SERVER PORT PID LABEL ROUND args...: appends
# "label server round rps p50 p99 cpu_us user_us sys_us switches_per_request" to results
RESULTS="$WORK/results"
: >"$RESULTS"
bench() {
  local server=$1 port=$2 pid=$3 label=$4 round=$5; shift 5
  local before after sw_before sw_after csv requests lines
  redis-cli -p "$port" FLUSHALL >/dev/null
  sw_before=$(switches "$pid")
  before=$(cpu_ticks "$pid")
  csv=$(redis-benchmark -p "$port" --csv "$@" 2>/dev/null | grep -v '^"test"')
  after=$(cpu_ticks "$pid")
  sw_after=$(switches "$pid")
  lines=$(echo "$csv" | wc -l)
  requests=$(( $(echo "$*" | sed -E 's/.*-n ([0-9]+).*/\1/') * lines ))
  # The last line is the test itself (LRANGE runs an LPUSH fill first).
  # CSV columns: test, rps, avg, min, p50, p95, p99, max (latencies in ms).
  echo "$csv" | tail -1 | tr -d '"' | awk -F, -v l="$label" -v s="$server" -v r="$round" \
    -v before="$before" -v after="$after" -v tick="$TICK_US" -v n="$requests" \
    -v sw="$(switch_delta "$sw_before" "$sw_after")" \
    'BEGIN { split(before, b, " "); split(after, a, " ")
             user = (a[1] - b[1]) * tick / n; sys = (a[2] - b[2]) * tick / n }
     { printf "%s %s %s %s %s %s %.3f %.3f %.3f %.4f\n", l, s, r, $2, $5, $7, user + sys, user, sys, sw / n }' >>"$RESULTS"
}

for round in $(seq 1 "$ROUNDS"); do
  for t in "${RUN_TESTS[@]}"; do
    for P in 1 16; do
      n=$N_P1; [ "$P" = 16 ] && n=$N_P16
      for s in redlite redis; do
        if [ $s = redlite ]; then port=$RL_PORT pid=$RL_PID; else port=$RD_PORT pid=$RD_PID; fi
        bench $s "$port" "$pid" "${t}_P$P" "$round" -c 50 -r 100000 -P "$P" -n "$n" -t "$t"
      done
    done
  done
  for t in set get; do
    for s in redlite redis; do
      if [ $s = redlite ]; then port=$RL_PORT pid=$RL_PID; else port=$RD_PORT pid=$RD_PID; fi
      bench $s "$port" "$pid" "${t}_c1000" "$round" -c 1000 -r 100000 -P 1 -n "$N_C1000" -t "$t"
    done
  done
  echo "round $round done" >&2
done

# Memory and persistence: fresh servers, saving to their own dirs.
declare -A MEM SAVE_MS DUMP_BYTES LOAD_MS
for s in redlite redis; do
  dir="$WORK/persist-$s"
  start_server $s "$dir" --save "" --dbfilename dump.rdb
  base=$(rss_kb "$PID")
  load_keys "$PORT"
  [ "$(redis-cli -p "$PORT" DBSIZE)" = "$KEYS" ] || { echo "$s: DBSIZE is not $KEYS" >&2; exit 1; }
  MEM[$s]=$(( ($(rss_kb "$PID") - base) * 1024 / KEYS ))
  t0=$(now_ms); redis-cli -p "$PORT" SAVE >/dev/null; t1=$(now_ms)
  SAVE_MS[$s]=$((t1 - t0))
  DUMP_BYTES[$s]=$(stat -c %s "$dir/dump.rdb")
  redis-cli -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  wait "$PID" 2>/dev/null || true
  t0=$(now_ms)
  start_server $s "$dir" --save "" --dbfilename dump.rdb
  t1=$(now_ms)
  LOAD_MS[$s]=$((t1 - t0))
  [ "$(redis-cli -p "$PORT" DBSIZE)" = "$KEYS" ] || { echo "$s: reload lost keys" >&2; exit 1; }
  redis-cli -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
done

# The report.
split_rows=""
{
  echo "# redlite vs Redis: \`make bench-compare\`"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "- redlite: $("$REDLITE" --version)"
  echo "- redis: $(redis-server --version)"
  echo "- method: redis-benchmark, the two servers alternating, $ROUNDS rounds, median of each figure;"
  echo "  \`-c 50 -r 100000\` with -n $N_P1 at -P 1 and -n $N_P16 at -P 16; SET and GET also at \`-c 1000\`."
  echo "  CPU/op is the server's user+sys time over the run divided by its requests."
  echo "  Ratios are redlite / Redis: above 1 is better for rps, below 1 is better for latency and CPU."
  echo
  echo "| test | rps redlite | rps redis | rps ratio | p50 ms redlite | p50 ms redis | p99 ms redlite | p99 ms redis | p99 ratio | CPU µs/op redlite | CPU µs/op redis | CPU ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for label in $(awk '{print $1}' "$RESULTS" | awk '!seen[$0]++'); do
    row="| $label"
    declare -A v=()
    for s in redlite redis; do
      for f in 4 5 6 7 8 9 10; do
        v[$s$f]=$(awk -v l="$label" -v s="$s" -v f="$f" '$1 == l && $2 == s {print $f}' "$RESULTS" | median)
      done
    done
    row+=" | ${v[redlite4]} | ${v[redis4]} | $(ratio "${v[redlite4]}" "${v[redis4]}")"
    row+=" | ${v[redlite5]} | ${v[redis5]} | ${v[redlite6]} | ${v[redis6]} | $(ratio "${v[redlite6]}" "${v[redis6]}")"
    row+=" | ${v[redlite7]} | ${v[redis7]} | $(ratio "${v[redlite7]}" "${v[redis7]}") |"
    echo "$row"
    split_rows+="| $label | ${v[redlite8]} | ${v[redis8]} | $(ratio "${v[redlite8]}" "${v[redis8]}")"
    split_rows+=" | ${v[redlite9]} | ${v[redis9]} | $(ratio "${v[redlite9]}" "${v[redis9]}")"
    split_rows+=" | ${v[redlite10]} | ${v[redis10]} |"$'\n'
  done
  echo
  echo "Where the CPU time goes: the same runs' CPU per op split into user and kernel (sys)"
  echo "time, and the server threads' context switches per request."
  echo
  echo "| test | user µs/op redlite | user µs/op redis | user ratio | sys µs/op redlite | sys µs/op redis | sys ratio | switches/req redlite | switches/req redis |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s' "$split_rows"
  echo
  echo "Memory and persistence, $KEYS keys \`key:%012d\` with 100-byte values:"
  echo
  echo "| figure | redlite | redis | ratio |"
  echo "|---|---:|---:|---:|"
  echo "| resident bytes per key | ${MEM[redlite]} | ${MEM[redis]} | $(ratio "${MEM[redlite]}" "${MEM[redis]}") |"
  echo "| SAVE time (ms) | ${SAVE_MS[redlite]} | ${SAVE_MS[redis]} | $(ratio "${SAVE_MS[redlite]}" "${SAVE_MS[redis]}") |"
  echo "| dump size (bytes) | ${DUMP_BYTES[redlite]} | ${DUMP_BYTES[redis]} | $(ratio "${DUMP_BYTES[redlite]}" "${DUMP_BYTES[redis]}") |"
  echo "| startup with the dump, until PING answers (ms) | ${LOAD_MS[redlite]} | ${LOAD_MS[redis]} | $(ratio "${LOAD_MS[redlite]}" "${LOAD_MS[redis]}") |"
} >"$WORK/report.md"
# Sections added by hand below the generated part (they start at the first "## "
# heading) are kept.
if [ -f "$OUT" ] && grep -q '^## ' "$OUT"; then
  { echo; sed -n '/^## /,$p' "$OUT"; } >>"$WORK/report.md"
fi
cp "$WORK/report.md" "$OUT"
cat "$OUT"

# Tail latency last, on the first two servers (run_latency empties them first).
run_latency
write_section "Tail latency (issue #22)" "$WORK/latency.md" "$OUT" >/dev/null
cat "$WORK/latency.md"
