//! Connection and server commands (Redis's server.c, networking.c and config.c): PING,
//! ECHO, QUIT, SELECT, TIME, HELLO, CLIENT, CONFIG, INFO, SAVE, LASTSAVE, SHUTDOWN, and
//! the empty FUNCTION and SCRIPT answers of a Redis without Lua.

use std::sync::atomic::Ordering;

use super::docs::{doc, help_subcommand};
use super::flags::*;
use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::server::REDIS_VERSION;
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
        ALLOW_BUSY | NO_AUTH | LOADING | STALE | FAST,
        (0, 0, 0),
        Handler::Plain(quit),
        doc("connection", "1.0.0", "Closes the connection.", ""),
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
    Command::container(
        "function",
        -2,
        Handler::Container,
        FUNCTION,
        doc(
            "scripting",
            "7.0.0",
            "A container for function commands.",
            "",
        ),
    ),
    Command::container(
        "script",
        -2,
        Handler::Container,
        SCRIPT,
        doc(
            "scripting",
            "2.6.0",
            "A container for Lua scripts management commands.",
            "",
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
    help_subcommand("server"),
];

const FUNCTION: &[Command] = &[
    Command::new(
        "flush",
        -2,
        WRITE | NOSCRIPT,
        (0, 0, 0),
        Handler::Plain(flush_scripts),
        doc(
            "scripting",
            "7.0.0",
            "Deletes all libraries and functions.",
            "[ASYNC|SYNC]",
        ),
    ),
    Command::new(
        "list",
        -2,
        NOSCRIPT,
        (0, 0, 0),
        Handler::Plain(function_list),
        doc(
            "scripting",
            "7.0.0",
            "Returns information about all libraries.",
            "[LIBRARYNAME library-name-pattern] [WITHCODE]",
        ),
    ),
    help_subcommand("scripting"),
];

const SCRIPT: &[Command] = &[
    Command::new(
        "flush",
        -2,
        NOSCRIPT,
        (0, 0, 0),
        Handler::Plain(flush_scripts),
        doc(
            "scripting",
            "2.6.0",
            "Removes all server-side Lua scripts from the script cache.",
            "[ASYNC|SYNC]",
        ),
    ),
    help_subcommand("scripting"),
];

/// ```text
/// PING [message]
/// ```
fn ping(ctx: &mut Ctx, args: &Args) -> CmdResult {
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

/// ```text
/// HELLO [protover [AUTH username password] [SETNAME clientname]]
/// ```
/// The server's description as a map. Only protocol 2 is spoken so far: `HELLO 3`
/// answers `-NOPROTO`, which clients take as "stay on RESP2".
fn hello(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut next = 1;
    if args.len() >= 2 {
        let version = crate::util::num::parse_i64(&args[1])
            .ok_or_else(|| CmdError::err("Protocol version is not an integer or out of range"))?;
        next = 2;
        if version != 2 {
            return Err(CmdError::Msg("NOPROTO unsupported protocol version".into()));
        }
    }
    let mut name = None;
    let mut user = None;
    while next < args.len() {
        let more = args.len() - 1 - next;
        if is(&args[next], "auth") && more >= 2 {
            user = Some(next + 1);
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
    // Without requirepass, the default user accepts any password, as in Redis.
    if let Some(u) = user {
        if !is(&args[u], "default") {
            return Err(CmdError::Msg(
                "WRONGPASS invalid username-password pair or user is disabled.".into(),
            ));
        }
    }
    if let Some(n) = name {
        ctx.client.handle.info().name = args[n].to_vec();
    }
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
    ctx.out.bulk(b"master");
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
    Ok(())
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
    let mut kind_normal = true;
    if args.len() > 2 {
        if is(&args[2], "type") && args.len() == 4 {
            let t = &args[3];
            if is(t, "normal") {
                kind_normal = true;
            } else if is(t, "master") || is(t, "replica") || is(t, "slave") || is(t, "pubsub") {
                kind_normal = false;
            } else {
                return Err(CmdError::err(format!(
                    "Unknown client type '{}'",
                    String::from_utf8_lossy(t)
                )));
            }
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
    if kind_normal {
        for c in ctx.server.clients.all() {
            if ids.as_ref().is_some_and(|v| !v.contains(&c.id)) {
                continue;
            }
            text.push_str(&c.list_line(now));
            text.push('\n');
        }
    }
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// ```text
/// CLIENT KILL ip:port
/// CLIENT KILL [ID client-id] [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no]
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
            .find(|c| c.addr.to_string() == addr);
        return match target {
            Some(c) => {
                kill_client(ctx, &c);
                ctx.out.ok();
                Ok(())
            }
            None => Err(CmdError::err("No such client")),
        };
    }
    let (mut id, mut addr, mut laddr, mut skipme) = (None, None, None, true);
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
        } else if is(opt, "addr") {
            addr = Some(String::from_utf8_lossy(value).into_owned());
        } else if is(opt, "laddr") {
            laddr = Some(String::from_utf8_lossy(value).into_owned());
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
            && !(skipme && c.id == ctx.client.id);
        if matches {
            kill_client(ctx, &c);
            killed += 1;
        }
    }
    ctx.out.int(killed);
    Ok(())
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
    let result = ctx.server.config_mut().set(&pairs);
    result.map_err(CmdError::Msg)?;
    ctx.server.config_changed();
    ctx.out.ok();
    Ok(())
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
    ] {
        counter.store(0, Ordering::Relaxed);
    }
    ctx.server.store.write().reset_stats();
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
    let text = super::info::render(ctx.server, &sections);
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// ```text
/// SAVE
/// ```
/// Writes the dump; readers carry on meanwhile, writers wait.
fn save(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    match crate::persist::save::save_store(ctx.server, &ctx.server.store) {
        Ok(()) => ctx.out.ok(),
        Err(_) => ctx.out.error("ERR"),
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
    let server = ctx.server;
    server.log.warning("User requested shutdown...");
    let must_save = save || (!nosave && !server.config().save.is_empty());
    if must_save {
        server
            .log
            .notice("Saving the final RDB snapshot before exiting.");
        if crate::persist::save::save_store(server, &server.store).is_err() && !force {
            server
                .log
                .warning("Error trying to save the DB, can't exit.");
            return Err(CmdError::err("Errors trying to SHUTDOWN. Check logs."));
        }
    }
    server
        .log
        .warning("redlite is now ready to exit, bye bye...");
    std::process::exit(0);
}

/// ```text
/// FUNCTION FLUSH [ASYNC|SYNC]
/// SCRIPT FLUSH [ASYNC|SYNC]
/// ```
/// OK: there are no functions or scripts to remove.
fn flush_scripts(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match args.len() {
        2 => {}
        3 if is(&args[2], "sync") || is(&args[2], "async") => {}
        3 if is(&args[0], "script") => {
            return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"))
        }
        3 => {
            return Err(CmdError::err(
                "FUNCTION FLUSH only supports SYNC|ASYNC option",
            ))
        }
        _ => return Err(CmdError::Syntax),
    }
    ctx.out.ok();
    Ok(())
}

/// ```text
/// FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
/// ```
/// An empty array: no libraries are loaded.
fn function_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut i = 2;
    while i < args.len() {
        if is(&args[i], "withcode") {
            i += 1;
        } else if is(&args[i], "libraryname") && i + 1 < args.len() {
            i += 2;
        } else {
            return Err(CmdError::err(format!(
                "Unknown argument {}",
                String::from_utf8_lossy(&args[i])
            )));
        }
    }
    ctx.out.array(0);
    Ok(())
}
