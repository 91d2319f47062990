//! One thread's Lua state, set up as Redis 7.0's `scriptingInit` and
//! `luaRegisterRedisAPI` set up theirs:
//! - the libraries (base, table, string, math, coroutine; cjson, cmsgpack, bit, struct);
//! - `pcall` that returns a `redis.call` error's text rather than its table;
//! - the `redis` table: call, pcall, log and its levels, setresp, sha1hex, error_reply,
//!   status_reply, set_repl and the REPL_* flags, replicate_commands, breakpoint, debug,
//!   acl_check_cmd, REDIS_VERSION and REDIS_VERSION_NUM;
//! - `math.random` on Redis's `redisLrand48`, one sequence for the whole server;
//! - the sandbox: reading a missing global is an error, and every table reachable from
//!   the globals (their metatables too, and the strings' metatable) is read-only.
//!
//! What needs the server (`redis.call`, `redis.log`...) is a host function: it reaches
//! the running script's [`super::run::ScriptHost`] by number ([`op`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::lua::{Error, Host, Lua, Value};

/// The host functions, by number.
pub mod op {
    pub const CALL: u32 = 1;
    pub const PCALL: u32 = 2;
    pub const SETRESP: u32 = 3;
    pub const SET_REPL: u32 = 4;
    pub const ACL_CHECK_CMD: u32 = 5;
    pub const LOG: u32 = 6;
    pub const REGISTER_FUNCTION: u32 = 7;
}

/// `REDIS_VERSION` as scripts see it.
pub const REDIS_VERSION: &str = "7.0.15";
/// `REDIS_VERSION_NUM`: 0x00MMmmpp.
pub const REDIS_VERSION_NUM: f64 = ((7 << 16) | 15) as f64;

/// A thread's Lua state with what it has compiled.
pub struct Engine {
    pub lua: Lua,
    /// The script cache generation this state was built for.
    pub generation: u64,
    /// Compiled EVAL scripts and their flags, by SHA-1 (each also kept in the registry).
    pub scripts: HashMap<[u8; 40], (Value, u64)>,
    /// The function libraries' version this state loaded, and their functions by name.
    pub functions_version: u64,
    pub functions: HashMap<String, Value>,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's engine, (re)built for `generation` if needed.
///
/// The engine is taken out of its slot while `f` runs and put back after: if `f`
/// panics (the connection catches it), the state it left half-changed is dropped and the
/// next script gets a fresh one.
pub fn with<R>(generation: u64, f: impl FnOnce(&mut Engine) -> R) -> R {
    let taken = ENGINE.with(|cell| cell.borrow_mut().take());
    let mut engine = match taken {
        Some(e) if e.generation == generation => e,
        _ => Engine::new(generation),
    };
    let result = f(&mut engine);
    ENGINE.with(|cell| *cell.borrow_mut() = Some(engine));
    result
}

/// Bytes the Lua state of this thread holds (0 if it has none).
pub fn used_memory() -> usize {
    ENGINE.with(|cell| cell.borrow().as_ref().map_or(0, |e| e.lua.used_memory()))
}

impl Engine {
    fn new(generation: u64) -> Engine {
        let mut lua = Lua::new();
        super::lua::ext::open(&mut lua);
        setup(&mut lua);
        Engine {
            lua,
            generation,
            scripts: HashMap::new(),
            functions_version: u64::MAX,
            functions: HashMap::new(),
        }
    }
}

/// Builds the redis table, replaces pcall and math.random, then locks the globals.
fn setup(lua: &mut Lua) {
    let pcall = lua.native("pcall", redis_pcall_builtin);
    lua.set_global("pcall", pcall);

    let redis = lua.create_table(0, 32);
    let set = |lua: &mut Lua, name: &str, v: Value| {
        let _ = lua.set_field(&redis, name, v);
    };
    let natives: &[(&'static str, super::lua::NativeFn)] = &[
        ("call", |l, h, a| h.host_call(l, op::CALL, a)),
        ("pcall", |l, h, a| h.host_call(l, op::PCALL, a)),
        ("setresp", |l, h, a| h.host_call(l, op::SETRESP, a)),
        ("set_repl", |l, h, a| h.host_call(l, op::SET_REPL, a)),
        ("acl_check_cmd", |l, h, a| {
            h.host_call(l, op::ACL_CHECK_CMD, a)
        }),
        ("log", |l, h, a| h.host_call(l, op::LOG, a)),
        ("sha1hex", sha1hex),
        ("error_reply", error_reply),
        ("status_reply", status_reply),
        ("breakpoint", |_, _, _| Ok(vec![Value::Bool(false)])),
        ("debug", |_, _, _| Ok(vec![])),
        ("replicate_commands", |_, _, _| Ok(vec![Value::Bool(true)])),
    ];
    for (name, f) in natives {
        let v = lua.native(name, *f);
        set(lua, name, v);
    }
    for (name, level) in [
        ("LOG_DEBUG", 0.0),
        ("LOG_VERBOSE", 1.0),
        ("LOG_NOTICE", 2.0),
        ("LOG_WARNING", 3.0),
        ("REPL_NONE", 0.0),
        ("REPL_AOF", 1.0),
        ("REPL_SLAVE", 2.0),
        ("REPL_REPLICA", 2.0),
        ("REPL_ALL", 3.0),
    ] {
        set(lua, name, Value::Num(level));
    }
    set(lua, "REDIS_VERSION_NUM", Value::Num(REDIS_VERSION_NUM));
    let version = lua.string(REDIS_VERSION.as_bytes());
    set(lua, "REDIS_VERSION", version);
    lua.set_global("redis", redis);

    let math = lua.get_global("math");
    let random = lua.native("random", math_random);
    let _ = lua.set_field(&math, "random", random);
    let seed = lua.native("randomseed", math_randomseed);
    let _ = lua.set_field(&math, "randomseed", seed);

    protect(lua);
}

/// Redis 7.0's sandbox: a missing global raises an error; every table reachable from
/// the globals, and their metatables, become read-only, and so does the strings'
/// metatable.
fn protect(lua: &mut Lua) {
    let globals = lua.globals();
    let meta = lua.create_table(0, 1);
    let index = lua.native("__index", missing_global);
    let _ = lua.set_field(&meta, "__index", index);
    lua.set_metatable(&globals, Some(meta));
    let mut todo = vec![globals];
    let empty = lua.string(b"");
    if let Some(m) = lua.get_metatable(&empty) {
        todo.push(m);
    }
    let mut seen: Vec<Value> = Vec::new();
    while let Some(t) = todo.pop() {
        if seen.iter().any(|s| same(s, &t)) {
            continue;
        }
        lua.set_readonly(&t, true);
        let mut key = Value::Nil;
        while let Ok(Some((k, v))) = lua.next(&t, &key) {
            if let Value::Table(_) = v {
                todo.push(v);
            }
            key = k;
        }
        if let Some(m) = lua.get_metatable(&t) {
            todo.push(m);
        }
        seen.push(t);
    }
}

/// Whether two values are the same table (raw equality).
fn same(a: &Value, b: &Value) -> bool {
    Lua::raw_equal(a, b)
}

/// The globals' `__index`: `Script attempted to access nonexistent global variable`.
fn missing_global(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    let name = args
        .get(1)
        .and_then(|k| lua.to_bytes(k))
        .unwrap_or_default();
    let text = format!(
        "Script attempted to access nonexistent global variable '{}'",
        String::from_utf8_lossy(&name)
    );
    Err(lua.error_here(1, &text))
}

/// Redis's `pcall`: Lua's, except that an error that is a table with an `err` string
/// (what `redis.call` raises) comes back as that string. A fatal error (a killed script)
/// is not caught.
fn redis_pcall_builtin(
    lua: &mut Lua,
    host: &mut dyn Host,
    args: &[Value],
) -> Result<Vec<Value>, Error> {
    let Some(f) = args.first() else {
        return Err(lua.error_here(1, "bad argument #1 to 'pcall' (value expected)"));
    };
    match lua.call(f, &args[1..], host) {
        Ok(mut results) => {
            results.insert(0, Value::Bool(true));
            Ok(results)
        }
        Err(e) if e.fatal => Err(e),
        Err(e) => {
            let mut value = e.value;
            if let Value::Table(_) = value {
                let err = lua.get_field(&value, "err");
                if matches!(err, Value::Str(_) | Value::Num(_)) {
                    value = err;
                }
            }
            Ok(vec![Value::Bool(false), value])
        }
    }
}

/// `redis.sha1hex(s)`.
fn sha1hex(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    if args.len() != 1 {
        return Err(raise(lua, "wrong number of arguments"));
    }
    let bytes = lua.to_bytes(&args[0]).unwrap_or_default();
    let hex = super::sha1_hex(&bytes);
    Ok(vec![lua.string(&hex)])
}

/// `redis.error_reply(text)`: `{err=...}`, with Redis's code handling.
fn error_reply(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    let [Value::Str(s)] = args else {
        return Ok(vec![raise_value(lua, "wrong number or type of arguments")]);
    };
    let text = s.as_bytes();
    let mut with_dash = Vec::with_capacity(text.len() + 1);
    if !text.starts_with(b"-") {
        with_dash.push(b'-');
    }
    with_dash.extend_from_slice(text);
    Ok(vec![super::convert::error_table(lua, &with_dash)])
}

/// `redis.status_reply(text)`: `{ok=...}`.
fn status_reply(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    let [Value::Str(_)] = args else {
        return Ok(vec![raise_value(lua, "wrong number or type of arguments")]);
    };
    let t = lua.create_table(0, 1);
    let _ = lua.set_field(&t, "ok", args[0].clone());
    Ok(vec![t])
}

/// The error table Redis's `luaPushError` makes for a message (`{err="ERR ..."}`).
pub fn raise_value(lua: &mut Lua, text: &str) -> Value {
    super::convert::error_table(lua, text.as_bytes())
}

/// Raises the error table [`raise_value`] makes, as Redis's `luaError`.
pub fn raise(lua: &mut Lua, text: &str) -> Error {
    let value = raise_value(lua, text);
    Error::value(value)
}

/// [`raise`], made fatal: `pcall` cannot catch it (a killed or timed-out script).
pub fn raise_fatal(lua: &mut Lua, text: &str) -> Error {
    let mut e = raise(lua, text);
    e.fatal = true;
    e
}

/// The state of `redisLrand48`: 48 bits, one sequence for the whole server as Redis's.
static RAND48: AtomicU64 = AtomicU64::new(0x1234_ABCD_330E);

/// `redisLrand48()`: the next 31-bit number.
fn lrand48() -> i64 {
    let mut x = RAND48.load(Ordering::Relaxed);
    x = (x.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & 0xFFFF_FFFF_FFFF;
    RAND48.store(x, Ordering::Relaxed);
    (x >> 17) as i64
}

/// `luaL_checkint`: an integer argument, or Lua's `bad argument` error.
fn check_int(lua: &mut Lua, args: &[Value], i: usize, fname: &str) -> Result<i64, Error> {
    match args.get(i).and_then(|v| lua.to_number(v)) {
        Some(n) => Ok(n as i64),
        None => {
            let got = args.get(i).map_or("no value", Lua::type_name);
            Err(lua.error_here(
                1,
                &format!(
                    "bad argument #{} to '{fname}' (number expected, got {got})",
                    i + 1
                ),
            ))
        }
    }
}

/// `math.random([m [, n]])` on `redisLrand48`, as Redis replaces it.
fn math_random(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    const MAX: i64 = i32::MAX as i64;
    let r = (lrand48() % MAX) as f64 / MAX as f64;
    let n = match args.len() {
        0 => r,
        1 => {
            let u = check_int(lua, args, 0, "random")? as i32;
            if u < 1 {
                return Err(lua.error_here(1, "bad argument #1 to 'random' (interval is empty)"));
            }
            (r * f64::from(u)).floor() + 1.0
        }
        2 => {
            let l = check_int(lua, args, 0, "random")? as i32;
            let u = check_int(lua, args, 1, "random")? as i32;
            if l > u {
                return Err(lua.error_here(1, "bad argument #2 to 'random' (interval is empty)"));
            }
            (r * (f64::from(u) - f64::from(l) + 1.0)).floor() + f64::from(l)
        }
        _ => return Err(lua.error_here(1, "wrong number of arguments")),
    };
    Ok(vec![Value::Num(n)])
}

/// `math.randomseed(n)`: `redisSrand48`.
fn math_randomseed(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    let seed = check_int(lua, args, 0, "randomseed")? as i32 as u32;
    RAND48.store((u64::from(seed) << 16) | 0x330E, Ordering::Relaxed);
    Ok(vec![])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lrand48_matches_the_c_sequence() {
        // glibc's lrand48() after srand48(0) starts with these numbers.
        RAND48.store(0x330E, Ordering::Relaxed);
        assert_eq!(lrand48(), 366_850_414);
        assert_eq!(lrand48(), 1_610_402_240);
    }
}
