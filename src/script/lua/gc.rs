//! The heap (arenas of tables, functions, upvalues, coroutines, userdata indexed by
//! handle) and a stop-the-world mark & sweep collector.
//!
//! Weak tables (`__mode`) are treated as strong; `__gc` is ignored.

use super::compile::Proto;
use super::table::TableObj;
use super::vm::{Frame, NKind, MAIN};
use super::{Lua, NativeFn, Value};
use std::rc::Rc;

/// Cap on the heap (bytes, estimated): allocation beyond raises "not enough memory".
pub(crate) const HEAP_CAP: usize = 1 << 30;

pub(crate) struct Arena<T> {
    pub items: Vec<T>,
    live: Vec<bool>,
    marks: Vec<bool>,
    free: Vec<u32>,
}

impl<T: Default> Default for Arena<T> {
    fn default() -> Self {
        Arena {
            items: Vec::new(),
            live: Vec::new(),
            marks: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T: Default> Arena<T> {
    pub fn alloc(&mut self, v: T) -> u32 {
        if let Some(i) = self.free.pop() {
            self.items[i as usize] = v;
            self.live[i as usize] = true;
            return i;
        }
        self.items.push(v);
        self.live.push(true);
        self.marks.push(false);
        (self.items.len() - 1) as u32
    }
    #[inline]
    pub fn get(&self, i: u32) -> &T {
        &self.items[i as usize]
    }
    #[inline]
    pub fn get_mut(&mut self, i: u32) -> &mut T {
        &mut self.items[i as usize]
    }
    /// Marks `i`; true if it was not marked yet.
    fn mark(&mut self, i: u32) -> bool {
        let m = &mut self.marks[i as usize];
        if *m {
            false
        } else {
            *m = true;
            true
        }
    }
    /// Frees every unmarked live item, clears marks; calls `f` on each freed one first.
    fn sweep(&mut self, mut f: impl FnMut(u32, &mut T)) {
        for i in 0..self.items.len() {
            if self.live[i] && !self.marks[i] {
                f(i as u32, &mut self.items[i]);
                self.items[i] = T::default();
                self.live[i] = false;
                self.free.push(i as u32);
            }
            self.marks[i] = false;
        }
    }
}

pub(crate) struct LuaFn {
    pub proto: Rc<Proto>,
    pub upvals: Box<[u32]>,
    pub env: u32,
}

pub(crate) struct NativeObj {
    /// The name it was registered under (Lua itself names a function by how it was
    /// called, so messages do not use it).
    #[allow(dead_code)]
    pub name: &'static str,
    pub f: NativeFn,
    pub upvals: Vec<Value>,
    pub kind: NKind,
}

pub(crate) enum FuncObj {
    Lua(LuaFn),
    Native(NativeObj),
}

fn dummy(_: &mut Lua, _: &mut dyn super::Host, _: &[Value]) -> Result<Vec<Value>, super::Error> {
    Ok(vec![])
}

impl Default for FuncObj {
    fn default() -> Self {
        FuncObj::Native(NativeObj {
            name: "?",
            f: dummy,
            upvals: vec![],
            kind: NKind::Normal,
        })
    }
}

pub(crate) enum UpVal {
    Open(u32, u32),
    Closed(Value),
}

impl Default for UpVal {
    fn default() -> Self {
        UpVal::Closed(Value::Nil)
    }
}

#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub(crate) enum CoStatus {
    #[default]
    Fresh,
    Suspended,
    Running,
    Normal,
    Dead,
}

#[derive(Default)]
pub(crate) struct Coroutine {
    pub stack: Vec<Value>,
    pub frames: Vec<Frame>,
    pub open: Vec<u32>,
    pub status: CoStatus,
    pub func: Value,
    /// Where the values of the next resume go: the yield call's slot and wanted count.
    pub target: (usize, i32),
}

#[derive(Default)]
pub(crate) struct UdObj {
    pub meta: Option<u32>,
}

pub(crate) struct Heap {
    pub tables: Arena<TableObj>,
    pub funcs: Arena<FuncObj>,
    pub upvals: Arena<UpVal>,
    pub threads: Arena<Coroutine>,
    pub udata: Arena<UdObj>,
    /// Bytes allocated since the last collection.
    pub debt: usize,
    /// Bytes live after the last collection.
    pub estimate: usize,
    pub threshold: usize,
    pub pause: u32,
    pub stepmul: u32,
    pub stopped: bool,
    /// Cap on the estimated heap; beyond it allocations raise "not enough memory".
    pub limit: usize,
}

impl Default for Heap {
    fn default() -> Self {
        Heap {
            tables: Arena::default(),
            funcs: Arena::default(),
            upvals: Arena::default(),
            threads: Arena::default(),
            udata: Arena::default(),
            debt: 0,
            estimate: 0,
            threshold: 1 << 20,
            pause: 200,
            stepmul: 200,
            stopped: false,
            limit: HEAP_CAP,
        }
    }
}

impl Heap {
    pub fn new_table(&mut self, narr: usize, nhash: usize) -> u32 {
        let t = TableObj::with_capacity(narr, nhash);
        self.debt += t.size();
        self.tables.alloc(t)
    }

    /// The longest string one operation may build.
    pub fn max_str(&self) -> usize {
        super::vm::MAX_STR.min(self.limit / 2)
    }

    pub fn reset_debt(&mut self) {
        self.estimate += self.debt;
        self.debt = 0;
        self.threshold = (self.estimate * 2).max(1 << 20);
    }

    pub fn over_cap(&self) -> bool {
        self.estimate + self.debt > self.limit
    }
}

enum Gray {
    T(u32),
    F(u32),
    U(u32),
    C(u32),
    D(u32),
}

impl Lua {
    /// Runs a collection if enough was allocated and no native function may hold
    /// unrooted values.
    #[inline]
    pub(crate) fn gc_check(&mut self) {
        if self.heap.debt > self.heap.threshold && self.gc_inhibit == 0 && !self.heap.stopped {
            self.full_gc();
        }
    }

    pub(crate) fn full_gc(&mut self) {
        let mut gray: Vec<Gray> = Vec::with_capacity(256);
        let mut strings = 0usize;
        gray.push(Gray::T(self.globals));
        gray.push(Gray::T(self.registry));
        if let Some(m) = self.string_meta {
            gray.push(Gray::T(m));
        }
        for v in self.stack.iter().chain(self.yield_vals.iter()) {
            push_value(&mut gray, v, &mut strings);
        }
        for f in &self.frames {
            gray.push(Gray::F(f.closure));
        }
        for &u in &self.open_upvals {
            gray.push(Gray::U(u));
        }
        for &c in &self.chain {
            if c != MAIN {
                gray.push(Gray::C(c));
            }
        }
        if self.cur_thread != MAIN {
            gray.push(Gray::C(self.cur_thread));
        }
        let mut bytes = 0usize;
        while let Some(g) = gray.pop() {
            match g {
                Gray::T(t) => {
                    if !self.heap.tables.mark(t) {
                        continue;
                    }
                    let tb = self.heap.tables.get(t);
                    bytes += tb.size();
                    if let Some(m) = tb.meta {
                        gray.push(Gray::T(m));
                    }
                    tb.for_each(|v| push_value(&mut gray, v, &mut strings));
                }
                Gray::F(f) => {
                    if !self.heap.funcs.mark(f) {
                        continue;
                    }
                    bytes += 64;
                    match self.heap.funcs.get(f) {
                        FuncObj::Lua(l) => {
                            gray.push(Gray::T(l.env));
                            for &u in l.upvals.iter() {
                                gray.push(Gray::U(u));
                            }
                        }
                        FuncObj::Native(n) => {
                            for v in &n.upvals {
                                push_value(&mut gray, v, &mut strings);
                            }
                        }
                    }
                }
                Gray::U(u) => {
                    if !self.heap.upvals.mark(u) {
                        continue;
                    }
                    bytes += 40;
                    match self.heap.upvals.get(u) {
                        UpVal::Closed(v) => push_value(&mut gray, v, &mut strings),
                        UpVal::Open(th, idx) => {
                            if *th != self.cur_thread {
                                let v = self.stack_of(*th).get(*idx as usize).cloned();
                                if let Some(v) = v {
                                    push_value(&mut gray, &v, &mut strings);
                                }
                            }
                        }
                    }
                }
                Gray::C(c) => {
                    if !self.heap.threads.mark(c) {
                        continue;
                    }
                    let co = self.heap.threads.get(c);
                    bytes += 128 + co.stack.capacity() * 24;
                    for v in co.stack.iter() {
                        push_value(&mut gray, v, &mut strings);
                    }
                    push_value(&mut gray, &co.func, &mut strings);
                    for f in &co.frames {
                        gray.push(Gray::F(f.closure));
                    }
                    for &u in &co.open {
                        gray.push(Gray::U(u));
                    }
                }
                Gray::D(d) => {
                    if !self.heap.udata.mark(d) {
                        continue;
                    }
                    bytes += 32;
                    if let Some(m) = self.heap.udata.get(d).meta {
                        gray.push(Gray::T(m));
                    }
                }
            }
        }
        // Dead coroutines close their open upvalues (the values were marked above).
        let mut to_close: Vec<(u32, Value)> = Vec::new();
        {
            let upvals = &self.heap.upvals;
            self.heap.threads.sweep(|_, co| {
                for &u in &co.open {
                    if let UpVal::Open(_, idx) = upvals.get(u) {
                        let v = co.stack.get(*idx as usize).cloned().unwrap_or_default();
                        to_close.push((u, v));
                    }
                }
            });
        }
        for (u, v) in to_close {
            *self.heap.upvals.get_mut(u) = UpVal::Closed(v);
        }
        self.heap.tables.sweep(|_, _| {});
        self.heap.funcs.sweep(|_, _| {});
        self.heap.upvals.sweep(|_, _| {});
        self.heap.udata.sweep(|_, _| {});
        self.heap.estimate = bytes + strings + self.stack.capacity() * 24;
        self.heap.debt = 0;
        let pause = self.heap.pause.max(100) as usize;
        self.heap.threshold = (self.heap.estimate / 100 * pause).max(256 << 10);
    }
}

#[inline]
fn push_value(gray: &mut Vec<Gray>, v: &Value, strings: &mut usize) {
    match v {
        Value::Table(t) => gray.push(Gray::T(t.0)),
        Value::Function(f) => gray.push(Gray::F(f.0)),
        Value::Thread(c) => gray.push(Gray::C(c.0)),
        Value::UserData(d) => gray.push(Gray::D(d.0)),
        Value::Str(s) => *strings += s.as_bytes().len() + 24,
        _ => {}
    }
}
