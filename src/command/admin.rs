//! What a standalone server with no replicas and no modules answers about itself: ROLE
//! (Redis's `replication.c`), MODULE (`module.c`: redlite loads no modules, so the list
//! is empty and loading is refused), and the cluster commands
//! (`cluster.c`), which answer as Redis does with `cluster-enabled no`.

use super::docs::help_subcommand;
use super::{CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;

const MODULE: &[Command] = &[
    Command::sub("module", "list", Handler::Plain(module_list)),
    // Loading or unloading code is always refused, as Redis refuses it while
    // `enable-module-command` is `no` (the only value redlite accepts).
    Command::sub("module", "load", Handler::Plain(module_refused)),
    Command::sub("module", "loadex", Handler::Plain(module_refused)),
    Command::sub("module", "unload", Handler::Plain(module_refused)),
    help_subcommand("module"),
];

/// Every CLUSTER subcommand, HELP included, is refused alike.
const CLUSTER: &[Command] = &[
    Command::sub("cluster", "addslots", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "addslotsrange", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "bumpepoch", Handler::Plain(cluster_disabled)),
    Command::sub(
        "cluster",
        "count-failure-reports",
        Handler::Plain(cluster_disabled),
    ),
    Command::sub(
        "cluster",
        "countkeysinslot",
        Handler::Plain(cluster_disabled),
    ),
    Command::sub("cluster", "delslots", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "delslotsrange", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "failover", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "flushslots", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "forget", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "getkeysinslot", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "help", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "info", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "keyslot", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "links", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "meet", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "myid", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "nodes", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "replicas", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "replicate", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "reset", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "saveconfig", Handler::Plain(cluster_disabled)),
    Command::sub(
        "cluster",
        "set-config-epoch",
        Handler::Plain(cluster_disabled),
    ),
    Command::sub("cluster", "setslot", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "shards", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "slaves", Handler::Plain(cluster_disabled)),
    Command::sub("cluster", "slots", Handler::Plain(cluster_disabled)),
];

pub const COMMANDS: &[Command] = &[
    Command::new("role", Handler::Plain(role)),
    Command::container("module", Handler::Container, MODULE),
    Command::new("lolwut", Handler::Plain(super::lolwut::lolwut)),
    Command::container("cluster", Handler::Container, CLUSTER),
    Command::new("readonly", Handler::Plain(cluster_disabled)),
    Command::new("readwrite", Handler::Plain(cluster_disabled)),
    Command::new("asking", Handler::Plain(cluster_disabled)),
];

/// ```text
/// CLUSTER <subcommand> [arg ...]
/// READONLY
/// READWRITE
/// ASKING
/// ```
/// A server without cluster support answers every one with the same error (Redis's
/// `clusterCommand`, `readonlyCommand`, `readwriteCommand` and `askingCommand` when
/// `cluster_enabled` is off); arity and unknown subcommands are refused before, as
/// there.
fn cluster_disabled(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    Err(CmdError::err("This instance has cluster support disabled"))
}

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
