#!/usr/bin/env bash
# Unix sockets: SET and GET throughput with redis-benchmark at -P 16 -c 50, over TCP and
# over the unix socket (`unixsocket`), redlite against the reference redis-server 7.0,
# side by side in one run. With BASE=path/to/an/older/redlite-server the older build is
# measured over TCP as well (to check that serving unix sockets costs TCP nothing).
# Each figure is the median of ROUNDS rounds, the servers alternating. The table goes to
# stdout and into benches/BENCHMARKS.md as its "## Unix sockets" section.
#
# Needs redis-server, redis-benchmark and redis-cli.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
N=${N:-1000000}
BASE=${BASE:-}
OUT=${OUT:-benches/BENCHMARKS.md}

source benches/common.sh
need_tools bench-unixsocket

start_server redlite "$WORK/rl" --save "" --unixsocket "$WORK/rl.sock"; RL_PORT=$PORT
start_server redis "$WORK/rd" --save "" --unixsocket "$WORK/rd.sock"; RD_PORT=$PORT
SERVERS="redlite redis"
if [ -n "$BASE" ]; then
  NEW=$REDLITE
  REDLITE=$BASE
  start_server redlite "$WORK/base" --save ""; BASE_PORT=$PORT
  REDLITE=$NEW
  SERVERS="redlite base redis"
fi
RESULTS="$WORK/results"
: >"$RESULTS"

# run LABEL SERVER TEST via...: one redis-benchmark run of TEST (set or get) against
# SERVER through `-p PORT` or `-s PATH`; appends "label server rps".
run() {
  local label=$1 server=$2 test=$3; shift 3
  redis-benchmark "$@" --csv -t "$test" -P 16 -c 50 -n "$N" 2>/dev/null | grep -v '^"test"' |
    tail -1 | tr -d '"' | awk -F, -v l="$label" -v s="$server" '{print l, s, $2}' >>"$RESULTS"
}

for _ in $(seq 1 "$ROUNDS"); do
  for s in $SERVERS; do
    case $s in
      redlite) port=$RL_PORT; sock=$WORK/rl.sock ;;
      redis) port=$RD_PORT; sock=$WORK/rd.sock ;;
      base) port=$BASE_PORT; sock= ;;
    esac
    for t in set get; do
      run "tcp_$t" "$s" "$t" -p "$port"
      if [ -n "$sock" ]; then run "unix_$t" "$s" "$t" -s "$sock"; fi
    done
  done
done

med() { awk -v l="$1" -v s="$2" '$1 == l && $2 == s {print $3}' "$RESULTS" | median; }
TABLE="$WORK/table.md"
{
  echo "## Unix sockets"
  echo
  echo "redis-benchmark -t set,get -P 16 -c 50 -n $N, median of $ROUNDS rounds, requests per second."
  if [ -n "$BASE" ]; then
    echo "\"redlite before\": the build before unix sockets (BASE), over TCP only."
  fi
  echo
  if [ -n "$BASE" ]; then
    echo "| test | redlite | redlite before | redis 7.0 | redlite / redis | before / redis |"
    echo "|---|---|---|---|---|---|"
  else
    echo "| test | redlite | redis 7.0 | redlite / redis |"
    echo "|---|---|---|---|"
  fi
  for label in tcp_set tcp_get unix_set unix_get; do
    rl=$(med "$label" redlite); rd=$(med "$label" redis)
    if [ -n "$BASE" ]; then
      case $label in
        tcp_*) b=$(med "$label" base); echo "| $label | $rl | $b | $rd | $(ratio "$rl" "$rd") | $(ratio "$b" "$rd") |" ;;
        *) echo "| $label | $rl | - | $rd | $(ratio "$rl" "$rd") | - |" ;;
      esac
    else
      echo "| $label | $rl | $rd | $(ratio "$rl" "$rd") |"
    fi
  done
} >"$TABLE"
write_section "Unix sockets" "$TABLE" "$OUT"
