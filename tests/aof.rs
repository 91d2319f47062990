//! The append-only file over TCP: restarts restore the dataset, redis-server 7.0 and
//! redlite load each other's AOF directories, redis-check-aof accepts ours, damaged files
//! are handled as Redis handles them, BGREWRITEAOF under writes loses nothing, and
//! `appendfsync always` keeps every acknowledged write across kill -9.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{array_elements, info_field, reference_available, Conn, Reference, Server, TempDir};
use pretty_assertions::assert_eq;

/// A key's type, value (canonical: sets and hashes sorted) and whether it has a TTL.
type Dataset = BTreeMap<(usize, Vec<u8>), (String, Vec<Vec<u8>>, bool)>;

fn bulk(reply: &[u8]) -> Vec<u8> {
    let text = reply;
    let nl = text.iter().position(|&b| b == b'\n').unwrap();
    text[nl + 1..text.len() - 2].to_vec()
}

fn elements(reply: &[u8]) -> Vec<Vec<u8>> {
    array_elements(reply).iter().map(|e| bulk(e)).collect()
}

/// Everything in databases 0..16, read with commands (works on redlite and Redis).
fn dataset(c: &mut Conn) -> Dataset {
    let mut out = Dataset::new();
    for db in 0..16 {
        assert_eq!(c.cmd(&["SELECT", &db.to_string()]), b"+OK\r\n");
        for key in elements(&c.cmd(&["KEYS", "*"])) {
            let k = String::from_utf8(key.clone()).unwrap();
            let ty = String::from_utf8_lossy(&c.cmd(&["TYPE", &k]))
                .trim()
                .trim_start_matches('+')
                .to_string();
            let value = match ty.as_str() {
                "string" => vec![bulk(&c.cmd(&["GET", &k]))],
                "list" => elements(&c.cmd(&["LRANGE", &k, "0", "-1"])),
                "set" => {
                    let mut m = elements(&c.cmd(&["SMEMBERS", &k]));
                    m.sort();
                    m
                }
                "hash" => {
                    let flat = elements(&c.cmd(&["HGETALL", &k]));
                    let mut pairs: Vec<Vec<u8>> = flat
                        .chunks(2)
                        .map(|p| [p[0].clone(), b"=".to_vec(), p[1].clone()].concat())
                        .collect();
                    pairs.sort();
                    pairs
                }
                "zset" => elements(&c.cmd(&["ZRANGE", &k, "0", "-1", "WITHSCORES"])),
                other => panic!("unexpected type {other}"),
            };
            let pttl = String::from_utf8_lossy(&c.cmd(&["PTTL", &k]))
                .trim()
                .trim_start_matches(':')
                .parse::<i64>()
                .unwrap();
            out.insert((db, key), (ty, value, pttl > 0));
        }
    }
    assert_eq!(c.cmd(&["SELECT", "0"]), b"+OK\r\n");
    out
}

/// Writes a bit of everything, in several databases, with TTLs and a transaction.
fn populate(c: &mut Conn, tag: &str) {
    let far = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 3_600_000)
        .to_string();
    let script: Vec<Vec<String>> = vec![
        vec!["SELECT", "0"],
        vec!["SET", "s", "plain"],
        vec!["SET", "bin", "a\r\nb\0c"],
        vec!["SET", "ttl", "v", "PX", "500000"],
        vec!["INCRBY", "n", "41"],
        vec!["INCR", "n"],
        vec!["APPEND", "s", "-more"],
        vec!["RPUSH", "l", "a", "b", "c", ""],
        vec!["LPUSH", "l", "z"],
        vec!["HSET", "h", "f1", "v1", "f2", "v2"],
        vec!["SADD", "set", "x", "y", "1", "2"],
        vec!["ZADD", "z", "1.5", "a", "-inf", "b", "3", "c", "0.1", "d"],
        vec!["SET", "gone", "x"],
        vec!["DEL", "gone"],
        vec!["SELECT", "3"],
        vec!["SET", "s3", "three"],
        vec!["RPUSH", "biglist"],
        vec!["PEXPIREAT", "s3", &far],
        vec!["SELECT", "15"],
        vec!["HSET", "h15", "a", "1"],
        vec!["MULTI"],
        vec!["SET", "m1", "1"],
        vec!["INCR", "m1"],
        vec!["EXEC"],
        vec!["SELECT", "0"],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(String::from).collect())
    .collect();
    for cmd in script {
        let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
        if refs == ["RPUSH", "biglist"] {
            // More than 64 elements: the rewrite batches them.
            let mut args = vec!["RPUSH".to_string(), format!("biglist{tag}")];
            args.extend((0..200).map(|i| format!("e{i}")));
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let reply = c.cmd(&refs);
            assert!(
                reply.starts_with(b":"),
                "{}",
                String::from_utf8_lossy(&reply)
            );
            continue;
        }
        let reply = c.cmd(&refs);
        assert!(
            !reply.starts_with(b"-"),
            "{refs:?}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
    let mut big = vec!["HSET".to_string(), format!("bighash{tag}")];
    for i in 0..100 {
        big.push(format!("f{i}"));
        big.push(format!("v{i}"));
    }
    let refs: Vec<&str> = big.iter().map(String::as_str).collect();
    assert!(c.cmd(&refs).starts_with(b":"));
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

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap()
}

/// The files in the AOF directory, sorted.
fn aof_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const AOF: [&str; 6] = [
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--aof-use-rdb-preamble",
    "no",
];

#[test]
fn a_restart_restores_every_type_ttls_and_databases_and_redis_check_aof_agrees() {
    let dir = TempDir::new("aof-restart");
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    let mut c = server.conn();
    populate(&mut c, "a");
    // Half in the base file, half in the incremental file.
    assert_eq!(
        c.cmd(&["BGREWRITEAOF"]),
        b"+Background append only file rewriting started\r\n"
    );
    wait_rewrite_done(&mut c);
    populate(&mut c, "b");
    let before = dataset(&mut c);
    assert!(before.len() > 10);
    drop(c);
    drop(server); // kill -9: with always, everything acknowledged is on disk
    assert_eq!(
        manifest(dir.path()),
        "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    assert_eq!(
        aof_files(dir.path()),
        [
            "appendonly.aof.2.base.aof",
            "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    let mut c = server.conn();
    assert_eq!(dataset(&mut c), before);
    let log = server.log_text();
    assert!(log.contains("DB loaded from base file appendonly.aof.2.base.aof"));
    assert!(log.contains("DB loaded from incr file appendonly.aof.2.incr.aof"));
    assert!(log.contains("Opening AOF incr file appendonly.aof.2.incr.aof on server start"));
    drop(server);

    if Command::new("redis-check-aof")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "redis-check-aof missing under CI"
        );
        eprintln!("\n*** SKIPPED redis-check-aof: not found on PATH ***\n");
        return;
    }
    let out = Command::new("redis-check-aof")
        .arg(dir.path().join("appendonlydir/appendonly.aof.manifest"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("All AOF files and manifest are valid"),
        "{text}"
    );
}

#[test]
fn redis_server_loads_our_aof_directory() {
    if !reference_available("redis_server_loads_our_aof_directory") {
        return;
    }
    let dir = TempDir::new("aof-to-redis");
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    let mut c = server.conn();
    populate(&mut c, "a");
    assert!(c.cmd(&["BGREWRITEAOF"]).starts_with(b"+Background"));
    wait_rewrite_done(&mut c);
    populate(&mut c, "b");
    let ours = dataset(&mut c);
    c.send(&["SHUTDOWN", "NOSAVE"]);
    let mut server = server;
    let _ = server.child.wait();
    let redis = Reference::start_in(dir.path(), &["--appendonly", "yes"]);
    assert_eq!(dataset(&mut redis.conn()), ours);
}

#[test]
fn we_load_an_aof_directory_written_by_redis_server() {
    if !reference_available("we_load_an_aof_directory_written_by_redis_server") {
        return;
    }
    let dir = TempDir::new("aof-from-redis");
    let redis = Reference::start_in(dir.path(), &AOF);
    let mut c = redis.conn();
    populate(&mut c, "a");
    assert!(c.cmd(&["BGREWRITEAOF"]).starts_with(b"+Background"));
    wait_rewrite_done(&mut c);
    populate(&mut c, "b");
    let theirs = dataset(&mut c);
    drop(c);
    redis.shutdown();
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    assert_eq!(dataset(&mut server.conn()), theirs);
}

#[test]
fn info_persistence_lists_the_aof_fields_in_redis_order() {
    let fields = |info: &str| -> Vec<String> {
        info.lines()
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
            .filter(|k| k.starts_with("aof_") || k.starts_with("module_fork"))
            .collect()
    };
    let dir = TempDir::new("aof-info");
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    let ours = fields(&server.conn().cmd_str(&["INFO", "persistence"]));
    assert_eq!(ours.len(), 18, "{ours:?}");
    assert_eq!(ours[0], "aof_enabled");
    assert_eq!(ours[17], "aof_delayed_fsync");
    if !reference_available("info_persistence_lists_the_aof_fields_in_redis_order") {
        return;
    }
    let rdir = TempDir::new("aof-info-ref");
    let redis = Reference::start_in(rdir.path(), &AOF);
    let theirs = fields(&redis.conn().cmd_str(&["INFO", "persistence"]));
    assert_eq!(ours, theirs);
    // With the AOF off the six size fields are absent, in both.
    let off = Server::start(&[]);
    let ours_off = fields(&off.conn().cmd_str(&["INFO", "persistence"]));
    assert_eq!(ours_off.len(), 12);
    assert_eq!(ours_off[..], theirs[..12]);
}

/// Starts redlite in `dir`, expecting it to refuse; returns its log.
fn start_fails(dir: &Path, args: &[&str]) -> String {
    let log = dir.join("refused.log");
    let _ = std::fs::remove_file(&log);
    let logfile = log.to_string_lossy().into_owned();
    let mut all = args.to_vec();
    all.extend(["--logfile", &logfile]);
    let result = Server::start_in(dir, &all);
    assert!(result.is_err(), "the server started");
    std::fs::read_to_string(&log).unwrap_or_default()
}

/// Writes some keys with the AOF on, then kills the server; returns the incr file path.
fn aof_with_keys(dir: &Path, n: usize) -> std::path::PathBuf {
    let server = Server::start_in(dir, &AOF).unwrap();
    let mut c = server.conn();
    for i in 0..n {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), b"+OK\r\n");
    }
    drop(server);
    dir.join("appendonlydir/appendonly.aof.1.incr.aof")
}

#[test]
fn a_truncated_last_command_is_cut_off_only_when_aof_load_truncated_is_yes() {
    let dir = TempDir::new("aof-trunc");
    let incr = aof_with_keys(dir.path(), 10);
    let good = std::fs::metadata(&incr).unwrap().len();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&incr)
        .unwrap()
        .write_all(b"*3\r\n$3\r\nSET\r\n$2\r\nk1")
        .unwrap();
    // no: refuses to start, and leaves the file alone.
    let log = start_fails(
        dir.path(),
        &[&AOF[..], &["--aof-load-truncated", "no"]].concat(),
    );
    assert!(
        log.contains("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."),
        "{log}"
    );
    assert!(std::fs::metadata(&incr).unwrap().len() > good);
    // yes: truncates at the last whole command and starts with the keys.
    let server = Server::start_in(
        dir.path(),
        &[&AOF[..], &["--aof-load-truncated", "yes"]].concat(),
    )
    .unwrap();
    assert_eq!(server.conn().cmd(&["DBSIZE"]), b":10\r\n");
    let log = server.log_text();
    assert!(log.contains(
        "!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!"
    ));
    assert!(log.contains(&format!(
        "!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {good} !!!"
    )));
    assert!(log.contains(
        "AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled"
    ));
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), good);
}

#[test]
fn garbage_in_the_middle_missing_files_and_bad_manifests_are_fatal() {
    let dir = TempDir::new("aof-garbage");
    let incr = aof_with_keys(dir.path(), 5);
    let original = std::fs::read(&incr).unwrap();
    let mut bad = original.clone();
    let mid = bad.len() / 2;
    let at = mid + bad[mid..].windows(3).position(|w| w == b"*3\r").unwrap();
    bad.splice(at..at, b"garbage\r\n".iter().copied());
    std::fs::write(&incr, &bad).unwrap();
    let log = start_fails(dir.path(), &AOF);
    assert!(
        log.contains("Bad file format reading the append only file appendonly.aof.1.incr.aof: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"),
        "{log}"
    );
    assert_eq!(std::fs::read(&incr).unwrap(), bad, "the file is left alone");

    // A file the manifest lists is missing.
    std::fs::remove_file(&incr).unwrap();
    let log = start_fails(dir.path(), &AOF);
    assert!(
        log.contains("Unable to obtain the AOF file appendonly.aof.1.incr.aof length. stat: No such file or directory"),
        "{log}"
    );

    // A damaged manifest.
    std::fs::write(&incr, &original).unwrap();
    let path = dir.path().join("appendonlydir/appendonly.aof.manifest");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("type i", "type x")).unwrap();
    let log = start_fails(dir.path(), &AOF);
    assert!(
        log.contains("*** FATAL AOF MANIFEST FILE ERROR ***"),
        "{log}"
    );
    assert!(log.contains("Unknown AOF file type"), "{log}");
    std::fs::write(&path, "").unwrap();
    let log = start_fails(dir.path(), &AOF);
    assert!(log.contains("Found an empty AOF manifest"), "{log}");

    // Repaired, it loads.
    std::fs::write(&path, text).unwrap();
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    assert_eq!(server.conn().cmd(&["DBSIZE"]), b":5\r\n");
}

#[test]
fn bgrewriteaof_while_clients_write_loses_nothing_and_removes_the_old_files() {
    let dir = TempDir::new("aof-rewrite");
    let args = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--aof-use-rdb-preamble",
        "no",
    ];
    let server = Server::start_in(dir.path(), &args).unwrap();
    let mut c = server.conn();
    // Enough keys that the walk takes a while.
    for b in 0..50 {
        let mut cmd = vec!["MSET".to_string()];
        for i in 0..1000 {
            cmd.push(format!("pre{}", b * 1000 + i));
            cmd.push("x".repeat(20));
        }
        let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
        c.send(&refs);
    }
    for _ in 0..50 {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let port = server.port;
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    assert!(c.cmd(&["INCR", &format!("counter{w}")]).starts_with(b":"));
                    assert!(c
                        .cmd(&["RPUSH", &format!("list{w}"), &n.to_string()])
                        .starts_with(b":"));
                    c.cmd(&["DEL", &format!("pre{}", w * 10_000 + n as usize)]);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut rewrites = 0;
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let reply = c.cmd(&["BGREWRITEAOF"]);
        if reply == b"+Background append only file rewriting started\r\n" {
            rewrites += 1;
        } else {
            assert_eq!(
                reply,
                b"-ERR Background append only file rewriting already in progress\r\n"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let counts: Vec<u64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    wait_rewrite_done(&mut c);
    assert!(rewrites >= 2, "{rewrites} rewrites");
    assert_eq!(info_field(&mut c, "aof_rewrites"), rewrites.to_string());
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    let before = dataset(&mut c);
    for (w, n) in counts.iter().enumerate() {
        let key = (0, format!("counter{w}").into_bytes());
        assert_eq!(before[&key].1, vec![n.to_string().into_bytes()]);
    }
    c.send(&["SHUTDOWN", "NOSAVE"]);
    let mut server = server;
    let _ = server.child.wait();
    let seq = rewrites + 1;
    assert_eq!(
        manifest(dir.path()),
        format!("file appendonly.aof.{seq}.base.aof seq {seq} type b\nfile appendonly.aof.{seq}.incr.aof seq {seq} type i\n")
    );
    assert_eq!(
        aof_files(dir.path()).len(),
        3,
        "{:?}",
        aof_files(dir.path())
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.starts_with("temp-").then_some(name)
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let server = Server::start_in(dir.path(), &args).unwrap();
    assert_eq!(dataset(&mut server.conn()), before);
}

#[test]
fn with_always_every_acknowledged_write_survives_kill_9() {
    acknowledged_writes_survive_kill_9(&AOF);
}

/// Many clients at once under `always` share fsyncs (the group commit's rounds): each
/// one's acknowledged writes are on disk when the server is killed, and every client
/// made progress (no follower was left asleep without a leader).
#[test]
fn with_always_many_clients_share_fsyncs_and_keep_every_acknowledged_write() {
    const CLIENTS: usize = 12;
    let dir = TempDir::new("aof-group");
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    let port = server.port;
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Vec<Arc<AtomicU64>> = (0..CLIENTS).map(|_| Arc::default()).collect();
    let writers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (stop, acked) = (Arc::clone(&stop), Arc::clone(&acked[i]));
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let key = format!("w:{i}");
                while !stop.load(Ordering::Relaxed) {
                    c.send(&["INCR", &key]);
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.read_reply()))
                    {
                        Ok(r) => {
                            let n = String::from_utf8_lossy(&r[1..r.len() - 2]).parse().unwrap();
                            acked.store(n, Ordering::SeqCst);
                        }
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    // Every client gets some writes acknowledged before the kill.
    let progressed = common::eventually(Duration::from_secs(60), || {
        acked.iter().all(|a| a.load(Ordering::SeqCst) >= 20)
    });
    let counts: Vec<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    assert!(progressed, "a client stopped making progress: {counts:?}");
    drop(server); // SIGKILL
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.join();
    }
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    let mut c = server.conn();
    for (i, a) in acked.iter().enumerate() {
        let n = a.load(Ordering::SeqCst);
        let got: u64 = String::from_utf8_lossy(&bulk(&c.cmd(&["GET", &format!("w:{i}")])))
            .parse()
            .unwrap();
        assert!(
            (n..=n + 1).contains(&got),
            "client {i}: acked {n}, found {got}"
        );
    }
}

/// Replies that wait for the group commit are sent by another thread (the committer)
/// while the connection reads on: a client that pipelines writes and reads in many small
/// batches, among other writers, still gets every reply, in order, for each policy.
#[test]
fn replies_handed_to_the_group_commit_keep_their_order() {
    for policy in ["always", "everysec", "no"] {
        let dir = TempDir::new("aof-order");
        let mut args = AOF;
        args[3] = policy;
        let server = Server::start_in(dir.path(), &args).unwrap();
        let port = server.port;
        let stop = Arc::new(AtomicBool::new(false));
        let others: Vec<_> = (0..6)
            .map(|i| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut c = Conn::connect(port);
                    while !stop.load(Ordering::Relaxed) {
                        assert!(c.cmd(&["INCR", &format!("other:{i}")]).starts_with(b":"));
                    }
                })
            })
            .collect();
        let mut c = server.conn();
        let mut expected = Vec::new();
        for batch in 0..300u64 {
            // A batch that writes, then one that only reads, then one that writes again,
            // each sent without waiting for the replies of the ones before.
            let n = batch * 3;
            c.send(&["INCR", "seq"]);
            expected.push(format!(":{}\r\n", batch * 2 + 1).into_bytes());
            c.send(&["GET", "seq"]);
            expected.push(
                format!(
                    "${}\r\n{}\r\n",
                    (batch * 2 + 1).to_string().len(),
                    batch * 2 + 1
                )
                .into_bytes(),
            );
            c.send(&["SET", &format!("k:{n}"), &n.to_string()]);
            expected.push(b"+OK\r\n".to_vec());
            c.send(&["INCR", "seq"]);
            expected.push(format!(":{}\r\n", batch * 2 + 2).into_bytes());
            c.send(&["ECHO", &n.to_string()]);
            expected.push(format!("${}\r\n{n}\r\n", n.to_string().len()).into_bytes());
            if batch % 50 == 49 {
                for want in expected.drain(..) {
                    assert_eq!(c.read_reply(), want, "{policy}");
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        for o in others {
            o.join().unwrap();
        }
        assert_eq!(c.cmd(&["GET", "seq"]), b"$3\r\n600\r\n", "{policy}");
    }
}

/// The committer sends replies for many clients, so it must never wait on one: a client
/// that pipelines big replies and does not read them holds up no one else's writes
/// under `always`; once it reads, it gets all of them, whole and in order.
#[test]
fn with_always_a_client_that_does_not_read_holds_up_no_one() {
    let dir = TempDir::new("aof-slow-reader");
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    let mut c = server.conn();
    let big = "x".repeat(1 << 20);
    assert_eq!(c.cmd(&["SET", "big", &big]), b"+OK\r\n");
    let mut slow = server.conn();
    // 64 MB of replies, far more than the socket buffers hold; each batch also writes,
    // so each waits for the group commit.
    for i in 0..64 {
        slow.send(&["INCR", "slow"]);
        slow.send(&["GET", "big"]);
        if i % 8 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // Meanwhile everyone else is served (each reply within the connection's read
    // timeout, or read_reply fails).
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let port = server.port;
            std::thread::spawn(move || {
                let mut w = Conn::connect(port);
                for n in 1..=200 {
                    assert_eq!(
                        w.cmd(&["INCR", &format!("fast:{i}")]),
                        format!(":{n}\r\n").into_bytes()
                    );
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let bulk_reply = format!("${}\r\n{big}\r\n", big.len()).into_bytes();
    for n in 1..=64 {
        assert_eq!(slow.read_reply(), format!(":{n}\r\n").into_bytes());
        assert!(
            slow.read_reply() == bulk_reply,
            "reply {n} of GET big differs"
        );
    }
    assert_eq!(c.cmd(&["GET", "fast:3"]), b"$3\r\n200\r\n");
}

/// With everysec the buffer reaches the file before the reply, except while the previous
/// background fsync is still running: then, as in Redis, the write is postponed (up to
/// two seconds) and the replies go out meanwhile, so a kill may lose what was
/// acknowledged in the last two seconds, never more, and the file still loads with every
/// transaction whole.
#[test]
fn with_everysec_a_kill_9_loses_at_most_the_last_seconds() {
    let mut args = AOF;
    args[3] = "everysec";
    acknowledged_writes_survive_kill_9(&args);
}

/// Rounds of: a client writing numbered transactions, the server killed (SIGKILL) at some
/// moment, and a restart that must hold every write acknowledged before.
fn acknowledged_writes_survive_kill_9(args: &[&str]) {
    // Each round lasts well under two seconds: with everysec all its writes may go.
    let everysec = args.contains(&"everysec");
    let dir = TempDir::new("aof-crash");
    let acked = Arc::new(AtomicU64::new(0));
    for round in 0..3u64 {
        let round_start = acked.load(Ordering::SeqCst);
        let server = Server::start_in(dir.path(), args).unwrap();
        let port = server.port;
        let stop = Arc::new(AtomicBool::new(false));
        // Every acknowledged write so far is there.
        {
            let mut c = server.conn();
            let n = acked.load(Ordering::SeqCst);
            assert_eq!(
                String::from_utf8_lossy(&c.cmd(&["GET", "seq"])),
                if n == 0 {
                    "$-1\r\n".to_string()
                } else {
                    format!("${}\r\n{n}\r\n", n.to_string().len())
                }
            );
            let len = String::from_utf8_lossy(&c.cmd(&["LLEN", "log"])).into_owned();
            assert_eq!(len, format!(":{n}\r\n"));
        }
        let writer = {
            let (stop, acked) = (Arc::clone(&stop), Arc::clone(&acked));
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                while !stop.load(Ordering::Relaxed) {
                    let next = acked.load(Ordering::SeqCst) + 1;
                    c.send(&["MULTI"]);
                    c.send(&["SET", "seq", &next.to_string()]);
                    c.send(&["RPUSH", "log", &next.to_string()]);
                    c.send(&["EXEC"]);
                    let mut replies = Vec::new();
                    for _ in 0..4 {
                        // The server may die under us: stop at the first failed read.
                        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            c.read_reply()
                        })) {
                            Ok(r) => replies.push(r),
                            Err(_) => return,
                        }
                    }
                    if replies[3].starts_with(b"*2") {
                        acked.store(next, Ordering::SeqCst);
                    }
                }
            })
        };
        // Helpers writing elsewhere, and a rewrite in one round.
        let mut other = server.conn();
        let wait = 150 + (round * 137) % 300;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(wait) {
            other.cmd(&["INCR", "other"]);
        }
        if round == 1 {
            other.cmd(&["BGREWRITEAOF"]);
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(server); // SIGKILL, at some moment of the write loop
        stop.store(true, Ordering::Relaxed);
        let _ = writer.join();
        // The last write may or may not have made it: it was not acknowledged.
        let server = Server::start_in(dir.path(), args).unwrap();
        let mut c = server.conn();
        let got: u64 = String::from_utf8_lossy(&bulk(&c.cmd(&["GET", "seq"])))
            .parse()
            .unwrap_or(0);
        let n = acked.load(Ordering::SeqCst);
        let least = if everysec { round_start } else { n };
        assert!(
            (least..=n + 1).contains(&got),
            "round {round}: acked {n}, found {got}"
        );
        // A transaction is all or nothing.
        let len = String::from_utf8_lossy(&c.cmd(&["LLEN", "log"])).into_owned();
        assert_eq!(len, format!(":{got}\r\n"));
        acked.store(got, Ordering::SeqCst);
        drop(server);
    }
}

#[test]
fn config_set_appendonly_at_runtime_writes_a_base_first() {
    let dir = TempDir::new("aof-runtime");
    let server = Server::start_in(dir.path(), &["--aof-use-rdb-preamble", "no"]).unwrap();
    let mut c = server.conn();
    populate(&mut c, "a");
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendonly", "yes"]), b"+OK\r\n");
    wait_rewrite_done(&mut c);
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    populate(&mut c, "b");
    assert_eq!(
        manifest(dir.path()),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    let before = dataset(&mut c);
    c.send(&["SHUTDOWN", "NOSAVE"]);
    let mut server = server;
    let _ = server.child.wait();
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    let mut c = server.conn();
    assert_eq!(dataset(&mut c), before);
    // And off again: the file stops growing.
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendonly", "no"]), b"+OK\r\n");
    let size = std::fs::metadata(dir.path().join("appendonlydir/appendonly.aof.1.incr.aof"))
        .unwrap()
        .len();
    c.cmd(&["SET", "after", "off"]);
    assert_eq!(
        std::fs::metadata(dir.path().join("appendonlydir/appendonly.aof.1.incr.aof"))
            .unwrap()
            .len(),
        size
    );
}

/// Nothing expires while the AOF loads, as in Redis: a key whose time passed while the
/// server was down is not removed halfway through the file (where the next command
/// would recreate it without its TTL); it expires after loading, when met.
#[test]
fn keys_do_not_expire_while_the_aof_loads() {
    let dir = TempDir::new("aof-no-expire-on-load");
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    let mut c = server.conn();
    for cmd in [
        &["SET", "k", "5", "PX", "400"][..],
        &["INCR", "k"],
        &["SADD", "s", "a"],
        &["PEXPIRE", "s", "400"],
        &["SADD", "s", "b"],
    ] {
        c.cmd(cmd);
    }
    c.send(&["SHUTDOWN", "NOSAVE"]);
    let mut server = server;
    let _ = server.child.wait();
    std::thread::sleep(Duration::from_millis(600));
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    let mut c = server.conn();
    assert_eq!(c.cmd(&["GET", "k"]), b"$-1\r\n");
    assert_eq!(c.cmd(&["EXISTS", "s"]), b":0\r\n");
}

/// A transaction that lets the lock go (INFO inside EXEC) while another client writes
/// still reaches the AOF in the order things ran: the value after a restart is the
/// value before it.
#[test]
fn a_transaction_that_releases_the_lock_keeps_the_aof_in_execution_order() {
    let dir = TempDir::new("aof-exec-order");
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    let port = server.port;
    let other = std::thread::spawn(move || {
        let mut c = Conn::connect(port);
        for _ in 0..600 {
            c.cmd(&["APPEND", "s", "B"]);
        }
    });
    let mut c = server.conn();
    for _ in 0..300 {
        c.send(&["MULTI"]);
        c.send(&["APPEND", "s", "A"]);
        c.send(&["INFO", "server"]);
        c.send(&["APPEND", "s", "a"]);
        c.send(&["EXEC"]);
        for _ in 0..5 {
            c.read_reply();
        }
    }
    other.join().unwrap();
    let before = c.cmd(&["GET", "s"]);
    assert_eq!(before.len(), "$1200\r\n".len() + 1200 + 2);
    c.send(&["SHUTDOWN", "NOSAVE"]);
    let mut server = server;
    let _ = server.child.wait();
    let server = Server::start_in(dir.path(), &AOF).unwrap();
    assert_eq!(server.conn().cmd(&["GET", "s"]), before);
}

#[test]
fn the_aof_replays_what_the_users_rules_would_refuse_now() {
    // Written by an unrestricted default user; replayed after the ACL file restricted
    // it: the loading client is no user (as in Redis), so SORT ... BY and STORE replay.
    let dir = TempDir::new("aof-acl");
    let acl = dir.path().join("users.acl");
    std::fs::write(&acl, "user default on nopass ~* &* +@all\n").unwrap();
    let acl = acl.to_str().unwrap().to_string();
    let mut args = AOF.to_vec();
    args.extend(["--aclfile", acl.as_str()]);
    let server = Server::start_in(dir.path(), &args).unwrap();
    let mut c = server.conn();
    c.cmd(&["RPUSH", "l", "2", "1", "3"]);
    c.cmd(&["MSET", "w_1", "3", "w_2", "2", "w_3", "1"]);
    assert_eq!(
        c.cmd(&["SORT", "l", "BY", "w_*", "STORE", "sorted"]),
        b":3\r\n"
    );
    drop(c);
    drop(server);
    std::fs::write(
        dir.path().join("users.acl"),
        "user default on nopass ~l &* -@all +@read +ping\n",
    )
    .unwrap();
    let server = Server::start_in(dir.path(), &args).unwrap();
    let mut c = server.conn();
    // The user may now read `l` only; the replayed SORT wrote `sorted` all the same.
    assert_eq!(
        c.cmd(&["SORT_RO", "l", "BY", "w_*"]),
        b"-ERR BY option of SORT denied due to insufficient ACL permissions.\r\n".to_vec()
    );
    assert_eq!(
        c.cmd(&["LRANGE", "sorted", "0", "-1"]),
        b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
            .to_vec()
    );
    assert_eq!(c.cmd(&["LLEN", "l"]), b":3\r\n");
    assert_eq!(
        c.cmd(&["DBSIZE"]),
        b":5\r\n",
        "l, sorted and the three weights were all replayed"
    );
}
