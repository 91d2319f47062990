//! Blocking commands (Redis's blocking variants in t_list.c and t_zset.c, and
//! blocked.c): BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP.
//!
//! Each one first tries what its non-blocking form would do, under the write lock. If
//! there is nothing to take (and it is not running inside EXEC, where Redis never
//! blocks), it registers a [`Waiter`] on its keys whose serve function repeats the same
//! attempt on the key that got data, and leaves the wait in the client state; the
//! dispatcher sleeps in it once the lock is released ([`wait`]). See
//! [`crate::store::blocking`] for how pushes serve waiters, first blocked first served.
//!
//! What they report follows t_list.c, t_zset.c and blocked.c. Served at once, each
//! fires the events of its non-blocking form and propagates as that form (Redis's
//! `rewriteClientCommandVector`): BLPOP and BRPOP as `LPOP key` / `RPOP key`, BLMPOP as
//! `LPOP key n` / `RPOP key n` (n: the elements popped), BLMOVE as `LMOVE` with its own
//! words, BRPOPLPUSH as `RPOPLPUSH`, BZPOPMIN and BZPOPMAX as `ZPOPMIN key` /
//! `ZPOPMAX key`, BZMPOP as `ZPOPMIN key n` / `ZPOPMAX key n`. Served later by a push,
//! each propagates the same plain command (`LMOVE src dst left right` for BLMOVE, in
//! Redis's lowercase words) as its own unit (see [`crate::command::finish_writes`]); a
//! served BLPOP, BRPOP or BLMOVE does not mark its source modified again, as
//! `serveClientBlockedOnList` does not.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::list::{
    move_element, notify_popped, parse_mpop, parse_mpop_with, pop_elements, pop_first,
    take_elements, End,
};
use super::zset::{self, reply_score};
use super::{CmdError, CmdResult, Command, Ctx, Handler};
use crate::client::Blocked;
use crate::resp::{Args, Reply};
use crate::store::blocking::{Attempt, Interrupt, WaitState, Waiter};
use crate::store::{class, Key, Keyspace};
use crate::util::num::LongDouble;

pub const COMMANDS: &[Command] = &[
    Command::new("blpop", Handler::Write(blpop)),
    Command::new("brpop", Handler::Write(brpop)),
    Command::new("blmove", Handler::Write(blmove)),
    Command::new("brpoplpush", Handler::Write(brpoplpush)),
    Command::new("blmpop", Handler::Write(blmpop)),
    Command::new("bzpopmin", Handler::Write(bzpopmin)),
    Command::new("bzpopmax", Handler::Write(bzpopmax)),
    Command::new("bzmpop", Handler::Write(bzmpop)),
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
    /// BLMOVE, BRPOPLPUSH: one element moved, as a bulk string. `words` are BLMOVE's
    /// own LEFT|RIGHT words (it propagates as LMOVE with them when served at once);
    /// `None` for BRPOPLPUSH.
    Move {
        src: Key,
        dst: Key,
        from: End,
        to: End,
        words: Option<[Vec<u8>; 2]>,
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

    /// The reply when the client may not block (inside EXEC): a null array, or a null
    /// bulk for the moves. A timeout is a null array for every request, the moves
    /// included (Redis's `replyToBlockedClientTimedOut`).
    fn cannot_block(&self) -> fn(&mut Reply) {
        match self {
            Request::Move { .. } => Reply::null,
            _ => Reply::null_array,
        }
    }

    /// Does the non-blocking form's work on `only` (a key that got data) or on the keys
    /// in order. Returns whether it took something (and replied). With `only` it serves
    /// a blocked client (it propagates the plain command Redis propagates for it);
    /// without, the command itself runs (it rewrites its own words).
    fn attempt(
        &self,
        ks: &mut Keyspace,
        db: usize,
        only: Option<&[u8]>,
        now_ms: u64,
        out: &mut Reply,
    ) -> Result<bool, CmdError> {
        let served = only.is_some();
        let pick = |keys: &[Key]| -> Vec<Key> {
            match only {
                Some(k) => keys.iter().filter(|x| ***x == *k).cloned().collect(),
                None => keys.to_vec(),
            }
        };
        match self {
            Request::Pop { keys, end } => {
                for key in pick(keys) {
                    let element = if served {
                        // serveClientBlockedOnList: LPOP/RPOP key, the pop's events, and
                        // no signalModifiedKey (the push that woke it signalled).
                        let Some((mut popped, deleted)) =
                            take_elements(ks, db, &key, *end, 1, now_ms)?
                        else {
                            continue;
                        };
                        let Some(element) = popped.pop() else {
                            continue;
                        };
                        ks.propagate(db, &[end.pop_command().as_bytes(), &key]);
                        notify_popped(ks, db, &key, *end, deleted);
                        element
                    } else {
                        let popped = pop_elements(ks, db, &key, *end, 1, now_ms)?;
                        let Some(element) = popped.and_then(|mut v| v.pop()) else {
                            continue;
                        };
                        ks.rewrite(&[end.pop_command().as_bytes(), &key]);
                        element
                    };
                    out.array(2);
                    out.bulk(&key);
                    out.bulk(&element);
                    return Ok(true);
                }
                Ok(false)
            }
            Request::MPop { keys, end, count } => {
                let keys = pick(keys);
                let found = pop_first(ks, db, keys.iter().map(|k| &**k), *end, *count, now_ms)?;
                let Some((key, popped)) = found else {
                    return Ok(false);
                };
                let n = popped.len().to_string();
                let words = [end.pop_command().as_bytes(), key, n.as_bytes()];
                if served {
                    ks.propagate(db, &words);
                } else {
                    ks.rewrite(&words);
                }
                out.array(2);
                out.bulk(key);
                out.array(popped.len());
                for element in &popped {
                    out.bulk(element);
                }
                Ok(true)
            }
            Request::Move {
                src,
                dst,
                from,
                to,
                words,
            } => {
                if only.is_some_and(|k| k != &**src) {
                    return Ok(false);
                }
                let Some(element) = move_element(ks, db, (src, *from), (dst, *to), now_ms, served)?
                else {
                    return Ok(false);
                };
                match (words, served) {
                    (None, _) => {
                        let argv: [&[u8]; 3] = [b"RPOPLPUSH", src, dst];
                        if served {
                            ks.propagate(db, &argv);
                        } else {
                            ks.rewrite(&argv);
                        }
                    }
                    (Some(_), true) => ks.propagate(
                        db,
                        &[
                            b"LMOVE".as_slice(),
                            src,
                            dst,
                            from.word().as_bytes(),
                            to.word().as_bytes(),
                        ],
                    ),
                    (Some([w_from, w_to]), false) => {
                        ks.rewrite(&[b"LMOVE".as_slice(), src, dst, w_from, w_to])
                    }
                }
                out.bulk(&element);
                Ok(true)
            }
            Request::ZPop { keys, end } => {
                for key in pick(keys) {
                    if let Some(mut popped) = zpop(ks, db, &key, *end, 1, now_ms)? {
                        let argv = [zpop_command(*end).as_bytes(), &key];
                        if served {
                            ks.propagate(db, &argv);
                        } else {
                            ks.rewrite(&argv);
                        }
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
                        let n = popped.len().to_string();
                        let argv = [zpop_command(*end).as_bytes(), &key, n.as_bytes()];
                        if served {
                            ks.propagate(db, &argv);
                        } else {
                            ks.rewrite(&argv);
                        }
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

/// `ZPOPMIN` or `ZPOPMAX`, as the blocking pops of sorted sets propagate.
fn zpop_command(end: zset::End) -> &'static str {
    match end {
        zset::End::Min => "ZPOPMIN",
        zset::End::Max => "ZPOPMAX",
    }
}

/// Members popped from a sorted set, with their scores.
type ZPopped = Vec<(Vec<u8>, f64)>;

/// Pops up to `count` members from one end of the sorted set at `key`: `Ok(None)` if
/// there is no such key, `WRONGTYPE` if it is not a sorted set. An emptied set is
/// deleted; every member taken counts as a change. Reports as Redis's
/// `genericZpopCommand`: `zpopmin` or `zpopmax` and the key modified, then `del` if the
/// set went.
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
    let emptied = z.is_empty();
    ks.dirty += n as u64;
    if n > 0 {
        let event = if max { "zpopmax" } else { "zpopmin" };
        ks.changed(class::ZSET, event, db, key);
    }
    if emptied {
        ks.db_mut(db).remove(key, now_ms);
        ks.notify(class::GENERIC, "del", db, key);
    }
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
        (request.cannot_block())(ctx.out);
        return Ok(());
    }
    let on_timeout: fn(&mut Reply) = Reply::null_array;
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
    send_pending(ctx);
    let handle = Arc::clone(&ctx.client.handle);
    // A blocked client's arguments stay alive (CLIENT LIST's `argv-mem`), its query
    // buffer is consumed.
    {
        let mut info = handle.info();
        // Its earlier replies were just sent.
        crate::client::MemModel::running(&mut info, ctx.client, 0);
        info.qbuf = 0;
        info.blocked = true;
    }
    handle.set_waiting(Some(Arc::clone(&blocked.waiter)));
    let stats = &ctx.server.stats;
    stats.blocked_clients.fetch_add(1, Ordering::Relaxed);
    let slept = std::time::Instant::now();
    blocked.waiter.wait_until(blocked.deadline);
    ctx.client.waited += slept.elapsed();
    stats.blocked_clients.fetch_sub(1, Ordering::Relaxed);
    let outcome = {
        let mut ks = ctx.server.store.write();
        ks.blocked.unblock(&blocked.waiter);
        blocked.waiter.finish()
    };
    handle.set_waiting(None);
    handle.info().blocked = false;
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

/// Before a client sleeps (a blocking command, CLIENT PAUSE): the replies before it in
/// the batch leave now, as Redis would have sent them, and what it published, after
/// what they wrote is in the AOF.
pub fn send_pending(ctx: &mut Ctx) {
    ctx.server
        .aof
        .before_reply(ctx.server, ctx.server.aof.fed());
    ctx.client.published.flush();
    if !ctx.out.is_empty() {
        let _ = ctx.client.handle.send(ctx.out.as_bytes());
        ctx.out.clear();
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
        words: Some([args[3].to_vec(), args[4].to_vec()]),
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
        words: None,
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

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::client::{ClientHandle, ClientState};
    use crate::command::testing::{strs, Session};
    use crate::command::Ctx;
    use crate::resp::{Args, Reply};
    use crate::state::Server;

    /// (events, propagated) of one command run by the session's client.
    fn fx(s: &mut Session, parts: &[&str]) -> (Vec<String>, Vec<String>) {
        let (_, ev, prop) = s.check(parts);
        (ev, prop)
    }

    /// Runs one request as `client`; its reply as text.
    fn run_as(server: &Server, client: &mut ClientState, now_ms: u64, parts: &[&str]) -> String {
        let mut out = Reply::new();
        let mut ctx = Ctx {
            server,
            client,
            out: &mut out,
            now_ms,
        };
        crate::command::execute(&mut ctx, &Args::from_slices(parts));
        String::from_utf8_lossy(out.as_bytes()).into_owned()
    }

    /// A client of its own (and its peer's end of the connection, kept open).
    fn other_client(id: u64) -> (ClientState, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let peer = listener.accept().unwrap().0;
        let handle = Arc::new(ClientHandle::new(id, stream).unwrap());
        (ClientState::new(handle), peer)
    }

    /// Blocks each command of `blocked` on a client of its own, in that order, then runs
    /// `then` as the session's client: the blocked clients' replies, and the events
    /// fired and commands propagated by `then` and by serving them.
    fn serve(
        s: &mut Session,
        blocked: &[&[&str]],
        then: &[&[&str]],
    ) -> (Vec<String>, Vec<String>, Vec<String>) {
        s.events();
        s.propagated();
        let now_ms = s.now_ms.unwrap_or_else(crate::util::now_ms);
        let server = &s.server;
        let client = &mut s.client;
        let replies = std::thread::scope(|scope| {
            let mut threads = Vec::new();
            for (i, parts) in blocked.iter().enumerate() {
                let (mut c, peer) = other_client(100 + i as u64);
                threads.push(scope.spawn(move || {
                    let reply = run_as(server, &mut c, crate::util::now_ms(), parts);
                    drop(peer);
                    reply
                }));
                let start = Instant::now();
                while server.stats.blocked_clients.load(Ordering::Acquire) != i as u64 + 1 {
                    assert!(start.elapsed() < Duration::from_secs(10), "never blocked");
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            for parts in then {
                run_as(server, client, now_ms, parts);
            }
            threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .collect::<Vec<_>>()
        });
        (replies, s.events(), s.propagated())
    }

    #[test]
    fn served_at_once_they_propagate_as_the_plain_command() {
        let mut s = Session::new();
        s.run(&["RPUSH", "a", "1", "2", "3", "4", "5"]);
        assert_eq!(
            fx(&mut s, &["BLPOP", "none", "a", "0"]),
            (strs(&["lpop a"]), strs(&["LPOP a"]))
        );
        assert_eq!(
            fx(&mut s, &["brpop", "a", "1.5"]),
            (strs(&["rpop a"]), strs(&["RPOP a"]))
        );
        assert_eq!(
            fx(
                &mut s,
                &["BLMPOP", "0", "2", "none", "a", "RIGHT", "COUNT", "2"]
            ),
            (strs(&["rpop a"]), strs(&["RPOP a 2"]))
        );
        assert_eq!(
            fx(&mut s, &["BLMOVE", "a", "b", "Left", "RiGHT", "0"]),
            (
                strs(&["rpush b", "lpop a", "del a"]),
                strs(&["LMOVE a b Left RiGHT"])
            )
        );
        assert_eq!(
            fx(&mut s, &["BRPOPLPUSH", "b", "b", "0"]),
            (strs(&["lpush b", "rpop b"]), strs(&["RPOPLPUSH b b"]))
        );
        assert_eq!(
            fx(&mut s, &["BLMPOP", "0", "1", "b", "left", "count", "7"]),
            (strs(&["lpop b", "del b"]), strs(&["LPOP b 1"]))
        );
        s.run(&["ZADD", "z", "1", "x", "2", "y", "3", "w", "4", "v"]);
        assert_eq!(
            fx(&mut s, &["BZPOPMIN", "z", "0"]),
            (strs(&["zpopmin z"]), strs(&["ZPOPMIN z"]))
        );
        assert_eq!(
            fx(&mut s, &["BZPOPMAX", "none", "z", "0"]),
            (strs(&["zpopmax z"]), strs(&["ZPOPMAX z"]))
        );
        assert_eq!(
            fx(&mut s, &["BZMPOP", "0", "1", "z", "MAX", "COUNT", "9"]),
            (strs(&["zpopmax z", "del z"]), strs(&["ZPOPMAX z 2"]))
        );
        // A wrong type changes nothing.
        s.run(&["SET", "str", "v"]);
        for cmd in [
            &["BLPOP", "str", "0"][..],
            &["BLMOVE", "str", "b", "LEFT", "LEFT", "0"],
            &["BZMPOP", "0", "1", "str", "MIN"],
        ] {
            let (reply, ev, prop) = s.check(cmd);
            assert!(reply.starts_with("-WRONGTYPE"), "{cmd:?}");
            assert!(ev.is_empty() && prop.is_empty(), "{cmd:?}");
        }
    }

    #[test]
    fn inside_exec_they_never_block_and_report_as_at_once() {
        let mut s = Session::new();
        s.run(&["MULTI"]);
        s.run(&["BLPOP", "none", "0"]);
        s.run(&["BLMOVE", "none", "d", "LEFT", "LEFT", "0"]);
        let (reply, ev, prop) = s.check(&["EXEC"]);
        assert_eq!(reply, "*2\r\n*-1\r\n$-1\r\n");
        assert!(ev.is_empty() && prop.is_empty());
        s.run(&["RPUSH", "a", "1", "2"]);
        s.run(&["MULTI"]);
        s.run(&["BLPOP", "a", "0"]);
        s.run(&["BRPOP", "a", "0"]);
        assert_eq!(
            fx(&mut s, &["EXEC"]),
            (
                strs(&["lpop a", "rpop a", "del a"]),
                strs(&["MULTI", "LPOP a", "RPOP a", "EXEC"])
            )
        );
    }

    #[test]
    fn each_served_client_propagates_on_its_own_after_the_push() {
        let mut s = Session::new();
        let (replies, ev, prop) = serve(
            &mut s,
            &[
                &["BLPOP", "k1", "5"],
                &["BRPOP", "k1", "5"],
                &["BLMPOP", "5", "2", "k0", "k1", "LEFT", "COUNT", "5"],
            ],
            &[&["RPUSH", "k1", "a", "b", "c", "d"]],
        );
        assert_eq!(
            replies,
            strs(&[
                "*2\r\n$2\r\nk1\r\n$1\r\na\r\n",
                "*2\r\n$2\r\nk1\r\n$1\r\nd\r\n",
                "*2\r\n$2\r\nk1\r\n*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
            ])
        );
        assert_eq!(
            ev,
            strs(&["rpush k1", "lpop k1", "rpop k1", "lpop k1", "del k1"])
        );
        assert_eq!(
            prop,
            strs(&["RPUSH k1 a b c d", "LPOP k1", "RPOP k1", "LPOP k1 2"])
        );
    }

    #[test]
    fn served_moves_chain_and_propagate_in_redis_words() {
        let mut s = Session::new();
        let (replies, ev, prop) = serve(
            &mut s,
            &[
                &["BLMOVE", "s", "d", "LEFT", "Right", "5"],
                &["BRPOPLPUSH", "d", "e", "5"],
                &["BLPOP", "e", "5"],
            ],
            &[&["LPUSH", "s", "x"]],
        );
        assert_eq!(
            replies,
            strs(&["$1\r\nx\r\n", "$1\r\nx\r\n", "*2\r\n$1\r\ne\r\n$1\r\nx\r\n"])
        );
        assert_eq!(
            ev,
            strs(&[
                "lpush s", "rpush d", "lpop s", "del s", "lpush e", "rpop d", "del d", "lpop e",
                "del e"
            ])
        );
        assert_eq!(
            prop,
            strs(&[
                "LPUSH s x",
                "LMOVE s d left right",
                "RPOPLPUSH d e",
                "LPOP e"
            ])
        );
    }

    #[test]
    fn served_sorted_set_pops_propagate_as_zpop() {
        let mut s = Session::new();
        let (replies, ev, prop) = serve(
            &mut s,
            &[
                &["BZPOPMIN", "z", "5"],
                &["BZMPOP", "5", "1", "z", "MAX", "COUNT", "5"],
            ],
            &[&["ZADD", "z", "1", "a", "2", "b", "3", "c"]],
        );
        assert_eq!(replies[0], "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n");
        // (ZADD's own event is the sorted-set commands' business.)
        assert!(
            ev.ends_with(&strs(&["zpopmin z", "zpopmax z", "del z"])),
            "{ev:?}"
        );
        assert_eq!(
            prop,
            strs(&["ZADD z 1 a 2 b 3 c", "ZPOPMIN z", "ZPOPMAX z 2"])
        );
    }

    #[test]
    fn clients_served_after_exec_follow_its_transaction() {
        let mut s = Session::new();
        let (replies, ev, prop) = serve(
            &mut s,
            &[&["BLPOP", "k", "5"], &["BLPOP", "k", "5"]],
            &[
                &["MULTI"],
                &["LPUSH", "k", "a", "b"],
                &["SET", "x", "1"],
                &["EXEC"],
            ],
        );
        assert_eq!(replies.len(), 2);
        assert_eq!(ev, strs(&["lpush k", "set x", "lpop k", "lpop k", "del k"]));
        assert_eq!(
            prop,
            strs(&[
                "MULTI",
                "LPUSH k a b",
                "SET x 1",
                "EXEC",
                "LPOP k",
                "LPOP k"
            ])
        );
    }

    #[test]
    fn a_served_move_wraps_what_its_lookups_expired_with_it() {
        let mut s = Session::new();
        s.now_ms = Some(crate::util::now_ms());
        s.run(&["SET", "k", "str", "PX", "100"]);
        s.now_ms = s.now_ms.map(|t| t + 1000);
        let (replies, ev, prop) = serve(
            &mut s,
            &[&["BLMOVE", "m", "k", "LEFT", "LEFT", "5"]],
            &[&["RPUSH", "m", "a"]],
        );
        assert_eq!(replies, strs(&["$1\r\na\r\n"]));
        assert_eq!(
            ev,
            strs(&["rpush m", "expired k", "lpush k", "lpop m", "del m"])
        );
        assert_eq!(
            prop,
            strs(&["RPUSH m a", "MULTI", "DEL k", "LMOVE m k left left", "EXEC"])
        );
    }

    #[test]
    fn a_move_into_a_wrong_type_is_refused_and_the_next_client_served() {
        let mut s = Session::new();
        s.run(&["SET", "k", "str"]);
        let (replies, ev, prop) = serve(
            &mut s,
            &[
                &["BLMOVE", "m", "k", "LEFT", "LEFT", "5"],
                &["BLPOP", "m", "5"],
            ],
            &[&["RPUSH", "m", "a"]],
        );
        assert!(replies[0].starts_with("-WRONGTYPE"));
        assert_eq!(replies[1], "*2\r\n$1\r\nm\r\n$1\r\na\r\n");
        assert_eq!(ev, strs(&["rpush m", "lpop m", "del m"]));
        assert_eq!(prop, strs(&["RPUSH m a", "LPOP m"]));
    }
}
