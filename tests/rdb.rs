//! Redis's RDB format against a real redis-server 7.0: files written by each side load
//! on the other (and `redis-check-rdb` accepts redlite's), DUMP gives Redis's bytes,
//! RESTORE takes Redis's payloads and answers every error as Redis does.
//!
//! The dataset covers every type in both encodings (small and big variants), integer
//! and LZF-compressed strings, expiries, several databases, a stream with deletions,
//! consumer groups and pending entries, and a function library. Datasets are compared
//! key by key: TYPE, OBJECT ENCODING, the value read back in a canonical order, and
//! PEXPIRETIME.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::diff::{render, run_script, Cmd, Pair};
use common::{array_elements, reference_available, Conn, Reference, Server, TempDir};
use pretty_assertions::assert_eq;

fn ok(c: &mut Conn, words: &[&str]) -> Vec<u8> {
    let reply = c.cmd(words);
    assert!(!reply.starts_with(b"-"), "{words:?}: {}", render(&reply));
    reply
}

fn bulk(reply: &[u8]) -> Vec<u8> {
    if reply.starts_with(b"$-1") {
        return b"(nil)".to_vec();
    }
    let start = reply.iter().position(|&b| b == b'\n').expect("header") + 1;
    reply[start..reply.len() - 2].to_vec()
}

/// Writes the test dataset through `c` (the same commands on either server).
fn populate(c: &mut Conn) {
    ok(c, &["FLUSHALL"]);
    // Strings: raw, integer (8, 16, 32 and 64 bits), LZF-compressible, incompressible.
    ok(c, &["SET", "str:raw", "hello"]);
    for (k, v) in [
        ("str:i8", "-100"),
        ("str:i16", "30000"),
        ("str:i32", "-2000000000"),
        ("str:i64", "9000000000000000000"),
        ("str:zero", "0"),
        ("str:lead0", "007"),
    ] {
        ok(c, &["SET", k, v]);
    }
    ok(c, &["SET", "str:lzf", &"abcdefgh".repeat(40)]);
    let noise: String = (0..300u32)
        .map(|i| char::from(b'!' + ((i * 7919 + i * i * 31) % 90) as u8))
        .collect();
    ok(c, &["SET", "str:noise", &noise]);
    ok(c, &["SET", "str:empty", ""]);
    // Lists: one node, and several nodes of bigger elements.
    ok(
        c,
        &[
            "RPUSH",
            "list:small",
            "a",
            "b",
            "1",
            "-7",
            "300",
            "70000",
            "x",
        ],
    );
    for i in 0..600 {
        ok(
            c,
            &[
                "RPUSH",
                "list:big",
                &format!("element-{i}-{}", "y".repeat(i % 50)),
            ],
        );
    }
    // Sets: intset (small and 64-bit), strings, and past set-max-intset-entries.
    ok(c, &["SADD", "set:int", "1", "2", "3", "-5", "1000"]);
    ok(c, &["SADD", "set:int64", "1", "5000000000"]);
    ok(c, &["SADD", "set:str", "a", "b", "c"]);
    let many: Vec<String> = (0..600).map(|i| i.to_string()).collect();
    let mut cmd = vec!["SADD", "set:bigint"];
    cmd.extend(many.iter().map(String::as_str));
    ok(c, &cmd);
    // Hashes: listpack, long value (hashtable), many fields (hashtable).
    ok(c, &["HSET", "hash:small", "f", "v", "n", "12", "neg", "-1"]);
    ok(c, &["HSET", "hash:longval", "f", &"v".repeat(100)]);
    for i in 0..600 {
        ok(
            c,
            &["HSET", "hash:big", &format!("field{i}"), &i.to_string()],
        );
    }
    // Sorted sets: listpack with integer and fractional scores, long member, many.
    ok(
        c,
        &[
            "ZADD",
            "zset:small",
            "1",
            "a",
            "2.5",
            "b",
            "-3",
            "c",
            "1e20",
            "d",
            "inf",
            "e",
        ],
    );
    ok(c, &["ZADD", "zset:longmember", "1", &"m".repeat(100)]);
    for i in 0..300 {
        ok(
            c,
            &[
                "ZADD",
                "zset:big",
                &format!("{}.25", i * 3),
                &format!("member{i}"),
            ],
        );
    }
    // A stream: several nodes, deletions, groups with pending entries and consumers.
    for i in 1..=250 {
        ok(
            c,
            &[
                "XADD",
                "stream",
                &format!("{i}-1"),
                "f",
                &format!("v{i}"),
                "g",
                &i.to_string(),
            ],
        );
    }
    ok(c, &["XADD", "stream", "300-0", "other", "x"]);
    ok(c, &["XDEL", "stream", "5-1", "6-1"]);
    ok(c, &["XGROUP", "CREATE", "stream", "g1", "0"]);
    ok(c, &["XGROUP", "CREATE", "stream", "g2", "$"]);
    ok(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "3",
            "STREAMS",
            "stream",
            ">",
        ],
    );
    ok(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "bob",
            "COUNT",
            "2",
            "STREAMS",
            "stream",
            ">",
        ],
    );
    ok(c, &["XGROUP", "CREATECONSUMER", "stream", "g2", "carol"]);
    ok(c, &["XADD", "stream:empty", "1-1", "a", "b"]);
    ok(c, &["XDEL", "stream:empty", "1-1"]);
    // Expiries, far enough away to survive the test.
    ok(c, &["SET", "ttl:str", "v", "PXAT", "4102444800000"]);
    ok(c, &["RPUSH", "ttl:list", "a"]);
    ok(c, &["PEXPIREAT", "ttl:list", "4102444800123"]);
    // Other databases.
    ok(c, &["SELECT", "2"]);
    ok(c, &["SET", "db2:key", "in db 2"]);
    ok(c, &["HSET", "db2:hash", "a", "1"]);
    ok(c, &["SELECT", "15"]);
    ok(c, &["SADD", "db15:set", "x"]);
    ok(c, &["SELECT", "0"]);
    // A function library.
    ok(
        c,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=rdblib\nredis.register_function('rdbf', function(keys, args) return 'from rdb' end)",
        ],
    );
}

/// Everything a dataset holds, key by key, in an order that does not depend on the
/// server's hash tables.
fn snapshot(c: &mut Conn) -> BTreeMap<(usize, Vec<u8>), Vec<String>> {
    // A server that answers INFO may still be loading (-LOADING): wait for PONG.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while c.cmd(&["PING"]) != b"+PONG\r\n" {
        assert!(std::time::Instant::now() < deadline, "still loading");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut out = BTreeMap::new();
    for db in 0..16 {
        ok(c, &["SELECT", &db.to_string()]);
        for key in array_elements(&c.cmd(&["KEYS", "*"])) {
            let key = bulk(&key);
            let k = String::from_utf8_lossy(&key).into_owned();
            let t = render(&c.cmd(&["TYPE", &k]));
            let mut facts = vec![
                t.clone(),
                render(&c.cmd(&["OBJECT", "ENCODING", &k])),
                render(&c.cmd(&["PEXPIRETIME", &k])),
            ];
            let sorted = |reply: Vec<u8>| {
                let mut v: Vec<String> = array_elements(&reply).iter().map(|e| render(e)).collect();
                v.sort();
                v.join(" ")
            };
            match t.as_str() {
                "+string\\r\\n" => facts.push(render(&c.cmd(&["GET", &k]))),
                "+list\\r\\n" => facts.push(render(&c.cmd(&["LRANGE", &k, "0", "-1"]))),
                "+set\\r\\n" => facts.push(sorted(c.cmd(&["SMEMBERS", &k]))),
                "+hash\\r\\n" => {
                    let flat = array_elements(&c.cmd(&["HGETALL", &k]));
                    let mut pairs: Vec<String> = flat
                        .chunks(2)
                        .map(|p| format!("{}={}", render(&p[0]), render(&p[1])))
                        .collect();
                    pairs.sort();
                    facts.push(pairs.join(" "));
                }
                "+zset\\r\\n" => {
                    facts.push(render(&c.cmd(&["ZRANGE", &k, "0", "-1", "WITHSCORES"])))
                }
                "+stream\\r\\n" => {
                    facts.push(render(&c.cmd(&["XRANGE", &k, "-", "+"])));
                    facts.push(render(&c.cmd(&["XINFO", "GROUPS", &k])));
                    for g in ["g1", "g2"] {
                        facts.push(render(&c.cmd(&["XPENDING", &k, g])));
                    }
                    let info = array_elements(&c.cmd(&["XINFO", "STREAM", &k]));
                    // Everything but the node counts (nodes are repacked on load) and
                    // the first/last entry (already in XRANGE).
                    for pair in info.chunks(2) {
                        let name = render(&pair[0]);
                        if !name.contains("radix-tree") {
                            facts.push(format!("{name}={}", render(&pair[1])));
                        }
                    }
                }
                other => panic!("unexpected type {other}"),
            }
            out.insert((db, key), facts);
        }
    }
    ok(c, &["SELECT", "0"]);
    out.insert(
        (99, b"functions".to_vec()),
        vec![
            render(&c.cmd(&["FCALL", "rdbf", "0"])),
            render(&c.cmd(&["FUNCTION", "LIST"])),
        ],
    );
    out
}

/// Redis writes the file; redlite loads it and holds the same dataset.
#[test]
fn redis_writes_redlite_loads() {
    if !reference_available("redis_writes_redlite_loads") {
        return;
    }
    let reference = Reference::start();
    let mut theirs = reference.conn();
    populate(&mut theirs);
    ok(&mut theirs, &["SAVE"]);
    let expected = snapshot(&mut theirs);
    assert!(expected.len() > 20);
    let dir = TempDir::new("rdb-load");
    std::fs::copy(reference.path.join("dump.rdb"), dir.path().join("dump.rdb")).unwrap();
    let ours = Server::start_in(dir.path(), &[]).expect("redlite loads Redis's dump.rdb");
    let got = snapshot(&mut ours.conn());
    assert_eq!(got, expected);
    assert!(ours.log_text().contains("keys loaded"));
}

/// Redis writes with `rdbcompression no` and `rdbchecksum no`: redlite loads that too.
#[test]
fn redis_writes_uncompressed_without_checksum() {
    if !reference_available("redis_writes_uncompressed_without_checksum") {
        return;
    }
    let reference = Reference::start_with(&["--rdbcompression", "no", "--rdbchecksum", "no"]);
    let mut theirs = reference.conn();
    populate(&mut theirs);
    ok(&mut theirs, &["SAVE"]);
    let expected = snapshot(&mut theirs);
    let dir = TempDir::new("rdb-plain");
    std::fs::copy(reference.path.join("dump.rdb"), dir.path().join("dump.rdb")).unwrap();
    let ours = Server::start_in(dir.path(), &[]).expect("redlite loads the file");
    assert_eq!(snapshot(&mut ours.conn()), expected);
}

fn check_rdb(path: &std::path::Path) -> String {
    let out = Command::new("redis-check-rdb")
        .arg(path)
        .output()
        .expect("run redis-check-rdb");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb refused the file:\n{text}"
    );
    text
}

/// redlite writes RDB (SAVE and BGSAVE with `dump-format rdb`); `redis-check-rdb`
/// accepts it and Redis loads the same dataset.
#[test]
fn redlite_writes_redis_loads() {
    if !reference_available("redlite_writes_redis_loads") {
        return;
    }
    for (how, flags) in [
        ("SAVE", &["--dump-format", "rdb"][..]),
        ("BGSAVE", &["--dump-format", "rdb"][..]),
        (
            "SAVE",
            &["--dump-format", "rdb", "--rdbcompression", "no"][..],
        ),
    ] {
        let ours = Server::start(flags);
        let mut c = ours.conn();
        populate(&mut c);
        let expected = snapshot(&mut c);
        ok(&mut c, &[how]);
        if how == "BGSAVE" {
            while common::info_field(&mut c, "rdb_bgsave_in_progress") != "0" {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            assert_eq!(common::info_field(&mut c, "rdb_last_bgsave_status"), "ok");
        }
        let file = ours.dir.as_ref().unwrap().path().join("dump.rdb");
        let report = check_rdb(&file);
        assert!(report.contains("redis-ver = '7.0.15'"), "{report}");
        let dir = TempDir::new("rdb-ref");
        std::fs::copy(&file, dir.path().join("dump.rdb")).unwrap();
        let reference = Reference::start_in(dir.path(), &[]);
        let got = snapshot(&mut reference.conn());
        assert_eq!(got, expected, "{how} {flags:?}");
        // And redlite reads its own RDB back.
        let again = Server::start_in(dir.path(), &[]).expect("redlite reloads its RDB");
        assert_eq!(snapshot(&mut again.conn()), expected);
    }
}

/// CONFIG SET dump-format takes effect, and the default stays redlite's format.
#[test]
fn dump_format_setting() {
    let ours = Server::start(&[]);
    let mut c = ours.conn();
    ok(&mut c, &["SET", "k", "v"]);
    ok(&mut c, &["SAVE"]);
    let file = ours.dir.as_ref().unwrap().path().join("dump.rdb");
    assert!(std::fs::read(&file).unwrap().starts_with(b"REDLITE\0"));
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "dump-format"]),
        b"*2\r\n$11\r\ndump-format\r\n$7\r\nredlite\r\n"
    );
    ok(&mut c, &["CONFIG", "SET", "dump-format", "rdb"]);
    ok(&mut c, &["SAVE"]);
    assert!(std::fs::read(&file).unwrap().starts_with(b"REDIS0010"));
    assert!(c
        .cmd(&["CONFIG", "SET", "dump-format", "aof"])
        .starts_with(b"-ERR"));
}

/// A damaged RDB at startup is a fatal, named error, never an empty start.
#[test]
fn a_corrupt_rdb_stops_the_server() {
    let ours = Server::start(&["--dump-format", "rdb"]);
    let mut c = ours.conn();
    ok(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    ok(&mut c, &["SET", "s", "v"]);
    ok(&mut c, &["SAVE"]);
    let good = std::fs::read(ours.dir.as_ref().unwrap().path().join("dump.rdb")).unwrap();
    drop(c);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 12].to_vec()),
        ("checksum", {
            let mut b = good.clone();
            let n = b.len();
            b[n - 1] ^= 1;
            b
        }),
        ("version", {
            let mut b = good.clone();
            b[5..9].copy_from_slice(b"0011");
            b
        }),
    ];
    for (what, bytes) in cases {
        let dir = TempDir::new("rdb-bad");
        std::fs::write(dir.path().join("dump.rdb"), &bytes).unwrap();
        let (status, log) = run_to_exit(dir.path());
        assert!(!status.success(), "{what}: exited with success:\n{log}");
        assert!(log.contains("Fatal error loading the DB"), "{what}: {log}");
    }
}

/// Runs redlite in `dir` until it exits by itself (failing after 30 s); its status and
/// everything it printed.
fn run_to_exit(dir: &std::path::Path) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_redlite-server"))
        .args(["--port", "0", "--save", "", "--dir"])
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("redlite kept running on a corrupt dump");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut log = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    (status, log)
}

/// Keys whose DUMP is fully determined (compact encodings, no times inside).
const DETERMINED: &[&str] = &[
    "str:raw",
    "str:i8",
    "str:i16",
    "str:i32",
    "str:i64",
    "str:zero",
    "str:lead0",
    "str:lzf",
    "str:noise",
    "str:empty",
    "list:small",
    "list:big",
    "set:int",
    "set:int64",
    "hash:small",
    "zset:small",
    "zset:longmember",
    "zset:big",
    "stream:empty",
    "ttl:str",
    "ttl:list",
];

/// DUMP's bytes equal Redis's for every value whose encoding fixes them.
#[test]
fn dump_bytes_equal_redis() {
    if !reference_available("dump_bytes_equal_redis") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    populate(&mut ours);
    populate(&mut theirs);
    // A stream without groups (group and consumer times differ between the servers).
    for c in [&mut ours, &mut theirs] {
        for i in 1..=120 {
            ok(
                c,
                &[
                    "XADD",
                    "stream:plain",
                    &format!("{i}-{i}"),
                    "field",
                    &format!("{i}"),
                    "x",
                    "y",
                ],
            );
        }
        ok(c, &["XADD", "stream:plain", "500-0", "other", "fields"]);
        ok(c, &["XDEL", "stream:plain", "3-3"]);
    }
    let mut keys: Vec<&str> = DETERMINED.to_vec();
    keys.push("stream:plain");
    keys.push("missing");
    let (mut a, mut b) = (String::new(), String::new());
    for k in keys {
        a.push_str(&format!("{k}: {}\n", render(&ours.cmd(&["DUMP", k]))));
        b.push_str(&format!("{k}: {}\n", render(&theirs.cmd(&["DUMP", k]))));
    }
    assert_eq!(a, b);
    // FUNCTION DUMP (the library's code is LZF-compressed as Redis does).
    assert_eq!(
        render(&ours.cmd(&["FUNCTION", "DUMP"])),
        render(&theirs.cmd(&["FUNCTION", "DUMP"]))
    );
    // With compression off too.
    for c in [&mut ours, &mut theirs] {
        ok(c, &["CONFIG", "SET", "rdbcompression", "no"]);
    }
    for k in ["str:lzf", "list:big", "zset:big", "stream:plain"] {
        assert_eq!(
            render(&ours.cmd(&["DUMP", k])),
            render(&theirs.cmd(&["DUMP", k])),
            "{k}"
        );
    }
}

/// RESTORE takes each of Redis's payloads and yields the same value.
#[test]
fn restore_takes_redis_payloads() {
    if !reference_available("restore_takes_redis_payloads") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    populate(&mut theirs);
    let expected = snapshot(&mut theirs);
    ok(&mut ours, &["FLUSHALL"]);
    for ((db, key), _) in expected.iter().filter(|((db, _), _)| *db < 16) {
        let dbs = db.to_string();
        ok(&mut theirs, &["SELECT", &dbs]);
        ok(&mut ours, &["SELECT", &dbs]);
        let payload = bulk(&theirs.cmd_bytes(&[b"DUMP", key]));
        let pexpire = render(&theirs.cmd_bytes(&[b"PEXPIRETIME", key]));
        let at = pexpire
            .trim_start_matches(':')
            .trim_end_matches("\\r\\n")
            .to_string();
        let ttl: &[u8] = if at.starts_with('-') {
            b"0"
        } else {
            at.as_bytes()
        };
        let reply = ours.cmd_bytes(&[b"RESTORE", key, ttl, &payload, b"ABSTTL"]);
        assert_eq!(
            render(&reply),
            "+OK\\r\\n",
            "{}",
            String::from_utf8_lossy(key)
        );
    }
    // The library comes by FUNCTION DUMP / RESTORE.
    let libs = bulk(&theirs.cmd(&["FUNCTION", "DUMP"]));
    assert_eq!(
        ours.cmd_bytes(&[b"FUNCTION", b"RESTORE", &libs]),
        b"+OK\r\n"
    );
    assert_eq!(snapshot(&mut ours), expected);
}

/// Every RESTORE error, and the option handling, as Redis answers them.
#[test]
fn restore_errors_match_redis() {
    if !reference_available("restore_errors_match_redis") {
        return;
    }
    const SCRIPT: &[Cmd] = &[
        &["SET", "k", "v"],
        &["RESTORE", "k", "0", "x"],
        &["RESTORE", "k", "0", "x", "REPLACE"],
        &["RESTORE", "new", "abc", "x"],
        &["RESTORE", "new", "-1", "x"],
        &["RESTORE", "new", "0", "x", "BOGUS"],
        &["RESTORE", "new", "0", "x", "IDLETIME"],
        &["RESTORE", "new", "0", "x", "IDLETIME", "-1"],
        &["RESTORE", "new", "0", "x", "IDLETIME", "abc"],
        &["RESTORE", "new", "0", "x", "FREQ", "256"],
        &["RESTORE", "new", "0", "x", "FREQ", "-1"],
        &["RESTORE", "new", "0", "x", "FREQ", "1", "IDLETIME", "1"],
        &["RESTORE", "new", "0", "x", "IDLETIME", "1", "FREQ", "1"],
        &["RESTORE", "new"],
        &["DUMP"],
        &["DUMP", "nokey"],
        // A valid string payload ("v"), with a wrong CRC, a newer version, a bad type.
        &[
            "RESTORE",
            "p1",
            "0",
            "\x00\x01v\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        ],
        &[
            "RESTORE",
            "p2",
            "0",
            "\x00\x01v\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        ],
        &["SET", "k2", "v"],
        &["DUMP", "k2"],
        &["RESTORE", "k3", "0", "\x00"],
    ];
    run_script(SCRIPT);
}

/// Payloads whose CRC is right but whose content is not: both servers say "Bad data
/// format" (Redis with sanitize-dump-payload yes, as redlite always checks).
#[test]
fn corrupt_payloads_are_bad_data_format() {
    if !reference_available("corrupt_payloads_are_bad_data_format") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    ok(
        &mut theirs,
        &["CONFIG", "SET", "sanitize-dump-payload", "yes"],
    );
    let with_footer = |body: &[u8]| {
        let mut p = body.to_vec();
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = redlite::persist::crc64::crc64(0, &p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    };
    let bodies: Vec<Vec<u8>> = vec![
        vec![0x63],                                           // Unknown type.
        vec![0x0b, 0x0c, 2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 3, 0], // Intset out of order.
        vec![0x0b, 0x0c, 2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 5, 0], // Intset duplicate.
        vec![0x0b, 0x08, 2, 0, 0, 0, 0, 0, 0, 0],             // Empty intset.
        vec![0x02, 0x02, 0x01, b'a', 0x01, b'a'],             // Duplicate set member.
        vec![0x04, 0x01, 0x01, b'a'],                         // Hash cut short.
        vec![
            0x10, 0x11, 0x11, 0, 0, 0, 4, 0, 0x81, b'a', 2, 1, 1, 0x81, b'a', 2, 2, 1, 0xff,
        ], // Dup field.
        vec![0x00, 0xc3, 0x02, 0x05, 0x01, b'a'],             // LZF cut short.
        vec![0x12, 0x01, 0x03, 0x07, 7, 0, 0, 0, 0, 0, 0xff], // Unknown container.
    ];
    for body in bodies {
        let p = with_footer(&body);
        let a = ours.cmd_bytes(&[b"RESTORE", b"k", b"0", &p]);
        let b = theirs.cmd_bytes(&[b"RESTORE", b"k", b"0", &p]);
        assert_eq!(render(&a), render(&b), "payload {body:?}");
        assert_eq!(render(&a), "-ERR Bad data format\\r\\n");
    }
}

/// RESTORE's effects: the `restore` event, a relative TTL propagated as ABSTTL, a past
/// TTL storing nothing (and replaying DEL when it replaced a key), compared with a real
/// server's AOF.
#[test]
fn restore_propagates_as_redis() {
    if !reference_available("restore_propagates_as_redis") {
        return;
    }
    let ours_dir = TempDir::new("rdb-aof-ours");
    let ours = Server::start_in(ours_dir.path(), &["--appendonly", "yes"]).unwrap();
    let theirs = Reference::start_with(&["--appendonly", "yes"]);
    let mut results = Vec::new();
    for (mut c, dir) in [
        (ours.conn(), ours_dir.path().to_path_buf()),
        (theirs.conn(), theirs.path.clone()),
    ] {
        ok(&mut c, &["SET", "src", "value"]);
        let payload = bulk(&c.cmd(&["DUMP", "src"]));
        let p = payload.as_slice();
        c.cmd_bytes(&[b"RESTORE", b"a", b"0", p]);
        c.cmd_bytes(&[b"RESTORE", b"b", b"4102444800000", p, b"ABSTTL"]);
        c.cmd_bytes(&[b"RESTORE", b"a", b"1", p, b"REPLACE", b"ABSTTL"]);
        c.cmd_bytes(&[b"RESTORE", b"c", b"1", p, b"ABSTTL"]);
        c.cmd_bytes(&[b"RESTORE", b"b", b"0", p, b"REPLACE"]);
        c.cmd_bytes(&[b"RESTORE", b"d", b"100000000", p]);
        let pttl = common::diff::int_reply(&c.cmd(&["PTTL", "d"])).unwrap();
        assert!((99_000_000..=100_000_000).contains(&pttl), "{pttl}");
        let keys = render(&c.cmd(&["DBSIZE"]));
        ok(&mut c, &["SET", "end", "x"]);
        std::thread::sleep(std::time::Duration::from_millis(1200));
        let aof = read_aof(&dir);
        results.push((keys, aof));
    }
    let (ours_r, theirs_r) = (&results[0], &results[1]);
    assert_eq!(ours_r.0, theirs_r.0);
    // The relative TTL becomes an absolute one: compare with the number masked.
    let mask = |s: &str| {
        let mut out = String::new();
        for line in s.split("\r\n") {
            if line.len() >= 13
                && line.bytes().all(|b| b.is_ascii_digit())
                && line != "4102444800000"
            {
                out.push_str("<abs-ms>");
            } else {
                out.push_str(line);
            }
            out.push('|');
        }
        out
    };
    assert_eq!(mask(&ours_r.1), mask(&theirs_r.1));
    assert!(ours_r.1.contains("ABSTTL"));
}

/// The incremental AOF's commands (after the base), as text.
fn read_aof(dir: &std::path::Path) -> String {
    let aof_dir = dir.join("appendonlydir");
    let mut names: Vec<_> = std::fs::read_dir(&aof_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".incr.aof"))
        .collect();
    names.sort();
    let mut text = String::new();
    for n in names {
        text.push_str(&String::from_utf8_lossy(
            &std::fs::read(aof_dir.join(n)).unwrap(),
        ));
    }
    // SELECT is written once by each; the payload bytes are the same on both.
    text
}

/// An AOF whose base Redis wrote as RDB (`aof-use-rdb-preamble yes`, its default):
/// redlite loads the base as RDB and replays the incremental file after it.
#[test]
fn aof_with_an_rdb_base_from_redis_loads() {
    if !reference_available("aof_with_an_rdb_base_from_redis_loads") {
        return;
    }
    let reference =
        Reference::start_with(&["--appendonly", "yes", "--aof-use-rdb-preamble", "yes"]);
    let mut theirs = reference.conn();
    populate(&mut theirs);
    ok(&mut theirs, &["BGREWRITEAOF"]);
    while common::info_field(&mut theirs, "aof_rewrite_in_progress") != "0"
        || common::info_field(&mut theirs, "aof_rewrite_scheduled") != "0"
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // After the rewrite: commands in the incremental file.
    ok(&mut theirs, &["SET", "after", "rewrite"]);
    ok(&mut theirs, &["RPUSH", "list:small", "tail"]);
    let expected = snapshot(&mut theirs);
    std::thread::sleep(std::time::Duration::from_millis(1200)); // appendfsync everysec
    let src = reference.path.join("appendonlydir");
    let names: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.ends_with(".base.rdb")), "{names:?}");
    let dir = TempDir::new("rdb-aof");
    std::fs::create_dir(dir.path().join("appendonlydir")).unwrap();
    for n in &names {
        std::fs::copy(src.join(n), dir.path().join("appendonlydir").join(n)).unwrap();
    }
    let ours = Server::start_in(dir.path(), &["--appendonly", "yes"]).expect("loads the AOF");
    assert_eq!(snapshot(&mut ours.conn()), expected);
    assert!(ours
        .log_text()
        .contains("Reading RDB base file on AOF loading"));

    // An old-style single file: the RDB preamble, then commands.
    let base = names.iter().find(|n| n.ends_with(".base.rdb")).unwrap();
    let mut single = std::fs::read(src.join(base)).unwrap();
    single.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$4\r\ntail\r\n$3\r\nyes\r\n");
    let dir = TempDir::new("rdb-aof-single");
    std::fs::write(dir.path().join("appendonly.aof"), &single).unwrap();
    let ours = Server::start_in(dir.path(), &["--appendonly", "yes"]).expect("loads the file");
    let mut c = ours.conn();
    assert_eq!(c.cmd(&["GET", "tail"]), b"$3\r\nyes\r\n");
    assert_eq!(c.cmd(&["GET", "str:lzf"]), theirs.cmd(&["GET", "str:lzf"]));
}

/// With `aof-use-rdb-preamble yes` (the default, as in Redis) redlite writes its AOF
/// base as an RDB named `.base.rdb`: `redis-check-rdb` accepts it, and both redis-server
/// and redlite load the AOF directory into the same dataset.
#[test]
fn redlite_writes_an_rdb_aof_base() {
    if !reference_available("redlite_writes_an_rdb_aof_base") {
        return;
    }
    let dir = TempDir::new("rdb-aof-write");
    let ours = Server::start_in(dir.path(), &["--appendonly", "yes"]).unwrap();
    let mut c = ours.conn();
    populate(&mut c);
    ok(&mut c, &["BGREWRITEAOF"]);
    while common::info_field(&mut c, "aof_rewrite_in_progress") != "0"
        || common::info_field(&mut c, "aof_rewrite_scheduled") != "0"
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    ok(&mut c, &["SET", "after", "rewrite"]);
    let expected = snapshot(&mut c);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let aof_dir = dir.path().join("appendonlydir");
    let names: Vec<String> = std::fs::read_dir(&aof_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let base = names
        .iter()
        .find(|n| n.ends_with(".base.rdb"))
        .unwrap_or_else(|| panic!("no RDB base in {names:?}"));
    let report = check_rdb(&aof_dir.join(base));
    assert!(report.contains("aof-base = '1'"), "{report}");
    let theirs_dir = TempDir::new("rdb-aof-ref");
    std::fs::create_dir(theirs_dir.path().join("appendonlydir")).unwrap();
    for n in &names {
        std::fs::copy(
            aof_dir.join(n),
            theirs_dir.path().join("appendonlydir").join(n),
        )
        .unwrap();
    }
    let reference = Reference::start_in(theirs_dir.path(), &["--appendonly", "yes"]);
    assert_eq!(snapshot(&mut reference.conn()), expected);
    drop(c);
    drop(ours);
    let again = Server::start_in(dir.path(), &["--appendonly", "yes"]).unwrap();
    assert_eq!(snapshot(&mut again.conn()), expected);
}

/// `redis-cli --rdb` downloads a snapshot through SYNC: a valid RDB of the dataset.
#[test]
fn redis_cli_rdb_downloads_a_snapshot() {
    if !reference_available("redis_cli_rdb_downloads_a_snapshot") {
        return;
    }
    let ours = Server::start(&[]);
    let mut c = ours.conn();
    populate(&mut c);
    let expected = snapshot(&mut c);
    let dir = TempDir::new("rdb-sync");
    let file = dir.path().join("dump.rdb");
    let out = Command::new("redis-cli")
        .args(["-p", &ours.port.to_string(), "--rdb"])
        .arg(&file)
        .output()
        .expect("run redis-cli");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_rdb(&file);
    let reference = Reference::start_in(dir.path(), &[]);
    assert_eq!(snapshot(&mut reference.conn()), expected);
    // The server carries on.
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
}

/// REPLCONF's checks, as Redis answers them.
#[test]
fn replconf_errors_match_redis() {
    if !reference_available("replconf_errors_match_redis") {
        return;
    }
    run_script(&[
        &["REPLCONF"],
        &["REPLCONF", "capa"],
        &["REPLCONF", "capa", "eof"],
        &["REPLCONF", "nosuch", "1"],
        &["REPLCONF", "listening-port", "7000", "capa", "psync2"],
    ]);
}

/// A list with elements past a lowered packed threshold, dumped: the DUMP payload (its
/// plain nodes), and the replies to bad thresholds.
fn plain_nodes(c: &mut Conn) -> Vec<Vec<u8>> {
    let big = "x".repeat(150);
    let bigger = "y".repeat(300);
    vec![
        c.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100b"]),
        c.cmd(&["RPUSH", "l", "a", &big, "b", "c", &bigger, &bigger, "d"]),
        c.cmd(&["DUMP", "l"]),
        c.cmd(&["LRANGE", "l", "0", "-1"]),
        c.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb"]),
        c.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "many"]),
        c.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"]),
    ]
}

#[test]
fn quicklist_packed_threshold_puts_big_elements_in_plain_nodes_as_redis() {
    let ours = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = ours.conn();
    let replies = plain_nodes(&mut c);
    // Back at the default threshold, the same list dumps without plain nodes (redlite
    // lays a list's nodes out when it writes it; Redis keeps the nodes it built).
    assert_ne!(replies[2], c.cmd(&["DUMP", "l"]));
    if !reference_available("quicklist_packed_threshold_puts_big_elements_in_plain_nodes_as_redis")
    {
        return;
    }
    let redis = Reference::start();
    assert_eq!(plain_nodes(&mut redis.conn()), replies);
}
