//! The active expiry cycle, in the style of Redis 7's `activeExpireCycle`.
//!
//! Lazy expiry only catches keys that are touched. Keys nobody reads again are reclaimed
//! here: each tick walks the keys that have a TTL with a cursor, [`KEYS_PER_STEP`] at a
//! time, holding the write lock only for one step. It keeps going while more than
//! [`ACCEPTABLE_STALE_PERCENT`] of a step was expired, and stops when the tick's time
//! budget (a quarter of `1/hz`, as Redis's slow cycle) runs out.

use std::time::{Duration, Instant};

use super::{Keyspace, Store};
use crate::util::now_ms;

/// Keys looked at per step (Redis's `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
pub const KEYS_PER_STEP: usize = 20;

/// Keep stepping while more than this share of a step was expired.
pub const ACCEPTABLE_STALE_PERCENT: usize = 10;

/// The share of each tick the cycle may use (Redis's `ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC`).
const TIME_PERCENT: u32 = 25;

/// Runs one tick of active expiry over every database, starting at `*next_db` and
/// leaving it where the time budget ran out, so that, as in Redis, a database full of
/// expired keys cannot keep the cycle from ever reaching the ones after it. Returns how
/// many keys it removed (they are also counted in each database's `expired_removed`)
/// and how long it held the keyspace lock.
/// `after_step` runs after each step, still under its lock (client-side caching takes
/// the keys the step removed there, before any command can).
pub fn cycle(
    store: &Store,
    hz: u32,
    next_db: &mut usize,
    mut after_step: impl FnMut(&mut Keyspace),
) -> (u64, Duration) {
    let budget =
        Duration::from_micros(1_000_000 * u64::from(TIME_PERCENT) / 100 / u64::from(hz.max(1)));
    let start = Instant::now();
    let mut removed_total = 0u64;
    let mut busy = Duration::ZERO;
    // The databases with keys to expire, seen under the read lock: the write lock is
    // taken only for them (not sixteen times a tick on a server without TTLs, each time
    // queueing behind, and then ahead of, the clients' writes).
    let with_ttls: Vec<bool> = {
        let ks = store.read();
        ks.dbs().iter().map(|db| db.expires_count() > 0).collect()
    };
    let db_count = with_ttls.len();
    for i in 0..db_count {
        let db = (*next_db + i) % db_count;
        if !with_ttls[db] {
            continue;
        }
        loop {
            let (sampled, removed) = {
                let mut ks = store.write();
                // Only the time spent holding the lock counts (the latency monitor's
                // `expire-cycle`), not the wait for it.
                let locked = Instant::now();
                if ks.db(db).expires_count() == 0 {
                    break;
                }
                let now = now_ms();
                let step = ks.db_mut(db).expire_step(KEYS_PER_STEP, now);
                after_step(&mut ks);
                busy += locked.elapsed();
                step
            };
            removed_total += removed as u64;
            if start.elapsed() >= budget {
                *next_db = db;
                return (removed_total, busy);
            }
            if sampled == 0 || removed * 100 <= sampled * ACCEPTABLE_STALE_PERCENT {
                break;
            }
        }
    }
    (removed_total, busy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;

    #[test]
    fn reclaims_untouched_expired_keys() {
        let store = Store::new(2);
        {
            let mut ks = store.write();
            for i in 0..5000u32 {
                let key = format!("k{i}");
                let db = (i % 2) as usize;
                ks.db_mut(db).set(key.as_bytes(), Value::Str(b"v".to_vec()));
                ks.db_mut(db).set_expiry(key.as_bytes(), 1, 0);
            }
            ks.db_mut(0).set(b"keep", Value::Str(b"v".to_vec()));
        }
        let mut removed = 0;
        let mut next_db = 0;
        for _ in 0..100 {
            removed += cycle(&store, 10, &mut next_db, |_| {}).0;
            if removed == 5000 {
                break;
            }
        }
        assert_eq!(removed, 5000);
        let ks = store.read();
        assert_eq!(ks.db(0).len() + ks.db(1).len(), 1);
    }
}
