//! INFO's text: Redis's sections and field names, filled from our own state.
//!
//! Memory figures come from the process's resident set (`/proc/self/statm`): without a
//! counting allocator (which would need `unsafe`) we cannot see allocator totals, so
//! `used_memory` reports the RSS too.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::state::{Server, REDIS_VERSION, REDLITE_VERSION};
use crate::store::memory::human;
use crate::util::{now_ms, now_us};

/// Every section, in Redis's order.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// The sections of a plain INFO (and of `default`).
const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Renders the requested sections (`default` when none; `all` and `everything` for all
/// of them: with no modules the two are the same), always in Redis's order.
pub fn render(server: &Server, requested: &[String]) -> String {
    let all = requested.iter().any(|s| s == "all" || s == "everything");
    let default = requested.is_empty() || requested.iter().any(|s| s == "default");
    let wanted: Vec<&str> = SECTIONS
        .iter()
        .copied()
        .filter(|s| all || (default && DEFAULT.contains(s)) || requested.iter().any(|r| r == s))
        .collect();
    let mut out = String::new();
    for (i, section) in wanted.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        match *section {
            "server" => server_section(server, &mut out),
            "clients" => clients_section(server, &mut out),
            "memory" => memory_section(server, &mut out),
            "persistence" => persistence_section(server, &mut out),
            "stats" => stats_section(server, &mut out),
            "replication" => replication_section(server, &mut out),
            "cpu" => cpu_section(&mut out),
            // No modules can be loaded: the section is empty, as Redis's without any.
            "modules" => out.push_str("# Modules\r\n"),
            // No cluster mode (`cluster-enabled yes` is refused).
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "commandstats" => {
                out.push_str("# Commandstats\r\n");
                server
                    .calls
                    .commandstats(crate::command::command_name, &mut out);
            }
            "errorstats" => {
                out.push_str("# Errorstats\r\n");
                server.calls.errorstats(&mut out);
            }
            "latencystats" => {
                out.push_str("# Latencystats\r\n");
                let percentiles = server.config().latency_percentiles().to_vec();
                server
                    .calls
                    .latencystats(crate::command::command_name, &percentiles, &mut out);
            }
            _ => keyspace_section(server, &mut out),
        }
    }
    out
}

fn field(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{name}:{value}\r\n");
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn server_section(server: &Server, out: &mut String) {
    let config = server.config();
    let uptime = server.started.elapsed().as_secs();
    out.push_str("# Server\r\n");
    field(out, "redis_version", REDIS_VERSION);
    field(out, "redlite_version", REDLITE_VERSION);
    field(out, "redis_git_sha1", "00000000");
    field(out, "redis_git_dirty", 0);
    field(out, "redis_build_id", "0");
    field(out, "redis_mode", "standalone");
    field(
        out,
        "os",
        format!(
            "{} {} {}",
            read_trimmed("/proc/sys/kernel/ostype"),
            read_trimmed("/proc/sys/kernel/osrelease"),
            std::env::consts::ARCH
        ),
    );
    field(out, "arch_bits", 64);
    field(out, "monotonic_clock", "std::time::Instant");
    field(out, "multiplexing_api", "threads");
    field(out, "atomicvar_api", "rust-std");
    field(out, "gcc_version", "0.0.0");
    field(out, "process_id", std::process::id());
    field(out, "process_supervised", server.process.supervised_name());
    field(out, "run_id", &server.run_id);
    field(out, "tcp_port", server.port());
    field(out, "server_time_usec", now_us());
    field(out, "uptime_in_seconds", uptime);
    field(out, "uptime_in_days", uptime / 86400);
    field(out, "hz", server.hz.load(Ordering::Relaxed));
    field(out, "configured_hz", config.hz);
    field(out, "lru_clock", (now_ms() / 1000) & ((1 << 24) - 1));
    field(
        out,
        "executable",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    field(
        out,
        "config_file",
        config
            .config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    field(out, "io_threads_active", 0);
    if let Some(ms) = server.process.shutdown_in_ms() {
        field(out, "shutdown_in_milliseconds", ms);
    }
}

fn clients_section(server: &Server, out: &mut String) {
    out.push_str("# Clients\r\n");
    field(out, "connected_clients", server.clients.len());
    field(out, "cluster_connections", 0);
    field(out, "maxclients", server.config().maxclients);
    field(out, "client_recent_max_input_buffer", 0);
    field(out, "client_recent_max_output_buffer", 0);
    field(
        out,
        "blocked_clients",
        server.stats.blocked_clients.load(Ordering::Relaxed),
    );
    field(out, "tracking_clients", 0);
    field(out, "clients_in_timeout_table", 0);
}

/// Resident memory in bytes, from `/proc/self/statm` (pages of 4 KiB).
pub fn rss_bytes() -> u64 {
    read_trimmed("/proc/self/statm")
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn memory_section(server: &Server, out: &mut String) {
    let r = crate::memory::Report::now(server);
    let total = read_trimmed("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024);
    let (used, rss, peak) = (r.used as u64, r.rss as u64, r.peak as u64);
    let maxmemory = server.memory.maxmemory();
    let aof_buffer = server.aof.buffered() as u64;
    out.push_str("# Memory\r\n");
    field(out, "used_memory", used);
    field(out, "used_memory_human", human(used));
    field(out, "used_memory_rss", rss);
    field(out, "used_memory_rss_human", human(rss));
    field(out, "used_memory_peak", peak);
    field(out, "used_memory_peak_human", human(peak));
    field(
        out,
        "used_memory_peak_perc",
        format!("{:.2}%", r.peak_perc()),
    );
    field(out, "used_memory_overhead", r.overhead);
    field(out, "used_memory_startup", r.startup);
    field(out, "used_memory_dataset", r.dataset());
    field(
        out,
        "used_memory_dataset_perc",
        format!("{:.2}%", r.dataset_perc()),
    );
    // There is no allocator to ask: its figures are the account's.
    field(out, "allocator_allocated", used);
    field(out, "allocator_active", used);
    field(out, "allocator_resident", rss);
    field(out, "total_system_memory", total);
    field(out, "total_system_memory_human", human(total));
    scripting_memory(server, out);
    field(out, "maxmemory", maxmemory);
    field(out, "maxmemory_human", human(maxmemory));
    field(out, "maxmemory_policy", policy_name(server));
    field(out, "allocator_frag_ratio", "1.00");
    field(out, "allocator_frag_bytes", 0);
    field(
        out,
        "allocator_rss_ratio",
        format!("{:.2}", r.fragmentation()),
    );
    field(out, "allocator_rss_bytes", rss as i64 - used as i64);
    field(out, "rss_overhead_ratio", "1.00");
    field(out, "rss_overhead_bytes", 0);
    field(
        out,
        "mem_fragmentation_ratio",
        format!("{:.2}", r.fragmentation()),
    );
    field(out, "mem_fragmentation_bytes", rss as i64 - used as i64);
    field(out, "mem_not_counted_for_evict", aof_buffer);
    field(out, "mem_replication_backlog", server.repl.backlog_bytes());
    field(
        out,
        "mem_total_replication_buffers",
        server.repl.buffer_bytes(),
    );
    field(out, "mem_clients_slaves", 0);
    field(out, "mem_clients_normal", r.clients);
    field(out, "mem_cluster_links", 0);
    field(out, "mem_aof_buffer", aof_buffer);
    field(out, "mem_allocator", "libc");
    field(out, "active_defrag_running", 0);
    field(out, "lazyfree_pending_objects", crate::lazyfree::pending());
    field(out, "lazyfreed_objects", crate::lazyfree::freed());
}

/// `maxmemory-policy` as the config spells it.
fn policy_name(server: &Server) -> String {
    let config = server.config();
    String::from_utf8_lossy(&config.value("maxmemory-policy").unwrap_or_default()).into_owned()
}

/// The scripting lines of the memory section, in Redis 7.0's order. A Lua state's size
/// is the one the last script left in its thread (each thread has its own).
fn scripting_memory(server: &Server, out: &mut String) {
    let scripts = &server.scripts;
    let lua = scripts.lua_memory.load(Ordering::Relaxed);
    let (cached, scripts_bytes) = scripts.cached();
    let (functions, libraries, functions_bytes) = {
        let libs = scripts.functions.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: usize = libs.libraries.values().map(|l| l.code.len() + 64).sum();
        (libs.function_count(), libs.libraries.len(), bytes)
    };
    let scripts_bytes = scripts_bytes as u64;
    let functions_bytes = functions_bytes as u64;
    field(out, "used_memory_lua", lua);
    field(out, "used_memory_vm_eval", lua);
    field(out, "used_memory_lua_human", human(lua));
    field(out, "used_memory_scripts_eval", scripts_bytes);
    field(out, "number_of_cached_scripts", cached);
    field(out, "number_of_functions", functions);
    field(out, "number_of_libraries", libraries);
    field(out, "used_memory_vm_functions", lua);
    field(out, "used_memory_vm_total", 2 * lua);
    field(out, "used_memory_vm_total_human", human(2 * lua));
    field(out, "used_memory_functions", functions_bytes);
    field(out, "used_memory_scripts", scripts_bytes + functions_bytes);
    field(
        out,
        "used_memory_scripts_human",
        human(scripts_bytes + functions_bytes),
    );
}

fn persistence_section(server: &Server, out: &mut String) {
    let p = &server.persist;
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let loading = p.loading.load(Ordering::Relaxed);
    // While loading, the store is the empty one the dump will replace.
    let dirty = if loading {
        0
    } else {
        server.store.read().dirty
    };
    let running = p.bgsave_running.load(Ordering::Relaxed);
    let now = crate::util::now_ms() / 1000;
    let (processed, total) = if running {
        (get(&p.save_keys_processed), get(&p.save_keys_total))
    } else {
        (0, 0)
    };
    out.push_str("# Persistence\r\n");
    field(out, "loading", u8::from(loading));
    field(out, "async_loading", 0);
    // A snapshot's copies are not pages: these fork figures stay 0.
    field(out, "current_cow_peak", 0);
    field(out, "current_cow_size", 0);
    field(out, "current_cow_size_age", 0);
    let perc = if total > 0 {
        processed as f64 * 100.0 / total as f64
    } else {
        0.0
    };
    field(out, "current_fork_perc", format!("{perc:.2}"));
    field(out, "current_save_keys_processed", processed);
    field(out, "current_save_keys_total", total);
    field(out, "rdb_changes_since_last_save", dirty);
    field(out, "rdb_bgsave_in_progress", u8::from(running));
    field(out, "rdb_last_save_time", get(&p.last_save));
    field(
        out,
        "rdb_last_bgsave_status",
        if p.last_save_ok.load(Ordering::Relaxed) {
            "ok"
        } else {
            "err"
        },
    );
    field(
        out,
        "rdb_last_bgsave_time_sec",
        p.last_bgsave_secs.load(Ordering::Relaxed),
    );
    let current = if running {
        now.saturating_sub(get(&p.bgsave_started)) as i64
    } else {
        -1
    };
    field(out, "rdb_current_bgsave_time_sec", current);
    field(out, "rdb_saves", get(&p.saves));
    field(out, "rdb_last_cow_size", 0);
    field(
        out,
        "rdb_last_load_keys_expired",
        get(&p.keys_expired_on_load),
    );
    field(out, "rdb_last_load_keys_loaded", get(&p.keys_loaded));
    let appendonly = server.config().is_yes("appendonly");
    for (name, value) in server.aof.info(appendonly) {
        field(out, name, value);
    }
    if loading {
        // Redis's loading progress fields, by bytes of the file read.
        let started = get(&p.loading_started);
        let (total, loaded) = (get(&p.loading_total_bytes), get(&p.loading_loaded_bytes));
        let elapsed = now.saturating_sub(started);
        let perc = if total > 0 {
            loaded as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        let eta = if loaded > 0 && elapsed > 0 {
            (total.saturating_sub(loaded) as f64 / (loaded as f64 / elapsed as f64)) as u64
        } else {
            1
        };
        field(out, "loading_start_time", started);
        field(out, "loading_total_bytes", total);
        field(out, "loading_rdb_used_mem", 0);
        field(out, "loading_loaded_bytes", loaded);
        field(out, "loading_loaded_perc", format!("{perc:.2}"));
        field(out, "loading_eta_seconds", eta);
    }
}

fn stats_section(server: &Server, out: &mut String) {
    let s = &server.stats;
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let kbps = |c: &std::sync::atomic::AtomicU64| format!("{:.2}", f64::from_bits(get(c)));
    let (tracking_keys, tracking_items, tracking_prefixes) = server.tracking.totals();
    out.push_str("# Stats\r\n");
    field(
        out,
        "total_connections_received",
        get(&s.connections_received),
    );
    field(out, "total_commands_processed", get(&s.commands_processed));
    field(out, "instantaneous_ops_per_sec", get(&s.instantaneous_ops));
    field(out, "total_net_input_bytes", get(&s.net_input_bytes));
    field(out, "total_net_output_bytes", get(&s.net_output_bytes));
    // No replication: the replication traffic fields are zero, as on a lone Redis.
    field(out, "total_net_repl_input_bytes", 0);
    field(out, "total_net_repl_output_bytes", 0);
    field(out, "instantaneous_input_kbps", kbps(&s.input_kbps));
    field(out, "instantaneous_output_kbps", kbps(&s.output_kbps));
    field(out, "instantaneous_input_repl_kbps", "0.00");
    field(out, "instantaneous_output_repl_kbps", "0.00");
    field(out, "rejected_connections", get(&s.rejected_connections));
    field(out, "sync_full", 0);
    field(out, "sync_partial_ok", 0);
    field(out, "sync_partial_err", 0);
    field(out, "expired_keys", server.store.read().expired_removed());
    field(out, "expired_stale_perc", "0.00");
    field(out, "expired_time_cap_reached_count", 0);
    field(out, "expire_cycle_cpu_milliseconds", 0);
    field(out, "evicted_keys", get(&server.memory.evicted_keys));
    field(out, "evicted_clients", 0);
    let (total_exceeded, current_exceeded) = server.memory.exceeded_ms();
    field(out, "total_eviction_exceeded_time", total_exceeded);
    field(out, "current_eviction_exceeded_time", current_exceeded);
    field(out, "keyspace_hits", get(&s.keyspace_hits));
    field(out, "keyspace_misses", get(&s.keyspace_misses));
    let (channels, patterns, shard_channels) = server.pubsub.lock().counts();
    field(out, "pubsub_channels", channels);
    field(out, "pubsub_patterns", patterns);
    field(out, "pubsubshard_channels", shard_channels);
    // No fork: snapshots are taken by a thread.
    field(out, "latest_fork_usec", 0);
    field(out, "total_forks", 0);
    field(out, "migrate_cached_sockets", server.migrate_sockets.len());
    field(out, "slave_expires_tracked_keys", 0);
    for name in [
        "active_defrag_hits",
        "active_defrag_misses",
        "active_defrag_key_hits",
        "active_defrag_key_misses",
        "total_active_defrag_time",
        "current_active_defrag_time",
    ] {
        field(out, name, 0);
    }
    field(out, "tracking_total_keys", tracking_keys);
    field(out, "tracking_total_items", tracking_items);
    field(out, "tracking_total_prefixes", tracking_prefixes);
    field(
        out,
        "unexpected_error_replies",
        server
            .stats
            .unexpected_error_replies
            .load(Ordering::Relaxed),
    );
    field(
        out,
        "total_error_replies",
        server.calls.error_replies.load(Ordering::Relaxed),
    );
    field(out, "dump_payload_sanitizations", 0);
    field(out, "total_reads_processed", get(&s.reads_processed));
    field(out, "total_writes_processed", get(&s.writes_processed));
    field(out, "io_threaded_reads_processed", 0);
    field(out, "io_threaded_writes_processed", 0);
    let buffers = &server.clients.reply_buffers;
    field(
        out,
        "reply_buffer_shrinks",
        buffers.shrinks.load(Ordering::Relaxed),
    );
    field(
        out,
        "reply_buffer_expands",
        buffers.expands.load(Ordering::Relaxed),
    );
}

fn replication_section(server: &Server, out: &mut String) {
    out.push_str("# Replication\r\n");
    server.repl.info(server, out);
}

/// User and system CPU seconds from `/proc/self/stat` (fields 14 and 15, in clock
/// ticks of 1/100 s on Linux).
pub fn cpu_seconds() -> (f64, f64) {
    let stat = read_trimmed("/proc/self/stat");
    // The command name may hold spaces: count fields after its closing parenthesis.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

fn cpu_section(out: &mut String) {
    let (user, sys) = cpu_seconds();
    out.push_str("# CPU\r\n");
    field(out, "used_cpu_sys", format!("{sys:.6}"));
    field(out, "used_cpu_user", format!("{user:.6}"));
    field(out, "used_cpu_sys_children", "0.000000");
    field(out, "used_cpu_user_children", "0.000000");
    // There is no main thread: every connection thread runs commands, so the process's
    // figures stand for it.
    field(out, "used_cpu_sys_main_thread", format!("{sys:.6}"));
    field(out, "used_cpu_user_main_thread", format!("{user:.6}"));
}

fn keyspace_section(server: &Server, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    let ks = server.store.read();
    for (i, db) in ks.dbs().iter().enumerate() {
        if !db.is_empty() {
            field(
                out,
                &format!("db{i}"),
                format!("keys={},expires={},avg_ttl=0", db.len(), db.expires_count()),
            );
        }
    }
}
