//! Running one script (Redis's `script.c` and `luaCallFunction`).
//!
//! A script runs under the keyspace write lock from its first instruction to its last,
//! so no other client sees a state between its commands. Each `redis.call` goes through
//! the steps a client's command goes through inside EXEC: the table lookup and arity,
//! the refusals scripts add (NOSCRIPT commands, writes from read-only scripts, MISCONF),
//! then the handler, its effects to the consumers (WATCH, tracking, notifications), and
//! the commands it propagates held back, to be propagated after the script as one
//! MULTI/EXEC (7.0's effects replication; the EVAL itself is never propagated).
//!
//! Busy scripts: every 100,000 instructions the interpreter calls
//! [`ScriptHost::interrupt`]. Past `busy-reply-threshold` the script is marked busy and
//! other clients get `-BUSY` before they wait for the lock; SCRIPT KILL or FUNCTION KILL
//! then stops it at its next check unless it already wrote.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::convert;
use super::engine::{self, op};
use super::lua::{Error, Host, Lua, Value};
use crate::command::{self, CmdError, Ctx, Handler, Resolved};
use crate::resp::{Args, Reply};
use crate::store::Keyspace;

/// The keyspace lock a script runs under (taken back after a pause; see
/// [`crate::store::Store::pause`]).
pub type Guard<'s> = Option<std::sync::RwLockWriteGuard<'s, Keyspace>>;

/// What a run needs to know about the script.
pub struct Spec<'a> {
    /// The SHA-1 (EVAL) or function name (FCALL), as errors and the log name it.
    pub name: &'a str,
    /// EVAL (else FCALL).
    pub eval: bool,
    /// Writes are refused (EVAL_RO, FCALL_RO, or the `no-writes` flag).
    pub read_only: bool,
    /// The script declared `allow-oom`: its writes run even over `maxmemory`.
    pub allow_oom: bool,
    /// The command that runs it (FUNCTION STATS shows it once the script is busy).
    pub argv: &'a Args,
}

/// The running script's view of the server: the caller's context, the locked keyspace,
/// and the state of the script's own client (database, protocol, replication flags).
pub struct ScriptHost<'a, 'b, 'c> {
    pub ctx: &'a mut Ctx<'b>,
    /// The lock, `None` while the script is busy and has let go of it.
    pub guard: &'c mut Guard<'b>,
    /// The script client's database (SELECT inside a script changes only this).
    pub db: usize,
    /// `redis.setresp(3)`.
    pub resp3: bool,
    pub read_only: bool,
    allow_oom: bool,
    /// `redis.set_repl` flags: 1 AOF, 2 replicas.
    pub repl: u8,
    /// Whether a write command ran.
    pub wrote: bool,
    pub eval: bool,
    started: Instant,
    busy_after_ms: u64,
    name: &'a str,
    argv: &'a Args,
    /// While FUNCTION LOAD runs a library's code: what it registered.
    pub registering: Option<&'a mut super::function::Registrations>,
}

impl<'a, 'b, 'c> ScriptHost<'a, 'b, 'c> {
    /// A host for a script that starts now.
    pub fn new(ctx: &'a mut Ctx<'b>, guard: &'c mut Guard<'b>, spec: &Spec<'a>) -> Self {
        let busy_after_ms = ctx.server.scripts.busy_after_ms.load(Ordering::Relaxed);
        let db = ctx.client.db;
        ScriptHost {
            ctx,
            guard,
            db,
            resp3: false,
            read_only: spec.read_only,
            allow_oom: spec.allow_oom,
            repl: 3,
            wrote: false,
            eval: spec.eval,
            started: Instant::now(),
            busy_after_ms,
            name: spec.name,
            argv: spec.argv,
            registering: None,
        }
    }
}

impl Host for ScriptHost<'_, '_, '_> {
    fn interrupt(&mut self, lua: &mut Lua) -> Result<(), Error> {
        let running = &self.ctx.server.scripts.running;
        if !running.busy.load(Ordering::Acquire) {
            let elapsed = self.started.elapsed().as_millis() as u64;
            if self.busy_after_ms == 0 || elapsed < self.busy_after_ms {
                return Ok(());
            }
            self.ctx.server.log.warning(&format!(
                "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {} command. Script name is: {}.",
                if self.eval { "SCRIPT KILL" } else { "FUNCTION KILL" },
                self.name
            ));
            *running.started.lock().unwrap_or_else(|e| e.into_inner()) = Some((
                self.started,
                self.name.to_string(),
                self.argv.iter().map(<[u8]>::to_vec).collect(),
            ));
            running.busy.store(true, Ordering::Release);
        }
        // Let clients queued on the lock through, to be answered -BUSY.
        if let Some(g) = self.guard.take() {
            self.ctx.server.store.pause(g);
        }
        if running.killed.load(Ordering::Acquire) {
            self.ctx
                .server
                .log
                .warning("Lua script killed by user with SCRIPT KILL.");
            return Err(engine::raise_fatal(
                lua,
                "Script killed by user with SCRIPT KILL...",
            ));
        }
        Ok(())
    }

    fn host_call(
        &mut self,
        lua: &mut Lua,
        which: u32,
        args: &[Value],
    ) -> Result<Vec<Value>, Error> {
        match which {
            op::CALL | op::PCALL => self.redis_call(lua, args, which == op::CALL),
            op::SETRESP => {
                if args.len() != 1 {
                    return Err(engine::raise(lua, "redis.setresp() requires one argument."));
                }
                match lua.to_number(&args[0]).map(|n| n as i64) {
                    Some(2) => self.resp3 = false,
                    Some(3) => self.resp3 = true,
                    _ => return Err(engine::raise(lua, "RESP version must be 2 or 3.")),
                }
                Ok(vec![])
            }
            op::SET_REPL => {
                if args.len() != 1 {
                    return Err(engine::raise(
                        lua,
                        "redis.set_repl() requires two arguments.",
                    ));
                }
                let flags = lua.to_number(&args[0]).unwrap_or(0.0) as i64;
                if flags & !3 != 0 {
                    return Err(engine::raise(
                        lua,
                        "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                    ));
                }
                self.repl = flags as u8;
                Ok(vec![])
            }
            op::ACL_CHECK_CMD => {
                let argv = match script_argv(lua, args) {
                    Ok(a) => a,
                    Err(msg) => return Err(engine::raise(lua, msg)),
                };
                match command::resolve(&argv) {
                    Resolved::Found(cmd) => {
                        let cell = command::acl::user_of(self.ctx.server, self.ctx.client);
                        let ok = cell.is_unrestricted()
                            || command::acl::denial(cell, cmd, &argv).is_none();
                        Ok(vec![Value::Bool(ok)])
                    }
                    Resolved::Rejected(..) => Err(engine::raise(
                        lua,
                        "Invalid command passed to redis.acl_check_cmd()",
                    )),
                }
            }
            op::LOG => self.log(lua, args),
            op::REGISTER_FUNCTION => match self.registering.as_deref_mut() {
                Some(reg) => reg.register(lua, args),
                None => Err(lua.error_here(
                    1,
                    "redis.register_function can only be called on FUNCTION LOAD command",
                )),
            },
            _ => Err(Error::msg(lua, "unknown host function")),
        }
    }
}

impl<'b> ScriptHost<'_, 'b, '_> {
    /// The keyspace, taking the lock back if a pause let it go.
    fn keyspace(&mut self) -> &mut Keyspace {
        let server: &'b crate::state::Server = self.ctx.server;
        self.guard.get_or_insert_with(|| server.store.owner_write())
    }

    /// Ends a pause: the lock is the script's again, for the rest of its command.
    pub fn finish(&mut self) {
        let server: &'b crate::state::Server = self.ctx.server;
        if server.store.is_paused() {
            let g = self.guard.take();
            *self.guard = Some(server.store.resume(g));
        }
    }

    /// `redis.log(level, ...)`.
    fn log(&mut self, lua: &mut Lua, args: &[Value]) -> Result<Vec<Value>, Error> {
        if args.len() < 2 {
            return Err(engine::raise(
                lua,
                "redis.log() requires two arguments or more.",
            ));
        }
        let Some(level) = lua.to_number(&args[0]) else {
            return Err(engine::raise(
                lua,
                "First argument must be a number (log level).",
            ));
        };
        let level = match level as i64 {
            0 => crate::config::LogLevel::Debug,
            1 => crate::config::LogLevel::Verbose,
            2 => crate::config::LogLevel::Notice,
            3 => crate::config::LogLevel::Warning,
            _ => return Err(engine::raise(lua, "Invalid debug level.")),
        };
        let parts: Vec<Vec<u8>> = args[1..].iter().filter_map(|v| lua.to_bytes(v)).collect();
        let line = parts.join(&b' ');
        self.ctx
            .server
            .log
            .log(level, &String::from_utf8_lossy(&line));
        Ok(vec![])
    }

    /// `redis.call` (`raise`: errors are raised) and `redis.pcall` (errors are returned
    /// as `{err=...}`).
    fn redis_call(
        &mut self,
        lua: &mut Lua,
        args: &[Value],
        raise: bool,
    ) -> Result<Vec<Value>, Error> {
        let result = match script_argv(lua, args) {
            Ok(argv) => self.run_command(&argv),
            Err(msg) => Err(msg.to_string()),
        };
        let (value, failed) = match result {
            Ok(reply) => {
                let reply = reply.as_bytes();
                let failed = reply.first() == Some(&b'-');
                (convert::reply_to_lua(lua, reply), failed)
            }
            Err(msg) => {
                let t = engine::raise_value(lua, &msg);
                let _ = lua.set_field(&t, "ignore_error_stats_update", Value::Bool(true));
                (t, true)
            }
        };
        if failed && raise {
            return Err(Error::value(value));
        }
        Ok(vec![value])
    }

    /// Runs one command for the script: the checks `scriptCall` makes, then the handler
    /// as EXEC runs it. Returns the encoded reply, or the text of a refusal.
    fn run_command(&mut self, argv: &Args) -> Result<Reply, String> {
        let cmd = match command::resolve(argv) {
            Resolved::Found(cmd) => cmd,
            Resolved::Rejected(msg, _) if msg.starts_with("ERR wrong number") => {
                return Err("Wrong number of args calling Redis command from script".into())
            }
            Resolved::Rejected(..) => return Err("Unknown Redis command called from script".into()),
        };
        use command::flags::{MAY_REPLICATE, NOSCRIPT, WRITE};
        if cmd.flags & NOSCRIPT != 0 {
            return Err("This Redis command is not allowed from script".into());
        }
        // The caller's user's permissions, as Redis's `scriptVerifyACL`.
        let caller = command::lookup(&self.argv[0]).map_or("eval", |c| c.name);
        if let Some(msg) = command::acl::check_script_call(self.ctx, caller, cmd, argv) {
            return Err(msg);
        }
        if self.read_only && cmd.flags & (WRITE | MAY_REPLICATE) != 0 {
            return Err("Write commands are not allowed from read-only scripts.".into());
        }
        // Over maxmemory when the script started, its first write that may grow the
        // dataset is refused; after a write it cannot stop halfway (Redis's
        // `scriptVerifyOOM`).
        if !self.allow_oom
            && !self.wrote
            && self.ctx.client.oom_at_start
            && cmd.flags & command::flags::DENYOOM != 0
            && self.ctx.server.memory.maxmemory() > 0
        {
            // With its code, as Redis passes `shared.oomerr` on.
            return Err(format!("-{}", crate::memory::OOM_ERROR));
        }
        // A read-only replica, or too few good replicas (`scriptVerifyWriteCommandAllow`),
        // with the error's own code.
        if cmd.flags & WRITE != 0 {
            let master = self.ctx.client.master;
            if let Some(msg) = crate::replication::refusal(self.ctx.server, true, true, master) {
                return Err(format!("-{msg}"));
            }
        }
        if cmd.flags & WRITE != 0 && !self.wrote {
            if let Some(msg) = crate::persist::save::refusal(self.ctx.server, true, true, false) {
                return Err(msg.to_string());
            }
            if let Some(why) = self.ctx.server.aof.write_error() {
                return Err(format!("MISCONF Errors writing to the AOF file: {why}"));
            }
        }
        if cmd.flags & WRITE != 0 {
            self.wrote = true;
            self.ctx
                .server
                .scripts
                .running
                .wrote
                .store(true, Ordering::Release);
        }
        let mut out = Reply::default();
        out.resp3 = self.resp3;
        self.keyspace();
        let ks = self.guard.as_mut().expect("taken above");
        let ks: &mut Keyspace = ks;
        let client = &mut *self.ctx.client;
        let (caller_db, caller_resp) = (client.db, client.resp);
        client.db = self.db;
        client.resp = if self.resp3 { 3 } else { 2 };
        let held_before = client.held_ops.as_ref().map_or(0, Vec::len);
        client.last_command = cmd.name;
        let mut ctx = Ctx {
            server: self.ctx.server,
            client,
            out: &mut out,
            now_ms: self.ctx.now_ms,
        };
        let start = command::CallStart::new(&ctx);
        let result = match cmd.handler {
            Handler::Read(f) => {
                let r = f(&mut ctx, ks, argv);
                command::reap_stale(&mut ctx, ks);
                // Redis remembers the keys the script declared, not the command's.
                if cmd.flags & command::flags::READONLY != 0 {
                    if let Some(outer) = command::lookup(&self.argv[0]) {
                        command::remember_keys(&mut ctx, outer, self.argv);
                    }
                }
                r
            }
            Handler::Write(f)
            | Handler::ReadUnless { write: f, .. }
            | Handler::ReadFirst { write: f, .. } => command::run_write(&mut ctx, ks, f, argv),
            Handler::Plain(_) if command::is(&argv[0], "select") => {
                command::multi::select_locked(&mut ctx, ks, argv)
            }
            Handler::Plain(f) if command::multi::runs_under_lock(argv) => f(&mut ctx, argv),
            Handler::Plain(_) | Handler::Container => Err(CmdError::err(format!(
                "redlite cannot run '{}' from a script",
                cmd.name
            ))),
        };
        if let Err(e) = result {
            ctx.out.error(&e.message());
        }
        command::called(&mut ctx, cmd, argv, start, true);
        let client = &mut *self.ctx.client;
        self.db = client.db;
        client.db = caller_db;
        client.resp = caller_resp;
        // Commands run under `redis.set_repl(redis.REPL_NONE)` (or REPL_REPLICA: there
        // are no replicas) leave nothing in the AOF.
        if self.repl & 1 == 0 {
            if let Some(held) = client.held_ops.as_mut() {
                held.truncate(held_before);
            }
        }
        Ok(out)
    }
}

/// Redis's `luaArgsToRedisArgv`: strings as they are, numbers with `%.17g`; anything
/// else is refused.
fn script_argv(lua: &Lua, args: &[Value]) -> Result<Args, &'static str> {
    if args.is_empty() {
        return Err("Please specify at least one argument for this redis lib call");
    }
    let mut argv = Args::default();
    for a in args {
        match a {
            Value::Str(s) => argv.push(s.as_bytes()),
            Value::Num(n) => argv.push(&crate::util::num::format_double(*n)),
            _ => {
                let _ = lua;
                return Err("Lua redis lib command arguments must be strings or integers");
            }
        }
    }
    Ok(argv)
}

/// Marks a script as running (for BUSY, KILL and the log) until dropped. Should the
/// script's thread panic while it is busy, dropping the guard still ends the pause, so
/// the keyspace is never left owned by nobody.
pub struct RunningGuard<'a> {
    running: &'a super::Running,
    store: &'a crate::store::Store,
}

impl<'a> RunningGuard<'a> {
    pub fn start(running: &'a super::Running, store: &'a crate::store::Store, eval: bool) -> Self {
        running.eval.store(eval, Ordering::Release);
        running.wrote.store(false, Ordering::Release);
        running.killed.store(false, Ordering::Release);
        running.active.store(true, Ordering::Release);
        RunningGuard { running, store }
    }
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        let r = self.running;
        r.killed.store(false, Ordering::Release);
        r.active.store(false, Ordering::Release);
        if r.busy.swap(false, Ordering::AcqRel) {
            *r.started.lock().unwrap_or_else(|e| e.into_inner()) = None;
            // Only after a panic is it still paused; the lock may be this thread's own
            // (a guard further up the unwinding stack), so it is not taken here.
            self.store.unpause();
        }
    }
}

/// Calls a compiled script or function with its arguments and writes the reply (or the
/// error, in Redis's `... script: <name>, on @user_script:<line>.` form) to the caller.
pub fn call_and_reply(
    lua: &mut Lua,
    f: &Value,
    call_args: &[Value],
    host: &mut ScriptHost,
    name: &str,
) {
    lua.set_hook_interval(100_000);
    let result = lua.call(f, call_args, host);
    host.finish();
    let out = &mut *host.ctx.out;
    match result {
        Ok(values) => {
            let v = values.into_iter().next().unwrap_or(Value::Nil);
            convert::lua_to_reply(lua, &v, out, host.resp3);
        }
        Err(e) => out.error(&error_text(lua, &e, name)),
    }
}

/// The error reply for a script that failed, as Redis's error handler and
/// `luaCallFunction` build it.
pub fn error_text(lua: &mut Lua, e: &Error, name: &str) -> String {
    let (msg, mut position) = match &e.value {
        Value::Table(_) => {
            let msg = match lua.get_field(&e.value, "err") {
                v @ (Value::Str(_) | Value::Num(_)) => {
                    String::from_utf8_lossy(&lua.to_bytes(&v).unwrap_or_default()).into_owned()
                }
                _ => "ERR unknown error".to_string(),
            };
            let source = lua.get_field(&e.value, "source");
            let line = lua.get_field(&e.value, "line");
            let position = match (lua.to_bytes(&source), lua.to_bytes(&line)) {
                (Some(s), Some(l)) => Some((
                    String::from_utf8_lossy(&s).into_owned(),
                    String::from_utf8_lossy(&l).into_owned(),
                )),
                _ => None,
            };
            (msg, position)
        }
        v => (format!("ERR {}", tostring(lua, v)), None),
    };
    if let Some((source, line)) = &e.position {
        position = Some((source.clone(), line.to_string()));
    }
    match position {
        Some((source, line)) => format!("{msg} script: {name}, on {source}:{line}."),
        None => msg,
    }
}

/// `tostring(v)` for an error value that is not a table.
fn tostring(lua: &Lua, v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Bool(b) => b.to_string(),
        _ => match lua.to_bytes(v) {
            Some(b) => String::from_utf8_lossy(&b).into_owned(),
            None => Lua::type_name(v).to_string(),
        },
    }
}
