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

/// LATENCY DOCTOR's report (Redis's `createLatencyReport`): each event's figures with
/// the advice its kind calls for, and the check for transparent huge pages.
fn doctor(ctx: &Ctx) -> String {
    let server = ctx.server;
    let monitor = &server.latency;
    let events = monitor.events();
    if events.is_empty() && monitor.threshold() == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
    }
    let (slower_than, always_fsync) = {
        let config = server.config();
        (
            config.int("slowlog-log-slower-than"),
            config.value("appendfsync").as_deref() == Some(&b"always"[..]),
        )
    };
    let threshold = monitor.threshold();
    let mut advise = Advice::default();
    let now = crate::util::now_ms() / 1000;
    let mut report = String::new();
    for (i, (name, ts)) in events.iter().enumerate() {
        if i == 0 {
            report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let samples = ts.samples();
        let n = samples.len().max(1) as u64;
        let avg = samples.iter().map(|s| s.1).sum::<u64>() / n;
        let mad = samples.iter().map(|s| s.1.abs_diff(avg)).sum::<u64>() / n;
        let oldest = samples.iter().map(|s| s.0).min().unwrap_or(now);
        let period = now.saturating_sub(oldest).max(1);
        report.push_str(&format!(
            "{}. {name}: {} latency spikes (average {avg}ms, mean deviation {mad}ms, period {:.2} sec). Worst all time event {}ms.",
            i + 1,
            samples.len(),
            period as f64 / n as f64,
            ts.max
        ));
        advise.event(name, slower_than, threshold);
        report.push('\n');
    }
    if anon_huge_pages() > 0 {
        advise.disable_thp = true;
        advise.count += 1;
    }
    if events.is_empty() && advise.count == 0 {
        report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
    } else if !events.is_empty() && advise.count == 0 {
        report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
    } else {
        let hz = server.hz.load(std::sync::atomic::Ordering::Relaxed);
        advise.write(&mut report, threshold, always_fsync, hz);
    }
    report
}

/// What LATENCY DOCTOR advises, from the kinds of events seen (Redis's `advise_*`
/// flags), and how many advices there are.
#[derive(Default)]
struct Advice {
    count: usize,
    slowlog_enabled: bool,
    slowlog_tuning: bool,
    slowlog_inspect: bool,
    scheduler: bool,
    local_disk: bool,
    ssd: bool,
    data_writeback: bool,
    disk_contention: bool,
    no_appendfsync: bool,
    relax_fsync_policy: bool,
    write_load_info: bool,
    hz: bool,
    large_objects: bool,
    mass_eviction: bool,
    disable_thp: bool,
}

impl Advice {
    /// The advice one event calls for (redlite never forks, so never `fork`'s).
    fn event(&mut self, name: &str, slower_than: i64, threshold: u64) {
        let mut add = |flags: &mut [&mut bool]| {
            for f in flags.iter_mut() {
                **f = true;
            }
            self.count += flags.len();
        };
        match name {
            "command" => {
                if slower_than < 0 {
                    add(&mut [&mut self.slowlog_enabled]);
                } else if (slower_than / 1000) as u64 > threshold {
                    add(&mut [&mut self.slowlog_tuning]);
                }
                add(&mut [&mut self.slowlog_inspect, &mut self.large_objects]);
            }
            "fast-command" => add(&mut [&mut self.scheduler]),
            "aof-write-pending-fsync" => add(&mut [
                &mut self.local_disk,
                &mut self.disk_contention,
                &mut self.ssd,
                &mut self.data_writeback,
            ]),
            "aof-write-active-child" => add(&mut [
                &mut self.no_appendfsync,
                &mut self.data_writeback,
                &mut self.ssd,
            ]),
            "aof-write-alone" => add(&mut [
                &mut self.local_disk,
                &mut self.data_writeback,
                &mut self.ssd,
            ]),
            "aof-fsync-always" => add(&mut [&mut self.relax_fsync_policy]),
            "aof-fstat" | "rdb-unlink-temp-file" => {
                add(&mut [&mut self.disk_contention, &mut self.local_disk])
            }
            "aof-rewrite-diff-write" | "aof-rename" => add(&mut [
                &mut self.write_load_info,
                &mut self.data_writeback,
                &mut self.ssd,
                &mut self.local_disk,
            ]),
            "expire-cycle" => add(&mut [&mut self.hz, &mut self.large_objects]),
            "eviction-del" => add(&mut [&mut self.large_objects]),
            "eviction-cycle" => add(&mut [&mut self.mass_eviction]),
            _ => {}
        }
    }

    /// The advices, in Redis's order and words.
    fn write(&self, report: &mut String, threshold: u64, always_fsync: bool, hz: u32) {
        report.push_str("\nI have a few advices for you:\n\n");
        if self.slowlog_enabled {
            report.push_str(&format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n", threshold * 1000));
        }
        if self.slowlog_tuning {
            report.push_str(&format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {}'.\n", threshold * 1000));
        }
        if self.slowlog_inspect {
            report.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        }
        if self.scheduler {
            report.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
        }
        if self.local_disk {
            report.push_str("- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n");
        }
        if self.ssd {
            report.push_str("- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n");
        }
        if self.data_writeback {
            report.push_str("- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n");
        }
        if self.disk_contention {
            report.push_str("- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n");
        }
        if self.no_appendfsync {
            report.push_str("- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n");
        }
        if self.relax_fsync_policy && always_fsync {
            report.push_str("- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n");
        }
        if self.write_load_info {
            report.push_str("- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n");
        }
        if self.hz && hz < 100 {
            report.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
        }
        if self.large_objects {
            report.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        }
        if self.mass_eviction {
            report.push_str("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
        }
        if self.disable_thp {
            report.push_str("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
        }
    }
}

/// The process's anonymous huge pages, in kB (the `AnonHugePages:` lines of
/// /proc/self/smaps, as Redis's `THPGetAnonHugePagesSize` sums them).
fn anon_huge_pages() -> u64 {
    std::fs::read_to_string("/proc/self/smaps")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("AnonHugePages:"))
        .filter_map(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .sum()
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
