//! Connection and server commands (Redis's server.c, networking.c, config.c and acl.c's
//! AUTH): PING, ECHO, QUIT, AUTH, SELECT, TIME, HELLO, CLIENT, CONFIG, INFO, SAVE,
//! LASTSAVE, SHUTDOWN, and the empty FUNCTION and SCRIPT answers of a Redis without Lua.
//!
//! Authentication: AUTH and HELLO AUTH log in as an ACL user (see [`crate::acl`]);
//! `requirepass` is the default user's password. Passwords are compared as SHA-256
//! digests, in time that depends on neither where they differ nor how long the secret
//! is.

use crate::store::blocking::Interrupt;
use std::sync::atomic::Ordering;

use super::docs::{doc, help_subcommand};
use super::flags::*;
use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::state::REDIS_VERSION;
use crate::tracking::{self, Mode};
use crate::util::now_us;

pub const COMMANDS: &[Command] = &[
    Command::new(
        "ping",
        -1,
        FAST | STALE,
        (0, 0, 0),
        Handler::Plain(ping),
        doc(
            "connection",
            "1.0.0",
            "Returns the server's liveliness response.",
            "[message]",
        ),
    ),
    Command::new(
        "echo",
        2,
        FAST,
        (0, 0, 0),
        Handler::Plain(echo),
        doc(
            "connection",
            "1.0.0",
            "Returns the given string.",
            "message",
        ),
    ),
    Command::new(
        "quit",
        -1,
        NOSCRIPT | ALLOW_BUSY | NO_AUTH | LOADING | STALE | FAST,
        (0, 0, 0),
        Handler::Plain(quit),
        doc("connection", "1.0.0", "Closes the connection.", ""),
    ),
    Command::new(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        (0, 0, 0),
        Handler::Plain(auth),
        doc(
            "connection",
            "1.0.0",
            "Authenticates the connection.",
            "[username] password",
        ),
    ),
    Command::new(
        "select",
        2,
        LOADING | STALE | FAST,
        (0, 0, 0),
        Handler::Plain(select),
        doc(
            "connection",
            "1.0.0",
            "Changes the selected database.",
            "index",
        ),
    ),
    Command::new(
        "time",
        1,
        LOADING | STALE | FAST,
        (0, 0, 0),
        Handler::Plain(time),
        doc("server", "2.6.0", "Returns the server time.", ""),
    ),
    Command::new(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        Handler::Plain(reset),
        doc("connection", "6.2.0", "Resets the connection.", ""),
    ),
    Command::new(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        (0, 0, 0),
        Handler::Plain(hello),
        doc(
            "connection",
            "6.0.0",
            "Handshakes with the Redis server.",
            "[protover [AUTH username password] [SETNAME clientname]]",
        ),
    ),
    Command::container(
        "client",
        -2,
        Handler::Container,
        CLIENT,
        doc(
            "connection",
            "2.4.0",
            "A container for client connection commands.",
            "",
        ),
    ),
    Command::container(
        "config",
        -2,
        Handler::Container,
        CONFIG,
        doc(
            "server",
            "2.0.0",
            "A container for server configuration commands.",
            "",
        ),
    ),
    Command::new(
        "info",
        -1,
        LOADING | STALE | SENTINEL,
        (0, 0, 0),
        Handler::Plain(info),
        doc(
            "server",
            "1.0.0",
            "Returns information and statistics about the server.",
            "[section [section ...]]",
        ),
    ),
    Command::new(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_MULTI,
        (0, 0, 0),
        Handler::Plain(save),
        doc(
            "server",
            "1.0.0",
            "Synchronously saves the database(s) to disk.",
            "",
        ),
    ),
    Command::new(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT,
        (0, 0, 0),
        Handler::Plain(bgsave),
        doc(
            "server",
            "1.0.0",
            "Asynchronously saves the database(s) to disk.",
            "[SCHEDULE]",
        ),
    ),
    Command::new(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT,
        (0, 0, 0),
        Handler::Plain(bgrewriteaof),
        doc(
            "server",
            "1.0.0",
            "Asynchronously rewrites the append-only file to disk.",
            "",
        ),
    ),
    Command::new(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        (0, 0, 0),
        Handler::Plain(lastsave),
        doc(
            "server",
            "1.0.0",
            "Returns the Unix timestamp of the last successful save to disk.",
            "",
        ),
    ),
    Command::new(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY,
        (0, 0, 0),
        Handler::Plain(shutdown),
        doc(
            "server",
            "1.0.0",
            "Synchronously saves the database(s) to disk and shuts down the Redis server.",
            "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]",
        ),
    ),
];

const CLIENT: &[Command] = &[
    Command::new(
        "id",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_id),
        doc(
            "connection",
            "5.0.0",
            "Returns the unique client ID of the connection.",
            "",
        ),
    ),
    Command::new(
        "getname",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_getname),
        doc(
            "connection",
            "2.6.9",
            "Returns the name of the connection.",
            "",
        ),
    ),
    Command::new(
        "setname",
        3,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_setname),
        doc(
            "connection",
            "2.6.9",
            "Sets the connection name.",
            "connection-name",
        ),
    ),
    Command::new(
        "setinfo",
        4,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_setinfo),
        doc(
            "connection",
            "7.2.0",
            "Sets information specific to the client or connection.",
            "LIB-NAME libname|LIB-VER libver",
        ),
    ),
    Command::new(
        "info",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_info),
        doc(
            "connection",
            "6.2.0",
            "Returns information about the connection.",
            "",
        ),
    ),
    Command::new(
        "list",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_list),
        doc(
            "connection",
            "2.4.0",
            "Lists open connections.",
            "[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]",
        ),
    ),
    Command::new(
        "pause",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_pause),
        doc(
            "connection",
            "2.9.50",
            "Stop processing commands from clients for some time",
            "timeout [WRITE|ALL]",
        ),
    ),
    Command::new(
        "unpause",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_unpause),
        doc(
            "connection",
            "6.2.0",
            "Resume processing of clients that were paused",
            "",
        ),
    ),
    Command::new(
        "unblock",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_unblock),
        doc(
            "connection",
            "5.0.0",
            "Unblock a client blocked in a blocking command from a different connection",
            "client-id [TIMEOUT|ERROR]",
        ),
    ),
    Command::new(
        "kill",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_kill),
        doc(
            "connection",
            "2.4.0",
            "Terminates open connections.",
            "ip:port|[ID client-id] [LADDR ip:port] [ADDR ip:port] [SKIPME yes|no]",
        ),
    ),
    Command::new(
        "tracking",
        -3,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_tracking),
        doc(
            "connection",
            "6.0.0",
            "Controls server-assisted client-side caching for the connection.",
            "ON|OFF [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]",
        ),
    ),
    Command::new(
        "caching",
        3,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_caching),
        doc(
            "connection",
            "6.0.0",
            "Instructs the server whether to track the keys in the next request.",
            "YES|NO",
        ),
    ),
    Command::new(
        "getredir",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_getredir),
        doc(
            "connection",
            "6.0.0",
            "Returns the client ID to which the connection's tracking notifications are redirected.",
            "",
        ),
    ),
    Command::new(
        "trackinginfo",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_trackinginfo),
        doc(
            "connection",
            "6.2.0",
            "Returns information about server-assisted client-side caching for the connection.",
            "",
        ),
    ),
    Command::new(
        "no-evict",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_no_evict),
        doc(
            "connection",
            "7.0.0",
            "Sets the client eviction mode of the connection.",
            "ON|OFF",
        ),
    ),
    Command::new(
        "reply",
        3,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(client_reply),
        doc(
            "connection",
            "3.2.0",
            "Instructs the server whether to reply to commands.",
            "ON|OFF|SKIP",
        ),
    ),
    help_subcommand("connection"),
];

const CONFIG: &[Command] = &[
    Command::new(
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(config_get),
        doc(
            "server",
            "2.0.0",
            "Returns the effective values of configuration parameters.",
            "parameter [parameter ...]",
        ),
    ),
    Command::new(
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(config_set),
        doc(
            "server",
            "2.0.0",
            "Sets configuration parameters in-flight.",
            "parameter value [parameter value ...]",
        ),
    ),
    Command::new(
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(config_resetstat),
        doc("server", "2.0.0", "Resets the server's statistics.", ""),
    ),
    Command::new(
        "rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(config_rewrite),
        doc(
            "server",
            "2.8.0",
            "Rewrites the configuration file with the current configuration.",
            "",
        ),
    ),
    help_subcommand("server"),
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
    disable_tracking(ctx);
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
fn valid_name(name: &[u8]) -> bool {
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
/// CLIENT ID
/// ```
fn client_id(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.int(ctx.client.id as i64);
    Ok(())
}

/// ```text
/// CLIENT GETNAME
/// ```
/// The name, or nil if none was set.
fn client_getname(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let name = ctx.client.handle.info().name.clone();
    if name.is_empty() {
        ctx.out.null();
    } else {
        ctx.out.bulk(&name);
    }
    Ok(())
}

/// ```text
/// CLIENT SETNAME connection-name
/// ```
/// An empty name clears it.
fn client_setname(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if !valid_name(&args[2]) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    ctx.client.handle.info().name = args[2].to_vec();
    ctx.out.ok();
    Ok(())
}

/// ```text
/// CLIENT SETINFO LIB-NAME libname|LIB-VER libver
/// ```
/// Redis 7.2's command, accepted because client libraries send it on connect.
fn client_setinfo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (attr, value) = (&args[2], &args[3]);
    let field = if is(attr, "lib-name") {
        "lib-name"
    } else if is(attr, "lib-ver") {
        "lib-ver"
    } else {
        return Err(CmdError::err(format!(
            "Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        )));
    };
    if !valid_name(value) {
        return Err(CmdError::err(format!(
            "{field} cannot contain spaces, newlines or special characters."
        )));
    }
    let mut info = ctx.client.handle.info();
    if field == "lib-name" {
        info.lib_name = value.to_vec();
    } else {
        info.lib_ver = value.to_vec();
    }
    drop(info);
    ctx.out.ok();
    Ok(())
}

/// Refreshes this client's shared info so CLIENT INFO and LIST show the current command.
fn refresh_own_info(ctx: &mut Ctx, full_name: &'static str) {
    let mut info = ctx.client.handle.info();
    info.db = ctx.client.db;
    info.last_command = full_name;
    info.resp = ctx.client.resp;
}

/// ```text
/// CLIENT INFO
/// ```
fn client_info(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    refresh_own_info(ctx, "client|info");
    let line = format!("{}\n", ctx.client.handle.list_line(crate::util::now_ms()));
    ctx.out.verbatim("txt", line.as_bytes());
    Ok(())
}

/// ```text
/// CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id ...]
/// ```
fn client_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    refresh_own_info(ctx, "client|list");
    let mut ids: Option<Vec<u64>> = None;
    let mut kind = None;
    if args.len() > 2 {
        if is(&args[2], "type") && args.len() == 4 {
            kind = Some(client_type(&args[3])?);
        } else if is(&args[2], "id") && args.len() >= 4 {
            let mut v = Vec::new();
            for a in args.iter().skip(3) {
                match crate::util::num::parse_i64(a) {
                    Some(id) if id > 0 => v.push(id as u64),
                    _ => return Err(CmdError::err("Invalid client ID")),
                }
            }
            ids = Some(v);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let now = crate::util::now_ms();
    let mut text = String::new();
    for c in ctx.server.clients.all() {
        if ids.as_ref().is_some_and(|v| !v.contains(&c.id))
            || kind.is_some_and(|k| k != type_of(&c))
        {
            continue;
        }
        text.push_str(&c.list_line(now));
        text.push('\n');
    }
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// ```text
/// CLIENT PAUSE timeout [WRITE|ALL]
/// ```
/// For `timeout` ms, every command (ALL) or those that may write (WRITE) wait before
/// they run, and keys do not expire (see [`crate::pause`]).
fn client_pause(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 4 {
        return Err(super::subcommand_syntax(args));
    }
    let kind = match (args.len() == 4).then(|| &args[3]) {
        None => crate::pause::Kind::All,
        Some(a) if is(a, "write") => crate::pause::Kind::Write,
        Some(a) if is(a, "all") => crate::pause::Kind::All,
        Some(_) => return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL")),
    };
    let ms = crate::util::num::parse_i64(&args[2])
        .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let until = std::time::Instant::now() + std::time::Duration::from_millis(ms as u64);
    ctx.server.pause.start(kind, until);
    ctx.out.ok();
    Ok(())
}

/// ```text
/// CLIENT UNPAUSE
/// ```
fn client_unpause(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.server.pause.stop();
    ctx.out.ok();
    Ok(())
}

/// ```text
/// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]
/// ```
/// 1 if the client was blocked and is now unblocked (with a timeout's reply, or the
/// `UNBLOCKED` error), else 0.
fn client_unblock(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let why = match args.len() {
        3 => Interrupt::Timeout,
        4 if is(&args[3], "timeout") => Interrupt::Timeout,
        4 if is(&args[3], "error") => Interrupt::Error,
        4 => {
            return Err(CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
        _ => return Err(super::subcommand_syntax(args)),
    };
    let id = int_arg(&args[2])?;
    let unblocked = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.server.clients.get(id))
        .is_some_and(|c| c.interrupt_wait(why));
    ctx.out.int(i64::from(unblocked));
    Ok(())
}

/// ```text
/// CLIENT KILL ip:port
/// CLIENT KILL [ID client-id] [TYPE normal|master|replica|slave|pubsub] [USER username]
///             [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no]
/// ```
/// The old form replies OK or an error; the filter form, how many clients were killed.
fn client_kill(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() == 3 {
        let addr = String::from_utf8_lossy(&args[2]).into_owned();
        let target = ctx
            .server
            .clients
            .all()
            .into_iter()
            .find(|c| c.addr.to_string() == addr && !c.is_killed());
        return match target {
            Some(c) => {
                kill_client(ctx, &c);
                ctx.out.ok();
                Ok(())
            }
            None => Err(CmdError::err("No such client")),
        };
    }
    let (mut id, mut addr, mut laddr, mut skipme, mut kind) = (None, None, None, true, None);
    let mut user: Option<u64> = None;
    let mut i = 2;
    while i < args.len() {
        let Some(value) = (i + 1 < args.len()).then(|| &args[i + 1]) else {
            return Err(CmdError::Syntax);
        };
        let opt = &args[i];
        if is(opt, "id") {
            match crate::util::num::parse_i64(value) {
                Some(n) if n > 0 => id = Some(n as u64),
                _ => return Err(CmdError::err("client-id should be greater than 0")),
            }
        } else if is(opt, "type") {
            kind = Some(client_type(value)?);
        } else if is(opt, "addr") {
            addr = Some(String::from_utf8_lossy(value).into_owned());
        } else if is(opt, "laddr") {
            laddr = Some(String::from_utf8_lossy(value).into_owned());
        } else if is(opt, "user") {
            let Some(cell) = ctx.server.acl.get(value) else {
                return Err(CmdError::err(format!(
                    "No such user '{}'",
                    String::from_utf8_lossy(value)
                )));
            };
            user = Some(super::acl::client_user_id(ctx.server, &cell));
        } else if is(opt, "skipme") {
            if is(value, "yes") {
                skipme = true;
            } else if is(value, "no") {
                skipme = false;
            } else {
                return Err(CmdError::Syntax);
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let mut killed = 0;
    for c in ctx.server.clients.all() {
        let matches = id.is_none_or(|v| v == c.id)
            && addr.as_ref().is_none_or(|a| *a == c.addr.to_string())
            && laddr
                .as_ref()
                .is_none_or(|a| *a == c.local_addr.to_string())
            && user.is_none_or(|u| u == c.info().user_id)
            && kind.is_none_or(|k| k == type_of(&c))
            // One being closed is gone already, as Redis frees it at once.
            && !c.is_killed()
            && !(skipme && c.id == ctx.client.id);
        if matches {
            kill_client(ctx, &c);
            killed += 1;
        }
    }
    ctx.out.int(killed);
    Ok(())
}

/// A client's type, as CLIENT LIST TYPE and CLIENT KILL TYPE name them (Redis's
/// `getClientType`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Pubsub,
    /// Our master's link.
    Master,
    /// A replica of ours (`replica` or `slave`).
    Replica,
}

/// Parses a TYPE argument (`Unknown client type '...'` otherwise).
fn client_type(word: &[u8]) -> Result<ClientType, CmdError> {
    if is(word, "normal") {
        Ok(ClientType::Normal)
    } else if is(word, "pubsub") {
        Ok(ClientType::Pubsub)
    } else if is(word, "master") {
        Ok(ClientType::Master)
    } else if is(word, "replica") || is(word, "slave") {
        Ok(ClientType::Replica)
    } else {
        Err(CmdError::err(format!(
            "Unknown client type '{}'",
            String::from_utf8_lossy(word)
        )))
    }
}

/// A client's type: replication's first, then pub/sub while it holds a subscription
/// (Redis's `CLIENT_PUBSUB`).
fn type_of(c: &crate::client::ClientHandle) -> ClientType {
    let info = c.info();
    if info.repl_flag == Some('M') {
        ClientType::Master
    } else if info.repl_flag == Some('S') {
        ClientType::Replica
    } else if info.sub + info.psub + info.ssub > 0 {
        ClientType::Pubsub
    } else {
        ClientType::Normal
    }
}

/// Kills a client; the caller itself is closed only after its reply is written.
fn kill_client(ctx: &mut Ctx, c: &crate::client::ClientHandle) {
    if c.id == ctx.client.id {
        ctx.client.close_after_reply = true;
    } else {
        c.kill();
    }
}

/// ```text
/// CLIENT TRACKING ON|OFF [REDIRECT client-id] [PREFIX prefix ...] [BCAST] [OPTIN]
///     [OPTOUT] [NOLOOP]
/// ```
/// Turns client-side caching on or off (see [`crate::tracking`]), with Redis 7.0's
/// checks in its order: options first (an unknown one, a second REDIRECT, a missing
/// redirect target), then their compatibility with each other and the current mode.
fn client_tracking(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut mode = Mode::default();
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        let opt = &args[i];
        if is(opt, "redirect") && more {
            i += 1;
            if mode.redirect != 0 {
                return Err(CmdError::err(
                    "A client can only redirect to a single other client",
                ));
            }
            let id = int_arg(&args[i])?;
            if id <= 0 || ctx.server.clients.get(id as u64).is_none() {
                return Err(CmdError::err(
                    "The client ID you want redirect to does not exist",
                ));
            }
            mode.redirect = id as u64;
        } else if is(opt, "bcast") {
            mode.bcast = true;
        } else if is(opt, "optin") {
            mode.optin = true;
        } else if is(opt, "optout") {
            mode.optout = true;
        } else if is(opt, "noloop") {
            mode.noloop = true;
        } else if is(opt, "prefix") && more {
            i += 1;
            prefixes.push(&args[i]);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if is(&args[2], "off") {
        disable_tracking(ctx);
        ctx.out.ok();
        return Ok(());
    }
    if !is(&args[2], "on") {
        return Err(CmdError::Syntax);
    }
    let current = ctx.client.tracking.mode.clone();
    if !mode.bcast && !prefixes.is_empty() {
        return Err(CmdError::err(
            "PREFIX option requires BCAST mode to be enabled",
        ));
    }
    if current.as_ref().is_some_and(|c| c.bcast != mode.bcast) {
        return Err(CmdError::err(
            "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if mode.bcast && (mode.optin || mode.optout) {
        return Err(CmdError::err(
            "OPTIN and OPTOUT are not compatible with BCAST",
        ));
    }
    if mode.optin && mode.optout {
        return Err(CmdError::err(
            "You can't specify both OPTIN mode and OPTOUT mode",
        ));
    }
    if current
        .as_ref()
        .is_some_and(|c| (mode.optin && c.optout) || (mode.optout && c.optin))
    {
        return Err(CmdError::err(
            "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if mode.bcast {
        let existing = current.as_ref().map(|c| &c.prefixes);
        for (n, p) in prefixes.iter().enumerate() {
            if let Some(old) = existing.and_then(|e| e.iter().find(|o| tracking::overlap(o, p))) {
                return Err(CmdError::err(format!(
                    "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(old)
                )));
            }
            if let Some(other) = prefixes[n + 1..].iter().find(|o| tracking::overlap(p, o)) {
                return Err(CmdError::err(format!(
                    "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(other)
                )));
            }
        }
        // Re-enabling adds prefixes; none at all means every key.
        mode.prefixes = current.map(|c| c.prefixes).unwrap_or_default();
        if prefixes.is_empty() {
            mode.prefixes.insert(Vec::new());
        }
        mode.prefixes.extend(prefixes.iter().map(|p| p.to_vec()));
    }
    // Invalidations reach this client (or its redirect target) from other threads: its
    // output goes through its writer from now on, as a subscriber's does, so a client
    // that stops reading never holds up the one whose write sends them.
    ctx.client.handle.start_writer();
    if let Some(target) = ctx.server.clients.get(mode.redirect) {
        target.start_writer();
    }
    ctx.server.tracking.enable(&ctx.client.handle, mode.clone());
    {
        let mut info = ctx.client.handle.info();
        info.tracking = true;
        info.tracking_bcast = mode.bcast;
        info.tracking_broken = false;
        info.redirect = mode.redirect as i64;
    }
    ctx.client.tracking.mode = Some(mode);
    ctx.out.ok();
    Ok(())
}

/// Turns tracking off for the calling client (CLIENT TRACKING OFF, RESET, and when it
/// leaves).
pub fn disable_tracking(ctx: &mut Ctx) {
    if ctx.client.tracking.mode.take().is_some() {
        ctx.server.tracking.disable(ctx.client.id);
    }
    ctx.client.tracking.caching = false;
    let mut info = ctx.client.handle.info();
    info.tracking = false;
    info.tracking_bcast = false;
    info.tracking_broken = false;
    info.redirect = -1;
}

/// ```text
/// CLIENT CACHING YES|NO
/// ```
/// Whether the next command's keys are tracked, in OPTIN (YES) or OPTOUT (NO) mode.
fn client_caching(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(mode) = &ctx.client.tracking.mode else {
        return Err(CmdError::err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    };
    if is(&args[2], "yes") {
        if !mode.optin {
            return Err(CmdError::err(
                "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if is(&args[2], "no") {
        if !mode.optout {
            return Err(CmdError::err(
                "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.client.tracking.caching = true;
    ctx.out.ok();
    Ok(())
}

/// ```text
/// CLIENT GETREDIR
/// ```
/// The redirect target's id, 0 when tracking without one, -1 when not tracking.
fn client_getredir(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let redir = ctx
        .client
        .tracking
        .mode
        .as_ref()
        .map_or(-1, |m| m.redirect as i64);
    ctx.out.int(redir);
    Ok(())
}

/// ```text
/// CLIENT TRACKINGINFO
/// ```
/// A map of `flags` (a set), `redirect` and `prefixes`.
fn client_trackinginfo(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let t = &ctx.client.tracking;
    let broken = ctx.client.handle.info().tracking_broken;
    let mut flags = vec![if t.mode.is_some() { "on" } else { "off" }];
    if let Some(m) = &t.mode {
        for (on, name) in [
            (m.bcast, "bcast"),
            (m.optin, "optin"),
            (m.optin && t.caching, "caching-yes"),
            (m.optout, "optout"),
            (m.optout && t.caching, "caching-no"),
            (m.noloop, "noloop"),
            (broken, "broken_redirect"),
        ] {
            if on {
                flags.push(name);
            }
        }
    }
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(t.mode.as_ref().map_or(-1, |m| m.redirect as i64));
    out.bulk(b"prefixes");
    let prefixes = t.mode.as_ref().map(|m| &m.prefixes);
    out.array(prefixes.map_or(0, |p| p.len()));
    for p in prefixes.into_iter().flatten() {
        out.bulk(p);
    }
    Ok(())
}

/// ```text
/// CLIENT NO-EVICT ON|OFF
/// ```
/// Accepted and shown in CLIENT LIST (`e`); there is no client eviction to exempt from.
fn client_no_evict(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let on = if is(&args[2], "on") {
        true
    } else if is(&args[2], "off") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    ctx.client.handle.info().no_evict = on;
    ctx.out.ok();
    Ok(())
}

/// ```text
/// CLIENT REPLY ON|OFF|SKIP
/// ```
/// OFF drops every reply from now on, SKIP the next command's; ON answers OK. The
/// connection drops them (see `connection.rs`).
fn client_reply(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let c = &mut *ctx.client;
    if is(&args[2], "on") {
        c.reply_off = false;
        c.reply_skip = false;
        c.reply_skip_next = false;
        ctx.out.ok();
    } else if is(&args[2], "off") {
        c.reply_off = true;
    } else if is(&args[2], "skip") {
        if !c.reply_off {
            c.reply_skip_next = true;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

/// ```text
/// CONFIG GET parameter [parameter ...]
/// ```
/// Name/value pairs of every parameter matching a glob.
fn config_get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let patterns: Vec<&[u8]> = args.iter().skip(2).collect();
    let pairs = ctx.server.config().get(&patterns);
    ctx.out.map(pairs.len());
    for (name, value) in pairs {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(&value);
    }
    Ok(())
}

/// ```text
/// CONFIG SET parameter value [parameter value ...]
/// ```
/// All or nothing, with Redis's validation and error texts.
fn config_set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() % 2 == 1 {
        return Err(CmdError::Syntax);
    }
    let pairs: Vec<(&[u8], &[u8])> = (2..args.len())
        .step_by(2)
        .map(|i| (&args[i], &args[i + 1]))
        .collect();
    let server = ctx.server;
    let mut config = server.config_mut();
    let before = config.clone();
    let old_cwd = std::env::current_dir().ok();
    // `enable-protected-configs local` lets only loopback clients set `dir` and the like.
    config
        .set_as_client(&pairs, ctx.client.handle.is_local())
        .map_err(CmdError::Msg)?;
    // A larger maxclients must fit the open-files limit, which we cannot raise (Redis's
    // `updateMaxclients`); if not, every setting of this call is rolled back.
    if config.maxclients != before.maxclients {
        if let Err(why) = server.check_maxclients(config.maxclients) {
            *config = before;
            if let Some(cwd) = old_cwd.filter(|c| std::env::current_dir().ok().as_ref() != Some(c))
            {
                let _ = std::env::set_current_dir(cwd);
            }
            return Err(CmdError::err(format!(
                "CONFIG SET failed (possibly related to argument 'maxclients') - {why}"
            )));
        }
    }
    // A new port or bind listens at once, or the whole call is rolled back (Redis's
    // `changeListenPort` and `changeBindAddr`); clients already connected stay.
    let port_changed = config.port != before.port;
    if port_changed || config.bind != before.bind {
        // Without the config lock: accepting a client reads the config.
        let wanted = config.clone();
        drop(config);
        let bound = match server.rebind.get() {
            Some(rebind) => rebind(&wanted, &before),
            None => Ok(wanted.port),
        };
        config = server.config_mut();
        match bound {
            Ok(_) => {}
            Err(why) => {
                *config = before;
                for line in why.lines() {
                    server.log.warning(line);
                }
                let (name, msg) = if port_changed {
                    ("port", "Unable to listen on this port. Check server logs.")
                } else {
                    ("bind", "Failed to bind to specified addresses.")
                };
                return Err(CmdError::err(format!(
                    "CONFIG SET failed (possibly related to argument '{name}') - {msg}"
                )));
            }
        }
    }
    let appendonly = config.is_yes("appendonly");
    let appendonly_changed = appendonly != before.is_yes("appendonly");
    drop(config);
    if appendonly_changed {
        // Redis's `updateAppendonly`: turning the AOF on starts a rewrite first. The
        // config lock is released: the AOF reads the settings it needs.
        if let Err(why) = crate::persist::aof::set_enabled(server, appendonly, ctx.client.in_exec) {
            *server.config_mut() = before;
            server.config_changed();
            return Err(CmdError::err(format!(
                "CONFIG SET failed (possibly related to argument 'appendonly') - {why}"
            )));
        }
    }
    // A new requirepass applies to clients that connect from now on; those already in
    // stay in, as in Redis.
    server.config_changed();
    ctx.out.ok();
    Ok(())
}

/// ```text
/// CONFIG REWRITE
/// ```
fn config_rewrite(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let result = ctx.server.config().rewrite();
    match result {
        Ok(()) => {
            ctx.server
                .log
                .notice("CONFIG REWRITE executed with success.");
            ctx.out.ok();
            Ok(())
        }
        Err(e) => {
            ctx.server.log.warning(&format!(
                "CONFIG REWRITE failed: {}",
                e.trim_start_matches("ERR ")
            ));
            Err(CmdError::Msg(e))
        }
    }
}

/// ```text
/// CONFIG RESETSTAT
/// ```
fn config_resetstat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let s = &ctx.server.stats;
    for counter in [
        &s.connections_received,
        &s.rejected_connections,
        &s.commands_processed,
        &s.net_input_bytes,
        &s.net_output_bytes,
        &s.keyspace_hits,
        &s.keyspace_misses,
        &s.reads_processed,
        &s.writes_processed,
    ] {
        counter.store(0, Ordering::Relaxed);
    }
    ctx.server.store.write().reset_stats();
    ctx.server.memory.reset_stats();
    ctx.server.calls.merge(&mut ctx.client.calls);
    ctx.server.calls.reset();
    ctx.out.ok();
    Ok(())
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
    for opt in args.iter().skip(1) {
        if is(opt, "nosave") {
            nosave = true;
        } else if is(opt, "save") {
            save = true;
        } else if is(opt, "now") {
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
        return Err(CmdError::err("No shutdown in progress."));
    }
    // While a script is busy only SHUTDOWN NOSAVE may stop the server.
    if !nosave {
        if let Some(msg) = ctx.server.scripts.busy_error() {
            return Err(CmdError::Msg(msg.into()));
        }
    }
    let server = ctx.server;
    server.log.warning("User requested shutdown...");
    if server.persist.bgsave_running.load(Ordering::Acquire) {
        // As Redis kills its saving child: the final save below supersedes it.
        server
            .log
            .warning("There is a child saving an .rdb. Killing it!");
        crate::persist::save::wait_bgsave(server, true);
    }
    if crate::persist::aof::shutdown(server, force).is_err() {
        return Err(CmdError::err("Errors trying to SHUTDOWN. Check logs."));
    }
    let must_save = save || (!nosave && !server.config().save.is_empty());
    if must_save {
        server
            .log
            .notice("Saving the final RDB snapshot before exiting.");
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
            return Err(CmdError::err("Errors trying to SHUTDOWN. Check logs."));
        }
    }
    let pidfile = server.config().value("pidfile").unwrap_or_default();
    if !pidfile.is_empty() {
        server.log.notice("Removing the pid file.");
        let _ = std::fs::remove_file(String::from_utf8_lossy(&pidfile).as_ref());
    }
    server
        .log
        .warning("redlite is now ready to exit, bye bye...");
    std::process::exit(0);
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
