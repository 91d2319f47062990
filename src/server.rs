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
use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{is_local_address, ClientHandle};
use crate::config::Config;
use crate::log::Logger;
use crate::persist;
use crate::pool::Pool;
use crate::socket::{Listener, Socket};
use crate::state::{
    fit_maxclients, open_files_limit, FdBudget, Server, REDIS_VERSION, REDLITE_VERSION,
};
use crate::store::{expire, Store};
use crate::util::now_ms;

/// How long an idle pool worker lives before retiring.
const WORKER_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

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

/// The startup logo (redlite's own drawing), with the lines Redis's logo carries:
/// version, mode, port and PID.
fn logo(port: u16) -> String {
    let pid = std::process::id();
    format!(
        "\n                _ _ _ _\n   _ __ ___  __| | (_) |_ ___        Redis {REDIS_VERSION} (redlite {REDLITE_VERSION}) 64 bit\n  | '__/ _ \\/ _` | | | __/ _ \\\n  | | |  __/ (_| | | | ||  __/       Running in standalone mode\n  |_|  \\___|\\__,_|_|_|\\__\\___|       Port: {port}\n                                      PID: {pid}\n\n"
    )
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

    let unixsocket = config.value("unixsocket").unwrap_or_default();
    let unixsocket = String::from_utf8_lossy(&unixsocket).into_owned();
    // Port 0 listens on no TCP port when a unix socket is configured, as in Redis;
    // alone, it picks a free port (where Redis would exit: not listening anywhere).
    let listeners = if config.port == 0 && !unixsocket.is_empty() {
        Vec::new()
    } else {
        bind_all(&config)?
    };
    let port = match listeners.first() {
        Some(l) => l
            .local_addr()
            .map_err(|e| fail(format!("Can't read the bound address: {e}")))?
            .port(),
        None => 0,
    };
    // After the TCP listeners, as Redis's `initServer` opens them.
    let unix_listener = if unixsocket.is_empty() {
        None
    } else {
        let perm = config.value("unixsocketperm").unwrap_or_default();
        let perm = u32::from_str_radix(&String::from_utf8_lossy(&perm), 8).unwrap_or(0);
        let listener = crate::socket::listen_unix(&unixsocket, perm).map_err(|e| {
            let message = format!("Failed opening Unix socket: {e}");
            boot_log.warning(&message);
            fail(message)
        })?;
        Some(listener)
    };
    // The logo when asked for, or when the log is a terminal, as Redis's
    // `redisAsciiArt` decides; else one line. Redis's test harness waits for `PID:`.
    let to_terminal = config.logfile.is_empty() && std::io::stdout().is_terminal();
    if config.is_yes("always-show-logo") || to_terminal {
        boot_log.raw(&logo(port));
    } else {
        boot_log.notice(&format!("Running mode=standalone, port={port}."));
    }
    boot_log.warning("Server initialized");
    let pidfile = config.value("pidfile").unwrap_or_default();
    if !pidfile.is_empty() {
        let path = String::from_utf8_lossy(&pidfile).into_owned();
        if let Err(e) = std::fs::write(&path, format!("{}\n", std::process::id())) {
            boot_log.warning(&format!("Failed to write PID file: {e}"));
        }
    }

    // With port 0 we picked one: CONFIG GET port reports the real one.
    config.port = port;
    let databases = config.databases;
    // Clients are served while the dump loads, and told so (-LOADING) until it is in.
    let server = Server::new(config, Store::new(databases), port).into_arc();
    crate::process::log_panics(&server);
    let supervised = server.config().supervised();
    server.process.supervise(supervised, &server.log);
    if server.config().replicaof().is_none() {
        // A replica's score is set when it takes its master, below.
        server.apply_oom_score();
    }
    // The users (Redis loads them before it serves anyone): an ACL error stops the
    // start rather than leaving the server open.
    {
        let config = server.config();
        let user_lines: Vec<Vec<Vec<u8>>> = config
            .directives
            .iter()
            .filter(|d| d.args[0] == b"user")
            .map(|d| d.args[1..].to_vec())
            .collect();
        let aclfile =
            String::from_utf8_lossy(&config.value("aclfile").unwrap_or_default()).into_owned();
        drop(config);
        if let Err(lines) = crate::acl::startup_users(&server.acl, &user_lines, &aclfile) {
            for line in &lines {
                server.log.warning(line);
            }
            return Err(fail(lines.join("\n")));
        }
    }
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
    let tcp_listening = !listeners.is_empty();
    // `replicaof`: a replica before anyone is served (Redis's role comes from its
    // config); the link connects once the dataset is loaded, below.
    let master = server.config().replicaof();
    let link =
        master.map(|(host, port)| crate::replication::replica::take_master(&server, host, port));
    if let Some(listener) = unix_listener {
        // Its own accept thread, which CONFIG SET port or bind never replaces.
        let (server, pool) = (Arc::clone(&server), pool.clone());
        thread::Builder::new()
            .name("redlite-accept-unix".into())
            .spawn(move || accept_loop(&server, &Listener::Unix(listener), &pool, || false))
            .map_err(|e| fail(format!("Can't start an accept thread: {e}")))?;
    }
    let listening = Arc::new(Listening::default());
    listening
        .serve(&server, listeners, &pool)
        .map_err(|e| fail(format!("Can't start an accept thread: {e}")))?;
    {
        let (server_ref, listening, pool) = (
            Arc::downgrade(&server),
            Arc::clone(&listening),
            pool.clone(),
        );
        let _ = server
            .rebind
            .set(Box::new(move |config: &Config, before: &Config| {
                let server = server_ref.upgrade().ok_or("the server is gone")?;
                listening.retire();
                let (listeners, port, result) = match bind_for(config) {
                    Ok((listeners, port)) => (listeners, port, Ok(port)),
                    Err(e) => {
                        // Back to the listeners of before, as Redis restores them.
                        let (listeners, port) = bind_for(before).unwrap_or_else(|again| {
                            server.log.warning(&again.message);
                            (Vec::new(), 0)
                        });
                        (listeners, port, Err(e.message))
                    }
                };
                server.set_port(port);
                listening
                    .serve(&server, listeners, &pool)
                    .map_err(|e| e.to_string())?;
                result
            }));
    }
    if server.persist.loading.load(Ordering::Acquire) {
        let loaded = if aof_on {
            // The AOF loader logs its own fatal errors, as Redis does.
            persist::aof::load_on_start(&server, &crate::command::REPLAY)
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
    let replica = link.is_some();
    if let Some(generation) = link {
        crate::replication::replica::connect(&server, generation);
    }
    if tcp_listening {
        server.log.notice("Ready to accept connections");
    }
    if !unixsocket.is_empty() {
        server.log.notice(&format!(
            "The server is now ready to accept connections at {unixsocket}"
        ));
    }
    server.process.ready(replica, &server.log);
    // The accept threads serve until SHUTDOWN exits the process (CONFIG SET port or bind
    // replaces them meanwhile).
    loop {
        thread::park();
    }
}

/// The listeners in use: each accept thread serves one, until a newer set replaces its
/// own (CONFIG SET port or bind): then it ends after its next accept.
#[derive(Default)]
struct Listening {
    generation: AtomicU64,
    /// The current listeners' addresses and threads, to wake and wait for them.
    current: Mutex<Vec<(SocketAddr, thread::JoinHandle<()>)>>,
}

impl Listening {
    /// Starts an accept thread on each of `listeners`.
    fn serve(
        self: &Arc<Self>,
        server: &Arc<Server>,
        listeners: Vec<TcpListener>,
        pool: &Pool,
    ) -> std::io::Result<()> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let generation = self.generation.load(Ordering::Acquire);
        for listener in listeners {
            let addr = listener.local_addr()?;
            let (server, pool, me) = (Arc::clone(server), pool.clone(), Arc::clone(self));
            let thread = thread::Builder::new()
                .name("redlite-accept".into())
                .spawn(move || {
                    // Replaced once the generation moves on (see `retire`).
                    let retired = || me.generation.load(Ordering::Acquire) != generation;
                    accept_loop(&server, &Listener::Tcp(listener), &pool, retired)
                })?;
            current.push((addr, thread));
        }
        Ok(())
    }

    /// Closes the current listeners, as Redis closes its sockets before binding anew:
    /// each thread is woken by a connection of our own and ends, dropping its listener.
    fn retire(&self) {
        let old = std::mem::take(&mut *self.current.lock().unwrap_or_else(|e| e.into_inner()));
        self.generation.fetch_add(1, Ordering::AcqRel);
        for (addr, thread) in old {
            let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(200));
            let deadline = Instant::now() + Duration::from_secs(1);
            while !thread.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// Binds the listeners `config` asks for (none for port 0, as Redis at runtime), and
/// the port bound.
fn bind_for(config: &Config) -> Result<(Vec<TcpListener>, u16), StartError> {
    if config.port == 0 {
        return Ok((Vec::new(), 0));
    }
    let listeners = bind_all(config)?;
    let port = listeners[0].local_addr().map(|a| a.port()).unwrap_or(0);
    Ok((listeners, port))
}

/// Whether protected mode refuses a client from `peer`: Redis 7.0's `clientAcceptHandler`
/// check. It applies while `protected-mode` is yes and the default user has no password
/// (no `requirepass`), to every client that is not on the loopback interface, whatever
/// `bind` says (Redis 7.0 dropped the "no bind address given" condition of older
/// versions; redlite's default `bind 127.0.0.1` keeps such clients out before that).
pub fn protected_mode_refuses(peer: IpAddr, protected_mode: bool, password_set: bool) -> bool {
    protected_mode && !password_set && !is_local_address(peer)
}

/// [`protected_mode_refuses`] with `protected-mode` taken from `config`; whether the
/// default user has a password is `password_set` (its ACL rules: `requirepass`, or a
/// password ACL SETUSER or the ACL file gave it, as Redis's `USER_FLAG_NOPASS` test).
fn refused_by_protected_mode(peer: IpAddr, config: &Config, password_set: bool) -> bool {
    let protected_mode = config.value("protected-mode").as_deref() == Some(&b"yes"[..]);
    protected_mode_refuses(peer, protected_mode, password_set)
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
    let (clock, delay) = {
        let config = server.config();
        (config.clock(), config.int("key-load-delay"))
    };
    match persist::save::load(&path, databases, &limits, clock, Some(progress), delay) {
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
            crate::command::scripting::restore_libraries(server, &stats.functions).map_err(
                |e| {
                    fail(format!(
                        "Fatal error loading the DB from {}: function library: {e}. Exiting.",
                        path.display()
                    ))
                },
            )?;
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

/// Accepts clients on `listener` until `retired` says a newer listener replaced it.
fn accept_loop(server: &Arc<Server>, listener: &Listener, pool: &Pool, retired: impl Fn() -> bool) {
    loop {
        let stream = listener.accept();
        // Replaced: whatever came in (our wake-up, or a client just in time) is served,
        // and the listener closes.
        let retired = retired();
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
        if retired {
            return;
        }
    }
}

fn accept(server: &Arc<Server>, stream: Socket, pool: &Pool) {
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
    // accepted). A unix socket client is local: never refused.
    let password_set = !server.acl.default_user().read().nopass;
    let refused = handle
        .addr
        .ip()
        .is_some_and(|ip| refused_by_protected_mode(ip, &server.config(), password_set));
    if refused {
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
        last_sample: (Instant::now(), [0; 3]),
        last_clients_check: Instant::now(),
        next_expire_db: 0,
        next_client: 0,
    };
    loop {
        let hz = {
            let config = server.config();
            effective_hz(config.hz, config.is_yes("dynamic-hz"), server.clients.len())
        };
        server.hz.store(hz, Ordering::Relaxed);
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

/// The cron's rate: `hz`, and under `dynamic-hz` doubled (up to 500) while there are
/// more than 200 clients per tick, as Redis's serverCron adapts `server.hz`.
fn effective_hz(configured: u32, dynamic: bool, clients: usize) -> u32 {
    let mut hz = configured.max(1);
    if dynamic {
        while clients / hz as usize > 200 {
            hz *= 2;
            if hz >= 500 {
                return 500;
            }
        }
    }
    hz
}

/// What the cron carries from one tick to the next.
struct CronState {
    /// When ops/sec was last sampled, and the command count then.
    /// When the rates were last sampled, and the commands, input and output bytes then.
    last_sample: (Instant, [u64; 3]),
    last_clients_check: Instant,
    /// Where the next active expiry tick starts.
    next_expire_db: usize,
    /// The id after the last client the previous tick's client cron visited.
    next_client: u64,
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
    // A paused server expires nothing (CLIENT PAUSE), nor does a replica: it waits for
    // its master's DELs.
    if server.active_expire.load(Ordering::Relaxed)
        && !server.pause.holds_expiry()
        && !server.repl.is_replica()
    {
        let effort = expire::Effort::new(server.config().uint("active-expire-effort") as u32);
        let (_, busy) = expire::cycle(&server.store, hz, effort, &mut state.next_expire_db, |ks| {
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
        server
            .latency
            .sample("expire-cycle", busy.as_millis() as u64);
    }
    crate::tracking::deliver(&mut outgoing);
    published.flush();
    persist::save::cron(server);
    crate::memory::cron(server);
    server.repl.cron(server);
    rehash_cron(server);
    clients_cron(server, &mut state.next_client, hz);

    let elapsed = state.last_sample.0.elapsed();
    if elapsed >= Duration::from_millis(100) {
        let stats = &server.stats;
        let totals = [
            stats.commands_processed.load(Ordering::Relaxed),
            stats.net_input_bytes.load(Ordering::Relaxed),
            stats.net_output_bytes.load(Ordering::Relaxed),
        ];
        // CONFIG RESETSTAT may have zeroed the counters since the last sample.
        let rate = |i: usize| {
            totals[i].saturating_sub(state.last_sample.1[i]) as f64 / elapsed.as_secs_f64()
        };
        stats
            .instantaneous_ops
            .store(rate(0) as u64, Ordering::Relaxed);
        stats
            .input_kbps
            .store((rate(1) / 1024.0).to_bits(), Ordering::Relaxed);
        stats
            .output_kbps
            .store((rate(2) / 1024.0).to_bits(), Ordering::Relaxed);
        state.last_sample = (Instant::now(), totals);
    }
    if state.last_clients_check.elapsed() >= Duration::from_secs(1) {
        state.last_clients_check = Instant::now();
        close_idle_clients(server);
        server.migrate_sockets.close_idle();
    }
}

/// Redis's `clientsCron`: each tick visits a share of the clients (all of them once a
/// second, and at least five per tick), resizing each one's reply buffer model.
fn clients_cron(server: &Server, next: &mut u64, hz: u32) {
    let clients = server.clients.all();
    if clients.is_empty() {
        return;
    }
    let per_tick = (clients.len() / hz.max(1) as usize).max(5);
    let start = clients.partition_point(|c| c.id < *next);
    let now = now_ms();
    for client in clients
        .iter()
        .cycle()
        .skip(start)
        .take(per_tick.min(clients.len()))
    {
        server.clients.reply_buffers.cron(client, now);
        *next = client.id + 1;
    }
}

/// Advances an incremental rehash of the keyspace for up to a millisecond of the write
/// lock, as Redis's `databasesCron` does while `activerehashing` is on. The read lock
/// first: the write lock is only taken when there is work.
fn rehash_cron(server: &Server) {
    const BUDGET: Duration = Duration::from_millis(1);
    let active = server
        .config()
        .get(&[b"activerehashing"])
        .first()
        .is_some_and(|(_, v)| v == b"yes");
    if active && server.store.read().rehash_pending() {
        server.store.write().rehash_for(BUDGET);
    }
    prepare_spares(server);
}

/// Allocates, without the keyspace lock, the bucket arrays big tables will grow into
/// (see [`crate::store::Keyspace::spares_wanted`]), and drops those no longer wanted,
/// also without the lock.
fn prepare_spares(server: &Server) {
    let (wanted, stale) = {
        let ks = server.store.read();
        (ks.spares_wanted(), ks.has_stale_spares())
    };
    let mut unused = Vec::new();
    for (db, n) in wanted {
        let spare = crate::store::table::Buckets::new(n);
        unused.extend(server.store.write().give_spare(db, spare));
    }
    if stale {
        unused.extend(server.store.write().stale_spares());
    }
    drop(unused);
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
        assert!(refused_by_protected_mode(remote, &config, false));
        assert!(!refused_by_protected_mode(
            "127.0.0.1".parse().unwrap(),
            &config,
            false
        ));
        config.set(&[(b"protected-mode", b"no")]).unwrap();
        assert!(!refused_by_protected_mode(remote, &config, false));
        config.set(&[(b"protected-mode", b"yes")]).unwrap();
        assert!(!refused_by_protected_mode(remote, &config, true));
        let flags = ["--protected-mode", "no", "--bind", "0.0.0.0"].map(String::from);
        assert!(!refused_by_protected_mode(
            remote,
            &Config::from_args(flags).unwrap(),
            false
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
