//! Eviction: which keys go when the memory account passes `maxmemory` (Redis's
//! `evict.c`).
//!
//! Redis approximates LRU, LFU and TTL order by sampling: each round it draws
//! `maxmemory-samples` keys from every database (all keys, or only those with an expiry
//! for the `volatile-*` policies), ranks them by idle time, by `255 - frequency`, or by
//! how soon they expire, and keeps the 16 best candidates seen so far in a pool that
//! survives between rounds. The best candidate still present goes. The random policies
//! take a random key instead, visiting the databases in turn.
//!
//! [`Keyspace::evict`] deletes until the account is back under the limit, nothing is
//! left to evict, or its time budget (from `maxmemory-eviction-tenacity`) runs out. Each
//! key evicted is recorded as Redis records it: a modification, the `evicted` event and
//! a propagated `DEL` (`UNLINK` under `lazyfree-lazy-eviction`).

use std::time::{Duration, Instant};

use super::clock::{self, Clock};
use super::effects::class;
use super::{Key, Keyspace};
use crate::util::rand::Rng;

/// Redis's `EVPOOL_SIZE`.
const POOL_SIZE: usize = 16;

/// The eight `maxmemory-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    #[default]
    NoEviction,
}

impl Policy {
    /// The policy a `maxmemory-policy` value names.
    pub fn parse(name: &str) -> Option<Policy> {
        Some(match name {
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            "allkeys-lru" => Policy::AllkeysLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            "noeviction" => Policy::NoEviction,
            _ => return None,
        })
    }

    /// Whether keys' clocks count accesses rather than time (Redis's
    /// `MAXMEMORY_FLAG_LFU`).
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu)
    }

    /// Whether only keys with an expiry may go.
    fn volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    /// Whether Redis's shared integers are allowed: not under LRU or LFU policies, where
    /// each key needs its own clock (Redis's `MAXMEMORY_FLAG_NO_SHARED_INTEGERS`).
    pub fn shares_integers(self) -> bool {
        !matches!(
            self,
            Policy::VolatileLru | Policy::VolatileLfu | Policy::AllkeysLru | Policy::AllkeysLfu
        )
    }
}

/// The eviction settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub policy: Policy,
    /// `maxmemory-samples`.
    pub samples: usize,
    /// `maxmemory-eviction-tenacity`.
    pub tenacity: u32,
    /// `lazyfree-lazy-eviction`: evicted keys propagate as UNLINK.
    pub lazy: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            policy: Policy::NoEviction,
            samples: 5,
            tenacity: 10,
            lazy: false,
        }
    }
}

impl Settings {
    /// How long one call may evict before it leaves the rest for later (Redis's
    /// `evictionTimeLimitUs`): 50 µs per step of tenacity up to 10, then 15% more per
    /// step, and no limit at 100.
    pub fn time_limit(&self) -> Option<Duration> {
        let t = self.tenacity;
        let us = if t <= 10 {
            50.0 * f64::from(t)
        } else if t < 100 {
            500.0 * 1.15f64.powf(f64::from(t) - 10.0)
        } else {
            return None;
        };
        Some(Duration::from_micros(us as u64))
    }
}

/// How an eviction pass ended (Redis's `EVICT_OK`, `EVICT_RUNNING`, `EVICT_FAIL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The account is under the limit.
    Ok,
    /// Keys went but the time budget ran out first: more will go on the next call.
    Running,
    /// Over the limit with nothing (more) to evict.
    Fail,
}

/// A candidate: how good a victim it is (higher goes first), its database and key.
#[derive(Debug, Clone)]
struct Candidate {
    score: u64,
    db: usize,
    key: Key,
}

/// The eviction pool (Redis's `EvictionPoolLRU`): the best candidates of the sampling
/// rounds so far, in increasing score, with the random policies' database cursor.
#[derive(Debug, Default)]
pub struct Pool {
    best: Vec<Candidate>,
    next_db: usize,
}

impl Pool {
    /// Offers a sampled key (Redis's `evictionPoolPopulate` for one key): it enters if
    /// the pool has room or it beats the worst, which then leaves.
    fn offer(&mut self, score: u64, db: usize, key: &[u8]) {
        if self.best.iter().any(|c| c.db == db && *c.key == *key) {
            return;
        }
        let at = self.best.partition_point(|c| c.score < score);
        if self.best.len() == POOL_SIZE {
            if at == 0 {
                return;
            }
            self.best.remove(0);
            self.best.insert(
                at - 1,
                Candidate {
                    score,
                    db,
                    key: key.into(),
                },
            );
        } else {
            self.best.insert(
                at,
                Candidate {
                    score,
                    db,
                    key: key.into(),
                },
            );
        }
    }
}

/// A key's rank as a victim under `policy`: idle time, rarity, or nearness of expiry.
fn score(policy: Policy, clock: &Clock, bits: u32, expires_at: u64) -> u64 {
    match policy {
        Policy::VolatileLru | Policy::AllkeysLru => clock::idle_ms(bits),
        Policy::VolatileLfu | Policy::AllkeysLfu => 255 - u64::from(clock.decayed(bits)),
        // Sooner expiry is better (Redis's `ULLONG_MAX - expire`).
        _ => u64::MAX - expires_at,
    }
}

impl Keyspace {
    /// Evicts keys until the account, plus `other` bytes held outside the keyspace, is
    /// at most `limit` (Redis's `performEvictions`). What each eviction did is recorded
    /// in the effects record, which the caller delivers. Returns how it ended and how
    /// many keys went.
    pub fn evict(
        &mut self,
        limit: usize,
        other: usize,
        settings: &Settings,
        rng: &mut Rng,
    ) -> (Outcome, u64) {
        self.settle();
        let used = |ks: &Keyspace| ks.used_memory() + other;
        if used(self) <= limit {
            return (Outcome::Ok, 0);
        }
        if settings.policy == Policy::NoEviction {
            return (Outcome::Fail, 0);
        }
        let started = Instant::now();
        let budget = settings.time_limit();
        let mut evicted = 0u64;
        while used(self) > limit {
            let Some((db, key)) = self.pick_victim(settings, rng) else {
                return (Outcome::Fail, evicted);
            };
            self.evict_key(db, &key, settings.lazy);
            evicted += 1;
            if evicted.is_multiple_of(16) && budget.is_some_and(|b| started.elapsed() > b) {
                return (
                    if used(self) <= limit {
                        Outcome::Ok
                    } else {
                        Outcome::Running
                    },
                    evicted,
                );
            }
        }
        (Outcome::Ok, evicted)
    }

    /// Removes one key as eviction does, recording it (see the module's documentation).
    fn evict_key(&mut self, db: usize, key: &[u8], lazy: bool) {
        if let Some(entry) = self.db_mut(db).delete(key) {
            crate::lazyfree::free(entry, crate::lazyfree::Reason::Eviction);
        }
        self.changed(class::EVICTED, "evicted", db, key);
        let del: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
        self.propagate(db, &[del, key]);
    }

    /// The next key to evict under `settings`, or `None` if no key may go.
    fn pick_victim(&mut self, settings: &Settings, rng: &mut Rng) -> Option<(usize, Key)> {
        let policy = settings.policy;
        if matches!(policy, Policy::AllkeysRandom | Policy::VolatileRandom) {
            let n = self.dbs.len();
            for _ in 0..n {
                let i = self.evict_pool.next_db % n;
                self.evict_pool.next_db = self.evict_pool.next_db.wrapping_add(1);
                let db = &self.dbs[i];
                let key: Option<Key> = if policy.volatile() {
                    (!db.ttl_keys.is_empty())
                        .then(|| db.ttl_keys[rng.below(db.ttl_keys.len() as u64) as usize].clone())
                } else {
                    db.table.random_fair(rng).map(|e| e.key().into())
                };
                if let Some(key) = key {
                    return Some((i, key));
                }
            }
            return None;
        }
        loop {
            let mut total = 0;
            for i in 0..self.dbs.len() {
                let db = &self.dbs[i];
                let clock = db.clock;
                if policy.volatile() {
                    total += db.ttl_keys.len();
                    if db.ttl_keys.is_empty() {
                        continue;
                    }
                    for _ in 0..settings.samples {
                        let key = &db.ttl_keys[rng.below(db.ttl_keys.len() as u64) as usize];
                        if let Some(e) = db.table.get(key) {
                            let s = score(policy, &clock, e.clock_bits(), e.expires_at);
                            self.evict_pool.offer(s, i, key);
                        }
                    }
                } else {
                    total += db.table.len();
                    for e in db.table.sample(rng, settings.samples) {
                        let s = score(policy, &clock, e.clock_bits(), e.expires_at);
                        self.evict_pool.offer(s, i, e.key());
                    }
                }
            }
            if total == 0 {
                return None;
            }
            // The best candidate still there goes; the ones gone since are dropped.
            while let Some(c) = self.evict_pool.best.pop() {
                let db = &self.dbs[c.db];
                let present = db
                    .table
                    .get(&c.key)
                    .is_some_and(|e| !policy.volatile() || e.expires_at != 0);
                if present {
                    return Some((c.db, c.key));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;

    fn settings(policy: Policy) -> Settings {
        Settings {
            policy,
            samples: 10,
            tenacity: 100,
            lazy: false,
        }
    }

    fn fill(ks: &mut Keyspace, n: usize, ttl_every: usize) {
        let db = ks.db_mut(0);
        for i in 0..n {
            let key = format!("k{i}");
            db.set(key.as_bytes(), Value::Str(vec![b'x'; 100]));
            if ttl_every > 0 && i % ttl_every == 0 {
                db.set_expiry(key.as_bytes(), u64::MAX / 2 - i as u64, 0);
            }
        }
        ks.settle();
    }

    #[test]
    fn the_pool_keeps_the_best_sixteen_in_order() {
        let mut pool = Pool::default();
        for s in 0..40u64 {
            pool.offer(s * 7 % 40, 0, format!("k{s}").as_bytes());
        }
        assert_eq!(pool.best.len(), POOL_SIZE);
        let scores: Vec<u64> = pool.best.iter().map(|c| c.score).collect();
        assert_eq!(scores, (24..40).collect::<Vec<_>>());
    }

    #[test]
    fn evicts_down_to_the_limit_and_records_each_key() {
        let mut ks = Keyspace::new(1);
        fill(&mut ks, 1000, 0);
        let before = ks.used_memory();
        let limit = before / 2;
        ks.begin(crate::store::Wanted::ALL);
        let (outcome, n) = ks.evict(limit, 0, &settings(Policy::AllkeysLru), &mut Rng::new(1));
        assert_eq!(outcome, Outcome::Ok);
        assert!(ks.used_memory() <= limit);
        assert_eq!(ks.db(0).len() as u64, 1000 - n);
        let fx = ks.take_effects();
        assert_eq!(fx.events.len() as u64, n);
        assert!(fx.events.iter().all(|e| e.name == "evicted"));
        assert_eq!(fx.ops[0].argv[0], b"DEL");
    }

    #[test]
    fn volatile_policies_only_take_keys_with_an_expiry() {
        for policy in [
            Policy::VolatileLru,
            Policy::VolatileLfu,
            Policy::VolatileRandom,
            Policy::VolatileTtl,
        ] {
            let mut ks = Keyspace::new(2);
            fill(&mut ks, 300, 3);
            let (outcome, n) = ks.evict(0, 0, &settings(policy), &mut Rng::new(2));
            assert_eq!(outcome, Outcome::Fail, "{policy:?}");
            assert_eq!(n, 100, "{policy:?}: every volatile key, and nothing else");
            assert_eq!(ks.db(0).len(), 200);
            assert_eq!(ks.db(0).expires_count(), 0);
        }
    }

    /// Fills 1000 keys, half of them marked by `mark` (even keys) and the others by
    /// `rest`, evicts about a quarter of the account under `policy`, and returns how many
    /// keys of each half went: (marked, rest).
    fn evict_quarter(policy: Policy, clock: Clock, mark: u32, rest: u32) -> (usize, usize) {
        let mut ks = Keyspace::new(1);
        ks.set_clock(clock);
        fill(&mut ks, 1000, 0);
        for i in 0..1000 {
            let e = ks.db(0).peek(format!("k{i}").as_bytes(), 0).expect("there");
            e.set_clock_bits(if i % 2 == 0 { mark } else { rest });
        }
        let limit = ks.used_memory() * 3 / 4;
        let (outcome, _) = ks.evict(limit, 0, &settings(policy), &mut Rng::new(5));
        assert_eq!(outcome, Outcome::Ok);
        let gone = |even: bool| {
            (0..1000)
                .filter(|i| (i % 2 == 0) == even)
                .filter(|i| ks.db(0).peek(format!("k{i}").as_bytes(), 0).is_none())
                .count()
        };
        (gone(true), gone(false))
    }

    #[test]
    fn lru_takes_the_keys_idle_longest() {
        let now = clock::lru_clock();
        let (recent, idle) = evict_quarter(
            Policy::AllkeysLru,
            Clock::default(),
            now,
            now.wrapping_sub(3600) & clock::LRU_CLOCK_MAX,
        );
        assert!(idle > 200, "{idle}");
        assert_eq!(
            recent, 0,
            "no key read just now goes while idle ones remain"
        );
    }

    #[test]
    fn lfu_takes_the_keys_used_least() {
        let lfu = Clock {
            lfu: true,
            ..Clock::default()
        };
        let fresh = lfu.initial() & !0xff;
        let (hot, cold) = evict_quarter(Policy::AllkeysLfu, lfu, fresh | 200, fresh | 1);
        assert!(cold > 200, "{cold}");
        assert_eq!(hot, 0, "no frequently used key goes while rare ones remain");
    }

    #[test]
    fn random_policies_take_from_everywhere() {
        let (a, b) = evict_quarter(Policy::AllkeysRandom, Clock::default(), 0, 0);
        assert!(a > 50 && b > 50, "{a} {b}");
    }

    #[test]
    fn volatile_ttl_takes_the_soonest_expiry_first() {
        let mut ks = Keyspace::new(1);
        fill(&mut ks, 100, 1);
        let limit = ks.used_memory() - 1;
        let (_, n) = ks.evict(limit, 0, &settings(Policy::VolatileTtl), &mut Rng::new(3));
        assert_eq!(n, 1);
        // k99 expires soonest; sampling 10 of 100 keys with a pool finds one of the
        // soonest, not necessarily the very first.
        let gone: Vec<usize> = (0..100)
            .filter(|i| !ks.db(0).contains(format!("k{i}").as_bytes(), 0))
            .collect();
        assert_eq!(gone.len(), 1);
        assert!(gone[0] >= 50, "{gone:?}");
    }

    #[test]
    fn noeviction_fails_and_the_budget_stops_early() {
        let mut ks = Keyspace::new(1);
        fill(&mut ks, 100, 0);
        assert_eq!(
            ks.evict(0, 0, &settings(Policy::NoEviction), &mut Rng::new(4)),
            (Outcome::Fail, 0)
        );
        assert_eq!(
            ks.evict(
                usize::MAX,
                0,
                &settings(Policy::AllkeysLru),
                &mut Rng::new(4)
            )
            .0,
            Outcome::Ok
        );
        let zero_budget = Settings {
            tenacity: 0,
            ..settings(Policy::AllkeysRandom)
        };
        let (outcome, n) = ks.evict(0, 0, &zero_budget, &mut Rng::new(4));
        assert_eq!(
            (outcome, n),
            (Outcome::Running, 16),
            "checked every 16 keys"
        );
    }

    #[test]
    fn tenacity_sets_the_time_limit_as_redis() {
        let t = |tenacity| {
            Settings {
                tenacity,
                ..Settings::default()
            }
            .time_limit()
        };
        assert_eq!(t(0), Some(Duration::ZERO));
        assert_eq!(t(10), Some(Duration::from_micros(500)));
        assert_eq!(t(11), Some(Duration::from_micros(575)));
        assert_eq!(t(100), None);
    }
}
