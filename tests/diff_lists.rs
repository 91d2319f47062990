//! Differential tests for the list commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP,
//! LLEN, LRANGE, LINDEX, LSET, LREM, LTRIM, LINSERT, LPOS, LMOVE, RPOPLPUSH and LMPOP.
//!
//! Scripts run on a fresh redlite and a fresh reference redis-server 7.0 and every reply
//! is compared byte for byte, error replies included: wrong types (and which key Redis
//! checks first), arity, missing and expired keys, negative and huge indexes and counts,
//! and the LONG_MIN cases Redis 7.0 computes with wrapping arithmetic. Keys that empty
//! must be deleted (EXISTS, TYPE), the dirty counter (`rdb_changes_since_last_save`)
//! must move as Redis's does, and COMMAND INFO's arity, flags and key positions must
//! match. Finally a seeded random mix of every list command (plus a few string writes
//! and expiries) over a small key space must agree reply for reply.

mod common;

use common::diff::agree;
use common::diff::{render, render_cmd, run_paused, run_script, Cmd, Pair, PAUSE};
use common::{array_elements, Conn, Reference, Server};
use pretty_assertions::assert_eq;
use redlite::util::rand::Rng;

#[test]
fn pushes_and_pushx() {
    if !common::reference_available("pushes_and_pushx") {
        return;
    }
    run_paused(&[
        &["LPUSHX", "l", "a"],
        &["RPUSHX", "l", "a", "b"],
        &["EXISTS", "l"],
        &["LPUSH", "l", "a", "b", "c"],
        &["RPUSH", "l", "x", "y"],
        &["LPUSHX", "l", "p1", "p2"],
        &["RPUSHX", "l", "t1"],
        &["lpushx", "l", ""],
        &["LRANGE", "l", "0", "-1"],
        &["LPUSHX", "l"],
        &["RPUSHX"],
        &["LPUSH", "l"],
        &["SET", "s", "v"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPUSH", "s", "a"],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "nosuch", "a"],
        &["RPUSHX", "nosuch", "a"],
        &["OBJECT", "ENCODING", "l"],
        &["TYPE", "l"],
        // An expired list is no list for the X variants.
        &["RPUSH", "e", "a"],
        &["PEXPIRE", "e", "1"],
        PAUSE,
        &["RPUSHX", "e", "b"],
        &["EXISTS", "e"],
        &["LPUSH", "e", "b"],
        &["TTL", "e"],
    ]);
}

#[test]
fn pops_counts_and_errors() {
    if !common::reference_available("pops_counts_and_errors") {
        return;
    }
    run_script(&[
        &["RPUSH", "l", "a", "b", "c", "d", "e"],
        &["LPOP", "l"],
        &["RPOP", "l"],
        &["LPOP", "l", "0"],
        &["RPOP", "l", "0"],
        &["LPOP", "l", "2"],
        &["LPOP", "l", "-1"],
        &["RPOP", "l", "x"],
        &["LPOP", "l", "1.5"],
        &["LPOP", "l", "1", "2"],
        &["RPOP", "l", "1", "2"],
        &["LPOP"],
        &["RPOP", "l", "100"],
        &["EXISTS", "l"],
        &["TYPE", "l"],
        &["LPOP", "l"],
        &["RPOP", "l"],
        &["LPOP", "l", "0"],
        &["RPOP", "l", "3"],
        &["LPOP", "l", "-1"],
        &["SET", "s", "v"],
        &["LPOP", "s"],
        &["RPOP", "s", "0"],
        &["LPOP", "s", "-1"],
        &["RPUSH", "one", "x"],
        &["RPOP", "one"],
        &["EXISTS", "one"],
        &["RPUSH", "n", "1", "2", "3"],
        &["RPOP", "n", "9223372036854775807"],
        &["LPOP", "n", "9223372036854775808"],
        &["EXISTS", "n"],
    ]);
}

#[test]
fn llen_lrange_lindex() {
    if !common::reference_available("llen_lrange_lindex") {
        return;
    }
    run_script(&[
        &["RPUSH", "l", "a", "b", "c", "d", "e"],
        &["LLEN", "l"],
        &["LLEN", "nosuch"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "l", "1", "3"],
        &["LRANGE", "l", "-2", "-1"],
        &["LRANGE", "l", "-100", "100"],
        &["LRANGE", "l", "3", "1"],
        &["LRANGE", "l", "5", "10"],
        &["LRANGE", "l", "0", "-6"],
        &["LRANGE", "l", "-9223372036854775808", "9223372036854775807"],
        &["LRANGE", "l", "9223372036854775807", "-9223372036854775808"],
        &["LRANGE", "l", "0", "9223372036854775808"],
        &["LRANGE", "l", "x", "1"],
        &["LRANGE", "nosuch", "x", "1"],
        &["LRANGE", "nosuch", "0", "-1"],
        &["LRANGE", "l", "0"],
        &["LINDEX", "l", "0"],
        &["LINDEX", "l", "-1"],
        &["LINDEX", "l", "-5"],
        &["LINDEX", "l", "-6"],
        &["LINDEX", "l", "5"],
        &["LINDEX", "l", "9223372036854775807"],
        &["LINDEX", "l", "-9223372036854775808"],
        &["LINDEX", "l", "x"],
        &["LINDEX", "l", "1.0"],
        &["LINDEX", "nosuch", "x"],
        &["LINDEX", "nosuch", "0"],
        &["SET", "s", "v"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "-1"],
        &["LRANGE", "s", "x", "-1"],
        &["LINDEX", "s", "0"],
        &["LINDEX", "s", "x"],
        &["LLEN"],
        &["LINDEX", "l"],
    ]);
}

#[test]
fn lset() {
    if !common::reference_available("lset") {
        return;
    }
    run_script(&[
        &["LSET", "nosuch", "0", "x"],
        &["LSET", "nosuch", "bad", "x"],
        &["RPUSH", "l", "a", "b", "c"],
        &["LSET", "l", "0", "A"],
        &["LSET", "l", "-1", "C"],
        &["LSET", "l", "-3", "first"],
        &["LRANGE", "l", "0", "-1"],
        &["LSET", "l", "3", "x"],
        &["LSET", "l", "-4", "x"],
        &["LSET", "l", "9223372036854775807", "x"],
        &["LSET", "l", "-9223372036854775808", "x"],
        &["LSET", "l", "4294967297", "x"],
        &["LSET", "l", "x", "y"],
        &["LSET", "l", "1", ""],
        &["LRANGE", "l", "0", "-1"],
        &["SET", "s", "v"],
        &["LSET", "s", "0", "x"],
        &["LSET", "s", "x", "x"],
        &["LSET", "l", "0"],
        &["LSET", "l", "0", "x", "y"],
    ]);
}

#[test]
fn lrem() {
    if !common::reference_available("lrem") {
        return;
    }
    run_script(&[
        &["LREM", "nosuch", "0", "a"],
        &["LREM", "nosuch", "x", "a"],
        &["RPUSH", "l", "a", "b", "a", "c", "a", "b", "a"],
        &["LREM", "l", "2", "a"],
        &["LRANGE", "l", "0", "-1"],
        &["LREM", "l", "-1", "b"],
        &["LRANGE", "l", "0", "-1"],
        &["LREM", "l", "0", "zz"],
        &["LREM", "l", "-100", "a"],
        &["LRANGE", "l", "0", "-1"],
        &["RPUSH", "m", "x", "y", "x", "y", "x"],
        &["LREM", "m", "-9223372036854775808", "x"],
        &["LRANGE", "m", "0", "-1"],
        &["LREM", "m", "9223372036854775807", "y"],
        &["EXISTS", "m"],
        &["TYPE", "m"],
        &["RPUSH", "n", "1", "2", "1"],
        &["LREM", "n", "0", "1"],
        &["LREM", "n", "1.5", "2"],
        &["LREM", "n", "-9223372036854775809", "2"],
        &["LREM", "n", "0", "2"],
        &["EXISTS", "n"],
        &["SET", "s", "v"],
        &["LREM", "s", "0", "v"],
        &["LREM", "s", "x", "v"],
        &["LREM", "s", "0"],
    ]);
}

#[test]
fn ltrim() {
    if !common::reference_available("ltrim") {
        return;
    }
    run_script(&[
        &["LTRIM", "nosuch", "0", "1"],
        &["LTRIM", "nosuch", "x", "1"],
        &["EXISTS", "nosuch"],
        &["RPUSH", "l", "a", "b", "c", "d", "e", "f", "g"],
        &["LTRIM", "l", "1", "-2"],
        &["LRANGE", "l", "0", "-1"],
        &["LTRIM", "l", "0", "-1"],
        &["LTRIM", "l", "-100", "100"],
        &["LRANGE", "l", "0", "-1"],
        &["LTRIM", "l", "-3", "-2"],
        &["LRANGE", "l", "0", "-1"],
        &["LTRIM", "l", "-9223372036854775808", "9223372036854775807"],
        &["LRANGE", "l", "0", "-1"],
        &["LTRIM", "l", "1", "0"],
        &["EXISTS", "l"],
        &["TYPE", "l"],
        &["RPUSH", "m", "1", "2", "3"],
        &["LTRIM", "m", "5", "10"],
        &["EXISTS", "m"],
        &["RPUSH", "n", "1", "2", "3"],
        &["LTRIM", "n", "0", "-4"],
        &["EXISTS", "n"],
        &["RPUSH", "o", "1", "2", "3"],
        &["LTRIM", "o", "x", "1"],
        &["LTRIM", "o", "0", "y"],
        &["LTRIM", "o", "0", "0"],
        &["LRANGE", "o", "0", "-1"],
        &["SET", "s", "v"],
        &["LTRIM", "s", "0", "1"],
        &["LTRIM", "s", "x", "1"],
        &["LTRIM", "s", "0"],
    ]);
}

#[test]
fn linsert() {
    if !common::reference_available("linsert") {
        return;
    }
    run_script(&[
        &["LINSERT", "nosuch", "BEFORE", "a", "x"],
        &["LINSERT", "nosuch", "middle", "a", "x"],
        &["EXISTS", "nosuch"],
        &["RPUSH", "l", "a", "b", "a"],
        &["LINSERT", "l", "BEFORE", "a", "x"],
        &["LINSERT", "l", "after", "a", "y"],
        &["LINSERT", "l", "AfTeR", "a", "z"],
        &["LRANGE", "l", "0", "-1"],
        &["LINSERT", "l", "before", "nope", "x"],
        &["LINSERT", "l", "after", "nope", "x"],
        &["LINSERT", "l", "between", "a", "x"],
        &["LINSERT", "l", "before", "", "x"],
        &["LINSERT", "l", "after", "b", ""],
        &["LRANGE", "l", "0", "-1"],
        &["LLEN", "l"],
        &["SET", "s", "v"],
        &["LINSERT", "s", "before", "v", "x"],
        &["LINSERT", "s", "middle", "v", "x"],
        &["LINSERT", "l", "before", "a"],
    ]);
}

#[test]
fn lpos() {
    if !common::reference_available("lpos") {
        return;
    }
    run_script(&[
        &["LPOS", "nosuch", "a"],
        &["LPOS", "nosuch", "a", "COUNT", "0"],
        &["LPOS", "nosuch", "a", "RANK", "0"],
        &["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"],
        &["LPOS", "l", "a"],
        &["LPOS", "l", "c"],
        &["LPOS", "l", "zz"],
        &["LPOS", "l", "a", "RANK", "2"],
        &["LPOS", "l", "a", "RANK", "3"],
        &["LPOS", "l", "a", "RANK", "4"],
        &["LPOS", "l", "a", "RANK", "-1"],
        &["LPOS", "l", "a", "RANK", "-3"],
        &["LPOS", "l", "a", "RANK", "-4"],
        &["LPOS", "l", "a", "COUNT", "0"],
        &["LPOS", "l", "a", "COUNT", "2"],
        &["LPOS", "l", "a", "COUNT", "10"],
        &["LPOS", "l", "zz", "COUNT", "0"],
        &["LPOS", "l", "a", "RANK", "2", "COUNT", "0"],
        &["LPOS", "l", "a", "RANK", "-1", "COUNT", "2"],
        &["LPOS", "l", "a", "RANK", "-2", "COUNT", "0"],
        &["LPOS", "l", "a", "MAXLEN", "1"],
        &["LPOS", "l", "a", "MAXLEN", "3"],
        &["LPOS", "l", "a", "RANK", "2", "MAXLEN", "3"],
        &["LPOS", "l", "a", "COUNT", "0", "MAXLEN", "4"],
        &["LPOS", "l", "a", "RANK", "-1", "COUNT", "0", "MAXLEN", "5"],
        &["LPOS", "l", "a", "RANK", "-2", "COUNT", "2", "MAXLEN", "3"],
        &["LPOS", "l", "a", "MAXLEN", "0"],
        &["lpos", "l", "b", "rank", "1", "count", "1", "maxlen", "100"],
        // The last option given wins.
        &["LPOS", "l", "a", "RANK", "5", "RANK", "1"],
        &["LPOS", "l", "a", "COUNT", "1", "COUNT", "0"],
        // Redis 7.0 negates LONG_MIN into itself: a tail scan that takes every match.
        &["LPOS", "l", "a", "RANK", "-9223372036854775808"],
        &[
            "LPOS",
            "l",
            "a",
            "RANK",
            "-9223372036854775808",
            "COUNT",
            "1",
        ],
        &["LPOS", "l", "a", "RANK", "9223372036854775807"],
        &[
            "LPOS",
            "l",
            "a",
            "RANK",
            "9223372036854775807",
            "COUNT",
            "1",
        ],
        // Errors.
        &["LPOS", "l", "a", "RANK", "0"],
        &["LPOS", "l", "a", "RANK", "x"],
        &["LPOS", "l", "a", "RANK", "9223372036854775808"],
        &["LPOS", "l", "a", "COUNT", "-1"],
        &["LPOS", "l", "a", "COUNT", "x"],
        &["LPOS", "l", "a", "MAXLEN", "-1"],
        &["LPOS", "l", "a", "MAXLEN", "x"],
        &["LPOS", "l", "a", "RANK"],
        &["LPOS", "l", "a", "COUNT"],
        &["LPOS", "l", "a", "FOO", "1"],
        &["LPOS", "l", "a", "RANK", "0", "COUNT", "-1"],
        &["LPOS", "l", "a", "COUNT", "-1", "RANK", "0"],
        &["LPOS", "l", "a", "RANK", "1", "bogus"],
        &["LPOS", "l"],
        &["SET", "s", "v"],
        &["LPOS", "s", "v"],
        &["LPOS", "s", "v", "COUNT", "0"],
        &["LPOS", "s", "v", "RANK", "0"],
        &["LPOS", "s", "v", "FOO"],
    ]);
}

#[test]
fn lmove_and_rpoplpush() {
    if !common::reference_available("lmove_and_rpoplpush") {
        return;
    }
    run_script(&[
        &["LMOVE", "nosuch", "d", "LEFT", "RIGHT"],
        &["RPOPLPUSH", "nosuch", "d"],
        &["EXISTS", "d"],
        &["RPUSH", "src", "a", "b", "c", "d"],
        &["LMOVE", "src", "dst", "LEFT", "LEFT"],
        &["LMOVE", "src", "dst", "left", "right"],
        &["LMOVE", "src", "dst", "RIGHT", "LEFT"],
        &["LRANGE", "src", "0", "-1"],
        &["LRANGE", "dst", "0", "-1"],
        &["LMOVE", "src", "dst", "RIGHT", "RIGHT"],
        &["EXISTS", "src"],
        &["TYPE", "src"],
        &["LRANGE", "dst", "0", "-1"],
        &["RPOPLPUSH", "dst", "src"],
        &["RPOPLPUSH", "dst", "src"],
        &["LRANGE", "src", "0", "-1"],
        &["LRANGE", "dst", "0", "-1"],
        // The same list: a rotation.
        &["LMOVE", "dst", "dst", "LEFT", "RIGHT"],
        &["LRANGE", "dst", "0", "-1"],
        &["LMOVE", "dst", "dst", "RIGHT", "LEFT"],
        &["LRANGE", "dst", "0", "-1"],
        &["LMOVE", "dst", "dst", "LEFT", "LEFT"],
        &["LMOVE", "dst", "dst", "RIGHT", "RIGHT"],
        &["RPOPLPUSH", "dst", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        // A one-element list rotated onto itself keeps its key and its TTL.
        &["RPUSH", "one", "x"],
        &["EXPIRE", "one", "100"],
        &["LMOVE", "one", "one", "LEFT", "RIGHT"],
        &["RPOPLPUSH", "one", "one"],
        &["LRANGE", "one", "0", "-1"],
        &["TTL", "one"],
        // Errors: positions first, then the source's type, then the destination's.
        &["SET", "s", "v"],
        &["LMOVE", "src", "dst", "UP", "LEFT"],
        &["LMOVE", "src", "dst", "LEFT", "DOWN"],
        &["LMOVE", "s", "dst", "UP", "LEFT"],
        &["LMOVE", "s", "dst", "LEFT", "LEFT"],
        &["LMOVE", "src", "s", "LEFT", "LEFT"],
        &["LMOVE", "nosuch", "s", "LEFT", "LEFT"],
        &["LMOVE", "s", "s", "LEFT", "LEFT"],
        &["RPOPLPUSH", "s", "src"],
        &["RPOPLPUSH", "src", "s"],
        &["RPOPLPUSH", "nosuch", "s"],
        // Nothing moved on an error.
        &["LRANGE", "src", "0", "-1"],
        &["GET", "s"],
        &["LMOVE", "src", "dst", "LEFT"],
        &["LMOVE", "src", "dst", "LEFT", "LEFT", "x"],
        &["RPOPLPUSH", "src"],
        &["RPOPLPUSH", "src", "dst", "x"],
        &["OBJECT", "ENCODING", "dst"],
    ]);
}

#[test]
fn lmpop() {
    if !common::reference_available("lmpop") {
        return;
    }
    run_paused(&[
        &["LMPOP", "1", "nosuch", "LEFT"],
        &["LMPOP", "2", "nosuch", "other", "RIGHT", "COUNT", "3"],
        &["RPUSH", "b", "1", "2", "3", "4", "5"],
        &["RPUSH", "c", "x"],
        // The first keys are missing: the first list found is popped.
        &["LMPOP", "3", "nosuch", "b", "c", "LEFT"],
        &["LMPOP", "3", "nosuch", "b", "c", "RIGHT"],
        &["LMPOP", "2", "b", "c", "left", "count", "2"],
        &["LMPOP", "2", "b", "c", "RIGHT", "COUNT", "10"],
        &["EXISTS", "b"],
        &["TYPE", "b"],
        &["LMPOP", "2", "b", "c", "LEFT", "COUNT", "10"],
        &["EXISTS", "c"],
        &["LMPOP", "2", "b", "c", "LEFT"],
        &["RPUSH", "d", "1", "2"],
        &["LMPOP", "3", "d", "d", "d", "RIGHT"],
        &["LMPOP", "1", "d", "LEFT", "COUNT", "9223372036854775807"],
        // Types: a wrong type stops the scan where it is met, after a missing key, but
        // not after a list that was popped.
        &["SET", "s", "v"],
        &["RPUSH", "e", "1"],
        &["LMPOP", "2", "nosuch", "s", "LEFT"],
        &["LMPOP", "2", "s", "e", "LEFT"],
        &["LMPOP", "2", "e", "s", "LEFT"],
        &["LMPOP", "1", "s", "LEFT", "COUNT", "0"],
        // An expired list counts as missing.
        &["RPUSH", "x", "1"],
        &["RPUSH", "y", "2"],
        &["PEXPIRE", "x", "1"],
        PAUSE,
        &["LMPOP", "2", "x", "y", "LEFT"],
        // Parse errors, in Redis's order.
        &["RPUSH", "l", "a"],
        &["LMPOP", "0", "l", "LEFT"],
        &["LMPOP", "-1", "l", "LEFT"],
        &["LMPOP", "abc", "l", "LEFT"],
        &["LMPOP", "1.5", "l", "LEFT"],
        &["LMPOP", "2", "l", "LEFT"],
        &["LMPOP", "9223372036854775807", "l", "LEFT"],
        &["LMPOP", "1", "l", "MIDDLE"],
        &["LMPOP", "1", "l", "LEFT", "COUNT", "0"],
        &["LMPOP", "1", "l", "LEFT", "COUNT", "-1"],
        &["LMPOP", "1", "l", "LEFT", "COUNT", "x"],
        &["LMPOP", "1", "l", "LEFT", "COUNT"],
        &["LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "1"],
        &["LMPOP", "1", "l", "LEFT", "FOO"],
        &["LMPOP", "1", "l", "LEFT", "FOO", "1"],
        &["LMPOP", "1", "s", "LEFT", "COUNT", "0"],
        &["LMPOP", "1", "s", "MIDDLE"],
        &["LMPOP", "1", "l"],
        &["LMPOP", "1"],
        &["LRANGE", "l", "0", "-1"],
    ]);
}

/// The commands on one connection each, checking `rdb_changes_since_last_save` on both
/// servers after every step.
fn compare_dirty(steps: &[Cmd], ours: &mut Conn, theirs: &mut Conn) {
    let dirty = |conn: &mut Conn| -> String {
        let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "persistence"])).into_owned();
        info.lines()
            .find(|l| l.starts_with("rdb_changes_since_last_save:"))
            .unwrap_or("missing")
            .to_string()
    };
    for step in steps {
        let (a, b) = (ours.cmd(step), theirs.cmd(step));
        assert_eq!(render(&a), render(&b), "{}", render_cmd(step));
        assert_eq!(
            dirty(ours),
            dirty(theirs),
            "dirty after {}",
            render_cmd(step)
        );
    }
}

#[test]
fn changes_since_last_save() {
    if !common::reference_available("list_changes_since_last_save") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    compare_dirty(
        &[
            &["RPUSH", "l", "a", "b", "c", "d", "e", "f", "g", "h"],
            &["LPUSHX", "nosuch", "a", "b"],
            &["RPUSHX", "l", "i", "j"],
            &["LTRIM", "l", "1", "-2"],
            &["LTRIM", "l", "0", "-1"],
            &["LTRIM", "nosuch", "0", "1"],
            &["LREM", "l", "0", "zz"],
            &["LREM", "l", "0", "c"],
            &["LINSERT", "l", "BEFORE", "b", "x"],
            &["LINSERT", "l", "BEFORE", "zz", "x"],
            &["LSET", "l", "0", "q"],
            &["LSET", "l", "100", "q"],
            &["LMOVE", "l", "l", "LEFT", "RIGHT"],
            &["LMOVE", "l", "m", "LEFT", "RIGHT"],
            &["LMOVE", "nosuch", "m", "LEFT", "RIGHT"],
            &["RPOPLPUSH", "l", "m"],
            &["LMPOP", "2", "nosuch", "l", "LEFT", "COUNT", "2"],
            &["LMPOP", "1", "nosuch", "LEFT"],
            &["LPOS", "l", "a"],
            &["LPOP", "m", "0"],
            &["LPOP", "m", "5"],
            &["RPOP", "l"],
            &["LTRIM", "l", "5", "1"],
            &["EXISTS", "l", "m"],
        ],
        &mut ours,
        &mut theirs,
    );
}

#[test]
fn command_info_matches() {
    if !common::reference_available("list_command_info") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let names = [
        "lpush",
        "rpush",
        "lpushx",
        "rpushx",
        "lpop",
        "rpop",
        "llen",
        "lrange",
        "lindex",
        "lset",
        "lrem",
        "ltrim",
        "linsert",
        "lpos",
        "lmove",
        "rpoplpush",
        "lmpop",
    ];
    for name in names {
        // Name, arity, flags, first key, last key, step: redlite leaves out the key specs
        // and tips that follow.
        let head = |conn: &mut Conn| -> Vec<String> {
            let reply = conn.cmd(&["COMMAND", "INFO", name]);
            let entry = array_elements(&reply).remove(0);
            array_elements(&entry)
                .iter()
                .take(6)
                .map(|e| render(e))
                .collect()
        };
        assert_eq!(head(&mut ours), head(&mut theirs), "COMMAND INFO {name}");
    }
}

#[test]
fn keyspace_hits_and_misses() {
    if !common::reference_available("list_keyspace_hits_and_misses") {
        return;
    }
    // Reads count a hit or a miss (a key of the wrong type is a hit); writes count
    // neither, and neither does a read that fails before its lookup.
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let stats = |conn: &mut Conn| -> Vec<String> {
        let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "stats"])).into_owned();
        info.lines()
            .filter(|l| l.starts_with("keyspace_hits:") || l.starts_with("keyspace_misses:"))
            .map(str::to_string)
            .collect()
    };
    let steps: &[Cmd] = &[
        &["RPUSH", "l", "a", "b"],
        &["SET", "s", "v"],
        &["LLEN", "l"],
        &["LLEN", "nosuch"],
        &["LLEN", "s"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "nosuch", "0", "-1"],
        &["LRANGE", "l", "x", "-1"],
        &["LINDEX", "l", "0"],
        &["LINDEX", "nosuch", "0"],
        &["LINDEX", "l", "x"],
        &["LPOS", "l", "a"],
        &["LPOS", "nosuch", "a"],
        &["LPOS", "l", "a", "RANK", "0"],
        &["LPUSHX", "nosuch", "a"],
        &["LSET", "nosuch", "0", "a"],
        &["LREM", "nosuch", "0", "a"],
        &["LTRIM", "l", "0", "-1"],
        &["LINSERT", "l", "BEFORE", "a", "x"],
        &["LMOVE", "l", "m", "LEFT", "LEFT"],
        &["LMPOP", "2", "nosuch", "l", "LEFT"],
        &["LPOP", "nosuch"],
        &["RPOP", "l"],
    ];
    for step in steps {
        let (a, b) = (ours.cmd(step), theirs.cmd(step));
        assert_eq!(render(&a), render(&b), "{}", render_cmd(step));
        assert_eq!(
            stats(&mut ours),
            stats(&mut theirs),
            "after {}",
            render_cmd(step)
        );
    }
}

/// Random words for the list commands: a few keys (one holding a string), a few
/// elements, and indexes and counts around the edges.
struct Gen {
    rng: Rng,
}

impl Gen {
    fn pick(&mut self, from: &[&str]) -> String {
        from[self.rng.below(from.len() as u64) as usize].to_string()
    }

    fn key(&mut self) -> String {
        self.pick(&["l0", "l1", "l2", "l3", "str"])
    }

    fn element(&mut self) -> String {
        self.pick(&["a", "b", "c", "a", "b", "", "1", "-1"])
    }

    fn int(&mut self) -> String {
        self.pick(&[
            "0",
            "1",
            "2",
            "3",
            "-1",
            "-2",
            "-4",
            "10",
            "-10",
            "9223372036854775807",
            "-9223372036854775808",
            "x",
        ])
    }

    fn end(&mut self) -> String {
        self.pick(&["LEFT", "RIGHT", "left", "right", "up"])
    }

    fn command(&mut self) -> Vec<String> {
        let mut c: Vec<String> = match self.rng.below(22) {
            0..=3 => {
                let name = self.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]);
                let mut c = vec![name, self.key()];
                for _ in 0..1 + self.rng.below(4) {
                    c.push(self.element());
                }
                c
            }
            4 | 5 => {
                let mut c = vec![self.pick(&["LPOP", "RPOP"]), self.key()];
                if self.rng.below(2) == 0 {
                    c.push(self.pick(&["0", "1", "2", "5", "-1", "x"]));
                }
                c
            }
            6 => vec!["LLEN".into(), self.key()],
            7 => vec!["LRANGE".into(), self.key(), self.int(), self.int()],
            8 => vec!["LINDEX".into(), self.key(), self.int()],
            9 => vec!["LSET".into(), self.key(), self.int(), self.element()],
            10 => vec!["LREM".into(), self.key(), self.int(), self.element()],
            11 => vec!["LTRIM".into(), self.key(), self.int(), self.int()],
            12 => vec![
                "LINSERT".into(),
                self.key(),
                self.pick(&["BEFORE", "AFTER", "after", "x"]),
                self.element(),
                self.element(),
            ],
            13 | 14 => {
                let mut c = vec!["LPOS".into(), self.key(), self.element()];
                for _ in 0..self.rng.below(4) {
                    let opt = self.pick(&["RANK", "COUNT", "MAXLEN"]);
                    c.extend([opt, self.int()]);
                }
                c
            }
            15 | 16 => vec![
                "LMOVE".into(),
                self.key(),
                self.key(),
                self.end(),
                self.end(),
            ],
            17 => vec!["RPOPLPUSH".into(), self.key(), self.key()],
            18 | 19 => {
                let n = 1 + self.rng.below(3);
                let mut c = vec!["LMPOP".into(), n.to_string()];
                for _ in 0..n {
                    c.push(self.key());
                }
                c.push(self.end());
                if self.rng.below(2) == 0 {
                    c.extend(["COUNT".into(), self.pick(&["1", "2", "10", "0", "x"])]);
                }
                c
            }
            20 => vec!["SET".into(), "str".into(), "v".into()],
            _ => vec!["EXISTS".into(), self.key()],
        };
        // Sometimes break the arity or add a stray word.
        if self.rng.below(30) == 0 && c.len() > 1 {
            c.pop();
        } else if self.rng.below(30) == 0 {
            c.push("extra".into());
        }
        c
    }
}

#[test]
fn random_list_commands_agree_with_redis() {
    if !common::reference_available("random_list_commands_agree_with_redis") {
        return;
    }
    let seed = std::env::var("REDLITE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x11575_u64);
    let (ours_server, theirs_server) = (Server::start(&[]), Reference::start());
    let (mut ours, mut theirs) = (ours_server.conn(), theirs_server.conn());
    let mut gen = Gen {
        rng: Rng::new(seed),
    };
    for i in 0..5_000 {
        let cmd = gen.command();
        let words: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let (a, b) = (ours.cmd(&words), theirs.cmd(&words));
        assert!(
            agree(&words, &a, &b),
            "seed {seed}, command #{i}: {}\n  redlite: {}\n  redis:   {}",
            render_cmd(&words),
            render(&a),
            render(&b)
        );
    }
    // And the same keyspace at the end.
    for key in ["l0", "l1", "l2", "l3", "str"] {
        for cmd in [&["TYPE", key][..], &["LRANGE", key, "0", "-1"]] {
            assert_eq!(render(&ours.cmd(cmd)), render(&theirs.cmd(cmd)));
        }
    }
}
