//! COMMAND and the documentation it serves.
//!
//! COMMAND DOCS is what redis-cli 7 reads at startup to build its help and its hints.
//! Each entry carries Redis's summary, `since` and group; the arguments are given as one
//! argument whose name is the whole synopsis (`key value [NX|XX] ...`), which is what
//! redis-cli prints as the hint. Redis's full argument trees are not reproduced.

use super::flags::{self, *};
use super::{all, lookup, CmdResult, Command, Ctx, Handler};
use crate::resp::{Args, Reply};

/// A command's documentation.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    /// The argument synopsis, without the command name.
    pub args: &'static str,
}

/// Builds a [`Doc`] (short, so the tables stay readable).
pub const fn doc(
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    args: &'static str,
) -> Doc {
    Doc {
        group,
        since,
        summary,
        args,
    }
}

const SUBCOMMANDS: &[Command] = &[
    Command::new(
        "getkeys",
        -4,
        LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(getkeys),
        doc(
            "server",
            "2.8.13",
            "Extract keys given a full Redis command",
            "command [arg [arg ...]]",
        ),
    ),
    Command::new(
        "count",
        2,
        LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(count),
        doc("server", "2.8.13", "Returns a count of commands.", ""),
    ),
    Command::new(
        "info",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(info),
        doc(
            "server",
            "2.8.13",
            "Returns information about one, multiple or all commands.",
            "[command-name [command-name ...]]",
        ),
    ),
    Command::new(
        "docs",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(docs),
        doc(
            "server",
            "7.0.0",
            "Returns documentary information about one, multiple or all commands.",
            "[command-name [command-name ...]]",
        ),
    ),
    Command::new(
        "list",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(list),
        doc(
            "server",
            "7.0.0",
            "Returns a list of command names.",
            "[FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]",
        ),
    ),
    help_subcommand("server"),
];

pub const COMMANDS: &[Command] = &[Command::container(
    "command",
    -1,
    Handler::Plain(command_all),
    SUBCOMMANDS,
    doc(
        "server",
        "2.8.13",
        "Returns detailed information about all commands.",
        "",
    ),
)];

/// ```text
/// COMMAND
/// ```
/// COMMAND INFO for every command.
fn command_all(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let cmds: Vec<_> = all().collect();
    ctx.out.array(cmds.len());
    for c in cmds {
        write_info(ctx.out, c, None);
    }
    Ok(())
}

/// ```text
/// COMMAND COUNT
/// ```
fn count(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.int(all().count() as i64);
    Ok(())
}

/// ```text
/// COMMAND LIST [FILTERBY ...]
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
    let mut names: Vec<String> = Vec::new();
    for c in all() {
        // Subcommands are listed too when they match, as Redis's `commandListWithFilter`.
        let entries = std::iter::once((c, c.name.to_string())).chain(
            c.subcommands
                .iter()
                .map(move |s| (s, format!("{}|{}", c.name, s.name))),
        );
        for (cmd, name) in entries {
            let keep = match &filter {
                Filter::All => true,
                Filter::Pattern(p) => crate::util::glob::matches(p, name.as_bytes(), true),
                Filter::Category(bit) => crate::acl::id_of(cmd)
                    .is_some_and(|id| crate::acl::catalog::SPECS[id].categories & bit != 0),
                Filter::Nothing => false,
            };
            if keep {
                names.push(name);
            }
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
        // `container|sub` names a subcommand, as Redis's `lookupCommandBySds`.
        let found = match name.iter().position(|&b| b == b'|') {
            Some(bar) => lookup(&name[..bar])
                .and_then(|p| super::lookup_sub(p, &name[bar + 1..]).map(|s| (s, Some(p.name)))),
            None => lookup(name).map(|c| (c, None)),
        };
        match found {
            Some((c, parent)) => write_info(ctx.out, c, parent),
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// One COMMAND INFO entry: name, arity, flags, first key, last key, step, ACL
/// categories, tips, key specs and subcommands, in Redis 7's order.
fn write_info(out: &mut Reply, c: &'static Command, parent: Option<&str>) {
    let name = match parent {
        Some(p) => format!("{p}|{}", c.name),
        None => c.name.to_string(),
    };
    out.array(10);
    out.bulk(name.as_bytes());
    out.int(i64::from(c.arity));
    let names: Vec<&str> = flags::NAMES
        .iter()
        .filter(|(bit, _)| c.flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    out.set(names.len());
    for n in names {
        out.simple(n);
    }
    out.int(i64::from(c.keys.0));
    out.int(i64::from(c.keys.1));
    out.int(i64::from(c.keys.2));
    let cats = acl_categories(c);
    out.set(cats.len());
    for cat in cats {
        out.simple(&cat);
    }
    out.set(0);
    out.array(0);
    out.array(c.subcommands.len());
    for s in c.subcommands {
        write_info(out, s, Some(c.name));
    }
}

/// A command's ACL categories, exactly Redis 7.0.15's (from [`crate::acl::catalog`]).
fn acl_categories(c: &'static Command) -> Vec<String> {
    crate::acl::id_of(c).map_or_else(Vec::new, |id| {
        crate::acl::category_names(crate::acl::catalog::SPECS[id].categories)
    })
}

/// ```text
/// COMMAND DOCS [command-name ...]
/// ```
/// A map from name to its docs (all commands when no name is given).
fn docs(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cmds: Vec<&Command> = if args.len() == 2 {
        all().collect()
    } else {
        args.iter().skip(2).filter_map(lookup).collect()
    };
    ctx.out.map(cmds.len());
    for c in cmds {
        ctx.out.bulk(c.name.as_bytes());
        write_doc(ctx.out, c, None);
    }
    Ok(())
}

fn write_doc(out: &mut Reply, c: &Command, parent: Option<&str>) {
    let fields = 3 + usize::from(!c.doc.args.is_empty()) + usize::from(!c.subcommands.is_empty());
    out.map(fields);
    out.bulk(b"summary");
    out.bulk(c.doc.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(c.doc.since.as_bytes());
    out.bulk(b"group");
    out.bulk(c.doc.group.as_bytes());
    if !c.doc.args.is_empty() {
        out.bulk(b"arguments");
        out.array(1);
        out.map(2);
        out.bulk(b"name");
        out.bulk(c.doc.args.as_bytes());
        out.bulk(b"type");
        out.bulk(b"string");
    }
    if !c.subcommands.is_empty() {
        out.bulk(b"subcommands");
        out.map(c.subcommands.len());
        for s in c.subcommands {
            out.bulk(format!("{}|{}", parent.unwrap_or(c.name), s.name).as_bytes());
            write_doc(out, s, Some(c.name));
        }
    }
}

/// The HELP subcommand every container command has.
pub const fn help_subcommand(group: &'static str) -> Command {
    Command::new(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        Handler::Plain(help),
        doc(
            group,
            "5.0.0",
            "Returns helpful text about the different subcommands.",
            "",
        ),
    )
}

/// The HELP reply every container command gives: its subcommands and their synopses.
pub fn help(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(parent) = lookup(&args[0]) else {
        ctx.out.array(0);
        return Ok(());
    };
    let text = match parent.name {
        "slowlog" => Some(super::introspect::SLOWLOG_HELP),
        "latency" => Some(super::introspect::LATENCY_HELP),
        "module" => Some(super::admin::MODULE_HELP),
        other => super::scripting::help_text(other),
    };
    if let Some(lines) = text {
        super::reply_lines(ctx.out, lines);
        return Ok(());
    }
    let upper = parent.name.to_ascii_uppercase();
    let mut lines = vec![format!(
        "{upper} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    )];
    for s in parent.subcommands {
        lines.push(
            format!("{} {}", s.name.to_ascii_uppercase(), s.doc.args)
                .trim_end()
                .to_string(),
        );
        lines.push(format!("    {}", s.doc.summary));
    }
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.simple(&l);
    }
    Ok(())
}

/// ```text
/// COMMAND GETKEYS command [arg ...]
/// ```
/// The keys the given request would touch, found as Redis finds them: from the
/// command's key specs, or its own rules where the specs cannot say (SORT, SET...).
fn getkeys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let request = Args::from_slices(&args.iter().skip(2).collect::<Vec<_>>());
    let Some(top) = lookup(&request[0]) else {
        return Err(super::CmdError::err("Invalid command specified"));
    };
    let cmd = match (top.subcommands.is_empty(), request.len() > 1) {
        (false, true) => match super::lookup_sub(top, &request[1]) {
            Some(sub) => sub,
            None => return Err(super::CmdError::err("Invalid command specified")),
        },
        _ => top,
    };
    let id = crate::acl::id_of(cmd);
    let has_keys = id.is_some_and(|id| {
        crate::acl::catalog::SPECS[id]
            .keys
            .iter()
            .any(|k| k.flags & crate::acl::key_flags::NOT_KEY == 0)
    });
    let Some(id) = id.filter(|_| has_keys) else {
        return Err(super::CmdError::err("The command has no key arguments"));
    };
    let argc = request.len() as i32;
    if (cmd.arity > 0 && argc != cmd.arity) || argc < -cmd.arity {
        return Err(super::CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys = crate::acl::check::keys_of(id, &request);
    if keys.is_empty() && cmd.flags & NO_MANDATORY_KEYS == 0 {
        return Err(super::CmdError::err(
            "Invalid arguments specified for command",
        ));
    }
    ctx.out.array(keys.len());
    for (pos, _) in keys {
        ctx.out.bulk(&request[pos]);
    }
    Ok(())
}
