//! Hash commands (Redis's t_hash.c): HSET and HMSET, HSETNX, HGET, HMGET, HDEL,
//! HEXISTS, HLEN, HSTRLEN, HKEYS, HVALS and HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD
//! and HSCAN.
//!
//! The hash itself, with its two encodings, is [`crate::store::Hash`]. Writers create the
//! key on the way, as Redis's `hashTypeLookupWriteOrCreate` does, only after every
//! argument that can fail has been checked, so no error leaves an empty hash behind; a
//! hash that becomes empty deletes its key.

use super::keys::{parse_cursor, parse_scan_options, write_scan_reply};
use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::store::class::{GENERIC, HASH};
use crate::store::{Db, Entry, Hash, Keyspace, Value};
use crate::util::glob;
use crate::util::num::{
    format_long_double_human, i64_to_bytes, parse_i64, parse_long_double, LongDouble,
};
use crate::util::rand::with_thread_rng;

#[rustfmt::skip]
pub const COMMANDS: &[Command] = &[
    Command::new("hset", Handler::Write(hset)),
    Command::new("hmset", Handler::Write(hmset)),
    Command::new("hsetnx", Handler::Write(hsetnx)),
    Command::new("hget", Handler::Read(hget)),
    Command::new("hmget", Handler::Read(hmget)),
    Command::new("hdel", Handler::Write(hdel)),
    Command::new("hexists", Handler::Read(hexists)),
    Command::new("hlen", Handler::Read(hlen)),
    Command::new("hstrlen", Handler::Read(hstrlen)),
    Command::new("hkeys", Handler::Read(hkeys)),
    Command::new("hvals", Handler::Read(hvals)),
    Command::new("hgetall", Handler::Read(hgetall)),
    Command::new("hincrby", Handler::Write(hincrby)),
    Command::new("hincrbyfloat", Handler::Write(hincrbyfloat)),
    Command::new("hrandfield", Handler::Read(hrandfield)),
    Command::new("hscan", Handler::Read(hscan)),
];

/// The hash at `key` for reading, counting a keyspace hit or miss as Redis's
/// `lookupKeyRead` does: `Ok(None)` if absent, `WRONGTYPE` if not a hash.
fn read_hash<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    key: &[u8],
) -> Result<Option<&'a Hash>, CmdError> {
    super::read_typed(ctx, ks, key, Entry::hash)
}

/// The hash at `key` for writing, created empty if absent (Redis's
/// `hashTypeLookupWriteOrCreate`); `WRONGTYPE` if the key holds another type. The
/// caller must leave something in a hash it created.
fn write_hash<'a>(ctx: &Ctx, db: &'a mut Db, key: &[u8]) -> Result<&'a mut Hash, CmdError> {
    db.get_or_insert_with(key, ctx.now_ms, || Value::Hash(Hash::new()))
        .hash_mut()
        .ok_or(CmdError::WrongType)
}

/// The shared body of HSET and HMSET (Redis's `hsetCommand`): every pair is set, and
/// `dirty` counts every pair, new or not. Both fire `hset`.
fn hset_generic(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, name: &str) -> CmdResult {
    if args.len() % 2 == 1 {
        return Err(CmdError::err(format!(
            "wrong number of arguments for '{name}' command"
        )));
    }
    let limits = ctx.server.limits();
    let hash = write_hash(ctx, ks.db_mut(ctx.client.db), &args[1])?;
    let mut created = 0;
    for pair in (2..args.len()).step_by(2) {
        created += i64::from(hash.insert(&args[pair], &args[pair + 1], &limits));
    }
    ks.dirty += (args.len() as u64 - 2) / 2;
    ks.changed(HASH, "hset", ctx.client.db, &args[1]);
    if name == "hset" {
        ctx.out.int(created);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// ```text
/// HSET key field value [field value ...]
/// ```
/// The number of fields that were new.
fn hset(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    hset_generic(ctx, ks, args, "hset")
}

/// ```text
/// HMSET key field value [field value ...]
/// ```
/// OK (HSET's older form).
fn hmset(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    hset_generic(ctx, ks, args, "hmset")
}

/// ```text
/// HSETNX key field value
/// ```
/// 1 if the field was set (firing `hset`), 0 if it already existed.
fn hsetnx(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let limits = ctx.server.limits();
    let hash = write_hash(ctx, ks.db_mut(ctx.client.db), &args[1])?;
    if hash.contains(&args[2]) {
        ctx.out.int(0);
        return Ok(());
    }
    hash.insert(&args[2], &args[3], &limits);
    ks.dirty += 1;
    ks.changed(HASH, "hset", ctx.client.db, &args[1]);
    ctx.out.int(1);
    Ok(())
}

/// ```text
/// HGET key field
/// ```
/// The value, or nil.
fn hget(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    match read_hash(ctx, ks, &args[1])?.and_then(|h| h.get(&args[2])) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ```text
/// HMGET key field [field ...]
/// ```
/// An array of values, nil for each missing field (all of them if the key is absent).
fn hmget(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let hash = read_hash(ctx, ks, &args[1])?;
    ctx.out.array(args.len() - 2);
    for field in args.iter().skip(2) {
        match hash.and_then(|h| h.get(field)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// ```text
/// HDEL key field [field ...]
/// ```
/// The number of fields removed, firing `hdel` if there were any. The key goes when its
/// last field does, firing `del` after.
fn hdel(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let dbi = ctx.client.db;
    let db = ks.db_mut(dbi);
    let Some(entry) = db.get_mut(&args[1], ctx.now_ms) else {
        ctx.out.int(0);
        return Ok(());
    };
    let hash = entry.hash_mut().ok_or(CmdError::WrongType)?;
    let mut deleted = 0;
    for field in args.iter().skip(2) {
        if hash.remove(field) {
            deleted += 1;
            if hash.is_empty() {
                break;
            }
        }
    }
    let emptied = hash.is_empty();
    if emptied {
        db.remove(&args[1], ctx.now_ms);
    }
    if deleted > 0 {
        ks.changed(HASH, "hdel", dbi, &args[1]);
        if emptied {
            ks.notify(GENERIC, "del", dbi, &args[1]);
        }
    }
    ks.dirty += deleted;
    ctx.out.int(deleted as i64);
    Ok(())
}

/// ```text
/// HEXISTS key field
/// ```
/// 1 if the field exists, else 0.
fn hexists(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let found = read_hash(ctx, ks, &args[1])?.is_some_and(|h| h.contains(&args[2]));
    ctx.out.int(i64::from(found));
    Ok(())
}

/// ```text
/// HLEN key
/// ```
/// The number of fields (0 if the key is absent).
fn hlen(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let len = read_hash(ctx, ks, &args[1])?.map_or(0, Hash::len);
    ctx.out.int(len as i64);
    Ok(())
}

/// ```text
/// HSTRLEN key field
/// ```
/// The length of the field's value (0 if absent).
fn hstrlen(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let len = read_hash(ctx, ks, &args[1])?
        .and_then(|h| h.get(&args[2]))
        .map_or(0, <[u8]>::len);
    ctx.out.int(len as i64);
    Ok(())
}

/// What [`getall_generic`] replies with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Fields,
    Values,
    Both,
}

/// The shared body of HKEYS, HVALS and HGETALL (Redis's `genericHgetallCommand`): in
/// the encoding's order; HGETALL answers a map (a flat array in RESP2).
fn getall_generic(ctx: &mut Ctx, ks: &Keyspace, args: &Args, parts: Parts) -> CmdResult {
    let hash = read_hash(ctx, ks, &args[1])?;
    let len = hash.map_or(0, Hash::len);
    match parts {
        Parts::Both => ctx.out.map(len),
        _ => ctx.out.array(len),
    }
    for (field, value) in hash.iter().flat_map(|h| h.iter()) {
        if parts != Parts::Values {
            ctx.out.bulk(field);
        }
        if parts != Parts::Fields {
            ctx.out.bulk(value);
        }
    }
    Ok(())
}

/// ```text
/// HKEYS key
/// ```
fn hkeys(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    getall_generic(ctx, ks, args, Parts::Fields)
}

/// ```text
/// HVALS key
/// ```
fn hvals(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    getall_generic(ctx, ks, args, Parts::Values)
}

/// ```text
/// HGETALL key
/// ```
/// Every field followed by its value.
fn hgetall(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    getall_generic(ctx, ks, args, Parts::Both)
}

/// ```text
/// HINCRBY key field increment
/// ```
/// The new value. A missing field counts as 0; a value that is not an integer, or a sum
/// past 64 bits, is an error and changes nothing. The increment is checked first, then
/// the key's type.
fn hincrby(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let by = int_arg(&args[3])?;
    let limits = ctx.server.limits();
    let hash = write_hash(ctx, ks.db_mut(ctx.client.db), &args[1])?;
    let current = match hash.get(&args[2]) {
        None => 0,
        Some(v) => parse_i64(v).ok_or_else(|| CmdError::err("hash value is not an integer"))?,
    };
    let new = current.checked_add(by).ok_or(CmdError::Overflow)?;
    hash.insert(&args[2], &i64_to_bytes(new), &limits);
    ks.dirty += 1;
    ks.changed(HASH, "hincrby", ctx.client.db, &args[1]);
    ctx.out.int(new);
    Ok(())
}

/// ```text
/// HINCRBYFLOAT key field increment
/// ```
/// The new value, as a bulk string, computed and written as INCRBYFLOAT does (x87 long
/// double, `%.17Lf` without trailing zeros; see [`crate::util::num`]). An infinite
/// increment is refused before the key is looked at, a value that is not a number after.
/// Fires `hincrbyfloat`, and is replayed as `HSET key field <new value>`, so float
/// rounding cannot differ on replay.
fn hincrbyfloat(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let incr =
        parse_long_double(&args[3]).ok_or_else(|| CmdError::err("value is not a valid float"))?;
    if !incr.is_finite() {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let limits = ctx.server.limits();
    let hash = write_hash(ctx, ks.db_mut(ctx.client.db), &args[1])?;
    let current = match hash.get(&args[2]) {
        None => LongDouble::zero(false),
        Some(v) => {
            parse_long_double(v).ok_or_else(|| CmdError::err("hash value is not a float"))?
        }
    };
    let sum = current + incr;
    if !sum.is_finite() {
        return Err(CmdError::err("increment would produce NaN or Infinity"));
    }
    let new = format_long_double_human(sum);
    hash.insert(&args[2], &new, &limits);
    ks.dirty += 1;
    ks.changed(HASH, "hincrbyfloat", ctx.client.db, &args[1]);
    ks.rewrite(&[b"HSET", &args[1][..], &args[2][..], &new[..]]);
    ctx.out.bulk(&new);
    Ok(())
}

/// ```text
/// HRANDFIELD key [count [WITHVALUES]]
/// ```
/// Without a count, one random field (nil if the key is absent). With a count, an
/// array: up to count distinct fields when it is positive (the whole hash, in its order,
/// when count reaches its size; a listpack's picks keep the listpack's order), exactly
/// -count fields that may repeat when it is negative. WITHVALUES puts each value after
/// its field (a two-element array per pair in RESP3). Arguments are checked before the
/// key, as Redis does.
///
/// One deliberate difference: a negative count whose reply would pass
/// `proto-max-bulk-len` even at its smallest is refused with `ERR value is out of
/// range`, where Redis streams it until memory runs out.
fn hrandfield(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    if args.len() == 2 {
        let Some(hash) = read_hash(ctx, ks, &args[1])? else {
            ctx.out.null();
            return Ok(());
        };
        match with_thread_rng(|rng| hash.random_pair(rng)) {
            Some((field, _)) => ctx.out.bulk(field),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let count = match int_arg(&args[2])? {
        i64::MIN => {
            return Err(CmdError::err(
                "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ))
        }
        n => n,
    };
    if args.len() > 4 || (args.len() == 4 && !is(&args[3], "withvalues")) {
        return Err(CmdError::Syntax);
    }
    let with_values = args.len() == 4;
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::err("value is out of range"));
    }
    let Some(hash) = read_hash(ctx, ks, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let (n, repeats) = (count.unsigned_abs(), count < 0);
    if n == 0 {
        ctx.out.array(0);
        return Ok(());
    }
    // Each element is at least a 6-byte bulk string (`$0\r\n\r\n`).
    if repeats {
        super::check_draws(ctx, n, if with_values { 12 } else { 6 })?;
    }
    let picks: Vec<(&[u8], &[u8])> = with_thread_rng(|rng| {
        if repeats || n == 1 {
            (0..n).filter_map(|_| hash.random_pair(rng)).collect()
        } else if n >= hash.len() as u64 {
            hash.iter().collect()
        } else {
            hash.random_distinct(rng, n as usize)
        }
    });
    let resp3 = ctx.out.resp3;
    ctx.out.array(if with_values && !resp3 {
        picks.len() * 2
    } else {
        picks.len()
    });
    for (field, value) in picks {
        if with_values && resp3 {
            ctx.out.array(2);
        }
        ctx.out.bulk(field);
        if with_values {
            ctx.out.bulk(value);
        }
    }
    Ok(())
}

/// ```text
/// HSCAN key cursor [MATCH pattern] [COUNT count]
/// ```
/// The next cursor and a flat list of fields and values. A listpack hash comes back
/// whole with cursor 0, whatever the cursor and COUNT; a hashtable is walked with the
/// SCAN guarantee. MATCH filters on fields. The cursor is checked first, then the key
/// (an absent key answers an empty scan before the options are read), then the options.
fn hscan(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(hash) = read_hash(ctx, ks, &args[1])? else {
        write_scan_reply(ctx.out, 0, &[]);
        return Ok(());
    };
    let opts = parse_scan_options(args, 3, false)?;
    let mut items: Vec<&[u8]> = Vec::new();
    let next = hash.scan(cursor, opts.count, |field, value| {
        if opts.pattern.is_none_or(|p| glob::matches(p, field, false)) {
            items.push(field);
            items.push(value);
        }
    });
    write_scan_reply(ctx.out, next, &items);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::client::{ClientHandle, ClientState};
    use crate::command::testing::{strs, Session};
    use crate::command::{execute, Ctx};
    use crate::config::Config;
    use crate::resp::{Args, Reply};
    use crate::state::Server;
    use crate::store::Store;
    use std::sync::Arc;

    /// Runs `commands` in RESP3 (which the wire does not offer yet) and returns each
    /// reply.
    fn resp3(commands: &[&[&str]]) -> Vec<String> {
        let server = Server::new(Config::default(), Store::new(16), 0);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut client = ClientState::new(Arc::new(ClientHandle::new(1, stream).unwrap()));
        let mut out = Reply::new();
        out.resp3 = true;
        let mut replies = Vec::new();
        for args in commands {
            out.clear();
            let mut ctx = Ctx {
                server: &server,
                client: &mut client,
                out: &mut out,
                now_ms: crate::util::now_ms(),
            };
            execute(&mut ctx, &Args::from_slices(args));
            replies.push(String::from_utf8_lossy(out.as_bytes()).into_owned());
        }
        replies
    }

    #[test]
    fn resp3_shapes_are_redis_7s() {
        let got = resp3(&[
            &["HSET", "h", "a", "1", "b", "2"],
            &["HGETALL", "h"],
            &["HGETALL", "nokey"],
            &["HKEYS", "h"],
            &["HGET", "h", "zz"],
            &["HRANDFIELD", "nokey"],
            &["HRANDFIELD", "h", "5", "WITHVALUES"],
            &["HRANDFIELD", "h", "-2", "WITHVALUES"],
            &["HRANDFIELD", "h", "5"],
        ]);
        assert_eq!(got[1], "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
        assert_eq!(got[2], "%0\r\n");
        assert_eq!(got[3], "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(got[4], "_\r\n");
        assert_eq!(got[5], "_\r\n");
        assert_eq!(
            got[6],
            "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
        assert!(got[7].starts_with("*2\r\n*2\r\n$1\r\n"), "{:?}", got[7]);
        assert_eq!(got[7].matches("*2\r\n").count(), 3);
        assert_eq!(got[8], "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    }

    /// What a command reported, as (events, propagated).
    fn effects(s: &mut Session, parts: &[&str]) -> (Vec<String>, Vec<String>) {
        let (_, ev, prop) = s.check(parts);
        (ev, prop)
    }

    fn nothing() -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }

    #[test]
    fn hset_family_events_and_propagation() {
        let mut s = Session::new();
        assert_eq!(
            effects(&mut s, &["HSET", "h", "a", "1", "b", "2"]),
            (strs(&["hset h"]), strs(&["HSET h a 1 b 2"]))
        );
        // Overwriting with the same value still counts, as in Redis.
        assert_eq!(
            effects(&mut s, &["hset", "h", "a", "1"]),
            (strs(&["hset h"]), strs(&["hset h a 1"]))
        );
        assert_eq!(
            effects(&mut s, &["HMSET", "h2", "x", "1"]),
            (strs(&["hset h2"]), strs(&["HMSET h2 x 1"]))
        );
        assert_eq!(effects(&mut s, &["HSET", "h", "a"]), nothing());
        s.run(&["SET", "str", "v"]);
        assert_eq!(effects(&mut s, &["HSET", "str", "a", "1"]), nothing());
        assert_eq!(effects(&mut s, &["HSETNX", "h", "a", "9"]), nothing());
        assert_eq!(
            effects(&mut s, &["HSETNX", "h", "c", "3"]),
            (strs(&["hset h"]), strs(&["HSETNX h c 3"]))
        );
        assert_eq!(
            effects(&mut s, &["HSETNX", "new", "c", "3"]),
            (strs(&["hset new"]), strs(&["HSETNX new c 3"]))
        );
    }

    #[test]
    fn hdel_fires_del_after_hdel_when_the_hash_goes() {
        let mut s = Session::new();
        s.run(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(effects(&mut s, &["HDEL", "h", "zz"]), nothing());
        assert_eq!(effects(&mut s, &["HDEL", "nokey", "a"]), nothing());
        assert_eq!(
            effects(&mut s, &["HDEL", "h", "a", "zz"]),
            (strs(&["hdel h"]), strs(&["HDEL h a zz"]))
        );
        let (reply, ev, prop) = s.check(&["HDEL", "h", "b", "c", "zz"]);
        assert_eq!(reply, ":2\r\n");
        assert_eq!(ev, strs(&["hdel h", "del h"]));
        assert_eq!(prop, strs(&["HDEL h b c zz"]));
        assert_eq!(s.run(&["EXISTS", "h"]), ":0\r\n");
    }

    #[test]
    fn hincrby_and_hincrbyfloat_events_and_propagation() {
        let mut s = Session::new();
        assert_eq!(
            effects(&mut s, &["HINCRBY", "h", "n", "5"]),
            (strs(&["hincrby h"]), strs(&["HINCRBY h n 5"]))
        );
        assert_eq!(effects(&mut s, &["HINCRBY", "h", "n", "x"]), nothing());
        s.run(&["HSET", "h", "big", "9223372036854775807", "s", "abc"]);
        assert_eq!(effects(&mut s, &["HINCRBY", "h", "big", "1"]), nothing());
        assert_eq!(effects(&mut s, &["HINCRBY", "h", "s", "1"]), nothing());
        // Replayed as the value it computed.
        let (reply, ev, prop) = s.check(&["hincrbyfloat", "h", "f", "1.5"]);
        assert_eq!(reply, "$3\r\n1.5\r\n");
        assert_eq!(ev, strs(&["hincrbyfloat h"]));
        assert_eq!(prop, strs(&["HSET h f 1.5"]));
        assert_eq!(
            effects(&mut s, &["HINCRBYFLOAT", "h", "n", "1e1"]),
            (strs(&["hincrbyfloat h"]), strs(&["HSET h n 15"]))
        );
        assert_eq!(effects(&mut s, &["HINCRBYFLOAT", "h", "s", "1"]), nothing());
        assert_eq!(
            effects(&mut s, &["HINCRBYFLOAT", "h", "f", "inf"]),
            nothing()
        );
    }

    #[test]
    fn an_expired_hash_goes_before_the_write_that_recreates_it() {
        let mut s = Session::new();
        s.now_ms = Some(1_000);
        s.run(&["HSET", "h", "a", "1"]);
        s.run(&["PEXPIRE", "h", "10"]);
        s.now_ms = Some(1_011);
        assert_eq!(
            effects(&mut s, &["HDEL", "h", "a"]),
            (strs(&["expired h"]), strs(&["DEL h"]))
        );
        s.run(&["HSET", "h", "a", "1"]);
        s.run(&["PEXPIRE", "h", "10"]);
        s.now_ms = Some(1_022);
        assert_eq!(
            effects(&mut s, &["HINCRBYFLOAT", "h", "a", "2"]),
            (
                strs(&["expired h", "hincrbyfloat h"]),
                strs(&["MULTI", "DEL h", "HSET h a 2", "EXEC"])
            )
        );
    }
}
