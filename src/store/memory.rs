//! The memory account: what the dataset holds, in bytes of heap, kept as values change.
//!
//! Redis reads `used_memory` from its allocator. A counting allocator would need
//! `unsafe`, so redlite keeps an account instead: each key is charged what its table
//! node, its key and value buffers and its value's structures take from the allocator,
//! each allocation rounded up as glibc's malloc rounds it ([`alloc`]).
//!
//! A database charges a key when it is created and credits it when it goes. A key
//! changed in place (APPEND, HSET, LPUSH...) is noted, with its cost, when a write looks
//! it up ([`super::Db::get_mut`]); once the command ends, [`super::Keyspace`] measures
//! the noted keys again and books the difference (in a pipelined batch under one write
//! lock, after every few commands: see [`super::Keyspace::settle_later`]). The cost of
//! a large collection is estimated from a fixed sample of its elements (the first ones
//! in its own order, so that the same collection is always given the same cost and the
//! booked differences add up exactly), as Redis's MEMORY USAGE samples.

use std::mem::size_of;

use super::{Body, Entry, ValueRef};

/// How many elements of a collection are measured to estimate its cost (the rest are
/// taken to cost the same on average). MEMORY USAGE's SAMPLES overrides it.
pub const ACCOUNT_SAMPLES: usize = 8;

/// What glibc's malloc takes for a request of `n` bytes: the request plus its 8-byte
/// header, rounded up to 16, and at least 32; nothing for an empty request (Rust does
/// not allocate those).
pub const fn alloc(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let chunk = (n + 8 + 15) & !15;
    if chunk < 32 {
        32
    } else {
        chunk
    }
}

/// What a key costs: its table node, and its key and value's buffers and structures.
pub fn entry_bytes(entry: &Entry, samples: usize) -> usize {
    let node = alloc(super::table::Table::<Entry>::node_size());
    node + match &entry.body {
        Body::Str(kv) => alloc(kv.capacity()),
        // In the table node: nothing besides it.
        Body::Inline { .. } => 0,
        Body::Hash(h) => h.heap_bytes(samples),
        Body::Set(s) => s.heap_bytes(samples),
        Body::ZSet(z) => z.heap_bytes(samples),
        Body::Boxed(key, value) => {
            alloc(key.len())
                + alloc(size_of::<super::Value>())
                + value_bytes(value.as_ref().as_ref(), samples)
        }
    }
}

/// What a value holds beyond its own struct.
pub fn value_bytes(value: ValueRef<'_>, samples: usize) -> usize {
    match value {
        ValueRef::Str(s) => alloc(s.len()),
        ValueRef::List(l) => l.heap_bytes(samples),
        ValueRef::Hash(h) => h.heap_bytes(samples),
        ValueRef::Set(s) => s.heap_bytes(samples),
        ValueRef::ZSet(z) => z.heap_bytes(samples),
        ValueRef::Stream(s) => s.heap_bytes(samples),
    }
}

/// The total for `len` elements, from the costs of the first few measured: exact when
/// every element was, else their average times `len`.
pub fn sampled(len: usize, samples: usize, costs: impl Iterator<Item = usize>) -> usize {
    let (mut total, mut seen) = (0usize, 0usize);
    for cost in costs.take(samples.max(1)) {
        total += cost;
        seen += 1;
    }
    if seen == 0 || seen >= len {
        return total;
    }
    // In 64 bits when the product fits (a u128 division is a library call).
    match total.checked_mul(len) {
        Some(product) => product / seen,
        None => (total as u128 * len as u128 / seen as u128) as usize,
    }
}

/// Formats a byte count as Redis's `bytesToHuman` does (`1.50M`, `512B`).
pub fn human(n: u64) -> String {
    let units = ["K", "M", "G", "T", "P"];
    let mut size = 1024u64;
    if n < size {
        return format!("{n}B");
    }
    for unit in units {
        match size.checked_mul(1024) {
            Some(next) if n >= next => size = next,
            _ => return format!("{:.2}{unit}", n as f64 / size as f64),
        }
    }
    format!("{n}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_rounds_as_glibc() {
        assert_eq!(alloc(0), 0);
        assert_eq!(alloc(1), 32);
        assert_eq!(alloc(24), 32);
        assert_eq!(alloc(25), 48);
        assert_eq!(alloc(56), 64);
        assert_eq!(alloc(64), 80);
        assert_eq!(alloc(100), 112);
    }

    #[test]
    fn sampled_is_exact_for_small_and_scaled_for_large() {
        assert_eq!(sampled(3, 16, [1, 2, 3].into_iter()), 6);
        assert_eq!(sampled(100, 2, [10, 20, 99].into_iter()), 1500);
        assert_eq!(sampled(0, 5, std::iter::empty()), 0);
    }

    #[test]
    fn human_matches_redis() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(1024), "1.00K");
        assert_eq!(human(1536 * 1024), "1.50M");
        assert_eq!(human(10 * 1024 * 1024 * 1024), "10.00G");
    }
}
