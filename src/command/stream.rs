//! Stream commands (Redis's t_stream.c): XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM,
//! XREAD, XREADGROUP, XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO and XSETID.
//!
//! The stream itself is [`crate::store::stream`]. What each command reports follows
//! t_stream.c: XADD fires `xadd` (and `xtrim` when its trimming removed entries) and
//! propagates with the ID it generated and, after a `~` trim, `=` and the length or
//! first ID reached; XDEL fires `xdel`, XTRIM `xtrim` (rewritten as XADD's trim is),
//! XSETID `xsetid` and XGROUP `xgroup-create`, `xgroup-setid`, `xgroup-destroy`,
//! `xgroup-createconsumer`, `xgroup-delconsumer`. XREADGROUP, XCLAIM and XAUTOCLAIM
//! propagate nothing of their own words: every ownership change becomes
//! `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID id`, and a
//! NOACK read `XGROUP SETID ... ENTRIESREAD n` (plus `XGROUP CREATECONSUMER` for a
//! consumer it created).
//!
//! XREAD and XREADGROUP with BLOCK park the client through [`crate::store::blocking`],
//! as BLPOP does: an XADD serves the waiters of its key first blocked first served,
//! under its lock. A waiter of XREADGROUP also wakes with Redis's errors when its group
//! is destroyed or its stream deleted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::client::Blocked;
use crate::resp::{Args, Reply};
use crate::store::blocking::{Attempt, Waiter};
use crate::store::stream::{Consumer, EntryRef, Group, Nack, Stream, StreamId, Trim, TrimStrategy};
use crate::store::{class, Entry, Key, Keyspace, Value};

#[rustfmt::skip]
pub const COMMANDS: &[Command] = &[
    Command::new("xadd", Handler::Write(xadd)),
    Command::new("xrange", Handler::Read(xrange)),
    Command::new("xrevrange", Handler::Read(xrevrange)),
    Command::new("xlen", Handler::Read(xlen)),
    Command::new("xdel", Handler::Write(xdel)),
    Command::new("xtrim", Handler::Write(xtrim)),
    // XREAD runs under the write lock: with BLOCK it registers its wait there.
    Command::new("xread", Handler::Write(xread)),
    Command::new("xreadgroup", Handler::Write(xreadgroup)),
    Command::container("xgroup", Handler::Container, XGROUP),
    Command::new("xack", Handler::Write(xack)),
    Command::new("xpending", Handler::Read(xpending)),
    Command::new("xclaim", Handler::Write(xclaim)),
    Command::new("xautoclaim", Handler::Write(xautoclaim)),
    Command::container("xinfo", Handler::Container, XINFO),
    Command::new("xsetid", Handler::Write(xsetid)),
];

#[rustfmt::skip]
const XGROUP: &[Command] = &[
    Command::sub("xgroup", "create", Handler::Write(xgroup)),
    Command::sub("xgroup", "createconsumer", Handler::Write(xgroup)),
    Command::sub("xgroup", "delconsumer", Handler::Write(xgroup)),
    Command::sub("xgroup", "destroy", Handler::Write(xgroup)),
    Command::sub("xgroup", "help", Handler::Plain(xgroup_help)),
    Command::sub("xgroup", "setid", Handler::Write(xgroup)),
];

#[rustfmt::skip]
const XINFO: &[Command] = &[
    Command::sub("xinfo", "consumers", Handler::Read(xinfo_consumers)),
    Command::sub("xinfo", "groups", Handler::Read(xinfo_groups)),
    Command::sub("xinfo", "help", Handler::Plain(xinfo_help)),
    Command::sub("xinfo", "stream", Handler::Read(xinfo_stream)),
];

/// Redis's `XREAD_BLOCKED_DEFAULT_COUNT`: what a blocked read without COUNT takes.
const BLOCKED_DEFAULT_COUNT: usize = 1000;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn invalid_id() -> CmdError {
    CmdError::err("Invalid stream ID specified as stream command argument")
}

/// An ID argument, `-` and `+` allowed.
fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    StreamId::parse(arg, missing_seq, false, false)
        .map(|x| x.0)
        .ok_or_else(invalid_id)
}

/// An ID argument, `-` and `+` refused.
fn parse_strict_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    StreamId::parse(arg, 0, true, false)
        .map(|x| x.0)
        .ok_or_else(invalid_id)
}

/// A range bound: an ID, or `(` and an ID for an exclusive one.
fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 1 && arg[0] == b'(' {
        let id = StreamId::parse(&arg[1..], missing_seq, true, false)
            .map(|x| x.0)
            .ok_or_else(invalid_id)?;
        Ok((id, true))
    } else {
        Ok((parse_id(arg, missing_seq)?, false))
    }
}

/// The start of an interval, an exclusive bound moved past.
fn interval_start(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(arg, 0)?;
    if ex {
        return id
            .incr()
            .ok_or_else(|| CmdError::err("invalid start ID for the interval"));
    }
    Ok(id)
}

/// The end of an interval, an exclusive bound moved back.
fn interval_end(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(arg, u64::MAX)?;
    if ex {
        return id
            .decr()
            .ok_or_else(|| CmdError::err("invalid end ID for the interval"));
    }
    Ok(id)
}

fn reply_id(out: &mut Reply, id: StreamId) {
    out.bulk(&id.to_bytes());
}

/// `[id, [field, value, ...]]`.
fn reply_entry(out: &mut Reply, e: &EntryRef<'_>) {
    let fields = e.fields();
    out.array(2);
    reply_id(out, e.id);
    out.array(fields.len() * 2);
    for (f, v) in fields {
        out.bulk(f);
        out.bulk(v);
    }
}

/// The wall clock in ms, as t_stream.c's `mstime()` (not the command's cached time).
fn mstime() -> u64 {
    crate::util::now_ms()
}

/// Whether the command is replayed from the AOF (Redis's `mustObeyClient`): the
/// loader runs commands with the clock at 0.
fn must_obey(ctx: &Ctx) -> bool {
    ctx.now_ms == 0
}

/// The stream at `key` for a read command: counts a hit or a miss, `WRONGTYPE` for
/// another type.
fn read_stream<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    key: &[u8],
) -> Result<Option<&'a Stream>, CmdError> {
    super::read_typed(ctx, ks, key, Entry::stream)
}

/// The stream at `key` looked up for reading by a write command (`lookupKeyRead`).
fn lookup_read<'a>(
    ctx: &mut Ctx,
    ks: &'a mut Keyspace,
    key: &[u8],
) -> Result<Option<&'a mut Stream>, CmdError> {
    super::read_typed_mut(ctx, ks, key, Entry::stream_mut)
}

/// The stream at `key` for writing (`lookupKeyWrite`).
fn lookup_write<'a>(
    ks: &'a mut Keyspace,
    db: usize,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a mut Stream>, CmdError> {
    match ks.db_mut(db).get_mut(key, now_ms) {
        None => Ok(None),
        Some(e) => e.stream_mut().map(Some).ok_or(CmdError::WrongType),
    }
}

fn args_vec(args: &Args) -> Vec<Vec<u8>> {
    args.iter().map(<[u8]>::to_vec).collect()
}

// ---------------------------------------------------------------------------------------
// XADD, XTRIM
// ---------------------------------------------------------------------------------------

/// XADD's and XTRIM's options (Redis's `streamAddTrimArgs`).
#[derive(Default)]
struct AddTrimArgs {
    strategy: Option<TrimStrategy>,
    approx: bool,
    limit: u64,
    /// Where the threshold argument is.
    strategy_arg: usize,
    /// XADD's ID and whether its sequence was given.
    id: Option<(StreamId, bool)>,
    no_mkstream: bool,
    /// Where XADD's ID argument is.
    id_pos: usize,
}

impl AddTrimArgs {
    fn trim(&self) -> Option<Trim> {
        self.strategy.map(|strategy| Trim {
            strategy,
            approx: self.approx,
            limit: self.limit,
        })
    }
}

/// Redis's `streamParseAddOrTrimArgsOrReply`.
fn parse_add_trim(
    ctx: &Ctx,
    args: &Args,
    xadd: bool,
    node_entries: u64,
) -> Result<AddTrimArgs, CmdError> {
    let mut a = AddTrimArgs::default();
    let argc = args.len();
    let mut limit_given = false;
    let mut i = 2;
    let both = "syntax error, MAXLEN and MINID options at the same time are not compatible";
    while i < argc {
        let more = argc - 1 - i;
        let opt = &args[i];
        if xadd && opt == b"*" {
            break;
        } else if is(opt, "maxlen") && more > 0 {
            if a.strategy.is_some() {
                return Err(CmdError::err(both));
            }
            a.approx = false;
            let next = &args[i + 1];
            if more >= 2 && next == b"~" {
                a.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let max = int_arg(&args[i + 1])?;
            if max < 0 {
                return Err(CmdError::err("The MAXLEN argument must be >= 0."));
            }
            i += 1;
            a.strategy = Some(TrimStrategy::MaxLen(max as u64));
            a.strategy_arg = i;
        } else if is(opt, "minid") && more > 0 {
            if a.strategy.is_some() {
                return Err(CmdError::err(both));
            }
            a.approx = false;
            let next = &args[i + 1];
            if more >= 2 && next == b"~" {
                a.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let id = parse_strict_id(&args[i + 1])?;
            i += 1;
            a.strategy = Some(TrimStrategy::MinId(id));
            a.strategy_arg = i;
        } else if is(opt, "limit") && more > 0 {
            let limit = int_arg(&args[i + 1])?;
            if limit < 0 {
                return Err(CmdError::err("The LIMIT argument must be >= 0."));
            }
            a.limit = limit as u64;
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            a.no_mkstream = true;
        } else if xadd {
            let parsed = StreamId::parse(opt, 0, true, true).ok_or_else(invalid_id)?;
            a.id = Some(parsed);
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    a.id_pos = i;
    if a.limit != 0 && a.strategy.is_none() {
        return Err(CmdError::err(
            "syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && a.strategy.is_none() {
        return Err(CmdError::err(
            "syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if must_obey(ctx) {
        a.limit = 0;
    } else if limit_given {
        if !a.approx {
            return Err(CmdError::err(
                "syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if a.approx {
        let limit = 100i64.saturating_mul(node_entries as i64);
        a.limit = if limit <= 0 {
            10_000
        } else {
            limit.min(1_000_000) as u64
        };
    } else {
        a.limit = 0;
    }
    Ok(a)
}

/// After an approximate trim: `=` and the threshold actually reached, as Redis's
/// `streamRewriteApproxSpecifier` and `streamRewriteTrimArgument` rewrite them.
fn rewrite_trim(argv: &mut [Vec<u8>], a: &AddTrimArgs, s: &Stream) {
    argv[a.strategy_arg - 1] = b"=".to_vec();
    argv[a.strategy_arg] = match a.strategy {
        Some(TrimStrategy::MaxLen(_)) => s.len().to_string().into_bytes(),
        _ => s.edge(true, false).unwrap_or(StreamId::MAX).to_bytes(),
    };
}

/// ```text
/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]
/// ```
fn xadd(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let limits = ctx.server.limits().stream_node;
    let a = parse_add_trim(ctx, args, true, limits.entries)?;
    let field_pos = a.id_pos + 1;
    let argc = args.len();
    if argc < field_pos + 2 || (argc - field_pos) % 2 == 1 {
        return Err(CmdError::err(
            "wrong number of arguments for 'xadd' command",
        ));
    }
    if let Some((id, true)) = a.id {
        if id.is_zero() {
            return Err(CmdError::err(
                "The ID specified in XADD must be greater than 0-0",
            ));
        }
    }
    let db = ctx.client.db;
    let key = &args[1];
    let now = ctx.now_ms;
    // The rewritten words are only built when something reads them (the AOF).
    let ops = ks.wanted().ops;
    if a.no_mkstream && ks.db_mut(db).get_mut(key, now).is_none() {
        ctx.out.null();
        return Ok(());
    }
    let s = ks
        .db_mut(db)
        .get_or_insert_with(key, now, || Value::Stream(Box::default()))
        .stream_mut()
        .ok_or(CmdError::WrongType)?;
    if s.last_id == StreamId::MAX {
        return Err(CmdError::err(
            "The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let smaller = || {
        CmdError::err(
            "The ID specified in XADD is equal or smaller than the target stream top item",
        )
    };
    let id = match a.id {
        Some((id, true)) => id,
        Some((id, false)) => {
            if s.last_id.ms == id.ms {
                if s.last_id.seq == u64::MAX {
                    return Err(smaller());
                }
                StreamId::new(id.ms, s.last_id.seq + 1)
            } else {
                id
            }
        }
        None => {
            let ms = mstime();
            if ms > s.last_id.ms {
                StreamId::new(ms, 0)
            } else {
                s.last_id.incr().unwrap_or(StreamId::MAX)
            }
        }
    };
    if id <= s.last_id {
        return Err(smaller());
    }
    let total: u64 = (field_pos..argc).map(|i| args[i].len() as u64).sum();
    if total > crate::store::stream::LISTPACK_MAX_SIZE {
        return Err(CmdError::err("Elements are too large to be stored"));
    }
    let pairs: Vec<&[u8]> = (field_pos..argc).map(|i| &args[i]).collect();
    s.append(id, &pairs, limits);
    let id_text = id.to_bytes();
    ctx.out.bulk(&id_text);
    let mut argv: Option<Vec<Vec<u8>>> = None;
    let mut trimmed = 0;
    if let Some(trim) = a.trim() {
        trimmed = s.trim(trim);
        if a.approx && ops {
            let v = argv.get_or_insert_with(|| args_vec(args));
            rewrite_trim(v, &a, s);
        }
    }
    if ops && !matches!(a.id, Some((_, true))) {
        argv.get_or_insert_with(|| args_vec(args))[a.id_pos] = id_text;
    }
    ks.changed(class::STREAM, "xadd", db, key);
    ks.dirty += 1;
    if trimmed > 0 {
        ks.notify(class::STREAM, "xtrim", db, key);
    }
    if let Some(argv) = argv {
        ks.rewrite(&argv);
    }
    ks.signal_ready(db, key);
    Ok(())
}

/// ```text
/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
/// ```
fn xtrim(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let limits = ctx.server.limits().stream_node;
    let a = parse_add_trim(ctx, args, false, limits.entries)?;
    let db = ctx.client.db;
    let Some(s) = lookup_write(ks, db, &args[1], ctx.now_ms)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let deleted = s.trim(a.trim().expect("a strategy"));
    if deleted > 0 {
        if a.approx {
            let mut argv = args_vec(args);
            rewrite_trim(&mut argv, &a, s);
            ks.rewrite(&argv);
        }
        ks.notify(class::STREAM, "xtrim", db, &args[1]);
        ks.touched(db, &args[1]);
        ks.dirty += deleted;
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// XRANGE, XREVRANGE, XLEN, XDEL
// ---------------------------------------------------------------------------------------

fn range_generic(ctx: &mut Ctx, ks: &Keyspace, args: &Args, rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let start = interval_start(start_arg)?;
    let end = interval_end(end_arg)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if is(&args[j], "count") && j + 1 < args.len() {
            count = int_arg(&args[j + 1])?.max(0);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = read_stream(ctx, ks, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    if count == 0 {
        ctx.out.null_array();
        return Ok(());
    }
    reply_range(
        ctx.out,
        s,
        start,
        end,
        if count < 0 { 0 } else { count as usize },
        rev,
    );
    Ok(())
}

/// An array of the entries from `start` to `end`, at most `count` (0: all).
fn reply_range(
    out: &mut Reply,
    s: &Stream,
    start: StreamId,
    end: StreamId,
    count: usize,
    rev: bool,
) {
    let mut body = Reply::new();
    body.resp3 = out.resp3;
    let mut n = 0;
    s.range(start, end, rev, |e| {
        reply_entry(&mut body, &e);
        n += 1;
        count == 0 || n < count
    });
    out.array(n);
    out.raw(body.as_bytes());
}

/// ```text
/// XRANGE key start end [COUNT count]
/// ```
fn xrange(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    range_generic(ctx, ks, args, false)
}

/// ```text
/// XREVRANGE key end start [COUNT count]
/// ```
fn xrevrange(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    range_generic(ctx, ks, args, true)
}

/// ```text
/// XLEN key
/// ```
fn xlen(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let n = read_stream(ctx, ks, &args[1])?.map_or(0, Stream::len);
    ctx.out.int(n as i64);
    Ok(())
}

/// ```text
/// XDEL key id [id ...]
/// ```
fn xdel(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let db = ctx.client.db;
    let Some(s) = lookup_write(ks, db, &args[1], ctx.now_ms)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let ids = (2..args.len())
        .map(|j| parse_strict_id(&args[j]))
        .collect::<Result<Vec<_>, _>>()?;
    let mut deleted = 0u64;
    let mut first_entry = false;
    for id in ids {
        if s.delete(id) {
            if id == s.first_id {
                first_entry = true;
            }
            if id > s.max_deleted_id {
                s.max_deleted_id = id;
            }
            deleted += 1;
        }
    }
    if deleted > 0 {
        if s.is_empty() || first_entry {
            s.refresh_first_id();
        }
        ks.changed(class::STREAM, "xdel", db, &args[1]);
        ks.dirty += deleted;
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// XREAD, XREADGROUP
// ---------------------------------------------------------------------------------------

/// A consumer group read: the group, the consumer, NOACK.
#[derive(Debug, Clone)]
struct GroupRead {
    group: Vec<u8>,
    consumer: Vec<u8>,
    noack: bool,
}

/// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID last`, as
/// Redis's `streamPropagateXCLAIM` writes an ownership change.
fn propagate_xclaim(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    group_name: &[u8],
    last_id: StreamId,
    id_arg: &[u8],
    nack: &Nack,
) {
    let time = nack.delivery_time.to_string();
    let count = nack.delivery_count.to_string();
    let last = last_id.to_bytes();
    ks.propagate(
        db,
        &[
            b"XCLAIM".as_slice(),
            key,
            group_name,
            &nack.consumer,
            b"0",
            id_arg,
            b"TIME",
            time.as_bytes(),
            b"RETRYCOUNT",
            count.as_bytes(),
            b"FORCE",
            b"JUSTID",
            b"LASTID",
            &last,
        ],
    );
}

/// Looks the consumer up (refreshing its seen time) or creates it, firing
/// `xgroup-createconsumer`. Returns whether it was created.
fn touch_consumer(ks: &mut Keyspace, db: usize, key: &[u8], group: &[u8], name: &[u8]) -> bool {
    let now = mstime();
    let Some(g) = ks
        .db_mut(db)
        .get_mut(key, 0)
        .and_then(|e| e.stream_mut())
        .and_then(|s| s.groups.get_mut(group))
    else {
        return false;
    };
    if let Some(c) = g.consumers.get_mut(name) {
        c.seen_time = now;
        return false;
    }
    g.consumers.insert(
        name.to_vec(),
        Consumer {
            seen_time: now,
            pel: Default::default(),
        },
    );
    ks.dirty += 1;
    ks.notify(class::STREAM, "xgroup-createconsumer", db, key);
    true
}

/// Serves one stream of a read: entries after `after` (or, for a group's history, the
/// consumer's pending entries from `after` on), into `out` as Redis's
/// `streamReplyWithRange` does, updating the group and propagating as it does.
#[allow(clippy::too_many_arguments)]
fn serve_stream(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    after: StreamId,
    count: usize,
    group: Option<&GroupRead>,
    history: bool,
    now_ms: u64,
    out: &mut Reply,
) {
    let Some(start) = after.incr() else {
        out.array(0);
        return;
    };
    if let Some(gr) = group {
        if touch_consumer(ks, db, key, &gr.group, &gr.consumer) && gr.noack {
            ks.propagate(
                db,
                &[
                    b"XGROUP".as_slice(),
                    b"CREATECONSUMER",
                    key,
                    &gr.group,
                    &gr.consumer,
                ],
            );
        }
    }
    let Some(s) = ks
        .db_mut(db)
        .get_mut(key, now_ms)
        .and_then(|e| e.stream_mut())
    else {
        out.array(0);
        return;
    };
    let now = mstime();
    let Some(gr) = group else {
        reply_range(out, s, start, StreamId::MAX, count, false);
        return;
    };
    if history {
        // The consumer's own pending entries (`streamReplyWithRangeFromConsumerPEL`).
        let Some(g) = s.groups.get(&gr.group) else {
            out.array(0);
            return;
        };
        let ids: Vec<StreamId> = g
            .consumers
            .get(&gr.consumer)
            .map(|c| {
                c.pel
                    .range(start..)
                    .take(if count == 0 { usize::MAX } else { count })
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        out.array(ids.len());
        let mut found = Vec::new();
        for id in &ids {
            match s.get(*id) {
                Some(e) => {
                    reply_entry(out, &e);
                    found.push(*id);
                }
                None => {
                    out.array(2);
                    reply_id(out, *id);
                    out.null_array();
                }
            }
        }
        let g = s.groups.get_mut(&gr.group).expect("the group");
        for id in found {
            if let Some(n) = g.pel.get_mut(&id) {
                n.delivery_time = now;
                n.delivery_count += 1;
            }
        }
        return;
    }
    // New entries: collect them, with what the read counter needs, then update.
    let mut body = Reply::new();
    body.resp3 = out.resp3;
    let mut delivered: Vec<(StreamId, bool, Option<u64>)> = Vec::new();
    s.range(start, StreamId::MAX, false, |e| {
        reply_entry(&mut body, &e);
        delivered.push((e.id, false, None));
        count == 0 || delivered.len() < count
    });
    for d in &mut delivered {
        d.1 = s.has_tombstones_from(d.0);
        d.2 = s.estimate_distance(d.0);
    }
    out.array(delivered.len());
    out.raw(body.as_bytes());
    let entries_added = s.entries_added;
    let g = s.groups.get_mut(&gr.group).expect("the group");
    let mut propagate_last_id = false;
    let mut claims: Vec<(StreamId, StreamId, Nack)> = Vec::new();
    for (id, tombstones, estimate) in delivered {
        if id > g.last_id {
            match g.entries_read {
                Some(read) if !tombstones => g.entries_read = Some(read + 1),
                _ if entries_added != 0 => g.entries_read = estimate,
                _ => {}
            }
            g.last_id = id;
            if gr.noack {
                propagate_last_id = true;
            }
        }
        if !gr.noack {
            let nack = Nack {
                delivery_time: now,
                delivery_count: 1,
                consumer: gr.consumer.clone(),
            };
            if let Some(old) = g.pel.insert(id, nack.clone()) {
                if let Some(c) = g.consumers.get_mut(&old.consumer) {
                    c.pel.remove(&id);
                }
            }
            if let Some(c) = g.consumers.get_mut(&gr.consumer) {
                c.pel.insert(id);
            }
            claims.push((id, g.last_id, nack));
        }
    }
    let (last_id, entries_read) = (g.last_id, g.entries_read);
    for (id, last, nack) in claims {
        propagate_xclaim(ks, db, key, &gr.group, last, &id.to_bytes(), &nack);
    }
    if propagate_last_id {
        propagate_setid(ks, db, key, &gr.group, last_id, entries_read);
    }
}

/// `XGROUP SETID key group last ENTRIESREAD n` (Redis's `streamPropagateGroupID`).
fn propagate_setid(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    group: &[u8],
    last_id: StreamId,
    entries_read: Option<u64>,
) {
    let read = entries_read.map_or(-1, |r| r as i64).to_string();
    ks.propagate(
        db,
        &[
            b"XGROUP".as_slice(),
            b"SETID",
            key,
            group,
            &last_id.to_bytes(),
            b"ENTRIESREAD",
            read.as_bytes(),
        ],
    );
}

/// What a blocked XREAD or XREADGROUP waits for.
#[derive(Debug, Clone)]
struct BlockedRead {
    /// Per key: the ID it reads after (for a group, resolved when served).
    keys: Vec<(Key, StreamId)>,
    count: usize,
    group: Option<GroupRead>,
}

impl BlockedRead {
    /// Serves the waiter from `key` under the writer's lock (Redis's
    /// `serveClientsBlockedOnStreamKey` and `unblockDeletedStreamReadgroupClients`).
    fn attempt(
        &self,
        ks: &mut Keyspace,
        db: usize,
        key: &[u8],
        now_ms: u64,
        out: &mut Reply,
    ) -> Attempt {
        let Some(&(_, mut after)) = self.keys.iter().find(|(k, _)| **k == *key) else {
            return Attempt::NotReady;
        };
        let stream = ks.db_mut(db).get_mut(key, now_ms).and_then(|e| e.stream());
        let Some(s) = stream else {
            if self.group.is_some() {
                out.error("UNBLOCKED the stream key no longer exists");
                return Attempt::Served(out.as_bytes().to_vec());
            }
            return Attempt::NotReady;
        };
        if let Some(gr) = &self.group {
            match s.groups.get(&gr.group) {
                None => {
                    out.error(
                        "NOGROUP the consumer group this client was blocked on no longer exists",
                    );
                    return Attempt::Served(out.as_bytes().to_vec());
                }
                Some(g) => after = g.last_id,
            }
        }
        if s.last_id <= after {
            return Attempt::NotReady;
        }
        if out.resp3 {
            out.map(1);
        } else {
            out.array(1);
            out.array(2);
        }
        out.bulk(key);
        serve_stream(
            ks,
            db,
            key,
            after,
            self.count,
            self.group.as_ref(),
            false,
            now_ms,
            out,
        );
        Attempt::Served(out.as_bytes().to_vec())
    }
}

/// The shared body of XREAD and XREADGROUP (Redis's `xreadCommand`).
fn xread_generic(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, xreadgroup: bool) -> CmdResult {
    let argc = args.len();
    let mut timeout: Option<i64> = None;
    let mut count: usize = 0;
    let mut streams_arg = 0;
    let mut streams_count = 0;
    let mut group: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut noack = false;
    let mut i = 1;
    while i < argc {
        let more = argc - i - 1;
        let o = &args[i];
        if is(o, "block") && more > 0 {
            i += 1;
            let t = crate::util::num::parse_i64(&args[i])
                .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
            if t < 0 {
                return Err(CmdError::err("timeout is negative"));
            }
            timeout = Some(t);
        } else if is(o, "count") && more > 0 {
            i += 1;
            count = int_arg(&args[i])?.max(0) as usize;
        } else if is(o, "streams") && more > 0 {
            streams_arg = i + 1;
            streams_count = argc - streams_arg;
            if streams_count % 2 != 0 {
                return Err(CmdError::err("Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."));
            }
            streams_count /= 2;
            break;
        } else if is(o, "group") && more >= 2 {
            if !xreadgroup {
                return Err(CmdError::err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some((args[i + 1].to_vec(), args[i + 2].to_vec()));
            i += 2;
        } else if is(o, "noack") {
            if !xreadgroup {
                return Err(CmdError::err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if streams_arg == 0 {
        return Err(CmdError::Syntax);
    }
    if xreadgroup && group.is_none() {
        return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
    }
    let db = ctx.client.db;
    let group = group.map(|(group, consumer)| GroupRead {
        group,
        consumer,
        noack,
    });
    // Resolve each stream's ID ("$", ">" or an ID), checking types and groups.
    let mut ids = Vec::with_capacity(streams_count);
    for k in 0..streams_count {
        let key = &args[streams_arg + k];
        let id_arg = &args[streams_arg + streams_count + k];
        let s = lookup_read(ctx, ks, key)?.map(|s| &*s);
        if let Some(gr) = &group {
            if !s.is_some_and(|s| s.groups.contains_key(&gr.group)) {
                return Err(CmdError::Msg(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(&gr.group)
                )));
            }
        }
        if id_arg == b"$" {
            if xreadgroup {
                return Err(CmdError::err("The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."));
            }
            ids.push(s.map_or(StreamId::MIN, |s| s.last_id));
        } else if id_arg == b">" {
            if !xreadgroup {
                return Err(CmdError::err("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."));
            }
            ids.push(StreamId::MAX);
        } else {
            ids.push(parse_strict_id(id_arg)?);
        }
    }
    // Serve what can be served now.
    let mut body = Reply::new();
    body.resp3 = ctx.out.resp3;
    let mut served = 0;
    for (k, &gt) in ids.iter().enumerate() {
        let key = &args[streams_arg + k];
        let Some(s) = lookup_read(ctx, ks, key)? else {
            continue;
        };
        let mut after = gt;
        let mut history = false;
        let serve = match &group {
            Some(gr) => {
                if gt != StreamId::MAX {
                    history = true;
                    true
                } else {
                    let last = s.groups.get(&gr.group).map_or(StreamId::MAX, |g| g.last_id);
                    if !s.is_empty() && s.last_valid_id() > last {
                        after = last;
                        true
                    } else {
                        false
                    }
                }
            }
            None => !s.is_empty() && s.last_valid_id() > gt,
        };
        if !serve {
            continue;
        }
        served += 1;
        if !body.resp3 {
            body.array(2);
        }
        body.bulk(key);
        serve_stream(
            ks,
            db,
            key,
            after,
            count,
            group.as_ref(),
            history,
            ctx.now_ms,
            &mut body,
        );
        if group.is_some() {
            ks.dirty += 1;
        }
    }
    ks.prevent_propagation();
    if served > 0 {
        if ctx.out.resp3 {
            ctx.out.map(served);
        } else {
            ctx.out.array(served);
        }
        ctx.out.raw(body.as_bytes());
        return Ok(());
    }
    let Some(timeout) = timeout else {
        ctx.out.null_array();
        return Ok(());
    };
    if ctx.client.in_exec {
        ctx.out.null_array();
        return Ok(());
    }
    let request = BlockedRead {
        keys: (0..streams_count)
            .map(|k| (Key::from(&args[streams_arg + k]), ids[k]))
            .collect(),
        count: if count == 0 {
            BLOCKED_DEFAULT_COUNT
        } else {
            count
        },
        group,
    };
    let keys: Vec<Key> = request.keys.iter().map(|(k, _)| k.clone()).collect();
    let handle = Arc::clone(&ctx.client.handle);
    let resp3 = ctx.out.resp3;
    let wakes_on_delete = request.group.is_some();
    let serve = Box::new(
        move |ks: &mut Keyspace, db: usize, key: &[u8], now_ms: u64| {
            if handle.peer_closed() {
                return Attempt::Gone;
            }
            let mut out = Reply::default();
            out.resp3 = resp3;
            request.attempt(ks, db, key, now_ms, &mut out)
        },
    );
    let waiter = if wakes_on_delete {
        Waiter::new_waking_on_delete(serve)
    } else {
        Waiter::new(serve)
    };
    ks.blocked.block(db, keys.iter().map(|k| &**k), &waiter);
    ctx.client.blocked = Some(Blocked {
        waiter,
        deadline: (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64)),
        on_timeout: Reply::null_array,
    });
    Ok(())
}

/// ```text
/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
/// ```
fn xread(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    xread_generic(ctx, ks, args, false)
}

/// ```text
/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]
/// ```
fn xreadgroup(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    xread_generic(ctx, ks, args, true)
}

// ---------------------------------------------------------------------------------------
// XGROUP, XSETID
// ---------------------------------------------------------------------------------------

fn subcommand_syntax(args: &Args) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&args[1][..args[1].len().min(128)]),
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    ))
}

/// ```text
/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD entries_read]
/// XGROUP SETID key group id|$ [ENTRIESREAD entries_read]
/// XGROUP DESTROY key group
/// XGROUP CREATECONSUMER key group consumer
/// XGROUP DELCONSUMER key group consumer
/// ```
fn xgroup(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let argc = args.len();
    let opt = &args[1];
    let (create, setid) = (is(opt, "create"), is(opt, "setid"));
    let mut mkstream = false;
    let mut entries_read: Option<u64> = None;
    let mut i = 5;
    while i < argc {
        if create && is(&args[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && is(&args[i], "entriesread") && i + 1 < argc {
            let v = int_arg(&args[i + 1])?;
            if v < 0 && v != -1 {
                return Err(CmdError::err(
                    "value for ENTRIESREAD must be positive or -1",
                ));
            }
            entries_read = (v >= 0).then_some(v as u64);
            i += 2;
        } else {
            return Err(subcommand_syntax(args));
        }
    }
    let db = ctx.client.db;
    let key = &args[2];
    let group = &args[3];
    let now = ctx.now_ms;
    let exists = lookup_write(ks, db, key, now)?.is_some();
    if !mkstream {
        if !exists {
            return Err(CmdError::err("The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."));
        }
        let has_group =
            lookup_write(ks, db, key, now)?.is_some_and(|s| s.groups.contains_key(group));
        if !has_group && !create && !is(opt, "destroy") {
            return Err(CmdError::Msg(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                String::from_utf8_lossy(group),
                String::from_utf8_lossy(key)
            )));
        }
    }
    if create && (5..=8).contains(&argc) {
        let id = if &args[4] == b"$" {
            lookup_write(ks, db, key, now)?.map_or(StreamId::MIN, |s| s.last_id)
        } else {
            parse_strict_id(&args[4])?
        };
        if !exists {
            ks.db_mut(db)
                .get_or_insert_with(key, now, || Value::Stream(Box::default()));
            ks.touched(db, key);
        }
        let s = lookup_write(ks, db, key, now)?.expect("the stream");
        if s.groups.contains_key(group) {
            return Err(CmdError::Msg(
                "BUSYGROUP Consumer Group name already exists".into(),
            ));
        }
        s.groups
            .insert(group.to_vec(), Group::new(id, entries_read));
        ctx.out.ok();
        ks.dirty += 1;
        ks.notify(class::STREAM, "xgroup-create", db, key);
    } else if setid && (argc == 5 || argc == 7) {
        let s = lookup_write(ks, db, key, now)?.expect("the stream");
        let id = if &args[4] == b"$" {
            s.last_id
        } else {
            parse_id(&args[4], 0)?
        };
        let g = s.groups.get_mut(group).expect("the group");
        g.last_id = id;
        g.entries_read = entries_read;
        ctx.out.ok();
        ks.dirty += 1;
        ks.notify(class::STREAM, "xgroup-setid", db, key);
    } else if is(opt, "destroy") && argc == 4 {
        let s = lookup_write(ks, db, key, now)?.expect("the stream");
        if s.groups.remove(group).is_some() {
            ctx.out.int(1);
            ks.dirty += 1;
            ks.notify(class::STREAM, "xgroup-destroy", db, key);
            ks.signal_ready(db, key);
        } else {
            ctx.out.int(0);
        }
    } else if is(opt, "createconsumer") && argc == 5 {
        let created = touch_consumer_new(ks, db, key, group, &args[4]);
        ctx.out.int(i64::from(created));
    } else if is(opt, "delconsumer") && argc == 5 {
        let s = lookup_write(ks, db, key, now)?.expect("the stream");
        let g = s.groups.get_mut(group).expect("the group");
        let mut pending = 0;
        if let Some(c) = g.consumers.remove(&args[4][..]) {
            pending = c.pel.len();
            for id in c.pel {
                g.pel.remove(&id);
            }
            ks.dirty += 1;
            ks.notify(class::STREAM, "xgroup-delconsumer", db, key);
        }
        ctx.out.int(pending as i64);
    } else {
        return Err(subcommand_syntax(args));
    }
    Ok(())
}

/// XGROUP CREATECONSUMER's creation: like [`touch_consumer`], without refreshing an
/// existing consumer.
fn touch_consumer_new(ks: &mut Keyspace, db: usize, key: &[u8], group: &[u8], name: &[u8]) -> bool {
    let exists = ks
        .db_mut(db)
        .get_mut(key, 0)
        .and_then(|e| e.stream_mut())
        .and_then(|s| s.groups.get(group))
        .is_some_and(|g| g.consumers.contains_key(name));
    !exists && touch_consumer(ks, db, key, group, name)
}

fn help_reply(ctx: &mut Ctx, args: &Args, lines: &[&str]) {
    ctx.out.array(lines.len() + 3);
    ctx.out.simple(&format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    ));
    for l in lines {
        ctx.out.simple(l);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Prints this help.");
}

/// ```text
/// XGROUP HELP
/// ```
fn xgroup_help(ctx: &mut Ctx, args: &Args) -> CmdResult {
    help_reply(
        ctx,
        args,
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
    Ok(())
}

/// ```text
/// XSETID key last-id [ENTRIESADDED entries_added] [MAXDELETEDID max_deleted_entry_id]
/// ```
fn xsetid(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let id = parse_strict_id(&args[2])?;
    let mut entries_added: Option<u64> = None;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(&args[i], "entriesadded") && more > 0 {
            let v = int_arg(&args[i + 1])?;
            if v < 0 {
                return Err(CmdError::err("entries_added must be positive"));
            }
            entries_added = Some(v as u64);
            i += 2;
        } else if is(&args[i], "maxdeletedid") && more > 0 {
            max_xdel = parse_strict_id(&args[i + 1])?;
            if id < max_xdel {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let db = ctx.client.db;
    let s = lookup_write(ks, db, &args[1], ctx.now_ms)?.ok_or(CmdError::NoSuchKey)?;
    if !s.is_empty() {
        if id < s.last_valid_id() {
            return Err(CmdError::err(
                "The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| s.len() > n) {
            return Err(CmdError::err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_id = max_xdel;
    }
    ctx.out.ok();
    ks.dirty += 1;
    ks.notify(class::STREAM, "xsetid", db, &args[1]);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// XACK, XPENDING, XCLAIM, XAUTOCLAIM
// ---------------------------------------------------------------------------------------

/// ```text
/// XACK key group id [id ...]
/// ```
fn xack(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let Some(s) = lookup_read(ctx, ks, &args[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some(g) = s.groups.get_mut(&args[2][..]) else {
        ctx.out.int(0);
        return Ok(());
    };
    let ids = (3..args.len())
        .map(|j| parse_strict_id(&args[j]))
        .collect::<Result<Vec<_>, _>>()?;
    let mut acked = 0u64;
    for id in ids {
        if g.ack(id) {
            acked += 1;
        }
    }
    ks.dirty += acked;
    ctx.out.int(acked as i64);
    Ok(())
}

fn nogroup_key(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::Msg(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

/// ```text
/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
/// ```
fn xpending(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let argc = args.len();
    let justinfo = argc == 3;
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let mut minidle = 0i64;
    let (mut start, mut end, mut count) = (StreamId::MIN, StreamId::MAX, 0i64);
    let mut consumer: Option<&[u8]> = None;
    if argc >= 6 {
        let mut at = 3;
        if is(&args[3], "idle") {
            minidle = int_arg(&args[4])?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        count = int_arg(&args[at + 2])?.max(0);
        start = interval_start(&args[at])?;
        end = interval_end(&args[at + 1])?;
        if at + 3 < argc {
            consumer = Some(&args[at + 3]);
        }
    }
    let s = read_stream(ctx, ks, &args[1])?;
    let Some(g) = s.and_then(|s| s.groups.get(&args[2][..])) else {
        return Err(nogroup_key(&args[1], &args[2]));
    };
    let out = &mut *ctx.out;
    if justinfo {
        out.array(4);
        out.int(g.pel.len() as i64);
        match (g.pel.keys().next(), g.pel.keys().next_back()) {
            (Some(first), Some(last)) => {
                reply_id(out, *first);
                reply_id(out, *last);
                let owners: Vec<_> = g
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pel.is_empty())
                    .collect();
                out.array(owners.len());
                for (name, c) in owners {
                    out.array(2);
                    out.bulk(name);
                    out.bulk(c.pel.len().to_string().as_bytes());
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return Ok(());
    }
    let now = mstime() as i64;
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(name) {
            Some(c) => c.pel.range(start..).copied().collect(),
            None => {
                out.array(0);
                return Ok(());
            }
        },
        None => g.pel.range(start..).map(|(id, _)| *id).collect(),
    };
    let mut body = Reply::new();
    body.resp3 = out.resp3;
    let mut n = 0;
    for id in ids {
        if count == 0 || id > end {
            break;
        }
        let Some(nack) = g.pel.get(&id) else { continue };
        let idle = now - nack.delivery_time as i64;
        if minidle != 0 && idle < minidle {
            continue;
        }
        n += 1;
        count -= 1;
        body.array(4);
        reply_id(&mut body, id);
        body.bulk(&nack.consumer);
        body.int(idle.max(0));
        body.int(nack.delivery_count as i64);
    }
    out.array(n);
    out.raw(body.as_bytes());
    Ok(())
}

/// Moves `id`'s pending entry in `g` to `consumer` (which exists).
fn reassign(g: &mut Group, id: StreamId, consumer: &[u8]) {
    let Some(nack) = g.pel.get_mut(&id) else {
        return;
    };
    if nack.consumer != consumer {
        let old = std::mem::replace(&mut nack.consumer, consumer.to_vec());
        if let Some(c) = g.consumers.get_mut(&old) {
            c.pel.remove(&id);
        }
        if let Some(c) = g.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }
}

/// ```text
/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]
/// ```
fn xclaim(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let db = ctx.client.db;
    let key = &args[1];
    let group_name = &args[2];
    let has_group = lookup_read(ctx, ks, key)?.is_some_and(|s| s.groups.contains_key(group_name));
    if !has_group {
        return Err(nogroup_key(key, group_name));
    }
    let minidle = crate::util::num::parse_i64(&args[4])
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XCLAIM"))?
        .max(0);
    let mut j = 5;
    let mut ids = Vec::new();
    while j < args.len() {
        match StreamId::parse(&args[j], 0, true, false) {
            Some((id, _)) => ids.push((id, j)),
            None => break,
        }
        j += 1;
    }
    let now = mstime() as i64;
    let (mut force, mut justid) = (false, false);
    let mut delivery_time: i64 = -1;
    let mut retrycount: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = &args[j];
        let int = |a: &[u8], what: &str| {
            crate::util::num::parse_i64(a)
                .ok_or_else(|| CmdError::err(format!("Invalid {what} option argument for XCLAIM")))
        };
        if is(opt, "force") {
            force = true;
        } else if is(opt, "justid") {
            justid = true;
        } else if is(opt, "idle") && more > 0 {
            j += 1;
            delivery_time = now - int(&args[j], "IDLE")?;
        } else if is(opt, "time") && more > 0 {
            j += 1;
            delivery_time = int(&args[j], "TIME")?;
        } else if is(opt, "retrycount") && more > 0 {
            j += 1;
            retrycount = int(&args[j], "RETRYCOUNT")?;
        } else if is(opt, "lastid") && more > 0 {
            j += 1;
            last_id = parse_strict_id(&args[j])?;
        } else {
            return Err(CmdError::err(format!(
                "Unrecognized XCLAIM option '{}'",
                String::from_utf8_lossy(opt)
            )));
        }
        j += 1;
    }
    let s = lookup_write(ks, db, key, ctx.now_ms)?.expect("the stream");
    let g = s.groups.get_mut(group_name).expect("the group");
    let mut propagate_last_id = false;
    if last_id > g.last_id {
        g.last_id = last_id;
        propagate_last_id = true;
    }
    if delivery_time == -1 || delivery_time < 0 || delivery_time > now {
        delivery_time = now;
    }
    let name = &args[3];
    let mut body = Reply::new();
    body.resp3 = ctx.out.resp3;
    let mut n = 0;
    let mut consumer_ready = false;
    for (id, arg_at) in ids {
        let s = lookup_write(ks, db, key, ctx.now_ms)?.expect("the stream");
        let exists = s.contains(id);
        let g = s.groups.get_mut(group_name).expect("the group");
        if !exists {
            if let Some(nack) = g.pel.get(&id).cloned() {
                let last = g.last_id;
                g.ack(id);
                propagate_xclaim(ks, db, key, group_name, last, &args[arg_at], &nack);
                propagate_last_id = false;
                ks.dirty += 1;
            }
            continue;
        }
        let mut fresh = false;
        if force && !g.pel.contains_key(&id) {
            g.pel.insert(
                id,
                Nack {
                    delivery_time: now as u64,
                    delivery_count: 1,
                    consumer: Vec::new(),
                },
            );
            fresh = true;
        }
        let Some(nack) = g.pel.get(&id) else { continue };
        if !fresh && minidle > 0 && now - (nack.delivery_time as i64) < minidle {
            continue;
        }
        if !consumer_ready {
            touch_consumer(ks, db, key, group_name, name);
            consumer_ready = true;
        }
        let s = lookup_write(ks, db, key, ctx.now_ms)?.expect("the stream");
        let g = s.groups.get_mut(group_name).expect("the group");
        reassign(g, id, name);
        if fresh {
            if let Some(c) = g.consumers.get_mut(name) {
                c.pel.insert(id);
            }
        }
        let nack = g.pel.get_mut(&id).expect("the nack");
        nack.delivery_time = delivery_time as u64;
        if retrycount >= 0 {
            nack.delivery_count = retrycount as u64;
        } else if !justid {
            nack.delivery_count += 1;
        }
        let nack = nack.clone();
        let last = g.last_id;
        if justid {
            reply_id(&mut body, id);
        } else if let Some(e) = s.get(id) {
            reply_entry(&mut body, &e);
        }
        n += 1;
        propagate_xclaim(ks, db, key, group_name, last, &args[arg_at], &nack);
        propagate_last_id = false;
        ks.dirty += 1;
    }
    if propagate_last_id {
        let s = lookup_write(ks, db, key, ctx.now_ms)?.expect("the stream");
        let g = &s.groups[group_name];
        let (last, read) = (g.last_id, g.entries_read);
        propagate_setid(ks, db, key, group_name, last, read);
        ks.dirty += 1;
    }
    ctx.out.array(n);
    ctx.out.raw(body.as_bytes());
    ks.prevent_propagation();
    Ok(())
}

/// ```text
/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
/// ```
fn xautoclaim(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let db = ctx.client.db;
    let key = &args[1];
    let group_name = &args[2];
    // Looked up first (a miss fires `keymiss` even if the arguments are wrong), checked
    // after them, as Redis does.
    let found = match lookup_read(ctx, ks, key) {
        Ok(s) => Ok(s.is_some_and(|s| s.groups.contains_key(group_name))),
        Err(e) => Err(e),
    };
    let minidle = crate::util::num::parse_i64(&args[4])
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0);
    let start = interval_start(&args[5])?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if is(&args[j], "count") && more > 0 {
            let max = i64::MAX / 16;
            count = crate::util::num::parse_i64(&args[j + 1])
                .filter(|v| (1..=max).contains(v))
                .ok_or_else(|| CmdError::err("COUNT must be > 0"))?;
            j += 1;
        } else if is(&args[j], "justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if !found? {
        return Err(nogroup_key(key, group_name));
    }
    let now = mstime() as i64;
    let name = &args[3];
    let mut attempts = count.saturating_mul(10);
    let mut body = Reply::new();
    body.resp3 = ctx.out.resp3;
    let mut n = 0;
    let mut deleted_ids = Vec::new();
    let mut consumer_ready = false;
    let mut cursor = start;
    let mut next: Option<StreamId>;
    loop {
        let s = lookup_write(ks, db, key, ctx.now_ms)?.expect("the stream");
        let g = &s.groups[group_name];
        next = g.pel.range(cursor..).next().map(|(id, _)| *id);
        if attempts == 0 {
            break;
        }
        attempts -= 1;
        if count == 0 {
            break;
        }
        let Some(id) = next else { break };
        cursor = match id.incr() {
            Some(c) => c,
            None => StreamId::MAX,
        };
        let exists = s.contains(id);
        let g = s.groups.get_mut(group_name).expect("the group");
        if !exists {
            let nack = g.pel.get(&id).cloned().expect("the nack");
            let last = g.last_id;
            g.ack(id);
            propagate_xclaim(ks, db, key, group_name, last, &id.to_bytes(), &nack);
            ks.dirty += 1;
            deleted_ids.push(id);
            count -= 1;
            if id == StreamId::MAX {
                next = None;
                break;
            }
            continue;
        }
        let nack = &g.pel[&id];
        if minidle > 0 && now - (nack.delivery_time as i64) < minidle {
            if id == StreamId::MAX {
                next = None;
                break;
            }
            continue;
        }
        if !consumer_ready {
            touch_consumer(ks, db, key, group_name, name);
            consumer_ready = true;
        }
        let s = lookup_write(ks, db, key, ctx.now_ms)?.expect("the stream");
        let g = s.groups.get_mut(group_name).expect("the group");
        reassign(g, id, name);
        let nack = g.pel.get_mut(&id).expect("the nack");
        nack.delivery_time = now as u64;
        if !justid {
            nack.delivery_count += 1;
        }
        let nack = nack.clone();
        let last = g.last_id;
        if justid {
            reply_id(&mut body, id);
        } else if let Some(e) = s.get(id) {
            reply_entry(&mut body, &e);
        }
        n += 1;
        count -= 1;
        propagate_xclaim(ks, db, key, group_name, last, &id.to_bytes(), &nack);
        ks.dirty += 1;
        if id == StreamId::MAX {
            next = None;
            break;
        }
    }
    let out = &mut *ctx.out;
    out.array(3);
    reply_id(out, next.unwrap_or(StreamId::MIN));
    out.array(n);
    out.raw(body.as_bytes());
    out.array(deleted_ids.len());
    for id in deleted_ids {
        reply_id(out, id);
    }
    ks.prevent_propagation();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// XINFO
// ---------------------------------------------------------------------------------------

fn no_such_key_stream<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    key: &[u8],
) -> Result<&'a Stream, CmdError> {
    read_stream(ctx, ks, key)?.ok_or(CmdError::NoSuchKey)
}

fn reply_lag(out: &mut Reply, s: &Stream, g: &Group) {
    match s.lag(g) {
        Some(lag) => out.int(lag as i64),
        None => out.null(),
    }
}

fn reply_entries_read(out: &mut Reply, g: &Group) {
    match g.entries_read {
        Some(r) => out.int(r as i64),
        None => out.null(),
    }
}

/// ```text
/// XINFO CONSUMERS key group
/// ```
fn xinfo_consumers(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let s = no_such_key_stream(ctx, ks, &args[2])?;
    let Some(g) = s.groups.get(&args[3][..]) else {
        return Err(CmdError::Msg(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            String::from_utf8_lossy(&args[3]),
            String::from_utf8_lossy(&args[2])
        )));
    };
    let now = mstime() as i64;
    let out = &mut *ctx.out;
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map(3);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"pending");
        out.int(c.pel.len() as i64);
        out.bulk(b"idle");
        out.int((now - c.seen_time as i64).max(0));
    }
    Ok(())
}

/// ```text
/// XINFO GROUPS key
/// ```
fn xinfo_groups(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let s = no_such_key_stream(ctx, ks, &args[2])?;
    let out = &mut *ctx.out;
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(g.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(g.pel.len() as i64);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        out.bulk(b"entries-read");
        reply_entries_read(out, g);
        out.bulk(b"lag");
        reply_lag(out, s, g);
    }
    Ok(())
}

/// ```text
/// XINFO STREAM key [FULL [COUNT count]]
/// ```
fn xinfo_stream(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let s = no_such_key_stream(ctx, ks, &args[2])?;
    let opts = &args.iter().skip(3).collect::<Vec<_>>();
    let mut full = false;
    let mut count: i64 = 10;
    if !opts.is_empty() {
        if (opts.len() != 1 && opts.len() != 3) || !is(opts[0], "full") {
            return Err(subcommand_syntax(args));
        }
        full = true;
        if opts.len() == 3 {
            if !is(opts[1], "count") {
                return Err(subcommand_syntax(args));
            }
            count = int_arg(opts[2])?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let out = &mut *ctx.out;
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.nodes() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(radix_nodes_estimate(s.nodes()) as i64);
    out.bulk(b"last-generated-id");
    reply_id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    reply_id(out, s.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    reply_id(out, s.first_id);
    if !full {
        out.bulk(b"groups");
        out.int(s.groups.len() as i64);
        for (name, rev) in [(&b"first-entry"[..], false), (b"last-entry", true)] {
            out.bulk(name);
            let mut found = false;
            s.range(StreamId::MIN, StreamId::MAX, rev, |e| {
                reply_entry(out, &e);
                found = true;
                false
            });
            if !found {
                out.null();
            }
        }
        return Ok(());
    }
    let count = count as usize;
    out.bulk(b"entries");
    reply_range(out, s, StreamId::MIN, StreamId::MAX, count, false);
    out.bulk(b"groups");
    out.array(s.groups.len());
    let take = if count == 0 { usize::MAX } else { count };
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        out.bulk(b"entries-read");
        reply_entries_read(out, g);
        out.bulk(b"lag");
        reply_lag(out, s, g);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        let pel: Vec<_> = g.pel.iter().take(take).collect();
        out.array(pel.len());
        for (id, nack) in pel {
            out.array(4);
            reply_id(out, *id);
            out.bulk(&nack.consumer);
            out.int(nack.delivery_time as i64);
            out.int(nack.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time as i64);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            let ids: Vec<_> = c.pel.iter().take(take).collect();
            out.array(ids.len());
            for id in ids {
                let nack = &g.pel[id];
                out.array(3);
                reply_id(out, *id);
                out.int(nack.delivery_time as i64);
                out.int(nack.delivery_count as i64);
            }
        }
    }
    Ok(())
}

/// XINFO's `radix-tree-nodes`: Redis counts the nodes of its radix tree, which this
/// structure does not have; this is what Redis's tree of `keys` 16-byte IDs of
/// neighbouring times has (measured: 1, 2, then about two per key).
fn radix_nodes_estimate(keys: usize) -> usize {
    match keys {
        0 => 1,
        1 => 2,
        n => 2 * n + 2,
    }
}

/// ```text
/// XINFO HELP
/// ```
fn xinfo_help(ctx: &mut Ctx, args: &Args) -> CmdResult {
    help_reply(
        ctx,
        args,
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::command::testing::{strs, Session};

    /// (events, propagated) of one command.
    fn fx(s: &mut Session, parts: &str) -> (Vec<String>, Vec<String>) {
        let words: Vec<&str> = parts.split(' ').collect();
        let (_, ev, prop) = s.check(&words);
        (ev, prop)
    }

    #[test]
    fn xadd_propagates_the_id_it_generated_and_the_trim_it_did() {
        let mut s = Session::new();
        let (ev, prop) = fx(&mut s, "XADD s 5-* a b");
        assert_eq!(ev, strs(&["xadd s"]));
        assert_eq!(prop, strs(&["XADD s 5-0 a b"]));
        let (reply, _, prop) = s.check(&["XADD", "s", "*", "a", "b"]);
        let id = reply.lines().nth(1).unwrap().to_string();
        assert_eq!(prop, vec![format!("XADD s {id} a b")]);
        for i in 1..=300 {
            s.run(&["XADD", "t", &format!("{i}-0"), "f", "v"]);
        }
        let (ev, prop) = fx(&mut s, "XADD t MAXLEN ~ 100 301-0 f v");
        assert_eq!(ev, strs(&["xadd t", "xtrim t"]));
        assert_eq!(prop, strs(&["XADD t MAXLEN = 101 301-0 f v"]));
        let (ev, prop) = fx(&mut s, "XTRIM t MINID ~ 301");
        assert_eq!(ev, strs(&["xtrim t"]));
        assert_eq!(prop, strs(&["XTRIM t MINID = 301-0"]));
        let (ev, prop) = fx(&mut s, "XTRIM t MAXLEN 50");
        assert!(ev.is_empty() && prop.is_empty());
        for i in 302..=310 {
            s.run(&["XADD", "t", &format!("{i}-0"), "f", "v"]);
        }
        let (ev, prop) = fx(&mut s, "XTRIM t MAXLEN 5");
        assert_eq!(ev, strs(&["xtrim t"]));
        assert_eq!(prop, strs(&["XTRIM t MAXLEN 5"]));
        let (ev, prop) = fx(&mut s, "XDEL t 1-0 310-0");
        assert_eq!(ev, strs(&["xdel t"]));
        assert_eq!(prop, strs(&["XDEL t 1-0 310-0"]));
        let (ev, prop) = fx(&mut s, "XADD none NOMKSTREAM * a b");
        assert!(ev.is_empty() && prop.is_empty());
    }

    #[test]
    fn group_reads_propagate_as_xclaim_and_setid() {
        let mut s = Session::new();
        s.run(&["XADD", "s", "1-0", "a", "1"]);
        s.run(&["XADD", "s", "2-0", "b", "2"]);
        assert_eq!(
            fx(&mut s, "XGROUP CREATE s g 0"),
            (strs(&["xgroup-create s"]), strs(&["XGROUP CREATE s g 0"]))
        );
        let (ev, prop) = fx(&mut s, "XREADGROUP GROUP g c COUNT 1 STREAMS s >");
        assert_eq!(ev, strs(&["xgroup-createconsumer s"]));
        assert_eq!(prop.len(), 1);
        assert!(
            prop[0].starts_with("XCLAIM s g c 0 1-0 TIME ")
                && prop[0].ends_with(" RETRYCOUNT 1 FORCE JUSTID LASTID 1-0"),
            "{prop:?}"
        );
        let (ev, prop) = fx(&mut s, "XREADGROUP GROUP g c STREAMS s 0");
        assert!(ev.is_empty() && prop.is_empty(), "history: {ev:?} {prop:?}");
        let (ev, prop) = fx(&mut s, "XREADGROUP GROUP g n NOACK STREAMS s >");
        assert_eq!(ev, strs(&["xgroup-createconsumer s"]));
        assert_eq!(
            prop,
            strs(&[
                "MULTI",
                "XGROUP CREATECONSUMER s g n",
                "XGROUP SETID s g 2-0 ENTRIESREAD 2",
                "EXEC"
            ])
        );
        let (_, prop) = fx(&mut s, "XCLAIM s g d 0 1-0 JUSTID");
        assert!(prop[0].starts_with("XCLAIM s g d 0 1-0 TIME "), "{prop:?}");
        assert!(
            prop[0].ends_with(" RETRYCOUNT 2 FORCE JUSTID LASTID 2-0"),
            "{prop:?}"
        );
        let (_, prop) = fx(&mut s, "XCLAIM s g d 0 9-0 LASTID 5-0");
        assert_eq!(prop, strs(&["XGROUP SETID s g 5-0 ENTRIESREAD 2"]));
        s.run(&["XDEL", "s", "1-0"]);
        let (_, prop) = fx(&mut s, "XAUTOCLAIM s g e 0 0");
        assert!(prop[0].starts_with("XCLAIM s g d 0 1-0 TIME "), "{prop:?}");
        assert_eq!(
            fx(&mut s, "XACK s g 1-0"),
            (vec![], vec![]),
            "nothing left to ack"
        );
        assert_eq!(
            fx(&mut s, "XGROUP DELCONSUMER s g d"),
            (
                strs(&["xgroup-delconsumer s"]),
                strs(&["XGROUP DELCONSUMER s g d"])
            )
        );
        assert_eq!(
            fx(&mut s, "XSETID s 9-0"),
            (strs(&["xsetid s"]), strs(&["XSETID s 9-0"]))
        );
        assert_eq!(
            fx(&mut s, "XGROUP DESTROY s g"),
            (strs(&["xgroup-destroy s"]), strs(&["XGROUP DESTROY s g"]))
        );
    }

    /// Blocks `blocked` on a client of its own, then runs `then` as the session's
    /// client: the blocked client's reply, and the events and propagation of both.
    fn serve(
        s: &mut Session,
        blocked: &[&str],
        then: &[&str],
    ) -> (String, Vec<String>, Vec<String>) {
        use crate::client::{ClientHandle, ClientState};
        use crate::command::Ctx;
        use crate::resp::{Args, Reply};
        use std::sync::atomic::Ordering;
        use std::sync::Arc;
        s.events();
        s.propagated();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let peer = listener.accept().unwrap().0;
        let mut other = ClientState::new(Arc::new(ClientHandle::new(100, stream).unwrap()));
        let server = &s.server;
        let client = &mut s.client;
        let reply = std::thread::scope(|scope| {
            let t = scope.spawn(move || {
                let mut out = Reply::new();
                let mut ctx = Ctx {
                    server,
                    client: &mut other,
                    out: &mut out,
                    now_ms: crate::util::now_ms(),
                };
                crate::command::execute(&mut ctx, &Args::from_slices(blocked));
                drop(peer);
                String::from_utf8_lossy(out.as_bytes()).into_owned()
            });
            let start = std::time::Instant::now();
            while server.stats.blocked_clients.load(Ordering::Acquire) != 1 {
                assert!(start.elapsed().as_secs() < 10, "never blocked");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let mut out = Reply::new();
            let mut ctx = Ctx {
                server,
                client,
                out: &mut out,
                now_ms: crate::util::now_ms(),
            };
            crate::command::execute(&mut ctx, &Args::from_slices(then));
            t.join().unwrap()
        });
        let (ev, prop) = (s.events(), s.propagated());
        (reply, ev, prop)
    }

    #[test]
    fn a_served_group_read_propagates_its_claims_on_its_own() {
        let mut s = Session::new();
        s.run(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
        let (reply, ev, prop) = serve(
            &mut s,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
            &["XADD", "s", "1-0", "f", "v"],
        );
        assert_eq!(
            reply,
            "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
        );
        assert_eq!(ev, strs(&["xadd s", "xgroup-createconsumer s"]));
        assert_eq!(prop.len(), 2, "{prop:?}");
        assert_eq!(prop[0], "XADD s 1-0 f v");
        assert!(prop[1].starts_with("XCLAIM s g c 0 1-0 TIME "), "{prop:?}");
        let (reply, _, prop) = serve(
            &mut s,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
            &["XGROUP", "DESTROY", "s", "g"],
        );
        assert_eq!(
            reply,
            "-NOGROUP the consumer group this client was blocked on no longer exists\r\n"
        );
        assert_eq!(prop, strs(&["XGROUP DESTROY s g"]));
        s.run(&["XGROUP", "CREATE", "s", "g", "$"]);
        let (reply, _, _) = serve(
            &mut s,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
            &["SET", "s", "not a stream"],
        );
        assert_eq!(reply, "-UNBLOCKED the stream key no longer exists\r\n");
        let (reply, _, prop) = serve(
            &mut s,
            &["XREAD", "BLOCK", "0", "STREAMS", "t", "$"],
            &["XADD", "t", "5-*", "a", "b"],
        );
        assert!(reply.contains("5-0"), "{reply}");
        assert_eq!(prop, strs(&["XADD t 5-0 a b"]));
    }

    #[test]
    fn inside_exec_a_blocking_read_answers_at_once() {
        let mut s = Session::new();
        s.run(&["MULTI"]);
        s.run(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
        let (reply, ev, prop) = s.check(&["EXEC"]);
        assert_eq!(reply, "*1\r\n*-1\r\n");
        assert!(ev.is_empty() && prop.is_empty());
    }
}
