//! Parking clients until a key gets data: the base of BLPOP and the other blocking
//! commands.
//!
//! A client that finds nothing to pop registers a [`Waiter`] on its keys in
//! [`BlockedKeys`] while it holds the write lock, then releases the lock and sleeps on the
//! waiter's condvar until it is served, its timeout passes or it is interrupted (CLIENT
//! UNBLOCK, CLIENT KILL), so a blocked client costs no CPU.
//!
//! A write to a key someone waits on records it in `Keyspace::ready`. Before the writer
//! releases the lock, [`Keyspace::serve_ready`](super::Keyspace::serve_ready) serves the
//! waiters of each ready key in the order they blocked, as Redis's
//! `handleClientsBlockedOnKeys` does: the waiter's own [`ServeFn`] pops for it under the
//! writer's lock and leaves the encoded reply in the waiter, so no other client can take
//! the element in between, and one push of three elements serves three clients. Data
//! that arrives inside a transaction, or through LMOVE, is served once the command or
//! EXEC completes, since that is when the lock is released.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use super::{Effects, Key, Keyspace};

/// What a waiter's [`ServeFn`] made of a ready key.
#[derive(Debug)]
pub enum Attempt {
    /// It took what it waited for; the reply to send.
    Served(Vec<u8>),
    /// Nothing for it there (wrong type, emptied meanwhile): it keeps waiting.
    NotReady,
    /// Its client is gone: stop waiting, and serve the next one.
    Gone,
}

/// Tries to serve a blocked client from `key` of database `db`, under the write lock.
pub type ServeFn = Box<dyn Fn(&mut Keyspace, usize, &[u8], u64) -> Attempt + Send + Sync>;

/// Why a wait ended without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// The timeout passed, or CLIENT UNBLOCK ... TIMEOUT.
    Timeout,
    /// CLIENT UNBLOCK ... ERROR.
    Error,
    /// The client was killed or has gone.
    Killed,
}

/// Where a wait stands.
#[derive(Debug)]
pub enum WaitState {
    Waiting,
    Served(Vec<u8>),
    Interrupted(Interrupt),
}

/// One parked client.
pub struct Waiter {
    state: Mutex<WaitState>,
    cv: Condvar,
    serve: ServeFn,
    /// Whether its key going away (or no longer holding a stream) must wake it too, as
    /// XREADGROUP's waiters are (Redis's `unblockDeletedStreamReadgroupClients`).
    wakes_on_delete: bool,
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter")
            .field("state", &self.state)
            .finish()
    }
}

impl Waiter {
    /// A waiter served by `serve`.
    pub fn new(serve: ServeFn) -> Arc<Waiter> {
        Arc::new(Waiter {
            state: Mutex::new(WaitState::Waiting),
            cv: Condvar::new(),
            serve,
            wakes_on_delete: false,
        })
    }

    /// A waiter that is also served when its key stops holding a stream (its serve
    /// function then answers the error).
    pub fn new_waking_on_delete(serve: ServeFn) -> Arc<Waiter> {
        Arc::new(Waiter {
            state: Mutex::new(WaitState::Waiting),
            cv: Condvar::new(),
            serve,
            wakes_on_delete: true,
        })
    }

    fn lock(&self) -> MutexGuard<'_, WaitState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps until the wait is over (served or interrupted) or `deadline` passes
    /// (forever if `None`). It does not consume the outcome: see [`Waiter::finish`].
    pub fn wait_until(&self, deadline: Option<Instant>) {
        let mut state = self.lock();
        while matches!(*state, WaitState::Waiting) {
            match deadline {
                None => state = self.cv.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return;
                    }
                    state = self
                        .cv
                        .wait_timeout(state, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }

    /// Ends the wait early, unless it is already over. Returns whether it did.
    pub fn interrupt(&self, why: Interrupt) -> bool {
        let mut state = self.lock();
        if !matches!(*state, WaitState::Waiting) {
            return false;
        }
        *state = WaitState::Interrupted(why);
        self.cv.notify_all();
        true
    }

    /// The outcome, taken under the keyspace write lock by the waiting client: a wait
    /// still open is a timeout. The caller removes the waiter from [`BlockedKeys`].
    pub fn finish(&self) -> WaitState {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, WaitState::Interrupted(Interrupt::Timeout)) {
            WaitState::Waiting => WaitState::Interrupted(Interrupt::Timeout),
            other => other,
        }
    }

    /// Serves the waiter from `key` if it still waits (see [`Attempt`]). Returns whether
    /// its wait is now over, so that it should leave [`BlockedKeys`].
    fn try_serve(&self, ks: &mut Keyspace, db: usize, key: &[u8], now_ms: u64) -> bool {
        // Held while serving: an interrupt racing with a pop waits, then finds it served.
        let mut state = self.lock();
        if !matches!(*state, WaitState::Waiting) {
            return true;
        }
        match (self.serve)(ks, db, key, now_ms) {
            Attempt::Served(reply) => *state = WaitState::Served(reply),
            Attempt::NotReady => return false,
            Attempt::Gone => *state = WaitState::Interrupted(Interrupt::Killed),
        }
        self.cv.notify_all();
        true
    }
}

/// The clients blocked on each key, in the order they blocked.
#[derive(Debug, Default)]
pub struct BlockedKeys {
    by_db: HashMap<usize, HashMap<Key, VecDeque<Arc<Waiter>>>>,
    /// How many registered waiters wake when their key stops holding a stream, so that
    /// writes look for deleted streams only while there are some.
    waking_on_delete: usize,
}

impl BlockedKeys {
    /// Whether no client waits on anything.
    pub fn is_empty(&self) -> bool {
        self.by_db.is_empty()
    }

    /// Whether any client waits on `key`.
    pub fn contains(&self, db: usize, key: &[u8]) -> bool {
        !self.by_db.is_empty() && self.by_db.get(&db).is_some_and(|m| m.contains_key(key))
    }

    /// Registers `waiter` on every key in `keys`, behind those already waiting.
    pub fn block<'a>(
        &mut self,
        db: usize,
        keys: impl IntoIterator<Item = &'a [u8]>,
        waiter: &Arc<Waiter>,
    ) {
        let map = self.by_db.entry(db).or_default();
        let mut added = false;
        for key in keys {
            let queue = map.entry(key.into()).or_default();
            if !queue.iter().any(|w| Arc::ptr_eq(w, waiter)) {
                queue.push_back(Arc::clone(waiter));
                added = true;
            }
        }
        if added && waiter.wakes_on_delete {
            self.waking_on_delete += 1;
        }
    }

    /// Removes `waiter` from every key it waits on.
    pub fn unblock(&mut self, waiter: &Arc<Waiter>) {
        let mut found = false;
        for map in self.by_db.values_mut() {
            map.retain(|_, q| {
                let before = q.len();
                q.retain(|w| !Arc::ptr_eq(w, waiter));
                found |= q.len() != before;
                !q.is_empty()
            });
        }
        if found && waiter.wakes_on_delete {
            self.waking_on_delete -= 1;
        }
        self.by_db.retain(|_, m| !m.is_empty());
    }

    /// The keys with a waiter that wakes when they stop holding a stream.
    pub fn keys_waking_on_delete(&self) -> Vec<(usize, Key)> {
        let mut out = Vec::new();
        if self.waking_on_delete == 0 {
            return out;
        }
        for (db, map) in &self.by_db {
            for (key, queue) in map {
                if queue.iter().any(|w| w.wakes_on_delete) {
                    out.push((*db, key.clone()));
                }
            }
        }
        out
    }

    /// The clients waiting on `key`, longest first.
    pub fn waiters(&self, db: usize, key: &[u8]) -> Vec<Arc<Waiter>> {
        self.by_db
            .get(&db)
            .and_then(|m| m.get(key))
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Keyspace {
    /// Signals ready the keys whose XREADGROUP waiters must learn that the key no
    /// longer holds a stream (deleted, overwritten, flushed, swapped away).
    pub fn signal_deleted_streams(&mut self, now_ms: u64) {
        if self.blocked.is_empty() {
            return;
        }
        for (db, key) in self.blocked.keys_waking_on_delete() {
            let is_stream = self.dbs[db]
                .get_quietly(&key, now_ms)
                .is_some_and(|e| e.stream().is_some());
            if !is_stream {
                self.signal_ready(db, &key);
            }
        }
    }

    /// Serves the clients blocked on the keys that got data (see the module docs), until
    /// no ready key is left: serving BLMOVE's destination can make another key ready.
    ///
    /// Returns what serving did, one closed effects record per served client in the
    /// order they were served: Redis's `handleClientsBlockedOnKeys` propagates after
    /// each one (`afterCommand`), so each is its own unit of propagation, never wrapped
    /// with the command that woke it or with another served client.
    pub fn serve_ready(&mut self, now_ms: u64) -> Vec<Effects> {
        let mut served = Vec::new();
        while !self.ready.is_empty() {
            let (db, key) = self.ready.remove(0);
            for waiter in self.blocked.waiters(db, &key) {
                if self.dbs[db].get_quietly(&key, now_ms).is_none() && !waiter.wakes_on_delete {
                    continue;
                }
                if waiter.try_serve(self, db, &key, now_ms) {
                    self.blocked.unblock(&waiter);
                }
                if self.effects_pending() {
                    served.push(self.take_effects());
                }
            }
        }
        served
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn idle() -> Arc<Waiter> {
        Waiter::new(Box::new(|_, _, _, _| Attempt::NotReady))
    }

    #[test]
    fn wait_times_out_without_a_wake() {
        let w = idle();
        let start = Instant::now();
        w.wait_until(Some(start + Duration::from_millis(30)));
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert!(matches!(
            w.finish(),
            WaitState::Interrupted(Interrupt::Timeout)
        ));
    }

    #[test]
    fn an_interrupt_from_another_thread_ends_the_wait() {
        let w = idle();
        let w2 = Arc::clone(&w);
        let t = std::thread::spawn(move || {
            w2.wait_until(None);
            w2.finish()
        });
        std::thread::sleep(Duration::from_millis(20));
        assert!(w.interrupt(Interrupt::Error));
        assert!(!w.interrupt(Interrupt::Timeout));
        assert!(matches!(
            t.join().unwrap(),
            WaitState::Interrupted(Interrupt::Error)
        ));
    }

    #[test]
    fn only_keys_of_waiters_that_wake_on_delete_are_listed() {
        let mut b = BlockedKeys::default();
        let plain = idle();
        let group = Waiter::new_waking_on_delete(Box::new(|_, _, _, _| Attempt::NotReady));
        b.block(0, [&b"a"[..]], &plain);
        assert!(b.keys_waking_on_delete().is_empty());
        b.block(2, [&b"s"[..], b"t"], &group);
        let mut keys = b.keys_waking_on_delete();
        keys.sort();
        assert_eq!(
            keys,
            vec![(2, Key::from(&b"s"[..])), (2, Key::from(&b"t"[..]))]
        );
        b.unblock(&group);
        b.unblock(&group);
        assert!(b.keys_waking_on_delete().is_empty());
        assert_eq!(b.waking_on_delete, 0);
    }

    #[test]
    fn waiters_queue_in_fifo_order_and_unblock_cleans_up() {
        let mut b = BlockedKeys::default();
        let (w1, w2) = (idle(), idle());
        b.block(0, [&b"k"[..], b"j"], &w1);
        b.block(0, [&b"k"[..]], &w2);
        assert!(b.contains(0, b"k") && b.contains(0, b"j") && !b.contains(1, b"k"));
        assert!(Arc::ptr_eq(&b.waiters(0, b"k")[0], &w1));
        b.unblock(&w1);
        assert!(Arc::ptr_eq(&b.waiters(0, b"k")[0], &w2));
        assert!(!b.contains(0, b"j"));
        b.unblock(&w2);
        assert!(!b.contains(0, b"k"));
    }
}
