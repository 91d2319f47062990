//! Test helpers: start redlite (and a reference redis-server) on free ports and talk
//! RESP to them over TCP, comparing raw reply bytes.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod aof;
pub mod diff;
pub mod events;

/// How long any single read may take before the test fails instead of hanging.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// Polls `done` every 10 ms until it is true or `within` has passed; returns whether it
/// came true.
pub fn eventually(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A scratch directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("redlite-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// Everything the server printed so far.
    pub log: Arc<Mutex<String>>,
    /// Keeps the working directory alive for as long as the server.
    pub dir: Option<TempDir>,
}

impl Server {
    /// Starts redlite on port 0 in a fresh temp dir, with saving off unless `args` says
    /// otherwise.
    pub fn start(args: &[&str]) -> Server {
        let dir = TempDir::new("srv");
        let mut server = Server::start_in(dir.path(), args).expect("redlite starts");
        server.dir = Some(dir);
        server
    }

    /// Starts redlite in `dir` with `args` (after a default `--port 0 --save ""`; a
    /// first argument that is not a flag is passed first, as the config file).
    /// Returns the process's stderr if it exits before it is ready.
    pub fn start_in(dir: &Path, args: &[&str]) -> Result<Server, String> {
        Server::start_in_env(dir, args, &[])
    }

    /// [`Server::start_in`] with extra environment variables.
    pub fn start_in_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Server, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_redlite-server"));
        cmd.envs(env.iter().copied());
        // A config file must come first, as with redis-server.
        let (file, args) = match args.split_first() {
            Some((first, rest)) if !first.starts_with("--") => (Some(*first), rest),
            _ => (None, args),
        };
        cmd.args(file);
        cmd.arg("--port")
            .arg("0")
            .arg("--save")
            .arg("")
            .arg("--dir")
            .arg(dir);
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut child = cmd.spawn().expect("spawn redlite-server");
        let stdout = child.stdout.take().expect("stdout");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut port_sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                log2.lock().unwrap().push_str(&line);
                log2.lock().unwrap().push('\n');
                if !port_sent {
                    // `Running mode=standalone, port=N.`, or the logo's `Port: N`.
                    let at = line.split("port=").nth(1).or(line.split("Port: ").nth(1));
                    if let Some(p) = at {
                        let p: String = p.chars().take_while(char::is_ascii_digit).collect();
                        let _ = tx.send(p.parse::<u16>().unwrap_or(0));
                        port_sent = true;
                    }
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(err);
            }
        };
        let server = Server {
            child,
            port,
            log,
            dir: None,
        };
        // Port 0 with a unix socket listens on no TCP port: wait on the socket then.
        match unixsocket_arg(dir, args) {
            Some(path) if port == 0 => server.wait_ready(|| Conn::try_connect_unix(&path)),
            _ => server.wait_ready(|| Conn::try_connect(port)),
        }
        Ok(server)
    }

    fn wait_ready(&self, connect: impl Fn() -> std::io::Result<Conn>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut c) = connect() {
                // A server that asks for a password first is up too.
                let reply = c.cmd(&["PING"]);
                if reply == b"+PONG\r\n" || reply.starts_with(b"-NOAUTH") {
                    // Leave with QUIT and wait for the close, which comes after the
                    // server has forgotten this client, so tests that count clients
                    // see only their own.
                    c.send(&["QUIT"]);
                    let _ = c.read_reply();
                    assert!(c.is_closed());
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server on port {} never answered PING", self.port);
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `--unixsocket` path among a server's `args`, relative ones taken from `dir`.
fn unixsocket_arg(dir: &Path, args: &[&str]) -> Option<PathBuf> {
    let at = args.iter().rposition(|a| *a == "--unixsocket")?;
    args.get(at + 1)
        .filter(|p| !p.is_empty())
        .map(|p| dir.join(p))
}

/// A free TCP port on loopback (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Whether the reference redis-server is on PATH. Without it, differential tests skip
/// loudly, except under `CI=true`, where they fail.
pub fn reference_available(test: &str) -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: redis-server is not installed, and CI=true forbids skipping");
        }
        eprintln!("\n*** SKIPPED {test}: redis-server (7.0) not found on PATH ***\n");
    }
    found
}

/// `INFO server` from whatever listens on `port`; `None` if nothing answers it whole.
fn info_server(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(READ_TIMEOUT)).ok()?;
    // QUIT, so that the server closes the connection once it has answered.
    let mut request = encode(&[b"INFO", b"server"]);
    request.extend_from_slice(&encode(&[b"QUIT"]));
    s.write_all(&request).ok()?;
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).ok()?;
    Some(String::from_utf8_lossy(&reply).into_owned())
}

/// A reference redis-server 7.0 on a free port, killed when dropped.
pub struct Reference {
    child: Child,
    pub port: u16,
    /// Its working directory (`--dir`).
    pub path: PathBuf,
    /// The directory, when it is the server's own.
    _dir: Option<TempDir>,
}

impl Reference {
    pub fn start() -> Reference {
        Reference::start_with(&[])
    }

    /// Starts one in a fresh directory with `extra` flags after the defaults (which they
    /// override).
    pub fn start_with(extra: &[&str]) -> Reference {
        let dir = TempDir::new("ref");
        let mut reference = Reference::start_in(dir.path(), extra);
        reference._dir = Some(dir);
        reference
    }

    /// Starts one working in `dir` (which outlives it), as [`Reference::start_with`].
    pub fn start_in(dir: &Path, extra: &[&str]) -> Reference {
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    // For DEBUG SET-ACTIVE-EXPIRE, where a test needs the reference's
                    // lazy expiry alone.
                    "--enable-debug-command",
                    "local",
                ])
                .arg("--dir")
                .arg(dir)
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let mut child = child;
            let deadline = Instant::now() + Duration::from_secs(10);
            // The port was free a moment ago, but a server another test starts on port 0
            // may take it first: then our redis-server exits, and whatever answers on the
            // port is not ours. Only accept a live child that is really Redis.
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                // Whatever answers may also close the connection (a test's server
                // shutting down on that port): then try again.
                if let Some(info) = info_server(port) {
                    let ours = matches!(child.try_wait(), Ok(None));
                    if ours && info.contains("redis_version:") && !info.contains("redlite_version")
                    {
                        // INFO answers while a dataset loads; PING waits for the end.
                        while Instant::now() < deadline
                            && Conn::try_connect(port)
                                .is_ok_and(|mut c| c.cmd(&["PING"]).starts_with(b"-LOADING"))
                        {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        return Reference {
                            child,
                            port,
                            path: dir.to_path_buf(),
                            _dir: None,
                        };
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("could not start the reference redis-server");
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// SHUTDOWN NOSAVE (its AOF, if on, is flushed and fsynced), then waits for the exit.
    pub fn shutdown(mut self) {
        self.conn().send(&["SHUTDOWN", "NOSAVE"]);
        let _ = self.child.wait();
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A RESP connection that returns replies as raw bytes.
pub struct Conn {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn try_connect(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_nodelay(true)?;
        let reader = BufReader::new(stream.try_clone()?);
        Ok(Conn { stream, reader })
    }

    pub fn connect(port: u16) -> Conn {
        Conn::try_connect(port).expect("connect")
    }

    /// Connects to a unix socket. `stream` stays a `TcpStream`, which the tests use
    /// directly, holding the unix socket's descriptor: its reads, writes, timeouts,
    /// shutdown and peek are plain socket calls, valid on any stream socket (only the
    /// TCP-only ones, `set_nodelay` and the addresses, do not apply).
    pub fn try_connect_unix(path: &Path) -> std::io::Result<Conn> {
        let unix = std::os::unix::net::UnixStream::connect(path)?;
        let stream = TcpStream::from(std::os::fd::OwnedFd::from(unix));
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        let reader = BufReader::new(stream.try_clone()?);
        Ok(Conn { stream, reader })
    }

    /// [`Conn::try_connect_unix`], failing the test if it cannot connect.
    pub fn connect_unix(path: &Path) -> Conn {
        Conn::try_connect_unix(path).expect("connect to the unix socket")
    }

    /// Sends one command as a multibulk request.
    pub fn send(&mut self, args: &[&str]) {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send_bytes(&bytes);
    }

    /// Sends one command with binary arguments.
    pub fn send_bytes(&mut self, args: &[&[u8]]) {
        self.stream.write_all(&encode(args)).expect("write");
    }

    /// Sends raw bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a command and returns its reply's raw bytes.
    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(args);
        self.read_reply()
    }

    /// Sends a command with binary arguments and returns its reply's raw bytes.
    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send_bytes(args);
        self.read_reply()
    }

    /// The port this connection talks to.
    pub fn port(&self) -> u16 {
        self.stream.peer_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Like [`Conn::cmd`], with the reply as a (lossy) string for readable diffs.
    pub fn cmd_str(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cmd(args)).into_owned()
    }

    /// Reads exactly one reply, returning its raw bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        read_value(&mut self.reader, &mut out);
        out
    }

    /// Whether the server closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }
}

/// The value of one field of `INFO persistence`.
pub fn info_field(c: &mut Conn, name: &str) -> String {
    info_field_in(c, "persistence", name)
}

/// The value of one field of an INFO section.
pub fn info_field_in(c: &mut Conn, section: &str, name: &str) -> String {
    let info = String::from_utf8_lossy(&c.cmd(&["INFO", section])).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
        .trim()
        .to_string()
}

/// Encodes a request as RESP multibulk.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    redlite::resp::reply::request(args)
}

fn read_line(r: &mut impl BufRead, out: &mut Vec<u8>) -> Vec<u8> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).expect("read reply line");
    assert!(!line.is_empty(), "connection closed while reading a reply");
    out.extend_from_slice(&line);
    line
}

/// Reads one RESP2/RESP3 value, appending its bytes to `out`.
fn read_value(r: &mut impl BufRead, out: &mut Vec<u8>) {
    let line = read_line(r, out);
    let body = std::str::from_utf8(&line[1..line.len() - 2]).unwrap_or("");
    match line[0] {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {}
        b'$' | b'=' | b'!' => {
            let n: i64 = body.parse().expect("bulk length");
            if n >= 0 {
                let mut buf = vec![0u8; n as usize + 2];
                r.read_exact(&mut buf).expect("bulk body");
                out.extend_from_slice(&buf);
            }
        }
        b'*' | b'~' | b'>' => {
            let n: i64 = body.parse().expect("array length");
            for _ in 0..n.max(0) {
                read_value(r, out);
            }
        }
        b'%' | b'|' => {
            let n: i64 = body.parse().expect("map length");
            for _ in 0..n.max(0) * 2 {
                read_value(r, out);
            }
        }
        other => panic!("unexpected reply type byte {:?}", other as char),
    }
}

/// Splits a raw array reply into its elements' raw bytes (one level).
pub fn array_elements(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut r = BufReader::new(reply);
    let mut header = Vec::new();
    let line = read_line(&mut r, &mut header);
    let n: i64 = std::str::from_utf8(&line[1..line.len() - 2])
        .unwrap()
        .parse()
        .unwrap();
    (0..n.max(0))
        .map(|_| {
            let mut v = Vec::new();
            read_value(&mut r, &mut v);
            v
        })
        .collect()
}
