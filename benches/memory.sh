#!/usr/bin/env bash
# make bench-memory: bytes per key of small values, redlite against the reference
# redis-server 7.0, side by side in one run, and the throughput of commands on them.
#
# - Bytes per key: a fresh server of each kind per type, KEYS keys loaded through
#   `redis-cli --pipe` with saving off, and the growth of the process's RSS divided by
#   the number of keys. Types: a string (11 bytes, the baseline), a hash of 5 fields
#   (`f1`..`f5`, 10-byte values), a set of 5 short strings, a set of 5 integers, a sorted
#   set of 5 members with integer scores, a list of 5 short elements.
# - Throughput: `redis-benchmark -P 16` of HSET, HGET, ZADD, ZSCORE, SADD and SISMEMBER
#   on one small value of each type, and LPUSH, LRANGE of 10 and LPOP on one list (N
#   elements pushed, then popped), median of ROUNDS rounds, the servers alternating.
# The tables go to stdout and into benches/BENCHMARKS.md as its "## Memory per key"
# section.
#
# Needs redis-server, redis-benchmark and redis-cli.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${KEYS:-200000}
ROUNDS=${ROUNDS:-3}
N=${N:-300000}
OUT=${OUT:-benches/BENCHMARKS.md}

source benches/common.sh
need_tools bench-memory
# PORTS=LOW-HIGH draws the servers' ports from that range (on a machine shared with other
# servers) instead of anywhere free.
if [ -n "${PORTS:-}" ]; then
  free_port() {
    local p
    while :; do
      p=$((${PORTS%-*} + RANDOM % (${PORTS#*-} - ${PORTS%-*} + 1)))
      (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
  }
fi

# commands TYPE: KEYS commands that create one key of TYPE each, in RESP.
commands() {
  awk -v n="$KEYS" -v t="$1" 'function b(s) { return sprintf("$%d\r\n%s\r\n", length(s), s) }
  BEGIN {
    for (i = 0; i < n; i++) {
      k = sprintf("key:%012d", i)
      if (t == "string") printf "*3\r\n%s%s%s", b("SET"), b(k), b("value-" sprintf("%05d", i % 100000))
      else if (t == "hash") printf "*12\r\n%s%s%s%s%s%s%s%s%s%s%s%s", b("HSET"), b(k), b("f1"), b("val-000001"), b("f2"), b("val-000002"), b("f3"), b("val-000003"), b("f4"), b("val-000004"), b("f5"), b("val-000005")
      else if (t == "set_strings") printf "*7\r\n%s%s%s%s%s%s%s", b("SADD"), b(k), b("alpha"), b("bravo"), b("charlie"), b("delta"), b("echo")
      else if (t == "set_ints") printf "*7\r\n%s%s%s%s%s%s%s", b("SADD"), b(k), b("1"), b("22"), b("333"), b("4444"), b("55555")
      else if (t == "zset") printf "*12\r\n%s%s%s%s%s%s%s%s%s%s%s%s", b("ZADD"), b(k), b("1"), b("alpha"), b("2"), b("bravo"), b("3"), b("charlie"), b("4"), b("delta"), b("5"), b("echo")
      else if (t == "list") printf "*7\r\n%s%s%s%s%s%s%s", b("RPUSH"), b(k), b("alpha"), b("bravo"), b("charlie"), b("delta"), b("echo")
    }
  }'
}
# per_key SERVER TYPE: RSS growth per key while KEYS keys of TYPE are loaded.
per_key() {
  commands "$2" >"$WORK/load"
  start_server "$1" "$WORK/$1-$2" --save ""
  local before after n
  before=$(rss_kb "$PID")
  redis-cli -p "$PORT" --pipe <"$WORK/load" >/dev/null
  n=$(redis-cli -p "$PORT" DBSIZE)
  after=$(rss_kb "$PID")
  kill "$PID"
  wait "$PID" 2>/dev/null || true
  [ "$n" = "$KEYS" ] || { echo "$1 $2: $n keys, not $KEYS" >&2; exit 1; }
  echo $(((after - before) * 1024 / n))
}

TYPES="string hash set_strings set_ints zset list"
declare -A BYTES
for t in $TYPES; do
  for s in redlite redis; do BYTES[$t.$s]=$(per_key $s "$t"); done
  echo "$t: redlite ${BYTES[$t.redlite]}, redis ${BYTES[$t.redis]}" >&2
done

start_pair
for s in redlite redis; do
  p=$(port_of $s)
  redis-cli -p "$p" HSET h f1 val-000001 f2 val-000002 f3 val-000003 f4 val-000004 f v >/dev/null
  redis-cli -p "$p" ZADD z 1 alpha 2 bravo 3 charlie 4 delta >/dev/null
  redis-cli -p "$p" SADD s 22 333 4444 55555 >/dev/null
done
OPS=(hset "HSET h f v" hget "HGET h f" zadd "ZADD z 1 m" zscore "ZSCORE z m" sadd "SADD s 1"
  sismember "SISMEMBER s 1" lpush "LPUSH l element" lrange "LRANGE l 0 9" lpop "LPOP l")
for round in $(seq 1 "$ROUNDS"); do
  for ((i = 0; i < ${#OPS[@]}; i += 2)); do
    for s in redlite redis; do
      # shellcheck disable=SC2086 # the command's words
      rps "${OPS[i]}" $s -c 50 -n "$N" -P 16 ${OPS[i + 1]}
    done
  done
  echo "round $round done" >&2
done

{
  echo "## Memory per key: \`make bench-memory\`"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $(redis-server --version | cut -d' ' -f1-3)"
  echo "- method: a fresh server per type, $KEYS keys \`key:%012d\` through \`redis-cli --pipe\`"
  echo "  with saving off, RSS growth / keys. hash: 5 fields \`f1\`..\`f5\` with 10-byte values;"
  echo "  set_strings: 5 members of 4-7 bytes; set_ints: 1, 22, 333, 4444, 55555; zset: 5 members"
  echo "  with scores 1-5; list: 5 elements of 4-7 bytes; string: an 11-byte value."
  echo
  echo "| type (bytes per key) | redlite | redis | ratio |"
  echo "|---|---:|---:|---:|"
  for t in $TYPES; do
    echo "| $t | ${BYTES[$t.redlite]} | ${BYTES[$t.redis]} | $(ratio "${BYTES[$t.redlite]}" "${BYTES[$t.redis]}") |"
  done
  echo
  echo "Ratios are redlite / Redis: below 1 means redlite uses less memory."
  echo
  echo "Commands on one small value (a 5-field hash, a 4-member sorted set, a 4-integer set)"
  echo "and on one list (LPUSH of N elements, LRANGE of 10, LPOP of them all),"
  echo "redis-benchmark \`-c 50 -P 16 -n $N\`, $ROUNDS rounds alternating, median:"
  echo
  echo "| command (rps) | redlite | redis | ratio |"
  echo "|---|---:|---:|---:|"
  for ((i = 0; i < ${#OPS[@]}; i += 2)); do
    l=${OPS[i]}
    a=$(med "$l" redlite); b=$(med "$l" redis)
    echo "| \`${OPS[i + 1]}\` | $a | $b | $(ratio "$a" "$b") |"
  done
  echo
  echo "Ratios are redlite / Redis: above 1 means redlite is faster."
} >"$WORK/section.md"
write_section "Memory per key: \`make bench-memory\`" "$WORK/section.md" "$OUT"
