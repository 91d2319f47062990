//! WATCH: the keys clients watch, and how a change reaches them.
//!
//! Each client has one flag (Redis's `CLIENT_DIRTY_CAS`), shared with every key it
//! watches. A database keeps, per watched key, the flags of its watchers. A change to a
//! watched key sets them; EXEC then fails with a null reply.
//!
//! A write command does not report which keys it changed. Instead the database notes the
//! watched keys that the command looked up for writing (or replaced, or removed), and the
//! dispatcher flags them only if the command then counted a change in
//! [`Keyspace::dirty`](super::Keyspace::dirty), as Redis's `signalModifiedKey` follows
//! real changes. A database nobody watches skips all of this after one `is_empty` test.
//! Expiry, FLUSHDB, FLUSHALL and SWAPDB change keys outside a command's count and flag
//! the watchers at once.

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
    /// Watched keys the running command looked up for writing.
    written: Vec<Key>,
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

    /// Notes that the running command may change `key`.
    pub fn note_write(&mut self, key: &[u8]) {
        if !self.watchers.is_empty() && self.watchers.contains_key(key) {
            self.written.push(key.into());
        }
    }

    /// Ends a command: flags the watchers of the keys it noted if it changed anything.
    pub fn end_command(&mut self, changed: bool) {
        for key in std::mem::take(&mut self.written) {
            if changed {
                self.touch(&key);
            }
        }
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
    fn only_changed_commands_flag_their_noted_keys() {
        let mut w = Watched::default();
        let flag = WatchFlag::default();
        w.add(b"k", &flag);
        w.add(b"k", &flag);
        w.note_write(b"other");
        w.note_write(b"k");
        w.end_command(false);
        assert!(!flag.load(Ordering::Acquire));
        w.note_write(b"k");
        w.end_command(true);
        assert!(flag.load(Ordering::Acquire));
        w.remove(b"k", &flag);
        assert!(w.is_empty());
    }
}
