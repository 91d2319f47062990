//! The table library (5.1: concat insert maxn remove sort getn setn foreach foreachi).

use super::lib_base::{
    arg, arg_error, check_int, check_table, error_bytes, opt_int, opt_str, reg, R,
};
use super::value::fmt_number;
use super::{Error, Host, Lua, Value};

/// Longest shift `insert` and `remove` accept (beyond any real array).
const MAX_SHIFT: i64 = 1 << 26;

fn getn(lua: &Lua, t: u32) -> i64 {
    lua.heap.tables.get(t).len() as i64
}

fn geti(lua: &Lua, t: u32, i: i64) -> Value {
    lua.heap.tables.get(t).get_int(i)
}

fn seti(lua: &mut Lua, t: u32, i: i64, v: Value) -> Result<(), Error> {
    lua.table_set_raw(t, Value::Num(i as f64), v, false)
}

fn t_concat(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let sep = opt_str(lua, args, 2)?;
    let i = opt_int(lua, args, 3, 1)?;
    let j = match args.get(3) {
        None | Some(Value::Nil) => getn(lua, t),
        _ => check_int(lua, args, 4)?,
    };
    let mut out = Vec::new();
    let mut k = i;
    while k <= j {
        match geti(lua, t, k) {
            Value::Str(s) => out.extend_from_slice(s.as_bytes()),
            Value::Num(n) => out.extend_from_slice(fmt_number(n).as_bytes()),
            other => {
                let m = format!(
                    "invalid value ({}) at index {} in table for 'concat'",
                    super::value::type_name(&other),
                    k
                );
                return Err(lua.error_here(1, &m));
            }
        }
        if k != j {
            if let Some(s) = &sep {
                out.extend_from_slice(s.as_bytes());
            }
        }
        if out.len() > lua.heap.max_str() {
            return Err(lua.mem_error());
        }
        if k == j {
            break;
        }
        k += 1;
    }
    Ok(vec![lua.string(&out)])
}

fn t_insert(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let mut e = getn(lua, t) + 1;
    let pos = match args.len() {
        2 => e,
        3 => {
            let pos = check_int(lua, args, 2)?;
            // Natives do not see the script timeout: refuse shifts no script needs.
            if pos < e - MAX_SHIFT || pos > e + MAX_SHIFT {
                return Err(arg_error(lua, 2, "position out of bounds"));
            }
            if pos > e {
                e = pos;
            }
            let mut i = e;
            while i > pos {
                let v = geti(lua, t, i - 1);
                seti(lua, t, i, v)?;
                i -= 1;
            }
            pos
        }
        _ => return Err(lua.error_here(1, "wrong number of arguments to 'insert'")),
    };
    let v = arg(args, args.len());
    seti(lua, t, pos, v)?;
    Ok(vec![])
}

fn t_remove(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let e = getn(lua, t);
    let mut pos = opt_int(lua, args, 2, e)?;
    if e == 0 {
        return Ok(vec![]);
    }
    if pos < e - MAX_SHIFT {
        return Err(arg_error(lua, 2, "position out of bounds"));
    }
    let v = geti(lua, t, pos);
    while pos < e {
        let nv = geti(lua, t, pos + 1);
        seti(lua, t, pos, nv)?;
        pos += 1;
    }
    seti(lua, t, e, Value::Nil)?;
    Ok(vec![v])
}

fn t_maxn(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let mut max = 0.0f64;
    let mut k = Value::Nil;
    while let Ok(Some((nk, _))) = lua.heap.tables.get(t).next(&k) {
        if let Value::Num(n) = nk {
            if n > max {
                max = n;
            }
        }
        k = nk;
    }
    Ok(vec![Value::Num(max)])
}

fn t_getn(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    Ok(vec![Value::Num(getn(lua, t) as f64)])
}

fn t_setn(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> R {
    check_table(lua, args, 1)?;
    Err(lua.error_here(1, "'setn' is obsolete"))
}

fn t_foreach(lua: &mut Lua, host: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let f = arg(args, 2);
    let mut k = Value::Nil;
    loop {
        let nx = lua.heap.tables.get(t).next(&k);
        match nx {
            Ok(Some((nk, v))) => {
                let r = lua.call_value(&f, &[nk.clone(), v], host)?;
                if let Some(r) = r.into_iter().next() {
                    if !r.is_nil() {
                        return Ok(vec![r]);
                    }
                }
                k = nk;
            }
            _ => return Ok(vec![]),
        }
    }
}

fn t_foreachi(lua: &mut Lua, host: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let f = arg(args, 2);
    let n = getn(lua, t);
    for i in 1..=n {
        let v = geti(lua, t, i);
        let r = lua.call_value(&f, &[Value::Num(i as f64), v], host)?;
        if let Some(r) = r.into_iter().next() {
            if !r.is_nil() {
                return Ok(vec![r]);
            }
        }
    }
    Ok(vec![])
}

/// Sorts `t[1..n]` directly when it is all in the array part and all numbers (no NaN,
/// no -0) or all strings, and the table is writable: under such a total order the
/// sorted result is unique, so it is the one Lua's quicksort would produce. False when
/// the general path must run.
fn sort_plain(lua: &mut Lua, t: u32, n: i64) -> bool {
    let tb = lua.heap.tables.get_mut(t);
    if tb.readonly || n < 2 || n as u64 > tb.arr.len() as u64 {
        return false;
    }
    let part = &mut tb.arr[..n as usize];
    match &part[0] {
        Value::Num(_) => {
            let plain = part.iter().all(|v| match v {
                Value::Num(x) => !x.is_nan() && (*x != 0.0 || x.is_sign_positive()),
                _ => false,
            });
            if !plain {
                return false;
            }
            let mut nums: Vec<f64> = part
                .iter()
                .map(|v| match v {
                    Value::Num(x) => *x,
                    _ => 0.0,
                })
                .collect();
            nums.sort_unstable_by(|a, b| a.total_cmp(b));
            for (slot, x) in part.iter_mut().zip(nums) {
                *slot = Value::Num(x);
            }
            true
        }
        Value::Str(_) => {
            if !part.iter().all(|v| matches!(v, Value::Str(_))) {
                return false;
            }
            part.sort_unstable_by(|a, b| match (a, b) {
                (Value::Str(x), Value::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
                _ => std::cmp::Ordering::Equal,
            });
            true
        }
        _ => false,
    }
}

struct Sorter<'h> {
    t: u32,
    comp: Value,
    host: &'h mut dyn Host,
}

impl Sorter<'_> {
    fn lt(&mut self, lua: &mut Lua, a: &Value, b: &Value) -> Result<bool, Error> {
        if self.comp.is_nil() {
            if let (Value::Num(x), Value::Num(y)) = (a, b) {
                return Ok(x < y);
            }
            return lua.less_than(a, b, self.host);
        }
        let r = lua.call_first(&self.comp, &[a.clone(), b.clone()], self.host)?;
        Ok(r.truthy())
    }

    fn set2(&mut self, lua: &mut Lua, i: i64, vi: Value, j: i64, vj: Value) -> Result<(), Error> {
        seti(lua, self.t, i, vi)?;
        seti(lua, self.t, j, vj)
    }

    fn sort(&mut self, lua: &mut Lua, mut l: i64, mut u: i64) -> Result<(), Error> {
        let t = self.t;
        while l < u {
            let al = geti(lua, t, l);
            let au = geti(lua, t, u);
            if self.lt(lua, &au, &al)? {
                self.set2(lua, l, au, u, al)?;
            }
            if u - l == 1 {
                break;
            }
            let mut i = (l + u) / 2;
            let ai = geti(lua, t, i);
            let al = geti(lua, t, l);
            if self.lt(lua, &ai, &al)? {
                self.set2(lua, i, al, l, ai)?;
            } else {
                let au = geti(lua, t, u);
                if self.lt(lua, &au, &ai)? {
                    self.set2(lua, i, au, u, ai)?;
                }
            }
            if u - l == 2 {
                break;
            }
            let p = geti(lua, t, i);
            let au1 = geti(lua, t, u - 1);
            self.set2(lua, i, au1, u - 1, p.clone())?;
            i = l;
            let mut j = u - 1;
            loop {
                loop {
                    i += 1;
                    let ai = geti(lua, t, i);
                    if !self.lt(lua, &ai, &p)? {
                        break;
                    }
                    if i > u {
                        return Err(lua.error_here(1, "invalid order function for sorting"));
                    }
                }
                loop {
                    j -= 1;
                    let aj = geti(lua, t, j);
                    if !self.lt(lua, &p, &aj)? {
                        break;
                    }
                    if j < l {
                        return Err(lua.error_here(1, "invalid order function for sorting"));
                    }
                }
                if j < i {
                    break;
                }
                let ai = geti(lua, t, i);
                let aj = geti(lua, t, j);
                self.set2(lua, i, aj, j, ai)?;
            }
            let au1 = geti(lua, t, u - 1);
            let ai = geti(lua, t, i);
            self.set2(lua, u - 1, ai, i, au1)?;
            let (lo, hi);
            if i - l < u - i {
                lo = l;
                hi = i - 1;
                l = i + 1;
            } else {
                lo = i + 1;
                hi = u;
                u = i - 1;
            }
            self.sort(lua, lo, hi)?;
        }
        Ok(())
    }
}

fn t_sort(lua: &mut Lua, host: &mut dyn Host, args: &[Value]) -> R {
    let t = check_table(lua, args, 1)?;
    let n = getn(lua, t);
    let comp = arg(args, 2);
    if !comp.is_nil() && !matches!(comp, Value::Function(_)) {
        return Err(super::lib_base::type_err(lua, args, 2, "function"));
    }
    if comp.is_nil() && sort_plain(lua, t, n) {
        return Ok(vec![]);
    }
    let mut s = Sorter { t, comp, host };
    s.sort(lua, 1, n)?;
    Ok(vec![])
}

pub(crate) fn open(lua: &mut Lua) {
    let t = lua.create_table(0, 16);
    reg(lua, &t, "concat", t_concat);
    reg(lua, &t, "foreach", t_foreach);
    reg(lua, &t, "foreachi", t_foreachi);
    reg(lua, &t, "getn", t_getn);
    reg(lua, &t, "insert", t_insert);
    reg(lua, &t, "maxn", t_maxn);
    reg(lua, &t, "remove", t_remove);
    reg(lua, &t, "setn", t_setn);
    reg(lua, &t, "sort", t_sort);
    let g = lua.globals();
    let _ = lua.set_field(&g, "table", t);
    let _ = error_bytes;
}
