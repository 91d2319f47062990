//! LuaBitOp (`bit.*`, Redis's deps/lua/src/lua_bit.c): 32-bit operations on Lua numbers.
//!
//! A number becomes 32 bits the way LuaBitOp does it on a double build: add 2^52+2^51 and
//! keep the low word of the sum's bits (so 2^32+1 is 1, -1 is 0xffffffff, and 1.5 rounds
//! to 2, half to even). Results are signed 32-bit numbers.

/// The 32 bits LuaBitOp takes from a number (its `barg`).
pub fn to_bits(n: f64) -> u32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32
}

/// A 32-bit result as the Lua number LuaBitOp returns (signed).
pub fn from_bits(b: u32) -> f64 {
    b as i32 as f64
}

/// `bit.tobit(x)`.
pub fn tobit(x: f64) -> f64 {
    from_bits(to_bits(x))
}

/// `bit.bnot(x)`.
pub fn bnot(x: f64) -> f64 {
    from_bits(!to_bits(x))
}

/// `bit.band(x1, ...)`, `bit.bor(x1, ...)`, `bit.bxor(x1, ...)`: which fold.
#[derive(Clone, Copy, Debug)]
pub enum Fold {
    And,
    Or,
    Xor,
}

/// Folds `first` and `rest` with `op`.
pub fn fold(op: Fold, first: f64, rest: &[f64]) -> f64 {
    let mut b = to_bits(first);
    // LuaBitOp folds from the last argument down to the second; the operations commute.
    for &x in rest.iter().rev() {
        let y = to_bits(x);
        b = match op {
            Fold::And => b & y,
            Fold::Or => b | y,
            Fold::Xor => b ^ y,
        };
    }
    from_bits(b)
}

/// The shifts and rotations: `lshift`, `rshift`, `arshift`, `rol`, `ror`.
#[derive(Clone, Copy, Debug)]
pub enum Shift {
    Lshift,
    Rshift,
    Arshift,
    Rol,
    Ror,
}

/// `bit.<shift>(x, n)`: only the low 5 bits of `n` count.
pub fn shift(op: Shift, x: f64, n: f64) -> f64 {
    let b = to_bits(x);
    let n = to_bits(n) & 31;
    from_bits(match op {
        Shift::Lshift => b << n,
        Shift::Rshift => b >> n,
        Shift::Arshift => ((b as i32) >> n) as u32,
        Shift::Rol => b.rotate_left(n),
        Shift::Ror => b.rotate_right(n),
    })
}

/// `bit.bswap(x)`.
pub fn bswap(x: f64) -> f64 {
    from_bits(to_bits(x).swap_bytes())
}

/// `bit.tohex(x [, n])`: the low `|n|` hex digits (at most 8; uppercase when `n` < 0).
pub fn tohex(x: f64, n: Option<f64>) -> Vec<u8> {
    let mut b = to_bits(x);
    let n = n.map_or(8, |n| to_bits(n) as i32);
    let (digits, n): (&[u8; 16], i64) = if n < 0 {
        (b"0123456789ABCDEF", -(n as i64))
    } else {
        (b"0123456789abcdef", n as i64)
    };
    let n = n.min(8) as usize;
    let mut out = vec![0u8; n];
    for slot in out.iter_mut().rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from LuaBitOp's own test suite (bittest.lua) and Redis 7.0.15
    // (`redis-cli eval "return bit.tohex(65535, -4)" 0` and the like).
    #[test]
    fn tobit_normalises() {
        assert_eq!(tobit(0xffffffffu32 as f64), -1.0);
        assert_eq!(tobit(0xffffffffu32 as f64 + 1.0), 0.0);
        assert_eq!(tobit(2f64.powi(40) + 1234.0), 1234.0);
        assert_eq!(tobit(-1.0), -1.0);
        assert_eq!(tobit(1.5), 2.0);
        assert_eq!(tobit(2.5), 2.0);
        assert_eq!(tobit(-2.5), -2.0);
        assert_eq!(tobit(1437217655.0), 1437217655.0);
    }

    #[test]
    fn logic() {
        assert_eq!(bnot(0.0), -1.0);
        assert_eq!(bnot(-1.0), 0.0);
        assert_eq!(
            fold(Fold::And, 0x12345678 as f64, &[0xff as f64]),
            0x78 as f64
        );
        assert_eq!(fold(Fold::Or, 1.0, &[2.0, 4.0, 8.0]), 15.0);
        assert_eq!(fold(Fold::Xor, 1.0, &[3.0, 7.0]), 5.0);
        assert_eq!(fold(Fold::And, 5.0, &[]), 5.0);
    }

    #[test]
    fn shifts() {
        assert_eq!(shift(Shift::Lshift, 1.0, 0.0), 1.0);
        assert_eq!(shift(Shift::Lshift, 1.0, 31.0), -2147483648.0);
        assert_eq!(shift(Shift::Lshift, 1.0, 32.0), 1.0);
        assert_eq!(shift(Shift::Rshift, -1.0, 28.0), 15.0);
        assert_eq!(shift(Shift::Arshift, -256.0, 4.0), -16.0);
        assert_eq!(
            shift(Shift::Rol, 0x12345678 as f64, 12.0),
            0x45678123 as f64
        );
        assert_eq!(
            shift(Shift::Ror, 0x12345678 as f64, 12.0),
            0x67812345 as f64
        );
        assert_eq!(shift(Shift::Rol, 7.0, 0.0), 7.0);
        assert_eq!(shift(Shift::Ror, 7.0, 0.0), 7.0);
    }

    #[test]
    fn bswap_and_tohex() {
        assert_eq!(bswap(0x12345678 as f64), 0x78563412 as f64);
        assert_eq!(bswap(0x78563412 as f64), 0x12345678 as f64);
        assert_eq!(tohex(1.0, None), b"00000001");
        assert_eq!(tohex(-1.0, None), b"ffffffff");
        assert_eq!(tohex(0xffffffffu32 as f64, Some(-4.0)), b"FFFF");
        assert_eq!(tohex(65535.0, Some(-4.0)), b"FFFF");
        assert_eq!(tohex(0x21.into(), Some(4.0)), b"0021");
        assert_eq!(tohex(0x87654321u32 as f64, Some(12.0)), b"87654321");
        assert_eq!(tohex(255.0, Some(0.0)), b"");
    }
}
