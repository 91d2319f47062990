//! Differential tests for the sorted set commands (Redis's t_zset.c): every reply is
//! compared byte for byte with a reference redis-server 7.0, errors included.
//!
//! Covered: ZADD (every flag and their conflicts, INCR, NaN), ZINCRBY, ZREM, ZSCORE,
//! ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANK, ZREVRANK, the range family (ZRANGE with
//! BYSCORE, BYLEX, REV, LIMIT and WITHSCORES, ZRANGESTORE, ZRANGEBYSCORE,
//! ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZREVRANGE), ZPOPMIN, ZPOPMAX, ZMPOP,
//! ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX, ZUNION, ZINTER, ZDIFF and their
//! STORE forms, ZINTERCARD, score parsing and printing (`%.17g`, inf, -0, hex, subnormals)
//! and OBJECT ENCODING across the listpack limits. (RESP3 replies and plain sets as
//! inputs of the set operations are not covered yet: redlite has neither HELLO 3 nor
//! SADD at this point.)
//!
//! Compared by properties, since they are legitimately random or cursor-dependent:
//! ZRANDMEMBER (counts, distinctness, membership, scores) and ZSCAN on a skiplist-encoded
//! set (a full iteration returns every member with its score; MATCH filters). ZSCAN on a
//! listpack set is exact (everything in one call, cursor 0) and compared byte for byte.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::diff::{render, run_on, run_script, Cmd, Pair};
use common::{array_elements, Conn};
use pretty_assertions::assert_eq;

/// Turns generated commands into a script (the strings live for the whole test run).
fn script(cmds: Vec<Vec<String>>) -> Vec<Cmd> {
    cmds.into_iter()
        .map(|c| -> Cmd {
            let words: Vec<&'static str> = c
                .into_iter()
                .map(|w| &*Box::leak(w.into_boxed_str()))
                .collect();
            Box::leak(words.into_boxed_slice())
        })
        .collect()
}

/// `ZADD key 0 m0 1 m1 ...` for members `from..to`, with member names of `pad` extra
/// bytes.
fn zadd_many(key: &str, from: usize, to: usize, pad: usize) -> Vec<String> {
    let mut cmd = vec!["ZADD".to_string(), key.to_string()];
    for i in from..to {
        cmd.push(format!("{}", i as f64 / 4.0));
        cmd.push(format!("m{i}{}", "x".repeat(pad)));
    }
    cmd
}

/// The payload of a raw bulk reply.
fn bulk_value(raw: &[u8]) -> Vec<u8> {
    assert!(raw.starts_with(b"$"), "not a bulk: {}", render(raw));
    let start = raw.iter().position(|&b| b == b'\n').unwrap() + 1;
    raw[start..raw.len() - 2].to_vec()
}

fn strings(raw: &[u8]) -> Vec<String> {
    array_elements(raw)
        .iter()
        .map(|e| String::from_utf8(bulk_value(e)).unwrap())
        .collect()
}

#[test]
fn zadd_flags_and_errors() {
    if !common::reference_available("zadd_flags_and_errors") {
        return;
    }
    run_script(&[
        &["ZADD", "z"],
        &["ZADD", "z", "1"],
        &["ZADD", "z", "1", "a", "2"],
        &["ZADD", "z", "nx"],
        &["ZADD", "z", "NX", "XX", "1", "a"],
        &["ZADD", "z", "GT", "LT", "1", "a"],
        &["ZADD", "z", "GT", "NX", "1", "a"],
        &["ZADD", "z", "LT", "NX", "1", "a"],
        &["ZADD", "z", "INCR", "1", "a", "2", "b"],
        &["ZADD", "z", "x", "a"],
        &["ZADD", "z", "1", "a", "nan", "b"],
        &["ZADD", "z", " 1", "a"],
        &["ZADD", "z", "1 ", "a"],
        &["ZADD", "z", "", "a"],
        &["ZADD", "z", "1e400", "a"],
        &["ZADD", "z", "1e-400", "a"],
        &["EXISTS", "z"],
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        &["ZADD", "z", "1", "a", "5", "b", "3", "d"],
        &["ZADD", "z", "CH", "1", "a", "6", "b", "3", "e"],
        &["ZADD", "z", "NX", "100", "a", "4", "f"],
        &["ZADD", "z", "XX", "100", "a", "4", "g"],
        &["ZADD", "z", "XX", "CH", "101", "a", "4", "g"],
        &["ZADD", "z", "GT", "CH", "50", "a", "200", "b", "7", "h"],
        &["ZADD", "z", "LT", "CH", "60", "a", "0", "b"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZADD", "z", "INCR", "10", "a"],
        &["ZADD", "z", "INCR", "NX", "10", "a"],
        &["ZADD", "z", "INCR", "XX", "10", "nosuch"],
        &["ZADD", "z", "INCR", "GT", "-1", "a"],
        &["ZADD", "z", "INCR", "LT", "-1", "a"],
        &["ZADD", "z", "incr", "ch", "0", "a"],
        &["ZADD", "z", "+inf", "i", "-inf", "j"],
        &["ZADD", "z", "INCR", "-inf", "i"],
        &["ZSCORE", "z", "i"],
        &["ZADD", "nokey", "XX", "1", "a"],
        &["ZADD", "nokey", "XX", "INCR", "1", "a"],
        &["EXISTS", "nokey"],
        &["ZINCRBY", "z", "1.5", "a"],
        &["ZINCRBY", "z", "x", "a"],
        &["ZINCRBY", "z", "nx", "a"],
        &["ZINCRBY", "z", "-inf", "i"],
        &["ZINCRBY", "new", "-0", "a"],
        &["ZSCORE", "new", "a"],
        &["ZINCRBY", "z"],
        &["SET", "s", "x"],
        &["ZADD", "s", "1", "a"],
        &["ZADD", "s", "x", "a"],
        &["ZINCRBY", "s", "1", "a"],
        &["ZADD", "s", "XX", "1", "a"],
        &["ZCARD", "z"],
        &["ZCARD", "nokey"],
        &["ZCARD", "s"],
        &["ZCARD"],
    ]);
}

#[test]
fn scores_parse_and_print_like_redis() {
    if !common::reference_available("scores_parse_and_print_like_redis") {
        return;
    }
    run_script(&[
        &[
            "ZADD", "z", "1.1", "a", "0.1", "b", "1e20", "c", "0.00001", "d", "-2.5", "e",
        ],
        &[
            "ZADD",
            "z",
            "0x10",
            "f",
            "1e-310",
            "g",
            "-0",
            "h",
            "123456789012345678",
            "i",
        ],
        &[
            "ZADD",
            "z",
            "1E3",
            "j",
            "+5",
            "k",
            ".5",
            "l",
            "5.",
            "m",
            "-Infinity",
            "n",
        ],
        &[
            "ZADD",
            "z",
            "0.1e-3",
            "o",
            "100000000000000000",
            "p",
            "3.14159265358979",
            "q",
        ],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZSCAN", "z", "0"],
        &["ZMSCORE", "z", "a", "g", "h", "nosuch", "n"],
        &["ZMSCORE", "nokey", "a", "b"],
        &["ZMSCORE", "z"],
        &["ZINCRBY", "z", "0.2", "a"],
        &["ZADD", "big", "-0", "y", "1", "x"],
        &["ZSCORE", "big", "y"],
        &["CONFIG", "SET", "zset-max-listpack-entries", "0"],
        &["ZADD", "sk", "-0", "y", "0", "x"],
        &["OBJECT", "ENCODING", "sk"],
        &["ZSCORE", "sk", "y"],
        &["ZADD", "sk", "0", "y"],
        &["ZRANGE", "sk", "0", "-1", "WITHSCORES"],
        &["ZINCRBY", "sk", "-0", "y"],
        &["ZSCAN", "sk", "0", "MATCH", "y"],
        &["ZRANGEBYSCORE", "sk", "-0", "0", "WITHSCORES"],
        &["CONFIG", "SET", "zset-max-listpack-entries", "128"],
    ]);
}

#[test]
fn zrem_lookups_and_ranks() {
    if !common::reference_available("zrem_lookups_and_ranks") {
        return;
    }
    run_script(&[
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "3", "d", "4", "e",
        ],
        &["ZRANK", "z", "a"],
        &["ZRANK", "z", "d"],
        &["ZRANK", "z", "nosuch"],
        &["ZRANK", "nokey", "a"],
        &["ZREVRANK", "z", "a"],
        &["ZREVRANK", "z", "e"],
        &["ZREVRANK", "z", "nosuch"],
        &["ZRANK", "z", "a", "WITHSCORE"],
        &["ZSCORE", "z", "c"],
        &["ZSCORE", "z", "nosuch"],
        &["ZSCORE", "nokey", "c"],
        &["ZCOUNT", "z", "-inf", "+inf"],
        &["ZCOUNT", "z", "(1", "3"],
        &["ZCOUNT", "z", "(1", "(3"],
        &["ZCOUNT", "z", "3", "1"],
        &["ZCOUNT", "z", "(3", "3"],
        &["ZCOUNT", "z", "x", "3"],
        &["ZCOUNT", "z", "1", "[3"],
        &["ZCOUNT", "z", "nan", "3"],
        &["ZCOUNT", "z", "", "("],
        &["ZCOUNT", "nokey", "0", "1"],
        &["ZCOUNT", "nokey", "x", "1"],
        &["ZREM", "z", "a", "nosuch", "a"],
        &["ZREM", "nokey", "a"],
        &["ZREM", "z"],
        &["ZREM", "z", "b", "c", "d", "e"],
        &["EXISTS", "z"],
        &[
            "ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "ee",
        ],
        &["ZLEXCOUNT", "lex", "-", "+"],
        &["ZLEXCOUNT", "lex", "[b", "(d"],
        &["ZLEXCOUNT", "lex", "(b", "[e"],
        &["ZLEXCOUNT", "lex", "+", "-"],
        &["ZLEXCOUNT", "lex", "[e", "[a"],
        &["ZLEXCOUNT", "lex", "b", "[d"],
        &["ZLEXCOUNT", "lex", "[b", "+a"],
        &["ZLEXCOUNT", "lex", "[", "(e"],
        &["ZLEXCOUNT", "nokey", "-", "+"],
        &["ZLEXCOUNT", "nokey", "x", "+"],
        &["SET", "s", "x"],
        &["ZRANK", "s", "a"],
        &["ZREVRANK", "s", "a"],
        &["ZSCORE", "s", "a"],
        &["ZMSCORE", "s", "a"],
        &["ZCOUNT", "s", "0", "1"],
        &["ZCOUNT", "s", "x", "1"],
        &["ZLEXCOUNT", "s", "-", "+"],
        &["ZREM", "s", "a"],
        &["ZRANK", "s"],
    ]);
}

#[test]
fn range_family() {
    if !common::reference_available("range_family") {
        return;
    }
    run_script(&[
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "-inf", "m", "+inf", "p",
        ],
        &["ZRANGE", "z", "0", "-1"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZRANGE", "z", "-3", "-2", "withscores"],
        &["ZRANGE", "z", "-100", "100"],
        &["ZRANGE", "z", "5", "2"],
        &["ZRANGE", "z", "7", "10"],
        &["ZRANGE", "z", "0", "-1", "REV"],
        &["ZRANGE", "z", "1", "2", "REV", "WITHSCORES"],
        &["ZRANGE", "z", "x", "2"],
        &["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"],
        &["ZRANGE", "z", "0", "1", "LIMIT", "0", "-1"],
        &["ZRANGE", "z", "0", "1", "LIMIT", "5", "-1"],
        &["ZRANGE", "z", "0", "1", "LIMIT", "0"],
        &["ZRANGE", "z", "0", "1", "LIMIT", "x", "1"],
        &["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"],
        &["ZRANGE", "z", "0", "1", "REV", "REV"],
        &["ZRANGE", "z", "0", "1", "FOO"],
        &["ZRANGE", "z", "(1", "4", "BYSCORE"],
        &["ZRANGE", "z", "4", "(1", "BYSCORE", "REV", "WITHSCORES"],
        &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "3"],
        &[
            "ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "3",
        ],
        &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "3"],
        &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "-5"],
        &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "7", "1"],
        &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "6", "5"],
        &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "0"],
        &["ZRANGE", "z", "x", "1", "BYSCORE"],
        &["ZRANGE", "z", "[a", "[c", "BYLEX"],
        &["ZRANGE", "z", "[a", "[c", "BYLEX", "WITHSCORES"],
        &["ZRANGE", "z", "a", "[c", "BYLEX"],
        &["ZRANGEBYSCORE", "z", "-inf", "+inf"],
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"],
        &[
            "ZRANGEBYSCORE",
            "z",
            "(2",
            "(5",
            "WITHSCORES",
            "LIMIT",
            "1",
            "1",
        ],
        &["ZRANGEBYSCORE", "z", "2", "5", "LIMIT", "1"],
        &["ZRANGEBYSCORE", "z", "2", "5", "REV"],
        &["ZRANGEBYSCORE", "z", "2", "5", "BYSCORE"],
        &["ZRANGEBYSCORE", "z", "5", "2"],
        &["ZRANGEBYSCORE", "z", "(2", "2"],
        &["ZRANGEBYSCORE", "z", "inf", "inf"],
        &["ZRANGEBYSCORE", "z", "a", "2"],
        &["ZREVRANGEBYSCORE", "z", "+inf", "-inf"],
        &["ZREVRANGEBYSCORE", "z", "5", "(2", "WITHSCORES"],
        &["ZREVRANGEBYSCORE", "z", "5", "2", "LIMIT", "1", "2"],
        &["ZREVRANGEBYSCORE", "z", "2", "5"],
        &["ZREVRANGE", "z", "0", "2"],
        &["ZREVRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZREVRANGE", "z", "-2", "-1"],
        &["ZREVRANGE", "z", "0", "1", "REV"],
        &["ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1"],
        &["ZREVRANGE", "nokey", "0", "1"],
        &[
            "ZADD", "lex", "0", "alpha", "0", "bar", "0", "cool", "0", "down", "0", "elephant",
        ],
        &["ZRANGEBYLEX", "lex", "-", "+"],
        &["ZRANGEBYLEX", "lex", "[bar", "(down"],
        &["ZRANGEBYLEX", "lex", "(bar", "+", "LIMIT", "1", "2"],
        &["ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES"],
        &["ZRANGEBYLEX", "lex", "+", "-"],
        &["ZRANGEBYLEX", "lex", "bar", "+"],
        &["ZREVRANGEBYLEX", "lex", "+", "-"],
        &["ZREVRANGEBYLEX", "lex", "(down", "[bar"],
        &["ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", "1", "2"],
        &["ZREVRANGEBYLEX", "lex", "-", "+"],
        &["ZRANGE", "lex", "+", "-", "BYLEX", "REV", "LIMIT", "0", "2"],
        &["ZRANGE", "nokey", "0", "-1"],
        &["ZRANGEBYSCORE", "nokey", "0", "1"],
        &["ZRANGEBYSCORE", "nokey", "x", "1"],
        &["ZRANGEBYLEX", "nokey", "-", "+"],
        &["SET", "s", "x"],
        &["ZRANGE", "s", "0", "-1"],
        &["ZRANGE", "s", "x", "-1"],
        &["ZRANGEBYSCORE", "s", "0", "1"],
        &["ZRANGEBYLEX", "s", "-", "+"],
        &["ZRANGE", "z", "0"],
        &["ZRANGESTORE", "dst", "z", "0", "-1"],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &[
            "ZRANGESTORE",
            "dst",
            "z",
            "1",
            "3",
            "BYSCORE",
            "LIMIT",
            "1",
            "1",
        ],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &["ZRANGESTORE", "dst", "lex", "+", "[b", "BYLEX", "REV"],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &["ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES"],
        &["EXPIRE", "dst", "100"],
        &["ZRANGESTORE", "dst", "z", "0", "0"],
        &["TTL", "dst"],
        &["ZRANGESTORE", "dst", "z", "5", "1"],
        &["EXISTS", "dst"],
        &["ZRANGESTORE", "dst", "nokey", "0", "-1"],
        &["ZRANGESTORE", "dst", "s", "0", "-1"],
        &["ZRANGESTORE", "s", "z", "0", "1"],
        &["TYPE", "s"],
        &["ZRANGESTORE", "dst", "z", "0"],
    ]);
}

#[test]
fn remrange_family() {
    if !common::reference_available("remrange_family") {
        return;
    }
    run_script(&[
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f",
        ],
        &["ZREMRANGEBYRANK", "z", "0", "0"],
        &["ZREMRANGEBYRANK", "z", "-1", "-1"],
        &["ZREMRANGEBYRANK", "z", "3", "1"],
        &["ZREMRANGEBYRANK", "z", "10", "20"],
        &["ZREMRANGEBYRANK", "z", "x", "1"],
        &["ZRANGE", "z", "0", "-1"],
        &["ZREMRANGEBYSCORE", "z", "(2", "4"],
        &["ZREMRANGEBYSCORE", "z", "x", "4"],
        &["ZREMRANGEBYSCORE", "z", "4", "1"],
        &["ZRANGE", "z", "0", "-1"],
        &["ZREMRANGEBYRANK", "z", "-100", "100"],
        &["EXISTS", "z"],
        &["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"],
        &["ZREMRANGEBYLEX", "lex", "(a", "[c"],
        &["ZREMRANGEBYLEX", "lex", "a", "[c"],
        &["ZREMRANGEBYLEX", "lex", "+", "-"],
        &["ZRANGE", "lex", "0", "-1"],
        &["ZREMRANGEBYLEX", "lex", "-", "+"],
        &["EXISTS", "lex"],
        &["ZREMRANGEBYRANK", "nokey", "0", "1"],
        &["ZREMRANGEBYSCORE", "nokey", "x", "1"],
        &["ZREMRANGEBYLEX", "nokey", "-", "+"],
        &["SET", "s", "x"],
        &["ZREMRANGEBYRANK", "s", "0", "1"],
        &["ZREMRANGEBYSCORE", "s", "0", "1"],
        &["ZREMRANGEBYLEX", "s", "-", "+"],
        &["ZREMRANGEBYRANK", "s", "0"],
    ]);
}

#[test]
fn pops() {
    if !common::reference_available("pops") {
        return;
    }
    run_script(&[
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
        &["ZPOPMIN", "z"],
        &["ZPOPMAX", "z"],
        &["ZPOPMIN", "z", "2"],
        &["ZPOPMIN", "z", "0"],
        &["ZPOPMIN", "z", "-1"],
        &["ZPOPMIN", "z", "x"],
        &["ZPOPMIN", "z", "1", "2"],
        &["ZPOPMAX", "z", "10"],
        &["EXISTS", "z"],
        &["ZPOPMIN", "z"],
        &["ZPOPMIN", "z", "3"],
        &["ZPOPMAX", "nokey", "0"],
        &["ZADD", "z1", "1", "a", "2", "b", "3", "c"],
        &["ZADD", "z2", "10", "x"],
        &["ZMPOP", "2", "nokey", "z1", "MIN"],
        &["ZMPOP", "2", "nokey", "z1", "max", "COUNT", "5"],
        &["ZMPOP", "2", "z1", "z2", "MIN", "COUNT", "1"],
        &["ZMPOP", "1", "nokey", "MIN"],
        &["ZMPOP", "0", "z2", "MIN"],
        &["ZMPOP", "x", "z2", "MIN"],
        &["ZMPOP", "3", "z2", "MIN"],
        &["ZMPOP", "1", "z2", "FOO"],
        &["ZMPOP", "1", "z2", "MIN", "COUNT"],
        &["ZMPOP", "1", "z2", "MIN", "COUNT", "0"],
        &["ZMPOP", "1", "z2", "MIN", "COUNT", "x"],
        &["ZMPOP", "1", "z2", "MIN", "COUNT", "1", "COUNT", "1"],
        &["ZMPOP", "1", "z2", "MIN", "FOO"],
        &["ZMPOP", "1", "z2"],
        &["ZMPOP", "1", "z2", "MAX"],
        &["SET", "s", "x"],
        &["ZPOPMIN", "s"],
        &["ZPOPMIN", "s", "0"],
        &["ZPOPMAX", "s"],
        &["ZMPOP", "2", "nokey", "s", "MIN"],
    ]);
}

#[test]
fn set_operations() {
    if !common::reference_available("set_operations") {
        return;
    }
    run_script(&[
        &["ZADD", "z1", "1", "a", "2", "b", "3", "c"],
        &["ZADD", "z2", "10", "b", "20", "c", "30", "d"],
        &["ZADD", "z3", "5", "c"],
        &["ZUNION", "2", "z1", "z2"],
        &["ZUNION", "2", "z1", "z2", "WITHSCORES"],
        &[
            "ZUNION",
            "2",
            "z1",
            "z2",
            "WEIGHTS",
            "2",
            "0.5",
            "WITHSCORES",
        ],
        &["ZUNION", "2", "z1", "z2", "AGGREGATE", "MIN", "WITHSCORES"],
        &["ZUNION", "2", "z1", "z2", "AGGREGATE", "max", "WITHSCORES"],
        &["ZUNION", "2", "z1", "z2", "WEIGHTS", "1"],
        &["ZUNION", "2", "z1", "z2", "WEIGHTS", "1", "x"],
        &["ZUNION", "2", "z1", "z2", "AGGREGATE", "avg"],
        &["ZUNION", "2", "z1", "z2", "AGGREGATE"],
        &["ZUNION", "0", "z1"],
        &["ZUNION", "-1", "z1"],
        &["ZUNION", "x", "z1"],
        &["ZUNION", "3", "z1", "z2"],
        &["ZUNION", "1", "z1", "FOO"],
        &["ZINTER", "2", "z1", "z2", "WITHSCORES"],
        &["ZINTER", "3", "z1", "z2", "z3", "WITHSCORES"],
        &["ZINTER", "2", "z1", "nokey"],
        &["ZINTER", "2", "z1", "z1", "AGGREGATE", "SUM", "WITHSCORES"],
        &[
            "ZINTER",
            "2",
            "z1",
            "z2",
            "WEIGHTS",
            "inf",
            "-inf",
            "WITHSCORES",
        ],
        &[
            "ZUNION",
            "2",
            "z1",
            "z2",
            "WEIGHTS",
            "0",
            "inf",
            "WITHSCORES",
        ],
        &["ZDIFF", "2", "z1", "z2"],
        &["ZDIFF", "2", "z1", "z2", "WITHSCORES"],
        &["ZDIFF", "2", "z3", "z1"],
        &["ZDIFF", "3", "z2", "z1", "z3", "WITHSCORES"],
        &["ZDIFF", "2", "nokey", "z1"],
        &["ZDIFF", "2", "z1", "z2", "WEIGHTS", "1", "2"],
        &["ZDIFF", "2", "z1", "z2", "AGGREGATE", "MIN"],
        &["ZUNIONSTORE", "dst", "2", "z1", "z2", "WEIGHTS", "1", "2"],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &["ZUNIONSTORE", "dst", "2", "z1", "z2", "WITHSCORES"],
        &["ZINTERSTORE", "dst", "2", "z1", "z2", "AGGREGATE", "MAX"],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &["ZDIFFSTORE", "dst", "2", "z2", "z1"],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &["EXPIRE", "dst", "100"],
        &["ZINTERSTORE", "dst", "2", "z1", "z3"],
        &["TTL", "dst"],
        &["ZINTERSTORE", "dst", "2", "z1", "nokey"],
        &["EXISTS", "dst"],
        &["ZINTERSTORE", "dst", "2", "z1", "nokey"],
        &["ZDIFFSTORE", "dst", "0", "z1"],
        &["ZUNIONSTORE", "dst", "0", "z1"],
        &["ZINTERSTORE", "z1", "2", "z1", "z2"],
        &["ZRANGE", "z1", "0", "-1", "WITHSCORES"],
        &["SET", "str", "x"],
        &["ZUNION", "2", "z1", "str"],
        &["ZUNION", "2", "str", "z1", "WEIGHTS", "x"],
        &["ZINTERSTORE", "dst", "1", "str"],
        &["ZDIFF", "1", "str"],
        &["ZUNIONSTORE", "str", "1", "z2"],
        &["TYPE", "str"],
        &["ZADD", "c1", "1", "a", "2", "b", "3", "c", "4", "d"],
        &["ZADD", "c2", "1", "a", "2", "b", "3", "c", "5", "e"],
        &["ZINTERCARD", "2", "c1", "c2"],
        &["ZINTERCARD", "2", "c1", "c2", "LIMIT", "0"],
        &["ZINTERCARD", "2", "c1", "c2", "LIMIT", "2"],
        &["ZINTERCARD", "2", "c1", "c2", "LIMIT", "10"],
        &["ZINTERCARD", "2", "c1", "c2", "LIMIT", "-1"],
        &["ZINTERCARD", "2", "c1", "c2", "LIMIT", "x"],
        &["ZINTERCARD", "2", "c1", "c2", "LIMIT"],
        &["ZINTERCARD", "2", "c1", "c2", "WITHSCORES"],
        &["ZINTERCARD", "2", "c1", "c2", "WEIGHTS", "1", "1"],
        &["ZINTERCARD", "0", "c1"],
        &["ZINTERCARD", "3", "c1", "c2"],
        &["ZINTERCARD", "2", "c1", "nokey"],
        &["ZINTERCARD", "2", "c1", "str"],
        &["ZUNION", "1"],
        &["ZUNIONSTORE", "dst", "1"],
    ]);
}

#[test]
fn encodings_follow_the_listpack_limits() {
    if !common::reference_available("encodings_follow_the_listpack_limits") {
        return;
    }
    let mut cmds: Vec<Vec<String>> = Vec::new();
    let w = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    cmds.push(zadd_many("z", 0, 128, 0));
    cmds.push(w(&["OBJECT", "ENCODING", "z"]));
    cmds.push(zadd_many("z", 128, 129, 0));
    cmds.push(w(&["OBJECT", "ENCODING", "z"]));
    cmds.push(w(&["ZREMRANGEBYRANK", "z", "0", "100"]));
    cmds.push(w(&["OBJECT", "ENCODING", "z"]));
    cmds.push(w(&["ZRANGESTORE", "small", "z", "0", "9"]));
    cmds.push(w(&["OBJECT", "ENCODING", "small"]));
    cmds.push(w(&["ZUNIONSTORE", "u", "1", "z"]));
    cmds.push(w(&["OBJECT", "ENCODING", "u"]));
    // A long member converts at once, even in a set of one.
    cmds.push(vec![
        "ZADD".into(),
        "long".into(),
        "1".into(),
        "x".repeat(64),
    ]);
    cmds.push(w(&["OBJECT", "ENCODING", "long"]));
    cmds.push(vec![
        "ZADD".into(),
        "long".into(),
        "2".into(),
        "y".repeat(65),
    ]);
    cmds.push(w(&["OBJECT", "ENCODING", "long"]));
    cmds.push(vec![
        "ZADD".into(),
        "long2".into(),
        "1".into(),
        "y".repeat(65),
    ]);
    cmds.push(w(&["OBJECT", "ENCODING", "long2"]));
    cmds.push(w(&["ZINTERSTORE", "i", "2", "long", "long"]));
    cmds.push(w(&["OBJECT", "ENCODING", "i"]));
    cmds.push(w(&["ZDIFFSTORE", "d", "2", "long", "long2"]));
    cmds.push(w(&["OBJECT", "ENCODING", "d"]));
    // Big sets: ranks, ranges with big offsets, counts and removals.
    cmds.push(zadd_many("big", 0, 2000, 3));
    cmds.push(w(&["OBJECT", "ENCODING", "big"]));
    cmds.push(w(&["ZCARD", "big"]));
    for m in ["m0xxx", "m777xxx", "m1999xxx", "nosuch"] {
        cmds.push(w(&["ZRANK", "big", m]));
        cmds.push(w(&["ZREVRANK", "big", m]));
        cmds.push(w(&["ZSCORE", "big", m]));
    }
    cmds.push(w(&["ZRANGE", "big", "1500", "1505", "WITHSCORES"]));
    cmds.push(w(&["ZRANGE", "big", "-3", "-1", "REV"]));
    cmds.push(w(&[
        "ZRANGEBYSCORE",
        "big",
        "(100",
        "200",
        "LIMIT",
        "300",
        "3",
    ]));
    cmds.push(w(&[
        "ZREVRANGEBYSCORE",
        "big",
        "200",
        "(100",
        "LIMIT",
        "300",
        "3",
    ]));
    cmds.push(w(&["ZCOUNT", "big", "10.25", "(400"]));
    // Lex ranges are only defined when all scores are equal.
    let mut lex = w(&["ZADD", "biglex"]);
    for i in 0..500 {
        lex.extend(["0".to_string(), format!("k{i:04}")]);
    }
    cmds.push(lex);
    cmds.push(w(&["ZLEXCOUNT", "biglex", "[k0100", "(k0200"]));
    cmds.push(w(&[
        "ZRANGEBYLEX",
        "biglex",
        "(k0100",
        "+",
        "LIMIT",
        "300",
        "3",
    ]));
    cmds.push(w(&[
        "ZREVRANGEBYLEX",
        "biglex",
        "(k0300",
        "-",
        "LIMIT",
        "250",
        "3",
    ]));
    cmds.push(w(&["ZREMRANGEBYLEX", "biglex", "[k0200", "(k0300"]));
    cmds.push(w(&["ZRANGE", "biglex", "195", "205"]));
    cmds.push(w(&["ZREMRANGEBYSCORE", "big", "(10", "20"]));
    cmds.push(w(&["ZREMRANGEBYRANK", "big", "100", "199"]));
    cmds.push(w(&["ZRANGE", "big", "35", "45"]));
    cmds.push(w(&["ZADD", "big", "INCR", "1000", "m5xxx"]));
    cmds.push(w(&["ZRANK", "big", "m5xxx"]));
    cmds.push(w(&["ZPOPMAX", "big", "3"]));
    cmds.push(w(&["ZPOPMIN", "big", "3"]));
    cmds.push(w(&["ZCARD", "big"]));
    cmds.push(w(&[
        "ZINTERSTORE",
        "bi",
        "2",
        "big",
        "z",
        "WEIGHTS",
        "2",
        "3",
    ]));
    cmds.push(w(&["ZRANGE", "bi", "0", "-1", "WITHSCORES"]));
    cmds.push(w(&["CONFIG", "SET", "zset-max-listpack-entries", "4"]));
    cmds.push(w(&["ZADD", "t", "1", "a", "2", "b", "3", "c", "4", "d"]));
    cmds.push(w(&["OBJECT", "ENCODING", "t"]));
    cmds.push(w(&["ZADD", "t", "5", "e"]));
    cmds.push(w(&["OBJECT", "ENCODING", "t"]));
    cmds.push(w(&[
        "ZADD", "t2", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
    ]));
    cmds.push(w(&["OBJECT", "ENCODING", "t2"]));
    cmds.push(w(&["ZRANGESTORE", "t3", "t2", "0", "3"]));
    cmds.push(w(&["OBJECT", "ENCODING", "t3"]));
    cmds.push(w(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]));
    cmds.push(w(&["ZADD", "t4", "1", "a"]));
    cmds.push(w(&["OBJECT", "ENCODING", "t4"]));
    run_script(&script(cmds));
}

/// A full ZSCAN iteration: every (member, score) returned, and the number of calls.
fn full_zscan(conn: &mut Conn, key: &str, options: &[&str]) -> (Vec<(String, String)>, usize) {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    let mut calls = 0;
    loop {
        let mut cmd = vec!["ZSCAN", key, &cursor];
        cmd.extend_from_slice(options);
        let reply = conn.cmd(&cmd);
        let parts = array_elements(&reply);
        assert_eq!(parts.len(), 2, "ZSCAN reply: {}", render(&reply));
        let next = String::from_utf8(bulk_value(&parts[0])).unwrap();
        let items = strings(&parts[1]);
        assert_eq!(items.len() % 2, 0);
        for pair in items.chunks(2) {
            all.push((pair[0].clone(), pair[1].clone()));
        }
        calls += 1;
        assert!(calls < 10_000, "ZSCAN never finished");
        if next == "0" {
            return (all, calls);
        }
        cursor = next;
    }
}

#[test]
fn zscan_on_both_encodings() {
    if !common::reference_available("zscan_on_both_encodings") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let mut cmds = vec![zadd_many("small", 0, 50, 0), zadd_many("big", 0, 1000, 0)];
    cmds.push(["ZADD", "small", "1.1", "odd"].map(String::from).to_vec());
    run_on(&script(cmds), &mut ours, &mut theirs);
    // Listpack: exact, whatever the cursor and COUNT.
    run_on(
        &[
            &["ZSCAN", "small", "0"],
            &["ZSCAN", "small", "0", "COUNT", "2"],
            &["ZSCAN", "small", "123"],
            &["ZSCAN", "small", "0", "MATCH", "m1*"],
            &["ZSCAN", "small", "0", "MATCH", "nothing"],
            &["ZSCAN", "small", "x"],
            &["ZSCAN", "small", "0", "COUNT", "0"],
            &["ZSCAN", "small", "0", "COUNT"],
            &["ZSCAN", "small", "0", "TYPE", "zset"],
            &["ZSCAN", "nokey", "0"],
            &["ZSCAN", "nokey", "0", "FOO"],
            &["ZSCAN", "nokey", "x"],
            &["SET", "s", "x"],
            &["ZSCAN", "s", "0"],
            &["ZSCAN", "s", "x"],
            &["ZSCAN", "small"],
        ],
        &mut ours,
        &mut theirs,
    );
    // Skiplist: a full iteration returns every pair, with the same scores, on both.
    let expect: BTreeMap<String, String> = (0..1000)
        .map(|i| {
            let m = format!("m{i}");
            let score = bulk_value(&theirs.cmd(&["ZSCORE", "big", &m]));
            (m, String::from_utf8(score).unwrap())
        })
        .collect();
    for conn in [&mut ours, &mut theirs] {
        let (all, calls) = full_zscan(conn, "big", &["COUNT", "20"]);
        assert!(
            calls > 10,
            "a skiplist set is scanned in steps ({calls} calls)"
        );
        let got: BTreeMap<String, String> = all.iter().cloned().collect();
        assert_eq!(got.len(), 1000);
        assert_eq!(got, expect);
        let (matched, _) = full_zscan(conn, "big", &["MATCH", "m99*"]);
        let names: BTreeSet<String> = matched.into_iter().map(|(m, _)| m).collect();
        let want: BTreeSet<String> = [
            "m99", "m990", "m991", "m992", "m993", "m994", "m995", "m996", "m997", "m998", "m999",
        ]
        .map(String::from)
        .into_iter()
        .collect();
        assert_eq!(names, want);
    }
    let (a, _) = full_zscan(&mut ours, "big", &[]);
    let (b, _) = full_zscan(&mut theirs, "big", &[]);
    let a: BTreeMap<_, _> = a.into_iter().collect();
    let b: BTreeMap<_, _> = b.into_iter().collect();
    assert_eq!(a, b, "same members and score texts");
}

#[test]
fn zrandmember_by_properties() {
    if !common::reference_available("zrandmember_by_properties") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let setup = script(vec![
        zadd_many("small", 0, 10, 0),
        zadd_many("big", 0, 300, 0),
    ]);
    run_on(&setup, &mut ours, &mut theirs);
    // Errors and the deterministic cases are exact.
    run_on(
        &[
            &["ZRANDMEMBER", "nokey"],
            &["ZRANDMEMBER", "nokey", "5"],
            &["ZRANDMEMBER", "nokey", "5", "WITHSCORES"],
            &["ZRANDMEMBER", "small", "0"],
            &["ZRANDMEMBER", "small", "x"],
            &["ZRANDMEMBER", "small", "1", "FOO"],
            &["ZRANDMEMBER", "small", "1", "WITHSCORES", "x"],
            &["ZRANDMEMBER", "small", "-9223372036854775808"],
            &["ZRANDMEMBER", "small", "-9223372036854775807", "WITHSCORES"],
            &["ZRANDMEMBER", "small", "9223372036854775807", "WITHSCORES"],
            &["ZRANDMEMBER", "small", "10", "WITHSCORES"],
            &["SET", "s", "x"],
            &["ZRANDMEMBER", "s"],
            &["ZRANDMEMBER", "s", "1"],
            &["ZRANDMEMBER", "s", "x"],
            &["ZRANDMEMBER"],
        ],
        &mut ours,
        &mut theirs,
    );
    for conn in [&mut ours, &mut theirs] {
        for key in ["small", "big"] {
            let size: usize = if key == "small" { 10 } else { 300 };
            let members: BTreeSet<String> = (0..size).map(|i| format!("m{i}")).collect();
            let one = conn.cmd(&["ZRANDMEMBER", key]);
            assert!(members.contains(&String::from_utf8(bulk_value(&one)).unwrap()));
            for count in [1usize, 3, 9, 10, 11, 250, 400] {
                let got = strings(&conn.cmd(&["ZRANDMEMBER", key, &count.to_string()]));
                assert_eq!(got.len(), count.min(size), "{key} {count}");
                let distinct: BTreeSet<String> = got.iter().cloned().collect();
                assert_eq!(distinct.len(), got.len(), "distinct");
                assert!(distinct.is_subset(&members));
                let neg = strings(&conn.cmd(&["ZRANDMEMBER", key, &format!("-{count}")]));
                assert_eq!(neg.len(), count, "{key} -{count}");
                assert!(neg.iter().all(|m| members.contains(m)));
                let ws =
                    strings(&conn.cmd(&["ZRANDMEMBER", key, &format!("-{count}"), "WITHSCORES"]));
                assert_eq!(ws.len(), count * 2);
                for p in ws.chunks(2) {
                    let i: usize = p[0][1..].parse().unwrap();
                    assert_eq!(p[1].parse::<f64>().unwrap(), i as f64 / 4.0);
                }
            }
            // A negative count repeats: 400 draws from 10 members must.
            if key == "small" {
                let neg = strings(&conn.cmd(&["ZRANDMEMBER", key, "-400"]));
                let distinct: BTreeSet<&String> = neg.iter().collect();
                assert_eq!(distinct.len(), 10, "every member drawn");
            }
        }
    }
}

#[test]
fn wrong_arity() {
    if !common::reference_available("wrong_arity") {
        return;
    }
    run_script(&[
        &["ZADD", "z", "1"],
        &["ZINCRBY", "z", "1"],
        &["ZREM", "z"],
        &["ZSCORE", "z"],
        &["ZMSCORE", "z"],
        &["ZCARD"],
        &["ZCOUNT", "z", "1"],
        &["ZLEXCOUNT", "z", "-"],
        &["ZRANK", "z"],
        &["ZREVRANK", "z"],
        &["ZRANGE", "z", "0"],
        &["ZRANGESTORE", "d", "z", "0"],
        &["ZRANGEBYSCORE", "z", "0"],
        &["ZREVRANGEBYSCORE", "z", "0"],
        &["ZRANGEBYLEX", "z", "-"],
        &["ZREVRANGEBYLEX", "z", "-"],
        &["ZREVRANGE", "z", "0"],
        &["ZPOPMIN"],
        &["ZPOPMAX"],
        &["ZMPOP", "1", "z"],
        &["ZRANDMEMBER"],
        &["ZREMRANGEBYRANK", "z", "0"],
        &["ZREMRANGEBYSCORE", "z", "0"],
        &["ZREMRANGEBYLEX", "z", "-"],
        &["ZUNION", "1"],
        &["ZINTER", "1"],
        &["ZDIFF", "1"],
        &["ZUNIONSTORE", "d", "1"],
        &["ZINTERSTORE", "d", "1"],
        &["ZDIFFSTORE", "d", "1"],
        &["ZINTERCARD", "1"],
        &["ZSCAN", "z"],
    ]);
}

/// A small deterministic generator for the random script (no crates).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn random_operations_agree() {
    if !common::reference_available("random_operations_agree") {
        return;
    }
    // Few distinct members and scores, so updates, ties and empty sets happen often;
    // two keys, one kept small (listpack) and one grown past the limit (skiplist).
    let mut rng = Lcg(2024);
    let mut cmds: Vec<Vec<String>> = vec![zadd_many("k1", 0, 200, 0)];
    let scores = [
        "0", "1", "2", "2.5", "-1", "inf", "-inf", "1e300", "(1", "(2",
    ];
    for _ in 0..1500 {
        let key = if rng.below(2) == 0 { "k0" } else { "k1" }.to_string();
        let m = |rng: &mut Lcg| format!("m{}", rng.below(40));
        let s = |rng: &mut Lcg| scores[rng.below(8) as usize].to_string();
        let bound = |rng: &mut Lcg| scores[rng.below(10) as usize].to_string();
        let idx = |rng: &mut Lcg| (rng.below(30) as i64 - 15).to_string();
        let cmd: Vec<String> = match rng.below(16) {
            0..=3 => {
                let flags = ["", "NX", "XX", "GT", "LT", "CH", "GT CH", "XX LT CH"];
                let mut c = vec!["ZADD".to_string(), key];
                c.extend(
                    flags[rng.below(8) as usize]
                        .split_whitespace()
                        .map(String::from),
                );
                for _ in 0..=rng.below(3) {
                    c.push(s(&mut rng));
                    c.push(m(&mut rng));
                }
                c
            }
            4 => vec!["ZINCRBY".into(), key, s(&mut rng), m(&mut rng)],
            5 => vec!["ZREM".into(), key, m(&mut rng), m(&mut rng)],
            6 => vec!["ZRANK".into(), key, m(&mut rng)],
            7 => vec!["ZREVRANK".into(), key, m(&mut rng)],
            8 => vec![
                "ZRANGE".into(),
                key,
                idx(&mut rng),
                idx(&mut rng),
                "WITHSCORES".into(),
            ],
            9 => vec!["ZCOUNT".into(), key, bound(&mut rng), bound(&mut rng)],
            10 => {
                let (a, b) = (bound(&mut rng), bound(&mut rng));
                let (off, cnt) = (
                    rng.below(5).to_string(),
                    (rng.below(6) as i64 - 1).to_string(),
                );
                vec![
                    "ZRANGEBYSCORE".into(),
                    key,
                    a,
                    b,
                    "WITHSCORES".into(),
                    "LIMIT".into(),
                    off,
                    cnt,
                ]
            }
            11 => {
                let (a, b) = (bound(&mut rng), bound(&mut rng));
                let off = rng.below(5).to_string();
                vec![
                    "ZREVRANGEBYSCORE".into(),
                    key,
                    a,
                    b,
                    "LIMIT".into(),
                    off,
                    "2".into(),
                ]
            }
            12 => vec!["ZREMRANGEBYRANK".into(), key, idx(&mut rng), idx(&mut rng)],
            13 => vec![
                "ZREMRANGEBYSCORE".into(),
                key,
                bound(&mut rng),
                bound(&mut rng),
            ],
            14 => {
                let name = if rng.below(2) == 0 {
                    "ZPOPMIN"
                } else {
                    "ZPOPMAX"
                };
                vec![name.into(), key, rng.below(4).to_string()]
            }
            _ => {
                let dst = "k0".to_string();
                match rng.below(3) {
                    0 => vec![
                        "ZUNIONSTORE".into(),
                        dst,
                        "2".into(),
                        "k0".into(),
                        "k1".into(),
                    ],
                    1 => vec![
                        "ZINTERSTORE".into(),
                        dst,
                        "2".into(),
                        "k1".into(),
                        "k0".into(),
                    ],
                    _ => vec!["ZCARD".into(), key],
                }
            }
        };
        cmds.push(cmd);
        if rng.below(20) == 0 {
            cmds.push(vec!["OBJECT".into(), "ENCODING".into(), "k0".into()]);
            cmds.push(vec![
                "ZRANGE".into(),
                "k0".into(),
                "0".into(),
                "-1".into(),
                "WITHSCORES".into(),
            ]);
        }
    }
    cmds.push(vec![
        "ZRANGE".into(),
        "k1".into(),
        "0".into(),
        "-1".into(),
        "WITHSCORES".into(),
    ]);
    run_script(&script(cmds));
}

/// Words as owned strings, for the generated scripts.
fn words(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

/// A score for member `i` of the big sets: many ties, both infinities, and -0 next to 0
/// (past the first ZADD's first 128 members, where the listpack would read -0 as 0).
fn big_score(i: usize) -> String {
    match i {
        _ if i.is_multiple_of(500) => "-inf".into(),
        _ if i % 500 == 1 => "+inf".into(),
        _ if i.is_multiple_of(97) => "-0".into(),
        _ if i.is_multiple_of(89) => "0".into(),
        _ => format!("{}", ((i * 7919) % 1500) as f64 / 4.0),
    }
}

/// Sets of 12,000 members (an order tree three levels deep): rank windows at the ends and
/// around node sizes, BYSCORE with LIMIT and large offsets both ways, ranks, counts with
/// every kind of bound, then removals by rank and score and pops that drain the set.
#[test]
fn deep_sets_ranges_ranks_and_pops() {
    if !common::reference_available("deep_sets_ranges_ranks_and_pops") {
        return;
    }
    const N: usize = 12_000;
    let mut rng = Lcg(77);
    let mut order: Vec<usize> = (0..N).collect();
    for i in (1..N).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut cmds: Vec<Vec<String>> = Vec::new();
    for chunk in order.chunks(3000) {
        let mut c = words(&["ZADD", "big"]);
        for &i in chunk {
            c.push(big_score(i));
            c.push(format!("m{i}"));
        }
        cmds.push(c);
    }
    let full = |cmds: &mut Vec<Vec<String>>| {
        cmds.push(words(&["ZCARD", "big"]));
        cmds.push(words(&["ZRANGE", "big", "0", "-1", "WITHSCORES"]));
        cmds.push(words(&["ZREVRANGE", "big", "0", "-1"]));
    };
    full(&mut cmds);
    let windows: &[(i64, i64)] = &[
        (0, 0),
        (0, 40),
        (15, 17),
        (31, 33),
        (511, 513),
        (1023, 1025),
        (5000, 5100),
        (-1, -1),
        (-33, -31),
        (-40, -1),
        (11_990, 20_000),
        (-20_000, 5),
        (12_000, 12_001),
        (7, 3),
    ];
    for &(a, b) in windows {
        let (a, b) = (a.to_string(), b.to_string());
        cmds.push(words(&["ZRANGE", "big", &a, &b, "WITHSCORES"]));
        cmds.push(words(&["ZRANGE", "big", &a, &b, "REV", "WITHSCORES"]));
        cmds.push(words(&["ZREVRANGE", "big", &a, &b]));
    }
    let offsets = [
        "0", "1", "31", "32", "33", "511", "5000", "11990", "11999", "12000", "99999",
    ];
    for off in offsets {
        for cnt in ["1", "5", "100", "-1"] {
            cmds.push(words(&[
                "ZRANGE", "big", "-inf", "+inf", "BYSCORE", "LIMIT", off, cnt,
            ]));
            cmds.push(words(&[
                "ZRANGE",
                "big",
                "+inf",
                "-inf",
                "BYSCORE",
                "REV",
                "LIMIT",
                off,
                cnt,
                "WITHSCORES",
            ]));
        }
        cmds.push(words(&[
            "ZRANGEBYSCORE",
            "big",
            "(0",
            "100",
            "WITHSCORES",
            "LIMIT",
            off,
            "3",
        ]));
        cmds.push(words(&[
            "ZREVRANGEBYSCORE",
            "big",
            "300",
            "(-1",
            "LIMIT",
            off,
            "7",
        ]));
        cmds.push(words(&[
            "ZREVRANGEBYSCORE",
            "big",
            "(+inf",
            "-inf",
            "LIMIT",
            off,
            "2",
        ]));
    }
    for i in (0..N + 40).step_by(37) {
        let m = format!("m{i}");
        cmds.push(words(&["ZRANK", "big", &m]));
        cmds.push(words(&["ZREVRANK", "big", &m]));
    }
    let bounds = [
        "-inf", "(-inf", "-1", "-0", "0", "(0", "(-0", "0.25", "(100", "100", "374.75", "(374.75",
        "+inf", "(+inf",
    ];
    for min in bounds {
        for max in bounds {
            cmds.push(words(&["ZCOUNT", "big", min, max]));
        }
    }
    cmds.push(words(&["ZRANGEBYSCORE", "big", "0", "0", "WITHSCORES"]));
    cmds.push(words(&["ZRANGEBYSCORE", "big", "-inf", "-inf"]));
    cmds.push(words(&["ZREVRANGEBYSCORE", "big", "+inf", "+inf"]));
    // Removals over many leaves, then everything again.
    cmds.push(words(&["ZREMRANGEBYRANK", "big", "1000", "3999"]));
    cmds.push(words(&["ZREMRANGEBYRANK", "big", "-2000", "-1001"]));
    cmds.push(words(&["ZREMRANGEBYRANK", "big", "0", "0"]));
    cmds.push(words(&["ZREMRANGEBYSCORE", "big", "(50", "100"]));
    cmds.push(words(&["ZREMRANGEBYSCORE", "big", "-inf", "-inf"]));
    cmds.push(words(&["ZREMRANGEBYSCORE", "big", "(300", "+inf"]));
    cmds.push(words(&["ZREMRANGEBYSCORE", "big", "0", "0"]));
    full(&mut cmds);
    for i in (0..N).step_by(53) {
        cmds.push(words(&["ZRANK", "big", &format!("m{i}")]));
    }
    // Pops: single ones, then large bites from both ends until the set is gone.
    cmds.push(words(&["ZPOPMIN", "big"]));
    cmds.push(words(&["ZPOPMAX", "big"]));
    cmds.push(words(&["ZPOPMIN", "big", "700"]));
    cmds.push(words(&["ZPOPMAX", "big", "333"]));
    cmds.push(words(&["ZRANGE", "big", "0", "5", "WITHSCORES"]));
    cmds.push(words(&["ZRANGE", "big", "-5", "-1", "WITHSCORES"]));
    for k in 0..6 {
        let pop = if k % 2 == 0 { "ZPOPMIN" } else { "ZPOPMAX" };
        cmds.push(words(&[pop, "big", "611"]));
        cmds.push(words(&["ZCARD", "big"]));
        cmds.push(words(&["ZRANGE", "big", "0", "2"]));
    }
    cmds.push(words(&["ZMPOP", "1", "big", "MAX", "COUNT", "500"]));
    cmds.push(words(&["ZPOPMIN", "big", "100000"]));
    cmds.push(words(&["EXISTS", "big"]));
    cmds.push(words(&["ZPOPMAX", "big", "3"]));
    run_script(&script(cmds));
}

/// 10,000 members of score 0 (some -0): lex ranges with bounds that are and are not
/// members, reaching either end, with LIMIT, reversed, counted and removed.
#[test]
fn deep_lex_ranges_on_equal_scores() {
    if !common::reference_available("deep_lex_ranges_on_equal_scores") {
        return;
    }
    const N: u64 = 10_000;
    let name = |i: u64| format!("{:x}", i.wrapping_mul(0x9e37_79b9) % 1_000_003);
    let mut cmds: Vec<Vec<String>> = Vec::new();
    for chunk in (0..N).collect::<Vec<_>>().chunks(2500) {
        let mut c = words(&["ZADD", "lex"]);
        for &i in chunk {
            c.push(if i % 7 == 3 { "-0" } else { "0" }.to_string());
            c.push(name(i));
        }
        cmds.push(c);
    }
    cmds.push(words(&["ZCARD", "lex"]));
    cmds.push(words(&["ZRANGE", "lex", "0", "-1", "WITHSCORES"]));
    let mut rng = Lcg(5);
    let bound = |rng: &mut Lcg| -> String {
        let pick = match rng.below(3) {
            0 => name(rng.below(N)),
            1 => format!("{:x}", rng.below(1_000_003)),
            _ => ["", "0", "f", "ffff", "\u{7f}"][rng.below(5) as usize].to_string(),
        };
        match rng.below(12) {
            0 => "-".into(),
            1 => "+".into(),
            2..=6 => format!("[{pick}"),
            _ => format!("({pick}"),
        }
    };
    for round in 0..150 {
        let (a, b) = (bound(&mut rng), bound(&mut rng));
        let off = ["0", "1", "32", "500", "4000", "9999"][rng.below(6) as usize];
        let cnt = ["1", "3", "40", "-1"][rng.below(4) as usize];
        cmds.push(words(&["ZLEXCOUNT", "lex", &a, &b]));
        cmds.push(words(&["ZRANGEBYLEX", "lex", &a, &b, "LIMIT", off, cnt]));
        cmds.push(words(&["ZREVRANGEBYLEX", "lex", &b, &a, "LIMIT", off, cnt]));
        cmds.push(words(&[
            "ZRANGE", "lex", &b, &a, "BYLEX", "REV", "LIMIT", off, cnt,
        ]));
        if round % 10 == 0 {
            cmds.push(words(&["ZRANGEBYLEX", "lex", &a, &b]));
            cmds.push(words(&["ZRANGESTORE", "dst", "lex", &a, &b, "BYLEX"]));
            cmds.push(words(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]));
        }
    }
    for (a, b) in [
        ("-", "[8"),
        ("(f0000", "+"),
        ("[3", "(3z"),
        ("(a", "[b"),
        ("-", "(0"),
        ("[ffffff", "+"),
    ] {
        cmds.push(words(&["ZREMRANGEBYLEX", "lex", a, b]));
        cmds.push(words(&["ZCARD", "lex"]));
        cmds.push(words(&["ZLEXCOUNT", "lex", "-", "+"]));
        cmds.push(words(&["ZRANGE", "lex", "0", "9"]));
        cmds.push(words(&["ZRANGE", "lex", "-10", "-1"]));
    }
    cmds.push(words(&["ZRANGE", "lex", "0", "-1", "WITHSCORES"]));
    cmds.push(words(&["ZREMRANGEBYLEX", "lex", "-", "+"]));
    cmds.push(words(&["EXISTS", "lex"]));
    run_script(&script(cmds));
}

/// Random updates on a set of 6,000: small score changes (which stay between the
/// member's neighbours), long jumps, ZINCRBY, removals and re-adds, with ranks and rank
/// windows read after each.
#[test]
fn deep_set_rescoring_agrees() {
    if !common::reference_available("deep_set_rescoring_agrees") {
        return;
    }
    const N: u64 = 6000;
    let mut cmds: Vec<Vec<String>> = vec![zadd_many("z", 0, N as usize, 0)];
    let mut rng = Lcg(31);
    for step in 0..1500 {
        let m = format!("m{}", rng.below(N));
        let cmd = match rng.below(8) {
            0 | 1 => {
                let d = ["0.01", "-0.01", "0.1", "-0.2"][rng.below(4) as usize];
                words(&["ZINCRBY", "z", d, &m])
            }
            2 => {
                let s = (rng.below(N) as f64 / 4.0).to_string();
                words(&["ZADD", "z", "CH", &s, &m])
            }
            3 => {
                let s = ["-inf", "+inf", "-0", "0", "1e300"][rng.below(5) as usize];
                words(&["ZADD", "z", s, &m])
            }
            4 => words(&["ZREM", "z", &m]),
            5 => words(&["ZADD", "z", "NX", "7.5", &m]),
            _ => words(&[
                "ZADD",
                "z",
                "GT",
                "CH",
                &(rng.below(N) as f64 / 4.0).to_string(),
                &m,
            ]),
        };
        cmds.push(cmd);
        cmds.push(words(&["ZRANK", "z", &m]));
        if step % 5 == 0 {
            let r = rng.below(N + 10) as i64 - 5;
            let (a, b) = (r.to_string(), (r + 3).to_string());
            cmds.push(words(&["ZRANGE", "z", &a, &b, "WITHSCORES"]));
            cmds.push(words(&["ZREVRANGE", "z", &a, &b, "WITHSCORES"]));
        }
    }
    cmds.push(words(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]));
    run_script(&script(cmds));
}
