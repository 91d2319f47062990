//! Generic key commands (Redis's db.c, expire.c and object.c): DEL, UNLINK, EXISTS,
//! TOUCH, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, COPY, MOVE, the EXPIRE family,
//! TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST, OBJECT, the whole-database DBSIZE,
//! FLUSHDB, FLUSHALL and SWAPDB. SORT lives in [`super::sort`]; WAIT in [`super::sync`].
//!
//! Choices where redlite cannot do what Redis does:
//!
//! - **RANDOMKEY** draws with a [`Rng`] per worker thread, seeded from the clock and a
//!   counter. A worker serves one connection at a time, so in effect each connection has
//!   its own generator, and RANDOMKEY needs only the read lock.
//! - **OBJECT ENCODING and REFCOUNT** are derived from the value and two bits of its
//!   history ([`crate::store::StrOrigin`]); whether small integers are shared follows the
//!   eviction policy now, where Redis decides when the value is written.
//! - **SCAN** walks our table with Redis's reverse-binary cursor ([`scan_step`],
//!   [`parse_cursor`] and [`parse_scan_options`] are shared with the future HSCAN, SSCAN
//!   and ZSCAN), so cursors and the order of keys differ from Redis's, never the
//!   guarantee.

use super::{count_lookup, int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::{Args, Reply};
use crate::store::class::GENERIC;
use crate::store::table::{Keyed, Table};
use crate::store::{Db, Entry, Keyspace};
use crate::util::rand::with_thread_rng;
use crate::util::{c_str, glob};

pub const COMMANDS: &[Command] = &[
    Command::new("del", Handler::Write(del)),
    Command::new("exists", Handler::Read(exists)),
    Command::new("type", Handler::Read(type_)),
    Command::new("keys", Handler::Read(keys)),
    Command::new("expire", Handler::Write(expire)),
    Command::new("pexpire", Handler::Write(pexpire)),
    Command::new("expireat", Handler::Write(expireat)),
    Command::new("pexpireat", Handler::Write(pexpireat)),
    Command::new("ttl", Handler::Read(ttl)),
    Command::new("pttl", Handler::Read(pttl)),
    Command::new("persist", Handler::Write(persist)),
    Command::new("dbsize", Handler::Read(dbsize)),
    Command::new("flushdb", Handler::Write(flushdb)),
    Command::new("flushall", Handler::Write(flushall)),
    Command::new("unlink", Handler::Write(unlink)),
    Command::new("touch", Handler::Read(touch)),
    Command::new("rename", Handler::Write(rename)),
    Command::new("renamenx", Handler::Write(renamenx)),
    Command::new("copy", Handler::Write(copy)),
    Command::new("move", Handler::Write(move_)),
    Command::new("swapdb", Handler::Write(swapdb)),
    Command::new("randomkey", Handler::Read(randomkey)),
    Command::new("scan", Handler::Read(scan)),
    Command::new("expiretime", Handler::Read(expiretime)),
    Command::new("pexpiretime", Handler::Read(pexpiretime)),
    Command::container("object", Handler::Container, OBJECT),
];

const OBJECT: &[Command] = &[
    Command::sub("object", "encoding", Handler::Read(object_encoding)),
    Command::sub("object", "freq", Handler::Read(object_freq)),
    Command::sub("object", "idletime", Handler::Read(object_idletime)),
    Command::sub("object", "refcount", Handler::Read(object_refcount)),
    Command::sub("object", "help", Handler::Plain(object_help)),
];

/// The shared body of DEL and UNLINK (Redis's `delGenericCommand`): how many keys were
/// removed. Each fires `del`; the command is replayed as given (DEL stays DEL under
/// `lazyfree-lazy-user-del`, as in Redis). UNLINK, and DEL under that setting, leave
/// big values to the lazy-free thread.
fn del_generic(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, unlink: bool) -> CmdResult {
    let dbi = ctx.client.db;
    let lazily = unlink || ks.lazy_user_del;
    let mut removed = 0;
    for key in args.iter().skip(1) {
        if let Some(entry) = ks.db_mut(dbi).remove(key, ctx.now_ms) {
            if lazily {
                crate::lazyfree::free(entry, crate::lazyfree::Reason::User);
            }
            ks.changed(GENERIC, "del", dbi, key);
            ks.dirty += 1;
            removed += 1;
        }
    }
    ctx.out.int(removed);
    Ok(())
}

/// ```text
/// DEL key [key ...]
/// ```
/// How many keys were removed.
fn del(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    del_generic(ctx, ks, args, false)
}

/// ```text
/// UNLINK key [key ...]
/// ```
/// How many keys were removed; big values are freed in the background.
fn unlink(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    del_generic(ctx, ks, args, true)
}

/// How many of the keys in `args[1..]` are live, a repeated key counting each time (the
/// body of EXISTS and TOUCH). Each lookup counts as a keyspace hit or miss.
fn count_live(ctx: &mut Ctx, ks: &Keyspace, args: &Args, touch: bool) -> CmdResult {
    let db = ks.db(ctx.client.db);
    let mut n = 0;
    for k in args.iter().skip(1) {
        let live = match touch {
            true => db.get(k, ctx.now_ms).is_some(),
            false => db.peek(k, ctx.now_ms).is_some(),
        };
        count_lookup(ctx, live);
        n += i64::from(live);
    }
    ctx.out.int(n);
    Ok(())
}

/// ```text
/// EXISTS key [key ...]
/// ```
/// How many of the keys exist, a repeated key counting each time.
fn exists(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    count_live(ctx, ks, args, false)
}

/// ```text
/// TOUCH key [key ...]
/// ```
/// How many of the keys exist; each one's access clock is updated.
fn touch(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    count_live(ctx, ks, args, true)
}

/// ```text
/// TYPE key
/// ```
/// `string`, `list`... or `none`.
fn type_(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let entry = ks.db(ctx.client.db).peek(&args[1], ctx.now_ms);
    count_lookup(ctx, entry.is_some());
    ctx.out.simple(entry.map_or("none", |e| e.type_name()));
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
/// seconds. A time already past ([`Ctx::already_expired`]) deletes the key, replayed as
/// DEL (UNLINK under `lazyfree-lazy-expire`); otherwise the command is replayed as
/// PEXPIREAT with the absolute time in ms, its options kept.
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
    let (dbi, key) = (ctx.client.db, &args[1]);
    if ctx.already_expired(when) {
        db.remove(key, ctx.now_ms);
        ks.dirty += 1;
        let del: &[u8] = if ks.lazy_expire() { b"UNLINK" } else { b"DEL" };
        ks.rewrite(&[del, key]);
        ks.changed(GENERIC, "del", dbi, key);
    } else {
        db.set_expiry(key, when as u64, ctx.now_ms);
        // PEXPIREAT itself is replayed as given; the others get its name and, unless
        // their time was already absolute ms, the computed one.
        if base_ms != 0 || unit != 1 {
            let when = when.to_string();
            let mut words: Vec<&[u8]> = args.iter().collect();
            words[0] = b"PEXPIREAT";
            words[2] = when.as_bytes();
            ks.rewrite(&words);
        }
        ks.changed(GENERIC, "expire", dbi, key);
        ks.dirty += 1;
    }
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

/// The remaining time to live in ms: -2 for no key, -1 for no expiry. The lookup counts
/// as a keyspace hit or miss.
fn ttl_ms(ctx: &mut Ctx, ks: &Keyspace, key: &[u8]) -> i64 {
    let entry = ks.db(ctx.client.db).peek(key, ctx.now_ms);
    count_lookup(ctx, entry.is_some());
    match entry {
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

/// The absolute expiry in ms: -2 for no key, -1 for no expiry. The lookup counts as a
/// keyspace hit or miss.
fn expiry_ms(ctx: &mut Ctx, ks: &Keyspace, key: &[u8]) -> i64 {
    let entry = ks.db(ctx.client.db).peek(key, ctx.now_ms);
    count_lookup(ctx, entry.is_some());
    match entry {
        None => -2,
        Some(e) => e.expires_at().map_or(-1, |at| at as i64),
    }
}

/// ```text
/// EXPIRETIME key
/// ```
/// The expiry as a Unix time in seconds (rounded), -1 without expiry, -2 without key.
fn expiretime(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let ms = expiry_ms(ctx, ks, &args[1]);
    // Redis computes (ms + 500) / 1000 without overflowing near i64::MAX.
    let secs = if ms < 0 {
        ms
    } else {
        ((i128::from(ms) + 500) / 1000) as i64
    };
    ctx.out.int(secs);
    Ok(())
}

/// ```text
/// PEXPIRETIME key
/// ```
/// The expiry as a Unix time in milliseconds, -1 without expiry, -2 without key.
fn pexpiretime(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let ms = expiry_ms(ctx, ks, &args[1]);
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
        ks.changed(GENERIC, "persist", ctx.client.db, &args[1]);
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

/// FLUSHDB/FLUSHALL's optional `ASYNC|SYNC`: whether to leave the keys to the
/// lazy-free thread (without either, `lazyfree-lazy-user-flush` decides).
fn flush_async(ctx: &Ctx, args: &Args) -> Result<bool, CmdError> {
    match args.len() {
        1 => Ok(ctx.server.config().is_yes("lazyfree-lazy-user-flush")),
        2 if is(&args[1], "sync") => Ok(false),
        2 if is(&args[1], "async") => Ok(true),
        _ => Err(CmdError::Syntax),
    }
}

/// Replays a FLUSHDB or FLUSHALL as given even if it removed nothing (Redis's
/// `forceCommandPropagation`), and invalidates every key tracking clients cached.
fn flush_effects(ctx: &Ctx, ks: &mut Keyspace, args: &Args) {
    ks.flushed();
    let words: Vec<&[u8]> = args.iter().collect();
    ks.propagate(ctx.client.db, &words);
    ks.prevent_propagation();
}

/// ```text
/// FLUSHDB [ASYNC|SYNC]
/// ```
fn flushdb(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let lazily = flush_async(ctx, args)?;
    let n = ks.db(ctx.client.db).len() as u64;
    if lazily {
        ks.flush_db_lazily(ctx.client.db);
    } else {
        ks.db_mut(ctx.client.db).clear();
    }
    ks.dirty += n;
    flush_effects(ctx, ks, args);
    ctx.out.ok();
    Ok(())
}

/// ```text
/// FLUSHALL [ASYNC|SYNC]
/// ```
/// As in Redis, when save points are configured the (now empty) dataset is saved at
/// once, so a restart does not bring the flushed keys back.
fn flushall(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    if flush_async(ctx, args)? {
        ks.flush_all_lazily();
    } else {
        ks.flush_all();
    }
    ks.dirty += 1;
    flush_effects(ctx, ks, args);
    if !ctx.server.config().save.is_empty() {
        // A failed save is logged by the saver; FLUSHALL itself still succeeds, as in Redis.
        let _ = crate::persist::save::save(ctx.server, ks);
    }
    ctx.out.ok();
    Ok(())
}

// RENAME, COPY, MOVE and SWAPDB.

/// A database number argument (MOVE, COPY ... DB): an integer within C's `int`, then an
/// existing database, with Redis's two error texts.
fn db_index_arg(ks: &Keyspace, arg: &[u8]) -> Result<usize, CmdError> {
    let n = int_arg(arg)?;
    if i32::try_from(n).is_err() {
        return Err(CmdError::err(format!(
            "value is out of range, value must between {} and {}",
            i32::MIN,
            i32::MAX
        )));
    }
    match usize::try_from(n) {
        Ok(i) if i < ks.db_count() => Ok(i),
        _ => Err(CmdError::OutOfRange("DB index")),
    }
}

/// Redis's `shared.sameobjecterr`.
fn same_object() -> CmdError {
    CmdError::err("source and destination objects are the same")
}

/// Adds `entry` to database `db` and, when it brings a list or a sorted set to a key
/// some client is blocked on, records the key as ready (Redis's `dbAdd` signals it).
fn add_entry(ks: &mut Keyspace, db: usize, entry: Entry) {
    let wakes = entry.list().is_some() || entry.zset().is_some();
    let key: Option<Box<[u8]>> = wakes.then(|| entry.key().into());
    ks.db_mut(db).insert(entry);
    if let Some(key) = key {
        ks.signal_ready(db, &key);
    }
}

/// The shared body of RENAME and RENAMENX (Redis's `renameGenericCommand`). The value
/// keeps its expiry; renaming a key to itself only checks that it exists. Both keys are
/// modified, firing `rename_from` and `rename_to` (and `new` for the destination, which
/// Redis re-adds even when it overwrites).
fn rename_generic(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, nx: bool) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let dbi = ctx.client.db;
    let db = ks.db_mut(dbi);
    if db.get_mut(src, ctx.now_ms).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        match nx {
            true => ctx.out.int(0),
            false => ctx.out.ok(),
        }
        return Ok(());
    }
    // Looked up for writing either way: an expired destination goes first.
    if db.get_mut(dst, ctx.now_ms).is_some() && nx {
        ctx.out.int(0);
        return Ok(());
    }
    let entry = db
        .remove(src, ctx.now_ms)
        .expect("the key was just found")
        .rekeyed(dst);
    add_entry(ks, dbi, entry);
    ks.touched(dbi, src);
    ks.touched(dbi, dst);
    ks.notify(GENERIC, "rename_from", dbi, src);
    ks.notify(GENERIC, "rename_to", dbi, dst);
    ks.dirty += 1;
    match nx {
        true => ctx.out.int(1),
        false => ctx.out.ok(),
    }
    Ok(())
}

/// ```text
/// RENAME key newkey
/// ```
/// OK; an existing newkey is overwritten. `ERR no such key` without key.
fn rename(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    rename_generic(ctx, ks, args, false)
}

/// ```text
/// RENAMENX key newkey
/// ```
/// 1 if renamed, 0 if newkey exists. `ERR no such key` without key.
fn renamenx(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    rename_generic(ctx, ks, args, true)
}

/// ```text
/// COPY source destination [DB destination-db] [REPLACE]
/// ```
/// 1 if copied (value and expiry), 0 if the source is missing or the destination exists
/// without REPLACE.
fn copy(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let src_db = ctx.client.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < args.len() {
        if is(&args[j], "replace") {
            replace = true;
        } else if is(&args[j], "db") && j + 1 < args.len() {
            dst_db = db_index_arg(ks, &args[j + 1])?;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let (src, dst) = (&args[1], &args[2]);
    if src_db == dst_db && src == dst {
        return Err(same_object());
    }
    let found = ks
        .db_mut(src_db)
        .lookup_read(src, ctx.expiry_now())
        .is_some();
    count_lookup(ctx, found);
    if !found {
        ctx.out.int(0);
        return Ok(());
    }
    if ks.db_mut(dst_db).get_mut(dst, ctx.now_ms).is_some() && !replace {
        ctx.out.int(0);
        return Ok(());
    }
    let copy = ks
        .db_mut(src_db)
        .get_mut(src, ctx.now_ms)
        .expect("the key was just found")
        .duplicate(dst);
    add_entry(ks, dst_db, copy);
    ks.touched(dst_db, dst);
    ks.notify(GENERIC, "copy_to", dst_db, dst);
    ks.dirty += 1;
    ctx.out.int(1);
    Ok(())
}

/// ```text
/// MOVE key db
/// ```
/// 1 if moved (value and expiry), 0 if the key is missing here or exists there.
fn move_(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let dst_db = db_index_arg(ks, &args[2])?;
    let src_db = ctx.client.db;
    if src_db == dst_db {
        return Err(same_object());
    }
    let key = &args[1];
    if ks.db_mut(src_db).get_mut(key, ctx.now_ms).is_none()
        || ks.db_mut(dst_db).get_mut(key, ctx.now_ms).is_some()
    {
        ctx.out.int(0);
        return Ok(());
    }
    let entry = ks
        .db_mut(src_db)
        .remove(key, ctx.now_ms)
        .expect("the key was just found");
    add_entry(ks, dst_db, entry);
    ks.touched(src_db, key);
    ks.touched(dst_db, key);
    ks.notify(GENERIC, "move_from", src_db, key);
    ks.notify(GENERIC, "move_to", dst_db, key);
    ks.dirty += 1;
    ctx.out.int(1);
    Ok(())
}

/// ```text
/// SWAPDB index1 index2
/// ```
/// OK; clients see the other database's data under the same number at once. As in
/// Redis, no key counts as modified and no event fires (client-side caching is not
/// invalidated); the command is replayed as given.
fn swapdb(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let index = |arg: &[u8], which: &str| {
        crate::util::num::parse_i64(arg)
            .filter(|n| i32::try_from(*n).is_ok())
            .ok_or_else(|| CmdError::err(format!("invalid {which} DB index")))
    };
    let a = index(&args[1], "first")?;
    let b = index(&args[2], "second")?;
    let n = ks.db_count() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return Err(CmdError::OutOfRange("DB index"));
    }
    ks.swap_dbs(a as usize, b as usize);
    ks.dirty += 1;
    ctx.out.ok();
    Ok(())
}

// RANDOMKEY and SCAN.

/// ```text
/// RANDOMKEY
/// ```
/// A random live key, or nil when the database has none.
fn randomkey(ctx: &mut Ctx, ks: &Keyspace, _args: &Args) -> CmdResult {
    let db = ks.db(ctx.client.db);
    let now = ctx.now_ms;
    match with_thread_rng(|rng| db.random_key(rng, now)) {
        Some(key) => ctx.out.bulk(key),
        None => ctx.out.null(),
    }
    Ok(())
}

/// Parses a SCAN-family cursor as Redis's `parseScanCursorOrReply` does with C's
/// `strtoul`: an optional sign (a negative number wraps around), decimal digits up to
/// `u64::MAX`, nothing else; the empty string is cursor 0, and a NUL byte ends the
/// string early as it does for C. `ERR invalid cursor` otherwise.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::err("invalid cursor");
    let s = c_str(arg);
    if s.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// The options of the SCAN family, as Redis's `scanGenericCommand` parses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions<'a> {
    /// How many elements to aim for (COUNT, default 10).
    pub count: usize,
    /// MATCH's glob; `None` when absent or `*`.
    pub pattern: Option<&'a [u8]>,
    /// TYPE's name (SCAN only), compared ignoring case.
    pub type_name: Option<&'a [u8]>,
}

/// Parses `[MATCH pattern] [COUNT count] [TYPE type]` from `args[from..]`, any order,
/// the last of a repeated option winning. TYPE is accepted only when `allow_type` (SCAN,
/// not HSCAN, SSCAN or ZSCAN). A COUNT below 1 and anything unknown or missing its value
/// is a syntax error.
pub fn parse_scan_options(
    args: &Args,
    from: usize,
    allow_type: bool,
) -> Result<ScanOptions<'_>, CmdError> {
    let mut opts = ScanOptions {
        count: 10,
        pattern: None,
        type_name: None,
    };
    let mut i = from;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if is(&args[i], "count") && has_value {
            let n = int_arg(&args[i + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if is(&args[i], "match") && has_value {
            let p = &args[i + 1];
            opts.pattern = (p != b"*").then_some(p);
        } else if is(&args[i], "type") && allow_type && has_value {
            opts.type_name = Some(&args[i + 1]);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(opts)
}

/// One call of a SCAN-family command over any table: the next cursor and the elements
/// visited, before any filtering (see [`Table::scan_count`]).
pub fn scan_step<T: Keyed>(table: &Table<T>, cursor: u64, count: usize) -> (u64, Vec<&T>) {
    let mut found = Vec::new();
    let next = table.scan_count(cursor, count, |item| found.push(item));
    (next, found)
}

/// Writes a SCAN-family reply: the next cursor as a bulk string, then the elements.
pub fn write_scan_reply(out: &mut Reply, cursor: u64, items: &[&[u8]]) {
    out.array(2);
    out.bulk(cursor.to_string().as_bytes());
    out.array(items.len());
    for item in items {
        out.bulk(item);
    }
}

/// ```text
/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
/// ```
/// The next cursor (0 when the iteration is complete) and some keys. A full iteration
/// returns every key present from its start to its end at least once, whatever is added,
/// removed or resized meanwhile. Filters apply after the keys are collected, so a call
/// may return none while the iteration goes on; expired keys are skipped.
fn scan(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let cursor = parse_cursor(&args[1])?;
    let opts = parse_scan_options(args, 2, true)?;
    let db = ks.db(ctx.client.db);
    let mut found: Vec<&Entry> = Vec::new();
    let next = db.scan(cursor, opts.count, |e| found.push(e));
    let mut keys: Vec<&[u8]> = Vec::with_capacity(found.len());
    for e in found {
        if scan_keeps(ctx, db, e, &opts) {
            keys.push(e.key());
        }
    }
    write_scan_reply(ctx.out, next, &keys);
    Ok(())
}

/// SCAN's filters, in Redis's order: the pattern, the type, then expiry.
fn scan_keeps(ctx: &mut Ctx, db: &Db, e: &Entry, opts: &ScanOptions) -> bool {
    if opts
        .pattern
        .is_some_and(|p| !glob::matches(p, e.key(), false))
    {
        return false;
    }
    let Some(wanted) = opts.type_name else {
        // Redis's expiry check, which notes an expired key for removal (Redis deletes
        // it here) but counts no lookup.
        return db.get_quietly(e.key(), ctx.now_ms).is_some();
    };
    // The type comes from a read lookup without touching the key (Redis's
    // `LOOKUP_NOTOUCH`): a hit or miss, and for an expired key a `keymiss`.
    let live = db.peek(e.key(), ctx.now_ms).is_some();
    count_lookup(ctx, live);
    let name = if live { e.type_name() } else { "none" };
    // Redis's type lookup has just deleted an expired key, so its expiry check that
    // follows no longer sees it: `TYPE none` returns expired keys.
    c_str(wanted).eq_ignore_ascii_case(name.as_bytes())
}

// OBJECT.

/// What the eviction settings decide for OBJECT: (whether an LFU policy is selected,
/// whether small integers are shared objects).
fn eviction_flags(ctx: &Ctx) -> (bool, bool) {
    let memory = &ctx.server.memory;
    let policy = memory.policy();
    (
        policy.is_lfu(),
        memory.maxmemory() == 0 || policy.shares_integers(),
    )
}

/// The entry OBJECT looks at; a nil reply (and `None`) when there is none. A miss fires
/// no `keymiss` (Redis's `objectCommandLookup` passes `LOOKUP_NONOTIFY`), but the
/// lookup counts as a keyspace hit or miss (it does not pass `LOOKUP_NOSTATS`).
fn object_lookup<'a>(ctx: &mut Ctx, ks: &'a Keyspace, key: &[u8]) -> Option<&'a Entry> {
    let entry = ks.db(ctx.client.db).get_quietly(key, ctx.now_ms);
    count_lookup(ctx, entry.is_some());
    if entry.is_none() {
        ctx.out.null();
    }
    entry
}

/// ```text
/// OBJECT ENCODING key
/// ```
/// `int`, `embstr` or `raw` for a string, `quicklist` for a list; nil without key.
fn object_encoding(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    if let Some(e) = object_lookup(ctx, ks, &args[2]) {
        ctx.out.bulk(e.encoding().as_bytes());
    }
    Ok(())
}

/// ```text
/// OBJECT REFCOUNT key
/// ```
/// 2147483647 for a shared small integer, else 1; nil without key.
fn object_refcount(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let (_, shared) = eviction_flags(ctx);
    if let Some(e) = object_lookup(ctx, ks, &args[2]) {
        ctx.out.int(e.refcount(shared));
    }
    Ok(())
}

/// ```text
/// OBJECT IDLETIME key
/// ```
/// Seconds since the key was last read or written (OBJECT, TYPE, TTL and EXISTS do not
/// count). An error under an LFU policy, as in Redis; nil without key.
fn object_idletime(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let (lfu, _) = eviction_flags(ctx);
    if let Some(e) = object_lookup(ctx, ks, &args[2]) {
        if lfu {
            return Err(CmdError::err(
                "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ));
        }
        let idle = crate::store::clock::idle_ms(e.clock_bits()) / 1000;
        ctx.out.int(idle as i64);
    }
    Ok(())
}

/// ```text
/// OBJECT FREQ key
/// ```
/// The key's logarithmic access counter, decayed to now (Redis's `LFUDecrAndReturn`).
/// An error unless an LFU policy is selected, as in Redis; nil without key.
fn object_freq(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let (lfu, _) = eviction_flags(ctx);
    if let Some(e) = object_lookup(ctx, ks, &args[2]) {
        if !lfu {
            return Err(CmdError::err(
                "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ));
        }
        let clock = ks.db(ctx.client.db).clock();
        ctx.out.int(i64::from(clock.decayed(e.clock_bits())));
    }
    Ok(())
}

/// ```text
/// OBJECT HELP
/// ```
/// Redis's own help text for OBJECT.
fn object_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    const LINES: &[&str] = &[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    super::reply_lines(ctx.out, LINES);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientHandle, ClientState};
    use crate::command::testing::{strs, Session};
    use crate::config::Config;
    use crate::state::Server;
    use crate::store::blocking::{Attempt, WaitState, Waiter};
    use crate::store::Store;
    use std::sync::Arc;

    /// Runs `commands` through the dispatcher on a server of 16 empty databases, with a
    /// client blocked on `key` of `db`; returns whether that client was woken, and
    /// the last reply.
    fn wakes(db: usize, key: &[u8], commands: &[&[&str]]) -> (bool, String) {
        let server = Server::new(Config::default(), Store::new(16), 0);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let handle = Arc::new(ClientHandle::new(1, stream).unwrap());
        let mut client = ClientState::new(handle);
        let waiter = Waiter::new(Box::new(|_, _, _, _| Attempt::Served(Vec::new())));
        server.store.write().blocked.block(db, [key], &waiter);
        let mut out = Reply::new();
        for args in commands {
            out.clear();
            let mut ctx = Ctx {
                server: &server,
                client: &mut client,
                out: &mut out,
                now_ms: crate::util::now_ms(),
            };
            super::super::execute(&mut ctx, &Args::from_slices(args));
        }
        let woken = matches!(waiter.finish(), WaitState::Served(_));
        (woken, String::from_utf8_lossy(out.as_bytes()).into_owned())
    }

    #[test]
    fn lists_arriving_at_a_key_wake_its_blocked_clients() {
        let push: &[&str] = &["RPUSH", "src", "x"];
        let cases: &[(usize, &[&[&str]], &str)] = &[
            (0, &[push, &["RENAME", "src", "k"]], "+OK\r\n"),
            (0, &[push, &["RENAMENX", "src", "k"]], ":1\r\n"),
            (0, &[push, &["COPY", "src", "k"]], ":1\r\n"),
            (3, &[push, &["COPY", "src", "k", "DB", "3"]], ":1\r\n"),
            (3, &[&["RPUSH", "k", "x"], &["MOVE", "k", "3"]], ":1\r\n"),
            // Sorted sets too (BZPOPMIN waits on them).
            (
                0,
                &[&["ZADD", "src", "1", "m"], &["RENAME", "src", "k"]],
                "+OK\r\n",
            ),
            (
                0,
                &[&["ZADD", "src", "1", "m"], &["COPY", "src", "k"]],
                ":1\r\n",
            ),
            (
                3,
                &[&["ZADD", "k", "1", "m"], &["MOVE", "k", "3"]],
                ":1\r\n",
            ),
            (
                0,
                &[push, &["SORT", "src", "ALPHA", "STORE", "k"]],
                ":1\r\n",
            ),
            (
                5,
                &[
                    &["SELECT", "2"],
                    &["RPUSH", "k", "x"],
                    &["SWAPDB", "2", "5"],
                ],
                "+OK\r\n",
            ),
        ];
        for (db, commands, reply) in cases {
            assert_eq!(
                wakes(*db, b"k", commands),
                (true, reply.to_string()),
                "{commands:?}"
            );
        }
        // Strings, and lists elsewhere, wake nobody.
        let quiet: &[(usize, &[&[&str]])] = &[
            (0, &[&["SET", "src", "x"], &["RENAME", "src", "k"]]),
            (0, &[push, &["RENAME", "src", "other"]]),
            (1, &[push, &["RENAME", "src", "k"]]),
            (
                0,
                &[push, &["SORT", "src", "LIMIT", "0", "0", "STORE", "k"]],
            ),
        ];
        for (db, commands) in quiet {
            assert!(!wakes(*db, b"k", commands).0, "{commands:?}");
        }
    }

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"+7"), Ok(7));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"-18446744073709551615"), Ok(1));
        assert_eq!(parse_cursor(b"12\0junk"), Ok(12));
        for bad in [
            &b"18446744073709551616"[..],
            b" 1",
            b"1 ",
            b"x",
            b"-",
            b"+",
            b"1.5",
            b"0x10",
            b"+-1",
        ] {
            assert_eq!(
                parse_cursor(bad),
                Err(CmdError::err("invalid cursor")),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn scan_options() {
        let args = Args::from_slices(&["scan", "0", "MATCH", "a*", "count", "3", "TYPE", "list"]);
        let o = parse_scan_options(&args, 2, true).unwrap();
        assert_eq!(
            (o.count, o.pattern, o.type_name),
            (3, Some(&b"a*"[..]), Some(&b"list"[..]))
        );
        let args = Args::from_slices(&["scan", "0", "match", "*"]);
        assert_eq!(parse_scan_options(&args, 2, true).unwrap().pattern, None);
        let syntax = |parts: &[&str], allow_type| {
            parse_scan_options(&Args::from_slices(parts), 2, allow_type).err()
        };
        assert_eq!(
            syntax(&["scan", "0", "count", "0"], true),
            Some(CmdError::Syntax)
        );
        assert_eq!(
            syntax(&["scan", "0", "count"], true),
            Some(CmdError::Syntax)
        );
        assert_eq!(
            syntax(&["scan", "0", "count", "x"], true),
            Some(CmdError::NotInteger)
        );
        assert_eq!(
            syntax(&["hscan", "0", "type", "x"], false),
            Some(CmdError::Syntax)
        );
    }

    /// A session whose clock stands at 1,000,000 ms.
    fn session() -> Session {
        let mut s = Session::new();
        s.now_ms = Some(1_000_000);
        s
    }

    #[test]
    fn del_and_unlink_fire_del_per_key_and_replay_as_given() {
        let mut s = session();
        s.run(&["MSET", "a", "1", "b", "2", "c", "3"]);
        let (reply, ev, prop) = s.check(&["DEL", "a", "nokey", "b"]);
        assert_eq!(reply, ":2\r\n");
        assert_eq!(ev, strs(&["del a", "del b"]));
        assert_eq!(prop, strs(&["DEL a nokey b"]));
        let (_, ev, prop) = s.check(&["DEL", "a", "nokey"]);
        assert!(ev.is_empty() && prop.is_empty(), "nothing deleted");
        s.run(&["CONFIG", "SET", "lazyfree-lazy-user-del", "yes"]);
        let (_, ev, prop) = s.check(&["del", "c"]);
        assert_eq!((ev, prop), (strs(&["del c"]), strs(&["del c"])));
        s.run(&["SET", "u", "1", "PX", "10"]);
        s.run(&["SET", "v", "1"]);
        s.now_ms = Some(1_000_011);
        let (reply, ev, prop) = s.check(&["UNLINK", "u", "v"]);
        assert_eq!(reply, ":1\r\n");
        assert_eq!(ev, strs(&["expired u", "del v"]));
        assert_eq!(prop, strs(&["MULTI", "DEL u", "UNLINK u v", "EXEC"]));
        s.run(&["SET", "u", "1", "PX", "10"]);
        s.now_ms = Some(1_000_022);
        let (reply, ev, prop) = s.check(&["DEL", "u"]);
        assert_eq!(reply, ":0\r\n");
        assert_eq!(
            (ev, prop),
            (strs(&["expired u"]), strs(&["DEL u"])),
            "only the expiry is replayed"
        );
    }

    #[test]
    fn the_expire_family_replays_as_pexpireat_or_del() {
        let mut s = session();
        s.run(&["SET", "k", "v"]);
        let (_, ev, prop) = s.check(&["EXPIRE", "k", "100"]);
        assert_eq!(ev, strs(&["expire k"]));
        assert_eq!(prop, strs(&["PEXPIREAT k 1100000"]));
        let (reply, ev, prop) = s.check(&["EXPIRE", "k", "100", "NX"]);
        assert_eq!(reply, ":0\r\n");
        assert!(ev.is_empty() && prop.is_empty(), "refused by NX");
        let (_, ev, prop) = s.check(&["pexpire", "k", "200000", "xx"]);
        assert_eq!(ev, strs(&["expire k"]));
        assert_eq!(prop, strs(&["PEXPIREAT k 1200000 xx"]), "options kept");
        let (_, ev, prop) = s.check(&["PEXPIRE", "k", "5000", "GT"]);
        assert!(ev.is_empty() && prop.is_empty(), "refused by GT");
        let (_, _, prop) = s.check(&["EXPIREAT", "k", "1300", "gt"]);
        assert_eq!(prop, strs(&["PEXPIREAT k 1300000 gt"]));
        let (_, _, prop) = s.check(&["pexpireat", "k", "1250000", "LT"]);
        assert_eq!(prop, strs(&["pexpireat k 1250000 LT"]), "replayed as given");
        let (_, ev, prop) = s.check(&["EXPIRE", "nokey", "10"]);
        assert!(ev.is_empty() && prop.is_empty());
        let (reply, ev, prop) = s.check(&["EXPIRE", "k", "-1"]);
        assert_eq!(reply, ":1\r\n");
        assert_eq!((ev, prop), (strs(&["del k"]), strs(&["DEL k"])));
        s.run(&["SET", "k", "v"]);
        s.run(&["CONFIG", "SET", "lazyfree-lazy-expire", "yes"]);
        let (_, ev, prop) = s.check(&["PEXPIREAT", "k", "1000000"]);
        assert_eq!((ev, prop), (strs(&["del k"]), strs(&["UNLINK k"])));
        // An expired key is not there to set a timeout on.
        s.run(&["SET", "k", "v", "PX", "10"]);
        s.now_ms = Some(1_000_011);
        let (reply, ev, prop) = s.check(&["EXPIRE", "k", "10"]);
        assert_eq!(reply, ":0\r\n");
        assert_eq!((ev, prop), (strs(&["expired k"]), strs(&["UNLINK k"])));
    }

    #[test]
    fn persist_fires_only_when_a_timeout_goes() {
        let mut s = session();
        s.run(&["SET", "k", "v", "EX", "100"]);
        let (_, ev, prop) = s.check(&["PERSIST", "k"]);
        assert_eq!((ev, prop), (strs(&["persist k"]), strs(&["PERSIST k"])));
        let (reply, ev, prop) = s.check(&["PERSIST", "k"]);
        assert_eq!(reply, ":0\r\n");
        assert!(ev.is_empty() && prop.is_empty());
        let (_, ev, prop) = s.check(&["PERSIST", "nokey"]);
        assert!(ev.is_empty() && prop.is_empty());
    }

    #[test]
    fn flushes_invalidate_everything_and_always_replay() {
        let mut s = session();
        s.run(&["SET", "k", "v"]);
        for cmd in [&["FLUSHDB"][..], &["FLUSHDB"], &["flushdb", "async"]] {
            let (reply, ev, prop) = s.check(cmd);
            assert_eq!(reply, "+OK\r\n");
            assert!(ev.is_empty());
            assert_eq!(prop, vec![cmd.join(" ")], "replayed even when empty");
        }
        // No save points: FLUSHALL would write a dump file.
        s.run(&["CONFIG", "SET", "save", ""]);
        s.run(&["SELECT", "2"]);
        s.run(&["SET", "k", "v"]);
        let (_, ev, prop) = s.check(&["FLUSHALL", "SYNC"]);
        assert!(ev.is_empty());
        assert_eq!(prop, strs(&["SELECT 2", "FLUSHALL SYNC"]));
        let (_, _, prop) = s.check(&["FLUSHALL"]);
        assert_eq!(prop, strs(&["SELECT 2", "FLUSHALL"]));
        let (_, ev, prop) = s.check(&["FLUSHALL", "bad"]);
        assert!(ev.is_empty() && prop.is_empty(), "a syntax error");
    }

    #[test]
    fn flushes_invalidate_every_tracked_key_even_in_an_empty_database() {
        let mut s = session();
        s.run(&["HELLO", "3"]);
        s.run(&["CLIENT", "TRACKING", "ON"]);
        for cmd in [&["FLUSHDB"][..], &["FLUSHALL"]] {
            s.client.tracking.pending.clear();
            s.run(&["CONFIG", "SET", "save", ""]);
            s.run(cmd);
            assert_eq!(
                String::from_utf8_lossy(&s.client.tracking.pending),
                ">2\r\n$10\r\ninvalidate\r\n_\r\n",
                "{cmd:?}"
            );
        }
    }

    #[test]
    fn rename_fires_from_and_to() {
        let mut s = session();
        s.run(&["CONFIG", "SET", "notify-keyspace-events", "KEAn"]);
        s.run(&["SET", "a", "1"]);
        s.run(&["SET", "b", "2"]);
        let (_, ev, prop) = s.check(&["RENAME", "a", "b"]);
        assert_eq!(ev, strs(&["new b", "rename_from a", "rename_to b"]));
        assert_eq!(prop, strs(&["RENAME a b"]));
        let (reply, ev, prop) = s.check(&["RENAMENX", "b", "b"]);
        assert_eq!(reply, ":0\r\n");
        assert!(ev.is_empty() && prop.is_empty());
        let (reply, ev, prop) = s.check(&["RENAME", "b", "b"]);
        assert_eq!(reply, "+OK\r\n");
        assert!(ev.is_empty() && prop.is_empty());
        let (_, ev, prop) = s.check(&["RENAME", "nokey", "b"]);
        assert!(ev.is_empty() && prop.is_empty());
        s.run(&["SET", "c", "3"]);
        let (reply, ev, prop) = s.check(&["RENAMENX", "b", "c"]);
        assert_eq!(reply, ":0\r\n");
        assert!(ev.is_empty() && prop.is_empty());
        let (reply, ev, prop) = s.check(&["RENAMENX", "b", "d"]);
        assert_eq!(reply, ":1\r\n");
        assert_eq!(ev, strs(&["new d", "rename_from b", "rename_to d"]));
        assert_eq!(prop, strs(&["RENAMENX b d"]));
        // An expired destination expires first, for RENAME as for RENAMENX.
        for cmd in ["RENAME", "RENAMENX"] {
            s.run(&["SET", "x", "1", "PX", "10"]);
            s.run(&["SET", "src", "1"]);
            s.now_ms = s.now_ms.map(|t| t + 11);
            let (_, ev, prop) = s.check(&[cmd, "src", "x"]);
            assert_eq!(
                ev,
                strs(&["expired x", "new x", "rename_from src", "rename_to x"])
            );
            assert_eq!(
                prop,
                strs(&["MULTI", "DEL x", &format!("{cmd} src x"), "EXEC"])
            );
        }
    }

    #[test]
    fn move_copy_and_swapdb_report_like_redis() {
        let mut s = session();
        s.run(&["CONFIG", "SET", "notify-keyspace-events", "KEAn"]);
        s.run(&["SET", "k", "v"]);
        let (_, ev, prop) = s.check(&["MOVE", "k", "3"]);
        assert_eq!(ev, strs(&["@3 new k", "move_from k", "@3 move_to k"]));
        assert_eq!(prop, strs(&["MOVE k 3"]));
        s.run(&["SET", "k", "v"]);
        let (reply, ev, prop) = s.check(&["MOVE", "k", "3"]);
        assert_eq!(reply, ":0\r\n");
        assert!(ev.is_empty() && prop.is_empty(), "exists there");
        let (_, ev, prop) = s.check(&["MOVE", "nokey", "3"]);
        assert!(ev.is_empty() && prop.is_empty());

        let (_, ev, prop) = s.check(&["COPY", "k", "c"]);
        assert_eq!(
            (ev, prop),
            (strs(&["new c", "copy_to c"]), strs(&["COPY k c"]))
        );
        let (reply, ev, prop) = s.check(&["COPY", "k", "c"]);
        assert_eq!(reply, ":0\r\n");
        assert!(ev.is_empty() && prop.is_empty());
        let (_, ev, prop) = s.check(&["COPY", "k", "c", "REPLACE"]);
        assert_eq!(ev, strs(&["new c", "copy_to c"]));
        assert_eq!(prop, strs(&["COPY k c REPLACE"]));
        let (_, ev, prop) = s.check(&["COPY", "k", "c", "DB", "4"]);
        assert_eq!(ev, strs(&["@4 new c", "@4 copy_to c"]));
        assert_eq!(prop, strs(&["COPY k c DB 4"]));
        let (_, ev, prop) = s.check(&["COPY", "nokey", "c"]);
        assert!(ev.is_empty() && prop.is_empty());
        s.run(&["SET", "x", "1", "PX", "10"]);
        s.now_ms = Some(1_000_011);
        let (_, ev, prop) = s.check(&["COPY", "k", "x"]);
        assert_eq!(ev, strs(&["expired x", "new x", "copy_to x"]));
        assert_eq!(prop, strs(&["MULTI", "DEL x", "COPY k x", "EXEC"]));

        let (_, ev, prop) = s.check(&["SWAPDB", "0", "1"]);
        assert!(ev.is_empty());
        assert_eq!(prop, strs(&["SWAPDB 0 1"]));
        let (_, ev, prop) = s.check(&["SWAPDB", "1", "1"]);
        assert!(ev.is_empty());
        assert_eq!(prop, strs(&["SWAPDB 1 1"]), "counted even so, as in Redis");
    }

    /// A table element that is not a keyspace entry, as a hash field will be.
    struct Field(Vec<u8>);

    impl Keyed for Field {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    #[test]
    fn scan_step_walks_any_table_and_replies_like_scan() {
        let mut table = Table::new();
        for i in 0..100 {
            table.insert_new(Field(format!("f{i}").into_bytes()));
        }
        let (mut cursor, mut seen, mut calls) = (0, Vec::new(), 0);
        loop {
            let (next, items) = scan_step(&table, cursor, 10);
            assert!(next == 0 || items.len() >= 10);
            seen.extend(items.iter().map(|f| f.0.clone()));
            calls += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!((seen.len(), calls <= 11), (100, true));
        let mut out = Reply::new();
        write_scan_reply(&mut out, 12, &[b"a", b""]);
        assert_eq!(
            out.as_bytes(),
            b"*2\r\n$2\r\n12\r\n*2\r\n$1\r\na\r\n$0\r\n\r\n"
        );
    }
}
