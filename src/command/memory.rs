//! MEMORY (Redis's `memoryCommand` in object.c): USAGE, STATS, DOCTOR, MALLOC-STATS,
//! PURGE and HELP, over the memory account (see [`crate::memory`] and
//! [`crate::store::memory`]).
//!
//! Where Redis asks its allocator (jemalloc's figures in STATS, MALLOC-STATS, PURGE),
//! redlite answers as Redis built with libc malloc does: the allocator's figures are the
//! account's, MALLOC-STATS says it is not supported, and PURGE has nothing to do.

use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::memory::Report;
use crate::resp::Args;
use crate::store::memory::entry_bytes;
use crate::store::Keyspace;

#[rustfmt::skip]
pub const COMMANDS: &[Command] = &[
    Command::container("memory", Handler::Container, MEMORY),
];

#[rustfmt::skip]
const MEMORY: &[Command] = &[
    Command::sub("memory", "doctor", Handler::Plain(doctor)),
    Command::sub("memory", "help", Handler::Plain(help)),
    Command::sub("memory", "malloc-stats", Handler::Plain(malloc_stats)),
    Command::sub("memory", "purge", Handler::Plain(purge)),
    Command::sub("memory", "stats", Handler::Plain(stats)),
    Command::sub("memory", "usage", Handler::Read(usage)),
];

/// Redis's `OBJ_COMPUTE_SIZE_DEF_SAMPLES`.
const DEFAULT_SAMPLES: usize = 5;

/// ```text
/// MEMORY USAGE key [SAMPLES count]
/// ```
/// The bytes the key and its value take, nested elements estimated from `count` of them
/// (5 by default, 0 for all); nil without key.
fn usage(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let mut samples = DEFAULT_SAMPLES;
    let mut j = 3;
    while j < args.len() {
        if is(&args[j], "samples") && j + 1 < args.len() {
            let n = int_arg(&args[j + 1])?;
            if n < 0 {
                return Err(CmdError::Syntax);
            }
            samples = if n == 0 { usize::MAX } else { n as usize };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    // Redis finds the key in the table directly: no expiry check (an expired key not
    // yet removed is measured), and no keyspace hit or miss.
    match ks.db(ctx.client.db).get_quietly(&args[2], 0) {
        None => ctx.out.null(),
        // The table's bucket slot is the key's share of the bucket array.
        Some(e) => ctx.out.int((entry_bytes(e, samples) + 8) as i64),
    }
    Ok(())
}

/// ```text
/// MEMORY STATS
/// ```
/// A map of the account's parts, with Redis's field names and order.
fn stats(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let r = Report::now(ctx.server);
    let out = &mut *ctx.out;
    let aof = ctx.server.aof.buffered() as i64;
    let (used, rss) = (r.used as i64, r.rss as i64);
    out.map(27 + r.dbs.len());
    let int = |out: &mut crate::resp::Reply, name: &str, v: i64| {
        out.bulk(name.as_bytes());
        out.int(v);
    };
    int(out, "peak.allocated", r.peak as i64);
    int(out, "total.allocated", used);
    int(out, "startup.allocated", r.startup as i64);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", r.clients as i64);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", aof);
    int(out, "lua.caches", r.scripts as i64);
    int(out, "functions.caches", 0);
    for &(db, _, _, table, expires) in &r.dbs {
        out.bulk(format!("db.{db}").as_bytes());
        out.map(3);
        int(out, "overhead.hashtable.main", table as i64);
        int(out, "overhead.hashtable.expires", expires as i64);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", r.overhead as i64);
    int(out, "keys.count", r.keys as i64);
    let net = r.used.saturating_sub(r.startup);
    int(
        out,
        "keys.bytes-per-key",
        net.checked_div(r.keys).unwrap_or(0) as i64,
    );
    int(out, "dataset.bytes", r.dataset() as i64);
    let double = |out: &mut crate::resp::Reply, name: &str, v: f64| {
        out.bulk(name.as_bytes());
        out.double(f64::from(v as f32));
    };
    double(out, "dataset.percentage", r.dataset_perc());
    double(out, "peak.percentage", r.peak_perc());
    int(out, "allocator.allocated", used);
    int(out, "allocator.active", used);
    int(out, "allocator.resident", rss);
    double(out, "allocator-fragmentation.ratio", 1.0);
    int(out, "allocator-fragmentation.bytes", 0);
    double(out, "allocator-rss.ratio", r.fragmentation());
    int(out, "allocator-rss.bytes", rss - used);
    double(out, "rss-overhead.ratio", 1.0);
    int(out, "rss-overhead.bytes", 0);
    double(out, "fragmentation", r.fragmentation());
    int(out, "fragmentation.bytes", rss - used);
    Ok(())
}

/// ```text
/// MEMORY DOCTOR
/// ```
/// Redis's report on the account: empty, a big peak, high fragmentation, big client
/// buffers, many scripts, or nothing to say.
fn doctor(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let r = Report::now(ctx.server);
    let clients = r.client_count.max(1);
    let scripts = ctx.server.scripts.cached().0;
    let mut issues: Vec<&str> = Vec::new();
    let empty = r.used < 5 * 1024 * 1024;
    if !empty {
        let frag = r.fragmentation();
        let frag_bytes = r.rss as i64 - r.used as i64;
        if r.peak as f64 / r.used as f64 > 1.5 {
            issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
        }
        if frag > 1.4 && frag_bytes > 10 << 20 {
            issues.push(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"libc\".\n\n");
        }
        if frag > 1.1 && frag_bytes > 10 << 20 {
            issues.push(" * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n");
        }
        if r.clients / clients > 200 * 1024 {
            issues.push(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n");
        }
        if scripts > 1000 {
            issues.push(" * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n");
        }
    }
    let report = if empty {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_string()
    } else if issues.is_empty() {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_string()
    } else {
        let mut s =
            "Sam, I detected a few issues in this Redis instance memory implants:\n\n".to_string();
        issues.iter().for_each(|i| s.push_str(i));
        s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
        s
    };
    ctx.out.verbatim("txt", report.as_bytes());
    Ok(())
}

/// ```text
/// MEMORY MALLOC-STATS
/// ```
/// What Redis built with libc malloc answers.
fn malloc_stats(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out
        .bulk(b"Stats not supported for the current allocator");
    Ok(())
}

/// ```text
/// MEMORY PURGE
/// ```
/// OK: libc's malloc has no dirty pages to purge on request.
fn purge(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.ok();
    Ok(())
}

/// ```text
/// MEMORY HELP
/// ```
fn help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    super::reply_lines(
        ctx.out,
        &[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}
