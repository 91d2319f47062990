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

/// Redis's `sdscatrepr`: appends a double-quoted, escaped copy of `s` (printable ASCII as
/// it is, `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b`, anything else as `\xhh`).
pub fn push_repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            b' '..=b'~' => out.push(c),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[usize::from(c >> 4)],
                    HEX[usize::from(c & 15)],
                ]);
            }
        }
    }
    out.push(b'"');
}

/// Hashes a static table entry's address (the command table's, looked up per request):
/// one multiplication, where the default SipHash would cost more than the lookup's
/// purpose. Entries are distinct statics, so there are no chosen collisions to fear.
/// Bytes (the command table's names) are hashed with FNV-1a.
#[derive(Default)]
pub struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_usize(&mut self, n: usize) {
        // Fibonacci hashing, its high half folded into the low one: the map indexes
        // by the low bits, and addresses' low bits are all alike (alignment).
        let h = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 32);
    }
}

/// A map keyed by addresses, hashed with [`AddrHasher`].
pub type AddrMap<V> =
    std::collections::HashMap<usize, V, std::hash::BuildHasherDefault<AddrHasher>>;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    since_epoch(1000, 1_000_000)
}

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    since_epoch(1_000_000, 1000)
}

/// The clock in units of which a second holds `per_sec` and a unit `ns` nanoseconds.
/// In 64-bit arithmetic: `Duration::as_micros` divides a u128, a library call that
/// cost as much as the clock read itself (two readings per command).
fn since_epoch(per_sec: u64, ns: u32) -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| units(d, per_sec, ns))
        .unwrap_or(0)
}

fn units(d: std::time::Duration, per_sec: u64, ns: u32) -> u64 {
    d.as_secs() * per_sec + u64::from(d.subsec_nanos() / ns)
}

#[cfg(test)]
mod clock_tests {
    use std::time::Duration;

    #[test]
    fn units_agree_with_the_u128_conversions() {
        for d in [
            Duration::ZERO,
            Duration::new(1_764_000_000, 999_999_999),
            Duration::new(1_764_000_123, 1_500),
            Duration::from_nanos(999),
        ] {
            assert_eq!(super::units(d, 1_000_000, 1000) as u128, d.as_micros());
            assert_eq!(super::units(d, 1000, 1_000_000) as u128, d.as_millis());
        }
    }
}
