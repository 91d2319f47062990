//! The values a key can hold.
//!
//! [`Value`] is the owned form commands build and the dump reader returns. Inside the
//! keyspace a string is packed into the same allocation as its key (see
//! [`Entry`](super::Entry)), so reads see values through [`ValueRef`]. Later types
//! (hashes, sets, sorted sets) join as new variants of both, and the dump format gives
//! each a type tag.

use std::collections::VecDeque;

/// An owned value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A binary-safe string (also used for integers and bitmaps, as in Redis).
    Str(Vec<u8>),
    /// A list, O(1) at both ends.
    List(VecDeque<Vec<u8>>),
}

/// A borrowed view of a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRef<'a> {
    Str(&'a [u8]),
    List(&'a VecDeque<Vec<u8>>),
}

impl Value {
    /// A borrowed view.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(s) => ValueRef::Str(s),
            Value::List(l) => ValueRef::List(l),
        }
    }
}

impl ValueRef<'_> {
    /// The name TYPE reports for this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueRef::Str(_) => "string",
            ValueRef::List(_) => "list",
        }
    }

    /// An owned copy.
    pub fn to_owned(&self) -> Value {
        match self {
            ValueRef::Str(s) => Value::Str(s.to_vec()),
            ValueRef::List(l) => Value::List((*l).clone()),
        }
    }
}
