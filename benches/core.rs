//! Criterion benches of the hot paths: request parsing, reply encoding, the keyspace
//! from one and two threads, the dump file, and the ACL check of a restricted user.
//! `make bench` runs them.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use redlite::persist::dump;
use redlite::resp::parse::Parsed;
use redlite::resp::reply::request;
use redlite::resp::{Args, Parser, Reply};
use redlite::store::{Keyspace, Limits, Store};

fn parse_one(parser: &mut Parser, args: &mut Args, input: &[u8]) {
    match parser.parse(input, args) {
        Ok(Parsed::Request(n)) => assert_eq!(n, input.len()),
        other => panic!("did not parse: {other:?}"),
    }
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    let set = request(&[&b"SET"[..], b"key:000000001234", &[b'x'; 100]]);
    let mut mset_args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
    for i in 0..50 {
        mset_args.push(format!("key:{i:012}").into_bytes());
        mset_args.push(vec![b'v'; 10]);
    }
    let refs: Vec<&[u8]> = mset_args.iter().map(Vec::as_slice).collect();
    let mset = request(&refs[..100]);
    let mut parser = Parser::new(512 * 1024 * 1024);
    let mut args = Args::default();
    group.throughput(Throughput::Elements(1));
    group.bench_function("SET 3 args", |b| {
        b.iter(|| parse_one(&mut parser, &mut args, black_box(&set)))
    });
    group.bench_function("inline PING", |b| {
        b.iter(|| parse_one(&mut parser, &mut args, black_box(b"PING\r\n")))
    });
    group.bench_function("MSET 100 args", |b| {
        b.iter(|| parse_one(&mut parser, &mut args, black_box(&mset)))
    });
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply");
    let mut out = Reply::new();
    let value = [b'x'; 100];
    group.bench_function("bulk 100 B", |b| {
        b.iter(|| {
            out.clear();
            out.bulk(black_box(&value));
        })
    });
    group.bench_function("integer", |b| {
        b.iter(|| {
            out.clear();
            out.int(black_box(1_234_567));
        })
    });
    group.bench_function("array of 100 bulks (LRANGE_100)", |b| {
        b.iter(|| {
            out.clear();
            out.array(100);
            for _ in 0..100 {
                out.bulk(black_box(b"xxx"));
            }
        })
    });
    group.finish();
}

const KEYS: u64 = 100_000;

fn key(i: u64) -> Vec<u8> {
    format!("key:{i:012}").into_bytes()
}

fn filled_store() -> Store {
    let store = Store::new(16);
    {
        let mut ks = store.write();
        for i in 0..KEYS {
            ks.db_mut(0).set_str(&key(i), &[b'x'; 100], false, 0);
        }
    }
    store
}

/// `threads` threads each run `ops` operations (half GET, half SET) against the store,
/// locking as the dispatcher does; returns the wall time.
fn run_mixed(store: &Arc<Store>, threads: u64, ops: u64) -> Duration {
    let keys: Arc<Vec<Vec<u8>>> = Arc::new((0..KEYS).map(key).collect());
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(store);
            let keys = Arc::clone(&keys);
            std::thread::spawn(move || {
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ t;
                for i in 0..ops {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let k = &keys[(x % KEYS) as usize];
                    if i % 2 == 0 {
                        let ks = store.read();
                        black_box(ks.db(0).get(k, 1).map(|e| e.str().map(<[u8]>::len)));
                    } else {
                        store.write().db_mut(0).set_str(k, &[b'y'; 100], false, 1);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

fn keyspace(c: &mut Criterion) {
    let mut group = c.benchmark_group("keyspace");
    let store = Arc::new(filled_store());
    group.throughput(Throughput::Elements(1));
    let keys: Vec<Vec<u8>> = (0..KEYS).map(key).collect();
    group.bench_function("GET hit, 1 thread", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 7919) % KEYS as usize;
            let ks = store.read();
            black_box(ks.db(0).get(&keys[i], 1).is_some())
        })
    });
    group.bench_function("SET overwrite, 1 thread", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 7919) % KEYS as usize;
            store
                .write()
                .db_mut(0)
                .set_str(&keys[i], &[b'z'; 100], false, 1);
        })
    });
    // Per-operation time with 1 and 2 threads sharing the lock: the 2-thread figure
    // shows what contention on the RwLock costs.
    for threads in [1u64, 2] {
        group.bench_function(format!("GET+SET mixed, {threads} thread(s)"), |b| {
            b.iter_custom(|iters| {
                let per_thread = (iters / threads).max(1);
                // Wall time for `iters` operations in all: per operation, the threads'
                // work overlaps as far as the lock lets it.
                run_mixed(&store, threads, per_thread)
            })
        });
    }
    group.finish();
}

fn dump_file(c: &mut Criterion) {
    let mut group = c.benchmark_group("dump");
    group.sample_size(10);
    group.throughput(Throughput::Elements(KEYS));
    let store = filled_store();
    let ks = store.read();
    let write = |ks: &Keyspace| {
        let mut w = dump::Writer::new(Vec::with_capacity(16 << 20)).unwrap();
        w.begin_db(0, ks.db(0).len() as u64).unwrap();
        for e in ks.db(0).iter() {
            w.entry(e.key(), e.value(), e.expires_at()).unwrap();
        }
        w.finish().unwrap()
    };
    group.bench_function("write 100k keys", |b| b.iter(|| black_box(write(&ks))));
    let bytes = write(&ks);
    group.bench_function("read 100k keys", |b| {
        b.iter_batched(
            || Keyspace::new(16),
            |mut fresh| {
                dump::read(
                    bytes.as_slice(),
                    0,
                    &Limits::default(),
                    |db, k, v, exp, n| {
                        fresh.db_mut(db as usize).load(
                            &k,
                            v,
                            exp,
                            n as usize,
                            Default::default(),
                            0,
                        )
                    },
                )
                .unwrap();
                fresh
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// What the dispatcher's ACL check costs a restricted user per request (the `default`
/// user skips it on one flag test): a GET and a SET against key patterns and a
/// category rule, as `make bench-acl` runs them over the network.
fn acl_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("acl");
    let mut user = redlite::acl::User::new(b"bench", false);
    for op in [
        "on",
        "~key:*",
        "~other:*",
        "-@all",
        "+@string",
        "+@connection",
    ] {
        user.apply(op.as_bytes(), false).unwrap();
    }
    let get_id = redlite::acl::lookup(b"get").unwrap();
    let set_id = redlite::acl::lookup(b"set").unwrap();
    let get = Args::from_slices(&[&b"GET"[..], b"key:000000001234"]);
    let set = Args::from_slices(&[&b"SET"[..], b"key:000000001234", b"xxx"]);
    group.throughput(Throughput::Elements(1));
    group.bench_function("restricted GET", |b| {
        b.iter(|| redlite::acl::check::check(&user, get_id, black_box(&get)))
    });
    group.bench_function("restricted SET", |b| {
        b.iter(|| redlite::acl::check::check(&user, set_id, black_box(&set)))
    });
    group.finish();
}

criterion_group!(benches, parsing, encoding, keyspace, dump_file, acl_check);
criterion_main!(benches);
