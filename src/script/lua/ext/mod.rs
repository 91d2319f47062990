//! The libraries Redis 7.0 adds to its Lua state: `cjson`, `cmsgpack`, `bit` and
//! `struct` (Redis's deps/lua/src/lua_cjson.c, lua_cmsgpack.c, lua_bit.c, lua_struct.c).
//!
//! Each codec is pure and tested alone ([`json`], [`msgpack`], [`bit`], [`structs`]);
//! this file is the glue: [`open`] builds the global tables, and each native function
//! checks its arguments as the C function does (same order, same `bad argument` texts),
//! converts Lua values to and from the codec's forms, and raises the codec's errors with
//! the caller's position, as `luaL_error` does.
//!
//! # Where state lives
//!
//! Native functions have no upvalues, so what the C libraries keep in upvalues lives in
//! the registry:
//! - `cjson.null` is one userdata, kept under [`NULL_KEY`]; a table under [`NULL_SET_KEY`]
//!   maps it to true, which is how values are compared with it (`raw_get`).
//! - cjson's settings (`encode_max_depth`, ...) are a table of numbers under
//!   [`CJSON_CONFIG_KEY`]. They last as long as the state, as in Redis, where one script
//!   can change them for the next ones.
//!
//! # Known differences, and what they need from the interpreter
//!
//! - `cjson.new()` returns a fresh module table, but its functions share the one settings
//!   table (Redis gives each instance its own settings through an upvalue). Giving it its
//!   own settings needs natives with upvalues.
//! - `bad argument #n to 'f'` names the function as the library registers it (`encode`,
//!   `unpack`, ...). Lua names it from the call site: `?` when `pcall` calls it directly,
//!   the local's name after `local f = cjson.encode`. `arg_error` is the one place to
//!   change once the interpreter can name the caller.
//! - Which error comes first, the order of an object's keys in `cjson.encode`, and the
//!   order of a map's entries in `cmsgpack.pack` follow `next`: they match Redis byte for
//!   byte when the interpreter iterates tables in Lua 5.1's order (array part, then hash
//!   nodes). A table with a key too large for a C int is even encoded as an array or an
//!   object depending on that order, as in Redis.
//!
//! A differential run (16,000 random inputs for decode/encode, unpack/pack, struct and
//! numbers, against Redis 7.0.15 through a throwaway mock of the interpreter surface)
//! found no other difference.

use super::{Error, Host, Lua, Value};

pub mod bit;
pub mod json;
pub mod msgpack;
pub mod structs;

/// Registry key of `cjson.null`.
pub const NULL_KEY: &str = "redlite.ext.null";
/// Registry key of the table `{[cjson.null] = true}`.
pub const NULL_SET_KEY: &str = "redlite.ext.nullset";
/// Registry key of cjson's settings.
pub const CJSON_CONFIG_KEY: &str = "redlite.ext.cjson";

/// What an encoder sees of a Lua value.
#[derive(Debug)]
pub enum View<'a> {
    Nil,
    /// `cjson.null`.
    Null,
    Bool(bool),
    Num(f64),
    Str(&'a [u8]),
    Table,
    /// Anything else (function, userdata, thread): its `type()` name.
    Other(&'static str),
}

impl View<'_> {
    /// The name `lua_typename` gives the value, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            View::Nil => "nil",
            View::Null => "userdata",
            View::Bool(_) => "boolean",
            View::Num(_) => "number",
            View::Str(_) => "string",
            View::Table => "table",
            View::Other(name) => name,
        }
    }
}

/// Read access to a graph of Lua values, as the C libraries read the Lua stack: the glue
/// implements it over the interpreter, the codecs' tests over small trees.
pub trait Source {
    /// A value (a table is a handle).
    type V: Clone;
    /// What kind of value `v` is.
    fn view<'a>(&self, v: &'a Self::V) -> View<'a>;
    /// `next(t, k)` (None starts), in the table's own order.
    fn next(&self, t: &Self::V, k: Option<&Self::V>) -> Option<(Self::V, Self::V)>;
    /// `rawget(t, i)`.
    fn index(&self, t: &Self::V, i: usize) -> Self::V;
}

// ===== The glue =====

/// Adds the globals `cjson`, `cmsgpack`, `bit` and `struct` to `lua`.
pub fn open(lua: &mut Lua) {
    let null = lua.new_userdata();
    lua.registry_set(NULL_KEY, null.clone());
    let set = lua.create_table(0, 1);
    let _ = lua.raw_set(&set, null, Value::Bool(true));
    lua.registry_set(NULL_SET_KEY, set);
    let config = lua.create_table(0, 9);
    store_config(lua, &config, &json::Config::default());
    lua.registry_set(CJSON_CONFIG_KEY, config);

    let cjson = cjson_table(lua);
    lua.set_global("cjson", cjson);

    let cmsgpack = lua.create_table(0, 8);
    let natives: [(&'static str, super::NativeFn); 4] = [
        ("pack", mp_pack),
        ("unpack", mp_unpack),
        ("unpack_one", mp_unpack_one),
        ("unpack_limit", mp_unpack_limit),
    ];
    set_natives(lua, &cmsgpack, &natives);
    let meta = [
        ("_NAME", "cmsgpack"),
        ("_VERSION", "lua-cmsgpack 0.4.0"),
        ("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo"),
        ("_DESCRIPTION", "MessagePack C implementation for Lua"),
    ];
    set_strings(lua, &cmsgpack, &meta);
    lua.set_global("cmsgpack", cmsgpack);

    let bit = lua.create_table(0, 12);
    let natives: [(&'static str, super::NativeFn); 12] = [
        ("tobit", bit_tobit),
        ("bnot", bit_bnot),
        ("band", bit_band),
        ("bor", bit_bor),
        ("bxor", bit_bxor),
        ("lshift", bit_lshift),
        ("rshift", bit_rshift),
        ("arshift", bit_arshift),
        ("rol", bit_rol),
        ("ror", bit_ror),
        ("bswap", bit_bswap),
        ("tohex", bit_tohex),
    ];
    set_natives(lua, &bit, &natives);
    lua.set_global("bit", bit);

    let st = lua.create_table(0, 3);
    let natives: [(&'static str, super::NativeFn); 3] =
        [("pack", st_pack), ("unpack", st_unpack), ("size", st_size)];
    set_natives(lua, &st, &natives);
    lua.set_global("struct", st);
}

fn set_natives(lua: &mut Lua, t: &Value, natives: &[(&'static str, super::NativeFn)]) {
    for &(name, f) in natives {
        let v = lua.native(name, f);
        // A fresh table accepts every field.
        let _ = lua.set_field(t, name, v);
    }
}

fn set_strings(lua: &mut Lua, t: &Value, fields: &[(&str, &str)]) {
    for &(name, text) in fields {
        let v = lua.string(text.as_bytes());
        let _ = lua.set_field(t, name, v);
    }
}

// ----- Arguments, as lauxlib checks them -----

/// `luaL_argerror`: `bad argument #n to 'fname' (msg)`, with the caller's position.
fn arg_error(lua: &mut Lua, n: usize, fname: &str, msg: &str) -> Error {
    lua.error_here(1, &format!("bad argument #{n} to '{fname}' ({msg})"))
}

/// `luaL_typename` of argument `n` (1-based): "no value" past the end.
fn arg_type(args: &[Value], n: usize) -> &'static str {
    args.get(n - 1).map_or("no value", Lua::type_name)
}

/// `luaL_typerror`: `<expected> expected, got <type>`.
fn type_error(lua: &mut Lua, args: &[Value], n: usize, fname: &str, expected: &str) -> Error {
    let msg = format!("{expected} expected, got {}", arg_type(args, n));
    arg_error(lua, n, fname, &msg)
}

/// `luaL_checknumber`.
fn check_number(lua: &mut Lua, args: &[Value], n: usize, fname: &str) -> Result<f64, Error> {
    match args.get(n - 1).and_then(|v| lua.to_number(v)) {
        Some(x) => Ok(x),
        None => Err(type_error(lua, args, n, fname, "number")),
    }
}

/// A double converted to `lua_Integer` as x86-64 does (out of range: the minimum).
fn to_integer(x: f64) -> i64 {
    if (i64::MIN as f64..-(i64::MIN as f64)).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

/// `luaL_checkinteger`.
fn check_integer(lua: &mut Lua, args: &[Value], n: usize, fname: &str) -> Result<i64, Error> {
    check_number(lua, args, n, fname).map(to_integer)
}

/// `luaL_optinteger`: the default when the argument is absent or nil.
fn opt_integer(
    lua: &mut Lua,
    args: &[Value],
    n: usize,
    fname: &str,
    default: i64,
) -> Result<i64, Error> {
    match args.get(n - 1) {
        None | Some(Value::Nil) => Ok(default),
        Some(_) => check_integer(lua, args, n, fname),
    }
}

/// `luaL_checklstring`: strings, and numbers converted.
fn check_bytes(lua: &mut Lua, args: &[Value], n: usize, fname: &str) -> Result<Vec<u8>, Error> {
    match args.get(n - 1).and_then(|v| lua.to_bytes(v)) {
        Some(b) => Ok(b),
        None => Err(type_error(lua, args, n, fname, "string")),
    }
}

/// A `luaL_error` from a codec: the message with the caller's position.
fn raise(lua: &mut Lua, msg: &str) -> Error {
    lua.error_here(1, msg)
}

fn num(n: f64) -> Value {
    Value::Num(n)
}

// ----- Reading Lua values for the encoders -----

/// The interpreter seen through [`Source`].
struct LuaSource<'a> {
    lua: &'a Lua,
    null_set: Value,
}

impl<'a> LuaSource<'a> {
    fn new(lua: &'a mut Lua) -> LuaSource<'a> {
        let null_set = lua.registry_get(NULL_SET_KEY);
        LuaSource { lua, null_set }
    }
}

impl Source for LuaSource<'_> {
    type V = Value;

    fn view<'a>(&self, v: &'a Value) -> View<'a> {
        match v {
            Value::Nil => View::Nil,
            Value::Bool(b) => View::Bool(*b),
            Value::Num(n) => View::Num(*n),
            Value::Str(s) => View::Str(s.as_bytes()),
            Value::Table(_) => View::Table,
            Value::Function(_) => View::Other("function"),
            Value::Thread(_) => View::Other("thread"),
            Value::UserData(_) => match self.lua.raw_get(&self.null_set, v) {
                Value::Bool(true) => View::Null,
                _ => View::Other("userdata"),
            },
        }
    }

    fn next(&self, t: &Value, k: Option<&Value>) -> Option<(Value, Value)> {
        self.lua.next(t, k.unwrap_or(&Value::Nil)).ok().flatten()
    }

    fn index(&self, t: &Value, i: usize) -> Value {
        self.lua.raw_get(t, &Value::Num(i as f64))
    }
}

// ----- cjson -----

/// A new cjson module table (`cjson` itself, and what `cjson.new()` returns).
fn cjson_table(lua: &mut Lua) -> Value {
    let t = lua.create_table(0, 14);
    let natives: [(&'static str, super::NativeFn); 10] = [
        ("encode", json_encode),
        ("decode", json_decode),
        ("encode_sparse_array", json_encode_sparse_array),
        ("encode_max_depth", json_encode_max_depth),
        ("decode_max_depth", json_decode_max_depth),
        ("encode_number_precision", json_encode_number_precision),
        ("encode_keep_buffer", json_encode_keep_buffer),
        ("encode_invalid_numbers", json_encode_invalid_numbers),
        ("decode_invalid_numbers", json_decode_invalid_numbers),
        ("new", json_new),
    ];
    set_natives(lua, &t, &natives);
    let null = lua.registry_get(NULL_KEY);
    let _ = lua.set_field(&t, "null", null);
    set_strings(lua, &t, &[("_NAME", "cjson"), ("_VERSION", "2.1.0")]);
    t
}

fn load_config(lua: &mut Lua) -> json::Config {
    let t = lua.registry_get(CJSON_CONFIG_KEY);
    let d = json::Config::default();
    let mut int = |name: &str, default: i32| match lua.get_field(&t, name) {
        Value::Num(n) => n as i32,
        _ => default,
    };
    json::Config {
        sparse_convert: int("sparse_convert", d.sparse_convert as i32) != 0,
        sparse_ratio: int("sparse_ratio", d.sparse_ratio),
        sparse_safe: int("sparse_safe", d.sparse_safe),
        encode_max_depth: int("encode_max_depth", d.encode_max_depth),
        decode_max_depth: int("decode_max_depth", d.decode_max_depth),
        encode_invalid_numbers: int("encode_invalid_numbers", d.encode_invalid_numbers),
        encode_number_precision: int("encode_number_precision", d.encode_number_precision),
        encode_keep_buffer: int("encode_keep_buffer", d.encode_keep_buffer as i32) != 0,
        decode_invalid_numbers: int("decode_invalid_numbers", d.decode_invalid_numbers as i32) != 0,
    }
}

fn store_config(lua: &mut Lua, t: &Value, c: &json::Config) {
    let fields = [
        ("sparse_convert", c.sparse_convert as i32),
        ("sparse_ratio", c.sparse_ratio),
        ("sparse_safe", c.sparse_safe),
        ("encode_max_depth", c.encode_max_depth),
        ("decode_max_depth", c.decode_max_depth),
        ("encode_invalid_numbers", c.encode_invalid_numbers),
        ("encode_number_precision", c.encode_number_precision),
        ("encode_keep_buffer", c.encode_keep_buffer as i32),
        ("decode_invalid_numbers", c.decode_invalid_numbers as i32),
    ];
    for (name, v) in fields {
        let _ = lua.set_field(t, name, Value::Num(v as f64));
    }
}

fn save_config(lua: &mut Lua, c: &json::Config) {
    let t = lua.registry_get(CJSON_CONFIG_KEY);
    store_config(lua, &t, c);
}

/// `cjson.encode(value)`: the JSON text.
fn json_encode(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    let cfg = load_config(lua);
    if args.len() != 1 {
        return Err(arg_error(lua, 1, "encode", "expected 1 argument"));
    }
    let result = json::encode(&LuaSource::new(lua), &cfg, &args[0]);
    match result {
        Ok(text) => Ok(vec![lua.string(&text)]),
        Err(e) => Err(raise(lua, &e.0)),
    }
}

/// `cjson.decode(text)`: the value (JSON null is `cjson.null`).
fn json_decode(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    if args.len() != 1 {
        return Err(arg_error(lua, 1, "decode", "expected 1 argument"));
    }
    let cfg = load_config(lua);
    let text = check_bytes(lua, args, 1, "decode")?;
    let events = match json::decode(&text, &cfg) {
        Ok(events) => events,
        Err(e) => return Err(raise(lua, &e.0)),
    };
    let null = lua.registry_get(NULL_KEY);
    // Open tables: the table, the next array index (0 for objects) and an object's
    // pending key.
    let mut stack: Vec<(Value, usize, Option<Value>)> = Vec::new();
    let mut result = Value::Nil;
    // Short strings seen recently (object keys repeat): equal strings share one value,
    // as Lua's interned strings do, instead of one allocation each.
    let mut recent: Vec<Value> = vec![Value::Nil; 256];
    for event in events {
        let value = match event {
            json::Event::Str(s) if s.len() <= 32 => {
                let slot = &mut recent[crate::script::lua::value::hash_bytes(&s) as usize & 255];
                match slot {
                    Value::Str(v) if v.as_bytes() == &s[..] => slot.clone(),
                    _ => {
                        let v = lua.string(&s);
                        *slot = v.clone();
                        v
                    }
                }
            }
            json::Event::Str(s) => lua.string(&s),
            json::Event::Num(n) => Value::Num(n),
            json::Event::Bool(b) => Value::Bool(b),
            json::Event::Null => null.clone(),
            json::Event::ArrayBegin | json::Event::ObjectBegin => {
                let t = lua.create_table(0, 0);
                let array = matches!(event, json::Event::ArrayBegin);
                stack.push((t, usize::from(array), None));
                continue;
            }
            json::Event::End => match stack.pop() {
                Some((t, _, _)) => t,
                None => continue,
            },
        };
        let Some((t, index, key)) = stack.last_mut() else {
            result = value;
            continue;
        };
        if *index > 0 {
            lua.raw_set(t, Value::Num(*index as f64), value)?;
            *index += 1;
        } else if let Some(k) = key.take() {
            lua.raw_set(t, k, value)?;
        } else {
            *key = Some(value);
        }
    }
    Ok(vec![result])
}

/// `json_arg_init`: at most `max` arguments.
fn config_args(lua: &mut Lua, args: &[Value], max: usize, fname: &str) -> Result<(), Error> {
    if args.len() > max {
        return Err(arg_error(lua, max + 1, fname, "found too many arguments"));
    }
    Ok(())
}

/// `json_integer_option`: sets `*setting` from argument `n` unless it is nil; the
/// current value.
fn integer_option(
    lua: &mut Lua,
    args: &[Value],
    n: usize,
    fname: &str,
    setting: &mut i32,
    (min, max): (i32, i32),
) -> Result<Value, Error> {
    if !matches!(args.get(n - 1), None | Some(Value::Nil)) {
        // luaL_checkinteger's result lands in a C int.
        let value = check_integer(lua, args, n, fname)? as i32;
        if !(min <= value && value <= max) {
            // The C code names argument 1 whichever it checks.
            let msg = format!("expected integer between {min} and {max}");
            return Err(arg_error(lua, 1, fname, &msg));
        }
        *setting = value;
    }
    Ok(num(*setting as f64))
}

/// `json_enum_option` with `bool_true` = 1: a boolean, or one of `options` by name.
fn enum_option(
    lua: &mut Lua,
    args: &[Value],
    n: usize,
    fname: &str,
    setting: &mut i32,
    options: &[&str],
) -> Result<Value, Error> {
    match args.get(n - 1) {
        None | Some(Value::Nil) => {}
        Some(Value::Bool(b)) => *setting = *b as i32,
        Some(_) => {
            // luaL_checkoption reads a string (numbers converted).
            let name = check_bytes(lua, args, n, fname)?;
            match options.iter().position(|o| o.as_bytes() == name) {
                Some(i) => *setting = i as i32,
                None => {
                    let msg = format!("invalid option '{}'", String::from_utf8_lossy(&name));
                    return Err(arg_error(lua, n, fname, &msg));
                }
            }
        }
    }
    Ok(match *setting {
        0 | 1 => Value::Bool(*setting == 1),
        s => {
            let name = options.get(s as usize).copied().unwrap_or("");
            lua.string(name.as_bytes())
        }
    })
}

const ON_OFF: &[&str] = &["off", "on"];

/// `cjson.encode_sparse_array([convert [, ratio [, safe]]])`: the three settings.
fn json_encode_sparse_array(
    lua: &mut Lua,
    _: &mut dyn Host,
    args: &[Value],
) -> Result<Vec<Value>, Error> {
    let name = "encode_sparse_array";
    config_args(lua, args, 3, name)?;
    let mut cfg = load_config(lua);
    let mut convert = cfg.sparse_convert as i32;
    let a = enum_option(lua, args, 1, name, &mut convert, ON_OFF);
    cfg.sparse_convert = convert != 0;
    save_config(lua, &cfg);
    let a = a?;
    let b = integer_option(lua, args, 2, name, &mut cfg.sparse_ratio, (0, i32::MAX));
    save_config(lua, &cfg);
    let b = b?;
    let c = integer_option(lua, args, 3, name, &mut cfg.sparse_safe, (0, i32::MAX));
    save_config(lua, &cfg);
    Ok(vec![a, b, c?])
}

/// The integer settings: which, and their range.
fn int_setting(
    lua: &mut Lua,
    args: &[Value],
    name: &str,
    field: fn(&mut json::Config) -> &mut i32,
    range: (i32, i32),
) -> Result<Vec<Value>, Error> {
    config_args(lua, args, 1, name)?;
    let mut cfg = load_config(lua);
    let v = integer_option(lua, args, 1, name, field(&mut cfg), range)?;
    save_config(lua, &cfg);
    Ok(vec![v])
}

/// `cjson.encode_max_depth([depth])`.
fn json_encode_max_depth(
    lua: &mut Lua,
    _: &mut dyn Host,
    a: &[Value],
) -> Result<Vec<Value>, Error> {
    int_setting(
        lua,
        a,
        "encode_max_depth",
        |c| &mut c.encode_max_depth,
        (1, i32::MAX),
    )
}

/// `cjson.decode_max_depth([depth])`.
fn json_decode_max_depth(
    lua: &mut Lua,
    _: &mut dyn Host,
    a: &[Value],
) -> Result<Vec<Value>, Error> {
    int_setting(
        lua,
        a,
        "decode_max_depth",
        |c| &mut c.decode_max_depth,
        (1, i32::MAX),
    )
}

/// `cjson.encode_number_precision([digits])`.
fn json_encode_number_precision(
    lua: &mut Lua,
    _: &mut dyn Host,
    a: &[Value],
) -> Result<Vec<Value>, Error> {
    let name = "encode_number_precision";
    int_setting(lua, a, name, |c| &mut c.encode_number_precision, (1, 14))
}

/// The settings taking on/off (and for one, "null").
#[derive(Clone, Copy)]
enum Switch {
    KeepBuffer,
    EncodeInvalid,
    DecodeInvalid,
}

impl Switch {
    fn name(self) -> &'static str {
        match self {
            Switch::KeepBuffer => "encode_keep_buffer",
            Switch::EncodeInvalid => "encode_invalid_numbers",
            Switch::DecodeInvalid => "decode_invalid_numbers",
        }
    }

    fn options(self) -> &'static [&'static str] {
        match self {
            Switch::EncodeInvalid => &["off", "on", "null"],
            _ => ON_OFF,
        }
    }

    fn get(self, c: &json::Config) -> i32 {
        match self {
            Switch::KeepBuffer => c.encode_keep_buffer as i32,
            Switch::EncodeInvalid => c.encode_invalid_numbers,
            Switch::DecodeInvalid => c.decode_invalid_numbers as i32,
        }
    }

    fn set(self, c: &mut json::Config, v: i32) {
        match self {
            Switch::KeepBuffer => c.encode_keep_buffer = v != 0,
            Switch::EncodeInvalid => c.encode_invalid_numbers = v,
            Switch::DecodeInvalid => c.decode_invalid_numbers = v != 0,
        }
    }
}

fn switch_setting(lua: &mut Lua, args: &[Value], which: Switch) -> Result<Vec<Value>, Error> {
    config_args(lua, args, 1, which.name())?;
    let mut cfg = load_config(lua);
    let mut setting = which.get(&cfg);
    let v = enum_option(lua, args, 1, which.name(), &mut setting, which.options())?;
    which.set(&mut cfg, setting);
    save_config(lua, &cfg);
    Ok(vec![v])
}

/// `cjson.encode_keep_buffer([on])`: kept for compatibility; no effect on results.
fn json_encode_keep_buffer(
    lua: &mut Lua,
    _: &mut dyn Host,
    a: &[Value],
) -> Result<Vec<Value>, Error> {
    switch_setting(lua, a, Switch::KeepBuffer)
}

/// `cjson.encode_invalid_numbers([on|off|"null"])`.
fn json_encode_invalid_numbers(
    lua: &mut Lua,
    _: &mut dyn Host,
    a: &[Value],
) -> Result<Vec<Value>, Error> {
    switch_setting(lua, a, Switch::EncodeInvalid)
}

/// `cjson.decode_invalid_numbers([on])`.
fn json_decode_invalid_numbers(
    lua: &mut Lua,
    _: &mut dyn Host,
    a: &[Value],
) -> Result<Vec<Value>, Error> {
    switch_setting(lua, a, Switch::DecodeInvalid)
}

/// `cjson.new()`: another module table (sharing the settings, see the module docs).
fn json_new(lua: &mut Lua, _: &mut dyn Host, _: &[Value]) -> Result<Vec<Value>, Error> {
    Ok(vec![cjson_table(lua)])
}

// ----- cmsgpack -----

/// `cmsgpack.pack(v1, ...)`: the values packed one after the other.
fn mp_pack(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    if args.is_empty() {
        return Err(arg_error(lua, 0, "pack", "MessagePack pack needs input."));
    }
    if 2 * args.len() > json::MAX_C_STACK {
        let msg = "Too many arguments for MessagePack pack.";
        return Err(arg_error(lua, 0, "pack", msg));
    }
    let mut out = Vec::new();
    let src = LuaSource::new(lua);
    for v in args {
        msgpack::pack(&src, v, &mut out);
    }
    Ok(vec![lua.string(&out)])
}

/// Unpacks and builds the values; `fname` names the function in errors.
fn mp_unpack_full(
    lua: &mut Lua,
    args: &[Value],
    limit: i64,
    offset: i64,
    base: usize,
    fname: &str,
) -> Result<Vec<Value>, Error> {
    let data = check_bytes(lua, args, 1, fname)?;
    let unpacked = match msgpack::unpack(&data, limit, offset, base) {
        Ok(u) => u,
        Err(msgpack::UnpackError::Raise(msg)) => return Err(raise(lua, &msg)),
        Err(msgpack::UnpackError::Plain(msg)) => return Err(Error::msg(lua, msg)),
    };
    let mut results = Vec::with_capacity(unpacked.count + 1);
    if let Some(off) = unpacked.next_offset {
        results.push(num(off as f64));
    }
    // Open tables: the table, values still expected, the next array index (0 for maps)
    // and a map's pending key.
    let mut stack: Vec<(Value, usize, usize, Option<Value>)> = Vec::new();
    for item in unpacked.items {
        let mut value = match item {
            msgpack::Item::Nil => Value::Nil,
            msgpack::Item::Bool(b) => Value::Bool(b),
            msgpack::Item::Num(n) => Value::Num(n),
            msgpack::Item::Str(s) => lua.string(&s),
            msgpack::Item::Array(n) => {
                let t = lua.create_table(n, 0);
                if n > 0 {
                    stack.push((t, n, 1, None));
                    continue;
                }
                t
            }
            msgpack::Item::Map(n) => {
                let t = lua.create_table(0, n);
                if n > 0 {
                    stack.push((t, 2 * n, 0, None));
                    continue;
                }
                t
            }
        };
        // Store the value, closing the tables it completes.
        loop {
            let Some((t, left, index, key)) = stack.last_mut() else {
                results.push(value);
                break;
            };
            if *index > 0 {
                lua.raw_set(t, Value::Num(*index as f64), value)?;
                *index += 1;
            } else if let Some(k) = key.take() {
                lua.raw_set(t, k, value)?;
            } else {
                *key = Some(value);
            }
            *left -= 1;
            if *left > 0 {
                break;
            }
            let Some((t, ..)) = stack.pop() else {
                break;
            };
            value = t;
        }
    }
    Ok(results)
}

/// `cmsgpack.unpack(data)`: every value `data` holds.
fn mp_unpack(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    // The arguments stay on the C function's stack.
    mp_unpack_full(lua, args, 0, 0, args.len().max(1), "unpack")
}

/// `cmsgpack.unpack_one(data [, offset])`: the next offset (-1 at the end) and one value.
fn mp_unpack_one(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    let offset = opt_integer(lua, args, 2, "unpack_one", 0)?;
    mp_unpack_full(lua, args, 1, offset, 1, "unpack_one")
}

/// `cmsgpack.unpack_limit(data, limit [, offset])`: the next offset and up to `limit`
/// values.
fn mp_unpack_limit(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    let limit = check_integer(lua, args, 2, "unpack_limit")?;
    let offset = opt_integer(lua, args, 3, "unpack_limit", 0)?;
    mp_unpack_full(lua, args, limit, offset, 1, "unpack_limit")
}

// ----- bit -----

/// LuaBitOp's `barg`: a number (or numeric string), else a type error.
fn barg(lua: &mut Lua, args: &[Value], n: usize, fname: &str) -> Result<f64, Error> {
    check_number(lua, args, n, fname)
}

fn bit_unary(
    lua: &mut Lua,
    args: &[Value],
    fname: &str,
    op: fn(f64) -> f64,
) -> Result<Vec<Value>, Error> {
    Ok(vec![num(op(barg(lua, args, 1, fname)?))])
}

/// `bit.tobit(x)`.
fn bit_tobit(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    bit_unary(lua, args, "tobit", bit::tobit)
}

/// `bit.bnot(x)`.
fn bit_bnot(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    bit_unary(lua, args, "bnot", bit::bnot)
}

/// `bit.bswap(x)`.
fn bit_bswap(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    bit_unary(lua, args, "bswap", bit::bswap)
}

fn bit_fold(
    lua: &mut Lua,
    args: &[Value],
    fname: &str,
    op: bit::Fold,
) -> Result<Vec<Value>, Error> {
    let first = barg(lua, args, 1, fname)?;
    // LuaBitOp reads the others from the last down, so that is the order of errors.
    let mut rest = vec![0.0; args.len().saturating_sub(1)];
    for i in (2..=args.len()).rev() {
        rest[i - 2] = barg(lua, args, i, fname)?;
    }
    Ok(vec![num(bit::fold(op, first, &rest))])
}

/// `bit.band(x1, ...)`.
fn bit_band(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    bit_fold(lua, args, "band", bit::Fold::And)
}

/// `bit.bor(x1, ...)`.
fn bit_bor(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    bit_fold(lua, args, "bor", bit::Fold::Or)
}

/// `bit.bxor(x1, ...)`.
fn bit_bxor(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    bit_fold(lua, args, "bxor", bit::Fold::Xor)
}

fn bit_shift(
    lua: &mut Lua,
    args: &[Value],
    fname: &str,
    op: bit::Shift,
) -> Result<Vec<Value>, Error> {
    let x = barg(lua, args, 1, fname)?;
    let n = barg(lua, args, 2, fname)?;
    Ok(vec![num(bit::shift(op, x, n))])
}

/// `bit.lshift(x, n)`.
fn bit_lshift(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    bit_shift(lua, args, "lshift", bit::Shift::Lshift)
}

/// `bit.rshift(x, n)`.
fn bit_rshift(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    bit_shift(lua, args, "rshift", bit::Shift::Rshift)
}

/// `bit.arshift(x, n)`.
fn bit_arshift(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    bit_shift(lua, args, "arshift", bit::Shift::Arshift)
}

/// `bit.rol(x, n)`.
fn bit_rol(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    bit_shift(lua, args, "rol", bit::Shift::Rol)
}

/// `bit.ror(x, n)`.
fn bit_ror(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    bit_shift(lua, args, "ror", bit::Shift::Ror)
}

/// `bit.tohex(x [, n])`.
fn bit_tohex(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    let x = barg(lua, args, 1, "tohex")?;
    // Only an absent second argument means 8; nil is an error, as lua_isnone decides.
    let n = if args.len() < 2 {
        None
    } else {
        Some(barg(lua, args, 2, "tohex")?)
    };
    let hex = bit::tohex(x, n);
    Ok(vec![lua.string(&hex)])
}

// ----- struct -----

/// A codec error with `fname` for argument errors.
fn struct_error(lua: &mut Lua, e: structs::StructError, fname: &str) -> Error {
    match e {
        structs::StructError::Raise(msg) => raise(lua, &msg),
        structs::StructError::Arg(n, msg) => arg_error(lua, n, fname, &msg),
    }
}

/// The arguments of `struct.pack`, checked as lauxlib checks them.
struct StructArgs<'a> {
    args: &'a [Value],
    lua: &'a Lua,
}

impl structs::PackArgs for StructArgs<'_> {
    fn number(&mut self, n: usize) -> Result<f64, structs::StructError> {
        match self.args.get(n - 1).and_then(|v| self.lua.to_number(v)) {
            Some(x) => Ok(x),
            None => Err(structs::StructError::Arg(
                n,
                format!("number expected, got {}", pack_arg_type(self.args, n)),
            )),
        }
    }

    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, structs::StructError> {
        match self.args.get(n - 1).and_then(|v| self.lua.to_bytes(v)) {
            Some(b) => Ok(b),
            None => Err(structs::StructError::Arg(
                n,
                format!("string expected, got {}", pack_arg_type(self.args, n)),
            )),
        }
    }
}

/// The type `struct.pack` reports for argument `n`: its C code pushes a nil after the
/// arguments (to separate them from its buffer), so the first missing one is a nil.
fn pack_arg_type(args: &[Value], n: usize) -> &'static str {
    if n == args.len() + 1 {
        "nil"
    } else {
        arg_type(args, n)
    }
}

/// `struct.pack(fmt, ...)`.
fn st_pack(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    let fmt = check_bytes(lua, args, 1, "pack")?;
    let packed = structs::pack(&fmt, &mut StructArgs { args, lua });
    match packed {
        Ok(bytes) => Ok(vec![lua.string(&bytes)]),
        Err(e) => Err(struct_error(lua, e, "pack")),
    }
}

/// `struct.unpack(fmt, data [, pos])`: the values, then the position after them.
fn st_unpack(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    let fmt = check_bytes(lua, args, 1, "unpack")?;
    let data = check_bytes(lua, args, 2, "unpack")?;
    let pos = opt_integer(lua, args, 3, "unpack", 1)?;
    match structs::unpack(&fmt, &data, pos, args.len()) {
        Ok((values, next)) => {
            let mut out = Vec::with_capacity(values.len() + 1);
            for v in values {
                out.push(match v {
                    structs::Unpacked::Num(n) => num(n),
                    structs::Unpacked::Str(s) => lua.string(&s),
                });
            }
            out.push(num(next));
            Ok(out)
        }
        Err(e) => Err(struct_error(lua, e, "unpack")),
    }
}

/// `struct.size(fmt)`.
fn st_size(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
    let fmt = check_bytes(lua, args, 1, "size")?;
    match structs::size(&fmt) {
        Ok(n) => Ok(vec![num(n as f64)]),
        Err(e) => Err(struct_error(lua, e, "size")),
    }
}

#[cfg(test)]
mod tree {
    use super::{Source, View};
    use std::rc::Rc;

    /// A tiny value graph for the encoder: tables keep their entries in order.
    #[derive(Clone, Debug)]
    pub enum D {
        Nil,
        Null,
        B(bool),
        N(f64),
        S(&'static str),
        T(Rc<Vec<(D, D)>>),
        F,
    }

    pub struct Tree;

    fn same(a: &D, b: &D) -> bool {
        match (a, b) {
            (D::N(x), D::N(y)) => x == y,
            (D::S(x), D::S(y)) => x == y,
            (D::B(x), D::B(y)) => x == y,
            (D::T(x), D::T(y)) => Rc::ptr_eq(x, y),
            _ => false,
        }
    }

    impl Source for Tree {
        type V = D;
        fn view<'a>(&self, v: &'a D) -> View<'a> {
            match v {
                D::Nil => View::Nil,
                D::Null => View::Null,
                D::B(b) => View::Bool(*b),
                D::N(n) => View::Num(*n),
                D::S(s) => View::Str(s.as_bytes()),
                D::T(_) => View::Table,
                D::F => View::Other("function"),
            }
        }
        fn next(&self, t: &D, k: Option<&D>) -> Option<(D, D)> {
            let D::T(entries) = t else { return None };
            let i = match k {
                None => 0,
                Some(k) => entries.iter().position(|(x, _)| same(x, k))? + 1,
            };
            entries.get(i).cloned()
        }
        fn index(&self, t: &D, i: usize) -> D {
            let D::T(entries) = t else { return D::Nil };
            entries
                .iter()
                .find(|(k, _)| same(k, &D::N(i as f64)))
                .map_or(D::Nil, |(_, v)| v.clone())
        }
    }

    pub fn arr(items: Vec<D>) -> D {
        D::T(Rc::new(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (D::N(i as f64 + 1.0), v))
                .collect(),
        ))
    }

    pub fn obj(items: Vec<(D, D)>) -> D {
        D::T(Rc::new(items))
    }

    pub fn unnest(tree: D) {
        let mut cur = tree;
        while let D::T(rc) = cur {
            cur = Rc::try_unwrap(rc)
                .map(|mut v| v.pop().map_or(D::Nil, |(_, v)| v))
                .unwrap_or(D::Nil);
        }
    }
}

/// Scripts run through the interpreter, against what Redis 7.0.15 answers for the same
/// script (`EVAL script 0` on a fresh `redis-server`; each expected value below was
/// captured that way). Every script returns a string, so the comparison is on bytes.
/// Error texts come through `pcall`: with a Lua function in between, `luaL_error` adds
/// `user_script:1:`; called by `pcall` directly, it adds nothing.
#[cfg(test)]
mod lua_tests {
    use super::super::{Lua, NoHost};
    use super::open;

    fn check(cases: &[(&str, &[u8])]) {
        for &(script, want) in cases {
            let mut lua = Lua::new();
            open(&mut lua);
            let f = match lua.load(script.as_bytes(), "@user_script") {
                Ok(f) => f,
                Err(e) => panic!("{script}: {e}"),
            };
            let got = match lua.call(&f, &[], &mut NoHost) {
                Ok(values) => values.first().and_then(|v| lua.to_bytes(v)),
                Err(e) => panic!("{script}: {:?}", lua.to_bytes(&e.value)),
            };
            assert_eq!(
                got.as_deref().map(String::from_utf8_lossy),
                Some(String::from_utf8_lossy(want)),
                "{script}"
            );
        }
    }

    #[test]
    fn cjson_encode_matches_redis() {
        let cases: &[(&str, &[u8])] = &[
            (
                "return cjson.encode({1,2,{a=1}})",
                b"[1,2,{\"a\":1}]",
            ),
            (
                "return cjson.encode({[1]=1,[3]=3})",
                b"[1,null,3]",
            ),
            (
                "return cjson.encode({[2^40]=1})",
                b"{\"1099511627776\":1}",
            ),
            (
                "return cjson.encode('a/b\"c\\\\\\1\\127\\n\\té')",
                b"\"a\\/b\\\"c\\\\\\u0001\\u007f\\n\\t\xc3\xa9\"",
            ),
            (
                "return cjson.encode({0.1, 1e15, -0.0, 1/3, 1e-5, 123456789012345, true, false})",
                b"[0.1,1e+15,-0,0.33333333333333,1e-05,1.2345678901234e+14,true,false]",
            ),
            (
                "return cjson.encode({})",
                b"{}",
            ),
            (
                "return cjson.encode({cjson.null, 'x'})",
                b"[null,\"x\"]",
            ),
            (
                "return cjson.encode({[1.5]=1})",
                b"{\"1.5\":1}",
            ),
            (
                "return cjson.encode({a={b={c={}}}})",
                b"{\"a\":{\"b\":{\"c\":{}}}}",
            ),
            (
                "local ok, e = pcall(function() return cjson.encode(function() end) end) return e",
                b"user_script:1: Cannot serialise function: type not supported",
            ),
            (
                "local ok, e = pcall(function() return cjson.encode({1/0}) end) return e",
                b"user_script:1: Cannot serialise number: must not be NaN or Inf",
            ),
            (
                "local ok, e = pcall(function() return cjson.encode({[true]=1}) end) return e",
                b"user_script:1: Cannot serialise boolean: table key must be a number or string",
            ),
            (
                "local ok, e = pcall(function() return cjson.encode({[1]=1,[30]=3}) end) return e",
                b"user_script:1: Cannot serialise table: excessively sparse array",
            ),
            (
                "local ok, e = pcall(function() return cjson.encode(1, 2) end) return e",
                b"user_script:1: bad argument #1 to 'encode' (expected 1 argument)",
            ),
            (
                "local t = 1 for i = 1, 1001 do t = {t} end local ok, e = pcall(function() return cjson.encode(t) end) return e",
                b"user_script:1: Cannot serialise, excessive nesting (1001)",
            ),
            (
                "local t = {} t[1] = t local ok, e = pcall(function() return cjson.encode(t) end) return e",
                b"user_script:1: Cannot serialise, excessive nesting (1001)",
            ),
            (
                "cjson.encode_max_depth(2147483647) local t = 1 for i = 1, 9000 do t = {t} end local ok, e = pcall(cjson.encode, t) cjson.encode_max_depth(1000) return e",
                b"Cannot serialise, excessive nesting (7998)",
            ),
            (
                "local r = {cjson.encode_sparse_array(true)} local s = cjson.encode({[1]=1,[30]=3}) cjson.encode_sparse_array(false) return s",
                b"{\"1\":1,\"30\":3}",
            ),
            (
                "local r = cjson.encode_invalid_numbers('null') local s = cjson.encode({1/0, -1/0}) cjson.encode_invalid_numbers(false) return tostring(r) .. s",
                b"null[null,null]",
            ),
            (
                "local r = cjson.encode_invalid_numbers(true) local s = cjson.encode({1/0, -1/0}) cjson.encode_invalid_numbers(false) return tostring(r) .. s",
                b"true[inf,-inf]",
            ),
            (
                "local r = cjson.encode_number_precision(3) local s = cjson.encode(3.14159) cjson.encode_number_precision(14) return r .. s",
                b"33.14",
            ),
            (
                "cjson.encode_max_depth(2) local ok, e = pcall(cjson.encode, {{{1}}}) cjson.encode_max_depth(1000) return e",
                b"Cannot serialise, excessive nesting (3)",
            ),
            (
                "local ok, e = pcall(function() return cjson.encode_max_depth(0) end) return e",
                b"user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)",
            ),
            (
                "local ok, e = pcall(function() return cjson.encode_max_depth(1, 2) end) return e",
                b"user_script:1: bad argument #2 to 'encode_max_depth' (found too many arguments)",
            ),
            (
                "local ok, e = pcall(function() return cjson.encode_sparse_array(true, -1) end) cjson.encode_sparse_array(false) return e",
                b"user_script:1: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)",
            ),
            (
                "local ok, e = pcall(function() return cjson.encode_invalid_numbers('maybe') end) return e",
                b"user_script:1: bad argument #1 to 'encode_invalid_numbers' (invalid option 'maybe')",
            ),
            (
                "local ok, e = pcall(function() return cjson.encode_number_precision(15) end) return e",
                b"user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)",
            ),
            (
                "local a, b, c = cjson.encode_sparse_array() return tostring(a) .. ' ' .. b .. ' ' .. c",
                b"false 2 10",
            ),
            (
                "return tostring(cjson.encode_keep_buffer()) .. tostring(cjson.encode_invalid_numbers()) .. tostring(cjson.decode_invalid_numbers()) .. cjson.encode_max_depth() .. cjson.decode_max_depth() .. cjson.encode_number_precision()",
                b"truefalsetrue1000100014",
            ),
            (
                "return cjson._NAME .. ' ' .. cjson._VERSION .. ' ' .. type(cjson.null) .. ' ' .. type(cjson.new)",
                b"cjson 2.1.0 userdata function",
            ),
            (
                "local c = cjson.new() return c.encode({1, c.null, cjson.null})",
                b"[1,null,null]",
            ),
            (
                "return cjson.encode(cjson.decode('[]')) .. cjson.encode({[0]=1}) .. cjson.encode({[-1]=1}) .. cjson.encode({1, nil, 3})",
                b"{}{\"0\":1}{\"-1\":1}[1,null,3]",
            ),
            (
                "return cjson.encode('xxx\\0') .. cjson.encode({['a b']={[1]='\\r'}})",
                b"\"xxx\\u0000\"{\"a b\":[\"\\r\"]}",
            ),
        ];
        check(cases);
    }

    #[test]
    fn cjson_decode_matches_redis() {
        let cases: &[(&str, &[u8])] = &[
            (
                "local t = cjson.decode('[1,2,{\"a\":1}]') return t[1] .. t[2] .. t[3].a .. #t",
                b"1213",
            ),
            (
                "return cjson.encode(cjson.decode('{\"a\":[1,{\"b\":null}],\"c\":false}'))",
                b"{\"a\":[1,{\"b\":null}],\"c\":false}",
            ),
            (
                "return tostring(cjson.decode('null') == cjson.null)",
                b"true",
            ),
            (
                "return cjson.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\\\\/\\\\n\"')",
                b"\xc3\xa9\xf0\x9f\x98\x80/\n",
            ),
            (
                "return tostring(cjson.decode('0x10')) .. tostring(cjson.decode('-Infinity')) .. tostring(cjson.decode('+1')) .. tostring(cjson.decode('007'))",
                b"16-inf17",
            ),
            (
                "return tostring(cjson.decode('-1.5e3')) .. ' ' .. tostring(cjson.decode(' 12 '))",
                b"-1500 12",
            ),
            (
                "return tostring(cjson.decode('12\\0x'))",
                b"12",
            ),
            (
                "return cjson.decode(123) .. ''",
                b"123",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode('nul') end) return e",
                b"user_script:1: Expected value but found invalid token at character 1",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode('[1,2') end) return e",
                b"user_script:1: Expected comma or array end but found T_END at character 5",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode('{1:2}') end) return e",
                b"user_script:1: Expected object key string but found T_NUMBER at character 2",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode('{\"a\" 2}') end) return e",
                b"user_script:1: Expected colon but found T_NUMBER at character 6",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode('[1] x') end) return e",
                b"user_script:1: Expected the end but found invalid token at character 5",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode('\"\\\\ud800\"') end) return e",
                b"user_script:1: Expected value but found invalid unicode escape code at character 2",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode('\"ab\\\\q\"') end) return e",
                b"user_script:1: Expected value but found invalid escape code at character 4",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode('\"abc') end) return e",
                b"user_script:1: Expected value but found unexpected end of string at character 5",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode('') end) return e",
                b"user_script:1: Expected value but found T_END at character 1",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode('\\0\\1') end) return e",
                b"user_script:1: JSON parser does not support UTF-16 or UTF-32",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode(string.rep('[', 1001)) end) return e",
                b"user_script:1: Found too many nested data structures (1001) at character 1001",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode(string.rep('{\"a\":', 1001)) end) return e",
                b"user_script:1: Found too many nested data structures (1001) at character 5001",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode({}) end) return e",
                b"user_script:1: bad argument #1 to 'decode' (string expected, got table)",
            ),
            (
                "local ok, e = pcall(function() return cjson.decode() end) return e",
                b"user_script:1: bad argument #1 to 'decode' (expected 1 argument)",
            ),
            (
                "cjson.decode_invalid_numbers(false) local ok, e = pcall(cjson.decode, '[0x10]') cjson.decode_invalid_numbers(true) return e",
                b"Expected value but found invalid number at character 2",
            ),
            (
                "cjson.decode_max_depth(2147483647) local ok, e = pcall(cjson.decode, string.rep('[{\"a\":', 9000)) cjson.decode_max_depth(1000) return e",
                b"Found too many nested data structures (5333) at character 15997",
            ),
            (
                "local t = cjson.decode('{\"a\":1,\"a\":2}') return tostring(t.a)",
                b"2",
            ),
        ];
        check(cases);
    }

    #[test]
    fn cmsgpack_matches_redis() {
        let cases: &[(&str, &[u8])] = &[
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end return hex(cmsgpack.pack({1,2,{a=1}}, 'x', 1.5, 0.1, -1, 2^63, -2^63, 2^53, nil, true))",
                b"93010281a16101a178ca3fc00000cb3fb999999999999affca5f000000d38000000000000000cf0020000000000000c0c3",
            ),
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end return hex(cmsgpack.pack({}, {[1]=1,[3]=3}, 200, -200, 70000, -70000, -100, 2^32, -2^32, -33))",
                b"908201010303ccc8d1ff38ce00011170d2fffeee90d09ccf0000000100000000d3ffffffff00000000d0df",
            ),
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end return hex(cmsgpack.pack(string.rep('a', 40), string.rep('b', 300)):sub(1, 20))",
                b"d928616161616161616161616161616161616161",
            ),
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end local t = 1 for i = 1, 20 do t = {t} end return hex(cmsgpack.pack(t))",
                b"91919191919191919191919191919191c0",
            ),
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end return hex(cmsgpack.pack(function() end, cjson.null, 1/0, 0/0 ~= 0/0))",
                b"c0c0ca7f800000c3",
            ),
            (
                "local a, b, c = cmsgpack.unpack(cmsgpack.pack({1,2,{a=1}}, 'x', true)) return cjson.encode({a, b, c})",
                b"[[1,2,{\"a\":1}],\"x\",true]",
            ),
            (
                "return tostring(cmsgpack.unpack(string.char(0xcf,255,255,255,255,255,255,255,255)))",
                b"-1",
            ),
            (
                "return tostring(cmsgpack.unpack(string.char(0xd1,255,128))) .. tostring(cmsgpack.unpack(string.char(0xca,0x3f,0xc0,0,0)))",
                b"-1281.5",
            ),
            (
                "return cjson.encode({cmsgpack.unpack_one(string.char(1,2,3), 1)})",
                b"[2,2]",
            ),
            (
                "return cjson.encode({cmsgpack.unpack_one(string.char(1,2,3), 2)})",
                b"[-1,3]",
            ),
            (
                "return cjson.encode({cmsgpack.unpack_limit(string.char(1,2,3), 2)})",
                b"[2,1,2]",
            ),
            (
                "return cjson.encode({cmsgpack.unpack_limit(string.char(1,2,3), 5, 3)})",
                b"[-1]",
            ),
            (
                "return cjson.encode({cmsgpack.unpack(string.char(0x93, 0xc0, 1, 0xc0))})",
                b"[[null,1]]",
            ),
            (
                "return cjson.encode({cmsgpack.unpack(string.char(0x81, 1, 0xc0))})",
                b"[{}]",
            ),
            (
                "local ok, e = pcall(function() return cmsgpack.pack() end) return e",
                b"user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)",
            ),
            (
                "local ok, e = pcall(function() return cmsgpack.unpack(string.char(0x81, 0xc0, 1)) end) return e",
                b"table index is nil",
            ),
            (
                "local ok, e = pcall(function() return cmsgpack.unpack(string.char(0x81, 0xc0)) end) return e",
                b"user_script:1: Missing bytes in input.",
            ),
            (
                "local ok, e = pcall(function() return cmsgpack.unpack(string.char(0xc1)) end) return e",
                b"user_script:1: Bad data format in input.",
            ),
            (
                "local ok, e = pcall(function() return cmsgpack.unpack_limit(string.char(1,2,3), 5, -1) end) return e",
                b"user_script:1: Invalid request to unpack with offset of -1 and limit of 3.",
            ),
            (
                "local ok, e = pcall(function() return cmsgpack.unpack_limit(string.char(1,2,3), 5, 9) end) return e",
                b"user_script:1: Start offset 9 greater than input length 3.",
            ),
            (
                "local ok, e = pcall(function() return cmsgpack.unpack() end) return e",
                b"user_script:1: bad argument #1 to 'unpack' (string expected, got no value)",
            ),
            (
                "local ok, e = pcall(function() return cmsgpack.unpack_limit('a', 'x') end) return e",
                b"user_script:1: bad argument #2 to 'unpack_limit' (number expected, got string)",
            ),
            (
                "local ok, e = pcall(function() return select('#', cmsgpack.unpack(string.rep(string.char(1), 8000))) end) return e",
                b"user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
            ),
            (
                "local ok, e = pcall(function() return cmsgpack.unpack(string.rep(string.char(0x91), 9000)) end) return e",
                b"user_script:1: stack overflow (in function mp_decode_to_lua_array)",
            ),
            (
                "return select('#', cmsgpack.unpack(string.rep(string.char(1), 7999))) .. ''",
                b"7999",
            ),
            (
                "return cmsgpack._NAME .. ' ' .. cmsgpack._VERSION .. ' ' .. cmsgpack._COPYRIGHT .. ' ' .. cmsgpack._DESCRIPTION",
                b"cmsgpack lua-cmsgpack 0.4.0 Copyright (C) 2012, Salvatore Sanfilippo MessagePack C implementation for Lua",
            ),
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end return hex(cmsgpack.pack(-0.0, 2^31, -2^31 - 1, 4294967295, 4294967296, 65535, 65536, -32768, -32769, 127, 128, -32, -33, 15.5))",
                b"00ce80000000d3ffffffff7fffffffceffffffffcf0000000100000000cdffffce00010000d18000d2ffff7fff7fcc80e0d0dfca41780000",
            ),
        ];
        check(cases);
    }

    #[test]
    fn bit_matches_redis() {
        let cases: &[(&str, &[u8])] = &[
            (
                "return table.concat({bit.tobit(0xffffffff), bit.tobit(2^32 + 1), bit.tobit(1.5), bit.tobit(2.5), bit.tobit('12')}, ' ')",
                b"-1 1 2 2 12",
            ),
            (
                "return table.concat({bit.bnot(0), bit.band(0x12345678, 0xff), bit.bor(1, 2, 4, 8), bit.bxor(1, 3, 7)}, ' ')",
                b"-1 120 15 5",
            ),
            (
                "return table.concat({bit.lshift(1, 31), bit.lshift(1, 32), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 12), bit.ror(0x12345678, 12)}, ' ')",
                b"-2147483648 1 15 -16 1164411171 1736516421",
            ),
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end return table.concat({bit.bswap(0x12345678), bit.tohex(1), bit.tohex(-1), bit.tohex(65535, -4), bit.tohex(0x21, 4), bit.tohex(255, 0)}, ' ')",
                b"2018915346 00000001 ffffffff FFFF 0021 ",
            ),
            (
                "local ok, e = pcall(function() return bit.band(1, 'x', {}) end) return e",
                b"user_script:1: bad argument #3 to 'band' (number expected, got table)",
            ),
            (
                "local ok, e = pcall(function() return bit.tobit() end) return e",
                b"user_script:1: bad argument #1 to 'tobit' (number expected, got no value)",
            ),
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end local ok, e = pcall(function() return bit.tohex(1, nil) end) return e",
                b"user_script:1: bad argument #2 to 'tohex' (number expected, got nil)",
            ),
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end return table.concat({bit.tobit(2^53), bit.tobit(-2^31), bit.tobit(2^31), bit.arshift(2^31, 31), bit.rshift(1, -1), bit.tohex(-1, -100)}, ' ')",
                b"0 -2147483648 -2147483648 -1 0 FFFFFFFF",
            ),
        ];
        check(cases);
    }

    #[test]
    fn struct_matches_redis() {
        let cases: &[(&str, &[u8])] = &[
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end return hex(struct.pack('<l>L<T', -1, 2^32, 7) .. struct.pack('>i3', -2) .. struct.pack('<I3', 2^24 + 5))",
                b"ffffffffffffffff00000001000000000700000000000000fffffe050000",
            ),
            (
                "return table.concat({struct.unpack('<l>Lb', struct.pack('<l>Lb', -5, 2^40, -1))}, ' ')",
                b"-5 1099511627776 -1 18",
            ),
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end return hex(struct.pack('>i2<i2', 1, 1) .. struct.pack('<i10', -2) .. struct.pack('b c0 d', 3, 'abc', 1.5))",
                b"00010100feffffffffffffff000003616263000000000000f83f",
            ),
            (
                "local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end return hex(struct.pack('s', 'hi') .. struct.pack('c2', 'hello') .. struct.pack('!4 b i', 1, 2) .. struct.pack('>f', 1.5) .. struct.pack('xB', 255) .. struct.pack('h', '10'))",
                b"686900686501000000020000003fc0000000ff0a00",
            ),
            (
                "return table.concat({struct.unpack('b c0 d', struct.pack('b c0 d', 3, 'abc', 1.5))}, ' ')",
                b"abc 1.5 13",
            ),
            (
                "return table.concat({struct.unpack('<i9', string.rep(string.char(255), 9))}, ' ')",
                b"-1 10",
            ),
            (
                "return table.concat({struct.unpack('>I2 >h', string.char(255, 254, 255, 254))}, ' ')",
                b"65534 -2 5",
            ),
            (
                "return table.concat({struct.unpack('s s', 'ab\\0c\\0')}, ' ')",
                b"ab c 6",
            ),
            (
                "return table.concat({struct.unpack('b', '\\1\\2', 2)}, ' ')",
                b"2 3",
            ),
            (
                "return table.concat({struct.unpack('c1 c0', '2abc')}, ' ')",
                b"ab 4",
            ),
            (
                "return table.concat({struct.size('!8bd'), struct.size('bhlTfdxi3c4'), struct.size('z')}, ' ')",
                b"16 39 0",
            ),
            (
                "local ok, e = pcall(function() return struct.pack('c5', 'ab') end) return e",
                b"user_script:1: bad argument #3 to 'pack' (string too short)",
            ),
            (
                "local ok, e = pcall(function() return struct.pack('z', 1) end) return e",
                b"user_script:1: bad argument #1 to 'pack' (invalid format option 'z')",
            ),
            (
                "local ok, e = pcall(function() return struct.pack('!3i', 1) end) return e",
                b"user_script:1: alignment 3 is not a power of 2",
            ),
            (
                "local ok, e = pcall(function() return struct.pack('i33', 1) end) return e",
                b"user_script:1: integral size 33 is larger than limit of 32",
            ),
            (
                "local ok, e = pcall(function() return struct.pack('i99999999999', 1) end) return e",
                b"user_script:1: integral size overflow",
            ),
            (
                "local ok, e = pcall(function() return struct.pack('i', 'x') end) return e",
                b"user_script:1: bad argument #2 to 'pack' (number expected, got string)",
            ),
            (
                "local ok, e = pcall(function() return struct.pack('i') end) return e",
                b"user_script:1: bad argument #2 to 'pack' (number expected, got nil)",
            ),
            (
                "local ok, e = pcall(function() return struct.unpack('c0', 'abc') end) return e",
                b"user_script:1: format 'c0' needs a previous size",
            ),
            (
                "local ok, e = pcall(function() return struct.unpack('s', 'abc') end) return e",
                b"user_script:1: unfinished string in data",
            ),
            (
                "local ok, e = pcall(function() return struct.unpack('i', 'abc') end) return e",
                b"user_script:1: bad argument #2 to 'unpack' (data string too short)",
            ),
            (
                "local ok, e = pcall(function() return struct.unpack('i', 'abcd', 0) end) return e",
                b"user_script:1: bad argument #3 to 'unpack' (offset must be 1 or greater)",
            ),
            (
                "local ok, e = pcall(function() return struct.unpack('i', 'abcd', -1) end) return e",
                b"user_script:1: bad argument #2 to 'unpack' (data string too short)",
            ),
            (
                "local ok, e = pcall(function() return struct.size('s') end) return e",
                b"user_script:1: bad argument #1 to 'size' (option 's' has no fixed size)",
            ),
            (
                "local ok, e = pcall(function() return struct.size('c0') end) return e",
                b"user_script:1: bad argument #1 to 'size' (option 'c0' has no fixed size)",
            ),
            (
                "local ok, e = pcall(function() return select('#', struct.unpack(string.rep('b', 7998), string.rep('\\0', 9000))) end) return e",
                b"user_script:1: stack overflow (too many results)",
            ),
        ];
        check(cases);
    }
}

/// The natives called straight from Rust (no script around them), checking the glue's
/// conversions and argument errors. Messages are compared without their position
/// prefix, which depends on what called the native.
#[cfg(test)]
mod native_tests {
    use super::super::{Lua, NoHost, Value};
    use super::open;

    /// `user_script:1: msg` -> `msg`.
    fn strip_position(msg: &str) -> String {
        if let Some((head, rest)) = msg.split_once(": ") {
            if let Some((_, line)) = head.rsplit_once(':') {
                if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) {
                    return rest.to_string();
                }
            }
        }
        msg.to_string()
    }

    fn s(lua: &mut Lua, b: &str) -> Value {
        lua.string(b.as_bytes())
    }
    fn call(lua: &mut Lua, lib: &str, f: &str, args: &[Value]) -> Result<Vec<Value>, String> {
        let t = lua.get_global(lib);
        let func = lua.get_field(&t, f);
        lua.call(&func, args, &mut NoHost).map_err(|e| {
            strip_position(&String::from_utf8_lossy(
                &lua.to_bytes(&e.value).unwrap_or_default(),
            ))
        })
    }
    fn text(lua: &Lua, v: &Value) -> String {
        String::from_utf8_lossy(&lua.to_bytes(v).unwrap_or(b"<none>".to_vec())).into_owned()
    }
    fn arr(lua: &mut Lua, items: Vec<Value>) -> Value {
        let t = lua.create_table(0, 0);
        for (i, v) in items.into_iter().enumerate() {
            lua.raw_set(&t, Value::Num(i as f64 + 1.0), v).unwrap();
        }
        t
    }

    #[test]
    fn natives_cjson() {
        let mut lua = Lua::new();
        open(&mut lua);
        let inner = lua.create_table(0, 0);
        lua.set_field(&inner, "a", Value::Num(1.0)).unwrap();
        let t = arr(&mut lua, vec![Value::Num(1.0), Value::Num(2.0), inner]);
        let r = call(&mut lua, "cjson", "encode", &[t]).unwrap();
        assert_eq!(text(&lua, &r[0]), "[1,2,{\"a\":1}]");
        let cj = lua.get_global("cjson");
        let null = lua.get_field(&cj, "null");
        let t = arr(&mut lua, vec![null.clone(), Value::Bool(true)]);
        let r = call(&mut lua, "cjson", "encode", &[t]).unwrap();
        assert_eq!(text(&lua, &r[0]), "[null,true]");
        let ud = lua.new_userdata();
        assert_eq!(
            call(&mut lua, "cjson", "encode", &[ud]).unwrap_err(),
            "Cannot serialise userdata: type not supported"
        );
        assert_eq!(
            call(&mut lua, "cjson", "encode", &[]).unwrap_err(),
            "bad argument #1 to 'encode' (expected 1 argument)"
        );
        let doc = s(&mut lua, "{\"a\":[1,{\"b\":null}],\"c\":false}");
        let r = call(&mut lua, "cjson", "decode", &[doc]).unwrap();
        let back = call(&mut lua, "cjson", "encode", &[r[0].clone()]).unwrap();
        assert_eq!(text(&lua, &back[0]), "{\"a\":[1,{\"b\":null}],\"c\":false}");
        let doc = s(&mut lua, "null");
        let r = call(&mut lua, "cjson", "decode", &[doc]).unwrap();
        let set = lua.registry_get(super::NULL_SET_KEY);
        assert!(matches!(lua.raw_get(&set, &r[0]), Value::Bool(true)));
        let doc = s(&mut lua, "[1,2");
        assert_eq!(
            call(&mut lua, "cjson", "decode", &[doc]).unwrap_err(),
            "Expected comma or array end but found T_END at character 5"
        );
        let t = lua.create_table(0, 0);
        assert_eq!(
            call(&mut lua, "cjson", "decode", &[t]).unwrap_err(),
            "bad argument #1 to 'decode' (string expected, got table)"
        );
        // settings
        let r = call(&mut lua, "cjson", "encode_max_depth", &[Value::Num(2.0)]).unwrap();
        assert_eq!(text(&lua, &r[0]), "2");
        let deep0 = arr(&mut lua, vec![Value::Num(1.0)]);
        let deep1 = arr(&mut lua, vec![deep0]);
        let deep = arr(&mut lua, vec![deep1]);
        assert_eq!(
            call(&mut lua, "cjson", "encode", &[deep]).unwrap_err(),
            "Cannot serialise, excessive nesting (3)"
        );
        assert_eq!(
            call(&mut lua, "cjson", "encode_max_depth", &[Value::Num(0.0)]).unwrap_err(),
            "bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)"
        );
        assert_eq!(
            call(
                &mut lua,
                "cjson",
                "encode_max_depth",
                &[Value::Num(1.0), Value::Num(1.0)]
            )
            .unwrap_err(),
            "bad argument #2 to 'encode_max_depth' (found too many arguments)"
        );
        let r = call(
            &mut lua,
            "cjson",
            "encode_max_depth",
            &[Value::Num(2f64.powi(32) + 1000.0)],
        )
        .unwrap();
        assert_eq!(text(&lua, &r[0]), "1000");
        let r = call(&mut lua, "cjson", "encode_sparse_array", &[]).unwrap();
        assert!(matches!(r[0], Value::Bool(false)));
        assert_eq!(text(&lua, &r[1]), "2");
        assert_eq!(text(&lua, &r[2]), "10");
        let on = s(&mut lua, "null");
        let r = call(&mut lua, "cjson", "encode_invalid_numbers", &[on]).unwrap();
        assert_eq!(text(&lua, &r[0]), "null");
        let t = arr(&mut lua, vec![Value::Num(f64::INFINITY)]);
        let r = call(&mut lua, "cjson", "encode", &[t]).unwrap();
        assert_eq!(text(&lua, &r[0]), "[null]");
        let bad = s(&mut lua, "maybe");
        assert_eq!(
            call(&mut lua, "cjson", "encode_invalid_numbers", &[bad]).unwrap_err(),
            "bad argument #1 to 'encode_invalid_numbers' (invalid option 'maybe')"
        );
        let r = call(
            &mut lua,
            "cjson",
            "encode_invalid_numbers",
            &[Value::Bool(true)],
        )
        .unwrap();
        assert!(matches!(r[0], Value::Bool(true)));
        let r = call(&mut lua, "cjson", "encode_keep_buffer", &[]).unwrap();
        assert!(matches!(r[0], Value::Bool(true)));
        let r = call(&mut lua, "cjson", "new", &[]).unwrap();
        let enc = lua.get_field(&r[0], "encode");
        let one = lua.call(&enc, &[Value::Num(1.5)], &mut NoHost).unwrap();
        assert_eq!(text(&lua, &one[0]), "1.5");
    }

    #[test]
    fn natives_cmsgpack() {
        let mut lua = Lua::new();
        open(&mut lua);
        let inner = lua.create_table(0, 0);
        lua.set_field(&inner, "a", Value::Num(1.0)).unwrap();
        let t = arr(&mut lua, vec![Value::Num(1.0), Value::Num(2.0), inner]);
        let x = s(&mut lua, "x");
        let r = call(&mut lua, "cmsgpack", "pack", &[t, x, Value::Bool(true)]).unwrap();
        assert_eq!(
            lua.to_bytes(&r[0]).unwrap(),
            b"\x93\x01\x02\x81\xa1a\x01\xa1x\xc3"
        );
        let vals = call(&mut lua, "cmsgpack", "unpack", &[r[0].clone()]).unwrap();
        assert_eq!(vals.len(), 3);
        let back = call(&mut lua, "cjson", "encode", &[vals[0].clone()]).unwrap();
        assert_eq!(text(&lua, &back[0]), "[1,2,{\"a\":1}]");
        assert_eq!(text(&lua, &vals[1]), "x");
        let data = s(&mut lua, "\x01\x02\x03");
        let r = call(
            &mut lua,
            "cmsgpack",
            "unpack_one",
            &[data.clone(), Value::Num(1.0)],
        )
        .unwrap();
        assert_eq!(
            (text(&lua, &r[0]), text(&lua, &r[1])),
            ("2".into(), "2".into())
        );
        let r = call(
            &mut lua,
            "cmsgpack",
            "unpack_limit",
            &[data.clone(), Value::Num(2.0)],
        )
        .unwrap();
        assert_eq!(
            r.iter().map(|v| text(&lua, v)).collect::<Vec<_>>(),
            vec!["2", "1", "2"]
        );
        let nested = lua.string(b"\x92\x91\x81\xa1k\x90\x07");
        let r = call(&mut lua, "cmsgpack", "unpack", &[nested]).unwrap();
        let back = call(&mut lua, "cjson", "encode", &[r[0].clone()]).unwrap();
        assert_eq!(text(&lua, &back[0]), "[[{\"k\":{}}],7]");
        let bad = lua.string(b"\x81\xc0\x01");
        assert_eq!(
            call(&mut lua, "cmsgpack", "unpack", &[bad]).unwrap_err(),
            "table index is nil"
        );
        assert_eq!(
            call(&mut lua, "cmsgpack", "pack", &[]).unwrap_err(),
            "bad argument #0 to 'pack' (MessagePack pack needs input.)"
        );
        assert_eq!(
            call(&mut lua, "cmsgpack", "unpack", &[]).unwrap_err(),
            "bad argument #1 to 'unpack' (string expected, got no value)"
        );
        let a = s(&mut lua, "a");
        let xx = s(&mut lua, "x");
        assert_eq!(
            call(&mut lua, "cmsgpack", "unpack_limit", &[a, xx]).unwrap_err(),
            "bad argument #2 to 'unpack_limit' (number expected, got string)"
        );
        let big = s(&mut lua, &"\x01".repeat(8000));
        assert!(call(&mut lua, "cmsgpack", "unpack", &[big])
            .unwrap_err()
            .contains("too many return values"));
    }

    #[test]
    fn natives_bit_struct() {
        let mut lua = Lua::new();
        open(&mut lua);
        let r = call(
            &mut lua,
            "bit",
            "band",
            &[Value::Num(0x12345678 as f64), Value::Num(255.0)],
        )
        .unwrap();
        assert_eq!(text(&lua, &r[0]), "120");
        let x = s(&mut lua, "x");
        let t = lua.create_table(0, 0);
        assert_eq!(
            call(&mut lua, "bit", "band", &[Value::Num(1.0), x, t]).unwrap_err(),
            "bad argument #3 to 'band' (number expected, got table)"
        );
        let r = call(
            &mut lua,
            "bit",
            "tohex",
            &[Value::Num(65535.0), Value::Num(-4.0)],
        )
        .unwrap();
        assert_eq!(text(&lua, &r[0]), "FFFF");
        assert_eq!(
            call(&mut lua, "bit", "tohex", &[Value::Num(1.0), Value::Nil]).unwrap_err(),
            "bad argument #2 to 'tohex' (number expected, got nil)"
        );
        let fmt = s(&mut lua, "b c0 d");
        let abc = s(&mut lua, "abc");
        let r = call(
            &mut lua,
            "struct",
            "pack",
            &[fmt.clone(), Value::Num(3.0), abc, Value::Num(1.5)],
        )
        .unwrap();
        let u = call(&mut lua, "struct", "unpack", &[fmt, r[0].clone()]).unwrap();
        assert_eq!(
            u.iter().map(|v| text(&lua, v)).collect::<Vec<_>>(),
            vec!["abc", "1.5", "13"]
        );
        let fmt = s(&mut lua, "c5");
        let ab = s(&mut lua, "ab");
        assert_eq!(
            call(&mut lua, "struct", "pack", &[fmt, ab]).unwrap_err(),
            "bad argument #3 to 'pack' (string too short)"
        );
        let fmt = s(&mut lua, "!8bd");
        let r = call(&mut lua, "struct", "size", &[fmt]).unwrap();
        assert_eq!(text(&lua, &r[0]), "16");
        let fmt = s(&mut lua, "i");
        let d = s(&mut lua, "abcd");
        assert_eq!(
            call(&mut lua, "struct", "unpack", &[fmt, d, Value::Num(0.0)]).unwrap_err(),
            "bad argument #3 to 'unpack' (offset must be 1 or greater)"
        );
    }
}
