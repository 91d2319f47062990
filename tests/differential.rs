//! Differential tests: the same scripts of commands run on a fresh redlite and on a fresh
//! reference redis-server 7.0, and every reply is compared byte for byte (rendered with
//! `\r\n` and non-printable bytes escaped, so a diff is readable).
//!
//! One test per command family (connection/server, strings, keys and expiry, lists), plus
//! raw-protocol cases (inline commands, quoting, protocol errors and the connection close
//! that follows them). Error replies are covered as carefully as successes: wrong arity,
//! wrong type, non-integers, overflow, syntax errors and option conflicts.
//!
//! Only replies that legitimately differ are not compared byte for byte, each with its
//! reason next to it: KEYS (unspecified order: compared as sorted sets), PTTL (the clocks
//! of two servers: compared within a tolerance) and HELLO (the client id). RESP3 replies
//! are compared in `tests/resp3.rs`.

mod common;

use std::io::{ErrorKind, Read};
use std::time::Duration;

use common::diff::{render, render_cmd, run_on, run_script, Cmd, Pair};
use common::{array_elements, Conn, Server};
use pretty_assertions::assert_eq;

/// A 150-byte argument, to check how unknown-command errors cut long arguments.
const LONG_ARG: &str = concat!(
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "cccccccccccccccccccccccccccccccccccccccccccccccccc",
);

#[test]
fn connection_and_server() {
    if !common::reference_available("connection_and_server") {
        return;
    }
    run_script(&[
        // PING and ECHO, any case.
        &["PING"],
        &["ping"],
        &["PiNg"],
        &["PING", "hello"],
        &["PING", ""],
        &["PING", "a", "b"],
        &["ECHO", "hi"],
        &["echo", ""],
        &["ECHO"],
        &["ECHO", "a", "b"],
        // SELECT keeps databases apart.
        &["SELECT", "1"],
        &["SET", "k", "db1"],
        &["DBSIZE"],
        &["SELECT", "0"],
        &["GET", "k"],
        &["DBSIZE"],
        &["SET", "k", "db0"],
        &["SET", "k2", "v"],
        &["DBSIZE"],
        &["dbsize"],
        &["DBSIZE", "extra"],
        &["SELECT", "15"],
        &["DBSIZE"],
        &["SELECT", "16"],
        &["SELECT", "-1"],
        &["SELECT", "abc"],
        &["SELECT", "1.5"],
        &["SELECT", "01"],
        &["SELECT", "+1"],
        &["SELECT", " 1"],
        &["SELECT", ""],
        &["SELECT", "4294967296"],
        &["SELECT", "99999999999999999999"],
        &["SELECT"],
        &["SELECT", "1", "2"],
        &["select", "0"],
        &["GET", "k"],
        // FLUSHDB empties only the selected database.
        &["FLUSHDB"],
        &["DBSIZE"],
        &["SELECT", "1"],
        &["GET", "k"],
        &["FLUSHDB", "ASYNC"],
        &["GET", "k"],
        &["FLUSHDB", "sync"],
        &["FLUSHDB", "Async"],
        &["FLUSHDB", "bad"],
        &["FLUSHDB", "SYNC", "ASYNC"],
        // FLUSHALL empties every database.
        &["SET", "k", "v"],
        &["SELECT", "0"],
        &["SET", "k", "v"],
        &["FLUSHALL"],
        &["DBSIZE"],
        &["SELECT", "1"],
        &["DBSIZE"],
        &["FLUSHALL", "ASYNC"],
        &["FLUSHALL", "SYNC"],
        &["flushall", "async"],
        &["FLUSHALL", "nope"],
        &["FLUSHALL", "SYNC", "ASYNC"],
        // HELLO errors (HELLO 3 is checked in `hello_3_switches_to_resp3`; successful HELLO
        // replies carry the client id and are checked in `hello_reply`).
        &["HELLO", "4"],
        &["HELLO", "1"],
        &["HELLO", "0"],
        &["HELLO", "-1"],
        &["HELLO", "abc"],
        &["HELLO", "2.0"],
        &["HELLO", "99999999999999999999"],
        &["HELLO", "2", "SETNAME", "bad name"],
        &["HELLO", "2", "SETNAME", "new\nline"],
        &["HELLO", "2", "FOO"],
        &["HELLO", "2", "SETNAME"],
        &["HELLO", "2", "AUTH", "default"],
        &["HELLO", "2", "AUTH", "nosuchuser", "pw"],
        &["hello", "4", "FOO"],
        // CLIENT SETNAME / GETNAME.
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME", "foo"],
        &["CLIENT", "GETNAME"],
        &["client", "getname"],
        &["Client", "SetName", "bar"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME", ""],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME", "a b"],
        &["CLIENT", "SETNAME", "a\nb"],
        &["CLIENT", "SETNAME", "caf\u{e9}"],
        &["CLIENT", "SETNAME", "!~"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME", "\x7f"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME"],
        &["CLIENT", "SETNAME", "a", "b"],
        &["CLIENT", "GETNAME", "x"],
        // CLIENT ID is a per-process counter: not compared.
        &["CLIENT", "ID", "x"],
        &["CLIENT", "FOO"],
        &["CLIENT", "foo", "bar"],
        &["CLIENT"],
        &["CONFIG", "FOO"],
        &["config", "nosuch", "x"],
        &["CONFIG"],
        &["CONFIG", "GET"],
        &["CONFIG", "SET", "maxmemory"],
        // COMMAND COUNT differs (redlite implements fewer commands): not compared.
        &["COMMAND", "NOSUCH"],
        // TIME's value is the clock: only its arity error is compared.
        &["TIME", "x"],
        // Unknown commands: the name and the first arguments are quoted back, cut short.
        &["FOO"],
        &["FOO", "a", "b"],
        &["foo", "", "x"],
        &["NOSUCHCOMMAND", LONG_ARG, LONG_ARG],
        &[LONG_ARG, "x"],
        &[""],
        // Error texts never carry a raw CR or LF (Redis maps them to spaces), and a NUL
        // ends an argument quoted in an error, as C's %s does.
        &["FOO", "a\r\nb", "c\nd"],
        &["FOO", "a\0b", "c"],
        &["CLIENT", "x\ny"],
        &["HELLO", "2", "x\r\ny"],
        &["EXPIRE", "k", "100", "x\ny"],
        &["ECHO", "binary\r\n\0payload"],
    ]);
}

/// `HELLO 3` switches the connection to RESP3 (a map reply, `_` nulls) until `HELLO 2`.
/// RESP3 replies are compared with Redis's in `tests/resp3.rs`. Needs no reference server.
#[test]
fn hello_3_switches_to_resp3() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    assert!(c.cmd(&["HELLO", "3"]).starts_with(b"%7\r\n"));
    assert_eq!(render(&c.cmd(&["GET", "nokey"])), render(b"_\r\n"));
    assert!(c.cmd(&["HELLO", "2"]).starts_with(b"*14\r\n"));
    assert_eq!(render(&c.cmd(&["GET", "nokey"])), render(b"$-1\r\n"));
}

/// HELLO's successful reply, compared with the client id's value masked (it is a
/// per-process counter), followed by the name it set.
#[test]
fn hello_reply() {
    if !common::reference_available("hello_reply") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let masked = |reply: Vec<u8>| -> Vec<String> {
        let mut elements = array_elements(&reply);
        let id_at = elements.iter().position(|e| e == b"$2\r\nid\r\n");
        if let Some(i) = id_at {
            elements[i + 1] = b"<id>".to_vec();
        }
        std::iter::once(render(
            &reply[..reply.iter().position(|&b| b == b'\n').unwrap() + 1],
        ))
        .chain(elements.iter().map(|e| render(e)))
        .collect()
    };
    let hellos: &[Cmd] = &[
        &["HELLO"],
        &["HELLO", "2"],
        &["hello", "2", "SETNAME", "named"],
        &[
            "HELLO", "2", "AUTH", "default", "anything", "SETNAME", "other",
        ],
    ];
    for cmd in hellos {
        assert_eq!(
            masked(ours.cmd(cmd)),
            masked(theirs.cmd(cmd)),
            "{} (left: redlite, right: redis)",
            render_cmd(cmd)
        );
    }
    run_on(&[&["CLIENT", "GETNAME"]], &mut ours, &mut theirs);
}

#[test]
fn strings() {
    if !common::reference_available("strings") {
        return;
    }
    run_script(&[
        // SET and GET.
        &["SET", "k", "v"],
        &["GET", "k"],
        &["get", "k"],
        &["GET", "missing"],
        &["SET", "k"],
        &["GET"],
        &["GET", "a", "b"],
        &["set", "empty", ""],
        &["GET", "empty"],
        // NX / XX / GET.
        &["SET", "k", "v2", "NX"],
        &["GET", "k"],
        &["SET", "k", "v2", "XX"],
        &["GET", "k"],
        &["SET", "new", "v", "XX"],
        &["EXISTS", "new"],
        &["SET", "new", "v", "nx"],
        &["GET", "new"],
        &["SET", "k", "v3", "GET"],
        &["SET", "fresh", "v", "GET"],
        &["GET", "fresh"],
        &["SET", "k", "v4", "NX", "GET"],
        &["SET", "k", "v5", "XX", "GET"],
        &["SET", "absent", "v", "XX", "GET"],
        &["EXISTS", "absent"],
        &["SET", "k", "v", "NX", "NX"],
        &["SET", "k", "v", "XX", "XX"],
        &["SET", "k", "v", "GET", "GET"],
        &["SET", "k", "v", "NX", "XX"],
        &["SET", "k", "v", "XX", "NX"],
        &["SET", "k", "v", "FOO"],
        &["SET", "k", "v", "E", "10"],
        // Expiry options.
        &["SET", "k", "v", "EX", "100"],
        &["TTL", "k"],
        &["SET", "k", "v", "ex", "100"],
        &["TTL", "k"],
        &["SET", "k", "v", "PX", "100000"],
        &["TTL", "k"],
        &["PTTL", "k"],
        &["SET", "k", "v", "EX", "10", "EX", "100"],
        &["TTL", "k"],
        &["SET", "k", "v", "PX", "10", "PX", "100000"],
        &["TTL", "k"],
        &["SET", "k", "v2", "KEEPTTL"],
        &["TTL", "k"],
        &["SET", "k", "v2", "KeepTtl", "gEt"],
        &["TTL", "k"],
        &["SET", "k", "v2", "Px", "100000", "Nx"],
        &["TTL", "k"],
        &["SET", "k", "v2", "GET", "pX", "100000", "xX"],
        &["TTL", "k"],
        &["GET", "k"],
        &["SET", "k", "v3"],
        &["TTL", "k"],
        &["SET", "k", "v", "EXAT", "4102444800"],
        &["PTTL", "k"],
        &["SET", "k", "v", "PXAT", "4102444800000"],
        &["PTTL", "k"],
        &["SET", "k", "v", "KEEPTTL", "KEEPTTL"],
        &["PTTL", "k"],
        &["SET", "past", "v", "EXAT", "1"],
        &["GET", "past"],
        &["EXISTS", "past"],
        &["SETNX", "past", "again"],
        &["GET", "past"],
        &["SET", "past", "v", "PXAT", "1"],
        &["GETDEL", "past"],
        &["SET", "past", "v", "PXAT", "1"],
        &["APPEND", "past", "x"],
        &["GET", "past"],
        &["SET", "past", "v", "PXAT", "1"],
        &["INCR", "past"],
        &["SET", "past", "v", "PXAT", "1"],
        &["SET", "past", "w", "GET"],
        &["SET", "past", "v", "PXAT", "1"],
        &["SET", "past", "w", "XX"],
        &["SET", "past", "v", "PXAT", "1"],
        &["STRLEN", "past"],
        &["MGET", "past"],
        &["SET", "past", "v", "PXAT", "1"],
        &["GET", "past"],
        // Whether that read reclaimed the key is checked in `keys_and_expiry`; DEL makes
        // the DBSIZE at the end independent of it.
        &["DEL", "past"],
        &["SET", "k", "v", "EX", "0"],
        &["SET", "k", "v", "EX", "-1"],
        &["SET", "k", "v", "PX", "0"],
        &["SET", "k", "v", "EXAT", "0"],
        &["SET", "k", "v", "PXAT", "-5"],
        &["SET", "k", "v", "EX", "abc"],
        &["SET", "k", "v", "EX", "1.5"],
        &["SET", "k", "v", "EX", ""],
        &["SET", "k", "v", "PX", "9223372036854775807"],
        &["SET", "k", "v", "EX", "9223372036854775807"],
        &["SET", "k", "v", "EX", "9223372036854775"],
        &["SET", "k", "v", "EX", "9223372036854776"],
        &["SET", "k", "v", "PXAT", "9223372036854775807"],
        &["SET", "k", "v", "EX", "99999999999999999999"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "PX"],
        &["SET", "k", "v", "EXAT"],
        &["SET", "k", "v", "NX", "EX"],
        &["SET", "k", "v", "EX", "10", "PX", "100"],
        &["SET", "k", "v", "PX", "100", "EX", "10"],
        &["SET", "k", "v", "EX", "10", "EXAT", "4102444800"],
        &["SET", "k", "v", "PXAT", "1", "EXAT", "1"],
        &["SET", "k", "v", "KEEPTTL", "EX", "10"],
        &["SET", "k", "v", "EX", "10", "KEEPTTL"],
        &["SET", "k", "v", "PXAT", "4102444800000", "KEEPTTL"],
        &["SET", "k", "v", "EX", "10", "FOO"],
        &["SET", "k", "v", "EX", "abc", "NX", "XX"],
        &["SET", "k", "v", "NX", "XX", "EX", "abc"],
        // GET on a key of another type.
        &["RPUSH", "list", "a", "b"],
        &["SET", "list", "v", "GET"],
        &["TYPE", "list"],
        &["GET", "list"],
        &["SET", "list", "v", "GET", "EX", "0"],
        &["SET", "list", "v", "NX", "GET"],
        &["SET", "list", "v", "XX", "GET"],
        &["SET", "list", "v"],
        &["TYPE", "list"],
        // GETDEL.
        &["SET", "gd", "val"],
        &["GETDEL", "gd"],
        &["EXISTS", "gd"],
        &["GETDEL", "gd"],
        &["RPUSH", "gdl", "x"],
        &["GETDEL", "gdl"],
        &["EXISTS", "gdl"],
        &["GETDEL"],
        &["GETDEL", "a", "b"],
        // MGET and MSET.
        &["MSET", "m1", "1", "m2", "2"],
        &["MGET", "m1", "m2", "nosuch", "gdl", "m1"],
        &["mget", "nosuch"],
        &["MGET"],
        &["MSET", "m1"],
        &["MSET", "m1", "a", "m2"],
        &["MSET", "m1", "x", "m1", "y"],
        &["GET", "m1"],
        &["MSET", "gdl", "now-a-string"],
        &["TYPE", "gdl"],
        // SETNX, SETEX, PSETEX.
        &["SETNX", "sn", "1"],
        &["SETNX", "sn", "2"],
        &["GET", "sn"],
        &["SETNX", "sn"],
        &["SETNX", "sn", "1", "2"],
        &["SETEX", "se", "100", "v"],
        &["TTL", "se"],
        &["GET", "se"],
        &["SETEX", "se", "0", "v"],
        &["SETEX", "se", "-5", "v"],
        &["SETEX", "se", "abc", "v"],
        &["SETEX", "se", "9223372036854775807", "v"],
        &["SETEX", "se", "9223372036854775", "v"],
        &["SETEX", "se", "9223372036854776", "v"],
        &["TTL", "se"],
        &["setex", "se", "200", "v"],
        &["TTL", "se"],
        &["SETEX", "se", "100"],
        &["SETEX", "list2", "100", "v"],
        &["PSETEX", "pse", "100000", "v"],
        &["TTL", "pse"],
        &["PTTL", "pse"],
        &["PSETEX", "pse", "0", "v"],
        &["PSETEX", "pse", "-1", "v"],
        &["PSETEX", "pse", "1e3", "v"],
        &["PSETEX", "pse", "9223372036854775807", "v"],
        &["PSETEX", "pse", "100"],
        // INCR family.
        &["INCR", "n"],
        &["INCR", "n"],
        &["DECR", "n"],
        &["INCRBY", "n", "10"],
        &["DECRBY", "n", "3"],
        &["INCRBY", "n", "-20"],
        &["DECRBY", "n", "-5"],
        &["GET", "n"],
        &["DECR", "fresh-counter"],
        &["INCRBY", "fresh-counter2", "5"],
        &["incr", "n"],
        &["InCrBy", "n", "0"],
        &["INCR"],
        &["INCR", "a", "b"],
        &["INCRBY", "n"],
        &["DECRBY", "n", "1", "2"],
        &["INCRBY", "n", "abc"],
        &["INCRBY", "n", "1.5"],
        &["INCRBY", "n", ""],
        &["INCRBY", "n", " 1"],
        &["INCRBY", "n", "01"],
        &["INCRBY", "n", "+1"],
        &["INCRBY", "n", "9223372036854775808"],
        &["DECRBY", "n", "abc"],
        &["SET", "s", "abc"],
        &["INCR", "s"],
        &["DECR", "s"],
        &["INCRBY", "s", "1"],
        &["SET", "s", " 1"],
        &["INCR", "s"],
        &["SET", "s", "1 "],
        &["INCR", "s"],
        &["SET", "s", "01"],
        &["INCR", "s"],
        &["SET", "s", "+1"],
        &["INCR", "s"],
        &["SET", "s", "-0"],
        &["INCR", "s"],
        &["SET", "s", "1.0"],
        &["INCR", "s"],
        &["SET", "s", ""],
        &["INCR", "s"],
        &["SET", "s", "12345678901234567890"],
        &["INCR", "s"],
        &["SET", "s", "-10"],
        &["INCR", "s"],
        &["GET", "s"],
        &["SET", "max", "9223372036854775807"],
        &["INCR", "max"],
        &["INCRBY", "max", "1"],
        &["DECR", "max"],
        &["GET", "max"],
        &["SET", "min", "-9223372036854775808"],
        &["DECR", "min"],
        &["DECRBY", "min", "1"],
        &["INCRBY", "min", "-1"],
        &["INCR", "min"],
        &["GET", "min"],
        &["SET", "z", "0"],
        &["DECRBY", "z", "-9223372036854775808"],
        &["INCRBY", "z", "-9223372036854775808"],
        &["DECRBY", "z", "9223372036854775807"],
        &["DECRBY", "z", "2"],
        &["INCRBY", "z", "9223372036854775807"],
        &["GET", "z"],
        &["INCR", "gdl-list"],
        &["RPUSH", "ilist", "1"],
        &["INCR", "ilist"],
        &["DECRBY", "ilist", "1"],
        // INCR keeps the key's TTL.
        &["SET", "tn", "5", "EX", "100"],
        &["INCR", "tn"],
        &["TTL", "tn"],
        // APPEND and STRLEN.
        &["APPEND", "ap", "Hello"],
        &["APPEND", "ap", " World"],
        &["GET", "ap"],
        &["STRLEN", "ap"],
        &["APPEND", "ap", ""],
        &["STRLEN", "nosuch"],
        &["APPEND", "num", "1"],
        &["INCR", "num"],
        &["APPEND", "num", "0"],
        &["GET", "num"],
        &["INCR", "num"],
        &["STRLEN", "num"],
        &["SET", "ttl-ap", "a", "EX", "100"],
        &["APPEND", "ttl-ap", "b"],
        &["TTL", "ttl-ap"],
        &["APPEND", "ilist", "x"],
        &["STRLEN", "ilist"],
        &["APPEND", "ap"],
        &["STRLEN"],
        &["STRLEN", "a", "b"],
        &["append", "ap", "!"],
        &["strlen", "ap"],
        &["KEYS", "*"],
        &["DBSIZE"],
    ]);
}

#[test]
fn keys_and_expiry() {
    if !common::reference_available("keys_and_expiry") {
        return;
    }
    run_script(&[
        // DEL, EXISTS, TYPE.
        &["MSET", "a", "1", "b", "2", "c", "3"],
        &["RPUSH", "l", "x"],
        &["EXISTS", "a"],
        &["EXISTS", "a", "a", "b", "nosuch", "l"],
        &["exists", "nosuch"],
        &["EXISTS"],
        &["TYPE", "a"],
        &["TYPE", "l"],
        &["TYPE", "nosuch"],
        &["type", "a"],
        &["TYPE"],
        &["TYPE", "a", "b"],
        &["DEL", "a", "a", "nosuch"],
        &["DEL", "b", "c", "l"],
        &["DEL", "nosuch"],
        &["del", "nosuch", "nosuch"],
        &["DEL"],
        &["DBSIZE"],
        // KEYS with glob patterns (compared as sets).
        &[
            "MSET", "hello", "1", "hallo", "1", "hillo", "1", "hbllo", "1", "hllo", "1", "heeello",
            "1", "h*llo", "1", "h?llo", "1", "h[llo", "1", "h\\llo", "1", "x", "1", "", "1",
        ],
        &["KEYS", "*"],
        &["KEYS", "h?llo"],
        &["KEYS", "h[ae]llo"],
        &["KEYS", "h[^e]llo"],
        &["KEYS", "h[a-b]llo"],
        &["KEYS", "h[b-a]llo"],
        &["KEYS", "h*llo"],
        &["KEYS", "h\\*llo"],
        &["KEYS", "h\\?llo"],
        &["KEYS", "h\\[llo"],
        &["KEYS", "h\\\\llo"],
        &["KEYS", "h[\\[]llo"],
        &["KEYS", "h[*?]llo"],
        &["KEYS", "*llo"],
        &["KEYS", "h*"],
        &["KEYS", "?"],
        &["KEYS", "HELLO"],
        &["KEYS", "hello"],
        &["KEYS", "nomatch*"],
        &["KEYS", ""],
        &["KEYS", "**"],
        &["KEYS", "h[a-"],
        &["KEYS", "h[ae"],
        &["KEYS", "h[^"],
        &["KEYS", "h[]llo"],
        &["KEYS", "[h]*"],
        &["KEYS", "*o\\"],
        &["KEYS", "x\\"],
        &["keys", "x"],
        &["KEYS"],
        &["KEYS", "a", "b"],
        &["FLUSHDB"],
        // EXPIRE and TTL.
        &["SET", "k", "v"],
        &["TTL", "k"],
        &["PTTL", "k"],
        &["TTL", "nosuch"],
        &["PTTL", "nosuch"],
        &["EXPIRE", "k", "100"],
        &["TTL", "k"],
        &["PTTL", "k"],
        &["expire", "k", "200"],
        &["TTL", "k"],
        &["EXPIRE", "nosuch", "100"],
        &["EXPIRE", "k"],
        &["EXPIRE", "k", "abc"],
        &["EXPIRE", "k", "1.5"],
        &["EXPIRE", "k", ""],
        &["EXPIRE", "k", "9223372036854775807"],
        &["EXPIRE", "k", "-9223372036854775808"],
        &["EXPIRE", "k", "9223372036854775"],
        &["EXPIRE", "k", "9223372036854776"],
        &["EXPIRE", "k", "9223372036854000"],
        &["PEXPIRE", "k", "9223372036854775807"],
        &["PEXPIREAT", "k", "9223372036854775807"],
        &["EXPIREAT", "k", "9223372036854775807"],
        &["EXPIRE", "k", "99999999999999999999"],
        &["TTL", "k"],
        // NX / XX / GT / LT.
        &["EXPIRE", "k", "300", "NX"],
        &["EXPIRE", "k", "300", "XX"],
        &["TTL", "k"],
        &["EXPIRE", "k", "100", "GT"],
        &["EXPIRE", "k", "400", "GT"],
        &["TTL", "k"],
        &["EXPIRE", "k", "500", "LT"],
        &["EXPIRE", "k", "50", "lt"],
        &["TTL", "k"],
        &["EXPIRE", "k", "40", "GT", "XX"],
        &["EXPIRE", "k", "40", "LT", "XX"],
        &["TTL", "k"],
        &["SET", "p", "v"],
        &["EXPIRE", "p", "100", "XX"],
        &["EXPIRE", "p", "100", "GT"],
        &["EXPIRE", "p", "100", "LT"],
        &["TTL", "p"],
        &["PERSIST", "p"],
        &["EXPIRE", "p", "100", "NX"],
        &["TTL", "p"],
        &["EXPIRE", "nosuch", "100", "NX"],
        &["EXPIRE", "k", "100", "NX", "XX"],
        &["EXPIRE", "k", "100", "NX", "GT"],
        &["EXPIRE", "k", "100", "LT", "NX"],
        &["EXPIRE", "k", "100", "GT", "LT"],
        &["EXPIRE", "k", "100", "NX", "GT", "LT"],
        &["EXPIRE", "k", "100", "XX", "XX"],
        &["EXPIRE", "k", "100", "NX", "NX"],
        &["EXPIRE", "k", "1000", "GT", "GT"],
        &["TTL", "k"],
        &["EXPIRE", "k", "100", "FOO"],
        &["EXPIRE", "k", "100", "nx", "bar"],
        &["EXPIRE", "k", "abc", "FOO"],
        &["EXPIRE", "k", "abc", "NX", "XX"],
        &["EXPIRE", "nosuch", "100", "FOO"],
        &["PEXPIRE", "k", "100", "FOO"],
        &["EXPIREAT", "k", "100", "GT", "LT"],
        &["PEXPIREAT", "k", "100", "NX", "LT"],
        // PEXPIRE, EXPIREAT, PEXPIREAT.
        &["PEXPIRE", "k", "100000"],
        &["TTL", "k"],
        &["PTTL", "k"],
        &["PEXPIRE", "k", "abc"],
        &["PEXPIRE", "k"],
        &["EXPIREAT", "k", "4102444800"],
        &["PTTL", "k"],
        &["EXPIREAT", "k", "4102444801", "GT"],
        &["EXPIREAT", "k", "4102444700", "GT"],
        &["PTTL", "k"],
        &["PEXPIREAT", "k", "4102444800000"],
        &["PTTL", "k"],
        &["PEXPIREAT", "k", "4102444799000", "LT"],
        &["PTTL", "k"],
        &["EXPIREAT", "nosuch", "4102444800"],
        &["PEXPIREAT", "nosuch", "4102444800000"],
        &["EXPIREAT", "k", "abc"],
        &["PEXPIREAT", "k", "1.5"],
        &["EXPIREAT", "k"],
        &["PEXPIREAT", "k"],
        // Times already past delete the key (and still answer 1).
        &["SET", "d1", "v"],
        &["EXPIRE", "d1", "-1"],
        &["EXISTS", "d1"],
        &["SET", "d2", "v"],
        &["EXPIRE", "d2", "0"],
        &["GET", "d2"],
        &["SET", "d3", "v"],
        &["PEXPIRE", "d3", "-100"],
        &["EXISTS", "d3"],
        &["SET", "d4", "v"],
        &["EXPIREAT", "d4", "1"],
        &["EXISTS", "d4"],
        &["SET", "d5", "v"],
        &["PEXPIREAT", "d5", "0"],
        &["EXISTS", "d5"],
        &["SET", "d6", "v"],
        &["EXPIREAT", "d6", "-9223372036854775"],
        &["TYPE", "d6"],
        &["SET", "d6", "v"],
        &["PEXPIRE", "d6", "-9223372036854775808"],
        &["EXISTS", "d6"],
        &["SET", "d6", "v"],
        &["EXPIRE", "d6", "-9223372036854775"],
        &["EXISTS", "d6"],
        &["SET", "d6", "v"],
        &["EXPIRE", "d6", "-9223372036854776"],
        &["EXISTS", "d6"],
        &["SET", "d6", "v"],
        &["EXPIREAT", "d6", "4102444800", "NX"],
        &["EXPIREAT", "d6", "4102444800", "NX"],
        &["EXPIREAT", "d6", "4102444800", "GT"],
        &["EXPIREAT", "d6", "4102444800", "LT"],
        &["PEXPIREAT", "d6", "4102444800000", "XX"],
        &["DEL", "d6"],
        &["SET", "d7", "v", "EX", "100"],
        &["EXPIRE", "d7", "-1", "LT"],
        &["EXISTS", "d7"],
        &["SET", "d8", "v", "EX", "100"],
        &["EXPIRE", "d8", "-1", "GT"],
        &["EXISTS", "d8"],
        &["SET", "d9", "v"],
        &["EXPIRE", "d9", "-1", "LT"],
        &["EXISTS", "d9"],
        &["SET", "d10", "v"],
        &["EXPIRE", "d10", "-1", "XX"],
        &["EXISTS", "d10"],
        // Reading an expired key reclaims it at once (expireIfNeeded), so DBSIZE drops.
        &["DBSIZE"],
        &["SET", "gone", "v", "PXAT", "1"],
        &["GET", "gone"],
        &["DBSIZE"],
        &["SET", "gone2", "v", "EXAT", "1"],
        &["EXISTS", "gone2"],
        &["DBSIZE"],
        &["SET", "gone3", "v", "PXAT", "1"],
        &["TTL", "gone3"],
        &["DBSIZE"],
        // Gone either way, so the DBSIZE at the end does not depend on the above.
        &["DEL", "gone", "gone2", "gone3"],
        &["SET", "gone4", "v", "PXAT", "1"],
        &["EXPIRE", "gone4", "100"],
        &["PERSIST", "gone4"],
        &["TYPE", "gone4"],
        &["KEYS", "gone*"],
        &["EXPIRE", "k", "100", "Gt", "xX"],
        &["RPUSH", "lk", "a"],
        &["EXPIRE", "lk", "100"],
        &["TTL", "lk"],
        &["EXPIRE", "lk", "-1"],
        &["EXISTS", "lk"],
        // TTL, PTTL, PERSIST.
        &["TTL"],
        &["TTL", "a", "b"],
        &["PTTL"],
        &["SET", "ps", "v", "EX", "100"],
        &["PERSIST", "ps"],
        &["TTL", "ps"],
        &["PERSIST", "ps"],
        &["PERSIST", "nosuch"],
        &["persist", "ps"],
        &["PERSIST"],
        &["PERSIST", "a", "b"],
        &["SET", "ps", "v2", "EX", "100"],
        &["SET", "ps", "v3"],
        &["PERSIST", "ps"],
        &["DBSIZE"],
    ]);
}

#[test]
fn lists() {
    if !common::reference_available("lists") {
        return;
    }
    run_script(&[
        // Pushes.
        &["LPUSH", "l", "a"],
        &["LPUSH", "l", "b", "c"],
        &["RPUSH", "l", "d", "e", "f"],
        &["rpush", "l", "g"],
        &["LRANGE", "l", "0", "-1"],
        &["LLEN", "l"],
        &["LPUSH", "l"],
        &["RPUSH"],
        &["LPUSH", "l", ""],
        &["LPOP", "l"],
        // LRANGE indexes.
        &["LRANGE", "l", "0", "0"],
        &["LRANGE", "l", "1", "3"],
        &["LRANGE", "l", "-3", "-1"],
        &["LRANGE", "l", "-100", "100"],
        &["LRANGE", "l", "-100", "-50"],
        &["LRANGE", "l", "5", "2"],
        &["LRANGE", "l", "-1", "-3"],
        &["LRANGE", "l", "7", "10"],
        &["LRANGE", "l", "6", "6"],
        &["LRANGE", "l", "0", "-8"],
        &["LRANGE", "l", "0", "-7"],
        &["LRANGE", "l", "-9223372036854775808", "9223372036854775807"],
        &["LRANGE", "l", "9223372036854775807", "-9223372036854775808"],
        &["LRANGE", "l", "abc", "1"],
        &["LRANGE", "l", "0", "1.5"],
        &["LRANGE", "l", "0", "99999999999999999999"],
        &["LRANGE", "l", "0"],
        &["LRANGE", "l", "0", "1", "2"],
        &["LRANGE", "nosuch", "0", "-1"],
        &["LRANGE", "nosuch", "x", "-1"],
        // LINDEX.
        &["LINDEX", "l", "0"],
        &["LINDEX", "l", "-1"],
        &["LINDEX", "l", "6"],
        &["LINDEX", "l", "7"],
        &["LINDEX", "l", "-7"],
        &["LINDEX", "l", "-8"],
        &["LINDEX", "l", "9223372036854775807"],
        &["LINDEX", "l", "-9223372036854775808"],
        &["LINDEX", "l", "abc"],
        &["LINDEX", "l", ""],
        &["LINDEX", "nosuch", "0"],
        &["LINDEX", "nosuch", "abc"],
        &["LINDEX", "l"],
        &["lindex", "l", "1"],
        // LLEN.
        &["LLEN", "nosuch"],
        &["LLEN"],
        &["LLEN", "a", "b"],
        // LPOP / RPOP, with and without a count.
        &["LPOP", "l"],
        &["RPOP", "l"],
        &["LPOP", "l", "2"],
        &["RPOP", "l", "1"],
        &["LPOP", "l", "0"],
        &["RPOP", "l", "0"],
        &["LRANGE", "l", "0", "-1"],
        &["LPOP", "l", "-1"],
        &["RPOP", "l", "-5"],
        &["LPOP", "l", "abc"],
        &["LPOP", "l", "1.5"],
        &["LPOP", "l", ""],
        &["LPOP", "l", "99999999999999999999"],
        &["LPOP", "l", "9223372036854775807"],
        &["EXISTS", "l"],
        &["LPOP", "l"],
        &["LPOP", "l", "1"],
        &["LPOP", "l", "0"],
        &["RPOP", "l"],
        &["RPOP", "l", "3"],
        &["LPOP", "l", "-1"],
        &["LPOP", "l", "1", "2"],
        &["RPOP", "l", "1", "2"],
        &["LPOP"],
        &["RPOP"],
        &["RPUSH", "r", "1", "2", "3"],
        &["RPOP", "r", "10"],
        &["EXISTS", "r"],
        &["LLEN", "r"],
        &["RPUSH", "r", "1"],
        &["RPOP", "r"],
        &["EXISTS", "r"],
        &["TYPE", "r"],
        &["RPUSH", "r", "1", "2"],
        &["LPOP", "r"],
        &["LPOP", "r"],
        &["EXISTS", "r"],
        &["LPUSH", "r", "x"],
        &["RPOP", "r", "1"],
        &["DBSIZE"],
        // Wrong type everywhere.
        &["SET", "s", "string"],
        &["LPUSH", "s", "a"],
        &["RPUSH", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s"],
        &["LPOP", "s", "1"],
        &["LPOP", "s", "0"],
        &["RPOP", "s", "-1"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "-1"],
        &["LRANGE", "s", "a", "-1"],
        &["LINDEX", "s", "0"],
        &["LINDEX", "s", "a"],
        &["GET", "s"],
        &["RPUSH", "ll", "a"],
        &["GET", "ll"],
        &["STRLEN", "ll"],
        &["APPEND", "ll", "x"],
        &["INCR", "ll"],
        &["GETDEL", "ll"],
        &["LRANGE", "ll", "0", "-1"],
    ]);
}

/// Raw protocol input: each case is written in one piece to a fresh connection, and
/// everything the server sends back until it closes is compared, with whether it closed.
/// Cases that leave the connection usable end with QUIT, so every case ends in a close.
const PROTOCOL_CASES: &[&[u8]] = &[
    // Inline commands: CRLF or LF, quoting and escapes, blanks.
    b"PING\r\nQUIT\r\n",
    b"PING\nECHO hi\nQUIT\n",
    b"SET a \"b c\"\r\nGET a\r\nSET b \"\\x41\\x42\\n\\t\\\"q\\\\\"\r\nGET b\r\n\
      SET c 'd e'\r\nGET c\r\nSET d 'it\\'s'\r\nGET d\r\nSET e \"\"\r\nSTRLEN e\r\n\
      ECHO \"\\xzz\"\r\nECHO \"\\x4\"\r\nECHO \"\\q\"\r\nQUIT\r\n",
    b"  ECHO \t  x   \r\nQUIT\r\n",
    b"NOSUCH a 'b c'\r\nQUIT\r\n",
    b"GET\r\nQUIT\r\n",
    b"QUIT now please\r\n",
    // Unbalanced quotes (a closing quote must be followed by a blank): error, then close.
    b"SET a \"b\r\nPING\r\n",
    b"SET a 'b\r\nPING\r\n",
    b"SET a \"b\"c\r\nPING\r\n",
    b"ECHO 'b'c\r\n",
    b"PING\r\nECHO \"x\r\n",
    // Multibulk protocol errors: error, then close.
    b"*abc\r\n",
    b"*3000000000\r\n",
    b"*1\r\n$abc\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$600000000\r\n",
    b"*1\r\nx\r\n",
    b"*2\r\n$4\r\nECHO\r\n:1\r\n",
    b"*1\r\n$4\r\nPING\r\n*1\r\n$abc\r\n",
    // Ignored input: empty and null multibulks, empty lines.
    b"*0\r\n*-1\r\n*-5\r\nPING\r\nQUIT\r\n",
    b"\r\n\r\n\n   \r\nPING\r\n\r\nQUIT\r\n",
    // A pipeline mixing multibulk and inline requests in one write.
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2\r\n10\r\nINCR x\r\n\
      *3\r\n$6\r\nINCRBY\r\n$1\r\nx\r\n$1\r\n5\r\nGET x\r\nDEL x\r\n\
      *1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\nQUIT\r\n",
    b"*1\r\n$4\r\nping\r\n*1\r\n$4\r\nquit\r\n",
    // Payloads are binary-safe, and their two terminator bytes are skipped unchecked; a
    // header ends at CR plus any byte.
    b"*3\r\n$3\r\nSET\r\n$3\r\nbin\r\n$4\r\na\r\n\x00\r\n*2\r\n$3\r\nGET\r\n$3\r\nbin\r\nQUIT\r\n",
    b"*2\r\n$4\r\nECHO\r\n$3\r\na\x00b\r\nQUIT\r\n",
    b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nQUIT\r\n",
    b"*1\rX$4\rXPING\r\n*1\r\n$4\r\nQUIT\r\n",
    b"*1\r\x00$4\r\nPING\r\nQUIT\r\n",
    // Redis finds the end of a line with strchr, so a NUL before it stalls the request
    // (the connection stays open with no reply).
    b"PING\r\nECHO a\x00b c\r\nQUIT\r\n",
    b"PING\r\n*1\x00\r\n$4\r\nQUIT\r\n",
    b"PING\r\n*1\r\n$4\x00\r\nQUIT\r\n",
];

/// Writes `input` on a fresh connection and returns everything read back, then how the
/// connection ended.
fn transcript(port: u16, input: &[u8]) -> String {
    let mut conn = Conn::connect(port);
    conn.send_raw(input);
    conn.stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("set timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        match conn.stream.read(&mut buf) {
            Ok(0) => break "<closed>",
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break "<still open>"
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break "<reset>",
        }
    };
    format!("{} {end}", render(&got))
}

/// A protocol case's input, shortened for reports.
fn label(input: &[u8]) -> String {
    if input.len() <= 80 {
        render(input)
    } else {
        format!("{}... ({} bytes)", render(&input[..40]), input.len())
    }
}

#[test]
fn protocol() {
    if !common::reference_available("protocol") {
        return;
    }
    let pair = Pair::start();
    let mut too_big_inline = vec![b'a'; 70_000];
    too_big_inline.extend_from_slice(b"\r\n");
    let mut too_big_count = b"*".to_vec();
    too_big_count.extend(std::iter::repeat_n(b'1', 70_000));
    // A request stalled by a NUL (see PROTOCOL_CASES) fails once it is too big.
    let mut nul_inline = b"PING\r\nECHO \x00".to_vec();
    nul_inline.extend(std::iter::repeat_n(b'\n', 70_000));
    let big = [too_big_inline, too_big_count, nul_inline];
    let cases: Vec<&[u8]> = PROTOCOL_CASES
        .iter()
        .copied()
        .chain(big.iter().map(Vec::as_slice))
        .collect();
    // Cases run in parallel: the ones that leave a connection open wait out a timeout.
    let transcripts: Vec<(String, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|input| {
                let ours = scope.spawn(|| transcript(pair.ours.port, input));
                let theirs = scope.spawn(|| transcript(pair.theirs.port, input));
                (ours, theirs)
            })
            .collect();
        handles
            .into_iter()
            .map(|(a, b)| (a.join().unwrap(), b.join().unwrap()))
            .collect()
    });
    let (mut ours_report, mut theirs_report) = (String::new(), String::new());
    let mut failed = 0;
    for (input, (a, b)) in cases.iter().zip(&transcripts) {
        if a != b {
            ours_report.push_str(&format!("{}\n  => {a}\n", label(input)));
            theirs_report.push_str(&format!("{}\n  => {b}\n", label(input)));
            failed += 1;
        }
    }
    assert_eq!(
        ours_report,
        theirs_report,
        "{failed} of {} protocol cases differ (left: redlite, right: redis)",
        cases.len()
    );
}
