#!/usr/bin/env bash
# make bench-geo: redlite's geo commands against the reference redis-server 7.0, side by
# side in one run.
#
# - GEOSEARCH on a set of POINTS random points (seeded, all over the globe): FROMLONLAT
#   a fixed center, BYRADIUS RADIUS km, ASC COUNT 10, with redis-benchmark at -P 1 and
#   -P 16 (-c 50); the same with WITHCOORD WITHDIST;
# - GEORADIUSBYMEMBER and GEORADIUSBYMEMBER_RO of a member of the same set, COUNT 10
#   (-P 1);
# - GEOADD of new members (`-r` random names) at -P 1 and -P 16, and the ZADD it becomes
#   (-P 1) as a baseline.
# Each figure is the median of ROUNDS rounds, the servers alternating. The table goes to
# stdout and into benches/BENCHMARKS.md as its "## Geo" section.
#
# Needs redis-server, redis-benchmark and redis-cli.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
POINTS=${POINTS:-100000}
RADIUS=${RADIUS:-200}
N_SEARCH=${N_SEARCH:-100000}
N_SEARCH_P16=${N_SEARCH_P16:-300000}
N_ADD=${N_ADD:-200000}
N_ADD_P16=${N_ADD_P16:-1000000}
OUT=${OUT:-benches/BENCHMARKS.md}

source benches/common.sh
need_tools bench-geo
start_pair

# The points: GEOADD pts lon lat p<i>, 100 per command, the same on both servers.
awk -v n="$POINTS" 'BEGIN {
  srand(2026)
  for (i = 0; i < n; i += 100) {
    m = (n - i < 100) ? n - i : 100
    printf "*%d\r\n$6\r\nGEOADD\r\n$3\r\npts\r\n", 2 + 3 * m
    for (j = i; j < i + m; j++) {
      lon = sprintf("%.6f", rand() * 360 - 180); lat = sprintf("%.6f", rand() * 170 - 85)
      name = "p" j
      printf "$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(lon), lon, length(lat), lat, length(name), name
    }
  }
}' >"$WORK/points"

CENTER=(13.4 52.5)
SEARCH=(GEOSEARCH pts FROMLONLAT "${CENTER[@]}" BYRADIUS "$RADIUS" km ASC COUNT 10)
for s in redlite redis; do
  port=$(port_of $s)
  redis-cli -p "$port" --pipe <"$WORK/points" >/dev/null
  [ "$(redis-cli -p "$port" ZCARD pts)" = "$POINTS" ] || { echo "$s: ZCARD pts is not $POINTS" >&2; exit 1; }
done
# Both servers must answer the search alike before it is timed.
a=$(redis-cli -p "$RL_PORT" "${SEARCH[@]}" WITHDIST WITHCOORD)
b=$(redis-cli -p "$RD_PORT" "${SEARCH[@]}" WITHDIST WITHCOORD)
[ "$a" = "$b" ] || { echo "the servers answer the search differently" >&2; exit 1; }
FOUND=$(redis-cli -p "$RD_PORT" GEOSEARCH pts FROMLONLAT "${CENTER[@]}" BYRADIUS "$RADIUS" km | wc -l)
MEMBER=$(redis-cli -p "$RD_PORT" GEOSEARCH pts FROMLONLAT "${CENTER[@]}" BYRADIUS "$RADIUS" km ASC COUNT 1)

for round in $(seq 1 "$ROUNDS"); do
  for s in redlite redis; do
    port=$(port_of $s)
    rps search_P1 $s -c 50 -n "$N_SEARCH" -P 1 "${SEARCH[@]}"
    rps search_P16 $s -c 50 -n "$N_SEARCH_P16" -P 16 "${SEARCH[@]}"
    rps search_with_P1 $s -c 50 -n "$N_SEARCH" -P 1 "${SEARCH[@]}" WITHCOORD WITHDIST
    rps bymember_P1 $s -c 50 -n "$N_SEARCH" -P 1 GEORADIUSBYMEMBER pts "$MEMBER" "$RADIUS" km COUNT 10
    rps bymember_ro_P1 $s -c 50 -n "$N_SEARCH" -P 1 GEORADIUSBYMEMBER_RO pts "$MEMBER" "$RADIUS" km COUNT 10
    redis-cli -p "$port" DEL adds >/dev/null
    rps geoadd_P1 $s -c 50 -n "$N_ADD" -r 1000000 -P 1 GEOADD adds 13.361389 38.115556 m:__rand_int__
    rps geoadd_P16 $s -c 50 -n "$N_ADD_P16" -r 1000000 -P 16 GEOADD adds 15.087269 37.502669 m:__rand_int__
    # The same write as a plain ZADD: the baseline GEOADD's cost sits on.
    redis-cli -p "$port" DEL zadds >/dev/null
    rps zadd_P1 $s -c 50 -n "$N_ADD" -r 1000000 -P 1 ZADD zadds 3479099956230698 m:__rand_int__
  done
  echo "round $round done" >&2
done

{
  echo "## Geo: \`make bench-geo\`"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $(redis-server --version | cut -d' ' -f1-3)"
  echo "- method: the two servers alternating, $ROUNDS rounds, median, redis-benchmark \`-c 50\`."
  echo "  A set of $POINTS random points (seeded, uniform over longitude and latitude);"
  echo "  search: \`${SEARCH[*]}\` ($FOUND points within the radius), with and without"
  echo "  \`WITHCOORD WITHDIST\`; GEORADIUSBYMEMBER of the nearest point, same radius, COUNT 10;"
  echo "  GEOADD of random new members (\`-r 1000000\`) to another key; for comparison, ZADD of"
  echo "  random new members with a geohash score (the write GEOADD becomes)."
  echo
  echo "| measure (rps) | redlite | redis | ratio |"
  echo "|---|---:|---:|---:|"
  for l in search_P1 search_P16 search_with_P1 bymember_P1 bymember_ro_P1 geoadd_P1 geoadd_P16 zadd_P1; do
    a=$(med $l redlite); b=$(med $l redis)
    echo "| $l | $a | $b | $(ratio "$a" "$b") |"
  done
  echo
  echo "Ratios are redlite / Redis: above 1 is better. GEORADIUS and GEORADIUSBYMEMBER are write"
  echo "commands (STORE): without STORE/STOREDIST redlite runs them under the keyspace's read"
  echo "lock, as their _RO forms and GEOSEARCH, so searches run in parallel."
} >"$WORK/section.md"
write_section "Geo: \`make bench-geo\`" "$WORK/section.md" "$OUT"
