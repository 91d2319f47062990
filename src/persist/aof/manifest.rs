//! The AOF manifest (Redis 7.0's multi-part AOF): which files make up the AOF, in what
//! order, in `<appenddirname>/<appendfilename>.manifest`.
//!
//! One line per file, `file <name> seq <n> type <b|h|i>`, the base first, then the
//! history files, then the incremental files in increasing sequence. Parsing follows
//! `aofLoadManifestFromFile` (comment lines, line length, `sdssplitargs` quoting, key
//! order free, unknown keys ignored, its error texts); writing follows
//! `getAofManifestAsString` and `writeAofManifestFile` (temp file, fsync, rename, fsync
//! of the directory).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use crate::util::num::atol;

/// Redis's `MANIFEST_MAX_LINE`.
const MAX_LINE: usize = 1024;

/// A file's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `b`: the snapshot the incremental files apply to.
    Base,
    /// `h`: replaced by a rewrite, to be deleted.
    History,
    /// `i`: commands since the base.
    Incr,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Base => 'b',
            Kind::History => 'h',
            Kind::Incr => 'i',
        }
    }
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub seq: i64,
    pub kind: Kind,
}

/// The manifest (Redis's `aofManifest`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<FileInfo>,
    pub incrs: Vec<FileInfo>,
    pub history: Vec<FileInfo>,
    /// The last sequence numbers used for a base and an incremental file.
    pub base_seq: i64,
    pub incr_seq: i64,
}

/// Why a manifest could not be read: the message, and the line it is about (number and
/// trimmed text), as Redis logs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub line: Option<(usize, String)>,
    pub message: &'static str,
}

impl ManifestError {
    /// The lines Redis logs before exiting.
    pub fn log_lines(&self) -> Vec<String> {
        let mut lines = vec!["\n*** FATAL AOF MANIFEST FILE ERROR ***\n".to_string()];
        if let Some((n, text)) = &self.line {
            lines.push(format!("Reading the manifest file, at line {n}\n"));
            lines.push(format!(">>> '{text}'\n"));
        }
        lines.push(format!("{}\n", self.message));
        lines
    }
}

impl Manifest {
    /// Parses manifest text.
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut am = Manifest::default();
        let mut maxseq = 0i64;
        let mut linenum = 0usize;
        let mut at = 0usize;
        loop {
            if at >= text.len() {
                if linenum == 0 {
                    return Err(ManifestError {
                        line: None,
                        message: "Found an empty AOF manifest",
                    });
                }
                break;
            }
            // fgets: up to MAX_LINE bytes, or through the newline.
            let rest = &text[at..];
            let end = match rest.iter().take(MAX_LINE).position(|&b| b == b'\n') {
                Some(nl) => nl + 1,
                None => rest.len().min(MAX_LINE),
            };
            let buf = &rest[..end];
            at += end;
            linenum += 1;
            if buf[0] == b'#' {
                continue;
            }
            let trimmed = trim(buf);
            let shown = String::from_utf8_lossy(trimmed).into_owned();
            let fail = |message| ManifestError {
                line: Some((linenum, shown.clone())),
                message,
            };
            if !buf.contains(&b'\n') {
                // Redis has no trimmed line yet at this point.
                return Err(ManifestError {
                    line: None,
                    message: "The AOF manifest file contains too long line",
                });
            }
            if trimmed.is_empty() {
                return Err(fail("Invalid AOF manifest file format"));
            }
            let mut args = crate::resp::Args::default();
            if crate::resp::parse::split_args(trimmed, &mut args).is_err()
                || args.len() < 6
                || args.len() % 2 == 1
            {
                return Err(fail("Invalid AOF manifest file format"));
            }
            let (mut name, mut seq, mut kind) = (None, 0i64, 0u8);
            for i in (0..args.len()).step_by(2) {
                let (key, value) = (&args[i], &args[i + 1]);
                if key.eq_ignore_ascii_case(b"file") {
                    if value.contains(&b'/') {
                        return Err(fail("File can't be a path, just a filename"));
                    }
                    name = Some(String::from_utf8_lossy(value).into_owned());
                } else if key.eq_ignore_ascii_case(b"seq") {
                    seq = atol(value);
                } else if key.eq_ignore_ascii_case(b"type") {
                    kind = value.first().copied().unwrap_or(0);
                }
            }
            let name = match name {
                Some(n) if !n.is_empty() && seq != 0 && kind != 0 => n,
                _ => return Err(fail("Invalid AOF manifest file format")),
            };
            match kind {
                b'b' => {
                    if am.base.is_some() {
                        return Err(fail("Found duplicate base file information"));
                    }
                    am.base = Some(FileInfo {
                        name,
                        seq,
                        kind: Kind::Base,
                    });
                    am.base_seq = seq;
                }
                b'h' => am.history.push(FileInfo {
                    name,
                    seq,
                    kind: Kind::History,
                }),
                b'i' => {
                    if seq <= maxseq {
                        return Err(fail("Found a non-monotonic sequence number"));
                    }
                    am.incrs.push(FileInfo {
                        name,
                        seq,
                        kind: Kind::Incr,
                    });
                    am.incr_seq = seq;
                    maxseq = seq;
                }
                _ => return Err(fail("Unknown AOF file type")),
            }
        }
        Ok(am)
    }

    /// The manifest's text: base, history, incremental files.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for info in self.base.iter().chain(&self.history).chain(&self.incrs) {
            let name = if needs_repr(info.name.as_bytes()) {
                let mut quoted = Vec::new();
                crate::util::push_repr(&mut quoted, info.name.as_bytes());
                String::from_utf8_lossy(&quoted).into_owned()
            } else {
                info.name.clone()
            };
            out.push_str(&format!(
                "file {name} seq {} type {}\n",
                info.seq,
                info.kind.letter()
            ));
        }
        out
    }

    /// Makes a new base file name (the previous base becomes history, at the head of the
    /// history list), as `getNewBaseFileNameAndMarkPreAsHistory`.
    pub fn new_base(&mut self, filename: &str, rdb: bool) -> String {
        if let Some(mut old) = self.base.take() {
            old.kind = Kind::History;
            self.history.insert(0, old);
        }
        self.base_seq += 1;
        let suffix = if rdb { ".rdb" } else { ".aof" };
        let name = format!("{filename}.{}.base{suffix}", self.base_seq);
        self.base = Some(FileInfo {
            name: name.clone(),
            seq: self.base_seq,
            kind: Kind::Base,
        });
        name
    }

    /// Adds a new incremental file at the end (`getNewIncrAofName`).
    pub fn new_incr(&mut self, filename: &str) -> String {
        self.incr_seq += 1;
        let name = format!("{filename}.{}.incr.aof", self.incr_seq);
        self.incrs.push(FileInfo {
            name: name.clone(),
            seq: self.incr_seq,
            kind: Kind::Incr,
        });
        name
    }

    /// The last incremental file, created if there is none (`getLastIncrAofName`).
    pub fn last_incr(&mut self, filename: &str) -> String {
        match self.incrs.last() {
            Some(info) => info.name.clone(),
            None => self.new_incr(filename),
        }
    }

    /// After a rewrite: every incremental file but the one being written (the last, if
    /// `keep_last`) becomes history (`markRewrittenIncrAofAsHistory`).
    pub fn mark_rewritten_incrs(&mut self, keep_last: bool) {
        let keep = usize::from(keep_last && !self.incrs.is_empty());
        let moved: Vec<FileInfo> = self.incrs.drain(..self.incrs.len() - keep).collect();
        // Redis walks from the tail and adds each at the head: the order is kept.
        for mut info in moved.into_iter().rev() {
            info.kind = Kind::History;
            self.history.insert(0, info);
        }
    }

    /// Whether it lists no base and no incremental file.
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incrs.is_empty()
    }

    /// Writes the manifest to `dir/<filename>.manifest` atomically. On failure, logs
    /// what Redis logs and returns the error.
    pub fn persist(&self, dir: &Path, filename: &str, log: &crate::log::Logger) -> io::Result<()> {
        let name = format!("{filename}.manifest");
        let tmp_name = format!("temp-{filename}.manifest");
        let path = dir.join(&name);
        let tmp = dir.join(&tmp_name);
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        let mut file = options.open(&tmp).inspect_err(|e| {
            log.warning(&format!(
                "Can't open the AOF manifest file {tmp_name}: {}",
                strerror(e)
            ))
        })?;
        file.write_all(self.render().as_bytes()).inspect_err(|e| {
            log.warning(&format!(
                "Error trying to write the temporary AOF manifest file {tmp_name}: {}",
                strerror(e)
            ))
        })?;
        file.sync_all().inspect_err(|e| {
            log.warning(&format!(
                "Fail to fsync the temp AOF file {tmp_name}: {}.",
                strerror(e)
            ))
        })?;
        drop(file);
        fs::rename(&tmp, &path).inspect_err(|e| {
            log.warning(&format!(
                "Error trying to rename the temporary AOF manifest file {tmp_name} into {name}: {}",
                strerror(e)
            ))
        })?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .inspect_err(|e| {
                log.warning(&format!(
                    "Fail to fsync AOF directory {}: {}.",
                    path.display(),
                    strerror(e)
                ))
            })?;
        Ok(())
    }
}

/// An OS error as C's `strerror` words it (without Rust's " (os error N)").
pub fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// `sdstrim(s, " \t\r\n")`.
fn trim(mut s: &[u8]) -> &[u8] {
    let strip = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    while s.first().is_some_and(strip) {
        s = &s[1..];
    }
    while s.last().is_some_and(strip) {
        s = &s[..s.len() - 1];
    }
    s
}

/// `sdsneedsrepr`.
fn needs_repr(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| c == b'\\' || c == b'"' || !(0x20..0x7f).contains(&c) || c == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ManifestError {
        Manifest::parse(text.as_bytes()).unwrap_err()
    }

    #[test]
    fn parses_what_redis_writes() {
        let text = "file appendonly.aof.2.base.rdb seq 2 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type h\n\
                    file appendonly.aof.4.incr.aof seq 4 type i\n\
                    file appendonly.aof.5.incr.aof seq 5 type i\n";
        let am = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(am.base.as_ref().unwrap().name, "appendonly.aof.2.base.rdb");
        assert_eq!(am.base_seq, 2);
        assert_eq!(am.incr_seq, 5);
        assert_eq!(am.history.len(), 1);
        assert_eq!(am.incrs.len(), 2);
        assert_eq!(am.render(), text);
    }

    #[test]
    fn keys_in_any_order_comments_and_extra_keys() {
        let text = "# a comment\ntype i seq 3 file x.aof extra 1\n";
        let am = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(am.incrs[0].name, "x.aof");
        assert_eq!(am.render(), "file x.aof seq 3 type i\n");
    }

    #[test]
    fn quoted_names_round_trip() {
        let am = Manifest {
            base: Some(FileInfo {
                name: "a b\"c.aof".into(),
                seq: 1,
                kind: Kind::Base,
            }),
            ..Manifest::default()
        };
        let text = am.render();
        assert_eq!(text, "file \"a b\\\"c.aof\" seq 1 type b\n");
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), {
            let mut m = am.clone();
            m.base_seq = 1;
            m
        });
    }

    #[test]
    fn errors_are_redis_texts() {
        assert_eq!(err("").message, "Found an empty AOF manifest");
        assert_eq!(err("\n").message, "Invalid AOF manifest file format");
        let e = err("file a seq 1\n");
        assert_eq!(e.message, "Invalid AOF manifest file format");
        assert_eq!(e.line, Some((1, "file a seq 1".into())));
        assert_eq!(
            err("file a seq 1 type b\nfile b seq 2 type b\n").message,
            "Found duplicate base file information"
        );
        assert_eq!(
            err("file a seq 2 type i\nfile b seq 2 type i\n").message,
            "Found a non-monotonic sequence number"
        );
        assert_eq!(
            err("file a seq 1 type x\n").message,
            "Unknown AOF file type"
        );
        assert_eq!(
            err("file d/a seq 1 type b\n").message,
            "File can't be a path, just a filename"
        );
        assert_eq!(
            err("file a seq 1 type b").message,
            "The AOF manifest file contains too long line"
        );
        assert_eq!(
            err("file a seq 0 type b\n").message,
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            err("file \"a seq 1 type b\n").message,
            "Invalid AOF manifest file format"
        );
        let long = format!("file {} seq 1 type b\n", "a".repeat(1100));
        assert_eq!(
            err(&long).message,
            "The AOF manifest file contains too long line"
        );
        let lines = err("file a seq 1\n").log_lines();
        assert_eq!(lines[0], "\n*** FATAL AOF MANIFEST FILE ERROR ***\n");
        assert_eq!(lines[1], "Reading the manifest file, at line 1\n");
        assert_eq!(lines[2], ">>> 'file a seq 1'\n");
        assert_eq!(lines[3], "Invalid AOF manifest file format\n");
    }

    #[test]
    fn rewrite_bookkeeping() {
        let mut am = Manifest::default();
        assert_eq!(
            am.new_base("appendonly.aof", false),
            "appendonly.aof.1.base.aof"
        );
        assert_eq!(am.last_incr("appendonly.aof"), "appendonly.aof.1.incr.aof");
        assert_eq!(am.new_incr("appendonly.aof"), "appendonly.aof.2.incr.aof");
        // A rewrite finishing: a new base, the old incrs but the current one become history
        // (each added at the head of the list, as Redis does).
        am.new_base("appendonly.aof", false);
        am.mark_rewritten_incrs(true);
        assert_eq!(
            am.render(),
            "file appendonly.aof.2.base.aof seq 2 type b\n\
             file appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.1.base.aof seq 1 type h\n\
             file appendonly.aof.2.incr.aof seq 2 type i\n"
        );
    }

    #[test]
    fn persist_writes_atomically() {
        let dir = std::env::temp_dir().join(format!("redlite-manifest-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let mut am = Manifest::default();
        am.new_base("appendonly.aof", false);
        am.new_incr("appendonly.aof");
        let log = crate::log::Logger::new(crate::config::LogLevel::Warning, "");
        am.persist(&dir, "appendonly.aof", &log).unwrap();
        let text = fs::read(dir.join("appendonly.aof.manifest")).unwrap();
        assert_eq!(Manifest::parse(&text).unwrap(), am);
        assert!(!dir.join("temp-appendonly.aof.manifest").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn strerror_drops_the_os_error_suffix() {
        let e = io::Error::from_raw_os_error(28);
        assert_eq!(strerror(&e), "No space left on device");
    }
}
