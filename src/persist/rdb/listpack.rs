//! Listpacks (Redis's `listpack.c`): the blob RDB stores for small hashes, sorted sets,
//! list nodes and stream nodes.
//!
//! ```text
//! u32 total bytes, u16 element count (65535: count them), entry*, 0xFF
//! entry = encoding+data, backlen (the size of encoding+data, 7 bits per byte, read
//!         from the end backwards)
//! ```
//!
//! [`Builder`] encodes as `lpAppend` does: a string that is a canonical 64-bit integer
//! is stored as an integer. [`parse`] validates a blob as `lpValidateIntegrity` with
//! deep checking does, and returns its elements.

use crate::util::num::parse_i64;

/// One element as stored: a string or an integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Item<'_> {
    /// The element as a string, integers in decimal.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Item::Str(s) => s.to_vec(),
            Item::Int(v) => v.to_string().into_bytes(),
        }
    }

    /// The element's bytes, borrowed when it is a string.
    pub fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Item::Str(s) => std::borrow::Cow::Borrowed(s),
            Item::Int(v) => std::borrow::Cow::Owned(v.to_string().into_bytes()),
        }
    }

    /// The element as an integer, if it is one (or a string that reads as one).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Item::Str(s) => parse_i64(s),
            Item::Int(v) => Some(*v),
        }
    }
}

/// Header (6 bytes) plus the end byte.
const EMPTY_SIZE: usize = 7;

/// Builds a listpack by appending elements.
#[derive(Debug, Clone)]
pub struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// An empty listpack.
    pub fn new() -> Builder {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; 6]);
        Builder { buf, count: 0 }
    }

    /// The size the finished listpack has.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Elements so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends a string, as an integer when it is a canonical one (`lpAppend`).
    pub fn push(&mut self, s: &[u8]) {
        match canonical_int(s) {
            Some(v) => self.push_int(v),
            None => self.push_str(s),
        }
    }

    /// Appends an integer (`lpAppendInteger`).
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        let b = &mut self.buf;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1fff;
            b.push(0xc0 | (u >> 8) as u8);
            b.push(u as u8);
        } else if (-32768..=32767).contains(&v) {
            b.push(0xf1);
            b.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            b.push(0xf2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if i64::from(v as i32) == v {
            b.push(0xf3);
            b.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            b.push(0xf4);
            b.extend_from_slice(&v.to_le_bytes());
        }
        self.finish_entry(start);
    }

    /// Appends a string as a string.
    fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let b = &mut self.buf;
        let n = s.len();
        if n < 64 {
            b.push(0x80 | n as u8);
        } else if n < 4096 {
            b.push(0xe0 | (n >> 8) as u8);
            b.push(n as u8);
        } else {
            b.push(0xf0);
            b.extend_from_slice(&(n as u32).to_le_bytes());
        }
        b.extend_from_slice(s);
        self.finish_entry(start);
    }

    fn finish_entry(&mut self, start: usize) {
        let l = self.buf.len() - start;
        put_backlen(&mut self.buf, l);
        self.count += 1;
    }

    /// The finished blob.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xff);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// The integer a listpack stores `s` as, if any (`lpStringToInt64`: no sign but `-`, no
/// leading zero, no `-0`, within `i64`).
pub fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let v = parse_i64(s)?;
    // parse_i64 is strict already (string2ll); this double check keeps "+1" and " 1" out
    // whatever it accepts.
    let mut canon = Vec::with_capacity(20);
    crate::util::num::push_i64(&mut canon, v);
    (canon == s).then_some(v)
}

/// Size in bytes of the backlen for an entry of `l` bytes.
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

fn put_backlen(out: &mut Vec<u8>, l: usize) {
    let n = backlen_size(l);
    for i in (0..n).rev() {
        let byte = ((l >> (7 * i)) & 127) as u8;
        // The highest group comes first without bit 7; the others have it (read
        // backwards, a set bit 7 means "more before").
        out.push(if i == n - 1 { byte } else { byte | 128 });
    }
}

/// Decodes the backlen that ends at `end` (exclusive): (value, its size).
fn read_backlen(buf: &[u8], end: usize) -> Option<(usize, usize)> {
    let mut v = 0usize;
    let mut shift = 0;
    let mut p = end;
    loop {
        if p == 0 || shift > 28 {
            return None;
        }
        p -= 1;
        let b = buf[p];
        v |= usize::from(b & 127) << shift;
        shift += 7;
        if b & 128 == 0 {
            return Some((v, end - p));
        }
    }
}

/// Why a listpack is invalid (the caller reports it as corrupt).
pub type Invalid = &'static str;

/// Validates `blob` deeply and returns its elements.
pub fn parse(blob: &[u8]) -> Result<Vec<Item<'_>>, Invalid> {
    if blob.len() < EMPTY_SIZE {
        return Err("listpack too short");
    }
    let total = u32::from_le_bytes(blob[0..4].try_into().expect("4 bytes")) as usize;
    if total != blob.len() {
        return Err("listpack size mismatch");
    }
    if blob[total - 1] != 0xff {
        return Err("listpack without its end byte");
    }
    let declared = usize::from(u16::from_le_bytes([blob[4], blob[5]]));
    // Each element takes at least 2 bytes: the declared count, if plausible, sizes
    // the vector.
    let mut items = Vec::with_capacity(declared.min(blob.len() / 2));
    let mut p = 6;
    let end = total - 1;
    while p < end {
        let start = p;
        let enc = blob[p];
        let (item, size) = match enc {
            0x00..=0x7f => (Item::Int(i64::from(enc)), 1),
            0x80..=0xbf => {
                let n = usize::from(enc & 0x3f);
                (Item::Str(slice(blob, p + 1, n, end)?), 1 + n)
            }
            0xc0..=0xdf => {
                let hi = u64::from(enc & 0x1f);
                let lo = u64::from(*blob.get(p + 1).filter(|_| p + 1 < end).ok_or(TRUNC)?);
                let u = (hi << 8) | lo;
                let v = if u >= 1 << 12 {
                    u as i64 - (1 << 13)
                } else {
                    u as i64
                };
                (Item::Int(v), 2)
            }
            0xe0..=0xef => {
                let lo = usize::from(*blob.get(p + 1).filter(|_| p + 1 < end).ok_or(TRUNC)?);
                let n = (usize::from(enc & 0x0f) << 8) | lo;
                (Item::Str(slice(blob, p + 2, n, end)?), 2 + n)
            }
            0xf0 => {
                let len = slice(blob, p + 1, 4, end)?;
                let n = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
                (Item::Str(slice(blob, p + 5, n, end)?), 5 + n)
            }
            0xf1 => {
                let d = slice(blob, p + 1, 2, end)?;
                (Item::Int(i64::from(i16::from_le_bytes([d[0], d[1]]))), 3)
            }
            0xf2 => {
                let d = slice(blob, p + 1, 3, end)?;
                let v = i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8;
                (Item::Int(i64::from(v)), 4)
            }
            0xf3 => {
                let d = slice(blob, p + 1, 4, end)?;
                (
                    Item::Int(i64::from(i32::from_le_bytes(d.try_into().expect("4")))),
                    5,
                )
            }
            0xf4 => {
                let d = slice(blob, p + 1, 8, end)?;
                (Item::Int(i64::from_le_bytes(d.try_into().expect("8"))), 9)
            }
            _ => return Err("listpack entry with a bad encoding"),
        };
        p = start + size;
        let bl = backlen_size(size);
        if p + bl > end {
            return Err(TRUNC);
        }
        match read_backlen(blob, p + bl) {
            Some((v, n)) if v == size && n == bl => {}
            _ => return Err("listpack entry with a bad back length"),
        }
        p += bl;
        items.push(item);
    }
    if declared != 65535 && declared != items.len() {
        return Err("listpack count mismatch");
    }
    Ok(items)
}

const TRUNC: Invalid = "listpack entry past the end";

fn slice(blob: &[u8], at: usize, n: usize, end: usize) -> Result<&[u8], Invalid> {
    match at.checked_add(n) {
        Some(stop) if stop <= end => Ok(&blob[at..stop]),
        _ => Err(TRUNC),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_redis_does() {
        // redis-server 7.0.15: HSET h a 1 (listpack hash), DUMP h: the listpack is
        // 0c000000 0200 81 61 02 01 01 ff.
        let mut b = Builder::new();
        b.push(b"a");
        b.push(b"1");
        assert_eq!(
            b.finish(),
            vec![0x0c, 0, 0, 0, 2, 0, 0x81, b'a', 2, 1, 1, 0xff]
        );
    }

    #[test]
    fn every_encoding_round_trips() {
        let ints = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            8_388_607,
            -8_388_608,
            8_388_608,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            i64::from(i32::MAX) + 1,
            i64::MAX,
            i64::MIN,
        ];
        let strs: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"x".to_vec(),
            vec![b'y'; 63],
            vec![b'y'; 64],
            vec![b'z'; 4095],
            vec![b'z'; 4096],
            vec![b'w'; 200_000],
            b"-0".to_vec(),
            b"007".to_vec(),
            b"+5".to_vec(),
            b"99999999999999999999".to_vec(),
        ];
        let mut b = Builder::new();
        for v in ints {
            b.push_int(v);
        }
        for s in &strs {
            b.push(s);
        }
        let blob = b.finish();
        let items = parse(&blob).unwrap();
        assert_eq!(items.len(), ints.len() + strs.len());
        for (i, v) in ints.iter().enumerate() {
            assert_eq!(items[i], Item::Int(*v));
        }
        for (i, s) in strs.iter().enumerate() {
            assert_eq!(items[ints.len() + i], Item::Str(s));
        }
    }

    #[test]
    fn canonical_ints_only() {
        assert_eq!(canonical_int(b"12"), Some(12));
        assert_eq!(canonical_int(b"-12"), Some(-12));
        assert_eq!(canonical_int(b"012"), None);
        assert_eq!(canonical_int(b"-0"), None);
        assert_eq!(canonical_int(b"+1"), None);
        assert_eq!(canonical_int(b" 1"), None);
        assert_eq!(canonical_int(b"9223372036854775808"), None);
    }

    #[test]
    fn corruption_is_detected() {
        let mut b = Builder::new();
        b.push(b"hello");
        b.push_int(1000);
        let good = b.finish();
        assert!(parse(&good).is_ok());
        // Every truncation and every single-byte change either fails or still parses
        // within bounds (never panics).
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_err());
        }
        for i in 0..good.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xc0, 0xe0, 0xf0, 0xf4, 0xf5, 0xff] {
                let mut bad = good.clone();
                bad[i] = v;
                let _ = parse(&bad);
            }
        }
        let mut bad = good.clone();
        bad[4] = 3; // Wrong count.
        assert_eq!(parse(&bad), Err("listpack count mismatch"));
        let mut bad = good;
        bad[12] = 9; // The string's back length.
        assert_eq!(parse(&bad), Err("listpack entry with a bad back length"));
    }
}
