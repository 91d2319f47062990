//! Differential tests for the string commands added for Redis 7.0 fidelity: GETEX,
//! GETRANGE and SUBSTR, SETRANGE, INCRBYFLOAT, MSETNX, GETSET and LCS.
//!
//! Scripts run on a fresh redlite and a fresh reference redis-server 7.0 and every reply
//! is compared byte for byte (see `common::diff::agree` for the clock-dependent TTL
//! replies, compared within a tolerance), error replies included: wrong arity, wrong
//! type, non-integers and non-floats, out-of-range values, syntax errors, option
//! conflicts, expired keys and binary values.
//!
//! INCRBYFLOAT gets the most cases, since its replies depend on reproducing C's
//! `long double` (x87 80-bit) parsing, arithmetic and `%.17Lf` formatting exactly.
//! Binary values that are not valid UTF-8 are sent as raw bytes in
//! `binary_values_round_trip`.

mod common;

use common::diff::{render, render_cmd, run_on, run_paused, run_script, Cmd, Pair, PAUSE};
use pretty_assertions::assert_eq;

/// A command built at run time (long or generated arguments), leaked to fit [`Cmd`].
fn leak(words: Vec<String>) -> Cmd {
    let words: Vec<&'static str> = words
        .into_iter()
        .map(|w| &*Box::leak(w.into_boxed_str()))
        .collect();
    Box::leak(words.into_boxed_slice())
}

/// `leak` for a list of words.
fn cmd(words: &[&str]) -> Cmd {
    leak(words.iter().map(|w| w.to_string()).collect())
}

#[test]
fn getex() {
    if !common::reference_available("getex") {
        return;
    }
    run_script(&[
        // Arity.
        &["GETEX"],
        &["getex"],
        // A missing key is nil whatever the options; the time is checked only later.
        &["GETEX", "nokey"],
        &["GETEX", "nokey", "EX", "10"],
        &["GETEX", "nokey", "EX", "abc"],
        &["GETEX", "nokey", "PX", "-1"],
        &["GETEX", "nokey", "PERSIST"],
        &["EXISTS", "nokey"],
        // But the options are parsed first.
        &["GETEX", "nokey", "FOO"],
        &["GETEX", "nokey", "EX"],
        &["GETEX", "nokey", "KEEPTTL"],
        // Without options it is GET and leaves the TTL alone.
        &["SET", "k", "v"],
        &["GETEX", "k"],
        &["TTL", "k"],
        &["SET", "t", "v", "EX", "100"],
        &["GETEX", "t"],
        &["TTL", "t"],
        // EX / PX / EXAT / PXAT, any case.
        &["GETEX", "k", "EX", "100"],
        &["TTL", "k"],
        &["GETEX", "k", "ex", "200"],
        &["TTL", "k"],
        &["GETEX", "k", "PX", "300000"],
        &["PTTL", "k"],
        &["GETEX", "k", "pX", "1500"],
        &["PTTL", "k"],
        &["GETEX", "k", "EXAT", "4102444800"],
        &["TTL", "k"],
        &["GETEX", "k", "exat", "4102444801"],
        &["TTL", "k"],
        &["GETEX", "k", "PXAT", "4102444800000"],
        &["PTTL", "k"],
        &["GETEX", "k", "PxAt", "4102444800123"],
        &["PTTL", "k"],
        // PERSIST removes it, twice is harmless.
        &["GETEX", "k", "PERSIST"],
        &["TTL", "k"],
        &["GETEX", "k", "persist"],
        &["TTL", "k"],
        &["GETEX", "k", "PERSIST", "PERSIST"],
        &["TTL", "k"],
        // The same option may repeat: the last wins.
        &["GETEX", "k", "EX", "10", "EX", "100"],
        &["TTL", "k"],
        &["GETEX", "k", "PX", "10", "PX", "100000"],
        &["TTL", "k"],
        &["GETEX", "k", "EXAT", "4102444800", "EXAT", "4102444900"],
        &["TTL", "k"],
        // Conflicting options are syntax errors.
        &["GETEX", "k", "EX", "10", "PX", "100"],
        &["GETEX", "k", "PX", "10", "EX", "100"],
        &["GETEX", "k", "EX", "10", "EXAT", "4102444800"],
        &["GETEX", "k", "PXAT", "4102444800000", "EXAT", "4102444800"],
        &["GETEX", "k", "EX", "10", "PERSIST"],
        &["GETEX", "k", "PERSIST", "EX", "10"],
        &["GETEX", "k", "PERSIST", "PXAT", "4102444800000"],
        &["GETEX", "k", "PXAT", "4102444800000", "PERSIST"],
        // SET's options and unknown words are syntax errors.
        &["GETEX", "k", "KEEPTTL"],
        &["GETEX", "k", "NX"],
        &["GETEX", "k", "XX"],
        &["GETEX", "k", "GET"],
        &["GETEX", "k", "FOO"],
        &["GETEX", "k", "EX"],
        &["GETEX", "k", "PXAT"],
        &["GETEX", "k", "EX", "10", "FOO"],
        &["GETEX", "k", "EX", "10", "EX"],
        &["GETEX", "k", "10"],
        &["GETEX", "k", "E", "10"],
        &["GETEX", "k", "EXA", "10"],
        &["TTL", "k"],
        // Invalid times.
        &["GETEX", "k", "EX", "0"],
        &["GETEX", "k", "EX", "-1"],
        &["GETEX", "k", "PX", "0"],
        &["GETEX", "k", "PX", "-100"],
        &["GETEX", "k", "EXAT", "0"],
        &["GETEX", "k", "PXAT", "-1"],
        &["GETEX", "k", "EX", "abc"],
        &["GETEX", "k", "EX", "1.5"],
        &["GETEX", "k", "EX", ""],
        &["GETEX", "k", "EX", " 10"],
        &["GETEX", "k", "EX", "10 "],
        &["GETEX", "k", "EX", "+10"],
        &["GETEX", "k", "EX", "010"],
        &["GETEX", "k", "PX", "9223372036854775808"],
        &["GETEX", "k", "EX", "9223372036854775807"],
        &["GETEX", "k", "EX", "9223372036854776"],
        &["GETEX", "k", "EXAT", "9223372036854775807"],
        &["GETEX", "k", "PX", "9223372036854775807"],
        &["GETEX", "k", "PX", "9223372036854775000"],
        &["TTL", "k"],
        // The largest absolute time is accepted.
        &["GETEX", "k", "PXAT", "9223372036854775807"],
        &["TTL", "k"],
        &["GETEX", "k", "EXAT", "9223372036854775"],
        &["TTL", "k"],
        &["GET", "k"],
        // A time already past deletes the key (after replying with the value).
        &["SET", "gone", "bye"],
        &["GETEX", "gone", "PXAT", "1"],
        &["EXISTS", "gone"],
        &["SET", "gone", "bye", "EX", "100"],
        &["GETEX", "gone", "EXAT", "1"],
        &["EXISTS", "gone"],
        &["GETEX", "gone", "EXAT", "1"],
        &["DBSIZE"],
        // Wrong type: the type is checked after the options but before the time.
        &["RPUSH", "list", "a"],
        &["GETEX", "list"],
        &["GETEX", "list", "EX", "10"],
        &["GETEX", "list", "EX", "abc"],
        &["GETEX", "list", "PERSIST"],
        &["GETEX", "list", "FOO"],
        &["TTL", "list"],
        // An expired key is missing.
        &["SET", "old", "v", "PXAT", "1"],
        &["GETEX", "old"],
        &["GETEX", "old", "PERSIST"],
        &["SET", "old", "v", "PXAT", "1"],
        &["GETEX", "old", "EX", "100"],
        &["EXISTS", "old"],
        // Values of every shape come back as they are.
        &["SET", "empty", ""],
        &["GETEX", "empty", "EX", "100"],
        &["TTL", "empty"],
        &["SET", "num", "12345"],
        &["GETEX", "num", "PERSIST"],
        &["OBJECT", "ENCODING", "num"],
        &["SET", "bin", "a\0b\r\nc\x7f\u{e9}"],
        &["GETEX", "bin", "PX", "100000"],
        &["STRLEN", "bin"],
        &["DBSIZE"],
    ]);
}

#[test]
fn getex_on_keys_that_expire() {
    if !common::reference_available("getex_on_keys_that_expire") {
        return;
    }
    run_paused(&[
        &["SET", "a", "1", "PX", "1"],
        &["SET", "b", "2", "PX", "100000"],
        &["SET", "c", "3", "PX", "1"],
        PAUSE,
        &["GETEX", "a"],
        &["GETEX", "a", "PERSIST"],
        &["GETEX", "b", "PERSIST"],
        &["TTL", "b"],
        &["GETEX", "c", "EX", "100"],
        &["EXISTS", "a", "b", "c"],
        // A short PX expires the key later like any other.
        &["SET", "d", "4"],
        &["GETEX", "d", "PX", "1"],
        PAUSE,
        &["GET", "d"],
        &["EXISTS", "d"],
        &["DBSIZE"],
    ]);
}

#[test]
fn getrange_and_substr() {
    if !common::reference_available("getrange_and_substr") {
        return;
    }
    let mut script: Vec<Cmd> = vec![
        &["SET", "s", "Hello World"],
        &["SET", "e", ""],
        &["SET", "n", "12345"],
        &["SET", "neg", "-98765"],
        &["SET", "bin", "\0a\0b\r\n\u{e9}\u{20ac}"],
        &["RPUSH", "list", "a"],
        // Arity.
        &["GETRANGE"],
        &["GETRANGE", "s"],
        &["GETRANGE", "s", "0"],
        &["GETRANGE", "s", "0", "1", "2"],
        &["SUBSTR", "s", "0"],
        &["SUBSTR", "s", "0", "1", "2"],
        // Indexes must be integers, and are checked before the key.
        &["GETRANGE", "s", "a", "1"],
        &["GETRANGE", "s", "1", "b"],
        &["GETRANGE", "s", "1.5", "2"],
        &["GETRANGE", "s", "", "2"],
        &["GETRANGE", "s", " 1", "2"],
        &["GETRANGE", "s", "1", "2 "],
        &["GETRANGE", "s", "+1", "2"],
        &["GETRANGE", "s", "01", "2"],
        &["GETRANGE", "s", "-0", "2"],
        &["GETRANGE", "s", "9223372036854775808", "1"],
        &["GETRANGE", "s", "0", "-9223372036854775809"],
        &["GETRANGE", "nokey", "a", "1"],
        &["GETRANGE", "list", "a", "1"],
        &["SUBSTR", "s", "x", "1"],
        // Missing keys are empty; other types are errors.
        &["GETRANGE", "nokey", "0", "-1"],
        &["GETRANGE", "nokey", "5", "1"],
        &["SUBSTR", "nokey", "0", "-1"],
        &["GETRANGE", "list", "0", "-1"],
        &["SUBSTR", "list", "0", "1"],
        // Any case.
        &["getrange", "s", "0", "4"],
        &["substr", "s", "6", "-1"],
        &["GetRange", "s", "-5", "-1"],
    ];
    // Every combination of interesting indexes, on strings of several shapes.
    let indexes = [
        "0",
        "1",
        "4",
        "5",
        "10",
        "11",
        "12",
        "100",
        "-1",
        "-2",
        "-5",
        "-11",
        "-12",
        "-13",
        "-100",
        "9223372036854775807",
        "-9223372036854775808",
    ];
    for start in indexes {
        for end in indexes {
            script.push(cmd(&["GETRANGE", "s", start, end]));
        }
    }
    for key in ["e", "n", "neg", "bin"] {
        for start in ["0", "1", "3", "-1", "-3", "-100", "100"] {
            for end in ["0", "2", "-1", "-2", "-100", "100"] {
                script.push(cmd(&["SUBSTR", key, start, end]));
            }
        }
    }
    // An expired key is missing.
    script.extend_from_slice(&[
        &["SET", "old", "value", "PXAT", "1"],
        &["GETRANGE", "old", "0", "-1"],
        &["EXISTS", "old"],
    ]);
    run_script(&script);
}

#[test]
fn setrange() {
    if !common::reference_available("setrange") {
        return;
    }
    run_script(&[
        // Arity.
        &["SETRANGE"],
        &["SETRANGE", "k"],
        &["SETRANGE", "k", "0"],
        &["SETRANGE", "k", "0", "a", "b"],
        // A new key is zero-padded up to the offset.
        &["SETRANGE", "k", "0", "hello"],
        &["GET", "k"],
        &["SETRANGE", "z", "5", "x"],
        &["GET", "z"],
        &["STRLEN", "z"],
        &["SETRANGE", "z2", "1", "\0"],
        &["GET", "z2"],
        // Overwrite inside, across the end, and past it.
        &["SET", "s", "Hello World"],
        &["SETRANGE", "s", "6", "Redis"],
        &["GET", "s"],
        &["SETRANGE", "s", "0", "J"],
        &["GET", "s"],
        &["SETRANGE", "s", "9", "xxxxx"],
        &["GET", "s"],
        &["SETRANGE", "s", "20", "!"],
        &["GET", "s"],
        &["STRLEN", "s"],
        &["SETRANGE", "s", "0", "0123456789012345678901234567890"],
        &["GET", "s"],
        // An empty value changes nothing and creates nothing.
        &["SETRANGE", "nokey", "0", ""],
        &["SETRANGE", "nokey", "100", ""],
        &["EXISTS", "nokey"],
        &["SETRANGE", "s", "0", ""],
        &["SETRANGE", "s", "1000", ""],
        &["GET", "s"],
        &["SET", "e", ""],
        &["SETRANGE", "e", "3", ""],
        &["GET", "e"],
        &["SETRANGE", "e", "0", "x"],
        &["GET", "e"],
        // Offsets: integers, not negative (checked before the type and the value).
        &["SETRANGE", "s", "-1", "x"],
        &["SETRANGE", "s", "-1", ""],
        &["SETRANGE", "nokey", "-1", ""],
        &["SETRANGE", "s", "-9223372036854775808", "x"],
        &["SETRANGE", "s", "abc", "x"],
        &["SETRANGE", "s", "1.5", "x"],
        &["SETRANGE", "s", "", "x"],
        &["SETRANGE", "s", " 1", "x"],
        &["SETRANGE", "s", "+1", "x"],
        &["SETRANGE", "s", "9223372036854775808", "x"],
        // The result may not pass proto-max-bulk-len (512 MB), nor overflow.
        &["SETRANGE", "s", "536870912", "x"],
        &["SETRANGE", "s", "536870911", "xy"],
        &["SETRANGE", "s", "9223372036854775807", "x"],
        &["SETRANGE", "s", "9223372036854775807", ""],
        &["SETRANGE", "big", "536870912", "x"],
        &["SETRANGE", "big", "9223372036854775807", "x"],
        &["EXISTS", "big"],
        &["GET", "s"],
        // Wrong type, after the offset checks.
        &["RPUSH", "list", "a"],
        &["SETRANGE", "list", "0", "x"],
        &["SETRANGE", "list", "0", ""],
        &["SETRANGE", "list", "-1", "x"],
        &["SETRANGE", "list", "x", "x"],
        &["LRANGE", "list", "0", "-1"],
        // The expiry is kept; an integer becomes a raw string.
        &["SET", "t", "value", "EX", "100"],
        &["SETRANGE", "t", "0", "V"],
        &["TTL", "t"],
        &["GET", "t"],
        &["SET", "n", "12345"],
        &["OBJECT", "ENCODING", "n"],
        &["SETRANGE", "n", "1", "x"],
        &["GET", "n"],
        &["OBJECT", "ENCODING", "n"],
        &["SETRANGE", "n2", "0", "1"],
        &["OBJECT", "ENCODING", "n2"],
        &["SET", "n3", "12"],
        &["SETRANGE", "n3", "0", ""],
        &["OBJECT", "ENCODING", "n3"],
        // An expired key starts from nothing.
        &["SET", "old", "value", "PXAT", "1"],
        &["SETRANGE", "old", "2", "x"],
        &["GET", "old"],
        &["TTL", "old"],
        &["SET", "old2", "value", "PXAT", "1"],
        &["SETRANGE", "old2", "2", ""],
        &["EXISTS", "old2"],
        // Binary values.
        &["SETRANGE", "b", "2", "\0\r\n\u{e9}"],
        &["GET", "b"],
        &["SETRANGE", "b", "1", "\u{20ac}"],
        &["GET", "b"],
        &["STRLEN", "b"],
        &["GETRANGE", "b", "1", "3"],
        &["setrange", "b", "0", "lower"],
        &["GET", "b"],
        &["DBSIZE"],
    ]);
}

#[test]
fn string_size_limit_follows_proto_max_bulk_len() {
    if !common::reference_available("string_size_limit_follows_proto_max_bulk_len") {
        return;
    }
    run_script(&[
        &["CONFIG", "SET", "proto-max-bulk-len", "1mb"],
        &["SETRANGE", "k", "1048575", "x"],
        &["STRLEN", "k"],
        &["SETRANGE", "k", "1048576", "x"],
        &["SETRANGE", "k", "1048575", "xy"],
        &["SETRANGE", "k", "0", "y"],
        &["GETRANGE", "k", "0", "1"],
        &["GETRANGE", "k", "-2", "-1"],
        &["APPEND", "k", "z"],
        &["SETRANGE", "k2", "1048576", "x"],
        &["EXISTS", "k2"],
        &["SETRANGE", "k2", "1048574", "xy"],
        &["STRLEN", "k2"],
        &["APPEND", "k2", "a"],
        &["DEL", "k", "k2"],
        &["CONFIG", "SET", "proto-max-bulk-len", "512mb"],
    ]);
}

#[test]
fn incrbyfloat_basics_and_errors() {
    if !common::reference_available("incrbyfloat_basics_and_errors") {
        return;
    }
    run_script(&[
        // Arity.
        &["INCRBYFLOAT"],
        &["INCRBYFLOAT", "k"],
        &["INCRBYFLOAT", "k", "1", "2"],
        // A missing key starts at 0.
        &["INCRBYFLOAT", "k", "1.5"],
        &["GET", "k"],
        &["INCRBYFLOAT", "k", "1.5"],
        &["INCRBYFLOAT", "k", "-3"],
        &["GET", "k"],
        &["incrbyfloat", "k", "10.5"],
        &["IncrByFloat", "k", "0.1"],
        &["INCRBYFLOAT", "k", "-0.1"],
        &["INCRBYFLOAT", "k", "-10.5"],
        // Integers stored as integers, and back.
        &["SET", "i", "10"],
        &["INCRBYFLOAT", "i", "0.5"],
        &["INCRBYFLOAT", "i", "0.5"],
        &["INCR", "i"],
        &["INCRBYFLOAT", "i", "5"],
        &["SET", "i", "-9223372036854775808"],
        &["INCRBYFLOAT", "i", "-1"],
        &["SET", "i", "9223372036854775807"],
        &["INCRBYFLOAT", "i", "1"],
        &["INCR", "i"],
        // Increments of every spelling strtold accepts.
        &["SET", "f", "0"],
        &["INCRBYFLOAT", "f", "+5"],
        &["INCRBYFLOAT", "f", ".5"],
        &["INCRBYFLOAT", "f", "5."],
        &["INCRBYFLOAT", "f", "-.5e-3"],
        &["INCRBYFLOAT", "f", "1e3"],
        &["INCRBYFLOAT", "f", "1E3"],
        &["INCRBYFLOAT", "f", "1e+3"],
        &["INCRBYFLOAT", "f", "-2.5E-1"],
        &["INCRBYFLOAT", "f", "0x10"],
        &["INCRBYFLOAT", "f", "0X1p-2"],
        &["INCRBYFLOAT", "f", "0x1.8P1"],
        &["INCRBYFLOAT", "f", "-0x.8"],
        &["INCRBYFLOAT", "f", "00012"],
        &["INCRBYFLOAT", "f", "-0"],
        &["INCRBYFLOAT", "f", "0e99999"],
        &["INCRBYFLOAT", "f", "1e-99999"],
        &["GET", "f"],
        // Not floats: the increment.
        &["INCRBYFLOAT", "f", "abc"],
        &["INCRBYFLOAT", "f", ""],
        &["INCRBYFLOAT", "f", " 1"],
        &["INCRBYFLOAT", "f", "\t1"],
        &["INCRBYFLOAT", "f", "1 "],
        &["INCRBYFLOAT", "f", "1\n"],
        &["INCRBYFLOAT", "f", "1\0"],
        &["INCRBYFLOAT", "f", "1\x002"],
        &["INCRBYFLOAT", "f", "nan"],
        &["INCRBYFLOAT", "f", "-nan"],
        &["INCRBYFLOAT", "f", "NaN"],
        &["INCRBYFLOAT", "f", "nan(123)"],
        &["INCRBYFLOAT", "f", "1e"],
        &["INCRBYFLOAT", "f", "1e+"],
        &["INCRBYFLOAT", "f", "1e-"],
        &["INCRBYFLOAT", "f", "1e5.5"],
        &["INCRBYFLOAT", "f", "."],
        &["INCRBYFLOAT", "f", "-"],
        &["INCRBYFLOAT", "f", "+"],
        &["INCRBYFLOAT", "f", ".e1"],
        &["INCRBYFLOAT", "f", "1.2.3"],
        &["INCRBYFLOAT", "f", "++1"],
        &["INCRBYFLOAT", "f", "--1"],
        &["INCRBYFLOAT", "f", "0x"],
        &["INCRBYFLOAT", "f", "0x.p1"],
        &["INCRBYFLOAT", "f", "0x1p"],
        &["INCRBYFLOAT", "f", "0xg"],
        &["INCRBYFLOAT", "f", "1,5"],
        &["INCRBYFLOAT", "f", "1_000"],
        &["INCRBYFLOAT", "f", "infinit"],
        &["INCRBYFLOAT", "f", "infinityy"],
        &["INCRBYFLOAT", "f", "in"],
        &["INCRBYFLOAT", "f", "\u{661}"],
        // Overflow and underflow to zero are not floats either.
        &["INCRBYFLOAT", "f", "1e99999"],
        &["INCRBYFLOAT", "f", "-1e5000"],
        &["INCRBYFLOAT", "f", "1.19e4932"],
        &["INCRBYFLOAT", "f", "1e-4960"],
        &["INCRBYFLOAT", "f", "0x1p16384"],
        &["INCRBYFLOAT", "f", "0x1p-16446"],
        &["GET", "f"],
        // Not floats: the stored value (checked before the increment).
        &["SET", "bad", "abc"],
        &["INCRBYFLOAT", "bad", "1"],
        &["INCRBYFLOAT", "bad", "abc"],
        &["SET", "bad", ""],
        &["INCRBYFLOAT", "bad", "1"],
        &["SET", "bad", " 1"],
        &["INCRBYFLOAT", "bad", "1"],
        &["SET", "bad", "1 "],
        &["INCRBYFLOAT", "bad", "1"],
        &["SET", "bad", "nan"],
        &["INCRBYFLOAT", "bad", "1"],
        &["SET", "bad", "1\x002"],
        &["INCRBYFLOAT", "bad", "1"],
        &["SET", "bad", "1e99999"],
        &["INCRBYFLOAT", "bad", "1"],
        &["GET", "bad"],
        // Infinity parses, but no result may be infinite or NaN.
        &["INCRBYFLOAT", "f", "inf"],
        &["INCRBYFLOAT", "f", "-inf"],
        &["INCRBYFLOAT", "f", "+INF"],
        &["INCRBYFLOAT", "f", "Infinity"],
        &["INCRBYFLOAT", "f", "-infinity"],
        &["SET", "inf", "inf"],
        &["INCRBYFLOAT", "inf", "1"],
        &["INCRBYFLOAT", "inf", "-inf"],
        &["INCRBYFLOAT", "inf", "nan"],
        &["SET", "max", "1.18e4932"],
        &["INCRBYFLOAT", "max", "1.18e4932"],
        &["INCRBYFLOAT", "max", "-1.18e4932"],
        &["GET", "max"],
        &["GET", "f"],
        // Wrong type, checked before either number.
        &["RPUSH", "list", "a"],
        &["INCRBYFLOAT", "list", "1"],
        &["INCRBYFLOAT", "list", "abc"],
        &["LRANGE", "list", "0", "-1"],
        // The expiry is kept; an expired key starts at 0.
        &["SET", "t", "1", "EX", "100"],
        &["INCRBYFLOAT", "t", "1.5"],
        &["TTL", "t"],
        &["SET", "old", "41", "PXAT", "1"],
        &["INCRBYFLOAT", "old", "1.5"],
        &["TTL", "old"],
        // The result is a plain string: embstr up to 44 bytes, raw beyond.
        &["SET", "enc", "1"],
        &["INCRBYFLOAT", "enc", "1"],
        &["OBJECT", "ENCODING", "enc"],
        &["INCRBYFLOAT", "enc", "0.5"],
        &["OBJECT", "ENCODING", "enc"],
        &["INCRBYFLOAT", "enc2", "1e43"],
        &["STRLEN", "enc2"],
        &["OBJECT", "ENCODING", "enc2"],
        &["INCRBYFLOAT", "enc3", "1e44"],
        &["STRLEN", "enc3"],
        &["OBJECT", "ENCODING", "enc3"],
        &["DBSIZE"],
    ]);
}

#[test]
fn incrbyfloat_precision_and_formatting() {
    if !common::reference_available("incrbyfloat_precision_and_formatting") {
        return;
    }
    // (stored value, increment): each pair on a fresh key.
    let pairs: &[(&str, &str)] = &[
        ("10.5", "0.1"),
        ("3.0e3", "0"),
        ("5.0e-3", "0"),
        ("1e20", "0"),
        ("1e30", "0"),
        ("1e-20", "0"),
        ("0", "1e-17"),
        ("0", "5e-18"),
        ("0", "1.5e-17"),
        ("0", "2.5e-17"),
        ("0", "-5e-18"),
        ("0", "-1e-17"),
        ("0", "0.000003814697265625"),
        ("0", "0.000011444091796875"),
        ("-0", "-0"),
        ("-0", "0"),
        ("1", "-1"),
        ("0", "-1e-20"),
        ("1.1", "2.2"),
        ("0.1", "0.2"),
        ("0.3", "-0.1"),
        ("1", "1e-16"),
        ("1", "1e-17"),
        ("1", "1e-18"),
        ("1", "1e-19"),
        ("1e4000", "0"),
        ("1e4932", "0"),
        ("1.18e4932", "0"),
        ("-1.18e4932", "-1e4931"),
        ("1e-4950", "0"),
        ("1e-4940", "1e-4940"),
        ("0x1p-16445", "0"),
        ("0x1p-16382", "-0x1p-16445"),
        ("0xffffffffffffffffp16320", "0"),
        ("0xffffffffffffffffp16320", "0x1p16319"),
        ("1.7976931348623157e308", "1"),
        ("123456789012345678901234567890", "0"),
        ("0.1", "0"),
        ("3", "0.1"),
        ("9223372036854775807", "1"),
        ("18446744073709551615", "1"),
        ("18446744073709551616", "0.5"),
        ("1e17", "0.5"),
        ("1e18", "0.5"),
        ("1e19", "0.5"),
        ("1e19", "1.5"),
        ("36893488147419103232", "1"),
        ("36893488147419103232", "2"),
        ("36893488147419103232", "3"),
        ("-1e19", "-0.5"),
        ("3.141592653589793238462643383279", "0"),
        ("2.718281828459045235360287471352", "1e-10"),
        ("1234567.891", "-1234567.891"),
        ("0.000000000000000001", "0.000000000000000001"),
        ("99999999999999999.99", "0.01"),
        ("0.99999999999999999", "0.00000000000000001"),
        ("0.999999999999999995", "0"),
        ("0.999999999999999994", "0"),
        ("-0.999999999999999995", "0"),
        ("12345678901234567890.123456789", "0"),
        ("1e-5", "1e-5"),
        ("100", "-99.99"),
        ("1.5", "1.5"),
        ("2.675", "0"),
        ("1.005", "0"),
        ("0.1234567890123456789", "0"),
        ("-0.0000000000000000049", "0"),
        ("-0.0000000000000000051", "0"),
        ("4.35", "4.35"),
        ("1e308", "1e308"),
        ("-7", "0.000000000000000001"),
        ("0x1.fffffffffffffffep0", "0"),
        ("0x1.fffffffffffffffep0", "0x1p-64"),
        ("1", "0x1p-64"),
        ("1", "0x1.8p-64"),
        ("1", "0x1p-63"),
    ];
    let mut script: Vec<Cmd> = Vec::new();
    for (i, (value, incr)) in pairs.iter().enumerate() {
        let key = format!("p{i}");
        script.push(cmd(&["SET", &key, value]));
        script.push(cmd(&["INCRBYFLOAT", &key, incr]));
        script.push(cmd(&["GET", &key]));
        // Once more, from the printed value parsed back.
        script.push(cmd(&["INCRBYFLOAT", &key, incr]));
    }
    // Repeated small increments accumulate the same rounding errors.
    for _ in 0..30 {
        script.push(&["INCRBYFLOAT", "acc", "0.1"]);
    }
    for _ in 0..12 {
        script.push(&["INCRBYFLOAT", "acc2", "1e-3"]);
        script.push(&["INCRBYFLOAT", "acc3", "-7.77"]);
        script.push(&["INCRBYFLOAT", "acc4", "1234.5678e10"]);
    }
    // Exact binary fractions 2^-k (written out in full: k decimals), summed into one
    // key: from k = 18 on they need more than 17 decimals, so printing rounds them,
    // ties included.
    for k in 1..=70 {
        script.push(leak(vec![
            "INCRBYFLOAT".into(),
            "halves".into(),
            binary_fraction(k),
        ]));
        script.push(leak(vec![
            "INCRBYFLOAT".into(),
            format!("h{k}"),
            binary_fraction(k),
        ]));
    }
    run_script(&script);
}

/// 2^-k as an exact decimal: `0.` and k digits (5^k, zero-padded).
fn binary_fraction(k: usize) -> String {
    let mut digits = vec![1u32]; // 5^k, least significant digit first.
    for _ in 0..k {
        let mut carry = 0;
        for d in &mut digits {
            let v = *d * 5 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push(carry % 10);
            carry /= 10;
        }
    }
    let pow5: String = digits
        .iter()
        .rev()
        .map(|d| char::from(b'0' + *d as u8))
        .collect();
    format!("0.{pow5:0>k$}")
}

#[test]
fn incrbyfloat_long_arguments() {
    if !common::reference_available("incrbyfloat_long_arguments") {
        return;
    }
    // string2ld refuses 5120 bytes or more; below that, any digits count, exactly.
    let ones = |n: usize| "1".repeat(n);
    let zeros_then_one = |n: usize| format!("{}1", "0".repeat(n - 1));
    let tiny = |n: usize| format!("0.{}1", "0".repeat(n - 3));
    let mut script: Vec<Cmd> = vec![
        leak(vec!["INCRBYFLOAT".into(), "a".into(), zeros_then_one(5119)]),
        leak(vec!["INCRBYFLOAT".into(), "a".into(), zeros_then_one(5120)]),
        leak(vec!["INCRBYFLOAT".into(), "a".into(), ones(4933)]),
        leak(vec!["INCRBYFLOAT".into(), "a".into(), ones(4934)]),
        leak(vec!["INCRBYFLOAT".into(), "a".into(), ones(5119)]),
        leak(vec!["INCRBYFLOAT".into(), "a".into(), tiny(4950)]),
        leak(vec!["INCRBYFLOAT".into(), "a".into(), tiny(4953)]),
        leak(vec!["INCRBYFLOAT".into(), "a".into(), tiny(5119)]),
        leak(vec!["SET".into(), "b".into(), zeros_then_one(5119)]),
        &["INCRBYFLOAT", "b", "1"],
        leak(vec!["SET".into(), "b".into(), zeros_then_one(5120)]),
        &["INCRBYFLOAT", "b", "1"],
        // Many significant digits, rounded once.
        leak(vec![
            "INCRBYFLOAT".into(),
            "c".into(),
            format!("0.{}", "3".repeat(3000)),
        ]),
        leak(vec![
            "INCRBYFLOAT".into(),
            "c".into(),
            format!("{}.{}", "9".repeat(30), "9".repeat(2000)),
        ]),
        leak(vec![
            "INCRBYFLOAT".into(),
            "d".into(),
            format!("1.{}1", "0".repeat(19)),
        ]),
        leak(vec![
            "INCRBYFLOAT".into(),
            "d".into(),
            // Exactly half an ulp of 1 (2^-64), then a little more.
            format!("0.{}1", "0".repeat(4000)),
        ]),
        leak(vec![
            "INCRBYFLOAT".into(),
            "e".into(),
            format!("0x{}p-200", "f".repeat(100)),
        ]),
    ];
    // Results that print thousands of digits feed back into the next increment.
    script.extend_from_slice(&[
        &["INCRBYFLOAT", "big", "1e4931"],
        &["INCRBYFLOAT", "big", "1e4931"],
        &["STRLEN", "big"],
        &["INCRBYFLOAT", "big", "-2e4931"],
    ]);
    run_script(&script);
}

/// A small deterministic generator, so generated cases are the same on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn incrbyfloat_generated_values() {
    if !common::reference_available("incrbyfloat_generated_values") {
        return;
    }
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut script: Vec<Cmd> = Vec::new();
    for i in 0..300 {
        let digits = |rng: &mut XorShift, n: u64| -> String {
            (0..n)
                .map(|_| char::from(b'0' + rng.below(10) as u8))
                .collect()
        };
        let number = |rng: &mut XorShift| -> String {
            let sign = ["", "-", "+", ""][rng.below(4) as usize];
            let n = 1 + rng.below(12);
            let int = digits(rng, n);
            let n = rng.below(22);
            let frac = digits(rng, n);
            match rng.below(4) {
                0 => format!("{sign}{int}"),
                1 => format!("{sign}{int}.{frac}"),
                2 => format!("{sign}0.{frac}1"),
                _ => format!("{sign}{int}.{frac}e{}", rng.below(80) as i64 - 40),
            }
        };
        let key = format!("g{}", i % 40);
        script.push(leak(vec!["INCRBYFLOAT".into(), key, number(&mut rng)]));
    }
    run_script(&script);
}

#[test]
fn msetnx() {
    if !common::reference_available("msetnx") {
        return;
    }
    run_script(&[
        // Arity: at least one pair, and whole pairs.
        &["MSETNX"],
        &["MSETNX", "a"],
        &["MSETNX", "a", "1", "b"],
        &["msetnx", "a", "1", "b", "2", "c"],
        &["EXISTS", "a", "b", "c"],
        // All new: all set.
        &["MSETNX", "a", "1", "b", "2"],
        &["MGET", "a", "b"],
        // Any existing: none set.
        &["MSETNX", "a", "x", "c", "3"],
        &["MGET", "a", "c"],
        &["MSETNX", "c", "3", "d", "4", "b", "x"],
        &["MGET", "b", "c", "d"],
        &["EXISTS", "c", "d"],
        // A key of another type exists too.
        &["RPUSH", "list", "v"],
        &["MSETNX", "list", "x"],
        &["MSETNX", "c", "3", "list", "x"],
        &["TYPE", "list"],
        &["EXISTS", "c"],
        // The same key twice: both writes happen, the last wins.
        &["MSETNX", "dup", "1", "dup", "2"],
        &["GET", "dup"],
        // An expired key is missing.
        &["SET", "old", "v", "PXAT", "1"],
        &["MSETNX", "old", "new", "e", "5"],
        &["MGET", "old", "e"],
        &["TTL", "old"],
        // Values of any shape; integers are integers.
        &["MSETNX", "bin", "\0\r\n\u{e9}", "empty", "", "int", "123"],
        &["MGET", "bin", "empty", "int"],
        &["OBJECT", "ENCODING", "int"],
        &["STRLEN", "bin"],
        &["MSetNx", "lower", "x"],
        &["GET", "lower"],
        &["DBSIZE"],
        // MSET's own arity error still names it.
        &["MSET", "a", "1", "b"],
        &["MSET", "a"],
    ]);
}

#[test]
fn getset() {
    if !common::reference_available("getset") {
        return;
    }
    run_script(&[
        // Arity.
        &["GETSET"],
        &["GETSET", "k"],
        &["GETSET", "k", "v", "x"],
        // Missing: nil, and set.
        &["GETSET", "k", "v1"],
        &["GET", "k"],
        &["GETSET", "k", "v2"],
        &["getset", "k", "v3"],
        &["GET", "k"],
        // The expiry is dropped.
        &["SET", "t", "a", "EX", "100"],
        &["GETSET", "t", "b"],
        &["TTL", "t"],
        // Wrong type: an error, and nothing changes.
        &["RPUSH", "list", "a"],
        &["GETSET", "list", "x"],
        &["TYPE", "list"],
        &["LRANGE", "list", "0", "-1"],
        // An expired key is missing.
        &["SET", "old", "v", "PXAT", "1"],
        &["GETSET", "old", "new"],
        &["GET", "old"],
        &["TTL", "old"],
        // Values of every shape.
        &["GETSET", "bin", "\0\r\n\u{e9}"],
        &["GETSET", "bin", ""],
        &["GETSET", "bin", "123"],
        &["OBJECT", "ENCODING", "bin"],
        &["GETSET", "bin", "x"],
        &["INCR", "bin"],
        &["GETSET", "bin", "10"],
        &["INCR", "bin"],
        &["DBSIZE"],
        // GETDEL and SET GET share the lookup.
        &["GETDEL", "list"],
        &["GETDEL", "bin"],
        &["GETDEL", "bin"],
        &["SET", "list", "x", "GET"],
        &["SET", "g", "1", "GET"],
        &["SET", "g", "2", "GET", "NX"],
        &["SET", "g", "3", "GET", "XX"],
        &["GET", "g"],
    ]);
}

#[test]
fn lcs() {
    if !common::reference_available("lcs") {
        return;
    }
    run_script(&[
        // Arity.
        &["LCS"],
        &["LCS", "a"],
        // The documentation's example.
        &["MSET", "key1", "ohmytext", "key2", "mynewtext"],
        &["LCS", "key1", "key2"],
        &["LCS", "key1", "key2", "LEN"],
        &["LCS", "key1", "key2", "IDX"],
        &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"],
        &[
            "LCS",
            "key1",
            "key2",
            "IDX",
            "MINMATCHLEN",
            "4",
            "WITHMATCHLEN",
        ],
        &["LCS", "key1", "key2", "IDX", "WITHMATCHLEN"],
        &["LCS", "key1", "key2", "WITHMATCHLEN", "IDX"],
        &["LCS", "key2", "key1", "IDX", "WITHMATCHLEN"],
        &[
            "lcs",
            "key1",
            "key2",
            "idx",
            "minmatchlen",
            "2",
            "withmatchlen",
        ],
        &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "0"],
        &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "-5"],
        &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "100"],
        &[
            "LCS",
            "key1",
            "key2",
            "IDX",
            "MINMATCHLEN",
            "1",
            "MINMATCHLEN",
            "5",
        ],
        &["LCS", "key1", "key2", "IDX", "IDX"],
        &["LCS", "key1", "key2", "LEN", "LEN"],
        // WITHMATCHLEN and MINMATCHLEN only shape IDX.
        &["LCS", "key1", "key2", "WITHMATCHLEN"],
        &["LCS", "key1", "key2", "MINMATCHLEN", "3"],
        &[
            "LCS",
            "key1",
            "key2",
            "LEN",
            "WITHMATCHLEN",
            "MINMATCHLEN",
            "3",
        ],
        // Option errors.
        &["LCS", "key1", "key2", "LEN", "IDX"],
        &["LCS", "key1", "key2", "IDX", "LEN"],
        &["LCS", "key1", "key2", "FOO"],
        &["LCS", "key1", "key2", "IDX", "FOO"],
        &["LCS", "key1", "key2", "MINMATCHLEN"],
        &["LCS", "key1", "key2", "IDX", "MINMATCHLEN"],
        &["LCS", "key1", "key2", "MINMATCHLEN", "abc"],
        &["LCS", "key1", "key2", "MINMATCHLEN", "1.5"],
        &["LCS", "key1", "key2", "MINMATCHLEN", "9223372036854775808"],
        &[
            "LCS",
            "key1",
            "key2",
            "MINMATCHLEN",
            "9223372036854775807",
            "IDX",
        ],
        &["LCS", "key1", "key2", "MINMATCHLEN", "abc", "LEN", "IDX"],
        &["LCS", "key1", "key2", "LEN", "IDX", "FOO"],
        &["LCS", "key1", "key2", "LEN", "IDX", "MINMATCHLEN", "x"],
        &["LCS", "key1", "key2", "MINMATCHLEN", "LEN"],
        // Missing keys are empty strings.
        &["LCS", "nokey", "key2"],
        &["LCS", "key1", "nokey"],
        &["LCS", "nokey", "nokey2", "LEN"],
        &["LCS", "nokey", "nokey2", "IDX"],
        &["LCS", "nokey", "key1", "IDX", "WITHMATCHLEN"],
        // Other types are refused, before the options are read.
        &["RPUSH", "list", "a"],
        &["LCS", "list", "key1"],
        &["LCS", "key1", "list"],
        &["LCS", "list", "nokey", "FOO"],
        &["LCS", "key1", "list", "LEN", "IDX"],
        // Expired keys are missing.
        &["SET", "old", "ohmytext", "PXAT", "1"],
        &["LCS", "old", "key2"],
        &["LCS", "key2", "old", "LEN"],
        // Same key, identical, disjoint, one byte.
        &["LCS", "key1", "key1"],
        &["LCS", "key1", "key1", "IDX", "WITHMATCHLEN"],
        &["MSET", "x", "abc", "y", "xyz", "one", "a"],
        &["LCS", "x", "y"],
        &["LCS", "x", "y", "LEN"],
        &["LCS", "x", "y", "IDX"],
        &["LCS", "one", "x", "IDX", "WITHMATCHLEN"],
        &["LCS", "x", "one", "IDX", "WITHMATCHLEN"],
        // Ties between paths, repeats, integers, binary.
        &["MSET", "p", "abcabcabc", "q", "cbacbacba"],
        &["LCS", "p", "q"],
        &["LCS", "p", "q", "IDX", "WITHMATCHLEN"],
        &["LCS", "q", "p", "IDX", "WITHMATCHLEN"],
        &["MSET", "r", "aaaa", "s", "aa"],
        &["LCS", "r", "s", "IDX", "WITHMATCHLEN"],
        &["LCS", "s", "r", "IDX", "WITHMATCHLEN"],
        &["MSET", "n1", "1234567", "n2", "7654321234"],
        &["LCS", "n1", "n2", "IDX", "WITHMATCHLEN"],
        &["MSET", "b1", "\0\r\n\u{e9}x\0", "b2", "x\0\u{e9}\r\n"],
        &["LCS", "b1", "b2"],
        &["LCS", "b1", "b2", "IDX", "WITHMATCHLEN"],
        &["MSET", "e1", "", "e2", "abc"],
        &["LCS", "e1", "e2", "IDX"],
        &["LCS", "e2", "e1"],
    ]);
}

#[test]
fn lcs_generated_strings() {
    if !common::reference_available("lcs_generated_strings") {
        return;
    }
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let mut script: Vec<Cmd> = Vec::new();
    for _ in 0..40 {
        let alphabet = [&b"ab"[..], b"abc", b"acgt", b"abcdefgh"][rng.below(4) as usize];
        let word = |rng: &mut XorShift| -> String {
            let n = rng.below(40);
            (0..n)
                .map(|_| char::from(alphabet[rng.below(alphabet.len() as u64) as usize]))
                .collect()
        };
        let (a, b) = (word(&mut rng), word(&mut rng));
        script.push(leak(vec!["MSET".into(), "a".into(), a, "b".into(), b]));
        script.push(&["LCS", "a", "b"]);
        script.push(&["LCS", "a", "b", "LEN"]);
        script.push(&["LCS", "a", "b", "IDX", "WITHMATCHLEN"]);
        script.push(&["LCS", "b", "a", "IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"]);
    }
    run_script(&script);
}

#[test]
fn lcs_memory_limit_follows_proto_max_bulk_len() {
    if !common::reference_available("lcs_memory_limit_follows_proto_max_bulk_len") {
        return;
    }
    // (n+1)^2 x 4 bytes of table: 1 MB holds n = 511, not n = 512.
    let a511 = "a".repeat(511);
    let a512 = "a".repeat(512);
    run_script(&[
        &["CONFIG", "SET", "proto-max-bulk-len", "1mb"],
        leak(vec![
            "MSET".into(),
            "x".into(),
            a511.clone(),
            "y".into(),
            a511,
        ]),
        &["LCS", "x", "y", "LEN"],
        leak(vec![
            "MSET".into(),
            "x".into(),
            a512.clone(),
            "y".into(),
            a512,
        ]),
        &["LCS", "x", "y", "LEN"],
        &["LCS", "x", "y"],
        &["LCS", "x", "y", "IDX"],
        // Option errors come first.
        &["LCS", "x", "y", "LEN", "IDX"],
        &["LCS", "x", "y", "FOO"],
        &["LCS", "x", "nokey", "LEN"],
        &["CONFIG", "SET", "proto-max-bulk-len", "512mb"],
        &["LCS", "x", "y", "LEN"],
    ]);
}

#[test]
fn keyspace_hits_and_misses() {
    if !common::reference_available("keyspace_hits_and_misses") {
        return;
    }
    // Only the commands that read like GET count hits and misses (Redis's
    // lookupKeyRead); the writers that look a key up to change it do not.
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let script: &[Cmd] = &[
        &["SET", "a", "hello"],
        &["SET", "b", "help"],
        &["GETEX", "a"],
        &["GETEX", "nokey", "EX", "10"],
        &["GETRANGE", "a", "0", "1"],
        &["SUBSTR", "nokey", "0", "1"],
        &["GETSET", "b", "world"],
        &["GETSET", "c", "new"],
        &["LCS", "a", "b"],
        &["LCS", "a", "nokey"],
        &["SETRANGE", "a", "0", "J"],
        &["INCRBYFLOAT", "f", "1"],
        &["MSETNX", "m", "1"],
        &["GETDEL", "nokey"],
        &["GETDEL", "c"],
        &["SET", "a", "x", "GET"],
    ];
    run_on(script, &mut ours, &mut theirs);
    let stats = |conn: &mut common::Conn| -> Vec<String> {
        let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "stats"])).into_owned();
        info.lines()
            .filter(|l| l.starts_with("keyspace_hits:") || l.starts_with("keyspace_misses:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(stats(&mut ours), stats(&mut theirs));
}

#[test]
fn changes_since_last_save() {
    if !common::reference_available("changes_since_last_save") {
        return;
    }
    // Each command adds to Redis's dirty counter only when it changes something.
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let dirty = |conn: &mut common::Conn| -> String {
        let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "persistence"])).into_owned();
        info.lines()
            .find(|l| l.starts_with("rdb_changes_since_last_save:"))
            .unwrap_or("missing")
            .to_string()
    };
    let steps: &[Cmd] = &[
        &["SET", "a", "hello"],
        &["GETEX", "a"],
        &["GETEX", "a", "PERSIST"],
        &["GETEX", "a", "EX", "100"],
        &["GETEX", "a", "PERSIST"],
        &["GETEX", "nokey", "EX", "100"],
        &["GETEX", "a", "PXAT", "1"],
        &["SET", "a", "hello"],
        &["GETRANGE", "a", "0", "-1"],
        &["SETRANGE", "a", "0", ""],
        &["SETRANGE", "a", "0", "J"],
        &["SETRANGE", "new", "3", "x"],
        &["SETRANGE", "new2", "3", ""],
        &["INCRBYFLOAT", "f", "1.5"],
        &["INCRBYFLOAT", "f", "abc"],
        &["MSETNX", "m1", "1", "m2", "2"],
        &["MSETNX", "m1", "1", "m3", "3"],
        &["GETSET", "g", "1"],
        &["GETSET", "g", "2"],
        &["LCS", "a", "g"],
        &["GETDEL", "g"],
        &["GETDEL", "g"],
    ];
    for step in steps {
        let (a, b) = (ours.cmd(step), theirs.cmd(step));
        assert_eq!(render(&a), render(&b), "{}", render_cmd(step));
        assert_eq!(
            dirty(&mut ours),
            dirty(&mut theirs),
            "after {}",
            render_cmd(step)
        );
    }
}

#[test]
fn binary_values_round_trip() {
    if !common::reference_available("binary_values_round_trip") {
        return;
    }
    // Bytes that are not UTF-8, sent raw.
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let value: &[u8] = b"\xff\x00\xfe\r\n\x80abc\x00";
    let other: &[u8] = b"\x00\xffab\x80\xc3";
    let script: &[&[&[u8]]] = &[
        &[b"GETSET", b"k", value],
        &[b"GETSET", b"k", value],
        &[b"GETEX", b"k", b"PX", b"100000"],
        &[b"GETRANGE", b"k", b"1", b"-2"],
        &[b"SUBSTR", b"k", b"-3", b"-1"],
        &[b"SETRANGE", b"k", b"3", b"\xc0\xc1"],
        &[b"GET", b"k"],
        &[b"SETRANGE", b"\xffkey", b"4", b"\x00\x01"],
        &[b"GET", b"\xffkey"],
        &[b"MSETNX", b"\x01", value, b"\x02", other],
        &[b"MGET", b"\x01", b"\x02"],
        &[b"LCS", b"\x01", b"\x02"],
        &[b"LCS", b"\x01", b"\x02", b"IDX", b"WITHMATCHLEN"],
        &[b"LCS", b"k", b"\x02", b"LEN"],
        &[b"SET", b"f", b"\xff1"],
        &[b"INCRBYFLOAT", b"f", b"1"],
        &[b"INCRBYFLOAT", b"g", b"1\xff"],
        &[b"INCRBYFLOAT", b"g", b"\xa0 1"],
    ];
    let mut failed = Vec::new();
    for (i, words) in script.iter().enumerate() {
        ours.send_bytes(words);
        theirs.send_bytes(words);
        let (a, b) = (ours.read_reply(), theirs.read_reply());
        if a != b {
            let shown: Vec<String> = words.iter().map(|w| render(w)).collect();
            let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
            failed.push(format!(
                "#{i} {}\n  redlite: {}\n  redis:   {}",
                render_cmd(&shown),
                render(&a),
                render(&b)
            ));
        }
    }
    assert!(failed.is_empty(), "replies differ:\n{}", failed.join("\n"));
}
