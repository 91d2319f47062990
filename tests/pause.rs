//! CLIENT PAUSE and UNPAUSE, against a reference redis-server 7.0: which commands wait,
//! that they run once the pause ends, the error texts, and that a paused server keeps
//! its expired keys.

mod common;

use std::time::Duration;

use common::diff::{run_on, Cmd, Pair};
use common::Conn;
use pretty_assertions::assert_eq;

/// Whether `c` has a reply waiting within `ms` (false: the command still waits).
fn answered_within(c: &mut Conn, ms: u64) -> bool {
    c.stream
        .set_read_timeout(Some(Duration::from_millis(ms)))
        .unwrap();
    let mut byte = [0u8; 1];
    let got = c.stream.peek(&mut byte).is_ok_and(|n| n > 0);
    c.stream
        .set_read_timeout(Some(common::READ_TIMEOUT))
        .unwrap();
    got
}

#[test]
fn pause_errors_as_redis() {
    if !common::reference_available("pause_errors_as_redis") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let script: &[Cmd] = &[
        &["CLIENT", "PAUSE"],
        &["CLIENT", "PAUSE", "x"],
        &["CLIENT", "PAUSE", "-1"],
        &["CLIENT", "PAUSE", "10", "bad"],
        &["CLIENT", "PAUSE", "x", "bad"],
        &["CLIENT", "PAUSE", "10", "write", "extra"],
        &["CLIENT", "UNPAUSE", "x"],
        &["CLIENT", "UNPAUSE"],
        &["CLIENT", "PAUSE", "0"],
        &["SET", "a", "1"],
    ];
    run_on(script, &mut ours, &mut theirs);
}

/// Under WRITE, reads run and writes (and EXEC of a transaction that writes, and
/// PUBLISH) wait until UNPAUSE; under ALL everything waits. Checked on both servers.
#[test]
fn paused_commands_wait_for_unpause() {
    if !common::reference_available("paused_commands_wait_for_unpause") {
        return;
    }
    let pair = Pair::start();
    for port in [pair.ours.port, pair.theirs.port] {
        let mut admin = Conn::connect(port);
        let mut c = Conn::connect(port);
        assert_eq!(
            admin.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]),
            b"+OK\r\n"
        );
        assert_eq!(c.cmd(&["GET", "a"]), b"$-1\r\n", "a read runs");
        for write in [
            &["SET", "a", "1"][..],
            &["PUBLISH", "ch", "m"],
            &["EVAL", "return 1", "0"],
        ] {
            c.send(write);
            assert!(!answered_within(&mut c, 200), "{write:?} waits ({port})");
            assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
            c.read_reply();
            admin.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]);
        }
        // A transaction queues its write, then EXEC waits.
        assert_eq!(c.cmd(&["MULTI"]), b"+OK\r\n");
        c.send(&["INCR", "n"]);
        assert!(
            !answered_within(&mut c, 200),
            "a queued write waits ({port})"
        );
        admin.cmd(&["CLIENT", "UNPAUSE"]);
        assert_eq!(c.read_reply(), b"+QUEUED\r\n");
        admin.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]);
        c.send(&["EXEC"]);
        assert!(!answered_within(&mut c, 200), "EXEC waits ({port})");
        admin.cmd(&["CLIENT", "UNPAUSE"]);
        assert_eq!(c.read_reply(), b"*1\r\n:1\r\n");
        // ALL holds back reads too, the pausing client's own commands and UNPAUSE;
        // the deadline ends it.
        admin.cmd(&["CLIENT", "PAUSE", "600", "ALL"]);
        c.send(&["GET", "a"]);
        admin.send(&["CLIENT", "UNPAUSE"]);
        assert!(
            !answered_within(&mut c, 200),
            "a read waits under ALL ({port})"
        );
        assert!(
            !answered_within(&mut admin, 1),
            "UNPAUSE waits too ({port})"
        );
        assert_eq!(c.read_reply(), b"$1\r\n1\r\n");
        assert_eq!(admin.read_reply(), b"+OK\r\n");
    }
}

/// A paused server expires nothing: the key reads as missing but stays until the pause
/// ends, as in Redis (`DBSIZE` counts it).
#[test]
fn pause_holds_expiry() {
    if !common::reference_available("pause_holds_expiry") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    run_on(
        &[
            &["SET", "k", "v", "PX", "30"],
            &["CLIENT", "PAUSE", "100000", "WRITE"],
        ],
        &mut ours,
        &mut theirs,
    );
    std::thread::sleep(Duration::from_millis(300));
    run_on(
        &[
            &["GET", "k"],
            &["EXISTS", "k"],
            &["DBSIZE"],
            &["CLIENT", "UNPAUSE"],
            &["GET", "k"],
            &["DBSIZE"],
        ],
        &mut ours,
        &mut theirs,
    );
}
