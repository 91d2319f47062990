//! Loading the AOF at startup: the manifest's base file, then its incremental files,
//! each replayed command by command through the dispatcher by a fake client, as Redis's
//! `loadAppendOnlyFiles` and `loadSingleAppendOnlyFile` do (same checks, same outcomes,
//! same log lines).
//!
//! The reader ([`CommandReader`]) reads as Redis's does with `fgets` and `fread`: a line
//! of at most 1023 bytes for `*<argc>` and `$<len>`, `#` annotation lines skipped, the
//! bulk's bytes and two more (the CRLF, not checked). A file that ends inside a command
//! is truncated at the end of the last complete one when `aof-load-truncated` is yes
//! (only the last file may be); anything else that is not a command is fatal.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::manifest::{strerror, Manifest};
use crate::client::{ClientHandle, ClientState};
use crate::resp::{Args, Reply};
use crate::state::Server;
use crate::util::num::atol;

/// Redis's `AOF_ANNOTATION_LINE_MAX_LEN`: the `fgets` buffer (1023 bytes and a NUL).
const LINE_MAX: usize = 1024;

/// The outcome of loading one file or all of them (Redis's `AOF_*` codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    NotExist,
    Empty,
    OpenErr,
    Failed,
    Truncated,
}

/// One step of reading.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A complete command.
    Command(Vec<Vec<u8>>),
    /// The file ended where a command may start.
    End,
    /// The file ended inside a command.
    Truncated,
    /// Something that is not a command (Redis's `fmterr`).
    BadFormat,
}

/// Reads commands as Redis's AOF loader does, counting the bytes consumed.
pub struct CommandReader<R> {
    inner: R,
    /// Bytes consumed so far (the offset of the next byte).
    pub pos: u64,
    /// The last line read (kept to reuse its allocation).
    line: Vec<u8>,
}

/// What [`CommandReader::next_into`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A complete command, in the `Args` given.
    Command,
    End,
    Truncated,
    BadFormat,
}

impl<R: BufRead> CommandReader<R> {
    pub fn new(inner: R) -> Self {
        CommandReader {
            inner,
            pos: 0,
            line: Vec::new(),
        }
    }

    /// `fgets`: up to 1023 bytes, or through a newline, into `self.line`; false at the
    /// end of the file.
    fn line(&mut self) -> io::Result<bool> {
        self.line.clear();
        while self.line.len() < LINE_MAX - 1 {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let room = LINE_MAX - 1 - self.line.len();
            let take = buf.len().min(room);
            let (n, done) = match buf[..take].iter().position(|&b| b == b'\n') {
                Some(nl) => (nl + 1, true),
                None => (take, false),
            };
            self.line.extend_from_slice(&buf[..n]);
            self.inner.consume(n);
            self.pos += n as u64;
            if done {
                break;
            }
        }
        Ok(!self.line.is_empty())
    }

    /// Reads exactly `n` bytes, handing them to `sink` piece by piece; false if the file
    /// ends first.
    fn bytes(&mut self, mut n: u64, mut sink: impl FnMut(&[u8])) -> io::Result<bool> {
        while n > 0 {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(false);
            }
            let take = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
            sink(&buf[..take]);
            self.inner.consume(take);
            self.pos += take as u64;
            n -= take as u64;
        }
        Ok(true)
    }

    /// The next command, as a list of words.
    pub fn next_command(&mut self) -> io::Result<Next> {
        let mut args = Args::default();
        Ok(match self.next_into(&mut args)? {
            Step::Command => Next::Command(args.iter().map(<[u8]>::to_vec).collect()),
            Step::End => Next::End,
            Step::Truncated => Next::Truncated,
            Step::BadFormat => Next::BadFormat,
        })
    }

    /// The next command, into `args` (cleared first).
    pub fn next_into(&mut self, args: &mut Args) -> io::Result<Step> {
        args.clear();
        loop {
            if !self.line()? {
                return Ok(Step::End);
            }
            if self.line[0] != b'#' {
                break;
            }
        }
        if self.line[0] != b'*' {
            return Ok(Step::BadFormat);
        }
        if self.line.len() == 1 {
            // `*` and nothing more: the file ended (Redis checks buf[1] == '\0').
            return Ok(Step::Truncated);
        }
        let argc = atol(&self.line[1..]);
        if argc < 1 {
            return Ok(Step::BadFormat);
        }
        for _ in 0..argc {
            if !self.line()? {
                return Ok(Step::Truncated);
            }
            if self.line[0] != b'$' {
                return Ok(Step::BadFormat);
            }
            // strtol into an unsigned long: a negative length is huge.
            let len = atol(&self.line[1..]) as u64;
            if len > 0 && !self.bytes(len, |b| args.extend_arg(b))? {
                return Ok(Step::Truncated);
            }
            if !self.bytes(2, |_| {})? {
                return Ok(Step::Truncated);
            }
            args.end_arg();
        }
        Ok(Step::Command)
    }
}

/// A client that runs the AOF's commands: its replies go nowhere. It needs a socket like
/// any client; a loopback pair that nobody reads serves.
struct FakeClient {
    state: ClientState,
    _peer: std::net::TcpStream,
}

fn fake_client(server: &Server) -> io::Result<FakeClient> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    let peer = listener.accept()?.0;
    // Ids count up from 1 for real clients; the AOF client takes one too (Redis uses a
    // reserved id, which CLIENT LIST never shows either).
    let handle = Arc::new(ClientHandle::new(server.clients.next_id(), stream)?);
    let mut state = ClientState::new(handle);
    state.authenticated = true;
    // No ACL check applies to it (commands that check inside, like SORT BY, ask its user).
    state.user = Some(Arc::new(crate::acl::UserCell::superuser()));
    // Never blocks (Redis's CLIENT_DENY_BLOCKING): a blocking command finding nothing
    // answers as it would inside EXEC.
    state.in_exec = true;
    state.aof_loading = true;
    Ok(FakeClient { state, _peer: peer })
}

/// What loading needs of the command layer, handed in by the server at startup, so that
/// persistence imports nothing of it: a command word's table name (lowercase), and a
/// way to run one command as the loading client, its reply going into `out`.
pub struct Replay {
    pub command_name: fn(&[u8]) -> Option<&'static str>,
    pub run: fn(&Server, &mut ClientState, &mut Reply, &Args),
    /// Installs function libraries from their code (an RDB base's FUNCTION2 records).
    pub restore_libraries: fn(&Server, &[Vec<u8>]) -> Result<(), String>,
}

/// Runs one command for the fake client, ignoring its reply.
fn run(replay: &Replay, server: &Server, client: &mut ClientState, out: &mut Reply, argv: &Args) {
    (replay.run)(server, client, out, argv);
    out.clear();
}

/// Loads the RDB at the start of the file at `path` into the keyspace (keys already
/// expired included, as Redis loads an AOF preamble) and installs its libraries;
/// returns where the RDB ends.
fn load_rdb_base(server: &Server, replay: &Replay, path: &Path) -> Result<u64, String> {
    let data = std::fs::read(path).map_err(|e| strerror(&e))?;
    let limits = server.config().limits();
    let delay = server.config().int("key-load-delay");
    let (stats, end) =
        crate::persist::load_rdb_into(&mut server.store.write(), &data, &limits, delay)?;
    (replay.restore_libraries)(server, &stats.functions)?;
    server
        .persist
        .loading_loaded_bytes
        .fetch_add(end as u64, Ordering::Relaxed);
    Ok(end as u64)
}

/// Replays one file of the AOF directory (Redis's `loadSingleAppendOnlyFile`).
pub fn load_single(
    server: &Server,
    replay: &Replay,
    dir: &Path,
    name: &str,
    truncate_ok: bool,
) -> Status {
    let log = &server.log;
    let path = dir.join(name);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            if e.kind() == io::ErrorKind::NotFound {
                log.warning(&format!(
                    "The append log file {name} doesn't exist: {}",
                    strerror(&e)
                ));
                return Status::NotExist;
            }
            log.warning(&format!(
                "Fatal error: can't open the append log file {name} for reading: {}",
                strerror(&e)
            ));
            return Status::OpenErr;
        }
    };
    if file.metadata().map(|m| m.len()).unwrap_or(1) == 0 {
        return Status::Empty;
    }
    let mut fake = match fake_client(server) {
        Ok(f) => f,
        Err(e) => {
            log.warning(&format!(
                "Can't create the AOF loading client: {}",
                strerror(&e)
            ));
            return Status::Failed;
        }
    };
    let mut reader = CommandReader::new(BufReader::with_capacity(64 * 1024, file));
    // An RDB base (written with aof-use-rdb-preamble yes): loaded as RDB, then the
    // commands after it (an old-style single file has them), if any.
    {
        let head = reader
            .inner
            .fill_buf()
            .map(|b| b.to_vec())
            .unwrap_or_default();
        if head.starts_with(b"REDIS") {
            log.notice("Reading RDB base file on AOF loading...");
            let end = match load_rdb_base(server, replay, &path) {
                Ok(end) => end,
                Err(e) => {
                    log.warning(&format!(
                        "Error reading the RDB base file {name}, AOF loading aborted: {e}"
                    ));
                    return Status::Failed;
                }
            };
            log.notice("Reading the remaining AOF tail...");
            let rest = File::open(&path).and_then(|mut f| {
                io::Seek::seek(&mut f, io::SeekFrom::Start(end))?;
                Ok(f)
            });
            match rest {
                Ok(f) => {
                    reader = CommandReader::new(BufReader::with_capacity(64 * 1024, f));
                    reader.pos = end;
                }
                Err(e) => {
                    log.warning(&format!(
                        "Fatal error: can't open the append log file {name} for reading: {}",
                        strerror(&e)
                    ));
                    return Status::OpenErr;
                }
            }
        }
    }
    let progress = &server.persist.loading_loaded_bytes;
    let mut reported = 0u64;
    let mut out = Reply::new();
    let mut valid_up_to = 0u64;
    let mut valid_before_multi = 0u64;
    let mut queued: Option<Vec<Args>> = None;
    let mut args = Args::default();
    let load_delay = server.config().int("key-load-delay");
    let outcome = loop {
        if reader.pos - reported >= 1024 * 1024 {
            progress.fetch_add(reader.pos - reported, Ordering::Relaxed);
            reported = reader.pos;
        }
        let next = match reader.next_into(&mut args) {
            Ok(n) => n,
            Err(e) => {
                log.warning(&format!(
                    "Unrecoverable error reading the append only file {name}: {}",
                    strerror(&e)
                ));
                return Status::Failed;
            }
        };
        match next {
            Step::Command => {}
            Step::End => break None,
            Step::Truncated => break Some(false),
            Step::BadFormat => break Some(true),
        }
        let Some(name) = (replay.command_name)(&args[0]) else {
            log.warning(&format!(
                "Unknown command '{}' reading the append only file {name}",
                String::from_utf8_lossy(&args[0])
            ));
            return Status::Failed;
        };
        crate::persist::key_delay(load_delay, 1, None);
        match (name, &mut queued) {
            ("multi", None) => {
                valid_before_multi = valid_up_to;
                queued = Some(Vec::new());
            }
            ("exec", Some(_)) => {
                for a in queued.take().unwrap_or_default() {
                    run(replay, server, &mut fake.state, &mut out, &a);
                }
            }
            (_, Some(q)) => q.push(args.clone()),
            (_, None) => run(replay, server, &mut fake.state, &mut out, &args),
        }
        if truncate_ok {
            valid_up_to = reader.pos;
        }
    };
    progress.fetch_add(reader.pos - reported, Ordering::Relaxed);
    let bad_format = match outcome {
        None if queued.is_none() => return Status::Ok,
        None => {
            log.warning(&format!(
                "Revert incomplete MULTI/EXEC transaction in AOF file {name}"
            ));
            valid_up_to = valid_before_multi;
            false
        }
        Some(bad) => bad,
    };
    if bad_format {
        log.warning(&format!(
            "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
        ));
        return Status::Failed;
    }
    // The file ended inside a command (or a transaction).
    if truncate_ok {
        log.warning(&format!(
            "!!! Warning: short read while loading the AOF file {name}!!!"
        ));
        log.warning(&format!(
            "!!! Truncating the AOF {name} at offset {valid_up_to} !!!"
        ));
        match OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(valid_up_to))
        {
            Ok(()) => {
                log.warning(&format!(
                    "AOF {name} loaded anyway because aof-load-truncated is enabled"
                ));
                return Status::Truncated;
            }
            Err(e) => log.warning(&format!(
                "Error truncating the AOF file {name}: {}",
                strerror(&e)
            )),
        }
    }
    log.warning(&format!(
        "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
    ));
    Status::Failed
}

/// The size of one file of the AOF directory (`getAppendOnlyFileSize`).
pub fn file_size(server: &Server, dir: &Path, name: &str) -> Result<u64, Status> {
    match std::fs::metadata(dir.join(name)) {
        Ok(m) => Ok(m.len()),
        Err(e) => {
            server.log.warning(&format!(
                "Unable to obtain the AOF file {name} length. stat: {}",
                strerror(&e)
            ));
            Err(if e.kind() == io::ErrorKind::NotFound {
                Status::NotExist
            } else {
                Status::OpenErr
            })
        }
    }
}

/// What loading found: the outcome, and the total and base sizes (for INFO and the
/// automatic rewrite).
pub struct Loaded {
    pub status: Status,
    pub total_size: u64,
    pub base_size: u64,
}

/// Loads every file the manifest lists (Redis's `loadAppendOnlyFiles`).
pub fn load_files(server: &Server, replay: &Replay, am: &Manifest, dir: &Path) -> Loaded {
    let fail = |status| Loaded {
        status,
        total_size: 0,
        base_size: 0,
    };
    if am.is_empty() {
        return fail(Status::NotExist);
    }
    let truncate_ok = server.config().is_yes("aof-load-truncated");
    let files: Vec<&str> = am
        .base
        .iter()
        .chain(&am.incrs)
        .map(|i| i.name.as_str())
        .collect();
    let mut total = 0;
    for name in &files {
        match file_size(server, dir, name) {
            Ok(n) => total += n,
            // A file the manifest lists but the disk lacks is fatal.
            Err(Status::NotExist) => return fail(Status::Failed),
            Err(s) => return fail(s),
        }
    }
    if total == 0 {
        return fail(Status::Empty);
    }
    let p = &server.persist;
    p.loading_total_bytes.store(total, Ordering::Relaxed);
    p.loading_loaded_bytes.store(0, Ordering::Relaxed);
    let mut base_size = 0;
    let mut status = Status::Ok;
    for (i, name) in files.iter().enumerate() {
        let is_base = i == 0 && am.base.is_some();
        if is_base {
            base_size = file_size(server, dir, name).unwrap_or(0);
        }
        let last = i + 1 == files.len();
        let start = Instant::now();
        status = load_single(server, replay, dir, name, truncate_ok);
        if status == Status::Ok || (status == Status::Truncated && last) {
            server.log.notice(&format!(
                "DB loaded from {} file {name}: {:.3} seconds",
                if is_base { "base" } else { "incr" },
                start.elapsed().as_secs_f64()
            ));
        }
        if status == Status::Empty && !is_base {
            status = Status::Ok;
        }
        if status == Status::Truncated && !last {
            server
                .log
                .warning("Fatal error: the truncated file is not the last file");
            status = Status::Failed;
        }
        if matches!(status, Status::OpenErr | Status::Failed) {
            return fail(status);
        }
    }
    Loaded {
        status,
        total_size: total,
        base_size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Vec<Next> {
        let mut r = CommandReader::new(input);
        let mut out = Vec::new();
        loop {
            let n = r.next_command().unwrap();
            let stop = !matches!(n, Next::Command(_));
            out.push(n);
            if stop {
                return out;
            }
        }
    }

    fn cmd(words: &[&str]) -> Next {
        Next::Command(words.iter().map(|w| w.as_bytes().to_vec()).collect())
    }

    #[test]
    fn reads_commands_and_skips_annotations() {
        let input = b"#TS:1700000000\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n";
        assert_eq!(
            read_all(input),
            vec![cmd(&["SELECT", "0"]), cmd(&["SET", "k", ""]), Next::End]
        );
    }

    #[test]
    fn binary_bulks_may_hold_crlf() {
        let input = b"*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n";
        assert_eq!(
            read_all(input),
            vec![
                Next::Command(vec![b"GET".to_vec(), b"a\r\nb".to_vec()]),
                Next::End
            ]
        );
    }

    #[test]
    fn truncation_anywhere_in_a_command() {
        let full = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        for cut in 1..full.len() {
            let got = read_all(&full[..cut]);
            assert_eq!(got, vec![Next::Truncated], "cut at {cut}");
        }
        let mut r = CommandReader::new(&full[..]);
        r.next_command().unwrap();
        assert_eq!(r.pos, full.len() as u64);
    }

    #[test]
    fn garbage_is_a_format_error() {
        assert_eq!(read_all(b"hello\r\n"), vec![Next::BadFormat]);
        assert_eq!(read_all(b"*0\r\n"), vec![Next::BadFormat]);
        assert_eq!(read_all(b"*x\r\n"), vec![Next::BadFormat]);
        assert_eq!(
            read_all(b"*1\r\n$4\r\nPING\r\n*1\r\nfoo\r\n"),
            vec![cmd(&["PING"]), Next::BadFormat]
        );
    }
}
