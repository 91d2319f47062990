//! Differential tests for the set commands: SADD, SREM, SMOVE, SISMEMBER, SMISMEMBER,
//! SCARD, SMEMBERS, SPOP, SRANDMEMBER, SINTER, SINTERCARD, SINTERSTORE, SUNION,
//! SUNIONSTORE, SDIFF, SDIFFSTORE and SSCAN.
//!
//! Scripts run on a fresh redlite and a fresh reference redis-server 7.0 and every reply
//! is compared byte for byte, errors included. Replies in hash-table order (SMEMBERS,
//! SINTER, SUNION, SDIFF of a `hashtable` set) are compared as unordered element lists by
//! `common::diff::agree`; an `intset` comes back sorted on both, so those replies are
//! compared exactly. OBJECT ENCODING is compared at every step where it can change.
//!
//! Random replies (SPOP, SRANDMEMBER) and hashtable SSCAN cursors legitimately differ:
//! they are checked by properties on both servers (counts, distinctness, membership, what
//! remains, a full SSCAN iteration returning exactly the set), while their errors and
//! their deterministic cases (a count covering the whole set, a missing key, count 0)
//! are compared byte for byte.

mod common;

use std::collections::BTreeSet;

use common::diff::{agree, render, render_cmd, run_on, run_paused, run_script, Cmd, Pair, PAUSE};
use common::{array_elements, Conn};
use pretty_assertions::assert_eq;
use redlite::util::rand::Rng;

/// The payload of a raw bulk reply (`$3\r\nabc\r\n` -> `abc`).
fn bulk_value(raw: &[u8]) -> Vec<u8> {
    assert!(raw.starts_with(b"$"), "not a bulk: {}", render(raw));
    let start = raw.iter().position(|&b| b == b'\n').unwrap() + 1;
    raw[start..raw.len() - 2].to_vec()
}

/// The bulk strings of an array reply.
fn bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    array_elements(reply)
        .iter()
        .map(|e| bulk_value(e))
        .collect()
}

/// The members of `key`, as a sorted set.
fn members(conn: &mut Conn, key: &str) -> BTreeSet<Vec<u8>> {
    bulks(&conn.cmd(&["SMEMBERS", key])).into_iter().collect()
}

/// Sends `cmd` (built at run time) to both servers and fails unless the replies agree.
fn both(ours: &mut Conn, theirs: &mut Conn, cmd: &[&str]) -> Vec<u8> {
    let (a, b) = (ours.cmd(cmd), theirs.cmd(cmd));
    assert!(
        agree(cmd, &a, &b),
        "{}\n  redlite: {}\n  redis:   {}",
        render_cmd(&cmd[..cmd.len().min(6)]),
        render(&a),
        render(&b)
    );
    a
}

/// `SADD key <members...>` on both servers.
fn sadd_all(ours: &mut Conn, theirs: &mut Conn, key: &str, items: &[String]) {
    let mut cmd = vec!["SADD", key];
    cmd.extend(items.iter().map(String::as_str));
    both(ours, theirs, &cmd);
}

fn ints(range: std::ops::Range<i64>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

#[test]
fn sadd_srem_scard_and_membership() {
    if !common::reference_available("sadd_srem_scard_and_membership") {
        return;
    }
    run_paused(&[
        // Arity.
        &["SADD", "s"],
        &["SREM", "s"],
        &["SCARD"],
        &["SCARD", "s", "t"],
        &["SISMEMBER", "s"],
        &["SISMEMBER", "s", "a", "b"],
        &["SMISMEMBER", "s"],
        &["SMEMBERS"],
        &["SMEMBERS", "a", "b"],
        // Missing keys.
        &["SCARD", "s"],
        &["SISMEMBER", "s", "1"],
        &["SMISMEMBER", "s", "1", "2"],
        &["SMEMBERS", "s"],
        &["SREM", "s", "1"],
        // An intset: replies sorted, duplicates counted once.
        &[
            "SADD",
            "s",
            "5",
            "-3",
            "100",
            "5",
            "0",
            "-9223372036854775808",
        ],
        &["sadd", "s", "9223372036854775807", "5"],
        &["SCARD", "s"],
        &["SMEMBERS", "s"],
        &["OBJECT", "ENCODING", "s"],
        &["TYPE", "s"],
        // Integers as string2ll reads them, and strings that only look like them.
        &["SISMEMBER", "s", "5"],
        &["SISMEMBER", "s", "05"],
        &["SISMEMBER", "s", "+5"],
        &["SISMEMBER", "s", "-0"],
        &["SISMEMBER", "s", "0"],
        &["SISMEMBER", "s", "5.0"],
        &["SMISMEMBER", "s", "5", "05", "0", "x", "-3"],
        &["SREM", "s", "05", "+100", "x"],
        &["OBJECT", "ENCODING", "s"],
        &["SREM", "s", "100", "100", "-3"],
        &["SMEMBERS", "s"],
        // A member that is not an integer converts it, for good.
        &["SADD", "s", "05"],
        &["OBJECT", "ENCODING", "s"],
        &["SISMEMBER", "s", "05"],
        &["SISMEMBER", "s", "5"],
        &["SMEMBERS", "s"],
        &["SREM", "s", "05"],
        &["OBJECT", "ENCODING", "s"],
        &["SMEMBERS", "s"],
        // Binary and empty members.
        &["SADD", "b", "", "a\r\nb", "\x00\x01", "é"],
        &["SCARD", "b"],
        &["SISMEMBER", "b", ""],
        &["SMISMEMBER", "b", "a\r\nb", "\x00\x01", "\x00"],
        &["SMEMBERS", "b"],
        // Removing the last members deletes the key.
        &["SREM", "b", "", "a\r\nb", "\x00\x01", "é", "more"],
        &["EXISTS", "b"],
        &[
            "SREM",
            "s",
            "0",
            "5",
            "-9223372036854775808",
            "9223372036854775807",
        ],
        &["EXISTS", "s"],
        // Wrong type, on every command.
        &["SET", "str", "x"],
        &["RPUSH", "list", "x"],
        &["SADD", "str", "a"],
        &["SADD", "list", "1"],
        &["SREM", "str", "a"],
        &["SCARD", "str"],
        &["SISMEMBER", "str", "x"],
        &["SMISMEMBER", "str", "x"],
        &["SMEMBERS", "str"],
        &["GET", "str"],
        // The set's TTL survives SADD and SREM; an expired set is gone.
        &["SADD", "t", "1", "2"],
        &["EXPIRE", "t", "100"],
        &["SADD", "t", "3"],
        &["SREM", "t", "1"],
        &["TTL", "t"],
        &["PEXPIRE", "t", "1"],
        PAUSE,
        &["SCARD", "t"],
        &["SMEMBERS", "t"],
        &["SADD", "t", "9"],
        &["TTL", "t"],
        &["SMEMBERS", "t"],
    ]);
}

#[test]
fn encodings_follow_the_intset_limit() {
    if !common::reference_available("encodings_follow_the_intset_limit") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let (o, t) = (&mut ours, &mut theirs);
    // 512 integers stay an intset, the 513th converts.
    sadd_all(o, t, "big", &ints(0..512));
    both(o, t, &["OBJECT", "ENCODING", "big"]);
    both(o, t, &["SMEMBERS", "big"]);
    both(o, t, &["SADD", "big", "100"]);
    both(o, t, &["OBJECT", "ENCODING", "big"]);
    both(o, t, &["SADD", "big", "-1"]);
    both(o, t, &["OBJECT", "ENCODING", "big"]);
    both(o, t, &["SCARD", "big"]);
    // Back under the limit it stays a hashtable.
    let mut srem = vec!["SREM", "big"];
    let gone = ints(0..400);
    srem.extend(gone.iter().map(String::as_str));
    both(o, t, &srem);
    both(o, t, &["OBJECT", "ENCODING", "big"]);
    both(o, t, &["SMEMBERS", "big"]);
    // One SADD that crosses the limit in the middle.
    sadd_all(o, t, "cross", &ints(-300..300));
    both(o, t, &["OBJECT", "ENCODING", "cross"]);
    both(o, t, &["SCARD", "cross"]);
    // The limit comes from the config.
    run_on(
        &[
            &["CONFIG", "SET", "set-max-intset-entries", "3"],
            &["SADD", "c", "1", "2", "3"],
            &["OBJECT", "ENCODING", "c"],
            &["SADD", "c", "4"],
            &["OBJECT", "ENCODING", "c"],
            &["SADD", "d", "1", "2", "3", "4"],
            &["OBJECT", "ENCODING", "d"],
            // STORE destinations are built afresh: an intset when they can be.
            &["SINTERSTORE", "e", "c", "d"],
            &["OBJECT", "ENCODING", "e"],
            &["SADD", "f", "1", "2"],
            &["SINTERSTORE", "e", "c", "f"],
            &["OBJECT", "ENCODING", "e"],
            &["SMEMBERS", "e"],
            &["SUNIONSTORE", "e", "f"],
            &["OBJECT", "ENCODING", "e"],
            &["SDIFFSTORE", "e", "c", "f"],
            &["OBJECT", "ENCODING", "e"],
            &["SDIFFSTORE", "e", "d", "f", "nokey"],
            &["OBJECT", "ENCODING", "e"],
            &["SMEMBERS", "e"],
            &["CONFIG", "SET", "set-max-intset-entries", "0"],
            &["SADD", "z", "1"],
            &["OBJECT", "ENCODING", "z"],
            &["SUNIONSTORE", "e", "f"],
            &["OBJECT", "ENCODING", "e"],
            &["CONFIG", "SET", "set-max-intset-entries", "512"],
            // A hashtable of integers stored afresh becomes an intset; a string member
            // makes a hashtable again.
            &["SADD", "h", "1", "2", "x"],
            &["SREM", "h", "x"],
            &["OBJECT", "ENCODING", "h"],
            &["SUNIONSTORE", "hs", "h"],
            &["OBJECT", "ENCODING", "hs"],
            &["SMEMBERS", "hs"],
            &["SUNIONSTORE", "hs", "h", "b"],
            &["SADD", "b", "y"],
            &["SUNIONSTORE", "hs", "h", "b"],
            &["OBJECT", "ENCODING", "hs"],
            // SMOVE creates its destination from the member.
            &["SMOVE", "b", "new1", "y"],
            &["OBJECT", "ENCODING", "new1"],
            &["SMOVE", "h", "new2", "1"],
            &["OBJECT", "ENCODING", "new2"],
            &["SMOVE", "new1", "new2", "y"],
            &["OBJECT", "ENCODING", "new2"],
            &["SMEMBERS", "new2"],
            &["EXISTS", "new1", "b"],
        ],
        o,
        t,
    );
    // SPOP of most of a hashtable of integers rebuilds what stays as an intset; popping
    // a few leaves a hashtable.
    sadd_all(o, t, "p", &ints(0..600));
    both(o, t, &["OBJECT", "ENCODING", "p"]);
    let (a, b) = (o.cmd(&["SPOP", "p", "550"]), t.cmd(&["SPOP", "p", "550"]));
    assert_eq!((bulks(&a).len(), bulks(&b).len()), (550, 550));
    both(o, t, &["SCARD", "p"]);
    both(o, t, &["OBJECT", "ENCODING", "p"]);
    sadd_all(o, t, "q", &ints(0..600));
    let (a, b) = (o.cmd(&["SPOP", "q", "10"]), t.cmd(&["SPOP", "q", "10"]));
    assert_eq!((bulks(&a).len(), bulks(&b).len()), (10, 10));
    both(o, t, &["SCARD", "q"]);
    both(o, t, &["OBJECT", "ENCODING", "q"]);
}

#[test]
fn sinter_sunion_sdiff_and_their_store_forms() {
    if !common::reference_available("sinter_sunion_sdiff_and_their_store_forms") {
        return;
    }
    run_paused(&[
        // Arity.
        &["SINTER"],
        &["SUNION"],
        &["SDIFF"],
        &["SINTERSTORE", "d"],
        &["SUNIONSTORE", "d"],
        &["SDIFFSTORE", "d"],
        // Intsets: results sorted and exact.
        &["SADD", "i1", "1", "2", "3", "4", "5"],
        &["SADD", "i2", "3", "4", "5", "6"],
        &["SADD", "i3", "5", "4", "10"],
        &["SINTER", "i1", "i2"],
        &["SINTER", "i1", "i2", "i3"],
        &["SINTER", "i1"],
        &["SINTER", "i1", "i1"],
        &["SUNION", "i1", "i2", "i3"],
        &["SUNION", "i1", "nokey"],
        &["SDIFF", "i1", "i2"],
        &["SDIFF", "i1", "i2", "i3"],
        &["SDIFF", "i1", "nokey", "i3"],
        &["SDIFF", "i1", "i1"],
        &["SDIFF", "i1", "i2", "i1"],
        &["SDIFF", "nokey", "i1"],
        // Missing keys.
        &["SINTER", "i1", "nokey"],
        &["SINTER", "nokey", "i1"],
        &["SUNION", "nokey", "nokey2"],
        &["SDIFF", "nokey"],
        // Mixed encodings and strings.
        &["SADD", "h1", "a", "b", "c", "1", "2"],
        &["SADD", "h2", "b", "c", "d", "2", "3"],
        &["SINTER", "h1", "h2"],
        &["SINTER", "i1", "h1"],
        &["SINTER", "h1", "i1"],
        &["SUNION", "h1", "h2", "i3"],
        &["SDIFF", "h1", "h2"],
        &["SDIFF", "h1", "i1"],
        &["SDIFF", "i1", "h1", "h2"],
        // A wrong type anywhere fails, even after a missing key.
        &["SET", "str", "x"],
        &["SINTER", "str"],
        &["SINTER", "i1", "str"],
        &["SINTER", "nokey", "str"],
        &["SINTER", "str", "nokey"],
        &["SUNION", "i1", "str"],
        &["SUNION", "nokey", "str"],
        &["SDIFF", "nokey", "str"],
        &["SDIFF", "i1", "i2", "str"],
        &["SINTERSTORE", "d", "nokey", "str"],
        &["SUNIONSTORE", "d", "i1", "str"],
        &["SDIFFSTORE", "d", "str", "i1"],
        &["EXISTS", "d"],
        // STORE: the size, the new value, the destination's TTL and type replaced.
        &["SINTERSTORE", "d", "i1", "i2"],
        &["SMEMBERS", "d"],
        &["OBJECT", "ENCODING", "d"],
        &["EXPIRE", "d", "100"],
        &["SUNIONSTORE", "d", "h1", "i3"],
        &["TTL", "d"],
        &["SMEMBERS", "d"],
        &["OBJECT", "ENCODING", "d"],
        &["SDIFFSTORE", "str", "i1", "i2"],
        &["TYPE", "str"],
        &["SMEMBERS", "str"],
        // The destination as one of the sources.
        &["SINTERSTORE", "i1", "i1", "i2"],
        &["SMEMBERS", "i1"],
        &["SUNIONSTORE", "i1", "i1", "h1"],
        &["SMEMBERS", "i1"],
        &["SDIFFSTORE", "i1", "i1", "h2"],
        &["SMEMBERS", "i1"],
        // An empty result deletes the destination and answers 0.
        &["SINTERSTORE", "d", "i1", "nokey"],
        &["EXISTS", "d"],
        &["SADD", "d", "x"],
        &["SINTERSTORE", "d", "i2", "h1"],
        &["SINTER", "i2", "h1"],
        &["SADD", "d", "x"],
        &["SINTERSTORE", "d", "h1", "i3"],
        &["EXISTS", "d"],
        &["SADD", "d", "x"],
        &["SUNIONSTORE", "d", "nokey"],
        &["EXISTS", "d"],
        &["SADD", "d", "x"],
        &["SDIFFSTORE", "d", "i2", "i2"],
        &["EXISTS", "d"],
        &["SDIFFSTORE", "d", "nokey", "i2"],
        &["EXISTS", "d"],
        // Expired sets are missing sets.
        &["SADD", "gone", "3", "4"],
        &["PEXPIRE", "gone", "1"],
        PAUSE,
        &["SINTER", "i2", "gone"],
        &["SUNION", "gone", "i3"],
        &["SDIFF", "i2", "gone"],
        &["SINTERSTORE", "d", "gone", "i2"],
        &["SINTERCARD", "2", "i2", "gone"],
    ]);
}

/// `agree` accepts SMEMBERS, SINTER, SUNION and SDIFF replies in any order; an intset's
/// are sorted in Redis, so these are compared byte for byte.
#[test]
fn intset_replies_are_sorted_exactly() {
    if !common::reference_available("intset_replies_are_sorted_exactly") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let script: &[Cmd] = &[
        &["SADD", "a", "50", "-2", "7", "1000000", "3", "-99999999999"],
        &["SADD", "b", "7", "3", "50", "8", "-2"],
        &["SADD", "h", "x", "7", "50", "3"],
        &["SMEMBERS", "a"],
        &["SINTER", "a", "b"],
        &["SINTER", "b", "a", "a"],
        &["SUNION", "b", "a"],
        &["SDIFF", "a", "b"],
        &["SDIFF", "a", "h"],
        &["SINTERSTORE", "d", "h", "b"],
        &["SMEMBERS", "d"],
        &["SRANDMEMBER", "a", "100"],
        &["SPOP", "b", "5"],
    ];
    for cmd in script {
        let (a, b) = (ours.cmd(cmd), theirs.cmd(cmd));
        assert_eq!(render(&a), render(&b), "{}", render_cmd(cmd));
    }
}

#[test]
fn sintercard_arguments_and_limit() {
    if !common::reference_available("sintercard_arguments_and_limit") {
        return;
    }
    run_script(&[
        &["SINTERCARD"],
        &["SINTERCARD", "1"],
        &["SADD", "a", "1", "2", "3", "x", "y"],
        &["SADD", "b", "2", "3", "y", "z"],
        &["SET", "str", "v"],
        // numkeys.
        &["SINTERCARD", "0", "a"],
        &["SINTERCARD", "-1", "a"],
        &["SINTERCARD", "x", "a"],
        &["SINTERCARD", "1.5", "a"],
        &["SINTERCARD", "-9223372036854775808", "a"],
        &["SINTERCARD", "99999999999999999999", "a"],
        &["SINTERCARD", "2", "a"],
        &["SINTERCARD", "9223372036854775807", "a"],
        &["SINTERCARD", "3", "a", "b"],
        // LIMIT.
        &["SINTERCARD", "1", "a", "LIMIT"],
        &["SINTERCARD", "1", "a", "LIMIT", "-1"],
        &["SINTERCARD", "1", "a", "LIMIT", "x"],
        &["SINTERCARD", "1", "a", "LIMIT", "99999999999999999999"],
        &["SINTERCARD", "1", "a", "FOO", "1"],
        &["SINTERCARD", "1", "a", "b"],
        &["SINTERCARD", "1", "a", "LIMIT", "1", "LIMIT"],
        &["SINTERCARD", "1", "a", "LIMIT", "1", "LIMIT", "-2"],
        // Argument errors come before key lookups.
        &["SINTERCARD", "1", "str", "LIMIT", "-1"],
        &["SINTERCARD", "2", "nokey", "str", "FOO"],
        // Results.
        &["SINTERCARD", "1", "a"],
        &["SINTERCARD", "2", "a", "b"],
        &["SINTERCARD", "2", "a", "b", "LIMIT", "0"],
        &["SINTERCARD", "2", "a", "b", "LIMIT", "2"],
        &["SINTERCARD", "2", "a", "b", "limit", "100"],
        &["SINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "3"],
        &["SINTERCARD", "2", "a", "a"],
        &["SINTERCARD", "2", "a", "nokey"],
        &["SINTERCARD", "2", "nokey", "a"],
        &["SINTERCARD", "2", "a", "str"],
        &["SINTERCARD", "2", "nokey", "str"],
        &["SINTERCARD", "1", "str"],
    ]);
}

#[test]
fn smove_cases() {
    if !common::reference_available("smove_cases") {
        return;
    }
    run_script(&[
        &["SMOVE", "a", "b"],
        &["SMOVE", "a", "b", "c", "d"],
        &["SADD", "src", "1", "2", "x"],
        &["SADD", "dst", "2", "3"],
        &["SET", "str", "v"],
        // Missing source: 0, even with a wrong-type destination.
        &["SMOVE", "nokey", "dst", "1"],
        &["SMOVE", "nokey", "str", "1"],
        &["SMOVE", "nokey", "nokey", "1"],
        // Wrong types.
        &["SMOVE", "str", "dst", "1"],
        &["SMOVE", "src", "str", "1"],
        &["SMOVE", "src", "str", "nosuchmember"],
        &["SMOVE", "str", "str", "v"],
        // Same key: whether the member is there, nothing moves.
        &["SMOVE", "src", "src", "1"],
        &["SMOVE", "src", "src", "9"],
        &["SMEMBERS", "src"],
        // Not a member.
        &["SMOVE", "src", "dst", "9"],
        // Moves: into a set that has it already, into a new key, the last member.
        &["SMOVE", "src", "dst", "2"],
        &["SMEMBERS", "src"],
        &["SMEMBERS", "dst"],
        &["SMOVE", "src", "dst", "1"],
        &["OBJECT", "ENCODING", "dst"],
        &["SMOVE", "src", "dst", "x"],
        &["EXISTS", "src"],
        &["OBJECT", "ENCODING", "dst"],
        &["SMEMBERS", "dst"],
        &["SMOVE", "dst", "fresh", "x"],
        &["OBJECT", "ENCODING", "fresh"],
        &["SMOVE", "dst", "fresh", "3"],
        &["SMEMBERS", "fresh"],
        // The destination keeps its TTL.
        &["EXPIRE", "fresh", "100"],
        &["SMOVE", "dst", "fresh", "2"],
        &["TTL", "fresh"],
        &["SMEMBERS", "dst"],
        &["EXISTS", "dst"],
    ]);
}

#[test]
fn spop_and_srandmember_errors_and_deterministic_cases() {
    if !common::reference_available("spop_and_srandmember_errors_and_deterministic_cases") {
        return;
    }
    run_script(&[
        &["SPOP"],
        &["SRANDMEMBER"],
        &["SADD", "s", "3", "1", "2"],
        &["SET", "str", "v"],
        // Syntax and count errors, checked before the key.
        &["SPOP", "s", "1", "2"],
        &["SRANDMEMBER", "s", "1", "2"],
        &["SPOP", "s", "-1"],
        &["SPOP", "s", "x"],
        &["SPOP", "nokey", "-1"],
        &["SPOP", "str", "-1"],
        &["SPOP", "s", "99999999999999999999"],
        &["SRANDMEMBER", "s", "x"],
        &["SRANDMEMBER", "s", "1.5"],
        &["SRANDMEMBER", "s", "-9223372036854775808"],
        &["SRANDMEMBER", "str", "x"],
        &["SRANDMEMBER", "nokey", "99999999999999999999"],
        // Missing keys and wrong types.
        &["SPOP", "nokey"],
        &["SPOP", "nokey", "0"],
        &["SPOP", "nokey", "5"],
        &["SRANDMEMBER", "nokey"],
        &["SRANDMEMBER", "nokey", "0"],
        &["SRANDMEMBER", "nokey", "5"],
        &["SRANDMEMBER", "nokey", "-5"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "0"],
        &["SRANDMEMBER", "str", "-1"],
        // Count 0.
        &["SPOP", "s", "0"],
        &["SRANDMEMBER", "s", "0"],
        // A count covering the whole set returns it in its order (sorted for an intset).
        &["SRANDMEMBER", "s", "3"],
        &["SRANDMEMBER", "s", "9223372036854775807"],
        &["SCARD", "s"],
        // One member: every draw is that member.
        &["SADD", "one", "only"],
        &["SRANDMEMBER", "one"],
        &["SRANDMEMBER", "one", "1"],
        &["SRANDMEMBER", "one", "-3"],
        &["SRANDMEMBER", "one", "5"],
        &["SPOP", "one"],
        &["EXISTS", "one"],
        &["SADD", "one", "7"],
        &["SPOP", "one", "1"],
        &["EXISTS", "one"],
        // SPOP of the whole set deletes it.
        &["SPOP", "s", "3"],
        &["EXISTS", "s"],
        &["SADD", "s", "30", "10", "20"],
        &["SPOP", "s", "100"],
        &["EXISTS", "s"],
    ]);
}

/// SPOP and SRANDMEMBER replies checked by properties, on one server: every strategy
/// (a few members, most of the set, repeats) on both encodings.
fn check_random_draws(conn: &mut Conn) {
    let sets: [(&str, Vec<String>); 2] = [
        ("ints", ints(0..100)),
        ("strs", (0..100).map(|i| format!("m{i}")).collect()),
    ];
    for (key, items) in &sets {
        let all: BTreeSet<Vec<u8>> = items.iter().map(|m| m.as_bytes().to_vec()).collect();
        let mut sadd = vec!["SADD", key];
        sadd.extend(items.iter().map(String::as_str));
        conn.cmd(&sadd);
        conn.cmd(&["EXPIRE", key, "1000"]);
        // SRANDMEMBER: distinct members for a positive count, whichever strategy Redis
        // would pick (5 draws, or 50 and 90 by removing from a copy).
        for count in [1, 5, 50, 90, 100, 150] {
            let got = bulks(&conn.cmd(&["SRANDMEMBER", key, &count.to_string()]));
            let distinct: BTreeSet<_> = got.iter().cloned().collect();
            assert_eq!(
                (got.len(), distinct.len()),
                (count.min(100), count.min(100))
            );
            assert!(distinct.is_subset(&all), "{key} {count}");
        }
        // A negative count repeats: exactly that many, all members, and over many draws
        // a repeat is certain.
        let got = bulks(&conn.cmd(&["SRANDMEMBER", key, "-500"]));
        let distinct: BTreeSet<_> = got.iter().cloned().collect();
        assert_eq!(got.len(), 500);
        assert!(distinct.is_subset(&all) && distinct.len() < 500 && distinct.len() > 50);
        // Single draws reach most members.
        let mut seen = BTreeSet::new();
        for _ in 0..500 {
            seen.insert(bulk_value(&conn.cmd(&["SRANDMEMBER", key])));
        }
        assert!(seen.is_subset(&all) && seen.len() > 80, "{}", seen.len());
        // SPOP: one, a few, then most of what is left; popped and remaining partition
        // the set.
        let mut popped: Vec<Vec<u8>> = vec![bulk_value(&conn.cmd(&["SPOP", key]))];
        for count in ["9", "80"] {
            let got = bulks(&conn.cmd(&["SPOP", key, count]));
            assert_eq!(got.len(), count.parse::<usize>().unwrap());
            popped.extend(got);
        }
        // Both strategies keep the key's TTL (the second replaces the value).
        let ttl = common::diff::int_reply(&conn.cmd(&["TTL", key])).unwrap();
        assert!((900..=1000).contains(&ttl), "TTL {ttl}");
        let left = members(conn, key);
        let distinct: BTreeSet<_> = popped.iter().cloned().collect();
        assert_eq!(distinct.len(), 90, "no member popped twice");
        assert!(distinct.is_disjoint(&left));
        assert_eq!(distinct.union(&left).cloned().collect::<BTreeSet<_>>(), all);
        assert_eq!(conn.cmd_str(&["SCARD", key]), ":10\r\n");
        let rest = bulks(&conn.cmd(&["SPOP", key, "10"]));
        assert_eq!(rest.into_iter().collect::<BTreeSet<_>>(), left);
        assert_eq!(conn.cmd_str(&["EXISTS", key]), ":0\r\n");
    }
}

#[test]
fn spop_and_srandmember_draws_by_properties() {
    if !common::reference_available("spop_and_srandmember_draws_by_properties") {
        return;
    }
    let pair = Pair::start();
    // The same checks hold on the reference, which shows they test real behaviour.
    check_random_draws(&mut pair.theirs.conn());
    check_random_draws(&mut pair.ours.conn());
}

/// A full SSCAN iteration: every member returned and the number of calls.
fn full_sscan(conn: &mut Conn, key: &str, options: &[&str]) -> (Vec<Vec<u8>>, usize) {
    let mut cursor = "0".to_string();
    let (mut all, mut calls) = (Vec::new(), 0);
    loop {
        let mut cmd = vec!["SSCAN", key, &cursor];
        cmd.extend_from_slice(options);
        let reply = conn.cmd(&cmd);
        let parts = array_elements(&reply);
        assert_eq!(parts.len(), 2, "SSCAN reply: {}", render(&reply));
        let next = String::from_utf8(bulk_value(&parts[0])).unwrap();
        all.extend(bulks(&parts[1]));
        calls += 1;
        assert!(calls < 100_000, "SSCAN never finished");
        if next == "0" {
            return (all, calls);
        }
        cursor = next;
    }
}

#[test]
fn sscan_on_both_encodings() {
    if !common::reference_available("sscan_on_both_encodings") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let script: &[Cmd] = &[
        &["SSCAN"],
        &["SSCAN", "s"],
        &["SADD", "s", "5", "1", "12", "3", "-7"],
        &["SET", "str", "v"],
        // The cursor is checked first, then the key, then the options.
        &["SSCAN", "s", "x"],
        &["SSCAN", "nokey", "x"],
        &["SSCAN", "s", "-1"],
        &["SSCAN", "s", "18446744073709551616"],
        &["SSCAN", "nokey", "0"],
        &["SSCAN", "nokey", "0", "COUNT", "0"],
        &["SSCAN", "nokey", "0", "BAD"],
        &["SSCAN", "str", "0"],
        &["SSCAN", "str", "0", "COUNT", "0"],
        &["SSCAN", "s", "0", "COUNT", "0"],
        &["SSCAN", "s", "0", "COUNT", "-1"],
        &["SSCAN", "s", "0", "COUNT", "x"],
        &["SSCAN", "s", "0", "COUNT"],
        &["SSCAN", "s", "0", "MATCH"],
        &["SSCAN", "s", "0", "TYPE", "set"],
        &["SSCAN", "s", "0", "FOO", "bar"],
        // An intset comes back whole and sorted with cursor 0, whatever the cursor and
        // COUNT; MATCH filters it.
        &["SSCAN", "s", "0"],
        &["SSCAN", "s", "12345", "COUNT", "1"],
        &["SSCAN", "s", "0", "MATCH", "1*"],
        &["SSCAN", "s", "0", "MATCH", "-*", "COUNT", "2"],
        &["SSCAN", "s", "0", "match", "nothing"],
        &["SSCAN", "s", "0", "MATCH", "*", "MATCH", "?"],
    ];
    run_on(script, &mut ours, &mut theirs);
    // A hashtable: a full iteration returns exactly the set on both, MATCH selects the
    // same members, and with COUNT 10 it takes many calls on redlite too.
    let items: Vec<String> = (0..1000).map(|i| format!("member:{i}")).collect();
    sadd_all(&mut ours, &mut theirs, "h", &items);
    both(&mut ours, &mut theirs, &["OBJECT", "ENCODING", "h"]);
    let expected: BTreeSet<Vec<u8>> = items.iter().map(|m| m.as_bytes().to_vec()).collect();
    for conn in [&mut ours, &mut theirs] {
        let (all, calls) = full_sscan(conn, "h", &[]);
        assert_eq!(all.iter().cloned().collect::<BTreeSet<_>>(), expected);
        assert!(calls > 20, "{calls} calls");
        let (matched, _) = full_sscan(conn, "h", &["MATCH", "member:1?", "COUNT", "50"]);
        let want: BTreeSet<Vec<u8>> = (10..20)
            .map(|i| format!("member:{i}").into_bytes())
            .collect();
        assert_eq!(matched.into_iter().collect::<BTreeSet<_>>(), want);
        let (one_call, calls) = full_sscan(conn, "h", &["COUNT", "5000"]);
        assert_eq!((one_call.len(), calls), (1000, 1));
    }
    // The guarantee holds while the set changes between calls (on redlite).
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut step = 0;
    loop {
        let reply = ours.cmd(&["SSCAN", "h", &cursor, "COUNT", "7"]);
        let parts = array_elements(&reply);
        seen.extend(bulks(&parts[1]));
        cursor = String::from_utf8(bulk_value(&parts[0])).unwrap();
        if cursor == "0" {
            break;
        }
        // Remove members 500.. and add new ones, forcing resizes.
        let gone = format!("member:{}", 500 + step % 500);
        let new = format!("extra:{step}");
        ours.cmd(&["SREM", "h", &gone]);
        ours.cmd(&["SADD", "h", &new]);
        step += 1;
    }
    for i in 0..500 {
        assert!(
            seen.contains(format!("member:{i}").as_bytes()),
            "member:{i}"
        );
    }
}

#[test]
fn dirty_counts_match_redis() {
    if !common::reference_available("dirty_counts_match_redis") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let dirty = |conn: &mut Conn| -> String {
        let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "persistence"])).into_owned();
        info.lines()
            .find(|l| l.starts_with("rdb_changes_since_last_save:"))
            .unwrap_or("missing")
            .to_string()
    };
    let steps: &[Cmd] = &[
        &["SADD", "a", "1", "2", "3", "1"],
        &["SADD", "a", "1"],
        &["SREM", "a", "1", "9"],
        &["SREM", "a", "9"],
        &["SADD", "b", "x", "y"],
        &["SMOVE", "a", "b", "2"],
        &["SMOVE", "a", "b", "9"],
        &["SMOVE", "a", "a", "3"],
        &["SADD", "b", "3"],
        &["SMOVE", "a", "b", "3"],
        &["SINTERSTORE", "d", "b", "nokey"],
        &["SINTERSTORE", "d", "b", "b"],
        &["SINTERSTORE", "d", "b", "nokey"],
        &["SINTERSTORE", "d", "b", "nokey"],
        &["SUNIONSTORE", "d", "nokey"],
        &["SDIFFSTORE", "d", "b", "b"],
        &["SUNIONSTORE", "d", "b"],
        &["SPOP", "d"],
        &["SPOP", "d", "0"],
        &["SPOP", "d", "1"],
        &[
            "SADD", "e", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
        ],
        &["SPOP", "e", "2"],
        &["SPOP", "e", "7"],
        &["SPOP", "e", "50"],
        &["SPOP", "nokey", "3"],
        &["SRANDMEMBER", "b", "-3"],
        &["SINTER", "b", "b"],
    ];
    for step in steps {
        let (a, b) = (ours.cmd(step), theirs.cmd(step));
        let random = matches!(step[0], "SPOP" | "SRANDMEMBER");
        assert!(random || agree(step, &a, &b), "{}", render_cmd(step));
        assert_eq!(
            dirty(&mut ours),
            dirty(&mut theirs),
            "after {}",
            render_cmd(step)
        );
    }
}

#[test]
fn command_info_for_set_commands() {
    if !common::reference_available("command_info_for_set_commands") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let names = [
        "sadd",
        "srem",
        "smove",
        "sismember",
        "smismember",
        "scard",
        "smembers",
        "spop",
        "srandmember",
        "sinter",
        "sintercard",
        "sinterstore",
        "sunion",
        "sunionstore",
        "sdiff",
        "sdiffstore",
        "sscan",
    ];
    for name in names {
        // Name, arity, flags, first key, last key, step and ACL categories (tips and key
        // specs are not served by redlite's COMMAND INFO).
        let head = |conn: &mut Conn| -> Vec<String> {
            let reply = conn.cmd(&["COMMAND", "INFO", name]);
            let entry = &array_elements(&reply)[0];
            array_elements(entry)
                .iter()
                .take(7)
                .map(|e| render(e))
                .collect()
        };
        assert_eq!(head(&mut ours), head(&mut theirs), "{name}");
        let summary = |conn: &mut Conn| -> String {
            let reply = conn.cmd(&["COMMAND", "DOCS", name]);
            let doc = &array_elements(&reply)[1];
            render(&array_elements(doc)[..6].concat())
        };
        assert_eq!(summary(&mut ours), summary(&mut theirs), "{name}");
    }
}

/// A random mix of the deterministic set commands over a few keys, with integer and
/// string members, compared reply by reply (OBJECT ENCODING included).
#[test]
fn random_scripts_agree() {
    if !common::reference_available("random_scripts_agree") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    both(
        &mut ours,
        &mut theirs,
        &["CONFIG", "SET", "set-max-intset-entries", "8"],
    );
    let mut rng = Rng::new(2024);
    let keys = ["k1", "k2", "k3", "k4"];
    let member = |rng: &mut Rng| -> String {
        match rng.below(8) {
            0 => format!("s{}", rng.below(6)),
            1 => format!("0{}", rng.below(3)),
            _ => (rng.below(24) as i64 - 4).to_string(),
        }
    };
    for _ in 0..3000 {
        let key = keys[rng.below(4) as usize];
        let other = keys[rng.below(4) as usize];
        let third = keys[rng.below(4) as usize];
        let (m1, m2, m3) = (member(&mut rng), member(&mut rng), member(&mut rng));
        let cmd: Vec<&str> = match rng.below(16) {
            0..=3 => vec!["SADD", key, &m1, &m2, &m3],
            4 | 5 => vec!["SREM", key, &m1, &m2],
            6 => vec!["SMOVE", key, other, &m1],
            7 => vec!["SISMEMBER", key, &m1],
            8 => vec!["SMISMEMBER", key, &m1, &m2],
            9 => vec!["SMEMBERS", key],
            10 => vec!["SINTERSTORE", key, other, third],
            11 => vec!["SUNIONSTORE", key, other, third],
            12 => vec!["SDIFFSTORE", key, other, third],
            13 => vec!["SINTERCARD", "2", other, third, "LIMIT", "3"],
            14 => vec!["OBJECT", "ENCODING", key],
            _ => vec!["SCARD", key],
        };
        both(&mut ours, &mut theirs, &cmd);
    }
    for key in keys {
        both(&mut ours, &mut theirs, &["SMEMBERS", key]);
        both(&mut ours, &mut theirs, &["SDIFF", key, "k1"]);
        both(&mut ours, &mut theirs, &["SUNION", key, "k2", "k3"]);
        both(&mut ours, &mut theirs, &["SINTER", key, "k4"]);
    }
}
