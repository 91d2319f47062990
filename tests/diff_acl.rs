//! Differential tests for ACL (issue #23) against a reference redis-server 7.0.15: every
//! ACL subcommand with its replies and errors, every rule form, ACL GETUSER and LIST
//! output, ACL CAT for every category (which proves the category data, as do COMMAND
//! INFO and COMMAND LIST FILTERBY ACLCAT for every command), NOPERM checks across the
//! command families, keys and channels, the ACL log, AUTH and HELLO with users, user
//! deletion disconnecting clients, scripts and MULTI/EXEC, and the ACL file.
//!
//! What legitimately differs is normalised, never skipped:
//! - the single-command rules of a description (`+get +set`) come in Redis's command
//!   dictionary order, which its random hash seed changes from run to run; they are
//!   compared as a set, while the flags, passwords, patterns, `+@all`/`-@all` and the
//!   categories (which Redis picks deterministically) are compared in order;
//! - ACL CAT of a category and COMMAND LIST list commands in that same dictionary order:
//!   compared as sets;
//! - ACL LOG's `age-seconds` and the connection facts in `client-info` (id, ports, fd,
//!   ages, buffer sizes) are masked; every other field is compared.

mod common;

use common::diff::{render, render_cmd, Cmd};
use common::{array_elements, reference_available, Conn, Reference, Server, TempDir};
use pretty_assertions::assert_eq;

/// A fresh redlite and reference, each with the extra flags given.
fn start(test: &str, extra: &[&str]) -> Option<(Server, Reference)> {
    if !reference_available(test) {
        return None;
    }
    Some((Server::start(extra), Reference::start_with(extra)))
}

/// The single-command rules of every ACL rule string in a rendered reply, sorted: see
/// the module doc. Bulk lengths are unchanged (the same words, reordered).
fn normalize(reply: &[u8]) -> String {
    let text = render(reply);
    let lines: Vec<String> = text.split("\\r\\n").map(normalize_line).collect();
    // A masked client-info line's length differs too.
    (0..lines.len())
        .map(|i| {
            let next_is_info = lines.get(i + 1).is_some_and(|l| l.starts_with("id="));
            if next_is_info && lines[i].starts_with('$') {
                "$*".to_string()
            } else {
                lines[i].clone()
            }
        })
        .collect::<Vec<_>>()
        .join("\\r\\n")
}

fn normalize_line(line: &str) -> String {
    if !line.contains("@all") {
        return mask_client_info(line);
    }
    // Each selector `( ... )` is its own rule string.
    let mut out = String::new();
    let mut segment = String::new();
    for ch in line.chars() {
        if ch == '(' || ch == ')' {
            out.push_str(&sort_single_commands(&segment));
            out.push(ch);
            segment.clear();
        } else {
            segment.push(ch);
        }
    }
    out.push_str(&sort_single_commands(&segment));
    out
}

/// In `... -@all +@cat -@cat +cmd -cmd|sub ...`, sorts the trailing single-command rules.
fn sort_single_commands(segment: &str) -> String {
    let words: Vec<&str> = segment.split(' ').collect();
    let Some(all) = words.iter().position(|w| *w == "+@all" || *w == "-@all") else {
        return segment.to_string();
    };
    let mut end = all + 1;
    while end < words.len() && (words[end].starts_with("+@") || words[end].starts_with("-@")) {
        end += 1;
    }
    let mut tail: Vec<&str> = words[end..]
        .iter()
        .copied()
        .filter(|w| !w.is_empty())
        .collect();
    let trailing_empty = words.len() > end && words.last() == Some(&"");
    tail.sort_unstable();
    let mut parts: Vec<&str> = words[..end].to_vec();
    parts.extend(tail);
    if trailing_empty {
        parts.push("");
    }
    parts.join(" ")
}

/// Masks the connection facts of a CLIENT LIST line that two servers cannot share.
fn mask_client_info(line: &str) -> String {
    if !line.starts_with("id=") {
        return line.to_string();
    }
    const MASKED: &[&str] = &[
        "id",
        "addr",
        "laddr",
        "fd",
        "age",
        "idle",
        "qbuf",
        "qbuf-free",
        "argv-mem",
        "rbs",
        "rbp",
        "obl",
        "oll",
        "omem",
        "tot-mem",
        "multi-mem",
    ];
    line.split(' ')
        .map(|field| match field.split_once('=') {
            Some((k, _)) if MASKED.contains(&k) => format!("{k}=*"),
            _ => field.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Masks ACL LOG's `age-seconds` values (the bulk or double after the field name).
fn mask_ages(rendered: &str) -> String {
    let mut out = Vec::new();
    let mut mask_next = 0;
    for part in rendered.split("\\r\\n") {
        if mask_next > 0 {
            mask_next -= 1;
            if mask_next == 0 || part.starts_with(',') {
                out.push("<age>".to_string());
                mask_next = 0;
                continue;
            }
            // A RESP2 bulk: its length line, then the value.
            out.push("<len>".to_string());
            continue;
        }
        if part == "age-seconds" {
            mask_next = 2;
        }
        out.push(part.to_string());
    }
    out.join("\\r\\n")
}

/// Runs each command on both connections and compares the normalised replies.
fn run(script: &[Cmd], ours: &mut Conn, theirs: &mut Conn) {
    let (mut a_report, mut b_report) = (String::new(), String::new());
    let mut failed = Vec::new();
    for (i, cmd) in script.iter().enumerate() {
        let a = mask_ages(&normalize(&ours.cmd(cmd)));
        let b = mask_ages(&normalize(&theirs.cmd(cmd)));
        if a != b {
            let line = format!("#{i} {}", render_cmd(cmd));
            a_report.push_str(&format!("{line}\n  => {a}\n"));
            b_report.push_str(&format!("{line}\n  => {b}\n"));
            failed.push(line);
        }
    }
    assert_eq!(
        a_report,
        b_report,
        "{} of {} replies differ (left: redlite, right: redis): {}",
        failed.len(),
        script.len(),
        failed.join(", ")
    );
}

/// The payloads of an array of bulk strings, sorted.
fn sorted_bulks(reply: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = array_elements(reply)
        .iter()
        .map(|e| {
            let s = String::from_utf8_lossy(e).into_owned();
            s.split_once("\r\n")
                .map(|(_, rest)| rest.trim_end_matches("\r\n").to_string())
                .unwrap_or(s)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn acl_subcommands_rules_and_errors() {
    let Some((ours_srv, theirs_srv)) = start("acl_subcommands_rules_and_errors", &[]) else {
        return;
    };
    let (mut ours, mut theirs) = (ours_srv.conn(), theirs_srv.conn());
    const SCRIPT: &[Cmd] = &[
        &["ACL", "USERS"],
        &["ACL", "WHOAMI"],
        &["ACL", "LIST"],
        &["ACL", "GETUSER", "default"],
        &["ACL", "GETUSER", "nobody"],
        // Every rule form.
        &["ACL", "SETUSER", "a"],
        &["ACL", "GETUSER", "a"],
        &[
            "ACL",
            "SETUSER",
            "a",
            "on",
            ">pw1",
            ">pw2",
            "<pw1",
            "nopass",
            "resetpass",
            ">pw3",
        ],
        &[
            "ACL",
            "SETUSER",
            "a",
            "#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        ],
        &[
            "ACL",
            "SETUSER",
            "a",
            "!5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        ],
        &[
            "ACL", "SETUSER", "a", "~k*", "%R~r*", "%W~w*", "%RW~rw*", "%R~k*", "&news.*", "&x",
        ],
        &[
            "ACL",
            "SETUSER",
            "a",
            "+@string",
            "-set",
            "+@hash",
            "-@write",
            "+config|get",
            "+select|0",
        ],
        &["ACL", "GETUSER", "a"],
        &["ACL", "LIST"],
        &[
            "ACL",
            "SETUSER",
            "a",
            "(~s* +get)",
            "(",
            "%R~t*",
            "+@read",
            ")",
        ],
        &["ACL", "GETUSER", "a"],
        &[
            "ACL",
            "SETUSER",
            "a",
            "clearselectors",
            "resetkeys",
            "allkeys",
            "resetchannels",
            "allchannels",
        ],
        &["ACL", "GETUSER", "a"],
        &[
            "ACL",
            "SETUSER",
            "a",
            "allcommands",
            "-@dangerous",
            "-debug",
            "nocommands",
            "+@all",
            "-client|kill",
        ],
        &["ACL", "GETUSER", "a"],
        &["ACL", "SETUSER", "a", "skip-sanitize-payload", "off"],
        &["ACL", "GETUSER", "a"],
        &["ACL", "SETUSER", "a", "sanitize-payload", "reset"],
        &["ACL", "LIST"],
        &[
            "ACL",
            "SETUSER",
            "b",
            "on",
            "nopass",
            "-@all",
            "+@read",
            "+@write",
            "-@keyspace",
            "+del",
        ],
        &[
            "ACL",
            "SETUSER",
            "c",
            "on",
            "+@all",
            "-@admin",
            "-@dangerous",
            "-@slow",
            "+info",
        ],
        &[
            "ACL",
            "SETUSER",
            "d",
            "-@all",
            "+acl",
            "-acl|setuser",
            "+client|list",
            "+client|info",
        ],
        &[
            "ACL",
            "SETUSER",
            "e",
            "+@pubsub",
            "+@scripting",
            "+@transaction",
            "+@connection",
        ],
        &[
            "ACL",
            "SETUSER",
            "f",
            "+@geo",
            "+@hyperloglog",
            "+@stream",
            "+@list",
            "+@set",
            "+@sortedset",
            "+@bitmap",
            "+@blocking",
            "+@fast",
        ],
        &["ACL", "LIST"],
        &["ACL", "USERS"],
        // Rule errors, each with its message.
        &["ACL", "SETUSER", "x", "+nosuchcommand"],
        &["ACL", "SETUSER", "x", "-nosuchcommand"],
        &["ACL", "SETUSER", "x", "+@nosuchcategory"],
        &["ACL", "SETUSER", "x", "bogus"],
        &["ACL", "SETUSER", "x", "~a b"],
        &["ACL", "SETUSER", "x", "%X~a"],
        &["ACL", "SETUSER", "x", "#abc"],
        &[
            "ACL",
            "SETUSER",
            "x",
            "#5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8",
        ],
        &["ACL", "SETUSER", "x", "<nopass"],
        &[
            "ACL",
            "SETUSER",
            "x",
            "!5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        ],
        &["ACL", "SETUSER", "x", "allkeys", "~a"],
        &["ACL", "SETUSER", "x", "allchannels", "&a"],
        &["ACL", "SETUSER", "x", "+config|get|x"],
        &["ACL", "SETUSER", "x", "+config|nosuch"],
        &["ACL", "SETUSER", "x", "+select|"],
        &["ACL", "SETUSER", "x", "-select|0"],
        &["ACL", "SETUSER", "x", "(~a", "+get"],
        &["ACL", "SETUSER", "x", "(+nosuch)"],
        &["ACL", "SETUSER", "x", "( \"\" )"],
        &["ACL", "SETUSER", "x", "(~a \"+get\" 'allchannels')"],
        &["ACL", "SETUSER", "x", "(\"unbalanced)"],
        &["ACL", "SETUSER", "x y"],
        &["ACL", "GETUSER", "x"],
        &["ACL", "SETUSER", "a", "on", "+nosuch"],
        &["ACL", "GETUSER", "a"],
        // Other subcommands.
        &["ACL", "DELUSER", "default"],
        &["ACL", "DELUSER", "b", "nobody", "c"],
        &["ACL", "DELUSER", "b"],
        &["ACL", "USERS"],
        &["ACL", "CAT"],
        &["ACL", "CAT", "nosuch"],
        &["ACL", "CAT", "a", "b"],
        &["ACL", "GENPASS", "0"],
        &["ACL", "GENPASS", "4097"],
        &["ACL", "GENPASS", "x"],
        &["ACL", "GENPASS", "1", "2"],
        &["ACL", "LOG", "x"],
        &["ACL", "LOG", "1", "2"],
        &["ACL", "LOG", "-1"],
        &["ACL", "LOG", "RESET"],
        &["ACL", "SAVE"],
        &["ACL", "LOAD"],
        &["ACL", "HELP"],
        &["ACL", "NOSUCH"],
        &["ACL"],
        &["ACL", "GETUSER"],
        &["ACL", "GETUSER", "a", "b"],
        &["ACL", "SETUSER"],
        &["ACL", "DELUSER"],
        &["ACL", "WHOAMI", "x"],
        &["ACL", "DRYRUN", "a"],
        // DRYRUN.
        &[
            "ACL",
            "SETUSER",
            "dr",
            "on",
            "nopass",
            "+@all",
            "-@dangerous",
            "~k*",
            "&ch*",
            "-config|set",
        ],
        &["ACL", "DRYRUN", "dr", "get", "k1"],
        &["ACL", "DRYRUN", "dr", "get", "x"],
        &["ACL", "DRYRUN", "dr", "mset", "k1", "v", "x", "v"],
        &["ACL", "DRYRUN", "dr", "flushall"],
        &["ACL", "DRYRUN", "dr", "config", "set", "a", "b"],
        &["ACL", "DRYRUN", "dr", "config", "get", "a"],
        &["ACL", "DRYRUN", "dr", "publish", "chat", "m"],
        &["ACL", "DRYRUN", "dr", "publish", "xx", "m"],
        &["ACL", "DRYRUN", "dr", "get"],
        &["ACL", "DRYRUN", "dr", "nosuch", "x"],
        &["ACL", "DRYRUN", "nobody", "get", "x"],
        &["ACL", "DRYRUN", "dr", "config", "nosuch"],
    ];
    run(SCRIPT, &mut ours, &mut theirs);
    // GENPASS: hex of the asked number of bits, rounded up to whole hex digits.
    for (bits, len) in [("", 64), ("1", 1), ("5", 2), ("256", 64), ("4096", 1024)] {
        let mut cmd = vec!["ACL", "GENPASS"];
        if !bits.is_empty() {
            cmd.push(bits);
        }
        for conn in [&mut ours, &mut theirs] {
            let reply = conn.cmd_str(&cmd);
            let body = reply.split("\r\n").nth(1).unwrap();
            assert_eq!(body.len(), len, "{cmd:?}: {reply}");
            assert!(body
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
    }
    // The same in RESP3 (GETUSER's map and set).
    for conn in [&mut ours, &mut theirs] {
        conn.cmd(&["HELLO", "3"]);
    }
    run(
        &[
            &["ACL", "GETUSER", "a"],
            &["ACL", "GETUSER", "dr"],
            &["ACL", "GETUSER", "nobody"],
            &["ACL", "LOG"],
        ],
        &mut ours,
        &mut theirs,
    );
}

#[test]
fn acl_cat_lists_every_category_as_redis() {
    let Some((ours_srv, theirs_srv)) = start("acl_cat_lists_every_category_as_redis", &[]) else {
        return;
    };
    let (mut ours, mut theirs) = (ours_srv.conn(), theirs_srv.conn());
    let cats = sorted_bulks(&theirs.cmd(&["ACL", "CAT"]));
    assert_eq!(sorted_bulks(&ours.cmd(&["ACL", "CAT"])), cats);
    assert_eq!(cats.len(), 21);
    for cat in &cats {
        let a = sorted_bulks(&ours.cmd(&["ACL", "CAT", cat]));
        let b = sorted_bulks(&theirs.cmd(&["ACL", "CAT", cat]));
        assert!(!b.is_empty());
        assert_eq!(a, b, "ACL CAT {cat}");
    }
}

#[test]
fn command_categories_match_redis_for_every_command() {
    let Some((ours_srv, theirs_srv)) =
        start("command_categories_match_redis_for_every_command", &[])
    else {
        return;
    };
    let (mut ours, mut theirs) = (ours_srv.conn(), theirs_srv.conn());
    // Every command and subcommand redlite serves (COMMAND LIST lists both).
    let names = sorted_bulks(&ours.cmd(&["COMMAND", "LIST"]));
    let theirs_names = sorted_bulks(&theirs.cmd(&["COMMAND", "LIST"]));
    assert!(names.len() > 250, "{}", names.len());
    let mut checked = 0;
    for name in &names {
        if !theirs_names.contains(name) {
            // CLIENT SETINFO is Redis 7.2's; nothing else may be missing.
            assert_eq!(name, "client|setinfo");
            continue;
        }
        // Name, arity, flags, keys and ACL categories (redlite serves no tips or key
        // specs).
        let head = |conn: &mut Conn| -> Vec<String> {
            let reply = conn.cmd(&["COMMAND", "INFO", name]);
            let entry = array_elements(&reply).remove(0);
            array_elements(&entry)[..7]
                .iter()
                .map(|e| render(e))
                .collect()
        };
        let (a, b) = (head(&mut ours), head(&mut theirs));
        // The categories (the seventh element) are what this test is about; flags and
        // arity are compared by the families' own tests.
        assert_eq!(a[6], b[6], "COMMAND INFO {name} categories");
        checked += 1;
    }
    assert!(checked > 250);
    // COMMAND LIST FILTERBY ACLCAT: Redis's list, less the commands redlite lacks.
    for cat in sorted_bulks(&theirs.cmd(&["ACL", "CAT"])) {
        let a = sorted_bulks(&ours.cmd(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", &cat]));
        let b: Vec<String> =
            sorted_bulks(&theirs.cmd(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", &cat]))
                .into_iter()
                .filter(|n| names.contains(n))
                .collect();
        assert_eq!(a, b, "COMMAND LIST FILTERBY ACLCAT {cat}");
    }
    run(
        &[&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"]],
        &mut ours,
        &mut theirs,
    );
    let filtered = ["COMMAND", "LIST", "FILTERBY", "PATTERN", "acl|*"];
    assert_eq!(
        sorted_bulks(&ours.cmd(&filtered)),
        sorted_bulks(&theirs.cmd(&filtered))
    );
}

/// A user for the permission checks, set up on both servers, and a connection logged
/// in as it on each.
fn login(ours: &Server, theirs: &Reference, rules: &[&str]) -> (Conn, Conn) {
    let mut setuser = vec!["ACL", "SETUSER", "u", "reset", "on", ">pw"];
    setuser.extend_from_slice(rules);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    assert_eq!(a.cmd_str(&setuser), b.cmd_str(&setuser));
    assert_eq!(a.cmd_str(&["AUTH", "u", "pw"]), "+OK\r\n");
    assert_eq!(b.cmd_str(&["AUTH", "u", "pw"]), "+OK\r\n");
    (a, b)
}

#[test]
fn permission_checks_across_command_families() {
    let Some((ours_srv, theirs_srv)) = start("permission_checks_across_command_families", &[])
    else {
        return;
    };
    // Read-only on k*, read-write on w*, read on r*, write on o*, channels ch*.
    let (mut ours, mut theirs) = login(
        &ours_srv,
        &theirs_srv,
        &[
            "+@all",
            "-@dangerous",
            "-@admin",
            "~k*",
            "%R~r*",
            "%W~o*",
            "~w*",
            "&ch*",
        ],
    );
    const SCRIPT: &[Cmd] = &[
        // Strings.
        &["SET", "k1", "v"],
        &["GET", "k1"],
        &["SET", "x", "v"],
        &["GET", "x"],
        &["GET", "r1"],
        &["SET", "r1", "v"],
        &["SET", "o1", "v"],
        &["GET", "o1"],
        &["SET", "o1", "v", "GET"],
        &["MSET", "k1", "1", "x", "2"],
        &["MGET", "k1", "r1", "x"],
        &["INCR", "w1"],
        &["APPEND", "r1", "x"],
        &["GETDEL", "r1"],
        &["COPY", "r1", "o2"],
        &["COPY", "o1", "o2"],
        // Lists.
        &["LPUSH", "wl", "a", "b"],
        &["LRANGE", "wl", "0", "-1"],
        &["LMOVE", "wl", "o3", "LEFT", "RIGHT"],
        &["LMOVE", "wl", "r3", "LEFT", "RIGHT"],
        &["LMPOP", "2", "wl", "x", "LEFT"],
        &["BLPOP", "x", "0.01"],
        // Hashes, sets, sorted sets.
        &["HSET", "wh", "f", "v"],
        &["HGET", "x", "f"],
        &["SADD", "ws", "a"],
        &["SUNIONSTORE", "o4", "ws", "r5"],
        &["SUNIONSTORE", "o4", "ws", "x"],
        &["ZADD", "wz", "1", "a"],
        &["ZUNIONSTORE", "o5", "2", "wz", "x"],
        &["ZINTERCARD", "2", "wz", "r1"],
        // Streams and bitmaps.
        &["XADD", "wx", "1-1", "f", "v"],
        &["XREAD", "STREAMS", "wx", "x", "0", "0"],
        &["XREAD", "STREAMS", "wx", "r6", "0", "0"],
        &["SETBIT", "wb", "1", "1"],
        &["BITOP", "AND", "o6", "wb", "r7"],
        &["BITOP", "AND", "r6", "wb"],
        &["BITFIELD", "r8", "GET", "u8", "0"],
        &["BITFIELD", "r8", "SET", "u8", "0", "1"],
        &["BITFIELD_RO", "r8", "GET", "u8", "0"],
        // Keyspace.
        &["DEL", "x"],
        &["DEL", "w1", "k1"],
        &["EXISTS", "r1", "x"],
        &["RENAME", "w2", "x"],
        &["SORT", "wl", "STORE", "r9"],
        &["SORT", "wl", "BY", "nosort", "STORE", "o9"],
        &["SORT_RO", "x"],
        &["SORT", "wl", "BY", "w*"],
        &["SORT", "wl", "BY", "nosort"],
        &["SORT", "wl", "GET", "#"],
        &["SORT_RO", "wl", "GET", "k*"],
        &["KEYS", "*"],
        &["SCAN", "0", "MATCH", "k*", "COUNT", "1000"],
        &["DBSIZE"],
        &["OBJECT", "ENCODING", "x"],
        &["TYPE", "x"],
        // Pub/sub: PUBLISH and the subscriptions check channels.
        &["PUBLISH", "ch1", "m"],
        &["PUBLISH", "other", "m"],
        &["PUBSUB", "NUMSUB", "other"],
        // Dangerous and admin commands.
        &["FLUSHALL"],
        &["KEYS", "*"],
        &["CONFIG", "GET", "maxmemory"],
        &["DEBUG", "SLEEP", "0"],
        &["CLIENT", "KILL", "ID", "999"],
        &["CLIENT", "GETNAME"],
        &["ACL", "WHOAMI"],
        &["ACL", "LIST"],
        &["SHUTDOWN"],
        &["SAVE"],
        &["INFO", "nosuchsection"],
        // Scripting and transactions.
        &["EVAL", "return redis.call('get', KEYS[1])", "1", "k1"],
        &["EVAL", "return redis.call('get', 'x')", "0"],
        &["EVAL", "return redis.call('set', 'r1', 'v')", "0"],
        &["EVAL", "return redis.pcall('flushall')", "0"],
        &["EVAL", "return redis.call('publish', 'other', 'm')", "0"],
        &["EVAL", "return redis.acl_check_cmd('set', 'x', 'v')", "0"],
        &["EVAL", "return redis.acl_check_cmd('set', 'k1', 'v')", "0"],
        &["EVAL", "return redis.acl_check_cmd('nosuch')", "0"],
        &["EVAL", "return 1", "1", "x"],
        &["FCALL", "nosuch", "1", "x"],
        &["MULTI"],
        &["SET", "k1", "1"],
        &["SET", "x", "1"],
        &["EXEC"],
        &["MULTI"],
        &["SET", "k1", "1"],
        &["FLUSHALL"],
        &["EXEC"],
        &["MULTI"],
        &["GET", "k1"],
        &["EXEC"],
        // Subcommands and first args.
        &["AUTH", "default", "x"],
        &["AUTH", "u", "pw"],
    ];
    run(SCRIPT, &mut ours, &mut theirs);
    // Subscriptions: a refused channel or pattern is an error; an allowed one is not.
    run(
        &[
            &["SUBSCRIBE", "other"],
            &["PSUBSCRIBE", "ch*x"],
            &["SUBSCRIBE", "ch1"],
            &["UNSUBSCRIBE", "nochannel"],
            &["PSUBSCRIBE", "ch*"],
            &["PUNSUBSCRIBE"],
            &["UNSUBSCRIBE"],
        ],
        &mut ours,
        &mut theirs,
    );
    // A command-only user: first args, subcommands, categories.
    let (mut ours, mut theirs) = login(
        &ours_srv,
        &theirs_srv,
        &[
            "-@all",
            "+@read",
            "+select|0",
            "+config|get",
            "+client",
            "-client|kill",
            "allkeys",
        ],
    );
    run(
        &[
            &["GET", "a"],
            &["SET", "a", "1"],
            &["SELECT", "0"],
            &["SELECT", "1"],
            &["CONFIG", "GET", "maxmemory"],
            &["CONFIG", "SET", "maxmemory", "0"],
            &["CLIENT", "GETNAME"],
            &["CLIENT", "KILL", "ID", "999"],
            &["PING"],
            &["SORT_RO", "a", "BY", "w*", "GET", "#"],
            &["ACL", "WHOAMI"],
            &["QUIT"],
        ],
        &mut ours,
        &mut theirs,
    );
    // Selectors: either may allow a request; the error reported is the worst one.
    let (mut ours, mut theirs) = login(
        &ours_srv,
        &theirs_srv,
        &["+get", "~a*", "(+set ~b* &c*)", "(+publish %R~z)"],
    );
    run(
        &[
            &["GET", "a1"],
            &["GET", "b1"],
            &["SET", "b1", "1"],
            &["SET", "a1", "1"],
            &["MGET", "a1", "b1"],
            &["PUBLISH", "c1", "m"],
            &["PUBLISH", "d1", "m"],
            &["DEL", "a1"],
        ],
        &mut ours,
        &mut theirs,
    );
}

/// The ACL LOG of both servers, compared as the module doc says.
fn compare_log(ours: &mut Conn, theirs: &mut Conn, args: &[&str]) {
    run(&[args_static(args)], ours, theirs);
}

fn args_static(args: &[&str]) -> Cmd {
    let v: Vec<&'static str> = args
        .iter()
        .map(|a| &*Box::leak(a.to_string().into_boxed_str()))
        .collect();
    Box::leak(v.into_boxed_slice())
}

#[test]
fn acl_log_records_denials_and_failed_logins() {
    let Some((ours_srv, theirs_srv)) = start("acl_log_records_denials_and_failed_logins", &[])
    else {
        return;
    };
    let (mut admin_a, mut admin_b) = (ours_srv.conn(), theirs_srv.conn());
    let (mut ours, mut theirs) = login(
        &ours_srv,
        &theirs_srv,
        &["+@all", "-flushall", "~k*", "&ch"],
    );
    run(
        &[
            &["GET", "x"],
            &["GET", "x"],
            &["GET", "k"],
            &["FLUSHALL"],
            &["PUBLISH", "other", "m"],
            &["MULTI"],
            &["GET", "y"],
            &["DISCARD"],
            &["EVAL", "return redis.call('get', 'z')", "0"],
            &["AUTH", "u", "wrong"],
            &["AUTH", "nobody", "wrong"],
            &["HELLO", "2", "AUTH", "u", "wrong"],
            &["CLIENT", "SETNAME", "me"],
            &["MSET", "k1", "v", "q", "v"],
        ],
        &mut ours,
        &mut theirs,
    );
    // Rules changed between queueing and EXEC.
    run(
        &[&["MULTI"], &["GET", "k1"], &["SET", "k2", "v"]],
        &mut ours,
        &mut theirs,
    );
    run(
        &[&["ACL", "SETUSER", "u", "-get", "resetkeys", "~k2"]],
        &mut admin_a,
        &mut admin_b,
    );
    run(&[&["EXEC"]], &mut ours, &mut theirs);
    compare_log(&mut admin_a, &mut admin_b, &["ACL", "LOG"]);
    compare_log(&mut admin_a, &mut admin_b, &["ACL", "LOG", "2"]);
    compare_log(&mut admin_a, &mut admin_b, &["ACL", "LOG", "100"]);
    // acllog-max-len trims the log on the next entry, as Redis does.
    run(
        &[
            &["CONFIG", "SET", "acllog-max-len", "2"],
            &["ACL", "LOG", "100"],
        ],
        &mut admin_a,
        &mut admin_b,
    );
    run(&[&["GET", "nope"]], &mut ours, &mut theirs);
    compare_log(&mut admin_a, &mut admin_b, &["ACL", "LOG", "100"]);
    run(
        &[
            &["ACL", "LOG", "RESET"],
            &["ACL", "LOG"],
            &["CONFIG", "GET", "acllog-max-len"],
        ],
        &mut admin_a,
        &mut admin_b,
    );
}

#[test]
fn auth_and_hello_with_users() {
    let Some((ours_srv, theirs_srv)) = start("auth_and_hello_with_users", &[]) else {
        return;
    };
    let (mut ours, mut theirs) = (ours_srv.conn(), theirs_srv.conn());
    run(
        &[
            &["AUTH", "x"],
            &["CONFIG", "SET", "requirepass", "secret"],
            &["ACL", "WHOAMI"],
        ],
        &mut ours,
        &mut theirs,
    );
    let (mut ours, mut theirs) = (ours_srv.conn(), theirs_srv.conn());
    run(
        &[
            &["GET", "x"],
            &["ACL", "WHOAMI"],
            &["AUTH", "wrong"],
            &["AUTH", "secret"],
            &["ACL", "WHOAMI"],
            &["ACL", "SETUSER", "alice", "on", ">apw", "+@all", "~*", "&*"],
            &["ACL", "SETUSER", "off_user", "off", ">opw", "+@all"],
            &["ACL", "SETUSER", "open", "on", "nopass", "+acl|whoami"],
            &["ACL", "GETUSER", "default"],
            &["AUTH", "alice", "wrong"],
            &["AUTH", "off_user", "opw"],
            &["AUTH", "alice", "apw"],
            &["ACL", "WHOAMI"],
            &["AUTH", "open", "anything"],
            &["ACL", "WHOAMI"],
            &["GET", "x"],
            &["HELLO", "2", "AUTH", "alice", "wrong", "SETNAME", "cli"],
            &["HELLO", "2", "AUTH", "alice", "apw", "SETNAME", "bad name"],
            &["ACL", "WHOAMI"],
            &["HELLO", "3", "AUTH", "nobody", "x"],
            &["AUTH", "a", "b", "c"],
            &["RESET"],
            &["ACL", "WHOAMI"],
            &["GET", "x"],
            &["AUTH", "default", "secret"],
            &["CONFIG", "SET", "requirepass", ""],
            &["ACL", "GETUSER", "default"],
            &["AUTH", "x"],
            &["ACL", "SETUSER", "default", "off"],
        ],
        &mut ours,
        &mut theirs,
    );
    // The default user off: new connections must log in.
    let (mut a, mut b) = (ours_srv.conn(), theirs_srv.conn());
    run(
        &[
            &["GET", "x"],
            &["AUTH", "alice", "apw"],
            &["ACL", "SETUSER", "default", "on", "nopass"],
        ],
        &mut a,
        &mut b,
    );
    // CLIENT LIST and CLIENT INFO show the user; CLIENT KILL USER uses it.
    for (conn, _) in [(&mut a, 0), (&mut b, 1)] {
        let info = conn.cmd_str(&["CLIENT", "INFO"]);
        assert!(info.contains(" user=alice "), "{info}");
    }
    let (mut c, mut d) = (ours_srv.conn(), theirs_srv.conn());
    run(
        &[
            &["CLIENT", "KILL", "USER", "nobody"],
            &["CLIENT", "KILL", "USER", "alice"],
            &["CLIENT", "KILL", "USER", "alice"],
        ],
        &mut c,
        &mut d,
    );
    assert!(a.is_closed() && b.is_closed());
}

#[test]
fn deleting_or_reloading_a_user_disconnects_its_clients() {
    let Some((ours_srv, theirs_srv)) =
        start("deleting_or_reloading_a_user_disconnects_its_clients", &[])
    else {
        return;
    };
    let (mut admin_a, mut admin_b) = (ours_srv.conn(), theirs_srv.conn());
    let (mut ours, mut theirs) = login(&ours_srv, &theirs_srv, &["+@all", "~*", "&*"]);
    run(&[&["PING"]], &mut ours, &mut theirs);
    run(&[&["ACL", "DELUSER", "u"]], &mut admin_a, &mut admin_b);
    assert!(ours.is_closed(), "redlite kept a deleted user's client");
    assert!(theirs.is_closed());
    // A client that deletes its own user gets the reply, then is closed.
    let (mut ours, mut theirs) = login(&ours_srv, &theirs_srv, &["+@all", "~*", "&*"]);
    run(&[&["ACL", "DELUSER", "u"]], &mut ours, &mut theirs);
    assert!(ours.is_closed() && theirs.is_closed());
    // Revoking a subscriber's channel closes it; keeping it does not.
    let (mut ours, mut theirs) = login(&ours_srv, &theirs_srv, &["+@all", "~*", "&news"]);
    run(&[&["SUBSCRIBE", "news"]], &mut ours, &mut theirs);
    run(
        &[
            &["ACL", "SETUSER", "u", "&more"],
            &["PUBLISH", "news", "hi"],
        ],
        &mut admin_a,
        &mut admin_b,
    );
    assert_eq!(render(&ours.read_reply()), render(&theirs.read_reply()));
    run(
        &[&["ACL", "SETUSER", "u", "resetchannels", "&more"]],
        &mut admin_a,
        &mut admin_b,
    );
    assert!(ours.is_closed() && theirs.is_closed());
    // The default user's clients stay.
    run(
        &[&["ACL", "SETUSER", "default", "resetchannels"], &["PING"]],
        &mut admin_a,
        &mut admin_b,
    );
    run(
        &[&["ACL", "SETUSER", "default", "allchannels"]],
        &mut admin_a,
        &mut admin_b,
    );
}

/// What a server (`redis-server` or ours) that refuses to start printed: its log (on
/// stdout) and its stderr. A config file, if any, comes first in `args`.
fn refusal(program: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let (file, flags) = match args.split_first() {
        Some((first, rest)) if !first.starts_with("--") => (Some(*first), rest),
        _ => (None, args),
    };
    let out = std::process::Command::new(program)
        .args(file)
        .args(["--port", &common::free_port().to_string(), "--save", ""])
        .arg("--dir")
        .arg(dir)
        .args(flags)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the server");
    assert!(!out.status.success(), "{program} started with {args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn reference_refusal(dir: &std::path::Path, args: &[&str]) -> String {
    refusal("redis-server", dir, args)
}

fn our_refusal(dir: &std::path::Path, args: &[&str]) -> String {
    refusal(env!("CARGO_BIN_EXE_redlite-server"), dir, args)
}

/// The message after the log prefix of the line that contains `marker`.
fn line_with<'a>(text: &'a str, marker: &str) -> &'a str {
    let line = text
        .lines()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{text}"));
    &line[line.find(marker).unwrap()..]
}

#[test]
fn acl_file_round_trip_and_malformed_files() {
    if !reference_available("acl_file_round_trip_and_malformed_files") {
        return;
    }
    let dir = TempDir::new("aclfile");
    let ours_file = dir.path().join("ours.acl");
    let theirs_file = dir.path().join("theirs.acl");
    let initial = "user alice on >apw ~k* &ch +@read\nuser default on nopass ~* &* +@all\n";
    std::fs::write(&ours_file, initial).unwrap();
    std::fs::write(&theirs_file, initial).unwrap();
    let ours_path = ours_file.to_str().unwrap();
    let theirs_path = theirs_file.to_str().unwrap();
    {
        let ours_srv = Server::start(&["--aclfile", ours_path]);
        let theirs_srv = Reference::start_with(&["--aclfile", theirs_path]);
        let (mut ours, mut theirs) = (ours_srv.conn(), theirs_srv.conn());
        run(
            &[
                &["ACL", "LIST"],
                &["AUTH", "alice", "apw"],
                &["GET", "k1"],
                &["SET", "k1", "v"],
                &["AUTH", "default", "x"],
                &[
                    "ACL",
                    "SETUSER",
                    "bob",
                    "on",
                    "#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
                    "%R~r*",
                    "(+get ~s*)",
                    "-@all",
                    "+@hash",
                ],
                &["ACL", "SETUSER", "default", "-debug"],
                &["ACL", "SAVE"],
            ],
            &mut ours,
            &mut theirs,
        );
        let a = std::fs::read_to_string(&ours_file).unwrap();
        let b = std::fs::read_to_string(&theirs_file).unwrap();
        assert_eq!(
            normalize(a.as_bytes()),
            normalize(b.as_bytes()),
            "ACL SAVE's files differ"
        );
        // ACL LOAD: an edited file replaces the users; alice's client is closed.
        let (mut alice_a, mut alice_b) = (ours_srv.conn(), theirs_srv.conn());
        run(&[&["AUTH", "alice", "apw"]], &mut alice_a, &mut alice_b);
        let edited =
            format!("{a}user carol on nopass +ping\n").replace("user alice on", "user alice off");
        std::fs::write(&ours_file, &edited).unwrap();
        std::fs::write(&theirs_file, &edited).unwrap();
        run(
            &[&["ACL", "LOAD"], &["ACL", "LIST"]],
            &mut ours,
            &mut theirs,
        );
        assert!(alice_a.is_closed() && alice_b.is_closed());
        // A bad file changes nothing and says why.
        let bad = "user carol on +ping\nnot a user line\nuser dave +nosuch ~a\nuser dave on\nuser eve %Q~x\n";
        std::fs::write(&ours_file, bad).unwrap();
        std::fs::write(&theirs_file, bad).unwrap();
        let a = ours.cmd_str(&["ACL", "LOAD"]).replace(ours_path, "FILE");
        let b = theirs
            .cmd_str(&["ACL", "LOAD"])
            .replace(theirs_path, "FILE");
        assert_eq!(a, b);
        run(&[&["ACL", "LIST"]], &mut ours, &mut theirs);
        std::fs::write(&ours_file, &edited).unwrap();
    }
    // Restarted on the saved file, redlite has the same users.
    {
        let ours_srv = Server::start(&["--aclfile", ours_path]);
        let theirs_srv = Reference::start_with(&["--aclfile", ours_path]);
        let (mut ours, mut theirs) = (ours_srv.conn(), theirs_srv.conn());
        run(
            &[
                &["DEBUG", "SLEEP", "0"],
                &["AUTH", "alice", "apw"],
                &["AUTH", "carol", "x"],
                &["ACL", "LIST"],
            ],
            &mut ours,
            &mut theirs,
        );
    }
    // A malformed file: neither server starts, with the same message.
    let bad = dir.path().join("bad.acl");
    std::fs::write(&bad, "user alice on >pw +@nosuch\nbogus\n").unwrap();
    let bad = bad.to_str().unwrap();
    let err = our_refusal(dir.path(), &["--aclfile", bad]);
    let theirs = reference_refusal(dir.path(), &["--aclfile", bad]);
    let marker = "Aborting Redis startup because of ACL errors";
    assert_eq!(line_with(&err, marker), line_with(&theirs, marker));
    // A missing file too.
    let missing = dir.path().join("missing.acl");
    let missing = missing.to_str().unwrap();
    let err = our_refusal(dir.path(), &["--aclfile", missing]);
    let theirs = reference_refusal(dir.path(), &["--aclfile", missing]);
    assert_eq!(line_with(&err, marker), line_with(&theirs, marker));
}

#[test]
fn user_lines_in_the_config_file() {
    if !reference_available("user_lines_in_the_config_file") {
        return;
    }
    let dir = TempDir::new("userconf");
    let conf = dir.path().join("users.conf");
    std::fs::write(
        &conf,
        "user alice on >apw ~k* +get\nuser default on >dpw ~* &* +@all\n",
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    {
        let ours_srv = Server::start(&[conf]);
        let theirs_srv = Reference::start_with(&[]);
        let (mut ours, mut theirs) = (ours_srv.conn(), theirs_srv.conn());
        // The reference gets the same users through ACL SETUSER; the replies must agree.
        theirs.cmd(&["ACL", "SETUSER", "alice", "on", ">apw", "~k*", "+get"]);
        theirs.cmd(&[
            "ACL", "SETUSER", "default", "reset", "on", ">dpw", "~*", "&*", "+@all",
        ]);
        let mut theirs = theirs_srv.conn();
        run(
            &[
                &["GET", "x"],
                &["AUTH", "alice", "apw"],
                &["GET", "k1"],
                &["SET", "k1", "v"],
            ],
            &mut ours,
            &mut theirs,
        );
        let mut admin_a = ours_srv.conn();
        let mut admin_b = theirs_srv.conn();
        admin_a.cmd(&["AUTH", "dpw"]);
        admin_b.cmd(&["AUTH", "dpw"]);
        run(&[&["ACL", "LIST"]], &mut admin_a, &mut admin_b);
    }
    // Errors: a bad rule, a duplicate user, and users both in the file and an ACL file.
    for (name, text) in [
        ("bad.conf", "user alice on %Q~x\n"),
        ("dup.conf", "user alice on\nuser alice off\n"),
        ("unknown.conf", "user alice on +nosuch\n"),
        ("both.conf", "user alice on\naclfile /nonexistent.acl\n"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap();
        let err = our_refusal(dir.path(), &[path]);
        let theirs = reference_refusal(dir.path(), &[path]);
        let marker = match name {
            "unknown.conf" => "Error loading ACL rule",
            "both.conf" => "Configuring Redis with users",
            _ => "Error in user declaration",
        };
        assert_eq!(
            line_with(&err, marker),
            line_with(&theirs, marker),
            "{name}"
        );
    }
}

#[test]
fn acl_pubsub_default_allchannels() {
    let Some((ours_srv, theirs_srv)) = start(
        "acl_pubsub_default_allchannels",
        &["--acl-pubsub-default", "allchannels"],
    ) else {
        return;
    };
    let (mut ours, mut theirs) = (ours_srv.conn(), theirs_srv.conn());
    run(
        &[
            &["ACL", "SETUSER", "p", "on", "nopass", "+@all"],
            &["ACL", "GETUSER", "p"],
            &["ACL", "SETUSER", "p", "reset"],
            &["ACL", "GETUSER", "p"],
            &["CONFIG", "SET", "acl-pubsub-default", "resetchannels"],
            &["ACL", "SETUSER", "q", "on"],
            &["ACL", "LIST"],
            &["CONFIG", "GET", "acl-pubsub-default"],
        ],
        &mut ours,
        &mut theirs,
    );
}
