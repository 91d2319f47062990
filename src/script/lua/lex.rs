//! The lexer (Lua 5.1's llex.c, rewritten).

use super::value::str_to_number;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Name(Vec<u8>),
    Str(Vec<u8>),
    Num(f64),
    And,
    Break,
    Do,
    Else,
    Elseif,
    End,
    False,
    For,
    Function,
    If,
    In,
    Local,
    Nil,
    Not,
    Or,
    Repeat,
    Return,
    Then,
    True,
    Until,
    While,
    Concat,
    Dots,
    Eq,
    Ge,
    Le,
    Ne,
    Char(u8),
    Eof,
}

pub(crate) struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    pub line: u32,
    pub chunk: String,
    /// Raw text of the current token, for "near '...'" messages.
    pub tok_start: usize,
}

pub(crate) fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Name(n) => String::from_utf8_lossy(n).into_owned(),
        Tok::Str(s) => String::from_utf8_lossy(s).into_owned(),
        Tok::Num(n) => super::value::fmt_number(*n),
        Tok::And => "and".into(),
        Tok::Break => "break".into(),
        Tok::Do => "do".into(),
        Tok::Else => "else".into(),
        Tok::Elseif => "elseif".into(),
        Tok::End => "end".into(),
        Tok::False => "false".into(),
        Tok::For => "for".into(),
        Tok::Function => "function".into(),
        Tok::If => "if".into(),
        Tok::In => "in".into(),
        Tok::Local => "local".into(),
        Tok::Nil => "nil".into(),
        Tok::Not => "not".into(),
        Tok::Or => "or".into(),
        Tok::Repeat => "repeat".into(),
        Tok::Return => "return".into(),
        Tok::Then => "then".into(),
        Tok::True => "true".into(),
        Tok::Until => "until".into(),
        Tok::While => "while".into(),
        Tok::Concat => "..".into(),
        Tok::Dots => "...".into(),
        Tok::Eq => "==".into(),
        Tok::Ge => ">=".into(),
        Tok::Le => "<=".into(),
        Tok::Ne => "~=".into(),
        Tok::Char(c) => (*c as char).to_string(),
        Tok::Eof => "<eof>".into(),
    }
}

/// `luaO_chunkid`: the short source name used in messages. Lua 5.1 gives it 80 bytes
/// in parse errors (`MAXSRC`) and 60 at run time (`LUA_IDSIZE`).
pub(crate) fn chunk_id_n(name: &str, bufflen: usize) -> String {
    let b = name.as_bytes();
    let out: Vec<u8> = if let Some(r) = b.strip_prefix(b"=") {
        r[..r.len().min(bufflen - 1)].to_vec()
    } else if let Some(r) = b.strip_prefix(b"@") {
        let room = bufflen - 8;
        if r.len() > room {
            let mut v = b"...".to_vec();
            v.extend_from_slice(&r[r.len() - room..]);
            v
        } else {
            r.to_vec()
        }
    } else {
        let room = bufflen - 17;
        let first = b
            .iter()
            .position(|&c| c == b'\n' || c == b'\r')
            .unwrap_or(b.len());
        let len = first.min(room);
        let mut v = b"[string \"".to_vec();
        v.extend_from_slice(&b[..len]);
        if len < b.len() {
            v.extend_from_slice(b"...");
        }
        v.extend_from_slice(b"\"]");
        v
    };
    String::from_utf8_lossy(&out).into_owned()
}

/// The name runtime messages use (60 bytes).
pub(crate) fn chunk_id(name: &str) -> String {
    chunk_id_n(name, 60)
}

fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a [u8], chunkname: &str) -> Lexer<'a> {
        let mut l = Lexer {
            src,
            pos: 0,
            line: 1,
            chunk: chunk_id_n(chunkname, 80),
            tok_start: 0,
        };
        if src.first() == Some(&b'#') {
            while l.pos < src.len() && src[l.pos] != b'\n' {
                l.pos += 1;
            }
        }
        l
    }

    fn cur(&self) -> u8 {
        *self.src.get(self.pos).unwrap_or(&0)
    }
    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }
    fn peek(&self, n: usize) -> u8 {
        *self.src.get(self.pos + n).unwrap_or(&0)
    }

    pub fn error(&self, msg: &str, near: Option<&str>) -> String {
        match near {
            Some(n) => format!("{}:{}: {} near '{}'", self.chunk, self.line, msg, n),
            None => format!("{}:{}: {}", self.chunk, self.line, msg),
        }
    }

    fn near_here(&self) -> String {
        String::from_utf8_lossy(&self.src[self.tok_start..self.pos.min(self.src.len())])
            .into_owned()
    }

    fn newline(&mut self) {
        let c = self.cur();
        self.pos += 1;
        let d = self.cur();
        if (d == b'\n' || d == b'\r') && d != c {
            self.pos += 1;
        }
        self.line += 1;
    }

    /// Counts `=` of a long bracket at pos (which is `[` or `]`): Some(level) if it is one.
    fn sep(&mut self) -> Option<usize> {
        let s = self.cur();
        let mut p = self.pos + 1;
        let mut n = 0;
        while self.src.get(p) == Some(&b'=') {
            p += 1;
            n += 1;
        }
        if self.src.get(p) == Some(&s) {
            self.pos = p + 1;
            Some(n)
        } else {
            None
        }
    }

    fn long_string(&mut self, level: usize, is_comment: bool) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        if matches!(self.cur(), b'\n' | b'\r') {
            self.newline();
        }
        loop {
            if self.at_end() {
                let what = if is_comment {
                    "unfinished long comment"
                } else {
                    "unfinished long string"
                };
                return Err(self.error(what, Some("<eof>")));
            }
            let c = self.cur();
            match c {
                b']' => {
                    let save = self.pos;
                    if let Some(n) = self.sep() {
                        if n == level {
                            return Ok(out);
                        }
                    }
                    self.pos = save + 1;
                    out.push(b']');
                }
                b'\n' | b'\r' => {
                    out.push(b'\n');
                    self.newline();
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn near_str(delim: u8, out: &[u8]) -> String {
        let mut v = vec![delim];
        v.extend_from_slice(out);
        String::from_utf8_lossy(&v).into_owned()
    }

    fn read_string(&mut self, delim: u8) -> Result<Vec<u8>, String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            if self.at_end() {
                return Err(self.error("unfinished string", Some("<eof>")));
            }
            let c = self.cur();
            if c == delim {
                self.pos += 1;
                return Ok(out);
            }
            match c {
                b'\n' | b'\r' => {
                    let near = Self::near_str(delim, &out);
                    return Err(self.error("unfinished string", Some(&near)));
                }
                b'\\' => {
                    self.pos += 1;
                    let e = self.cur();
                    let r = match e {
                        b'a' => 7,
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'v' => 11,
                        b'\n' | b'\r' => {
                            out.push(b'\n');
                            self.newline();
                            continue;
                        }
                        _ if self.at_end() => continue,
                        d if d.is_ascii_digit() => {
                            let mut v: u32 = 0;
                            let mut i = 0;
                            while i < 3 && self.cur().is_ascii_digit() {
                                v = v * 10 + (self.cur() - b'0') as u32;
                                self.pos += 1;
                                i += 1;
                            }
                            if v > 255 {
                                let near = Self::near_str(delim, &out);
                                return Err(self.error("escape sequence too large", Some(&near)));
                            }
                            out.push(v as u8);
                            continue;
                        }
                        other => other,
                    };
                    out.push(r);
                    self.pos += 1;
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn read_number(&mut self) -> Result<Tok, String> {
        let start = self.pos;
        while self.cur().is_ascii_alphanumeric() || self.cur() == b'.' || self.cur() == b'_' {
            let c = self.cur();
            self.pos += 1;
            if (c == b'e' || c == b'E') && (self.cur() == b'+' || self.cur() == b'-') {
                self.pos += 1;
            }
        }
        let text = &self.src[start..self.pos];
        match str_to_number(text) {
            Some(n) if !text.iter().any(|c| c.is_ascii_whitespace()) => Ok(Tok::Num(n)),
            _ => Err(self.error("malformed number", Some(&self.near_here()))),
        }
    }

    pub fn next_tok(&mut self) -> Result<Tok, String> {
        loop {
            self.tok_start = self.pos;
            if self.at_end() {
                return Ok(Tok::Eof);
            }
            let c = self.cur();
            match c {
                b'\n' | b'\r' => self.newline(),
                b' ' | b'\t' | 0x0b | 0x0c => self.pos += 1,
                b'-' => {
                    if self.peek(1) != b'-' {
                        self.pos += 1;
                        return Ok(Tok::Char(b'-'));
                    }
                    self.pos += 2;
                    if self.cur() == b'[' {
                        let save = self.pos;
                        if let Some(level) = self.sep() {
                            self.long_string(level, true)?;
                            continue;
                        }
                        self.pos = save;
                    }
                    while !self.at_end() && !matches!(self.cur(), b'\n' | b'\r') {
                        self.pos += 1;
                    }
                }
                b'[' => {
                    let save = self.pos;
                    match self.sep() {
                        Some(level) => return Ok(Tok::Str(self.long_string(level, false)?)),
                        None => {
                            self.pos = save;
                            if self.peek(1) == b'=' {
                                self.pos += 2;
                                return Err(self.error("invalid long string delimiter", Some("[=")));
                            }
                            self.pos += 1;
                            return Ok(Tok::Char(b'['));
                        }
                    }
                }
                b'=' | b'<' | b'>' | b'~' => {
                    self.pos += 1;
                    if self.cur() == b'=' {
                        self.pos += 1;
                        return Ok(match c {
                            b'=' => Tok::Eq,
                            b'<' => Tok::Le,
                            b'>' => Tok::Ge,
                            _ => Tok::Ne,
                        });
                    }
                    return Ok(Tok::Char(c));
                }
                b'"' | b'\'' => return Ok(Tok::Str(self.read_string(c)?)),
                b'.' => {
                    if self.peek(1) == b'.' {
                        if self.peek(2) == b'.' {
                            self.pos += 3;
                            return Ok(Tok::Dots);
                        }
                        self.pos += 2;
                        return Ok(Tok::Concat);
                    }
                    if self.peek(1).is_ascii_digit() {
                        return self.read_number();
                    }
                    self.pos += 1;
                    return Ok(Tok::Char(b'.'));
                }
                d if d.is_ascii_digit() => return self.read_number(),
                a if is_alpha(a) => {
                    let start = self.pos;
                    while is_alpha(self.cur()) || self.cur().is_ascii_digit() {
                        self.pos += 1;
                    }
                    let w = &self.src[start..self.pos];
                    return Ok(match w {
                        b"and" => Tok::And,
                        b"break" => Tok::Break,
                        b"do" => Tok::Do,
                        b"else" => Tok::Else,
                        b"elseif" => Tok::Elseif,
                        b"end" => Tok::End,
                        b"false" => Tok::False,
                        b"for" => Tok::For,
                        b"function" => Tok::Function,
                        b"if" => Tok::If,
                        b"in" => Tok::In,
                        b"local" => Tok::Local,
                        b"nil" => Tok::Nil,
                        b"not" => Tok::Not,
                        b"or" => Tok::Or,
                        b"repeat" => Tok::Repeat,
                        b"return" => Tok::Return,
                        b"then" => Tok::Then,
                        b"true" => Tok::True,
                        b"until" => Tok::Until,
                        b"while" => Tok::While,
                        _ => Tok::Name(w.to_vec()),
                    });
                }
                _ => {
                    self.pos += 1;
                    return Ok(Tok::Char(c));
                }
            }
        }
    }

    /// The source text of the last token (for `near` in parse errors).
    pub fn last_text(&self) -> String {
        self.near_here()
    }
}
