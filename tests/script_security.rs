//! The public triggers of the Lua CVEs Redis has shipped fixes for, replayed against
//! redlite: each gets an error reply (or a correct one), never a crash, and the server
//! answers PING and runs scripts afterwards.
//!
//! - CVE-2025-49844: use-after-free in the parser, reached by forcing collections while
//!   a large chunk compiles;
//! - CVE-2024-46981: a `__gc` finalizer left behind across SCRIPT FLUSH;
//! - CVE-2025-46817: `unpack` with a range that overflows;
//! - CVE-2025-46818: changing the metatable of a basic type (strings) to run code in
//!   another user's script;
//! - CVE-2025-46819: out-of-bounds reads in the lexer on unterminated long strings;
//! - CVE-2022-24834: cjson and cmsgpack size overflows on huge strings;
//! - CVE-2021-32626: Lua stack overflows from deep replies and many arguments.

mod common;

use common::diff::render;
use common::{Conn, Server};

/// Runs `script` with `EVAL script 0`, returning the rendered reply.
fn eval(c: &mut Conn, script: &str) -> String {
    render(&c.cmd(&["EVAL", script, "0"]))
}

/// The server is alive and still runs scripts.
fn healthy(c: &mut Conn) {
    assert_eq!(render(&c.cmd(&["PING"])), "+PONG\\r\\n");
    assert_eq!(eval(c, "return 1 + 1"), ":2\\r\\n");
}

/// Reads raw bytes until they end with `end`.
fn read_until(c: &mut Conn, end: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut all = Vec::new();
    let mut buf = [0u8; 65536];
    while !all.ends_with(end) {
        let n = c.stream.read(&mut buf).expect("read");
        assert!(n > 0, "closed");
        all.extend_from_slice(&buf[..n]);
    }
    all
}

fn is_error(reply: &str) -> bool {
    reply.starts_with('-')
}

#[test]
fn cve_2025_49844_gc_during_parse() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    // Memory pressure, then collections while large chunks compile.
    let script = "local t = {} for i = 1, 200 do t[i] = string.rep('x', 1000) .. i end \
                  local src = {} for i = 1, 2000 do src[#src + 1] = 'local v' .. i .. ' = \"' .. t[(i % 200) + 1] .. '\"' end \
                  for round = 1, 5 do collectgarbage('collect') local f = loadstring(table.concat(src, '\\n')) collectgarbage('collect') f() end \
                  return 'ok'";
    let reply = eval(&mut c, script);
    assert!(reply == "$2\\r\\nok\\r\\n" || is_error(&reply), "{reply}");
    healthy(&mut c);
}

#[test]
fn cve_2024_46981_finalizer_across_flush() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let reply = eval(
        &mut c,
        "local p = newproxy(true) getmetatable(p).__gc = function() redis.call('set', 'gc', '1') end return 'set'",
    );
    assert!(reply == "$3\\r\\nset\\r\\n" || is_error(&reply), "{reply}");
    assert_eq!(render(&c.cmd(&["SCRIPT", "FLUSH"])), "+OK\\r\\n");
    eval(&mut c, "collectgarbage('collect') return 1");
    healthy(&mut c);
    // A finalizer never runs a command outside a script.
    assert_eq!(render(&c.cmd(&["EXISTS", "gc"])), ":0\\r\\n");
}

#[test]
fn cve_2025_46817_unpack_overflow() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    for script in [
        "return {unpack({}, 0, 2147483647)}",
        "return {unpack({1, 2}, -2147483648, 2147483647)}",
        "return {unpack({1}, 1, 1e10)}",
        "return select('#', unpack({}, 1, 1e8))",
    ] {
        let reply = eval(&mut c, script);
        assert!(is_error(&reply), "{script}: {reply}");
    }
    healthy(&mut c);
}

#[test]
fn cve_2025_46818_basic_type_metatables_are_protected() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    for script in [
        "getmetatable('').__index = function() return 'pwned' end",
        "getmetatable('').__index.upper = function() return 'pwned' end",
        "string.upper = function() return 'pwned' end",
        "rawset(getmetatable(''), '__index', {})",
        "setmetatable(getmetatable(''), {})",
    ] {
        let reply = eval(&mut c, script);
        assert!(is_error(&reply), "{script}: {reply}");
    }
    // Nothing changed for the next script.
    assert_eq!(eval(&mut c, "return ('a'):upper()"), "$1\\r\\nA\\r\\n");
    healthy(&mut c);
}

#[test]
fn cve_2025_46819_lexer_reads_stay_in_bounds() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    for script in [
        "return [==[abc",
        "return [=",
        "return [==",
        "--[==[ never closed",
        "return '\\",
        "return \"abc",
        "return '\\9999'",
        "[",
        "return [[",
        "x = [=[",
    ] {
        let reply = eval(&mut c, script);
        assert!(
            reply.starts_with("-ERR Error compiling script"),
            "{script}: {reply}"
        );
    }
    healthy(&mut c);
}

#[test]
fn cve_2022_24834_huge_strings_in_cjson_and_cmsgpack() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    for script in [
        "return #cjson.encode(string.rep('\\1', 16 * 1024 * 1024))",
        "return #cmsgpack.pack(string.rep('x', 16 * 1024 * 1024))",
        "local t = {} for i = 1, 100000 do t[i] = i end return #cmsgpack.pack(t)",
        "return #cjson.encode({string.rep('\"', 4 * 1024 * 1024)})",
    ] {
        let reply = eval(&mut c, script);
        assert!(
            reply.starts_with(':') || is_error(&reply),
            "{script}: {reply}"
        );
    }
    healthy(&mut c);
}

#[test]
fn cve_2021_32626_deep_replies_and_many_arguments() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    // A reply that contains itself: Redis answers arrays down to its stack limit, then
    // the error.
    // (Read as raw bytes: the reply nests too deep for a recursive reader.)
    c.send(&["EVAL", "local a = {} local b = {a} a[1] = b return a", "0"]);
    let raw = read_until(&mut c, b"-ERR reached lua stack limit\r\n");
    let depth = (raw.len() - b"-ERR reached lua stack limit\r\n".len()) / 4;
    assert!(
        raw[..depth * 4].chunks(4).all(|c| c == b"*1\r\n"),
        "not only arrays of one"
    );
    assert!(depth > 1000, "{depth} levels");
    healthy(&mut c);
    // Many arguments to one command, and many values returned.
    let reply = eval(
        &mut c,
        "local t = {} for i = 1, 7999 do t[i] = i end return redis.call('rpush', 'l', unpack(t))",
    );
    assert_eq!(reply, ":7999\\r\\n");
    let reply = eval(&mut c, "return #redis.call('lrange', 'l', 0, -1)");
    assert_eq!(reply, ":7999\\r\\n");
    // Past Lua's stack limit, unpack refuses, as in Redis.
    let reply = eval(
        &mut c,
        "local t = {} for i = 1, 8000 do t[i] = i end return unpack(t)",
    );
    assert!(reply.contains("too many results to unpack"), "{reply}");
    let reply = eval(
        &mut c,
        "local t = {} for i = 1, 100000 do t[i] = i end return {unpack(t)}",
    );
    assert!(
        reply.starts_with("*100000\\r\\n") || is_error(&reply),
        "{}",
        &reply[..40.min(reply.len())]
    );
    // Deep recursion in Lua, and deep nesting in the parser.
    let reply = eval(
        &mut c,
        "local function f(n) return f(n + 1) + 1 end return f(1)",
    );
    assert!(is_error(&reply), "{reply}");
    let nested = format!("return {}1{}", "(".repeat(100_000), ")".repeat(100_000));
    let reply = eval(&mut c, &nested);
    assert!(is_error(&reply), "{}", &reply[..80.min(reply.len())]);
    let nested = format!("return {}{}", "{".repeat(100_000), "}".repeat(100_000));
    let reply = eval(&mut c, &nested);
    assert!(is_error(&reply), "{}", &reply[..80.min(reply.len())]);
    healthy(&mut c);
}

#[test]
fn runaway_memory_is_an_error() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    for script in [
        "local s = 'x' while true do s = s .. s end",
        "return string.rep('x', 2^40)",
        "local t = {} local i = 1 while true do t[i] = {i} i = i + 1 end",
    ] {
        let reply = eval(&mut c, script);
        assert!(is_error(&reply), "{script}: {reply}");
    }
    healthy(&mut c);
}

/// Garbage, cycles included, is collected: many scripts that each leave cyclic tables
/// and closures behind do not make the Lua state grow.
#[test]
fn garbage_with_cycles_is_collected_across_scripts() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let script = "local a = {} local b = {a = a} a.b = b a.f = function() return a end \
                  setmetatable(a, {__index = b}) local t = {} for i = 1, 200 do t[i] = {t, a} end \
                  return #t";
    let sha = String::from_utf8(c.cmd(&["SCRIPT", "LOAD", script])).unwrap();
    let sha = sha.lines().nth(1).unwrap().to_string();
    let lua_memory = |c: &mut Conn| -> u64 {
        common::info_field_in(c, "memory", "used_memory_lua")
            .parse()
            .unwrap()
    };
    for _ in 0..200 {
        assert_eq!(render(&c.cmd(&["EVALSHA", &sha, "0"])), ":200\\r\\n");
    }
    let early = lua_memory(&mut c);
    for _ in 0..3000 {
        c.send(&["EVALSHA", &sha, "0"]);
    }
    for _ in 0..3000 {
        assert_eq!(render(&c.read_reply()), ":200\\r\\n");
    }
    let late = lua_memory(&mut c);
    assert!(late < early * 3 + 1_000_000, "grew from {early} to {late}");
    assert_eq!(
        eval(&mut c, "collectgarbage('collect') return 1"),
        ":1\\r\\n"
    );
    healthy(&mut c);
}
