//! The append-only file (Redis 7.0's aof.c): the propagation stream written to disk, as
//! a multi-part AOF: `<appenddirname>/` holds a base file, incremental files and the
//! manifest that lists them ([`manifest`]).
//!
//! # Writing
//!
//! [`Aof::feed`] receives every propagated command in execution order (the keyspace
//! write lock is held by the caller) and encodes it as RESP into a memory buffer, with a
//! SELECT wherever the database changes, as Redis's `feedAppendOnlyFile` does. The buffer
//! reaches the current incremental file outside the keyspace lock:
//!
//! - before the replies of a batch that wrote are sent ([`Aof::reply_after`], Redis's
//!   `flushAppendOnlyFile` in `beforeSleep`), by the connection itself (whoever holds
//!   the file writes everything fed). With `appendfsync always` it is fsynced too, in a
//!   group commit: the connection that finds no write under way leads a
//!   round: it writes (and fsyncs) everything fed so far, for everyone, and sends its
//!   replies. A connection that finds a round under way hands its replies to the
//!   committer thread and goes back to reading; the committer runs rounds while
//!   replies wait, and sends each round's replies once it is written, in the order they
//!   were handed over. A connection that must not go on before the write (its batch
//!   published messages, or it is about to block) sleeps until its round ends
//!   ([`Aof::before_reply`]);
//! - and at every tick of the AOF thread ([`cron`]), for what the server itself fed
//!   (expired keys) and for writes postponed by a slow fsync.
//!
//! With `everysec` the AOF thread fsyncs once a second, off the file lock, on a clone of
//! the descriptor; a write that finds that fsync still running is postponed, for at most
//! two seconds (then it is written anyway and counted in `aof_delayed_fsync`), as Redis's
//! postpone logic does. With `no` nothing is ever fsynced explicitly.
//!
//! # Rewriting
//!
//! BGREWRITEAOF (or the automatic rewrite) opens a new incremental file and takes a
//! point-in-time snapshot of the keyspace in one step under the write lock, so every
//! command is either in the snapshot or in the new file. A thread then writes the
//! snapshot as commands ([`rewrite`]) into `temp-rewriteaof-bg-<pid>.aof` with BGSAVE's
//! copy-on-write walk (see [`crate::persist::save`]; paced only while clients are active,
//! see `BUSY_RATE`), and when it is done, renames it into
//! a new base file, makes the old base and incremental files history in the manifest,
//! writes the manifest atomically and deletes the history files, as Redis's
//! `backgroundRewriteDoneHandler`.
//!
//! # Loading
//!
//! See [`load`]: at startup with `appendonly yes` the AOF is loaded instead of the dump.

pub mod load;
pub mod manifest;
pub mod rewrite;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::{Duration, Instant};

pub use self::load::Replay;
use self::load::Status;
use self::manifest::{strerror, Manifest};
use crate::client::ClientHandle;
use crate::state::Server;
use crate::store::Op;
use crate::util::now_ms;

/// Redis's `REDIS_AUTOSYNC_BYTES`: with `aof-rewrite-incremental-fsync`, the rewrite
/// fsyncs its file every this many bytes.
const AUTOSYNC_BYTES: u64 = 4 * 1024 * 1024;

/// Commands per second above which clients count as active: the rewrite's walk then
/// pauses after each chunk as BGSAVE's does ([`crate::persist::save::WALK_PAUSE`] times
/// the chunk's time), leaving them the CPU and the keyspace lock; below it (an idle
/// server, or one polled by INFO) it runs unpaced.
const BUSY_RATE: f64 = 1000.0;

/// Redis's `AOF_WRITE_LOG_ERROR_RATE`: seconds between two logs of a write error.
const WRITE_ERROR_LOG_RATE: u64 = 30;

/// The AOF's state (Redis's `aof_state`).
const OFF: u8 = 0;
/// Turned on at runtime, waiting for the first rewrite to produce a base file.
const WAIT_REWRITE: u8 = 1;
const ON: u8 = 2;

/// `appendfsync`.
const FSYNC_NO: u8 = 0;
const FSYNC_ALWAYS: u8 = 1;
const FSYNC_EVERYSEC: u8 = 2;

fn now_secs() -> u64 {
    now_ms() / 1000
}

/// The AOF's state shared by every connection.
#[derive(Debug, Default)]
pub struct Aof {
    /// What `feed` appends to (taken under the keyspace lock).
    buf: Mutex<Buf>,
    /// The open incremental file and the manifest (taken to write, never while `buf`
    /// is held, and never before the keyspace lock).
    file: Mutex<FileSide>,
    /// Group commit: who writes, and what waits for it. See [`Aof::reply_after`].
    commit: Mutex<Commit>,
    /// Wakes the committer thread when it is given the lead.
    commit_wake: Condvar,
    state: AtomicU8,
    fsync_policy: AtomicU8,
    no_fsync_on_rewrite: AtomicBool,
    timestamps: AtomicBool,
    /// Bytes ever fed, and how many of them are written and fsynced.
    fed: AtomicU64,
    written: AtomicU64,
    synced: AtomicU64,
    /// A background fsync waits or runs (INFO's `aof_pending_bio_fsync`).
    fsync_in_progress: AtomicBool,
    /// The fsync the AOF thread is asked to do: a clone of the descriptor, and the fed
    /// offset it covers.
    fsync_job: Mutex<Option<(File, u64)>>,
    wake: Condvar,
    /// Unix seconds of the last fsync (or its request).
    last_fsync: AtomicU64,
    /// Unix seconds since which a write waits for a slow fsync (0: none).
    postponed_since: AtomicU64,
    pub delayed_fsync: AtomicU64,
    /// `aof_last_write_status`, the background fsync's status, and the error text.
    last_write_ok: AtomicBool,
    bio_fsync_ok: AtomicBool,
    last_write_error: Mutex<String>,
    last_write_error_log: AtomicU64,
    current_size: AtomicU64,
    base_size: AtomicU64,
    pub rewrite: RewriteState,
}

/// The background rewrite's state and counters.
#[derive(Debug, Default)]
pub struct RewriteState {
    pub running: AtomicBool,
    pub scheduled: AtomicBool,
    /// Unix seconds when the running one started.
    started: AtomicU64,
    /// Seconds the last one took (-1: none yet); set to -1 by `Aof::new`.
    last_secs: AtomicI64,
    /// `aof_last_bgrewrite_status` is `err` (stored inverted so the default is ok).
    last_failed: AtomicBool,
    pub rewrites: AtomicU64,
    pub consecutive_failures: AtomicU64,
    /// Tells the running rewrite to stop (Redis kills the child with SIGUSR1).
    abort: AtomicBool,
    /// `aofRewriteLimited`'s state: the delay in minutes and when the next may start.
    limit: Mutex<(u64, u64)>,
}

/// The group commit's state (under `Aof::commit`).
#[derive(Debug, Default)]
struct Commit {
    /// Someone writes: a connection leading a round of its own, or the committer.
    leading: bool,
    /// The committer thread has the lead (or is told to take it).
    committer: bool,
    /// Replies and sleepers waiting for their commands to be written, in arrival order.
    queue: Vec<Waiting>,
}

/// What waits in the group commit for the AOF to reach `target` bytes fed.
#[derive(Debug)]
struct Waiting {
    target: u64,
    then: Then,
}

/// What happens when a [`Waiting`]'s round ends.
#[derive(Debug)]
enum Then {
    /// A connection's replies, handed off: the committer sends them.
    Send(Arc<ClientHandle>, Vec<u8>),
    /// A connection's thread asleep in [`Aof::before_reply`]: woken.
    Wake(Arc<Follower>),
}

impl Then {
    fn release(self) {
        match self {
            Then::Send(handle, bytes) => handle.deliver(&bytes),
            Then::Wake(me) => {
                me.released.store(true, Ordering::Release);
                me.thread.unpark();
            }
        }
    }
}

/// A connection's thread asleep in [`Aof::before_reply`] (one per thread, reused).
#[derive(Debug)]
struct Follower {
    thread: Thread,
    /// Set when its round ended, read after a wake.
    released: AtomicBool,
}

thread_local! {
    static FOLLOWER: Arc<Follower> = Arc::new(Follower {
        thread: std::thread::current(),
        released: AtomicBool::new(false),
    });
}

#[derive(Debug, Default)]
struct Buf {
    /// Whether commands are being recorded.
    accepting: bool,
    /// The database the stream last SELECTed (`None`: none yet).
    selected: Option<usize>,
    /// Encoded commands not yet written.
    data: Vec<u8>,
    /// The Unix second of the last `#TS:` annotation.
    timestamp: u64,
}

#[derive(Debug, Default)]
struct FileSide {
    fd: Option<File>,
    manifest: Manifest,
    /// Bytes in the current incremental file, and how many of them were fsynced.
    incr_size: u64,
    incr_synced: u64,
    /// The buffer last written, empty, swapped with the feed buffer at the next write so
    /// that neither is allocated again.
    spare: Vec<u8>,
}

/// Where the AOF lives: the directory (relative to `dir`) and the file name prefix.
#[derive(Debug, Clone)]
struct Names {
    dir: PathBuf,
    filename: String,
}

fn names(server: &Server) -> Names {
    let config = server.config();
    let get = |n| String::from_utf8_lossy(&config.value(n).unwrap_or_default()).into_owned();
    Names {
        dir: PathBuf::from(get("appenddirname")),
        filename: get("appendfilename"),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Aof {
    /// Appends one propagated command (while recording).
    pub fn feed(&self, op: &Op) {
        let mut buf = lock(&self.buf);
        if !buf.accepting {
            return;
        }
        let before = buf.data.len();
        if self.timestamps.load(Ordering::Relaxed) {
            let now = now_secs();
            if buf.timestamp < now {
                buf.timestamp = now;
                buf.data
                    .extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
            }
        }
        let Buf { selected, data, .. } = &mut *buf;
        encode_op(op, selected, data);
        let added = (buf.data.len() - before) as u64;
        self.fed.fetch_add(added, Ordering::Release);
    }

    /// Bytes ever fed: a connection notes it after a command that may have written, and
    /// waits in [`Aof::before_reply`] until that much is on disk.
    pub fn fed(&self) -> u64 {
        self.fed.load(Ordering::Acquire)
    }

    /// Bytes waiting in the AOF buffer (INFO's `mem_aof_buffer`).
    pub fn buffered(&self) -> usize {
        lock(&self.buf).data.len()
    }

    /// Whether the AOF is on (or waiting for its first rewrite).
    pub fn enabled(&self) -> bool {
        self.state.load(Ordering::Acquire) != OFF
    }

    /// Applies the settings the AOF mirrors (startup and CONFIG SET).
    pub fn configure(&self, config: &crate::config::Config) {
        let policy = match config.value("appendfsync").as_deref() {
            Some(b"always") => FSYNC_ALWAYS,
            Some(b"no") => FSYNC_NO,
            _ => FSYNC_EVERYSEC,
        };
        self.fsync_policy.store(policy, Ordering::Relaxed);
        self.no_fsync_on_rewrite.store(
            config.is_yes("no-appendfsync-on-rewrite"),
            Ordering::Relaxed,
        );
        self.timestamps
            .store(config.is_yes("aof-timestamp-enabled"), Ordering::Relaxed);
    }

    fn fsyncs_always(&self) -> bool {
        self.fsync_policy.load(Ordering::Relaxed) == FSYNC_ALWAYS
    }

    /// How much of the stream is done: fsynced with `always`, else written.
    fn done(&self) -> &AtomicU64 {
        if self.fsyncs_always() {
            &self.synced
        } else {
            &self.written
        }
    }

    /// A connection's replies (`reply`, to `handle`) of a batch whose commands fed up to
    /// `target` (0: none): returns false when the caller sends them now, true when they
    /// were handed off, to be sent once the stream is written (with `always`, fsynced)
    /// that far. See the module docs.
    ///
    /// With `everysec` and `no` the connection writes what was fed itself, under the file
    /// lock: whoever holds it writes everyone's, so the others find their part written.
    /// Handing the replies over would cost more than that short write.
    ///
    /// With `always`, a group commit, as Redis's event loop writes and fsyncs once for
    /// every client served in a pass, before sending their replies. If no one is writing, this
    /// connection leads a round: it writes (and fsyncs) everything fed so far, for
    /// everyone, then sends its replies itself. A connection that finds a round under way
    /// does not wait for it: it queues its replies and goes back to reading its socket.
    /// The committer thread takes over from the leader while the queue is not empty:
    /// round after round, it writes what was fed, then sends the replies the round
    /// covers. So under load a reply costs no extra thread wake-up, and a lone client
    /// pays no hand-over. A client with replies still queued queues the next ones too,
    /// behind them. A round that did not write (postponed by a slow fsync, or failed)
    /// still lets its replies go, as Redis's `beforeSleep` does.
    pub fn reply_after(
        &self,
        server: &Server,
        target: u64,
        handle: &Arc<ClientHandle>,
        reply: &[u8],
    ) -> bool {
        let ready = |aof: &Aof| {
            target == 0
                || aof.state.load(Ordering::Acquire) == OFF
                || aof.done().load(Ordering::Acquire) >= target
        };
        if !handle.has_handoffs() && ready(self) {
            return false;
        }
        if !handle.has_handoffs() && !self.fsyncs_always() {
            // Only a write to make, which is short: the connection makes it itself, or
            // finds it made by whoever held the file before it (a group write).
            self.write_round(server, target);
            return false;
        }
        let mut c = lock(&self.commit);
        let queued = handle.has_handoffs();
        if !queued && ready(self) {
            return false;
        }
        if !queued && !c.leading {
            c.leading = true;
            drop(c);
            self.lead(server);
            return false;
        }
        handle.hand_off();
        c.queue.push(Waiting {
            target,
            then: Then::Send(Arc::clone(handle), reply.to_vec()),
        });
        self.take_lead(&mut c);
        true
    }

    /// Before a connection sends something itself (or must not go on before the stream
    /// is written): waits until the stream is written (with `always`, fsynced) up to
    /// `target`, leading a round if no one writes, else asleep until the round that
    /// covers it ends.
    pub fn before_reply(&self, server: &Server, target: u64) {
        let ready = |aof: &Aof| {
            aof.state.load(Ordering::Acquire) == OFF || aof.done().load(Ordering::Acquire) >= target
        };
        if ready(self) {
            return;
        }
        if !self.fsyncs_always() {
            self.write_round(server, target);
            return;
        }
        let mut c = lock(&self.commit);
        if ready(self) {
            return;
        }
        if !c.leading {
            c.leading = true;
            drop(c);
            self.lead(server);
            return;
        }
        let me = FOLLOWER.with(Arc::clone);
        me.released.store(false, Ordering::Relaxed);
        c.queue.push(Waiting {
            target,
            then: Then::Wake(Arc::clone(&me)),
        });
        self.take_lead(&mut c);
        drop(c);
        while !me.released.load(Ordering::Acquire) {
            std::thread::park();
        }
    }

    /// Gives the committer the lead if no one has it: something was queued.
    fn take_lead(&self, c: &mut Commit) {
        if !c.leading {
            c.leading = true;
            c.committer = true;
            self.commit_wake.notify_one();
        }
    }

    /// A connection's round: writes (and fsyncs) what was fed, then hands the lead to the
    /// committer if anything was queued meanwhile.
    fn lead(&self, server: &Server) {
        self.write_round(server, self.fed());
        let mut c = lock(&self.commit);
        if c.queue.is_empty() {
            c.leading = false;
        } else {
            c.committer = true;
            self.commit_wake.notify_one();
        }
    }

    /// Writes (and fsyncs, as the policy says) the stream if it is not done up to `end`.
    /// A panic is contained: the round ends and releases what waits for it either way.
    fn write_round(&self, server: &Server, end: u64) {
        let write = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut f = lock(&self.file);
            if self.done().load(Ordering::Acquire) < end {
                self.flush_locked(server, &mut f, false);
            }
        }));
        if write.is_err() {
            server
                .log
                .warning("Writing the AOF failed unexpectedly; carrying on");
        }
    }

    /// Redis's `flushAppendOnlyFile`: writes the buffer to the current incremental file
    /// and fsyncs as the policy says.
    fn flush_locked(&self, server: &Server, f: &mut FileSide, force: bool) {
        if f.fd.is_none() {
            return;
        }
        let policy = self.fsync_policy.load(Ordering::Relaxed);
        let now = now_secs();
        let in_progress = self.fsync_in_progress.load(Ordering::Acquire);
        let pending = lock(&self.buf).data.len();
        if pending == 0 {
            let need = match policy {
                FSYNC_EVERYSEC => {
                    f.incr_synced != f.incr_size
                        && now > self.last_fsync.load(Ordering::Relaxed)
                        && !in_progress
                }
                FSYNC_ALWAYS => f.incr_synced != f.incr_size,
                _ => false,
            };
            if need {
                self.try_fsync(server, f, policy, in_progress, now);
            }
            return;
        }
        if policy == FSYNC_EVERYSEC && !force && in_progress {
            let since = self.postponed_since.load(Ordering::Relaxed);
            if since == 0 {
                self.postponed_since.store(now, Ordering::Relaxed);
                return;
            } else if now.saturating_sub(since) < 2 {
                return;
            }
            self.delayed_fsync.fetch_add(1, Ordering::Relaxed);
            server.log.notice("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.");
        }
        let mut data = std::mem::take(&mut f.spare);
        let end = {
            let mut buf = lock(&self.buf);
            std::mem::swap(&mut buf.data, &mut data);
            self.fed.load(Ordering::Acquire)
        };
        self.postponed_since.store(0, Ordering::Relaxed);
        let fd = f.fd.as_mut().expect("checked above");
        let mut done = 0usize;
        let mut error = None;
        while done < data.len() {
            match fd.write(&data[done..]) {
                Ok(0) => {
                    error = Some(io::Error::from_raw_os_error(28));
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = error {
            let can_log = now.saturating_sub(self.last_write_error_log.load(Ordering::Relaxed))
                > WRITE_ERROR_LOG_RATE;
            if can_log {
                self.last_write_error_log.store(now, Ordering::Relaxed);
            }
            let mut kept = done;
            if done == 0 {
                if can_log {
                    server
                        .log
                        .warning(&format!("Error writing to the AOF file: {}", strerror(&e)));
                }
                *lock(&self.last_write_error) = strerror(&e);
            } else {
                if can_log {
                    server.log.warning(&format!(
                        "Short write while writing to the AOF file: (nwritten={done}, expected={})",
                        data.len()
                    ));
                }
                match fd.set_len(f.incr_size) {
                    Ok(()) => kept = 0,
                    Err(te) => {
                        if can_log {
                            server.log.warning(&format!("Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: {}", strerror(&te)));
                        }
                    }
                }
                *lock(&self.last_write_error) = "No space left on device".to_string();
            }
            if policy == FSYNC_ALWAYS {
                server.log.warning("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                std::process::exit(1);
            }
            self.last_write_ok.store(false, Ordering::Release);
            // Keep what was not written, ahead of what was fed since.
            f.incr_size += kept as u64;
            self.current_size.fetch_add(kept as u64, Ordering::Relaxed);
            let mut buf = lock(&self.buf);
            let mut rest = data[kept..].to_vec();
            rest.extend_from_slice(&buf.data);
            buf.data = rest;
            return;
        }
        if !self.last_write_ok.swap(true, Ordering::AcqRel) {
            server
                .log
                .warning("AOF write error looks solved, Redis can write again.");
        }
        f.incr_size += data.len() as u64;
        self.current_size
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        self.written.fetch_max(end, Ordering::Release);
        // Keep the allocation unless a big burst grew it.
        if data.capacity() <= 4 * 1024 * 1024 {
            data.clear();
            f.spare = data;
        }
        let in_progress = self.fsync_in_progress.load(Ordering::Acquire);
        self.try_fsync(server, f, policy, in_progress, now);
    }

    /// The fsync step of `flushAppendOnlyFile`.
    fn try_fsync(
        &self,
        server: &Server,
        f: &mut FileSide,
        policy: u8,
        in_progress: bool,
        now: u64,
    ) {
        if self.no_fsync_on_rewrite.load(Ordering::Relaxed) && child_active(server) {
            return;
        }
        let covered = self.written.load(Ordering::Acquire);
        let Some(fd) = f.fd.as_ref() else {
            return;
        };
        if policy == FSYNC_ALWAYS {
            if let Err(e) = fd.sync_data() {
                server.log.warning(&format!(
                    "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...",
                    strerror(&e)
                ));
                std::process::exit(1);
            }
            f.incr_synced = f.incr_size;
            self.synced.fetch_max(covered, Ordering::Release);
            self.last_fsync.store(now, Ordering::Relaxed);
        } else if policy == FSYNC_EVERYSEC && now > self.last_fsync.load(Ordering::Relaxed) {
            if !in_progress {
                if let Ok(clone) = fd.try_clone() {
                    self.fsync_in_progress.store(true, Ordering::Release);
                    *lock(&self.fsync_job) = Some((clone, covered));
                    self.wake.notify_all();
                    f.incr_synced = f.incr_size;
                }
            }
            self.last_fsync.store(now, Ordering::Relaxed);
        }
    }

    /// Writes and fsyncs everything fed so far (SHUTDOWN, `appendonly no`).
    fn flush_and_sync(&self, server: &Server, f: &mut FileSide) {
        self.flush_locked(server, f, true);
        if let Some(fd) = f.fd.as_ref() {
            match fd.sync_data() {
                Ok(()) => {
                    f.incr_synced = f.incr_size;
                    self.synced
                        .fetch_max(self.written.load(Ordering::Acquire), Ordering::Release);
                    self.last_fsync.store(now_secs(), Ordering::Relaxed);
                }
                Err(e) => server
                    .log
                    .warning(&format!("Fail to fsync the AOF file: {}", strerror(&e))),
            }
        }
    }

    /// Forgets what waits in the buffer, releasing anyone waiting for it.
    fn discard_buffer(&self, buf: &mut Buf) {
        buf.data = Vec::new();
        let fed = self.fed.load(Ordering::Acquire);
        self.written.fetch_max(fed, Ordering::Release);
        self.synced.fetch_max(fed, Ordering::Release);
    }

    /// Whether writes must be refused because the AOF cannot be written (Redis's
    /// `writeCommandsDeniedByDiskError`, AOF half): the strerror text.
    pub fn write_error(&self) -> Option<String> {
        if !self.enabled() {
            return None;
        }
        if self.last_write_ok.load(Ordering::Acquire) && self.bio_fsync_ok.load(Ordering::Acquire) {
            return None;
        }
        Some(lock(&self.last_write_error).clone())
    }

    /// INFO persistence's AOF fields, in Redis's order. `configured` is `appendonly`.
    pub fn info(&self, configured: bool) -> Vec<(&'static str, String)> {
        let r = &self.rewrite;
        let running = r.running.load(Ordering::Relaxed);
        let current = if running {
            now_secs().saturating_sub(r.started.load(Ordering::Relaxed)) as i64
        } else {
            -1
        };
        let ok = |b: bool| if b { "ok" } else { "err" }.to_string();
        let mut fields = vec![
            ("aof_enabled", u8::from(self.enabled()).to_string()),
            ("aof_rewrite_in_progress", u8::from(running).to_string()),
            (
                "aof_rewrite_scheduled",
                u8::from(r.scheduled.load(Ordering::Relaxed)).to_string(),
            ),
            (
                "aof_last_rewrite_time_sec",
                r.last_secs.load(Ordering::Relaxed).to_string(),
            ),
            ("aof_current_rewrite_time_sec", current.to_string()),
            (
                "aof_last_bgrewrite_status",
                ok(!r.last_failed.load(Ordering::Relaxed)),
            ),
            (
                "aof_rewrites",
                r.rewrites.load(Ordering::Relaxed).to_string(),
            ),
            (
                "aof_rewrites_consecutive_failures",
                r.consecutive_failures.load(Ordering::Relaxed).to_string(),
            ),
            (
                "aof_last_write_status",
                ok(self.last_write_ok.load(Ordering::Relaxed)
                    && self.bio_fsync_ok.load(Ordering::Relaxed)),
            ),
            ("aof_last_cow_size", "0".to_string()),
            ("module_fork_in_progress", "0".to_string()),
            ("module_fork_last_cow_size", "0".to_string()),
        ];
        if configured {
            fields.extend([
                (
                    "aof_current_size",
                    self.current_size.load(Ordering::Relaxed).to_string(),
                ),
                (
                    "aof_base_size",
                    self.base_size.load(Ordering::Relaxed).to_string(),
                ),
                (
                    "aof_pending_rewrite",
                    u8::from(r.scheduled.load(Ordering::Relaxed)).to_string(),
                ),
                ("aof_buffer_length", self.buffered().to_string()),
                (
                    "aof_pending_bio_fsync",
                    u8::from(self.fsync_in_progress.load(Ordering::Relaxed)).to_string(),
                ),
                (
                    "aof_delayed_fsync",
                    self.delayed_fsync.load(Ordering::Relaxed).to_string(),
                ),
            ]);
        }
        fields
    }
}

/// Sets the AOF's non-zero defaults (statuses ok, no rewrite yet) and mirrors the
/// configuration. Called once when the server is built.
pub fn init(aof: &Aof, config: &crate::config::Config) {
    aof.last_write_ok.store(true, Ordering::Relaxed);
    aof.bio_fsync_ok.store(true, Ordering::Relaxed);
    aof.rewrite.last_secs.store(-1, Ordering::Relaxed);
    aof.last_fsync.store(now_secs(), Ordering::Relaxed);
    aof.configure(config);
}

/// Whether a background save or rewrite runs (Redis's `hasActiveChildProcess`).
pub fn child_active(server: &Server) -> bool {
    server.persist.bgsave_running.load(Ordering::Acquire)
        || server.aof.rewrite.running.load(Ordering::Acquire)
}

/// Encodes `op` as a RESP array, preceded by a SELECT if its database is not `selected`.
pub fn encode_op(op: &Op, selected: &mut Option<usize>, buf: &mut Vec<u8>) {
    if *selected != Some(op.db) {
        let db = op.db.to_string();
        encode_argv(&[b"SELECT".as_slice(), db.as_bytes()], buf);
        *selected = Some(op.db);
    }
    encode_argv(&op.argv, buf);
}

/// Encodes one command as a RESP array of bulk strings.
pub fn encode_argv<W: AsRef<[u8]>>(argv: &[W], buf: &mut Vec<u8>) {
    encode_len(buf, b'*', argv.len());
    for w in argv {
        let w = w.as_ref();
        encode_len(buf, b'$', w.len());
        buf.extend_from_slice(w);
        buf.extend_from_slice(b"\r\n");
    }
}

/// Appends `<prefix><n>\r\n` (a RESP array or bulk header) without allocating.
pub fn encode_len(buf: &mut Vec<u8>, prefix: u8, n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.push(prefix);
    buf.extend_from_slice(&digits[at..]);
    buf.extend_from_slice(b"\r\n");
}

/// Opens (creating) a file of the AOF directory for appending (mode 0644).
fn open_append(path: &Path, truncate: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    if truncate {
        options.write(true).truncate(true);
    } else {
        options.append(true);
    }
    options.create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o644);
    options.open(path)
}

/// Creates the AOF directory if it is missing, logging Redis's error.
fn create_dir(server: &Server, names: &Names) -> io::Result<()> {
    match fs::create_dir(&names.dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && names.dir.is_dir() => Ok(()),
        Err(e) => {
            server.log.warning(&format!(
                "Can't open or create append-only dir {}: {}",
                names.dir.display(),
                strerror(&e)
            ));
            Err(e)
        }
    }
}

/// The RDB encoding of a base file when `aof-use-rdb-preamble` is yes (Redis's
/// `server.aof_use_rdb_preamble`), else `None`: the base is commands.
fn preamble(server: &Server) -> Option<crate::persist::rdb::Options> {
    server
        .config()
        .is_yes("aof-use-rdb-preamble")
        .then(|| server.rdb_options())
}

/// What a base file is written into: commands (with `aof-use-rdb-preamble no`) or an
/// RDB (with yes, as Redis's `rdbSaveRio` with `RDBFLAGS_AOF_PREAMBLE` writes it).
enum BaseOut {
    Commands(Vec<u8>),
    Rdb(crate::persist::rdb::Writer<Vec<u8>>),
}

impl BaseOut {
    /// Starts a base: `#TS` annotation (commands only) and the libraries.
    fn new(
        server: &Server,
        format: Option<crate::persist::rdb::Options>,
        codes: &[Vec<u8>],
    ) -> io::Result<BaseOut> {
        Ok(match format {
            None => {
                let mut out = Vec::new();
                if server.aof.timestamps.load(Ordering::Relaxed) {
                    out.extend_from_slice(format!("#TS:{}\r\n", now_secs()).as_bytes());
                }
                for code in codes {
                    encode_argv(&[b"FUNCTION".as_slice(), b"LOAD", code], &mut out);
                }
                BaseOut::Commands(out)
            }
            Some(opts) => {
                let aux = crate::persist::rdb::Aux {
                    ctime: now_secs(),
                    used_mem: crate::command::info::rss_bytes(),
                    aof_base: true,
                };
                let mut w = crate::persist::rdb::Writer::new(Vec::new(), opts, aux)?;
                for code in codes {
                    w.function(code)?;
                }
                BaseOut::Rdb(w)
            }
        })
    }

    fn begin_db(&mut self, index: usize, keys: u64, expires: u64) -> io::Result<()> {
        match self {
            BaseOut::Commands(out) => {
                rewrite::select(out, index);
                Ok(())
            }
            BaseOut::Rdb(w) => w.begin_db(index as u32, keys, expires),
        }
    }

    fn key(
        &mut self,
        key: &[u8],
        value: crate::store::ValueRef<'_>,
        expires: Option<u64>,
        clock: Option<u32>,
    ) -> io::Result<()> {
        match self {
            BaseOut::Commands(out) => {
                rewrite::key(out, key, value, expires);
                Ok(())
            }
            BaseOut::Rdb(w) => w.entry(key, value, expires, clock),
        }
    }

    /// Moves what is ready to `file`.
    fn drain(&mut self, file: &mut File) -> io::Result<u64> {
        let buf = match self {
            BaseOut::Commands(out) => out,
            BaseOut::Rdb(w) => w.get_mut()?,
        };
        file.write_all(buf)?;
        let n = buf.len() as u64;
        buf.clear();
        Ok(n)
    }

    /// Ends the base (an RDB's EOF and checksum) and writes the rest to `file`.
    fn finish(self, file: &mut File) -> io::Result<()> {
        let rest = match self {
            BaseOut::Commands(out) => out,
            BaseOut::Rdb(w) => w.finish()?,
        };
        file.write_all(&rest)
    }
}

/// Whether the file at `path` is an RDB (its name then ends in `.rdb`, as Redis names
/// an RDB base).
fn is_rdb_file(path: &Path) -> bool {
    let mut head = [0u8; 5];
    File::open(path)
        .and_then(|mut f| io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && crate::persist::rdb::is_rdb(&head)
}

// ---------------------------------------------------------------------------------------
// Startup
// ---------------------------------------------------------------------------------------

/// Reads the manifest at startup (Redis's `aofLoadManifestFromDisk`): an empty one if the
/// directory or the manifest is missing; a fatal error (already logged) if it cannot be
/// read or parsed.
fn load_manifest(server: &Server, names: &Names) -> Result<Manifest, String> {
    if !names.dir.is_dir() {
        return Ok(Manifest::default());
    }
    let path = names.dir.join(format!("{}.manifest", names.filename));
    if !path.exists() {
        return Ok(Manifest::default());
    }
    let text = fs::read(&path).map_err(|e| {
        let msg = format!(
            "Fatal error: can't open the AOF manifest file {} for reading: {}",
            path.display(),
            strerror(&e)
        );
        server.log.warning(&msg);
        msg
    })?;
    Manifest::parse(&text).map_err(|e| {
        let lines = e.log_lines();
        for line in &lines {
            server.log.warning(line);
        }
        e.message.to_string()
    })
}

/// Moves an old-style single AOF file into the directory as its base, as Redis's
/// `aofUpgradePrepare` does.
fn upgrade_old_style(server: &Server, names: &Names, am: &mut Manifest) -> Result<(), String> {
    create_dir(server, names).map_err(|e| e.to_string())?;
    *am = Manifest::default();
    am.base = Some(manifest::FileInfo {
        name: names.filename.clone(),
        seq: 1,
        kind: manifest::Kind::Base,
    });
    am.base_seq = 1;
    am.persist(&names.dir, &names.filename, &server.log)
        .map_err(|e| e.to_string())?;
    fs::rename(&names.filename, names.dir.join(&names.filename)).map_err(|e| {
        let msg = format!(
            "Error trying to move the old AOF file {} into dir {}: {}",
            names.filename,
            names.dir.display(),
            strerror(&e)
        );
        server.log.warning(&msg);
        msg
    })?;
    server.log.notice(&format!(
        "Successfully migrated an old-style AOF file ({}) into the AOF directory ({}).",
        names.filename,
        names.dir.display()
    ));
    Ok(())
}

/// Loads the AOF at startup (`appendonly yes`): Redis's `loadDataFromDisk` for the AOF.
/// An error (already logged) means the server must not start.
pub fn load_on_start(server: &Server, replay: &load::Replay) -> Result<(), String> {
    let names = names(server);
    let mut am = load_manifest(server, &names)?;
    let old_style = Path::new(&names.filename).is_file();
    if old_style
        && (!names.dir.is_dir()
            || am.is_empty()
            || (am.incrs.is_empty()
                && am.base.as_ref().is_some_and(|b| b.name == names.filename)
                && !names.dir.join(&names.filename).exists()))
    {
        upgrade_old_style(server, &names, &mut am)?;
    }
    let start = Instant::now();
    let loaded = load::load_files(server, replay, &am, &names.dir);
    if matches!(loaded.status, Status::Failed | Status::OpenErr) {
        return Err("Fatal error loading the AOF. Exiting.".to_string());
    }
    if loaded.status != Status::NotExist {
        server.log.notice(&format!(
            "DB loaded from append only file: {:.3} seconds",
            start.elapsed().as_secs_f64()
        ));
    }
    let aof = &server.aof;
    aof.current_size.store(loaded.total_size, Ordering::Relaxed);
    aof.base_size.store(loaded.base_size, Ordering::Relaxed);
    lock(&aof.file).manifest = am;
    Ok(())
}

/// Opens the AOF for writing once the data is loaded (Redis's
/// `aofOpenIfNeededOnServerStart` and `aofDelHistoryFiles`): with no base and no
/// incremental file, writes a base file from the dataset first.
pub fn open_on_start(server: &Server) -> Result<(), String> {
    let names = names(server);
    let aof = &server.aof;
    create_dir(server, &names).map_err(|e| e.to_string())?;
    // The keyspace lock is never taken while the file lock is held: the manifest is
    // taken out while the base is written (nothing else runs yet at startup anyway).
    let mut am = std::mem::take(&mut lock(&aof.file).manifest);
    let had_incrs = !am.incrs.is_empty();
    if am.is_empty() {
        let base = am.new_base(&names.filename, preamble(server).is_some());
        let tmp = format!("temp-rewriteaof-{}.aof", std::process::id());
        let written = {
            let ks = server.store.read();
            write_base_sync(server, &ks, Path::new(&tmp))
        }
        .and_then(|()| fs::rename(&tmp, names.dir.join(&base)));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            let msg = format!(
                "Write error writing append only file on disk: {}",
                strerror(&e)
            );
            server.log.warning(&msg);
            return Err(msg);
        }
        server
            .log
            .notice(&format!("Creating AOF base file {base} on server start"));
        let size = fs::metadata(names.dir.join(&base)).map_or(0, |m| m.len());
        aof.current_size.store(size, Ordering::Relaxed);
        aof.base_size.store(size, Ordering::Relaxed);
    }
    let mut f = lock(&aof.file);
    f.manifest = am;
    let name = f.manifest.last_incr(&names.filename);
    let fd = open_append(&names.dir.join(&name), false).map_err(|e| {
        let msg = format!("Can't open the append-only file {name}: {}", strerror(&e));
        server.log.warning(&msg);
        msg
    })?;
    f.manifest
        .persist(&names.dir, &names.filename, &server.log)
        .map_err(|e| e.to_string())?;
    let size = fd.metadata().map_or(0, |m| m.len());
    f.fd = Some(fd);
    f.incr_size = size;
    f.incr_synced = size;
    if had_incrs {
        server
            .log
            .notice(&format!("Opening AOF incr file {name} on server start"));
    } else {
        server
            .log
            .notice(&format!("Creating AOF incr file {name} on server start"));
    }
    let doomed = delete_history(server, &names, &mut f);
    drop(f);
    remove_files(doomed);
    aof.state.store(ON, Ordering::Release);
    let mut buf = lock(&aof.buf);
    buf.accepting = true;
    buf.selected = None;
    Ok(())
}

/// Writes the whole keyspace as a base file at `tmp` and fsyncs it (Redis's
/// `rewriteAppendOnlyFile`, run in the foreground).
fn write_base_sync(server: &Server, ks: &crate::store::Keyspace, tmp: &Path) -> io::Result<()> {
    let mut file = File::create(tmp)?;
    let mut out = BaseOut::new(server, preamble(server), &server.scripts.library_codes())?;
    for (index, db) in ks.dbs().iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        out.begin_db(index, db.len() as u64, db.expires_count() as u64)?;
        for entry in db.iter() {
            out.key(
                entry.key(),
                entry.value(),
                entry.expires_at(),
                Some(entry.clock_bits()),
            )?;
            if let BaseOut::Commands(buf) = &out {
                if buf.len() > 64 * 1024 {
                    out.drain(&mut file)?;
                }
            } else if let BaseOut::Rdb(_) = &out {
                out.drain(&mut file)?;
            }
        }
    }
    out.finish(&mut file)?;
    file.sync_all()
}

/// Drops the history files from the manifest (Redis's `aofDelHistoryFiles`), unless
/// `aof-disable-auto-gc` is yes, and returns them for [`remove_files`].
#[must_use]
fn delete_history(server: &Server, names: &Names, f: &mut FileSide) -> Vec<PathBuf> {
    if f.manifest.history.is_empty() || server.config().is_yes("aof-disable-auto-gc") {
        return Vec::new();
    }
    let mut doomed = Vec::new();
    for info in std::mem::take(&mut f.manifest.history) {
        server.log.notice(&format!(
            "Removing the history file {} in the background",
            info.name
        ));
        doomed.push(names.dir.join(&info.name));
    }
    let _ = f.manifest.persist(&names.dir, &names.filename, &server.log);
    // Unlinking a big file takes tens of milliseconds, which the file lock must not wait
    // for (Redis's bio thread does it too); without a thread, here.
    doomed
}

/// Unlinks the files [`delete_history`] dropped from the manifest. Unlinking a big file
/// takes tens of milliseconds: this is done without the file lock.
fn remove_files(paths: Vec<PathBuf>) {
    for path in paths {
        let _ = fs::remove_file(path);
    }
}

// ---------------------------------------------------------------------------------------
// The AOF thread: background fsync and the periodic work
// ---------------------------------------------------------------------------------------

/// Starts the thread that does the background fsyncs and [`cron`], and the committer
/// (see [`Aof::reply_after`]).
pub fn start_thread(server: &std::sync::Arc<Server>) -> io::Result<()> {
    let background = std::sync::Arc::clone(server);
    std::thread::Builder::new()
        .name("redlite-aof".into())
        .spawn(move || aof_thread(&background))?;
    let committer = std::sync::Arc::clone(server);
    std::thread::Builder::new()
        .name("redlite-aof-commit".into())
        .spawn(move || commit_thread(&committer))
        .map(|_| ())
}

/// The committer: given the lead, it runs rounds while anything is queued, each one
/// writing (and fsyncing) what was fed, then releasing what the round covers in the
/// order it was queued (so a client's replies go out in order), outside the lock.
fn commit_thread(server: &Server) {
    let aof = &server.aof;
    let mut c = lock(&aof.commit);
    loop {
        while !c.committer {
            c = aof.commit_wake.wait(c).unwrap_or_else(|e| e.into_inner());
        }
        while !c.queue.is_empty() {
            // Connections ready to run go first, so that their commands join this round
            // (as Redis serves every ready client before its one write and fsync).
            drop(c);
            std::thread::yield_now();
            let end = aof.fed();
            aof.write_round(server, end);
            c = lock(&aof.commit);
            let (covered, later): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(&mut c.queue)
                .into_iter()
                .partition(|w| w.target <= end);
            c.queue = later;
            drop(c);
            for w in covered {
                w.then.release();
            }
            c = lock(&aof.commit);
        }
        c.committer = false;
        c.leading = false;
    }
}

fn aof_thread(server: &Server) {
    let aof = &server.aof;
    let mut last_tick = Instant::now();
    loop {
        let hz = server.config().hz.max(1);
        let period = Duration::from_millis(1000 / u64::from(hz));
        let job = {
            let mut slot = lock(&aof.fsync_job);
            if slot.is_none() {
                let wait = period.saturating_sub(last_tick.elapsed());
                slot = aof
                    .wake
                    .wait_timeout(slot, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            slot.take()
        };
        if let Some((file, covered)) = job {
            match file.sync_data() {
                Ok(()) => {
                    aof.bio_fsync_ok.store(true, Ordering::Release);
                    aof.synced.fetch_max(covered, Ordering::Release);
                }
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(0);
                    // EBADF and EINVAL are ignored, as Redis's bio does.
                    if errno != 9 && errno != 22 {
                        *lock(&aof.last_write_error) = strerror(&e);
                        aof.bio_fsync_ok.store(false, Ordering::Release);
                    }
                }
            }
            drop(file);
            aof.fsync_in_progress.store(false, Ordering::Release);
        }
        if last_tick.elapsed() >= period {
            last_tick = Instant::now();
            let tick = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cron(server)));
            if tick.is_err() {
                server
                    .log
                    .warning("An AOF background tick failed; carrying on");
            }
        }
    }
}

/// The AOF's part of Redis's `serverCron`: a scheduled rewrite, the automatic rewrite,
/// and writing what the buffer holds (postponed writes, commands the server fed itself,
/// retries after a write error).
pub fn cron(server: &Server) {
    let aof = &server.aof;
    if server.persist.loading.load(Ordering::Acquire) {
        return;
    }
    let r = &aof.rewrite;
    if !child_active(server) && r.scheduled.load(Ordering::Relaxed) && !rewrite_limited(server) {
        let _ = start_rewrite(server);
    }
    if aof.state.load(Ordering::Acquire) == ON && !child_active(server) {
        let (perc, min_size) = {
            let config = server.config();
            let num = |n| {
                config
                    .value(n)
                    .and_then(|v| String::from_utf8_lossy(&v).parse::<u64>().ok())
                    .unwrap_or(0)
            };
            (
                num("auto-aof-rewrite-percentage"),
                num("auto-aof-rewrite-min-size"),
            )
        };
        let current = aof.current_size.load(Ordering::Relaxed);
        if perc > 0 && current > min_size {
            let base = aof.base_size.load(Ordering::Relaxed).max(1);
            let growth = (current * 100 / base) as i64 - 100;
            if growth >= perc as i64 && !rewrite_limited(server) {
                server.log.notice(&format!(
                    "Starting automatic rewriting of AOF on {growth}% growth"
                ));
                let _ = start_rewrite(server);
            }
        }
    }
    if aof.state.load(Ordering::Acquire) != OFF {
        let mut f = lock(&aof.file);
        aof.flush_locked(server, &mut f, false);
    }
}

/// Redis's `aofRewriteLimited`: after three consecutive failures, automatic rewrites
/// wait 1, 2, 4 ... 60 minutes.
fn rewrite_limited(server: &Server) -> bool {
    let r = &server.aof.rewrite;
    let mut limit = lock(&r.limit);
    if r.consecutive_failures.load(Ordering::Relaxed) < 3 {
        *limit = (0, 0);
        return false;
    }
    let now = now_secs();
    if limit.1 != 0 {
        if now < limit.1 {
            return true;
        }
        limit.1 = 0;
        return false;
    }
    limit.0 = if limit.0 == 0 {
        1
    } else {
        (limit.0 * 2).min(60)
    };
    limit.1 = now + limit.0 * 60;
    server.log.warning(&format!(
        "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes",
        limit.0
    ));
    true
}

// ---------------------------------------------------------------------------------------
// Background rewrite
// ---------------------------------------------------------------------------------------

/// Why a rewrite did not start.
#[derive(Debug, PartialEq, Eq)]
pub enum RewriteError {
    /// A BGSAVE or another rewrite runs.
    Busy,
    /// It failed (logged).
    Failed,
}

fn temp_incr_name(names: &Names) -> String {
    format!("temp-{}.incr", names.filename)
}

fn temp_rewrite_name() -> String {
    format!("temp-rewriteaof-bg-{}.aof", std::process::id())
}

/// Redis's `rewriteAppendOnlyFileBackground`: opens a new incremental file and takes the
/// snapshot under the keyspace write lock, then starts the thread that writes it.
pub fn start_rewrite(server: &Server) -> Result<(), RewriteError> {
    let aof = &server.aof;
    let r = &aof.rewrite;
    let arc = server.arc().ok_or(RewriteError::Failed)?;
    let names = names(server);
    if create_dir(server, &names).is_err() {
        r.last_failed.store(true, Ordering::Relaxed);
        return Err(RewriteError::Failed);
    }
    let mut ks = server.store.write();
    if child_active(server) {
        return Err(RewriteError::Busy);
    }
    {
        let mut f = lock(&aof.file);
        lock(&aof.buf).selected = None;
        aof.flush_locked(server, &mut f, true);
        if open_new_incr(server, &names, &mut f).is_err() {
            r.last_failed.store(true, Ordering::Relaxed);
            return Err(RewriteError::Failed);
        }
    }
    r.rewrites.fetch_add(1, Ordering::Relaxed);
    r.running.store(true, Ordering::Release);
    r.abort.store(false, Ordering::Relaxed);
    r.scheduled.store(false, Ordering::Relaxed);
    r.started.store(now_secs(), Ordering::Relaxed);
    if aof.state.load(Ordering::Acquire) == WAIT_REWRITE {
        lock(&aof.buf).accepting = true;
    }
    let sections = ks.snapshot_begin();
    // The libraries as they are at the same point as the keyspace's snapshot.
    let functions = server.scripts.library_codes();
    let format = preamble(server);
    let expires: Vec<u64> = sections
        .iter()
        .map(|&(i, _)| ks.db(i).expires_count() as u64)
        .collect();
    drop(ks);
    let spawned = std::thread::Builder::new()
        .name("redlite-aofrw".into())
        .spawn(move || run_rewrite(&arc, &sections, &expires, &functions, format));
    if let Err(e) = spawned {
        let leftovers = server.store.write().snapshot_end_all();
        drop(leftovers);
        r.running.store(false, Ordering::Release);
        r.last_failed.store(true, Ordering::Relaxed);
        server.log.warning(&format!(
            "Can't rewrite append only file in background: fork: {}",
            strerror(&e)
        ));
        return Err(RewriteError::Failed);
    }
    server.log.notice(&format!(
        "Background append only file rewriting started by pid {}",
        std::process::id()
    ));
    Ok(())
}

/// Redis's `openNewIncrAofForAppend`.
fn open_new_incr(server: &Server, names: &Names, f: &mut FileSide) -> io::Result<()> {
    let state = server.aof.state.load(Ordering::Acquire);
    if state == OFF {
        return Ok(());
    }
    let mut new_manifest = None;
    let name = if state == WAIT_REWRITE {
        temp_incr_name(names)
    } else {
        let mut am = f.manifest.clone();
        let name = am.new_incr(&names.filename);
        new_manifest = Some(am);
        name
    };
    let path = names.dir.join(&name);
    let fd = open_append(&path, true).inspect_err(|e| {
        server.log.warning(&format!(
            "Can't open the append-only file {name}: {}",
            strerror(e)
        ))
    })?;
    if let Some(am) = &new_manifest {
        if let Err(e) = am.persist(&names.dir, &names.filename, &server.log) {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
    }
    server.log.notice(&format!(
        "Creating AOF incr file {name} on background rewrite"
    ));
    // The old file is fsynced and closed in the background.
    if let Some(old) = f.fd.replace(fd) {
        let _ = std::thread::Builder::new()
            .name("redlite-aofclose".into())
            .spawn(move || {
                let _ = old.sync_all();
            });
        server.aof.last_fsync.store(now_secs(), Ordering::Relaxed);
    }
    f.incr_size = 0;
    f.incr_synced = 0;
    if let Some(am) = new_manifest {
        f.manifest = am;
    }
    Ok(())
}

/// The rewrite thread: writes the snapshot, then finishes (success or not).
fn run_rewrite(
    server: &Server,
    sections: &[(usize, u64)],
    expires: &[u64],
    functions: &[Vec<u8>],
    format: Option<crate::persist::rdb::Options>,
) {
    let tmp = temp_rewrite_name();
    let result = write_snapshot(
        server,
        Path::new(&tmp),
        sections,
        expires,
        functions,
        format,
    );
    let leftovers = server.store.write().snapshot_end_all();
    drop(leftovers);
    let aborted = server.aof.rewrite.abort.load(Ordering::Relaxed);
    if result.is_ok() {
        server.log.notice(&format!(
            "Successfully created the temporary AOF base file {tmp}"
        ));
    } else if let Err(e) = &result {
        if !aborted {
            server.log.warning(&format!(
                "Write error writing append only file on disk: {}",
                strerror(e)
            ));
        }
    }
    rewrite_done(server, result.is_ok() && !aborted, aborted);
}

/// Writes the snapshot's databases to `tmp` (commands, or an RDB with
/// `aof-use-rdb-preamble yes`), after the function libraries, then fsyncs it.
fn write_snapshot(
    server: &Server,
    tmp: &Path,
    sections: &[(usize, u64)],
    expires: &[u64],
    functions: &[Vec<u8>],
    format: Option<crate::persist::rdb::Options>,
) -> io::Result<()> {
    use crate::persist::save::{Walk, WALK_PAUSE};
    let r = &server.aof.rewrite;
    let incremental = server.config().is_yes("aof-rewrite-incremental-fsync");
    let mut file = File::create(tmp)?;
    let mut out = BaseOut::new(server, format, functions)?;
    let mut unsynced = 0u64;
    let mut drain = |out: &mut BaseOut, file: &mut File| -> io::Result<()> {
        unsynced += out.drain(file)?;
        if incremental && unsynced >= AUTOSYNC_BYTES {
            file.sync_data()?;
            unsynced = 0;
        }
        Ok(())
    };
    // Clients' activity since the previous chunk: the walk is paced only while they
    // run commands (see [`BUSY_RATE`]).
    let commands = || server.stats.commands_processed.load(Ordering::Relaxed);
    let mut window = (Instant::now(), commands());
    for (k, &(index, count)) in sections.iter().enumerate() {
        out.begin_db(index, count, expires.get(k).copied().unwrap_or(0))?;
        let walk = Walk {
            server,
            index,
            count,
            abort: &r.abort,
        };
        walk.run(
            &mut out,
            |out, key, value, expires, clock| out.key(key, value, expires, clock),
            |out, _| drain(out, &mut file),
            |chunk| {
                let (since, ran) = window;
                let busy = (commands() - ran) as f64 > BUSY_RATE * since.elapsed().as_secs_f64();
                if busy {
                    std::thread::sleep(chunk * WALK_PAUSE);
                }
                window = (Instant::now(), commands());
            },
        )?;
        drain(&mut out, &mut file)?;
    }
    out.finish(&mut file)?;
    file.sync_all()
}

/// Redis's `backgroundRewriteDoneHandler`.
fn rewrite_done(server: &Server, ok: bool, aborted: bool) {
    let aof = &server.aof;
    let r = &aof.rewrite;
    let names = names(server);
    let tmp = temp_rewrite_name();
    let mut f = lock(&aof.file);
    let mut doomed = Vec::new();
    if ok {
        server
            .log
            .notice("Background AOF rewrite terminated with success");
        match install_rewrite(server, &names, &mut f, &tmp) {
            Ok(paths) => doomed = paths,
            Err(()) => {
                r.last_failed.store(true, Ordering::Relaxed);
                r.consecutive_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    } else if aborted {
        server
            .log
            .warning("Background AOF rewrite terminated by signal 10");
    } else {
        r.last_failed.store(true, Ordering::Relaxed);
        r.consecutive_failures.fetch_add(1, Ordering::Relaxed);
        server
            .log
            .warning("Background AOF rewrite terminated with error");
    }
    let _ = fs::remove_file(&tmp);
    if aof.state.load(Ordering::Acquire) == WAIT_REWRITE {
        {
            let mut buf = lock(&aof.buf);
            aof.discard_buffer(&mut buf);
            buf.accepting = false;
        }
        let temp_incr = temp_incr_name(&names);
        server.log.notice(&format!(
            "Removing the temp incr aof file {temp_incr} in the background"
        ));
        let _ = fs::remove_file(names.dir.join(&temp_incr));
        r.scheduled.store(true, Ordering::Relaxed);
    }
    drop(f);
    remove_files(doomed);
    let started = r.started.load(Ordering::Relaxed);
    r.last_secs
        .store(now_secs().saturating_sub(started) as i64, Ordering::Relaxed);
    r.running.store(false, Ordering::Release);
}

/// The successful half of [`rewrite_done`]: the new base and manifest.
fn install_rewrite(
    server: &Server,
    names: &Names,
    f: &mut FileSide,
    tmp: &str,
) -> Result<Vec<PathBuf>, ()> {
    let aof = &server.aof;
    let mut am = f.manifest.clone();
    let base = am.new_base(&names.filename, is_rdb_file(Path::new(tmp)));
    let base_path = names.dir.join(&base);
    if let Err(e) = fs::rename(tmp, &base_path) {
        server.log.warning(&format!(
            "Error trying to rename the temporary AOF base file {tmp} into {}: {}",
            base_path.display(),
            strerror(&e)
        ));
        return Err(());
    }
    server.log.notice(&format!(
        "Successfully renamed the temporary AOF base file {tmp} into {base}"
    ));
    let state = aof.state.load(Ordering::Acquire);
    let mut new_incr_path = None;
    if state == WAIT_REWRITE {
        let temp_incr = temp_incr_name(names);
        let temp_path = names.dir.join(&temp_incr);
        let incr = am.new_incr(&names.filename);
        let incr_path = names.dir.join(&incr);
        if let Err(e) = fs::rename(&temp_path, &incr_path) {
            server.log.warning(&format!(
                "Error trying to rename the temporary AOF incr file {} into {}: {}",
                temp_path.display(),
                incr_path.display(),
                strerror(&e)
            ));
            let _ = fs::remove_file(&base_path);
            return Err(());
        }
        server.log.notice(&format!(
            "Successfully renamed the temporary AOF incr file {temp_incr} into {incr}"
        ));
        new_incr_path = Some(incr_path);
    }
    am.mark_rewritten_incrs(state != OFF);
    if am
        .persist(&names.dir, &names.filename, &server.log)
        .is_err()
    {
        let _ = fs::remove_file(&base_path);
        if let Some(p) = new_incr_path {
            let _ = fs::remove_file(p);
        }
        return Err(());
    }
    f.manifest = am;
    if state != OFF {
        let size = fs::metadata(&base_path).map_or(0, |m| m.len()) + f.incr_size;
        aof.current_size.store(size, Ordering::Relaxed);
        aof.base_size.store(size, Ordering::Relaxed);
    }
    let doomed = delete_history(server, names, f);
    aof.rewrite.last_failed.store(false, Ordering::Relaxed);
    aof.rewrite.consecutive_failures.store(0, Ordering::Relaxed);
    server
        .log
        .notice("Background AOF rewrite finished successfully");
    if state == WAIT_REWRITE {
        aof.state.store(ON, Ordering::Release);
    }
    Ok(doomed)
}

/// Stops the running rewrite (if any) and waits until it is gone.
fn kill_rewrite(server: &Server) {
    let r = &server.aof.rewrite;
    if !r.running.load(Ordering::Acquire) {
        return;
    }
    server
        .log
        .notice("Killing running AOF rewrite child: rewrite thread");
    r.abort.store(true, Ordering::Relaxed);
    while r.running.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(5));
    }
    r.last_secs.store(-1, Ordering::Relaxed);
}

/// BGREWRITEAOF's outcome, as its reply.
pub fn bgrewriteaof(server: &Server, in_exec: bool) -> Result<&'static str, &'static str> {
    let r = &server.aof.rewrite;
    if r.running.load(Ordering::Acquire) {
        return Err("ERR Background append only file rewriting already in progress");
    }
    let schedule = || {
        r.scheduled.store(true, Ordering::Relaxed);
        r.consecutive_failures.store(0, Ordering::Relaxed);
        Ok("Background append only file rewriting scheduled")
    };
    if child_active(server) || in_exec {
        return schedule();
    }
    match start_rewrite(server) {
        Ok(()) => Ok("Background append only file rewriting started"),
        Err(RewriteError::Busy) if r.running.load(Ordering::Acquire) => {
            Err("ERR Background append only file rewriting already in progress")
        }
        Err(RewriteError::Busy) => schedule(),
        Err(RewriteError::Failed) => Err(
            "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.",
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Turning the AOF on and off at runtime, and shutdown
// ---------------------------------------------------------------------------------------

/// CONFIG SET appendonly: Redis's `startAppendOnly` / `stopAppendOnly`. An error is the
/// reason CONFIG SET fails with.
pub fn set_enabled(server: &Server, on: bool, in_exec: bool) -> Result<(), &'static str> {
    let aof = &server.aof;
    let state = aof.state.load(Ordering::Acquire);
    if !on && state != OFF {
        stop(server);
    } else if on && state == OFF {
        start(server, in_exec)?;
    }
    Ok(())
}

fn stop(server: &Server) {
    let aof = &server.aof;
    {
        let mut f = lock(&aof.file);
        aof.flush_and_sync(server, &mut f);
        f.fd = None;
        f.incr_size = 0;
        f.incr_synced = 0;
        aof.state.store(OFF, Ordering::Release);
        let mut buf = lock(&aof.buf);
        buf.accepting = false;
        buf.selected = None;
        aof.discard_buffer(&mut buf);
    }
    aof.rewrite.scheduled.store(false, Ordering::Relaxed);
    kill_rewrite(server);
}

fn start(server: &Server, in_exec: bool) -> Result<(), &'static str> {
    let aof = &server.aof;
    aof.state.store(WAIT_REWRITE, Ordering::Release);
    let r = &aof.rewrite;
    if server.persist.bgsave_running.load(Ordering::Acquire) {
        r.scheduled.store(true, Ordering::Relaxed);
        server.log.warning("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
    } else if in_exec {
        r.scheduled.store(true, Ordering::Relaxed);
        server.log.warning("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
    } else {
        if r.running.load(Ordering::Acquire) {
            server.log.warning("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
            kill_rewrite(server);
        }
        if start_rewrite(server).is_err() {
            aof.state.store(OFF, Ordering::Release);
            server.log.warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
            return Err("Unable to turn on AOF. Check server logs.");
        }
    }
    aof.last_fsync.store(now_secs(), Ordering::Relaxed);
    if !aof.bio_fsync_ok.swap(true, Ordering::AcqRel) {
        server
            .log
            .warning("AOF reopen, just ignore the AOF fsync error in bio job");
    }
    if !aof.last_write_ok.swap(true, Ordering::AcqRel) {
        server
            .log
            .warning("AOF reopen, just ignore the last error.");
    }
    Ok(())
}

/// SHUTDOWN's AOF step (from Redis's `prepareForShutdown`): a rewrite that would turn the
/// AOF on refuses the shutdown unless forced; a running rewrite is stopped; the buffer is
/// written and fsynced.
pub fn shutdown(server: &Server, force: bool) -> Result<(), &'static str> {
    let aof = &server.aof;
    if aof.rewrite.running.load(Ordering::Acquire) {
        if aof.state.load(Ordering::Acquire) == WAIT_REWRITE {
            if force {
                server.log.warning("Writing initial AOF. Exit anyway.");
            } else {
                server.log.warning("Writing initial AOF, can't exit.");
                return Err("Writing initial AOF, can't exit.");
            }
        }
        server
            .log
            .warning("There is a child rewriting the AOF. Killing it!");
        kill_rewrite(server);
    }
    if aof.state.load(Ordering::Acquire) != OFF {
        server.log.notice("Calling fsync() on the AOF file.");
        let mut f = lock(&aof.file);
        aof.flush_and_sync(server, &mut f);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_select_precedes_a_change_of_database() {
        let mut buf = Vec::new();
        let mut selected = None;
        encode_op(&Op::new(0, &["SET", "k", "v"]), &mut selected, &mut buf);
        encode_op(&Op::new(0, &["DEL", "k"]), &mut selected, &mut buf);
        encode_op(&Op::new(2, &["DEL", "k"]), &mut selected, &mut buf);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n\
             *2\r\n$3\r\nDEL\r\n$1\r\nk\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n\
             *2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"
        );
    }

    #[test]
    fn feed_records_only_while_accepting_and_counts_bytes() {
        let aof = Aof::default();
        aof.feed(&Op::new(0, &["SET", "k", "v"]));
        assert_eq!(aof.fed(), 0);
        lock(&aof.buf).accepting = true;
        aof.feed(&Op::new(0, &["SET", "k", "v"]));
        let len = lock(&aof.buf).data.len() as u64;
        assert!(len > 0);
        assert_eq!(aof.fed(), len);
    }
}
