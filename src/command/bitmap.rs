//! Bitmap commands (Redis's bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD
//! and BITFIELD_RO, over bits kept in strings.
//!
//! Bit 0 is the most significant bit of the first byte; reads past the end of a string
//! see zeros, and writes grow it with zero bytes. Offsets are limited as Redis limits
//! them: the byte they fall in must be below `proto-max-bulk-len`.
//!
//! Redis compares option words (`BIT`, `AND`, `OVERFLOW`...) with `strcasecmp`, which
//! stops at a NUL byte, so `"and\0x"` is AND; [`cstr`] reproduces that.

use super::string::get_str;
use super::{int_arg, is, read_key_mut, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::store::class::{GENERIC, STRING};
use crate::store::{Db, Keyspace, StrMut, StrOrigin, Value};
use crate::util::c_str;
use crate::util::num::parse_i64;

pub const COMMANDS: &[Command] = &[
    Command::new("setbit", Handler::Write(setbit)),
    Command::new("getbit", Handler::Read(getbit)),
    Command::new("bitcount", Handler::Read(bitcount)),
    Command::new("bitpos", Handler::Read(bitpos)),
    Command::new("bitop", Handler::Write(bitop)),
    Command::new("bitfield", Handler::Write(bitfield)),
    Command::new("bitfield_ro", Handler::Read(bitfield_ro)),
];

const OFFSET_ERR: &str = "bit offset is not an integer or out of range";
const TYPE_ERR: &str =
    "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

// Bit access. Reads past the end see zeros; writes past the end are ignored (callers grow
// the string first).

/// Bit `offset` of `bytes`.
fn get_bit(bytes: &[u8], offset: u64) -> bool {
    let byte = usize::try_from(offset >> 3).ok().and_then(|i| bytes.get(i));
    byte.is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// Sets or clears bit `offset` of `bytes`.
fn set_bit(bytes: &mut [u8], offset: u64, on: bool) {
    let byte = usize::try_from(offset >> 3)
        .ok()
        .and_then(|i| bytes.get_mut(i));
    if let Some(b) = byte {
        let mask = 0x80 >> (offset & 7);
        if on {
            *b |= mask;
        } else {
            *b &= !mask;
        }
    }
}

/// The `bits`-wide unsigned integer at bit `offset`, most significant bit first.
fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |v, j| v << 1 | u64::from(get_bit(bytes, offset + j)))
}

/// The `bits`-wide two's complement integer at bit `offset`.
fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(bytes, offset, bits);
    let negative = bits < 64 && v & (1 << (bits - 1)) != 0;
    (if negative { v | u64::MAX << bits } else { v }) as i64
}

/// Writes the low `bits` bits of `value` at bit `offset`.
fn set_unsigned(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        set_bit(
            bytes,
            offset + u64::from(j),
            value >> (bits - 1 - j) & 1 != 0,
        );
    }
}

/// The number of set bits.
fn popcount(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let mut n: u64 = words
        .map(|w| u64::from(u64::from_ne_bytes(w.try_into().unwrap_or_default()).count_ones()))
        .sum();
    n += tail.iter().map(|b| u64::from(b.count_ones())).sum::<u64>();
    n
}

/// The position of the first bit equal to `bit` (Redis's `redisBitpos`). When there is
/// none: -1 when looking for a 1, and the bit just past the end when looking for a 0 (as
/// if the string went on with zeros).
fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0x00 } else { 0xff };
    match bytes.iter().position(|&b| b != skip) {
        Some(i) => {
            let b = if bit { bytes[i] } else { !bytes[i] };
            i as i64 * 8 + i64::from(b.leading_zeros())
        }
        None if bit => -1,
        None => bytes.len() as i64 * 8,
    }
}

// Ranges of BITCOUNT and BITPOS.

/// A non-empty byte range of a string, with the bits outside a BIT-mode range masked off
/// in its first and last byte.
#[derive(Debug, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    /// Bits of the first byte before the range.
    first_mask: u8,
    /// Bits of the last byte after the range.
    last_mask: u8,
}

/// Resolves `start..=end` over a string of `len` bytes as Redis does: indexes count bytes,
/// or bits in BIT mode; negative ones count from the end; both are clamped to the string.
/// `None` if the range is empty.
fn span(len: usize, start: i64, end: i64, bit_mode: bool) -> Option<Span> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let total = if bit_mode { len.saturating_mul(8) } else { len };
    let resolve = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (start, end) = (resolve(start), resolve(end).min(total - 1));
    if start > end {
        return None;
    }
    let (start, end, first_mask, last_mask) = if bit_mode {
        let first = !(0xffu8 >> (start & 7));
        let last = 0x7fu8 >> (end & 7);
        (start >> 3, end >> 3, first, last)
    } else {
        (start, end, 0, 0)
    };
    Some(Span {
        start: start as usize,
        end: end as usize,
        first_mask,
        last_mask,
    })
}

/// Whether a BYTE|BIT word asks for bits; anything else is a syntax error.
fn bit_mode(arg: &[u8]) -> Result<bool, CmdError> {
    match c_str(arg) {
        w if is(w, "bit") => Ok(true),
        w if is(w, "byte") => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

/// Parses a bit offset (Redis's `getBitOffsetFromArgument`). With `hash_bits`, `#N` means
/// N fields of that width (multiplied in wrapping 64-bit arithmetic, as Redis does). The
/// byte the offset falls in must be below `max_bytes` (proto-max-bulk-len).
fn bit_offset(arg: &[u8], hash_bits: Option<u32>, max_bytes: u64) -> Result<u64, CmdError> {
    let (digits, scale) = match (arg, hash_bits) {
        ([b'#', rest @ ..], Some(bits)) => (rest, i64::from(bits)),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits).map(|n| n.wrapping_mul(scale));
    match offset {
        Some(n) if n >= 0 && ((n >> 3) as u64) < max_bytes => Ok(n as u64),
        _ => Err(CmdError::err(OFFSET_ERR)),
    }
}

/// The string at `key` for a bit write (Redis's `lookupStringForBitCommand`): created or
/// zero-padded so that bit `max_bit` exists. Also whether its length changed.
fn string_for_bits<'a>(
    db: &'a mut Db,
    key: &[u8],
    max_bit: u64,
    now_ms: u64,
) -> Result<(StrMut<'a>, bool), CmdError> {
    let need = usize::try_from((max_bit >> 3) + 1).map_err(|_| CmdError::err(OFFSET_ERR))?;
    let entry = db.get_or_insert_with(key, now_ms, || Value::Str(Vec::new()));
    let mut s = entry.str_mut().ok_or(CmdError::WrongType)?;
    let grow = need > s.len();
    if grow {
        s.resize(need);
    }
    Ok((s, grow))
}

/// ```text
/// SETBIT key offset value
/// ```
/// The bit's previous value. A change (or a string created or grown) fires `setbit`.
fn setbit(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let offset = bit_offset(&args[2], None, ctx.server.proto_max_bulk_len())?;
    let on = match parse_i64(&args[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CmdError::err("bit is not an integer or out of range")),
    };
    let db = ks.db_mut(ctx.client.db);
    let (mut s, grew) = string_for_bits(db, &args[1], offset, ctx.now_ms)?;
    let old = get_bit(s.get(), offset);
    set_bit(s.bytes_mut(), offset, on);
    if grew || old != on {
        ks.changed(STRING, "setbit", ctx.client.db, &args[1]);
        ks.dirty += 1;
    }
    ctx.out.int(i64::from(old));
    Ok(())
}

/// ```text
/// GETBIT key offset
/// ```
/// The bit, 0 past the end of the string or for a missing key.
fn getbit(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let offset = bit_offset(&args[2], None, ctx.server.proto_max_bulk_len())?;
    let bit = get_str(ctx, ks, &args[1])?.is_some_and(|s| get_bit(s, offset));
    ctx.out.int(i64::from(bit));
    Ok(())
}

/// ```text
/// BITCOUNT key [start end [BYTE|BIT]]
/// ```
/// The number of set bits in the range (the whole string by default).
fn bitcount(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    // Redis looks the key up before it reads the range: a missing key counts 0 whatever
    // the arguments.
    let Some(s) = get_str(ctx, ks, &args[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let range = match args.len() {
        2 => span(s.len(), 0, -1, false),
        4 | 5 => {
            let (start, end) = (int_arg(&args[2])?, int_arg(&args[3])?);
            // Checked before the BYTE|BIT word, so a bad word goes unnoticed here.
            if start < 0 && end < 0 && start > end {
                ctx.out.int(0);
                return Ok(());
            }
            let bits = args.len() == 5 && bit_mode(&args[4])?;
            span(s.len(), start, end, bits)
        }
        _ => return Err(CmdError::Syntax),
    };
    let count = range.map_or(0, |r| {
        let (first, last) = (s[r.start] & r.first_mask, s[r.end] & r.last_mask);
        popcount(&s[r.start..=r.end]) - popcount(&[first, last])
    });
    ctx.out.int(count as i64);
    Ok(())
}

/// ```text
/// BITPOS key bit [start [end [BYTE|BIT]]]
/// ```
/// The position of the first bit set to `bit` in the range, or -1. Without an end, a
/// string is taken as followed by zeros: looking for 0 in all ones gives the bit past it.
fn bitpos(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let bit = match int_arg(&args[2])? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::err("The bit argument must be 1 or 0.")),
    };
    let Some(s) = get_str(ctx, ks, &args[1])? else {
        ctx.out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let (range, end_given) = match args.len() {
        3 => (span(s.len(), 0, -1, false), false),
        4..=6 => {
            let start = int_arg(&args[3])?;
            let bits = args.len() == 6 && bit_mode(&args[5])?;
            let end_given = args.len() >= 5;
            let end = if end_given { int_arg(&args[4])? } else { -1 };
            (span(s.len(), start, end, bits), end_given)
        }
        _ => return Err(CmdError::Syntax),
    };
    let pos = match range {
        None => -1,
        Some(r) => {
            let (pos, start, bytes) = bitpos_in(s, &r, bit);
            // With an explicit end, the zeros past the range do not count.
            if end_given && !bit && pos == bytes as i64 * 8 {
                -1
            } else if pos == -1 {
                pos
            } else {
                pos + start as i64 * 8
            }
        }
    };
    ctx.out.int(pos);
    Ok(())
}

/// Redis's search of a BITPOS range, step by step: the masked first byte, the whole bytes,
/// then the masked last byte, stopping at the first step that finds the bit. Returns the
/// position found by that step ([`first_bit`]'s convention) and that step's first byte and
/// byte count, which the caller needs to turn it into a string position.
fn bitpos_in(s: &[u8], r: &Span, bit: bool) -> (i64, usize, usize) {
    let mask = |b: u8, m: u8| if bit { b & !m } else { b | m };
    let (mut start, mut bytes) = (r.start, r.end - r.start + 1);
    if r.first_mask != 0 {
        let mut b = mask(s[start], r.first_mask);
        if r.last_mask != 0 && bytes == 1 {
            b = mask(b, r.last_mask);
        }
        let pos = first_bit(&[b], bit);
        if bytes == 1 || (pos != -1 && pos != 8) {
            return (pos, start, bytes);
        }
        start += 1;
        bytes -= 1;
    }
    let whole = bytes - usize::from(r.last_mask != 0);
    if whole > 0 {
        let pos = first_bit(&s[start..start + whole], bit);
        if bytes == whole || (pos != -1 && pos != whole as i64 * 8) {
            return (pos, start, bytes);
        }
        start += whole;
        bytes -= whole;
    }
    (first_bit(&[mask(s[r.end], r.last_mask)], bit), start, bytes)
}

/// A BITOP operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// ```text
/// BITOP AND|OR|XOR|NOT destkey key [key ...]
/// ```
/// The length of the result stored at `destkey` (the longest source; missing keys are
/// empty strings, and shorter ones are padded with zeros). A result fires `set`; an empty
/// one deletes `destkey` (even expired, as Redis's `dbDelete`) and fires `del`.
fn bitop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let op = match c_str(&args[1]) {
        w if is(w, "and") => BitOp::And,
        w if is(w, "or") => BitOp::Or,
        w if is(w, "xor") => BitOp::Xor,
        w if is(w, "not") => BitOp::Not,
        _ => return Err(CmdError::Syntax),
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let mut result: Vec<u8> = Vec::new();
    for (i, key) in args.iter().enumerate().skip(3) {
        let src = match read_key_mut(ctx, ks, key) {
            None => &[][..],
            Some(entry) => entry.str().ok_or(CmdError::WrongType)?,
        };
        if i == 3 {
            result = match op {
                BitOp::Not => src.iter().map(|b| !b).collect(),
                _ => src.to_vec(),
            };
        } else {
            combine(op, &mut result, src);
        }
    }
    let (dbi, dest) = (ctx.client.db, &args[2]);
    let db = ks.db_mut(dbi);
    if !result.is_empty() {
        // Redis's `setKey`: a write lookup first, so an expired destination expires.
        db.get_mut(dest, ctx.now_ms);
        db.set_str(dest, &result, false, ctx.now_ms);
        // Redis builds the destination as a raw string, whatever its content.
        if let Some(entry) = db.get_mut(dest, ctx.now_ms) {
            entry.set_origin(StrOrigin::Modified);
        }
        ks.changed(STRING, "set", dbi, dest);
        ks.dirty += 1;
    } else if db.delete(dest).is_some() {
        ks.changed(GENERIC, "del", dbi, dest);
        ks.dirty += 1;
    }
    ctx.out.int(result.len() as i64);
    Ok(())
}

/// Folds one more source into a BITOP result; bytes missing on either side are zeros.
fn combine(op: BitOp, acc: &mut Vec<u8>, src: &[u8]) {
    if src.len() > acc.len() {
        acc.resize(src.len(), 0);
    }
    for (i, a) in acc.iter_mut().enumerate() {
        let b = src.get(i).copied().unwrap_or(0);
        match op {
            BitOp::And => *a &= b,
            BitOp::Or => *a |= b,
            BitOp::Xor => *a ^= b,
            // NOT has a single source, which is never combined.
            BitOp::Not => {}
        }
    }
}

// BITFIELD.

/// What BITFIELD does when a SET or INCRBY does not fit the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Overflow {
    /// Wrap around (modulo for unsigned, two's complement for signed).
    Wrap,
    /// Saturate at the field's minimum or maximum.
    Sat,
    /// Leave the field alone and reply nil.
    Fail,
}

/// One BITFIELD subcommand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// A parsed BITFIELD subcommand, with the field it works on.
#[derive(Clone, Copy, Debug)]
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// Parses `i<bits>` (1 to 64) or `u<bits>` (1 to 63).
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let err = || CmdError::err(TYPE_ERR);
    let (signed, digits) = match arg {
        [b'i', rest @ ..] => (true, rest),
        [b'u', rest @ ..] => (false, rest),
        _ => return Err(err()),
    };
    let max = if signed { 64 } else { 63 };
    match parse_i64(c_str(digits)) {
        Some(bits) if (1..=max).contains(&bits) => Ok((signed, bits as u32)),
        _ => Err(err()),
    }
}

/// Parses BITFIELD's subcommands, from `args[2]` on, in order (the first bad one gives
/// the error).
fn parse_fields(ctx: &Ctx, args: &Args) -> Result<Vec<Field>, CmdError> {
    let max_bytes = ctx.server.proto_max_bulk_len();
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 2;
    while i < args.len() {
        let remaining = args.len() - i - 1;
        let sub = c_str(&args[i]);
        let takes_value = if is(sub, "get") && remaining >= 2 {
            false
        } else if (is(sub, "set") || is(sub, "incrby")) && remaining >= 3 {
            true
        } else if is(sub, "overflow") && remaining >= 1 {
            overflow = match c_str(&args[i + 1]) {
                w if is(w, "wrap") => Overflow::Wrap,
                w if is(w, "sat") => Overflow::Sat,
                w if is(w, "fail") => Overflow::Fail,
                _ => return Err(CmdError::err("Invalid OVERFLOW type specified")),
            };
            i += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = field_type(&args[i + 1])?;
        let offset = bit_offset(&args[i + 2], Some(bits), max_bytes)?;
        let op = if !takes_value {
            FieldOp::Get
        } else if is(sub, "set") {
            FieldOp::Set(int_arg(&args[i + 3])?)
        } else {
            FieldOp::IncrBy(int_arg(&args[i + 3])?)
        };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            overflow,
        });
        i += if takes_value { 4 } else { 3 };
    }
    Ok(fields)
}

/// The value an unsigned field gets from `value + incr` (Redis's
/// `checkUnsignedBitfieldOverflow`), or `None` when it overflows under FAIL. A SET passes
/// its value (as u64: negative values are huge) with no increment.
fn unsigned_result(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = 0u64.wrapping_sub(value) as i64;
    let sum = value.wrapping_add(incr as u64);
    let limit = if value > max || (incr > 0 && incr > max_incr) {
        max
    } else if incr < 0 && incr < min_incr {
        0
    } else {
        return Some(sum);
    };
    match overflow {
        Overflow::Wrap if bits == 64 => Some(sum),
        Overflow::Wrap => Some(sum & !(u64::MAX << bits)),
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    }
}

/// The value a signed field gets from `value + incr` (Redis's
/// `checkSignedBitfieldOverflow`), or `None` when it overflows under FAIL.
fn signed_result(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wide = bits == 64;
    let above =
        value > max || (!wide && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr);
    let below =
        value < min || (!wide && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr);
    let limit = match (above, below) {
        (true, _) => max,
        (false, true) => min,
        (false, false) => return Some(value.wrapping_add(incr)),
    };
    match overflow {
        Overflow::Wrap => {
            // Keep the low bits, and extend the field's sign bit over the rest.
            let sum = (value as u64).wrapping_add(incr as u64);
            if wide {
                Some(sum as i64)
            } else if sum & 1 << (bits - 1) != 0 {
                Some((sum | u64::MAX << bits) as i64)
            } else {
                Some((sum & !(u64::MAX << bits)) as i64)
            }
        }
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    }
}

/// Runs one SET or INCRBY on `bytes` and writes its reply: the old value for SET, the new
/// one for INCRBY, nil when it overflows under FAIL. Returns whether the field was
/// written, and if so whether its value changed.
fn write_field(ctx: &mut Ctx, bytes: &mut [u8], f: &Field) -> Option<bool> {
    let (set, arg) = match f.op {
        FieldOp::Set(v) => (true, v),
        FieldOp::IncrBy(n) => (false, n),
        FieldOp::Get => return None,
    };
    // Both kinds are computed as u64, signed values sign-extended.
    let (old, new) = if f.signed {
        let old = get_signed(bytes, f.offset, f.bits);
        let (value, incr) = if set { (arg, 0) } else { (old, arg) };
        let new = signed_result(value, incr, f.bits, f.overflow);
        (old as u64, new.map(|n| n as u64))
    } else {
        let old = get_unsigned(bytes, f.offset, f.bits);
        let (value, incr) = if set { (arg as u64, 0) } else { (old, arg) };
        (old, unsigned_result(value, incr, f.bits, f.overflow))
    };
    let Some(new) = new else {
        ctx.out.null();
        return None;
    };
    ctx.out.int(if set { old } else { new } as i64);
    set_unsigned(bytes, f.offset, f.bits, new);
    Some(old != new)
}

/// Replies to a field GET on `bytes` (zeros past the end).
fn read_field(ctx: &mut Ctx, bytes: &[u8], f: &Field) {
    let v = if f.signed {
        get_signed(bytes, f.offset, f.bits)
    } else {
        get_unsigned(bytes, f.offset, f.bits) as i64
    };
    ctx.out.int(v);
}

/// Runs GET-only subcommands: a missing key reads as zeros.
fn bitfield_get(ctx: &mut Ctx, ks: &Keyspace, key: &[u8], fields: &[Field]) -> CmdResult {
    let s = get_str(ctx, ks, key)?.unwrap_or_default();
    ctx.out.array(fields.len());
    for f in fields {
        read_field(ctx, s, f);
    }
    Ok(())
}

/// ```text
/// BITFIELD key [GET encoding offset|[OVERFLOW WRAP|SAT|FAIL] SET encoding offset value|INCRBY encoding offset increment ...]
/// ```
/// One reply per GET, SET and INCRBY, in order. A write creates the key, and grows it to
/// the farthest field written, before any subcommand runs (even when they all FAIL).
/// Any change fires one `setbit`.
fn bitfield(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let fields = parse_fields(ctx, args)?;
    let writes = fields.iter().filter(|f| f.op != FieldOp::Get);
    let Some(max_bit) = writes.map(|f| f.offset + u64::from(f.bits) - 1).max() else {
        let result = bitfield_get(ctx, ks, &args[1], &fields);
        // Redis's read lookup deletes an expired key at once (the dispatcher does this
        // after read commands only).
        ks.reap_stale();
        return result;
    };
    let db = ks.db_mut(ctx.client.db);
    let (mut s, grew) = string_for_bits(db, &args[1], max_bit, ctx.now_ms)?;
    ctx.out.array(fields.len());
    let mut changes = 0;
    for f in &fields {
        if f.op == FieldOp::Get {
            read_field(ctx, s.get(), f);
        } else if let Some(changed) = write_field(ctx, s.bytes_mut(), f) {
            // A field counts as a change if the string had to grow, as in Redis.
            changes += u64::from(changed || grew);
        }
    }
    if changes > 0 {
        ks.changed(STRING, "setbit", ctx.client.db, &args[1]);
        ks.dirty += changes;
    }
    Ok(())
}

/// ```text
/// BITFIELD_RO key [GET encoding offset ...]
/// ```
/// BITFIELD restricted to GET.
fn bitfield_ro(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let fields = parse_fields(ctx, args)?;
    if fields.iter().any(|f| f.op != FieldOp::Get) {
        return Err(CmdError::err(
            "BITFIELD_RO only supports the GET subcommand",
        ));
    }
    bitfield_get(ctx, ks, &args[1], &fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_msb_first_and_zero_past_the_end() {
        let mut b = vec![0u8; 2];
        set_bit(&mut b, 0, true);
        set_bit(&mut b, 9, true);
        set_bit(&mut b, 100, true); // past the end: ignored
        assert_eq!(b, [0x80, 0x40]);
        assert!(get_bit(&b, 0) && get_bit(&b, 9));
        assert!(!get_bit(&b, 1) && !get_bit(&b, 16) && !get_bit(&b, u64::MAX));
        set_bit(&mut b, 0, false);
        assert_eq!(b, [0x00, 0x40]);
    }

    #[test]
    fn fields_round_trip_across_bytes() {
        // Redis's own example: u5 23 at offset 7 is 00000001|01110000.
        let mut b = vec![0u8; 2];
        set_unsigned(&mut b, 7, 5, 23);
        assert_eq!(b, [0x01, 0x70]);
        assert_eq!(get_unsigned(&b, 7, 5), 23);
        assert_eq!(get_signed(&b, 7, 5), 23 - 32);
        let mut b = vec![0u8; 9];
        set_unsigned(&mut b, 3, 64, i64::MIN as u64);
        assert_eq!(get_signed(&b, 3, 64), i64::MIN);
        assert_eq!(get_unsigned(&b, 3, 63), 1 << 62);
        assert_eq!(get_signed(&[0xff], 4, 8), -16, "zeros past the end");
    }

    #[test]
    fn popcount_and_first_bit() {
        assert_eq!(popcount(b"foobar"), 26);
        assert_eq!(popcount(&[0xff; 19]), 152);
        assert_eq!(popcount(&[]), 0);
        assert_eq!(first_bit(&[0x00, 0x10], true), 11);
        assert_eq!(first_bit(&[0x00, 0x00], true), -1);
        assert_eq!(first_bit(&[0xff, 0xfe], false), 15);
        assert_eq!(first_bit(&[0xff, 0xff], false), 16);
        assert_eq!(first_bit(&[], false), 0);
        assert_eq!(first_bit(&[], true), -1);
    }

    #[test]
    fn spans_resolve_like_redis() {
        let whole = |start, end, first_mask, last_mask| {
            Some(Span {
                start,
                end,
                first_mask,
                last_mask,
            })
        };
        assert_eq!(span(6, 0, -1, false), whole(0, 5, 0, 0));
        assert_eq!(span(6, -100, 100, false), whole(0, 5, 0, 0));
        assert_eq!(span(6, i64::MIN, i64::MAX, false), whole(0, 5, 0, 0));
        assert_eq!(span(6, 4, 2, false), None);
        assert_eq!(span(6, 6, 10, false), None);
        assert_eq!(span(0, 0, -1, false), None);
        assert_eq!(span(6, 5, 30, true), whole(0, 3, 0xf8, 0x01));
        assert_eq!(span(6, -1, -1, true), whole(5, 5, 0xfe, 0x00));
    }

    #[test]
    fn bitpos_steps_through_masked_edges() {
        // Bits 3 to 20: the first byte masked, one whole byte, the last byte masked.
        let r = span(3, 3, 20, true).unwrap();
        assert_eq!(
            (r.start, r.end, r.first_mask, r.last_mask),
            (0, 2, 0xe0, 0x07)
        );
        // Found in the first byte; in the whole byte (relative to it); in the last byte.
        assert_eq!(bitpos_in(&[0x10, 0x00, 0x00], &r, true), (3, 0, 3));
        assert_eq!(bitpos_in(&[0xff, 0x00, 0xff], &r, false), (0, 1, 2));
        assert_eq!(bitpos_in(&[0x00, 0x00, 0x08], &r, true), (4, 2, 1));
        // Not there: -1 for a 1, and the bit past the last step for a 0.
        assert_eq!(bitpos_in(&[0x00, 0x00, 0x07], &r, true), (-1, 2, 1));
        assert_eq!(bitpos_in(&[0xff, 0xff, 0xf8], &r, false), (8, 2, 1));
    }

    #[test]
    fn option_words_stop_at_nul() {
        assert_eq!(c_str(b"and\0x"), b"and");
        assert_eq!(c_str(b"\0"), b"");
        assert_eq!(c_str(b"or"), b"or");
        assert_eq!(bit_mode(b"BiT"), Ok(true));
        assert_eq!(bit_mode(b"byte\0zz"), Ok(false));
        assert_eq!(bit_mode(b"bits"), Err(CmdError::Syntax));
    }

    #[test]
    fn offsets_and_types() {
        let max = 512 << 20;
        assert_eq!(bit_offset(b"4294967295", None, max), Ok(4294967295));
        assert!(bit_offset(b"4294967296", None, max).is_err());
        assert!(bit_offset(b"-1", None, max).is_err());
        assert!(bit_offset(b"#1", None, max).is_err());
        assert_eq!(bit_offset(b"#3", Some(8), max), Ok(24));
        assert_eq!(bit_offset(b"#4611686018427387904", Some(4), max), Ok(0));
        assert!(bit_offset(b"#-1", Some(8), max).is_err());
        assert_eq!(field_type(b"i64"), Ok((true, 64)));
        assert_eq!(field_type(b"u63"), Ok((false, 63)));
        assert_eq!(field_type(b"i8\0x"), Ok((true, 8)));
        for bad in ["u64", "i65", "i0", "I8", "i", "", "i08", "u-1"] {
            assert!(field_type(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn overflow_modes() {
        use Overflow::*;
        assert_eq!(unsigned_result(250, 10, 8, Wrap), Some(4));
        assert_eq!(unsigned_result(250, 10, 8, Sat), Some(255));
        assert_eq!(unsigned_result(250, 10, 8, Fail), None);
        assert_eq!(unsigned_result(5, -10, 8, Wrap), Some(251));
        assert_eq!(unsigned_result(5, -10, 8, Sat), Some(0));
        assert_eq!(unsigned_result(u64::MAX, 0, 8, Sat), Some(255), "SET u8 -1");
        assert_eq!(unsigned_result(u64::MAX, 0, 8, Wrap), Some(255));
        assert_eq!(signed_result(120, 10, 8, Wrap), Some(-126));
        assert_eq!(signed_result(120, 10, 8, Sat), Some(127));
        assert_eq!(signed_result(-120, -10, 8, Sat), Some(-128));
        assert_eq!(signed_result(-1000, 0, 8, Wrap), Some(24));
        assert_eq!(signed_result(1000, 0, 8, Wrap), Some(-24));
        assert_eq!(signed_result(i64::MAX, 1, 64, Wrap), Some(i64::MIN));
        assert_eq!(signed_result(i64::MAX, 1, 64, Sat), Some(i64::MAX));
        assert_eq!(signed_result(i64::MIN, -1, 64, Fail), None);
        assert_eq!(signed_result(i64::MIN, i64::MAX, 64, Fail), Some(-1));
        assert_eq!(signed_result(3, -5, 3, Wrap), Some(-2));
        assert_eq!(signed_result(-3, -5, 3, Wrap), Some(0));
        assert_eq!(signed_result(-3, -5, 3, Sat), Some(-4));
    }

    #[test]
    fn bitop_combines_with_zero_padding() {
        let mut acc = b"\x0f".to_vec();
        combine(BitOp::And, &mut acc, b"\xff\xff");
        assert_eq!(acc, [0x0f, 0x00]);
        combine(BitOp::Or, &mut acc, b"\xf0\x01\x02");
        assert_eq!(acc, [0xff, 0x01, 0x02]);
        combine(BitOp::Xor, &mut acc, b"\xff");
        assert_eq!(acc, [0x00, 0x01, 0x02]);
    }

    #[test]
    fn bit_writes_fire_setbit_set_or_del() {
        use crate::command::testing::{strs, Session};
        let mut s = Session::new();
        s.now_ms = Some(1_000_000);
        s.run(&["CONFIG", "SET", "notify-keyspace-events", "KEAn"]);
        let (_, ev, prop) = s.check(&["SETBIT", "b", "3", "1"]);
        assert_eq!(
            (ev, prop),
            (strs(&["new b", "setbit b"]), strs(&["SETBIT b 3 1"]))
        );
        let (_, ev, prop) = s.check(&["SETBIT", "b", "3", "1"]);
        assert!(ev.is_empty() && prop.is_empty(), "unchanged");
        let (_, ev, prop) = s.check(&["SETBIT", "b", "20", "0"]);
        assert_eq!(ev, strs(&["setbit b"]), "grown");
        assert_eq!(prop, strs(&["SETBIT b 20 0"]));

        let (_, ev, prop) = s.check(&["BITFIELD", "b", "SET", "u8", "0", "255", "GET", "u8", "0"]);
        assert_eq!(ev, strs(&["setbit b"]));
        assert_eq!(prop, strs(&["BITFIELD b SET u8 0 255 GET u8 0"]));
        let (_, ev, prop) = s.check(&["BITFIELD", "b", "SET", "u8", "0", "255"]);
        assert!(ev.is_empty() && prop.is_empty(), "unchanged");
        let args = [
            "BITFIELD", "nb", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300",
        ];
        let (reply, ev, prop) = s.check(&args);
        assert_eq!(reply, "*1\r\n$-1\r\n");
        assert_eq!(ev, strs(&["new nb"]), "created, never written");
        assert!(prop.is_empty());
        let (_, ev, prop) = s.check(&["BITFIELD", "nb2", "INCRBY", "u8", "0", "0"]);
        assert_eq!(ev, strs(&["new nb2", "setbit nb2"]), "created counts");
        assert_eq!(prop, strs(&["BITFIELD nb2 INCRBY u8 0 0"]));
        s.run(&["SET", "e", "1", "PX", "10"]);
        s.now_ms = Some(1_000_011);
        let (_, ev, prop) = s.check(&["BITFIELD", "e", "GET", "u8", "0"]);
        assert_eq!((ev, prop), (strs(&["expired e"]), strs(&["DEL e"])));

        let (reply, ev, prop) = s.check(&["BITOP", "NOT", "dst", "b"]);
        assert_eq!(reply, ":3\r\n");
        assert_eq!(
            (ev, prop),
            (strs(&["new dst", "set dst"]), strs(&["BITOP NOT dst b"]))
        );
        let (_, ev, prop) = s.check(&["BITOP", "OR", "dst", "b"]);
        assert_eq!(ev, strs(&["set dst"]));
        assert_eq!(prop, strs(&["BITOP OR dst b"]));
        let (reply, ev, prop) = s.check(&["BITOP", "AND", "dst", "nokey"]);
        assert_eq!(reply, ":0\r\n");
        assert_eq!(
            (ev, prop),
            (strs(&["del dst"]), strs(&["BITOP AND dst nokey"]))
        );
        let (_, ev, prop) = s.check(&["BITOP", "AND", "dst", "nokey"]);
        assert!(ev.is_empty() && prop.is_empty(), "nothing to delete");
        // A destination met expired: a result expires it first; an empty result
        // deletes it as Redis's `dbDelete` does, whatever its expiry.
        s.run(&["SET", "x", "1", "PX", "10"]);
        s.run(&["SET", "w", "1", "PX", "10"]);
        s.now_ms = Some(1_000_022);
        let (_, ev, prop) = s.check(&["BITOP", "OR", "x", "b"]);
        assert_eq!(ev, strs(&["expired x", "new x", "set x"]));
        assert_eq!(prop, strs(&["MULTI", "DEL x", "BITOP OR x b", "EXEC"]));
        let (_, ev, prop) = s.check(&["BITOP", "OR", "w", "l2", "l3"]);
        assert_eq!((ev, prop), (strs(&["del w"]), strs(&["BITOP OR w l2 l3"])));
    }
}
