//! `maxmemory`: the server's memory account, and eviction when it passes the limit
//! (Redis's `getMaxmemoryState` and the callers of `performEvictions`).
//!
//! `used_memory` is the keyspace's account (see [`crate::store::memory`]), what the
//! clients' buffers hold and the script cache, over a fixed base for the server's own
//! structures. The keyspace part is exact as of the last write; the clients' and the
//! scripts' part is summed by the cron at every tick.
//!
//! Before every command, while `maxmemory` is set, the dispatcher calls
//! [`perform_evictions`]: nothing happens while the account is under the limit, else
//! keys are evicted under the policy, and a command flagged `denyoom` (or queued inside
//! MULTI) is refused with `-OOM` if nothing more could go.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::config::Config;
use crate::state::Server;
use crate::store::clock::Clock;
use crate::store::evict::{Outcome, Policy, Settings};

/// What the account charges for the server's own structures, before any key or client
/// (Redis's `used_memory_startup` is of the same order, about 860 KB).
pub const BASE: usize = 800 * 1024;

/// Redis's `shared.oomerr`.
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// The memory settings and counters.
#[derive(Debug, Default)]
pub struct Memory {
    /// `maxmemory` in bytes (0: no limit).
    maxmemory: AtomicU64,
    settings: Mutex<Settings>,
    /// What clients' buffers and the script cache hold (the cron sums them).
    other: AtomicUsize,
    /// The highest `used_memory` seen.
    peak: AtomicUsize,
    /// INFO's `evicted_keys`.
    pub evicted_keys: AtomicU64,
    /// When the account went over the limit and stayed there (Redis's
    /// `stat_last_eviction_exceeded_time`), and the total time it was over, in µs.
    exceeded: Mutex<Option<Instant>>,
    /// Whether `exceeded` holds a time: the common case (under the limit, and it was)
    /// then takes no lock.
    is_exceeded: AtomicBool,
    total_exceeded_us: AtomicU64,
}

impl Memory {
    /// Applies the settings of `config`; returns the clock keys are to keep.
    pub fn configure(&self, config: &Config) -> Clock {
        let int = |name: &str| config.uint(name);
        let policy = config
            .value("maxmemory-policy")
            .and_then(|v| Policy::parse(std::str::from_utf8(&v).ok()?))
            .unwrap_or_default();
        self.maxmemory.store(int("maxmemory"), Ordering::Relaxed);
        *self.settings.lock().unwrap_or_else(|e| e.into_inner()) = Settings {
            policy,
            samples: int("maxmemory-samples").max(1) as usize,
            tenacity: int("maxmemory-eviction-tenacity") as u32,
            lazy: config.is_yes("lazyfree-lazy-eviction"),
        };
        config.clock()
    }

    /// `maxmemory` (0: none).
    pub fn maxmemory(&self) -> u64 {
        self.maxmemory.load(Ordering::Relaxed)
    }

    /// The eviction settings.
    pub fn settings(&self) -> Settings {
        *self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The policy (`maxmemory-policy`).
    pub fn policy(&self) -> Policy {
        self.settings().policy
    }

    /// What clients and scripts hold, as of the last cron tick.
    pub fn other(&self) -> usize {
        self.other.load(Ordering::Relaxed)
    }

    /// The highest `used_memory` seen (INFO's `used_memory_peak`).
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Raises the peak (INFO's `used_memory_peak`) to `used` if it is higher.
    pub fn note_peak(&self, used: usize) {
        // A read first: every command comes here, and a write would bounce the line.
        if used > self.peak.load(Ordering::Relaxed) {
            self.peak.fetch_max(used, Ordering::Relaxed);
        }
    }

    /// INFO's `total_eviction_exceeded_time` and `current_eviction_exceeded_time`, in ms.
    pub fn exceeded_ms(&self) -> (u64, u64) {
        let current = self
            .exceeded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(0, |since| since.elapsed().as_micros() as u64);
        (
            (self.total_exceeded_us.load(Ordering::Relaxed) + current) / 1000,
            current / 1000,
        )
    }

    /// Notes whether the account is over the limit now, for the exceeded times.
    fn over(&self, over: bool) {
        if over == self.is_exceeded.load(Ordering::Relaxed) {
            return;
        }
        self.is_exceeded.store(over, Ordering::Relaxed);
        let mut since = self.exceeded.lock().unwrap_or_else(|e| e.into_inner());
        match (*since, over) {
            (None, true) => *since = Some(Instant::now()),
            (Some(t), false) => {
                self.total_exceeded_us
                    .fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                *since = None;
            }
            _ => {}
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&self) {
        self.evicted_keys.store(0, Ordering::Relaxed);
        self.total_exceeded_us.store(0, Ordering::Relaxed);
    }
}

/// The parts of the account, as INFO memory and MEMORY STATS report them.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub used: usize,
    pub peak: usize,
    pub startup: usize,
    /// Everything but the keys: the base, clients, scripts and the databases' tables.
    pub overhead: usize,
    pub clients: usize,
    /// How many clients are connected.
    pub client_count: usize,
    pub scripts: usize,
    /// Per database with keys: (number, keys, expires, table overhead, expiry overhead).
    pub dbs: Vec<(usize, usize, usize, usize, usize)>,
    pub keys: usize,
    pub rss: usize,
}

impl Report {
    /// The account as of the last write (every write settles it when it ends).
    pub fn now(server: &Server) -> Report {
        let ks = server.store.read();
        let mut report = Report {
            startup: BASE,
            ..Report::default()
        };
        let mut db_overhead = 0;
        for (i, db) in ks.dbs().iter().enumerate() {
            let (table, expires) = db.overhead_memory();
            db_overhead += table + expires;
            if !db.is_empty() {
                report
                    .dbs
                    .push((i, db.len(), db.expires_count(), table, expires));
                report.keys += db.len();
            }
        }
        drop(ks);
        let (_, scripts) = server.scripts.cached();
        report.scripts = scripts;
        (report.client_count, report.clients) = clients_memory(server);
        report.used = used_memory(server);
        report.peak = server.memory.peak().max(report.used);
        report.overhead = (BASE + report.clients + report.scripts + db_overhead).min(report.used);
        report.rss = crate::command::info::rss_bytes() as usize;
        report
    }

    /// `used_memory_dataset`: what the keys hold.
    pub fn dataset(&self) -> usize {
        self.used - self.overhead
    }

    /// `used_memory_dataset_perc`'s number: the dataset's share of what grew since
    /// startup.
    pub fn dataset_perc(&self) -> f64 {
        let net = self.used.saturating_sub(self.startup);
        if net == 0 {
            0.0
        } else {
            self.dataset() as f64 * 100.0 / net as f64
        }
    }

    /// `used_memory_peak_perc`'s number.
    pub fn peak_perc(&self) -> f64 {
        self.used as f64 * 100.0 / self.peak.max(1) as f64
    }

    /// `mem_fragmentation_ratio`: resident memory over the account.
    pub fn fragmentation(&self) -> f64 {
        self.rss as f64 / self.used.max(1) as f64
    }
}

/// How many clients there are, and what their buffers hold.
fn clients_memory(server: &Server) -> (usize, usize) {
    let clients = server.clients.all();
    (clients.len(), clients.iter().map(|c| c.memory()).sum())
}

/// INFO's `used_memory`: the base, the keyspace's account, clients and scripts.
pub fn used_memory(server: &Server) -> usize {
    let used = BASE + server.store.used_memory() + server.memory.other();
    server.memory.note_peak(used);
    used
}

/// The cron's share: sums what clients and the script cache hold, then evicts if the
/// account is over the limit (Redis goes on evicting from a timer once a command's
/// time budget ran out).
pub fn cron(server: &Server) {
    let (_, clients) = clients_memory(server);
    let (_, scripts) = server.scripts.cached();
    server
        .memory
        .other
        .store(clients + scripts, Ordering::Relaxed);
    crate::store::clock::tick();
    evict_now(server);
}

/// [`perform_evictions`] caused by the server itself (the cron, CONFIG SET maxmemory),
/// with the messages it queued sent at once.
pub fn evict_now(server: &Server) -> Outcome {
    let mut outgoing = Vec::new();
    let mut published = crate::client::Published::default();
    let mut origin = crate::consumers::Origin {
        client_id: 0,
        pending: &mut Vec::new(),
        outgoing: &mut outgoing,
        published: &mut published,
        held: None,
    };
    let outcome = perform_evictions(server, &mut origin);
    crate::tracking::deliver(&mut outgoing);
    published.flush();
    outcome
}

/// Redis's `performEvictions`: while `maxmemory` is set and the account is over it,
/// evicts under the policy. What each eviction did goes to the consumers as the cause
/// `origin`, each DEL on its own (not wrapped in MULTI). Returns how it ended.
pub fn perform_evictions(server: &Server, origin: &mut crate::consumers::Origin) -> Outcome {
    let limit = server.memory.maxmemory() as usize;
    if limit == 0 || server.persist.loading.load(Ordering::Acquire) {
        return Outcome::Ok;
    }
    if used_memory(server) <= limit {
        server.memory.over(false);
        return Outcome::Ok;
    }
    let settings = server.memory.settings();
    let Some(mut ks) = server.store.write_or_busy() else {
        return Outcome::Ok;
    };
    ks.begin(server.wanted());
    let mut rng = crate::util::rand::seeded();
    let started = Instant::now();
    let (outcome, evicted) = ks.evict(limit, BASE + server.memory.other(), &settings, &mut rng);
    let fx = ks.take_effects();
    if !fx.is_empty() {
        ks.signal_watchers(&fx);
        crate::consumers::deliver(server, fx, origin, false);
    }
    drop(ks);
    if evicted > 0 {
        server
            .memory
            .evicted_keys
            .fetch_add(evicted, Ordering::Relaxed);
        server
            .latency
            .sample("eviction-cycle", started.elapsed().as_millis() as u64);
    }
    server.memory.over(outcome != Outcome::Ok);
    outcome
}
