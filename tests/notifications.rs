//! Keyspace notifications (`notify-keyspace-events`), compared with a reference
//! redis-server 7.0: the same steps run on both, and the messages a subscriber to
//! `__key*__:*` receives after each step must be identical, byte for byte where the test
//! reads raw frames. The randomized comparison over every family is in
//! random_differential.rs; these cover what it leaves out: expiry (lazy and active),
//! the class letters, RESP3 pushes, transactions and other databases.

mod common;

use std::time::Duration;

use common::diff::{render, Pair};
use common::events::EventListener;
use common::{reference_available, Conn, Server};
use pretty_assertions::assert_eq;

/// One step: a command, or a pause (milliseconds) that lets keys expire.
enum Step {
    Cmd(&'static [&'static str]),
    Sleep(u64),
}
use Step::{Cmd, Sleep};

/// Runs `steps` on a fresh pair with `classes` enabled, and compares the events of each
/// step (expired ones included; within a pause, in any order, as each server's active
/// expiry cycle takes keys in its own order). Inside MULTI the events are taken at EXEC
/// (the sync mark would be queued).
fn compare(test: &str, classes: &str, steps: &[Step]) {
    if !reference_available(test) {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let mut ours_ev = EventListener::start(&mut ours, pair.ours.conn(), classes, true);
    let mut theirs_ev = EventListener::start(&mut theirs, pair.theirs.conn(), classes, true);
    let mut in_multi = false;
    for (i, step) in steps.iter().enumerate() {
        let what = match step {
            Cmd(cmd) => {
                let (a, b) = (ours.cmd(cmd), theirs.cmd(cmd));
                assert_eq!(render(&a), render(&b), "{test}: step {i}: reply to {cmd:?}");
                match cmd[0] {
                    "MULTI" => in_multi = true,
                    "EXEC" | "DISCARD" => in_multi = false,
                    _ => {}
                }
                format!("{cmd:?}")
            }
            Sleep(ms) => {
                std::thread::sleep(Duration::from_millis(*ms));
                format!("a pause of {ms} ms")
            }
        };
        if in_multi {
            continue;
        }
        let (mut a, mut b) = (ours_ev.take(&mut ours), theirs_ev.take(&mut theirs));
        if matches!(step, Sleep(_)) {
            a.sort();
            b.sort();
        }
        assert_eq!(
            a.join("\n"),
            b.join("\n"),
            "{test}: step {i} ({what}): events (left: redlite, right: redis)"
        );
    }
}

#[test]
fn lazy_and_active_expiry_fire_expired() {
    compare(
        "lazy_and_active_expiry_fire_expired",
        "KEA",
        &[
            Cmd(&["SET", "lazy", "v", "PX", "30"]),
            Cmd(&["SET", "active", "v", "PX", "30"]),
            Cmd(&["SELECT", "2"]),
            Cmd(&["SET", "other-db", "v", "PX", "30"]),
            // Long enough for both servers' active cycles (10 per second) to take the
            // two keys nobody reads, so each fires once, before the lookup below.
            Sleep(600),
            Cmd(&["SELECT", "0"]),
            Cmd(&["SET", "lazy", "again", "PX", "100000"]),
            Cmd(&["GET", "lazy"]),
        ],
    );
}

#[test]
fn a_lookup_that_meets_an_expired_key_fires_before_the_command() {
    if !reference_available("a_lookup_that_meets_an_expired_key_fires_before_the_command") {
        return;
    }
    // The reference's active expiry is switched off, so the lookup meets the key; on
    // redlite the cycle runs, and a key it took first fires the same event a step
    // earlier: compare only with redis-server's order where both met it by lookup.
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    assert_eq!(theirs.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), b"+OK\r\n");
    let mut ours_ev = EventListener::start(&mut ours, pair.ours.conn(), "KEA", true);
    let mut theirs_ev = EventListener::start(&mut theirs, pair.theirs.conn(), "KEA", true);
    for conn in [&mut ours, &mut theirs] {
        conn.cmd(&["SET", "k", "v", "PX", "5"]);
    }
    ours_ev.take(&mut ours);
    theirs_ev.take(&mut theirs);
    std::thread::sleep(Duration::from_millis(20));
    let theirs_events = {
        theirs.cmd(&["RPUSH", "k", "x"]);
        theirs_ev.take(&mut theirs)
    };
    ours.cmd(&["RPUSH", "k", "x"]);
    let ours_events = ours_ev.take(&mut ours);
    assert_eq!(
        theirs_events,
        [
            "__keyspace@0__:k expired",
            "__keyevent@0__:expired k",
            "__keyspace@0__:k rpush",
            "__keyevent@0__:rpush k",
        ]
    );
    // redlite's cycle may have taken the key in the 20 ms; then the expired event came
    // before the step, and the RPUSH's own events are all there is.
    if ours_events.len() == 2 {
        assert_eq!(ours_events, theirs_events[2..]);
    } else {
        assert_eq!(ours_events, theirs_events);
    }
}

#[test]
fn classes_select_what_is_published() {
    let steps = || {
        [
            Cmd(&["SET", "s", "v"]),
            Cmd(&["LPUSH", "l", "a", "b"]),
            Cmd(&["EXPIRE", "s", "100"]),
            Cmd(&["DEL", "s", "l", "missing"]),
            Cmd(&["HSET", "h", "f", "v"]),
            Cmd(&["INCR", "n"]),
        ]
    };
    for classes in ["KEA", "E$", "Kl", "Eg", "K$lgn", "A", "KEx", "KE", "", "Kh"] {
        compare(
            &format!("classes_select_what_is_published {classes:?}"),
            classes,
            &steps(),
        );
    }
}

#[test]
fn transactions_and_other_databases() {
    compare(
        "transactions_and_other_databases",
        "KEA",
        &[
            Cmd(&["MULTI"]),
            Cmd(&["SET", "a", "1"]),
            Cmd(&["SELECT", "3"]),
            Cmd(&["SET", "a", "2"]),
            Cmd(&["INCRBY", "a", "5"]),
            Cmd(&["EXEC"]),
            Cmd(&["SELECT", "3"]),
            Cmd(&["APPEND", "a", "x"]),
            Cmd(&["SET", "a", "1", "NX"]),
            Cmd(&["GETDEL", "a"]),
        ],
    );
}

/// Reads one raw frame from a subscriber.
fn frame(conn: &mut Conn) -> String {
    render(&conn.read_reply())
}

#[test]
fn resp3_subscribers_get_pushes() {
    if !reference_available("resp3_subscribers_get_pushes") {
        return;
    }
    let pair = Pair::start();
    let mut frames = Vec::new();
    for port in [pair.ours.port, pair.theirs.port] {
        let mut control = Conn::connect(port);
        control.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        let mut sub = Conn::connect(port);
        sub.cmd(&["HELLO", "3"]);
        sub.cmd(&["PSUBSCRIBE", "__keyevent@0__:*"]);
        // The same client subscribed to a keyspace channel, and writing itself.
        sub.cmd(&["SUBSCRIBE", "__keyspace@0__:mine"]);
        control.cmd(&["SET", "k", "v"]);
        let mut got = vec![frame(&mut sub)];
        let reply = sub.cmd(&["SET", "mine", "1"]);
        got.push(render(&reply));
        got.push(frame(&mut sub));
        got.push(frame(&mut sub));
        frames.push(got);
    }
    assert_eq!(frames[0], frames[1]);
}

#[test]
fn the_setting_takes_effect_at_startup_and_at_once() {
    let server = Server::start(&["--notify-keyspace-events", "Kg"]);
    let mut control = server.conn();
    assert_eq!(
        control.cmd(&["CONFIG", "GET", "notify-keyspace-events"]),
        b"*2\r\n$22\r\nnotify-keyspace-events\r\n$2\r\ngK\r\n"
    );
    let mut sub = server.conn();
    sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    control.cmd(&["SET", "k", "v"]);
    control.cmd(&["DEL", "k"]);
    assert_eq!(
        frame(&mut sub),
        "*4\\r\\n$8\\r\\npmessage\\r\\n$10\\r\\n__key*__:*\\r\\n$16\\r\\n__keyspace@0__:k\\r\\n$3\\r\\ndel\\r\\n"
    );
    control.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    control.cmd(&["SET", "k", "v"]);
    control.cmd(&["DEL", "k"]);
    control.cmd(&["CONFIG", "SET", "notify-keyspace-events", "E$"]);
    control.cmd(&["SET", "k", "w"]);
    assert_eq!(
        frame(&mut sub),
        "*4\\r\\n$8\\r\\npmessage\\r\\n$10\\r\\n__key*__:*\\r\\n$18\\r\\n__keyevent@0__:set\\r\\n$1\\r\\nk\\r\\n",
        "nothing while off; only string events of the keyevent kind after"
    );
}

#[test]
fn debug_set_active_expire_is_protected_as_in_redis() {
    if !reference_available("debug_set_active_expire_is_protected_as_in_redis") {
        return;
    }
    let script: &[&[&str]] = &[
        &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
        &["DEBUG", "set-active-expire", "1"],
        &["DEBUG", "SET-ACTIVE-EXPIRE"],
        &["DEBUG", "NOSUCH", "x"],
        &["DEBUG"],
    ];
    for setting in ["local", "no"] {
        let ours = Server::start(&["--enable-debug-command", setting]);
        let theirs = common::Reference::start_with(&["--enable-debug-command", setting]);
        let (mut a, mut b) = (ours.conn(), theirs.conn());
        for cmd in script {
            assert_eq!(
                render(&a.cmd(cmd)),
                render(&b.cmd(cmd)),
                "{cmd:?} with enable-debug-command {setting}"
            );
        }
    }
    // Off, a key set to expire stays in DBSIZE until something meets it.
    let ours = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = ours.conn();
    c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    c.cmd(&["SET", "k", "v", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.cmd(&["DBSIZE"]), b":1\r\n");
    assert_eq!(c.cmd(&["GET", "k"]), b"$-1\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), b":0\r\n");
}

/// Served blocked clients, compared with redis-server: the events each push and each
/// served pop fire, and what both servers propagate (their AOFs), in order.
#[test]
fn served_blocked_clients_fire_and_propagate_as_in_redis() {
    if !reference_available("served_blocked_clients_fire_and_propagate_as_in_redis") {
        return;
    }
    let aof = ["--appendonly", "yes", "--appendfsync", "always"];
    let ours = Server::start(&aof);
    let theirs =
        common::Reference::start_with(&[&aof[..], &["--aof-use-rdb-preamble", "no"]].concat());
    let mut streams = Vec::new();
    for port in [ours.port, theirs.port] {
        let mut control = Conn::connect(port);
        let mut events = EventListener::start(&mut control, Conn::connect(port), "KEA", true);
        let mut seen = Vec::new();
        // Each waiter blocks, then a push (or a transaction) serves it.
        let waits: &[&[&str]] = &[
            &["BLPOP", "list", "0"],
            &["BRPOP", "list", "0"],
            &["BLMOVE", "list", "dst", "RIGHT", "LEFT", "0"],
            &["BLMPOP", "0", "1", "list", "LEFT", "COUNT", "2"],
            &["BZPOPMIN", "zs", "0"],
            &["BZMPOP", "0", "1", "zs", "MAX", "COUNT", "5"],
        ];
        let pushes: &[&[&str]] = &[
            &["RPUSH", "list", "a", "b"],
            &["RPUSH", "list", "c"],
            &["LPUSH", "list", "d"],
            &["RPUSH", "list", "e", "f", "g"],
            &["ZADD", "zs", "1", "x", "2", "y"],
            &["ZADD", "zs", "3", "z"],
        ];
        for (wait, push) in waits.iter().zip(pushes) {
            // Nothing left from the step before, so the waiter blocks.
            control.cmd(&["DEL", "list", "zs"]);
            let mut waiter = Conn::connect(port);
            waiter.send(wait);
            // Wait until the server has it blocked.
            while !String::from_utf8_lossy(&control.cmd(&["INFO", "clients"]))
                .contains("blocked_clients:1")
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            control.cmd(push);
            seen.push(render(&waiter.read_reply()));
            seen.extend(events.take(&mut control));
        }
        // Served at once, and inside a transaction.
        control.cmd(&["RPUSH", "list", "h"]);
        seen.push(render(&control.cmd(&["BLPOP", "list", "0"])));
        control.cmd(&["MULTI"]);
        control.cmd(&["RPUSH", "list", "i"]);
        control.cmd(&["BRPOP", "list", "0"]);
        seen.push(render(&control.cmd(&["EXEC"])));
        seen.extend(events.take(&mut control));
        streams.push(seen);
    }
    assert_eq!(streams[0], streams[1], "replies and events");
    // Both write with appendfsync always: every acknowledged write is in the file.
    let ours_path = ours.dir.as_ref().expect("a dir").path().to_path_buf();
    let theirs_stream = common::aof::incr_commands(&theirs.path);
    assert_eq!(
        common::aof::incr_commands(&ours_path),
        theirs_stream,
        "propagated (left: redlite, right: redis)"
    );
    // Served pops are there, as the plain commands that ran.
    for name in ["LPOP", "RPOP", "LMOVE", "ZPOPMIN", "ZPOPMAX", "MULTI"] {
        assert!(
            theirs_stream
                .iter()
                .any(|c| c[0].eq_ignore_ascii_case(name)),
            "{name} in {theirs_stream:?}"
        );
    }
}
