//! List commands (Redis's t_list.c): pushes and pops at both ends, LLEN, LRANGE, LINDEX,
//! LSET, LREM, LTRIM, LINSERT, LPOS, LMOVE, RPOPLPUSH and LMPOP.
//!
//! A list is a [`List`] (a quicklist of packed nodes), so both ends are O(1); a list that
//! becomes empty deletes its key, as in Redis. Each family shares one body, as Redis's do: [`push`] (LPUSH, RPUSH,
//! LPUSHX, RPUSHX), [`pop_elements`] (LPOP, RPOP, LMPOP), [`pop_first`] (LMPOP) and
//! [`move_element`] (LMOVE, RPOPLPUSH). The last three touch the keyspace, report their
//! events and return what they took, leaving the propagation to the caller, so the
//! blocking variants (BLPOP, BLMPOP, BLMOVE, BRPOPLPUSH) can call them, at once or once
//! a key is ready ([`take_elements`] is the pop that reports nothing).
//!
//! `ks.dirty` grows as Redis's `server.dirty` does: by one per element pushed, popped or
//! removed, by one per LSET, LINSERT and LMOVE, and not at all when nothing changed.
//!
//! Each command reports what t_list.c reports: its event (`lpush`, `rpush`, `linsert`,
//! `lset`, `lpop`, `rpop`, `lrem`, `ltrim`), followed by `del` when the list it emptied
//! goes, and the key as modified. LMPOP propagates as the `LPOP`/`RPOP key count` it
//! amounts to; the others propagate as they were written.

use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::{Args, Reply};
use crate::store::{class, Entry, Keyspace, List, Value};
use crate::util::num::parse_i64;

/// The list commands, as COMMAND INFO reports them.
#[rustfmt::skip]
pub const COMMANDS: &[Command] = &[
    Command::new("lpush", Handler::Write(lpush)),
    Command::new("rpush", Handler::Write(rpush)),
    Command::new("lpushx", Handler::Write(lpushx)),
    Command::new("rpushx", Handler::Write(rpushx)),
    Command::new("lpop", Handler::Write(lpop)),
    Command::new("rpop", Handler::Write(rpop)),
    Command::new("llen", Handler::Read(llen)),
    Command::new("lrange", Handler::Read(lrange)),
    Command::new("lindex", Handler::Read(lindex)),
    Command::new("lset", Handler::Write(lset)),
    Command::new("lrem", Handler::Write(lrem)),
    Command::new("ltrim", Handler::Write(ltrim)),
    Command::new("linsert", Handler::Write(linsert)),
    Command::new("lpos", Handler::Read(lpos)),
    Command::new("lmove", Handler::Write(lmove)),
    Command::new("rpoplpush", Handler::Write(rpoplpush)),
    // The keys follow numkeys, so COMMAND INFO gives no fixed positions.
    Command::new("lmpop", Handler::Write(lmpop)),
];

/// Elements taken from a list, in the order they were popped.
pub type Popped = Vec<Vec<u8>>;

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The head, `LEFT`.
    Head,
    /// The tail, `RIGHT`.
    Tail,
}

impl End {
    /// Parses `LEFT` or `RIGHT`, ignoring case (`ERR syntax error` otherwise).
    pub fn parse(arg: &[u8]) -> Result<End, CmdError> {
        if is(arg, "left") {
            Ok(End::Head)
        } else if is(arg, "right") {
            Ok(End::Tail)
        } else {
            Err(CmdError::Syntax)
        }
    }
}

impl End {
    /// The event a pop from this end fires.
    pub fn pop_event(self) -> &'static str {
        match self {
            End::Head => "lpop",
            End::Tail => "rpop",
        }
    }

    /// The event a push to this end fires.
    pub fn push_event(self) -> &'static str {
        match self {
            End::Head => "lpush",
            End::Tail => "rpush",
        }
    }

    /// The word `LPOP` or `RPOP`, as Redis propagates a pop from this end.
    pub fn pop_command(self) -> &'static str {
        match self {
            End::Head => "LPOP",
            End::Tail => "RPOP",
        }
    }

    /// `left` or `right`, as Redis spells the ends when it propagates a served BLMOVE.
    pub fn word(self) -> &'static str {
        match self {
            End::Head => "left",
            End::Tail => "right",
        }
    }
}

/// Takes one element from `end` of `list`.
fn take(list: &mut List, end: End) -> Option<Vec<u8>> {
    match end {
        End::Head => list.pop_front(),
        End::Tail => list.pop_back(),
    }
}

/// Adds one element at `end` of `list`.
fn put(list: &mut List, end: End, element: &[u8]) {
    match end {
        End::Head => list.push_front(element),
        End::Tail => list.push_back(element),
    }
}

/// The list at `key` for reading: `Ok(None)` if absent, `WRONGTYPE` if not a list.
/// Counts a keyspace hit or miss, as Redis's `lookupKeyRead` does (write lookups do not).
fn read_list<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    key: &[u8],
) -> Result<Option<&'a List>, CmdError> {
    super::read_typed(ctx, ks, key, Entry::list)
}

/// The list at `key` for writing (Redis's `lookupKeyWrite` plus `checkType`): `Ok(None)`
/// if absent, `WRONGTYPE` if not a list.
fn write_list<'a>(
    ks: &'a mut Keyspace,
    db: usize,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a mut List>, CmdError> {
    match ks.db_mut(db).get_mut(key, now_ms) {
        None => Ok(None),
        Some(e) => e.list_mut().map(Some).ok_or(CmdError::WrongType),
    }
}

/// Which elements LRANGE and LTRIM select: the inclusive range from `start` to `stop`
/// of a list of `len` elements, negative indexes counting from the end, clamped to the
/// list; `None` if it is empty (Redis's `addListRangeReply` index rules).
fn clamp_range(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

// ---------------------------------------------------------------------------------------
// Pushes
// ---------------------------------------------------------------------------------------

/// The shared body of LPUSH, RPUSH, LPUSHX and RPUSHX (Redis's `pushGenericCommand`);
/// `only_existing` is the X variants' rule: an absent key stays absent and the reply is 0.
fn push(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, end: End, only_existing: bool) -> CmdResult {
    let dbi = ctx.client.db;
    let db = ks.db_mut(dbi);
    let entry = if only_existing {
        match db.get_mut(&args[1], ctx.now_ms) {
            Some(entry) => entry,
            None => {
                ctx.out.int(0);
                return Ok(());
            }
        }
    } else {
        db.get_or_insert_with(&args[1], ctx.now_ms, || Value::List(List::new()))
    };
    let Some(list) = entry.list_mut() else {
        return Err(CmdError::WrongType);
    };
    for element in args.iter().skip(2) {
        put(list, end, element);
    }
    let len = list.len();
    ks.dirty += args.len() as u64 - 2;
    ks.signal_ready(dbi, &args[1]);
    ks.changed(class::LIST, end.push_event(), dbi, &args[1]);
    ctx.out.int(len as i64);
    Ok(())
}

/// ```text
/// LPUSH key element [element ...]
/// ```
/// The list's new length.
fn lpush(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    push(ctx, ks, args, End::Head, false)
}

/// ```text
/// RPUSH key element [element ...]
/// ```
/// The list's new length.
fn rpush(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    push(ctx, ks, args, End::Tail, false)
}

/// ```text
/// LPUSHX key element [element ...]
/// ```
/// LPUSH, only if the list exists. The list's new length, 0 if there is no such key.
fn lpushx(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    push(ctx, ks, args, End::Head, true)
}

/// ```text
/// RPUSHX key element [element ...]
/// ```
/// RPUSH, only if the list exists. The list's new length, 0 if there is no such key.
fn rpushx(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    push(ctx, ks, args, End::Tail, true)
}

// ---------------------------------------------------------------------------------------
// Pops and moves
// ---------------------------------------------------------------------------------------

/// Takes up to `count` elements from `end` of the list at `key`, in the order they are
/// popped, and deletes the list if that empties it; reports nothing. `Ok(None)` if there
/// is no such key, `WRONGTYPE` if it is not a list; else the elements and whether the
/// key went. Every element taken counts as a change.
pub fn take_elements(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    end: End,
    count: usize,
    now_ms: u64,
) -> Result<Option<(Popped, bool)>, CmdError> {
    let Some(list) = write_list(ks, db, key, now_ms)? else {
        return Ok(None);
    };
    let n = count.min(list.len());
    let popped: Popped = (0..n).filter_map(|_| take(list, end)).collect();
    let emptied = list.is_empty();
    if emptied {
        ks.db_mut(db).remove(key, now_ms);
    }
    ks.dirty += popped.len() as u64;
    Ok(Some((popped, emptied)))
}

/// The events of elements popped from `end` of `key`: `lpop` or `rpop`, then `del` if
/// the list went (the notifications of Redis's `listElementsRemoved`).
pub fn notify_popped(ks: &mut Keyspace, db: usize, key: &[u8], end: End, deleted: bool) {
    ks.notify(class::LIST, end.pop_event(), db, key);
    if deleted {
        ks.notify(class::GENERIC, "del", db, key);
    }
}

/// Takes up to `count` elements from `end` of the list at `key`, in the order they are
/// popped: `Ok(None)` if there is no such key, `WRONGTYPE` if it is not a list. A list
/// left empty is deleted and every element taken counts as a change; if any was taken,
/// it reports the pop as Redis's `listElementsRemoved` does (its event, `del` if the
/// key went, the key as modified). The core of LPOP, RPOP, LMPOP and BLMPOP.
pub fn pop_elements(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    end: End,
    count: usize,
    now_ms: u64,
) -> Result<Option<Popped>, CmdError> {
    let Some((popped, deleted)) = take_elements(ks, db, key, end, count, now_ms)? else {
        return Ok(None);
    };
    if !popped.is_empty() {
        notify_popped(ks, db, key, end, deleted);
        ks.touched(db, key);
    }
    Ok(Some(popped))
}

/// Pops up to `count` elements from `end` of the first of `keys` that holds a non-empty
/// list, as [`pop_elements`] does: that key and its elements, `Ok(None)` if every key is
/// absent, `WRONGTYPE` at the first key that is not a list (keys after a found list are
/// never looked at). The core of LMPOP and BLMPOP (Redis's `mpopGenericCommand`).
pub fn pop_first<'k>(
    ks: &mut Keyspace,
    db: usize,
    keys: impl IntoIterator<Item = &'k [u8]>,
    end: End,
    count: usize,
    now_ms: u64,
) -> Result<Option<(&'k [u8], Popped)>, CmdError> {
    for key in keys {
        match write_list(ks, db, key, now_ms)? {
            Some(list) if !list.is_empty() => {
                let popped = pop_elements(ks, db, key, end, count, now_ms)?.unwrap_or_default();
                return Ok(Some((key, popped)));
            }
            _ => continue,
        }
    }
    Ok(None)
}

/// Moves one element from the `from` end of the list at `src` to the `to` end of the
/// list at `dst` (created if absent, and signalled ready for blocked clients), and
/// returns it: `Ok(None)` if `src` is absent. The destination's type is checked before
/// anything is popped, as in Redis; with `src == dst` the list rotates in place (and
/// keeps its TTL even with one element). The core of LMOVE, RPOPLPUSH, BLMOVE and
/// BRPOPLPUSH (Redis's `lmoveGenericCommand`).
///
/// It reports as Redis does: the destination modified and its `lpush`/`rpush`, then the
/// source's `lpop`/`rpop`, `del` if it went, and the source modified, except for a
/// blocked client being `served` (Redis's `serveClientBlockedOnList` does not signal
/// the source, whose push already did).
pub fn move_element(
    ks: &mut Keyspace,
    db: usize,
    (src, from): (&[u8], End),
    (dst, to): (&[u8], End),
    now_ms: u64,
    served: bool,
) -> Result<Option<Vec<u8>>, CmdError> {
    let Some(list) = write_list(ks, db, src, now_ms)? else {
        return Ok(None);
    };
    if src == dst {
        let Some(element) = take(list, from) else {
            return Ok(None);
        };
        put(list, to, &element);
        ks.dirty += 1;
        report_move(ks, db, (src, from), (dst, to), false, served);
        return Ok(Some(element));
    }
    write_list(ks, db, dst, now_ms)?;
    let Some((mut popped, deleted)) = take_elements(ks, db, src, from, 1, now_ms)? else {
        return Ok(None);
    };
    let Some(element) = popped.pop() else {
        return Ok(None);
    };
    let entry = ks
        .db_mut(db)
        .get_or_insert_with(dst, now_ms, || Value::List(List::new()));
    if let Some(list) = entry.list_mut() {
        put(list, to, &element);
    }
    ks.signal_ready(db, dst);
    report_move(ks, db, (src, from), (dst, to), deleted, served);
    Ok(Some(element))
}

/// What a move reports (see [`move_element`]), in Redis's order.
fn report_move(
    ks: &mut Keyspace,
    db: usize,
    (src, from): (&[u8], End),
    (dst, to): (&[u8], End),
    deleted: bool,
    served: bool,
) {
    ks.touched(db, dst);
    ks.notify(class::LIST, to.push_event(), db, dst);
    notify_popped(ks, db, src, from, deleted);
    if !served {
        ks.touched(db, src);
    }
}

/// The shared body of LPOP and RPOP (Redis's `popGenericCommand`).
fn pop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, end: End) -> CmdResult {
    if args.len() > 3 {
        let name = if end == End::Head { "lpop" } else { "rpop" };
        return Err(CmdError::err(format!(
            "wrong number of arguments for '{name}' command"
        )));
    }
    let count = match args.len() {
        3 => Some(positive_arg(&args[2])?),
        _ => None,
    };
    let popped = pop_elements(
        ks,
        ctx.client.db,
        &args[1],
        end,
        count.unwrap_or(1),
        ctx.now_ms,
    )?;
    match (popped, count) {
        (None, Some(_)) => ctx.out.null_array(),
        (None, None) => ctx.out.null(),
        (Some(elements), Some(_)) => bulk_array(ctx.out, &elements),
        (Some(elements), None) => match elements.first() {
            Some(element) => ctx.out.bulk(element),
            None => ctx.out.null(),
        },
    }
    Ok(())
}

/// A count that must be >= 0 (`getPositiveLongFromObjectOrReply`).
fn positive_arg(arg: &[u8]) -> Result<usize, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(CmdError::err("value is out of range, must be positive")),
    }
}

/// Writes `elements` as an array of bulk strings.
fn bulk_array(out: &mut Reply, elements: &[Vec<u8>]) {
    out.array(elements.len());
    for element in elements {
        out.bulk(element);
    }
}

/// ```text
/// LPOP key [count]
/// ```
/// The first element, or with a count an array of up to count elements; nil if absent.
fn lpop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    pop(ctx, ks, args, End::Head)
}

/// ```text
/// RPOP key [count]
/// ```
/// The last element, or with a count an array of up to count elements; nil if absent.
fn rpop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    pop(ctx, ks, args, End::Tail)
}

/// ```text
/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
/// ```
/// Pops up to count (default 1) elements from the first non-empty list among the keys:
/// `[key, [element ...]]`, or a nil array if every list is empty.
fn lmpop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let (keys, end, count) = parse_mpop(args, 1)?;
    let keys = keys.map(|i| &args[i]);
    match pop_first(ks, ctx.client.db, keys, end, count, ctx.now_ms)? {
        Some((key, elements)) => {
            // Propagated as the [LR]POP key count it amounts to.
            let n = elements.len().to_string();
            ks.rewrite(&[end.pop_command().as_bytes(), key, n.as_bytes()]);
            ctx.out.array(2);
            ctx.out.bulk(key);
            bulk_array(ctx.out, &elements);
        }
        None => ctx.out.null_array(),
    }
    Ok(())
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at argument
/// `numkeys_at`, with Redis 7.0's errors (`lmpopGenericCommand`): the positions of the
/// keys, the end to pop from, and the count.
pub fn parse_mpop(
    args: &Args,
    numkeys_at: usize,
) -> Result<(std::ops::Range<usize>, End, usize), CmdError> {
    parse_mpop_with(args, numkeys_at, End::parse)
}

/// [`parse_mpop`] with another word for the end (`MIN|MAX` for ZMPOP and BZMPOP).
pub fn parse_mpop_with<T>(
    args: &Args,
    numkeys_at: usize,
    parse_where: impl Fn(&[u8]) -> Result<T, CmdError>,
) -> Result<(std::ops::Range<usize>, T, usize), CmdError> {
    let numkeys = match parse_i64(&args[numkeys_at]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(CmdError::err("numkeys should be greater than 0")),
    };
    let where_at = numkeys_at as u64 + numkeys + 1;
    if where_at >= args.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_at = where_at as usize;
    let end = parse_where(&args[where_at])?;
    let mut count = None;
    let mut i = where_at + 1;
    while i < args.len() {
        if count.is_none() && is(&args[i], "count") && i + 1 < args.len() {
            i += 1;
            match parse_i64(&args[i]) {
                Some(n) if n > 0 => count = Some(n as usize),
                _ => return Err(CmdError::err("count should be greater than 0")),
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok((numkeys_at + 1..where_at, end, count.unwrap_or(1)))
}

/// The shared body of LMOVE and RPOPLPUSH.
fn lmove_generic(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, from: End, to: End) -> CmdResult {
    let src = (&args[1], from);
    let dst = (&args[2], to);
    match move_element(ks, ctx.client.db, src, dst, ctx.now_ms, false)? {
        Some(element) => ctx.out.bulk(&element),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ```text
/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
/// ```
/// Pops an element from one end of source, pushes it to one end of destination (the
/// same list rotates) and returns it; nil if source does not exist.
fn lmove(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let from = End::parse(&args[3])?;
    let to = End::parse(&args[4])?;
    lmove_generic(ctx, ks, args, from, to)
}

/// ```text
/// RPOPLPUSH source destination
/// ```
/// LMOVE source destination RIGHT LEFT.
fn rpoplpush(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    lmove_generic(ctx, ks, args, End::Tail, End::Head)
}

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

/// ```text
/// LLEN key
/// ```
fn llen(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let len = read_list(ctx, ks, &args[1])?.map_or(0, List::len);
    ctx.out.int(len as i64);
    Ok(())
}

/// ```text
/// LRANGE key start stop
/// ```
/// The elements from start to stop inclusive; negative indexes count from the end.
fn lrange(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let start = int_arg(&args[2])?;
    let stop = int_arg(&args[3])?;
    let list = read_list(ctx, ks, &args[1])?;
    match list.and_then(|l| Some((l, clamp_range(l.len(), start, stop)?))) {
        Some((list, (start, stop))) => {
            ctx.out.array(stop - start + 1);
            for v in list.range(start..stop + 1) {
                ctx.out.bulk(v);
            }
        }
        None => ctx.out.array(0),
    }
    Ok(())
}

/// ```text
/// LINDEX key index
/// ```
/// The element at index, or nil.
fn lindex(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    // As in Redis, the key (and its type) is checked before the index is parsed.
    let Some(list) = read_list(ctx, ks, &args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let index = int_arg(&args[2])?;
    match resolve_index(list.len(), index).and_then(|i| list.get(i)) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// The position of LINDEX/LSET's `index` in a list of `len` elements (negative counts
/// from the end), if it is inside the list.
fn resolve_index(len: usize, index: i64) -> Option<usize> {
    let index = if index < 0 {
        index.checked_add(len as i64)?
    } else {
        index
    };
    (0..len as i64).contains(&index).then_some(index as usize)
}

/// The indexes LPOS reports (Redis's `lposCommand` scan): the matches of `element`
/// from the `rank`-th on (a negative rank scans from the tail), at most `count` of them
/// when a count is given (0: all), looking at no more than `maxlen` elements (0: all).
/// Without a count, at most one index. `rank` is never 0.
///
/// The arithmetic wraps as Redis's C does, so a rank of `i64::MIN` (which stays
/// negative when negated) scans from the tail and accepts every match, and with a
/// count it never reaches the count and returns all matches.
fn lpos_scan(list: &List, element: &[u8], rank: i64, count: Option<i64>, maxlen: i64) -> Vec<i64> {
    let from_tail = rank < 0;
    let rank = if from_tail { rank.wrapping_neg() } else { rank };
    let len = list.len();
    let mut found = Vec::new();
    let mut matches: i64 = 0;
    // One walk from the chosen end: indexing a packed list costs a walk of its own.
    let walk: Box<dyn Iterator<Item = &[u8]>> = if from_tail {
        Box::new(list.iter().rev())
    } else {
        Box::new(list.iter())
    };
    for (scanned, item) in walk.enumerate() {
        if maxlen != 0 && scanned as i64 >= maxlen {
            break;
        }
        let at = if from_tail {
            len - 1 - scanned
        } else {
            scanned
        };
        if item != element {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        found.push(at as i64);
        match count {
            None => break,
            Some(count) if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count => {
                break
            }
            Some(_) => {}
        }
    }
    found
}

/// ```text
/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
/// ```
/// The index of the first match (from the rank-th match; a negative rank searches from
/// the tail), or nil; with COUNT an array of up to num-matches indexes (0: all).
fn lpos(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1, None, 0);
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        let opt = &args[i];
        if is(opt, "rank") && more {
            rank = int_arg(&args[i + 1])?;
            if rank == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(opt, "count") && more {
            count = Some(non_negative(&args[i + 1], "COUNT can't be negative")?);
        } else if is(opt, "maxlen") && more {
            maxlen = non_negative(&args[i + 1], "MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let found = match read_list(ctx, ks, &args[1])? {
        Some(list) => lpos_scan(list, &args[2], rank, count, maxlen),
        None => Vec::new(),
    };
    match (count, found.first()) {
        (Some(_), _) => {
            ctx.out.array(found.len());
            for index in found {
                ctx.out.int(index);
            }
        }
        (None, Some(&index)) => ctx.out.int(index),
        (None, None) => ctx.out.null(),
    }
    Ok(())
}

/// An integer that must be >= 0, with one message for both a bad and a negative value
/// (`getPositiveLongFromObjectOrReply` with a message).
fn non_negative(arg: &[u8], message: &str) -> Result<i64, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(CmdError::err(message)),
    }
}

// ---------------------------------------------------------------------------------------
// Edits in place
// ---------------------------------------------------------------------------------------

/// ```text
/// LSET key index element
/// ```
/// Replaces the element at index (negative counts from the end). `ERR no such key` if
/// the key is absent, `ERR index out of range` outside the list.
fn lset(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    // Key, then type, then index: Redis's order.
    let Some(list) = write_list(ks, ctx.client.db, &args[1], ctx.now_ms)? else {
        return Err(CmdError::NoSuchKey);
    };
    let index = int_arg(&args[2])?;
    let i = resolve_index(list.len(), index)
        .filter(|&i| i < list.len())
        .ok_or_else(|| CmdError::err("index out of range"))?;
    list.set(i, &args[3]);
    ks.dirty += 1;
    ks.changed(class::LIST, "lset", ctx.client.db, &args[1]);
    ctx.out.ok();
    Ok(())
}

/// Removes matches of `element` from `list`: all of them if `limit` is 0, else the
/// first `limit` from the head, or from the tail with `from_tail`. Returns how many.
fn remove_matches(list: &mut List, element: &[u8], limit: usize, from_tail: bool) -> usize {
    // Removing the last `limit` matches means keeping the first `total - limit`.
    let skip = match (limit, from_tail) {
        (0, _) | (_, false) => 0,
        (limit, true) => {
            let total = list.iter().filter(|v| *v == element).count();
            total.saturating_sub(limit)
        }
    };
    let (mut seen, mut removed) = (0, 0);
    list.retain(|v| {
        if v != element || (limit != 0 && removed == limit) {
            return true;
        }
        seen += 1;
        if seen <= skip {
            return true;
        }
        removed += 1;
        false
    });
    removed
}

/// ```text
/// LREM key count element
/// ```
/// Removes the first count matches of element (count < 0: the last -count; 0: all).
/// The number removed.
fn lrem(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let count = int_arg(&args[2])?;
    let dbi = ctx.client.db;
    let Some(list) = write_list(ks, dbi, &args[1], ctx.now_ms)? else {
        ctx.out.int(0);
        return Ok(());
    };
    // Redis negates a negative count, and LONG_MIN stays negative: it then never equals
    // the number removed, so every match goes, as with 0.
    let limit = usize::try_from(count.wrapping_abs()).unwrap_or(0);
    let removed = remove_matches(list, &args[3], limit, count < 0);
    let emptied = list.is_empty();
    ks.dirty += removed as u64;
    if removed > 0 {
        ks.changed(class::LIST, "lrem", dbi, &args[1]);
    }
    if emptied {
        ks.db_mut(dbi).remove(&args[1], ctx.now_ms);
        ks.notify(class::GENERIC, "del", dbi, &args[1]);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// ```text
/// LTRIM key start stop
/// ```
/// Keeps only the elements from start to stop inclusive (LRANGE's index rules); an
/// empty range deletes the key. Always OK.
fn ltrim(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let start = int_arg(&args[2])?;
    let stop = int_arg(&args[3])?;
    let dbi = ctx.client.db;
    if let Some(list) = write_list(ks, dbi, &args[1], ctx.now_ms)? {
        let before = list.len();
        match clamp_range(before, start, stop) {
            Some((start, stop)) => {
                list.truncate(stop + 1);
                list.remove_range(0..start);
            }
            None => list.clear(),
        }
        let removed = before - list.len();
        let emptied = list.is_empty();
        ks.dirty += removed as u64;
        // Redis reports a trim even when it removed nothing (then nothing propagates).
        ks.notify(class::LIST, "ltrim", dbi, &args[1]);
        if emptied {
            ks.db_mut(dbi).remove(&args[1], ctx.now_ms);
            ks.notify(class::GENERIC, "del", dbi, &args[1]);
        }
        ks.touched(dbi, &args[1]);
    }
    ctx.out.ok();
    Ok(())
}

/// ```text
/// LINSERT key BEFORE|AFTER pivot element
/// ```
/// Inserts element next to the first pivot from the head. The new length, -1 if the
/// pivot is not found, 0 if the key does not exist.
fn linsert(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let after = if is(&args[2], "after") {
        true
    } else if is(&args[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let Some(list) = write_list(ks, ctx.client.db, &args[1], ctx.now_ms)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some(at) = list.iter().position(|v| *v == args[3]) else {
        ctx.out.int(-1);
        return Ok(());
    };
    list.insert(at + usize::from(after), &args[4]);
    let len = list.len();
    ks.dirty += 1;
    ks.changed(class::LIST, "linsert", ctx.client.db, &args[1]);
    ctx.out.int(len as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> List {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn clamp_range_follows_redis_index_rules() {
        assert_eq!(clamp_range(5, 0, -1), Some((0, 4)));
        assert_eq!(clamp_range(5, 1, -2), Some((1, 3)));
        assert_eq!(clamp_range(5, -100, 100), Some((0, 4)));
        assert_eq!(clamp_range(5, 3, 1), None);
        assert_eq!(clamp_range(5, 5, 10), None);
        assert_eq!(clamp_range(5, 0, -6), None);
        assert_eq!(clamp_range(5, i64::MIN, i64::MAX), Some((0, 4)));
        assert_eq!(clamp_range(5, i64::MAX, i64::MIN), None);
        assert_eq!(clamp_range(0, 0, -1), None);
    }

    #[test]
    fn resolve_index_counts_negatives_from_the_end() {
        assert_eq!(resolve_index(3, 0), Some(0));
        assert_eq!(resolve_index(3, -1), Some(2));
        assert_eq!(resolve_index(3, -3), Some(0));
        assert_eq!(resolve_index(3, -4), None);
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(3, i64::MIN), None);
        assert_eq!(resolve_index(3, i64::MAX), None);
    }

    #[test]
    fn lpos_scan_ranks_counts_and_maxlen() {
        let l = list(&["a", "b", "c", "a", "b", "c", "a"]);
        assert_eq!(lpos_scan(&l, b"a", 1, None, 0), [0]);
        assert_eq!(lpos_scan(&l, b"a", 2, None, 0), [3]);
        assert_eq!(lpos_scan(&l, b"a", -1, None, 0), [6]);
        assert_eq!(lpos_scan(&l, b"a", -3, None, 0), [0]);
        assert_eq!(lpos_scan(&l, b"a", 4, None, 0), Vec::<i64>::new());
        assert_eq!(lpos_scan(&l, b"a", 1, Some(0), 0), [0, 3, 6]);
        assert_eq!(lpos_scan(&l, b"a", 2, Some(1), 0), [3]);
        assert_eq!(lpos_scan(&l, b"a", -1, Some(2), 0), [6, 3]);
        assert_eq!(lpos_scan(&l, b"a", 1, Some(0), 4), [0, 3]);
        assert_eq!(lpos_scan(&l, b"a", -2, Some(2), 3), Vec::<i64>::new());
        assert_eq!(lpos_scan(&l, b"z", 1, Some(0), 0), Vec::<i64>::new());
        // As Redis 7.0 computes it: LONG_MIN stays negative and matches from the first.
        assert_eq!(lpos_scan(&l, b"a", i64::MIN, None, 0), [6]);
        assert_eq!(lpos_scan(&l, b"a", i64::MIN, Some(1), 0), [6, 3, 0]);
        assert_eq!(lpos_scan(&l, b"a", i64::MAX, Some(1), 0), Vec::<i64>::new());
    }

    #[test]
    fn remove_matches_from_either_end() {
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(remove_matches(&mut l, b"a", 2, false), 2);
        assert_eq!(l, list(&["b", "c", "a"]));

        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(remove_matches(&mut l, b"a", 2, true), 2);
        assert_eq!(l, list(&["a", "b", "c"]));

        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(remove_matches(&mut l, b"a", 0, true), 3);
        assert_eq!(l, list(&["b", "c"]));

        let mut l = list(&["a", "b"]);
        assert_eq!(remove_matches(&mut l, b"a", 10, true), 1);
        assert_eq!(remove_matches(&mut l, b"z", 0, false), 0);
        assert_eq!(l, list(&["b"]));
    }

    #[test]
    fn end_parses_left_and_right_only() {
        assert_eq!(End::parse(b"LeFt"), Ok(End::Head));
        assert_eq!(End::parse(b"RIGHT"), Ok(End::Tail));
        assert_eq!(End::parse(b"middle"), Err(CmdError::Syntax));
    }

    #[test]
    fn parse_mpop_positions_and_errors() {
        let args = |parts: &[&str]| Args::from_slices(parts);
        assert_eq!(
            parse_mpop(&args(&["lmpop", "2", "a", "b", "left"]), 1),
            Ok((2..4, End::Head, 1))
        );
        assert_eq!(
            parse_mpop(&args(&["lmpop", "1", "a", "RIGHT", "count", "5"]), 1),
            Ok((2..3, End::Tail, 5))
        );
        let numkeys = Err(CmdError::err("numkeys should be greater than 0"));
        assert_eq!(parse_mpop(&args(&["lmpop", "0", "a", "left"]), 1), numkeys);
        assert_eq!(parse_mpop(&args(&["lmpop", "x", "a", "left"]), 1), numkeys);
        let syntax = Err(CmdError::Syntax);
        assert_eq!(parse_mpop(&args(&["lmpop", "2", "a", "left"]), 1), syntax);
        assert_eq!(
            parse_mpop(&args(&["lmpop", "9223372036854775807", "a", "left"]), 1),
            syntax
        );
        assert_eq!(
            parse_mpop(
                &args(&["lmpop", "1", "a", "left", "count", "1", "count", "1"]),
                1
            ),
            syntax
        );
        assert_eq!(
            parse_mpop(&args(&["lmpop", "1", "a", "left", "count"]), 1),
            syntax
        );
        assert_eq!(
            parse_mpop(&args(&["lmpop", "1", "a", "left", "count", "0"]), 1),
            Err(CmdError::err("count should be greater than 0"))
        );
    }

    #[test]
    fn move_element_rotates_moves_and_deletes_the_emptied_source() {
        let mut ks = Keyspace::new(1);
        ks.db_mut(0).set(b"l", Value::List(list(&["a", "b", "c"])));
        let got = move_element(&mut ks, 0, (b"l", End::Head), (b"l", End::Tail), 0, false);
        assert_eq!(got, Ok(Some(b"a".to_vec())));
        assert_eq!(
            ks.db(0).get(b"l", 0).unwrap().list(),
            Some(&list(&["b", "c", "a"]))
        );

        ks.db_mut(0).set(b"s", Value::Str(b"x".to_vec()));
        let got = move_element(&mut ks, 0, (b"l", End::Head), (b"s", End::Tail), 0, false);
        assert_eq!(got, Err(CmdError::WrongType));
        assert_eq!(
            ks.db(0).get(b"l", 0).unwrap().list().map(List::len),
            Some(3)
        );

        for _ in 0..3 {
            move_element(&mut ks, 0, (b"l", End::Tail), (b"m", End::Head), 0, false).unwrap();
        }
        assert!(ks.db(0).get(b"l", 0).is_none());
        assert_eq!(
            ks.db(0).get(b"m", 0).unwrap().list(),
            Some(&list(&["b", "c", "a"]))
        );
        assert_eq!(ks.dirty, 4);
        let got = move_element(&mut ks, 0, (b"l", End::Tail), (b"m", End::Head), 0, false);
        assert_eq!(got, Ok(None));
    }

    use crate::command::testing::{strs, Session};

    /// (events, propagated) of one command.
    fn fx(s: &mut Session, parts: &[&str]) -> (Vec<String>, Vec<String>) {
        let (_, ev, prop) = s.check(parts);
        (ev, prop)
    }

    fn none() -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }

    #[test]
    fn pushes_report_their_event_and_propagate_verbatim() {
        let mut s = Session::new();
        assert_eq!(
            fx(&mut s, &["RPUSH", "l", "a", "b"]),
            (strs(&["rpush l"]), strs(&["RPUSH l a b"]))
        );
        assert_eq!(
            fx(&mut s, &["LPUSH", "l", "c"]),
            (strs(&["lpush l"]), strs(&["LPUSH l c"]))
        );
        assert_eq!(
            fx(&mut s, &["lpushx", "l", "d", "e"]),
            (strs(&["lpush l"]), strs(&["lpushx l d e"]))
        );
        assert_eq!(
            fx(&mut s, &["RPUSHX", "l", "f"]),
            (strs(&["rpush l"]), strs(&["RPUSHX l f"]))
        );
        // An absent key stays absent for the X variants, and a wrong type changes nothing.
        assert_eq!(fx(&mut s, &["LPUSHX", "none", "a"]), none());
        assert_eq!(fx(&mut s, &["RPUSHX", "none", "a"]), none());
        s.run(&["SET", "str", "v"]);
        let (reply, ev, prop) = s.check(&["LPUSH", "str", "a"]);
        assert!(reply.starts_with("-WRONGTYPE"));
        assert_eq!((ev, prop), none());
    }

    #[test]
    fn pops_report_the_pop_then_del_when_the_list_goes() {
        let mut s = Session::new();
        s.run(&["RPUSH", "l", "a", "b", "c", "d"]);
        assert_eq!(
            fx(&mut s, &["LPOP", "l"]),
            (strs(&["lpop l"]), strs(&["LPOP l"]))
        );
        assert_eq!(
            fx(&mut s, &["RPOP", "l", "1"]),
            (strs(&["rpop l"]), strs(&["RPOP l 1"]))
        );
        // A count of 0 on an existing list: an empty array, nothing changed.
        let (reply, ev, prop) = s.check(&["LPOP", "l", "0"]);
        assert_eq!(reply, "*0\r\n");
        assert_eq!((ev, prop), none());
        assert_eq!(
            fx(&mut s, &["lpop", "l", "10"]),
            (strs(&["lpop l", "del l"]), strs(&["lpop l 10"]))
        );
        assert_eq!(fx(&mut s, &["LPOP", "l"]), none());
        assert_eq!(fx(&mut s, &["RPOP", "l", "3"]), none());
    }

    #[test]
    fn lmpop_propagates_as_the_pop_with_the_count_taken() {
        let mut s = Session::new();
        s.run(&["RPUSH", "b", "1", "2", "3"]);
        assert_eq!(
            fx(&mut s, &["LMPOP", "2", "a", "b", "right", "COUNT", "2"]),
            (strs(&["rpop b"]), strs(&["RPOP b 2"]))
        );
        assert_eq!(
            fx(&mut s, &["lmpop", "1", "b", "LEFT", "count", "9"]),
            (strs(&["lpop b", "del b"]), strs(&["LPOP b 1"]))
        );
        assert_eq!(fx(&mut s, &["LMPOP", "2", "a", "b", "LEFT"]), none());
    }

    #[test]
    fn moves_report_the_push_before_the_pop() {
        let mut s = Session::new();
        s.run(&["RPUSH", "q", "1", "2"]);
        assert_eq!(
            fx(&mut s, &["LMOVE", "q", "r", "left", "RIGHT"]),
            (
                strs(&["rpush r", "lpop q"]),
                strs(&["LMOVE q r left RIGHT"])
            )
        );
        assert_eq!(
            fx(&mut s, &["RPOPLPUSH", "q", "r"]),
            (
                strs(&["lpush r", "rpop q", "del q"]),
                strs(&["RPOPLPUSH q r"])
            )
        );
        // A rotation fires both, and a single element survives it.
        assert_eq!(
            fx(&mut s, &["RPOPLPUSH", "r", "r"]),
            (strs(&["lpush r", "rpop r"]), strs(&["RPOPLPUSH r r"]))
        );
        s.run(&["RPUSH", "one", "x"]);
        assert_eq!(
            fx(&mut s, &["LMOVE", "one", "one", "LEFT", "LEFT"]),
            (
                strs(&["lpush one", "lpop one"]),
                strs(&["LMOVE one one LEFT LEFT"])
            )
        );
        // Absent source, or a destination of another type: nothing happens.
        assert_eq!(fx(&mut s, &["RPOPLPUSH", "none", "r"]), none());
        s.run(&["SET", "str", "v"]);
        let (reply, ev, prop) = s.check(&["LMOVE", "r", "str", "LEFT", "LEFT"]);
        assert!(reply.starts_with("-WRONGTYPE"));
        assert_eq!((ev, prop), none());
    }

    #[test]
    fn edits_report_only_what_changed() {
        let mut s = Session::new();
        s.run(&["RPUSH", "l", "a", "b", "a", "c"]);
        assert_eq!(
            fx(&mut s, &["LINSERT", "l", "BEFORE", "b", "x"]),
            (strs(&["linsert l"]), strs(&["LINSERT l BEFORE b x"]))
        );
        assert_eq!(fx(&mut s, &["LINSERT", "l", "AFTER", "zz", "x"]), none());
        assert_eq!(fx(&mut s, &["LINSERT", "none", "AFTER", "a", "x"]), none());
        assert_eq!(
            fx(&mut s, &["LSET", "l", "-1", "d"]),
            (strs(&["lset l"]), strs(&["LSET l -1 d"]))
        );
        assert_eq!(fx(&mut s, &["LSET", "l", "99", "d"]), none());
        assert_eq!(fx(&mut s, &["LSET", "none", "0", "d"]), none());
        assert_eq!(
            fx(&mut s, &["LREM", "l", "0", "a"]),
            (strs(&["lrem l"]), strs(&["LREM l 0 a"]))
        );
        assert_eq!(fx(&mut s, &["LREM", "l", "0", "zz"]), none());
        assert_eq!(fx(&mut s, &["LREM", "none", "0", "a"]), none());
        // l is x b d now. A trim that removes nothing still fires (and propagates nothing).
        assert_eq!(fx(&mut s, &["LTRIM", "l", "0", "-1"]).0, strs(&["ltrim l"]));
        assert!(fx(&mut s, &["LTRIM", "l", "0", "99"]).1.is_empty());
        assert_eq!(
            fx(&mut s, &["LTRIM", "l", "1", "-1"]),
            (strs(&["ltrim l"]), strs(&["LTRIM l 1 -1"]))
        );
        assert_eq!(fx(&mut s, &["LTRIM", "none", "0", "1"]), none());
        assert_eq!(
            fx(&mut s, &["LTRIM", "l", "5", "1"]),
            (strs(&["ltrim l", "del l"]), strs(&["LTRIM l 5 1"]))
        );
        s.run(&["RPUSH", "m", "a", "a"]);
        assert_eq!(
            fx(&mut s, &["LREM", "m", "-5", "a"]),
            (strs(&["lrem m", "del m"]), strs(&["LREM m -5 a"]))
        );
    }

    #[test]
    fn every_change_marks_its_keys_modified() {
        let key = |k: &str| (0, crate::store::Key::from(k.as_bytes()));
        let mut ks = Keyspace::new(1);
        ks.db_mut(0).set(b"l", Value::List(list(&["a", "b"])));
        pop_elements(&mut ks, 0, b"l", End::Head, 0, 0).unwrap();
        assert!(ks.take_effects().is_empty(), "a count of 0 takes nothing");
        pop_elements(&mut ks, 0, b"l", End::Head, 1, 0).unwrap();
        assert_eq!(ks.take_effects().modified, vec![key("l")]);
        move_element(&mut ks, 0, (b"l", End::Head), (b"m", End::Tail), 0, false).unwrap();
        let fx = ks.take_effects();
        assert_eq!(fx.modified, vec![key("m"), key("l")]);
        assert_eq!(fx.events.len(), 3, "rpush m, lpop l, del l");
        // Serving a blocked client does not mark the source again.
        move_element(&mut ks, 0, (b"m", End::Head), (b"n", End::Tail), 0, true).unwrap();
        assert_eq!(ks.take_effects().modified, vec![key("n")]);
    }
}
