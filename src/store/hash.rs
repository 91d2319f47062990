//! The hash type, in Redis 7.0's two encodings (t_hash.c).
//!
//! - **listpack** while the hash has at most `hash-max-listpack-entries` fields and every
//!   field and value is at most `hash-max-listpack-value` bytes: a vector of pairs
//!   searched linearly, as Redis walks its listpack. It keeps insertion order (an update
//!   keeps its place, a delete keeps the others' order), so HGETALL, HKEYS and HVALS of
//!   a small hash answer in the same order as Redis.
//! - **hashtable** past either limit: a [`Table`], O(1) per operation, whose
//!   reverse-binary cursor HSCAN walks.
//!
//! The conversion is one way, as in Redis: a hash that shrinks stays a hashtable. Each
//! field shares one allocation with its value ([`Pair`]).

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

/// The two encodings.
#[derive(Debug)]
enum Repr {
    Listpack(Vec<Pair>),
    Table(Table<Pair>),
}

/// A hash of fields to values.
#[derive(Debug)]
pub struct Hash {
    repr: Repr,
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
            Repr::Listpack(pairs) => Repr::Listpack(pairs.clone()),
            Repr::Table(table) => {
                let mut copy = Table::new();
                for pair in table.iter() {
                    copy.insert_new(pair.clone());
                }
                Repr::Table(copy)
            }
        };
        Hash { repr }
    }
}

impl PartialEq for Hash {
    /// The same encoding and the same pairs; in the same order for a listpack, where the
    /// order is visible.
    fn eq(&self, other: &Hash) -> bool {
        match (&self.repr, &other.repr) {
            (Repr::Listpack(a), Repr::Listpack(b)) => a == b,
            (Repr::Table(a), Repr::Table(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|p| b.get(p.field()).is_some_and(|q| q.value() == p.value()))
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
            Repr::Listpack(pairs) => {
                alloc(pairs.capacity() * std::mem::size_of::<Pair>())
                    + sampled(
                        pairs.len(),
                        samples,
                        pairs.iter().map(|p| alloc(p.bytes.len())),
                    )
            }
            Repr::Table(table) => {
                table.heap_bytes()
                    + sampled(
                        table.len(),
                        samples,
                        table.first(samples).map(|p| alloc(p.bytes.len())),
                    )
            }
        }
    }

    /// An empty hash (a listpack, as Redis's `createHashObject`).
    pub fn new() -> Hash {
        Hash {
            repr: Repr::Listpack(Vec::new()),
        }
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(pairs) => pairs.len(),
            Repr::Table(table) => table.len(),
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
            Repr::Listpack(pairs) => (Some(pairs.iter()), None),
            Repr::Table(table) => (None, Some(table.iter())),
        };
        list.into_iter()
            .flatten()
            .chain(table.into_iter().flatten())
            .map(Pair::both)
    }

    fn find(&self, field: &[u8]) -> Option<&Pair> {
        match &self.repr {
            Repr::Listpack(pairs) => pairs.iter().find(|p| p.field() == field),
            Repr::Table(table) => table.get(field),
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field).map(Pair::value)
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.find(field).is_some()
    }

    /// Sets a field, converting to a hashtable first if the field or the value is too
    /// long for a listpack, and after if the hash now has too many fields (Redis's
    /// `hashTypeSet`). Returns true if the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8], limits: &Limits) -> bool {
        if field.len() > limits.hash_value || value.len() > limits.hash_value {
            self.convert();
        }
        let new = match &mut self.repr {
            Repr::Listpack(pairs) => match pairs.iter_mut().find(|p| p.field() == field) {
                Some(pair) => {
                    pair.set_value(value);
                    false
                }
                None => {
                    pairs.push(Pair::new(field, value));
                    true
                }
            },
            Repr::Table(table) => match table.get_mut(field) {
                Some(pair) => {
                    pair.set_value(value);
                    false
                }
                None => {
                    table.insert_new(Pair::new(field, value));
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
            Repr::Listpack(pairs) => match pairs.iter().position(|p| p.field() == field) {
                Some(i) => {
                    pairs.remove(i);
                    true
                }
                None => false,
            },
            Repr::Table(table) => table.remove(field).is_some(),
        }
    }

    /// Turns a listpack into a hashtable (nothing to do for a hashtable).
    fn convert(&mut self) {
        if let Repr::Listpack(pairs) = &mut self.repr {
            let mut table = Table::new();
            for pair in pairs.drain(..) {
                table.insert_new(pair);
            }
            self.repr = Repr::Table(table);
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
            Repr::Listpack(pairs) => {
                for pair in pairs {
                    let (f, v) = pair.both();
                    visit(f, v);
                }
                0
            }
            Repr::Table(table) => table.scan_count(cursor, count, |pair| {
                let (f, v) = pair.both();
                visit(f, v)
            }),
        }
    }

    /// A random pair: uniform for a listpack (`lpRandomPair`), nearly so for a hashtable
    /// ([`Table::random_fair`]). `None` when empty.
    pub fn random_pair(&self, rng: &mut Rng) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Listpack(pairs) if pairs.is_empty() => None,
            Repr::Listpack(pairs) => Some(pairs[rng.below(pairs.len() as u64) as usize].both()),
            Repr::Table(table) => table.random_fair(rng).map(Pair::both),
        }
    }

    /// `count` distinct random pairs (`count` < [`Hash::len`]), as HRANDFIELD picks them:
    /// from a listpack, in the listpack's order (`lpRandomPairsUnique`); from a
    /// hashtable, by removing random pairs from a copy of the whole when `count` is more
    /// than a third of the hash, else by drawing until `count` distinct ones came up.
    pub fn random_distinct(&self, rng: &mut Rng, count: usize) -> Vec<(&[u8], &[u8])> {
        let count = count.min(self.len());
        match &self.repr {
            Repr::Listpack(pairs) => {
                // Selection sampling (Knuth's algorithm S): each pair is taken with
                // probability needed / remaining.
                let mut out = Vec::with_capacity(count);
                for (i, pair) in pairs.iter().enumerate() {
                    let remaining = (pairs.len() - i) as u64;
                    if rng.below(remaining) < (count - out.len()) as u64 {
                        out.push(pair.both());
                    }
                }
                out
            }
            Repr::Table(table) if count * 3 > table.len() => {
                let mut all: Vec<_> = table.iter().map(Pair::both).collect();
                while all.len() > count {
                    let i = rng.below(all.len() as u64) as usize;
                    all.swap_remove(i);
                }
                all
            }
            Repr::Table(table) => {
                let mut seen = std::collections::HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let Some(pair) = table.random_fair(rng) else {
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
