//! The virtual machine: frames, calls, the instruction loop, metamethods, errors,
//! coroutine switching.
//!
//! Lua-to-Lua calls push a frame and stay in the same loop (no Rust recursion). Native
//! functions that call back into Lua ([`Lua::call`]), metamethods and `pcall` re-enter
//! the loop, counted by `c_depth` (Lua 5.1's `nCcalls`, limit 200).

use super::compile::{Op, Proto, RK_K};
use super::gc::{CoStatus, FuncObj, LuaFn, NativeObj, UpVal};
use super::value::{fmt_number, raw_eq, str_to_number, type_name};
use super::{Error, Function, Host, LStr, Lua, NativeFn, Table, Value};
use std::rc::Rc;

/// The main thread's id.
pub(crate) const MAIN: u32 = u32::MAX;
/// Nested native->Lua calls allowed (`LUAI_MAXCCALLS`).
pub const MAX_CCALLS: u32 = 200;
/// Lua call frames allowed (`LUAI_MAXCALLS`).
const MAX_CALLS: usize = 20000;
/// Stack slots allowed.
const MAX_STACK: usize = 1 << 21;
/// Rust stack the VM may use for nested calls from its outermost entry (bytes): the
/// server's script threads have 2 MB, of which we assume about 1 MB is ours.
const STACK_BUDGET: usize = 640 << 10;
/// Rust stack the parser and compiler may use.
pub(crate) const PARSE_STACK_BUDGET: usize = 512 << 10;

/// An address on the current Rust stack (to measure how deep we are).
#[inline(always)]
pub(crate) fn stack_addr() -> usize {
    let x = 0u8;
    std::hint::black_box(&x) as *const u8 as usize
}

/// Longest string a concatenation or `string.rep` may build.
pub(crate) const MAX_STR: usize = 512 << 20;

#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum NKind {
    /// May hold values the collector cannot see: no collection while it runs.
    Normal,
    /// Holds nothing unrooted (pcall, xpcall, resume, wrap): collection may run inside.
    Safe,
    /// `coroutine.yield`.
    Yield,
}

#[derive(Clone, Default)]
pub(crate) struct Frame {
    pub func: usize,
    pub base: usize,
    pub pc: usize,
    pub top: usize,
    pub nresults: i32,
    pub closure: u32,
    pub nvarargs: u32,
    /// The function's environment (globals) table.
    pub env: u32,
    pub proto: Option<Rc<Proto>>,
    /// Entered from Rust: returning from it leaves the instruction loop.
    pub boundary: bool,
}

pub(crate) enum Exec {
    Done,
    Yield,
}

pub(crate) enum Pre {
    Lua,
    Native,
    Yield,
}

#[derive(Clone, Copy)]
pub(crate) enum Ar {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl Ar {
    fn event(self) -> &'static str {
        match self {
            Ar::Add => "__add",
            Ar::Sub => "__sub",
            Ar::Mul => "__mul",
            Ar::Div => "__div",
            Ar::Mod => "__mod",
            Ar::Pow => "__pow",
        }
    }
}

#[inline]
pub(crate) fn arith_num(op: Ar, a: f64, b: f64) -> f64 {
    match op {
        Ar::Add => a + b,
        Ar::Sub => a - b,
        Ar::Mul => a * b,
        Ar::Div => a / b,
        Ar::Mod => a - floor(a / b) * b,
        Ar::Pow => a.powf(b),
    }
}

/// `floor` without a libm call in the common range.
#[inline]
pub(crate) fn floor(x: f64) -> f64 {
    if x.abs() < 4.5e15 {
        let t = x as i64 as f64;
        if t > x {
            t - 1.0
        } else {
            t
        }
    } else {
        x.floor()
    }
}

#[inline]
fn tonum(v: &Value) -> Option<f64> {
    match v {
        Value::Num(n) => Some(*n),
        Value::Str(s) => str_to_number(s.as_bytes()),
        _ => None,
    }
}

impl Lua {
    #[inline]
    pub(crate) fn ensure_stack(&mut self, n: usize) {
        if self.stack.len() < n {
            self.stack.resize(n, Value::Nil);
        }
    }

    pub(crate) fn new_lua_function(&mut self, proto: Rc<Proto>, env: u32) -> Value {
        let upvals: Box<[u32]> = proto
            .upvals
            .iter()
            .map(|_| self.heap.upvals.alloc(UpVal::Closed(Value::Nil)))
            .collect();
        self.heap.debt += 64 + upvals.len() * 8;
        let id = self
            .heap
            .funcs
            .alloc(FuncObj::Lua(LuaFn { proto, upvals, env }));
        Value::Function(Function(id))
    }

    pub(crate) fn native_with(
        &mut self,
        name: &'static str,
        f: NativeFn,
        upvals: Vec<Value>,
        kind: NKind,
    ) -> Value {
        self.heap.debt += 64;
        let id = self.heap.funcs.alloc(FuncObj::Native(NativeObj {
            name,
            f,
            upvals,
            kind,
        }));
        Value::Function(Function(id))
    }

    /// The upvalues of the running native function.
    pub(crate) fn native_upvals(&self) -> &[Value] {
        match self.frames.last() {
            Some(f) => match self.heap.funcs.get(f.closure) {
                FuncObj::Native(n) => &n.upvals,
                _ => &[],
            },
            None => &[],
        }
    }

    pub(crate) fn native_upvals_mut(&mut self) -> Option<&mut Vec<Value>> {
        let c = self.frames.last()?.closure;
        match self.heap.funcs.get_mut(c) {
            FuncObj::Native(n) => Some(&mut n.upvals),
            _ => None,
        }
    }

    pub(crate) fn meta_of(&self, v: &Value) -> Option<u32> {
        match v {
            Value::Table(t) => self.heap.tables.get(t.0).meta,
            Value::UserData(u) => self.heap.udata.get(u.0).meta,
            Value::Str(_) => self.string_meta,
            _ => None,
        }
    }

    pub(crate) fn metamethod(&self, v: &Value, event: &str) -> Value {
        match self.meta_of(v) {
            Some(m) => self.heap.tables.get(m).get_str(event.as_bytes()),
            None => Value::Nil,
        }
    }

    /// An error with the running Lua function's position (as `luaG_runerror`).
    pub(crate) fn rt_error(&mut self, msg: &str) -> Error {
        let prefix = match self.frames.last() {
            Some(f) => match &f.proto {
                Some(p) => format!(
                    "{}:{}: ",
                    p.source,
                    p.lines.get(f.pc.saturating_sub(1)).copied().unwrap_or(0)
                ),
                None => String::new(),
            },
            None => String::new(),
        };
        Error::msg(self, &format!("{}{}", prefix, msg))
    }

    /// Past the heap cap: collect (when allowed) and fail if still past it.
    #[inline(never)]
    pub(crate) fn check_mem(&mut self) -> Result<(), Error> {
        if self.gc_inhibit == 0 {
            self.full_gc();
        }
        if self.heap.over_cap() {
            return Err(self.mem_error());
        }
        Ok(())
    }

    pub(crate) fn mem_error(&mut self) -> Error {
        Error::msg(self, "not enough memory")
    }

    /// Describes register `reg` of the running Lua function (`getobjname`).
    fn describe(&self, reg: usize) -> Option<(&'static str, String)> {
        let f = self.frames.last()?;
        let p = f.proto.as_ref()?;
        describe_reg(p, f.pc.saturating_sub(1), reg)
    }

    /// How the Lua function that called the running native named it (`getfuncname`).
    pub(crate) fn calling_name(&self) -> Option<(&'static str, String)> {
        let n = self.frames.len();
        if n < 2 {
            return None;
        }
        let f = &self.frames[n - 2];
        let p = f.proto.as_ref()?;
        let pc = f.pc.checked_sub(1)?;
        match p.code.get(pc)? {
            Op::Call(a, _, _) | Op::TailCall(a, _) => describe_reg(p, pc, *a as usize),
            _ => None,
        }
    }

    pub(crate) fn type_error(&mut self, v: &Value, op: &str, reg: Option<usize>) -> Error {
        let t = type_name(v);
        let msg = match reg.and_then(|r| self.describe(r)) {
            Some((kind, name)) => format!("attempt to {} {} '{}' (a {} value)", op, kind, name, t),
            None => format!("attempt to {} a {} value", op, t),
        };
        self.rt_error(&msg)
    }

    pub(crate) fn close_upvals(&mut self, level: usize) {
        while let Some(&u) = self.open_upvals.last() {
            let idx = match self.heap.upvals.get(u) {
                UpVal::Open(_, i) => *i as usize,
                UpVal::Closed(_) => {
                    self.open_upvals.pop();
                    continue;
                }
            };
            if idx < level {
                break;
            }
            let v = self.stack.get(idx).cloned().unwrap_or_default();
            *self.heap.upvals.get_mut(u) = UpVal::Closed(v);
            self.open_upvals.pop();
        }
    }

    fn find_upval(&mut self, idx: usize) -> u32 {
        let mut pos = self.open_upvals.len();
        while pos > 0 {
            let u = self.open_upvals[pos - 1];
            if let UpVal::Open(_, i) = self.heap.upvals.get(u) {
                let i = *i as usize;
                if i == idx {
                    return u;
                }
                if i < idx {
                    break;
                }
            }
            pos -= 1;
        }
        let u = self
            .heap
            .upvals
            .alloc(UpVal::Open(self.cur_thread, idx as u32));
        self.heap.debt += 40;
        self.open_upvals.insert(pos, u);
        u
    }

    /// The stack of thread `th` wherever it is kept right now.
    pub(crate) fn stack_of(&self, th: u32) -> &Vec<Value> {
        if th == self.cur_thread {
            return &self.stack;
        }
        if let Some(p) = self.chain.iter().position(|&c| c == th) {
            let holder = if p + 1 < self.chain.len() {
                self.chain[p + 1]
            } else {
                self.cur_thread
            };
            return &self.heap.threads.get(holder).stack;
        }
        &self.heap.threads.get(th).stack
    }

    fn stack_of_mut(&mut self, th: u32) -> &mut Vec<Value> {
        if th == self.cur_thread {
            return &mut self.stack;
        }
        if let Some(p) = self.chain.iter().position(|&c| c == th) {
            let holder = if p + 1 < self.chain.len() {
                self.chain[p + 1]
            } else {
                self.cur_thread
            };
            return &mut self.heap.threads.get_mut(holder).stack;
        }
        &mut self.heap.threads.get_mut(th).stack
    }

    #[inline]
    fn upval_get(&self, u: u32) -> Value {
        match self.heap.upvals.get(u) {
            UpVal::Closed(v) => v.clone(),
            UpVal::Open(th, i) => {
                if *th == self.cur_thread {
                    self.stack[*i as usize].clone()
                } else {
                    self.stack_of(*th)
                        .get(*i as usize)
                        .cloned()
                        .unwrap_or_default()
                }
            }
        }
    }

    #[inline]
    fn upval_set(&mut self, u: u32, v: Value) {
        match self.heap.upvals.get_mut(u) {
            UpVal::Closed(c) => *c = v,
            UpVal::Open(th, i) => {
                let (th, i) = (*th, *i as usize);
                if th == self.cur_thread {
                    self.stack[i] = v;
                } else if let Some(slot) = self.stack_of_mut(th).get_mut(i) {
                    *slot = v;
                }
            }
        }
    }

    /// Sets `t[k] = v` without metamethods. `force` ignores read-only protection.
    pub(crate) fn table_set_raw(
        &mut self,
        t: u32,
        k: Value,
        v: Value,
        force: bool,
    ) -> Result<(), Error> {
        if self.heap.tables.get(t).readonly && !force {
            return Err(self.rt_error("Attempt to modify a readonly table"));
        }
        match &k {
            Value::Nil => return Err(self.rt_error("table index is nil")),
            Value::Num(n) if n.is_nan() => return Err(self.rt_error("table index is NaN")),
            _ => {}
        }
        let grown = self.heap.tables.get_mut(t).set(k, v);
        if grown > 0 {
            self.heap.debt += grown;
            if self.heap.over_cap() {
                return self.check_mem();
            }
        }
        Ok(())
    }

    /// `t[k]` through chains of `__index` tables, without calls: None when a function
    /// (or a non-table) is in the way.
    #[inline]
    fn index_chain(&self, mut t: u32, key: &Value) -> Option<Value> {
        for _ in 0..8 {
            let tb = self.heap.tables.get(t);
            let v = tb.get(key);
            if !v.is_nil() {
                return Some(v);
            }
            match tb.meta {
                None => return Some(Value::Nil),
                Some(m) => match self.heap.tables.get(m).get_str(b"__index") {
                    Value::Nil => return Some(Value::Nil),
                    Value::Table(n) => t = n.0,
                    _ => return None,
                },
            }
        }
        None
    }

    /// `t[k]` with metamethods (`luaV_gettable`); `reg` names `t` in messages.
    pub(crate) fn index_value(
        &mut self,
        obj: &Value,
        key: &Value,
        host: &mut dyn Host,
        reg: Option<usize>,
    ) -> Result<Value, Error> {
        let mut t = obj.clone();
        let mut reg = reg;
        for _ in 0..100 {
            let mm;
            if let Value::Table(id) = &t {
                let tb = self.heap.tables.get(id.0);
                let v = tb.get(key);
                if !v.is_nil() {
                    return Ok(v);
                }
                match tb.meta {
                    None => return Ok(Value::Nil),
                    Some(m) => {
                        mm = self.heap.tables.get(m).get_str(b"__index");
                        if mm.is_nil() {
                            return Ok(Value::Nil);
                        }
                    }
                }
            } else {
                mm = self.metamethod(&t, "__index");
                if mm.is_nil() {
                    return Err(self.type_error(&t, "index", reg));
                }
            }
            if let Value::Function(_) = mm {
                return self.call_first(&mm, &[t, key.clone()], host);
            }
            t = mm;
            reg = None;
        }
        Err(self.rt_error("loop in gettable"))
    }

    /// `t[k] = v` with metamethods (`luaV_settable`).
    pub(crate) fn set_index(
        &mut self,
        obj: &Value,
        key: Value,
        val: Value,
        host: &mut dyn Host,
        reg: Option<usize>,
    ) -> Result<(), Error> {
        let mut t = obj.clone();
        let mut reg = reg;
        for _ in 0..100 {
            let mm;
            if let Value::Table(id) = &t {
                let id = id.0;
                let tb = self.heap.tables.get(id);
                if tb.readonly {
                    return Err(self.rt_error("Attempt to modify a readonly table"));
                }
                let m = match tb.meta {
                    Some(m) if tb.get(&key).is_nil() => {
                        self.heap.tables.get(m).get_str(b"__newindex")
                    }
                    _ => Value::Nil,
                };
                if m.is_nil() {
                    return self.table_set_raw(id, key, val, false);
                }
                mm = m;
            } else {
                mm = self.metamethod(&t, "__newindex");
                if mm.is_nil() {
                    return Err(self.type_error(&t, "index", reg));
                }
            }
            if let Value::Function(_) = mm {
                self.call_value(&mm, &[t, key, val], host)?;
                return Ok(());
            }
            t = mm;
            reg = None;
        }
        Err(self.rt_error("loop in settable"))
    }

    fn arith_slow(
        &mut self,
        op: Ar,
        x: &Value,
        y: &Value,
        rb: u16,
        rc: u16,
        host: &mut dyn Host,
    ) -> Result<Value, Error> {
        if let (Some(a), Some(b)) = (tonum(x), tonum(y)) {
            return Ok(Value::Num(arith_num(op, a, b)));
        }
        let ev = op.event();
        let mut mm = self.metamethod(x, ev);
        if mm.is_nil() {
            mm = self.metamethod(y, ev);
        }
        if !mm.is_nil() {
            return self.call_first(&mm, &[x.clone(), y.clone()], host);
        }
        let (bad, reg) = if tonum(x).is_none() { (x, rb) } else { (y, rc) };
        let reg = if reg < RK_K { Some(reg as usize) } else { None };
        Err(self.type_error(bad, "perform arithmetic on", reg))
    }

    fn comp_tm(&self, x: &Value, y: &Value, ev: &str) -> Option<Value> {
        if type_name(x) != type_name(y) {
            return None;
        }
        let m1 = self.metamethod(x, ev);
        if m1.is_nil() {
            return None;
        }
        let m2 = self.metamethod(y, ev);
        if raw_eq(&m1, &m2) {
            Some(m1)
        } else {
            None
        }
    }

    fn order_error(&mut self, x: &Value, y: &Value) -> Error {
        let (t1, t2) = (type_name(x), type_name(y));
        if t1 == t2 {
            self.rt_error(&format!("attempt to compare two {} values", t1))
        } else {
            self.rt_error(&format!("attempt to compare {} with {}", t1, t2))
        }
    }

    pub(crate) fn less_than(
        &mut self,
        x: &Value,
        y: &Value,
        host: &mut dyn Host,
    ) -> Result<bool, Error> {
        match (x, y) {
            (Value::Num(a), Value::Num(b)) => Ok(a < b),
            (Value::Str(a), Value::Str(b)) => Ok(a.as_bytes() < b.as_bytes()),
            _ => match self.comp_tm(x, y, "__lt") {
                Some(mm) => Ok(self
                    .call_first(&mm, &[x.clone(), y.clone()], host)?
                    .truthy()),
                None => Err(self.order_error(x, y)),
            },
        }
    }

    fn less_equal(&mut self, x: &Value, y: &Value, host: &mut dyn Host) -> Result<bool, Error> {
        match (x, y) {
            (Value::Num(a), Value::Num(b)) => Ok(a <= b),
            (Value::Str(a), Value::Str(b)) => Ok(a.as_bytes() <= b.as_bytes()),
            _ => {
                if let Some(mm) = self.comp_tm(x, y, "__le") {
                    return Ok(self
                        .call_first(&mm, &[x.clone(), y.clone()], host)?
                        .truthy());
                }
                if let Some(mm) = self.comp_tm(y, x, "__lt") {
                    return Ok(!self
                        .call_first(&mm, &[y.clone(), x.clone()], host)?
                        .truthy());
                }
                Err(self.order_error(x, y))
            }
        }
    }

    pub(crate) fn equals(
        &mut self,
        x: &Value,
        y: &Value,
        host: &mut dyn Host,
    ) -> Result<bool, Error> {
        if raw_eq(x, y) {
            return Ok(true);
        }
        match (x, y) {
            (Value::Table(_), Value::Table(_)) | (Value::UserData(_), Value::UserData(_)) => {
                match self.comp_tm(x, y, "__eq") {
                    Some(mm) => Ok(self
                        .call_first(&mm, &[x.clone(), y.clone()], host)?
                        .truthy()),
                    None => Ok(false),
                }
            }
            _ => Ok(false),
        }
    }

    fn concat(&mut self, first_i: usize, last: usize, host: &mut dyn Host) -> Result<Value, Error> {
        let mut total = 0usize;
        let mut all = true;
        for v in &self.stack[first_i..=last] {
            match v {
                Value::Str(s) => total += s.as_bytes().len(),
                Value::Num(_) => total += 24,
                _ => {
                    all = false;
                    break;
                }
            }
        }
        if all {
            if total > self.heap.max_str() {
                return Err(self.mem_error());
            }
            let mut buf = Vec::with_capacity(total);
            for v in &self.stack[first_i..=last] {
                match v {
                    Value::Str(s) => buf.extend_from_slice(s.as_bytes()),
                    Value::Num(n) => buf.extend_from_slice(fmt_number(*n).as_bytes()),
                    _ => {}
                }
            }
            self.heap.debt += buf.len() + 24;
            return Ok(Value::Str(LStr::from_vec(buf)));
        }
        let base = self.frames.last().map(|f| f.base).unwrap_or(0);
        let mut acc = self.stack[last].clone();
        let mut acc_reg = Some(last - base);
        let mut i = last;
        while i > first_i {
            i -= 1;
            let lhs = self.stack[i].clone();
            let strish = |v: &Value| matches!(v, Value::Str(_) | Value::Num(_));
            if strish(&lhs) && strish(&acc) {
                let mut b = self.to_bytes(&lhs).unwrap_or_default();
                b.extend(self.to_bytes(&acc).unwrap_or_default());
                if b.len() > self.heap.max_str() {
                    return Err(self.mem_error());
                }
                acc = Value::Str(LStr::from_vec(b));
            } else {
                let mut mm = self.metamethod(&lhs, "__concat");
                if mm.is_nil() {
                    mm = self.metamethod(&acc, "__concat");
                }
                if mm.is_nil() {
                    let (bad, reg) = if strish(&lhs) {
                        (acc.clone(), acc_reg)
                    } else {
                        (lhs.clone(), Some(i - base))
                    };
                    return Err(self.type_error(&bad, "concatenate", reg));
                }
                acc = self.call_first(&mm, &[lhs, acc], host)?;
            }
            acc_reg = None;
        }
        Ok(acc)
    }

    fn len_of(&mut self, v: &Value, reg: usize, host: &mut dyn Host) -> Result<Value, Error> {
        match v {
            Value::Str(s) => Ok(Value::Num(s.as_bytes().len() as f64)),
            Value::Table(t) => Ok(Value::Num(self.heap.tables.get(t.0).len() as f64)),
            _ => {
                let mm = self.metamethod(v, "__len");
                if mm.is_nil() {
                    return Err(self.type_error(v, "get length of", Some(reg)));
                }
                Ok(self.call_first(&mm, std::slice::from_ref(v), host)?)
            }
        }
    }

    /// Places a native function's results at `func` as the caller asked.
    pub(crate) fn place_results(&mut self, func: usize, rets: Vec<Value>, nresults: i32) {
        if nresults < 0 {
            let n = rets.len();
            self.ensure_stack(func + n + 1);
            for (i, v) in rets.into_iter().enumerate() {
                self.stack[func + i] = v;
            }
            self.top = func + n;
        } else {
            let want = nresults as usize;
            self.ensure_stack(func + want + 1);
            let mut it = rets.into_iter();
            for i in 0..want {
                self.stack[func + i] = it.next().unwrap_or_default();
            }
        }
    }

    /// Starts a call of `stack[func]` with `nargs` arguments above it.
    pub(crate) fn precall(
        &mut self,
        func: usize,
        nargs: usize,
        nresults: i32,
        host: &mut dyn Host,
    ) -> Result<Pre, Error> {
        let mut nargs = nargs;
        let mut tried_meta = false;
        loop {
            if let Value::Function(f) = &self.stack[func] {
                let id = f.0;
                match self.heap.funcs.get(id) {
                    FuncObj::Lua(l) => {
                        let proto = l.proto.clone();
                        let env = l.env;
                        if self.frames.len() >= MAX_CALLS {
                            return Err(self.rt_error("stack overflow"));
                        }
                        let np = proto.nparams;
                        let (base, nvar) = if proto.is_vararg {
                            (func + 1 + nargs, nargs.saturating_sub(np))
                        } else {
                            (func + 1, 0)
                        };
                        let need = base + proto.max_stack + 1;
                        if need > MAX_STACK {
                            return Err(self.rt_error("stack overflow"));
                        }
                        self.ensure_stack(need);
                        if proto.is_vararg {
                            for i in 0..np {
                                let v = if i < nargs {
                                    std::mem::take(&mut self.stack[func + 1 + i])
                                } else {
                                    Value::Nil
                                };
                                self.stack[base + i] = v;
                            }
                        } else {
                            for i in nargs..np {
                                self.stack[base + i] = Value::Nil;
                            }
                        }
                        let top = base + proto.max_stack;
                        // Filled in place: building it on the stack first and copying
                        // stalls the store buffer on every call.
                        self.frames.push(Frame::default());
                        if let Some(f) = self.frames.last_mut() {
                            f.func = func;
                            f.base = base;
                            f.top = top;
                            f.nresults = nresults;
                            f.closure = id;
                            f.nvarargs = nvar as u32;
                            f.env = env;
                            f.proto = Some(proto);
                        }
                        return Ok(Pre::Lua);
                    }
                    FuncObj::Native(n) => {
                        let (f, kind) = (n.f, n.kind);
                        return self.call_native(func, nargs, nresults, id, f, kind, host);
                    }
                }
            }
            let v = self.stack[func].clone();
            let mm = self.metamethod(&v, "__call");
            if mm.is_nil() || tried_meta {
                let reg = match self.frames.last() {
                    Some(f) if f.proto.is_some() && func >= f.base => Some(func - f.base),
                    _ => None,
                };
                return Err(self.type_error(&v, "call", reg));
            }
            tried_meta = true;
            self.ensure_stack(func + nargs + 3);
            for i in (func..=func + nargs).rev() {
                self.stack[i + 1] = std::mem::take(&mut self.stack[i]);
            }
            self.stack[func] = mm;
            nargs += 1;
        }
    }

    /// The common case of [`Lua::precall`], inlined in the instruction loop: a Lua
    /// function without varargs, with room for its frame. False (nothing done) otherwise.
    #[inline(always)]
    fn enter_lua_fixed(&mut self, func: usize, nargs: usize, nresults: i32) -> bool {
        let Value::Function(f) = &self.stack[func] else {
            return false;
        };
        let id = f.0;
        let FuncObj::Lua(l) = self.heap.funcs.get(id) else {
            return false;
        };
        let p = &l.proto;
        let base = func + 1;
        let top = base + p.max_stack;
        if p.is_vararg || self.frames.len() >= MAX_CALLS || top + 1 > MAX_STACK {
            return false;
        }
        let np = p.nparams;
        let proto = p.clone();
        let env = l.env;
        self.ensure_stack(top + 1);
        if nargs < np {
            for v in &mut self.stack[base + nargs..base + np] {
                *v = Value::Nil;
            }
        }
        self.frames.push(Frame::default());
        if let Some(f) = self.frames.last_mut() {
            f.func = func;
            f.base = base;
            f.top = top;
            f.nresults = nresults;
            f.closure = id;
            f.env = env;
            f.proto = Some(proto);
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn call_native(
        &mut self,
        func: usize,
        nargs: usize,
        nresults: i32,
        id: u32,
        f: NativeFn,
        kind: NKind,
        host: &mut dyn Host,
    ) -> Result<Pre, Error> {
        if kind == NKind::Yield {
            return self.do_yield(func, nargs, nresults);
        }
        let mut args = std::mem::take(&mut self.arg_buf);
        args.clear();
        args.extend_from_slice(&self.stack[func + 1..func + 1 + nargs]);
        let env = self.globals;
        self.frames.push(Frame::default());
        if let Some(f) = self.frames.last_mut() {
            f.func = func;
            f.base = func + 1;
            f.top = func + 1 + nargs;
            f.nresults = nresults;
            f.closure = id;
            f.env = env;
        }
        let safe = kind == NKind::Safe;
        if !safe {
            self.gc_inhibit += 1;
        }
        let r = f(self, host, &args);
        if !safe {
            self.gc_inhibit -= 1;
        }
        self.frames.pop();
        args.clear();
        if self.arg_buf.capacity() < args.capacity() {
            self.arg_buf = args;
        }
        let rets = r?;
        self.place_results(func, rets, nresults);
        Ok(Pre::Native)
    }

    fn do_yield(&mut self, func: usize, nargs: usize, nresults: i32) -> Result<Pre, Error> {
        if self.cur_thread == MAIN || self.c_depth != self.co_base_depth {
            return Err(Error::msg(
                self,
                "attempt to yield across metamethod/C-call boundary",
            ));
        }
        self.yield_vals = self.stack[func + 1..func + 1 + nargs].to_vec();
        let co = self.cur_thread;
        self.heap.threads.get_mut(co).target = (func, nresults);
        Ok(Pre::Yield)
    }

    /// Calls `f(args)` from Rust, re-entering the VM.
    pub(crate) fn call_value(
        &mut self,
        f: &Value,
        args: &[Value],
        host: &mut dyn Host,
    ) -> Result<Vec<Value>, Error> {
        let func = self.call_in_place(f, args, host)?;
        Ok(self.stack[func..self.top].to_vec())
    }

    /// Calls `f(args)` from Rust and keeps only its first result (no result vector).
    pub(crate) fn call_first(
        &mut self,
        f: &Value,
        args: &[Value],
        host: &mut dyn Host,
    ) -> Result<Value, Error> {
        let func = self.call_in_place(f, args, host)?;
        Ok(if self.top > func {
            std::mem::take(&mut self.stack[func])
        } else {
            Value::Nil
        })
    }

    /// Calls `f(args)` from Rust; its results are left at `stack[func..self.top]`, and
    /// `func` is returned.
    fn call_in_place(
        &mut self,
        f: &Value,
        args: &[Value],
        host: &mut dyn Host,
    ) -> Result<usize, Error> {
        if self.c_depth == 0 {
            self.stack_base = stack_addr();
        }
        if self.c_depth >= MAX_CCALLS || self.stack_base.abs_diff(stack_addr()) > STACK_BUDGET {
            return Err(self.rt_error("C stack overflow"));
        }
        let func = match self.frames.last() {
            Some(fr) => fr.top.max(self.top_hint()),
            None => 0,
        };
        if func + args.len() + 2 > MAX_STACK {
            return Err(self.rt_error("stack overflow"));
        }
        self.ensure_stack(func + args.len() + 2);
        self.stack[func] = f.clone();
        for (i, a) in args.iter().enumerate() {
            self.stack[func + 1 + i] = a.clone();
        }
        let nframes = self.frames.len();
        self.c_depth += 1;
        let r = self.call_at(func, args.len(), host);
        self.c_depth -= 1;
        match r {
            Ok(()) => Ok(func),
            Err(mut e) => {
                // Where it was raised: the innermost Lua function still on the stack
                // (the caller, when a native function raised it).
                if e.position.is_none() {
                    e.position = self.frames[nframes.min(self.frames.len())..]
                        .iter()
                        .rev()
                        .find_map(|f| {
                            let p = f.proto.as_ref()?;
                            let line = p.lines.get(f.pc.saturating_sub(1)).copied().unwrap_or(0);
                            Some((p.chunkname.to_string(), line))
                        });
                }
                self.close_upvals(func);
                self.frames.truncate(nframes);
                Err(e)
            }
        }
    }

    fn top_hint(&self) -> usize {
        0
    }

    fn call_at(&mut self, func: usize, nargs: usize, host: &mut dyn Host) -> Result<(), Error> {
        let pre = if self.enter_lua_fixed(func, nargs, -1) {
            Pre::Lua
        } else {
            self.precall(func, nargs, -1, host)?
        };
        match pre {
            Pre::Lua => {
                self.frames.last_mut().unwrap().boundary = true;
                match self.execute(host)? {
                    Exec::Done => Ok(()),
                    Exec::Yield => Err(Error::msg(
                        self,
                        "attempt to yield across metamethod/C-call boundary",
                    )),
                }
            }
            Pre::Native => Ok(()),
            Pre::Yield => Err(Error::msg(
                self,
                "attempt to yield across metamethod/C-call boundary",
            )),
        }
    }

    /// Resumes coroutine `co`: Ok(Ok(values)) when it yields or returns, Ok(Err(value))
    /// when it raised an error, Err for fatal errors.
    pub(crate) fn resume(
        &mut self,
        co: u32,
        args: &[Value],
        host: &mut dyn Host,
    ) -> Result<Result<Vec<Value>, Value>, Error> {
        let st = self.heap.threads.get(co).status;
        match st {
            CoStatus::Fresh | CoStatus::Suspended => {}
            CoStatus::Dead => {
                return Ok(Err(Value::str(b"cannot resume dead coroutine")));
            }
            _ => return Ok(Err(Value::str(b"cannot resume non-suspended coroutine"))),
        }
        if self.c_depth >= MAX_CCALLS || self.stack_base.abs_diff(stack_addr()) > STACK_BUDGET {
            return Ok(Err(Value::str(b"C stack overflow")));
        }
        let prev = self.cur_thread;
        if prev != MAIN {
            self.heap.threads.get_mut(prev).status = CoStatus::Normal;
        }
        {
            let c = self.heap.threads.get_mut(co);
            std::mem::swap(&mut self.stack, &mut c.stack);
            std::mem::swap(&mut self.frames, &mut c.frames);
            std::mem::swap(&mut self.open_upvals, &mut c.open);
            c.status = CoStatus::Running;
        }
        let saved_top = self.top;
        self.chain.push(prev);
        self.cur_thread = co;
        let saved_base = self.co_base_depth;
        self.c_depth += 1;
        self.co_base_depth = self.c_depth;
        let r = self.resume_inner(co, st, args, host);
        self.c_depth -= 1;
        self.co_base_depth = saved_base;
        let (status, result) = match r {
            Ok(Exec::Done) => {
                let out = self.stack[..self.top.min(self.stack.len())].to_vec();
                (CoStatus::Dead, Ok(Ok(out)))
            }
            Ok(Exec::Yield) => (
                CoStatus::Suspended,
                Ok(Ok(std::mem::take(&mut self.yield_vals))),
            ),
            Err(e) => {
                self.close_upvals(0);
                if e.fatal {
                    (CoStatus::Dead, Err(e))
                } else {
                    (CoStatus::Dead, Ok(Err(e.value)))
                }
            }
        };
        {
            let c = self.heap.threads.get_mut(co);
            std::mem::swap(&mut self.stack, &mut c.stack);
            std::mem::swap(&mut self.frames, &mut c.frames);
            std::mem::swap(&mut self.open_upvals, &mut c.open);
            c.status = status;
            if status == CoStatus::Dead {
                c.stack = Vec::new();
                c.frames = Vec::new();
            }
        }
        self.chain.pop();
        self.cur_thread = prev;
        if prev != MAIN {
            self.heap.threads.get_mut(prev).status = CoStatus::Running;
        }
        self.top = saved_top;
        result
    }

    fn resume_inner(
        &mut self,
        co: u32,
        st: CoStatus,
        args: &[Value],
        host: &mut dyn Host,
    ) -> Result<Exec, Error> {
        if st == CoStatus::Fresh {
            let f = self.heap.threads.get(co).func.clone();
            self.ensure_stack(args.len() + 2);
            self.stack[0] = f;
            for (i, a) in args.iter().enumerate() {
                self.stack[1 + i] = a.clone();
            }
            match self.precall(0, args.len(), -1, host)? {
                Pre::Lua => {
                    self.frames.last_mut().unwrap().boundary = true;
                    self.execute(host)
                }
                Pre::Native => Ok(Exec::Done),
                Pre::Yield => Ok(Exec::Yield),
            }
        } else {
            let (target, want) = self.heap.threads.get(co).target;
            self.place_results(target, args.to_vec(), want);
            if self.frames.is_empty() {
                return Ok(Exec::Done);
            }
            self.execute(host)
        }
    }

    /// The instruction loop: runs until the frame marked `boundary` returns.
    pub(crate) fn execute(&mut self, host: &mut dyn Host) -> Result<Exec, Error> {
        'newframe: loop {
            let fi = self.frames.len() - 1;
            let (proto, base, closure, mut env) = {
                let f = &self.frames[fi];
                (
                    f.proto.clone().unwrap_or_default(),
                    f.base,
                    f.closure,
                    f.env,
                )
            };
            let mut pc = self.frames[fi].pc;
            let code = &proto.code[..];
            let k = &proto.consts[..];

            macro_rules! save {
                () => {
                    self.frames[fi].pc = pc
                };
            }
            macro_rules! reg {
                ($r:expr) => {
                    self.stack[base + $r as usize]
                };
            }
            macro_rules! rk {
                ($x:expr) => {
                    if $x < RK_K {
                        &self.stack[base + $x as usize]
                    } else {
                        &k[($x - RK_K) as usize]
                    }
                };
            }
            // Writes a number in place (no drop check, no temporary).
            macro_rules! setnum {
                ($slot:expr, $n:expr) => {{
                    let n = $n;
                    match &mut $slot {
                        Value::Num(x) => *x = n,
                        slot => *slot = Value::Num(n),
                    }
                }};
            }
            macro_rules! setv {
                ($slot:expr, $v:expr) => {{
                    match $v {
                        Value::Num(n) => setnum!($slot, n),
                        v => $slot = v,
                    }
                }};
            }
            macro_rules! arith {
                ($a:expr, $b:expr, $c:expr, $op:expr) => {{
                    let x = rk!($b);
                    let y = rk!($c);
                    if let (Value::Num(x), Value::Num(y)) = (x, y) {
                        let r = arith_num($op, *x, *y);
                        setnum!(reg!($a), r);
                    } else {
                        let (x, y) = (x.clone(), y.clone());
                        save!();
                        let r = self.arith_slow($op, &x, &y, $b, $c, host)?;
                        reg!($a) = r;
                    }
                }};
            }

            // A comparison or test is always followed by its jump: take it here when the
            // condition holds (as Lua's `dojump` in OP_LT), else skip it.
            macro_rules! cond_jump {
                ($taken:expr) => {{
                    if $taken {
                        if let Some(Op::Jmp(off)) = code.get(pc) {
                            pc = (pc as i64 + 1 + *off as i64) as usize;
                        }
                    } else {
                        pc += 1;
                    }
                }};
            }

            loop {
                let op = code[pc];
                pc += 1;
                self.hook_left -= 1;
                if self.hook_left == 0 {
                    self.hook_left = self.hook_interval;
                    save!();
                    host.interrupt(self)?;
                }
                match op {
                    Op::Move(a, b) => {
                        if let Value::Num(n) = reg!(b) {
                            setnum!(reg!(a), n);
                        } else {
                            let v = reg!(b).clone();
                            reg!(a) = v;
                        }
                    }
                    Op::LoadK(a, i) => {
                        if let Value::Num(n) = k[i as usize] {
                            setnum!(reg!(a), n);
                        } else {
                            reg!(a) = k[i as usize].clone();
                        }
                    }
                    Op::LoadNil(a, b) => {
                        for r in a..=b {
                            reg!(r) = Value::Nil;
                        }
                    }
                    Op::LoadBool(a, b, skip) => {
                        reg!(a) = Value::Bool(b);
                        if skip {
                            pc += 1;
                        }
                    }
                    Op::GetUpval(a, i) => {
                        let u = match self.heap.funcs.get(closure) {
                            FuncObj::Lua(l) => l.upvals[i as usize],
                            _ => 0,
                        };
                        let v = self.upval_get(u);
                        setv!(reg!(a), v);
                    }
                    Op::SetUpval(a, i) => {
                        let u = match self.heap.funcs.get(closure) {
                            FuncObj::Lua(l) => l.upvals[i as usize],
                            _ => 0,
                        };
                        let v = reg!(a).clone();
                        self.upval_set(u, v);
                    }
                    Op::GetGlobal(a, i) => {
                        let key = &k[i as usize];
                        let v = self.heap.tables.get(env).get(key);
                        if !v.is_nil() {
                            setv!(reg!(a), v);
                        } else {
                            save!();
                            let key = key.clone();
                            let v =
                                self.index_value(&Value::Table(Table(env)), &key, host, None)?;
                            reg!(a) = v;
                        }
                    }
                    Op::SetGlobal(a, i) => {
                        let key = k[i as usize].clone();
                        let v = reg!(a).clone();
                        save!();
                        self.set_index(&Value::Table(Table(env)), key, v, host, None)?;
                    }
                    Op::GetTable(a, b, c) => {
                        let key = rk!(c);
                        if let Value::Table(t) = &reg!(b) {
                            let tb = self.heap.tables.get(t.0);
                            let v = tb.get(key);
                            if !v.is_nil() || tb.meta.is_none() {
                                setv!(reg!(a), v);
                                continue;
                            }
                            if let Some(v) = self.index_chain(t.0, key) {
                                setv!(reg!(a), v);
                                continue;
                            }
                        }
                        let key = key.clone();
                        let obj = reg!(b).clone();
                        save!();
                        let v = self.index_value(&obj, &key, host, Some(b as usize))?;
                        reg!(a) = v;
                    }
                    Op::SetTable(a, b, c) => {
                        let key = rk!(b).clone();
                        let val = rk!(c).clone();
                        if let Value::Table(t) = &reg!(a) {
                            let id = t.0;
                            let tb = self.heap.tables.get_mut(id);
                            let plain = match &key {
                                Value::Nil => false,
                                Value::Num(n) => !n.is_nan(),
                                _ => true,
                            };
                            if tb.meta.is_none() && !tb.readonly && plain {
                                let g = tb.set(key, val);
                                if g > 0 {
                                    self.heap.debt += g;
                                    if self.heap.over_cap() {
                                        save!();
                                        self.check_mem()?;
                                    }
                                }
                                continue;
                            }
                        }
                        let obj = reg!(a).clone();
                        save!();
                        self.set_index(&obj, key, val, host, Some(a as usize))?;
                    }
                    Op::NewTable(a, narr, nhash) => {
                        let id = self.heap.new_table(narr as usize, nhash as usize);
                        reg!(a) = Value::Table(Table(id));
                        if self.heap.debt > self.heap.threshold {
                            save!();
                            if self.heap.over_cap() {
                                self.check_mem()?;
                            }
                            self.gc_check();
                        }
                    }
                    Op::SelfCall(a, b, c) => {
                        let obj = reg!(b).clone();
                        let key = rk!(c).clone();
                        reg!(a + 1) = obj.clone();
                        let v = match &obj {
                            Value::Table(t) => self.index_chain(t.0, &key),
                            Value::Str(_) => match self.string_meta {
                                Some(m) => match self.heap.tables.get(m).get_str(b"__index") {
                                    Value::Table(st) => self.index_chain(st.0, &key),
                                    _ => None,
                                },
                                None => None,
                            },
                            _ => None,
                        };
                        let v = match v {
                            Some(v) => v,
                            None => {
                                save!();
                                self.index_value(&obj, &key, host, Some(b as usize))?
                            }
                        };
                        reg!(a) = v;
                    }
                    Op::Add(a, b, c) => arith!(a, b, c, Ar::Add),
                    Op::Sub(a, b, c) => arith!(a, b, c, Ar::Sub),
                    Op::Mul(a, b, c) => arith!(a, b, c, Ar::Mul),
                    Op::Div(a, b, c) => arith!(a, b, c, Ar::Div),
                    Op::Mod(a, b, c) => arith!(a, b, c, Ar::Mod),
                    Op::Pow(a, b, c) => arith!(a, b, c, Ar::Pow),
                    Op::Unm(a, b) => {
                        if let Value::Num(n) = reg!(b) {
                            reg!(a) = Value::Num(-n);
                        } else {
                            let x = reg!(b).clone();
                            save!();
                            let r = match tonum(&x) {
                                Some(n) => Value::Num(-n),
                                None => {
                                    let mm = self.metamethod(&x, "__unm");
                                    if mm.is_nil() {
                                        return Err(self.type_error(
                                            &x,
                                            "perform arithmetic on",
                                            Some(b as usize),
                                        ));
                                    }
                                    self.call_first(&mm, &[x.clone(), x.clone()], host)?
                                }
                            };
                            reg!(a) = r;
                        }
                    }
                    Op::Not(a, b) => {
                        let t = reg!(b).truthy();
                        reg!(a) = Value::Bool(!t);
                    }
                    Op::Len(a, b) => {
                        let v = match &reg!(b) {
                            Value::Str(s) => Value::Num(s.as_bytes().len() as f64),
                            Value::Table(t) => Value::Num(self.heap.tables.get(t.0).len() as f64),
                            other => {
                                let other = other.clone();
                                save!();
                                self.len_of(&other, b as usize, host)?
                            }
                        };
                        reg!(a) = v;
                    }
                    Op::Concat(a, b, c) => {
                        save!();
                        let v = self.concat(base + b as usize, base + c as usize, host)?;
                        reg!(a) = v;
                        if self.heap.debt > self.heap.threshold {
                            self.gc_check();
                        }
                    }
                    Op::Jmp(off) => {
                        pc = (pc as i64 + off as i64) as usize;
                    }
                    Op::Eq(want, b, c) => {
                        let x = rk!(b);
                        let y = rk!(c);
                        let r = match (x, y) {
                            (Value::Num(x), Value::Num(y)) => x == y,
                            (Value::Table(_), Value::Table(_))
                            | (Value::UserData(_), Value::UserData(_)) => {
                                let (x, y) = (x.clone(), y.clone());
                                save!();
                                self.equals(&x, &y, host)?
                            }
                            _ => raw_eq(x, y),
                        };
                        cond_jump!(r == want);
                    }
                    Op::Lt(want, b, c) => {
                        let x = rk!(b);
                        let y = rk!(c);
                        let r = if let (Value::Num(x), Value::Num(y)) = (x, y) {
                            x < y
                        } else {
                            let (x, y) = (x.clone(), y.clone());
                            save!();
                            self.less_than(&x, &y, host)?
                        };
                        cond_jump!(r == want);
                    }
                    Op::Le(want, b, c) => {
                        let x = rk!(b);
                        let y = rk!(c);
                        let r = if let (Value::Num(x), Value::Num(y)) = (x, y) {
                            x <= y
                        } else {
                            let (x, y) = (x.clone(), y.clone());
                            save!();
                            self.less_equal(&x, &y, host)?
                        };
                        cond_jump!(r == want);
                    }
                    Op::Test(a, want) => {
                        let r = reg!(a).truthy();
                        cond_jump!(r == want);
                    }
                    Op::Call(a, b, c) => {
                        let func = base + a as usize;
                        let nargs = if b != 0 {
                            b as usize - 1
                        } else {
                            self.top - func - 1
                        };
                        save!();
                        if self.enter_lua_fixed(func, nargs, c as i32 - 1) {
                            continue 'newframe;
                        }
                        match self.precall(func, nargs, c as i32 - 1, host)? {
                            Pre::Lua => continue 'newframe,
                            Pre::Native => {
                                // setfenv may have changed it.
                                env = self.frames[fi].env;
                                if self.heap.debt > self.heap.threshold {
                                    self.gc_check();
                                }
                            }
                            Pre::Yield => return Ok(Exec::Yield),
                        }
                    }
                    Op::TailCall(a, b) => {
                        let func = base + a as usize;
                        let nargs = if b != 0 {
                            b as usize - 1
                        } else {
                            self.top - func - 1
                        };
                        save!();
                        let is_lua = match &self.stack[func] {
                            Value::Function(f) => {
                                matches!(self.heap.funcs.get(f.0), FuncObj::Lua(_))
                            }
                            _ => false,
                        };
                        if !is_lua {
                            match self.precall(func, nargs, -1, host)? {
                                Pre::Lua => continue 'newframe,
                                Pre::Native => {}
                                Pre::Yield => return Ok(Exec::Yield),
                            }
                            continue;
                        }
                        if !self.open_upvals.is_empty() {
                            self.close_upvals(base);
                        }
                        let fr = self.frames.pop().unwrap();
                        let dst = fr.func;
                        for i in 0..=nargs {
                            let v = std::mem::take(&mut self.stack[func + i]);
                            self.stack[dst + i] = v;
                        }
                        match self.precall(dst, nargs, fr.nresults, host) {
                            Ok(_) => {
                                let nf = self.frames.last_mut().unwrap();
                                nf.boundary = fr.boundary;
                                continue 'newframe;
                            }
                            Err(e) => {
                                self.frames.push(fr);
                                return Err(e);
                            }
                        }
                    }
                    Op::Return(a, b) => {
                        let first_r = base + a as usize;
                        let n = if b != 0 {
                            b as usize - 1
                        } else {
                            self.top - first_r
                        };
                        if !self.open_upvals.is_empty() {
                            self.close_upvals(base);
                        }
                        let (dst, nresults, boundary) = {
                            let f = &self.frames[fi];
                            (f.func, f.nresults, f.boundary)
                        };
                        // Dropped in place (no copy of the frame out of the vector).
                        self.frames.truncate(fi);
                        if nresults == 1 && n >= 1 {
                            self.stack.swap(dst, first_r);
                        } else if nresults < 0 {
                            for i in 0..n {
                                self.stack.swap(dst + i, first_r + i);
                            }
                            self.top = dst + n;
                        } else {
                            let want = nresults as usize;
                            for i in 0..want {
                                if i < n {
                                    self.stack.swap(dst + i, first_r + i);
                                } else {
                                    self.stack[dst + i] = Value::Nil;
                                }
                            }
                        }
                        if boundary {
                            return Ok(Exec::Done);
                        }
                        continue 'newframe;
                    }
                    Op::ForPrep(a, off) => {
                        let ra = base + a as usize;
                        let init = tonum(&self.stack[ra]);
                        let limit = tonum(&self.stack[ra + 1]);
                        let step = tonum(&self.stack[ra + 2]);
                        save!();
                        let init = match init {
                            Some(n) => n,
                            None => {
                                return Err(self.rt_error("'for' initial value must be a number"))
                            }
                        };
                        let limit = match limit {
                            Some(n) => n,
                            None => return Err(self.rt_error("'for' limit must be a number")),
                        };
                        let step = match step {
                            Some(n) => n,
                            None => return Err(self.rt_error("'for' step must be a number")),
                        };
                        self.stack[ra] = Value::Num(init);
                        self.stack[ra + 1] = Value::Num(limit);
                        self.stack[ra + 2] = Value::Num(step);
                        let go = if step > 0.0 {
                            init <= limit
                        } else {
                            init >= limit
                        };
                        if go {
                            self.stack[ra + 3] = Value::Num(init);
                        } else {
                            pc = (pc as i64 + off as i64) as usize;
                        }
                    }
                    Op::ForLoop(a, off) => {
                        let ra = base + a as usize;
                        if let (Value::Num(i), Value::Num(l), Value::Num(s)) =
                            (&self.stack[ra], &self.stack[ra + 1], &self.stack[ra + 2])
                        {
                            let (i, l, s) = (*i + *s, *l, *s);
                            let go = if s > 0.0 { i <= l } else { i >= l };
                            if go {
                                setnum!(self.stack[ra], i);
                                setnum!(self.stack[ra + 3], i);
                                pc = (pc as i64 + off as i64) as usize;
                            }
                        }
                    }
                    Op::TForCall(a, n) => {
                        let ra = base + a as usize;
                        // Fast path: `next` over a table.
                        if let (Value::Function(f), Value::Table(t)) =
                            (&self.stack[ra], &self.stack[ra + 1])
                        {
                            if f.0 == self.next_fn {
                                let r = self.heap.tables.get(t.0).next(&self.stack[ra + 2]);
                                match r {
                                    Ok(Some((kk, vv))) => {
                                        self.stack[ra + 3] = kk;
                                        if n >= 2 {
                                            self.stack[ra + 4] = vv;
                                        }
                                    }
                                    Ok(None) => self.stack[ra + 3] = Value::Nil,
                                    Err(()) => {
                                        save!();
                                        return Err(Error::msg(self, "invalid key to 'next'"));
                                    }
                                }
                                for i in 2..n as usize {
                                    self.stack[ra + 3 + i] = Value::Nil;
                                }
                                continue;
                            }
                            if f.0 == self.inext_fn {
                                if let Value::Num(i) = self.stack[ra + 2] {
                                    let i = i + 1.0;
                                    let v = self.heap.tables.get(t.0).get_int(i as i64);
                                    if v.is_nil() {
                                        self.stack[ra + 3] = Value::Nil;
                                    } else {
                                        self.stack[ra + 3] = Value::Num(i);
                                        if n >= 2 {
                                            self.stack[ra + 4] = v;
                                        }
                                    }
                                    for i in 2..n as usize {
                                        self.stack[ra + 3 + i] = Value::Nil;
                                    }
                                    continue;
                                }
                            }
                        }
                        for i in 0..3 {
                            let v = self.stack[ra + i].clone();
                            self.stack[ra + 3 + i] = v;
                        }
                        save!();
                        match self.precall(ra + 3, 2, n as i32, host)? {
                            Pre::Lua => continue 'newframe,
                            Pre::Native => {}
                            Pre::Yield => return Ok(Exec::Yield),
                        }
                    }
                    Op::TForLoop(a, off) => {
                        let ra = base + a as usize;
                        if !self.stack[ra + 3].is_nil() {
                            let v = self.stack[ra + 3].clone();
                            self.stack[ra + 2] = v;
                            pc = (pc as i64 + off as i64) as usize;
                        }
                    }
                    Op::SetList(a, n, block) => {
                        let ra = base + a as usize;
                        let n = if n == 0 {
                            self.top - ra - 1
                        } else {
                            n as usize
                        };
                        let start = (block as usize - 1) * 50;
                        if let Value::Table(t) = &self.stack[ra] {
                            let id = t.0;
                            for i in 1..=n {
                                let v = self.stack[ra + i].clone();
                                let g = self.heap.tables.get_mut(id).set_list_item(start + i, v);
                                self.heap.debt += g;
                            }
                            if self.heap.over_cap() {
                                save!();
                                self.check_mem()?;
                            }
                        }
                    }
                    Op::Close(a) => {
                        self.close_upvals(base + a as usize);
                    }
                    Op::Closure(a, i) => {
                        let p = proto.protos[i as usize].clone();
                        let mut ups = Vec::with_capacity(p.upvals.len());
                        for &(instack, idx) in p.upvals.iter() {
                            if instack {
                                ups.push(self.find_upval(base + idx as usize));
                            } else {
                                let u = match self.heap.funcs.get(closure) {
                                    FuncObj::Lua(l) => l.upvals[idx as usize],
                                    _ => 0,
                                };
                                ups.push(u);
                            }
                        }
                        self.heap.debt += 64 + ups.len() * 8;
                        let id = self.heap.funcs.alloc(FuncObj::Lua(LuaFn {
                            proto: p,
                            upvals: ups.into_boxed_slice(),
                            env,
                        }));
                        reg!(a) = Value::Function(Function(id));
                        if self.heap.debt > self.heap.threshold {
                            save!();
                            self.gc_check();
                        }
                    }
                    Op::Vararg(a, b) => {
                        let nvar = self.frames[fi].nvarargs as usize;
                        let ra = base + a as usize;
                        let from = base - nvar;
                        if b == 0 {
                            self.ensure_stack(ra + nvar + 1);
                            for i in 0..nvar {
                                let v = self.stack[from + i].clone();
                                self.stack[ra + i] = v;
                            }
                            self.top = ra + nvar;
                        } else {
                            for i in 0..(b as usize - 1) {
                                let v = if i < nvar {
                                    self.stack[from + i].clone()
                                } else {
                                    Value::Nil
                                };
                                self.stack[ra + i] = v;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `getobjname`: what register `reg` holds at instruction `pc`.
fn describe_reg(p: &Proto, pc: usize, reg: usize) -> Option<(&'static str, String)> {
    if let Some(name) = local_name(p, reg, pc) {
        if !name.starts_with('(') {
            return Some(("local", name));
        }
        return None;
    }
    let kstr = |rk: u16| -> Option<String> {
        if rk >= RK_K {
            if let Some(Value::Str(s)) = p.consts.get((rk - RK_K) as usize) {
                return Some(String::from_utf8_lossy(s.as_bytes()).into_owned());
            }
        }
        None
    };
    let mut i = pc;
    while i > 0 {
        i -= 1;
        match p.code[i] {
            Op::GetGlobal(a, kk) if a as usize == reg => {
                if let Some(Value::Str(s)) = p.consts.get(kk as usize) {
                    return Some(("global", String::from_utf8_lossy(s.as_bytes()).into_owned()));
                }
                return None;
            }
            Op::GetTable(a, _, c) if a as usize == reg => return kstr(c).map(|s| ("field", s)),
            Op::GetUpval(a, u) if a as usize == reg => {
                return p
                    .upval_names
                    .get(u as usize)
                    .map(|n| ("upvalue", String::from_utf8_lossy(n).into_owned()));
            }
            Op::SelfCall(a, _, c) if a as usize == reg => return kstr(c).map(|s| ("method", s)),
            Op::Move(a, b) if a as usize == reg => {
                if (b as usize) < reg {
                    return describe_reg(p, i, b as usize);
                }
                return None;
            }
            Op::LoadNil(a, b) if (a as usize..=b as usize).contains(&reg) => return None,
            Op::Call(a, _, _) | Op::TailCall(a, _) | Op::Vararg(a, _) if a as usize <= reg => {
                return None
            }
            Op::TForCall(a, _) if a as usize + 3 <= reg => return None,
            Op::LoadK(a, _)
            | Op::LoadBool(a, _, _)
            | Op::NewTable(a, _, _)
            | Op::Add(a, _, _)
            | Op::Sub(a, _, _)
            | Op::Mul(a, _, _)
            | Op::Div(a, _, _)
            | Op::Mod(a, _, _)
            | Op::Pow(a, _, _)
            | Op::Unm(a, _)
            | Op::Not(a, _)
            | Op::Len(a, _)
            | Op::Concat(a, _, _)
            | Op::Closure(a, _)
                if a as usize == reg =>
            {
                return None
            }
            Op::SelfCall(a, _, _) if a as usize + 1 == reg => return None,
            _ => {}
        }
    }
    None
}

fn local_name(p: &Proto, reg: usize, pc: usize) -> Option<String> {
    let mut n = 0;
    for lv in &p.locvars {
        if lv.start > pc {
            break;
        }
        if pc < lv.end {
            if n == reg {
                return Some(String::from_utf8_lossy(&lv.name).into_owned());
            }
            n += 1;
        }
    }
    None
}
