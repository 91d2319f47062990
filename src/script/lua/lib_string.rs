//! The string library, with patterns (see `pattern`) and a C-printf `string.format`.

use super::lib_base::{
    arg_error, check_int, check_num, check_str, opt_int, reg, to_int, tostring_raw, type_err, R,
};
use super::pattern::{MatchState, SPECIALS};
use super::value::{fmt_g, type_name};
use super::vm::NKind;
use super::{Error, Host, LStr, Lua, Value};

fn posrelat(pos: i64, len: usize) -> i64 {
    if pos < 0 {
        let p = pos + len as i64 + 1;
        if p >= 0 {
            p
        } else {
            0
        }
    } else {
        pos
    }
}

fn s_len(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let s = check_str(lua, args, 1)?;
    Ok(vec![Value::Num(s.as_bytes().len() as f64)])
}

fn s_sub(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let s = check_str(lua, args, 1)?;
    let l = s.as_bytes().len();
    let mut start = posrelat(check_int(lua, args, 2)?, l);
    let mut end = posrelat(opt_int(lua, args, 3, -1)?, l);
    if start < 1 {
        start = 1;
    }
    if end > l as i64 {
        end = l as i64;
    }
    if start <= end {
        Ok(vec![
            lua.string(&s.as_bytes()[start as usize - 1..end as usize])
        ])
    } else {
        Ok(vec![lua.string(b"")])
    }
}

fn s_reverse(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let s = check_str(lua, args, 1)?;
    let mut v = s.as_bytes().to_vec();
    v.reverse();
    Ok(vec![lua.string(&v)])
}

fn s_lower(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let s = check_str(lua, args, 1)?;
    Ok(vec![lua.string(&s.as_bytes().to_ascii_lowercase())])
}

fn s_upper(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let s = check_str(lua, args, 1)?;
    Ok(vec![lua.string(&s.as_bytes().to_ascii_uppercase())])
}

fn s_rep(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let s = check_str(lua, args, 1)?;
    let n = check_int(lua, args, 2)?;
    if n <= 0 || s.as_bytes().is_empty() {
        return Ok(vec![lua.string(b"")]);
    }
    let total = (s.as_bytes().len() as u128) * (n as u128);
    if total > lua.heap.max_str() as u128 {
        return Err(lua.mem_error());
    }
    let v = s.as_bytes().repeat(n as usize);
    Ok(vec![lua.string(&v)])
}

fn s_byte(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let s = check_str(lua, args, 1)?;
    let l = s.as_bytes().len();
    let posi = posrelat(opt_int(lua, args, 2, 1)?, l);
    let pose = posrelat(opt_int(lua, args, 3, posi)?, l);
    let posi = posi.max(1);
    let pose = pose.min(l as i64);
    if posi > pose {
        return Ok(vec![]);
    }
    let n = pose - posi + 1;
    if n >= 8000 {
        return Err(lua.error_here(1, "stack overflow (string slice too long)"));
    }
    Ok(s.as_bytes()[posi as usize - 1..pose as usize]
        .iter()
        .map(|&b| Value::Num(b as f64))
        .collect())
}

fn s_char(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let mut v = Vec::with_capacity(args.len());
    for i in 1..=args.len() {
        let c = check_int(lua, args, i)?;
        if !(0..=255).contains(&c) {
            return Err(arg_error(lua, i, "invalid value"));
        }
        v.push(c as u8);
    }
    Ok(vec![lua.string(&v)])
}

fn s_dump(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    if !matches!(args.first(), Some(Value::Function(_))) {
        return Err(type_err(lua, args, 1, "function"));
    }
    Err(lua.error_here(1, "unable to dump given function"))
}

fn pat_err(lua: &mut Lua, msg: String) -> Error {
    lua.error_here(1, &msg)
}

fn find_aux(lua: &mut Lua, args: &[Value], find: bool) -> R {
    let s = check_str(lua, args, 1)?;
    let p = check_str(lua, args, 2)?;
    let (sb, pb) = (s.as_bytes(), p.as_bytes());
    let l1 = sb.len();
    let mut init = posrelat(opt_int(lua, args, 3, 1)?, l1) - 1;
    if init < 0 {
        init = 0;
    } else if init as usize > l1 {
        init = l1 as i64;
    }
    let init = init as usize;
    let plain = args.get(3).map(|v| v.truthy()).unwrap_or(false);
    let pat_until_nul = pb.split(|&c| c == 0).next().unwrap_or(b"");
    if find && (plain || !pat_until_nul.iter().any(|c| SPECIALS.contains(c))) {
        if let Some(pos) = memfind(&sb[init..], pb) {
            let st = init + pos;
            return Ok(vec![
                Value::Num((st + 1) as f64),
                Value::Num((st + pb.len()) as f64),
            ]);
        }
        return Ok(vec![Value::Nil]);
    }
    let (anchor, pat) = if pb.first() == Some(&b'^') {
        (true, &pb[1..])
    } else {
        (false, pb)
    };
    let mut ms = MatchState::new(sb, pat);
    let mut s1 = init;
    loop {
        ms.reset();
        match ms.do_match(s1, 0) {
            Err(e) => return Err(pat_err(lua, e)),
            Ok(Some(e)) => {
                let caps = if find {
                    let mut v = vec![Value::Num((s1 + 1) as f64), Value::Num(e as f64)];
                    match ms.captures(s1, e, false) {
                        Ok(c) => v.extend(c),
                        Err(m) => return Err(pat_err(lua, m)),
                    }
                    v
                } else {
                    match ms.captures(s1, e, true) {
                        Ok(c) => c,
                        Err(m) => return Err(pat_err(lua, m)),
                    }
                };
                return Ok(caps);
            }
            Ok(None) => {}
        }
        s1 += 1;
        if s1 > l1 || anchor {
            break;
        }
    }
    Ok(vec![Value::Nil])
}

fn memfind(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() {
        return Some(0);
    }
    if n.len() > h.len() {
        return None;
    }
    let first = n[0];
    let mut i = 0;
    while i + n.len() <= h.len() {
        match h[i..h.len() - n.len() + 1].iter().position(|&c| c == first) {
            None => return None,
            Some(off) => {
                i += off;
                if &h[i..i + n.len()] == n {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

fn s_find(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    find_aux(lua, args, true)
}

fn s_match(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    find_aux(lua, args, false)
}

fn gmatch_aux(lua: &mut Lua, _: &mut dyn Host, _: &[Value]) -> R {
    let up = lua.native_upvals().to_vec();
    let (s, p, pos) = match (&up[0], &up[1], &up[2]) {
        (Value::Str(s), Value::Str(p), Value::Num(n)) => (s.clone(), p.clone(), *n as usize),
        _ => return Ok(vec![]),
    };
    let sb = s.as_bytes();
    let mut ms = MatchState::new(sb, p.as_bytes());
    let mut src = pos;
    while src <= sb.len() {
        ms.reset();
        match ms.do_match(src, 0) {
            Err(e) => return Err(pat_err(lua, e)),
            Ok(Some(e)) => {
                let newstart = if e == src { e + 1 } else { e };
                if let Some(u) = lua.native_upvals_mut() {
                    u[2] = Value::Num(newstart as f64);
                }
                return ms.captures(src, e, true).map_err(|m| pat_err(lua, m));
            }
            Ok(None) => src += 1,
        }
    }
    if let Some(u) = lua.native_upvals_mut() {
        u[2] = Value::Num((sb.len() + 1) as f64);
    }
    Ok(vec![])
}

fn s_gmatch(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let s = check_str(lua, args, 1)?;
    let p = check_str(lua, args, 2)?;
    let f = lua.native_with(
        "gmatch_aux",
        gmatch_aux,
        vec![Value::Str(s), Value::Str(p), Value::Num(0.0)],
        NKind::Normal,
    );
    Ok(vec![f])
}

fn s_gsub(lua: &mut Lua, host: &mut dyn Host, args: &[Value]) -> R {
    let s = check_str(lua, args, 1)?;
    let p = check_str(lua, args, 2)?;
    let repl = args.get(2).cloned().unwrap_or_default();
    if !matches!(
        repl,
        Value::Num(_) | Value::Str(_) | Value::Function(_) | Value::Table(_)
    ) {
        return Err(arg_error(lua, 3, "string/function/table expected"));
    }
    let sb = s.as_bytes();
    let max_s = opt_int(lua, args, 4, sb.len() as i64 + 1)?;
    let pb = p.as_bytes();
    let (anchor, pat) = if pb.first() == Some(&b'^') {
        (true, &pb[1..])
    } else {
        (false, pb)
    };
    let repl_s = match &repl {
        Value::Num(_) | Value::Str(_) => Some(tostring_raw(&repl)),
        _ => None,
    };
    let mut ms = MatchState::new(sb, pat);
    let mut out: Vec<u8> = Vec::new();
    let mut src = 0usize;
    let mut n = 0i64;
    while n < max_s {
        ms.reset();
        let e = match ms.do_match(src, 0) {
            Err(m) => return Err(pat_err(lua, m)),
            Ok(e) => e,
        };
        if let Some(e) = e {
            n += 1;
            // add_value
            match &repl_s {
                Some(rs) => {
                    let mut i = 0;
                    while i < rs.len() {
                        let c = rs[i];
                        if c == b'%' {
                            i += 1;
                            // A final '%' adds the C string's terminating NUL (5.1).
                            let d = rs.get(i).copied().unwrap_or(0);
                            if !d.is_ascii_digit() {
                                out.push(d);
                            } else if d == b'0' {
                                out.extend_from_slice(&sb[src..e]);
                            } else {
                                match ms.capture_value((d - b'1') as usize, src, e) {
                                    Ok(v) => out.extend(tostring_raw(&v)),
                                    Err(m) => return Err(pat_err(lua, m)),
                                }
                            }
                        } else {
                            out.push(c);
                        }
                        i += 1;
                    }
                }
                None => {
                    let cap0 = match ms.capture_value(0, src, e) {
                        Ok(v) => v,
                        Err(m) => return Err(pat_err(lua, m)),
                    };
                    let v = if let Value::Table(_) = &repl {
                        lua.index_value(&repl, &cap0, host, None)?
                    } else {
                        let caps = ms.captures(src, e, true).map_err(|m| pat_err(lua, m))?;
                        lua.call_value(&repl, &caps, host)?
                            .into_iter()
                            .next()
                            .unwrap_or_default()
                    };
                    match &v {
                        Value::Nil | Value::Bool(false) => out.extend_from_slice(&sb[src..e]),
                        Value::Str(_) | Value::Num(_) => out.extend(tostring_raw(&v)),
                        other => {
                            let m = format!("invalid replacement value (a {})", type_name(other));
                            return Err(lua.error_here(1, &m));
                        }
                    }
                }
            }
            if out.len() > lua.heap.max_str() {
                return Err(lua.mem_error());
            }
            if e > src {
                src = e;
            } else if src < sb.len() {
                out.push(sb[src]);
                src += 1;
            } else {
                break;
            }
        } else if src < sb.len() {
            out.push(sb[src]);
            src += 1;
        } else {
            break;
        }
        if anchor {
            break;
        }
    }
    out.extend_from_slice(&sb[src.min(sb.len())..]);
    Ok(vec![lua.string(&out), Value::Num(n as f64)])
}

// ---- string.format -------------------------------------------------------------------

struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    prec: Option<usize>,
}

fn pad(spec: &Spec, body: String, numeric: bool) -> Vec<u8> {
    let len = body.len();
    if len >= spec.width {
        return body.into_bytes();
    }
    let fill = spec.width - len;
    if spec.minus {
        let mut s = body;
        s.extend(std::iter::repeat_n(' ', fill));
        s.into_bytes()
    } else if spec.zero && numeric {
        // Zeros go after the sign / 0x prefix.
        let b = body.as_bytes();
        let mut split = 0;
        if !b.is_empty() && matches!(b[0], b'+' | b'-' | b' ') {
            split = 1;
        }
        if b.len() >= split + 2 && b[split] == b'0' && (b[split + 1] | 0x20) == b'x' {
            split += 2;
        }
        let mut out = b[..split].to_vec();
        out.extend(std::iter::repeat_n(b'0', fill));
        out.extend_from_slice(&b[split..]);
        out
    } else {
        let mut out = vec![b' '; fill];
        out.extend_from_slice(body.as_bytes());
        out
    }
}

fn sign_prefix(spec: &Spec, neg: bool) -> &'static str {
    if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn fmt_int(spec: &Spec, v: i64, conv: u8) -> Vec<u8> {
    let (neg, mag): (bool, u64) = match conv {
        b'd' | b'i' => (v < 0, v.unsigned_abs()),
        _ => (false, v as u64),
    };
    let mut digits = match conv {
        b'o' => format!("{:o}", mag),
        b'x' => format!("{:x}", mag),
        b'X' => format!("{:X}", mag),
        _ => format!("{}", mag),
    };
    if let Some(p) = spec.prec {
        if p == 0 && mag == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let mut prefix = String::new();
    if matches!(conv, b'd' | b'i') {
        prefix.push_str(sign_prefix(spec, neg));
    }
    if spec.alt {
        match conv {
            b'o' if !digits.starts_with('0') => digits.insert(0, '0'),
            b'x' if mag != 0 => prefix.push_str("0x"),
            b'X' if mag != 0 => prefix.push_str("0X"),
            _ => {}
        }
    }
    let zero_ok = spec.prec.is_none();
    let s2 = Spec {
        zero: spec.zero && zero_ok,
        ..*spec
    };
    pad(&s2, prefix + &digits, true)
}

fn fmt_exp(x: f64, prec: usize, upper: bool, alt: bool) -> String {
    let s = format!("{:.*e}", prec, x.abs());
    let (mant, exp) = s.split_at(s.find('e').unwrap_or(s.len()));
    let exp: i32 = exp.get(1..).unwrap_or("0").parse().unwrap_or(0);
    let mut mant = mant.to_string();
    if alt && prec == 0 {
        mant.push('.');
    }
    let e = if upper { 'E' } else { 'e' };
    format!(
        "{}{}{}{:02}",
        mant,
        e,
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

fn fmt_float(spec: &Spec, x: f64, conv: u8) -> Vec<u8> {
    let upper = conv.is_ascii_uppercase();
    let neg = x.is_sign_negative();
    if !x.is_finite() {
        let mut b = if x.is_nan() {
            "nan".to_string()
        } else {
            "inf".to_string()
        };
        if upper {
            b = b.to_uppercase();
        }
        let s2 = Spec {
            zero: false,
            ..*spec
        };
        return pad(&s2, format!("{}{}", sign_prefix(spec, neg), b), false);
    }
    let prec = spec.prec.unwrap_or(6);
    let body = match conv {
        b'f' => {
            let mut s = format!("{:.*}", prec, x.abs());
            if spec.alt && prec == 0 {
                s.push('.');
            }
            s
        }
        b'e' | b'E' => fmt_exp(x, prec, upper, spec.alt),
        _ => fmt_g(x.abs(), prec, upper, spec.alt),
    };
    pad(spec, format!("{}{}", sign_prefix(spec, neg), body), true)
}

fn add_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' | b'\\' | b'\n' => {
                out.push(b'\\');
                out.push(c);
            }
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\000"),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

fn s_format(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let f = check_str(lua, args, 1)?;
    let fb = f.as_bytes();
    let mut out = Vec::with_capacity(fb.len() + 16);
    let mut i = 0;
    let mut argn = 1;
    while i < fb.len() {
        let c = fb[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        if i < fb.len() && fb[i] == b'%' {
            out.push(b'%');
            i += 1;
            continue;
        }
        argn += 1;
        if argn > args.len() {
            return Err(arg_error(lua, argn, "no value"));
        }
        let mut spec = Spec {
            minus: false,
            plus: false,
            space: false,
            alt: false,
            zero: false,
            width: 0,
            prec: None,
        };
        let start = i;
        while i < fb.len() && b"-+ #0".contains(&fb[i]) {
            match fb[i] {
                b'-' => spec.minus = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'#' => spec.alt = true,
                _ => spec.zero = true,
            }
            i += 1;
        }
        if i - start > 5 {
            return Err(lua.error_here(1, "invalid format (repeated flags)"));
        }
        let mut nd = 0;
        while i < fb.len() && fb[i].is_ascii_digit() {
            spec.width = spec.width * 10 + (fb[i] - b'0') as usize;
            i += 1;
            nd += 1;
        }
        let mut too_long = nd > 2;
        if i < fb.len() && fb[i] == b'.' {
            i += 1;
            let mut p = 0;
            let mut nd = 0;
            while i < fb.len() && fb[i].is_ascii_digit() {
                p = p * 10 + (fb[i] - b'0') as usize;
                i += 1;
                nd += 1;
            }
            too_long |= nd > 2;
            spec.prec = Some(p);
        }
        if too_long {
            return Err(lua.error_here(1, "invalid format (width or precision too long)"));
        }
        let conv = if i < fb.len() { fb[i] } else { 0 };
        i += 1;
        match conv {
            b'c' => {
                let n = check_num(lua, args, argn)?;
                let ch = to_int(n) as u8;
                let fill = spec.width.saturating_sub(1);
                if spec.minus {
                    out.push(ch);
                    out.extend(std::iter::repeat_n(b' ', fill));
                } else {
                    out.extend(std::iter::repeat_n(b' ', fill));
                    out.push(ch);
                }
            }
            b'd' | b'i' | b'o' | b'u' | b'x' | b'X' => {
                let n = check_num(lua, args, argn)?;
                let v = if n.is_finite() && n.abs() < 9.2e18 {
                    n as i64
                } else {
                    i64::MIN
                };
                out.extend(fmt_int(&spec, v, conv));
            }
            b'e' | b'E' | b'f' | b'g' | b'G' => {
                let n = check_num(lua, args, argn)?;
                out.extend(fmt_float(&spec, n, conv));
            }
            b'q' => {
                let s = check_str(lua, args, argn)?;
                add_quoted(&mut out, s.as_bytes());
            }
            b's' => {
                let s = check_str(lua, args, argn)?;
                let b = s.as_bytes();
                if spec.prec.is_none() && b.len() >= 100 {
                    out.extend_from_slice(b);
                } else {
                    let b = match spec.prec {
                        Some(p) if p < b.len() => &b[..p],
                        _ => b,
                    };
                    let fill = spec.width.saturating_sub(b.len());
                    if spec.minus {
                        out.extend_from_slice(b);
                        out.extend(std::iter::repeat_n(b' ', fill));
                    } else {
                        out.extend(std::iter::repeat_n(b' ', fill));
                        out.extend_from_slice(b);
                    }
                }
            }
            _ => {
                let m = format!(
                    "invalid option '%{}' to 'format'",
                    String::from_utf8_lossy(&fb[i - 1..i.min(fb.len())])
                );
                return Err(lua.error_here(1, &m));
            }
        }
        if out.len() > lua.heap.max_str() {
            return Err(lua.mem_error());
        }
    }
    Ok(vec![lua.string(&out)])
}

pub(crate) fn open(lua: &mut Lua) {
    let s = lua.create_table(0, 16);
    reg(lua, &s, "byte", s_byte);
    reg(lua, &s, "char", s_char);
    reg(lua, &s, "dump", s_dump);
    reg(lua, &s, "find", s_find);
    reg(lua, &s, "format", s_format);
    reg(lua, &s, "gfind", s_gmatch);
    reg(lua, &s, "gmatch", s_gmatch);
    reg(lua, &s, "gsub", s_gsub);
    reg(lua, &s, "len", s_len);
    reg(lua, &s, "lower", s_lower);
    reg(lua, &s, "match", s_match);
    reg(lua, &s, "rep", s_rep);
    reg(lua, &s, "reverse", s_reverse);
    reg(lua, &s, "sub", s_sub);
    reg(lua, &s, "upper", s_upper);
    let g = lua.globals();
    let _ = lua.set_field(&g, "string", s.clone());
    let meta = lua.create_table(0, 1);
    let _ = lua.set_field(&meta, "__index", s);
    lua.set_metatable(&Value::str(b""), Some(meta));
    let _ = LStr::new(b"");
}
