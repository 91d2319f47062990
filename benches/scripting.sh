#!/usr/bin/env bash
# make bench-scripting: scripts, redlite against the reference redis-server 7.0.
#
# - EVALSHA of a one-call script (INCR of a random key) and of a ten-call rate limiter
#   (benches/lua/ratelimit.lua), redis-benchmark -c 50 at -P 1 and -P 16, median of
#   ROUNDS with the servers alternating;
# - pure-Lua CPU scripts (benches/lua/cpu_*.lua: recursion, loops, string building
#   and patterns, table.sort of 100k numbers, cjson encode and decode): the time of one
#   EVAL each, median of ROUNDS.
# Writes the "## Scripting" section of benches/BENCHMARKS.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
N_P1=${N_P1:-100000}
N_P16=${N_P16:-500000}
OUT=${OUT:-benches/BENCHMARKS.md}
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "bench-scripting needs $tool on PATH" >&2; exit 1; }
done
source benches/common.sh

rps() { # port args...: requests per second of one redis-benchmark run
  redis-benchmark -p "$1" --csv "${@:2}" 2>/dev/null | grep -v '^"test"' | tail -1 |
    tr -d '"' | awk -F, '{print $2}'
}

start_server redlite "$WORK/rl" --save ""
RL_PORT=$PORT
start_server redis "$WORK/rd" --save ""
RD_PORT=$PORT

ONE="return redis.call('incr', KEYS[1])"
LIMITER=$(cat benches/lua/ratelimit.lua)
declare -A SHA
for port in "$RL_PORT" "$RD_PORT"; do
  SHA[one]=$(redis-cli -p "$port" SCRIPT LOAD "$ONE")
  SHA[limiter]=$(redis-cli -p "$port" SCRIPT LOAD "$LIMITER")
done

RESULTS="$WORK/results"
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  for P in 1 16; do
    n=$N_P1; [ "$P" = 16 ] && n=$N_P16
    for s in redlite redis; do
      port=$RL_PORT; [ $s = redis ] && port=$RD_PORT
      echo "evalsha_one_call_P$P $s $(rps "$port" -c 50 -r 100000 -P "$P" -n "$n" \
        EVALSHA "${SHA[one]}" 1 'key:__rand_int__')" >>"$RESULTS"
      echo "evalsha_rate_limiter_P$P $s $(rps "$port" -c 50 -r 1000 -P "$P" -n "$((n / 4))" \
        EVALSHA "${SHA[limiter]}" 1 'rl:__rand_int__' 1000)" >>"$RESULTS"
    done
  done
  echo "round $round done" >&2
done

CPU="$WORK/cpu"
: >"$CPU"
for f in benches/lua/cpu_*.lua; do
  name=$(basename "$f" .lua)
  body=$(cat "$f")
  for round in $(seq 1 "$ROUNDS"); do
    for s in redlite redis; do
      port=$RL_PORT; [ $s = redis ] && port=$RD_PORT
      t0=$(date +%s%N)
      out=$(redis-cli -p "$port" EVAL "$body" 0)
      t1=$(date +%s%N)
      echo "$name $s $(( (t1 - t0) / 1000000 )) $out" >>"$CPU"
    done
  done
  a=$(awk -v n="$name" '$1 == n && $2 == "redlite" {print $4}' "$CPU" | sort -u)
  b=$(awk -v n="$name" '$1 == n && $2 == "redis" {print $4}' "$CPU" | sort -u)
  [ "$a" = "$b" ] || { echo "$name: redlite answered $a, redis $b" >&2; exit 1; }
done

{
  echo "## Scripting"
  echo
  echo "\`make bench-scripting\`, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores."
  echo "EVALSHA: redis-benchmark \`-c 50\`, -n $N_P1 at -P 1 and -n $N_P16 at -P 16 (a"
  echo "quarter of that for the limiter), median of $ROUNDS rounds, the servers alternating."
  echo
  echo "| test | rps redlite | rps redis | ratio |"
  echo "|---|---:|---:|---:|"
  for label in $(awk '{print $1}' "$RESULTS" | awk '!seen[$0]++'); do
    a=$(awk -v l="$label" '$1 == l && $2 == "redlite" {print $3}' "$RESULTS" | median)
    b=$(awk -v l="$label" '$1 == l && $2 == "redis" {print $3}' "$RESULTS" | median)
    echo "| $label | $a | $b | $(ratio "$a" "$b") |"
  done
  echo
  echo "Pure-Lua CPU scripts (benches/lua/cpu_*.lua), one EVAL each, wall time in ms,"
  echo "median of $ROUNDS (ratios below 1 are better; both answers checked equal):"
  echo
  echo "| script | ms redlite | ms redis | ratio |"
  echo "|---|---:|---:|---:|"
  for name in $(awk '{print $1}' "$CPU" | awk '!seen[$0]++'); do
    a=$(awk -v n="$name" '$1 == n && $2 == "redlite" {print $3}' "$CPU" | median)
    b=$(awk -v n="$name" '$1 == n && $2 == "redis" {print $3}' "$CPU" | median)
    echo "| $name | $a | $b | $(ratio "$a" "$b") |"
  done
  echo
} >"$WORK/scripting.md"
write_section "Scripting" "$WORK/scripting.md" "$OUT"
