//! What a standalone server with no replicas and no modules answers about itself: ROLE
//! (Redis's `replication.c`), MODULE (`module.c`: redlite loads no modules, so the list
//! is empty and loading is refused) and LOLWUT (`lolwut.c`).

use super::docs::{doc, help_subcommand};
use super::flags::*;
use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;

/// A MODULE subcommand that would load or unload code: always refused, as Redis refuses
/// it while `enable-module-command` is `no` (the only value redlite accepts).
const fn module_change(
    name: &'static str,
    arity: i32,
    summary: &'static str,
    args: &'static str,
) -> Command {
    Command::new(
        name,
        arity,
        ADMIN | NOSCRIPT,
        (0, 0, 0),
        Handler::Plain(module_refused),
        doc("server", "4.0.0", summary, args),
    )
}

const MODULE: &[Command] = &[
    Command::new(
        "list",
        2,
        ADMIN | NOSCRIPT,
        (0, 0, 0),
        Handler::Plain(module_list),
        doc(
            "server",
            "4.0.0",
            "List all modules loaded by the server",
            "",
        ),
    ),
    module_change("load", -3, "Load a module", "path [arg [arg ...]]"),
    module_change(
        "loadex",
        -3,
        "Load a module with extended parameters",
        "path [CONFIG name value [CONFIG name value ...]] [ARGS args [args ...]]",
    ),
    module_change("unload", 3, "Unload a module", "name"),
    help_subcommand("server"),
];

pub const COMMANDS: &[Command] = &[
    Command::new(
        "role",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        (0, 0, 0),
        Handler::Plain(role),
        doc(
            "server",
            "2.8.12",
            "Return the role of the instance in the context of replication",
            "",
        ),
    ),
    Command::container(
        "module",
        -2,
        Handler::Container,
        MODULE,
        doc("server", "4.0.0", "A container for module commands", ""),
    ),
    Command::new(
        "lolwut",
        -1,
        READONLY | FAST,
        (0, 0, 0),
        Handler::Plain(lolwut),
        doc(
            "server",
            "5.0.0",
            "Display some computer art and the Redis version",
            "[VERSION version]",
        ),
    ),
];

/// MODULE HELP's text.
pub const MODULE_HELP: &[&str] = &[
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
    "HELP",
    "    Prints this help.",
];

/// ```text
/// ROLE
/// ```
/// A master: `master`, its replication offset, and its online replicas (address, port,
/// acknowledged offset). A replica: `slave`, its master's address and port, the link's
/// state and its offset.
fn role(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.server.repl.role(ctx.out);
    Ok(())
}

/// ```text
/// MODULE LIST
/// ```
fn module_list(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.array(0);
    Ok(())
}

/// MODULE LOAD, LOADEX and UNLOAD.
fn module_refused(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    Err(CmdError::err(
        "MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
    ))
}

/// ```text
/// LOLWUT [VERSION version]
/// ```
/// The version line Redis shows for versions without their own art (7.0's own is
/// one of them). The art of versions 5 and 6 is not drawn: the same line answers.
fn lolwut(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() >= 3 && is(&args[1], "version") {
        int_arg(&args[2])?;
    }
    let text = format!("Redis ver. {}\n", crate::state::REDIS_VERSION);
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}
