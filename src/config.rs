//! Startup configuration and the runtime CONFIG GET / CONFIG SET table, as Redis 7.0.15 has them.
//!
//! Design, following Redis's `config.c`:
//!
//! * [`PARAMS`] is a declarative table of every Redis 7.0.15 parameter: name, alias, flags
//!   (immutable, protected, hidden, sensitive, multi-argument), kind (bool, integer with Redis's
//!   bounds and number format, enum, string with its validator, or one of the special
//!   parameters) and the default written exactly as CONFIG GET prints it. [`Config::default`]
//!   simply feeds every default through the setter, so the table is the single source of truth.
//! * One setter ([`Config::assign`]) serves the config file, the command line and CONFIG SET,
//!   which is why their validation and error texts are identical, as in Redis.
//! * Parameters the server reads directly live in typed pub fields (`port`, `save`, ...); the
//!   setter and the renderer go through those fields for them, so a field the server updates
//!   is what CONFIG GET reports. Every other parameter lives in a private slot per table row.
//! * Command-line options are turned into config-file text exactly as redis-server does
//!   (`--port 6380` becomes the line `port "6380"` after the file), so line numbers and the
//!   `>>> '...'` excerpt of fatal errors match redis-server byte for byte.
//!
//! Deviations from Redis (deliberate, each also noted where it happens):
//! * `bind` defaults to `127.0.0.1`, not `* -::*`.
//! * `dir` is not applied while loading: the path is checked and recorded in [`Config::dir`]
//!   (later relative `dir`, `include` and `logfile` paths resolve against it, as after Redis's
//!   `chdir`) and the server changes directory itself. CONFIG SET dir does change directory.
//! * Effects Redis applies after a CONFIG SET (rebinding `port`/`bind`, raising the file limit
//!   for `maxclients`, reconfiguring TLS, writing `oom_score_adj`, ...) are the caller's job, so
//!   their failure texts ("Unable to listen on this port...") never come from here.
//! * `save` keeps its change counts as given; Redis truncates them to a 32-bit `int`.
//! * String values go into the typed `String` fields lossily if they are not UTF-8.
//! * The `-LOADING` refusal of `dir`, `appendonly` and `repl-diskless-load` while a dataset
//!   loads is the caller's (this module does not know about loading).
//! * CONFIG GET returns matches in table order; Redis returns them in hash order.
//! * Sentinel mode and modules are not supported: `loadmodule`, `user`, `rename-command` and
//!   module parameters (`name.param`) are only checked for their argument count and handed to
//!   the server in [`Config::directives`].

use crate::store::Limits;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::util::glob;
use crate::util::num::parse_i64;

/// The version redis-server names in its fatal configuration errors.
const REDIS_VERSION: &str = "7.0.15";

/// Redis's loglevel names, most verbose first.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub enum LogLevel {
    /// `debug`: everything.
    Debug,
    /// `verbose`: a lot of rarely useful information.
    Verbose,
    /// `notice`: moderately verbose, what production wants (the default).
    Notice,
    /// `warning`: only very important or critical messages.
    Warning,
}

/// The server configuration: startup options plus every parameter CONFIG GET/SET know.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `port`: TCP port, default 6379; 0 lets the server pick a free port.
    pub port: u16,
    /// `bind`: addresses to listen on, default `["127.0.0.1"]` (Redis: `* -::*`).
    pub bind: Vec<String>,
    /// `dir`: working directory to switch to at startup, default `.` (CONFIG GET reports the
    /// process's current directory, as Redis does).
    pub dir: PathBuf,
    /// `dbfilename`: RDB file name, default `dump.rdb`.
    pub dbfilename: String,
    /// `maxclients`, default 10000.
    pub maxclients: u64,
    /// `databases`, default 16.
    pub databases: usize,
    /// `save`: (seconds, changes) snapshot points; empty means snapshotting is off.
    pub save: Vec<(u64, u64)>,
    /// `hz`, default 10, always within 1..=500 (Redis clamps out-of-range values).
    pub hz: u32,
    /// `timeout`: idle client timeout in seconds, 0 (the default) for none.
    pub timeout: u64,
    /// `loglevel`, default notice.
    pub loglevel: LogLevel,
    /// `logfile`: empty (the default) means standard output.
    pub logfile: String,
    /// `proto-max-bulk-len` in bytes, default 512mb.
    pub proto_max_bulk_len: u64,
    /// `client-query-buffer-limit` in bytes, default 1gb.
    pub client_query_buffer_limit: u64,
    /// `requirepass`: password of the default user, empty for none.
    pub requirepass: String,
    /// Absolute path of the config file given on the command line, if any.
    pub config_file: Option<PathBuf>,
    /// Config-file lines that are not parameters (`user`, `rename-command`, `loadmodule`,
    /// module parameters), in file order, for the server to apply or reject.
    pub directives: Vec<Directive>,
    /// Values of the plain (bool/integer/enum/string) parameters without a typed field,
    /// indexed like [`PARAMS`].
    values: Vec<Val>,
    /// `client-output-buffer-limit` for the normal, replica and pubsub classes.
    obuf_limits: [ObufLimit; 3],
    /// `oom-score-adj-values`.
    oom_score_adj_values: [i64; 3],
    /// `notify-keyspace-events` as Redis's flag bits.
    notify_flags: u32,
    /// `replicaof`: host and port.
    replicaof: Option<(Vec<u8>, i64)>,
    /// `latency-tracking-info-percentiles`.
    percentiles: Vec<f64>,
}

/// A config-file line that names no parameter and that this module leaves to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The split line; the directive name (`args[0]`) is lowercased, as Redis does.
    pub args: Vec<Vec<u8>>,
    /// Line number within the file (or command-line text) it came from.
    pub line: usize,
    /// The trimmed line, as redis-server quotes it in errors.
    pub text: String,
}

impl Directive {
    /// The fatal error redis-server would print for this line with `message`, e.g.
    /// "No such command in rename-command".
    pub fn error(&self, message: &str) -> ConfigError {
        ConfigError::at(self.line, self.text.as_bytes(), message)
    }
}

/// A configuration error that stops the server at startup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Line number and text of the offending line, when there is one.
    at: Option<(usize, String)>,
    message: String,
    /// Whether redis-server prints it under the FATAL CONFIG FILE ERROR banner (a config file
    /// it cannot open is only logged).
    banner: bool,
}

impl ConfigError {
    fn at(line: usize, text: &[u8], message: &str) -> ConfigError {
        ConfigError {
            at: Some((line, String::from_utf8_lossy(text).into_owned())),
            message: message.to_string(),
            banner: true,
        }
    }

    fn fatal(message: String) -> ConfigError {
        ConfigError {
            at: None,
            message,
            banner: true,
        }
    }
}

/// The text redis-server writes to stderr, without the blank line it prints first and without
/// the final newline. A file that cannot be opened gives just the message that redis-server
/// logs ("Fatal error, can't open config file '...': ...").
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.banner {
            writeln!(f, "*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***")?;
        }
        if let Some((line, text)) = &self.at {
            writeln!(f, "Reading the configuration file, at line {line}")?;
            writeln!(f, ">>> '{text}'")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

// ---------------------------------------------------------------------------------------------
// The parameter table
// ---------------------------------------------------------------------------------------------

/// CONFIG SET refuses it ("can't set immutable config").
const IMM: u8 = 1;
/// CONFIG SET needs `enable-protected-configs` ("can't set protected config").
const PROT: u8 = 2;
/// Only an exact CONFIG GET name shows it, never a pattern.
const HID: u8 = 4;
/// Its value must be redacted from logs, slowlog and MONITOR.
const SENS: u8 = 8;
/// Takes several words: CONFIG SET splits its value on spaces, a config line passes them all.
const MULTI: u8 = 16;

/// How an integer parameter is written and read (Redis's MEMORY/PERCENT/OCTAL flags).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fmt {
    Plain,
    Memory,
    MemoryPercent,
    Octal,
}

/// Validators of string parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum StrCheck {
    Any,
    DbFilename,
    AofFilename,
    AofDirname,
    Hostname,
    ProcTitle,
}

/// Parameters with their own parser and printer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Special {
    Dir,
    Save,
    ObufLimits,
    OomValues,
    Notify,
    Bind,
    ReplicaOf,
    Percentiles,
}

/// What a parameter holds, with what Redis needs to validate and print it.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Bool,
    /// `min`/`max` are Redis's bounds as C `long long` (ULLONG_MAX is -1, as in C); `unsigned`
    /// selects Redis's unsigned boundary check (unsigned int, size_t, unsigned long long).
    Int {
        min: i64,
        max: i64,
        unsigned: bool,
        fmt: Fmt,
    },
    /// Names and values; `flags` enums take several names and OR them (shutdown-on-*).
    Enum {
        names: &'static [(&'static str, u32)],
        flags: bool,
    },
    Str(StrCheck),
    Special(Special),
}

/// One row of the table: Redis's `standardConfig`.
struct Param {
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    kind: Kind,
    /// The default, exactly as CONFIG GET prints it.
    default: &'static str,
}

const INT_MIN: i64 = i32::MIN as i64;
const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LMAX: i64 = i64::MAX;
/// ULLONG_MAX seen as a C `long long`.
const ULLONG_MAX: i64 = -1;

const BOOL: Kind = Kind::Bool;
const STR: Kind = Kind::Str(StrCheck::Any);

const fn num(min: i64, max: i64, unsigned: bool, fmt: Fmt) -> Kind {
    Kind::Int {
        min,
        max,
        unsigned,
        fmt,
    }
}
const fn int(min: i64, max: i64) -> Kind {
    num(min, max, false, Fmt::Plain)
}
const fn uint(min: i64, max: i64) -> Kind {
    num(min, max, true, Fmt::Plain)
}
const fn mem(min: i64, max: i64) -> Kind {
    num(min, max, false, Fmt::Memory)
}
const fn umem(min: i64, max: i64) -> Kind {
    num(min, max, true, Fmt::Memory)
}
const fn en(names: &'static [(&'static str, u32)]) -> Kind {
    Kind::Enum {
        names,
        flags: false,
    }
}
const fn sp(s: Special) -> Kind {
    Kind::Special(s)
}
const fn p(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    kind: Kind,
    default: &'static str,
) -> Param {
    Param {
        name,
        alias,
        flags,
        kind,
        default,
    }
}

const LOGLEVELS: &[(&str, u32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
const SUPERVISED: &[(&str, u32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];
const SYSLOG_FACILITIES: &[(&str, u32)] = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
const DISKLESS_LOAD: &[(&str, u32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
const MAXMEMORY_POLICIES: &[(&str, u32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
const APPENDFSYNC: &[(&str, u32)] = &[("everysec", 2), ("always", 1), ("no", 0)];
/// "yes" and "relative" are the same value, so CONFIG GET prints "yes" for both.
const OOM_SCORE_ADJ: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB: &[(&str, u32)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
/// `dump-format` (redlite's own): what SAVE and BGSAVE write.
const DUMP_FORMAT: &[(&str, u32)] = &[("redlite", 0), ("rdb", 1)];
const PROTECTED_ACTION: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("local", 2)];
const ENDPOINT_TYPE: &[(&str, u32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const PROPAGATION_ERROR: &[(&str, u32)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];
const TLS_AUTH_CLIENTS: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("optional", 2)];
const SHUTDOWN_SAVE: u32 = 1;
const SHUTDOWN_NOSAVE: u32 = 2;
const SHUTDOWN_ON_SIG: Kind = Kind::Enum {
    names: &[
        ("default", 0),
        ("save", SHUTDOWN_SAVE),
        ("nosave", SHUTDOWN_NOSAVE),
        ("now", 4),
        ("force", 8),
    ],
    flags: true,
};

/// Every Redis 7.0.15 parameter (TLS ones included, as in a TLS build), in `config.c` order.
#[rustfmt::skip]
const PARAMS: &[Param] = &[
    // Bools.
    p("rdbchecksum", None, IMM, BOOL, "yes"),
    p("daemonize", None, IMM, BOOL, "no"),
    p("io-threads-do-reads", None, IMM, BOOL, "no"),
    p("always-show-logo", None, IMM, BOOL, "no"),
    p("protected-mode", None, 0, BOOL, "yes"),
    p("rdbcompression", None, 0, BOOL, "yes"),
    p("rdb-del-sync-files", None, 0, BOOL, "no"),
    p("activerehashing", None, 0, BOOL, "yes"),
    p("stop-writes-on-bgsave-error", None, 0, BOOL, "yes"),
    p("set-proc-title", None, IMM, BOOL, "yes"),
    p("dynamic-hz", None, 0, BOOL, "yes"),
    p("lazyfree-lazy-eviction", None, 0, BOOL, "no"),
    p("lazyfree-lazy-expire", None, 0, BOOL, "no"),
    p("lazyfree-lazy-server-del", None, 0, BOOL, "no"),
    p("lazyfree-lazy-user-del", None, 0, BOOL, "no"),
    p("lazyfree-lazy-user-flush", None, 0, BOOL, "no"),
    p("repl-disable-tcp-nodelay", None, 0, BOOL, "no"),
    p("repl-diskless-sync", None, 0, BOOL, "yes"),
    p("aof-rewrite-incremental-fsync", None, 0, BOOL, "yes"),
    p("no-appendfsync-on-rewrite", None, 0, BOOL, "no"),
    p("cluster-require-full-coverage", None, 0, BOOL, "yes"),
    p("rdb-save-incremental-fsync", None, 0, BOOL, "yes"),
    p("aof-load-truncated", None, 0, BOOL, "yes"),
    p("aof-use-rdb-preamble", None, 0, BOOL, "yes"),
    p("aof-timestamp-enabled", None, 0, BOOL, "no"),
    p("cluster-replica-no-failover", Some("cluster-slave-no-failover"), 0, BOOL, "no"),
    p("replica-lazy-flush", Some("slave-lazy-flush"), 0, BOOL, "no"),
    p("replica-serve-stale-data", Some("slave-serve-stale-data"), 0, BOOL, "yes"),
    p("replica-read-only", Some("slave-read-only"), 0, BOOL, "yes"),
    p("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), 0, BOOL, "yes"),
    p("jemalloc-bg-thread", None, 0, BOOL, "yes"),
    p("activedefrag", None, 0, BOOL, "no"),
    p("syslog-enabled", None, IMM, BOOL, "no"),
    p("cluster-enabled", None, IMM, BOOL, "no"),
    p("appendonly", None, 0, BOOL, "no"),
    p("cluster-allow-reads-when-down", None, 0, BOOL, "no"),
    p("cluster-allow-pubsubshard-when-down", None, 0, BOOL, "yes"),
    p("crash-log-enabled", None, 0, BOOL, "yes"),
    p("crash-memcheck-enabled", None, 0, BOOL, "yes"),
    p("use-exit-on-panic", None, HID, BOOL, "no"),
    p("disable-thp", None, IMM, BOOL, "yes"),
    p("cluster-allow-replica-migration", None, 0, BOOL, "yes"),
    p("replica-announced", None, 0, BOOL, "yes"),
    p("latency-tracking", None, 0, BOOL, "yes"),
    p("aof-disable-auto-gc", None, 0, BOOL, "no"),
    p("replica-ignore-disk-write-errors", None, 0, BOOL, "no"),
    // Strings.
    p("aclfile", None, IMM, STR, ""),
    p("unixsocket", None, IMM, STR, ""),
    p("pidfile", None, IMM, STR, ""),
    p("replica-announce-ip", Some("slave-announce-ip"), 0, STR, ""),
    p("masteruser", None, SENS, STR, ""),
    p("cluster-announce-ip", None, 0, STR, ""),
    p("cluster-config-file", None, IMM, STR, "nodes.conf"),
    p("cluster-announce-hostname", None, 0, Kind::Str(StrCheck::Hostname), ""),
    p("syslog-ident", None, IMM, STR, "redis"),
    p("dbfilename", None, PROT, Kind::Str(StrCheck::DbFilename), "dump.rdb"),
    p("appendfilename", None, IMM, Kind::Str(StrCheck::AofFilename), "appendonly.aof"),
    p("appenddirname", None, IMM, Kind::Str(StrCheck::AofDirname), "appendonlydir"),
    p("server_cpulist", None, IMM, STR, ""),
    p("bio_cpulist", None, IMM, STR, ""),
    p("aof_rewrite_cpulist", None, IMM, STR, ""),
    p("bgsave_cpulist", None, IMM, STR, ""),
    p("ignore-warnings", None, 0, STR, ""),
    p("proc-title-template", None, 0, Kind::Str(StrCheck::ProcTitle), "{title} {listen-addr} {server-mode}"),
    p("bind-source-addr", None, 0, STR, ""),
    p("logfile", None, IMM, STR, ""),
    p("masterauth", None, SENS, STR, ""),
    p("requirepass", None, SENS, STR, ""),
    // Enums.
    p("supervised", None, IMM, en(SUPERVISED), "no"),
    p("syslog-facility", None, IMM, en(SYSLOG_FACILITIES), "local0"),
    p("repl-diskless-load", None, 0, en(DISKLESS_LOAD), "disabled"),
    p("loglevel", None, 0, en(LOGLEVELS), "notice"),
    p("maxmemory-policy", None, 0, en(MAXMEMORY_POLICIES), "noeviction"),
    p("appendfsync", None, 0, en(APPENDFSYNC), "everysec"),
    p("oom-score-adj", None, 0, en(OOM_SCORE_ADJ), "no"),
    p("acl-pubsub-default", None, 0, en(ACL_PUBSUB), "resetchannels"),
    p("sanitize-dump-payload", None, 0, en(SANITIZE), "no"),
    // redlite's own, not Redis's (hidden from CONFIG GET patterns, so `CONFIG GET *`
    // lists what Redis lists): SAVE and BGSAVE write redlite's dump format or RDB.
    p("dump-format", None, HID, en(DUMP_FORMAT), "redlite"),
    p("enable-protected-configs", None, IMM, en(PROTECTED_ACTION), "no"),
    p("enable-debug-command", None, IMM, en(PROTECTED_ACTION), "no"),
    p("enable-module-command", None, IMM, en(PROTECTED_ACTION), "no"),
    p("cluster-preferred-endpoint-type", None, 0, en(ENDPOINT_TYPE), "ip"),
    p("propagation-error-behavior", None, 0, en(PROPAGATION_ERROR), "ignore"),
    p("shutdown-on-sigint", None, MULTI, SHUTDOWN_ON_SIG, "default"),
    p("shutdown-on-sigterm", None, MULTI, SHUTDOWN_ON_SIG, "default"),
    // Integers (int, then unsigned int, long, long long, size_t, ...).
    p("databases", None, IMM, int(1, INT_MAX), "16"),
    p("port", None, 0, int(0, 65535), "6379"),
    p("io-threads", None, IMM, int(1, 128), "1"),
    p("auto-aof-rewrite-percentage", None, 0, int(0, INT_MAX), "100"),
    p("cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), 0, int(0, INT_MAX), "10"),
    p("list-max-listpack-size", Some("list-max-ziplist-size"), 0, int(INT_MIN, INT_MAX), "-2"),
    p("tcp-keepalive", None, 0, int(0, INT_MAX), "300"),
    p("cluster-migration-barrier", None, 0, int(0, INT_MAX), "1"),
    p("active-defrag-cycle-min", None, 0, int(1, 99), "1"),
    p("active-defrag-cycle-max", None, 0, int(1, 99), "25"),
    p("active-defrag-threshold-lower", None, 0, int(0, 1000), "10"),
    p("active-defrag-threshold-upper", None, 0, int(0, 1000), "100"),
    p("lfu-log-factor", None, 0, int(0, INT_MAX), "10"),
    p("lfu-decay-time", None, 0, int(0, INT_MAX), "1"),
    p("replica-priority", Some("slave-priority"), 0, int(0, INT_MAX), "100"),
    p("repl-diskless-sync-delay", None, 0, int(0, INT_MAX), "5"),
    p("maxmemory-samples", None, 0, int(1, INT_MAX), "5"),
    p("maxmemory-eviction-tenacity", None, 0, int(0, 100), "10"),
    p("timeout", None, 0, int(0, INT_MAX), "0"),
    p("replica-announce-port", Some("slave-announce-port"), 0, int(0, 65535), "0"),
    p("tcp-backlog", None, IMM, int(0, INT_MAX), "511"),
    p("cluster-port", None, IMM, int(0, 65535), "0"),
    p("cluster-announce-bus-port", None, 0, int(0, 65535), "0"),
    p("cluster-announce-port", None, 0, int(0, 65535), "0"),
    p("cluster-announce-tls-port", None, 0, int(0, 65535), "0"),
    p("repl-timeout", None, 0, int(1, INT_MAX), "60"),
    p("repl-ping-replica-period", Some("repl-ping-slave-period"), 0, int(1, INT_MAX), "10"),
    p("list-compress-depth", None, 0, int(0, INT_MAX), "0"),
    p("rdb-key-save-delay", None, HID, int(INT_MIN, INT_MAX), "0"),
    p("key-load-delay", None, HID, int(INT_MIN, INT_MAX), "0"),
    p("active-expire-effort", None, 0, int(1, 10), "1"),
    p("hz", None, 0, int(0, INT_MAX), "10"),
    p("min-replicas-to-write", Some("min-slaves-to-write"), 0, int(0, INT_MAX), "0"),
    p("min-replicas-max-lag", Some("min-slaves-max-lag"), 0, int(0, INT_MAX), "10"),
    p("watchdog-period", None, HID, int(0, INT_MAX), "0"),
    p("shutdown-timeout", None, 0, int(0, INT_MAX), "10"),
    p("repl-diskless-sync-max-replicas", None, 0, int(0, INT_MAX), "0"),
    p("maxclients", None, 0, uint(1, UINT_MAX), "10000"),
    p("unixsocketperm", None, IMM, num(0, 0o777, true, Fmt::Octal), "0"),
    p("socket-mark-id", None, IMM, uint(0, UINT_MAX), "0"),
    p("active-defrag-max-scan-fields", None, 0, int(1, LMAX), "1000"),
    p("slowlog-max-len", None, 0, int(0, LMAX), "128"),
    p("acllog-max-len", None, 0, int(0, LMAX), "128"),
    p("busy-reply-threshold", Some("lua-time-limit"), 0, int(0, LMAX), "5000"),
    p("cluster-node-timeout", None, 0, int(0, LMAX), "15000"),
    p("slowlog-log-slower-than", None, 0, int(-1, LMAX), "10000"),
    p("latency-monitor-threshold", None, 0, int(0, LMAX), "0"),
    p("proto-max-bulk-len", None, 0, mem(1 << 20, LMAX), "536870912"),
    p("stream-node-max-entries", None, 0, int(0, LMAX), "100"),
    p("repl-backlog-size", None, 0, mem(1, LMAX), "1048576"),
    p("maxmemory", None, 0, umem(0, ULLONG_MAX), "0"),
    p("cluster-link-sendbuf-limit", None, 0, umem(0, ULLONG_MAX), "0"),
    p("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), 0, uint(0, LMAX), "512"),
    p("set-max-intset-entries", None, 0, uint(0, LMAX), "512"),
    p("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), 0, uint(0, LMAX), "128"),
    p("active-defrag-ignore-bytes", None, 0, umem(1, LMAX), "104857600"),
    p("hash-max-listpack-value", Some("hash-max-ziplist-value"), 0, umem(0, LMAX), "64"),
    p("stream-node-max-bytes", None, 0, umem(0, LMAX), "4096"),
    p("zset-max-listpack-value", Some("zset-max-ziplist-value"), 0, umem(0, LMAX), "64"),
    p("hll-sparse-max-bytes", None, 0, umem(0, LMAX), "3000"),
    p("tracking-table-max-keys", None, 0, uint(0, LMAX), "1000000"),
    p("client-query-buffer-limit", None, 0, umem(1 << 20, LMAX), "1073741824"),
    p("maxmemory-clients", None, 0, num(-100, LMAX, false, Fmt::MemoryPercent), "0"),
    p("repl-backlog-ttl", None, 0, int(0, LMAX), "3600"),
    p("auto-aof-rewrite-min-size", None, 0, mem(0, LMAX), "67108864"),
    p("loading-process-events-interval-bytes", None, HID, int(1024, INT_MAX), "2097152"),
    // TLS.
    p("tls-port", None, 0, int(0, 65535), "0"),
    p("tls-session-cache-size", None, 0, int(0, INT_MAX), "20480"),
    p("tls-session-cache-timeout", None, 0, int(0, INT_MAX), "300"),
    p("tls-cluster", None, 0, BOOL, "no"),
    p("tls-replication", None, 0, BOOL, "no"),
    p("tls-auth-clients", None, 0, en(TLS_AUTH_CLIENTS), "yes"),
    p("tls-prefer-server-ciphers", None, 0, BOOL, "no"),
    p("tls-session-caching", None, 0, BOOL, "yes"),
    p("tls-cert-file", None, 0, STR, ""),
    p("tls-key-file", None, 0, STR, ""),
    p("tls-key-file-pass", None, 0, STR, ""),
    p("tls-client-cert-file", None, 0, STR, ""),
    p("tls-client-key-file", None, 0, STR, ""),
    p("tls-client-key-file-pass", None, 0, STR, ""),
    p("tls-dh-params-file", None, 0, STR, ""),
    p("tls-ca-cert-file", None, 0, STR, ""),
    p("tls-ca-cert-dir", None, 0, STR, ""),
    p("tls-protocols", None, 0, STR, ""),
    p("tls-ciphers", None, 0, STR, ""),
    p("tls-ciphersuites", None, 0, STR, ""),
    // Specials.
    p("dir", None, PROT, sp(Special::Dir), ""),
    p("save", None, MULTI, sp(Special::Save), "3600 1 300 100 60 10000"),
    p("client-output-buffer-limit", None, MULTI, sp(Special::ObufLimits),
      "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    p("oom-score-adj-values", None, MULTI, sp(Special::OomValues), "0 200 800"),
    p("notify-keyspace-events", None, 0, sp(Special::Notify), ""),
    // Deviation: Redis binds "* -::*" by default.
    p("bind", None, MULTI, sp(Special::Bind), "127.0.0.1"),
    p("replicaof", Some("slaveof"), IMM | MULTI, sp(Special::ReplicaOf), ""),
    p("latency-tracking-info-percentiles", None, MULTI, sp(Special::Percentiles), "50 99 99.9"),
];

/// Settings for what redlite cannot do: the values it accepts (what it does anyway, or a
/// default it cannot honour, listed in the README's differences) and why any other is
/// refused, at startup and by CONFIG SET.
#[rustfmt::skip]
const REFUSED: &[(&str, &[&str], &str)] = &[
    ("cluster-enabled", &["no"], "cluster mode (cluster-enabled yes) is not supported by redlite"),
    ("daemonize", &["no"],
     "daemonize yes is not supported by redlite: run it in the foreground (under a supervisor)"),
    ("tls-port", &["0"], "TLS (tls-port) is not supported by redlite"),
    ("tls-replication", &["no"], "TLS (tls-replication) is not supported by redlite"),
    ("tls-cluster", &["no"], "TLS (tls-cluster) is not supported by redlite"),
    ("maxmemory-clients", &["0"], "client eviction (maxmemory-clients) is not supported by redlite"),
    ("syslog-enabled", &["no"],
     "syslog (syslog-enabled yes) is not supported by redlite: log to a file (logfile) or to standard output"),
    ("list-compress-depth", &["0"], "list compression (list-compress-depth) is not supported by redlite"),
    ("enable-module-command", &["no"],
     "modules (enable-module-command) are not supported by redlite: it cannot load C modules"),
    ("server_cpulist", &[""], CPU_AFFINITY),
    ("bio_cpulist", &[""], CPU_AFFINITY),
    ("aof_rewrite_cpulist", &[""], CPU_AFFINITY),
    ("bgsave_cpulist", &[""], CPU_AFFINITY),
    ("bind-source-addr", &[""],
     "bind-source-addr is not supported by redlite: std cannot choose the source address of an outgoing connection"),
    ("socket-mark-id", &["0"], "socket marks (socket-mark-id) are not supported by redlite"),
    ("watchdog-period", &["0"], "the software watchdog (watchdog-period) is not supported by redlite"),
    ("tcp-keepalive", &["300", "0"],
     "tcp-keepalive cannot be tuned in redlite: std cannot set SO_KEEPALIVE (only 0 and the default 300 are accepted; see the README)"),
    ("tcp-backlog", &["511"],
     "tcp-backlog cannot be set in redlite: std listens with its own backlog (only the default 511 is accepted; see the README)"),
    ("shutdown-on-sigint", &["default"], SIGNALS),
    ("shutdown-on-sigterm", &["default"], SIGNALS),
];

const CPU_AFFINITY: &str =
    "CPU affinity (*_cpulist) is not supported by redlite: std cannot set it (start redlite under taskset instead)";
const SIGNALS: &str =
    "shutdown-on-sigint and shutdown-on-sigterm are not supported by redlite: std cannot catch signals, so SIGINT and SIGTERM end it at once (use SHUTDOWN)";

/// One name CONFIG knows: a parameter's own name or its alias. Redis registers the two as
/// separate entries, which is why CONFIG SET accepts a name and its alias in one call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Entry {
    idx: usize,
    alias: bool,
}

impl Entry {
    fn name(self) -> &'static str {
        let p = &PARAMS[self.idx];
        match (self.alias, p.alias) {
            (true, Some(alias)) => alias,
            _ => p.name,
        }
    }
}

fn entries() -> impl Iterator<Item = Entry> {
    PARAMS.iter().enumerate().flat_map(|(idx, p)| {
        let alias = p.alias.map(|_| Entry { idx, alias: true });
        std::iter::once(Entry { idx, alias: false }).chain(alias)
    })
}

/// Finds a name or alias, case-insensitively like Redis's config dictionary.
fn lookup(name: &[u8]) -> Option<Entry> {
    entries().find(|e| e.name().as_bytes().eq_ignore_ascii_case(name))
}

/// The table row of a (constant, known) parameter name.
fn index_of(name: &str) -> usize {
    PARAMS.iter().position(|p| p.name == name).unwrap_or(0)
}

/// The stored value of a plain parameter.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Bool(bool),
    /// Integers and enum values (C `long long`; unsigned 64-bit values keep their bits).
    Int(i64),
    Str(Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ObufLimit {
    /// Bytes at which the client is closed at once (0: none).
    pub hard: u64,
    /// Bytes the client may stay above for `seconds` (0: none).
    pub soft: u64,
    pub seconds: i64,
}

/// Client classes of `client-output-buffer-limit`, in Redis's order and naming.
const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Redis's loader state, kept in statics there: while a file is read, `save` lines add up
/// (the first one replaces the defaults); after an `include` Redis forgets it is reading a
/// file, so later `save` lines replace each other.
#[derive(Default)]
struct LoadState {
    reading: bool,
    save_loaded: bool,
}

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

impl Default for Config {
    /// Redis 7.0's defaults (except `bind`, see [`Config::bind`]).
    fn default() -> Self {
        let mut cfg = Config {
            port: 0,
            bind: Vec::new(),
            dir: PathBuf::from("."),
            dbfilename: String::new(),
            maxclients: 0,
            databases: 0,
            save: Vec::new(),
            hz: 0,
            timeout: 0,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            proto_max_bulk_len: 0,
            client_query_buffer_limit: 0,
            requirepass: String::new(),
            config_file: None,
            directives: Vec::new(),
            values: vec![Val::Int(0); PARAMS.len()],
            obuf_limits: [ObufLimit {
                hard: 0,
                soft: 0,
                seconds: 0,
            }; 3],
            oom_score_adj_values: [0; 3],
            notify_flags: 0,
            replicaof: None,
            percentiles: Vec::new(),
        };
        for (idx, param) in PARAMS.iter().enumerate() {
            // `dir` is the process's working directory and `replicaof` starts unset.
            if matches!(param.kind, Kind::Special(Special::Dir | Special::ReplicaOf)) {
                continue;
            }
            let value = param.default.as_bytes();
            let res = cfg.assign(idx, &config_set_args(param, value), None);
            debug_assert!(res.is_ok(), "bad built-in default for {}", param.name);
        }
        cfg
    }
}

impl Config {
    /// Parses redis-server style arguments (argv without argv[0]): an optional config file
    /// path as the FIRST argument (if it does not start with "-"), then `--name value [value
    /// ...]` options, where every word up to the next `--xxx` belongs to that option (so
    /// `--save 3600 1 300 100` and `--save ""` work). Exactly like redis-server, the options
    /// are appended to the file as config lines, so they override it; a lone `-` (first or
    /// last) also reads config text from standard input. The file has redis.conf syntax:
    /// `#` comments, "..." (with escapes) and '...' quoting, `include` (wildcards allowed in
    /// the file name). Does not change directory (see [`Config::dir`]) but, like Redis,
    /// creates `logfile` to check that it can be opened.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Config, ConfigError> {
        let args: Vec<String> = args.into_iter().collect();
        let mut cfg = Config::default();
        // Without arguments redis-server does not even run its config loader.
        if args.is_empty() {
            return Ok(cfg);
        }
        let mut first = 0;
        if !args[0].starts_with('-') {
            cfg.config_file = Some(absolute_path(&args[0]));
            first = 1;
        }
        let (options, from_stdin) = command_line_options(&args, first);
        let mut text = Vec::new();
        if let Some(path) = &cfg.config_file {
            text = read_config_file(path, &path.display().to_string())?;
        }
        if from_stdin {
            // A read error leaves what was read, like Redis's fgets loop.
            let _ = std::io::stdin().read_to_end(&mut text);
        }
        text.push(b'\n');
        text.extend_from_slice(&options);
        cfg.load_text(&text, &mut LoadState::default())?;
        Ok(cfg)
    }

    /// CONFIG GET pattern [pattern ...]: every (name, value) whose name matches one of the
    /// glob patterns (case-insensitively), each parameter at most once, aliases included as
    /// separate names as Redis 7.0 does. A pattern without `*?[` is an exact name: it is
    /// echoed as given and may name a hidden parameter. Values are formatted as Redis 7.0
    /// prints them. Order: first match first (Redis uses hash order).
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, Vec<u8>)> {
        let mut found: Vec<(String, usize)> = Vec::new();
        let seen = |found: &[(String, usize)], name: &[u8]| {
            found
                .iter()
                .any(|(k, _)| k.as_bytes().eq_ignore_ascii_case(name))
        };
        for &pattern in patterns {
            if !pattern.iter().any(|c| b"[*?".contains(c)) {
                if let Some(e) = lookup(pattern).filter(|_| !seen(&found, pattern)) {
                    found.push((String::from_utf8_lossy(pattern).into_owned(), e.idx));
                }
                continue;
            }
            for e in entries() {
                let name = e.name();
                if PARAMS[e.idx].flags & HID != 0 || seen(&found, name.as_bytes()) {
                    continue;
                }
                if glob::matches(pattern, name.as_bytes(), true) {
                    found.push((name.to_string(), e.idx));
                }
            }
        }
        found
            .into_iter()
            .map(|(name, idx)| (name, self.render(idx)))
            .collect()
    }

    /// CONFIG SET name value [name value ...], all-or-nothing like Redis 7.0, from a client
    /// treated as local (which matters only with `enable-protected-configs local`; see
    /// [`Config::set_as_client`]). `Err` holds the exact error reply without the leading '-',
    /// e.g. "ERR Unknown option or number of arguments for CONFIG SET - 'foo'". An empty
    /// `pairs` gives Redis's arity error; an odd argument count ("ERR syntax error" in Redis)
    /// cannot be expressed as pairs and is the caller's to report.
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<(), String> {
        self.set_as_client(pairs, true)
    }

    /// [`Config::set`] for a client that is local (loopback or unix socket) or not, which
    /// decides whether protected parameters (`dir`, `dbfilename`) may be set when
    /// `enable-protected-configs` is `local`.
    pub fn set_as_client(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        local_client: bool,
    ) -> Result<(), String> {
        if pairs.is_empty() {
            return Err("ERR wrong number of arguments for 'config|set' command".to_string());
        }
        let failed = |name: &[u8], why: &str| {
            format!(
                "ERR CONFIG SET failed (possibly related to argument '{}') - {why}",
                lossy(name)
            )
        };
        // First pass, like Redis: the first unknown, refused or repeated name decides the error.
        let protected_ok = match self.load(index_of("enable-protected-configs")) {
            Val::Int(1) => true,
            Val::Int(2) => local_client,
            _ => false,
        };
        let mut chosen: Vec<Entry> = Vec::with_capacity(pairs.len());
        for &(name, _) in pairs {
            let Some(e) = lookup(name) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                    lossy(name)
                ));
            };
            let flags = PARAMS[e.idx].flags;
            if flags & IMM != 0 {
                return Err(failed(name, "can't set immutable config"));
            }
            if flags & PROT != 0 && !protected_ok {
                return Err(failed(name, "can't set protected config"));
            }
            if chosen.contains(&e) {
                return Err(failed(name, "duplicate parameter"));
            }
            chosen.push(e);
        }
        // Second pass: set in order; on the first failure restore everything (Redis restores
        // the old values, including the working directory).
        let backup = self.clone();
        let old_cwd = std::env::current_dir().ok();
        for (e, &(_, value)) in chosen.iter().zip(pairs) {
            let param = &PARAMS[e.idx];
            let assigned = self
                .assign(e.idx, &config_set_args(param, value), None)
                .and_then(|()| {
                    self.unsupported()
                        .map_or(Ok(()), |why| Err(why.to_string()))
                });
            if let Err(why) = assigned {
                *self = backup;
                let dir_touched = chosen.iter().any(|c| PARAMS[c.idx].name == "dir");
                if let (true, Some(cwd)) = (dir_touched, old_cwd) {
                    let _ = std::env::set_current_dir(cwd);
                }
                // Redis names the entry here (lowercase, alias if the alias was used).
                return Err(failed(e.name().as_bytes(), &why));
            }
        }
        Ok(())
    }

    /// The value CONFIG GET would report for one exact parameter name or alias (hidden ones
    /// included), or `None` for an unknown name.
    pub fn value(&self, name: &str) -> Option<Vec<u8>> {
        lookup(name.as_bytes()).map(|e| self.render(e.idx))
    }

    /// `oom-score-adj` (0 no, 1 relative, 2 absolute) and `oom-score-adj-values`.
    pub fn oom_score_adj(&self) -> (i64, [i64; 3]) {
        let mode = match self.load(index_of("oom-score-adj")) {
            Val::Int(mode) => mode,
            _ => 0,
        };
        (mode, self.oom_score_adj_values)
    }

    /// `supervised` (0 no, 1 upstart, 2 systemd, 3 auto).
    pub fn supervised(&self) -> i64 {
        match self.load(index_of("supervised")) {
            Val::Int(mode) => mode,
            _ => 0,
        }
    }

    /// `latency-tracking-info-percentiles`.
    pub fn latency_percentiles(&self) -> &[f64] {
        &self.percentiles
    }

    /// Whether a yes/no parameter is yes (false for an unknown name).
    pub fn is_yes(&self, name: &str) -> bool {
        self.value(name).is_some_and(|v| v == b"yes")
    }

    /// `notify-keyspace-events` as Redis's flag bits (see [`crate::store::class`]).
    pub fn notify_flags(&self) -> u32 {
        self.notify_flags
    }

    /// The `client-output-buffer-limit` of replicas (the `replica` class).
    pub fn replica_output_limit(&self) -> ObufLimit {
        self.obuf_limits[1]
    }

    /// `replicaof`: the master's host and port, if set.
    pub fn replicaof(&self) -> Option<(String, u16)> {
        let (host, port) = self.replicaof.as_ref()?;
        Some((lossy(host), *port as u16))
    }

    /// Records the master REPLICAOF set (or `None` after REPLICAOF NO ONE), for CONFIG
    /// REWRITE.
    pub fn set_replicaof(&mut self, master: Option<(String, u16)>) {
        self.replicaof = master.map(|(host, port)| (host.into_bytes(), i64::from(port)));
    }

    /// The `client-output-buffer-limit` of subscribed clients (the `pubsub` class).
    pub fn pubsub_output_limit(&self) -> ObufLimit {
        self.obuf_limits[2]
    }

    /// CONFIG REWRITE (Redis's `rewriteConfig`): the config file gets the current value
    /// of each parameter, on the line where the file set it (later lines for the same
    /// parameter are dropped); parameters the file did not set and whose value is not
    /// the default are added at the end, after a `# Generated by CONFIG REWRITE` line.
    /// Lines the table does not know (comments, `user`, `include`...) stay as they are.
    /// The file is replaced atomically (temp file, fsync, rename). `Err` is the reply.
    pub fn rewrite(&self) -> Result<(), String> {
        const MARK: &[u8] = b"# Generated by CONFIG REWRITE";
        let Some(path) = &self.config_file else {
            return Err("ERR The server is running without a config file".to_string());
        };
        let old = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("ERR Rewriting config file: {}", os_error_text(&e))),
        };
        let mut done = vec![false; PARAMS.len()];
        let mut out: Vec<u8> = Vec::new();
        let mut has_mark = false;
        for line in old.split(|&c| c == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            has_mark |= line == MARK;
            let words = split_args(trim(line)).unwrap_or_default();
            let known = match words.first() {
                Some(w) if !trim(line).starts_with(b"#") => lookup(w),
                _ => None,
            };
            let Some(entry) =
                known.filter(|e| !matches!(PARAMS[e.idx].kind, Kind::Special(Special::Dir)))
            else {
                out.extend_from_slice(line);
                out.push(b'\n');
                continue;
            };
            if !std::mem::replace(&mut done[entry.idx], true) {
                self.rewrite_lines(entry.idx, &mut out);
            }
        }
        while out.ends_with(b"\n\n") {
            out.pop();
        }
        let mut added = Vec::new();
        for (idx, param) in PARAMS.iter().enumerate() {
            let special_dir = matches!(param.kind, Kind::Special(Special::Dir));
            if done[idx] || special_dir || param.flags & HID != 0 {
                continue;
            }
            if self.render(idx) != param.default.as_bytes() {
                self.rewrite_lines(idx, &mut added);
            }
        }
        if !added.is_empty() {
            if !has_mark {
                out.extend_from_slice(MARK);
                out.push(b'\n');
            }
            out.extend_from_slice(&added);
        }
        let tmp = path.with_extension(format!("rewrite-{}.tmp", std::process::id()));
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| {
                std::io::Write::write_all(&mut f, &out)?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&tmp, path));
        written.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("ERR Rewriting config file: {}", os_error_text(&e))
        })
    }

    /// The config file line(s) that set parameter `idx` to its current value (none for
    /// an unset `replicaof`).
    fn rewrite_lines(&self, idx: usize, out: &mut Vec<u8>) {
        let param = &PARAMS[idx];
        let mut line = |words: &[&[u8]]| {
            out.extend_from_slice(param.name.as_bytes());
            for w in words {
                out.push(b' ');
                out.extend_from_slice(w);
            }
            out.push(b'\n');
        };
        let value = self.render(idx);
        match param.kind {
            Kind::Special(Special::ReplicaOf) if self.replicaof.is_none() => {}
            Kind::Special(Special::ObufLimits) => {
                for (class, l) in OBUF_CLASSES.iter().zip(&self.obuf_limits) {
                    let words = format!("{class} {} {} {}", l.hard, l.soft, l.seconds);
                    line(&[words.as_bytes()]);
                }
            }
            Kind::Special(Special::Save) if value.is_empty() => line(&[b"\"\""]),
            Kind::Str(_) => {
                // Quoted as Redis's `sdscatrepr` does, so the loader reads it back whole.
                let mut quoted = Vec::new();
                crate::util::push_repr(&mut quoted, &value);
                line(&[&quoted]);
            }
            _ if value.is_empty() => line(&[b"\"\""]),
            _ => line(&[&value]),
        }
    }

    /// An integer parameter's value (0 for an unknown name).
    pub fn int(&self, name: &str) -> i64 {
        self.value(name)
            .and_then(|v| crate::util::num::parse_i64(&v))
            .unwrap_or(0)
    }

    /// An integer parameter's value, negative ones as 0 (0 for an unknown name).
    pub fn uint(&self, name: &str) -> u64 {
        self.int(name).max(0) as u64
    }

    /// How keys' access clocks are kept: an LFU policy keeps counters, any other keeps
    /// LRU times; `lfu-log-factor` and `lfu-decay-time` shape the counters.
    pub fn clock(&self) -> crate::store::clock::Clock {
        let int = |name: &str| self.uint(name).min(u64::from(u32::MAX)) as u32;
        crate::store::clock::Clock {
            lfu: self
                .value("maxmemory-policy")
                .is_some_and(|p| p.ends_with(b"-lfu")),
            log_factor: int("lfu-log-factor"),
            decay_time: int("lfu-decay-time"),
        }
    }

    /// How RDB values are encoded: `rdbcompression`, `rdbchecksum`,
    /// `list-max-listpack-size`, and the clocks an LRU or LFU policy saves.
    pub fn rdb_options(&self) -> crate::persist::rdb::Options {
        let policy = self.value("maxmemory-policy").unwrap_or_default();
        crate::persist::rdb::Options {
            // Redis saves idle times under an LRU policy, counters under an LFU one.
            clocks: (policy.ends_with(b"-lru") || policy.ends_with(b"-lfu")).then(|| self.clock()),
            compression: self.is_yes("rdbcompression"),
            checksum: self.is_yes("rdbchecksum"),
            list_fill: self
                .value("list-max-listpack-size")
                .and_then(|v| crate::util::num::parse_i64(&v))
                .unwrap_or(-2),
        }
    }

    /// The collection encoding limits (`hash-max-listpack-entries` and the others).
    pub fn limits(&self) -> Limits {
        let get = |name: &str| {
            self.value(name)
                .and_then(|v| crate::util::num::parse_u64_max(&v, u64::MAX))
                .map_or(usize::MAX, |v| usize::try_from(v).unwrap_or(usize::MAX))
        };
        Limits {
            hash_entries: get("hash-max-listpack-entries"),
            hash_value: get("hash-max-listpack-value"),
            set_intset_entries: get("set-max-intset-entries"),
            zset_entries: get("zset-max-listpack-entries"),
            zset_value: get("zset-max-listpack-value"),
            stream_node: crate::store::stream::NodeLimits {
                entries: get("stream-node-max-entries") as u64,
                bytes: get("stream-node-max-bytes") as u64,
            },
            hll_sparse_bytes: get("hll-sparse-max-bytes"),
        }
    }

    /// Whether CONFIG SET values of this parameter must be redacted from logs, SLOWLOG and
    /// MONITOR (`requirepass`, `masterauth`, `masteruser`).
    pub fn is_sensitive(name: &[u8]) -> bool {
        lookup(name).is_some_and(|e| PARAMS[e.idx].flags & SENS != 0)
    }

    // -----------------------------------------------------------------------------------------
    // Loading
    // -----------------------------------------------------------------------------------------

    /// Redis's `loadServerConfigFromString`: runs config text line by line.
    fn load_text(&mut self, text: &[u8], state: &mut LoadState) -> Result<(), ConfigError> {
        const DEPRECATED: [&[u8]; 3] = [
            b"list-max-ziplist-entries",
            b"list-max-ziplist-value",
            b"lua-replicate-commands",
        ];
        state.reading = true;
        // Redis handles the text as a C string.
        let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
        for (n, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line = trim(raw);
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let fail = |message: &str| ConfigError::at(n + 1, line, message);
            let Some(mut argv) = split_args(line) else {
                return Err(fail("Unbalanced quotes in configuration line"));
            };
            if argv.is_empty() {
                continue;
            }
            argv[0].make_ascii_lowercase();
            let argc = argv.len();
            if let Some(e) = lookup(&argv[0]) {
                let param = &PARAMS[e.idx];
                let multi = param.flags & MULTI != 0;
                if !multi && argc != 2 {
                    return Err(fail("wrong number of arguments"));
                }
                // A multi-word parameter given as one quoted word is split again, so that
                // `--save "3600 1 300 100"` works.
                let words = match (multi, argv.get(1)) {
                    (true, Some(only)) if argc == 2 && !only.is_empty() => {
                        split_args(only).unwrap_or_default()
                    }
                    _ => argv[1..].to_vec(),
                };
                let words: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
                self.assign(e.idx, &words, Some(&mut *state))
                    .map_err(|why| fail(&why))?;
                continue;
            }
            let name = argv[0].as_slice();
            if argc == 2 && DEPRECATED.contains(&name) {
                continue;
            }
            let directive = match name {
                b"include" if argc == 2 => {
                    self.include(&argv[1], state)?;
                    continue;
                }
                b"rename-command" if argc == 3 => true,
                b"user" if argc >= 2 => {
                    let seen = self
                        .directives
                        .iter()
                        .any(|d| d.args[0] == b"user" && d.args.get(1) == argv.get(1));
                    if let Err(why) = crate::acl::check_user_line(&argv, seen) {
                        return Err(fail(&why));
                    }
                    true
                }
                b"loadmodule" if argc >= 2 => true,
                b"sentinel" if argc == 1 => continue,
                b"sentinel" => return Err(fail("sentinel directive while not in sentinel mode")),
                _ if name.contains(&b'.') && argc < 2 => {
                    return Err(fail("Module config specified without value"))
                }
                _ => name.contains(&b'.'),
            };
            if !directive {
                return Err(fail("Bad directive or wrong number of arguments"));
            }
            self.directives.push(Directive {
                args: argv,
                line: n + 1,
                text: lossy(line),
            });
        }
        // Checks Redis makes once the text is loaded (not tied to a line).
        if !self.logfile.is_empty() {
            let path = self.dir.join(&self.logfile);
            if let Err(e) = OpenOptions::new().append(true).create(true).open(path) {
                let message = format!("Can't open the log file: {}", os_error_text(&e));
                return Err(ConfigError::fatal(message));
            }
        }
        if self.load(index_of("cluster-enabled")) == Val::Bool(true) && self.replicaof.is_some() {
            let message = "replicaof directive not allowed in cluster mode".to_string();
            return Err(ConfigError::fatal(message));
        }
        if let Some(why) = self.unsupported() {
            return Err(ConfigError::fatal(why.to_string()));
        }
        state.reading = false;
        Ok(())
    }

    /// A feature redlite does not have that the settings ask for: refused rather than
    /// accepted and ignored (a user who sets it trusts it to take effect). Each row of
    /// [`REFUSED`] names the values that are accepted; any other value is refused.
    fn unsupported(&self) -> Option<&'static str> {
        REFUSED.iter().find_map(|&(name, accepted, why)| {
            let value = self.render(index_of(name));
            (!accepted.iter().any(|a| a.as_bytes() == value)).then_some(why)
        })
    }

    /// `include path`: the file's text (all matches' texts joined, for a wildcard pattern
    /// with no match meaning nothing to load) is run as its own text, with its own line
    /// numbers. Relative paths count from `dir`, where Redis would have `chdir`ed.
    fn include(&mut self, path: &[u8], state: &mut LoadState) -> Result<(), ConfigError> {
        let path = lossy(path);
        let mut text = Vec::new();
        if path.contains(['*', '?', '[']) {
            for (file, shown) in self.glob_files(&path) {
                text.extend(read_config_file(&file, &shown)?);
            }
        } else {
            text = read_config_file(&self.dir.join(&path), &path)?;
        }
        self.load_text(&text, state)
    }

    /// Files matching a pattern whose wildcards are in the last path component, sorted like
    /// glob(3); hidden files need the pattern to start with a dot.
    fn glob_files(&self, pattern: &str) -> Vec<(PathBuf, String)> {
        let (parent, name_pattern) = match pattern.rfind('/') {
            Some(slash) => (&pattern[..=slash], &pattern[slash + 1..]),
            None => ("", pattern),
        };
        let Ok(listing) = std::fs::read_dir(self.dir.join(parent)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = listing
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.') || name_pattern.starts_with('.'))
            .filter(|name| glob::matches(name_pattern.as_bytes(), name.as_bytes(), false))
            .collect();
        names.sort();
        let path = |name: String| {
            let shown = format!("{parent}{name}");
            (self.dir.join(&shown), shown)
        };
        names.into_iter().map(path).collect()
    }

    // -----------------------------------------------------------------------------------------
    // Values
    // -----------------------------------------------------------------------------------------

    /// The current value of a plain parameter, from its typed field if it has one.
    fn load(&self, idx: usize) -> Val {
        let as_str = |s: &String| Val::Str(s.as_bytes().to_vec());
        match PARAMS[idx].name {
            "port" => Val::Int(self.port.into()),
            "databases" => Val::Int(self.databases as i64),
            "maxclients" => Val::Int(self.maxclients as i64),
            "hz" => Val::Int(self.hz.into()),
            "timeout" => Val::Int(self.timeout as i64),
            "proto-max-bulk-len" => Val::Int(self.proto_max_bulk_len as i64),
            "client-query-buffer-limit" => Val::Int(self.client_query_buffer_limit as i64),
            "loglevel" => Val::Int(self.loglevel as i64),
            "dbfilename" => as_str(&self.dbfilename),
            "logfile" => as_str(&self.logfile),
            "requirepass" => as_str(&self.requirepass),
            _ => self.values[idx].clone(),
        }
    }

    /// Stores a validated value, into its typed field if it has one.
    fn store(&mut self, idx: usize, val: Val) {
        let (n, text) = match &val {
            Val::Int(n) => (*n, String::new()),
            Val::Str(s) => (0, lossy(s)),
            Val::Bool(_) => (0, String::new()),
        };
        // The table's bounds guarantee that every value fits its field.
        match PARAMS[idx].name {
            "port" => self.port = n as u16,
            "databases" => self.databases = n as usize,
            "maxclients" => self.maxclients = n as u64,
            // Redis takes hz as a hint and clamps it to 1..=500.
            "hz" => self.hz = n.clamp(1, 500) as u32,
            "timeout" => self.timeout = n as u64,
            "proto-max-bulk-len" => self.proto_max_bulk_len = n as u64,
            "client-query-buffer-limit" => self.client_query_buffer_limit = n as u64,
            "loglevel" => {
                self.loglevel = match n {
                    0 => LogLevel::Debug,
                    1 => LogLevel::Verbose,
                    2 => LogLevel::Notice,
                    _ => LogLevel::Warning,
                }
            }
            "dbfilename" => self.dbfilename = text,
            "logfile" => self.logfile = text,
            "requirepass" => self.requirepass = text,
            _ => self.values[idx] = val,
        }
    }

    /// A parameter's value as CONFIG GET prints it.
    fn render(&self, idx: usize) -> Vec<u8> {
        let kind = PARAMS[idx].kind;
        if let Kind::Special(special) = kind {
            return self.render_special(special);
        }
        let text = match (kind, self.load(idx)) {
            (_, Val::Str(s)) => return s,
            (_, Val::Bool(b)) => (if b { "yes" } else { "no" }).to_string(),
            (Kind::Int { fmt, .. }, Val::Int(n)) => match fmt {
                Fmt::MemoryPercent if n < 0 => format!("{}%", n.unsigned_abs()),
                Fmt::Memory | Fmt::MemoryPercent => (n as u64).to_string(),
                Fmt::Octal => format!("{:o}", n as u64),
                Fmt::Plain => n.to_string(),
            },
            (Kind::Enum { names, flags }, Val::Int(n)) => enum_name(names, n as u32, flags),
            (_, Val::Int(n)) => n.to_string(),
        };
        text.into_bytes()
    }

    fn render_special(&self, special: Special) -> Vec<u8> {
        let text = match special {
            Special::Dir => std::env::current_dir()
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Special::Save => join(
                self.save
                    .iter()
                    .map(|(secs, changes)| format!("{secs} {changes}")),
            ),
            Special::ObufLimits => join(
                OBUF_CLASSES
                    .iter()
                    .zip(&self.obuf_limits)
                    .map(|(c, l)| format!("{c} {} {} {}", l.hard, l.soft, l.seconds)),
            ),
            Special::OomValues => join(self.oom_score_adj_values.iter().map(i64::to_string)),
            Special::Notify => notify_flags_to_string(self.notify_flags),
            Special::Bind => self.bind.join(" "),
            Special::ReplicaOf => match &self.replicaof {
                Some((host, port)) => format!("{} {port}", lossy(host)),
                None => String::new(),
            },
            Special::Percentiles => join(self.percentiles.iter().map(|&v| format_percentile(v))),
        };
        text.into_bytes()
    }

    /// Validates and sets one parameter from its words, with Redis's checks and error texts.
    /// `state` is `Some` while loading config text and `None` for CONFIG SET.
    fn assign(
        &mut self,
        idx: usize,
        args: &[&[u8]],
        state: Option<&mut LoadState>,
    ) -> Result<(), String> {
        // Single-word kinds always get exactly one word (the loader checks, CONFIG SET gives one).
        let arg = args.first().copied().unwrap_or_default();
        let name = PARAMS[idx].name;
        let val = match PARAMS[idx].kind {
            Kind::Special(special) => return self.assign_special(special, args, state),
            Kind::Bool => match arg.to_ascii_lowercase().as_slice() {
                // We cannot defragment, like a Redis built without jemalloc's support for it
                // (as the reference server is), so we refuse it the same way.
                b"yes" if name == "activedefrag" => {
                    return Err(
                        "Active defragmentation cannot be enabled: it requires a Redis \
                                server compiled with a modified Jemalloc like the one shipped \
                                by default with the Redis source distribution"
                            .to_string(),
                    )
                }
                b"yes" => Val::Bool(true),
                b"no" => Val::Bool(false),
                _ => return Err("argument must be 'yes' or 'no'".to_string()),
            },
            Kind::Int {
                min,
                max,
                unsigned,
                fmt,
            } => {
                let n = parse_number(arg, fmt)?;
                check_bounds(n, min, max, unsigned, fmt)?;
                // Redis's CONFIG SET (not its loader) raises a smaller backlog to 16kb.
                if name == "repl-backlog-size" && state.is_none() {
                    Val::Int(n.max(16 * 1024))
                } else {
                    Val::Int(n)
                }
            }
            Kind::Enum { names, flags } => {
                let Some(v) = enum_value(names, args, flags) else {
                    let list: Vec<&str> = names.iter().map(|(name, _)| *name).collect();
                    return Err(format!(
                        "argument(s) must be one of the following: {}",
                        list.join(", ")
                    ));
                };
                if flags && v & SHUTDOWN_SAVE != 0 && v & SHUTDOWN_NOSAVE != 0 {
                    return Err(
                        "shutdown options SAVE and NOSAVE can't be used simultaneously".to_string(),
                    );
                }
                Val::Int(v.into())
            }
            Kind::Str(check) => {
                self.check_string(check, arg)?;
                Val::Str(arg.to_vec())
            }
        };
        self.store(idx, val);
        Ok(())
    }

    fn check_string(&self, check: StrCheck, v: &[u8]) -> Result<(), &'static str> {
        let is_base_name = !v.contains(&b'/') && !v.contains(&b'\\');
        match check {
            StrCheck::Any => Ok(()),
            StrCheck::DbFilename if !is_base_name => {
                Err("dbfilename can't be a path, just a filename")
            }
            StrCheck::AofFilename if v.is_empty() => Err("appendfilename can't be empty"),
            StrCheck::AofFilename if !is_base_name => {
                Err("appendfilename can't be a path, just a filename")
            }
            StrCheck::AofDirname if v.is_empty() => Err("appenddirname can't be empty"),
            StrCheck::AofDirname if !is_base_name => {
                Err("appenddirname can't be a path, just a dirname")
            }
            StrCheck::Hostname if v.len() >= 256 => {
                Err("Hostnames must be less than 256 characters")
            }
            StrCheck::Hostname
                if !v
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.') =>
            {
                Err("Hostnames may only contain alphanumeric characters, hyphens or dots")
            }
            StrCheck::ProcTitle if !self.proc_title_is_valid(v) => {
                Err("template format is invalid or contains unknown variables")
            }
            _ => Ok(()),
        }
    }

    /// Redis's `validateProcTitleTemplate`: the template must expand (only known `{vars}`,
    /// `{{` for a brace) to something other than blanks, with an empty `{title}`.
    fn proc_title_is_valid(&self, template: &[u8]) -> bool {
        let mut out = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.iter().position(|&c| c == b'{') {
            out.extend_from_slice(&rest[..open]);
            rest = &rest[open + 1..];
            match rest.first() {
                None => return false,
                Some(b'{') => {
                    out.push(b'{');
                    rest = &rest[1..];
                    continue;
                }
                Some(_) => {}
            }
            let Some(close) = rest.iter().position(|&c| c == b'}') else {
                return false;
            };
            let value: Vec<u8> = match &rest[..close] {
                b"title" => Vec::new(),
                b"server-mode" => match self.load(index_of("cluster-enabled")) {
                    Val::Bool(true) => b"[cluster]".to_vec(),
                    _ => Vec::new(),
                },
                b"unixsocket" => self.render(index_of("unixsocket")),
                // Always non-empty in Redis 7.0.15 (even {config-file} without a config file).
                b"listen-addr" | b"port" | b"tls-port" | b"config-file" => b"x".to_vec(),
                _ => return false,
            };
            out.extend_from_slice(&value);
            rest = &rest[close + 1..];
        }
        out.extend_from_slice(rest);
        out.iter().any(|&c| c != b' ')
    }

    fn assign_special(
        &mut self,
        special: Special,
        args: &[&[u8]],
        state: Option<&mut LoadState>,
    ) -> Result<(), String> {
        const WRONG_ARGS: &str = "wrong number of arguments";
        match special {
            Special::Dir => {
                let [path] = args else {
                    return Err(WRONG_ARGS.to_string());
                };
                self.set_dir(path, state.is_some())?;
            }
            Special::Save => {
                // A single "" clears the save points even in a file (Redis 7.0.15).
                let clear = matches!(args, [only] if only.is_empty());
                let args = if clear { &[][..] } else { args };
                let invalid = || "Invalid save parameters".to_string();
                let pairs = args.chunks_exact(2);
                if !pairs.remainder().is_empty() {
                    return Err(invalid());
                }
                let mut points = Vec::with_capacity(pairs.len());
                for pair in pairs {
                    let (Some((secs, _)), Some((changes, _))) =
                        (strtoll(pair[0], 10), strtoll(pair[1], 10))
                    else {
                        return Err(invalid());
                    };
                    if secs < 1 || changes < 0 {
                        return Err(invalid());
                    }
                    points.push((secs as u64, changes as u64));
                }
                // While a file is read, its first `save` line replaces the defaults and later
                // ones add to it.
                let replace = match state {
                    Some(state) if state.reading => {
                        !std::mem::replace(&mut state.save_loaded, true)
                    }
                    _ => true,
                };
                if replace || clear {
                    self.save.clear();
                }
                self.save.extend(points);
            }
            Special::ObufLimits => {
                // <class> <hard> <soft> <seconds>, as many times as wanted.
                let chunks = args.chunks_exact(4);
                if !chunks.remainder().is_empty() {
                    return Err("Wrong number of arguments in buffer limit configuration.".into());
                }
                let mut limits = self.obuf_limits;
                for chunk in chunks {
                    let class = match chunk[0].to_ascii_lowercase().as_slice() {
                        b"normal" => 0,
                        b"slave" | b"replica" => 1,
                        b"pubsub" => 2,
                        _ => {
                            return Err("Invalid client class specified in buffer limit \
                                        configuration."
                                .into())
                        }
                    };
                    // Redis reads the seconds into an `int`.
                    let seconds = strtoll(chunk[3], 10).map(|(n, _)| i64::from(n as i32));
                    match (memtoull(chunk[1]), memtoull(chunk[2]), seconds) {
                        (Some(hard), Some(soft), Some(seconds)) if seconds >= 0 => {
                            limits[class] = ObufLimit {
                                hard,
                                soft,
                                seconds,
                            }
                        }
                        _ => {
                            return Err("Error in hard, soft or soft_seconds setting in buffer \
                                        limit configuration."
                                .into())
                        }
                    }
                }
                self.obuf_limits = limits;
            }
            Special::OomValues => {
                if args.len() != 3 {
                    return Err(WRONG_ARGS.to_string());
                }
                for (slot, arg) in args.iter().enumerate() {
                    match strtoll(arg, 10) {
                        Some((v, _)) if (-2000..=2000).contains(&v) => {
                            self.oom_score_adj_values[slot] = v
                        }
                        _ => {
                            return Err("Invalid oom-score-adj-values, elements must be between \
                                        -2000 and 2000."
                                .into())
                        }
                    }
                }
            }
            Special::Notify => {
                let [classes] = args else {
                    return Err(WRONG_ARGS.to_string());
                };
                self.notify_flags = notify_string_to_flags(classes)
                    .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
            }
            Special::Bind => {
                if args.len() > 16 {
                    return Err("Too many bind addresses specified.".to_string());
                }
                let args = if args == [b""] { &[][..] } else { args };
                self.bind = args.iter().map(|a| lossy(a)).collect();
            }
            Special::ReplicaOf => {
                let [host, port] = args else {
                    return Err(WRONG_ARGS.to_string());
                };
                self.replicaof = None;
                if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
                    return Ok(());
                }
                match strtoll(port, 10) {
                    Some((port, _)) if (0..=65535).contains(&port) => {
                        self.replicaof = Some((host.to_vec(), port))
                    }
                    _ => return Err("Invalid master port".to_string()),
                }
            }
            Special::Percentiles => {
                let args = if args == [b""] { &[][..] } else { args };
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    let v = parse_double(arg)
                        .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                    if !(0.0..=100.0).contains(&v) {
                        return Err("latency-tracking-info-percentiles parameters should sit \
                                    between [0.0,100.0]"
                            .to_string());
                    }
                    values.push(v);
                }
                self.percentiles = values;
            }
        }
        Ok(())
    }

    /// `dir`: CONFIG SET changes directory; while loading, the directory is only checked and
    /// recorded (relative to the previous `dir`, as successive `chdir`s would be).
    fn set_dir(&mut self, path: &[u8], loading: bool) -> Result<(), String> {
        if path.is_empty() {
            return Err("No such file or directory".to_string());
        }
        let path = PathBuf::from(lossy(path));
        if loading {
            let target = self.dir.join(&path);
            match std::fs::metadata(&target) {
                Err(e) => return Err(os_error_text(&e)),
                Ok(meta) if !meta.is_dir() => return Err("Not a directory".to_string()),
                Ok(_) => self.dir = target,
            }
        } else {
            std::env::set_current_dir(&path).map_err(|e| os_error_text(&e))?;
            self.dir = std::env::current_dir().unwrap_or(path);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers with Redis's exact parsing rules
// ---------------------------------------------------------------------------------------------

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(" ")
}

/// The words CONFIG SET hands to a parameter: multi-word ones split on single spaces (so an
/// empty value is no words at all), like Redis's `sdssplitlen(value, " ")`.
fn config_set_args<'a>(param: &Param, value: &'a [u8]) -> Vec<&'a [u8]> {
    match (param.flags & MULTI != 0, value.is_empty()) {
        (false, _) => vec![value],
        (true, true) => Vec::new(),
        (true, false) => value.split(|&b| b == b' ').collect(),
    }
}

/// `strerror` text of an OS error, without Rust's " (os error N)" suffix.
fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Redis's `getAbsolutePath`: the trimmed name joined to the current directory, with leading
/// "../" elements folded in.
fn absolute_path(name: &str) -> PathBuf {
    let mut rel = name.trim_matches([' ', '\r', '\n', '\t']);
    if rel.starts_with('/') {
        return PathBuf::from(rel);
    }
    let mut base = std::env::current_dir().unwrap_or_default();
    while let Some(rest) = rel.strip_prefix("../") {
        base.pop();
        rel = rest;
    }
    base.join(rel)
}

/// Reads a config file; `shown` is the name Redis's error message gives it.
fn read_config_file(path: &Path, shown: &str) -> Result<Vec<u8>, ConfigError> {
    let mut text = Vec::new();
    match File::open(path) {
        // Like Redis, whatever could be read counts (a directory reads as empty).
        Ok(mut file) => {
            let _ = file.read_to_end(&mut text);
            Ok(text)
        }
        Err(e) => Err(ConfigError {
            at: None,
            message: format!(
                "Fatal error, can't open config file '{shown}': {}",
                os_error_text(&e)
            ),
            banner: false,
        }),
    }
}

/// redis-server's `main`: turns `--name value ...` options into config lines (values quoted
/// with `sdscatrepr`), and notes a lone `-` asking for config text on stdin.
fn command_line_options(args: &[String], first: usize) -> (Vec<u8>, bool) {
    let mut options = Vec::new();
    let mut from_stdin = false;
    // Set after a bare `--name`: the next word is its value even if it starts with "--".
    let mut value_pending = false;
    let last = args.len() - 1;
    for (j, arg) in args.iter().enumerate().skip(first) {
        let word = arg.as_bytes();
        if word == b"-" && (j == 0 || j == last) {
            from_stdin = true;
        } else if !value_pending && word.starts_with(b"--") {
            if !options.is_empty() {
                options.push(b'\n');
            }
            options.extend_from_slice(&word[2..]);
            options.push(b' ');
            // "--port 6380" given as one word already carries its value.
            if split_args(word).map_or(0, |w| w.len()) == 1 {
                value_pending = true;
                let next_is_option = args.get(j + 1).is_some_and(|a| a.starts_with("--"));
                if word.eq_ignore_ascii_case(b"--save") && (next_is_option || j == last) {
                    // A bare `--save` means `--save ""` (kept from before Redis 7.0.1).
                    options.extend_from_slice(b"\"\"");
                    value_pending = false;
                } else if word.eq_ignore_ascii_case(b"--sentinel") && next_is_option {
                    value_pending = false;
                }
            }
        } else {
            crate::util::push_repr(&mut options, word);
            options.push(b' ');
            value_pending = false;
        }
    }
    (options, from_stdin)
}

/// C's `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `sdstrim(line, " \t\r\n")`.
fn trim(mut s: &[u8]) -> &[u8] {
    let blank = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    while s.first().is_some_and(blank) {
        s = &s[1..];
    }
    while s.last().is_some_and(blank) {
        s = &s[..s.len() - 1];
    }
    s
}

/// Redis's `sdssplitargs` (shared with inline requests): `None` on unbalanced or badly
/// closed quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = crate::resp::Args::default();
    crate::resp::parse::split_args(line, &mut args).ok()?;
    Some(args.iter().map(<[u8]>::to_vec).collect())
}

/// C's `strtoll(s, &end, radix)` where the caller then insists on `*end == '\0'`: leading
/// blanks and a sign are allowed, overflow saturates, and an empty string reads as 0.
/// Returns the value and whether it overflowed, or `None` if characters are left over.
fn strtoll(s: &[u8], radix: u32) -> Option<(i64, bool)> {
    let mut i = s.iter().take_while(|&&c| is_space(c)).count();
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = s[i..]
        .iter()
        .take_while(|&&c| (c as char).is_digit(radix))
        .count();
    if digits == 0 {
        // No conversion: the end pointer stays at the start of the string.
        return s.is_empty().then_some((0, false));
    }
    if i + digits != s.len() {
        return None;
    }
    let mut v: i128 = 0;
    for &c in &s[i..] {
        v = (v * i128::from(radix) + i128::from((c as char).to_digit(radix)?)).min(1 << 64);
    }
    let v = if negative { -v } else { v };
    let clamped = v.clamp(i64::MIN.into(), i64::MAX.into());
    Some((clamped as i64, clamped != v))
}

/// Redis's `memtoull`: digits with an optional b/k/kb/m/mb/g/gb unit (any case); k/m/g are
/// powers of 1000, kb/mb/gb of 1024. Too many digits saturate, as `strtoull` does, and the
/// unit then multiplies with wrap-around: Redis 7.0 does not check that product.
pub fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mul: u64 = match s[digits..].to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    let val = s[..digits].iter().fold(0u64, |v, c| {
        v.saturating_mul(10).saturating_add(u64::from(c - b'0'))
    });
    Some(val.wrapping_mul(mul))
}

/// Redis's `numericParseString`.
fn parse_number(v: &[u8], fmt: Fmt) -> Result<i64, String> {
    let parsed = match fmt {
        Fmt::Plain => parse_i64(v),
        Fmt::Octal => strtoll(v, 8)
            .filter(|(_, overflow)| !overflow)
            .map(|(n, _)| n),
        Fmt::Memory => memtoull(v).map(|n| n as i64),
        Fmt::MemoryPercent => memtoull(v).map(|n| n as i64).or_else(|| {
            // A percentage (of maxmemory) is stored negated.
            let digits = v.strip_suffix(b"%").filter(|d| !d.is_empty())?;
            parse_i64(digits).filter(|n| *n >= 0).map(|n| -n)
        }),
    };
    parsed.ok_or_else(|| {
        match fmt {
            Fmt::MemoryPercent => "argument must be a memory or percent value",
            Fmt::Memory => "argument must be a memory value",
            Fmt::Octal => "argument couldn't be parsed as an octal number",
            Fmt::Plain => "argument couldn't be parsed into an integer",
        }
        .to_string()
    })
}

/// Redis's `numericBoundaryCheck`, messages included.
fn check_bounds(n: i64, min: i64, max: i64, unsigned: bool, fmt: Fmt) -> Result<(), String> {
    if unsigned {
        let (v, lo, hi) = (n as u64, min as u64, max as u64);
        if v < lo || v > hi {
            return Err(if fmt == Fmt::Octal {
                format!("argument must be between {lo:o} and {hi:o} inclusive")
            } else {
                format!("argument must be between {lo} and {hi} inclusive")
            });
        }
    } else if fmt == Fmt::MemoryPercent && n < 0 {
        if n < min {
            return Err(format!(
                "percentage argument must be less or equal to {}",
                -min
            ));
        }
    } else if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(())
}

/// Redis's `configEnumGetValue`: one name, or for flag enums one or more names OR-ed.
fn enum_value(names: &[(&str, u32)], args: &[&[u8]], flags: bool) -> Option<u32> {
    if args.is_empty() || (!flags && args.len() != 1) {
        return None;
    }
    let mut value = 0;
    for arg in args {
        let mut matched = false;
        for (name, v) in names {
            if name.as_bytes().eq_ignore_ascii_case(arg) {
                value |= v;
                matched = true;
            }
        }
        if !matched {
            return None;
        }
    }
    Some(value)
}

/// Redis's `configEnumGetName`: the first exact match, else (flag enums) the names whose
/// bits make up the value, in table order.
fn enum_name(names: &[(&str, u32)], value: u32, flags: bool) -> String {
    if let Some((name, _)) = names.iter().find(|(_, v)| *v == value) {
        return name.to_string();
    }
    let mut parts = Vec::new();
    let mut unmatched = value;
    for (name, v) in names {
        if flags && *v != 0 && unmatched & v == *v {
            parts.push(*name);
            unmatched &= !v;
        }
    }
    if parts.is_empty() || unmatched != 0 {
        return "unknown".to_string();
    }
    parts.join(" ")
}

/// Keyspace notification classes in the order Redis prints them, with their flag bits.
const NOTIFY_CLASSES: [(u8, u32); 11] = [
    (b'g', 1 << 2),
    (b'$', 1 << 3),
    (b'l', 1 << 4),
    (b's', 1 << 5),
    (b'h', 1 << 6),
    (b'z', 1 << 7),
    (b'x', 1 << 8),
    (b'e', 1 << 9),
    (b't', 1 << 10),
    (b'd', 1 << 13),
    (b'n', 1 << 14),
];
const NOTIFY_KEYSPACE: u32 = 1;
const NOTIFY_KEYEVENT: u32 = 1 << 1;
const NOTIFY_KEY_MISS: u32 = 1 << 11;
/// "A": every class but "n" (new keys).
const NOTIFY_ALL: u32 = 0b10_0111_1111_1100;

/// Redis's `keyspaceEventsStringToFlags`.
fn notify_string_to_flags(classes: &[u8]) -> Option<u32> {
    classes.iter().try_fold(0, |flags, &c| {
        let bit = match c {
            b'A' => NOTIFY_ALL,
            b'K' => NOTIFY_KEYSPACE,
            b'E' => NOTIFY_KEYEVENT,
            b'm' => NOTIFY_KEY_MISS,
            _ => NOTIFY_CLASSES.iter().find(|(name, _)| *name == c)?.1,
        };
        Some(flags | bit)
    })
}

/// Redis's `keyspaceEventsFlagsToString` ("A" hides the class letters, "n" included).
fn notify_flags_to_string(flags: u32) -> String {
    let mut out = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        out.push('A');
    } else {
        for (c, bit) in NOTIFY_CLASSES {
            if flags & bit != 0 {
                out.push(c as char);
            }
        }
    }
    for (c, bit) in [
        ('K', NOTIFY_KEYSPACE),
        ('E', NOTIFY_KEYEVENT),
        ('m', NOTIFY_KEY_MISS),
    ] {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    out
}

/// Redis's `string2d`: a whole-string `strtod` that refuses NaN and out-of-range values.
fn parse_double(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    let v: f64 = text.parse().ok()?;
    let lower = text.to_ascii_lowercase();
    let mantissa = lower.split('e').next().unwrap_or_default();
    let overflow = v.is_infinite() && !lower.contains("inf");
    let underflow = v == 0.0 && mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c));
    (!v.is_nan() && !overflow && !underflow).then_some(v)
}

/// `%f` with trailing zeros (and a bare point) removed, as Redis prints percentiles.
pub fn format_percentile(v: f64) -> String {
    let text = format!("{v:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn load(words: &[&str]) -> Config {
        Config::from_args(strings(words)).unwrap_or_else(|e| panic!("{words:?}: {e}"))
    }

    fn load_err(words: &[&str]) -> String {
        match Config::from_args(strings(words)) {
            Ok(_) => panic!("{words:?} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn config_rewrite_keeps_the_file_and_writes_current_values() {
        let dir = std::env::temp_dir().join(format!("redlite-rewrite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("redis.conf");
        std::fs::write(
            &path,
            "# my settings\nport 7000\nmaxmemory 10mb\nmaxmemory 20mb\nuser alice on nopass ~* +@all\nslaveof 10.0.0.1 6379\n",
        )
        .unwrap();
        let mut cfg = load(&[path.to_str().unwrap()]);
        cfg.set(&[(b"maxmemory", b"1gb"), (b"masterauth", b"a b\"c")])
            .unwrap();
        cfg.set_replicaof(None);
        cfg.rewrite().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "# my settings\nport 7000\nmaxmemory 1073741824\nuser alice on nopass ~* +@all\n\
             # Generated by CONFIG REWRITE\nmasterauth \"a b\\\"c\"\n"
        );
        // What it wrote loads back to the same values.
        let again = load(&[path.to_str().unwrap()]);
        assert_eq!(value(&again, "maxmemory"), "1073741824");
        assert_eq!(value(&again, "masterauth"), "a b\"c");
        assert_eq!(again.replicaof(), None);
        // A second rewrite changes nothing.
        again.rewrite().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            load(&[]).rewrite(),
            Err("ERR The server is running without a config file".to_string())
        );
    }

    #[test]
    fn settings_for_missing_features_are_refused() {
        for (words, what) in [
            (&["--cluster-enabled", "yes"][..], "cluster mode"),
            (&["--daemonize", "yes"][..], "daemonize yes"),
            (&["--tls-port", "6380"][..], "TLS"),
            (&["--enable-module-command", "local"][..], "modules"),
            (&["--maxmemory-clients", "10mb"][..], "client eviction"),
            (&["--syslog-enabled", "yes"][..], "syslog"),
            (&["--list-compress-depth", "1"][..], "list compression"),
            (&["--tls-replication", "yes"][..], "TLS"),
            (&["--server_cpulist", "0-1"][..], "CPU affinity"),
            (&["--bgsave_cpulist", "1"][..], "CPU affinity"),
            (&["--bind-source-addr", "127.0.0.1"][..], "bind-source-addr"),
            (&["--socket-mark-id", "7"][..], "socket marks"),
            (&["--watchdog-period", "100"][..], "watchdog"),
            (&["--tcp-keepalive", "60"][..], "SO_KEEPALIVE"),
            (&["--tcp-backlog", "1024"][..], "backlog"),
            (
                &["--shutdown-on-sigterm", "nosave"][..],
                "cannot catch signals",
            ),
        ] {
            let err = load_err(words);
            assert!(err.contains(what), "{err}");
        }
        // Their defaults (off) load, and what redlite does anyway (no keepalive), and
        // CONFIG SET refuses turning TLS on.
        let mut cfg = load(&["--cluster-enabled", "no", "--tls-port", "0"]);
        for keepalive in ["0", "300"] {
            assert_eq!(set(&mut cfg, &[("tcp-keepalive", keepalive)]), Ok(()));
        }
        let err = cfg.set(&[(b"tls-port", b"6380")]).unwrap_err();
        assert_eq!(
            err,
            "ERR CONFIG SET failed (possibly related to argument 'tls-port') - TLS (tls-port) is not supported by redlite"
        );
        assert_eq!(value(&cfg, "tls-port"), "0");
    }

    #[test]
    fn unixsocket_is_accepted_at_startup_and_immutable() {
        let mut cfg = load(&[
            "--unixsocket",
            "/tmp/redlite.sock",
            "--unixsocketperm",
            "770",
        ]);
        assert_eq!(value(&cfg, "unixsocket"), "/tmp/redlite.sock");
        assert_eq!(value(&cfg, "unixsocketperm"), "770");
        for name in ["unixsocket", "unixsocketperm"] {
            let err = set(&mut cfg, &[(name, "0")]).unwrap_err();
            assert_eq!(
                err,
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config")
            );
        }
        assert_eq!(value(&cfg, "unixsocket"), "/tmp/redlite.sock");
    }

    fn value(cfg: &Config, name: &str) -> String {
        lossy(
            &cfg.value(name)
                .unwrap_or_else(|| panic!("no parameter {name}")),
        )
    }

    fn set(cfg: &mut Config, pairs: &[(&str, &str)]) -> Result<(), String> {
        let pairs: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        cfg.set(&pairs)
    }

    fn get(cfg: &Config, patterns: &[&str]) -> Vec<(String, String)> {
        let patterns: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
        cfg.get(&patterns)
            .into_iter()
            .map(|(k, v)| (k, lossy(&v)))
            .collect()
    }

    /// A file under the temp directory, unique to this test process, removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn path(&self) -> String {
            self.0.display().to_string()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn temp_file(name: &str, text: &str) -> TempFile {
        let pid = std::process::id();
        let path = std::env::temp_dir().join(format!("redlite-config-{pid}-{name}"));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        TempFile(path)
    }

    fn fatal(line: usize, text: &str, message: &str) -> String {
        format!(
            "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n\
             Reading the configuration file, at line {line}\n>>> '{text}'\n{message}"
        )
    }

    #[test]
    fn defaults() {
        let cfg = Config::default();
        assert_eq!(cfg.port, 6379);
        assert_eq!(cfg.bind, vec!["127.0.0.1".to_string()]);
        assert_eq!(cfg.dir, PathBuf::from("."));
        assert_eq!(cfg.dbfilename, "dump.rdb");
        assert_eq!(cfg.maxclients, 10000);
        assert_eq!(cfg.databases, 16);
        assert_eq!(cfg.save, vec![(3600, 1), (300, 100), (60, 10000)]);
        assert_eq!(cfg.hz, 10);
        assert_eq!(cfg.timeout, 0);
        assert_eq!(cfg.loglevel, LogLevel::Notice);
        assert_eq!(cfg.logfile, "");
        assert_eq!(cfg.proto_max_bulk_len, 512 << 20);
        assert_eq!(cfg.client_query_buffer_limit, 1 << 30);
        assert_eq!(cfg.requirepass, "");
        assert_eq!(cfg.config_file, None);
        assert_eq!(load(&[]), cfg);
    }

    #[test]
    fn defaults_print_like_redis() {
        let cfg = Config::default();
        // Redis 7.0.15 (TLS build) lists 192 names for `CONFIG GET *`.
        assert_eq!(get(&cfg, &["*"]).len(), 192);
        for (name, expected) in [
            ("save", "3600 1 300 100 60 10000"),
            (
                "client-output-buffer-limit",
                "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
            ),
            ("oom-score-adj-values", "0 200 800"),
            ("latency-tracking-info-percentiles", "50 99 99.9"),
            ("proc-title-template", "{title} {listen-addr} {server-mode}"),
            ("maxmemory-policy", "noeviction"),
            ("shutdown-on-sigint", "default"),
            ("appendfsync", "everysec"),
            ("list-max-ziplist-size", "-2"),
            ("active-defrag-ignore-bytes", "104857600"),
            ("auto-aof-rewrite-min-size", "67108864"),
            ("slave-read-only", "yes"),
            ("notify-keyspace-events", ""),
            ("unixsocketperm", "0"),
            ("replicaof", ""),
            ("loading-process-events-interval-bytes", "2097152"),
        ] {
            assert_eq!(value(&cfg, name), expected, "{name}");
        }
    }

    #[test]
    fn command_line_flags() {
        let cfg = load(&[
            "--port",
            "7000",
            "--maxmemory",
            "1gb",
            "--loglevel",
            "WARNING",
        ]);
        assert_eq!(cfg.port, 7000);
        assert_eq!(cfg.loglevel, LogLevel::Warning);
        assert_eq!(value(&cfg, "maxmemory"), "1073741824");
        // A value may start with "--"; a name and value may share one word.
        let cfg = load(&[
            "--requirepass",
            "--secret",
            "--hz 7",
            "--bind",
            "127.0.0.1",
            "::1",
        ]);
        assert_eq!(cfg.requirepass, "--secret");
        assert_eq!(cfg.hz, 7);
        assert_eq!(cfg.bind, strings(&["127.0.0.1", "::1"]));
    }

    #[test]
    fn multi_word_save() {
        assert_eq!(
            load(&["--save", "3600", "1", "300", "100"]).save,
            vec![(3600, 1), (300, 100)]
        );
        assert_eq!(
            load(&["--save", "3600 1 300 100"]).save,
            vec![(3600, 1), (300, 100)]
        );
        assert_eq!(load(&["--save", ""]).save, vec![]);
        // A bare --save means --save "".
        let cfg = load(&["--save", "--port", "7001"]);
        assert_eq!((cfg.save, cfg.port), (vec![], 7001));
        assert_eq!(load(&["--port", "7001", "--save"]).save, vec![]);
        // Within one load, save lines add up (the first replaces the defaults).
        assert_eq!(
            load(&["--save", "1", "2", "--save", "3", "4"]).save,
            vec![(1, 2), (3, 4)]
        );
    }

    #[test]
    fn config_file_with_comments_and_quotes() {
        let path_file = temp_file(
            "quotes.conf",
            "# a comment\n\n   port 7002   \r\n\tmaxmemory \"1\\x67b\"\n\
             requirepass 'it\\'s \"x\"'\nmasterauth \"a\\tb\"\nSLAVE-READ-ONLY no\n\
             save 900 1\nsave 300 10\nhz 0\n",
        );
        let path = path_file.path();
        let cfg = load(&[&path]);
        assert_eq!(cfg.config_file, Some(PathBuf::from(&path)));
        assert_eq!(cfg.port, 7002);
        assert_eq!(value(&cfg, "maxmemory"), "1073741824");
        assert_eq!(cfg.requirepass, "it's \"x\"");
        assert_eq!(value(&cfg, "masterauth"), "a\tb");
        assert_eq!(value(&cfg, "replica-read-only"), "no");
        assert_eq!(cfg.save, vec![(900, 1), (300, 10)]);
        assert_eq!(cfg.hz, 1);
    }

    #[test]
    fn flags_override_file() {
        let path_file = temp_file("override.conf", "port 7003\nsave 900 1\nloglevel debug\n");
        let path = path_file.path();
        let cfg = load(&[&path, "--port", "7004"]);
        assert_eq!((cfg.port, cfg.loglevel), (7004, LogLevel::Debug));
        assert_eq!(load(&[&path, "--save", ""]).save, vec![]);
        assert_eq!(
            load(&[&path, "--save", "60", "1"]).save,
            vec![(900, 1), (60, 1)]
        );
    }

    #[test]
    fn startup_errors() {
        let bad_value = "argument couldn't be parsed into an integer";
        assert_eq!(
            load_err(&["--port", "abc"]),
            fatal(2, "port \"abc\"", bad_value)
        );
        let bad_directive = "Bad directive or wrong number of arguments";
        assert_eq!(
            load_err(&["--nosuchflag", "1"]),
            fatal(2, "nosuchflag \"1\"", bad_directive)
        );
        assert_eq!(
            load_err(&["--port", "7005", "--port"]),
            fatal(3, "port", "wrong number of arguments")
        );
        assert_eq!(
            load_err(&["--maxmemory", "1.5gb"]),
            fatal(2, "maxmemory \"1.5gb\"", "argument must be a memory value")
        );
        assert_eq!(
            load_err(&["--appendonly", "maybe"]),
            fatal(2, "appendonly \"maybe\"", "argument must be 'yes' or 'no'")
        );
        let path_file = temp_file("bad.conf", "port 7006\nrequirepass 'abc\n");
        let path = path_file.path();
        let unbalanced = "Unbalanced quotes in configuration line";
        assert_eq!(
            load_err(&[&path, "--hz", "5"]),
            fatal(2, "requirepass 'abc", unbalanced)
        );
        let path_file = temp_file("bad2.conf", "hz 5\n\n  port 1 2  \n");
        let path = path_file.path();
        assert_eq!(
            load_err(&[&path]),
            fatal(3, "port 1 2", "wrong number of arguments")
        );
        // Options follow the file's lines and a blank line.
        let path_file = temp_file("bad3.conf", "hz 5\nport 7007\n");
        let path = path_file.path();
        assert_eq!(
            load_err(&[&path, "--hz", "x"]),
            fatal(4, "hz \"x\"", bad_value)
        );
        let missing = std::env::temp_dir().join("redlite-config-no-such-file.conf");
        assert_eq!(
            load_err(&[&missing.display().to_string()]),
            format!(
                "Fatal error, can't open config file '{}': No such file or directory",
                missing.display()
            )
        );
        assert_eq!(
            load_err(&["--logfile", "/nonexistent-dir/x.log"]),
            "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n\
             Can't open the log file: No such file or directory"
        );
        assert_eq!(
            load_err(&["--dir", "/nonexistent-dir"]),
            fatal(2, "dir \"/nonexistent-dir\"", "No such file or directory")
        );
        assert_eq!(
            load_err(&["--save", "0", "1"]),
            fatal(2, "save \"0\" \"1\"", "Invalid save parameters")
        );
    }

    #[test]
    fn include_and_directives() {
        let inner_file = temp_file("inner.conf", "save 900 1\ntimeout 30\n");
        let inner = inner_file.path();
        let outer_file = temp_file(
            "outer.conf",
            &format!("include {inner}\nsave 300 10\nsave 200 10\nrename-command GET FETCH\n"),
        );
        let outer = outer_file.path();
        let cfg = load(&[&outer]);
        assert_eq!(cfg.timeout, 30);
        // After an include Redis forgets it is reading a file: later save lines replace.
        assert_eq!(cfg.save, vec![(200, 10)]);
        assert_eq!(cfg.directives.len(), 1);
        let directive = &cfg.directives[0];
        assert_eq!(
            directive.args,
            vec![
                b"rename-command".to_vec(),
                b"GET".to_vec(),
                b"FETCH".to_vec()
            ]
        );
        assert_eq!(
            directive
                .error("No such command in rename-command")
                .to_string(),
            fatal(
                4,
                "rename-command GET FETCH",
                "No such command in rename-command"
            )
        );
        // Deprecated parameters are ignored, module parameters handed over.
        let cfg = load(&["--list-max-ziplist-entries", "5", "--mymod.level", "3"]);
        assert_eq!(
            cfg.directives[0].args,
            vec![b"mymod.level".to_vec(), b"3".to_vec()]
        );
    }

    #[test]
    fn config_get_glob_and_aliases() {
        let cfg = Config::default();
        let names = |patterns: &[&str]| -> Vec<String> {
            let mut names: Vec<String> = get(&cfg, patterns).into_iter().map(|(k, _)| k).collect();
            names.sort();
            names
        };
        assert_eq!(
            names(&["*read-only"]),
            strings(&["replica-read-only", "slave-read-only"])
        );
        assert_eq!(
            names(&["*ziplist*"]),
            strings(&[
                "hash-max-ziplist-entries",
                "hash-max-ziplist-value",
                "list-max-ziplist-size",
                "zset-max-ziplist-entries",
                "zset-max-ziplist-value",
            ])
        );
        assert_eq!(names(&["H?", "*MAXMEM*"]).len(), 8);
        // Exact names echo the client's spelling, once, and reach hidden parameters.
        assert_eq!(
            get(&cfg, &["PORT", "port", "p?rt"]),
            vec![("PORT".to_string(), "6379".to_string())]
        );
        assert_eq!(
            get(&cfg, &["p*t", "PORT"]),
            vec![("port".to_string(), "6379".to_string())]
        );
        assert_eq!(get(&cfg, &["use-exit-on-panic"]).len(), 1);
        assert_eq!(get(&cfg, &["use-exit*"]), vec![]);
        assert_eq!(get(&cfg, &["nosuch", ""]), vec![]);
        assert_eq!(value(&cfg, "lua-time-limit"), "5000");
    }

    #[test]
    fn config_set_errors() {
        let mut cfg = Config::default();
        let failed = |name: &str, why: &str| {
            Err(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
            ))
        };
        assert_eq!(
            set(&mut cfg, &[("foo", "bar")]),
            Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'".to_string())
        );
        assert_eq!(
            set(&mut cfg, &[("activerehashing", "maybe")]),
            failed("activerehashing", "argument must be 'yes' or 'no'")
        );
        assert_eq!(
            set(&mut cfg, &[("port", "abc")]),
            failed("port", "argument couldn't be parsed into an integer")
        );
        assert_eq!(
            set(&mut cfg, &[("PORT", "70000")]),
            failed("port", "argument must be between 0 and 65535 inclusive")
        );
        assert_eq!(
            set(&mut cfg, &[("maxclients", "0")]),
            failed(
                "maxclients",
                "argument must be between 1 and 4294967295 inclusive"
            )
        );
        assert_eq!(
            set(&mut cfg, &[("loglevel", "loud")]),
            failed(
                "loglevel",
                "argument(s) must be one of the following: debug, verbose, notice, warning"
            )
        );
        assert_eq!(
            set(&mut cfg, &[("Databases", "4")]),
            failed("Databases", "can't set immutable config")
        );
        assert_eq!(
            set(&mut cfg, &[("dir", "/tmp")]),
            failed("dir", "can't set protected config")
        );
        assert_eq!(
            set(&mut cfg, &[("hz", "5"), ("HZ", "6")]),
            failed("HZ", "duplicate parameter")
        );
        // A name and its alias are different entries, as in Redis.
        assert_eq!(
            set(
                &mut cfg,
                &[("replica-read-only", "yes"), ("slave-read-only", "no")]
            ),
            Ok(())
        );
        assert_eq!(value(&cfg, "replica-read-only"), "no");
        // The first problem in argument order wins, before any value is parsed.
        assert_eq!(
            set(
                &mut cfg,
                &[("timeout", "x"), ("daemonize", "no"), ("foo", "1")]
            ),
            failed("daemonize", "can't set immutable config")
        );
        assert_eq!(
            set(&mut cfg, &[]),
            Err("ERR wrong number of arguments for 'config|set' command".to_string())
        );
        assert_eq!(
            set(&mut cfg, &[("maxmemory-clients", "101%")]),
            failed(
                "maxmemory-clients",
                "percentage argument must be less or equal to 100"
            )
        );
        assert_eq!(
            set(&mut cfg, &[("dbfilename", "a/b")]),
            failed("dbfilename", "can't set protected config")
        );
        assert_eq!(
            set(&mut cfg, &[("cluster-announce-hostname", "a_b")]),
            failed(
                "cluster-announce-hostname",
                "Hostnames may only contain alphanumeric characters, hyphens or dots"
            )
        );
        assert_eq!(
            set(&mut cfg, &[("proc-title-template", "{title}")]),
            failed(
                "proc-title-template",
                "template format is invalid or contains unknown variables"
            )
        );
    }

    #[test]
    fn config_set_is_all_or_nothing() {
        let mut cfg = Config::default();
        let before = cfg.clone();
        assert!(set(
            &mut cfg,
            &[("timeout", "5"), ("maxmemory", "10mb"), ("hz", "x")]
        )
        .is_err());
        assert_eq!(cfg, before);
        assert!(set(
            &mut cfg,
            &[("save", "1 2"), ("client-output-buffer-limit", "normal 1")]
        )
        .is_err());
        assert_eq!(cfg, before);
        assert_eq!(
            set(&mut cfg, &[("timeout", "5"), ("maxmemory", "10mb")]),
            Ok(())
        );
        assert_eq!(
            (cfg.timeout, value(&cfg, "maxmemory")),
            (5, "10485760".to_string())
        );
    }

    #[test]
    fn config_set_updates_typed_fields() {
        let mut cfg = Config::default();
        let pairs = [
            ("port", "0"),
            ("save", ""),
            ("loglevel", "debug"),
            ("requirepass", "pw"),
            ("bind", "127.0.0.1 ::1"),
            ("maxclients", "5"),
            ("proto-max-bulk-len", "1mb"),
            ("client-query-buffer-limit", "2mb"),
            ("timeout", "9"),
        ];
        assert_eq!(set(&mut cfg, &pairs), Ok(()));
        assert_eq!(
            (cfg.port, cfg.save.clone(), cfg.loglevel),
            (0, vec![], LogLevel::Debug)
        );
        assert_eq!(
            (cfg.requirepass.as_str(), cfg.bind.len(), cfg.maxclients),
            ("pw", 2, 5)
        );
        assert_eq!(
            (cfg.proto_max_bulk_len, cfg.client_query_buffer_limit),
            (1 << 20, 2 << 20)
        );
        assert_eq!(cfg.timeout, 9);
        // The typed fields are the storage: what the server writes is what CONFIG GET shows.
        cfg.port = 6400;
        assert_eq!(value(&cfg, "port"), "6400");
        assert_eq!(set(&mut cfg, &[("save", "10 1 20 2")]), Ok(()));
        assert_eq!(cfg.save, vec![(10, 1), (20, 2)]);
        assert_eq!(value(&cfg, "save"), "10 1 20 2");
        assert!(Config::is_sensitive(b"REQUIREPASS") && !Config::is_sensitive(b"port"));
    }

    #[test]
    fn number_formats() {
        let mut cfg = Config::default();
        for (input, shown) in [
            ("1k", "1000"),
            ("1KB", "1024"),
            ("2mb", "2097152"),
            ("1g", "1000000000"),
            ("5b", "5"),
            ("", "0"),
            ("99999999999999999999", "18446744073709551615"),
        ] {
            assert_eq!(set(&mut cfg, &[("maxmemory", input)]), Ok(()), "{input}");
            assert_eq!(value(&cfg, "maxmemory"), shown, "{input}");
        }
        // Parsed as Redis parses it, then refused: there is no client eviction.
        let err = set(&mut cfg, &[("maxmemory-clients", "5%")]).unwrap_err();
        assert!(err.contains("client eviction"), "{err}");
        assert_eq!(set(&mut cfg, &[("maxmemory-clients", "0%")]), Ok(()));
        assert_eq!(value(&cfg, "maxmemory-clients"), "0");
        assert_eq!(set(&mut cfg, &[("hz", "0")]), Ok(()));
        assert_eq!((cfg.hz, value(&cfg, "hz")), (1, "1".to_string()));
        assert_eq!(set(&mut cfg, &[("hz", "1000")]), Ok(()));
        assert_eq!(cfg.hz, 500);
        assert_eq!(
            load(&["--unixsocketperm", "0700"]).value("unixsocketperm"),
            Some(b"700".to_vec())
        );
        assert!(load_err(&["--unixsocketperm", "1000"])
            .ends_with("argument must be between 0 and 777 inclusive"));
        assert_eq!(set(&mut cfg, &[("repl-backlog-size", "1")]), Ok(()));
        assert_eq!(value(&cfg, "repl-backlog-size"), "16384");
    }

    #[test]
    fn special_parameters() {
        let mut cfg = Config::default();
        let obuf = "client-output-buffer-limit";
        assert_eq!(
            set(&mut cfg, &[(obuf, "replica 1mb 2k 3 pubsub 0 0 0")]),
            Ok(())
        );
        assert_eq!(
            value(&cfg, obuf),
            "normal 0 0 0 slave 1048576 2000 3 pubsub 0 0 0"
        );
        assert_eq!(set(&mut cfg, &[("notify-keyspace-events", "KEA")]), Ok(()));
        assert_eq!(value(&cfg, "notify-keyspace-events"), "AKE");
        assert_eq!(set(&mut cfg, &[("notify-keyspace-events", "nEx")]), Ok(()));
        assert_eq!(value(&cfg, "notify-keyspace-events"), "xnE");
        assert!(set(&mut cfg, &[("notify-keyspace-events", "Z")]).is_err());
        // Validated as Redis validates it, then refused: redlite cannot catch signals.
        assert_eq!(
            set(&mut cfg, &[("shutdown-on-sigint", "save nosave")]),
            Err("ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - shutdown options SAVE and NOSAVE can't be used simultaneously".to_string())
        );
        assert!(set(&mut cfg, &[("shutdown-on-sigint", "force save")])
            .unwrap_err()
            .contains("cannot catch signals"));
        assert_eq!(value(&cfg, "shutdown-on-sigint"), "default");
        assert_eq!(set(&mut cfg, &[("oom-score-adj", "relative")]), Ok(()));
        assert_eq!(value(&cfg, "oom-score-adj"), "yes");
        assert_eq!(
            set(
                &mut cfg,
                &[("latency-tracking-info-percentiles", "0.5 99.99 100")]
            ),
            Ok(())
        );
        assert_eq!(
            value(&cfg, "latency-tracking-info-percentiles"),
            "0.5 99.99 100"
        );
        assert_eq!(set(&mut cfg, &[("bind", "")]), Ok(()));
        assert_eq!(cfg.bind, Vec::<String>::new());
        let cfg = load(&["--slaveof", "10.0.0.1", "6380"]);
        assert_eq!(value(&cfg, "replicaof"), "10.0.0.1 6380");
    }

    /// The only test that changes the working directory (tests share the process).
    #[test]
    fn dir_and_protected_configs() {
        let start = std::env::current_dir().unwrap_or_else(|e| panic!("{e}"));
        let tmp = std::env::temp_dir()
            .canonicalize()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut cfg = load(&[
            "--enable-protected-configs",
            "yes",
            "--dir",
            &tmp.display().to_string(),
        ]);
        assert_eq!(cfg.dir, tmp);
        assert_eq!(value(&cfg, "dir"), start.display().to_string());
        let failed = |why: &str| {
            Err(format!(
                "ERR CONFIG SET failed (possibly related to argument 'dir') - {why}"
            ))
        };
        assert_eq!(
            set(&mut cfg, &[("dir", "/nonexistent-dir")]),
            failed("No such file or directory")
        );
        assert_eq!(
            set(&mut cfg, &[("dir", &tmp.display().to_string())]),
            Ok(())
        );
        assert_eq!(value(&cfg, "dir"), tmp.display().to_string());
        // A later failure puts the old directory back.
        assert!(set(&mut cfg, &[("dir", "/"), ("timeout", "x")]).is_err());
        assert_eq!(value(&cfg, "dir"), tmp.display().to_string());
        let mut local_only = load(&["--enable-protected-configs", "local"]);
        let pairs: [(&[u8], &[u8]); 1] = [(b"dbfilename", b"x.rdb")];
        assert!(local_only.set_as_client(&pairs, false).is_err());
        assert_eq!(local_only.set_as_client(&pairs, true), Ok(()));
        assert_eq!(local_only.dbfilename, "x.rdb");
        std::env::set_current_dir(&start).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn split_args_follows_sdssplitargs() {
        let words = |line: &str| {
            split_args(line.as_bytes()).map(|w| w.iter().map(|w| lossy(w)).collect::<Vec<_>>())
        };
        assert_eq!(words("a  b\tc"), Some(strings(&["a", "b", "c"])));
        assert_eq!(
            words(r#""a b" 'c d' "\x41\n" 'it\'s'"#),
            Some(strings(&["a b", "c d", "A\n", "it's"]))
        );
        assert_eq!(words(r#"a"b c"d"#), None);
        assert_eq!(words(r#"ab"c d" e"#), Some(strings(&["abc d", "e"])));
        assert_eq!(words("\"unterminated"), None);
        assert_eq!(words(""), Some(vec![]));
        let mut repr = Vec::new();
        crate::util::push_repr(&mut repr, b"a \"b\"\n\x01");
        assert_eq!(repr, b"\"a \\\"b\\\"\\n\\x01\"".to_vec());
        assert_eq!(split_args(&repr), Some(vec![b"a \"b\"\n\x01".to_vec()]));
    }
}
