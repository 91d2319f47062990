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

/// How hard the cycle works, from `active-expire-effort` (1 to 10) as Redis rescales
/// it: more keys per step, more of each tick, and fewer expired keys left behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Effort {
    /// Keys looked at per step.
    pub keys_per_step: usize,
    /// The share of each tick the cycle may use, in percent.
    pub time_percent: u32,
    /// Keep stepping while more than this share of a step was expired.
    pub acceptable_stale_percent: usize,
}

impl Effort {
    /// Redis's `activeExpireCycle` settings for `active-expire-effort` `effort`.
    pub fn new(effort: u32) -> Effort {
        let e = effort.clamp(1, 10) - 1;
        Effort {
            keys_per_step: KEYS_PER_STEP + KEYS_PER_STEP / 4 * e as usize,
            time_percent: TIME_PERCENT + 2 * e,
            acceptable_stale_percent: ACCEPTABLE_STALE_PERCENT - e as usize,
        }
    }
}

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
    effort: Effort,
    next_db: &mut usize,
    mut after_step: impl FnMut(&mut Keyspace),
) -> (u64, Duration) {
    let budget = Duration::from_micros(
        1_000_000 * u64::from(effort.time_percent) / 100 / u64::from(hz.max(1)),
    );
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
                let step = ks.db_mut(db).expire_step(effort.keys_per_step, now);
                after_step(&mut ks);
                busy += locked.elapsed();
                step
            };
            removed_total += removed as u64;
            if start.elapsed() >= budget {
                *next_db = db;
                return (removed_total, busy);
            }
            if sampled == 0 || removed * 100 <= sampled * effort.acceptable_stale_percent {
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
            removed += cycle(&store, 10, Effort::new(1), &mut next_db, |_| {}).0;
            if removed == 5000 {
                break;
            }
        }
        assert_eq!(removed, 5000);
        let ks = store.read();
        assert_eq!(ks.db(0).len() + ks.db(1).len(), 1);
    }

    #[test]
    fn effort_scales_as_redis() {
        assert_eq!(
            Effort::new(1),
            Effort {
                keys_per_step: 20,
                time_percent: 25,
                acceptable_stale_percent: 10
            }
        );
        assert_eq!(
            Effort::new(10),
            Effort {
                keys_per_step: 65,
                time_percent: 43,
                acceptable_stale_percent: 1
            }
        );
    }

    #[test]
    fn more_effort_looks_at_more_keys_per_step() {
        // One step each, with every key expired: effort 10 takes 65 keys where 1 takes 20.
        for (effort, expected) in [(1, 20), (10, 65)] {
            let store = Store::new(1);
            {
                let mut ks = store.write();
                for i in 0..1000u32 {
                    let key = format!("k{i}");
                    ks.db_mut(0).set(key.as_bytes(), Value::Str(b"v".to_vec()));
                    ks.db_mut(0).set_expiry(key.as_bytes(), 1, 0);
                }
            }
            let mut steps = Vec::new();
            let effort = Effort::new(effort);
            let mut next_db = 0;
            let _ = cycle(&store, 10, effort, &mut next_db, |ks| {
                steps.push(1000 - ks.db(0).len())
            });
            assert_eq!(steps.first(), Some(&expected));
        }
    }
}
