//! The hash type. (Placeholder representation: the hash work replaces it.)

use super::value::Limits;

/// A hash of fields to values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hash {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    big: bool,
}

impl Hash {
    /// An empty hash.
    pub fn new() -> Hash {
        Hash::default()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Every (field, value), in the encoding's order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.pairs.iter().map(|(f, v)| (f.as_slice(), v.as_slice()))
    }

    /// Sets a field. Returns true if it is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8], limits: &Limits) -> bool {
        if field.len() > limits.hash_value || value.len() > limits.hash_value {
            self.big = true;
        }
        if let Some(p) = self.pairs.iter_mut().find(|(f, _)| f == field) {
            p.1 = value.to_vec();
            return false;
        }
        self.pairs.push((field.to_vec(), value.to_vec()));
        if self.pairs.len() > limits.hash_entries {
            self.big = true;
        }
        true
    }

    /// The encoding OBJECT ENCODING reports: `listpack` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        if self.big {
            "hashtable"
        } else {
            "listpack"
        }
    }
}
