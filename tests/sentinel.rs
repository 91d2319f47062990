//! redis-sentinel 7.0 watching a redlite master with two redlite replicas: when the
//! master is killed, Sentinel promotes a replica and points the other at it, and a
//! client that follows Sentinel (redis-py's `Sentinel`) keeps writing.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, info_field_in, Conn, Server, TempDir};

/// The Python that has Debian's `python3-redis` (what `.ci/run` installs).
fn python_with_redis() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import redis.sentinel"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Whether redis-sentinel and redis-py are there; skipped loudly without them, and a
/// failure under `CI=true`.
fn tools_available(test: &str) -> Option<&'static str> {
    let sentinel = Command::new("redis-sentinel")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let python = python_with_redis();
    if sentinel && python.is_some() {
        return python;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: redis-sentinel or python3-redis is missing, and CI=true forbids skipping");
    }
    eprintln!("\n*** SKIPPED {test}: redis-sentinel or python3-redis (redis-py) not found ***\n");
    None
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// A client following Sentinel: writes `before`, waits for the test to kill the
/// master, then keeps trying through the same `master_for` connection until a write
/// lands on the new master (or 60 seconds pass).
const CLIENT: &str = r#"
import sys, time
from redis.sentinel import Sentinel
sentinel = Sentinel([("127.0.0.1", int(sys.argv[1]))], socket_timeout=0.5)
master = sentinel.master_for("mymaster", socket_timeout=0.5)
master.set("before", "1")
print("written", flush=True)
sys.stdin.readline()
old = sys.argv[2]
deadline = time.time() + 60
while time.time() < deadline:
    try:
        addr = sentinel.discover_master("mymaster")
        if str(addr[1]) != old:
            master.set("after", "1")
            print("moved", addr[1], flush=True)
            sys.exit(0)
    except Exception as e:
        pass
    time.sleep(0.2)
print("never moved", flush=True)
sys.exit(1)
"#;

#[test]
fn sentinel_fails_over_redlites_and_a_client_follows() {
    let Some(python) = tools_available("sentinel_fails_over_redlites_and_a_client_follows") else {
        return;
    };
    let flags = ["--repl-diskless-sync-delay", "0"];
    let mut master = Some(Server::start(&flags));
    let mport = master.as_ref().unwrap().port.to_string();
    let mut rflags = flags.to_vec();
    rflags.extend(["--replicaof", "127.0.0.1", &mport]);
    let r1 = Server::start(&rflags);
    let r2 = Server::start(&rflags);
    for r in [&r1, &r2] {
        let mut c = r.conn();
        wait_until("the replica's link", Duration::from_secs(20), || {
            info_field_in(&mut c, "replication", "master_link_status") == "up"
        });
    }
    let dir = TempDir::new("sentinel");
    let sport = free_port();
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {sport}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {mport} 1\n\
             sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 10000\n",
            dir.path().display()
        ),
    )
    .unwrap();
    /// Kills the child when the test ends, however it ends.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _sentinel = Kill(
        Command::new("redis-sentinel")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-sentinel"),
    );
    wait_until(
        "Sentinel to find both replicas",
        Duration::from_secs(30),
        || {
            let Ok(mut s) = Conn::try_connect(sport) else {
                return false;
            };
            let replicas = s.cmd_str(&["SENTINEL", "REPLICAS", "mymaster"]);
            [r1.port, r2.port]
                .iter()
                .all(|p| replicas.contains(&format!("127.0.0.1:{p}")))
        },
    );
    let mut client = Command::new(python)
        .args(["-c", CLIENT, &sport.to_string(), &mport])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the redis-py client");
    let mut out = std::io::BufReader::new(client.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line.trim(), "written");
    // Replication is asynchronous: the write must have reached the replicas before the
    // master dies, or the promoted one rightly lacks it.
    for r in [&r1, &r2] {
        let mut c = r.conn();
        wait_until(
            "the write to reach a replica",
            Duration::from_secs(30),
            || c.cmd(&["GET", "before"]) == b"$1\r\n1\r\n",
        );
    }
    // Kill the master (its process, as a crash would).
    drop(master.take());
    client.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    line.clear();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let status = client.wait().unwrap();
    assert!(status.success(), "client: {line}");
    let new_port: u16 = line.trim().strip_prefix("moved ").unwrap().parse().unwrap();
    let (promoted, other) = if new_port == r1.port {
        (&r1, &r2)
    } else {
        assert_eq!(new_port, r2.port);
        (&r2, &r1)
    };
    let mut p = promoted.conn();
    assert_eq!(info_field_in(&mut p, "replication", "role"), "master");
    assert_eq!(p.cmd(&["GET", "before"]), b"$1\r\n1\r\n".to_vec());
    assert_eq!(p.cmd(&["GET", "after"]), b"$1\r\n1\r\n".to_vec());
    // Sentinel points the other replica at the new master, and it gets the new write.
    let mut o = other.conn();
    wait_until(
        "the other replica to follow",
        Duration::from_secs(30),
        || {
            info_field_in(&mut o, "replication", "master_port") == new_port.to_string()
                && o.cmd(&["GET", "after"]) == b"$1\r\n1\r\n"
        },
    );
}
