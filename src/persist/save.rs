//! Writing the dump safely (SAVE and BGSAVE), save points, and loading it at startup.
//!
//! # Crash safety
//!
//! A save writes `temp-<pid>.rdb` in the dump's directory, fsyncs it, renames it over the
//! dump, then fsyncs the directory, so that a crash at any moment leaves either the old
//! file or the new one, never a torn one. Leftover temp files from a crash are removed at
//! the next startup. SAVE and BGSAVE use the same temp name: they never run together
//! (SAVE is refused while a BGSAVE runs, and [`PersistState::saving`] serializes them
//! anyway).
//!
//! # BGSAVE without fork: a chunked copy-on-write walk
//!
//! Redis forks and lets the kernel copy pages on write. redlite cannot fork (no unsafe,
//! and threads), and a per-key `Arc` would cost memory on every key, so BGSAVE takes a
//! point-in-time snapshot by a walk that cooperates with writers:
//!
//! 1. **Start**, under the write lock ([`Keyspace::snapshot_begin`]): each non-empty
//!    database notes its key count (the dump section declares it up front), sets the
//!    saver's position to bucket 0, and stops resizing its table (inserts make chains
//!    longer instead) and moving the buckets of a rehash in progress, so that every key
//!    stays in the same bucket until the end. While a rehash is held, a bucket's index
//!    counts the old array's buckets first, then the new array's.
//! 2. **Walk**, by a background thread, in chunks of about [`CHUNK_KEYS`] keys under the
//!    *read* lock ([`Db::snapshot_step`]): whole buckets in increasing index order are
//!    serialized into a memory buffer, the position moves past them, the lock is
//!    released, and only then is the buffer written to the file. Readers never wait;
//!    writers wait for at most one chunk.
//! 3. **Copy on write**, in the writers (`Db`'s mutation paths: `get_mut`, `set`,
//!    `set_str`, `get_or_insert_with`, `insert`, and every removal, expiry included):
//!    before a key in a bucket at or after the saver's position is changed, created or
//!    removed for the first time, its *pre-image* is recorded: its value and expiry, or
//!    "absent". The walk writes the pre-image instead of the live entry (and skips an
//!    "absent" one). With no snapshot running this costs one branch.
//! 4. **End of a database**: the pre-images the walk did not consume belong to keys
//!    deleted since the start; they are written after the walk. So every key that existed
//!    at the start is written exactly once, as it was then, and the section holds exactly
//!    the declared count (checked: a mismatch fails the save rather than write a bad
//!    file). The table then resizes to fit, incrementally, into a bucket array the saver
//!    allocated before it took the write lock.
//!
//! Apart from copying a changed value (the first change of a huge collection copies it
//! under the write lock), every hold of a lock is bounded: a chunk is [`CHUNK_KEYS`]
//! keys; the pre-images are
//! kept in the keyspace's own incrementally resized table (a writer's record never
//! rehashes the lot); a big pre-image the walk consumed is freed by the lazy-free
//! thread; what is left at the end is freed after the lock is released.
//!
//! FLUSHDB and FLUSHALL during a snapshot hand the old table over to the snapshot
//! (O(1)): the walk finishes on it, and the emptied database records nothing more.
//! SWAPDB moves a snapshot along with its table; the saver finds each one by the
//! database number it started as. The extra memory is one owned copy per key changed
//! while the walk has not reached it, freed as the walk passes.
//!
//! # Save points and MISCONF
//!
//! The cron calls [`cron`] at every tick: as Redis's `serverCron`, it starts a BGSAVE when
//! some `save <seconds> <changes>` point is reached (at least `changes` changes and more
//! than `seconds` since the last successful save), waiting [`BGSAVE_RETRY_DELAY`] seconds
//! after a failed one. After a failed BGSAVE, while `stop-writes-on-bgsave-error` is yes
//! and save points exist, write commands and PING are refused with [`MISCONF`] until a
//! save succeeds ([`refusal`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::dump::{self, LoadStats};
use super::rdb;
use crate::log::Logger;
use crate::state::{PersistState, Server};
use crate::store::{Keyspace, Limits, Store, ValueRef};
use crate::util::now_ms;

/// Keys serialized per chunk of the BGSAVE walk (one hold of the read lock). After each
/// chunk the walk pauses for [`WALK_PAUSE`] times as long as the chunk took.
///
/// Writers wait for the chunk in progress, and on two busy cores the walker is often
/// descheduled in the middle of one: with 1000 keys, 2-3% of the chunks held the lock
/// for 5-11 ms (40 ms with GETs competing for the cores). A shorter chunk followed by
/// its pause rarely outlasts the walker's time slice.
pub const CHUNK_KEYS: usize = 200;

/// How long the BGSAVE walk pauses after a chunk, in multiples of the chunk's own time.
/// A BGSAVE then takes about four times as long as the bare walk, and clients keep most
/// of their throughput while it runs: on two cores, an unpaced walk took half of it
/// (measured in benches/BENCHMARKS.md).
pub const WALK_PAUSE: u32 = 3;

/// Redis's `CONFIG_BGSAVE_RETRY_DELAY`: seconds between automatic attempts after a
/// failed BGSAVE.
pub const BGSAVE_RETRY_DELAY: u64 = 5;

/// Redis's `shared.bgsaveerr`.
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Redis's `shared.loadingerr`.
pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";

fn now_secs() -> u64 {
    now_ms() / 1000
}

/// The temp file a save writes before renaming it over the dump.
fn temp_path(path: &Path) -> (PathBuf, PathBuf) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    (dir, tmp)
}

/// Creates the temp file (mode 0600).
fn create_temp(tmp: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(tmp)
}

/// Fsyncs the temp file's data, renames it over `path`, and makes the rename durable.
/// On failure the temp file is removed.
fn commit(tmp: &Path, dir: &Path, path: &Path, written: io::Result<File>) -> io::Result<()> {
    let result = written
        .and_then(|file| file.sync_all())
        .and_then(|()| fs::rename(tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(tmp);
        return result;
    }
    // The new dump is already in place, so a failure here does not make the save fail
    // (Redis only logs it too).
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

/// Which format a save writes (`dump-format`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    /// redlite's own dump format ([`dump`]).
    Redlite,
    /// Redis's RDB ([`rdb`]), encoded with these options.
    Rdb(rdb::Options),
}

impl Format {
    /// The format the config asks for.
    pub fn of(server: &Server) -> Format {
        if server.config().value("dump-format").as_deref() == Some(b"rdb") {
            Format::Rdb(server.rdb_options())
        } else {
            Format::Redlite
        }
    }
}

/// A writer of either format, with the calls the save paths make.
pub enum AnyWriter<W: Write> {
    Redlite(dump::Writer<W>),
    Rdb(rdb::Writer<W>),
}

impl<W: Write> AnyWriter<W> {
    /// Starts a file in `format`.
    pub fn new(inner: W, format: Format) -> io::Result<AnyWriter<W>> {
        Ok(match format {
            Format::Redlite => AnyWriter::Redlite(dump::Writer::new(inner)?),
            Format::Rdb(opts) => {
                let aux = rdb::Aux {
                    ctime: now_secs(),
                    used_mem: crate::command::info::rss_bytes(),
                    aof_base: false,
                };
                AnyWriter::Rdb(rdb::Writer::new(inner, opts, aux)?)
            }
        })
    }

    /// A function library.
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        match self {
            AnyWriter::Redlite(w) => w.function(code),
            AnyWriter::Rdb(w) => w.function(code),
        }
    }

    /// Starts a database of `keys` keys, `expires` of them with a TTL.
    pub fn begin_db(&mut self, index: u32, keys: u64, expires: u64) -> io::Result<()> {
        match self {
            AnyWriter::Redlite(w) => w.begin_db(index, keys),
            AnyWriter::Rdb(w) => w.begin_db(index, keys, expires),
        }
    }

    /// One key, with its access clock's bits when known (the RDB format keeps them).
    pub fn entry(
        &mut self,
        key: &[u8],
        value: ValueRef<'_>,
        expires: Option<u64>,
        clock: Option<u32>,
    ) -> io::Result<()> {
        match self {
            AnyWriter::Redlite(w) => w.entry(key, value, expires),
            AnyWriter::Rdb(w) => w.entry(key, value, expires, clock),
        }
    }

    /// The sink, with everything so far passed on to it.
    pub fn get_mut(&mut self) -> io::Result<&mut W> {
        match self {
            AnyWriter::Redlite(w) => Ok(w.get_mut()),
            AnyWriter::Rdb(w) => w.get_mut(),
        }
    }

    /// Ends the file.
    pub fn finish(self) -> io::Result<W> {
        match self {
            AnyWriter::Redlite(w) => w.finish(),
            AnyWriter::Rdb(w) => w.finish(),
        }
    }
}

/// Writes `ks` to `path` atomically (see the module docs), in `format`.
pub fn write_dump(
    ks: &Keyspace,
    functions: &[Vec<u8>],
    path: &Path,
    format: Format,
) -> io::Result<()> {
    let (dir, tmp) = temp_path(path);
    let written = create_temp(&tmp).and_then(|file| write_file(ks, functions, file, format));
    commit(&tmp, &dir, path, written)
}

fn write_file(
    ks: &Keyspace,
    functions: &[Vec<u8>],
    file: File,
    format: Format,
) -> io::Result<File> {
    write_to(
        ks,
        functions,
        io::BufWriter::with_capacity(1 << 16, file),
        format,
    )?
    .into_inner()
    .map_err(|e| e.into_error())
}

/// Writes `ks` and the libraries' code to `out` in `format` (a save, or the snapshot
/// SYNC sends).
pub fn write_to<W: Write>(
    ks: &Keyspace,
    functions: &[Vec<u8>],
    out: W,
    format: Format,
) -> io::Result<W> {
    let mut w = AnyWriter::new(out, format)?;
    for code in functions {
        w.function(code)?;
    }
    for (index, db) in ks.dbs().iter().enumerate() {
        // Expired keys are written too: the reader skips them, and counting them out
        // would take a second pass.
        if db.is_empty() {
            continue;
        }
        w.begin_db(index as u32, db.len() as u64, db.expires_count() as u64)?;
        for entry in db.iter() {
            w.entry(
                entry.key(),
                entry.value(),
                entry.expires_at(),
                Some(entry.clock_bits()),
            )?;
        }
    }
    w.finish()
}

/// Records a successful save (SAVE or BGSAVE) for LASTSAVE and INFO.
fn saved(p: &PersistState) {
    p.last_save.store(now_secs(), Ordering::Relaxed);
    p.saves.fetch_add(1, Ordering::Relaxed);
    p.last_save_ok.store(true, Ordering::Relaxed);
}

/// SAVE: writes the dump and records the outcome for LASTSAVE and INFO. The caller holds
/// the keyspace lock, so the dump is a consistent snapshot. As Redis's `rdbSave`, a
/// failure leaves `rdb_last_bgsave_status` as it was.
pub fn save(server: &Server, ks: &Keyspace) -> io::Result<()> {
    let _one_at_a_time = server
        .persist
        .saving
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let path = server.dump_path();
    // `rdb-key-save-delay` slows SAVE down as it slows Redis's rdbSave.
    let delay = server.config().int("rdb-key-save-delay");
    super::key_delay(delay, ks.dbs().iter().map(|db| db.len() as u64).sum(), None);
    let result = write_dump(
        ks,
        &server.scripts.library_codes(),
        &path,
        Format::of(server),
    );
    match &result {
        Ok(()) => {
            server.log.notice("DB saved on disk");
            saved(&server.persist);
        }
        Err(e) => server.log.warning(&format!(
            "Failed saving the DB to {} (temp file temp-{}.rdb in {}): {e}",
            path.display(),
            std::process::id(),
            std::env::current_dir().unwrap_or_default().display()
        )),
    }
    result
}

/// SAVE under the read lock (readers carry on, writers wait), then clears the dirty
/// counter of what was saved. Refused with [`io::ErrorKind::WouldBlock`] while a BGSAVE
/// runs: checked under the lock, as a BGSAVE starts under the write lock, so none can
/// start meanwhile (and waiting for one here, holding the lock it needs, would deadlock).
pub fn save_store(server: &Server, store: &Store) -> io::Result<()> {
    let saved_dirty = {
        let ks = store.read();
        if server.persist.bgsave_running.load(Ordering::Acquire) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "Background save already in progress",
            ));
        }
        save(server, &ks)?;
        ks.dirty
    };
    let mut ks = store.write();
    ks.dirty = ks.dirty.saturating_sub(saved_dirty);
    Ok(())
}

/// Why a BGSAVE did not start.
#[derive(Debug, PartialEq, Eq)]
pub enum BgsaveError {
    /// One is running already.
    InProgress,
    /// The thread could not be started.
    Failed,
}

/// A point-in-time snapshot taken (see the module docs) and not yet written: what BGSAVE
/// and a replica's full sync write.
pub struct Snapshot {
    /// Each non-empty database with its key count at the start.
    pub sections: Vec<(usize, u64)>,
    /// RESIZEDB's TTL count of each section, as the databases were (a hint only).
    pub expires: Vec<u64>,
    /// The function libraries as they were.
    pub functions: Vec<Vec<u8>>,
    /// The dirty counter when it started (a successful save takes that much off).
    pub dirty_before: u64,
}

/// Takes a snapshot under the write lock `ks`, unless a BGSAVE, a replica's sync or an
/// AOF rewrite holds the one snapshot there can be. Decided under that lock, so two never
/// both start. Marks a BGSAVE as running (INFO's `rdb_bgsave_in_progress`, as Redis counts
/// its replication children) until [`end_snapshot`].
pub fn begin_snapshot(server: &Server, ks: &mut Keyspace) -> Result<Snapshot, BgsaveError> {
    let p = &server.persist;
    if server.aof.rewrite.running.load(Ordering::Acquire) {
        return Err(BgsaveError::InProgress);
    }
    if p.bgsave_running.swap(true, Ordering::AcqRel) {
        return Err(BgsaveError::InProgress);
    }
    let dirty_before = ks.dirty;
    let sections = ks.snapshot_begin();
    let expires = sections
        .iter()
        .map(|&(i, _)| ks.db(i).expires_count() as u64)
        .collect();
    let now = now_secs();
    p.last_bgsave_try.store(now, Ordering::Relaxed);
    p.bgsave_started.store(now, Ordering::Relaxed);
    p.bgsave_abort.store(false, Ordering::Relaxed);
    p.bgsave_scheduled.store(false, Ordering::Relaxed);
    p.save_keys_processed.store(0, Ordering::Relaxed);
    p.save_keys_total
        .store(sections.iter().map(|s| s.1).sum(), Ordering::Relaxed);
    Ok(Snapshot {
        sections,
        expires,
        functions: server.scripts.library_codes(),
        dirty_before,
    })
}

/// Detaches what is left of the snapshot and marks the BGSAVE over; a successful one
/// takes what it saved off the dirty counter.
pub fn end_snapshot(server: &Server, snapshot: &Snapshot, ok: bool) {
    let mut ks = server.store.write();
    let leftovers = ks.snapshot_end_all();
    if ok {
        ks.dirty = ks.dirty.saturating_sub(snapshot.dirty_before);
    }
    drop(ks);
    // What they hold is freed after the lock is released.
    drop(leftovers);
    server
        .persist
        .bgsave_running
        .store(false, Ordering::Release);
}

/// BGSAVE: takes the snapshot (see the module docs) and starts the thread that writes it.
/// Returns once the snapshot has been taken.
pub fn bgsave(server: &Server) -> Result<(), BgsaveError> {
    let arc = server.arc().ok_or(BgsaveError::Failed)?;
    let snapshot = begin_snapshot(server, &mut server.store.write())?;
    let format = Format::of(server);
    server.log.notice(&format!(
        "Background saving started by pid {}",
        std::process::id()
    ));
    let spawned = std::thread::Builder::new()
        .name("redlite-bgsave".into())
        .spawn(move || {
            let _ = save_snapshot(&arc, &snapshot, format, WALK_PAUSE);
        });
    if spawned.is_err() {
        let leftovers = server.store.write().snapshot_end_all();
        drop(leftovers);
        server
            .persist
            .bgsave_running
            .store(false, Ordering::Release);
        server
            .log
            .warning("Can't save in background: can't start a thread");
        return Err(BgsaveError::Failed);
    }
    Ok(())
}

/// Writes a snapshot to the dump file, commits it, records the outcome and ends the
/// snapshot (the BGSAVE thread; a replica's sync through the disk), pacing the walk as
/// [`write_snapshot`] does.
pub fn save_snapshot(
    server: &Server,
    snapshot: &Snapshot,
    format: Format,
    pause: u32,
) -> io::Result<()> {
    let p = &server.persist;
    let started = Instant::now();
    let result = {
        let _one_at_a_time = p.saving.lock().unwrap_or_else(|e| e.into_inner());
        let path = server.dump_path();
        let (dir, tmp) = temp_path(&path);
        let written = create_temp(&tmp)
            .and_then(|file| write_snapshot(server, file, snapshot, format, pause));
        commit(&tmp, &dir, &path, written)
    };
    // Whatever happened, no snapshot may stay attached.
    end_snapshot(server, snapshot, result.is_ok());
    match &result {
        Ok(()) => {
            server.log.notice("DB saved on disk");
            server
                .log
                .notice("Background saving terminated with success");
            saved(p);
        }
        Err(e) => {
            server.log.warning(&format!("Background saving error: {e}"));
            p.last_save_ok.store(false, Ordering::Relaxed);
        }
    }
    p.last_bgsave_secs
        .store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
    result
}

/// A `Write` into memory, drained to the file between chunks, outside the lock.
struct Spool(Vec<u8>);

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn aborted() -> io::Error {
    io::Error::other("aborted")
}

/// Writes the snapshot's sections to `out` (see the module docs), a chunk at a time,
/// never holding the lock while writing, and pausing `pause` times as long as each chunk
/// took (BGSAVE: [`WALK_PAUSE`]; a replica waiting for its sync: none, as Redis's fork
/// would not make it wait either).
pub fn write_snapshot<W: Write>(
    server: &Server,
    mut out: W,
    snapshot: &Snapshot,
    format: Format,
    pause: u32,
) -> io::Result<W> {
    let p = &server.persist;
    let mut w = AnyWriter::new(Spool(Vec::new()), format)?;
    for code in &snapshot.functions {
        w.function(code)?;
    }
    let mut done_before = 0u64;
    for (k, &(index, count)) in snapshot.sections.iter().enumerate() {
        let expires = snapshot.expires.get(k).copied().unwrap_or(0);
        w.begin_db(index as u32, count, expires)?;
        let walk = Walk {
            server,
            index,
            count,
            abort: &p.bgsave_abort,
        };
        walk.run(
            &mut w,
            |w, key, value, expires, clock| w.entry(key, value, expires, clock),
            |w, written| {
                drain(w, &mut out)?;
                p.save_keys_processed
                    .store(done_before + written, Ordering::Relaxed);
                Ok(())
            },
            // Pause so the saver takes only a slice of a core from the clients (see
            // [`WALK_PAUSE`]).
            |chunk| {
                if pause > 0 {
                    std::thread::sleep(chunk * pause)
                }
            },
        )?;
        done_before += count;
        p.save_keys_processed.store(done_before, Ordering::Relaxed);
        drain(&mut w, &mut out)?;
    }
    let spool = w.finish()?;
    out.write_all(&spool.0)?;
    Ok(out)
}

/// The walk of one database's point-in-time snapshot, shared by BGSAVE and the AOF
/// rewrite: chunks of [`CHUNK_KEYS`] buckets under the read lock, then the pre-images
/// of the keys deleted since the snapshot started.
pub struct Walk<'a> {
    pub server: &'a Server,
    /// The database's number when the snapshot started.
    pub index: usize,
    /// How many keys it had then: the walk must visit exactly that many.
    pub count: u64,
    /// Set to stop the walk (SHUTDOWN, a stopped rewrite).
    pub abort: &'a AtomicBool,
}

impl Walk<'_> {
    /// Runs the walk: `visit` gets each key as it was at the start, `after_chunk` runs
    /// after each chunk without the lock (with the keys visited so far), and `pause` gets
    /// how long the chunk took, to pace the walk.
    pub fn run<S>(
        &self,
        sink: &mut S,
        mut visit: impl FnMut(&mut S, &[u8], ValueRef<'_>, Option<u64>, Option<u32>) -> io::Result<()>,
        mut after_chunk: impl FnMut(&mut S, u64) -> io::Result<()>,
        mut pause: impl FnMut(Duration),
    ) -> io::Result<()> {
        let mut written = 0u64;
        let mut before_chunk = 0u64;
        loop {
            if self.abort.load(Ordering::Relaxed) {
                return Err(aborted());
            }
            let chunk_start = Instant::now();
            let mut failed = None;
            let done = {
                let ks = self.server.store.read();
                let Some(db) = ks.snapshot_db(self.index) else {
                    return Err(io::Error::other("the snapshot went away"));
                };
                db.snapshot_step(CHUNK_KEYS, |key, value, expires, clock| {
                    if failed.is_none() {
                        match visit(sink, key, value, expires, clock) {
                            Ok(()) => written += 1,
                            Err(e) => failed = Some(e),
                        }
                    }
                })
            };
            if let Some(e) = failed {
                return Err(e);
            }
            after_chunk(sink, written)?;
            // `rdb-key-save-delay`, for the keys of this chunk, out of the lock.
            let delay = self.server.config().int("rdb-key-save-delay");
            super::key_delay(delay, written - before_chunk, Some(self.abort));
            before_chunk = written;
            if done {
                break;
            }
            pause(chunk_start.elapsed());
        }
        // The resize that ending the snapshot starts (keys added or removed meanwhile)
        // gets its new bucket array allocated here, without the lock.
        let spare = self
            .server
            .store
            .read()
            .snapshot_db(self.index)
            .and_then(|db| db.snapshot_fit_size())
            .map(crate::store::table::Buckets::new);
        // Keys deleted since the start: their pre-images are all that is left of them.
        let snap = self
            .server
            .store
            .write()
            .snapshot_end_into(self.index, spare);
        if let Some(snap) = snap {
            for (key, image) in snap.into_leftovers() {
                if let Some((value, expires)) = image {
                    visit(sink, &key, value.as_ref(), expires, None)?;
                    written += 1;
                }
            }
        }
        if written != self.count {
            return Err(io::Error::other(format!(
                "snapshot of DB {} wrote {written} keys, expected {}",
                self.index, self.count
            )));
        }
        Ok(())
    }
}

/// Moves what the writer spooled to the file (or socket).
fn drain(w: &mut AnyWriter<Spool>, out: &mut impl Write) -> io::Result<()> {
    let spool = w.get_mut()?;
    out.write_all(&spool.0)?;
    spool.0.clear();
    Ok(())
}

/// Waits until no BGSAVE runs (SHUTDOWN). With `abort`, tells the running one to stop.
pub fn wait_bgsave(server: &Server, abort: bool) {
    if abort {
        server.persist.bgsave_abort.store(true, Ordering::Relaxed);
    }
    while server.persist.bgsave_running.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The save-point rule of Redis's `serverCron`, called at every cron tick: starts a
/// BGSAVE when a save point is reached or one was scheduled, unless one is running or a
/// recent attempt failed.
pub fn cron(server: &Server) {
    let p = &server.persist;
    if crate::persist::aof::child_active(server) || p.loading.load(Ordering::Relaxed) {
        return;
    }
    let now = now_secs();
    let may_retry = p.last_save_ok.load(Ordering::Relaxed)
        || now.saturating_sub(p.last_bgsave_try.load(Ordering::Relaxed)) > BGSAVE_RETRY_DELAY;
    if !may_retry {
        return;
    }
    if p.bgsave_scheduled.load(Ordering::Relaxed) {
        let _ = bgsave(server);
        return;
    }
    let points = server.config().save.clone();
    if points.is_empty() {
        return;
    }
    let dirty = server.store.read().dirty;
    let since = now.saturating_sub(p.last_save.load(Ordering::Relaxed));
    if let Some((secs, changes)) = points
        .iter()
        .find(|&&(secs, changes)| dirty >= changes && since > secs)
    {
        server
            .log
            .notice(&format!("{changes} changes in {secs} seconds. Saving..."));
        let _ = bgsave(server);
    }
}

/// Redis's `writeCommandsDeniedByDiskError` plus the loading check of `processCommand`:
/// the error a command gets instead of running, if any. The dispatcher says what the
/// command is: a write, one allowed while loading, PING.
pub fn refusal(server: &Server, write: bool, ok_loading: bool, ping: bool) -> Option<&'static str> {
    let p = &server.persist;
    if !p.last_save_ok.load(Ordering::Relaxed) && (write || ping) && stop_writes_on_error(server) {
        return Some(MISCONF);
    }
    if p.loading.load(Ordering::Relaxed) && !ok_loading {
        return Some(LOADING);
    }
    None
}

fn stop_writes_on_error(server: &Server) -> bool {
    let config = server.config();
    !config.save.is_empty()
        && config
            .get(&[b"stop-writes-on-bgsave-error"])
            .first()
            .is_some_and(|(_, v)| v == b"yes")
}

/// A reader that counts the bytes it reads (loading progress for INFO).
struct Counting<'a, R> {
    inner: R,
    count: &'a AtomicU64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where loading reports its progress: the bytes read so far (for INFO), and a log that
/// gets a line every few seconds on a big file.
pub struct Progress<'a> {
    pub bytes: &'a AtomicU64,
    pub log: &'a Logger,
}

/// Loads the dump at `path` into a fresh keyspace of `databases` databases. `Ok(None)`
/// means there is no file. Any other failure is an error naming what is wrong; the file
/// is left untouched.
pub fn load(
    path: &Path,
    databases: usize,
    limits: &Limits,
    clock: crate::store::clock::Clock,
    progress: Option<Progress<'_>>,
    load_delay: i64,
) -> Result<Option<(Keyspace, LoadStats)>, String> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    // Redis's dump.rdb starts with "REDIS"; redlite's own format with "REDLITE".
    let mut head = [0u8; 7];
    let got = read_up_to(&mut file, &mut head).map_err(|e| e.to_string())?;
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let is_rdb = rdb::is_rdb(&head[..got]) && &head[..got] != b"REDLITE";
    // Every entry takes at least three bytes (tag, key length, value), which bounds the
    // table sizes a damaged section count can ask for.
    let most_keys = file.metadata().map_or(0, |m| m.len() / 3);
    let unused = AtomicU64::new(0);
    let counter = progress.as_ref().map_or(&unused, |p| p.bytes);
    let mut input = Counting {
        inner: file,
        count: counter,
    };
    let mut ks = Keyspace::new(databases);
    ks.set_clock(clock);
    let mut bad_db = None;
    let (mut keys, mut last_report) = (0u64, Instant::now());
    // One reading of the clock for every key loaded (its resolution is a second).
    let clock_bits = ks.db(0).clock().initial();
    let mut on_entry = |db: u64, key: &[u8], value, expires, declared: u64, saved| {
        match usize::try_from(db).ok().filter(|&d| d < ks.dbs().len()) {
            Some(d) => {
                let keys = declared.min(most_keys) as usize;
                ks.db_mut(d)
                    .load(key, value, expires, keys, saved, clock_bits);
            }
            None => bad_db = Some(db),
        }
        keys += 1;
        super::key_delay(load_delay, 1, None);
        if keys % 65536 == 0 && last_report.elapsed() >= Duration::from_secs(2) {
            last_report = Instant::now();
            if let Some(p) = &progress {
                p.log.notice(&format!(
                    "Loading dump: {keys} keys, {} bytes read so far",
                    p.bytes.load(Ordering::Relaxed)
                ));
            }
        }
    };
    let stats = if is_rdb {
        // RDB is parsed from memory: its values are blobs best validated whole.
        let size = input.inner.metadata().map_or(0, |m| m.len());
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        input.read_to_end(&mut data).map_err(|e| e.to_string())?;
        rdb::read(&data, now_ms(), limits, &mut on_entry).map_err(|e| e.to_string())?
    } else {
        dump::read(
            input,
            now_ms(),
            limits,
            |db, key, value, expires, declared| {
                on_entry(
                    u64::from(db),
                    &key,
                    value,
                    expires,
                    declared,
                    Default::default(),
                )
            },
        )
        .map_err(|e| e.to_string())?
    };
    if let Some(db) = bad_db {
        return Err(format!(
            "the dump uses DB {db}, but only {databases} databases are configured"
        ));
    }
    Ok(Some((ks, stats)))
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Removes `temp-<pid>.rdb` files left by a save that crashed.
pub fn cleanup_temp_files(log: &Logger) {
    let Ok(entries) = fs::read_dir(".") else {
        return;
    };
    let own = format!("temp-{}.rdb", std::process::id());
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_temp = name.starts_with("temp-")
            && name.ends_with(".rdb")
            && name[5..name.len() - 4].bytes().all(|b| b.is_ascii_digit());
        if is_temp && name != own && fs::remove_file(entry.path()).is_ok() {
            log.notice(&format!("Removed leftover temp file {name}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::List;
    use crate::store::Value;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("redlite-save-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn save_then_load_round_trips_every_db() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("dump.rdb");
        let mut ks = Keyspace::new(16);
        ks.db_mut(0).set(b"s", Value::Str(b"hello".to_vec()));
        ks.db_mut(3).set(
            b"l",
            Value::List(List::from_iter(vec![b"a".to_vec(), b"".to_vec()])),
        );
        ks.db_mut(3).set(b"ttl", Value::Str(b"x".to_vec()));
        ks.db_mut(3).set_expiry(b"ttl", now_ms() + 100_000, 0);
        ks.db_mut(5).set(b"gone", Value::Str(b"x".to_vec()));
        ks.db_mut(5).set_expiry(b"gone", 1, 0);
        write_dump(&ks, &[], &path, Format::Redlite).unwrap();
        assert!(!dir
            .join(format!("temp-{}.rdb", std::process::id()))
            .exists());

        let (loaded, stats) = load(&path, 16, &Limits::default(), Default::default(), None, 0)
            .unwrap()
            .unwrap();
        assert_eq!(stats.keys_loaded, 3);
        assert_eq!(
            loaded.db(0).get(b"s", 0).unwrap().str(),
            Some(&b"hello"[..])
        );
        assert_eq!(loaded.db(3).len(), 2);
        assert!(loaded.db(3).get(b"ttl", 0).unwrap().expires_at().is_some());
        assert_eq!(loaded.db(5).len(), 0, "expired keys are not saved");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_is_none_and_bad_file_is_an_error_left_untouched() {
        let dir = temp_dir("bad");
        assert!(load(
            &dir.join("nope.rdb"),
            16,
            &Limits::default(),
            Default::default(),
            None,
            0
        )
        .unwrap()
        .is_none());
        let bad = dir.join("dump.rdb");
        // "REDIS" makes it an RDB file (Redis's), whose first record is garbage.
        fs::write(&bad, b"REDIS0009garbage").unwrap();
        let err = load(&bad, 16, &Limits::default(), Default::default(), None, 0).unwrap_err();
        assert!(err.contains("Unknown RDB encoding type 103"), "{err}");
        assert_eq!(fs::read(&bad).unwrap(), b"REDIS0009garbage");
        fs::write(&bad, b"REDLITE\0garbage").unwrap();
        let err = load(&bad, 16, &Limits::default(), Default::default(), None, 0).unwrap_err();
        assert!(err.contains("magic") || err.contains("version"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_db_beyond_databases_is_refused() {
        let dir = temp_dir("dbs");
        let path = dir.join("dump.rdb");
        let mut ks = Keyspace::new(16);
        ks.db_mut(9).set(b"k", Value::Str(b"v".to_vec()));
        write_dump(&ks, &[], &path, Format::Redlite).unwrap();
        let err = load(&path, 4, &Limits::default(), Default::default(), None, 0).unwrap_err();
        assert!(err.contains("DB 9"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
