//! Differential tests for SORT and SORT_RO on sets and sorted sets (lists are covered in
//! `diff_keys.rs`; a few list cases here check the hash-field patterns on them too), and
//! for BY and GET patterns that name hash fields (`h_*->field`).
//!
//! Scripts run on a fresh redlite and a fresh reference redis-server 7.0 and every reply
//! is compared byte for byte, error replies included.
//!
//! What is legitimately unordered is kept out of the byte-for-byte scripts and checked
//! by properties instead: a hashtable-encoded set sorted `BY nosort` comes out in
//! hash-table order (each server's own), and so would ties of ALPHA BY on sets and
//! sorted sets, whose elements go into the sort in hash-table order.

mod common;

use common::array_elements;
use common::diff::{render, run_on, run_script, Cmd, Pair};
use pretty_assertions::assert_eq;

/// Keys shared by the scripts below: weights as strings (`w_*`) and as hash fields
/// (`h_*->f`, `h_*->g`), a string key and a hash key to sort (wrong types).
const FIXTURES: &[Cmd] = &[
    &[
        "MSET", "w_1", "10", "w_2", "5", "w_3", "10", "w_a", "7", "w_b", "-2",
    ],
    &["HSET", "h_1", "f", "30", "g", "one"],
    &["HSET", "h_2", "f", "10", "g", "two"],
    &["HSET", "h_3", "f", "20", "g", "three", "", "empty"],
    &["HSET", "h_a", "f", "1.5", "g", "alpha"],
    &["HSET", "h_b", "f", "bad", "g", "beta"],
    &["SET", "str", "x"],
    &["HSET", "hash", "a", "1"],
];

/// Runs the fixtures, then `script`, on a fresh pair.
fn with_fixtures(script: &[Cmd]) {
    let all: Vec<Cmd> = FIXTURES.iter().chain(script).copied().collect();
    run_script(&all);
}

#[test]
fn sort_sets() {
    if !common::reference_available("sort_sets") {
        return;
    }
    with_fixtures(&[
        // An intset: iterated in ascending order, so even BY nosort is deterministic.
        &["SADD", "is", "5", "3", "10", "-1", "2"],
        &["OBJECT", "ENCODING", "is"],
        &["SORT", "is"],
        &["SORT", "is", "DESC"],
        &["SORT_RO", "is", "LIMIT", "1", "2"],
        &["SORT", "is", "LIMIT", "3", "10", "DESC"],
        &["SORT", "is", "LIMIT", "-3", "2"],
        &["SORT", "is", "LIMIT", "5", "1"],
        &["SORT", "is", "LIMIT", "0", "0"],
        &["SORT", "is", "ALPHA"],
        &["SORT", "is", "ALPHA", "DESC"],
        &["SORT", "is", "BY", "nosort"],
        &["SORT", "is", "BY", "nosort", "DESC"],
        &["SORT", "is", "BY", "nosort", "LIMIT", "1", "3"],
        &["SORT", "is", "BY", "nosort", "LIMIT", "1", "3", "DESC"],
        &["SORT_RO", "is", "BY", "nosort", "GET", "#", "GET", "w_*"],
        // BY nosort with STORE sorts a set ALPHA anyway (so replicas agree).
        &["SORT", "is", "BY", "nosort", "STORE", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        &[
            "SORT", "is", "BY", "nosort", "DESC", "LIMIT", "1", "2", "STORE", "dst",
        ],
        &["LRANGE", "dst", "0", "-1"],
        &["SORT", "is", "BY", "nosort", "GET", "w_*", "STORE", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        // A hashtable set of words: numeric sorting fails, ALPHA works.
        &["SADD", "ws", "b", "a", "d", "c", "ab"],
        &["OBJECT", "ENCODING", "ws"],
        &["SORT", "ws"],
        &["SORT_RO", "ws", "DESC"],
        &["SORT", "ws", "ALPHA"],
        &["SORT", "ws", "ALPHA", "DESC", "LIMIT", "1", "2"],
        &["SORT_RO", "ws", "ALPHA", "LIMIT", "2", "-1"],
        &["SORT", "ws", "BY", "w_*"],
        &["SORT", "ws", "BY", "w_*", "LIMIT", "1", "2"],
        &["SORT", "ws", "BY", "w_*", "DESC", "GET", "#", "GET", "w_*"],
        &["SORT", "ws", "BY", "nosort", "STORE", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        &[
            "SORT", "ws", "BY", "nosort", "LIMIT", "0", "2", "ALPHA", "DESC", "STORE", "dst",
        ],
        &["LRANGE", "dst", "0", "-1"],
        &["SORT", "ws", "ALPHA", "STORE", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        // So does a script (Redis's CLIENT_SCRIPT), without STORE, and by `strcoll`.
        &[
            "EVAL",
            "return redis.call('SORT', KEYS[1], 'BY', 'nosort')",
            "1",
            "ws",
        ],
        &[
            "EVAL",
            "return redis.call('SORT_RO', KEYS[1], 'BY', 'nosort', 'DESC', 'LIMIT', 1, 3)",
            "1",
            "ws",
        ],
        // Numbers and words in one set.
        &["SADD", "mixed", "10", "9", "x", "-1.5"],
        &["SORT", "mixed"],
        &["SORT", "mixed", "ALPHA"],
        &["SREM", "mixed", "x"],
        &["SORT", "mixed"],
        &["SORT", "mixed", "DESC", "LIMIT", "0", "2"],
        // Weights: ties of numeric sorting are broken by the element's bytes.
        &["SADD", "n", "1", "2", "3", "4"],
        &["SORT", "n", "BY", "w_*"],
        &["SORT", "n", "BY", "w_*", "DESC"],
        &["SORT", "n", "BY", "w_*", "LIMIT", "1", "2"],
        &["SORT", "n", "BY", "w_*", "GET", "w_*", "GET", "#"],
        &["SORT", "n", "BY", "w_*", "STORE", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        // The empty result deletes the destination.
        &["SORT", "n", "LIMIT", "10", "1", "STORE", "dst"],
        &["EXISTS", "dst"],
        &["SORT", "nosuch", "BY", "nosort", "STORE", "dst"],
        // A set that lost its members is gone.
        &["SADD", "gone", "1"],
        &["SREM", "gone", "1"],
        &["SORT", "gone"],
    ]);
}

#[test]
fn sort_sorted_sets() {
    if !common::reference_available("sort_sorted_sets") {
        return;
    }
    with_fixtures(&[
        &[
            "ZADD", "z", "3", "a", "1", "b", "2", "c", "10", "d", "2", "bb",
        ],
        &["OBJECT", "ENCODING", "z"],
        // A syntax error comes before the conversion: still a listpack.
        &["SORT", "z", "nope"],
        &["OBJECT", "ENCODING", "z"],
        // Numeric sorting of words fails, but the set was converted already.
        &["SORT_RO", "z"],
        &["OBJECT", "ENCODING", "z"],
        &["SORT", "z", "ALPHA"],
        &["SORT", "z", "ALPHA", "DESC"],
        &["SORT", "z", "ALPHA", "LIMIT", "1", "3"],
        // BY nosort: rank order, DESC from the top, LIMIT taken by rank.
        &["SORT", "z", "BY", "nosort"],
        &["SORT", "z", "BY", "nosort", "DESC"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "1", "2"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "1", "2", "DESC"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "3", "-1"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "3", "-1", "DESC"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "4", "100", "DESC"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "5", "1"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "6", "1"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "-2", "2", "DESC"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "0", "0"],
        &["SORT", "z", "BY", "nosort", "ALPHA"],
        &[
            "SORT_RO", "z", "BY", "nosort", "GET", "#", "GET", "w_*", "GET", "h_*->g",
        ],
        // With STORE a sorted set keeps its order.
        &["SORT", "z", "BY", "nosort", "DESC", "STORE", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        &[
            "SORT", "z", "BY", "nosort", "LIMIT", "2", "2", "STORE", "dst",
        ],
        &["LRANGE", "dst", "0", "-1"],
        &["SORT", "z", "BY", "w_*"],
        &["SORT", "z", "BY", "w_*", "DESC", "LIMIT", "0", "3"],
        &["SORT", "z", "BY", "h_*->f"],
        &["SORT", "z", "BY", "h_*->f", "ALPHA", "GET", "h_*->g"],
        // Numbers.
        &[
            "ZADD", "zn", "1", "10", "2", "5", "3", "7", "4", "-3.5", "5", "1e2",
        ],
        &["SORT", "zn"],
        &["SORT", "zn", "DESC", "LIMIT", "1", "2"],
        &["SORT", "zn", "ALPHA"],
        &["SORT", "zn", "BY", "nosort", "DESC"],
        &["SORT", "zn", "STORE", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        &["TYPE", "dst"],
        // SORT_RO converts too; OBJECT ENCODING of an untouched set stays a listpack.
        &["ZADD", "z2", "1", "x"],
        &["ZADD", "z3", "1", "y"],
        &["SORT_RO", "z2", "ALPHA"],
        &["OBJECT", "ENCODING", "z2"],
        &["OBJECT", "ENCODING", "z3"],
        &["ZADD", "z2", "2", "w"],
        &["OBJECT", "ENCODING", "z2"],
        &["SORT", "z3", "BY", "nosort", "STORE", "z3"],
        &["TYPE", "z3"],
        &["LRANGE", "z3", "0", "-1"],
    ]);
}

#[test]
fn sort_by_and_get_hash_fields() {
    if !common::reference_available("sort_by_and_get_hash_fields") {
        return;
    }
    with_fixtures(&[
        &["SADD", "s", "1", "2", "3"],
        &["RPUSH", "l", "3", "1", "2", "a"],
        &["SORT", "s", "BY", "h_*->f"],
        &["SORT", "s", "BY", "h_*->f", "DESC"],
        &["SORT", "s", "BY", "h_*->f", "LIMIT", "0", "2"],
        &[
            "SORT", "s", "BY", "h_*->f", "GET", "h_*->g", "GET", "#", "GET", "h_*->f",
        ],
        &["SORT", "s", "BY", "h_*->g", "ALPHA"],
        &[
            "SORT", "s", "BY", "h_*->g", "ALPHA", "DESC", "LIMIT", "1", "5",
        ],
        // Missing fields and missing hashes weigh 0 (or sort first with ALPHA).
        &["SORT", "s", "BY", "h_*->nosuch"],
        &["SORT", "s", "BY", "nosuch_*->f", "DESC"],
        &["SORT", "l", "BY", "h_*->f"],
        &["SORT", "l", "BY", "h_*->f", "GET", "h_*->g"],
        &[
            "SORT", "l", "BY", "h_*->g", "ALPHA", "GET", "#", "GET", "h_*->g",
        ],
        &[
            "SORT", "l", "BY", "h_*->f", "LIMIT", "1", "2", "GET", "h_*->g",
        ],
        // A field that is not a number.
        &["RPUSH", "lb", "a", "b"],
        &["SORT", "lb", "BY", "h_*->f"],
        &["SORT", "lb", "BY", "h_*->g"],
        &["SORT", "lb", "BY", "h_*->g", "ALPHA"],
        &["SORT", "lb", "BY", "h_*->f", "ALPHA", "DESC"],
        // `->` on a string key, and a plain pattern on a hash key, name nothing.
        &["SORT", "s", "GET", "w_*->f", "GET", "h_*"],
        &["SORT", "s", "BY", "h_*", "GET", "#"],
        &["SORT", "s", "BY", "w_*->f"],
        // `->` with nothing after it is part of the key name; `->` before the `*` too.
        &["SET", "k_1->", "v1"],
        &["SORT", "s", "GET", "k_*->"],
        &["HSET", "x->1", "f", "xf"],
        &["SET", "x->1->f", "plain"],
        &["SORT", "s", "GET", "x->*->f"],
        &["SORT", "s", "GET", "x->*", "GET", "x->*->"],
        // The field is everything after the first `->` (even another `->`); the empty
        // field exists in h_3.
        &["HSET", "h_1", "a->b", "deep"],
        &["SORT", "s", "GET", "h_*->a->b", "GET", "h_*->a"],
        &["SORT", "s", "BY", "nosort", "GET", "h_*->"],
        // Patterns with the `*` in the middle.
        &["HSET", "pre_2_post", "f", "mid"],
        &["SORT", "s", "GET", "pre_*_post->f"],
        // STORE writes nil GETs as empty strings.
        &[
            "SORT",
            "s",
            "BY",
            "h_*->f",
            "GET",
            "h_*->g",
            "GET",
            "h_*->nosuch",
            "STORE",
            "dst",
        ],
        &["LRANGE", "dst", "0", "-1"],
        &[
            "SORT", "l", "BY", "h_*->f", "DESC", "GET", "h_*->f", "STORE", "dst",
        ],
        &["LRANGE", "dst", "0", "-1"],
        // A hash past the listpack encoding.
        &["CONFIG", "SET", "hash-max-listpack-entries", "2"],
        &["HSET", "h_2", "x", "1", "y", "2"],
        &["OBJECT", "ENCODING", "h_2"],
        &[
            "SORT", "s", "BY", "h_*->f", "GET", "h_*->g", "GET", "h_*->y",
        ],
        &["CONFIG", "SET", "hash-max-listpack-entries", "128"],
    ]);
}

#[test]
fn sort_errors_and_wrong_types() {
    if !common::reference_available("sort_errors_and_wrong_types") {
        return;
    }
    with_fixtures(&[
        &["SORT", "str"],
        &["SORT_RO", "str"],
        &["SORT", "hash"],
        &["SORT", "hash", "BY", "nosort"],
        &["SORT", "hash", "STORE", "dst"],
        // Syntax comes first.
        &["SORT", "str", "nope"],
        &["SORT", "str", "LIMIT", "x", "1"],
        &["SORT_RO", "str", "STORE", "dst"],
        &["SADD", "s", "1", "x"],
        &["SORT", "s"],
        &["SORT", "s", "STORE", "dst"],
        &["SORT", "s", "BY", "h_*->f"],
        &["SADD", "t", "a", "b"],
        &["SORT", "t", "BY", "h_*->f"],
        &["SORT", "t", "BY", "h_*->f", "GET", "#"],
        &["ZADD", "z", "1", "a", "2", "b"],
        &["SORT", "z", "BY", "h_*->f"],
        &["SORT", "z", "STORE", "dst"],
        &["EXISTS", "dst"],
        // An error does not touch the destination.
        &["SET", "dst", "keep"],
        &["SORT", "z", "STORE", "dst"],
        &["GET", "dst"],
        // Key lookups for STORE: SORT of a missing key deletes it; a TTL is dropped.
        &["SORT", "z", "ALPHA", "STORE", "dst"],
        &["TYPE", "dst"],
        &["EXPIRE", "dst", "1000"],
        &["SORT", "z", "ALPHA", "DESC", "STORE", "dst"],
        &["TTL", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        &["SORT", "nosuch", "STORE", "dst"],
        &["EXISTS", "dst"],
    ]);
}

#[test]
fn sort_command_info_has_movablekeys() {
    if !common::reference_available("sort_command_info_has_movablekeys") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    for name in ["sort", "sort_ro"] {
        // Name, arity, flags, first key, last key, step: the head of COMMAND INFO, up to
        // the ACL categories (which redlite derives from its own command groups).
        let head = |c: &mut common::Conn| {
            let reply = c.cmd(&["COMMAND", "INFO", name]);
            let text = render(&reply);
            let categories = text.find("+@").expect("ACL categories");
            let cut = text[..categories].rfind("\\r\\n*").expect("their array") + 4;
            text[..cut].to_string()
        };
        assert_eq!(head(&mut ours), head(&mut theirs), "COMMAND INFO {name}");
    }
}

/// The elements of a SORT reply, sorted (for replies in hash-table order).
fn sorted_elements(reply: &[u8]) -> Vec<Vec<u8>> {
    assert!(reply.starts_with(b"*"), "not an array: {}", render(reply));
    let mut v = array_elements(reply);
    v.sort();
    v
}

#[test]
fn sort_big_sets_and_sorted_sets() {
    if !common::reference_available("sort_big_sets_and_sorted_sets") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    for c in [&mut ours, &mut theirs] {
        let mut sadd = vec!["SADD".to_string(), "big".into()];
        let mut zadd = vec!["ZADD".to_string(), "bz".into()];
        for i in 0..600 {
            sadd.push(format!("{}", (i * 7919) % 1000));
            zadd.push(format!("{}", (i * 31) % 97));
            zadd.push(format!("m{i}"));
            if i % 3 == 0 {
                c.cmd(&[
                    "HSET",
                    &format!("h_{}", (i * 7919) % 1000),
                    "f",
                    &format!("{}", i % 50),
                ]);
            }
        }
        sadd.push("word".into());
        let sadd: Vec<&str> = sadd.iter().map(String::as_str).collect();
        let zadd: Vec<&str> = zadd.iter().map(String::as_str).collect();
        c.cmd(&sadd);
        c.cmd(&zadd);
        c.cmd(&["SREM", "big", "word"]);
    }
    run_on(
        &[
            &["OBJECT", "ENCODING", "big"],
            &["OBJECT", "ENCODING", "bz"],
            &["SORT", "big", "LIMIT", "0", "10"],
            &["SORT", "big", "DESC", "LIMIT", "100", "10"],
            &["SORT", "big", "ALPHA", "LIMIT", "0", "10"],
            &["SORT", "big", "BY", "h_*->f", "LIMIT", "5", "10"],
            &[
                "SORT", "big", "BY", "h_*->f", "DESC", "LIMIT", "0", "20", "GET", "#", "GET",
                "h_*->f",
            ],
            &["SORT", "big", "BY", "h_*->f", "LIMIT", "590", "100"],
            &["SORT", "big", "BY", "nosort", "STORE", "dst"],
            &["LRANGE", "dst", "0", "5"],
            &["LRANGE", "dst", "-5", "-1"],
            &["SORT", "bz", "BY", "nosort", "LIMIT", "100", "5"],
            &["SORT", "bz", "BY", "nosort", "DESC", "LIMIT", "100", "5"],
            &["SORT", "bz", "BY", "nosort", "DESC", "LIMIT", "595", "10"],
            &["SORT", "bz", "ALPHA", "LIMIT", "300", "5"],
            &["SORT", "bz", "ALPHA", "DESC", "LIMIT", "0", "5"],
            &[
                "SORT", "bz", "BY", "nosort", "LIMIT", "0", "600", "STORE", "dst",
            ],
            &["LRANGE", "dst", "590", "-1"],
        ],
        &mut ours,
        &mut theirs,
    );
    // A hashtable set BY nosort: hash-table order, so only the elements are compared.
    for cmd in [
        &["SORT", "big", "BY", "nosort"][..],
        &["SORT_RO", "big", "BY", "nosort", "DESC"],
        &["SORT", "big", "BY", "nosort", "GET", "#"],
    ] {
        let (a, b) = (ours.cmd(cmd), theirs.cmd(cmd));
        assert_eq!(sorted_elements(&a), sorted_elements(&b), "{cmd:?}");
        assert_eq!(array_elements(&a).len(), 600);
    }
    // With a LIMIT, the same count of distinct members.
    let cmd = &["SORT", "big", "BY", "nosort", "LIMIT", "10", "30"];
    let (a, b) = (ours.cmd(cmd), theirs.cmd(cmd));
    assert_eq!(array_elements(&a).len(), array_elements(&b).len());
    assert_eq!(array_elements(&a).len(), 30);
}
