//! The set type. (Placeholder representation: the set work replaces it.)

use super::value::Limits;

/// A set of distinct members.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Set {
    members: Vec<Vec<u8>>,
    big: bool,
}

impl Set {
    /// An empty set.
    pub fn new() -> Set {
        Set::default()
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Calls `f` with every member, in the encoding's order, until it fails.
    pub fn try_for_each<E>(&self, mut f: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        self.members.iter().try_for_each(|m| f(m))
    }

    /// Adds a member. Returns true if it is new.
    pub fn insert(&mut self, member: &[u8], limits: &Limits) -> bool {
        if self.members.iter().any(|m| m == member) {
            return false;
        }
        if crate::util::num::parse_i64(member).is_none() {
            self.big = true;
        }
        self.members.push(member.to_vec());
        if self.members.len() > limits.set_intset_entries {
            self.big = true;
        }
        true
    }

    /// The encoding OBJECT ENCODING reports: `intset` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        if self.big {
            "hashtable"
        } else {
            "intset"
        }
    }
}
