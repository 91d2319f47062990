//! COMMAND (Redis's server.c `command*Command`): COUNT, LIST, INFO, DOCS, GETKEYS,
//! GETKEYSANDFLAGS and HELP, all read from the catalog ([`crate::acl::catalog`]), so
//! that what COMMAND INFO and DOCS say (arity, flags, key specs, argument trees) is
//! what the dispatcher and the ACL check act on.
//!
//! COMMAND DOCS is what redis-cli 7 reads at startup to build its help and its hints.
//! Commands redlite serves that Redis 7.0.15 does not have (CLIENT SETINFO of 7.2) are
//! not listed.

use super::flags;
use super::{all, lookup, CmdResult, Command, Ctx, Handler};
use crate::acl::spec::{key_flags, Arg, ARG_TYPES, DOC_DEPRECATED, DOC_SYSCMD};
use crate::acl::spec::{ARG_MULTIPLE, ARG_MULTIPLE_TOKEN, ARG_OPTIONAL, BLOCK, ONEOF};
use crate::acl::Spec;
use crate::resp::{Args, Reply};

const SUBCOMMANDS: &[Command] = &[
    Command::sub("command", "getkeys", Handler::Plain(getkeys)),
    Command::sub("command", "count", Handler::Plain(count)),
    Command::sub("command", "info", Handler::Plain(info)),
    Command::sub("command", "docs", Handler::Plain(docs)),
    Command::sub("command", "list", Handler::Plain(list)),
    help_subcommand("command"),
    Command::sub(
        "command",
        "getkeysandflags",
        Handler::Plain(getkeysandflags),
    ),
];

pub const COMMANDS: &[Command] = &[Command::container(
    "command",
    Handler::Plain(command_all),
    SUBCOMMANDS,
)];

/// COMMAND HELP's text, as Redis 7.0.15's.
const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// Every top-level command Redis 7.0.15 has too (what COMMAND lists).
fn listed() -> impl Iterator<Item = &'static Command> {
    all().filter(|c| c.spec().is_some())
}

/// A command's subcommands that Redis 7.0.15 has too.
fn listed_subcommands(c: &'static Command) -> impl Iterator<Item = &'static Command> {
    c.subcommands.iter().filter(|s| s.spec().is_some())
}

/// A command by full name (`get`, `config|get`), as Redis's `lookupCommandBySds`: one
/// `|` at most, and only a listed command.
fn by_full_name(name: &[u8]) -> Option<&'static Command> {
    let found = match name.iter().position(|&b| b == b'|') {
        Some(bar) => lookup(&name[..bar]).and_then(|p| {
            let sub = &name[bar + 1..];
            if sub.contains(&b'|') {
                return None;
            }
            super::lookup_sub(p, sub)
        }),
        None => lookup(name),
    };
    found.filter(|c| c.spec().is_some())
}

/// ```text
/// COMMAND
/// ```
/// COMMAND INFO for every command.
fn command_all(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let cmds: Vec<_> = listed().collect();
    ctx.out.array(cmds.len());
    for c in cmds {
        write_info(ctx.out, c);
    }
    Ok(())
}

/// ```text
/// COMMAND COUNT
/// ```
fn count(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.int(listed().count() as i64);
    Ok(())
}

/// ```text
/// COMMAND LIST [FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]
/// ```
/// Every command name, or those of a pattern or an ACL category (a module filter
/// matches nothing: there are no modules).
fn list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    enum Filter {
        All,
        Pattern(Vec<u8>),
        Category(u32),
        Nothing,
    }
    let filter = match args.len() {
        2 => Filter::All,
        5 if super::is(&args[2], "filterby") && super::is(&args[3], "pattern") => {
            Filter::Pattern(args[4].to_vec())
        }
        5 if super::is(&args[2], "filterby") && super::is(&args[3], "aclcat") => {
            crate::acl::category_bit(&args[4]).map_or(Filter::Nothing, Filter::Category)
        }
        5 if super::is(&args[2], "filterby") && super::is(&args[3], "module") => Filter::Nothing,
        _ => return Err(super::CmdError::Syntax),
    };
    let mut names: Vec<&'static str> = Vec::new();
    // Subcommands are listed too when they match, as Redis's `commandListWithFilter`.
    for cmd in listed().flat_map(|c| std::iter::once(c).chain(listed_subcommands(c))) {
        let Some(spec) = cmd.spec() else { continue };
        let keep = match &filter {
            Filter::All => true,
            Filter::Pattern(p) => crate::util::glob::matches(p, spec.name.as_bytes(), true),
            Filter::Category(bit) => spec.categories & bit != 0,
            Filter::Nothing => false,
        };
        if keep {
            names.push(spec.name);
        }
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// ```text
/// COMMAND INFO [command-name ...]
/// ```
/// One entry per name (nil for unknown names); all commands when none is given.
fn info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() == 2 {
        return command_all(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for name in args.iter().skip(2) {
        match by_full_name(name) {
            Some(c) => write_info(ctx.out, c),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// Writes a set of the names whose bit is in `mask`, in the table's order.
fn flag_set<T: Copy + std::ops::BitAnd<Output = T> + PartialEq + Default>(
    out: &mut Reply,
    mask: T,
    names: &[(T, &str)],
) {
    let on: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| mask & *bit != T::default())
        .map(|(_, n)| *n)
        .collect();
    out.set(on.len());
    for n in on {
        out.simple(n);
    }
}

/// One COMMAND INFO entry (Redis's `addReplyCommandInfo`): name, arity, flags, first
/// key, last key, step, ACL categories, tips, key specs and subcommands.
fn write_info(out: &mut Reply, c: &'static Command) {
    let Some(spec) = c.spec() else {
        out.null();
        return;
    };
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(i64::from(spec.arity));
    flag_set(out, spec.flags, flags::NAMES);
    out.int(i64::from(spec.range.0));
    out.int(i64::from(spec.range.1));
    out.int(i64::from(spec.range.2));
    let cats = crate::acl::category_names(spec.categories);
    out.set(cats.len());
    for cat in cats {
        out.simple(&cat);
    }
    out.set(spec.tips.len());
    for tip in spec.tips {
        out.bulk(tip.as_bytes());
    }
    write_key_specs(out, spec);
    let subs: Vec<_> = listed_subcommands(c).collect();
    if c.subcommands.is_empty() {
        out.set(0);
    } else {
        out.array(subs.len());
        for s in subs {
            write_info(out, s);
        }
    }
}

/// The key specs of COMMAND INFO (Redis's `addReplyCommandKeySpecs`).
fn write_key_specs(out: &mut Reply, spec: &Spec) {
    use crate::acl::{Begin, Find};
    out.set(spec.keys.len());
    for k in spec.keys {
        out.map(3 + usize::from(k.notes.is_some()));
        if let Some(notes) = k.notes {
            out.bulk(b"notes");
            out.bulk(notes.as_bytes());
        }
        out.bulk(b"flags");
        flag_set(out, k.flags, key_flags::NAMES);
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        match k.begin {
            Begin::Index(pos) => {
                out.bulk(b"index");
                out.bulk(b"spec");
                out.map(1);
                out.bulk(b"index");
                out.int(i64::from(pos));
            }
            Begin::Keyword(word, startfrom) => {
                out.bulk(b"keyword");
                out.bulk(b"spec");
                out.map(2);
                out.bulk(b"keyword");
                out.bulk(word.as_bytes());
                out.bulk(b"startfrom");
                out.int(i64::from(startfrom));
            }
            Begin::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        let (kind, fields) = match k.find {
            Find::Range(lastkey, step, limit) => (
                "range",
                [("lastkey", lastkey), ("keystep", step), ("limit", limit)],
            ),
            Find::Keynum(idx, first, step) => (
                "keynum",
                [("keynumidx", idx), ("firstkey", first), ("keystep", step)],
            ),
            Find::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
                continue;
            }
        };
        out.bulk(kind.as_bytes());
        out.bulk(b"spec");
        out.map(3);
        for (name, value) in fields {
            out.bulk(name.as_bytes());
            out.int(i64::from(value));
        }
    }
}

/// ```text
/// COMMAND DOCS [command-name ...]
/// ```
/// A map from name to its docs (all commands when no name is given; unknown names are
/// left out).
fn docs(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cmds: Vec<&Command> = if args.len() == 2 {
        listed().collect()
    } else {
        args.iter()
            .skip(2)
            .filter_map(|n| by_full_name(n))
            .collect()
    };
    ctx.out.map(cmds.len());
    for c in cmds {
        write_doc(ctx.out, c);
    }
    Ok(())
}

/// One COMMAND DOCS entry, its name first (Redis's `addReplyCommandDocs`).
fn write_doc(out: &mut Reply, c: &'static Command) {
    let Some(spec) = c.spec() else { return };
    out.bulk(spec.name.as_bytes());
    // Summary, since and group, then what this command has.
    let fields = 3
        + usize::from(spec.complexity.is_some())
        + usize::from(spec.doc_flags != 0)
        + usize::from(spec.deprecated_since.is_some())
        + usize::from(spec.replaced_by.is_some())
        + usize::from(!spec.history.is_empty())
        + usize::from(!spec.args.is_empty())
        + usize::from(!c.subcommands.is_empty());
    out.map(fields);
    out.bulk(b"summary");
    out.bulk(spec.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(spec.since.as_bytes());
    out.bulk(b"group");
    out.bulk(spec.group.as_bytes());
    if let Some(complexity) = spec.complexity {
        out.bulk(b"complexity");
        out.bulk(complexity.as_bytes());
    }
    if spec.doc_flags != 0 {
        out.bulk(b"doc_flags");
        flag_set(
            out,
            spec.doc_flags,
            &[(DOC_DEPRECATED, "deprecated"), (DOC_SYSCMD, "syscmd")],
        );
    }
    if let Some(since) = spec.deprecated_since {
        out.bulk(b"deprecated_since");
        out.bulk(since.as_bytes());
    }
    if let Some(by) = spec.replaced_by {
        out.bulk(b"replaced_by");
        out.bulk(by.as_bytes());
    }
    if !spec.history.is_empty() {
        out.bulk(b"history");
        out.set(spec.history.len());
        for (since, change) in spec.history {
            out.array(2);
            out.bulk(since.as_bytes());
            out.bulk(change.as_bytes());
        }
    }
    if !spec.args.is_empty() {
        out.bulk(b"arguments");
        write_args(out, spec.args);
    }
    if !c.subcommands.is_empty() {
        out.bulk(b"subcommands");
        let subs: Vec<_> = listed_subcommands(c).collect();
        out.map(subs.len());
        for s in subs {
            write_doc(out, s);
        }
    }
}

/// An argument list of COMMAND DOCS (Redis's `addReplyCommandArgList`).
fn write_args(out: &mut Reply, args: &[Arg]) {
    out.array(args.len());
    for a in args {
        let nested = a.kind == ONEOF || a.kind == BLOCK;
        let fields = 2
            + usize::from(a.key_spec >= 0)
            + usize::from(a.token.is_some())
            + usize::from(a.since.is_some())
            + usize::from(a.deprecated_since.is_some())
            + usize::from(a.flags != 0)
            + usize::from(nested);
        out.map(fields);
        out.bulk(b"name");
        out.bulk(a.name.as_bytes());
        out.bulk(b"type");
        out.bulk(ARG_TYPES[usize::from(a.kind)].as_bytes());
        if a.key_spec >= 0 {
            out.bulk(b"key_spec_index");
            out.int(i64::from(a.key_spec));
        }
        if let Some(token) = a.token {
            out.bulk(b"token");
            out.bulk(token.as_bytes());
        }
        if let Some(since) = a.since {
            out.bulk(b"since");
            out.bulk(since.as_bytes());
        }
        if let Some(since) = a.deprecated_since {
            out.bulk(b"deprecated_since");
            out.bulk(since.as_bytes());
        }
        if a.flags != 0 {
            out.bulk(b"flags");
            flag_set(
                out,
                a.flags,
                &[
                    (ARG_OPTIONAL, "optional"),
                    (ARG_MULTIPLE, "multiple"),
                    (ARG_MULTIPLE_TOKEN, "multiple_token"),
                ],
            );
        }
        if nested {
            out.bulk(b"arguments");
            write_args(out, a.args);
        }
    }
}

/// The HELP subcommand of the container `parent`.
pub const fn help_subcommand(parent: &'static str) -> Command {
    Command::sub(parent, "help", Handler::Plain(help))
}

/// The HELP reply of a container command: Redis's text for it.
pub fn help(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = lookup(&args[0]).map_or("", |c| c.name);
    let lines = match name {
        "slowlog" => super::introspect::SLOWLOG_HELP,
        "latency" => super::introspect::LATENCY_HELP,
        "module" => super::admin::MODULE_HELP,
        "client" => super::client::CLIENT_HELP,
        "config" => super::config::CONFIG_HELP,
        "command" => COMMAND_HELP,
        other => super::scripting::help_text(other).unwrap_or(&[]),
    };
    super::reply_lines(ctx.out, lines);
    Ok(())
}

/// ```text
/// COMMAND GETKEYS command [arg ...]
/// ```
/// The keys the given request would touch, found as Redis finds them: from the
/// command's key specs, or its own rules where the specs cannot say (SORT, SET...).
fn getkeys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (request, keys) = request_keys(args)?;
    ctx.out.array(keys.len());
    for (pos, _) in keys {
        ctx.out.bulk(&request[pos]);
    }
    Ok(())
}

/// ```text
/// COMMAND GETKEYSANDFLAGS command [arg ...]
/// ```
/// As GETKEYS, each key with its key spec flags (`RW`, `access`, ...).
fn getkeysandflags(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (request, keys) = request_keys(args)?;
    ctx.out.array(keys.len());
    for (pos, flags) in keys {
        ctx.out.array(2);
        ctx.out.bulk(&request[pos]);
        flag_set(ctx.out, flags, key_flags::NAMES);
    }
    Ok(())
}

/// The request GETKEYS and GETKEYSANDFLAGS are asked about, and its keys with their
/// flags, with Redis's `getKeysSubcommandImpl` errors.
fn request_keys(args: &Args) -> Result<(Args, Vec<(usize, u16)>), super::CmdError> {
    let request = Args::from_slices(&args.iter().skip(2).collect::<Vec<_>>());
    let invalid = || super::CmdError::err("Invalid command specified");
    let top = lookup(&request[0]).ok_or_else(invalid)?;
    let cmd = match (top.subcommands.is_empty(), request.len() > 1) {
        (false, true) => super::lookup_sub(top, &request[1]).ok_or_else(invalid)?,
        _ => top,
    };
    // A command Redis 7.0.15 lacks is unknown to it.
    let id = cmd.spec().map(|_| cmd.id).ok_or_else(invalid)?;
    if !crate::acl::check::has_keys(id) {
        return Err(super::CmdError::err("The command has no key arguments"));
    }
    let argc = request.len() as i32;
    if (cmd.arity > 0 && argc != cmd.arity) || argc < -cmd.arity {
        return Err(super::CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys = crate::acl::check::keys_of(id, &request);
    if keys.is_empty() && cmd.flags & flags::NO_MANDATORY_KEYS == 0 {
        return Err(super::CmdError::err(
            "Invalid arguments specified for command",
        ));
    }
    Ok((request, keys))
}
