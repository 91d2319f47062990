//! A seeded fuzz test of RESTORE: random mutations of valid DUMP payloads of every type
//! and encoding, with the CRC recomputed so that the value parser (not the footer check)
//! sees them. Each RESTORE must answer `+OK` or a one-line error, never crash or hang
//! the server; a second client keeps getting PONG meanwhile, and the restored keys can
//! be read back.
//!
//! `REDLITE_FUZZ_SEED` picks the seed (printed on failure) and `REDLITE_RESTORE_FUZZ`
//! the number of payloads (default 20,000).

mod common;

use common::diff::render;
use common::{Conn, Server};
use redlite::persist::crc64::crc64;
use redlite::util::rand::Rng;

fn bulk(reply: &[u8]) -> Vec<u8> {
    let start = reply.iter().position(|&b| b == b'\n').expect("header") + 1;
    reply[start..reply.len() - 2].to_vec()
}

fn populate(c: &mut Conn) {
    let cmds: Vec<Vec<String>> = vec![
        vec!["SET".into(), "s".into(), "hello".into()],
        vec!["SET".into(), "n".into(), "12345".into()],
        vec!["SET".into(), "z".into(), "abc".repeat(30)],
        vec![
            "RPUSH".into(),
            "l".into(),
            "a".into(),
            "1".into(),
            "-300".into(),
            "x".repeat(80),
        ],
        vec![
            "SADD".into(),
            "si".into(),
            "1".into(),
            "2".into(),
            "70000".into(),
        ],
        vec!["SADD".into(), "ss".into(), "a".into(), "b".into()],
        vec![
            "HSET".into(),
            "h".into(),
            "f".into(),
            "v".into(),
            "g".into(),
            "12".into(),
        ],
        vec!["HSET".into(), "hb".into(), "f".into(), "v".repeat(100)],
        vec![
            "ZADD".into(),
            "zs".into(),
            "1".into(),
            "a".into(),
            "2.5".into(),
            "b".into(),
        ],
        vec!["ZADD".into(), "zb".into(), "1".into(), "m".repeat(100)],
        vec![
            "XADD".into(),
            "x".into(),
            "1-1".into(),
            "f".into(),
            "v".into(),
        ],
        vec![
            "XADD".into(),
            "x".into(),
            "2-1".into(),
            "f".into(),
            "w".into(),
        ],
        vec![
            "XADD".into(),
            "x".into(),
            "3-1".into(),
            "g".into(),
            "1".into(),
        ],
        vec![
            "XGROUP".into(),
            "CREATE".into(),
            "x".into(),
            "g".into(),
            "0".into(),
        ],
        vec![
            "XREADGROUP".into(),
            "GROUP".into(),
            "g".into(),
            "c".into(),
            "COUNT".into(),
            "2".into(),
            "STREAMS".into(),
            "x".into(),
            ">".into(),
        ],
    ];
    for cmd in cmds {
        let words: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let reply = c.cmd(&words);
        assert!(!reply.starts_with(b"-"), "{words:?}: {}", render(&reply));
    }
}

/// Reads of every type, run on each accepted value.
const READS: &[&[&str]] = &[
    &["GET", "fuzzed"],
    &["LRANGE", "fuzzed", "0", "-1"],
    &["SMEMBERS", "fuzzed"],
    &["HGETALL", "fuzzed"],
    &["ZRANGE", "fuzzed", "0", "-1", "WITHSCORES"],
    &["XRANGE", "fuzzed", "-", "+"],
    &["XINFO", "STREAM", "fuzzed", "FULL"],
    &["XINFO", "GROUPS", "fuzzed"],
    &["OBJECT", "ENCODING", "fuzzed"],
];

#[test]
fn mutated_restore_payloads() {
    let seed: u64 = std::env::var("REDLITE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0020);
    let rounds: usize = std::env::var("REDLITE_RESTORE_FUZZ")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let server = Server::start(&[]);
    let mut c = server.conn();
    populate(&mut c);
    let payloads: Vec<Vec<u8>> = ["s", "n", "z", "l", "si", "ss", "h", "hb", "zs", "zb", "x"]
        .iter()
        .map(|k| bulk(&c.cmd(&["DUMP", k])))
        .collect();
    // A second client checks the server stays responsive throughout.
    let port = server.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let pinger = std::thread::spawn(move || {
        let mut p = Conn::connect(port);
        let mut n = 0u64;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            assert_eq!(p.cmd(&["PING"]), b"+PONG\r\n");
            n += 1;
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        n
    });
    let mut rng = Rng::new(seed);
    let (mut accepted, mut refused) = (0u64, 0u64);
    for round in 0..rounds {
        let base = &payloads[round % payloads.len()];
        let mut body = base[..base.len() - 10].to_vec();
        for _ in 0..1 + rng.below(4) {
            if body.is_empty() {
                break;
            }
            let i = rng.below(body.len() as u64) as usize;
            match rng.below(5) {
                0 => body[i] = rng.next_u64() as u8,
                1 => body[i] ^= 1 << rng.below(8),
                2 => body.truncate(i),
                3 => body.insert(i, rng.next_u64() as u8),
                _ => {
                    // A length-like byte: small values and the 0x80/0xC0 markers.
                    body[i] = [0, 1, 2, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xc0, 0xc3, 0xff]
                        [rng.below(11) as usize];
                }
            }
        }
        body.extend_from_slice(&10u16.to_le_bytes());
        let crc = crc64(0, &body);
        body.extend_from_slice(&crc.to_le_bytes());
        let reply = c.cmd_bytes(&[b"RESTORE", b"fuzzed", b"0", &body, b"REPLACE"]);
        if reply == b"+OK\r\n" {
            accepted += 1;
            // What was accepted is a readable value.
            let t = c.cmd(&["TYPE", "fuzzed"]);
            assert!(
                t.starts_with(b"+"),
                "seed {seed} round {round}: {}",
                render(&t)
            );
            let d = c.cmd(&["DUMP", "fuzzed"]);
            assert!(
                d.starts_with(b"$"),
                "seed {seed} round {round}: {}",
                render(&d)
            );
            // And every read of its type answers (wrong-type errors are fine).
            for read in READS {
                let r = c.cmd(read);
                assert!(!r.is_empty(), "seed {seed} round {round}: {read:?}");
            }
        } else {
            assert_eq!(
                render(&reply),
                "-ERR Bad data format\\r\\n",
                "seed {seed} round {round}, payload {body:?}"
            );
            refused += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let pings = pinger.join().expect("the server kept answering PING");
    assert!(pings > 0);
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
    assert!(!server.log_text().contains("panicked"));
}
