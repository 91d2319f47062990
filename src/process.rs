//! What redlite tells the operating system about itself, as Redis does in server.c:
//! readiness to a supervisor (`supervised`: systemd's notify socket, upstart's stop
//! signal) and the OOM killer's score of the process (`oom-score-adj`,
//! `oom-score-adj-values`); and how it asks glibc's allocator not to stall
//! ([`tune_allocator`]).

use std::io;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use crate::log::Logger;

/// `supervised`'s values in the config table.
const UPSTART: i64 = 1;
const SYSTEMD: i64 = 2;
const AUTO: i64 = 3;

/// The glibc tunable that [`tune_allocator`] sets: no "fast bins".
const NO_FAST_BINS: &str = "glibc.malloc.mxfast=0";

/// Runs the server again with glibc's malloc told to keep no fast bins, unless the
/// environment already says how many (`GLIBC_TUNABLES` naming `glibc.malloc.mxfast`,
/// which is also how to keep glibc's default). Returns only if that was not done.
///
/// Why: glibc keeps freed chunks of up to 128 bytes (every small key and value) in
/// per-arena fast bins without merging them, and merges a whole arena's fast bins at
/// once the next time a thread asks that arena for a larger block (a connection's read
/// buffer, a bucket array, a snapshot's spool). After a FLUSHALL or a mass overwrite
/// left hundreds of thousands of chunks there, that merge was measured at 18-28 ms of
/// one thread, holding the arena (and sometimes the keyspace lock) meanwhile: the
/// 100-200 ms stalls of `bench-compare`'s growing keyspace and of SETs during a
/// BGSAVE that followed a FLUSHALL (with this setting: 8-34 ms and 11-25 ms, on the
/// same loaded machine). Without fast bins, chunks are merged as they are freed, a
/// little at a time; per-thread caches still serve most small allocations. Redis
/// avoids the problem by linking jemalloc; redlite uses the system allocator, and
/// tunables are read only when a process starts, hence the `exec` of itself.
pub fn tune_allocator() {
    let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if current.contains("glibc.malloc.mxfast") {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let tunables = if current.is_empty() {
        NO_FAST_BINS.to_string()
    } else {
        format!("{current}:{NO_FAST_BINS}")
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    use std::os::unix::process::CommandExt;
    // `exec` returns only on failure; the server then runs as it is.
    let _ = std::process::Command::new(exe)
        .arg0(arg0)
        .args(args)
        .env("GLIBC_TUNABLES", tunables)
        .exec();
}

/// The file the kernel reads the OOM score adjustment from.
const OOM_SCORE_ADJ: &str = "/proc/self/oom_score_adj";

/// The process's supervisor and OOM score state.
#[derive(Default)]
pub struct Process {
    /// The supervisor found at startup: 0 none, else `UPSTART` or `SYSTEMD`.
    supervisor: AtomicU8,
    /// `Some(base)` once redlite has changed the OOM score: the score it found, which
    /// `relative` adds to and which `oom-score-adj no` puts back.
    oom_base: Mutex<Option<i64>>,
    /// A SHUTDOWN waiting for its replicas (`shutdown-timeout`): its deadline, and
    /// whether SHUTDOWN ABORT asked it to give up.
    shutdown: Mutex<Option<(std::time::Instant, bool)>>,
}

/// Which class of process `oom-score-adj-values` picks a value for (Redis's
/// `CONFIG_OOM_MASTER` and `CONFIG_OOM_REPLICA`; redlite has no child processes, so the
/// third value, for them, is never used).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Master = 0,
    Replica = 1,
}

impl Process {
    /// Redis's `redisIsSupervised`: `supervised upstart|systemd|auto` (auto looks at
    /// `UPSTART_JOB`, then `NOTIFY_SOCKET`). Upstart is told the server is ready by the
    /// server stopping itself (SIGSTOP) until upstart continues it; systemd hears it on
    /// its notify socket once the dataset is loaded ([`Process::ready`]).
    pub fn supervise(&self, mode: i64, log: &Logger) {
        let mut mode = mode;
        if mode == AUTO {
            if std::env::var_os("UPSTART_JOB").is_some() {
                log.verbose("Upstart supervision detected.");
                mode = UPSTART;
            } else if std::env::var_os("NOTIFY_SOCKET").is_some() {
                log.verbose("Systemd supervision detected.");
                mode = SYSTEMD;
            }
        }
        let supervised = match mode {
            UPSTART => supervise_upstart(log),
            SYSTEMD => {
                let ok = notify_systemd("STATUS=Redis is loading...\n", log);
                if ok {
                    log.notice(
                        "Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.",
                    );
                }
                ok
            }
            _ => false,
        };
        if supervised {
            self.supervisor.store(mode as u8, Ordering::Relaxed);
        }
    }

    /// INFO's `process_supervised`.
    pub fn supervised_name(&self) -> &'static str {
        match i64::from(self.supervisor.load(Ordering::Relaxed)) {
            UPSTART => "upstart",
            SYSTEMD => "systemd",
            _ => "no",
        }
    }

    /// Tells systemd (when it supervises us) a status line or a state change, such as
    /// `READY=1` or `STOPPING=1`.
    pub fn notify(&self, message: &str, log: &Logger) {
        if i64::from(self.supervisor.load(Ordering::Relaxed)) == SYSTEMD {
            notify_systemd(message, log);
        }
    }

    /// The dataset is loaded and clients are served: systemd's `READY=1`, with Redis's
    /// status line (a replica says it waits for its master).
    pub fn ready(&self, replica: bool, log: &Logger) {
        self.notify(
            if replica {
                "STATUS=Ready to accept connections in read-only mode. Waiting for MASTER <-> REPLICA sync\n"
            } else {
                "STATUS=Ready to accept connections\n"
            },
            log,
        );
        self.notify("READY=1\n", log);
    }

    /// Redis's `setOOMScoreAdj`: with `oom-score-adj` yes/relative or absolute, writes
    /// the value for `role` (relative: added to the score found before the first change,
    /// clamped to ±1000); set back to `no`, restores that score. `mode` is the
    /// `oom-score-adj` value (0 no, 1 relative, 2 absolute). False when /proc refused
    /// it, which is logged as Redis logs it.
    pub fn set_oom_score(&self, mode: i64, values: [i64; 3], role: Role, log: &Logger) -> bool {
        let mut base = self.oom_base.lock().unwrap_or_else(|e| e.into_inner());
        let value = if mode != 0 {
            let found = match *base {
                Some(found) => found,
                None => match std::fs::read_to_string(OOM_SCORE_ADJ) {
                    Ok(read) => {
                        let found = read.trim().parse().unwrap_or(0);
                        *base = Some(found);
                        found
                    }
                    Err(e) => {
                        log.warning(&format!("Unable to read oom_score_adj: {}", os_error(&e)));
                        return false;
                    }
                },
            };
            let value = values[role as usize] + if mode == 1 { found } else { 0 };
            value.clamp(-1000, 1000)
        } else if let Some(found) = base.take() {
            found
        } else {
            return true;
        };
        match std::fs::write(OOM_SCORE_ADJ, format!("{value}\n")) {
            Ok(()) => true,
            Err(e) => {
                log.warning(&format!("Unable to write oom_score_adj: {}", os_error(&e)));
                false
            }
        }
    }
}

impl Process {
    /// A SHUTDOWN starts waiting for its replicas until `deadline`.
    pub fn shutdown_waits(&self, deadline: std::time::Instant) {
        *self.shutdown.lock().unwrap_or_else(|e| e.into_inner()) = Some((deadline, false));
    }

    /// Whether SHUTDOWN ABORT asked the waiting SHUTDOWN to give up.
    pub fn shutdown_aborted(&self) -> bool {
        matches!(
            *self.shutdown.lock().unwrap_or_else(|e| e.into_inner()),
            Some((_, true))
        )
    }

    /// The waiting SHUTDOWN is over (it exits, or gave up).
    pub fn shutdown_over(&self) {
        *self.shutdown.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// SHUTDOWN ABORT: false when no SHUTDOWN is waiting.
    pub fn abort_shutdown(&self) -> bool {
        let mut shutdown = self.shutdown.lock().unwrap_or_else(|e| e.into_inner());
        match shutdown.as_mut() {
            Some((_, aborted)) => {
                *aborted = true;
                true
            }
            None => false,
        }
    }

    /// INFO's `shutdown_in_milliseconds`, while a SHUTDOWN waits.
    pub fn shutdown_in_ms(&self) -> Option<u64> {
        let shutdown = self.shutdown.lock().unwrap_or_else(|e| e.into_inner());
        shutdown.map(|(deadline, _)| {
            deadline
                .saturating_duration_since(std::time::Instant::now())
                .as_millis() as u64
        })
    }
}

/// `crash-log-enabled`, mirrored where a panic can read it without a lock.
static CRASH_LOG: AtomicBool = AtomicBool::new(true);

/// Applies `crash-log-enabled`.
pub fn configure(config: &crate::config::Config) {
    CRASH_LOG.store(config.is_yes("crash-log-enabled"), Ordering::Relaxed);
}

/// Redis's bug report for `message` (its `_serverPanic`): the banner, the Guru
/// Meditation line with where it happened, and under `crash-log-enabled` the stack.
fn bug_report(log: &crate::log::Logger, message: &str, location: &str) {
    log.raw("\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n");
    log.warning("------------------------------------------------");
    log.warning("!!! Software Failure. Press left mouse button to continue");
    log.warning(&format!("Guru Meditation: {message} #{location}"));
    if CRASH_LOG.load(Ordering::Relaxed) {
        let trace = std::backtrace::Backtrace::force_capture();
        log.raw(&format!("\n------ STACK TRACE ------\n{trace}\n"));
    }
    log.raw("\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n");
}

/// Stops the server at once, as Redis's `serverPanic`, after its bug report (for the
/// settings that ask for a panic: `propagation-error-behavior`,
/// `replica-ignore-disk-write-errors`).
#[track_caller]
pub fn server_panic(log: &crate::log::Logger, message: &str) -> ! {
    let at = std::panic::Location::caller();
    bug_report(log, message, &format!("{}:{}", at.file(), at.line()));
    std::process::abort();
}

/// Logs a panic (a bug: the command that hit it fails with an error and the server
/// carries on) as Redis logs a crash, into the server's log.
pub fn log_panics(server: &Arc<crate::state::Server>) {
    let server = Arc::downgrade(server);
    std::panic::set_hook(Box::new(move |info| {
        let Some(server) = server.upgrade() else {
            return;
        };
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        bug_report(&server.log, &message, &location);
    }));
}

/// strerror's text for an I/O error (Rust appends " (os error N)").
fn os_error(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Redis's `redisSupervisedUpstart`: stop until upstart sees it and continues us. std
/// cannot raise a signal, so `kill -STOP` sends it.
fn supervise_upstart(log: &Logger) -> bool {
    if std::env::var_os("UPSTART_JOB").is_none() {
        log.warning("upstart supervision requested, but UPSTART_JOB not found!");
        return false;
    }
    log.notice("supervised by upstart, will stop to signal readiness.");
    let stopped = std::process::Command::new("kill")
        .args(["-STOP", &std::process::id().to_string()])
        .status();
    if !matches!(stopped, Ok(status) if status.success()) {
        log.warning("upstart supervision: could not stop to signal readiness (kill -STOP)");
    }
    std::env::remove_var("UPSTART_JOB");
    true
}

/// sd_notify(3): one datagram to the socket named by `NOTIFY_SOCKET` (a path, or an
/// abstract name after `@`). Logs Redis's warnings; false if nothing was sent.
fn notify_systemd(message: &str, log: &Logger) -> bool {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        log.warning("systemd supervision error: NOTIFY_SOCKET not found!");
        return false;
    };
    let sent = UnixDatagram::unbound().and_then(|socket| {
        let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
        match bytes.strip_prefix(b"@") {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.send_to_addr(message.as_bytes(), &addr)
            }
            None => socket.send_to(message.as_bytes(), &path),
        }
    });
    match sent {
        Ok(_) => true,
        Err(e) => {
            log.warning(&format!(
                "systemd supervision error: sd_notify: {}",
                -e.raw_os_error().unwrap_or(0)
            ));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_error_text_is_strerror() {
        let e = io::Error::from_raw_os_error(13);
        assert_eq!(os_error(&e), "Permission denied");
    }
}
