//! Streams (Redis's t_stream.c data structure): entries keyed by `(ms, seq)` IDs, with
//! consumer groups.
//!
//! Entries live in blocks of a `BTreeMap` keyed by the block's first ID (its "master"
//! ID, as Redis's radix tree keys its listpacks), so a seek by ID is O(log n) plus a
//! scan of one block. A block holds up to `stream-node-max-entries` entries in one byte
//! buffer, with Redis's master-entry compression: the first entry's field names are
//! stored once, and a later entry with the same names stores only its values.
//!
//! ```text
//! block.data = varint n, n x bytes field            the master fields
//!              entry*                                then the entries, oldest first
//! entry      = u8 flags (1: deleted, 2: same fields)
//!              varint ms - master.ms
//!              varint seq (seq - master.seq when the ms are equal)
//!              [varint n, n x (bytes field, bytes value)]   unless same fields
//!              [master-n x bytes value]                     with same fields
//! bytes      = varint length, the bytes
//! ```
//!
//! Per two-field entry this is 3 bytes plus the values and one length byte each, where
//! Redis's listpack spends about 8 plus 2 per value. Deletion works as in Redis: XDEL
//! and exact trimming flag an entry deleted (a tombstone, skipped by readers) and a
//! block goes when its last live entry does; approximate trimming drops whole blocks.
//! Each block also tracks how big Redis's listpack for it would be, so blocks split where
//! Redis's nodes do, and `~` trimming removes exactly what Redis removes.

use std::collections::{BTreeMap, BTreeSet};

/// A stream entry ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    /// `0-0`.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// `18446744073709551615-18446744073709551615`.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// Whether this is `0-0`.
    pub fn is_zero(&self) -> bool {
        *self == StreamId::MIN
    }

    /// The next ID (Redis's `streamIncrID`), `None` after the last one.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                return None;
            }
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous ID (Redis's `streamDecrID`), `None` before `0-0`.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                return None;
            }
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// `<ms>-<seq>`.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        self.write_to(&mut out);
        out
    }

    /// Appends `<ms>-<seq>` to `out`.
    pub fn write_to(self, out: &mut Vec<u8>) {
        push_u64(out, self.ms);
        out.push(b'-');
        push_u64(out, self.seq);
    }

    /// Parses an ID argument as Redis's `streamGenericParseIDOrReply`: `-` and `+`
    /// (unless `strict`), `<ms>` (with `missing_seq`), `<ms>-<seq>`, and `<ms>-*` when
    /// `allow_auto_seq`. Returns the ID and whether the sequence was given.
    pub fn parse(
        arg: &[u8],
        missing_seq: u64,
        strict: bool,
        allow_auto_seq: bool,
    ) -> Option<(StreamId, bool)> {
        // Redis copies the argument into a C string: it stops at a NUL.
        if arg.len() > 127 {
            return None;
        }
        let arg = match arg.iter().position(|&b| b == 0) {
            Some(n) => &arg[..n],
            None => arg,
        };
        match arg {
            b"-" | b"+" if strict => return None,
            b"-" => return Some((StreamId::MIN, true)),
            b"+" => return Some((StreamId::MAX, true)),
            _ => {}
        }
        let (ms, seq) = match arg.iter().position(|&b| b == b'-') {
            Some(dash) => (&arg[..dash], Some(&arg[dash + 1..])),
            None => (arg, None),
        };
        let ms = string2ull(ms)?;
        match seq {
            Some(b"*") if allow_auto_seq => Some((StreamId::new(ms, 0), false)),
            Some(seq) => Some((StreamId::new(ms, string2ull(seq)?), true)),
            None => Some((StreamId::new(ms, missing_seq), true)),
        }
    }
}

fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Redis's `string2ull`: a canonical non-negative integer, or whatever `strtoull`
/// accepts whole (leading spaces, a sign, leading zeros; `-` wraps around).
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = crate::util::num::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    if i >= s.len() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &s[i..] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// One pending delivery of a consumer group (Redis's `streamNACK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    /// When it was last delivered, Unix ms.
    pub delivery_time: u64,
    pub delivery_count: u64,
    /// The consumer that owns it.
    pub consumer: Vec<u8>,
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Consumer {
    /// When it last read or claimed, Unix ms.
    pub seen_time: u64,
    /// The IDs it owns in the group's PEL.
    pub pel: BTreeSet<StreamId>,
}

/// A consumer group (Redis's `streamCG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub last_id: StreamId,
    /// The logical read counter; `None` when unknown (Redis's -1).
    pub entries_read: Option<u64>,
    /// Pending entries, of every consumer.
    pub pel: BTreeMap<StreamId, Nack>,
    /// Consumers by name (sorted, as Redis's radix tree lists them).
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Group {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Removes `id` from the PEL and from its owner's. Returns whether it was there.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(nack) => {
                if let Some(c) = self.consumers.get_mut(&nack.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }
}

const FLAG_DELETED: u8 = 1;
const FLAG_SAME_FIELDS: u8 = 2;

/// One node: a run of entries in one buffer (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    data: Vec<u8>,
    /// Where the entries start (after the master fields).
    entries_at: u32,
    /// Entries not deleted.
    live: u32,
    /// Entries flagged deleted.
    deleted: u32,
    /// The size Redis's listpack for this node would have, without its two counters.
    lp_rest: u64,
}

impl Block {
    fn lp_bytes(&self) -> u64 {
        self.lp_rest + lp_int_size(i64::from(self.live)) + lp_int_size(i64::from(self.deleted))
    }

    fn master_fields(&self) -> Vec<&[u8]> {
        let mut pos = 0;
        let n = varint(&self.data, &mut pos);
        (0..n).map(|_| bytes(&self.data, &mut pos)).collect()
    }

    /// Decodes the entry at `pos`: its header, and where the next one starts.
    fn entry_at(&self, master: StreamId, pos: usize, master_n: usize) -> RawEntry {
        let data = &self.data;
        let mut p = pos;
        let flags = data[p];
        p += 1;
        let ms_delta = varint(data, &mut p);
        let seq = varint(data, &mut p);
        let id = if ms_delta == 0 {
            StreamId::new(master.ms, master.seq.wrapping_add(seq))
        } else {
            StreamId::new(master.ms.wrapping_add(ms_delta), seq)
        };
        let same = flags & FLAG_SAME_FIELDS != 0;
        let fields_at = p;
        let n = if same {
            master_n
        } else {
            varint(data, &mut p) as usize
        };
        let words = if same { n } else { 2 * n };
        for _ in 0..words {
            let len = varint(data, &mut p) as usize;
            p += len;
        }
        RawEntry {
            id,
            flags,
            pos,
            fields_at,
            end: p,
        }
    }

    /// Every entry of the block, tombstones included, oldest first.
    fn raw_entries(&self, master: StreamId) -> Vec<RawEntry> {
        let master_n = self.master_count();
        let mut out = Vec::with_capacity((self.live + self.deleted) as usize);
        let mut pos = self.entries_at as usize;
        while pos < self.data.len() {
            let e = self.entry_at(master, pos, master_n);
            pos = e.end;
            out.push(e);
        }
        out
    }

    fn master_count(&self) -> usize {
        let mut pos = 0;
        varint(&self.data, &mut pos) as usize
    }
}

#[derive(Debug, Clone, Copy)]
struct RawEntry {
    id: StreamId,
    flags: u8,
    pos: usize,
    fields_at: usize,
    end: usize,
}

/// A borrowed view of one entry.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    pub id: StreamId,
    block: &'a Block,
    fields_at: usize,
    same: bool,
}

impl<'a> EntryRef<'a> {
    /// The number of field-value pairs.
    pub fn len(&self) -> usize {
        if self.same {
            self.block.master_count()
        } else {
            let mut p = self.fields_at;
            varint(&self.block.data, &mut p) as usize
        }
    }

    /// Whether it has no fields (never, for an entry XADD made).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The field-value pairs in order.
    pub fn fields(&self) -> Vec<(&'a [u8], &'a [u8])> {
        let data: &'a [u8] = &self.block.data;
        let mut p = self.fields_at;
        if self.same {
            let names = self.block.master_fields();
            names
                .into_iter()
                .map(|name| (name, bytes(data, &mut p)))
                .collect()
        } else {
            let n = varint(data, &mut p);
            (0..n)
                .map(|_| {
                    let f = bytes(data, &mut p);
                    (f, bytes(data, &mut p))
                })
                .collect()
        }
    }
}

/// One node of a stream, as [`Stream::for_each_node`] shows it.
#[derive(Debug)]
pub struct NodeView<'a> {
    /// The node's first ID (its key in Redis's radix tree).
    pub master: StreamId,
    /// The field names of the node's first entry.
    pub master_fields: Vec<&'a [u8]>,
    /// Entries not deleted.
    pub live: u32,
    /// Entries flagged deleted.
    pub deleted: u32,
    /// Every entry, oldest first.
    pub entries: Vec<NodeEntry<'a>>,
}

/// One entry of a [`NodeView`].
#[derive(Debug)]
pub struct NodeEntry<'a> {
    pub id: StreamId,
    /// A tombstone (XDEL).
    pub deleted: bool,
    /// Its field names are the master's (only the values are stored).
    pub same_fields: bool,
    pub fields: Vec<(&'a [u8], &'a [u8])>,
}

/// What a trim removes (Redis's `streamAddTrimArgs` without the ID part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimStrategy {
    MaxLen(u64),
    MinId(StreamId),
}

/// A trim request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trim {
    pub strategy: TrimStrategy,
    /// `~`: only whole nodes.
    pub approx: bool,
    /// The most entries to remove (0: no limit).
    pub limit: u64,
}

/// Node size limits: `stream-node-max-entries` and `stream-node-max-bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    pub entries: u64,
    pub bytes: u64,
}

impl Default for NodeLimits {
    fn default() -> NodeLimits {
        NodeLimits {
            entries: 100,
            bytes: 4096,
        }
    }
}

/// Redis's `STREAM_LISTPACK_MAX_SIZE`.
pub const LISTPACK_MAX_SIZE: u64 = 1 << 30;

/// A stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stream {
    blocks: BTreeMap<StreamId, Block>,
    len: u64,
    pub last_id: StreamId,
    /// The first live entry's ID (0-0 when empty), as Redis records it.
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    /// Consumer groups by name.
    pub groups: BTreeMap<Vec<u8>, Group>,
}

impl Stream {
    /// An estimate of the heap this stream holds: its nodes' buffers, and its groups'
    /// pending entries and consumers, with a B-tree's overhead on each map entry. Node
    /// buffers and pending entries are measured on `samples` of them.
    pub fn heap_bytes(&self, samples: usize) -> usize {
        use crate::store::memory::{alloc, sampled};
        use std::mem::size_of;
        // A std B-tree node holds up to 11 entries and is most of the time about
        // two-thirds full: each entry costs its key and value, and a share of a node.
        const fn in_btree(entry: usize) -> usize {
            entry * 3 / 2 + 8
        }
        let block = in_btree(size_of::<StreamId>() + size_of::<Block>());
        let buffers = self.blocks.values().map(|b| alloc(b.data.capacity()));
        let blocks = self.blocks.len() * block + sampled(self.blocks.len(), samples, buffers);
        let nack = in_btree(size_of::<StreamId>() + size_of::<Nack>());
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| {
                let owners = g.pel.values().map(|n| alloc(n.consumer.capacity()));
                let pel = g.pel.len() * nack + sampled(g.pel.len(), samples, owners);
                let consumers: usize = g
                    .consumers
                    .iter()
                    .map(|(name, c)| {
                        in_btree(size_of::<Vec<u8>>() + size_of::<Consumer>())
                            + alloc(name.capacity())
                            + c.pel.len() * in_btree(size_of::<StreamId>())
                    })
                    .sum();
                in_btree(size_of::<Vec<u8>>() + size_of::<Group>())
                    + alloc(name.capacity())
                    + pel
                    + consumers
            })
            .sum();
        blocks + groups
    }

    pub fn new() -> Stream {
        Stream::default()
    }

    /// The number of live entries.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of nodes (XINFO's `radix-tree-keys`).
    pub fn nodes(&self) -> usize {
        self.blocks.len()
    }

    /// Appends an entry with ID `id` (greater than `last_id`, checked by the caller)
    /// and `pairs` (field, value, field, value...).
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]], limits: NodeLimits) {
        let n = pairs.len() / 2;
        let total: u64 = pairs.iter().map(|p| p.len() as u64).sum();
        let mut new_node = true;
        // A new node is sized like the one before it: it then fills without reallocating,
        // and without the holes its growth would leave behind.
        let mut size_hint = 0;
        if let Some((_, last)) = self.blocks.iter_mut().next_back() {
            let max_bytes = if limits.bytes == 0 || limits.bytes > LISTPACK_MAX_SIZE {
                LISTPACK_MAX_SIZE
            } else {
                limits.bytes
            };
            new_node = last.lp_bytes() + total >= max_bytes
                || (limits.entries != 0
                    && u64::from(last.live) + u64::from(last.deleted) >= limits.entries);
            if new_node {
                // A sealed node gives back what it did not fill, in place.
                if last.data.capacity() > last.data.len() + last.data.len() / 8 {
                    last.data.shrink_to_fit();
                }
                size_hint = last.data.len() + last.data.len() / 8;
            }
        }
        if new_node {
            let mut data = Vec::with_capacity(size_hint);
            put_varint(&mut data, n as u64);
            let mut lp_rest = 6 + 1 + lp_int_size(n as i64) + lp_int_size(0);
            for i in 0..n {
                put_bytes(&mut data, pairs[2 * i]);
                lp_rest += lp_str_size(pairs[2 * i]);
            }
            let entries_at = data.len() as u32;
            self.blocks.insert(
                id,
                Block {
                    data,
                    entries_at,
                    live: 0,
                    deleted: 0,
                    lp_rest,
                },
            );
        }
        let (&master, block) = self.blocks.iter_mut().next_back().expect("a block");
        let same = {
            let mut pos = 0;
            let data = &block.data;
            varint(data, &mut pos) as usize == n
                && (0..n).all(|i| bytes(data, &mut pos) == pairs[2 * i])
        };
        let data = &mut block.data;
        data.push(if same { FLAG_SAME_FIELDS } else { 0 });
        let ms_delta = id.ms - master.ms;
        put_varint(data, ms_delta);
        put_varint(
            data,
            if ms_delta == 0 {
                id.seq - master.seq
            } else {
                id.seq
            },
        );
        let mut lp = lp_int_size(if same { 2 } else { 0 })
            + lp_int_size(ms_delta as i64)
            + lp_int_size(id.seq.wrapping_sub(master.seq) as i64);
        if !same {
            put_varint(data, n as u64);
            lp += lp_int_size(n as i64);
        }
        for i in 0..n {
            if !same {
                put_bytes(data, pairs[2 * i]);
                lp += lp_str_size(pairs[2 * i]);
            }
            put_bytes(data, pairs[2 * i + 1]);
            lp += lp_str_size(pairs[2 * i + 1]);
        }
        let lp_count = if same { n } else { 2 * n + 1 };
        lp += lp_int_size(lp_count as i64);
        block.lp_rest += lp;
        block.live += 1;
        self.len += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.len == 1 {
            self.first_id = id;
        }
    }

    /// Calls `f` with each live entry from `start` to `end` (inclusive), in order or
    /// reversed, until it returns false.
    pub fn range<'a>(
        &'a self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(EntryRef<'a>) -> bool,
    ) {
        if start > end {
            return;
        }
        let first_key = self
            .blocks
            .range(..=start)
            .next_back()
            .map_or(start, |(k, _)| *k);
        let blocks = self.blocks.range(first_key..=end);
        let mut visit = |master: StreamId, block: &'a Block, rev: bool| -> bool {
            let master_n = block.master_count();
            if !rev {
                let mut pos = block.entries_at as usize;
                while pos < block.data.len() {
                    let e = block.entry_at(master, pos, master_n);
                    pos = e.end;
                    if e.id > end {
                        return false;
                    }
                    if e.id < start || e.flags & FLAG_DELETED != 0 {
                        continue;
                    }
                    if !f(view(block, &e)) {
                        return false;
                    }
                }
            } else {
                for e in block.raw_entries(master).iter().rev() {
                    if e.id < start {
                        return false;
                    }
                    if e.id > end || e.flags & FLAG_DELETED != 0 {
                        continue;
                    }
                    if !f(view(block, e)) {
                        return false;
                    }
                }
            }
            true
        };
        if rev {
            for (master, block) in blocks.rev() {
                if !visit(*master, block, true) {
                    return;
                }
            }
        } else {
            for (master, block) in blocks {
                if !visit(*master, block, false) {
                    return;
                }
            }
        }
    }

    /// The entry with ID `id`, if it is live.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        let mut found = None;
        self.range(id, id, false, |e| {
            found = Some(e);
            false
        });
        found
    }

    /// Whether a live entry has ID `id`.
    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// The last live entry's ID (Redis's `streamLastValidID`), 0-0 if none.
    pub fn last_valid_id(&self) -> StreamId {
        self.edge(false, true).unwrap_or(StreamId::MIN)
    }

    /// The first (or last) entry's ID, tombstones skipped or not (Redis's
    /// `streamGetEdgeID`, which answers `None` where Redis gives max or min).
    pub fn edge(&self, first: bool, skip_tombstones: bool) -> Option<StreamId> {
        let pick = |(master, block): (&StreamId, &Block)| {
            let entries = block.raw_entries(*master);
            let ok = |e: &&RawEntry| !skip_tombstones || e.flags & FLAG_DELETED == 0;
            if first {
                entries.iter().find(ok).map(|e| e.id)
            } else {
                entries.iter().rev().find(ok).map(|e| e.id)
            }
        };
        if first {
            self.blocks.iter().find_map(pick)
        } else {
            self.blocks.iter().rev().find_map(pick)
        }
    }

    /// Deletes the live entry `id` (a tombstone; its node goes with its last live
    /// entry). Returns whether it was there. The caller updates `first_id` and
    /// `max_deleted_id`, as XDEL does.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, block)) = self.blocks.range_mut(..=id).next_back() else {
            return false;
        };
        let Some(e) = block
            .raw_entries(master)
            .into_iter()
            .find(|e| e.id == id && e.flags & FLAG_DELETED == 0)
        else {
            return false;
        };
        block.data[e.pos] |= FLAG_DELETED;
        block.live -= 1;
        block.deleted += 1;
        if block.live == 0 {
            self.blocks.remove(&master);
        }
        self.len -= 1;
        true
    }

    /// After deletions: `first_id` as Redis recomputes it.
    pub fn refresh_first_id(&mut self) {
        self.first_id = if self.len == 0 {
            StreamId::MIN
        } else {
            self.edge(true, true).unwrap_or(StreamId::MAX)
        };
    }

    /// Trims as Redis's `streamTrim`; returns the number of entries removed.
    pub fn trim(&mut self, trim: Trim) -> u64 {
        let mut deleted = 0u64;
        while let Some((&master, block)) = self.blocks.iter_mut().next() {
            if let TrimStrategy::MaxLen(max) = trim.strategy {
                if self.len <= max {
                    break;
                }
            }
            let entries = u64::from(block.live);
            if trim.limit != 0 && deleted + entries > trim.limit {
                break;
            }
            let raw = block.raw_entries(master);
            let remove_node = match trim.strategy {
                TrimStrategy::MaxLen(max) => self.len - entries >= max,
                TrimStrategy::MinId(min) => raw.last().is_some_and(|e| e.id < min),
            };
            if remove_node {
                self.blocks.remove(&master);
                self.len -= entries;
                deleted += entries;
                continue;
            }
            if trim.approx {
                break;
            }
            let mut from_node = 0u32;
            for e in &raw {
                let stop = match trim.strategy {
                    TrimStrategy::MaxLen(max) => self.len <= max,
                    TrimStrategy::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if e.flags & FLAG_DELETED == 0 {
                    block.data[e.pos] |= FLAG_DELETED;
                    from_node += 1;
                    self.len -= 1;
                }
            }
            block.live -= from_node;
            block.deleted += from_node;
            deleted += u64::from(from_node);
            break;
        }
        if self.len == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge(true, true).unwrap_or(StreamId::MAX);
        }
        deleted
    }

    /// Redis's `streamRangeHasTombstones` from `start` to the end.
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.len == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id
    }

    /// Redis's `streamEstimateDistanceFromFirstEverEntry`: `None` when unknown.
    pub fn estimate_distance(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.len == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return Some(self.entries_added - self.len),
                std::cmp::Ordering::Equal => return Some(self.entries_added - self.len + 1),
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// A group's lag, as `streamReplyWithCGLag` computes it (`None`: unknown).
    pub fn lag(&self, group: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = group.entries_read {
            if !self.has_tombstones_from(group.last_id) {
                return Some(self.entries_added.wrapping_sub(read));
            }
        }
        self.estimate_distance(group.last_id)
            .map(|read| self.entries_added.wrapping_sub(read))
    }

    /// Every live entry in order, for the dump and the AOF rewrite.
    pub fn for_each(&self, mut f: impl FnMut(EntryRef<'_>)) {
        self.range(StreamId::MIN, StreamId::MAX, false, |e| {
            f(e);
            true
        });
    }

    /// Every node as Redis's listpack lays it out, tombstones included (for the RDB
    /// writer, which writes each node as Redis does).
    pub fn for_each_node(&self, mut f: impl FnMut(NodeView<'_>)) {
        for (&master, block) in &self.blocks {
            let entries = block
                .raw_entries(master)
                .iter()
                .map(|raw| NodeEntry {
                    id: raw.id,
                    deleted: raw.flags & FLAG_DELETED != 0,
                    same_fields: raw.flags & FLAG_SAME_FIELDS != 0,
                    fields: view(block, raw).fields(),
                })
                .collect();
            f(NodeView {
                master,
                master_fields: block.master_fields(),
                live: block.live,
                deleted: block.deleted,
                entries,
            });
        }
    }

    /// Bytes held by the entries' buffers (for tests and estimates).
    pub fn data_bytes(&self) -> usize {
        self.blocks.values().map(|b| b.data.capacity()).sum()
    }
}

fn view<'a>(block: &'a Block, e: &RawEntry) -> EntryRef<'a> {
    EntryRef {
        id: e.id,
        block,
        fields_at: e.fields_at,
        same: e.flags & FLAG_SAME_FIELDS != 0,
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn varint(data: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = data[*pos];
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return v;
        }
        shift += 7;
    }
}

fn bytes<'a>(data: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let n = varint(data, pos) as usize;
    let s = &data[*pos..*pos + n];
    *pos += n;
    s
}

/// The size of a listpack back-length for an element of `l` bytes.
fn lp_backlen(l: u64) -> u64 {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The bytes a listpack integer element takes, back-length included.
fn lp_int_size(v: i64) -> u64 {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    };
    enc + lp_backlen(enc)
}

/// The bytes a listpack element holding `s` takes (an integer if `s` is one).
fn lp_str_size(s: &[u8]) -> u64 {
    if s.len() <= 20 {
        if let Some(v) = crate::util::num::parse_i64(s) {
            return lp_int_size(v);
        }
    }
    let len = s.len() as u64;
    let enc = if len < 64 {
        1 + len
    } else if len < 4096 {
        2 + len
    } else {
        5 + len
    };
    enc + lp_backlen(enc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(s: &mut Stream, ms: u64, seq: u64, pairs: &[&str]) {
        let pairs: Vec<&[u8]> = pairs.iter().map(|p| p.as_bytes()).collect();
        s.append(StreamId::new(ms, seq), &pairs, NodeLimits::default());
    }

    fn ids(s: &Stream, start: StreamId, end: StreamId, rev: bool) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        s.range(start, end, rev, |e| {
            out.push((e.id.ms, e.id.seq));
            true
        });
        out
    }

    #[test]
    fn parse_ids_as_redis() {
        let p = |s: &str| StreamId::parse(s.as_bytes(), 0, false, false).map(|x| x.0);
        assert_eq!(p("5"), Some(StreamId::new(5, 0)));
        assert_eq!(p("5-3"), Some(StreamId::new(5, 3)));
        assert_eq!(p("-"), Some(StreamId::MIN));
        assert_eq!(p("+"), Some(StreamId::MAX));
        assert_eq!(p("abc"), None);
        assert_eq!(p("5-"), None);
        assert_eq!(p("-5"), None);
        assert_eq!(p("05-1"), Some(StreamId::new(5, 1)));
        assert_eq!(p("18446744073709551616"), None);
        assert_eq!(StreamId::parse(b"-", 0, true, false), None);
        assert_eq!(
            StreamId::parse(b"7-*", 0, true, true),
            Some((StreamId::new(7, 0), false))
        );
        assert_eq!(StreamId::parse(b"7-*", 0, true, false), None);
    }

    #[test]
    fn append_range_and_reverse_across_blocks() {
        let mut s = Stream::new();
        for i in 0..250u64 {
            if i % 7 == 0 {
                add(&mut s, i, 1, &["other", "x", "more", "y"]);
            } else {
                add(&mut s, i, 1, &["f", &i.to_string()]);
            }
        }
        assert_eq!(s.len(), 250);
        assert_eq!(s.nodes(), 3);
        let all = ids(&s, StreamId::MIN, StreamId::MAX, false);
        assert_eq!(all.len(), 250);
        let back = ids(&s, StreamId::MIN, StreamId::MAX, true);
        assert_eq!(back.iter().rev().cloned().collect::<Vec<_>>(), all);
        assert_eq!(
            ids(&s, StreamId::new(99, 0), StreamId::new(101, 1), false),
            vec![(99, 1), (100, 1), (101, 1)]
        );
        let e = s.get(StreamId::new(14, 1)).unwrap();
        assert_eq!(
            e.fields(),
            vec![(&b"other"[..], &b"x"[..]), (b"more", b"y")]
        );
        let e = s.get(StreamId::new(15, 1)).unwrap();
        assert_eq!(e.fields(), vec![(&b"f"[..], &b"15"[..])]);
    }

    #[test]
    fn delete_and_trim_as_redis() {
        let mut s = Stream::new();
        for i in 1..=250u64 {
            add(&mut s, i, 0, &["f", "v"]);
        }
        assert!(s.delete(StreamId::new(1, 0)));
        assert!(!s.delete(StreamId::new(1, 0)));
        s.refresh_first_id();
        assert_eq!(s.first_id, StreamId::new(2, 0));
        // Approximate: only whole nodes (the first holds 99 live entries).
        let approx = |n| Trim {
            strategy: TrimStrategy::MaxLen(n),
            approx: true,
            limit: 10_000,
        };
        assert_eq!(s.trim(approx(200)), 0);
        assert_eq!(s.trim(approx(150)), 99);
        assert_eq!(s.len(), 150);
        let exact = Trim {
            strategy: TrimStrategy::MaxLen(10),
            approx: false,
            limit: 0,
        };
        assert_eq!(s.trim(exact), 140);
        assert_eq!(s.first_id, StreamId::new(241, 0));
        assert_eq!(s.edge(true, false), Some(StreamId::new(201, 0)));
        let minid = Trim {
            strategy: TrimStrategy::MinId(StreamId::new(245, 0)),
            approx: false,
            limit: 0,
        };
        assert_eq!(s.trim(minid), 4);
        assert_eq!(s.len(), 6);
    }

    #[test]
    fn listpack_sizes() {
        assert_eq!(lp_int_size(5), 2);
        assert_eq!(lp_int_size(-1), 3);
        assert_eq!(lp_int_size(1 << 40), 10);
        assert_eq!(lp_str_size(b"abc"), 5);
        assert_eq!(lp_str_size(b"123"), 2);
        assert_eq!(lp_str_size(&[b'x'; 100]), 103);
        assert_eq!(lp_str_size(&[b'x'; 200]), 204);
    }
}
