//! JSON as Redis 7.0's `cjson` library does it (deps/lua/src/lua_cjson.c, Lua CJSON 2.1.0
//! with Redis's patches; strbuf.c and fpconv.c for buffers and numbers).
//!
//! - [`encode`] walks Lua values through the [`Source`] trait (the glue implements it over
//!   the interpreter, the tests over a small tree), so the codec decides everything
//!   cjson decides: array or object, sparse arrays, key types, nesting, NaN and Inf.
//! - [`decode`] turns text into a flat list of [`Event`]s in document order, which the
//!   glue replays into tables. Both are loops with an explicit stack, never recursion:
//!   the nesting limits can be raised to 2^31-1, and deep input must not take the
//!   native stack down.
//!
//! The C library runs inside a Lua C function whose stack may hold at most
//! `LUAI_MAXCSTACK` (8000) slots; `lua_checkstack` failing is reported as too deep
//! nesting. Both directions count the slots the C code would use, so the limits bite at
//! the same depth as in Redis whatever the configured maximum.

/// `LUAI_MAXCSTACK`: stack slots a C function may use.
pub const MAX_C_STACK: usize = 8000;

/// The settings `cjson.encode_*` and `cjson.decode_*` change (`json_config_t`).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Turn excessively sparse arrays into objects instead of failing.
    pub sparse_convert: bool,
    /// 0: any sparse array is fine; otherwise `max > items * ratio` is excessive.
    pub sparse_ratio: i32,
    /// Arrays whose largest index is at most this are never excessive.
    pub sparse_safe: i32,
    /// Deepest nesting `encode` accepts.
    pub encode_max_depth: i32,
    /// Deepest nesting `decode` accepts.
    pub decode_max_depth: i32,
    /// 0: NaN and Inf are errors; 1: written as `nan`, `inf`, `-inf`; 2: as `null`.
    pub encode_invalid_numbers: i32,
    /// Significant digits of numbers (`%.14g` by default), 1 to 14.
    pub encode_number_precision: i32,
    /// Whether a buffer is kept between calls (no effect on results here).
    pub encode_keep_buffer: bool,
    /// Accept `Infinity`, `NaN`, hex and leading `+` or zeros when decoding.
    pub decode_invalid_numbers: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            encode_number_precision: 14,
            encode_keep_buffer: true,
            decode_invalid_numbers: true,
        }
    }
}

// ===== Encoding =====

use super::{Source, View};

/// An error `encode` raises (the message `luaL_error` would get).
#[derive(Clone, Debug, PartialEq)]
pub struct EncodeError(pub String);

fn exception(v: &View, reason: &str) -> EncodeError {
    EncodeError(format!("Cannot serialise {}: {}", v.type_name(), reason))
}

/// `lua_array_length`: Some(n) to encode as an array of n elements, None for an object.
fn array_length<S: Source>(src: &S, cfg: &Config, t: &S::V) -> Result<Option<usize>, EncodeError> {
    let mut max: i32 = 0;
    let mut items: i32 = 0;
    let mut key: Option<S::V> = None;
    while let Some((k, _)) = src.next(t, key.as_ref()) {
        match src.view(&k) {
            View::Num(n) if n != 0.0 && n.floor() == n && n >= 1.0 => {
                if n > max as f64 {
                    // C assigns the double to an int: x86 gives INT_MIN when it
                    // does not fit, which makes the table an object below.
                    max = if n < 2_147_483_648.0 {
                        n as i32
                    } else {
                        i32::MIN
                    };
                }
                items = items.wrapping_add(1);
            }
            _ => return Ok(None),
        }
        key = Some(k);
    }
    if cfg.sparse_ratio > 0 && max > items.wrapping_mul(cfg.sparse_ratio) && max > cfg.sparse_safe {
        if !cfg.sparse_convert {
            return Err(exception(&View::Table, "excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(if max > 0 { Some(max as usize) } else { None })
}

fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

fn append_number(out: &mut Vec<u8>, cfg: &Config, n: f64) -> Result<(), EncodeError> {
    match cfg.encode_invalid_numbers {
        0 if !n.is_finite() => {
            return Err(exception(&View::Num(n), "must not be NaN or Inf"));
        }
        1 if n.is_nan() => {
            out.extend_from_slice(b"nan");
            return Ok(());
        }
        2 if !n.is_finite() => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        _ => {}
    }
    let precision = cfg.encode_number_precision.clamp(1, 14) as u32;
    // Integers that fit the precision print as themselves (no temporary string).
    if n == n.trunc()
        && n.abs() < 10f64.powi(precision as i32)
        && !(n == 0.0 && n.is_sign_negative())
    {
        use std::io::Write;
        let _ = write!(out, "{}", n as i64);
        return Ok(());
    }
    out.extend_from_slice(fmt_g(n, precision as usize).as_bytes());
    Ok(())
}

/// One open table of the walk.
enum Frame<V> {
    /// An array of `len` elements; `i` was the last written (0 = none yet).
    Array { t: V, len: usize, i: usize },
    /// An object; `key` was the last key written (None = none yet).
    Object { t: V, key: Option<V> },
}

/// `cjson.encode(v)`: the JSON text of `v`.
pub fn encode<S: Source>(src: &S, cfg: &Config, v: &S::V) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    let mut stack: Vec<Frame<S::V>> = Vec::new();
    // Slots of the C function's Lua stack in use when the next value is appended: the
    // argument, one per open array (its element) and two per open object (key, value).
    let mut slots = 1usize;
    // The next value to append, if any; else continue the innermost frame.
    let mut pending: Option<S::V> = Some(v.clone());
    loop {
        if let Some(value) = pending.take() {
            match src.view(&value) {
                View::Str(s) => append_string(&mut out, s),
                View::Num(n) => append_number(&mut out, cfg, n)?,
                View::Bool(true) => out.extend_from_slice(b"true"),
                View::Bool(false) => out.extend_from_slice(b"false"),
                View::Nil | View::Null => out.extend_from_slice(b"null"),
                View::Other(name) => {
                    return Err(exception(&View::Other(name), "type not supported"));
                }
                View::Table => {
                    let depth = stack.len() + 1;
                    if depth > cfg.encode_max_depth.max(0) as usize || slots + 3 > MAX_C_STACK {
                        return Err(EncodeError(format!(
                            "Cannot serialise, excessive nesting ({depth})"
                        )));
                    }
                    match array_length(src, cfg, &value)? {
                        Some(len) => {
                            out.push(b'[');
                            stack.push(Frame::Array {
                                t: value,
                                len,
                                i: 0,
                            });
                            slots += 1;
                        }
                        None => {
                            out.push(b'{');
                            stack.push(Frame::Object {
                                t: value,
                                key: None,
                            });
                            slots += 2;
                        }
                    }
                }
            }
        }
        // Continue the innermost table.
        let Some(frame) = stack.last_mut() else {
            return Ok(out);
        };
        match frame {
            Frame::Array { t, len, i } => {
                if *i == *len {
                    out.push(b']');
                    stack.pop();
                    slots -= 1;
                    continue;
                }
                if *i > 0 {
                    out.push(b',');
                }
                *i += 1;
                pending = Some(src.index(t, *i));
            }
            Frame::Object { t, key } => match src.next(t, key.as_ref()) {
                None => {
                    out.push(b'}');
                    stack.pop();
                    slots -= 2;
                }
                Some((k, v)) => {
                    if key.is_some() {
                        out.push(b',');
                    }
                    match src.view(&k) {
                        View::Num(n) => {
                            out.push(b'"');
                            append_number(&mut out, cfg, n)?;
                            out.extend_from_slice(b"\":");
                        }
                        View::Str(s) => {
                            append_string(&mut out, s);
                            out.push(b':');
                        }
                        other => {
                            return Err(exception(&other, "table key must be a number or string"));
                        }
                    }
                    *key = Some(k);
                    pending = Some(v);
                }
            },
        }
    }
}

// ===== Decoding =====

/// One step of a decoded document, in order. An object's entries come as key (always a
/// `Str`) then value; `End` closes the innermost array or object.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    ArrayBegin,
    ObjectBegin,
    End,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num,
    Bool,
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    /// How `json_throw_parse_error` names what it found.
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num => "T_NUMBER",
            Tok::Bool => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(what) => what,
        }
    }
}

struct Token {
    tok: Tok,
    /// 0-based offset of the token (of the error, for errors).
    index: usize,
    str: Vec<u8>,
    num: f64,
    boolean: bool,
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    cfg: &'a Config,
}

impl Parser<'_> {
    /// The byte at `i`; the C code reads a NUL-terminated string, so past the end is 0.
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn error(&self, token: &mut Token, what: &'static str) {
        token.tok = Tok::Error(what);
        token.index = self.pos;
    }

    fn next_token(&mut self) -> Token {
        let mut token = Token {
            tok: Tok::End,
            index: 0,
            str: Vec::new(),
            num: 0.0,
            boolean: false,
        };
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        token.index = self.pos;
        let ch = self.at(self.pos);
        let single = match ch {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(tok) = single {
            token.tok = tok;
            self.pos += 1;
            return token;
        }
        if ch == 0 {
            token.tok = Tok::End;
            return token;
        }
        if !matches!(
            ch,
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'"' | b'+' | b'-' | b'0'..=b'9'
        ) {
            self.error(&mut token, "invalid token");
            return token;
        }
        let rest = &self.data[self.pos..];
        if ch == b'"' {
            self.string_token(&mut token);
        } else if ch == b'-' || ch.is_ascii_digit() {
            if !self.cfg.decode_invalid_numbers && self.is_invalid_number() {
                self.error(&mut token, "invalid number");
            } else {
                self.number_token(&mut token);
            }
        } else if rest.starts_with(b"true") {
            token.tok = Tok::Bool;
            token.boolean = true;
            self.pos += 4;
        } else if rest.starts_with(b"false") {
            token.tok = Tok::Bool;
            self.pos += 5;
        } else if rest.starts_with(b"null") {
            token.tok = Tok::Null;
            self.pos += 4;
        } else if self.cfg.decode_invalid_numbers && self.is_invalid_number() {
            self.number_token(&mut token);
        } else {
            self.error(&mut token, "invalid token");
        }
        token
    }

    /// `json_is_invalid_number`: forms strtod takes that strict JSON does not.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return c2 | 0x20 == b'x' || c2.is_ascii_digit();
        } else if c <= b'9' {
            return false;
        }
        let word = |w: &[u8]| (0..3).all(|i| self.at(p + i).to_ascii_lowercase() == w[i]);
        word(b"inf") || word(b"nan")
    }

    fn number_token(&mut self, token: &mut Token) {
        // strtod reads no further than the characters a number can hold (and stops at
        // a NUL, as on a C string): bounding the slice keeps decoding linear.
        let end = self.data[self.pos..]
            .iter()
            .position(|&b| {
                !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-' | b'(' | b')' | b'_'))
            })
            .map_or(self.data.len(), |i| self.pos + i);
        match strtod(&self.data[self.pos..end]) {
            Some((n, used)) => {
                token.tok = Tok::Num;
                token.num = n;
                self.pos += used;
            }
            None => self.error(token, "invalid number"),
        }
    }

    fn string_token(&mut self, token: &mut Token) {
        self.pos += 1; // the opening quote
        let mut s = Vec::new();
        loop {
            // A run of plain bytes at once.
            let rest = self.data.get(self.pos..).unwrap_or_default();
            let run = rest
                .iter()
                .position(|&c| matches!(c, b'"' | b'\\' | 0))
                .unwrap_or(rest.len());
            s.extend_from_slice(&rest[..run]);
            self.pos += run;
            let ch = self.at(self.pos);
            if ch == b'"' {
                break;
            }
            if ch == 0 {
                self.error(token, "unexpected end of string");
                return;
            }
            if ch == b'\\' {
                let esc = match self.at(self.pos + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => b'\x08',
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'f' => b'\x0c',
                    b'r' => b'\r',
                    b'u' => {
                        if self.unicode_escape(&mut s) {
                            continue;
                        }
                        self.error(token, "invalid unicode escape code");
                        return;
                    }
                    _ => {
                        self.error(token, "invalid escape code");
                        return;
                    }
                };
                s.push(esc);
                self.pos += 2;
                continue;
            }
            s.push(ch);
            self.pos += 1;
        }
        self.pos += 1; // the closing quote
        token.tok = Tok::Str;
        token.str = s;
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0;
        for i in 0..4 {
            v = v << 4 | (self.at(at + i) as char).to_digit(16)?;
        }
        Some(v)
    }

    /// `json_append_unicode_escape`: `\uXXXX` (or a surrogate pair) as UTF-8.
    fn unicode_escape(&mut self, s: &mut Vec<u8>) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return false; // a low surrogate first
            }
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        // Every code point here is below 0x110000 and encodes (surrogates excepted above).
        match char::from_u32(cp) {
            Some(c) => s.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            None => return false,
        }
        self.pos += len;
        true
    }
}

/// A decode failure (the message `luaL_error` would get).
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeError(pub String);

fn parse_error(expected: &str, token: &Token) -> DecodeError {
    DecodeError(format!(
        "Expected {} but found {} at character {}",
        expected,
        token.tok.name(),
        token.index + 1
    ))
}

/// What the parser expects next inside the innermost container.
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// An array, after `[` (a value or `]`) or after a value (`,` or `]`).
    ArrayStart,
    ArrayNext,
    /// An object, after `{` (a key or `}`) or after a value (`,` or `}`).
    ObjectStart,
    ObjectNext,
}

/// `cjson.decode(text)`: the document as events.
pub fn decode(text: &[u8], cfg: &Config) -> Result<Vec<Event>, DecodeError> {
    if text.len() >= 2 && (text[0] == 0 || text[1] == 0) {
        return Err(DecodeError(
            "JSON parser does not support UTF-16 or UTF-32".to_string(),
        ));
    }
    let mut p = Parser {
        data: text,
        pos: 0,
        cfg,
    };
    let mut events = Vec::new();
    let mut stack: Vec<Ctx> = Vec::new();
    // Lua stack slots in use: the argument, a table per open container and, while an
    // object's value is read, its key.
    let mut slots = 1usize;
    let mut token = p.next_token();
    loop {
        // `token` is a value to process (json_process_value).
        match token.tok {
            Tok::Str => events.push(Event::Str(std::mem::take(&mut token.str))),
            Tok::Num => events.push(Event::Num(token.num)),
            Tok::Bool => events.push(Event::Bool(token.boolean)),
            Tok::Null => events.push(Event::Null),
            Tok::ObjBegin | Tok::ArrBegin => {
                let object = token.tok == Tok::ObjBegin;
                let depth = stack.len() + 1;
                let need = if object { 3 } else { 2 };
                if depth > cfg.decode_max_depth.max(0) as usize || slots + need > MAX_C_STACK {
                    return Err(DecodeError(format!(
                        "Found too many nested data structures ({depth}) at character {}",
                        p.pos
                    )));
                }
                slots += 1;
                if object {
                    events.push(Event::ObjectBegin);
                    stack.push(Ctx::ObjectStart);
                } else {
                    events.push(Event::ArrayBegin);
                    stack.push(Ctx::ArrayStart);
                }
            }
            _ => return Err(parse_error("value", &token)),
        }
        // Read tokens until the next value.
        loop {
            let Some(ctx) = stack.last_mut() else {
                let end = p.next_token();
                if end.tok != Tok::End {
                    return Err(parse_error("the end", &end));
                }
                return Ok(events);
            };
            token = p.next_token();
            match *ctx {
                Ctx::ArrayStart | Ctx::ArrayNext => {
                    if *ctx == Ctx::ArrayStart && token.tok == Tok::ArrEnd {
                        // An empty array.
                    } else if *ctx == Ctx::ArrayStart {
                        *ctx = Ctx::ArrayNext;
                        break;
                    } else if token.tok == Tok::Comma {
                        token = p.next_token();
                        break;
                    } else if token.tok != Tok::ArrEnd {
                        return Err(parse_error("comma or array end", &token));
                    }
                    events.push(Event::End);
                    stack.pop();
                    slots -= 1;
                    if matches!(stack.last(), Some(Ctx::ObjectNext)) {
                        slots -= 1; // the parent's key
                    }
                }
                Ctx::ObjectStart | Ctx::ObjectNext => {
                    let start = *ctx == Ctx::ObjectStart;
                    let entry = if start && token.tok == Tok::ObjEnd {
                        false
                    } else if start {
                        true
                    } else if token.tok == Tok::Comma {
                        token = p.next_token();
                        true
                    } else if token.tok == Tok::ObjEnd {
                        false
                    } else {
                        return Err(parse_error("comma or object end", &token));
                    };
                    if entry {
                        if token.tok != Tok::Str {
                            return Err(parse_error("object key string", &token));
                        }
                        events.push(Event::Str(std::mem::take(&mut token.str)));
                        let colon = p.next_token();
                        if colon.tok != Tok::Colon {
                            return Err(parse_error("colon", &colon));
                        }
                        *ctx = Ctx::ObjectNext;
                        slots += 1; // the key, until the value is stored
                        token = p.next_token();
                        break;
                    }
                    events.push(Event::End);
                    stack.pop();
                    slots -= 1;
                    if matches!(stack.last(), Some(Ctx::ObjectNext)) {
                        slots -= 1;
                    }
                }
            }
        }
        // An object's scalar value is stored at once, releasing its key's slot (nothing
        // is checked in between); a container value releases it when it closes (above).
        if matches!(stack.last(), Some(Ctx::ObjectNext))
            && !matches!(token.tok, Tok::ObjBegin | Tok::ArrBegin)
        {
            slots -= 1;
        }
    }
}

// ===== Numbers =====

/// C's `printf("%.<precision>g", n)` (glibc output: `inf`, `-nan`, `1e+15`).
pub fn fmt_g(n: f64, precision: usize) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    let p = precision.max(1);
    if let Some(s) = crate::script::lua::value::fmt_g_short(n, p) {
        return s;
    }
    let sci = format!("{:.*e}", p - 1, n);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    if x < -4 || x >= p as i32 {
        let sign = if x < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", strip_zeros(mantissa), sign, x.abs())
    } else {
        strip_zeros(&format!("{:.*}", (p as i32 - 1 - x) as usize, n)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// C's `strtod` on `s` (which holds no NUL): the number and how many bytes it used, or
/// None when no number starts there. Takes leading white space, a sign, decimal and
/// hexadecimal forms, `inf`, `infinity`, `nan` and `nan(...)`, in any case.
pub fn strtod(s: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while matches!(at(i), b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c') {
        i += 1;
    }
    let negative = at(i) == b'-';
    if matches!(at(i), b'+' | b'-') {
        i += 1;
    }
    let sign = if negative { -1.0 } else { 1.0 };
    let word = |i: usize, w: &[u8]| (0..w.len()).all(|j| at(i + j).to_ascii_lowercase() == w[j]);
    if word(i, b"inf") {
        let used = if word(i, b"infinity") { i + 8 } else { i + 3 };
        return Some((sign * f64::INFINITY, used));
    }
    if word(i, b"nan") {
        let mut used = i + 3;
        if at(used) == b'(' {
            let mut j = used + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                used = j + 1;
            }
        }
        let nan = if negative { -f64::NAN } else { f64::NAN };
        return Some((nan, used));
    }
    if at(i) == b'0' && at(i + 1) | 0x20 == b'x' {
        if let Some((v, used)) = hex_float(&s[i + 2..]) {
            return Some((sign * v, i + 2 + used));
        }
        // "0x" without digits: the "0" alone.
        return Some((sign * 0.0, i + 1));
    }
    let start = i;
    let mut digits = 0;
    while at(i).is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if at(i) == b'.' {
        i += 1;
        while at(i).is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if at(i) | 0x20 == b'e' {
        let mut j = i + 1;
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            while at(j).is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let text = std::str::from_utf8(&s[start..i]).ok()?;
    // Rust's parser wants a digit before the exponent: "5." and ".5" are fine, and its
    // rounding is exact, as glibc's.
    let v: f64 = text.parse().ok()?;
    Some((sign * v, i))
}

/// The digits after `0x`: hex digits, an optional fraction and a binary exponent.
fn hex_float(s: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    let mut mantissa: u64 = 0;
    let mut exp: i64 = 0;
    let mut digits = 0;
    let mut sticky = false;
    let mut seen_point = false;
    loop {
        let c = at(i);
        if c == b'.' && !seen_point {
            seen_point = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else {
            break;
        };
        digits += 1;
        if mantissa >> 56 == 0 {
            mantissa = mantissa << 4 | d as u64;
            if seen_point {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exp += 4;
            }
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if at(i) | 0x20 == b'p' {
        let mut j = i + 1;
        let negative = at(j) == b'-';
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            let mut e: i64 = 0;
            while at(j).is_ascii_digit() {
                e = (e * 10 + (at(j) - b'0') as i64).min(1 << 20);
                j += 1;
            }
            exp += if negative { -e } else { e };
            i = j;
        }
    }
    // The sticky bit breaks ties the way the dropped digits would.
    let m = (mantissa << 1 | sticky as u64) as f64;
    Some((ldexp(m, exp - 1), i))
}

/// `m * 2^e` without overflowing the intermediate powers.
fn ldexp(mut m: f64, mut e: i64) -> f64 {
    while e > 1000 {
        m *= 2f64.powi(1000);
        e -= 1000;
        if m.is_infinite() {
            return m;
        }
    }
    while e < -1000 {
        m *= 2f64.powi(-1000);
        e += 1000;
        if m == 0.0 {
            return m;
        }
    }
    m * 2f64.powi(e as i32)
}

#[cfg(test)]
mod tests {
    use super::super::tree::{arr, obj, unnest, Tree, D};
    use super::*;

    fn enc(v: &D) -> Result<String, String> {
        enc_with(v, &Config::default())
    }

    fn enc_with(v: &D, cfg: &Config) -> Result<String, String> {
        encode(&Tree, cfg, v)
            .map(|b| String::from_utf8(b).unwrap())
            .map_err(|e| e.0)
    }

    // Expected outputs below come from Redis 7.0.15
    // (`redis-cli eval "return cjson.encode(...)" 0`).
    #[test]
    fn encodes_scalars() {
        assert_eq!(enc(&D::N(1.0)).unwrap(), "1");
        assert_eq!(enc(&D::N(0.1)).unwrap(), "0.1");
        assert_eq!(enc(&D::N(1e15)).unwrap(), "1e+15");
        assert_eq!(
            enc(&D::N(123456789012345.0)).unwrap(),
            "1.2345678901234e+14"
        );
        assert_eq!(enc(&D::N(-0.0)).unwrap(), "-0");
        assert_eq!(enc(&D::N(1.0 / 3.0)).unwrap(), "0.33333333333333");
        assert_eq!(enc(&D::N(1e-5)).unwrap(), "1e-05");
        assert_eq!(enc(&D::B(true)).unwrap(), "true");
        assert_eq!(enc(&D::Nil).unwrap(), "null");
        assert_eq!(enc(&D::Null).unwrap(), "null");
        assert_eq!(
            enc(&D::S("a/b\"c\\\x01\x7f\n\té")).unwrap(),
            "\"a\\/b\\\"c\\\\\\u0001\\u007f\\n\\té\""
        );
    }

    #[test]
    fn encodes_tables() {
        let inner = obj(vec![(D::S("a"), D::N(1.0))]);
        assert_eq!(
            enc(&arr(vec![D::N(1.0), D::N(2.0), inner])).unwrap(),
            "[1,2,{\"a\":1}]"
        );
        assert_eq!(enc(&obj(vec![])).unwrap(), "{}");
        // Holes are nulls while the array is not too sparse.
        let holes = obj(vec![(D::N(1.0), D::N(1.0)), (D::N(3.0), D::N(3.0))]);
        assert_eq!(enc(&holes).unwrap(), "[1,null,3]");
        let sparse = obj(vec![(D::N(1.0), D::N(1.0)), (D::N(30.0), D::N(3.0))]);
        assert_eq!(
            enc(&sparse).unwrap_err(),
            "Cannot serialise table: excessively sparse array"
        );
        let cfg = Config {
            sparse_convert: true,
            ..Config::default()
        };
        assert_eq!(enc_with(&sparse, &cfg).unwrap(), "{\"1\":1,\"30\":3}");
        // An index too large for a C int makes an object (x86's conversion).
        let huge = obj(vec![(D::N(2f64.powi(40)), D::N(1.0))]);
        assert_eq!(enc(&huge).unwrap(), "{\"1099511627776\":1}");
        let mixed = obj(vec![(D::N(1.0), D::N(1.0)), (D::S("x"), D::B(false))]);
        assert_eq!(enc(&mixed).unwrap(), "{\"1\":1,\"x\":false}");
        let frac = obj(vec![(D::N(1.5), D::N(1.0))]);
        assert_eq!(enc(&frac).unwrap(), "{\"1.5\":1}");
    }

    #[test]
    fn encode_errors() {
        assert_eq!(
            enc(&D::F).unwrap_err(),
            "Cannot serialise function: type not supported"
        );
        assert_eq!(
            enc(&arr(vec![D::N(f64::INFINITY)])).unwrap_err(),
            "Cannot serialise number: must not be NaN or Inf"
        );
        assert_eq!(
            enc(&obj(vec![(D::N(f64::INFINITY), D::N(1.0))])).unwrap_err(),
            "Cannot serialise number: must not be NaN or Inf"
        );
        assert_eq!(
            enc(&obj(vec![(D::B(true), D::N(1.0))])).unwrap_err(),
            "Cannot serialise boolean: table key must be a number or string"
        );
        let deep = arr(vec![arr(vec![arr(vec![D::N(1.0)])])]);
        let cfg = Config {
            encode_max_depth: 2,
            ..Config::default()
        };
        assert_eq!(
            enc_with(&deep, &cfg).unwrap_err(),
            "Cannot serialise, excessive nesting (3)"
        );
        let mut nested = D::N(1.0);
        for _ in 0..1001 {
            nested = arr(vec![nested]);
        }
        assert_eq!(
            enc(&nested).unwrap_err(),
            "Cannot serialise, excessive nesting (1001)"
        );
    }

    #[test]
    fn encode_invalid_numbers_settings() {
        let v = arr(vec![
            D::N(f64::INFINITY),
            D::N(f64::NEG_INFINITY),
            D::N(f64::NAN),
        ]);
        let on = Config {
            encode_invalid_numbers: 1,
            ..Config::default()
        };
        assert_eq!(enc_with(&v, &on).unwrap(), "[inf,-inf,nan]");
        let null = Config {
            encode_invalid_numbers: 2,
            ..Config::default()
        };
        assert_eq!(enc_with(&v, &null).unwrap(), "[null,null,null]");
        let short = Config {
            encode_number_precision: 3,
            ..Config::default()
        };
        assert_eq!(enc_with(&D::N(1.23456), &short).unwrap(), "1.23");
    }

    #[test]
    fn deep_encoding_hits_the_c_stack_limit() {
        // Raising encode_max_depth does not allow more than the C stack holds:
        // arrays use a slot a level, so the 7998th fails.
        let mut nested = D::N(1.0);
        for _ in 0..9000 {
            nested = arr(vec![nested]);
        }
        let cfg = Config {
            encode_max_depth: i32::MAX,
            ..Config::default()
        };
        assert_eq!(
            enc_with(&nested, &cfg).unwrap_err(),
            "Cannot serialise, excessive nesting (7998)"
        );
        let mut objects = D::N(1.0);
        for _ in 0..5000 {
            objects = obj(vec![(D::S("a"), objects)]);
        }
        assert_eq!(
            enc_with(&objects, &cfg).unwrap_err(),
            "Cannot serialise, excessive nesting (4000)"
        );
        // Release the trees without deep recursion in Drop.
        unnest(objects);
        unnest(nested);
    }

    /// Renders events compactly for comparisons.
    fn dec(text: &str) -> Result<String, String> {
        dec_with(text.as_bytes(), &Config::default())
    }

    fn dec_with(text: &[u8], cfg: &Config) -> Result<String, String> {
        let events = decode(text, cfg).map_err(|e| e.0)?;
        let mut out = String::new();
        for e in events {
            match e {
                Event::Str(s) => out.push_str(&format!("{:?} ", String::from_utf8_lossy(&s))),
                Event::Num(n) => out.push_str(&format!("{n} ")),
                Event::Bool(b) => out.push_str(&format!("{b} ")),
                Event::Null => out.push_str("null "),
                Event::ArrayBegin => out.push_str("[ "),
                Event::ObjectBegin => out.push_str("{ "),
                Event::End => out.push_str("end "),
            }
        }
        Ok(out.trim_end().to_string())
    }

    #[test]
    fn decodes_documents() {
        assert_eq!(dec("[1,2,{\"a\":1}]").unwrap(), "[ 1 2 { \"a\" 1 end end");
        assert_eq!(dec(" {} ").unwrap(), "{ end");
        assert_eq!(dec("[]").unwrap(), "[ end");
        assert_eq!(dec("[[],{}]").unwrap(), "[ [ end { end end");
        assert_eq!(dec("null").unwrap(), "null");
        assert_eq!(dec("true").unwrap(), "true");
        assert_eq!(
            dec("{\"a\":[1,{\"b\":null}],\"c\":false}").unwrap(),
            "{ \"a\" [ 1 { \"b\" null end end \"c\" false end"
        );
        assert_eq!(dec("-1.5e3").unwrap(), "-1500");
        assert_eq!(
            dec("\"\\u00e9\\ud83d\\ude00\\/\\n\"").unwrap(),
            "\"é😀/\\n\""
        );
        // decode_invalid_numbers is on by default: strtod's other forms pass.
        assert_eq!(dec("0x10").unwrap(), "16");
        assert_eq!(dec("+1").unwrap(), "1");
        assert_eq!(dec("007").unwrap(), "7");
        assert_eq!(dec("-Infinity").unwrap(), "-inf");
        assert_eq!(dec("nan").unwrap(), "NaN");
        // A NUL ends the text, as in C.
        assert_eq!(dec_with(b"12\0x", &Config::default()).unwrap(), "12");
    }

    #[test]
    fn decode_errors() {
        let cases = [
            (
                "nul",
                "Expected value but found invalid token at character 1",
            ),
            ("", "Expected value but found T_END at character 1"),
            (
                "[1,2",
                "Expected comma or array end but found T_END at character 5",
            ),
            (
                "{1:2}",
                "Expected object key string but found T_NUMBER at character 2",
            ),
            (
                "{\"a\" 2}",
                "Expected colon but found T_NUMBER at character 6",
            ),
            (
                "{\"a\":2 3}",
                "Expected comma or object end but found T_NUMBER at character 8",
            ),
            (
                "[1] x",
                "Expected the end but found invalid token at character 5",
            ),
            ("[1,]", "Expected value but found T_ARR_END at character 4"),
            (
                "\"\\ud800\"",
                "Expected value but found invalid unicode escape code at character 2",
            ),
            (
                "\"ab\\q\"",
                "Expected value but found invalid escape code at character 4",
            ),
            (
                "\"abc",
                "Expected value but found unexpected end of string at character 5",
            ),
            (
                "-",
                "Expected value but found invalid number at character 1",
            ),
            ("1 2", "Expected the end but found T_NUMBER at character 3"),
            ("]", "Expected value but found T_ARR_END at character 1"),
        ];
        for (text, want) in cases {
            assert_eq!(dec(text).unwrap_err(), want, "{text}");
        }
        assert_eq!(
            dec_with(b"\0\x01", &Config::default()).unwrap_err(),
            "JSON parser does not support UTF-16 or UTF-32"
        );
        let strict = Config {
            decode_invalid_numbers: false,
            ..Config::default()
        };
        assert_eq!(
            dec_with(b"[0x10]", &strict).unwrap_err(),
            "Expected value but found invalid number at character 2"
        );
        assert_eq!(
            dec_with(b"NaN", &strict).unwrap_err(),
            "Expected value but found invalid token at character 1"
        );
    }

    #[test]
    fn decode_nesting_limits() {
        assert_eq!(
            dec(&"[".repeat(1001)).unwrap_err(),
            "Found too many nested data structures (1001) at character 1001"
        );
        assert_eq!(
            dec(&"{\"a\":".repeat(1001)).unwrap_err(),
            "Found too many nested data structures (1001) at character 5001"
        );
        let ok = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(dec(&ok).is_ok());
        // With the limit raised, the C stack limit decides (Redis 7.0.15's answers).
        let unlimited = Config {
            decode_max_depth: i32::MAX,
            ..Config::default()
        };
        let cases = [
            ("[", "(7999) at character 7999"),
            ("{\"a\":", "(4000) at character 19996"),
            ("[{\"a\":", "(5333) at character 15997"),
        ];
        for (unit, want) in cases {
            let text = unit.repeat(9000);
            assert_eq!(
                dec_with(text.as_bytes(), &unlimited).unwrap_err(),
                format!("Found too many nested data structures {want}")
            );
        }
    }

    #[test]
    fn formats_like_printf() {
        let cases = [
            (0.0, 14, "0"),
            (100.0, 14, "100"),
            (0.0001, 14, "0.0001"),
            (0.00001, 14, "1e-05"),
            (123456.0, 3, "1.23e+05"),
            (9.9999999999999995, 14, "10"),
            (1e100, 14, "1e+100"),
            (-1.5, 14, "-1.5"),
            (0.125, 2, "0.12"),
            (0.375, 2, "0.38"),
            (f64::INFINITY, 14, "inf"),
            (f64::NEG_INFINITY, 14, "-inf"),
        ];
        for (n, p, want) in cases {
            assert_eq!(fmt_g(n, p), want, "{n} {p}");
        }
    }

    #[test]
    fn strtod_forms() {
        assert_eq!(strtod(b"12abc"), Some((12.0, 2)));
        assert_eq!(strtod(b"1e5"), Some((1e5, 3)));
        assert_eq!(strtod(b"1e"), Some((1.0, 1)));
        assert_eq!(strtod(b"1e+"), Some((1.0, 1)));
        assert_eq!(strtod(b".5"), Some((0.5, 2)));
        assert_eq!(strtod(b"5."), Some((5.0, 2)));
        assert_eq!(strtod(b"-"), None);
        assert_eq!(strtod(b"."), None);
        assert_eq!(strtod(b"0x1p4"), Some((16.0, 5)));
        assert_eq!(strtod(b"0x1.8"), Some((1.5, 5)));
        assert_eq!(strtod(b"0xg"), Some((0.0, 1)));
        assert_eq!(strtod(b"-0xff"), Some((-255.0, 5)));
        assert_eq!(strtod(b"infinityx"), Some((f64::INFINITY, 8)));
        assert_eq!(strtod(b"INFx"), Some((f64::INFINITY, 3)));
        assert_eq!(strtod(b"1e400"), Some((f64::INFINITY, 5)));
        let (n, used) = strtod(b"nan(123)").unwrap();
        assert!(n.is_nan());
        assert_eq!(used, 8);
    }
}
