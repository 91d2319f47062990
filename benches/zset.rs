//! Criterion benches of the sorted set structure itself (no TCP): ZRANK and ZADD on a
//! 1,000-member and a 1,000,000-member set. Both are O(log n), so the big set should cost
//! within a small factor (3x) of the small one.
//!
//! Two probe sets tell the algorithm from the memory hierarchy: 4,096 random members
//! (at 1M, nearly every node visited is a cache miss, as for a real workload of random
//! keys), and 16 hot members (the paths stay in cache, so what is left is the number of
//! steps, which is what O(log n) predicts).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use redlite::store::{Limits, ZSet};
use redlite::util::rand::Rng;

fn member(i: u64) -> Vec<u8> {
    format!("member:{i:010}").into_bytes()
}

/// A set of `n` members with random scores.
fn build(n: u64, limits: &Limits) -> ZSet {
    let mut rng = Rng::new(7);
    let mut z = ZSet::new();
    for i in 0..n {
        z.insert(&member(i), (rng.below(1 << 40)) as f64, limits);
    }
    z
}

fn zset(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("zset");
    for n in [1_000u64, 1_000_000] {
        let mut z = build(n, &limits);
        let mut rng = Rng::new(11);
        let probes: Vec<Vec<u8>> = (0..4096).map(|_| member(rng.below(n))).collect();
        let mut k = 0;
        group.bench_function(format!("ZRANK {n} hot"), |b| {
            b.iter(|| {
                k = (k + 1) % 16;
                black_box(z.rank(black_box(&probes[k])))
            })
        });
        // The floor: ZSCORE is only the member -> score hash lookup that ZRANK starts with.
        group.bench_function(format!("ZSCORE {n}"), |b| {
            b.iter(|| {
                k = (k + 1) % probes.len();
                black_box(z.score(black_box(&probes[k])))
            })
        });
        group.bench_function(format!("ZRANK {n}"), |b| {
            b.iter(|| {
                k = (k + 1) % probes.len();
                black_box(z.rank(black_box(&probes[k])))
            })
        });
        // ZADD of an existing member with a new score (the set keeps its size): a
        // skiplist update, which is a delete and an insert when the member moves.
        group.bench_function(format!("ZADD {n}"), |b| {
            b.iter(|| {
                k = (k + 1) % probes.len();
                let score = rng.below(1 << 40) as f64;
                black_box(z.insert(black_box(&probes[k]), score, &limits))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, zset);
criterion_main!(benches);
