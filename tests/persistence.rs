//! Persistence over TCP: BGSAVE under concurrent writes, save points, MISCONF, SHUTDOWN,
//! crash safety (kill -9 during SAVE and BGSAVE) and -LOADING while a dump loads.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{array_elements, info_field, Conn, Reference, Server, TempDir};
use pretty_assertions::assert_eq;

const MISCONF: &str = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.\r\n";

/// Fills keys `prefix0..prefix{n-1}` with `value{i}`, pipelined MSETs of 1000 keys.
fn fill(c: &mut Conn, prefix: &str, n: usize) {
    let batches = n.div_ceil(1000);
    for b in 0..batches {
        let mut args = vec!["MSET".to_string()];
        for i in b * 1000..((b + 1) * 1000).min(n) {
            args.push(format!("{prefix}{i}"));
            args.push(format!("value{i}"));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        c.send(&refs);
    }
    for _ in 0..batches {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
}

fn wait_bgsave_done(c: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(c, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks that keys `prefix0..prefix{n-1}` hold `value{i}`.
fn check_filled(c: &mut Conn, prefix: &str, n: usize) {
    for b in 0..n.div_ceil(1000) {
        let mut args = vec!["MGET".to_string()];
        let range = b * 1000..((b + 1) * 1000).min(n);
        args.extend(range.clone().map(|i| format!("{prefix}{i}")));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let got = array_elements(&c.cmd(&refs));
        for (i, reply) in range.zip(got) {
            let expected = format!("${}\r\nvalue{i}\r\n", format!("value{i}").len());
            assert_eq!(String::from_utf8_lossy(&reply), expected, "{prefix}{i}");
        }
    }
}

/// Restarts a server (killed first) on the dump in `dir`.
fn restart(server: Server, dir: &Path, args: &[&str]) -> Server {
    drop(server);
    Server::start_in(dir, args).expect("restarts on the dump")
}

#[test]
fn bgsave_writes_the_keyspace_as_it_was_when_it_started() {
    let dir = TempDir::new("bgsave");
    let server = Server::start_in(dir.path(), &[]).unwrap();
    let mut c = server.conn();
    const N: usize = 200_000;
    fill(&mut c, "k", N);
    assert_eq!(c.cmd(&["BGSAVE"]), b"+Background saving started\r\n");
    // Writers overwrite, delete and create keys while the snapshot is written.
    let port = server.port;
    let writers: Vec<_> = (0..3)
        .map(|w| {
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let mut during = 0;
                for i in (w..N).step_by(97) {
                    let key = format!("k{i}");
                    let reply = match i % 3 {
                        0 => c.cmd(&["SET", &key, "overwritten"]),
                        1 => c.cmd(&["DEL", &key]),
                        _ => c.cmd(&["SET", &format!("new{i}"), "x"]),
                    };
                    assert!(reply.starts_with(b"+OK") || reply.starts_with(b":"));
                    if i % 50 == 0
                        && c.cmd(&["INFO", "persistence"])
                            .windows(24)
                            .any(|w| w == b"rdb_bgsave_in_progress:1")
                    {
                        during += 1;
                    }
                }
                during
            })
        })
        .collect();
    let reply = c.cmd(&["BGSAVE"]);
    assert!(
        reply == b"-ERR Background save already in progress\r\n"
            || reply == b"+Background saving started\r\n",
        "{}",
        String::from_utf8_lossy(&reply)
    );
    let during: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    eprintln!("writes seen while the BGSAVE ran: about {}", during * 50);
    wait_bgsave_done(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    if reply == b"+Background saving started\r\n" {
        // The second BGSAVE started after the first ended: only the first is checked.
        return;
    }
    // Let the dump be the first BGSAVE's: restart without saving again.
    let server = restart(server, dir.path(), &[]);
    let mut c = server.conn();
    assert_eq!(c.cmd(&["DBSIZE"]), format!(":{N}\r\n").into_bytes());
    check_filled(&mut c, "k", N);
    assert_eq!(c.cmd(&["EXISTS", "new2"]), b":0\r\n");
}

#[test]
fn bgsave_errors_match_redis() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let cases: &[&[&str]] = &[&["BGSAVE", "foo"], &["BGSAVE", "SCHEDULE", "x"]];
    let mut expected = vec![b"-ERR syntax error\r\n".to_vec(); 2];
    if common::reference_available("bgsave_errors_match_redis") {
        let reference = Reference::start();
        let mut r = reference.conn();
        expected = cases.iter().map(|args| r.cmd(args)).collect();
        assert_eq!(r.cmd(&["BGSAVE"]), b"+Background saving started\r\n");
    }
    for (args, want) in cases.iter().zip(&expected) {
        assert_eq!(
            String::from_utf8_lossy(&c.cmd(args)),
            String::from_utf8_lossy(want)
        );
    }
    assert_eq!(c.cmd(&["BGSAVE"]), b"+Background saving started\r\n");
    wait_bgsave_done(&mut c);
    // Inside MULTI, as in Redis, it is scheduled for the cron.
    c.cmd(&["MULTI"]);
    c.cmd(&["BGSAVE"]);
    assert_eq!(
        array_elements(&c.cmd(&["EXEC"])),
        vec![b"+Background saving scheduled\r\n".to_vec()]
    );
    let before = c.cmd(&["LASTSAVE"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut c, "rdb_saves") != "2" {
        assert!(Instant::now() < deadline, "the scheduled BGSAVE never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(c.cmd(&["LASTSAVE"]) >= before);
}

#[test]
fn save_points_start_a_bgsave() {
    let dir = TempDir::new("savepoint");
    let server = Server::start_in(dir.path(), &["--save", "1 2"]).unwrap();
    let mut c = server.conn();
    let start = c.cmd(&["LASTSAVE"]);
    c.cmd(&["SET", "a", "1"]);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(c.cmd(&["LASTSAVE"]), start, "one change is below the point");
    assert!(!dir.path().join("dump.rdb").exists());
    c.cmd(&["SET", "b", "2"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.cmd(&["LASTSAVE"]) == start {
        assert!(Instant::now() < deadline, "the save point never fired");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_bgsave_done(&mut c);
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    assert!(server
        .log_text()
        .contains("2 changes in 1 seconds. Saving..."));
    let server = restart(server, dir.path(), &[]);
    assert_eq!(
        server.conn().cmd(&["MGET", "a", "b"]),
        b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
}

/// Makes the next save fail: `dir` becomes a directory that is then removed (chmod
/// would not stop root).
fn break_dir(c: &mut Conn, scratch: &Path) {
    let gone = scratch.join("gone");
    std::fs::create_dir_all(&gone).unwrap();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "dir", gone.to_str().unwrap()]),
        b"+OK\r\n"
    );
    std::fs::remove_dir_all(&gone).unwrap();
}

#[test]
fn a_failed_bgsave_refuses_writes_until_a_save_succeeds() {
    let scratch = TempDir::new("misconf");
    let server = Server::start(&["--save", "3600 1000", "--enable-protected-configs", "yes"]);
    let mut c = server.conn();
    let home = String::from_utf8_lossy(&array_elements(&c.cmd(&["CONFIG", "GET", "dir"]))[1])
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    c.cmd(&["SET", "k", "v"]);
    break_dir(&mut c, scratch.path());
    assert_eq!(c.cmd(&["BGSAVE"]), b"+Background saving started\r\n");
    wait_bgsave_done(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    let misconf = MISCONF.as_bytes();
    assert_eq!(String::from_utf8_lossy(&c.cmd(&["SET", "k", "w"])), MISCONF);
    assert_eq!(c.cmd(&["PING"]), misconf);
    assert_eq!(c.cmd(&["GET", "k"]), b"$1\r\nv\r\n", "reads still work");
    c.cmd(&["MULTI"]);
    assert_eq!(c.cmd(&["INCR", "n"]), misconf);
    assert_eq!(
        c.cmd(&["EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // Without save points (or with stop-writes-on-bgsave-error no) writes go through.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]),
        b"+OK\r\n"
    );
    assert_eq!(c.cmd(&["SET", "k", "w"]), b"+OK\r\n");
    c.cmd(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"]);
    assert_eq!(c.cmd(&["SET", "k", "w"]), misconf);
    // A successful save clears it.
    assert_eq!(c.cmd(&["CONFIG", "SET", "dir", &home]), b"+OK\r\n");
    assert_eq!(c.cmd(&["SAVE"]), b"+OK\r\n");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(c.cmd(&["SET", "k", "x"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");

    // The same text and behaviour as redis-server.
    if common::reference_available("a_failed_bgsave_refuses_writes_until_a_save_succeeds") {
        let port = common::free_port();
        let mut reference = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--save", "3600 1000"])
            .args(["--enable-protected-configs", "yes", "--dir"])
            .arg(scratch.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut r = loop {
            if let Ok(c) = Conn::try_connect(port) {
                break c;
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        break_dir(&mut r, scratch.path());
        assert_eq!(r.cmd(&["BGSAVE"]), b"+Background saving started\r\n");
        wait_bgsave_done(&mut r);
        assert_eq!(String::from_utf8_lossy(&r.cmd(&["SET", "k", "w"])), MISCONF);
        assert_eq!(r.cmd(&["PING"]), misconf);
        let _ = reference.kill();
        let _ = reference.wait();
    }
}

/// Sends SHUTDOWN with `args` and waits for the process to exit; returns whether it did.
fn shutdown(server: &mut Server, args: &[&str]) -> Option<Vec<u8>> {
    let mut c = server.conn();
    let mut cmd = vec!["SHUTDOWN"];
    cmd.extend_from_slice(args);
    c.send(&cmd);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = server.child.try_wait() {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(c.read_reply())
}

#[test]
fn shutdown_saves_as_asked() {
    // (save points, SHUTDOWN arguments, whether a dump is written)
    let cases: &[(&str, &[&str], bool)] = &[
        ("", &[], false),
        ("", &["SAVE"], true),
        ("3600 1", &[], true),
        ("3600 1", &["NOSAVE"], false),
        ("3600 1", &["NOW"], true),
    ];
    for &(points, args, saves) in cases {
        let dir = TempDir::new("shutdown");
        let mut server = Server::start_in(dir.path(), &["--save", points]).unwrap();
        server.conn().cmd(&["SET", "k", "v"]);
        assert_eq!(
            shutdown(&mut server, args),
            None,
            "{points:?} {args:?} exits"
        );
        assert_eq!(
            dir.path().join("dump.rdb").exists(),
            saves,
            "{points:?} {args:?}"
        );
    }
}

#[test]
fn shutdown_waits_out_a_bgsave_and_stays_up_if_the_final_save_fails() {
    let dir = TempDir::new("shutdown-bg");
    let mut server = Server::start_in(dir.path(), &["--save", "3600 1"]).unwrap();
    let mut c = server.conn();
    fill(&mut c, "k", 100_000);
    assert_eq!(c.cmd(&["BGSAVE"]), b"+Background saving started\r\n");
    assert_eq!(shutdown(&mut server, &[]), None);
    assert!(server.log_text().contains("DB saved on disk"));
    let server = restart(server, dir.path(), &[]);
    assert_eq!(server.conn().cmd(&["DBSIZE"]), b":100000\r\n");

    let scratch = TempDir::new("shutdown-fail");
    let mut server = Server::start(&["--save", "3600 1", "--enable-protected-configs", "yes"]);
    let mut c = server.conn();
    c.cmd(&["SET", "k", "v"]);
    break_dir(&mut c, scratch.path());
    assert_eq!(
        shutdown(&mut server, &[]).as_deref(),
        Some(&b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"[..])
    );
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n", "still up, writes allowed");
    assert_eq!(shutdown(&mut server, &["NOSAVE"]), None);
}

/// Starts redlite in `dir` without waiting for it to answer PING; returns the child and
/// its port once it has bound.
fn spawn_raw(dir: &Path) -> (std::process::Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_redlite-server"))
        .args(["--port", "0", "--save", "", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(p) = line.split("port=").nth(1) {
                let p: String = p.chars().take_while(char::is_ascii_digit).collect();
                let _ = tx.send(p.parse::<u16>().unwrap());
            }
        }
    });
    let port = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    (child, port)
}

#[test]
fn kill_9_during_save_or_bgsave_leaves_the_previous_dump_and_loading_says_so() {
    let dir = TempDir::new("crash");
    const N: usize = 1_000_000;
    let server = Server::start_in(dir.path(), &[]).unwrap();
    let mut c = server.conn();
    fill(&mut c, "k", N);
    assert_eq!(c.cmd(&["SAVE"]), b"+OK\r\n");
    let good = std::fs::read(dir.path().join("dump.rdb")).unwrap();
    c.cmd(&["SET", "k1", "changed"]);
    let mut server = server;
    for how in ["SAVE", "BGSAVE"] {
        let mut c = server.conn();
        c.send(&[how]);
        // Kill it once the temp file is there (or after a while regardless).
        let deadline = Instant::now() + Duration::from_secs(5);
        let temp_seen = loop {
            let temp = std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("temp-"));
            if temp || Instant::now() > deadline {
                break temp;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        eprintln!("{how}: killed with the temp file present: {temp_seen}");
        assert_eq!(
            std::fs::read(dir.path().join("dump.rdb")).unwrap(),
            good,
            "{how}"
        );

        // While the (previous, complete) dump loads, clients are told so.
        let (child, port) = spawn_raw(dir.path());
        let mut c = Conn::connect(port);
        let first = c.cmd(&["GET", "k1"]);
        let mut loading_seen = first == b"-LOADING Redis is loading the dataset in memory\r\n";
        if loading_seen {
            assert_eq!(info_field(&mut c, "loading"), "1");
            assert_eq!(
                c.cmd(&["LASTSAVE"])[0],
                b':',
                "LASTSAVE works while loading"
            );
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let value = loop {
            let reply = c.cmd(&["GET", "k1"]);
            if !reply.starts_with(b"-LOADING") {
                break reply;
            }
            loading_seen = true;
            assert!(Instant::now() < deadline, "never finished loading");
            std::thread::sleep(Duration::from_millis(10));
        };
        eprintln!("{how}: saw -LOADING: {loading_seen}");
        assert_eq!(value, b"$6\r\nvalue1\r\n", "the previous snapshot");
        assert_eq!(c.cmd(&["DBSIZE"]), format!(":{N}\r\n").into_bytes());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("temp-"))
            .collect();
        assert_eq!(
            leftovers,
            Vec::<String>::new(),
            "temp files removed at startup"
        );
        c.cmd(&["SET", "k1", "changed"]);
        server = Server {
            child,
            port,
            log: Default::default(),
            dir: None,
        };
    }
}
