//! Log lines in Redis's format: `pid:M 21 Nov 2026 02:35:01.422 * message`, where the
//! mark is `.` debug, `-` verbose, `*` notice and `#` warning.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::LogLevel;

/// Where log lines go, and from which level on.
#[derive(Debug)]
pub struct Logger {
    level: Mutex<LogLevel>,
    /// Empty for standard output, as Redis's `logfile ""`.
    file: String,
    /// A replica's lines say `S` where a master's say `M`.
    replica: AtomicBool,
}

impl Logger {
    /// A logger for `level` writing to `file` (or stdout if empty).
    pub fn new(level: LogLevel, file: &str) -> Logger {
        Logger {
            level: Mutex::new(level),
            file: file.to_string(),
            replica: AtomicBool::new(false),
        }
    }

    /// Marks the lines as a replica's (`S`) or a master's (`M`).
    pub fn set_replica(&self, on: bool) {
        self.replica.store(on, Ordering::Relaxed);
    }

    /// Changes the level (CONFIG SET loglevel).
    pub fn set_level(&self, level: LogLevel) {
        *self.level.lock().unwrap_or_else(|e| e.into_inner()) = level;
    }

    /// Writes one line if `level` is enabled. Failures to log are ignored, as in Redis.
    pub fn log(&self, level: LogLevel, msg: &str) {
        if level < *self.level.lock().unwrap_or_else(|e| e.into_inner()) {
            return;
        }
        let mark = match level {
            LogLevel::Debug => '.',
            LogLevel::Verbose => '-',
            LogLevel::Notice => '*',
            LogLevel::Warning => '#',
        };
        let role = if self.replica.load(Ordering::Relaxed) {
            'S'
        } else {
            'M'
        };
        let line = format!(
            "{}:{role} {} {mark} {msg}\n",
            std::process::id(),
            timestamp()
        );
        if self.file.is_empty() {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        } else if let Ok(mut f) = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }

    /// Writes `text` as it is, without the line prefix, at notice level (Redis's
    /// `LL_RAW`, used for the startup logo).
    pub fn raw(&self, text: &str) {
        if LogLevel::Notice < *self.level.lock().unwrap_or_else(|e| e.into_inner()) {
            return;
        }
        if self.file.is_empty() {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        } else if let Ok(mut f) = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
        {
            let _ = f.write_all(text.as_bytes());
        }
    }

    pub fn notice(&self, msg: &str) {
        self.log(LogLevel::Notice, msg);
    }

    pub fn warning(&self, msg: &str) {
        self.log(LogLevel::Warning, msg);
    }

    pub fn verbose(&self, msg: &str) {
        self.log(LogLevel::Verbose, msg);
    }
}

/// `21 Nov 2026 02:35:01.422` in UTC.
fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (y, m, d) = civil_from_days((secs / 86400) as i64);
    let rem = secs % 86400;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{d:02} {} {y} {:02}:{:02}:{:02}.{:03}",
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_778), (2026, 11, 21));
    }
}
