//! The server: shared state, startup (load the dump, bind), the accept loop, and the
//! cron thread that runs active expiry and client timeouts at `hz`.
//!
//! Every accepted connection is served by one worker of the elastic [`Pool`], which grows
//! up to `maxclients`; client number maxclients+1 is told so and closed.

use std::fmt;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{ClientHandle, Registry};
use crate::config::Config;
use crate::log::Logger;
use crate::persist;
use crate::pool::Pool;
use crate::store::{expire, Store};
use crate::util::{now_ms, now_us};

/// The Redis version we answer to, so client libraries' version checks pass.
pub const REDIS_VERSION: &str = "7.0.15";
/// Our own version.
pub const REDLITE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How long an idle pool worker lives before retiring.
const WORKER_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

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
}

/// What INFO persistence and LASTSAVE report.
#[derive(Debug, Default)]
pub struct PersistState {
    /// Unix seconds of the last successful save (or of startup).
    pub last_save: AtomicU64,
    pub last_save_ok: AtomicBool,
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
    pub log: Logger,
    pub started: Instant,
    pub run_id: String,
    /// The TCP port actually bound (differs from the config when it asked for 0).
    pub port: u16,
    /// `proto-max-bulk-len`, mirrored here so each read batch need not lock the config.
    proto_max_bulk_len: AtomicU64,
}

impl Server {
    /// Shared state over an existing store (the server's startup, and tests).
    pub fn new(config: Config, store: Store, port: u16) -> Server {
        let log = Logger::new(config.loglevel, &config.logfile);
        let proto = config.proto_max_bulk_len;
        Server {
            store,
            config: RwLock::new(config),
            clients: Registry::default(),
            stats: Stats::default(),
            persist: PersistState {
                last_save: AtomicU64::new(now_ms() / 1000),
                last_save_ok: AtomicBool::new(true),
                ..PersistState::default()
            },
            log,
            started: Instant::now(),
            run_id: run_id(),
            port,
            proto_max_bulk_len: AtomicU64::new(proto),
        }
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
        self.log.set_level(config.loglevel);
    }

    /// `proto-max-bulk-len`.
    pub fn proto_max_bulk_len(&self) -> u64 {
        self.proto_max_bulk_len.load(Ordering::Relaxed)
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

    let listeners = bind_all(&config)?;
    let port = listeners[0]
        .local_addr()
        .map_err(|e| fail(format!("Can't read the bound address: {e}")))?
        .port();
    boot_log.notice(&format!("Running mode=standalone, port={port}."));
    boot_log.warning("Server initialized");

    let store = load_dump(&config, &boot_log)?;
    // With port 0 we picked one: CONFIG GET port reports the real one.
    let mut config = config;
    config.port = port;
    let server = Arc::new(Server::new(config, store, port));
    persist::save::cleanup_temp_files(&server.log);

    let cron = Arc::clone(&server);
    thread::Builder::new()
        .name("redlite-cron".into())
        .spawn(move || cron_loop(&cron))
        .map_err(|e| fail(format!("Can't start the cron thread: {e}")))?;

    // The registry admits at most `maxclients` connections (which CONFIG SET may raise),
    // and each holds one worker, so the pool itself needs no lower cap: it grows with the
    // clients, up to maxclients, and never makes a client wait for another to leave.
    let pool = Pool::new(usize::MAX, WORKER_IDLE_TIMEOUT);
    server.log.notice("Ready to accept connections");
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
    for t in accept_threads {
        let _ = t.join();
    }
    Ok(())
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

/// Loads the dump if there is one. A file that exists but cannot be read stops the
/// server: starting empty would overwrite the user's data at the next save.
fn load_dump(config: &Config, log: &Logger) -> Result<Store, StartError> {
    let path = PathBuf::from(&config.dbfilename);
    let start = Instant::now();
    match persist::save::load(&path, config.databases) {
        Ok(None) => {
            log.notice(&format!(
                "No dump file found at {}/{}: starting with an empty dataset",
                config.dir.display(),
                path.display()
            ));
            Ok(Store::new(config.databases))
        }
        Ok(Some((keyspace, stats))) => {
            log.notice(&format!(
                "Done loading dump, keys loaded: {}, keys expired: {}.",
                stats.keys_loaded, stats.keys_expired
            ));
            log.notice(&format!(
                "DB loaded from disk: {:.3} seconds",
                start.elapsed().as_secs_f64()
            ));
            Ok(Store::from_keyspace(keyspace))
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

fn accept(server: &Arc<Server>, mut stream: TcpStream, pool: &Pool) {
    let _ = stream.set_nodelay(true);
    server
        .stats
        .connections_received
        .fetch_add(1, Ordering::Relaxed);
    let id = server.clients.next_id();
    let handle = match stream.try_clone().and_then(|w| ClientHandle::new(id, w)) {
        Ok(h) => Arc::new(h),
        Err(_) => return,
    };
    let max = server.config().maxclients as usize;
    if !server.clients.register(Arc::clone(&handle), max) {
        server
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = stream.write_all(b"-ERR max number of clients reached\r\n");
        return;
    }
    let server2 = Arc::clone(server);
    let handle2 = Arc::clone(&handle);
    if pool
        .execute(move || crate::connection::serve(&server2, stream, handle2))
        .is_err()
    {
        server.clients.unregister(id);
    }
}

/// The periodic work: active expiry every tick, client timeouts and the ops/sec sample.
fn cron_loop(server: &Server) {
    let mut last_sample = (Instant::now(), 0u64);
    let mut last_clients_check = Instant::now();
    loop {
        let hz = server.config().hz.max(1);
        thread::sleep(Duration::from_millis(1000 / u64::from(hz)));
        expire::cycle(&server.store, hz);

        let elapsed = last_sample.0.elapsed();
        if elapsed >= Duration::from_millis(100) {
            let total = server.stats.commands_processed.load(Ordering::Relaxed);
            let ops = (total - last_sample.1) as f64 / elapsed.as_secs_f64();
            server
                .stats
                .instantaneous_ops
                .store(ops as u64, Ordering::Relaxed);
            last_sample = (Instant::now(), total);
        }
        if last_clients_check.elapsed() >= Duration::from_secs(1) {
            last_clients_check = Instant::now();
            close_idle_clients(server);
        }
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
