//! The server: shared state, startup (load the dump, bind), the accept loop, and the
//! cron thread that runs active expiry and client timeouts at `hz`.
//!
//! Every accepted connection is served by one worker of the elastic [`Pool`], which grows
//! up to `maxclients`; client number maxclients+1 is told so and closed.
//!
//! Two startup and accept-time guards follow Redis: `maxclients` is capped to what the
//! open-files limit allows (see [`fit_maxclients`]; std cannot raise the limit, so we only
//! read it), and protected mode refuses clients from other hosts while no password is set
//! (see [`protected_mode_refuses`]).

use std::fmt;
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{is_local_address, ClientHandle, Registry};
use crate::config::Config;
use crate::log::Logger;
use crate::persist;
use crate::pool::Pool;
use crate::pubsub::PubSub;
use crate::store::Limits;
use crate::store::{expire, Store};
use crate::util::sha256::sha256;
use crate::util::{now_ms, now_us};

/// The Redis version we answer to, so client libraries' version checks pass.
pub const REDIS_VERSION: &str = "7.0.15";
/// Our own version.
pub const REDLITE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How long an idle pool worker lives before retiring.
const WORKER_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Redis's `CONFIG_MIN_RESERVED_FDS`: descriptors kept for everything but clients
/// (listeners, the dump file, logs).
pub const MIN_RESERVED_FDS: u64 = 32;

/// What a client from another host reads before it is closed while protected mode is on
/// and no password is set: Redis 7.0.15's text, byte for byte.
pub const PROTECTED_MODE_DENIED: &str =
    "-DENIED Redis is running in protected mode because protected mode is enabled \
    and no password is set for the default user. In this mode connections are \
    only accepted from the loopback interface. If you want to connect from \
    external computers to Redis you may adopt one of the following solutions: 1) \
    Just disable protected mode sending the command 'CONFIG SET protected-mode \
    no' from the loopback interface by connecting to Redis from the same host \
    the server is running, however MAKE SURE Redis is not publicly accessible \
    from internet if you do so. Use CONFIG REWRITE to make this change \
    permanent. 2) Alternatively you can just disable the protected mode by \
    editing the Redis configuration file, and setting the protected mode option \
    to 'no', and then restarting the server. 3) If you started the server \
    manually just for testing, restart it with the '--protected-mode no' option. \
    4) Setup a an authentication password for the default user. NOTE: You only \
    need to do one of the above things in order for the server to start \
    accepting connections from the outside.\r\n";

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
    /// Channel and pattern subscriptions.
    pub pubsub: PubSub,
    /// Client-side caching: who tracks which keys.
    pub tracking: crate::tracking::Tracking,
    /// The append-only file: where propagated commands go.
    pub aof: persist::aof::Aof,
    /// Every propagated command, kept in unit-test builds so tests can read the stream.
    #[cfg(test)]
    pub propagated: Mutex<Vec<crate::store::Op>>,
    /// Every keyspace event fired, whatever `notify-keyspace-events` says, kept in
    /// unit-test builds.
    #[cfg(test)]
    pub events: Mutex<Vec<crate::store::Event>>,
    /// `notify-keyspace-events`, mirrored for the commands that fire events.
    notify_flags: AtomicU32,
    /// Whether the cron runs the active expiry cycle (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: AtomicBool,
    pub log: Logger,
    pub started: Instant,
    pub run_id: String,
    /// The TCP port actually bound (differs from the config when it asked for 0).
    pub port: u16,
    /// `proto-max-bulk-len`, mirrored here so each read batch need not lock the config.
    proto_max_bulk_len: AtomicU64,
    /// `client-query-buffer-limit`, mirrored for the same reason.
    query_buffer_limit: AtomicU64,
    /// Whether `requirepass` is set, mirrored for the per-command authentication check.
    password_set: AtomicBool,
    /// The collection encoding limits, mirrored for the commands that add elements.
    limits: Mutex<Limits>,
    /// SHA-256 of `requirepass` (`None` when empty), computed when it is set, as Redis
    /// keeps only its users' password hashes: checking a password then costs the same
    /// whatever the password's length.
    password_digest: Mutex<Option<[u8; 32]>>,
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
        let password_set = !config.requirepass.is_empty();
        let password_digest = digest_of(&config.requirepass);
        let limits = config.limits();
        let notify_flags = config.notify_flags();
        {
            let mut ks = store.write();
            ks.set_lazy_expire(config.is_yes("lazyfree-lazy-expire"));
            ks.lazy_user_del = config.is_yes("lazyfree-lazy-user-del");
            ks.set_log_new(notify_flags & crate::store::class::NEW != 0);
            ks.set_log_miss(notify_flags & crate::store::class::KEY_MISS != 0);
        }
        let aof = persist::aof::Aof::default();
        persist::aof::init(&aof, &config);
        Server {
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
            tracking: Default::default(),
            aof,
            #[cfg(test)]
            propagated: Mutex::default(),
            #[cfg(test)]
            events: Mutex::default(),
            notify_flags: AtomicU32::new(notify_flags),
            active_expire: AtomicBool::new(true),
            started: Instant::now(),
            run_id: run_id(),
            port,
            proto_max_bulk_len: AtomicU64::new(proto),
            query_buffer_limit: AtomicU64::new(query_limit),
            password_set: AtomicBool::new(password_set),
            limits: Mutex::new(limits),
            password_digest: Mutex::new(password_digest),
            open_files_limit: open_files_limit().unwrap_or((u64::MAX, u64::MAX)),
            this: OnceLock::new(),
        }
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
        *self
            .password_digest
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = digest_of(&config.requirepass);
        self.password_set
            .store(!config.requirepass.is_empty(), Ordering::Relaxed);
        self.log.set_level(config.loglevel);
        *self.limits.lock().unwrap_or_else(|e| e.into_inner()) = config.limits();
        self.notify_flags
            .store(config.notify_flags(), Ordering::Relaxed);
        self.aof.configure(&config);
        let mut ks = self.store.write();
        ks.set_lazy_expire(config.is_yes("lazyfree-lazy-expire"));
        ks.lazy_user_del = config.is_yes("lazyfree-lazy-user-del");
        ks.set_log_new(config.notify_flags() & crate::store::class::NEW != 0);
        ks.set_log_miss(config.notify_flags() & crate::store::class::KEY_MISS != 0);
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
            ops: self.aof.enabled(),
        }
    }

    /// Appends one command to the propagation stream (see [`crate::consumers`]).
    pub fn feed(&self, op: &crate::store::Op) {
        self.aof.feed(op);
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

    /// Whether `given` is the default user's password; any password is while none is set
    /// (Redis's `nopass`). See [`password_matches`].
    pub fn check_password(&self, given: &[u8]) -> bool {
        let digest = *self
            .password_digest
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        digest.is_none_or(|secret| password_matches(given, &secret))
    }

    /// Whether clients must authenticate: the default user has a password
    /// (`requirepass`). Redis's `authRequired(c)` is this and "the client has not".
    pub fn auth_required(&self) -> bool {
        self.password_set.load(Ordering::Relaxed)
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

/// The SHA-256 digest of a password, `None` for the empty one (no password).
fn digest_of(password: &str) -> Option<[u8; 32]> {
    (!password.is_empty()).then(|| sha256(password.as_bytes()))
}

/// Whether `given` hashes to `secret_digest`, compared as Redis compares passwords: the
/// given one is hashed (so the comparison is of two 32-byte digests, whatever either
/// password's length), and the digests are compared without an early exit, so the time
/// taken shows neither where they first differ nor the secret's length.
pub fn password_matches(given: &[u8], secret_digest: &[u8; 32]) -> bool {
    let given = sha256(given);
    let diff = given
        .iter()
        .zip(secret_digest)
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the optimizer from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
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

/// Why the server could not start.
#[derive(Debug)]
pub struct StartError {
    message: String,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StartError {}

fn fail(message: String) -> StartError {
    StartError { message }
}

/// Starts the server and serves until SHUTDOWN ends the process.
pub fn run(config: Config) -> Result<(), StartError> {
    let boot_log = Logger::new(config.loglevel, &config.logfile);
    boot_log.warning("oO0OoO0OoO0Oo redlite is starting oO0OoO0OoO0Oo");
    boot_log.warning(&format!(
        "redlite version={REDLITE_VERSION} (Redis {REDIS_VERSION} compatible), bits=64, pid={}, just started",
        std::process::id()
    ));
    match &config.config_file {
        Some(path) => boot_log.warning(&format!("Configuration loaded from {}", path.display())),
        None => boot_log.warning("Configuration loaded"),
    }
    std::env::set_current_dir(&config.dir)
        .map_err(|e| fail(format!("Can't chdir to '{}': {e}", config.dir.display())))?;

    let mut config = config;
    let (soft, hard) = open_files_limit().unwrap_or((u64::MAX, u64::MAX));
    match fit_maxclients(config.maxclients, soft, hard) {
        FdBudget::Enough => {}
        FdBudget::Reduced { maxclients, log } => {
            for line in &log {
                boot_log.warning(line);
            }
            config.maxclients = maxclients;
        }
        FdBudget::TooLow { log, .. } => return Err(fail(log.join("\n"))),
    }

    let listeners = bind_all(&config)?;
    let port = listeners[0]
        .local_addr()
        .map_err(|e| fail(format!("Can't read the bound address: {e}")))?
        .port();
    boot_log.notice(&format!("Running mode=standalone, port={port}."));
    boot_log.warning("Server initialized");

    // With port 0 we picked one: CONFIG GET port reports the real one.
    config.port = port;
    let databases = config.databases;
    // Clients are served while the dump loads, and told so (-LOADING) until it is in.
    let server = Server::new(config, Store::new(databases), port).into_arc();
    persist::save::cleanup_temp_files(&server.log);
    let dump = server.dump_path();
    // With appendonly yes the AOF is loaded instead of the dump, as Redis does.
    let aof_on = server.config().is_yes("appendonly");
    if aof_on {
        let p = &server.persist;
        p.loading_started.store(now_ms() / 1000, Ordering::Relaxed);
        p.loading.store(true, Ordering::Release);
    } else if let Ok(meta) = std::fs::metadata(&dump) {
        let p = &server.persist;
        p.loading_total_bytes.store(meta.len(), Ordering::Relaxed);
        p.loading_started.store(now_ms() / 1000, Ordering::Relaxed);
        p.loading.store(true, Ordering::Release);
    }

    let cron = Arc::clone(&server);
    thread::Builder::new()
        .name("redlite-cron".into())
        .spawn(move || cron_loop(&cron))
        .map_err(|e| fail(format!("Can't start the cron thread: {e}")))?;

    // The registry admits at most `maxclients` connections (which CONFIG SET may raise),
    // and each holds one worker, so the pool itself needs no lower cap: it grows with the
    // clients, up to maxclients, and never makes a client wait for another to leave.
    let pool = Pool::new(usize::MAX, WORKER_IDLE_TIMEOUT);
    let mut accept_threads = Vec::new();
    for listener in listeners {
        let server = Arc::clone(&server);
        let pool = pool.clone();
        let t = thread::Builder::new()
            .name("redlite-accept".into())
            .spawn(move || accept_loop(&server, &listener, &pool))
            .map_err(|e| fail(format!("Can't start an accept thread: {e}")))?;
        accept_threads.push(t);
    }
    if server.persist.loading.load(Ordering::Acquire) {
        let loaded = if aof_on {
            // The AOF loader logs its own fatal errors, as Redis does.
            persist::aof::load_on_start(&server)
                .and_then(|()| persist::aof::open_on_start(&server))
                .map_err(fail)
        } else {
            load_dump(&server).inspect_err(|e| server.log.warning(&e.message))
        };
        server.persist.loading.store(false, Ordering::Release);
        loaded?;
    }
    persist::aof::start_thread(&server)
        .map_err(|e| fail(format!("Can't start the AOF thread: {e}")))?;
    server.log.notice("Ready to accept connections");
    for t in accept_threads {
        let _ = t.join();
    }
    Ok(())
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

/// Whether protected mode refuses a client from `peer`: Redis 7.0's `clientAcceptHandler`
/// check. It applies while `protected-mode` is yes and the default user has no password
/// (no `requirepass`), to every client that is not on the loopback interface, whatever
/// `bind` says (Redis 7.0 dropped the "no bind address given" condition of older
/// versions; redlite's default `bind 127.0.0.1` keeps such clients out before that).
pub fn protected_mode_refuses(peer: IpAddr, protected_mode: bool, password_set: bool) -> bool {
    protected_mode && !password_set && !is_local_address(peer)
}

/// [`protected_mode_refuses`] with the settings taken from `config`.
fn refused_by_protected_mode(peer: IpAddr, config: &Config) -> bool {
    let protected_mode = config.value("protected-mode").as_deref() == Some(&b"yes"[..]);
    protected_mode_refuses(peer, protected_mode, !config.requirepass.is_empty())
}

/// Binds every `bind` address on the configured port (0 picks one, shared by all).
fn bind_all(config: &Config) -> Result<Vec<TcpListener>, StartError> {
    let mut port = config.port;
    let mut listeners = Vec::new();
    for addr in &config.bind {
        // Redis's "-" prefix marks an optional address: skip it if it cannot be bound.
        let (optional, addr) = match addr.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, addr.as_str()),
        };
        let addr = if addr == "*" { "0.0.0.0" } else { addr };
        let host = if addr.contains(':') {
            format!("[{addr}]")
        } else {
            addr.to_string()
        };
        match TcpListener::bind(format!("{host}:{port}")) {
            Ok(l) => {
                if port == 0 {
                    port = l.local_addr().map(|a| a.port()).unwrap_or(0);
                }
                listeners.push(l);
            }
            Err(_) if optional => {}
            Err(e) => {
                return Err(fail(format!(
                    "Warning: Could not create server TCP listening socket {host}:{port}: bind: {e}\nFailed listening on port {port} (TCP), aborting."
                )))
            }
        }
    }
    if listeners.is_empty() {
        return Err(fail(format!(
            "Failed listening on port {port} (TCP), aborting."
        )));
    }
    Ok(listeners)
}

/// Loads the dump into the server's store while clients are told -LOADING. A file that
/// exists but cannot be read stops the server: starting empty would overwrite the user's
/// data at the next save.
fn load_dump(server: &Server) -> Result<(), StartError> {
    let path = server.dump_path();
    let (databases, limits) = {
        let config = server.config();
        (config.databases, config.limits())
    };
    let start = Instant::now();
    let progress = persist::save::Progress {
        bytes: &server.persist.loading_loaded_bytes,
        log: &server.log,
    };
    match persist::save::load(&path, databases, &limits, Some(progress)) {
        Ok(None) => {
            server.log.notice(&format!(
                "No dump file found at {}: starting with an empty dataset",
                path.display()
            ));
            Ok(())
        }
        Ok(Some((keyspace, stats))) => {
            let p = &server.persist;
            p.keys_loaded.store(stats.keys_loaded, Ordering::Relaxed);
            p.keys_expired_on_load
                .store(stats.keys_expired, Ordering::Relaxed);
            let old = std::mem::replace(&mut *server.store.write(), keyspace);
            drop(old);
            server.log.notice(&format!(
                "Done loading dump, keys loaded: {}, keys expired: {}.",
                stats.keys_loaded, stats.keys_expired
            ));
            server.log.notice(&format!(
                "DB loaded from disk: {:.3} seconds",
                start.elapsed().as_secs_f64()
            ));
            Ok(())
        }
        Err(e) => Err(fail(format!(
            "Fatal error loading the DB from {}: {e}. Exiting.",
            path.display()
        ))),
    }
}

fn accept_loop(server: &Arc<Server>, listener: &TcpListener, pool: &Pool) {
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                server
                    .log
                    .verbose(&format!("Accepting client connection: {e}"));
                // Out of file descriptors and the like: back off instead of spinning.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        accept(server, stream, pool);
    }
}

fn accept(server: &Arc<Server>, stream: TcpStream, pool: &Pool) {
    let _ = stream.set_nodelay(true);
    server
        .stats
        .connections_received
        .fetch_add(1, Ordering::Relaxed);
    let id = server.clients.next_id();
    // The handle keeps the socket and the connection reads through it: one descriptor
    // per client, which is what the open-files limit was checked against.
    let handle = match ClientHandle::new(id, stream) {
        Ok(h) => Arc::new(h),
        Err(_) => return,
    };
    let max = server.config().maxclients as usize;
    if !server.clients.register(Arc::clone(&handle), max) {
        server
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = handle.send(b"-ERR max number of clients reached\r\n");
        return;
    }
    // After the maxclients check, as in Redis (where it runs once the connection is
    // accepted).
    if refused_by_protected_mode(handle.addr.ip(), &server.config()) {
        server.clients.unregister(id);
        server
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = handle.send(PROTECTED_MODE_DENIED.as_bytes());
        return;
    }
    let server2 = Arc::clone(server);
    let handle2 = Arc::clone(&handle);
    if pool
        .execute(move || crate::connection::serve_client(&server2, handle2))
        .is_err()
    {
        server.clients.unregister(id);
    }
}

/// The periodic work: active expiry every tick, client timeouts and the ops/sec sample.
fn cron_loop(server: &Server) {
    let mut state = CronState {
        last_sample: (Instant::now(), 0),
        last_clients_check: Instant::now(),
        next_expire_db: 0,
    };
    loop {
        let hz = server.config().hz.max(1);
        thread::sleep(Duration::from_millis(1000 / u64::from(hz)));
        // A bug in one tick must not stop expiry and timeouts for good.
        let tick = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cron_tick(server, &mut state, hz)
        }));
        if tick.is_err() {
            server.log.warning("A background tick failed; carrying on");
        }
    }
}

/// What the cron carries from one tick to the next.
struct CronState {
    /// When ops/sec was last sampled, and the command count then.
    last_sample: (Instant, u64),
    last_clients_check: Instant,
    /// Where the next active expiry tick starts.
    next_expire_db: usize,
}

fn cron_tick(server: &Server, state: &mut CronState, hz: u32) {
    if server.persist.loading.load(Ordering::Acquire) {
        return;
    }
    // The keys each step removes are taken, still under its lock, before a command could
    // take them as its own; their messages are sent once the cycle is done.
    let mut outgoing = Vec::new();
    let mut published = crate::client::Published::default();
    let wanted = server.wanted();
    if server.active_expire.load(Ordering::Relaxed) {
        expire::cycle(&server.store, hz, &mut state.next_expire_db, |ks| {
            ks.begin(wanted);
            if ks.effects_pending() {
                let mut origin = crate::consumers::Origin {
                    client_id: 0,
                    pending: &mut Vec::new(),
                    outgoing: &mut outgoing,
                    published: &mut published,
                    held: None,
                };
                crate::consumers::deliver(server, ks.take_effects(), &mut origin, false);
            }
        });
    }
    crate::tracking::deliver(&mut outgoing);
    published.flush();
    persist::save::cron(server);

    let elapsed = state.last_sample.0.elapsed();
    if elapsed >= Duration::from_millis(100) {
        let total = server.stats.commands_processed.load(Ordering::Relaxed);
        // CONFIG RESETSTAT may have zeroed the counter since the last sample.
        let ops = total.saturating_sub(state.last_sample.1) as f64 / elapsed.as_secs_f64();
        server
            .stats
            .instantaneous_ops
            .store(ops as u64, Ordering::Relaxed);
        state.last_sample = (Instant::now(), total);
    }
    if state.last_clients_check.elapsed() >= Duration::from_secs(1) {
        state.last_clients_check = Instant::now();
        close_idle_clients(server);
    }
}

/// Closes clients idle for longer than `timeout` seconds (0 = never), as Redis's
/// `clientsCronHandleTimeout`.
fn close_idle_clients(server: &Server) {
    let timeout = server.config().timeout;
    if timeout == 0 {
        return;
    }
    let now = now_ms();
    for client in server.clients.all() {
        let last = client.last_active_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) > timeout * 1000 {
            server.log.verbose("Closing idle client");
            client.kill();
        }
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

    #[test]
    fn protected_mode_decision() {
        let remote: IpAddr = "192.0.2.2".parse().unwrap();
        let remote6: IpAddr = "2001:db8::2".parse().unwrap();
        for local in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            let local: IpAddr = local.parse().unwrap();
            assert!(!protected_mode_refuses(local, true, false));
        }
        assert!(protected_mode_refuses(remote, true, false));
        assert!(protected_mode_refuses(remote6, true, false));
        // A password, or protected mode off, lets them in.
        assert!(!protected_mode_refuses(remote, true, true));
        assert!(!protected_mode_refuses(remote, false, false));
        // From the configuration: defaults, flags, CONFIG SET.
        let mut config = Config::default();
        assert!(refused_by_protected_mode(remote, &config));
        assert!(!refused_by_protected_mode(
            "127.0.0.1".parse().unwrap(),
            &config
        ));
        config.set(&[(b"protected-mode", b"no")]).unwrap();
        assert!(!refused_by_protected_mode(remote, &config));
        config.set(&[(b"protected-mode", b"yes")]).unwrap();
        config.set(&[(b"requirepass", b"pw")]).unwrap();
        assert!(!refused_by_protected_mode(remote, &config));
        let flags = ["--protected-mode", "no", "--bind", "0.0.0.0"].map(String::from);
        assert!(!refused_by_protected_mode(
            remote,
            &Config::from_args(flags).unwrap()
        ));
        // The text ends as a RESP error must, and is Redis's (the start and end of it
        // here; tests/security.rs compares every byte with redis-server's).
        assert!(PROTECTED_MODE_DENIED.starts_with(
            "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. "
        ));
        assert!(PROTECTED_MODE_DENIED.ends_with(
            " in order for the server to start accepting connections from the outside.\r\n"
        ));
        assert_eq!(PROTECTED_MODE_DENIED.len(), 1066 + 1);
        assert_eq!(PROTECTED_MODE_DENIED.matches('\n').count(), 1);
    }
}
