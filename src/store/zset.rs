//! The sorted set type. (Placeholder representation: the sorted-set work replaces it.)

use super::value::Limits;

/// A sorted set: members ordered by score, then bytewise.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZSet {
    items: Vec<(f64, Vec<u8>)>,
    big: bool,
}

impl ZSet {
    /// An empty sorted set.
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every (member, score), lowest rank first.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> {
        self.items.iter().map(|(s, m)| (m.as_slice(), *s))
    }

    /// Adds a member or changes its score. Returns true if it is new.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &Limits) -> bool {
        let old = self.items.iter().position(|(_, m)| m == member);
        if let Some(i) = old {
            self.items.remove(i);
        }
        if member.len() > limits.zset_value {
            self.big = true;
        }
        let at = self
            .items
            .partition_point(|(s, m)| (*s, m.as_slice()) < (score, member));
        self.items.insert(at, (score, member.to_vec()));
        if self.items.len() > limits.zset_entries {
            self.big = true;
        }
        old.is_none()
    }

    /// The encoding OBJECT ENCODING reports: `listpack` or `skiplist`.
    pub fn encoding(&self) -> &'static str {
        if self.big {
            "skiplist"
        } else {
            "listpack"
        }
    }
}
