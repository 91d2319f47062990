//! redlite: a Redis-compatible server written in Rust with nothing but the standard
//! library.
//!
//! # Layout
//!
//! Data flows one way: `server -> connection -> command -> store`, with `resp`,
//! `persist` and `util` below them.
//!
//! - [`config`]: redis-server style flags, the optional config file, and the CONFIG
//!   GET/SET table of every Redis 7.0 parameter.
//! - [`server`]: shared state, startup (load the dump, bind), the accept loop, maxclients,
//!   and the cron thread (active expiry, client timeouts).
//! - [`pool`]: the elastic pool of std threads; one worker serves one connection.
//! - [`connection`]: one client: read, parse, run every buffered request, one write.
//! - [`client`]: the client registry; the shared handle (write half of the socket, so
//!   other threads can send to a client, and a subscriber's queued output with its own
//!   writer thread) and the connection-local state (transaction, watched keys,
//!   subscriptions, a blocking command's wait).
//! - [`pubsub`]: channel and pattern subscriptions and PUBLISH's fan-out.
//! - [`resp`]: the incremental request parser (multibulk and inline, Redis's limits and
//!   error texts) and the reply encoder.
//! - [`command`]: the command table, the dispatcher (arity check and locking in one
//!   place), and one file per command family, as Redis splits its sources.
//! - [`store`]: databases behind one `RwLock`, lazy expiry on lookup, the TTL index and
//!   the active expiry cycle, the value types (hash, set and sorted set with Redis's
//!   compact encodings, our own order-statistic B+tree), the WATCH registry, and the waiter registry
//!   blocking commands build on.
//! - [`persist`]: the dump format (documented in [`persist::dump`]), crash-safe SAVE, and
//!   loading at startup.
//! - [`tracking`]: client-side caching: the keys tracking clients read, and the
//!   invalidation messages writes send them.
//! - [`consumers`]: what happens after a command: its effects record (the keys it
//!   changed, the events they fire, the commands to replay; see [`store::effects`]) goes
//!   to client-side caching, [`notify`] (keyspace notifications) and the propagation
//!   stream ([`persist::aof`]).
//! - [`log`]: Redis-style log lines.
//! - [`util`]: Redis's glob matcher, its integer and long-double number rules, and a
//!   small PRNG.

#![forbid(unsafe_code)]

pub mod client;
pub mod command;
pub mod config;
pub mod connection;
pub mod consumers;
pub mod log;
pub mod notify;
pub mod persist;
pub mod pool;
pub mod pubsub;
pub mod resp;
pub mod server;
pub mod store;
pub mod tracking;
pub mod util;
