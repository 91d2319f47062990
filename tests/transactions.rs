//! Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH (issue #6).
//!
//! The differential tests run scripts over one or two connections on a fresh redlite
//! and a fresh reference redis-server 7.0, and compare every reply byte for byte: the
//! queueing replies, EXECABORT, errors returned in place by EXEC, and EXEC's null array
//! after another client changed a watched key, by each kind of change, or its normal
//! reply when the other client's command changed nothing.
//!
//! The integration tests run on redlite alone, with many clients at once: no lost
//! update under MULTI/INCR/EXEC, a WATCH-based optimistic counter that reaches its exact
//! total, readers that never see half a transaction, and CLIENT LIST's `multi=`.

mod common;
#[path = "common/steps.rs"]
mod steps;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::diff::{render, run_script};
use common::{array_elements, encode, Conn, Server};
use pretty_assertions::assert_eq;
use steps::{run_steps, Step};

// ---------------------------------------------------------------------------------------
// Differential: queueing and EXEC's replies

#[test]
fn queueing_and_exec_replies() {
    if !common::reference_available("queueing_and_exec_replies") {
        return;
    }
    run_script(&[
        // Without MULTI.
        &["EXEC"],
        &["DISCARD"],
        &["UNWATCH"],
        // Replies in order, runtime errors in place, the others still run.
        &["SET", "s", "text"],
        &["MULTI"],
        &["INCR", "s"],
        &["SET", "b", "2"],
        &["LPUSH", "s", "x"],
        &["GET", "b"],
        &["INCRBY", "b", "x"],
        &["RPUSH", "l", "1", "2"],
        &["EXEC"],
        &["GET", "b"],
        &["LRANGE", "l", "0", "-1"],
        // An empty transaction.
        &["MULTI"],
        &["EXEC"],
        // DISCARD drops the queue.
        &["MULTI"],
        &["SET", "b", "discarded"],
        &["DISCARD"],
        &["GET", "b"],
        &["EXEC"],
        // Nested MULTI and WATCH inside MULTI are refused but do not doom the
        // transaction.
        &["MULTI"],
        &["MULTI"],
        &["WATCH", "b"],
        &["INCR", "b"],
        &["EXEC"],
        // Case does not matter.
        &["multi"],
        &["iNcR", "b"],
        &["exec"],
    ]);
}

#[test]
fn refused_commands_abort_the_transaction() {
    if !common::reference_available("refused_commands_abort_the_transaction") {
        return;
    }
    run_script(&[
        // An unknown command.
        &["MULTI"],
        &["SET", "a", "1"],
        &["NOSUCHCOMMAND", "x", "y"],
        &["SET", "b", "1"],
        &["EXEC"],
        &["EXISTS", "a", "b"],
        // Wrong arity, of a command and of a subcommand.
        &["MULTI"],
        &["SET", "a", "1"],
        &["GET"],
        &["EXEC"],
        &["MULTI"],
        &["CONFIG", "GET"],
        &["EXEC"],
        &["MULTI"],
        &["CONFIG", "NOSUCH"],
        &["EXEC"],
        &["EXISTS", "a"],
        // A command not allowed inside a transaction.
        &["MULTI"],
        &["SET", "a", "1"],
        &["SAVE"],
        &["EXEC"],
        &["EXISTS", "a"],
        // DISCARD after a refusal is fine, and the next transaction is clean.
        &["MULTI"],
        &["NOSUCHCOMMAND"],
        &["DISCARD"],
        &["MULTI"],
        &["SET", "a", "ok"],
        &["EXEC"],
        &["GET", "a"],
        // EXECABORT wins over a changed watched key, and unwatches.
        &["WATCH", "a"],
        &["SET", "a", "mine"],
        &["MULTI"],
        &["GET"],
        &["EXEC"],
        &["MULTI"],
        &["GET", "a"],
        &["EXEC"],
    ]);
}

#[test]
fn commands_inside_exec() {
    if !common::reference_available("commands_inside_exec") {
        return;
    }
    run_script(&[
        // SELECT inside a transaction changes the database of the commands after it,
        // and of the connection afterwards; its errors come back in place.
        &["MULTI"],
        &["SET", "k", "db0"],
        &["SELECT", "1"],
        &["SET", "k", "db1"],
        &["SELECT", "99"],
        &["SELECT", "x"],
        &["PING"],
        &["ECHO", "hi"],
        &["GET", "k"],
        &["EXEC"],
        &["GET", "k"],
        &["SELECT", "0"],
        &["GET", "k"],
        // The transaction's own writes do not abort it.
        &["WATCH", "k"],
        &["MULTI"],
        &["SET", "k", "x"],
        &["INCR", "k"],
        &["EXEC"],
        &["GET", "k"],
        // RESET leaves MULTI, unwatches, and selects database 0.
        &["SELECT", "2"],
        &["WATCH", "k"],
        &["MULTI"],
        &["SET", "k", "queued"],
        &["RESET"],
        &["EXEC"],
        &["GET", "k"],
        &["SET", "k", "after"],
        &["MULTI"],
        &["GET", "k"],
        &["EXEC"],
    ]);
}

// ---------------------------------------------------------------------------------------
// Differential: WATCH

/// `WATCH key`, then `change` on a second connection, then a one-command transaction on
/// the first: the steps of one scenario.
macro_rules! watch_case {
    ($key:expr, [$($change:expr),* $(,)?]) => {
        [
            (0, &["WATCH", $key] as &[&str]),
            $((1, $change),)*
            (0, &["MULTI"]),
            (0, &["PING"]),
            (0, &["EXEC"]),
        ]
    };
}

#[test]
fn exec_fails_after_another_client_changed_a_watched_key() {
    if !common::reference_available("exec_fails_after_another_client_changed_a_watched_key") {
        return;
    }
    let setup: &[Step] = &[
        (0, &["SET", "k", "v"]),
        (0, &["RPUSH", "list", "only"]),
        (0, &["SET", "src", "v"]),
    ];
    let mut script: Vec<Step> = setup.to_vec();
    // A write, DEL, EXPIRE, PERSIST-less TTL change, INCR.
    script.extend(watch_case!("k", [&["SET", "k", "new"]]));
    script.extend(watch_case!("k", [&["APPEND", "k", "x"]]));
    script.extend(watch_case!("k", [&["EXPIRE", "k", "100"]]));
    script.extend(watch_case!("k", [&["PERSIST", "k"]]));
    script.extend(watch_case!("k", [&["DEL", "k"]]));
    // Created after WATCH.
    script.extend(watch_case!("k", [&["SET", "k", "again"]]));
    // RENAME onto the key, and away from it.
    script.extend(watch_case!("k", [&["RENAME", "src", "k"]]));
    script.extend(watch_case!("k", [&["RENAME", "k", "moved"]]));
    // A pop that empties a list (the key disappears), and one that does not.
    script.extend(watch_case!("list", [&["LPOP", "list"]]));
    script.push((0, &["RPUSH", "list", "a", "b"]));
    script.extend(watch_case!("list", [&["RPOP", "list"]]));
    // FLUSHDB, FLUSHALL.
    script.push((0, &["SET", "k", "v"]));
    script.extend(watch_case!("k", [&["FLUSHDB"]]));
    script.push((0, &["SET", "k", "v"]));
    script.extend(watch_case!("k", [&["FLUSHALL"]]));
    // FLUSHALL from a client in another database.
    script.push((0, &["SET", "k", "v"]));
    script.extend(watch_case!(
        "k",
        [&["SELECT", "5"], &["FLUSHALL"], &["SELECT", "0"]]
    ));
    // SWAPDB brings in another database's key, or takes ours away.
    script.push((0, &["SET", "k", "v"]));
    script.extend(watch_case!("k", [&["SWAPDB", "0", "1"]]));
    script.extend(watch_case!("k", [&["SWAPDB", "0", "1"]]));
    // MOVE takes it to another database.
    script.extend(watch_case!("k", [&["MOVE", "k", "3"]]));
    // EXPIRE with a time in the past deletes it.
    script.push((0, &["SET", "k", "v"]));
    script.extend(watch_case!("k", [&["EXPIRE", "k", "0"]]));
    // The client's own write between WATCH and MULTI counts too.
    script.extend([
        (0, &["WATCH", "k"] as &[&str]),
        (0, &["SET", "k", "mine"]),
        (0, &["MULTI"]),
        (0, &["GET", "k"]),
        (0, &["EXEC"]),
        // Once EXEC failed nothing is watched any more.
        (1, &["SET", "k", "later"]),
        (0, &["MULTI"]),
        (0, &["GET", "k"]),
        (0, &["EXEC"]),
    ]);
    run_steps(&script);
}

#[test]
fn exec_runs_when_nothing_watched_changed() {
    if !common::reference_available("exec_runs_when_nothing_watched_changed") {
        return;
    }
    let mut script: Vec<Step> = vec![
        (0, &["SET", "k", "v"]),
        (0, &["SADD", "set", "a"]),
        (0, &["RPUSH", "list", "a"]),
    ];
    // Commands that change nothing.
    script.extend(watch_case!("k", [&["SET", "k", "other", "NX"]]));
    script.extend(watch_case!("k", [&["GET", "k"]]));
    script.extend(watch_case!("k", [&["PERSIST", "k"]]));
    script.extend(watch_case!("missing", [&["DEL", "missing"]]));
    script.extend(watch_case!("missing", [&["EXPIRE", "missing", "10"]]));
    script.extend(watch_case!("missing", [&["SET", "missing", "x", "XX"]]));
    script.extend(watch_case!("set", [&["SADD", "set", "a"]]));
    script.extend(watch_case!("set", [&["SREM", "set", "zz"]]));
    script.extend(watch_case!("list", [&["LREM", "list", "0", "zz"]]));
    script.extend(watch_case!("k", [&["RENAME", "nosuch", "k"]]));
    // Another key, or the same key in another database.
    script.extend(watch_case!("k", [&["SET", "other", "1"]]));
    script.extend(watch_case!(
        "k",
        [
            &["SELECT", "1"],
            &["SET", "k", "db1"],
            &["DEL", "k"],
            &["SELECT", "0"]
        ]
    ));
    // FLUSHDB of a database without the key, and of ours while the key is missing.
    script.extend(watch_case!(
        "k",
        [&["SELECT", "2"], &["FLUSHDB"], &["SELECT", "0"]]
    ));
    script.extend(watch_case!("missing", [&["FLUSHDB"]]));
    // SWAPDB of two other databases; of ours with one where the key is missing too.
    script.push((0, &["SET", "k", "v"]));
    script.extend(watch_case!("k", [&["SWAPDB", "1", "2"]]));
    script.extend(watch_case!("missing", [&["SWAPDB", "0", "3"]]));
    // UNWATCH forgets, and so do EXEC and DISCARD.
    script.extend([
        (0, &["SET", "k", "v"] as &[&str]),
        (0, &["WATCH", "k"]),
        (1, &["SET", "k", "changed"]),
        (0, &["UNWATCH"]),
        (0, &["MULTI"]),
        (0, &["GET", "k"]),
        (0, &["EXEC"]),
        (0, &["WATCH", "k"]),
        (0, &["MULTI"]),
        (0, &["DISCARD"]),
        (1, &["SET", "k", "changed again"]),
        (0, &["MULTI"]),
        (0, &["GET", "k"]),
        (0, &["EXEC"]),
        // WATCH a missing key that stays missing; then one that is created.
        (0, &["WATCH", "nope"]),
        (0, &["MULTI"]),
        (0, &["GET", "nope"]),
        (0, &["EXEC"]),
        (0, &["WATCH", "nope"]),
        (1, &["SET", "nope", "1"]),
        (0, &["MULTI"]),
        (0, &["GET", "nope"]),
        (0, &["EXEC"]),
        // Watching several keys, one changes.
        (0, &["WATCH", "a", "b", "c", "a"]),
        (1, &["SET", "c", "1"]),
        (0, &["MULTI"]),
        (0, &["PING"]),
        (0, &["EXEC"]),
    ]);
    run_steps(&script);
}

#[test]
fn watched_keys_and_expiry() {
    if !common::reference_available("watched_keys_and_expiry") {
        return;
    }
    run_steps(&[
        // The key expires between WATCH and EXEC: that is a change.
        (0, &["SET", "k", "v", "PX", "150"]),
        (0, &["WATCH", "k"]),
        (0, &["#pause", "400"]),
        (0, &["MULTI"]),
        (0, &["PING"]),
        (0, &["EXEC"]),
        // ... even if another client met it expired first.
        (0, &["SET", "k", "v", "PX", "150"]),
        (0, &["WATCH", "k"]),
        (0, &["#pause", "400"]),
        (1, &["GET", "k"]),
        (0, &["MULTI"]),
        (0, &["PING"]),
        (0, &["EXEC"]),
        // A key that had already expired when watched: its removal is no change.
        (0, &["SET", "k", "v", "PX", "50"]),
        (0, &["#pause", "200"]),
        (0, &["WATCH", "k"]),
        (1, &["GET", "k"]),
        (0, &["MULTI"]),
        (0, &["PING"]),
        (0, &["EXEC"]),
        // ... but a new value is.
        (0, &["SET", "k", "v", "PX", "50"]),
        (0, &["#pause", "200"]),
        (0, &["WATCH", "k"]),
        (1, &["SET", "k", "new"]),
        (0, &["MULTI"]),
        (0, &["PING"]),
        (0, &["EXEC"]),
    ]);
}

// ---------------------------------------------------------------------------------------
// Integration (redlite only)

/// Sends `MULTI`, `commands` and `EXEC` in one write and returns EXEC's reply.
fn transaction(conn: &mut Conn, commands: &[&[&str]]) -> Vec<u8> {
    let mut bytes = encode(&[b"MULTI"]);
    for cmd in commands {
        let words: Vec<&[u8]> = cmd.iter().map(|w| w.as_bytes()).collect();
        bytes.extend(encode(&words));
    }
    bytes.extend(encode(&[b"EXEC"]));
    conn.send_raw(&bytes);
    assert_eq!(conn.read_reply(), b"+OK\r\n");
    for _ in commands {
        assert_eq!(conn.read_reply(), b"+QUEUED\r\n");
    }
    conn.read_reply()
}

#[test]
fn concurrent_transactions_lose_no_update() {
    const CLIENTS: usize = 50;
    const ROUNDS: usize = 40;
    let server = Server::start(&[]);
    let port = server.port;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut conn = Conn::connect(port);
                for _ in 0..ROUNDS {
                    let reply = transaction(&mut conn, &[&["INCR", "n"], &["INCR", "m"]]);
                    let parts = array_elements(&reply);
                    assert_eq!(parts.len(), 2, "{}", render(&reply));
                    // Nobody ran between the two INCRs: m was n one step earlier.
                    assert_eq!(parts[0], parts[1], "INCR n and INCR m interleaved");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut conn = server.conn();
    let total = format!("{}", CLIENTS * ROUNDS);
    let expected = format!("${}\r\n{total}\r\n", total.len());
    assert_eq!(conn.cmd_str(&["GET", "n"]), expected);
    assert_eq!(conn.cmd_str(&["GET", "m"]), expected);
}

#[test]
fn watch_based_counter_reaches_the_exact_total() {
    const CLIENTS: usize = 20;
    const EACH: usize = 15;
    let server = Server::start(&[]);
    let port = server.port;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut conn = Conn::connect(port);
                let mut retries = 0;
                for _ in 0..EACH {
                    loop {
                        assert_eq!(conn.cmd(&["WATCH", "counter"]), b"+OK\r\n");
                        let raw = conn.cmd(&["GET", "counter"]);
                        let value: u64 = if raw == b"$-1\r\n" {
                            0
                        } else {
                            let text = String::from_utf8_lossy(&raw).into_owned();
                            text.lines().nth(1).unwrap().parse().unwrap()
                        };
                        let next = (value + 1).to_string();
                        let reply = transaction(&mut conn, &[&["SET", "counter", &next]]);
                        if reply == b"*1\r\n+OK\r\n" {
                            break;
                        }
                        assert_eq!(reply, b"*-1\r\n", "EXEC: {}", render(&reply));
                        retries += 1;
                    }
                }
                retries
            })
        })
        .collect();
    let retries: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let total = (CLIENTS * EACH).to_string();
    assert_eq!(
        server.conn().cmd_str(&["GET", "counter"]),
        format!("${}\r\n{total}\r\n", total.len()),
        "after {retries} retries"
    );
}

#[test]
fn readers_never_see_half_a_transaction() {
    let server = Server::start(&[]);
    let port = server.port;
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut conn = Conn::connect(port);
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let v = format!("{w}-{i}");
                    // Lock-free commands (PING, ECHO, SELECT, PUBLISH) between the
                    // writes must not open a gap either.
                    let reply = transaction(
                        &mut conn,
                        &[
                            &["SET", "a", &v],
                            &["PING"],
                            &["SELECT", "0"],
                            &["ECHO", "x"],
                            &["PUBLISH", "nobody", "x"],
                            &["SET", "b", &v],
                            &["SET", "c", &v],
                        ],
                    );
                    assert!(reply.starts_with(b"*7\r\n"), "{}", render(&reply));
                    i += 1;
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut conn = Conn::connect(port);
                let deadline = Instant::now() + Duration::from_millis(1500);
                let mut seen = 0;
                while Instant::now() < deadline {
                    let reply = conn.cmd(&["MGET", "a", "b", "c"]);
                    let parts = array_elements(&reply);
                    assert_eq!(parts[0], parts[1], "a and b differ: {}", render(&reply));
                    assert_eq!(parts[1], parts[2], "b and c differ: {}", render(&reply));
                    seen += 1;
                }
                seen
            })
        })
        .collect();
    let seen: usize = readers.into_iter().map(|t| t.join().unwrap()).sum();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert!(seen > 0);
}

/// The fields of this connection's CLIENT INFO line we look at.
fn client_fields(conn: &mut Conn, names: &[&str]) -> String {
    let raw = conn.cmd_str(&["CLIENT", "INFO"]);
    raw.split_whitespace()
        .filter(|f| names.iter().any(|n| f.split('=').next() == Some(n)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn client_list_shows_the_transaction() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    let mut other = server.conn();
    assert_eq!(
        client_fields(&mut conn, &["flags", "multi"]),
        "flags=N multi=-1"
    );
    conn.cmd(&["MULTI"]);
    conn.cmd(&["SET", "a", "1"]);
    conn.cmd(&["SET", "b", "1"]);
    let line = other.cmd_str(&["CLIENT", "LIST"]);
    let mine = line.lines().find(|l| l.contains("cmd=set")).unwrap();
    assert!(mine.contains(" flags=x "), "{mine}");
    assert!(mine.contains(" multi=2 "), "{mine}");
    conn.cmd(&["DISCARD"]);
    // A changed watched key shows as `d`, and a doomed transaction queues nothing.
    conn.cmd(&["WATCH", "k"]);
    other.cmd(&["SET", "k", "1"]);
    conn.cmd(&["MULTI"]);
    conn.cmd(&["SET", "a", "2"]);
    let line = other.cmd_str(&["CLIENT", "LIST"]);
    let mine = line.lines().find(|l| l.contains("cmd=set")).unwrap();
    assert!(mine.contains(" flags=xd "), "{mine}");
    assert!(mine.contains(" multi=0 "), "{mine}");
    assert_eq!(conn.cmd(&["EXEC"]), b"*-1\r\n");
    assert_eq!(
        client_fields(&mut conn, &["flags", "multi"]),
        "flags=N multi=-1"
    );
}

#[test]
fn a_client_that_leaves_stops_watching() {
    let server = Server::start(&[]);
    let mut leaving = server.conn();
    assert_eq!(leaving.cmd(&["WATCH", "k", "other"]), b"+OK\r\n");
    assert_eq!(leaving.cmd(&["MULTI"]), b"+OK\r\n");
    assert_eq!(leaving.cmd(&["SET", "k", "1"]), b"+QUEUED\r\n");
    drop(leaving);
    // Its queue is dropped with it, and writes to the keys it watched still work.
    let mut conn = server.conn();
    let clients = |conn: &mut Conn| conn.cmd_str(&["CLIENT", "LIST"]).matches("id=").count();
    for _ in 0..50 {
        if clients(&mut conn) == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(clients(&mut conn), 1);
    assert_eq!(conn.cmd(&["SET", "k", "2"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["GET", "k"]), b"$1\r\n2\r\n");
}
