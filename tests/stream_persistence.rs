//! Streams survive restarts: through the dump file (SAVE) and through the AOF (a
//! rewritten base with XADD, XSETID, XGROUP CREATE, XCLAIM and XGROUP CREATECONSUMER,
//! then incremental XREADGROUP-as-XCLAIM, trims and group changes). The dataset read back
//! must equal the one written, consumer groups, pending entries, delivery times and
//! counts, lag and entries-read included (consumers' seen times are set by the replay,
//! as in Redis, so they are left out).

mod common;

use std::time::{Duration, Instant};

use common::diff::render;
use common::{info_field, Conn, Server, TempDir};
use pretty_assertions::assert_eq;

fn run(c: &mut Conn, cmd: &str) -> Vec<u8> {
    let words: Vec<&str> = cmd.split(' ').collect();
    let reply = c.cmd(&words);
    assert!(!reply.starts_with(b"-"), "{cmd}: {}", render(&reply));
    reply
}

fn populate(c: &mut Conn, tag: &str) {
    for i in 1..=250 {
        run(c, &format!("XADD s{tag} {i}-1 f v{i} g {i}"));
    }
    run(c, &format!("XADD s{tag} 300-0 other x"));
    run(c, &format!("XDEL s{tag} 5-1 6-1"));
    run(c, &format!("XADD s{tag} MAXLEN ~ 150 301-0 f v"));
    run(c, &format!("XGROUP CREATE s{tag} g 0"));
    run(c, &format!("XGROUP CREATE s{tag} h $ ENTRIESREAD 7"));
    run(
        c,
        &format!("XREADGROUP GROUP g alice COUNT 3 STREAMS s{tag} >"),
    );
    run(
        c,
        &format!("XREADGROUP GROUP g bob COUNT 2 STREAMS s{tag} >"),
    );
    run(
        c,
        &format!("XREADGROUP GROUP g carol NOACK COUNT 2 STREAMS s{tag} >"),
    );
    run(c, &format!("XGROUP CREATECONSUMER s{tag} g dave"));
    run(c, &format!("XACK s{tag} g 102-1"));
    run(c, &format!("XCLAIM s{tag} g dave 0 103-1 RETRYCOUNT 9"));
    run(c, &format!("XGROUP CREATE empty{tag} g $ MKSTREAM"));
    run(
        c,
        &format!("XSETID empty{tag} 5-5 ENTRIESADDED 3 MAXDELETEDID 4-0"),
    );
}

/// XINFO STREAM FULL with the consumers' seen times blanked out.
fn full(c: &mut Conn, key: &str) -> String {
    let text = render(&c.cmd(&["XINFO", "STREAM", key, "FULL", "COUNT", "0"]));
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("seen-time\\r\\n:") {
        let (head, tail) = rest.split_at(at + "seen-time\\r\\n:".len());
        out.push_str(head);
        out.push('T');
        rest = tail.trim_start_matches(|ch: char| ch.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn dataset(c: &mut Conn, tags: &[&str]) -> Vec<String> {
    let mut all = Vec::new();
    for tag in tags {
        for key in [format!("s{tag}"), format!("empty{tag}")] {
            all.push(full(c, &key));
            all.push(render(&c.cmd(&["XINFO", "GROUPS", &key])));
            all.push(render(&c.cmd(&["XPENDING", &key, "g"])));
            all.push(render(&c.cmd(&["TYPE", &key])));
        }
    }
    all
}

fn wait_rewrite_done(c: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(c, "aof_rewrite_in_progress") != "0"
        || info_field(c, "aof_rewrite_scheduled") != "0"
    {
        assert!(Instant::now() < deadline, "the rewrite never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn streams_survive_an_aof_rewrite_and_a_restart() {
    let dir = TempDir::new("stream-aof");
    let aof = ["--appendonly", "yes", "--appendfsync", "always"];
    let server = Server::start_in(dir.path(), &aof).unwrap();
    let mut c = server.conn();
    populate(&mut c, "a");
    assert!(c.cmd(&["BGREWRITEAOF"]).starts_with(b"+Background"));
    wait_rewrite_done(&mut c);
    populate(&mut c, "b");
    let before = dataset(&mut c, &["a", "b"]);
    drop(c);
    drop(server);
    let server = Server::start_in(dir.path(), &aof).unwrap();
    let mut c = server.conn();
    let after = dataset(&mut c, &["a", "b"]);
    assert_eq!(after.join("\n"), before.join("\n"));
}

#[test]
fn streams_survive_save_and_a_restart() {
    let dir = TempDir::new("stream-dump");
    let server = Server::start_in(dir.path(), &[]).unwrap();
    let mut c = server.conn();
    populate(&mut c, "a");
    assert_eq!(c.cmd(&["SAVE"]), b"+OK\r\n");
    let before = dataset(&mut c, &["a"]);
    drop(c);
    drop(server);
    let server = Server::start_in(dir.path(), &[]).unwrap();
    let mut c = server.conn();
    // A reloaded stream has no tombstones: its nodes are packed anew, so XINFO's node
    // counts may differ; everything else must not.
    let strip = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| match s.find("radix-tree-keys") {
                Some(a) => {
                    let b = s.find("last-generated-id").unwrap();
                    format!("{}{}", &s[..a], &s[b..])
                }
                None => s,
            })
            .collect()
    };
    let after = dataset(&mut c, &["a"]);
    assert_eq!(strip(after).join("\n"), strip(before).join("\n"));
    // COPY, RENAME and MOVE carry a stream whole.
    run(&mut c, "COPY sa sc");
    run(&mut c, "RENAME sc sd");
    run(&mut c, "MOVE sd 1");
    run(&mut c, "SELECT 1");
    assert_eq!(full(&mut c, "sd"), {
        run(&mut c, "SELECT 0");
        let x = full(&mut c, "sa");
        run(&mut c, "SELECT 1");
        x
    });
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "sd"]), b"$6\r\nstream\r\n");
    assert_eq!(
        c.cmd(&["SCAN", "0", "TYPE", "stream"]),
        b"*2\r\n$1\r\n0\r\n*1\r\n$2\r\nsd\r\n"
    );
}
