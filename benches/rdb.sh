#!/usr/bin/env bash
# make bench-rdb: Redis's RDB format, redlite against the reference redis-server 7.0,
# side by side in one run.
#
# - loading: redis-server builds a dataset of KEYS keys (60% strings of 50 bytes, and
#   10% each of 5-field hashes, 5-member sets, 5-member sorted sets and 5-element
#   lists) and SAVEs it; each server is then started on a copy of that dump.rdb, and
#   the load time is the one it logs ("DB loaded from disk: N seconds");
# - DUMP of a small hash, with redis-benchmark at -P 1 and -P 16 (-c 50);
# - RESTORE ... REPLACE of that hash's payload, N_RESTORE times, sent by PIPES
#   `redis-cli --pipe` clients at once (a payload holds NUL bytes, which
#   redis-benchmark's arguments cannot carry), each client replacing its own key;
#   restores per second.
# Each figure is the median of ROUNDS rounds, the servers alternating. The table goes
# to stdout and into benches/BENCHMARKS.md as its "## RDB" section.
#
# Needs redis-server, redis-benchmark and redis-cli.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
KEYS=${KEYS:-1000000}
N_P1=${N_P1:-100000}
N_P16=${N_P16:-500000}
N_RESTORE=${N_RESTORE:-200000}
PIPES=${PIPES:-4}
OUT=${OUT:-benches/BENCHMARKS.md}
ROWS=${ROWS:-load dump restore}
has() { [[ " $ROWS " == *" $1 "* ]]; }

for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "bench-rdb needs $tool on PATH" >&2; exit 1; }
done
source benches/common.sh

RESULTS="$WORK/results"
: >"$RESULTS"
RDB_MB=0

if has load; then
# The dataset, written by Redis.
start_server redis "$WORK/gen" --save "" --enable-debug-command yes
GEN_PORT=$PORT
strings=$((KEYS * 6 / 10)); each=$((KEYS / 10))
redis-cli -p "$GEN_PORT" DEBUG POPULATE "$strings" str 50 >/dev/null
awk -v n="$each" 'BEGIN {
  for (i = 0; i < n; i++) {
    printf "*12\r\n$4\r\nHSET\r\n$%d\r\nh:%d\r\n", length("h:" i), i
    for (j = 0; j < 5; j++) printf "$2\r\nf%d\r\n$%d\r\n%d\r\n", j, length(i * 7 + j ""), i * 7 + j
    printf "*7\r\n$4\r\nSADD\r\n$%d\r\ns:%d\r\n", length("s:" i), i
    for (j = 0; j < 5; j++) printf "$2\r\nm%d\r\n", j
    printf "*12\r\n$4\r\nZADD\r\n$%d\r\nz:%d\r\n", length("z:" i), i
    for (j = 0; j < 5; j++) printf "$1\r\n%d\r\n$2\r\nm%d\r\n", j, j
    printf "*7\r\n$5\r\nRPUSH\r\n$%d\r\nl:%d\r\n", length("l:" i), i
    for (j = 0; j < 5; j++) printf "$5\r\nitem%d\r\n", j
  }
}' | redis-cli -p "$GEN_PORT" --pipe >/dev/null
[ "$(redis-cli -p "$GEN_PORT" DBSIZE)" = "$((strings + 4 * each))" ] || { echo "dataset incomplete" >&2; exit 1; }
redis-cli -p "$GEN_PORT" SAVE >/dev/null
cp "$WORK/gen/dump.rdb" "$WORK/dataset.rdb"
RDB_MB=$(awk -v b="$(stat -c %s "$WORK/dataset.rdb")" 'BEGIN { printf "%.1f", b / 1048576 }')
redis-cli -p "$GEN_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true

# load_once SERVER ROUND: starts SERVER on a copy of the dataset, records its load time.
load_once() {
  local s=$1 dir="$WORK/load-$1-$2"
  mkdir -p "$dir"
  cp "$WORK/dataset.rdb" "$dir/dump.rdb"
  start_server "$s" "$dir" --save ""
  [ "$(redis-cli -p "$PORT" DBSIZE)" = "$KEYS" ] || { echo "$s loaded $(redis-cli -p "$PORT" DBSIZE) keys" >&2; exit 1; }
  secs=$(grep -o 'DB loaded from disk: [0-9.]* seconds' "$dir/log" | awk '{print $5}')
  echo "load $s $secs" >>"$RESULTS"
  redis-cli -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  rm -rf "$dir"
}

for round in $(seq 1 "$ROUNDS"); do
  for s in redlite redis; do load_once $s "$round"; done
done
fi

start_server redlite "$WORK/rl" --save ""; RL_PORT=$PORT
start_server redis "$WORK/rd" --save ""; RD_PORT=$PORT
port_of() { if [ "$1" = redlite ]; then echo "$RL_PORT"; else echo "$RD_PORT"; fi; }

rps() {
  local label=$1 server=$2; shift 2
  redis-benchmark -p "$(port_of "$server")" --csv "$@" 2>/dev/null | grep -v '^"test"' | tail -1 |
    tr -d '"' | awk -F, -v l="$label" -v s="$server" '{print l, s, $2}' >>"$RESULTS"
}

# The RESTORE input: Redis's payload of the hash.
for s in redlite redis; do
  redis-cli -p "$(port_of $s)" HSET src f0 v0 f1 v1 f2 12 f3 v3 f4 v4 >/dev/null
done
redis-cli -p "$RD_PORT" --raw DUMP src | head -c -1 >"$WORK/payload"
PLEN=$(stat -c %s "$WORK/payload")
# Client p restores key r:p again and again (REPLACE): one command, repeated by doubling.
n_each=$((N_RESTORE / PIPES))
for p in $(seq 1 "$PIPES"); do
  k="r:$p"; one="$WORK/one$p"; all="$WORK/restore$p"
  { printf '*5\r\n$7\r\nRESTORE\r\n$%d\r\n%s\r\n$1\r\n0\r\n$%d\r\n' ${#k} "$k" "$PLEN"
    cat "$WORK/payload"; printf '\r\n$7\r\nREPLACE\r\n'; } >"$one"
  len=$(stat -c %s "$one"); cp "$one" "$all"
  while [ "$(stat -c %s "$all")" -lt $((len * n_each)) ]; do cat "$all" "$all" >"$all.tmp"; mv "$all.tmp" "$all"; done
  truncate -s $((len * n_each)) "$all"
done

for round in $(seq 1 "$ROUNDS"); do
  for s in redlite redis; do
    port=$(port_of $s)
    if has dump; then
      # The ceiling: a command that does nothing, measured in the same moments.
      rps ping_P1 $s -c 50 -n "$N_P1" -P 1 PING
      rps dump_P1 $s -c 50 -n "$N_P1" -P 1 DUMP src
      rps dump_P16 $s -c 50 -n "$N_P16" -P 16 DUMP src
    fi
    has restore || continue
    t0=$(date +%s%N)
    pipes=()
    for p in $(seq 1 "$PIPES"); do
      redis-cli -p "$port" --pipe <"$WORK/restore$p" >"$WORK/restore_out$p" &
      pipes+=($!)
    done
    wait "${pipes[@]}" # (not a bare wait: the servers are children too)
    t1=$(date +%s%N)
    for p in $(seq 1 "$PIPES"); do
      grep -q "errors: 0," "$WORK/restore_out$p" || { echo "$s: restore errors: $(cat "$WORK/restore_out$p")" >&2; exit 1; }
    done
    [ "$(redis-cli -p "$port" HGET "r:1" f2)" = 12 ] || { echo "$s: restored value wrong" >&2; exit 1; }
    awk -v n="$N_RESTORE" -v ns="$((t1 - t0))" -v s=$s 'BEGIN { printf "restore %s %.0f\n", s, n / (ns / 1e9) }' >>"$RESULTS"
  done
  echo "round $round done" >&2
done

med() { awk -v l="$1" -v s="$2" '$1 == l && $2 == s {print $3}' "$RESULTS" | median; }
{
  echo "## RDB: \`make bench-rdb\`"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $(redis-server --version | cut -d' ' -f1-3)"
  echo "- method: the two servers alternating, $ROUNDS rounds, median. Load: each server starts"
  echo "  on the same dump.rdb written by redis-server ($KEYS keys: 60% 50-byte strings, 10% each"
  echo "  of 5-field hashes, sets, sorted sets and lists; $RDB_MB MB), time as the server logs"
  echo "  it. DUMP of a 5-field listpack hash with redis-benchmark \`-c 50\`; RESTORE ... REPLACE"
  echo "  of Redis's payload of that hash, $N_RESTORE times by $PIPES \`redis-cli --pipe\` clients"
  echo "  (each on its own key)."
  echo
  echo "| measure | redlite | redis | ratio |"
  echo "|---|---:|---:|---:|"
  if has load; then
    a=$(med load redlite); b=$(med load redis)
    echo "| load $KEYS keys (s) | $a | $b | $(ratio "$a" "$b") |"
  fi
  for l in ping_P1 dump_P1 dump_P16 restore; do
    has "${l%_P*}" || { [ $l = ping_P1 ] && has dump; } || continue
    a=$(med $l redlite); b=$(med $l redis)
    echo "| $l (per s) | $a | $b | $(ratio "$a" "$b") |"
  done
  echo
  echo "Ratios are redlite / Redis: below 1 is better for the load time, above 1 for the rest."
  if has dump; then
    echo "ping_P1 is PING at -P 1 in the same rounds: the most any command can reach with one"
    echo "thread woken per request (see the README's \"Benchmarks\")."
  fi
} >"$WORK/section.md"
if [ "$ROWS" = "load dump restore" ]; then
  write_section "RDB: \`make bench-rdb\`" "$WORK/section.md" "$OUT"
else
  cat "$WORK/section.md"
fi
