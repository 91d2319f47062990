//! Criterion benches of the hot paths (filled in by the benchmarking issue).
use criterion::{criterion_group, criterion_main, Criterion};
use redlite::resp::{Args, Parser};

fn parse_set(c: &mut Criterion) {
    let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    let mut parser = Parser::new(512 * 1024 * 1024);
    let mut args = Args::default();
    c.bench_function("parse SET", |b| {
        b.iter(|| parser.parse(input, &mut args).unwrap())
    });
}

criterion_group!(benches, parse_set);
criterion_main!(benches);
