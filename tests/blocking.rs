//! Blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX,
//! BZMPOP and CLIENT UNBLOCK.
//!
//! Integration tests on redlite (FIFO service of many blocked clients, timeouts, no
//! blocking inside MULTI, CLIENT UNBLOCK, a client that left before data arrived), and
//! differential tests of every reply that does not need a second client, errors
//! included, against a reference redis-server 7.0.

mod common;

use std::time::{Duration, Instant};

use common::diff::{render, run_script};
use common::{Conn, Server};
use pretty_assertions::assert_eq;

/// Waits until `n` clients are blocked (INFO's `blocked_clients`), or fails.
fn wait_blocked(conn: &mut Conn, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = conn.cmd_str(&["INFO", "clients"]);
        let blocked = info
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if blocked == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{blocked} blocked, waiting for {n}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_hundred_blocked_clients_are_served_one_element_each_in_fifo_order() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    let mut clients = Vec::new();
    for i in 0..100 {
        let mut c = server.conn();
        c.send(&["BLPOP", "queue", "other", "0"]);
        // Each blocks before the next one does, so the order is known.
        wait_blocked(&mut admin, i + 1);
        clients.push(c);
    }
    let mut pusher = server.conn();
    for i in 0..100 {
        let element = format!("e{i}");
        assert_eq!(pusher.cmd(&["RPUSH", "queue", &element]), b":1\r\n");
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let element = format!("e{i}");
        let expected = format!("*2\r\n$5\r\nqueue\r\n${}\r\n{element}\r\n", element.len());
        assert_eq!(render(&c.read_reply()), render(expected.as_bytes()));
    }
    assert_eq!(admin.cmd(&["EXISTS", "queue"]), b":0\r\n");
    wait_blocked(&mut admin, 0);
}

#[test]
fn one_push_of_several_elements_serves_several_clients() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    let (mut a, mut b) = (server.conn(), server.conn());
    a.send(&["BRPOP", "l", "0"]);
    wait_blocked(&mut admin, 1);
    b.send(&["BZPOPMIN", "z", "l", "0"]);
    wait_blocked(&mut admin, 2);
    // Two elements: the first waiter takes the tail, the second (waiting on a list key
    // with BZPOPMIN) is not served by a list, and keeps waiting.
    admin.cmd(&["RPUSH", "l", "x", "y"]);
    assert_eq!(a.read_reply(), b"*2\r\n$1\r\nl\r\n$1\r\ny\r\n");
    assert_eq!(admin.cmd(&["LRANGE", "l", "0", "-1"]), b"*1\r\n$1\r\nx\r\n");
    admin.cmd(&["ZADD", "z", "2", "two", "1", "one"]);
    assert_eq!(b.read_reply(), b"*3\r\n$1\r\nz\r\n$3\r\none\r\n$1\r\n1\r\n");
}

#[test]
fn timeouts_reply_nil_after_about_the_time_asked() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    for (cmd, nil) in [
        (&["BLPOP", "k", "0.2"][..], &b"*-1\r\n"[..]),
        // The moves too: Redis 7.0 answers every timeout with a null array.
        (&["BLMOVE", "k", "d", "LEFT", "RIGHT", "0.2"], b"*-1\r\n"),
        (&["BRPOPLPUSH", "k", "d", "0.2"], b"*-1\r\n"),
        (&["BLMPOP", "0.2", "1", "k", "LEFT"], b"*-1\r\n"),
        (&["BZPOPMAX", "k", "0.2"], b"*-1\r\n"),
        (
            &["BZMPOP", "0.2", "2", "k", "j", "MIN", "COUNT", "3"],
            b"*-1\r\n",
        ),
    ] {
        let start = Instant::now();
        assert_eq!(c.cmd(cmd), nil, "{cmd:?}");
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(190) && took < Duration::from_secs(5),
            "{cmd:?} took {took:?}"
        );
    }
}

#[test]
fn blocking_commands_do_not_block_inside_multi() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    c.cmd(&["MULTI"]);
    c.cmd(&["BLPOP", "empty", "0"]);
    c.cmd(&["RPUSH", "full", "a"]);
    c.cmd(&["BLPOP", "full", "0"]);
    c.cmd(&["BZPOPMIN", "empty", "0"]);
    assert_eq!(
        render(&c.cmd(&["EXEC"])),
        render(b"*4\r\n*-1\r\n:1\r\n*2\r\n$4\r\nfull\r\n$1\r\na\r\n*-1\r\n")
    );
}

#[test]
fn a_push_inside_exec_serves_waiters_once_exec_completes() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    let mut waiter = server.conn();
    waiter.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd(&["MULTI"]);
    admin.cmd(&["RPUSH", "k", "a", "b"]);
    admin.cmd(&["LPOP", "k"]);
    // Inside the transaction the push is popped again before the waiter can see it.
    assert_eq!(
        render(&admin.cmd(&["EXEC"])),
        render(b"*2\r\n:2\r\n$1\r\na\r\n")
    );
    assert_eq!(waiter.read_reply(), b"*2\r\n$1\r\nk\r\n$1\r\nb\r\n");
}

#[test]
fn blmove_feeds_clients_blocked_on_its_destination() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    let (mut first, mut second) = (server.conn(), server.conn());
    first.send(&["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]);
    wait_blocked(&mut admin, 1);
    second.send(&["BLPOP", "dst", "0"]);
    wait_blocked(&mut admin, 2);
    admin.cmd(&["LPUSH", "src", "v"]);
    assert_eq!(first.read_reply(), b"$1\r\nv\r\n");
    assert_eq!(second.read_reply(), b"*2\r\n$3\r\ndst\r\n$1\r\nv\r\n");
    assert_eq!(admin.cmd(&["EXISTS", "src", "dst"]), b":0\r\n");
}

#[test]
fn client_unblock_ends_a_wait_with_a_timeout_or_an_error() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    let mut c = server.conn();
    let id = c.cmd_str(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim();
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", id]), b":0\r\n");
    c.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", id, "TIMEOUT"]), b":1\r\n");
    assert_eq!(c.read_reply(), b"*-1\r\n");
    c.send(&["BZPOPMIN", "k", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", id, "ERROR"]), b":1\r\n");
    assert_eq!(
        c.read_reply(),
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    wait_blocked(&mut admin, 0);
    assert_eq!(
        admin.cmd(&["CLIENT", "UNBLOCK", id, "LATER"]),
        b"-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
}

#[test]
fn a_client_that_left_is_not_given_data() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    let mut gone = server.conn();
    gone.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 1);
    let mut stays = server.conn();
    stays.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 2);
    drop(gone);
    std::thread::sleep(Duration::from_millis(50));
    admin.cmd(&["RPUSH", "k", "only"]);
    assert_eq!(stays.read_reply(), b"*2\r\n$1\r\nk\r\n$4\r\nonly\r\n");
}

#[test]
fn killing_a_blocked_client_releases_it() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    let mut c = server.conn();
    let id = c.cmd_str(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim().to_string();
    c.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "ID", &id]), b":1\r\n");
    wait_blocked(&mut admin, 0);
    assert!(c.is_closed());
    admin.cmd(&["RPUSH", "k", "kept"]);
    assert_eq!(admin.cmd(&["LLEN", "k"]), b":1\r\n");
}

#[test]
fn replies_and_errors_match_redis() {
    if !common::reference_available("replies_and_errors_match_redis") {
        return;
    }
    run_script(&[
        &["RPUSH", "l1", "a", "b", "c"],
        &["RPUSH", "l2", "x"],
        &["ZADD", "z1", "1", "a", "2", "b", "3", "c"],
        &["SET", "s", "v"],
        &["BLPOP", "missing", "l1", "0"],
        &["BRPOP", "l2", "l1", "1"],
        &["BLPOP", "s", "l1", "0"],
        &["BLPOP", "l1", "s", "0"],
        &["BLPOP", "l1", "x"],
        &["BLPOP", "l1", "-1"],
        &["BLPOP", "l1", "1e300"],
        &["BLPOP", "l1", "inf"],
        &["BLPOP", "l1", "nan"],
        &["BLPOP", "l1", " 1"],
        &["BLPOP", "l1", "-0.0001"],
        &["BLPOP", "l1"],
        &["RPUSH", "l1", "m", "n", "o"],
        &["BLMOVE", "l1", "l3", "LEFT", "RIGHT", "0"],
        &["BLMOVE", "l1", "l3", "UP", "RIGHT", "0"],
        &["BLMOVE", "l1", "s", "LEFT", "RIGHT", "0"],
        &["BRPOPLPUSH", "l3", "l3", "0"],
        &["BRPOPLPUSH", "s", "l3", "0"],
        &["BLMPOP", "0", "2", "missing", "l3", "LEFT", "COUNT", "5"],
        &["BLMPOP", "0", "0", "l3", "LEFT"],
        &["BLMPOP", "0", "1", "l3", "MIDDLE"],
        &["BLMPOP", "0", "1", "l3", "LEFT", "COUNT", "0"],
        &["BLMPOP", "0", "5", "l3", "LEFT"],
        &["BLMPOP", "x", "1", "l3", "LEFT"],
        &["BZPOPMIN", "missing", "z1", "0"],
        &["BZPOPMAX", "z1", "0"],
        &["BZPOPMIN", "s", "0"],
        &["BZMPOP", "0", "1", "z1", "MAX", "COUNT", "10"],
        &["BZMPOP", "0", "1", "z1", "LEFT"],
        &["BZMPOP", "0", "0", "z1", "MIN"],
        &["BZMPOP", "0", "1", "z1", "MIN", "COUNT", "-1"],
        &["EXISTS", "l1", "l2", "l3", "z1"],
        &["CLIENT", "UNBLOCK", "999999"],
        &["CLIENT", "UNBLOCK", "x"],
        &["CLIENT", "UNBLOCK", "1", "x"],
        &["CLIENT", "UNBLOCK", "x", "ERROR"],
        &["CLIENT", "UNBLOCK", "1", "TIMEOUT", "x"],
    ]);
}
