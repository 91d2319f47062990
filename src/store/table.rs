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
//! - **No stalls.** A std map rehashes everything at once when it grows; see below.
//!
//! Keys are hashed with std's SipHash under one random key per process, as Redis seeds
//! its SipHash once at startup, so clients cannot aim collisions at the table. One key
//! for every table (rather than one each) keeps a table three words: every hash or set
//! past its compact encoding holds one.
//!
//! **Resizing.** How a table resizes is its second type parameter:
//!
//! - [`Incremental`] (the keyspace): as Redis's `dict.c`, a resize allocates the new
//!   bucket array and then moves the old one's buckets over a few at a time: one bucket
//!   (skipping at most ten empty ones) per insert or removal, plus what the owner asks
//!   for with [`Table::rehash`] (the server's cron, a millisecond at a time, as Redis's
//!   `incrementallyRehash`). Moving a million-key table at once takes a few hundred
//!   milliseconds of the keyspace's write lock; this spreads it out. While it runs, an
//!   element whose bucket in the old array is at or past the rehash position is there,
//!   every other element is in the new array: a lookup still probes one chain.
//!   SCAN walks both arrays as `dictScan` does, and [`Table::random`] and
//!   [`Table::sample`] draw from both.
//! - [`AtOnce`] (the default, for hashes and sets): resizes move every node at once. The
//!   state of a rehash in progress would take a fourth word, and a boxed hash or set's
//!   header would no longer fit its 48-byte malloc chunk.
//!
//! Resizing moves node pointers and never reallocates nodes.
//!
//! Besides lookups it offers what Redis's keyspace commands need from `dict.c`, for the
//! keyspace and, later, for hashes and sets: [`Table::scan`] and [`Table::scan_count`]
//! (SCAN, HSCAN, SSCAN), and [`Table::random`], [`Table::sample`] and
//! [`Table::random_fair`] (RANDOMKEY, and later SRANDMEMBER, HRANDFIELD).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

use crate::util::rand::Rng;

/// What the table stores: anything that can show its key.
pub trait Keyed {
    /// The bytes the element is found by.
    fn key(&self) -> &[u8];
}

struct Node<T> {
    next: Option<Box<Node<T>>>,
    item: T,
}

type Link<T> = Option<Box<Node<T>>>;

/// Only so that `vec![None; n]` compiles for [`empty_links`]: cloning a `None` link
/// never clones a node, and nothing else clones links (a table is never copied).
impl<T> Clone for Node<T> {
    fn clone(&self) -> Self {
        unreachable!("table nodes are never cloned")
    }
}

/// The smallest bucket array, once anything is stored.
const MIN_BUCKETS: usize = 4;

/// The most keys one [`Table::prefetch`] brings in: a batch of 16 MSETs of 10 keys
/// (redis-benchmark's `-P 16`), and few enough that their chains (two cache lines a key)
/// stay in a core's cache until their commands run.
pub const PREFETCH_MAX: usize = 256;

/// An empty bucket array allocated ahead of a resize ([`Table::fit_into`]), so that the
/// lock the table is under need not be held while it is allocated and cleared: for a
/// million keys, 16 MB written, 6 ms of the keyspace's write lock.
pub struct Buckets<T>(Box<[Link<T>]>);

impl<T> Buckets<T> {
    /// `n` empty buckets (a power of two).
    pub fn new(n: usize) -> Buckets<T> {
        debug_assert!(n.is_power_of_two());
        Buckets(empty_links(n))
    }

    /// How many buckets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never, for an array from [`Buckets::new`]).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T> std::fmt::Debug for Buckets<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} spare buckets", self.0.len())
    }
}

/// A rehash in progress: the bucket array being emptied into the table's new one.
pub struct Rehash<T> {
    old: Box<[Link<T>]>,
    /// Buckets of `old` below this one are empty: their elements were moved.
    next: usize,
}

impl<T> Drop for Rehash<T> {
    fn drop(&mut self) {
        unlink_all(&mut self.old);
    }
}

/// How a [`Table`] resizes: where it keeps the state of a rehash in progress, if it has
/// room for one.
pub trait Resizing<T>: Default {
    /// The rehash in progress, if any.
    fn current(&self) -> Option<&Rehash<T>>;
    /// Where a rehash in progress is kept, `None` when this kind of table resizes at once.
    fn room(&mut self) -> Option<&mut Option<Box<Rehash<T>>>>;
}

/// Resizes move every element at once (and take no room in the table).
#[derive(Debug, Default, Clone, Copy)]
pub struct AtOnce;

impl<T> Resizing<T> for AtOnce {
    #[inline]
    fn current(&self) -> Option<&Rehash<T>> {
        None
    }

    #[inline]
    fn room(&mut self) -> Option<&mut Option<Box<Rehash<T>>>> {
        None
    }
}

/// Resizes move the elements a few buckets at a time, as Redis's `dict.c` (one word:
/// the boxed state, only while a rehash runs).
pub struct Incremental<T>(Option<Box<Rehash<T>>>);

impl<T> Default for Incremental<T> {
    fn default() -> Self {
        Incremental(None)
    }
}

impl<T> std::fmt::Debug for Incremental<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(r) => write!(f, "rehashing {}/{}", r.next, r.old.len()),
            None => f.write_str("not rehashing"),
        }
    }
}

impl<T> Resizing<T> for Incremental<T> {
    #[inline]
    fn current(&self) -> Option<&Rehash<T>> {
        self.0.as_deref()
    }

    #[inline]
    fn room(&mut self) -> Option<&mut Option<Box<Rehash<T>>>> {
        Some(&mut self.0)
    }
}

/// A hash table of `T`s keyed by their bytes, resizing as `R` says.
pub struct Table<T, R = AtOnce> {
    /// A boxed slice rather than a `Vec`: its length is its capacity, and a word less
    /// keeps a table (and the box of a set or hash holding one) in a smaller chunk.
    /// While a rehash runs, this is the new array.
    buckets: Box<[Link<T>]>,
    len: usize,
    rehash: R,
}

/// The process's SipHash key, drawn at first use.
fn hasher() -> &'static RandomState {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    KEYS.get_or_init(RandomState::new)
}

/// The key's bytes alone go through SipHash: `hash_one` would hash the slice's length
/// first, a second round of the hasher per lookup, which a single key per hash does
/// not need (no two keys' bytes are ever concatenated into one input).
fn hash(key: &[u8]) -> usize {
    let mut h = hasher().build_hasher();
    h.write(key);
    h.finish() as usize
}

/// A key's hash, computed once for several operations on the same key (a lookup, then
/// an insertion or the memory account's second look).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHash(usize);

impl KeyHash {
    /// The hash of `key`, as every table of the process computes it.
    #[inline]
    pub fn of(key: &[u8]) -> KeyHash {
        KeyHash(hash(key))
    }
}

/// Where [`Table::find`] found an element: its chain and its depth there. Valid until
/// the table next changes; [`Table::at_mut`] then reaches the element without hashing
/// or comparing keys again (a borrow returned from a lookup cannot be given up to
/// insert instead, so get-or-insert looks up, then inserts or goes to the slot).
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    hash: KeyHash,
    depth: usize,
}

/// The hash `key` is filed under in every table of this process (for
/// [`Table::prefetch`]).
pub fn key_hash(key: &[u8]) -> usize {
    hash(key)
}

/// An array of `n` empty buckets. `vec![None; n]` takes std's zeroed allocation (a
/// `None` link is all zero bits): a big array is fresh pages from the kernel, resident
/// only once a bucket on them is written, where writing every `None` made all of it
/// resident at once (a spare array for a million keys: 16 MB of RSS until the growth
/// it waits for, and the clearing's cost, paid up front).
fn empty_links<T>(n: usize) -> Box<[Link<T>]> {
    vec![None; n].into_boxed_slice()
}

/// Drops every chain one node at a time: dropping a long chain recursively could
/// overflow the stack.
fn unlink_all<T>(links: &mut [Link<T>]) {
    for link in links {
        let mut next = link.take();
        while let Some(mut node) = next {
            next = node.next.take();
        }
    }
}

/// Moves up to `n` non-empty buckets of `r.old` (looking at no more than `10 * n` empty
/// ones, as Redis's `dictRehash`) into `to`. Returns true once `r.old` is empty.
fn move_buckets<T: Keyed>(r: &mut Rehash<T>, to: &mut [Link<T>], n: usize) -> bool {
    let mask = to.len() - 1;
    let mut empty_visits = n.saturating_mul(10);
    let mut moved = 0;
    while moved < n && r.next < r.old.len() {
        let mut link = r.old[r.next].take();
        r.next += 1;
        if link.is_none() {
            empty_visits -= 1;
            if empty_visits == 0 {
                break;
            }
            continue;
        }
        moved += 1;
        while let Some(mut node) = link {
            link = node.next.take();
            let b = hash(node.item.key()) & mask;
            node.next = to[b].take();
            to[b] = Some(node);
        }
    }
    r.next >= r.old.len()
}

/// The elements of one chain, in order.
fn chain<T>(link: &Link<T>) -> impl Iterator<Item = &T> {
    let mut cur = link.as_deref();
    std::iter::from_fn(move || {
        let node = cur?;
        cur = node.next.as_deref();
        Some(&node.item)
    })
}

impl<T, R: Default> Default for Table<T, R> {
    fn default() -> Self {
        Table {
            buckets: Box::default(),
            len: 0,
            rehash: R::default(),
        }
    }
}

impl<T: std::fmt::Debug + Keyed, R: Resizing<T>> std::fmt::Debug for Table<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Keyed> Table<T> {
    /// An empty table that resizes at once (allocates nothing until the first insert).
    pub fn new() -> Table<T> {
        Table::default()
    }
}

impl<T: Keyed, R: Resizing<T>> Table<T, R> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of buckets: a power of two or zero, or while a rehash runs the old
    /// and new arrays' together (both are allocated). Also the end of the positions
    /// [`Table::visit_buckets`] and [`Table::bucket_of`] speak of.
    pub fn buckets(&self) -> usize {
        self.rehash.current().map_or(0, |r| r.old.len()) + self.buckets.len()
    }

    /// Whether a rehash is in progress.
    pub fn is_rehashing(&self) -> bool {
        self.rehash.current().is_some()
    }

    /// The size of the node that holds one element.
    pub const fn node_size() -> usize {
        std::mem::size_of::<Node<T>>()
    }

    /// The bytes of heap the table itself holds: its bucket arrays and one node per
    /// element (what the elements own besides is theirs to count).
    pub fn heap_bytes(&self) -> usize {
        use crate::store::memory::alloc;
        let rehash = self.rehash.current().map_or(0, |r| {
            alloc(std::mem::size_of::<Rehash<T>>())
                + alloc(r.old.len() * std::mem::size_of::<Link<T>>())
        });
        alloc(self.buckets.len() * std::mem::size_of::<Link<T>>())
            + rehash
            + self.len * alloc(Self::node_size())
    }

    /// The first `n` elements in bucket order: a sample that depends only on what the
    /// table holds, for estimates that must give the same answer twice.
    pub fn first(&self, n: usize) -> impl Iterator<Item = &T> {
        self.iter().take(n)
    }

    /// The chain an element with hash `h` is (or would be put) in: in the old array if
    /// its bucket there has not been moved yet, else in the new one.
    #[inline]
    fn home(&self, h: usize) -> &Link<T> {
        if let Some(r) = self.rehash.current() {
            let b = h & (r.old.len() - 1);
            if b >= r.next {
                return &r.old[b];
            }
        }
        &self.buckets[h & (self.buckets.len() - 1)]
    }

    /// [`Table::home`], writable.
    #[inline]
    fn home_mut(&mut self, h: usize) -> &mut Link<T> {
        if let Some(Some(r)) = self.rehash.room() {
            let b = h & (r.old.len() - 1);
            if b >= r.next {
                return &mut r.old[b];
            }
        }
        let mask = self.buckets.len() - 1;
        &mut self.buckets[h & mask]
    }

    /// The position of the chain at [`Table::home`]: old buckets first, then new ones.
    fn position(&self, h: usize) -> usize {
        match self.rehash.current() {
            Some(r) if h & (r.old.len() - 1) >= r.next => h & (r.old.len() - 1),
            Some(r) => r.old.len() + (h & (self.buckets.len() - 1)),
            None => h & (self.buckets.len() - 1),
        }
    }

    /// The chain at position `p` (see [`Table::position`]).
    fn slot(&self, p: usize) -> &Link<T> {
        match self.rehash.current() {
            Some(r) if p < r.old.len() => &r.old[p],
            Some(r) => &self.buckets[p - r.old.len()],
            None => &self.buckets[p],
        }
    }

    /// The positions that may hold elements: the old array's buckets that were not
    /// moved yet, then the new array.
    fn live_positions(&self) -> (usize, usize) {
        (self.rehash.current().map_or(0, |r| r.next), self.buckets())
    }

    /// The element with this key.
    pub fn get(&self, key: &[u8]) -> Option<&T> {
        self.get_hashed(KeyHash::of(key), key)
    }

    /// [`Table::get`] with the key's hash computed already.
    pub fn get_hashed(&self, h: KeyHash, key: &[u8]) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        chain(self.home(h.0)).find(|item| item.key() == key)
    }

    /// Where the element with this key is, for [`Table::at`] and [`Table::at_mut`].
    pub fn find(&self, h: KeyHash, key: &[u8]) -> Option<Slot> {
        if self.len == 0 {
            return None;
        }
        let depth = chain(self.home(h.0)).position(|item| item.key() == key)?;
        Some(Slot { hash: h, depth })
    }

    /// The element at a slot [`Table::find`] returned, the table unchanged since.
    pub fn at(&self, slot: Slot) -> &T {
        chain(self.home(slot.hash.0))
            .nth(slot.depth)
            .expect("a slot of the table as it is")
    }

    /// [`Table::at`], writable. The caller must not change the element's key.
    pub fn at_mut(&mut self, slot: Slot) -> &mut T {
        let mut node = self
            .home_mut(slot.hash.0)
            .as_deref_mut()
            .expect("a slot of the table as it is");
        for _ in 0..slot.depth {
            node = node
                .next
                .as_deref_mut()
                .expect("a slot of the table as it is");
        }
        &mut node.item
    }

    /// Brings the chains of up to [`PREFETCH_MAX`] keys, given by their [`key_hash`]es,
    /// into the cache before they are looked up, so that their cache misses overlap
    /// instead of coming one after another: a pipelined batch of writes over many keys
    /// otherwise waits for two misses (bucket, node) per command, a third of its CPU
    /// time. Every bucket first, then every chain's first node: each pass is loads that
    /// do not depend on one another, so the CPU has them in flight together (std has no
    /// prefetch instruction callable without `unsafe`; a load whose value nobody waits
    /// for serves). The hashes are taken by the caller, before it takes the lock this
    /// table is under.
    pub fn prefetch(&self, hashes: &[usize]) {
        if self.len == 0 {
            return;
        }
        let hashes = &hashes[..hashes.len().min(PREFETCH_MAX)];
        let mut heads: [Option<&Node<T>>; PREFETCH_MAX] = [None; PREFETCH_MAX];
        for (head, &h) in heads.iter_mut().zip(hashes) {
            *head = self.home(h).as_deref();
        }
        for node in heads[..hashes.len()].iter().flatten() {
            std::hint::black_box(node.item.key().first());
        }
    }

    /// The element with this key, writable. The caller must not change its key.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        if self.len == 0 {
            return None;
        }
        let mut link = self.home_mut(hash(key)).as_deref_mut();
        while let Some(node) = link {
            if node.item.key() == key {
                return Some(&mut node.item);
            }
            link = node.next.as_deref_mut();
        }
        None
    }

    /// Grows the bucket array, at once, to what `n` elements need (a load factor of at
    /// most 1), as loading a dump of known size wants. Finishes a rehash in progress.
    pub fn reserve(&mut self, n: usize) {
        self.finish_rehash();
        if n > self.buckets.len() {
            self.start_resize(n.next_power_of_two().max(MIN_BUCKETS));
            self.finish_rehash();
        }
    }

    /// Adds `item`, whose key must not be in the table yet (check with `get` first).
    pub fn insert_new(&mut self, item: T) -> &mut T {
        let h = KeyHash::of(item.key());
        self.insert_new_hashed(h, item)
    }

    /// [`Table::insert_new`] with the key's hash computed already.
    pub fn insert_new_hashed(&mut self, h: KeyHash, item: T) -> &mut T {
        if self.is_rehashing() {
            self.rehash(1);
        } else if self.len >= self.buckets.len() {
            self.grow();
        }
        self.insert_fixed_hashed(h, item)
    }

    /// Adds `item`, or puts it in the place of the element with the same key, which is
    /// then moved to `replaced`. One hash of the key and one walk of its chain, where
    /// [`Table::remove`] then [`Table::insert_new`] take two hashes (loading a dump: its
    /// keys are new, but that must be checked). Resizes as [`Table::insert_new`] does.
    pub fn insert_or_replace(&mut self, item: T, replaced: &mut Option<T>) -> &mut T {
        if self.is_rehashing() {
            self.rehash(1);
        } else if self.len >= self.buckets.len() {
            self.grow();
        }
        let h = hash(item.key());
        // How deep in the chain the key is: read-only first, so that the common case,
        // a new key, ends in a plain insertion at the head (as `insert_fixed`).
        let depth = if self.len == 0 {
            None
        } else {
            chain(self.home(h)).position(|e| e.key() == item.key())
        };
        let Some(depth) = depth else {
            if self.buckets.is_empty() {
                self.buckets = empty_links(MIN_BUCKETS);
            }
            self.len += 1;
            let link = self.home_mut(h);
            let next = link.take();
            return &mut link.insert(Box::new(Node { next, item })).item;
        };
        let mut node = self
            .home_mut(h)
            .as_deref_mut()
            .expect("the chain holds the key");
        for _ in 0..depth {
            node = node.next.as_deref_mut().expect("the chain holds the key");
        }
        *replaced = Some(std::mem::replace(&mut node.item, item));
        &mut node.item
    }

    /// [`Table::insert_new`] without resizing or rehashing: every element keeps its
    /// position (chains get longer instead), which a snapshot walking the buckets in
    /// order relies on. Call [`Table::fit`] once sizes may change again.
    pub fn insert_fixed(&mut self, item: T) -> &mut T {
        let h = KeyHash::of(item.key());
        self.insert_fixed_hashed(h, item)
    }

    /// [`Table::insert_fixed`] with the key's hash computed already.
    pub fn insert_fixed_hashed(&mut self, h: KeyHash, item: T) -> &mut T {
        debug_assert_eq!(h, KeyHash::of(item.key()));
        if self.buckets.is_empty() {
            self.buckets = empty_links(MIN_BUCKETS);
        }
        self.len += 1;
        let link = self.home_mut(h.0);
        let next = link.take();
        &mut link.insert(Box::new(Node { next, item })).item
    }

    /// Removes and returns the element with this key.
    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        if self.is_rehashing() {
            self.rehash(1);
        }
        let item = self.remove_fixed(key)?;
        self.shrink_if_sparse();
        Some(item)
    }

    /// [`Table::remove`] without resizing or rehashing (see [`Table::insert_fixed`]).
    pub fn remove_fixed(&mut self, key: &[u8]) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let mut link = self.home_mut(hash(key));
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

    /// Starts a resize to suit the number of elements, after a period of
    /// [`Table::insert_fixed`] and [`Table::remove_fixed`] (unless one is in progress:
    /// then when it ends).
    pub fn fit(&mut self) {
        if let Some(n) = self.fit_size() {
            self.start_resize(n);
        }
    }

    /// The bucket count [`Table::fit`] would start a resize to now, if any: the next
    /// power of two above the elements (at least double) when it holds more than its
    /// buckets, that of the elements when it is less than a tenth full.
    pub fn fit_size(&self) -> Option<usize> {
        let n = self.buckets.len();
        if self.is_rehashing() {
            None
        } else if self.len > n {
            Some(
                (self.len + 1)
                    .next_power_of_two()
                    .max(n * 2)
                    .max(MIN_BUCKETS),
            )
        } else if n > MIN_BUCKETS && self.len * 10 < n {
            Some(self.len.next_power_of_two().max(MIN_BUCKETS))
        } else {
            None
        }
    }

    /// [`Table::fit`] into `spare` if it is the size the resize wants (else it allocates
    /// its own array, as `fit` does).
    pub fn fit_into(&mut self, spare: Option<Buckets<T>>) {
        match (self.fit_size(), spare) {
            (Some(n), Some(spare)) if spare.0.len() == n => self.start_resize_into(spare.0),
            _ => self.fit(),
        }
    }

    /// The bucket count the next [`Table::insert_new`] that finds the table full will
    /// grow it to (while no rehash runs).
    pub fn grow_size(&self) -> Option<usize> {
        (!self.is_rehashing()).then(|| (self.buckets.len() * 2).max(MIN_BUCKETS))
    }

    /// When the next [`Table::insert_new`] would grow the table, starts that growth into
    /// `spare` instead of a new array, if it is the size the growth wants; else gives
    /// `spare` back.
    pub fn grow_into(&mut self, spare: Buckets<T>) -> Option<Buckets<T>> {
        let due = !self.is_rehashing() && self.len >= self.buckets.len();
        if due && spare.0.len() == self.grow_target() {
            self.start_resize_into(spare.0);
            None
        } else {
            Some(spare)
        }
    }

    /// Starts growing to the next power of two above the number of elements (at least
    /// double: one more than a full table).
    fn grow(&mut self) {
        self.start_resize(self.grow_target());
    }

    fn grow_target(&self) -> usize {
        let n = (self.len + 1).next_power_of_two();
        n.max(self.buckets.len() * 2).max(MIN_BUCKETS)
    }

    /// Moves up to `n` non-empty buckets of a rehash in progress (and looks at no more
    /// than `10 * n` empty ones). Returns whether work is left: of this rehash, or of
    /// the next one, which starts when this one ends if the size still does not suit
    /// (elements added during a snapshot can outgrow the new array).
    pub fn rehash(&mut self, n: usize) -> bool {
        let Some(room) = self.rehash.room() else {
            return false;
        };
        let Some(r) = room.as_deref_mut() else {
            return false;
        };
        if !move_buckets(r, &mut self.buckets, n) {
            return true;
        }
        *room = None;
        self.fit();
        self.is_rehashing()
    }

    /// Completes every rehash in progress at once.
    fn finish_rehash(&mut self) {
        while self.rehash(usize::MAX) {}
    }

    /// The position of the chain `key` is (or would be put) in, `None` while the table
    /// has no buckets. Positions count the old array's buckets first while a rehash
    /// runs; they hold still as long as only the `_fixed` methods change the table.
    pub fn bucket_of(&self, key: &[u8]) -> Option<usize> {
        (!self.buckets.is_empty()).then(|| self.position(hash(key)))
    }

    /// Visits whole chains in increasing position order from position `from`, until at
    /// least `budget` elements were visited or the last position was. Returns the next
    /// position to visit ([`Table::buckets`] once the walk is complete).
    pub fn visit_buckets(&self, from: usize, budget: usize, mut visit: impl FnMut(&T)) -> usize {
        let mut visited = 0;
        let mut p = from;
        let end = self.buckets();
        while p < end && visited < budget {
            for item in chain(self.slot(p)) {
                visit(item);
                visited += 1;
            }
            p += 1;
        }
        p.max(from)
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        unlink_all(&mut self.buckets);
        self.buckets = Box::default();
        self.rehash = R::default();
        self.len = 0;
    }

    /// Takes every element out, leaving the table empty: what is not taken is freed
    /// when the iterator is dropped.
    pub fn drain(&mut self) -> Drain<T> {
        let mut links = Vec::from(std::mem::take(&mut self.buckets));
        if let Some(Some(mut r)) = self.rehash.room().map(Option::take) {
            links.extend(Vec::from(std::mem::take(&mut r.old)));
        }
        self.len = 0;
        Drain { links, cur: None }
    }

    /// Every element, in position order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        let old = self.rehash.current().map_or(&[][..], |r| &r.old[r.next..]);
        old.iter().chain(self.buckets.iter()).flat_map(chain)
    }

    /// Visits the buckets at `cursor` and returns the next cursor (0 when the walk is
    /// complete), exactly as Redis's `dictScan` does: one bucket, or while a rehash runs,
    /// the smaller array's bucket and every bucket of the larger one it expands to.
    /// Start with 0.
    pub fn scan<'a>(&'a self, cursor: u64, mut visit: impl FnMut(&'a T)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        // Increment the reversed cursor: set the bits above `mask`, reverse, add one,
        // reverse back.
        let advance = |v: u64, mask: u64| (v | !mask).reverse_bits().wrapping_add(1).reverse_bits();
        let Some(r) = self.rehash.current() else {
            let mask = (self.buckets.len() - 1) as u64;
            chain(&self.buckets[(cursor & mask) as usize]).for_each(&mut visit);
            return advance(cursor, mask);
        };
        let (small, large) = if r.old.len() <= self.buckets.len() {
            (&r.old, &self.buckets)
        } else {
            (&self.buckets, &r.old)
        };
        let (m0, m1) = ((small.len() - 1) as u64, (large.len() - 1) as u64);
        let mut v = cursor;
        chain(&small[(v & m0) as usize]).for_each(&mut visit);
        // The larger array's buckets whose low bits are the smaller one's bucket, then
        // on to the next bucket of the smaller array.
        loop {
            chain(&large[(v & m1) as usize]).for_each(&mut visit);
            v = advance(v, m1);
            if v & (m0 ^ m1) == 0 {
                return v;
            }
        }
    }

    /// One call of SCAN over the table, as Redis's `scanGenericCommand` loops on
    /// `dictScan`: visits buckets from `cursor` on until at least `count` elements were
    /// visited, the walk is complete, or `count * 10` more buckets were looked at (so a
    /// sparse table cannot make one call walk it all). Returns the next cursor, 0 when
    /// the walk is complete.
    ///
    /// The guarantee of [`Table::scan`] carries over: across calls, with any inserts,
    /// removals, resizes and rehash steps in between, every element present for the
    /// whole walk is visited at least once.
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

    /// A random position in `[lo, end)`: `lo + draw % (end - lo)`. Without a rehash the
    /// range is the one power-of-two array, and this is `draw & mask`.
    fn draw_position(rng: &mut Rng, (lo, end): (usize, usize)) -> usize {
        lo + (rng.next_u64() % (end - lo) as u64) as usize
    }

    /// A random element, as Redis's `dictGetRandomKey`: a random non-empty bucket (of
    /// either array while a rehash runs), then a random element of its chain. Elements
    /// in long chains are less likely; see [`Table::random_fair`].
    pub fn random(&self, rng: &mut Rng) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        let live = self.live_positions();
        // The table is never less than a tenth full (it shrinks first), so this takes
        // about ten draws at worst (a few more while a shrink runs).
        let p = loop {
            let p = Self::draw_position(rng, live);
            if self.slot(p).is_some() {
                break p;
            }
        };
        let len = chain(self.slot(p)).count() as u64;
        chain(self.slot(p)).nth(rng.below(len) as usize)
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
        let live = self.live_positions();
        let mut p = Self::draw_position(rng, live);
        let mut empty_run = 0usize;
        for _ in 0..count * 10 {
            if self.slot(p).is_none() {
                empty_run += 1;
                if empty_run >= 5 && empty_run > count {
                    p = Self::draw_position(rng, live);
                    empty_run = 0;
                }
            } else {
                empty_run = 0;
                for item in chain(self.slot(p)) {
                    out.push(item);
                    if out.len() == count {
                        return out;
                    }
                }
            }
            p = if p + 1 == live.1 { live.0 } else { p + 1 };
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

    /// Starts halving the bucket array while it is less than a tenth full, as Redis's
    /// `htNeedsResize` does, so mass deletion gives memory back.
    fn shrink_if_sparse(&mut self) {
        let n = self.buckets.len();
        if !self.is_rehashing() && n > MIN_BUCKETS && self.len * 10 < n {
            self.start_resize((self.len.next_power_of_two()).max(MIN_BUCKETS));
        }
    }

    /// Starts moving to a new array of `n` buckets (a power of two), and for a table that
    /// resizes at once, finishes. No rehash may be in progress.
    fn start_resize(&mut self, n: usize) {
        self.start_resize_into(empty_links(n));
    }

    /// [`Table::start_resize`] into `new`, an empty array of a power of two buckets.
    fn start_resize_into(&mut self, new: Box<[Link<T>]>) {
        let old = std::mem::replace(&mut self.buckets, new);
        if self.len == 0 {
            return;
        }
        let mut r = Rehash { old, next: 0 };
        match self.rehash.room() {
            Some(room) => *room = Some(Box::new(r)),
            None => {
                move_buckets(&mut r, &mut self.buckets, usize::MAX);
            }
        }
    }
}

/// The elements [`Table::drain`] took out.
pub struct Drain<T> {
    links: Vec<Link<T>>,
    /// The rest of the chain being taken apart.
    cur: Link<T>,
}

impl<T> Iterator for Drain<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(mut node) = self.cur.take() {
                self.cur = node.next.take();
                return Some(node.item);
            }
            self.cur = self.links.pop()?;
        }
    }
}

impl<T> Drop for Drain<T> {
    fn drop(&mut self) {
        unlink_all(std::slice::from_mut(&mut self.cur));
        unlink_all(&mut self.links);
    }
}

impl<T, R> Drop for Table<T, R> {
    fn drop(&mut self) {
        // A rehash's old array unlinks itself.
        unlink_all(&mut self.buckets);
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
    fn a_big_empty_bucket_array_is_not_resident_until_written() {
        // 256 MB of buckets: above glibc's largest mmap threshold (32 MB), so fresh
        // pages of the kernel's, which a zeroed allocation leaves untouched. (Big, so
        // that what the tests running alongside allocate stays within the margin.)
        let n = 1 << 25;
        let rss = || crate::command::info::rss_bytes() as usize;
        let before = rss();
        let spare: Buckets<Item> = Buckets::new(n);
        let after = rss();
        assert_eq!(spare.len(), n);
        assert!(spare.0.iter().all(Option::is_none));
        if cfg!(target_os = "linux") {
            // Other tests allocate meanwhile: half the array is the margin.
            assert!(
                after.saturating_sub(before) < n * 8 / 2,
                "{} KB resident for a new array of {} KB",
                after.saturating_sub(before) / 1024,
                n * 8 / 1024
            );
        }
    }

    #[test]
    fn a_full_table_grows_into_a_spare_of_the_right_size_only() {
        let mut t: Table<Item, Incremental<Item>> = Table::default();
        for i in 0..64 {
            t.insert_new(Item(key(i), i));
        }
        while t.rehash(usize::MAX) {}
        assert_eq!((t.len(), t.buckets()), (64, 64));
        assert_eq!(t.grow_size(), Some(128));
        // Not full yet with 63: the spare comes back; the wrong size comes back too.
        t.remove(&key(63));
        assert!(t.grow_into(Buckets::new(128)).is_some());
        t.insert_new(Item(key(63), 63));
        assert!(t.grow_into(Buckets::new(256)).is_some());
        assert!(!t.is_rehashing());
        // Full: the growth starts into the spare, and every key stays found.
        assert!(t.grow_into(Buckets::new(128)).is_none());
        assert!(t.is_rehashing());
        assert_eq!(t.grow_size(), None);
        t.insert_new(Item(key(64), 64));
        while t.rehash(usize::MAX) {}
        assert_eq!(t.buckets(), 128);
        for i in 0..=64 {
            assert_eq!(t.get(&key(i)).map(|it| it.1), Some(i));
        }
    }

    #[test]
    fn prefetch_reads_both_arrays_of_a_rehash_and_changes_nothing() {
        let mut t: Table<Item, Incremental<Item>> = Table::default();
        t.prefetch(&[key_hash(b"none yet")]);
        for i in 0..64 {
            t.insert_new(Item(key(i), i));
        }
        while t.rehash(usize::MAX) {}
        // Mid-rehash: some keys in the old array, some in the new one.
        assert!(t.grow_into(Buckets::new(128)).is_none());
        t.rehash(8);
        assert!(t.is_rehashing());
        // Present and missing keys, more than one call takes.
        let keys: Vec<Vec<u8>> = (0..2 * PREFETCH_MAX as u32).map(|i| key(i * 3)).collect();
        let hashes: Vec<usize> = keys.iter().map(|k| key_hash(k)).collect();
        t.prefetch(&hashes);
        assert_eq!(t.len(), 64);
        for i in 0..64 {
            assert_eq!(t.get(&key(i)).map(|it| it.1), Some(i));
        }
        assert!(t.get(&key(64)).is_none());
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

    #[test]
    fn insert_or_replace_adds_or_swaps_in_place() {
        // The 1025th insertion starts a rehash to 2048 buckets.
        const N: u32 = 1025;
        let mut t: Table<Item, Incremental<Item>> = Table::default();
        let mut replaced = None;
        for i in 0..N {
            t.insert_or_replace(Item(key(i), i), &mut replaced);
            assert!(replaced.is_none(), "key {i} is new");
        }
        // Incremental: the replacements below find keys in either array of a rehash.
        assert!(t.is_rehashing());
        assert_eq!(t.len(), N as usize);
        for i in (0..N).step_by(3) {
            let now = t.insert_or_replace(Item(key(i), i + 5000), &mut replaced);
            assert_eq!(now.1, i + 5000);
            assert_eq!(replaced.take(), Some(Item(key(i), i)), "key {i}");
        }
        assert_eq!(t.len(), N as usize, "replacing adds nothing");
        for i in 0..N {
            let want = if i % 3 == 0 { i + 5000 } else { i };
            assert_eq!(t.get(&key(i)).unwrap().1, want);
        }
        assert_eq!(t.iter().count(), N as usize);
        // Each key once in a full walk of the buckets.
        let keys: HashSet<Vec<u8>> = t.iter().map(|item| item.0.clone()).collect();
        assert_eq!(keys.len(), N as usize);
    }

    #[test]
    fn insert_or_replace_walks_long_chains() {
        // After a period of `insert_fixed` (chains of 16 on average), the first call
        // resizes; then every key is found, whatever its place in its chain.
        let mut t = Table::new();
        for i in 0..64 {
            t.insert_fixed(Item(key(i), i));
        }
        assert_eq!(t.buckets(), MIN_BUCKETS);
        let mut replaced = None;
        for i in 0..64 {
            t.insert_or_replace(Item(key(i), i + 100), &mut replaced);
            assert_eq!(replaced.take(), Some(Item(key(i), i)));
        }
        assert_eq!(t.len(), 64);
        assert!((0..64).all(|i| t.get(&key(i)).unwrap().1 == i + 100));
    }

    #[test]
    fn a_found_slot_leads_to_its_element_in_long_chains_and_mid_rehash() {
        // Chains of 16 on average, then a rehash in progress: every slot must reach the
        // element `find` matched, in whichever array its chain is.
        let mut t: Table<Item, Incremental<Item>> = Table::default();
        for i in 0..64 {
            t.insert_fixed(Item(key(i), i));
        }
        t.fit();
        t.rehash(1);
        assert!(t.is_rehashing());
        for i in 0..64 {
            let k = key(i);
            let slot = t.find(KeyHash::of(&k), &k).expect("every key is there");
            assert_eq!(t.at(slot), &Item(key(i), i));
            t.at_mut(slot).1 += 1000;
        }
        assert!((0..64).all(|i| t.get(&key(i)).unwrap().1 == i + 1000));
        assert!(t.find(KeyHash::of(&key(64)), &key(64)).is_none());
        // An insertion with the hash computed once lands where lookups look.
        let k = key(64);
        t.insert_new_hashed(KeyHash::of(&k), Item(k.clone(), 64));
        assert_eq!(t.get_hashed(KeyHash::of(&k), &k), Some(&Item(k, 64)));
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

    type Incr = Table<Item, Incremental<Item>>;

    /// An incremental table of keys `0..n`, caught in the middle of the rehash that the
    /// last insert started or advanced.
    fn rehashing(n: u32) -> Incr {
        let mut t = Incr::default();
        for i in 0..n {
            t.insert_new(Item(key(i), i));
        }
        assert!(t.is_rehashing(), "{n} keys leave a rehash running");
        t
    }

    #[test]
    fn an_incremental_table_finds_everything_while_it_rehashes() {
        let mut t = Incr::default();
        let mut seen_rehashing = 0;
        for i in 0..5000 {
            t.insert_new(Item(key(i), i));
            if t.is_rehashing() {
                seen_rehashing += 1;
                // Mid-rehash, every element is where lookups look.
                for j in (0..=i).step_by(97) {
                    assert_eq!(t.get(&key(j)).map(|x| x.1), Some(j));
                }
            }
        }
        assert!(seen_rehashing > 1000, "grew in steps: {seen_rehashing}");
        // Each insert moves at least one bucket: a growth is over before the next one.
        assert!(t.buckets() <= 4096 + 8192, "{}", t.buckets());
        assert_eq!(t.iter().count(), 5000);
        t.get_mut(&key(7)).unwrap().1 = 70;
        assert_eq!(t.get(&key(7)).unwrap().1, 70);
        for i in 0..5000 {
            assert_eq!(
                t.remove(&key(i)).map(|x| x.1),
                Some(if i == 7 { 70 } else { i })
            );
            assert!(t.get(&key(i)).is_none());
        }
        assert!(t.remove(&key(0)).is_none());
        assert!(t.is_empty());
        while t.rehash(100) {}
        assert!(t.buckets() <= MIN_BUCKETS, "shrinks back: {}", t.buckets());
    }

    #[test]
    fn rehash_steps_are_bounded_and_finish() {
        let mut t = rehashing(600);
        // 600 keys: the growth from 512 to 1024 buckets started at the 513th insert.
        assert_eq!(t.buckets(), 512 + 1024);
        let old_before = t.rehash.current().unwrap().next;
        t.rehash(1);
        let moved = t.rehash.current().unwrap().next - old_before;
        assert!(
            (1..=11).contains(&moved),
            "one bucket, up to ten empty: {moved}"
        );
        let mut calls = 0;
        while t.rehash(10) {
            calls += 1;
        }
        assert!(calls <= 512 / 10 + 1, "{calls}");
        assert_eq!(t.buckets(), 1024);
        assert!(!t.is_rehashing());
        for i in 0..600 {
            assert_eq!(t.get(&key(i)).unwrap().1, i);
        }
    }

    #[test]
    fn scan_keeps_its_guarantee_during_incremental_rehashes() {
        // Growths and shrinks start and advance between the scan's calls, and the
        // calls themselves land mid-rehash.
        let mut t = rehashing(1100);
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0u32;
        let mut rehashing_calls = 0;
        loop {
            if t.is_rehashing() {
                rehashing_calls += 1;
            }
            cursor = t.scan(cursor, |item| {
                seen.insert(item.0.clone());
            });
            if cursor == 0 {
                break;
            }
            if step < 600 {
                if step.is_multiple_of(3) {
                    for j in 0..40 {
                        t.remove(&key(1000 + (step * 13 + j) % 1000));
                    }
                } else {
                    for j in 0..30 {
                        let n = 10_000 + step * 30 + j;
                        t.insert_new(Item(key(n), n));
                    }
                }
            }
            step += 1;
        }
        assert!(rehashing_calls > 100, "{rehashing_calls}");
        for i in 0..1000 {
            assert!(
                seen.contains(&key(i)),
                "key {i} present throughout but missed"
            );
        }
    }

    #[test]
    fn scan_of_a_table_frozen_mid_rehash_visits_everything_once() {
        for n in [600, 3000] {
            let t = rehashing(n);
            let mut seen = Vec::new();
            let mut cursor = 0;
            loop {
                cursor = t.scan(cursor, |item| seen.push(item.1));
                if cursor == 0 {
                    break;
                }
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>());
        }
        // And a shrink in progress.
        let mut t = rehashing(3000);
        while t.rehash(100) {}
        for i in 100..3000 {
            t.remove(&key(i));
        }
        assert!(t.is_rehashing());
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = t.scan(cursor, |item| assert!(seen.insert(item.1)));
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, (0..100).collect());
    }

    #[test]
    fn random_and_sample_draw_from_both_arrays_while_rehashing() {
        let t = rehashing(600);
        let r = t.rehash.current().unwrap();
        let in_old = |i: u32| hash(&key(i)) & (r.old.len() - 1) >= r.next;
        assert!((0..600).any(in_old) && !(0..600).all(in_old));
        let mut rng = Rng::new(3);
        let (mut old_hits, mut new_hits) = (0, 0);
        for _ in 0..2000 {
            let item = t.random(&mut rng).unwrap();
            assert_eq!(t.get(&item.0).unwrap().1, item.1);
            if in_old(item.1) {
                old_hits += 1;
            } else {
                new_hits += 1;
            }
        }
        assert!(old_hits > 100 && new_hits > 100, "{old_hits} {new_hits}");
        // A sample may repeat an element here (as Redis's `dictGetSomeKeys` may): after
        // a run of empty buckets in the sparse new array it jumps, maybe back.
        let mut drawn = HashSet::new();
        for _ in 0..200 {
            let s = t.sample(&mut rng, 15);
            assert!(s.len() <= 15);
            for item in s {
                assert_eq!(t.get(&item.0).unwrap().1, item.1);
                drawn.insert(item.1);
            }
        }
        assert!(drawn.iter().any(|&i| in_old(i)) && drawn.iter().any(|&i| !in_old(i)));
    }

    #[test]
    fn fixed_mode_mid_rehash_keeps_positions_and_visits_all() {
        let mut t = rehashing(600);
        let next = t.rehash.current().unwrap().next;
        let before: Vec<usize> = (0..600).map(|i| t.bucket_of(&key(i)).unwrap()).collect();
        for i in 600..3000 {
            t.insert_fixed(Item(key(i), i));
        }
        for i in 0..50 {
            t.remove_fixed(&key(i));
        }
        assert_eq!(t.rehash.current().unwrap().next, next, "no rehash steps");
        for i in 50..600 {
            assert_eq!(t.bucket_of(&key(i)), Some(before[i as usize]));
        }
        // A walk by positions meets each element once, in the position it reports.
        // With a budget of 1, each call ends after one non-empty chain.
        let mut seen = HashSet::new();
        let mut p = 0;
        while p < t.buckets() {
            let mut got = Vec::new();
            p = t.visit_buckets(p, 1, |item| got.push(item.1));
            for i in got {
                assert_eq!(t.bucket_of(&key(i)), Some(p - 1));
                assert!(seen.insert(i));
            }
        }
        assert_eq!(seen, (50..3000).collect());
        t.fit();
        while t.rehash(100) {}
        assert_eq!(t.buckets(), 4096);
        for i in 50..3000 {
            assert_eq!(t.get(&key(i)).unwrap().1, i);
        }
    }

    #[test]
    fn the_keyspace_table_is_four_words_and_nested_tables_stay_three() {
        assert_eq!(std::mem::size_of::<Table<Item, Incremental<Item>>>(), 32);
        assert_eq!(std::mem::size_of::<Table<Item>>(), 24);
    }

    #[test]
    fn fit_into_uses_an_array_of_the_right_size_only() {
        for (n, removed) in [(100u32, 0u32), (1000, 990)] {
            let fixed = || {
                let mut t = Table::new();
                for i in 0..n {
                    t.insert_new(Item(key(i), i));
                }
                for i in n..n * 3 {
                    t.insert_fixed(Item(key(i), i));
                }
                for i in 0..removed * 3 {
                    t.remove_fixed(&key(i));
                }
                t
            };
            let mut plain = fixed();
            let want = plain.fit_size().expect("the table wants a resize");
            plain.fit();
            let mut right = fixed();
            right.fit_into(Some(Buckets::new(want)));
            let mut wrong = fixed();
            wrong.fit_into(Some(Buckets::new(want * 2)));
            for t in [&right, &wrong] {
                assert_eq!(t.buckets(), plain.buckets());
                assert_eq!(t.fit_size(), None);
                for i in removed * 3..n * 3 {
                    assert_eq!(t.get(&key(i)).map(|x| x.1), Some(i));
                }
            }
        }
    }

    #[test]
    fn drain_takes_every_element_once_even_mid_rehash() {
        let mut t = rehashing(3000);
        let mut got: Vec<u32> = t.drain().map(|item| item.1).collect();
        got.sort_unstable();
        assert_eq!(got, (0..3000).collect::<Vec<_>>());
        assert!(t.is_empty() && !t.is_rehashing() && t.get(&key(1)).is_none());
        // A drain dropped half way frees the rest, and the table is usable again.
        let mut t = rehashing(600);
        assert_eq!(t.drain().take(10).count(), 10);
        assert!(t.is_empty());
        t.insert_new(Item(key(1), 1));
        assert_eq!(t.get(&key(1)).map(|x| x.1), Some(1));
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
