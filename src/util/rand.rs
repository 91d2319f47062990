//! A small xorshift64* pseudo-random generator: enough for sampling, random replies and
//! test data, with no crates. Not for anything secret.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// The generator's state.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value; zero is remapped, as xorshift needs a non-zero
    /// state).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// A generator seeded from the clock.
    pub fn from_clock() -> Rng {
        Rng::new(super::now_us() ^ u64::from(std::process::id()) << 32)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next_u64() >> 56) as u8).collect()
    }
}

/// A generator seeded from the clock, the process and a counter, so that threads started
/// in the same microsecond still draw differently.
pub fn seeded() -> Rng {
    static STARTED: AtomicU64 = AtomicU64::new(0);
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    let mut clock = Rng::from_clock();
    Rng::new(clock.next_u64() ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

thread_local! {
    /// One generator per thread (each connection has its own), so draws take no lock.
    static THREAD_RNG: RefCell<Rng> = RefCell::new(seeded());
}

/// Runs `f` with this thread's generator (RANDOMKEY, SPOP, SRANDMEMBER, HRANDFIELD,
/// ZRANDMEMBER).
pub fn with_thread_rng<T>(f: impl FnOnce(&mut Rng) -> T) -> T {
    THREAD_RNG.with(|rng| f(&mut rng.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn deterministic_per_seed_and_spread_out() {
        assert_eq!(Rng::new(7).bytes(32), Rng::new(7).bytes(32));
        assert_ne!(Rng::new(7).bytes(32), Rng::new(8).bytes(32));
        let mut r = Rng::new(1);
        let mut counts = [0u32; 10];
        for _ in 0..10_000 {
            counts[r.below(10) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}
