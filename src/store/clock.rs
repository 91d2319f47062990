//! Access clocks: each key's 24 bits of LRU time or LFU counter, as Redis keeps them in
//! every object's `lru` field (`evict.c`).
//!
//! - Under an LRU policy (and every policy that is not LFU) the bits hold the key's last
//!   access time in seconds, modulo 2^24 (Redis's `LRU_CLOCK`); OBJECT IDLETIME is the
//!   distance to now.
//! - Under an LFU policy they hold the minute of the last decrement in the high 16 bits
//!   and a logarithmic access counter in the low 8 (`LFU_INIT_VAL` for a new key). An
//!   access first decays the counter by one per `lfu-decay-time` minutes elapsed, then
//!   increments it with probability `1 / ((counter - 5) * lfu-log-factor + 1)`.
//!
//! Reads update the clock under the keyspace's read lock: the bits sit in an atomic
//! word of the entry, and two readers racing on one key just leave one of their
//! updates, as Redis would have done in either order.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Redis's `LRU_CLOCK_MAX`: the clock wraps at 24 bits.
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// Redis's `LFU_INIT_VAL`: the counter of a new key.
pub const LFU_INIT_VAL: u32 = 5;

/// How accesses are recorded: the eviction policy's kind and the LFU settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// The policy is an LFU one: the bits are a counter, not a time.
    pub lfu: bool,
    /// `lfu-log-factor`.
    pub log_factor: u32,
    /// `lfu-decay-time`, in minutes.
    pub decay_time: u32,
}

impl Default for Clock {
    /// Redis's defaults: LRU times, factor 10, decay 1 minute.
    fn default() -> Clock {
        Clock {
            lfu: false,
            log_factor: 10,
            decay_time: 1,
        }
    }
}

/// A key's clock as a file records it: Redis's RDB `IDLE` (seconds) or `FREQ` opcode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Saved {
    pub idle_secs: Option<u64>,
    pub freq: Option<u8>,
}

/// The time the clocks read, in Unix ms: kept by the cron ([`tick`]) so that an access
/// costs no system call, as Redis caches `server.lruclock`. Until the first tick, the
/// real time.
static NOW_MS: AtomicU64 = AtomicU64::new(0);

/// Advances the cached time (the cron calls this every tick).
pub fn tick() {
    NOW_MS.store(crate::util::now_ms(), Ordering::Relaxed);
}

fn now_ms() -> u64 {
    match NOW_MS.load(Ordering::Relaxed) {
        0 => crate::util::now_ms(),
        ms => ms,
    }
}

/// Redis's `LRU_CLOCK()`: seconds, on 24 bits.
pub fn lru_clock() -> u32 {
    ((now_ms() / 1000) as u32) & LRU_CLOCK_MAX
}

/// Redis's `LFUGetTimeInMinutes`: minutes, on 16 bits.
fn minutes() -> u32 {
    ((now_ms() / 60_000) as u32) & 0xffff
}

impl Clock {
    /// The bits of a key just created (Redis's `createObject`).
    pub fn initial(&self) -> u32 {
        if self.lfu {
            (minutes() << 8) | LFU_INIT_VAL
        } else {
            lru_clock()
        }
    }

    /// The bits after an access (Redis's `updateLFU`, or a fresh LRU time).
    pub fn accessed(&self, bits: u32) -> u32 {
        if !self.lfu {
            return lru_clock();
        }
        let counter = log_incr(self.decayed(bits), self.log_factor);
        (minutes() << 8) | counter
    }

    /// The LFU counter as of now, decayed but not incremented (Redis's
    /// `LFUDecrAndReturn`: what OBJECT FREQ answers and eviction ranks by).
    pub fn decayed(&self, bits: u32) -> u32 {
        let (last, counter) = (bits >> 8, bits & 0xff);
        let now = minutes();
        let elapsed = if now >= last {
            now - last
        } else {
            0xffff - last + now
        };
        let periods = elapsed.checked_div(self.decay_time).unwrap_or(0);
        counter.saturating_sub(periods)
    }

    /// The bits for RESTORE's IDLETIME or FREQ (Redis's `objectSetLRUOrLFU`): `None`
    /// when the option given does not apply to the policy (the bits stay as they are).
    pub fn restored(&self, idle_secs: Option<u64>, freq: Option<u32>) -> Option<u32> {
        if self.lfu {
            freq.map(|f| (minutes() << 8) | f.min(255))
        } else {
            idle_secs.map(|idle| {
                let now = i64::from(lru_clock());
                let abs = now - idle.min(i64::MAX as u64) as i64;
                // Before the clock's last wrap: wrapped too (7.0.15's unwrapping).
                if abs < 0 {
                    (abs + i64::from(LRU_CLOCK_MAX)).max(0) as u32
                } else {
                    abs as u32
                }
            })
        }
    }
}

/// Redis's `estimateObjectIdleTime`, in ms: how long ago the LRU time `bits` was.
pub fn idle_ms(bits: u32) -> u64 {
    let now = lru_clock();
    let secs = if now >= bits {
        now - bits
    } else {
        now + (LRU_CLOCK_MAX - bits)
    };
    u64::from(secs) * 1000
}

/// Redis's `LFULogIncr`: a logarithmic increment, saturating at 255.
fn log_incr(counter: u32, factor: u32) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL);
    let p = 1.0 / (f64::from(base) * f64::from(factor) + 1.0);
    if random_unit() < p {
        counter + 1
    } else {
        counter
    }
}

/// A uniform draw in [0, 1) from a per-thread generator (accesses come from every
/// connection thread, under a read lock).
fn random_unit() -> f64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(crate::util::now_ms() | 1);
    }
    STATE.with(|s| {
        // splitmix64
        let x = s.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        s.set(x);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LFU: Clock = Clock {
        lfu: true,
        log_factor: 10,
        decay_time: 1,
    };

    #[test]
    fn a_new_key_starts_at_the_initial_counter() {
        assert_eq!(LFU.initial() & 0xff, LFU_INIT_VAL);
        assert_eq!(LFU.decayed(LFU.initial()), LFU_INIT_VAL);
    }

    #[test]
    fn the_counter_grows_logarithmically() {
        let mut bits = LFU.initial();
        for _ in 0..100 {
            bits = LFU.accessed(bits);
        }
        let after_100 = bits & 0xff;
        // With factor 10, 100 hits reach about 10 (Redis's table in redis.conf).
        assert!((7..=14).contains(&after_100), "{after_100}");
        let zero_factor = Clock {
            log_factor: 0,
            ..LFU
        };
        let mut bits = zero_factor.initial();
        for _ in 0..300 {
            bits = zero_factor.accessed(bits);
        }
        assert_eq!(bits & 0xff, 255, "factor 0 counts every access, up to 255");
    }

    #[test]
    fn decay_takes_one_per_period() {
        let now = minutes();
        let bits = ((now.wrapping_sub(3) & 0xffff) << 8) | 10;
        assert_eq!(LFU.decayed(bits), 7);
        assert_eq!(
            Clock {
                decay_time: 0,
                ..LFU
            }
            .decayed(bits),
            10
        );
        let long_ago = ((now.wrapping_sub(50) & 0xffff) << 8) | 10;
        assert_eq!(LFU.decayed(long_ago), 0);
    }

    #[test]
    fn idle_time_wraps_around_the_clock() {
        let now = lru_clock();
        assert_eq!(idle_ms(now), 0);
        let earlier = now.wrapping_sub(5) & LRU_CLOCK_MAX;
        assert_eq!(idle_ms(earlier), 5000);
        let lru = Clock::default();
        assert_eq!(lru.restored(Some(10), None).map(idle_ms), Some(10_000));
        assert_eq!(lru.restored(None, Some(3)), None);
        assert_eq!(LFU.restored(None, Some(300)).map(|b| b & 0xff), Some(255));
    }
}
