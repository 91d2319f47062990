//! Lazy freeing (Redis's lazyfree.c): a value whose freeing takes many steps (a big
//! hash, set, sorted set, list or stream) is handed to a background thread once it is
//! off the keyspace, so that taking it apart does not hold the keyspace lock. UNLINK
//! and FLUSHALL/FLUSHDB ASYNC always free this way; DEL, FLUSHALL, expiry, eviction,
//! server-side deletions (a value overwritten or replaced) and a replica's flush
//! before a full sync do when their `lazyfree-lazy-*` (or `replica-lazy-flush`)
//! setting says so.
//!
//! As in Redis the state is process-wide: INFO's `lazyfree_pending_objects` and
//! `lazyfreed_objects` count what was handed over and what the thread has freed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;

use crate::store::Entry;

/// Values that take more steps than this to free go to the background thread (Redis's
/// `LAZYFREE_THRESHOLD`).
pub const THRESHOLD: usize = 64;

/// Something to drop, and how many objects it counts for.
type Garbage = (Box<dyn Send>, u64);

static PENDING: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);
static SERVER_DEL: AtomicBool = AtomicBool::new(false);
static EXPIRE: AtomicBool = AtomicBool::new(false);
static EVICTION: AtomicBool = AtomicBool::new(false);
static THREAD: OnceLock<Option<Sender<Garbage>>> = OnceLock::new();

/// Why a value leaves the keyspace, for the settings that decide how it is freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// UNLINK, or DEL under `lazyfree-lazy-user-del`: always lazily.
    User,
    /// Overwritten or replaced by the server (`lazyfree-lazy-server-del`).
    ServerDel,
    /// Expired (`lazyfree-lazy-expire`).
    Expire,
    /// Evicted (`lazyfree-lazy-eviction`).
    Eviction,
}

/// Applies the `lazyfree-lazy-*` settings.
pub fn configure(config: &crate::config::Config) {
    SERVER_DEL.store(config.is_yes("lazyfree-lazy-server-del"), Ordering::Relaxed);
    EXPIRE.store(config.is_yes("lazyfree-lazy-expire"), Ordering::Relaxed);
    EVICTION.store(config.is_yes("lazyfree-lazy-eviction"), Ordering::Relaxed);
}

/// Whether entries removed for `reason` are freed lazily.
pub fn lazy(reason: Reason) -> bool {
    match reason {
        Reason::User => true,
        Reason::ServerDel => SERVER_DEL.load(Ordering::Relaxed),
        Reason::Expire => EXPIRE.load(Ordering::Relaxed),
        Reason::Eviction => EVICTION.load(Ordering::Relaxed),
    }
}

/// Frees an entry taken off the keyspace for `reason`: on the background thread if the
/// setting for `reason` says so and it is big, else here.
pub fn free(entry: Entry, reason: Reason) {
    if lazy(reason) && entry.free_effort() > THRESHOLD {
        free_later(Box::new(entry), 1);
    }
}

/// Hands `garbage`, counting as `objects` values, to the background thread (started on
/// first use). If the thread cannot start, it is freed here.
pub fn free_later(garbage: Box<dyn Send>, objects: u64) {
    let sender = THREAD.get_or_init(|| {
        let (tx, rx) = channel::<Garbage>();
        let spawned = std::thread::Builder::new()
            .name("redlite-lazyfree".into())
            .spawn(move || {
                for (garbage, objects) in rx {
                    drop(garbage);
                    PENDING.fetch_sub(objects, Ordering::Relaxed);
                    FREED.fetch_add(objects, Ordering::Relaxed);
                }
            });
        spawned.ok().map(|_| tx)
    });
    PENDING.fetch_add(objects, Ordering::Relaxed);
    let unsent = match sender {
        Some(tx) => tx.send((garbage, objects)).err().map(|e| e.0),
        None => Some((garbage, objects)),
    };
    if let Some((garbage, objects)) = unsent {
        drop(garbage);
        PENDING.fetch_sub(objects, Ordering::Relaxed);
        FREED.fetch_add(objects, Ordering::Relaxed);
    }
}

/// INFO's `lazyfree_pending_objects`.
pub fn pending() -> u64 {
    PENDING.load(Ordering::Relaxed)
}

/// INFO's `lazyfreed_objects` (since startup or CONFIG RESETSTAT).
pub fn freed() -> u64 {
    FREED.load(Ordering::Relaxed)
}

/// CONFIG RESETSTAT.
pub fn reset_stats() {
    FREED.store(0, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_freed_in_the_background_and_counted() {
        let before = freed();
        free_later(Box::new(vec![0u8; 1 << 20]), 3);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while freed() < before + 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(freed() >= before + 3);
    }
}
