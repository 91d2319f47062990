//! String commands (Redis's t_string.c): SET and its variants, GET, MGET, MSET, the
//! INCR family, APPEND and STRLEN.

use super::docs::doc;
use super::flags::*;
use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::store::{Entry, Keyspace};
use crate::util::num::{i64_to_bytes, parse_i64};

pub const COMMANDS: &[Command] = &[
    Command::new("get", 2, READONLY | FAST, (1, 1, 1), Handler::Read(get),
        doc("string", "1.0.0", "Returns the string value of a key.", "key")),
    Command::new("set", -3, WRITE | DENYOOM, (1, 1, 1), Handler::Write(set),
        doc("string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]")),
    Command::new("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Handler::Write(setnx),
        doc("string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", "key value")),
    Command::new("setex", 4, WRITE | DENYOOM, (1, 1, 1), Handler::Write(setex),
        doc("string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "key seconds value")),
    Command::new("psetex", 4, WRITE | DENYOOM, (1, 1, 1), Handler::Write(psetex),
        doc("string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "key milliseconds value")),
    Command::new("getdel", 2, WRITE | FAST, (1, 1, 1), Handler::Write(getdel),
        doc("string", "6.2.0", "Returns the string value of a key after deleting the key.", "key")),
    Command::new("mget", -2, READONLY | FAST, (1, -1, 1), Handler::Read(mget),
        doc("string", "1.0.0", "Atomically returns the string values of one or more keys.", "key [key ...]")),
    Command::new("mset", -3, WRITE | DENYOOM, (1, -1, 2), Handler::Write(mset),
        doc("string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", "key value [key value ...]")),
    Command::new("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), Handler::Write(incr),
        doc("string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "key")),
    Command::new("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), Handler::Write(decr),
        doc("string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "key")),
    Command::new("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Handler::Write(incrby),
        doc("string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "key increment")),
    Command::new("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Handler::Write(decrby),
        doc("string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "key decrement")),
    Command::new("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Handler::Write(append),
        doc("string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", "key value")),
    Command::new("strlen", 2, READONLY | FAST, (1, 1, 1), Handler::Read(strlen),
        doc("string", "2.2.0", "Returns the length of a string value.", "key")),
];

/// The string stored at `key`: `Ok(None)` if absent, `WRONGTYPE` if not a string.
pub fn get_str<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    key: &[u8],
) -> Result<Option<&'a [u8]>, CmdError> {
    match ks.db(ctx.client.db).get(key, ctx.now_ms) {
        None => {
            ctx.client.stats.keyspace_misses += 1;
            Ok(None)
        }
        Some(entry) => {
            ctx.client.stats.keyspace_hits += 1;
            entry.str().map(Some).ok_or(CmdError::WrongType)
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

/// Parses `[NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]` with Redis's rules: an
/// option that conflicts with one already given is a syntax error.
fn parse_set_options(ctx: &Ctx, args: &Args) -> Result<SetOptions, CmdError> {
    let mut opts = SetOptions {
        condition: Condition::Always,
        get: false,
        ttl: Ttl::None,
    };
    let mut keep_ttl = false;
    let mut expire: Option<(&[u8], u64, bool)> = None; // (arg, unit ms, relative)
    let mut i = 3;
    while i < args.len() {
        let opt = &args[i];
        let next = (i + 1 < args.len()).then(|| &args[i + 1]);
        if is(opt, "nx") && opts.condition != Condition::IfPresent {
            opts.condition = Condition::IfAbsent;
        } else if is(opt, "xx") && opts.condition != Condition::IfAbsent {
            opts.condition = Condition::IfPresent;
        } else if is(opt, "get") {
            opts.get = true;
        } else if is(opt, "keepttl") && expire.is_none() {
            keep_ttl = true;
        } else if let (Some(unit), Some(next)) = (expire_unit(opt), next) {
            // The same unit may repeat (the last wins); a different one conflicts.
            let same = expire.is_none_or(|(_, u, r)| (u, r) == unit);
            if keep_ttl || !same {
                return Err(CmdError::Syntax);
            }
            expire = Some((next, unit.0, unit.1));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if keep_ttl {
        opts.ttl = Ttl::Keep;
    }
    if let Some((arg, unit, relative)) = expire {
        opts.ttl = Ttl::At(expire_at(ctx, arg, unit, relative, "set")?);
    }
    Ok(opts)
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
    set_generic(ctx, ks, &args[1], &args[2], opts)
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
    let old = db.get_mut(key, ctx.now_ms);
    if opts.get {
        match old.as_deref().map(Entry::str) {
            Some(Some(s)) => ctx.out.bulk(s),
            Some(None) => return Err(CmdError::WrongType),
            None => ctx.out.null(),
        }
    }
    let found = old.is_some();
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
    if !opts.get {
        ctx.out.ok();
    }
    Ok(())
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
/// GETDEL key
/// ```
/// The value (then deleted), or nil.
fn getdel(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let db = ks.db_mut(ctx.client.db);
    let Some(entry) = db.get_mut(&args[1], ctx.now_ms) else {
        ctx.out.null();
        return Ok(());
    };
    let Some(value) = entry.str() else {
        return Err(CmdError::WrongType);
    };
    ctx.out.bulk(value);
    db.remove(&args[1], ctx.now_ms);
    ks.dirty += 1;
    Ok(())
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
    if args.len().is_multiple_of(2) {
        return Err(CmdError::err(
            "wrong number of arguments for 'mset' command",
        ));
    }
    let db = ks.db_mut(ctx.client.db);
    for pair in (1..args.len()).step_by(2) {
        db.set_str(&args[pair], &args[pair + 1], false, ctx.now_ms);
    }
    ks.dirty += (args.len() as u64 - 1) / 2;
    ctx.out.ok();
    Ok(())
}

/// The shared body of INCR, DECR, INCRBY and DECRBY (Redis's `incrDecrCommand`).
fn incr_by(ctx: &mut Ctx, ks: &mut Keyspace, key: &[u8], by: i64) -> CmdResult {
    let db = ks.db_mut(ctx.client.db);
    let new = match db.get_mut(key, ctx.now_ms) {
        None => {
            db.set_str(key, &i64_to_bytes(by), false, ctx.now_ms);
            by
        }
        Some(entry) => {
            let mut s = entry.str_mut().ok_or(CmdError::WrongType)?;
            let current = parse_i64(s.get()).ok_or(CmdError::NotInteger)?;
            let new = current.checked_add(by).ok_or(CmdError::Overflow)?;
            s.set(&i64_to_bytes(new));
            new
        }
    };
    ks.dirty += 1;
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
/// APPEND key value
/// ```
/// The new length.
fn append(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let max = ctx.server.proto_max_bulk_len();
    let db = ks.db_mut(ctx.client.db);
    let len = match db.get_mut(&args[1], ctx.now_ms) {
        None => {
            db.set_str(&args[1], &args[2], false, ctx.now_ms);
            args[2].len()
        }
        Some(entry) => {
            let mut s = entry.str_mut().ok_or(CmdError::WrongType)?;
            if (s.len() + args[2].len()) as u64 > max {
                return Err(CmdError::err(
                    "string exceeds maximum allowed size (proto-max-bulk-len)",
                ));
            }
            s.append(&args[2]);
            s.len()
        }
    };
    ks.dirty += 1;
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
