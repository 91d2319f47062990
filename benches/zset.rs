//! Criterion benches of the sorted set structure itself (no TCP): ZRANK and ZADD on a
//! 1,000-member and a 1,000,000-member set. Both are O(log n), so the big set should cost
//! within a small factor (3x) of the small one.
//!
//! The probes tell the algorithm from the memory hierarchy:
//! - `hot`: 16 members over and over. Their paths stay in cache, so what is left is the
//!   number of steps, which is what O(log n) predicts.
//! - random members of one set. A 1,000-member set then sits in the cache while at 1M
//!   nearly every lookup waits on main memory; ZSCORE, a plain hash lookup with no
//!   order at all, shows how much of the difference that alone makes.
//! - `cold`: random members of 1,000 sets of 1,000 members (a million members in all, as
//!   a server holding many small sets has), so the small case pays for main memory as
//!   the big one does.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use redlite::store::{Limits, ZSet};
use redlite::util::rand::Rng;

fn member(i: u64) -> Vec<u8> {
    format!("member:{i:010}").into_bytes()
}

/// A set of `n` members with random scores.
fn build(n: u64, rng: &mut Rng, limits: &Limits) -> ZSet {
    let mut z = ZSet::new();
    for i in 0..n {
        z.insert(&member(i), (rng.below(1 << 40)) as f64, limits);
    }
    z
}

/// ZSCORE, ZRANK and ZADD (an existing member, a new random score: the set keeps its
/// size) of `probes`, each a set index and a member.
fn probe(
    group: &mut BenchmarkGroup<WallTime>,
    name: &str,
    sets: &mut [ZSet],
    probes: &[(usize, Vec<u8>)],
) {
    let limits = Limits::default();
    let mut rng = Rng::new(13);
    let mut k = 0;
    let mut next = || {
        k = (k + 1) % probes.len();
        &probes[k]
    };
    group.bench_function(format!("ZSCORE {name}"), |b| {
        b.iter(|| {
            let (s, m) = next();
            black_box(sets[*s].score(black_box(m)))
        })
    });
    group.bench_function(format!("ZRANK {name}"), |b| {
        b.iter(|| {
            let (s, m) = next();
            black_box(sets[*s].rank(black_box(m)))
        })
    });
    group.bench_function(format!("ZADD {name}"), |b| {
        b.iter(|| {
            let (s, m) = next();
            let score = rng.below(1 << 40) as f64;
            black_box(sets[*s].insert(black_box(m), score, &limits))
        })
    });
}

fn zset(c: &mut Criterion) {
    let limits = Limits::default();
    let mut rng = Rng::new(7);
    let mut group = c.benchmark_group("zset");
    for n in [1_000u64, 1_000_000] {
        let mut sets = vec![build(n, &mut rng, &limits)];
        let random: Vec<_> = (0..4096).map(|_| (0, member(rng.below(n)))).collect();
        probe(&mut group, &format!("{n} hot"), &mut sets, &random[..16]);
        probe(&mut group, &format!("{n}"), &mut sets, &random);
    }
    let mut sets: Vec<_> = (0..1000).map(|_| build(1000, &mut rng, &limits)).collect();
    let cold: Vec<_> = (0..4096)
        .map(|_| (rng.below(1000) as usize, member(rng.below(1000))))
        .collect();
    probe(&mut group, "1000 cold", &mut sets, &cold);
    group.finish();
}

criterion_group!(benches, zset);
criterion_main!(benches);
