//! Transactions (Redis's multi.c): MULTI, EXEC, DISCARD, WATCH and UNWATCH.
//!
//! Between MULTI and EXEC the dispatcher queues each request after the checks that can
//! refuse it (unknown command, arity, authentication); a refusal dooms the transaction.
//! EXEC takes the keyspace write lock once and runs the whole queue under it, so no
//! other client sees a state in between. Commands that take no keyspace lock run under
//! it too when they are known never to take it themselves (PING, PUBLISH, CLIENT...;
//! SELECT is checked against the locked keyspace); the few others (INFO, SAVE...) run
//! with it released, as they take it themselves. They touch no keys, but a client may
//! run in that gap.
//!
//! WATCH registers the client's flag with each key (see [`crate::store::watch`]); EXEC
//! checks it under the same write lock it then runs the queue with.

use std::sync::atomic::Ordering;

use super::{
    int_arg, is, resolve, run_write, CmdError, CmdResult, Command, Ctx, Handler, Resolved,
};
use crate::client::{ClientState, Multi};
use crate::resp::Args;
use crate::state::Server;
use crate::store::Keyspace;

pub const COMMANDS: &[Command] = &[
    Command::new("multi", Handler::Plain(multi)),
    Command::new("exec", Handler::Plain(exec)),
    Command::new("discard", Handler::Plain(discard)),
    Command::new("watch", Handler::Plain(watch)),
    Command::new("unwatch", Handler::Plain(unwatch)),
];

/// Whether `cmd` runs even while a transaction is queued (Redis's list in
/// processCommand): the transaction's own commands, QUIT and RESET.
pub fn runs_at_once(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// ```text
/// MULTI
/// ```
fn multi(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Multi::default());
    ctx.out.ok();
    Ok(())
}

/// ```text
/// DISCARD
/// ```
fn discard(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    unwatch_all(ctx.server, ctx.client);
    ctx.out.ok();
    Ok(())
}

/// ```text
/// EXEC
/// ```
/// An array with each queued command's reply (errors in place); a null array if a
/// watched key changed; `EXECABORT` if a command was refused while queueing.
fn exec(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let Some(multi) = ctx.client.multi.take() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    if multi.aborted {
        unwatch_all(ctx.server, ctx.client);
        return Err(CmdError::Msg(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    let Some(guard) = ctx.server.store.write_or_busy() else {
        return Err(super::busy(ctx));
    };
    let mut ks = Some(guard);
    let changed = {
        let ks = ks.as_ref().expect("locked");
        ctx.client.watch_flag.load(Ordering::Acquire)
            || ctx.client.watching.iter().any(|(db, key, expired)| {
                !expired && ks.db(*db).is_expired_present(key, ctx.now_ms)
            })
    };
    // Unwatch before running, as Redis does: the transaction's own writes do not count.
    unwatch_locked(ks.as_mut().expect("locked"), ctx.client);
    if changed {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(multi.queued.len());
    ctx.client.in_exec = true;
    // What the commands propagate waits to be wrapped in MULTI/EXEC (Redis propagates a
    // transaction that wrote more than once as one).
    ctx.client.held_ops = Some(Vec::new());
    for args in &multi.queued {
        // Each was resolved when it was queued; the table has not changed since.
        let Resolved::Found(cmd) = resolve(args) else {
            unreachable!("queued commands were resolved")
        };
        ctx.client.last_command = cmd.name;
        // Checked again: the rules may have changed since it was queued (as Redis 7.0).
        if let Some(msg) = super::acl::check_queued(ctx, cmd, args) {
            ctx.out.error(&msg);
            continue;
        }
        let start = super::CallStart::new(ctx);
        super::monitor_script(ctx, cmd, args);
        let result = match cmd.handler {
            Handler::Read(f) => {
                let ks = ks.as_mut().expect("locked");
                let result = f(ctx, ks, args);
                // As after a read outside a transaction: the expired keys it met go
                // (and are invalidated) before it is remembered as read.
                super::reap_stale(ctx, ks);
                super::remember_read(ctx, cmd, args);
                result
            }
            Handler::Write(f)
            | Handler::ReadUnless { write: f, .. }
            | Handler::ReadFirst { write: f, .. } => {
                run_write(ctx, ks.as_mut().expect("locked"), f, args)
            }
            Handler::Plain(_) if is(&args[0], "select") => {
                select_locked(ctx, ks.as_ref().expect("locked"), args)
            }
            Handler::Plain(f) if runs_under_lock(args) => f(ctx, args),
            Handler::Plain(_) if super::scripting::runs_script(cmd.name) => {
                super::scripting::run_locked(ctx, &mut ks, args)
            }
            Handler::Plain(f) => {
                // It may lock the keyspace itself (INFO, SAVE...); it touches no key. Others
                // may write while the lock is released: what the transaction did so far
                // is propagated first, so the stream stays in the order of execution.
                let held = std::mem::take(ctx.client.held_ops.get_or_insert_with(Vec::new));
                crate::consumers::propagate(ctx.server, held, true);
                if let Some(guard) = ks.take() {
                    super::finish_writes(ctx, guard);
                }
                let result = f(ctx, args);
                ks = Some(ctx.server.store.write());
                result
            }
            Handler::Container => Ok(()),
        };
        if let Err(e) = result {
            ctx.out.error(&e.message());
        }
        super::called(ctx, cmd, args, start, false);
    }
    ctx.client.in_exec = false;
    let mut ks = ks.expect("locked");
    super::reap_stale(ctx, &mut ks);
    let ops = ctx.client.held_ops.take().unwrap_or_default();
    crate::consumers::propagate(ctx.server, ops, true);
    super::finish_writes(ctx, ks);
    Ok(())
}

/// Whether a lock-free command (`Handler::Plain`) is known never to take the keyspace
/// lock, so EXEC may run it while holding the write lock: then no other client can run
/// between the commands around it. The others (INFO, SAVE, CONFIG RESETSTAT...) lock the
/// keyspace themselves, and EXEC releases its lock around them; std's locks are not
/// reentrant. A list of the safe ones rather than of the others, so that a new command
/// costs atomicity at worst, never a deadlock.
pub(crate) fn runs_under_lock(args: &Args) -> bool {
    let sub = |word: &str| args.len() > 1 && is(&args[1], word);
    match args[0].to_ascii_lowercase().as_slice() {
        b"ping" | b"echo" | b"time" | b"lastsave" | b"wait" | b"publish" | b"subscribe"
        | b"unsubscribe" | b"psubscribe" | b"punsubscribe" | b"ssubscribe" | b"sunsubscribe"
        | b"spublish" | b"pubsub" | b"client" | b"command" | b"hello" | b"auth" | b"pfselftest" => {
            true
        }
        b"config" => sub("get"),
        b"object" => sub("help"),
        _ => false,
    }
}

/// SELECT inside EXEC, checked against the keyspace EXEC holds locked (the command's own
/// handler locks it to count the databases). Same checks and error texts as SELECT.
pub(crate) fn select_locked(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let index = int_arg(&args[1])?;
    if i32::try_from(index).is_err() {
        return Err(CmdError::err(
            "value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    if index < 0 || index as usize >= ks.db_count() {
        return Err(CmdError::err("DB index is out of range"));
    }
    ctx.client.db = index as usize;
    ctx.out.ok();
    Ok(())
}

/// ```text
/// WATCH key [key ...]
/// ```
fn watch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let dbi = ctx.client.db;
    let mut ks = ctx.server.store.write();
    for key in args.iter().skip(1) {
        let client = &mut *ctx.client;
        if client
            .watching
            .iter()
            .any(|(d, k, _)| *d == dbi && **k == *key)
        {
            continue;
        }
        let expired = ks.db(dbi).is_expired_present(key, ctx.now_ms);
        ks.watch(dbi, key, &client.watch_flag);
        client.watching.push((dbi, key.into(), expired));
    }
    drop(ks);
    ctx.out.ok();
    Ok(())
}

/// ```text
/// UNWATCH
/// ```
fn unwatch(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    unwatch_all(ctx.server, ctx.client);
    ctx.out.ok();
    Ok(())
}

/// Forgets every key the client watches, and clears its flag.
pub fn unwatch_all(server: &Server, client: &mut ClientState) {
    if client.watching.is_empty() {
        client.watch_flag.store(false, Ordering::Release);
        return;
    }
    unwatch_locked(&mut server.store.write(), client);
}

fn unwatch_locked(ks: &mut Keyspace, client: &mut ClientState) {
    for (db, key, _) in client.watching.drain(..) {
        ks.unwatch(db, &key, &client.watch_flag);
    }
    client.watch_flag.store(false, Ordering::Release);
}

/// Ends the client's transaction state (RESET, disconnect).
pub fn reset(server: &Server, client: &mut ClientState) {
    client.multi = None;
    unwatch_all(server, client);
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::client::ClientHandle;
    use crate::config::Config;
    use crate::state::Server;
    use crate::store::Store;

    /// Whether nobody watches a key of database 0 or 3.
    fn nothing_watched(server: &Server) -> bool {
        let ks = server.store.read();
        ks.db(0).watched.is_empty() && ks.db(3).watched.is_empty()
    }

    #[test]
    fn a_client_that_leaves_is_no_longer_watching() {
        let server = Arc::new(Server::new(Config::default(), Store::new(16), 0));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepting = Arc::clone(&server);
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let handle = Arc::new(ClientHandle::new(1, stream.try_clone().unwrap()).unwrap());
            assert!(accepting.clients.register(Arc::clone(&handle), usize::MAX));
            crate::connection::serve(&accepting, stream, handle);
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        // WATCH k a (db 0), SELECT 3, WATCH k (db 3), MULTI: four replies of 5 bytes.
        let requests = "*3\r\n$5\r\nWATCH\r\n$1\r\nk\r\n$1\r\na\r\n\
                        *2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n\
                        *2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n\
                        *1\r\n$5\r\nMULTI\r\n";
        client.write_all(requests.as_bytes()).unwrap();
        let mut replies = [0u8; 20];
        client.read_exact(&mut replies).unwrap();
        assert_eq!(&replies, b"+OK\r\n+OK\r\n+OK\r\n+OK\r\n");
        assert!(!nothing_watched(&server));
        drop(client);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !nothing_watched(&server) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(nothing_watched(&server), "watch entries left behind");
    }
}
