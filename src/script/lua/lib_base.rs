//! The base library (without print, dofile, loadfile) and the coroutine library, plus the
//! argument-checking helpers every library uses (`luaL_check*`).

use super::gc::{CoStatus, Coroutine, FuncObj, UdObj};
use super::value::{fmt_number, raw_eq, str_to_number, type_name};
use super::vm::NKind;
use super::{Error, Host, LStr, Lua, Table, Thread, UserData, Value};

pub(crate) type R = Result<Vec<Value>, Error>;

// ---- argument helpers --------------------------------------------------------------

/// `luaL_argerror`: names the function as the calling instruction does (`'?'` when a
/// native called it), and counts a method's arguments without `self`.
pub(crate) fn arg_error(lua: &mut Lua, n: usize, msg: &str) -> Error {
    let (kind, name) = match lua.calling_name() {
        Some((k, s)) => (k, s),
        None => ("", "?".to_string()),
    };
    let mut n = n;
    if kind == "method" {
        n -= 1;
        if n == 0 {
            return lua.error_here(1, &format!("calling '{}' on bad self ({})", name, msg));
        }
    }
    lua.error_here(1, &format!("bad argument #{} to '{}' ({})", n, name, msg))
}

pub(crate) fn type_err(lua: &mut Lua, args: &[Value], n: usize, expected: &str) -> Error {
    let got = args.get(n - 1).map(type_name).unwrap_or("no value");
    arg_error(lua, n, &format!("{} expected, got {}", expected, got))
}

pub(crate) fn check_str(lua: &mut Lua, args: &[Value], n: usize) -> Result<LStr, Error> {
    match args.get(n - 1) {
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(Value::Num(x)) => Ok(LStr::new(fmt_number(*x).as_bytes())),
        _ => Err(type_err(lua, args, n, "string")),
    }
}

pub(crate) fn opt_str(lua: &mut Lua, args: &[Value], n: usize) -> Result<Option<LStr>, Error> {
    match args.get(n - 1) {
        None | Some(Value::Nil) => Ok(None),
        _ => check_str(lua, args, n).map(Some),
    }
}

pub(crate) fn check_num(lua: &mut Lua, args: &[Value], n: usize) -> Result<f64, Error> {
    match args.get(n - 1) {
        Some(Value::Num(x)) => Ok(*x),
        Some(Value::Str(s)) => match str_to_number(s.as_bytes()) {
            Some(x) => Ok(x),
            None => Err(type_err(lua, args, n, "number")),
        },
        _ => Err(type_err(lua, args, n, "number")),
    }
}

/// `luaL_checkint`: the number truncated toward zero.
pub(crate) fn check_int(lua: &mut Lua, args: &[Value], n: usize) -> Result<i64, Error> {
    let x = check_num(lua, args, n)?;
    Ok(to_int(x))
}

pub(crate) fn to_int(x: f64) -> i64 {
    if x.is_nan() {
        i64::MIN
    } else {
        x as i64
    }
}

pub(crate) fn opt_int(lua: &mut Lua, args: &[Value], n: usize, d: i64) -> Result<i64, Error> {
    match args.get(n - 1) {
        None | Some(Value::Nil) => Ok(d),
        _ => check_int(lua, args, n),
    }
}

pub(crate) fn check_table(lua: &mut Lua, args: &[Value], n: usize) -> Result<u32, Error> {
    match args.get(n - 1) {
        Some(Value::Table(t)) => Ok(t.0),
        _ => Err(type_err(lua, args, n, "table")),
    }
}

pub(crate) fn check_any(lua: &mut Lua, args: &[Value], n: usize) -> Result<Value, Error> {
    match args.get(n - 1) {
        Some(v) => Ok(v.clone()),
        None => Err(arg_error(lua, n, "value expected")),
    }
}

pub(crate) fn arg(args: &[Value], n: usize) -> Value {
    args.get(n - 1).cloned().unwrap_or_default()
}

pub(crate) fn reg(lua: &mut Lua, t: &Value, name: &'static str, f: super::NativeFn) {
    let v = lua.native(name, f);
    let _ = lua.set_field(t, name, v);
}

fn reg_kind(
    lua: &mut Lua,
    t: &Value,
    name: &'static str,
    f: super::NativeFn,
    kind: NKind,
) -> Value {
    let v = lua.native_with(name, f, vec![], kind);
    let _ = lua.set_field(t, name, v.clone());
    v
}

// ---- tostring ------------------------------------------------------------------------

pub(crate) fn addr_of(v: &Value) -> usize {
    let (id, tag) = match v {
        Value::Table(t) => (t.0, 1),
        Value::Function(f) => (f.0, 2),
        Value::Thread(t) => (t.0, 3),
        Value::UserData(u) => (u.0, 4),
        _ => (0, 0),
    };
    0x5555_0000_0000 + (tag << 28) + id as usize * 64
}

/// `luaL_tolstring` without metamethods.
pub(crate) fn tostring_raw(v: &Value) -> Vec<u8> {
    match v {
        Value::Nil => b"nil".to_vec(),
        Value::Bool(b) => {
            if *b {
                b"true".to_vec()
            } else {
                b"false".to_vec()
            }
        }
        Value::Num(n) => fmt_number(*n).into_bytes(),
        Value::Str(s) => s.as_bytes().to_vec(),
        other => format!("{}: 0x{:012x}", type_name(other), addr_of(other)).into_bytes(),
    }
}

pub(crate) fn tostring(lua: &mut Lua, host: &mut dyn Host, v: &Value) -> Result<Value, Error> {
    let mm = lua.metamethod(v, "__tostring");
    if !mm.is_nil() {
        let r = lua.call_value(&mm, std::slice::from_ref(v), host)?;
        return Ok(r.into_iter().next().unwrap_or_default());
    }
    if let Value::Str(_) = v {
        return Ok(v.clone());
    }
    let b = tostring_raw(v);
    Ok(lua.string(&b))
}

// ---- base functions --------------------------------------------------------------------

fn b_assert(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let v = check_any(lua, args, 1)?;
    if !v.truthy() {
        let msg = match args.get(1) {
            None | Some(Value::Nil) => LStr::new(b"assertion failed!"),
            _ => check_str(lua, args, 2)?,
        };
        return Err(error_bytes(lua, 1, msg.as_bytes()));
    }
    Ok(args.to_vec())
}

/// `luaL_error` with a byte message.
pub(crate) fn error_bytes(lua: &mut Lua, level: u32, msg: &[u8]) -> Error {
    let mut b = match lua.where_(level) {
        Some((s, l)) => format!("{}:{}: ", s, l).into_bytes(),
        None => vec![],
    };
    b.extend_from_slice(msg);
    let value = lua.string(&b);
    Error::value(value)
}

fn b_collectgarbage(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let opt = match opt_str(lua, args, 1)? {
        Some(s) => s.as_bytes().to_vec(),
        None => b"collect".to_vec(),
    };
    let ex = opt_int(lua, args, 2, 0)?;
    let kb = lua.used_memory() as f64 / 1024.0;
    match &opt[..] {
        b"collect" => {
            if lua.gc_inhibit == 0 {
                lua.full_gc();
            }
            Ok(vec![Value::Num(0.0)])
        }
        b"count" => Ok(vec![Value::Num(kb)]),
        b"step" => {
            if lua.gc_inhibit == 0 {
                lua.full_gc();
            }
            // A step of size 0 does not finish a cycle in Lua 5.1 (what Redis prints).
            Ok(vec![Value::Bool(ex > 0)])
        }
        b"stop" => {
            lua.heap.stopped = true;
            Ok(vec![Value::Num(0.0)])
        }
        b"restart" => {
            lua.heap.stopped = false;
            Ok(vec![Value::Num(0.0)])
        }
        b"setpause" => {
            let old = lua.heap.pause;
            lua.heap.pause = ex.clamp(0, u32::MAX as i64) as u32;
            Ok(vec![Value::Num(old as f64)])
        }
        b"setstepmul" => {
            let old = lua.heap.stepmul;
            lua.heap.stepmul = ex.clamp(0, u32::MAX as i64) as u32;
            Ok(vec![Value::Num(old as f64)])
        }
        _ => {
            let o = String::from_utf8_lossy(&opt).into_owned();
            Err(arg_error(lua, 1, &format!("invalid option '{}'", o)))
        }
    }
}

fn b_gcinfo(lua: &mut Lua, _: &mut dyn Host, _: &[Value]) -> R {
    Ok(vec![Value::Num((lua.used_memory() / 1024) as f64)])
}

fn b_error(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let v = arg(args, 1);
    let level = opt_int(lua, args, 2, 1)?;
    if let Some(s) = lua.to_bytes(&v) {
        if level > 0 {
            if let Some((src, line)) = lua.where_(level as u32) {
                let mut b = format!("{}:{}: ", src, line).into_bytes();
                b.extend_from_slice(&s);
                let value = lua.string(&b);
                return Err(Error::value(value));
            }
        }
    }
    Err(Error::value(v))
}

/// The function at `level` (0 = none/global, 1 = caller of the native) or given.
fn env_target(lua: &mut Lua, args: &[Value], default_level: i64) -> Result<Option<u32>, Error> {
    match args.first() {
        Some(Value::Function(f)) => Ok(Some(f.0)),
        _ => {
            let level = opt_int(lua, args, 1, default_level)?;
            if level < 0 {
                return Err(arg_error(lua, 1, "level must be non-negative"));
            }
            if level == 0 {
                return Ok(None);
            }
            let n = lua.frames.len();
            if level as usize >= n {
                return Err(arg_error(lua, 1, "invalid level"));
            }
            Ok(Some(lua.frames[n - 1 - level as usize].closure))
        }
    }
}

fn b_getfenv(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let env = match env_target(lua, args, 1)? {
        Some(f) => match lua.heap.funcs.get(f) {
            FuncObj::Lua(l) => l.env,
            _ => lua.globals,
        },
        None => lua.globals,
    };
    Ok(vec![Value::Table(Table(env))])
}

fn b_setfenv(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = match args.get(1) {
        Some(Value::Table(t)) => t.0,
        _ => return Err(type_err(lua, args, 2, "table")),
    };
    if let Some(Value::Num(n)) = args.first() {
        if *n == 0.0 {
            lua.globals = t;
            return Ok(vec![]);
        }
    }
    let f = env_target(lua, args, 1)?;
    match f {
        Some(f) => match lua.heap.funcs.get_mut(f) {
            FuncObj::Lua(l) => {
                l.env = t;
                for fr in lua.frames.iter_mut().filter(|fr| fr.closure == f) {
                    fr.env = t;
                }
                Ok(vec![Value::Function(super::Function(f))])
            }
            _ => Err(lua.error_here(1, "'setfenv' cannot change environment of given object")),
        },
        None => Ok(vec![]),
    }
}

fn b_getmetatable(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let v = check_any(lua, args, 1)?;
    match lua.meta_of(&v) {
        None => Ok(vec![Value::Nil]),
        Some(m) => {
            let protected = lua.heap.tables.get(m).get_str(b"__metatable");
            if !protected.is_nil() {
                Ok(vec![protected])
            } else {
                Ok(vec![Value::Table(Table(m))])
            }
        }
    }
}

fn b_setmetatable(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let mt = match args.get(1) {
        Some(Value::Nil) => None,
        Some(Value::Table(m)) => Some(m.0),
        _ => return Err(arg_error(lua, 2, "nil or table expected")),
    };
    if let Some(old) = lua.heap.tables.get(t).meta {
        if !lua.heap.tables.get(old).get_str(b"__metatable").is_nil() {
            return Err(lua.error_here(1, "cannot change a protected metatable"));
        }
    }
    if lua.heap.tables.get(t).readonly {
        return Err(lua.rt_error("Attempt to modify a readonly table"));
    }
    lua.heap.tables.get_mut(t).meta = mt;
    Ok(vec![args[0].clone()])
}

fn b_ipairs_aux(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let i = check_int(lua, args, 2)? + 1;
    let v = lua.heap.tables.get(t).get_int(i);
    if v.is_nil() {
        Ok(vec![Value::Nil])
    } else {
        Ok(vec![Value::Num(i as f64), v])
    }
}

fn b_ipairs(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    check_table(lua, args, 1)?;
    let f = Value::Function(super::Function(lua.inext_fn));
    Ok(vec![f, args[0].clone(), Value::Num(0.0)])
}

fn b_next(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let k = arg(args, 2);
    match lua.heap.tables.get(t).next(&k) {
        Ok(Some((k, v))) => Ok(vec![k, v]),
        Ok(None) => Ok(vec![Value::Nil]),
        Err(()) => Err(Error::msg(lua, "invalid key to 'next'")),
    }
}

fn b_pairs(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    check_table(lua, args, 1)?;
    let f = Value::Function(super::Function(lua.next_fn));
    Ok(vec![f, args[0].clone(), Value::Nil])
}

fn load_result(lua: &mut Lua, r: Result<Value, String>) -> R {
    match r {
        Ok(f) => Ok(vec![f]),
        Err(m) => {
            let m = lua.string(m.as_bytes());
            Ok(vec![Value::Nil, m])
        }
    }
}

fn b_loadstring(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let s = check_str(lua, args, 1)?;
    let name = match opt_str(lua, args, 2)? {
        Some(n) => String::from_utf8_lossy(n.as_bytes()).into_owned(),
        None => String::from_utf8_lossy(s.as_bytes()).into_owned(),
    };
    let r = lua.load(s.as_bytes(), &name);
    load_result(lua, r)
}

fn b_load(lua: &mut Lua, host: &mut dyn Host, args: &[Value]) -> R {
    let f = match args.first() {
        Some(f @ Value::Function(_)) => f.clone(),
        _ => return Err(type_err(lua, args, 1, "function")),
    };
    let name = match opt_str(lua, args, 2)? {
        Some(n) => String::from_utf8_lossy(n.as_bytes()).into_owned(),
        None => "=(load)".to_string(),
    };
    let mut src = Vec::new();
    loop {
        let r = lua.call_value(&f, &[], host)?;
        match r.into_iter().next() {
            None | Some(Value::Nil) => break,
            Some(Value::Str(s)) => {
                if s.as_bytes().is_empty() {
                    break;
                }
                src.extend_from_slice(s.as_bytes());
            }
            Some(_) => {
                let m = lua.string(b"reader function must return a string");
                return Ok(vec![Value::Nil, m]);
            }
        }
    }
    let r = lua.load(&src, &name);
    load_result(lua, r)
}

fn b_newproxy(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let meta = match args.first() {
        Some(Value::Bool(true)) => {
            let t = lua.heap.new_table(0, 0);
            Some(t)
        }
        Some(Value::UserData(u)) => lua.heap.udata.get(u.0).meta,
        None | Some(Value::Nil) | Some(Value::Bool(false)) => None,
        _ => return Err(arg_error(lua, 1, "boolean or proxy expected")),
    };
    let id = lua.heap.udata.alloc(UdObj { meta });
    Ok(vec![Value::UserData(UserData(id))])
}

fn b_pcall(lua: &mut Lua, host: &mut dyn Host, args: &[Value]) -> R {
    let f = check_any(lua, args, 1)?;
    match lua.call_value(&f, &args[1..], host) {
        Ok(mut v) => {
            v.insert(0, Value::Bool(true));
            Ok(v)
        }
        Err(e) if !e.fatal => Ok(vec![Value::Bool(false), e.value]),
        Err(e) => Err(e),
    }
}

fn b_xpcall(lua: &mut Lua, host: &mut dyn Host, args: &[Value]) -> R {
    let f = arg(args, 1);
    let h = arg(args, 2);
    match lua.call_value(&f, &[], host) {
        Ok(mut v) => {
            v.insert(0, Value::Bool(true));
            Ok(v)
        }
        Err(e) if !e.fatal => match lua.call_value(&h, &[e.value], host) {
            Ok(r) => Ok(vec![
                Value::Bool(false),
                r.into_iter().next().unwrap_or_default(),
            ]),
            Err(e2) if e2.fatal => Err(e2),
            Err(_) => {
                let m = lua.string(b"error in error handling");
                Ok(vec![Value::Bool(false), m])
            }
        },
        Err(e) => Err(e),
    }
}

fn b_rawequal(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let a = check_any(lua, args, 1)?;
    let b = check_any(lua, args, 2)?;
    Ok(vec![Value::Bool(raw_eq(&a, &b))])
}

fn b_rawget(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let k = check_any(lua, args, 2)?;
    Ok(vec![lua.heap.tables.get(t).get(&k)])
}

fn b_rawset(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let k = check_any(lua, args, 2)?;
    let v = check_any(lua, args, 3)?;
    lua.table_set_raw(t, k, v, false)?;
    Ok(vec![args[0].clone()])
}

fn b_select(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let n = args.len() as i64 - 1;
    if let Some(Value::Str(s)) = args.first() {
        if s.as_bytes().first() == Some(&b'#') {
            return Ok(vec![Value::Num(n as f64)]);
        }
    }
    let n = n + 1;
    let mut i = check_int(lua, args, 1)?;
    if i < 0 {
        i += n;
    } else if i > n {
        i = n;
    }
    if i < 1 {
        return Err(arg_error(lua, 1, "index out of range"));
    }
    Ok(args[i as usize..].to_vec())
}

fn b_tonumber(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let base = opt_int(lua, args, 2, 10)?;
    if base == 10 {
        let v = check_any(lua, args, 1)?;
        return Ok(vec![match lua.to_number(&v) {
            Some(n) => Value::Num(n),
            None => Value::Nil,
        }]);
    }
    let s = check_str(lua, args, 1)?;
    if !(2..=36).contains(&base) {
        return Err(arg_error(lua, 2, "base out of range"));
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let neg = if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
        b[i - 1] == b'-'
    } else {
        false
    };
    let start = i;
    let mut n: u64 = 0;
    while i < b.len() {
        let d = match (b[i] as char).to_digit(36) {
            Some(d) if (d as i64) < base => d,
            _ => break,
        };
        n = n.wrapping_mul(base as u64).wrapping_add(d as u64);
        i += 1;
    }
    if i == start {
        return Ok(vec![Value::Nil]);
    }
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    if i != b.len() {
        return Ok(vec![Value::Nil]);
    }
    let v = if neg {
        (n as i64).wrapping_neg() as u64
    } else {
        n
    };
    Ok(vec![Value::Num(v as f64)])
}

fn b_tostring(lua: &mut Lua, host: &mut dyn Host, args: &[Value]) -> R {
    let v = check_any(lua, args, 1)?;
    Ok(vec![tostring(lua, host, &v)?])
}

fn b_type(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let v = match args.first() {
        Some(v) => v.clone(),
        None => return Err(arg_error(lua, 1, "value expected")),
    };
    Ok(vec![lua.string(type_name(&v).as_bytes())])
}

fn b_unpack(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let i = opt_int(lua, args, 2, 1)?;
    let j = match args.get(2) {
        None | Some(Value::Nil) => lua.heap.tables.get(t).len() as i64,
        _ => check_int(lua, args, 3)?,
    };
    if i > j {
        return Ok(vec![]);
    }
    let n = (j as i128 - i as i128) + 1;
    if n >= 8000 {
        return Err(lua.error_here(1, "too many results to unpack"));
    }
    let tb = lua.heap.tables.get(t);
    Ok((i..=j).map(|k| tb.get_int(k)).collect())
}

// ---- coroutines ------------------------------------------------------------------------

fn check_co(lua: &mut Lua, args: &[Value], n: usize) -> Result<u32, Error> {
    match args.get(n - 1) {
        Some(Value::Thread(t)) => Ok(t.0),
        _ => Err(arg_error(lua, n, "coroutine expected")),
    }
}

fn co_create(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let ok = match args.first() {
        Some(Value::Function(f)) => matches!(lua.heap.funcs.get(f.0), FuncObj::Lua(_)),
        _ => false,
    };
    if !ok {
        return Err(arg_error(lua, 1, "Lua function expected"));
    }
    let co = Coroutine {
        func: args[0].clone(),
        ..Default::default()
    };
    lua.heap.debt += 256;
    let id = lua.heap.threads.alloc(co);
    Ok(vec![Value::Thread(Thread(id))])
}

fn co_resume(lua: &mut Lua, host: &mut dyn Host, args: &[Value]) -> R {
    let co = check_co(lua, args, 1)?;
    match lua.resume(co, &args[1..], host)? {
        Ok(mut v) => {
            v.insert(0, Value::Bool(true));
            Ok(v)
        }
        Err(e) => Ok(vec![Value::Bool(false), e]),
    }
}

fn co_running(lua: &mut Lua, _: &mut dyn Host, _: &[Value]) -> R {
    if lua.cur_thread == super::vm::MAIN {
        Ok(vec![Value::Nil])
    } else {
        Ok(vec![Value::Thread(Thread(lua.cur_thread))])
    }
}

fn co_status(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let co = check_co(lua, args, 1)?;
    let s: &[u8] = if co == lua.cur_thread {
        b"running"
    } else {
        match lua.heap.threads.get(co).status {
            CoStatus::Fresh | CoStatus::Suspended => b"suspended",
            CoStatus::Normal | CoStatus::Running => b"normal",
            CoStatus::Dead => b"dead",
        }
    };
    Ok(vec![lua.string(s)])
}

fn co_wrap_aux(lua: &mut Lua, host: &mut dyn Host, args: &[Value]) -> R {
    let co = match lua.native_upvals().first() {
        Some(Value::Thread(t)) => t.0,
        _ => return Ok(vec![]),
    };
    match lua.resume(co, args, host)? {
        Ok(v) => Ok(v),
        Err(e) => {
            if let Value::Str(s) = &e {
                if let Some((src, line)) = lua.where_(1) {
                    let mut b = format!("{}:{}: ", src, line).into_bytes();
                    b.extend_from_slice(s.as_bytes());
                    let value = lua.string(&b);
                    return Err(Error::value(value));
                }
            }
            Err(Error::value(e))
        }
    }
}

fn co_wrap(lua: &mut Lua, host: &mut dyn Host, args: &[Value]) -> R {
    let co = co_create(lua, host, args)?;
    Ok(vec![lua.native_with("wrap", co_wrap_aux, co, NKind::Safe)])
}

fn co_yield(_: &mut Lua, _: &mut dyn Host, _: &[Value]) -> R {
    Ok(vec![])
}

pub(crate) fn open(lua: &mut Lua) {
    let g = lua.globals();
    reg(lua, &g, "assert", b_assert);
    reg_kind(lua, &g, "collectgarbage", b_collectgarbage, NKind::Safe);
    reg(lua, &g, "error", b_error);
    reg(lua, &g, "gcinfo", b_gcinfo);
    reg(lua, &g, "getfenv", b_getfenv);
    reg(lua, &g, "getmetatable", b_getmetatable);
    reg(lua, &g, "ipairs", b_ipairs);
    reg(lua, &g, "load", b_load);
    reg(lua, &g, "loadstring", b_loadstring);
    let next = reg_kind(lua, &g, "next", b_next, NKind::Normal);
    if let Value::Function(f) = &next {
        lua.next_fn = f.0;
    }
    let inext = lua.native("ipairs_aux", b_ipairs_aux);
    if let Value::Function(f) = &inext {
        lua.inext_fn = f.0;
    }
    lua.registry_set("_ipairs_aux", inext);
    reg(lua, &g, "newproxy", b_newproxy);
    reg(lua, &g, "pairs", b_pairs);
    reg_kind(lua, &g, "pcall", b_pcall, NKind::Safe);
    reg(lua, &g, "rawequal", b_rawequal);
    reg(lua, &g, "rawget", b_rawget);
    reg(lua, &g, "rawset", b_rawset);
    reg(lua, &g, "select", b_select);
    reg(lua, &g, "setfenv", b_setfenv);
    reg(lua, &g, "setmetatable", b_setmetatable);
    reg(lua, &g, "tonumber", b_tonumber);
    reg(lua, &g, "tostring", b_tostring);
    reg(lua, &g, "type", b_type);
    reg(lua, &g, "unpack", b_unpack);
    reg_kind(lua, &g, "xpcall", b_xpcall, NKind::Safe);
    let _ = lua.set_field(&g, "_G", g.clone());
    let ver = lua.string(b"Lua 5.1");
    let _ = lua.set_field(&g, "_VERSION", ver);

    let co = lua.create_table(0, 8);
    reg(lua, &co, "create", co_create);
    reg_kind(lua, &co, "resume", co_resume, NKind::Safe);
    reg(lua, &co, "running", co_running);
    reg(lua, &co, "status", co_status);
    reg(lua, &co, "wrap", co_wrap);
    reg_kind(lua, &co, "yield", co_yield, NKind::Yield);
    let _ = lua.set_field(&g, "coroutine", co);
}
