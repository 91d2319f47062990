//! CONFIG (Redis's config.c commands): GET, SET, RESETSTAT; the parameters themselves
//! are in [`crate::config`].

use std::sync::atomic::Ordering;

use super::docs::help_subcommand;
use super::{CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;

pub const COMMANDS: &[Command] = &[Command::container("config", Handler::Container, CONFIG)];

const CONFIG: &[Command] = &[
    Command::sub("config", "get", Handler::Plain(config_get)),
    Command::sub("config", "set", Handler::Plain(config_set)),
    Command::sub("config", "resetstat", Handler::Plain(config_resetstat)),
    Command::sub("config", "rewrite", Handler::Plain(config_rewrite)),
    help_subcommand("config"),
];

/// CONFIG HELP's text, as Redis 7.0.15's.
pub const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

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
    // A new OOM score is written at once, or the whole call is rolled back (Redis's
    // `updateOOMScoreAdj`).
    if config.oom_score_adj() != before.oom_score_adj() {
        let name = if config.oom_score_adj().0 != before.oom_score_adj().0 {
            "oom-score-adj"
        } else {
            "oom-score-adj-values"
        };
        drop(config);
        let applied = server.apply_oom_score();
        config = server.config_mut();
        if !applied {
            *config = before;
            drop(config);
            server.apply_oom_score();
            return Err(CmdError::err(format!(
                "CONFIG SET failed (possibly related to argument '{name}') - Failed to set current oom_score_adj. Check server logs."
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
        &s.unexpected_error_replies,
        &ctx.server.clients.reply_buffers.shrinks,
        &ctx.server.clients.reply_buffers.expands,
    ] {
        counter.store(0, Ordering::Relaxed);
    }
    ctx.server.store.write().reset_stats();
    ctx.server.memory.reset_stats();
    crate::lazyfree::reset_stats();
    ctx.server.calls.merge(&mut ctx.client.calls);
    ctx.server.calls.reset();
    ctx.out.ok();
    Ok(())
}
