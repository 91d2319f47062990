//! The sorted set type (Redis's `zset`): a skiplist with spans for order and rank, plus
//! a hash table from member to score, as in Redis's `t_zset.c`.
//!
//! The skiplist is Redis's (`zslInsert`, `zslDelete`, `zslGetRank`, ...), written over an
//! arena: nodes live in one `Vec` and link to each other by `u32` index, so there is no
//! unsafe code and no per-link allocation. Every forward link carries its span (how many
//! nodes it skips), which gives rank queries and rank lookups in O(log n).
//!
//! All rank and range queries come down to one walk, [`SkipList::seek`]: the number of
//! nodes before the first node a predicate rejects. A score or lex range is then a range
//! of ranks, and every range command (ZRANGE, ZCOUNT, ZREMRANGEBYSCORE...) works on ranks.
//!
//! Redis keeps small sorted sets in a listpack and converts them one way to the skiplist
//! once they outgrow `zset-max-listpack-entries` or a member outgrows
//! `zset-max-listpack-value`. Here the representation is always the skiplist; the
//! encoding is tracked as a flag so OBJECT ENCODING and ZSCAN behave as Redis's do.

use std::ops::Range;

use super::table::{Keyed, Table};
use super::value::Limits;
use crate::util::rand::Rng;

/// The link that points nowhere.
const NIL: u32 = u32::MAX;
/// The header node's index.
const HEAD: u32 = 0;
/// Redis's `ZSKIPLIST_MAXLEVEL`.
const MAX_LEVEL: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Level {
    forward: u32,
    /// How many nodes the link skips (1 to the very next node); 0 for a NIL link at the
    /// end, as Redis leaves it.
    span: u32,
}

#[derive(Debug, Clone)]
struct Node {
    member: Box<[u8]>,
    score: f64,
    backward: u32,
    /// Empty for a free slot.
    levels: Levels,
}

/// How many levels a node keeps inline. Three nodes in four have one level and fifteen
/// in sixteen at most two, so most walks read a node's links from the node itself, in
/// the same cache line as its score, instead of chasing a second allocation.
const INLINE_LEVELS: usize = 2;

/// A node's forward links: the first [`INLINE_LEVELS`] inline, the rest boxed.
#[derive(Debug, Clone)]
struct Levels {
    inline: [Level; INLINE_LEVELS],
    rest: Option<Box<[Level]>>,
}

impl Levels {
    const NONE: Level = Level {
        forward: NIL,
        span: 0,
    };

    /// `n` links to nowhere.
    fn new(n: usize) -> Levels {
        Levels {
            inline: [Levels::NONE; INLINE_LEVELS],
            rest: (n > INLINE_LEVELS)
                .then(|| vec![Levels::NONE; n - INLINE_LEVELS].into_boxed_slice()),
        }
    }
}

impl std::ops::Index<usize> for Levels {
    type Output = Level;

    fn index(&self, i: usize) -> &Level {
        match i.checked_sub(INLINE_LEVELS) {
            None => &self.inline[i],
            Some(j) => &self.rest.as_deref().expect("a link the node has")[j],
        }
    }
}

impl std::ops::IndexMut<usize> for Levels {
    fn index_mut(&mut self, i: usize) -> &mut Level {
        match i.checked_sub(INLINE_LEVELS) {
            None => &mut self.inline[i],
            Some(j) => &mut self.rest.as_deref_mut().expect("a link the node has")[j],
        }
    }
}

/// Redis's skiplist (`zskiplist`) over an arena of nodes.
#[derive(Debug, Clone)]
pub struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    tail: u32,
    len: usize,
    level: usize,
    rng: Rng,
}

impl SkipList {
    /// An empty list whose node levels come from a generator seeded with `seed`.
    pub fn new(seed: u64) -> SkipList {
        let head = Node {
            member: Box::default(),
            score: 0.0,
            backward: NIL,
            levels: Levels::new(MAX_LEVEL),
        };
        SkipList {
            nodes: vec![head],
            free: Vec::new(),
            tail: NIL,
            len: 0,
            level: 1,
            rng: Rng::new(seed),
        }
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn node(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    fn node_mut(&mut self, i: u32) -> &mut Node {
        &mut self.nodes[i as usize]
    }

    fn fwd(&self, i: u32, lvl: usize) -> u32 {
        self.node(i).levels[lvl].forward
    }

    /// Redis's `zslRandomLevel`: each further level with probability 1/4.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        while level < MAX_LEVEL && self.rng.next_u64() & 0xffff < 0xffff / 4 {
            level += 1;
        }
        level
    }

    /// Whether node `i` sorts before (score, member).
    fn before(&self, i: u32, score: f64, member: &[u8]) -> bool {
        let n = self.node(i);
        n.score < score || (n.score == score && *n.member < *member)
    }

    /// The walk every update starts with: for each level, the last node before
    /// (score, member), and its rank (0 for the header).
    fn find_update(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let f = self.fwd(x, i);
                if f == NIL || !self.before(f, score, member) {
                    break;
                }
                rank[i] += self.node(x).levels[i].span;
                x = f;
            }
            update[i] = x;
        }
        (update, rank)
    }

    /// Redis's `zslInsert`: adds a node; (score, member) must not be present yet.
    pub fn insert(&mut self, score: f64, member: Box<[u8]>) {
        let (mut update, mut rank) = self.find_update(score, &member);
        let level = self.random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.node_mut(HEAD).levels[i].span = self.len as u32;
            }
            self.level = level;
        }
        let node = Node {
            member,
            score,
            backward: NIL,
            levels: Levels::new(level),
        };
        let x = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        for i in 0..level {
            let prev = self.node(update[i]).levels[i];
            let moved = rank[0] - rank[i];
            self.node_mut(x).levels[i] = Level {
                forward: prev.forward,
                span: prev.span - moved,
            };
            self.node_mut(update[i]).levels[i] = Level {
                forward: x,
                span: moved + 1,
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.node_mut(u).levels[i].span += 1;
        }
        let back = if update[0] == HEAD { NIL } else { update[0] };
        self.node_mut(x).backward = back;
        match self.fwd(x, 0) {
            NIL => self.tail = x,
            next => self.node_mut(next).backward = x,
        }
        self.len += 1;
    }

    /// Redis's `zslDeleteNode`: unlinks `x`, given the update vector, and frees its slot.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) -> (Box<[u8]>, f64) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            if self.fwd(u, i) == x {
                let xl = self.node(x).levels[i];
                let ul = &mut self.node_mut(u).levels[i];
                ul.span = ul.span + xl.span - 1;
                ul.forward = xl.forward;
            } else {
                self.node_mut(u).levels[i].span -= 1;
            }
        }
        let (next, back) = (self.fwd(x, 0), self.node(x).backward);
        match next {
            NIL => self.tail = back,
            n => self.node_mut(n).backward = back,
        }
        while self.level > 1 && self.fwd(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        let node = self.node_mut(x);
        node.levels = Levels::new(0);
        let member = std::mem::take(&mut node.member);
        let score = node.score;
        self.free.push(x);
        (member, score)
    }

    /// Redis's `zslDelete`: removes (score, member) and returns its member, if present.
    pub fn delete(&mut self, score: f64, member: &[u8]) -> Option<Box<[u8]>> {
        let (update, _) = self.find_update(score, member);
        let x = self.fwd(update[0], 0);
        if x != NIL && self.node(x).score == score && *self.node(x).member == *member {
            Some(self.unlink(x, &update).0)
        } else {
            None
        }
    }

    /// Redis's `zslUpdateScore`: moves (score, member) to `new_score`, in place when its
    /// neighbours allow it.
    pub fn update_score(&mut self, score: f64, member: &[u8], new_score: f64) {
        let (update, _) = self.find_update(score, member);
        let x = self.fwd(update[0], 0);
        if x == NIL || *self.node(x).member != *member {
            return;
        }
        let back = self.node(x).backward;
        let next = self.fwd(x, 0);
        let after_back = back == NIL || self.before(back, new_score, member);
        let before_next = next == NIL || !self.before(next, new_score, member);
        if after_back && before_next {
            self.node_mut(x).score = new_score;
            return;
        }
        let (member, _) = self.unlink(x, &update);
        self.insert(new_score, member);
    }

    /// The number of nodes `before` accepts, walking from the head: `before` must accept
    /// a prefix of the list (it is monotone in the list's order). This is the rank of the
    /// first node it rejects.
    pub fn seek(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f == NIL || !before(self.node(f).score, &self.node(f).member) {
                    break;
                }
                rank += self.node(x).levels[i].span as usize;
                x = f;
            }
        }
        rank
    }

    /// Redis's `zslGetElementByRank` (0-based here): the node at `rank`.
    fn at(&self, rank: usize) -> u32 {
        if rank >= self.len {
            return NIL;
        }
        let target = rank + 1;
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.node(x).levels[i];
                if l.forward == NIL || traversed + l.span as usize > target {
                    break;
                }
                traversed += l.span as usize;
                x = l.forward;
            }
            if traversed == target {
                return x;
            }
        }
        NIL
    }

    /// The (member, score) pairs at ranks `ranks`, lowest first, or highest first when
    /// `rev`.
    pub fn iter_ranks(&self, ranks: Range<usize>, rev: bool) -> Iter<'_> {
        let ranks = ranks.start..ranks.end.min(self.len);
        let count = ranks.end.saturating_sub(ranks.start);
        let at = match (count, rev) {
            (0, _) => NIL,
            (_, false) => self.at(ranks.start),
            (_, true) => self.at(ranks.end - 1),
        };
        Iter {
            list: self,
            at,
            left: count,
            rev,
        }
    }

    /// Redis's `zslDeleteRangeByRank` (0-based, end exclusive): removes those nodes and
    /// returns them.
    pub fn delete_ranks(&mut self, ranks: Range<usize>) -> Vec<(Box<[u8]>, f64)> {
        let ranks = ranks.start..ranks.end.min(self.len);
        if ranks.start >= ranks.end {
            return Vec::new();
        }
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.node(x).levels[i];
                if l.forward == NIL || traversed + l.span as usize > ranks.start {
                    break;
                }
                traversed += l.span as usize;
                x = l.forward;
            }
            update[i] = x;
        }
        let mut removed = Vec::with_capacity(ranks.len());
        let mut x = self.fwd(x, 0);
        for _ in ranks {
            let next = self.fwd(x, 0);
            removed.push(self.unlink(x, &update));
            x = next;
        }
        removed
    }
}

/// Walks a range of ranks of a [`SkipList`].
pub struct Iter<'a> {
    list: &'a SkipList,
    at: u32,
    left: usize,
    rev: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.at == NIL {
            return None;
        }
        let n = self.list.node(self.at);
        self.left -= 1;
        self.at = if self.rev {
            n.backward
        } else {
            n.levels[0].forward
        };
        Some((&n.member, n.score))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

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

/// A sorted set: members ordered by score, then bytewise.
pub struct ZSet {
    dict: Table<Scored>,
    list: SkipList,
    /// Whether Redis would still hold this set in a listpack.
    listpack: bool,
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
        let mut dict = Table::new();
        for (member, score) in self.iter() {
            dict.insert_new(Scored {
                member: member.into(),
                score,
            });
        }
        ZSet {
            dict,
            list: self.list.clone(),
            listpack: self.listpack,
        }
    }
}

impl PartialEq for ZSet {
    /// Same members with the same scores (the encoding is not compared).
    fn eq(&self, other: &ZSet) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl ZSet {
    /// An empty sorted set.
    pub fn new() -> ZSet {
        let seed = crate::util::rand::with_thread_rng(|r| r.next_u64());
        ZSet {
            dict: Table::new(),
            list: SkipList::new(seed),
            listpack: true,
        }
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every (member, score), lowest rank first.
    pub fn iter(&self) -> Iter<'_> {
        self.list.iter_ranks(0..self.len(), false)
    }

    /// The (member, score) pairs at ranks `ranks` (0-based, end exclusive), lowest first,
    /// or highest first when `rev`.
    pub fn iter_ranks(&self, ranks: Range<usize>, rev: bool) -> Iter<'_> {
        self.list.iter_ranks(ranks, rev)
    }

    /// A member's score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(member).map(|s| s.score)
    }

    /// Adds a member or changes its score. Returns true if it is new. The set leaves the
    /// listpack encoding when it grows past the limits, never to return.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &Limits) -> bool {
        let is_new = self.dict.get(member).is_none();
        if is_new && (self.len() + 1 > limits.zset_entries || member.len() > limits.zset_value) {
            self.listpack = false;
        }
        // A listpack stores scores as text, and Redis's text for -0 reads back as 0.
        let score = if self.listpack && score == 0.0 {
            0.0
        } else {
            score
        };
        if let Some(s) = self.dict.get_mut(member) {
            let old = s.score;
            // As in Redis, -0 and 0 are the same score: no update.
            if old != score {
                s.score = score;
                self.list.update_score(old, member, score);
            }
            return false;
        }
        self.dict.insert_new(Scored {
            member: member.into(),
            score,
        });
        self.list.insert(score, member.into());
        true
    }

    /// Removes a member. Returns whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.dict.remove(member) {
            Some(s) => {
                self.list.delete(s.score, member);
                true
            }
            None => false,
        }
    }

    /// A member's rank (0 for the lowest score).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(
            self.list
                .seek(|s, m| s < score || (s == score && m < member)),
        )
    }

    /// The ranks of the members within a score range.
    pub fn score_ranks(&self, r: &ScoreRange) -> Range<usize> {
        let start = self
            .list
            .seek(|s, _| if r.minex { s <= r.min } else { s < r.min });
        let end = self
            .list
            .seek(|s, _| if r.maxex { s < r.max } else { s <= r.max });
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
        let start = self.list.seek(|_, m| r.min.below_min(m));
        let end = self.list.seek(|_, m| r.max.within_max(m));
        start..end.max(start)
    }

    /// Removes the members at ranks `ranks` and returns how many there were.
    pub fn remove_ranks(&mut self, ranks: Range<usize>) -> usize {
        let removed = self.list.delete_ranks(ranks);
        for (member, _) in &removed {
            self.dict.remove(member);
        }
        removed.len()
    }

    /// The dict from member to score, for ZSCAN's cursor and random draws: visits the
    /// bucket at `cursor` on as [`Table::scan_count`] does, with (member, score).
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], f64),
    ) -> u64 {
        self.dict
            .scan_count(cursor, count, |s| visit(&s.member, s.score))
    }

    /// Whether Redis would hold this set in a listpack (small, with short members).
    pub fn is_listpack(&self) -> bool {
        self.listpack
    }

    /// Leaves the listpack encoding for good, as Redis's `zsetConvert(zobj,
    /// OBJ_ENCODING_SKIPLIST)` does (SORT converts the sets it sorts).
    pub fn convert_to_skiplist(&mut self) {
        self.listpack = false;
    }

    /// The encoding OBJECT ENCODING reports: `listpack` or `skiplist`.
    pub fn encoding(&self) -> &'static str {
        if self.listpack {
            "listpack"
        } else {
            "skiplist"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The naive model: sorted (score, member) pairs.
    fn model_sorted(m: &std::collections::HashMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
        let mut v: Vec<_> = m.iter().map(|(k, s)| (k.clone(), *s)).collect();
        v.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// Checks spans, backward links and the tail against a plain walk.
    fn check_links(l: &SkipList) {
        let mut order = Vec::new();
        let mut x = l.fwd(HEAD, 0);
        let mut prev = NIL;
        while x != NIL {
            assert_eq!(l.node(x).backward, prev);
            order.push(x);
            prev = x;
            x = l.fwd(x, 0);
        }
        assert_eq!(order.len(), l.len);
        assert_eq!(l.tail, prev);
        let pos = |i: u32| {
            if i == HEAD {
                0
            } else {
                order.iter().position(|&o| o == i).unwrap() + 1
            }
        };
        for lvl in 0..l.level {
            let mut x = HEAD;
            loop {
                let lv = l.node(x).levels[lvl];
                if lv.forward == NIL {
                    break;
                }
                assert_eq!(
                    lv.span as usize,
                    pos(lv.forward) - pos(x),
                    "span at level {lvl}"
                );
                x = lv.forward;
            }
        }
    }

    #[test]
    fn random_operations_match_a_naive_model() {
        let limits = Limits::default();
        let mut rng = Rng::new(42);
        let mut z = ZSet::new();
        let mut model = std::collections::HashMap::new();
        for step in 0..6000 {
            let member = format!("m{}", rng.below(300)).into_bytes();
            let score = (rng.below(40) as f64) - 20.0;
            match rng.below(10) {
                0..=5 => {
                    let new = z.insert(&member, score, &limits);
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
                check_links(&z.list);
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
        check_links(&z.list);
        let all: Vec<_> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(all, model_sorted(&model));
        let rev: Vec<_> = z
            .iter_ranks(0..z.len(), true)
            .map(|(m, s)| (m.to_vec(), s))
            .collect();
        assert_eq!(rev, all.into_iter().rev().collect::<Vec<_>>());
        assert_eq!(z.clone(), z);
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
}
