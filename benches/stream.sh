#!/usr/bin/env bash
# make bench-stream: redlite's streams against the reference redis-server 7.0, side by
# side in one run.
#
# - XADD key * field value, with redis-benchmark at -P 1 and -P 16 (-c 50);
# - XRANGE key - + COUNT 100 on a stream of 100 entries (redis-benchmark, -P 1 and 16);
# - an XREADGROUP + XACK cycle: COUNT 1 reads of a prefilled stream, each followed by
#   the XACK of the entry read (the IDs are known in advance), sent by several
#   `redis-cli --pipe` clients at once, each on its own stream; cycles per second;
# - memory per entry: RSS growth after 1,000,000 XADDs of two fields
#   (`XADD mem <id> name n<i> value <i>`) on a fresh server.
# Each throughput figure is the median of ROUNDS rounds, the servers alternating. The
# table goes to stdout and into benches/BENCHMARKS.md as its "## Streams" section.
#
# Needs redis-server, redis-benchmark and redis-cli.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
N_P1=${N_P1:-100000}
N_P16=${N_P16:-500000}
N_RANGE=${N_RANGE:-50000}
CYCLES=${CYCLES:-100000}
PIPES=${PIPES:-4}
ENTRIES=${ENTRIES:-1000000}
OUT=${OUT:-benches/BENCHMARKS.md}

for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "bench-stream needs $tool on PATH" >&2; exit 1; }
done
source benches/common.sh

start_server redlite "$WORK/rl" --save ""; RL_PORT=$PORT
start_server redis "$WORK/rd" --save ""; RD_PORT=$PORT
port_of() { if [ "$1" = redlite ]; then echo "$RL_PORT"; else echo "$RD_PORT"; fi; }

RESULTS="$WORK/results"
: >"$RESULTS"
# rps LABEL SERVER ROUND args...: one redis-benchmark run; appends "label server rps".
rps() {
  local label=$1 server=$2; shift 3
  local port; port=$(port_of "$server")
  redis-benchmark -p "$port" --csv "$@" 2>/dev/null | grep -v '^"test"' | tail -1 |
    tr -d '"' | awk -F, -v l="$label" -v s="$server" '{print l, s, $2}' >>"$RESULTS"
}

# cycle_input N KEY: XREADGROUP + XACK pairs for entries 1-0 .. N-0 of KEY.
cycle_input() {
  awk -v n="$1" -v k="$2" 'BEGIN {
    kl = length(k)
    for (i = 1; i <= n; i++) {
      id = i "-0"
      printf "*9\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n$1\r\ng\r\n$1\r\nc\r\n$5\r\nCOUNT\r\n$1\r\n1\r\n$7\r\nSTREAMS\r\n$%d\r\n%s\r\n$1\r\n>\r\n", kl, k
      printf "*4\r\n$4\r\nXACK\r\n$%d\r\n%s\r\n$1\r\ng\r\n$%d\r\n%s\r\n", kl, k, length(id), id
    }
  }'
}
# fill_input N KEY: XADD KEY i-0 f v for i = 1..N.
fill_input() {
  awk -v n="$1" -v k="$2" 'BEGIN {
    kl = length(k)
    for (i = 1; i <= n; i++) {
      id = i "-0"
      printf "*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$1\r\nf\r\n$1\r\nv\r\n", kl, k, length(id), id
    }
  }'
}
for p in $(seq 1 "$PIPES"); do
  cycle_input "$((CYCLES / PIPES))" "cyc$p" >"$WORK/cycle$p"
  fill_input "$((CYCLES / PIPES))" "cyc$p" >"$WORK/fill$p"
done

for round in $(seq 1 "$ROUNDS"); do
  for s in redlite redis; do
    port=$(port_of $s)
    redis-cli -p "$port" FLUSHALL >/dev/null
    # The -P 1 ceiling: a command that does nothing, measured in the same moments.
    rps ping_P1 $s "$round" -c 50 -n "$N_P1" -P 1 PING
    rps xadd_P1 $s "$round" -c 50 -n "$N_P1" -P 1 XADD bench '*' field value
    redis-cli -p "$port" FLUSHALL >/dev/null
    rps xadd_P16 $s "$round" -c 50 -n "$N_P16" -P 16 XADD bench '*' field value
    redis-cli -p "$port" FLUSHALL >/dev/null
    for i in $(seq 1 100); do echo "XADD r $i-0 field value$i"; done | redis-cli -p "$port" >/dev/null
    rps xrange_100_P1 $s "$round" -c 50 -n "$N_RANGE" -P 1 XRANGE r - + COUNT 100
    rps xrange_100_P16 $s "$round" -c 50 -n "$N_RANGE" -P 16 XRANGE r - + COUNT 100
    # The read + ack cycle.
    redis-cli -p "$port" FLUSHALL >/dev/null
    for p in $(seq 1 "$PIPES"); do
      redis-cli -p "$port" --pipe <"$WORK/fill$p" >/dev/null
      redis-cli -p "$port" XGROUP CREATE "cyc$p" g 0 >/dev/null
    done
    t0=$(date +%s%N)
    pipes=()
    for p in $(seq 1 "$PIPES"); do
      redis-cli -p "$port" --pipe <"$WORK/cycle$p" >"$WORK/cycle_out$p" &
      pipes+=($!)
    done
    wait "${pipes[@]}" # (not a bare wait: the servers are children too)
    t1=$(date +%s%N)
    for p in $(seq 1 "$PIPES"); do
      grep -q "errors: 0," "$WORK/cycle_out$p" || { echo "$s: cycle errors: $(cat "$WORK/cycle_out$p")" >&2; exit 1; }
      left=$(redis-cli -p "$port" XPENDING "cyc$p" g | head -1)
      [ "$left" = 0 ] || { echo "$s: $left entries left pending" >&2; exit 1; }
    done
    awk -v n="$CYCLES" -v ns="$((t1 - t0))" -v s=$s 'BEGIN { printf "cycle %s %.0f\n", s, n / (ns / 1e9) }' >>"$RESULTS"
  done
  echo "round $round done" >&2
done

# Memory per entry: a fresh server each, 1M entries of two fields.
declare -A MEM
for s in redlite redis; do
  start_server $s "$WORK/mem-$s" --save ""
  base=$(rss_kb "$PID")
  awk -v n="$ENTRIES" 'BEGIN {
    for (i = 1; i <= n; i++) {
      id = i "-0"; nv = "n" i; v = i ""
      printf "*7\r\n$4\r\nXADD\r\n$3\r\nmem\r\n$%d\r\n%s\r\n$4\r\nname\r\n$%d\r\n%s\r\n$5\r\nvalue\r\n$%d\r\n%s\r\n", length(id), id, length(nv), nv, length(v), v
    }
  }' | redis-cli -p "$PORT" --pipe >/dev/null
  [ "$(redis-cli -p "$PORT" XLEN mem)" = "$ENTRIES" ] || { echo "$s: XLEN is not $ENTRIES" >&2; exit 1; }
  MEM[$s]=$(awk -v a="$(rss_kb "$PID")" -v b="$base" -v n="$ENTRIES" 'BEGIN { printf "%.1f", (a - b) * 1024 / n }')
  redis-cli -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
done

med() { awk -v l="$1" -v s="$2" '$1 == l && $2 == s {print $3}' "$RESULTS" | median; }
{
  echo "## Streams: \`make bench-stream\`"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $(redis-server --version | cut -d' ' -f1-3)"
  echo "- method: the two servers alternating, $ROUNDS rounds, median. XADD \`* field value\` and"
  echo "  XRANGE \`- + COUNT 100\` (a stream of 100 entries) with redis-benchmark \`-c 50\`;"
  echo "  the cycle is XREADGROUP COUNT 1 then XACK of the entry read, $PIPES \`redis-cli --pipe\`"
  echo "  clients on their own streams, $CYCLES cycles in all; memory is the RSS growth after"
  echo "  $ENTRIES XADDs of two fields (\`name n<i> value <i>\`) on a fresh server."
  echo
  echo "| measure | redlite | redis | ratio |"
  echo "|---|---:|---:|---:|"
  for l in ping_P1 xadd_P1 xadd_P16 xrange_100_P1 xrange_100_P16 cycle; do
    a=$(med $l redlite); b=$(med $l redis)
    unit="rps"; [ $l = cycle ] && unit="cycles/s"
    echo "| $l ($unit) | $a | $b | $(ratio "$a" "$b") |"
  done
  echo "| memory per entry (bytes) | ${MEM[redlite]} | ${MEM[redis]} | $(ratio "${MEM[redlite]}" "${MEM[redis]}") |"
  echo
  echo "Ratios are redlite / Redis: above 1 is better for throughput, below 1 for memory."
  echo "ping_P1 is PING at -P 1 in the same rounds: the most any command can reach at -P 1"
  echo "with one thread woken per request (see the README's \"Benchmarks\")."
} >"$WORK/section.md"
write_section "Streams: \`make bench-stream\`" "$WORK/section.md" "$OUT"
