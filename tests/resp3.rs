//! RESP3 and client-side caching, against a reference redis-server 7.0.
//!
//! Every family's script runs after `HELLO 3` on a fresh redlite and a fresh reference
//! server, and every reply is compared byte for byte, errors included: nulls (`_`),
//! maps (`%`), sets (`~`), doubles (`,`), verbatim strings (`=`) and pushes (`>`) must be
//! the ones Redis 7.0 sends. The HELLO maps themselves are compared with the fields that
//! legitimately differ (the client id) checked separately.
//!
//! Tracking tests run the same steps on both servers with several connections each:
//! a tracking client reads, another writes, and the invalidation pushes (or RESP2
//! `__redis__:invalidate` messages) each connection receives must match.

mod common;

use std::time::Duration;

use common::diff::{render, render_cmd, run_on, Cmd, Pair};
use common::Conn;
use pretty_assertions::assert_eq;

/// `HELLO 3` on a connection; returns the reply with its `id` value masked.
fn hello3(conn: &mut Conn) -> String {
    mask_id(&conn.cmd(&["HELLO", "3"]))
}

/// A HELLO reply rendered, with the integer after `id` replaced by `<id>`.
fn mask_id(reply: &[u8]) -> String {
    let text = render(reply);
    let Some(at) = text.find("$2\\r\\nid\\r\\n:") else {
        return text;
    };
    let start = at + "$2\\r\\nid\\r\\n:".len();
    let end = start + text[start..].find('\\').unwrap();
    format!("{}<id>{}", &text[..start], &text[end..])
}

/// Runs `script` after HELLO 3 on a fresh pair, comparing every reply.
fn run3(test: &str, script: &[Cmd]) {
    if !common::reference_available(test) {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    assert_eq!(hello3(&mut ours), hello3(&mut theirs));
    run_on(script, &mut ours, &mut theirs);
}

#[test]
fn hello_negotiates_the_protocol() {
    if !common::reference_available("hello_negotiates_the_protocol") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    for cmd in [
        &["HELLO"][..],
        &["HELLO", "3"],
        &["HELLO"],
        &["HELLO", "2", "SETNAME", "x"],
        &["HELLO", "3", "AUTH", "default", "anything"],
        &["HELLO", "3", "AUTH", "nobody", "pw"],
        &["HELLO", "3", "SETNAME", "bad name"],
        &["HELLO", "3", "AUTH"],
        &["HELLO", "3", "FOO"],
        &["HELLO", "4"],
        &["HELLO", "1"],
        &["HELLO", "abc"],
        &["HELLO", "3"],
        &["GET", "nokey"],
        &["RESET"],
        &["GET", "nokey"],
        &["CLIENT", "GETNAME"],
    ] {
        let (a, b) = (ours.cmd(cmd), theirs.cmd(cmd));
        assert_eq!(mask_id(&a), mask_id(&b), "{}", render_cmd(cmd));
    }
    // The id is the client's own.
    let hello = ours.cmd(&["HELLO", "3"]);
    let id = ours.cmd(&["CLIENT", "ID"]);
    let id = String::from_utf8_lossy(&id[1..id.len() - 2]).into_owned();
    assert!(render(&hello).contains(&format!("$2\\r\\nid\\r\\n:{id}\\r\\n")));
}

#[test]
fn strings_and_bitmaps() {
    run3(
        "strings_and_bitmaps",
        &[
            &["GET", "nokey"],
            &["SET", "k", "v"],
            &["GET", "k"],
            &["MGET", "k", "nokey", "k"],
            &["SET", "k", "w", "GET"],
            &["SET", "k2", "v", "NX", "GET"],
            &["SET", "k2", "v", "XX", "GET"],
            &["SET", "k3", "v", "NX"],
            &["SET", "k3", "v", "NX"],
            &["GETDEL", "nokey"],
            &["GETDEL", "k3"],
            &["GETEX", "nokey"],
            &["GETEX", "k", "PERSIST"],
            &["GETSET", "nokey", "1"],
            &["INCRBYFLOAT", "f", "1.5"],
            &["INCRBYFLOAT", "f", "abc"],
            &["INCR", "k"],
            &["APPEND", "k", "x"],
            &["STRLEN", "k"],
            &["GETRANGE", "k", "0", "-1"],
            &["SUBSTR", "k", "0", "0"],
            &["MSETNX", "k", "1", "n", "2"],
            &["LCS", "k", "k2"],
            &["LCS", "k", "k2", "IDX"],
            &["LCS", "k", "k2", "IDX", "WITHMATCHLEN"],
            &["SETBIT", "b", "7", "1"],
            &["GETBIT", "b", "7"],
            &["BITCOUNT", "b"],
            &["BITPOS", "b", "1"],
            &["BITOP", "NOT", "c", "b"],
            &[
                "BITFIELD", "b", "GET", "u8", "0", "INCRBY", "i5", "100", "1",
            ],
            &[
                "BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "10",
            ],
            &["BITFIELD_RO", "b", "GET", "u8", "0"],
            &["GET", "b"],
            &["SETRANGE", "k", "1", "zz"],
            &["GET", "k"],
        ],
    );
}

#[test]
fn keys_and_server() {
    run3(
        "keys_and_server",
        &[
            &["SET", "k", "v"],
            &["EXISTS", "k", "nokey"],
            &["TYPE", "k"],
            &["TYPE", "nokey"],
            &["TTL", "k"],
            &["PTTL", "nokey"],
            &["EXPIRE", "k", "100"],
            &["PERSIST", "k"],
            &["EXPIRETIME", "k"],
            &["OBJECT", "ENCODING", "k"],
            &["OBJECT", "ENCODING", "nokey"],
            &["OBJECT", "FREQ", "nokey"],
            &["OBJECT", "REFCOUNT", "nokey"],
            &["OBJECT", "IDLETIME", "nokey"],
            &["RANDOMKEY"],
            &["KEYS", "*"],
            &["SCAN", "0"],
            &["RENAME", "k", "k2"],
            &["RENAME", "nokey", "x"],
            &["COPY", "k2", "k3"],
            &["MOVE", "k3", "1"],
            &["SELECT", "1"],
            &["GET", "k3"],
            &["SELECT", "0"],
            &["DBSIZE"],
            &["DEL", "k2", "nokey"],
            &["UNLINK", "nokey"],
            &["TOUCH", "nokey"],
            &["SWAPDB", "0", "1"],
            &["SWAPDB", "0", "1"],
            &["RANDOMKEY"],
            &["FLUSHDB"],
            &["RANDOMKEY"],
            &["PING"],
            &["PING", "hi"],
            &["ECHO", "hi"],
            &["CONFIG", "GET", "maxmemory"],
            &["CONFIG", "GET", "nosuchparam"],
            &["CONFIG", "SET", "maxmemory", "0"],
            &["CLIENT", "GETNAME"],
            &["CLIENT", "SETNAME", "me"],
            &["CLIENT", "GETNAME"],
            &["CLIENT", "NO-EVICT", "on"],
            &["CLIENT", "NO-EVICT", "off"],
            &["CLIENT", "NO-EVICT", "maybe"],
            &["CLIENT", "NO-TOUCH", "on"],
            &["CLIENT", "GETREDIR"],
            &["CLIENT", "TRACKINGINFO"],
            &["COMMAND", "COUNT", "x"],
            &["FUNCTION", "LIST"],
            &["SCRIPT", "FLUSH"],
        ],
    );
}

#[test]
fn lists() {
    run3(
        "lists",
        &[
            &["LPOP", "nokey"],
            &["LPOP", "nokey", "2"],
            &["RPOP", "nokey"],
            &["RPUSH", "l", "a", "b", "c", "a"],
            &["LRANGE", "l", "0", "-1"],
            &["LRANGE", "nokey", "0", "-1"],
            &["LINDEX", "l", "9"],
            &["LINDEX", "l", "0"],
            &["LPOS", "l", "z"],
            &["LPOS", "l", "a"],
            &["LPOS", "l", "a", "COUNT", "0"],
            &["LPOS", "l", "z", "COUNT", "0"],
            &["LPOS", "nokey", "a", "COUNT", "2"],
            &["LPOP", "l", "2"],
            &["RPOP", "l", "0"],
            &["LMPOP", "1", "nokey", "LEFT"],
            &["LMPOP", "2", "nokey", "l", "RIGHT", "COUNT", "5"],
            &["RPOPLPUSH", "nokey", "l"],
            &["LMOVE", "nokey", "l", "LEFT", "RIGHT"],
            &["RPUSH", "l", "x"],
            &["LMOVE", "l", "l2", "LEFT", "RIGHT"],
            &["LINSERT", "l2", "BEFORE", "zz", "y"],
            &["LSET", "nokey", "0", "x"],
            &["LLEN", "l2"],
            &["LREM", "l2", "0", "x"],
            &["LTRIM", "l", "0", "0"],
            &["GET", "l"],
        ],
    );
}

#[test]
fn hashes() {
    run3(
        "hashes",
        &[
            &["HSET", "h", "a", "1", "b", "2"],
            &["HGETALL", "h"],
            &["HGETALL", "nokey"],
            &["HGET", "h", "z"],
            &["HMGET", "h", "a", "z"],
            &["HMGET", "nokey", "a"],
            &["HKEYS", "h"],
            &["HVALS", "h"],
            &["HINCRBYFLOAT", "h", "a", "1.5"],
            &["HINCRBY", "h", "b", "2"],
            &["HSTRLEN", "h", "a"],
            &["HRANDFIELD", "nokey"],
            &["HRANDFIELD", "nokey", "2"],
            &["HRANDFIELD", "nokey", "2", "WITHVALUES"],
            &["HRANDFIELD", "h", "5", "WITHVALUES"],
            &["HRANDFIELD", "h", "0", "WITHVALUES"],
            &["HSCAN", "h", "0"],
            &["HSETNX", "h", "a", "x"],
            &["HDEL", "h", "a", "z"],
            &["HEXISTS", "h", "a"],
            &["HLEN", "h"],
            &["HGETALL", "h"],
        ],
    );
}

#[test]
fn sets() {
    run3(
        "sets",
        &[
            &["SADD", "s", "a"],
            &["SADD", "t", "1", "3", "4"],
            &["SADD", "n", "1", "2", "3"],
            &["SMEMBERS", "s"],
            &["SMEMBERS", "n"],
            &["SMEMBERS", "nokey"],
            &["SINTER", "n", "t"],
            &["SINTER", "s", "nokey"],
            &["SUNION", "n", "n"],
            &["SDIFF", "n", "t"],
            &["SDIFF", "nokey"],
            &["SINTERCARD", "2", "n", "t"],
            &["SINTERSTORE", "u", "n", "t"],
            &["SMEMBERS", "u"],
            &["SISMEMBER", "s", "a"],
            &["SMISMEMBER", "s", "a", "z"],
            &["SPOP", "nokey"],
            &["SPOP", "nokey", "2"],
            &["SPOP", "s", "0"],
            &["SRANDMEMBER", "nokey"],
            &["SRANDMEMBER", "nokey", "3"],
            &["SRANDMEMBER", "n", "5"],
            &["SRANDMEMBER", "n", "0"],
            &["SPOP", "n", "5"],
            &["SSCAN", "t", "0"],
            &["SMOVE", "t", "n", "4"],
            &["SREM", "n", "4", "zz"],
            &["SCARD", "s"],
            &["SMEMBERS", "t"],
        ],
    );
}

#[test]
fn sorted_sets() {
    run3(
        "sorted_sets",
        &[
            &["ZADD", "z", "1", "a", "2", "b", "2.5", "c"],
            &["ZADD", "w", "-inf", "x", "inf", "y", "0", "z"],
            &["ZSCORE", "z", "a"],
            &["ZSCORE", "z", "nope"],
            &["ZSCORE", "nokey", "a"],
            &["ZSCORE", "w", "x"],
            &["ZSCORE", "w", "y"],
            &["ZMSCORE", "z", "a", "nope", "c"],
            &["ZMSCORE", "nokey", "a"],
            &["ZADD", "z", "INCR", "1.5", "a"],
            &["ZADD", "z", "NX", "INCR", "1", "a"],
            &["ZADD", "z", "XX", "INCR", "1", "nope"],
            &["ZINCRBY", "z", "0.1", "b"],
            &["ZINCRBY", "w", "1", "y"],
            &["ZRANGE", "z", "0", "-1"],
            &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            &["ZRANGE", "w", "0", "-1", "WITHSCORES"],
            &["ZRANGE", "z", "(1", "+inf", "BYSCORE", "WITHSCORES"],
            &["ZRANGE", "nokey", "0", "-1", "WITHSCORES"],
            &["ZREVRANGE", "z", "0", "1", "WITHSCORES"],
            &[
                "ZRANGEBYSCORE",
                "z",
                "-inf",
                "inf",
                "WITHSCORES",
                "LIMIT",
                "0",
                "2",
            ],
            &["ZREVRANGEBYSCORE", "z", "inf", "-inf", "WITHSCORES"],
            &["ZRANGEBYLEX", "z", "-", "+"],
            &["ZRANK", "z", "a"],
            &["ZRANK", "z", "nope"],
            &["ZREVRANK", "nokey", "a"],
            &["ZCOUNT", "z", "-inf", "inf"],
            &["ZRANDMEMBER", "nokey"],
            &["ZRANDMEMBER", "nokey", "2", "WITHSCORES"],
            &["ZRANDMEMBER", "z", "10", "WITHSCORES"],
            &["ZRANDMEMBER", "z", "0", "WITHSCORES"],
            &["ZUNION", "2", "z", "w", "WITHSCORES"],
            &["ZINTER", "2", "z", "z", "WITHSCORES"],
            &["ZDIFF", "2", "z", "w", "WITHSCORES"],
            &["ZDIFF", "1", "nokey", "WITHSCORES"],
            &["ZUNIONSTORE", "u", "2", "z", "w"],
            &["ZRANGE", "u", "0", "-1", "WITHSCORES"],
            &["ZSCAN", "z", "0"],
            &["ZPOPMIN", "nokey"],
            &["ZPOPMIN", "nokey", "2"],
            &["ZPOPMIN", "z"],
            &["ZPOPMAX", "z", "5"],
            &["ZPOPMAX", "w", "0"],
            &["ZMPOP", "1", "nokey", "MIN"],
            &["ZMPOP", "2", "nokey", "w", "MAX", "COUNT", "2"],
            &["ZMPOP", "1", "w", "MIN"],
            &["ZREMRANGEBYRANK", "u", "0", "0"],
            &["ZCARD", "u"],
        ],
    );
}

#[test]
fn transactions_and_pubsub_replies() {
    run3(
        "transactions_and_pubsub_replies",
        &[
            &["MULTI"],
            &["EXEC"],
            &["SET", "x", "1"],
            &["MULTI"],
            &["INCR", "x"],
            &["GET", "nokey"],
            &["HGETALL", "nokey"],
            &["SMEMBERS", "nokey"],
            &["ZADD", "z", "INCR", "1", "a"],
            &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            &["CONFIG", "GET", "maxmemory"],
            &["EXEC"],
            &["WATCH", "x"],
            &["DISCARD"],
            &["MULTI"],
            &["NOSUCHCOMMAND"],
            &["EXEC"],
            &["PUBSUB", "CHANNELS"],
            &["PUBSUB", "NUMSUB", "a", "b"],
            &["PUBSUB", "NUMPAT"],
            &["PUBSUB", "SHARDNUMSUB", "a"],
            &["PUBLISH", "a", "x"],
        ],
    );
}

/// EXEC answers a null (`_`) when a watched key changed.
#[test]
fn exec_after_a_watched_change_is_null() {
    if !common::reference_available("exec_after_a_watched_change_is_null") {
        return;
    }
    let pair = Pair::start();
    for port in [pair.ours.port, pair.theirs.port] {
        let (mut a, mut b) = (Conn::connect(port), Conn::connect(port));
        hello3(&mut a);
        assert_eq!(a.cmd(&["WATCH", "k"]), b"+OK\r\n");
        assert_eq!(b.cmd(&["SET", "k", "1"]), b"+OK\r\n");
        assert_eq!(a.cmd(&["MULTI"]), b"+OK\r\n");
        assert_eq!(a.cmd(&["GET", "k"]), b"+QUEUED\r\n");
        assert_eq!(a.cmd(&["EXEC"]), b"_\r\n", "port {port}");
    }
}

/// A RESP3 client may subscribe and keep running commands; confirmations and
/// messages are pushes, interleaved with the replies in order.
#[test]
fn pubsub_pushes_interleave_with_replies() {
    if !common::reference_available("pubsub_pushes_interleave_with_replies") {
        return;
    }
    let pair = Pair::start();
    let mut seen = Vec::new();
    for port in [pair.ours.port, pair.theirs.port] {
        let (mut sub, mut publisher) = (Conn::connect(port), Conn::connect(port));
        hello3(&mut sub);
        let mut log = Vec::new();
        let mut step = |conn: &mut Conn, cmd: &[&str], replies: usize| {
            conn.send(cmd);
            for _ in 0..replies {
                log.push(format!(
                    "{} => {}",
                    render_cmd(cmd),
                    render(&conn.read_reply())
                ));
            }
        };
        step(&mut sub, &["SUBSCRIBE", "ch", "other"], 2);
        step(&mut sub, &["SET", "k", "v"], 1);
        step(&mut sub, &["GET", "k"], 1);
        step(&mut sub, &["PING"], 1);
        step(&mut publisher, &["PUBLISH", "ch", "hello"], 1);
        step(&mut sub, &["PSUBSCRIBE", "c*"], 2);
        step(&mut sub, &["GET", "nokey"], 1);
        step(&mut publisher, &["PUBLISH", "ch", "again"], 1);
        step(&mut sub, &["HGETALL", "nokey"], 2);
        // Named: a bare UNSUBSCRIBE goes in hash-table order.
        step(&mut sub, &["UNSUBSCRIBE", "ch", "other"], 2);
        step(&mut sub, &["PUNSUBSCRIBE"], 1);
        step(&mut sub, &["UNSUBSCRIBE"], 1);
        step(&mut sub, &["ECHO", "done"], 1);
        seen.push(log.join("\n"));
    }
    assert_eq!(seen[0], seen[1]);
}

/// One connection per role on each server, driven in lockstep.
struct Side {
    conns: Vec<Conn>,
}

impl Side {
    fn new(port: u16, n: usize) -> Side {
        Side {
            conns: (0..n).map(|_| Conn::connect(port)).collect(),
        }
    }

    fn id(&mut self, who: usize) -> String {
        let r = self.conns[who].cmd(&["CLIENT", "ID"]);
        String::from_utf8_lossy(&r[1..r.len() - 2]).into_owned()
    }
}

/// Reads whatever a connection received within a short while (the pushes a write sent
/// it), rendered.
fn drain(conn: &mut Conn) -> String {
    use std::io::Read;
    conn.stream
        .set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = conn.stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    conn.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    render(&got)
}

/// Client ids differ between the servers: where a rendered reply shows one (HELLO's
/// `id`, a `redirect`, a broken redirect's push, a bare integer reply), it becomes the
/// role's `<$N>`.
fn mask_ids(got: &str, ids: &[String]) -> String {
    let mut got = got.to_string();
    for (k, id) in ids.iter().enumerate() {
        for label in ["id", "redirect", "tracking-redir-broken"] {
            let tag = format!("${}\\r\\n{label}\\r\\n:", label.len());
            got = got.replace(&format!("{tag}{id}\\r\\n"), &format!("{tag}<${k}>\\r\\n"));
        }
        if got == format!(":{id}\\r\\n") {
            got = format!(":<${k}>\\r\\n");
        }
    }
    got
}

/// A step of a tracking scenario: who sends what (raw, all replies and pushes that
/// arrive are collected by [`drain`]). `$N` in an argument is client N's id.
type Step = (usize, &'static [&'static str]);

/// Runs `steps` on `n` connections to each server and compares everything every
/// connection received after each step.
fn tracking_scenario(test: &str, n: usize, steps: &[Step]) {
    if !common::reference_available(test) {
        return;
    }
    let pair = Pair::start();
    let mut logs = Vec::new();
    for port in [pair.ours.port, pair.theirs.port] {
        let mut side = Side::new(port, n);
        let ids: Vec<String> = (0..n).map(|i| side.id(i)).collect();
        let mut log = String::new();
        for (i, (who, cmd)) in steps.iter().enumerate() {
            let args: Vec<String> = cmd
                .iter()
                .map(|a| match a.strip_prefix('$') {
                    Some(k) => ids[k.parse::<usize>().unwrap()].clone(),
                    None => a.to_string(),
                })
                .collect();
            let words: Vec<&str> = args.iter().map(String::as_str).collect();
            side.conns[*who].send(&words);
            log.push_str(&format!("#{i} [{who}] {}\n", render_cmd(cmd)));
            for (c, conn) in side.conns.iter_mut().enumerate() {
                let got = drain(conn);
                if !got.is_empty() {
                    log.push_str(&format!("  [{c}] {}\n", mask_ids(&got, &ids)));
                }
            }
        }
        logs.push(log);
    }
    assert_eq!(logs[0], logs[1], "left: redlite, right: redis");
}

#[test]
fn tracking_default_mode() {
    tracking_scenario(
        "tracking_default_mode",
        2,
        &[
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "TRACKING", "on"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "GETREDIR"]),
            (0, &["MGET", "k", "k2"]),
            // The writer's own write: the push follows its reply.
            (0, &["SET", "k", "1"]),
            (0, &["GET", "k"]),
            (1, &["SET", "k", "2"]),
            // Invalidated once: not again until read again.
            (1, &["SET", "k", "3"]),
            (0, &["GET", "k"]),
            // Only keys that changed: k2 and k3 do not exist.
            (1, &["DEL", "k", "k2", "k3"]),
            (1, &["SET", "k2", "x"]),
            (0, &["GET", "k"]),
            (1, &["DEL", "k"]),
            (1, &["INCR", "k"]),
            (0, &["HGETALL", "h"]),
            (1, &["HSET", "h", "f", "v"]),
            (0, &["ZSCORE", "z", "m"]),
            (1, &["ZADD", "z", "1", "m"]),
            (0, &["SMEMBERS", "s"]),
            (1, &["SADD", "s", "m"]),
            // A transaction's invalidations follow EXEC's reply.
            (0, &["GET", "k"]),
            (0, &["MULTI"]),
            (0, &["INCR", "k"]),
            (0, &["GET", "k"]),
            (0, &["EXEC"]),
            (0, &["GET", "k"]),
            (0, &["FLUSHDB"]),
            (1, &["FLUSHALL"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            (0, &["GET", "k"]),
            (1, &["SET", "k", "1"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
        ],
    );
}

#[test]
fn tracking_optin_optout_noloop() {
    tracking_scenario(
        "tracking_optin_optout_noloop",
        2,
        &[
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["CLIENT", "TRACKING", "on", "OPTIN"]),
            (0, &["GET", "x1"]),
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["GET", "x2"]),
            (0, &["CLIENT", "CACHING", "no"]),
            (0, &["CLIENT", "CACHING", "maybe"]),
            (1, &["MSET", "x1", "1", "x2", "2"]),
            // CACHING lasts one command...
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["PING"]),
            (0, &["GET", "x1"]),
            (1, &["SET", "x1", "1"]),
            // ...or one transaction.
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["MULTI"]),
            (0, &["GET", "x1"]),
            (0, &["EXEC"]),
            (1, &["SET", "x1", "1"]),
            (0, &["CLIENT", "TRACKING", "on", "OPTOUT"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            (0, &["CLIENT", "TRACKING", "on", "OPTOUT"]),
            (0, &["GET", "x1"]),
            (0, &["CLIENT", "CACHING", "no"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["GET", "x2"]),
            (1, &["MSET", "x1", "1", "x2", "2"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            (0, &["CLIENT", "TRACKING", "on", "NOLOOP"]),
            (0, &["GET", "x1"]),
            (0, &["SET", "x1", "5"]),
            (1, &["SET", "x1", "1"]),
            (0, &["GET", "x1"]),
            (1, &["SET", "x1", "2"]),
        ],
    );
}

#[test]
fn tracking_bcast_and_errors() {
    tracking_scenario(
        "tracking_bcast_and_errors",
        2,
        &[
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "TRACKING", "on", "PREFIX", "a"]),
            (0, &["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"]),
            (0, &["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"]),
            (0, &["CLIENT", "TRACKING", "on", "REDIRECT", "999999"]),
            (0, &["CLIENT", "TRACKING", "on", "REDIRECT", "x"]),
            (
                0,
                &[
                    "CLIENT", "TRACKING", "on", "REDIRECT", "$1", "REDIRECT", "$1",
                ],
            ),
            (0, &["CLIENT", "TRACKING", "on", "FOO"]),
            (0, &["CLIENT", "TRACKING", "maybe"]),
            (0, &["CLIENT", "TRACKING"]),
            (0, &["CLIENT", "CACHING", "yes"]),
            (
                0,
                &[
                    "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "ab",
                ],
            ),
            (
                0,
                &[
                    "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "y",
                ],
            ),
            (0, &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "xy"]),
            (0, &["CLIENT", "TRACKING", "on"]),
            (0, &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "q"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (1, &["MSET", "x1", "1", "y2", "2", "z", "1"]),
            (1, &["SET", "q1", "1"]),
            (0, &["SET", "x9", "1"]),
            (1, &["DEL", "x1", "nope"]),
            (1, &["FLUSHDB"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            (0, &["CLIENT", "TRACKING", "on", "BCAST", "NOLOOP"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["SET", "mine", "1"]),
            (1, &["SET", "theirs", "1"]),
            (0, &["CLIENT", "TRACKING", "off"]),
        ],
    );
}

/// A key that expires is invalidated as a written one is (Redis's
/// `deleteExpiredKeyAndPropagate` signals it modified): by the active expiry cycle, with
/// no command running, and by the lookup of whichever command meets it first, whose own
/// push then follows its reply. Client 0 tracks in the default mode, client 1 with BCAST
/// on prefix `b`, client 2 writes.
#[test]
fn tracking_invalidates_expired_keys() {
    if !common::reference_available("tracking_invalidates_expired_keys") {
        return;
    }
    let pair = Pair::start();
    let logs = [
        expiry_scenario(pair.ours.port, false),
        expiry_scenario(pair.theirs.port, true),
    ];
    assert_eq!(logs[0], logs[1], "left: redlite, right: redis");
    // Not vacuous: each of the four ways a key expires reached its tracker.
    for key in ["ak", "lazy1", "lazy2", "blazy"] {
        let push = format!("invalidate\\r\\n*1\\r\\n${}\\r\\n{key}\\r\\n", key.len());
        assert!(
            logs[0].contains(&push),
            "no invalidation of {key}:\n{}",
            logs[0]
        );
    }
}

/// Sends `cmd` on client `who` and logs what it received.
fn send_logged(log: &mut String, conn: &mut Conn, who: usize, cmd: &[&str]) {
    conn.send(cmd);
    log.push_str(&format!("[{who}] {}\n  {}\n", render_cmd(cmd), drain(conn)));
}

fn expiry_scenario(port: u16, reference: bool) -> String {
    let mut side = Side::new(port, 3);
    let mut log = String::new();
    let [c0, c1, c2] = &mut side.conns[..] else {
        unreachable!()
    };
    c0.cmd(&["HELLO", "3"]);
    c1.cmd(&["HELLO", "3"]);
    send_logged(&mut log, c0, 0, &["CLIENT", "TRACKING", "on"]);
    send_logged(
        &mut log,
        c1,
        1,
        &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "b"],
    );

    // The active cycle: database 1 has nothing else that expires, so the cycle removes
    // `ak` within a tick of its expiry.
    // Expiries leave a wide margin on either side of the steps, as each step waits for
    // what arrives.
    send_logged(&mut log, c0, 0, &["SELECT", "1"]);
    let set_at = std::time::Instant::now();
    send_logged(&mut log, c0, 0, &["SET", "ak", "v", "PX", "1000"]);
    send_logged(&mut log, c0, 0, &["GET", "ak"]);
    send_logged(&mut log, c0, 0, &["SELECT", "0"]);
    std::thread::sleep(Duration::from_millis(1600).saturating_sub(set_at.elapsed()));
    // The cycle's invalidation of `ak`; client 1's of nothing (not its prefix).
    for (who, conn) in [&mut *c0, &mut *c1].into_iter().enumerate() {
        log.push_str(&format!("[{who}] received\n  {}\n", drain(conn)));
    }

    // Lookups, with the active cycle kept away from the keys: the reference's is turned
    // off; ours walks the keys with a TTL in the order they got it, twenty a tick while
    // it finds none expired, and keys with a distant expiry come first.
    if reference {
        assert_eq!(c2.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), b"+OK\r\n");
    }
    for i in 0..2000 {
        c2.send(&["SET", &format!("fill:{i}"), "x", "EX", "100000"]);
    }
    for _ in 0..2000 {
        assert_eq!(c2.read_reply(), b"+OK\r\n");
    }
    let set_at = std::time::Instant::now();
    for key in ["lazy1", "lazy2", "blazy"] {
        send_logged(&mut log, c2, 2, &["SET", key, "v", "PX", "1500"]);
    }
    send_logged(&mut log, c0, 0, &["MGET", "lazy1", "lazy2"]);
    std::thread::sleep(Duration::from_millis(2100).saturating_sub(set_at.elapsed()));
    // Client 1's invalidation of `blazy` when it was set.
    for (who, conn) in [&mut *c0, &mut *c1].into_iter().enumerate() {
        log.push_str(&format!("[{who}] received\n  {}\n", drain(conn)));
    }
    send_logged(&mut log, c0, 0, &["GET", "lazy1"]);
    send_logged(&mut log, c2, 2, &["DEL", "lazy2"]);
    log.push_str(&format!("[0] received\n  {}\n", drain(c0)));
    send_logged(&mut log, c2, 2, &["GET", "blazy"]);
    log.push_str(&format!("[1] received\n  {}\n", drain(c1)));
    // Read again after its invalidation, `lazy1` is tracked again.
    send_logged(&mut log, c0, 0, &["GET", "lazy1"]);
    send_logged(&mut log, c2, 2, &["SET", "lazy1", "w"]);
    log.push_str(&format!("[0] received\n  {}\n", drain(c0)));
    log
}

#[test]
fn tracking_redirect_in_resp2_and_resp3() {
    tracking_scenario(
        "tracking_redirect_in_resp2_and_resp3",
        4,
        &[
            // 0: RESP2 tracker, 1: RESP2 subscriber it redirects to, 2: writer,
            // 3: RESP3 redirect target.
            (1, &["SUBSCRIBE", "__redis__:invalidate"]),
            (0, &["CLIENT", "TRACKING", "on", "REDIRECT", "$1"]),
            (0, &["CLIENT", "GETREDIR"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["GET", "k"]),
            (2, &["SET", "k", "1"]),
            (2, &["FLUSHALL"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            // RESP2 without a redirect: nothing can be sent.
            (0, &["CLIENT", "TRACKING", "on"]),
            (0, &["GET", "k"]),
            (2, &["SET", "k", "2"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            (0, &["CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "$1"]),
            (2, &["SET", "k", "3"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            (3, &["HELLO", "3"]),
            (0, &["CLIENT", "TRACKING", "on", "REDIRECT", "$3"]),
            (0, &["GET", "k"]),
            (2, &["SET", "k", "4"]),
            // The target leaves: RESP3 trackers are told, and CLIENT LIST shows `R`.
            (3, &["QUIT"]),
            (0, &["HELLO", "3"]),
            (0, &["GET", "k"]),
            (2, &["SET", "k", "5"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "GETREDIR"]),
        ],
    );
}

#[test]
fn client_list_shows_tracking_flags() {
    let server = common::Server::start(&[]);
    let (mut a, mut b) = (server.conn(), server.conn());
    let b_id = String::from_utf8_lossy(&b.cmd(&["CLIENT", "ID"])).into_owned();
    let b_id = b_id.trim_start_matches(':').trim_end();
    a.cmd(&["CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", b_id]);
    a.cmd(&["CLIENT", "NO-EVICT", "on"]);
    let info = String::from_utf8_lossy(&a.cmd(&["CLIENT", "INFO"])).into_owned();
    assert!(info.contains(" flags=tBe "), "{info}");
    assert!(info.contains(&format!(" redir={b_id} ")), "{info}");
    a.cmd(&["CLIENT", "TRACKING", "off"]);
    let info = String::from_utf8_lossy(&a.cmd(&["CLIENT", "INFO"])).into_owned();
    assert!(info.contains(" flags=e "), "{info}");
    assert!(info.contains(" redir=-1 "), "{info}");
}

#[test]
fn client_reply_on_off_skip() {
    tracking_scenario(
        "client_reply_on_off_skip",
        1,
        &[
            (0, &["CLIENT", "REPLY", "OFF"]),
            (0, &["SET", "k", "1"]),
            (0, &["GET", "k"]),
            (0, &["NOSUCHCOMMAND"]),
            (0, &["CLIENT", "REPLY", "SKIP"]),
            (0, &["CLIENT", "REPLY", "ON"]),
            (0, &["CLIENT", "REPLY", "SKIP"]),
            (0, &["GET", "k"]),
            (0, &["GET", "k"]),
            (0, &["CLIENT", "REPLY", "x"]),
            (0, &["CLIENT", "REPLY"]),
            (0, &["CLIENT", "REPLY", "OFF"]),
            (0, &["RESET"]),
            (0, &["GET", "k"]),
        ],
    );
}

/// Redis invalidates the keys its active expiry cycle removes with no current client, so
/// NOLOOP spares nobody: a NOLOOP client that keeps writing (other keys) while the cycle
/// runs still hears of every key it cached. The cycle releases the keyspace lock between
/// steps, so it takes the keys each step removed before any command can take them as
/// its own.
#[test]
fn tracking_noloop_client_hears_of_keys_the_cycle_expires() {
    if !common::reference_available("tracking_noloop_client_hears_of_keys_the_cycle_expires") {
        return;
    }
    let pair = Pair::start();
    let (ours_cached, ours) = noloop_cycle_scenario(pair.ours.port);
    let (theirs_cached, theirs) = noloop_cycle_scenario(pair.theirs.port);
    // Keys the MGET did not read were never cached. On a loaded machine Redis itself
    // misses a few of the rest (seen: 4919 and 4923 of 5000): the reference is only
    // held to most of them, redlite to every one.
    assert!(theirs_cached > NOLOOP_KEYS / 2 && ours_cached > NOLOOP_KEYS / 2);
    assert!(
        theirs * 10 >= theirs_cached * 9,
        "the reference invalidates most cached keys: {theirs} of {theirs_cached}"
    );
    assert_eq!(
        ours, ours_cached,
        "keys invalidated (of {ours_cached} cached)"
    );
}

const NOLOOP_KEYS: usize = 5000;

/// Returns how many keys the MGET read (and so the client cached), and how many of
/// them were invalidated.
fn noloop_cycle_scenario(port: u16) -> (usize, usize) {
    let mut side = Side::new(port, 2);
    let [c, w] = &mut side.conns[..] else {
        unreachable!()
    };
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd(&["CLIENT", "TRACKING", "on", "NOLOOP"]), b"+OK\r\n");
    let keys: Vec<String> = (0..NOLOOP_KEYS).map(|i| format!("e:{i}")).collect();
    for k in &keys {
        w.send(&["SET", k, "v", "PX", "5000"]);
    }
    for _ in &keys {
        assert_eq!(w.read_reply(), b"+OK\r\n");
    }
    let set_at = std::time::Instant::now();
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(String::as_str));
    let mut got = c.cmd(&mget);
    let cached = String::from_utf8_lossy(&got).matches("$1\r\nv\r\n").count();
    // The tracking client keeps writing a key of its own while the keys expire, until
    // the active cycle has removed them all (`x` stays).
    let mut checked = set_at;
    while set_at.elapsed() < Duration::from_secs(30) {
        if checked.elapsed() > Duration::from_millis(100) {
            checked = std::time::Instant::now();
            if set_at.elapsed() > Duration::from_millis(5100) && w.cmd(&["DBSIZE"]) == b":1\r\n" {
                break;
            }
        }
        c.send(&["SET", "x", "1"]);
        loop {
            let frame = c.read_reply();
            let done = frame == b"+OK\r\n";
            got.extend_from_slice(&frame);
            if done {
                break;
            }
        }
    }
    // What is still on its way, raw (not rendered).
    c.stream
        .set_read_timeout(Some(Duration::from_millis(1000)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while let Ok(n) = std::io::Read::read(&mut c.stream, &mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    // The MGET reply names no key; only the pushes do.
    let invalidated: std::collections::HashSet<&str> = text
        .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == ':'))
        .filter(|w| w.starts_with("e:"))
        .collect();
    (cached, invalidated.len())
}
