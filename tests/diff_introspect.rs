//! Differential tests for what operators read about calls: INFO commandstats,
//! errorstats and latencystats, SLOWLOG, LATENCY and MONITOR, against a reference
//! redis-server 7.0.
//!
//! Times, durations and client ports differ between two servers by nature; they are
//! masked, and everything else (counts, argument lists, trimming, redaction, order,
//! error texts) is compared byte for byte.

mod common;

use common::diff::{run_on, Cmd, Pair};
use common::{Conn, Server};
use pretty_assertions::assert_eq;

/// Runs the same commands on both servers, ignoring the replies.
fn both(ours: &mut Conn, theirs: &mut Conn, cmds: &[&[&str]]) {
    for cmd in cmds {
        ours.cmd(cmd);
        theirs.cmd(cmd);
    }
}

/// INFO's lines with every `usec=`/`usec_per_call=` figure and every percentile value
/// masked, sorted (Redis lists commands in its hash table's order).
fn masked_info(c: &mut Conn, section: &str) -> Vec<String> {
    let text = c.cmd_str(&["INFO", section]);
    let mut lines: Vec<String> = text
        .lines()
        .skip(1)
        .map(|line| {
            line.split(',')
                .map(|part| match part.split_once('=') {
                    Some((k, _)) if k.ends_with("usec") || k == "usec_per_call" => {
                        format!("{k}=*")
                    }
                    Some((k, _)) if k.contains(":p") || k.starts_with('p') => format!("{k}=*"),
                    _ => part.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn commandstats_and_errorstats_count_as_redis() {
    if !common::reference_available("commandstats_and_errorstats_count_as_redis") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    both(
        &mut ours,
        &mut theirs,
        &[
            &["CONFIG", "RESETSTAT"],
            &["SET", "s", "1"],
            &["GET"],
            &["INCR", "nosuch"],
            &["LPUSH", "s", "x"],
            &["HGET", "s", "f"],
            &["NOSUCHCOMMAND", "a"],
            &["CONFIG", "NOPE"],
            &["CONFIG", "GET"],
            &["AUTH", "a", "b"],
            &["MULTI"],
            &["INCR", "s"],
            &["LPUSH", "s", "y"],
            &["GET", "a", "b"],
            &["EXEC"],
            &["MULTI"],
            &["INCR", "s"],
            &["LPUSH", "s", "y"],
            &["EXEC"],
            &["EVAL", "return redis.call('incr', KEYS[1])", "1", "s"],
            &["EVAL", "return redis.error_reply('MY failure')", "0"],
            &[
                "EVAL",
                "return redis.pcall('lpush', KEYS[1], 'x')",
                "1",
                "s",
            ],
            &["XADD", "s", "*", "a", "b"],
        ],
    );
    for section in ["commandstats", "errorstats"] {
        assert_eq!(
            masked_info(&mut ours, section),
            masked_info(&mut theirs, section),
            "INFO {section}"
        );
    }
    let total = |c: &mut Conn| common::info_field_in(c, "stats", "total_error_replies");
    assert_eq!(total(&mut ours), total(&mut theirs));
    // CONFIG RESETSTAT clears both (and counts itself).
    both(&mut ours, &mut theirs, &[&["CONFIG", "RESETSTAT"]]);
    for section in ["commandstats", "errorstats"] {
        assert_eq!(
            masked_info(&mut ours, section),
            masked_info(&mut theirs, section)
        );
    }
}

#[test]
fn info_sections_are_chosen_and_ordered_as_redis() {
    if !common::reference_available("info_sections_are_chosen_and_ordered_as_redis") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let headers = |c: &mut Conn, args: &[&str]| -> Vec<String> {
        let mut cmd = vec!["INFO"];
        cmd.extend_from_slice(args);
        c.cmd_str(&cmd)
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    for args in [
        &[][..],
        &["all"],
        &["everything"],
        &["default"],
        &["keyspace", "commandstats", "server"],
        &["latencystats"],
        &["errorstats", "nosuchsection"],
    ] {
        assert_eq!(
            headers(&mut ours, args),
            headers(&mut theirs, args),
            "INFO {args:?}"
        );
    }
    both(
        &mut ours,
        &mut theirs,
        &[&["CONFIG", "RESETSTAT"], &["SET", "a", "b"], &["GET", "a"]],
    );
    // The percentile lines name the same commands with the same percentiles.
    let names = |c: &mut Conn| -> Vec<String> {
        let mut names: Vec<String> = c
            .cmd_str(&["INFO", "latencystats"])
            .lines()
            .filter(|l| l.starts_with("latency_percentiles_usec_"))
            .map(|l| {
                let (name, values) = l.split_once(':').unwrap();
                let keys: Vec<&str> = values
                    .split(',')
                    .map(|v| v.split('=').next().unwrap())
                    .collect();
                format!("{name} {}", keys.join(","))
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&mut ours), names(&mut theirs));
    both(
        &mut ours,
        &mut theirs,
        &[&[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "1 99.99 100",
        ]],
    );
    assert_eq!(names(&mut ours), names(&mut theirs));
}

/// SLOWLOG GET's reply with each entry's time and duration replaced by 0 and the
/// client's port masked.
fn slowlog(c: &mut Conn, count: &str) -> String {
    let reply = c.cmd_str(&["SLOWLOG", "GET", count]);
    let mut out = Vec::new();
    let lines: Vec<&str> = reply.split("\r\n").collect();
    // Entries are `*6 :id :time :duration *n args... $peer $name`: mask the 2nd and 3rd
    // integers after each `*6`, and ports.
    let mut since_entry = usize::MAX;
    for line in lines {
        if line == "*6" {
            since_entry = 0;
        } else {
            since_entry = since_entry.saturating_add(1);
        }
        if (since_entry == 2 || since_entry == 3) && line.starts_with(':') {
            out.push(":*".to_string());
        } else if let Some(at) = line.find("127.0.0.1:") {
            out.push(format!("{}127.0.0.1:*", &line[..at]));
        } else if line.starts_with('$') {
            out.push("$".to_string());
        } else {
            out.push(line.to_string());
        }
    }
    out.join("\n")
}

#[test]
fn slowlog_records_trims_and_redacts_as_redis() {
    if !common::reference_available("slowlog_records_trims_and_redacts_as_redis") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let long = "x".repeat(300);
    let mut many = vec!["RPUSH", "list"];
    many.extend(std::iter::repeat_n("v", 40));
    both(
        &mut ours,
        &mut theirs,
        &[
            &["CONFIG", "SET", "slowlog-log-slower-than", "0"],
            &["SLOWLOG", "RESET"],
            &["CLIENT", "SETNAME", "tester"],
            &["SET", "k", &long],
            &many,
            &["AUTH", "secret"],
            &["AUTH", "user", "secret"],
            &["HELLO", "2", "AUTH", "user", "secret"],
            &["CONFIG", "SET", "requirepass", ""],
            &["CONFIG", "SET", "masterauth", "pw"],
            &["MULTI"],
            &["INCR", "n"],
            &["GET", "n"],
            &["EXEC"],
            &["EVAL", "return redis.call('get', KEYS[1])", "1", "n"],
        ],
    );
    assert_eq!(slowlog(&mut ours, "-1"), slowlog(&mut theirs, "-1"));
    assert_eq!(slowlog(&mut ours, "2"), slowlog(&mut theirs, "2"));
    let script: &[Cmd] = &[
        &["SLOWLOG", "LEN"],
        &["SLOWLOG", "GET", "-2"],
        &["SLOWLOG", "GET", "x"],
        &["SLOWLOG", "GET", "1", "2"],
        &["SLOWLOG", "LEN", "x"],
        &["SLOWLOG", "HELP"],
        &["SLOWLOG", "NOPE"],
        &["SLOWLOG"],
        &["CONFIG", "SET", "slowlog-max-len", "3"],
        &["SLOWLOG", "LEN"],
        &["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
        &["SET", "a", "b"],
        &["SLOWLOG", "RESET"],
        &["SLOWLOG", "LEN"],
        &["SLOWLOG", "GET"],
    ];
    run_on(script, &mut ours, &mut theirs);
}

/// A MONITOR line with its timestamp and port masked.
fn masked_monitor(line: &str) -> String {
    let rest = line.split_once(' ').map_or(line, |(_, r)| r);
    let rest = match (rest.find("127.0.0.1:"), rest.find(']')) {
        (Some(a), Some(b)) if a < b => format!("{}127.0.0.1:*{}", &rest[..a], &rest[b..]),
        _ => rest.to_string(),
    };
    format!("+T {rest}")
}

/// Reads MONITOR lines from `c` until `end` (a masked line) arrives.
fn monitor_lines(c: &mut Conn, end: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let reply = c.read_reply();
        let line = masked_monitor(String::from_utf8_lossy(&reply).trim_end());
        let done = line == end;
        lines.push(line);
        if done || lines.len() > 100 {
            return lines;
        }
    }
}

#[test]
fn monitor_shows_what_redis_shows() {
    if !common::reference_available("monitor_shows_what_redis_shows") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let (mut mon_ours, mut mon_theirs) = (pair.ours.conn(), pair.theirs.conn());
    assert_eq!(mon_ours.cmd(&["MONITOR"]), mon_theirs.cmd(&["MONITOR"]));
    both(
        &mut ours,
        &mut theirs,
        &[
            &["SET", "a b", "x\"y\n\u{1}"],
            &["GET", "a b"],
            &["GET"],
            &["AUTH", "pw"],
            &["CONFIG", "GET", "port"],
            &["SELECT", "3"],
            &["EVAL", "redis.call('set', KEYS[1], 'v') return 1", "1", "k"],
            &["MULTI"],
            &["INCR", "c"],
            &["EXEC"],
            &["MULTI"],
            &["NOSUCH"],
            &["EXEC"],
            &["ECHO", "end"],
        ],
    );
    let end = "+T [3 127.0.0.1:*] \"ECHO\" \"end\"";
    assert_eq!(
        monitor_lines(&mut mon_ours, end),
        monitor_lines(&mut mon_theirs, end)
    );
    // The monitor is flagged in CLIENT LIST and leaves MONITOR mode with RESET.
    let flags = |c: &mut Conn| {
        let list = c.cmd_str(&["CLIENT", "LIST"]);
        let mut f: Vec<String> = list
            .split_whitespace()
            .filter(|w| w.starts_with("flags="))
            .map(str::to_string)
            .collect();
        f.sort();
        f
    };
    assert_eq!(flags(&mut ours), flags(&mut theirs));
    assert_eq!(mon_ours.cmd(&["RESET"]), mon_theirs.cmd(&["RESET"]));
    assert_eq!(flags(&mut ours), flags(&mut theirs));
    // Inside a transaction MONITOR is refused.
    run_on(
        &[&["MULTI"], &["MONITOR"], &["EXEC"]],
        &mut ours,
        &mut theirs,
    );
}

/// A reply with every integer replaced by `:*` (latency samples are times and ms).
fn without_ints(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply)
        .split("\r\n")
        .map(|w| if w.starts_with(':') { ":*" } else { w })
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[test]
fn latency_monitor_answers_as_redis() {
    if !common::reference_available("latency_monitor_answers_as_redis") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    // Forget how each harness probed its server.
    both(&mut ours, &mut theirs, &[&["CONFIG", "RESETSTAT"]]);
    let script: &[Cmd] = &[
        &["LATENCY", "HELP"],
        &["LATENCY", "LATEST"],
        &["LATENCY", "DOCTOR"],
        &["LATENCY", "HISTORY", "command"],
        &["LATENCY", "GRAPH", "command"],
        &["LATENCY", "RESET"],
        &["LATENCY", "RESET", "a", "b"],
        &["LATENCY", "NOPE"],
        &["LATENCY", "HISTORY"],
        &["LATENCY", "LATEST", "x"],
        &["CONFIG", "SET", "latency-monitor-threshold", "1"],
    ];
    run_on(script, &mut ours, &mut theirs);
    // A script that runs for a while is a `command` event on both.
    let slow = &[
        "EVAL",
        "local i = 0 while i < 20000000 do i = i + 1 end return i",
        "0",
    ];
    assert_eq!(ours.cmd(slow), theirs.cmd(slow));
    // DOCTOR now reports spikes on both (its whole text: latency_doctor_gives_redis_advice).
    for c in [&mut ours, &mut theirs] {
        let doctor = c.cmd_str(&["LATENCY", "DOCTOR"]);
        assert!(
            doctor.contains("Dave, I have observed latency spikes in this Redis instance."),
            "{doctor}"
        );
    }
    // LATEST lists the `command` event on both (a loaded machine may add an
    // `expire-cycle` one to either, at a 1 ms threshold).
    for c in [&mut ours, &mut theirs] {
        let latest = without_ints(&c.cmd(&["LATENCY", "LATEST"]));
        assert!(
            latest.contains("*4\r\n$7\r\ncommand\r\n:*\r\n:*\r\n:*\r\n"),
            "{latest}"
        );
    }
    // HISTORY has that sample (a loaded machine may have made other commands slow
    // enough for more, on either side).
    for c in [&mut ours, &mut theirs] {
        let history = without_ints(&c.cmd(&["LATENCY", "HISTORY", "command"]));
        assert!(history.contains("*2\r\n:*\r\n:*\r\n"), "{history}");
    }
    // The graph's frame is the same; its title and bars depend on the sampled ms.
    let graph = |c: &mut Conn| {
        let text = c.cmd_str(&["LATENCY", "GRAPH", "command"]);
        text.lines()
            .skip(2)
            .take(1)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(graph(&mut ours), graph(&mut theirs));
    run_on(
        &[
            &["LATENCY", "RESET", "command", "nope"],
            &["LATENCY", "LATEST"],
        ],
        &mut ours,
        &mut theirs,
    );
    // HISTOGRAM: the same commands with the same call counts.
    both(
        &mut ours,
        &mut theirs,
        &[&["SET", "a", "1"], &["SET", "a", "2"], &["GET", "a"]],
    );
    let calls = |c: &mut Conn, args: &[&str]| {
        let mut cmd = vec!["LATENCY", "HISTOGRAM"];
        cmd.extend_from_slice(args);
        let reply = c.cmd_str(&cmd);
        let lines: Vec<&str> = reply.split("\r\n").collect();
        let mut found = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if *l == "calls" {
                found.push(format!("{} {}", lines[i - 3], lines[i + 1]));
            }
        }
        found.sort();
        found
    };
    assert_eq!(
        calls(&mut ours, &["set", "get", "nosuch", "config|set"]),
        calls(&mut theirs, &["set", "get", "nosuch", "config|set"])
    );
    assert_eq!(calls(&mut ours, &["SET"]), calls(&mut theirs, &["SET"]));
    assert_eq!(calls(&mut ours, &[]), calls(&mut theirs, &[]));
}

#[test]
fn debug_subcommands_answer_as_redis() {
    if !common::reference_available("debug_subcommands_answer_as_redis") {
        return;
    }
    let ours = common::Server::start(&["--enable-debug-command", "local"]);
    let theirs = common::Reference::start();
    let (mut o, mut t) = (ours.conn(), theirs.conn());
    // Large enough for the table encodings (the script needs 'static words).
    let big: &'static [String] = Box::leak((0..300).map(|i| format!("m{i}")).collect());
    let mut big_set = vec!["SADD", "bigset"];
    big_set.extend(big.iter().map(String::as_str));
    let mut big_hash = vec!["HSET", "bighash"];
    for m in big {
        big_hash.push(m);
        big_hash.push(m);
    }
    let mut script: Vec<Cmd> = vec![
        &["DEBUG", "DIGEST"],
        &["SET", "s", "hello"],
        &["SET", "n", "12345"],
        &["RPUSH", "l", "a", "b", "c"],
        &["SADD", "ints", "1", "2", "3"],
        &["SADD", "strs", "x", "y"],
        &["HSET", "h", "f", "v", "g", "w"],
        &["ZADD", "z", "1.5", "a", "2", "b", "-inf", "c"],
        &["XADD", "x", "1-1", "f", "v"],
        &["XADD", "x", "2-5", "f", "v", "g", "w"],
        &["SET", "ttl", "v", "EX", "100"],
        &["SELECT", "2"],
        &["SET", "other", "db"],
        &["SELECT", "0"],
        &["DEBUG", "DIGEST"],
        &[
            "DEBUG",
            "DIGEST-VALUE",
            "s",
            "l",
            "ints",
            "strs",
            "h",
            "z",
            "x",
            "ttl",
            "nosuch",
        ],
        &["DEBUG", "DIGEST-VALUE"],
        &["DEBUG", "PROTOCOL", "string"],
        &["DEBUG", "PROTOCOL", "integer"],
        &["DEBUG", "PROTOCOL", "double"],
        &["DEBUG", "PROTOCOL", "bignum"],
        &["DEBUG", "PROTOCOL", "null"],
        &["DEBUG", "PROTOCOL", "array"],
        &["DEBUG", "PROTOCOL", "set"],
        &["DEBUG", "PROTOCOL", "map"],
        &["DEBUG", "PROTOCOL", "attrib"],
        &["DEBUG", "PROTOCOL", "push"],
        &["DEBUG", "PROTOCOL", "verbatim"],
        &["DEBUG", "PROTOCOL", "true"],
        &["DEBUG", "PROTOCOL", "false"],
        &["DEBUG", "PROTOCOL", "nope"],
        &["DEBUG", "ERROR", "MYERR something failed"],
        &["DEBUG", "LOG", "hello"],
        &["DEBUG", "SLEEP", "0"],
        &["DEBUG", "SLEEP", "0.01"],
        &["DEBUG", "NOSUCH"],
        &["DEBUG", "OBJECT", "nosuch"],
        &["DEBUG", "LISTPACK", "nosuch"],
        &["DEBUG", "LISTPACK", "s"],
        &["DEBUG", "POPULATE", "-1"],
        &["DEBUG", "POPULATE", "x"],
        &["DEBUG", "POPULATE", "10"],
        &["DEBUG", "POPULATE", "5", "p", "20"],
        &["DEBUG", "POPULATE", "12", "p"],
        &["GET", "key:3"],
        &["GET", "p:4"],
        &["DBSIZE"],
        &["DEBUG", "RELOAD", "BAD"],
        &["DEBUG", "RELOAD"],
        &["DEBUG", "DIGEST"],
        &["DEBUG", "RELOAD", "NOSAVE"],
        &["DEBUG", "DIGEST"],
    ];
    let (bs, bh): (Cmd, Cmd) = (
        Box::leak(big_set.into_boxed_slice()),
        Box::leak(big_hash.into_boxed_slice()),
    );
    script.insert(14, bs);
    script.insert(15, bh);
    run_on(&script, &mut o, &mut t);
    // The same in RESP3.
    o.cmd(&["HELLO", "3"]);
    t.cmd(&["HELLO", "3"]);
    let resp3: &[Cmd] = &[
        &["DEBUG", "PROTOCOL", "double"],
        &["DEBUG", "PROTOCOL", "bignum"],
        &["DEBUG", "PROTOCOL", "null"],
        &["DEBUG", "PROTOCOL", "set"],
        &["DEBUG", "PROTOCOL", "map"],
        &["DEBUG", "PROTOCOL", "attrib"],
        &["DEBUG", "PROTOCOL", "push"],
        &["DEBUG", "PROTOCOL", "verbatim"],
        &["DEBUG", "PROTOCOL", "true"],
    ];
    run_on(resp3, &mut o, &mut t);
}

#[test]
fn role_module_and_lolwut_answer_as_redis() {
    if !common::reference_available("role_module_and_lolwut_answer_as_redis") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let script: &[Cmd] = &[
        &["ROLE"],
        &["ROLE", "x"],
        &["LOLWUT"],
        &["LOLWUT", "VERSION", "7"],
        &["LOLWUT", "VERSION", "x"],
        &["LOLWUT", "VERSION", "4"],
        &["LOLWUT", "VERSION", "59"],
        &["LOLWUT", "VERSION", "-1"],
        &["LOLWUT", "VERSION", "7", "x"],
        &["LOLWUT", "VERSION", "5", "x"],
        &["LOLWUT", "VERSION", "5", "10", "x"],
        &["LOLWUT", "VERSION", "6", "x"],
        // Schotter with no row turned at random is the same drawing.
        &["LOLWUT", "VERSION", "5", "10", "2", "2"],
        &["LOLWUT", "VERSION", "5", "66", "8", "2"],
        &["LOLWUT", "VERSION", "5", "33", "5", "1"],
        &["LOLWUT", "VERSION", "5", "1", "1", "1"],
        &["LOLWUT", "VERSION", "5", "2000", "300", "0"],
        &["MODULE", "LIST"],
        &["MODULE", "HELP"],
        &["MODULE", "LOAD", "/nonexistent.so"],
        &["MODULE", "LOADEX", "/nonexistent.so", "ARGS", "a"],
        &["MODULE", "UNLOAD", "m"],
        &["MODULE", "NOPE"],
        &["MODULE"],
    ];
    run_on(script, &mut ours, &mut theirs);
    ours.cmd(&["HELLO", "3"]);
    theirs.cmd(&["HELLO", "3"]);
    run_on(&[&["LOLWUT"], &["ROLE"]], &mut ours, &mut theirs);
    // The random drawings: the same frame (lines, cells per line, the footer).
    let frame = |c: &mut Conn, args: &[&str]| -> (usize, Vec<usize>, String) {
        let text = c.cmd_str(args);
        let lines: Vec<&str> = text.lines().collect();
        let cells = lines
            .iter()
            .map(|l| {
                l.matches("\x1b[0m").count()
                    + l.chars()
                        .filter(|c| ('\u{2800}'..='\u{28ff}').contains(c))
                        .count()
            })
            .collect();
        (lines.len(), cells, lines.last().unwrap_or(&"").to_string())
    };
    for args in [
        &["LOLWUT", "VERSION", "5"][..],
        &["LOLWUT", "VERSION", "5", "40", "6", "9"],
        &["LOLWUT", "VERSION", "6"],
        &["LOLWUT", "VERSION", "6", "30", "7"],
    ] {
        assert_eq!(frame(&mut ours, args), frame(&mut theirs, args), "{args:?}");
    }
}

/// INFO's sections carry Redis's fields, under the same names and in the same order
/// (memory, whose accounting is issue #18's, aside).
#[test]
fn info_fields_are_redis_fields() {
    if !common::reference_available("info_fields_are_redis_fields") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let names = |c: &mut Conn, section: &str| -> Vec<String> {
        c.cmd_str(&["INFO", section])
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
            .filter(|k| k != "redlite_version")
            .collect()
    };
    for section in [
        "server",
        "clients",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "cluster",
    ] {
        assert_eq!(
            names(&mut ours, section),
            names(&mut theirs, section),
            "INFO {section}"
        );
    }
    // Counters that follow what happened: pub/sub and tracking totals.
    let (mut sub_ours, mut sub_theirs) = (pair.ours.conn(), pair.theirs.conn());
    for c in [&mut sub_ours, &mut sub_theirs] {
        c.cmd(&["HELLO", "3"]);
        c.cmd(&["SUBSCRIBE", "a", "b"]);
        c.cmd(&["PSUBSCRIBE", "p*"]);
        c.cmd(&[
            "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x", "PREFIX", "y",
        ]);
    }
    let (mut t_ours, mut t_theirs) = (pair.ours.conn(), pair.theirs.conn());
    for c in [&mut t_ours, &mut t_theirs] {
        c.cmd(&["HELLO", "3"]);
        c.cmd(&["CLIENT", "TRACKING", "ON"]);
        c.cmd(&["GET", "k1"]);
        c.cmd(&["MGET", "k2", "k3"]);
    }
    for field in [
        "pubsub_channels",
        "pubsub_patterns",
        "tracking_total_keys",
        "tracking_total_items",
        "tracking_total_prefixes",
    ] {
        assert_eq!(
            common::info_field_in(&mut ours, "stats", field),
            common::info_field_in(&mut theirs, "stats", field),
            "{field}"
        );
    }
}

#[test]
fn command_getkeys_as_redis() {
    if !common::reference_available("command_getkeys_as_redis") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let script: &[Cmd] = &[
        &["COMMAND", "GETKEYS", "SET", "a", "b"],
        &["COMMAND", "GETKEYS", "SET", "a", "b", "GET"],
        &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"],
        &["COMMAND", "GETKEYS", "MGET", "a", "b", "c"],
        &[
            "COMMAND",
            "GETKEYS",
            "ZUNIONSTORE",
            "d",
            "2",
            "a",
            "b",
            "WEIGHTS",
            "1",
            "2",
        ],
        &["COMMAND", "GETKEYS", "ZUNION", "2", "a", "b"],
        &["COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT"],
        &["COMMAND", "GETKEYS", "EVAL", "return 1", "0"],
        &["COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "c"],
        &[
            "COMMAND", "GETKEYS", "SORT", "a", "BY", "w_*", "GET", "o_*", "STORE", "d",
        ],
        &[
            "COMMAND", "GETKEYS", "XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0",
        ],
        &[
            "COMMAND",
            "GETKEYS",
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "STREAMS",
            "a",
            ">",
        ],
        &["COMMAND", "GETKEYS", "BLPOP", "a", "b", "0"],
        &["COMMAND", "GETKEYS", "RENAME", "a", "b"],
        &[
            "COMMAND",
            "GETKEYS",
            "GEORADIUS",
            "g",
            "0",
            "0",
            "1",
            "km",
            "STORE",
            "d",
        ],
        &[
            "COMMAND", "GETKEYS", "MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b",
        ],
        &["COMMAND", "GETKEYS", "OBJECT", "ENCODING", "a"],
        &["COMMAND", "GETKEYS", "XINFO", "STREAM", "s"],
        &["COMMAND", "GETKEYS", "PFCOUNT", "a", "b"],
        &["COMMAND", "GETKEYS", "GET"],
        &["COMMAND", "GETKEYS", "GET", "a", "b"],
        &["COMMAND", "GETKEYS", "PING"],
        &["COMMAND", "GETKEYS", "CONFIG", "GET", "x"],
        &["COMMAND", "GETKEYS", "NOSUCH", "a"],
        &["COMMAND", "GETKEYS", "CONFIG", "NOSUCH", "a"],
        &["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "5", "a"],
        &["COMMAND", "GETKEYS"],
        &["COMMAND", "GETKEYS", "GET"],
    ];
    run_on(script, &mut ours, &mut theirs);
}

#[test]
fn client_list_and_kill_by_type_as_redis() {
    if !common::reference_available("client_list_and_kill_by_type_as_redis") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let (mut sub_ours, mut sub_theirs) = (pair.ours.conn(), pair.theirs.conn());
    let (mut other_ours, mut other_theirs) = (pair.ours.conn(), pair.theirs.conn());
    for c in [&mut sub_ours, &mut sub_theirs] {
        c.cmd(&["SUBSCRIBE", "ch"]);
    }
    for c in [&mut other_ours, &mut other_theirs] {
        c.cmd(&["PING"]);
    }
    // How many clients each type lists, and their flags.
    let listed = |c: &mut Conn, t: &str| -> Vec<String> {
        let text = c.cmd_str(&["CLIENT", "LIST", "TYPE", t]);
        let mut flags: Vec<String> = text
            .split_whitespace()
            .filter(|w| w.starts_with("flags="))
            .map(str::to_string)
            .collect();
        flags.sort();
        flags
    };
    for t in ["normal", "pubsub", "master", "replica", "slave"] {
        assert_eq!(
            listed(&mut ours, t),
            listed(&mut theirs, t),
            "CLIENT LIST TYPE {t}"
        );
    }
    let script: &[Cmd] = &[
        &["CLIENT", "LIST", "TYPE", "bad"],
        &["CLIENT", "KILL", "TYPE", "bad"],
        &["CLIENT", "KILL", "TYPE", "master"],
        &["CLIENT", "KILL", "TYPE", "replica"],
        &["CLIENT", "KILL", "TYPE", "pubsub"],
        &["CLIENT", "KILL", "TYPE", "pubsub"],
        &["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"],
        &["CLIENT", "KILL", "TYPE"],
    ];
    run_on(script, &mut ours, &mut theirs);
    assert!(sub_ours.is_closed() && sub_theirs.is_closed());
    assert!(other_ours.is_closed() && other_theirs.is_closed());
}

/// The memory figures of a CLIENT LIST or CLIENT INFO line, with `tot-mem` less `rbs`:
/// Redis's cron resizes its reply buffer (`rbs`) to each client's recent peak within a
/// fraction of a second, on a timer, where redlite keeps 16 KiB; every other part of
/// `tot-mem` is compared exactly. `rbp` follows that same cron and is left out.
fn memory_fields(line: &str) -> Vec<String> {
    let field = |name: &str| -> String {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {line}"))
            .to_string()
    };
    let num = |name: &str| -> i64 { field(name).parse().unwrap() };
    let mut out: Vec<String> = [
        "flags",
        "multi",
        "sub",
        "psub",
        "ssub",
        "qbuf",
        "qbuf-free",
        "argv-mem",
        "multi-mem",
        "obl",
        "oll",
        "omem",
    ]
    .iter()
    .map(|n| format!("{n}={}", field(n)))
    .collect();
    out.push(format!("tot-mem-less-rbs={}", num("tot-mem") - num("rbs")));
    out
}

/// The CLIENT LIST line of client `id`, as `observer` sees it once the replies the
/// client has read are off its output account (redlite's writer thread settles it just
/// after the bytes are out).
fn line_of(observer: &mut Conn, id: &str) -> String {
    let mut line = String::new();
    for _ in 0..200 {
        line = observer.cmd_str(&["CLIENT", "LIST", "ID", id]);
        if line.contains(" omem=0 ") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    line
}

#[test]
fn client_memory_figures_as_redis() {
    if !common::reference_available("client_memory_figures_as_redis") {
        return;
    }
    let pair = Pair::start();
    let (mut obs_ours, mut obs_theirs) = (pair.ours.conn(), pair.theirs.conn());
    let mut ours_report = Vec::new();
    let mut theirs_report = Vec::new();
    // A client that has sent nothing yet: the next connection after the observer, so
    // the next id.
    {
        let (_a, _b) = (pair.ours.conn(), pair.theirs.conn());
        for (obs, report) in [
            (&mut obs_ours, &mut ours_report),
            (&mut obs_theirs, &mut theirs_report),
        ] {
            let own = obs.cmd_str(&["CLIENT", "ID"]);
            let next: u64 = own.trim_start_matches(':').trim_end().parse().unwrap();
            let next = (next + 1).to_string();
            // Once the server has registered it.
            let mut line = String::new();
            for _ in 0..200 {
                line = obs.cmd_str(&["CLIENT", "LIST", "ID", &next]);
                if line.contains("id=") {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            report.push(format!("silent: {:?}", memory_fields(&line)));
        }
    }
    // Each step runs on a fresh client of each server, then its line is read at once
    // (Redis gives an idle client's query buffer back after two seconds).
    // Each command with the number of replies it gets (one per channel for the
    // subscription commands), all read before the client's line is.
    type Step = (&'static str, &'static [(usize, &'static [&'static str])]);
    let steps: &[Step] = &[
        ("idle", &[(1, &["PING"])]),
        ("multi, none queued", &[(1, &["MULTI"])]),
        (
            "multi, one queued",
            &[(1, &["MULTI"]), (1, &["SET", "k", "v"])],
        ),
        (
            "multi, three queued",
            &[
                (1, &["MULTI"]),
                (1, &["SET", "k", "v"]),
                (1, &["GET", "k"]),
                (1, &["LPUSH", "l", "a", "b"]),
            ],
        ),
        ("watching two keys", &[(1, &["WATCH", "x", "y"])]),
        (
            "multi after watch",
            &[
                (1, &["WATCH", "x"]),
                (1, &["MULTI"]),
                (1, &["INCR", "x"]),
                (1, &["INCR", "x"]),
                (1, &["INCR", "x"]),
            ],
        ),
        (
            "discarded",
            &[(1, &["MULTI"]), (1, &["SET", "k", "v"]), (1, &["DISCARD"])],
        ),
        ("two channels", &[(2, &["SUBSCRIBE", "c1", "c2"])]),
        (
            "channels and a pattern",
            &[(2, &["SUBSCRIBE", "c1", "c2"]), (1, &["PSUBSCRIBE", "p*"])],
        ),
        ("shard channel", &[(1, &["SSUBSCRIBE", "s1"])]),
        (
            "four then none",
            &[
                (4, &["SUBSCRIBE", "a", "b", "c", "d"]),
                (4, &["UNSUBSCRIBE"]),
            ],
        ),
        (
            "pattern gone",
            &[
                (2, &["PSUBSCRIBE", "p*", "q*"]),
                (1, &["PUNSUBSCRIBE", "p*"]),
            ],
        ),
    ];
    for (what, cmds) in steps {
        for (server, obs, report) in [
            (0, &mut obs_ours, &mut ours_report),
            (1, &mut obs_theirs, &mut theirs_report),
        ] {
            let mut c = if server == 0 {
                pair.ours.conn()
            } else {
                pair.theirs.conn()
            };
            let id = c.cmd_str(&["CLIENT", "ID"]);
            let id = id.trim_start_matches(':').trim_end().to_string();
            for (replies, cmd) in cmds.iter() {
                c.send(cmd);
                for _ in 0..*replies {
                    c.read_reply();
                }
            }
            report.push(format!("{what}: {:?}", memory_fields(&line_of(obs, &id))));
        }
    }
    // The client's own view while its command runs: the batch in the query buffer, its
    // arguments alive; pipelined, the whole batch.
    for (mut c, report) in [
        (pair.ours.conn(), &mut ours_report),
        (pair.theirs.conn(), &mut theirs_report),
    ] {
        let own = c.cmd_str(&["CLIENT", "INFO"]);
        report.push(format!("own: {:?}", memory_fields(&own)));
        let mut batch = Vec::new();
        for cmd in [&["PING"][..], &["PING"], &["CLIENT", "INFO"], &["PING"]] {
            let words: Vec<&[u8]> = cmd.iter().map(|w| w.as_bytes()).collect();
            batch.extend(common::encode(&words));
        }
        c.send_raw(&batch);
        c.read_reply();
        c.read_reply();
        let own = String::from_utf8(c.read_reply()).unwrap();
        c.read_reply();
        report.push(format!("own, pipelined: {:?}", memory_fields(&own)));
    }
    // A client blocked in BLPOP keeps its arguments.
    for (server, obs, report) in [
        (0, &mut obs_ours, &mut ours_report),
        (1, &mut obs_theirs, &mut theirs_report),
    ] {
        let mut c = if server == 0 {
            pair.ours.conn()
        } else {
            pair.theirs.conn()
        };
        let id = c.cmd_str(&["CLIENT", "ID"]);
        let id = id.trim_start_matches(':').trim_end().to_string();
        c.send(&["BLPOP", "nothing", "0"]);
        // Wait until the server lists it blocked.
        let mut line = String::new();
        for _ in 0..200 {
            line = line_of(obs, &id);
            if line.contains("flags=b") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        report.push(format!("blocked: {:?}", memory_fields(&line)));
        obs.cmd(&["CLIENT", "UNBLOCK", &id]);
    }
    assert_eq!(ours_report, theirs_report);
}

/// LATENCY DOCTOR with each run of digits masked (`#`), or `None` when the machine was slow
/// enough for more than the one event the test made.
fn doctor_masked(c: &mut Conn) -> Option<String> {
    let doctor = c.cmd_str(&["LATENCY", "DOCTOR"]);
    let events = doctor
        .lines()
        .filter(|l| l.starts_with(|ch: char| ch.is_ascii_digit()) && l.contains(": "))
        .count();
    let mut masked = String::new();
    for ch in doctor.chars() {
        match ch.is_ascii_digit() {
            true if masked.ends_with('#') => {}
            true => masked.push('#'),
            false => masked.push(ch),
        }
    }
    (events == 1).then_some(masked)
}

#[test]
fn latency_doctor_gives_redis_advice() {
    if !common::reference_available("latency_doctor_gives_redis_advice") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let slow = &[
        "EVAL",
        "local i = 0 while i < 20000000 do i = i + 1 end return i",
        "0",
    ];
    // A `command` spike, with the slow log off, then with it logging only slower ones.
    for slowlog in ["-1", "100000"] {
        both(
            &mut ours,
            &mut theirs,
            &[
                &["CONFIG", "SET", "latency-monitor-threshold", "1"],
                &["CONFIG", "SET", "slowlog-log-slower-than", slowlog],
                &["LATENCY", "RESET"],
            ],
        );
        assert_eq!(ours.cmd(slow), theirs.cmd(slow));
        if let (Some(a), Some(b)) = (doctor_masked(&mut ours), doctor_masked(&mut theirs)) {
            assert!(a.contains("I have a few advices for you"), "{a}");
            assert_eq!(a, b);
        }
    }
}

/// Redis's replybufsize.tcl on one server: an idle client's reply buffer shrinks to the
/// least size, one reading a 32 KiB value grows it to 16 KiB while the peak is kept, and
/// it shrinks again once the peak resets. Returns the error replies of bad DEBUG
/// REPLYBUFFER calls.
fn reply_buffer_resizes(port: u16) -> Vec<Vec<u8>> {
    let mut r = Conn::connect(port);
    let rbs = |r: &mut Conn, id: &str| -> u64 {
        let line = r.cmd_str(&["CLIENT", "LIST", "ID", id]);
        line.split(' ')
            .find_map(|f| f.strip_prefix("rbs="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let wait = |r: &mut Conn, id: &str, tc: Option<&mut Conn>, ok: &dyn Fn(u64) -> bool| {
        let mut tc = tc;
        for _ in 0..100 {
            if let Some(tc) = tc.as_deref_mut() {
                assert_eq!(tc.cmd(&["GET", "bigval"]).len(), 32768 + 10);
            }
            if ok(rbs(r, id)) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    };
    assert_eq!(
        r.cmd(&["DEBUG", "REPLYBUFFER", "peak-reset-time", "100"]),
        b"+OK\r\n"
    );
    let mut tc = Conn::connect(port);
    assert_eq!(tc.cmd(&["PING"]), b"+PONG\r\n");
    let id = tc.cmd_str(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim().to_string();
    assert!(wait(&mut r, &id, None, &|n| (1024..2046).contains(&n)));
    assert_eq!(r.cmd(&["SET", "bigval", &"x".repeat(32768)]), b"+OK\r\n");
    assert_eq!(
        r.cmd(&["DEBUG", "REPLYBUFFER", "peak-reset-time", "never"]),
        b"+OK\r\n"
    );
    assert!(wait(&mut r, &id, Some(&mut tc), &|n| (16384..32768).contains(&n)));
    assert_eq!(
        r.cmd(&["DEBUG", "REPLYBUFFER", "peak-reset-time", "reset"]),
        b"+OK\r\n"
    );
    assert!(wait(&mut r, &id, None, &|n| (1024..2046).contains(&n)));
    let info = r.cmd_str(&["INFO", "stats"]);
    for counter in ["reply_buffer_shrinks", "reply_buffer_expands"] {
        let n: u64 = info
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{counter}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        assert!(n > 0, "{counter}: {info}");
    }
    vec![
        r.cmd(&["DEBUG", "REPLYBUFFER", "sizes", "1"]),
        r.cmd(&["DEBUG", "REPLYBUFFER", "peak-reset-time", "soon"]),
        r.cmd(&["DEBUG", "REPLYBUFFER", "resizing", "0"]),
    ]
}

#[test]
fn reply_buffers_resize_as_redis_resizes_them() {
    let ours = Server::start(&["--enable-debug-command", "yes"]);
    let errors = reply_buffer_resizes(ours.port);
    if !common::reference_available("reply_buffers_resize_as_redis_resizes_them") {
        return;
    }
    let theirs = common::Reference::start();
    assert_eq!(reply_buffer_resizes(theirs.port), errors);
}
