# Shared by the benchmark scripts (sourced from the repository root): build redlite,
# start servers on free ports, and the small statistics helpers.
# shellcheck shell=bash

cargo build --release --quiet
REDLITE=target/release/redlite-server
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { # a port nothing listens on
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
wait_ping() { # port pid: 0 once PING answers, 1 if the server exits or 30 s pass
  for _ in $(seq 1 600); do
    [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
# start_server NAME DIR [extra flags...]: sets PORT and PID. A free port can be taken
# before the server binds it (redis-benchmark's thousand clients use many), so a server
# that exits at once is started again on another port.
start_server() {
  local name=$1 dir=$2; shift 2
  mkdir -p "$dir"
  for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    if [ "$name" = redlite ]; then
      "$REDLITE" --port "$PORT" --dir "$dir" "$@" >"$dir/log" 2>&1 &
    else
      redis-server --port "$PORT" --dir "$dir" --appendonly no "$@" >"$dir/log" 2>&1 &
    fi
    PID=$!
    PIDS+=("$PID")
    wait_ping "$PORT" "$PID" && return 0
    kill "$PID" 2>/dev/null || true
  done
  echo "$name did not start: $(tail -3 "$dir/log")" >&2; exit 1
}
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; } # user sys
# Context switches of each of the server's threads: "tid count" lines.
switches() {
  { grep -H ctxt_switches /proc/"$1"/task/*/status 2>/dev/null || true; } |
    awk -F'[/:]' '{n[$5] += $NF} END {for (t in n) print t, n[t]}'
}
# switch_delta BEFORE AFTER: the switches made in between by the threads alive at the end
# (one that started meanwhile counts whole; one that ended meanwhile is missed).
switch_delta() {
  awk 'NR == FNR {b[$1] = $2; next} {d += $2 - b[$1]} END {print d + 0}' \
    <(echo "$1") <(echo "$2")
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

load_keys() { # port: SET key:%012d with 100-byte values, KEYS times, through --pipe
  awk -v n="$KEYS" 'BEGIN {
    v = sprintf("%0100d", 0)
    for (i = 0; i < n; i++) printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$100\r\n%s\r\n", i, v
  }' | redis-cli -p "$1" --pipe >/dev/null
}
now_ms() { date +%s%3N; }

# write_section TITLE FILE OUT: replaces the "## TITLE" section of OUT (or appends it)
# with FILE, keeping the rest, and prints FILE.
write_section() {
  local title=$1 file=$2 out=$3
  if [ -f "$out" ]; then
    awk -v t="## $title" '$0 == t {skip = 1; next} /^## / {skip = 0} !skip' "$out" >"$WORK/rest.md"
  else
    : >"$WORK/rest.md"
  fi
  { cat "$WORK/rest.md"; echo; cat "$file"; } | cat -s >"$out"
  cat "$file"
}

# need_tools NAME: exits unless redis-server, redis-benchmark and redis-cli are on PATH.
need_tools() {
  local tool
  for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || { echo "$1 needs $tool on PATH" >&2; exit 1; }
  done
}
# start_pair: redlite and redis-server side by side with saving off; sets RL_PORT,
# RD_PORT and RESULTS (the file `rps` appends to, emptied).
start_pair() {
  start_server redlite "$WORK/rl" --save ""; RL_PORT=$PORT
  start_server redis "$WORK/rd" --save ""; RD_PORT=$PORT
  RESULTS="$WORK/results"
  : >"$RESULTS"
}
port_of() { if [ "$1" = redlite ]; then echo "$RL_PORT"; else echo "$RD_PORT"; fi; }
# rps LABEL SERVER args...: one redis-benchmark run against SERVER (redlite or redis);
# appends "label server rps" to $RESULTS.
rps() {
  local label=$1 server=$2; shift 2
  redis-benchmark -p "$(port_of "$server")" --csv "$@" 2>/dev/null | grep -v '^"test"' |
    tail -1 | tr -d '"' | awk -F, -v l="$label" -v s="$server" '{print l, s, $2}' >>"$RESULTS"
}
# med LABEL SERVER: the median of what `rps` recorded for LABEL on SERVER.
med() { awk -v l="$1" -v s="$2" '$1 == l && $2 == s {print $3}' "$RESULTS" | median; }
