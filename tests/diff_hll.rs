//! Differential tests of the HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG,
//! PFSELFTEST) against a reference redis-server 7.0: replies compared byte for byte, and
//! above all the values themselves (GET), sparse and dense, so that an HLL made by one
//! server counts the same on the other. Ports the cases of Redis's
//! `tests/unit/hyperloglog.tcl`, with random inputs, corrupted values, other
//! `hll-sparse-max-bytes` settings, and the events and propagation of each command.

mod common;

use common::diff::{render, render_cmd, run_script, Pair};
use common::events::EventListener;
use common::{reference_available, Conn, Reference, Server};
use pretty_assertions::assert_eq;
use redlite::util::rand::Rng;

/// One connection to each server of a pair; every command must get the same reply.
struct Both {
    ours: Conn,
    theirs: Conn,
}

impl Both {
    fn new(pair: &Pair) -> Both {
        Both {
            ours: pair.ours.conn(),
            theirs: pair.theirs.conn(),
        }
    }

    /// Runs a command with binary words on both and returns the (common) reply.
    fn run(&mut self, words: &[&[u8]]) -> Vec<u8> {
        let (a, b) = (self.ours.cmd_bytes(words), self.theirs.cmd_bytes(words));
        if a != b {
            let shown: Vec<String> = words
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
            assert_eq!(
                render(&a),
                render(&b),
                "{}: replies differ (left: redlite, right: redis)",
                render_cmd(&shown)
            );
        }
        a
    }

    /// [`Both::run`] with text words.
    fn cmd(&mut self, words: &[&str]) -> Vec<u8> {
        let words: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        self.run(&words)
    }

    /// PFADD of many elements at once.
    fn pfadd(&mut self, key: &str, elements: &[String]) -> Vec<u8> {
        let mut words: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
        words.extend(elements.iter().map(|e| e.as_bytes()));
        self.run(&words)
    }
}

/// The payload of a bulk reply.
fn bulk(reply: &[u8]) -> Vec<u8> {
    let nl = reply
        .iter()
        .position(|&b| b == b'\n')
        .expect("a bulk reply");
    reply[nl + 1..reply.len() - 2].to_vec()
}

/// `n` random elements (decimal numbers, as the Tcl suite's `rand()`).
fn elements(rng: &mut Rng, n: usize) -> Vec<String> {
    (0..n).map(|_| rng.next_u64().to_string()).collect()
}

#[test]
fn commands_replies_and_errors() {
    if !reference_available("commands_replies_and_errors") {
        return;
    }
    run_script(&[
        // PFADD without elements creates an empty HLL, reported as a change.
        &["PFADD", "hll"],
        &["EXISTS", "hll"],
        &["PFCOUNT", "hll"],
        &["GET", "hll"],
        &["OBJECT", "ENCODING", "hll"],
        &["PFADD", "hll"],
        &["PFADD", "hll", "a", "b", "c"],
        &["PFADD", "hll", "a", "b", "c"],
        &["PFADD", "hll", ""],
        &["GET", "hll"],
        &["PFCOUNT", "hll"],
        &["GET", "hll"],
        &["GETRANGE", "hll", "15", "15"],
        &["PFADD", "hll", "a"],
        &["GETRANGE", "hll", "15", "15"],
        &["PFADD", "hll", "1", "2", "3"],
        &["GETRANGE", "hll", "15", "15"],
        &["DEL", "hll"],
        &["PFADD", "hll", "1", "2", "3", "4", "5"],
        &["PFCOUNT", "hll"],
        &["PFADD", "hll", "6", "7", "8", "8", "9", "10"],
        &["PFCOUNT", "hll"],
        &["PFCOUNT", "hll", "nokey"],
        &["PFCOUNT", "nokey"],
        &["PFCOUNT", "nokey", "nokey2"],
        // PFMERGE: the destination's own registers count; missing sources are empty.
        &["PFADD", "hll1", "a", "b", "c"],
        &["PFADD", "hll2", "b", "c", "d"],
        &["PFADD", "hll3", "c", "d", "e"],
        &["PFMERGE", "m", "hll1", "hll2", "hll3"],
        &["PFCOUNT", "m"],
        &["GET", "m"],
        &["PFCOUNT", "hll1", "hll2", "hll3"],
        &["PFMERGE", "hll1"],
        &["GET", "hll1"],
        &["PFMERGE", "empty", "nokey"],
        &["GET", "empty"],
        &["PFMERGE", "hll3", "hll3"],
        &["GET", "hll3"],
        &["PFMERGE", "hll2", "hll1", "nokey"],
        &["PFCOUNT", "hll2"],
        &["OBJECT", "ENCODING", "hll2"],
        // PFDEBUG.
        &["PFDEBUG", "ENCODING", "hll"],
        &["PFDEBUG", "decode", "hll"],
        &["PFDEBUG", "GETREG", "hll1"],
        &["PFDEBUG", "encoding", "hll1"],
        &["PFDEBUG", "DECODE", "hll1"],
        &["PFDEBUG", "TODENSE", "hll1"],
        &["PFDEBUG", "TODENSE", "hll"],
        &["PFDEBUG", "TODENSE", "hll"],
        &["PFDEBUG", "ENCODING", "hll"],
        &["PFDEBUG", "DECODE", "hll"],
        &["PFCOUNT", "hll"],
        &["PFADD", "hll", "x"],
        &["PFCOUNT", "hll"],
        &["STRLEN", "hll"],
        &["PFDEBUG", "bogus", "hll"],
        &["PFDEBUG", "bogus", "nokey"],
        &["PFDEBUG", "ENCODING", "nokey"],
        // A dense input makes the merge dense.
        &["PFMERGE", "m2", "hll1", "hll"],
        &["PFDEBUG", "ENCODING", "m2"],
        &["STRLEN", "m2"],
        &["PFCOUNT", "m2"],
        &["PFCOUNT", "m2", "hll1", "hll2", "hll3", "nokey"],
        // Wrong types: another type, and strings that are not HLLs.
        &["SET", "foo", "bar"],
        &["PFADD", "foo", "1"],
        &["PFCOUNT", "foo"],
        &["PFCOUNT", "hll", "foo"],
        &["PFCOUNT", "nokey", "foo"],
        &["PFMERGE", "bar", "foo"],
        &["EXISTS", "bar"],
        &["PFMERGE", "foo", "bar"],
        &["PFDEBUG", "ENCODING", "foo"],
        &["SET", "int", "12345"],
        &["PFCOUNT", "int"],
        &["SET", "long", "HYLL this is not a HyperLogLog"],
        &["PFCOUNT", "long"],
        &["PFADD", "long", "a"],
        &["LPUSH", "list", "a"],
        &["PFADD", "list", "a"],
        &["PFCOUNT", "list"],
        &["PFCOUNT", "hll", "list"],
        &["PFMERGE", "list", "hll"],
        &["PFMERGE", "hll", "list"],
        &["PFDEBUG", "GETREG", "list"],
        &["TYPE", "hll"],
        // Arity.
        &["PFADD"],
        &["PFCOUNT"],
        &["PFMERGE"],
        &["PFDEBUG"],
        &["PFDEBUG", "GETREG"],
        &["PFDEBUG", "GETREG", "hll", "x"],
        &["PFSELFTEST", "x"],
        // From scripts: PFCOUNT may write, so read-only scripts may not call it.
        &[
            "EVAL",
            "return redis.call('PFADD', KEYS[1], 'a', 'b')",
            "1",
            "sc",
        ],
        &[
            "EVAL_RO",
            "return redis.call('PFCOUNT', KEYS[1])",
            "1",
            "sc",
        ],
        &["EVAL", "return redis.call('PFCOUNT', KEYS[1])", "1", "sc"],
        &[
            "EVAL",
            "return redis.call('PFDEBUG', 'GETREG', KEYS[1])[1]",
            "1",
            "sc",
        ],
        &[
            "EVAL",
            "return redis.call('PFMERGE', 'sc2', KEYS[1])",
            "1",
            "sc",
        ],
        // Inside a transaction.
        &["MULTI"],
        &["PFADD", "t", "a"],
        &["PFCOUNT", "t"],
        &["PFCOUNT", "t"],
        &["PFMERGE", "t2", "t"],
        &["EXEC"],
        &["GET", "t2"],
    ]);
}

#[test]
fn hll_tcl_cases() {
    if !reference_available("hll_tcl_cases") {
        return;
    }
    let pair = Pair::start();
    let mut both = Both::new(&pair);
    let mut rng = Rng::new(0x41c);

    // "HyperLogLogs are promote from sparse to dense": 100 at a time up to 100000.
    both.cmd(&["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]);
    let mut n = 0;
    while n < 100_000 {
        both.pfadd("hll", &elements(&mut rng, 100));
        n += 100;
        let card = common::diff::int_reply(&both.cmd(&["PFCOUNT", "hll"])).unwrap();
        let err = (card - n).abs() as f64;
        assert!(err < card as f64 / 100.0 * 5.0, "{n} counted as {card}");
        let encoding = both.cmd(&["PFDEBUG", "ENCODING", "hll"]);
        if n < 1000 {
            assert_eq!(encoding, b"+sparse\r\n");
        } else if n > 10000 {
            assert_eq!(encoding, b"+dense\r\n");
        }
        if n % 5000 == 0 {
            both.cmd(&["GET", "hll"]);
        }
    }
    both.cmd(&["GET", "hll"]);

    // "HyperLogLog sparse encoding stress test" (fewer rounds): a sparse and a dense
    // HLL of the same elements count the same.
    for _ in 0..200 {
        both.cmd(&["DEL", "hll1", "hll2"]);
        let n = rng.below(100) as usize;
        let items = elements(&mut rng, n);
        both.cmd(&["PFADD", "hll2"]);
        both.cmd(&["PFDEBUG", "TODENSE", "hll2"]);
        both.pfadd("hll1", &items);
        both.pfadd("hll2", &items);
        assert_eq!(both.cmd(&["PFDEBUG", "ENCODING", "hll1"]), b"+sparse\r\n");
        assert_eq!(both.cmd(&["PFDEBUG", "ENCODING", "hll2"]), b"+dense\r\n");
        assert_eq!(
            both.cmd(&["PFCOUNT", "hll1"]),
            both.cmd(&["PFCOUNT", "hll2"])
        );
        both.cmd(&["GET", "hll1"]);
        both.cmd(&["GET", "hll2"]);
    }

    // "PFCOUNT multiple-keys merge returns cardinality of union #1" (every 100th).
    both.cmd(&["DEL", "hll1", "hll2", "hll3"]);
    for x in 1..3000 {
        for (key, prefix) in [("hll1", "foo"), ("hll2", "bar"), ("hll3", "zap")] {
            let e = format!("{prefix}-{x}");
            both.cmd(&["PFADD", key, &e]);
        }
        if x % 100 == 0 {
            both.cmd(&["PFCOUNT", "hll1", "hll2", "hll3"]);
        }
    }
    // "... #2": random integers below 20000 spread over three keys.
    both.cmd(&["DEL", "hll1", "hll2", "hll3"]);
    for _ in 0..3000 {
        for key in ["hll1", "hll2", "hll3"] {
            let e = rng.below(20000).to_string();
            both.cmd(&["PFADD", key, &e]);
        }
    }
    both.cmd(&["PFCOUNT", "hll1", "hll2", "hll3"]);
    for key in ["hll1", "hll2", "hll3"] {
        both.cmd(&["GET", key]);
        both.cmd(&["PFDEBUG", "GETREG", key]);
    }
}

#[test]
fn sparse_values_under_other_sparse_limits() {
    if !reference_available("sparse_values_under_other_sparse_limits") {
        return;
    }
    let pair = Pair::start();
    let mut both = Both::new(&pair);
    let mut rng = Rng::new(0x5ba);
    for limit in [
        "0", "1", "18", "19", "20", "21", "30", "100", "500", "1kb", "3000", "10000",
    ] {
        both.cmd(&["CONFIG", "SET", "hll-sparse-max-bytes", limit]);
        both.cmd(&["CONFIG", "GET", "hll-sparse-max-bytes"]);
        both.cmd(&["DEL", "h", "m"]);
        for batch in [1, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 3000] {
            both.pfadd("h", &elements(&mut rng, batch));
            both.cmd(&["PFDEBUG", "ENCODING", "h"]);
            both.cmd(&["GET", "h"]);
            both.cmd(&["PFCOUNT", "h"]);
            // A merge into a sparse destination goes register by register.
            both.cmd(&["PFADD", "m", "x"]);
            both.cmd(&["PFMERGE", "m", "h"]);
            both.cmd(&["GET", "m"]);
        }
    }
    assert!(both
        .cmd(&["CONFIG", "SET", "hll-sparse-max-bytes", "-1"])
        .starts_with(b"-ERR"));
}

#[test]
fn large_random_inputs_count_and_encode_the_same() {
    if !reference_available("large_random_inputs_count_and_encode_the_same") {
        return;
    }
    let pair = Pair::start();
    let mut both = Both::new(&pair);
    let mut rng = Rng::new(0xb16);
    for round in 0..100 {
        both.pfadd("big", &elements(&mut rng, 1000));
        if round % 10 == 9 {
            both.cmd(&["PFCOUNT", "big"]);
        }
    }
    both.cmd(&["GET", "big"]);
    both.cmd(&["PFDEBUG", "GETREG", "big"]);
    // Binary elements of every length up to 40.
    for len in 0..40 {
        let items: Vec<Vec<u8>> = (0..50).map(|_| rng.bytes(len)).collect();
        let mut words: Vec<&[u8]> = vec![b"PFADD", b"bin"];
        words.extend(items.iter().map(Vec::as_slice));
        both.run(&words);
    }
    both.cmd(&["GET", "bin"]);
    both.cmd(&["PFCOUNT", "bin"]);
    // Many keys of many sizes: counts of their union and merges.
    let mut keys = Vec::new();
    for i in 0..30 {
        let key = format!("k{i}");
        let n = [0, 1, 10, 100, 1000, 5000][i % 6] + rng.below(50) as usize;
        both.pfadd(&key, &elements(&mut rng, n));
        keys.push(key);
    }
    keys.push("missing".into());
    let mut words: Vec<&str> = vec!["PFCOUNT"];
    words.extend(keys.iter().map(String::as_str));
    both.cmd(&words);
    for dest in ["k0", "fresh"] {
        let mut words: Vec<&str> = vec!["PFMERGE", dest];
        words.extend(keys.iter().map(String::as_str));
        both.cmd(&words);
        both.cmd(&["GET", dest]);
        both.cmd(&["PFCOUNT", dest]);
    }
    // Sparse-only merges stay sparse.
    both.cmd(&["PFMERGE", "small", "k1", "k2", "k7", "k8"]);
    both.cmd(&["PFDEBUG", "ENCODING", "small"]);
    both.cmd(&["GET", "small"]);
}

#[test]
fn values_made_by_one_server_count_the_same_on_the_other() {
    if !reference_available("values_made_by_one_server_count_the_same_on_the_other") {
        return;
    }
    let ours = Server::start(&[]);
    let theirs = Reference::start();
    let mut rng = Rng::new(0xc055);
    for (maker, taker) in [(theirs.conn(), ours.conn()), (ours.conn(), theirs.conn())] {
        let (mut maker, mut taker) = (maker, taker);
        for n in [0, 3, 50, 400, 2000, 20000] {
            let items = elements(&mut rng, n);
            let mut words: Vec<&[u8]> = vec![b"PFADD", b"made"];
            words.extend(items.iter().map(|e| e.as_bytes()));
            maker.cmd_bytes(&words);
            for key in ["stale", "counted"] {
                let value = bulk(&maker.cmd(&["GET", "made"]));
                assert_eq!(
                    taker.cmd_bytes(&[b"SET", key.as_bytes(), &value]),
                    b"+OK\r\n"
                );
                if key == "counted" {
                    maker.cmd(&["PFCOUNT", "made"]);
                }
            }
            let value = bulk(&maker.cmd(&["GET", "made"]));
            // The taker counts the value as the maker does, whether its cache is valid.
            for key in ["stale", "counted"] {
                assert_eq!(
                    taker.cmd(&["PFCOUNT", key]),
                    maker.cmd(&["PFCOUNT", "made"]),
                    "{n} elements"
                );
            }
            assert_eq!(bulk(&taker.cmd(&["GET", "stale"])), value, "{n}: the cache");
            // Adds on both sides keep the values equal.
            let more = elements(&mut rng, 100);
            for (c, key) in [(&mut maker, "made"), (&mut taker, "stale")] {
                let mut words: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
                words.extend(more.iter().map(|e| e.as_bytes()));
                c.cmd_bytes(&words);
            }
            assert_eq!(
                bulk(&taker.cmd(&["GET", "stale"])),
                bulk(&maker.cmd(&["GET", "made"])),
                "{n}: after more adds"
            );
            maker.cmd(&["DEL", "made"]);
        }
    }
}

#[test]
fn corrupted_values_fail_as_in_redis() {
    if !reference_available("corrupted_values_fail_as_in_redis") {
        return;
    }
    let pair = Pair::start();
    let mut both = Both::new(&pair);
    // The Tcl suite's cases.
    run_steps(
        &mut both,
        &[
            &["PFADD", "hll", "a", "b", "c"],
            &["APPEND", "hll", "hello"],
            &["PFCOUNT", "hll"],
            &["PFADD", "hll", "zz"],
            &["PFCOUNT", "hll", "x"],
            &["PFMERGE", "x", "hll"],
            &["PFDEBUG", "GETREG", "hll"],
            &["PFDEBUG", "TODENSE", "hll"],
            &["PFDEBUG", "DECODE", "hll"],
            &["DEL", "hll"],
            &["PFADD", "hll", "a", "b", "c"],
            &["SETRANGE", "hll", "0", "0123"],
            &["PFCOUNT", "hll"],
            &["DEL", "hll"],
            &["PFADD", "hll", "a", "b", "c"],
            &["SETRANGE", "hll", "4", "x"],
            &["PFCOUNT", "hll"],
            &["DEL", "hll"],
            &["PFADD", "hll", "a", "b", "c"],
            &["SETRANGE", "hll", "4", "\x00"],
            &["PFCOUNT", "hll"],
            // A sparse value of the header alone, with a valid cache and without.
            &[
                "SET",
                "h",
                "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            ],
            &["PFCOUNT", "h"],
            &["PFCOUNT", "h", "h"],
            &["PFADD", "h", "a"],
            &["PFDEBUG", "DECODE", "h"],
            &["SETRANGE", "h", "15", "\u{7f}"],
            &["PFCOUNT", "h"],
            // A dense value one byte short.
            &["PFADD", "d", "a"],
            &["PFDEBUG", "TODENSE", "d"],
            &["SETRANGE", "d", "12303", "x"],
            &["PFCOUNT", "d"],
        ],
    );
    // Hand-made sparse values whose opcodes cover too few or too many registers.
    let header = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80";
    let bodies: &[&[u8]] = &[
        b"\x7f\xff\x80",     // a full cover, then a VAL
        b"\x7f\xff\x00",     // a full cover, then a ZERO
        b"\x7f\xfe\x81",     // a VAL run past the end
        b"\x00\x7f\xfe",     // valid: ZERO and XZERO
        b"\x7f\xfe\x80\x80", // one VAL too many
        b"\x7f\xff\x7f\xff", // two full XZEROs
        b"",                 // no opcodes
        b"\x80\x7f\xff",     // one register too many
        b"\x7f",             // a truncated XZERO
        b"\x7f\xfe\x40",     // a truncated XZERO covering the last register
        b"\xfc\x7f\xfe",     // VAL 32 first
    ];
    for body in bodies {
        let value = [&header[..], body].concat();
        for step in [
            &["PFCOUNT", "x", "nokey"][..],
            &["PFDEBUG", "GETREG", "x"],
            &["PFADD", "x", "a", "b", "c"],
            &["GET", "x"],
            &["PFCOUNT", "x"],
            &["PFMERGE", "y", "x"],
        ] {
            both.run(&[b"SET", b"x", &value]);
            both.cmd(&["DEL", "y"]);
            both.cmd(step);
        }
        both.run(&[b"SET", b"x", &value]);
        both.cmd(&["PFDEBUG", "DECODE", "x"]);
    }
    // Hand-made dense values: every register at 63 (an estimate past i64), half of them,
    // and registers of 52, 17, 7 and 29 over and over (52 is past the estimator's range).
    let header = b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80";
    let regs: [Vec<u8>; 3] = [
        vec![0xff; 12288],
        [vec![0xff; 6144], vec![0; 6144]].concat(),
        vec![0x74; 12288],
    ];
    for body in &regs {
        both.run(&[b"SET", b"x", &[&header[..], body].concat()]);
        run_steps(
            &mut both,
            &[
                &["PFCOUNT", "x"],
                &["GETRANGE", "x", "8", "15"],
                &["PFCOUNT", "x"],
                &["PFCOUNT", "x", "nokey"],
                &["PFMERGE", "y", "x"],
                &["PFCOUNT", "y"],
                &["PFADD", "x", "a"],
            ],
        );
    }
    // "Fuzzing dense/sparse encoding": random HLLs with up to five random bytes
    // replaced; whatever each command makes of them, both servers must agree.
    let mut rng = Rng::new(0xf022);
    for round in 0..300 {
        both.cmd(&["DEL", "hll", "dest"]);
        let n = rng.below(if round % 3 == 0 { 3000 } else { 200 }) as usize;
        both.pfadd("hll", &elements(&mut rng, n));
        if round % 10 == 0 {
            both.cmd(&["PFDEBUG", "TODENSE", "hll"]);
        }
        for _ in 0..5 {
            let len = common::diff::int_reply(&both.cmd(&["STRLEN", "hll"])).unwrap();
            let pos = rng.below(len as u64).to_string();
            let byte = [rng.next_u64() as u8];
            both.run(&[b"SETRANGE", b"hll", pos.as_bytes(), &byte]);
            if rng.below(2) == 0 {
                break;
            }
        }
        both.cmd(&["PFCOUNT", "hll"]);
        both.cmd(&["PFCOUNT", "hll", "nokey"]);
        both.cmd(&["PFDEBUG", "DECODE", "hll"]);
        both.cmd(&["PFADD", "hll", "one", "two", "three"]);
        both.cmd(&["GET", "hll"]);
        both.cmd(&["PFMERGE", "dest", "hll"]);
        both.cmd(&["GET", "dest"]);
        both.cmd(&["PFDEBUG", "GETREG", "hll"]);
        both.cmd(&["GET", "hll"]);
    }
}

/// Runs text steps on both servers (see [`Both::cmd`]).
fn run_steps(both: &mut Both, steps: &[&[&str]]) {
    for step in steps {
        both.cmd(step);
    }
}

#[test]
fn events_and_propagation_match_redis() {
    if !reference_available("events_and_propagation_match_redis") {
        return;
    }
    let aof = ["--appendonly", "yes", "--appendfsync", "always"];
    let ours_server = Server::start(&aof);
    let theirs_server =
        Reference::start_with(&[&aof[..], &["--aof-use-rdb-preamble", "no"]].concat());
    let mut both = Both {
        ours: ours_server.conn(),
        theirs: theirs_server.conn(),
    };
    let mut ours_ev = EventListener::start(&mut both.ours, ours_server.conn(), "KEA", true);
    let mut theirs_ev = EventListener::start(&mut both.theirs, theirs_server.conn(), "KEA", true);
    let steps: &[&[&str]] = &[
        &["PFADD", "h", "a", "b"],
        &["PFADD", "h", "a", "b"],
        &["PFADD", "h"],
        &["PFADD", "new"],
        &["PFCOUNT", "h"],
        &["PFCOUNT", "h"],
        &["PFCOUNT", "h", "new"],
        &["PFCOUNT", "nokey"],
        &["PFMERGE", "m", "h", "new"],
        &["PFMERGE", "m"],
        &["PFDEBUG", "ENCODING", "m"],
        &["PFDEBUG", "GETREG", "m"],
        &["PFDEBUG", "GETREG", "m"],
        &["PFADD", "d"],
        &["PFDEBUG", "TODENSE", "d"],
        &["PFDEBUG", "TODENSE", "d"],
        &["PFADD", "d", "x", "y"],
        &["PFCOUNT", "d"],
        &["SET", "s", "x"],
        &["PFADD", "s", "a"],
        &["PFMERGE", "m", "s"],
        &["SELECT", "3"],
        &["PFADD", "h3", "z"],
        &["PFCOUNT", "h3"],
    ];
    for step in steps {
        both.cmd(step);
        assert_eq!(
            ours_ev.take(&mut both.ours),
            theirs_ev.take(&mut both.theirs),
            "events of {}",
            render_cmd(step)
        );
    }
    let ours_stream = common::aof::incr_commands(ours_server.dir.as_ref().unwrap().path());
    let theirs_stream = common::aof::incr_commands(&theirs_server.path);
    assert_eq!(ours_stream, theirs_stream, "the propagated commands");
    // A PFCOUNT that refreshed the cache, and a PFDEBUG that converted, are replayed.
    for name in ["PFCOUNT", "PFDEBUG", "PFMERGE"] {
        assert!(
            theirs_stream
                .iter()
                .any(|c| c[0].eq_ignore_ascii_case(name)),
            "{name} propagated"
        );
    }
}

/// PFCOUNT answers under the read lock when it need not write (see `Handler::ReadFirst`):
/// what a client can observe of a write must still happen exactly when Redis writes. A
/// valid cache leaves a WATCH alone, a stale one is stored and breaks it; a value not yet
/// unshared (SET's embstr) becomes raw even with a valid cache; the hit and miss counts
/// are Redis's, whichever way each PFCOUNT went.
#[test]
fn pfcount_writes_only_when_redis_does() {
    if !reference_available("pfcount_writes_only_when_redis_does") {
        return;
    }
    let pair = Pair::start();
    let mut both = Both::new(&pair);
    let mut dense = elements(&mut Rng::new(0xd5), 3000);
    dense.sort();
    let steps: &[&[&str]] = &[
        &["PFADD", "x", "a", "b", "c"],
        // Stale: stored, the WATCH breaks.
        &["WATCH", "x"],
        &["PFCOUNT", "x"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
        // Valid: nothing is written, the WATCH holds.
        &["WATCH", "x"],
        &["PFCOUNT", "x"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
        &["OBJECT", "ENCODING", "x"],
        &["PFCOUNT", "missing"],
        &["PFCOUNT", "x", "missing"],
        &["SET", "str", "not an hll"],
        &["PFCOUNT", "str"],
        &["PFCOUNT", "x", "str"],
        &["LPUSH", "list", "a"],
        &["PFCOUNT", "list"],
        // Inside MULTI the write way runs: the same answers.
        &["MULTI"],
        &["PFCOUNT", "x"],
        &["PFCOUNT", "x", "missing"],
        &["PFCOUNT", "str"],
        &["EXEC"],
    ];
    run_steps(&mut both, steps);
    both.pfadd("d", &dense);
    both.cmd(&["PFCOUNT", "d"]);
    both.cmd(&["WATCH", "d"]);
    both.cmd(&["PFCOUNT", "d"]);
    both.cmd(&["PFCOUNT", "d", "x"]);
    both.cmd(&["MULTI"]);
    both.cmd(&["PING"]);
    both.cmd(&["EXEC"]);
    // A value with a valid cache, stored by SET: small enough to be an embstr, which
    // PFCOUNT unshares (raw) before it reads the cache.
    let counted = bulk(&both.cmd(&["GET", "x"]));
    both.run(&[b"SET", b"y", &counted]);
    both.cmd(&["OBJECT", "ENCODING", "y"]);
    both.cmd(&["PFCOUNT", "y"]);
    both.cmd(&["OBJECT", "ENCODING", "y"]);
    both.cmd(&["PFCOUNT", "y"]);
    // (After the OBJECT calls: redlite's OBJECT does not count hits and misses yet.)
    let steps: &[&[&str]] = &[
        &["CONFIG", "RESETSTAT"],
        &["PFCOUNT", "x"],
        &["PFADD", "x", "more"],
        &["PFCOUNT", "x"],
        &["PFCOUNT", "missing"],
        &["PFCOUNT", "x", "missing", "d"],
        &["PFCOUNT", "str"],
        &["PFCOUNT", "list"],
        &["PFCOUNT", "missing", "str"],
    ];
    run_steps(&mut both, steps);
    both.run(&[b"SET", b"z", &counted]);
    both.cmd(&["PFCOUNT", "z"]);
    both.cmd(&["PFCOUNT", "z"]);
    for field in ["keyspace_hits", "keyspace_misses"] {
        assert_eq!(
            common::info_field_in(&mut both.ours, "stats", field),
            common::info_field_in(&mut both.theirs, "stats", field),
            "{field}"
        );
    }
}

#[test]
fn self_test_passes() {
    if !reference_available("self_test_passes") {
        return;
    }
    run_script(&[&["PFSELFTEST"]]);
}
