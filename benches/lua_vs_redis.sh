#!/bin/sh
# Times benches/lua/*.lua on a real redis-server (port $1, default 7301), as the server
# measures them (SLOWLOG, so redis-cli's own start-up does not count). Compare with
# `cargo test --release --lib script::lua::bench -- --ignored --nocapture`.
PORT=${1:-7301}
redis-cli -p "$PORT" config set slowlog-log-slower-than 0 >/dev/null
for f in "$(dirname "$0")"/lua/*.lua; do
  redis-cli -p "$PORT" slowlog reset >/dev/null
  out=$(redis-cli -p "$PORT" eval "$(cat "$f")" 0)
  us=$(redis-cli -p "$PORT" slowlog get 1 | sed -n 3p)
  printf '%-10s %8.1f ms  -> %s\n' "$(basename "$f" .lua)" "$(echo "$us / 1000" | bc -l)" "$out"
done
