//! The hash type, in Redis 7.0's two encodings (t_hash.c).
//!
//! - **listpack** while the hash has at most `hash-max-listpack-entries` fields and every
//!   field and value is at most `hash-max-listpack-value` bytes: one [`Packed`] buffer of
//!   `[varint length][field][varint length][value]` entries searched linearly, as Redis
//!   walks its listpack. It keeps insertion order (an update keeps its place, a delete
//!   keeps the others' order), so HGETALL, HKEYS and HVALS of a small hash answer in the
//!   same order as Redis. The buffer also holds the key of the keyspace entry (see
//!   [`Packed`]), so a small hash and its key are a single allocation.
//! - **hashtable** past either limit: a [`Table`], O(1) per operation, whose
//!   reverse-binary cursor HSCAN walks.
//!
//! The conversion is one way, as in Redis: a hash that shrinks stays a hashtable. In a
//! hashtable each field shares one allocation with its value ([`Pair`]).

use super::packed::{get_bytes, put_bytes, Packed};
use super::table::{Keyed, Table};
use super::value::Limits;
use crate::util::rand::Rng;

/// One field and its value, in one allocation: the field's bytes, then the value's.
#[derive(Clone, PartialEq, Eq)]
struct Pair {
    bytes: Box<[u8]>,
    field_len: usize,
}

impl Pair {
    fn new(field: &[u8], value: &[u8]) -> Pair {
        let mut bytes = Vec::with_capacity(field.len() + value.len());
        bytes.extend_from_slice(field);
        bytes.extend_from_slice(value);
        Pair {
            bytes: bytes.into_boxed_slice(),
            field_len: field.len(),
        }
    }

    fn field(&self) -> &[u8] {
        &self.bytes[..self.field_len]
    }

    fn value(&self) -> &[u8] {
        &self.bytes[self.field_len..]
    }

    fn both(&self) -> (&[u8], &[u8]) {
        self.bytes.split_at(self.field_len)
    }

    /// Replaces the value, reusing the allocation when the length stays the same
    /// (HINCRBY's common case).
    fn set_value(&mut self, value: &[u8]) {
        if value.len() == self.bytes.len() - self.field_len {
            self.bytes[self.field_len..].copy_from_slice(value);
        } else {
            *self = Pair::new(self.field(), value);
        }
    }
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (field, value) = self.both();
        write!(
            f,
            "{:?}: {:?}",
            String::from_utf8_lossy(field),
            String::from_utf8_lossy(value)
        )
    }
}

impl Keyed for Pair {
    fn key(&self) -> &[u8] {
        self.field()
    }
}

/// The pairs of a listpack body, in order.
struct LpIter<'a> {
    body: &'a [u8],
    at: usize,
}

/// Where one listpack pair sits in the body: the whole entry, and its value.
struct Slot {
    entry: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
}

impl<'a> LpIter<'a> {
    fn new(body: &'a [u8]) -> LpIter<'a> {
        LpIter { body, at: 0 }
    }

    /// The next pair and where it sits.
    fn next_slot(&mut self) -> Option<(&'a [u8], Slot)> {
        if self.at == self.body.len() {
            return None;
        }
        let start = self.at;
        let field = get_bytes(self.body, &mut self.at);
        let value = get_bytes(self.body, &mut self.at);
        let value_start = self.at - value.len();
        Some((
            field,
            Slot {
                entry: start..self.at,
                value: value_start..self.at,
            },
        ))
    }
}

impl<'a> Iterator for LpIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (field, slot) = self.next_slot()?;
        Some((field, &self.body[slot.value]))
    }
}

/// Where `field` sits in a listpack body.
fn lp_find(body: &[u8], field: &[u8]) -> Option<Slot> {
    let mut walk = LpIter::new(body);
    while let Some((f, slot)) = walk.next_slot() {
        if f == field {
            return Some(slot);
        }
    }
    None
}

/// A listpack entry's bytes.
fn lp_entry(field: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len() + value.len() + 4);
    put_bytes(&mut out, field);
    put_bytes(&mut out, value);
    out
}

/// A hashtable and the key of the entry that holds it.
#[derive(Debug)]
struct Big {
    key: Box<[u8]>,
    table: Table<Pair>,
}

/// The two encodings.
enum Repr {
    Listpack(Packed),
    /// Boxed so that a hash (held inline in the keyspace entry) stays three words.
    Table(Box<Big>),
}

/// A hash of fields to values.
pub struct Hash {
    repr: Repr,
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pairs = self
            .iter()
            .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v)));
        f.debug_map().entries(pairs).finish()
    }
}

impl Default for Hash {
    fn default() -> Hash {
        Hash::new()
    }
}

impl Clone for Hash {
    /// A deep copy in the same encoding (Redis's `hashTypeDup`, for COPY).
    fn clone(&self) -> Hash {
        let repr = match &self.repr {
            Repr::Listpack(packed) => Repr::Listpack(packed.clone()),
            Repr::Table(big) => {
                let mut copy = Table::new();
                for pair in big.table.iter() {
                    copy.insert_new(pair.clone());
                }
                Repr::Table(Box::new(Big {
                    key: big.key.clone(),
                    table: copy,
                }))
            }
        };
        Hash { repr }
    }
}

impl PartialEq for Hash {
    /// The same encoding and the same pairs; in the same order for a listpack, where the
    /// order is visible. The keys they are stored under do not count.
    fn eq(&self, other: &Hash) -> bool {
        match (&self.repr, &other.repr) {
            (Repr::Listpack(a), Repr::Listpack(b)) => a.body() == b.body(),
            (Repr::Table(a), Repr::Table(b)) => {
                a.table.len() == b.table.len()
                    && a.table.iter().all(|p| {
                        b.table
                            .get(p.field())
                            .is_some_and(|q| q.value() == p.value())
                    })
            }
            _ => false,
        }
    }
}

impl Hash {
    /// The heap this hash holds, its pairs' costs estimated from `samples` of them (see
    /// [`crate::store::memory`]).
    pub fn heap_bytes(&self, samples: usize) -> usize {
        use crate::store::memory::{alloc, sampled};
        match &self.repr {
            // One buffer, the keyspace entry's key included.
            Repr::Listpack(packed) => alloc(packed.heap_bytes()),
            Repr::Table(big) => {
                let pairs = big.table.first(samples).map(|p| alloc(p.bytes.len()));
                alloc(std::mem::size_of::<Big>())
                    + alloc(big.key.len())
                    + big.table.heap_bytes()
                    + sampled(big.table.len(), samples, pairs)
            }
        }
    }

    /// An empty hash (a listpack, as Redis's `createHashObject`).
    pub fn new() -> Hash {
        Hash {
            repr: Repr::Listpack(Packed::new()),
        }
    }

    /// A hash of `items`, fields and values alternating (`None` for an odd count), built whole as loading a dump
    /// or RESTORE wants: when it fits a listpack, one exactly sized buffer with `key` in
    /// front (no insert-by-insert growth), else inserted one by one. The encoding is
    /// the one inserting the pairs in order gives. `None` if a field repeats.
    pub fn from_flat<B: AsRef<[u8]>>(key: &[u8], items: &[B], limits: &Limits) -> Option<Hash> {
        if !items.len().is_multiple_of(2) {
            return None;
        }
        let n = items.len() / 2;
        let fits =
            n <= limits.hash_entries && items.iter().all(|b| b.as_ref().len() <= limits.hash_value);
        if !fits {
            let mut h = Hash::new();
            for pair in items.chunks_exact(2) {
                if !h.insert(pair[0].as_ref(), pair[1].as_ref(), limits) {
                    return None;
                }
            }
            h.set_key(key);
            return Some(h);
        }
        let fields = || items.iter().step_by(2).map(AsRef::as_ref);
        if !super::packed::distinct(fields()) {
            return None;
        }
        let mut body = Vec::with_capacity(items.iter().map(|b| b.as_ref().len() + 2).sum());
        for b in items {
            put_bytes(&mut body, b.as_ref());
        }
        Some(Hash {
            repr: Repr::Listpack(Packed::from_parts(key, n, &body)),
        })
    }

    /// The key of the keyspace entry holding this hash (empty elsewhere).
    pub(super) fn key(&self) -> &[u8] {
        match &self.repr {
            Repr::Listpack(packed) => packed.key(),
            Repr::Table(big) => &big.key,
        }
    }

    /// Records the key of the keyspace entry that takes this hash.
    pub(super) fn set_key(&mut self, key: &[u8]) {
        match &mut self.repr {
            Repr::Listpack(packed) => packed.set_key(key),
            Repr::Table(big) => big.key = key.into(),
        }
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(packed) => packed.len(),
            Repr::Table(big) => big.table.len(),
        }
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding OBJECT ENCODING reports: `listpack` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Every (field, value), in the encoding's order: insertion order for a listpack,
    /// bucket order for a hashtable.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let (list, table) = match &self.repr {
            Repr::Listpack(packed) => (Some(LpIter::new(packed.body())), None),
            Repr::Table(big) => (None, Some(big.table.iter().map(Pair::both))),
        };
        list.into_iter()
            .flatten()
            .chain(table.into_iter().flatten())
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Listpack(packed) => {
                let body = packed.body();
                lp_find(body, field).map(|slot| &body[slot.value])
            }
            Repr::Table(big) => big.table.get(field).map(Pair::value),
        }
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets a field, converting to a hashtable first if the field or the value is too
    /// long for a listpack, and after if the hash now has too many fields (Redis's
    /// `hashTypeSet`). Returns true if the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8], limits: &Limits) -> bool {
        if field.len() > limits.hash_value || value.len() > limits.hash_value {
            self.convert();
        }
        let new = match &mut self.repr {
            Repr::Listpack(packed) => match lp_find(packed.body(), field) {
                Some(slot) => {
                    let count = packed.len();
                    if slot.value.len() == value.len() {
                        packed.body_mut()[slot.value].copy_from_slice(value);
                    } else {
                        packed.splice(slot.entry, &lp_entry(field, value), count);
                    }
                    false
                }
                None => {
                    packed.push(&lp_entry(field, value));
                    true
                }
            },
            Repr::Table(big) => match big.table.get_mut(field) {
                Some(pair) => {
                    pair.set_value(value);
                    false
                }
                None => {
                    big.table.insert_new(Pair::new(field, value));
                    true
                }
            },
        };
        if self.len() > limits.hash_entries {
            self.convert();
        }
        new
    }

    /// Removes a field. Returns true if it existed. A listpack keeps the others' order;
    /// the encoding never changes back.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(packed) => match lp_find(packed.body(), field) {
                Some(slot) => {
                    let count = packed.len() - 1;
                    packed.splice(slot.entry, b"", count);
                    true
                }
                None => false,
            },
            Repr::Table(big) => big.table.remove(field).is_some(),
        }
    }

    /// Turns a listpack into a hashtable (nothing to do for a hashtable).
    fn convert(&mut self) {
        if let Repr::Listpack(packed) = &self.repr {
            let mut table = Table::new();
            for (f, v) in LpIter::new(packed.body()) {
                table.insert_new(Pair::new(f, v));
            }
            let key = packed.key().into();
            self.repr = Repr::Table(Box::new(Big { key, table }));
        }
    }

    /// One HSCAN call: visits pairs from `cursor` on and returns the next cursor (0 when
    /// the walk is complete). A listpack is visited whole in one call, whatever the
    /// cursor and `count`; a hashtable as [`Table::scan_count`] walks it.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], &'a [u8]),
    ) -> u64 {
        match &self.repr {
            Repr::Listpack(packed) => {
                for (f, v) in LpIter::new(packed.body()) {
                    visit(f, v);
                }
                0
            }
            Repr::Table(big) => big.table.scan_count(cursor, count, |pair| {
                let (f, v) = pair.both();
                visit(f, v)
            }),
        }
    }

    /// A random pair: uniform for a listpack (`lpRandomPair`), nearly so for a hashtable
    /// ([`Table::random_fair`]). `None` when empty.
    pub fn random_pair(&self, rng: &mut Rng) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Listpack(packed) if packed.is_empty() => None,
            Repr::Listpack(packed) => {
                let i = rng.below(packed.len() as u64) as usize;
                LpIter::new(packed.body()).nth(i)
            }
            Repr::Table(big) => big.table.random_fair(rng).map(Pair::both),
        }
    }

    /// `count` distinct random pairs (`count` < [`Hash::len`]), as HRANDFIELD picks them:
    /// from a listpack, in the listpack's order (`lpRandomPairsUnique`); from a
    /// hashtable, by removing random pairs from a copy of the whole when `count` is more
    /// than a third of the hash, else by drawing until `count` distinct ones came up.
    pub fn random_distinct(&self, rng: &mut Rng, count: usize) -> Vec<(&[u8], &[u8])> {
        let count = count.min(self.len());
        match &self.repr {
            Repr::Listpack(packed) => {
                // Selection sampling (Knuth's algorithm S): each pair is taken with
                // probability needed / remaining.
                let len = packed.len();
                let mut out = Vec::with_capacity(count);
                for (i, pair) in LpIter::new(packed.body()).enumerate() {
                    let remaining = (len - i) as u64;
                    if rng.below(remaining) < (count - out.len()) as u64 {
                        out.push(pair);
                    }
                }
                out
            }
            Repr::Table(big) if count * 3 > big.table.len() => {
                let mut all: Vec<_> = big.table.iter().map(Pair::both).collect();
                while all.len() > count {
                    let i = rng.below(all.len() as u64) as usize;
                    all.swap_remove(i);
                }
                all
            }
            Repr::Table(big) => {
                let mut seen = std::collections::HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let Some(pair) = big.table.random_fair(rng) else {
                        break;
                    };
                    if seen.insert(pair.field()) {
                        out.push(pair.both());
                    }
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    fn limits(entries: usize, value: usize) -> Limits {
        Limits {
            hash_entries: entries,
            hash_value: value,
            ..Limits::default()
        }
    }

    fn fields(h: &Hash) -> Vec<Vec<u8>> {
        h.iter().map(|(f, _)| f.to_vec()).collect()
    }

    /// The hash inserting `items` pair by pair gives, under `key`.
    fn inserted(key: &[u8], items: &[&[u8]], l: &Limits) -> Option<Hash> {
        let mut h = Hash::new();
        for pair in items.chunks_exact(2) {
            if !h.insert(pair[0], pair[1], l) {
                return None;
            }
        }
        h.set_key(key);
        Some(h)
    }

    #[test]
    fn from_flat_builds_what_inserting_builds() {
        let long = [b'v'; 70];
        let cases: [(&[&[u8]], Limits); 5] = [
            (&[b"f0", b"v0", b"f1", b"", b"f2", b"12"], limits(128, 64)),
            (&[b"a", b"1", b"b", b"2", b"c", b"3"], limits(2, 64)),
            (&[b"a", b"1", b"b", &long], limits(128, 64)),
            (&[b"a", b"1"], limits(0, 64)),
            (&[], limits(128, 64)),
        ];
        for (items, l) in cases {
            let want = inserted(b"key", items, &l).expect("distinct");
            let got = Hash::from_flat(b"key", items, &l).expect("distinct");
            assert_eq!(got, want, "{items:?}");
            assert_eq!(got.encoding(), want.encoding(), "{items:?}");
            assert_eq!(got.key(), b"key");
            assert_eq!(fields(&got), fields(&want), "{items:?}");
        }
    }

    #[test]
    fn from_flat_refuses_a_repeated_field_and_an_odd_count() {
        let l = limits(128, 64);
        let many: Vec<Vec<u8>> = (0..40)
            .flat_map(|i| [format!("f{i}").into_bytes(), b"v".to_vec()])
            .collect();
        assert!(Hash::from_flat(b"k", &many, &l).is_some());
        for at in [0, 2, 78] {
            let mut dup = many.clone();
            dup[at] = b"f7".to_vec();
            assert!(Hash::from_flat(b"k", &dup, &l).is_none(), "repeat at {at}");
        }
        assert!(Hash::from_flat(b"k", &[b"a", b"1", b"a", b"2"], &l).is_none());
        assert!(Hash::from_flat(b"k", &[b"a", b"1", b"a", b"2"], &limits(1, 64)).is_none());
        assert!(Hash::from_flat(b"k", &[b"a", b"1", b"b"], &l).is_none());
    }

    #[test]
    fn a_listpack_keeps_insertion_order_through_updates_and_deletes() {
        let l = Limits::default();
        let mut h = Hash::new();
        assert!(h.is_empty());
        for f in ["c", "a", "b", "d"] {
            assert!(h.insert(f.as_bytes(), b"1", &l));
        }
        assert!(!h.insert(b"a", b"two", &l), "an update is not new");
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(fields(&h), [&b"c"[..], b"a", b"d"]);
        assert_eq!(h.get(b"a"), Some(&b"two"[..]));
        assert_eq!(h.get(b"b"), None);
        assert!(h.contains(b"d") && !h.contains(b""));
        assert_eq!((h.len(), h.encoding()), (3, "listpack"));
    }

    #[test]
    fn too_many_fields_convert_after_the_insert() {
        let l = limits(3, 64);
        let mut h = Hash::new();
        for i in 0..3 {
            h.insert(format!("f{i}").as_bytes(), b"v", &l);
        }
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"f0", b"again", &l);
        assert_eq!(h.encoding(), "listpack", "an update adds no field");
        h.insert(b"f3", b"v", &l);
        assert_eq!((h.encoding(), h.len()), ("hashtable", 4));
        for i in 0..4 {
            h.remove(format!("f{i}").as_bytes());
        }
        assert_eq!((h.encoding(), h.len()), ("hashtable", 0), "one way");
    }

    #[test]
    fn a_long_field_or_value_converts() {
        let l = limits(512, 4);
        let mut h = Hash::new();
        h.insert(b"abcd", b"1234", &l);
        assert_eq!(h.encoding(), "listpack", "the limit itself still fits");
        let mut g = h.clone();
        h.insert(b"abcde", b"", &l);
        assert_eq!(h.encoding(), "hashtable");
        g.insert(b"x", b"12345", &l);
        assert_eq!(g.encoding(), "hashtable");
        assert_eq!(g.get(b"abcd"), Some(&b"1234"[..]));
        // Even a zero limit takes a first pair, then converts (as Redis does).
        let mut z = Hash::new();
        z.insert(b"a", b"", &limits(0, 64));
        assert_eq!((z.encoding(), z.len()), ("hashtable", 1));
    }

    #[test]
    fn both_encodings_agree_with_a_naive_model() {
        let mut rng = Rng::new(99);
        for l in [Limits::default(), limits(16, 8), limits(0, 0)] {
            let mut h = Hash::new();
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            let mut order: Vec<Vec<u8>> = Vec::new();
            for _ in 0..5000 {
                let field = format!("f{}", rng.below(300)).into_bytes();
                let len = rng.below(12) as usize;
                let value = rng.bytes(len);
                if rng.below(3) == 0 {
                    assert_eq!(h.remove(&field), model.remove(&field).is_some());
                    order.retain(|f| *f != field);
                } else {
                    let new = model.insert(field.clone(), value.clone()).is_none();
                    assert_eq!(h.insert(&field, &value, &l), new);
                    if new {
                        order.push(field.clone());
                    }
                }
                assert_eq!(h.len(), model.len());
            }
            for (f, v) in &model {
                assert_eq!(h.get(f), Some(&v[..]));
            }
            let got: BTreeMap<Vec<u8>, Vec<u8>> =
                h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            assert_eq!(got, model);
            if h.encoding() == "listpack" {
                assert_eq!(fields(&h), order);
            }
            assert_eq!(h.clone(), h);
        }
    }

    #[test]
    fn scan_returns_a_listpack_whole_and_walks_a_hashtable() {
        let l = limits(8, 64);
        let mut h = Hash::new();
        for i in 0..5 {
            h.insert(format!("f{i}").as_bytes(), b"v", &l);
        }
        let mut seen = Vec::new();
        assert_eq!(h.scan(1234, 1, |f, _| seen.push(f.to_vec())), 0);
        assert_eq!(seen.len(), 5);
        for i in 5..1000 {
            h.insert(format!("f{i}").as_bytes(), b"v", &l);
        }
        let mut seen = HashSet::new();
        let (mut cursor, mut calls) = (0, 0);
        loop {
            cursor = h.scan(cursor, 10, |f, v| {
                assert_eq!(v, b"v");
                seen.insert(f.to_vec());
            });
            calls += 1;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        assert!(calls > 10, "{calls} calls");
    }

    #[test]
    fn random_picks_are_members_and_distinct_when_asked() {
        let mut rng = Rng::new(5);
        assert!(Hash::new().random_pair(&mut rng).is_none());
        for (n, l) in [(20, Limits::default()), (300, limits(16, 64))] {
            let mut h = Hash::new();
            for i in 0..n {
                h.insert(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), &l);
            }
            let mut reached = HashSet::new();
            for _ in 0..20 * n {
                let (f, v) = h.random_pair(&mut rng).unwrap();
                assert_eq!(h.get(f), Some(v));
                reached.insert(f.to_vec());
            }
            assert_eq!(reached.len(), n, "every field comes up");
            for count in [1, 2, n / 4, n / 2, n - 1] {
                let picks = h.random_distinct(&mut rng, count);
                assert_eq!(picks.len(), count);
                let distinct: HashSet<_> = picks.iter().map(|(f, _)| *f).collect();
                assert_eq!(distinct.len(), count);
                assert!(picks.iter().all(|(f, v)| h.get(f) == Some(*v)));
                if h.encoding() == "listpack" {
                    let pos = |f: &[u8]| h.iter().position(|(g, _)| g == f).unwrap();
                    assert!(picks.windows(2).all(|w| pos(w[0].0) < pos(w[1].0)));
                }
            }
        }
    }

    #[test]
    fn the_packed_buffer_agrees_with_a_vector_of_pairs() {
        // Long fields and values (two-byte lengths), updates that change a value's length
        // in the middle of the buffer, removals anywhere, all kept as a listpack.
        let l = limits(100, 1000);
        let mut rng = Rng::new(1234);
        let mut h = Hash::new();
        h.set_key(b"the key");
        let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for _ in 0..4000 {
            let field = format!("field-{}", rng.below(60)).into_bytes();
            let len = [0, 1, 127, 128, 300][rng.below(5) as usize];
            let value = rng.bytes(len);
            let at = model.iter().position(|(f, _)| *f == field);
            if rng.below(3) == 0 {
                assert_eq!(h.remove(&field), at.is_some());
                if let Some(i) = at {
                    model.remove(i);
                }
            } else {
                assert_eq!(h.insert(&field, &value, &l), at.is_none());
                match at {
                    Some(i) => model[i].1 = value,
                    None => model.push((field, value)),
                }
            }
            assert_eq!(h.len(), model.len());
        }
        assert_eq!(h.encoding(), "listpack");
        let got: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(got, model);
        for (f, v) in &model {
            assert_eq!(h.get(f), Some(&v[..]));
        }
        assert_eq!(h.key(), b"the key");
        let Repr::Listpack(packed) = &h.repr else {
            unreachable!("still a listpack")
        };
        let payload: usize = model.iter().map(|(f, v)| f.len() + v.len() + 4).sum();
        assert!(
            packed.heap_bytes() <= payload + 16,
            "the buffer stays tight"
        );
    }

    #[test]
    fn the_key_survives_the_conversion_and_does_not_count_for_equality() {
        let l = limits(2, 64);
        let mut h = Hash::new();
        h.set_key(b"k");
        let mut other = Hash::new();
        for f in ["a", "b", "c"] {
            h.insert(f.as_bytes(), b"1", &l);
            other.insert(f.as_bytes(), b"1", &l);
        }
        assert_eq!((h.encoding(), h.key()), ("hashtable", &b"k"[..]));
        assert_eq!(h, other);
        h.set_key(b"");
        assert_eq!(h.key(), b"");
    }

    #[test]
    fn equality_sees_order_only_in_a_listpack() {
        let l = Limits::default();
        let (mut a, mut b) = (Hash::new(), Hash::new());
        a.insert(b"x", b"1", &l);
        a.insert(b"y", b"2", &l);
        b.insert(b"y", b"2", &l);
        b.insert(b"x", b"1", &l);
        assert_ne!(a, b);
        let small = limits(1, 64);
        let (mut c, mut d) = (Hash::new(), Hash::new());
        for (f, v) in [("x", "1"), ("y", "2")] {
            c.insert(f.as_bytes(), v.as_bytes(), &small);
        }
        for (f, v) in [("y", "2"), ("x", "1")] {
            d.insert(f.as_bytes(), v.as_bytes(), &small);
        }
        assert_eq!(c, d);
        d.insert(b"x", b"other", &small);
        assert_ne!(c, d);
        assert_ne!(a, c, "different encodings");
    }
}
