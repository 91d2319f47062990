//! Values: raw equality, hashing for table keys, number formatting and parsing.

use super::{LStr, Value};
use std::rc::Rc;

impl LStr {
    pub(crate) fn new(b: &[u8]) -> LStr {
        LStr(Rc::from(b))
    }
    pub(crate) fn from_vec(v: Vec<u8>) -> LStr {
        LStr(Rc::from(v.into_boxed_slice()))
    }
}

impl Value {
    /// Lua truth: everything but nil and false.
    #[inline]
    pub fn truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }
    #[inline]
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
    pub(crate) fn str(b: &[u8]) -> Value {
        Value::Str(LStr::new(b))
    }
}

/// Raw equality (`rawequal`).
#[inline]
pub(crate) fn raw_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Num(x), Value::Num(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => Rc::ptr_eq(&x.0, &y.0) || x.0 == y.0,
        (Value::Table(x), Value::Table(y)) => x.0 == y.0,
        (Value::Function(x), Value::Function(y)) => x.0 == y.0,
        (Value::Thread(x), Value::Thread(y)) => x.0 == y.0,
        (Value::UserData(x), Value::UserData(y)) => x.0 == y.0,
        _ => false,
    }
}

#[inline]
fn mix(h: u64) -> u64 {
    let h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^ (h >> 29)
}

/// Hash of a bytes key (Lua's sampling hash for long strings).
#[inline]
pub(crate) fn hash_bytes(s: &[u8]) -> u64 {
    let l = s.len();
    let mut h: u32 = l as u32;
    let step = (l >> 5) + 1;
    let mut i = l;
    while i >= step {
        h ^= (h << 5).wrapping_add(h >> 2).wrapping_add(s[i - 1] as u32);
        i -= step;
    }
    mix(h as u64)
}

/// Hash of a (non-nil, non-NaN) key.
#[inline]
pub(crate) fn hash_value(v: &Value) -> u64 {
    match v {
        Value::Nil => 0,
        Value::Bool(b) => mix(*b as u64 + 1),
        Value::Num(n) => {
            let n = if *n == 0.0 { 0.0 } else { *n };
            mix(n.to_bits())
        }
        Value::Str(s) => hash_bytes(&s.0),
        Value::Table(t) => mix(t.0 as u64 | 1 << 40),
        Value::Function(t) => mix(t.0 as u64 | 2 << 40),
        Value::Thread(t) => mix(t.0 as u64 | 3 << 40),
        Value::UserData(t) => mix(t.0 as u64 | 4 << 40),
    }
}

/// `type(v)`.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Bool(_) => "boolean",
        Value::Num(_) => "number",
        Value::Str(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::UserData(_) => "userdata",
    }
}

/// Formats `n` as C's `%.14g`.
pub(crate) fn fmt_number(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if n == n.trunc() && n.abs() < 1e14 {
        if n == 0.0 && n.is_sign_negative() {
            return "-0".into();
        }
        return format!("{}", n as i64);
    }
    fmt_g(n, 14, false, false)
}

/// C's `%.{prec}g` (with `upper` for `%G`, `alt` for `#`).
pub(crate) fn fmt_g(n: f64, prec: usize, upper: bool, alt: bool) -> String {
    if !n.is_finite() {
        let s = if n.is_nan() {
            if n.is_sign_negative() {
                "-nan"
            } else {
                "nan"
            }
        } else if n < 0.0 {
            "-inf"
        } else {
            "inf"
        };
        return if upper {
            s.to_uppercase()
        } else {
            s.to_string()
        };
    }
    let p = if prec == 0 { 1 } else { prec };
    if !alt {
        if let Some(s) = fmt_g_short(n, p) {
            return if upper { s.to_uppercase() } else { s };
        }
    }
    // Exponent after rounding to p significant digits.
    let e_repr = format!("{:.*e}", p - 1, n);
    let epos = e_repr.find('e').unwrap_or(e_repr.len());
    let exp: i32 = e_repr[epos + 1..].parse().unwrap_or(0);
    let mut out = if exp < -4 || exp >= p as i32 {
        let mant = &e_repr[..epos];
        let mant = if alt {
            mant.to_string()
        } else {
            strip_zeros(mant)
        };
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", mant, sign, exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        let s = format!("{:.*}", decimals, n);
        if alt {
            s
        } else {
            strip_zeros(&s)
        }
    };
    if upper {
        out = out.to_uppercase();
    }
    out
}

/// `%.{p}g` of a finite `n` from its shortest round-trip digits, when they number at
/// most `p` (<= 15): those digits are then also `n` rounded to `p` digits, because a
/// double is within 2^-53 (relative) of them and `p`-digit decimals are 10^-15 apart.
/// None when the exact (slow) conversion is needed.
pub(crate) fn fmt_g_short(n: f64, p: usize) -> Option<String> {
    // Subnormals have fewer bits than the argument below needs.
    if !(1..=15).contains(&p) || !n.is_finite() || (n != 0.0 && n.abs() < f64::MIN_POSITIVE) {
        return None;
    }
    let mut out = String::with_capacity(24);
    if n.is_sign_negative() {
        out.push('-');
    }
    let a = n.abs();
    if a == a.trunc() && a < 1e15 {
        // An integer: its digits are exact.
        let i = a as u64;
        let digits = if i == 0 { 1 } else { i.ilog10() as usize + 1 };
        if digits <= p {
            use std::fmt::Write;
            let _ = write!(out, "{}", i);
            return Some(out);
        }
    }
    let sci = format!("{:e}", a);
    let (mant, exp) = sci.split_once('e')?;
    let x: i32 = exp.parse().ok()?;
    let digits: Vec<u8> = mant.bytes().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() > p {
        return None;
    }
    let d = |i: usize| digits[i] as char;
    if x < -4 || x >= p as i32 {
        out.push(d(0));
        if digits.len() > 1 {
            out.push('.');
            out.extend(digits[1..].iter().map(|&c| c as char));
        }
        out.push('e');
        out.push(if x < 0 { '-' } else { '+' });
        let ax = x.unsigned_abs();
        if ax < 10 {
            out.push('0');
        }
        use std::fmt::Write;
        let _ = write!(out, "{}", ax);
    } else if x >= 0 {
        let int_len = x as usize + 1;
        for i in 0..int_len {
            out.push(if i < digits.len() { d(i) } else { '0' });
        }
        if digits.len() > int_len {
            out.push('.');
            out.extend(digits[int_len..].iter().map(|&c| c as char));
        }
    } else {
        out.push_str("0.");
        for _ in 0..(-x - 1) {
            out.push('0');
        }
        out.extend(digits.iter().map(|&c| c as char));
    }
    Some(out)
}

fn strip_zeros(s: &str) -> String {
    if s.contains('.') {
        let t = s.trim_end_matches('0');
        t.trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `luaO_str2d`: a whole string (with surrounding spaces) as a number.
pub(crate) fn str_to_number(s: &[u8]) -> Option<f64> {
    let mut i = 0;
    let mut j = s.len();
    while i < j && is_space(s[i]) {
        i += 1;
    }
    while j > i && is_space(s[j - 1]) {
        j -= 1;
    }
    let t = &s[i..j];
    if t.is_empty() {
        return None;
    }
    let (neg, body) = match t[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        let mut v: f64 = 0.0;
        for &c in &body[2..] {
            let d = (c as char).to_digit(16)?;
            v = v * 16.0 + d as f64;
        }
        return Some(if neg { -v } else { v });
    }
    let ok = body
        .iter()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    let st = std::str::from_utf8(t).ok()?;
    if ok {
        if !body.iter().any(|c| c.is_ascii_digit()) {
            return None;
        }
        return st.parse::<f64>().ok();
    }
    let lower = body.to_ascii_lowercase();
    if matches!(&lower[..], b"inf" | b"infinity" | b"nan") {
        return st.parse::<f64>().ok();
    }
    None
}

/// Converts a number to an integer key if it is one.
#[inline]
pub(crate) fn as_index(n: f64) -> Option<i64> {
    let i = n as i64;
    if i as f64 == n {
        Some(i)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_percent_14g() {
        assert_eq!(fmt_number(1e15), "1e+15");
        assert_eq!(fmt_number(0.1), "0.1");
        assert_eq!(fmt_number(-0.0), "-0");
        assert_eq!(fmt_number(3.0), "3");
        assert_eq!(fmt_number(1.0 / 3.0), "0.33333333333333");
        assert_eq!(fmt_number(123456789012345.0), "1.2345678901234e+14");
        assert_eq!(fmt_number(1e14), "1e+14");
        assert_eq!(fmt_number(99999999999999.0), "99999999999999");
        assert_eq!(fmt_number(1e-5), "1e-05");
        assert_eq!(fmt_number(f64::INFINITY), "inf");
        assert_eq!(fmt_number(2.5e100), "2.5e+100");
    }

    /// `%.{p}g` by the exact conversion alone.
    fn fmt_g_exact(n: f64, p: usize) -> String {
        let e_repr = format!("{:.*e}", p - 1, n);
        let epos = e_repr.find('e').unwrap();
        let exp: i32 = e_repr[epos + 1..].parse().unwrap();
        if exp < -4 || exp >= p as i32 {
            let sign = if exp < 0 { '-' } else { '+' };
            format!("{}e{}{:02}", strip_zeros(&e_repr[..epos]), sign, exp.abs())
        } else {
            strip_zeros(&format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, n))
        }
    }

    #[test]
    fn short_g_matches_exact_g() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut cases = vec![
            0.0,
            -0.0,
            1.0,
            0.1,
            0.5,
            1.5,
            1e-5,
            1e-4,
            0.0001234,
            1e14,
            1e15,
            99999999999999.0,
            999999999999999.0,
            123456789012345.0,
            1.0 / 3.0,
            2.0 / 3.0,
            1e100,
            1e-300,
            5e-324,
            f64::MAX,
            0.3,
            9.9999999999999995,
            0.999999999999999,
            12345.678,
        ];
        for _ in 0..20_000 {
            let r = next();
            cases.push(f64::from_bits(r));
            cases.push((r % 1_000_000) as f64 / 1000.0);
            cases.push((r % 100_000) as f64 * 1.5);
            cases.push((r >> 11) as f64 / (1u64 << 53) as f64);
        }
        for &n in &cases {
            if !n.is_finite() {
                continue;
            }
            for p in [1, 2, 6, 14, 15] {
                let want = fmt_g_exact(n, p);
                let want = if n == 0.0 && n.is_sign_negative() && !want.starts_with('-') {
                    format!("-{}", want)
                } else {
                    want
                };
                if let Some(got) = fmt_g_short(n, p) {
                    assert_eq!(got, want, "{:e} %.{}g", n, p);
                }
                assert_eq!(fmt_g(n, p, false, false), want, "{:e} %.{}g", n, p);
            }
        }
    }

    #[test]
    fn parses_numbers() {
        assert_eq!(str_to_number(b" 10 "), Some(10.0));
        assert_eq!(str_to_number(b"0x10"), Some(16.0));
        assert_eq!(str_to_number(b"1e5"), Some(1e5));
        assert_eq!(str_to_number(b".5"), Some(0.5));
        assert_eq!(str_to_number(b"5."), Some(5.0));
        assert_eq!(str_to_number(b"abc"), None);
        assert_eq!(str_to_number(b""), None);
        assert_eq!(str_to_number(b"1 2"), None);
    }
}
