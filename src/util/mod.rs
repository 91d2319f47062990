//! Small helpers with Redis's exact semantics, shared by every layer.

pub mod geohash;
pub mod glob;
pub mod num;
pub mod pqsort;
pub mod rand;
pub mod sha1;
pub mod sha256;

use std::time::{SystemTime, UNIX_EPOCH};

/// The bytes C's string functions see: up to the first NUL. Redis compares option words
/// and parses numbers with C string functions, so a NUL ends the word there.
pub fn c_str(s: &[u8]) -> &[u8] {
    s.iter().position(|&b| b == 0).map_or(s, |i| &s[..i])
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
