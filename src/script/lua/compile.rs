//! The compiler: syntax tree to register bytecode (close to Lua 5.1's instruction set).

use super::ast::*;
use super::Value;
use std::collections::HashMap;
use std::rc::Rc;

/// An RK operand: below 256 a register, from 256 a constant index + 256.
pub(crate) type Rk = u16;
pub(crate) const RK_K: u16 = 256;
const MAX_REGS: usize = 250;
const FIELDS_PER_FLUSH: usize = 50;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Move(u8, u8),
    LoadK(u8, u32),
    LoadNil(u8, u8),
    LoadBool(u8, bool, bool),
    GetUpval(u8, u8),
    GetGlobal(u8, u32),
    SetGlobal(u8, u32),
    SetUpval(u8, u8),
    GetTable(u8, u8, Rk),
    SetTable(u8, Rk, Rk),
    NewTable(u8, u16, u16),
    SelfCall(u8, u8, Rk),
    Add(u8, Rk, Rk),
    Sub(u8, Rk, Rk),
    Mul(u8, Rk, Rk),
    Div(u8, Rk, Rk),
    Mod(u8, Rk, Rk),
    Pow(u8, Rk, Rk),
    Unm(u8, u8),
    Not(u8, u8),
    Len(u8, u8),
    Concat(u8, u8, u8),
    Jmp(i32),
    Eq(bool, Rk, Rk),
    Lt(bool, Rk, Rk),
    Le(bool, Rk, Rk),
    Test(u8, bool),
    Call(u8, u8, u8),
    TailCall(u8, u8),
    Return(u8, u8),
    ForPrep(u8, i32),
    ForLoop(u8, i32),
    TForCall(u8, u8),
    TForLoop(u8, i32),
    SetList(u8, u16, u16),
    Close(u8),
    Closure(u8, u32),
    Vararg(u8, u8),
}

#[derive(Debug)]
pub(crate) struct LocVar {
    pub name: Vec<u8>,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Proto {
    pub code: Vec<Op>,
    pub lines: Vec<u32>,
    pub consts: Vec<Value>,
    pub protos: Vec<Rc<Proto>>,
    pub upvals: Vec<(bool, u8)>,
    pub upval_names: Vec<Vec<u8>>,
    pub nparams: usize,
    pub is_vararg: bool,
    pub max_stack: usize,
    pub locvars: Vec<LocVar>,
    /// `short_src`, as messages show it (`user_script`).
    pub source: Rc<str>,
    /// The chunk name as given (`@user_script`), as `debug.getinfo` reports `source`.
    pub chunkname: Rc<str>,
}

#[derive(Hash, PartialEq, Eq)]
enum ConstKey {
    Num(u64),
    Str(Vec<u8>),
    Bool(bool),
    Nil,
}

struct Block {
    nactive: usize,
    is_loop: bool,
    breaks: Vec<usize>,
    upval: bool,
}

struct FuncState {
    p: Proto,
    line: u32,
    actives: Vec<(Vec<u8>, usize)>,
    blocks: Vec<Block>,
    free: usize,
    consts: HashMap<ConstKey, u32>,
}

enum Var {
    Local(u8),
    Upval(u8),
    Global(u32),
}

pub(crate) struct Compiler {
    stack_base: usize,
    upval_overflow: Option<usize>,
    fs: Vec<FuncState>,
    chunk: Rc<str>,
    chunkname: Rc<str>,
    err_chunk: String,
    line: u32,
    /// String constants of the whole chunk: equal ones share one value, so table
    /// lookups with them usually match by pointer.
    strings: std::collections::HashMap<Vec<u8>, Value>,
}

type R<T> = Result<T, String>;

/// `chunk` names the source at run time, `err_chunk` in compile errors; `chunkname` is
/// the name as given (`@user_script`).
pub(crate) fn compile(
    body: &FuncBody,
    chunk: &str,
    err_chunk: &str,
    chunkname: &str,
) -> R<Rc<Proto>> {
    let mut c = Compiler {
        stack_base: super::vm::stack_addr(),
        upval_overflow: None,
        fs: vec![],
        chunk: Rc::from(chunk),
        chunkname: Rc::from(chunkname),
        err_chunk: err_chunk.to_string(),
        line: 1,
        strings: std::collections::HashMap::new(),
    };
    c.function(body, None).map(Rc::new)
}

impl Compiler {
    fn f(&mut self) -> &mut FuncState {
        self.fs.last_mut().unwrap()
    }

    fn err(&self, msg: &str) -> String {
        format!("{}:{}: {}", self.err_chunk, self.line, msg)
    }

    fn emit(&mut self, op: Op) -> usize {
        let line = self.line;
        let f = self.f();
        f.p.code.push(op);
        f.p.lines.push(line);
        f.p.code.len() - 1
    }

    fn pc(&mut self) -> usize {
        self.f().p.code.len()
    }

    fn jump(&mut self) -> usize {
        self.emit(Op::Jmp(0))
    }

    fn patch(&mut self, j: usize, target: usize) {
        let off = target as i32 - (j as i32 + 1);
        let f = self.f();
        match &mut f.p.code[j] {
            Op::Jmp(o) | Op::ForPrep(_, o) | Op::ForLoop(_, o) | Op::TForLoop(_, o) => *o = off,
            _ => {}
        }
    }

    fn patch_here(&mut self, js: Vec<usize>) {
        let here = self.pc();
        for j in js {
            self.patch(j, here);
        }
    }

    fn reserve(&mut self, n: usize) -> R<usize> {
        let f = self.fs.last_mut().unwrap();
        let r = f.free;
        f.free += n;
        if f.free > MAX_REGS {
            return Err(self.err("function or expression too complex"));
        }
        if f.free > f.p.max_stack {
            f.p.max_stack = f.free;
        }
        Ok(r)
    }

    fn set_free(&mut self, n: usize) {
        self.f().free = n;
    }
    fn free(&mut self) -> usize {
        self.f().free
    }

    fn constant(&mut self, v: Value) -> R<u32> {
        let key = match &v {
            // -0 and 0 share a slot, the first one seen wins (as Lua 5.1).
            Value::Num(n) => ConstKey::Num(if *n == 0.0 { 0 } else { n.to_bits() }),
            Value::Str(s) => ConstKey::Str(s.as_bytes().to_vec()),
            Value::Bool(b) => ConstKey::Bool(*b),
            _ => ConstKey::Nil,
        };
        let f = self.f();
        if let Some(&i) = f.consts.get(&key) {
            return Ok(i);
        }
        let i = f.p.consts.len() as u32;
        if i >= (1 << 26) {
            return Err(self.err("constant table overflow"));
        }
        let f = self.f();
        f.p.consts.push(v);
        f.consts.insert(key, i);
        Ok(i)
    }

    fn str_const(&mut self, s: &[u8]) -> R<u32> {
        let v = match self.strings.get(s) {
            Some(v) => v.clone(),
            None => {
                let v = Value::str(s);
                self.strings.insert(s.to_vec(), v.clone());
                v
            }
        };
        self.constant(v)
    }

    fn function(&mut self, body: &FuncBody, _name: Option<&[u8]>) -> R<Proto> {
        let mut p = Proto {
            source: self.chunk.clone(),
            chunkname: self.chunkname.clone(),
            nparams: body.params.len(),
            is_vararg: body.vararg,
            ..Default::default()
        };
        p.max_stack = 2;
        self.fs.push(FuncState {
            p,
            line: body.line,
            actives: vec![],
            blocks: vec![],
            free: 0,
            consts: HashMap::new(),
        });
        self.enter_block(false);
        for prm in &body.params {
            self.reserve(1)?;
            self.add_local(prm.clone())?;
        }
        self.block_stats(&body.body)?;
        self.line = body.end_line;
        self.leave_block(false)?;
        self.emit(Op::Return(0, 1));
        let mut fs = self.fs.pop().unwrap();
        let n = fs.p.code.len();
        for lv in &mut fs.p.locvars {
            if lv.end == usize::MAX {
                lv.end = n;
            }
        }
        Ok(fs.p)
    }

    /// `errorlimit`: Lua 5.1's message for a per-function limit.
    fn limit_error(&self, level: usize, limit: usize, what: &str) -> String {
        let line = self.fs[level].line;
        if line == 0 {
            self.err(&format!("main function has more than {} {}", limit, what))
        } else {
            self.err(&format!(
                "function at line {} has more than {} {}",
                line, limit, what
            ))
        }
    }

    fn add_local(&mut self, name: Vec<u8>) -> R<()> {
        if self.f().actives.len() >= 200 {
            let level = self.fs.len() - 1;
            return Err(self.limit_error(level, 200, "local variables"));
        }
        let f = self.f();
        let reg = f.actives.len();
        let start = f.p.code.len();
        f.p.locvars.push(LocVar {
            name: name.clone(),
            start,
            end: usize::MAX,
        });
        f.actives.push((name, f.p.locvars.len() - 1));
        let _ = reg;
        Ok(())
    }

    fn enter_block(&mut self, is_loop: bool) {
        let f = self.f();
        let nactive = f.actives.len();
        f.blocks.push(Block {
            nactive,
            is_loop,
            breaks: vec![],
            upval: false,
        });
    }

    /// Ends a block: closes its upvalues if asked, ends its locals, patches its breaks.
    fn leave_block(&mut self, close: bool) -> R<()> {
        let b = self.f().blocks.pop().unwrap();
        if close && b.upval {
            self.emit(Op::Close(b.nactive as u8));
        }
        let pc = self.pc();
        let f = self.f();
        while f.actives.len() > b.nactive {
            let (_, lv) = f.actives.pop().unwrap();
            f.p.locvars[lv].end = pc;
        }
        f.free = b.nactive;
        let breaks = b.breaks;
        self.patch_here(breaks);
        Ok(())
    }

    fn block_stats(&mut self, stats: &[Stat]) -> R<()> {
        for s in stats {
            self.stat(s)?;
            let n = self.f().actives.len();
            self.set_free(n);
        }
        Ok(())
    }

    fn block(&mut self, stats: &[Stat], is_loop: bool) -> R<()> {
        self.enter_block(is_loop);
        self.block_stats(stats)?;
        self.leave_block(true)
    }

    fn find_var(&mut self, level: usize, name: &[u8], base: bool) -> Option<Var> {
        let fs = &mut self.fs[level];
        if let Some(i) = fs.actives.iter().rposition(|(n, _)| n == name) {
            if !base {
                if let Some(b) = fs.blocks.iter_mut().rev().find(|b| b.nactive <= i) {
                    b.upval = true;
                }
            }
            return Some(Var::Local(i as u8));
        }
        if let Some(i) = fs.p.upval_names.iter().position(|n| n == name) {
            return Some(Var::Upval(i as u8));
        }
        if level == 0 {
            return None;
        }
        let desc = match self.find_var(level - 1, name, false)? {
            Var::Local(r) => (true, r),
            Var::Upval(u) => (false, u),
            Var::Global(_) => return None,
        };
        let fs = &mut self.fs[level];
        if fs.p.upvals.len() >= 60 {
            self.upval_overflow = Some(level);
            return Some(Var::Upval(0));
        }
        fs.p.upvals.push(desc);
        fs.p.upval_names.push(name.to_vec());
        Some(Var::Upval((fs.p.upvals.len() - 1) as u8))
    }

    fn resolve(&mut self, name: &[u8]) -> R<Var> {
        let level = self.fs.len() - 1;
        let found = self.find_var(level, name, true);
        if let Some(l) = self.upval_overflow {
            return Err(self.limit_error(l, 60, "upvalues"));
        }
        match found {
            Some(v) => Ok(v),
            None => Ok(Var::Global(self.str_const(name)?)),
        }
    }

    fn stat(&mut self, s: &Stat) -> R<()> {
        self.deep_check()?;
        match s {
            Stat::Expr(e) => {
                let free = self.free();
                self.call(e, 0, free)?;
            }
            Stat::Local(names, exprs, line) => {
                self.line = *line;
                if self.f().actives.len() + names.len() > 200 {
                    let level = self.fs.len() - 1;
                    return Err(self.limit_error(level, 200, "local variables"));
                }
                let base = self.free();
                self.explist_to(exprs, names.len(), base)?;
                for n in names {
                    self.add_local(n.clone())?;
                }
            }
            Stat::Assign(targets, exprs, line) => {
                self.line = *line;
                self.assign(targets, exprs)?;
            }
            Stat::Do(b) => self.block(b, false)?,
            Stat::While(cond, body, line) => {
                self.line = *line;
                let start = self.pc();
                let exits = self.cond_jump(cond, false)?;
                // The loop's own block ends after the jump back, so `break` lands past
                // it (as 5.1's whilestat); the body's block closes its upvalues first.
                self.enter_block(true);
                self.block(body, false)?;
                let j = self.jump();
                self.patch(j, start);
                self.leave_block(false)?;
                self.patch_here(exits);
            }
            Stat::Repeat(body, cond, line) => {
                self.line = *line;
                let start = self.pc();
                self.enter_block(true);
                self.enter_block(false);
                self.block_stats(body)?;
                let falses = self.cond_jump(cond, false)?;
                let upval = self.f().blocks.last().unwrap().upval;
                let nactive = self.f().blocks.last().unwrap().nactive;
                if upval {
                    self.emit(Op::Close(nactive as u8));
                    let exit = self.jump();
                    self.patch_here(falses);
                    self.emit(Op::Close(nactive as u8));
                    let j = self.jump();
                    self.patch(j, start);
                    self.patch_here(vec![exit]);
                } else {
                    for j in falses {
                        self.patch(j, start);
                    }
                }
                self.leave_block(false)?;
                self.leave_block(false)?;
            }
            Stat::If(arms, els, line) => {
                self.line = *line;
                let mut ends = vec![];
                for (i, (cond, body)) in arms.iter().enumerate() {
                    let jf = self.cond_jump(cond, false)?;
                    self.block(body, false)?;
                    if i + 1 < arms.len() || els.is_some() {
                        ends.push(self.jump());
                    }
                    self.patch_here(jf);
                }
                if let Some(b) = els {
                    self.block(b, false)?;
                }
                self.patch_here(ends);
            }
            Stat::NumFor(name, a, b, c, body, line) => {
                self.line = *line;
                self.enter_block(true);
                let base = self.free();
                self.expr_next(a)?;
                self.expr_next(b)?;
                match c {
                    Some(c) => {
                        self.expr_next(c)?;
                    }
                    None => {
                        let r = self.reserve(1)?;
                        let k = self.constant(Value::Num(1.0))?;
                        self.emit(Op::LoadK(r as u8, k));
                    }
                }
                self.add_local(b"(for index)".to_vec())?;
                self.add_local(b"(for limit)".to_vec())?;
                self.add_local(b"(for step)".to_vec())?;
                self.line = *line;
                let prep = self.emit(Op::ForPrep(base as u8, 0));
                let body_start = self.pc();
                self.enter_block(false);
                self.reserve(1)?;
                self.add_local(name.clone())?;
                self.block_stats(body)?;
                self.leave_block(true)?;
                self.line = *line;
                let lp = self.emit(Op::ForLoop(base as u8, 0));
                self.patch(lp, body_start);
                let after = self.pc();
                self.patch(prep, after);
                self.leave_block(false)?;
            }
            Stat::GenFor(names, exprs, body, line) => {
                self.line = *line;
                self.enter_block(true);
                let base = self.free();
                self.explist_to(exprs, 3, base)?;
                self.add_local(b"(for generator)".to_vec())?;
                self.add_local(b"(for state)".to_vec())?;
                self.add_local(b"(for control)".to_vec())?;
                let j = self.jump();
                let body_start = self.pc();
                self.enter_block(false);
                self.reserve(names.len())?;
                for n in names {
                    self.add_local(n.clone())?;
                }
                self.block_stats(body)?;
                self.leave_block(true)?;
                self.patch_here(vec![j]);
                self.line = *line;
                // Room for the call: function and two arguments above the variables.
                let f = self.f();
                if f.p.max_stack < base + 6 {
                    f.p.max_stack = base + 6;
                }
                if f.p.max_stack < base + 3 + names.len() {
                    f.p.max_stack = base + 3 + names.len();
                }
                self.emit(Op::TForCall(base as u8, names.len() as u8));
                let lp = self.emit(Op::TForLoop(base as u8, 0));
                self.patch(lp, body_start);
                self.leave_block(false)?;
            }
            Stat::Function(target, body, line) => {
                self.line = *line;
                let r = self.reserve(1)? as u8;
                self.closure(body, r)?;
                self.line = *line;
                self.store(target, r)?;
            }
            Stat::LocalFunction(name, body, line) => {
                self.line = *line;
                let r = self.reserve(1)?;
                self.add_local(name.clone())?;
                self.closure(body, r as u8)?;
            }
            Stat::Return(exprs, line) => {
                self.line = *line;
                self.ret(exprs)?;
            }
            Stat::Break(line) => {
                self.line = *line;
                let f = self.f();
                let mut upval = false;
                let mut idx = None;
                for (i, b) in f.blocks.iter().enumerate().rev() {
                    upval |= b.upval;
                    if b.is_loop {
                        idx = Some(i);
                        break;
                    }
                }
                let idx = match idx {
                    Some(i) => i,
                    None => return Err(self.err("no loop to break")),
                };
                let nactive = self.f().blocks[idx].nactive;
                if upval {
                    self.emit(Op::Close(nactive as u8));
                }
                let j = self.jump();
                self.f().blocks[idx].breaks.push(j);
            }
        }
        Ok(())
    }

    fn ret(&mut self, exprs: &[Expr]) -> R<()> {
        let base = self.free();
        if exprs.len() == 1 {
            match &exprs[0] {
                e @ (Expr::Call(..) | Expr::Method(..)) => {
                    let r = self.call(e, -1, base)?;
                    // Turn the call into a tail call.
                    let f = self.f();
                    if let Some(Op::Call(a, b, _)) = f.p.code.last().copied() {
                        let n = f.p.code.len();
                        f.p.code[n - 1] = Op::TailCall(a, b);
                    }
                    self.emit(Op::Return(r as u8, 0));
                    return Ok(());
                }
                Expr::Name(n, _) => {
                    if let Var::Local(r) = self.resolve(n)? {
                        self.emit(Op::Return(r, 2));
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        if let Some(last) = exprs.last() {
            if last.is_multi() {
                for e in &exprs[..exprs.len() - 1] {
                    self.expr_next(e)?;
                }
                self.multi(last, -1)?;
                self.emit(Op::Return(base as u8, 0));
                return Ok(());
            }
        }
        for e in exprs {
            self.expr_next(e)?;
        }
        self.emit(Op::Return(base as u8, exprs.len() as u8 + 1));
        Ok(())
    }

    fn assign(&mut self, targets: &[Expr], exprs: &[Expr]) -> R<()> {
        if targets.len() == 1 && exprs.len() == 1 {
            let e = &exprs[0];
            match &targets[0] {
                Expr::Name(n, _) => match self.resolve(n)? {
                    Var::Local(r) => {
                        if direct_safe(e) {
                            self.expr_to(e, r)?;
                        } else {
                            let t = self.expr_any(e)?;
                            if t != r {
                                self.emit(Op::Move(r, t));
                            }
                        }
                    }
                    Var::Upval(u) => {
                        let t = self.expr_any(e)?;
                        self.emit(Op::SetUpval(t, u));
                    }
                    Var::Global(k) => {
                        let t = self.expr_any(e)?;
                        self.emit(Op::SetGlobal(t, k));
                    }
                },
                Expr::Index(t, k, line) => {
                    let tr = self.expr_any(t)?;
                    let kr = self.expr_rk(k)?;
                    let vr = self.expr_rk(e)?;
                    self.line = *line;
                    self.emit(Op::SetTable(tr, kr, vr));
                }
                _ => return Err(self.err("syntax error")),
            }
            return Ok(());
        }
        // General case: evaluate prefixes, then values, then store right to left.
        let mut slots = Vec::new();
        for t in targets {
            match t {
                Expr::Index(te, ke, line) => {
                    let tr = self.expr_next(te)?;
                    let kr = match ke.as_ref() {
                        Expr::Str(_) | Expr::Num(_) => self.expr_rk(ke)?,
                        _ => self.expr_next(ke)? as Rk,
                    };
                    slots.push(Some((tr, kr, *line)));
                }
                _ => slots.push(None),
            }
        }
        let base = self.free();
        self.explist_to(exprs, targets.len(), base)?;
        for (i, t) in targets.iter().enumerate().rev() {
            let v = (base + i) as u8;
            match (t, &slots[i]) {
                (_, Some((tr, kr, line))) => {
                    self.line = *line;
                    self.emit(Op::SetTable(*tr, *kr, v as Rk));
                }
                (Expr::Name(n, _), None) => match self.resolve(n)? {
                    Var::Local(r) => {
                        self.emit(Op::Move(r, v));
                    }
                    Var::Upval(u) => {
                        self.emit(Op::SetUpval(v, u));
                    }
                    Var::Global(k) => {
                        self.emit(Op::SetGlobal(v, k));
                    }
                },
                _ => return Err(self.err("syntax error")),
            }
        }
        Ok(())
    }

    /// Stores register `v` into an assignable expression.
    fn store(&mut self, target: &Expr, v: u8) -> R<()> {
        match target {
            Expr::Name(n, _) => match self.resolve(n)? {
                Var::Local(r) => {
                    self.emit(Op::Move(r, v));
                }
                Var::Upval(u) => {
                    self.emit(Op::SetUpval(v, u));
                }
                Var::Global(k) => {
                    self.emit(Op::SetGlobal(v, k));
                }
            },
            Expr::Index(t, k, _) => {
                let tr = self.expr_any(t)?;
                let kr = self.expr_rk(k)?;
                self.emit(Op::SetTable(tr, kr, v as Rk));
            }
            _ => return Err(self.err("syntax error")),
        }
        Ok(())
    }

    /// Evaluates `exprs` into `want` consecutive registers from `base` (== free).
    fn explist_to(&mut self, exprs: &[Expr], want: usize, base: usize) -> R<()> {
        debug_assert_eq!(base, self.free());
        let n = exprs.len();
        for (i, e) in exprs.iter().enumerate() {
            if i + 1 == n && e.is_multi() {
                let need = want as i32 - i as i32;
                let need = need.max(0);
                self.multi(e, need)?;
                break;
            }
            self.expr_next(e)?;
        }
        let have = if n > 0 && exprs[n - 1].is_multi() {
            want.max(n - 1)
        } else {
            n
        };
        if have < want {
            let r = self.reserve(want - have)?;
            self.emit(Op::LoadNil(r as u8, (base + want - 1) as u8));
        }
        self.set_free(base + want);
        Ok(())
    }

    /// Compiles a multi-valued expression at `free`, asking for `n` results (-1 all).
    fn multi(&mut self, e: &Expr, n: i32) -> R<()> {
        let base = self.free();
        match e {
            Expr::Vararg => {
                self.reserve(n.max(1) as usize)?;
                self.emit(Op::Vararg(base as u8, (n + 1) as u8));
            }
            _ => {
                self.call(e, n, base)?;
            }
        }
        self.set_free(base + n.max(0) as usize);
        Ok(())
    }

    /// Compiles a call with its function at `base` (== free); `n` results (-1 all).
    fn call(&mut self, e: &Expr, n: i32, base: usize) -> R<usize> {
        self.set_free(base);
        let line;
        let args = match e {
            Expr::Call(f, args, l) => {
                self.expr_next(f)?;
                line = *l;
                args
            }
            Expr::Method(obj, name, args, l) => {
                let o = self.expr_any(obj)?;
                self.set_free(base);
                self.reserve(2)?;
                let k = self.str_const(name)?;
                line = *l;
                self.line = line;
                self.emit(Op::SelfCall(base as u8, o, k as Rk + RK_K).fix_rk(k));
                args
            }
            _ => return Err(self.err("syntax error")),
        };
        let mut nargs: i32 = if matches!(e, Expr::Method(..)) { 1 } else { 0 };
        let mut multi = false;
        for (i, a) in args.iter().enumerate() {
            if i + 1 == args.len() && a.is_multi() {
                self.multi(a, -1)?;
                multi = true;
            } else {
                self.expr_next(a)?;
                nargs += 1;
            }
        }
        self.line = line;
        let b = if multi { 0 } else { nargs + 1 };
        self.emit(Op::Call(base as u8, b as u8, (n + 1) as u8));
        let top = base + n.max(0) as usize;
        if self.f().p.max_stack < top {
            self.f().p.max_stack = top;
        }
        self.set_free(top);
        Ok(base)
    }

    fn closure(&mut self, body: &FuncBody, dst: u8) -> R<()> {
        let save_line = self.line;
        let p = self.function(body, None)?;
        self.line = save_line;
        let f = self.f();
        f.p.protos.push(Rc::new(p));
        let idx = (f.p.protos.len() - 1) as u32;
        self.emit(Op::Closure(dst, idx));
        Ok(())
    }

    /// Evaluates into the next free register.
    fn expr_next(&mut self, e: &Expr) -> R<u8> {
        let r = self.reserve(1)? as u8;
        self.expr_to(e, r)?;
        self.set_free(r as usize + 1);
        Ok(r)
    }

    /// Evaluates into some register (a local's own, or a new temporary).
    fn expr_any(&mut self, e: &Expr) -> R<u8> {
        if let Expr::Name(n, _) = e {
            if let Var::Local(r) = self.resolve(n)? {
                return Ok(r);
            }
        }
        self.expr_next(e)
    }

    fn expr_rk(&mut self, e: &Expr) -> R<Rk> {
        let k = match e {
            Expr::Num(n) => Some(self.constant(Value::Num(*n))?),
            Expr::Str(s) => Some(self.str_const(s)?),
            Expr::True => Some(self.constant(Value::Bool(true))?),
            Expr::False => Some(self.constant(Value::Bool(false))?),
            Expr::Nil => Some(self.constant(Value::Nil)?),
            _ => None,
        };
        if let Some(k) = k {
            if k < (u16::MAX - RK_K) as u32 {
                return Ok(k as Rk + RK_K);
            }
        }
        Ok(self.expr_any(e)? as Rk)
    }

    fn deep_check(&self) -> R<()> {
        if self.stack_base.abs_diff(super::vm::stack_addr()) > super::vm::PARSE_STACK_BUDGET {
            return Err(self.err("chunk has too many syntax levels"));
        }
        Ok(())
    }

    fn expr_to(&mut self, e: &Expr, dst: u8) -> R<()> {
        self.deep_check()?;
        match e {
            Expr::Nil => {
                self.emit(Op::LoadNil(dst, dst));
            }
            Expr::True => {
                self.emit(Op::LoadBool(dst, true, false));
            }
            Expr::False => {
                self.emit(Op::LoadBool(dst, false, false));
            }
            Expr::Num(n) => {
                let k = self.constant(Value::Num(*n))?;
                self.emit(Op::LoadK(dst, k));
            }
            Expr::Str(s) => {
                let k = self.str_const(s)?;
                self.emit(Op::LoadK(dst, k));
            }
            Expr::Vararg => {
                self.emit(Op::Vararg(dst, 2));
            }
            Expr::Function(body) => self.closure(body, dst)?,
            Expr::Name(n, line) => {
                self.line = *line;
                match self.resolve(n)? {
                    Var::Local(r) => {
                        if r != dst {
                            self.emit(Op::Move(dst, r));
                        }
                    }
                    Var::Upval(u) => {
                        self.emit(Op::GetUpval(dst, u));
                    }
                    Var::Global(k) => {
                        self.emit(Op::GetGlobal(dst, k));
                    }
                }
            }
            Expr::Index(t, k, line) => {
                let save = self.free();
                let tr = self.expr_any(t)?;
                let kr = self.expr_rk(k)?;
                self.set_free(save);
                self.line = *line;
                self.emit(Op::GetTable(dst, tr, kr));
            }
            Expr::Call(..) | Expr::Method(..) => {
                let save = self.free();
                if dst as usize + 1 == save {
                    self.call(e, 1, dst as usize)?;
                } else {
                    let base = self.call(e, 1, save)?;
                    self.emit(Op::Move(dst, base as u8));
                }
                self.set_free(save);
            }
            Expr::Paren(inner) => self.expr_to(inner, dst)?,
            Expr::Table(fields, line) => {
                let save = self.free();
                let t = if dst as usize + 1 == save {
                    dst as usize
                } else {
                    self.reserve(1)?
                };
                self.line = *line;
                let narr = fields.iter().filter(|f| matches!(f, Field::Pos(_))).count();
                let nhash = fields.len() - narr;
                let pc = self.emit(Op::NewTable(
                    t as u8,
                    narr.min(u16::MAX as usize) as u16,
                    nhash.min(u16::MAX as usize) as u16,
                ));
                let mut pending = 0usize;
                let mut block = 1u16;
                let n = fields.len();
                for (i, fld) in fields.iter().enumerate() {
                    match fld {
                        Field::Pos(v) => {
                            if i + 1 == n && v.is_multi() {
                                self.multi(v, -1)?;
                                self.emit(Op::SetList(t as u8, 0, block));
                                pending = 0;
                                // SetList(…, 0, …) consumed to the top.
                                block = 0;
                                break;
                            }
                            self.expr_next(v)?;
                            pending += 1;
                            if pending == FIELDS_PER_FLUSH {
                                self.emit(Op::SetList(t as u8, pending as u16, block));
                                block = block.wrapping_add(1);
                                pending = 0;
                                self.set_free(t + 1);
                            }
                        }
                        Field::Named(k, v) => {
                            let s2 = self.free();
                            let kr = self.expr_rk(k)?;
                            let vr = self.expr_rk(v)?;
                            self.set_free(s2);
                            self.emit(Op::SetTable(t as u8, kr, vr));
                        }
                    }
                }
                if pending > 0 {
                    self.emit(Op::SetList(t as u8, pending as u16, block));
                }
                let _ = (pc, block);
                if t != dst as usize {
                    self.emit(Op::Move(dst, t as u8));
                }
                self.set_free(save);
            }
            Expr::Un(op, x, line) => {
                let save = self.free();
                if *op == UnOp::Not {
                    let r = self.expr_any(x)?;
                    self.set_free(save);
                    self.line = *line;
                    self.emit(Op::Not(dst, r));
                } else {
                    let r = self.expr_any(x)?;
                    self.set_free(save);
                    self.line = *line;
                    self.emit(match op {
                        UnOp::Neg => Op::Unm(dst, r),
                        _ => Op::Len(dst, r),
                    });
                }
            }
            Expr::Bin(op, a, b, line) => self.binop(*op, a, b, *line, dst)?,
        }
        Ok(())
    }

    fn binop(&mut self, op: BinOp, a: &Expr, b: &Expr, line: u32, dst: u8) -> R<()> {
        let save = self.free();
        match op {
            BinOp::And | BinOp::Or => {
                // Evaluate into a temporary when dst is a live local read by `b`.
                let tmp = if (dst as usize) < save && uses_any_local(b) {
                    self.reserve(1)? as u8
                } else {
                    dst
                };
                self.expr_to(a, tmp)?;
                self.set_free(save.max(tmp as usize + 1));
                self.emit(Op::Test(tmp, op == BinOp::Or));
                let j = self.jump();
                self.expr_to(b, tmp)?;
                self.patch_here(vec![j]);
                if tmp != dst {
                    self.emit(Op::Move(dst, tmp));
                }
            }
            BinOp::Concat => {
                let mut parts = vec![a];
                let mut cur = b;
                while let Expr::Bin(BinOp::Concat, x, y, _) = cur {
                    parts.push(x);
                    cur = y;
                }
                parts.push(cur);
                let first = self.free();
                for p in parts.iter() {
                    self.expr_next(p)?;
                }
                self.line = line;
                let last = self.free() - 1;
                self.emit(Op::Concat(dst, first as u8, last as u8));
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let js = self.compare(op, a, b, line, true)?;
                self.set_free(save);
                // Falls through when false.
                self.emit(Op::LoadBool(dst, false, true));
                self.patch_here(js);
                self.emit(Op::LoadBool(dst, true, false));
            }
            _ => {
                let rb = self.expr_rk(a)?;
                let rc = self.expr_rk(b)?;
                self.line = line;
                self.emit(match op {
                    BinOp::Add => Op::Add(dst, rb, rc),
                    BinOp::Sub => Op::Sub(dst, rb, rc),
                    BinOp::Mul => Op::Mul(dst, rb, rc),
                    BinOp::Div => Op::Div(dst, rb, rc),
                    BinOp::Mod => Op::Mod(dst, rb, rc),
                    _ => Op::Pow(dst, rb, rc),
                });
            }
        }
        self.set_free(save);
        Ok(())
    }

    /// Emits a comparison and a jump taken when the comparison is `when`.
    fn compare(&mut self, op: BinOp, a: &Expr, b: &Expr, line: u32, when: bool) -> R<Vec<usize>> {
        let save = self.free();
        let (x, y) = match op {
            BinOp::Gt | BinOp::Ge => (b, a),
            _ => (a, b),
        };
        let (rx, ry) = if matches!(op, BinOp::Gt | BinOp::Ge) {
            let ra = self.expr_rk(a)?;
            let rb = self.expr_rk(b)?;
            (rb, ra)
        } else {
            (self.expr_rk(x)?, self.expr_rk(y)?)
        };
        let _ = (x, y);
        self.set_free(save);
        self.line = line;
        self.emit(match op {
            BinOp::Eq => Op::Eq(when, rx, ry),
            BinOp::Ne => Op::Eq(!when, rx, ry),
            BinOp::Lt | BinOp::Gt => Op::Lt(when, rx, ry),
            _ => Op::Le(when, rx, ry),
        });
        Ok(vec![self.jump()])
    }

    /// Emits jumps taken when `e`'s truth is `when`; falls through otherwise.
    fn cond_jump(&mut self, e: &Expr, when: bool) -> R<Vec<usize>> {
        self.deep_check()?;
        match e {
            Expr::Nil | Expr::False => Ok(if !when { vec![self.jump()] } else { vec![] }),
            Expr::True | Expr::Num(_) | Expr::Str(_) => {
                Ok(if when { vec![self.jump()] } else { vec![] })
            }
            Expr::Paren(x) => self.cond_jump(x, when),
            Expr::Un(UnOp::Not, x, _) => self.cond_jump(x, !when),
            Expr::Bin(BinOp::And, a, b, _) => {
                if !when {
                    let mut j = self.cond_jump(a, false)?;
                    j.extend(self.cond_jump(b, false)?);
                    Ok(j)
                } else {
                    let skip = self.cond_jump(a, false)?;
                    let j = self.cond_jump(b, true)?;
                    self.patch_here(skip);
                    Ok(j)
                }
            }
            Expr::Bin(BinOp::Or, a, b, _) => {
                if when {
                    let mut j = self.cond_jump(a, true)?;
                    j.extend(self.cond_jump(b, true)?);
                    Ok(j)
                } else {
                    let skip = self.cond_jump(a, true)?;
                    let j = self.cond_jump(b, false)?;
                    self.patch_here(skip);
                    Ok(j)
                }
            }
            Expr::Bin(
                op @ (BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge),
                a,
                b,
                line,
            ) => self.compare(*op, a, b, *line, when),
            _ => {
                let save = self.free();
                let r = self.expr_any(e)?;
                self.set_free(save);
                self.emit(Op::Test(r, when));
                Ok(vec![self.jump()])
            }
        }
    }
}

impl Op {
    fn fix_rk(self, k: u32) -> Op {
        // A method name beyond the RK range: keep it encodable (rare).
        if k >= (u16::MAX - RK_K) as u32 {
            return self;
        }
        self
    }
}

/// Whether compiling `e` straight into a live local's register is safe (reads all its
/// operands before writing the destination).
fn direct_safe(e: &Expr) -> bool {
    match e {
        Expr::Nil
        | Expr::True
        | Expr::False
        | Expr::Num(_)
        | Expr::Str(_)
        | Expr::Vararg
        | Expr::Name(..)
        | Expr::Index(..)
        | Expr::Function(_)
        | Expr::Un(..) => true,
        Expr::Bin(op, ..) => !matches!(op, BinOp::And | BinOp::Or),
        Expr::Paren(x) => direct_safe(x),
        _ => false,
    }
}

fn uses_any_local(e: &Expr) -> bool {
    !matches!(
        e,
        Expr::Nil | Expr::True | Expr::False | Expr::Num(_) | Expr::Str(_)
    )
}
