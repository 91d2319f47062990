//! Blocking commands (Redis's blocking variants in t_list.c and t_zset.c, and
//! blocked.c): BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP.
//!
//! Each one first tries what its non-blocking form would do, under the write lock. If
//! there is nothing to take (and it is not running inside EXEC, where Redis never
//! blocks), it registers a [`Waiter`] on its keys whose serve function repeats the same
//! attempt on the key that got data, and leaves the wait in the client state; the
//! dispatcher sleeps in it once the lock is released ([`wait`]). See
//! [`crate::store::blocking`] for how pushes serve waiters, first blocked first served.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::docs::doc;
use super::flags::*;
use super::list::{move_element, parse_mpop, parse_mpop_with, pop_elements, pop_first, End};
use super::zset::{self, reply_score};
use super::{CmdError, CmdResult, Command, Ctx, Handler};
use crate::client::Blocked;
use crate::resp::{Args, Reply};
use crate::store::blocking::{Attempt, Interrupt, WaitState, Waiter};
use crate::store::{Key, Keyspace};
use crate::util::num::LongDouble;

pub const COMMANDS: &[Command] = &[
    Command::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), Handler::Write(blpop),
        doc("list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "key [key ...] timeout")),
    Command::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), Handler::Write(brpop),
        doc("list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "key [key ...] timeout")),
    Command::new("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), Handler::Write(blmove),
        doc("list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", "source destination LEFT|RIGHT LEFT|RIGHT timeout")),
    Command::new("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), Handler::Write(brpoplpush),
        doc("list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", "source destination timeout")),
    Command::new("blmpop", -5, WRITE | BLOCKING | MOVABLEKEYS, (0, 0, 0), Handler::Write(blmpop),
        doc("list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]")),
    Command::new("bzpopmin", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), Handler::Write(bzpopmin),
        doc("sorted-set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "key [key ...] timeout")),
    Command::new("bzpopmax", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), Handler::Write(bzpopmax),
        doc("sorted-set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", "key [key ...] timeout")),
    Command::new("bzmpop", -5, WRITE | BLOCKING | MOVABLEKEYS, (0, 0, 0), Handler::Write(bzmpop),
        doc("sorted-set", "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "timeout numkeys key [key ...] MIN|MAX [COUNT count]")),
];

/// What a blocked client waits to do.
#[derive(Debug, Clone)]
enum Request {
    /// BLPOP, BRPOP: one element from the first non-empty list, as `[key, element]`.
    Pop { keys: Vec<Key>, end: End },
    /// BLMPOP: up to `count` elements, as `[key, [element ...]]`.
    MPop {
        keys: Vec<Key>,
        end: End,
        count: usize,
    },
    /// BLMOVE, BRPOPLPUSH: one element moved, as a bulk string.
    Move {
        src: Key,
        dst: Key,
        from: End,
        to: End,
    },
    /// BZPOPMIN, BZPOPMAX: the lowest or highest member, as `[key, member, score]`.
    ZPop { keys: Vec<Key>, end: zset::End },
    /// BZMPOP: up to `count` members, as `[key, [[member, score] ...]]`.
    ZMPop {
        keys: Vec<Key>,
        end: zset::End,
        count: usize,
    },
}

impl Request {
    /// The keys to wait on.
    fn keys(&self) -> Vec<&[u8]> {
        match self {
            Request::Pop { keys, .. }
            | Request::MPop { keys, .. }
            | Request::ZPop { keys, .. }
            | Request::ZMPop { keys, .. } => keys.iter().map(|k| &**k).collect(),
            Request::Move { src, .. } => vec![src],
        }
    }

    /// The reply to a timeout: a null array, or a null bulk for the moves.
    fn on_timeout(&self) -> fn(&mut Reply) {
        match self {
            Request::Move { .. } => Reply::null,
            _ => Reply::null_array,
        }
    }

    /// Does the non-blocking form's work on `only` (a key that got data) or on the keys
    /// in order. Returns whether it took something (and replied).
    fn attempt(
        &self,
        ks: &mut Keyspace,
        db: usize,
        only: Option<&[u8]>,
        now_ms: u64,
        out: &mut Reply,
    ) -> Result<bool, CmdError> {
        let pick = |keys: &[Key]| -> Vec<Key> {
            match only {
                Some(k) => keys.iter().filter(|x| ***x == *k).cloned().collect(),
                None => keys.to_vec(),
            }
        };
        match self {
            Request::Pop { keys, end } => {
                for key in pick(keys) {
                    let popped = pop_elements(ks, db, &key, *end, 1, now_ms)?;
                    if let Some(element) = popped.and_then(|mut v| v.pop()) {
                        out.array(2);
                        out.bulk(&key);
                        out.bulk(&element);
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Request::MPop { keys, end, count } => {
                let keys = pick(keys);
                let found = pop_first(ks, db, keys.iter().map(|k| &**k), *end, *count, now_ms)?;
                let Some((key, popped)) = found else {
                    return Ok(false);
                };
                out.array(2);
                out.bulk(key);
                out.array(popped.len());
                for element in &popped {
                    out.bulk(element);
                }
                Ok(true)
            }
            Request::Move { src, dst, from, to } => {
                if only.is_some_and(|k| k != &**src) {
                    return Ok(false);
                }
                match move_element(ks, db, (src, *from), (dst, *to), now_ms)? {
                    Some(element) => {
                        out.bulk(&element);
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
            Request::ZPop { keys, end } => {
                for key in pick(keys) {
                    if let Some(mut popped) = zpop(ks, db, &key, *end, 1, now_ms)? {
                        let (member, score) = popped.remove(0);
                        out.array(3);
                        out.bulk(&key);
                        out.bulk(&member);
                        reply_score(out, score);
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Request::ZMPop { keys, end, count } => {
                for key in pick(keys) {
                    if let Some(popped) = zpop(ks, db, &key, *end, *count, now_ms)? {
                        out.array(2);
                        out.bulk(&key);
                        out.array(popped.len());
                        for (member, score) in &popped {
                            out.array(2);
                            out.bulk(member);
                            reply_score(out, *score);
                        }
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }
}

/// Members popped from a sorted set, with their scores.
type ZPopped = Vec<(Vec<u8>, f64)>;

/// Pops up to `count` members from one end of the sorted set at `key`: `Ok(None)` if
/// there is no such key, `WRONGTYPE` if it is not a sorted set. An emptied set is
/// deleted; every member taken counts as a change.
fn zpop(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    end: zset::End,
    count: usize,
    now_ms: u64,
) -> Result<Option<ZPopped>, CmdError> {
    let Some(entry) = ks.db_mut(db).get_mut(key, now_ms) else {
        return Ok(None);
    };
    let z = entry.zset_mut().ok_or(CmdError::WrongType)?;
    let n = count.min(z.len());
    let max = end == zset::End::Max;
    let ranks = if max { z.len() - n..z.len() } else { 0..n };
    let popped: ZPopped = z
        .iter_ranks(ranks.clone(), max)
        .map(|(m, s)| (m.to_vec(), s))
        .collect();
    z.remove_ranks(ranks);
    if z.is_empty() {
        ks.db_mut(db).remove(key, now_ms);
    }
    ks.dirty += n as u64;
    Ok(Some(popped))
}

/// Parses a timeout in seconds, fractions allowed, as Redis's
/// `getTimeoutFromObjectOrReply`: `None` for 0 (forever).
fn parse_timeout(arg: &[u8]) -> Result<Option<Duration>, CmdError> {
    let seconds = crate::util::num::parse_long_double(arg)
        .ok_or_else(|| CmdError::err("timeout is not a float or out of range"))?;
    let seconds = match seconds {
        LongDouble::Finite { neg, mant, exp } => {
            let v = mant as f64 * 2f64.powi(exp);
            if neg {
                -v
            } else {
                v
            }
        }
        _ => f64::INFINITY,
    };
    // Redis converts to whole milliseconds with a C cast: it truncates toward zero, and
    // makes the out-of-range values (infinities too) negative.
    let ms = (seconds * 1000.0).trunc();
    if !(0.0..9.2e18).contains(&ms) {
        return Err(CmdError::err("timeout is negative"));
    }
    let ms = ms as u64;
    Ok((ms > 0).then(|| Duration::from_millis(ms)))
}

/// Serves the request now if it can; otherwise registers the client's wait (or, inside
/// EXEC, replies as a timeout would).
fn block_or_serve(ctx: &mut Ctx, ks: &mut Keyspace, request: Request, timeout: &[u8]) -> CmdResult {
    let timeout = parse_timeout(timeout)?;
    let db = ctx.client.db;
    if request.attempt(ks, db, None, ctx.now_ms, ctx.out)? {
        return Ok(());
    }
    if ctx.client.in_exec {
        (request.on_timeout())(ctx.out);
        return Ok(());
    }
    let on_timeout = request.on_timeout();
    let keys: Vec<Key> = request.keys().into_iter().map(Key::from).collect();
    let handle = Arc::clone(&ctx.client.handle);
    let resp3 = ctx.out.resp3;
    let waiter = Waiter::new(Box::new(move |ks, db, key, now_ms| {
        if handle.peer_closed() {
            return Attempt::Gone;
        }
        let mut out = Reply::default();
        out.resp3 = resp3;
        match request.attempt(ks, db, Some(key), now_ms, &mut out) {
            Ok(true) => Attempt::Served(out.as_bytes().to_vec()),
            Ok(false) => Attempt::NotReady,
            // BLMOVE into a key that is no longer a list: Redis answers the error.
            Err(e) if matches!(request, Request::Move { .. }) => {
                out.error(&e.message());
                Attempt::Served(out.as_bytes().to_vec())
            }
            Err(_) => Attempt::NotReady,
        }
    }));
    ks.blocked.block(db, keys.iter().map(|k| &**k), &waiter);
    ctx.client.blocked = Some(Blocked {
        waiter,
        deadline: timeout.map(|t| Instant::now() + t),
        on_timeout,
    });
    Ok(())
}

/// Sleeps in the wait a blocking command registered, if any, then writes its reply:
/// what a push served it, or the timeout's, or CLIENT UNBLOCK's error.
pub fn wait(ctx: &mut Ctx) {
    let Some(blocked) = ctx.client.blocked.take() else {
        return;
    };
    // The replies before it in the batch leave now, as Redis would have sent them, and
    // what it published.
    ctx.client.published.flush();
    if !ctx.out.is_empty() {
        let _ = ctx.client.handle.send(ctx.out.as_bytes());
        ctx.out.clear();
    }
    let handle = Arc::clone(&ctx.client.handle);
    handle.set_waiting(Some(Arc::clone(&blocked.waiter)));
    let stats = &ctx.server.stats;
    stats.blocked_clients.fetch_add(1, Ordering::Relaxed);
    blocked.waiter.wait_until(blocked.deadline);
    stats.blocked_clients.fetch_sub(1, Ordering::Relaxed);
    let outcome = {
        let mut ks = ctx.server.store.write();
        ks.blocked.unblock(&blocked.waiter);
        blocked.waiter.finish()
    };
    handle.set_waiting(None);
    match outcome {
        WaitState::Served(reply) => ctx.out.raw(&reply),
        WaitState::Interrupted(Interrupt::Error) => ctx
            .out
            .error("UNBLOCKED client unblocked via CLIENT UNBLOCK"),
        WaitState::Interrupted(Interrupt::Killed) => {}
        WaitState::Interrupted(Interrupt::Timeout) | WaitState::Waiting => {
            (blocked.on_timeout)(ctx.out)
        }
    }
}

/// The keys before the trailing timeout argument.
fn keys_before_timeout(args: &Args) -> Vec<Key> {
    (1..args.len() - 1).map(|i| Key::from(&args[i])).collect()
}

/// ```text
/// BLPOP key [key ...] timeout
/// ```
fn blpop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let request = Request::Pop {
        keys: keys_before_timeout(args),
        end: End::Head,
    };
    block_or_serve(ctx, ks, request, &args[args.len() - 1])
}

/// ```text
/// BRPOP key [key ...] timeout
/// ```
fn brpop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let request = Request::Pop {
        keys: keys_before_timeout(args),
        end: End::Tail,
    };
    block_or_serve(ctx, ks, request, &args[args.len() - 1])
}

/// ```text
/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
/// ```
fn blmove(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let request = Request::Move {
        src: Key::from(&args[1]),
        dst: Key::from(&args[2]),
        from: End::parse(&args[3])?,
        to: End::parse(&args[4])?,
    };
    block_or_serve(ctx, ks, request, &args[5])
}

/// ```text
/// BRPOPLPUSH source destination timeout
/// ```
fn brpoplpush(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let request = Request::Move {
        src: Key::from(&args[1]),
        dst: Key::from(&args[2]),
        from: End::Tail,
        to: End::Head,
    };
    block_or_serve(ctx, ks, request, &args[3])
}

/// ```text
/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
/// ```
fn blmpop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let (keys, end, count) = parse_mpop(args, 2)?;
    let request = Request::MPop {
        keys: keys.map(|i| Key::from(&args[i])).collect(),
        end,
        count,
    };
    block_or_serve(ctx, ks, request, &args[1])
}

/// ```text
/// BZPOPMIN key [key ...] timeout
/// ```
fn bzpopmin(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let request = Request::ZPop {
        keys: keys_before_timeout(args),
        end: zset::End::Min,
    };
    block_or_serve(ctx, ks, request, &args[args.len() - 1])
}

/// ```text
/// BZPOPMAX key [key ...] timeout
/// ```
fn bzpopmax(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let request = Request::ZPop {
        keys: keys_before_timeout(args),
        end: zset::End::Max,
    };
    block_or_serve(ctx, ks, request, &args[args.len() - 1])
}

/// ```text
/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
/// ```
fn bzmpop(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let (keys, end, count) = parse_mpop_with(args, 2, zset::End::parse)?;
    let request = Request::ZMPop {
        keys: keys.map(|i| Key::from(&args[i])).collect(),
        end,
        count,
    };
    block_or_serve(ctx, ks, request, &args[1])
}
