//! MessagePack as Redis 7.0's `cmsgpack` library does it (deps/lua/src/lua_cmsgpack.c,
//! lua-cmsgpack 0.4.0, on a 64-bit Lua 5.1 build).
//!
//! - [`pack`] walks values through [`Source`]: a table is an array when its keys are
//!   exactly 1..n, else a map; integral numbers are ints, others a float when the float
//!   holds them exactly, else a double; tables nested 16 deep, functions and userdata
//!   become nil.
//! - [`unpack`] reads values into a flat list of [`Item`]s (containers first, then their
//!   contents), which the glue replays into tables. It is a loop with an explicit stack
//!   and counts the Lua stack slots the C code would use, so input nested thousands deep
//!   fails as in Redis (`stack overflow (...)`) instead of exhausting the native stack.

use super::{Source, View};

/// `LUACMSGPACK_MAX_NESTING`: deeper tables are packed as nil.
pub const MAX_NESTING: usize = 16;

/// `LUAI_MAXCSTACK`: stack slots a C function may use.
const MAX_C_STACK: usize = 8000;

/// `cmsgpack.pack(v)` for one value.
pub fn pack<S: Source>(src: &S, v: &S::V, out: &mut Vec<u8>) {
    pack_value(src, v, 0, out);
}

fn pack_value<S: Source>(src: &S, v: &S::V, level: usize, out: &mut Vec<u8>) {
    match src.view(v) {
        View::Str(s) => pack_bytes(s, out),
        View::Bool(b) => out.push(if b { 0xc3 } else { 0xc2 }),
        View::Num(n) => pack_number(n, out),
        View::Table if level < MAX_NESTING => match array_len(src, v) {
            Some(len) => {
                pack_header(len, 0x90, 0xdc, out);
                for i in 1..=len {
                    pack_value(src, &src.index(v, i), level + 1, out);
                }
            }
            None => {
                let mut len = 0;
                let mut key = None;
                while let Some((k, _)) = src.next(v, key.as_ref()) {
                    len += 1;
                    key = Some(k);
                }
                pack_header(len, 0x80, 0xde, out);
                let mut key = None;
                while let Some((k, val)) = src.next(v, key.as_ref()) {
                    pack_value(src, &k, level + 1, out);
                    pack_value(src, &val, level + 1, out);
                    key = Some(k);
                }
            }
        },
        _ => out.push(0xc0),
    }
}

/// `table_is_an_array`: keys exactly 1..n (each a positive number a C int holds).
fn array_len<S: Source>(src: &S, t: &S::V) -> Option<usize> {
    let (mut count, mut max) = (0usize, 0usize);
    let mut key = None;
    while let Some((k, _)) = src.next(t, key.as_ref()) {
        match src.view(&k) {
            View::Num(n) if n > 0.0 && n <= i32::MAX as f64 && n.fract() == 0.0 => {
                max = max.max(n as usize);
                count += 1;
            }
            _ => return None,
        }
        key = Some(k);
    }
    (max == count).then_some(count)
}

fn pack_bytes(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

/// An array (`fix` 0x90, `big` 0xdc) or map (0x80, 0xde) header.
fn pack_header(len: usize, fix: u8, big: u8, out: &mut Vec<u8>) {
    if len <= 15 {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(big);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(big + 1);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn pack_number(n: f64, out: &mut Vec<u8>) {
    // IS_INT64_EQUIVALENT: `(int64_t)n == n`; x86 turns NaN and out-of-range values into
    // INT64_MIN, which equals only -2^63 itself.
    if n.is_finite() && n.fract() == 0.0 && (i64::MIN as f64..-(i64::MIN as f64)).contains(&n) {
        pack_int(n as i64, out);
    } else if (n as f32) as f64 == n {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn pack_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// One decoded value; `Array(n)` is followed by its n elements, `Map(n)` by n key,
/// value pairs.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Nil,
    Bool(bool),
    Num(f64),
    Str(Vec<u8>),
    Array(usize),
    Map(usize),
}

/// Why unpacking failed.
#[derive(Clone, Debug, PartialEq)]
pub enum UnpackError {
    /// A message `luaL_error` raises (with the caller's position).
    Raise(String),
    /// A message Lua's VM raises from inside the C function (no position):
    /// `table index is nil` and `table index is NaN`.
    Plain(&'static str),
}

/// What [`unpack`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct Unpacked {
    /// The values, flattened.
    pub items: Vec<Item>,
    /// How many top-level values `items` holds.
    pub count: usize,
    /// For `unpack_one` and `unpack_limit`: the offset to resume from, -1 at the end.
    pub next_offset: Option<i64>,
}

fn raise(msg: &str) -> UnpackError {
    UnpackError::Raise(msg.to_string())
}

const TOO_MANY: &str = "stack overflow (too many return values at once; \
                        use unpack_one or unpack_limit instead.)";

/// An open container while unpacking.
struct Open {
    map: bool,
    /// Values still to read (a map counts keys and values).
    left: usize,
    /// The key of the pair being read is nil or NaN.
    bad_key: Option<&'static str>,
}

impl Open {
    /// Stack slots this container holds while its next value is read: the table, and
    /// the index (arrays) or the key (maps, while reading a value).
    fn slots(&self) -> usize {
        if !self.map || self.left % 2 == 1 {
            2
        } else {
            1
        }
    }
}

/// `mp_unpack_full`: `cmsgpack.unpack(data)` (limit = offset = 0, all values),
/// `unpack_one(data, offset)` (limit 1) and `unpack_limit(data, limit, offset)`.
/// `base` is how many stack slots the function's arguments take.
pub fn unpack(data: &[u8], limit: i64, offset: i64, base: usize) -> Result<Unpacked, UnpackError> {
    let len = data.len();
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        return Err(raise(&format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        )));
    } else if offset as u64 > len as u64 {
        return Err(raise(&format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        )));
    }
    let limit = if decode_all { i32::MAX as i64 } else { limit };
    let mut pos = offset as usize;
    let mut items = Vec::new();
    let mut count = 0usize;
    let mut stack: Vec<Open> = Vec::new();
    while pos < len && (count as i64) < limit {
        // One top-level value, with everything inside it.
        loop {
            let used = base + count + stack.iter().map(Open::slots).sum::<usize>();
            let item = read_item(data, &mut pos, used)?;
            let container = match item {
                Item::Array(n) => Some((false, n)),
                Item::Map(n) => Some((true, 2 * n)),
                _ => None,
            };
            let bad_key = match &item {
                Item::Nil => Some("table index is nil"),
                Item::Num(n) if n.is_nan() => Some("table index is NaN"),
                _ => None,
            };
            // A map's key is the value read when its count of values left is even.
            let is_key = stack.last().is_some_and(|o| o.map && o.left % 2 == 0);
            items.push(item);
            if let Some((map, left)) = container {
                if !map && used + 2 > MAX_C_STACK {
                    return Err(raise("stack overflow (in function mp_decode_to_lua_array)"));
                }
                if let Some(parent) = stack.last_mut() {
                    if is_key {
                        parent.bad_key = None;
                    }
                }
                stack.push(Open {
                    map,
                    left,
                    bad_key: None,
                });
            } else if is_key {
                if let Some(parent) = stack.last_mut() {
                    parent.bad_key = bad_key;
                }
            }
            // Close whatever this value completed (a container is complete when it is
            // empty; its parent then gets one more value).
            let mut completed = container.is_none_or(|(_, left)| left == 0);
            if container.is_some() && !completed {
                continue;
            }
            if container.is_some() {
                stack.pop();
            }
            while completed {
                let Some(parent) = stack.last_mut() else {
                    break;
                };
                if parent.map && parent.left % 2 == 1 {
                    // A value was stored under its key.
                    if let Some(msg) = parent.bad_key {
                        return Err(UnpackError::Plain(msg));
                    }
                }
                parent.left -= 1;
                completed = parent.left == 0;
                if completed {
                    stack.pop();
                }
            }
            if stack.is_empty() {
                break;
            }
        }
        count += 1;
    }
    let next_offset = if decode_all {
        None
    } else {
        if base + count + 1 > MAX_C_STACK {
            return Err(raise("stack overflow (in function mp_unpack_full)"));
        }
        Some(if pos == len { -1 } else { pos as i64 })
    };
    Ok(Unpacked {
        items,
        count,
        next_offset,
    })
}

/// Reads one item at `*pos` (`mp_decode_to_lua_type` without the recursion). `used` is
/// the stack slots in use before it is pushed.
fn read_item(data: &[u8], pos: &mut usize, used: usize) -> Result<Item, UnpackError> {
    let eof = || raise("Missing bytes in input.");
    let p = &data[*pos..];
    let Some(&tag) = p.first() else {
        return Err(eof());
    };
    if used + 1 > MAX_C_STACK {
        return Err(raise(TOO_MANY));
    }
    let need = |n: usize| {
        if p.len() < n {
            Err(eof())
        } else {
            Ok(&p[1..n])
        }
    };
    let be = |b: &[u8]| b.iter().fold(0u64, |acc, &x| acc << 8 | x as u64);
    let (item, size) = match tag {
        0xcc => (Item::Num(need(2)?[0] as f64), 2),
        0xd0 => (Item::Num(need(2)?[0] as i8 as f64), 2),
        0xcd => (Item::Num(be(need(3)?) as f64), 3),
        0xd1 => (Item::Num(be(need(3)?) as u16 as i16 as f64), 3),
        0xce => (Item::Num(be(need(5)?) as f64), 5),
        0xd2 => (Item::Num(be(need(5)?) as u32 as i32 as f64), 5),
        // lua_pushunsigned is lua_pushinteger on 64-bit builds: a signed conversion.
        0xcf => (Item::Num(be(need(9)?) as i64 as f64), 9),
        0xd3 => (Item::Num(be(need(9)?) as i64 as f64), 9),
        0xc0 => (Item::Nil, 1),
        0xc3 => (Item::Bool(true), 1),
        0xc2 => (Item::Bool(false), 1),
        0xca => (Item::Num(f32::from_bits(be(need(5)?) as u32) as f64), 5),
        0xcb => (Item::Num(f64::from_bits(be(need(9)?))), 9),
        0xd9..=0xdb => {
            let head = match tag {
                0xd9 => 2,
                0xda => 3,
                _ => 5,
            };
            let n = be(need(head)?) as usize;
            if p.len() - head < n {
                return Err(eof());
            }
            (Item::Str(p[head..head + n].to_vec()), head + n)
        }
        0xdc => (Item::Array(be(need(3)?) as usize), 3),
        0xdd => (Item::Array(be(need(5)?) as usize), 5),
        0xde => (Item::Map(be(need(3)?) as usize), 3),
        0xdf => (Item::Map(be(need(5)?) as usize), 5),
        t if t & 0x80 == 0 => (Item::Num(t as f64), 1),
        t if t & 0xe0 == 0xe0 => (Item::Num(t as i8 as f64), 1),
        t if t & 0xe0 == 0xa0 => {
            let n = (t & 0x1f) as usize;
            if p.len() < 1 + n {
                return Err(eof());
            }
            (Item::Str(p[1..1 + n].to_vec()), 1 + n)
        }
        t if t & 0xf0 == 0x90 => (Item::Array((t & 0xf) as usize), 1),
        t if t & 0xf0 == 0x80 => (Item::Map((t & 0xf) as usize), 1),
        _ => return Err(raise("Bad data format in input.")),
    };
    *pos += size;
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::super::tree::{arr, obj, unnest, Tree, D};
    use super::*;

    fn packed(v: &D) -> Vec<u8> {
        let mut out = Vec::new();
        pack(&Tree, v, &mut out);
        out
    }

    fn all(data: &[u8]) -> Result<Unpacked, UnpackError> {
        unpack(data, 0, 0, 1)
    }

    // Expected bytes from Redis 7.0.15 (`redis-cli eval "return cmsgpack.pack(...)" 0 | xxd`).
    #[test]
    fn packs_like_redis() {
        let v = arr(vec![
            D::N(1.0),
            D::N(2.0),
            obj(vec![(D::S("a"), D::N(1.0))]),
        ]);
        assert_eq!(packed(&v), b"\x93\x01\x02\x81\xa1a\x01");
        assert_eq!(packed(&obj(vec![])), b"\x90");
        assert_eq!(packed(&D::S("x")), b"\xa1x");
        assert_eq!(packed(&D::N(1.5)), b"\xca\x3f\xc0\x00\x00");
        assert_eq!(packed(&D::N(0.1)), b"\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a");
        assert_eq!(packed(&D::N(-1.0)), b"\xff");
        assert_eq!(packed(&D::N(2f64.powi(63))), b"\xca\x5f\x00\x00\x00");
        assert_eq!(packed(&D::N(-(2f64.powi(63)))), b"\xd3\x80\0\0\0\0\0\0\0");
        assert_eq!(packed(&D::N(2f64.powi(53))), b"\xcf\x00\x20\0\0\0\0\0\0");
        assert_eq!(packed(&D::Nil), b"\xc0");
        assert_eq!(packed(&D::B(true)), b"\xc3");
        assert_eq!(packed(&D::F), b"\xc0");
        assert_eq!(packed(&D::N(200.0)), b"\xcc\xc8");
        assert_eq!(packed(&D::N(-200.0)), b"\xd1\xff\x38");
        assert_eq!(packed(&D::N(70000.0)), b"\xce\x00\x01\x11\x70");
        assert_eq!(packed(&D::N(-70000.0)), b"\xd2\xff\xfe\xee\x90");
        assert_eq!(packed(&D::N(-100.0)), b"\xd0\x9c");
        let long = "a".repeat(40);
        let mut want = vec![0xd9, 40];
        want.extend_from_slice(long.as_bytes());
        assert_eq!(packed(&D::S(Box::leak(long.into_boxed_str()))), want);
        // A hole makes a map.
        let holes = obj(vec![(D::N(1.0), D::N(1.0)), (D::N(3.0), D::N(3.0))]);
        assert_eq!(packed(&holes), b"\x82\x01\x01\x03\x03");
    }

    #[test]
    fn int_widths_match_redis() {
        // `cmsgpack.pack(-0.0, 2^31, -2^31 - 1, 4294967295, 4294967296, 65535, 65536,
        // -32768, -32769, 127, 128, -32, -33, 15.5)` in Redis 7.0.15, in hex.
        let want = "00ce80000000d3ffffffff7fffffffceffffffffcf0000000100000000cdffffce00010000\
                    d18000d2ffff7fff7fcc80e0d0dfca41780000";
        let nums = [
            -0.0,
            2f64.powi(31),
            -(2f64.powi(31)) - 1.0,
            4294967295.0,
            4294967296.0,
            65535.0,
            65536.0,
            -32768.0,
            -32769.0,
            127.0,
            128.0,
            -32.0,
            -33.0,
            15.5,
        ];
        let mut out = Vec::new();
        for n in nums {
            pack(&Tree, &D::N(n), &mut out);
        }
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, want);
    }

    #[test]
    fn deep_tables_pack_as_nil() {
        let mut t = D::N(1.0);
        for _ in 0..20 {
            t = arr(vec![t]);
        }
        let mut want = vec![0x91; 16];
        want.push(0xc0);
        assert_eq!(packed(&t), want);
        unnest(t);
    }

    #[test]
    fn unpacks_values() {
        let got = all(b"\x93\x01\x02\x81\xa1a\x01\xc3").unwrap();
        assert_eq!(
            got.items,
            vec![
                Item::Array(3),
                Item::Num(1.0),
                Item::Num(2.0),
                Item::Map(1),
                Item::Str(b"a".to_vec()),
                Item::Num(1.0),
                Item::Bool(true),
            ]
        );
        assert_eq!(got.count, 2);
        assert_eq!(got.next_offset, None);
        let n = |data: &[u8]| match all(data).unwrap().items[..] {
            [Item::Num(n)] => n,
            ref other => panic!("{other:?}"),
        };
        assert_eq!(n(b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), -1.0);
        assert_eq!(n(b"\xd1\xff\x80"), -128.0);
        assert_eq!(n(b"\xd2\xff\xff\xff\xfe"), -2.0);
        assert_eq!(n(b"\xce\xff\xff\xff\xff"), 4294967295.0);
        assert_eq!(n(b"\xe0"), -32.0);
        assert_eq!(n(b"\xca\x3f\xc0\x00\x00"), 1.5);
        // Empty containers close at once.
        let got = all(b"\x92\x90\x80").unwrap();
        assert_eq!(
            got.items,
            vec![Item::Array(2), Item::Array(0), Item::Map(0)]
        );
        assert_eq!(got.count, 1);
    }

    #[test]
    fn unpack_one_and_limit() {
        let data = b"\x01\x02\x03";
        let one = unpack(data, 1, 1, 1).unwrap();
        assert_eq!(
            (one.items, one.next_offset),
            (vec![Item::Num(2.0)], Some(2))
        );
        let last = unpack(data, 1, 2, 1).unwrap();
        assert_eq!(last.next_offset, Some(-1));
        let none = unpack(data, 1, 3, 1).unwrap();
        assert_eq!((none.count, none.next_offset), (0, Some(-1)));
        assert_eq!(
            unpack(data, 5, -1, 1).unwrap_err(),
            raise("Invalid request to unpack with offset of -1 and limit of 3.")
        );
        assert_eq!(
            unpack(data, 5, 9, 1).unwrap_err(),
            raise("Start offset 9 greater than input length 3.")
        );
    }

    #[test]
    fn unpack_errors() {
        assert_eq!(
            all(b"\x81\xc0\x01").unwrap_err(),
            UnpackError::Plain("table index is nil")
        );
        assert_eq!(
            all(b"\x81\xcb\x7f\xf8\0\0\0\0\0\0\x01").unwrap_err(),
            UnpackError::Plain("table index is NaN")
        );
        // The value is read before the key is refused.
        assert_eq!(
            all(b"\x81\xc0").unwrap_err(),
            raise("Missing bytes in input.")
        );
        assert_eq!(
            all(b"\x91\xc0\x81\xc0\x01").unwrap_err(),
            UnpackError::Plain("table index is nil")
        );
        assert_eq!(
            all(b"\xc1").unwrap_err(),
            raise("Bad data format in input.")
        );
        assert_eq!(
            all(b"\xa5abc").unwrap_err(),
            raise("Missing bytes in input.")
        );
        assert_eq!(
            all(b"\xcd\x01").unwrap_err(),
            raise("Missing bytes in input.")
        );
        // A nil value under a good key is fine, and so is a table as a key.
        assert!(all(b"\x81\x01\xc0").is_ok());
        assert!(all(b"\x81\x90\x01").is_ok());
    }

    #[test]
    fn unpack_stack_limits() {
        // Redis 7.0.15: 7999 values fit, 8000 do not; arrays nested 4000 deep fail at
        // the 4000th, maps likewise but with the other message.
        assert_eq!(all(&[1; 7999]).unwrap().count, 7999);
        assert_eq!(all(&[1; 8000]).unwrap_err(), raise(TOO_MANY));
        let mut nested = vec![0x91; 3999];
        nested.push(1);
        assert!(all(&nested).is_ok());
        assert_eq!(
            all(&[0x91; 9000]).unwrap_err(),
            raise("stack overflow (in function mp_decode_to_lua_array)")
        );
        assert_eq!(all(&[0x81, 1].repeat(4000)).unwrap_err(), raise(TOO_MANY));
    }
}
