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
pub mod clock;
pub mod effects;
pub mod evict;
pub mod expire;
pub mod hash;
pub mod hll;
pub mod list;
pub mod memory;
pub mod packed;
pub mod set;
pub mod stream;
pub mod table;
pub mod value;
pub mod watch;
pub mod zset;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use effects::{class, Effects, Event, Op, Own, Wanted};
pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use stream::{Stream, StreamId};
pub use value::{Limits, Value, ValueRef};
pub use zset::ZSet;

use table::{Incremental, KeyHash, Keyed, Slot, Table};

/// The keyspace's table: it rehashes incrementally, as Redis's keyspace `dict` does.
type Keys = Table<Entry, Incremental<Entry>>;

use crate::util::glob;
use crate::util::rand::Rng;

/// A key held outside the table (the TTL index, ready keys).
pub type Key = Box<[u8]>;

/// One stored key: its key bytes, value, expiry and access clock, in as few allocations
/// as possible.
///
/// A string value shares one buffer with its key (the key's length as a varint, the
/// key, then the value), as Redis embeds an `sds` in its `robj`. Up to [`INLINE_MAX`]
/// bytes that buffer sits in the entry itself, so a short key with a short string costs
/// one table node and nothing else; a longer one costs the node plus one allocation. A
/// small hash, set or sorted set is likewise one buffer with its key (see [`packed`]);
/// lists and streams live behind a box.
///
/// The table node holding an entry is 56 bytes (a test keeps it so), one 64-byte malloc
/// chunk: memory per key is a tracked benchmark. That is why the key's length rides in
/// the buffer, leaving `meta` room for the 24 bits of access clock Redis keeps in each
/// object (see [`clock`]) beside the two bits of string history OBJECT ENCODING needs.
#[derive(Debug)]
pub struct Entry {
    body: Body,
    /// The access clock in the low 24 bits (see [`clock`]), and the [`StrOrigin`] in the
    /// top 2. Atomic, so that readers can record their access under the read lock.
    meta: AtomicU32,
    /// Where this key sits in [`Db::ttl_keys`] while it has an expiry.
    ttl_slot: u32,
    /// Absolute expiry in Unix milliseconds; 0 means none.
    expires_at: u64,
}

/// The key and the value of an [`Entry`], in as few allocations as the type allows.
#[derive(Debug)]
enum Body {
    /// The key, then the string value, in one buffer.
    Str(Vec<u8>),
    /// The same buffer as `Str`'s when it is at most [`INLINE_MAX`] bytes, held in the
    /// entry: no allocation besides the table node. Only `len` bytes of `buf` are the
    /// buffer; the rest is leftover.
    Inline {
        len: u8,
        buf: [u8; INLINE_MAX],
    },
    /// Hashes, sets and sorted sets keep the key themselves, in the buffer of their
    /// compact encodings: a small one and its key are then a single allocation, as
    /// the type's packed form plus the key is all Redis allocates besides its
    /// `dictEntry` and `robj`.
    Hash(Hash),
    Set(Set),
    ZSet(ZSet),
    /// The key, and a list or a stream.
    Boxed(Box<[u8]>, Box<Value>),
}

/// The longest string buffer (key length, key, value) a [`Body`] holds inline: what is
/// left of the 32 bytes a `Vec` variant takes once the tag and the length are stored,
/// so that inlining does not grow the entry (a test keeps `Body` at 32 bytes).
const INLINE_MAX: usize = 30;

const ORIGIN_SHIFT: u32 = 30;
const CLOCK_MASK: u32 = clock::LRU_CLOCK_MAX;

/// How a string value was last written, which decides what OBJECT ENCODING and OBJECT
/// REFCOUNT report for it, as Redis's object history does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOrigin {
    /// Set whole (SET, MSET, GETSET, INCR, a dump load...): encoded as Redis's
    /// `tryObjectEncoding` does, `int` when it is a canonical 64-bit integer of at most
    /// 20 bytes (a shared object when 0 to 9999), else `embstr` up to 44 bytes, else
    /// `raw`.
    Set = 0,
    /// Changed in place (APPEND, SETRANGE, SETBIT, BITFIELD, which [`StrMut`]'s in-place
    /// writers record by themselves), or built as a raw string (BITOP's destination,
    /// which must say so with [`Entry::set_origin`]): `raw`, whatever the content.
    Modified = 1,
    /// Built as a plain string that is never made an integer (INCRBYFLOAT's result,
    /// COPY of an `embstr`): `embstr` up to 44 bytes, else `raw`.
    Plain = 2,
    /// A private copy of an integer (COPY of an `int`): `int`, never shared.
    CopiedInt = 3,
}

impl StrOrigin {
    fn from_bits(bits: u32) -> StrOrigin {
        match bits & 3 {
            0 => StrOrigin::Set,
            1 => StrOrigin::Modified,
            2 => StrOrigin::Plain,
            _ => StrOrigin::CopiedInt,
        }
    }
}

/// Redis's `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
const EMBSTR_MAX: usize = 44;

/// Redis's `OBJ_SHARED_INTEGERS`: integers below it are shared objects.
const SHARED_INTEGERS: i64 = 10_000;

/// The smallest memory account (bytes) for which [`Db::prefetch`] is worth its hashing:
/// a smaller dataset mostly stays in a core's own cache.
pub const PREFETCH_MIN_BYTES: usize = 1 << 20;

/// The refcount Redis reports for a shared object (`OBJ_SHARED_REFCOUNT`).
pub const SHARED_REFCOUNT: i64 = i32::MAX as i64;

impl table::Keyed for Entry {
    fn key(&self) -> &[u8] {
        match &self.body {
            Body::Str(kv) => {
                let (start, end) = key_span(kv);
                &kv[start..end]
            }
            Body::Inline { len, buf } => {
                let kv = &buf[..*len as usize];
                let (start, end) = key_span(kv);
                &kv[start..end]
            }
            Body::Hash(h) => h.key(),
            Body::Set(s) => s.key(),
            Body::ZSet(z) => z.key(),
            Body::Boxed(key, _) => key,
        }
    }
}

impl Body {
    /// The body holding `value` under `key`.
    fn new(key: &[u8], value: Value) -> Body {
        match value {
            Value::Str(s) if str_key_room(key) + s.len() <= INLINE_MAX => Body::string(key, &s),
            Value::Str(s) => Body::Str(str_buffer_from(key, s)),
            Value::Hash(mut h) => {
                h.set_key(key);
                Body::Hash(h)
            }
            Value::Set(mut s) => {
                s.set_key(key);
                Body::Set(s)
            }
            Value::ZSet(mut z) => {
                z.set_key(key);
                Body::ZSet(z)
            }
            other => Body::Boxed(key.into(), Box::new(other)),
        }
    }

    /// The string body holding `value` under `key`: inline when it fits.
    fn string(key: &[u8], value: &[u8]) -> Body {
        let mut len = [0u8; 10];
        let at = write_varint(&mut len, key.len());
        Body::string_of(&[&len[..at], key, value])
    }

    /// The string body whose buffer is `parts` end to end (the key's length and the key,
    /// then the value): inline when it fits, else in an exactly sized buffer.
    fn string_of(parts: &[&[u8]]) -> Body {
        let total = parts.iter().map(|p| p.len()).sum();
        if total <= INLINE_MAX {
            let (mut buf, mut at) = ([0u8; INLINE_MAX], 0);
            for part in parts {
                buf[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
            return Body::Inline {
                len: total as u8,
                buf,
            };
        }
        let mut kv = Vec::with_capacity(total);
        for part in parts {
            kv.extend_from_slice(part);
        }
        Body::Str(kv)
    }

    /// A string body's buffer (the key's length, the key, the value), wherever it is;
    /// `None` for other types.
    #[inline]
    fn kv(&self) -> Option<&[u8]> {
        match self {
            Body::Str(kv) => Some(kv),
            Body::Inline { len, buf } => Some(&buf[..*len as usize]),
            _ => None,
        }
    }
}

/// Where the key sits in an entry's buffer: after its length, a LEB128 varint (one byte
/// for keys shorter than 128 bytes). The value follows the key.
#[inline]
fn key_span(kv: &[u8]) -> (usize, usize) {
    let first = kv[0];
    if first < 0x80 {
        return (1, 1 + first as usize);
    }
    let (mut len, mut shift, mut at) = (0usize, 0, 0);
    loop {
        let byte = kv[at];
        len |= usize::from(byte & 0x7f) << shift;
        at += 1;
        if byte < 0x80 {
            return (at, at + len);
        }
        shift += 7;
    }
}

/// A string entry's buffer: the key's length, the key, then the value.
fn str_buffer(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut kv = Vec::with_capacity(varint_len(key.len()) + key.len() + value.len());
    put_varint(&mut kv, key.len());
    kv.extend_from_slice(key);
    kv.extend_from_slice(value);
    kv
}

/// The bytes an entry's string buffer holds before the value: the key's length and the
/// key. A value built with this much spare capacity (see [`str_key_room`]) becomes the
/// entry's buffer without a new allocation.
pub fn str_key_room(key: &[u8]) -> usize {
    varint_len(key.len()) + key.len()
}

/// [`str_buffer`] taking `value`'s own buffer when its spare capacity is exactly the
/// room for the key in front (a buffer built for it; any other is copied into an exactly
/// sized one, as the memory account expects).
fn str_buffer_from(key: &[u8], mut value: Vec<u8>) -> Vec<u8> {
    let room = str_key_room(key);
    if value.capacity() - value.len() != room {
        return str_buffer(key, &value);
    }
    let len = value.len();
    value.resize(len + room, 0);
    value.copy_within(0..len, room);
    let at = write_varint(&mut value[..room], key.len());
    value[at..room].copy_from_slice(key);
    value
}

/// Appends `n` as a LEB128 varint.
fn put_varint(out: &mut Vec<u8>, n: usize) {
    let mut bytes = [0u8; 10];
    let len = write_varint(&mut bytes, n);
    out.extend_from_slice(&bytes[..len]);
}

/// Writes `n` as a LEB128 varint at the start of `out` (which has room for
/// [`varint_len`] bytes), returning how many bytes it took.
fn write_varint(out: &mut [u8], mut n: usize) -> usize {
    let mut at = 0;
    while n >= 0x80 {
        out[at] = (n as u8) | 0x80;
        n >>= 7;
        at += 1;
    }
    out[at] = n as u8;
    at + 1
}

impl Entry {
    fn new(key: &[u8], value: Value) -> Entry {
        Entry {
            body: Body::new(key, value),
            meta: AtomicU32::new(0),
            ttl_slot: 0,
            expires_at: 0,
        }
    }

    fn new_str(key: &[u8], value: &[u8]) -> Entry {
        Entry {
            body: Body::string(key, value),
            meta: AtomicU32::new(0),
            ttl_slot: 0,
            expires_at: 0,
        }
    }

    /// Where a string value starts in its buffer (after the key); 0 for other types.
    fn key_len(&self) -> usize {
        self.body.kv().map_or(0, |kv| key_span(kv).1)
    }

    /// The access clock's bits (see [`clock`]).
    pub fn clock_bits(&self) -> u32 {
        self.meta.load(Ordering::Relaxed) & CLOCK_MASK
    }

    /// Sets the access clock's bits, keeping the origin bits.
    pub fn set_clock_bits(&self, bits: u32) {
        let meta = self.meta.load(Ordering::Relaxed);
        self.meta.store(
            (meta & !CLOCK_MASK) | (bits & CLOCK_MASK),
            Ordering::Relaxed,
        );
    }

    /// Records an access (Redis's `lookupKey` without `LOOKUP_NOTOUCH`).
    #[inline]
    pub fn touch(&self, clock: &clock::Clock) {
        // Written only when it changes (an LRU time moves once a second): readers of a
        // hot key on other cores keep their copy of its cache line.
        let (old, new) = (self.clock_bits(), clock.accessed(self.clock_bits()));
        if old != new {
            self.set_clock_bits(new);
        }
    }

    /// The key.
    pub fn key(&self) -> &[u8] {
        table::Keyed::key(self)
    }

    /// The value.
    pub fn value(&self) -> ValueRef<'_> {
        match &self.body {
            Body::Str(kv) => ValueRef::Str(&kv[key_span(kv).1..]),
            Body::Inline { len, buf } => {
                let kv = &buf[..*len as usize];
                ValueRef::Str(&kv[key_span(kv).1..])
            }
            Body::Hash(h) => ValueRef::Hash(h),
            Body::Set(s) => ValueRef::Set(s),
            Body::ZSet(z) => ValueRef::ZSet(z),
            Body::Boxed(_, v) => v.as_ref().as_ref(),
        }
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        self.value().type_name()
    }

    /// The string value, or `None` if the value is of another type.
    pub fn str(&self) -> Option<&[u8]> {
        match self.value() {
            ValueRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The string value for in-place changes, or `None` for another type.
    pub fn str_mut(&mut self) -> Option<StrMut<'_>> {
        match &mut self.body {
            body @ (Body::Str(_) | Body::Inline { .. }) => {
                Some(StrMut::new(body, self.meta.get_mut()))
            }
            _ => None,
        }
    }

    /// The list value, or `None` for another type.
    pub fn list(&self) -> Option<&List> {
        match self.value() {
            ValueRef::List(l) => Some(l),
            _ => None,
        }
    }

    /// The list value, writable, or `None` for another type.
    pub fn list_mut(&mut self) -> Option<&mut List> {
        match &mut self.body {
            Body::Boxed(_, v) => match &mut **v {
                Value::List(l) => Some(l),
                _ => None,
            },
            _ => None,
        }
    }

    /// The hash value, or `None` for another type.
    pub fn hash(&self) -> Option<&Hash> {
        match &self.body {
            Body::Hash(h) => Some(h),
            _ => None,
        }
    }

    /// The hash value, writable, or `None` for another type.
    pub fn hash_mut(&mut self) -> Option<&mut Hash> {
        match &mut self.body {
            Body::Hash(h) => Some(h),
            _ => None,
        }
    }

    /// The set value, or `None` for another type.
    pub fn as_set(&self) -> Option<&Set> {
        match &self.body {
            Body::Set(s) => Some(s),
            _ => None,
        }
    }

    /// The set value, writable, or `None` for another type.
    pub fn as_set_mut(&mut self) -> Option<&mut Set> {
        match &mut self.body {
            Body::Set(s) => Some(s),
            _ => None,
        }
    }

    /// The sorted set value, or `None` for another type.
    pub fn zset(&self) -> Option<&ZSet> {
        match &self.body {
            Body::ZSet(z) => Some(z),
            _ => None,
        }
    }

    /// The sorted set value, writable, or `None` for another type.
    pub fn zset_mut(&mut self) -> Option<&mut ZSet> {
        match &mut self.body {
            Body::ZSet(z) => Some(z),
            _ => None,
        }
    }

    /// The stream value, or `None` for another type.
    pub fn stream(&self) -> Option<&Stream> {
        match self.value() {
            ValueRef::Stream(s) => Some(s),
            _ => None,
        }
    }

    /// The stream value, writable, or `None` for another type.
    pub fn stream_mut(&mut self) -> Option<&mut Stream> {
        match &mut self.body {
            Body::Boxed(_, v) => match &mut **v {
                Value::Stream(s) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }

    /// Replaces the value, keeping the key and the expiry.
    pub fn set_value(&mut self, value: Value) {
        match value {
            Value::Str(s) => self.set_str(&s),
            other => {
                self.set_origin(StrOrigin::Set);
                let body = Body::new(self.key(), other);
                self.body = body;
            }
        }
    }

    /// Replaces the value with a string, reusing the buffer when it fits.
    pub fn set_str(&mut self, value: &[u8]) {
        if self.body.kv().is_none() {
            self.body = Body::string(self.key(), b"");
        }
        StrMut::new(&mut self.body, self.meta.get_mut()).set(value);
    }

    /// The owned value, consuming the entry.
    pub fn into_value(self) -> Value {
        let key_len = self.key_len();
        match self.body {
            Body::Str(mut kv) => Value::Str(kv.split_off(key_len)),
            Body::Inline { len, buf } => Value::Str(buf[key_len..len as usize].to_vec()),
            Body::Hash(mut h) => {
                h.set_key(b"");
                Value::Hash(h)
            }
            Body::Set(mut s) => {
                s.set_key(b"");
                Value::Set(s)
            }
            Body::ZSet(mut z) => {
                z.set_key(b"");
                Value::ZSet(z)
            }
            Body::Boxed(_, v) => *v,
        }
    }

    /// The absolute expiry in Unix ms, if any.
    pub fn expires_at(&self) -> Option<u64> {
        (self.expires_at != 0).then_some(self.expires_at)
    }

    fn is_expired(&self, now_ms: u64) -> bool {
        // Redis's `keyIsExpired`: expired once now is past the expiry time, so at the
        // expiry millisecond itself the key is still there (and PTTL answers 0).
        self.expires_at != 0 && self.expires_at < now_ms
    }

    /// How the string value was last written (meaningless for other types).
    pub fn origin(&self) -> StrOrigin {
        StrOrigin::from_bits(self.meta.load(Ordering::Relaxed) >> ORIGIN_SHIFT)
    }

    /// Records how the string value was written (see [`StrOrigin`]), for the writers
    /// that store a value whole but not the way SET does: INCRBYFLOAT marks its result
    /// [`StrOrigin::Plain`], BITOP its destination [`StrOrigin::Modified`].
    pub fn set_origin(&mut self, origin: StrOrigin) {
        let meta = self.meta.get_mut();
        *meta = with_origin(*meta, origin);
    }

    /// Roughly how many allocations freeing the value takes (Redis's
    /// `lazyfreeGetFreeEffort`): one for a string or a compact collection, the node
    /// count of a list, the size of a hash table or skiplist.
    pub fn free_effort(&self) -> usize {
        free_effort(self.value())
    }

    /// The encoding OBJECT ENCODING reports, with Redis 7.0's names: `int`, `embstr` or
    /// `raw` for strings (see [`StrOrigin`]), `quicklist` for every list (7.0 has no
    /// listpack-encoded lists yet), and each collection's own for the others.
    pub fn encoding(&self) -> &'static str {
        let s = match self.value() {
            ValueRef::Str(s) => s,
            ValueRef::List(_) => return "quicklist",
            ValueRef::Hash(h) => return h.encoding(),
            ValueRef::Set(s) => return s.encoding(),
            ValueRef::ZSet(z) => return z.encoding(),
            ValueRef::Stream(_) => return "stream",
        };
        let by_len = if s.len() <= EMBSTR_MAX {
            "embstr"
        } else {
            "raw"
        };
        match self.origin() {
            StrOrigin::Modified => "raw",
            StrOrigin::Plain => by_len,
            StrOrigin::CopiedInt => "int",
            StrOrigin::Set if str_as_int(s).is_some() => "int",
            StrOrigin::Set => by_len,
        }
    }

    /// The reference count OBJECT REFCOUNT reports: [`SHARED_REFCOUNT`] for an integer
    /// Redis would have made a shared object (0 to 9999, set whole, while
    /// `shared_integers` says the eviction policy allows sharing), else 1.
    pub fn refcount(&self, shared_integers: bool) -> i64 {
        let shared = shared_integers
            && self.origin() == StrOrigin::Set
            && self
                .str()
                .and_then(str_as_int)
                .is_some_and(|v| (0..SHARED_INTEGERS).contains(&v));
        if shared {
            SHARED_REFCOUNT
        } else {
            1
        }
    }

    /// The same value and expiry under another key (RENAME). A string is copied into the
    /// new key's buffer; any other value moves as it is, taking the new key.
    pub fn rekeyed(self, key: &[u8]) -> Entry {
        let (origin, clock, expires_at) = (self.origin(), self.clock_bits(), self.expires_at);
        let mut entry = match self.str() {
            Some(value) => Entry::new_str(key, value),
            None => Entry::new(key, self.into_value()),
        };
        entry.set_origin(origin);
        entry.set_clock_bits(clock);
        entry.expires_at = expires_at;
        entry
    }

    /// A deep copy of the value and expiry under `key` (COPY). Like Redis's
    /// `dupStringObject`, a string copy keeps its encoding but is never a shared
    /// integer.
    pub fn duplicate(&self, key: &[u8]) -> Entry {
        let mut entry = Entry::new(key, self.value().to_owned());
        if self.body.kv().is_some() {
            entry.set_origin(match self.encoding() {
                "int" => StrOrigin::CopiedInt,
                "raw" => StrOrigin::Modified,
                _ => StrOrigin::Plain,
            });
        }
        entry.expires_at = self.expires_at;
        entry
    }
}

/// `meta` with its origin bits replaced.
fn with_origin(meta: u32, origin: StrOrigin) -> u32 {
    (meta & !(3 << ORIGIN_SHIFT)) | ((origin as u32) << ORIGIN_SHIFT)
}

/// How many bytes [`put_varint`] writes for `n`.
fn varint_len(n: usize) -> usize {
    (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize
}

/// The integer a string holds if Redis's `tryObjectEncoding` would encode it as one.
fn str_as_int(s: &[u8]) -> Option<i64> {
    if s.len() > 20 {
        return None;
    }
    crate::util::num::parse_i64(s)
}

/// A string value being changed in place (APPEND, INCR, SETRANGE...).
///
/// [`StrMut::set`] replaces the value whole (its encoding is then derived from its
/// content); the other writers change it in place, which makes it `raw` for OBJECT
/// ENCODING, as Redis unshares a string before changing it. The buffer stays in the
/// entry while it fits there (see [`INLINE_MAX`]) and moves to the heap once it grows
/// past it; [`StrMut::set`] brings a small enough value back inline.
pub struct StrMut<'a> {
    /// A string body: `Str` or `Inline`.
    body: &'a mut Body,
    meta: &'a mut u32,
    /// Where the value starts in the buffer (past the key and its length), read once:
    /// an HLL update looks at the bytes a dozen times.
    key_len: usize,
}

impl<'a> StrMut<'a> {
    /// The string of `body`, which must be a string body.
    fn new(body: &'a mut Body, meta: &'a mut u32) -> StrMut<'a> {
        let key_len = key_span(body.kv().expect("a string body")).1;
        StrMut {
            body,
            meta,
            key_len,
        }
    }
}

impl StrMut<'_> {
    /// The buffer: the key's length, the key, the value.
    fn kv(&self) -> &[u8] {
        self.body.kv().expect("a string body")
    }

    /// The value's offset in the buffer (the key never changes through this).
    fn key_len(&self) -> usize {
        self.key_len
    }

    fn mark(&mut self, origin: StrOrigin) {
        *self.meta = with_origin(*self.meta, origin);
    }

    /// The buffer on the heap, moved there first (with room for `extra` more bytes) if
    /// it was inline.
    fn heap(&mut self, extra: usize) -> &mut Vec<u8> {
        if let Body::Inline { len, buf } = &*self.body {
            let mut kv = Vec::with_capacity(*len as usize + extra);
            kv.extend_from_slice(&buf[..*len as usize]);
            *self.body = Body::Str(kv);
        }
        match self.body {
            Body::Str(kv) => kv,
            _ => unreachable!("moved to the heap above"),
        }
    }

    /// The current bytes.
    pub fn get(&self) -> &[u8] {
        &self.kv()[self.key_len()..]
    }

    /// The current length.
    pub fn len(&self) -> usize {
        self.kv().len() - self.key_len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces the bytes. A heap buffer is reused, and given back when it was far too
    /// big or the value now fits inline.
    pub fn set(&mut self, value: &[u8]) {
        self.mark(StrOrigin::Set);
        let key_len = self.key_len();
        match &mut *self.body {
            Body::Str(kv) if key_len + value.len() > INLINE_MAX => {
                kv.truncate(key_len);
                kv.extend_from_slice(value);
                if kv.capacity() > 64 && kv.capacity() > kv.len() * 2 {
                    kv.shrink_to_fit();
                }
            }
            Body::Inline { len, buf } if key_len + value.len() <= INLINE_MAX => {
                buf[key_len..key_len + value.len()].copy_from_slice(value);
                *len = (key_len + value.len()) as u8;
            }
            _ => {
                let body = Body::string_of(&[&self.kv()[..key_len], value]);
                *self.body = body;
            }
        }
    }

    /// Appends bytes (amortized O(1) per byte, as `Vec` grows geometrically).
    pub fn append(&mut self, more: &[u8]) {
        self.mark(StrOrigin::Modified);
        if let Body::Inline { len, buf } = &mut *self.body {
            let at = *len as usize;
            if at + more.len() <= INLINE_MAX {
                buf[at..at + more.len()].copy_from_slice(more);
                *len += more.len() as u8;
                return;
            }
        }
        self.heap(more.len()).extend_from_slice(more);
    }

    /// The bytes, writable (their length cannot change through this).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.mark(StrOrigin::Modified);
        let key_len = self.key_len();
        match &mut *self.body {
            Body::Str(kv) => &mut kv[key_len..],
            Body::Inline { len, buf } => &mut buf[key_len..*len as usize],
            _ => unreachable!("a string body"),
        }
    }

    /// Grows (with zero bytes) or cuts the string to `len` bytes.
    pub fn resize(&mut self, len: usize) {
        self.mark(StrOrigin::Modified);
        let key_len = self.key_len();
        if let Body::Inline { len: used, buf } = &mut *self.body {
            if key_len + len <= INLINE_MAX {
                // The bytes past the buffer are leftovers: zero the ones it grows over.
                buf[*used as usize..].fill(0);
                *used = (key_len + len) as u8;
                return;
            }
        }
        let extra = (key_len + len).saturating_sub(self.kv().len());
        self.heap(extra).resize(key_len + len, 0);
    }
}

/// One numbered database.
#[derive(Debug, Default)]
pub struct Db {
    table: Keys,
    /// Every key that has an expiry, in no order: the active expiry cycle walks it with a
    /// cursor. Each such entry knows its slot, so removal is a swap-remove.
    ttl_keys: Vec<Key>,
    /// The active expiry cycle's position in `ttl_keys`.
    expire_cursor: usize,
    /// Expired keys that readers met under the read lock, to remove after it, and (while
    /// `keymiss` events are on) the keys they missed, in the order met.
    stale: Mutex<Vec<(Note, Key)>>,
    has_stale: AtomicBool,
    /// Keys removed because they had expired (for INFO's `expired_keys`).
    pub expired_removed: u64,
    /// Keys that expired or were created since [`Keyspace`] last moved them into its
    /// effects record (an expired key fires an event, is invalidated and propagates a
    /// DEL; a new key fires `new`), in order.
    log: Vec<(Logged, Key)>,
    /// Whether new keys are logged (`notify-keyspace-events` has `n`).
    log_new: bool,
    /// Whether read lookups that miss are noted (`notify-keyspace-events` has `m`).
    log_miss: bool,
    /// A replica's database: expired keys read as missing but stay until the master's
    /// DEL, and writes (the master's) see them as they are (Redis's `expireIfNeeded`
    /// on a replica).
    replica: bool,
    /// Set when this database (or another of the same keyspace: they share the flag)
    /// logs or notes something, so that recording an effect looks at the databases only
    /// when one of them has something for it.
    pending: Arc<AtomicBool>,
    /// The keys clients WATCH (see [`watch`]); registered through [`Keyspace::watch`].
    pub(crate) watched: watch::Watched,
    /// The background save walking this database, if one is (see [`DbSnap`]).
    snap: Option<Box<DbSnap>>,
    /// The bucket array the table's next growth will move into, allocated by the cron
    /// without the lock (see [`Keyspace::spares_wanted`]): for a million keys, clearing
    /// a new 16 MB array would hold the write lock 5 to 10 ms.
    spare: Option<table::Buckets<Entry>>,
    /// How accesses update each key's clock (the eviction policy's kind).
    clock: clock::Clock,
    /// The memory account (see [`memory`]): what the keys cost, booked so far.
    used: usize,
    /// What the keys in `ttl_keys` cost besides the vector.
    ttl_key_bytes: usize,
    /// Keys a write looked up, which it may change in place, each with its cost then:
    /// (offset and length in `noted_keys`, cost, the key's hash for the second look).
    /// Settled when the command ends.
    noted: Vec<Noted>,
    noted_keys: Vec<u8>,
    /// This database's number, and the mask (shared by every database of the keyspace)
    /// of the databases whose account changed since [`Keyspace::settle`] last added it
    /// up: a write settles one database, not all sixteen.
    index: usize,
    mem_changed: Arc<AtomicU64>,
    /// What the account said when last added up.
    mem_published: usize,
}

/// [`Entry::free_effort`] of a value.
pub fn free_effort(value: ValueRef<'_>) -> usize {
    match value {
        ValueRef::Str(_) => 1,
        ValueRef::List(l) => l.node_count(),
        ValueRef::Hash(h) if h.encoding() == "hashtable" => h.len(),
        ValueRef::Set(s) if s.encoding() == "hashtable" => s.len(),
        ValueRef::ZSet(z) if z.encoding() == "skiplist" => z.len(),
        ValueRef::Stream(s) => s.len() as usize / 100 + 1,
        _ => 1,
    }
}

/// What a key looked like when a snapshot started: its value and expiry, or `None` if it
/// did not exist.
pub type PreImage = Option<(Value, Option<u64>)>;

/// What a database logs for the effects record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logged {
    Expired,
    New,
    /// A read lookup missed (`keymiss`).
    Miss,
}

/// What a reader notes under the read lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    /// An expired key, to remove, and when the reader found it expired.
    Stale(u64),
    /// A miss, for its `keymiss` event.
    Miss,
}

/// A point-in-time snapshot of one database in progress (BGSAVE), by chunked
/// copy-on-write: the saver walks the buckets in increasing order, a chunk at a time
/// under the read lock, while writers record the *pre-image* of a key in a bucket the
/// saver has not reached yet before they first change, create or remove it. The table
/// keeps its size meanwhile, so a key never changes bucket. See
/// [`crate::persist::save`] for the whole design.
#[derive(Debug)]
pub struct DbSnap {
    /// The database's number when the snapshot started (SWAPDB moves this along with
    /// the table it describes).
    pub index: usize,
    /// Keys at the start: what the dump section declares.
    pub count: u64,
    /// Buckets below this one have been written.
    pos: AtomicUsize,
    /// Pre-images of the keys changed in the buckets from `pos` on. The saver takes
    /// each one out as it writes it (under the read lock, hence the mutex); those left
    /// at the end are keys deleted since the start.
    /// A table that grows incrementally, as the keyspace's does: a std map doubles all
    /// at once, and at 100k overwritten keys that took 13-19 ms of the write lock.
    pre: Mutex<Table<Pre, Incremental<Pre>>>,
    /// The table FLUSHDB or FLUSHALL took away from this database: the saver finishes
    /// its walk on it, and the emptied database records nothing more.
    detached: Option<Keys>,
}

/// One recorded pre-image and its key.
struct Pre {
    key: Key,
    image: PreImage,
}

impl Keyed for Pre {
    fn key(&self) -> &[u8] {
        &self.key
    }
}

impl std::fmt::Debug for Pre {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.key))
    }
}

impl DbSnap {
    /// The pre-images not consumed by the walk: keys deleted since the snapshot started
    /// (`Some`), and keys created since (`None`).
    pub fn into_leftovers(self) -> impl Iterator<Item = (Key, PreImage)> {
        self.pre
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|p| (p.key, p.image))
    }
}

impl Db {
    /// The number of keys, counting expired keys not yet reclaimed (as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the database holds no keys at all.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// How many keys have an expiry.
    pub fn expires_count(&self) -> usize {
        self.ttl_keys.len()
    }

    /// Looks a key up for reading (Redis's `lookupKeyRead`); an expired key is absent
    /// (and noted for removal), and, while `keymiss` events are on, a miss is noted for
    /// its event.
    pub fn get(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let entry = self.peek(key, now_ms)?;
        entry.touch(&self.clock);
        Some(entry)
    }

    /// [`Db::get`] without recording an access (Redis's `LOOKUP_NOTOUCH`: TYPE, TTL,
    /// EXISTS and the like look keys up so).
    pub fn peek(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        match self.table.get(key) {
            Some(entry) if !entry.is_expired(now_ms) => Some(entry),
            found => {
                if found.is_some() && !self.replica {
                    self.note(Note::Stale(now_ms), key);
                }
                self.note_miss(key);
                None
            }
        }
    }

    /// Looks a key up for reading from a write command (Redis's `lookupKeyRead` there):
    /// an expired key is removed at once (on a replica it reads as missing and stays,
    /// as `expireIfNeeded` leaves it for the master's DEL), and a miss fires `keymiss`
    /// (while those are on).
    pub fn lookup_read(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        let h = KeyHash::of(key);
        let live = self
            .find_live(h, key, now_ms)
            .filter(|&slot| !(self.replica && self.table.at(slot).is_expired(now_ms)));
        let Some(slot) = live else {
            self.note_miss(key);
            return None;
        };
        Some(self.written(h, slot))
    }

    /// Notes a read lookup's miss for its `keymiss` event (while those are on): for the
    /// write commands that look a key up as Redis's `lookupKeyRead` does, after a
    /// [`Db::get_mut`] that removed it if it had expired.
    pub fn note_miss(&self, key: &[u8]) {
        if self.log_miss {
            self.note(Note::Miss, key);
        }
    }

    /// Notes what a reader met, for the next writer to handle (see [`Db::reap_stale`]).
    fn note(&self, note: Note, key: &[u8]) {
        self.stale
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((note, key.into()));
        self.has_stale.store(true, Ordering::Release);
        self.pending.store(true, Ordering::Release);
    }

    /// Looks a key up for reading without a `keymiss` event and without recording an
    /// access (Redis's `LOOKUP_NONOTIFY | LOOKUP_NOTOUCH`, as OBJECT, TYPE, TTL and
    /// EXISTS look keys up).
    pub fn get_quietly(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let entry = self.table.get(key)?;
        if entry.is_expired(now_ms) {
            if !self.replica {
                self.note(Note::Stale(now_ms), key);
            }
            return None;
        }
        Some(entry)
    }

    /// Brings the table chains of the keys with these [`table::key_hash`]es into the
    /// cache ahead of their lookups (see [`table::Table::prefetch`]).
    pub fn prefetch(&self, hashes: &[usize]) {
        self.table.prefetch(hashes);
    }

    /// Looks a key up for writing, removing it first if it has expired. The key counts
    /// as accessed, and its cost is noted: the caller may change it in place.
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        let h = KeyHash::of(key);
        let slot = self.find_live(h, key, now_ms)?;
        Some(self.written(h, slot))
    }

    /// The write lookup's first half (one hash, one walk of the chain): where the live
    /// key is, after removing it if it had expired.
    fn find_live(&mut self, h: KeyHash, key: &[u8], now_ms: u64) -> Option<Slot> {
        self.snap_note(key);
        let slot = self.table.find(h, key)?;
        // Only a database with expiring keys can hold an expired one.
        if !self.ttl_keys.is_empty() && !self.replica && self.table.at(slot).is_expired(now_ms) {
            self.remove_expired(key);
            return None;
        }
        Some(slot)
    }

    /// The write lookup's second half: the entry at `slot`, counted as accessed and its
    /// cost noted, as the caller may change it in place.
    fn written(&mut self, h: KeyHash, slot: Slot) -> &mut Entry {
        let entry = self.table.at_mut(slot);
        entry.touch(&self.clock);
        note_cost_hashed(&mut self.noted, &mut self.noted_keys, entry, h);
        self.mem_changed
            .fetch_or(1 << (self.index % 64), Ordering::Relaxed);
        entry
    }

    /// Books the change in cost of the keys noted since the last call (see
    /// [`memory`]). Keys removed meanwhile were booked as they went.
    pub fn settle(&mut self) {
        if self.noted.is_empty() {
            return;
        }
        for (at, len, before, h) in self.noted.drain(..) {
            let key = &self.noted_keys[at as usize..(at + len) as usize];
            if let Some(entry) = self.table.get_hashed(h, key) {
                let after = memory::entry_bytes(entry, memory::ACCOUNT_SAMPLES);
                // Noting the key flagged the database already.
                self.used = (self.used + after).saturating_sub(before);
            }
        }
        self.noted_keys.clear();
        if self.noted_keys.capacity() > 4096 {
            self.noted_keys.shrink_to(256);
        }
    }

    /// The memory account of this database, in bytes: its keys (as booked so far), its
    /// table's bucket array and its expiry index.
    pub fn used_memory(&self) -> usize {
        let (buckets, expires) = self.overhead_memory();
        self.used + buckets + expires
    }

    /// The structures of the database itself: the bucket array and the expiry index
    /// (MEMORY STATS's `overhead.hashtable.main` and `overhead.hashtable.expires`). A
    /// spare array is not counted: its pages are not resident until the growth that
    /// takes it writes into them (see `empty_links` in [`table`]).
    pub fn overhead_memory(&self) -> (usize, usize) {
        let buckets = memory::alloc(self.table.buckets() * 8);
        let expires = memory::alloc(self.ttl_keys.capacity() * std::mem::size_of::<Key>())
            + self.ttl_key_bytes;
        (buckets, expires)
    }

    /// Flags this database's account for [`Keyspace::settle`].
    fn mark_changed(&self) {
        self.mem_changed
            .fetch_or(1 << (self.index % 64), Ordering::Relaxed);
    }

    /// How accesses update the keys' clocks.
    pub fn clock(&self) -> clock::Clock {
        self.clock
    }

    /// Under `lazyfree-lazy-server-del`, a big value about to be overwritten leaves
    /// the table first, for the background thread to free (the write then inserts anew).
    fn take_big_for_lazy_free(&mut self, key: &[u8]) {
        use crate::lazyfree::{lazy, Reason, THRESHOLD};
        if lazy(Reason::ServerDel)
            && self
                .table
                .get(key)
                .is_some_and(|e| e.free_effort() > THRESHOLD)
        {
            if let Some(old) = self.remove_entry(key) {
                crate::lazyfree::free(old, Reason::ServerDel);
            }
        }
    }

    /// Removes a key that has expired.
    fn remove_expired(&mut self, key: &[u8]) {
        if let Some(entry) = self.remove_entry(key) {
            crate::lazyfree::free(entry, crate::lazyfree::Reason::Expire);
        }
        self.expired_removed += 1;
        self.watched.touch(key);
        self.log_push(Logged::Expired, key.into());
    }

    /// Whether `key` is there but expired (not yet removed).
    pub fn is_expired_present(&self, key: &[u8], now_ms: u64) -> bool {
        self.table.get(key).is_some_and(|e| e.is_expired(now_ms))
    }

    /// Whether a live key exists (an expired one is noted for removal, a miss for its
    /// `keymiss` event; the access is not recorded).
    pub fn contains(&self, key: &[u8], now_ms: u64) -> bool {
        self.peek(key, now_ms).is_some()
    }

    /// Stores `value` under `key`, clearing any expiry (SET's semantics).
    pub fn set(&mut self, key: &[u8], value: Value) {
        self.snap_note(key);
        self.take_big_for_lazy_free(key);
        match self.table.get_mut(key) {
            Some(entry) => {
                note_cost(&mut self.noted, &mut self.noted_keys, entry);
                self.mem_changed
                    .fetch_or(1 << (self.index % 64), Ordering::Relaxed);
                entry.touch(&self.clock);
                entry.set_value(value);
                if entry.expires_at != 0 {
                    self.clear_expiry(key);
                }
            }
            None => {
                self.table_insert(Entry::new(key, value));
            }
        }
    }

    /// Stores a string under `key`, clearing any expiry unless `keep_ttl` (and the key is
    /// live). The string is copied once, straight into the entry.
    pub fn set_str(&mut self, key: &[u8], value: &[u8], keep_ttl: bool, now_ms: u64) {
        self.snap_note(key);
        if !keep_ttl {
            self.take_big_for_lazy_free(key);
        }
        if keep_ttl {
            // An expired key's TTL is not kept: a write lookup removes the key.
            self.get_mut(key, now_ms);
        }
        match self.table.get_mut(key) {
            Some(entry) => {
                note_cost(&mut self.noted, &mut self.noted_keys, entry);
                self.mem_changed
                    .fetch_or(1 << (self.index % 64), Ordering::Relaxed);
                entry.touch(&self.clock);
                entry.set_str(value);
                if entry.expires_at != 0 && !keep_ttl {
                    self.clear_expiry(key);
                }
            }
            None => {
                self.table_insert(Entry::new_str(key, value));
            }
        }
    }

    /// The entry for `key`, created with `make` if absent or expired.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        now_ms: u64,
        make: impl FnOnce() -> Value,
    ) -> &mut Entry {
        let h = KeyHash::of(key);
        if let Some(slot) = self.find_live(h, key, now_ms) {
            return self.written(h, slot);
        }
        let entry = Entry::new(key, make());
        // The caller fills the new value in place: its cost is settled afterwards.
        note_cost_hashed(&mut self.noted, &mut self.noted_keys, &entry, h);
        self.table_insert_hashed(h, entry)
    }

    /// Removes a live key, returning its entry.
    pub fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Entry> {
        self.get_mut(key, now_ms)?;
        self.remove_entry(key)
    }

    /// Removes `key` whether or not it has expired, with no lookup (Redis's `dbDelete`):
    /// an expired key goes as a plain deletion, without an `expired` event. Returns its
    /// entry if there was one.
    pub fn delete(&mut self, key: &[u8]) -> Option<Entry> {
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
            self.ttl_key_bytes += memory::alloc(key.len());
            self.mark_changed();
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
        self.table
            .iter()
            .filter(|e| !e.is_expired(now_ms) && (all || glob::matches(pattern, e.key(), false)))
            .map(Entry::key)
            .collect()
    }

    /// Adds `entry` under its own key, replacing whatever was there, with the expiry it
    /// carries (RENAME, MOVE and COPY move whole entries between keys and databases).
    pub fn insert(&mut self, mut entry: Entry) {
        self.snap_note(entry.key());
        if let Some(old) = self.remove_entry(entry.key()) {
            crate::lazyfree::free(old, crate::lazyfree::Reason::ServerDel);
        }
        let with_ttl = entry.expires_at != 0;
        if with_ttl {
            entry.ttl_slot = self.ttl_keys.len() as u32;
            self.ttl_key_bytes += memory::alloc(entry.key().len());
            self.mark_changed();
            self.ttl_keys.push(entry.key().into());
        }
        // A key moved from elsewhere keeps its clock, as Redis moves the object;
        // a fresh one (COPY's) starts one.
        let bits = entry.clock_bits();
        let entry = self.table_insert(entry);
        if bits != 0 {
            entry.set_clock_bits(bits);
        }
    }

    /// One SCAN call over the keys (see [`Table::scan_count`]): visits the entries of
    /// the buckets from `cursor` on, expired ones included, and returns the next cursor
    /// (0 when the walk is complete). The caller filters.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, visit: impl FnMut(&'a Entry)) -> u64 {
        self.table.scan_count(cursor, count, visit)
    }

    /// A random live key, as Redis's `dbRandomKey`: fair random draws (see
    /// [`Table::random_fair`]) until one is not expired. Expired keys drawn are noted
    /// for removal, as [`Db::get`] does. After [`RANDOM_KEY_TRIES`] expired draws in a
    /// row, a uniform pick among the live keys in one pass over the table ends the
    /// search (Redis would delete its way through; a reader cannot).
    pub fn random_key(&self, rng: &mut Rng, now_ms: u64) -> Option<&[u8]> {
        for _ in 0..RANDOM_KEY_TRIES {
            let entry = self.table.random_fair(rng)?;
            if !entry.is_expired(now_ms) {
                return Some(entry.key());
            }
            self.get(entry.key(), now_ms);
        }
        // Reservoir sampling: the i-th live key replaces the pick with chance 1/i.
        let mut pick = None;
        let mut live = 0u64;
        for entry in self.table.iter() {
            if entry.is_expired(now_ms) {
                continue;
            }
            live += 1;
            if rng.below(live) == 0 {
                pick = Some(entry.key());
            }
        }
        pick
    }

    /// Every entry, expired ones included (for the dump writer, which filters).
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.table.iter()
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        drop(self.take_all());
    }

    /// Empties the database as [`Db::clear`] does, returning the old contents (for
    /// the background thread to free) and how many keys they hold.
    pub fn take_all(&mut self) -> (Db, u64) {
        let keys = self.table.len() as u64;
        self.watched
            .touch_existing(|key| self.table.get(key).is_some());
        let expired_removed = self.expired_removed;
        let log = std::mem::take(&mut self.log);
        let (log_new, log_miss, clock, replica) =
            (self.log_new, self.log_miss, self.clock, self.replica);
        let (index, mem_changed, mem_published) = (
            self.index,
            Arc::clone(&self.mem_changed),
            self.mem_published,
        );
        let pending = Arc::clone(&self.pending);
        let watched = std::mem::take(&mut self.watched);
        // A snapshot in progress keeps the old table to finish its walk on.
        let mut snap = self.snap.take();
        if let Some(snap) = snap.as_mut().filter(|s| s.detached.is_none()) {
            snap.detached = Some(std::mem::take(&mut self.table));
        }
        let old = std::mem::replace(
            self,
            Db {
                expired_removed,
                log,
                log_new,
                log_miss,
                replica,
                clock,
                pending,
                watched,
                snap,
                index,
                mem_changed,
                mem_published,
                ..Db::default()
            },
        );
        self.mark_changed();
        (old, keys)
    }

    /// Whether the table has a rehash in progress that may advance (it holds still while
    /// a snapshot walks the table).
    pub fn rehash_pending(&self) -> bool {
        self.table.is_rehashing() && !self.table_fixed()
    }

    /// Advances a rehash in progress by up to `n` buckets, unless a snapshot walks the
    /// table. Returns whether work remains.
    pub fn rehash(&mut self, n: usize) -> bool {
        !self.table_fixed() && self.table.rehash(n)
    }

    /// Whether the table must keep its size: a snapshot is walking it.
    fn table_fixed(&self) -> bool {
        self.snap.as_ref().is_some_and(|s| s.detached.is_none())
    }

    /// Inserts a new entry, without resizing while a snapshot walks the table. The key
    /// is charged to the account and its clock starts.
    fn table_insert(&mut self, entry: Entry) -> &mut Entry {
        self.table_insert_hashed(KeyHash::of(entry.key()), entry)
    }

    /// [`Db::table_insert`] with the key's hash computed already.
    fn table_insert_hashed(&mut self, h: KeyHash, entry: Entry) -> &mut Entry {
        if self.log_new {
            self.log_push(Logged::New, entry.key().into());
        }
        entry.set_clock_bits(self.clock.initial());
        self.used += memory::entry_bytes(&entry, memory::ACCOUNT_SAMPLES);
        self.mark_changed();
        if self.table_fixed() {
            self.table.insert_fixed_hashed(h, entry)
        } else {
            if let Some(spare) = self.spare.take() {
                self.spare = self.table.grow_into(spare);
            }
            self.table.insert_new_hashed(h, entry)
        }
    }

    /// The size of the spare bucket array this database's table would like now: it is
    /// big, three quarters full or more, and not rehashing or fixed.
    fn spare_wanted(&self) -> Option<usize> {
        if self.spare.is_some() || self.table_fixed() {
            return None;
        }
        let buckets = self.table.buckets();
        let n = self.table.grow_size()?;
        (buckets >= SPARE_MIN_BUCKETS && self.table.len() >= buckets - buckets / 4).then_some(n)
    }

    /// A spare array that no growth will take soon (the table shrank, or another resize
    /// happened), to drop without the lock.
    fn stale_spare(&mut self) -> Option<table::Buckets<Entry>> {
        if self.spare_is_stale() {
            self.spare.take()
        } else {
            None
        }
    }

    /// Whether this database holds a spare array that no growth will take soon.
    fn spare_is_stale(&self) -> bool {
        self.spare.as_ref().is_some_and(|spare| {
            let buckets = self.table.buckets();
            self.table.grow_size() != Some(spare.len()) || self.table.len() < buckets / 2
        })
    }

    /// Before `key` changes: records its pre-image if a snapshot needs it. One branch
    /// when no snapshot is running.
    #[inline]
    fn snap_note(&mut self, key: &[u8]) {
        if let Some(snap) = &mut self.snap {
            record_pre_image(snap, &self.table, key);
        }
    }

    /// Starts a snapshot of this database as number `index`: returns the key count the
    /// section declares, or `None` for an empty database (which has no section).
    pub fn snapshot_begin(&mut self, index: usize) -> Option<u64> {
        if self.table.is_empty() || self.snap.is_some() {
            return None;
        }
        let count = self.table.len() as u64;
        self.snap = Some(Box::new(DbSnap {
            index,
            count,
            pos: AtomicUsize::new(0),
            pre: Mutex::new(Table::default()),
            detached: None,
        }));
        Some(count)
    }

    /// The snapshot walking this database, if any.
    pub fn snapshot(&self) -> Option<&DbSnap> {
        self.snap.as_deref()
    }

    /// Ends the snapshot of this database and lets the table resize again. The caller
    /// should drop what it gets back after releasing the lock (it may hold a whole
    /// flushed table).
    pub fn snapshot_end(&mut self) -> Option<Box<DbSnap>> {
        self.snapshot_end_into(None)
    }

    /// [`Db::snapshot_end`], resizing into `spare` if it is the size the table wants
    /// (see [`Db::snapshot_fit_size`]).
    pub fn snapshot_end_into(
        &mut self,
        spare: Option<table::Buckets<Entry>>,
    ) -> Option<Box<DbSnap>> {
        let snap = self.snap.take()?;
        self.table.fit_into(spare);
        self.mark_changed();
        Some(snap)
    }

    /// How many buckets the table will resize to when the snapshot ends, if it will:
    /// the saver allocates them before it takes the write lock.
    pub fn snapshot_fit_size(&self) -> Option<usize> {
        self.table.fit_size()
    }

    /// One step of the snapshot walk (call under the read lock): visits whole buckets
    /// from the saver's position until about `budget` keys were seen, calling `write`
    /// with each key as it was when the snapshot started (its pre-image if it changed
    /// since, nothing if it was created since). Returns true when the walk is complete.
    pub fn snapshot_step(
        &self,
        budget: usize,
        mut write: impl FnMut(&[u8], ValueRef<'_>, Option<u64>, Option<u32>),
    ) -> bool {
        let Some(snap) = &self.snap else {
            return true;
        };
        let table = snap.detached.as_ref().unwrap_or(&self.table);
        let from = snap.pos.load(Ordering::Acquire);
        let mut pre = snap.pre.lock().unwrap_or_else(|e| e.into_inner());
        let next = table.visit_buckets(from, budget, |e| {
            let clock = Some(e.clock_bits());
            if pre.is_empty() {
                return write(e.key(), e.value(), e.expires_at(), clock);
            }
            match pre.remove(e.key()).map(|p| p.image) {
                None => write(e.key(), e.value(), e.expires_at(), clock),
                // A pre-image has no clock of its own.
                Some(Some((value, expires))) => {
                    write(e.key(), value.as_ref(), expires, None);
                    // A big one is taken apart off the lock, as UNLINK does.
                    if free_effort(value.as_ref()) > crate::lazyfree::THRESHOLD {
                        crate::lazyfree::free_later(Box::new(value), 1);
                    }
                }
                Some(None) => {}
            }
        });
        snap.pos.store(next, Ordering::Release);
        next >= table.buckets()
    }

    /// Whether a reader noted expired keys that [`Keyspace::reap_stale`] should remove
    /// (or misses to fire `keymiss` for).
    pub fn has_stale(&self) -> bool {
        self.has_stale.load(Ordering::Acquire)
    }

    /// Removes the expired keys readers noted, and logs the misses, in the order they
    /// were met. Returns how many keys were removed.
    fn reap_stale(&mut self) -> usize {
        // A plain load first: this runs at every record point, for every database.
        if !*self.has_stale.get_mut() {
            return 0;
        }
        *self.has_stale.get_mut() = false;
        let notes = std::mem::take(self.stale.get_mut().unwrap_or_else(|e| e.into_inner()));
        let mut removed = 0;
        for (note, key) in notes {
            match note {
                // Still expired as the reader saw it (not replaced since).
                Note::Stale(seen_at) if self.is_expired_present(&key, seen_at) => {
                    self.remove_expired(&key);
                    removed += 1;
                }
                Note::Stale(_) => {}
                Note::Miss => self.log.push((Logged::Miss, key)),
            }
        }
        removed
    }

    /// Logs `what` for the effects record, after what readers noted before it.
    fn log_push(&mut self, what: Logged, key: Key) {
        self.reap_stale();
        self.log.push((what, key));
        self.pending.store(true, Ordering::Release);
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
            let expired = self.table.get(key).is_some_and(|e| e.is_expired(now_ms));
            if expired {
                // The swap-remove moves the last key into the cursor's slot: look at the
                // same slot again rather than skipping it.
                let key = key.clone();
                self.remove_expired(&key);
                removed += 1;
            } else {
                self.expire_cursor += 1;
            }
        }
        if removed > 0
            && self.ttl_keys.capacity() > 1024
            && self.ttl_keys.len() * 8 < self.ttl_keys.capacity()
        {
            self.ttl_keys.shrink_to(self.ttl_keys.len() * 2);
        }
        (sampled, removed)
    }

    fn remove_entry(&mut self, key: &[u8]) -> Option<Entry> {
        self.snap_note(key);
        let entry = if self.table_fixed() {
            self.table.remove_fixed(key)?
        } else {
            self.table.remove(key)?
        };
        if entry.expires_at != 0 {
            self.unlink_ttl_slot(entry.ttl_slot as usize);
        }
        self.credit(&entry);
        Some(entry)
    }

    /// Takes a key that is going off the account: at the cost noted for it if a write
    /// noted one (that is what was booked), else at its cost now.
    fn credit(&mut self, entry: &Entry) {
        let key = entry.key();
        let keys = &self.noted_keys;
        let noted = self
            .noted
            .iter()
            .position(|&(at, len, ..)| &keys[at as usize..(at + len) as usize] == key);
        let cost = match noted {
            Some(i) => self.noted.swap_remove(i).2,
            None => memory::entry_bytes(entry, memory::ACCOUNT_SAMPLES),
        };
        self.used = self.used.saturating_sub(cost);
        self.mark_changed();
    }

    fn clear_expiry(&mut self, key: &[u8]) {
        if let Some(entry) = self.table.get_mut(key) {
            let slot = entry.ttl_slot as usize;
            entry.expires_at = 0;
            self.unlink_ttl_slot(slot);
        }
    }

    /// Swap-removes `ttl_keys[slot]` and tells the moved key its new slot.
    fn unlink_ttl_slot(&mut self, slot: usize) {
        let gone = self.ttl_keys.swap_remove(slot);
        self.ttl_key_bytes -= memory::alloc(gone.len());
        self.mark_changed();
        if let Some(moved) = self.ttl_keys.get(slot) {
            if let Some(e) = self.table.get_mut(moved) {
                e.ttl_slot = slot as u32;
            }
        }
    }

    /// Inserts a loaded entry as-is (used when loading a dump). `keys` is how many keys
    /// the database is to hold in all: the table is sized for them at once, so loading
    /// never resizes it. `clock_bits` starts its access clock (the loader reads the
    /// time once, see [`Db::clock`]) unless `saved` gives the file's own.
    pub fn load(
        &mut self,
        key: &[u8],
        value: Value,
        expires_at_ms: Option<u64>,
        keys: usize,
        saved: clock::Saved,
        clock_bits: u32,
    ) {
        if !self.table_fixed() {
            self.table.reserve(keys);
        }
        let entry = Entry::new(key, value);
        entry.set_clock_bits(clock_bits);
        self.used += memory::entry_bytes(&entry, memory::ACCOUNT_SAMPLES);
        self.mark_changed();
        let entry = if self.snap.is_some() {
            // Nothing may move while a snapshot walks the table, a rehash step included,
            // and a key it has still to write needs its pre-image.
            self.remove_entry(key);
            if self.table_fixed() {
                self.table.insert_fixed(entry)
            } else {
                self.table.insert_new(entry)
            }
        } else {
            // A key the file holds twice: the last one wins. One lookup for both.
            let mut replaced = None;
            let mut entry = self.table.insert_or_replace(entry, &mut replaced);
            if let Some(old) = replaced {
                if old.expires_at != 0 {
                    self.unlink_ttl_slot(old.ttl_slot as usize);
                }
                self.credit(&old);
                entry = self.table.get_mut(key).expect("just inserted");
            }
            entry
        };
        // The file's idle time or counter, whichever the policy keeps.
        if let Some(bits) = self
            .clock
            .restored(saved.idle_secs, saved.freq.map(u32::from))
        {
            entry.set_clock_bits(bits);
        }
        if let Some(at) = expires_at_ms {
            entry.expires_at = at.max(1);
            entry.ttl_slot = self.ttl_keys.len() as u32;
            self.ttl_key_bytes += memory::alloc(key.len());
            self.mark_changed();
            self.ttl_keys.push(key.into());
        }
    }
}

/// A key noted by a write: its offset and length in `Db::noted_keys`, its cost before
/// the write, and its hash.
type Noted = (u32, u32, usize, KeyHash);

/// Notes what `entry` costs now, before a write that may change it in place (once per
/// command: the first cost is the one booked). See [`Db::settle`].
fn note_cost(noted: &mut Vec<Noted>, keys: &mut Vec<u8>, entry: &Entry) {
    note_cost_hashed(noted, keys, entry, KeyHash::of(entry.key()));
}

/// [`note_cost`] with the key's hash computed already.
fn note_cost_hashed(noted: &mut Vec<Noted>, keys: &mut Vec<u8>, entry: &Entry, h: KeyHash) {
    let key = entry.key();
    if noted
        .iter()
        .any(|&(at, len, _, nh)| nh == h && &keys[at as usize..(at + len) as usize] == key)
    {
        return;
    }
    let cost = memory::entry_bytes(entry, memory::ACCOUNT_SAMPLES);
    noted.push((keys.len() as u32, key.len() as u32, cost, h));
    keys.extend_from_slice(key);
}

/// Records the pre-image of `key` for `snap` unless the saver already wrote its bucket,
/// it was recorded already, or the table being walked is no longer this one.
fn record_pre_image(snap: &mut DbSnap, table: &Keys, key: &[u8]) {
    if snap.detached.is_some() {
        return;
    }
    let Some(bucket) = table.bucket_of(key) else {
        return;
    };
    if bucket < *snap.pos.get_mut() {
        return;
    }
    let pre = snap.pre.get_mut().unwrap_or_else(|e| e.into_inner());
    if pre.get(key).is_none() {
        let image = table
            .get(key)
            .map(|e| (e.value().to_owned(), e.expires_at()));
        pre.insert_new(Pre {
            key: key.into(),
            image,
        });
    }
}

/// The smallest table the cron prepares a spare bucket array for (512 KB of buckets):
/// below it, clearing a new array under the lock takes a fraction of a millisecond.
pub const SPARE_MIN_BUCKETS: usize = 1 << 16;

/// How many expired keys in a row [`Db::random_key`] draws before it walks the table.
pub const RANDOM_KEY_TRIES: usize = 100;

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
    /// How many (client, key) WATCH registrations exist in all databases: while there
    /// are none, a write command skips the watch bookkeeping of every database.
    watches: usize,
    /// What the running command did so far (see [`effects`]).
    fx: Effects,
    /// Which parts of it are recorded.
    wanted: Wanted,
    /// `lazyfree-lazy-expire`: expired keys propagate as UNLINK.
    lazy_expire: bool,
    /// `lazyfree-lazy-user-del`: DEL deletes as UNLINK does, and GETDEL propagates UNLINK.
    pub lazy_user_del: bool,
    /// The memory account of every database, as of the last write (see
    /// [`Keyspace::settle`]), for readers that do not take the lock.
    used: Arc<AtomicUsize>,
    /// Eviction's candidates (see [`evict`]).
    evict_pool: evict::Pool,
    /// Set while the commands of a pipelined batch run under one write lock with no
    /// memory limit (see `command::Held`): [`Keyspace::take_effects`] then settles the
    /// account every [`SETTLE_EVERY`] commands rather than after each one, and the
    /// batch settles it before it lets the lock go.
    pub settle_later: bool,
    /// Commands whose account is not settled yet under `settle_later`.
    unsettled: usize,
}

/// How many commands of a batch may leave the memory account unsettled: a key written
/// by each of them is measured before the first and after the last (the booked
/// differences telescope), and the noted keys a write looks through stay few.
pub const SETTLE_EVERY: usize = 8;

impl Keyspace {
    /// `n` empty databases.
    pub fn new(n: usize) -> Keyspace {
        let pending = Arc::new(AtomicBool::new(false));
        let mem_changed = Arc::new(AtomicU64::new(0));
        Keyspace {
            dbs: (0..n)
                .map(|index| Db {
                    pending: Arc::clone(&pending),
                    index,
                    mem_changed: Arc::clone(&mem_changed),
                    ..Db::default()
                })
                .collect(),
            dirty: 0,
            ready: Vec::new(),
            blocked: blocking::BlockedKeys::default(),
            watches: 0,
            fx: Effects::default(),
            wanted: Wanted::ALL,
            lazy_expire: false,
            lazy_user_del: false,
            used: Arc::new(AtomicUsize::new(0)),
            evict_pool: evict::Pool::default(),
            settle_later: false,
            unsettled: 0,
        }
    }

    /// Books the cost changes of the keys written since the last call (see
    /// [`memory`]) and publishes the account for [`Store::used_memory`].
    pub fn settle(&mut self) {
        self.unsettled = 0;
        let Some(first) = self.dbs.first() else {
            return;
        };
        let mut changed = first.mem_changed.swap(0, Ordering::Relaxed);
        if changed == 0 {
            return;
        }
        let mut total = self.used.load(Ordering::Relaxed);
        // Only the databases whose account changed are added up again (past 64
        // databases, a bit stands for every 64th).
        while changed != 0 {
            let bit = changed.trailing_zeros() as usize;
            changed &= changed - 1;
            for db in self.dbs.iter_mut().skip(bit).step_by(64) {
                db.settle();
                let now = db.used_memory();
                total = (total + now).saturating_sub(db.mem_published);
                db.mem_published = now;
            }
        }
        self.used.store(total, Ordering::Relaxed);
    }

    /// The memory account of every database (call [`Keyspace::settle`] first for the
    /// cost of in-place changes still being made).
    pub fn used_memory(&self) -> usize {
        self.dbs.iter().map(Db::used_memory).sum()
    }

    /// Sets how accesses update the keys' clocks (on an eviction policy change).
    pub fn set_clock(&mut self, clock: clock::Clock) {
        for db in &mut self.dbs {
            db.clock = clock;
        }
    }

    /// Starts a command (or an expiry pass), saying which parts of the
    /// effects record have a consumer: the others are not recorded at all, so a server
    /// with no subscriber to keyspace events, no tracking client, no WATCH and no AOF
    /// pays nothing for them.
    pub fn begin(&mut self, wanted: Wanted) {
        self.wanted = wanted;
        // WATCH reads the modified keys too.
        self.wanted.modified |= self.watches > 0;
    }

    /// What [`Keyspace::begin`] last said.
    pub fn wanted(&self) -> Wanted {
        self.wanted
    }

    /// The effects recorded so far, closed for consumers: the keys that expired on the
    /// way are moved in first. Leaves an empty record behind.
    pub fn take_effects(&mut self) -> Effects {
        self.collect_logged();
        if self.settle_later && self.unsettled + 1 < SETTLE_EVERY {
            self.unsettled += 1;
        } else {
            self.settle();
        }
        std::mem::take(&mut self.fx)
    }

    /// Whether the current record is still empty (and no key expired since).
    pub fn effects_pending(&self) -> bool {
        !self.fx.is_empty()
            || self
                .dbs
                .first()
                .is_some_and(|db| db.pending.load(Ordering::Acquire))
    }

    /// Moves the keys that expired since the last record into the effects record, so that
    /// their events keep their place among the command's own.
    fn collect_logged(&mut self) {
        match self.dbs.first() {
            Some(db) if db.pending.load(Ordering::Acquire) => {}
            _ => return,
        }
        for (i, db) in self.dbs.iter_mut().enumerate() {
            // What read lookups noted so far (in this command, or in readers since),
            // first: they came before whatever is being recorded now.
            db.reap_stale();
            for (what, key) in db.log.drain(..) {
                match what {
                    Logged::Expired => self.fx.expired(i, key, self.lazy_expire, self.wanted),
                    Logged::New | Logged::Miss if !self.wanted.events => {}
                    Logged::New => self.fx.events.push(Event {
                        class: class::NEW,
                        name: "new",
                        db: i,
                        key,
                    }),
                    Logged::Miss => self.fx.events.push(Event {
                        class: class::KEY_MISS,
                        name: "keymiss",
                        db: i,
                        key,
                    }),
                }
            }
        }
        // Everything is drained (reaping may have set the flag again meanwhile).
        self.dbs[0].pending.store(false, Ordering::Release);
    }

    /// `key` of `db` was modified and fires `event` of `class` (Redis's
    /// `signalModifiedKey` followed by `notifyKeyspaceEvent`).
    pub fn changed(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        self.touched(db, key);
        self.notify(class, event, db, key);
    }

    /// Fires `event` of `class` for `key` of `db`, without counting it as modified.
    pub fn notify(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        self.collect_logged();
        if self.wanted.events {
            self.fx.events.push(Event {
                class,
                name: event,
                db,
                key: key.into(),
            });
        }
    }

    /// `key` of `db` was modified, firing no event (Redis's `signalModifiedKey` alone).
    pub fn touched(&mut self, db: usize, key: &[u8]) {
        self.collect_logged();
        if self.wanted.modified {
            self.fx.modified.push((db, key.into()));
        }
    }

    /// Every key of a database went at once (FLUSHDB, FLUSHALL).
    pub fn flushed(&mut self) {
        self.collect_logged();
        self.fx.flushed = true;
    }

    /// Replays `argv` in `db` too (Redis's `alsoPropagate`), after what is recorded.
    pub fn propagate<W: AsRef<[u8]>>(&mut self, db: usize, argv: &[W]) {
        self.collect_logged();
        if self.wanted.ops {
            self.fx.ops.push(Op::new(db, argv));
        }
    }

    /// Propagates `argv` instead of the command's own words (Redis's
    /// `rewriteClientCommandVector`), if the command counts a change.
    pub fn rewrite<W: AsRef<[u8]>>(&mut self, argv: &[W]) {
        if !self.wanted.ops {
            return;
        }
        self.fx.own = Own::Rewritten(argv.iter().map(|w| w.as_ref().to_vec()).collect());
    }

    /// Propagates nothing of the command's own words: what it did is in the ops it
    /// recorded (Redis's `preventCommandPropagation`).
    pub fn prevent_propagation(&mut self) {
        self.fx.own = Own::Prevented;
    }

    /// Whether new keys fire `new` (`notify-keyspace-events` has `n`: only then is the
    /// cost of logging each new key paid).
    pub fn set_log_new(&mut self, on: bool) {
        for db in &mut self.dbs {
            db.log_new = on;
        }
    }

    /// Whether read lookups that miss fire `keymiss` (`notify-keyspace-events` has `m`).
    pub fn set_log_miss(&mut self, on: bool) {
        for db in &mut self.dbs {
            db.log_miss = on;
        }
    }

    /// Makes the keyspace a replica's (keys expire only by the master's DEL) or a
    /// master's again.
    pub fn set_replica(&mut self, on: bool) {
        for db in &mut self.dbs {
            db.replica = on;
        }
    }

    /// Whether an expired key is propagated as UNLINK (`lazyfree-lazy-expire`).
    pub fn lazy_expire(&self) -> bool {
        self.lazy_expire
    }

    /// Sets [`Keyspace::lazy_expire`].
    pub fn set_lazy_expire(&mut self, on: bool) {
        self.lazy_expire = on;
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

    /// Swaps the contents of databases `a` and `b` (SWAPDB). Clients stay blocked on
    /// the same database numbers, so, as Redis's `scanDatabaseForReadyKeys` does, every
    /// key of either database that now holds a list, sorted set or stream for a blocked client is signalled
    /// ready. (The registry of blocked keys cannot be listed per database, so this
    /// looks at each list key of both databases: O(keys) only for SWAPDB.)
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        // Clients watch database numbers, not contents: the watched keys stay, and those
        // that exist on either side have changed.
        for (x, y) in [(a, b), (b, a)] {
            let (dx, dy) = (&self.dbs[x], &self.dbs[y]);
            dx.watched
                .touch_existing(|k| dx.table.get(k).is_some() || dy.table.get(k).is_some());
        }
        self.dbs.swap(a, b);
        for i in [a, b] {
            self.dbs[i].index = i;
            self.dbs[i].mark_changed();
        }
        let (wa, wb) = (
            std::mem::take(&mut self.dbs[a].watched),
            std::mem::take(&mut self.dbs[b].watched),
        );
        self.dbs[a].watched = wb;
        self.dbs[b].watched = wa;
        if self.blocked.is_empty() {
            return;
        }
        for db in [a, b] {
            let ready: Vec<Key> = self.dbs[db]
                .table
                .iter()
                .filter(|e| {
                    (e.list().is_some() || e.zset().is_some() || e.stream().is_some())
                        && self.blocked.contains(db, e.key())
                })
                .map(|e| e.key().into())
                .collect();
            for key in ready {
                self.signal_ready(db, &key);
            }
        }
    }

    /// Records that `key` got data, if anyone is blocked on it.
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        if self.blocked.contains(db, key)
            && !self.ready.iter().any(|(d, k)| *d == db && **k == *key)
        {
            self.ready.push((db, key.into()));
        }
    }

    /// Registers a client's WATCH of `key` in database `db`.
    pub fn watch(&mut self, db: usize, key: &[u8], flag: &watch::WatchFlag) {
        if self.dbs[db].watched.add(key, flag) {
            self.watches += 1;
        }
    }

    /// Drops a client's WATCH of `key` in database `db`.
    pub fn unwatch(&mut self, db: usize, key: &[u8], flag: &watch::WatchFlag) {
        if self.dbs[db].watched.remove(key, flag) {
            self.watches -= 1;
        }
    }

    /// Flags the watchers of the keys `fx` modified (WATCH's consumer of the effects
    /// record: Redis's `signalModifiedKey` touches them).
    pub fn signal_watchers(&self, fx: &Effects) {
        if self.watches == 0 {
            return;
        }
        for (db, key) in &fx.modified {
            if let Some(db) = self.dbs.get(*db) {
                db.watched.touch(key);
            }
        }
    }

    /// Whether a database has a rehash that [`Keyspace::rehash_for`] would advance.
    pub fn rehash_pending(&self) -> bool {
        self.dbs.iter().any(Db::rehash_pending)
    }

    /// Advances the rehash of the first database that has one in progress, 100 buckets at
    /// a time until `budget` is spent, as Redis's `incrementallyRehash` (one database
    /// per cron tick). Writes advance a rehash a bucket at a time; this finishes it when
    /// the keyspace is only read, and bounds how long the old array stays allocated.
    pub fn rehash_for(&mut self, budget: std::time::Duration) {
        let Some(db) = self.dbs.iter_mut().find(|db| db.rehash_pending()) else {
            return;
        };
        let start = std::time::Instant::now();
        while db.rehash(100) && start.elapsed() < budget {}
    }

    /// The spare bucket arrays the databases' tables would like (database, size), for
    /// the cron to allocate without the lock and hand over with [`Keyspace::give_spare`].
    pub fn spares_wanted(&self) -> Vec<(usize, usize)> {
        self.dbs
            .iter()
            .enumerate()
            .filter_map(|(i, db)| Some((i, db.spare_wanted()?)))
            .collect()
    }

    /// Hands database `db` the spare array it wanted, if it still wants one that size;
    /// else gives it back, to drop without the lock.
    pub fn give_spare(
        &mut self,
        db: usize,
        spare: table::Buckets<Entry>,
    ) -> Option<table::Buckets<Entry>> {
        match self.dbs.get_mut(db) {
            Some(d) if d.spare_wanted() == Some(spare.len()) => {
                d.spare = Some(spare);
                d.mark_changed();
                None
            }
            _ => Some(spare),
        }
    }

    /// Takes back the spare arrays no growth will use soon, to drop without the lock.
    pub fn stale_spares(&mut self) -> Vec<table::Buckets<Entry>> {
        self.dbs.iter_mut().filter_map(Db::stale_spare).collect()
    }

    /// Whether some database holds a spare array.
    pub fn has_spares(&self) -> bool {
        self.dbs.iter().any(|db| db.spare.is_some())
    }

    /// Whether some database holds a spare array that [`Keyspace::stale_spares`] would
    /// take back (checked under the read lock, so that the write lock is taken only then).
    pub fn has_stale_spares(&self) -> bool {
        self.dbs.iter().any(Db::spare_is_stale)
    }

    /// Removes the expired keys readers met, as Redis deletes them on access.
    pub fn reap_stale(&mut self) {
        for db in &mut self.dbs {
            db.reap_stale();
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

    /// Starts a snapshot of every non-empty database (BGSAVE): returns each one's number
    /// and key count, in increasing order.
    pub fn snapshot_begin(&mut self) -> Vec<(usize, u64)> {
        let mut sections = Vec::new();
        for (index, db) in self.dbs.iter_mut().enumerate() {
            if let Some(count) = db.snapshot_begin(index) {
                sections.push((index, count));
            }
        }
        sections
    }

    /// The database holding the snapshot that started as database `index` (SWAPDB may
    /// have moved it).
    pub fn snapshot_db(&self, index: usize) -> Option<&Db> {
        self.dbs
            .iter()
            .find(|db| db.snapshot().is_some_and(|s| s.index == index))
    }

    /// Ends the snapshot that started as database `index` (see [`Db::snapshot_end`]).
    pub fn snapshot_end(&mut self, index: usize) -> Option<Box<DbSnap>> {
        self.snapshot_end_into(index, None)
    }

    /// [`Keyspace::snapshot_end`] with a bucket array allocated ahead for the resize
    /// (see [`Db::snapshot_end_into`]).
    pub fn snapshot_end_into(
        &mut self,
        index: usize,
        spare: Option<table::Buckets<Entry>>,
    ) -> Option<Box<DbSnap>> {
        self.dbs
            .iter_mut()
            .find(|db| db.snapshot().is_some_and(|s| s.index == index))?
            .snapshot_end_into(spare)
    }

    /// Ends every snapshot still running (a failed or aborted BGSAVE).
    pub fn snapshot_end_all(&mut self) -> Vec<Box<DbSnap>> {
        self.dbs.iter_mut().filter_map(Db::snapshot_end).collect()
    }

    /// Removes every key of every database.
    pub fn flush_all(&mut self) {
        for db in &mut self.dbs {
            db.clear();
        }
        self.settle();
    }

    /// Removes every key of every database, leaving the old contents to the lazy-free
    /// thread (FLUSHALL ASYNC).
    pub fn flush_all_lazily(&mut self) {
        for i in 0..self.dbs.len() {
            self.flush_db_lazily(i);
        }
        self.settle();
    }

    /// Removes every key of database `db`, leaving them to the lazy-free thread
    /// (FLUSHDB ASYNC).
    pub fn flush_db_lazily(&mut self, db: usize) {
        let (old, keys) = self.dbs[db].take_all();
        if keys > 0 {
            crate::lazyfree::free_later(Box::new(old), keys);
        }
    }
}

/// The shared keyspace and its lock.
///
/// A script that runs past `busy-reply-threshold` lets go of the lock so that clients
/// queued on it can be answered `-BUSY` (Redis serves them from inside the script), but
/// the keyspace stays the script's: while it is [paused](Store::pause), whoever takes the
/// lock gives it back at once. Commands get `None` from [`Store::write_or_busy`] and
/// reply `-BUSY`; the server's own users ([`Store::read`], [`Store::write`]) wait for the
/// script to end.
#[derive(Debug)]
pub struct Store {
    keyspace: RwLock<Keyspace>,
    /// The keyspace's published memory account.
    used: Arc<AtomicUsize>,
    /// Set while a busy script owns the keyspace without holding the lock.
    paused: AtomicBool,
    /// Signalled when a paused script takes the keyspace back for good.
    resumed: (Mutex<()>, Condvar),
}

impl Store {
    /// A store of `databases` empty databases.
    pub fn new(databases: usize) -> Store {
        Store::from_keyspace(Keyspace::new(databases))
    }

    /// A store holding an already built keyspace (a loaded dump).
    pub fn from_keyspace(mut keyspace: Keyspace) -> Store {
        keyspace.settle();
        Store {
            used: Arc::clone(&keyspace.used),
            keyspace: RwLock::new(keyspace),
            paused: AtomicBool::new(false),
            resumed: (Mutex::new(()), Condvar::new()),
        }
    }

    /// The memory account of the keyspace as of its last write (see [`memory`]),
    /// without taking the lock.
    pub fn used_memory(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The lock itself, ignoring a pause. A panic elsewhere while holding the lock must
    /// not take the server down with it, so poisoning is ignored: every mutation leaves
    /// the maps consistent between statements.
    fn raw_read(&self) -> RwLockReadGuard<'_, Keyspace> {
        self.keyspace.read().unwrap_or_else(|e| e.into_inner())
    }

    fn raw_write(&self) -> RwLockWriteGuard<'_, Keyspace> {
        self.keyspace.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until no busy script owns the keyspace.
    fn wait_resumed(&self) {
        let (lock, cv) = &self.resumed;
        let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
        while self.paused.load(Ordering::Acquire) {
            g = cv
                .wait_timeout(g, std::time::Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The read lock, once no busy script owns the keyspace.
    pub fn read(&self) -> RwLockReadGuard<'_, Keyspace> {
        loop {
            let g = self.raw_read();
            if !self.paused.load(Ordering::Acquire) {
                return g;
            }
            drop(g);
            self.wait_resumed();
        }
    }

    /// The read lock if it is free right now and no busy script owns the keyspace (for
    /// work that is only worth doing without a wait, as [`Db::prefetch`]).
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, Keyspace>> {
        let g = match self.keyspace.try_read() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        (!self.paused.load(Ordering::Acquire)).then_some(g)
    }

    /// The write lock, once no busy script owns the keyspace.
    pub fn write(&self) -> RwLockWriteGuard<'_, Keyspace> {
        loop {
            let g = self.raw_write();
            if !self.paused.load(Ordering::Acquire) {
                return g;
            }
            drop(g);
            self.wait_resumed();
        }
    }

    /// The read lock for a command, or `None` while a busy script owns the keyspace.
    pub fn read_or_busy(&self) -> Option<RwLockReadGuard<'_, Keyspace>> {
        let g = self.raw_read();
        (!self.paused.load(Ordering::Acquire)).then_some(g)
    }

    /// The write lock for a command, or `None` while a busy script owns the keyspace.
    pub fn write_or_busy(&self) -> Option<RwLockWriteGuard<'_, Keyspace>> {
        let g = self.raw_write();
        (!self.paused.load(Ordering::Acquire)).then_some(g)
    }

    /// A busy script lets go of the lock; the keyspace stays its own.
    pub fn pause(&self, guard: RwLockWriteGuard<'_, Keyspace>) {
        self.paused.store(true, Ordering::Release);
        drop(guard);
    }

    /// The paused script takes the lock again, to run a command ([`Store::resume`] ends
    /// the pause).
    pub fn owner_write(&self) -> RwLockWriteGuard<'_, Keyspace> {
        self.raw_write()
    }

    /// The script is done being busy: the lock is its own again, and everyone waiting
    /// may go on once it releases it.
    pub fn resume<'s>(
        &'s self,
        guard: Option<RwLockWriteGuard<'s, Keyspace>>,
    ) -> RwLockWriteGuard<'s, Keyspace> {
        let g = guard.unwrap_or_else(|| self.raw_write());
        let (lock, cv) = &self.resumed;
        let _l = lock.lock().unwrap_or_else(|e| e.into_inner());
        self.paused.store(false, Ordering::Release);
        cv.notify_all();
        g
    }

    /// Ends a pause without taking the lock (a script that panicked while busy).
    pub fn unpause(&self) {
        if !self.paused.load(Ordering::Acquire) {
            return;
        }
        let (lock, cv) = &self.resumed;
        let _l = lock.lock().unwrap_or_else(|e| e.into_inner());
        self.paused.store(false, Ordering::Release);
        cv.notify_all();
    }

    /// Whether a busy script owns the keyspace.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_with_room_for_its_key_keeps_its_buffer() {
        for key in [&b"k"[..], &[b'x'; 127], &[b'y'; 128], &[b'z'; 20000]] {
            let want = str_buffer(key, b"some value");
            let mut value = Vec::with_capacity(10 + str_key_room(key));
            value.extend_from_slice(b"some value");
            let ptr = value.as_ptr();
            let got = str_buffer_from(key, value);
            assert_eq!(got, want);
            assert_eq!(got.as_ptr(), ptr, "the same allocation");
            assert_eq!(got.capacity(), got.len(), "exactly sized");
            // Without the room, or with more, a new exactly sized buffer.
            assert_eq!(str_buffer_from(key, b"some value".to_vec()), want);
            let mut roomy = Vec::with_capacity(100 + str_key_room(key));
            roomy.extend_from_slice(b"some value");
            let got = str_buffer_from(key, roomy);
            assert_eq!((got.capacity(), &got), (want.len(), &want));
        }
    }

    fn s(v: &str) -> Value {
        Value::Str(v.as_bytes().to_vec())
    }

    fn is_inline(entry: &Entry) -> bool {
        matches!(entry.body, Body::Inline { .. })
    }

    #[test]
    fn inlining_keeps_a_body_and_an_entry_their_size() {
        // The table node is 56 bytes (one 64-byte malloc chunk) with a 48-byte entry.
        assert_eq!(std::mem::size_of::<Body>(), 32);
        assert_eq!(std::mem::size_of::<Entry>(), 48);
    }

    #[test]
    fn a_string_is_inline_exactly_when_its_buffer_fits() {
        let node = memory::alloc(table::Table::<Entry>::node_size());
        for key_len in [0, 1, 16, 28, 29, 30, 127, 128, 300] {
            let key = vec![b'k'; key_len];
            for value_len in 0..=40 {
                let value: Vec<u8> = (0..value_len as u8).map(|b| b.wrapping_add(b'a')).collect();
                let fits = str_key_room(&key) + value_len <= INLINE_MAX;
                let made = [
                    Entry::new_str(&key, &value),
                    Entry::new(&key, Value::Str(value.clone())),
                    Entry::new_str(b"other", &value).rekeyed(&key),
                ];
                for entry in made {
                    assert_eq!(is_inline(&entry), fits, "{key_len}+{value_len}");
                    assert_eq!((entry.key(), entry.str()), (&key[..], Some(&value[..])));
                    let cost = memory::entry_bytes(&entry, memory::ACCOUNT_SAMPLES);
                    assert_eq!(cost == node, fits, "{key_len}+{value_len}: {cost}");
                    let copy = entry.duplicate(&key);
                    assert_eq!((copy.key(), copy.str()), (&key[..], Some(&value[..])));
                    assert_eq!(entry.into_value(), Value::Str(value.clone()));
                }
            }
        }
    }

    #[test]
    fn a_string_changed_in_place_moves_between_the_entry_and_the_heap() {
        let mut rng = crate::util::rand::Rng::new(11);
        for key_len in [1, 16, 27, 28, 29, 127, 128] {
            let key = vec![b'k'; key_len];
            let mut entry = Entry::new_str(&key, b"");
            let mut model: Vec<u8> = Vec::new();
            for step in 0..3000 {
                let mut s = entry.str_mut().expect("a string");
                match rng.below(5) {
                    0 => {
                        let v = vec![b'0' + rng.below(10) as u8; rng.below(40) as usize];
                        s.set(&v);
                        model = v;
                    }
                    1 => {
                        let more = vec![b'a' + rng.below(26) as u8; rng.below(6) as usize];
                        s.append(&more);
                        model.extend_from_slice(&more);
                    }
                    2 => {
                        let len = rng.below(40) as usize;
                        s.resize(len);
                        model.resize(len, 0);
                    }
                    3 => {
                        if !model.is_empty() {
                            let at = rng.below(model.len() as u64) as usize;
                            s.bytes_mut()[at] = b'!';
                            model[at] = b'!';
                        }
                    }
                    _ => {
                        let v = vec![b'z'; rng.below(40) as usize];
                        entry.set_str(&v);
                        model = v;
                    }
                }
                assert_eq!(entry.key(), &key[..], "step {step}");
                assert_eq!(entry.str(), Some(&model[..]), "step {step}");
                let s = entry.str_mut().expect("a string");
                assert_eq!((s.get(), s.len()), (&model[..], model.len()));
                if is_inline(&entry) {
                    assert!(str_key_room(&key) + model.len() <= INLINE_MAX);
                }
            }
        }
    }

    #[test]
    fn setting_a_value_picks_inline_or_heap_by_its_new_size() {
        let mut entry = Entry::new_str(b"key", b"short");
        assert!(is_inline(&entry));
        entry.set_str(&[b'x'; 26]);
        assert!(is_inline(&entry), "4 + 26 bytes fit");
        entry.set_str(&[b'x'; 27]);
        assert!(!is_inline(&entry), "4 + 27 bytes do not");
        entry.str_mut().unwrap().set(b"12");
        assert!(is_inline(&entry), "back in the entry");
        assert_eq!(entry.encoding(), "int");
        entry.str_mut().unwrap().append(&[b'3'; 40]);
        assert!(!is_inline(&entry));
        assert_eq!(entry.encoding(), "raw");
        entry.set_value(Value::List(List::new()));
        entry.set_str(b"v");
        assert!(is_inline(&entry));
        assert_eq!((entry.key(), entry.str()), (&b"key"[..], Some(&b"v"[..])));
        // Cut inline, then grown: the grown bytes are zeros, not what was there before.
        let mut s = entry.str_mut().unwrap();
        s.set(b"abcdef");
        s.resize(2);
        s.resize(5);
        assert_eq!(s.get(), b"ab\0\0\0");
    }

    /// What the account should say: every key measured afresh.
    fn measured(db: &Db) -> usize {
        let keys: usize = db
            .iter()
            .map(|e| memory::entry_bytes(e, memory::ACCOUNT_SAMPLES))
            .sum();
        let (buckets, expires) = db.overhead_memory();
        keys + buckets + expires
    }

    #[test]
    fn the_memory_account_follows_every_kind_of_change() {
        account_follows_changes(false);
    }

    /// A pipelined batch settles the account after several commands (see
    /// [`Keyspace::settle_later`]): the keys noted meanwhile, changed, removed, renamed
    /// or created again, are booked as exactly as when each command settles.
    #[test]
    fn the_memory_account_settled_after_several_writes_is_exact() {
        account_follows_changes(true);
    }

    fn account_follows_changes(several_per_settle: bool) {
        let mut rng = crate::util::rand::Rng::new(7);
        let mut db = Db::default();
        let limits = Limits::default();
        for step in 0..20_000u64 {
            let key = format!("k{}", rng.below(200));
            let key = key.as_bytes();
            match rng.below(9) {
                0 => db.set(key, s(&"v".repeat(rng.below(300) as usize))),
                1 => db.set_str(
                    key,
                    &vec![b'x'; rng.below(100) as usize],
                    rng.below(2) == 0,
                    step,
                ),
                2 => {
                    if let Some(mut m) = db.get_mut(key, step).and_then(Entry::str_mut) {
                        m.append(&[b'a'; 40]);
                    }
                }
                3 => {
                    let e = db.get_or_insert_with(key, step, || Value::Hash(Hash::new()));
                    if let Some(h) = e.hash_mut() {
                        let f = format!("f{}", rng.below(600));
                        h.insert(f.as_bytes(), b"value", &limits);
                    }
                }
                4 => {
                    let e = db.get_or_insert_with(key, step, || Value::List(List::new()));
                    if let Some(l) = e.list_mut() {
                        if rng.below(3) == 0 {
                            l.pop_front();
                        } else {
                            l.push_back(vec![b'e'; rng.below(50) as usize]);
                        }
                    }
                }
                5 => {
                    db.remove(key, step);
                }
                6 => {
                    db.set_expiry(key, step + 1 + rng.below(50), step);
                }
                7 => {
                    db.persist(key, step);
                }
                _ => {
                    if let Some(e) = db.remove(key, step) {
                        let to = format!("r{}", rng.below(50));
                        db.insert(e.rekeyed(to.as_bytes()));
                    }
                }
            }
            if rng.below(4) == 0 {
                db.expire_step(5, step);
            }
            if !several_per_settle || rng.below(SETTLE_EVERY as u64) == 0 {
                db.settle();
                assert_eq!(db.used_memory(), measured(&db), "after step {step}");
            }
        }
        db.settle();
        assert_eq!(db.used_memory(), measured(&db));
        db.clear();
        assert_eq!(db.used_memory(), 0);
    }

    #[test]
    fn the_published_total_adds_up_the_databases() {
        let mut ks = Keyspace::new(4);
        for step in 0..2000u64 {
            let db = ks.db_mut((step % 4) as usize);
            let key = format!("k{}", step % 37);
            match step % 5 {
                0 | 1 => db.set(key.as_bytes(), s(&"x".repeat((step % 90) as usize))),
                2 => {
                    db.remove(key.as_bytes(), 0);
                }
                3 => {
                    db.set_expiry(key.as_bytes(), 10_000, 0);
                }
                _ if step % 400 == 4 => ks.db_mut(1).clear(),
                _ => ks.swap_dbs(0, 3),
            }
            ks.settle();
            assert_eq!(
                ks.used.load(Ordering::Relaxed),
                ks.used_memory(),
                "step {step}"
            );
        }
    }

    #[test]
    fn a_batch_settles_every_few_commands() {
        let mut ks = Keyspace::new(1);
        ks.settle_later = true;
        for n in 1..=2 * SETTLE_EVERY {
            let e = ks
                .db_mut(0)
                .get_or_insert_with(b"l", 0, || Value::List(List::new()));
            if let Some(l) = e.list_mut() {
                l.push_back(vec![b'e'; 100]);
            }
            ks.take_effects();
            let published = ks.used.load(Ordering::Relaxed);
            if n % SETTLE_EVERY == 0 {
                assert_eq!(published, ks.used_memory(), "settled after command {n}");
            } else {
                assert!(published < measured(ks.db(0)), "not yet after command {n}");
            }
        }
    }

    #[test]
    fn lazy_expiry_hides_and_removes() {
        let mut db = Db::default();
        db.set(b"a", s("1"));
        assert!(db.set_expiry(b"a", 100, 50));
        assert!(db.get(b"a", 99).is_some());
        assert!(db.get(b"a", 101).is_none());
        assert_eq!(db.len(), 1, "a read does not remove");
        assert_eq!(db.reap_stale(), 1, "but notes the key for removal");
        assert_eq!(db.len(), 0);
        db.set(b"b", s("1"));
        db.set_expiry(b"b", 100, 50);
        assert!(db.get_mut(b"b", 100).is_some());
        assert!(db.get_mut(b"b", 101).is_none());
        assert_eq!(db.len(), 0, "a write lookup removes");
        assert_eq!(db.expires_count(), 0);
        assert_eq!(db.expired_removed, 2);
    }

    #[test]
    fn set_clears_ttl_and_keep_ttl_keeps_it() {
        let mut db = Db::default();
        db.set(b"a", s("1"));
        db.set_expiry(b"a", 1000, 0);
        db.set_str(b"a", b"2", true, 0);
        assert_eq!(db.get(b"a", 0).unwrap().expires_at(), Some(1000));
        db.set(b"a", s("3"));
        assert_eq!(db.get(b"a", 0).unwrap().expires_at(), None);
        assert_eq!(db.expires_count(), 0);
    }

    #[test]
    fn expired_keys_enter_the_effects_record_in_order() {
        let mut ks = Keyspace::new(2);
        let expiring = |ks: &mut Keyspace, db: usize, key: &[u8]| {
            ks.db_mut(db).set(key, s("v"));
            ks.db_mut(db).set_expiry(key, 10, 0);
        };
        // Removed by a write's lookup, by reaping after a read, by the active cycle, in
        // either database; a FLUSHDB in between keeps what was logged.
        expiring(&mut ks, 0, b"written");
        expiring(&mut ks, 0, b"read");
        expiring(&mut ks, 1, b"cycled");
        assert!(
            ks.db(0).get(b"written", 10).is_some(),
            "alive at its expiry ms"
        );
        assert!(ks.db_mut(0).remove(b"written", 11).is_none());
        ks.changed(class::GENERIC, "del", 0, b"other");
        assert!(ks.db(0).get(b"read", 11).is_none());
        ks.reap_stale();
        ks.db_mut(1).clear();
        expiring(&mut ks, 1, b"cycled");
        assert_eq!(ks.db_mut(1).expire_step(20, 11), (1, 1));
        let fx = ks.take_effects();
        let events: Vec<(&str, usize, &[u8])> =
            fx.events.iter().map(|e| (e.name, e.db, &*e.key)).collect();
        assert_eq!(
            events,
            [
                ("expired", 0, b"written".as_slice()),
                ("del", 0, b"other"),
                ("expired", 0, b"read"),
                ("expired", 1, b"cycled"),
            ]
        );
        assert_eq!(
            fx.ops,
            [
                Op::new(0, &["DEL", "written"]),
                Op::new(0, &["DEL", "read"]),
                Op::new(1, &["DEL", "cycled"]),
            ]
        );
        assert!(!ks.effects_pending(), "taken once");
        ks.set_lazy_expire(true);
        expiring(&mut ks, 0, b"lazy");
        assert!(ks.db_mut(0).get_mut(b"lazy", 11).is_none());
        assert_eq!(ks.take_effects().ops, [Op::new(0, &["UNLINK", "lazy"])]);
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
            assert_eq!(db.table.get(key).unwrap().ttl_slot as usize, slot);
        }
    }

    #[test]
    fn loading_a_key_twice_keeps_the_last_and_its_accounts() {
        let load = |db: &mut Db, key: &[u8], value: Value, expires: Option<u64>| {
            db.load(key, value, expires, 8, clock::Saved::default(), 0);
        };
        let s = |v: &str| Value::Str(v.as_bytes().to_vec());
        let mut twice = Db::default();
        load(&mut twice, b"a", s("first a"), Some(100));
        load(&mut twice, b"b", s("first b"), Some(200));
        load(&mut twice, b"c", s("c"), Some(250));
        load(&mut twice, b"d", s("d"), None);
        load(
            &mut twice,
            b"a",
            Value::List(List::from_iter(vec![b"x".to_vec()])),
            None,
        );
        load(
            &mut twice,
            b"b",
            s("second b, longer than the first"),
            Some(300),
        );
        load(&mut twice, b"d", s("second d"), Some(400));
        let mut once = Db::default();
        load(&mut once, b"c", s("c"), Some(250));
        load(
            &mut once,
            b"a",
            Value::List(List::from_iter(vec![b"x".to_vec()])),
            None,
        );
        load(
            &mut once,
            b"b",
            s("second b, longer than the first"),
            Some(300),
        );
        load(&mut once, b"d", s("second d"), Some(400));
        assert_eq!(twice.len(), 4);
        assert_eq!(twice.expires_count(), 3);
        for key in [&b"a"[..], b"b", b"c", b"d"] {
            let (x, y) = (twice.peek(key, 0).unwrap(), once.peek(key, 0).unwrap());
            assert_eq!((x.value(), x.expires_at()), (y.value(), y.expires_at()));
        }
        // Every key with an expiry knows its slot in the expiry index.
        for (slot, key) in twice.ttl_keys.iter().enumerate() {
            assert_eq!(twice.table.get(key).unwrap().ttl_slot as usize, slot);
        }
        assert_eq!(
            (twice.used, twice.ttl_key_bytes),
            (once.used, once.ttl_key_bytes)
        );
    }

    #[test]
    fn entries_pack_strings_with_their_key_and_switch_types() {
        let mut db = Db::default();
        db.set_str(b"k", b"hello", false, 0);
        let e = db.get_mut(b"k", 0).unwrap();
        assert_eq!((e.key(), e.str()), (&b"k"[..], Some(&b"hello"[..])));
        e.str_mut().unwrap().append(b" world");
        assert_eq!(e.value(), ValueRef::Str(b"hello world"));
        e.set_value(Value::List(List::from_iter(vec![b"x".to_vec()])));
        assert_eq!((e.key(), e.str(), e.type_name()), (&b"k"[..], None, "list"));
        assert!(e.str_mut().is_none());
        e.list_mut().unwrap().push_back(b"y");
        e.set_str(b"back");
        assert!(e.list().is_none());
        let e = db.remove(b"k", 0).unwrap();
        assert_eq!(e.into_value(), Value::Str(b"back".to_vec()));
    }

    #[test]
    fn collections_carry_their_key_through_every_move() {
        let l = Limits::default();
        let mut h = Hash::new();
        h.insert(b"f", b"v", &l);
        let mut big = Hash::new();
        for i in 0..600 {
            big.insert(format!("f{i}").as_bytes(), b"v", &l);
        }
        let values = [
            Value::Hash(h),
            Value::Hash(big),
            Value::Set(Set::from_members(["1", "2"], &l)),
            Value::Set(Set::from_members(["a", "b"], &l)),
            Value::ZSet(ZSet::new()),
            Value::List(List::from_iter(vec![b"x".to_vec()])),
        ];
        for value in values {
            let mut db = Db::default();
            db.set(b"first", value.clone());
            assert_eq!(db.get(b"first", 0).unwrap().key(), b"first");
            let e = db
                .remove(b"first", 0)
                .unwrap()
                .rekeyed(b"a much longer second key");
            db.insert(e);
            let copy = db
                .get(b"a much longer second key", 0)
                .unwrap()
                .duplicate(b"3");
            db.insert(copy);
            for key in [&b"a much longer second key"[..], b"3"] {
                let e = db.get_mut(key, 0).unwrap();
                assert_eq!((e.key(), e.value()), (key, value.as_ref()));
                e.set_value(value.clone());
                assert_eq!(e.key(), key);
            }
            // The value leaves the keyspace without the key it was stored under.
            let out = db.remove(b"3", 0).unwrap().into_value();
            assert_eq!(out, value);
            let mut again = Db::default();
            again.set(b"4", out);
            assert_eq!(again.get(b"4", 0).unwrap().key(), b"4");
            // A string written over it takes the key back into its own buffer.
            let e = db.get_mut(b"a much longer second key", 0).unwrap();
            e.set_str(b"now a string");
            assert_eq!(e.key(), b"a much longer second key");
            assert_eq!(e.str(), Some(&b"now a string"[..]));
        }
    }

    #[test]
    fn a_set_replaced_whole_keeps_its_key() {
        let l = Limits::default();
        let mut db = Db::default();
        db.set(b"s", Value::Set(Set::from_members(["a", "b", "c"], &l)));
        let set = db.get_mut(b"s", 0).unwrap().as_set_mut().unwrap();
        let old = set.replace_with(Set::from_members(["7"], &l));
        assert_eq!(old, Set::from_members(["a", "b", "c"], &l));
        let e = db.get(b"s", 0).expect("still found under its key");
        assert_eq!(e.as_set().unwrap().encoding(), "intset");
    }

    fn encoding_of(value: &[u8]) -> &'static str {
        let mut db = Db::default();
        db.set_str(b"k", value, false, 0);
        db.get(b"k", 0).unwrap().encoding()
    }

    #[test]
    fn string_encodings_follow_try_object_encoding() {
        assert_eq!(encoding_of(b"123"), "int");
        assert_eq!(encoding_of(b"-9223372036854775808"), "int");
        assert_eq!(encoding_of(b"9223372036854775808"), "embstr");
        assert_eq!(encoding_of(b"012"), "embstr");
        assert_eq!(encoding_of(b""), "embstr");
        assert_eq!(encoding_of(&[b'x'; 44]), "embstr");
        assert_eq!(encoding_of(&[b'x'; 45]), "raw");
        assert_eq!(encoding_of(&[b'1'; 45]), "raw");
    }

    #[test]
    fn in_place_changes_make_raw_and_a_whole_write_resets() {
        let mut db = Db::default();
        db.set_str(b"k", b"1", false, 0);
        let e = db.get_mut(b"k", 0).unwrap();
        e.str_mut().unwrap().append(b"2");
        assert_eq!((e.str(), e.encoding()), (Some(&b"12"[..]), "raw"));
        e.str_mut().unwrap().set(b"77");
        assert_eq!(e.encoding(), "int");
        e.str_mut().unwrap().bytes_mut()[0] = b'8';
        assert_eq!(e.encoding(), "raw");
        e.set_str(b"5");
        assert_eq!(e.encoding(), "int");
        e.str_mut().unwrap().resize(3);
        assert_eq!(e.encoding(), "raw");
        e.set_str(b"11");
        e.set_origin(StrOrigin::Plain);
        assert_eq!((e.encoding(), e.key()), ("embstr", &b"k"[..]));
        e.set_value(Value::List(List::from_iter(vec![b"x".to_vec()])));
        assert_eq!(e.encoding(), "quicklist");
        assert_eq!(e.refcount(true), 1);
    }

    #[test]
    fn small_integers_set_whole_are_shared() {
        let mut db = Db::default();
        for (v, shared) in [("0", true), ("9999", true), ("10000", false), ("-1", false)] {
            db.set_str(b"k", v.as_bytes(), false, 0);
            let e = db.get(b"k", 0).unwrap();
            let expected = if shared { SHARED_REFCOUNT } else { 1 };
            assert_eq!(e.refcount(true), expected, "{v}");
            assert_eq!(e.refcount(false), 1, "{v}");
        }
    }

    #[test]
    fn duplicates_keep_the_encoding_but_never_share() {
        let mut db = Db::default();
        let cases: [(&[u8], &str); 4] = [
            (b"5", "int"),
            (b"abc", "embstr"),
            (&[b'y'; 50], "raw"),
            (b"7", "raw"),
        ];
        for (value, encoding) in cases {
            db.set_str(b"src", value, false, 0);
            if encoding == "raw" && value.len() == 1 {
                let e = db.get_mut(b"src", 0).unwrap();
                e.str_mut().unwrap().bytes_mut()[0] = b'7';
            }
            db.set_expiry(b"src", 500, 0);
            let copy = db.get(b"src", 0).unwrap().duplicate(b"dst");
            assert_eq!((copy.key(), copy.str()), (&b"dst"[..], Some(value)));
            assert_eq!((copy.encoding(), copy.refcount(true)), (encoding, 1));
            assert_eq!(copy.expires_at(), Some(500));
            db.insert(copy);
            assert_eq!(db.expires_count(), 2);
            db.remove(b"dst", 0);
        }
    }

    #[test]
    fn rekeyed_entries_move_with_their_expiry() {
        let mut db = Db::default();
        db.set(b"a", Value::List(List::from_iter(vec![b"x".to_vec()])));
        db.set_expiry(b"a", 1000, 0);
        db.set(b"b", s("old"));
        db.set_expiry(b"b", 2000, 0);
        db.set(b"s", s("1"));
        db.get_mut(b"s", 0).unwrap().str_mut().unwrap().append(b"0");
        let e = db.remove(b"a", 0).unwrap().rekeyed(b"b");
        db.insert(e);
        assert_eq!(db.len(), 2);
        let b = db.get(b"b", 0).unwrap();
        assert_eq!((b.type_name(), b.expires_at()), ("list", Some(1000)));
        let e = db.remove(b"s", 0).unwrap().rekeyed(b"longer key name");
        assert_eq!((e.str(), e.encoding()), (Some(&b"10"[..]), "raw"));
        db.insert(e);
        assert_eq!(db.expires_count(), 1);
        for (slot, key) in db.ttl_keys.iter().enumerate() {
            assert_eq!(db.table.get(key).unwrap().ttl_slot as usize, slot);
        }
        assert!(
            db.get(b"b", 1001).is_none(),
            "the moved expiry still applies"
        );
    }

    #[test]
    fn random_key_skips_expired_keys() {
        let mut db = Db::default();
        let mut rng = Rng::new(3);
        assert_eq!(db.random_key(&mut rng, 0), None);
        for i in 0..1000u32 {
            let k = i.to_string();
            db.set(k.as_bytes(), s("v"));
            db.set_expiry(k.as_bytes(), 10, 0);
        }
        db.set(b"live", s("v"));
        // All but one expired: the draws give up and the walk finds it.
        for _ in 0..20 {
            assert_eq!(db.random_key(&mut rng, 11), Some(&b"live"[..]));
        }
        assert!(
            db.has_stale.load(Ordering::Acquire),
            "expired draws are noted"
        );
        assert!(db.reap_stale() > 0);
        db.remove(b"live", 11);
        assert_eq!(db.random_key(&mut rng, 11), None);
        // Live keys are all reachable.
        let mut db = Db::default();
        for i in 0..20u32 {
            db.set(i.to_string().as_bytes(), s("v"));
        }
        let seen: std::collections::HashSet<Vec<u8>> = (0..2000)
            .map(|_| db.random_key(&mut rng, 0).unwrap().to_vec())
            .collect();
        assert_eq!(seen.len(), 20);
    }

    #[test]
    fn db_scan_walks_every_key() {
        let mut db = Db::default();
        for i in 0..300u32 {
            db.set(i.to_string().as_bytes(), s("v"));
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = db.scan(cursor, 7, |e| seen.push(e.key().to_vec()));
            if cursor == 0 {
                break;
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 300);
    }

    #[test]
    fn swapping_databases_wakes_clients_blocked_on_new_lists() {
        let mut ks = Keyspace::new(3);
        ks.db_mut(0).set(b"a", s("x"));
        ks.db_mut(1)
            .set(b"q", Value::List(List::from_iter(vec![b"x".to_vec()])));
        ks.db_mut(1)
            .set(b"r", Value::List(List::from_iter(vec![b"x".to_vec()])));
        let w = blocking::Waiter::new(Box::new(|_, _, _, _| blocking::Attempt::NotReady));
        ks.blocked.block(0, [&b"q"[..], b"a"], &w);
        ks.swap_dbs(0, 1);
        assert!(ks.db(0).contains(b"q", 0) && ks.db(1).contains(b"a", 0));
        assert_eq!(ks.ready, vec![(0, Key::from(&b"q"[..]))]);
        ks.swap_dbs(2, 2);
        assert_eq!(ks.ready.len(), 1);
    }

    /// Runs a snapshot of database `index` of `ks` to the end, calling `between` after
    /// each step, and returns what it wrote, sorted.
    fn run_snapshot(
        ks: &mut Keyspace,
        index: usize,
        mut between: impl FnMut(&mut Keyspace, usize),
    ) -> Vec<(Vec<u8>, Value, Option<u64>)> {
        let mut out = Vec::new();
        let mut step = 0;
        loop {
            let done = ks
                .snapshot_db(index)
                .unwrap()
                .snapshot_step(50, |k, v, e, _| {
                    out.push((k.to_vec(), v.to_owned(), e));
                });
            if done {
                break;
            }
            between(ks, step);
            step += 1;
        }
        let snap = ks.snapshot_end(index).unwrap();
        for (k, image) in snap.into_leftovers() {
            if let Some((v, e)) = image {
                out.push((k.to_vec(), v, e));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn contents(db: &Db) -> Vec<(Vec<u8>, Value, Option<u64>)> {
        let mut all: Vec<_> = db
            .iter()
            .map(|e| (e.key().to_vec(), e.value().to_owned(), e.expires_at()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    #[test]
    fn a_big_table_near_full_gets_a_spare_array_that_its_growth_uses() {
        let mut ks = Keyspace::new(2);
        let n = SPARE_MIN_BUCKETS;
        for i in 0..n - n / 4 - 1 {
            ks.db_mut(1)
                .set_str(format!("k{i}").as_bytes(), b"v", false, 0);
        }
        while ks.rehash_pending() {
            ks.rehash_for(std::time::Duration::from_secs(1));
        }
        assert_eq!(ks.db(1).table.buckets(), n);
        assert_eq!(ks.spares_wanted(), vec![]);
        ks.db_mut(1).set_str(b"one more", b"v", false, 0);
        assert_eq!(ks.spares_wanted(), vec![(1, 2 * n)]);
        // The wrong size is given back; the right one is kept, and not counted (its
        // pages are not resident until the growth writes into them).
        assert!(ks.give_spare(1, table::Buckets::new(n)).is_some());
        let before = ks.db(1).used_memory();
        assert!(ks.give_spare(1, table::Buckets::new(2 * n)).is_none());
        assert!(ks.has_spares());
        assert_eq!(ks.db(1).used_memory(), before);
        assert_eq!(ks.spares_wanted(), vec![]);
        let mut i = 0;
        while ks.db(1).len() < n {
            ks.db_mut(1)
                .set_str(format!("more{i}").as_bytes(), b"v", false, 0);
            i += 1;
        }
        assert!(ks.has_spares());
        ks.db_mut(1).set_str(b"the growing one", b"v", false, 0);
        assert!(!ks.has_spares(), "the growth took the spare");
        assert_eq!(
            ks.db(1).table.buckets(),
            n + 2 * n,
            "old and new arrays while rehashing"
        );
        // A spare that the table no longer heads for (it lost most of its keys) is
        // handed back, to be dropped without the lock.
        while ks.rehash_pending() {
            ks.rehash_for(std::time::Duration::from_secs(1));
        }
        let mut i = 0;
        while ks.spares_wanted().is_empty() {
            ks.db_mut(1)
                .set_str(format!("grow{i}").as_bytes(), b"v", false, 0);
            i += 1;
        }
        assert!(ks.give_spare(1, table::Buckets::new(4 * n)).is_none());
        assert!(!ks.has_stale_spares(), "still wanted");
        assert!(ks.stale_spares().is_empty());
        let keys: Vec<Vec<u8>> = ks.db(1).iter().map(|e| e.key().to_vec()).collect();
        for key in &keys[..keys.len() * 3 / 4] {
            ks.db_mut(1).delete(key);
        }
        assert!(ks.has_stale_spares());
        assert_eq!(ks.stale_spares().len(), 1);
        assert!(!ks.has_spares() && !ks.has_stale_spares());
    }

    #[test]
    fn pre_images_of_mass_overwrites_grow_in_steps_and_keep_the_start() {
        let mut ks = Keyspace::new(1);
        for i in 0..20_000u32 {
            ks.db_mut(0)
                .set(format!("k{i}").as_bytes(), s(&i.to_string()));
        }
        let before = contents(ks.db(0));
        assert_eq!(ks.snapshot_begin(), vec![(0, 20_000)]);
        // Before the walk moves, overwrite most keys, delete some, add new ones: each
        // records a pre-image, and the table holding them grows a step per insert
        // rather than all at once.
        let mut seen_growing = 0;
        for i in 0..20_000u32 {
            let key = format!("k{i}");
            match i % 10 {
                0 => {
                    ks.db_mut(0).remove(key.as_bytes(), 0);
                }
                1 => ks.db_mut(0).set(format!("new{i}").as_bytes(), s("n")),
                _ => ks.db_mut(0).set(key.as_bytes(), s("overwritten")),
            }
            let snap = ks.db(0).snapshot().unwrap();
            if snap.pre.lock().unwrap().is_rehashing() {
                seen_growing += 1;
            }
        }
        assert!(seen_growing > 1000, "grew in steps: {seen_growing}");
        let written = run_snapshot(&mut ks, 0, |_, _| {});
        assert!(written == before, "the snapshot differs from the start");
    }

    #[test]
    fn a_snapshot_sees_the_keyspace_as_it_was_at_the_start() {
        let mut ks = Keyspace::new(2);
        for i in 0..3000u32 {
            ks.db_mut(0)
                .set(format!("k{i}").as_bytes(), s(&i.to_string()));
            if i % 7 == 0 {
                ks.db_mut(0)
                    .set_expiry(format!("k{i}").as_bytes(), 1_000_000 + u64::from(i), 0);
            }
        }
        ks.db_mut(0)
            .set(b"list", Value::List(List::from_iter(vec![b"a".to_vec()])));
        let before = contents(ks.db(0));
        let buckets = ks.db(0).table.buckets();
        // The growth from 2048 buckets is still moving them: the snapshot holds it.
        assert!(ks.db(0).table.is_rehashing());
        assert_eq!(ks.snapshot_begin(), vec![(0, 3001)]);
        assert!(!ks.rehash_pending());
        let mut rng = Rng::new(9);
        let written = run_snapshot(&mut ks, 0, |ks, step| {
            let db = ks.db_mut(0);
            for _ in 0..40 {
                let i = rng.below(4000);
                let key = format!("k{i}");
                match rng.below(6) {
                    0 => db.set(key.as_bytes(), s("changed")),
                    1 => {
                        db.remove(key.as_bytes(), 0);
                    }
                    2 => db.set_str(key.as_bytes(), b"again", true, 0),
                    3 => {
                        db.set_expiry(key.as_bytes(), 5, 0);
                    }
                    4 => {
                        // Expired now: the write lookup removes it.
                        db.get_mut(key.as_bytes(), 1_000_000_000);
                    }
                    _ => {
                        if let Some(e) = db.get_mut(b"list", 0) {
                            e.list_mut()
                                .unwrap()
                                .push_back(step.to_string().into_bytes());
                        }
                    }
                }
            }
            assert!(!db.rehash(100), "no rehash step during a snapshot");
            assert_eq!(db.table.buckets(), buckets, "no resize during a snapshot");
        });
        assert_eq!(written.len(), before.len());
        assert!(written == before, "the snapshot differs from the start");
        assert!(ks.db(0).snapshot().is_none());
        // The rehash goes on afterwards, and what the walk saw is all still there.
        assert!(ks.rehash_pending());
        while ks.rehash_pending() {
            ks.rehash_for(std::time::Duration::from_millis(1));
        }
        assert!(!ks.db(0).is_empty() && ks.db(0).table.buckets().is_power_of_two());
        assert_eq!(contents(ks.db(0)).len(), ks.db(0).len());
    }

    #[test]
    fn flush_and_swap_during_a_snapshot_do_not_change_it() {
        let mut ks = Keyspace::new(3);
        for i in 0..500u32 {
            ks.db_mut(0).set(format!("a{i}").as_bytes(), s("x"));
            ks.db_mut(1).set(format!("b{i}").as_bytes(), s("y"));
        }
        let (before0, before1) = (contents(ks.db(0)), contents(ks.db(1)));
        assert_eq!(ks.snapshot_begin(), vec![(0, 500), (1, 500)]);
        let written0 = run_snapshot(&mut ks, 0, |ks, step| {
            if step == 2 {
                ks.swap_dbs(0, 2);
                ks.db_mut(2).set(b"a1", s("changed"));
                ks.db_mut(2).clear();
                ks.db_mut(2).set(b"new", s("z"));
            }
        });
        assert!(written0 == before0);
        let written1 = run_snapshot(&mut ks, 1, |ks, step| {
            if step == 1 {
                ks.flush_all();
                ks.db_mut(1).set(b"b1", s("after"));
            }
        });
        assert!(written1 == before1);
        assert_eq!(ks.db(1).len(), 1);
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
