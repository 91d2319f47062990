//! Security: `requirepass` and AUTH, the protocol limits before authentication, protected
//! mode, the open-files limit and the dump file's mode.
//!
//! Most checks are differential: a reference redis-server 7.0 is started with the same
//! options (password, bind, `ulimit -n`) and every reply is compared byte for byte, with
//! only HELLO's client id masked. Servers are started by this file's own [`Proc`], which
//! can run them under `ulimit` and does not need PING to answer PONG (it answers NOAUTH
//! when a password is set).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::diff::{render, render_cmd};
use common::{free_port, reference_available, Conn, Server, TempDir};
use pretty_assertions::assert_eq;

const REDLITE: &str = env!("CARGO_BIN_EXE_redlite-server");

/// Redis 7.0.15's replies, for the checks that also run without a reference server.
const NOAUTH: &str = "-NOAUTH Authentication required.\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
const NO_PASSWORD_SET: &str = "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n";
const HELLO_NOAUTH: &str = "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n";

// ---------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------

/// A server process (redlite or the reference) with its log, killed when dropped.
struct Proc {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
    _dir: TempDir,
}

/// Why a server did not come up: its exit status, standard output and standard error.
#[derive(Debug)]
struct Exited {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Proc {
    /// redlite with `args` after `--port 0 --save "" --dir <fresh dir>` (a first argument
    /// that is not a flag is the config file and goes first), under `ulimit` if given.
    fn ours(args: &[&str], ulimit: Option<&str>) -> Result<Proc, Exited> {
        let dir = TempDir::new("sec");
        let (file, rest) = split_config_file(args);
        let mut all: Vec<String> = file.iter().map(|f| f.to_string()).collect();
        all.extend(["--port", "0", "--save", ""].map(String::from));
        all.push("--dir".into());
        all.push(dir.path().display().to_string());
        all.extend(rest.iter().map(|a| a.to_string()));
        Proc::spawn(REDLITE, &all, ulimit, dir)
    }

    /// The reference redis-server with the same conventions, on a free port.
    fn reference(args: &[&str], ulimit: Option<&str>) -> Result<Proc, Exited> {
        let mut last = None;
        for _ in 0..5 {
            let dir = TempDir::new("secref");
            let (file, rest) = split_config_file(args);
            let mut all: Vec<String> = file.iter().map(|f| f.to_string()).collect();
            let port = free_port().to_string();
            all.extend(["--port", &port, "--save", "", "--appendonly", "no"].map(String::from));
            all.push("--dir".into());
            all.push(dir.path().display().to_string());
            all.extend(rest.iter().map(|a| a.to_string()));
            match Proc::spawn("redis-server", &all, ulimit, dir) {
                Ok(p) => return Ok(p),
                // A port taken in the meantime: try another.
                Err(e) if e.stdout.contains("Address already in use") => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("an attempt"))
    }

    fn spawn(
        program: &str,
        args: &[String],
        ulimit: Option<&str>,
        dir: TempDir,
    ) -> Result<Proc, Exited> {
        let mut cmd = match ulimit {
            Some(limit) => {
                let mut c = Command::new("bash");
                c.arg("-c")
                    .arg(format!("ulimit {limit} || exit 99; exec \"$@\""))
                    .arg("bash")
                    .arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn a server");
        let stdout = child.stdout.take().expect("stdout");
        let log = Arc::new(Mutex::new(String::new()));
        let log2 = Arc::clone(&log);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut port = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if port.is_none() {
                    if let Some(p) = line.split("port=").nth(1) {
                        let p: String = p.chars().take_while(char::is_ascii_digit).collect();
                        port = p.parse::<u16>().ok();
                    }
                }
                log2.lock().unwrap().push_str(&line);
                log2.lock().unwrap().push('\n');
                if line.contains("Ready to accept connections") {
                    let _ = tx.send(port.unwrap_or(0));
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => {
                let p = Proc {
                    child,
                    port,
                    log,
                    _dir: dir,
                };
                p.wait_listening();
                Ok(p)
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                let mut stderr = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut stderr);
                }
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                let stdout = log.lock().unwrap().clone();
                Err(Exited {
                    code: status.and_then(|s| s.code()),
                    stdout,
                    stderr,
                })
            }
        }
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "port {} never opened", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// The log's messages, without the `pid:role date time mark ` prefix.
    fn messages(&self) -> Vec<String> {
        self.log.lock().unwrap().lines().map(message).collect()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn split_config_file<'a>(args: &'a [&'a str]) -> (Option<&'a str>, &'a [&'a str]) {
    match args.split_first() {
        Some((first, rest)) if !first.starts_with("--") => (Some(*first), rest),
        _ => (None, args),
    }
}

/// A Redis log line's message: what follows `pid:R dd Mon yyyy hh:mm:ss.mmm X `.
fn message(line: &str) -> String {
    line.splitn(7, ' ').nth(6).unwrap_or(line).to_string()
}

/// redlite and the reference with the same options, or `None` (after a loud SKIPPED)
/// without a reference server.
fn pair(test: &str, args: &[&str]) -> Option<(Proc, Proc)> {
    if !reference_available(test) {
        return None;
    }
    let ours = Proc::ours(args, None).expect("redlite starts");
    let theirs = Proc::reference(args, None).expect("redis-server starts");
    Some((ours, theirs))
}

// ---------------------------------------------------------------------------------------
// Sessions: several connections per server, replies compared
// ---------------------------------------------------------------------------------------

/// One step: on connection number `.0` (opened when first used), send `.1`.
type Step = (usize, &'static [&'static str]);

/// HELLO's reply carries the client id, a per-process counter: mask it.
fn mask_id(reply: &[u8]) -> Vec<u8> {
    const KEY: &[u8] = b"$2\r\nid\r\n:";
    let Some(at) = reply.windows(KEY.len()).position(|w| w == KEY) else {
        return reply.to_vec();
    };
    let start = at + KEY.len();
    let end = start + reply[start..].iter().position(|&b| b == b'\r').unwrap_or(0);
    [&reply[..start], b"<id>", &reply[end..]].concat()
}

/// Reads everything the server sends within `wait`, and whether it then closed.
fn drain(stream: &mut TcpStream, wait: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, false);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (out, true),
            Err(_) => return (out, false),
        }
    }
}

/// Runs `steps` against both servers and fails with a diff of every reply that differs.
/// After QUIT, both connections must be closed.
fn run_session(ours: &Proc, theirs: &Proc, steps: &[Step]) {
    let mut conns: Vec<Option<(Conn, Conn)>> = Vec::new();
    let (mut left, mut right, mut differ) = (String::new(), String::new(), Vec::new());
    for (i, &(n, cmd)) in steps.iter().enumerate() {
        if conns.len() <= n {
            conns.resize_with(n + 1, || None);
        }
        let (a, b) = conns[n].get_or_insert_with(|| (ours.conn(), theirs.conn()));
        let ra = mask_id(&a.cmd(cmd));
        let rb = mask_id(&b.cmd(cmd));
        let mut line_a = render(&ra);
        let mut line_b = render(&rb);
        if cmd[0].eq_ignore_ascii_case("quit") {
            line_a.push_str(&format!(" closed={}", a.is_closed()));
            line_b.push_str(&format!(" closed={}", b.is_closed()));
        }
        if line_a != line_b {
            let what = format!("#{i} c{n}: {}", render_cmd(cmd));
            left.push_str(&format!("{what}\n  => {line_a}\n"));
            right.push_str(&format!("{what}\n  => {line_b}\n"));
            differ.push(what);
        }
    }
    assert_eq!(
        left,
        right,
        "{} of {} replies differ (left: redlite, right: redis): {}",
        differ.len(),
        steps.len(),
        differ.join(", ")
    );
}

// ---------------------------------------------------------------------------------------
// AUTH, HELLO AUTH and NOAUTH
// ---------------------------------------------------------------------------------------

#[test]
fn auth_without_a_password_configured() {
    // Works without the reference too: the texts are Redis 7.0.15's.
    let server = Server::start(&[]);
    let mut c = server.conn();
    assert_eq!(c.cmd_str(&["AUTH", "x"]), NO_PASSWORD_SET);
    // The default user is `nopass`: any password is right for it, no other user exists.
    assert_eq!(c.cmd_str(&["AUTH", "default", "x"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["AUTH", "default", ""]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["AUTH", "DEFAULT", "x"]), WRONGPASS);
    assert_eq!(c.cmd_str(&["AUTH", "bob", "x"]), WRONGPASS);
    assert_eq!(c.cmd_str(&["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str(&["AUTH"]),
        "-ERR wrong number of arguments for 'auth' command\r\n"
    );
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");

    let Some((ours, theirs)) = pair("auth_without_a_password_configured", &[]) else {
        return;
    };
    run_session(
        &ours,
        &theirs,
        &[
            (0, &["AUTH", "x"]),
            (0, &["auth", ""]),
            (0, &["AUTH", "default", "x"]),
            (0, &["AUTH", "DEFAULT", "x"]),
            (0, &["AUTH", "bob", "x"]),
            (0, &["AUTH", "", ""]),
            (0, &["AUTH", "a", "b", "c"]),
            (0, &["AUTH", "a", "b", "c", "d"]),
            (0, &["AUTH"]),
            (0, &["HELLO", "2", "AUTH", "default", "anything"]),
            (0, &["HELLO", "2", "AUTH", "bob", "anything"]),
            (0, &["HELLO", "2", "AUTH", "default"]),
            (0, &["HELLO", "AUTH", "default", "x"]),
            (0, &["PING"]),
        ],
    );
}

/// With `requirepass` from the command line: the unauthenticated client's view.
#[test]
fn auth_flows_with_requirepass() {
    let args = ["--requirepass", "s3cret"];
    // Without the reference: the main facts, against Redis 7.0.15's texts.
    let ours = Proc::ours(&args, None).expect("redlite starts");
    let mut c = ours.conn();
    assert_eq!(c.cmd_str(&["PING"]), NOAUTH);
    assert_eq!(c.cmd_str(&["GET", "k"]), NOAUTH);
    assert_eq!(c.cmd_str(&["HELLO"]), HELLO_NOAUTH);
    assert_eq!(c.cmd_str(&["AUTH", "wrong"]), WRONGPASS);
    assert_eq!(c.cmd_str(&["AUTH", "default", "wrong"]), WRONGPASS);
    assert_eq!(c.cmd_str(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    let mut d = ours.conn();
    assert_eq!(d.cmd_str(&["AUTH", "default", "s3cret"]), "+OK\r\n");
    assert_eq!(d.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    let mut q = ours.conn();
    assert_eq!(q.cmd_str(&["QUIT"]), "+OK\r\n");
    assert!(q.is_closed());
    drop(ours);

    let Some((ours, theirs)) = pair("auth_flows_with_requirepass", &args) else {
        return;
    };
    run_session(
        &ours,
        &theirs,
        &[
            // Every command but AUTH, HELLO and QUIT is refused...
            (0, &["PING"]),
            (0, &["GET", "k"]),
            (0, &["SET", "k", "v"]),
            (0, &["CONFIG", "GET", "requirepass"]),
            (0, &["CLIENT", "LIST"]),
            (0, &["COMMAND"]),
            (0, &["SELECT", "1"]),
            // ...after the existence and arity checks, as in Redis.
            (0, &["NOSUCH", "a"]),
            (0, &["GET"]),
            (0, &["GET", "a", "b"]),
            (0, &["CONFIG", "NOPE"]),
            (0, &["CONFIG"]),
            (0, &["AUTH"]),
            (0, &["AUTH", "a", "b", "c"]),
            // HELLO without (good) credentials.
            (0, &["HELLO"]),
            (0, &["HELLO", "2"]),
            (0, &["HELLO", "2", "SETNAME", "x"]),
            (0, &["HELLO", "2", "SETNAME", "a b"]),
            (
                0,
                &["HELLO", "2", "SETNAME", "a b", "AUTH", "default", "s3cret"],
            ),
            (0, &["HELLO", "2", "AUTH", "default", "wrong"]),
            (
                0,
                &["HELLO", "2", "AUTH", "default", "wrong", "SETNAME", "x"],
            ),
            (0, &["HELLO", "2", "AUTH", "bob", "s3cret"]),
            (0, &["HELLO", "2", "AUTH", "default"]),
            (0, &["HELLO", "2", "FOO"]),
            (0, &["HELLO", "4", "AUTH", "default", "s3cret"]),
            (0, &["HELLO", "abc"]),
            (0, &["PING"]),
            // Wrong passwords, near misses included.
            (0, &["AUTH", "wrong"]),
            (0, &["AUTH", "s3cre"]),
            (0, &["AUTH", "s3cret "]),
            (0, &["AUTH", "S3CRET"]),
            (0, &["AUTH", ""]),
            (0, &["AUTH", "default", "wrong"]),
            (0, &["AUTH", "DEFAULT", "s3cret"]),
            (0, &["AUTH", "bob", "s3cret"]),
            (0, &["PING"]),
            // The right one.
            (0, &["AUTH", "s3cret"]),
            (0, &["PING"]),
            (0, &["SET", "k", "v"]),
            // A failed AUTH afterwards does not log the client out.
            (0, &["AUTH", "wrong"]),
            (0, &["GET", "k"]),
            // The username form.
            (1, &["AUTH", "default", "s3cret"]),
            (1, &["GET", "k"]),
            // HELLO AUTH authenticates at once: a later bad option leaves the client in.
            (2, &["HELLO", "2", "AUTH", "default", "s3cret", "FOO"]),
            (2, &["GET", "k"]),
            (
                3,
                &["HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "a b"],
            ),
            (3, &["GET", "k"]),
            (
                4,
                &[
                    "HELLO", "2", "SETNAME", "named", "AUTH", "default", "s3cret",
                ],
            ),
            (4, &["CLIENT", "GETNAME"]),
            (5, &["hello", "2", "auth", "default", "s3cret"]),
            (5, &["CLIENT", "GETNAME"]),
            // QUIT is allowed before authentication, and closes.
            (6, &["QUIT"]),
            (7, &["AUTH", "wrong"]),
            (7, &["QUIT"]),
        ],
    );
}

/// `requirepass` from a config file, with a binary (NUL) byte and quotes.
#[test]
fn requirepass_from_a_config_file() {
    let dir = TempDir::new("seccfg");
    let file = dir.path().join("redis.conf");
    std::fs::write(&file, "requirepass \"it's \\x00 \\\"quoted\\\"\"\n").unwrap();
    let file = file.display().to_string();
    let ours = Proc::ours(&[&file], None).expect("redlite starts");
    let mut c = ours.conn();
    assert_eq!(c.cmd_str(&["GET", "k"]), NOAUTH);
    assert_eq!(c.cmd_str(&["AUTH", "it's "]), WRONGPASS);
    assert_eq!(c.cmd_str(&["AUTH", "it's \0 \"quoted\""]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$-1\r\n");
    drop(ours);

    let Some((ours, theirs)) = pair("requirepass_from_a_config_file", &[&file]) else {
        return;
    };
    run_session(
        &ours,
        &theirs,
        &[
            (0, &["GET", "k"]),
            (0, &["AUTH", "it's "]),
            (0, &["AUTH", "it's \0 \"quoted\"\0"]),
            (0, &["AUTH", "it's \0 \"quoted\""]),
            (0, &["GET", "k"]),
            (0, &["CONFIG", "GET", "requirepass"]),
        ],
    );
}

/// CONFIG SET requirepass at runtime: it applies to clients that connect afterwards;
/// clients already in stay in; an empty password lets everyone in.
#[test]
fn config_set_requirepass_at_runtime() {
    // Without the reference.
    let ours = Proc::ours(&[], None).expect("redlite starts");
    let mut admin = ours.conn();
    assert_eq!(
        admin.cmd_str(&["CONFIG", "SET", "requirepass", "pw1"]),
        "+OK\r\n"
    );
    assert_eq!(admin.cmd_str(&["PING"]), "+PONG\r\n");
    let mut late = ours.conn();
    assert_eq!(late.cmd_str(&["PING"]), NOAUTH);
    assert_eq!(late.cmd_str(&["AUTH", "pw1"]), "+OK\r\n");
    drop(ours);

    let Some((ours, theirs)) = pair("config_set_requirepass_at_runtime", &[]) else {
        return;
    };
    run_session(
        &ours,
        &theirs,
        &[
            (0, &["SET", "k", "v"]),
            // Connected before any password: stays in.
            (1, &["PING"]),
            (0, &["CONFIG", "SET", "requirepass", "pw1"]),
            (0, &["CONFIG", "GET", "requirepass"]),
            (0, &["GET", "k"]),
            (1, &["GET", "k"]),
            (2, &["GET", "k"]),
            (2, &["AUTH", "pw2"]),
            (2, &["AUTH", "pw1"]),
            (2, &["GET", "k"]),
            // A new password: those in stay in, newcomers need the new one.
            (0, &["CONFIG", "SET", "requirepass", "pw2"]),
            (1, &["GET", "k"]),
            (2, &["GET", "k"]),
            (3, &["GET", "k"]),
            (3, &["AUTH", "pw1"]),
            (3, &["HELLO", "2", "AUTH", "default", "pw1"]),
            (3, &["HELLO", "2", "AUTH", "default", "pw2"]),
            (3, &["GET", "k"]),
            // A client that never authenticated...
            (4, &["GET", "k"]),
            // ...is let in once the password is removed, and AUTH says there is none.
            (0, &["CONFIG", "SET", "requirepass", ""]),
            (4, &["GET", "k"]),
            (4, &["AUTH", "pw2"]),
            (4, &["AUTH", "default", "whatever"]),
            (5, &["GET", "k"]),
            // Binary passwords (Redis's own test).
            (0, &["CONFIG", "SET", "requirepass", "abc\0def"]),
            (6, &["AUTH", "abc"]),
            (6, &["AUTH", "abc\0def"]),
            (6, &["GET", "k"]),
            (0, &["CONFIG", "SET", "requirepass", ""]),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// The protocol before authentication
// ---------------------------------------------------------------------------------------

/// Raw requests sent on a fresh connection to a server with a password, and what
/// redlite must answer (Redis 7.0.15's bytes) and whether it then closes.
const RAW_CASES: &[(&[u8], &str, bool)] = &[
    (b"*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n", true),
    (b"*1000000\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n", true),
    (b"*10\r\n", "", false),
    (b"*1\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n", true),
    (b"*1\r\n$100000000\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n", true),
    (b"*1\r\n$16384\r\n", "", false),
    // The general checks come first.
    (b"*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true),
    (b"*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n", true),
    (b"*-5\r\nPING\r\n", NOAUTH, false),
    // Replies to the requests before the bad one are sent first.
    (
        b"PING\r\n*11\r\n",
        "-NOAUTH Authentication required.\r\n-ERR Protocol error: unauthenticated multibulk length\r\n",
        true,
    ),
    (
        b"PING\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n",
        "-NOAUTH Authentication required.\r\n-ERR Protocol error: unauthenticated bulk length\r\n",
        true,
    ),
    (
        b"AUTH wrong\r\n*11\r\n",
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n-ERR Protocol error: unauthenticated multibulk length\r\n",
        true,
    ),
    // An AUTH lifts the limits for the very next request of the same pipeline.
    (b"AUTH pw\r\n*11\r\n$4\r\nPING\r\n", "+OK\r\n", false),
    (b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*1\r\n$20000\r\n", "+OK\r\n", false),
    // Inline requests have only the inline limit.
    (
        b"a b c d e f g h i j k l m n\r\n",
        "-ERR unknown command 'a', with args beginning with: 'b' 'c' 'd' 'e' 'f' 'g' 'h' 'i' 'j' 'k' 'l' 'm' 'n' \r\n",
        false,
    ),
    (b"QUIT\r\nPING\r\n", "+OK\r\n", true),
];

/// Sends each case on a fresh connection (all at once, each on its own thread) and
/// returns what came back within `wait` and whether the server closed.
fn raw_outcomes(port: u16, wait: Duration) -> Vec<(Vec<u8>, bool)> {
    let threads: Vec<_> = RAW_CASES
        .iter()
        .map(|&(input, _, _)| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                s.write_all(input).expect("write");
                drain(&mut s, wait)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn unauthenticated_clients_get_redis_protocol_limits() {
    let ours = Proc::ours(&["--requirepass", "pw"], None).expect("redlite starts");
    let got = raw_outcomes(ours.port, Duration::from_millis(700));
    for ((input, want, closes), (reply, closed)) in RAW_CASES.iter().zip(&got) {
        assert_eq!(
            (render(reply), closed),
            (render(want.as_bytes()), closes),
            "{}",
            render(input)
        );
    }
    // Authenticated, the same requests are not limited.
    let mut c = ours.conn();
    assert_eq!(c.cmd_str(&["AUTH", "pw"]), "+OK\r\n");
    let args: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    let mut cmd = vec!["DEL"];
    cmd.extend(args.iter().map(String::as_str));
    assert_eq!(c.cmd_str(&cmd), ":0\r\n");
    let big = "x".repeat(100_000);
    assert_eq!(c.cmd_str(&["SET", "big", &big]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["STRLEN", "big"]), ":100000\r\n");
    // Without a password there are no such limits.
    let open = Server::start(&[]);
    let mut c = open.conn();
    assert_eq!(c.cmd_str(&cmd), ":0\r\n");
    assert_eq!(c.cmd_str(&["SET", "big", &big]), "+OK\r\n");
    // The server is unharmed.
    let mut c = ours.conn();
    assert_eq!(c.cmd_str(&["AUTH", "pw"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");

    let Some((ours, theirs)) = pair(
        "unauthenticated_clients_get_redis_protocol_limits",
        &["--requirepass", "pw"],
    ) else {
        return;
    };
    let a = raw_outcomes(ours.port, Duration::from_millis(700));
    let b = raw_outcomes(theirs.port, Duration::from_millis(700));
    let show = |v: &[(Vec<u8>, bool)]| -> Vec<String> {
        RAW_CASES
            .iter()
            .zip(v)
            .map(|((input, _, _), (reply, closed))| {
                format!("{} => {} closed={closed}", render(input), render(reply))
            })
            .collect()
    };
    assert_eq!(show(&a), show(&b), "left: redlite, right: redis");
}

// ---------------------------------------------------------------------------------------
// Protected mode
// ---------------------------------------------------------------------------------------

/// This machine's first non-loopback IPv4 address, if it has one.
fn outside_address() -> Option<IpAddr> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().skip_while(|w| *w != "inet").nth(1))
        .filter_map(|a| a.split('/').next()?.parse::<IpAddr>().ok())
        .find(|ip| !ip.is_loopback())
}

/// Connects to `port` on `ip` from `ip` (a non-loopback peer address) and returns what
/// the server sends before it closes (or within 700 ms), after sending `request`.
fn from_outside(ip: IpAddr, port: u16, request: &[u8]) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(SocketAddr::new(ip, port)).expect("connect from outside");
    assert_eq!(s.local_addr().unwrap().ip(), ip);
    if !request.is_empty() {
        s.write_all(request).unwrap();
    }
    drain(&mut s, Duration::from_millis(700))
}

#[test]
fn protected_mode_refuses_strangers() {
    // The decision itself is unit-tested in src/server.rs; this needs a second address.
    let Some(ip) = outside_address() else {
        eprintln!(
            "\n*** SKIPPED protected_mode_refuses_strangers: no non-loopback IPv4 address \
             (the decision is covered by server::tests::protected_mode_decision) ***\n"
        );
        return;
    };
    let denied = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.";
    let both = ip.to_string();
    let binds: [&[&str]; 3] = [
        &["--bind", "0.0.0.0"],
        &["--bind", "*"],
        // Redis 7.0 applies it whatever `bind` says.
        &["--bind", &both, "127.0.0.1"],
    ];
    for bind in binds {
        let ours = Proc::ours(bind, None).expect("redlite starts");
        let (reply, closed) = from_outside(ip, ours.port, b"");
        let text = String::from_utf8_lossy(&reply).into_owned();
        assert!(text.starts_with(denied) && text.ends_with("\r\n"), "{text}");
        assert!(closed, "the stranger is disconnected");
        // Sending a request first changes nothing.
        let (again, _) = from_outside(ip, ours.port, b"PING\r\n");
        assert_eq!(render(&again), render(&reply));
        // Loopback clients are served, and the refusals were counted.
        let mut local = ours.conn();
        assert_eq!(local.cmd_str(&["PING"]), "+PONG\r\n");
        let stats = local.cmd_str(&["INFO", "stats"]);
        assert!(stats.contains("rejected_connections:2\r\n"), "{stats}");
        // Protected mode off, at runtime: the stranger is served.
        assert_eq!(
            local.cmd_str(&["CONFIG", "SET", "protected-mode", "no"]),
            "+OK\r\n"
        );
        assert_eq!(
            from_outside(ip, ours.port, b"PING\r\n"),
            (b"+PONG\r\n".to_vec(), false)
        );
        // On again, and a password: the stranger may try to authenticate.
        local.cmd_str(&["CONFIG", "SET", "protected-mode", "yes"]);
        assert!(from_outside(ip, ours.port, b"").1);
        local.cmd_str(&["CONFIG", "SET", "requirepass", "pw"]);
        assert_eq!(
            from_outside(ip, ours.port, b"PING\r\nAUTH pw\r\nPING\r\n"),
            (format!("{NOAUTH}+OK\r\n+PONG\r\n").into_bytes(), false)
        );
    }
    // --protected-mode no from the start.
    let ours = Proc::ours(&["--bind", "0.0.0.0", "--protected-mode", "no"], None).unwrap();
    assert_eq!(
        from_outside(ip, ours.port, b"PING\r\n"),
        (b"+PONG\r\n".to_vec(), false)
    );
    drop(ours);

    // Byte for byte as redis-server, in each situation.
    if !reference_available("protected_mode_refuses_strangers") {
        return;
    }
    let cases: [&[&str]; 5] = [
        &["--bind", "0.0.0.0"],
        &["--bind", &both, "127.0.0.1"],
        &["--bind", "0.0.0.0", "--protected-mode", "no"],
        &["--bind", "0.0.0.0", "--requirepass", "pw"],
        &[
            "--bind",
            "0.0.0.0",
            "--protected-mode",
            "yes",
            "--requirepass",
            "",
        ],
    ];
    for args in cases {
        let ours = Proc::ours(args, None).expect("redlite starts");
        let theirs = Proc::reference(args, None).expect("redis-server starts");
        for request in [&b""[..], b"PING\r\n", b"AUTH pw\r\nPING\r\n"] {
            let a = from_outside(ip, ours.port, request);
            let b = from_outside(ip, theirs.port, request);
            assert_eq!(
                (render(&a.0), a.1),
                (render(&b.0), b.1),
                "{args:?} {} (left: redlite, right: redis)",
                render(request)
            );
        }
    }
}

/// `dir` and `dbfilename` (protected configs) can be set only as
/// `enable-protected-configs` allows: never by default, from loopback clients only with
/// `local`.
#[test]
fn protected_configs() {
    let ours = Proc::ours(&[], None).expect("redlite starts");
    let dir = ours._dir.path().display().to_string();
    let mut c = ours.conn();
    for (name, value) in [("dir", dir.as_str()), ("dbfilename", "x.rdb")] {
        assert_eq!(
            c.cmd_str(&["CONFIG", "SET", name, value]),
            format!("-ERR CONFIG SET failed (possibly related to argument '{name}') - can't set protected config\r\n")
        );
    }
    drop(ours);
    let local = Proc::ours(
        &[
            "--enable-protected-configs",
            "local",
            "--bind",
            "0.0.0.0",
            "--protected-mode",
            "no",
        ],
        None,
    )
    .expect("redlite starts");
    let set = |stream: &mut TcpStream| {
        stream
            .write_all(b"CONFIG SET dbfilename other.rdb\r\nCONFIG GET dbfilename\r\n")
            .unwrap();
        String::from_utf8_lossy(&drain(stream, Duration::from_millis(500)).0).into_owned()
    };
    let mut lo = TcpStream::connect(("127.0.0.1", local.port)).unwrap();
    assert_eq!(
        set(&mut lo),
        "+OK\r\n*2\r\n$10\r\ndbfilename\r\n$9\r\nother.rdb\r\n"
    );
    if let Some(ip) = outside_address() {
        let mut outside = TcpStream::connect(SocketAddr::new(ip, local.port)).unwrap();
        assert_eq!(
            set(&mut outside),
            "-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config\r\n*2\r\n$10\r\ndbfilename\r\n$9\r\nother.rdb\r\n"
        );
    }
    drop(local);

    let Some((ours, theirs)) = pair("protected_configs", &[]) else {
        return;
    };
    run_session(
        &ours,
        &theirs,
        &[
            (0, &["CONFIG", "SET", "dir", "/"]),
            (0, &["CONFIG", "SET", "dbfilename", "x.rdb"]),
            (0, &["CONFIG", "SET", "hz", "20", "dbfilename", "x.rdb"]),
            (0, &["CONFIG", "GET", "hz"]),
            (0, &["CONFIG", "GET", "dbfilename"]),
            (0, &["CONFIG", "SET", "enable-protected-configs", "yes"]),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// The open-files limit
// ---------------------------------------------------------------------------------------

/// The three warnings of Redis's `adjustOpenFilesLimit` in `messages`.
fn fd_warnings(messages: &[String]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| {
            m.contains("maxclients") && !m.starts_with("Configuration")
                || m.contains("maximum open files")
        })
        .cloned()
        .collect()
}

#[test]
fn maxclients_is_capped_by_the_open_files_limit() {
    // `ulimit -n 100` sets the soft and the hard limit: neither server can go higher.
    let ours = Proc::ours(&[], Some("-n 100")).expect("redlite starts");
    let warnings = fd_warnings(&ours.messages());
    assert_eq!(
        warnings,
        vec![
            "You requested maxclients of 10000 requiring at least 10032 max file descriptors.",
            "Server can't set maximum open files to 10032 because of OS error: Operation not permitted.",
            "Current maximum open files is 100. maxclients has been reduced to 68 to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
        ]
    );
    let mut admin = ours.conn();
    assert_eq!(
        admin.cmd_str(&["CONFIG", "GET", "maxclients"]),
        "*2\r\n$10\r\nmaxclients\r\n$2\r\n68\r\n"
    );
    // More than the limit allows is refused and changes nothing.
    assert_eq!(
        admin.cmd_str(&["CONFIG", "SET", "maxclients", "69"]),
        "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not able to handle the specified number of clients, try with 68\r\n"
    );
    assert_eq!(
        admin.cmd_str(&["CONFIG", "SET", "hz", "20", "maxclients", "1000"]),
        "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not able to handle the specified number of clients, try with 68\r\n"
    );
    assert_eq!(
        admin.cmd_str(&["CONFIG", "GET", "hz"]),
        "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    );
    assert_eq!(
        admin.cmd_str(&["CONFIG", "GET", "maxclients"]),
        "*2\r\n$10\r\nmaxclients\r\n$2\r\n68\r\n"
    );
    // Every one of the 68 clients really gets a descriptor (one each), and the next one
    // is told the server is full instead of waiting in the backlog.
    let mut clients = vec![admin];
    for i in 1..68 {
        let mut c = ours.conn();
        assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n", "client {i}");
        clients.push(c);
    }
    let mut extra = ours.conn();
    let (reply, closed) = drain(&mut extra.stream, Duration::from_secs(5));
    assert_eq!(
        (render(&reply), closed),
        (render(b"-ERR max number of clients reached\r\n"), true)
    );
    // Lower is fine.
    assert_eq!(
        clients[0].cmd_str(&["CONFIG", "SET", "maxclients", "50"]),
        "+OK\r\n"
    );
    drop(clients);

    // A soft limit under a higher hard one: Redis would raise it, std cannot.
    let (_, hard) = own_open_files_limit();
    if hard > 200 {
        let ours = Proc::ours(&["--maxclients", "1000"], Some("-Sn 200")).unwrap();
        let reason = if hard >= 1032 {
            "Function not implemented"
        } else {
            "Operation not permitted"
        };
        assert_eq!(
            fd_warnings(&ours.messages()),
            vec![
                "You requested maxclients of 1000 requiring at least 1032 max file descriptors."
                    .to_string(),
                format!("Server can't set maximum open files to 1032 because of OS error: {reason}."),
                "Current maximum open files is 200. maxclients has been reduced to 168 to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.".to_string(),
            ]
        );
        assert_eq!(
            ours.conn().cmd_str(&["CONFIG", "GET", "maxclients"]),
            "*2\r\n$10\r\nmaxclients\r\n$3\r\n168\r\n"
        );
    }
    // Enough descriptors: nothing logged, nothing changed.
    let ours = Proc::ours(&["--maxclients", "68"], Some("-n 100")).unwrap();
    assert_eq!(fd_warnings(&ours.messages()), Vec::<String>::new());
    drop(ours);

    // Too few to start at all.
    let Err(exited) = Proc::ours(&[], Some("-n 32")) else {
        panic!("redlite started with 32 descriptors");
    };
    assert_eq!(exited.code, Some(1), "{exited:?}");
    assert!(
        exited.stderr.contains("Your current 'ulimit -n' of 32 is not enough for the server to start. Please increase your open file limit to at least 10032. Exiting."),
        "{exited:?}"
    );

    // The same logs and replies as redis-server under the same limit.
    if !reference_available("maxclients_is_capped_by_the_open_files_limit") {
        return;
    }
    let ours = Proc::ours(&[], Some("-n 100")).expect("redlite starts");
    let theirs = Proc::reference(&[], Some("-n 100")).expect("redis-server starts");
    assert_eq!(
        fd_warnings(&ours.messages()),
        fd_warnings(&theirs.messages())
    );
    run_session(
        &ours,
        &theirs,
        &[
            (0, &["CONFIG", "GET", "maxclients"]),
            (0, &["CONFIG", "SET", "maxclients", "69"]),
            (0, &["CONFIG", "SET", "maxclients", "1000"]),
            (0, &["CONFIG", "GET", "maxclients"]),
            (0, &["CONFIG", "SET", "maxclients", "50"]),
            (0, &["CONFIG", "SET", "maxclients", "68"]),
            (0, &["CONFIG", "GET", "maxclients"]),
        ],
    );
    let theirs_exit = Proc::reference(&[], Some("-n 32"))
        .err()
        .expect("redis exits");
    let redis_says = theirs_exit
        .stdout
        .lines()
        .map(message)
        .find(|m| m.contains("not enough for the server to start"))
        .expect("redis-server's message");
    assert!(
        exited.stderr.contains(&redis_says),
        "{redis_says:?} vs {exited:?}"
    );
}

/// This process's soft and hard open-files limits.
fn own_open_files_limit() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let row = text
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .unwrap_or("");
    let mut v = row
        .split_whitespace()
        .map(|n| n.parse().unwrap_or(u64::MAX));
    (v.next().unwrap_or(u64::MAX), v.next().unwrap_or(u64::MAX))
}

// ---------------------------------------------------------------------------------------
// The dump file
// ---------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn the_dump_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start(&[]);
    let dir = server
        .dir
        .as_ref()
        .expect("a temp dir")
        .path()
        .to_path_buf();
    let mut c = server.conn();
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(c.cmd_str(&["SET", "secret", "value"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SAVE"]), "+OK\r\n");
    let dump = dir.join("dump.rdb");
    assert_eq!(format!("{:o}", mode(&dump)), "600");
    // Rewritten by a second SAVE, it stays so.
    assert_eq!(c.cmd_str(&["SET", "other", "value"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SAVE"]), "+OK\r\n");
    assert_eq!(format!("{:o}", mode(&dump)), "600");
    // Also under another name, and with a permissive umask.
    let dir2 = TempDir::new("secdump");
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg("umask 000; exec \"$@\"")
        .arg("bash")
        .arg(REDLITE);
    cmd.args([
        "--port",
        "0",
        "--save",
        "",
        "--dbfilename",
        "mine.rdb",
        "--dir",
    ])
    .arg(dir2.path());
    let ours = Proc::spawn_command(cmd, dir2);
    let mut c = ours.conn();
    assert_eq!(c.cmd_str(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SAVE"]), "+OK\r\n");
    assert_eq!(
        format!("{:o}", mode(&ours._dir.path().join("mine.rdb"))),
        "600"
    );
}

impl Proc {
    /// Starts an already built command line (see [`Proc::spawn`]).
    fn spawn_command(cmd: Command, dir: TempDir) -> Proc {
        let program = cmd.get_program().to_string_lossy().into_owned();
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        Proc::spawn(&program, &args, None, dir).expect("the server starts")
    }
}
