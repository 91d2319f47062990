//! The keyspace: databases of keys, lazy expiry on lookup, and the TTL index that the
//! active expiry cycle walks.
//!
//! All databases sit behind one `RwLock` ([`Store`]). Reads take the read lock and treat
//! an expired key as absent without removing it, so a lookup never needs the write lock;
//! they note the stale key, and the dispatcher removes it once the read lock is released
//! ([`Keyspace::reap_stale`]), so that afterwards the key is gone as it would be in Redis.
//! Writes take the write lock and remove expired keys as they meet them (Redis's
//! `expireIfNeeded`). Keys nobody touches are reclaimed by [`expire`].
//!
//! This module knows nothing of sockets or RESP.

pub mod blocking;
pub mod expire;
pub mod value;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use value::Value;

use crate::util::glob;

/// A key: binary, owned once by the table.
pub type Key = Box<[u8]>;

/// One stored key's value and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry in Unix milliseconds; 0 means none.
    expires_at: u64,
    /// Where this key sits in [`Db::ttl_keys`] while it has an expiry.
    ttl_slot: u32,
}

impl Entry {
    /// The absolute expiry in Unix ms, if any.
    pub fn expires_at(&self) -> Option<u64> {
        (self.expires_at != 0).then_some(self.expires_at)
    }

    fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at != 0 && self.expires_at <= now_ms
    }
}

/// One numbered database.
#[derive(Debug, Default)]
pub struct Db {
    map: HashMap<Key, Entry>,
    /// Every key that has an expiry, in no order: the active expiry cycle walks it with a
    /// cursor. Each such entry knows its slot, so removal is a swap-remove.
    ttl_keys: Vec<Key>,
    /// The active expiry cycle's position in `ttl_keys`.
    expire_cursor: usize,
    /// Expired keys that readers met under the read lock, to remove after it.
    stale: Mutex<Vec<Key>>,
    has_stale: AtomicBool,
    /// Keys removed because they had expired (for INFO's `expired_keys`).
    pub expired_removed: u64,
}

impl Db {
    /// The number of keys, counting expired keys not yet reclaimed (as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the database holds no keys at all.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// How many keys have an expiry.
    pub fn expires_count(&self) -> usize {
        self.ttl_keys.len()
    }

    /// Looks a key up for reading; an expired key is absent.
    pub fn get(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let entry = self.map.get(key)?;
        if entry.is_expired(now_ms) {
            self.stale
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(key.into());
            self.has_stale.store(true, Ordering::Release);
            return None;
        }
        Some(entry)
    }

    /// Looks a key up for writing, removing it first if it has expired.
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        if self.map.get(key)?.is_expired(now_ms) {
            self.remove_entry(key);
            self.expired_removed += 1;
            return None;
        }
        self.map.get_mut(key)
    }

    /// Whether a live key exists.
    pub fn contains(&self, key: &[u8], now_ms: u64) -> bool {
        self.get(key, now_ms).is_some()
    }

    /// Stores `value` under `key`, clearing any expiry (SET's semantics).
    pub fn set(&mut self, key: &[u8], value: Value) {
        match self.map.get_mut(key) {
            Some(entry) => {
                entry.value = value;
                if entry.expires_at != 0 {
                    self.clear_expiry(key);
                }
            }
            None => {
                self.map.insert(key.into(), Entry::new(value));
            }
        }
    }

    /// Stores `value` under `key`, keeping a live key's expiry (SET KEEPTTL).
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value, now_ms: u64) {
        match self.get_mut(key, now_ms) {
            Some(entry) => entry.value = value,
            None => self.set(key, value),
        }
    }

    /// The entry for `key`, created with `make` if absent or expired.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        now_ms: u64,
        make: impl FnOnce() -> Value,
    ) -> &mut Entry {
        if self.get_mut(key, now_ms).is_none() {
            self.map.insert(key.into(), Entry::new(make()));
        }
        self.map
            .get_mut(key)
            .expect("the key was just found or inserted")
    }

    /// Removes a live key, returning its entry.
    pub fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Entry> {
        self.get_mut(key, now_ms)?;
        self.remove_entry(key)
    }

    /// Sets the absolute expiry of a live key. Returns false if there is no such key.
    pub fn set_expiry(&mut self, key: &[u8], at_ms: u64, now_ms: u64) -> bool {
        let next_slot = self.ttl_keys.len() as u32;
        let Some(entry) = self.get_mut(key, now_ms) else {
            return false;
        };
        let had = entry.expires_at != 0;
        entry.expires_at = at_ms.max(1);
        if !had {
            entry.ttl_slot = next_slot;
            self.ttl_keys.push(key.into());
        }
        true
    }

    /// Drops the expiry of a live key. Returns true if it had one.
    pub fn persist(&mut self, key: &[u8], now_ms: u64) -> bool {
        match self.get_mut(key, now_ms) {
            Some(entry) if entry.expires_at != 0 => {
                self.clear_expiry(key);
                true
            }
            _ => false,
        }
    }

    /// Live keys matching a glob pattern.
    pub fn keys(&self, pattern: &[u8], now_ms: u64) -> Vec<&[u8]> {
        let all = pattern == b"*";
        self.map
            .iter()
            .filter(|(k, e)| !e.is_expired(now_ms) && (all || glob::matches(pattern, k, false)))
            .map(|(k, _)| &k[..])
            .collect()
    }

    /// Every entry, expired ones included (for the dump writer, which filters).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.map.iter().map(|(k, e)| (&k[..], e))
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        let expired_removed = self.expired_removed;
        *self = Db {
            expired_removed,
            ..Db::default()
        };
    }

    /// Removes the expired keys readers noted. Returns how many were removed.
    fn reap_stale(&mut self, now_ms: u64) -> usize {
        if !self.has_stale.swap(false, Ordering::Acquire) {
            return 0;
        }
        let keys = std::mem::take(self.stale.get_mut().unwrap_or_else(|e| e.into_inner()));
        keys.iter()
            .filter(|k| self.get_mut(k, now_ms).is_none())
            .count()
    }

    /// One step of active expiry: looks at up to `count` keys that have a TTL, from the
    /// cursor on, and removes the expired ones. Returns (sampled, removed).
    pub fn expire_step(&mut self, count: usize, now_ms: u64) -> (usize, usize) {
        let mut sampled = 0;
        let mut removed = 0;
        while sampled < count && !self.ttl_keys.is_empty() {
            if self.expire_cursor >= self.ttl_keys.len() {
                self.expire_cursor = 0;
            }
            sampled += 1;
            let key = &self.ttl_keys[self.expire_cursor];
            let expired = self.map.get(key).is_some_and(|e| e.is_expired(now_ms));
            if expired {
                // The swap-remove moves the last key into the cursor's slot: look at the
                // same slot again rather than skipping it.
                let key = key.clone();
                self.remove_entry(&key);
                self.expired_removed += 1;
                removed += 1;
            } else {
                self.expire_cursor += 1;
            }
        }
        if removed > 0 {
            self.shrink_if_sparse();
        }
        (sampled, removed)
    }

    /// Gives memory back after mass deletion, as Redis resizes its dicts.
    fn shrink_if_sparse(&mut self) {
        if self.map.capacity() > 1024 && self.map.len() * 8 < self.map.capacity() {
            self.map.shrink_to(self.map.len() * 2);
        }
        if self.ttl_keys.capacity() > 1024 && self.ttl_keys.len() * 8 < self.ttl_keys.capacity() {
            self.ttl_keys.shrink_to(self.ttl_keys.len() * 2);
        }
    }

    fn remove_entry(&mut self, key: &[u8]) -> Option<Entry> {
        let entry = self.map.remove(key)?;
        if entry.expires_at != 0 {
            self.unlink_ttl_slot(entry.ttl_slot as usize);
        }
        Some(entry)
    }

    fn clear_expiry(&mut self, key: &[u8]) {
        if let Some(entry) = self.map.get_mut(key) {
            let slot = entry.ttl_slot as usize;
            entry.expires_at = 0;
            self.unlink_ttl_slot(slot);
        }
    }

    /// Swap-removes `ttl_keys[slot]` and tells the moved key its new slot.
    fn unlink_ttl_slot(&mut self, slot: usize) {
        self.ttl_keys.swap_remove(slot);
        if let Some(moved) = self.ttl_keys.get(slot) {
            if let Some(e) = self.map.get_mut(moved) {
                e.ttl_slot = slot as u32;
            }
        }
    }

    /// Inserts a loaded entry as-is (used when loading a dump).
    pub fn load(&mut self, key: Vec<u8>, value: Value, expires_at_ms: Option<u64>) {
        let key: Key = key.into();
        let mut entry = Entry::new(value);
        if let Some(at) = expires_at_ms {
            entry.expires_at = at.max(1);
            entry.ttl_slot = self.ttl_keys.len() as u32;
            self.ttl_keys.push(key.clone());
        }
        if let Some(old) = self.map.insert(key, entry) {
            if old.expires_at != 0 {
                self.unlink_ttl_slot(old.ttl_slot as usize);
            }
        }
    }
}

impl Entry {
    fn new(value: Value) -> Entry {
        Entry {
            value,
            expires_at: 0,
            ttl_slot: 0,
        }
    }
}

/// Every database, plus what writers record for the layers above.
#[derive(Debug)]
pub struct Keyspace {
    dbs: Vec<Db>,
    /// Changes since the last save (Redis's `server.dirty`).
    pub dirty: u64,
    /// Keys that received data while clients wait on them (Redis's `ready_keys`):
    /// the dispatcher wakes their waiters once the write lock is released.
    pub ready: Vec<(usize, Key)>,
    /// Keys some client is blocked on, so a push knows to record readiness.
    pub blocked: blocking::BlockedKeys,
}

impl Keyspace {
    /// `n` empty databases.
    pub fn new(n: usize) -> Keyspace {
        Keyspace {
            dbs: (0..n).map(|_| Db::default()).collect(),
            dirty: 0,
            ready: Vec::new(),
            blocked: blocking::BlockedKeys::default(),
        }
    }

    /// The number of databases.
    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    /// Database `i` (callers pass a validated index).
    pub fn db(&self, i: usize) -> &Db {
        &self.dbs[i]
    }

    /// Database `i`, writable.
    pub fn db_mut(&mut self, i: usize) -> &mut Db {
        &mut self.dbs[i]
    }

    /// Every database in order.
    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }

    /// Records that `key` got data, if anyone is blocked on it.
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        if self.blocked.contains(db, key)
            && !self.ready.iter().any(|(d, k)| *d == db && **k == *key)
        {
            self.ready.push((db, key.into()));
        }
    }

    /// Whether a reader noted expired keys that [`Keyspace::reap_stale`] should remove.
    pub fn has_stale(&self) -> bool {
        self.dbs
            .iter()
            .any(|db| db.has_stale.load(Ordering::Acquire))
    }

    /// Removes the expired keys readers met, as Redis deletes them on access.
    pub fn reap_stale(&mut self, now_ms: u64) {
        for db in &mut self.dbs {
            db.reap_stale(now_ms);
        }
    }

    /// How many keys have been removed because they expired.
    pub fn expired_removed(&self) -> u64 {
        self.dbs.iter().map(|db| db.expired_removed).sum()
    }

    /// Zeroes the expiry counters (CONFIG RESETSTAT).
    pub fn reset_stats(&mut self) {
        for db in &mut self.dbs {
            db.expired_removed = 0;
        }
    }

    /// Removes every key of every database.
    pub fn flush_all(&mut self) {
        for db in &mut self.dbs {
            db.clear();
        }
    }
}

/// The shared keyspace and its lock.
#[derive(Debug)]
pub struct Store {
    keyspace: RwLock<Keyspace>,
}

impl Store {
    /// A store of `databases` empty databases.
    pub fn new(databases: usize) -> Store {
        Store::from_keyspace(Keyspace::new(databases))
    }

    /// A store holding an already built keyspace (a loaded dump).
    pub fn from_keyspace(keyspace: Keyspace) -> Store {
        Store {
            keyspace: RwLock::new(keyspace),
        }
    }

    /// The read lock. A panic elsewhere while holding the lock must not take the server
    /// down with it, so poisoning is ignored: every mutation leaves the maps consistent
    /// between statements.
    pub fn read(&self) -> RwLockReadGuard<'_, Keyspace> {
        self.keyspace.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The write lock (see [`Store::read`] on poisoning).
    pub fn write(&self) -> RwLockWriteGuard<'_, Keyspace> {
        self.keyspace.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.as_bytes().to_vec())
    }

    #[test]
    fn lazy_expiry_hides_and_removes() {
        let mut db = Db::default();
        db.set(b"a", s("1"));
        assert!(db.set_expiry(b"a", 100, 50));
        assert!(db.get(b"a", 99).is_some());
        assert!(db.get(b"a", 100).is_none());
        assert_eq!(db.len(), 1, "a read does not remove");
        assert_eq!(db.reap_stale(100), 1, "but notes the key for removal");
        assert_eq!(db.len(), 0);
        db.set(b"b", s("1"));
        db.set_expiry(b"b", 100, 50);
        assert!(db.get_mut(b"b", 100).is_none());
        assert_eq!(db.len(), 0, "a write lookup removes");
        assert_eq!(db.expires_count(), 0);
        assert_eq!(db.expired_removed, 2);
    }

    #[test]
    fn set_clears_ttl_and_keep_ttl_keeps_it() {
        let mut db = Db::default();
        db.set(b"a", s("1"));
        db.set_expiry(b"a", 1000, 0);
        db.set_keep_ttl(b"a", s("2"), 0);
        assert_eq!(db.get(b"a", 0).unwrap().expires_at(), Some(1000));
        db.set(b"a", s("3"));
        assert_eq!(db.get(b"a", 0).unwrap().expires_at(), None);
        assert_eq!(db.expires_count(), 0);
    }

    #[test]
    fn ttl_index_stays_consistent_through_removals() {
        let mut db = Db::default();
        for i in 0..100u32 {
            let k = i.to_string();
            db.set(k.as_bytes(), s("v"));
            db.set_expiry(k.as_bytes(), if i % 2 == 0 { 10 } else { 1000 }, 0);
        }
        assert!(db.persist(b"1", 0));
        assert!(db.remove(b"3", 0).is_some());
        let mut removed = 0;
        loop {
            let (sampled, r) = db.expire_step(20, 500);
            removed += r;
            if sampled == 0 || r == 0 && removed == 50 {
                break;
            }
        }
        assert_eq!(removed, 50);
        assert_eq!(db.len(), 49);
        assert_eq!(db.expires_count(), 48);
        for (slot, key) in db.ttl_keys.iter().enumerate() {
            assert_eq!(db.map[key].ttl_slot as usize, slot);
        }
    }

    #[test]
    fn keys_matches_globs_and_skips_expired() {
        let mut db = Db::default();
        db.set(b"foo", s("1"));
        db.set(b"fox", s("1"));
        db.set(b"bar", s("1"));
        db.set_expiry(b"fox", 5, 0);
        let mut keys = db.keys(b"f*", 10);
        keys.sort();
        assert_eq!(keys, vec![&b"foo"[..]]);
    }
}
