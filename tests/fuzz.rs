//! A seeded fuzz test of the wire protocol and the command table, from 20 clients at
//! once.
//!
//! Each client thread mixes two kinds of batch:
//!
//! - **Well-formed pipelines** on a long-lived connection: 1 to 20 requests (sometimes a
//!   deep pipeline of thousands in one write) for every command in `COMMAND LIST` (and
//!   its subcommands, from `COMMAND INFO`), with random arguments: keys, binary blobs,
//!   empty strings, huge, negative and malformed numbers, option words. Each batch ends
//!   with an `ECHO <token>` sentinel, so one reply per request is checked exactly and a
//!   reply stream that falls out of step is caught.
//! - **Hostile batches** on a fresh connection: a few valid requests around truncated
//!   frames, huge or negative lengths, binary noise, NULs, overlong lines and byte-level
//!   mutations (flip, insert, delete, duplicate, cut) of valid requests, then the
//!   sentinel, then a half-close. The client reads every reply until the server closes
//!   (a protocol error closes it, as in Redis; an incomplete request is dropped at the
//!   half-close), so nothing here depends on guessing how long to wait.
//!
//! Every reply must be well-formed RESP, and every error `-PREFIX text` on one line.
//! Afterwards the server must answer PING at once, hold a consistent keyspace, have
//! printed no panic to stderr, and still be running.
//!
//! `REDLITE_FUZZ_SEED` picks the seed (printed on failure) and `REDLITE_FUZZ_REQUESTS`
//! the volume (default 400,000 requests).
//!
//! Excluded, because they would stop the test itself: SHUTDOWN, DEBUG-style commands,
//! blocking commands, subscriptions (and unsubscriptions, one reply per name) and MONITOR, CLIENT REPLY/PAUSE/TRACKING, and CONFIG
//! SET of the parameters that can lock the clients out or flood the log (`dir`, `port`,
//! `bind`, `requirepass`, `maxclients`, `timeout`, the query and output buffer limits,
//! `proto-max-bulk-len`, logging, saving, `maxmemory`...). SAVE runs a limited number of
//! times. Numbers that are accepted offsets allocating hundreds of megabytes
//! (`SETRANGE k 536870911 x`, `SETBIT k 4294967295 1`) are left out to bound memory;
//! numbers just past those limits are in.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{encode, Server};
use redlite::util::rand::Rng;

const DEFAULT_SEED: u64 = 0x00c0_ffee_5eed_2024;
const DEFAULT_REQUESTS: u64 = 400_000;
const CLIENTS: usize = 20;
/// A read or write that takes this long means the server is stuck: a failure.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Requests at most this big are written inline; bigger ones from a second thread, so a
/// client never stops reading replies while the server waits for it to read them.
const INLINE_WRITE_MAX: usize = 8 * 1024;

// ---------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------

/// A parsed reply (RESP2 or RESP3), as much of it as the checks need.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Status(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<V>),
    /// A RESP3 scalar the checks do not look into (double, boolean, big number).
    Scalar,
}

/// Why no reply could be read.
#[derive(Debug)]
enum Fail {
    /// End of stream; `clean` when it fell between replies.
    Eof { clean: bool },
    /// The connection was reset (the server closed with our bytes unread).
    Reset,
    /// Nothing for [`IO_TIMEOUT`].
    Timeout,
    /// Bytes that are not RESP.
    Malformed(String),
}

fn io_fail(e: &std::io::Error) -> Fail {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Fail::Timeout,
        ErrorKind::UnexpectedEof => Fail::Eof { clean: false },
        _ => Fail::Reset,
    }
}

/// Bytes for a message: escaped, cut at 160.
fn show(bytes: &[u8]) -> String {
    let mut s: String = bytes
        .iter()
        .take(160)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if bytes.len() > 160 {
        s.push_str(&format!("...({} bytes)", bytes.len()));
    }
    s
}

/// Checks an error reply's text (after `-`, before CRLF): a prefix word in capitals
/// (`ERR`, `WRONGTYPE`...), then nothing or a space and some text. The line reader has
/// already refused CR or LF inside it.
fn check_error(text: &[u8]) -> Result<(), String> {
    let end = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
    let word = &text[..end];
    let ok_word = word.first().is_some_and(u8::is_ascii_uppercase)
        && word
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
    if !ok_word {
        return Err(format!("error without a prefix word: -{}", show(text)));
    }
    if end + 1 == text.len() {
        return Err(format!("error with an empty text: -{}", show(text)));
    }
    Ok(())
}

struct Reader {
    r: BufReader<TcpStream>,
    /// Every error reply seen (top level or nested), as (prefix, problem if malformed).
    errors: Vec<Vec<u8>>,
}

impl Reader {
    fn new(stream: &TcpStream) -> Reader {
        Reader {
            r: BufReader::with_capacity(64 * 1024, stream.try_clone().expect("clone")),
            errors: Vec::new(),
        }
    }

    /// One line without its CRLF; CR or LF anywhere else is malformed.
    fn line(&mut self) -> Result<Vec<u8>, Fail> {
        let mut line = Vec::new();
        match self.r.read_until(b'\n', &mut line) {
            Ok(0) => Err(Fail::Eof { clean: true }),
            Ok(_) if line.last() != Some(&b'\n') => Err(Fail::Eof { clean: false }),
            Ok(_) => {
                if !line.ends_with(b"\r\n") {
                    return Err(Fail::Malformed(format!(
                        "a line ending in a bare LF: {}",
                        show(&line)
                    )));
                }
                line.truncate(line.len() - 2);
                if line.contains(&b'\r') {
                    return Err(Fail::Malformed(format!(
                        "a CR inside a line: {}",
                        show(&line)
                    )));
                }
                if line.is_empty() {
                    return Err(Fail::Malformed("an empty line".into()));
                }
                Ok(line)
            }
            Err(e) if line.is_empty() => Err(io_fail(&e)),
            Err(e) => match io_fail(&e) {
                Fail::Eof { .. } => Err(Fail::Eof { clean: false }),
                other => Err(other),
            },
        }
    }

    fn number(line: &[u8]) -> Result<i64, Fail> {
        std::str::from_utf8(&line[1..])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Fail::Malformed(format!("a bad number in {}", show(line))))
    }

    /// A length-prefixed payload and its CRLF.
    fn payload(&mut self, len: i64) -> Result<Vec<u8>, Fail> {
        if !(0..=600 << 20).contains(&len) {
            return Err(Fail::Malformed(format!("a payload length of {len}")));
        }
        let mut buf = vec![0u8; len as usize + 2];
        self.r.read_exact(&mut buf).map_err(|e| match io_fail(&e) {
            Fail::Eof { .. } => Fail::Eof { clean: false },
            other => other,
        })?;
        if !buf.ends_with(b"\r\n") {
            return Err(Fail::Malformed(format!(
                "a payload of {len} bytes not followed by CRLF"
            )));
        }
        buf.truncate(len as usize);
        Ok(buf)
    }

    /// One whole reply.
    fn value(&mut self) -> Result<V, Fail> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> Result<V, Fail> {
        if depth > 32 {
            return Err(Fail::Malformed("replies nested 32 deep".into()));
        }
        let line = match self.line() {
            Err(Fail::Eof { .. }) if depth > 0 => return Err(Fail::Eof { clean: false }),
            other => other?,
        };
        let body = &line[1..];
        let value = match line[0] {
            b'+' => V::Status(body.to_vec()),
            b'-' => {
                self.errors.push(body.to_vec());
                V::Error(body.to_vec())
            }
            b':' => V::Int(Self::number(&line)?),
            b'$' => match Self::number(&line)? {
                -1 => V::Nil,
                n => V::Bulk(self.payload(n)?),
            },
            b'=' => {
                let text = self.payload(Self::number(&line)?)?;
                if text.len() < 4 || text[3] != b':' {
                    return Err(Fail::Malformed("a verbatim string without a format".into()));
                }
                V::Bulk(text[4..].to_vec())
            }
            b'!' => {
                return Err(Fail::Malformed(format!(
                    "a RESP3 blob error (Redis sends '-'): {}",
                    show(&line)
                )))
            }
            b'*' | b'~' | b'>' => match Self::number(&line)? {
                -1 if line[0] == b'*' => V::Nil,
                n if n >= 0 => {
                    let mut items = Vec::new();
                    for _ in 0..n {
                        items.push(self.value_at(depth + 1)?);
                    }
                    V::Array(items)
                }
                n => return Err(Fail::Malformed(format!("an aggregate of {n} items"))),
            },
            b'%' | b'|' => {
                let n = Self::number(&line)?;
                if n < 0 {
                    return Err(Fail::Malformed(format!("a map of {n} pairs")));
                }
                let mut items = Vec::new();
                for _ in 0..2 * n {
                    items.push(self.value_at(depth + 1)?);
                }
                if line[0] == b'|' {
                    // An attribute precedes the value it describes.
                    return self.value_at(depth);
                }
                V::Array(items)
            }
            b'_' if body.is_empty() => V::Nil,
            b'#' if body == b"t" || body == b"f" => V::Scalar,
            b',' | b'(' if !body.is_empty() => V::Scalar,
            _ => {
                return Err(Fail::Malformed(format!(
                    "an unknown reply type: {}",
                    show(&line)
                )))
            }
        };
        Ok(value)
    }
}

// ---------------------------------------------------------------------------------------
// What the server offers
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Spec {
    name: String,
    arity: i64,
    /// Subcommands and their arities.
    subs: Vec<(String, i64)>,
}

/// Commands never sent: they would stop the test itself (some are not implemented; the
/// list is ready for when they are). WAIT sleeps out its timeout without replicas, as
/// in Redis. UNSUBSCRIBE and PUNSUBSCRIBE answer once per name,
/// as in Redis, which breaks the one-reply-per-request count. PFSELFTEST adds ten million
/// elements (seconds in a debug build) every time it runs.
#[rustfmt::skip]
const EXCLUDED: &[&str] = &[
    "shutdown", "monitor", "subscribe", "psubscribe", "ssubscribe", "sync", "psync",
    "unsubscribe", "punsubscribe", "sunsubscribe",
    "replicaof", "slaveof", "failover", "blpop", "brpop", "blmove", "brpoplpush", "blmpop",
    "bzpopmin", "bzpopmax", "bzmpop", "xread", "xreadgroup", "pfselftest", "wait",
];

fn excluded(name: &str, flags: &[String]) -> bool {
    name.starts_with("debug") || flags.iter().any(|f| f == "blocking") || EXCLUDED.contains(&name)
}

/// Subcommands never sent: CLIENT REPLY breaks the one-reply-per-request count, PAUSE
/// stalls every client, TRACKING sends pushes.
fn excluded_sub(parent: &str, sub: &str) -> bool {
    parent == "client" && ["reply", "pause", "tracking", "caching"].contains(&sub)
}

/// CONFIG SET parameters never touched: they could lock the clients out (`port`,
/// `bind`, `requirepass`, `maxclients`, `timeout`, buffer limits), move or flood files
/// and logs, or make writes fail for good (`maxmemory`). Matched as parts of names.
#[rustfmt::skip]
const DENIED_PARAMS: &[&str] = &[
    "dir", "file", "port", "bind", "pass", "timeout", "maxclients", "buffer", "bulk", "client",
    "log", "save", "maxmemory", "oom", "replica", "slave", "master", "databases", "unixsocket",
    "appendonly", "protected", "debug", "tls",
];

fn denied_param(name: &[u8]) -> bool {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    DENIED_PARAMS.iter().any(|d| name.contains(d))
}

fn str_of(v: &V) -> String {
    match v {
        V::Bulk(b) | V::Status(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn items(v: &V) -> &[V] {
    match v {
        V::Array(items) => items,
        other => panic!("expected an array, got {other:?}"),
    }
}

/// What the generators draw from.
struct World {
    specs: Vec<Spec>,
    /// Specs cheap enough for deep pipelines.
    cheap: Vec<usize>,
    /// Names CONFIG SET may be given.
    params: Vec<String>,
    /// Option words and subcommand names, for random arguments.
    words: Vec<Vec<u8>>,
    has_multi: bool,
    saves_left: AtomicI64,
}

fn discover(port: u16) -> (World, Vec<String>) {
    let mut c = Client::connect(port).expect("connect");
    let names: Vec<String> = items(&c.call(&[b"COMMAND", b"LIST"]))
        .iter()
        .map(str_of)
        .collect();
    let mut req: Vec<&[u8]> = vec![b"COMMAND", b"INFO"];
    req.extend(names.iter().map(|n| n.as_bytes()));
    let info = c.call(&req);
    let mut specs = Vec::new();
    let mut skipped = Vec::new();
    let mut words: Vec<Vec<u8>> = WORDS.iter().map(|w| w.as_bytes().to_vec()).collect();
    for entry in items(&info) {
        let e = items(entry);
        let name = str_of(&e[0]);
        let V::Int(arity) = e[1] else {
            panic!("arity of {name}")
        };
        let flags: Vec<String> = items(&e[2]).iter().map(str_of).collect();
        if excluded(&name, &flags) {
            skipped.push(name);
            continue;
        }
        let mut subs = Vec::new();
        for sub in items(&e[9]) {
            let s = items(sub);
            let full = str_of(&s[0]);
            let short = full.split('|').nth(1).unwrap_or(&full).to_string();
            let V::Int(a) = s[1] else { panic!("arity") };
            if excluded_sub(&name, &short) {
                skipped.push(full);
                continue;
            }
            words.push(short.as_bytes().to_vec());
            subs.push((short, a));
        }
        specs.push(Spec { name, arity, subs });
    }
    let heavy = [
        "keys", "sort", "sort_ro", "lrange", "save", "flushall", "flushdb", "config", "command",
        "client", "info", "scan", "lcs", "bitop", "quit", "hello", "swapdb", "select", "reset",
        "multi", "exec",
    ];
    let cheap = (0..specs.len())
        .filter(|&i| specs[i].subs.is_empty() && !heavy.contains(&specs[i].name.as_str()))
        .collect();
    let params = items(&c.call(&[b"CONFIG", b"GET", b"*"]))
        .iter()
        .step_by(2)
        .map(str_of)
        .filter(|p| !denied_param(p.as_bytes()))
        .collect();
    let has_multi = names.iter().any(|n| n == "multi");
    let world = World {
        specs,
        cheap,
        params,
        words,
        has_multi,
        saves_left: AtomicI64::new(0),
    };
    (world, skipped)
}

/// Option words of Redis commands, and values they take.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "NX", "XX", "GT", "LT", "EX", "PX", "EXAT", "PXAT", "KEEPTTL", "GET", "PERSIST",
    "LIMIT", "BY", "ASC", "DESC", "ALPHA", "STORE", "MATCH", "COUNT", "TYPE", "WITHSCORES",
    "BIT", "BYTE", "AND", "OR", "XOR", "NOT", "OVERFLOW", "WRAP", "SAT", "FAIL", "INCRBY",
    "SET", "u8", "i64", "u63", "i65", "u0", "#3", "#-1", "REPLACE", "DB", "SYNC", "ASYNC",
    "IDX", "LEN", "MINMATCHLEN", "WITHMATCHLEN", "FILTERBY", "PATTERN", "MODULE", "ACLCAT",
    "ID", "ADDR", "LADDR", "SKIPME", "yes", "no", "string", "list", "hash", "none",
    "ENCODING", "FREQ", "IDLETIME", "REFCOUNT", "HELP", "NOSAVE", "AUTH", "SETNAME",
    "LIB-NAME", "LIB-VER", "NOW", "FORCE", "ABORT", "NORMAL", "MASTER", "PUBSUB", "REPLICA",
    "WITHCODE", "LIBRARYNAME", "*", "?", "[a-z]*", "\\", "k*", "*k*", "[^", "default",
    "127.0.0.1:1", "LEFT", "RIGHT", "BEFORE", "AFTER", "RANK", "MAXLEN", "NOMKSTREAM",
    "ANY", "STRLEN",
];

/// Numbers: small, boundary, past-the-limit, negative and not quite numbers.
#[rustfmt::skip]
const NUMBERS: &[&str] = &[
    "0", "1", "-1", "2", "3", "-2", "10", "100", "-100", "1000", "65535", "65536",
    "9223372036854775807", "-9223372036854775808", "9223372036854775808",
    "-9223372036854775809", "18446744073709551615", "18446744073709551616",
    "99999999999999999999999999", "2147483647", "2147483648", "-2147483648", "4294967296",
    "536870912", "536870913", "1073741824", "-0", "+1", "01", "1e3", "1E10", "0x10", " 1",
    "1 ", "1.5", "-1.5", ".5", "5.", "3.14159", "1e308", "1e309", "-1e309", "inf", "-inf",
    "+inf", "nan", "-nan", "infinity", "1e-320", "0.0000001", "17179869184",
];

// ---------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------

struct Client {
    stream: TcpStream,
    reader: Reader,
}

impl Client {
    fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        let reader = Reader::new(&stream);
        Ok(Client { stream, reader })
    }

    /// A request and its reply, for the setup and the final checks (which must work).
    fn call(&mut self, args: &[&[u8]]) -> V {
        self.stream.write_all(&encode(args)).expect("write");
        self.reader
            .value()
            .unwrap_or_else(|e| panic!("no reply to {:?}: {e:?}", show(args[0])))
    }

    /// A request and its reply, or why there is none.
    fn try_call(&mut self, args: &[&[u8]]) -> Result<V, Fail> {
        if self.stream.write_all(&encode(args)).is_err() {
            return Err(Fail::Reset);
        }
        self.reader.value()
    }

    /// Writes `bytes` while `read` reads replies: big requests go from a second thread.
    fn exchange<T>(
        &mut self,
        bytes: &[u8],
        half_close: bool,
        read: impl FnOnce(&mut Reader) -> T,
    ) -> (std::io::Result<()>, T) {
        let stream = &self.stream;
        let reader = &mut self.reader;
        let write = move || {
            let mut out = stream;
            let r = out.write_all(bytes);
            if half_close {
                let _ = stream.shutdown(Shutdown::Write);
            }
            r
        };
        if bytes.len() <= INLINE_WRITE_MAX {
            let w = write();
            (w, read(reader))
        } else {
            std::thread::scope(|s| {
                let writer = s.spawn(write);
                let out = read(reader);
                (writer.join().expect("writer thread"), out)
            })
        }
    }
}

// ---------------------------------------------------------------------------------------
// The fuzzer
// ---------------------------------------------------------------------------------------

/// What a mutation puts in place of a length or count.
const BAD_LENGTHS: &[&[u8]] = &[b"-5", b"99999999999", b"600000000", b"x", b"", b"-1"];

fn pick<'a, T>(rng: &mut Rng, from: &'a [T]) -> &'a T {
    &from[rng.below(from.len() as u64) as usize]
}

/// What one client thread saw.
#[derive(Default)]
struct Tally {
    requests: u64,
    batches: u64,
    hostile_batches: u64,
    connections: u64,
    replies: u64,
    errors: u64,
    protocol_errors: u64,
    resets: u64,
    closes_expected: u64,
    closes_unexpected: u64,
    /// CLIENT KILL requests that may have killed someone (not refused with an error).
    kills: u64,
    prefixes: BTreeMap<String, u64>,
    per_command: BTreeMap<String, u64>,
    /// Everything that is wrong, with context.
    problems: Vec<String>,
}

impl Tally {
    fn problem(&mut self, p: String) {
        if self.problems.len() < 50 {
            self.problems.push(p);
        }
    }

    /// Checks and counts the errors a reader collected.
    fn take_errors(&mut self, reader: &mut Reader) {
        for e in reader.errors.drain(..) {
            self.errors += 1;
            if let Err(p) = check_error(&e) {
                self.problem(p);
            }
            let word = e.split(|&b| b == b' ').next().unwrap_or(b"");
            *self
                .prefixes
                .entry(String::from_utf8_lossy(word).into_owned())
                .or_default() += 1;
            if e.starts_with(b"ERR Protocol error") {
                self.protocol_errors += 1;
            }
        }
    }
}

/// How a request may end its connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Closes {
    No,
    /// QUIT.
    Quit,
    /// CLIENT KILL, which may hit the caller or anyone else.
    Kill,
}

struct Fuzzer<'w> {
    rng: Rng,
    world: &'w World,
    port: u16,
    id: usize,
    sentinels: u64,
    tally: Tally,
    conn: Option<Client>,
    multi_seen: bool,
}

impl Fuzzer<'_> {
    fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.rng.below(100) < percent
    }

    /// `word` in a random case, half the time.
    fn cased(&mut self, word: &str) -> Vec<u8> {
        let mut w = word.as_bytes().to_vec();
        if self.chance(50) {
            for b in &mut w {
                if self.rng.below(2) == 0 {
                    *b = b.to_ascii_uppercase();
                }
            }
        }
        w
    }

    fn key(&mut self) -> Vec<u8> {
        match self.below(24) {
            0 => {
                let n = self.below(16) as usize;
                self.rng.bytes(n)
            }
            1 => Vec::new(),
            2 => b"a\r\nb".to_vec(),
            3 => b"\x00\xff\x00".to_vec(),
            4 => format!("list{}", self.below(4)).into_bytes(),
            5 => b"{tag}key".to_vec(),
            n => format!("k{}", n % 12).into_bytes(),
        }
    }

    fn number(&mut self) -> Vec<u8> {
        match self.below(10) {
            0..=4 => pick(&mut self.rng, NUMBERS).as_bytes().to_vec(),
            5..=6 => (self.below(40) as i64 - 10).to_string().into_bytes(),
            7 => (self.rng.next_u64() as i64).to_string().into_bytes(),
            8 => (self.below(1_000_000) as i64 - 1000)
                .to_string()
                .into_bytes(),
            _ => format!("{:.3}", (self.rng.next_u64() as i64) as f64 / 1e12).into_bytes(),
        }
    }

    fn blob(&mut self) -> Vec<u8> {
        let roll = self.below(2000);
        let len = if roll == 0 {
            // Rarely, a big one (up to 1 MiB).
            64 * 1024 + self.below(960 * 1024) as usize
        } else if roll < 40 {
            1024 + self.below(16 * 1024) as usize
        } else {
            self.below(40) as usize
        };
        if self.chance(50) {
            self.rng.bytes(len)
        } else {
            let c = b'a' + self.below(26) as u8;
            vec![c; len]
        }
    }

    fn arg(&mut self) -> Vec<u8> {
        match self.below(100) {
            0..=29 => self.key(),
            30..=54 => self.number(),
            55..=74 => {
                let w = pick(&mut self.rng, &self.world.words).clone();
                let w = String::from_utf8_lossy(&w).into_owned();
                self.cased(&w)
            }
            75..=91 => self.blob(),
            92..=95 => Vec::new(),
            _ => {
                let s = pick(&mut self.rng, &self.world.specs).name.clone();
                self.cased(&s)
            }
        }
    }

    /// A well-formed request for a random command (from `cheap` for deep pipelines).
    fn request(&mut self, deep: bool) -> (Vec<Vec<u8>>, Closes) {
        if !deep && self.chance(3) {
            // An unknown command, possibly binary, possibly empty.
            let mut req = vec![match self.below(3) {
                0 => Vec::new(),
                1 => {
                    let n = self.below(40) as usize;
                    self.rng.bytes(n)
                }
                _ => format!("nosuch{}", self.below(100)).into_bytes(),
            }];
            for _ in 0..self.below(4) {
                req.push(self.arg());
            }
            return (req, Closes::No);
        }
        let spec = if deep {
            let i = *pick(&mut self.rng, &self.world.cheap);
            &self.world.specs[i]
        } else {
            pick(&mut self.rng, &self.world.specs)
        };
        let mut req = vec![self.cased(&spec.name)];
        let (arity, fixed) = if !spec.subs.is_empty() && self.chance(92) {
            let (sub, a) = pick(&mut self.rng, &spec.subs).clone();
            req.push(self.cased(&sub));
            (a, 2)
        } else {
            (spec.arity, 1)
        };
        let nargs = if self.chance(75) {
            if arity > 0 {
                (arity - fixed).max(0) as u64
            } else {
                (-arity - fixed).max(0) as u64 + self.below(4)
            }
        } else {
            self.below(7)
        };
        for _ in 0..nargs {
            req.push(self.arg());
        }
        let closes = self.constrain(&spec.name, &mut req);
        (req, closes)
    }

    /// Keeps a request from stopping the test; says whether it may close the connection.
    fn constrain(&mut self, name: &str, req: &mut Vec<Vec<u8>>) -> Closes {
        let sub = req
            .get(1)
            .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
            .unwrap_or_default();
        match name {
            "config" if sub == "set" => {
                for i in (2..req.len()).step_by(2) {
                    if denied_param(&req[i]) {
                        let p = pick(&mut self.rng, &self.world.params).clone();
                        req[i] = self.cased(&p);
                    }
                }
            }
            "save" if self.world.saves_left.fetch_sub(1, Ordering::Relaxed) <= 0 => {
                *req = vec![b"PING".to_vec()];
            }
            // Redis would wait forever for replicas with a zero timeout.
            "wait" if req.len() == 3 && req[2].iter().all(|b| b"0+-".contains(b)) => {
                req[2] = b"1".to_vec();
            }
            "select" | "swapdb" | "move" if self.chance(70) => {
                let at = if name == "move" { 2 } else { 1 };
                for arg in req.iter_mut().skip(at) {
                    *arg = self.rng.below(16).to_string().into_bytes();
                }
            }
            "multi" => self.multi_seen = true,
            "quit" => return Closes::Quit,
            "client" if sub == "kill" => return Closes::Kill,
            _ => {}
        }
        Closes::No
    }

    fn count(&mut self, req: &[Vec<u8>]) {
        let name = String::from_utf8_lossy(&req[0]).to_ascii_lowercase();
        if self.world.specs.iter().any(|s| s.name == name) {
            *self.tally.per_command.entry(name).or_default() += 1;
        }
    }

    fn sentinel(&mut self) -> (Vec<u8>, Vec<u8>) {
        self.sentinels += 1;
        let token = format!("sentinel-{}-{}", self.id, self.sentinels).into_bytes();
        (encode(&[b"ECHO", &token]), token)
    }

    fn connect(&mut self) -> Option<Client> {
        for attempt in 0..50 {
            match Client::connect(self.port) {
                Ok(c) => {
                    self.tally.connections += 1;
                    return Some(c);
                }
                Err(e) if attempt == 49 => {
                    self.tally.problem(format!("cannot connect: {e}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        None
    }

    /// A well-formed pipeline on the long-lived connection, read back one reply per
    /// request.
    fn pipeline(&mut self, deep: bool) {
        let n = if deep {
            500 + self.below(1500)
        } else {
            1 + self.below(20)
        };
        let mut reqs = Vec::new();
        let mut bytes = Vec::new();
        for _ in 0..n {
            let (req, closes) = self.request(deep);
            let parts: Vec<&[u8]> = req.iter().map(Vec::as_slice).collect();
            bytes.extend(encode(&parts));
            self.count(&req);
            reqs.push((req, closes));
        }
        let (sentinel, token) = self.sentinel();
        bytes.extend(sentinel);
        if self.conn.is_none() {
            self.conn = self.connect();
            // A quarter of the long-lived connections speak RESP3 from the start, if
            // the server does (else it answers NOPROTO and stays on RESP2).
            if self.chance(25) {
                if let Some(mut c) = self.conn.take() {
                    match c.try_call(&[b"HELLO", b"3"]) {
                        Ok(V::Array(_)) => self.conn = Some(c),
                        Ok(V::Error(e)) if e.starts_with(b"NOPROTO ") => self.conn = Some(c),
                        // Closed at once: some CLIENT KILL hit it.
                        Err(Fail::Eof { clean: true } | Fail::Reset) => {}
                        other => self.tally.problem(format!("HELLO 3: {other:?}")),
                    }
                }
            }
        }
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let may_close = reqs.iter().any(|(_, c)| *c != Closes::No);
        let multi = self.world.has_multi;
        let (written, outcome) = conn.exchange(&bytes, false, |reader| {
            let mut replies = Vec::new();
            let mut end = None;
            for _ in 0..=reqs.len() {
                match reader.value() {
                    Ok(v) => replies.push(v),
                    Err(f) => {
                        end = Some(f);
                        break;
                    }
                }
            }
            (replies, end)
        });
        let (replies, end) = outcome;
        self.tally.batches += 1;
        self.tally.replies += replies.len() as u64;
        self.tally.take_errors(&mut conn.reader);
        // A CLIENT KILL that killed someone (or whose reply never came) may have closed
        // any connection.
        for (i, (_, c)) in reqs.iter().enumerate() {
            // No reply: the request never ran (the connection closed before it).
            let killed = match replies.get(i) {
                None => false,
                Some(V::Int(n)) => *n > 0,
                Some(V::Status(ok)) => ok == b"OK",
                Some(_) => false,
            };
            if *c == Closes::Kill && killed {
                self.tally.kills += 1;
            }
        }
        let summary = || {
            let names: Vec<String> = reqs
                .iter()
                .take(30)
                .map(|(r, _)| {
                    r.iter()
                        .take(4)
                        .map(|a| show(&a[..a.len().min(24)]))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            names.join(" | ")
        };
        match end {
            None => {
                if written.is_ok() {
                    self.tally.requests += n;
                }
                let last = replies.last().expect("the sentinel's reply");
                let in_step = *last == V::Bulk(token.clone())
                    || (multi && self.multi_seen && *last == V::Status(b"QUEUED".to_vec()));
                if in_step {
                    self.conn = Some(conn);
                } else {
                    self.tally.problem(format!(
                        "replies out of step: the sentinel got {last:?}; requests: {}",
                        summary()
                    ));
                }
            }
            Some(f) => {
                self.tally.requests += replies.len() as u64;
                match f {
                    Fail::Eof { clean: true } | Fail::Reset if may_close => {
                        self.tally.closes_expected += 1;
                    }
                    Fail::Eof { clean: true } | Fail::Reset => {
                        if matches!(f, Fail::Reset) {
                            self.tally.resets += 1;
                        }
                        self.tally.closes_unexpected += 1;
                    }
                    Fail::Eof { clean: false } => {
                        self.tally.closes_unexpected += 1;
                        self.tally.problem(format!(
                            "the connection closed in the middle of reply {} of {n}: {}",
                            replies.len() + 1,
                            summary()
                        ));
                    }
                    Fail::Timeout => self.tally.problem(format!(
                        "no reply {} of {} within {IO_TIMEOUT:?}: {}",
                        replies.len() + 1,
                        n + 1,
                        summary()
                    )),
                    Fail::Malformed(m) => self.tally.problem(format!(
                        "malformed reply {} of {n}: {m}; requests: {}",
                        replies.len() + 1,
                        summary()
                    )),
                }
                self.multi_seen = false;
            }
        }
        if let Err(e) = written {
            if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut {
                self.tally
                    .problem(format!("a write stalled for {IO_TIMEOUT:?}: {}", summary()));
            }
        }
    }

    /// One hostile frame.
    fn hostile(&mut self) -> Vec<u8> {
        let valid = |f: &mut Self| {
            let (req, _) = f.request(false);
            let parts: Vec<&[u8]> = req.iter().map(Vec::as_slice).collect();
            encode(&parts)
        };
        match self.below(16) {
            // A valid request cut anywhere.
            0 => {
                let mut r = valid(self);
                let at = self.below(r.len() as u64) as usize;
                r.truncate(at);
                r
            }
            // Huge, negative and malformed counts and lengths.
            1 => {
                let heads: &[&[u8]] = &[
                    b"*99999999999\r\n",
                    b"*2147483648\r\n",
                    b"*-5\r\n",
                    b"*-1\r\n",
                    b"*0\r\n",
                    b"*abc\r\n",
                    b"*\r\n",
                    b"*1\r\n$-5\r\n",
                    b"*1\r\n$-1\r\n",
                    b"*1\r\n$600000000\r\n",
                    b"*1\r\n$99999999999999999999\r\n",
                    b"*1\r\n$abc\r\n",
                    b"*1\r\n$\r\n",
                    b"*1\r\n:4\r\nPING\r\n",
                    b"*2\r\n$4\r\nECHO\r\n+hi\r\n",
                    b"*1\r\n$4\r\nPINGxx",
                    b"*1\r\n$4\r\nPI",
                    b"*2147483647\r\n$4\r\nPING\r\n",
                    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n",
                    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870911\r\nabc",
                    b"*1\x00\r\n$4\r\nPING\r\n",
                    b"*1\r\n$4\x00\r\nPING\r\n",
                ];
                let mut h = pick(&mut self.rng, heads).to_vec();
                if self.chance(30) {
                    let n = self.below(8192) as usize;
                    h.extend(self.rng.bytes(n));
                }
                h
            }
            // Binary noise, sometimes after a '*' or '$'.
            2 | 3 => {
                let n = 1 + self.below(4096) as usize;
                let mut noise = self.rng.bytes(n);
                if self.chance(30) {
                    noise[0] = *pick(&mut self.rng, b"*$+-:");
                }
                noise
            }
            // Inline requests: quoting, escapes, unbalanced quotes.
            4 => {
                let lines: &[&[u8]] = &[
                    b"PING\r\n",
                    b"SET \"a b\" 'c d'\r\n",
                    b"SET k \"\\x41\\x4\\n\\\"\" \r\n",
                    b"GET \"unbalanced\r\n",
                    b"GET 'unbalanced\r\n",
                    b"GET \"a\"b\r\n",
                    b"ECHO a\x00b\r\n",
                    b"\r\n\r\n\n",
                    b"   \t  \r\n",
                    b"SET k v EX 10\n",
                    b"INCR \"\"\r\n",
                ];
                pick(&mut self.rng, lines).to_vec()
            }
            // Lines past the 64 KiB inline limit.
            5 => {
                let mut line = match self.below(3) {
                    0 => b"*1\r\n$".to_vec(),
                    1 => b"*".to_vec(),
                    _ => b"ECHO ".to_vec(),
                };
                let filler = *pick(&mut self.rng, b"1a \x00");
                line.extend(vec![filler; 64 * 1024 + self.below(2048) as usize]);
                line
            }
            // Byte-level mutations of valid requests.
            _ => {
                let mut r = valid(self);
                for _ in 0..1 + self.below(4) {
                    self.mutate(&mut r);
                }
                r
            }
        }
    }

    fn mutate(&mut self, r: &mut Vec<u8>) {
        if r.is_empty() {
            r.push(b'*');
            return;
        }
        let at = self.below(r.len() as u64) as usize;
        match self.below(8) {
            0 => r[at] ^= 1 << self.below(8),
            1 => r[at] = (self.rng.next_u64() >> 56) as u8,
            2 => {
                let n = 1 + self.below(8) as usize;
                let bytes = self.rng.bytes(n);
                r.splice(at..at, bytes);
            }
            3 => {
                let end = (at + 1 + self.below(8) as usize).min(r.len());
                r.drain(at..end);
            }
            4 => {
                let end = (at + 1 + self.below(32) as usize).min(r.len());
                let dup = r[at..end].to_vec();
                r.splice(at..at, dup);
            }
            5 => r.truncate(at),
            6 => {
                // A length or count replaced by a huge, negative or garbage one.
                if let Some(p) = r[at..].iter().position(|&b| b == b'$' || b == b'*') {
                    let start = at + p + 1;
                    let end = r[start..]
                        .iter()
                        .position(|&b| b == b'\r')
                        .map_or(r.len(), |e| start + e);
                    let n = *pick(&mut self.rng, BAD_LENGTHS);
                    r.splice(start..end, n.iter().copied());
                }
            }
            _ => {
                // CRLF to a bare LF.
                if let Some(p) = r[at..].windows(2).position(|w| w == b"\r\n") {
                    r.remove(at + p);
                }
            }
        }
    }

    /// Hostile frames around valid requests on a fresh connection, then the sentinel and
    /// a half-close; every reply is read until the server closes.
    fn hostile_batch(&mut self, deep: bool) {
        let mut bytes = Vec::new();
        let mut frames = 0;
        if deep {
            // A deep pipeline with a few mutations somewhere in it.
            let n = 500 + self.below(1500);
            for _ in 0..n {
                let (req, _) = self.request(true);
                let parts: Vec<&[u8]> = req.iter().map(Vec::as_slice).collect();
                let mut r = encode(&parts);
                if self.chance(1) {
                    self.mutate(&mut r);
                }
                bytes.extend(r);
            }
            frames += n;
        } else {
            for _ in 0..self.below(3) {
                let (req, _) = self.request(false);
                let parts: Vec<&[u8]> = req.iter().map(Vec::as_slice).collect();
                bytes.extend(encode(&parts));
                frames += 1;
            }
            for _ in 0..1 + self.below(2) {
                bytes.extend(self.hostile());
                frames += 1;
            }
            if self.chance(30) {
                let (req, _) = self.request(false);
                let parts: Vec<&[u8]> = req.iter().map(Vec::as_slice).collect();
                bytes.extend(encode(&parts));
                frames += 1;
            }
        }
        bytes.extend(self.sentinel().0);
        let Some(mut conn) = self.connect() else {
            return;
        };
        let (written, (replies, end)) = conn.exchange(&bytes, true, |reader| {
            let mut replies: Vec<V> = Vec::new();
            loop {
                match reader.value() {
                    Ok(v) => replies.push(v),
                    Err(f) => return (replies, f),
                }
            }
        });
        self.tally.hostile_batches += 1;
        self.tally.replies += replies.len() as u64;
        self.tally.take_errors(&mut conn.reader);
        if written.is_ok() {
            self.tally.requests += frames;
        }
        let context = || show(&bytes[..bytes.len().min(300)]);
        // A protocol error closes the connection: nothing may follow it.
        if let Some(i) = replies
            .iter()
            .position(|v| matches!(v, V::Error(e) if e.starts_with(b"ERR Protocol error")))
        {
            if i + 1 != replies.len() {
                self.tally.problem(format!(
                    "{} replies after a protocol error; sent: {}",
                    replies.len() - i - 1,
                    context()
                ));
            }
        }
        match end {
            Fail::Eof { clean: true } => {}
            Fail::Reset => self.tally.resets += 1,
            Fail::Eof { clean: false } => self
                .tally
                .problem(format!("a reply cut short by the close; sent: {}", context())),
            Fail::Timeout => self.tally.problem(format!(
                "the server neither answered nor closed within {IO_TIMEOUT:?} of a half-close; sent: {}",
                context()
            )),
            Fail::Malformed(m) => self
                .tally
                .problem(format!("malformed reply: {m}; sent: {}", context())),
        }
    }

    fn run(&mut self, quota: u64) {
        while self.tally.requests < quota {
            match self.below(1000) {
                0..=549 => self.pipeline(false),
                550..=552 => self.pipeline(true),
                553..=996 => self.hostile_batch(false),
                _ => self.hostile_batch(true),
            }
            if self.tally.problems.len() >= 50 {
                break;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")),
        Err(_) => default,
    }
}

/// Prints the seed if the test fails anywhere, even in a helper's panic.
struct SeedOnFailure(u64);

impl Drop for SeedOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "\n*** fuzz failed with REDLITE_FUZZ_SEED={} (rerun with it to reproduce) ***\n",
                self.0
            );
        }
    }
}

#[test]
fn fuzz_the_protocol_and_the_command_table() {
    let seed = env_u64("REDLITE_FUZZ_SEED", DEFAULT_SEED);
    let total = env_u64("REDLITE_FUZZ_REQUESTS", DEFAULT_REQUESTS);
    let _guard = SeedOnFailure(seed);
    eprintln!("fuzz: seed {seed}, {total} requests, {CLIENTS} clients");

    let mut server = Server::start(&[]);
    let port = server.port;
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let mut pipe = server
        .child
        .stderr
        .take()
        .expect("the server's stderr is piped");
    let sink = Arc::clone(&stderr);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });

    let (world, skipped) = discover(port);
    world
        .saves_left
        .store((total / 10_000).max(2) as i64, Ordering::Relaxed);
    eprintln!(
        "fuzz: {} commands, {} CONFIG SET parameters; never sent: {skipped:?}",
        world.specs.len(),
        world.params.len()
    );

    let started = Instant::now();
    let world = &world;
    let next_id = AtomicU64::new(0);
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let id = next_id.fetch_add(1, Ordering::Relaxed) as usize;
                s.spawn(move || {
                    let mut f = Fuzzer {
                        rng: Rng::new(seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                        world,
                        port,
                        id,
                        sentinels: 0,
                        tally: Tally::default(),
                        conn: None,
                        multi_seen: false,
                    };
                    f.run(total.div_ceil(CLIENTS as u64));
                    f.tally
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a fuzz thread panicked"))
            .collect()
    });
    let elapsed = started.elapsed();

    let mut sum = Tally::default();
    for t in tallies {
        sum.requests += t.requests;
        sum.batches += t.batches;
        sum.hostile_batches += t.hostile_batches;
        sum.connections += t.connections;
        sum.replies += t.replies;
        sum.errors += t.errors;
        sum.protocol_errors += t.protocol_errors;
        sum.resets += t.resets;
        sum.closes_expected += t.closes_expected;
        sum.closes_unexpected += t.closes_unexpected;
        sum.kills += t.kills;
        for (k, v) in t.prefixes {
            *sum.prefixes.entry(k).or_default() += v;
        }
        for (k, v) in t.per_command {
            *sum.per_command.entry(k).or_default() += v;
        }
        sum.problems.extend(t.problems);
    }
    eprintln!(
        "fuzz: {} requests in {:.1} s: {} pipelines, {} hostile batches, {} connections, \
         {} replies, {} errors ({} protocol errors), prefixes {:?}; closes: {} expected, {} \
         unexpected (CLIENT KILLs that may have hit: {}), {} resets",
        sum.requests,
        elapsed.as_secs_f64(),
        sum.batches,
        sum.hostile_batches,
        sum.connections,
        sum.replies,
        sum.errors,
        sum.protocol_errors,
        sum.prefixes,
        sum.closes_expected,
        sum.closes_unexpected,
        sum.kills,
        sum.resets,
    );

    // The server is alive and answers at once.
    assert!(
        server.child.try_wait().expect("try_wait").is_none(),
        "the server exited during the fuzz (seed {seed})"
    );
    let t = Instant::now();
    let mut c = Client::connect(port).expect("connect after the fuzz");
    assert_eq!(c.call(&[b"PING"]), V::Status(b"PONG".to_vec()));
    let ping = t.elapsed();
    eprintln!("fuzz: PING afterwards took {ping:?}");
    assert!(
        ping < Duration::from_secs(1),
        "PING took {ping:?} (seed {seed})"
    );

    assert!(
        sum.problems.is_empty(),
        "seed {seed}: {} problems, the first ones:\n{}",
        sum.problems.len(),
        sum.problems.join("\n")
    );
    assert!(
        sum.requests >= total,
        "only {} of {total} requests were sent (seed {seed})",
        sum.requests
    );
    // Only QUIT, CLIENT KILL (ours or another client's) and protocol errors close a
    // connection.
    assert!(
        sum.closes_unexpected == 0 || sum.kills > 0,
        "{} connections closed for no reason (seed {seed})",
        sum.closes_unexpected
    );
    let unsent: Vec<&str> = world
        .specs
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| !sum.per_command.contains_key(*n))
        .collect();
    assert!(unsent.is_empty(), "never sent: {unsent:?} (seed {seed})");

    check_keyspace(&mut c, seed);

    // Every connection the fuzz opened is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let V::Bulk(info) = c.call(&[b"INFO", b"clients"]) else {
            panic!("INFO")
        };
        if String::from_utf8_lossy(&info).contains("connected_clients:1\r\n") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "clients still connected 10 s after the fuzz (seed {seed}): {}",
            String::from_utf8_lossy(&info)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A final write and read.
    assert_eq!(c.call(&[b"SELECT", b"0"]), V::Status(b"OK".to_vec()));
    let value = b"final\x00\r\nvalue";
    assert_eq!(
        c.call(&[b"SET", b"fuzz:final", value]),
        V::Status(b"OK".to_vec())
    );
    assert_eq!(c.call(&[b"GET", b"fuzz:final"]), V::Bulk(value.to_vec()));

    // No worker panicked: the default hook would have said so on stderr.
    std::thread::sleep(Duration::from_millis(200));
    let err = String::from_utf8_lossy(&stderr.lock().unwrap()).into_owned();
    assert!(
        !err.contains("panicked"),
        "the server panicked (seed {seed}):\n{}",
        &err[err.len().saturating_sub(4000)..]
    );

    // The background thread still runs: active expiry reclaims a key nobody touches
    // (DBSIZE counts expired keys until they are reclaimed).
    assert_eq!(c.call(&[b"SELECT", b"15"]), V::Status(b"OK".to_vec()));
    assert_eq!(c.call(&[b"FLUSHDB"]), V::Status(b"OK".to_vec()));
    assert_eq!(
        c.call(&[b"SET", b"fuzz:ttl", b"v", b"PX", b"100"]),
        V::Status(b"OK".to_vec())
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.call(&[b"DBSIZE"]) != V::Int(0) {
        assert!(
            Instant::now() < deadline,
            "active expiry stopped: an expired key is still there after 10 s (seed {seed})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server.child.try_wait().expect("try_wait").is_none(),
        "the server exited (seed {seed})"
    );
}

/// Every database: DBSIZE agrees with KEYS * and with a full SCAN, and every key has a
/// type whose value reads back consistently.
fn check_keyspace(c: &mut Client, seed: u64) {
    let dbs = match c.call(&[b"CONFIG", b"GET", b"databases"]) {
        V::Array(kv) => str_of(&kv[1]).parse::<usize>().expect("databases"),
        other => panic!("CONFIG GET databases: {other:?}"),
    };
    let mut total = 0;
    for db in 0..dbs {
        let dbs = db.to_string();
        assert_eq!(
            c.call(&[b"SELECT", dbs.as_bytes()]),
            V::Status(b"OK".to_vec())
        );
        // Keys that expire meanwhile can make one round disagree; the active expiry
        // cycle settles that within a few seconds.
        let mut attempt = 0;
        let keys = loop {
            attempt += 1;
            let V::Int(before) = c.call(&[b"DBSIZE"]) else {
                panic!("DBSIZE")
            };
            let keys: Vec<Vec<u8>> = match c.call(&[b"KEYS", b"*"]) {
                V::Array(k) => k
                    .into_iter()
                    .map(|k| match k {
                        V::Bulk(b) => b,
                        other => panic!("a key: {other:?}"),
                    })
                    .collect(),
                other => panic!("KEYS: {other:?}"),
            };
            let mut scanned = HashSet::new();
            let mut cursor = b"0".to_vec();
            loop {
                let reply = c.call(&[b"SCAN", &cursor, b"COUNT", b"50"]);
                let parts = items(&reply);
                let V::Bulk(next) = &parts[0] else {
                    panic!("SCAN cursor")
                };
                for k in items(&parts[1]) {
                    let V::Bulk(k) = k else { panic!("SCAN key") };
                    scanned.insert(k.clone());
                }
                cursor = next.clone();
                if cursor == b"0" {
                    break;
                }
            }
            let V::Int(after) = c.call(&[b"DBSIZE"]) else {
                panic!("DBSIZE")
            };
            let unique: HashSet<Vec<u8>> = keys.iter().cloned().collect();
            let agree = before == after
                && before as usize == keys.len()
                && unique.len() == keys.len()
                && scanned == unique;
            if agree {
                break keys;
            }
            assert!(
                attempt < 40,
                "db {db} is inconsistent (seed {seed}): DBSIZE {before} then {after}, KEYS * \
                 {} ({} distinct), SCAN {}",
                keys.len(),
                unique.len(),
                scanned.len()
            );
            std::thread::sleep(Duration::from_millis(250));
        };
        total += keys.len();
        for key in &keys {
            let ty = c.call(&[b"TYPE", key]);
            let check = |c: &mut Client, cmd: &[&[u8]]| c.call(cmd);
            match &ty {
                V::Status(t) if t == b"string" => {
                    let len = check(c, &[b"STRLEN", key]);
                    match check(c, &[b"GET", key]) {
                        V::Bulk(v) => assert_eq!(len, V::Int(v.len() as i64), "{}", show(key)),
                        V::Nil => {} // expired meanwhile
                        other => panic!("GET {}: {other:?} (seed {seed})", show(key)),
                    }
                }
                V::Status(t) if t == b"list" => {
                    let len = check(c, &[b"LLEN", key]);
                    let all = check(c, &[b"LRANGE", key, b"0", b"-1"]);
                    let got = items(&all).len() as i64;
                    if len != V::Int(0) {
                        assert_eq!(len, V::Int(got), "LLEN vs LRANGE of {}", show(key));
                    }
                }
                V::Status(t) if t == b"none" => {} // expired meanwhile
                V::Status(t) if !t.is_empty() && t.iter().all(u8::is_ascii_lowercase) => {}
                other => panic!("TYPE {}: {other:?} (seed {seed})", show(key)),
            }
            match c.call(&[b"OBJECT", b"ENCODING", key]) {
                V::Bulk(_) | V::Nil => {}
                other => panic!("OBJECT ENCODING {}: {other:?} (seed {seed})", show(key)),
            }
        }
    }
    eprintln!("fuzz: keyspace consistent, {total} keys in {dbs} databases");
}
