//! Parking clients until a key gets data: the base of BLPOP and friends.
//!
//! A client that must wait registers a [`Waiter`] on its keys in [`BlockedKeys`] while it
//! holds the write lock, then releases the lock and sleeps on the waiter's condvar, so a
//! blocked client costs no CPU. A writer that pushes to such a key records it in
//! `Keyspace::ready`; once the writer has released the lock, the dispatcher wakes the
//! first waiter of each ready key (first blocked, first served), which then retakes the
//! lock and tries again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use super::Key;

/// One parked client.
#[derive(Debug, Default)]
pub struct Waiter {
    woken: Mutex<bool>,
    cv: Condvar,
}

impl Waiter {
    /// A new, unwoken waiter.
    pub fn new() -> Arc<Waiter> {
        Arc::new(Waiter::default())
    }

    /// Sleeps until woken or until `deadline` (forever if `None`). Returns whether it was
    /// woken, and resets the flag for the next wait.
    pub fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let mut woken = self.woken.lock().unwrap_or_else(|e| e.into_inner());
        while !*woken {
            match deadline {
                None => woken = self.cv.wait(woken).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    woken = self
                        .cv
                        .wait_timeout(woken, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        *woken = false;
        true
    }

    /// Wakes the waiter (or makes its next wait return at once).
    pub fn wake(&self) {
        *self.woken.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_one();
    }
}

/// The clients blocked on each key, in the order they blocked.
#[derive(Debug, Default)]
pub struct BlockedKeys {
    by_db: HashMap<usize, HashMap<Key, VecDeque<Arc<Waiter>>>>,
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
        for key in keys {
            map.entry(key.into())
                .or_default()
                .push_back(Arc::clone(waiter));
        }
    }

    /// Removes `waiter` from every key it waits on.
    pub fn unblock(&mut self, waiter: &Arc<Waiter>) {
        for map in self.by_db.values_mut() {
            map.retain(|_, q| {
                q.retain(|w| !Arc::ptr_eq(w, waiter));
                !q.is_empty()
            });
        }
        self.by_db.retain(|_, m| !m.is_empty());
    }

    /// The client that has waited longest on `key`.
    pub fn first(&self, db: usize, key: &[u8]) -> Option<&Arc<Waiter>> {
        self.by_db.get(&db)?.get(key)?.front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn wait_times_out_without_a_wake() {
        let w = Waiter::new();
        let start = Instant::now();
        assert!(!w.wait_until(Some(start + Duration::from_millis(30))));
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn wake_from_another_thread_ends_the_wait() {
        let w = Waiter::new();
        let w2 = Arc::clone(&w);
        let t = std::thread::spawn(move || w2.wait_until(None));
        std::thread::sleep(Duration::from_millis(20));
        w.wake();
        assert!(t.join().unwrap());
    }

    #[test]
    fn waiters_queue_in_fifo_order_and_unblock_cleans_up() {
        let mut b = BlockedKeys::default();
        let (w1, w2) = (Waiter::new(), Waiter::new());
        b.block(0, [&b"k"[..], b"j"], &w1);
        b.block(0, [&b"k"[..]], &w2);
        assert!(b.contains(0, b"k") && b.contains(0, b"j") && !b.contains(1, b"k"));
        assert!(Arc::ptr_eq(b.first(0, b"k").unwrap(), &w1));
        b.unblock(&w1);
        assert!(Arc::ptr_eq(b.first(0, b"k").unwrap(), &w2));
        assert!(!b.contains(0, b"j"));
        b.unblock(&w2);
        assert!(!b.contains(0, b"k"));
    }
}
