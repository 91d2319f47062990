//! The values a key can hold.
//!
//! Redis keeps every type in a `robj`; we keep one Rust enum. Later types (hashes, sets,
//! sorted sets) join as new variants, and the dump format gives each variant a type tag.

use std::collections::VecDeque;

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A binary-safe string (also used for integers and bitmaps, as in Redis).
    Str(Vec<u8>),
    /// A list, O(1) at both ends.
    List(VecDeque<Vec<u8>>),
}

impl Value {
    /// The name TYPE reports for this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
        }
    }
}
