//! The math library, with Redis's deterministic `math.random` (`redisLrand48`).

use super::lib_base::{arg_error, check_int, check_num, reg, R};
use super::{Host, Lua, Value};

const MASK: u32 = 0xFFFF;
const A: [u32; 3] = [0xE66D, 0xDEEC, 0x5];
const C: u32 = 0xB;

fn mul(x: u32, y: u32) -> (u32, u32) {
    let l = x.wrapping_mul(y);
    (l & MASK, (l >> 16) & MASK)
}

fn carry(x: u32, y: u32) -> u32 {
    (x as i64 + y as i64 > MASK as i64) as u32
}

fn next(x: &mut [u32; 3]) {
    let (mut p0, mut p1) = mul(A[0], x[0]);
    let carry0 = carry(p0, C);
    p0 = (p0 + C) & MASK;
    let carry1 = carry(p1, carry0);
    p1 = (p1 + carry0) & MASK;
    let (q0, q1) = mul(A[0], x[1]);
    let carry0 = carry(p1, q0);
    p1 = (p1 + q0) & MASK;
    let (r0, r1) = mul(A[1], x[0]);
    x[2] = carry0
        .wrapping_add(carry1)
        .wrapping_add(carry(p1, r0))
        .wrapping_add(q1)
        .wrapping_add(r1)
        .wrapping_add(A[0].wrapping_mul(x[2]))
        .wrapping_add(A[1].wrapping_mul(x[1]))
        .wrapping_add(A[2].wrapping_mul(x[0]))
        & MASK;
    x[1] = (p1 + r0) & MASK;
    x[0] = p0 & MASK;
}

/// `redisLrand48`.
pub(crate) fn lrand48(lua: &mut Lua) -> i32 {
    next(&mut lua.rand_state);
    let x = lua.rand_state;
    ((x[2] as i32) << 15).wrapping_add((x[1] >> 1) as i32)
}

/// `redisSrand48`.
pub(crate) fn srand48(lua: &mut Lua, seed: i32) {
    lua.rand_state = [0x330E, (seed as u32) & MASK, ((seed >> 16) as u32) & MASK];
}

fn m_random(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let max = i32::MAX;
    let r = (lrand48(lua) % max) as f64 / max as f64;
    match args.len() {
        0 => Ok(vec![Value::Num(r)]),
        1 => {
            let u = check_int(lua, args, 1)? as i32;
            if u < 1 {
                return Err(arg_error(lua, 1, "interval is empty"));
            }
            Ok(vec![Value::Num((r * u as f64).floor() + 1.0)])
        }
        2 => {
            let l = check_int(lua, args, 1)? as i32;
            let u = check_int(lua, args, 2)? as i32;
            if l > u {
                return Err(arg_error(lua, 2, "interval is empty"));
            }
            Ok(vec![Value::Num(
                (r * (u as f64 - l as f64 + 1.0)).floor() + l as f64,
            )])
        }
        _ => Err(lua.error_here(1, "wrong number of arguments")),
    }
}

fn m_randomseed(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let s = check_int(lua, args, 1)? as i32;
    srand48(lua, s);
    Ok(vec![])
}

macro_rules! unary {
    ($name:ident, $f:expr) => {
        fn $name(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
            let x = check_num(lua, args, 1)?;
            let f: fn(f64) -> f64 = $f;
            Ok(vec![Value::Num(f(x))])
        }
    };
}

unary!(m_abs, f64::abs);
unary!(m_ceil, f64::ceil);
unary!(m_floor, f64::floor);
unary!(m_cos, f64::cos);
unary!(m_sin, f64::sin);
unary!(m_tan, f64::tan);
unary!(m_acos, f64::acos);
unary!(m_asin, f64::asin);
unary!(m_atan, f64::atan);
unary!(m_cosh, f64::cosh);
unary!(m_sinh, f64::sinh);
unary!(m_tanh, f64::tanh);
unary!(m_exp, f64::exp);
unary!(m_log, f64::ln);
unary!(m_log10, f64::log10);
unary!(m_sqrt, f64::sqrt);
unary!(m_deg, |x| x * (180.0 / std::f64::consts::PI));
unary!(m_rad, |x| x * (std::f64::consts::PI / 180.0));

fn m_atan2(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let y = check_num(lua, args, 1)?;
    let x = check_num(lua, args, 2)?;
    Ok(vec![Value::Num(y.atan2(x))])
}

fn m_pow(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let x = check_num(lua, args, 1)?;
    let y = check_num(lua, args, 2)?;
    Ok(vec![Value::Num(x.powf(y))])
}

fn m_fmod(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let x = check_num(lua, args, 1)?;
    let y = check_num(lua, args, 2)?;
    Ok(vec![Value::Num(x % y)])
}

fn m_modf(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let x = check_num(lua, args, 1)?;
    let ip = x.trunc();
    let fp = if x.is_infinite() { 0.0 } else { x - ip };
    Ok(vec![Value::Num(ip), Value::Num(fp)])
}

fn m_frexp(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let x = check_num(lua, args, 1)?;
    if x == 0.0 || !x.is_finite() {
        return Ok(vec![Value::Num(x), Value::Num(0.0)]);
    }
    let mut e = x.abs().log2().floor() as i32 + 1;
    let mut m = x / 2f64.powi(e);
    // Correct rounding at the edges.
    if m.abs() >= 1.0 {
        m /= 2.0;
        e += 1;
    } else if m.abs() < 0.5 {
        m *= 2.0;
        e -= 1;
    }
    Ok(vec![Value::Num(m), Value::Num(e as f64)])
}

fn m_ldexp(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let m = check_num(lua, args, 1)?;
    let e = check_int(lua, args, 2)?;
    Ok(vec![Value::Num(m * 2f64.powi(e.clamp(-2000, 2000) as i32))])
}

fn m_max(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let mut m = check_num(lua, args, 1)?;
    for i in 2..=args.len() {
        let x = check_num(lua, args, i)?;
        if x > m {
            m = x;
        }
    }
    Ok(vec![Value::Num(m)])
}

fn m_min(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let mut m = check_num(lua, args, 1)?;
    for i in 2..=args.len() {
        let x = check_num(lua, args, i)?;
        if x < m {
            m = x;
        }
    }
    Ok(vec![Value::Num(m)])
}

pub(crate) fn open(lua: &mut Lua) {
    let m = lua.create_table(0, 32);
    reg(lua, &m, "abs", m_abs);
    reg(lua, &m, "acos", m_acos);
    reg(lua, &m, "asin", m_asin);
    reg(lua, &m, "atan2", m_atan2);
    reg(lua, &m, "atan", m_atan);
    reg(lua, &m, "ceil", m_ceil);
    reg(lua, &m, "cosh", m_cosh);
    reg(lua, &m, "cos", m_cos);
    reg(lua, &m, "deg", m_deg);
    reg(lua, &m, "exp", m_exp);
    reg(lua, &m, "floor", m_floor);
    reg(lua, &m, "fmod", m_fmod);
    reg(lua, &m, "frexp", m_frexp);
    reg(lua, &m, "ldexp", m_ldexp);
    reg(lua, &m, "log10", m_log10);
    reg(lua, &m, "log", m_log);
    reg(lua, &m, "max", m_max);
    reg(lua, &m, "min", m_min);
    reg(lua, &m, "modf", m_modf);
    reg(lua, &m, "pow", m_pow);
    reg(lua, &m, "rad", m_rad);
    reg(lua, &m, "random", m_random);
    reg(lua, &m, "randomseed", m_randomseed);
    reg(lua, &m, "sinh", m_sinh);
    reg(lua, &m, "sin", m_sin);
    reg(lua, &m, "sqrt", m_sqrt);
    reg(lua, &m, "tanh", m_tanh);
    reg(lua, &m, "tan", m_tan);
    let _ = lua.set_field(&m, "pi", Value::Num(std::f64::consts::PI));
    let _ = lua.set_field(&m, "huge", Value::Num(f64::INFINITY));
    let fm = lua.get_field(&m, "fmod");
    let _ = lua.set_field(&m, "mod", fm);
    let g = lua.globals();
    let _ = lua.set_field(&g, "math", m);
}
