//! The state every connection shares (Redis's `server` struct): the keyspace, the
//! configuration and its mirrors, the client registry, pub/sub and tracking registries,
//! persistence and AOF state, and the counters INFO reports. It sits below the command
//! layer: [`crate::server`] builds it at startup and runs the accept loop and the cron
//! around it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Instant;

use crate::client::Registry;
use crate::config::Config;
use crate::log::Logger;
use crate::persist;
use crate::pubsub::PubSub;
use crate::store::{Limits, Store};
use crate::util::{now_ms, now_us};

/// The Redis version we answer to, so client libraries' version checks pass.
pub const REDIS_VERSION: &str = "7.0.15";
/// Our own version.
pub const REDLITE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// MIGRATE's cached connections (Redis's `migrate_cached_sockets`): by `host:port`,
/// each with the database it has selected (-1: unknown) and when it was last used. At
/// most 64, and closed after 10 idle seconds, as in Redis.
#[derive(Debug, Default)]
pub struct MigrateSockets {
    cached: Mutex<std::collections::HashMap<String, (std::net::TcpStream, i64, Instant)>>,
}

impl MigrateSockets {
    const MAX: usize = 64;
    const IDLE: std::time::Duration = std::time::Duration::from_secs(10);

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<String, (std::net::TcpStream, i64, Instant)>,
    > {
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the connection to `target`, if one is kept, with its selected database.
    pub fn take(&self, target: &str) -> Option<(std::net::TcpStream, i64)> {
        self.lock().remove(target).map(|(s, db, _)| (s, db))
    }

    /// Keeps a connection for the next call (a full cache drops one at random first).
    pub fn put(&self, target: String, stream: std::net::TcpStream, db: i64) {
        let mut cached = self.lock();
        if cached.len() >= Self::MAX {
            if let Some(k) = cached.keys().next().cloned() {
                cached.remove(&k);
            }
        }
        cached.insert(target, (stream, db, Instant::now()));
    }

    /// Closes the connections idle for 10 seconds (the cron calls it).
    pub fn close_idle(&self) {
        self.lock()
            .retain(|_, (_, _, used)| used.elapsed() < Self::IDLE);
    }

    /// How many are kept (INFO's `migrate_cached_sockets`).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How the server binds its listeners anew (see [`Server::rebind`]).
/// It is given the new configuration and the one before, to go back to if the new one
/// cannot be bound; it records the port it ends up on.
pub type Rebind = Box<dyn Fn(&Config, &Config) -> Result<u16, String> + Send + Sync>;

/// Redis's `CONFIG_MIN_RESERVED_FDS`: descriptors kept for everything but clients
/// (listeners, the dump file, logs).
pub const MIN_RESERVED_FDS: u64 = 32;

/// Server-wide counters for INFO stats.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub commands_processed: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    /// Operations per second over the last sampling window (the cron updates it).
    pub instantaneous_ops: AtomicU64,
    /// Clients sleeping in a blocking command.
    pub blocked_clients: AtomicU64,
    /// Socket reads and reply writes (INFO's `total_reads_processed` and
    /// `total_writes_processed`).
    pub reads_processed: AtomicU64,
    pub writes_processed: AtomicU64,
    /// Network kbps over the last sampling window, as f64 bits (the cron updates them).
    pub input_kbps: AtomicU64,
    pub output_kbps: AtomicU64,
    /// Errors our master's or the AOF's commands got (INFO's `unexpected_error_replies`).
    pub unexpected_error_replies: AtomicU64,
}

/// What INFO persistence and LASTSAVE report, and the state of a background save.
#[derive(Debug, Default)]
pub struct PersistState {
    /// Unix seconds of the last successful save (or of startup).
    pub last_save: AtomicU64,
    /// Redis's `lastbgsave_status`: false after a failed BGSAVE, true again after any
    /// successful save. Write commands are refused while it is false (MISCONF).
    pub last_save_ok: AtomicBool,
    /// A BGSAVE is running.
    pub bgsave_running: AtomicBool,
    /// Unix seconds when the running BGSAVE started.
    pub bgsave_started: AtomicU64,
    /// How long the last BGSAVE took, in seconds (-1: none yet).
    pub last_bgsave_secs: AtomicI64,
    /// Unix seconds of the last BGSAVE attempt (for the retry delay after a failure).
    pub last_bgsave_try: AtomicU64,
    /// A BGSAVE asked for inside MULTI (BGSAVE SCHEDULE's case): the cron starts it.
    pub bgsave_scheduled: AtomicBool,
    /// Tells the running BGSAVE to stop (SHUTDOWN).
    pub bgsave_abort: AtomicBool,
    /// Keys written and to write by the running save (INFO's `current_save_keys_*`).
    pub save_keys_processed: AtomicU64,
    pub save_keys_total: AtomicU64,
    /// The dump is being loaded: commands without the `loading` flag are refused.
    pub loading: AtomicBool,
    /// Unix seconds when loading started, the file's size and the bytes read so far.
    pub loading_started: AtomicU64,
    pub loading_total_bytes: AtomicU64,
    pub loading_loaded_bytes: AtomicU64,
    pub saves: AtomicU64,
    pub keys_loaded: AtomicU64,
    pub keys_expired_on_load: AtomicU64,
    /// Held while a dump is being written, so two saves never share a temp file.
    pub saving: Mutex<()>,
}

/// Everything the connections share.
pub struct Server {
    pub store: Store,
    config: RwLock<Config>,
    pub clients: Registry,
    pub stats: Stats,
    pub persist: PersistState,
    /// Channel, pattern and shard channel subscriptions.
    pub pubsub: PubSub,
    /// Client-side caching: who tracks which keys.
    pub tracking: crate::tracking::Tracking,
    /// The append-only file: where propagated commands go.
    pub aof: persist::aof::Aof,
    /// Scripting: the script cache, function libraries, the running script.
    pub scripts: crate::script::Scripts,
    /// Per-command statistics, the slow log and the MONITOR clients.
    pub calls: crate::calls::Calls,
    /// MIGRATE's connections, kept for the next call to the same target.
    pub migrate_sockets: MigrateSockets,
    /// The latency monitor's events.
    pub latency: crate::latency::Monitor,
    /// CLIENT PAUSE.
    pub pause: crate::pause::Pause,
    /// The supervisor and the OOM score (see [`crate::process`]).
    pub process: crate::process::Process,
    /// `maxmemory`, eviction and the memory account.
    pub memory: crate::memory::Memory,
    /// Replication: the stream, the backlog, our replicas and our master.
    pub repl: crate::replication::Replication,
    /// Every propagated command, kept in unit-test builds so tests can read the stream.
    #[cfg(test)]
    pub propagated: Mutex<Vec<crate::store::Op>>,
    /// Every keyspace event fired, whatever `notify-keyspace-events` says, kept in
    /// unit-test builds.
    #[cfg(test)]
    pub events: Mutex<Vec<crate::store::Event>>,
    /// `notify-keyspace-events`, mirrored for the commands that fire events.
    notify_flags: AtomicU32,
    /// The cron's rate: `hz`, raised with the number of clients under `dynamic-hz`.
    pub hz: AtomicU32,
    /// Whether the cron runs the active expiry cycle (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: AtomicBool,
    pub log: Logger,
    pub started: Instant,
    pub run_id: String,
    /// The TCP port actually bound (differs from the config when it asked for 0).
    port: AtomicU16,
    /// Binds the listeners anew for a configuration (CONFIG SET port or bind): set by
    /// [`crate::server`] at startup.
    pub rebind: OnceLock<Rebind>,
    /// `proto-max-bulk-len`, mirrored here so each read batch need not lock the config.
    proto_max_bulk_len: AtomicU64,
    /// `client-query-buffer-limit`, mirrored for the same reason.
    query_buffer_limit: AtomicU64,
    /// Users, their permissions and the ACL log (see [`crate::acl`]).
    pub acl: crate::acl::Acl,
    /// The collection encoding limits, mirrored for the commands that add elements.
    limits: Mutex<Limits>,
    /// How RDB values are encoded (`rdbcompression`, `rdbchecksum`,
    /// `list-max-listpack-size`), mirrored for DUMP.
    rdb_options: Mutex<crate::persist::rdb::Options>,
    /// The soft and hard open-files limits read at startup (`u64::MAX`: unlimited or
    /// unknown).
    open_files_limit: (u64, u64),
    /// The `Arc` this server lives in, for the threads it starts (BGSAVE); unset for a
    /// server that is not in one (unit tests).
    this: OnceLock<Weak<Server>>,
}

impl Server {
    /// Shared state over an existing store (the server's startup, and tests).
    pub fn new(config: Config, store: Store, port: u16) -> Server {
        let log = Logger::new(config.loglevel, &config.logfile);
        let proto = config.proto_max_bulk_len;
        let query_limit = config.client_query_buffer_limit;
        let acl = crate::acl::Acl::default();
        acl.configure(&config);
        let limits = config.limits();
        let rdb_options = config.rdb_options();
        let notify_flags = config.notify_flags();
        let hz = config.hz;
        let tracking = crate::tracking::Tracking::default();
        tracking.configure(&config);
        crate::lazyfree::configure(&config);
        crate::process::configure(&config);
        let memory = crate::memory::Memory::default();
        let clock = memory.configure(&config);
        {
            let mut ks = store.write();
            ks.set_clock(clock);
            ks.set_lazy_expire(config.is_yes("lazyfree-lazy-expire"));
            ks.lazy_user_del = config.is_yes("lazyfree-lazy-user-del");
            ks.set_log_new(notify_flags & crate::store::class::NEW != 0);
            ks.set_log_miss(notify_flags & crate::store::class::KEY_MISS != 0);
        }
        let repl = crate::replication::Replication::default();
        repl.configure(&config);
        let aof = persist::aof::Aof::default();
        persist::aof::init(&aof, &config);
        let scripts = crate::script::Scripts::default();
        let busy_ms = config
            .value("busy-reply-threshold")
            .and_then(|v| crate::util::num::parse_i64(&v))
            .unwrap_or(5000);
        scripts
            .busy_after_ms
            .store(busy_ms.max(0) as u64, Ordering::Relaxed);
        let calls = crate::calls::Calls::default();
        calls.configure(&config);
        let latency = crate::latency::Monitor::default();
        latency.set_threshold(config.uint("latency-monitor-threshold"));
        Server {
            calls,
            latency,
            pause: Default::default(),
            process: Default::default(),
            memory,
            repl,
            migrate_sockets: Default::default(),
            store,
            config: RwLock::new(config),
            clients: Registry::default(),
            stats: Stats::default(),
            persist: PersistState {
                last_save: AtomicU64::new(now_ms() / 1000),
                last_save_ok: AtomicBool::new(true),
                last_bgsave_secs: AtomicI64::new(-1),
                ..PersistState::default()
            },
            log,
            pubsub: PubSub::default(),
            tracking,
            aof,
            scripts,
            #[cfg(test)]
            propagated: Mutex::default(),
            #[cfg(test)]
            events: Mutex::default(),
            notify_flags: AtomicU32::new(notify_flags),
            active_expire: AtomicBool::new(true),
            hz: AtomicU32::new(hz),
            started: Instant::now(),
            run_id: run_id(),
            port: AtomicU16::new(port),
            rebind: OnceLock::new(),
            proto_max_bulk_len: AtomicU64::new(proto),
            query_buffer_limit: AtomicU64::new(query_limit),
            acl,
            limits: Mutex::new(limits),
            rdb_options: Mutex::new(rdb_options),
            open_files_limit: open_files_limit().unwrap_or((u64::MAX, u64::MAX)),
            this: OnceLock::new(),
        }
    }

    /// Applies `oom-score-adj` for our role now (startup, CONFIG SET, REPLICAOF), as
    /// Redis's `setOOMScoreAdj(-1)`; false when /proc refused it (logged).
    pub fn apply_oom_score(&self) -> bool {
        let (mode, values) = self.config().oom_score_adj();
        let role = if self.repl.is_replica() {
            crate::process::Role::Replica
        } else {
            crate::process::Role::Master
        };
        self.process.set_oom_score(mode, values, role, &self.log)
    }

    /// Wraps the server in the `Arc` its background threads share.
    pub fn into_arc(self) -> Arc<Server> {
        let server = Arc::new(self);
        let _ = server.this.set(Arc::downgrade(&server));
        server
    }

    /// The `Arc` this server lives in (see [`Server::into_arc`]).
    pub fn arc(&self) -> Option<Arc<Server>> {
        self.this.get().and_then(Weak::upgrade)
    }

    /// The TCP port listened on (0: none, after CONFIG SET port 0).
    pub fn port(&self) -> u16 {
        self.port.load(Ordering::Relaxed)
    }

    /// Records the port listened on after a rebind.
    pub fn set_port(&self, port: u16) {
        self.port.store(port, Ordering::Relaxed);
    }

    /// The configuration, for reading.
    pub fn config(&self) -> RwLockReadGuard<'_, Config> {
        self.config.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The configuration, for CONFIG SET. Call [`Server::config_changed`] afterwards.
    pub fn config_mut(&self) -> RwLockWriteGuard<'_, Config> {
        self.config.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies configuration values that live outside the config struct.
    pub fn config_changed(&self) {
        let config = self.config();
        self.proto_max_bulk_len
            .store(config.proto_max_bulk_len, Ordering::Relaxed);
        self.query_buffer_limit
            .store(config.client_query_buffer_limit, Ordering::Relaxed);
        self.acl.configure(&config);
        self.log.set_level(config.loglevel);
        *self.limits.lock().unwrap_or_else(|e| e.into_inner()) = config.limits();
        *self.rdb_options.lock().unwrap_or_else(|e| e.into_inner()) = config.rdb_options();
        self.notify_flags
            .store(config.notify_flags(), Ordering::Relaxed);
        let busy_ms = config
            .value("busy-reply-threshold")
            .and_then(|v| crate::util::num::parse_i64(&v))
            .unwrap_or(5000);
        self.scripts
            .busy_after_ms
            .store(busy_ms.max(0) as u64, Ordering::Relaxed);
        self.aof.configure(&config);
        self.repl.configure(&config);
        self.calls.configure(&config);
        self.tracking.configure(&config);
        crate::lazyfree::configure(&config);
        crate::process::configure(&config);
        self.latency
            .set_threshold(config.uint("latency-monitor-threshold"));
        let (lazy_expire, lazy_user_del, flags) = (
            config.is_yes("lazyfree-lazy-expire"),
            config.is_yes("lazyfree-lazy-user-del"),
            config.notify_flags(),
        );
        let clock = self.memory.configure(&config);
        // Commands take the keyspace lock before the config's: never the other way.
        drop(config);
        let mut ks = self.store.write();
        ks.set_lazy_expire(lazy_expire);
        ks.lazy_user_del = lazy_user_del;
        ks.set_log_new(flags & crate::store::class::NEW != 0);
        ks.set_log_miss(flags & crate::store::class::KEY_MISS != 0);
        ks.set_clock(clock);
        drop(ks);
        // A lower maxmemory evicts at once, as Redis's `updateMaxmemory` does.
        crate::memory::evict_now(self);
    }

    /// `notify-keyspace-events` as flag bits (see [`crate::store::class`]).
    pub fn notify_flags(&self) -> u32 {
        self.notify_flags.load(Ordering::Relaxed)
    }

    /// Which parts of the effects record have a consumer now (unit-test builds keep
    /// everything, for tests to read).
    pub fn wanted(&self) -> crate::store::Wanted {
        if cfg!(test) {
            return crate::store::Wanted::ALL;
        }
        crate::store::Wanted {
            events: self.notify_flags() != 0,
            modified: self.tracking.active(),
            ops: self.aof.enabled() || self.repl.active(),
        }
    }

    /// Appends one command to the propagation stream (see [`crate::consumers`]).
    pub fn feed(&self, op: &crate::store::Op) {
        self.aof.feed(op);
        self.repl.feed(op);
        #[cfg(test)]
        self.propagated
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(op.clone());
    }

    /// The sizes up to which collections keep their compact encodings.
    pub fn limits(&self) -> Limits {
        *self.limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How RDB values are encoded (DUMP, and saves in RDB format).
    pub fn rdb_options(&self) -> crate::persist::rdb::Options {
        *self.rdb_options.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether clients must authenticate: the default user is off or has a password
    /// (`requirepass`, or its ACL rules). Redis's `authRequired(c)` is this and "the
    /// client has not".
    pub fn auth_required(&self) -> bool {
        self.acl.auth_required()
    }

    /// Checks a new `maxclients` against the open-files limit, as Redis's
    /// `updateMaxclients` does after CONFIG SET: if it does not fit, logs what Redis logs
    /// and returns the reason (the caller restores the previous settings).
    pub fn check_maxclients(&self, maxclients: u64) -> Result<(), String> {
        let (soft, hard) = self.open_files_limit;
        match fit_maxclients(maxclients, soft, hard) {
            FdBudget::Enough => Ok(()),
            FdBudget::Reduced { maxclients, log } | FdBudget::TooLow { maxclients, log } => {
                for line in &log {
                    self.log.warning(line);
                }
                self.log.warning(
                    "Failed applying new configuration. Possibly related to new maxclients setting. Restoring previous settings.",
                );
                Err(format!(
                    "The operating system is not able to handle the specified number of clients, try with {}",
                    maxclients as u32 as i32
                ))
            }
        }
    }

    /// `proto-max-bulk-len`.
    pub fn proto_max_bulk_len(&self) -> u64 {
        self.proto_max_bulk_len.load(Ordering::Relaxed)
    }

    /// `client-query-buffer-limit`.
    pub fn query_buffer_limit(&self) -> u64 {
        self.query_buffer_limit.load(Ordering::Relaxed)
    }

    /// The dump file's path (relative to the working directory, which is `dir`).
    pub fn dump_path(&self) -> PathBuf {
        PathBuf::from(&self.config().dbfilename)
    }
}

/// 40 hex characters that differ per run, as Redis's run_id.
fn run_id() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut id = String::new();
    while id.len() < 40 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(now_us());
        h.write_u32(std::process::id());
        id.push_str(&format!("{:016x}", h.finish()));
    }
    id.truncate(40);
    id
}

/// The soft and hard "Max open files" limits from `/proc/self/limits` (`u64::MAX` for
/// "unlimited"); `None` where that file is missing or unreadable.
pub fn open_files_limit() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&text)
}

/// Finds the "Max open files" row of `/proc/self/limits` text.
fn parse_open_files_limit(text: &str) -> Option<(u64, u64)> {
    let row = text
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    let mut values = row.split_whitespace().map(|v| match v {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    });
    Some((values.next()??, values.next()??))
}

/// How `maxclients` fits the open-files limit.
#[derive(Debug, PartialEq, Eq)]
pub enum FdBudget {
    /// `maxclients` + [`MIN_RESERVED_FDS`] descriptors are available.
    Enough,
    /// They are not: `maxclients` must come down to what the limit allows. `log` is what
    /// Redis logs (as warnings) in that case.
    Reduced { maxclients: u64, log: Vec<String> },
    /// The limit leaves no descriptor for clients: the server cannot start.
    TooLow { maxclients: u64, log: Vec<String> },
}

/// Redis's `adjustOpenFilesLimit` for a process that cannot raise its limit: std has no
/// `setrlimit`, so where Redis would raise the soft limit towards `maxclients` + 32 (up to
/// the hard limit), we keep it and cap `maxclients` to `soft` - 32 instead, logging
/// Redis's three warnings. The OS error Redis reports is what `setrlimit` answers when
/// the hard limit is too low ("Operation not permitted"); when the hard limit would have
/// allowed it, the call Redis makes is the one redlite lacks ("Function not
/// implemented"). Numbers Redis prints with `%d` are printed as the same 32-bit ints.
pub fn fit_maxclients(maxclients: u64, soft: u64, hard: u64) -> FdBudget {
    let wanted = maxclients.saturating_add(MIN_RESERVED_FDS);
    if soft >= wanted {
        return FdBudget::Enough;
    }
    if soft <= MIN_RESERVED_FDS {
        return FdBudget::TooLow {
            maxclients: 0,
            log: vec![format!(
                "Your current 'ulimit -n' of {soft} is not enough for the server to start. Please increase your open file limit to at least {wanted}. Exiting."
            )],
        };
    }
    let reduced = soft - MIN_RESERVED_FDS;
    let os_error = if hard < wanted {
        "Operation not permitted"
    } else {
        "Function not implemented"
    };
    FdBudget::Reduced {
        maxclients: reduced,
        log: vec![
            format!(
                "You requested maxclients of {} requiring at least {wanted} max file descriptors.",
                maxclients as u32 as i32
            ),
            format!(
                "Server can't set maximum open files to {wanted} because of OS error: {os_error}."
            ),
            format!(
                "Current maximum open files is {soft}. maxclients has been reduced to {} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
                reduced as u32 as i32
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_files_limit_is_read_from_proc() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             63405                63405                processes \n\
                    Max open files            1024                 524288               files     \n\
                    Max locked memory         8388608              8388608              bytes     \n";
        assert_eq!(parse_open_files_limit(text), Some((1024, 524288)));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(
            parse_open_files_limit(unlimited),
            Some((u64::MAX, u64::MAX))
        );
        assert_eq!(parse_open_files_limit("Max processes 1 2\n"), None);
        // This process's own, on Linux.
        if std::path::Path::new("/proc/self/limits").exists() {
            let (soft, hard) = open_files_limit().expect("a Max open files row");
            assert!(soft <= hard);
        }
    }

    #[test]
    fn maxclients_is_capped_by_the_open_files_limit() {
        assert_eq!(fit_maxclients(10000, 10032, 10032), FdBudget::Enough);
        assert_eq!(fit_maxclients(10000, u64::MAX, u64::MAX), FdBudget::Enough);
        assert_eq!(fit_maxclients(68, 100, 100), FdBudget::Enough);
        // What Redis 7.0.15 logs under `ulimit -n 100` (soft and hard).
        assert_eq!(
            fit_maxclients(10000, 100, 100),
            FdBudget::Reduced {
                maxclients: 68,
                log: vec![
                    "You requested maxclients of 10000 requiring at least 10032 max file descriptors.".to_string(),
                    "Server can't set maximum open files to 10032 because of OS error: Operation not permitted.".to_string(),
                    "Current maximum open files is 100. maxclients has been reduced to 68 to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.".to_string(),
                ],
            }
        );
        // A hard limit that would let Redis raise the soft one: we still cannot.
        let FdBudget::Reduced { maxclients, log } = fit_maxclients(69, 100, 20000) else {
            panic!("reduced");
        };
        assert_eq!(maxclients, 68);
        assert_eq!(
            log[1],
            "Server can't set maximum open files to 101 because of OS error: Function not implemented."
        );
        // %d of an unsigned int, as Redis prints it.
        let FdBudget::Reduced { log, .. } = fit_maxclients(u64::from(u32::MAX), 100, 100) else {
            panic!("reduced");
        };
        assert!(log[0].starts_with("You requested maxclients of -1 requiring at least 4294967327 "));
        assert_eq!(
            fit_maxclients(10000, 32, 32),
            FdBudget::TooLow {
                maxclients: 0,
                log: vec!["Your current 'ulimit -n' of 32 is not enough for the server to start. Please increase your open file limit to at least 10032. Exiting.".to_string()],
            }
        );
        assert!(matches!(fit_maxclients(1, 33, 33), FdBudget::Enough));
        assert!(matches!(
            fit_maxclients(2, 33, 33),
            FdBudget::Reduced { maxclients: 1, .. }
        ));
    }
}
