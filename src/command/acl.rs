//! ACL and its subcommands (Redis's acl.c `aclCommand`): SETUSER, GETUSER, DELUSER,
//! LIST, USERS, WHOAMI, CAT, LOG, GENPASS, DRYRUN, SAVE, LOAD, HELP. The model (users,
//! rules, checks, the log, the file) is in [`crate::acl`]; this file is the wire side,
//! and the dispatcher's check ([`check_request`]) with its NOPERM errors and log entries.

use std::sync::Arc;

use super::{is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::acl::{self, catalog::SPECS, Context, Denied, LogEntry, Reason, UserCell};
use crate::resp::Args;
use crate::state::Server;

const SUBCOMMANDS: &[Command] = &[
    Command::sub("acl", "cat", Handler::Plain(cat)),
    Command::sub("acl", "deluser", Handler::Plain(deluser)),
    Command::sub("acl", "dryrun", Handler::Plain(dryrun)),
    Command::sub("acl", "genpass", Handler::Plain(genpass)),
    Command::sub("acl", "getuser", Handler::Plain(getuser)),
    Command::sub("acl", "help", Handler::Plain(help)),
    Command::sub("acl", "list", Handler::Plain(list)),
    Command::sub("acl", "load", Handler::Plain(load)),
    Command::sub("acl", "log", Handler::Plain(log)),
    Command::sub("acl", "save", Handler::Plain(save)),
    Command::sub("acl", "setuser", Handler::Plain(setuser)),
    Command::sub("acl", "users", Handler::Plain(users)),
    Command::sub("acl", "whoami", Handler::Plain(whoami)),
];

/// ACL, a container of the subcommands above.
pub const COMMANDS: &[Command] = &[Command::container("acl", Handler::Container, SUBCOMMANDS)];

/// The client's user (the default user until it authenticates as another).
pub fn user_of<'a>(
    server: &'a Server,
    client: &'a crate::client::ClientState,
) -> &'a Arc<UserCell> {
    client.user.as_ref().unwrap_or(server.acl.default_user())
}

/// The dispatcher's ACL check (Redis's `ACLCheckAllPerm` in `processCommand`): `None`
/// if the client's user may run the request, else the NOPERM error, after logging the
/// denial. An unrestricted user costs one flag test.
pub fn check_request(ctx: &mut Ctx, cmd: &'static Command, args: &Args) -> Option<String> {
    let cell = user_of(ctx.server, ctx.client);
    if cell.is_unrestricted() {
        return None;
    }
    let denied = denial(cell, cmd, args)?;
    // Only a refusal pays for a handle of its own (the log needs `ctx` again).
    let cell = Arc::clone(cell);
    let context = if ctx.client.multi.is_some() {
        Context::Multi
    } else {
        Context::Toplevel
    };
    log_denial(ctx, full_name(cmd), &cell, cmd, args, denied, context);
    Some(match denied {
        Denied::Command => format!(
            "NOPERM this user has no permissions to run the '{}' command",
            full_name(cmd)
        ),
        Denied::Key(_) => {
            "NOPERM this user has no permissions to access one of the keys used as arguments".into()
        }
        Denied::Channel(_) => {
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .into()
        }
    })
}

/// EXEC's check of each queued command (Redis's `execCommand`): the NOPERM error if the
/// rules changed since it was queued so that it may no longer run.
pub fn check_queued(ctx: &mut Ctx, cmd: &'static Command, args: &Args) -> Option<String> {
    let cell = user_of(ctx.server, ctx.client);
    if cell.is_unrestricted() {
        return None;
    }
    let denied = denial(cell, cmd, args)?;
    let cell = Arc::clone(cell);
    // The logged client info shows EXEC running, as Redis's does.
    log_denial(ctx, "exec", &cell, cmd, args, denied, Context::Multi);
    let reason = match denied {
        Denied::Command => "no permission to execute the command or subcommand",
        Denied::Key(_) => "no permission to touch the specified keys",
        Denied::Channel(_) => "no permission to access one of the channels used as arguments",
    };
    Some(format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
    ))
}

/// The check of a command a script calls (Redis's `scriptVerifyACL`), for the user
/// who runs the script: the error text, logged with the `lua` context.
/// `caller` is the script's own command (EVAL, FCALL...), which the logged client info
/// shows.
pub fn check_script_call(
    ctx: &Ctx,
    caller: &'static str,
    cmd: &'static Command,
    args: &Args,
) -> Option<String> {
    let cell = user_of(ctx.server, ctx.client);
    if cell.is_unrestricted() {
        return None;
    }
    let denied = denial(cell, cmd, args)?;
    log_denial(ctx, caller, cell, cmd, args, denied, Context::Lua);
    Some(format!(
        "The user executing the script {}",
        match denied {
            Denied::Command => "can't run this command or subcommand",
            Denied::Key(_) =>
                "can't access at least one of the keys mentioned in the command arguments",
            Denied::Channel(_) => "can't publish to the channel mentioned in the command",
        }
    ))
}

/// Whether the user may run the request: `None` if so. A subcommand Redis 7.0 does
/// not have (CLIENT SETINFO, from 7.2) is judged as its container; another command it
/// does not have (a test command) needs `allcommands`.
pub fn denial(cell: &UserCell, cmd: &'static Command, args: &Args) -> Option<Denied> {
    let user = cell.read();
    let id = acl::id_of(cmd).or_else(|| {
        let parent = super::lookup(&args[0]).filter(|p| !std::ptr::eq(*p, cmd))?;
        acl::id_of(parent)
    });
    match id {
        Some(id) => acl::check::check(&user, id, args).err(),
        None => (!user.selectors.iter().any(|s| s.allcommands)).then_some(Denied::Command),
    }
}

/// Whether the client's user may run this request with read access to every key
/// (Redis's `ACLUserCheckCmdWithUnrestrictedKeyAccess` with `CMD_KEY_ACCESS`), which
/// SORT's BY and GET patterns need.
pub fn full_key_access(ctx: &Ctx, args: &Args) -> bool {
    let cell = user_of(ctx.server, ctx.client);
    if cell.is_unrestricted() {
        return true;
    }
    let Some(id) = acl::lookup(&args[0]) else {
        return false;
    };
    acl::check::unrestricted_key_access(&cell.read(), id, args)
}

/// The full name Redis logs and reports: `get`, `config|get`.
pub fn full_name(cmd: &'static Command) -> &'static str {
    acl::id_of(cmd).map_or(cmd.name, |id| SPECS[id].name)
}

/// Adds a denial to the ACL log (Redis's `addACLLogEntry`): the object is the command's
/// full name, or the key or channel refused; `running` is the client's command as its
/// logged info shows it.
pub fn log_denial(
    ctx: &Ctx,
    running: &'static str,
    cell: &UserCell,
    cmd: &'static Command,
    args: &Args,
    denied: Denied,
    context: Context,
) {
    let (reason, object) = match denied {
        Denied::Command => (Reason::Command, full_name(cmd).as_bytes().to_vec()),
        Denied::Key(p) => (Reason::Key, args[p].to_vec()),
        Denied::Channel(p) => (Reason::Channel, args[p].to_vec()),
    };
    add_log(ctx, running, reason, context, object, cell.name());
}

/// Adds one ACL LOG entry for the running client.
pub fn add_log(
    ctx: &Ctx,
    running: &'static str,
    reason: Reason,
    context: Context,
    object: Vec<u8>,
    username: Vec<u8>,
) {
    let now = crate::util::now_ms();
    ctx.server.acl.log(LogEntry {
        count: 1,
        reason,
        context,
        object,
        username,
        ctime_ms: now,
        client_info: ctx.client.handle.list_line_running(now, Some(running)),
    });
}

/// Authenticates the client as `user` with `password` (Redis's `ACLAuthenticateUser`):
/// on success it runs as that user; on failure the attempt is logged (object: the
/// command's own name as sent) and nothing changes.
pub fn authenticate(ctx: &mut Ctx, command: &[u8], user: &[u8], password: &[u8]) -> bool {
    match ctx.server.acl.check_credentials(user, password) {
        Some(cell) => {
            ctx.client.authenticated = true;
            set_user(ctx, cell);
            true
        }
        None => {
            let context = if ctx.client.multi.is_some() {
                Context::Multi
            } else {
                Context::Toplevel
            };
            let running = if is(command, "hello") {
                "hello"
            } else {
                "auth"
            };
            add_log(
                ctx,
                running,
                Reason::Auth,
                context,
                command.to_vec(),
                user.to_vec(),
            );
            false
        }
    }
}

/// Makes the client run as `cell` (CLIENT LIST's `user=` follows).
pub fn set_user(ctx: &mut Ctx, cell: Arc<UserCell>) {
    let is_default = Arc::ptr_eq(&cell, ctx.server.acl.default_user());
    {
        let mut info = ctx.client.handle.info();
        info.user = if is_default { Vec::new() } else { cell.name() };
        info.user_id = client_user_id(ctx.server, &cell);
    }
    ctx.client.user = (!is_default).then_some(cell);
}

/// How clients name a user in their shared info: its cell id, or 0 for the default
/// user (which every client starts as).
pub fn client_user_id(server: &Server, cell: &Arc<UserCell>) -> u64 {
    if Arc::ptr_eq(cell, server.acl.default_user()) {
        0
    } else {
        cell.id
    }
}

/// Disconnects every client of the users given (deleted, or gone in ACL LOAD), as
/// Redis's `ACLFreeUserAndKillClients`; the calling client is closed after its reply.
fn kill_clients_of(ctx: &mut Ctx, gone: &[Arc<UserCell>]) {
    if gone.is_empty() {
        return;
    }
    for c in ctx.server.clients.all() {
        let user_id = c.info().user_id;
        if !gone.iter().any(|g| g.id == user_id) {
            continue;
        }
        if c.id == ctx.client.id {
            ctx.client.close_after_reply = true;
            ctx.client.authenticated = false;
            ctx.client.user = None;
        } else {
            c.kill();
        }
    }
}

/// Disconnects the user's subscribers whose subscriptions its new channel rules no
/// longer allow (Redis's `ACLKillPubsubClientsIfNeeded`).
fn kill_pubsub_clients_if_needed(
    ctx: &mut Ctx,
    cell: &Arc<UserCell>,
    new: &acl::User,
    old: &acl::User,
) {
    let user_id = client_user_id(ctx.server, cell);
    if new.selectors.iter().any(|s| s.allchannels) {
        return;
    }
    let upcoming: Vec<Vec<u8>> = new
        .selectors
        .iter()
        .flat_map(|s| s.channels.iter().cloned())
        .collect();
    let superset = old
        .selectors
        .iter()
        .all(|s| !s.allchannels && s.channels.iter().all(|c| upcoming.contains(c)));
    if superset {
        return;
    }
    let allowed = |channel: &[u8], pattern: bool| {
        upcoming.iter().any(|p| {
            if pattern {
                p == channel
            } else {
                crate::util::glob::matches(p, channel, false)
            }
        })
    };
    for c in ctx.server.clients.all() {
        if c.info().user_id != user_id {
            continue;
        }
        let (channels, patterns) = ctx.server.pubsub.lock().subscriptions_of(c.id);
        let bad = channels.iter().any(|ch| !allowed(ch, false))
            || patterns.iter().any(|p| !allowed(p, true));
        if bad {
            if c.id == ctx.client.id {
                ctx.client.close_after_reply = true;
            } else {
                c.kill();
            }
        }
    }
}

/// ```text
/// ACL SETUSER username [rule [rule ...]]
/// ```
/// Creates or changes a user; every rule is checked first, and on an error none is
/// applied.
fn setuser(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = &args[2];
    if acl::rules::has_spaces(name) {
        return Err(CmdError::err(
            "Usernames can't contain spaces or null characters",
        ));
    }
    let words: Vec<&[u8]> = args.iter().skip(3).collect();
    let ops = acl::rules::merge_selectors(&words).map_err(|at| {
        CmdError::err(format!(
            "Unmatched parenthesis in acl selector starting at '{at}'."
        ))
    })?;
    let existing = ctx.server.acl.get(name);
    let pubsub_all = ctx
        .server
        .acl
        .pubsub_all
        .load(std::sync::atomic::Ordering::Relaxed);
    let mut user = match &existing {
        Some(cell) => cell.read().clone(),
        None => ctx.server.acl.new_user(name),
    };
    for op in &ops {
        if let Err(e) = user.apply(op, pubsub_all) {
            return Err(CmdError::err(
                format!(
                    "Error in ACL SETUSER modifier '{}': {}",
                    String::from_utf8_lossy(op),
                    e.message()
                )
                .replace(['\r', '\n'], " "),
            ));
        }
    }
    if let Some(cell) = &existing {
        let old = cell.read().clone();
        kill_pubsub_clients_if_needed(ctx, cell, &user, &old);
    }
    ctx.server.acl.put(user);
    ctx.out.ok();
    Ok(())
}

/// ```text
/// ACL DELUSER username [username ...]
/// ```
/// Deletes users and disconnects their clients; `default` cannot be deleted.
fn deluser(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.iter().skip(2).any(|a| a == b"default") {
        return Err(CmdError::err("The 'default' user cannot be removed"));
    }
    let mut gone = Vec::new();
    for name in args.iter().skip(2) {
        if let Some(cell) = ctx.server.acl.remove(name) {
            gone.push(cell);
        }
    }
    kill_clients_of(ctx, &gone);
    ctx.out.int(gone.len() as i64);
    Ok(())
}

/// ```text
/// ACL GETUSER username
/// ```
/// The user's flags, password hashes, root permissions and selectors, as a map.
fn getuser(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(cell) = ctx.server.acl.get(&args[2]) else {
        ctx.out.null();
        return Ok(());
    };
    let u = cell.read();
    let out = &mut *ctx.out;
    out.map(6);
    out.bulk(b"flags");
    let flags = u.flag_names();
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"passwords");
    out.array(u.passwords.len());
    for p in &u.passwords {
        out.bulk(p.as_bytes());
    }
    write_selector(out, u.root());
    out.bulk(b"selectors");
    out.array(u.selectors.len() - 1);
    for s in &u.selectors[1..] {
        out.map(3);
        write_selector(out, s);
    }
    Ok(())
}

/// A selector's `commands`, `keys` and `channels` fields (Redis's
/// `aclAddReplySelectorDescription`).
fn write_selector(out: &mut crate::resp::Reply, s: &acl::Selector) {
    out.bulk(b"commands");
    out.bulk(s.describe_commands().as_bytes());
    out.bulk(b"keys");
    out.bulk(s.describe_keys().as_bytes());
    out.bulk(b"channels");
    out.bulk(s.describe_channels().as_bytes());
}

/// ```text
/// ACL LIST
/// ```
/// Every user as an ACL file line.
fn list(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let users = ctx.server.acl.users();
    ctx.out.array(users.len());
    for cell in users {
        let u = cell.read();
        let mut line = b"user ".to_vec();
        line.extend_from_slice(&u.name);
        line.push(b' ');
        line.extend_from_slice(u.describe().as_bytes());
        ctx.out.bulk(&line);
    }
    Ok(())
}

/// ```text
/// ACL USERS
/// ```
fn users(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let users = ctx.server.acl.users();
    ctx.out.array(users.len());
    for cell in users {
        ctx.out.bulk(&cell.name());
    }
    Ok(())
}

/// ```text
/// ACL WHOAMI
/// ```
fn whoami(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let name = user_of(ctx.server, ctx.client).name();
    ctx.out.bulk(&name);
    Ok(())
}

/// ```text
/// ACL CAT [category]
/// ```
/// The categories, or the commands and subcommands of one (every Redis 7.0.15 command
/// of it, see [`crate::acl::catalog`]).
fn cat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match args.len() {
        2 => {
            ctx.out.array(acl::CATEGORIES.len());
            for c in acl::CATEGORIES {
                ctx.out.bulk(c.as_bytes());
            }
        }
        3 => {
            let Some(bit) = acl::category_bit(&args[2]) else {
                let name = String::from_utf8_lossy(&args[2]);
                let name: String = name.chars().take(128).collect();
                return Err(CmdError::err(format!("Unknown category '{name}'")));
            };
            let names: Vec<&str> = SPECS
                .iter()
                .filter(|s| s.categories & bit != 0)
                .map(|s| s.name)
                .collect();
            ctx.out.array(names.len());
            for n in names {
                ctx.out.bulk(n.as_bytes());
            }
        }
        _ => return Err(super::subcommand_syntax(args)),
    }
    Ok(())
}

/// ```text
/// ACL GENPASS [bits]
/// ```
/// `bits` (default 256) random bits as hex.
fn genpass(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let bits = match args.len() {
        2 => 256,
        3 => super::int_arg(&args[2])?,
        _ => return Err(super::subcommand_syntax(args)),
    };
    if bits <= 0 || bits > 4096 {
        return Err(CmdError::err(
            "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
        ));
    }
    let chars = ((bits + 3) / 4) as usize;
    let bytes = crate::util::rand::with_thread_rng(|r| r.bytes(chars.div_ceil(2)));
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    ctx.out.bulk(&hex.as_bytes()[..chars]);
    Ok(())
}

/// ```text
/// ACL LOG [count|RESET]
/// ```
/// The newest entries (10 by default), or RESET to empty the log.
fn log(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let count = match args.len() {
        2 => 10,
        3 if is(&args[2], "reset") => {
            ctx.server.acl.log_reset();
            ctx.out.ok();
            return Ok(());
        }
        3 => super::int_arg(&args[2])?.max(0) as usize,
        _ => return Err(super::subcommand_syntax(args)),
    };
    let entries = ctx.server.acl.log_entries(count);
    let now = crate::util::now_ms();
    ctx.out.array(entries.len());
    for e in entries {
        ctx.out.map(7);
        ctx.out.bulk(b"count");
        ctx.out.int(e.count as i64);
        ctx.out.bulk(b"reason");
        ctx.out.bulk(match e.reason {
            Reason::Command => b"command".as_slice(),
            Reason::Key => b"key",
            Reason::Channel => b"channel",
            Reason::Auth => b"auth",
        });
        ctx.out.bulk(b"context");
        ctx.out.bulk(match e.context {
            Context::Toplevel => b"toplevel".as_slice(),
            Context::Multi => b"multi",
            Context::Lua => b"lua",
        });
        ctx.out.bulk(b"object");
        ctx.out.bulk(&e.object);
        ctx.out.bulk(b"username");
        ctx.out.bulk(&e.username);
        ctx.out.bulk(b"age-seconds");
        ctx.out
            .double(now.saturating_sub(e.ctime_ms) as f64 / 1000.0);
        ctx.out.bulk(b"client-info");
        ctx.out.bulk(e.client_info.as_bytes());
    }
    Ok(())
}

/// ```text
/// ACL DRYRUN username command [arg ...]
/// ```
/// Whether the user could run the command: OK, or why not (as a bulk string).
fn dryrun(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(cell) = ctx.server.acl.get(&args[2]) else {
        return Err(CmdError::err(format!(
            "User '{}' not found",
            String::from_utf8_lossy(&args[2])
        )));
    };
    let request = Args::from_slices(&args.iter().skip(3).collect::<Vec<_>>());
    let cmd = match super::lookup(&request[0]) {
        Some(c) if !c.subcommands.is_empty() && request.len() >= 2 => {
            super::lookup_sub(c, &request[1])
        }
        other => other,
    };
    let Some(cmd) = cmd else {
        return Err(CmdError::err(format!(
            "Command '{}' not found",
            String::from_utf8_lossy(&request[0])
        )));
    };
    let argc = request.len() as i32;
    if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity {
        return Err(CmdError::err(format!(
            "wrong number of arguments for '{}' command",
            full_name(cmd)
        )));
    }
    match denial(&cell, cmd, &request) {
        None => ctx.out.ok(),
        Some(Denied::Command) => ctx.out.bulk(
            format!(
                "This user has no permissions to run the '{}' command",
                full_name(cmd)
            )
            .as_bytes(),
        ),
        Some(Denied::Key(p)) => ctx.out.bulk(
            format!(
                "This user has no permissions to access the '{}' key",
                String::from_utf8_lossy(&request[p])
            )
            .as_bytes(),
        ),
        Some(Denied::Channel(p)) => ctx.out.bulk(
            format!(
                "This user has no permissions to access the '{}' channel",
                String::from_utf8_lossy(&request[p])
            )
            .as_bytes(),
        ),
    }
    Ok(())
}

/// The `aclfile` setting, or the error ACL LOAD and SAVE give without one.
fn acl_file(ctx: &Ctx) -> Result<String, CmdError> {
    let path = ctx.server.config().value("aclfile").unwrap_or_default();
    let path = String::from_utf8_lossy(&path).into_owned();
    if path.is_empty() {
        return Err(CmdError::err(
            "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
        ));
    }
    Ok(path)
}

/// ```text
/// ACL LOAD
/// ```
/// Replaces every user with the ACL file's, or changes nothing if the file has an
/// error; the clients of users that are gone are disconnected.
fn load(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let path = acl_file(ctx)?;
    let pubsub_all = ctx
        .server
        .acl
        .pubsub_all
        .load(std::sync::atomic::Ordering::Relaxed);
    let users = acl::load_file(&path, pubsub_all).map_err(CmdError::err)?;
    let gone = ctx.server.acl.replace_all(users);
    kill_clients_of(ctx, &gone);
    ctx.out.ok();
    Ok(())
}

/// ```text
/// ACL SAVE
/// ```
fn save(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let path = acl_file(ctx)?;
    let text = ctx.server.acl.file_text();
    if let Err(e) = acl::save_file(&path, &text) {
        ctx.server
            .log
            .warning(&format!("Writing ACL file for ACL SAVE: {e}"));
        return Err(CmdError::err(
            "There was an error trying to save the ACLs. Please check the server logs for more information",
        ));
    }
    ctx.out.ok();
    Ok(())
}

/// ACL HELP's lines, Redis's text.
const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

/// ```text
/// ACL HELP
/// ```
fn help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    super::reply_lines(ctx.out, HELP);
    Ok(())
}
