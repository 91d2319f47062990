//! The sorted set type (Redis's `zset`): an order-statistic B+tree for order and rank,
//! plus a hash table from member to score.
//!
//! Redis keeps the order in a skiplist with spans (`t_zset.c`). This file used to do the
//! same, but a skiplist visits about 2 log2(n) nodes per lookup, each a separate cache
//! line: at a million members that is some 40 cache misses for one ZRANK or ZADD. The
//! tree here keeps up to [`B`] entries per node in sorted arrays, so a lookup reads
//! about log32(n) nodes, and the upper levels (a few hundred KB for a million members)
//! stay in cache; what is left is the leaf itself.
//!
//! - Nodes live in one arena (`Vec<Node>`) and refer to each other by `u32` index, so
//!   there is no unsafe code and no allocation per link.
//! - A leaf holds (score, member) entries, sorted; leaves link to their neighbours, so
//!   a range is walked leaf by leaf.
//! - An inner node holds, for each child, a lower bound of the child's keys and how many
//!   entries the child's subtree holds. The counts give rank queries and lookups by rank
//!   in O(log n), as the skiplist's spans did.
//! - Both kinds of node share one layout (a leaf's counts are all 1), so splitting,
//!   merging and evening out siblings is written once.
//!
//! All rank and range queries come down to one walk, [`Tree::seek`]: the number of
//! entries before the first one a predicate rejects. A score or lex range is then a range
//! of ranks, and every range command (ZRANGE, ZCOUNT, ZREMRANGEBYSCORE...) works on ranks.
//!
//! Redis keeps small sorted sets in a listpack and converts them one way to the skiplist
//! once they outgrow `zset-max-listpack-entries` or a member outgrows
//! `zset-max-listpack-value`. [`ZSet`] does the same with a sorted vector for the small
//! ones and the tree and dict for the rest, so OBJECT ENCODING, ZSCAN and memory follow
//! Redis's encodings.

use std::ops::Range;

use super::packed::{get_bytes, get_varint, put_bytes, put_varint, Packed};
use super::table::{Keyed, Table};
use super::value::Limits;

/// The most entries (or children) a node holds.
const B: usize = 32;
/// A node below this many entries takes some from a sibling, or merges with it.
const MIN: usize = B / 4;
/// The index that points nowhere.
const NIL: u32 = u32::MAX;

/// A leaf or an inner node. Entry `i` is (`scores[i]`, `members[i]`): in a leaf, a
/// member of the set; in an inner node, a lower bound of child `i`'s keys, which is
/// above every key of child `i - 1` (entry 0's bound is never compared).
#[derive(Debug, Clone)]
struct Node {
    len: usize,
    scores: [f64; B],
    members: [Box<[u8]>; B],
    /// Inner nodes: the children. Unused in leaves.
    children: [u32; B],
    /// How many set members entry `i` stands for: its subtree's size, or 1 in a leaf.
    counts: [u32; B],
    /// Leaves: the neighbouring leaves in order ([`NIL`] at the ends).
    prev: u32,
    next: u32,
}

impl Node {
    fn new() -> Node {
        Node {
            len: 0,
            scores: [0.0; B],
            members: std::array::from_fn(|_| Box::default()),
            children: [NIL; B],
            counts: [0; B],
            prev: NIL,
            next: NIL,
        }
    }

    /// The first index from `from` on whose entry `pred` rejects (`pred` must accept a
    /// prefix of the entries). A straight scan rather than a binary search: the
    /// processor then fetches the node's cache lines together instead of one after
    /// another, which is what a lookup in a big set waits on.
    fn prefix(&self, from: usize, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        (from..self.len)
            .find(|&i| !pred(self.scores[i], &self.members[i]))
            .unwrap_or(self.len)
    }

    /// In an inner node: the child whose keys would include (score, member).
    fn child_for(&self, score: f64, member: &[u8]) -> usize {
        self.prefix(1, |s, m| !before(score, member, s, m)) - 1
    }

    /// In a leaf: the position of the first entry not below (score, member).
    fn lower_bound(&self, score: f64, member: &[u8]) -> usize {
        self.prefix(0, |s, m| before(s, m, score, member))
    }

    /// In an inner node: the child holding the entry at `rank` among this node's
    /// entries; `rank` becomes the entry's rank within that child.
    fn child_at(&self, rank: &mut usize) -> usize {
        let mut i = 0;
        while i + 1 < self.len && *rank >= self.counts[i] as usize {
            *rank -= self.counts[i] as usize;
            i += 1;
        }
        i
    }

    /// The number of set members below this node.
    fn total(&self) -> usize {
        self.counts[..self.len].iter().map(|&c| c as usize).sum()
    }

    fn insert(&mut self, pos: usize, score: f64, member: Box<[u8]>, child: u32, count: u32) {
        let len = self.len;
        self.scores.copy_within(pos..len, pos + 1);
        self.children.copy_within(pos..len, pos + 1);
        self.counts.copy_within(pos..len, pos + 1);
        self.members[pos..=len].rotate_right(1);
        self.scores[pos] = score;
        self.members[pos] = member;
        self.children[pos] = child;
        self.counts[pos] = count;
        self.len += 1;
    }

    fn remove(&mut self, pos: usize) -> (f64, Box<[u8]>, u32, u32) {
        let len = self.len;
        let taken = (
            self.scores[pos],
            std::mem::take(&mut self.members[pos]),
            self.children[pos],
            self.counts[pos],
        );
        self.scores.copy_within(pos + 1..len, pos);
        self.children.copy_within(pos + 1..len, pos);
        self.counts.copy_within(pos + 1..len, pos);
        self.members[pos..len].rotate_left(1);
        self.len -= 1;
        taken
    }

    /// Moves the entries from `at` on to the end of `to`.
    fn move_tail(&mut self, at: usize, to: &mut Node) {
        for i in at..self.len {
            let (s, m, c, n) = (
                self.scores[i],
                std::mem::take(&mut self.members[i]),
                self.children[i],
                self.counts[i],
            );
            to.insert(to.len, s, m, c, n);
        }
        self.len = at.min(self.len);
    }
}

/// Whether (s1, m1) sorts before (s2, m2): by score, then bytewise by member.
fn before(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> bool {
    s1 < s2 || (s1 == s2 && m1 < m2)
}

/// What a removal looks for.
enum Target<'a> {
    /// The entry with this key.
    Key(f64, &'a [u8]),
    /// The entry at this rank.
    Rank(usize),
    /// The entry with the key (score, member), to be given the new score: it is only
    /// rescored, and not removed, when it stays between its neighbours in its leaf.
    Rescore(f64, &'a [u8], f64),
}

/// The ordered half of a sorted set: an order-statistic B+tree of (score, member).
#[derive(Debug, Clone)]
pub struct Tree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    /// How many inner levels sit above the leaves (0: the root is a leaf).
    height: usize,
    len: usize,
}

impl Default for Tree {
    fn default() -> Tree {
        Tree::new()
    }
}

impl Tree {
    /// The heap of the tree's node arrays (not what its members own).
    fn node_bytes(&self) -> usize {
        use crate::store::memory::alloc;
        alloc(self.nodes.capacity() * std::mem::size_of::<Node>()) + alloc(self.free.capacity() * 4)
    }

    /// An empty tree: one empty leaf.
    pub fn new() -> Tree {
        Tree {
            nodes: vec![Node::new()],
            free: Vec::new(),
            root: 0,
            height: 0,
            len: 0,
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the tree is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn node(&self, id: u32) -> &Node {
        &self.nodes[id as usize]
    }

    fn node_mut(&mut self, id: u32) -> &mut Node {
        &mut self.nodes[id as usize]
    }

    fn alloc(&mut self, node: Node) -> u32 {
        match self.free.pop() {
            Some(id) => {
                *self.node_mut(id) = node;
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, id: u32) {
        let n = self.node_mut(id);
        n.len = 0;
        n.members.iter_mut().for_each(|m| *m = Box::default());
        self.free.push(id);
    }

    /// Adds (score, member), which must not be present yet. Full nodes on the way down
    /// are split before entering them, so there is always room for what comes up.
    pub fn insert(&mut self, score: f64, member: Box<[u8]>) {
        if self.node(self.root).len == B {
            let old = self.root;
            let mut root = Node::new();
            let bound = self.node(old).members[0].clone();
            root.insert(0, self.node(old).scores[0], bound, old, self.len as u32);
            self.root = self.alloc(root);
            self.height += 1;
            self.split_child(self.root, 0, self.height == 1);
        }
        let mut id = self.root;
        for h in (1..=self.height).rev() {
            let mut i = self.node(id).child_for(score, &member);
            if self.node(self.node(id).children[i]).len == B {
                self.split_child(id, i, h == 1);
                let n = self.node(id);
                if !before(score, &member, n.scores[i + 1], &n.members[i + 1]) {
                    i += 1;
                }
            }
            let n = self.node_mut(id);
            n.counts[i] += 1;
            id = n.children[i];
        }
        let leaf = self.node_mut(id);
        let pos = leaf.lower_bound(score, &member);
        leaf.insert(pos, score, member, NIL, 1);
        self.len += 1;
    }

    /// Splits the full child `i` of `parent` in two halves, the upper half becoming child
    /// `i + 1`.
    fn split_child(&mut self, parent: u32, i: usize, leaf: bool) {
        let left = self.node(parent).children[i];
        let mut right = Node::new();
        self.node_mut(left).move_tail(B / 2, &mut right);
        let (bound, count) = (
            (right.scores[0], right.members[0].clone()),
            right.total() as u32,
        );
        if leaf {
            right.prev = left;
            right.next = self.node(left).next;
        }
        let next = right.next;
        let right = self.alloc(right);
        if leaf {
            self.node_mut(left).next = right;
            if next != NIL {
                self.node_mut(next).prev = right;
            }
        }
        let p = self.node_mut(parent);
        p.counts[i] -= count;
        p.insert(i + 1, bound.0, bound.1, right, count);
    }

    /// Removes the entry `target` names, returning it.
    fn remove(&mut self, target: Target) -> Option<(Box<[u8]>, f64)> {
        let removed = self.remove_below(self.root, self.height, target)?;
        self.len -= 1;
        while self.height > 0 && self.node(self.root).len == 1 {
            let old = self.root;
            self.root = self.node(old).children[0];
            self.height -= 1;
            self.release(old);
        }
        self.shrink_if_sparse();
        Some(removed)
    }

    /// Gives memory back once the tree has shrunk to an eighth of what its arena could
    /// hold half full: freed nodes are otherwise kept for reuse. The rebuild is O(n), and
    /// it takes seven removals per entry left to come round again, so a removal costs
    /// O(1) more on average.
    fn shrink_if_sparse(&mut self) {
        if self.nodes.len() <= 8 || self.len * 8 >= self.nodes.len() * (B / 2) {
            return;
        }
        let mut entries = Vec::with_capacity(self.len);
        let (mut leaf, _) = self.at(0);
        while leaf != NIL {
            let n = self.node_mut(leaf);
            for i in 0..n.len {
                entries.push((n.scores[i], std::mem::take(&mut n.members[i])));
            }
            leaf = n.next;
        }
        *self = Tree::new();
        for (score, member) in entries {
            self.insert(score, member);
        }
    }

    fn remove_below(
        &mut self,
        id: u32,
        height: usize,
        mut target: Target,
    ) -> Option<(Box<[u8]>, f64)> {
        let n = self.node_mut(id);
        if height == 0 {
            let pos = match target {
                Target::Key(score, member) | Target::Rescore(score, member, _) => {
                    let pos = n.lower_bound(score, member);
                    let found = pos < n.len && n.scores[pos] == score && *n.members[pos] == *member;
                    found.then_some(pos)?
                }
                Target::Rank(r) => (r < n.len).then_some(r)?,
            };
            if let Target::Rescore(_, member, new) = target {
                if pos > 0
                    && pos + 1 < n.len
                    && before(n.scores[pos - 1], &n.members[pos - 1], new, member)
                    && before(new, member, n.scores[pos + 1], &n.members[pos + 1])
                {
                    n.scores[pos] = new;
                    return None;
                }
            }
            let (score, member, _, _) = n.remove(pos);
            return Some((member, score));
        }
        let i = match &mut target {
            Target::Key(score, member) | Target::Rescore(score, member, _) => {
                n.child_for(*score, member)
            }
            Target::Rank(r) => n.child_at(r),
        };
        let child = n.children[i];
        let removed = self.remove_below(child, height - 1, target)?;
        self.node_mut(id).counts[i] -= 1;
        self.rebalance(id, i, height == 1);
        Some(removed)
    }

    /// Keeps child `i` of `parent` at least [`MIN`] entries long: merges it with a
    /// sibling when both fit in one node, and otherwise evens the two out.
    fn rebalance(&mut self, parent: u32, i: usize, leaf: bool) {
        let p = self.node(parent);
        if self.node(p.children[i]).len >= MIN || p.len < 2 {
            return;
        }
        let l = if i + 1 < p.len { i } else { i - 1 };
        let (left, right) = (p.children[l], p.children[l + 1]);
        // Work on the two siblings out of the arena, then put them back.
        let mut a = std::mem::replace(self.node_mut(left), Node::new());
        let mut b = std::mem::replace(self.node_mut(right), Node::new());
        if a.len + b.len <= B {
            b.move_tail(0, &mut a);
            if leaf {
                a.next = b.next;
                if b.next != NIL {
                    self.node_mut(b.next).prev = left;
                }
            }
            *self.node_mut(left) = a;
            self.free.push(right);
            let p = self.node_mut(parent);
            let (_, _, _, count) = p.remove(l + 1);
            p.counts[l] += count;
            return;
        }
        let mut moved: i64 = 0;
        while a.len + 1 < b.len {
            let (s, m, c, n) = b.remove(0);
            a.insert(a.len, s, m, c, n);
            moved += n as i64;
        }
        while b.len + 1 < a.len {
            let (s, m, c, n) = a.remove(a.len - 1);
            b.insert(0, s, m, c, n);
            moved -= n as i64;
        }
        let bound = (b.scores[0], b.members[0].clone());
        *self.node_mut(left) = a;
        *self.node_mut(right) = b;
        let p = self.node_mut(parent);
        p.counts[l] = (p.counts[l] as i64 + moved) as u32;
        p.counts[l + 1] = (p.counts[l + 1] as i64 - moved) as u32;
        (p.scores[l + 1], p.members[l + 1]) = bound;
    }

    /// Removes (score, member) and returns its member, if present.
    pub fn delete(&mut self, score: f64, member: &[u8]) -> Option<Box<[u8]>> {
        self.remove(Target::Key(score, member)).map(|(m, _)| m)
    }

    /// Moves (score, member) to `new_score`: in place when it stays between its
    /// neighbours in its leaf, as Redis's `zslUpdateScore` does in its list, and
    /// otherwise by removing and inserting it again.
    pub fn update_score(&mut self, score: f64, member: &[u8], new_score: f64) {
        if let Some((member, _)) = self.remove(Target::Rescore(score, member, new_score)) {
            self.insert(new_score, member);
        }
    }

    /// The number of entries `before` accepts, walking from the lowest: `before` must
    /// accept a prefix of the entries (it is monotone in the tree's order). This is the
    /// rank of the first entry it rejects.
    ///
    /// In an inner node, every child left of the last bound `before` accepts is wholly
    /// accepted, and every child right of it wholly rejected, so the walk goes down that
    /// one child, adding up the counts of those on its left.
    pub fn seek(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut id = self.root;
        let mut rank = 0;
        for _ in 0..self.height {
            let n = self.node(id);
            let i = n.prefix(1, &before) - 1;
            rank += n.counts[..i].iter().map(|&c| c as usize).sum::<usize>();
            id = n.children[i];
        }
        rank + self.node(id).prefix(0, &before)
    }

    /// The leaf and position of the entry at `rank` (or one past the last entry).
    fn at(&self, mut rank: usize) -> (u32, usize) {
        let mut id = self.root;
        for _ in 0..self.height {
            let n = self.node(id);
            id = n.children[n.child_at(&mut rank)];
        }
        (id, rank)
    }

    /// The (member, score) pairs at ranks `ranks`, lowest first, or highest first when
    /// `rev`.
    pub fn iter_ranks(&self, ranks: Range<usize>, rev: bool) -> TreeIter<'_> {
        let ranks = ranks.start..ranks.end.min(self.len);
        let left = ranks.end.saturating_sub(ranks.start);
        let (leaf, pos) = match (left, rev) {
            (0, _) => (NIL, 0),
            (_, false) => self.at(ranks.start),
            (_, true) => self.at(ranks.end - 1),
        };
        TreeIter {
            tree: self,
            leaf,
            pos,
            left,
            rev,
        }
    }

    /// Removes the entries at ranks `ranks` (0-based, end exclusive) and returns them.
    pub fn delete_ranks(&mut self, ranks: Range<usize>) -> Vec<(Box<[u8]>, f64)> {
        let ranks = ranks.start..ranks.end.min(self.len);
        ranks
            .clone()
            .map_while(|_| self.remove(Target::Rank(ranks.start)))
            .collect()
    }
}

/// Walks a range of ranks of a [`Tree`], leaf by leaf.
pub struct TreeIter<'a> {
    tree: &'a Tree,
    leaf: u32,
    pos: usize,
    left: usize,
    rev: bool,
}

impl<'a> Iterator for TreeIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let n = self.tree.node(self.leaf);
        let item = (&*n.members[self.pos], n.scores[self.pos]);
        self.left -= 1;
        if self.left > 0 {
            if !self.rev && self.pos + 1 < n.len {
                self.pos += 1;
            } else if !self.rev {
                (self.leaf, self.pos) = (n.next, 0);
            } else if self.pos > 0 {
                self.pos -= 1;
            } else {
                self.leaf = n.prev;
                self.pos = self.tree.node(n.prev).len - 1;
            }
        }
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for TreeIter<'_> {}

/// A score range as ZRANGEBYSCORE reads one (`(1.5`, `-inf`...).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// The lowest score in the range (or just below it, when `minex`).
    pub min: f64,
    /// The highest score in the range (or just above it, when `maxex`).
    pub max: f64,
    /// Whether `min` itself is excluded.
    pub minex: bool,
    /// Whether `max` itself is excluded.
    pub maxex: bool,
}

/// One end of a lex range as ZRANGEBYLEX reads one (`-`, `+`, `[a`, `(a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[member`: the member itself is in the range.
    Inclusive(Vec<u8>),
    /// `(member`: the member itself is not.
    Exclusive(Vec<u8>),
}

/// A lex range: members between `min` and `max`, bytewise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    /// The lower end.
    pub min: LexBound,
    /// The upper end.
    pub max: LexBound,
}

impl LexRange {
    /// Whether no member can be in the range (`min` above `max`, or equal with either
    /// end exclusive), as Redis's `zslIsInLexRange` tests first.
    fn is_always_empty(&self) -> bool {
        use LexBound::*;
        match (&self.min, &self.max) {
            (Max, _) | (_, Min) => true,
            (Min, _) | (_, Max) => false,
            (Inclusive(a), Inclusive(b)) => a > b,
            (Inclusive(a) | Exclusive(a), Inclusive(b) | Exclusive(b)) => a >= b,
        }
    }
}

impl LexBound {
    /// Whether `m` lies below this bound taken as a minimum.
    fn below_min(&self, m: &[u8]) -> bool {
        match self {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(b) => m < b.as_slice(),
            LexBound::Exclusive(b) => m <= b.as_slice(),
        }
    }

    /// Whether `m` lies within this bound taken as a maximum.
    fn within_max(&self, m: &[u8]) -> bool {
        match self {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(b) => m <= b.as_slice(),
            LexBound::Exclusive(b) => m < b.as_slice(),
        }
    }
}

/// A member and its score, as the dict holds them.
#[derive(Debug)]
struct Scored {
    member: Box<[u8]>,
    score: f64,
}

impl Keyed for Scored {
    fn key(&self) -> &[u8] {
        &self.member
    }
}

/// How a sorted set is held, as Redis's two encodings.
enum Repr {
    /// Redis's `listpack`, for small sets: `[varint length][member][score]` entries in
    /// order in one [`Packed`] buffer (which also holds the keyspace entry's key),
    /// searched by a walk as Redis walks its listpack. A score is a varint: an even one
    /// is an integer score (zigzag-coded, shifted left by one), as Redis stores integral
    /// scores as integers; 1 is followed by the score's eight bytes.
    Listpack(Packed),
    /// Redis's `skiplist` encoding, boxed so that a small set (held inline in the
    /// keyspace entry) stays small.
    Skiplist(Box<Indexed>),
}

/// The largest integral score held as an integer (every integer up to it is exact in a
/// double).
const INT_SCORE_MAX: f64 = (1u64 << 53) as f64;

/// Appends a listpack score.
fn put_score(out: &mut Vec<u8>, score: f64) {
    if score.fract() == 0.0 && score.abs() <= INT_SCORE_MAX {
        let n = score as i64;
        let zigzag = ((n << 1) ^ (n >> 63)) as u64;
        put_varint(out, zigzag << 1);
    } else {
        put_varint(out, 1);
        out.extend_from_slice(&score.to_le_bytes());
    }
}

/// Reads the listpack entry at `*at` and moves past it.
fn lp_next<'a>(body: &'a [u8], at: &mut usize) -> (&'a [u8], f64) {
    let member = get_bytes(body, at);
    let h = get_varint(body, at);
    let score = if h & 1 == 0 {
        let z = h >> 1;
        ((z >> 1) as i64 ^ -((z & 1) as i64)) as f64
    } else {
        let bytes: [u8; 8] = body[*at..*at + 8].try_into().expect("eight bytes");
        *at += 8;
        f64::from_le_bytes(bytes)
    };
    (member, score)
}

/// A listpack entry's bytes.
fn lp_entry(member: &[u8], score: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(member.len() + 10);
    put_bytes(&mut out, member);
    put_score(&mut out, score);
    out
}

/// Where `member` is in a listpack body: its rank, its bytes and its score.
fn lp_find(body: &[u8], member: &[u8]) -> Option<(usize, Range<usize>, f64)> {
    let mut at = 0;
    let mut rank = 0;
    while at < body.len() {
        let start = at;
        let (m, s) = lp_next(body, &mut at);
        if m == member {
            return Some((rank, start..at, s));
        }
        rank += 1;
    }
    None
}

/// The rank and the byte offset of the first entry `before` rejects (`before` accepts a
/// prefix of the entries).
fn lp_seek(body: &[u8], before: impl Fn(f64, &[u8]) -> bool) -> (usize, usize) {
    let (mut at, mut rank) = (0, 0);
    while at < body.len() {
        let mut next = at;
        let (m, s) = lp_next(body, &mut next);
        if !before(s, m) {
            break;
        }
        (at, rank) = (next, rank + 1);
    }
    (rank, at)
}

/// The byte offset of the entry at `rank` (the body's end past the last).
fn lp_offset(body: &[u8], rank: usize) -> usize {
    let mut at = 0;
    for _ in 0..rank {
        if at == body.len() {
            break;
        }
        lp_next(body, &mut at);
    }
    at
}

/// The tree for order and rank, the dict for member lookups, and the key of the
/// keyspace entry holding the set.
#[derive(Debug)]
struct Indexed {
    key: Box<[u8]>,
    dict: Table<Scored>,
    tree: Tree,
}

/// A sorted set: members ordered by score, then bytewise.
///
/// Small sets are packed in one buffer, as Redis keeps them in a listpack; once they
/// outgrow `zset-max-listpack-entries` or a member outgrows `zset-max-listpack-value`
/// they convert, one way, to the tree and a dict, as Redis converts to its skiplist.
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> ZSet {
        ZSet::new()
    }
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Clone for ZSet {
    fn clone(&self) -> ZSet {
        let repr = match &self.repr {
            Repr::Listpack(packed) => Repr::Listpack(packed.clone()),
            Repr::Skiplist(big) => Repr::Skiplist(Box::new(Indexed {
                key: big.key.clone(),
                dict: dict_of(self.iter()),
                tree: big.tree.clone(),
            })),
        };
        ZSet { repr }
    }
}

/// The member -> score dict of these pairs.
fn dict_of<'a>(pairs: impl Iterator<Item = (&'a [u8], f64)>) -> Table<Scored> {
    let mut dict = Table::new();
    for (member, score) in pairs {
        dict.insert_new(Scored {
            member: member.into(),
            score,
        });
    }
    dict
}

impl PartialEq for ZSet {
    /// Same members with the same scores (the encoding is not compared).
    fn eq(&self, other: &ZSet) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl ZSet {
    /// The heap this sorted set holds, its members' costs estimated from `samples` of
    /// them (see [`crate::store::memory`]).
    pub fn heap_bytes(&self, samples: usize) -> usize {
        use crate::store::memory::{alloc, sampled};
        match &self.repr {
            // One buffer, the keyspace entry's key included.
            Repr::Listpack(packed) => alloc(packed.heap_bytes()),
            Repr::Skiplist(ix) => {
                let members = sampled(
                    ix.dict.len(),
                    samples,
                    ix.dict.first(samples).map(|s| alloc(s.member.len())),
                );
                // The dict and the tree each hold their own copy of every member.
                alloc(std::mem::size_of::<Indexed>())
                    + alloc(ix.key.len())
                    + ix.dict.heap_bytes()
                    + ix.tree.node_bytes()
                    + 2 * members
            }
        }
    }

    /// An empty sorted set.
    pub fn new() -> ZSet {
        ZSet {
            repr: Repr::Listpack(Packed::new()),
        }
    }

    /// A sorted set of `(member, score)` pairs (no NaN), built whole as loading a dump or
    /// RESTORE wants: pairs already in order that fit a listpack make one exactly sized
    /// buffer with `key` in front; others are inserted one by one. The encoding is the
    /// one inserting them gives. `None` if a member repeats.
    pub fn from_pairs<B: AsRef<[u8]>>(
        key: &[u8],
        pairs: &[(B, f64)],
        limits: &Limits,
    ) -> Option<ZSet> {
        let fits = pairs.len() <= limits.zset_entries
            && pairs
                .iter()
                .all(|(m, _)| m.as_ref().len() <= limits.zset_value);
        // A listpack stores scores as text, and Redis's text for -0 reads back as 0.
        let score = |s: f64| if s == 0.0 { 0.0 } else { s };
        let sorted = pairs.windows(2).all(|w| {
            before(
                score(w[0].1),
                w[0].0.as_ref(),
                score(w[1].1),
                w[1].0.as_ref(),
            )
        });
        if !fits || !sorted {
            let mut z = ZSet::new();
            for (m, s) in pairs {
                if !z.insert(m.as_ref(), *s, limits) {
                    return None;
                }
            }
            z.set_key(key);
            return Some(z);
        }
        if !super::packed::distinct(pairs.iter().map(|(m, _)| m.as_ref())) {
            return None;
        }
        let mut body = Vec::with_capacity(pairs.iter().map(|(m, _)| m.as_ref().len() + 3).sum());
        for (m, s) in pairs {
            put_bytes(&mut body, m.as_ref());
            put_score(&mut body, score(*s));
        }
        Some(ZSet {
            repr: Repr::Listpack(Packed::from_parts(key, pairs.len(), &body)),
        })
    }

    /// The key of the keyspace entry holding this set (empty elsewhere).
    pub(super) fn key(&self) -> &[u8] {
        match &self.repr {
            Repr::Listpack(packed) => packed.key(),
            Repr::Skiplist(big) => &big.key,
        }
    }

    /// Records the key of the keyspace entry that takes this set.
    pub(super) fn set_key(&mut self, key: &[u8]) {
        match &mut self.repr {
            Repr::Listpack(packed) => packed.set_key(key),
            Repr::Skiplist(big) => big.key = key.into(),
        }
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(packed) => packed.len(),
            Repr::Skiplist(big) => big.tree.len(),
        }
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every (member, score), lowest rank first.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_ranks(0..self.len(), false)
    }

    /// The (member, score) pairs at ranks `ranks` (0-based, end exclusive), lowest first,
    /// or highest first when `rev`.
    pub fn iter_ranks(&self, ranks: Range<usize>, rev: bool) -> Iter<'_> {
        match &self.repr {
            Repr::Listpack(packed) => {
                let body = packed.body();
                let end = ranks.end.min(packed.len());
                let start = ranks.start.min(end);
                let at = lp_offset(body, start);
                let left = end - start;
                if rev {
                    let mut walk = Iter::Listpack { body, at, left };
                    let pairs: Vec<_> = walk.by_ref().collect();
                    Iter::Reversed(pairs.into_iter().rev())
                } else {
                    Iter::Listpack { body, at, left }
                }
            }
            Repr::Skiplist(big) => Iter::Tree(big.tree.iter_ranks(ranks, rev)),
        }
    }

    /// A member's score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Listpack(packed) => lp_find(packed.body(), member).map(|(_, _, s)| s),
            Repr::Skiplist(big) => big.dict.get(member).map(|s| s.score),
        }
    }

    /// Adds a member or changes its score. Returns true if it is new. The set leaves the
    /// listpack encoding when it grows past the limits, never to return.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &Limits) -> bool {
        if let Repr::Listpack(packed) = &mut self.repr {
            // A listpack stores scores as text, and Redis's text for -0 reads back as 0.
            let score = if score == 0.0 { 0.0 } else { score };
            let len = packed.len();
            if let Some((_, bytes, old)) = lp_find(packed.body(), member) {
                // As in Redis, -0 and 0 are the same score: no update.
                if old != score {
                    packed.splice(bytes, b"", len - 1);
                    let (_, at) = lp_seek(packed.body(), |s, m| before(s, m, score, member));
                    packed.splice(at..at, &lp_entry(member, score), len);
                }
                return false;
            }
            if len < limits.zset_entries && member.len() <= limits.zset_value {
                let (_, at) = lp_seek(packed.body(), |s, m| before(s, m, score, member));
                packed.splice(at..at, &lp_entry(member, score), len + 1);
                return true;
            }
            self.convert_to_skiplist();
        }
        let Repr::Skiplist(big) = &mut self.repr else {
            unreachable!("converted above")
        };
        let Indexed { dict, tree, .. } = &mut **big;
        if let Some(s) = dict.get_mut(member) {
            let old = s.score;
            if old != score {
                s.score = score;
                tree.update_score(old, member, score);
            }
            return false;
        }
        dict.insert_new(Scored {
            member: member.into(),
            score,
        });
        tree.insert(score, member.into());
        true
    }

    /// Removes a member. Returns whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(packed) => match lp_find(packed.body(), member) {
                Some((_, bytes, _)) => {
                    let len = packed.len();
                    packed.splice(bytes, b"", len - 1);
                    true
                }
                None => false,
            },
            Repr::Skiplist(big) => match big.dict.remove(member) {
                Some(s) => {
                    big.tree.delete(s.score, member);
                    true
                }
                None => false,
            },
        }
    }

    /// The number of members `before` accepts, lowest first: the rank of the first
    /// member it rejects (`before` must accept a prefix of the set, see [`Tree::seek`]).
    fn seek(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Listpack(packed) => lp_seek(packed.body(), before).0,
            Repr::Skiplist(big) => big.tree.seek(before),
        }
    }

    /// A member's rank (0 for the lowest score).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Listpack(packed) => lp_find(packed.body(), member).map(|(rank, _, _)| rank),
            Repr::Skiplist(_) => {
                let score = self.score(member)?;
                Some(self.seek(|s, m| before(s, m, score, member)))
            }
        }
    }

    /// The ranks of the members within a score range.
    pub fn score_ranks(&self, r: &ScoreRange) -> Range<usize> {
        let start = self.seek(|s, _| if r.minex { s <= r.min } else { s < r.min });
        let end = self.seek(|s, _| if r.maxex { s < r.max } else { s <= r.max });
        start..end.max(start)
    }

    /// The ranks of the members within a lex range (meaningful when all scores are
    /// equal, as in Redis).
    pub fn lex_ranks(&self, r: &LexRange) -> Range<usize> {
        // Redis's `zslIsInLexRange` first: a range that cannot hold anything, or that
        // misses the first or the last member, is empty whatever the scores.
        let n = self.len();
        let first = self.iter_ranks(0..n.min(1), false).next();
        let last = self.iter_ranks(n.saturating_sub(1)..n, false).next();
        let (Some((first, _)), Some((last, _))) = (first, last) else {
            return 0..0;
        };
        if r.is_always_empty() || r.min.below_min(last) || !r.max.within_max(first) {
            return 0..0;
        }
        let start = self.seek(|_, m| r.min.below_min(m));
        let end = self.seek(|_, m| r.max.within_max(m));
        start..end.max(start)
    }

    /// Removes the members at ranks `ranks` and returns how many there were.
    pub fn remove_ranks(&mut self, ranks: Range<usize>) -> usize {
        match &mut self.repr {
            Repr::Listpack(packed) => {
                let len = packed.len();
                let end = ranks.end.min(len);
                let start = ranks.start.min(end);
                let from = lp_offset(packed.body(), start);
                let to = from + lp_offset(&packed.body()[from..], end - start);
                packed.splice(from..to, b"", len - (end - start));
                end - start
            }
            Repr::Skiplist(big) => {
                let removed = big.tree.delete_ranks(ranks);
                for (member, _) in &removed {
                    big.dict.remove(member);
                }
                removed.len()
            }
        }
    }

    /// Visits (member, score) pairs for ZSCAN's cursor: a listpack whole (returning 0),
    /// the dict from the bucket at `cursor` on, as [`Table::scan_count`] does.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], f64),
    ) -> u64 {
        match &self.repr {
            Repr::Listpack(_) => {
                self.iter().for_each(|(m, s)| visit(m, s));
                0
            }
            Repr::Skiplist(big) => big
                .dict
                .scan_count(cursor, count, |s| visit(&s.member, s.score)),
        }
    }

    /// Whether this set is held as Redis holds it in a listpack (small, with short
    /// members).
    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Listpack(_))
    }

    /// Leaves the listpack encoding for good, as Redis's `zsetConvert(zobj,
    /// OBJ_ENCODING_SKIPLIST)` does (when the set outgrows it, and SORT converts the
    /// sets it sorts).
    pub fn convert_to_skiplist(&mut self) {
        if let Repr::Listpack(packed) = &self.repr {
            let dict = dict_of(self.iter());
            let mut tree = Tree::new();
            for (member, score) in self.iter() {
                tree.insert(score, member.into());
            }
            let key = packed.key().into();
            self.repr = Repr::Skiplist(Box::new(Indexed { key, dict, tree }));
        }
    }

    /// The encoding OBJECT ENCODING reports: `listpack` or `skiplist`.
    pub fn encoding(&self) -> &'static str {
        if self.is_listpack() {
            "listpack"
        } else {
            "skiplist"
        }
    }
}

/// Walks a range of ranks of a [`ZSet`], in either encoding.
pub enum Iter<'a> {
    /// `left` entries of a listpack body from byte `at` on, forwards.
    Listpack {
        body: &'a [u8],
        at: usize,
        left: usize,
    },
    /// A listpack range backwards (collected first: entries are found from the front).
    Reversed(std::iter::Rev<std::vec::IntoIter<(&'a [u8], f64)>>),
    Tree(TreeIter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Listpack { body, at, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                Some(lp_next(body, at))
            }
            Iter::Reversed(pairs) => pairs.next(),
            Iter::Tree(walk) => walk.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Listpack { left, .. } => (*left, Some(*left)),
            Iter::Reversed(pairs) => pairs.size_hint(),
            Iter::Tree(walk) => walk.size_hint(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rand::Rng;

    #[test]
    fn from_pairs_builds_what_inserting_builds() {
        let l = |entries, value| Limits {
            zset_entries: entries,
            zset_value: value,
            ..Limits::default()
        };
        let long = vec![b'm'; 80];
        type Case<'a> = (Vec<(&'a [u8], f64)>, Limits);
        let cases: Vec<Case> = vec![
            (
                vec![(b"a", -0.0), (b"b", 0.0), (b"c", 1.5), (b"d", 7.0)],
                l(128, 64),
            ),
            (vec![(b"b", 2.0), (b"a", 1.0)], l(128, 64)),
            (vec![(b"a", 1.0), (b"b", 1.0), (b"c", 1.0)], l(2, 64)),
            (vec![(b"a", 1.0), (&long, 2.0)], l(128, 64)),
            (
                vec![(b"a", f64::NEG_INFINITY), (b"b", f64::INFINITY)],
                l(128, 64),
            ),
        ];
        for (pairs, limits) in cases {
            let mut want = ZSet::new();
            for (m, s) in &pairs {
                assert!(want.insert(m, *s, &limits));
            }
            want.set_key(b"key");
            let got = ZSet::from_pairs(b"key", &pairs, &limits).expect("distinct");
            assert_eq!(got.encoding(), want.encoding(), "{pairs:?}");
            assert_eq!(got.key(), b"key");
            let all = |z: &ZSet| {
                z.iter()
                    .map(|(m, s)| (m.to_vec(), s.to_bits()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(all(&got), all(&want), "{pairs:?}");
        }
        let dup: [(&[u8], f64); 3] = [(b"a", 1.0), (b"b", 2.0), (b"a", 3.0)];
        assert!(ZSet::from_pairs(b"k", &dup, &l(128, 64)).is_none());
        assert!(ZSet::from_pairs(b"k", &dup[..2], &l(128, 64)).is_some());
    }

    /// The naive model: sorted (score, member) pairs.
    fn model_sorted(m: &std::collections::HashMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
        let mut v: Vec<_> = m.iter().map(|(k, s)| (k.clone(), *s)).collect();
        v.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    #[test]
    fn listpack_scores_round_trip_exactly() {
        let scores = [
            0.0,
            1.0,
            -1.0,
            0.5,
            -2.25,
            1e15,
            -1e15,
            INT_SCORE_MAX,
            -INT_SCORE_MAX,
            INT_SCORE_MAX * 2.0,
            1e300,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for score in scores {
            let entry = lp_entry(b"m", score);
            let mut at = 0;
            assert_eq!(lp_next(&entry, &mut at), (&b"m"[..], score), "{score}");
            assert_eq!(at, entry.len());
        }
        assert_eq!(lp_entry(b"m", 5.0).len(), 3, "small integers take one byte");
    }

    #[test]
    fn the_packed_listpack_agrees_with_a_sorted_vector() {
        let l = Limits::default();
        let mut rng = Rng::new(77);
        let mut z = ZSet::new();
        z.set_key(b"zkey");
        let mut model = std::collections::HashMap::new();
        for _ in 0..3000 {
            let member = format!("m{}", rng.below(40)).into_bytes();
            let score = match rng.below(3) {
                0 => rng.below(10) as f64,
                1 => rng.below(1000) as f64 / 8.0 - 60.0,
                _ => f64::from_bits(rng.next_u64() >> 2),
            };
            match rng.below(4) {
                0 => assert_eq!(z.remove(&member), model.remove(&member).is_some()),
                1 => {
                    let n = z.len();
                    let (a, b) = (rng.below(n as u64 + 2), rng.below(n as u64 + 2));
                    let ranks = a.min(b) as usize..a.max(b) as usize;
                    let want = model_sorted(&model);
                    let gone = z.remove_ranks(ranks.clone());
                    let end = ranks.end.min(want.len());
                    let start = ranks.start.min(end);
                    assert_eq!(gone, end - start);
                    for (m, _) in &want[start..end] {
                        model.remove(m);
                    }
                }
                _ => assert_eq!(
                    z.insert(&member, score, &l),
                    model.insert(member.clone(), score).is_none()
                ),
            }
            let want = model_sorted(&model);
            let got: Vec<_> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
            assert_eq!(got, want);
            let rev: Vec<_> = z.iter_ranks(1..4, true).map(|(m, _)| m.to_vec()).collect();
            let want_rev: Vec<_> = want
                .iter()
                .take(4)
                .skip(1)
                .rev()
                .map(|p| p.0.clone())
                .collect();
            assert_eq!(rev, want_rev);
            if let Some((m, s)) = want.last() {
                assert_eq!(z.rank(m), Some(want.len() - 1));
                assert_eq!(z.score(m), Some(*s));
            }
        }
        assert!(z.is_listpack());
        assert_eq!(z.key(), b"zkey");
    }

    /// An empty set already in the tree encoding, for tests of the tree.
    fn tree_set() -> ZSet {
        let mut z = ZSet::new();
        z.convert_to_skiplist();
        z
    }

    /// The tree of a set past the listpack encoding.
    fn tree_of(z: &ZSet) -> Option<&Tree> {
        match &z.repr {
            Repr::Listpack(_) => None,
            Repr::Skiplist(big) => Some(&big.tree),
        }
    }

    /// Checks a set's tree, if it has one, and that its dict agrees with it.
    fn check(z: &ZSet) {
        if let Repr::Skiplist(big) = &z.repr {
            let Indexed { dict, tree, .. } = &**big;
            check_tree(tree);
            assert_eq!(dict.len(), tree.len());
            for (m, s) in z.iter() {
                assert_eq!(dict.get(m).map(|e| e.score), Some(s));
            }
        }
    }

    /// Checks the tree's counts, bounds, fill and leaf links.
    fn check_tree(t: &Tree) {
        fn walk(
            t: &Tree,
            id: u32,
            height: usize,
            leaves: &mut Vec<u32>,
            keys: &mut Vec<(f64, Vec<u8>)>,
        ) -> usize {
            let n = t.node(id);
            assert!(n.len <= B);
            assert!(
                id == t.root || n.len >= MIN,
                "node {id} is underfull: {}",
                n.len
            );
            if height == 0 {
                leaves.push(id);
                for i in 0..n.len {
                    assert_eq!(n.counts[i], 1);
                    keys.push((n.scores[i], n.members[i].to_vec()));
                }
                return n.len;
            }
            assert!(id != t.root || n.len >= 2, "an inner root with one child");
            let mut total = 0;
            for i in 0..n.len {
                let start = keys.len();
                let count = walk(t, n.children[i], height - 1, leaves, keys);
                assert_eq!(count, n.counts[i] as usize, "count of child {i} of {id}");
                if i > 0 {
                    let (s, m) = (n.scores[i], &n.members[i]);
                    assert!(
                        !before(keys[start].0, &keys[start].1, s, m),
                        "bound above child"
                    );
                    assert!(
                        before(keys[start - 1].0, &keys[start - 1].1, s, m),
                        "bound below left sibling"
                    );
                }
                total += count;
            }
            total
        }
        let (mut leaves, mut keys) = (Vec::new(), Vec::new());
        assert_eq!(walk(t, t.root, t.height, &mut leaves, &mut keys), t.len);
        assert!(keys
            .windows(2)
            .all(|w| before(w[0].0, &w[0].1, w[1].0, &w[1].1)));
        for (k, &leaf) in leaves.iter().enumerate() {
            let prev = if k == 0 { NIL } else { leaves[k - 1] };
            let next = leaves.get(k + 1).copied().unwrap_or(NIL);
            assert_eq!(
                (t.node(leaf).prev, t.node(leaf).next),
                (prev, next),
                "links of leaf {leaf}"
            );
        }
    }

    #[test]
    fn random_operations_match_a_naive_model() {
        // Both encodings: the default limits convert to the tree at 129 members; these
        // keep the 300 members in a listpack throughout.
        run_model(&Limits::default(), false);
        let roomy = Limits {
            zset_entries: 1000,
            ..Limits::default()
        };
        run_model(&roomy, true);
    }

    fn run_model(limits: &Limits, listpack: bool) {
        let mut rng = Rng::new(42);
        let mut z = ZSet::new();
        let mut model = std::collections::HashMap::new();
        for step in 0..6000 {
            let member = format!("m{}", rng.below(300)).into_bytes();
            let score = (rng.below(40) as f64) - 20.0;
            match rng.below(10) {
                0..=5 => {
                    let new = z.insert(&member, score, limits);
                    assert_eq!(new, model.insert(member.clone(), score).is_none());
                }
                6 | 7 => assert_eq!(z.remove(&member), model.remove(&member).is_some()),
                8 => {
                    let a = rng.below(z.len() as u64 + 2) as usize;
                    let b = a + rng.below(5) as usize;
                    let sorted = model_sorted(&model);
                    for (m, _) in sorted.iter().take(b.min(sorted.len())).skip(a) {
                        model.remove(m);
                    }
                    let expect = b.min(sorted.len()).saturating_sub(a);
                    assert_eq!(z.remove_ranks(a..b), expect);
                }
                _ => {
                    let lo = (rng.below(40) as f64) - 20.0;
                    let r = ScoreRange {
                        min: lo,
                        max: lo + 5.0,
                        minex: rng.below(2) == 0,
                        maxex: rng.below(2) == 0,
                    };
                    let got: Vec<_> = z
                        .iter_ranks(z.score_ranks(&r), false)
                        .map(|(m, s)| (m.to_vec(), s))
                        .collect();
                    let want: Vec<_> = model_sorted(&model)
                        .into_iter()
                        .filter(|(_, s)| {
                            (if r.minex { *s > r.min } else { *s >= r.min })
                                && (if r.maxex { *s < r.max } else { *s <= r.max })
                        })
                        .collect();
                    assert_eq!(got, want);
                }
            }
            if step % 500 == 0 {
                check(&z);
            }
            let sorted = model_sorted(&model);
            assert_eq!(z.len(), sorted.len());
            if let Some((m, s)) = sorted.get(step % sorted.len().max(1)) {
                let rank = step % sorted.len();
                assert_eq!(z.rank(m), Some(rank));
                assert_eq!(z.score(m), Some(*s));
                let got: Vec<_> = z.iter_ranks(rank..rank + 1, false).collect();
                assert_eq!(got, vec![(m.as_slice(), *s)]);
            }
        }
        check(&z);
        let all: Vec<_> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(all, model_sorted(&model));
        let rev: Vec<_> = z
            .iter_ranks(0..z.len(), true)
            .map(|(m, s)| (m.to_vec(), s))
            .collect();
        assert_eq!(rev, all.into_iter().rev().collect::<Vec<_>>());
        assert_eq!(z.clone(), z);
        assert_eq!(z.is_listpack(), listpack);
    }

    #[test]
    fn lex_ranges_and_encoding() {
        let limits = Limits {
            zset_entries: 3,
            ..Limits::default()
        };
        let mut z = ZSet::new();
        for m in ["a", "b", "c"] {
            z.insert(m.as_bytes(), 0.0, &limits);
        }
        assert_eq!(z.encoding(), "listpack");
        let r = LexRange {
            min: LexBound::Exclusive(b"a".to_vec()),
            max: LexBound::Max,
        };
        assert_eq!(z.lex_ranks(&r), 1..3);
        let r = LexRange {
            min: LexBound::Inclusive(b"c".to_vec()),
            max: LexBound::Exclusive(b"b".to_vec()),
        };
        assert!(z.lex_ranks(&r).is_empty());
        z.insert(b"d", 0.0, &limits);
        assert_eq!(z.encoding(), "skiplist");
        z.remove(b"d");
        assert_eq!(z.encoding(), "skiplist");
    }
    #[test]
    fn a_shrunken_tree_gives_its_arena_back() {
        let mut t = Tree::new();
        for k in 0..20_000u32 {
            t.insert(k as f64, format!("m{k}").into_bytes().into());
        }
        let peak = t.nodes.len();
        for k in (50..20_000u32).rev() {
            assert!(t.delete(k as f64, format!("m{k}").as_bytes()).is_some());
            if k % 1000 == 0 {
                check_tree(&t);
            }
        }
        check_tree(&t);
        // At most one node per two entries (a node holds up to 32) stays allocated.
        assert!(
            t.nodes.len() <= 25,
            "{} of {peak} nodes kept",
            t.nodes.len()
        );
        let left: Vec<_> = t.iter_ranks(0..t.len(), false).map(|(_, s)| s).collect();
        assert_eq!(left, (0..50).map(f64::from).collect::<Vec<_>>());
    }

    /// Enough members for three levels of inner nodes, scores with many ties, and long
    /// runs of removals: exercises splits, merges and evening out against a BTreeSet.
    #[test]
    fn a_deep_tree_stays_consistent() {
        use std::collections::{BTreeSet, HashMap};
        let limits = Limits::default();
        let mut rng = Rng::new(7);
        let mut z = ZSet::new();
        let mut order: BTreeSet<(i64, Vec<u8>)> = BTreeSet::new();
        let mut scores: HashMap<Vec<u8>, i64> = HashMap::new();
        let mut max_height = 0;
        for step in 0..120_000u64 {
            // Grow to about 40,000 members, then shrink, then grow again.
            let growing = (step / 40_000) % 2 == 0;
            let member = format!("m{}", rng.below(60_000)).into_bytes();
            let score = rng.below(500) as i64 - 250;
            match rng.below(20) {
                0..=11 if growing => {
                    z.insert(&member, score as f64, &limits);
                    if let Some(old) = scores.insert(member.clone(), score) {
                        order.remove(&(old, member.clone()));
                    }
                    order.insert((score, member));
                }
                0..=14 => {
                    let had = scores.remove(&member);
                    if let Some(old) = had {
                        order.remove(&(old, member.clone()));
                    }
                    assert_eq!(z.remove(&member), had.is_some());
                }
                15 if !growing => {
                    let a = rng.below(z.len() as u64 + 1) as usize;
                    let b = a + rng.below(200) as usize;
                    let gone: Vec<_> = order.iter().skip(a).take(b - a).cloned().collect();
                    for (s, m) in &gone {
                        order.remove(&(*s, m.clone()));
                        scores.remove(m);
                    }
                    assert_eq!(z.remove_ranks(a..b), gone.len());
                }
                _ if step % 8 == 0 => {
                    if let Some((s, m)) = order.iter().nth(step as usize % order.len().max(1)) {
                        let rank = order.range(..(*s, m.clone())).count();
                        assert_eq!(z.rank(m), Some(rank));
                        let got: Vec<_> = z.iter_ranks(rank..rank + 3, true).collect();
                        let want: Vec<_> = order.iter().skip(rank).take(3).rev().collect();
                        assert_eq!(got.len(), want.len());
                        for ((gm, gs), (ws, wm)) in got.into_iter().zip(want) {
                            assert_eq!((gm, gs), (wm.as_slice(), *ws as f64));
                        }
                    }
                }
                _ => {}
            }
            assert_eq!(z.len(), order.len());
            max_height = max_height.max(tree_of(&z).map_or(0, |t| t.height));
            if step % 10_000 == 0 {
                check(&z);
            }
        }
        check(&z);
        assert!(max_height >= 3, "the test should grow a deep tree");
        let all: Vec<_> = z.iter().map(|(m, s)| (s as i64, m.to_vec())).collect();
        assert_eq!(all, order.into_iter().collect::<Vec<_>>());
    }

    // ---- Edge cases of the B+tree: sizes at the split points, both ends, signed zeros,
    // infinities, equal scores in deep trees, rescoring and clones.

    /// A model entry: (score, member), kept sorted by [`before`] (so -0 and 0 tie).
    type Entry = (f64, Vec<u8>);

    fn model_pos(model: &[Entry], score: f64, member: &[u8]) -> usize {
        model.partition_point(|(s, m)| before(*s, m, score, member))
    }

    fn model_insert(model: &mut Vec<Entry>, score: f64, member: &[u8]) {
        let pos = model_pos(model, score, member);
        model.insert(pos, (score, member.to_vec()));
    }

    fn entries<'a>(it: impl Iterator<Item = (&'a [u8], f64)>) -> Vec<(u64, Vec<u8>)> {
        it.map(|(m, s)| (s.to_bits(), m.to_vec())).collect()
    }

    fn bits(model: &[Entry]) -> Vec<(u64, Vec<u8>)> {
        model
            .iter()
            .map(|(s, m)| (s.to_bits(), m.clone()))
            .collect()
    }

    /// Every node of the arena is either reachable from the root or on the free list,
    /// never both.
    fn check_arena(t: &Tree) {
        let mut seen = vec![false; t.nodes.len()];
        let mut stack = vec![(t.root, t.height)];
        while let Some((id, h)) = stack.pop() {
            assert!(!seen[id as usize], "node {id} reached twice");
            seen[id as usize] = true;
            if h > 0 {
                let n = t.node(id);
                stack.extend(n.children[..n.len].iter().map(|&c| (c, h - 1)));
            }
        }
        for &f in &t.free {
            assert!(!seen[f as usize], "free node {f} is in the tree");
            seen[f as usize] = true;
        }
        assert!(
            seen.iter().all(|&s| s),
            "a node is neither in the tree nor free"
        );
    }

    /// The tree's structure, and its contents both ways against the model (scores
    /// compared bit for bit, so -0 and 0 are told apart).
    fn check_same(t: &Tree, model: &[Entry]) {
        check_tree(t);
        check_arena(t);
        assert_eq!(t.len(), model.len());
        assert_eq!(entries(t.iter_ranks(0..t.len(), false)), bits(model));
        let mut rev = bits(model);
        rev.reverse();
        assert_eq!(entries(t.iter_ranks(0..usize::MAX, true)), rev);
    }

    /// Ranks, rank lookups and short walks both ways at every rank.
    fn check_every_rank(t: &Tree, model: &[Entry]) {
        let n = model.len();
        for (r, (s, m)) in model.iter().enumerate() {
            assert_eq!(t.seek(|ts, tm| before(ts, tm, *s, m)), r, "rank of {r}");
            let fwd = entries(t.iter_ranks(r..r + 3, false));
            assert_eq!(fwd, bits(&model[r..(r + 3).min(n)]), "forward from {r}");
            let back = entries(t.iter_ranks(r.saturating_sub(2)..r + 1, true));
            let mut want = bits(&model[r.saturating_sub(2)..=r]);
            want.reverse();
            assert_eq!(back, want, "backward from {r}");
        }
        assert_eq!(t.seek(|_, _| true), n);
        assert_eq!(t.seek(|_, _| false), 0);
        assert_eq!(t.iter_ranks(n..n + 5, false).count(), 0);
        assert_eq!(t.iter_ranks(n + 1..n, true).count(), 0);
    }

    /// Builds trees of every size around the split points in four insertion orders, then
    /// empties them from the front, the back and the middle one entry at a time.
    #[test]
    fn every_size_around_the_split_points() {
        let mut rng = Rng::new(11);
        let sizes = [
            0, 1, 2, 15, 16, 17, 31, 32, 33, 34, 63, 64, 65, 97, 512, 513, 600,
        ];
        for &n in &sizes {
            for order in 0..4 {
                let mut keys: Vec<usize> = (0..n).collect();
                match order {
                    0 => {}
                    1 => keys.reverse(),
                    2 => {
                        // Zigzag: both ends towards the middle.
                        let (lo, hi) = keys.split_at(n / 2);
                        keys = lo
                            .iter()
                            .zip(hi.iter().rev())
                            .flat_map(|(&a, &b)| [a, b])
                            .collect();
                        if n % 2 == 1 {
                            keys.push(n / 2);
                        }
                    }
                    _ => {
                        for i in (1..n).rev() {
                            keys.swap(i, rng.below(i as u64 + 1) as usize);
                        }
                    }
                }
                let mut t = Tree::new();
                let mut model = Vec::new();
                for &k in &keys {
                    // Few distinct scores, so members break most ties.
                    let (s, m) = ((k / 7) as f64, format!("k{k:05}").into_bytes());
                    t.insert(s, m.clone().into());
                    model_insert(&mut model, s, &m);
                }
                check_same(&t, &model);
                check_every_rank(&t, &model);
                let mut step = 0;
                while !model.is_empty() {
                    let r = match step % 3 {
                        0 => 0,
                        1 => model.len() - 1,
                        _ => model.len() / 2,
                    };
                    let (s, m) = model.remove(r);
                    let got = if step % 2 == 0 {
                        t.delete_ranks(r..r + 1)
                    } else {
                        t.delete(s, &m).map(|b| vec![(b, s)]).unwrap_or_default()
                    };
                    assert_eq!(got.len(), 1);
                    assert_eq!((&*got[0].0, got[0].1), (m.as_slice(), s));
                    if n <= 100 || step % 41 == 0 {
                        check_same(&t, &model);
                    }
                    step += 1;
                }
                check_same(&t, &model);
                assert_eq!(t.height, 0);
                assert!(t.delete_ranks(0..10).is_empty());
                assert_eq!(t.delete(0.0, b"k00000"), None);
            }
        }
    }

    /// A tree three inner levels deep: every rank, then drained by ZPOPMIN and ZPOPMAX
    /// sized bites (delete_ranks at either end), checking what comes out.
    #[test]
    fn a_deep_tree_drains_from_both_ends() {
        let mut rng = Rng::new(5);
        let mut t = Tree::new();
        let mut model = Vec::new();
        // Ascending inserts leave the leaves half full: the deepest tree for the size.
        for k in 0..9000usize {
            let (s, m) = ((k / 3) as f64, format!("m{k:05}").into_bytes());
            t.insert(s, m.clone().into());
            model.push((s, m));
        }
        assert!(t.height >= 3, "height {}", t.height);
        check_same(&t, &model);
        check_every_rank(&t, &model);
        let mut pops = 0;
        while !model.is_empty() {
            let k = (1 + rng.below(300) as usize).min(model.len());
            let len = model.len();
            let (ranks, rev) = if pops % 2 == 0 {
                (0..k, false)
            } else {
                (len - k..len, true)
            };
            // What ZPOPMIN/ZPOPMAX reply with, then what they remove.
            let mut want = bits(&model[ranks.clone()]);
            if rev {
                want.reverse();
            }
            assert_eq!(entries(t.iter_ranks(ranks.clone(), rev)), want);
            let gone = t.delete_ranks(ranks.clone());
            let gone: Vec<_> = gone
                .into_iter()
                .map(|(m, s)| (s.to_bits(), m.to_vec()))
                .collect();
            assert_eq!(gone, bits(&model[ranks.clone()]));
            model.drain(ranks);
            if pops % 5 == 0 {
                check_same(&t, &model);
            }
            pops += 1;
        }
        check_same(&t, &model);
        assert_eq!((t.height, t.len()), (0, 0));
    }

    /// ZREMRANGEBYRANK-like removals of wide and narrow spans anywhere in a deep tree,
    /// with ranges reaching past the end or empty.
    #[test]
    fn wide_rank_removals_in_a_deep_tree() {
        let mut rng = Rng::new(99);
        let mut t = Tree::new();
        let mut model = Vec::new();
        let mut keys: Vec<usize> = (0..12000).collect();
        for i in (1..keys.len()).rev() {
            keys.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for &k in &keys {
            let (s, m) = ((k % 50) as f64 - 25.0, format!("{k}").into_bytes());
            t.insert(s, m.clone().into());
            model_insert(&mut model, s, &m);
        }
        assert!(t.height >= 2);
        check_same(&t, &model);
        for round in 0..40 {
            let len = model.len();
            let a = rng.below(len as u64 + 2) as usize;
            let span = if round % 4 == 0 {
                rng.below(3000) as usize
            } else {
                rng.below(40) as usize
            };
            let b = a + span;
            let want = bits(&model[a.min(len)..b.min(len)]);
            let gone = t.delete_ranks(a..b);
            let gone: Vec<_> = gone
                .into_iter()
                .map(|(m, s)| (s.to_bits(), m.to_vec()))
                .collect();
            assert_eq!(gone, want, "round {round}: {a}..{b} of {len}");
            model.drain(a.min(len)..b.min(len));
            check_tree(&t);
        }
        // Reversed and out-of-range spans remove nothing.
        let len = model.len();
        let reversed = std::ops::Range { start: 10, end: 5 };
        assert!(t.delete_ranks(reversed).is_empty());
        assert!(t.delete_ranks(len..len + 10).is_empty());
        assert!(t.delete_ranks(len + 5..len + 10).is_empty());
        check_same(&t, &model);
        check_every_rank(&t, &model);
        let all = t.delete_ranks(0..usize::MAX);
        assert_eq!(all.len(), len);
        check_same(&t, &[]);
    }

    /// Scores of -inf, -0, 0 and +inf with many ties: score ranges with every combination
    /// of ends, ranks, and a -0 that stays -0 once the set is past the listpack.
    #[test]
    fn infinities_and_signed_zeros() {
        let limits = Limits::default();
        let mut rng = Rng::new(3);
        let values = [f64::NEG_INFINITY, -1.5, -0.0, 0.0, 2.0, f64::INFINITY];
        let mut z = ZSet::new();
        let mut model = Vec::new();
        for k in 0..4000 {
            let s = values[rng.below(values.len() as u64) as usize];
            let m = format!("m{k}").into_bytes();
            assert!(z.insert(&m, s, &limits));
            // The listpack's first 128 members read -0 back as 0.
            let stored = if k < limits.zset_entries && s == 0.0 {
                0.0
            } else {
                s
            };
            model_insert(&mut model, stored, &m);
        }
        check_same(tree_of(&z).unwrap(), &model);
        for (r, (_, m)) in model.iter().enumerate().step_by(97) {
            assert_eq!(z.rank(m), Some(r));
        }
        for &min in &values {
            for &max in &values {
                for ex in 0..4 {
                    let r = ScoreRange {
                        min,
                        max,
                        minex: ex & 1 == 1,
                        maxex: ex & 2 == 2,
                    };
                    let want: Vec<_> = model
                        .iter()
                        .filter(|(s, _)| {
                            (if r.minex { *s > min } else { *s >= min })
                                && (if r.maxex { *s < max } else { *s <= max })
                        })
                        .cloned()
                        .collect();
                    let ranks = z.score_ranks(&r);
                    assert_eq!(ranks.len(), want.len(), "{r:?}");
                    assert_eq!(entries(z.iter_ranks(ranks.clone(), false)), bits(&want));
                    let mut rev = bits(&want);
                    rev.reverse();
                    assert_eq!(entries(z.iter_ranks(ranks, true)), rev, "{r:?}");
                }
            }
        }
        // -0 and 0 are the same score: changing one to the other is no update.
        let (s, m) = model
            .iter()
            .find(|(s, _)| s.to_bits() == (-0.0f64).to_bits())
            .unwrap();
        let (s, m) = (*s, m.clone());
        assert!(!z.insert(&m, 0.0, &limits));
        assert_eq!(z.score(&m).map(f64::to_bits), Some(s.to_bits()));
        // Removing the +inf and -inf members by score range empties both ends.
        let top = z.score_ranks(&ScoreRange {
            min: f64::INFINITY,
            max: f64::INFINITY,
            minex: false,
            maxex: false,
        });
        assert_eq!(top.end, z.len());
        let n = z.remove_ranks(top);
        let bottom = z.score_ranks(&ScoreRange {
            min: f64::NEG_INFINITY,
            max: f64::NEG_INFINITY,
            minex: false,
            maxex: false,
        });
        assert_eq!(bottom.start, 0);
        let n = n + z.remove_ranks(bottom);
        model.retain(|(s, _)| s.is_finite());
        assert_eq!(n + model.len(), 4000);
        check_same(tree_of(&z).unwrap(), &model);
    }

    /// Lex ranges over a deep tree of equal scores (some of them -0), including ranges
    /// that reach either end, then removed as ZREMRANGEBYLEX does.
    #[test]
    fn lex_ranges_on_equal_scores_in_a_deep_tree() {
        let limits = Limits::default();
        let mut rng = Rng::new(17);
        let mut z = tree_set();
        let mut members: Vec<Vec<u8>> = Vec::new();
        for k in 0..10000u64 {
            let m = format!("{:x}", k.wrapping_mul(0x9e37_79b9) % 1_000_003).into_bytes();
            let s = if k % 3 == 0 { -0.0 } else { 0.0 };
            if z.insert(&m, s, &limits) {
                members.push(m);
            }
        }
        members.sort();
        assert!(tree_of(&z).unwrap().height >= 2);
        let bound = |rng: &mut Rng, members: &[Vec<u8>]| -> LexBound {
            let pick = match rng.below(3) {
                0 if !members.is_empty() => {
                    members[rng.below(members.len() as u64) as usize].clone()
                }
                1 => format!("{:x}", rng.below(1_000_003)).into_bytes(),
                _ => {
                    let len = rng.below(3) as usize;
                    rng.bytes(len)
                }
            };
            match rng.below(10) {
                0 => LexBound::Min,
                1 => LexBound::Max,
                2..=5 => LexBound::Inclusive(pick),
                _ => LexBound::Exclusive(pick),
            }
        };
        let inside = |r: &LexRange, m: &[u8]| !r.min.below_min(m) && r.max.within_max(m);
        for round in 0..400 {
            let r = LexRange {
                min: bound(&mut rng, &members),
                max: bound(&mut rng, &members),
            };
            let want: Vec<&[u8]> = members
                .iter()
                .map(|m| m.as_slice())
                .filter(|m| inside(&r, m))
                .collect();
            let ranks = z.lex_ranks(&r);
            let got: Vec<&[u8]> = z.iter_ranks(ranks.clone(), false).map(|(m, _)| m).collect();
            assert_eq!(got, want, "{r:?}");
            let back: Vec<&[u8]> = z.iter_ranks(ranks.clone(), true).map(|(m, _)| m).collect();
            assert!(back.iter().rev().eq(want.iter()), "{r:?}");
            if round % 20 == 19 && want.len() < members.len() / 4 {
                assert_eq!(z.remove_ranks(ranks), want.len());
                members.retain(|m| !inside(&r, m));
                check_tree(tree_of(&z).unwrap());
                assert!(z
                    .iter()
                    .map(|(m, _)| m)
                    .eq(members.iter().map(|m| m.as_slice())));
            }
        }
        // Ranges that reach the ends.
        let r = LexRange {
            min: LexBound::Min,
            max: LexBound::Inclusive(members[members.len() / 2].clone()),
        };
        assert_eq!(z.lex_ranks(&r), 0..members.len() / 2 + 1);
        let r = LexRange {
            min: LexBound::Exclusive(members[members.len() / 2].clone()),
            max: LexBound::Max,
        };
        assert_eq!(z.lex_ranks(&r), members.len() / 2 + 1..members.len());
        let r = LexRange {
            min: LexBound::Min,
            max: LexBound::Max,
        };
        assert_eq!(z.remove_ranks(z.lex_ranks(&r)), members.len());
        check_same(tree_of(&z).unwrap(), &[]);
    }

    /// Rescoring: small moves that stay between the entry's neighbours in its leaf
    /// (rescored in place), moves to a leaf's first or last slot, and long jumps,
    /// including to and from the infinities.
    #[test]
    fn rescoring_in_place_and_across_leaves() {
        let limits = Limits::default();
        let mut rng = Rng::new(23);
        let mut z = tree_set();
        let mut model = Vec::new();
        for k in 0..3000 {
            let m = format!("m{k:04}").into_bytes();
            z.insert(&m, k as f64, &limits);
            model.push((k as f64, m));
        }
        let mut in_place = 0;
        for step in 0..4000 {
            let m = format!("m{:04}", rng.below(3000)).into_bytes();
            let old = z.score(&m).unwrap();
            let new = match rng.below(6) {
                0 => old + 0.25,
                1 => old - 0.25,
                2 => rng.below(3000) as f64,
                3 => old + 1.0,
                4 => [f64::INFINITY, f64::NEG_INFINITY, -0.0][rng.below(3) as usize],
                _ => old,
            };
            let r = model_pos(&model, old, &m);
            // Whether the entry stays strictly between its neighbours in its leaf.
            let (leaf, pos) = tree_of(&z).unwrap().at(r);
            let stays = pos > 0
                && pos + 1 < tree_of(&z).unwrap().node(leaf).len
                && before(model[r - 1].0, &model[r - 1].1, new, &m)
                && before(new, &m, model[r + 1].0, &model[r + 1].1);
            z.insert(&m, new, &limits);
            // -0 and 0 (or an unchanged score) are no update: the old score stays.
            let new = if new == old { old } else { new };
            model.remove(r);
            model_insert(&mut model, new, &m);
            let r = model_pos(&model, new, &m);
            if stays {
                assert_eq!(tree_of(&z).unwrap().at(r), (leaf, pos), "rescored in place");
                in_place += 1;
            }
            assert_eq!(z.score(&m).map(f64::to_bits), Some(new.to_bits()));
            assert_eq!(z.rank(&m), Some(r));
            let near = r.saturating_sub(1)..(r + 2).min(model.len());
            assert_eq!(
                entries(z.iter_ranks(near.clone(), false)),
                bits(&model[near])
            );
            if step % 500 == 0 {
                check_same(tree_of(&z).unwrap(), &model);
            }
        }
        assert!(in_place > 100, "{in_place} rescored in place");
        check_same(tree_of(&z).unwrap(), &model);
        check_every_rank(tree_of(&z).unwrap(), &model);
    }

    /// A clone of a deep set is a separate tree: changing either leaves the other as it
    /// was, and both keep their invariants.
    #[test]
    fn a_clone_of_a_deep_set_is_independent() {
        let limits = Limits::default();
        let mut z = tree_set();
        let mut model = Vec::new();
        for k in (0..8000).rev() {
            let m = format!("m{k:05}").into_bytes();
            z.insert(&m, (k % 10) as f64, &limits);
            model_insert(&mut model, (k % 10) as f64, &m);
        }
        // Leave some nodes on the free list, so the clone copies one too.
        z.remove_ranks(100..3000);
        model.drain(100..3000);
        assert!(!tree_of(&z).unwrap().free.is_empty());
        let mut c = z.clone();
        assert_eq!(c, z);
        check_same(tree_of(&c).unwrap(), &model);
        c.remove_ranks(0..c.len() / 2);
        for k in 0..500 {
            c.insert(format!("n{k}").as_bytes(), -1.0, &limits);
        }
        check_tree(tree_of(&c).unwrap());
        check_arena(tree_of(&c).unwrap());
        assert_eq!(c.len(), (model.len() - model.len() / 2) + 500);
        assert_eq!(c.rank(b"n0"), Some(0));
        assert_eq!(c.score(&model[0].1), None);
        // The original is untouched.
        check_same(tree_of(&z).unwrap(), &model);
        assert_eq!(z.score(&model[0].1), Some(model[0].0));
        assert_eq!(z.rank(b"n0"), None);
        for (r, (_, m)) in model.iter().enumerate().step_by(101) {
            assert_eq!(z.rank(m), Some(r));
        }
    }
}
