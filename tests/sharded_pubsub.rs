//! Sharded pub/sub as a standalone Redis 7.0 serves it: SSUBSCRIBE, SUNSUBSCRIBE,
//! SPUBLISH, PUBSUB SHARDCHANNELS and SHARDNUMSUB (issue #20).
//!
//! The differential tests compare every frame with a reference redis-server 7.0 byte for
//! byte, in RESP2 and RESP3: confirmations (`ssubscribe`, `sunsubscribe`, whose count is
//! the number of shard channels only), `smessage` frames, SPUBLISH's receiver counts
//! (plain subscribers and patterns never get shard messages, nor shard subscribers plain
//! ones), what a RESP2 client subscribed only to shard channels may run, RESET, and
//! SSUBSCRIBE refused inside a transaction. CLIENT LIST's `ssub=` is checked on redlite.

mod common;
#[path = "common/steps.rs"]
mod steps;

use common::Server;
use steps::run_steps;

#[test]
fn shard_confirmations_and_counts() {
    if !common::reference_available("shard_confirmations_and_counts") {
        return;
    }
    run_steps(&[
        // Nothing to leave: a null name, count 0, and no subscribed mode afterwards.
        (0, &["SUNSUBSCRIBE"]),
        (0, &["SUNSUBSCRIBE", "a", "b"]),
        (0, &["GET", "x"]),
        // Shard counts are their own: a SUBSCRIBE confirmation does not count them, an
        // SSUBSCRIBE one counts nothing else.
        (0, &["SUBSCRIBE", "a"]),
        (0, &["SSUBSCRIBE", "a", "b", "a"]),
        (0, &["PSUBSCRIBE", "*"]),
        (0, &["SSUBSCRIBE", "c"]),
        (0, &["SUNSUBSCRIBE", "b", "nosuch"]),
        (0, &["UNSUBSCRIBE", "a"]),
        (0, &["PUNSUBSCRIBE", "*"]),
        // Still subscribed (to shard channels): RESP2 limits what may run.
        (0, &["GET", "x"]),
        (0, &["PING"]),
        (0, &["SPUBLISH", "a", "x"]),
        (0, &["SUNSUBSCRIBE", "a"]),
        (0, &["SUNSUBSCRIBE"]),
        (0, &["SUNSUBSCRIBE"]),
        // Out of subscribed mode.
        (0, &["GET", "x"]),
        (0, &["PING"]),
        // Arity.
        (0, &["SSUBSCRIBE"]),
        (0, &["SPUBLISH", "a"]),
        (0, &["SPUBLISH", "a", "b", "c"]),
    ]);
}

#[test]
fn smessages_and_receiver_counts() {
    if !common::reference_available("smessages_and_receiver_counts") {
        return;
    }
    run_steps(&[
        (0, &["SSUBSCRIBE", "news", "chat"]),
        (1, &["SSUBSCRIBE", "news"]),
        (2, &["SUBSCRIBE", "news"]),
        (3, &["PSUBSCRIBE", "*"]),
        // Nobody listens to this shard channel.
        (4, &["SPUBLISH", "zilch", "x"]),
        // Only the shard subscribers: no plain subscriber, no pattern.
        (4, &["SPUBLISH", "news", "big"]),
        (0, &["#read"]),
        (1, &["#read"]),
        (4, &["SPUBLISH", "chat", "a\r\nb\u{0}c"]),
        (0, &["#read"]),
        // PUBLISH reaches the plain subscriber and the pattern, not the shard ones.
        (4, &["PUBLISH", "news", "plain"]),
        (2, &["#read"]),
        (3, &["#read"]),
        (4, &["SPUBLISH", "news", ""]),
        (0, &["#read"]),
        (1, &["#read"]),
        // PUBSUB from a fifth client.
        (
            4,
            &["PUBSUB", "SHARDNUMSUB", "news", "chat", "zilch", "news"],
        ),
        (4, &["PUBSUB", "SHARDNUMSUB"]),
        (4, &["PUBSUB", "SHARDCHANNELS"]),
        (4, &["PUBSUB", "SHARDCHANNELS", "n*"]),
        (4, &["PUBSUB", "SHARDCHANNELS", "zz*"]),
        (4, &["PUBSUB", "NUMSUB", "news", "chat"]),
        (4, &["PUBSUB", "CHANNELS"]),
        (4, &["PUBSUB", "NUMPAT"]),
        (4, &["PUBSUB", "SHARDCHANNELS", "a", "b"]),
        // Leaving: counts follow.
        (1, &["SUNSUBSCRIBE", "news"]),
        (4, &["PUBSUB", "SHARDNUMSUB", "news"]),
        (4, &["SPUBLISH", "news", "again"]),
        (0, &["#read"]),
        (0, &["SUNSUBSCRIBE", "chat"]),
        (4, &["PUBSUB", "SHARDCHANNELS"]),
    ]);
}

#[test]
fn resp3_shard_frames() {
    if !common::reference_available("resp3_shard_frames") {
        return;
    }
    run_steps(&[
        (0, &["#resp3"]),
        (0, &["SSUBSCRIBE", "a", "b"]),
        // A RESP3 client may run anything while subscribed.
        (0, &["SET", "k", "v"]),
        (0, &["GET", "k"]),
        (1, &["SPUBLISH", "a", "hello"]),
        (0, &["#read"]),
        (0, &["SUNSUBSCRIBE", "a"]),
        (0, &["SUNSUBSCRIBE"]),
        (0, &["SUNSUBSCRIBE"]),
        (0, &["PING"]),
        (0, &["PUBSUB", "SHARDNUMSUB", "a", "b"]),
    ]);
}

#[test]
fn reset_and_transactions() {
    if !common::reference_available("reset_and_transactions") {
        return;
    }
    run_steps(&[
        (0, &["SSUBSCRIBE", "a"]),
        (0, &["RESET"]),
        (1, &["PUBSUB", "SHARDNUMSUB", "a"]),
        (1, &["SPUBLISH", "a", "x"]),
        (0, &["GET", "k"]),
        // UNSUBSCRIBE leaves shard channels alone.
        (0, &["SSUBSCRIBE", "a"]),
        (0, &["UNSUBSCRIBE"]),
        (0, &["GET", "k"]),
        (1, &["PUBSUB", "SHARDNUMSUB", "a"]),
        (0, &["SUNSUBSCRIBE", "a"]),
        // Inside a transaction SSUBSCRIBE is refused (SUBSCRIBE is not).
        (0, &["MULTI"]),
        (0, &["SSUBSCRIBE", "m"]),
        (0, &["SET", "k", "1"]),
        (0, &["EXEC"]),
        (1, &["PUBSUB", "SHARDNUMSUB", "m"]),
        (0, &["MULTI"]),
        (0, &["SUNSUBSCRIBE", "m"]),
        (0, &["SPUBLISH", "m", "x"]),
        (0, &["EXEC"]),
        // Scripts may not subscribe.
        (0, &["EVAL", "return redis.call('ssubscribe', 'x')", "0"]),
        (0, &["EVAL", "return redis.call('spublish', 'x', 'y')", "0"]),
    ]);
}

#[test]
fn client_list_shows_shard_subscriptions() {
    let server = Server::start(&[]);
    let mut sub = server.conn();
    let mut admin = server.conn();
    sub.cmd(&["SSUBSCRIBE", "a", "b"]);
    sub.read_reply();
    sub.cmd(&["SUBSCRIBE", "c"]);
    let list = admin.cmd_str(&["CLIENT", "LIST"]);
    let line = list.lines().find(|l| l.contains("cmd=subscribe")).unwrap();
    for field in [" flags=P ", " sub=1 ", " psub=0 ", " ssub=2 "] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
    sub.cmd(&["UNSUBSCRIBE"]);
    let list = admin.cmd_str(&["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains("cmd=unsubscribe"))
        .unwrap();
    // Still subscribed, to shard channels.
    for field in [" flags=P ", " sub=0 ", " ssub=2 "] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
    sub.cmd(&["SUNSUBSCRIBE", "a", "b"]);
    sub.read_reply();
    let list = admin.cmd_str(&["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains("cmd=sunsubscribe"))
        .unwrap();
    for field in [" flags=N ", " ssub=0 "] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}

/// INFO's `pubsub_channels`, `pubsub_patterns` and `pubsubshard_channels` count what has
/// subscribers, as Redis's do.
#[test]
fn info_counts_subscriptions() {
    if !common::reference_available("info_counts_subscriptions") {
        return;
    }
    let pair = common::diff::Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let (mut ours_sub, mut theirs_sub) = (pair.ours.conn(), pair.theirs.conn());
    let fields = ["pubsub_channels", "pubsub_patterns", "pubsubshard_channels"];
    let snapshot = |c: &mut common::Conn| {
        fields
            .iter()
            .map(|f| common::info_field_in(c, "stats", f))
            .collect::<Vec<_>>()
    };
    let mut steps: Vec<(Vec<String>, Vec<String>)> =
        vec![(snapshot(&mut ours), snapshot(&mut theirs))];
    for cmd in [
        &["SUBSCRIBE", "a", "b"][..],
        &["PSUBSCRIBE", "p*"],
        &["SSUBSCRIBE", "s1", "s2", "s3"],
        &["SUNSUBSCRIBE", "s2"],
        &["UNSUBSCRIBE", "a"],
    ] {
        for conn in [&mut ours_sub, &mut theirs_sub] {
            conn.cmd(cmd);
            for _ in 2..cmd.len() {
                conn.read_reply();
            }
        }
        steps.push((snapshot(&mut ours), snapshot(&mut theirs)));
    }
    let (a, b): (Vec<_>, Vec<_>) = steps.into_iter().unzip();
    pretty_assertions::assert_eq!(a, b);
    // The counts moved (a check that can fail if the fields stayed at 0).
    pretty_assertions::assert_eq!(a[3], vec!["2", "1", "3"]);
}
