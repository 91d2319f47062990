#!/bin/sh
# Times benches/lua/*.lua on a real redis-server (port $1, default 7301). Compare with
# `cargo test --release --lib script::lua::bench -- --ignored --nocapture`.
PORT=${1:-7301}
for f in "$(dirname "$0")"/lua/*.lua; do
  start=$(date +%s%N)
  out=$(redis-cli -p "$PORT" eval "$(cat "$f")" 0)
  end=$(date +%s%N)
  printf '%-10s %8.1f ms  -> %s\n' "$(basename "$f" .lua)" "$(echo "($end - $start) / 1000000" | bc -l)" "$out"
done
