//! The cache workload of issue #18: Zipfian GETs over a large key space, with a SET of
//! the key on every miss, from many connections at once.
//!
//! ```text
//! cargo bench --bench cache_load -- PORT [KEYS] [OPS] [CONNS] [VALUE] [ZIPF_S] [SEED] [PIPELINE]
//! cargo bench --bench cache_load -- 6379 2000000 1000000 50 100 0.99 1 1
//! ```
//!
//! - KEYS: distinct keys `key:%012d`, ranks 1..=KEYS (default 2,000,000);
//! - OPS: GETs in all, shared between the connections (default 1,000,000);
//! - CONNS: connections, each on its own thread (default 50);
//! - VALUE: bytes of each value SET on a miss (default 100);
//! - ZIPF_S: the Zipf exponent; rank k is drawn with weight k^-s (default 0.99);
//! - SEED: connection i draws from its own SplitMix64 stream seeded from SEED and i, so
//!   the same SEED sends the same keys in the same order on each connection to any
//!   server (default 1);
//! - PIPELINE: GETs sent before reading their replies; the SETs for the misses among them
//!   go as a second batch (default 1).
//!
//! It prints one line of `name=value` fields on stdout, for the scripts to read:
//! `cache_load ops=.. hits=.. misses=.. hit_rate=.. errors=.. elapsed=.. ops_per_sec=..`,
//! where ops are GETs (a miss costs a GET and a SET) and errors counts error replies
//! (for instance OOM under a noeviction policy) and GETs answered with a value other
//! than the one this client SETs. The clock runs from the moment every
//! connection is open until the last one is done.
//!
//! Without a PORT (as `cargo test --all-targets` runs it, harness = false having no test
//! runner) it runs its self-checks of the Zipf sampler and the RESP reader instead.
//! `benches/cache.sh` (`make bench-cache`) drives it against both servers.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// The command-line settings, with the defaults of the module doc.
#[derive(Debug, Clone)]
struct Settings {
    port: u16,
    keys: usize,
    ops: u64,
    conns: usize,
    value_size: usize,
    zipf_s: f64,
    seed: u64,
    pipeline: usize,
}

const USAGE: &str =
    "usage: cache_load PORT [KEYS] [OPS] [CONNS] [VALUE] [ZIPF_S] [SEED] [PIPELINE]";

impl Settings {
    /// Reads the positional arguments (`cargo bench`'s own `--bench` is dropped); `None`
    /// when there is no port.
    fn parse(args: &[String]) -> Result<Option<Settings>, String> {
        let args: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .filter(|a| *a != "--bench")
            .collect();
        if args.is_empty() {
            return Ok(None);
        }
        if args.len() > 8 {
            return Err(format!("too many arguments\n{USAGE}"));
        }
        fn arg<T: std::str::FromStr>(args: &[&str], i: usize, default: T) -> Result<T, String> {
            match args.get(i) {
                None => Ok(default),
                Some(a) => a
                    .parse()
                    .map_err(|_| format!("bad argument {a:?}\n{USAGE}")),
            }
        }
        let s = Settings {
            port: arg(&args, 0, 0)?,
            keys: arg(&args, 1, 2_000_000)?,
            ops: arg(&args, 2, 1_000_000)?,
            conns: arg(&args, 3, 50)?,
            value_size: arg(&args, 4, 100)?,
            zipf_s: arg(&args, 5, 0.99)?,
            seed: arg(&args, 6, 1)?,
            pipeline: arg(&args, 7, 1)?,
        };
        if s.keys == 0 || s.conns == 0 || s.pipeline == 0 || !s.zipf_s.is_finite() || s.zipf_s < 0.0
        {
            return Err(format!(
                "KEYS, CONNS and PIPELINE must be positive, ZIPF_S >= 0\n{USAGE}"
            ));
        }
        Ok(Some(s))
    }
}

/// SplitMix64 (Steele, Lea and Flood): small, fast, and good enough to drive a workload.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1), from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The Zipf distribution over ranks 1..=n, P(k) = k^-s / H(n, s), sampled by inverting
/// its cumulative table (computed once and shared: 2M ranks take 16 MB, and a draw is a
/// binary search of about 21 steps).
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for k in 1..=n {
            sum += (k as f64).powf(-s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        // Rounding must not leave a draw near 1 without a rank.
        if let Some(last) = cdf.last_mut() {
            *last = 1.0;
        }
        Zipf { cdf }
    }

    /// The rank (1-based) for a uniform draw `u` in [0, 1): the first k with CDF(k) > u.
    fn rank(&self, u: f64) -> usize {
        let i = self.cdf.partition_point(|&c| c <= u);
        i.min(self.cdf.len() - 1) + 1
    }
}

/// Appends a RESP multibulk request of `args` to `out`.
fn write_request(out: &mut Vec<u8>, args: &[&[u8]]) {
    let _ = write!(out, "*{}\r\n", args.len());
    for a in args {
        let _ = write!(out, "${}\r\n", a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// One RESP2 reply, as far as this client cares.
#[derive(Debug, PartialEq)]
enum Reply {
    /// `$-1` or `*-1`.
    Nil,
    /// `+...`
    Status(Vec<u8>),
    /// `-...`
    Error(Vec<u8>),
    /// `:...`
    Int(i64),
    /// `$n`
    Bulk(Vec<u8>),
    /// `*n`
    Array(Vec<Reply>),
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Reads one line without its CRLF; a closed connection mid-line is an error.
fn read_line(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\r\n") {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "reply cut short",
        ));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn parse_int(b: &[u8]) -> io::Result<i64> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad integer in reply"))
}

/// Reads one whole reply.
fn read_reply(r: &mut impl BufRead) -> io::Result<Reply> {
    let line = read_line(r)?;
    let (&kind, rest) = line.split_first().ok_or_else(|| bad("empty reply line"))?;
    match kind {
        b'+' => Ok(Reply::Status(rest.to_vec())),
        b'-' => Ok(Reply::Error(rest.to_vec())),
        b':' => Ok(Reply::Int(parse_int(rest)?)),
        b'$' => {
            let n = parse_int(rest)?;
            if n < 0 {
                return Ok(Reply::Nil);
            }
            let mut body = vec![0; n as usize + 2];
            r.read_exact(&mut body)?;
            if !body.ends_with(b"\r\n") {
                return Err(bad("bulk reply without its CRLF"));
            }
            body.truncate(n as usize);
            Ok(Reply::Bulk(body))
        }
        b'*' => {
            let n = parse_int(rest)?;
            if n < 0 {
                return Ok(Reply::Nil);
            }
            (0..n)
                .map(|_| read_reply(r))
                .collect::<io::Result<_>>()
                .map(Reply::Array)
        }
        _ => Err(bad("unknown reply type")),
    }
}

/// What one connection counted.
#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    ops: u64,
    hits: u64,
    misses: u64,
    errors: u64,
}

/// The seed of connection `i`'s stream: distinct per connection, fixed per SEED.
fn stream_seed(seed: u64, i: usize) -> u64 {
    SplitMix64(seed ^ (i as u64).wrapping_mul(0xd1b5_4a32_d192_ed03)).next_u64()
}

/// Opens one connection: a writer and a buffered reader of the same socket.
fn connect(port: u16) -> io::Result<(TcpStream, BufReader<TcpStream>)> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let out = stream.try_clone()?;
    Ok((out, BufReader::with_capacity(64 * 1024, stream)))
}

/// One connection's share of the workload: `ops` GETs, a SET after each nil.
fn run_connection(
    s: &Settings,
    zipf: &Zipf,
    i: usize,
    ops: u64,
    start: &Barrier,
) -> io::Result<Counts> {
    let conn = connect(s.port);
    // Wait even when the connection failed, or the others would wait for this one.
    start.wait();
    let (mut out, mut replies) = conn?;
    let mut rng = SplitMix64(stream_seed(s.seed, i));
    let value = vec![b'v'; s.value_size];
    let mut counts = Counts::default();
    let mut buf = Vec::new();
    let mut keys: Vec<Vec<u8>> = Vec::with_capacity(s.pipeline);
    while counts.ops < ops {
        let batch = (ops - counts.ops).min(s.pipeline as u64);
        buf.clear();
        keys.clear();
        for _ in 0..batch {
            let key = format!("key:{:012}", zipf.rank(rng.next_f64())).into_bytes();
            write_request(&mut buf, &[b"GET", &key]);
            keys.push(key);
        }
        out.write_all(&buf)?;
        buf.clear();
        let mut sets = 0;
        for key in &keys {
            match read_reply(&mut replies)? {
                Reply::Nil => {
                    counts.misses += 1;
                    write_request(&mut buf, &[b"SET", key, &value]);
                    sets += 1;
                }
                Reply::Bulk(v) if v == value => counts.hits += 1,
                // A value this client did not write would make the hit rate meaningless.
                Reply::Bulk(_) | Reply::Error(_) => counts.errors += 1,
                other => return Err(bad(&format!("GET answered {other:?}"))),
            }
        }
        if sets > 0 {
            out.write_all(&buf)?;
            for _ in 0..sets {
                match read_reply(&mut replies)? {
                    Reply::Status(_) => {}
                    Reply::Error(_) => counts.errors += 1,
                    other => return Err(bad(&format!("SET answered {other:?}"))),
                }
            }
        }
        counts.ops += batch;
    }
    Ok(counts)
}

/// Runs the workload and prints its one result line.
fn run(s: Settings) -> Result<(), String> {
    let zipf = Arc::new(Zipf::new(s.keys, s.zipf_s));
    let s = Arc::new(s);
    // Every connection opens before the clock starts; the main thread is the last party.
    let start = Arc::new(Barrier::new(s.conns + 1));
    let workers: Vec<_> = (0..s.conns)
        .map(|i| {
            let (s, zipf, start) = (Arc::clone(&s), Arc::clone(&zipf), Arc::clone(&start));
            // The first `ops % conns` connections take one GET more.
            let share = s.ops / s.conns as u64 + u64::from((i as u64) < s.ops % s.conns as u64);
            std::thread::spawn(move || run_connection(&s, &zipf, i, share, &start))
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let mut total = Counts::default();
    let mut failures = Vec::new();
    for w in workers {
        match w.join() {
            Ok(Ok(c)) => {
                total.ops += c.ops;
                total.hits += c.hits;
                total.misses += c.misses;
                total.errors += c.errors;
            }
            Ok(Err(e)) => failures.push(e.to_string()),
            Err(_) => failures.push("a connection thread panicked".to_string()),
        }
    }
    let elapsed = began.elapsed().as_secs_f64();
    if !failures.is_empty() {
        return Err(format!(
            "{} connection(s) failed: {}",
            failures.len(),
            failures[0]
        ));
    }
    println!(
        "cache_load ops={} hits={} misses={} hit_rate={:.4} errors={} elapsed={:.3} ops_per_sec={:.0}",
        total.ops,
        total.hits,
        total.misses,
        total.hits as f64 / total.ops.max(1) as f64,
        total.errors,
        elapsed,
        total.ops as f64 / elapsed
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match Settings::parse(&args) {
        Ok(Some(s)) => {
            if let Err(e) = run(s) {
                eprintln!("cache_load: {e}");
                std::process::exit(1);
            }
        }
        Ok(None) => {
            checks::run_all();
            eprintln!("cache_load: no PORT, so only the self-checks ran (they passed)\n{USAGE}");
        }
        Err(e) => {
            eprintln!("cache_load: {e}");
            std::process::exit(2);
        }
    }
}

/// The self-checks: this target has no test harness (`harness = false`), so `cargo test
/// --all-targets` runs `main` without arguments, which runs these; a failed check panics
/// and fails the run.
mod checks {
    use super::*;

    pub fn run_all() {
        zipf_rank_one_is_the_most_frequent();
        zipf_frequencies_and_mean_match_the_formula();
        zipf_covers_both_ends();
        same_seed_same_keys();
        resp_reader_reads_every_kind();
        resp_reader_refuses_cut_replies();
        resp_writer_bytes();
        settings_parse();
    }

    /// Counts per rank of `draws` draws from Zipf(n, s) with a fixed seed.
    fn histogram(n: usize, s: f64, draws: usize) -> Vec<u64> {
        let zipf = Zipf::new(n, s);
        let mut rng = SplitMix64(42);
        let mut counts = vec![0u64; n + 1];
        for _ in 0..draws {
            counts[zipf.rank(rng.next_f64())] += 1;
        }
        counts
    }

    fn zipf_rank_one_is_the_most_frequent() {
        let counts = histogram(1000, 0.99, 200_000);
        let top = (1..=1000).max_by_key(|&k| counts[k]).unwrap();
        assert_eq!(
            top,
            1,
            "rank 1 must be the most frequent: {:?}",
            &counts[..10]
        );
        assert!(counts[1] > counts[2] && counts[2] > counts[10] && counts[10] > counts[100]);
    }

    fn zipf_frequencies_and_mean_match_the_formula() {
        let (n, s, draws) = (1000usize, 0.99f64, 200_000usize);
        let counts = histogram(n, s, draws);
        let h: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
        for k in [1usize, 2, 3, 10, 50] {
            let p = (k as f64).powf(-s) / h;
            let want = draws as f64 * p;
            let sigma = (draws as f64 * p * (1.0 - p)).sqrt();
            let got = counts[k] as f64;
            // Five standard deviations: a sampler with the wrong exponent or an
            // off-by-one rank misses this by far more.
            assert!(
                (got - want).abs() < 5.0 * sigma,
                "rank {k}: {got} draws, expected {want:.0} ± {sigma:.0}"
            );
        }
        // The mean rank is H(n, s - 1) / H(n, s).
        let want_mean = (1..=n).map(|k| (k as f64).powf(1.0 - s)).sum::<f64>() / h;
        let got_mean = (1..=n).map(|k| k as f64 * counts[k] as f64).sum::<f64>() / draws as f64;
        assert!(
            (got_mean - want_mean).abs() / want_mean < 0.02,
            "mean rank {got_mean:.2}, expected {want_mean:.2}"
        );
    }

    fn zipf_covers_both_ends() {
        let zipf = Zipf::new(10, 1.0);
        assert_eq!(zipf.rank(0.0), 1);
        assert_eq!(zipf.rank(1.0 - f64::EPSILON), 10);
        // P(1) = 1 / H(10) = 0.3414: a draw just under it is rank 1, just over is rank 2.
        assert_eq!(zipf.rank(0.34), 1);
        assert_eq!(zipf.rank(0.35), 2);
        // s = 0 is uniform.
        let flat = Zipf::new(4, 0.0);
        let ranks: Vec<usize> = [0.1, 0.3, 0.6, 0.9].iter().map(|&u| flat.rank(u)).collect();
        assert_eq!(ranks, vec![1, 2, 3, 4]);
    }

    fn same_seed_same_keys() {
        let draw = |seed: u64, i: usize| {
            let mut rng = SplitMix64(stream_seed(seed, i));
            (0..8).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, 3), draw(7, 3));
        assert_ne!(draw(7, 3), draw(8, 3));
        assert_ne!(draw(7, 3), draw(7, 4));
        let mut rng = SplitMix64(1);
        assert!((0..1000)
            .map(|_| rng.next_f64())
            .all(|u| (0.0..1.0).contains(&u)));
    }

    fn resp_reader_reads_every_kind() {
        let input: &[u8] =
            b"+OK\r\n$-1\r\n$5\r\nab\r\nc\r\n-OOM no\r\n:-12\r\n*2\r\n$1\r\nx\r\n*-1\r\n$0\r\n\r\n";
        let mut r = input;
        let got: Vec<Reply> = (0..7).map(|_| read_reply(&mut r).unwrap()).collect();
        assert_eq!(
            got,
            vec![
                Reply::Status(b"OK".to_vec()),
                Reply::Nil,
                Reply::Bulk(b"ab\r\nc".to_vec()),
                Reply::Error(b"OOM no".to_vec()),
                Reply::Int(-12),
                Reply::Array(vec![Reply::Bulk(b"x".to_vec()), Reply::Nil]),
                Reply::Bulk(Vec::new()),
            ]
        );
        assert!(r.is_empty(), "the reader must consume exactly the replies");
    }

    fn resp_reader_refuses_cut_replies() {
        for input in [
            &b""[..],
            b"+OK",
            b"$5\r\nab",
            b"$2\r\nabcd\r\n",
            b"*2\r\n:1\r\n",
            b":x\r\n",
            b"?\r\n",
        ] {
            let mut r = input;
            assert!(
                read_reply(&mut r).is_err(),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    fn resp_writer_bytes() {
        let mut out = Vec::new();
        write_request(&mut out, &[b"SET", b"key:000000000001", b"vv"]);
        assert_eq!(
            out,
            b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000001\r\n$2\r\nvv\r\n".to_vec()
        );
    }

    fn settings_parse() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(Settings::parse(&args(&["--bench"])).unwrap().is_none());
        let s = Settings::parse(&args(&["7000", "10", "20", "3"]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (s.port, s.keys, s.ops, s.conns, s.value_size),
            (7000, 10, 20, 3, 100)
        );
        assert_eq!((s.zipf_s, s.seed, s.pipeline), (0.99, 1, 1));
        assert!(Settings::parse(&args(&["7000", "0"])).is_err());
        assert!(Settings::parse(&args(&["7000", "x"])).is_err());
        assert!(Settings::parse(&args(&["7000", "10", "20", "3", "100", "NaN"])).is_err());
        assert!(Settings::parse(&args(&["7000", "10", "20", "3", "100", "-1"])).is_err());
    }
}
