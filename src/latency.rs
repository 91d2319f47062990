//! The latency monitor (Redis's `latency.c`): for each event class (`command`,
//! `fast-command`, `expire-cycle`, `aof-fsync-always`...) the latest 160 one-second
//! samples at or above `latency-monitor-threshold`, and the all-time maximum.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Redis's `LATENCY_TS_LEN`: samples kept per event.
const SAMPLES: usize = 160;
/// Redis's `LATENCY_GRAPH_COLS`.
const GRAPH_COLS: usize = 80;

/// One event's history (Redis's `latencyTimeSeries`).
#[derive(Debug, Clone)]
pub struct Series {
    /// (Unix seconds, ms); time 0 is an empty slot.
    samples: [(u64, u64); SAMPLES],
    /// Where the next sample goes.
    next: usize,
    /// The all-time maximum.
    pub max: u64,
}

impl Series {
    fn new() -> Series {
        Series {
            samples: [(0, 0); SAMPLES],
            next: 0,
            max: 0,
        }
    }

    /// The samples, oldest first.
    pub fn samples(&self) -> Vec<(u64, u64)> {
        (0..SAMPLES)
            .map(|j| self.samples[(self.next + j) % SAMPLES])
            .filter(|s| s.0 != 0)
            .collect()
    }

    /// The latest sample.
    pub fn latest(&self) -> (u64, u64) {
        self.samples[(self.next + SAMPLES - 1) % SAMPLES]
    }
}

/// Every event's history and the threshold.
#[derive(Debug, Default)]
pub struct Monitor {
    /// `latency-monitor-threshold` in ms (0: off).
    threshold: AtomicU64,
    events: Mutex<BTreeMap<String, Series>>,
}

impl Monitor {
    /// Mirrors `latency-monitor-threshold`.
    pub fn set_threshold(&self, ms: u64) {
        self.threshold.store(ms, Ordering::Relaxed);
    }

    /// `latency-monitor-threshold`.
    pub fn threshold(&self) -> u64 {
        self.threshold.load(Ordering::Relaxed)
    }

    /// Redis's `latencyAddSampleIfNeeded`: records `ms` for `event` if the monitor is on
    /// and it reaches the threshold. One sample per second: a second one in the same
    /// second keeps the larger.
    pub fn sample(&self, event: &str, ms: u64) {
        let threshold = self.threshold();
        if threshold == 0 || ms < threshold {
            return;
        }
        let now = crate::util::now_ms() / 1000;
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let ts = events.entry(event.to_string()).or_insert_with(Series::new);
        ts.max = ts.max.max(ms);
        let prev = (ts.next + SAMPLES - 1) % SAMPLES;
        if ts.samples[prev].0 == now {
            ts.samples[prev].1 = ts.samples[prev].1.max(ms);
            return;
        }
        ts.samples[ts.next] = (now, ms);
        ts.next = (ts.next + 1) % SAMPLES;
    }

    /// A copy of every event's history, in name order.
    pub fn events(&self) -> Vec<(String, Series)> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// One event's history.
    pub fn event(&self, name: &[u8]) -> Option<Series> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let name = std::str::from_utf8(name).ok()?;
        events.get(name).cloned()
    }

    /// LATENCY RESET: forgets `event` (every event when `None`); returns how many went.
    pub fn reset(&self, event: Option<&[u8]>) -> usize {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            None => std::mem::take(&mut *events).len(),
            Some(name) => std::str::from_utf8(name)
                .ok()
                .and_then(|n| events.remove(n))
                .map_or(0, |_| 1),
        }
    }
}

/// LATENCY GRAPH's text (Redis's `latencyCommandGenSparkeline` and `sparkline.c`): a
/// title, a rule, and the samples as a filled sparkline four rows high with their ages
/// written downwards underneath.
pub fn graph(event: &str, ts: &Series, now_secs: u64) -> String {
    let samples = ts.samples();
    let (min, max) = samples
        .iter()
        .fold((u64::MAX, 0), |(lo, hi), s| (lo.min(s.1), hi.max(s.1)));
    let min = if samples.is_empty() { 0 } else { min };
    let mut out = format!(
        "{event} - high {max} ms, low {min} ms (all time high {} ms)\n",
        ts.max
    );
    out.push_str(&"-".repeat(GRAPH_COLS));
    out.push('\n');
    let labelled: Vec<(f64, String)> = samples
        .iter()
        .map(|&(time, ms)| {
            let elapsed = now_secs.saturating_sub(time);
            let label = match elapsed {
                e if e < 60 => format!("{e}s"),
                e if e < 3600 => format!("{}m", e / 60),
                e if e < 86400 => format!("{}h", e / 3600),
                e => format!("{}d", e / 86400),
            };
            (ms as f64, label)
        })
        .collect();
    for (i, chunk) in labelled.chunks(GRAPH_COLS).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_range(&mut out, chunk, &labelled, 4);
    }
    out
}

/// `sparklineRenderRange` with `SPARKLINE_FILL` over `range`, scaled to the whole
/// sequence `all`.
fn render_range(out: &mut String, range: &[(f64, String)], all: &[(f64, String)], rows: usize) {
    const FILL: &[u8] = b"_o#";
    let lo = all.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let hi = all.iter().map(|s| s.0).fold(f64::NEG_INFINITY, f64::max);
    let mut relmax = hi - lo;
    if relmax == 0.0 {
        relmax = 1.0;
    }
    let steps = (FILL.len() * rows) as i64;
    let mut row = 0;
    loop {
        let mut again = false;
        let mut chars = vec![b' '; range.len()];
        for (j, (value, label)) in range.iter().enumerate() {
            let step = (((value - lo) * steps as f64) as i64 as f64 / relmax) as i64;
            let step = step.clamp(0, steps - 1);
            if row < rows {
                again = true;
                let idx = step - ((rows - row - 1) * FILL.len()) as i64;
                if (0..FILL.len() as i64).contains(&idx) {
                    chars[j] = FILL[idx as usize];
                } else if idx >= FILL.len() as i64 {
                    chars[j] = b'|';
                }
            } else {
                // One blank row between the graph and the labels.
                if row - rows < 1 {
                    again = true;
                    break;
                }
                let at = row - rows - 1;
                if let Some(&c) = label.as_bytes().get(at) {
                    again = true;
                    chars[j] = c;
                }
            }
        }
        if !again {
            break;
        }
        row += 1;
        out.push_str(&String::from_utf8_lossy(&chars));
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_one_per_second_and_the_maximum() {
        let m = Monitor::default();
        m.sample("command", 500);
        assert!(m.events().is_empty(), "off while the threshold is 0");
        m.set_threshold(100);
        m.sample("command", 50);
        assert!(m.events().is_empty(), "below the threshold");
        m.sample("command", 150);
        m.sample("command", 120);
        let ts = m.event(b"command").unwrap();
        assert_eq!(ts.samples().len(), 1);
        assert_eq!(ts.latest().1, 150);
        assert_eq!(ts.max, 150);
        assert_eq!(m.reset(Some(b"nope")), 0);
        assert_eq!(m.reset(None), 1);
    }

    #[test]
    fn graph_of_one_sample() {
        let mut ts = Series::new();
        ts.samples[0] = (1000, 250);
        ts.next = 1;
        ts.max = 250;
        let text = graph("command", &ts, 1005);
        assert_eq!(
            text,
            "command - high 250 ms, low 250 ms (all time high 250 ms)\n".to_string()
                + &"-".repeat(80)
                + "\n \n \n \n_\n \n5\ns\n"
        );
    }
}
