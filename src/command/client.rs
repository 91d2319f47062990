//! CLIENT, the connection's own state and the other clients (Redis's networking.c):
//! ID, GETNAME, SETNAME, SETINFO, INFO, LIST, KILL, PAUSE, UNPAUSE, UNBLOCK, TRACKING,
//! CACHING, GETREDIR, TRACKINGINFO, NO-EVICT, REPLY.

use crate::store::blocking::Interrupt;

use super::docs::help_subcommand;
use super::flags::{LOADING, NOSCRIPT, STALE};
use super::server::valid_name;
use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::tracking::{self, Mode};

pub const COMMANDS: &[Command] = &[Command::container("client", Handler::Container, CLIENT)];

const CLIENT: &[Command] = &[
    Command::sub("client", "id", Handler::Plain(client_id)),
    Command::sub("client", "getname", Handler::Plain(client_getname)),
    Command::sub("client", "setname", Handler::Plain(client_setname)),
    Command::unlisted(
        "setinfo",
        4,
        NOSCRIPT | LOADING | STALE,
        Handler::Plain(client_setinfo),
    ),
    Command::sub("client", "info", Handler::Plain(client_info)),
    Command::sub("client", "list", Handler::Plain(client_list)),
    Command::sub("client", "pause", Handler::Plain(client_pause)),
    Command::sub("client", "unpause", Handler::Plain(client_unpause)),
    Command::sub("client", "unblock", Handler::Plain(client_unblock)),
    Command::sub("client", "kill", Handler::Plain(client_kill)),
    Command::sub("client", "tracking", Handler::Plain(client_tracking)),
    Command::sub("client", "caching", Handler::Plain(client_caching)),
    Command::sub("client", "getredir", Handler::Plain(client_getredir)),
    Command::sub(
        "client",
        "trackinginfo",
        Handler::Plain(client_trackinginfo),
    ),
    Command::sub("client", "no-evict", Handler::Plain(client_no_evict)),
    Command::sub("client", "reply", Handler::Plain(client_reply)),
    help_subcommand("client"),
];

/// CLIENT HELP's text, as Redis 7.0.15's.
pub const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

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
    crate::client::MemModel::running(&mut info, ctx.client, ctx.out.len());
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
