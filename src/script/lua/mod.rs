//! A Lua 5.1 interpreter in safe Rust, written from the Lua 5.1 reference manual.
//!
//! This module tree imports nothing else of the crate: it can be read and tested alone.
//!
//! # The contract with the host (`crate::script`)
//!
//! - [`Lua::new`] makes a state with Redis 7.0's library set loaded (base without
//!   `print`, `dofile` and `loadfile`; coroutine, table, string, math). The host adds
//!   cjson, cmsgpack, bit, struct and `redis` itself through this API.
//! - [`Lua::load`] compiles a chunk; [`Lua::call`] runs a function with a [`Host`],
//!   which native functions reach through their `&mut dyn Host` argument.
//! - Garbage is collected only inside [`Lua::call`] (and [`Lua::collect`]), never while a
//!   native function runs: a value a native function creates is safe until it returns.
//!   A value the host keeps between calls must be reachable from the globals or the
//!   registry ([`Lua::registry_set`]).
//! - Errors never panic: every failure is an [`Error`] (a Lua error value), including
//!   stack overflow, too deep nesting, and memory limits.
//!
//! THIS FILE IS THE AGREED SURFACE. Its bodies are stubs until the interpreter lands;
//! the signatures stay (additions are free).

#![allow(unused_variables, dead_code)]

use std::any::Any;

pub mod ext;

/// A Lua value. Cloning is cheap (strings are shared, tables and functions are handles).
#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Nil,
    Bool(bool),
    Num(f64),
    Str(LStr),
    Table(Table),
    Function(Function),
    /// A coroutine.
    Thread(Thread),
    /// A userdata (only `newproxy` makes them).
    UserData(UserData),
}

/// An immutable byte string.
#[derive(Clone, Debug)]
pub struct LStr(std::rc::Rc<[u8]>);

impl LStr {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Handle to a table.
#[derive(Clone, Debug)]
pub struct Table(u32);
/// Handle to a function (Lua closure or native).
#[derive(Clone, Debug)]
pub struct Function(u32);
/// Handle to a coroutine.
#[derive(Clone, Debug)]
pub struct Thread(u32);
/// Handle to a userdata.
#[derive(Clone, Debug)]
pub struct UserData(u32);

/// A raised Lua error.
#[derive(Clone, Debug)]
pub struct Error {
    /// The error value (`error("x")` raises the string `chunk:line: x`; `error({})` a
    /// table).
    pub value: Value,
    /// A fatal error ([`Host::interrupt`] raised it) unwinds through `pcall` and
    /// `xpcall` without being caught, up to [`Lua::call`].
    pub fatal: bool,
}

impl Error {
    /// A catchable error whose value is this message, unchanged (no position added).
    pub fn msg(lua: &mut Lua, text: &str) -> Error {
        todo!()
    }
}

/// A native function: the host's state, the arguments; its results or an error.
/// `Error` values built with [`Lua::error_here`] carry Lua's `chunk:line:` prefix, as
/// `luaL_error` does.
pub type NativeFn = fn(&mut Lua, &mut dyn Host, &[Value]) -> Result<Vec<Value>, Error>;

/// What the interpreter calls back into while a script runs.
pub trait Host {
    /// Called about every [`Lua::set_hook_interval`] instructions (default 100,000). An
    /// `Err` aborts the script (make it `fatal` to escape `pcall`).
    fn interrupt(&mut self, lua: &mut Lua) -> Result<(), Error>;
    /// The host's own state, for its native functions to downcast.
    fn as_any(&mut self) -> &mut dyn Any;
}

/// A host with nothing to offer (tests, pure computations).
pub struct NoHost;

impl Host for NoHost {
    fn interrupt(&mut self, _: &mut Lua) -> Result<(), Error> {
        Ok(())
    }
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// One interpreter state: heap, globals, registry, string metatable.
pub struct Lua {}

impl Lua {
    /// A fresh state with Redis 7.0's standard library set loaded.
    pub fn new() -> Lua {
        todo!()
    }

    /// Compiles `chunk` as a function. `chunkname` follows Lua's rules (`@user_script`
    /// gives messages like `user_script:1: unexpected symbol near 'x'`). A compile error
    /// returns its message.
    pub fn load(&mut self, chunk: &[u8], chunkname: &str) -> Result<Value, String> {
        todo!()
    }

    /// Calls `f` (any callable value) with `args`, returning all its results.
    pub fn call(
        &mut self,
        f: &Value,
        args: &[Value],
        host: &mut dyn Host,
    ) -> Result<Vec<Value>, Error> {
        todo!()
    }

    /// How many VM instructions pass between [`Host::interrupt`] calls.
    pub fn set_hook_interval(&mut self, instructions: u32) {
        todo!()
    }

    /// A new string value.
    pub fn string(&mut self, bytes: &[u8]) -> Value {
        todo!()
    }

    /// A new empty table (with room for `narr` array and `nhash` hash entries).
    pub fn create_table(&mut self, narr: usize, nhash: usize) -> Value {
        todo!()
    }

    /// A new userdata with no contents (as `newproxy()` makes): a unique value, equal
    /// only to itself, such as `cjson.null`.
    pub fn new_userdata(&mut self) -> Value {
        todo!()
    }

    /// A native function value; `name` is what error messages call it.
    pub fn native(&mut self, name: &'static str, f: NativeFn) -> Value {
        todo!()
    }

    /// `rawget(t, k)`; Nil if `t` is not a table.
    pub fn raw_get(&self, t: &Value, k: &Value) -> Value {
        todo!()
    }

    /// `rawset(t, k, v)`. Errors as Lua does: a nil or NaN key, a read-only table.
    pub fn raw_set(&mut self, t: &Value, k: Value, v: Value) -> Result<(), Error> {
        todo!()
    }

    /// `rawget(t, name)` with a string key.
    pub fn get_field(&mut self, t: &Value, name: &str) -> Value {
        todo!()
    }

    /// `rawset(t, name, v)` with a string key.
    pub fn set_field(&mut self, t: &Value, name: &str, v: Value) -> Result<(), Error> {
        todo!()
    }

    /// The length `#t` gives without metamethods (`lua_objlen`): a border of the table;
    /// for a string its byte length.
    pub fn raw_len(&self, t: &Value) -> usize {
        todo!()
    }

    /// `next(t, k)`: the entry after `k` (Nil starts), or None at the end.
    pub fn next(&self, t: &Value, k: &Value) -> Result<Option<(Value, Value)>, Error> {
        todo!()
    }

    /// A global, read raw (no metamethods).
    pub fn get_global(&mut self, name: &str) -> Value {
        todo!()
    }

    /// Sets a global raw (no metamethods, ignores read-only protection).
    pub fn set_global(&mut self, name: &str, v: Value) {
        todo!()
    }

    /// The globals table.
    pub fn globals(&self) -> Value {
        todo!()
    }

    /// Keeps `v` alive under `key` in the registry (Nil removes it).
    pub fn registry_set(&mut self, key: &str, v: Value) {
        todo!()
    }

    /// A value kept in the registry.
    pub fn registry_get(&mut self, key: &str) -> Value {
        todo!()
    }

    /// Sets (or with None removes) a table's metatable.
    pub fn set_metatable(&mut self, t: &Value, mt: Option<Value>) {
        todo!()
    }

    /// The metatable of any value (tables, and the shared one of strings).
    pub fn get_metatable(&self, v: &Value) -> Option<Value> {
        todo!()
    }

    /// Makes a table read-only (Redis's `lua_enablereadonlytable`): any assignment to
    /// it, raw or not, raises `Attempt to modify a readonly table`.
    pub fn set_readonly(&mut self, t: &Value, readonly: bool) {
        todo!()
    }

    /// `lua_tolstring`: the bytes of a string, or of a number converted with `%.14g`;
    /// None for any other type.
    pub fn to_bytes(&self, v: &Value) -> Option<Vec<u8>> {
        todo!()
    }

    /// `lua_tonumber`: a number, or a string that converts to one.
    pub fn to_number(&self, v: &Value) -> Option<f64> {
        todo!()
    }

    /// `type(v)`.
    pub fn type_name(v: &Value) -> &'static str {
        todo!()
    }

    /// A catchable error with Lua's position prefix for the running function at `level`
    /// (1 = the Lua function that called the native one), as `luaL_error` builds it:
    /// `user_script:3: message`.
    pub fn error_here(&mut self, level: u32, text: &str) -> Error {
        todo!()
    }

    /// Source name and current line of the function running at `level` (1 = the Lua
    /// function that called the running native function), as `lua_getinfo("Sl")`
    /// reports them: (`short_src`, `currentline`), e.g. ("user_script", 3).
    pub fn where_(&self, level: u32) -> Option<(String, u32)> {
        todo!()
    }

    /// Runs a full garbage collection.
    pub fn collect(&mut self) {
        todo!()
    }

    /// Bytes the heap holds, as `collectgarbage("count") * 1024` reports.
    pub fn used_memory(&self) -> usize {
        todo!()
    }
}

/// Formats a number as Lua 5.1 prints it (`%.14g`).
pub fn fmt_number(n: f64) -> String {
    todo!()
}
