//! Conversions between replies and Lua values, as Redis 7.0's `script_lua.c`.
//!
//! - [`reply_to_lua`]: what `redis.call` returns. The command's reply is encoded first,
//!   in the script's protocol (RESP2 unless it called `redis.setresp(3)`), then read back
//!   here, so a script sees exactly what a client would.
//! - [`lua_to_reply`]: what a script returns, encoded for the caller.
//!
//! Neither recurses in Rust: a reply or a table nested thousands deep (or a table that
//! contains itself) cannot overflow the thread's stack.

use super::lua::{Lua, Value};
use crate::resp::Reply;

/// Reads one encoded reply into a Lua value: status `{ok=...}`, error `{err=...}`,
/// integer number, bulk string, null bulk or null array `false`, array table; in RESP3
/// map `{map=...}`, set `{set={member=true}}`, null `nil`, boolean, double
/// `{double=n}`, big number `{big_number=s}`, verbatim `{verbatim_string={format=,
/// string=}}`; attributes are skipped.
pub fn reply_to_lua(lua: &mut Lua, bytes: &[u8]) -> Value {
    // Open aggregates: the table, what kind, how many elements are left, the next array
    // index, and a map key waiting for its value.
    struct Open {
        table: Value,
        kind: u8,
        left: usize,
        index: usize,
        key: Option<Value>,
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut pos = 0;
    loop {
        let (value, next) = match parse_one(lua, bytes, pos) {
            Parsed::Scalar(v, next) => (Some(v), next),
            Parsed::Aggregate(kind, n, next) => {
                let inner = lua.create_table(if kind == b'*' { n } else { 0 }, 0);
                if n == 0 {
                    (Some(wrap(lua, kind, inner)), next)
                } else {
                    stack.push(Open {
                        table: inner,
                        kind,
                        left: if kind == b'%' || kind == b'|' {
                            2 * n
                        } else {
                            n
                        },
                        index: 0,
                        key: None,
                    });
                    (None, next)
                }
            }
            Parsed::Bad => return Value::Nil,
        };
        pos = next;
        let Some(mut value) = value else { continue };
        // Store the finished value into its parent, closing every parent it completes.
        loop {
            let Some(top) = stack.last_mut() else {
                return value;
            };
            match top.kind {
                b'*' => {
                    top.index += 1;
                    let _ = lua.raw_set(&top.table, Value::Num(top.index as f64), value);
                }
                b'~' => {
                    let _ = lua.raw_set(&top.table, value, Value::Bool(true));
                }
                // Maps, and attributes (whose pairs are dropped).
                _ => match top.key.take() {
                    None => top.key = Some(value),
                    Some(key) => {
                        if top.kind == b'%' {
                            let _ = lua.raw_set(&top.table, key, value);
                        }
                    }
                },
            }
            top.left -= 1;
            if top.left > 0 {
                break;
            }
            let done = stack.pop().expect("an open aggregate");
            if done.kind == b'|' {
                // An attribute precedes the reply it describes: parse that next.
                break;
            }
            value = wrap(lua, done.kind, done.table);
        }
    }
}

enum Parsed {
    Scalar(Value, usize),
    /// An aggregate's type byte and element count.
    Aggregate(u8, usize, usize),
    Bad,
}

/// The line at `pos` (without CRLF) and where the next one starts.
fn line(bytes: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = bytes.get(pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], pos + end + 2))
}

fn parse_one(lua: &mut Lua, bytes: &[u8], pos: usize) -> Parsed {
    let Some((head, next)) = line(bytes, pos) else {
        return Parsed::Bad;
    };
    let Some((&kind, body)) = head.split_first() else {
        return Parsed::Bad;
    };
    let int = || crate::util::num::parse_i64(body);
    let scalar = |v| Parsed::Scalar(v, next);
    match kind {
        b'+' => {
            let t = lua.create_table(0, 1);
            let s = lua.string(body);
            let _ = lua.set_field(&t, "ok", s);
            scalar(t)
        }
        b'-' => {
            let t = error_table(lua, head);
            let _ = lua.set_field(&t, "ignore_error_stats_update", Value::Bool(true));
            scalar(t)
        }
        b':' => scalar(Value::Num(int().unwrap_or(0) as f64)),
        b'$' | b'=' => {
            let n = int().unwrap_or(-1);
            if n < 0 {
                return scalar(Value::Bool(false));
            }
            let end = next + n as usize;
            let Some(data) = bytes.get(next..end) else {
                return Parsed::Bad;
            };
            let v = if kind == b'$' {
                lua.string(data)
            } else {
                let (format, text) = data.split_at(data.len().min(4));
                let t = lua.create_table(0, 1);
                let inner = lua.create_table(0, 2);
                let s = lua.string(text);
                let _ = lua.set_field(&inner, "string", s);
                let f = lua.string(&format[..format.len().min(3)]);
                let _ = lua.set_field(&inner, "format", f);
                let _ = lua.set_field(&t, "verbatim_string", inner);
                t
            };
            Parsed::Scalar(v, end + 2)
        }
        b'*' | b'%' | b'~' | b'|' | b'>' => match int() {
            Some(n) if n >= 0 => {
                Parsed::Aggregate(if kind == b'>' { b'*' } else { kind }, n as usize, next)
            }
            _ => scalar(Value::Bool(false)),
        },
        b'_' => scalar(Value::Nil),
        b'#' => scalar(Value::Bool(body == b"t")),
        b',' => {
            let d = parse_double(body);
            let t = lua.create_table(0, 1);
            let _ = lua.set_field(&t, "double", Value::Num(d));
            scalar(t)
        }
        b'(' => {
            let t = lua.create_table(0, 1);
            let s = lua.string(body);
            let _ = lua.set_field(&t, "big_number", s);
            scalar(t)
        }
        _ => Parsed::Bad,
    }
}

/// A RESP3 double's text as `strtod` reads it.
fn parse_double(text: &[u8]) -> f64 {
    match text {
        b"inf" => f64::INFINITY,
        b"-inf" => f64::NEG_INFINITY,
        _ => std::str::from_utf8(text)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN),
    }
}

/// A map or set table wrapped as `{map=t}` or `{set=t}`; arrays stay as they are.
fn wrap(lua: &mut Lua, kind: u8, table: Value) -> Value {
    let field = match kind {
        b'%' => "map",
        b'~' => "set",
        _ => return table,
    };
    let t = lua.create_table(0, 1);
    let _ = lua.set_field(&t, field, table);
    t
}

/// Redis's `luaPushErrorBuff`: `{err="CODE message"}` from an error text, with or
/// without its leading `-`; a text with no code gets `ERR`. Trailing CR and LF go.
pub fn error_table(lua: &mut Lua, text: &[u8]) -> Value {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let msg = trim_crlf(msg);
    let mut full = Vec::with_capacity(code.len() + 1 + msg.len());
    full.extend_from_slice(code);
    full.push(b' ');
    full.extend_from_slice(msg);
    let t = lua.create_table(0, 1);
    let s = lua.string(&full);
    let _ = lua.set_field(&t, "err", s);
    t
}

/// `sdstrim(s, "\r\n")`: CR and LF cut from both ends.
fn trim_crlf(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map_or(start, |i| i + 1);
    &s[start..end]
}

/// How deep a reply may nest before the conversion gives up with `reached lua stack
/// limit`, as Redis does when its Lua stack (8000 slots) is full.
const STACK_SLOTS: usize = 8000;

/// Encodes what a script returned, as Redis's `luaReplyToRedisReply`: a string as a
/// bulk, a number truncated to an integer, a boolean as `:1` or a null in RESP2 (unless
/// the script chose RESP3 with `redis.setresp`, then `:1`/`:0` to a RESP2 caller and a
/// boolean to a RESP3 one), a table with `err`, `ok`, `double`, `big_number`,
/// `verbatim_string`, `map` or `set` as that reply, any other table as an array up to
/// its first nil, anything else as a null.
pub fn lua_to_reply(lua: &mut Lua, value: &Value, out: &mut Reply, script_resp3: bool) {
    // Work items: a value to encode, at a stack depth in Lua slots.
    let mut work: Vec<(Value, usize)> = vec![(value.clone(), 2)];
    while let Some((v, slots)) = work.pop() {
        if slots + 4 > STACK_SLOTS {
            out.error("ERR reached lua stack limit");
            continue;
        }
        match v {
            Value::Str(s) => out.bulk(s.as_bytes()),
            Value::Bool(b) => {
                if !script_resp3 {
                    if b {
                        out.int(1);
                    } else {
                        out.null();
                    }
                } else {
                    out.boolean(b);
                }
            }
            Value::Num(n) => out.int(c_long_long(n)),
            Value::Table(_) => table_reply(lua, &v, out, slots, &mut work),
            _ => out.null(),
        }
    }
}

/// C's `(long long)` cast of a double as x86-64 does it: truncation, and
/// `LLONG_MIN` for NaN and anything out of range (what Redis replies for `return 1e20`).
pub fn c_long_long(n: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// One table of [`lua_to_reply`]: the special shapes, else an array. Elements are pushed
/// on `work` in reverse, so they are encoded in order.
fn table_reply(
    lua: &mut Lua,
    t: &Value,
    out: &mut Reply,
    slots: usize,
    work: &mut Vec<(Value, usize)>,
) {
    let field = |lua: &mut Lua, name: &str| lua.get_field(t, name);
    if let Value::Str(err) = field(lua, "err") {
        let mut text = Vec::with_capacity(err.as_bytes().len());
        text.extend_from_slice(err.as_bytes());
        out.error(&String::from_utf8_lossy(&text));
        return;
    }
    if let Value::Str(ok) = field(lua, "ok") {
        out.simple(&String::from_utf8_lossy(ok.as_bytes()).replace(['\r', '\n'], " "));
        return;
    }
    if let Value::Num(d) = field(lua, "double") {
        out.double(d);
        return;
    }
    if let Value::Str(big) = field(lua, "big_number") {
        let text = String::from_utf8_lossy(big.as_bytes()).replace(['\r', '\n'], " ");
        out.big_number(&text);
        return;
    }
    let verbatim = field(lua, "verbatim_string");
    if let Value::Table(_) = verbatim {
        let format = lua.get_field(&verbatim, "format");
        let string = lua.get_field(&verbatim, "string");
        if let (Value::Str(f), Value::Str(s)) = (format, string) {
            let f = String::from_utf8_lossy(f.as_bytes()).into_owned();
            out.verbatim(&f, s.as_bytes());
            return;
        }
    }
    let map = field(lua, "map");
    if let Value::Table(_) = map {
        let pairs = entries(lua, &map);
        out.map(pairs.len());
        for (k, v) in pairs.into_iter().rev() {
            work.push((v, slots + 3));
            work.push((k, slots + 3));
        }
        return;
    }
    let set = field(lua, "set");
    if let Value::Table(_) = set {
        let members = entries(lua, &set);
        out.set(members.len());
        for (k, _) in members.into_iter().rev() {
            work.push((k, slots + 3));
        }
        return;
    }
    let mut items = Vec::new();
    loop {
        let v = lua.raw_get(t, &Value::Num((items.len() + 1) as f64));
        if let Value::Nil = v {
            break;
        }
        items.push(v);
    }
    out.array(items.len());
    for v in items.into_iter().rev() {
        work.push((v, slots + 1));
    }
}

/// Every entry of a table, in `next` order.
fn entries(lua: &mut Lua, t: &Value) -> Vec<(Value, Value)> {
    let mut all = Vec::new();
    let mut key = Value::Nil;
    while let Ok(Some((k, v))) = lua.next(t, &key) {
        key = k.clone();
        all.push((k, v));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_cast_as_c_does() {
        assert_eq!(c_long_long(3.99), 3);
        assert_eq!(c_long_long(-3.99), -3);
        assert_eq!(c_long_long(1e20), i64::MIN);
        assert_eq!(c_long_long(f64::NAN), i64::MIN);
        assert_eq!(c_long_long(-9_223_372_036_854_775_808.0), i64::MIN);
    }

    #[test]
    fn crlf_trimmed() {
        assert_eq!(trim_crlf(b"\r\nab c\r\n"), b"ab c");
        assert_eq!(trim_crlf(b"\r\n"), b"");
    }
}
