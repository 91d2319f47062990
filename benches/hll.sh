#!/usr/bin/env bash
# make bench-hll: redlite's HyperLogLog commands against the reference redis-server 7.0,
# side by side in one run.
#
# - PFADD of random elements (`element:__rand_int__`, -r 100000000) into one key, which
#   turns dense after the first few thousand, with redis-benchmark at -P 1 and -P 16
#   (-c 50);
# - PFADD into 10000 random keys (`hll:__rand_int__`, -r 10000): mostly small sparse
#   values, where each add walks the opcodes;
# - PFCOUNT of one dense key (its cached cardinality, refreshed after each PFADD round),
#   and PFCOUNT of three dense keys (a union: every register merged and counted each
#   time), at -P 1 and -P 16.
# Each figure is the median of ROUNDS rounds, the servers alternating. The table goes to
# stdout and into benches/BENCHMARKS.md as its "## HyperLogLog" section.
#
# Needs redis-server, redis-benchmark and redis-cli.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
N_P1=${N_P1:-100000}
N_P16=${N_P16:-500000}
N_UNION=${N_UNION:-50000}
OUT=${OUT:-benches/BENCHMARKS.md}

source benches/common.sh
need_tools bench-hll
start_pair
# fill PORT KEY N: PFADD of N distinct elements to KEY, 1000 per command.
fill() {
  awk -v n="$3" -v k="$2" 'BEGIN {
    for (i = 0; i < n; i += 1000) {
      printf "*1002\r\n$5\r\nPFADD\r\n$%d\r\n%s\r\n", length(k), k
      for (j = i; j < i + 1000; j++) { e = k ":" j; printf "$%d\r\n%s\r\n", length(e), e }
    }
  }' | redis-cli -p "$1" --pipe >/dev/null
}

for round in $(seq 1 "$ROUNDS"); do
  for s in redlite redis; do
    port=$(port_of $s)
    redis-cli -p "$port" FLUSHALL >/dev/null
    # The ceilings: a command that does nothing, measured in the same moments.
    rps ping_P1 $s -c 50 -n "$N_P1" -P 1 PING
    rps ping_P16 $s -c 50 -n "$N_P16" -P 16 PING
    rps pfadd_P1 $s -c 50 -n "$N_P1" -P 1 -r 100000000 PFADD hll element:__rand_int__
    rps pfadd_P16 $s -c 50 -n "$N_P16" -P 16 -r 100000000 PFADD hll element:__rand_int__
    rps pfadd_sparse_P16 $s -c 50 -n "$N_P16" -P 16 -r 10000 PFADD hll:__rand_int__ element:__rand_int__
    redis-cli -p "$port" FLUSHALL >/dev/null
    for k in u1 u2 u3; do fill "$port" $k 50000; done
    [ "$(redis-cli -p "$port" PFDEBUG ENCODING u1)" = dense ] || { echo "$s: u1 is not dense" >&2; exit 1; }
    redis-cli -p "$port" PFCOUNT u1 >/dev/null
    rps pfcount_P1 $s -c 50 -n "$N_P1" -P 1 PFCOUNT u1
    rps pfcount_P16 $s -c 50 -n "$N_P16" -P 16 PFCOUNT u1
    rps pfcount_3keys_P1 $s -c 50 -n "$N_UNION" -P 1 PFCOUNT u1 u2 u3
    rps pfcount_3keys_P16 $s -c 50 -n "$N_UNION" -P 16 PFCOUNT u1 u2 u3
  done
  echo "round $round done" >&2
done

{
  echo "## HyperLogLog: \`make bench-hll\`"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $(redis-server --version | cut -d' ' -f1-3)"
  echo "- method: the two servers alternating, $ROUNDS rounds, median; redis-benchmark \`-c 50\`."
  echo "  pfadd: \`PFADD hll element:__rand_int__\` (-r 100000000, one key, dense after a few"
  echo "  thousand adds); pfadd_sparse: \`PFADD hll:__rand_int__ element:__rand_int__\` (-r 10000,"
  echo "  small sparse values); pfcount: one dense key of 50000 elements (the cached value);"
  echo "  pfcount_3keys: the union of three such keys, merged and counted on every call."
  echo
  echo "| measure (rps) | redlite | redis | ratio |"
  echo "|---|---:|---:|---:|"
  for l in ping_P1 ping_P16 pfadd_P1 pfadd_P16 pfadd_sparse_P16 pfcount_P1 pfcount_P16 pfcount_3keys_P1 pfcount_3keys_P16; do
    a=$(med $l redlite); b=$(med $l redis)
    echo "| $l | $a | $b | $(ratio "$a" "$b") |"
  done
  echo
  echo "Ratios are redlite / Redis: above 1 means redlite is faster. ping_P1 and ping_P16"
  echo "are PING in the same rounds: the most any command can reach with one thread woken"
  echo "per read (see the README's \"Benchmarks\")."
} >"$WORK/section.md"
write_section "HyperLogLog: \`make bench-hll\`" "$WORK/section.md" "$OUT"
