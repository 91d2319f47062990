//! The list type, as Redis 7.0's quicklist of listpacks (`quicklist.c`).
//!
//! Elements are packed into nodes of up to `NODE_BYTES` bytes (Redis's default
//! `list-max-listpack-size -2`, 8 KB), each node one buffer:
//!
//! ```text
//! [u16 count][varint length][element][backlen] [varint length][element][backlen] ...
//! ```
//!
//! where `backlen` is the size of the length and the element, written so that it reads
//! from its last byte backwards: a walk goes either way within a node, so both ends of
//! the list are O(1) (plus a node's memmove at the head, as in Redis), and a lookup by
//! index walks the nodes by their counts and then the node from its nearer end.
//!
//! A list of one node (every small list) holds that node alone, with no vector of
//! nodes; it costs one buffer of about its elements' bytes plus two per element, where a
//! `VecDeque<Vec<u8>>` paid 56 bytes and an allocation per element.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::packed::{get_varint, varint_len, Varint};

/// The size past which a node takes no more elements (a bigger element gets a node of
/// its own).
const NODE_BYTES: usize = 8192;
/// The most elements a node counts (its count is two bytes).
const NODE_MAX: usize = u16::MAX as usize;
/// The header: the element count.
const HEAD: usize = 2;

/// A node's element count.
fn count(node: &[u8]) -> usize {
    u16::from_le_bytes([node[0], node[1]]) as usize
}

fn set_count(node: &mut [u8], n: usize) {
    node[..HEAD].copy_from_slice(&(n as u16).to_le_bytes());
}

fn new_node() -> Vec<u8> {
    vec![0; HEAD]
}

/// An element's bytes in a node.
fn encode(element: &[u8]) -> Vec<u8> {
    let (head, back, _) = frame(element);
    [head.bytes(), element, back.bytes()].concat()
}

/// The bytes around an element in a node: its length's varint before it, and its
/// backlen after it (the size of the length and the element, as a varint reversed, so
/// that it reads from its last byte backwards), and the size of the three together. On
/// the stack, so that a push copies the element straight into its node.
fn frame(element: &[u8]) -> (Varint, Varint, usize) {
    let head = Varint::new(element.len() as u64);
    let back = Varint::new((head.bytes().len() + element.len()) as u64).reversed();
    let size = head.bytes().len() + element.len() + back.bytes().len();
    (head, back, size)
}

/// The element at byte `at` and where the next one starts.
fn entry_at(node: &[u8], at: usize) -> (&[u8], usize) {
    let mut pos = at;
    let len = get_varint(node, &mut pos) as usize;
    let element = &node[pos..pos + len];
    let size = pos + len - at;
    (element, pos + len + varint_len(size as u64))
}

/// The element that ends at byte `end` and where it starts.
fn entry_before(node: &[u8], end: usize) -> (&[u8], usize) {
    let (mut size, mut shift, mut pos) = (0usize, 0, end);
    loop {
        pos -= 1;
        let b = node[pos];
        size |= usize::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    let start = pos - size;
    (entry_at(node, start).0, start)
}

/// The byte offset of element `i` of a node (its end for `i` = count).
fn offset(node: &[u8], i: usize) -> usize {
    let n = count(node);
    if i <= n / 2 {
        (0..i).fold(HEAD, |at, _| entry_at(node, at).1)
    } else {
        (i..n).fold(node.len(), |end, _| entry_before(node, end).1)
    }
}

/// Whether a node has room for `more` bytes and one more element.
fn has_room(node: &[u8], more: usize) -> bool {
    count(node) < NODE_MAX && (count(node) == 0 || node.len() + more <= NODE_BYTES)
}

/// Replaces `range` of a node with `with`, its count becoming `n`, and keeps the
/// buffer's size tight.
fn splice(node: &mut Vec<u8>, range: Range<usize>, with: &[u8], n: usize) {
    splice_parts(node, range, [with, &[], &[]], n);
}

/// [`splice`] with the new bytes given in three parts (an element with its [`frame`]).
fn splice_parts(node: &mut Vec<u8>, range: Range<usize>, parts: [&[u8]; 3], n: usize) {
    let with_len = parts.iter().map(|p| p.len()).sum::<usize>();
    let (len, removed) = (node.len(), range.len());
    if with_len > removed {
        // Grow by an eighth at least: a big node then reallocates once per many pushes,
        // while a small list's node (where an eighth is a few bytes) stays exact.
        let grow = with_len - removed;
        if node.capacity() < len + grow {
            node.reserve_exact(grow.max(len / 8));
        }
        node.resize(len + grow, 0);
        node.copy_within(range.end..len, range.end + grow);
    } else if with_len < removed {
        let shrink = removed - with_len;
        node.copy_within(range.end..len, range.end - shrink);
        node.truncate(len - shrink);
    }
    let mut at = range.start;
    for part in parts {
        node[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    set_count(node, n);
    // Give back what removals freed, but not after every pop from a big node (a realloc
    // each time would double LPOP's cost): up to an eighth of the node may stay spare.
    if node.capacity() > node.len() + 16.max(node.len() / 8) {
        node.shrink_to_fit();
    }
}

/// Redis's quicklist `packed_threshold`: an element at least this long sits in a
/// plain node of its own (1 GiB unless DEBUG QUICKLIST-PACKED-THRESHOLD changes it;
/// process-wide, as in Redis). It shapes the nodes RDB and DUMP write.
static PACKED_THRESHOLD: AtomicUsize = AtomicUsize::new(1 << 30);

/// See [`PACKED_THRESHOLD`].
pub fn packed_threshold() -> usize {
    PACKED_THRESHOLD.load(Ordering::Relaxed)
}

/// DEBUG QUICKLIST-PACKED-THRESHOLD (Redis's `quicklistisSetPackedThreshold`): false
/// for 4 GiB less 1 MiB or more; 0 restores the default.
pub fn set_packed_threshold(bytes: u64) -> bool {
    if bytes > (1 << 32) - (1 << 20) {
        return false;
    }
    let bytes = if bytes == 0 { 1 << 30 } else { bytes };
    PACKED_THRESHOLD.store(bytes as usize, Ordering::Relaxed);
    true
}

/// A list of more than one node.
#[derive(Clone)]
struct Many {
    nodes: Vec<Vec<u8>>,
    len: usize,
}

#[derive(Clone)]
enum Repr {
    One(Vec<u8>),
    Many(Box<Many>),
}

/// A list of byte strings, O(1) at both ends.
#[derive(Clone)]
pub struct List {
    repr: Repr,
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

impl PartialEq for List {
    fn eq(&self, other: &List) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: AsRef<[u8]>> FromIterator<T> for List {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> List {
        let mut list = List::new();
        for item in items {
            list.push_back(item);
        }
        list
    }
}

impl<'a> IntoIterator for &'a List {
    type Item = &'a [u8];
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl List {
    /// An empty list.
    pub fn new() -> List {
        List {
            repr: Repr::One(new_node()),
        }
    }

    fn nodes(&self) -> &[Vec<u8>] {
        match &self.repr {
            Repr::One(node) => std::slice::from_ref(node),
            Repr::Many(many) => &many.nodes,
        }
    }

    /// The nodes, as a vector that may gain or lose nodes (a one-node list becomes a
    /// list of many).
    fn many(&mut self) -> &mut Many {
        if let Repr::One(node) = &mut self.repr {
            let node = std::mem::take(node);
            let len = count(&node);
            self.repr = Repr::Many(Box::new(Many {
                nodes: vec![node],
                len,
            }));
        }
        match &mut self.repr {
            Repr::Many(many) => many,
            Repr::One(_) => unreachable!("made many above"),
        }
    }

    /// Adds `delta` elements to the cached length of a list of many nodes.
    fn add_len(&mut self, delta: isize) {
        if let Repr::Many(many) = &mut self.repr {
            many.len = many.len.wrapping_add_signed(delta);
        }
    }

    fn node_mut(&mut self, i: usize) -> &mut Vec<u8> {
        match &mut self.repr {
            Repr::One(node) => node,
            Repr::Many(many) => &mut many.nodes[i],
        }
    }

    /// The number of elements.
    /// How many nodes hold the elements (Redis's quicklist `len`).
    pub fn node_count(&self) -> usize {
        match &self.repr {
            Repr::One(_) => 1,
            Repr::Many(many) => many.nodes.len(),
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::One(node) => count(node),
            Repr::Many(many) => many.len,
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The node holding index `i` (`i` = len: the end of the last node) and the
    /// index within it.
    fn locate(&self, mut i: usize) -> (usize, usize) {
        let nodes = self.nodes();
        if i > self.len() / 2 {
            // From the tail: the tail's end (RPOP, RPUSH) is as near as the head's.
            let mut rest = self.len() - i;
            for (n, node) in nodes.iter().enumerate().rev() {
                let c = count(node);
                if rest <= c {
                    return (n, c - rest);
                }
                rest -= c;
            }
        }
        for (n, node) in nodes.iter().enumerate() {
            let c = count(node);
            if i < c || n + 1 == nodes.len() {
                return (n, i);
            }
            i -= c;
        }
        (0, 0)
    }

    /// Adds an element at the tail.
    pub fn push_back(&mut self, element: impl AsRef<[u8]>) {
        let element = element.as_ref();
        let (head, back, size) = frame(element);
        let last = self.nodes().len() - 1;
        if !has_room(&self.nodes()[last], size) {
            self.many().nodes.push(new_node());
        }
        let last = self.nodes().len() - 1;
        let node = self.node_mut(last);
        let (end, n) = (node.len(), count(node) + 1);
        splice_parts(node, end..end, [head.bytes(), element, back.bytes()], n);
        self.add_len(1);
    }

    /// Adds an element at the head.
    pub fn push_front(&mut self, element: impl AsRef<[u8]>) {
        let element = element.as_ref();
        let (head, back, size) = frame(element);
        if !has_room(&self.nodes()[0], size) {
            self.many().nodes.insert(0, new_node());
        }
        let node = self.node_mut(0);
        let n = count(node) + 1;
        splice_parts(node, HEAD..HEAD, [head.bytes(), element, back.bytes()], n);
        self.add_len(1);
    }

    /// Removes the element at the head.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let first = self.nodes().iter().position(|node| count(node) > 0)?;
        let (element, _) = entry_at(&self.nodes()[first], HEAD);
        let element = element.to_vec();
        self.remove_range(0..1);
        Some(element)
    }

    /// Removes the element at the tail.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let len = self.len();
        let element = self.get(len.checked_sub(1)?)?.to_vec();
        self.remove_range(len - 1..len);
        Some(element)
    }

    /// The element at index `i`.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len() {
            return None;
        }
        let (n, j) = self.locate(i);
        let node = &self.nodes()[n];
        Some(entry_at(node, offset(node, j)).0)
    }

    /// The first element.
    pub fn front(&self) -> Option<&[u8]> {
        self.get(0)
    }

    /// The last element.
    pub fn back(&self) -> Option<&[u8]> {
        self.get(self.len().checked_sub(1)?)
    }

    /// Replaces the element at index `i`. Returns false if there is none.
    pub fn set(&mut self, i: usize, element: &[u8]) -> bool {
        if i >= self.len() {
            return false;
        }
        let (n, j) = self.locate(i);
        let node = self.node_mut(n);
        let at = offset(node, j);
        let end = entry_at(node, at).1;
        let c = count(node);
        splice(node, at..end, &encode(element), c);
        self.split_if_big(n);
        true
    }

    /// Inserts an element before index `i` (`i` = len appends).
    pub fn insert(&mut self, i: usize, element: &[u8]) {
        if i >= self.len() {
            return self.push_back(element);
        }
        let (n, j) = self.locate(i);
        let node = self.node_mut(n);
        let at = offset(node, j);
        let c = count(node) + 1;
        splice(node, at..at, &encode(element), c);
        self.add_len(1);
        self.split_if_big(n);
    }

    /// Splits node `n` in two halves when it grew well past a node's size (an insert or
    /// a replacement in its middle).
    fn split_if_big(&mut self, n: usize) {
        let node = &self.nodes()[n];
        let c = count(node);
        if c < 2 || (node.len() <= 2 * NODE_BYTES && c < NODE_MAX) {
            return;
        }
        let at = offset(node, c / 2);
        let mut tail = new_node();
        tail.extend_from_slice(&node[at..]);
        set_count(&mut tail, c - c / 2);
        let many = self.many();
        let head = &mut many.nodes[n];
        head.truncate(at);
        set_count(head, c / 2);
        head.shrink_to_fit();
        many.nodes.insert(n + 1, tail);
    }

    /// Removes the elements at indexes `range` (clamped to the list).
    pub fn remove_range(&mut self, range: Range<usize>) {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        if start == end {
            return;
        }
        let (mut n, mut j) = self.locate(start);
        let mut left = end - start;
        while left > 0 {
            let node = self.node_mut(n);
            let c = count(node);
            let take = left.min(c - j);
            let from = offset(node, j);
            let to = (0..take).fold(from, |at, _| entry_at(node, at).1);
            splice(node, from..to, b"", c - take);
            left -= take;
            self.add_len(-(take as isize));
            if c == take && self.nodes().len() > 1 {
                self.many().nodes.remove(n);
            } else {
                n += 1;
            }
            j = 0;
        }
    }

    /// Keeps the elements `keep` accepts, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let mut n = 0;
        while n < self.nodes().len() {
            let node = &self.nodes()[n];
            let mut kept = new_node();
            let (mut at, mut c) = (HEAD, 0);
            while at < node.len() {
                let (element, next) = entry_at(node, at);
                if keep(element) {
                    kept.extend_from_slice(&node[at..next]);
                    c += 1;
                }
                at = next;
            }
            let gone = count(node) - c;
            if gone > 0 {
                set_count(&mut kept, c);
                kept.shrink_to_fit();
                *self.node_mut(n) = kept;
                self.add_len(-(gone as isize));
            }
            if c == 0 && self.nodes().len() > 1 {
                self.many().nodes.remove(n);
            } else {
                n += 1;
            }
        }
    }

    /// Keeps the first `len` elements.
    pub fn truncate(&mut self, len: usize) {
        self.remove_range(len..self.len());
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        *self = List::new();
    }

    /// Every element, head first (reversible).
    pub fn iter(&self) -> Iter<'_> {
        self.range(0..self.len())
    }

    /// The elements at indexes `range` (clamped to the list), head first (reversible).
    pub fn range(&self, range: Range<usize>) -> Iter<'_> {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        let nodes = self.nodes();
        let (fnode, fi) = self.locate(start);
        let (bnode, bi) = self.locate(end);
        Iter {
            nodes,
            front: (fnode, offset(&nodes[fnode], fi)),
            back: (bnode, offset(&nodes[bnode], bi)),
            left: end - start,
        }
    }

    /// The bytes this list holds on the heap, besides itself.
    pub fn heap_bytes(&self, samples: usize) -> usize {
        use crate::store::memory::{alloc, sampled};
        let nodes = self.nodes();
        // The first nodes stand for the rest (see `crate::store::memory`).
        let buffers = sampled(
            nodes.len(),
            samples,
            nodes.iter().map(|n| alloc(n.capacity())),
        );
        match &self.repr {
            Repr::One(_) => buffers,
            Repr::Many(many) => {
                buffers
                    + alloc(std::mem::size_of::<Many>())
                    + alloc(many.nodes.capacity() * std::mem::size_of::<Vec<u8>>())
            }
        }
    }
}

/// Walks a range of a [`List`] from either end.
pub struct Iter<'a> {
    nodes: &'a [Vec<u8>],
    /// The node and byte offset of the next element from the front.
    front: (usize, usize),
    /// The node and byte offset just past the next element from the back.
    back: (usize, usize),
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (mut n, mut at) = self.front;
        while at >= self.nodes[n].len() {
            (n, at) = (n + 1, HEAD);
        }
        let (element, next) = entry_at(&self.nodes[n], at);
        self.front = (n, next);
        Some(element)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (mut n, mut end) = self.back;
        while end <= HEAD {
            n -= 1;
            end = self.nodes[n].len();
        }
        let (element, start) = entry_before(&self.nodes[n], end);
        self.back = (n, start);
        Some(element)
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rand::Rng;
    use std::collections::VecDeque;

    fn check(list: &List, model: &VecDeque<Vec<u8>>) {
        assert_eq!(list.len(), model.len());
        let got: Vec<&[u8]> = list.iter().collect();
        let want: Vec<&[u8]> = model.iter().map(|v| &v[..]).collect();
        assert_eq!(got, want);
        let back: Vec<&[u8]> = list.iter().rev().collect();
        assert_eq!(back, want.iter().rev().copied().collect::<Vec<_>>());
        if let Repr::Many(many) = &list.repr {
            let counted: usize = many.nodes.iter().map(|n| count(n)).sum();
            assert_eq!(counted, many.len);
        }
    }

    #[test]
    fn a_small_list_is_one_tight_node() {
        let list: List = ["alpha", "bravo", "charlie", "delta", "echo"]
            .into_iter()
            .collect();
        assert!(matches!(list.repr, Repr::One(_)));
        assert_eq!(
            list.heap_bytes(8),
            crate::store::memory::alloc(2 + 5 * 2 + 26)
        );
        assert_eq!(std::mem::size_of::<List>(), 24);
    }

    #[test]
    fn a_pushed_element_is_framed_as_encode_frames_it() {
        for len in [0, 1, 127, 128, 16383, 16384, 20000] {
            let element = vec![b'y'; len];
            let mut want = new_node();
            want.extend_from_slice(&encode(&element));
            set_count(&mut want, 1);
            let (mut front, mut back) = (List::new(), List::new());
            front.push_front(&element);
            back.push_back(&element);
            assert_eq!(front.nodes()[0], want, "{len}");
            assert_eq!(back.nodes()[0], want, "{len}");
        }
    }

    #[test]
    fn elements_of_every_size_round_trip_both_ways() {
        for len in [0, 1, 125, 126, 127, 128, 16381, 16382, 16383, 16384, 20000] {
            let element = vec![b'x'; len];
            let bytes = encode(&element);
            let mut node = new_node();
            node.extend_from_slice(&bytes);
            assert_eq!(entry_at(&node, HEAD), (&element[..], node.len()), "{len}");
            assert_eq!(
                entry_before(&node, node.len()),
                (&element[..], HEAD),
                "{len}"
            );
        }
    }

    #[test]
    fn agrees_with_a_vecdeque_through_random_operations() {
        let mut rng = Rng::new(17);
        let mut list = List::new();
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        for step in 0..20000 {
            let len = match rng.below(20) {
                0 => rng.below(20000) as usize,
                1..=3 => rng.below(300) as usize,
                _ => rng.below(12) as usize,
            };
            let element = rng.bytes(len);
            let i = rng.below(model.len() as u64 + 1) as usize;
            match rng.below(14) {
                0..=2 => {
                    list.push_back(&element);
                    model.push_back(element);
                }
                3..=5 => {
                    list.push_front(&element);
                    model.push_front(element);
                }
                6 => assert_eq!(list.pop_front(), model.pop_front()),
                7 => assert_eq!(list.pop_back(), model.pop_back()),
                8 => {
                    list.insert(i, &element);
                    model.insert(i, element);
                }
                9 => {
                    assert_eq!(list.set(i, &element), i < model.len());
                    if let Some(slot) = model.get_mut(i) {
                        *slot = element;
                    }
                }
                10 => {
                    let end = i + rng.below(50) as usize;
                    list.remove_range(i..end);
                    model.drain(i..end.min(model.len()));
                }
                11 => {
                    let byte = rng.below(256) as u8;
                    let keep = |v: &[u8]| v.first() != Some(&byte);
                    list.retain(keep);
                    model.retain(|v| keep(v));
                }
                12 => {
                    assert_eq!(list.get(i), model.get(i).map(|v| &v[..]));
                    let end = i + rng.below(30) as usize;
                    let got: Vec<&[u8]> = list.range(i..end).collect();
                    let want: Vec<&[u8]> = model
                        .range(i..end.min(model.len()))
                        .map(|v| &v[..])
                        .collect();
                    assert_eq!(got, want);
                    let got: Vec<&[u8]> = list.range(i..end).rev().collect();
                    assert_eq!(got, want.into_iter().rev().collect::<Vec<_>>());
                }
                _ => {
                    if rng.below(50) == 0 {
                        let n = rng.below(model.len() as u64 + 1) as usize;
                        list.truncate(n);
                        model.truncate(n);
                    }
                }
            }
            if step % 97 == 0 {
                check(&list, &model);
            }
        }
        check(&list, &model);
        assert!(list.nodes().len() > 1, "the test reached many nodes");
        assert_eq!(list.clone(), list);
        list.clear();
        assert!(list.is_empty() && list.pop_back().is_none() && list.pop_front().is_none());
    }
}
