//! The redlite dump file: format specification, streaming [`Writer`] and [`read`]er.
//!
//! This is redlite's own snapshot format, written by `SAVE`/`BGSAVE` and loaded at start-up.
//! It is deliberately *not* Redis's RDB: RDB carries a dozen special encodings (ziplists,
//! listpacks, intsets, LZF compression, module types) that redlite has no use for. This
//! format is small enough to specify completely below, and every byte of it except the
//! trailer itself is covered by a checksum.
//!
//! # Conventions
//!
//! * Fixed-width integers (`u32`, `u64`) are **little-endian**.
//! * `varint` is an unsigned LEB128 integer of at most 64 bits: seven bits per byte, least
//!   significant group first, bit 7 (`0x80`) set on every byte except the last. It is at
//!   most 10 bytes long, and the 10th byte may only be `0x00` or `0x01`. Writers emit the
//!   shortest form; readers also accept padded forms (the checksum, not the varint
//!   encoding, is what guards against corruption).
//! * `bytes` means a `varint` length *n* followed by exactly *n* raw bytes. Keys and
//!   values are binary-safe; there is no terminator and no text encoding.
//!
//! # File layout
//!
//! | Offset | Size     | Field      | Contents                                                  |
//! |--------|----------|------------|-----------------------------------------------------------|
//! | 0      | 8        | magic      | `52 45 44 4C 49 54 45 00`: ASCII `REDLITE` and a NUL byte |
//! | 8      | 4        | version    | `u32` format version, currently `3` ([`VERSION`])         |
//! | 12     | variable | libraries  | zero or more function libraries, see below (version 4)    |
//! | ...    | variable | sections   | zero or more database sections, see below                 |
//! | *e*    | 1        | end marker | `0xFF`                                                    |
//! | *e*+1  | 8        | checksum   | `u64` CRC-64 of bytes `0..=e`, magic through end marker   |
//!
//! The file ends right after the checksum; trailing bytes make it invalid. The checksum is
//! the CRC-64 variant Redis uses (see [`crate::persist::crc64`]), so a file truncated or
//! damaged anywhere is detected.
//!
//! ## Function library (version 4)
//!
//! | Size     | Field      | Contents                                                        |
//! |----------|------------|-----------------------------------------------------------------|
//! | 1        | marker     | `0xF5`                                                          |
//! | bytes    | code       | the library's whole code, `#!lua name=...` line included        |
//!
//! Libraries come before the first database section, as Redis's RDB puts its
//! `FUNCTION2` records first; loading runs each one as FUNCTION LOAD does.
//!
//! ## Database section
//!
//! | Size     | Field      | Contents                                                        |
//! |----------|------------|-----------------------------------------------------------------|
//! | 1        | marker     | `0xFE`                                                          |
//! | varint   | index      | database number (`SELECT` index), below 2<sup>32</sup>          |
//! | varint   | key count  | number of entries in this section                               |
//! | variable | entries    | exactly *key count* entries, see below                          |
//!
//! Sections appear in strictly increasing index order, so each database appears at most
//! once. Writers normally omit empty databases, but an empty section is valid. After the
//! last entry of a section comes either the next section's marker or the end marker; the
//! key count is what delimits a section, which is why entry tag bytes need not avoid
//! `0xFE`/`0xFF`.
//!
//! ## Entry (one key)
//!
//! | Size     | Field   | Contents                                                           |
//! |----------|---------|--------------------------------------------------------------------|
//! | 1        | tag     | bits 0–6: type tag (table below); bit 7 (`0x80`): expiry follows   |
//! | 8        | expiry  | only if bit 7 is set: `u64` absolute expiry time, Unix ms          |
//! | bytes    | key     | the key                                                            |
//! | variable | value   | encoded according to the type tag                                  |
//!
//! ## Type tags and value encodings
//!
//! | Tag   | Type   | Value encoding                                                            |
//! |-------|--------|---------------------------------------------------------------------------|
//! | 0     | string | `bytes`                                                                   |
//! | 1     | list   | `varint` element count *c*, then *c* × `bytes`, head to tail              |
//! | 2     | hash   | `varint` field count *c*, then *c* × (`bytes` field, `bytes` value)       |
//! | 3     | set    | `varint` member count *c*, then *c* × `bytes` member                      |
//! | 4     | zset   | `varint` member count *c*, then *c* × (`bytes` member, `f64` score)       |
//! | 5     | stream | see below                                                                 |
//! | 6–127 | –      | reserved; a reader rejects the file                                       |
//!
//! A stream (tag 5, version 3 on) is, with `id` = `varint` ms then `varint` seq:
//! `id` last-generated, `id` first-entry, `id` max-deleted, `varint` entries-added;
//! `varint` entry count *c*, then *c* × (`id`, `varint` pair count *p*, *p* × (`bytes`
//! field, `bytes` value)), oldest first; `varint` group count *g*, then *g* × (`bytes`
//! name, `id` last-delivered, `varint` entries-read + 1 (0: unknown), `varint` pending
//! count *n*, *n* × (`id`, `u64` delivery time, `varint` delivery count, `bytes`
//! consumer), `varint` consumer count *k*, *k* × (`bytes` name, `u64` seen time)).
//! Deleted entries are not written: a loaded stream has no tombstones, and its nodes are
//! packed anew.
//!
//! An `f64` is the 8 bytes of an IEEE 754 double, little-endian; a score is never NaN.
//! Members and fields are written in the collection's own order (a sorted set lowest
//! rank first), and a reader rebuilds each collection by adding them in that order, so
//! a small hash keeps its field order across a save and a load, as Redis's listpacks do.
//! A collection is never empty (an empty one deletes its key), but a reader accepts
//! one; a repeated member or field keeps the last value.
//!
//! ## Versions
//!
//! | Version | Changes                                           |
//! |---------|---------------------------------------------------|
//! | 1       | strings and lists                                 |
//! | 2       | hashes, sets and sorted sets (tags 2, 3 and 4)    |
//! | 3       | streams (tag 5)                                   |
//! | 4       | function libraries (marker `0xF5`)                |
//!
//! A reader accepts every version up to its own; each is a subset of the next. When a
//! reserved tag gets an encoding, [`VERSION`] is bumped as well, so that an older build
//! reports "unsupported dump format version" rather than "unknown type tag".
//!
//! ## Example
//!
//! Database 0 holding the single key `k` = `v` with no expiry (29 bytes):
//!
//! ```text
//! 52 45 44 4C 49 54 45 00   magic "REDLITE\0"
//! 04 00 00 00               version 4
//! FE 00 01                  section: database 0, 1 key
//! 00 01 6B 01 76            entry: tag 0 (string, no expiry), key "k", value "v"
//! FF                        end marker
//! 4B D3 DA 2F 41 C7 EC 3E   CRC-64 of the 21 bytes above (0x3eecc7412fdad34b), LE
//! ```
//!
//! # Loading semantics
//!
//! [`read`] streams entries to a callback as it parses them and verifies the checksum only
//! when it reaches the end, so the caller must load into a fresh keyspace and swap it in
//! only when [`read`] returns `Ok`. Keys whose expiry is at or before the load time are
//! skipped (and counted), so a writer need not filter out expired keys, which would force it
//! to count each database twice to fill in the key count. No length or count read from the
//! file is trusted for allocation beyond the bytes that actually arrive, so a damaged or
//! hostile file produces a [`DumpError`], never a panic or an outsized allocation.

use crate::store::List;
use std::fmt;
use std::io::{self, Read, Write};

use crate::persist::crc64::crc64;
use crate::store::stream::{Group, Nack, Stream, StreamId};
use crate::store::value::{Limits, Value, ValueRef};
use crate::store::{Hash, Set, ZSet};

/// The 8 bytes every dump file starts with: ASCII `REDLITE` and a NUL byte.
pub const MAGIC: [u8; 8] = *b"REDLITE\0";

/// The format version this build writes and reads.
pub const VERSION: u32 = 4;

/// The oldest format version this build still reads.
pub const OLDEST_VERSION: u32 = 1;

/// Starts a database section.
const DB_MARKER: u8 = 0xFE;
/// Starts a function library (format version 4 on).
const FUNCTION_MARKER: u8 = 0xF5;
/// Ends the list of sections; the checksum follows.
const END_MARKER: u8 = 0xFF;
/// Bit 7 of an entry's tag byte: an 8-byte expiry time follows the tag.
const EXPIRY_FLAG: u8 = 0x80;
/// The low seven bits of the tag byte hold the type tag.
const TAG_MASK: u8 = 0x7F;

/// Type tag of [`Value::Str`].
const TAG_STRING: u8 = 0;
/// Type tag of [`Value::List`].
const TAG_LIST: u8 = 1;
/// Type tag of [`Value::Hash`] (version 2 on).
const TAG_HASH: u8 = 2;
/// Type tag of [`Value::Set`] (version 2 on).
const TAG_SET: u8 = 3;
/// Type tag of [`Value::ZSet`] (version 2 on).
const TAG_ZSET: u8 = 4;
/// Type tag of [`Value::Stream`] (version 3 on).
const TAG_STREAM: u8 = 5;

/// Writer-side buffer: large enough that a raw `File` sees few `write` calls.
const WRITE_BUF: usize = 64 * 1024;
/// Reader-side buffer: large enough to amortise `read` calls on a big file.
const READ_BUF: usize = 256 * 1024;
/// The most memory committed for a length or count before its data has actually arrived.
const MAX_PREALLOC: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------

/// Streams a dump into `W`, computing the checksum on the way.
///
/// Usage: [`Writer::new`], then for each non-empty database [`Writer::begin_db`] followed
/// by exactly `key_count` calls to [`Writer::entry`], then [`Writer::finish`]. Writes are
/// buffered internally (64 KiB), so pass a raw `File`, not a `BufWriter`. Dropping a
/// `Writer` without calling `finish` leaves an incomplete file that [`read`] rejects;
/// nothing is flushed on drop, on purpose.
///
/// The call sequence is checked: an `entry` beyond the declared count, a section left
/// short, or a database index that does not increase gives an
/// [`io::ErrorKind::InvalidInput`] error instead of a file that cannot be loaded.
pub struct Writer<W: Write> {
    inner: W,
    /// Bytes not yet handed to `inner`; never more than `WRITE_BUF`.
    buf: Vec<u8>,
    /// CRC-64 of every byte already handed to `inner`.
    crc: u64,
    /// Entries still owed to the open section (0 if none is open).
    remaining: u64,
    /// Index of the last section begun, to enforce increasing order.
    last_db: Option<u32>,
}

impl<W: Write> Writer<W> {
    /// Starts a dump: writes the magic and the format version.
    pub fn new(inner: W) -> io::Result<Self> {
        let mut w = Writer {
            inner,
            buf: Vec::with_capacity(WRITE_BUF),
            crc: 0,
            remaining: 0,
            last_db: None,
        };
        w.put(&MAGIC)?;
        w.put(&VERSION.to_le_bytes())?;
        Ok(w)
    }

    /// Writes one function library's code. Libraries come before the first database.
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        if self.last_db.is_some() {
            return Err(misuse("function() called after a database section".into()));
        }
        self.put(&[FUNCTION_MARKER])?;
        self.put_bytes(code)
    }

    /// Starts the section of database `index`, which will hold exactly `key_count` keys.
    ///
    /// Indexes must increase from one section to the next, and the previous section
    /// must have received all its entries.
    pub fn begin_db(&mut self, index: u32, key_count: u64) -> io::Result<()> {
        if self.remaining != 0 {
            return Err(misuse(format!(
                "begin_db({index}) called while {} entries of the previous section are missing",
                self.remaining
            )));
        }
        if let Some(last) = self.last_db {
            if index <= last {
                return Err(misuse(format!(
                    "begin_db({index}) called after begin_db({last}); indexes must increase"
                )));
            }
        }
        self.put(&[DB_MARKER])?;
        self.put_varint(u64::from(index))?;
        self.put_varint(key_count)?;
        self.last_db = Some(index);
        self.remaining = key_count;
        Ok(())
    }

    /// Writes one key of the current section, with its absolute expiry time in Unix
    /// milliseconds, if it has one.
    pub fn entry(
        &mut self,
        key: &[u8],
        value: ValueRef<'_>,
        expires_at_ms: Option<u64>,
    ) -> io::Result<()> {
        if self.remaining == 0 {
            return Err(misuse(
                "entry() called outside a section or beyond its key_count".to_string(),
            ));
        }
        let tag = match value {
            ValueRef::Str(_) => TAG_STRING,
            ValueRef::List(_) => TAG_LIST,
            ValueRef::Hash(_) => TAG_HASH,
            ValueRef::Set(_) => TAG_SET,
            ValueRef::ZSet(_) => TAG_ZSET,
            ValueRef::Stream(_) => TAG_STREAM,
        };
        match expires_at_ms {
            Some(at) => {
                let mut head = [0u8; 9];
                head[0] = tag | EXPIRY_FLAG;
                head[1..].copy_from_slice(&at.to_le_bytes());
                self.put(&head)?;
            }
            None => self.put(&[tag])?,
        }
        self.put_bytes(key)?;
        match value {
            ValueRef::Str(s) => self.put_bytes(s)?,
            ValueRef::List(items) => {
                self.put_varint(items.len() as u64)?;
                for item in items {
                    self.put_bytes(item)?;
                }
            }
            ValueRef::Hash(hash) => {
                self.put_varint(hash.len() as u64)?;
                for (field, value) in hash.iter() {
                    self.put_bytes(field)?;
                    self.put_bytes(value)?;
                }
            }
            ValueRef::Set(set) => {
                self.put_varint(set.len() as u64)?;
                set.try_for_each(|member| self.put_bytes(member))?;
            }
            ValueRef::ZSet(zset) => {
                self.put_varint(zset.len() as u64)?;
                for (member, score) in zset.iter() {
                    self.put_bytes(member)?;
                    self.put(&score.to_le_bytes())?;
                }
            }
            ValueRef::Stream(stream) => self.put_stream(stream)?,
        }
        self.remaining -= 1;
        Ok(())
    }

    /// The inner writer, for a caller that drains it as it goes (BGSAVE's in-memory
    /// spool). Bytes still in the internal buffer are not in it yet.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Writes the end marker and the checksum, flushes, and returns the inner writer.
    ///
    /// The data has been handed to `W` but not synced: the caller should `sync_all` the
    /// file before renaming it into place.
    pub fn finish(mut self) -> io::Result<W> {
        if self.remaining != 0 {
            return Err(misuse(format!(
                "finish() called while {} entries of the last section are missing",
                self.remaining
            )));
        }
        self.put(&[END_MARKER])?;
        self.flush_buf()?;
        // The trailer goes straight to `inner` so that it is not folded into `self.crc`.
        self.inner.write_all(&self.crc.to_le_bytes())?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    /// Appends `data`, flushing first if the buffer cannot take it. Data at least as large
    /// as the buffer bypasses it, so a huge value is never copied.
    fn put(&mut self, data: &[u8]) -> io::Result<()> {
        if self.buf.len() + data.len() > WRITE_BUF {
            self.flush_buf()?;
        }
        if data.len() >= WRITE_BUF {
            self.crc = crc64(self.crc, data);
            self.inner.write_all(data)
        } else {
            self.buf.extend_from_slice(data);
            Ok(())
        }
    }

    /// Appends a LEB128 varint.
    fn put_varint(&mut self, v: u64) -> io::Result<()> {
        let mut tmp = [0u8; 10];
        let n = encode_varint(v, &mut tmp);
        self.put(&tmp[..n])
    }

    fn put_id(&mut self, id: StreamId) -> io::Result<()> {
        self.put_varint(id.ms)?;
        self.put_varint(id.seq)
    }

    /// A stream, as the module docs lay it out.
    fn put_stream(&mut self, s: &Stream) -> io::Result<()> {
        self.put_id(s.last_id)?;
        self.put_id(s.first_id)?;
        self.put_id(s.max_deleted_id)?;
        self.put_varint(s.entries_added)?;
        self.put_varint(s.len())?;
        let mut result: io::Result<()> = Ok(());
        s.for_each(|e| {
            if result.is_err() {
                return;
            }
            let fields = e.fields();
            result = (|| {
                self.put_id(e.id)?;
                self.put_varint(fields.len() as u64)?;
                for (f, v) in &fields {
                    self.put_bytes(f)?;
                    self.put_bytes(v)?;
                }
                Ok(())
            })();
        });
        result?;
        self.put_varint(s.groups.len() as u64)?;
        for (name, g) in &s.groups {
            self.put_bytes(name)?;
            self.put_id(g.last_id)?;
            self.put_varint(g.entries_read.map_or(0, |r| r + 1))?;
            self.put_varint(g.pel.len() as u64)?;
            for (id, nack) in &g.pel {
                self.put_id(*id)?;
                self.put(&nack.delivery_time.to_le_bytes())?;
                self.put_varint(nack.delivery_count)?;
                self.put_bytes(&nack.consumer)?;
            }
            self.put_varint(g.consumers.len() as u64)?;
            for (cname, c) in &g.consumers {
                self.put_bytes(cname)?;
                self.put(&c.seen_time.to_le_bytes())?;
            }
        }
        Ok(())
    }

    /// Appends a length-prefixed byte string.
    fn put_bytes(&mut self, data: &[u8]) -> io::Result<()> {
        self.put_varint(data.len() as u64)?;
        self.put(data)
    }

    /// Checksums the buffered bytes and hands them to `inner`.
    fn flush_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.crc = crc64(self.crc, &self.buf);
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// The error for a `Writer` call sequence that would produce an unloadable file.
fn misuse(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Encodes `v` as LEB128 into `out`, returning the number of bytes used (1 to 10).
fn encode_varint(mut v: u64, out: &mut [u8; 10]) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        out[i] = (v as u8) | 0x80;
        v >>= 7;
        i += 1;
    }
    out[i] = v as u8;
    i + 1
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why a dump could not be loaded.
#[derive(Debug)]
pub struct DumpError {
    kind: DumpErrorKind,
}

/// The kinds of [`DumpError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum DumpErrorKind {
    /// Reading the input failed.
    Io(io::Error),
    /// The input does not start with [`MAGIC`]: it is not a redlite dump.
    BadMagic,
    /// The file is a redlite dump of a format version this build cannot read.
    UnsupportedVersion(u32),
    /// The input ended before the dump did.
    Truncated,
    /// The file parsed, but its checksum does not match its contents.
    BadChecksum {
        /// The CRC-64 computed over the file's contents.
        expected: u64,
        /// The CRC-64 stored in the file's trailer.
        found: u64,
    },
    /// The file is structurally invalid; the message says what and where.
    Corrupt(String),
}

impl DumpError {
    /// What went wrong.
    pub fn kind(&self) -> &DumpErrorKind {
        &self.kind
    }

    fn new(kind: DumpErrorKind) -> Self {
        DumpError { kind }
    }

    fn corrupt(msg: String) -> Self {
        Self::new(DumpErrorKind::Corrupt(msg))
    }
}

impl From<io::Error> for DumpError {
    /// Wraps an I/O error; `UnexpectedEof` (as returned by `read_exact`) becomes
    /// [`DumpErrorKind::Truncated`].
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Self::new(DumpErrorKind::Truncated)
        } else {
            Self::new(DumpErrorKind::Io(e))
        }
    }
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DumpErrorKind::Io(e) => write!(f, "I/O error while reading dump: {e}"),
            DumpErrorKind::BadMagic => f.write_str("not a redlite dump file (bad magic)"),
            DumpErrorKind::UnsupportedVersion(v) => write!(
                f,
                "unsupported dump format version {v} (this build reads versions \
                 {OLDEST_VERSION} to {VERSION})"
            ),
            DumpErrorKind::Truncated => f.write_str("file is truncated"),
            DumpErrorKind::BadChecksum { expected, found } => write!(
                f,
                "checksum mismatch (expected 0x{expected:016x}, found 0x{found:016x})"
            ),
            DumpErrorKind::Corrupt(msg) => write!(f, "corrupt dump: {msg}"),
        }
    }
}

impl std::error::Error for DumpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            DumpErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------

/// What [`read`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Keys passed to the callback.
    pub keys_loaded: u64,
    /// Keys skipped because their expiry time had already passed.
    pub keys_expired: u64,
    /// The function libraries' code, in file order.
    pub functions: Vec<Vec<u8>>,
}

/// Reads a whole dump. Calls `on_entry(db_index, key, value, expires_at_ms, section_keys)`
/// for every key whose expiry is None or >= now_ms; keys already expired are skipped and
/// counted. `section_keys` is the key count the database's section declares, for the
/// caller to size its table up front (it is not validated yet: a damaged file may
/// overstate it, so cap it by what the file could hold). The
/// checksum is verified at the end, so the caller must treat everything delivered as
/// provisional until Ok is returned (it loads into a fresh keyspace and discards it on
/// Err).
///
/// Collections are rebuilt within `limits` (see [`Limits`]), as the running config says.
///
/// `input` is buffered internally (256 KiB), so pass a raw `File`.
pub fn read<R: Read>(
    input: R,
    now_ms: u64,
    limits: &Limits,
    mut on_entry: impl FnMut(u32, Vec<u8>, Value, Option<u64>, u64),
) -> Result<LoadStats, DumpError> {
    let mut inp = Input::new(input);
    let version = read_header(&mut inp)?;

    let mut stats = LoadStats::default();
    let mut prev_db: Option<u32> = None;
    loop {
        let at = inp.offset();
        match inp.u8()? {
            DB_MARKER => {
                let index_at = inp.offset();
                let raw = inp.varint()?;
                let index = u32::try_from(raw).map_err(|_| {
                    DumpError::corrupt(format!(
                        "database index {raw} at offset {index_at} is out of range"
                    ))
                })?;
                if let Some(prev) = prev_db {
                    if index <= prev {
                        return Err(DumpError::corrupt(format!(
                            "section for database {index} at offset {at} follows database \
                             {prev} (sections must be in increasing order)"
                        )));
                    }
                }
                prev_db = Some(index);
                let count = inp.varint()?;
                // A huge count on a short file is harmless: every entry consumes at least
                // one byte, so the input runs out (Truncated) long before the loop does.
                for done in 0..count {
                    let section = Section {
                        index,
                        at,
                        count,
                        done,
                        version,
                        limits,
                    };
                    read_entry(&mut inp, &section, now_ms, &mut on_entry, &mut stats)?;
                }
            }
            END_MARKER => break,
            FUNCTION_MARKER if version >= 4 && prev_db.is_none() => {
                stats.functions.push(inp.bytes()?);
            }
            other => {
                return Err(DumpError::corrupt(format!(
                    "expected a database section (0xfe) or the end marker (0xff) at offset \
                     {at}, found 0x{other:02x}"
                )))
            }
        }
    }

    let expected = inp.checksum();
    let found = u64::from_le_bytes(inp.array::<8>()?);
    if expected != found {
        return Err(DumpError::new(DumpErrorKind::BadChecksum {
            expected,
            found,
        }));
    }
    if inp.fill(1)? {
        return Err(DumpError::corrupt(format!(
            "unexpected data after the checksum at offset {}",
            inp.offset()
        )));
    }
    Ok(stats)
}

/// Checks the magic and the version, and returns the version.
fn read_header<R: Read>(inp: &mut Input<R>) -> Result<u32, DumpError> {
    if !inp.fill(MAGIC.len())? {
        // A short file that could still be the start of a dump is "truncated"; anything
        // else is simply not ours, which is the more useful thing to say.
        let have = inp.remaining();
        return Err(DumpError::new(if MAGIC.starts_with(have) {
            DumpErrorKind::Truncated
        } else {
            DumpErrorKind::BadMagic
        }));
    }
    if inp.array::<8>()? != MAGIC {
        return Err(DumpError::new(DumpErrorKind::BadMagic));
    }
    let version = u32::from_le_bytes(inp.array::<4>()?);
    if !(OLDEST_VERSION..=VERSION).contains(&version) {
        return Err(DumpError::new(DumpErrorKind::UnsupportedVersion(version)));
    }
    Ok(version)
}

/// Where the reader is, for error messages about a section that ends early.
struct Section<'a> {
    /// The file's format version.
    version: u32,
    /// The limits collections are rebuilt within.
    limits: &'a Limits,
    index: u32,
    /// Offset of the section marker.
    at: u64,
    count: u64,
    /// Entries of this section already read.
    done: u64,
}

/// Reads one entry and hands it to `on_entry` unless it has expired.
fn read_entry<R: Read>(
    inp: &mut Input<R>,
    section: &Section<'_>,
    now_ms: u64,
    on_entry: &mut impl FnMut(u32, Vec<u8>, Value, Option<u64>, u64),
    stats: &mut LoadStats,
) -> Result<(), DumpError> {
    let at = inp.offset();
    let tag_byte = inp.u8()?;
    if tag_byte == DB_MARKER || tag_byte == END_MARKER {
        // Not an unknown type but the next marker: the section's count is too large.
        // Saying so is more helpful than "unknown type tag 127".
        return Err(DumpError::corrupt(format!(
            "section for database {} at offset {} declares {} keys, but found a marker \
             after {} at offset {at}",
            section.index, section.at, section.count, section.done
        )));
    }
    let tag = tag_byte & TAG_MASK;
    let known = match section.version {
        1 => tag <= TAG_LIST,
        2 => tag <= TAG_ZSET,
        _ => tag <= TAG_STREAM,
    };
    if !known {
        return Err(DumpError::corrupt(format!(
            "unknown type tag {tag} for key at offset {at}"
        )));
    }
    let expires_at_ms = if tag_byte & EXPIRY_FLAG != 0 {
        Some(u64::from_le_bytes(inp.array::<8>()?))
    } else {
        None
    };
    let key = inp.bytes()?;
    let limits = section.limits;
    let value = match tag {
        TAG_STRING => Value::Str(inp.bytes()?),
        TAG_LIST => {
            let count = inp.varint()?;
            // Untrusted count: reserve at most MAX_PREALLOC bytes' worth of slots up
            // front and let the deque grow as elements actually arrive.
            let mut items = List::new();
            for _ in 0..count {
                items.push_back(inp.bytes()?);
            }
            Value::List(items)
        }
        TAG_HASH => {
            let mut hash = Hash::new();
            for _ in 0..inp.varint()? {
                let field = inp.bytes()?;
                hash.insert(&field, &inp.bytes()?, limits);
            }
            Value::Hash(hash)
        }
        TAG_SET => {
            let mut set = Set::new();
            for _ in 0..inp.varint()? {
                set.insert(&inp.bytes()?, limits);
            }
            Value::Set(set)
        }
        TAG_STREAM => Value::Stream(Box::new(read_stream(inp, *limits)?)),
        _ => {
            let mut zset = ZSet::new();
            for _ in 0..inp.varint()? {
                let member = inp.bytes()?;
                let score_at = inp.offset();
                let score = f64::from_le_bytes(inp.array::<8>()?);
                if score.is_nan() {
                    return Err(DumpError::corrupt(format!(
                        "score at offset {score_at} is not a number"
                    )));
                }
                zset.insert(&member, score, limits);
            }
            Value::ZSet(zset)
        }
    };
    // An expired value is still decoded rather than skipped, so that each type's layout
    // is described once (here) and not again in a separate skipping parser.
    match expires_at_ms {
        Some(t) if t < now_ms => stats.keys_expired += 1,
        _ => {
            on_entry(section.index, key, value, expires_at_ms, section.count);
            stats.keys_loaded += 1;
        }
    }
    Ok(())
}

fn read_id<R: Read>(inp: &mut Input<R>) -> Result<StreamId, DumpError> {
    Ok(StreamId::new(inp.varint()?, inp.varint()?))
}

/// A stream (tag 5): entries are appended anew, then the recorded IDs and counters and
/// the groups are restored.
fn read_stream<R: Read>(inp: &mut Input<R>, limits: Limits) -> Result<Stream, DumpError> {
    let at = inp.offset();
    let last_id = read_id(inp)?;
    let first_id = read_id(inp)?;
    let max_deleted_id = read_id(inp)?;
    let entries_added = inp.varint()?;
    let mut s = Stream::new();
    for _ in 0..inp.varint()? {
        let id = read_id(inp)?;
        let mut words = Vec::new();
        for _ in 0..inp.varint()? {
            words.push(inp.bytes()?);
            words.push(inp.bytes()?);
        }
        if (!s.is_empty() && id <= s.last_id) || words.is_empty() {
            return Err(DumpError::corrupt(format!(
                "stream at offset {at} has entries out of order or empty"
            )));
        }
        let refs: Vec<&[u8]> = words.iter().map(|w| w.as_slice()).collect();
        s.append(id, &refs, limits.stream_node);
    }
    s.last_id = last_id;
    s.first_id = first_id;
    s.max_deleted_id = max_deleted_id;
    s.entries_added = entries_added;
    for _ in 0..inp.varint()? {
        let name = inp.bytes()?;
        let last = read_id(inp)?;
        let read = inp.varint()?;
        let mut g = Group::new(last, read.checked_sub(1));
        for _ in 0..inp.varint()? {
            let id = read_id(inp)?;
            let delivery_time = u64::from_le_bytes(inp.array::<8>()?);
            let delivery_count = inp.varint()?;
            let consumer = inp.bytes()?;
            g.consumers
                .entry(consumer.clone())
                .or_default()
                .pel
                .insert(id);
            g.pel.insert(
                id,
                Nack {
                    delivery_time,
                    delivery_count,
                    consumer,
                },
            );
        }
        for _ in 0..inp.varint()? {
            let cname = inp.bytes()?;
            let seen = u64::from_le_bytes(inp.array::<8>()?);
            g.consumers.entry(cname).or_default().seen_time = seen;
        }
        s.groups.insert(name, g);
    }
    Ok(s)
}

/// A buffered reader that tracks the file offset and checksums what it consumes.
///
/// Small fields are decoded straight from the buffer after one bounds check (`fill`),
/// rather than through a `read` call per byte. The CRC is computed lazily over the
/// consumed bytes `buf[crc_from..pos]` each time the buffer is recycled, so it runs on
/// large slices and stops exactly where the caller asks (before the trailer).
struct Input<R> {
    inner: R,
    /// Always `READ_BUF` long; `buf[pos..end]` is read but not consumed.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    /// CRC-64 of the file up to `buf[crc_from]`.
    crc: u64,
    crc_from: usize,
}

impl<R: Read> Input<R> {
    fn new(inner: R) -> Self {
        Input {
            inner,
            buf: vec![0; READ_BUF],
            pos: 0,
            end: 0,
            base: 0,
            crc: 0,
            crc_from: 0,
        }
    }

    /// File offset of the next unconsumed byte.
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The buffered, unconsumed bytes.
    fn remaining(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Makes at least `want` (at most `READ_BUF`) bytes available, reading as needed.
    /// Returns false if the input ends first; whatever did arrive stays available.
    fn fill(&mut self, want: usize) -> Result<bool, DumpError> {
        debug_assert!(want <= READ_BUF);
        if self.end - self.pos >= want {
            return Ok(true);
        }
        // Recycle the buffer: checksum what was consumed, move the rest to the front.
        self.crc = crc64(self.crc, &self.buf[self.crc_from..self.pos]);
        self.buf.copy_within(self.pos..self.end, 0);
        self.base += self.pos as u64;
        self.end -= self.pos;
        self.pos = 0;
        self.crc_from = 0;
        while self.end < want {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }

    /// Like `fill`, but running out is an error.
    fn need(&mut self, want: usize) -> Result<(), DumpError> {
        if self.fill(want)? {
            Ok(())
        } else {
            Err(DumpError::new(DumpErrorKind::Truncated))
        }
    }

    fn u8(&mut self) -> Result<u8, DumpError> {
        self.need(1)?;
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DumpError> {
        self.need(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        Ok(out)
    }

    /// Reads a LEB128 varint of at most 10 bytes.
    fn varint(&mut self) -> Result<u64, DumpError> {
        let at = self.offset();
        // Near the end of the input fewer than 10 bytes may exist; decode what is there.
        self.fill(10)?;
        let mut value = 0u64;
        let mut len = None;
        for (i, &b) in self.remaining().iter().take(10).enumerate() {
            let low = u64::from(b & 0x7f);
            if i == 9 && low > 1 {
                return Err(DumpError::corrupt(format!(
                    "varint at offset {at} does not fit in 64 bits"
                )));
            }
            value |= low << (7 * i);
            if b & 0x80 == 0 {
                len = Some(i + 1);
                break;
            }
        }
        match len {
            Some(n) => {
                self.pos += n;
                Ok(value)
            }
            None if self.remaining().len() >= 10 => Err(DumpError::corrupt(format!(
                "varint at offset {at} is longer than 10 bytes"
            ))),
            None => Err(DumpError::new(DumpErrorKind::Truncated)),
        }
    }

    /// Reads a length-prefixed byte string.
    ///
    /// The length is untrusted: a string that fits in the buffer is copied only once all
    /// its bytes are there, and a longer one grows (geometrically, capped at its final
    /// size) only as its bytes arrive. A length of 2^60 on a short file therefore ends
    /// in `Truncated` after at most a buffer's worth of allocation.
    fn bytes(&mut self) -> Result<Vec<u8>, DumpError> {
        let at = self.offset();
        let len = self.varint()?;
        let n = usize::try_from(len).map_err(|_| {
            DumpError::corrupt(format!(
                "length {len} at offset {at} does not fit in memory"
            ))
        })?;
        if n <= READ_BUF {
            self.need(n)?;
            let out = self.buf[self.pos..self.pos + n].to_vec();
            self.pos += n;
            return Ok(out);
        }
        let mut out = Vec::with_capacity(MAX_PREALLOC);
        while out.len() < n {
            self.need(1)?;
            let missing = n - out.len();
            let take = missing.min(self.end - self.pos);
            if out.capacity() - out.len() < take {
                out.reserve_exact(missing.min(out.capacity().max(take)));
            }
            out.extend_from_slice(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
        }
        Ok(out)
    }

    /// The CRC-64 of everything consumed so far.
    fn checksum(&mut self) -> u64 {
        self.crc = crc64(self.crc, &self.buf[self.crc_from..self.pos]);
        self.crc_from = self.pos;
        self.crc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One key as `read` delivers it.
    type Entry = (u32, Vec<u8>, Value, Option<u64>);

    /// Builds a dump in memory.
    fn build(f: impl FnOnce(&mut Writer<Vec<u8>>) -> io::Result<()>) -> Vec<u8> {
        let mut w = Writer::new(Vec::new()).expect("new");
        f(&mut w).expect("writing");
        w.finish().expect("finish")
    }

    /// Writes `entries` (grouped by ascending db) and returns the file.
    fn build_entries(entries: &[Entry]) -> Vec<u8> {
        build(|w| {
            let mut i = 0;
            while i < entries.len() {
                let db = entries[i].0;
                let n = entries[i..].iter().take_while(|e| e.0 == db).count();
                w.begin_db(db, n as u64)?;
                for (_, k, v, exp) in &entries[i..i + n] {
                    w.entry(k, v.as_ref(), *exp)?;
                }
                i += n;
            }
            Ok(())
        })
    }

    fn load(data: &[u8], now_ms: u64) -> Result<(Vec<Entry>, LoadStats), DumpError> {
        let mut got = Vec::new();
        let stats = read(data, now_ms, &Limits::default(), |db, k, v, exp, _| {
            got.push((db, k, v, exp))
        })?;
        Ok((got, stats))
    }

    fn list(items: &[&[u8]]) -> Value {
        Value::List(items.iter().map(|i| i.to_vec()).collect())
    }

    /// Magic and version.
    fn header() -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&VERSION.to_le_bytes());
        out
    }

    /// A hand-assembled body (after magic and version) followed by a correct checksum.
    fn with_header_and_crc(body: &[u8]) -> Vec<u8> {
        with_version_and_crc(VERSION, body)
    }

    /// The same, claiming format `version`.
    fn with_version_and_crc(version: u32, body: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(body);
        let crc = crc64(0, &out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn is_truncated(r: &Result<(Vec<Entry>, LoadStats), DumpError>) -> bool {
        matches!(r, Err(e) if matches!(e.kind(), DumpErrorKind::Truncated))
    }

    fn corrupt_message(r: Result<(Vec<Entry>, LoadStats), DumpError>) -> String {
        match r {
            Err(e) => match e.kind() {
                DumpErrorKind::Corrupt(m) => m.clone(),
                other => panic!("expected Corrupt, got {other:?}"),
            },
            Ok(_) => panic!("expected Corrupt, got Ok"),
        }
    }

    /// Delivers at most `step` bytes per `read`, with an `Interrupted` now and then, to
    /// exercise every refill path of `Input`.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(7) {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "again"));
            }
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Deterministic pseudo-random bytes.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        crate::util::rand::Rng::new(seed).bytes(len)
    }

    fn sample_entries() -> Vec<Entry> {
        let binary: Vec<u8> = (0..=255u8).collect();
        let many: Vec<Vec<u8>> = (0..10_000)
            .map(|i| format!("item:{i}").into_bytes())
            .collect();
        vec![
            (0, b"empty".to_vec(), Value::Str(Vec::new()), None),
            (0, Vec::new(), Value::Str(b"empty key".to_vec()), None),
            (
                0,
                binary.clone(),
                Value::Str(binary.clone()),
                Some(u64::MAX),
            ),
            (
                0,
                b"big".to_vec(),
                Value::Str(noise(3 * READ_BUF + 17, 1)),
                None,
            ),
            (
                0,
                noise(WRITE_BUF + 5, 2),
                Value::Str(b"big key".to_vec()),
                Some(2_000),
            ),
            (
                3,
                b"list".to_vec(),
                list(&[b"a", b"", b"\x00\xff", b"z"]),
                Some(5_000),
            ),
            (3, b"emptylist".to_vec(), Value::List(List::new()), None),
            (
                3,
                b"many".to_vec(),
                Value::List(many.into_iter().collect()),
                None,
            ),
            (
                3,
                b"bigitem".to_vec(),
                list(&[&noise(READ_BUF + 1, 3), b"x"]),
                None,
            ),
            (15, b"k".to_vec(), Value::Str(b"v".to_vec()), Some(1_001)),
            (
                u32::MAX,
                b"last db".to_vec(),
                Value::Str(b"!".to_vec()),
                None,
            ),
        ]
    }

    /// A small dump with every field kind, for the exhaustive corruption tests.
    fn small_dump() -> Vec<u8> {
        build_entries(&[
            (0, b"s".to_vec(), Value::Str(b"hello".to_vec()), None),
            (
                0,
                b"e".to_vec(),
                Value::Str(Vec::new()),
                Some(1_700_000_000_000),
            ),
            (2, b"l".to_vec(), list(&[b"a", b"", b"bc"]), None),
            (
                2,
                b"x".to_vec(),
                Value::Str(vec![0, 0x80, 0xff]),
                Some(1 << 40),
            ),
        ])
    }

    #[test]
    fn round_trip() {
        let entries = sample_entries();
        let data = build_entries(&entries);
        let (got, stats) = load(&data, 1_000).expect("load");
        assert_eq!(got, entries);
        assert_eq!(
            stats,
            LoadStats {
                keys_loaded: entries.len() as u64,
                keys_expired: 0,
                functions: vec![],
            }
        );
    }

    #[test]
    fn round_trip_through_tiny_reads() {
        let entries = sample_entries();
        let data = build_entries(&entries);
        for step in [1, 3, 4096, READ_BUF - 1] {
            let mut got = Vec::new();
            let input = Trickle {
                data: &data,
                step,
                calls: 0,
            };
            let stats = read(input, 0, &Limits::default(), |db, k, v, exp, _| {
                got.push((db, k, v, exp))
            })
            .expect("load");
            assert_eq!(got, entries, "step {step}");
            assert_eq!(stats.keys_loaded, entries.len() as u64);
        }
    }

    #[test]
    fn function_libraries_come_first_and_round_trip() {
        let data = build(|w| {
            w.function(b"#!lua name=a\nreturn 1")?;
            w.function(b"#!lua name=b\nreturn 2")?;
            w.begin_db(0, 1)?;
            w.entry(b"k", ValueRef::Str(b"v"), None)?;
            assert!(w.function(b"late").is_err());
            Ok(())
        });
        let (got, stats) = load(&data, 0).expect("load");
        assert_eq!(got.len(), 1);
        assert_eq!(
            stats.functions,
            vec![
                b"#!lua name=a\nreturn 1".to_vec(),
                b"#!lua name=b\nreturn 2".to_vec()
            ]
        );
        // A version 3 file cannot hold them.
        let mut old = with_version_and_crc(3, &[FUNCTION_MARKER, 1, b'x', END_MARKER]);
        assert!(load(&old, 0).is_err());
        old.clear();
    }

    #[test]
    fn empty_dump() {
        let data = build(|_| Ok(()));
        let mut expected = MAGIC.to_vec();
        expected.extend_from_slice(&[4, 0, 0, 0, END_MARKER]);
        expected.extend_from_slice(&crc64(0, &expected).to_le_bytes());
        assert_eq!(data, expected);
        let (got, stats) = load(&data, 0).expect("load");
        assert!(got.is_empty());
        assert_eq!(stats, LoadStats::default());
    }

    #[test]
    fn exact_bytes_match_the_documented_example() {
        let data = build(|w| {
            w.begin_db(0, 1)?;
            w.entry(b"k", ValueRef::Str(b"v"), None)
        });
        let expected: &[u8] = &[
            0x52, 0x45, 0x44, 0x4C, 0x49, 0x54, 0x45, 0x00, // magic
            0x04, 0x00, 0x00, 0x00, // version
            0xFE, 0x00, 0x01, // section: db 0, 1 key
            0x00, 0x01, b'k', 0x01, b'v', // entry
            0xFF, // end
            0x4B, 0xD3, 0xDA, 0x2F, 0x41, 0xC7, 0xEC, 0x3E, // crc
        ];
        assert_eq!(data, expected);
        assert_eq!(crc64(0, &data[..21]), 0x3eec_c741_2fda_d34b);
    }

    #[test]
    fn expiry_and_list_encoding() {
        let data = build(|w| {
            w.begin_db(300, 1)?;
            w.entry(
                b"L",
                list(&[b"ab", b""]).as_ref(),
                Some(0x0102_0304_0506_0708),
            )
        });
        let body = &data[12..data.len() - 8];
        assert_eq!(
            body,
            &[
                0xFE, 0xAC, 0x02, 0x01, // section: db 300 (varint AC 02), 1 key
                0x81, 8, 7, 6, 5, 4, 3, 2, 1, // tag 1 | expiry flag, expiry u64 LE
                0x01, b'L', // key
                0x02, 0x02, b'a', b'b', 0x00, // 2 elements: "ab", ""
                0xFF,
            ][..]
        );
    }

    #[test]
    fn varint_encoding() {
        let mut tmp = [0u8; 10];
        for (v, enc) in [
            (0u64, &[0x00][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ] {
            let n = encode_varint(v, &mut tmp);
            assert_eq!(&tmp[..n], enc, "{v}");
            let mut inp = Input::new(enc);
            assert_eq!(inp.varint().expect("varint"), v);
        }
        // Padded (non-shortest) forms are accepted.
        let mut inp = Input::new(&[0x81, 0x80, 0x00][..]);
        assert_eq!(inp.varint().expect("varint"), 1);
    }

    #[test]
    fn expired_keys_are_skipped_and_counted() {
        let entries = vec![
            (0, b"past".to_vec(), Value::Str(b"1".to_vec()), Some(999)),
            (0, b"now".to_vec(), Value::Str(b"2".to_vec()), Some(1_000)),
            (
                0,
                b"future".to_vec(),
                Value::Str(b"3".to_vec()),
                Some(1_001),
            ),
            (0, b"forever".to_vec(), Value::Str(b"4".to_vec()), None),
            (1, b"oldlist".to_vec(), list(&[b"a", b"b"]), Some(1)),
            (1, b"newlist".to_vec(), list(&[b"c"]), Some(u64::MAX)),
        ];
        let data = build_entries(&entries);
        let (got, stats) = load(&data, 1_000).expect("load");
        let kept: Vec<&[u8]> = got.iter().map(|e| &e.1[..]).collect();
        // A key expiring at the load's millisecond is still alive then (Redis's `<`).
        assert_eq!(kept, [&b"now"[..], b"future", b"forever", b"newlist"]);
        assert_eq!(got[1].3, Some(1_001));
        assert_eq!(
            stats,
            LoadStats {
                keys_loaded: 4,
                keys_expired: 2,
                functions: vec![],
            }
        );
    }

    #[test]
    fn bad_magic() {
        let mut data = small_dump();
        data[0] = b'X';
        let err = load(&data, 0).expect_err("bad magic");
        assert!(matches!(err.kind(), DumpErrorKind::BadMagic));
        assert_eq!(err.to_string(), "not a redlite dump file (bad magic)");
        // A Redis RDB file, or any short non-dump file, is "not ours", not "truncated".
        let is_bad_magic = |data: &[u8]| match load(data, 0) {
            Err(e) => matches!(e.kind(), DumpErrorKind::BadMagic),
            Ok(_) => false,
        };
        assert!(is_bad_magic(b"REDIS0011\xfa"));
        assert!(is_bad_magic(b"hi"));
        // An empty file or a prefix of the magic is the start of a dump that was cut off.
        assert!(is_truncated(&load(b"", 0)));
        assert!(is_truncated(&load(b"REDL", 0)));
    }

    #[test]
    fn unsupported_version() {
        let mut data = small_dump();
        data[8..12].copy_from_slice(&7u32.to_le_bytes());
        let err = load(&data, 0).expect_err("version");
        assert!(matches!(err.kind(), DumpErrorKind::UnsupportedVersion(7)));
        assert_eq!(
            err.to_string(),
            "unsupported dump format version 7 (this build reads versions 1 to 4)"
        );
    }

    #[test]
    fn truncated_at_every_position() {
        let data = small_dump();
        for len in 0..data.len() {
            let r = load(&data[..len], 0);
            assert!(is_truncated(&r), "cut at {len}: {:?}", r.map(|_| ()));
        }
        assert_eq!(
            DumpError::new(DumpErrorKind::Truncated).to_string(),
            "file is truncated"
        );
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let data = small_dump();
        for i in 0..data.len() {
            for bit in 0..8 {
                let mut bad = data.clone();
                bad[i] ^= 1 << bit;
                assert!(
                    load(&bad, 0).is_err(),
                    "flipped bit {bit} of byte {i} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn bad_checksum() {
        let mut data = small_dump();
        let n = data.len();
        let stored = u64::from_le_bytes(data[n - 8..].try_into().expect("8 bytes"));
        data[n - 1] ^= 0x40;
        let err = load(&data, 0).expect_err("checksum");
        match err.kind() {
            DumpErrorKind::BadChecksum { expected, found } => {
                assert_eq!(*expected, stored);
                assert_eq!(*found, stored ^ (0x40 << 56));
            }
            other => panic!("expected BadChecksum, got {other:?}"),
        }
        assert!(err
            .to_string()
            .starts_with("checksum mismatch (expected 0x"));

        // Damage inside a value parses fine and is caught only by the checksum.
        let mut data = small_dump();
        let at = data
            .windows(5)
            .position(|w| w == b"hello")
            .expect("value present");
        data[at] = b'j';
        let err = load(&data, 0).expect_err("checksum");
        assert!(matches!(err.kind(), DumpErrorKind::BadChecksum { .. }));
    }

    #[test]
    fn huge_lengths_are_truncated_not_allocated() {
        let huge = {
            let mut tmp = [0u8; 10];
            let n = encode_varint(1 << 60, &mut tmp);
            tmp[..n].to_vec()
        };
        // A key length of 2^60.
        let mut body = vec![DB_MARKER, 0, 1, TAG_STRING];
        body.extend_from_slice(&huge);
        body.extend_from_slice(b"some bytes");
        assert!(is_truncated(&load(&with_header_and_crc(&body), 0)));
        // A value length just above the buffer size and one of u64::MAX.
        for len in [READ_BUF as u64 + 1, u64::MAX] {
            let mut tmp = [0u8; 10];
            let n = encode_varint(len, &mut tmp);
            let mut body = vec![DB_MARKER, 0, 1, TAG_STRING, 1, b'k'];
            body.extend_from_slice(&tmp[..n]);
            body.extend_from_slice(&[0; 100]);
            assert!(
                is_truncated(&load(&with_header_and_crc(&body), 0)),
                "len {len}"
            );
        }
        // A list of 2^60 elements.
        let mut body = vec![DB_MARKER, 0, 1, TAG_LIST, 1, b'k'];
        body.extend_from_slice(&huge);
        body.extend_from_slice(&[0; 100]);
        assert!(is_truncated(&load(&with_header_and_crc(&body), 0)));
        // A section of 2^60 keys, holding the one key the file has room for.
        let mut data = header();
        data.extend_from_slice(&[DB_MARKER, 0]);
        data.extend_from_slice(&huge);
        data.extend_from_slice(&[TAG_STRING, 1, b'k', 1, b'v']);
        assert!(is_truncated(&load(&data, 0)));
    }

    #[test]
    fn overlong_varints_are_corrupt() {
        let mut body = vec![DB_MARKER];
        body.extend_from_slice(&[0x80; 10]);
        body.extend_from_slice(&[0x00, 0, END_MARKER]);
        let msg = corrupt_message(load(&with_header_and_crc(&body), 0));
        assert_eq!(msg, "varint at offset 13 is longer than 10 bytes");

        let mut body = vec![DB_MARKER, 0, 1, TAG_STRING];
        body.extend_from_slice(&[0xff; 9]);
        body.extend_from_slice(&[0x02, 0, 0, END_MARKER]);
        let msg = corrupt_message(load(&with_header_and_crc(&body), 0));
        assert_eq!(msg, "varint at offset 16 does not fit in 64 bits");
    }

    #[test]
    fn unknown_type_tag() {
        let body = [DB_MARKER, 0, 1, 9, 1, b'k', 1, b'v', END_MARKER];
        let err = load(&with_header_and_crc(&body), 0).expect_err("tag");
        assert_eq!(
            err.to_string(),
            "corrupt dump: unknown type tag 9 for key at offset 15"
        );
        // Reserved tags are unknown to this build too, with or without the expiry flag,
        // and the collection tags are unknown in a version 1 file.
        for (version, tag) in [(2, 5), (2, 0x7f), (2, 0x85), (1, 2), (1, 3), (1, 0x84)] {
            let body = [DB_MARKER, 0, 1, tag, 1, b'k', 1, b'v', END_MARKER];
            let msg = corrupt_message(load(&with_version_and_crc(version, &body), 0));
            assert!(msg.starts_with("unknown type tag"), "{tag}: {msg}");
        }
    }

    #[test]
    fn a_version_1_file_still_loads() {
        // Written by the build before hashes, sets and sorted sets existed.
        let body = [
            DB_MARKER, 0, 2, // db 0, 2 keys
            TAG_STRING, 1, b's', 1, b'v', // s = "v"
            TAG_LIST, 1, b'l', 2, 1, b'a', 1, b'b', // l = [a, b]
            END_MARKER,
        ];
        let (got, stats) = load(&with_version_and_crc(1, &body), 0).expect("load");
        assert_eq!(stats.keys_loaded, 2);
        assert_eq!(got[0], (0, b"s".to_vec(), Value::Str(b"v".to_vec()), None));
        assert_eq!(got[1], (0, b"l".to_vec(), list(&[b"a", b"b"]), None));
    }

    #[test]
    fn collections_round_trip_in_their_own_order() {
        let limits = Limits::default();
        let mut hash = Hash::new();
        for (f, v) in [("z", "1"), ("a", "2"), ("m", "")] {
            hash.insert(f.as_bytes(), v.as_bytes(), &limits);
        }
        let mut set = Set::new();
        for m in ["3", "-1", "x"] {
            set.insert(m.as_bytes(), &limits);
        }
        let mut zset = ZSet::new();
        for (m, s) in [
            ("b", 2.5),
            ("a", 2.5),
            ("c", f64::NEG_INFINITY),
            ("d", -0.0),
        ] {
            zset.insert(m.as_bytes(), s, &limits);
        }
        let entries = vec![
            (0, b"h".to_vec(), Value::Hash(hash), None),
            (0, b"s".to_vec(), Value::Set(set), Some(9_999)),
            (2, b"z".to_vec(), Value::ZSet(zset), None),
        ];
        let (got, _) = load(&build_entries(&entries), 0).expect("load");
        assert_eq!(got, entries);
        let Value::ZSet(z) = &got[2].2 else {
            panic!("not a zset")
        };
        let order: Vec<_> = z.iter().map(|(m, _)| m.to_vec()).collect();
        assert_eq!(order, [&b"c"[..], b"d", b"a", b"b"]);
        let Value::Hash(h) = &got[0].2 else {
            panic!("not a hash")
        };
        let fields: Vec<_> = h.iter().map(|(f, _)| f.to_vec()).collect();
        assert_eq!(fields, [&b"z"[..], b"a", b"m"]);
    }

    #[test]
    fn streams_round_trip_with_their_groups() {
        use crate::store::stream::NodeLimits;
        let mut s = Stream::new();
        for i in 1..=150u64 {
            let v = i.to_string();
            s.append(
                StreamId::new(i, 0),
                &[b"f", v.as_bytes()],
                NodeLimits::default(),
            );
        }
        s.append(
            StreamId::new(151, 3),
            &[b"x", b"1", b"y", b""],
            NodeLimits::default(),
        );
        s.delete(StreamId::new(7, 0));
        s.max_deleted_id = StreamId::new(7, 0);
        s.last_id = StreamId::new(200, 0);
        let mut g = Group::new(StreamId::new(5, 0), None);
        g.consumers.insert(b"idle".to_vec(), Default::default());
        g.consumers.entry(b"busy".to_vec()).or_default().seen_time = 42;
        for id in [2, 4] {
            g.consumers
                .get_mut(&b"busy"[..])
                .unwrap()
                .pel
                .insert(StreamId::new(id, 0));
            g.pel.insert(
                StreamId::new(id, 0),
                Nack {
                    delivery_time: 1000 + id,
                    delivery_count: id,
                    consumer: b"busy".to_vec(),
                },
            );
        }
        s.groups.insert(b"g".to_vec(), g);
        s.groups
            .insert(b"h".to_vec(), Group::new(StreamId::MIN, Some(3)));
        let entries = vec![(0, b"st".to_vec(), Value::Stream(Box::new(s.clone())), None)];
        let (got, _) = load(&build_entries(&entries), 0).expect("load");
        let Value::Stream(back) = &got[0].2 else {
            panic!("not a stream")
        };
        // Tombstones are not written, so compare what is observable.
        let all = |s: &Stream| {
            let mut v = Vec::new();
            s.for_each(|e| v.push((e.id, format!("{:?}", e.fields()))));
            v
        };
        assert_eq!(all(back), all(&s));
        assert_eq!(
            (
                back.len(),
                back.last_id,
                back.first_id,
                back.max_deleted_id,
                back.entries_added
            ),
            (
                s.len(),
                s.last_id,
                s.first_id,
                s.max_deleted_id,
                s.entries_added
            )
        );
        assert_eq!(back.groups, s.groups);
    }

    #[test]
    fn a_nan_score_is_corrupt() {
        let mut body = vec![DB_MARKER, 0, 1, TAG_ZSET, 1, b'z', 1, 1, b'm'];
        body.extend_from_slice(&f64::NAN.to_le_bytes());
        body.push(END_MARKER);
        let msg = corrupt_message(load(&with_header_and_crc(&body), 0));
        assert_eq!(msg, "score at offset 21 is not a number");
    }

    #[test]
    fn structural_errors() {
        // Section claims more keys than it has.
        let body = [DB_MARKER, 4, 2, TAG_STRING, 1, b'k', 1, b'v', END_MARKER];
        let msg = corrupt_message(load(&with_header_and_crc(&body), 0));
        assert_eq!(
            msg,
            "section for database 4 at offset 12 declares 2 keys, but found a marker after 1 \
             at offset 20"
        );
        // Unknown byte where a section marker belongs.
        let msg = corrupt_message(load(&with_header_and_crc(&[0x42]), 0));
        assert_eq!(
            msg,
            "expected a database section (0xfe) or the end marker (0xff) at offset 12, found 0x42"
        );
        // Sections out of order.
        let body = [DB_MARKER, 5, 0, DB_MARKER, 5, 0, END_MARKER];
        let msg = corrupt_message(load(&with_header_and_crc(&body), 0));
        assert!(msg.contains("must be in increasing order"), "{msg}");
        // Database index beyond u32.
        let body = [DB_MARKER, 0x80, 0x80, 0x80, 0x80, 0x10, 0, END_MARKER];
        let msg = corrupt_message(load(&with_header_and_crc(&body), 0));
        assert_eq!(
            msg,
            "database index 4294967296 at offset 13 is out of range"
        );
    }

    #[test]
    fn trailing_garbage() {
        let mut data = small_dump();
        let n = data.len();
        data.push(0);
        let msg = corrupt_message(load(&data, 0));
        assert_eq!(
            msg,
            format!("unexpected data after the checksum at offset {n}")
        );
        // A second copy of a valid dump appended is still trailing data.
        let mut twice = small_dump();
        twice.extend_from_slice(&small_dump());
        assert!(corrupt_message(load(&twice, 0)).starts_with("unexpected data"));
    }

    #[test]
    fn io_errors_are_reported() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::PermissionDenied, "nope"))
            }
        }
        let err = read(Failing, 0, &Limits::default(), |_, _, _, _, _| {}).expect_err("io");
        assert!(matches!(err.kind(), DumpErrorKind::Io(_)));
        assert!(std::error::Error::source(&err).is_some());
        assert_eq!(err.to_string(), "I/O error while reading dump: nope");
    }

    #[test]
    fn writer_rejects_misuse() {
        let invalid =
            |r: io::Result<()>| matches!(r, Err(e) if e.kind() == io::ErrorKind::InvalidInput);
        let v = Value::Str(b"v".to_vec());

        let mut w = Writer::new(Vec::new()).expect("new");
        assert!(
            invalid(w.entry(b"k", v.as_ref(), None)),
            "entry before begin_db"
        );

        let mut w = Writer::new(Vec::new()).expect("new");
        w.begin_db(1, 1).expect("begin");
        w.entry(b"k", v.as_ref(), None).expect("entry");
        assert!(
            invalid(w.entry(b"k2", v.as_ref(), None)),
            "entry beyond key_count"
        );
        assert!(invalid(w.begin_db(1, 0)), "repeated index");
        assert!(invalid(w.begin_db(0, 0)), "decreasing index");
        w.begin_db(2, 1).expect("begin");
        assert!(invalid(w.begin_db(3, 0)), "previous section short");
        assert!(w.finish().is_err(), "finish with a short section");

        // After rejected calls the writer still produces a loadable file.
        let mut w = Writer::new(Vec::new()).expect("new");
        w.begin_db(0, 1).expect("begin");
        assert!(invalid(w.begin_db(1, 0)));
        w.entry(b"k", v.as_ref(), None).expect("entry");
        let data = w.finish().expect("finish");
        let (got, _) = load(&data, 0).expect("load");
        assert_eq!(got, vec![(0, b"k".to_vec(), v, None)]);
    }

    #[test]
    fn writer_output_is_independent_of_buffering() {
        // The same dump written through a sink that accepts one byte per call.
        struct OneByte(Vec<u8>);
        impl Write for OneByte {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                match buf.first() {
                    Some(&b) => {
                        self.0.push(b);
                        Ok(1)
                    }
                    None => Ok(0),
                }
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let entries = sample_entries();
        let expected = build_entries(&entries);
        let mut w = Writer::new(OneByte(Vec::new())).expect("new");
        let mut i = 0;
        while i < entries.len() {
            let db = entries[i].0;
            let n = entries[i..].iter().take_while(|e| e.0 == db).count();
            w.begin_db(db, n as u64).expect("begin");
            for (_, k, v, exp) in &entries[i..i + n] {
                w.entry(k, v.as_ref(), *exp).expect("entry");
            }
            i += n;
        }
        assert_eq!(w.finish().expect("finish").0, expected);
    }
}
