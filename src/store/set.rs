//! The set type, with Redis 7.0's two encodings (`t_set.c`'s internal API).
//!
//! - **intset**: a sorted `Vec<i64>`, while every member is an integer as Redis's
//!   `string2ll` reads it ([`parse_i64`]: no `+`, no leading zeros, no `-0`) and there are
//!   at most `set-max-intset-entries` members. Iteration is ascending, which is why
//!   SMEMBERS of a small integer set comes back sorted in Redis. Lookups are binary
//!   searches, and inserts shift the vector: O(n) for n bounded by the limit, as Redis's
//!   intset is.
//! - **hashtable**: our [`Table`], so SSCAN gets Redis's reverse-binary cursor and SPOP
//!   and SRANDMEMBER get `dictGetFairRandomKey`-style draws; O(1) per operation.
//!
//! The conversion is one-way, as in Redis: a set that went to a hashtable stays one even
//! when only small integers remain. A set built afresh (the STORE commands' destination,
//! SPOP's rebuilt remainder, a loaded dump) starts as an intset again.

use std::borrow::Cow;

use super::table::{Keyed, Table};
use super::value::Limits;
use crate::util::num::{i64_to_bytes, parse_i64};
use crate::util::rand::Rng;

/// A member of a hashtable-encoded set.
#[derive(Debug)]
struct Member(Box<[u8]>);

impl Keyed for Member {
    fn key(&self) -> &[u8] {
        &self.0
    }
}

/// The two encodings.
#[derive(Debug)]
enum Repr {
    /// Sorted, distinct.
    Ints(Vec<i64>),
    Table(Table<Member>),
}

/// A set of distinct members.
#[derive(Debug)]
pub struct Set {
    repr: Repr,
}

impl Default for Set {
    fn default() -> Set {
        Set {
            repr: Repr::Ints(Vec::new()),
        }
    }
}

impl Clone for Set {
    /// A copy in the same encoding (Redis's `setTypeDup`, for COPY).
    fn clone(&self) -> Set {
        let repr = match &self.repr {
            Repr::Ints(v) => Repr::Ints(v.clone()),
            Repr::Table(t) => {
                let mut copy = Table::new();
                for m in t.iter() {
                    copy.insert_new(Member(m.0.clone()));
                }
                Repr::Table(copy)
            }
        };
        Set { repr }
    }
}

impl PartialEq for Set {
    /// The same encoding and the same members, in any order.
    fn eq(&self, other: &Set) -> bool {
        self.encoding() == other.encoding()
            && self.len() == other.len()
            && self.iter().all(|m| other.contains(&m))
    }
}

impl Set {
    /// The heap this set holds, its members' costs estimated from `samples` of them (see
    /// [`crate::store::memory`]).
    pub fn heap_bytes(&self, samples: usize) -> usize {
        use crate::store::memory::{alloc, sampled};
        match &self.repr {
            Repr::Ints(v) => alloc(v.capacity() * 8),
            Repr::Table(t) => {
                t.heap_bytes()
                    + sampled(t.len(), samples, t.first(samples).map(|m| alloc(m.0.len())))
            }
        }
    }

    /// An empty set (an intset until a member says otherwise).
    pub fn new() -> Set {
        Set::default()
    }

    /// A set built afresh from `members`, as Redis builds a STORE destination: it starts
    /// as an intset and converts when a member or the size requires.
    pub fn from_members<M: AsRef<[u8]>>(
        members: impl IntoIterator<Item = M>,
        limits: &Limits,
    ) -> Set {
        let mut set = Set::new();
        for m in members {
            set.insert(m.as_ref(), limits);
        }
        set
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.len(),
            Repr::Table(t) => t.len(),
        }
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding OBJECT ENCODING reports: `intset` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(v) => parse_i64(member).is_some_and(|n| v.binary_search(&n).is_ok()),
            Repr::Table(t) => t.get(member).is_some(),
        }
    }

    /// Adds a member. Returns true if it is new. An intset converts to a hashtable when
    /// the member is not an integer or the set grows past `limits.set_intset_entries`.
    pub fn insert(&mut self, member: &[u8], limits: &Limits) -> bool {
        match &mut self.repr {
            Repr::Ints(v) => match parse_i64(member) {
                Some(n) => {
                    let Err(at) = v.binary_search(&n) else {
                        return false;
                    };
                    v.insert(at, n);
                    if v.len() > limits.set_intset_entries {
                        self.convert();
                    }
                    true
                }
                None => {
                    self.convert();
                    self.insert(member, limits)
                }
            },
            Repr::Table(t) => {
                if t.get(member).is_some() {
                    return false;
                }
                t.insert_new(Member(member.into()));
                true
            }
        }
    }

    /// Removes a member. Returns true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(v) => match parse_i64(member).map(|n| v.binary_search(&n)) {
                Some(Ok(at)) => {
                    v.remove(at);
                    true
                }
                _ => false,
            },
            Repr::Table(t) => t.remove(member).is_some(),
        }
    }

    /// Every member, in the encoding's order: ascending for an intset, bucket order for
    /// a hashtable.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, [u8]>> {
        let (ints, table) = match &self.repr {
            Repr::Ints(v) => (Some(v), None),
            Repr::Table(t) => (None, Some(t)),
        };
        let ints = ints
            .into_iter()
            .flatten()
            .map(|&n| Cow::Owned(i64_to_bytes(n)));
        let table = table
            .into_iter()
            .flat_map(Table::iter)
            .map(|m| Cow::Borrowed(&*m.0));
        ints.chain(table)
    }

    /// Calls `f` with every member, in the encoding's order, until it fails.
    pub fn try_for_each<E>(&self, mut f: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        self.iter().try_for_each(|m| f(&m))
    }

    /// A random member (Redis's `setTypeRandomElement`): uniform for an intset, a fair
    /// draw ([`Table::random_fair`]) for a hashtable. `None` when empty.
    pub fn random(&self, rng: &mut Rng) -> Option<Cow<'_, [u8]>> {
        match &self.repr {
            Repr::Ints(v) if v.is_empty() => None,
            Repr::Ints(v) => {
                let n = v[rng.below(v.len() as u64) as usize];
                Some(Cow::Owned(i64_to_bytes(n)))
            }
            Repr::Table(t) => t.random_fair(rng).map(|m| Cow::Borrowed(&*m.0)),
        }
    }

    /// Removes and returns a random member (drawn as [`Set::random`] draws).
    pub fn pop_random(&mut self, rng: &mut Rng) -> Option<Vec<u8>> {
        let member = self.random(rng)?.into_owned();
        self.remove(&member);
        Some(member)
    }

    /// One SSCAN step: the next cursor and the members visited. An intset is returned
    /// whole with cursor 0 whatever the cursor and count, as Redis does for its compact
    /// encodings; a hashtable is walked from `cursor` with [`Table::scan_count`].
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<Cow<'_, [u8]>>) {
        match &self.repr {
            Repr::Ints(_) => (0, self.iter().collect()),
            Repr::Table(t) => {
                let mut found = Vec::new();
                let next = t.scan_count(cursor, count, |m| found.push(Cow::Borrowed(&*m.0)));
                (next, found)
            }
        }
    }

    /// Turns an intset into a hashtable (Redis's `setTypeConvert`).
    fn convert(&mut self) {
        if let Repr::Ints(v) = &self.repr {
            let mut t = Table::new();
            for &n in v {
                t.insert_new(Member(i64_to_bytes(n).into()));
            }
            self.repr = Repr::Table(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn limits(entries: usize) -> Limits {
        Limits {
            set_intset_entries: entries,
            ..Limits::default()
        }
    }

    fn members(set: &Set) -> Vec<Vec<u8>> {
        set.iter().map(Cow::into_owned).collect()
    }

    #[test]
    fn an_intset_keeps_integers_sorted() {
        let l = Limits::default();
        let mut s = Set::new();
        for m in [
            "10",
            "-3",
            "7",
            "-9223372036854775808",
            "9223372036854775807",
            "7",
        ] {
            s.insert(m.as_bytes(), &l);
        }
        assert_eq!(s.encoding(), "intset");
        assert_eq!(
            members(&s),
            [
                "-9223372036854775808",
                "-3",
                "7",
                "10",
                "9223372036854775807"
            ]
            .map(|m| m.as_bytes().to_vec())
        );
        assert!(s.contains(b"7") && !s.contains(b"07") && !s.contains(b"8"));
        assert!(s.remove(b"-3") && !s.remove(b"-3") && !s.remove(b"x"));
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn converts_on_a_member_string2ll_refuses() {
        for m in [
            "x",
            "+1",
            "01",
            "-0",
            " 1",
            "1 ",
            "",
            "9223372036854775808",
            "1.0",
        ] {
            let mut s = Set::new();
            s.insert(b"1", &Limits::default());
            assert!(s.insert(m.as_bytes(), &Limits::default()), "{m:?}");
            assert_eq!(s.encoding(), "hashtable", "{m:?}");
            assert!(s.contains(m.as_bytes()) && s.contains(b"1"));
            // One-way: removing it leaves a hashtable.
            s.remove(m.as_bytes());
            assert_eq!((s.encoding(), s.len()), ("hashtable", 1));
        }
    }

    #[test]
    fn converts_past_the_entry_limit() {
        let l = limits(4);
        let mut s = Set::new();
        for i in 0..4 {
            s.insert(i.to_string().as_bytes(), &l);
        }
        assert_eq!(s.encoding(), "intset");
        assert!(!s.insert(b"3", &l), "a duplicate does not grow it");
        assert_eq!(s.encoding(), "intset");
        s.insert(b"4", &l);
        assert_eq!((s.encoding(), s.len()), ("hashtable", 5));
        let mut got = members(&s);
        got.sort();
        assert_eq!(
            got,
            ["0", "1", "2", "3", "4"].map(|m| m.as_bytes().to_vec())
        );
        // A limit of 0 converts on the first insert, as Redis does.
        let mut s = Set::new();
        s.insert(b"1", &limits(0));
        assert_eq!(s.encoding(), "hashtable");
    }

    #[test]
    fn from_members_builds_afresh_and_clone_keeps_the_encoding() {
        let l = Limits::default();
        let mut big = Set::from_members(["1", "x"], &l);
        big.remove(b"x");
        assert_eq!(big.encoding(), "hashtable");
        let copy = big.clone();
        assert_eq!(copy, big);
        assert_eq!(copy.encoding(), "hashtable");
        let fresh = Set::from_members(big.iter(), &l);
        assert_eq!(fresh.encoding(), "intset");
        assert_ne!(fresh, big, "equal members, different encodings");
    }

    #[test]
    fn agrees_with_a_naive_model() {
        let mut rng = Rng::new(11);
        for limit in [0, 3, 16, 512] {
            let l = limits(limit);
            let (mut s, mut model) = (Set::new(), BTreeSet::<Vec<u8>>::new());
            let mut converted = false;
            for _ in 0..3000 {
                let m = match rng.below(10) {
                    0 => format!("m{}", rng.below(30)).into_bytes(),
                    _ => (rng.below(60) as i64 - 30).to_string().into_bytes(),
                };
                match rng.below(3) {
                    0 => assert_eq!(s.remove(&m), model.remove(&m)),
                    _ => {
                        assert_eq!(s.insert(&m, &l), model.insert(m.clone()));
                        converted |= parse_i64(&m).is_none() || model.len() > limit;
                    }
                }
                assert_eq!(s.len(), model.len());
                assert_eq!(s.contains(&m), model.contains(&m));
                let expected = if converted { "hashtable" } else { "intset" };
                assert_eq!(s.encoding(), expected);
            }
            let mut got = members(&s);
            if s.encoding() == "intset" {
                let mut sorted = got.clone();
                sorted.sort_by_key(|m| parse_i64(m));
                assert_eq!(got, sorted, "an intset iterates in numeric order");
            }
            got.sort();
            assert_eq!(got, model.iter().cloned().collect::<Vec<_>>());
        }
    }

    #[test]
    fn random_draws_and_pops_reach_every_member() {
        let mut rng = Rng::new(3);
        for set in [
            Set::from_members(["1", "2", "3"], &Limits::default()),
            Set::from_members(["a", "b", "c"], &Limits::default()),
        ] {
            let mut seen = BTreeSet::new();
            for _ in 0..300 {
                seen.insert(set.random(&mut rng).unwrap().into_owned());
            }
            assert_eq!(seen.len(), 3);
            let mut s = set.clone();
            let mut popped = BTreeSet::new();
            while let Some(m) = s.pop_random(&mut rng) {
                assert!(popped.insert(m));
            }
            assert_eq!(popped, seen);
            assert!(s.random(&mut rng).is_none());
        }
    }

    #[test]
    fn scan_returns_an_intset_whole_and_walks_a_hashtable() {
        let l = Limits::default();
        let ints = Set::from_members((0..100).map(|i| i.to_string()), &l);
        let (cursor, all) = ints.scan(12345, 1);
        assert_eq!((cursor, all.len()), (0, 100));
        let strs = Set::from_members((0..1000).map(|i| format!("m{i}")), &l);
        let (mut cursor, mut seen, mut calls) = (0, BTreeSet::new(), 0);
        loop {
            let (next, found) = strs.scan(cursor, 10);
            seen.extend(found.into_iter().map(Cow::into_owned));
            calls += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        assert!(calls > 50, "{calls} calls: a real cursor");
    }
}
