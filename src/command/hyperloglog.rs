//! HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT, PFMERGE, and the
//! debugging commands PFDEBUG and PFSELFTEST. The encodings live in
//! [`crate::store::hll`]; a HyperLogLog is a string value.
//!
//! PFCOUNT is a read-only command that writes: with one key whose cached cardinality is
//! stale, it stores the fresh one in the value, signals the key as modified and counts a
//! change, so that the command is propagated (as in Redis). It therefore first runs under
//! the read lock ([`Handler::ReadFirst`]), which answers a union, a missing key, an error
//! and a valid cache, and only else under the write lock; WATCH, tracking and the
//! replication stream see a PFCOUNT only when it stored a cardinality, as in Redis.

use super::{count_lookup, is, read_key_mut, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::store::class::STRING;
use crate::store::hll::{self, Encoding};
use crate::store::{Db, Entry, Keyspace, StrOrigin, Value};
use crate::util::c_str;

pub const COMMANDS: &[Command] = &[
    Command::new("pfadd", Handler::Write(pfadd)),
    Command::new(
        "pfcount",
        Handler::ReadFirst {
            read: pfcount_read,
            write: pfcount,
        },
    ),
    Command::new("pfmerge", Handler::Write(pfmerge)),
    Command::new("pfdebug", Handler::Write(pfdebug)),
    Command::new("pfselftest", Handler::Plain(pfselftest)),
];

/// `-INVALIDOBJ` for a value whose registers do not add up.
fn corrupt(_: hll::Corrupt) -> CmdError {
    CmdError::Msg(hll::CORRUPT.into())
}

/// The encoding of a string value that must be a HyperLogLog (Redis's
/// `isHLLObjectOrReply`): `WRONGTYPE` for another type, and Redis's own `WRONGTYPE` text
/// for a string that is not a HyperLogLog.
fn check(value: Option<&[u8]>) -> Result<Encoding, CmdError> {
    let bytes = value.ok_or(CmdError::WrongType)?;
    hll::check(bytes).ok_or_else(|| CmdError::Msg(hll::NOT_HLL.into()))
}

/// Merges the registers of every key of `keys` that exists into `max` (one register
/// per byte), as a read of each (Redis's `lookupKeyRead`). Whether one was dense.
fn merge_keys<'a>(
    ctx: &mut Ctx,
    db: &mut Db,
    keys: impl Iterator<Item = &'a [u8]>,
    max: &mut [u8],
) -> Result<bool, CmdError> {
    let mut dense = false;
    for key in keys {
        let found = db.lookup_read(key, ctx.expiry_now()).map(|e| &*e);
        dense |= merge_one(ctx, found, max)?;
    }
    Ok(dense)
}

/// [`merge_keys`]'s step for one key, looked up already (`None`: missing): counts the
/// hit or miss and merges it. Whether it was dense.
fn merge_one(ctx: &mut Ctx, found: Option<&Entry>, max: &mut [u8]) -> Result<bool, CmdError> {
    let Some(entry) = found else {
        count_lookup(ctx, false);
        return Ok(false);
    };
    count_lookup(ctx, true);
    let bytes = entry.str();
    let dense = check(bytes)? == Encoding::Dense;
    hll::merge_into(max, bytes.unwrap_or_default()).map_err(corrupt)?;
    Ok(dense)
}

/// ```text
/// PFADD key [element [element ...]]
/// ```
/// 1 if a register changed (or the key was created), else 0. A change fires `pfadd`.
fn pfadd(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let max_bytes = ctx.server.limits().hll_sparse_bytes;
    let (dbi, key) = (ctx.client.db, &args[1]);
    let mut updated = 0;
    let entry = ks.db_mut(dbi).get_or_insert_with(key, ctx.now_ms, || {
        updated = 1;
        Value::Str(hll::new_sparse())
    });
    let mut s = entry.str_mut().ok_or(CmdError::WrongType)?;
    check(Some(s.get()))?;
    // Redis unshares the value (or creates it) as a raw string whatever happens next.
    s.bytes_mut();
    for ele in args.iter().skip(2) {
        // A corrupt value fails here, keeping the registers already raised, as in Redis.
        if hll::add(&mut s, ele, max_bytes).map_err(corrupt)? {
            updated += 1;
        }
    }
    if updated > 0 {
        hll::invalidate(s.bytes_mut());
        ks.changed(STRING, "pfadd", dbi, key);
        ks.dirty += updated;
    }
    ctx.out.int(i64::from(updated > 0));
    Ok(())
}

/// ```text
/// PFCOUNT key [key ...]
/// ```
/// The estimated cardinality of the union of the keys' sets (a missing key is empty).
/// With one key, the cached value, refreshed if stale.
fn pfcount(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let dbi = ctx.client.db;
    if args.len() > 2 {
        let mut max = vec![0u8; hll::REGISTERS];
        merge_keys(ctx, ks.db_mut(dbi), args.iter().skip(1), &mut max)?;
        ctx.out.int(hll::count_raw(&max) as i64);
        return Ok(());
    }
    let key = &args[1];
    let Some(entry) = read_key_mut(ctx, ks, key) else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut s = entry.str_mut().ok_or(CmdError::WrongType)?;
    check(Some(s.get()))?;
    // Redis unshares the value before it looks at the cache.
    s.bytes_mut();
    if let Some(card) = hll::cached(s.get()) {
        ctx.out.int(card as i64);
        return Ok(());
    }
    let card = hll::count(s.get()).map_err(corrupt)?;
    hll::set_cached(s.bytes_mut(), card);
    // Not a real write, but the value changed: signalled and propagated.
    ks.touched(dbi, key);
    ks.dirty += 1;
    ctx.out.int(card as i64);
    Ok(())
}

/// [`pfcount`] under the read lock: a union (which only reads), a missing key, an error,
/// or a value already unshared whose cached cardinality is valid. `Ok(false)`, with
/// nothing replied or counted, when the value must be unshared or the cache refreshed.
fn pfcount_read(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> Result<bool, CmdError> {
    let db = ks.db(ctx.client.db);
    if args.len() > 2 {
        let mut max = vec![0u8; hll::REGISTERS];
        for key in args.iter().skip(1) {
            merge_one(ctx, db.get(key, ctx.now_ms), &mut max)?;
        }
        ctx.out.int(hll::count_raw(&max) as i64);
        return Ok(true);
    }
    // Touched only once it answers: the write way touches it again otherwise (an LFU
    // counter would count two accesses).
    let Some(entry) = db.peek(&args[1], ctx.now_ms) else {
        count_lookup(ctx, false);
        ctx.out.int(0);
        return Ok(true);
    };
    let checked = check(entry.str());
    // Redis unshares the value before it looks at the cache (`bytes_mut` in [`pfcount`]
    // marks it so): one that was not must go the write way once.
    let card = match checked {
        Ok(_) if entry.origin() != StrOrigin::Modified => return Ok(false),
        Ok(_) => match entry.str().and_then(hll::cached) {
            Some(card) => card,
            None => return Ok(false),
        },
        Err(e) => {
            entry.touch(&db.clock());
            count_lookup(ctx, true);
            return Err(e);
        }
    };
    entry.touch(&db.clock());
    count_lookup(ctx, true);
    ctx.out.int(card as i64);
    Ok(true)
}

/// ```text
/// PFMERGE destkey sourcekey [sourcekey ...]
/// ```
/// Stores the union of the sources and of the destination itself in the destination,
/// dense if any input was. `OK`; fires `pfadd`.
fn pfmerge(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let max_bytes = ctx.server.limits().hll_sparse_bytes;
    let (dbi, dest) = (ctx.client.db, &args[1]);
    let mut max = vec![0u8; hll::REGISTERS];
    let dense = merge_keys(ctx, ks.db_mut(dbi), args.iter().skip(1), &mut max)?;
    let entry = ks
        .db_mut(dbi)
        .get_or_insert_with(dest, ctx.now_ms, || Value::Str(hll::new_sparse()));
    // The destination was checked with the sources.
    let mut s = entry.str_mut().ok_or(CmdError::WrongType)?;
    if dense {
        hll::to_dense(&mut s).map_err(corrupt)?;
    }
    for (i, &v) in max.iter().enumerate() {
        if v != 0 {
            // Cannot fail: a value that merged converts and updates.
            let _ = hll::set_register(&mut s, i, v, max_bytes);
        }
    }
    hll::invalidate(s.bytes_mut());
    // A merge is a mass add: Redis fires `pfadd` for it.
    ks.changed(STRING, "pfadd", dbi, dest);
    ks.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// What a PFDEBUG subcommand replies.
enum Debug {
    Registers(Vec<u8>),
    Text(String),
    Status(&'static str),
    Int(i64),
}

/// ```text
/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
/// ```
/// GETREG: every register (making the value dense); DECODE: a sparse value's opcodes;
/// ENCODING: `dense` or `sparse`; TODENSE: converts, 1 if it did. A conversion counts
/// as a change, so that replicas convert too.
fn pfdebug(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let (dbi, sub) = (ctx.client.db, c_str(&args[1]));
    let Some(entry) = ks.db_mut(dbi).get_mut(&args[2], ctx.now_ms) else {
        return Err(CmdError::err("The specified key does not exist"));
    };
    let mut s = entry.str_mut().ok_or(CmdError::WrongType)?;
    let encoding = check(Some(s.get()))?;
    s.bytes_mut();
    let sparse = encoding == Encoding::Sparse;
    let reply = if is(sub, "getreg") || is(sub, "todense") {
        if sparse {
            hll::to_dense(&mut s).map_err(corrupt)?;
        }
        let reply = if is(sub, "getreg") {
            Debug::Registers(hll::registers(s.get()))
        } else {
            Debug::Int(i64::from(sparse))
        };
        if sparse {
            ks.dirty += 1;
        }
        reply
    } else if is(sub, "decode") {
        if !sparse {
            return Err(CmdError::err("HLL encoding is not sparse"));
        }
        Debug::Text(hll::decode(s.get()))
    } else if is(sub, "encoding") {
        Debug::Status(if sparse { "sparse" } else { "dense" })
    } else {
        return Err(CmdError::err(format!(
            "Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(sub)
        )));
    };
    match reply {
        Debug::Registers(regs) => {
            ctx.out.array(regs.len());
            for r in regs {
                ctx.out.int(i64::from(r));
            }
        }
        Debug::Text(t) => ctx.out.bulk(t.as_bytes()),
        Debug::Status(s) => ctx.out.simple(s),
        Debug::Int(n) => ctx.out.int(n),
    }
    Ok(())
}

/// ```text
/// PFSELFTEST
/// ```
/// `OK` if the register access and the estimator pass Redis's self-test (ten million
/// elements: it takes a while, without holding the keyspace).
fn pfselftest(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let max_bytes = ctx.server.limits().hll_sparse_bytes;
    crate::util::rand::with_thread_rng(|rng| hll::self_test(rng, max_bytes))
        .map_err(CmdError::err)?;
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{strs, Session};

    fn session() -> Session {
        let mut s = Session::new();
        s.run(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        s
    }

    #[test]
    fn pfadd_fires_and_propagates_only_a_change() {
        let mut s = session();
        let (reply, ev, prop) = s.check(&["PFADD", "h", "a", "b"]);
        assert_eq!(reply, ":1\r\n");
        assert_eq!(ev, strs(&["pfadd h"]));
        assert_eq!(prop, strs(&["PFADD h a b"]));
        let (reply, ev, prop) = s.check(&["PFADD", "h", "a"]);
        assert_eq!(reply, ":0\r\n");
        assert!(ev.is_empty() && prop.is_empty());
    }

    #[test]
    fn pfcount_propagates_when_it_refreshes_the_cache() {
        let mut s = session();
        s.run(&["PFADD", "h", "a", "b", "c"]);
        let (reply, ev, prop) = s.check(&["PFCOUNT", "h"]);
        assert_eq!(reply, ":3\r\n");
        assert!(ev.is_empty(), "a refresh fires no event");
        assert_eq!(prop, strs(&["PFCOUNT h"]));
        let (reply, _, prop) = s.check(&["PFCOUNT", "h"]);
        assert_eq!(reply, ":3\r\n");
        assert!(prop.is_empty(), "the cached value changes nothing");
        let (_, _, prop) = s.check(&["PFCOUNT", "h", "h"]);
        assert!(prop.is_empty(), "a union never writes");
    }

    #[test]
    fn pfmerge_fires_pfadd_and_pfdebug_propagates_conversions() {
        let mut s = session();
        s.run(&["PFADD", "a", "x"]);
        let (reply, ev, prop) = s.check(&["PFMERGE", "m", "a", "missing"]);
        assert_eq!(reply, "+OK\r\n");
        assert_eq!(ev, strs(&["pfadd m"]));
        assert_eq!(prop, strs(&["PFMERGE m a missing"]));
        let (reply, ev, prop) = s.check(&["PFDEBUG", "TODENSE", "m"]);
        assert_eq!(reply, ":1\r\n");
        assert!(ev.is_empty());
        assert_eq!(prop, strs(&["PFDEBUG TODENSE m"]));
        let (reply, _, prop) = s.check(&["PFDEBUG", "TODENSE", "m"]);
        assert_eq!(reply, ":0\r\n");
        assert!(prop.is_empty());
        assert_eq!(s.run(&["PFDEBUG", "ENCODING", "m"]), "+dense\r\n");
        assert_eq!(s.run(&["STRLEN", "m"]), ":12304\r\n");
    }

    #[test]
    fn errors() {
        let mut s = session();
        s.run(&["SET", "str", "not an hll at all"]);
        s.run(&["LPUSH", "list", "a"]);
        let not_hll = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
        assert_eq!(s.run(&["PFADD", "str", "a"]), not_hll);
        assert_eq!(s.run(&["PFCOUNT", "str"]), not_hll);
        assert!(s
            .run(&["PFCOUNT", "list"])
            .starts_with("-WRONGTYPE Operation"));
        assert_eq!(
            s.run(&["PFDEBUG", "GETREG", "nokey"]),
            "-ERR The specified key does not exist\r\n"
        );
        s.run(&["PFADD", "h", "a"]);
        assert_eq!(
            s.run(&["PFDEBUG", "what\0ever", "h"]),
            "-ERR Unknown PFDEBUG subcommand 'what'\r\n"
        );
        s.run(&["APPEND", "h", "x"]);
        assert_eq!(
            s.run(&["PFCOUNT", "h"]),
            "-INVALIDOBJ Corrupted HLL object detected\r\n"
        );
        // The sparse limit follows CONFIG SET.
        s.run(&["CONFIG", "SET", "hll-sparse-max-bytes", "0"]);
        s.run(&["PFADD", "d", "a"]);
        assert_eq!(s.run(&["PFDEBUG", "ENCODING", "d"]), "+dense\r\n");
    }
}
