//! String commands (Redis's t_string.c): SET and its variants, GET, GETEX, GETSET,
//! GETDEL, MGET, MSET, MSETNX, the INCR family, INCRBYFLOAT, APPEND, STRLEN,
//! GETRANGE/SUBSTR, SETRANGE and LCS.

use super::{count_lookup, int_arg, is, read_key, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::store::class::{GENERIC, STRING};
use crate::store::{Db, Entry, Keyspace, StrOrigin};
use crate::util::num::{
    format_long_double_human, i64_digits, parse_i64, parse_long_double, LongDouble,
};

pub const COMMANDS: &[Command] = &[
    Command::new("get", Handler::Read(get)),
    Command::new("set", Handler::Write(set)),
    Command::new("setnx", Handler::Write(setnx)),
    Command::new("setex", Handler::Write(setex)),
    Command::new("psetex", Handler::Write(psetex)),
    Command::new("getex", Handler::Write(getex)),
    Command::new("getset", Handler::Write(getset)),
    Command::new("getdel", Handler::Write(getdel)),
    Command::new("mget", Handler::Read(mget)),
    Command::new("mset", Handler::Write(mset)),
    Command::new("msetnx", Handler::Write(msetnx)),
    Command::new("incr", Handler::Write(incr)),
    Command::new("decr", Handler::Write(decr)),
    Command::new("incrby", Handler::Write(incrby)),
    Command::new("decrby", Handler::Write(decrby)),
    Command::new("incrbyfloat", Handler::Write(incrbyfloat)),
    Command::new("append", Handler::Write(append)),
    Command::new("strlen", Handler::Read(strlen)),
    Command::new("getrange", Handler::Read(getrange)),
    Command::new("substr", Handler::Read(getrange)),
    Command::new("setrange", Handler::Write(setrange)),
    Command::new("lcs", Handler::Read(lcs)),
];

/// The string stored at `key`: `Ok(None)` if absent, `WRONGTYPE` if not a string.
pub fn get_str<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    key: &[u8],
) -> Result<Option<&'a [u8]>, CmdError> {
    match read_key(ctx, ks, key) {
        None => Ok(None),
        Some(entry) => entry.str().map(Some).ok_or(CmdError::WrongType),
    }
}

/// The shared first half of GETSET, GETDEL and SET ... GET (Redis's
/// `getGenericCommand`, under the write lock): replies with the value or nil, or fails
/// with `WRONGTYPE`. Returns whether the key exists.
fn get_generic(ctx: &mut Ctx, db: &mut Db, key: &[u8]) -> Result<bool, CmdError> {
    let entry = db.lookup_read(key, ctx.expiry_now());
    count_lookup(ctx, entry.is_some());
    match entry {
        None => {
            ctx.out.null();
            Ok(false)
        }
        Some(entry) => {
            ctx.out.bulk(entry.str().ok_or(CmdError::WrongType)?);
            Ok(true)
        }
    }
}

/// ```text
/// GET key
/// ```
/// The value, or nil.
fn get(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    match get_str(ctx, ks, &args[1])? {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// How SET-like commands treat an existing key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Condition {
    Always,
    IfAbsent,
    IfPresent,
}

/// The expiry a SET-like command asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ttl {
    /// Clear any expiry.
    None,
    /// Keep the current expiry (KEEPTTL).
    Keep,
    /// Expire at this absolute Unix ms.
    At(u64),
}

/// The parsed options of SET.
struct SetOptions {
    condition: Condition,
    get: bool,
    ttl: Ttl,
}

/// Whose options [`parse_extended`] reads (Redis's `COMMAND_SET` and `COMMAND_GET`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extended {
    Set,
    GetEx,
}

/// The options of SET or GETEX as given, before the expire time is checked.
struct ExtendedOptions<'a> {
    condition: Condition,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    /// EX/PX/EXAT/PXAT: the time argument, ms per unit, and whether it is relative.
    expire: Option<(&'a [u8], u64, bool)>,
}

/// Parses SET's `[NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]` (from the 4th word)
/// or GETEX's `[EX s|PX ms|EXAT s|PXAT ms|PERSIST]` (from the 3rd) with Redis's rules
/// (`parseExtendedStringArgumentsOrReply`): an option that conflicts with one already
/// given, that belongs to the other command, or that lacks its time argument, is a
/// syntax error; the same option may repeat (the last time wins).
fn parse_extended(args: &Args, kind: Extended) -> Result<ExtendedOptions<'_>, CmdError> {
    let set = kind == Extended::Set;
    let mut opts = ExtendedOptions {
        condition: Condition::Always,
        get: false,
        keep_ttl: false,
        persist: false,
        expire: None,
    };
    let mut i = if set { 3 } else { 2 };
    while i < args.len() {
        let opt = &args[i];
        let next = (i + 1 < args.len()).then(|| &args[i + 1]);
        if set && is(opt, "nx") && opts.condition != Condition::IfPresent {
            opts.condition = Condition::IfAbsent;
        } else if set && is(opt, "xx") && opts.condition != Condition::IfAbsent {
            opts.condition = Condition::IfPresent;
        } else if set && is(opt, "get") {
            opts.get = true;
        } else if set && is(opt, "keepttl") && opts.expire.is_none() {
            opts.keep_ttl = true;
        } else if !set && is(opt, "persist") && opts.expire.is_none() {
            opts.persist = true;
        } else if let (Some(unit), Some(next)) = (expire_unit(opt), next) {
            // The same unit may repeat (the last wins); a different one conflicts.
            let same = opts.expire.is_none_or(|(_, u, r)| (u, r) == unit);
            if opts.keep_ttl || opts.persist || !same {
                return Err(CmdError::Syntax);
            }
            opts.expire = Some((next, unit.0, unit.1));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(opts)
}

/// Parses SET's options; the expire time is checked here, before any lookup, as
/// Redis's `setGenericCommand` checks it first.
fn parse_set_options(ctx: &Ctx, args: &Args) -> Result<SetOptions, CmdError> {
    let opts = parse_extended(args, Extended::Set)?;
    let ttl = match opts.expire {
        Some((arg, unit, relative)) => Ttl::At(expire_at(ctx, arg, unit, relative, "set")?),
        None if opts.keep_ttl => Ttl::Keep,
        None => Ttl::None,
    };
    Ok(SetOptions {
        condition: opts.condition,
        get: opts.get,
        ttl,
    })
}

/// The unit (ms per step) and relativity of an EX/PX/EXAT/PXAT word.
fn expire_unit(opt: &[u8]) -> Option<(u64, bool)> {
    if is(opt, "ex") {
        Some((1000, true))
    } else if is(opt, "px") {
        Some((1, true))
    } else if is(opt, "exat") {
        Some((1000, false))
    } else if is(opt, "pxat") {
        Some((1, false))
    } else {
        None
    }
}

/// Turns an expire argument into an absolute Unix ms, with Redis's checks
/// (`getExpireMillisecondsOrReply`).
fn expire_at(
    ctx: &Ctx,
    arg: &[u8],
    unit: u64,
    relative: bool,
    name: &str,
) -> Result<u64, CmdError> {
    let n = int_arg(arg)?;
    let invalid = || CmdError::err(format!("invalid expire time in '{name}' command"));
    if n <= 0 || (unit == 1000 && n > i64::MAX / 1000) {
        return Err(invalid());
    }
    let mut ms = n * unit as i64;
    if relative {
        ms = ms.checked_add(ctx.now_ms as i64).ok_or_else(invalid)?;
    }
    Ok(ms as u64)
}

/// ```text
/// SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]
/// ```
/// OK; nil if NX/XX stopped it; with GET, the old value.
fn set(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let opts = parse_set_options(ctx, args)?;
    // Without an expiry (which rewrites it whole) SET is replayed without GET.
    let drop_get = opts.get && !matches!(opts.ttl, Ttl::At(_));
    set_generic(ctx, ks, &args[1], &args[2], opts)?;
    if drop_get {
        ks.rewrite(&args_without_get(args));
    }
    Ok(())
}

/// The shared body of SET, SETNX, SETEX and PSETEX (Redis's `setGenericCommand`).
fn set_generic(
    ctx: &mut Ctx,
    ks: &mut Keyspace,
    key: &[u8],
    value: &[u8],
    opts: SetOptions,
) -> CmdResult {
    let db = ks.db_mut(ctx.client.db);
    if opts.get {
        get_generic(ctx, db, key)?;
    }
    let found = db.get_mut(key, ctx.now_ms).is_some();
    let blocked = match opts.condition {
        Condition::Always => false,
        Condition::IfAbsent => found,
        Condition::IfPresent => !found,
    };
    if blocked {
        if !opts.get {
            ctx.out.null();
        }
        return Ok(());
    }
    db.set_str(key, value, opts.ttl == Ttl::Keep, ctx.now_ms);
    if let Ttl::At(at) = opts.ttl {
        db.set_expiry(key, at, ctx.now_ms);
    }
    ks.dirty += 1;
    let dbi = ctx.client.db;
    ks.changed(STRING, "set", dbi, key);
    if let Ttl::At(at) = opts.ttl {
        // Replayed with the absolute time it now expires at.
        ks.rewrite(&[b"SET", key, value, b"PXAT", at.to_string().as_bytes()]);
        ks.notify(GENERIC, "expire", dbi, key);
    }
    if !opts.get {
        ctx.out.ok();
    }
    Ok(())
}

/// SET's words without its GET options (from the 4th word on, as Redis skips them).
fn args_without_get(args: &Args) -> Vec<&[u8]> {
    args.iter()
        .enumerate()
        .filter(|&(i, w)| i < 3 || !is(w, "get"))
        .map(|(_, w)| w)
        .collect()
}

/// ```text
/// SETNX key value
/// ```
/// 1 if the key was set, 0 if it existed.
fn setnx(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let db = ks.db_mut(ctx.client.db);
    if db.get_mut(&args[1], ctx.now_ms).is_some() {
        ctx.out.int(0);
        return Ok(());
    }
    db.set_str(&args[1], &args[2], false, ctx.now_ms);
    ks.dirty += 1;
    ks.changed(STRING, "set", ctx.client.db, &args[1]);
    ctx.out.int(1);
    Ok(())
}

/// ```text
/// SETEX key seconds value
/// ```
fn setex(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let at = expire_at(ctx, &args[2], 1000, true, "setex")?;
    let opts = SetOptions {
        condition: Condition::Always,
        get: false,
        ttl: Ttl::At(at),
    };
    set_generic(ctx, ks, &args[1], &args[3], opts)
}

/// ```text
/// PSETEX key milliseconds value
/// ```
fn psetex(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let at = expire_at(ctx, &args[2], 1, true, "psetex")?;
    let opts = SetOptions {
        condition: Condition::Always,
        get: false,
        ttl: Ttl::At(at),
    };
    set_generic(ctx, ks, &args[1], &args[3], opts)
}

/// ```text
/// GETEX key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]
/// ```
/// The value, or nil; then sets or removes the expiry. Options are checked before the
/// lookup, the time only after it (a missing key answers nil whatever the time says),
/// and an EXAT/PXAT already past deletes the key, as Redis's `getexCommand` does.
fn getex(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let opts = parse_extended(args, Extended::GetEx)?;
    let key = &args[1];
    let db = ks.db_mut(ctx.client.db);
    let entry = db.lookup_read(key, ctx.expiry_now());
    count_lookup(ctx, entry.is_some());
    let Some(entry) = entry else {
        ctx.out.null();
        return Ok(());
    };
    let value = entry.str().ok_or(CmdError::WrongType)?;
    let at = match opts.expire {
        Some((arg, unit, relative)) => {
            Some((expire_at(ctx, arg, unit, relative, "getex")?, relative))
        }
        None => None,
    };
    ctx.out.bulk(value);
    let dbi = ctx.client.db;
    match at {
        Some((at, false)) if ctx.already_expired(at as i64) => {
            db.remove(key, ctx.now_ms);
            ks.dirty += 1;
            ks.rewrite(&[del_word(ks), key]);
            ks.changed(GENERIC, "del", dbi, key);
        }
        Some((at, _)) => {
            db.set_expiry(key, at, ctx.now_ms);
            ks.dirty += 1;
            ks.rewrite(&[b"PEXPIREAT", key, at.to_string().as_bytes()]);
            ks.changed(GENERIC, "expire", dbi, key);
        }
        None if opts.persist && db.persist(key, ctx.now_ms) => {
            ks.dirty += 1;
            ks.rewrite(&[b"PERSIST", key]);
            ks.changed(GENERIC, "persist", dbi, key);
        }
        None => {}
    }
    Ok(())
}

/// ```text
/// GETSET key value
/// ```
/// The old value, or nil; the key then holds `value`, without expiry.
fn getset(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let db = ks.db_mut(ctx.client.db);
    get_generic(ctx, db, &args[1])?;
    db.set_str(&args[1], &args[2], false, ctx.now_ms);
    ks.dirty += 1;
    ks.changed(STRING, "set", ctx.client.db, &args[1]);
    ks.rewrite(&[b"SET", &args[1], &args[2]]);
    Ok(())
}

/// ```text
/// GETDEL key
/// ```
/// The value (then deleted), or nil.
fn getdel(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let db = ks.db_mut(ctx.client.db);
    get_generic(ctx, db, &args[1])?;
    // Redis deletes whatever is there after a nil too (`dbSyncDelete`): on a replica,
    // the expired key its lookup left.
    if db.delete(&args[1]).is_some() {
        ks.dirty += 1;
        let del: &[u8] = if ks.lazy_user_del { b"UNLINK" } else { b"DEL" };
        ks.rewrite(&[del, &args[1]]);
        ks.changed(GENERIC, "del", ctx.client.db, &args[1]);
    }
    Ok(())
}

/// How GETEX's deletion is replayed: UNLINK under `lazyfree-lazy-expire`, else DEL.
fn del_word(ks: &Keyspace) -> &'static [u8] {
    if ks.lazy_expire() {
        b"UNLINK"
    } else {
        b"DEL"
    }
}

/// ```text
/// MGET key [key ...]
/// ```
/// An array of values; nil for missing keys and keys of other types.
fn mget(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    ctx.out.array(args.len() - 1);
    for key in args.iter().skip(1) {
        match get_str(ctx, ks, key) {
            Ok(Some(v)) => ctx.out.bulk(v),
            _ => ctx.out.null(),
        }
    }
    Ok(())
}

/// ```text
/// MSET key value [key value ...]
/// ```
fn mset(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    mset_generic(ctx, ks, args, false)
}

/// ```text
/// MSETNX key value [key value ...]
/// ```
/// 1 if every key was set; 0, setting none, if any of them exists.
fn msetnx(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    mset_generic(ctx, ks, args, true)
}

/// The shared body of MSET and MSETNX (Redis's `msetGenericCommand`).
fn mset_generic(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, nx: bool) -> CmdResult {
    if args.len().is_multiple_of(2) {
        let name = if nx { "msetnx" } else { "mset" };
        return Err(CmdError::err(format!(
            "wrong number of arguments for '{name}' command"
        )));
    }
    let db = ks.db_mut(ctx.client.db);
    if nx
        && (1..args.len())
            .step_by(2)
            .any(|i| db.get_mut(&args[i], ctx.now_ms).is_some())
    {
        ctx.out.int(0);
        return Ok(());
    }
    // Each key fires its event as it is set (a new key's `new` comes just before).
    for pair in (1..args.len()).step_by(2) {
        let db = ks.db_mut(ctx.client.db);
        // Redis's `setKey` looks the key up for writing first: one that has expired is
        // removed (and fires `expired`) before the new one is added (`new`).
        db.get_mut(&args[pair], ctx.now_ms);
        db.set_str(&args[pair], &args[pair + 1], false, ctx.now_ms);
        ks.changed(STRING, "set", ctx.client.db, &args[pair]);
    }
    ks.dirty += (args.len() as u64 - 1) / 2;
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// The shared body of INCR, DECR, INCRBY and DECRBY (Redis's `incrDecrCommand`).
fn incr_by(ctx: &mut Ctx, ks: &mut Keyspace, key: &[u8], by: i64) -> CmdResult {
    let db = ks.db_mut(ctx.client.db);
    let new = match db.get_mut(key, ctx.now_ms) {
        None => {
            db.set_str(key, i64_digits(by, &mut [0; 20]), false, ctx.now_ms);
            by
        }
        Some(entry) => {
            let mut s = entry.str_mut().ok_or(CmdError::WrongType)?;
            let current = parse_i64(s.get()).ok_or(CmdError::NotInteger)?;
            let new = current.checked_add(by).ok_or(CmdError::Overflow)?;
            s.set(i64_digits(new, &mut [0; 20]));
            new
        }
    };
    ks.dirty += 1;
    ks.changed(STRING, "incrby", ctx.client.db, key);
    ctx.out.int(new);
    Ok(())
}

/// ```text
/// INCR key
/// ```
fn incr(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    incr_by(ctx, ks, &args[1], 1)
}

/// ```text
/// DECR key
/// ```
fn decr(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    incr_by(ctx, ks, &args[1], -1)
}

/// ```text
/// INCRBY key increment
/// ```
fn incrby(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let by = int_arg(&args[2])?;
    incr_by(ctx, ks, &args[1], by)
}

/// ```text
/// DECRBY key decrement
/// ```
fn decrby(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let by = int_arg(&args[2])?;
    // Negating i64::MIN overflows; Redis refuses it with its own message.
    let by = by
        .checked_neg()
        .ok_or_else(|| CmdError::err("decrement would overflow"))?;
    incr_by(ctx, ks, &args[1], by)
}

/// ```text
/// INCRBYFLOAT key increment
/// ```
/// The new value, as a bulk string. The arithmetic is Redis's: both numbers parsed as
/// `long double` (`string2ld`), added in x87 extended precision, the sum written with
/// `%.17Lf` and its trailing zeros removed (see [`crate::util::num`]). The key keeps its
/// expiry. The stored value is checked before the increment, and the type before both.
fn incrbyfloat(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let not_float = || CmdError::err("value is not a valid float");
    let db = ks.db_mut(ctx.client.db);
    let entry = db.get_mut(&args[1], ctx.now_ms);
    let current = match &entry {
        None => LongDouble::zero(false),
        Some(entry) => {
            parse_long_double(entry.str().ok_or(CmdError::WrongType)?).ok_or_else(not_float)?
        }
    };
    let incr = parse_long_double(&args[2]).ok_or_else(not_float)?;
    let sum = current + incr;
    if !sum.is_finite() {
        return Err(CmdError::err("increment would produce NaN or Infinity"));
    }
    let new = format_long_double_human(sum);
    // Redis stores the result as a plain string object, never an integer.
    match entry {
        Some(entry) => {
            entry.set_str(&new);
            entry.set_origin(StrOrigin::Plain);
        }
        None => {
            db.set_str(&args[1], &new, false, ctx.now_ms);
            if let Some(entry) = db.get_mut(&args[1], ctx.now_ms) {
                entry.set_origin(StrOrigin::Plain);
            }
        }
    }
    ks.dirty += 1;
    ks.changed(STRING, "incrbyfloat", ctx.client.db, &args[1]);
    // Replayed as the value it computed, so float rounding cannot differ on replay.
    ks.rewrite(&[b"SET", &args[1], &new, b"KEEPTTL"]);
    ctx.out.bulk(&new);
    Ok(())
}

/// Redis's `checkStringLength`: a string may not grow past `proto-max-bulk-len` (nor
/// overflow on the way).
fn check_string_length(ctx: &Ctx, size: u64, append: u64) -> CmdResult {
    match size.checked_add(append) {
        Some(total) if total <= ctx.server.proto_max_bulk_len() => Ok(()),
        _ => Err(CmdError::err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

/// ```text
/// APPEND key value
/// ```
/// The new length.
fn append(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let db = ks.db_mut(ctx.client.db);
    let len = match db.get_mut(&args[1], ctx.now_ms) {
        None => {
            db.set_str(&args[1], &args[2], false, ctx.now_ms);
            args[2].len()
        }
        Some(entry) => {
            let mut s = entry.str_mut().ok_or(CmdError::WrongType)?;
            check_string_length(ctx, s.len() as u64, args[2].len() as u64)?;
            s.append(&args[2]);
            s.len()
        }
    };
    ks.dirty += 1;
    ks.changed(STRING, "append", ctx.client.db, &args[1]);
    ctx.out.int(len as i64);
    Ok(())
}

/// ```text
/// STRLEN key
/// ```
fn strlen(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let len = get_str(ctx, ks, &args[1])?.map_or(0, <[u8]>::len);
    ctx.out.int(len as i64);
    Ok(())
}

/// ```text
/// GETRANGE key start end
/// SUBSTR key start end
/// ```
/// The bytes from `start` to `end` inclusive (negative counts from the end); empty
/// for a missing key. Both indexes are checked before the lookup.
fn getrange(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    let s = get_str(ctx, ks, &args[1])?.unwrap_or_default();
    ctx.out.bulk(string_range(s, start, end));
    Ok(())
}

/// The part of `s` GETRANGE answers, with the index rules of Redis 7.0's
/// `getrangeCommand`: two negative indexes out of order give nothing, then negative
/// indexes count from the end and are clamped to 0, and `end` to the last byte.
fn string_range(s: &[u8], start: i64, end: i64) -> &[u8] {
    if start < 0 && end < 0 && start > end {
        return b"";
    }
    let len = s.len() as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    if start > end || len == 0 {
        b""
    } else {
        &s[start as usize..=end as usize]
    }
}

/// ```text
/// SETRANGE key offset value
/// ```
/// The new length. The string grows with zero bytes as needed; an empty `value` changes
/// nothing (and creates no key). Past `proto-max-bulk-len` it is an error.
fn setrange(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let offset = int_arg(&args[2])?;
    if offset < 0 {
        return Err(CmdError::OutOfRange("offset"));
    }
    let (key, value) = (&args[1], &args[3]);
    let db = ks.db_mut(ctx.client.db);
    let len = match db.get_mut(key, ctx.now_ms) {
        None => {
            if value.is_empty() {
                ctx.out.int(0);
                return Ok(());
            }
            check_string_length(ctx, offset as u64, value.len() as u64)?;
            db.set_str(key, b"", false, ctx.now_ms);
            let entry = db.get_mut(key, ctx.now_ms).expect("the key was just set");
            write_at(entry, offset as usize, value)
        }
        Some(entry) => {
            let current = entry.str().ok_or(CmdError::WrongType)?.len();
            if value.is_empty() {
                ctx.out.int(current as i64);
                return Ok(());
            }
            check_string_length(ctx, offset as u64, value.len() as u64)?;
            write_at(entry, offset as usize, value)
        }
    };
    ks.dirty += 1;
    ks.changed(STRING, "setrange", ctx.client.db, key);
    ctx.out.int(len as i64);
    Ok(())
}

/// Writes `value` into a string entry at `offset`, zero-padding as needed (Redis's
/// `sdsgrowzero` then `memcpy`). Returns the new length.
fn write_at(entry: &mut Entry, offset: usize, value: &[u8]) -> usize {
    let Some(mut s) = entry.str_mut() else {
        return 0;
    };
    let end = offset + value.len();
    if end > s.len() {
        s.resize(end);
    }
    s.bytes_mut()[offset..end].copy_from_slice(value);
    s.len()
}

/// The options of LCS.
struct LcsOptions {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: u64,
}

/// ```text
/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
/// ```
/// The longest common subsequence of two strings (missing keys are empty): the string
/// itself; with LEN its length; with IDX a map of `matches` (the matching ranges, last
/// first, each `[[start1, end1], [start2, end2]]` plus its length with WITHMATCHLEN,
/// only those at least MINMATCHLEN long) and `len`. Checks run in Redis's order: the
/// types, the options, LEN with IDX, then the size of the table.
fn lcs(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let a = read_key(ctx, ks, &args[1]);
    let b = read_key(ctx, ks, &args[2]);
    fn as_str(e: Option<&Entry>) -> Option<&[u8]> {
        e.map_or(Some(b""), Entry::str)
    }
    let (Some(a), Some(b)) = (as_str(a), as_str(b)) else {
        return Err(CmdError::err(
            "The specified keys must contain string values",
        ));
    };
    let opts = parse_lcs_options(args)?;
    if opts.len && opts.idx {
        return Err(CmdError::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(CmdError::err("String too long for LCS"));
    }
    let (alen, blen) = (a.len(), b.len());
    let failed =
        || CmdError::err("Insufficient memory, failed allocating transient memory for LCS");
    let cells = (alen as u64 + 1).checked_mul(blen as u64 + 1);
    let Some((cells, bytes)) = cells.and_then(|c| Some((c, c.checked_mul(4)?))) else {
        return Err(failed());
    };
    if bytes > ctx.server.proto_max_bulk_len() {
        return Err(CmdError::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let mut table: Vec<u32> = Vec::new();
    table
        .try_reserve_exact(cells as usize)
        .map_err(|_| failed())?;

    // table[i * (blen + 1) + j]: the LCS length of a[..i] and b[..j].
    let width = blen + 1;
    table.resize((alen + 1) * width, 0);
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let total = table[alen * width + blen];

    // Walk back from the end, building the LCS backwards and the ranges as they close
    // (Redis's loop, step for step, so that ties pick the same path).
    let compute = opts.idx || !opts.len;
    let mut result = vec![0u8; if compute { total as usize } else { 0 }];
    let mut matches: Vec<[usize; 5]> = Vec::new(); // start1, end1, start2, end2, length
    let (mut i, mut j, mut k) = (alen, blen, total as usize);
    // A range is open while range.0 != alen.
    let mut range = (alen, 0, 0, 0);
    while compute && i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[k - 1] = a[i - 1];
            if range.0 == alen {
                range = (i - 1, i - 1, j - 1, j - 1);
            } else if range.0 == i && range.2 == j {
                range.0 -= 1;
                range.2 -= 1;
            } else {
                emit = true;
            }
            if range.0 == 0 || range.2 == 0 {
                emit = true;
            }
            k -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if range.0 != alen {
                emit = true;
            }
        }
        if emit {
            let len = range.1 - range.0 + 1;
            if opts.min_match_len == 0 || len as u64 >= opts.min_match_len {
                matches.push([range.0, range.1, range.2, range.3, len]);
            }
            range.0 = alen;
        }
    }

    if opts.idx {
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(matches.len());
        for m in &matches {
            ctx.out.array(if opts.with_match_len { 3 } else { 2 });
            ctx.out.array(2);
            ctx.out.int(m[0] as i64);
            ctx.out.int(m[1] as i64);
            ctx.out.array(2);
            ctx.out.int(m[2] as i64);
            ctx.out.int(m[3] as i64);
            if opts.with_match_len {
                ctx.out.int(m[4] as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(i64::from(total));
    } else if opts.len {
        ctx.out.int(i64::from(total));
    } else {
        ctx.out.bulk(&result);
    }
    Ok(())
}

/// Parses LCS's options (from the 4th word). MINMATCHLEN needs a following integer (a
/// negative one means 0); anything else is a syntax error.
fn parse_lcs_options(args: &Args) -> Result<LcsOptions, CmdError> {
    let mut opts = LcsOptions {
        len: false,
        idx: false,
        with_match_len: false,
        min_match_len: 0,
    };
    let mut i = 3;
    while i < args.len() {
        let opt = &args[i];
        let more = i + 1 < args.len();
        if is(opt, "idx") {
            opts.idx = true;
        } else if is(opt, "len") {
            opts.len = true;
        } else if is(opt, "withmatchlen") {
            opts.with_match_len = true;
        } else if is(opt, "minmatchlen") && more {
            opts.min_match_len = int_arg(&args[i + 1])?.max(0) as u64;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use crate::command::testing::{strs, Session};

    #[test]
    fn set_family_events_and_propagation() {
        let mut s = Session::new();
        s.now_ms = Some(1_000_000);
        let (_, ev, prop) = s.check(&["SET", "k", "v", "EX", "10"]);
        assert_eq!(ev, strs(&["set k", "expire k"]));
        assert_eq!(prop, strs(&["SET k v PXAT 1010000"]));
        let (reply, ev, prop) = s.check(&["SET", "k", "w", "GET", "XX", "get"]);
        assert_eq!(reply, "$1\r\nv\r\n");
        assert_eq!(ev, strs(&["set k"]));
        assert_eq!(prop, strs(&["SET k w XX"]));
        let (_, ev, prop) = s.check(&["SET", "k", "x", "NX"]);
        assert!(
            ev.is_empty() && prop.is_empty(),
            "NX on an existing key changes nothing"
        );
        let (_, ev, prop) = s.check(&["SETNX", "n", "1"]);
        assert_eq!((ev, prop), (strs(&["set n"]), strs(&["SETNX n 1"])));
        let (_, ev, prop) = s.check(&["PSETEX", "p", "500", "v"]);
        assert_eq!(
            (ev, prop),
            (
                strs(&["set p", "expire p"]),
                strs(&["SET p v PXAT 1000500"])
            )
        );
        let (_, ev, prop) = s.check(&["GETSET", "k", "y"]);
        assert_eq!((ev, prop), (strs(&["set k"]), strs(&["SET k y"])));
        let (_, ev, prop) = s.check(&["MSET", "a", "1", "b", "2"]);
        assert_eq!(
            (ev, prop),
            (strs(&["set a", "set b"]), strs(&["MSET a 1 b 2"]))
        );
        let (_, ev, prop) = s.check(&["INCRBYFLOAT", "a", "1.5"]);
        assert_eq!(ev, strs(&["incrbyfloat a"]));
        assert_eq!(prop, strs(&["SET a 2.5 KEEPTTL"]));
        let (_, ev, prop) = s.check(&["DECRBY", "a", "1"]);
        assert!(
            prop.is_empty() && ev.is_empty(),
            "a float is not an integer"
        );
        let (_, ev, prop) = s.check(&["INCR", "b"]);
        assert_eq!((ev, prop), (strs(&["incrby b"]), strs(&["INCR b"])));
        let (_, ev, _) = s.check(&["APPEND", "b", "x"]);
        assert_eq!(ev, strs(&["append b"]));
        let (_, ev, prop) = s.check(&["SETRANGE", "b", "0", ""]);
        assert!(
            ev.is_empty() && prop.is_empty(),
            "an empty SETRANGE changes nothing"
        );
        let (_, ev, prop) = s.check(&["GETEX", "b", "PX", "100"]);
        assert_eq!(
            (ev, prop),
            (strs(&["expire b"]), strs(&["PEXPIREAT b 1000100"]))
        );
        let (_, ev, prop) = s.check(&["GETEX", "b", "PERSIST"]);
        assert_eq!((ev, prop), (strs(&["persist b"]), strs(&["PERSIST b"])));
        let (_, ev, prop) = s.check(&["GETEX", "b", "PERSIST"]);
        assert!(ev.is_empty() && prop.is_empty());
        let (_, ev, prop) = s.check(&["GETEX", "b", "PXAT", "5"]);
        assert_eq!((ev, prop), (strs(&["del b"]), strs(&["DEL b"])));
        let (_, ev, prop) = s.check(&["GETDEL", "a"]);
        assert_eq!((ev, prop), (strs(&["del a"]), strs(&["DEL a"])));
    }

    #[test]
    fn a_key_met_expired_fires_and_propagates_before_the_command() {
        let mut s = Session::new();
        s.now_ms = Some(1_000);
        s.run(&["SET", "k", "v", "PX", "10"]);
        s.run(&["SELECT", "3"]);
        s.run(&["SET", "k", "v", "PX", "10"]);
        s.now_ms = Some(1_010);
        let (reply, ev, prop) = s.check(&["GET", "k"]);
        assert_eq!(reply, "$1\r\nv\r\n", "alive at its expiry millisecond");
        assert!(ev.is_empty() && prop.is_empty());
        s.now_ms = Some(1_011);
        let (reply, ev, prop) = s.check(&["GET", "k"]);
        assert_eq!(reply, "$-1\r\n");
        assert_eq!(
            (ev, prop),
            (strs(&["@3 expired k"]), strs(&["SELECT 3", "DEL k"]))
        );
        s.run(&["SELECT", "0"]);
        let (_, ev, prop) = s.check(&["SET", "k", "w"]);
        assert_eq!(ev, strs(&["expired k", "set k"]));
        assert_eq!(prop, strs(&["MULTI", "DEL k", "SET k w", "EXEC"]));
    }

    #[test]
    fn a_transaction_that_writes_twice_propagates_as_one() {
        let mut s = Session::new();
        for cmd in [
            &["MULTI"][..],
            &["SET", "a", "1"],
            &["GET", "a"],
            &["INCR", "a"],
        ] {
            s.run(cmd);
        }
        let (_, _, prop) = s.check(&["EXEC"]);
        assert_eq!(prop, strs(&["MULTI", "SET a 1", "INCR a", "EXEC"]));
        for cmd in [&["MULTI"][..], &["SET", "a", "1", "NX"], &["INCR", "a"]] {
            s.run(cmd);
        }
        let (_, _, prop) = s.check(&["EXEC"]);
        assert_eq!(prop, strs(&["INCR a"]), "one write is not wrapped");
    }
}

#[cfg(test)]
mod keymiss_tests {
    use crate::command::testing::{strs, Session};

    #[test]
    fn read_lookups_that_miss_fire_keymiss_in_order() {
        let mut s = Session::new();
        s.now_ms = Some(1_000);
        let (_, ev, _) = s.check(&["GET", "a"]);
        assert!(ev.is_empty(), "off by default");
        s.run(&["CONFIG", "SET", "notify-keyspace-events", "KEAm"]);
        s.run(&["SET", "b", "v", "PX", "10"]);
        s.run(&["SET", "c", "v"]);
        s.now_ms = Some(1_011);
        let (_, ev, prop) = s.check(&["MGET", "a", "b", "c", "d"]);
        assert_eq!(
            ev,
            strs(&["keymiss a", "expired b", "keymiss b", "keymiss d"])
        );
        assert_eq!(prop, strs(&["DEL b"]));
        let (_, ev, _) = s.check(&["SET", "a", "1"]);
        assert_eq!(ev, strs(&["set a"]), "a write lookup is no miss");
    }
}
