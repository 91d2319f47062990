//! The parser: tokens to a syntax tree, with Lua 5.1's error messages.

use super::ast::*;
use super::lex::{tok_text, Lexer, Tok};

const MAX_LEVELS: u32 = 200;

pub(crate) struct Parser<'a> {
    lex: Lexer<'a>,
    tok: Tok,
    tok_text: String,
    ahead: Option<(Tok, String, u32)>,
    line: u32,
    /// Line of the last token consumed (Lua's `lastline`, the line code is emitted at).
    last_line: u32,
    level: u32,
    vararg_stack: Vec<bool>,
    loop_depth: Vec<u32>,
    stack_base: usize,
}

type R<T> = Result<T, String>;

fn display(t: &Tok, raw: &str) -> String {
    match t {
        Tok::Name(_) | Tok::Str(_) | Tok::Num(_) => raw.to_string(),
        _ => tok_text(t),
    }
}

pub(crate) fn parse_chunk(src: &[u8], chunkname: &str) -> R<FuncBody> {
    let mut p = Parser {
        lex: Lexer::new(src, chunkname),
        tok: Tok::Eof,
        tok_text: String::new(),
        ahead: None,
        line: 1,
        last_line: 1,
        level: 0,
        vararg_stack: vec![true],
        loop_depth: vec![0],
        stack_base: super::vm::stack_addr(),
    };
    p.advance()?;
    let body = p.block()?;
    if p.tok != Tok::Eof {
        return Err(p.err_near("'<eof>' expected"));
    }
    Ok(FuncBody {
        params: vec![],
        vararg: true,
        body,
        line: 0,
        end_line: p.lex.line,
    })
}

impl<'a> Parser<'a> {
    fn advance(&mut self) -> R<()> {
        self.last_line = self.line;
        if let Some((t, s, l)) = self.ahead.take() {
            self.tok = t;
            self.tok_text = s;
            self.line = l;
            return Ok(());
        }
        self.tok = self.lex.next_tok()?;
        self.tok_text = self.lex.last_text();
        self.line = self.lex.line;
        Ok(())
    }

    fn peek(&mut self) -> R<&Tok> {
        if self.ahead.is_none() {
            let t = self.lex.next_tok()?;
            let s = self.lex.last_text();
            self.ahead = Some((t, s, self.lex.line));
        }
        Ok(&self.ahead.as_ref().unwrap().0)
    }

    fn err_near(&self, msg: &str) -> String {
        format!(
            "{}:{}: {} near '{}'",
            self.lex.chunk,
            self.line,
            msg,
            display(&self.tok, &self.tok_text)
        )
    }

    fn err_plain(&self, msg: &str) -> String {
        format!("{}:{}: {}", self.lex.chunk, self.line, msg)
    }

    fn enter(&mut self) -> R<()> {
        self.level += 1;
        let used = self.stack_base.abs_diff(super::vm::stack_addr());
        if self.level > MAX_LEVELS || used > super::vm::PARSE_STACK_BUDGET {
            return Err(self.err_near("chunk has too many syntax levels"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.level -= 1;
    }

    fn check(&mut self, t: Tok) -> R<()> {
        if self.tok != t {
            return Err(self.err_near(&format!("'{}' expected", tok_text(&t))));
        }
        Ok(())
    }

    fn expect(&mut self, t: Tok) -> R<()> {
        self.check(t)?;
        self.advance()
    }

    fn expect_char(&mut self, c: u8) -> R<()> {
        self.expect(Tok::Char(c))
    }

    fn test_next(&mut self, t: &Tok) -> R<bool> {
        if &self.tok == t {
            self.advance()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn check_match(&mut self, what: Tok, who: Tok, line: u32) -> R<()> {
        if self.tok != what {
            if line == self.line {
                return Err(self.err_near(&format!("'{}' expected", tok_text(&what))));
            }
            return Err(self.err_near(&format!(
                "'{}' expected (to close '{}' at line {})",
                tok_text(&what),
                tok_text(&who),
                line
            )));
        }
        self.advance()
    }

    fn name(&mut self) -> R<Vec<u8>> {
        if let Tok::Name(n) = &self.tok {
            let n = n.clone();
            self.advance()?;
            Ok(n)
        } else {
            Err(self.err_near("'<name>' expected"))
        }
    }

    fn block_follow(&self) -> bool {
        matches!(
            self.tok,
            Tok::Else | Tok::Elseif | Tok::End | Tok::Until | Tok::Eof
        )
    }

    fn block(&mut self) -> R<Vec<Stat>> {
        self.enter()?;
        let mut out = Vec::new();
        while !self.block_follow() {
            if self.tok == Tok::Return {
                let line = self.line;
                self.advance()?;
                let exprs = if self.block_follow() || self.tok == Tok::Char(b';') {
                    vec![]
                } else {
                    self.exprlist()?
                };
                self.test_next(&Tok::Char(b';'))?;
                out.push(Stat::Return(exprs, line));
                break;
            }
            if self.tok == Tok::Break {
                let line = self.line;
                self.advance()?;
                if *self.loop_depth.last().unwrap() == 0 {
                    return Err(self.err_near("no loop to break"));
                }
                self.test_next(&Tok::Char(b';'))?;
                out.push(Stat::Break(line));
                break;
            }
            let s = self.statement()?;
            out.push(s);
            self.test_next(&Tok::Char(b';'))?;
        }
        self.leave();
        Ok(out)
    }

    fn loop_block(&mut self) -> R<Vec<Stat>> {
        *self.loop_depth.last_mut().unwrap() += 1;
        let r = self.block();
        *self.loop_depth.last_mut().unwrap() -= 1;
        r
    }

    fn statement(&mut self) -> R<Stat> {
        let line = self.line;
        match self.tok {
            Tok::If => {
                self.advance()?;
                let mut arms = Vec::new();
                let cond = self.expr()?;
                self.expect(Tok::Then)?;
                let b = self.block()?;
                arms.push((cond, b));
                let mut els = None;
                loop {
                    match self.tok {
                        Tok::Elseif => {
                            self.advance()?;
                            let c = self.expr()?;
                            self.expect(Tok::Then)?;
                            let b = self.block()?;
                            arms.push((c, b));
                        }
                        Tok::Else => {
                            self.advance()?;
                            els = Some(self.block()?);
                            self.check_match(Tok::End, Tok::If, line)?;
                            break;
                        }
                        _ => {
                            self.check_match(Tok::End, Tok::If, line)?;
                            break;
                        }
                    }
                }
                Ok(Stat::If(arms, els, line))
            }
            Tok::While => {
                self.advance()?;
                let c = self.expr()?;
                self.expect(Tok::Do)?;
                let b = self.loop_block()?;
                self.check_match(Tok::End, Tok::While, line)?;
                Ok(Stat::While(c, b, line))
            }
            Tok::Do => {
                self.advance()?;
                let b = self.block()?;
                self.check_match(Tok::End, Tok::Do, line)?;
                Ok(Stat::Do(b))
            }
            Tok::For => {
                self.advance()?;
                let n1 = self.name()?;
                match self.tok {
                    Tok::Char(b'=') => {
                        self.advance()?;
                        let a = self.expr()?;
                        self.expect_char(b',')?;
                        let b = self.expr()?;
                        let c = if self.test_next(&Tok::Char(b','))? {
                            Some(self.expr()?)
                        } else {
                            None
                        };
                        self.expect(Tok::Do)?;
                        let body = self.loop_block()?;
                        self.check_match(Tok::End, Tok::For, line)?;
                        Ok(Stat::NumFor(n1, a, b, c, body, line))
                    }
                    Tok::Char(b',') | Tok::In => {
                        let mut names = vec![n1];
                        while self.test_next(&Tok::Char(b','))? {
                            names.push(self.name()?);
                        }
                        self.expect(Tok::In)?;
                        let el = self.exprlist()?;
                        self.expect(Tok::Do)?;
                        let body = self.loop_block()?;
                        self.check_match(Tok::End, Tok::For, line)?;
                        Ok(Stat::GenFor(names, el, body, line))
                    }
                    _ => Err(self.err_near("'=' or 'in' expected")),
                }
            }
            Tok::Repeat => {
                self.advance()?;
                let b = self.loop_block()?;
                self.check_match(Tok::Until, Tok::Repeat, line)?;
                let c = self.expr()?;
                Ok(Stat::Repeat(b, c, line))
            }
            Tok::Function => {
                self.advance()?;
                let mut n = Expr::Name(self.name()?, line);
                let mut is_method = false;
                loop {
                    match self.tok {
                        Tok::Char(b'.') => {
                            self.advance()?;
                            let k = self.name()?;
                            n = Expr::Index(Box::new(n), Box::new(Expr::Str(k)), self.line);
                        }
                        Tok::Char(b':') => {
                            self.advance()?;
                            let k = self.name()?;
                            n = Expr::Index(Box::new(n), Box::new(Expr::Str(k)), self.line);
                            is_method = true;
                            break;
                        }
                        _ => break,
                    }
                }
                let body = self.funcbody(is_method, line)?;
                Ok(Stat::Function(n, Box::new(body), line))
            }
            Tok::Local => {
                self.advance()?;
                if self.test_next(&Tok::Function)? {
                    let n = self.name()?;
                    let body = self.funcbody(false, line)?;
                    return Ok(Stat::LocalFunction(n, Box::new(body), line));
                }
                let mut names = vec![self.name()?];
                while self.test_next(&Tok::Char(b','))? {
                    names.push(self.name()?);
                }
                let exprs = if self.test_next(&Tok::Char(b'='))? {
                    self.exprlist()?
                } else {
                    vec![]
                };
                Ok(Stat::Local(names, exprs, line))
            }
            _ => {
                let e = self.suffixedexp()?;
                if matches!(self.tok, Tok::Char(b'=') | Tok::Char(b',')) {
                    let mut targets = vec![e];
                    while self.test_next(&Tok::Char(b','))? {
                        targets.push(self.suffixedexp()?);
                    }
                    for t in &targets {
                        if !matches!(t, Expr::Name(..) | Expr::Index(..)) {
                            return Err(self.err_near("syntax error"));
                        }
                    }
                    self.expect_char(b'=')?;
                    let line = self.line;
                    let exprs = self.exprlist()?;
                    Ok(Stat::Assign(targets, exprs, line))
                } else {
                    if !matches!(e, Expr::Call(..) | Expr::Method(..)) {
                        if matches!(e, Expr::Name(..) | Expr::Index(..)) {
                            return Err(self.err_near("'=' expected"));
                        }
                        return Err(self.err_near("syntax error"));
                    }
                    Ok(Stat::Expr(e))
                }
            }
        }
    }

    fn funcbody(&mut self, is_method: bool, line: u32) -> R<FuncBody> {
        self.enter()?;
        let mut params = Vec::new();
        if is_method {
            params.push(b"self".to_vec());
        }
        let mut vararg = false;
        self.expect_char(b'(')?;
        if self.tok != Tok::Char(b')') {
            loop {
                match &self.tok {
                    Tok::Name(_) => params.push(self.name()?),
                    Tok::Dots => {
                        self.advance()?;
                        vararg = true;
                        break;
                    }
                    _ => return Err(self.err_near("<name> or '...' expected")),
                }
                if !self.test_next(&Tok::Char(b','))? {
                    break;
                }
            }
        }
        self.expect_char(b')')?;
        self.vararg_stack.push(vararg);
        self.loop_depth.push(0);
        let body = self.block();
        self.vararg_stack.pop();
        self.loop_depth.pop();
        let body = body?;
        let end_line = self.line;
        self.check_match(Tok::End, Tok::Function, line)?;
        self.leave();
        Ok(FuncBody {
            params,
            vararg,
            body,
            line,
            end_line,
        })
    }

    fn exprlist(&mut self) -> R<Vec<Expr>> {
        let mut v = vec![self.expr()?];
        while self.test_next(&Tok::Char(b','))? {
            v.push(self.expr()?);
        }
        Ok(v)
    }

    fn primaryexp(&mut self) -> R<Expr> {
        let line = self.line;
        match &self.tok {
            Tok::Name(_) => Ok(Expr::Name(self.name()?, line)),
            Tok::Char(b'(') => {
                self.advance()?;
                let e = self.expr()?;
                self.check_match(Tok::Char(b')'), Tok::Char(b'('), line)?;
                Ok(Expr::Paren(Box::new(e)))
            }
            _ => Err(self.err_near("unexpected symbol")),
        }
    }

    fn suffixedexp(&mut self) -> R<Expr> {
        let mut e = self.primaryexp()?;
        let mut depth = 0u32;
        loop {
            let line = self.line;
            depth += 1;
            if depth > MAX_LEVELS {
                return Err(self.err_near("chunk has too many syntax levels"));
            }
            match &self.tok {
                Tok::Char(b'.') => {
                    self.advance()?;
                    let k = self.name()?;
                    e = Expr::Index(Box::new(e), Box::new(Expr::Str(k)), line);
                }
                Tok::Char(b'[') => {
                    self.advance()?;
                    let k = self.expr()?;
                    self.expect_char(b']')?;
                    e = Expr::Index(Box::new(e), Box::new(k), line);
                }
                Tok::Char(b':') => {
                    self.advance()?;
                    let k = self.name()?;
                    let args = self.callargs(line)?;
                    e = Expr::Method(Box::new(e), k, args, line);
                }
                Tok::Char(b'(') | Tok::Str(_) | Tok::Char(b'{') => {
                    let args = self.callargs(line)?;
                    e = Expr::Call(Box::new(e), args, line);
                }
                _ => return Ok(e),
            }
        }
    }

    fn callargs(&mut self, line: u32) -> R<Vec<Expr>> {
        match &self.tok {
            Tok::Str(s) => {
                let s = s.clone();
                self.advance()?;
                Ok(vec![Expr::Str(s)])
            }
            Tok::Char(b'{') => Ok(vec![self.table()?]),
            Tok::Char(b'(') => {
                if line != self.line {
                    return Err(
                        self.err_plain("ambiguous syntax (function call x new statement) near '('")
                    );
                }
                self.advance()?;
                let args = if self.tok == Tok::Char(b')') {
                    vec![]
                } else {
                    self.exprlist()?
                };
                self.check_match(Tok::Char(b')'), Tok::Char(b'('), line)?;
                Ok(args)
            }
            _ => Err(self.err_near("function arguments expected")),
        }
    }

    fn table(&mut self) -> R<Expr> {
        let line = self.line;
        self.expect_char(b'{')?;
        let mut fields = Vec::new();
        loop {
            if self.tok == Tok::Char(b'}') {
                break;
            }
            match &self.tok {
                Tok::Name(_) => {
                    if self.peek()? == &Tok::Char(b'=') {
                        let k = self.name()?;
                        self.advance()?;
                        let v = self.expr()?;
                        fields.push(Field::Named(Expr::Str(k), v));
                    } else {
                        fields.push(Field::Pos(self.expr()?));
                    }
                }
                Tok::Char(b'[') => {
                    self.advance()?;
                    let k = self.expr()?;
                    self.expect_char(b']')?;
                    self.expect_char(b'=')?;
                    let v = self.expr()?;
                    fields.push(Field::Named(k, v));
                }
                _ => fields.push(Field::Pos(self.expr()?)),
            }
            if !(self.test_next(&Tok::Char(b','))? || self.test_next(&Tok::Char(b';'))?) {
                break;
            }
        }
        self.check_match(Tok::Char(b'}'), Tok::Char(b'{'), line)?;
        Ok(Expr::Table(fields, line))
    }

    fn simpleexp(&mut self) -> R<Expr> {
        let e = match &self.tok {
            Tok::Num(n) => Expr::Num(*n),
            Tok::Str(s) => Expr::Str(s.clone()),
            Tok::Nil => Expr::Nil,
            Tok::True => Expr::True,
            Tok::False => Expr::False,
            Tok::Dots => {
                if !*self.vararg_stack.last().unwrap() {
                    return Err(self.err_near("cannot use '...' outside a vararg function"));
                }
                Expr::Vararg
            }
            Tok::Char(b'{') => return self.table(),
            Tok::Function => {
                let line = self.line;
                self.advance()?;
                return Ok(Expr::Function(Box::new(self.funcbody(false, line)?)));
            }
            _ => return self.suffixedexp(),
        };
        self.advance()?;
        Ok(e)
    }

    fn binop(&self) -> Option<(BinOp, u8, u8)> {
        Some(match self.tok {
            Tok::Char(b'+') => (BinOp::Add, 6, 6),
            Tok::Char(b'-') => (BinOp::Sub, 6, 6),
            Tok::Char(b'*') => (BinOp::Mul, 7, 7),
            Tok::Char(b'/') => (BinOp::Div, 7, 7),
            Tok::Char(b'%') => (BinOp::Mod, 7, 7),
            Tok::Char(b'^') => (BinOp::Pow, 10, 9),
            Tok::Concat => (BinOp::Concat, 5, 4),
            Tok::Ne => (BinOp::Ne, 3, 3),
            Tok::Eq => (BinOp::Eq, 3, 3),
            Tok::Char(b'<') => (BinOp::Lt, 3, 3),
            Tok::Le => (BinOp::Le, 3, 3),
            Tok::Char(b'>') => (BinOp::Gt, 3, 3),
            Tok::Ge => (BinOp::Ge, 3, 3),
            Tok::And => (BinOp::And, 2, 2),
            Tok::Or => (BinOp::Or, 1, 1),
            _ => return None,
        })
    }

    pub fn expr(&mut self) -> R<Expr> {
        self.subexpr(0)
    }

    fn subexpr(&mut self, limit: u8) -> R<Expr> {
        self.enter()?;
        let line = self.line;
        let mut e = match self.tok {
            Tok::Not => {
                self.advance()?;
                Expr::Un(UnOp::Not, Box::new(self.subexpr(8)?), line)
            }
            Tok::Char(b'-') => {
                self.advance()?;
                let o = self.subexpr(8)?;
                match o {
                    Expr::Num(n) => Expr::Num(-n),
                    o => Expr::Un(UnOp::Neg, Box::new(o), line),
                }
            }
            Tok::Char(b'#') => {
                self.advance()?;
                Expr::Un(UnOp::Len, Box::new(self.subexpr(8)?), line)
            }
            _ => self.simpleexp()?,
        };
        let mut chain = 0u32;
        while let Some((op, l, r)) = self.binop() {
            if l <= limit {
                break;
            }
            chain += 1;
            if chain > MAX_LEVELS {
                return Err(self.err_near("chunk has too many syntax levels"));
            }
            self.advance()?;
            let rhs = self.subexpr(r)?;
            e = fold(op, e, rhs, self.last_line);
        }
        self.leave();
        Ok(e)
    }
}

fn fold(op: BinOp, a: Expr, b: Expr, line: u32) -> Expr {
    if let (Expr::Num(x), Expr::Num(y)) = (&a, &b) {
        let (x, y) = (*x, *y);
        let r = match op {
            BinOp::Add => Some(x + y),
            BinOp::Sub => Some(x - y),
            BinOp::Mul => Some(x * y),
            BinOp::Div if y != 0.0 => Some(x / y),
            BinOp::Pow => Some(x.powf(y)),
            _ => None,
        };
        if let Some(r) = r {
            if !r.is_nan() {
                return Expr::Num(r);
            }
        }
    }
    Expr::Bin(op, Box::new(a), Box::new(b), line)
}
