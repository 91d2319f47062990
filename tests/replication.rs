//! Replication against the real redis-server 7.0 in both directions, between redlites
//! (chained, and a failover that continues with a partial resync), and the commands
//! around it (WAIT, ROLE, INFO replication, REPLICAOF's errors) compared with Redis.

mod common;

use std::time::{Duration, Instant};

use common::{info_field_in, reference_available, Conn, Reference, Server};
use pretty_assertions::assert_eq;

/// redlite flags for a master that starts a sync at once and allows DEBUG DIGEST.
const MASTER: &[&str] = &[
    "--repl-diskless-sync-delay",
    "0",
    "--enable-debug-command",
    "yes",
];

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn repl(c: &mut Conn, field: &str) -> String {
    info_field_in(c, "replication", field)
}

/// Waits until the replica has applied everything the master streamed so far.
fn wait_synced(master: &mut Conn, replica: &mut Conn) {
    wait_until("the replica to catch up", Duration::from_secs(30), || {
        repl(replica, "master_link_status") == "up"
            && repl(replica, "slave_repl_offset") == repl(master, "master_repl_offset")
    });
}

fn digest(c: &mut Conn) -> String {
    c.cmd_str(&["DEBUG", "DIGEST"])
}

/// Data of every type in two databases, and writes whose propagated forms differ from
/// what was sent (relative expiries, SPOP, INCRBYFLOAT, a script, a transaction).
fn write_load(c: &mut Conn, round: usize) {
    let r = round.to_string();
    for i in 0..50 {
        let i = format!("{r}:{i}");
        c.cmd(&["SET", &format!("s{i}"), &i]);
        c.cmd(&["RPUSH", &format!("l{}", round), &i]);
        c.cmd(&["HSET", &format!("h{}", round), &i, &i]);
        c.cmd(&["SADD", &format!("set{}", round), &i]);
        c.cmd(&["ZADD", &format!("z{}", round), "1.5", &i]);
    }
    c.cmd(&["XADD", &format!("x{r}"), "1-1", "f", "v"]);
    c.cmd(&["EXPIRE", &format!("s{r}:1"), "1000"]);
    c.cmd(&["SET", &format!("px{r}"), "v", "PX", "100000"]);
    c.cmd(&["SPOP", &format!("set{r}")]);
    c.cmd(&["INCRBYFLOAT", "float", "1.25"]);
    c.cmd(&[
        "EVAL",
        "redis.call('incr', KEYS[1]) return 1",
        "1",
        "counter",
    ]);
    c.cmd(&["MULTI"]);
    c.cmd(&["INCR", "counter"]);
    c.cmd(&["LPUSH", "tx", &r]);
    assert!(c.cmd(&["EXEC"]).starts_with(b"*2\r\n:"));
    c.cmd(&["SELECT", "5"]);
    c.cmd(&["SET", &format!("db5:{r}"), "x"]);
    c.cmd(&["DEL", &format!("s{r}:2")]);
    c.cmd(&["SELECT", "0"]);
    c.cmd(&["DEL", &format!("s{r}:3")]);
}

#[test]
fn redis_replicates_from_redlite_full_then_partial() {
    if !reference_available("redis_replicates_from_redlite_full_then_partial") {
        return;
    }
    let master = Server::start(MASTER);
    let mut m = master.conn();
    write_load(&mut m, 1);
    m.cmd(&["FLUSHDB"]);
    write_load(&mut m, 2);
    let port = master.port.to_string();
    let replica = Reference::start_with(&["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    wait_synced(&mut m, &mut r);
    assert_eq!(digest(&mut r), digest(&mut m));
    // Writes while the replica is online arrive through the stream.
    write_load(&mut m, 3);
    wait_synced(&mut m, &mut r);
    assert_eq!(digest(&mut r), digest(&mut m));
    assert_eq!(m.cmd_str(&["WAIT", "1", "5000"]), ":1\r\n");
    let role = m.cmd_str(&["ROLE"]);
    assert!(role.starts_with("*3\r\n$6\r\nmaster\r\n:"), "{role}");
    assert!(role.contains("$9\r\n127.0.0.1\r\n"), "{role}");
    assert!(
        m.cmd_str(&["CLIENT", "LIST"]).contains("flags=S "),
        "the replica shows as S"
    );
    // The link breaks: the replica comes back with PSYNC and gets only what it missed.
    let list = m.cmd_str(&["CLIENT", "LIST"]);
    let id = list
        .lines()
        .find(|l| l.contains("flags=S"))
        .and_then(|l| l.split(' ').next())
        .and_then(|f| f.strip_prefix("id="))
        .expect("the replica's client")
        .to_string();
    assert_eq!(m.cmd(&["CLIENT", "KILL", "ID", &id]), b":1\r\n".to_vec());
    write_load(&mut m, 4);
    wait_synced(&mut m, &mut r);
    assert_eq!(digest(&mut r), digest(&mut m));
    assert!(
        master
            .log_text()
            .contains("Partial resynchronization request from"),
        "{}",
        master.log_text()
    );
}

#[test]
fn redlite_replicates_from_redis_full_then_partial() {
    if !reference_available("redlite_replicates_from_redis_full_then_partial") {
        return;
    }
    let master = Reference::start_with(&["--repl-diskless-sync-delay", "0"]);
    let mut m = master.conn();
    write_load(&mut m, 1);
    let port = master.port.to_string();
    let replica = Server::start(&[
        "--replicaof",
        "127.0.0.1",
        &port,
        "--enable-debug-command",
        "yes",
    ]);
    let mut r = replica.conn();
    wait_synced(&mut m, &mut r);
    assert_eq!(digest(&mut r), digest(&mut m));
    write_load(&mut m, 2);
    wait_synced(&mut m, &mut r);
    assert_eq!(digest(&mut r), digest(&mut m));
    // Read-only, as Redis's replicas are by default.
    assert_eq!(
        r.cmd_str(&["SET", "k", "v"]),
        "-READONLY You can't write against a read only replica.\r\n"
    );
    assert_eq!(
        r.cmd_str(&["WAIT", "1", "0"]),
        "-ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.\r\n"
    );
    // The master acknowledges our offset (REPLCONF ACK every second).
    assert_eq!(m.cmd(&["WAIT", "1", "5000"]), b":1\r\n".to_vec());
    // ROLE's offset is the one INFO shows (or later: the master's PINGs move it on).
    let before: u64 = repl(&mut r, "slave_repl_offset").parse().unwrap();
    let role = r.cmd_str(&["ROLE"]);
    let head = format!("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:{port}\r\n$9\r\nconnected\r\n:");
    let offset: u64 = role
        .strip_prefix(&head)
        .and_then(|rest| rest.strip_suffix("\r\n"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("ROLE: {role}"));
    assert!(offset >= before, "ROLE {offset} < INFO {before}");
    // A key that expired stays on the replica (read as missing) until the master's DEL.
    m.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    m.cmd(&["SET", "soon", "v", "PX", "50"]);
    wait_synced(&mut m, &mut r);
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(r.cmd(&["GET", "soon"]), b"$-1\r\n".to_vec());
    assert_eq!(r.cmd(&["EXISTS", "soon"]), b":0\r\n".to_vec());
    let size_before = r.cmd_str(&["DBSIZE"]);
    assert_eq!(size_before, m.cmd_str(&["DBSIZE"]));
    assert_eq!(m.cmd(&["GET", "soon"]), b"$-1\r\n".to_vec());
    wait_synced(&mut m, &mut r);
    assert_eq!(r.cmd_str(&["DBSIZE"]), m.cmd_str(&["DBSIZE"]));
    assert_ne!(r.cmd_str(&["DBSIZE"]), size_before);
    // The link breaks on the master's side: we continue with a partial resync.
    assert_eq!(
        m.cmd(&["CLIENT", "KILL", "TYPE", "replica"]),
        b":1\r\n".to_vec()
    );
    write_load(&mut m, 3);
    wait_synced(&mut m, &mut r);
    assert_eq!(digest(&mut r), digest(&mut m));
    assert!(
        replica
            .log_text()
            .contains("Successful partial resynchronization with master."),
        "{}",
        replica.log_text()
    );
}

#[test]
fn chained_redlites_fail_over_with_a_partial_resync() {
    let a = Server::start(MASTER);
    let b = Server::start(MASTER);
    let c = Server::start(MASTER);
    let (mut ca, mut cb, mut cc) = (a.conn(), b.conn(), c.conn());
    write_load(&mut ca, 1);
    let (pa, pb) = (a.port.to_string(), b.port.to_string());
    assert_eq!(
        cb.cmd(&["REPLICAOF", "127.0.0.1", &pa]),
        b"+OK\r\n".to_vec()
    );
    assert_eq!(
        cb.cmd(&["REPLICAOF", "127.0.0.1", &pa]),
        b"+OK Already connected to specified master\r\n".to_vec()
    );
    wait_synced(&mut ca, &mut cb);
    assert_eq!(
        cc.cmd(&["REPLICAOF", "127.0.0.1", &pb]),
        b"+OK\r\n".to_vec()
    );
    wait_synced(&mut cb, &mut cc);
    write_load(&mut ca, 2);
    wait_synced(&mut ca, &mut cb);
    wait_synced(&mut cb, &mut cc);
    let want = digest(&mut ca);
    assert_eq!(digest(&mut cb), want);
    assert_eq!(digest(&mut cc), want);
    // B takes over; A follows it and continues from its own offset (PSYNC2's second ID).
    assert_eq!(cb.cmd(&["REPLICAOF", "NO", "ONE"]), b"+OK\r\n".to_vec());
    assert_eq!(repl(&mut cb, "role"), "master");
    assert_eq!(
        repl(&mut cb, "master_replid2"),
        repl(&mut ca, "master_replid")
    );
    assert_eq!(
        ca.cmd(&["REPLICAOF", "127.0.0.1", &pb]),
        b"+OK\r\n".to_vec()
    );
    wait_synced(&mut cb, &mut ca);
    wait_synced(&mut cb, &mut cc);
    write_load(&mut cb, 3);
    wait_synced(&mut cb, &mut ca);
    wait_synced(&mut cb, &mut cc);
    let want = digest(&mut cb);
    assert_eq!(digest(&mut ca), want);
    assert_eq!(digest(&mut cc), want);
    assert!(
        b.log_text()
            .contains("Partial resynchronization request from"),
        "{}",
        b.log_text()
    );
    assert_eq!(
        ca.cmd_str(&["SET", "k", "v"]),
        "-READONLY You can't write against a read only replica.\r\n"
    );
}

#[test]
fn disk_based_sync_writes_the_dump_on_both_sides() {
    let master = Server::start(&[
        "--repl-diskless-sync",
        "no",
        "--enable-debug-command",
        "yes",
    ]);
    let mut m = master.conn();
    write_load(&mut m, 1);
    let replica = Server::start(&["--enable-debug-command", "yes"]);
    let mut r = replica.conn();
    let port = master.port.to_string();
    assert_eq!(r.cmd(&["SLAVEOF", "127.0.0.1", &port]), b"+OK\r\n".to_vec());
    wait_synced(&mut m, &mut r);
    assert_eq!(digest(&mut r), digest(&mut m));
    for server in [&master, &replica] {
        let dump = server.dir.as_ref().unwrap().path().join("dump.rdb");
        let bytes = std::fs::read(&dump).expect("dump.rdb written by the sync");
        assert_eq!(&bytes[..5], b"REDIS");
    }
}

#[test]
fn min_replicas_and_wait_without_replicas() {
    let master = Server::start(MASTER);
    let mut m = master.conn();
    assert_eq!(m.cmd(&["SET", "k", "v"]), b"+OK\r\n".to_vec());
    assert_eq!(m.cmd(&["WAIT", "0", "0"]), b":0\r\n".to_vec());
    assert_eq!(m.cmd(&["WAIT", "1", "100"]), b":0\r\n".to_vec());
    m.cmd(&["CONFIG", "SET", "min-replicas-to-write", "1"]);
    assert_eq!(
        m.cmd_str(&["SET", "k", "v"]),
        "-NOREPLICAS Not enough good replicas to write.\r\n"
    );
    assert_eq!(m.cmd(&["GET", "k"]), b"$1\r\nv\r\n".to_vec());
    let replica = Server::start(&[]);
    let mut r = replica.conn();
    r.cmd(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]);
    wait_synced(&mut m, &mut r);
    wait_until("an acknowledgement", Duration::from_secs(10), || {
        m.cmd(&["SET", "k", "w"]) == b"+OK\r\n"
    });
    assert_eq!(repl(&mut m, "min_slaves_good_slaves"), "1");
    wait_synced(&mut m, &mut r);
    assert_eq!(r.cmd(&["GET", "k"]), b"$1\r\nw\r\n".to_vec());
}

/// Errors and replies of the replication commands, byte for byte against Redis.
#[test]
fn replication_commands_match_redis() {
    if !reference_available("replication_commands_match_redis") {
        return;
    }
    let ours = Server::start(&[]);
    let reference = Reference::start();
    let requests: &[&[&str]] = &[
        &["REPLICAOF", "127.0.0.1", "notaport"],
        &["REPLICAOF", "127.0.0.1", "70000"],
        &["REPLICAOF", "NO", "ONE"],
        &["SLAVEOF", "no", "one"],
        &["REPLICAOF", "x"],
        &["WAIT", "x", "0"],
        &["WAIT", "0", "x"],
        &["WAIT", "0", "-1"],
        &["WAIT", "0", "0"],
        &["SET", "k", "v"],
        &["WAIT", "0", "10"],
        &["WAIT", "1", "10"],
        &["REPLCONF", "listening-port"],
        &["REPLCONF", "nosuch", "1"],
        &["REPLCONF", "listening-port", "7000"],
        &["PING"],
        &["ROLE"],
        &["FAILOVER"],
        &["FAILOVER", "ABORT"],
        &["FAILOVER", "TIMEOUT", "0"],
        &["FAILOVER", "TIMEOUT", "x"],
        &["FAILOVER", "TO", "127.0.0.1"],
        &["FAILOVER", "FORCE"],
        &["FAILOVER", "TO", "127.0.0.1", "x"],
        &["FAILOVER", "NOSUCH"],
        &["PSYNC", "abc", "10", "FAILOVER"],
    ];
    let (mut a, mut b) = (ours.conn(), reference.conn());
    for req in requests {
        assert_eq!(a.cmd_str(req), b.cmd_str(req), "{req:?}");
    }
    // INFO replication has the same fields in the same order (a master without
    // replicas; IDs differ).
    let fields = |c: &mut Conn| -> Vec<String> {
        c.cmd_str(&["INFO", "replication"])
            .lines()
            .skip(1)
            .filter_map(|l| l.split(':').next().map(str::to_string))
            .filter(|l| !l.is_empty())
            .collect()
    };
    assert_eq!(fields(&mut a), fields(&mut b));
}

/// A redlite replica and a Redis replica of the same Redis master answer alike: writes,
/// scripts that write, transactions, ROLE, HELLO, INFO replication's fields.
#[test]
fn a_redlite_replica_answers_as_a_redis_replica() {
    if !reference_available("a_redlite_replica_answers_as_a_redis_replica") {
        return;
    }
    let master = Reference::start_with(&["--repl-diskless-sync-delay", "0"]);
    let mut m = master.conn();
    m.cmd(&["SET", "x", "1"]);
    let port = master.port.to_string();
    let redis = Reference::start_with(&["--replicaof", "127.0.0.1", &port]);
    let ours = Server::start(&["--replicaof", "127.0.0.1", &port]);
    let (mut a, mut b) = (ours.conn(), redis.conn());
    wait_synced(&mut m, &mut a);
    wait_synced(&mut m, &mut b);
    let requests: &[&[&str]] = &[
        &["SET", "x", "2"],
        &["GET", "x"],
        &["EVAL", "return redis.call('set','x','1')", "0"],
        &["EVAL", "return redis.call('get','x')", "0"],
        &["EVAL", "#!lua\nreturn redis.call('get','x')", "0"],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('get','x')",
            "0",
        ],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('set','x','1')",
            "0",
        ],
        &["EVAL_RO", "return redis.call('incr','x')", "0"],
        &["MULTI"],
        &["INCR", "x"],
        &["EXEC"],
        &["WAIT", "1", "0"],
        &["REPLICAOF", "127.0.0.1", &port],
        &["ROLE"],
    ];
    for req in requests {
        assert_eq!(a.cmd_str(req), b.cmd_str(req), "{req:?}");
    }
    // HELLO says `replica` (its client ids differ).
    for c in [&mut a, &mut b] {
        let hello = c.cmd_str(&["HELLO", "3"]);
        assert!(hello.contains("$4\r\nrole\r\n$7\r\nreplica\r\n"), "{hello}");
    }
    let fields = |c: &mut Conn| -> Vec<String> {
        c.cmd_str(&["INFO", "replication"])
            .lines()
            .filter_map(|l| l.split(':').next().map(str::to_string))
            .filter(|l| !l.is_empty() && !l.starts_with('$') && !l.starts_with('='))
            .collect()
    };
    assert_eq!(fields(&mut a), fields(&mut b));
}

/// Writes from another connection until `stop` is set: overwrites, counters, list
/// pushes, deletes and expiries over a few thousand keys.
fn writer(
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut c = Conn::connect(port);
        let mut n = 0u64;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let k = format!("key:{}", n % 3000);
            match n % 5 {
                0 => c.cmd(&["SET", &k, &n.to_string()]),
                1 => c.cmd(&["INCR", &format!("ctr:{}", n % 50)]),
                2 => c.cmd(&["LPUSH", &format!("list:{}", n % 20), &n.to_string()]),
                3 => c.cmd(&["DEL", &k]),
                _ => c.cmd(&["EXPIRE", &k, "1000"]),
            };
            n += 1;
        }
        n
    })
}

/// Full sync and partial resync while another client keeps writing, both ways (a Redis
/// replica of redlite, a redlite replica of Redis): the datasets end equal.
#[test]
fn syncs_under_write_load_in_both_directions() {
    if !reference_available("syncs_under_write_load_in_both_directions") {
        return;
    }
    // A backlog big enough for what a debug build's replica may lag behind a writer.
    let backlog = ["--repl-backlog-size", "64mb"];
    for redlite_is_master in [true, false] {
        let ours = Server::start(&[MASTER, &backlog[..]].concat());
        let theirs =
            Reference::start_with(&[&["--repl-diskless-sync-delay", "0"][..], &backlog].concat());
        let (mport, rport) = if redlite_is_master {
            (ours.port, theirs.port)
        } else {
            (theirs.port, ours.port)
        };
        let (mut m, mut r) = (Conn::connect(mport), Conn::connect(rport));
        m.cmd(&["DEBUG", "POPULATE", "20000"]);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let load = writer(mport, stop.clone());
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            r.cmd(&["REPLICAOF", "127.0.0.1", &mport.to_string()]),
            b"+OK\r\n".to_vec()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while repl(&mut r, "master_link_status") != "up" {
            assert!(
                Instant::now() < deadline,
                "no link (redlite master: {redlite_is_master}); redlite's log:\n{}\nreplica: {}\nmaster: {}",
                ours.log_text(),
                r.cmd_str(&["INFO", "replication"]),
                m.cmd_str(&["INFO", "replication"])
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        // Break the link on the master's side while the writes go on.
        assert_eq!(
            m.cmd(&["CLIENT", "KILL", "TYPE", "replica"]),
            b":1\r\n".to_vec()
        );
        std::thread::sleep(Duration::from_millis(300));
        wait_until("the link again", Duration::from_secs(30), || {
            repl(&mut r, "master_link_status") == "up"
        });
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let writes = load.join().unwrap();
        assert!(writes > 100, "the writer made {writes} writes");
        wait_synced(&mut m, &mut r);
        assert_eq!(
            digest(&mut r),
            digest(&mut m),
            "redlite master: {redlite_is_master}"
        );
        if redlite_is_master {
            assert!(ours
                .log_text()
                .contains("Partial resynchronization request from"));
        } else {
            assert!(ours
                .log_text()
                .contains("Successful partial resynchronization with master."));
        }
    }
}

/// FAILOVER: the master pauses writes, waits for its replica to catch up, then follows
/// it; the replica takes over, and the old master continues with a partial resync.
#[test]
fn failover_switches_master_and_replica() {
    let a = Server::start(MASTER);
    let b = Server::start(MASTER);
    let (mut ca, mut cb) = (a.conn(), b.conn());
    write_load(&mut ca, 1);
    cb.cmd(&["REPLICAOF", "127.0.0.1", &a.port.to_string()]);
    wait_synced(&mut ca, &mut cb);
    assert_eq!(
        ca.cmd_str(&["FAILOVER", "TO", "127.0.0.1", "1", "FORCE"]),
        "-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n"
    );
    assert_eq!(
        ca.cmd_str(&["FAILOVER", "TO", "127.0.0.1", "1"]),
        "-ERR FAILOVER target HOST and PORT is not a replica.\r\n"
    );
    assert_eq!(
        ca.cmd(&["FAILOVER", "TO", "127.0.0.1", &b.port.to_string()]),
        b"+OK\r\n".to_vec()
    );
    wait_until("the switch", Duration::from_secs(30), || {
        repl(&mut cb, "role") == "master"
            && repl(&mut ca, "role") == "slave"
            && repl(&mut ca, "master_link_status") == "up"
            && repl(&mut ca, "master_failover_state") == "no-failover"
    });
    write_load(&mut cb, 2);
    wait_synced(&mut cb, &mut ca);
    assert_eq!(digest(&mut ca), digest(&mut cb));
    assert!(b
        .log_text()
        .contains("Failover request received for replid"));
    assert!(a
        .log_text()
        .contains("Successful partial resynchronization with master."));
    assert_eq!(
        ca.cmd_str(&["SET", "k", "v"]),
        "-READONLY You can't write against a read only replica.\r\n"
    );
}

/// The handshake authenticates with `masteruser`/`masterauth`; `replica-serve-stale-data
/// no` refuses data commands while the link is down; a replica past
/// `client-output-buffer-limit replica` is disconnected (and comes back).
#[test]
fn auth_stale_data_and_the_output_limit() {
    let master = Server::start(&[
        "--repl-diskless-sync-delay",
        "0",
        "--requirepass",
        "secret",
        "--client-output-buffer-limit",
        "replica 64kb 0 0",
        "--enable-debug-command",
        "yes",
    ]);
    let mut m = master.conn();
    assert_eq!(m.cmd(&["AUTH", "secret"]), b"+OK\r\n".to_vec());
    m.cmd(&["SET", "k", "v"]);
    let port = master.port.to_string();
    // Without the password the link never comes up, and stale data is refused.
    let replica = Server::start(&["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    // Set after the start: the test harness waits for a PING, which MASTERDOWN refuses.
    r.cmd(&["CONFIG", "SET", "replica-serve-stale-data", "no"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(repl(&mut r, "master_link_status"), "down");
    assert_eq!(
        r.cmd_str(&["GET", "k"]),
        "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
    );
    assert!(
        replica
            .log_text()
            .contains("reply to PSYNC from master: -NOAUTH"),
        "{}",
        replica.log_text()
    );
    // With it, the sync goes through.
    assert_eq!(
        r.cmd(&["CONFIG", "SET", "masterauth", "secret"]),
        b"+OK\r\n".to_vec()
    );
    wait_synced(&mut m, &mut r);
    assert_eq!(r.cmd(&["GET", "k"]), b"$1\r\nv\r\n".to_vec());
    // One write bigger than the replica's hard output limit closes its link.
    let replica_id = |m: &mut Conn| -> Option<String> {
        let list = m.cmd_str(&["CLIENT", "LIST", "TYPE", "replica"]);
        list.split_whitespace()
            .find_map(|f| f.strip_prefix("id="))
            .map(str::to_string)
    };
    let before = replica_id(&mut m)
        .unwrap_or_else(|| panic!("no replica: {}", m.cmd_str(&["CLIENT", "LIST"])));
    m.cmd(&["SET", "big", &"x".repeat(200_000)]);
    wait_until(
        "the replica's link to close",
        Duration::from_secs(10),
        || replica_id(&mut m).as_deref() != Some(before.as_str()),
    );
    // With the limit lifted it comes back and gets the write.
    m.cmd(&[
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "replica 0 0 0",
    ]);
    wait_synced(&mut m, &mut r);
    assert_eq!(r.cmd(&["STRLEN", "big"]), b":200000\r\n".to_vec());
}

/// A master whose snapshot does not read (a fake one, speaking just enough of the
/// protocol): with `repl-diskless-load swapdb` the replica keeps its old dataset.
#[test]
fn swapdb_keeps_the_old_dataset_when_the_snapshot_is_bad() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let fake = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut out = stream;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            // Each request's first line is `*N`; its words follow as `$len` / word pairs.
            let n: usize = line.trim().trim_start_matches('*').parse().unwrap_or(0);
            let mut words = Vec::new();
            for _ in 0..n * 2 {
                line.clear();
                reader.read_line(&mut line).unwrap();
                words.push(line.trim().to_string());
            }
            let name = words.get(1).cloned().unwrap_or_default().to_uppercase();
            let reply: Vec<u8> = match name.as_str() {
                "PING" => b"+PONG\r\n".to_vec(),
                "PSYNC" => {
                    let mark = "m".repeat(40);
                    let mut r =
                        format!("+FULLRESYNC {} 0\r\n$EOF:{mark}\r\n", "a".repeat(40)).into_bytes();
                    r.extend_from_slice(b"REDIS0010 this is not an RDB payload");
                    r.extend_from_slice(mark.as_bytes());
                    r
                }
                _ => b"+OK\r\n".to_vec(),
            };
            if out.write_all(&reply).is_err() {
                return;
            }
            if name == "PSYNC" {
                std::thread::sleep(Duration::from_millis(500));
                return;
            }
        }
    });
    let replica = Server::start(&["--repl-diskless-load", "swapdb"]);
    let mut r = replica.conn();
    r.cmd(&["SET", "mine", "1"]);
    r.cmd(&["REPLICAOF", "127.0.0.1", &port.to_string()]);
    fake.join().unwrap();
    wait_until("the failed load", Duration::from_secs(10), || {
        replica.log_text().contains("the old dataset is kept")
    });
    assert_eq!(r.cmd(&["GET", "mine"]), b"$1\r\n1\r\n".to_vec());
    r.cmd(&["REPLICAOF", "NO", "ONE"]);
}

/// One master and its replica, with a subscriber to the replica's keyspace events.
struct ReplicaPair {
    master: Conn,
    replica: Conn,
    events: common::events::EventListener,
    /// The replica's `keyspace_hits` and `keyspace_misses` after the last step.
    last: [u64; 2],
}

impl ReplicaPair {
    fn new(mut master: Conn, mut replica: Conn, listener: Conn) -> ReplicaPair {
        // The master leaves expired keys for its lookups to find (and DEL).
        assert_eq!(master.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), b"+OK\r\n");
        wait_synced(&mut master, &mut replica);
        let events = common::events::EventListener::start(&mut replica, listener, "KEAm", true);
        let mut pair = ReplicaPair {
            master,
            replica,
            events,
            last: [0, 0],
        };
        pair.last = pair.stats();
        pair
    }

    fn stats(&mut self) -> [u64; 2] {
        ["keyspace_hits", "keyspace_misses"].map(|f| {
            info_field_in(&mut self.replica, "stats", f)
                .parse()
                .unwrap()
        })
    }

    /// Runs `cmd` on the master (or, with `on_replica`, on the replica), waits until the
    /// replica has applied it, and returns the reply and what the replica counted and
    /// notified meanwhile.
    fn step(&mut self, cmd: &[&str], on_replica: bool) -> (String, String, Vec<String>) {
        let reply = if on_replica {
            self.replica.cmd_str(cmd)
        } else {
            self.master.cmd_str(cmd)
        };
        wait_synced(&mut self.master, &mut self.replica);
        let now = self.stats();
        let counted = format!(
            "{} hits, {} misses",
            now[0] - self.last[0],
            now[1] - self.last[1]
        );
        self.last = now;
        (reply, counted, self.events.take(&mut self.replica))
    }
}

/// Redis's `lookupKey` on a replica: the master's writes count hits and misses for the
/// keys they read through `lookupKeyRead` (SUNIONSTORE's sources...), and nothing for
/// the keys they write; a key the master streams is never expired for the master's
/// commands (`expireIfNeeded` returns 0 for `server.master`), while an ordinary reader
/// of the replica meets a logically expired key as a miss (and a `keymiss`) that stays
/// in the keyspace until the master's DEL. The same commands on a redis-server master
/// and replica and on a redlite master and replica: the replies, the replica's counters
/// and its keyspace events must be the same after every step.
#[test]
fn replica_counts_keyspace_hits_as_redis() {
    if !reference_available("replica_counts_keyspace_hits_as_redis") {
        return;
    }
    let redis_master = Reference::start_with(&["--repl-diskless-sync-delay", "0"]);
    let port = redis_master.port.to_string();
    let redis_replica = Reference::start_with(&["--replicaof", "127.0.0.1", &port]);
    let ours_master = Server::start(MASTER);
    let port = ours_master.port.to_string();
    let ours_replica = Server::start(&["--replicaof", "127.0.0.1", &port]);
    let mut theirs = ReplicaPair::new(
        redis_master.conn(),
        redis_replica.conn(),
        redis_replica.conn(),
    );
    let mut ours = ReplicaPair::new(ours_master.conn(), ours_replica.conn(), ours_replica.conn());
    // Each step runs on the master, or on the replica (`replica: `), or (`late: `, the
    // command that makes a key, then the one to run) in the script below, which makes
    // the key with a 1 ms TTL, waits on the master's clock (frozen for the script, so
    // the key stays alive for its lookups) until the TTL has passed, and runs the
    // command: the replica applies it all after the key's time, and must still find the
    // key for the master's commands.
    let late = "local n = tonumber(ARGV[1]) redis.call(unpack(ARGV, 2, n + 1)) \
                redis.call('pexpire', ARGV[3], 1) \
                local t = redis.call('time') local t0 = t[1] * 1000000 + t[2] \
                repeat t = redis.call('time') until t[1] * 1000000 + t[2] > t0 + 5000 \
                return redis.call(unpack(ARGV, n + 2))";
    let steps = [
        "SADD s1 a b",
        "SADD s2 b c",
        "SET str x",
        "ZADD z1 1 a 2 b",
        "PFADD h1 a b",
        "SET bits ab",
        "RPUSH l 3 1 2",
        "HSET w1 f 1",
        "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        // Writes that read other keys: existing, missing and wrong-type sources.
        "SUNIONSTORE d s1 s2 nosuch",
        "SINTERSTORE d s1 str",
        "SDIFFSTORE d s1 nosuch s2",
        "SINTERCARD 2 s1 s2",
        "ZUNIONSTORE dz 2 z1 nosuch",
        "ZINTERSTORE dz 2 z1 s1",
        "ZDIFFSTORE dz 2 z1 str",
        "ZRANGESTORE dz z1 0 -1",
        "SORT l BY w*->f GET # GET w*->f STORE dl",
        "SORT nosuch STORE dl",
        "BITOP AND db bits nosuch",
        "BITOP OR db bits l",
        "PFMERGE hd h1 nosuch",
        "COPY s1 s1copy",
        "COPY nosuch c2",
        "GEOSEARCHSTORE gd g FROMLONLAT 15 37 BYRADIUS 200 km",
        "GEORADIUS g 15 37 200 km STORE gd2",
        "SMOVE s1 s2 a",
        "LMOVE l l2 LEFT RIGHT",
        "GETDEL str",
        "SET str y GET",
        "INCR n",
        "APPEND str z",
        // Keys with a short TTL, expired on both sides by the time they are read (the
        // master's active expiry is off; a replica never expires keys by itself).
        "SADD e1 x",
        "PEXPIRE e1 20",
        "SET e2 v PX 20",
        "DEBUG SLEEP 0.05",
        // On the replica the keys are still there, and read as missing.
        "replica: DBSIZE",
        "replica: GET e2",
        "replica: EXISTS e1 e2 s1",
        "replica: TYPE e1",
        "replica: SMEMBERS e1",
        "replica: TTL e2",
        "replica: SUNION e1 s1",
        "replica: GET str",
        "replica: GET nosuch",
        "replica: SISMEMBER s2 a",
        "replica: SCARD d",
        "replica: ZRANGE dz 0 -1",
        "replica: LRANGE dl 0 -1",
        "replica: OBJECT ENCODING e1",
        "replica: MGET e2 str nosuch",
        "replica: DBSIZE",
        // A writable replica's own writes that read the expired keys: they miss, and
        // the keys stay (GETDEL then deletes it, as Redis's does).
        "replica: CONFIG SET replica-read-only no",
        "replica: SUNIONSTORE rx e1 s1",
        "replica: GETDEL e2",
        "replica: COPY e1 rc",
        "replica: DBSIZE",
        "replica: CONFIG SET replica-read-only yes",
        // The master's lookup expires them and streams the DEL first.
        "SUNIONSTORE d e1 s1",
        "GET e2",
        "replica: DBSIZE",
        // Writes that read keys the replica holds past their time.
        "late: SADD late1 x | SUNIONSTORE d3 late1 s2",
        "late: SADD late2 x | SINTERSTORE d4 s2 late2",
        "late: SADD late3 b | SDIFFSTORE d5 late3 s2",
        "late: ZADD late4 1 x | ZUNIONSTORE dz 2 z1 late4",
        "late: SET late5 zz | BITOP OR db bits late5",
        "late: PFADD late6 q | PFMERGE hd h1 late6",
        "late: SADD late7 q | COPY late7 c7",
        "late: HSET wlate f 9 | SORT l BY nosort GET w*->f STORE dl",
        "late: GEOADD late8 15 37 p | GEOSEARCHSTORE gd late8 FROMLONLAT 15 37 BYRADIUS 1 km",
        "late: SET late9 v | GETEX late9 PERSIST",
        // Writes that empty such a key.
        "late: ZADD late10 1 x | ZREM late10 x",
        "late: SADD late11 x | SREM late11 x",
        "late: RPUSH late12 x | LPOP late12",
        "late: HSET late13 f v | HDEL late13 f",
        "late: ZADD late14 1 x | ZPOPMIN late14",
        "late: ZADD late15 1 x | ZREMRANGEBYRANK late15 0 -1",
        "late: SADD late16 x | SPOP late16",
        "late: RPUSH late17 x | LTRIM late17 1 0",
        // Other writes on such keys.
        "late: SET late20 5 | INCR late20",
        "late: SET late21 ab | APPEND late21 c",
        "late: SET late22 ab | SETRANGE late22 1 x",
        "late: SET late23 ab | GETDEL late23",
        "late: RPUSH late24 a | LPUSH late24 b",
        "late: RPUSH late25 a | LMOVE late25 l3 LEFT LEFT",
        "late: RPUSH late26 a | LMPOP 1 late26 LEFT",
        "late: ZADD late27 1 a | ZMPOP 1 late27 MIN",
        "late: SADD late28 a | SMOVE late28 s9 a",
        "late: HSET late29 f 1 | HINCRBY late29 f 2",
        "late: ZADD late30 1 a | ZINCRBY late30 2 a",
        "late: SET late31 v | RENAME late31 r31",
        "late: SET late32 v | DEL late32",
        "late: SET late33 v | PERSIST late33",
        "late: SET late34 v | EXPIRE late34 100",
        "late: XADD late35 1-1 f v | XDEL late35 1-1",
        "late: SET late36 v | SET late36 w GET",
        "late: SET late37 v | SETNX late37 w",
        "late: PFADD late38 a | PFADD late38 b",
        "late: SET late39 v | MOVE late39 3",
        // What the replica holds now.
        "replica: SCARD d3",
        "replica: SISMEMBER d3 x",
        "replica: SCARD d4",
        "replica: SCARD d5",
        "replica: ZRANGE dz 0 -1 WITHSCORES",
        "replica: GET db",
        "replica: PFCOUNT hd",
        "replica: SCARD c7",
        "replica: LRANGE dl 0 -1",
        "replica: ZCARD gd",
        "replica: TTL late9",
        "replica: GET late20",
        "replica: TTL late33",
        "replica: TTL late34",
        "replica: EXISTS late1 late4 late7 wlate late9 late10 late11 late12 late13 late14",
        "replica: EXISTS late15 late16 late17 late21 late22 late23 late24 late25 late26",
        "replica: EXISTS late27 late28 late29 late30 late31 late32 late35 late36 late37",
        "replica: EXISTS late38 late39 l3 s9 r31",
        "replica: TYPE late4",
        "replica: PFCOUNT late6",
        "replica: DBSIZE",
        // The master's lookups find them expired and stream their DELs first.
        "SUNIONSTORE d6 late1 late2",
        "SORT l BY nosort GET w*->f STORE dl",
        "replica: DBSIZE",
        "replica: SCARD d6",
        "replica: LRANGE dl 0 -1",
    ];
    for step in steps {
        let words = |text: &str| text.split(' ').map(str::to_string).collect::<Vec<_>>();
        let (on_replica, cmd) = match step.split_once(": ") {
            Some(("replica", cmd)) => (true, words(cmd)),
            Some(("late", cmds)) => {
                let (make, run) = cmds.split_once(" | ").unwrap();
                let (make, run) = (words(make), words(run));
                let head = ["EVAL", late, "0", &make.len().to_string()].map(str::to_string);
                (false, [&head[..], &make, &run].concat())
            }
            _ => (false, words(step)),
        };
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let ours = ours.step(&cmd, on_replica);
        let theirs = theirs.step(&cmd, on_replica);
        assert_eq!(ours, theirs, "{step}");
    }
}
