//! Scripting: EVAL, EVALSHA, SCRIPT and FUNCTION, on the Lua interpreter in [`lua`].
//!
//! - [`lua`]: a Lua 5.1 interpreter that imports nothing else of the crate.
//! - [`engine`]: one thread's Lua state as Redis 7.0 sets it up: the libraries, the
//!   `redis` table, the sandbox (no new globals, read-only library tables).
//! - [`convert`]: replies to Lua values (what `redis.call` returns) and Lua values to
//!   replies (what a script returns), as Redis 7.0 converts them in RESP2 and RESP3.
//! - [`run`]: running one script: the keyspace write lock for its whole run (a script is
//!   atomic), `redis.call` through the same steps as a client's command, its effects
//!   held and propagated as one MULTI/EXEC, busy scripts and SCRIPT KILL.
//! - [`function`]: FUNCTION's libraries.
//!
//! Every connection thread keeps its own Lua state (a state is not shared between
//! threads), built the same way and fed from the shared caches here: the script cache
//! (body by SHA-1) and the function libraries. Scripts cannot create globals and library
//! tables are read-only, so no script can leave anything behind that another would see;
//! that makes one state per thread indistinguishable from Redis's single state.

pub mod convert;
pub mod engine;
pub mod function;
pub mod lua;
pub mod run;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// A script's flags (`#!lua flags=...`), as Redis's `SCRIPT_FLAG_*`.
pub mod flag {
    pub const NO_WRITES: u64 = 1 << 0;
    pub const ALLOW_OOM: u64 = 1 << 1;
    pub const ALLOW_STALE: u64 = 1 << 2;
    pub const NO_CLUSTER: u64 = 1 << 3;
    /// No shebang: EVAL's backwards-compatible mode.
    pub const EVAL_COMPAT: u64 = 1 << 4;
    pub const ALLOW_CROSS_SLOT: u64 = 1 << 5;

    /// The names, in Redis's order (FUNCTION LIST reports them so).
    pub const NAMES: &[(u64, &str)] = &[
        (NO_WRITES, "no-writes"),
        (ALLOW_OOM, "allow-oom"),
        (ALLOW_STALE, "allow-stale"),
        (NO_CLUSTER, "no-cluster"),
        (ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
    ];

    /// The flag of one name.
    pub fn parse(name: &[u8]) -> Option<u64> {
        NAMES
            .iter()
            .find(|(_, n)| n.as_bytes() == name)
            .map(|(f, _)| *f)
    }
}

/// A script in EVAL's cache.
#[derive(Debug)]
pub struct Script {
    pub body: Arc<[u8]>,
    pub flags: u64,
    /// Where the code starts: after the shebang line, whose line feed is kept so line
    /// numbers stay the user's.
    pub code_start: usize,
}

/// Scripting's shared state: the script cache, the function libraries, and the script
/// running now.
pub struct Scripts {
    cache: Mutex<HashMap<[u8; 40], Arc<Script>>>,
    /// Bumped by SCRIPT FLUSH: each thread's Lua state starts over when it sees a new
    /// generation, as Redis resets its one state.
    generation: AtomicU64,
    /// FUNCTION's libraries.
    pub functions: Mutex<function::Libraries>,
    /// The script running now (at most one: a script holds the keyspace write lock).
    pub running: Running,
    /// The size of the Lua state the last script ran in (INFO's `used_memory_lua`).
    pub lua_memory: AtomicU64,
    /// `busy-reply-threshold`, mirrored here (see [`crate::state::Server::config_changed`]).
    pub busy_after_ms: AtomicU64,
}

/// A busy script: when it started, its name and the command that runs it.
pub type RunningScript = (Instant, String, Vec<Vec<u8>>);

/// What other clients may know of the running script.
#[derive(Default)]
pub struct Running {
    /// Whether a script runs.
    pub active: AtomicBool,
    /// Set once it ran past `busy-reply-threshold`: other clients get `-BUSY` from then.
    pub busy: AtomicBool,
    /// Whether it runs for EVAL (else FCALL): which KILL may stop it, and the BUSY text.
    pub eval: AtomicBool,
    /// Whether it already wrote (then it cannot be killed).
    pub wrote: AtomicBool,
    /// Set by SCRIPT KILL or FUNCTION KILL.
    pub killed: AtomicBool,
    /// When it started, its name (SHA-1 or function name) and the command that runs it
    /// (FUNCTION STATS shows them).
    pub started: Mutex<Option<RunningScript>>,
}

impl Default for Scripts {
    fn default() -> Scripts {
        Scripts {
            cache: Mutex::default(),
            generation: AtomicU64::new(0),
            functions: Mutex::default(),
            running: Running::default(),
            lua_memory: AtomicU64::new(0),
            busy_after_ms: AtomicU64::new(5000),
        }
    }
}

impl Scripts {
    fn cache(&self) -> MutexGuard<'_, HashMap<[u8; 40], Arc<Script>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached script with this SHA-1 (lowercase hex).
    pub fn get(&self, sha: &[u8; 40]) -> Option<Arc<Script>> {
        self.cache().get(sha).cloned()
    }

    /// Adds a script that compiled.
    pub fn insert(&self, sha: [u8; 40], script: Arc<Script>) {
        self.cache().insert(sha, script);
    }

    /// How many scripts are cached, and the bytes their bodies take.
    pub fn cached(&self) -> (usize, usize) {
        let cache = self.cache();
        let bytes = cache.values().map(|s| s.body.len() + 40 + 64).sum();
        (cache.len(), bytes)
    }

    /// SCRIPT FLUSH: forgets every script; every thread's Lua state starts over.
    pub fn flush(&self) {
        self.cache().clear();
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Every function library's code (what the dump file and the AOF base keep).
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        let libs = self.functions.lock().unwrap_or_else(|e| e.into_inner());
        libs.libraries.values().map(|l| l.code.clone()).collect()
    }

    /// The current generation of the script cache.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The `-BUSY` error for a command that may not run now, if a script is busy.
    pub fn busy_error(&self) -> Option<&'static str> {
        if !self.running.busy.load(Ordering::Acquire) {
            return None;
        }
        Some(if self.running.eval.load(Ordering::Acquire) {
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
        } else {
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
        })
    }

    /// SCRIPT KILL (`eval`) or FUNCTION KILL: the error to reply, or None once the
    /// running script is marked to stop.
    pub fn kill(&self, eval: bool) -> Option<&'static str> {
        let r = &self.running;
        if !r.busy.load(Ordering::Acquire) {
            return Some("NOTBUSY No scripts in execution right now.");
        }
        if r.wrote.load(Ordering::Acquire) {
            return Some("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
        }
        let running_eval = r.eval.load(Ordering::Acquire);
        if eval && !running_eval {
            return Some("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.");
        }
        if !eval && running_eval {
            return Some("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
        }
        r.killed.store(true, Ordering::Release);
        None
    }
}

/// The lowercase hex SHA-1 of a script body.
pub fn sha1_hex(body: &[u8]) -> [u8; 40] {
    let digest = crate::util::sha1::sha1(body);
    let mut out = [0u8; 40];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = b"0123456789abcdef"[usize::from(b >> 4)];
        out[2 * i + 1] = b"0123456789abcdef"[usize::from(b & 15)];
    }
    out
}

/// Reads a script's shebang line (`#!lua flags=no-writes,allow-oom`) as Redis's
/// `evalExtractShebangFlags`: the flags (EVAL_COMPAT without one) and the length of the
/// line before its line feed.
pub fn shebang(body: &[u8]) -> Result<(u64, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((flag::EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let line = &body[..end];
    let parts = crate::config::split_args(line).unwrap_or_default();
    let Some(engine) = parts.first() else {
        return Err("Invalid engine in script shebang".into());
    };
    if engine.as_slice() != b"#!lua" {
        return Err(format!(
            "Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(engine)
        ));
    }
    let mut flags = 0;
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!(
                "Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            ));
        };
        // sdssplitlen of an empty string gives no parts.
        if list.is_empty() {
            continue;
        }
        for name in list.split(|&b| b == b',') {
            match flag::parse(name) {
                Some(f) => flags |= f,
                None => {
                    return Err(format!(
                        "Unexpected flag in script shebang: {}",
                        String::from_utf8_lossy(name)
                    ))
                }
            }
        }
    }
    Ok((flags, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs() {
        assert_eq!(shebang(b"return 1"), Ok((flag::EVAL_COMPAT, 0)));
        assert_eq!(shebang(b"#!lua\nreturn 1"), Ok((0, 5)));
        assert_eq!(
            shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1"),
            Ok((flag::NO_WRITES | flag::ALLOW_OOM, 31))
        );
        assert_eq!(shebang(b"#!lua flags=\nreturn 1"), Ok((0, 12)));
        assert_eq!(shebang(b"#!lua"), Err("Invalid script shebang".to_string()));
        assert_eq!(
            shebang(b"#!py\n"),
            Err("Unexpected engine in script shebang: #!py".to_string())
        );
        assert_eq!(
            shebang(b"#!lua name=x\n"),
            Err("Unknown lua shebang option: name=x".to_string())
        );
        assert_eq!(
            shebang(b"#!lua flags=bad\n"),
            Err("Unexpected flag in script shebang: bad".to_string())
        );
    }
}
