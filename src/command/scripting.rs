//! EVAL, EVALSHA, their `_RO` forms and SCRIPT (Redis's `eval.c`); FCALL and FUNCTION
//! (`functions.c`). The scripting itself is in [`crate::script`].

use std::sync::Arc;

use super::docs::help_subcommand;
use super::{int_arg, is, subcommand_syntax, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::script::lua::Value;
use crate::script::run::{self, Guard, RunningGuard, ScriptHost, Spec};
use crate::script::{engine, flag, Script};
use crate::store::Keyspace;

const SCRIPT: &[Command] = &[
    Command::sub("script", "debug", Handler::Plain(script_debug)),
    Command::sub("script", "exists", Handler::Plain(script_exists)),
    Command::sub("script", "flush", Handler::Plain(script_flush)),
    help_subcommand("script"),
    Command::sub("script", "kill", Handler::Plain(script_kill)),
    Command::sub("script", "load", Handler::Plain(script_load)),
];

pub const COMMANDS: &[Command] = &[
    Command::new("eval", Handler::Plain(locked)),
    Command::new("evalsha", Handler::Plain(locked)),
    Command::new("eval_ro", Handler::Plain(locked)),
    Command::new("evalsha_ro", Handler::Plain(locked)),
    Command::container("script", Handler::Container, SCRIPT),
    Command::new("fcall", Handler::Plain(locked)),
    Command::new("fcall_ro", Handler::Plain(locked)),
    Command::container("function", Handler::Container, FUNCTION),
];

const FUNCTION: &[Command] = &[
    Command::sub("function", "delete", Handler::Write(function_delete)),
    Command::sub("function", "dump", Handler::Plain(function_dump)),
    Command::sub("function", "flush", Handler::Write(function_flush)),
    help_subcommand("function"),
    Command::sub("function", "kill", Handler::Plain(function_kill)),
    Command::sub("function", "list", Handler::Plain(function_list)),
    Command::sub("function", "load", Handler::Write(function_load)),
    Command::sub("function", "restore", Handler::Write(function_restore)),
    Command::sub("function", "stats", Handler::Plain(function_stats)),
];

/// How a script-running command is called.
#[derive(Clone, Copy)]
struct How {
    by_sha: bool,
    read_only: bool,
}

/// Whether a command runs a script (EXEC then runs it under its own lock, through
/// [`run_locked`]).
pub fn runs_script(name: &str) -> bool {
    matches!(
        name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

/// Runs a script command under a write lock the caller (EXEC) holds.
pub fn run_locked<'s>(ctx: &mut Ctx<'s>, ks: &mut Guard<'s>, args: &Args) -> CmdResult {
    let name = args[0].to_ascii_lowercase();
    let read_only = name.ends_with(b"_ro");
    if name.starts_with(b"fcall") {
        return fcall_locked(ctx, ks, args, read_only);
    }
    let how = How {
        by_sha: name.starts_with(b"evalsha"),
        read_only,
    };
    eval_locked(ctx, ks, args, how)
}

/// EVAL, EVALSHA, FCALL and their `_RO` forms: takes the write lock for the script's
/// whole run, then serves the clients blocked on keys it filled.
fn locked(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let server = ctx.server;
    let Some(guard) = server.store.write_or_busy() else {
        return Err(super::busy(ctx));
    };
    let mut ks = Some(guard);
    let result = run_locked(ctx, &mut ks, args);
    super::finish_writes(ctx, ks.expect("a script ends holding the lock"));
    result
}

fn noscript() -> CmdError {
    CmdError::Msg("NOSCRIPT No matching script. Please use EVAL.".into())
}

/// Checks `numkeys` as Redis does, returning it.
fn numkeys(args: &Args) -> Result<usize, CmdError> {
    let n = int_arg(&args[2])?;
    if n > args.len() as i64 - 3 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    if n < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    Ok(n as usize)
}

/// Compiles a script body in this thread's state (cached there under its SHA-1 and kept
/// alive in the registry).
fn compile(
    eng: &mut engine::Engine,
    sha: [u8; 40],
    script: &Script,
) -> Result<(Value, u64), CmdError> {
    if let Some(known) = eng.scripts.get(&sha) {
        return Ok(known.clone());
    }
    let code = &script.body[script.code_start..];
    let f = eng
        .lua
        .load(code, "@user_script")
        .map_err(|e| CmdError::err(format!("Error compiling script (new function): {e}")))?;
    let key = format!("f_{}", String::from_utf8_lossy(&sha));
    eng.lua.registry_set(&key, f.clone());
    eng.scripts.insert(sha, (f.clone(), script.flags));
    Ok((f, script.flags))
}

/// Finds or creates the cache entry for an EVAL body (a shebang error is refused here,
/// as Redis's `luaCreateFunction`).
fn script_for_body(body: &[u8]) -> Result<([u8; 40], Arc<Script>), CmdError> {
    let sha = crate::script::sha1_hex(body);
    let (flags, code_start) = crate::script::shebang(body).map_err(CmdError::err)?;
    Ok((
        sha,
        Arc::new(Script {
            body: body.into(),
            flags,
            code_start,
        }),
    ))
}

/// The lowercase form of a SHA-1 argument.
fn sha_arg(arg: &[u8]) -> Option<[u8; 40]> {
    let mut sha = [0u8; 40];
    if arg.len() != 40 {
        return None;
    }
    for (d, s) in sha.iter_mut().zip(arg) {
        *d = s.to_ascii_lowercase();
    }
    Some(sha)
}

/// The refusals `scriptPrepareForRun` makes for a script with flags (a shebang), and
/// for `_ro` commands.
fn prepare(ctx: &Ctx, flags: u64, read_only: bool) -> Result<(), CmdError> {
    if flags & flag::EVAL_COMPAT != 0 || flags & flag::NO_WRITES != 0 {
        return Ok(());
    }
    // A script that declared it may write, but not `allow-oom`, counts as `denyoom`
    // (Redis's `scriptFlagsToCmdFlags`): refused as processCommand refuses one.
    if flags & flag::ALLOW_OOM == 0 && ctx.client.oom_at_start && ctx.server.memory.maxmemory() > 0
    {
        return Err(CmdError::Msg(crate::memory::OOM_ERROR.into()));
    }
    if crate::persist::save::refusal(ctx.server, true, true, false).is_some() {
        return Err(CmdError::Msg("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.".into()));
    }
    if let Some(why) = ctx.server.aof.write_error() {
        return Err(CmdError::Msg(format!("MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: {why}")));
    }
    // NOREPLICAS and READONLY, as processCommand refuses a script declared to write.
    if let Some(msg) = crate::replication::refusal(ctx.server, true, true, ctx.client.master) {
        return Err(CmdError::Msg(msg.into()));
    }
    if read_only {
        return Err(CmdError::err(
            "Can not execute a script with write flag using *_ro command.",
        ));
    }
    Ok(())
}

fn eval_locked<'s>(ctx: &mut Ctx<'s>, ks: &mut Guard<'s>, args: &Args, how: How) -> CmdResult {
    if how.by_sha && args[1].len() != 40 {
        return Err(noscript());
    }
    let nkeys = numkeys(args)?;
    let scripts = &ctx.server.scripts;
    let sha = if how.by_sha {
        sha_arg(&args[1]).ok_or_else(noscript)?
    } else {
        crate::script::sha1_hex(&args[1])
    };
    engine::with(scripts.generation(), |eng| {
        // This thread's state has what it compiled; the shared cache is only looked up
        // (under its lock) for what it has not.
        let compiled = match eng.scripts.get(&sha) {
            Some(known) => known.clone(),
            None => match scripts.get(&sha) {
                Some(script) => compile(eng, sha, &script)?,
                None if how.by_sha => return Err(noscript()),
                None => {
                    let (_, script) = script_for_body(&args[1])?;
                    let compiled = compile(eng, sha, &script)?;
                    scripts.insert(sha, script);
                    compiled
                }
            },
        };
        run_eval(ctx, ks, eng, args, how, nkeys, sha, compiled)
    })
}

/// Runs an EVAL script compiled in this thread's state.
#[allow(clippy::too_many_arguments)]
fn run_eval<'s>(
    ctx: &mut Ctx<'s>,
    ks: &mut Guard<'s>,
    eng: &mut engine::Engine,
    args: &Args,
    how: How,
    nkeys: usize,
    sha: [u8; 40],
    (f, flags): (Value, u64),
) -> CmdResult {
    prepare(ctx, flags, how.read_only)?;
    let read_only =
        how.read_only || (flags & flag::EVAL_COMPAT == 0 && flags & flag::NO_WRITES != 0);
    // A SHA-1 in hex is ASCII.
    let name = std::str::from_utf8(&sha).unwrap_or_default();
    let lua = &mut eng.lua;
    for (global, range) in [("KEYS", 3..3 + nkeys), ("ARGV", 3 + nkeys..args.len())] {
        let t = lua.create_table(range.len(), 0);
        for (i, a) in range.enumerate() {
            let s = lua.string(&args[a]);
            let _ = lua.raw_set(&t, Value::Num((i + 1) as f64), s);
        }
        lua.set_global(global, t);
    }
    let spec = Spec {
        name,
        eval: true,
        read_only,
        allow_oom: flags & flag::EVAL_COMPAT == 0 && flags & flag::ALLOW_OOM != 0,
        argv: args,
    };
    run_script(ctx, ks, lua, &f, &[], &spec);
    Ok(())
}

/// Runs a compiled script or function: marks it running, holds what it propagates,
/// makes blocking commands answer at once, and writes its reply.
fn run_script<'s>(
    ctx: &mut Ctx<'s>,
    ks: &mut Guard<'s>,
    lua: &mut crate::script::lua::Lua,
    f: &Value,
    call_args: &[Value],
    spec: &Spec,
) {
    let server = ctx.server;
    let _running = RunningGuard::start(&server.scripts.running, &server.store, spec.eval);
    // Inside EXEC the transaction already holds what it propagates.
    let own_hold = ctx.client.held_ops.is_none();
    if own_hold {
        ctx.client.held_ops = Some(Vec::new());
    }
    let in_exec = std::mem::replace(&mut ctx.client.in_exec, true);
    let in_script = std::mem::replace(&mut ctx.client.in_script, true);
    let db = ctx.client.db;
    {
        let mut host = ScriptHost::new(ctx, ks, spec);
        run::call_and_reply(lua, f, call_args, &mut host, spec.name);
    }
    server.scripts.lua_memory.store(
        lua.used_memory() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    ctx.client.in_exec = in_exec;
    ctx.client.in_script = in_script;
    ctx.client.db = db;
    if own_hold {
        let ops = ctx.client.held_ops.take().unwrap_or_default();
        crate::consumers::propagate(server, ops, true);
    }
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

/// The HELP texts of SCRIPT and FUNCTION (Redis's own, not generated from the table).
pub fn help_text(container: &str) -> Option<&'static [&'static str]> {
    match container {
        "script" => Some(SCRIPT_HELP),
        "function" => Some(super::scripting::FUNCTION_HELP),
        _ => None,
    }
}

/// ```text
/// SCRIPT DEBUG YES|SYNC|NO
/// ```
/// redlite has no Lua debugger: NO is accepted, YES and SYNC are refused.
fn script_debug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if is(&args[2], "no") {
        ctx.out.ok();
        return Ok(());
    }
    if is(&args[2], "yes") || is(&args[2], "sync") {
        return Err(CmdError::err(
            "SCRIPT DEBUG is not supported: redlite has no Lua debugger",
        ));
    }
    Err(CmdError::err("Use SCRIPT DEBUG YES/SYNC/NO"))
}

/// ```text
/// SCRIPT EXISTS sha1 [sha1 ...]
/// ```
fn script_exists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.out.array(args.len() - 2);
    for a in args.iter().skip(2) {
        let found = sha_arg(a).is_some_and(|sha| ctx.server.scripts.get(&sha).is_some());
        ctx.out.int(i64::from(found));
    }
    Ok(())
}

/// ```text
/// SCRIPT FLUSH [ASYNC|SYNC]
/// ```
fn script_flush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let ok =
        args.len() == 2 || (args.len() == 3 && (is(&args[2], "sync") || is(&args[2], "async")));
    if !ok {
        return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"));
    }
    ctx.server.scripts.flush();
    ctx.out.ok();
    Ok(())
}

/// ```text
/// SCRIPT KILL
/// ```
fn script_kill(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    kill(ctx, true)
}

/// SCRIPT KILL (`eval`) and FUNCTION KILL.
fn kill(ctx: &mut Ctx, eval: bool) -> CmdResult {
    match ctx.server.scripts.kill(eval) {
        Some(msg) => Err(CmdError::Msg(msg.into())),
        None => {
            ctx.out.ok();
            Ok(())
        }
    }
}

/// ```text
/// SCRIPT LOAD script
/// ```
/// Compiles the script and caches it; its SHA-1.
fn script_load(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let scripts = &ctx.server.scripts;
    let sha = crate::script::sha1_hex(&args[2]);
    if scripts.get(&sha).is_none() {
        let (sha, script) = script_for_body(&args[2])?;
        engine::with(scripts.generation(), |eng| compile(eng, sha, &script))?;
        scripts.insert(sha, script);
    }
    ctx.out.bulk(&sha);
    Ok(())
}

/// ```text
/// FCALL function numkeys [key ...] [arg ...]
/// ```
/// Runs a library's function with the keys and arguments as its two table arguments.
fn fcall_locked<'s>(
    ctx: &mut Ctx<'s>,
    ks: &mut Guard<'s>,
    args: &Args,
    read_only: bool,
) -> CmdResult {
    let name = String::from_utf8_lossy(&args[1]).into_owned();
    let libs = ctx
        .server
        .scripts
        .functions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let Some((_, info)) = libs.function(&name) else {
        return Err(CmdError::err("Function not found"));
    };
    let fflags = info.flags;
    let n = crate::util::num::parse_i64(&args[2])
        .ok_or_else(|| CmdError::err("Bad number of keys provided"))?;
    numkeys(args)?;
    let n = n as usize;
    prepare(ctx, fflags, read_only)?;
    let version = libs.version;
    let generation = ctx.server.scripts.generation();
    engine::with(generation, |eng| {
        if eng.functions_version != version {
            reload_functions(eng, &libs);
        }
        drop(libs);
        let Some(f) = eng.functions.get(&name).cloned() else {
            return Err(CmdError::err("Function not found"));
        };
        let lua = &mut eng.lua;
        let mut tables = Vec::with_capacity(2);
        for range in [3..3 + n, 3 + n..args.len()] {
            let t = lua.create_table(range.len(), 0);
            for (i, a) in range.enumerate() {
                let s = lua.string(&args[a]);
                let _ = lua.raw_set(&t, Value::Num((i + 1) as f64), s);
            }
            tables.push(t);
        }
        let spec = Spec {
            name: &name,
            eval: false,
            read_only: read_only || fflags & flag::NO_WRITES != 0,
            allow_oom: fflags & flag::ALLOW_OOM != 0,
            argv: args,
        };
        run_script(ctx, ks, lua, &f, &tables, &spec);
        Ok(())
    })
}

/// Runs every library's code in this thread's state, so it has the callbacks.
fn reload_functions(eng: &mut engine::Engine, libs: &crate::script::function::Libraries) {
    use crate::script::function::{self, LoadHost, Registrations};
    for name in eng.functions.keys() {
        eng.lua.registry_set(&format!("fn_{name}"), Value::Nil);
    }
    eng.functions.clear();
    for lib in libs.libraries.values() {
        let Ok((_, _, start)) = function::metadata(&lib.code) else {
            continue;
        };
        let mut reg = Registrations::default();
        let mut host = LoadHost::new(&mut reg);
        if function::load(&mut eng.lua, &lib.code, start, &mut host).is_ok() {
            for (info, f) in reg.functions {
                eng.lua
                    .registry_set(&format!("fn_{}", info.name), f.clone());
                eng.functions.insert(info.name, f);
            }
        }
    }
    eng.functions_version = libs.version;
}

/// Loads a library's code in this thread's state, checking it as FUNCTION LOAD does;
/// the library to add.
fn build_library(
    server: &crate::state::Server,
    code: &[u8],
) -> Result<crate::script::function::Library, String> {
    use crate::script::function::{self, FunctionInfo, LoadHost, Registrations};
    let (engine_name, name, start) = function::metadata(code)?;
    if !function::valid_name(name.as_bytes()) {
        return Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    if !engine_name.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{engine_name}' not found"));
    }
    let mut reg = Registrations::default();
    engine::with(server.scripts.generation(), |eng| {
        let mut host = LoadHost::new(&mut reg);
        function::load(&mut eng.lua, code, start, &mut host)
    })?;
    if reg.functions.is_empty() {
        return Err("No functions registered".into());
    }
    let functions: Vec<FunctionInfo> = reg.functions.into_iter().map(|(f, _)| f).collect();
    Ok(function::Library {
        name,
        code: code.to_vec(),
        functions,
    })
}

/// Loads the libraries a dump file held (at startup): each as FUNCTION LOAD would; an
/// error names the library that failed.
pub fn restore_libraries(server: &crate::state::Server, codes: &[Vec<u8>]) -> Result<(), String> {
    let mut new = Vec::with_capacity(codes.len());
    for code in codes {
        new.push(build_library(server, code)?);
    }
    let mut libs = server
        .scripts
        .functions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    join(&mut libs, new, false)
}

/// Adds libraries to the set: a library of the same name is an error unless `replace`;
/// a function another library already has is always one. All or nothing.
fn join(
    libs: &mut crate::script::function::Libraries,
    new: Vec<crate::script::function::Library>,
    replace: bool,
) -> Result<(), String> {
    for lib in &new {
        if libs.libraries.contains_key(&lib.name) && !replace {
            return Err(format!("Library {} already exists", lib.name));
        }
    }
    for lib in &new {
        for f in &lib.functions {
            let clash = libs
                .libraries
                .values()
                .filter(|l| !new.iter().any(|n| n.name == l.name))
                .chain(new.iter().filter(|l| l.name != lib.name))
                .any(|l| l.functions.iter().any(|g| g.name == f.name));
            if clash {
                return Err(format!("Function {} already exists", f.name));
            }
        }
    }
    for lib in new {
        libs.insert(lib);
    }
    Ok(())
}

/// ```text
/// FUNCTION LOAD [REPLACE] function-code
/// ```
fn function_load(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let mut replace = false;
    let mut at = 2;
    while at < args.len() - 1 {
        if !is(&args[at], "replace") {
            return Err(CmdError::err(format!(
                "Unknown option given: {}",
                String::from_utf8_lossy(&args[at])
            )));
        }
        replace = true;
        at += 1;
    }
    if at >= args.len() {
        return Err(CmdError::err("Function code is missing"));
    }
    let lib = build_library(ctx.server, &args[at]).map_err(CmdError::err)?;
    let name = lib.name.clone();
    let mut libs = ctx
        .server
        .scripts
        .functions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if libs.libraries.contains_key(&name) && !replace {
        return Err(CmdError::err(format!("Library '{name}' already exists")));
    }
    join(&mut libs, vec![lib], true).map_err(CmdError::err)?;
    ks.dirty += 1;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

/// ```text
/// FUNCTION DELETE library-name
/// ```
fn function_delete(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let name = String::from_utf8_lossy(&args[2]).into_owned();
    let mut libs = ctx
        .server
        .scripts
        .functions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if !libs.libraries.contains_key(&name) {
        return Err(CmdError::err("Library not found"));
    }
    libs.remove(&name);
    ks.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// ```text
/// FUNCTION FLUSH [ASYNC|SYNC]
/// ```
fn function_flush(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(subcommand_syntax(args));
    }
    if args.len() == 3 && !is(&args[2], "sync") && !is(&args[2], "async") {
        return Err(CmdError::err(
            "FUNCTION FLUSH only supports SYNC|ASYNC option",
        ));
    }
    ctx.server
        .scripts
        .functions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    ks.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// ```text
/// FUNCTION KILL
/// ```
fn function_kill(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    kill(ctx, false)
}

/// ```text
/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]
/// ```
fn function_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut with_code, mut pattern): (bool, Option<&[u8]>) = (false, None);
    let mut i = 2;
    while i < args.len() {
        if !with_code && is(&args[i], "withcode") {
            with_code = true;
        } else if pattern.is_none() && is(&args[i], "libraryname") {
            if i >= args.len() - 1 {
                return Err(CmdError::err("library name argument was not given"));
            }
            i += 1;
            pattern = Some(&args[i]);
        } else {
            return Err(CmdError::err(format!(
                "Unknown argument {}",
                String::from_utf8_lossy(&args[i])
            )));
        }
        i += 1;
    }
    let libs = ctx
        .server
        .scripts
        .functions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let chosen: Vec<_> = libs
        .libraries
        .values()
        .filter(|l| pattern.is_none_or(|p| crate::util::glob::matches(p, l.name.as_bytes(), true)))
        .collect();
    let out = &mut *ctx.out;
    out.array(chosen.len());
    for lib in chosen {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for f in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = flag::NAMES
                .iter()
                .filter(|(bit, _)| f.flags & bit != 0)
                .map(|(_, n)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    Ok(())
}

/// ```text
/// FUNCTION STATS
/// ```
fn function_stats(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let scripts = &ctx.server.scripts;
    let running = scripts
        .running
        .started
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let busy = scripts
        .running
        .busy
        .load(std::sync::atomic::Ordering::Acquire);
    let eval = scripts
        .running
        .eval
        .load(std::sync::atomic::Ordering::Acquire);
    if busy && eval {
        return Err(CmdError::Msg(
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.".into(),
        ));
    }
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    match running.filter(|_| busy) {
        None => out.null(),
        Some((started, name, argv)) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"command");
            out.array(argv.len());
            for a in &argv {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(started.elapsed().as_millis() as i64);
        }
    }
    let libs = scripts.functions.lock().unwrap_or_else(|e| e.into_inner());
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs.libraries.len() as i64);
    out.bulk(b"functions_count");
    out.int(libs.function_count() as i64);
    Ok(())
}

/// RDB's opcode for a function library in a dump (`RDB_OPCODE_FUNCTION2`).
const OPCODE_FUNCTION2: u8 = crate::persist::rdb::OPCODE_FUNCTION2;

/// ```text
/// FUNCTION DUMP
/// ```
/// Every library as Redis's payload: each library's code as an RDB string after the
/// FUNCTION2 opcode (LZF-compressed as Redis does under `rdbcompression`), then the RDB
/// version and a CRC64.
fn function_dump(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let compress = ctx.server.rdb_options().compression;
    let libs = ctx
        .server
        .scripts
        .functions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut payload = Vec::new();
    for lib in libs.libraries.values() {
        payload.push(OPCODE_FUNCTION2);
        crate::persist::rdb::put_string(&mut payload, &lib.code, compress);
    }
    payload.extend_from_slice(&crate::persist::rdb::RDB_VERSION.to_le_bytes());
    let crc = crate::persist::crc64::crc64(0, &payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    ctx.out.bulk(&payload);
    Ok(())
}

/// ```text
/// FUNCTION RESTORE serialized-value [FLUSH|APPEND|REPLACE]
/// ```
fn function_restore(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    if args.len() > 4 {
        return Err(subcommand_syntax(args));
    }
    let policy = match (args.len() > 3).then(|| &args[3]) {
        None => "append",
        Some(p) if is(p, "append") => "append",
        Some(p) if is(p, "replace") => "replace",
        Some(p) if is(p, "flush") => "flush",
        Some(_) => {
            return Err(CmdError::err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
    };
    let data = &args[2];
    // Redis's verifyDumpPayload, shared with RESTORE.
    crate::persist::rdb::verify_payload(data)
        .map_err(|_| CmdError::err("DUMP payload version or checksum are wrong"))?;
    let mut pos = 0;
    let mut new = Vec::new();
    while data.len() - pos > 10 {
        let kind = data[pos];
        pos += 1;
        if kind != OPCODE_FUNCTION2 {
            return Err(CmdError::err("given type is not a function"));
        }
        let code = crate::persist::rdb::read_string_at(data, &mut pos)
            .ok_or_else(|| CmdError::err("Failed loading library payload"))?;
        let lib = build_library(ctx.server, &code).map_err(CmdError::err)?;
        if new
            .iter()
            .any(|l: &crate::script::function::Library| l.name == lib.name)
        {
            return Err(CmdError::err(format!(
                "Library '{}' already exists",
                lib.name
            )));
        }
        new.push(lib);
    }
    let mut libs = ctx
        .server
        .scripts
        .functions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if policy == "flush" {
        libs.clear();
    }
    join(&mut libs, new, policy != "append").map_err(CmdError::err)?;
    ks.dirty += 1;
    ctx.out.ok();
    Ok(())
}

pub const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];
