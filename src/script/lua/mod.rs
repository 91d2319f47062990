//! A Lua 5.1 interpreter in safe Rust, written from the Lua 5.1 reference manual.
//!
//! This module tree imports nothing else of the crate: it can be read and tested alone.
//!
//! # The contract with the host (the `script` module above this one)
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
//! THIS FILE IS THE AGREED SURFACE: the signatures stay (additions are free).
//!
//! # Layout
//!
//! - `lex`, `parse` (-> `ast`), `compile`: source to `compile::Proto`, register bytecode
//!   close to Lua 5.1's (`Op`), with 5.1's error messages and limits (200 syntax levels).
//! - `vm`: frames, calls, the instruction loop, metamethods, error positions and variable
//!   names (`getobjname`), coroutine switching. Lua-to-Lua calls stay in one loop; a
//!   native function calling back ([`Lua::call`], metamethods, `pcall`, `sort`) re-enters
//!   it, counted like Lua's `nCcalls` (200, "C stack overflow") and bounded by a Rust stack
//!   budget, so nesting never overflows the thread's stack.
//! - `value` (equality, hashing, `%.14g`, string->number), `table` (array part + ordered
//!   hash part, 5.1's border rule and array sizing), `gc` (arenas indexed by handle, mark
//!   and sweep at allocation points when no unsafe native is running; weak tables are
//!   treated as strong and `__gc` is ignored).
//! - Libraries: `lib_base` (base + coroutine + argument checks), `lib_string` with
//!   `pattern`, `lib_table`, `lib_math` (Redis's `redisLrand48` for `math.random`).
//! - `tests` (the conformance suite, and `against_redis`, an ignored differential test
//!   against a running redis-server), `bench` (ignored timings of benches/lua/*.lua).
//!
//! Collection: a native function made with [`Lua::native`] never sees a collection while
//! it runs, even when it calls back into Lua (then garbage waits until it returns). Only
//! the built-in `pcall`, `xpcall`, `coroutine.resume`, coroutine.wrap's functions and
//! `collectgarbage`, which hold nothing the collector cannot see, let it run inside them.
//!
//! Limits: 20000 Lua frames ("stack overflow"), a heap cap (default 1 GB, see
//! [`Lua::set_memory_limit`]) and a string cap (512 MB) raising "not enough memory".

mod ast;
#[cfg(test)]
mod bench;
mod compile;
mod gc;
mod lex;
mod lib_base;
mod lib_math;
mod lib_string;
mod lib_table;
mod parse;
mod pattern;
mod table;
#[cfg(test)]
mod tests;
mod value;
mod vm;

pub use vm::MAX_CCALLS;

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
    /// Where it was raised: `source` (as Lua keeps it, `@user_script`) and current line
    /// of the innermost Lua function running then (a native function's caller), what
    /// Redis's error handler reads with `debug.getinfo`. Set by the interpreter.
    pub position: Option<(String, u32)>,
}

impl Error {
    /// A catchable error with this value (the interpreter adds the position).
    pub fn value(value: Value) -> Error {
        Error {
            value,
            fatal: false,
            position: None,
        }
    }

    /// A catchable error whose value is this message, unchanged (no position added).
    pub fn msg(lua: &mut Lua, text: &str) -> Error {
        Error::value(lua.string(text.as_bytes()))
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
    /// Native functions the host defines reach it here, by their own number: a host's
    /// state borrows from its caller, so it cannot be downcast through `Any`.
    fn host_call(&mut self, lua: &mut Lua, op: u32, args: &[Value]) -> Result<Vec<Value>, Error> {
        let _ = (op, args);
        Err(Error::msg(lua, "no host function here"))
    }
}

/// A host with nothing to offer (tests, pure computations).
pub struct NoHost;

impl Host for NoHost {
    fn interrupt(&mut self, _: &mut Lua) -> Result<(), Error> {
        Ok(())
    }
}

/// One interpreter state: heap, globals, registry, string metatable.
pub struct Lua {
    pub(crate) heap: gc::Heap,
    /// The running thread's value stack (a coroutine's is swapped in while it runs).
    pub(crate) stack: Vec<Value>,
    pub(crate) frames: Vec<vm::Frame>,
    /// Open upvalues of the running thread, by ascending stack slot.
    pub(crate) open_upvals: Vec<u32>,
    /// End of the last multiple results.
    pub(crate) top: usize,
    pub(crate) globals: u32,
    pub(crate) registry: u32,
    pub(crate) string_meta: Option<u32>,
    /// Nested entries into the VM from Rust (`LUAI_MAXCCALLS`).
    pub(crate) c_depth: u32,
    /// Set while a native function that may hold unrooted values runs.
    pub(crate) gc_inhibit: u32,
    pub(crate) hook_interval: u32,
    pub(crate) hook_left: u32,
    /// The running coroutine (`vm::MAIN` for the main thread) and those that resumed it.
    pub(crate) cur_thread: u32,
    pub(crate) chain: Vec<u32>,
    pub(crate) co_base_depth: u32,
    pub(crate) yield_vals: Vec<Value>,
    pub(crate) rand_state: [u32; 3],
    pub(crate) next_fn: u32,
    pub(crate) inext_fn: u32,
    pub(crate) arg_buf: Vec<Value>,
    /// Rust stack address at the outermost entry into the VM.
    pub(crate) stack_base: usize,
}

impl Default for Lua {
    fn default() -> Self {
        Lua::new()
    }
}

impl Lua {
    /// A fresh state with Redis 7.0's standard library set loaded.
    pub fn new() -> Lua {
        let mut heap = gc::Heap::default();
        let globals = heap.tables.alloc(table::TableObj::default());
        let registry = heap.tables.alloc(table::TableObj::default());
        let mut lua = Lua {
            heap,
            stack: Vec::with_capacity(256),
            frames: Vec::with_capacity(64),
            open_upvals: Vec::new(),
            top: 0,
            globals,
            registry,
            string_meta: None,
            c_depth: 0,
            gc_inhibit: 0,
            hook_interval: 100_000,
            hook_left: 100_000,
            cur_thread: vm::MAIN,
            chain: Vec::new(),
            co_base_depth: 0,
            yield_vals: Vec::new(),
            rand_state: [0x330E, 0xABCD, 0x1234],
            next_fn: u32::MAX,
            inext_fn: u32::MAX,
            arg_buf: Vec::new(),
            stack_base: 0,
        };
        lib_base::open(&mut lua);
        lib_string::open(&mut lua);
        lib_table::open(&mut lua);
        lib_math::open(&mut lua);
        lua.heap.reset_debt();
        lua
    }

    /// Compiles `chunk` as a function. `chunkname` follows Lua's rules (`@user_script`
    /// gives messages like `user_script:1: unexpected symbol near 'x'`). A compile error
    /// returns its message.
    pub fn load(&mut self, chunk: &[u8], chunkname: &str) -> Result<Value, String> {
        let ast = parse::parse_chunk(chunk, chunkname)?;
        let proto = compile::compile(
            &ast,
            &lex::chunk_id(chunkname),
            &lex::chunk_id_n(chunkname, 80),
            chunkname,
        )?;
        let env = self.globals;
        Ok(self.new_lua_function(proto, env))
    }

    /// Calls `f` (any callable value) with `args`, returning all its results.
    pub fn call(
        &mut self,
        f: &Value,
        args: &[Value],
        host: &mut dyn Host,
    ) -> Result<Vec<Value>, Error> {
        self.call_value(f, args, host)
    }

    /// How many VM instructions pass between [`Host::interrupt`] calls.
    pub fn set_hook_interval(&mut self, instructions: u32) {
        self.hook_interval = instructions.max(1);
        self.hook_left = self.hook_interval;
    }

    /// A new string value.
    pub fn string(&mut self, bytes: &[u8]) -> Value {
        self.heap.debt += bytes.len() + 24;
        Value::Str(LStr::new(bytes))
    }

    /// A new empty table (with room for `narr` array and `nhash` hash entries).
    pub fn create_table(&mut self, narr: usize, nhash: usize) -> Value {
        Value::Table(Table(self.heap.new_table(narr, nhash)))
    }

    /// A new userdata with no contents (as `newproxy()` makes): a unique value, equal
    /// only to itself, such as `cjson.null`.
    pub fn new_userdata(&mut self) -> Value {
        Value::UserData(UserData(self.heap.udata.alloc(gc::UdObj::default())))
    }

    /// A native function value; `name` is what error messages call it.
    pub fn native(&mut self, name: &'static str, f: NativeFn) -> Value {
        self.native_with(name, f, vec![], vm::NKind::Normal)
    }

    /// `rawget(t, k)`; Nil if `t` is not a table.
    pub fn raw_get(&self, t: &Value, k: &Value) -> Value {
        match t {
            Value::Table(t) => self.heap.tables.get(t.0).get(k),
            _ => Value::Nil,
        }
    }

    /// `rawset(t, k, v)`. Errors as Lua does: a nil or NaN key, a read-only table.
    pub fn raw_set(&mut self, t: &Value, k: Value, v: Value) -> Result<(), Error> {
        match t {
            Value::Table(t) => self.table_set_raw(t.0, k, v, false),
            _ => Err(Error::msg(self, "table expected")),
        }
    }

    /// `rawget(t, name)` with a string key.
    pub fn get_field(&mut self, t: &Value, name: &str) -> Value {
        match t {
            Value::Table(t) => self.heap.tables.get(t.0).get_str(name.as_bytes()),
            _ => Value::Nil,
        }
    }

    /// `rawset(t, name, v)` with a string key.
    pub fn set_field(&mut self, t: &Value, name: &str, v: Value) -> Result<(), Error> {
        let k = self.string(name.as_bytes());
        self.raw_set(t, k, v)
    }

    /// The length `#t` gives without metamethods (`lua_objlen`): a border of the table;
    /// for a string its byte length.
    pub fn raw_len(&self, t: &Value) -> usize {
        match t {
            Value::Table(t) => self.heap.tables.get(t.0).len(),
            Value::Str(s) => s.as_bytes().len(),
            Value::Num(n) => value::fmt_number(*n).len(),
            _ => 0,
        }
    }

    /// `next(t, k)`: the entry after `k` (Nil starts), or None at the end.
    pub fn next(&self, t: &Value, k: &Value) -> Result<Option<(Value, Value)>, Error> {
        match t {
            Value::Table(t) => match self.heap.tables.get(t.0).next(k) {
                Ok(r) => Ok(r),
                Err(()) => Err(Error::value(Value::str(b"invalid key to 'next'"))),
            },
            _ => Err(Error::value(Value::str(b"table expected"))),
        }
    }

    /// A global, read raw (no metamethods).
    pub fn get_global(&mut self, name: &str) -> Value {
        self.heap.tables.get(self.globals).get_str(name.as_bytes())
    }

    /// Sets a global raw (no metamethods, ignores read-only protection).
    pub fn set_global(&mut self, name: &str, v: Value) {
        let k = self.string(name.as_bytes());
        let g = self.globals;
        let _ = self.table_set_raw(g, k, v, true);
    }

    /// The globals table.
    pub fn globals(&self) -> Value {
        Value::Table(Table(self.globals))
    }

    /// Keeps `v` alive under `key` in the registry (Nil removes it).
    pub fn registry_set(&mut self, key: &str, v: Value) {
        let k = self.string(key.as_bytes());
        let r = self.registry;
        let _ = self.table_set_raw(r, k, v, true);
    }

    /// A value kept in the registry.
    pub fn registry_get(&mut self, key: &str) -> Value {
        self.heap.tables.get(self.registry).get_str(key.as_bytes())
    }

    /// Sets (or with None removes) a table's metatable.
    pub fn set_metatable(&mut self, t: &Value, mt: Option<Value>) {
        let m = match mt {
            Some(Value::Table(m)) => Some(m.0),
            _ => None,
        };
        match t {
            Value::Table(t) => self.heap.tables.get_mut(t.0).meta = m,
            Value::UserData(u) => self.heap.udata.get_mut(u.0).meta = m,
            Value::Str(_) => self.string_meta = m,
            _ => {}
        }
    }

    /// The metatable of any value (tables, and the shared one of strings).
    pub fn get_metatable(&self, v: &Value) -> Option<Value> {
        self.meta_of(v).map(|m| Value::Table(Table(m)))
    }

    /// Makes a table read-only (Redis's `lua_enablereadonlytable`): any assignment to
    /// it, raw or not, raises `Attempt to modify a readonly table`.
    pub fn set_readonly(&mut self, t: &Value, readonly: bool) {
        if let Value::Table(t) = t {
            self.heap.tables.get_mut(t.0).readonly = readonly;
        }
    }

    /// `lua_tolstring`: the bytes of a string, or of a number converted with `%.14g`;
    /// None for any other type.
    pub fn to_bytes(&self, v: &Value) -> Option<Vec<u8>> {
        match v {
            Value::Str(s) => Some(s.as_bytes().to_vec()),
            Value::Num(n) => Some(value::fmt_number(*n).into_bytes()),
            _ => None,
        }
    }

    /// `lua_tonumber`: a number, or a string that converts to one.
    pub fn to_number(&self, v: &Value) -> Option<f64> {
        match v {
            Value::Num(n) => Some(*n),
            Value::Str(s) => value::str_to_number(s.as_bytes()),
            _ => None,
        }
    }

    /// `rawequal(a, b)`.
    pub fn raw_equal(a: &Value, b: &Value) -> bool {
        value::raw_eq(a, b)
    }

    /// `type(v)`.
    pub fn type_name(v: &Value) -> &'static str {
        value::type_name(v)
    }

    /// A catchable error with Lua's position prefix for the running function at `level`
    /// (1 = the Lua function that called the native one), as `luaL_error` builds it:
    /// `user_script:3: message`.
    pub fn error_here(&mut self, level: u32, text: &str) -> Error {
        let prefix = match self.where_(level) {
            Some((src, line)) => format!("{}:{}: ", src, line),
            None => String::new(),
        };
        Error::msg(self, &format!("{}{}", prefix, text))
    }

    /// Source name and current line of the function running at `level` (1 = the Lua
    /// function that called the running native function), as `lua_getinfo("Sl")`
    /// reports them: (`short_src`, `currentline`), e.g. ("user_script", 3).
    pub fn where_(&self, level: u32) -> Option<(String, u32)> {
        let n = self.frames.len();
        if level as usize >= n {
            return None;
        }
        let f = &self.frames[n - 1 - level as usize];
        let p = f.proto.as_ref()?;
        let pc = f.pc.saturating_sub(1);
        Some((p.source.to_string(), p.lines.get(pc).copied().unwrap_or(0)))
    }

    /// Runs a full garbage collection.
    pub fn collect(&mut self) {
        self.full_gc();
    }

    /// Bytes the heap holds, as `collectgarbage("count") * 1024` reports.
    pub fn used_memory(&self) -> usize {
        self.heap.estimate + self.heap.debt
    }

    /// Caps the heap (estimated bytes, default 1 GB): allocations beyond raise the Lua
    /// error "not enough memory"; strings are capped at half of it (at most 512 MB).
    pub fn set_memory_limit(&mut self, bytes: usize) {
        self.heap.limit = bytes.max(1 << 20);
    }

    /// Seeds `math.random` (Redis's `redisSrand48`; Redis seeds 0 before each script).
    pub fn rand_seed(&mut self, seed: i32) {
        lib_math::srand48(self, seed);
    }
}

/// Formats a number as Lua 5.1 prints it (`%.14g`).
pub fn fmt_number(n: f64) -> String {
    value::fmt_number(n)
}
