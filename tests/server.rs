//! Integration tests: redlite started on port 0, spoken to over TCP.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{array_elements, encode, Conn, Server, TempDir};
use pretty_assertions::assert_eq;

fn s(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn basic_commands_over_tcp() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(c.cmd_str(&["RPUSH", "l", "a", "b"]), ":2\r\n");
    assert_eq!(
        c.cmd_str(&["LRANGE", "l", "0", "-1"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(c.cmd_str(&["TYPE", "l"]), "+list\r\n");
    assert_eq!(c.cmd_str(&["DBSIZE"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["QUIT"]), "+OK\r\n");
    assert!(c.is_closed());
}

#[test]
fn pipeline_of_ten_thousand_commands() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let mut batch = Vec::new();
    for i in 0..10_000 {
        batch.extend(encode(&[b"INCR", b"counter"]));
        if i % 1000 == 0 {
            batch.extend(b"PING\r\n");
        }
    }
    c.send_raw(&batch);
    for i in 0..10_000 {
        assert_eq!(c.read_reply(), format!(":{}\r\n", i + 1).into_bytes());
        if i % 1000 == 0 {
            assert_eq!(c.read_reply(), b"+PONG\r\n");
        }
    }
    assert_eq!(c.cmd_str(&["GET", "counter"]), "$5\r\n10000\r\n");
}

#[test]
fn two_hundred_concurrent_clients() {
    let server = Server::start(&[]);
    let port = server.port;
    // All 200 connect first and hold their connections while the others work: none may
    // wait for another to leave.
    let conns: Vec<Conn> = (0..200).map(|_| Conn::connect(port)).collect();
    let handles: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            std::thread::spawn(move || {
                for j in 0..50 {
                    let key = format!("c{i}:{j}");
                    assert_eq!(c.cmd(&["SET", &key, "x"]), b"+OK\r\n");
                    assert_eq!(c.cmd(&["INCR", "shared"])[0], b':');
                }
                c
            })
        })
        .collect();
    let conns: Vec<Conn> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut c = server.conn();
    assert_eq!(c.cmd_str(&["GET", "shared"]), "$5\r\n10000\r\n");
    assert_eq!(c.cmd_str(&["DBSIZE"]), ":10001\r\n");
    drop(conns);
}

#[test]
fn replies_to_a_split_request_are_not_held_back() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    // A whole PING and half of the next request: the PONG must come without the rest.
    c.send_raw(b"PING\r\n*1\r\n$4\r\nPI");
    assert_eq!(c.read_reply(), b"+PONG\r\n");
    c.send_raw(b"NG\r\n");
    assert_eq!(c.read_reply(), b"+PONG\r\n");
}

#[test]
fn maxclients_rejects_the_next_client() {
    let server = Server::start(&["--maxclients", "3"]);
    // The startup probe's connection may still be counted for a moment.
    let mut first = server.conn();
    while !first
        .cmd_str(&["INFO", "clients"])
        .contains("connected_clients:1\r\n")
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut held: Vec<Conn> = vec![first, server.conn(), server.conn()];
    for c in &mut held {
        assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
    }
    let mut extra = Conn::connect(server.port);
    assert_eq!(
        s(extra.read_reply()),
        "-ERR max number of clients reached\r\n"
    );
    assert!(extra.is_closed());
    // Once one leaves, a new client gets in.
    drop(held.pop());
    std::thread::sleep(Duration::from_millis(200));
    let mut next = Conn::connect(server.port);
    assert_eq!(next.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let server = Server::start(&["--timeout", "1"]);
    let mut idle = server.conn();
    assert_eq!(idle.cmd(&["PING"]), b"+PONG\r\n");
    let start = Instant::now();
    assert!(idle.is_closed(), "the idle client is disconnected");
    assert!(start.elapsed() < Duration::from_secs(10));
    let mut fresh = server.conn();
    assert_eq!(fresh.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn keys_expire_lazily_and_actively() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    assert_eq!(c.cmd_str(&["SET", "short", "v", "PX", "100"]), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(c.cmd_str(&["GET", "short"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "short"]), ":0\r\n");

    // 200k keys with a 1 s TTL, never touched again: active expiry must reclaim them
    // all within 10 s while other clients keep being served.
    let mut batch = Vec::new();
    for i in 0..200_000 {
        let key = format!("ttl:{i}");
        batch.extend(encode(&[b"SET", key.as_bytes(), b"value", b"EX", b"1"]));
    }
    c.send_raw(&batch);
    for _ in 0..200_000 {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
    assert_eq!(c.cmd_str(&["SET", "keep", "v"]), "+OK\r\n");
    let start = Instant::now();
    let mut other = server.conn();
    loop {
        let size = c.cmd_str(&["DBSIZE"]);
        if size == ":1\r\n" {
            break;
        }
        // Other clients keep being served promptly meanwhile.
        let ping = Instant::now();
        assert_eq!(other.cmd(&["PING"]), b"+PONG\r\n");
        assert!(ping.elapsed() < Duration::from_secs(1));
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "DBSIZE still {size} after 10 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(c.cmd_str(&["GET", "keep"]), "$1\r\nv\r\n");
    let info = c.cmd_str(&["INFO", "stats"]);
    assert!(info.contains("expired_keys:200001"), "{info}");
}

#[test]
fn save_then_restart_brings_the_data_back() {
    let dir = TempDir::new("restart");
    {
        let server = Server::start_in(dir.path(), &[]).unwrap();
        let mut c = server.conn();
        c.cmd(&["SET", "s", "hello"]);
        c.cmd(&["RPUSH", "l", "a", "b", "c"]);
        c.cmd(&["SET", "t", "v", "EX", "1000"]);
        c.cmd(&["SELECT", "5"]);
        c.cmd(&["SET", "in5", "x"]);
        c.cmd(&["SET", "gone", "x", "PX", "1"]);
        assert_eq!(c.cmd_str(&["SAVE"]), "+OK\r\n");
        let lastsave = c.cmd_str(&["LASTSAVE"]);
        assert!(lastsave.starts_with(':'));
    }
    assert!(dir.path().join("dump.rdb").exists());
    let server = Server::start_in(dir.path(), &[]).unwrap();
    let mut c = server.conn();
    assert_eq!(c.cmd_str(&["GET", "s"]), "$5\r\nhello\r\n");
    assert_eq!(
        c.cmd_str(&["LRANGE", "l", "0", "-1"]),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    let ttl = c.cmd_str(&["TTL", "t"]);
    assert!(ttl == ":1000\r\n" || ttl == ":999\r\n", "{ttl}");
    c.cmd(&["SELECT", "5"]);
    assert_eq!(c.cmd_str(&["GET", "in5"]), "$1\r\nx\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "gone"]), ":0\r\n");
    assert!(
        server.log_text().contains("keys loaded: 4"),
        "{}",
        server.log_text()
    );
}

#[test]
fn every_type_survives_a_save_and_restart_with_its_ttl_order_and_encoding() {
    let dir = TempDir::new("restart-types");
    let big: Vec<String> = (0..600).map(|i| format!("m{i}")).collect();
    let script: Vec<Vec<&str>> = vec![
        vec!["HSET", "h", "z", "1", "a", "2", "m", "3"],
        vec!["EXPIRE", "h", "1000"],
        vec!["SADD", "ints", "5", "-3", "100"],
        vec!["SADD", "strs", "x", "y"],
        vec!["PEXPIRE", "strs", "2000000"],
        vec!["ZADD", "z", "2.5", "b", "1", "a", "-inf", "c", "1e300", "d"],
        vec!["EXPIRE", "z", "3000"],
        vec!["RPUSH", "l", "a", "b"],
    ];
    // What is compared before and after the restart.
    let checks: &[&[&str]] = &[
        &["HGETALL", "h"],
        &["SMEMBERS", "ints"],
        &["SCARD", "strs"],
        &["SISMEMBER", "strs", "y"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["LRANGE", "l", "0", "-1"],
        &["SCARD", "bigset"],
        &["ZCARD", "bigz"],
        &["HLEN", "bighash"],
        &["OBJECT", "ENCODING", "h"],
        &["OBJECT", "ENCODING", "ints"],
        &["OBJECT", "ENCODING", "strs"],
        &["OBJECT", "ENCODING", "z"],
        &["OBJECT", "ENCODING", "bigset"],
        &["OBJECT", "ENCODING", "bigz"],
        &["OBJECT", "ENCODING", "bighash"],
        &["TYPE", "bigz"],
    ];
    let before: Vec<String>;
    {
        let server = Server::start_in(dir.path(), &[]).unwrap();
        let mut c = server.conn();
        for cmd in &script {
            c.cmd(cmd);
        }
        for m in &big {
            c.cmd(&["SADD", "bigset", m]);
            c.cmd(&["ZADD", "bigz", "1", m]);
            c.cmd(&["HSET", "bighash", m, "v"]);
        }
        before = checks.iter().map(|cmd| c.cmd_str(cmd)).collect();
        assert_eq!(c.cmd_str(&["SAVE"]), "+OK\r\n");
    }
    let server = Server::start_in(dir.path(), &[]).unwrap();
    let mut c = server.conn();
    let after: Vec<String> = checks.iter().map(|cmd| c.cmd_str(cmd)).collect();
    assert_eq!(before, after);
    for (key, low, high) in [("h", 990, 1000), ("strs", 1990, 2000), ("z", 2990, 3000)] {
        let ttl: i64 = c.cmd_str(&["TTL", key])[1..].trim().parse().unwrap();
        assert!((low..=high).contains(&ttl), "{key}: {ttl}");
    }
    assert_eq!(c.cmd_str(&["TTL", "ints"]), ":-1\r\n");
}

#[test]
fn shutdown_saves_when_save_points_are_set() {
    let dir = TempDir::new("shutdown");
    let mut server = Server::start_in(dir.path(), &["--save", "3600 1 300 100"]).unwrap();
    let mut c = server.conn();
    c.cmd(&["SET", "k", "v"]);
    c.send(&["SHUTDOWN"]);
    assert!(c.is_closed());
    let status = server.child.wait().unwrap();
    assert!(status.success());
    let server = Server::start_in(dir.path(), &[]).unwrap();
    assert_eq!(server.conn().cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn shutdown_nosave_does_not_save() {
    let dir = TempDir::new("nosave");
    let mut server = Server::start_in(dir.path(), &["--save", "60 1"]).unwrap();
    let mut c = server.conn();
    c.cmd(&["SET", "k", "v"]);
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(c.is_closed());
    assert!(server.child.wait().unwrap().success());
    assert!(!dir.path().join("dump.rdb").exists());
}

fn start_fails(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_redlite-server"))
        .arg("--port")
        .arg("0")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run redlite-server");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_bad_dump_stops_startup_and_is_left_untouched() {
    let dir = TempDir::new("corrupt");
    // Make a real dump, then damage it in each way.
    {
        let server = Server::start_in(dir.path(), &[]).unwrap();
        let mut c = server.conn();
        c.cmd(&["SET", "k", "v"]);
        assert_eq!(c.cmd(&["SAVE"]), b"+OK\r\n");
    }
    let path = dir.path().join("dump.rdb");
    let good = std::fs::read(&path).unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let mut future = good.clone();
    future[8] = 99;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 3].to_vec()),
        ("checksum", flipped),
        ("magic", b"REDIS0009 not ours".to_vec()),
        ("version", future),
    ];
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let (code, text) = start_fails(dir.path(), &[]);
        assert_eq!(code, 1, "{what}: {text}");
        assert!(text.contains("dump.rdb"), "{what}: names the file: {text}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: file untouched"
        );
    }
}

#[test]
fn bad_flags_exit_with_status_one() {
    let dir = TempDir::new("flags");
    let (code, text) = start_fails(dir.path(), &["--no-such-flag", "1"]);
    assert_eq!(code, 1, "{text}");
    let (code, text) = start_fails(dir.path(), &["--maxclients", "abc"]);
    assert_eq!(code, 1, "{text}");
}

#[test]
fn config_file_is_read() {
    let dir = TempDir::new("conf");
    let conf = dir.path().join("redlite.conf");
    std::fs::write(&conf, "# a comment\ndatabases 4\ntimeout 300\n").unwrap();
    let conf = conf.to_str().unwrap();
    let server = Server::start_in(dir.path(), &[conf]).unwrap();
    let mut c = server.conn();
    assert_eq!(
        c.cmd_str(&["SELECT", "4"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "timeout"]),
        "*2\r\n$7\r\ntimeout\r\n$3\r\n300\r\n"
    );
}

#[test]
fn client_commands() {
    let server = Server::start(&[]);
    let mut a = server.conn();
    let mut b = server.conn();
    assert_eq!(a.cmd_str(&["CLIENT", "SETNAME", "alpha"]), "+OK\r\n");
    assert_eq!(a.cmd_str(&["CLIENT", "GETNAME"]), "$5\r\nalpha\r\n");
    // b is registered once it has been served.
    b.cmd(&["PING"]);
    let list = a.cmd_str(&["CLIENT", "LIST"]);
    assert!(list.contains("name=alpha"), "{list}");
    assert!(list.contains("cmd=client|list"), "{list}");
    assert_eq!(list.matches("id=").count(), 2, "{list}");
    let b_id = b.cmd_str(&["CLIENT", "ID"]);
    let b_id = b_id.trim_start_matches(':').trim_end();
    assert_eq!(a.cmd_str(&["CLIENT", "KILL", "ID", b_id]), ":1\r\n");
    assert!(b.is_closed());
    assert_eq!(a.cmd_str(&["PING"]), "+PONG\r\n");
}

#[test]
fn info_has_redis_sections_and_fields() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    c.cmd(&["SET", "k", "v", "EX", "100"]);
    let info = c.cmd_str(&["INFO"]);
    for needle in [
        "# Server\r\n",
        "redis_version:7.0.15\r\n",
        "redlite_version:",
        &format!("tcp_port:{}\r\n", server.port),
        "# Clients\r\nconnected_clients:1\r\n",
        "# Memory\r\n",
        "# Persistence\r\n",
        "rdb_changes_since_last_save:1\r\n",
        "# Stats\r\n",
        "# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n",
    ] {
        assert!(info.contains(needle), "missing {needle:?} in {info}");
    }
    let only = c.cmd_str(&["INFO", "keyspace"]);
    assert!(
        only.contains("# Keyspace") && !only.contains("# Server"),
        "{only}"
    );
}

#[test]
fn command_docs_and_info_are_well_formed() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let count = c.cmd_str(&["COMMAND", "COUNT"]);
    let n: usize = count.trim_start_matches(':').trim_end().parse().unwrap();
    assert!(n >= 40, "{count}");
    let docs = c.cmd(&["COMMAND", "DOCS"]);
    assert_eq!(array_elements(&docs).len(), n * 2);
    let info = c.cmd_str(&["COMMAND", "INFO", "get", "nosuch"]);
    assert!(
        info.starts_with("*2\r\n*10\r\n$3\r\nget\r\n:2\r\n"),
        "{info}"
    );
    // An unknown name is a null (Redis's `addReplyNull`).
    assert!(info.ends_with("$-1\r\n"), "{info}");
    // SET's docs carry its argument tree: the key's spec, the NX token.
    let docs_set = c.cmd_str(&["COMMAND", "DOCS", "set"]);
    assert!(
        docs_set.contains("$14\r\nkey_spec_index\r\n:0\r\n")
            && docs_set.contains("$5\r\ntoken\r\n$2\r\nNX\r\n"),
        "{docs_set}"
    );
}

#[test]
fn function_and_script_answer_like_an_empty_redis() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    assert_eq!(c.cmd_str(&["FUNCTION", "FLUSH"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["FUNCTION", "LIST"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["SCRIPT", "FLUSH"]), "+OK\r\n");
}

#[test]
fn a_huge_announced_bulk_does_not_allocate_up_front() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$500000000\r\nabc");
    std::thread::sleep(Duration::from_millis(300));
    let mut other = server.conn();
    let info = other.cmd_str(&["INFO", "memory"]);
    let rss: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory_rss:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        rss < 100 * 1024 * 1024,
        "rss {rss} after a stalled 500 MB bulk"
    );
}

#[test]
fn protocol_error_closes_the_connection() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    c.send_raw(b"*abc\r\n");
    assert_eq!(
        c.read_reply(),
        b"-ERR Protocol error: invalid multibulk length\r\n"
    );
    assert!(c.is_closed());
    let mut other = server.conn();
    assert_eq!(other.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn keys_returns_matching_keys() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    for k in ["hello", "hallo", "hxllo", "world"] {
        c.cmd(&["SET", k, "1"]);
    }
    let got: HashSet<Vec<u8>> = array_elements(&c.cmd(&["KEYS", "h[ae]llo"]))
        .into_iter()
        .collect();
    let want: HashSet<Vec<u8>> = [b"$5\r\nhello\r\n".to_vec(), b"$5\r\nhallo\r\n".to_vec()]
        .into_iter()
        .collect();
    assert_eq!(got, want);
}

#[test]
fn server_commands_without_a_deterministic_reference() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let time = array_elements(&c.cmd(&["TIME"]));
    assert_eq!(time.len(), 2);
    let secs: u64 = s(time[0].clone())
        .split("\r\n")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 2, "TIME {secs} vs {now}");

    let info = c.cmd_str(&["CLIENT", "INFO"]);
    assert!(
        info.contains("cmd=client|info") && info.ends_with("\n\r\n"),
        "{info}"
    );
    let id = c.cmd_str(&["CLIENT", "ID"]);
    assert!(info.contains(&format!("id={} ", id.trim_start_matches(':').trim_end())));

    c.cmd(&["GET", "nokey"]);
    let stats = c.cmd_str(&["INFO", "stats"]);
    assert!(stats.contains("keyspace_misses:1\r\n"), "{stats}");
    assert_eq!(c.cmd_str(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let stats = c.cmd_str(&["INFO", "stats"]);
    assert!(stats.contains("keyspace_misses:0\r\n"), "{stats}");

    assert_eq!(c.cmd_str(&["CONFIG", "SET", "maxclients", "2"]), "+OK\r\n");
    let mut second = server.conn();
    assert_eq!(second.cmd(&["PING"]), b"+PONG\r\n");
    let mut third = server.conn();
    assert_eq!(
        s(third.read_reply()),
        "-ERR max number of clients reached\r\n"
    );
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "port"]),
        format!(
            "*2\r\n$4\r\nport\r\n${}\r\n{}\r\n",
            server.port.to_string().len(),
            server.port
        )
    );
    let list = c.cmd_str(&["COMMAND", "LIST"]);
    assert!(list.contains("$6\r\nlrange\r\n"), "{list}");
}

/// INFO has Redis's Modules and Cluster sections (client test suites read
/// `cluster_enabled`), in Redis's order.
#[test]
fn info_has_the_modules_and_cluster_sections() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let info = c.cmd_str(&["INFO"]);
    let headers: Vec<&str> = info.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        headers,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace"
        ]
    );
    assert!(
        info.contains("# Cluster\r\ncluster_enabled:0\r\n"),
        "{info}"
    );
    assert_eq!(
        c.cmd_str(&["INFO", "cluster"]),
        "$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
    );
}

/// With `always-show-logo yes` the startup log carries the logo's `Port:` and `PID:`
/// lines (Redis's test harness waits for `PID:`); `pidfile` is written at startup and
/// removed by SHUTDOWN.
#[test]
fn logo_and_pidfile() {
    let dir = common::TempDir::new("pidfile");
    let pidfile = dir.path().join("redlite.pid");
    let pidfile_arg = pidfile.to_string_lossy().into_owned();
    let server = Server::start(&["--always-show-logo", "yes", "--pidfile", &pidfile_arg]);
    let pid = server.child.id();
    let log = server.log_text();
    assert!(log.contains(&format!("PID: {pid}\n")), "{log}");
    assert!(log.contains(&format!("Port: {}\n", server.port)), "{log}");
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap(),
        format!("{pid}\n")
    );
    let mut c = server.conn();
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(c.is_closed());
    let mut server = server;
    let _ = server.child.wait();
    assert!(!pidfile.exists(), "SHUTDOWN removes the pid file");
    // Without the setting (and with the log not on a terminal): the one-line form.
    let plain = Server::start(&[]);
    assert!(!plain.log_text().contains("PID:"), "{}", plain.log_text());
    assert!(plain.log_text().contains("Running mode=standalone, port="));
}

/// CONFIG SET port and bind listen at once, as in Redis 7.0: connected clients stay, the
/// old address stops answering, and a port or address that cannot be bound is refused
/// with Redis's error and everything stays as it was.
#[test]
fn config_set_port_and_bind_rebind() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let new_port = common::free_port();
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "port", &new_port.to_string()]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd_str(&["PING"]),
        "+PONG\r\n",
        "the connected client stays"
    );
    let mut moved = common::Conn::connect(new_port);
    assert_eq!(moved.cmd_str(&["PING"]), "+PONG\r\n");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err(),
        "the old port is closed"
    );
    assert_eq!(
        common::info_field_in(&mut moved, "server", "tcp_port"),
        new_port.to_string()
    );
    // A port in use: refused, nothing changes.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port().to_string();
    assert_eq!(
        moved.cmd_str(&["CONFIG", "SET", "port", &taken_port, "maxclients", "100"]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
    );
    assert_eq!(
        moved.cmd_str(&["CONFIG", "GET", "port"]),
        format!(
            "*2\r\n$4\r\nport\r\n${}\r\n{new_port}\r\n",
            new_port.to_string().len()
        )
    );
    assert_ne!(
        moved.cmd_str(&["CONFIG", "GET", "maxclients"]),
        "*2\r\n$10\r\nmaxclients\r\n$3\r\n100\r\n"
    );
    assert_eq!(
        common::Conn::connect(new_port).cmd_str(&["PING"]),
        "+PONG\r\n"
    );
    // An address that is not ours: refused, and the old one still listens.
    assert_eq!(
        moved.cmd_str(&["CONFIG", "SET", "bind", "10.255.255.1"]),
        "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n"
    );
    assert_eq!(
        common::Conn::connect(new_port).cmd_str(&["PING"]),
        "+PONG\r\n"
    );
    assert_eq!(
        moved.cmd_str(&["CONFIG", "GET", "bind"]),
        "*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n"
    );
}

#[test]
fn the_server_runs_with_glibcs_fast_bins_off_under_its_own_pid() {
    let server = Server::start(&[]);
    let pid = server.child.id();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("the server's environment");
    let vars: Vec<&[u8]> = environ.split(|&b| b == 0).collect();
    assert!(
        vars.iter()
            .any(|v| v.starts_with(b"GLIBC_TUNABLES=") && v.ends_with(b"glibc.malloc.mxfast=0")),
        "GLIBC_TUNABLES not set: {:?}",
        vars.iter()
            .filter(|v| v.starts_with(b"GLIBC"))
            .map(|v| String::from_utf8_lossy(v))
            .collect::<Vec<_>>()
    );
    let mut c = server.conn();
    let info = c.cmd_str(&["INFO", "server"]);
    assert!(info.contains(&format!("process_id:{pid}\r\n")), "{info}");
}
