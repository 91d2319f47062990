//! Settings that reach outside the keyspace take effect: `supervised` (systemd's
//! notify socket), `oom-score-adj`, `dynamic-hz`, `shutdown-timeout` (SHUTDOWN waits
//! for lagging replicas; SHUTDOWN ABORT), `propagation-error-behavior`, and the test
//! settings `rdb-key-save-delay` and `key-load-delay`.

mod common;

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use common::{Conn, Server, TempDir};
use pretty_assertions::assert_eq;

/// One INFO field, from every section (`""`: not there).
fn info_field(c: &mut Conn, name: &str) -> String {
    let info = String::from_utf8_lossy(&c.cmd(&["INFO", "all"])).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Polls `f` until it is true, for up to 10 s.
fn eventually(f: impl FnMut() -> bool) -> bool {
    common::eventually(Duration::from_secs(10), f)
}

#[test]
fn supervised_systemd_hears_loading_ready_and_stopping() {
    let dir = TempDir::new("sd");
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let server = Server::start_in_env(
        dir.path(),
        &["--supervised", "systemd"],
        &[("NOTIFY_SOCKET", path.to_str().unwrap())],
    )
    .unwrap();
    let mut heard = Vec::new();
    let mut buf = [0u8; 256];
    for _ in 0..3 {
        let n = socket.recv(&mut buf).unwrap();
        heard.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_eq!(
        heard,
        [
            "STATUS=Redis is loading...\n",
            "STATUS=Ready to accept connections\n",
            "READY=1\n"
        ]
    );
    let mut c = server.conn();
    assert_eq!(info_field(&mut c, "process_supervised"), "systemd");
    assert!(eventually(|| server
        .log_text()
        .contains("Supervised by systemd.")));
    c.send(&["SHUTDOWN", "NOSAVE"]);
    let n = socket.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1\n");

    // Without a notify socket, `auto` finds no supervisor, and `systemd` says so.
    let plain = Server::start(&["--supervised", "auto"]);
    assert_eq!(info_field(&mut plain.conn(), "process_supervised"), "no");
    let lonely = Server::start(&["--supervised", "systemd"]);
    assert_eq!(info_field(&mut lonely.conn(), "process_supervised"), "no");
    assert!(eventually(|| lonely.log_text().contains(
        "systemd supervision error: NOTIFY_SOCKET not found!"
    )));
}

/// The server process's OOM score adjustment, as the kernel has it.
fn oom_score(c: &mut Conn) -> i64 {
    let pid = info_field(c, "process_id");
    std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn oom_score_adj_follows_the_role_and_goes_back() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let base = oom_score(&mut c);
    // Relative values only ever raise the score, which needs no privilege.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "oom-score-adj-values", "100 300 800"]),
        b"+OK\r\n"
    );
    assert_eq!(oom_score(&mut c), base, "oom-score-adj is still no");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "oom-score-adj", "relative"]),
        b"+OK\r\n"
    );
    assert_eq!(oom_score(&mut c), (base + 100).min(1000));
    // A replica takes the second value.
    let port = common::free_port().to_string();
    assert_eq!(c.cmd(&["REPLICAOF", "127.0.0.1", &port]), b"+OK\r\n");
    assert_eq!(oom_score(&mut c), (base + 300).min(1000));
    assert_eq!(c.cmd(&["REPLICAOF", "NO", "ONE"]), b"+OK\r\n");
    assert_eq!(oom_score(&mut c), (base + 100).min(1000));
    // Back to no: the score found at first.
    assert_eq!(c.cmd(&["CONFIG", "SET", "oom-score-adj", "no"]), b"+OK\r\n");
    assert_eq!(oom_score(&mut c), base);

    // At startup too.
    let started = Server::start(&[
        "--oom-score-adj",
        "yes",
        "--oom-score-adj-values",
        "50 60 70",
    ]);
    let mut c = started.conn();
    assert_eq!(oom_score(&mut c), (base + 50).min(1000));
}

#[test]
fn dynamic_hz_raises_the_cron_rate_with_many_clients() {
    let server = Server::start(&["--hz", "1"]);
    let mut c = server.conn();
    assert_eq!(info_field(&mut c, "hz"), "1");
    assert_eq!(info_field(&mut c, "configured_hz"), "1");
    // More than 200 clients per tick: the rate doubles (Redis's serverCron).
    let many: Vec<Conn> = (0..260).map(|_| server.conn()).collect();
    assert!(eventually(|| info_field(&mut c, "hz") == "2"));
    assert_eq!(info_field(&mut c, "configured_hz"), "1");
    // With dynamic-hz off it stays as configured.
    assert_eq!(c.cmd(&["CONFIG", "SET", "dynamic-hz", "no"]), b"+OK\r\n");
    assert!(eventually(|| info_field(&mut c, "hz") == "1"));
    drop(many);
}

/// A replica that takes its snapshot and then never acknowledges anything.
fn silent_replica(port: u16) -> Conn {
    let mut r = Conn::connect(port);
    assert_eq!(r.cmd(&["REPLCONF", "listening-port", "4321"]), b"+OK\r\n");
    r.send(&["SYNC"]);
    r
}

#[test]
fn shutdown_waits_for_lagging_replicas_until_aborted_or_timed_out() {
    let server = Server::start(&["--repl-diskless-sync-delay", "0"]);
    let mut c = server.conn();
    let _replica = silent_replica(server.port);
    assert!(eventually(|| info_field(&mut c, "connected_slaves") == "1"));
    assert_eq!(c.cmd(&["SET", "k", "v"]), b"+OK\r\n");

    // SHUTDOWN waits (shutdown-timeout, 10 s by default); SHUTDOWN ABORT ends the wait.
    let mut stopper = server.conn();
    stopper.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(eventually(|| !info_field(
        &mut c,
        "shutdown_in_milliseconds"
    )
    .is_empty()));
    assert_eq!(c.cmd(&["SHUTDOWN", "ABORT"]), b"+OK\r\n");
    assert_eq!(
        stopper.read_reply(),
        b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert_eq!(info_field(&mut c, "shutdown_in_milliseconds"), "");
    assert_eq!(
        c.cmd(&["SHUTDOWN", "ABORT"]),
        b"-ERR No shutdown in progress.\r\n"
    );
    // Writes are no longer paused.
    assert_eq!(c.cmd(&["SET", "k", "w"]), b"+OK\r\n");
    assert!(eventually(|| server
        .log_text()
        .contains("manually aborted")));
    let log = server.log_text();
    assert!(
        log.contains("Waiting for replicas before shutting down."),
        "{log}"
    );
    assert!(log.contains("Shutdown manually aborted."), "{log}");

    // With a short timeout the server gives up waiting and exits, naming the replica.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "shutdown-timeout", "1"]),
        b"+OK\r\n"
    );
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(c.is_closed());
    assert!(eventually(|| server.log_text().contains("ready to exit")));
    let log = server.log_text();
    assert!(
        log.contains("Lagging replica 127.0.0.1:4321 reported offset"),
        "{log}"
    );
    assert!(
        log.contains("0 of 1 replicas are in sync when shutting down."),
        "{log}"
    );
}

#[test]
fn shutdown_now_does_not_wait() {
    let server = Server::start(&["--repl-diskless-sync-delay", "0"]);
    let mut c = server.conn();
    let _replica = silent_replica(server.port);
    assert!(eventually(|| info_field(&mut c, "connected_slaves") == "1"));
    assert_eq!(c.cmd(&["SET", "k", "v"]), b"+OK\r\n");
    c.send(&["SHUTDOWN", "NOSAVE", "NOW"]);
    assert!(c.is_closed());
    assert!(eventually(|| server.log_text().contains("ready to exit")));
    assert!(!server
        .log_text()
        .contains("Waiting for replicas before shutting down."));
}

/// An AOF whose second command fails when replayed (INCR of a non-number).
fn aof_with_an_error(dir: &std::path::Path) {
    let aof = dir.join("appendonlydir");
    std::fs::create_dir_all(&aof).unwrap();
    std::fs::write(
        aof.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    let mut f = std::fs::File::create(aof.join("appendonly.aof.1.incr.aof")).unwrap();
    f.write_all(&common::encode(&[b"SELECT", b"0"])).unwrap();
    f.write_all(&common::encode(&[b"SET", b"k", b"abc"]))
        .unwrap();
    f.write_all(&common::encode(&[b"INCR", b"k"])).unwrap();
    f.write_all(&common::encode(&[b"SET", b"after", b"1"]))
        .unwrap();
}

#[test]
fn propagation_error_behavior_logs_or_stops_on_an_aof_error() {
    let dir = TempDir::new("prop-err");
    aof_with_an_error(dir.path());
    // ignore (the default): logged, counted, and loading carries on.
    let server = Server::start_in(dir.path(), &["--appendonly", "yes"]).unwrap();
    let mut c = server.conn();
    assert_eq!(c.cmd(&["GET", "after"]), b"$1\r\n1\r\n");
    assert_eq!(info_field(&mut c, "unexpected_error_replies"), "1");
    assert!(eventually(|| server.log_text().contains("== CRITICAL ==")));
    let log = server.log_text();
    assert!(
        log.contains("== CRITICAL == This server is sending an error to its AOF-loading-client: 'ERR value is not an integer or out of range' after processing the command 'incr'"),
        "{log}"
    );
    drop(c);
    drop(server);

    // panic: the server stops rather than start with a dataset that differs.
    let dir = TempDir::new("prop-panic");
    aof_with_an_error(dir.path());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_redlite-server"))
        .args(["--port", "0", "--save", "", "--appendonly", "yes"])
        .args(["--propagation-error-behavior", "panic", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the server carried on");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("Guru Meditation: This server panicked sending an error to its AOF-loading-client after processing the command 'incr'"),
        "{log}"
    );
}

#[test]
fn rdb_key_save_delay_keeps_a_bgsave_running() {
    let server = Server::start(&["--rdb-key-save-delay", "200000"]);
    let mut c = server.conn();
    for i in 0..10 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), b"+OK\r\n");
    }
    assert_eq!(
        c.cmd(&["BGSAVE"]),
        b"+Background saving started\r\n".to_vec()
    );
    // 10 keys at 200 ms each: the save is still running well after it started.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1");
    assert!(eventually(
        || info_field(&mut c, "rdb_bgsave_in_progress") == "0"
    ));
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
}

#[test]
fn key_load_delay_slows_a_load_down() {
    let server = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = server.conn();
    for i in 0..10 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), b"+OK\r\n");
    }
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "key-load-delay", "100000"]),
        b"+OK\r\n"
    );
    // DEBUG RELOAD saves and loads the dump: 10 keys at 100 ms each.
    let started = Instant::now();
    assert_eq!(c.cmd(&["DEBUG", "RELOAD"]), b"+OK\r\n");
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert_eq!(c.cmd(&["DBSIZE"]), b":10\r\n");
}

/// A master and a replica in their own directories, both with saving off, syncing
/// through the dump file; returns whether each kept its dump.rdb, and their logs.
fn disk_sync(extra: &[&str]) -> ((bool, bool), String, String) {
    let (mdir, rdir) = (TempDir::new("del-m"), TempDir::new("del-r"));
    let master_args = [&["--repl-diskless-sync", "no"][..], extra].concat();
    let master = Server::start_in(mdir.path(), &master_args).unwrap();
    assert_eq!(master.conn().cmd(&["SET", "k", "v"]), b"+OK\r\n");
    let port = master.port.to_string();
    let replica_args = [
        &[
            "--repl-diskless-load",
            "disabled",
            "--replicaof",
            "127.0.0.1",
            &port,
        ][..],
        extra,
    ]
    .concat();
    let replica = Server::start_in(rdir.path(), &replica_args).unwrap();
    let mut c = replica.conn();
    assert!(eventually(
        || info_field(&mut c, "master_link_status") == "up"
    ));
    assert_eq!(c.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    assert!(eventually(|| replica
        .log_text()
        .contains("MASTER <-> REPLICA sync: Finished with success")));
    let kept = (
        mdir.path().join("dump.rdb").exists(),
        rdir.path().join("dump.rdb").exists(),
    );
    (kept, master.log_text(), replica.log_text())
}

#[test]
fn rdb_del_sync_files_removes_the_files_of_a_sync_without_persistence() {
    let (kept, _, _) = disk_sync(&[]);
    assert_eq!(kept, (true, true));
    let (kept, master_log, replica_log) = disk_sync(&["--rdb-del-sync-files", "yes"]);
    assert_eq!(kept, (false, false));
    assert!(master_log
        .contains("Removing the RDB file used to feed replicas in a persistence-less instance"));
    assert!(replica_log.contains(
        "Removing the RDB file obtained from the master. This replica has persistence disabled"
    ));
}

/// A replica whose saves fail (its directory is gone) gets a write from its master;
/// returns the replica once the write reached it or it stopped.
fn replica_that_cannot_save(ignore: &str) -> (Server, Server, bool) {
    let master = Server::start(&[]);
    let rdir = TempDir::new("disk-err");
    let gone = rdir.path().join("gone");
    std::fs::create_dir(&gone).unwrap();
    let port = master.port.to_string();
    let replica = Server::start_in(
        &gone,
        &[
            "--replicaof",
            "127.0.0.1",
            &port,
            "--save",
            "3600 1",
            "--replica-ignore-disk-write-errors",
            ignore,
        ],
    )
    .unwrap();
    let mut r = replica.conn();
    assert!(eventually(
        || info_field(&mut r, "master_link_status") == "up"
    ));
    std::fs::remove_dir_all(&gone).unwrap();
    r.cmd(&["BGSAVE"]);
    assert!(eventually(
        || info_field(&mut r, "rdb_last_bgsave_status") == "err"
    ));
    assert_eq!(master.conn().cmd(&["SET", "k", "v"]), b"+OK\r\n");
    let mut replica = replica;
    if ignore == "yes" {
        assert!(eventually(|| r.cmd(&["GET", "k"]) == b"$1\r\nv\r\n"));
    } else {
        assert!(eventually(|| matches!(
            replica.child.try_wait(),
            Ok(Some(_))
        )));
    }
    let alive = matches!(replica.child.try_wait(), Ok(None));
    (master, replica, alive)
}

#[test]
fn replica_ignore_disk_write_errors_decides_whether_a_replica_that_cannot_save_goes_on() {
    let (_master, replica, alive) = replica_that_cannot_save("yes");
    assert!(alive);
    assert!(eventually(|| replica.log_text().contains(
        "Replica is applying a command even though it is unable to write to disk."
    )));
    let (_master, replica, alive) = replica_that_cannot_save("no");
    assert!(!alive, "the replica applied a write it could not persist");
    assert!(eventually(|| replica.log_text().contains(
        "Guru Meditation: Replica was unable to write command to disk."
    )));
}

/// Three tracked reads over a table limited to two keys, then INFO: the replies, with
/// the one key invalidated to make room shown as `?` (each server picks it at random).
fn tracking_over_its_limit(c: &mut Conn) -> Vec<Vec<u8>> {
    let mut seen = vec![c
        .cmd(&["HELLO", "3"])
        .starts_with(b"%")
        .to_string()
        .into_bytes()];
    seen.push(c.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "2"]));
    seen.push(c.cmd(&["CLIENT", "TRACKING", "ON"]));
    for key in ["a", "b", "c"] {
        seen.push(c.cmd(&["GET", key]));
    }
    // INFO comes after the invalidation, which Redis sends before it runs INFO.
    c.send(&["INFO", "stats"]);
    let push = c.read_reply();
    let masked = [b"a", b"b", b"c"].iter().fold(push, |p, k| {
        let from = [b"$1\r\n".as_slice(), k.as_slice(), b"\r\n"].concat();
        String::from_utf8_lossy(&p)
            .replace(std::str::from_utf8(&from).unwrap(), "$1\r\n?\r\n")
            .into_bytes()
    });
    seen.push(masked);
    let info = String::from_utf8_lossy(&c.read_reply()).into_owned();
    let total = info
        .lines()
        .find(|l| l.starts_with("tracking_total_keys:"))
        .unwrap_or_default()
        .to_string();
    seen.push(total.into_bytes());
    seen
}

#[test]
fn tracking_table_max_keys_invalidates_keys_to_stay_under_it() {
    let server = Server::start(&[]);
    let ours = tracking_over_its_limit(&mut server.conn());
    assert_eq!(ours[6], b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\n?\r\n");
    assert_eq!(ours[7], b"tracking_total_keys:2");
    if !common::reference_available("tracking_table_max_keys_invalidates_keys_to_stay_under_it") {
        return;
    }
    let redis = common::Reference::start();
    assert_eq!(tracking_over_its_limit(&mut redis.conn()), ours);
}

/// `lazyfreed_objects` once nothing is pending.
fn lazyfreed(c: &mut Conn) -> String {
    assert!(eventually(
        || info_field(c, "lazyfree_pending_objects") == "0"
    ));
    info_field(c, "lazyfreed_objects")
}

/// UNLINK, DEL, FLUSHDB/FLUSHALL and an overwrite, with and without the lazyfree
/// settings; the lazy-free count after each step.
fn lazyfree_counts(c: &mut Conn) -> Vec<String> {
    let big = |c: &mut Conn, key: &str| {
        let mut args = vec!["HSET".to_string(), key.to_string()];
        // Past hash-max-listpack-entries: a hash table, 600 allocations to free.
        for i in 0..600 {
            args.push(format!("f{i}"));
            args.push("v".to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(c.cmd(&args), b":600\r\n");
    };
    let mut counts = Vec::new();
    big(c, "h1");
    assert_eq!(c.cmd(&["SET", "small", "v"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["UNLINK", "h1", "small"]), b":2\r\n");
    counts.push(lazyfreed(c)); // the big hash only
    big(c, "h2");
    assert_eq!(c.cmd(&["DEL", "h2"]), b":1\r\n");
    counts.push(lazyfreed(c)); // DEL frees at once
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "lazyfree-lazy-user-del", "yes"]),
        b"+OK\r\n"
    );
    big(c, "h3");
    assert_eq!(c.cmd(&["DEL", "h3"]), b":1\r\n");
    counts.push(lazyfreed(c));
    big(c, "h4");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "lazyfree-lazy-server-del", "yes"]),
        b"+OK\r\n"
    );
    assert_eq!(c.cmd(&["SET", "h4", "now a string"]), b"+OK\r\n");
    counts.push(lazyfreed(c));
    for i in 0..10 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), b"+OK\r\n");
    }
    assert_eq!(c.cmd(&["FLUSHALL", "ASYNC"]), b"+OK\r\n");
    counts.push(lazyfreed(c)); // every key of the flushed databases
    for i in 0..5 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), b"+OK\r\n");
    }
    assert_eq!(c.cmd(&["FLUSHDB"]), b"+OK\r\n");
    counts.push(lazyfreed(c)); // lazyfree-lazy-user-flush is no
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "lazyfree-lazy-user-flush", "yes"]),
        b"+OK\r\n"
    );
    for i in 0..5 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), b"+OK\r\n");
    }
    assert_eq!(c.cmd(&["FLUSHDB"]), b"+OK\r\n");
    counts.push(lazyfreed(c));
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), b"+OK\r\n");
    counts.push(lazyfreed(c));
    counts
}

#[test]
fn lazyfree_frees_big_values_in_the_background_as_redis_counts_them() {
    let server = Server::start(&[]);
    let ours = lazyfree_counts(&mut server.conn());
    // FLUSHALL ASYNC counts its 11 keys (10 and the overwritten h4).
    assert_eq!(ours, ["1", "1", "2", "3", "14", "14", "19", "0"]);
    if !common::reference_available(
        "lazyfree_frees_big_values_in_the_background_as_redis_counts_them",
    ) {
        return;
    }
    let redis = common::Reference::start();
    assert_eq!(lazyfree_counts(&mut redis.conn()), ours);
}

/// DEBUG PANIC's log, once the server has stopped.
fn panic_log(extra: &[&str]) -> String {
    let mut server = Server::start(&[&["--enable-debug-command", "yes"][..], extra].concat());
    server.conn().send(&["DEBUG", "PANIC"]);
    let status = server.child.wait().unwrap();
    assert!(!status.success());
    assert!(eventually(|| server
        .log_text()
        .contains("REDIS BUG REPORT END")));
    server.log_text()
}

#[test]
fn crash_log_enabled_decides_whether_a_panic_logs_its_stack() {
    let log = panic_log(&[]);
    assert!(log.contains("=== REDIS BUG REPORT START: Cut & paste starting from here ==="));
    assert!(log.contains("!!! Software Failure. Press left mouse button to continue"));
    assert!(log.contains("Guru Meditation: DEBUG PANIC called at Unix time "));
    assert!(log.contains("------ STACK TRACE ------"), "{log}");
    let log = panic_log(&["--crash-log-enabled", "no"]);
    assert!(log.contains("Guru Meditation: DEBUG PANIC called at Unix time "));
    assert!(!log.contains("------ STACK TRACE ------"), "{log}");
}
