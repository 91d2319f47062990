//! HyperLogLog values: Redis's sparse and dense encodings inside a string (Redis's
//! hyperloglog.c, rewritten).
//!
//! A HyperLogLog is an ordinary string, so GET, SET, DUMP and the AOF carry it as bytes;
//! these bytes must be exactly Redis's, so that a value made by one server counts the
//! same on the other. Layout:
//!
//! ```text
//! "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cached cardinality (8, LE)
//! | registers
//! ```
//!
//! The top bit of the cached cardinality's last byte says that it is stale. There are
//! 16384 registers (the low 14 bits of MurmurHash64A pick one; the run of zeros in the
//! other 50 bits, plus one, is its candidate value).
//!
//! - Dense: 6 bits per register, packed least significant bit first (12288 bytes).
//! - Sparse: run-length opcodes. `00xxxxxx` ZERO: 1 to 64 zero registers; `01xxxxxx
//!   yyyyyyyy` XZERO: 1 to 16384 zero registers; `1vvvvvxx` VAL: 1 to 4 registers of value
//!   1 to 32. A new value starts as sparse and becomes dense for good when a register
//!   needs more than 32 or the string would pass `hll-sparse-max-bytes`.
//!
//! Where Redis reads one byte past the end of a truncated sparse string it meets the
//! string's terminating NUL; the readers here see a 0 there too.

/// Register index bits.
const P: u32 = 14;
/// Hash bits left for the run of zeros.
const Q: u32 = 64 - P;
/// The number of registers.
pub const REGISTERS: usize = 1 << P;
/// The header's length.
pub const HDR: usize = 16;
/// A dense value's length: the header and 16384 six-bit registers.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
/// The largest value a sparse VAL opcode holds.
const SPARSE_VAL_MAX: u8 = 32;
/// The longest run of one VAL opcode.
const SPARSE_VAL_MAX_LEN: usize = 4;
/// The longest run of one ZERO opcode.
const SPARSE_ZERO_MAX_LEN: usize = 64;
/// The longest run of one XZERO opcode.
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// MurmurHash64A's seed in Redis.
const SEED: u64 = 0xadc8_3b19;
/// 0.5 / ln(2): the estimator's constant as m goes to infinity.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The error for a value whose registers do not add up (`-INVALIDOBJ`).
pub const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
/// The error for a string that is not a HyperLogLog at all.
pub const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/// A sparse value whose opcodes do not cover exactly the 16384 registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// How a value stores its registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// 16384 six-bit registers.
    Dense,
    /// Run-length opcodes.
    Sparse,
}

/// A growable byte string holding a HyperLogLog: the string value itself, changed in
/// place ([`super::StrMut`]), or a plain vector.
pub trait Buf {
    /// The bytes.
    fn bytes(&self) -> &[u8];
    /// The bytes, writable.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Grows (with zeros) or cuts to `len` bytes.
    fn resize(&mut self, len: usize);
}

impl Buf for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
    fn resize(&mut self, len: usize) {
        Vec::resize(self, len, 0);
    }
}

impl Buf for super::StrMut<'_> {
    fn bytes(&self) -> &[u8] {
        self.get()
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        super::StrMut::bytes_mut(self)
    }
    fn resize(&mut self, len: usize) {
        super::StrMut::resize(self, len);
    }
}

// Hashing.

/// MurmurHash2, 64-bit version, reading words little-endian as Redis's endian-neutral
/// copy does.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // Redis multiplies its `int` length: a length past 2^31 wraps the same way.
    let len = data.len() as i32 as i64 as u64;
    let mut h = seed ^ len.wrapping_mul(M);
    let words = data.chunks_exact(8);
    let tail = words.remainder();
    for w in words {
        let mut k = u64::from_le_bytes(w.try_into().unwrap_or_default());
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element falls in and the candidate value for it: the length of the
/// run of zeros (counting the final 1) in the hash bits above the index.
pub fn pattern(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | 1 << Q;
    (index, rest.trailing_zeros() as u8 + 1)
}

// The header.

/// Checks that `bytes` is a HyperLogLog (Redis's `isHLLObjectOrReply`): long enough
/// for the header, the magic, a known encoding, and the exact length if dense. A sparse
/// value's opcodes are only checked when read.
pub fn check(bytes: &[u8]) -> Option<Encoding> {
    if bytes.len() < HDR || &bytes[..4] != b"HYLL" {
        return None;
    }
    match bytes[4] {
        0 if bytes.len() == DENSE_SIZE => Some(Encoding::Dense),
        1 => Some(Encoding::Sparse),
        _ => None,
    }
}

/// The cached cardinality, if it is not stale.
pub fn cached(bytes: &[u8]) -> Option<u64> {
    let card: [u8; 8] = bytes.get(8..16)?.try_into().ok()?;
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card))
}

/// Stores `card` as the cached cardinality (valid).
pub fn set_cached(bytes: &mut [u8], card: u64) {
    bytes[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Marks the cached cardinality stale.
pub fn invalidate(bytes: &mut [u8]) {
    bytes[15] |= 0x80;
}

/// A new, empty value: sparse, one XZERO opcode covering every register, and a cached
/// cardinality of 0.
pub fn new_sparse() -> Vec<u8> {
    let mut v = vec![0; HDR];
    v[..4].copy_from_slice(b"HYLL");
    v[4] = 1;
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        v.extend_from_slice(&xzero(run));
        left -= run;
    }
    v
}

// Dense registers.

/// Register `i` of a dense register array.
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let (byte, shift) = (i * 6 / 8, i * 6 % 8);
    let lo = regs.get(byte).map_or(0, |&b| b >> shift);
    let hi = regs
        .get(byte + 1)
        .map_or(0, |&b| ((u16::from(b) << (8 - shift)) & 0xff) as u8);
    (lo | hi) & 63
}

/// Sets register `i` of a dense register array to `v` (0 to 63).
pub fn dense_set(regs: &mut [u8], i: usize, v: u8) {
    let (byte, shift) = (i * 6 / 8, i * 6 % 8);
    let (v, mask) = (u16::from(v) << shift, 63u16 << shift);
    if let Some(b) = regs.get_mut(byte) {
        *b = (*b & !(mask as u8)) | v as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = (*b & !((mask >> 8) as u8)) | (v >> 8) as u8;
    }
}

/// Raises register `i` to `count` if it is lower; whether it changed.
fn dense_raise(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_set(regs, i, count);
        true
    } else {
        false
    }
}

// Sparse opcodes.

/// A sparse opcode as read from its first byte (and the next one for XZERO).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// A run of zero registers, and its opcode's length in bytes.
    Zero(usize, usize),
    /// A run of registers holding the same value.
    Val(u8, usize),
}

/// The opcode at `p` of `s` (a byte past the end reads 0, as Redis reads the NUL).
fn op_at(s: &[u8], p: usize) -> Op {
    let b = s[p];
    match b & 0xc0 {
        0x00 => Op::Zero(usize::from(b & 0x3f) + 1, 1),
        0x40 => {
            let lo = s.get(p + 1).copied().unwrap_or(0);
            Op::Zero((usize::from(b & 0x3f) << 8 | usize::from(lo)) + 1, 2)
        }
        _ => Op::Val((b >> 2 & 0x1f) + 1, usize::from(b & 3) + 1),
    }
}

/// The span of each one-byte opcode (ZERO and VAL) by its byte; 0 for an XZERO's first
/// byte, whose span needs the next byte too.
const SHORT_SPAN: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b & 0xc0 {
            0x00 => (b & 0x3f) as u16 + 1,
            0x40 => 0,
            _ => (b & 3) as u16 + 1,
        };
        b += 1;
    }
    t
};

/// The span and byte length of the opcode at `p` of `s`, as [`op_at`] reads it, but
/// without branching on the opcode's kind: the sparse walk of every add goes through
/// opcodes whose kinds alternate unpredictably, and a mispredicted branch per opcode
/// costs more than a table lookup and a mask.
#[inline]
fn span_len(s: &[u8], p: usize) -> (usize, usize) {
    let b = usize::from(s[p]);
    let next = usize::from(s.get(p + 1).copied().unwrap_or(0));
    let is_xzero = usize::from(b >> 6 == 1);
    let xzero_span = ((b & 0x3f) << 8 | next) + 1;
    let span = usize::from(SHORT_SPAN[b]) | (xzero_span & is_xzero.wrapping_neg());
    (span, 1 + is_xzero)
}

impl Op {
    /// The number of registers the opcode covers.
    fn span(self) -> usize {
        match self {
            Op::Zero(run, _) | Op::Val(_, run) => run,
        }
    }

    /// The opcode's length in bytes.
    fn len(self) -> usize {
        match self {
            Op::Zero(_, len) => len,
            Op::Val(..) => 1,
        }
    }
}

/// A VAL opcode.
fn val(v: u8, run: usize) -> u8 {
    0x80 | (v - 1) << 2 | (run - 1) as u8
}

/// An XZERO opcode.
fn xzero(run: usize) -> [u8; 2] {
    let l = run - 1;
    [0x40 | (l >> 8) as u8, (l & 0xff) as u8]
}

/// The opcodes that replace one when a register changes: at most five bytes (XZERO,
/// VAL, XZERO), kept on the stack rather than allocated for every add.
struct Seq {
    bytes: [u8; 5],
    len: usize,
}

impl Seq {
    fn new() -> Seq {
        Seq {
            bytes: [0; 5],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    fn len(&self) -> usize {
        self.len
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A run of zeros as the shorter opcode that holds it, appended to `seq`.
fn push_zeros(seq: &mut Seq, run: usize) {
    if run > SPARSE_ZERO_MAX_LEN {
        xzero(run).into_iter().for_each(|b| seq.push(b));
    } else {
        seq.push((run - 1) as u8);
    }
}

/// Walks the opcodes of a sparse value's register part, calling `f(first register,
/// opcode)`; stops early if `f` says so. Returns the number of registers covered.
fn walk(ops: &[u8], mut f: impl FnMut(usize, Op) -> bool) -> usize {
    let (mut p, mut idx) = (0, 0);
    while p < ops.len() {
        let op = op_at(ops, p);
        if !f(idx, op) {
            break;
        }
        idx += op.span();
        p += op.len();
    }
    idx
}

/// Converts a sparse value to dense in place (Redis's `hllSparseToDense`), keeping the
/// header. Returns whether it converted (false: it was dense already).
pub fn to_dense(buf: &mut impl Buf) -> Result<bool, Corrupt> {
    let s = buf.bytes();
    if s[4] == 0 {
        return Ok(false);
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&s[..HDR]);
    dense[4] = 0;
    let regs = &mut dense[HDR..];
    // A VAL run past the last register is corrupt even after a full cover (the fix of
    // CVE-2025-32023, which the reference 7.0.15 build carries).
    let mut overflow = false;
    let covered = walk(&s[HDR..], |idx, op| match op {
        Op::Zero(..) => true,
        Op::Val(_, run) if idx + run > REGISTERS => {
            overflow = true;
            false
        }
        Op::Val(v, run) => {
            (idx..idx + run).for_each(|i| dense_set(regs, i, v));
            true
        }
    });
    if overflow || covered != REGISTERS {
        return Err(Corrupt);
    }
    buf.resize(DENSE_SIZE);
    buf.bytes_mut().copy_from_slice(&dense);
    Ok(true)
}

/// Raises register `index` of a sparse value to `count` if lower (Redis's
/// `hllSparseSet`), splitting the opcode that covers it, merging equal neighbours, and
/// converting to dense when `count` is above 32 or the value would grow past
/// `max_bytes`. Whether the register changed.
fn sparse_set(
    buf: &mut impl Buf,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX {
        return promote(buf, index, count);
    }
    let s = buf.bytes();
    let end = s.len();
    // Step 1: the opcode covering `index`, its first register and the previous opcode.
    let (mut p, mut first, mut prev) = (HDR, 0, None);
    loop {
        if p >= end {
            return Err(Corrupt);
        }
        let (span, len) = span_len(s, p);
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += len;
        first += span;
    }
    let op = op_at(s, p);
    // Step 2: the trivial cases, updated in place.
    let mut seq = Seq::new();
    match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1, 1) => {
            buf.bytes_mut()[p] = val(count, 1);
            merge_neighbours(buf, prev.unwrap_or(HDR));
            return Ok(true);
        }
        Op::Zero(span, _) => {
            let last = first + span - 1;
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        Op::Val(cur, span) => {
            let last = first + span - 1;
            if index != first {
                seq.push(val(cur, index - first));
            }
            seq.push(val(count, 1));
            if index != last {
                seq.push(val(cur, last - index));
            }
        }
    }
    // Step 3: the new opcodes replace the old one, unless that grows the value too much.
    let old_len = op.len();
    let new_len = end + seq.len() - old_len;
    if seq.len() > old_len && new_len > max_bytes {
        return promote(buf, index, count);
    }
    // The bytes after the opcode move (a truncated XZERO at the end has none).
    let tail_from = (p + old_len).min(end);
    if new_len > end {
        buf.resize(new_len);
    }
    let bytes = buf.bytes_mut();
    if tail_from < end {
        bytes.copy_within(tail_from..end, p + seq.len());
    }
    let fit = seq.len().min(new_len - p);
    bytes[p..p + fit].copy_from_slice(&seq.as_slice()[..fit]);
    if new_len < end {
        buf.resize(new_len);
    }
    merge_neighbours(buf, prev.unwrap_or(HDR));
    Ok(true)
}

/// Step 4 of an update: merges adjacent VAL opcodes of equal value whose runs fit in
/// one, looking at up to five opcodes from `from`; then marks the cache stale. Works on
/// the bytes in place and cuts the string once at the end.
fn merge_neighbours(buf: &mut impl Buf, from: usize) {
    let bytes = buf.bytes_mut();
    let len = bytes.len();
    let mut end = len;
    let mut p = from;
    let mut left = 5;
    while p < end && left > 0 {
        left -= 1;
        let b = bytes[p];
        if b & 0xc0 == 0x40 {
            p += 2;
            continue;
        } else if b & 0xc0 == 0 {
            p += 1;
            continue;
        }
        let next = if p + 1 < end { bytes[p + 1] } else { 0 };
        if next & 0x80 != 0 {
            let (v1, l1) = ((b >> 2 & 0x1f) + 1, usize::from(b & 3) + 1);
            let (v2, l2) = ((next >> 2 & 0x1f) + 1, usize::from(next & 3) + 1);
            if v1 == v2 && l1 + l2 <= SPARSE_VAL_MAX_LEN {
                bytes[p + 1] = val(v1, l1 + l2);
                bytes.copy_within(p + 1..end, p);
                end -= 1;
                // Again from the same place: the merged run may join the next.
                continue;
            }
        }
        p += 1;
    }
    invalidate(bytes);
    if end < len {
        buf.resize(end);
    }
}

/// Converts to dense, then raises the register (which must change).
fn promote(buf: &mut impl Buf, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(buf)?;
    dense_raise(&mut buf.bytes_mut()[HDR..], index, count);
    Ok(true)
}

/// Raises register `index` to `count` if lower, in either encoding; whether it changed.
/// The cached cardinality is left alone on the dense path, as in Redis: callers
/// invalidate it when they report a change.
pub fn set_register(
    buf: &mut impl Buf,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if buf.bytes()[4] == 0 {
        Ok(dense_raise(&mut buf.bytes_mut()[HDR..], index, count))
    } else {
        sparse_set(buf, index, count, max_bytes)
    }
}

/// Adds an element (Redis's `hllAdd`): whether a register changed.
pub fn add(buf: &mut impl Buf, ele: &[u8], max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(ele);
    set_register(buf, index, count, max_bytes)
}

// Counting.

/// How many registers hold each value.
type Histogram = [u32; 64];

/// The histogram of a value's registers; `Corrupt` if sparse opcodes do not cover
/// exactly the registers.
fn histogram(bytes: &[u8]) -> Result<Histogram, Corrupt> {
    let mut h = [0u32; 64];
    if bytes[4] == 0 {
        let regs = &bytes[HDR..];
        // Four registers in every three bytes.
        for c in regs.chunks_exact(3) {
            let w = u32::from(c[0]) | u32::from(c[1]) << 8 | u32::from(c[2]) << 16;
            h[(w & 63) as usize] += 1;
            h[(w >> 6 & 63) as usize] += 1;
            h[(w >> 12 & 63) as usize] += 1;
            h[(w >> 18 & 63) as usize] += 1;
        }
        return Ok(h);
    }
    let covered = walk(&bytes[HDR..], |_, op| {
        match op {
            Op::Zero(run, _) => h[0] += run as u32,
            Op::Val(v, run) => h[usize::from(v)] += run as u32,
        }
        true
    });
    if covered == REGISTERS {
        Ok(h)
    } else {
        Err(Corrupt)
    }
}

/// The histogram of registers held one per byte (a merge's result).
fn raw_histogram(regs: &[u8]) -> Histogram {
    let mut h = [0u32; 64];
    for &r in regs {
        h[usize::from(r & 63)] += 1;
    }
    h
}

/// Ertl's sigma, for the registers still at zero.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// Ertl's tau, for the registers at the largest value.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate from a register histogram (Ertl's improved estimator,
/// "New cardinality estimation algorithms for HyperLogLog sketches", as Redis 7.0
/// computes it, so that the results agree to the unit).
fn estimate(h: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(h[Q as usize + 1])) / m);
    for j in (1..=Q as usize).rev() {
        z += f64::from(h[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(h[0]) / m);
    let e = (ALPHA_INF * m * m / z).round();
    // Redis rounds with `llroundl`, which gives x86's "integer indefinite" (i64::MIN)
    // for what does not fit: a hand-made value of huge registers counts as that bit
    // pattern (its top bit even marks the cache stale).
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if (-LIMIT..LIMIT).contains(&e) {
        e as i64 as u64
    } else {
        i64::MIN as u64
    }
}

/// The cardinality of a checked value, computed from its registers.
pub fn count(bytes: &[u8]) -> Result<u64, Corrupt> {
    histogram(bytes).map(|h| estimate(&h))
}

/// The cardinality of merged registers (one per byte).
pub fn count_raw(regs: &[u8]) -> u64 {
    estimate(&raw_histogram(regs))
}

/// Raises each of `max` (one register per byte) to the value's register (Redis's
/// `hllMerge`).
pub fn merge_into(max: &mut [u8], bytes: &[u8]) -> Result<(), Corrupt> {
    if bytes[4] == 0 {
        let regs = &bytes[HDR..];
        for (i, m) in max.iter_mut().enumerate().take(REGISTERS) {
            *m = (*m).max(dense_get(regs, i));
        }
        return Ok(());
    }
    // As in [`to_dense`], a VAL run past the last register is corrupt.
    let mut overflow = false;
    let covered = walk(&bytes[HDR..], |idx, op| match op {
        Op::Zero(..) => true,
        Op::Val(_, run) if idx + run > REGISTERS => {
            overflow = true;
            false
        }
        Op::Val(v, run) => {
            for m in &mut max[idx..idx + run] {
                *m = (*m).max(v);
            }
            true
        }
    });
    if overflow || covered != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

// Debugging.

/// Every register of a dense value.
pub fn registers(bytes: &[u8]) -> Vec<u8> {
    (0..REGISTERS)
        .map(|i| dense_get(&bytes[HDR..], i))
        .collect()
}

/// A sparse value's opcodes as PFDEBUG DECODE prints them: `z:run`, `Z:run`,
/// `v:value,run`, space separated.
pub fn decode(bytes: &[u8]) -> String {
    let ops = &bytes[HDR..];
    let mut out = String::new();
    walk(ops, |_, op| {
        let word = match op {
            Op::Zero(run, 1) => format!("z:{run} "),
            Op::Zero(run, _) => format!("Z:{run} "),
            Op::Val(v, run) => format!("v:{v},{run} "),
        };
        out.push_str(&word);
        true
    });
    out.trim_matches(' ').to_string()
}

/// PFSELFTEST: register access, and the estimate's error up to ten million elements
/// with a dense and a sparse value that must agree. `Err` holds the failure's message.
pub fn self_test(rng: &mut crate::util::rand::Rng, max_bytes: usize) -> Result<(), String> {
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..4].copy_from_slice(b"HYLL");
    let mut expect = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (i, e) in expect.iter_mut().enumerate() {
            *e = (rng.next_u64() & 63) as u8;
            dense_set(&mut dense[HDR..], i, *e);
        }
        for (i, &e) in expect.iter().enumerate() {
            let got = dense_get(&dense[HDR..], i);
            if got != e {
                return Err(format!(
                    "TESTFAILED Register {i} should be {e} but is {got}"
                ));
            }
        }
    }
    dense[HDR..].fill(0);
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let seed = rng.next_u64();
    let mut checkpoint: u64 = 1;
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_ne_bytes();
        let (index, c) = pattern(&ele);
        dense_raise(&mut dense[HDR..], index, c);
        set_register(&mut sparse, index, c, max_bytes).map_err(|_| "TESTFAILED corrupt")?;
        if j != checkpoint {
            continue;
        }
        if j < (max_bytes / 2) as u64 && sparse[4] != 1 {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let card = count(&dense).map_err(|_| "TESTFAILED corrupt")?;
        if count(&sparse) != Ok(card) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        let abserr = checkpoint.abs_diff(card);
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rand::Rng;

    /// A dense copy of a value, built register by register from its elements.
    fn dense_of(elements: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
        let mut v = new_sparse();
        to_dense(&mut v).unwrap();
        for e in elements {
            add(&mut v, &e, 3000).unwrap();
        }
        v
    }

    #[test]
    fn a_new_value_is_sparse_and_empty() {
        let v = new_sparse();
        assert_eq!(v.len(), HDR + 2);
        assert_eq!(check(&v), Some(Encoding::Sparse));
        assert_eq!(decode(&v), "Z:16384");
        assert_eq!(cached(&v), Some(0));
        assert_eq!(count(&v), Ok(0));
    }

    #[test]
    fn bytes_match_redis_after_a_few_adds() {
        // GET after `PFADD h a b c d e f g` on redis-server 7.0.15.
        let mut expected = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
        expected.extend_from_slice(&[
            0x46, 0x6d, 0x80, 0x56, 0x0c, 0x80, 0x44, 0x3c, 0x84, 0x38, 0x80, 0x50, 0xb1, 0x84,
            0x49, 0x8c, 0x80, 0x42, 0x6d, 0x80, 0x42, 0x5a,
        ]);
        let mut v = new_sparse();
        for e in ["a", "b", "c", "d", "e", "f", "g"] {
            assert_eq!(add(&mut v, e.as_bytes(), 3000), Ok(true));
        }
        invalidate(&mut v);
        assert_eq!(v, expected);
        assert_eq!(count(&v), Ok(7));
        assert_eq!(
            add(&mut v, b"a", 3000),
            Ok(false),
            "no register changes twice"
        );
    }

    #[test]
    fn dense_registers_keep_their_neighbours() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR];
        let mut rng = Rng::new(7);
        let mut model = vec![0u8; REGISTERS];
        for _ in 0..50_000 {
            let i = rng.below(REGISTERS as u64) as usize;
            let v = (rng.next_u64() & 63) as u8;
            dense_set(&mut regs, i, v);
            model[i] = v;
        }
        for (i, &v) in model.iter().enumerate() {
            assert_eq!(dense_get(&regs, i), v, "register {i}");
        }
    }

    #[test]
    fn sparse_and_dense_agree_and_estimate_well() {
        let mut rng = Rng::new(11);
        let mut sparse = new_sparse();
        let mut dense = dense_of(std::iter::empty());
        let mut seen_dense = false;
        for n in 1..=20_000u64 {
            let e = rng.next_u64().to_le_bytes();
            let a = add(&mut sparse, &e, 3000).unwrap();
            let b = add(&mut dense, &e, 3000).unwrap();
            assert_eq!(a, b, "the same register changes in both");
            seen_dense |= sparse[4] == 0;
            if n % 1000 == 0 || n < 20 {
                let (cs, cd) = (count(&sparse).unwrap(), count(&dense).unwrap());
                assert_eq!(cs, cd);
                let err = (cd as f64 - n as f64).abs() / n as f64;
                assert!(err < 0.05, "{n} counted as {cd}");
            }
        }
        assert!(seen_dense, "the sparse value grew past 3000 bytes");
        assert!(sparse[HDR..] == dense[HDR..], "the same registers");
    }

    #[test]
    fn a_register_above_32_or_growth_past_the_limit_makes_it_dense() {
        let mut v = new_sparse();
        assert_eq!(set_register(&mut v, 5, 32, 3000), Ok(true));
        assert_eq!(check(&v), Some(Encoding::Sparse));
        assert_eq!(decode(&v), "z:5 v:32,1 Z:16378");
        assert_eq!(set_register(&mut v, 9, 33, 3000), Ok(true));
        assert_eq!(check(&v), Some(Encoding::Dense));
        assert_eq!(registers(&v)[5..10], [32, 0, 0, 0, 33]);

        // The split of the XZERO needs 3 more bytes: past 20, the value turns dense.
        let mut v = new_sparse();
        assert_eq!(set_register(&mut v, 1000, 1, 20), Ok(true));
        assert_eq!(check(&v), Some(Encoding::Dense));
        let mut v = new_sparse();
        assert_eq!(set_register(&mut v, 1000, 1, 21), Ok(true));
        assert_eq!(v.len(), 21);
        assert_eq!(decode(&v), "Z:1000 v:1,1 Z:15383");
    }

    #[test]
    fn adjacent_equal_values_merge() {
        let mut v = new_sparse();
        for i in [10, 11, 13, 12] {
            set_register(&mut v, i, 3, 3000).unwrap();
        }
        assert_eq!(decode(&v), "z:10 v:3,4 Z:16370");
        set_register(&mut v, 14, 3, 3000).unwrap();
        assert_eq!(
            decode(&v),
            "z:10 v:3,4 v:3,1 Z:16369",
            "a VAL holds at most 4"
        );
        set_register(&mut v, 11, 5, 3000).unwrap();
        // The split leaves v:3,2 next to v:3,1, which the scan after it merges.
        assert_eq!(decode(&v), "z:10 v:3,1 v:5,1 v:3,3 Z:16369");
        assert_eq!(cached(&v), None, "the cache is stale after a change");
    }

    #[test]
    fn an_estimate_that_does_not_fit_is_the_integer_indefinite() {
        let mut v = new_sparse();
        to_dense(&mut v).unwrap();
        v[HDR..].fill(0xff);
        assert_eq!(count(&v), Ok(i64::MIN as u64), "every register at 63");
        v[HDR..].fill(0);
        assert_eq!(count(&v), Ok(0));
    }

    #[test]
    fn the_cache_round_trips() {
        let mut v = new_sparse();
        set_cached(&mut v, 12345);
        assert_eq!(cached(&v), Some(12345));
        invalidate(&mut v);
        assert_eq!(cached(&v), None);
    }

    #[test]
    fn corrupt_values_are_refused() {
        assert_eq!(check(b"HYLL"), None, "shorter than the header");
        assert_eq!(check(b"HYLX\x01\0\0\0\0\0\0\0\0\0\0\0"), None, "magic");
        assert_eq!(check(b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\0"), None, "encoding");
        assert_eq!(
            check(b"HYLL\0\0\0\0\0\0\0\0\0\0\0\0"),
            None,
            "dense of the wrong size"
        );
        // Valid headers whose opcodes cover too few or too many registers.
        let short = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xfe".to_vec();
        assert_eq!(check(&short), Some(Encoding::Sparse));
        assert_eq!(count(&short), Err(Corrupt));
        assert_eq!(to_dense(&mut short.clone()), Err(Corrupt));
        assert_eq!(merge_into(&mut [0; REGISTERS], &short), Err(Corrupt));
        let mut long = new_sparse();
        long.push(0);
        assert_eq!(count(&long), Err(Corrupt));
        // A VAL past a full cover: corrupt for every reader (as the reference build).
        let mut past = new_sparse();
        past.push(val(1, 1));
        assert_eq!(count(&past), Err(Corrupt));
        assert_eq!(to_dense(&mut past.clone()), Err(Corrupt));
        assert_eq!(merge_into(&mut [0; REGISTERS], &past), Err(Corrupt));
        let mut empty = new_sparse();
        empty.truncate(HDR);
        assert_eq!(add(&mut empty, b"x", 3000), Err(Corrupt));
        assert_eq!(count(&empty), Err(Corrupt));
        // A truncated XZERO reads a zero second byte, as Redis reads the NUL.
        let truncated = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x40".to_vec();
        assert_eq!(decode(&truncated), "Z:1");
    }

    #[test]
    fn merged_registers_count_as_the_union() {
        let mut a = new_sparse();
        let mut b = new_sparse();
        let mut both = new_sparse();
        for i in 0..3000u32 {
            let e = i.to_le_bytes();
            if i % 2 == 0 {
                add(&mut a, &e, 3000).unwrap();
            } else {
                add(&mut b, &e, 3000).unwrap();
            }
            add(&mut both, &e, 3000).unwrap();
        }
        let mut max = vec![0u8; REGISTERS];
        merge_into(&mut max, &a).unwrap();
        merge_into(&mut max, &b).unwrap();
        assert_eq!(count_raw(&max), count(&both).unwrap());
    }

    #[test]
    fn the_branchless_opcode_reader_agrees_with_op_at() {
        for b in 0..=255u8 {
            for next in [0u8, 1, 0x7f, 0xff] {
                let op = op_at(&[b, next], 0);
                assert_eq!(
                    span_len(&[b, next], 0),
                    (op.span(), op.len()),
                    "{b:#x} {next:#x}"
                );
            }
            // At the very end, a missing second byte reads as 0.
            let op = op_at(&[b], 0);
            assert_eq!(
                span_len(&[b], 0),
                (op.span(), op.len()),
                "{b:#x} at the end"
            );
        }
    }

    #[test]
    fn murmur_reads_words_little_endian() {
        // The tail bytes and the words must mix the same way whatever the length.
        let data: Vec<u8> = (0..23u8).collect();
        let hashes: Vec<u64> = (0..data.len())
            .map(|n| murmur64a(&data[..n], SEED))
            .collect();
        let mut unique = hashes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), hashes.len());
        assert_ne!(murmur64a(b"a", SEED), murmur64a(b"a", 0));
    }
}
