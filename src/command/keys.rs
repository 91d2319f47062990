//! Generic key commands (Redis's db.c and expire.c): DEL, EXISTS, TYPE, KEYS, the EXPIRE
//! family, TTL, PERSIST, and the whole-database DBSIZE, FLUSHDB and FLUSHALL.

use super::docs::doc;
use super::flags::*;
use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::store::Keyspace;

pub const COMMANDS: &[Command] = &[
    Command::new(
        "del",
        -2,
        WRITE,
        (1, -1, 1),
        Handler::Write(del),
        doc(
            "generic",
            "1.0.0",
            "Deletes one or more keys.",
            "key [key ...]",
        ),
    ),
    Command::new(
        "exists",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        Handler::Read(exists),
        doc(
            "generic",
            "1.0.0",
            "Determines whether one or more keys exist.",
            "key [key ...]",
        ),
    ),
    Command::new(
        "type",
        2,
        READONLY | FAST,
        (1, 1, 1),
        Handler::Read(type_),
        doc(
            "generic",
            "1.0.0",
            "Determines the type of value stored at a key.",
            "key",
        ),
    ),
    Command::new(
        "keys",
        2,
        READONLY,
        (0, 0, 0),
        Handler::Read(keys),
        doc(
            "generic",
            "1.0.0",
            "Returns all key names that match a pattern.",
            "pattern",
        ),
    ),
    Command::new(
        "expire",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        Handler::Write(expire),
        doc(
            "generic",
            "1.0.0",
            "Sets the expiration time of a key in seconds.",
            "key seconds [NX|XX|GT|LT]",
        ),
    ),
    Command::new(
        "pexpire",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        Handler::Write(pexpire),
        doc(
            "generic",
            "2.6.0",
            "Sets the expiration time of a key in milliseconds.",
            "key milliseconds [NX|XX|GT|LT]",
        ),
    ),
    Command::new(
        "expireat",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        Handler::Write(expireat),
        doc(
            "generic",
            "1.2.0",
            "Sets the expiration time of a key to a Unix timestamp.",
            "key unix-time-seconds [NX|XX|GT|LT]",
        ),
    ),
    Command::new(
        "pexpireat",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        Handler::Write(pexpireat),
        doc(
            "generic",
            "2.6.0",
            "Sets the expiration time of a key to a Unix milliseconds timestamp.",
            "key unix-time-milliseconds [NX|XX|GT|LT]",
        ),
    ),
    Command::new(
        "ttl",
        2,
        READONLY | FAST,
        (1, 1, 1),
        Handler::Read(ttl),
        doc(
            "generic",
            "1.0.0",
            "Returns the expiration time in seconds of a key.",
            "key",
        ),
    ),
    Command::new(
        "pttl",
        2,
        READONLY | FAST,
        (1, 1, 1),
        Handler::Read(pttl),
        doc(
            "generic",
            "2.6.0",
            "Returns the expiration time in milliseconds of a key.",
            "key",
        ),
    ),
    Command::new(
        "persist",
        2,
        WRITE | FAST,
        (1, 1, 1),
        Handler::Write(persist),
        doc(
            "generic",
            "2.2.0",
            "Removes the expiration time of a key.",
            "key",
        ),
    ),
    Command::new(
        "dbsize",
        1,
        READONLY | FAST,
        (0, 0, 0),
        Handler::Read(dbsize),
        doc(
            "server",
            "1.0.0",
            "Returns the number of keys in the database.",
            "",
        ),
    ),
    Command::new(
        "flushdb",
        -1,
        WRITE,
        (0, 0, 0),
        Handler::Write(flushdb),
        doc(
            "server",
            "1.0.0",
            "Removes all keys from the current database.",
            "[ASYNC|SYNC]",
        ),
    ),
    Command::new(
        "flushall",
        -1,
        WRITE,
        (0, 0, 0),
        Handler::Write(flushall),
        doc(
            "server",
            "1.0.0",
            "Removes all keys from all databases.",
            "[ASYNC|SYNC]",
        ),
    ),
];

/// ```text
/// DEL key [key ...]
/// ```
/// How many keys were removed.
fn del(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let db = ks.db_mut(ctx.client.db);
    let removed = args
        .iter()
        .skip(1)
        .filter(|key| db.remove(key, ctx.now_ms).is_some())
        .count();
    ks.dirty += removed as u64;
    ctx.out.int(removed as i64);
    Ok(())
}

/// ```text
/// EXISTS key [key ...]
/// ```
/// How many of the keys exist, a repeated key counting each time.
fn exists(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let db = ks.db(ctx.client.db);
    let n = args
        .iter()
        .skip(1)
        .filter(|k| db.contains(k, ctx.now_ms))
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

/// ```text
/// TYPE key
/// ```
/// `string`, `list`... or `none`.
fn type_(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let name = ks
        .db(ctx.client.db)
        .get(&args[1], ctx.now_ms)
        .map_or("none", |e| e.type_name());
    ctx.out.simple(name);
    Ok(())
}

/// ```text
/// KEYS pattern
/// ```
/// Every key matching the glob pattern, in no particular order.
fn keys(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let keys = ks.db(ctx.client.db).keys(&args[1], ctx.now_ms);
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// The NX/XX/GT/LT options of the EXPIRE family.
#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_flags(args: &Args) -> Result<ExpireFlags, CmdError> {
    let mut f = ExpireFlags::default();
    for opt in args.iter().skip(3) {
        if is(opt, "nx") {
            f.nx = true;
        } else if is(opt, "xx") {
            f.xx = true;
        } else if is(opt, "gt") {
            f.gt = true;
        } else if is(opt, "lt") {
            f.lt = true;
        } else {
            return Err(CmdError::err(format!(
                "Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// The shared body of the EXPIRE family (Redis's `expireGenericCommand`): `base_ms` is
/// added to the argument (now for relative forms, 0 for absolute), `unit` is 1000 for
/// seconds. A time already past deletes the key.
fn expire_generic(
    ctx: &mut Ctx,
    ks: &mut Keyspace,
    args: &Args,
    base_ms: i64,
    unit: i64,
) -> CmdResult {
    let name = super::lookup(&args[0]).map_or("expire", |c| c.name);
    let flags = parse_expire_flags(args)?;
    let mut when = int_arg(&args[2])?;
    let invalid = || CmdError::err(format!("invalid expire time in '{name}' command"));
    if unit == 1000 {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(invalid());
        }
        when *= 1000;
    }
    if when > i64::MAX - base_ms {
        return Err(invalid());
    }
    when += base_ms;
    let db = ks.db_mut(ctx.client.db);
    let Some(entry) = db.get_mut(&args[1], ctx.now_ms) else {
        ctx.out.int(0);
        return Ok(());
    };
    let current = entry.expires_at().map(|t| t as i64);
    let refused = (flags.nx && current.is_some())
        || (flags.xx && current.is_none())
        || (flags.gt && current.is_none_or(|c| when <= c))
        || (flags.lt && current.is_some_and(|c| when >= c));
    if refused {
        ctx.out.int(0);
        return Ok(());
    }
    if when <= ctx.now_ms as i64 {
        db.remove(&args[1], ctx.now_ms);
    } else {
        db.set_expiry(&args[1], when as u64, ctx.now_ms);
    }
    ks.dirty += 1;
    ctx.out.int(1);
    Ok(())
}

/// ```text
/// EXPIRE key seconds [NX|XX|GT|LT]
/// ```
/// 1 if the timeout was set, 0 if not (no key, or a flag's condition failed).
fn expire(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let now = ctx.now_ms as i64;
    expire_generic(ctx, ks, args, now, 1000)
}

/// ```text
/// PEXPIRE key milliseconds [NX|XX|GT|LT]
/// ```
fn pexpire(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let now = ctx.now_ms as i64;
    expire_generic(ctx, ks, args, now, 1)
}

/// ```text
/// EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
/// ```
fn expireat(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    expire_generic(ctx, ks, args, 0, 1000)
}

/// ```text
/// PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
/// ```
fn pexpireat(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    expire_generic(ctx, ks, args, 0, 1)
}

/// The remaining time to live in ms: -2 for no key, -1 for no expiry.
fn ttl_ms(ctx: &Ctx, ks: &Keyspace, key: &[u8]) -> i64 {
    match ks.db(ctx.client.db).get(key, ctx.now_ms) {
        None => -2,
        Some(e) => match e.expires_at() {
            None => -1,
            Some(at) => (at as i64 - ctx.now_ms as i64).max(0),
        },
    }
}

/// ```text
/// TTL key
/// ```
/// Seconds to live (rounded), -1 without expiry, -2 without key.
fn ttl(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let ms = ttl_ms(ctx, ks, &args[1]);
    ctx.out.int(if ms < 0 { ms } else { (ms + 500) / 1000 });
    Ok(())
}

/// ```text
/// PTTL key
/// ```
/// Milliseconds to live, -1 without expiry, -2 without key.
fn pttl(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let ms = ttl_ms(ctx, ks, &args[1]);
    ctx.out.int(ms);
    Ok(())
}

/// ```text
/// PERSIST key
/// ```
/// 1 if an expiry was removed, else 0.
fn persist(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let removed = ks.db_mut(ctx.client.db).persist(&args[1], ctx.now_ms);
    if removed {
        ks.dirty += 1;
    }
    ctx.out.int(i64::from(removed));
    Ok(())
}

/// ```text
/// DBSIZE
/// ```
fn dbsize(ctx: &mut Ctx, ks: &Keyspace, _args: &Args) -> CmdResult {
    ctx.out.int(ks.db(ctx.client.db).len() as i64);
    Ok(())
}

/// Checks FLUSHDB/FLUSHALL's optional `ASYNC|SYNC` (both flush at once here).
fn flush_mode(args: &Args) -> CmdResult {
    match args.len() {
        1 => Ok(()),
        2 if is(&args[1], "sync") || is(&args[1], "async") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

/// ```text
/// FLUSHDB [ASYNC|SYNC]
/// ```
fn flushdb(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    flush_mode(args)?;
    let n = ks.db(ctx.client.db).len() as u64;
    ks.db_mut(ctx.client.db).clear();
    ks.dirty += n;
    ctx.out.ok();
    Ok(())
}

/// ```text
/// FLUSHALL [ASYNC|SYNC]
/// ```
/// As in Redis, when save points are configured the (now empty) dataset is saved at
/// once, so a restart does not bring the flushed keys back.
fn flushall(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    flush_mode(args)?;
    ks.flush_all();
    ks.dirty += 1;
    if !ctx.server.config().save.is_empty() {
        // A failed save is logged by the saver; FLUSHALL itself still succeeds, as in Redis.
        let _ = crate::persist::save::save(ctx.server, ks);
    }
    ctx.out.ok();
    Ok(())
}
