//! Pipelined writes keep the keyspace's write lock from one command to the next of a
//! batch (issue #22's user CPU per write). These tests check that this changes no reply
//! and never deadlocks: the lock is let go before a command that locks the keyspace
//! itself, reads, blocks, queues in MULTI or runs a script, and other clients' commands
//! stay atomic.
//!
//! - a differential test sends one long pipeline, mixing kept-lock writes with every
//!   kind of command that must let it go, in a single write to redlite and to the
//!   reference redis-server 7.0, and compares every reply byte for byte;
//! - a blocking command at the end of a batch of writes sleeps without the lock: another
//!   client reads and wakes it;
//! - two clients pipelining INCRs of one counter at once lose no update, and each sees
//!   its own replies in increasing order;
//! - batches over a keyspace big enough for the server to prefetch their keys' table
//!   chains (under the lock the first command takes, or a read lock) answer as Redis,
//!   whatever the batch mixes: several keys per command, another database, reads.

mod common;

use common::{encode, reference_available, Conn, Reference, Server};
use pretty_assertions::assert_eq;

/// Sends `script` in one write and reads one reply per command.
fn pipelined(conn: &mut Conn, script: &[Vec<&str>]) -> Vec<String> {
    let mut bytes = Vec::new();
    for cmd in script {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        bytes.extend_from_slice(&encode(&args));
    }
    conn.send_raw(&bytes);
    script
        .iter()
        .map(|cmd| {
            format!(
                "{} => {}",
                cmd.join(" "),
                String::from_utf8_lossy(&conn.read_reply())
            )
        })
        .collect()
}

/// A pipeline of writes (more of them in a row than one taking of the lock runs),
/// interleaved with reads, a transaction, a script, commands that lock the keyspace
/// themselves (DBSIZE, FLUSHDB, CONFIG SET), writes under maxmemory, an error and a
/// blocking command that finds data.
fn mixed_script() -> Vec<Vec<&'static str>> {
    let mut s: Vec<Vec<&str>> = vec![
        vec!["SET", "a", "1"],
        vec!["INCR", "a"],
        vec!["LPUSH", "l", "x", "y"],
        vec!["RPUSH", "l", "z"],
        vec!["SADD", "s", "m1", "m2"],
        vec!["HSET", "h", "f", "v"],
        vec!["GET", "a"],
        vec!["SET", "b", "2"],
        vec!["LRANGE", "l", "0", "-1"],
        vec!["INCR", "l"],
        vec!["SET", "c", "3", "NX"],
        vec!["DBSIZE"],
        vec!["MULTI"],
        vec!["INCR", "a"],
        vec!["SET", "d", "4"],
        vec!["EXEC"],
        vec!["DEL", "b"],
        vec!["EVAL", "return redis.call('INCRBY', KEYS[1], 5)", "1", "a"],
        vec!["SET", "e", "5"],
        vec!["PING"],
        vec!["APPEND", "e", "x"],
        vec!["BLPOP", "l", "0"],
        vec!["EXPIRE", "e", "100"],
        vec!["TTL", "e"],
        vec!["CONFIG", "SET", "maxmemory", "1gb"],
        vec!["SET", "f", "6"],
        vec!["MSET", "g", "7", "i", "8"],
        vec!["CONFIG", "SET", "maxmemory", "0"],
        vec!["SET", "j", "9"],
        vec!["KEYS", "*"],
    ];
    for _ in 0..150 {
        s.push(vec!["INCR", "counter"]);
    }
    s.extend([
        vec!["GET", "counter"],
        vec!["FLUSHDB"],
        vec!["SET", "k", "10"],
        vec!["INCRBY", "k", "5"],
        vec!["GET", "k"],
        vec!["DBSIZE"],
    ]);
    s
}

#[test]
fn a_pipeline_mixing_writes_with_everything_else_answers_as_redis() {
    if !reference_available("a_pipeline_mixing_writes_with_everything_else_answers_as_redis") {
        return;
    }
    let ours = Server::start(&[]);
    let theirs = Reference::start();
    let script = mixed_script();
    let mut a = pipelined(&mut ours.conn(), &script);
    let mut b = pipelined(&mut theirs.conn(), &script);
    // KEYS has no order: compare its elements sorted.
    for replies in [&mut a, &mut b] {
        for r in replies.iter_mut().filter(|r| r.starts_with("KEYS")) {
            let mut lines: Vec<&str> = r.split("\r\n").collect();
            lines.sort_unstable();
            *r = lines.join("\r\n");
        }
    }
    assert_eq!(a, b);
}

#[test]
fn a_blocking_command_after_pipelined_writes_sleeps_without_the_lock() {
    let server = Server::start(&[]);
    let mut a = server.conn();
    let mut b = server.conn();
    let script = vec![
        vec!["SET", "a", "1"],
        vec!["INCR", "a"],
        vec!["LPUSH", "other", "x"],
        vec!["BLPOP", "empty", "0"],
    ];
    let mut bytes = Vec::new();
    for cmd in &script {
        let args: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
        bytes.extend_from_slice(&encode(&args));
    }
    a.send_raw(&bytes);
    assert_eq!(a.read_reply(), b"+OK\r\n");
    assert_eq!(a.read_reply(), b":2\r\n");
    assert_eq!(a.read_reply(), b":1\r\n");
    // Another client reads and writes while the first one is blocked: the lock is free.
    assert_eq!(b.cmd(&["GET", "a"]), b"$1\r\n2\r\n");
    assert_eq!(b.cmd(&["LPUSH", "empty", "v"]), b":1\r\n");
    assert_eq!(a.read_reply(), b"*2\r\n$5\r\nempty\r\n$1\r\nv\r\n");
}

#[test]
fn concurrent_pipelined_incrs_lose_no_update() {
    let server = Server::start(&[]);
    let n = 2000;
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let port = server.port;
            std::thread::spawn(move || {
                let mut conn = Conn::connect(port);
                let script: Vec<Vec<&str>> = (0..n).map(|_| vec!["INCR", "counter"]).collect();
                let replies = pipelined(&mut conn, &script);
                replies
                    .iter()
                    .map(|r| {
                        let v = r.trim_start_matches("INCR counter => :");
                        v.trim_end().parse::<i64>().expect("an integer reply")
                    })
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        let values = t.join().expect("client thread");
        assert!(
            values.windows(2).all(|w| w[0] < w[1]),
            "one client's INCR replies go up"
        );
        all.extend(values);
    }
    all.sort_unstable();
    let expected: Vec<i64> = (1..=2 * n as i64).collect();
    assert_eq!(all, expected, "every value was handed out exactly once");
    let mut conn = server.conn();
    assert_eq!(conn.cmd(&["GET", "counter"]), b"$4\r\n4000\r\n");
}

/// One request per line of `script` (arguments split on spaces), all in one write.
fn batch(script: &[String]) -> Vec<Vec<&str>> {
    script.iter().map(|l| l.split(' ').collect()).collect()
}

#[test]
fn batches_over_a_big_keyspace_answer_as_redis() {
    if !reference_available("batches_over_a_big_keyspace_answer_as_redis") {
        return;
    }
    let ours = Server::start(&[]);
    let theirs = Reference::start();
    // A dataset past the smallest one whose keys are prefetched (1 MB: 25,000 keys take
    // about 2.5 MB), loaded in pipelined batches of MSETs (themselves prefetched once
    // the dataset is big).
    let fill: Vec<String> = (0..2500)
        .map(|i| {
            let pairs: Vec<String> = (0..10).map(|j| format!("k:{} {j}", i * 10 + j)).collect();
            format!("MSET {}", pairs.join(" "))
        })
        .collect();
    let mut script: Vec<String> = Vec::new();
    for i in 0..40 {
        script.push(format!("INCR k:{}", i * 97));
        script.push(format!("SET s:{i} v{i}"));
        script.push(format!("GET k:{}", i * 31));
        script.push(format!("MSET k:{} a k:{} b s:{i} c", i * 7, i * 13 + 1));
        script.push(format!("HSET h:{} f {i}", i % 3));
        script.push(format!("LPUSH l k:{i}"));
        script.push(format!("LPUSH l k:{i}"));
    }
    script.extend(
        [
            "SELECT 1",
            "INCR k:5",
            "SET k:6 x",
            "SELECT 0",
            "MGET k:5 k:6 s:3",
            "DEL k:1 k:2 nosuch",
            "EXISTS k:1 k:3",
            "INCR s:1",
            "GET k:5",
            "DBSIZE",
        ]
        .map(String::from),
    );
    let reads: Vec<String> = (0..200).map(|i| format!("GET k:{}", i * 53)).collect();
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    for part in [&fill, &script, &reads] {
        for chunk in part.chunks(300) {
            let chunk = batch(chunk);
            assert_eq!(pipelined(&mut a, &chunk), pipelined(&mut b, &chunk));
        }
    }
}
