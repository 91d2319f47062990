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
//! Known difference: `cjson.new()` returns a fresh module table, but its functions share
//! the one settings table (Redis gives each instance its own settings through an
//! upvalue). Giving it its own settings needs natives with upvalues from the interpreter.

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
    for event in events {
        let value = match event {
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
                format!("number expected, got {}", arg_type(self.args, n)),
            )),
        }
    }

    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, structs::StructError> {
        match self.args.get(n - 1).and_then(|v| self.lua.to_bytes(v)) {
            Some(b) => Ok(b),
            None => Err(structs::StructError::Arg(
                n,
                format!("string expected, got {}", arg_type(self.args, n)),
            )),
        }
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
