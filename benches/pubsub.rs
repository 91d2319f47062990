//! Pub/sub fan-out throughput, redlite next to a reference redis-server.
//!
//! 50 subscribers listen on one channel; one publisher pipelines N `PUBLISH`es (a fixed
//! 64-byte payload). The clock runs from the first PUBLISH written until every
//! subscriber has received all N messages; the figure is messages delivered per second
//! at the subscribers (N x 50 / elapsed). Both servers run the same workload, one after
//! the other, and a markdown table compares them.
//!
//! ```text
//! cargo bench --bench pubsub
//! PUBSUB_BENCH_MESSAGES=50000 PUBSUB_BENCH_SUBSCRIBERS=50 cargo bench --bench pubsub
//! REDLITE_PORT=7206 REDIS_PORT=7106 cargo bench --bench pubsub   # servers already up
//! ```
//!
//! Without `REDLITE_PORT` the bench starts the `redlite-server` binary Cargo built next
//! to it; without `REDIS_PORT` it starts `redis-server` from PATH (and leaves Redis out
//! if there is none). Servers it starts are killed at the end. Std only, no harness.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const PAYLOAD: &[u8] = &[b'p'; 64];
const CHANNEL: &[u8] = b"bench";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A server process the bench started, killed on drop.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A multibulk request.
fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Waits until the server on `port` answers PING.
fn wait_ready(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 7];
            if s.write_all(&request(&[b"PING"])).is_ok()
                && s.read_exact(&mut buf).is_ok()
                && &buf == b"+PONG\r\n"
            {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The port of a server to measure: `var`'s, or one started with `program`.
fn server(var: &str, program: &str) -> Option<(u16, Option<Started>)> {
    if let Some(port) = std::env::var(var).ok().and_then(|p| p.parse().ok()) {
        return Some((port, None));
    }
    let port = free_port();
    let child = Command::new(program)
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let started = Started(child);
    wait_ready(port).then_some((port, Some(started)))
}

/// One run against the server on `port`: returns the elapsed time until every
/// subscriber had every message.
fn run(port: u16, messages: usize, subscribers: usize) -> Duration {
    // Every `message` frame has the same length, so a subscriber counts bytes.
    let frame_len = format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{}\r\n${}\r\n",
        CHANNEL.len(),
        String::from_utf8_lossy(CHANNEL),
        PAYLOAD.len()
    )
    .len()
        + PAYLOAD.len()
        + 2;
    let ready = Arc::new(Barrier::new(subscribers + 1));
    let readers: Vec<_> = (0..subscribers)
        .map(|_| {
            let ready = Arc::clone(&ready);
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                s.write_all(&request(&[b"SUBSCRIBE", CHANNEL])).unwrap();
                let mut r = BufReader::with_capacity(256 * 1024, s);
                // The confirmation: *3, $9, subscribe, $5, bench, :1 (six lines).
                for _ in 0..6 {
                    let mut line = Vec::new();
                    r.read_until(b'\n', &mut line).unwrap();
                }
                ready.wait();
                let want = messages * frame_len;
                let mut got = 0;
                let mut buf = vec![0u8; 256 * 1024];
                while got < want {
                    let n = r.read(&mut buf).expect("subscriber read");
                    assert!(n > 0, "subscriber disconnected after {got} bytes");
                    got += n;
                }
                Instant::now()
            })
        })
        .collect();
    ready.wait();
    let mut publisher = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    publisher.set_nodelay(true).unwrap();
    let mut replies = publisher.try_clone().unwrap();
    let drain = std::thread::spawn(move || {
        // Each reply is `:<subscribers>\r\n`.
        let want = messages * format!(":{subscribers}\r\n").len();
        let mut got = 0;
        let mut buf = vec![0u8; 64 * 1024];
        while got < want {
            let n = replies.read(&mut buf).expect("publisher read");
            assert!(n > 0, "publisher disconnected");
            got += n;
        }
    });
    let one = request(&[b"PUBLISH", CHANNEL, PAYLOAD]);
    let batch: Vec<u8> = one.repeat(1000);
    let started = Instant::now();
    let mut sent = 0;
    while sent < messages {
        let n = (messages - sent).min(1000);
        publisher.write_all(&batch[..n * one.len()]).unwrap();
        sent += n;
    }
    drain.join().unwrap();
    let last = readers
        .into_iter()
        .map(|r| r.join().unwrap())
        .max()
        .unwrap();
    last - started
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let messages = env_usize("PUBSUB_BENCH_MESSAGES", 20_000);
    let subscribers = env_usize("PUBSUB_BENCH_SUBSCRIBERS", 50);
    let mut rows = Vec::new();
    for (name, var, program) in [
        (
            "redlite",
            "REDLITE_PORT",
            env!("CARGO_BIN_EXE_redlite-server"),
        ),
        ("redis 7.0", "REDIS_PORT", "redis-server"),
    ] {
        let Some((port, started)) = server(var, program) else {
            eprintln!("{name}: no server (set {var} or install {program}); left out");
            continue;
        };
        // A warm-up run, then the measured one.
        run(port, messages / 10 + 1, subscribers);
        let elapsed = run(port, messages, subscribers);
        let rate = (messages * subscribers) as f64 / elapsed.as_secs_f64();
        rows.push((name, elapsed, rate));
        drop(started);
    }
    println!(
        "\n{messages} PUBLISH x {subscribers} subscribers, {}-byte payload\n",
        PAYLOAD.len()
    );
    println!("| server | elapsed | delivered msg/s |");
    println!("|---|---:|---:|");
    for (name, elapsed, rate) in &rows {
        println!("| {name} | {:.3} s | {rate:.0} |", elapsed.as_secs_f64());
    }
    if let [(_, _, ours), (_, _, theirs)] = rows[..] {
        println!("\nredlite / redis: {:.2}", ours / theirs);
    }
}
