//! The set type, with Redis 7.0's two encodings (`t_set.c`'s internal API).
//!
//! - **intset**: sorted integers packed at one width in a [`Packed`] buffer (1, 2, 4 or
//!   8 bytes each, little-endian, widened for good when a member needs it, as Redis's
//!   intset widens from 2 to 4 to 8), while every member is an integer as Redis's
//!   `string2ll` reads it ([`parse_i64`]: no `+`, no leading zeros, no `-0`) and there are
//!   at most `set-max-intset-entries` members. Iteration is ascending, which is why
//!   SMEMBERS of a small integer set comes back sorted in Redis. Lookups are binary
//!   searches, and inserts shift the buffer: O(n) for n bounded by the limit, as Redis's
//!   intset is. The buffer also holds the keyspace entry's key (see [`Packed`]).
//! - **hashtable**: our [`Table`], so SSCAN gets Redis's reverse-binary cursor and SPOP
//!   and SRANDMEMBER get `dictGetFairRandomKey`-style draws; O(1) per operation.
//!
//! The conversion is one-way, as in Redis: a set that went to a hashtable stays one even
//! when only small integers remain. A set built afresh (the STORE commands' destination,
//! SPOP's rebuilt remainder, a loaded dump) starts as an intset again.

use std::borrow::Cow;

use super::packed::Packed;
use super::table::{Keyed, Table};
use super::value::Limits;
use crate::util::num::{i64_to_bytes, parse_i64};
use crate::util::rand::Rng;

/// The longest member kept inside the table's node.
const INLINE: usize = 30;

/// A member of a hashtable-encoded set: up to [`INLINE`] bytes inside the table's node
/// (which then stays one 48-byte malloc chunk), so a short member costs no allocation of
/// its own, as Redis's member costs a `dictEntry` and a short `sds`.
#[derive(Debug, Clone)]
enum Member {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Member {
    fn new(member: &[u8]) -> Member {
        if member.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..member.len()].copy_from_slice(member);
            Member::Inline {
                len: member.len() as u8,
                bytes,
            }
        } else {
            Member::Heap(member.into())
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Member::Inline { len, bytes } => &bytes[..*len as usize],
            Member::Heap(bytes) => bytes,
        }
    }
}

impl Keyed for Member {
    fn key(&self) -> &[u8] {
        self.bytes()
    }
}

/// An intset's body: the width byte, then the integers at that width, ascending.
struct Ints<'a> {
    width: usize,
    ints: &'a [u8],
}

/// The narrowest width (1, 2, 4 or 8 bytes) that holds `n`.
fn width_of(n: i64) -> usize {
    if i8::try_from(n).is_ok() {
        1
    } else if i16::try_from(n).is_ok() {
        2
    } else if i32::try_from(n).is_ok() {
        4
    } else {
        8
    }
}

/// `n` in `width` little-endian bytes (the low ones of its two's complement).
fn int_bytes(n: i64, width: usize) -> Vec<u8> {
    n.to_le_bytes()[..width].to_vec()
}

impl<'a> Ints<'a> {
    /// The integers of an intset buffer (an empty body is an empty intset).
    fn of(packed: &'a Packed) -> Ints<'a> {
        match packed.body().split_first() {
            Some((&width, ints)) => Ints {
                width: width as usize,
                ints,
            },
            None => Ints {
                width: 1,
                ints: &[],
            },
        }
    }

    fn len(&self) -> usize {
        self.ints.len() / self.width
    }

    /// The `i`th integer, sign-extended from its width.
    fn get(&self, i: usize) -> i64 {
        let bytes = &self.ints[i * self.width..(i + 1) * self.width];
        let mut full = [if bytes[self.width - 1] & 0x80 != 0 {
            0xff
        } else {
            0
        }; 8];
        full[..self.width].copy_from_slice(bytes);
        i64::from_le_bytes(full)
    }

    /// Where `n` is, or where it would go.
    fn search(&self, n: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(&n) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// Adds `n` to an intset buffer (absent), widening the whole set first if `n` needs it.
fn ints_insert(packed: &mut Packed, n: i64) {
    let ints = Ints::of(packed);
    let (width, len) = (ints.width.max(width_of(n)), ints.len());
    if packed.body().is_empty() || width != ints.width {
        let mut body = vec![width as u8];
        for m in ints.iter() {
            body.extend_from_slice(&int_bytes(m, width));
        }
        let end = packed.body().len();
        packed.splice(0..end, &body, len);
    }
    let Err(at) = Ints::of(packed).search(n) else {
        return;
    };
    let pos = 1 + at * width;
    packed.splice(pos..pos, &int_bytes(n, width), len + 1);
}

/// A hashtable and the key of the entry that holds it.
#[derive(Debug)]
struct Big {
    key: Box<[u8]>,
    table: Table<Member>,
}

/// The two encodings.
enum Repr {
    /// Sorted, distinct.
    Ints(Packed),
    /// Boxed so that a set (held inline in the keyspace entry) stays three words.
    Table(Box<Big>),
}

/// A set of distinct members.
pub struct Set {
    repr: Repr,
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let members = self
            .iter()
            .map(|m| String::from_utf8_lossy(&m).into_owned());
        f.debug_set().entries(members).finish()
    }
}

impl Default for Set {
    fn default() -> Set {
        Set {
            repr: Repr::Ints(Packed::new()),
        }
    }
}

impl Clone for Set {
    /// A copy in the same encoding (Redis's `setTypeDup`, for COPY).
    fn clone(&self) -> Set {
        let repr = match &self.repr {
            Repr::Ints(packed) => Repr::Ints(packed.clone()),
            Repr::Table(big) => {
                let mut copy = Table::new();
                for m in big.table.iter() {
                    copy.insert_new(m.clone());
                }
                Repr::Table(Box::new(Big {
                    key: big.key.clone(),
                    table: copy,
                }))
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
            // One buffer, the keyspace entry's key included.
            Repr::Ints(packed) => alloc(packed.heap_bytes()),
            Repr::Table(big) => {
                // Short members live in the node; longer ones in a buffer of their own.
                let members = big.table.first(samples).map(|m| match m {
                    Member::Inline { .. } => 0,
                    Member::Heap(bytes) => alloc(bytes.len()),
                });
                alloc(std::mem::size_of::<Big>())
                    + alloc(big.key.len())
                    + big.table.heap_bytes()
                    + sampled(big.table.len(), samples, members)
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

    /// The key of the keyspace entry holding this set (empty elsewhere).
    pub(super) fn key(&self) -> &[u8] {
        match &self.repr {
            Repr::Ints(packed) => packed.key(),
            Repr::Table(big) => &big.key,
        }
    }

    /// Records the key of the keyspace entry that takes this set.
    pub(super) fn set_key(&mut self, key: &[u8]) {
        match &mut self.repr {
            Repr::Ints(packed) => packed.set_key(key),
            Repr::Table(big) => big.key = key.into(),
        }
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(packed) => packed.len(),
            Repr::Table(big) => big.table.len(),
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
            Repr::Ints(packed) => {
                parse_i64(member).is_some_and(|n| Ints::of(packed).search(n).is_ok())
            }
            Repr::Table(big) => big.table.get(member).is_some(),
        }
    }

    /// Adds a member. Returns true if it is new. An intset converts to a hashtable when
    /// the member is not an integer or the set grows past `limits.set_intset_entries`.
    pub fn insert(&mut self, member: &[u8], limits: &Limits) -> bool {
        match &mut self.repr {
            Repr::Ints(packed) => match parse_i64(member) {
                Some(n) => {
                    if Ints::of(packed).search(n).is_ok() {
                        return false;
                    }
                    ints_insert(packed, n);
                    if packed.len() > limits.set_intset_entries {
                        self.convert();
                    }
                    true
                }
                None => {
                    self.convert();
                    self.insert(member, limits)
                }
            },
            Repr::Table(big) => {
                if big.table.get(member).is_some() {
                    return false;
                }
                big.table.insert_new(Member::new(member));
                true
            }
        }
    }

    /// Makes room for `n` members at once when the set is a hashtable (an intset is
    /// left as it is): loading a set of known size sizes its table once.
    pub fn reserve(&mut self, n: usize) {
        if let Repr::Table(big) = &mut self.repr {
            big.table.reserve(n);
        }
    }

    /// Removes a member. Returns true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(packed) => {
                let ints = Ints::of(packed);
                match parse_i64(member).map(|n| ints.search(n)) {
                    Some(Ok(at)) => {
                        let (width, len) = (ints.width, ints.len());
                        let pos = 1 + at * width;
                        packed.splice(pos..pos + width, b"", len - 1);
                        true
                    }
                    _ => false,
                }
            }
            Repr::Table(big) => big.table.remove(member).is_some(),
        }
    }

    /// Every member, in the encoding's order: ascending for an intset, bucket order for
    /// a hashtable.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, [u8]>> {
        let (ints, table) = match &self.repr {
            Repr::Ints(packed) => (Some(Ints::of(packed)), None),
            Repr::Table(big) => (None, Some(&big.table)),
        };
        let ints = ints
            .into_iter()
            .flat_map(|ints| (0..ints.len()).map(move |i| Cow::Owned(i64_to_bytes(ints.get(i)))));
        let table = table
            .into_iter()
            .flat_map(Table::iter)
            .map(|m| Cow::Borrowed(m.bytes()));
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
            Repr::Ints(packed) if packed.is_empty() => None,
            Repr::Ints(packed) => {
                let ints = Ints::of(packed);
                let n = ints.get(rng.below(ints.len() as u64) as usize);
                Some(Cow::Owned(i64_to_bytes(n)))
            }
            Repr::Table(big) => big.table.random_fair(rng).map(|m| Cow::Borrowed(m.bytes())),
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
            Repr::Table(big) => {
                let mut found = Vec::new();
                let next = big
                    .table
                    .scan_count(cursor, count, |m| found.push(Cow::Borrowed(m.bytes())));
                (next, found)
            }
        }
    }

    /// Replaces the members with `other`'s and returns the old ones (SPOP rebuilding
    /// the remainder). A set stored in the keyspace carries its key (see [`Packed`]), so
    /// it must be replaced this way, never whole through `&mut`.
    pub fn replace_with(&mut self, other: Set) -> Set {
        let key = self.key().to_vec();
        let mut old = std::mem::replace(self, other);
        self.set_key(&key);
        old.set_key(b"");
        old
    }

    /// Turns an intset into a hashtable (Redis's `setTypeConvert`).
    fn convert(&mut self) {
        if let Repr::Ints(packed) = &self.repr {
            let mut table = Table::new();
            for n in Ints::of(packed).iter() {
                table.insert_new(Member::new(&i64_to_bytes(n)));
            }
            let key = packed.key().into();
            self.repr = Repr::Table(Box::new(Big { key, table }));
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
    fn an_intset_widens_for_big_members_and_stays_sorted() {
        let l = Limits::default();
        let mut rng = Rng::new(21);
        let mut s = Set::new();
        s.set_key(b"key");
        let mut model = BTreeSet::new();
        for _ in 0..400 {
            // Members of every width, the extremes included.
            let n = match rng.below(6) {
                0 => rng.below(256) as i64 - 128,
                1 => rng.below(65536) as i64 - 32768,
                2 => rng.below(1 << 32) as i64 - (1 << 31),
                3 => rng.next_u64() as i64,
                4 => [i64::MIN, i64::MAX, -129, 128, -32769, 32768][rng.below(6) as usize],
                _ => rng.below(10) as i64,
            };
            let m = n.to_string();
            if rng.below(4) == 0 {
                assert_eq!(s.remove(m.as_bytes()), model.remove(&n));
            } else {
                assert_eq!(s.insert(m.as_bytes(), &l), model.insert(n));
            }
            assert_eq!(s.len(), model.len());
        }
        assert_eq!(s.encoding(), "intset");
        let got: Vec<i64> = s.iter().map(|m| parse_i64(&m).unwrap()).collect();
        assert_eq!(got, model.iter().copied().collect::<Vec<_>>());
        for n in &model {
            assert!(s.contains(n.to_string().as_bytes()));
        }
        assert_eq!(s.key(), b"key");
        assert_eq!(width_of(-128), 1);
        assert_eq!(width_of(128), 2);
        assert_eq!(width_of(-32769), 4);
        assert_eq!(width_of(1 << 31), 8);
    }

    #[test]
    fn short_members_live_in_the_node_and_long_ones_beside_it() {
        assert_eq!(std::mem::size_of::<Member>(), 32, "a node stays 40 bytes");
        let (m30, m31) = (vec![b'a'; 30], vec![b'b'; 31]);
        assert!(matches!(Member::new(&m30), Member::Inline { .. }));
        assert!(matches!(Member::new(&m31), Member::Heap(_)));
        let mut s = Set::from_members([&m30[..], &m31[..], b"x", b""], &Limits::default());
        assert!(s.contains(&m30) && s.contains(&m31) && s.contains(b"x") && s.contains(b""));
        assert!(!s.contains(&m30[..29]) && !s.contains(&m31[..30]));
        let mut got = members(&s);
        got.sort();
        assert_eq!(got, [b"".to_vec(), m30.clone(), m31.clone(), b"x".to_vec()]);
        assert!(s.remove(&m31) && s.remove(&m30) && !s.remove(&m30));
        assert_eq!(s.len(), 2);
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
