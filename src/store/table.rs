//! A chained hash table with Redis's reverse-binary scan cursor (`dict.c`).
//!
//! Why not `std::collections::HashMap`:
//!
//! - **Stable cursors.** SCAN (and HSCAN, SSCAN, ZSCAN) must return every element that is
//!   present for the whole iteration, even while the table grows or shrinks between calls.
//!   Redis gets this by walking buckets in reverse-binary order: the cursor's high bits
//!   are incremented first, so the buckets a cursor has covered stay covered when the
//!   table doubles (each splits into two later buckets) or halves (two fold into one
//!   already covered). A std map has no stable positions to walk.
//! - **Memory.** A bucket is one pointer, the table grows at a load factor of 1 as Redis's
//!   does, and each element lives in one node: about 8 bytes of table per element,
//!   where an open-addressing map with inline slots pays its slot size roughly twice.
//!
//! Keys are hashed with std's SipHash under one random key per process, as Redis seeds
//! its SipHash once at startup, so clients cannot aim collisions at the table. One key
//! for every table (rather than one each) keeps a table three words: every hash or set
//! past its compact encoding holds one.
//!
//! The table resizes all at once (moving node pointers, never reallocating nodes) rather
//! than incrementally as Redis does.
//!
//! Besides lookups it offers what Redis's keyspace commands need from `dict.c`, for the
//! keyspace and, later, for hashes and sets: [`Table::scan`] and [`Table::scan_count`]
//! (SCAN, HSCAN, SSCAN), and [`Table::random`], [`Table::sample`] and
//! [`Table::random_fair`] (RANDOMKEY, and later SRANDMEMBER, HRANDFIELD).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use crate::util::rand::Rng;

/// What the table stores: anything that can show its key.
pub trait Keyed {
    fn key(&self) -> &[u8];
}

struct Node<T> {
    next: Option<Box<Node<T>>>,
    item: T,
}

type Link<T> = Option<Box<Node<T>>>;

/// The smallest bucket array, once anything is stored.
const MIN_BUCKETS: usize = 4;

/// A hash table of `T`s keyed by their bytes.
pub struct Table<T> {
    /// A boxed slice rather than a `Vec`: its length is its capacity, and a word less
    /// keeps a table (and the box of a set or hash holding one) in a smaller chunk.
    buckets: Box<[Link<T>]>,
    len: usize,
}

/// The process's SipHash key, drawn at first use.
fn hasher() -> &'static RandomState {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    KEYS.get_or_init(RandomState::new)
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            buckets: Box::default(),
            len: 0,
        }
    }
}

impl<T: std::fmt::Debug + Keyed> std::fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Keyed> Table<T> {
    /// An empty table (allocates nothing until the first insert).
    pub fn new() -> Table<T> {
        Table::default()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of buckets (a power of two, or zero).
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// The size of the node that holds one element.
    pub const fn node_size() -> usize {
        std::mem::size_of::<Node<T>>()
    }

    /// The bytes of heap the table itself holds: its bucket array and one node per
    /// element (what the elements own besides is theirs to count).
    pub fn heap_bytes(&self) -> usize {
        crate::store::memory::alloc(self.buckets.len() * std::mem::size_of::<Link<T>>())
            + self.len * crate::store::memory::alloc(Self::node_size())
    }

    /// The first `n` elements in bucket order: a sample that depends only on what the
    /// table holds, for estimates that must give the same answer twice.
    pub fn first(&self, n: usize) -> impl Iterator<Item = &T> {
        self.iter().take(n)
    }

    fn bucket(&self, key: &[u8]) -> usize {
        (hasher().hash_one(key) as usize) & (self.buckets.len() - 1)
    }

    /// The element with this key.
    pub fn get(&self, key: &[u8]) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        let mut link = &self.buckets[self.bucket(key)];
        while let Some(node) = link {
            if node.item.key() == key {
                return Some(&node.item);
            }
            link = &node.next;
        }
        None
    }

    /// The element with this key, writable. The caller must not change its key.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        if self.len == 0 {
            return None;
        }
        let b = self.bucket(key);
        let mut link = self.buckets[b].as_deref_mut();
        while let Some(node) = link {
            if node.item.key() == key {
                return Some(&mut node.item);
            }
            link = node.next.as_deref_mut();
        }
        None
    }

    /// Grows the bucket array, at once, to what `n` elements need (a load factor of at
    /// most 1), as loading a dump of known size wants.
    pub fn reserve(&mut self, n: usize) {
        if n > self.buckets.len() {
            self.resize(n.next_power_of_two().max(MIN_BUCKETS));
        }
    }

    /// Adds `item`, whose key must not be in the table yet (check with `get` first).
    pub fn insert_new(&mut self, item: T) -> &mut T {
        if self.len >= self.buckets.len() {
            self.resize((self.buckets.len() * 2).max(MIN_BUCKETS));
        }
        self.insert_fixed(item)
    }

    /// [`Table::insert_new`] without growing: every element keeps its bucket (chains get
    /// longer instead), which a snapshot walking the buckets in order relies on. The
    /// table must have buckets. Call [`Table::fit`] once sizes may change again.
    pub fn insert_fixed(&mut self, item: T) -> &mut T {
        if self.buckets.is_empty() {
            self.resize(MIN_BUCKETS);
        }
        let b = self.bucket(item.key());
        let next = self.buckets[b].take();
        self.len += 1;
        &mut self.buckets[b].insert(Box::new(Node { next, item })).item
    }

    /// Removes and returns the element with this key.
    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        let item = self.remove_fixed(key)?;
        self.shrink_if_sparse();
        Some(item)
    }

    /// [`Table::remove`] without shrinking (see [`Table::insert_fixed`]).
    pub fn remove_fixed(&mut self, key: &[u8]) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let b = self.bucket(key);
        let mut link = &mut self.buckets[b];
        while link.as_ref().is_some_and(|n| n.item.key() != key) {
            // The loop condition just saw `Some`.
            let Some(node) = link else { break };
            link = &mut node.next;
        }
        let mut node = link.take()?;
        *link = node.next.take();
        self.len -= 1;
        Some(node.item)
    }

    /// Grows or shrinks the bucket array to suit the number of elements, after a period
    /// of [`Table::insert_fixed`] and [`Table::remove_fixed`].
    pub fn fit(&mut self) {
        if self.len > self.buckets.len() {
            self.resize(self.len.next_power_of_two().max(MIN_BUCKETS));
        } else {
            self.shrink_if_sparse();
        }
    }

    /// The bucket `key` falls in, `None` while the table has no buckets.
    pub fn bucket_of(&self, key: &[u8]) -> Option<usize> {
        (!self.buckets.is_empty()).then(|| self.bucket(key))
    }

    /// Visits whole buckets in increasing index order from bucket `from`, until at least
    /// `budget` elements were visited or the last bucket was. Returns the next bucket to
    /// visit (`buckets()` once the walk is complete).
    pub fn visit_buckets(&self, from: usize, budget: usize, mut visit: impl FnMut(&T)) -> usize {
        let mut visited = 0;
        let mut b = from;
        while b < self.buckets.len() && visited < budget {
            for item in self.chain(b) {
                visit(item);
                visited += 1;
            }
            b += 1;
        }
        b.max(from)
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        // Unlink chains one node at a time: dropping a long chain recursively could
        // overflow the stack.
        for link in &mut self.buckets {
            let mut next = link.take();
            while let Some(mut node) = next {
                next = node.next.take();
            }
        }
        self.buckets = Box::default();
        self.len = 0;
    }

    /// Every element, in bucket order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.buckets.iter().flat_map(|link| {
            let mut cur = link.as_deref();
            std::iter::from_fn(move || {
                let node = cur?;
                cur = node.next.as_deref();
                Some(&node.item)
            })
        })
    }

    /// Visits the bucket at `cursor` and returns the next cursor (0 when the walk is
    /// complete), exactly as Redis's `dictScan` does for one table. Start with 0.
    pub fn scan<'a>(&'a self, cursor: u64, mut visit: impl FnMut(&'a T)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        let mut link = &self.buckets[(cursor & mask) as usize];
        while let Some(node) = link {
            visit(&node.item);
            link = &node.next;
        }
        // Increment the reversed cursor: set the unmasked bits, reverse, add one,
        // reverse back.
        let v = (cursor | !mask).reverse_bits().wrapping_add(1);
        v.reverse_bits()
    }

    /// One call of SCAN over the table, as Redis's `scanGenericCommand` loops on
    /// `dictScan`: visits buckets from `cursor` on until at least `count` elements were
    /// visited, the walk is complete, or `count * 10` more buckets were looked at (so a
    /// sparse table cannot make one call walk it all). Returns the next cursor, 0 when
    /// the walk is complete.
    ///
    /// The guarantee of [`Table::scan`] carries over: across calls, with any inserts,
    /// removals and resizes in between, every element present for the whole walk is
    /// visited at least once.
    pub fn scan_count<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a T),
    ) -> u64 {
        let mut visited = 0usize;
        let mut budget = count.saturating_mul(10);
        let mut cursor = cursor;
        loop {
            cursor = self.scan(cursor, |item| {
                visited += 1;
                visit(item);
            });
            if cursor == 0 || budget == 0 || visited >= count {
                return cursor;
            }
            budget -= 1;
        }
    }

    /// The elements of bucket `b`, in chain order.
    fn chain(&self, b: usize) -> impl Iterator<Item = &T> {
        let mut cur = self.buckets[b].as_deref();
        std::iter::from_fn(move || {
            let node = cur?;
            cur = node.next.as_deref();
            Some(&node.item)
        })
    }

    /// A random element, as Redis's `dictGetRandomKey`: a random non-empty bucket, then
    /// a random element of its chain. Elements in long chains are less likely; see
    /// [`Table::random_fair`].
    pub fn random(&self, rng: &mut Rng) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        let mask = self.buckets.len() as u64 - 1;
        // The table is never less than a tenth full (it shrinks first), so this takes
        // about ten draws at worst.
        let b = loop {
            let b = (rng.next_u64() & mask) as usize;
            if self.buckets[b].is_some() {
                break b;
            }
        };
        let len = self.chain(b).count() as u64;
        self.chain(b).nth(rng.below(len) as usize)
    }

    /// Up to `count` elements from consecutive buckets starting at a random one, as
    /// Redis's `dictGetSomeKeys`: cheap, not uniform, and possibly fewer than asked for
    /// (it gives up after `count * 10` buckets, and jumps elsewhere after a run of empty
    /// ones).
    pub fn sample(&self, rng: &mut Rng, count: usize) -> Vec<&T> {
        let count = count.min(self.len);
        let mut out = Vec::with_capacity(count);
        if count == 0 {
            return out;
        }
        let mask = self.buckets.len() as u64 - 1;
        let mut b = rng.next_u64() & mask;
        let mut empty_run = 0usize;
        for _ in 0..count * 10 {
            if self.buckets[b as usize].is_none() {
                empty_run += 1;
                if empty_run >= 5 && empty_run > count {
                    b = rng.next_u64() & mask;
                    empty_run = 0;
                }
            } else {
                empty_run = 0;
                for item in self.chain(b as usize) {
                    out.push(item);
                    if out.len() == count {
                        return out;
                    }
                }
            }
            b = (b + 1) & mask;
        }
        out
    }

    /// A random element with less bias than [`Table::random`], as Redis's
    /// `dictGetFairRandomKey`: one of a [`Table::sample`] of 15, or [`Table::random`]
    /// when the sample came back empty.
    pub fn random_fair(&self, rng: &mut Rng) -> Option<&T> {
        const FAIR_SAMPLE: usize = 15;
        let sample = self.sample(rng, FAIR_SAMPLE);
        if sample.is_empty() {
            return self.random(rng);
        }
        Some(sample[rng.below(sample.len() as u64) as usize])
    }

    /// Halves the bucket array while it is less than a tenth full, as Redis's
    /// `htNeedsResize` does, so mass deletion gives memory back.
    fn shrink_if_sparse(&mut self) {
        let n = self.buckets.len();
        if n > MIN_BUCKETS && self.len * 10 < n {
            self.resize((self.len.next_power_of_two()).max(MIN_BUCKETS));
        }
    }

    /// Rebuilds the bucket array with `n` buckets (a power of two), moving the nodes.
    fn resize(&mut self, n: usize) {
        let old = std::mem::replace(&mut self.buckets, (0..n).map(|_| None).collect());
        for mut link in old {
            while let Some(mut node) = link {
                link = node.next.take();
                let b = self.bucket(node.item.key());
                node.next = self.buckets[b].take();
                self.buckets[b] = Some(node);
            }
        }
    }
}

impl<T> Drop for Table<T> {
    fn drop(&mut self) {
        for link in &mut self.buckets {
            let mut next = link.take();
            while let Some(mut node) = next {
                next = node.next.take();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[derive(Debug, PartialEq)]
    struct Item(Vec<u8>, u32);

    impl Keyed for Item {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    fn key(i: u32) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn insert_get_remove() {
        let mut t = Table::new();
        for i in 0..1000 {
            assert!(t.get(&key(i)).is_none());
            t.insert_new(Item(key(i), i));
        }
        assert_eq!(t.len(), 1000);
        assert_eq!(t.buckets(), 1024);
        for i in 0..1000 {
            assert_eq!(t.get(&key(i)).unwrap().1, i);
        }
        t.get_mut(&key(7)).unwrap().1 = 70;
        assert_eq!(t.get(&key(7)).unwrap().1, 70);
        for i in (0..1000).step_by(2) {
            assert_eq!(t.remove(&key(i)).unwrap().0, key(i));
        }
        assert!(t.remove(&key(0)).is_none());
        assert_eq!(t.len(), 500);
        assert_eq!(t.iter().count(), 500);
        for i in (1..1000).step_by(2) {
            t.remove(&key(i));
        }
        assert!(t.is_empty());
        assert!(t.buckets() <= MIN_BUCKETS, "shrinks back: {}", t.buckets());
    }

    /// Runs a full scan, calling `between` after each step (to mutate the table).
    fn full_scan(
        t: &mut Table<Item>,
        mut between: impl FnMut(&mut Table<Item>, usize),
    ) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = t.scan(cursor, |item| seen.push(item.0.clone()));
            if cursor == 0 {
                return seen;
            }
            between(t, step);
            step += 1;
        }
    }

    #[test]
    fn scan_visits_everything_once_when_stable() {
        let mut t = Table::new();
        for i in 0..5000 {
            t.insert_new(Item(key(i), i));
        }
        let seen = full_scan(&mut t, |_, _| {});
        assert_eq!(seen.len(), 5000);
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5000);
    }

    #[test]
    fn scan_keeps_its_guarantee_while_the_table_grows_and_shrinks() {
        let mut t = Table::new();
        for i in 0..2000 {
            t.insert_new(Item(key(i), i));
        }
        // Keys 0..1000 stay for the whole scan; 1000..2000 are deleted and 10000.. are
        // added along the way (during the first 400 steps, so the walk can finish),
        // forcing shrinks and growths.
        let seen: HashSet<Vec<u8>> = full_scan(&mut t, |t, step| {
            if step >= 400 {
                return;
            }
            if step % 2 == 0 {
                for j in 0..40 {
                    let n = 1000 + (step as u32 * 20 + j) % 1000;
                    t.remove(&key(n));
                }
            } else {
                for j in 0..20 {
                    let n = 10_000 + step as u32 * 20 + j;
                    if t.get(&key(n)).is_none() {
                        t.insert_new(Item(key(n), n));
                    }
                }
            }
        })
        .into_iter()
        .collect();
        for i in 0..1000 {
            assert!(
                seen.contains(&key(i)),
                "key {i} was present throughout but missed"
            );
        }
    }

    #[test]
    fn a_node_holding_a_keyspace_entry_stays_56_bytes() {
        // Memory per key is a tracked benchmark: 56 bytes is one 64-byte malloc chunk.
        assert!(std::mem::size_of::<Node<crate::store::Entry>>() <= 56);
    }

    #[test]
    fn a_table_is_three_words() {
        // A hash or set past its compact encoding boxes one with its key: 40 bytes, one
        // 48-byte malloc chunk.
        assert_eq!(std::mem::size_of::<Table<Item>>(), 16 + 8);
    }

    #[test]
    fn scan_count_collects_about_count_and_completes() {
        let mut t = Table::new();
        for i in 0..1000 {
            t.insert_new(Item(key(i), i));
        }
        let mut seen = HashSet::new();
        let (mut cursor, mut calls) = (0, 0);
        loop {
            let mut got = 0;
            cursor = t.scan_count(cursor, 25, |item| {
                got += 1;
                assert!(seen.insert(item.0.clone()), "visited twice");
            });
            calls += 1;
            if cursor == 0 {
                break;
            }
            assert!(got >= 25, "a call stops early only at the end: {got}");
        }
        assert_eq!(seen.len(), 1000);
        assert!((20..=41).contains(&calls), "{calls} calls");
    }

    #[test]
    fn scan_count_gives_up_after_ten_buckets_per_element_asked() {
        let mut t = Table::new();
        for i in 0..100 {
            t.insert_new(Item(key(i), i));
        }
        // 13 elements in 128 buckets: mostly empty, not yet shrunk.
        for i in 13..100 {
            t.remove(&key(i));
        }
        assert_eq!((t.len(), t.buckets()), (13, 128));
        let mut cursor = 0;
        loop {
            // The expected stop, one bucket at a time: an element found, the walk
            // complete, or 1 + 10 buckets looked at.
            let (mut expected, mut found, mut steps) = (cursor, 0, 0);
            loop {
                expected = t.scan(expected, |_| found += 1);
                steps += 1;
                if expected == 0 || found >= 1 || steps == 11 {
                    break;
                }
            }
            cursor = t.scan_count(cursor, 1, |_| {});
            assert_eq!(cursor, expected);
            if cursor == 0 {
                break;
            }
        }
    }

    #[test]
    fn random_draws_reach_every_element_evenly() {
        let mut t = Table::new();
        let mut rng = Rng::new(42);
        assert!(t.random(&mut rng).is_none());
        assert!(t.random_fair(&mut rng).is_none());
        assert!(t.sample(&mut rng, 5).is_empty());
        for i in 0..10 {
            t.insert_new(Item(key(i), i));
        }
        for draw in [Table::random, Table::random_fair] {
            let mut counts = [0u32; 10];
            for _ in 0..20_000 {
                counts[draw(&t, &mut rng).unwrap().1 as usize] += 1;
            }
            // Chains make `random` uneven; both must reach every element often.
            assert!(counts.iter().all(|&c| c > 500), "{counts:?}");
        }
        let mut counts = [0u32; 10];
        for _ in 0..20_000 {
            counts[t.random_fair(&mut rng).unwrap().1 as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (1400..2600).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn sample_returns_distinct_elements_up_to_count() {
        let mut t = Table::new();
        let mut rng = Rng::new(7);
        for i in 0..100 {
            t.insert_new(Item(key(i), i));
        }
        for count in [1, 5, 15, 100, 500] {
            let s = t.sample(&mut rng, count);
            // It may come back short (even empty for a count of 1, after ten empty
            // buckets in a row), never long.
            assert!(s.len() <= count.min(100));
            assert!(count < 15 || !s.is_empty());
            let distinct: HashSet<u32> = s.iter().map(|i| i.1).collect();
            assert_eq!(distinct.len(), s.len());
        }
    }

    #[test]
    fn fixed_mode_keeps_buckets_and_fit_resizes_after() {
        let mut t = Table::new();
        for i in 0..100 {
            t.insert_new(Item(key(i), i));
        }
        let buckets = t.buckets();
        let before: Vec<usize> = (0..100).map(|i| t.bucket_of(&key(i)).unwrap()).collect();
        for i in 100..1000 {
            t.insert_fixed(Item(key(i), i));
        }
        for i in 0..50 {
            t.remove_fixed(&key(i));
        }
        assert_eq!(t.buckets(), buckets);
        for i in 50..100 {
            assert_eq!(t.bucket_of(&key(i)), Some(before[i as usize]));
        }
        let mut seen = 0;
        let mut b = 0;
        while b < t.buckets() {
            b = t.visit_buckets(b, 7, |_| seen += 1);
        }
        assert_eq!(seen, 950);
        t.fit();
        assert_eq!(t.buckets(), 1024);
        for i in 50..1000 {
            assert_eq!(t.get(&key(i)).unwrap().1, i);
        }
    }

    #[test]
    fn a_long_chain_drops_without_recursion() {
        let mut t = Table::new();
        for i in 0..200_000 {
            t.insert_new(Item(key(i), i));
        }
        t.clear();
        assert!(t.is_empty());
    }
}
