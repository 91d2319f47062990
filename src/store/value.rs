//! The values a key can hold.
//!
//! [`Value`] is the owned form commands build and the dump reader returns. Inside the
//! keyspace a string is packed into the same allocation as its key, and a small hash,
//! set or sorted set into its own buffer with the key (see [`Entry`](super::Entry)), so
//! reads see values through [`ValueRef`]. Each collection type lives in its own module
//! ([`super::hash`], [`super::set`], [`super::zset`], [`super::list`]) and keeps Redis's
//! compact encodings while it is small, within the [`Limits`] the config sets.

use super::hash::Hash;
use super::list::List;
use super::set::Set;
use super::stream::Stream;
use super::zset::ZSet;

/// An owned value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A binary-safe string (also used for integers and bitmaps, as in Redis).
    Str(Vec<u8>),
    /// A list, O(1) at both ends.
    List(List),
    /// A hash of fields to values.
    Hash(Hash),
    /// A set of distinct members.
    Set(Set),
    /// A sorted set: members ordered by score, then bytewise.
    ZSet(ZSet),
    /// A stream of entries with consumer groups.
    Stream(Box<Stream>),
}

/// A borrowed view of a stored value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Str(&'a [u8]),
    List(&'a List),
    Hash(&'a Hash),
    Set(&'a Set),
    ZSet(&'a ZSet),
    Stream(&'a Stream),
}

impl Value {
    /// A borrowed view.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(s) => ValueRef::Str(s),
            Value::List(l) => ValueRef::List(l),
            Value::Hash(h) => ValueRef::Hash(h),
            Value::Set(s) => ValueRef::Set(s),
            Value::ZSet(z) => ValueRef::ZSet(z),
            Value::Stream(s) => ValueRef::Stream(s),
        }
    }
}

impl ValueRef<'_> {
    /// The name TYPE reports for this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueRef::Str(_) => "string",
            ValueRef::List(_) => "list",
            ValueRef::Hash(_) => "hash",
            ValueRef::Set(_) => "set",
            ValueRef::ZSet(_) => "zset",
            ValueRef::Stream(_) => "stream",
        }
    }

    /// An owned copy.
    pub fn to_owned(&self) -> Value {
        match self {
            ValueRef::Str(s) => Value::Str(s.to_vec()),
            ValueRef::List(l) => Value::List((*l).clone()),
            ValueRef::Hash(h) => Value::Hash((*h).clone()),
            ValueRef::Set(s) => Value::Set((*s).clone()),
            ValueRef::ZSet(z) => Value::ZSet((*z).clone()),
            ValueRef::Stream(s) => Value::Stream(Box::new((*s).clone())),
        }
    }
}

/// The sizes up to which collections keep Redis's compact encodings (`listpack`,
/// `intset`), from the config parameters of the same names. They decide what OBJECT
/// ENCODING reports, and with it the reply orders that depend on the encoding: a
/// `listpack` hash keeps insertion order, an `intset` is sorted, and HSCAN, SSCAN and
/// ZSCAN return a compact collection whole in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `hash-max-listpack-entries`.
    pub hash_entries: usize,
    /// `hash-max-listpack-value`: the longest field or value a listpack hash holds.
    pub hash_value: usize,
    /// `set-max-intset-entries`.
    pub set_intset_entries: usize,
    /// `zset-max-listpack-entries`.
    pub zset_entries: usize,
    /// `zset-max-listpack-value`: the longest member a listpack sorted set holds.
    pub zset_value: usize,
    /// `stream-node-max-entries` and `stream-node-max-bytes`: where stream nodes split.
    pub stream_node: super::stream::NodeLimits,
    /// `hll-sparse-max-bytes`: the longest a sparse HyperLogLog grows before it turns
    /// dense.
    pub hll_sparse_bytes: usize,
}

impl Default for Limits {
    /// Redis 7.0's defaults.
    fn default() -> Limits {
        Limits {
            hash_entries: 512,
            hash_value: 64,
            set_intset_entries: 512,
            zset_entries: 128,
            zset_value: 64,
            stream_node: super::stream::NodeLimits::default(),
            hll_sparse_bytes: 3000,
        }
    }
}
