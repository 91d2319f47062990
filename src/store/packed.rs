//! One buffer for a small collection and the key that names it (Redis's listpack and
//! intset, with the key's `sds` folded in).
//!
//! A small hash, sorted set or integer set is held as one [`Packed`] buffer, so that a
//! key holding one costs its table node and this single allocation. The layout:
//!
//! ```text
//! [varint key length][key][varint entry count][entries...]
//! ```
//!
//! The key sits in front so that the keyspace entry does not need a second allocation
//! for it (see `Entry` in `store/mod.rs`); a collection outside the keyspace (a value
//! being built, a copy) has an empty key. What an entry looks like is up to each type;
//! this module only keeps the header right and the allocation tight: the buffer grows by
//! exactly what an insert needs, as Redis reallocates its listpacks, because a few spare
//! bytes per key cost more memory than the copy costs time at these sizes.

use std::ops::Range;

/// Appends `n` as a LEB128 varint (7 bits a byte, low bits first).
pub fn put_varint(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(Varint::new(n).bytes());
}

/// A varint of up to ten bytes, on the stack.
pub struct Varint {
    buf: [u8; 10],
    len: u8,
}

impl Varint {
    /// `n`'s varint, as [`put_varint`] writes it.
    pub fn new(mut n: u64) -> Varint {
        let mut v = Varint {
            buf: [0; 10],
            len: 0,
        };
        while n >= 0x80 {
            v.buf[v.len as usize] = n as u8 | 0x80;
            v.len += 1;
            n >>= 7;
        }
        v.buf[v.len as usize] = n as u8;
        v.len += 1;
        v
    }

    /// Its bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// Its bytes in reverse order (a backlen, read from its last byte backwards).
    pub fn reversed(mut self) -> Varint {
        self.buf[..self.len as usize].reverse();
        self
    }
}

/// Reads the varint at `*at` and moves `*at` past it.
pub fn get_varint(buf: &[u8], at: &mut usize) -> u64 {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[*at];
        *at += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return n;
        }
        shift += 7;
    }
}

/// How many bytes [`put_varint`] writes for `n`.
pub fn varint_len(n: u64) -> usize {
    (64 - (n | 1).leading_zeros() as usize).div_ceil(7)
}

/// Reads a varint length, then that many bytes, from `*at` on.
pub fn get_bytes<'a>(buf: &'a [u8], at: &mut usize) -> &'a [u8] {
    let len = get_varint(buf, at) as usize;
    let start = *at;
    *at += len;
    &buf[start..*at]
}

/// Appends `bytes` with their length in front.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Whether no two of `items` are equal: pairwise for a few, through a set for more
/// (a compact collection is small by default, but its limits are settings).
pub fn distinct<'a>(items: impl Iterator<Item = &'a [u8]> + Clone) -> bool {
    let n = items.clone().count();
    if n <= 16 {
        let mut rest = items;
        while let Some(a) = rest.next() {
            if rest.clone().any(|b| a == b) {
                return false;
            }
        }
        true
    } else {
        let mut seen = std::collections::HashSet::with_capacity(n);
        items.into_iter().all(|a| seen.insert(a))
    }
}

/// A key, an entry count and packed entries in one exactly sized buffer.
#[derive(Clone)]
pub struct Packed {
    buf: Vec<u8>,
}

impl Default for Packed {
    fn default() -> Packed {
        Packed::new()
    }
}

impl Packed {
    /// No key and no entries.
    pub fn new() -> Packed {
        Packed { buf: vec![0, 0] }
    }

    /// The key in front of the entries (empty outside the keyspace).
    pub fn key(&self) -> &[u8] {
        let mut at = 0;
        get_bytes(&self.buf, &mut at)
    }

    /// Where the count starts.
    fn count_at(&self) -> usize {
        let mut at = 0;
        let len = get_varint(&self.buf, &mut at) as usize;
        at + len
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        let mut at = self.count_at();
        get_varint(&self.buf, &mut at) as usize
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The packed entries.
    pub fn body(&self) -> &[u8] {
        let mut at = self.count_at();
        get_varint(&self.buf, &mut at);
        &self.buf[at..]
    }

    /// The packed entries, writable in place (their length cannot change this way).
    pub fn body_mut(&mut self) -> &mut [u8] {
        let mut at = self.count_at();
        get_varint(&self.buf, &mut at);
        &mut self.buf[at..]
    }

    /// A buffer of `key`, then `count` entries whose bytes are `body`, in one exactly
    /// sized allocation (a collection built whole, as loading a dump builds it).
    pub fn from_parts(key: &[u8], count: usize, body: &[u8]) -> Packed {
        let len = varint_len(key.len() as u64) + key.len() + varint_len(count as u64);
        let mut buf = Vec::with_capacity(len + body.len());
        put_bytes(&mut buf, key);
        put_varint(&mut buf, count as u64);
        buf.extend_from_slice(body);
        Packed { buf }
    }

    /// Replaces the key, keeping the entries.
    pub fn set_key(&mut self, key: &[u8]) {
        // A value built with its key already in front (see `from_parts`) keeps its buffer.
        if self.key() == key {
            return;
        }
        let old = self.count_at();
        let mut head = Vec::with_capacity(key.len() + 2);
        put_bytes(&mut head, key);
        self.replace(0..old, &head);
        self.buf.shrink_to_fit();
    }

    /// Replaces the bytes `range` of the body with `with`, and sets the count to
    /// `count`.
    pub fn splice(&mut self, range: Range<usize>, with: &[u8], count: usize) {
        let count_at = self.count_at();
        let mut at = count_at;
        let old_count = get_varint(&self.buf, &mut at);
        let body = at;
        self.replace(body + range.start..body + range.end, with);
        if old_count != count as u64 {
            let mut head = Vec::with_capacity(2);
            put_varint(&mut head, count as u64);
            self.replace(count_at..body, &head);
        }
        // Give back what removals freed (a realloc that shrinks stays in place).
        if self.buf.capacity() > self.buf.len() + 8 {
            self.buf.shrink_to_fit();
        }
    }

    /// Appends an entry's bytes at the end and counts one more entry.
    pub fn push(&mut self, entry: &[u8]) {
        let end = self.body().len();
        let count = self.len() + 1;
        self.splice(end..end, entry, count);
    }

    /// Replaces `range` of the whole buffer, growing it by exactly what is needed.
    fn replace(&mut self, range: Range<usize>, with: &[u8]) {
        let grow = with.len().saturating_sub(range.len());
        self.buf.reserve_exact(grow);
        if with.len() == range.len() {
            self.buf[range].copy_from_slice(with);
        } else {
            self.buf.splice(range, with.iter().copied());
        }
    }

    /// The bytes this buffer holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rand::Rng;

    #[test]
    fn varints_round_trip_and_know_their_length() {
        let mut out = Vec::new();
        let values = [0, 1, 127, 128, 300, 16383, 16384, u32::MAX as u64, u64::MAX];
        for &n in &values {
            let before = out.len();
            put_varint(&mut out, n);
            assert_eq!(out.len() - before, varint_len(n), "{n}");
        }
        let mut at = 0;
        for &n in &values {
            assert_eq!(get_varint(&out, &mut at), n);
        }
        assert_eq!(at, out.len());
    }

    #[test]
    fn the_key_and_the_count_change_without_touching_the_entries() {
        let mut p = Packed::new();
        assert_eq!((p.key(), p.len(), p.body()), (&b""[..], 0, &b""[..]));
        p.push(b"abc");
        p.push(b"de");
        assert_eq!((p.len(), p.body()), (2, &b"abcde"[..]));
        p.set_key(b"some key");
        assert_eq!(
            (p.key(), p.len(), p.body()),
            (&b"some key"[..], 2, &b"abcde"[..])
        );
        let long = vec![b'k'; 300];
        p.set_key(&long);
        assert_eq!((p.key(), p.len(), p.body()), (&long[..], 2, &b"abcde"[..]));
        p.splice(1..3, b"XYZW", 200);
        assert_eq!(
            (p.key(), p.len(), p.body()),
            (&long[..], 200, &b"aXYZWde"[..])
        );
        p.splice(0..7, b"", 0);
        assert_eq!((p.key(), p.len(), p.body()), (&long[..], 0, &b""[..]));
        p.set_key(b"");
        assert_eq!(p.heap_bytes(), 2, "the buffer is given back");
    }

    #[test]
    fn distinct_finds_repeats_in_short_and_long_lists() {
        for n in [0usize, 1, 2, 16, 17, 100] {
            let items: Vec<Vec<u8>> = (0..n).map(|i| i.to_string().into_bytes()).collect();
            assert!(distinct(items.iter().map(Vec::as_slice)), "{n} distinct");
            if n >= 2 {
                let mut dup = items.clone();
                dup[n - 1] = dup[n / 3].clone();
                assert!(
                    !distinct(dup.iter().map(Vec::as_slice)),
                    "{n} with a repeat"
                );
            }
        }
    }

    #[test]
    fn from_parts_equals_pushing_one_by_one() {
        for key in [&b""[..], b"k", &[b'x'; 200]] {
            let mut pushed = Packed::new();
            pushed.push(b"abc");
            pushed.push(b"de");
            pushed.set_key(key);
            let built = Packed::from_parts(key, 2, b"abcde");
            assert_eq!(built.buf, pushed.buf);
            assert_eq!(built.heap_bytes(), built.buf.len(), "exactly sized");
            let mut again = built.clone();
            again.set_key(key);
            assert_eq!(again.buf, built.buf);
        }
    }

    #[test]
    fn splices_agree_with_a_plain_vector() {
        let mut rng = Rng::new(7);
        let mut p = Packed::new();
        p.set_key(b"k");
        let mut model: Vec<u8> = Vec::new();
        for _ in 0..2000 {
            let start = rng.below(model.len() as u64 + 1) as usize;
            let end = start + rng.below((model.len() - start) as u64 + 1) as usize;
            let len = rng.below(40) as usize;
            let with = rng.bytes(len);
            let count = rng.below(1000) as usize;
            model.splice(start..end, with.iter().copied());
            p.splice(start..end, &with, count);
            assert_eq!((p.key(), p.len(), p.body()), (&b"k"[..], count, &model[..]));
            assert!(p.heap_bytes() <= model.len() + 3 + 8 + 40);
        }
    }
}
