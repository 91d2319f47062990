//! What each call cost, for operators: INFO's commandstats, errorstats and latencystats,
//! the slow log, and the latency monitor's `command` and `fast-command` events (Redis's
//! `call()` bookkeeping, `slowlog.c` and the histograms of `latency.c`).
//!
//! A connection notes its calls in a [`Local`] record and adds it to the server's
//! [`Calls`] once per read batch (before its replies leave), so the hot path touches no
//! shared lock per command. Commands are named by an index the dispatcher assigns (see
//! [`crate::command::command_id`]) and their full names (`config|get`); this module knows
//! nothing else of them.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::client::{ClientHandle, Published};

/// Redis's `LATENCY_HISTOGRAM_MIN_VALUE` and `_MAX_VALUE`, in ns.
const HISTOGRAM_MIN: u64 = 1;
const HISTOGRAM_MAX: u64 = 1_000_000_000;
/// Redis's `SLOWLOG_ENTRY_MAX_ARGC` and `SLOWLOG_ENTRY_MAX_STRING`.
const SLOWLOG_MAX_ARGC: usize = 32;
const SLOWLOG_MAX_STRING: usize = 128;

/// One command's totals (Redis's `redisCommand` counters).
#[derive(Debug, Default, Clone)]
struct CommandStat {
    calls: u64,
    usec: u64,
    rejected: u64,
    failed: u64,
    histogram: Option<Box<Histogram>>,
}

/// The server's call statistics, slow log and settings.
#[derive(Debug)]
pub struct Calls {
    commands: Mutex<Vec<CommandStat>>,
    /// Error replies by their first word (Redis's `server.errors` rax, so in byte order).
    errors: Mutex<BTreeMap<String, u64>>,
    /// INFO's `total_error_replies`.
    pub error_replies: AtomicU64,
    slowlog: Mutex<Slowlog>,
    /// `slowlog-log-slower-than` in µs (-1: off).
    slower_than: AtomicI64,
    /// `slowlog-max-len`.
    slowlog_max: AtomicU64,
    /// `latency-tracking`.
    tracking: AtomicBool,
    /// Clients in MONITOR mode, and whether there are any (read on every call).
    monitors: RwLock<Vec<Arc<ClientHandle>>>,
    monitoring: AtomicBool,
}

impl Default for Calls {
    fn default() -> Calls {
        Calls {
            commands: Mutex::new(Vec::new()),
            errors: Mutex::new(BTreeMap::new()),
            error_replies: AtomicU64::new(0),
            slowlog: Mutex::new(Slowlog::default()),
            slower_than: AtomicI64::new(10_000),
            slowlog_max: AtomicU64::new(128),
            tracking: AtomicBool::new(true),
            monitors: RwLock::new(Vec::new()),
            monitoring: AtomicBool::new(false),
        }
    }
}

/// What a connection noted since its last batch.
#[derive(Debug, Default)]
pub struct Local {
    /// Per command index: calls, ns, rejected, failed.
    commands: Vec<(usize, LocalStat)>,
    /// Each call's duration, for the histograms (only with `latency-tracking`).
    samples: Vec<(usize, u64)>,
    /// Error codes replied.
    errors: Vec<Box<str>>,
    slow: Vec<SlowEntry>,
    /// Error replies that calls have counted as their failures so far (so that a
    /// transaction does not count its commands' errors as its own).
    pub accounted_errors: usize,
}

#[derive(Debug, Default, Clone, Copy)]
struct LocalStat {
    calls: u64,
    ns: u64,
    rejected: u64,
    failed: u64,
}

impl Local {
    fn stat(&mut self, id: usize) -> &mut LocalStat {
        // A batch usually runs one or two distinct commands: a scan beats a map.
        let at = match self.commands.iter().position(|(i, _)| *i == id) {
            Some(at) => at,
            None => {
                self.commands.push((id, LocalStat::default()));
                self.commands.len() - 1
            }
        };
        &mut self.commands[at].1
    }

    /// A call that ran for `ns`, failed or not.
    pub fn called(&mut self, id: usize, ns: u64, failed: bool, tracking: bool) {
        let s = self.stat(id);
        s.calls += 1;
        s.ns += ns;
        s.failed += u64::from(failed);
        if tracking {
            self.samples.push((id, ns));
        }
    }

    /// A call refused before it ran (arity, NOAUTH, MISCONF...).
    pub fn rejected(&mut self, id: usize) {
        self.stat(id).rejected += 1;
    }

    /// Takes the error codes a reply buffer noted.
    pub fn errors_from(&mut self, codes: &mut Vec<Box<str>>) {
        self.errors.append(codes);
    }

    /// Whether nothing was noted.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty() && self.errors.is_empty() && self.slow.is_empty()
    }
}

/// The code Redis's `afterErrorReply` counts an error under: its first word when a space
/// comes within the first 32 bytes of `-text`, else `ERR`.
pub fn error_code(text: &str) -> &str {
    let window = &text.as_bytes()[..text.len().min(31)];
    match window.iter().position(|&b| b == b' ') {
        Some(end) => &text[..end],
        None => "ERR",
    }
}

impl Calls {
    /// Mirrors the settings this module reads on every call: `slowlog-log-slower-than`,
    /// `slowlog-max-len` and `latency-tracking`.
    pub fn configure(&self, config: &crate::config::Config) {
        let int = |name: &str| {
            config
                .value(name)
                .and_then(|v| crate::util::num::parse_i64(&v))
                .unwrap_or(0)
        };
        let (slower_than, slowlog_max) = (
            int("slowlog-log-slower-than"),
            int("slowlog-max-len").max(0) as u64,
        );
        let tracking = config.is_yes("latency-tracking");
        self.slower_than.store(slower_than, Ordering::Relaxed);
        self.slowlog_max.store(slowlog_max, Ordering::Relaxed);
        self.tracking.store(tracking, Ordering::Relaxed);
        self.slowlog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .trim(slowlog_max as usize);
    }

    /// Whether calls feed the latency histograms (`latency-tracking`).
    pub fn tracking(&self) -> bool {
        self.tracking.load(Ordering::Relaxed)
    }

    /// Whether a call that took `us` belongs in the slow log.
    pub fn is_slow(&self, us: u64) -> bool {
        let limit = self.slower_than.load(Ordering::Relaxed);
        limit >= 0 && us as i64 >= limit
    }

    /// Adds a connection's record to the totals, leaving it empty.
    pub fn merge(&self, local: &mut Local) {
        if !local.commands.is_empty() {
            let mut table = self.commands.lock().unwrap_or_else(|e| e.into_inner());
            for (id, s) in local.commands.drain(..) {
                if table.len() <= id {
                    table.resize(id + 1, CommandStat::default());
                }
                let t = &mut table[id];
                t.calls += s.calls;
                t.usec += s.ns / 1000;
                t.rejected += s.rejected;
                t.failed += s.failed;
            }
            for (id, ns) in local.samples.drain(..) {
                table[id]
                    .histogram
                    .get_or_insert_with(|| Box::new(Histogram::new()))
                    .record(ns);
            }
        }
        if !local.errors.is_empty() {
            self.error_replies
                .fetch_add(local.errors.len() as u64, Ordering::Relaxed);
            let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
            for code in local.errors.drain(..) {
                *errors.entry(code.into()).or_insert(0) += 1;
            }
        }
        if !local.slow.is_empty() {
            let max = self.slowlog_max.load(Ordering::Relaxed) as usize;
            let mut log = self.slowlog.lock().unwrap_or_else(|e| e.into_inner());
            for entry in local.slow.drain(..) {
                log.push(entry, max);
            }
        }
    }

    /// CONFIG RESETSTAT: commandstats, errorstats and the histograms.
    pub fn reset(&self) {
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.error_replies.store(0, Ordering::Relaxed);
    }

    /// INFO commandstats' lines, in name order; `name` gives each index's full name.
    pub fn commandstats(&self, name: impl Fn(usize) -> String, out: &mut String) {
        let table = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        let mut lines: Vec<(String, &CommandStat)> = table
            .iter()
            .enumerate()
            .filter(|(_, s)| s.calls > 0 || s.rejected > 0 || s.failed > 0)
            .map(|(id, s)| (name(id), s))
            .collect();
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, s) in lines {
            let per_call = if s.calls == 0 {
                0.0
            } else {
                s.usec as f64 / s.calls as f64
            };
            let _ = write!(
                out,
                "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
                s.calls, s.usec, s.rejected, s.failed
            );
        }
    }

    /// INFO errorstats' lines.
    pub fn errorstats(&self, out: &mut String) {
        let errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        for (code, count) in errors.iter() {
            let _ = write!(out, "errorstat_{code}:count={count}\r\n");
        }
    }

    /// INFO latencystats' lines at `percentiles`.
    pub fn latencystats(
        &self,
        name: impl Fn(usize) -> String,
        percentiles: &[f64],
        out: &mut String,
    ) {
        let table = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        let mut lines: Vec<(String, &Histogram)> = table
            .iter()
            .enumerate()
            .filter_map(|(id, s)| Some((name(id), s.histogram.as_deref()?)))
            .collect();
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, h) in lines {
            let _ = write!(out, "latency_percentiles_usec_{name}:");
            for (i, p) in percentiles.iter().enumerate() {
                let sep = if i > 0 { "," } else { "" };
                let value = h.value_at_percentile(*p) as f64 / 1000.0;
                let _ = write!(
                    out,
                    "{sep}p{}={value:.3}",
                    crate::config::format_percentile(*p)
                );
            }
            out.push_str("\r\n");
        }
    }

    /// LATENCY HISTOGRAM's data for the commands `ids` picks (all with data when None):
    /// each command's full name, its call count and its cumulative (µs, count) points.
    pub fn histograms(
        &self,
        name: impl Fn(usize) -> String,
        ids: Option<&[usize]>,
    ) -> Vec<CommandHistogram> {
        let table = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        let pick: Vec<usize> = match ids {
            Some(ids) => ids.to_vec(),
            None => (0..table.len()).collect(),
        };
        let mut seen = std::collections::HashSet::new();
        pick.into_iter()
            .filter(|id| seen.insert(*id))
            .filter_map(|id| {
                let h = table.get(id)?.histogram.as_deref()?;
                Some((name(id), h.total, h.cumulative_points()))
            })
            .collect()
    }

    /// Runs `f` on the slow log.
    pub fn with_slowlog<T>(&self, f: impl FnOnce(&mut Slowlog) -> T) -> T {
        f(&mut self.slowlog.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Calls {
    /// Whether any client is in MONITOR mode.
    pub fn monitored(&self) -> bool {
        self.monitoring.load(Ordering::Relaxed)
    }

    /// MONITOR: `client` gets every call from now on (its writer thread must be running).
    pub fn add_monitor(&self, client: &Arc<ClientHandle>) {
        let mut monitors = self.monitors.write().unwrap_or_else(|e| e.into_inner());
        if !monitors.iter().any(|m| m.id == client.id) {
            monitors.push(Arc::clone(client));
        }
        self.monitoring.store(true, Ordering::Relaxed);
    }

    /// A monitor that left (RESET, or its connection closed).
    pub fn remove_monitor(&self, id: u64) {
        let mut monitors = self.monitors.write().unwrap_or_else(|e| e.into_inner());
        monitors.retain(|m| m.id != id);
        self.monitoring
            .store(!monitors.is_empty(), Ordering::Relaxed);
    }

    /// Queues a MONITOR line for every monitor, as a publisher queues messages: each is
    /// sent when the calling connection's batch ends.
    pub fn feed_monitors(&self, line: &[u8], published: &mut Published) {
        let monitors = self.monitors.read().unwrap_or_else(|e| e.into_inner());
        for m in monitors.iter() {
            if m.queue_for_flush(line) {
                published.add(m);
            }
        }
    }
}

/// A MONITOR line (Redis's `replicationFeedMonitors`): `+<secs>.<µs> [<db> <origin>]`
/// and each argument quoted, `(redacted)` for a hidden one.
pub fn monitor_line(db: usize, origin: &str, args: &[Option<&[u8]>]) -> Vec<u8> {
    let us = crate::util::now_us();
    let mut line =
        format!("+{}.{:06} [{db} {origin}] ", us / 1_000_000, us % 1_000_000).into_bytes();
    for (j, arg) in args.iter().enumerate() {
        if j > 0 {
            line.push(b' ');
        }
        crate::util::push_repr(&mut line, arg.unwrap_or(b"(redacted)"));
    }
    line.extend_from_slice(b"\r\n");
    line
}

/// A command's full name, its calls, and its cumulative (µs, calls) points.
pub type CommandHistogram = (String, u64, Vec<(u64, u64)>);

/// One slow log entry (Redis's `slowlogEntry`).
#[derive(Debug, Clone)]
pub struct SlowEntry {
    pub id: u64,
    /// Unix seconds.
    pub time: u64,
    pub duration_us: u64,
    pub args: Vec<Vec<u8>>,
    pub peer: String,
    pub name: Vec<u8>,
}

impl SlowEntry {
    /// An entry for a call of `args` (each `None` when redacted), trimmed as Redis trims:
    /// at most 32 arguments, the last telling how many more there were, and each at most
    /// 128 bytes, telling how many more bytes it had. Its id is given when it is logged.
    pub fn new(args: &[Option<&[u8]>], duration_us: u64, peer: String, name: Vec<u8>) -> SlowEntry {
        let keep = args.len().min(SLOWLOG_MAX_ARGC);
        let mut out = Vec::with_capacity(keep);
        for (j, arg) in args.iter().take(keep).enumerate() {
            if keep != args.len() && j == keep - 1 {
                out.push(format!("... ({} more arguments)", args.len() - keep + 1).into_bytes());
                break;
            }
            let arg = arg.unwrap_or(b"(redacted)");
            if arg.len() > SLOWLOG_MAX_STRING {
                let mut a = arg[..SLOWLOG_MAX_STRING].to_vec();
                let _ = write!(
                    StringSink(&mut a),
                    "... ({} more bytes)",
                    arg.len() - SLOWLOG_MAX_STRING
                );
                out.push(a);
            } else {
                out.push(arg.to_vec());
            }
        }
        SlowEntry {
            id: 0,
            time: crate::util::now_ms() / 1000,
            duration_us,
            args: out,
            peer,
            name,
        }
    }
}

impl Local {
    /// Notes a slow call for the slow log.
    pub fn slow(&mut self, entry: SlowEntry) {
        self.slow.push(entry);
    }
}

/// Appends formatted text to a byte vector.
struct StringSink<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for StringSink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// The slow log: newest first, at most `slowlog-max-len` entries.
#[derive(Debug, Default)]
pub struct Slowlog {
    entries: VecDeque<SlowEntry>,
    next_id: u64,
}

impl Slowlog {
    fn push(&mut self, mut entry: SlowEntry, max: usize) {
        entry.id = self.next_id;
        self.next_id += 1;
        self.entries.push_front(entry);
        self.trim(max);
    }

    fn trim(&mut self, max: usize) {
        self.entries.truncate(max);
    }

    /// The newest `n` entries (all when `None`).
    pub fn newest(&self, n: Option<usize>) -> Vec<SlowEntry> {
        let n = n.unwrap_or(self.entries.len());
        self.entries.iter().take(n).cloned().collect()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// SLOWLOG RESET (ids keep counting, as in Redis).
    pub fn reset(&mut self) {
        self.entries.clear();
    }
}

/// A latency histogram with HdrHistogram's layout at two significant figures, over
/// 1 ns to 1 s, as Redis keeps one per command: values below 256 ns are exact, above
/// that each power of two is cut in 128 equal steps. Reported values are the highest
/// value of their step, as `hdr_value_at_percentile` reports them.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

/// log2 of the steps in half a power of two (HdrHistogram's `sub_bucket_half_count`).
const HALF_BITS: u32 = 7;

impl Histogram {
    fn new() -> Histogram {
        // Buckets until 256 << n passes the maximum, plus one (HdrHistogram's sizing).
        let mut buckets = 1;
        let mut smallest_untrackable = 256u64;
        while smallest_untrackable <= HISTOGRAM_MAX {
            smallest_untrackable <<= 1;
            buckets += 1;
        }
        Histogram {
            counts: vec![0; (buckets + 1) << HALF_BITS],
            total: 0,
        }
    }

    /// (bucket, sub-bucket) of a value.
    fn position(value: u64) -> (u32, u64) {
        let pow2ceiling = 64 - (value | 255).leading_zeros();
        let bucket = pow2ceiling - (HALF_BITS + 1);
        (bucket, value >> bucket)
    }

    fn index(value: u64) -> usize {
        let (bucket, sub) = Histogram::position(value);
        // Bucket 0 holds 0..256 exactly: its sub-buckets below the half count land in
        // the first half of its row.
        (((bucket + 1) as usize) << HALF_BITS) + sub as usize - (1 << HALF_BITS)
    }

    fn value_of(index: usize) -> u64 {
        let mut bucket = (index >> HALF_BITS) as i64 - 1;
        let mut sub = (index & ((1 << HALF_BITS) - 1)) as u64 + (1 << HALF_BITS);
        if bucket < 0 {
            sub -= 1 << HALF_BITS;
            bucket = 0;
        }
        sub << bucket
    }

    /// The highest value that lands in the same step as `value`.
    fn highest_equivalent(value: u64) -> u64 {
        let (bucket, sub) = Histogram::position(value);
        let adjusted = bucket + u32::from(sub >= 256);
        let lowest = sub << bucket;
        lowest + (1u64 << adjusted) - 1
    }

    fn record(&mut self, ns: u64) {
        let value = ns.clamp(HISTOGRAM_MIN, HISTOGRAM_MAX);
        self.counts[Histogram::index(value)] += 1;
        self.total += 1;
    }

    /// `hdr_value_at_percentile`.
    fn value_at_percentile(&self, percentile: f64) -> u64 {
        let p = percentile.min(100.0);
        let wanted = ((p / 100.0 * self.total as f64) + 0.5) as u64;
        let wanted = wanted.max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= wanted {
                let value = Histogram::value_of(i);
                return if percentile == 0.0 {
                    value
                } else {
                    Histogram::highest_equivalent(value)
                };
            }
        }
        0
    }

    /// LATENCY HISTOGRAM's points: at each power of two from 1024 ns, the step's highest
    /// value in µs and how many calls took at most that, where the count grew (the log
    /// iterator of `fillCommandCDF`).
    fn cumulative_points(&self) -> Vec<(u64, u64)> {
        let mut points = Vec::new();
        let (mut level, mut cumulative, mut previous, mut i) = (1024u64, 0u64, 0u64, 0usize);
        while previous < self.total && level <= HISTOGRAM_MAX * 2 {
            // Everything up to and including the step that holds `level`.
            let last = Histogram::index(level.min(HISTOGRAM_MAX));
            while i <= last && i < self.counts.len() {
                cumulative += self.counts[i];
                i += 1;
            }
            if cumulative > previous {
                points.push((Histogram::highest_equivalent(level) / 1000, cumulative));
            }
            previous = cumulative;
            level <<= 1;
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_as_redis_counts_them() {
        assert_eq!(error_code("ERR syntax error"), "ERR");
        assert_eq!(error_code("WRONGTYPE Operation against"), "WRONGTYPE");
        assert_eq!(error_code("NOSPACEATALLINTHISVERYLONGERRORTEXT"), "ERR");
        assert_eq!(error_code("My Error"), "My");
    }

    #[test]
    fn histogram_steps_match_hdr() {
        // Exact below 256 ns; four-ns steps from 512 to 1023; 1024 steps by eight.
        assert_eq!(Histogram::highest_equivalent(100), 100);
        assert_eq!(Histogram::highest_equivalent(1000), 1003);
        assert_eq!(Histogram::highest_equivalent(1024), 1031);
        assert_eq!(Histogram::highest_equivalent(65536), 66047);
        for v in [1u64, 255, 256, 511, 1000, 4097, 999_999_999] {
            let i = Histogram::index(v);
            assert!(Histogram::value_of(i) <= v, "{v}");
            assert!(Histogram::highest_equivalent(v) >= v, "{v}");
            assert_eq!(Histogram::index(Histogram::value_of(i)), i, "{v}");
        }
        let mut h = Histogram::new();
        for v in [1000, 1000, 1000, 50_000] {
            h.record(v);
        }
        assert_eq!(h.value_at_percentile(50.0), 1003);
        assert_eq!(h.value_at_percentile(99.9), 50_175);
        assert_eq!(h.cumulative_points(), vec![(1, 3), (66, 4)]);
    }

    #[test]
    fn slow_entries_are_trimmed() {
        let long = [b'x'; 200];
        let many: Vec<Option<&[u8]>> = (0..40).map(|_| Some(&b"a"[..])).collect();
        let e = SlowEntry::new(&many, 5, String::new(), Vec::new());
        assert_eq!(e.args.len(), 32);
        assert_eq!(e.args[31], b"... (9 more arguments)");
        let e = SlowEntry::new(&[Some(&long[..]), None], 5, String::new(), Vec::new());
        assert_eq!(&e.args[0][128..], b"... (72 more bytes)");
        assert_eq!(e.args[1], b"(redacted)");
    }
}
