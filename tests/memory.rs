//! Memory limits: MEMORY, OBJECT IDLETIME and FREQ, `-OOM` refusals (in transactions
//! and scripts too), eviction under each kind of policy, and the memory account against
//! the process's resident memory. Replies and errors are compared with a reference
//! redis-server 7.0 where both servers must agree byte for byte.

mod common;

use common::diff::{run_script, Cmd};
use common::{encode, info_field_in, Conn, Server};
use pretty_assertions::assert_eq;
use std::time::Duration;

#[test]
fn memory_and_object_replies_and_errors_match_redis() {
    if !common::reference_available("memory_and_object_replies_and_errors_match_redis") {
        return;
    }
    let script: &[Cmd] = &[
        &["MEMORY", "HELP"],
        &["MEMORY"],
        &["MEMORY", "NOPE"],
        &["MEMORY", "STATS", "extra"],
        &["MEMORY", "USAGE"],
        &["MEMORY", "USAGE", "missing"],
        &["SET", "k", "v"],
        &["MEMORY", "USAGE", "k", "SAMPLES"],
        &["MEMORY", "USAGE", "k", "SAMPLES", "-1"],
        &["MEMORY", "USAGE", "k", "SAMPLES", "x"],
        &["MEMORY", "USAGE", "k", "FOO", "1"],
        &["MEMORY", "PURGE"],
        &["MEMORY", "DOCTOR"],
        &["MEMORY", "PURGE", "x"],
        // The clock the policy keeps decides which OBJECT answer errs.
        &["OBJECT", "FREQ", "k"],
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
        &["OBJECT", "IDLETIME", "k"],
        &["SET", "fresh", "v"],
        &["OBJECT", "FREQ", "fresh"],
        // The first hit always counts (probability 1 at the initial counter); TYPE,
        // EXISTS, TTL and OBJECT do not count as hits.
        &["TYPE", "fresh"],
        &["EXISTS", "fresh"],
        &["TTL", "fresh"],
        &["OBJECT", "FREQ", "fresh"],
        &["GET", "fresh"],
        &["OBJECT", "FREQ", "fresh"],
        &["OBJECT", "FREQ", "missing"],
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
        &["OBJECT", "IDLETIME", "fresh"],
        &["OBJECT", "FREQ", "fresh"],
        &["OBJECT", "REFCOUNT", "k"],
        &["SET", "n", "100"],
        &["OBJECT", "REFCOUNT", "n"],
        &["CONFIG", "SET", "maxmemory", "1gb"],
        &["SET", "n2", "100"],
        &["OBJECT", "REFCOUNT", "n2"],
        &["CONFIG", "GET", "maxmemory"],
        &["CONFIG", "GET", "maxmemory-policy"],
    ];
    run_script(script);
}

#[test]
fn memory_usage_grows_with_the_value_and_samples_change_the_estimate() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let usage = |c: &mut Conn, args: &[&str]| -> i64 {
        let mut cmd = vec!["MEMORY", "USAGE"];
        cmd.extend_from_slice(args);
        common::diff::int_reply(&c.cmd(&cmd)).expect("an integer")
    };
    c.cmd(&["SET", "small", "x"]);
    c.cmd(&["SET", "big", &"x".repeat(10_000)]);
    let (small, big) = (usage(&mut c, &["small"]), usage(&mut c, &["big"]));
    assert!(small > 0 && big > small + 9_000, "{small} {big}");
    // A list of one short element and 999 long ones: the default 5 samples spread over
    // the list see mostly long ones, every sample sees all.
    let mut req = Vec::new();
    req.extend(encode(&[b"RPUSH", b"l", b"s"]));
    for _ in 0..999 {
        req.extend(encode(&[b"RPUSH", b"l", &[b'y'; 500]]));
    }
    c.send_raw(&req);
    for _ in 0..1000 {
        c.read_reply();
    }
    let all = usage(&mut c, &["l", "SAMPLES", "0"]);
    assert!(all > 999 * 500, "{all}");
    let account: i64 = info_field_in(&mut c, "everything", "used_memory")
        .parse()
        .unwrap();
    assert!(
        account > all,
        "the account holds the list: {account} > {all}"
    );
}

#[test]
fn oom_refusals_match_redis_in_commands_transactions_and_scripts() {
    if !common::reference_available("oom_refusals_match_redis_in_commands_transactions_and_scripts")
    {
        return;
    }
    let script: &[Cmd] = &[
        &["SET", "keep", "1"],
        &["CONFIG", "SET", "maxmemory", "1"],
        &["SET", "k", "v"],
        &["GET", "keep"],
        &["INCR", "keep"],
        &["DEL", "nothing"],
        &["EXPIRE", "keep", "1000"],
        &["PERSIST", "keep"],
        // Inside MULTI, anything but EXEC, DISCARD, QUIT and RESET is refused, which
        // dooms the transaction.
        &["MULTI"],
        &["GET", "keep"],
        &["EXEC"],
        &["MULTI"],
        &["DISCARD"],
        // A script without a shebang runs; its first denyoom write fails.
        &["EVAL", "return redis.call('get', 'keep')", "0"],
        &["EVAL", "return redis.call('set', 'a', 'b')", "0"],
        &["EVAL", "return redis.pcall('set', 'a', 'b')", "0"],
        &[
            "EVAL",
            "redis.call('del', 'nothing'); return redis.call('set', 'a', 'b')",
            "0",
        ],
        // With a shebang the flags decide up front.
        &["EVAL", "#!lua\nreturn 1", "0"],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('get', 'keep')",
            "0",
        ],
        &[
            "EVAL",
            "#!lua flags=allow-oom\nreturn redis.call('set', 'a', 'b')",
            "0",
        ],
        &["GET", "a"],
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
        &["SET", "k", "v"],
        &["DBSIZE"],
        &["CONFIG", "SET", "maxmemory", "0"],
        &["SET", "k", "v"],
        &["INFO", "keyspace"],
    ];
    run_script(script);
}

/// INFO's `used_memory`, as an integer.
fn used_memory(c: &mut Conn) -> u64 {
    info_field_in(c, "everything", "used_memory")
        .parse()
        .unwrap()
}

/// Sends `n` commands built by `cmd` in one pipeline and reads every reply.
fn pipeline(c: &mut Conn, n: usize, cmd: impl Fn(usize) -> Vec<Vec<u8>>) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut req = Vec::new();
        for &i in chunk {
            let words = cmd(i);
            let words: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
            req.extend(encode(&words));
        }
        c.send_raw(&req);
        for _ in chunk {
            c.read_reply();
        }
    }
}

fn words(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

#[test]
fn volatile_policies_evict_only_keys_with_an_expiry_then_refuse() {
    // No time budget: the whole eviction happens within CONFIG SET.
    let server = Server::start(&[
        "--maxmemory-policy",
        "volatile-lru",
        "--maxmemory-eviction-tenacity",
        "100",
    ]);
    let mut c = server.conn();
    pipeline(&mut c, 2000, |i| {
        let key = format!("key:{i}");
        if i % 2 == 0 {
            words(&["SET", &key, &"v".repeat(200), "EX", "10000"])
        } else {
            words(&["SET", &key, &"v".repeat(200)])
        }
    });
    let used = used_memory(&mut c);
    // Over the limit by more than every volatile key holds.
    c.cmd(&["CONFIG", "SET", "maxmemory", &(used - 600_000).to_string()]);
    assert_eq!(info_field_in(&mut c, "everything", "evicted_keys"), "1000");
    assert_eq!(c.cmd_str(&["DBSIZE"]), ":1000\r\n");
    let ks = info_field_in(&mut c, "keyspace", "db0");
    assert!(ks.starts_with("keys=1000,expires=0,"), "{ks}");
    assert_eq!(
        c.cmd(&["SET", "more", "x"]),
        b"-OOM command not allowed when used memory > 'maxmemory'.\r\n".to_vec()
    );
    assert_eq!(
        c.cmd(&["GET", "key:1"]),
        format!("$200\r\n{}\r\n", "v".repeat(200)).into_bytes()
    );
}

#[test]
fn allkeys_lru_evicts_the_keys_not_read_lately_and_announces_them() {
    let server = Server::start(&[
        "--maxmemory-policy",
        "allkeys-lru",
        "--maxmemory-samples",
        "10",
        "--maxmemory-eviction-tenacity",
        "100",
        "--notify-keyspace-events",
        "Ee",
    ]);
    let mut c = server.conn();
    let mut sub = server.conn();
    sub.cmd(&["SUBSCRIBE", "__keyevent@0__:evicted"]);
    pipeline(&mut c, 2000, |i| {
        words(&["SET", &format!("old:{i}"), &"v".repeat(200)])
    });
    std::thread::sleep(Duration::from_millis(2200));
    pipeline(&mut c, 1000, |i| words(&["GET", &format!("old:{i}")]));
    let used = used_memory(&mut c);
    // About a quarter of the keys must go.
    c.cmd(&["CONFIG", "SET", "maxmemory", &(used - 150_000).to_string()]);
    let evicted: usize = info_field_in(&mut c, "everything", "evicted_keys")
        .parse()
        .unwrap();
    assert!((300..1000).contains(&evicted), "{evicted}");
    let read_lately_gone = (0..1000)
        .filter(|i| c.cmd(&["EXISTS", &format!("old:{i}")]) == b":0\r\n")
        .count();
    assert!(
        read_lately_gone * 20 <= evicted,
        "{read_lately_gone} of the {evicted} evicted keys had just been read"
    );
    let first = sub.read_reply();
    assert!(
        String::from_utf8_lossy(&first).contains("__keyevent@0__:evicted"),
        "{}",
        String::from_utf8_lossy(&first)
    );
}

#[test]
fn idle_time_counts_from_the_last_read_or_write() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    c.cmd(&["SET", "k", "v"]);
    c.cmd(&["SET", "t", "v"]);
    std::thread::sleep(Duration::from_millis(2200));
    // TYPE, TTL, EXISTS and OBJECT do not count as access.
    for cmd in [
        &["TYPE", "k"][..],
        &["TTL", "k"],
        &["EXISTS", "k"],
        &["OBJECT", "ENCODING", "k"],
    ] {
        c.cmd(cmd);
    }
    let idle = common::diff::int_reply(&c.cmd(&["OBJECT", "IDLETIME", "k"])).unwrap();
    assert!(idle >= 2, "{idle}");
    c.cmd(&["GET", "k"]);
    c.cmd(&["TOUCH", "t"]);
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "k"]), b":0\r\n");
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "t"]), b":0\r\n");
    // RESTORE's IDLETIME sets it.
    let dump = c.cmd(&["DUMP", "k"]);
    let body = dump.iter().position(|&b| b == b'\n').unwrap() + 1;
    let payload = &dump[body..dump.len() - 2];
    assert_eq!(
        c.cmd_bytes(&[b"RESTORE", b"r", b"0", payload, b"IDLETIME", b"1000"]),
        b"+OK\r\n"
    );
    let idle = common::diff::int_reply(&c.cmd(&["OBJECT", "IDLETIME", "r"])).unwrap();
    assert!((1000..1010).contains(&idle), "{idle}");
}

/// The resident memory the server reports, in bytes.
fn rss(c: &mut Conn) -> i64 {
    info_field_in(c, "everything", "used_memory_rss")
        .parse()
        .unwrap()
}

#[test]
fn the_account_grows_with_resident_memory_for_every_type() {
    type Build = fn(usize) -> Vec<Vec<u8>>;
    let kinds: [(&str, Build); 7] = [
        ("strings", |i| {
            words(&["SET", &format!("key:{i:08}"), &"v".repeat(100)])
        }),
        // Short enough to sit inline in the table node, with no buffer of their own.
        ("short strings", |i| {
            words(&["SET", &format!("key:{i:08}"), "value-value"])
        }),
        ("small hashes", |i| {
            words(&[
                "HSET",
                &format!("h:{}", i / 5),
                &format!("f{}", i % 5),
                "value-value",
            ])
        }),
        ("one big hash", |i| {
            words(&["HSET", "h", &format!("field:{i}"), "value-value"])
        }),
        ("lists", |i| {
            words(&["RPUSH", &format!("l:{}", i / 5), &format!("element:{i}")])
        }),
        ("sets", |i| {
            words(&["SADD", &format!("s:{}", i / 5), &format!("member:{i}")])
        }),
        ("sorted sets", |i| {
            words(&[
                "ZADD",
                &format!("z:{}", i / 5),
                &i.to_string(),
                &format!("m:{i}"),
            ])
        }),
    ];
    for (name, build) in kinds {
        // A table that doubled near the end of the run is still rehashing: its new
        // bucket array is counted whole but only partly resident (its pages are touched
        // as the rehash moves keys in), which for short strings is over 10% of what
        // they cost. The cron finishes the rehash, a millisecond a tick; at 500 ticks a
        // second it is done well within the pause below, whatever the machine's speed.
        let server = Server::start(&["--hz", "500"]);
        let mut c = server.conn();
        // Let the server's threads and buffers settle before the baseline.
        pipeline(&mut c, 1000, |i| words(&["SET", &format!("warm:{i}"), "x"]));
        let (used0, rss0) = (used_memory(&mut c) as i64, rss(&mut c));
        pipeline(&mut c, 300_000, build);
        std::thread::sleep(Duration::from_millis(500));
        c.cmd(&["SET", "warm:0", "x"]);
        let (used1, rss1) = (used_memory(&mut c) as i64, rss(&mut c));
        let (grew, resident) = (used1 - used0, rss1 - rss0);
        let ratio = grew as f64 / resident as f64;
        assert!(
            (0.9..=1.1).contains(&ratio),
            "{name}: used_memory grew {grew} bytes, RSS {resident} ({ratio:.3})"
        );
    }
}

#[test]
fn an_rdb_saved_under_lru_or_lfu_keeps_idle_times_and_counters_for_redis_and_for_us() {
    if !common::reference_available(
        "an_rdb_saved_under_lru_or_lfu_keeps_idle_times_and_counters_for_redis_and_for_us",
    ) {
        return;
    }
    for (policy, option, value, query) in [
        ("allkeys-lru", "IDLETIME", "1000", "IDLETIME"),
        ("allkeys-lfu", "FREQ", "77", "FREQ"),
    ] {
        let dir = common::TempDir::new("lru-rdb");
        let flags = ["--dump-format", "rdb", "--maxmemory-policy", policy];
        let answer = |c: &mut Conn| {
            common::diff::int_reply(&c.cmd(&["OBJECT", query, "r"])).expect("an integer")
        };
        {
            let ours = Server::start_in(dir.path(), &flags).expect("redlite starts");
            let mut c = ours.conn();
            c.cmd(&["SET", "k", "v"]);
            let dump = c.cmd(&["DUMP", "k"]);
            let body = dump.iter().position(|&b| b == b'\n').unwrap() + 1;
            let payload = &dump[body..dump.len() - 2];
            c.cmd_bytes(&[
                b"RESTORE",
                b"r",
                b"0",
                payload,
                option.as_bytes(),
                value.as_bytes(),
            ]);
            assert_eq!(c.cmd(&["SAVE"]), b"+OK\r\n");
        }
        let want: i64 = value.parse().unwrap();
        // Redis reads the file's opcodes back...
        let theirs = common::Reference::start_in(dir.path(), &["--maxmemory-policy", policy]);
        let got = answer(&mut theirs.conn());
        assert!(
            (want..want + 5).contains(&got),
            "{policy}: redis read {got}"
        );
        drop(theirs);
        // ...and so do we.
        let ours = Server::start_in(dir.path(), &flags).expect("redlite restarts");
        let got = answer(&mut ours.conn());
        assert!(
            (want..want + 5).contains(&got),
            "{policy}: redlite read {got}"
        );
    }
}

#[test]
fn info_memory_and_memory_stats_name_every_field_of_redis_in_order() {
    if !common::reference_available(
        "info_memory_and_memory_stats_name_every_field_of_redis_in_order",
    ) {
        return;
    }
    let pair = common::diff::Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let names = |c: &mut Conn| -> Vec<String> {
        String::from_utf8_lossy(&c.cmd(&["INFO", "memory"]))
            .lines()
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
            .collect()
    };
    assert_eq!(names(&mut ours), names(&mut theirs));
    // MEMORY STATS: the same keys, in the same order (with a key in db 0 on both).
    let keys = |c: &mut Conn| -> Vec<String> {
        c.cmd(&["SET", "k", "v"]);
        let reply = c.cmd(&["MEMORY", "STATS"]);
        let text = String::from_utf8_lossy(&reply);
        let lines: Vec<&str> = text.split("\r\n").collect();
        lines
            .windows(2)
            // Bulk strings with letters are names (the doubles are bulk strings too).
            .filter(|w| w[0].starts_with('$') && w[1].bytes().any(|b| b.is_ascii_alphabetic()))
            .map(|w| w[1].to_string())
            .collect()
    };
    assert_eq!(keys(&mut ours), keys(&mut theirs));
    let stats = String::from_utf8_lossy(&ours.cmd(&["INFO", "stats"])).into_owned();
    assert!(stats.contains("evicted_keys:0\r\n"), "{stats}");
}

#[test]
fn evictions_reach_the_aof_as_del_and_a_restart_agrees() {
    let dir = common::TempDir::new("evict-aof");
    let flags = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--maxmemory-policy",
        "allkeys-random",
        "--maxmemory-eviction-tenacity",
        "100",
    ];
    let keys_left = {
        let server = Server::start_in(dir.path(), &flags).expect("redlite starts");
        let mut c = server.conn();
        pipeline(&mut c, 2000, |i| {
            words(&["SET", &format!("k:{i}"), &"v".repeat(200)])
        });
        let used = used_memory(&mut c);
        c.cmd(&["CONFIG", "SET", "maxmemory", &(used - 200_000).to_string()]);
        // No limit from here on: the cron cannot evict more (the clients' share of the
        // account moves with each reply) while the counts are compared.
        c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
        let evicted: usize = info_field_in(&mut c, "stats", "evicted_keys")
            .parse()
            .unwrap();
        assert!(evicted > 100, "{evicted}");
        let dels = || {
            let aof = std::fs::read(dir.path().join("appendonlydir/appendonly.aof.1.incr.aof"))
                .expect("the incr file");
            String::from_utf8_lossy(&aof)
                .matches("$3\r\nDEL\r\n")
                .count()
        };
        // The cron's evictions reach the file from the AOF thread, a moment later.
        common::eventually(std::time::Duration::from_secs(10), || dels() == evicted);
        assert_eq!(dels(), evicted, "one DEL per evicted key");
        c.cmd(&["DBSIZE"])
    };
    // Replayed without a limit, the file leaves the keys that were left.
    let server = Server::start_in(dir.path(), &flags[..4]).expect("redlite restarts");
    assert_eq!(server.conn().cmd(&["DBSIZE"]), keys_left);
}
