//! Persistence: the dump format ([`dump`], with its checksum in [`crc64`]), Redis's RDB
//! format ([`rdb`]), saving and loading them safely ([`save`]), and the append-only file
//! ([`aof`]).

pub mod aof;
pub mod crc64;
pub mod dump;
pub mod rdb;
pub mod save;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::store::{Keyspace, Limits};

/// Redis's `debugDelay` for `rdb-key-save-delay` and `key-load-delay` (settings its tests
/// use to slow a save or a load down): `usec` microseconds for each of `keys` keys, or
/// for a negative `usec` one microsecond every `-usec` keys. Sleeps in slices, giving up
/// when `abort` is set.
pub fn key_delay(usec: i64, keys: u64, abort: Option<&AtomicBool>) {
    let total_us = match usec {
        0 => return,
        n if n > 0 => (n as u64).saturating_mul(keys),
        n => keys / n.unsigned_abs(),
    };
    let end = std::time::Instant::now() + Duration::from_micros(total_us);
    loop {
        let now = std::time::Instant::now();
        if now >= end || abort.is_some_and(|a| a.load(Ordering::Relaxed)) {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// Loads an RDB from `data` into `ks` as it is, keys already expired included (an AOF's
/// RDB preamble, a master's snapshot): returns what was loaded and where the RDB ends.
/// A database number beyond the configured ones is an error.
pub fn load_rdb_into(
    ks: &mut Keyspace,
    data: &[u8],
    limits: &Limits,
    load_delay: i64,
) -> Result<(dump::LoadStats, usize), String> {
    let dbs = ks.dbs().len();
    let mut bad_db = None;
    // One reading of the clock for every key loaded (its resolution is a second).
    let clock_bits = ks.db(0).clock().initial();
    let loaded = rdb::read_prefix(data, 0, limits, |db, key, value, expires, hint, saved| {
        match usize::try_from(db).ok().filter(|&d| d < dbs) {
            Some(d) => {
                let hint = hint.min(data.len() as u64 / 3) as usize;
                ks.db_mut(d)
                    .load(key, value, expires, hint, saved, clock_bits);
            }
            None => bad_db = Some(db),
        }
        key_delay(load_delay, 1, None);
    })
    .map_err(|e| e.to_string())?;
    match bad_db {
        Some(db) => Err(format!(
            "the file uses DB {db}, beyond the databases configured"
        )),
        None => Ok(loaded),
    }
}
