//! Hostile and careless clients: oversized and stalled requests, slow readers, slowloris
//! writers and thousands of idle connections. Each must cost the server only its own
//! connection, never the service of everyone else.
//!
//! "Promptly" is a generous 2 s, so the tests hold on a loaded 2-core machine; waits poll
//! rather than sleep where they can.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{array_elements, encode, Conn, Server};
use pretty_assertions::assert_eq;

/// What "promptly" means for a reply while the server is being abused.
const PROMPT: Duration = Duration::from_secs(2);

/// Runs a command and checks that its reply came promptly.
fn prompt(c: &mut Conn, args: &[&str]) -> String {
    let t = Instant::now();
    let reply = c.cmd_str(args);
    let took = t.elapsed();
    assert!(took < PROMPT, "{args:?} took {took:?}");
    reply
}

/// Polls `f` every 20 ms until it holds, or fails after `within`.
fn wait_for(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the server closed `stream` (end of stream or reset) within `within`; false if
/// it is still open when the time is up. Data the server sent first is skipped.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
}

/// Writes `bytes` in 64 KiB pieces until done or the server closes the connection.
/// Returns how many bytes were written.
fn write_until_closed(stream: &mut TcpStream, bytes: &[u8]) -> usize {
    stream
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut sent = 0;
    for piece in bytes.chunks(64 * 1024) {
        match stream.write_all(piece) {
            Ok(()) => sent += piece.len(),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the server stopped reading for 20 s")
            }
            Err(_) => break,
        }
    }
    sent
}

/// A field of INFO.
fn info_field(c: &mut Conn, section: &str, field: &str) -> String {
    let info = c.cmd_str(&["INFO", section]);
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}"))
        .trim()
        .to_string()
}

fn connected_clients(c: &mut Conn) -> usize {
    info_field(c, "clients", "connected_clients")
        .parse()
        .unwrap()
}

/// The resident set size of a process, in bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("VmRSS");
    kb * 1024
}

/// The `qbuf` CLIENT LIST reports for the client with this id: the bytes of a request
/// still arriving.
fn qbuf(c: &mut Conn, id: &str) -> u64 {
    let list = c.cmd_str(&["CLIENT", "LIST", "ID", id]);
    list.split_whitespace()
        .find_map(|f| f.strip_prefix("qbuf="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn client_id(c: &mut Conn) -> String {
    let id = c.cmd_str(&["CLIENT", "ID"]);
    id.trim_start_matches(':').trim_end().to_string()
}

// ---------------------------------------------------------------------------------------

#[test]
fn the_query_buffer_limit_closes_a_client_with_a_bigger_partial_request() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    assert_eq!(
        admin.cmd_str(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"]),
        "+OK\r\n"
    );
    assert_eq!(
        admin.cmd_str(&["CONFIG", "GET", "client-query-buffer-limit"]),
        "*2\r\n$25\r\nclient-query-buffer-limit\r\n$7\r\n1048576\r\n"
    );
    let mut other = server.conn();
    assert_eq!(prompt(&mut other, &["SET", "before", "1"]), "+OK\r\n");

    // A value announced at 3 MB, of which 1.5 MB arrive: closed before it completes.
    let mut big = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut req = b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$3000000\r\n".to_vec();
    req.resize(req.len() + 1_500_000, b'x');
    write_until_closed(&mut big, &req);
    assert!(
        closed_within(&mut big, Duration::from_secs(10)),
        "a client over the query buffer limit is closed"
    );

    // Nobody else noticed, and the unfinished request never ran.
    assert_eq!(prompt(&mut other, &["GET", "before"]), "$1\r\n1\r\n");
    assert_eq!(prompt(&mut other, &["EXISTS", "big"]), ":0\r\n");
    assert_eq!(prompt(&mut admin, &["PING"]), "+PONG\r\n");
    wait_for("the log line", Duration::from_secs(10), || {
        server
            .log_text()
            .contains("Closing client that reached max query buffer length")
    });

    // A request well under the limit is still served, and its connection stays open.
    let mut fine = server.conn();
    let value = "v".repeat(400_000);
    assert_eq!(prompt(&mut fine, &["SET", "fine", &value]), "+OK\r\n");
    assert_eq!(prompt(&mut fine, &["STRLEN", "fine"]), ":400000\r\n");
    assert_eq!(prompt(&mut fine, &["PING"]), "+PONG\r\n");
}

/// Redis 7.0 serves any request whose unparsed bytes stay under the limit (a 1,000,000
/// byte SET passes a 1 MiB limit there); redlite must not be stricter.
#[test]
fn a_request_under_the_query_buffer_limit_is_served() {
    let server = Server::start(&["--client-query-buffer-limit", "1mb"]);
    let mut c = server.conn();
    for size in [600_000, 900_000] {
        let value = "v".repeat(size);
        assert_eq!(
            c.cmd_str(&["SET", "k", &value]),
            "+OK\r\n",
            "a {size} byte SET under a 1 MiB limit"
        );
        assert_eq!(c.cmd_str(&["STRLEN", "k"]), format!(":{size}\r\n"));
        assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n", "after a {size} byte SET");
    }
}

#[test]
fn proto_max_bulk_len_is_enforced() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    assert_eq!(
        admin.cmd_str(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]),
        "+OK\r\n"
    );
    // A bulk over it: refused at its header, and the connection closed.
    let mut c = server.conn();
    c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n");
    assert_eq!(
        String::from_utf8_lossy(&c.read_reply()),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(closed_within(&mut c.stream, Duration::from_secs(10)));
    // One at the limit is fine.
    let mut ok = server.conn();
    let value = "x".repeat(1 << 20);
    assert_eq!(ok.cmd_str(&["SET", "k", &value]), "+OK\r\n");
    assert_eq!(ok.cmd_str(&["STRLEN", "k"]), ":1048576\r\n");
    // The default (512 MB) refuses a bigger header at once, without waiting for data.
    assert_eq!(
        admin.cmd_str(&["CONFIG", "SET", "proto-max-bulk-len", "512mb"]),
        "+OK\r\n"
    );
    let mut huge = server.conn();
    huge.send_raw(b"*1\r\n$536870913\r\n");
    assert_eq!(
        String::from_utf8_lossy(&huge.read_reply()),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(closed_within(&mut huge.stream, Duration::from_secs(10)));
    assert_eq!(prompt(&mut admin, &["PING"]), "+PONG\r\n");
}

#[test]
fn a_stalled_512_mb_request_costs_only_the_bytes_that_arrived() {
    let server = Server::start(&[]);
    let pid = server.child.id();
    let mut admin = server.conn();
    assert_eq!(admin.cmd_str(&["PING"]), "+PONG\r\n");

    const CLIENTS: usize = 10;
    const ARRIVED: usize = 64 * 1024;
    let before = rss_bytes(pid);
    let mut stalled = Vec::new();
    for _ in 0..CLIENTS {
        let mut c = server.conn();
        let id = client_id(&mut c);
        let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n".to_vec();
        let header = req.len();
        req.resize(header + ARRIVED, b'x');
        c.send_raw(&req);
        // Wait until the server has read all of it.
        wait_for(
            "the stalled bytes to be read",
            Duration::from_secs(10),
            || qbuf(&mut admin, &id) >= ARRIVED as u64,
        );
        stalled.push(c);
    }
    let after = rss_bytes(pid);
    let growth = after.saturating_sub(before);
    let arrived = (CLIENTS * ARRIVED) as u64;
    eprintln!(
        "RSS: {before} bytes before, {after} after {CLIENTS} clients each announced 512 MB \
         and sent {ARRIVED} bytes: growth {growth} bytes ({} per client) for {arrived} bytes \
         that arrived",
        growth / CLIENTS as u64
    );
    // Per client, besides the bytes that arrived: the 16 KiB read buffer, the argument
    // buffer's rounding up, and a worker's stack. 512 KiB covers that with room to spare,
    // where an up-front allocation would be 512 MB.
    let margin = CLIENTS as u64 * 512 * 1024;
    assert!(
        growth <= arrived + margin,
        "RSS grew by {growth} bytes for {arrived} bytes that arrived"
    );
    // The stalled clients hold nothing anyone else needs.
    assert_eq!(prompt(&mut admin, &["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(prompt(&mut admin, &["GET", "k"]), "$1\r\nv\r\n");
    drop(stalled);
}

/// Waits until the client with this id has run `cmd` (CLIENT LIST shows a client's
/// last command once its batch has run, before its replies are written): its reply is
/// built and the keyspace lock released.
fn ran(c: &mut Conn, id: &str, cmd: &str) {
    let field = format!(" cmd={cmd} ");
    wait_for(
        &format!("client {id} to run {cmd}"),
        Duration::from_secs(30),
        || c.cmd_str(&["CLIENT", "LIST", "ID", id]).contains(&field),
    );
}

/// A list of `n` elements of 16 bytes at `key`, built with a pipeline.
fn big_list(c: &mut Conn, key: &str, n: usize) {
    let element = [b'e'; 16];
    let per = 1000;
    let mut batch = Vec::new();
    for _ in 0..n / per {
        let mut args: Vec<&[u8]> = vec![b"RPUSH", key.as_bytes()];
        args.extend(std::iter::repeat_n(&element[..], per));
        batch.extend(encode(&args));
    }
    let stream = c.stream.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut stream = stream;
        stream.write_all(&batch).unwrap();
    });
    let mut last = Vec::new();
    for _ in 0..n / per {
        last = c.read_reply();
    }
    writer.join().unwrap();
    assert_eq!(String::from_utf8_lossy(&last), format!(":{n}\r\n"));
}

#[test]
fn a_client_that_never_reads_a_huge_reply_holds_no_lock() {
    let server = Server::start(&[]);
    let mut setup = server.conn();
    const N: usize = 1_000_000;
    big_list(&mut setup, "big", N);

    // About 22 MB of reply: far more than the socket buffers hold, so the server's write
    // to this client blocks until it reads.
    let mut slow = server.conn();
    let slow_id = client_id(&mut slow);
    slow.send(&["LRANGE", "big", "0", "-1"]);
    assert_eq!(setup.cmd_str(&["SET", "x", "y"]), "+OK\r\n");
    ran(&mut setup, &slow_id, "lrange");

    // Everyone else is served promptly, writes included, on the very list being sent.
    let mut other = server.conn();
    for i in 0..20 {
        assert_eq!(prompt(&mut other, &["PING"]), "+PONG\r\n");
        assert_eq!(
            prompt(&mut other, &["SET", &format!("k{i}"), "v"]),
            "+OK\r\n"
        );
        assert_eq!(
            prompt(&mut other, &["GET", &format!("k{i}")]),
            "$1\r\nv\r\n"
        );
        assert_eq!(
            prompt(&mut other, &["RPUSH", "big", "tail"]),
            format!(":{}\r\n", N + 1)
        );
        assert_eq!(
            prompt(&mut other, &["LPOP", "big"]),
            "$16\r\neeeeeeeeeeeeeeee\r\n"
        );
        assert_eq!(prompt(&mut other, &["DBSIZE"]), format!(":{}\r\n", i + 3));
        std::thread::sleep(Duration::from_millis(20));
    }
    // New clients too, and the admin side: INFO and CLIENT LIST.
    let mut late = server.conn();
    assert_eq!(prompt(&mut late, &["PING"]), "+PONG\r\n");
    assert!(prompt(&mut late, &["CLIENT", "LIST"]).contains("cmd=lrange"));
    assert!(prompt(&mut late, &["INFO"]).contains("redis_version"));

    // The slow reader finally reads: its reply is whole, as it was when asked.
    let reply = slow.read_reply();
    let elements = array_elements(&reply);
    assert_eq!(elements.len(), N);
    assert!(elements.iter().all(|e| e == b"$16\r\neeeeeeeeeeeeeeee\r\n"));
    assert_eq!(prompt(&mut slow, &["PING"]), "+PONG\r\n");
}

/// A client blocked on a reply it does not read can still be killed, and the `timeout`
/// setting still closes idle clients (the cron thread must not wait on it either).
#[test]
fn a_client_that_never_reads_can_be_killed_and_does_not_stall_the_cron() {
    let server = Server::start(&[]);
    let mut setup = server.conn();
    big_list(&mut setup, "big", 1_000_000);
    let mut slow = server.conn();
    let slow_id = client_id(&mut slow);
    slow.send(&["LRANGE", "big", "0", "-1"]);
    ran(&mut setup, &slow_id, "lrange");

    // CLIENT KILL answers promptly from another thread.
    let mut admin = server.conn();
    let (tx, rx) = std::sync::mpsc::channel();
    let port = server.port;
    let id = slow_id.clone();
    std::thread::spawn(move || {
        let mut c = Conn::connect(port);
        let t = Instant::now();
        let reply = c.cmd_str(&["CLIENT", "KILL", "ID", &id]);
        let _ = tx.send((reply, t.elapsed()));
    });
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok((reply, took)) => {
            assert_eq!(reply, ":1\r\n");
            assert!(took < PROMPT, "CLIENT KILL took {took:?}");
        }
        Err(_) => panic!(
            "CLIENT KILL ID {slow_id} of a client blocked on a reply it does not read got \
             no answer in 5 s"
        ),
    }
    assert!(closed_within(&mut slow.stream, Duration::from_secs(10)));

    // The same for the idle timeout, which the cron applies.
    let mut slow2 = server.conn();
    let slow2_id = client_id(&mut slow2);
    slow2.send(&["LRANGE", "big", "0", "-1"]);
    ran(&mut admin, &slow2_id, "lrange");
    assert_eq!(
        prompt(&mut admin, &["CONFIG", "SET", "timeout", "1"]),
        "+OK\r\n"
    );
    let mut idle = server.conn();
    assert_eq!(idle.cmd_str(&["PING"]), "+PONG\r\n");
    assert!(
        closed_within(&mut idle.stream, Duration::from_secs(10)),
        "the timeout closes an idle client while another one is blocked on a reply"
    );
    // The blocked one is idle too (it has read nothing for a second), as in Redis.
    assert!(closed_within(&mut slow2.stream, Duration::from_secs(10)));
    let mut late = server.conn();
    assert_eq!(prompt(&mut late, &["PING"]), "+PONG\r\n");
}

#[test]
fn slowloris_clients_hold_only_their_own_workers() {
    let server = Server::start(&[]);
    let port = server.port;
    // Twenty clients each sending one request a byte every 100 ms.
    const SLOW: usize = 20;
    let done = Arc::new(AtomicBool::new(false));
    let slow: Vec<_> = (0..SLOW)
        .map(|i| {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let key = format!("slow{i}");
                let req = encode(&[b"SET", key.as_bytes(), b"hello"]);
                for b in &req {
                    c.send_raw(&[*b]);
                    std::thread::sleep(Duration::from_millis(100));
                }
                let reply = c.read_reply();
                done.store(true, Ordering::Relaxed);
                (req.len(), reply)
            })
        })
        .collect();
    // Meanwhile another client is served promptly, again and again.
    std::thread::sleep(Duration::from_millis(300));
    let mut c = server.conn();
    let mut rounds = 0;
    while !done.load(Ordering::Relaxed) {
        assert_eq!(
            prompt(&mut c, &["INCR", "n"]),
            format!(":{}\r\n", rounds + 1)
        );
        assert_eq!(prompt(&mut c, &["PING"]), "+PONG\r\n");
        rounds += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    for h in slow {
        let (len, reply) = h.join().unwrap();
        assert_eq!(reply, b"+OK\r\n", "after {len} bytes one by one");
    }
    assert!(
        rounds >= 20,
        "only {rounds} rounds while the slow clients wrote"
    );
    for i in 0..SLOW {
        assert_eq!(
            prompt(&mut c, &["GET", &format!("slow{i}")]),
            "$5\r\nhello\r\n"
        );
    }
}

/// The soft limit on open files of this process (the server inherits it).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.split_whitespace().nth(3)?;
    if soft == "unlimited" {
        return Some(u64::MAX);
    }
    soft.parse().ok()
}

#[test]
fn five_thousand_idle_connections_and_the_timeout() {
    const IDLE: usize = 5000;
    let needed = IDLE as u64 + 200;
    match open_files_limit() {
        Some(n) if n >= needed => {}
        other => {
            eprintln!(
                "\n*** SKIPPED five_thousand_idle_connections_and_the_timeout: the open \
                 files limit ({other:?}) is below {needed}; raise it with `ulimit -n` ***\n"
            );
            return;
        }
    }
    let server = Server::start(&[]);
    let mut active = server.conn();
    let mut idle: Vec<TcpStream> = Vec::with_capacity(IDLE);
    let started = Instant::now();
    for i in 0..IDLE {
        let s = TcpStream::connect(("127.0.0.1", server.port))
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        idle.push(s);
        // Paced so the accept queue (std listens with a backlog of 128) never overflows,
        // which would cost a one-second SYN retry; the active client is served promptly
        // all along.
        if (i + 1) % 100 == 0 {
            wait_for(
                "the idle connections to be registered",
                Duration::from_secs(30),
                || connected_clients(&mut active) > i,
            );
            assert_eq!(
                prompt(&mut active, &["SET", "progress", &i.to_string()]),
                "+OK\r\n"
            );
        }
    }
    eprintln!("{IDLE} idle connections open in {:?}", started.elapsed());
    // With all of them open, requests still get prompt replies.
    for i in 0..50 {
        assert_eq!(
            prompt(&mut active, &["INCR", "n"]),
            format!(":{}\r\n", i + 1)
        );
        assert_eq!(prompt(&mut active, &["PING"]), "+PONG\r\n");
    }
    // Any of them can still talk.
    for s in idle.iter_mut().step_by(500) {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(b"PING\r\n").unwrap();
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"+PONG\r\n");
    }

    // The timeout closes the idle ones; the active one, busy, stays.
    assert_eq!(
        prompt(&mut active, &["CONFIG", "SET", "timeout", "2"]),
        "+OK\r\n"
    );
    wait_for(
        "the idle connections to time out",
        Duration::from_secs(30),
        || {
            let n = connected_clients(&mut active);
            std::thread::sleep(Duration::from_millis(200));
            n == 1
        },
    );
    assert_eq!(
        prompt(&mut active, &["CONFIG", "SET", "timeout", "0"]),
        "+OK\r\n"
    );
    for s in idle.iter_mut().step_by(100) {
        assert!(
            closed_within(s, Duration::from_secs(10)),
            "an idle connection was closed"
        );
    }
    assert_eq!(prompt(&mut active, &["GET", "n"]), "$2\r\n50\r\n");
    for s in &idle {
        let _ = s.shutdown(Shutdown::Both);
    }
}

/// A random draw with repeats of more elements than any reply could hold is refused
/// (Redis would build the reply until memory runs out); small ones still work.
#[test]
fn huge_random_draws_are_refused_not_built() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    c.cmd(&["SADD", "s", "a", "b"]);
    c.cmd(&["ZADD", "z", "1", "a"]);
    c.cmd(&["HSET", "h", "f", "v"]);
    let huge = "-9223372036854775807";
    for cmd in [
        &["SRANDMEMBER", "s", huge][..],
        &["ZRANDMEMBER", "z", huge],
        &["ZRANDMEMBER", "z", "-4611686018427387903", "WITHSCORES"],
        &["HRANDFIELD", "h", huge],
        &["SRANDMEMBER", "s", "-1000000000"],
    ] {
        assert_eq!(c.cmd_str(cmd), "-ERR value is out of range\r\n", "{cmd:?}");
    }
    assert_eq!(array_elements(&c.cmd(&["SRANDMEMBER", "s", "-5"])).len(), 5);
    assert_eq!(array_elements(&c.cmd(&["ZRANDMEMBER", "z", "-3"])).len(), 3);
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
}
