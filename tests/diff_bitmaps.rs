//! Differential tests of the bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD, BITFIELD_RO): the same scripts on a fresh redlite and a fresh reference
//! redis-server 7.0, every reply compared byte for byte.
//!
//! Binary values are built with BITFIELD SET and SETBIT, since the script words are
//! `&str`. Besides the hand-written scripts, `range_sweeps` runs BITCOUNT and BITPOS over
//! every start/end pair in a window wider than the strings, in both BYTE and BIT modes.

mod common;

use std::time::Duration;

use common::diff::{run_on, run_script, Cmd, Pair};

const I64_MAX: &str = "9223372036854775807";
const I64_MIN: &str = "-9223372036854775808";

/// Leaks generated commands so they can be run as a script (tests only).
fn leak(cmds: Vec<Vec<String>>) -> Vec<Cmd> {
    cmds.into_iter()
        .map(|words| {
            let words: Vec<&'static str> = words
                .into_iter()
                .map(|w| &*Box::leak(w.into_boxed_str()))
                .collect();
            &*Box::leak(words.into_boxed_slice())
        })
        .collect()
}

#[test]
fn setbit_and_getbit() {
    if !common::reference_available("setbit_and_getbit") {
        return;
    }
    run_script(&[
        // A new key grows to the byte holding the bit; the reply is the old bit.
        &["SETBIT", "k", "7", "1"],
        &["GET", "k"],
        &["SETBIT", "k", "7", "1"],
        &["SETBIT", "k", "7", "0"],
        &["SETBIT", "k", "7", "0"],
        &["GET", "k"],
        &["SETBIT", "k", "0", "1"],
        &["SETBIT", "k", "23", "1"],
        &["GET", "k"],
        &["STRLEN", "k"],
        &["GETBIT", "k", "0"],
        &["GETBIT", "k", "1"],
        &["GETBIT", "k", "23"],
        &["GETBIT", "k", "24"],
        &["GETBIT", "k", "4294967295"],
        &["GETBIT", "nokey", "0"],
        &["GETBIT", "nokey", "4294967295"],
        &["setbit", "k", "100", "1"],
        &["STRLEN", "k"],
        &["GET", "k"],
        &["SeTbIt", "k", "100", "0"],
        &["STRLEN", "k"],
        // Existing strings: bits of their bytes, and integers by their decimal digits.
        &["SET", "s", "foobar"],
        &["GETBIT", "s", "1"],
        &["GETBIT", "s", "2"],
        &["SETBIT", "s", "0", "1"],
        &["GET", "s"],
        &["SETBIT", "s", "47", "1"],
        &["GET", "s"],
        &["SET", "n", "12345"],
        &["GETBIT", "n", "2"],
        &["GETBIT", "n", "3"],
        &["SETBIT", "n", "0", "1"],
        &["GET", "n"],
        &["INCR", "n"],
        &["SET", "n", "-1"],
        &["SETBIT", "n", "8", "1"],
        &["GET", "n"],
        &["SET", "e", ""],
        &["GETBIT", "e", "0"],
        &["SETBIT", "e", "3", "1"],
        &["GET", "e"],
        // SETBIT keeps the key's TTL.
        &["SET", "t", "x", "EX", "100"],
        &["SETBIT", "t", "1", "1"],
        &["PTTL", "t"],
        &["GET", "t"],
        // Offsets: a non-negative integer below 2^32 (the default proto-max-bulk-len).
        &["SETBIT", "k", "4294967296", "1"],
        &["SETBIT", "k", "-1", "1"],
        &["SETBIT", "k", "abc", "1"],
        &["SETBIT", "k", "", "1"],
        &["SETBIT", "k", "1.5", "1"],
        &["SETBIT", "k", "01", "1"],
        &["SETBIT", "k", "+1", "1"],
        &["SETBIT", "k", " 1", "1"],
        &["SETBIT", "k", "#1", "1"],
        &["SETBIT", "k", I64_MAX, "1"],
        &["SETBIT", "k", "9223372036854775808", "1"],
        &["SETBIT", "k", I64_MIN, "1"],
        &["SETBIT", "k", "99999999999999999999", "1"],
        &["GETBIT", "k", "4294967296"],
        &["GETBIT", "k", "-1"],
        &["GETBIT", "k", "x"],
        &["GETBIT", "k", ""],
        &["GETBIT", "k", "#0"],
        &["GETBIT", "k", "18446744073709551615"],
        // The value: only 0 or 1.
        &["SETBIT", "k", "1", "2"],
        &["SETBIT", "k", "1", "-1"],
        &["SETBIT", "k", "1", "a"],
        &["SETBIT", "k", "1", ""],
        &["SETBIT", "k", "1", "01"],
        &["SETBIT", "k", "1", "1.0"],
        &["SETBIT", "k", "1", "true"],
        &["SETBIT", "k", "1", "9223372036854775808"],
        // The offset is checked first, then the value, then the type.
        &["SETBIT", "k", "x", "2"],
        &["RPUSH", "list", "a"],
        &["SETBIT", "list", "0", "1"],
        &["SETBIT", "list", "x", "1"],
        &["SETBIT", "list", "0", "x"],
        &["GETBIT", "list", "0"],
        &["GETBIT", "list", "x"],
        // Arity.
        &["SETBIT"],
        &["SETBIT", "k"],
        &["SETBIT", "k", "0"],
        &["SETBIT", "k", "0", "1", "1"],
        &["GETBIT"],
        &["GETBIT", "k"],
        &["GETBIT", "k", "0", "1"],
        &["EXISTS", "nokey"],
        &["DBSIZE"],
    ]);
}

/// Offsets are limited by proto-max-bulk-len (its minimum, 1mb, keeps the strings small),
/// and growth is allowed up to the byte of the last bit written.
#[test]
fn offsets_follow_proto_max_bulk_len() {
    if !common::reference_available("offsets_follow_proto_max_bulk_len") {
        return;
    }
    run_script(&[
        &["CONFIG", "SET", "proto-max-bulk-len", "1048576"],
        &["SETBIT", "k", "8388608", "1"],
        &["GETBIT", "k", "8388608"],
        &["SETBIT", "k", "8388607", "1"],
        &["STRLEN", "k"],
        &["GETBIT", "k", "8388607"],
        &["BITCOUNT", "k"],
        &["BITPOS", "k", "1"],
        &["BITPOS", "k", "0", "-1"],
        &["BITFIELD", "k", "GET", "u8", "8388608"],
        &["BITFIELD", "k", "GET", "i8", "8388607"],
        &["BITFIELD", "k", "GET", "u8", "#1048575"],
        &["BITFIELD", "k", "GET", "u8", "#1048576"],
        // A field may start in the last allowed byte and run past it.
        &["BITFIELD", "k", "SET", "i8", "8388607", "1"],
        &["STRLEN", "k"],
        &[
            "BITFIELD", "k", "GET", "i8", "8388607", "GET", "u1", "8388608",
        ],
        &["BITFIELD_RO", "k", "GET", "u63", "8388607"],
        &["BITFIELD", "k", "INCRBY", "u63", "#133152", "1"],
        &["BITFIELD", "k", "INCRBY", "u63", "#133153", "1"],
        &["STRLEN", "k"],
        &["BITOP", "NOT", "k2", "k"],
        &["BITCOUNT", "k2"],
        &["BITPOS", "k2", "0"],
        &["BITPOS", "k2", "1", "-3", "-1", "BYTE"],
        &["CONFIG", "SET", "proto-max-bulk-len", "536870912"],
        &["GETBIT", "k", "8388608"],
        &["GETBIT", "k", "4294967295"],
        &["GETBIT", "k", "4294967296"],
        &["SETBIT", "k", "4294967296", "1"],
    ]);
}

#[test]
fn bitcount() {
    if !common::reference_available("bitcount") {
        return;
    }
    run_script(&[
        &["SET", "s", "foobar"],
        &["BITCOUNT", "s"],
        &["BITCOUNT", "s", "0", "0"],
        &["BITCOUNT", "s", "1", "1"],
        &["BITCOUNT", "s", "0", "-1"],
        &["BITCOUNT", "s", "-2", "-1"],
        &["BITCOUNT", "s", "-1", "-2"],
        &["BITCOUNT", "s", "2", "1"],
        &["BITCOUNT", "s", "-100", "100"],
        &["BITCOUNT", "s", "100", "200"],
        &["BITCOUNT", "s", "-100", "-50"],
        &["BITCOUNT", "s", "5", "5"],
        &["BITCOUNT", "s", "6", "6"],
        &["BITCOUNT", "s", "0", "-7"],
        &["BITCOUNT", "s", "-7", "0"],
        &["BITCOUNT", "s", I64_MIN, I64_MAX],
        &["BITCOUNT", "s", I64_MAX, I64_MIN],
        // BYTE and BIT modes, any case.
        &["BITCOUNT", "s", "0", "-1", "BYTE"],
        &["BITCOUNT", "s", "1", "1", "byte"],
        &["BITCOUNT", "s", "0", "-1", "BIT"],
        &["BITCOUNT", "s", "5", "30", "BIT"],
        &["BITCOUNT", "s", "5", "30", "bit"],
        &["BITCOUNT", "s", "1", "1", "bIt"],
        &["BITCOUNT", "s", "0", "0", "BIT"],
        &["BITCOUNT", "s", "7", "7", "BIT"],
        &["BITCOUNT", "s", "8", "15", "BIT"],
        &["BITCOUNT", "s", "9", "14", "BIT"],
        &["BITCOUNT", "s", "-1", "-1", "BIT"],
        &["BITCOUNT", "s", "-8", "-1", "BIT"],
        &["BITCOUNT", "s", "-48", "-1", "BIT"],
        &["BITCOUNT", "s", "-49", "-1", "BIT"],
        &["BITCOUNT", "s", "47", "100", "BIT"],
        &["BITCOUNT", "s", "48", "100", "BIT"],
        &["BITCOUNT", "s", "3", "2", "BIT"],
        &["BITCOUNT", "s", I64_MIN, I64_MAX, "BIT"],
        &["BITCOUNT", "s", I64_MAX, I64_MIN, "BIT"],
        // The mode word as a C string: what follows a NUL is ignored.
        &["BITCOUNT", "s", "5", "30", "bit\0junk"],
        &["BITCOUNT", "s", "5", "30", "byte\0"],
        &["BITCOUNT", "s", "5", "30", "\0bit"],
        // Syntax and integer errors, in Redis's order: integers, then (unless both are
        // negative and start > end) the mode word.
        &["BITCOUNT", "s", "0"],
        &["BITCOUNT", "s", "0", "1", "BIT", "x"],
        &["BITCOUNT", "s", "0", "1", "2", "3"],
        &["BITCOUNT", "s", "0", "1", "bits"],
        &["BITCOUNT", "s", "0", "1", ""],
        &["BITCOUNT", "s", "a", "1"],
        &["BITCOUNT", "s", "1", "a"],
        &["BITCOUNT", "s", "a", "b", "foo"],
        &["BITCOUNT", "s", "1", "b", "foo"],
        &["BITCOUNT", "s", "-1", "-2", "foo"],
        &["BITCOUNT", "s", "-2", "-1", "foo"],
        &["BITCOUNT", "s", "2", "1", "foo"],
        &["BITCOUNT", "s", "1.0", "2"],
        &["BITCOUNT", "s", "0", "9223372036854775808"],
        &["BITCOUNT", "s", " 0", "1"],
        // A missing key counts 0 whatever the arguments; a wrong type is an error first.
        &["BITCOUNT", "nokey"],
        &["BITCOUNT", "nokey", "0", "-1"],
        &["BITCOUNT", "nokey", "a", "b"],
        &["BITCOUNT", "nokey", "1"],
        &["BITCOUNT", "nokey", "1", "2", "foo"],
        &["BITCOUNT", "nokey", "1", "2", "3", "4"],
        &["RPUSH", "list", "a"],
        &["BITCOUNT", "list"],
        &["BITCOUNT", "list", "0", "-1"],
        &["BITCOUNT", "list", "a"],
        &["BITCOUNT", "list", "a", "b", "c", "d"],
        // Empty strings, integers, binary values.
        &["SET", "e", ""],
        &["BITCOUNT", "e"],
        &["BITCOUNT", "e", "0", "-1"],
        &["BITCOUNT", "e", "0", "-1", "BIT"],
        &["BITCOUNT", "e", "-1", "0"],
        &["SET", "n", "-12345"],
        &["BITCOUNT", "n"],
        &["BITCOUNT", "n", "1", "-2", "BIT"],
        &[
            "BITFIELD",
            "b",
            "SET",
            "u32",
            "0",
            "4294967295",
            "SET",
            "u32",
            "32",
            "2863311530",
        ],
        &[
            "BITFIELD", "b", "SET", "u16", "64", "1", "SET", "u8", "80", "128",
        ],
        &["BITCOUNT", "b"],
        &["BITCOUNT", "b", "4", "7"],
        &["BITCOUNT", "b", "31", "32", "BIT"],
        &["BITCOUNT", "b", "33", "62", "BIT"],
        &["BITCOUNT", "b", "79", "80", "BIT"],
        &["BITCOUNT", "b", "-9", "-8", "BIT"],
        &["SETBIT", "big", "10000", "1"],
        &["SETBIT", "big", "3", "1"],
        &["SETBIT", "big", "5000", "1"],
        &["BITCOUNT", "big"],
        &["BITCOUNT", "big", "1", "-1"],
        &["BITCOUNT", "big", "4", "5000", "BIT"],
        &["BITCOUNT", "big", "4", "4999", "BIT"],
        &["BITCOUNT", "big", "-7000", "-1", "BIT"],
        // Arity.
        &["BITCOUNT"],
    ]);
}

#[test]
fn bitpos() {
    if !common::reference_available("bitpos") {
        return;
    }
    run_script(&[
        // \xff\xf0\x00
        &["BITFIELD", "k", "SET", "u24", "0", "16773120"],
        &["GET", "k"],
        &["BITPOS", "k", "0"],
        &["BITPOS", "k", "1"],
        &["BITPOS", "k", "0", "0"],
        &["BITPOS", "k", "0", "1"],
        &["BITPOS", "k", "0", "2"],
        &["BITPOS", "k", "0", "3"],
        &["BITPOS", "k", "1", "2"],
        &["BITPOS", "k", "1", "-1"],
        &["BITPOS", "k", "0", "-1"],
        &["BITPOS", "k", "0", "0", "0"],
        &["BITPOS", "k", "0", "0", "1"],
        &["BITPOS", "k", "0", "1", "1"],
        &["BITPOS", "k", "1", "2", "2"],
        &["BITPOS", "k", "1", "2", "-1"],
        &["BITPOS", "k", "1", "1", "0"],
        &["BITPOS", "k", "0", "-100", "100"],
        &["BITPOS", "k", "0", "100"],
        &["BITPOS", "k", "1", "100"],
        &["BITPOS", "k", "0", I64_MIN, I64_MAX],
        &["BITPOS", "k", "0", I64_MAX],
        // BIT mode.
        &["BITPOS", "k", "0", "0", "-1", "BIT"],
        &["BITPOS", "k", "1", "0", "-1", "bit"],
        &["BITPOS", "k", "1", "7", "15", "BIT"],
        &["BITPOS", "k", "0", "7", "15", "BIT"],
        &["BITPOS", "k", "0", "3", "11", "BIT"],
        &["BITPOS", "k", "0", "12", "12", "BIT"],
        &["BITPOS", "k", "0", "11", "11", "BIT"],
        &["BITPOS", "k", "1", "12", "23", "BIT"],
        &["BITPOS", "k", "1", "13", "100", "BIT"],
        &["BITPOS", "k", "0", "13", "100", "BIT"],
        &["BITPOS", "k", "0", "-12", "-1", "BIT"],
        &["BITPOS", "k", "1", "-13", "-1", "BIT"],
        &["BITPOS", "k", "1", "-13", "-13", "BIT"],
        &["BITPOS", "k", "1", "5", "3", "BIT"],
        &["BITPOS", "k", "0", "0", "-1", "BYTE"],
        &["BITPOS", "k", "0", "0", "-1", "byte"],
        &["BITPOS", "k", "0", "0", "-1", "bit\0x"],
        // All ones: looking for 0 without an end finds the bit past the string; with an
        // end, there is none.
        &["BITFIELD", "ones", "SET", "u16", "0", "65535"],
        &["BITPOS", "ones", "0"],
        &["BITPOS", "ones", "0", "0"],
        &["BITPOS", "ones", "0", "1"],
        &["BITPOS", "ones", "0", "2"],
        &["BITPOS", "ones", "0", "0", "-1"],
        &["BITPOS", "ones", "0", "0", "1"],
        &["BITPOS", "ones", "0", "0", "-1", "BYTE"],
        &["BITPOS", "ones", "0", "0", "-1", "BIT"],
        &["BITPOS", "ones", "0", "3", "12", "BIT"],
        &["BITPOS", "ones", "0", "3", "4", "BIT"],
        &["BITPOS", "ones", "1", "3", "4", "BIT"],
        &["BITPOS", "ones", "1"],
        // All zeros.
        &["SETBIT", "zeros", "23", "0"],
        &["BITPOS", "zeros", "1"],
        &["BITPOS", "zeros", "0"],
        &["BITPOS", "zeros", "1", "0", "-1"],
        &["BITPOS", "zeros", "1", "0", "-1", "BIT"],
        &["BITPOS", "zeros", "1", "2", "20", "BIT"],
        &["BITPOS", "zeros", "0", "5", "20", "BIT"],
        &["BITPOS", "zeros", "0", "1"],
        // Empty strings and empty ranges.
        &["SET", "e", ""],
        &["BITPOS", "e", "0"],
        &["BITPOS", "e", "1"],
        &["BITPOS", "e", "0", "0"],
        &["BITPOS", "e", "0", "0", "-1"],
        &["BITPOS", "e", "1", "0", "-1", "BIT"],
        &["SET", "s", "foobar"],
        &["BITPOS", "s", "1", "3", "2"],
        &["BITPOS", "s", "0", "3", "2"],
        &["BITPOS", "s", "1", "-1", "-2"],
        &["BITPOS", "s", "0", "-2", "-100"],
        &["BITPOS", "s", "1", "6"],
        &["BITPOS", "s", "0", "6"],
        &["BITPOS", "s", "0", "6", "10"],
        // Integers are their decimal digits.
        &["SET", "n", "10"],
        &["BITPOS", "n", "1"],
        &["BITPOS", "n", "0", "1"],
        &["BITPOS", "n", "1", "9", "15", "BIT"],
        // Missing keys: an endless run of zeros, whatever the range.
        &["BITPOS", "nokey", "0"],
        &["BITPOS", "nokey", "1"],
        &["BITPOS", "nokey", "1", "a"],
        &["BITPOS", "nokey", "0", "a", "b", "c"],
        &["BITPOS", "nokey", "1", "1", "2", "3", "4"],
        &["BITPOS", "nokey", "2"],
        &["BITPOS", "nokey", "a"],
        // The bit argument, checked first.
        &["BITPOS", "k", "2"],
        &["BITPOS", "k", "-1"],
        &["BITPOS", "k", "a"],
        &["BITPOS", "k", ""],
        &["BITPOS", "k", "01"],
        &["BITPOS", "k", "1.0"],
        &["BITPOS", "k", "9223372036854775808"],
        &["RPUSH", "list", "a"],
        &["BITPOS", "list", "1"],
        &["BITPOS", "list", "2"],
        &["BITPOS", "list", "1", "a"],
        &["BITPOS", "list", "1", "1", "2", "3", "4"],
        // Range errors: start, then the mode word, then end.
        &["BITPOS", "k", "1", "a"],
        &["BITPOS", "k", "1", "0", "a"],
        &["BITPOS", "k", "1", "a", "b", "BIT"],
        &["BITPOS", "k", "1", "a", "2", "foo"],
        &["BITPOS", "k", "1", "1", "a", "foo"],
        &["BITPOS", "k", "1", "1", "a", "BIT"],
        &["BITPOS", "k", "1", "1", "2", "foo"],
        &["BITPOS", "k", "1", "1", "2", ""],
        &["BITPOS", "k", "1", "1", "2", "BIT", "x"],
        &["BITPOS", "k", "1", "1", "2", "3", "4"],
        // Arity.
        &["BITPOS"],
        &["BITPOS", "k"],
    ]);
}

/// BITCOUNT and BITPOS over every start/end pair in a window wider than the strings, in
/// both modes, on strings chosen to have partial bytes at both ends.
#[test]
fn range_sweeps() {
    if !common::reference_available("range_sweeps") {
        return;
    }
    let mut cmds: Vec<Vec<String>> = Vec::new();
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // \xff\xf0 / \x0f\x01 / \x00\x00 / \xff\xff / \x81\x18, then a 3-byte \xa5\x00\xff.
    // (key, bits, value); the BIT-mode window reaches 2 bits past either end.
    let values = [
        ("a", 16, "65520"),
        ("b", 16, "3841"),
        ("c", 16, "0"),
        ("d", 16, "65535"),
        ("e", 16, "33048"),
        ("f", 24, "10813695"),
    ];
    for (key, bits, v) in values {
        cmds.push(words(&[
            "BITFIELD",
            key,
            "SET",
            &format!("u{bits}"),
            "0",
            v,
        ]));
    }
    for (key, bits, _) in values {
        let window = -(bits + 2)..=bits + 2;
        for start in window.clone() {
            for end in window.clone() {
                let (s, e) = (start.to_string(), end.to_string());
                cmds.push(words(&["BITCOUNT", key, &s, &e, "BIT"]));
                for bit in ["0", "1"] {
                    cmds.push(words(&["BITPOS", key, bit, &s, &e, "BIT"]));
                }
            }
        }
        for start in -4..=4 {
            let s = start.to_string();
            for bit in ["0", "1"] {
                cmds.push(words(&["BITPOS", key, bit, &s]));
            }
            for end in -4..=4 {
                let e = end.to_string();
                cmds.push(words(&["BITCOUNT", key, &s, &e]));
                for bit in ["0", "1"] {
                    cmds.push(words(&["BITPOS", key, bit, &s, &e]));
                    cmds.push(words(&["BITPOS", key, bit, &s, &e, "BYTE"]));
                }
            }
        }
    }
    run_script(&leak(cmds));
}

#[test]
fn bitop() {
    if !common::reference_available("bitop") {
        return;
    }
    run_script(&[
        &["BITFIELD", "a", "SET", "u16", "0", "65280"],
        &["BITFIELD", "b", "SET", "u24", "0", "15790320"],
        &["SET", "c", "x"],
        &["BITOP", "AND", "d", "a", "b"],
        &["GET", "d"],
        &["BITOP", "OR", "d", "a", "b"],
        &["GET", "d"],
        &["BITOP", "XOR", "d", "a", "b"],
        &["GET", "d"],
        &["BITOP", "NOT", "d", "a"],
        &["GET", "d"],
        &["BITOP", "NOT", "d", "b"],
        &["GET", "d"],
        &["BITOP", "and", "d", "a", "b", "c"],
        &["GET", "d"],
        &["BITOP", "or", "d", "a", "b", "c"],
        &["GET", "d"],
        &["BITOP", "xor", "d", "a", "b", "c"],
        &["GET", "d"],
        &["BITOP", "Xor", "d", "a", "a"],
        &["GET", "d"],
        &["BITOP", "oR", "d", "c"],
        &["GET", "d"],
        &["BITOP", "AND", "d", "a"],
        &["GET", "d"],
        // Missing keys are empty strings: AND with one gives zeros.
        &["BITOP", "AND", "d", "a", "nokey"],
        &["GET", "d"],
        &["BITOP", "AND", "d", "nokey", "a"],
        &["GET", "d"],
        &["BITOP", "OR", "d", "nokey", "a", "nokey2"],
        &["GET", "d"],
        &["BITOP", "XOR", "d", "nokey", "b"],
        &["GET", "d"],
        // An empty result deletes the destination (and says 0).
        &["BITOP", "OR", "d", "nokey", "nokey2"],
        &["EXISTS", "d"],
        &["BITOP", "OR", "d", "nokey"],
        &["BITOP", "NOT", "d", "nokey"],
        &["EXISTS", "d"],
        &["SET", "e", ""],
        &["SET", "d", "old"],
        &["BITOP", "NOT", "d", "e"],
        &["EXISTS", "d"],
        &["SET", "d", "old"],
        &["BITOP", "AND", "d", "e", "nokey"],
        &["EXISTS", "d"],
        &["RPUSH", "dlist", "x"],
        &["BITOP", "XOR", "dlist", "nokey", "e"],
        &["EXISTS", "dlist"],
        &["SET", "d", "old", "EX", "100"],
        &["BITOP", "NOT", "d", "nokey"],
        &["EXISTS", "d"],
        // The destination is replaced whatever its type, and loses its TTL.
        &["RPUSH", "list", "x"],
        &["BITOP", "OR", "list", "a"],
        &["TYPE", "list"],
        &["GET", "list"],
        &["SET", "t", "x", "EX", "100"],
        &["BITOP", "OR", "t", "a"],
        &["PTTL", "t"],
        // A source may be the destination.
        &["BITOP", "NOT", "a", "a"],
        &["GET", "a"],
        &["BITOP", "XOR", "a", "a", "b"],
        &["GET", "a"],
        // Integers are their decimal digits.
        &["SET", "n", "123"],
        &["BITOP", "NOT", "d", "n"],
        &["GET", "d"],
        &["BITOP", "XOR", "d", "n", "c"],
        &["GET", "d"],
        // Longer strings (past the word-at-a-time fast path of Redis).
        &["SETBIT", "long1", "400", "1"],
        &["SETBIT", "long1", "3", "1"],
        &["SETBIT", "long2", "300", "1"],
        &["SETBIT", "long2", "3", "1"],
        &["BITOP", "AND", "d", "long1", "long2"],
        &["GET", "d"],
        &["BITOP", "OR", "d", "long1", "long2"],
        &["BITCOUNT", "d"],
        &["BITOP", "XOR", "d", "long1", "long2", "long1"],
        &["GET", "d"],
        &["BITOP", "NOT", "d", "long1"],
        &["BITCOUNT", "d"],
        // Wrong types, wherever they are in the list; nothing is written.
        &["RPUSH", "l", "a"],
        &["SET", "d", "keep"],
        &["BITOP", "AND", "d", "l"],
        &["BITOP", "AND", "d", "a", "l"],
        &["BITOP", "AND", "d", "nokey", "l"],
        &["BITOP", "OR", "d", "a", "b", "l"],
        &["BITOP", "NOT", "d", "l"],
        &["GET", "d"],
        &["BITOP", "AND", "l", "a"],
        &["TYPE", "l"],
        // The operation name, as a C string.
        &["BITOP", "and\0junk", "d", "a", "b"],
        &["GET", "d"],
        &["BITOP", "FOO", "d", "a"],
        &["BITOP", "ANDX", "d", "a"],
        &["BITOP", "", "d", "a"],
        &["BITOP", "\0and", "d", "a"],
        &["BITOP", "FOO", "d", "l"],
        // NOT takes exactly one source.
        &["BITOP", "NOT", "d", "a", "b"],
        &["BITOP", "not", "d", "a", "b", "c"],
        &["BITOP", "NOT", "d", "l", "b"],
        // Arity.
        &["BITOP"],
        &["BITOP", "AND"],
        &["BITOP", "AND", "d"],
        &["BITOP", "NOT", "d"],
        &["DBSIZE"],
    ]);
}

#[test]
fn bitfield() {
    if !common::reference_available("bitfield") {
        return;
    }
    run_script(&[
        // GET on a missing key reads zeros, and creates nothing.
        &["BITFIELD", "nokey", "GET", "u8", "0"],
        &["BITFIELD", "nokey"],
        &["EXISTS", "nokey"],
        // SET returns the old value; INCRBY the new one.
        &["BITFIELD", "k", "SET", "i8", "0", "100"],
        &["BITFIELD", "k", "GET", "i8", "0"],
        &["BITFIELD", "k", "INCRBY", "i8", "0", "10"],
        &["BITFIELD", "k", "SET", "u5", "7", "23"],
        &["GET", "k"],
        &[
            "BITFIELD", "k", "GET", "u5", "7", "GET", "i5", "7", "GET", "u1", "7",
        ],
        &[
            "BITFIELD", "k", "GET", "u8", "0", "GET", "u8", "8", "GET", "u16", "0",
        ],
        &[
            "BITFIELD", "k", "SET", "u8", "#1", "255", "GET", "u8", "#1", "GET", "i8", "#1",
        ],
        &[
            "BITFIELD", "k", "INCRBY", "u2", "100", "1", "GET", "u2", "100",
        ],
        &["STRLEN", "k"],
        // Widths up to i64 and u63.
        &[
            "BITFIELD", "w", "SET", "i64", "0", "-1", "GET", "i64", "0", "GET", "u63", "0",
        ],
        &[
            "BITFIELD", "w", "SET", "i64", "3", I64_MIN, "GET", "i64", "3",
        ],
        &[
            "BITFIELD", "w", "SET", "u63", "1", I64_MAX, "GET", "u63", "1",
        ],
        &[
            "BITFIELD", "w", "GET", "i64", "0", "GET", "u63", "0", "GET", "i1", "0", "GET", "u1",
            "0",
        ],
        &[
            "BITFIELD", "w", "GET", "i64", "65", "GET", "i64", "100", "GET", "u63", "1000",
        ],
        &["GET", "w"],
        // Reads past the end see zeros.
        &["SET", "s", "\u{7f}"],
        &[
            "BITFIELD", "s", "GET", "u16", "0", "GET", "i16", "1", "GET", "i64", "4",
        ],
        // Overflow: WRAP (the default), SAT and FAIL; OVERFLOW applies to what follows.
        &[
            "BITFIELD", "o", "SET", "u8", "0", "255", "INCRBY", "u8", "0", "10",
        ],
        &[
            "BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "1000", "INCRBY", "u8", "0",
            "-1000",
        ],
        &[
            "BITFIELD", "o", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "256", "INCRBY", "u8", "0",
            "-1",
        ],
        &[
            "BITFIELD", "o", "OVERFLOW", "WRAP", "INCRBY", "u8", "0", "-1", "INCRBY", "u8", "0",
            "257",
        ],
        &[
            "BITFIELD", "o", "SET", "i8", "0", "127", "INCRBY", "i8", "0", "1", "INCRBY", "i8",
            "0", "-1",
        ],
        &[
            "BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "1000", "INCRBY", "i8", "0",
            "-1000",
        ],
        &[
            "BITFIELD", "o", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "200", "GET", "i8", "0",
        ],
        &[
            "BITFIELD", "o", "OVERFLOW", "sat", "SET", "u8", "0", "-1", "SET", "i8", "0", "-1000",
            "SET", "i8", "0", "1000",
        ],
        &[
            "BITFIELD", "o", "overflow", "wrap", "SET", "u8", "0", "-1", "SET", "i8", "0", "-1000",
            "SET", "i8", "0", "1000",
        ],
        &[
            "BITFIELD", "o", "OVERFLOW", "fAiL", "SET", "i8", "0", "128", "SET", "i8", "0", "-129",
            "SET", "u8", "0", "256", "SET", "u8", "0", "-1", "SET", "i8", "0", "-128",
        ],
        &["GET", "o"],
        &[
            "BITFIELD", "o", "OVERFLOW", "FAIL", "SET", "u8", "0", "1", "OVERFLOW", "WRAP", "SET",
            "u8", "0", "257", "OVERFLOW", "SAT", "SET", "u8", "0", "257",
        ],
        &[
            "BITFIELD", "o", "OVERFLOW", "SAT", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "4",
        ],
        // 64-bit signed and 63-bit unsigned edges.
        &[
            "BITFIELD", "x", "SET", "i64", "0", I64_MAX, "INCRBY", "i64", "0", "1",
        ],
        &[
            "BITFIELD", "x", "INCRBY", "i64", "0", "-1", "INCRBY", "i64", "0", I64_MIN,
        ],
        &[
            "BITFIELD", "x", "OVERFLOW", "SAT", "SET", "i64", "0", I64_MAX, "INCRBY", "i64", "0",
            I64_MAX,
        ],
        &[
            "BITFIELD", "x", "OVERFLOW", "SAT", "SET", "i64", "0", I64_MIN, "INCRBY", "i64", "0",
            "-1", "INCRBY", "i64", "0", I64_MAX,
        ],
        &[
            "BITFIELD", "x", "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "-2", "INCRBY", "i64", "0",
            I64_MIN, "INCRBY", "i64", "0", I64_MAX,
        ],
        &[
            "BITFIELD", "x", "OVERFLOW", "WRAP", "INCRBY", "i64", "0", I64_MAX, "INCRBY", "i64",
            "0", I64_MAX,
        ],
        &[
            "BITFIELD", "x", "SET", "u63", "0", I64_MAX, "INCRBY", "u63", "0", "1",
        ],
        &[
            "BITFIELD", "x", "OVERFLOW", "SAT", "INCRBY", "u63", "0", "-1", "INCRBY", "u63", "0",
            I64_MIN,
        ],
        &[
            "BITFIELD", "x", "OVERFLOW", "SAT", "SET", "u63", "0", "-1", "INCRBY", "u63", "0",
            I64_MAX,
        ],
        &[
            "BITFIELD", "x", "OVERFLOW", "FAIL", "INCRBY", "u63", "0", "1", "SET", "u63", "0",
            "-1", "SET", "u63", "0", I64_MIN,
        ],
        &[
            "BITFIELD", "x", "OVERFLOW", "WRAP", "SET", "u63", "0", I64_MIN, "SET", "u1", "0",
            "-1", "SET", "i1", "0", "1", "GET", "i1", "0",
        ],
        &[
            "BITFIELD", "x", "OVERFLOW", "SAT", "SET", "i1", "0", "1", "SET", "i1", "0", "-2",
            "INCRBY", "i1", "0", "5", "INCRBY", "i1", "0", "-5",
        ],
        &[
            "BITFIELD", "x", "OVERFLOW", "WRAP", "INCRBY", "i3", "5", "-5", "INCRBY", "i3", "5",
            "7", "INCRBY", "u3", "5", "-9", "INCRBY", "i63", "1", I64_MIN,
        ],
        &["GET", "x"],
        // Writes create and grow the key before they run, even when they all FAIL.
        &[
            "BITFIELD", "new", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "7",
        ],
        &["GET", "new"],
        &[
            "BITFIELD", "new", "GET", "u8", "200", "SET", "u8", "#20", "1", "GET", "u8", "200",
        ],
        &["STRLEN", "new"],
        // A write keeps the TTL.
        &["SET", "t", "abc", "EX", "100"],
        &["BITFIELD", "t", "SET", "u8", "0", "65"],
        &["PTTL", "t"],
        &["GET", "t"],
        // # offsets are multiplied by the width (in wrapping 64-bit arithmetic).
        &[
            "BITFIELD", "h", "SET", "u4", "#0", "1", "SET", "u4", "#1", "2", "SET", "u4", "#3",
            "15",
        ],
        &["GET", "h"],
        &["BITFIELD", "h", "GET", "u4", "#4611686018427387904"],
        &["BITFIELD", "h", "GET", "u8", "#2305843009213693953"],
        &["BITFIELD", "h", "GET", "i2", "#-4611686018427387904"],
        &["BITFIELD", "h", "GET", "u8", "#536870911"],
        &["BITFIELD", "h", "GET", "u8", "#536870912"],
        &["BITFIELD", "h", "GET", "u8", "#-1"],
        &["BITFIELD", "h", "GET", "u8", "##1"],
        &["BITFIELD", "h", "GET", "u8", "#"],
        &["BITFIELD", "h", "GET", "u8", "#01"],
        &["BITFIELD", "h", "GET", "u8", "# 1"],
        &["BITFIELD", "h", "GET", "u8", "1#"],
        // Types.
        &[
            "BITFIELD", "h", "GET", "i64", "0", "GET", "u63", "0", "GET", "i1", "0", "GET", "u1",
            "0",
        ],
        &["BITFIELD", "h", "GET", "u64", "0"],
        &["BITFIELD", "h", "GET", "i65", "0"],
        &["BITFIELD", "h", "GET", "i0", "0"],
        &["BITFIELD", "h", "GET", "u0", "0"],
        &["BITFIELD", "h", "GET", "I8", "0"],
        &["BITFIELD", "h", "GET", "U8", "0"],
        &["BITFIELD", "h", "GET", "i", "0"],
        &["BITFIELD", "h", "GET", "", "0"],
        &["BITFIELD", "h", "GET", "x8", "0"],
        &["BITFIELD", "h", "GET", "i08", "0"],
        &["BITFIELD", "h", "GET", "i+8", "0"],
        &["BITFIELD", "h", "GET", "i-8", "0"],
        &["BITFIELD", "h", "GET", "i8 ", "0"],
        &["BITFIELD", "h", "GET", "i8\0junk", "0"],
        &["BITFIELD", "h", "GET", "u99999999999999999999", "0"],
        // Offsets.
        &["BITFIELD", "h", "GET", "u8", "-1"],
        &["BITFIELD", "h", "GET", "u8", "x"],
        &["BITFIELD", "h", "GET", "u8", ""],
        &["BITFIELD", "h", "GET", "u8", "4294967295"],
        &["BITFIELD", "h", "GET", "u8", "4294967296"],
        &["BITFIELD", "h", "GET", "u8", "9223372036854775808"],
        &["BITFIELD", "h", "SET", "u8", "4294967296", "1"],
        // Values.
        &["BITFIELD", "h", "SET", "u8", "0", "x"],
        &["BITFIELD", "h", "SET", "u8", "0", ""],
        &["BITFIELD", "h", "SET", "u8", "0", "1.5"],
        &["BITFIELD", "h", "INCRBY", "u8", "0", "9223372036854775808"],
        &["BITFIELD", "h", "INCRBY", "u8", "0", "-9223372036854775809"],
        // Subcommands and OVERFLOW words, as C strings and in any case.
        &["BITFIELD", "h", "get", "u8", "0", "Get", "u8", "8"],
        &["BITFIELD", "h", "get\0x", "u8", "0"],
        &[
            "BITFIELD", "h", "OVERFLOW", "sat\0x", "INCRBY", "u8", "0", "1000",
        ],
        &["BITFIELD", "h", "OVERFLOW", "FOO"],
        &["BITFIELD", "h", "OVERFLOW", ""],
        &["BITFIELD", "h", "OVERFLOW", "FOO", "GET", "i8", "x"],
        &["BITFIELD", "h", "GET", "i8", "x", "OVERFLOW", "FOO"],
        &["BITFIELD", "h", "GET", "i99", "x"],
        &["BITFIELD", "h", "SET", "i99", "x", "y"],
        &["BITFIELD", "h", "SET", "i8", "x", "y"],
        &["BITFIELD", "h", "SET", "i8", "0", "y", "GET", "i99", "0"],
        // Syntax errors: unknown subcommands and missing arguments.
        &["BITFIELD", "h", "FOO"],
        &["BITFIELD", "h", "FOO", "u8", "0"],
        &["BITFIELD", "h", "GET"],
        &["BITFIELD", "h", "GET", "u8"],
        &["BITFIELD", "h", "GET", "u8", "0", "GET"],
        &["BITFIELD", "h", "GET", "u8", "0", "GET", "u8"],
        &["BITFIELD", "h", "SET", "u8", "0"],
        &["BITFIELD", "h", "INCRBY", "u8", "0"],
        &["BITFIELD", "h", "OVERFLOW"],
        &["BITFIELD", "h", "GET", "u8", "0", "OVERFLOW"],
        &["BITFIELD", "h", "OVERFLOW", "SAT", "OVERFLOW"],
        &["BITFIELD", "h", "GET", "u8", "0", "extra"],
        &["BITFIELD", "h", "SET", "u8", "0", "1", "2"],
        &["BITFIELD", "h", "SET", "u8", "0", "1", "GET"],
        &["BITFIELD", "h", "OVERFLOW", "WRAP"],
        &["GET", "h"],
        // Wrong type: reads and writes alike, but only after parsing.
        &["RPUSH", "list", "a"],
        &["BITFIELD", "list"],
        &["BITFIELD", "list", "GET", "u8", "0"],
        &["BITFIELD", "list", "SET", "u8", "0", "1"],
        &[
            "BITFIELD", "list", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1000",
        ],
        &["BITFIELD", "list", "GET", "u64", "0"],
        &["BITFIELD", "list", "FOO"],
        &["TYPE", "list"],
        // Integers are their decimal digits.
        &["SET", "n", "42"],
        &["BITFIELD", "n", "GET", "u8", "0", "GET", "u16", "0"],
        &["BITFIELD", "n", "INCRBY", "u8", "8", "1"],
        &["GET", "n"],
        // Arity.
        &["BITFIELD"],
        &["DBSIZE"],
    ]);
}

#[test]
fn bitfield_ro() {
    if !common::reference_available("bitfield_ro") {
        return;
    }
    run_script(&[
        &[
            "BITFIELD", "k", "SET", "i16", "0", "-300", "SET", "u8", "16", "200",
        ],
        &[
            "BITFIELD_RO",
            "k",
            "GET",
            "i16",
            "0",
            "GET",
            "u8",
            "16",
            "GET",
            "u4",
            "#5",
        ],
        &["bitfield_ro", "k", "get", "i64", "0"],
        &["BITFIELD_RO", "k", "GET", "u63", "100"],
        &["BITFIELD_RO", "k"],
        &["BITFIELD_RO", "nokey", "GET", "u8", "0"],
        &["BITFIELD_RO", "nokey"],
        &["EXISTS", "nokey"],
        // OVERFLOW is accepted (it changes nothing for GET).
        &["BITFIELD_RO", "k", "OVERFLOW", "SAT", "GET", "u8", "0"],
        &["BITFIELD_RO", "k", "OVERFLOW", "FOO", "GET", "u8", "0"],
        // Only GET: writes are refused after parsing, before the key is looked at.
        &["BITFIELD_RO", "k", "SET", "u8", "0", "1"],
        &[
            "BITFIELD_RO",
            "k",
            "GET",
            "u8",
            "0",
            "INCRBY",
            "u8",
            "0",
            "1",
        ],
        &["BITFIELD_RO", "k", "INCRBY", "u8", "0", "x"],
        &["BITFIELD_RO", "k", "SET", "u8", "0", "1", "OVERFLOW", "x"],
        &["BITFIELD_RO", "k", "SET", "u64", "0", "1"],
        &["BITFIELD_RO", "k", "GET", "u8", "0", "FOO"],
        &["BITFIELD_RO", "k", "GET", "u8"],
        &["BITFIELD_RO", "k", "GET", "u8", "-1"],
        &["BITFIELD_RO", "k", "GET", "u8", "4294967296"],
        &["BITFIELD_RO", "k", "GET", "u64", "0"],
        &["BITFIELD_RO", "nokey", "SET", "u8", "0", "1"],
        &["EXISTS", "nokey"],
        &["RPUSH", "list", "a"],
        &["BITFIELD_RO", "list"],
        &["BITFIELD_RO", "list", "GET", "u8", "0"],
        &["BITFIELD_RO", "list", "SET", "u8", "0", "1"],
        &["GET", "k"],
        // Arity.
        &["BITFIELD_RO"],
    ]);
}

/// A key past its expiry is absent to every bitmap command.
#[test]
fn expired_keys_are_absent() {
    if !common::reference_available("expired_keys_are_absent") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let setup: &[Cmd] = &[
        &["SET", "a", "foobar", "PX", "1"],
        &["SET", "b", "foobar", "PX", "1"],
        &["SET", "c", "foobar", "PX", "1"],
        &["SET", "d", "foobar", "PX", "1"],
        &["SET", "e", "foobar", "PX", "1"],
        &["SET", "f", "foobar", "PX", "1"],
        &["SET", "g", "foobar", "PX", "1"],
        &["SET", "dest", "x", "PX", "1"],
    ];
    run_on(setup, &mut ours, &mut theirs);
    std::thread::sleep(Duration::from_millis(50));
    run_on(
        &[
            &["GETBIT", "a", "1"],
            &["BITCOUNT", "b"],
            &["BITPOS", "c", "0"],
            &["BITFIELD_RO", "d", "GET", "u8", "0"],
            &["BITFIELD", "e", "GET", "u8", "0"],
            &["SETBIT", "f", "0", "1"],
            &["GET", "f"],
            &["PTTL", "f"],
            &["BITFIELD", "g", "INCRBY", "u8", "0", "1"],
            &["PTTL", "g"],
            &["BITOP", "OR", "dest", "a", "b"],
            &["EXISTS", "dest"],
            &["DBSIZE"],
        ],
        &mut ours,
        &mut theirs,
    );
}
