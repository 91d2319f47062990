//! Binary packing as Redis 7.0's `struct` library does it (deps/lua/src/lua_struct.c,
//! Roberto Ierusalimschy's struct library, on x86-64: `long` and `size_t` are 8 bytes,
//! the maximum alignment is 8).
//!
//! Formats: `>` big endian, `<` little endian, `!n` alignment (default 8), ` ` ignored;
//! `b`/`B` char, `h`/`H` short, `l`/`L` long, `T` size_t, `i[n]`/`I[n]` an n-byte int
//! (default 4, at most 32), `f` float, `d` double, `x` a zero byte, `c[n]` n chars (`c0`:
//! the whole string, or when unpacking the size given by the previous result), `s` a
//! NUL-terminated string. Lower case integers are signed.

/// Why a call failed.
#[derive(Clone, Debug, PartialEq)]
pub enum StructError {
    /// A `luaL_error` message.
    Raise(String),
    /// A `luaL_argerror`: argument number and message.
    Arg(usize, String),
}

/// The arguments of `struct.pack` after the format, read as the C code reads them.
pub trait PackArgs {
    /// `luaL_checknumber(arg)`.
    fn number(&mut self, arg: usize) -> Result<f64, StructError>;
    /// `luaL_checklstring(arg)`.
    fn bytes(&mut self, arg: usize) -> Result<Vec<u8>, StructError>;
}

/// One result of `struct.unpack` (the next position comes separately).
#[derive(Clone, Debug, PartialEq)]
pub enum Unpacked {
    Num(f64),
    Str(Vec<u8>),
}

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;
/// `LUAI_MAXCSTACK`: stack slots a C function may use.
const MAX_C_STACK: usize = 8000;

struct Header {
    little: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Header {
        Header {
            little: true,
            align: 1,
        }
    }
}

/// A format: the bytes C sees (up to the first NUL) and a cursor.
struct Fmt<'a> {
    s: &'a [u8],
    i: usize,
}

impl Fmt<'_> {
    fn new(s: &[u8]) -> Fmt<'_> {
        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        Fmt { s: &s[..end], i: 0 }
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.s.get(self.i).copied();
        self.i += 1;
        c
    }

    fn getnum(&mut self, default: usize) -> Result<usize, StructError> {
        if !self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: i32 = 0;
        while let Some(&c) = self.s.get(self.i).filter(|c| c.is_ascii_digit()) {
            let d = (c - b'0') as i32;
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return Err(StructError::Raise("integral size overflow".into()));
            }
            a = a * 10 + d;
            self.i += 1;
        }
        Ok(a as usize)
    }

    /// `optsize`: the size an option takes (0 for options without data).
    fn optsize(&mut self, opt: u8) -> Result<usize, StructError> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.getnum(1)?,
            b'i' | b'I' => {
                let sz = self.getnum(4)?;
                if sz > MAXINTSIZE {
                    return Err(StructError::Raise(format!(
                        "integral size {sz} is larger than limit of {MAXINTSIZE}"
                    )));
                }
                sz
            }
            _ => 0,
        })
    }

    /// `controloptions`: endianness, alignment, spaces; anything else is an error.
    fn control(&mut self, opt: u8, h: &mut Header) -> Result<(), StructError> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.getnum(MAXALIGN)?;
                if !a.is_power_of_two() {
                    return Err(StructError::Raise(format!(
                        "alignment {a} is not a power of 2"
                    )));
                }
                h.align = a;
            }
            _ => {
                return Err(StructError::Arg(
                    1,
                    format!("invalid format option '{}'", opt as char),
                ))
            }
        }
        Ok(())
    }
}

/// A double converted to a C `long` on x86-64 (`cvttsd2si`): out of range and NaN give
/// the minimum.
fn to_i64(n: f64) -> i64 {
    if (i64::MIN as f64..-(i64::MIN as f64)).contains(&n) {
        n as i64
    } else {
        i64::MIN
    }
}

/// A double converted to a C `unsigned long` as gcc compiles it for x86-64: below 2^63
/// through the signed conversion, else 2^63 less and the top bit flipped back (so 2^64
/// and beyond give 0, NaN gives 2^63).
fn to_u64(n: f64) -> u64 {
    const TWO_63: f64 = -(i64::MIN as f64);
    if n >= TWO_63 {
        (to_i64(n - TWO_63) as u64) ^ (1 << 63)
    } else {
        to_i64(n) as u64
    }
}

/// `gettoalign`: padding before an item of `size` at `len`.
fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size.wrapping_sub(len & (size - 1))) & (size - 1)
}

fn is_int(opt: u8) -> bool {
    matches!(
        opt,
        b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I'
    )
}

/// `struct.pack(fmt, ...)`.
pub fn pack(fmt: &[u8], args: &mut dyn PackArgs) -> Result<Vec<u8>, StructError> {
    let mut f = Fmt::new(fmt);
    let mut h = Header::default();
    let mut arg = 2;
    let mut out = Vec::new();
    let mut total = 0usize;
    while let Some(opt) = f.next() {
        let mut size = f.optsize(opt)?;
        let toalign = gettoalign(total, &h, opt, size);
        total += toalign;
        out.resize(out.len() + toalign, 0);
        match opt {
            _ if is_int(opt) => {
                let n = args.number(arg)?;
                arg += 1;
                let mut value = if n < 0.0 { to_i64(n) as u64 } else { to_u64(n) };
                let mut bytes = vec![0u8; size];
                for i in 0..size {
                    let slot = if h.little { i } else { size - 1 - i };
                    bytes[slot] = value as u8;
                    value = value.checked_shr(8).unwrap_or(0);
                }
                out.extend_from_slice(&bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let v = args.number(arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                });
            }
            b'd' => {
                let v = args.number(arg)?;
                arg += 1;
                out.extend_from_slice(&if h.little {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let s = args.bytes(arg)?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // The C code checks against the argument after this one.
                    return Err(StructError::Arg(arg, "string too short".into()));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => f.control(opt, &mut h)?,
        }
        total += size;
    }
    Ok(out)
}

/// Lua's `lua_isnumber` on a result: a number, or a string that converts to one.
fn as_number(v: &Unpacked) -> Option<f64> {
    match v {
        Unpacked::Num(n) => Some(*n),
        Unpacked::Str(s) => {
            let (n, used) = super::json::strtod(s)?;
            s[used..]
                .iter()
                .all(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c'))
                .then_some(n)
        }
    }
}

/// `struct.unpack(fmt, data [, pos])`: the values and the position after them (1-based).
/// `pos` is the third argument converted to an integer (1 when absent); `base` is the
/// number of arguments (stack slots already in use).
pub fn unpack(
    fmt: &[u8],
    data: &[u8],
    pos: i64,
    base: usize,
) -> Result<(Vec<Unpacked>, f64), StructError> {
    let short = || StructError::Arg(2, "data string too short".into());
    // C holds the position in a size_t: a negative one is huge, not an error here.
    let pos = pos as u64 as usize;
    if pos == 0 {
        return Err(StructError::Arg(3, "offset must be 1 or greater".into()));
    }
    let mut pos = pos - 1;
    let ld = data.len();
    let mut f = Fmt::new(fmt);
    let mut h = Header::default();
    let mut out: Vec<Unpacked> = Vec::new();
    while let Some(opt) = f.next() {
        let mut size = f.optsize(opt)?;
        pos = pos.wrapping_add(gettoalign(pos, &h, opt, size));
        if !(size <= ld && pos <= ld - size) {
            return Err(short());
        }
        if base + out.len() + 2 > MAX_C_STACK {
            return Err(StructError::Raise(
                "stack overflow (too many results)".into(),
            ));
        }
        match opt {
            _ if is_int(opt) => {
                let bytes = &data[pos..pos + size];
                let mut l: u64 = 0;
                for i in 0..size {
                    let b = if h.little {
                        bytes[size - 1 - i]
                    } else {
                        bytes[i]
                    };
                    l = l.wrapping_shl(8) | b as u64;
                }
                let v = if opt.is_ascii_lowercase() {
                    // x86 takes shift counts modulo 64, as the C code's shift relies on.
                    let mask = u64::MAX.wrapping_shl((size * 8).wrapping_sub(1) as u32);
                    if l & mask != 0 {
                        l |= mask;
                    }
                    l as i64 as f64
                } else {
                    l as f64
                };
                out.push(Unpacked::Num(v));
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or([0; 4]);
                let v = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                out.push(Unpacked::Num(v as f64));
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or([0; 8]);
                let v = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                out.push(Unpacked::Num(v));
            }
            b'c' => {
                if size == 0 {
                    let Some(n) = out.last().and_then(as_number) else {
                        return Err(StructError::Raise(
                            "format 'c0' needs a previous size".into(),
                        ));
                    };
                    // A double converted to size_t, as x86-64 code does it.
                    size = to_u64(n) as usize;
                    out.pop();
                    if !(size <= ld && pos <= ld - size) {
                        return Err(short());
                    }
                }
                out.push(Unpacked::Str(data[pos..pos + size].to_vec()));
            }
            b's' => {
                let Some(len) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(StructError::Raise("unfinished string in data".into()));
                };
                size = len + 1;
                out.push(Unpacked::Str(data[pos..pos + len].to_vec()));
            }
            _ => f.control(opt, &mut h)?,
        }
        pos += size;
    }
    Ok((out, (pos as u64).wrapping_add(1) as i64 as f64))
}

/// `struct.size(fmt)`.
pub fn size(fmt: &[u8]) -> Result<usize, StructError> {
    let mut f = Fmt::new(fmt);
    let mut h = Header::default();
    let mut pos = 0usize;
    while let Some(opt) = f.next() {
        let size = f.optsize(opt)?;
        pos += gettoalign(pos, &h, opt, size);
        if opt == b's' {
            return Err(StructError::Arg(1, "option 's' has no fixed size".into()));
        } else if opt == b'c' && size == 0 {
            return Err(StructError::Arg(1, "option 'c0' has no fixed size".into()));
        }
        if !opt.is_ascii_alphanumeric() {
            f.control(opt, &mut h)?;
        }
        pos += size;
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arguments for tests: numbers and strings, converted as Lua converts them.
    enum A {
        N(f64),
        S(&'static str),
    }

    struct Args(Vec<A>);

    impl PackArgs for Args {
        fn number(&mut self, arg: usize) -> Result<f64, StructError> {
            match self.0.get(arg - 2) {
                Some(A::N(n)) => Ok(*n),
                Some(A::S(s)) => s
                    .parse()
                    .map_err(|_| StructError::Arg(arg, "number expected, got string".into())),
                None => Err(StructError::Arg(arg, "number expected, got nil".into())),
            }
        }
        fn bytes(&mut self, arg: usize) -> Result<Vec<u8>, StructError> {
            match self.0.get(arg - 2) {
                Some(A::N(n)) => Ok(n.to_string().into_bytes()),
                Some(A::S(s)) => Ok(s.as_bytes().to_vec()),
                None => Err(StructError::Arg(arg, "string expected, got nil".into())),
            }
        }
    }

    fn pk(fmt: &str, args: Vec<A>) -> Result<Vec<u8>, StructError> {
        pack(fmt.as_bytes(), &mut Args(args))
    }

    fn arg(n: usize, msg: &str) -> StructError {
        StructError::Arg(n, msg.to_string())
    }

    fn raise(msg: &str) -> StructError {
        StructError::Raise(msg.to_string())
    }

    // Expected values from Redis 7.0.15 (`redis-cli eval "return struct.pack(...)" 0`).
    #[test]
    fn packs() {
        assert_eq!(
            pk(">i2<i2", vec![A::N(1.0), A::N(1.0)]).unwrap(),
            b"\x00\x01\x01\x00"
        );
        assert_eq!(
            pk("<i10", vec![A::N(-2.0)]).unwrap(),
            b"\xfe\xff\xff\xff\xff\xff\xff\xff\x00\x00"
        );
        assert_eq!(
            pk("b c0 d", vec![A::N(3.0), A::S("abc"), A::N(1.5)]).unwrap(),
            {
                let mut v = b"\x03abc".to_vec();
                v.extend_from_slice(&1.5f64.to_le_bytes());
                v
            }
        );
        assert_eq!(pk("s", vec![A::S("hi")]).unwrap(), b"hi\0");
        assert_eq!(pk("c2", vec![A::S("hello")]).unwrap(), b"he");
        assert_eq!(
            pk("!4 b i", vec![A::N(1.0), A::N(2.0)]).unwrap(),
            b"\x01\0\0\0\x02\0\0\0"
        );
        assert_eq!(pk(">f", vec![A::N(1.5)]).unwrap(), b"\x3f\xc0\x00\x00");
        assert_eq!(pk("xB", vec![A::N(255.0)]).unwrap(), b"\0\xff");
        assert_eq!(pk("h", vec![A::S("10")]).unwrap(), b"\x0a\x00");
        // The format ends at a NUL, as a C string does.
        assert_eq!(pk("b\0b", vec![A::N(1.0)]).unwrap(), b"\x01");
    }

    #[test]
    fn longs_match_redis() {
        // `struct.pack('<l>L<T', -1, 2^32, 7) .. struct.pack('>i3', -2) ..
        // struct.pack('<I3', 2^24 + 5)` in Redis 7.0.15.
        let mut got = pk("<l>L<T", vec![A::N(-1.0), A::N(2f64.powi(32)), A::N(7.0)]).unwrap();
        got.extend(pk(">i3", vec![A::N(-2.0)]).unwrap());
        got.extend(pk("<I3", vec![A::N(2f64.powi(24) + 5.0)]).unwrap());
        let hex: String = got.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ffffffffffffffff00000001000000000700000000000000fffffe050000"
        );
        let packed = pk("<l>Lb", vec![A::N(-5.0), A::N(2f64.powi(40)), A::N(-1.0)]).unwrap();
        assert_eq!(
            up("<l>Lb", &packed, 1).unwrap(),
            (
                vec![
                    Unpacked::Num(-5.0),
                    Unpacked::Num(1099511627776.0),
                    Unpacked::Num(-1.0)
                ],
                18.0
            )
        );
    }

    #[test]
    fn pack_errors() {
        assert_eq!(
            pk("c5", vec![A::S("ab")]).unwrap_err(),
            arg(3, "string too short")
        );
        assert_eq!(
            pk("z", vec![A::N(1.0)]).unwrap_err(),
            arg(1, "invalid format option 'z'")
        );
        assert_eq!(
            pk("!3i", vec![A::N(1.0)]).unwrap_err(),
            raise("alignment 3 is not a power of 2")
        );
        assert_eq!(
            pk("i33", vec![A::N(1.0)]).unwrap_err(),
            raise("integral size 33 is larger than limit of 32")
        );
        assert_eq!(
            pk("i99999999999", vec![]).unwrap_err(),
            raise("integral size overflow")
        );
        assert_eq!(
            pk("i", vec![A::S("x")]).unwrap_err(),
            arg(2, "number expected, got string")
        );
        assert_eq!(
            pk("i", vec![]).unwrap_err(),
            arg(2, "number expected, got nil")
        );
    }

    fn up(fmt: &str, data: &[u8], pos: i64) -> Result<(Vec<Unpacked>, f64), StructError> {
        unpack(fmt.as_bytes(), data, pos, 2)
    }

    #[test]
    fn unpacks() {
        let packed = pk("b c0 d", vec![A::N(3.0), A::S("abc"), A::N(1.5)]).unwrap();
        assert_eq!(
            up("b c0 d", &packed, 1).unwrap(),
            (
                vec![Unpacked::Str(b"abc".to_vec()), Unpacked::Num(1.5)],
                13.0
            )
        );
        assert_eq!(
            up("<i9", &[0xff; 9], 1).unwrap(),
            (vec![Unpacked::Num(-1.0)], 10.0)
        );
        assert_eq!(
            up(">I2", b"\xff\xfe", 1).unwrap(),
            (vec![Unpacked::Num(65534.0)], 3.0)
        );
        assert_eq!(
            up(">h", b"\xff\xfe", 1).unwrap(),
            (vec![Unpacked::Num(-2.0)], 3.0)
        );
        assert_eq!(
            up("s s", b"ab\0c\0", 1).unwrap(),
            (
                vec![Unpacked::Str(b"ab".to_vec()), Unpacked::Str(b"c".to_vec())],
                6.0
            )
        );
        assert_eq!(
            up("b", b"\x01\x02", 2).unwrap(),
            (vec![Unpacked::Num(2.0)], 3.0)
        );
        assert_eq!(up("!4 b i", b"\x01\0\0\0\x02\0\0\0", 1).unwrap().1, 9.0);
        // A numeric string before c0 gives the size, as lua_isnumber allows.
        assert_eq!(
            up("c1 c0", b"2abc", 1).unwrap(),
            (vec![Unpacked::Str(b"ab".to_vec())], 4.0)
        );
    }

    #[test]
    fn unpack_errors() {
        assert_eq!(
            up("c0", b"abc", 1).unwrap_err(),
            raise("format 'c0' needs a previous size")
        );
        assert_eq!(
            up("s", b"abc", 1).unwrap_err(),
            raise("unfinished string in data")
        );
        assert_eq!(
            up("i", b"abc", 1).unwrap_err(),
            arg(2, "data string too short")
        );
        assert_eq!(
            up("i", b"abcd", 0).unwrap_err(),
            arg(3, "offset must be 1 or greater")
        );
        assert_eq!(
            up("i", b"abcd", -1).unwrap_err(),
            arg(2, "data string too short")
        );
        assert_eq!(
            up("z", b"abcd", 1).unwrap_err(),
            arg(1, "invalid format option 'z'")
        );
        assert_eq!(
            unpack(&b"x".repeat(9000), &[0; 9000], 1, 2).map(|r| r.1),
            Ok(9001.0)
        );
        // Redis 7.0.15: with two arguments, 7997 results fit and the 7998th does not.
        assert_eq!(
            unpack(&b"b".repeat(7997), &[0; 9000], 1, 2)
                .unwrap()
                .0
                .len(),
            7997
        );
        assert_eq!(
            unpack(&b"b".repeat(7998), &[0; 9000], 1, 2).unwrap_err(),
            raise("stack overflow (too many results)")
        );
    }

    #[test]
    fn c_conversions() {
        // Checked against Redis 7.0.15: `struct.pack('<L', 2^64)` is eight zero bytes, and
        // a huge double before `c0` is a size of 0.
        assert_eq!(to_u64(2f64.powi(64)), 0);
        assert_eq!(to_u64(2f64.powi(63)), 1 << 63);
        assert_eq!(to_u64(-1.0), u64::MAX);
        assert_eq!(to_u64(f64::NAN), 1 << 63);
        assert_eq!(to_i64(1e300), i64::MIN);
        assert_eq!(pk("<L", vec![A::N(2f64.powi(64))]).unwrap(), [0; 8]);
        let huge = 2f64.powi(705);
        let mut data = huge.to_le_bytes().to_vec();
        data.extend_from_slice(b"rest");
        assert_eq!(
            up("d!2c0", &data, 1).unwrap(),
            (vec![Unpacked::Str(vec![])], 9.0)
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(size(b"!8bd"), Ok(16));
        assert_eq!(size(b"bhlTfdxi3c4"), Ok(1 + 2 + 8 + 8 + 4 + 8 + 1 + 3 + 4));
        assert_eq!(size(b"z"), Ok(0));
        assert_eq!(size(b"s"), Err(arg(1, "option 's' has no fixed size")));
        assert_eq!(size(b"c0"), Err(arg(1, "option 'c0' has no fixed size")));
        assert_eq!(size(b"!3"), Err(raise("alignment 3 is not a power of 2")));
    }
}
