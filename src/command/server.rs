//! Connection and server commands (Redis's server.c, networking.c and acl.c's AUTH):
//! PING, ECHO, QUIT, RESET, AUTH, SELECT, TIME, HELLO, INFO, SAVE, BGSAVE, BGREWRITEAOF,
//! LASTSAVE, SHUTDOWN. CLIENT is in [`super::client`], CONFIG in [`super::config`].
//!
//! Authentication: AUTH and HELLO AUTH log in as an ACL user (see [`crate::acl`]);
//! `requirepass` is the default user's password. Passwords are compared as SHA-256
//! digests, in time that depends on neither where they differ nor how long the secret
//! is.

use std::sync::atomic::Ordering;

use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::state::{Server, REDIS_VERSION};
use crate::util::now_us;

pub const COMMANDS: &[Command] = &[
    Command::new("ping", Handler::Plain(ping)),
    Command::new("echo", Handler::Plain(echo)),
    Command::new("quit", Handler::Plain(quit)),
    Command::new("auth", Handler::Plain(auth)),
    Command::new("select", Handler::Plain(select)),
    Command::new("time", Handler::Plain(time)),
    Command::new("reset", Handler::Plain(reset)),
    Command::new("hello", Handler::Plain(hello)),
    Command::new("info", Handler::Plain(info)),
    Command::new("save", Handler::Plain(save)),
    Command::new("bgsave", Handler::Plain(bgsave)),
    Command::new("bgrewriteaof", Handler::Plain(bgrewriteaof)),
    Command::new("lastsave", Handler::Plain(lastsave)),
    Command::new("shutdown", Handler::Plain(shutdown)),
];

/// ```text
/// PING [message]
/// ```
fn ping(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // A subscribed RESP2 client gets its answer in the shape of a message.
    if ctx.client.resp == 2 && ctx.client.subscriptions.count() > 0 && args.len() <= 2 {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(if args.len() == 2 { &args[1] } else { b"" });
        return Ok(());
    }
    match args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(&args[1]),
        _ => {
            return Err(CmdError::err(
                "wrong number of arguments for 'ping' command",
            ))
        }
    }
    Ok(())
}

/// ```text
/// ECHO message
/// ```
fn echo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

/// ```text
/// QUIT
/// ```
/// OK, then the connection closes.
fn quit(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

/// ```text
/// RESET
/// ```
/// Returns the connection to its initial state, as Redis's `clearClientConnectionState`:
/// no transaction or watched keys, no subscriptions, database 0, RESP2, no name, and
/// logged out if a password is set.
fn reset(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    super::multi::reset(ctx.server, ctx.client);
    super::pubsub::unsubscribe_all(ctx.server, ctx.client);
    super::introspect::stop_monitoring(ctx);
    super::client::disable_tracking(ctx);
    ctx.client.reply_off = false;
    ctx.client.reply_skip_next = false;
    ctx.client.db = 0;
    set_protocol(ctx, 2);
    ctx.client.authenticated = !ctx.server.auth_required();
    let default = std::sync::Arc::clone(ctx.server.acl.default_user());
    super::acl::set_user(ctx, default);
    ctx.client.handle.info().name.clear();
    ctx.out.simple("RESET");
    Ok(())
}

/// ```text
/// SELECT index
/// ```
fn select(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let index = int_arg(&args[1])?;
    if i32::try_from(index).is_err() {
        return Err(CmdError::err(
            "value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    if index < 0 || index as usize >= ctx.server.store.read().db_count() {
        return Err(CmdError::err("DB index is out of range"));
    }
    ctx.client.db = index as usize;
    ctx.out.ok();
    Ok(())
}

/// ```text
/// TIME
/// ```
/// Unix seconds and microseconds, as two bulk strings.
fn time(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let us = now_us();
    ctx.out.array(2);
    ctx.out.bulk_int((us / 1_000_000) as i64);
    ctx.out.bulk_int((us % 1_000_000) as i64);
    Ok(())
}

/// Redis's `validateClientName`: printable ASCII without spaces.
pub(super) fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// The reply to a failed AUTH or HELLO AUTH.
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// ```text
/// AUTH [username] password
/// ```
/// Authenticates the connection as an ACL user (`default` when none is named). The
/// one-argument form is an error while the default user is `nopass`. A failed attempt
/// is logged in ACL LOG and leaves an authenticated client as it was.
fn auth(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (user, password) = if args.len() == 2 {
        if ctx.server.acl.default_user().read().nopass {
            return Err(CmdError::err(
                "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            ));
        }
        (&b"default"[..], &args[1])
    } else {
        (&args[1], &args[2])
    };
    if !super::acl::authenticate(ctx, &args[0], user, password) {
        return Err(CmdError::Msg(WRONGPASS.into()));
    }
    ctx.out.ok();
    Ok(())
}

/// ```text
/// HELLO [protover [AUTH username password] [SETNAME clientname]]
/// ```
/// The server's description as a map, in the protocol asked for: `HELLO 3` switches the
/// connection to RESP3 (until `HELLO 2` or RESET), any version but 2 and 3 is
/// `-NOPROTO`.
///
/// As in Redis 7.0, options are handled in order: AUTH authenticates at once (so a
/// later bad option leaves the client authenticated) and SETNAME is validated at once;
/// only then must the client be authenticated, and the name is set.
fn hello(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut next = 1;
    let mut version = ctx.client.resp;
    if args.len() >= 2 {
        let asked = crate::util::num::parse_i64(&args[1])
            .ok_or_else(|| CmdError::err("Protocol version is not an integer or out of range"))?;
        next = 2;
        if asked != 2 && asked != 3 {
            return Err(CmdError::Msg("NOPROTO unsupported protocol version".into()));
        }
        version = asked as u8;
    }
    let mut name = None;
    while next < args.len() {
        let more = args.len() - 1 - next;
        if is(&args[next], "auth") && more >= 2 {
            if !super::acl::authenticate(ctx, &args[0], &args[next + 1], &args[next + 2]) {
                return Err(CmdError::Msg(WRONGPASS.into()));
            }
            next += 3;
        } else if is(&args[next], "setname") && more >= 1 {
            if !valid_name(&args[next + 1]) {
                return Err(CmdError::err(
                    "Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            name = Some(next + 1);
            next += 2;
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[next])
            )));
        }
    }
    if !ctx.client.authenticated && ctx.server.auth_required() {
        return Err(CmdError::Msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into(),
        ));
    }
    if let Some(n) = name {
        ctx.client.handle.info().name = args[n].to_vec();
    }
    set_protocol(ctx, version);
    ctx.out.map(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.int(i64::from(ctx.client.resp));
    ctx.out.bulk(b"id");
    ctx.out.int(ctx.client.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(if ctx.server.repl.is_replica() {
        b"replica".as_slice()
    } else {
        b"master"
    });
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
    Ok(())
}

/// Switches the connection's protocol: the client state, the reply encoder and what
/// other threads see (pub/sub fan-out and invalidations pick their framing from it).
pub fn set_protocol(ctx: &mut Ctx, version: u8) {
    ctx.client.resp = version;
    ctx.out.resp3 = version == 3;
    ctx.client.handle.set_protocol(version);
}

/// ```text
/// INFO [section [section ...]]
/// ```
fn info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sections: Vec<String> = args
        .iter()
        .skip(1)
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    // This connection's calls so far count, as they would in Redis.
    ctx.server.calls.merge(&mut ctx.client.calls);
    let text = super::info::render(ctx.server, &sections);
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// ```text
/// SAVE
/// ```
/// Writes the dump; readers carry on meanwhile, writers wait. Refused while a BGSAVE
/// runs.
fn save(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.server.persist.bgsave_running.load(Ordering::Acquire) {
        return Err(CmdError::err("Background save already in progress"));
    }
    match crate::persist::save::save_store(ctx.server, &ctx.server.store) {
        Ok(()) => ctx.out.ok(),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            return Err(CmdError::err("Background save already in progress"))
        }
        Err(_) => ctx.out.error("ERR"),
    }
    Ok(())
}

/// ```text
/// BGSAVE [SCHEDULE]
/// ```
/// Starts writing a point-in-time snapshot in the background (see
/// [`crate::persist::save`]): `+Background saving started`. One already running is an
/// error, as in Redis 7.0 even with SCHEDULE (which only waits for other kinds of child
/// process there); inside MULTI the save is scheduled for the cron instead.
fn bgsave(ctx: &mut Ctx, args: &Args) -> CmdResult {
    use crate::persist::save::{self, BgsaveError};
    if args.len() > 1 && !(args.len() == 2 && is(&args[1], "schedule")) {
        return Err(CmdError::Syntax);
    }
    let p = &ctx.server.persist;
    if p.bgsave_running.load(Ordering::Acquire) {
        return Err(CmdError::err("Background save already in progress"));
    }
    let aof_rewriting = ctx.server.aof.rewrite.running.load(Ordering::Acquire);
    if aof_rewriting && args.len() == 1 && !ctx.client.in_exec {
        return Err(CmdError::err("Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."));
    }
    if ctx.client.in_exec || aof_rewriting {
        p.bgsave_scheduled.store(true, Ordering::Relaxed);
        ctx.out.simple("Background saving scheduled");
        return Ok(());
    }
    match save::bgsave(ctx.server) {
        Ok(()) => ctx.out.simple("Background saving started"),
        Err(BgsaveError::InProgress) => {
            return Err(CmdError::err("Background save already in progress"))
        }
        Err(BgsaveError::Failed) => ctx.out.error("ERR"),
    }
    Ok(())
}

/// ```text
/// BGREWRITEAOF
/// ```
/// Starts rewriting the AOF in the background (see [`crate::persist::aof`]); scheduled
/// instead while a BGSAVE runs or inside MULTI.
fn bgrewriteaof(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    match crate::persist::aof::bgrewriteaof(ctx.server, ctx.client.in_exec) {
        Ok(status) => ctx.out.simple(status),
        Err(e) => return Err(CmdError::Msg(e.to_string())),
    }
    Ok(())
}

/// ```text
/// LASTSAVE
/// ```
fn lastsave(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let t = ctx.server.persist.last_save.load(Ordering::Relaxed);
    ctx.out.int(t as i64);
    Ok(())
}

/// ```text
/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
/// ```
/// Saves if save points are set (or SAVE is given, and NOSAVE is not), then exits. If
/// that save fails the server stays up and says so, as Redis does.
fn shutdown(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut nosave, mut save, mut force, mut abort) = (false, false, false, false);
    let mut now = false;
    for opt in args.iter().skip(1) {
        if is(opt, "nosave") {
            nosave = true;
        } else if is(opt, "save") {
            save = true;
        } else if is(opt, "now") {
            now = true;
        } else if is(opt, "force") {
            force = true;
        } else if is(opt, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (nosave && save) || (abort && args.len() > 2) {
        return Err(CmdError::Syntax);
    }
    if abort {
        if !ctx.server.process.abort_shutdown() {
            return Err(CmdError::err("No shutdown in progress."));
        }
        ctx.server.log.notice("Shutdown manually aborted.");
        ctx.out.ok();
        return Ok(());
    }
    // While a script is busy only SHUTDOWN NOSAVE may stop the server.
    if !nosave {
        if let Some(msg) = ctx.server.scripts.busy_error() {
            return Err(CmdError::Msg(msg.into()));
        }
    }
    let server = ctx.server;
    server.log.warning("User requested shutdown...");
    server.process.notify("STOPPING=1\n", &server.log);
    // Replicas catch up first, writes paused, for up to `shutdown-timeout` seconds
    // (not with NOW), unless SHUTDOWN ABORT comes first.
    let timeout = server.config().uint("shutdown-timeout");
    let paused = !now && timeout != 0 && !ctx.client.in_exec && !server.repl.in_sync();
    if paused {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout);
        server.process.shutdown_waits(deadline);
        server.pause.start(crate::pause::Kind::Write, deadline);
        server
            .log
            .notice("Waiting for replicas before shutting down.");
        crate::command::blocking::send_pending(ctx);
        let handle = &ctx.client.handle;
        server.repl.wait_in_sync(deadline, || {
            server.process.shutdown_aborted() || handle.is_killed()
        });
        if server.process.shutdown_aborted() || handle.is_killed() {
            return Err(shutdown_failed(server));
        }
    }
    let paused = paused.then_some(server);
    server.repl.log_shutdown(&server.log);
    if server.persist.bgsave_running.load(Ordering::Acquire) {
        // As Redis kills its saving child: the final save below supersedes it.
        server
            .log
            .warning("There is a child saving an .rdb. Killing it!");
        crate::persist::save::wait_bgsave(server, true);
    }
    if crate::persist::aof::shutdown(server, force).is_err() {
        return Err(paused.map_or_else(shutdown_error, shutdown_failed));
    }
    let must_save = save || (!nosave && !server.config().save.is_empty());
    if must_save {
        server
            .log
            .notice("Saving the final RDB snapshot before exiting.");
        server
            .process
            .notify("STATUS=Saving the final RDB snapshot\n", &server.log);
        let saved = loop {
            // A save point may start a BGSAVE after the one stopped above: stop it too.
            crate::persist::save::wait_bgsave(server, true);
            match crate::persist::save::save_store(server, &server.store) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                other => break other,
            }
        };
        if saved.is_err() && !force {
            server
                .log
                .warning("Error trying to save the DB, can't exit.");
            server.process.notify(
                "STATUS=Error trying to save the DB, can't exit.\n",
                &server.log,
            );
            return Err(paused.map_or_else(shutdown_error, shutdown_failed));
        }
    }
    let pidfile = server.config().value("pidfile").unwrap_or_default();
    if !pidfile.is_empty() {
        server.log.notice("Removing the pid file.");
        let _ = std::fs::remove_file(String::from_utf8_lossy(&pidfile).as_ref());
    }
    let unixsocket = server.config().value("unixsocket").unwrap_or_default();
    if !unixsocket.is_empty() {
        server.log.notice("Removing the unix socket file.");
        if let Err(e) = std::fs::remove_file(String::from_utf8_lossy(&unixsocket).as_ref()) {
            server.log.warning(&format!(
                "Error removing the unix socket file: {}",
                crate::persist::aof::manifest::strerror(&e)
            ));
        }
    }
    server
        .log
        .warning("redlite is now ready to exit, bye bye...");
    std::process::exit(0);
}

/// SHUTDOWN's failure reply.
fn shutdown_error() -> CmdError {
    CmdError::err("Errors trying to SHUTDOWN. Check logs.")
}

/// A SHUTDOWN that waited for its replicas gives up (Redis's `cancelShutdown`): the
/// pause ends and INFO stops counting down.
fn shutdown_failed(server: &Server) -> CmdError {
    server.process.shutdown_over();
    server.pause.stop();
    shutdown_error()
}

#[cfg(test)]
mod tests {
    use crate::acl::User;

    #[test]
    fn passwords_are_compared_exactly() {
        let mut user = User::new(b"u", false);
        user.apply(b"on", false).unwrap();
        user.apply(b">s3cret", false).unwrap();
        assert!(user.password_ok(b"s3cret"));
        for wrong in [
            &b""[..],
            b"s3cre",
            b"s3cret ",
            b"S3cret",
            b"s3cret\0",
            b"x3cret",
            b"s3crex",
        ] {
            assert!(!user.password_ok(wrong), "{wrong:?}");
        }
        // Binary passwords, NUL included.
        user.apply(b">abc\0def", false).unwrap();
        assert!(user.password_ok(b"abc\0def"));
        assert!(!user.password_ok(b"abc"));
    }
}
