//! Set commands (Redis's t_set.c): SADD, SREM, SMOVE, SISMEMBER, SMISMEMBER, SCARD,
//! SMEMBERS, SPOP, SRANDMEMBER, the SINTER family (SINTER, SINTERCARD, SINTERSTORE),
//! the SUNION and SDIFF families, and SSCAN. The type and its two encodings live in
//! [`crate::store::set`].
//!
//! As in Redis, the multi-key commands are thin wrappers around two generic functions:
//! `intersection` (`sinterGenericCommand`) and `union_diff`
//! (`sunionDiffGenericCommand`). Both look up every key first, so a key of the wrong
//! type anywhere fails the command even when an earlier key is missing. The STORE
//! variants build their destination afresh (so it is an intset again when it can be),
//! replace the key and its TTL, and delete it when the result is empty.
//!
//! SPOP and SRANDMEMBER draw with a [`Rng`] per worker thread, as RANDOMKEY does (see
//! [`super::keys`]), and follow Redis's strategies, which decide the shape of the reply:
//! a count at least the set's size returns the whole set, SPOP of most of a set rebuilds
//! the remainder as a fresh set, and SRANDMEMBER with a negative count may repeat
//! members.

use std::borrow::Cow;

use super::keys::{parse_cursor, parse_scan_options, write_scan_reply};
use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::store::class::{GENERIC, SET};
use crate::store::{Entry, Keyspace, Set, Value};
use crate::util::glob;
use crate::util::num::parse_i64;
use crate::util::rand::with_thread_rng;

/// The set commands' table entries.
pub const COMMANDS: &[Command] = &[
    Command::new("sadd", Handler::Write(sadd)),
    Command::new("srem", Handler::Write(srem)),
    Command::new("smove", Handler::Write(smove)),
    Command::new("sismember", Handler::Read(sismember)),
    Command::new("smismember", Handler::Read(smismember)),
    Command::new("scard", Handler::Read(scard)),
    Command::new("smembers", Handler::Read(sinter)),
    Command::new("spop", Handler::Write(spop)),
    Command::new("srandmember", Handler::Read(srandmember)),
    Command::new("sinter", Handler::Read(sinter)),
    Command::new("sintercard", Handler::Read(sintercard)),
    Command::new("sinterstore", Handler::Write(sinterstore)),
    Command::new("sunion", Handler::Read(sunion)),
    Command::new("sunionstore", Handler::Write(sunionstore)),
    Command::new("sdiff", Handler::Read(sdiff)),
    Command::new("sdiffstore", Handler::Write(sdiffstore)),
    Command::new("sscan", Handler::Read(sscan)),
];

/// The set at `key` for reading (Redis's `lookupKeyRead`, counted as a hit or a miss):
/// `Ok(None)` if absent, `WRONGTYPE` if not a set.
fn read_set<'a>(ctx: &mut Ctx, ks: &'a Keyspace, key: &[u8]) -> Result<Option<&'a Set>, CmdError> {
    super::read_typed(ctx, ks, key, Entry::as_set)
}

/// Writes `members` as a set reply (`~` in RESP3).
fn reply_members<M: AsRef<[u8]>>(ctx: &mut Ctx, members: &[M]) {
    ctx.out.set(members.len());
    for m in members {
        ctx.out.bulk(m.as_ref());
    }
}

/// ```text
/// SADD key member [member ...]
/// ```
/// The number of members added; fires `sadd` if there were any.
fn sadd(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let limits = ctx.server.limits();
    let entry = ks
        .db_mut(ctx.client.db)
        .get_or_insert_with(&args[1], ctx.now_ms, || Value::Set(Set::new()));
    let Some(set) = entry.as_set_mut() else {
        return Err(CmdError::WrongType);
    };
    let added = args
        .iter()
        .skip(2)
        .filter(|m| set.insert(m, &limits))
        .count();
    if added > 0 {
        ks.changed(SET, "sadd", ctx.client.db, &args[1]);
    }
    ks.dirty += added as u64;
    ctx.out.int(added as i64);
    Ok(())
}

/// ```text
/// SREM key member [member ...]
/// ```
/// The number of members removed, firing `srem` if there were any; a set left empty
/// deletes its key, firing `del` after.
fn srem(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let dbi = ctx.client.db;
    let db = ks.db_mut(dbi);
    let Some(entry) = db.get_mut(&args[1], ctx.now_ms) else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some(set) = entry.as_set_mut() else {
        return Err(CmdError::WrongType);
    };
    let removed = args.iter().skip(2).filter(|m| set.remove(m)).count();
    let emptied = set.is_empty();
    if emptied {
        db.remove(&args[1], ctx.now_ms);
    }
    if removed > 0 {
        ks.changed(SET, "srem", dbi, &args[1]);
        if emptied {
            ks.notify(GENERIC, "del", dbi, &args[1]);
        }
    }
    ks.dirty += removed as u64;
    ctx.out.int(removed as i64);
    Ok(())
}

/// ```text
/// SMOVE source destination member
/// ```
/// 1 if the member was moved (or, with source and destination the same key, is there),
/// 0 if the source does not hold it. Both keys are looked up for writing first (an
/// expired one goes then); a missing source is 0 before the destination's type is
/// looked at. A move fires `srem` on the source (then `del` if that emptied it) and
/// `sadd` on the destination unless it already held the member.
fn smove(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let (dbi, now) = (ctx.client.db, ctx.now_ms);
    let db = ks.db_mut(dbi);
    // Whether each key holds a set: `None` if missing.
    let src_is_set = db.get_mut(src, now).map(|e| e.as_set().is_some());
    let dst_is_set = db.get_mut(dst, now).map(|e| e.as_set().is_some());
    match src_is_set {
        None => {
            ctx.out.int(0);
            return Ok(());
        }
        Some(false) => return Err(CmdError::WrongType),
        Some(true) if dst_is_set == Some(false) => return Err(CmdError::WrongType),
        Some(true) => {}
    }
    let Some(src_set) = db.get_mut(src, now).and_then(|e| e.as_set_mut()) else {
        return Err(CmdError::WrongType);
    };
    if src == dst {
        ctx.out.int(i64::from(src_set.contains(member)));
        return Ok(());
    }
    if !src_set.remove(member) {
        ctx.out.int(0);
        return Ok(());
    }
    let emptied = src_set.is_empty();
    ks.notify(SET, "srem", dbi, src);
    if emptied {
        ks.db_mut(dbi).remove(src, now);
        ks.notify(GENERIC, "del", dbi, src);
    }
    let limits = ctx.server.limits();
    let added = ks
        .db_mut(dbi)
        .get_or_insert_with(dst, now, || Value::Set(Set::new()))
        .as_set_mut()
        .is_some_and(|set| set.insert(member, &limits));
    ks.touched(dbi, src);
    ks.dirty += 1;
    if added {
        ks.dirty += 1;
        ks.changed(SET, "sadd", dbi, dst);
    }
    ctx.out.int(1);
    Ok(())
}

/// ```text
/// SISMEMBER key member
/// ```
/// 1 if the member is in the set, else 0.
fn sismember(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let found = read_set(ctx, ks, &args[1])?.is_some_and(|s| s.contains(&args[2]));
    ctx.out.int(i64::from(found));
    Ok(())
}

/// ```text
/// SMISMEMBER key member [member ...]
/// ```
/// An array of 1 or 0, one per member; a missing key is an empty set.
fn smismember(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let set = read_set(ctx, ks, &args[1])?;
    ctx.out.array(args.len() - 2);
    for m in args.iter().skip(2) {
        ctx.out.int(i64::from(set.is_some_and(|s| s.contains(m))));
    }
    Ok(())
}

/// ```text
/// SCARD key
/// ```
/// The number of members, 0 for a missing key.
fn scard(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let len = read_set(ctx, ks, &args[1])?.map_or(0, Set::len);
    ctx.out.int(len as i64);
    Ok(())
}

/// SPOP pops one at a time while at least a fifth of the set stays; beyond that it
/// draws the members that stay into a new set instead (Redis's `SPOP_MOVE_STRATEGY_MUL`).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// ```text
/// SPOP key [count]
/// ```
/// A random member, removed (nil if the key is missing); with a count, a set of up to
/// count distinct members (empty if missing). The count is parsed before the key is
/// looked up.
///
/// A pop fires `spop` (then `del` if the set is gone) and is replayed as what it
/// removed, as Redis 7.0 does: one member as `SREM key member`; a count that takes the
/// whole set as `DEL key`; a count that leaves some as one `SREM key member` per member,
/// in the reply's order (a transaction when there are several).
fn spop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.len() {
        3 => Some(
            parse_i64(&args[2])
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| CmdError::err("value is out of range, must be positive"))?,
        ),
        _ => None,
    };
    let key = &args[1];
    let (dbi, now) = (ctx.client.db, ctx.now_ms);
    let db = ks.db_mut(dbi);
    let Some(entry) = db.get_mut(key, now) else {
        match count {
            Some(_) => ctx.out.set(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let Some(set) = entry.as_set_mut() else {
        return Err(CmdError::WrongType);
    };
    let size = set.len();
    let Some(count) = count else {
        let Some(member) = with_thread_rng(|rng| set.pop_random(rng)) else {
            // A stored set is never empty.
            ctx.out.null();
            return Ok(());
        };
        let emptied = set.is_empty();
        ks.notify(SET, "spop", dbi, key);
        ks.rewrite(&[&b"SREM"[..], key, &member]);
        ctx.out.bulk(&member);
        if emptied {
            ks.db_mut(dbi).remove(key, now);
            ks.notify(GENERIC, "del", dbi, key);
        }
        ks.touched(dbi, key);
        ks.dirty += 1;
        return Ok(());
    };
    if count == 0 {
        ctx.out.set(0);
        return Ok(());
    }
    // The members popped, in the reply's order (unless the whole set goes).
    let popped: Vec<Vec<u8>> = if count >= size {
        // The whole set, in the order of a fresh copy (as Redis replies through SUNION).
        let fresh = Set::from_members(set.iter(), &ctx.server.limits());
        reply_members(ctx, &fresh.iter().collect::<Vec<_>>());
        ks.db_mut(dbi).remove(key, now);
        ks.notify(SET, "spop", dbi, key);
        ks.dirty += size as u64;
        ks.notify(GENERIC, "del", dbi, key);
        ks.rewrite(&[&b"DEL"[..], key]);
        ks.touched(dbi, key);
        return Ok(());
    } else if (size - count) * SPOP_MOVE_STRATEGY_MUL > count {
        with_thread_rng(|rng| (0..count).filter_map(|_| set.pop_random(rng)).collect())
    } else {
        // Most of the set goes: move the members that stay into a new set (which may be
        // an intset again) and reply with what is left of the old one.
        let limits = ctx.server.limits();
        let mut stays = Set::new();
        with_thread_rng(|rng| {
            for _ in 0..size - count {
                if let Some(m) = set.pop_random(rng) {
                    stays.insert(&m, &limits);
                }
            }
        });
        let gone = set.replace_with(stays);
        gone.iter().map(|m| m.into_owned()).collect()
    };
    ks.notify(SET, "spop", dbi, key);
    ks.dirty += count as u64;
    reply_members(ctx, &popped);
    for member in &popped {
        ks.propagate(dbi, &[&b"SREM"[..], key, member]);
    }
    ks.prevent_propagation();
    ks.touched(dbi, key);
    Ok(())
}

/// SRANDMEMBER with a count copies the set and removes random members from the copy
/// when the count is more than a third of the set (Redis's
/// `SRANDMEMBER_SUB_STRATEGY_MUL`); below that it draws until it has enough.
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

/// ```text
/// SRANDMEMBER key [count]
/// ```
/// A random member (nil if the key is missing); with a positive count, an array of up to
/// count distinct members; with a negative count, exactly -count members that may
/// repeat. The count is parsed before the key is looked up.
fn srandmember(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if args.len() == 2 {
        match read_set(ctx, ks, &args[1])?.and_then(|s| with_thread_rng(|rng| s.random(rng))) {
            Some(m) => ctx.out.bulk(&m),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let count = int_arg(&args[2])?;
    if count == i64::MIN {
        return Err(CmdError::err(format!(
            "value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    let Some(set) = read_set(ctx, ks, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let (n, unique) = (count.unsigned_abs() as usize, count > 0);
    if !unique {
        super::check_draws(ctx, n as u64, 6)?;
    }
    let size = set.len();
    if n == 0 {
        ctx.out.array(0);
    } else if !unique || n == 1 {
        ctx.out.array(n);
        with_thread_rng(|rng| {
            for _ in 0..n {
                if let Some(m) = set.random(rng) {
                    ctx.out.bulk(&m);
                }
            }
        });
    } else if n >= size {
        ctx.out.array(size);
        for m in set.iter() {
            ctx.out.bulk(&m);
        }
    } else if n * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        let mut members: Vec<_> = set.iter().collect();
        with_thread_rng(|rng| {
            while members.len() > n {
                members.swap_remove(rng.below(members.len() as u64) as usize);
            }
        });
        ctx.out.array(n);
        for m in &members {
            ctx.out.bulk(m);
        }
    } else {
        let mut picked = std::collections::HashSet::with_capacity(n);
        let mut members = Vec::with_capacity(n);
        with_thread_rng(|rng| {
            while members.len() < n {
                if let Some(m) = set.random(rng) {
                    if picked.insert(m.clone()) {
                        members.push(m);
                    }
                }
            }
        });
        ctx.out.array(n);
        for m in &members {
            ctx.out.bulk(m);
        }
    }
    Ok(())
}

/// Every set at `keys`, `None` for a missing key; `WRONGTYPE` if any key holds another
/// type, whatever comes before it.
fn lookup_sets<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    keys: &[&[u8]],
) -> Result<Vec<Option<&'a Set>>, CmdError> {
    keys.iter().map(|k| read_set(ctx, ks, k)).collect()
}

/// The members in every set at `keys` (Redis's `sinterGenericCommand`), in the order of
/// the smallest set, which is the one iterated; `None` when a key is missing (an empty
/// intersection, known without iterating).
fn intersection<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    keys: &[&[u8]],
) -> Result<Option<impl Iterator<Item = Cow<'a, [u8]>>>, CmdError> {
    let Some(mut sets) = lookup_sets(ctx, ks, keys)?
        .into_iter()
        .collect::<Option<Vec<&Set>>>()
    else {
        return Ok(None);
    };
    sets.sort_by_key(|s| s.len());
    let Some((&first, rest)) = sets.split_first() else {
        return Ok(None);
    };
    let rest = rest.to_vec();
    Ok(Some(first.iter().filter(move |m| {
        rest.iter()
            .all(|s| std::ptr::eq(*s, first) || s.contains(m))
    })))
}

/// ```text
/// SINTER key [key ...]
/// SMEMBERS key
/// ```
/// A set of the members in every set: empty if any key is missing. SMEMBERS is SINTER
/// of one key, as in Redis.
fn sinter(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(1).collect();
    let members: Vec<_> = intersection(ctx, ks, &keys)?
        .into_iter()
        .flatten()
        .collect();
    reply_members(ctx, &members);
    Ok(())
}

/// ```text
/// SINTERCARD numkeys key [key ...] [LIMIT limit]
/// ```
/// The size of the intersection, counting stopping at limit when it is not 0. The
/// arguments are all checked before any key is looked up.
fn sintercard(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let numkeys = parse_i64(&args[1])
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    if numkeys > args.len() as i64 - 2 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if is(&args[i], "limit") && i + 1 < args.len() {
            limit = parse_i64(&args[i + 1])
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| CmdError::err("LIMIT can't be negative"))?;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys: Vec<&[u8]> = args.iter().skip(2).take(numkeys).collect();
    let limit = if limit == 0 { usize::MAX } else { limit };
    let count = intersection(ctx, ks, &keys)?.map_or(0, |it| it.take(limit).count());
    ctx.out.int(count as i64);
    Ok(())
}

/// Ends a STORE command: the source keys it found expired go first (Redis's lookups
/// delete them as they meet them; ours only note them), then its result, computed from
/// the sources, is stored with [`store`], unless computing it failed.
fn finish_store(
    ctx: &mut Ctx,
    ks: &mut Keyspace,
    dst: &[u8],
    result: Result<Set, CmdError>,
    event: &'static str,
) -> CmdResult {
    ks.reap_stale();
    store(ctx, ks, dst, result?, event);
    Ok(())
}

/// Stores a STORE command's result at `dst`, replacing whatever was there (TTL
/// included), and fires `event`; an empty result deletes `dst` instead, firing `del`
/// if there was one. Replies with the result's size. One change for Redis's dirty
/// counter, unless the result is empty and `dst` was missing.
///
/// As in Redis, a result is stored after a write lookup of `dst` (an expired `dst`
/// fires `expired` first), but an empty result deletes `dst` without one (`dbDelete`):
/// an expired `dst` is then deleted as a live one would be.
fn store(ctx: &mut Ctx, ks: &mut Keyspace, dst: &[u8], result: Set, event: &'static str) {
    let len = result.len();
    let (dbi, now) = (ctx.client.db, ctx.now_ms);
    let db = ks.db_mut(dbi);
    if result.is_empty() {
        if db.delete(dst).is_some() {
            ks.dirty += 1;
            ks.changed(GENERIC, "del", dbi, dst);
        }
    } else {
        db.get_mut(dst, now);
        db.set(dst, Value::Set(result));
        ks.dirty += 1;
        ks.changed(SET, event, dbi, dst);
    }
    ctx.out.int(len as i64);
}

/// ```text
/// SINTERSTORE destination key [key ...]
/// ```
/// The size of the intersection stored at destination; fires `sinterstore`.
fn sinterstore(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    let limits = ctx.server.limits();
    let result = intersection(ctx, ks, &keys).map(|found| match found {
        Some(members) => Set::from_members(members, &limits),
        None => Set::new(),
    });
    finish_store(ctx, ks, &args[1], result, "sinterstore")
}

/// Which of the two `union_diff` computes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Diff,
}

/// The union of the sets at `keys`, or the members of the first that are in none of
/// the others (Redis's `sunionDiffGenericCommand`), built as a fresh set: its encoding
/// decides the reply's order (an intset result is sorted). Missing keys are empty sets.
fn union_diff(ctx: &mut Ctx, ks: &Keyspace, keys: &[&[u8]], op: Op) -> Result<Set, CmdError> {
    let sets = lookup_sets(ctx, ks, keys)?;
    let limits = ctx.server.limits();
    let mut result = Set::new();
    match op {
        Op::Union => {
            for set in sets.iter().flatten() {
                for m in set.iter() {
                    result.insert(&m, &limits);
                }
            }
        }
        Op::Diff => {
            let Some((&Some(first), others)) = sets.split_first() else {
                return Ok(result);
            };
            let others: Vec<&Set> = others.iter().flatten().copied().collect();
            // Subtracting the first set from itself leaves nothing.
            if others.iter().any(|s| std::ptr::eq(*s, first)) {
                return Ok(result);
            }
            for m in first.iter() {
                if !others.iter().any(|s| s.contains(&m)) {
                    result.insert(&m, &limits);
                }
            }
        }
    }
    Ok(result)
}

/// The shared body of SUNION and SDIFF: a set reply of the result.
fn union_diff_reply(ctx: &mut Ctx, ks: &Keyspace, args: &Args, op: Op) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(1).collect();
    let result = union_diff(ctx, ks, &keys, op)?;
    reply_members(ctx, &result.iter().collect::<Vec<_>>());
    Ok(())
}

/// The shared body of SUNIONSTORE and SDIFFSTORE, which fire `sunionstore` and
/// `sdiffstore`.
fn union_diff_store(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, op: Op) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    let result = union_diff(ctx, ks, &keys, op);
    let event = match op {
        Op::Union => "sunionstore",
        Op::Diff => "sdiffstore",
    };
    finish_store(ctx, ks, &args[1], result, event)
}

/// ```text
/// SUNION key [key ...]
/// ```
/// A set of the members of any of the sets.
fn sunion(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    union_diff_reply(ctx, ks, args, Op::Union)
}

/// ```text
/// SDIFF key [key ...]
/// ```
/// A set of the members of the first set that are in none of the others.
fn sdiff(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    union_diff_reply(ctx, ks, args, Op::Diff)
}

/// ```text
/// SUNIONSTORE destination key [key ...]
/// ```
/// The size of the union stored at destination.
fn sunionstore(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    union_diff_store(ctx, ks, args, Op::Union)
}

/// ```text
/// SDIFFSTORE destination key [key ...]
/// ```
/// The size of the difference stored at destination.
fn sdiffstore(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    union_diff_store(ctx, ks, args, Op::Diff)
}

/// ```text
/// SSCAN key cursor [MATCH pattern] [COUNT count]
/// ```
/// The next cursor and some members. An intset comes back whole with cursor 0; a
/// hashtable is walked with the SCAN guarantee. The cursor is checked first, then the
/// key (a missing key is an empty, finished scan, whatever the options), then the
/// options.
fn sscan(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(set) = read_set(ctx, ks, &args[1])? else {
        write_scan_reply(ctx.out, 0, &[]);
        return Ok(());
    };
    let opts = parse_scan_options(args, 3, false)?;
    let (next, found) = set.scan(cursor, opts.count);
    let members: Vec<&[u8]> = found
        .iter()
        .map(|m| &**m)
        .filter(|m| opts.pattern.is_none_or(|p| glob::matches(p, m, false)))
        .collect();
    write_scan_reply(ctx.out, next, &members);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::command::testing::{strs, Session};

    /// What a command reported, as (events, propagated).
    fn effects(s: &mut Session, parts: &[&str]) -> (Vec<String>, Vec<String>) {
        let (_, ev, prop) = s.check(parts);
        (ev, prop)
    }

    fn nothing() -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }

    /// The bulk strings of a RESP reply, in order.
    fn bulks(reply: &str) -> Vec<String> {
        let lines: Vec<&str> = reply.split("\r\n").collect();
        lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.starts_with('$'))
            .map(|(i, _)| lines[i + 1].to_string())
            .collect()
    }

    #[test]
    fn sadd_and_srem_events_and_propagation() {
        let mut s = Session::new();
        assert_eq!(
            effects(&mut s, &["SADD", "s", "a", "b", "c"]),
            (strs(&["sadd s"]), strs(&["SADD s a b c"]))
        );
        assert_eq!(effects(&mut s, &["SADD", "s", "a"]), nothing());
        assert_eq!(effects(&mut s, &["SREM", "s", "zz"]), nothing());
        assert_eq!(effects(&mut s, &["SREM", "nokey", "a"]), nothing());
        assert_eq!(
            effects(&mut s, &["SREM", "s", "a"]),
            (strs(&["srem s"]), strs(&["SREM s a"]))
        );
        assert_eq!(
            effects(&mut s, &["srem", "s", "b", "c", "zz"]),
            (strs(&["srem s", "del s"]), strs(&["srem s b c zz"]))
        );
        s.run(&["SET", "str", "v"]);
        assert_eq!(effects(&mut s, &["SADD", "str", "a"]), nothing());
    }

    #[test]
    fn smove_events_and_propagation() {
        let mut s = Session::new();
        s.run(&["SADD", "src", "x", "y", "z"]);
        s.run(&["SADD", "dst", "y"]);
        assert_eq!(
            effects(&mut s, &["SMOVE", "src", "new", "x"]),
            (strs(&["srem src", "sadd new"]), strs(&["SMOVE src new x"]))
        );
        // Already in the destination: only the source changes.
        assert_eq!(
            effects(&mut s, &["SMOVE", "src", "dst", "y"]),
            (strs(&["srem src"]), strs(&["SMOVE src dst y"]))
        );
        assert_eq!(effects(&mut s, &["SMOVE", "src", "dst", "zz"]), nothing());
        assert_eq!(effects(&mut s, &["SMOVE", "src", "src", "z"]), nothing());
        assert_eq!(effects(&mut s, &["SMOVE", "nokey", "dst", "z"]), nothing());
        s.run(&["SET", "str", "v"]);
        assert_eq!(effects(&mut s, &["SMOVE", "src", "str", "z"]), nothing());
        assert_eq!(
            effects(&mut s, &["SMOVE", "src", "dst", "z"]),
            (
                strs(&["srem src", "del src", "sadd dst"]),
                strs(&["SMOVE src dst z"])
            )
        );
    }

    #[test]
    fn smove_expires_both_keys_first() {
        let mut s = Session::new();
        s.now_ms = Some(1_000);
        s.run(&["SADD", "src", "x", "y"]);
        s.run(&["SADD", "dst", "y"]);
        s.run(&["PEXPIRE", "dst", "10"]);
        s.run(&["SADD", "gone", "x"]);
        s.run(&["PEXPIRE", "gone", "10"]);
        s.now_ms = Some(1_011);
        assert_eq!(
            effects(&mut s, &["SMOVE", "gone", "src", "x"]),
            (strs(&["expired gone"]), strs(&["DEL gone"]))
        );
        assert_eq!(
            effects(&mut s, &["SMOVE", "src", "dst", "y"]),
            (
                strs(&["expired dst", "srem src", "sadd dst"]),
                strs(&["MULTI", "DEL dst", "SMOVE src dst y", "EXEC"])
            )
        );
    }

    #[test]
    fn spop_without_count_propagates_srem() {
        let mut s = Session::new();
        assert_eq!(effects(&mut s, &["SPOP", "nokey"]), nothing());
        s.run(&["SADD", "s", "a", "b"]);
        let (reply, ev, prop) = s.check(&["SPOP", "s"]);
        let first = bulks(&reply).remove(0);
        assert_eq!(ev, strs(&["spop s"]));
        assert_eq!(prop, vec![format!("SREM s {first}")]);
        let (reply, ev, prop) = s.check(&["spop", "s"]);
        let second = bulks(&reply).remove(0);
        assert_ne!(first, second);
        assert_eq!(ev, strs(&["spop s", "del s"]));
        assert_eq!(prop, vec![format!("SREM s {second}")]);
        s.run(&["SET", "str", "v"]);
        assert_eq!(effects(&mut s, &["SPOP", "str"]), nothing());
    }

    #[test]
    fn spop_with_count_propagates_what_it_removed() {
        let mut s = Session::new();
        assert_eq!(effects(&mut s, &["SPOP", "nokey", "3"]), nothing());
        s.run(&[
            "SADD", "s", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
        ]);
        assert_eq!(effects(&mut s, &["SPOP", "s", "0"]), nothing());
        assert_eq!(effects(&mut s, &["SPOP", "s", "-1"]), nothing());

        // One member: one SREM, not wrapped.
        let (reply, ev, prop) = s.check(&["SPOP", "s", "1"]);
        let popped = bulks(&reply);
        assert_eq!(ev, strs(&["spop s"]));
        assert_eq!(prop, vec![format!("SREM s {}", popped[0])]);

        // A few members (popped one by one): one SREM each, in the reply's order.
        let (reply, ev, prop) = s.check(&["SPOP", "s", "2"]);
        let popped = bulks(&reply);
        assert_eq!(popped.len(), 2);
        assert_eq!(ev, strs(&["spop s"]));
        let mut want = vec!["MULTI".to_string()];
        want.extend(popped.iter().map(|m| format!("SREM s {m}")));
        want.push("EXEC".to_string());
        assert_eq!(prop, want);

        // Most of the set (the remainder is rebuilt): the same, for every member.
        let (reply, ev, prop) = s.check(&["SPOP", "s", "6"]);
        let popped = bulks(&reply);
        assert_eq!(popped.len(), 6);
        assert_eq!(ev, strs(&["spop s"]));
        let mut want = vec!["MULTI".to_string()];
        want.extend(popped.iter().map(|m| format!("SREM s {m}")));
        want.push("EXEC".to_string());
        assert_eq!(prop, want);
        assert_eq!(s.run(&["SCARD", "s"]), ":1\r\n");

        // The whole set: DEL, whatever lazyfree-lazy-user-del says.
        s.run(&["CONFIG", "SET", "lazyfree-lazy-user-del", "yes"]);
        let (reply, ev, prop) = s.check(&["SPOP", "s", "5"]);
        assert_eq!(bulks(&reply).len(), 1);
        assert_eq!(ev, strs(&["spop s", "del s"]));
        assert_eq!(prop, strs(&["DEL s"]));
        assert_eq!(s.run(&["EXISTS", "s"]), ":0\r\n");
    }

    #[test]
    fn store_commands_events_and_propagation() {
        let mut s = Session::new();
        s.run(&["SADD", "a", "1", "2", "3"]);
        s.run(&["SADD", "b", "2", "3", "4"]);
        s.run(&["SADD", "c", "9"]);
        assert_eq!(
            effects(&mut s, &["SINTERSTORE", "dst", "a", "b"]),
            (strs(&["sinterstore dst"]), strs(&["SINTERSTORE dst a b"]))
        );
        // An empty result deletes an existing destination...
        assert_eq!(
            effects(&mut s, &["SINTERSTORE", "dst", "a", "nokey"]),
            (strs(&["del dst"]), strs(&["SINTERSTORE dst a nokey"]))
        );
        // ...and does nothing without one.
        assert_eq!(
            effects(&mut s, &["SINTERSTORE", "dst", "a", "nokey"]),
            nothing()
        );
        assert_eq!(
            effects(&mut s, &["SINTERSTORE", "dst", "a", "c"]),
            nothing()
        );
        s.run(&["SET", "dst", "string"]);
        assert_eq!(
            effects(&mut s, &["SUNIONSTORE", "dst", "a", "b"]),
            (strs(&["sunionstore dst"]), strs(&["SUNIONSTORE dst a b"]))
        );
        assert_eq!(
            effects(&mut s, &["SDIFFSTORE", "dst", "a", "b"]),
            (strs(&["sdiffstore dst"]), strs(&["SDIFFSTORE dst a b"]))
        );
        assert_eq!(
            effects(&mut s, &["sdiffstore", "dst", "a", "a"]),
            (strs(&["del dst"]), strs(&["sdiffstore dst a a"]))
        );
        assert_eq!(effects(&mut s, &["SUNIONSTORE", "dst", "nokey"]), nothing());
        s.run(&["SET", "str", "v"]);
        assert_eq!(
            effects(&mut s, &["SUNIONSTORE", "dst", "a", "str"]),
            nothing()
        );
        assert_eq!(effects(&mut s, &["SINTERCARD", "2", "a", "b"]), nothing());
        assert_eq!(effects(&mut s, &["SRANDMEMBER", "a", "2"]), nothing());
    }

    #[test]
    fn new_keys_fire_new_where_redis_creates_them() {
        let mut s = Session::new();
        s.run(&["CONFIG", "SET", "notify-keyspace-events", "KEAn"]);
        s.now_ms = Some(1_000);
        assert_eq!(
            effects(&mut s, &["SADD", "src", "x", "y"]).0,
            strs(&["new src", "sadd src"])
        );
        assert_eq!(
            effects(&mut s, &["SMOVE", "src", "nd", "x"]).0,
            strs(&["srem src", "new nd", "sadd nd"])
        );
        s.run(&["SADD", "dd", "z"]);
        s.run(&["PEXPIRE", "dd", "10"]);
        s.now_ms = Some(1_011);
        assert_eq!(
            effects(&mut s, &["SUNIONSTORE", "dd", "src"]).0,
            strs(&["expired dd", "new dd", "sunionstore dd"])
        );
    }

    #[test]
    fn store_commands_and_expired_keys() {
        let mut s = Session::new();
        s.now_ms = Some(1_000);
        s.run(&["SADD", "a", "1", "2"]);
        for key in ["dst", "dst2", "src", "bad"] {
            s.run(&["SADD", key, "z"]);
            s.run(&["PEXPIRE", key, "10"]);
        }
        s.now_ms = Some(1_011);
        // A result is stored after a write lookup of the destination.
        assert_eq!(
            effects(&mut s, &["SUNIONSTORE", "dst", "a"]),
            (
                strs(&["expired dst", "sunionstore dst"]),
                strs(&["MULTI", "DEL dst", "SUNIONSTORE dst a", "EXEC"])
            )
        );
        // An empty result deletes the destination unlooked-at, as Redis's dbDelete.
        assert_eq!(
            effects(&mut s, &["SINTERSTORE", "dst2", "a", "nokey"]),
            (strs(&["del dst2"]), strs(&["SINTERSTORE dst2 a nokey"]))
        );
        // A source met expired goes first.
        assert_eq!(
            effects(&mut s, &["SUNIONSTORE", "dst3", "src", "a"]),
            (
                strs(&["expired src", "sunionstore dst3"]),
                strs(&["MULTI", "DEL src", "SUNIONSTORE dst3 src a", "EXEC"])
            )
        );
        // Even when a later key fails the command.
        s.run(&["SET", "str", "v"]);
        let (reply, ev, prop) = s.check(&["SINTERSTORE", "dst3", "bad", "str"]);
        assert!(reply.starts_with("-WRONGTYPE"), "{reply}");
        assert_eq!((ev, prop), (strs(&["expired bad"]), strs(&["DEL bad"])));
    }
}
