//! Sorted set commands (Redis's t_zset.c): ZADD and ZINCRBY, lookups (ZSCORE, ZRANK,
//! ZCOUNT...), the range family (ZRANGE and its BYSCORE, BYLEX, REV and STORE forms),
//! removals (ZREM, ZREMRANGEBY*, the pops), ZRANDMEMBER, the set operations (ZUNION,
//! ZINTER, ZDIFF, their STORE forms and ZINTERCARD) and ZSCAN.
//!
//! As in Redis, commands are thin wrappers around a few generic functions: [`zadd_generic`]
//! (ZADD, ZINCRBY), [`range_generic`] (the seven range commands and ZRANGESTORE),
//! [`remrange_generic`], [`pop_generic`] (ZPOPMIN, ZPOPMAX, ZMPOP) and [`setop_generic`]
//! (ZUNION, ZINTER, ZDIFF, the STORE forms and ZINTERCARD). Every range is turned into
//! a range of ranks of the [`ZSet`]'s order-statistic tree, so offsets and counts are O(log n).
//!
//! Scores are read with Redis's `strtod` rules and printed as `%.17g`
//! ([`crate::util::num`]). A sorted set that becomes empty deletes its key.
//!
//! Write commands report what Redis reports for them (see [`crate::store::effects`]): their
//! event when they changed something (`zadd`, `zincr`, `zrem`, `zremrangebyscore`...,
//! `zpopmin`/`zpopmax`, the STORE forms' own names), then `del` when the key went. ZMPOP
//! is replayed as ZPOPMIN or ZPOPMAX with the number of members taken ([`pop_replay`]);
//! [`pop_members`] is the pop every pop command shares, blocking or not.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::keys::{parse_cursor, parse_scan_options};
use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::{Args, Reply};
use crate::store::class::{GENERIC, ZSET};
use crate::store::zset::{LexBound, LexRange, ScoreRange};
use crate::store::{Entry, Keyspace, Value, ZSet};
use crate::util::num::{format_double, parse_double, strtod};
use crate::util::rand::with_thread_rng;

/// The sorted set commands, with Redis 7.0's arity, flags and key positions.
#[rustfmt::skip]
pub const COMMANDS: &[Command] = &[
    Command::new("zadd", Handler::Write(zadd)),
    Command::new("zincrby", Handler::Write(zincrby)),
    Command::new("zrem", Handler::Write(zrem)),
    Command::new("zscore", Handler::Read(zscore)),
    Command::new("zmscore", Handler::Read(zmscore)),
    Command::new("zcard", Handler::Read(zcard)),
    Command::new("zcount", Handler::Read(zcount)),
    Command::new("zlexcount", Handler::Read(zlexcount)),
    Command::new("zrank", Handler::Read(zrank)),
    Command::new("zrevrank", Handler::Read(zrevrank)),
    Command::new("zrange", Handler::Read(zrange)),
    Command::new("zrangestore", Handler::Write(zrangestore)),
    Command::new("zrangebyscore", Handler::Read(zrangebyscore)),
    Command::new("zrevrangebyscore", Handler::Read(zrevrangebyscore)),
    Command::new("zrangebylex", Handler::Read(zrangebylex)),
    Command::new("zrevrangebylex", Handler::Read(zrevrangebylex)),
    Command::new("zrevrange", Handler::Read(zrevrange)),
    Command::new("zpopmin", Handler::Write(zpopmin)),
    Command::new("zpopmax", Handler::Write(zpopmax)),
    Command::new("zmpop", Handler::Write(zmpop)),
    Command::new("zrandmember", Handler::Read(zrandmember)),
    Command::new("zremrangebyrank", Handler::Write(zremrangebyrank)),
    Command::new("zremrangebyscore", Handler::Write(zremrangebyscore)),
    Command::new("zremrangebylex", Handler::Write(zremrangebylex)),
    Command::new("zunion", Handler::Read(zunion)),
    Command::new("zinter", Handler::Read(zinter)),
    Command::new("zdiff", Handler::Read(zdiff)),
    Command::new("zunionstore", Handler::Write(zunionstore)),
    Command::new("zinterstore", Handler::Write(zinterstore)),
    Command::new("zdiffstore", Handler::Write(zdiffstore)),
    Command::new("zintercard", Handler::Read(zintercard)),
    Command::new("zscan", Handler::Read(zscan)),
];

// Shared helpers.

/// The sorted set at `key` for reading (Redis's `lookupKeyRead`, counted as a hit or a
/// miss; the geo reads use it too): `Ok(None)` if absent, `WRONGTYPE` if not a sorted
/// set.
pub(super) fn read_zset<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    key: &[u8],
) -> Result<Option<&'a ZSet>, CmdError> {
    super::read_typed(ctx, ks, key, Entry::zset)
}

/// The sorted set at `key` for writing: `Ok(None)` if absent, `WRONGTYPE` if not a
/// sorted set.
fn write_zset<'a>(
    ctx: &Ctx,
    ks: &'a mut Keyspace,
    key: &[u8],
) -> Result<Option<&'a mut ZSet>, CmdError> {
    match ks.db_mut(ctx.client.db).get_mut(key, ctx.now_ms) {
        None => Ok(None),
        Some(e) => e.zset_mut().map(Some).ok_or(CmdError::WrongType),
    }
}

/// Deletes `key` of `db` if its sorted set became empty, as Redis does after every
/// removal; returns whether it did (the caller fires `del` after its own event).
/// The key was just written, so it is not looked up as a read (no `keymiss`) nor judged
/// by its time: on a replica, our master's writes meet keys past their time as they are.
fn drop_if_empty(ks: &mut Keyspace, db: usize, key: &[u8]) -> bool {
    let db = ks.db_mut(db);
    let empty = db
        .get_quietly(key, 0)
        .and_then(|e| e.zset())
        .is_some_and(ZSet::is_empty);
    if empty {
        db.delete(key);
    }
    empty
}

/// Reports a removal of `key` of `db` that took something: `event`, then `del` if the
/// set became empty and its key went (Redis's order in ZREM, ZREMRANGEBY* and the pops).
fn report_removal(ks: &mut Keyspace, db: usize, key: &[u8], event: &'static str, deleted: bool) {
    ks.changed(ZSET, event, db, key);
    if deleted {
        ks.notify(GENERIC, "del", db, key);
    }
}

/// A score reply, as Redis's `addReplyDouble`: a bulk string in RESP2, a double in RESP3.
pub fn reply_score(out: &mut Reply, score: f64) {
    out.double(score);
}

/// A list of members, with their scores when `withscores`: flat in RESP2, pairs in
/// RESP3 (Redis's `zrangeResultEmit*`).
fn reply_members<'a>(
    out: &mut Reply,
    items: impl ExactSizeIterator<Item = (&'a [u8], f64)>,
    withscores: bool,
) {
    match (withscores, out.resp3) {
        (true, false) => out.array(items.len() * 2),
        _ => out.array(items.len()),
    }
    for (member, score) in items {
        if withscores && out.resp3 {
            out.array(2);
        }
        out.bulk(member);
        if withscores {
            reply_score(out, score);
        }
    }
}

/// A count that must be >= 0, with Redis's `getPositiveLongFromObjectOrReply` error.
fn positive_arg(arg: &[u8], msg: &str) -> Result<i64, CmdError> {
    match crate::util::num::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(CmdError::err(msg)),
    }
}

/// One end of a score range, as Redis's `zslParseRange` reads it with `strtod`: `(` makes
/// it exclusive; the number must end the string (or reach a NUL byte), and NaN is
/// refused. The empty string reads as 0, as `strtod` leaves it.
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (body, exclusive) = match arg.strip_prefix(b"(") {
        Some(rest) => (rest, true),
        None => (arg, false),
    };
    let (value, used) = match strtod(body) {
        Some((v, used, _)) => (v, used),
        None => (0.0, 0),
    };
    let ends = body.get(used).is_none_or(|&c| c == 0);
    (ends && !value.is_nan()).then_some((value, exclusive))
}

/// Redis's `zslParseRange` (`ERR min or max is not a float`).
fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    let bad = || CmdError::err("min or max is not a float");
    let (min, minex) = parse_score_bound(min).ok_or_else(bad)?;
    let (max, maxex) = parse_score_bound(max).ok_or_else(bad)?;
    Ok(ScoreRange {
        min,
        max,
        minex,
        maxex,
    })
}

/// One end of a lex range, as Redis's `zslParseLexRangeItem`.
fn parse_lex_bound(arg: &[u8]) -> Option<LexBound> {
    let alone = arg.get(1).is_none_or(|&c| c == 0);
    match arg.first()? {
        b'+' if alone => Some(LexBound::Max),
        b'-' if alone => Some(LexBound::Min),
        b'(' => Some(LexBound::Exclusive(arg[1..].to_vec())),
        b'[' => Some(LexBound::Inclusive(arg[1..].to_vec())),
        _ => None,
    }
}

/// Redis's `zslParseLexRange` (`ERR min or max not valid string range item`).
fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
    let bad = || CmdError::err("min or max not valid string range item");
    Ok(LexRange {
        min: parse_lex_bound(min).ok_or_else(bad)?,
        max: parse_lex_bound(max).ok_or_else(bad)?,
    })
}

/// Rank arithmetic shared by ZRANGE and ZREMRANGEBYRANK: `start` and `stop` (negative
/// from the end, stop inclusive) as a range of ranks, empty when out of bounds.
fn rank_range(start: i64, stop: i64, len: usize) -> Range<usize> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        len + stop
    } else {
        stop.min(len - 1)
    };
    if start > stop || start >= len {
        return 0..0;
    }
    start as usize..stop as usize + 1
}

// ZADD and ZINCRBY.

/// ZADD's flags (Redis's `ZADD_IN_*`).
#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// Redis's `zsetAdd` on one member: the outcome, and the new score. `Err` is a NaN sum.
#[derive(Debug, PartialEq)]
enum Added {
    New(f64),
    Updated(f64),
    /// The score did not change (still "processed" for INCR's reply).
    Same(f64),
    /// Nothing done (NX, XX, GT, LT said no).
    Nop,
}

fn zset_add(
    z: &mut ZSet,
    member: &[u8],
    score: f64,
    f: &AddFlags,
    limits: &crate::store::Limits,
) -> Result<Added, CmdError> {
    match z.score(member) {
        Some(_) if f.nx => Ok(Added::Nop),
        Some(cur) => {
            let new = if f.incr { cur + score } else { score };
            if new.is_nan() {
                return Err(CmdError::err("resulting score is not a number (NaN)"));
            }
            if (f.lt && new >= cur) || (f.gt && new <= cur) {
                return Ok(Added::Nop);
            }
            if new == cur {
                return Ok(Added::Same(new));
            }
            z.insert(member, new, limits);
            Ok(Added::Updated(new))
        }
        None if f.xx => Ok(Added::Nop),
        None => {
            z.insert(member, score, limits);
            Ok(Added::New(score))
        }
    }
}

/// The shared body of ZADD and ZINCRBY (Redis's `zaddGenericCommand`): flags first, then
/// every score is parsed before anything changes.
pub(super) fn zadd_generic(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, incr: bool) -> CmdResult {
    let mut f = AddFlags {
        incr,
        ..AddFlags::default()
    };
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        let flag = match () {
            _ if is(a, "nx") => &mut f.nx,
            _ if is(a, "xx") => &mut f.xx,
            _ if is(a, "gt") => &mut f.gt,
            _ if is(a, "lt") => &mut f.lt,
            _ if is(a, "ch") => &mut f.ch,
            _ if is(a, "incr") => &mut f.incr,
            _ => break,
        };
        *flag = true;
        i += 1;
    }
    let elements = args.len() - i;
    if elements == 0 || elements % 2 == 1 {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && elements > 2 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let pairs: Vec<(f64, &[u8])> = (i..args.len())
        .step_by(2)
        .map(|k| {
            parse_double(&args[k])
                .map(|s| (s, &args[k + 1]))
                .ok_or_else(|| CmdError::err("value is not a valid float"))
        })
        .collect::<Result<_, _>>()?;
    let key = &args[1];
    let dbi = ctx.client.db;
    let limits = ctx.server.limits();
    if write_zset(ctx, ks, key)?.is_none() {
        if f.xx {
            reply_zadd(ctx.out, &f, None, 0);
            return Ok(());
        }
        ks.db_mut(dbi).set(key, Value::ZSet(ZSet::new()));
        ks.signal_ready(dbi, key);
    }
    let Some(z) = write_zset(ctx, ks, key)? else {
        return Ok(());
    };
    let (mut added, mut updated, mut last) = (0, 0, None);
    let mut failed = None;
    for (score, member) in pairs {
        match zset_add(z, member, score, &f, &limits) {
            Ok(Added::New(s)) => {
                added += 1;
                last = Some(s);
            }
            Ok(Added::Updated(s)) => {
                updated += 1;
                last = Some(s);
            }
            Ok(Added::Same(s)) => last = Some(s),
            Ok(Added::Nop) => {}
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    // As Redis: a NaN stops the command before it counts its changes, but what it did
    // before still fires the event.
    if failed.is_none() {
        ks.dirty += added + updated;
        let count = if f.ch { added + updated } else { added };
        reply_zadd(ctx.out, &f, last, count as i64);
    }
    if added + updated > 0 {
        ks.changed(ZSET, if f.incr { "zincr" } else { "zadd" }, dbi, key);
    }
    failed.map_or(Ok(()), Err)
}

/// ZADD's reply: the count, or with INCR the new score (nil if nothing was done).
fn reply_zadd(out: &mut Reply, f: &AddFlags, last: Option<f64>, count: i64) {
    match (f.incr, last) {
        (true, Some(s)) => reply_score(out, s),
        (true, None) => out.null(),
        (false, _) => out.int(count),
    }
}

/// ```text
/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
/// ```
/// The number of members added (with CH, added or changed); with INCR, the member's new
/// score, or nil when NX, XX, GT or LT prevented the change.
fn zadd(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    zadd_generic(ctx, ks, args, false)
}

/// ```text
/// ZINCRBY key increment member
/// ```
/// The member's new score.
fn zincrby(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    zadd_generic(ctx, ks, args, true)
}

// Removal.

/// ```text
/// ZREM key member [member ...]
/// ```
/// The number of members removed.
fn zrem(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let Some(z) = write_zset(ctx, ks, &args[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut removed = 0;
    for member in args.iter().skip(2) {
        if z.remove(member) {
            removed += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    let dbi = ctx.client.db;
    let deleted = drop_if_empty(ks, dbi, &args[1]);
    if removed > 0 {
        report_removal(ks, dbi, &args[1], "zrem", deleted);
        ks.dirty += removed;
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// Which range ZREMRANGEBY* and the range commands work on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Rank,
    Score,
    Lex,
}

/// A parsed range of any kind.
enum AnyRange {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

impl AnyRange {
    fn parse(kind: RangeKind, min: &[u8], max: &[u8]) -> Result<AnyRange, CmdError> {
        Ok(match kind {
            RangeKind::Rank => AnyRange::Rank(int_arg(min)?, int_arg(max)?),
            RangeKind::Score => AnyRange::Score(parse_score_range(min, max)?),
            RangeKind::Lex => AnyRange::Lex(parse_lex_range(min, max)?),
        })
    }

    /// The ranks this range covers in `z`, lowest first.
    fn ranks(&self, z: &ZSet) -> Range<usize> {
        match self {
            AnyRange::Rank(start, stop) => rank_range(*start, *stop, z.len()),
            AnyRange::Score(r) => z.score_ranks(r),
            AnyRange::Lex(r) => z.lex_ranks(r),
        }
    }
}

/// The shared body of ZREMRANGEBYRANK, ZREMRANGEBYSCORE and ZREMRANGEBYLEX (Redis's
/// `zremrangeGenericCommand`): the range is parsed before the key is looked up.
fn remrange_generic(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, kind: RangeKind) -> CmdResult {
    let range = AnyRange::parse(kind, &args[2], &args[3])?;
    let Some(z) = write_zset(ctx, ks, &args[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let removed = z.remove_ranks(range.ranks(z));
    let dbi = ctx.client.db;
    let deleted = drop_if_empty(ks, dbi, &args[1]);
    if removed > 0 {
        let event = match kind {
            RangeKind::Rank => "zremrangebyrank",
            RangeKind::Score => "zremrangebyscore",
            RangeKind::Lex => "zremrangebylex",
        };
        report_removal(ks, dbi, &args[1], event, deleted);
    }
    ks.dirty += removed as u64;
    ctx.out.int(removed as i64);
    Ok(())
}

/// ```text
/// ZREMRANGEBYRANK key start stop
/// ```
/// The number of members removed.
fn zremrangebyrank(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    remrange_generic(ctx, ks, args, RangeKind::Rank)
}

/// ```text
/// ZREMRANGEBYSCORE key min max
/// ```
/// The number of members removed.
fn zremrangebyscore(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    remrange_generic(ctx, ks, args, RangeKind::Score)
}

/// ```text
/// ZREMRANGEBYLEX key min max
/// ```
/// The number of members removed.
fn zremrangebylex(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    remrange_generic(ctx, ks, args, RangeKind::Lex)
}

// Lookups.

/// ```text
/// ZSCORE key member
/// ```
/// The member's score, or nil.
fn zscore(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    match read_zset(ctx, ks, &args[1])?.and_then(|z| z.score(&args[2])) {
        Some(s) => reply_score(ctx.out, s),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ```text
/// ZMSCORE key member [member ...]
/// ```
/// Each member's score, or nil.
fn zmscore(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let z = read_zset(ctx, ks, &args[1])?;
    ctx.out.array(args.len() - 2);
    for member in args.iter().skip(2) {
        match z.and_then(|z| z.score(member)) {
            Some(s) => reply_score(ctx.out, s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// ```text
/// ZCARD key
/// ```
/// The number of members (0 if the key is absent).
fn zcard(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let len = read_zset(ctx, ks, &args[1])?.map_or(0, ZSet::len);
    ctx.out.int(len as i64);
    Ok(())
}

/// The shared body of ZCOUNT and ZLEXCOUNT: the range first, then the key.
fn count_generic(ctx: &mut Ctx, ks: &Keyspace, args: &Args, kind: RangeKind) -> CmdResult {
    let range = AnyRange::parse(kind, &args[2], &args[3])?;
    let n = read_zset(ctx, ks, &args[1])?.map_or(0, |z| range.ranks(z).len());
    ctx.out.int(n as i64);
    Ok(())
}

/// ```text
/// ZCOUNT key min max
/// ```
/// The number of members with a score within min and max.
fn zcount(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    count_generic(ctx, ks, args, RangeKind::Score)
}

/// ```text
/// ZLEXCOUNT key min max
/// ```
/// The number of members within the lex range.
fn zlexcount(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    count_generic(ctx, ks, args, RangeKind::Lex)
}

/// The shared body of ZRANK and ZREVRANK.
fn rank_generic(ctx: &mut Ctx, ks: &Keyspace, args: &Args, rev: bool) -> CmdResult {
    let rank = read_zset(ctx, ks, &args[1])?.and_then(|z| {
        z.rank(&args[2])
            .map(|r| if rev { z.len() - 1 - r } else { r })
    });
    match rank {
        Some(r) => ctx.out.int(r as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ```text
/// ZRANK key member
/// ```
/// The member's rank, lowest score first, or nil.
fn zrank(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    rank_generic(ctx, ks, args, false)
}

/// ```text
/// ZREVRANK key member
/// ```
/// The member's rank, highest score first, or nil.
fn zrevrank(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    rank_generic(ctx, ks, args, true)
}

// The range family.

/// A parsed range request (Redis's `zrangeGenericCommand` steps 1 and 2).
struct RangeSpec {
    range: AnyRange,
    rev: bool,
    withscores: bool,
    /// LIMIT's offset and count (count < 0: no limit).
    limit: Option<(i64, i64)>,
}

impl RangeSpec {
    /// Parses the arguments from `first` (the source key) on. `kind` and `rev` are
    /// `None` for ZRANGE and ZRANGESTORE, which take BYSCORE, BYLEX and REV as options.
    fn parse(
        args: &Args,
        first: usize,
        store: bool,
        kind: Option<RangeKind>,
        rev: Option<bool>,
    ) -> Result<RangeSpec, CmdError> {
        let (mut kind, mut rev) = (kind, rev);
        let (mut withscores, mut limit) = (false, None);
        let mut j = first + 3;
        while j < args.len() {
            let left = args.len() - j - 1;
            let a = &args[j];
            if !store && is(a, "withscores") {
                withscores = true;
            } else if is(a, "limit") && left >= 2 {
                limit = Some((int_arg(&args[j + 1])?, int_arg(&args[j + 2])?));
                j += 2;
            } else if rev.is_none() && is(a, "rev") {
                rev = Some(true);
            } else if kind.is_none() && is(a, "bylex") {
                kind = Some(RangeKind::Lex);
            } else if kind.is_none() && is(a, "byscore") {
                kind = Some(RangeKind::Score);
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        let kind = kind.unwrap_or(RangeKind::Rank);
        let rev = rev.unwrap_or(false);
        if kind == RangeKind::Rank {
            // Redis only notices a LIMIT whose count is not -1, and ignores the rest.
            if limit.is_some_and(|(_, count)| count != -1) {
                return Err(CmdError::err(
                    "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
                ));
            }
            limit = None;
        }
        if withscores && kind == RangeKind::Lex {
            return Err(CmdError::err(
                "syntax error, WITHSCORES not supported in combination with BYLEX",
            ));
        }
        // A reversed score or lex range is given as max, min.
        let (mut min, mut max) = (&args[first + 1], &args[first + 2]);
        if rev && kind != RangeKind::Rank {
            std::mem::swap(&mut min, &mut max);
        }
        Ok(RangeSpec {
            range: AnyRange::parse(kind, min, max)?,
            rev,
            withscores,
            limit,
        })
    }

    /// The ranks to return from `z`, and whether to walk them highest first.
    fn select(&self, z: &ZSet) -> Range<usize> {
        let ranks = match &self.range {
            // A reversed rank range counts from the end.
            AnyRange::Rank(start, stop) if self.rev => {
                let r = rank_range(*start, *stop, z.len());
                z.len() - r.end..z.len() - r.start
            }
            other => other.ranks(z),
        };
        let Some((offset, count)) = self.limit else {
            return ranks;
        };
        if offset < 0 {
            return 0..0;
        }
        let len = ranks.len();
        let skip = (offset as usize).min(len);
        let take = if count < 0 {
            len - skip
        } else {
            (count as usize).min(len - skip)
        };
        if self.rev {
            ranks.end - skip - take..ranks.end - skip
        } else {
            ranks.start + skip..ranks.start + skip + take
        }
    }
}

/// The shared body of the range commands that reply (Redis's `zrangeGenericCommand`
/// with a client handler).
fn range_generic(
    ctx: &mut Ctx,
    ks: &Keyspace,
    args: &Args,
    kind: Option<RangeKind>,
    rev: Option<bool>,
) -> CmdResult {
    let spec = RangeSpec::parse(args, 1, false, kind, rev)?;
    let Some(z) = read_zset(ctx, ks, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let items = z.iter_ranks(spec.select(z), spec.rev);
    reply_members(ctx.out, items, spec.withscores);
    Ok(())
}

/// ```text
/// ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
/// ```
/// The members in the range (by rank unless BYSCORE or BYLEX), with their scores when
/// asked.
fn zrange(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    range_generic(ctx, ks, args, None, None)
}

/// ```text
/// ZREVRANGE key start stop [WITHSCORES]
/// ```
fn zrevrange(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    range_generic(ctx, ks, args, Some(RangeKind::Rank), Some(true))
}

/// ```text
/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
/// ```
fn zrangebyscore(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    range_generic(ctx, ks, args, Some(RangeKind::Score), Some(false))
}

/// ```text
/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
/// ```
fn zrevrangebyscore(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    range_generic(ctx, ks, args, Some(RangeKind::Score), Some(true))
}

/// ```text
/// ZRANGEBYLEX key min max [LIMIT offset count]
/// ```
fn zrangebylex(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    range_generic(ctx, ks, args, Some(RangeKind::Lex), Some(false))
}

/// ```text
/// ZREVRANGEBYLEX key max min [LIMIT offset count]
/// ```
fn zrevrangebylex(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    range_generic(ctx, ks, args, Some(RangeKind::Lex), Some(true))
}

/// Stores `z` at `dst` and replies with its size, firing `event`, or deletes `dst` and
/// replies 0 when `z` is empty, firing `del` if there was a key (Redis's store
/// finalizers). The destination is built fresh, so it is a listpack again if it fits.
///
/// As in Redis, storing looks the destination up first (an expired one fires `expired`
/// before the command's event), while deleting does not: an expired destination is
/// deleted as any other.
pub(super) fn store_result(
    ctx: &mut Ctx,
    ks: &mut Keyspace,
    dst: &[u8],
    z: ZSet,
    event: &'static str,
) {
    let dbi = ctx.client.db;
    let len = z.len();
    if len > 0 {
        let db = ks.db_mut(dbi);
        db.get_mut(dst, ctx.now_ms);
        db.set(dst, Value::ZSet(z));
        ks.signal_ready(dbi, dst);
        ks.changed(ZSET, event, dbi, dst);
        ks.dirty += 1;
    } else if ks.db_mut(dbi).delete(dst).is_some() {
        ks.changed(GENERIC, "del", dbi, dst);
        ks.dirty += 1;
    }
    ctx.out.int(len as i64);
}

/// ```text
/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
/// ```
/// Stores the range at dst; the number of members stored.
fn zrangestore(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let spec = RangeSpec::parse(args, 2, true, None, None)?;
    let limits = ctx.server.limits();
    let mut out = ZSet::new();
    if let Some(z) = read_zset(ctx, ks, &args[2])? {
        for (member, score) in z.iter_ranks(spec.select(z), spec.rev) {
            out.insert(member, score, &limits);
        }
    }
    // An expired source goes before the destination is touched, as Redis's read lookup
    // deletes it.
    ks.reap_stale();
    store_result(ctx, ks, &args[1], out, "zrangestore");
    Ok(())
}

// Pops.

/// Which end a pop takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Min,
    Max,
}

impl End {
    /// Parses `MIN` or `MAX`, ignoring case (`ERR syntax error` otherwise).
    pub fn parse(arg: &[u8]) -> Result<End, CmdError> {
        if is(arg, "min") {
            Ok(End::Min)
        } else if is(arg, "max") {
            Ok(End::Max)
        } else {
            Err(CmdError::Syntax)
        }
    }
}

/// The event a pop from `end` fires.
fn pop_event(end: End) -> &'static str {
    match end {
        End::Min => "zpopmin",
        End::Max => "zpopmax",
    }
}

/// The command a pop from `end` is replayed as: `ZPOPMIN key [count]` or `ZPOPMAX key
/// [count]`, `count` being how many members it took (Redis's rewrite of ZMPOP, BZPOPMIN,
/// BZPOPMAX and BZMPOP, and what serving a blocked client propagates).
pub fn pop_replay(end: End, key: &[u8], count: Option<usize>) -> Vec<Vec<u8>> {
    let name: &[u8] = match end {
        End::Min => b"ZPOPMIN",
        End::Max => b"ZPOPMAX",
    };
    let mut words = vec![name.to_vec(), key.to_vec()];
    if let Some(n) = count {
        words.push(n.to_string().into_bytes());
    }
    words
}

/// Pops up to `count` members from `end` of the sorted set at `key` of `db` (the removal
/// step of Redis's `genericZpopCommand`, which every pop shares, blocking or not).
/// `emit` is given how many members are taken, then those members with their scores,
/// lowest first for `Min` and highest first for `Max`, before they go.
///
/// Returns `Ok(None)` if there is no such key (an expired one is removed, as a write
/// lookup does) and `WRONGTYPE` if it is not a sorted set. Otherwise it reports what Redis
/// reports: each member taken counts as a change, and if any was, the key fires
/// `zpopmin` or `zpopmax` and is modified, then `del` if the set became empty and its key
/// was deleted. The replay is the caller's: the words as given for ZPOPMIN and ZPOPMAX,
/// [`pop_replay`] for the others.
pub fn pop_members<R>(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    end: End,
    count: usize,
    now_ms: u64,
    emit: impl FnOnce(usize, &mut dyn Iterator<Item = (&[u8], f64)>) -> R,
) -> Result<Option<R>, CmdError> {
    let Some(entry) = ks.db_mut(db).get_mut(key, now_ms) else {
        return Ok(None);
    };
    let z = entry.zset_mut().ok_or(CmdError::WrongType)?;
    let n = count.min(z.len());
    let ranks = match end {
        End::Min => 0..n,
        End::Max => z.len() - n..z.len(),
    };
    let result = emit(n, &mut z.iter_ranks(ranks.clone(), end == End::Max));
    z.remove_ranks(ranks);
    if n > 0 {
        ks.dirty += n as u64;
        let deleted = drop_if_empty(ks, db, key);
        report_removal(ks, db, key, pop_event(end), deleted);
    }
    Ok(Some(result))
}

/// The shared body of ZPOPMIN, ZPOPMAX and ZMPOP (Redis's `genericZpopCommand`): pops up
/// to `count` members (`None`: one, replied flat) from the first non-empty key. ZMPOP
/// (`emit_key`) names the key, replies nil when every key is empty, and is replayed as
/// ZPOPMIN or ZPOPMAX of the key with the number of members taken.
fn pop_generic(
    ctx: &mut Ctx,
    ks: &mut Keyspace,
    keys: &[&[u8]],
    end: End,
    count: Option<usize>,
    emit_key: bool,
) -> CmdResult {
    let mut found = Ok(None);
    for key in keys {
        // Redis looks them up for writing: no keymiss.
        let lookup = ks.db(ctx.client.db).get_quietly(key, ctx.expiry_now());
        match lookup
            .map(|e| e.zset().ok_or(CmdError::WrongType))
            .transpose()
        {
            Ok(None) => continue,
            Ok(Some(_)) => found = Ok(Some(*key)),
            Err(e) => found = Err(e),
        }
        break;
    }
    // The expired keys met on the way go now, in order, as Redis's write lookups delete
    // them.
    ks.reap_stale();
    let Some(key) = found? else {
        if emit_key {
            ctx.out.null_array();
        } else {
            ctx.out.array(0);
        }
        return Ok(());
    };
    if count == Some(0) {
        ctx.out.array(0);
        return Ok(());
    }
    let nested = emit_key || (ctx.out.resp3 && count.is_some());
    let (dbi, now_ms) = (ctx.client.db, ctx.now_ms);
    let out = &mut *ctx.out;
    let taken = pop_members(ks, dbi, key, end, count.unwrap_or(1), now_ms, |n, items| {
        if emit_key {
            out.array(2);
            out.bulk(key);
        }
        out.array(if nested { n } else { n * 2 });
        for (member, score) in items {
            if nested {
                out.array(2);
            }
            out.bulk(member);
            reply_score(out, score);
        }
        n
    })?;
    if emit_key {
        if let Some(n) = taken {
            ks.rewrite(&pop_replay(end, key, Some(n)));
        }
    }
    Ok(())
}

/// ZPOPMIN and ZPOPMAX: at most one count argument.
fn zpop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.len() {
        3 => Some(positive_arg(&args[2], "value is out of range, must be positive")? as usize),
        _ => None,
    };
    pop_generic(ctx, ks, &[&args[1]], end, count, false)
}

/// ```text
/// ZPOPMIN key [count]
/// ```
/// The lowest members and their scores, flat (pairs in RESP3 with a count).
fn zpopmin(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    zpop(ctx, ks, args, End::Min)
}

/// ```text
/// ZPOPMAX key [count]
/// ```
/// The highest members and their scores, highest first.
fn zpopmax(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    zpop(ctx, ks, args, End::Max)
}

/// ```text
/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
/// ```
/// The first non-empty key and its popped members with scores, or nil.
fn zmpop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let (keys, end, count) = super::list::parse_mpop_with(args, 1, End::parse)?;
    let keys: Vec<&[u8]> = keys.map(|k| &args[k]).collect();
    pop_generic(ctx, ks, &keys, end, Some(count), true)
}

// ZRANDMEMBER.

/// ```text
/// ZRANDMEMBER key [count [WITHSCORES]]
/// ```
/// One random member (nil if absent); with a count, up to count distinct members, or
/// with a negative count exactly -count members that may repeat.
fn zrandmember(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    if args.len() == 2 {
        match read_zset(ctx, ks, &args[1])? {
            Some(z) => {
                let rank = with_thread_rng(|r| r.below(z.len() as u64)) as usize;
                if let Some((m, _)) = z.iter_ranks(rank..rank + 1, false).next() {
                    ctx.out.bulk(m);
                }
            }
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let l = int_arg(&args[2])?;
    if l == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match args.len() {
        3 => false,
        4 if is(&args[3], "withscores") => {
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
                return Err(CmdError::err("value is out of range"));
            }
            true
        }
        _ => return Err(CmdError::Syntax),
    };
    let Some(z) = read_zset(ctx, ks, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let count = l.unsigned_abs() as usize;
    if l < 0 {
        super::check_draws(ctx, count as u64, if withscores { 12 } else { 6 })?;
    }
    let len = z.len();
    let ranks: Vec<usize> = with_thread_rng(|rng| {
        if l < 0 {
            (0..count).map(|_| rng.below(len as u64) as usize).collect()
        } else if count >= len {
            // The whole set, highest first, as Redis walks it from the tail.
            (0..len).rev().collect()
        } else {
            // A partial Fisher-Yates shuffle of 0..len, sparse: distinct, random order.
            let mut swapped: HashMap<usize, usize> = HashMap::new();
            (0..count)
                .map(|i| {
                    let j = i + rng.below((len - i) as u64) as usize;
                    let at_j = *swapped.get(&j).unwrap_or(&j);
                    let at_i = *swapped.get(&i).unwrap_or(&i);
                    swapped.insert(j, at_i);
                    at_j
                })
                .collect()
        }
    });
    let picked: Vec<(&[u8], f64)> = ranks
        .into_iter()
        .filter_map(|r| z.iter_ranks(r..r + 1, false).next())
        .collect();
    reply_members(ctx.out, picked.into_iter(), withscores);
    Ok(())
}

// The set operations.

/// Which set operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// How scores of the same member combine (AGGREGATE).
#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`.
    fn apply(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => *target = target.min(value),
            Aggregate::Max => *target = target.max(value),
        }
    }
}

/// One input of a set operation: a sorted set, or a plain set whose members all score 1
/// (Redis accepts both).
enum Source<'a> {
    Missing,
    Sorted(&'a ZSet),
    Plain(Vec<Vec<u8>>, HashSet<Vec<u8>>),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Sorted(z) => z.len(),
            Source::Plain(v, _) => v.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Sorted(z) => z.score(member),
            Source::Plain(_, s) => s.contains(member).then_some(1.0),
        }
    }

    fn items(&self) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match self {
            Source::Missing => Box::new(std::iter::empty()),
            Source::Sorted(z) => Box::new(z.iter()),
            Source::Plain(v, _) => Box::new(v.iter().map(|m| (m.as_slice(), 1.0))),
        }
    }
}

/// What a set operation produced.
enum SetOpResult {
    Set(ZSet),
    Cardinality(usize),
}

/// The shared body of ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (Redis's
/// `zunionInterDiffGenericCommand`): numkeys, the keys (type-checked before the options
/// are parsed), then WEIGHTS, AGGREGATE, WITHSCORES or LIMIT as the command allows.
/// Returns the result and whether WITHSCORES was given.
fn setop_generic(
    ctx: &mut Ctx,
    ks: &Keyspace,
    args: &Args,
    numkeys_idx: usize,
    op: SetOp,
    store: bool,
    card_only: bool,
) -> Result<(SetOpResult, bool), CmdError> {
    let setnum = int_arg(&args[numkeys_idx])?;
    if setnum < 1 {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    let first = numkeys_idx + 1;
    if setnum as u64 > (args.len() - first) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let mut src: Vec<(Source, f64)> = Vec::with_capacity(setnum);
    for k in first..first + setnum {
        // Each key counts a hit or a miss, up to one of the wrong type.
        let s = match super::read_key(ctx, ks, &args[k]) {
            None => Source::Missing,
            Some(e) => match (e.zset(), e.as_set()) {
                (Some(z), _) => Source::Sorted(z),
                (None, Some(set)) => {
                    let mut members = Vec::with_capacity(set.len());
                    set.try_for_each(|m| {
                        members.push(m.to_vec());
                        Ok::<(), ()>(())
                    })
                    .ok();
                    let lookup = members.iter().cloned().collect();
                    Source::Plain(members, lookup)
                }
                (None, None) => return Err(CmdError::WrongType),
            },
        };
        src.push((s, 1.0));
    }
    let (mut aggregate, mut withscores, mut limit) = (Aggregate::Sum, false, 0usize);
    let mut j = first + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if op != SetOp::Diff && !card_only && remaining > setnum && is(a, "weights") {
            for (k, s) in src.iter_mut().enumerate() {
                s.1 = parse_double(&args[j + 1 + k])
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
            }
            j += 1 + setnum;
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && is(a, "aggregate") {
            aggregate = match &args[j + 1] {
                v if is(v, "sum") => Aggregate::Sum,
                v if is(v, "min") => Aggregate::Min,
                v if is(v, "max") => Aggregate::Max,
                _ => return Err(CmdError::Syntax),
            };
            j += 2;
        } else if !store && !card_only && is(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && is(a, "limit") {
            limit = positive_arg(&args[j + 1], "LIMIT can't be negative")? as usize;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if op != SetOp::Diff {
        // Smallest first, as Redis sorts its inputs (it decides the order sums are
        // added in).
        src.sort_by_key(|s| s.0.len());
    }
    let limits = ctx.server.limits();
    let weighted = |score: f64, weight: f64| {
        let v = score * weight;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    let mut out = ZSet::new();
    let mut cardinality = 0;
    match op {
        SetOp::Inter => {
            if src[0].0.len() > 0 {
                'members: for (member, score) in src[0].0.items() {
                    let mut total = weighted(score, src[0].1);
                    for (s, weight) in &src[1..] {
                        let Some(v) = s.score(member) else {
                            continue 'members;
                        };
                        aggregate.apply(&mut total, v * weight);
                    }
                    if card_only {
                        cardinality += 1;
                        if limit > 0 && cardinality >= limit {
                            break;
                        }
                    } else {
                        out.insert(member, total, &limits);
                    }
                }
            }
        }
        SetOp::Union => {
            let mut acc: HashMap<&[u8], f64> = HashMap::new();
            let mut order: Vec<&[u8]> = Vec::new();
            for (s, weight) in &src {
                for (member, score) in s.items() {
                    let v = weighted(score, *weight);
                    match acc.get_mut(member) {
                        Some(total) => aggregate.apply(total, v),
                        None => {
                            acc.insert(member, v);
                            order.push(member);
                        }
                    }
                }
            }
            for member in order {
                out.insert(member, acc[member], &limits);
            }
        }
        SetOp::Diff => {
            for (member, score) in src[0].0.items() {
                if !src[1..].iter().any(|(s, _)| s.score(member).is_some()) {
                    out.insert(member, score, &limits);
                }
            }
        }
    }
    let result = if card_only {
        SetOpResult::Cardinality(cardinality)
    } else {
        SetOpResult::Set(out)
    };
    Ok((result, withscores))
}

/// ZUNION, ZINTER and ZDIFF: the result, with scores when asked.
fn setop_reply(ctx: &mut Ctx, ks: &Keyspace, args: &Args, op: SetOp) -> CmdResult {
    if let (SetOpResult::Set(z), withscores) = setop_generic(ctx, ks, args, 1, op, false, false)? {
        reply_members(ctx.out, z.iter(), withscores);
    }
    Ok(())
}

/// ZUNIONSTORE, ZINTERSTORE and ZDIFFSTORE: the result stored at the destination.
fn setop_store(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, op: SetOp) -> CmdResult {
    let result = setop_generic(ctx, ks, args, 2, op, true, false);
    // The expired sources go now, in order, before the destination is touched (even if
    // the options turn out wrong), as Redis's read lookups delete them.
    ks.reap_stale();
    if let (SetOpResult::Set(z), _) = result? {
        let event = match op {
            SetOp::Union => "zunionstore",
            SetOp::Inter => "zinterstore",
            SetOp::Diff => "zdiffstore",
        };
        store_result(ctx, ks, &args[1], z, event);
    }
    Ok(())
}

/// ```text
/// ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
/// ```
fn zunion(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    setop_reply(ctx, ks, args, SetOp::Union)
}

/// ```text
/// ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
/// ```
fn zinter(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    setop_reply(ctx, ks, args, SetOp::Inter)
}

/// ```text
/// ZDIFF numkeys key [key ...] [WITHSCORES]
/// ```
fn zdiff(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    setop_reply(ctx, ks, args, SetOp::Diff)
}

/// ```text
/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
/// ```
/// The size of the stored result.
fn zunionstore(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    setop_store(ctx, ks, args, SetOp::Union)
}

/// ```text
/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
/// ```
/// The size of the stored result.
fn zinterstore(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    setop_store(ctx, ks, args, SetOp::Inter)
}

/// ```text
/// ZDIFFSTORE destination numkeys key [key ...]
/// ```
/// The size of the stored result.
fn zdiffstore(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    setop_store(ctx, ks, args, SetOp::Diff)
}

/// ```text
/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
/// ```
/// The size of the intersection, counting stopped at LIMIT when it is not 0.
fn zintercard(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    if let (SetOpResult::Cardinality(n), _) =
        setop_generic(ctx, ks, args, 1, SetOp::Inter, false, true)?
    {
        ctx.out.int(n as i64);
    }
    Ok(())
}

// ZSCAN.

/// ```text
/// ZSCAN key cursor [MATCH pattern] [COUNT count]
/// ```
/// The next cursor and a flat list of members and scores. A listpack sorted set comes
/// whole, in order, in one call with cursor 0 (COUNT is ignored, as in Redis); a larger
/// one is walked through its member table with a real cursor. MATCH filters members.
fn zscan(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(z) = read_zset(ctx, ks, &args[1])? else {
        ctx.out.raw(b"*2\r\n$1\r\n0\r\n*0\r\n");
        return Ok(());
    };
    let opts = parse_scan_options(args, 3, false)?;
    let mut found: Vec<(&[u8], Vec<u8>)> = Vec::new();
    let next = if z.is_listpack() {
        found.extend(z.iter().map(|(m, s)| (m, listpack_score_text(s))));
        0
    } else {
        z.scan(cursor, opts.count, |m, s| found.push((m, format_double(s))))
    };
    if let Some(p) = opts.pattern {
        found.retain(|(m, _)| crate::util::glob::matches(p, m, false));
    }
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(found.len() * 2);
    for (member, score) in found {
        out.bulk(member);
        out.bulk(&score);
    }
    Ok(())
}

/// A score as a listpack holds it, which is what ZSCAN returns for a listpack set: an
/// integer within ±2^62 as its digits (Redis's `double2ll`, so -0 reads 0), anything
/// else as `%.17g`.
fn listpack_score_text(score: f64) -> Vec<u8> {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if (-LIMIT..=LIMIT).contains(&score) && score.fract() == 0.0 {
        (score as i64).to_string().into_bytes()
    } else {
        format_double(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bounds_follow_zsl_parse_range() {
        assert_eq!(parse_score_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(parse_score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(parse_score_bound(b""), Some((0.0, false)));
        assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_score_bound(b" 2"), Some((2.0, false)));
        assert_eq!(parse_score_bound(b"3\0x"), Some((3.0, false)));
        assert_eq!(parse_score_bound(b"nan"), None);
        assert_eq!(parse_score_bound(b"1 "), None);
        assert_eq!(parse_score_bound(b"x"), None);
        assert_eq!(parse_score_bound(b"[1"), None);
    }

    #[test]
    fn lex_bounds_follow_zsl_parse_lex_range_item() {
        assert_eq!(parse_lex_bound(b"+"), Some(LexBound::Max));
        assert_eq!(parse_lex_bound(b"-"), Some(LexBound::Min));
        assert_eq!(
            parse_lex_bound(b"(a"),
            Some(LexBound::Exclusive(b"a".to_vec()))
        );
        assert_eq!(parse_lex_bound(b"["), Some(LexBound::Inclusive(Vec::new())));
        assert_eq!(parse_lex_bound(b"+a"), None);
        assert_eq!(parse_lex_bound(b"a"), None);
        assert_eq!(parse_lex_bound(b""), None);
    }

    #[test]
    fn rank_ranges_clamp_like_redis() {
        assert_eq!(rank_range(0, -1, 5), 0..5);
        assert_eq!(rank_range(-100, 100, 5), 0..5);
        assert_eq!(rank_range(3, 1, 5), 0..0);
        assert_eq!(rank_range(5, 10, 5), 0..0);
        assert_eq!(rank_range(-2, -1, 5), 3..5);
        assert_eq!(rank_range(0, -1, 0), 0..0);
    }
}

/// What each write command reports: its events and the commands it propagates, as
/// Redis 7.0.15's t_zset.c does.
#[cfg(test)]
mod effects_tests {
    use crate::command::testing::{strs, Session};

    fn none() -> Vec<String> {
        Vec::new()
    }

    #[test]
    fn zadd_and_zincrby_report_only_changes() {
        let mut s = Session::new();
        let (reply, ev, prop) = s.check(&["ZADD", "z", "1", "a", "2", "b"]);
        assert_eq!(reply, ":2\r\n");
        assert_eq!(ev, strs(&["zadd z"]));
        assert_eq!(prop, strs(&["ZADD z 1 a 2 b"]));
        // Same score, XX on a missing member, NX on an existing one: nothing.
        for cmd in [
            &["ZADD", "z", "1", "a"][..],
            &["ZADD", "z", "XX", "1", "c"],
            &["ZADD", "z", "NX", "5", "a"],
            &["ZADD", "z", "GT", "0", "a"],
            &["ZADD", "z", "LT", "CH", "9", "b"],
            &["ZADD", "nokey", "XX", "1", "a"],
            &["ZINCRBY", "z", "0", "a"],
            &["ZADD", "z", "NX", "INCR", "1", "a"],
        ] {
            let (_, ev, prop) = s.check(cmd);
            assert_eq!((ev, prop), (none(), none()), "{cmd:?}");
        }
        assert_eq!(s.run(&["EXISTS", "nokey"]), ":0\r\n");
        // An update (with CH or not) fires zadd; INCR, as an option or as ZINCRBY, zincr.
        let (reply, ev, prop) = s.check(&["ZADD", "z", "CH", "3", "b", "3", "c"]);
        assert_eq!(reply, ":2\r\n");
        assert_eq!(
            (ev, prop),
            (strs(&["zadd z"]), strs(&["ZADD z CH 3 b 3 c"]))
        );
        let (_, ev, prop) = s.check(&["ZADD", "z", "XX", "4", "b"]);
        assert_eq!((ev, prop), (strs(&["zadd z"]), strs(&["ZADD z XX 4 b"])));
        let (reply, ev, prop) = s.check(&["ZADD", "z", "INCR", "5", "a"]);
        assert_eq!(reply, "$1\r\n6\r\n");
        assert_eq!((ev, prop), (strs(&["zincr z"]), strs(&["ZADD z INCR 5 a"])));
        let (_, ev, prop) = s.check(&["ZINCRBY", "z", "1", "new"]);
        assert_eq!((ev, prop), (strs(&["zincr z"]), strs(&["ZINCRBY z 1 new"])));
        // Errors report nothing.
        s.run(&["ZADD", "inf", "inf", "m"]);
        let (reply, ev, prop) = s.check(&["ZINCRBY", "inf", "-inf", "m"]);
        assert!(reply.starts_with("-ERR resulting score is not a number"));
        assert_eq!((ev, prop), (none(), none()));
        let (_, ev, prop) = s.check(&["ZADD", "z", "1", "a", "x", "b"]);
        assert_eq!((ev, prop), (none(), none()));
    }

    #[test]
    fn zrem_fires_del_after_zrem_when_the_set_empties() {
        let mut s = Session::new();
        s.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        let (_, ev, prop) = s.check(&["ZREM", "z", "x"]);
        assert_eq!((ev, prop), (none(), none()));
        let (_, ev, prop) = s.check(&["ZREM", "nokey", "x"]);
        assert_eq!((ev, prop), (none(), none()));
        let (reply, ev, prop) = s.check(&["ZREM", "z", "a", "x"]);
        assert_eq!(reply, ":1\r\n");
        assert_eq!((ev, prop), (strs(&["zrem z"]), strs(&["ZREM z a x"])));
        let (reply, ev, prop) = s.check(&["ZREM", "z", "b", "x", "c", "d"]);
        assert_eq!(reply, ":2\r\n");
        assert_eq!(
            (ev, prop),
            (strs(&["zrem z", "del z"]), strs(&["ZREM z b x c d"]))
        );
        assert_eq!(s.run(&["EXISTS", "z"]), ":0\r\n");
    }

    #[test]
    fn zremrangeby_star_events() {
        let mut s = Session::new();
        s.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
        for cmd in [
            &["ZREMRANGEBYSCORE", "z", "5", "6"][..],
            &["ZREMRANGEBYRANK", "z", "5", "6"],
            &["ZREMRANGEBYLEX", "z", "[x", "+"],
            &["ZREMRANGEBYLEX", "nokey", "-", "+"],
            &["ZREMRANGEBYSCORE", "z", "x", "1"],
        ] {
            let (_, ev, prop) = s.check(cmd);
            assert_eq!((ev, prop), (none(), none()), "{cmd:?}");
        }
        let (_, ev, prop) = s.check(&["ZREMRANGEBYSCORE", "z", "1", "1"]);
        assert_eq!(
            (ev, prop),
            (
                strs(&["zremrangebyscore z"]),
                strs(&["ZREMRANGEBYSCORE z 1 1"])
            )
        );
        let (_, ev, prop) = s.check(&["ZREMRANGEBYRANK", "z", "0", "0"]);
        assert_eq!(
            (ev, prop),
            (
                strs(&["zremrangebyrank z"]),
                strs(&["ZREMRANGEBYRANK z 0 0"])
            )
        );
        let (reply, ev, prop) = s.check(&["ZREMRANGEBYLEX", "z", "-", "+"]);
        assert_eq!(reply, ":2\r\n");
        assert_eq!(
            (ev, prop),
            (
                strs(&["zremrangebylex z", "del z"]),
                strs(&["ZREMRANGEBYLEX z - +"])
            )
        );
    }

    #[test]
    fn zpopmin_and_zpopmax_propagate_verbatim() {
        let mut s = Session::new();
        s.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
        let (reply, ev, prop) = s.check(&["ZPOPMIN", "z"]);
        assert_eq!(reply, "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
        assert_eq!((ev, prop), (strs(&["zpopmin z"]), strs(&["ZPOPMIN z"])));
        let (_, ev, prop) = s.check(&["ZPOPMAX", "z", "0"]);
        assert_eq!((ev, prop), (none(), none()));
        let (_, ev, prop) = s.check(&["ZPOPMAX", "nokey", "3"]);
        assert_eq!((ev, prop), (none(), none()));
        let (_, ev, prop) = s.check(&["ZPOPMAX", "z", "1"]);
        assert_eq!((ev, prop), (strs(&["zpopmax z"]), strs(&["ZPOPMAX z 1"])));
        // More than there is: every member, one event, then del; the words as given.
        let (reply, ev, prop) = s.check(&["ZPOPMAX", "z", "10"]);
        assert_eq!(reply, "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n");
        assert_eq!(
            (ev, prop),
            (strs(&["zpopmax z", "del z"]), strs(&["ZPOPMAX z 10"]))
        );
        s.run(&["SET", "str", "v"]);
        let (_, ev, prop) = s.check(&["ZPOPMIN", "str"]);
        assert_eq!((ev, prop), (none(), none()));
    }

    #[test]
    fn zmpop_is_replayed_as_a_pop_with_the_count_taken() {
        let mut s = Session::new();
        s.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        let (reply, ev, prop) = s.check(&["ZMPOP", "1", "z", "MIN"]);
        assert_eq!(reply, "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
        assert_eq!((ev, prop), (strs(&["zpopmin z"]), strs(&["ZPOPMIN z 1"])));
        let (_, ev, prop) = s.check(&["ZMPOP", "2", "nokey", "z", "max", "COUNT", "5"]);
        assert_eq!(
            (ev, prop),
            (strs(&["zpopmax z", "del z"]), strs(&["ZPOPMAX z 2"]))
        );
        let (reply, ev, prop) = s.check(&["ZMPOP", "1", "z", "MIN"]);
        assert_eq!(reply, "*-1\r\n");
        assert_eq!((ev, prop), (none(), none()));
    }

    #[test]
    fn pops_expire_the_keys_they_pass_first() {
        let mut s = Session::new();
        s.now_ms = Some(1_000_000);
        s.run(&["ZADD", "gone", "1", "m"]);
        s.run(&["PEXPIRE", "gone", "10"]);
        s.run(&["ZADD", "z", "1", "a", "2", "b"]);
        s.now_ms = Some(2_000_000);
        let (_, ev, prop) = s.check(&["ZMPOP", "3", "gone", "nokey", "z", "MIN"]);
        assert_eq!(ev, strs(&["expired gone", "zpopmin z"]));
        assert_eq!(prop, strs(&["MULTI", "DEL gone", "ZPOPMIN z 1", "EXEC"]));
        // Even when a later key then fails the type check.
        s.now_ms = Some(3_000_000);
        s.run(&["ZADD", "gone", "1", "m"]);
        s.run(&["PEXPIRE", "gone", "10"]);
        s.run(&["SET", "str", "v"]);
        s.now_ms = Some(4_000_000);
        let (reply, ev, prop) = s.check(&["ZMPOP", "2", "gone", "str", "MIN"]);
        assert!(reply.starts_with("-WRONGTYPE"));
        assert_eq!((ev, prop), (strs(&["expired gone"]), strs(&["DEL gone"])));
        s.run(&["ZADD", "gone", "1", "m"]);
        s.run(&["PEXPIRE", "gone", "10"]);
        s.now_ms = Some(5_000_000);
        let (reply, ev, prop) = s.check(&["ZPOPMIN", "gone"]);
        assert_eq!(reply, "*0\r\n");
        assert_eq!((ev, prop), (strs(&["expired gone"]), strs(&["DEL gone"])));
    }

    #[test]
    fn store_commands_fire_their_event_or_del() {
        let mut s = Session::new();
        s.run(&["ZADD", "a", "1", "x", "2", "y"]);
        s.run(&["ZADD", "b", "3", "y", "4", "z"]);
        for (cmd, event) in [
            (&["ZUNIONSTORE", "u", "2", "a", "b"][..], "zunionstore u"),
            (
                &["ZINTERSTORE", "i", "2", "a", "b", "WEIGHTS", "1", "2"],
                "zinterstore i",
            ),
            (&["ZDIFFSTORE", "d", "2", "a", "b"], "zdiffstore d"),
            (&["ZRANGESTORE", "r", "a", "0", "0"], "zrangestore r"),
        ] {
            let (_, ev, prop) = s.check(cmd);
            assert_eq!(ev, strs(&[event]), "{cmd:?}");
            assert_eq!(prop, vec![cmd.join(" ")], "{cmd:?}");
        }
        // An empty result deletes the destination, once.
        for (cmd, dst) in [
            (&["ZINTERSTORE", "i", "2", "a", "nokey"][..], "i"),
            (&["ZDIFFSTORE", "d", "2", "a", "a"], "d"),
            (&["ZRANGESTORE", "r", "a", "5", "6"], "r"),
            (&["ZUNIONSTORE", "u", "1", "nokey"], "u"),
        ] {
            let (reply, ev, prop) = s.check(cmd);
            assert_eq!(reply, ":0\r\n");
            assert_eq!(ev, vec![format!("del {dst}")], "{cmd:?}");
            assert_eq!(prop, vec![cmd.join(" ")], "{cmd:?}");
            let (_, ev, prop) = s.check(cmd);
            assert_eq!((ev, prop), (none(), none()), "{cmd:?} again");
        }
        // Errors report nothing.
        s.run(&["SET", "str", "v"]);
        for cmd in [
            &["ZUNIONSTORE", "u", "2", "a", "str"][..],
            &["ZUNIONSTORE", "u", "1", "a", "foo"],
            &["ZRANGESTORE", "u", "str", "0", "-1"],
            &["ZRANGESTORE", "u", "a", "x", "-1"],
        ] {
            let (_, ev, prop) = s.check(cmd);
            assert_eq!((ev, prop), (none(), none()), "{cmd:?}");
        }
    }

    #[test]
    fn store_commands_and_expired_keys() {
        let mut s = Session::new();
        s.now_ms = Some(1_000_000);
        s.run(&["ZADD", "a", "1", "x"]);
        for key in ["e", "e2", "dst", "r", "d3"] {
            s.run(&["SET", key, "v", "PX", "10"]);
        }
        s.run(&["ZADD", "e", "1", "m"]);
        s.now_ms = Some(2_000_000);
        // Expired sources go first, in order; an expired destination that is stored to
        // expires before the command's event.
        let (_, ev, prop) = s.check(&["ZUNIONSTORE", "dst", "3", "a", "e", "e2"]);
        assert_eq!(
            ev,
            strs(&["expired e", "expired e2", "expired dst", "zunionstore dst"])
        );
        assert_eq!(
            prop,
            strs(&[
                "MULTI",
                "DEL e",
                "DEL e2",
                "DEL dst",
                "ZUNIONSTORE dst 3 a e e2",
                "EXEC"
            ])
        );
        // An expired destination of an empty result is deleted as any key (Redis's
        // dbDelete does not look at expiry).
        let (_, ev, prop) = s.check(&["ZRANGESTORE", "r", "nokey", "0", "-1"]);
        assert_eq!(
            (ev, prop),
            (strs(&["del r"]), strs(&["ZRANGESTORE r nokey 0 -1"]))
        );
        // Unless it is a source too: then it expired already.
        let (_, ev, prop) = s.check(&["ZINTERSTORE", "d3", "1", "d3"]);
        assert_eq!((ev, prop), (strs(&["expired d3"]), strs(&["DEL d3"])));
        // A source expires even if the options then fail.
        s.run(&["SET", "e", "v", "PX", "10"]);
        s.now_ms = Some(3_000_000);
        let (reply, ev, prop) = s.check(&["ZUNIONSTORE", "u", "2", "e", "a", "foo"]);
        assert!(reply.starts_with("-ERR syntax error"));
        assert_eq!((ev, prop), (strs(&["expired e"]), strs(&["DEL e"])));
    }
}
