#!/usr/bin/env bash
# make bench-replication: replication against the reference redis-server 7.0, in one run.
#
# - full sync time of 1M keys (DEBUG POPULATE 1000000 on the master, diskless sync
#   without delay): from REPLICAOF until the replica's link is up and its offset is the
#   master's. Four pairs: Redis -> Redis (the reference), redlite -> redlite,
#   redlite -> Redis and Redis -> redlite. Median of ROUNDS rounds.
# - replication lag under a -P 16 SET load (redis-benchmark -c 50, N_LOAD requests over
#   1M keys): the largest gap between the master's offset and the replica's, sampled
#   every 50 ms, and how long the replica takes to catch up after the load ends.
# - memory of the backlog: INFO's mem_replication_backlog after that load (1 MB backlog).
# The table goes to stdout and into benches/BENCHMARKS.md as its "## Replication" section.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
KEYS=${KEYS:-1000000}
N_LOAD=${N_LOAD:-2000000}
OUT=${OUT:-benches/BENCHMARKS.md}

source benches/common.sh
need_tools bench-replication

flags() { echo --save "" --repl-diskless-sync-delay 0 --enable-debug-command yes; }
field() { redis-cli -p "$1" info replication | tr -d '\r' | awk -F: -v f="$2" '$1 == f {print $2}'; }
now_ms() { date +%s%3N; }

# sync_ms MASTER_KIND REPLICA_KIND ROUND: prints the full sync time in ms.
sync_ms() {
  local dir="$WORK/$1-$2-$3"
  # shellcheck disable=SC2046
  start_server "$1" "$dir/m" $(flags); local mp=$PORT mpid=$PID
  redis-cli -p "$mp" debug populate "$KEYS" >/dev/null
  # shellcheck disable=SC2046
  start_server "$2" "$dir/r" $(flags); local rp=$PORT rpid=$PID
  local t0; t0=$(now_ms)
  redis-cli -p "$rp" replicaof 127.0.0.1 "$mp" >/dev/null
  while :; do
    if [ "$(field "$rp" master_link_status)" = up ] &&
      [ "$(field "$rp" slave_repl_offset)" = "$(field "$mp" master_repl_offset)" ]; then
      break
    fi
    sleep 0.01
  done
  echo $(($(now_ms) - t0))
  kill "$mpid" "$rpid"; wait "$mpid" "$rpid" 2>/dev/null || true
  rm -rf "$dir"
}

# lag KIND: "max_lag_bytes catch_up_ms backlog_bytes" for KIND -> KIND under the load.
lag() {
  local dir="$WORK/lag-$1"
  # shellcheck disable=SC2046
  start_server "$1" "$dir/m" $(flags); local mp=$PORT mpid=$PID
  # shellcheck disable=SC2046
  start_server "$1" "$dir/r" $(flags); local rp=$PORT rpid=$PID
  redis-cli -p "$rp" replicaof 127.0.0.1 "$mp" >/dev/null
  until [ "$(field "$rp" master_link_status)" = up ]; do sleep 0.05; done
  redis-benchmark -p "$mp" -c 50 -P 16 -t set -n "$N_LOAD" -r 1000000 -q >/dev/null 2>&1 &
  local bench=$! max=0 m r
  while kill -0 "$bench" 2>/dev/null; do
    m=$(field "$mp" master_repl_offset); r=$(field "$rp" slave_repl_offset)
    [ $((m - r)) -gt "$max" ] && max=$((m - r))
    sleep 0.05
  done
  local t0; t0=$(now_ms)
  until [ "$(field "$rp" slave_repl_offset)" = "$(field "$mp" master_repl_offset)" ]; do sleep 0.005; done
  local catch=$(($(now_ms) - t0))
  local backlog
  backlog=$(redis-cli -p "$mp" info memory | tr -d '\r' | awk -F: '$1 == "mem_replication_backlog" {print $2}')
  echo "$max $catch $backlog"
  kill "$mpid" "$rpid"; wait "$mpid" "$rpid" 2>/dev/null || true
}

declare -A SYNC
for pair in "redis redis" "redlite redlite" "redlite redis" "redis redlite"; do
  set -- $pair
  for round in $(seq 1 "$ROUNDS"); do
    sync_ms "$1" "$2" "$round"
  done | median >"$WORK/median"
  SYNC["$1-$2"]=$(cat "$WORK/median")
  echo "full sync $1 -> $2: ${SYNC[$1-$2]} ms" >&2
done
read -r RD_LAG RD_CATCH RD_BACKLOG < <(lag redis)
read -r RL_LAG RL_CATCH RL_BACKLOG < <(lag redlite)

ref=${SYNC[redis-redis]}
ratio() { awk -v a="$1" -v b="$ref" 'BEGIN {printf "%.2f", a / b}'; }
{
  echo "## Replication: \`make bench-replication\`"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $KEYS keys (DEBUG POPULATE), diskless sync without delay, median of $ROUNDS rounds."
  echo
  echo "| full sync of $KEYS keys | time (ms) | vs Redis -> Redis |"
  echo "|---|---:|---:|"
  for pair in redis-redis redlite-redlite redlite-redis redis-redlite; do
    echo "| ${pair/-/ -> } | ${SYNC[$pair]} | $(ratio "${SYNC[$pair]}") |"
  done
  echo
  echo "Under a SET load (redis-benchmark -c 50 -P 16, $N_LOAD requests, 1M keys), master -> replica of the same kind:"
  echo
  echo "| | Redis -> Redis | redlite -> redlite |"
  echo "|---|---:|---:|"
  echo "| largest lag sampled (bytes) | $RD_LAG | $RL_LAG |"
  echo "| catch-up after the load (ms) | $RD_CATCH | $RL_CATCH |"
  echo "| mem_replication_backlog (bytes) | $RD_BACKLOG | $RL_BACKLOG |"
} >"$WORK/section.md"
write_section "Replication: \`make bench-replication\`" "$WORK/section.md" "$OUT"
