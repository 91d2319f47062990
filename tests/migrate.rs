//! MIGRATE against a reference redis-server 7.0: redlite and redis-server each move the
//! same keys to a target of their own, with the same options; the replies, what stays
//! on each source and what each target ends up holding must be the same. Then a
//! redis-server migrates to redlite, which must take Redis's payloads.

mod common;

use common::{Conn, Reference, Server};
use pretty_assertions::assert_eq;

/// The dataset's digest (Redis's DEBUG DIGEST, which redlite computes the same way).
fn digest(c: &mut Conn) -> String {
    c.cmd_str(&["DEBUG", "DIGEST"])
}

fn fill(c: &mut Conn) {
    for cmd in [
        &["SET", "s", "hello"][..],
        &["SET", "n", "12345"],
        &["SET", "ttl", "v", "PX", "100000"],
        &["HSET", "h", "f", "v", "g", "w"],
        &["ZADD", "z", "1.5", "a", "2", "b"],
        &["RPUSH", "l", "a", "b", "c"],
        &["SADD", "set", "1", "2", "3"],
        &["XADD", "x", "1-1", "f", "v"],
        &["SET", "taken", "source"],
        &["SET", "k1", "1"],
        &["SET", "k2", "2"],
    ] {
        c.cmd(cmd);
    }
}

#[test]
fn migrate_as_redis() {
    if !common::reference_available("migrate_as_redis") {
        return;
    }
    // Both sources write an AOF: what MIGRATE propagates is compared at the end.
    let (ours_dir, theirs_dir) = (common::TempDir::new("ours"), common::TempDir::new("theirs"));
    let aof = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut ours_flags = vec!["--enable-debug-command", "local"];
    ours_flags.extend(aof);
    let ours = Server::start_in(ours_dir.path(), &ours_flags).unwrap();
    let theirs = Reference::start_in(theirs_dir.path(), &aof);
    let (ours_target, theirs_target) = (Reference::start(), Reference::start());
    let (mut o, mut t) = (ours.conn(), theirs.conn());
    fill(&mut o);
    fill(&mut t);
    for (target, _) in [(&ours_target, 0), (&theirs_target, 1)] {
        let mut c = target.conn();
        c.cmd(&["CONFIG", "SET", "requirepass", "pw"]);
        c.cmd(&["AUTH", "pw"]);
        c.cmd(&["SELECT", "2"]);
        c.cmd(&["SET", "taken", "target"]);
    }
    let closed = common::free_port().to_string();
    // Each step, with `PORT` standing for the side's own target.
    let steps: &[&[&str]] = &[
        &[
            "MIGRATE",
            "127.0.0.1",
            "PORT",
            "s",
            "2",
            "5000",
            "AUTH",
            "pw",
        ],
        &[
            "MIGRATE",
            "127.0.0.1",
            "PORT",
            "nosuch",
            "2",
            "5000",
            "AUTH",
            "pw",
        ],
        &[
            "MIGRATE",
            "127.0.0.1",
            "PORT",
            "n",
            "2",
            "5000",
            "COPY",
            "AUTH",
            "pw",
        ],
        &[
            "MIGRATE",
            "127.0.0.1",
            "PORT",
            "n",
            "2",
            "5000",
            "COPY",
            "AUTH",
            "pw",
        ],
        &[
            "MIGRATE",
            "127.0.0.1",
            "PORT",
            "n",
            "2",
            "5000",
            "COPY",
            "REPLACE",
            "AUTH",
            "pw",
        ],
        &[
            "MIGRATE",
            "127.0.0.1",
            "PORT",
            "taken",
            "2",
            "5000",
            "AUTH",
            "pw",
        ],
        &[
            "MIGRATE",
            "127.0.0.1",
            "PORT",
            "ttl",
            "2",
            "5000",
            "AUTH2",
            "default",
            "pw",
        ],
        &[
            "MIGRATE",
            "127.0.0.1",
            "PORT",
            "",
            "2",
            "5000",
            "AUTH",
            "pw",
            "KEYS",
            "h",
            "z",
            "l",
            "set",
            "x",
            "nosuch",
        ],
        &[
            "MIGRATE",
            "127.0.0.1",
            "PORT",
            "k1",
            "2",
            "5000",
            "AUTH",
            "wrong",
        ],
        &["MIGRATE", "127.0.0.1", "PORT", "k1", "2", "5000"],
        &[
            "MIGRATE",
            "127.0.0.1",
            "PORT",
            "k1",
            "2",
            "5000",
            "KEYS",
            "k2",
        ],
        &["MIGRATE", "127.0.0.1", "PORT", "k1", "2", "5000", "BAD"],
        &["MIGRATE", "127.0.0.1", "PORT", "k1", "2", "5000", "AUTH"],
        &["MIGRATE", "127.0.0.1", "PORT", "k1", "x", "5000"],
        &["MIGRATE", "127.0.0.1", "PORT", "k1", "2", "x"],
        &["MIGRATE", "127.0.0.1", "CLOSED", "k1", "2", "200"],
        &[
            "MIGRATE",
            "127.0.0.1",
            "PORT",
            "",
            "2",
            "5000",
            "REPLACE",
            "AUTH",
            "pw",
            "KEYS",
            "k1",
            "k2",
            "taken",
        ],
    ];
    for step in steps {
        let on = |port: u16| -> Vec<String> {
            step.iter()
                .map(|w| match *w {
                    "PORT" => port.to_string(),
                    "CLOSED" => closed.clone(),
                    w => w.to_string(),
                })
                .collect()
        };
        let (a, b) = (on(ours_target.port), on(theirs_target.port));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        assert_eq!(o.cmd_str(&a), t.cmd_str(&b), "{step:?}");
    }
    assert_eq!(digest(&mut o), digest(&mut t), "what stays on the sources");
    let (mut ot, mut tt) = (ours_target.conn(), theirs_target.conn());
    for c in [&mut ot, &mut tt] {
        c.cmd(&["AUTH", "pw"]);
    }
    assert_eq!(digest(&mut ot), digest(&mut tt), "what the targets hold");
    ot.cmd(&["SELECT", "2"]);
    tt.cmd(&["SELECT", "2"]);
    let ttl = |c: &mut Conn| {
        c.cmd_str(&["PTTL", "ttl"])
            .trim_start_matches(':')
            .trim()
            .parse::<i64>()
            .unwrap()
    };
    assert!(ttl(&mut ot) > 90_000, "the TTL travels with the key");
    assert!(ttl(&mut tt) > 90_000);
    // Keys that left are replayed as one DEL per MIGRATE.
    let ours_aof = common::aof::incr_commands(ours_dir.path());
    let theirs_aof = common::aof::incr_commands(theirs_dir.path());
    assert_eq!(
        ours_aof.len(),
        theirs_aof.len(),
        "{ours_aof:?}\n{theirs_aof:?}"
    );
    for (a, b) in ours_aof.iter().zip(&theirs_aof) {
        assert!(common::aof::same_command(a, b, 2000), "{a:?} vs {b:?}");
    }
}

/// A redis-server migrates every type to redlite: its payloads restore here.
#[test]
fn redis_migrates_to_redlite() {
    if !common::reference_available("redis_migrates_to_redlite") {
        return;
    }
    let ours = Server::start(&["--enable-debug-command", "local"]);
    let theirs = Reference::start();
    let mut t = theirs.conn();
    fill(&mut t);
    let before = t.cmd_str(&["DEBUG", "DIGEST"]);
    let port = ours.port.to_string();
    assert_eq!(
        t.cmd_str(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "",
            "0",
            "5000",
            "COPY",
            "KEYS",
            "s",
            "n",
            "ttl",
            "h",
            "z",
            "l",
            "set",
            "x",
            "taken",
            "k1",
            "k2"
        ]),
        "+OK\r\n"
    );
    assert_eq!(digest(&mut ours.conn()), before);
}
