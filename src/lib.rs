//! redlite: a Redis-compatible server written in Rust with nothing but the standard
//! library.
//!
//! # Layout
//!
//! Data flows one way: `server -> connection -> command -> store`, with `state` (what
//! every connection shares), the consumers of what commands change (`consumers`,
//! `tracking`, `notify`, `persist`), `resp` and `util` below the command layer, which
//! none of them imports.
//!
//! - [`config`]: redis-server style flags, the optional config file, and the CONFIG
//!   GET/SET table of every Redis 7.0 parameter.
//! - [`server`]: startup (load the dump or the AOF, bind), the accept loop, maxclients,
//!   and the cron thread (active expiry, client timeouts, saves).
//! - [`state`]: the state every connection shares (Redis's `server` struct): keyspace,
//!   configuration, clients, pub/sub, tracking, persistence and AOF state, counters.
//! - [`pool`]: the elastic pool of std threads; one worker serves one connection.
//! - [`connection`]: one client: read, parse, run every buffered request, one write.
//! - [`socket`]: the two kinds of client socket, TCP and unix (`unixsocket`), and
//!   their addresses as Redis shows them.
//! - [`client`]: the client registry; the shared handle (write half of the socket, so
//!   other threads can send to a client, and a subscriber's queued output with its own
//!   writer thread) and the connection-local state (transaction, watched keys,
//!   subscriptions, a blocking command's wait).
//! - [`acl`]: users and their permissions (Redis's acl.c): the rule language, the
//!   per-request check (commands, keys by their key specs, channels), the ACL log and
//!   the ACL file; [`acl::catalog`] is the command catalog, generated from Redis's
//!   command JSON: every command's arity, flags, ACL categories, key specs and docs,
//!   which the command table, the ACL check and COMMAND all read.
//! - [`pubsub`]: channel, pattern and shard channel subscriptions and the fan-out of
//!   PUBLISH and SPUBLISH.
//! - [`resp`]: the incremental request parser (multibulk and inline, Redis's limits and
//!   error texts) and the reply encoder.
//! - [`command`]: the command table, the dispatcher (arity check and locking in one
//!   place), and one file per command family, as Redis splits its sources.
//! - [`store`]: databases behind one `RwLock`, lazy expiry on lookup, the TTL index and
//!   the active expiry cycle, the value types (hash, set and sorted set with Redis's
//!   compact encodings packed with their key in one buffer, [`store::packed`]; lists as a
//!   quicklist of packed nodes; our own order-statistic B+tree; streams in blocks of a B-tree
//!   with consumer groups; HyperLogLog's sparse and dense encodings inside strings,
//!   [`store::hll`]), the WATCH registry, and the waiter registry blocking
//!   commands (BLPOP, XREAD BLOCK...) build on.
//! - [`persist`]: the dump format (documented in [`persist::dump`]), crash-safe SAVE, and
//!   loading at startup; the append-only file ([`persist::aof`]: Redis 7.0's multi-part
//!   layout, fsync policies, loading, rewriting).
//! - [`tracking`]: client-side caching: the keys tracking clients read, and the
//!   invalidation messages writes send them.
//! - [`consumers`]: what happens after a command: its effects record (the keys it
//!   changed, the events they fire, the commands to replay; see [`store::effects`]) goes
//!   to client-side caching, [`notify`] (keyspace notifications) and the propagation
//!   stream ([`persist::aof`]).
//! - [`calls`]: what each call cost: INFO commandstats, errorstats and latencystats, the
//!   slow log, and the MONITOR feed.
//! - [`latency`]: the latency monitor's events (LATENCY LATEST, HISTORY, GRAPH).
//! - [`pause`]: CLIENT PAUSE: commands that wait, and expiry held, until a deadline.
//! - [`replication`]: Redis's replication protocol, both sides: the stream and its
//!   backlog, full and partial resyncs for our replicas, WAIT, and the link that makes
//!   this server a replica (REPLICAOF).
//! - [`lazyfree`]: the background thread that frees big values off the keyspace
//!   (UNLINK, FLUSHALL ASYNC, the `lazyfree-lazy-*` settings).
//! - [`log`]: Redis-style log lines.
//! - [`process`]: what the operating system hears from us: readiness to a supervisor
//!   (systemd, upstart) and the OOM killer's score.
//! - [`util`]: Redis's glob matcher, its integer and long-double number rules, the
//!   geohash math of the geo commands, Redis's partial quicksort, and a small PRNG.

#![forbid(unsafe_code)]

pub mod acl;
pub mod calls;
pub mod client;
pub mod command;
pub mod config;
pub mod connection;
pub mod consumers;
pub mod latency;
pub mod lazyfree;
pub mod log;
pub mod memory;
pub mod notify;
pub mod pause;
pub mod persist;
pub mod pool;
pub mod process;
pub mod pubsub;
pub mod replication;
pub mod resp;
pub mod script;
pub mod server;
pub mod socket;
pub mod state;
pub mod store;
pub mod tracking;
pub mod util;
