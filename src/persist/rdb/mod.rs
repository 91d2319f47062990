//! Redis's RDB format (version 10, as Redis 7.0 writes it; versions 1 to 10 read):
//! whole files ([`read`], [`Writer`]) and the DUMP/RESTORE payload ([`dump_payload`],
//! [`restore_payload`]).
//!
//! ```text
//! file    = "REDIS" 4-digit version, (AUX name value)*, FUNCTION2 code*,
//!           (SELECTDB n, RESIZEDB keys expires, ([EXPIRETIME_MS t] type key value)*)*,
//!           EOF, u64 CRC-64 (version >= 5; 0 when rdbchecksum is off)
//! payload = type value, u16 RDB version, u64 CRC-64 of what precedes it
//! ```
//!
//! Lengths use RDB's length encoding (6, 14, 32 or 64 bits, or a special string
//! encoding); strings are raw, integers (8, 16 or 32 bits) or LZF-compressed ([`lzf`]).
//! Values keep Redis's compact blobs: [`listpack`], [`intset`], and for older files
//! [`ziplist`] and [`zipmap`].
//!
//! The reader always validates as `sanitize-dump-payload yes` does: every blob is
//! checked entry by entry, duplicates are refused, and a corrupt input is an error, never
//! a panic. The writer encodes each value as Redis 7.0 does for the same encoding, so
//! DUMP gives Redis's bytes (for sets and hashes in hashtable encoding the order is the
//! table's, which differs from Redis's random one).

pub mod intset;
pub mod listpack;
pub mod lzf;
pub mod ziplist;
pub mod zipmap;

use crate::store::List;
use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

use super::crc64::crc64;
use super::dump::LoadStats;
use crate::store::clock::Saved;
use crate::store::hash::Hash;
use crate::store::set::Set;
use crate::store::stream::{Group, Nack, Stream, StreamId};
use crate::store::value::{Limits, Value, ValueRef};
use crate::store::zset::ZSet;
use listpack::Item;

/// The RDB version Redis 7.0 writes and the newest it reads.
pub const RDB_VERSION: u16 = 10;

/// What Redis 7.0 reports as its version in the `redis-ver` AUX field.
pub const REDIS_VERSION: &str = "7.0.15";

const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_MODULE: u8 = 6;
const TYPE_MODULE_2: u8 = 7;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;

const OP_FUNCTION2: u8 = 245;
const OP_FUNCTION: u8 = 246;
const OP_MODULE_AUX: u8 = 247;
const OP_IDLE: u8 = 248;
const OP_FREQ: u8 = 249;
const OP_AUX: u8 = 250;
const OP_RESIZEDB: u8 = 251;
const OP_EXPIRETIME_MS: u8 = 252;
const OP_EXPIRETIME: u8 = 253;
const OP_SELECTDB: u8 = 254;
const OP_EOF: u8 = 255;

/// Special string encodings (a length whose top two bits are 11).
const ENC_INT8: u64 = 0;
const ENC_INT16: u64 = 1;
const ENC_INT32: u64 = 2;
const ENC_LZF: u64 = 3;

/// Quicklist node containers (`RDB_TYPE_LIST_QUICKLIST_2`).
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

/// Redis's `SIZE_SAFETY_LIMIT` and `optimization_level` for list nodes.
const NODE_SAFETY_LIMIT: usize = 8192;
const NODE_SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// A file or payload that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError {
    kind: RdbErrorKind,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RdbErrorKind {
    /// The input ends early.
    Truncated,
    /// The bytes make no sense (the message says where and why).
    Corrupt(String),
    /// Valid RDB that redlite cannot hold (module data, an unknown version).
    Unsupported(String),
    /// The CRC at the end does not match.
    Checksum { expected: u64, found: u64 },
}

impl RdbError {
    /// What went wrong.
    pub fn kind(&self) -> &RdbErrorKind {
        &self.kind
    }

    fn corrupt(msg: impl Into<String>) -> RdbError {
        RdbError {
            kind: RdbErrorKind::Corrupt(msg.into()),
        }
    }

    fn unsupported(msg: impl Into<String>) -> RdbError {
        RdbError {
            kind: RdbErrorKind::Unsupported(msg.into()),
        }
    }

    fn truncated() -> RdbError {
        RdbError {
            kind: RdbErrorKind::Truncated,
        }
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RdbErrorKind::Truncated => write!(
                f,
                "Short read or OOM loading DB. Unrecoverable error, aborting now."
            ),
            RdbErrorKind::Corrupt(m) => write!(f, "Internal error in RDB reading: {m}"),
            RdbErrorKind::Unsupported(m) => write!(f, "{m}"),
            RdbErrorKind::Checksum { expected, found } => {
                write!(
                    f,
                    "Wrong RDB checksum expected: ({expected:x}) got: ({found:x}). Aborting now."
                )
            }
        }
    }
}

impl std::error::Error for RdbError {}

type Result<T> = std::result::Result<T, RdbError>;

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/// How values are encoded, from the config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// `rdbcompression`: LZF for strings over 20 bytes.
    pub compression: bool,
    /// `rdbchecksum`: a CRC-64 at the end of a file (else 0).
    pub checksum: bool,
    /// `list-max-listpack-size`: how list nodes are filled.
    pub list_fill: i64,
    /// Under an LRU or LFU policy, how keys' clocks are kept: each key is saved with its
    /// idle time (`IDLE`) or its counter (`FREQ`), as Redis saves them.
    pub clocks: Option<crate::store::clock::Clock>,
}

impl Default for Options {
    /// Redis 7.0's defaults.
    fn default() -> Options {
        Options {
            compression: true,
            checksum: true,
            list_fill: -2,
            clocks: None,
        }
    }
}

/// Appends an RDB length.
pub fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Writes an RDB length (as [`put_len`]) at the start of `to`; returns its size.
fn len_bytes(n: u64, to: &mut [u8]) -> usize {
    if n < 1 << 6 {
        to[0] = n as u8;
        1
    } else if n < 1 << 14 {
        to[0] = 0x40 | (n >> 8) as u8;
        to[1] = n as u8;
        2
    } else if n <= u64::from(u32::MAX) {
        to[0] = 0x80;
        to[1..5].copy_from_slice(&(n as u32).to_be_bytes());
        5
    } else {
        to[0] = 0x81;
        to[1..9].copy_from_slice(&n.to_be_bytes());
        9
    }
}

/// Appends a string as `rdbSaveRawString` does: an integer encoding for a short
/// canonical integer within 32 bits, LZF for one over 20 bytes that shrinks by more
/// than 4, else raw.
pub fn put_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = listpack::canonical_int(s) {
            if put_int_encoded(out, v) {
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        // Compressed in place after the header's room, then the header goes in front
        // (its size depends on the compressed length): no buffer of its own.
        let at = out.len();
        if lzf::compress_into(s, s.len() - 4, out) {
            let clen = out.len() - at;
            let mut head = [0u8; 1 + 9 + 9];
            head[0] = 0xc0 | ENC_LZF as u8;
            let mut n = 1;
            n += len_bytes(clen as u64, &mut head[n..]);
            n += len_bytes(s.len() as u64, &mut head[n..]);
            out.splice(at..at, head[..n].iter().copied());
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Appends `v` in the 8, 16 or 32-bit string encoding; false if it needs more.
fn put_int_encoded(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(b) = i8::try_from(v) {
        out.push(0xc0 | ENC_INT8 as u8);
        out.push(b as u8);
    } else if let Ok(h) = i16::try_from(v) {
        out.push(0xc0 | ENC_INT16 as u8);
        out.extend_from_slice(&h.to_le_bytes());
    } else if let Ok(w) = i32::try_from(v) {
        out.push(0xc0 | ENC_INT32 as u8);
        out.extend_from_slice(&w.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// A score as a listpack sorted set stores it (Redis's `d2string`): integers in decimal,
/// others as `%.17g`.
pub fn score_string(d: f64) -> Vec<u8> {
    if d.is_nan() {
        b"nan".to_vec()
    } else if d.is_infinite() {
        if d < 0.0 {
            b"-inf".to_vec()
        } else {
            b"inf".to_vec()
        }
    } else if d == 0.0 {
        if d.is_sign_negative() {
            b"-0".to_vec()
        } else {
            b"0".to_vec()
        }
    } else {
        let limit = (i64::MAX / 2) as f64;
        if (-limit..=limit).contains(&d) && (d as i64) as f64 == d {
            (d as i64).to_string().into_bytes()
        } else {
            crate::util::num::format_double(d)
        }
    }
}

/// A 128-bit stream ID, big-endian (the radix tree's key).
fn put_raw_id(out: &mut Vec<u8>, id: StreamId) {
    out.extend_from_slice(&id.ms.to_be_bytes());
    out.extend_from_slice(&id.seq.to_be_bytes());
}

/// Appends the type byte and the value, as `rdbSaveObjectType` and `rdbSaveObject` do.
pub fn put_object(out: &mut Vec<u8>, v: ValueRef<'_>, opts: &Options) {
    let z = opts.compression;
    match v {
        ValueRef::Str(s) => {
            out.push(TYPE_STRING);
            put_string(out, s, z);
        }
        ValueRef::List(l) => {
            out.push(TYPE_LIST_QUICKLIST_2);
            let nodes = list_nodes(l, opts.list_fill);
            put_len(out, nodes.len() as u64);
            for node in nodes {
                match node {
                    Node::Packed(lp) => {
                        put_len(out, CONTAINER_PACKED);
                        put_string(out, &lp.finish(), z);
                    }
                    Node::Plain(element) => {
                        put_len(out, CONTAINER_PLAIN);
                        put_string(out, element, z);
                    }
                }
            }
        }
        ValueRef::Set(s) if s.encoding() == "intset" => {
            out.push(TYPE_SET_INTSET);
            let mut ints: Vec<i64> = s
                .iter()
                .map(|m| crate::util::num::parse_i64(&m).unwrap_or_default())
                .collect();
            put_string(out, &intset::encode(&mut ints), z);
        }
        ValueRef::Set(s) => {
            out.push(TYPE_SET);
            put_len(out, s.len() as u64);
            for m in s.iter() {
                put_string(out, &m, z);
            }
        }
        ValueRef::Hash(h) if h.encoding() == "listpack" => {
            out.push(TYPE_HASH_LISTPACK);
            let mut lp = listpack::Builder::new();
            for (f, v) in h.iter() {
                lp.push(f);
                lp.push(v);
            }
            put_string(out, &lp.finish(), z);
        }
        ValueRef::Hash(h) => {
            out.push(TYPE_HASH);
            put_len(out, h.len() as u64);
            for (f, v) in h.iter() {
                put_string(out, f, z);
                put_string(out, v, z);
            }
        }
        ValueRef::ZSet(zs) if zs.is_listpack() => {
            out.push(TYPE_ZSET_LISTPACK);
            let mut lp = listpack::Builder::new();
            for (m, score) in zs.iter() {
                lp.push(m);
                lp.push(&score_string(score));
            }
            put_string(out, &lp.finish(), z);
        }
        ValueRef::ZSet(zs) => {
            out.push(TYPE_ZSET_2);
            put_len(out, zs.len() as u64);
            // Highest first, as Redis walks its skiplist from the tail.
            for (m, score) in zs.iter_ranks(0..zs.len(), true) {
                put_string(out, m, z);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
        ValueRef::Stream(s) => {
            out.push(TYPE_STREAM_LISTPACKS_2);
            put_stream(out, s, z);
        }
    }
}

/// A quicklist node as RDB writes it.
enum Node<'a> {
    /// A listpack of elements.
    Packed(listpack::Builder),
    /// One element at least the packed threshold long, alone.
    Plain(&'a [u8]),
}

/// Splits a list into quicklist nodes as pushing its elements one by one at the tail
/// does (`_quicklistNodeAllowInsert` under `list-max-listpack-size`; an element past
/// the packed threshold in a plain node of its own, after which a new node starts).
fn list_nodes(l: &List, fill: i64) -> Vec<Node<'_>> {
    let fill = fill.clamp(-5, (1 << 15) - 1);
    let threshold = crate::store::list::packed_threshold();
    let mut nodes: Vec<Node> = Vec::new();
    for e in l {
        if e.len() >= threshold {
            nodes.push(Node::Plain(e));
            continue;
        }
        let fits = matches!(nodes.last(), Some(Node::Packed(node)) if {
            let new_sz = node.bytes() + e.len() + 8;
            if fill < 0 && new_sz <= NODE_SIZE_LEVELS[(-fill - 1) as usize] {
                true
            } else if new_sz > NODE_SAFETY_LIMIT {
                false
            } else {
                (node.len() as i64) < fill
            }
        });
        if !fits {
            nodes.push(Node::Packed(listpack::Builder::new()));
        }
        if let Some(Node::Packed(node)) = nodes.last_mut() {
            node.push(e);
        }
    }
    nodes
}

/// A stream as `RDB_TYPE_STREAM_LISTPACKS_2`: each node's listpack laid out as
/// t_stream.c builds it, then the metadata and the consumer groups.
fn put_stream(out: &mut Vec<u8>, s: &Stream, z: bool) {
    put_len(out, s.nodes() as u64);
    s.for_each_node(|node| {
        let mut key = Vec::with_capacity(16);
        put_raw_id(&mut key, node.master);
        put_string(out, &key, z);
        let mut lp = listpack::Builder::new();
        lp.push_int(i64::from(node.live));
        lp.push_int(i64::from(node.deleted));
        lp.push_int(node.master_fields.len() as i64);
        for f in &node.master_fields {
            lp.push(f);
        }
        lp.push_int(0);
        for e in &node.entries {
            let flags = i64::from(e.deleted) | (i64::from(e.same_fields) << 1);
            lp.push_int(flags);
            lp.push_int(e.id.ms.wrapping_sub(node.master.ms) as i64);
            lp.push_int(e.id.seq.wrapping_sub(node.master.seq) as i64);
            let n = e.fields.len() as i64;
            if e.same_fields {
                for (_, v) in &e.fields {
                    lp.push(v);
                }
                lp.push_int(n + 3);
            } else {
                lp.push_int(n);
                for (f, v) in &e.fields {
                    lp.push(f);
                    lp.push(v);
                }
                lp.push_int(2 * n + 4);
            }
        }
        put_string(out, &lp.finish(), z);
    });
    put_len(out, s.len());
    for id in [s.last_id, s.first_id, s.max_deleted_id] {
        put_len(out, id.ms);
        put_len(out, id.seq);
    }
    put_len(out, s.entries_added);
    put_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        put_string(out, name, z);
        put_len(out, g.last_id.ms);
        put_len(out, g.last_id.seq);
        put_len(out, g.entries_read.unwrap_or(u64::MAX));
        put_len(out, g.pel.len() as u64);
        for (id, nack) in &g.pel {
            put_raw_id(out, *id);
            out.extend_from_slice(&nack.delivery_time.to_le_bytes());
            put_len(out, nack.delivery_count);
        }
        put_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            put_string(out, cname, z);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            put_len(out, c.pel.len() as u64);
            for id in &c.pel {
                put_raw_id(out, *id);
            }
        }
    }
}

/// DUMP's payload: the object, the RDB version, the CRC-64 of both.
pub fn dump_payload(v: ValueRef<'_>, opts: &Options) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    put_object(&mut out, v, opts);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

// ---------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------

/// A read position in a buffer.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8]) -> Cursor<'a> {
        Cursor { data, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(RdbError::truncated());
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u64_le(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }

    /// A length, and whether it is a special string encoding.
    fn len_enc(&mut self) -> Result<(u64, bool)> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => (u64::from(first & 0x3f), false),
            1 => (
                (u64::from(first & 0x3f) << 8) | u64::from(self.u8()?),
                false,
            ),
            2 => match first {
                0x80 => (
                    u64::from(u32::from_be_bytes(self.take(4)?.try_into().expect("4"))),
                    false,
                ),
                0x81 => (
                    u64::from_be_bytes(self.take(8)?.try_into().expect("8")),
                    false,
                ),
                _ => {
                    return Err(RdbError::corrupt(format!(
                        "Unknown length encoding {first} in rdbLoadLen()"
                    )))
                }
            },
            _ => (u64::from(first & 0x3f), true),
        })
    }

    /// A plain length.
    fn len(&mut self) -> Result<u64> {
        match self.len_enc()? {
            (n, false) => Ok(n),
            _ => Err(RdbError::corrupt(
                "a string encoding where a length belongs",
            )),
        }
    }

    /// A count of items each taking at least `min_bytes`: refused if the rest of the
    /// input could not hold them (so no table is sized from a damaged count).
    fn count(&mut self, min_bytes: usize) -> Result<usize> {
        let n = self.len()?;
        if n > (self.remaining() / min_bytes.max(1)) as u64 {
            return Err(RdbError::truncated());
        }
        Ok(n as usize)
    }

    /// A string in any encoding.
    fn string(&mut self) -> Result<Vec<u8>> {
        self.string_ref().map(Cow::into_owned)
    }

    /// A string in any encoding, borrowed from the input when it is stored raw (keys
    /// usually are: loading then copies each key once, into its entry).
    fn string_ref(&mut self) -> Result<Cow<'a, [u8]>> {
        let (n, special) = self.len_enc()?;
        if !special {
            let n = usize::try_from(n).map_err(|_| RdbError::truncated())?;
            return Ok(Cow::Borrowed(self.take(n)?));
        }
        self.special_string(n, 0).map(Cow::Owned)
    }

    /// A string value to be stored under `key`: its buffer has room for the key in
    /// front (see `Entry`), so the keyspace takes it without a copy.
    fn string_value(&mut self, key: &[u8]) -> Result<Vec<u8>> {
        let room = crate::store::str_key_room(key);
        let (n, special) = self.len_enc()?;
        if !special {
            let n = usize::try_from(n).map_err(|_| RdbError::truncated())?;
            let bytes = self.take(n)?;
            let mut out = Vec::with_capacity(n + room);
            out.extend_from_slice(bytes);
            return Ok(out);
        }
        self.special_string(n, room)
    }

    /// A string in the special encoding `n` (an integer, or LZF), with `room` spare
    /// bytes of capacity.
    fn special_string(&mut self, n: u64, room: usize) -> Result<Vec<u8>> {
        match n {
            ENC_INT8 => Ok((self.u8()? as i8).to_string().into_bytes()),
            ENC_INT16 => Ok(i16::from_le_bytes(self.take(2)?.try_into().expect("2"))
                .to_string()
                .into_bytes()),
            ENC_INT32 => Ok(i32::from_le_bytes(self.take(4)?.try_into().expect("4"))
                .to_string()
                .into_bytes()),
            ENC_LZF => {
                let clen = self.len()?;
                let len = self.len()?;
                let clen = usize::try_from(clen).map_err(|_| RdbError::truncated())?;
                let compressed = self.take(clen)?;
                // A byte of LZF expands to at most a few hundred; a bigger claim is
                // corrupt, and would otherwise size a huge buffer.
                if len == 0 || len > (clen as u64).saturating_mul(300) {
                    return Err(RdbError::corrupt("Invalid LZF compressed string"));
                }
                let mut out = Vec::with_capacity(len as usize + room);
                if !lzf::decompress_into(compressed, len as usize, &mut out) {
                    return Err(RdbError::corrupt("Invalid LZF compressed string"));
                }
                Ok(out)
            }
            _ => Err(RdbError::corrupt(format!(
                "Unknown RDB string encoding type {n}"
            ))),
        }
    }

    /// A double in the old text form (`RDB_TYPE_ZSET`).
    fn text_double(&mut self) -> Result<f64> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let s = self.take(usize::from(n))?;
                crate::util::num::parse_double(s)
                    .or_else(|| std::str::from_utf8(s).ok()?.parse().ok())
                    .ok_or_else(|| RdbError::corrupt("bad double value"))
            }
        }
    }

    fn raw_id(&mut self) -> Result<StreamId> {
        let b = self.take(16)?;
        Ok(StreamId::new(
            u64::from_be_bytes(b[..8].try_into().expect("8")),
            u64::from_be_bytes(b[8..].try_into().expect("8")),
        ))
    }
}

fn bad(msg: &str) -> RdbError {
    RdbError::corrupt(msg.to_string())
}

/// Whether `t` is a value type byte Redis 7.0 knows.
fn is_object_type(t: u8) -> bool {
    matches!(t, 0..=7 | 9..=19)
}

/// Reads a value of type `t`, to be stored under `key` (a compact value is built with
/// the key in its buffer, where the keyspace keeps it). `None`: a valid but empty
/// collection, which Redis skips when loading a file and refuses in RESTORE.
fn read_object(c: &mut Cursor<'_>, t: u8, key: &[u8], limits: &Limits) -> Result<Option<Value>> {
    let value = match t {
        TYPE_STRING => Value::Str(c.string_value(key)?),
        TYPE_LIST => {
            let n = c.count(1)?;
            let mut l = List::new();
            for _ in 0..n {
                l.push_back(c.string_ref()?);
            }
            Value::List(l)
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let n = c.count(1)?;
            let mut l = List::new();
            for _ in 0..n {
                let container = if t == TYPE_LIST_QUICKLIST_2 {
                    c.len()?
                } else {
                    CONTAINER_PACKED
                };
                let blob = c.string_ref()?;
                match container {
                    CONTAINER_PLAIN => l.push_back(blob),
                    CONTAINER_PACKED => {
                        let items = if t == TYPE_LIST_QUICKLIST {
                            ziplist::parse(&blob).map_err(bad)?
                        } else {
                            listpack::parse(&blob).map_err(bad)?
                        };
                        // An empty ziplist node is corrupt; an empty listpack node is
                        // skipped (as Redis 7.0 does).
                        if items.is_empty() && t == TYPE_LIST_QUICKLIST {
                            return Err(bad("Ziplist integrity check failed."));
                        }
                        items.iter().for_each(|item| l.push_back(item.bytes()));
                    }
                    _ => {
                        return Err(RdbError::corrupt(format!(
                            "Quicklist integrity check failed: unknown container {container}"
                        )))
                    }
                }
            }
            Value::List(l)
        }
        TYPE_LIST_ZIPLIST => {
            let blob = c.string_ref()?;
            let items = ziplist::parse(&blob).map_err(bad)?;
            Value::List(items.iter().map(Item::bytes).collect())
        }
        TYPE_SET => {
            let n = c.count(1)?;
            let mut s = Set::new();
            let mut sized = false;
            for _ in 0..n {
                let m = c.string_ref()?;
                if !s.insert(&m, limits) {
                    return Err(bad("Duplicate set members detected"));
                }
                if !sized && s.encoding() == "hashtable" {
                    // Sized once for all of them when it turns into a table, as Redis
                    // expands its dict to the count the file gives.
                    s.reserve(n);
                    sized = true;
                }
            }
            Value::Set(s)
        }
        TYPE_SET_INTSET => {
            let blob = c.string_ref()?;
            let ints = intset::parse(&blob).map_err(bad)?;
            let mut s = Set::new();
            for v in ints {
                s.insert(v.to_string().as_bytes(), limits);
            }
            Value::Set(s)
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = c.count(if t == TYPE_ZSET { 2 } else { 9 })?;
            let mut z = ZSet::new();
            for _ in 0..n {
                let m = c.string_ref()?;
                let score = if t == TYPE_ZSET_2 {
                    f64::from_bits(c.u64_le()?)
                } else {
                    c.text_double()?
                };
                if score.is_nan() {
                    return Err(bad("Zset with NAN score detected"));
                }
                if !z.insert(&m, score, limits) {
                    return Err(bad("Duplicate zset fields detected"));
                }
            }
            Value::ZSet(z)
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let blob = c.string_ref()?;
            let items = if t == TYPE_ZSET_ZIPLIST {
                ziplist::parse(&blob).map_err(bad)?
            } else {
                listpack::parse(&blob).map_err(bad)?
            };
            let corrupt = || bad("Zset listpack integrity check failed.");
            if items.len() % 2 != 0 {
                return Err(corrupt());
            }
            let mut pairs = Vec::with_capacity(items.len() / 2);
            for pair in items.chunks_exact(2) {
                let score = match &pair[1] {
                    Item::Int(v) => *v as f64,
                    Item::Str(s) => crate::util::num::parse_double(s).ok_or_else(corrupt)?,
                };
                if score.is_nan() {
                    return Err(corrupt());
                }
                pairs.push((pair[0].bytes(), score));
            }
            Value::ZSet(ZSet::from_pairs(key, &pairs, limits).ok_or_else(corrupt)?)
        }
        TYPE_HASH => {
            let n = c.count(2)?;
            let mut h = Hash::new();
            for _ in 0..n {
                let f = c.string_ref()?;
                let v = c.string_ref()?;
                if !h.insert(&f, &v, limits) {
                    return Err(bad("Duplicate hash fields detected"));
                }
            }
            Value::Hash(h)
        }
        TYPE_HASH_ZIPMAP => {
            let blob = c.string_ref()?;
            let pairs = zipmap::parse(&blob).map_err(bad)?;
            let mut h = Hash::new();
            for (f, v) in pairs {
                if !h.insert(f, v, limits) {
                    return Err(bad("Zipmap integrity check failed."));
                }
            }
            Value::Hash(h)
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let blob = c.string_ref()?;
            let items = if t == TYPE_HASH_ZIPLIST {
                ziplist::parse(&blob).map_err(bad)?
            } else {
                listpack::parse(&blob).map_err(bad)?
            };
            let strs: Vec<_> = items.iter().map(Item::bytes).collect();
            Value::Hash(
                Hash::from_flat(key, &strs, limits)
                    .ok_or_else(|| bad("Hash listpack integrity check failed."))?,
            )
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => Value::Stream(Box::new(read_stream(
            c,
            t == TYPE_STREAM_LISTPACKS_2,
            limits,
        )?)),
        TYPE_MODULE | TYPE_MODULE_2 => return Err(RdbError::unsupported(
            "The RDB file contains module data, and redlite has no modules: it cannot be loaded",
        )),
        _ => return Err(RdbError::corrupt(format!("Unknown RDB encoding type {t}"))),
    };
    let empty = match &value {
        Value::Str(_) | Value::Stream(_) => false,
        Value::List(l) => l.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
    };
    Ok((!empty).then_some(value))
}

/// A stream: each node's listpack validated as `streamValidateListpackIntegrity` does
/// and its live entries appended anew, then the metadata and the groups.
fn read_stream(c: &mut Cursor<'_>, v2: bool, limits: &Limits) -> Result<Stream> {
    let corrupt = || bad("Stream listpack integrity check failed.");
    let mut s = Stream::new();
    let nodes = c.count(2)?;
    let mut last_master: Option<StreamId> = None;
    for _ in 0..nodes {
        let key = c.string()?;
        if key.len() != 16 {
            return Err(bad("Stream node key entry is not the size of a stream ID"));
        }
        let master = StreamId::new(
            u64::from_be_bytes(key[..8].try_into().expect("8")),
            u64::from_be_bytes(key[8..].try_into().expect("8")),
        );
        if last_master.is_some_and(|m| master <= m) {
            return Err(bad("Listpack re-added with existing key"));
        }
        last_master = Some(master);
        let blob = c.string()?;
        let items = listpack::parse(&blob).map_err(bad)?;
        if items.is_empty() {
            return Err(bad("Empty listpack inside stream"));
        }
        let int = |i: usize| items.get(i).and_then(Item::as_int).ok_or_else(corrupt);
        let count = int(0)?;
        let deleted = int(1)?;
        let master_n = int(2)?;
        if count < 0 || deleted < 0 || master_n <= 0 || master_n as usize > items.len() {
            return Err(corrupt());
        }
        let master_n = master_n as usize;
        let fields: Vec<Vec<u8>> = items[3..3 + master_n].iter().map(Item::to_vec).collect();
        if int(3 + master_n)? != 0 {
            return Err(corrupt());
        }
        let mut p = 4 + master_n;
        let (mut seen_live, mut seen_deleted) = (0i64, 0i64);
        while p < items.len() {
            let flags = int(p)?;
            let ms = s_add(master.ms, int(p + 1)?);
            let seq = s_add(master.seq, int(p + 2)?);
            let id = StreamId::new(ms, seq);
            p += 3;
            let same = flags & 2 != 0;
            let mut words: Vec<Vec<u8>> = Vec::new();
            let n;
            if same {
                n = master_n;
                for (i, f) in fields.iter().enumerate() {
                    words.push(f.clone());
                    words.push(items.get(p + i).ok_or_else(corrupt)?.to_vec());
                }
                p += n;
                if int(p)? != n as i64 + 3 {
                    return Err(corrupt());
                }
            } else {
                let k = int(p)?;
                if k <= 0 || k as usize > items.len() {
                    return Err(corrupt());
                }
                n = k as usize;
                p += 1;
                for i in 0..2 * n {
                    words.push(items.get(p + i).ok_or_else(corrupt)?.to_vec());
                }
                p += 2 * n;
                if int(p)? != 2 * n as i64 + 4 {
                    return Err(corrupt());
                }
            }
            p += 1;
            if id < master || (!s.is_empty() && id <= s.last_id) {
                return Err(corrupt());
            }
            if flags & 1 != 0 {
                seen_deleted += 1;
            } else {
                seen_live += 1;
                let refs: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
                s.append(id, &refs, limits.stream_node);
                s.last_id = id;
            }
        }
        if seen_live != count || seen_deleted != deleted {
            return Err(corrupt());
        }
    }
    let length = c.len()?;
    if length != s.len() {
        return Err(bad("Stream length inconsistent with rax entries"));
    }
    let live_last = s.last_id;
    s.last_id = StreamId::new(c.len()?, c.len()?);
    if !s.is_empty() && s.last_id < live_last {
        return Err(bad("Stream last ID smaller than its entries"));
    }
    if v2 {
        s.first_id = StreamId::new(c.len()?, c.len()?);
        s.max_deleted_id = StreamId::new(c.len()?, c.len()?);
        s.entries_added = c.len()?;
    } else {
        s.max_deleted_id = StreamId::MIN;
        s.entries_added = s.len();
        s.first_id = s.edge(true, true).unwrap_or(StreamId::MIN);
    }
    let groups = c.count(3)?;
    for _ in 0..groups {
        let name = c.string()?;
        let last = StreamId::new(c.len()?, c.len()?);
        let entries_read = if v2 {
            let r = c.len()?;
            (r != u64::MAX).then_some(r)
        } else {
            s.estimate_distance(last)
        };
        if s.groups.contains_key(&name) {
            return Err(RdbError::corrupt(format!(
                "Duplicated consumer group name {}",
                String::from_utf8_lossy(&name)
            )));
        }
        let mut g = Group::new(last, entries_read);
        let pel = c.count(16 + 8 + 1)?;
        for _ in 0..pel {
            let id = c.raw_id()?;
            let delivery_time = c.u64_le()?;
            let delivery_count = c.len()?;
            let nack = Nack {
                delivery_time,
                delivery_count,
                consumer: Vec::new(),
            };
            if g.pel.insert(id, nack).is_some() {
                return Err(bad(
                    "Duplicated global PEL entry loading stream consumer group",
                ));
            }
        }
        let consumers = c.count(1 + 8 + 1)?;
        for _ in 0..consumers {
            let cname = c.string()?;
            if g.consumers.contains_key(&cname) {
                return Err(bad("Duplicate stream consumer detected."));
            }
            let seen_time = c.u64_le()?;
            let mut consumer = crate::store::stream::Consumer {
                seen_time,
                ..Default::default()
            };
            let owned = c.count(16)?;
            for _ in 0..owned {
                let id = c.raw_id()?;
                match g.pel.get_mut(&id) {
                    Some(nack) if nack.consumer.is_empty() => nack.consumer = cname.clone(),
                    Some(_) => {
                        return Err(bad(
                            "Duplicated consumer PEL entry  loading a stream consumer group",
                        ))
                    }
                    None => return Err(bad("Consumer entry not found in group global PEL")),
                }
                consumer.pel.insert(id);
            }
            g.consumers.insert(cname, consumer);
        }
        if g.pel.values().any(|n| n.consumer.is_empty()) {
            return Err(bad("Stream CG PEL entry without consumer"));
        }
        s.groups.insert(name, g);
    }
    Ok(s)
}

/// `base + delta` as Redis adds an ID delta (wrapping 64-bit).
fn s_add(base: u64, delta: i64) -> u64 {
    base.wrapping_add(delta as u64)
}

/// Why RESTORE refuses a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// `-ERR DUMP payload version or checksum are wrong`.
    VersionOrChecksum,
    /// `-ERR Bad data format`.
    BadFormat,
}

/// Checks a DUMP payload's footer as `verifyDumpPayload` does; returns the body.
pub fn verify_payload(data: &[u8]) -> std::result::Result<&[u8], PayloadError> {
    if data.len() < 10 {
        return Err(PayloadError::VersionOrChecksum);
    }
    let footer = &data[data.len() - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(PayloadError::VersionOrChecksum);
    }
    let crc = u64::from_le_bytes(footer[2..].try_into().expect("8"));
    if crc != crc64(0, &data[..data.len() - 8]) {
        return Err(PayloadError::VersionOrChecksum);
    }
    Ok(&data[..data.len() - 10])
}

/// RESTORE's decoding of a payload (Redis's `verifyDumpPayload`, `rdbLoadObjectType`,
/// `rdbLoadObject`): the value, within `limits`, built to be stored under `key`.
pub fn restore_payload(
    data: &[u8],
    key: &[u8],
    limits: &Limits,
) -> std::result::Result<Value, PayloadError> {
    let body = verify_payload(data)?;
    let mut c = Cursor::new(body);
    let t = c.u8().map_err(|_| PayloadError::BadFormat)?;
    if !is_object_type(t) {
        return Err(PayloadError::BadFormat);
    }
    match read_object(&mut c, t, key, limits) {
        Ok(Some(v)) => Ok(v),
        _ => Err(PayloadError::BadFormat),
    }
}

/// Reads a function library's code from a FUNCTION DUMP payload's body, at `*pos`
/// (the FUNCTION2 opcode already read). `None` if it is malformed.
pub fn read_string_at(data: &[u8], pos: &mut usize) -> Option<Vec<u8>> {
    let mut c = Cursor { data, pos: *pos };
    let s = c.string().ok()?;
    *pos = c.pos;
    Some(s)
}

/// The opcode of a function library record.
pub const OPCODE_FUNCTION2: u8 = OP_FUNCTION2;

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

/// Whether `head` starts like an RDB file.
pub fn is_rdb(head: &[u8]) -> bool {
    head.starts_with(b"REDIS")
}

/// Reads a whole RDB file from memory. Calls `on_entry(db, key, value, expires_at_ms,
/// db_size_hint, clock)` for every key not expired at `now_ms` (expired ones are skipped and
/// counted, as a master does) and not empty. Everything delivered is provisional until
/// `Ok` (the CRC is checked at the end).
pub fn read(
    data: &[u8],
    now_ms: u64,
    limits: &Limits,
    on_entry: impl FnMut(u64, &[u8], Value, Option<u64>, u64, Saved),
) -> Result<LoadStats> {
    let (stats, end) = if data.len() < PARALLEL_CRC_MIN {
        read_prefix(data, now_ms, limits, on_entry)?
    } else {
        // The file ends with its checksum: the rest is summed on another thread while
        // this one parses (Redis sums as it reads; here that would be a third of the
        // parse time again on one core).
        std::thread::scope(|s| {
            let body = data.len() - 8;
            let early = std::thread::Builder::new()
                .name("rdb-crc".into())
                .spawn_scoped(s, move || crc64(0, &data[..body]))
                .ok();
            let sum = move |end: usize| match early {
                Some(h) if end == body => h.join().unwrap_or_else(|_| crc64(0, &data[..end])),
                _ => crc64(0, &data[..end]),
            };
            read_summed(data, now_ms, limits, on_entry, sum)
        })?
    };
    if end != data.len() {
        return Err(RdbError::corrupt(format!(
            "{} bytes of garbage after the end of the RDB",
            data.len() - end
        )));
    }
    Ok(stats)
}

/// [`read`] of an RDB at the start of `data` that may be followed by something else
/// (an AOF's RDB preamble and its command tail): also returns where the RDB ends.
pub fn read_prefix(
    data: &[u8],
    now_ms: u64,
    limits: &Limits,
    on_entry: impl FnMut(u64, &[u8], Value, Option<u64>, u64, Saved),
) -> Result<(LoadStats, usize)> {
    read_summed(data, now_ms, limits, on_entry, |end| crc64(0, &data[..end]))
}

/// Below this size [`read`] sums the file on the parsing thread.
const PARALLEL_CRC_MIN: usize = 1 << 20;

/// [`read_prefix`], with `sum(end)` giving the CRC-64 of `data[..end]`, the RDB before
/// its checksum (called only if the file has one).
fn read_summed(
    data: &[u8],
    now_ms: u64,
    limits: &Limits,
    mut on_entry: impl FnMut(u64, &[u8], Value, Option<u64>, u64, Saved),
    sum: impl FnOnce(usize) -> u64,
) -> Result<(LoadStats, usize)> {
    let mut c = Cursor::new(data);
    let magic = c
        .take(9)
        .map_err(|_| RdbError::corrupt("Wrong signature trying to load DB from file"))?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError::corrupt(
            "Wrong signature trying to load DB from file",
        ));
    }
    let version: u32 = std::str::from_utf8(&magic[5..])
        .ok()
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if version < 1 || version > u32::from(RDB_VERSION) {
        return Err(RdbError::unsupported(format!(
            "Can't handle RDB format version {}",
            String::from_utf8_lossy(&magic[5..])
        )));
    }
    let mut stats = LoadStats::default();
    let mut db = 0u64;
    let mut db_size = 0u64;
    let mut expires: Option<u64> = None;
    let mut saved = Saved::default();
    loop {
        let t = c.u8()?;
        match t {
            OP_EXPIRETIME => {
                let secs = u32::from_le_bytes(c.take(4)?.try_into().expect("4"));
                expires = Some(u64::from(secs) * 1000);
                continue;
            }
            OP_EXPIRETIME_MS => {
                expires = Some(c.u64_le()?);
                continue;
            }
            OP_FREQ => {
                saved.freq = Some(c.u8()?);
                continue;
            }
            OP_IDLE => {
                saved.idle_secs = Some(c.len()?);
                continue;
            }
            OP_EOF => break,
            OP_SELECTDB => {
                db = c.len()?;
                continue;
            }
            OP_RESIZEDB => {
                db_size = c.len()?;
                c.len()?;
                continue;
            }
            OP_AUX => {
                c.string()?;
                c.string()?;
                continue;
            }
            OP_MODULE_AUX => {
                return Err(RdbError::unsupported(
                    "The RDB file contains AUX module data, and redlite has no modules: it cannot be loaded",
                ))
            }
            OP_FUNCTION => {
                return Err(RdbError::unsupported(
                    "Pre-release function format not supported.",
                ))
            }
            OP_FUNCTION2 => {
                stats.functions.push(c.string()?);
                continue;
            }
            _ => {}
        }
        if !is_object_type(t) {
            return Err(RdbError::corrupt(format!("Unknown RDB encoding type {t}")));
        }
        let key = c.string_ref()?;
        let value = read_object(&mut c, t, &key, limits)?;
        let when = expires.take();
        let clock = std::mem::take(&mut saved);
        let Some(value) = value else {
            continue;
        };
        if when.is_some_and(|w| w < now_ms) {
            stats.keys_expired += 1;
            continue;
        }
        on_entry(db, &key, value, when, db_size, clock);
        stats.keys_loaded += 1;
    }
    if version >= 5 {
        let body_end = c.pos;
        let found = c.u64_le()?;
        if found != 0 {
            let expected = sum(body_end);
            if expected != found {
                return Err(RdbError {
                    kind: RdbErrorKind::Checksum { expected, found },
                });
            }
        }
    }
    Ok((stats, c.pos))
}

/// What the AUX fields of a new file say.
#[derive(Debug, Clone, Copy, Default)]
pub struct Aux {
    /// `ctime`: Unix seconds.
    pub ctime: u64,
    /// `used-mem`: bytes.
    pub used_mem: u64,
    /// `aof-base`: the file is an AOF base.
    pub aof_base: bool,
}

/// Writes an RDB file: header and AUX fields, function libraries, databases, then
/// [`Writer::finish`] adds EOF and the checksum.
pub struct Writer<W: Write> {
    inner: W,
    crc: u64,
    opts: Options,
    buf: Vec<u8>,
    scratch: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Starts a file: the magic, the version and the AUX fields Redis 7.0 writes.
    pub fn new(inner: W, opts: Options, aux: Aux) -> io::Result<Writer<W>> {
        let mut w = Writer {
            inner,
            crc: 0,
            opts,
            buf: Vec::with_capacity(1 << 16),
            scratch: Vec::new(),
        };
        w.buf
            .extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        let fields: [(&str, Vec<u8>); 5] = [
            ("redis-ver", REDIS_VERSION.as_bytes().to_vec()),
            ("redis-bits", b"64".to_vec()),
            ("ctime", aux.ctime.to_string().into_bytes()),
            ("used-mem", aux.used_mem.to_string().into_bytes()),
            ("aof-base", if aux.aof_base { b"1" } else { b"0" }.to_vec()),
        ];
        for (name, value) in fields {
            w.buf.push(OP_AUX);
            put_string(&mut w.buf, name.as_bytes(), w.opts.compression);
            put_string(&mut w.buf, &value, w.opts.compression);
        }
        Ok(w)
    }

    /// A function library (before the databases, as Redis writes them).
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        self.buf.push(OP_FUNCTION2);
        put_string(&mut self.buf, code, self.opts.compression);
        self.maybe_flush()
    }

    /// Starts database `index` holding `keys` keys, `expires` of them with a TTL.
    pub fn begin_db(&mut self, index: u32, keys: u64, expires: u64) -> io::Result<()> {
        self.buf.push(OP_SELECTDB);
        put_len(&mut self.buf, u64::from(index));
        self.buf.push(OP_RESIZEDB);
        put_len(&mut self.buf, keys);
        put_len(&mut self.buf, expires);
        self.maybe_flush()
    }

    /// One key, with its access clock's bits when known (see [`Options::clocks`]).
    pub fn entry(
        &mut self,
        key: &[u8],
        value: ValueRef<'_>,
        expires_at: Option<u64>,
        clock_bits: Option<u32>,
    ) -> io::Result<()> {
        if let Some(t) = expires_at {
            self.buf.push(OP_EXPIRETIME_MS);
            self.buf.extend_from_slice(&t.to_le_bytes());
        }
        if let (Some(clock), Some(bits)) = (self.opts.clocks, clock_bits) {
            if clock.lfu {
                self.buf.push(OP_FREQ);
                self.buf.push(clock.decayed(bits) as u8);
            } else {
                self.buf.push(OP_IDLE);
                put_len(&mut self.buf, crate::store::clock::idle_ms(bits) / 1000);
            }
        }
        // The type byte comes before the key: encode the object aside, then lay out
        // type, key, value.
        self.scratch.clear();
        put_object(&mut self.scratch, value, &self.opts);
        self.buf.push(self.scratch[0]);
        put_string(&mut self.buf, key, self.opts.compression);
        self.buf.extend_from_slice(&self.scratch[1..]);
        self.maybe_flush()
    }

    /// The sink, with everything written so far passed on to it.
    pub fn get_mut(&mut self) -> io::Result<&mut W> {
        self.flush_buf()?;
        Ok(&mut self.inner)
    }

    /// Ends the file: EOF and the CRC-64 (0 with `rdbchecksum no`).
    pub fn finish(mut self) -> io::Result<W> {
        self.buf.push(OP_EOF);
        self.flush_buf()?;
        let crc = if self.opts.checksum { self.crc } else { 0 };
        self.inner.write_all(&crc.to_le_bytes())?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= 1 << 16 {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            if self.opts.checksum {
                self.crc = crc64(self.crc, &self.buf);
            }
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
