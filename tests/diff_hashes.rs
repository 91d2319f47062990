//! Differential tests for the hash commands: HSET, HMSET, HSETNX, HGET, HMGET, HDEL,
//! HEXISTS, HLEN, HSTRLEN, HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD and
//! HSCAN, against a reference redis-server 7.0.
//!
//! Scripts run on a fresh redlite and a fresh reference server and every reply is
//! compared byte for byte, errors included. A small (listpack) hash answers in insertion
//! order on both, so its HGETALL, HKEYS and HVALS are byte-identical; past the listpack
//! limits the order is the hash table's, and `common::diff::agree` compares those replies
//! as unordered. OBJECT ENCODING is compared at every step across both limits.
//!
//! Compared by properties, since random draws and hash-table cursors legitimately
//! differ: HRANDFIELD (reply shape and length, members only, distinct when asked,
//! values matching their fields; byte for byte where the reply is not random: the whole
//! hash, an empty or missing key, every error) and HSCAN over a hashtable (a full
//! iteration returns every field with its value, MATCH selects the same fields). A
//! listpack HSCAN is compared byte for byte.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::diff::{agree, render, render_cmd, run_on, Cmd, Pair};
use common::{array_elements, Conn};
use pretty_assertions::assert_eq;

/// The payload of a raw bulk reply (`$3\r\nabc\r\n` -> `abc`).
fn bulk_value(raw: &[u8]) -> Vec<u8> {
    assert!(raw.starts_with(b"$"), "not a bulk: {}", render(raw));
    let start = raw.iter().position(|&b| b == b'\n').unwrap() + 1;
    raw[start..raw.len() - 2].to_vec()
}

/// The bulk strings of a flat array reply.
fn bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    assert!(reply.starts_with(b"*"), "not an array: {}", render(reply));
    array_elements(reply)
        .iter()
        .map(|e| bulk_value(e))
        .collect()
}

/// Whether two replies to `cmd` agree: as `common::diff::agree`, except that HKEYS,
/// HVALS and HGETALL of a listpack hash (the reference's OBJECT ENCODING says so) must be
/// byte-identical, since a listpack answers in insertion order on both.
fn agree_strict(cmd: &[&str], a: &[u8], b: &[u8], ours: &mut Conn, theirs: &mut Conn) -> bool {
    let ordered = ["hkeys", "hvals", "hgetall"].contains(&cmd[0].to_ascii_lowercase().as_str());
    if a != b && ordered && cmd.len() == 2 {
        let enc = [&mut *ours, &mut *theirs].map(|c| c.cmd(&["OBJECT", "ENCODING", cmd[1]]));
        if enc[1] == b"$8\r\nlistpack\r\n" {
            return false;
        }
    }
    agree(cmd, a, b)
}

/// Runs commands on both connections and fails with a diff of every reply that
/// disagrees (see [`agree_strict`]).
fn run_strict<S: AsRef<str>>(script: &[Vec<S>], ours: &mut Conn, theirs: &mut Conn) {
    let (mut ours_report, mut theirs_report) = (String::new(), String::new());
    for (i, cmd) in script.iter().enumerate() {
        let cmd: Vec<&str> = cmd.iter().map(AsRef::as_ref).collect();
        let (a, b) = (ours.cmd(&cmd), theirs.cmd(&cmd));
        if !agree_strict(&cmd, &a, &b, ours, theirs) {
            let mut line = format!("#{i} {}", render_cmd(&cmd));
            line.truncate(200);
            ours_report.push_str(&format!("{line}\n  => {}\n", render(&a)));
            theirs_report.push_str(&format!("{line}\n  => {}\n", render(&b)));
        }
    }
    assert_eq!(ours_report, theirs_report, "left: redlite, right: redis");
}

/// [`run_strict`] on a fresh pair of servers.
fn run_script(script: &[Cmd]) {
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let script: Vec<Vec<&str>> = script.iter().map(|c| c.to_vec()).collect();
    run_strict(&script, &mut ours, &mut theirs);
}

/// Builds a command from anything printable.
fn cmd(words: &[&dyn std::fmt::Display]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// A connection pair on fresh servers, or `None` when the reference is missing.
fn start(test: &str) -> Option<(Pair, Conn, Conn)> {
    if !common::reference_available(test) {
        return None;
    }
    let pair = Pair::start();
    let (ours, theirs) = (pair.ours.conn(), pair.theirs.conn());
    Some((pair, ours, theirs))
}

#[test]
fn set_get_and_delete() {
    if !common::reference_available("set_get_and_delete") {
        return;
    }
    const SCRIPT: &[Cmd] = &[
        &["HSET", "h", "a", "1", "b", "2", "c", "3"],
        &["HSET", "h", "a", "10", "d", "4"],
        &["HSET", "h", "e", "5", "e", "6"],
        &["HGETALL", "h"],
        &["HKEYS", "h"],
        &["HVALS", "h"],
        &["HMSET", "h", "b", "20", "f", ""],
        &["HGETALL", "h"],
        &["HGET", "h", "a"],
        &["HGET", "h", "nope"],
        &["HGET", "nokey", "a"],
        &["HMGET", "h", "a", "nope", "f", "a"],
        &["HMGET", "nokey", "a", "b"],
        &["HSETNX", "h", "a", "x"],
        &["HSETNX", "h", "g", "7"],
        &["HSETNX", "new", "f", "v"],
        &["HGETALL", "new"],
        &["HEXISTS", "h", "g"],
        &["HEXISTS", "h", "nope"],
        &["HEXISTS", "nokey", "a"],
        &["HLEN", "h"],
        &["HLEN", "nokey"],
        &["HSTRLEN", "h", "a"],
        &["HSTRLEN", "h", "f"],
        &["HSTRLEN", "h", "nope"],
        &["HSTRLEN", "nokey", "a"],
        &["HDEL", "h", "b", "nope", "b", "d"],
        &["HGETALL", "h"],
        &["HDEL", "nokey", "a"],
        &["HDEL", "h", "a", "c", "e", "f", "g", "more"],
        &["EXISTS", "h"],
        &["HGETALL", "h"],
        &["HKEYS", "h"],
        &["HVALS", "h"],
        &["HLEN", "h"],
        // Binary-safe fields and values, the empty field, integers that are and are not
        // canonical (Redis stores the canonical ones as integers in its listpack).
        &[
            "HSET", "b", "", "empty", "\x00\x7f", "bin\r\n", "n", "-12", "m", "007",
        ],
        &[
            "HSET",
            "b",
            "big",
            "9223372036854775808",
            "neg0",
            "-0",
            "sp",
            " 1",
        ],
        &["HGETALL", "b"],
        &["HSTRLEN", "b", "n"],
        &["HSTRLEN", "b", "big"],
        &["HGET", "b", ""],
        &["OBJECT", "ENCODING", "b"],
        &["TYPE", "b"],
        // A deleted-then-recreated field goes to the end.
        &["HDEL", "b", "n"],
        &["HSET", "b", "n", "1"],
        &["HKEYS", "b"],
        // COPY, RENAME and DEL keep or drop the whole hash.
        &["COPY", "b", "c"],
        &["HGETALL", "c"],
        &["OBJECT", "ENCODING", "c"],
        &["RENAME", "c", "d"],
        &["HGETALL", "d"],
        &["DEL", "d"],
        &["HLEN", "d"],
    ];
    run_script(SCRIPT);
}

#[test]
fn wrong_type_and_arity() {
    if !common::reference_available("wrong_type_and_arity") {
        return;
    }
    const SCRIPT: &[Cmd] = &[
        &["SET", "s", "x"],
        &["RPUSH", "l", "x"],
        &["HSET", "s", "a", "1"],
        &["HMSET", "s", "a", "1"],
        &["HSETNX", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HDEL", "l", "a"],
        &["HEXISTS", "s", "a"],
        &["HLEN", "l"],
        &["HSTRLEN", "s", "a"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "l"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "1"],
        &["HRANDFIELD", "s", "1", "WITHVALUES"],
        &["HSCAN", "s", "0"],
        // The string and list are untouched.
        &["GET", "s"],
        &["LRANGE", "l", "0", "-1"],
        // Argument errors that come before the type check.
        &["HINCRBY", "s", "a", "x"],
        &["HINCRBYFLOAT", "s", "a", "x"],
        &["HINCRBYFLOAT", "s", "a", "inf"],
        &["HRANDFIELD", "s", "x"],
        &["HRANDFIELD", "s", "1", "nope"],
        &["HSCAN", "s", "x"],
        // ...and after it.
        &["HSCAN", "s", "0", "COUNT", "0"],
        // Arity: the table's and HSET/HMSET's odd pair count.
        &["HSET"],
        &["HSET", "h"],
        &["HSET", "h", "a"],
        &["HSET", "h", "a", "1", "b"],
        &["HMSET", "h", "a"],
        &["HMSET", "h", "a", "1", "b"],
        &["EXISTS", "h"],
        &["HSETNX", "h", "a"],
        &["HSETNX", "h", "a", "1", "2"],
        &["HGET", "h"],
        &["HGET", "h", "a", "b"],
        &["HMGET", "h"],
        &["HDEL", "h"],
        &["HEXISTS", "h"],
        &["HLEN"],
        &["HLEN", "h", "x"],
        &["HSTRLEN", "h"],
        &["HKEYS"],
        &["HVALS", "h", "x"],
        &["HGETALL"],
        &["HINCRBY", "h", "a"],
        &["HINCRBYFLOAT", "h", "a", "1", "2"],
        &["HRANDFIELD"],
        &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
        &["HSCAN", "h"],
        &["hset", "h", "a"],
        &["HmSeT", "h", "a", "1", "b"],
        &["EXISTS", "h"],
    ];
    run_script(SCRIPT);
}

#[test]
fn hincrby_and_hincrbyfloat() {
    if !common::reference_available("hincrby_and_hincrbyfloat") {
        return;
    }
    const SCRIPT: &[Cmd] = &[
        &["HINCRBY", "h", "a", "5"],
        &["HINCRBY", "h", "a", "-7"],
        &["HINCRBY", "h", "a", "0"],
        &["HGET", "h", "a"],
        &["HINCRBY", "h", "max", "9223372036854775807"],
        &["HINCRBY", "h", "max", "1"],
        &["HINCRBY", "h", "max", "-1"],
        &["HINCRBY", "h", "min", "-9223372036854775807"],
        &["HINCRBY", "h", "min", "-1"],
        &["HINCRBY", "h", "min", "-1"],
        &["HGET", "h", "min"],
        &["HINCRBY", "h", "a", "9223372036854775808"],
        &["HINCRBY", "h", "a", "1.5"],
        &["HINCRBY", "h", "a", " 1"],
        &["HINCRBY", "h", "a", "01"],
        &["HINCRBY", "h", "a", ""],
        &["HINCRBY", "nokey", "a", "x"],
        &["EXISTS", "nokey"],
        &[
            "HSET", "h", "s", "abc", "f", "1.5", "sp", " 1", "z", "007", "neg0", "-0",
        ],
        &["HINCRBY", "h", "s", "1"],
        &["HINCRBY", "h", "f", "1"],
        &["HINCRBY", "h", "sp", "1"],
        &["HINCRBY", "h", "z", "1"],
        &["HINCRBY", "h", "neg0", "1"],
        // Floats: formatting, precision, exponents, errors in Redis's order.
        &["HINCRBYFLOAT", "h", "f", "0.1"],
        &["HINCRBYFLOAT", "h", "f", "-1.6"],
        &["HINCRBYFLOAT", "h", "g", "10.5"],
        &["HINCRBYFLOAT", "h", "g", "0.1"],
        &["HINCRBYFLOAT", "h", "g", "-0.6"],
        &["HINCRBYFLOAT", "h", "g", "1e2"],
        &["HINCRBYFLOAT", "h", "g", "3.0e3"],
        &["HINCRBYFLOAT", "h", "g", "-5000"],
        &["HINCRBYFLOAT", "h", "tiny", "0.00000000000000001"],
        &["HINCRBYFLOAT", "h", "tiny", "1e-30"],
        &["HINCRBYFLOAT", "h", "z", "1"],
        &["HINCRBYFLOAT", "h", "neg0", "0"],
        &["HINCRBYFLOAT", "h", "a", "1.5"],
        &["HINCRBYFLOAT", "h", "max", "1"],
        &["HINCRBYFLOAT", "h", "s", "1"],
        &["HINCRBYFLOAT", "h", "sp", "1"],
        &["HINCRBYFLOAT", "h", "f", "inf"],
        &["HINCRBYFLOAT", "h", "f", "-inf"],
        &["HINCRBYFLOAT", "h", "f", "+inf"],
        &["HINCRBYFLOAT", "h", "f", "nan"],
        &["HINCRBYFLOAT", "h", "f", "abc"],
        &["HINCRBYFLOAT", "h", "f", ""],
        &["HINCRBYFLOAT", "h", "f", " 1"],
        &["HINCRBYFLOAT", "h", "huge", "1e4932"],
        &["HINCRBYFLOAT", "h", "huge", "1e4932"],
        &["HINCRBYFLOAT", "h", "huge", "1.2e4932"],
        &["HINCRBYFLOAT", "nokey", "f", "inf"],
        &["HINCRBYFLOAT", "nokey", "f", "x"],
        &["EXISTS", "nokey"],
        &["HSET", "h", "inf", "inf", "nan", "nan"],
        &["HINCRBYFLOAT", "h", "inf", "1"],
        &["HINCRBYFLOAT", "h", "nan", "1"],
        &["HGETALL", "h"],
        &["OBJECT", "ENCODING", "h"],
        // A result too long for a listpack converts the hash.
        &["HINCRBYFLOAT", "h", "long", "1e70"],
        &["OBJECT", "ENCODING", "h"],
        &["HGET", "h", "long"],
    ];
    run_script(SCRIPT);
}

#[test]
fn encodings_cross_both_limits() {
    let Some((_pair, mut ours, mut theirs)) = start("encodings_cross_both_limits") else {
        return;
    };
    let enc = |key: &str| cmd(&[&"OBJECT", &"ENCODING", &key]);
    let mut script = Vec::new();
    // The entry limit: 512 fields stay a listpack, the 513th converts; updates and
    // HSETNX of an existing field add nothing.
    for i in 0..512 {
        script.push(cmd(&[&"HSET", &"n", &format!("f{i}"), &i]));
        if i % 64 == 0 {
            script.push(enc("n"));
        }
    }
    script.push(enc("n"));
    script.push(cmd(&[&"HSET", &"n", &"f0", &"again"]));
    script.push(cmd(&[&"HSETNX", &"n", &"f1", &"again"]));
    script.push(enc("n"));
    script.push(cmd(&[&"HGETALL", &"n"]));
    script.push(cmd(&[&"HSET", &"n", &"f512", &"x"]));
    script.push(enc("n"));
    script.push(cmd(&[&"HLEN", &"n"]));
    script.push(cmd(&[&"HGETALL", &"n"]));
    // Shrinking back does not convert back.
    for i in 0..510 {
        script.push(cmd(&[&"HDEL", &"n", &format!("f{i}")]));
    }
    script.push(enc("n"));
    script.push(cmd(&[&"HGETALL", &"n"]));
    // One HSET of more than 512 pairs, duplicates included: it counts fields, not pairs.
    let mut dup = vec!["HSET".to_string(), "d".to_string()];
    for i in 0..600 {
        dup.push(format!("f{}", i % 300));
        dup.push(i.to_string());
    }
    script.push(dup);
    script.push(enc("d"));
    script.push(cmd(&[&"HLEN", &"d"]));
    script.push(cmd(&[&"HGETALL", &"d"]));
    // The value limit: 64 bytes fit, 65 convert; for fields and values; on HSET, HMSET,
    // HSETNX, HINCRBY (a long field) and HINCRBYFLOAT.
    let (fit, over) = ("x".repeat(64), "y".repeat(65));
    for (i, (command, args)) in [
        ("HSET", vec![fit.as_str(), "v"]),
        ("HSET", vec!["f", fit.as_str()]),
        ("HSET", vec!["f", over.as_str()]),
        ("HSET", vec![over.as_str(), "v"]),
        ("HMSET", vec!["a", "1", "b", over.as_str()]),
        ("HSETNX", vec![over.as_str(), "v"]),
        ("HINCRBY", vec![over.as_str(), "1"]),
        ("HINCRBYFLOAT", vec![over.as_str(), "1.5"]),
    ]
    .into_iter()
    .enumerate()
    {
        let key = format!("v{i}");
        script.push(cmd(&[&"HSET", &key, &"first", &"1"]));
        let mut c = vec![command.to_string(), key.clone()];
        c.extend(args.iter().map(|a| a.to_string()));
        script.push(c);
        script.push(enc(&key));
        script.push(cmd(&[&"HGETALL", &key]));
    }
    // HSETNX of an existing field with a long value converts nothing.
    script.push(cmd(&[&"HSET", &"nx", &"a", &"1"]));
    script.push(cmd(&[&"HSETNX", &"nx", &"a", &over]));
    script.push(enc("nx"));
    // The limits follow CONFIG SET, for hashes written afterwards.
    script.push(cmd(&[
        &"CONFIG",
        &"SET",
        &"hash-max-listpack-entries",
        &"2",
    ]));
    script.push(cmd(&[&"CONFIG", &"SET", &"hash-max-listpack-value", &"3"]));
    script.push(cmd(&[&"HSET", &"c", &"a", &"1", &"b", &"2"]));
    script.push(enc("c"));
    script.push(cmd(&[&"HSET", &"c", &"c", &"3"]));
    script.push(enc("c"));
    script.push(cmd(&[&"HSET", &"c2", &"abcd", &"1"]));
    script.push(enc("c2"));
    script.push(cmd(&[&"HSET", &"c3", &"abc", &"123"]));
    script.push(enc("c3"));
    script.push(cmd(&[&"HINCRBY", &"c3", &"abc", &"1000"]));
    script.push(enc("c3"));
    script.push(cmd(&[
        &"CONFIG",
        &"SET",
        &"hash-max-listpack-entries",
        &"0",
    ]));
    script.push(cmd(&[&"HSET", &"z", &"a", &"1"]));
    script.push(enc("z"));
    run_strict(&script, &mut ours, &mut theirs);
}

#[test]
fn dirty_counts_and_keyspace_stats() {
    let Some((_pair, mut ours, mut theirs)) = start("dirty_counts_and_keyspace_stats") else {
        return;
    };
    const SCRIPT: &[Cmd] = &[
        &["HSET", "h", "a", "1", "b", "2", "a", "3"],
        &["HMSET", "h", "a", "1"],
        &["HSETNX", "h", "a", "1"],
        &["HSETNX", "h", "c", "1"],
        &["HDEL", "h", "a", "zz", "b"],
        &["HDEL", "h", "zz"],
        &["HINCRBY", "h", "n", "1"],
        &["HINCRBY", "h", "c", "x"],
        &["HINCRBYFLOAT", "h", "n", "1.5"],
        &["HGET", "h", "n"],
        &["HGET", "nokey", "n"],
        &["HMGET", "h", "n", "c"],
        &["HLEN", "h"],
        &["HGETALL", "nokey"],
        &["HRANDFIELD", "h", "0"],
        &["HRANDFIELD", "nokey"],
        &["HSCAN", "h", "0"],
        &["HDEL", "h", "c", "n"],
    ];
    run_on(SCRIPT, &mut ours, &mut theirs);
    for (section, field) in [
        ("persistence", "rdb_changes_since_last_save"),
        ("stats", "keyspace_hits"),
        ("stats", "keyspace_misses"),
    ] {
        let value = |conn: &mut Conn| {
            let info = String::from_utf8(conn.cmd(&["INFO", section])).unwrap();
            let line = info.lines().find(|l| l.starts_with(&format!("{field}:")));
            line.unwrap_or_else(|| panic!("no {field} in {info}"))
                .to_string()
        };
        assert_eq!(value(&mut ours), value(&mut theirs));
    }
}

/// Checks one HRANDFIELD reply with a count against `hash` (RESP2).
fn check_hrandfield(reply: &[u8], hash: &BTreeMap<Vec<u8>, Vec<u8>>, count: i64, values: bool) {
    let items = bulks(reply);
    let picks: Vec<(Vec<u8>, Option<Vec<u8>>)> = if values {
        assert_eq!(items.len() % 2, 0, "{}", render(reply));
        items
            .chunks(2)
            .map(|c| (c[0].clone(), Some(c[1].clone())))
            .collect()
    } else {
        items.into_iter().map(|f| (f, None)).collect()
    };
    let expected_len = if count < 0 {
        count.unsigned_abs() as usize
    } else {
        (count as usize).min(hash.len())
    };
    assert_eq!(
        picks.len(),
        expected_len,
        "count {count}: {}",
        render(reply)
    );
    for (field, value) in &picks {
        let stored = hash
            .get(field)
            .unwrap_or_else(|| panic!("{field:?} is no field"));
        if let Some(v) = value {
            assert_eq!(v, stored);
        }
    }
    if count > 0 {
        let distinct: BTreeSet<_> = picks.iter().map(|(f, _)| f).collect();
        assert_eq!(distinct.len(), picks.len(), "repeats for count {count}");
    }
}

#[test]
fn hrandfield_by_properties() {
    let Some((_pair, mut ours, mut theirs)) = start("hrandfield_by_properties") else {
        return;
    };
    // Errors and the replies that are not random, byte for byte.
    const SCRIPT: &[Cmd] = &[
        &["HRANDFIELD", "nokey"],
        &["HRANDFIELD", "nokey", "0"],
        &["HRANDFIELD", "nokey", "-3"],
        &["HRANDFIELD", "nokey", "3", "WITHVALUES"],
        &["HRANDFIELD", "nokey", "3", "nope"],
        &["HRANDFIELD", "nokey", "x"],
        &["HSET", "one", "only", "v"],
        &["HRANDFIELD", "one"],
        &["HRANDFIELD", "one", "-3"],
        &["HRANDFIELD", "one", "-3", "withvalues"],
        &["HSET", "h", "c", "3", "a", "1", "b", "2", "d", "4"],
        &["HRANDFIELD", "h", "0"],
        &["HRANDFIELD", "h", "0", "WITHVALUES"],
        &["HRANDFIELD", "h", "4"],
        &["HRANDFIELD", "h", "4", "WITHVALUES"],
        &["HRANDFIELD", "h", "100", "WITHVALUES"],
        &["HRANDFIELD", "h", "9223372036854775807"],
        &["HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"],
        &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
        &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
        &["HRANDFIELD", "h", "-9223372036854775808"],
        &["HRANDFIELD", "h", "-9223372036854775809"],
        &["HRANDFIELD", "h", "9223372036854775808"],
        &["HRANDFIELD", "h", "1.5"],
        &["HRANDFIELD", "h", ""],
        &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
        &["HRANDFIELD", "h", "1", "WITHSCORES"],
    ];
    run_on(SCRIPT, &mut ours, &mut theirs);

    // Random draws, on a listpack (10 fields) and a hashtable (1000), both servers.
    for n in [10usize, 1000] {
        let key = format!("r{n}");
        let mut hash = BTreeMap::new();
        let mut hset = vec!["HSET".to_string(), key.clone()];
        for i in 0..n {
            let (f, v) = (format!("field:{i}"), format!("value:{i}"));
            hash.insert(f.clone().into_bytes(), v.clone().into_bytes());
            hset.extend([f, v]);
        }
        let hset: Vec<&str> = hset.iter().map(String::as_str).collect();
        for conn in [&mut ours, &mut theirs] {
            assert_eq!(conn.cmd(&hset), format!(":{n}\r\n").into_bytes());
            let counts = [
                1,
                2,
                3,
                n as i64 / 4,
                n as i64 / 3 + 1,
                n as i64 - 1,
                -1,
                -7,
            ];
            for count in counts.into_iter().chain([-(n as i64) * 3]) {
                let c = count.to_string();
                check_hrandfield(&conn.cmd(&["HRANDFIELD", &key, &c]), &hash, count, false);
                let reply = conn.cmd(&["HRANDFIELD", &key, &c, "WITHVALUES"]);
                check_hrandfield(&reply, &hash, count, true);
            }
            // Single draws reach many fields, and every one is a field.
            let mut reached = BTreeSet::new();
            for _ in 0..200 {
                let field = bulk_value(&conn.cmd(&["HRANDFIELD", &key]));
                assert!(hash.contains_key(&field));
                reached.insert(field);
            }
            assert!(
                reached.len() >= n.min(100) / 2,
                "{} distinct",
                reached.len()
            );
        }
        let enc = |conn: &mut Conn| conn.cmd(&["OBJECT", "ENCODING", &key]);
        assert_eq!(enc(&mut ours), enc(&mut theirs));
        // The whole hash comes back for a count reaching its size; byte for byte while
        // it is a listpack (hash order), as a set otherwise.
        let c = n.to_string();
        let whole = |conn: &mut Conn| conn.cmd(&["HRANDFIELD", &key, &c, "WITHVALUES"]);
        let (a, b) = (whole(&mut ours), whole(&mut theirs));
        if n <= 512 {
            assert_eq!(render(&a), render(&b));
        } else {
            let (mut a, mut b) = (bulks(&a), bulks(&b));
            a.sort();
            b.sort();
            assert_eq!(a, b);
        }
    }
}

/// One HSCAN call: the next cursor and the flat field-value list.
fn hscan_once(conn: &mut Conn, key: &str, cursor: &str, opts: &[&str]) -> (String, Vec<Vec<u8>>) {
    let mut c = vec!["HSCAN", key, cursor];
    c.extend_from_slice(opts);
    let reply = conn.cmd(&c);
    let parts = array_elements(&reply);
    assert_eq!(parts.len(), 2, "HSCAN reply: {}", render(&reply));
    (
        String::from_utf8(bulk_value(&parts[0])).unwrap(),
        bulks(&parts[1]),
    )
}

/// A full HSCAN iteration: every field with its value, and the number of calls.
fn hscan_all(conn: &mut Conn, key: &str, opts: &[&str]) -> (BTreeMap<Vec<u8>, Vec<u8>>, usize) {
    let (mut cursor, mut all, mut calls) = ("0".to_string(), BTreeMap::new(), 0);
    loop {
        let (next, items) = hscan_once(conn, key, &cursor, opts);
        assert_eq!(items.len() % 2, 0);
        for pair in items.chunks(2) {
            all.insert(pair[0].clone(), pair[1].clone());
        }
        calls += 1;
        assert!(calls < 10_000, "HSCAN never finished");
        if next == "0" {
            return (all, calls);
        }
        cursor = next;
    }
}

#[test]
fn hscan_listpack_byte_for_byte() {
    if !common::reference_available("hscan_listpack_byte_for_byte") {
        return;
    }
    const SCRIPT: &[Cmd] = &[
        &["HSCAN", "nokey", "0"],
        &["HSCAN", "nokey", "0", "COUNT", "0"],
        &["HSCAN", "nokey", "x"],
        &[
            "HSET", "h", "b", "1", "a", "2", "ab", "3", "ba", "4", "10", "5",
        ],
        &["HSCAN", "h", "0"],
        &["HSCAN", "h", "17"],
        &["HSCAN", "h", "-1"],
        &["HSCAN", "h", "18446744073709551615"],
        &["HSCAN", "h", "18446744073709551616"],
        &["HSCAN", "h", "x"],
        &["HSCAN", "h", "1.5"],
        &["HSCAN", "h", ""],
        &["HSCAN", "h", "0", "COUNT", "1"],
        &["HSCAN", "h", "0", "MATCH", "a*"],
        &["HSCAN", "h", "0", "MATCH", "*a"],
        &["HSCAN", "h", "0", "MATCH", "1*"],
        &["HSCAN", "h", "0", "match", "[ab]", "count", "100"],
        &["HSCAN", "h", "0", "MATCH", "nothing"],
        &["HSCAN", "h", "0", "MATCH", "*", "COUNT", "2"],
        &["HSCAN", "h", "0", "COUNT", "0"],
        &["HSCAN", "h", "0", "COUNT", "-1"],
        &["HSCAN", "h", "0", "COUNT", "x"],
        &["HSCAN", "h", "0", "COUNT"],
        &["HSCAN", "h", "0", "MATCH"],
        &["HSCAN", "h", "0", "TYPE", "hash"],
        &["HSCAN", "h", "0", "NOVALUES"],
    ];
    run_script(SCRIPT);
}

#[test]
fn hscan_hashtable_by_properties() {
    let Some((_pair, mut ours, mut theirs)) = start("hscan_hashtable_by_properties") else {
        return;
    };
    let mut hset = vec!["HSET".to_string(), "big".to_string()];
    for i in 0..2000 {
        hset.extend([format!("f:{i}"), format!("v:{i}")]);
    }
    let hset: Vec<&str> = hset.iter().map(String::as_str).collect();
    for conn in [&mut ours, &mut theirs] {
        assert_eq!(conn.cmd(&hset), b":2000\r\n".to_vec());
        assert_eq!(
            conn.cmd(&["OBJECT", "ENCODING", "big"]),
            b"$9\r\nhashtable\r\n"
        );
    }
    // A full iteration returns every field with its value, on both.
    let (all_ours, calls) = hscan_all(&mut ours, "big", &[]);
    let (all_theirs, _) = hscan_all(&mut theirs, "big", &[]);
    assert_eq!(all_ours.len(), 2000);
    assert_eq!(all_ours, all_theirs);
    assert!(calls > 100, "a real cursor: {calls} calls of about 10");
    // COUNT sizes the steps; MATCH filters fields, not values.
    let (all, calls) = hscan_all(&mut ours, "big", &["COUNT", "500"]);
    assert_eq!((all.len(), calls <= 10), (2000, true), "{calls} calls");
    for opts in [
        &["MATCH", "f:1?"][..],
        &["MATCH", "v:*"],
        &["MATCH", "*7", "COUNT", "50"],
    ] {
        let (a, _) = hscan_all(&mut ours, "big", opts);
        let (b, _) = hscan_all(&mut theirs, "big", opts);
        assert_eq!(a, b, "{opts:?}");
    }
    assert_eq!(hscan_all(&mut ours, "big", &["MATCH", "f:1?"]).0.len(), 10);
    // A step with COUNT 1 returns at least one pair until the end.
    let (next, items) = hscan_once(&mut ours, "big", "0", &["COUNT", "1"]);
    assert!(next != "0" && items.len() >= 2);
    // Errors read the same on both.
    run_on(
        &[
            &["HSCAN", "big", "x"],
            &["HSCAN", "big", "0", "COUNT", "0"],
            &["HSCAN", "big", "0", "MATCH"],
            &["HSCAN", "big", "0", "TYPE", "hash"],
        ],
        &mut ours,
        &mut theirs,
    );
    // The guarantee holds while the hash changes between calls: fields present
    // throughout are all returned.
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut step = 0;
    loop {
        let (next, items) = hscan_once(&mut ours, "big", &cursor, &[]);
        seen.extend(items.chunks(2).map(|p| p[0].clone()));
        if next == "0" {
            break;
        }
        cursor = next;
        step += 1;
        if step < 150 {
            let (del, add) = (format!("f:{}", 1000 + step * 5), format!("new:{step}"));
            ours.cmd(&["HDEL", "big", &del]);
            ours.cmd(&["HSET", "big", &add, "x"]);
        }
    }
    for i in 0..1000 {
        assert!(seen.contains(format!("f:{i}").as_bytes()), "missed f:{i}");
    }
}

#[test]
fn a_big_hash_stays_correct() {
    let Some((_pair, mut ours, mut theirs)) = start("a_big_hash_stays_correct") else {
        return;
    };
    // Many single-field writes into one hash (as redis-benchmark's HSET test does),
    // then reads, increments and deletes, pipelined.
    let mut script = Vec::new();
    for i in 0..20_000 {
        script.push(cmd(&[&"HSET", &"big", &format!("field:{i}"), &i]));
    }
    script.push(cmd(&[&"HLEN", &"big"]));
    for i in (0..20_000).step_by(97) {
        script.push(cmd(&[&"HGET", &"big", &format!("field:{i}")]));
        script.push(cmd(&[&"HINCRBY", &"big", &format!("field:{i}"), &-5]));
        script.push(cmd(&[&"HSTRLEN", &"big", &format!("field:{i}")]));
    }
    for i in (0..20_000).step_by(3) {
        script.push(cmd(&[&"HDEL", &"big", &format!("field:{i}")]));
    }
    script.push(cmd(&[&"HLEN", &"big"]));
    script.push(cmd(&[&"HGETALL", &"big"]));
    script.push(cmd(&[&"HKEYS", &"big"]));
    script.push(cmd(&[&"HVALS", &"big"]));
    script.push(cmd(&[&"OBJECT", &"ENCODING", &"big"]));
    for conn in [&mut ours, &mut theirs] {
        for c in &script[..20_000] {
            let c: Vec<&str> = c.iter().map(String::as_str).collect();
            conn.send(&c);
        }
        for _ in 0..20_000 {
            assert_eq!(conn.read_reply(), b":1\r\n".to_vec());
        }
    }
    run_strict(&script[20_000..], &mut ours, &mut theirs);
}

#[test]
fn command_info_matches_up_to_the_acl_categories() {
    let Some((_pair, mut ours, mut theirs)) = start("command_info_matches") else {
        return;
    };
    // Name, arity, flags, first key, last key, step and ACL categories; redlite does not
    // serve the tips and key specs that follow.
    for name in [
        "hset",
        "hmset",
        "hsetnx",
        "hget",
        "hmget",
        "hdel",
        "hexists",
        "hlen",
        "hstrlen",
        "hkeys",
        "hvals",
        "hgetall",
        "hincrby",
        "hincrbyfloat",
        "hrandfield",
        "hscan",
    ] {
        let head = |conn: &mut Conn| {
            let reply = conn.cmd(&["COMMAND", "INFO", name]);
            let entry = array_elements(&reply).remove(0);
            let parts: Vec<String> = array_elements(&entry)[..7]
                .iter()
                .map(|p| render(p))
                .collect();
            parts
        };
        assert_eq!(head(&mut ours), head(&mut theirs), "{name}");
    }
}
