//! Persistence: the dump format ([`dump`], with its checksum in [`crc64`]), Redis's RDB
//! format ([`rdb`]), saving and loading them safely ([`save`]), and the append-only file
//! ([`aof`]).

pub mod aof;
pub mod crc64;
pub mod dump;
pub mod rdb;
pub mod save;

use crate::store::{Keyspace, Limits};

/// Loads an RDB from `data` into `ks` as it is, keys already expired included (an AOF's
/// RDB preamble, a master's snapshot): returns what was loaded and where the RDB ends.
/// A database number beyond the configured ones is an error.
pub fn load_rdb_into(
    ks: &mut Keyspace,
    data: &[u8],
    limits: &Limits,
) -> Result<(dump::LoadStats, usize), String> {
    let dbs = ks.dbs().len();
    let mut bad_db = None;
    let loaded = rdb::read_prefix(data, 0, limits, |db, key, value, expires, hint, saved| {
        match usize::try_from(db).ok().filter(|&d| d < dbs) {
            Some(d) => {
                let hint = hint.min(data.len() as u64 / 3) as usize;
                ks.db_mut(d).load(key, value, expires, hint, saved);
            }
            None => bad_db = Some(db),
        }
    })
    .map_err(|e| e.to_string())?;
    match bad_db {
        Some(db) => Err(format!(
            "the file uses DB {db}, beyond the databases configured"
        )),
        None => Ok(loaded),
    }
}
