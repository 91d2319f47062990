# redlite: the two commands are `make run-server` and `make test`.

CARGO ?= cargo
ARGS ?=

.PHONY: all build run-server test bench bench-compare bench-aof bench-scripting bench-stream bench-monitor bench-unixsocket bench-hll bench-memory bench-geo bench-rdb bench-acl bench-cache bench-replication lint clean

all: build

build:
	$(CARGO) build --release

## Starts the server on 127.0.0.1:6379 with the dump file in the current directory.
## Extra flags: make run-server ARGS="--port 7000 --save ''"
run-server: build
	./target/release/redlite-server --port 6379 --dir "$(CURDIR)" $(ARGS)

## Every test: unit, integration and differential (the latter need redis-server 7.0).
test:
	$(CARGO) test --all-targets

bench:
	$(CARGO) bench --bench core

## redlite against the reference redis-server 7.0 (on PATH), side by side; writes
## benches/BENCHMARKS.md. Needs redis-server, redis-benchmark and redis-cli.
bench-compare:
	bash benches/compare.sh

## Replication against redis-server 7.0: full sync time of 1M keys (four master/replica
## pairs), replication lag under a SET load, backlog memory; adds its section to
## benches/BENCHMARKS.md.
bench-replication:
	bash benches/replication.sh

## The append-only file against redis-server 7.0: throughput with appendfsync
## everysec/always, rewrite and load times; adds its section to benches/BENCHMARKS.md.
bench-aof:
	bash benches/aof.sh

## Scripting against redis-server 7.0: EVALSHA (one call, a ten-call rate limiter) at
## -P 1 and -P 16, and pure-Lua CPU scripts; adds its section to benches/BENCHMARKS.md.
bench-scripting:
	bash benches/scripting.sh

## Streams against redis-server 7.0: XADD at -P 1 and -P 16, XRANGE of 100 entries, an
## XREADGROUP + XACK cycle, memory per entry; adds its section to benches/BENCHMARKS.md.
bench-stream:
	bash benches/stream.sh

## SET throughput with one MONITOR client attached, against redis-server 7.0; adds its
## section to benches/BENCHMARKS.md.
bench-monitor:
	bash benches/monitor.sh

## SET and GET at -P 16 over TCP and over the unix socket, against
## redis-server (BASE=older binary adds its TCP figures); adds its section to
## benches/BENCHMARKS.md.
bench-unixsocket:
	bash benches/unixsocket.sh

## HyperLogLog against redis-server 7.0: PFADD (one dense key, many sparse keys) and
## PFCOUNT (one key, a union of three) at -P 1 and -P 16; adds its section to
## benches/BENCHMARKS.md.
bench-hll:
	bash benches/hll.sh

## Geo against redis-server: GEOSEARCH on 100k random points (-P 1 and -P 16),
## GEORADIUSBYMEMBER, GEOADD; adds its section to benches/BENCHMARKS.md.
bench-geo:
	bash benches/geo.sh

## Redis's RDB format against redis-server 7.0: loading the same 1M-key dump.rdb, DUMP
## and RESTORE throughput; adds its section to benches/BENCHMARKS.md.
bench-rdb:
	bash benches/rdb.sh

## ACL: GET/SET throughput for a restricted user (key patterns and a category rule)
## against Redis with the same user, and against redlite's default user (the cost of
## the check); adds its section to benches/BENCHMARKS.md.
bench-acl:
	bash benches/acl.sh

## The cache workload of issue #18 against redis-server 7.0: maxmemory 64mb, Zipfian GETs
## over 2M keys with a SET on each miss, under allkeys-lru and allkeys-lfu (peak RSS, hit
## rate, GETs/s); adds its section to benches/BENCHMARKS.md.
bench-cache:
	bash benches/cache.sh

## Bytes per key of small hashes, sets, sorted sets, lists and strings against
## redis-server 7.0, and commands on small values; adds its section to
## benches/BENCHMARKS.md.
bench-memory:
	bash benches/memory.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
