//! What operators ask a running server about its calls: SLOWLOG (Redis's `slowlog.c`),
//! LATENCY (`latency.c`) and MONITOR (`server.c`). The data behind them is kept by
//! [`crate::calls`] and [`crate::latency`] as the dispatcher reports each call.

use super::docs::help_subcommand;
use super::{int_arg, subcommand_syntax, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;

const SLOWLOG: &[Command] = &[
    Command::sub("slowlog", "get", Handler::Plain(slowlog_get)),
    Command::sub("slowlog", "len", Handler::Plain(slowlog_len)),
    Command::sub("slowlog", "reset", Handler::Plain(slowlog_reset)),
    help_subcommand("slowlog"),
];

const LATENCY: &[Command] = &[
    Command::sub("latency", "doctor", Handler::Plain(latency)),
    Command::sub("latency", "graph", Handler::Plain(latency)),
    Command::sub("latency", "histogram", Handler::Plain(latency)),
    Command::sub("latency", "history", Handler::Plain(latency)),
    Command::sub("latency", "latest", Handler::Plain(latency)),
    Command::sub("latency", "reset", Handler::Plain(latency)),
    help_subcommand("latency"),
];

pub const COMMANDS: &[Command] = &[
    Command::container("slowlog", Handler::Container, SLOWLOG),
    Command::container("latency", Handler::Container, LATENCY),
    Command::new("monitor", Handler::Plain(monitor)),
];

/// SLOWLOG HELP's text.
pub const SLOWLOG_HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

/// LATENCY HELP's text.
pub const LATENCY_HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
];

/// ```text
/// SLOWLOG GET [count]
/// ```
/// The newest `count` entries (10 by default, all for -1): id, Unix time, µs, the
/// arguments, the client's address and name.
fn slowlog_get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(subcommand_syntax(args));
    }
    let count = match (args.len() == 3).then(|| &args[2]) {
        None => Some(10),
        Some(a) => match int_arg(a) {
            Ok(-1) => None,
            Ok(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::err("count should be greater than or equal to -1")),
        },
    };
    // This connection's slow calls so far are in the log, as they would be in Redis.
    ctx.server.calls.merge(&mut ctx.client.calls);
    let entries = ctx.server.calls.with_slowlog(|log| log.newest(count));
    ctx.out.array(entries.len());
    for e in entries {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time as i64);
        ctx.out.int(e.duration_us as i64);
        ctx.out.array(e.args.len());
        for a in &e.args {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(e.peer.as_bytes());
        ctx.out.bulk(&e.name);
    }
    Ok(())
}

/// ```text
/// SLOWLOG LEN
/// ```
fn slowlog_len(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.server.calls.merge(&mut ctx.client.calls);
    let n = ctx.server.calls.with_slowlog(|log| log.len());
    ctx.out.int(n as i64);
    Ok(())
}

/// ```text
/// SLOWLOG RESET
/// ```
fn slowlog_reset(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.server.calls.merge(&mut ctx.client.calls);
    ctx.server.calls.with_slowlog(|log| log.reset());
    ctx.out.ok();
    Ok(())
}

/// ```text
/// LATENCY DOCTOR | GRAPH event | HISTOGRAM [command ...] | HISTORY event | LATEST |
///         RESET [event ...]
/// ```
/// One handler, as Redis's `latencyCommand`: its replies are all small.
fn latency(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let monitor = &ctx.server.latency;
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"history" => {
            let samples = monitor.event(&args[2]).map(|ts| ts.samples());
            let samples = samples.unwrap_or_default();
            ctx.out.array(samples.len());
            for (time, ms) in samples {
                ctx.out.array(2);
                ctx.out.int(time as i64);
                ctx.out.int(ms as i64);
            }
        }
        b"latest" => {
            let events = monitor.events();
            ctx.out.array(events.len());
            for (name, ts) in events {
                let (time, ms) = ts.latest();
                ctx.out.array(4);
                ctx.out.bulk(name.as_bytes());
                ctx.out.int(time as i64);
                ctx.out.int(ms as i64);
                ctx.out.int(ts.max as i64);
            }
        }
        b"graph" => {
            let Some(ts) = monitor.event(&args[2]) else {
                return Err(CmdError::err(format!(
                    "No samples available for event '{}'",
                    String::from_utf8_lossy(crate::util::c_str(&args[2]))
                )));
            };
            let name = String::from_utf8_lossy(&args[2]);
            let text = crate::latency::graph(&name, &ts, crate::util::now_ms() / 1000);
            ctx.out.verbatim("txt", text.as_bytes());
        }
        b"doctor" => {
            let text = doctor(ctx);
            ctx.out.verbatim("txt", text.as_bytes());
        }
        b"reset" => {
            let n = if args.len() == 2 {
                monitor.reset(None)
            } else {
                args.iter().skip(2).map(|e| monitor.reset(Some(e))).sum()
            };
            ctx.out.int(n as i64);
        }
        _ => histogram(ctx, args),
    }
    Ok(())
}

/// LATENCY HISTOGRAM: for each command named (all with data when none is), its calls
/// and cumulative latency distribution in µs; unknown names are skipped.
fn histogram(ctx: &mut Ctx, args: &Args) {
    ctx.server.calls.merge(&mut ctx.client.calls);
    let ids: Option<Vec<usize>> = (args.len() > 2).then(|| {
        args.iter()
            .skip(2)
            .filter_map(|name| full_command(name))
            .map(super::command_id)
            .collect()
    });
    let data = ctx
        .server
        .calls
        .histograms(super::command_name, ids.as_deref());
    ctx.out.map(data.len());
    for (name, calls, points) in data {
        ctx.out.bulk(name.as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(calls as i64);
        ctx.out.bulk(b"histogram_usec");
        ctx.out.map(points.len());
        for (us, count) in points {
            ctx.out.int(us as i64);
            ctx.out.int(count as i64);
        }
    }
}

/// A command by its full name (`get`, `config|get`), as `lookupCommandBySds` finds it.
fn full_command(name: &[u8]) -> Option<&'static Command> {
    let mut parts = name.split(|&b| b == b'|');
    let top = super::lookup(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(top),
        (Some(sub), None) => super::lookup_sub(top, sub),
        _ => None,
    }
}

/// LATENCY DOCTOR's report (Redis's `createLatencyReport`): the canned answers when the
/// monitor is off or saw nothing, else each event's figures.
fn doctor(ctx: &Ctx) -> String {
    let monitor = &ctx.server.latency;
    let events = monitor.events();
    if events.is_empty() && monitor.threshold() == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
    }
    if events.is_empty() {
        return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".into();
    }
    let now = crate::util::now_ms() / 1000;
    let mut report = "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n".to_string();
    for (i, (name, ts)) in events.iter().enumerate() {
        let samples = ts.samples();
        let avg = samples.iter().map(|s| s.1).sum::<u64>() / samples.len().max(1) as u64;
        let mad =
            samples.iter().map(|s| s.1.abs_diff(avg)).sum::<u64>() / samples.len().max(1) as u64;
        let period = match (samples.first(), samples.last()) {
            (Some(first), Some(_)) if samples.len() > 1 => {
                now.saturating_sub(first.0) / samples.len() as u64
            }
            _ => 0,
        };
        report.push_str(&format!(
            "{}. {name}: {} latency spikes (average {avg}ms, mean deviation {mad}ms, period {period} sec). Worst all time event {}ms.\n",
            i + 1,
            samples.len(),
            ts.max
        ));
    }
    report.push_str("\nI have a few advices for you:\n\n- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    report
}

/// ```text
/// MONITOR
/// ```
/// From now on the client gets a line for every call the server runs (Redis's
/// `monitorCommand`). Refused inside a transaction; a second MONITOR is ignored
/// without a reply, as in Redis.
fn monitor(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.client.in_exec {
        return Err(CmdError::err(
            "MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    let handle = std::sync::Arc::clone(&ctx.client.handle);
    if handle.info().monitor {
        return Ok(());
    }
    // The +OK leaves before any line another client's call could queue.
    handle.start_writer();
    ctx.out.ok();
    let _ = handle.send(ctx.out.as_bytes());
    ctx.out.clear();
    handle.info().monitor = true;
    ctx.server.calls.add_monitor(&handle);
    Ok(())
}

/// RESET's part: the client leaves MONITOR mode.
pub fn stop_monitoring(ctx: &mut Ctx) {
    let handle = &ctx.client.handle;
    let was = std::mem::take(&mut handle.info().monitor);
    if was {
        ctx.server.calls.remove_monitor(handle.id);
    }
}
