//! WATCH: the keys clients watch, and how a change reaches them.
//!
//! Each client has one flag (Redis's `CLIENT_DIRTY_CAS`), shared with every key it
//! watches. A database keeps, per watched key, the flags of its watchers. A change to a
//! watched key sets them; EXEC then fails with a null reply.
//!
//! A write command reports the keys it modified in its effects record (Redis's
//! `signalModifiedKey`); the dispatcher flags their watchers
//! ([`Keyspace::signal_watchers`](super::Keyspace::signal_watchers)). Expiry, FLUSHDB,
//! FLUSHALL and SWAPDB flag the watchers of the keys they remove at once (Redis's
//! `touchAllWatchedKeysInDb`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::Key;

/// A client's "a watched key changed" flag.
pub type WatchFlag = Arc<AtomicBool>;

/// The watched keys of one database.
#[derive(Debug, Default)]
pub struct Watched {
    watchers: HashMap<Key, Vec<WatchFlag>>,
}

impl Watched {
    /// Whether nobody watches a key of this database.
    pub fn is_empty(&self) -> bool {
        self.watchers.is_empty()
    }

    /// Adds a watcher of `key`. Returns whether it was not watching it yet.
    pub fn add(&mut self, key: &[u8], flag: &WatchFlag) -> bool {
        let list = self.watchers.entry(key.into()).or_default();
        if list.iter().any(|f| Arc::ptr_eq(f, flag)) {
            return false;
        }
        list.push(Arc::clone(flag));
        true
    }

    /// Removes a watcher of `key`. Returns whether it was watching it.
    pub fn remove(&mut self, key: &[u8], flag: &WatchFlag) -> bool {
        let Some(list) = self.watchers.get_mut(key) else {
            return false;
        };
        let before = list.len();
        list.retain(|f| !Arc::ptr_eq(f, flag));
        let removed = list.len() < before;
        if list.is_empty() {
            self.watchers.remove(key);
        }
        removed
    }

    /// Flags every watcher of `key` (it changed).
    pub fn touch(&self, key: &[u8]) {
        if let Some(list) = self.watchers.get(key) {
            for flag in list {
                flag.store(true, Ordering::Release);
            }
        }
    }

    /// Flags the watchers of every watched key `exists` says is there (FLUSHDB and
    /// SWAPDB change exactly the keys that exist).
    pub fn touch_existing(&self, mut exists: impl FnMut(&[u8]) -> bool) {
        for (key, list) in &self.watchers {
            if exists(key) {
                for flag in list {
                    flag.store(true, Ordering::Release);
                }
            }
        }
    }

    /// The watched keys.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.watchers.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_a_key_flags_its_watchers_once_each() {
        let mut w = Watched::default();
        let (flag, other) = (WatchFlag::default(), WatchFlag::default());
        assert!(w.add(b"k", &flag));
        assert!(!w.add(b"k", &flag), "once per client and key");
        w.add(b"j", &other);
        w.touch(b"nobody");
        assert!(!flag.load(Ordering::Acquire));
        w.touch(b"k");
        assert!(flag.load(Ordering::Acquire) && !other.load(Ordering::Acquire));
        assert!(w.remove(b"k", &flag));
        w.remove(b"j", &other);
        assert!(w.is_empty());
    }
}
