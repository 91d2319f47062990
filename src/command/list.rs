//! List commands (Redis's t_list.c): pushes and pops at both ends, LLEN, LRANGE and
//! LINDEX. A list is a `VecDeque`, so both ends are O(1); a list that becomes empty
//! deletes its key, as in Redis.

use std::collections::VecDeque;

use super::docs::doc;
use super::flags::*;
use super::{int_arg, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::store::{Keyspace, Value};

pub const COMMANDS: &[Command] = &[
    Command::new("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Handler::Write(lpush),
        doc("list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", "key element [element ...]")),
    Command::new("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Handler::Write(rpush),
        doc("list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", "key element [element ...]")),
    Command::new("lpop", -2, WRITE | FAST, (1, 1, 1), Handler::Write(lpop),
        doc("list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", "key [count]")),
    Command::new("rpop", -2, WRITE | FAST, (1, 1, 1), Handler::Write(rpop),
        doc("list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", "key [count]")),
    Command::new("llen", 2, READONLY | FAST, (1, 1, 1), Handler::Read(llen),
        doc("list", "1.0.0", "Returns the length of a list.", "key")),
    Command::new("lrange", 4, READONLY, (1, 1, 1), Handler::Read(lrange),
        doc("list", "1.0.0", "Returns a range of elements from a list.", "key start stop")),
    Command::new("lindex", 3, READONLY, (1, 1, 1), Handler::Read(lindex),
        doc("list", "1.0.0", "Returns an element from a list by its index.", "key index")),
];

/// Which end of a list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Head,
    Tail,
}

/// The list at `key` for reading: `Ok(None)` if absent, `WRONGTYPE` if not a list.
fn read_list<'a>(
    ctx: &Ctx,
    ks: &'a Keyspace,
    key: &[u8],
) -> Result<Option<&'a VecDeque<Vec<u8>>>, CmdError> {
    match ks.db(ctx.client.db).get(key, ctx.now_ms) {
        None => Ok(None),
        Some(e) => e.list().map(Some).ok_or(CmdError::WrongType),
    }
}

/// The shared body of LPUSH and RPUSH.
fn push(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, end: End) -> CmdResult {
    let dbi = ctx.client.db;
    let entry = ks
        .db_mut(dbi)
        .get_or_insert_with(&args[1], ctx.now_ms, || Value::List(VecDeque::new()));
    let Some(list) = entry.list_mut() else {
        return Err(CmdError::WrongType);
    };
    for element in args.iter().skip(2) {
        match end {
            End::Head => list.push_front(element.to_vec()),
            End::Tail => list.push_back(element.to_vec()),
        }
    }
    let len = list.len();
    ks.dirty += args.len() as u64 - 2;
    ks.signal_ready(dbi, &args[1]);
    ctx.out.int(len as i64);
    Ok(())
}

/// ```text
/// LPUSH key element [element ...]
/// ```
/// The list's new length.
fn lpush(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    push(ctx, ks, args, End::Head)
}

/// ```text
/// RPUSH key element [element ...]
/// ```
/// The list's new length.
fn rpush(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    push(ctx, ks, args, End::Tail)
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
    let db = ks.db_mut(ctx.client.db);
    let Some(entry) = db.get_mut(&args[1], ctx.now_ms) else {
        match count {
            Some(_) => ctx.out.null_array(),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let Some(list) = entry.list_mut() else {
        return Err(CmdError::WrongType);
    };
    let take_one = |list: &mut VecDeque<Vec<u8>>| match end {
        End::Head => list.pop_front(),
        End::Tail => list.pop_back(),
    };
    let popped = match count {
        None => {
            if let Some(v) = take_one(list) {
                ctx.out.bulk(&v);
            }
            1
        }
        Some(0) => {
            ctx.out.array(0);
            return Ok(());
        }
        Some(n) => {
            let n = n.min(list.len());
            ctx.out.array(n);
            for _ in 0..n {
                if let Some(v) = take_one(list) {
                    ctx.out.bulk(&v);
                }
            }
            n
        }
    };
    if list.is_empty() {
        db.remove(&args[1], ctx.now_ms);
    }
    ks.dirty += popped as u64;
    Ok(())
}

/// A count that must be >= 0 (`getPositiveLongFromObjectOrReply`).
fn positive_arg(arg: &[u8]) -> Result<usize, CmdError> {
    match crate::util::num::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(CmdError::err("value is out of range, must be positive")),
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
/// LLEN key
/// ```
fn llen(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let len = read_list(ctx, ks, &args[1])?.map_or(0, VecDeque::len);
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
    let Some(list) = read_list(ctx, ks, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let len = list.len() as i64;
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
        ctx.out.array(0);
        return Ok(());
    }
    let (start, stop) = (start as usize, stop as usize);
    ctx.out.array(stop - start + 1);
    for v in list.range(start..=stop) {
        ctx.out.bulk(v);
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
    let len = list.len() as i64;
    let index = if index < 0 { len + index } else { index };
    match (index >= 0).then(|| list.get(index as usize)).flatten() {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}
