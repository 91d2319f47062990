//! Commands that exist only in unit-test builds, to exercise failure handling.
//!
//! Each one panics on purpose, under one of the three kinds of keyspace access the
//! dispatcher knows, so tests can check that a bug in one command costs one error reply:
//! the connection stays open, the lock is released by the unwinding guard (and its
//! poisoning ignored), and every other client carries on.
//!
//! - `DEBUG-PANIC [key value]`: under the write lock; with a key and value, it first
//!   stores them (a mutation completed before the panic stays, and stays consistent).
//! - `DEBUG-PANIC-READ`: under the read lock.
//! - `DEBUG-PANIC-PLAIN`: with no lock held.
//!
//! [`Session`] runs commands in-process through the dispatcher and shows what each
//! reported: its reply, the keyspace events it fired and the commands it propagated.

use super::flags::*;
use super::{CmdResult, Command, Ctx, Handler};
use crate::client::{ClientHandle, ClientState};
use crate::config::Config;
use crate::resp::{Args, Reply};
use crate::state::Server;
use crate::store::{Keyspace, Store, Value};
use std::sync::Arc;

/// Owned strings, for comparing with what [`Session`] returns.
pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// One client of an in-process server of 16 empty databases, for unit tests of what
/// commands report. The clock is the real one unless `now_ms` is set.
pub struct Session {
    pub server: Server,
    pub client: ClientState,
    /// The time commands see (`None`: now).
    pub now_ms: Option<u64>,
    _peer: std::net::TcpStream,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    pub fn new() -> Session {
        let server = Server::new(Config::default(), Store::new(16), 0);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let peer = listener.accept().unwrap().0;
        let handle = Arc::new(ClientHandle::new(1, stream).unwrap());
        let client = ClientState::new(handle);
        Session {
            server,
            client,
            now_ms: None,
            _peer: peer,
        }
    }

    /// Runs one command; returns its reply as text (RESP, lossy UTF-8).
    pub fn run(&mut self, parts: &[&str]) -> String {
        let mut out = Reply::new();
        let mut ctx = Ctx {
            server: &self.server,
            client: &mut self.client,
            out: &mut out,
            now_ms: self.now_ms.unwrap_or_else(crate::util::now_ms),
        };
        super::execute(&mut ctx, &Args::from_slices(parts));
        String::from_utf8_lossy(out.as_bytes()).into_owned()
    }

    /// The events fired since the last call, as `event key` (`@db` added outside db 0).
    pub fn events(&mut self) -> Vec<String> {
        let events = std::mem::take(&mut *self.server.events.lock().unwrap());
        events
            .iter()
            .map(|e| {
                let at = if e.db == 0 {
                    String::new()
                } else {
                    format!("@{} ", e.db)
                };
                format!("{at}{} {}", e.name, String::from_utf8_lossy(&e.key))
            })
            .collect()
    }

    /// The commands propagated since the last call, as space-separated words, each
    /// preceded by `SELECT n` where its database differs from the previous one's (or,
    /// for the first, from 0).
    pub fn propagated(&mut self) -> Vec<String> {
        let ops = std::mem::take(&mut *self.server.propagated.lock().unwrap());
        let mut lines = Vec::new();
        let mut selected = Some(0);
        for op in ops {
            if selected != Some(op.db) {
                lines.push(format!("SELECT {}", op.db));
                selected = Some(op.db);
            }
            let words: Vec<String> = op
                .argv
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            lines.push(words.join(" "));
        }
        lines
    }

    /// Runs `parts`, and returns (reply, events, propagated) for it alone.
    pub fn check(&mut self, parts: &[&str]) -> (String, Vec<String>, Vec<String>) {
        self.events();
        self.propagated();
        let reply = self.run(parts);
        (reply, self.events(), self.propagated())
    }
}

pub const COMMANDS: &[Command] = &[
    Command::unlisted("debug-panic", -1, WRITE, Handler::Write(debug_panic)),
    Command::unlisted(
        "debug-panic-read",
        1,
        READONLY,
        Handler::Read(debug_panic_read),
    ),
    Command::unlisted("debug-panic-plain", 1, 0, Handler::Plain(debug_panic_plain)),
];

/// ```text
/// DEBUG-PANIC [key value]
/// ```
fn debug_panic(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    if args.len() == 3 {
        ks.db_mut(ctx.client.db)
            .set(&args[1], Value::Str(args[2].to_vec()));
        ks.dirty += 1;
    }
    // Half a reply is already written: the connection must discard it.
    ctx.out.array(2);
    ctx.out.bulk(b"partial");
    panic!("DEBUG-PANIC: a deliberate panic while holding the keyspace write lock");
}

/// ```text
/// DEBUG-PANIC-READ
/// ```
fn debug_panic_read(ctx: &mut Ctx, _ks: &Keyspace, _args: &Args) -> CmdResult {
    ctx.out.array(2);
    panic!("DEBUG-PANIC-READ: a deliberate panic while holding the keyspace read lock");
}

/// ```text
/// DEBUG-PANIC-PLAIN
/// ```
fn debug_panic_plain(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    panic!("DEBUG-PANIC-PLAIN: a deliberate panic holding no lock");
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::{mpsc, Arc};
    use std::thread;
    use std::time::Duration;

    use crate::client::ClientHandle;
    use crate::config::Config;
    use crate::state::Server;
    use crate::store::Store;

    /// A server over 16 empty databases on a loopback listener; each accepted connection
    /// is served by `connection::serve` on its own thread, as the pool would.
    fn start() -> (Arc<Server>, SocketAddr) {
        let server = Arc::new(Server::new(Config::default(), Store::new(16), 0));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepting = Arc::clone(&server);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let id = accepting.clients.next_id();
                let handle = Arc::new(ClientHandle::new(id, stream.try_clone().unwrap()).unwrap());
                assert!(accepting.clients.register(Arc::clone(&handle), usize::MAX));
                let server = Arc::clone(&accepting);
                thread::spawn(move || crate::connection::serve(&server, stream, handle));
            }
        });
        (server, addr)
    }

    struct Client {
        stream: TcpStream,
        reader: BufReader<TcpStream>,
    }

    impl Client {
        fn connect(addr: SocketAddr) -> Client {
            let stream = TcpStream::connect(addr).unwrap();
            // A hang is a failure, not a stuck test.
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let reader = BufReader::new(stream.try_clone().unwrap());
            Client { stream, reader }
        }

        fn send(&mut self, parts: &[&str]) {
            let mut req = format!("*{}\r\n", parts.len());
            for p in parts {
                req.push_str(&format!("${}\r\n{p}\r\n", p.len()));
            }
            self.stream.write_all(req.as_bytes()).unwrap();
        }

        /// One reply of the simple kinds these tests get (status, error, integer, bulk).
        fn reply(&mut self) -> String {
            let mut line = String::new();
            self.reader
                .read_line(&mut line)
                .expect("a reply, not a timeout");
            assert!(!line.is_empty(), "the server closed the connection");
            if let Some(len) = line.strip_prefix('$') {
                let len: i64 = len.trim_end().parse().unwrap();
                if len >= 0 {
                    let mut body = vec![0u8; len as usize + 2];
                    self.reader.read_exact(&mut body).unwrap();
                    line.push_str(&String::from_utf8_lossy(&body));
                }
            }
            line
        }

        fn cmd(&mut self, parts: &[&str]) -> String {
            self.send(parts);
            self.reply()
        }
    }

    const INTERNAL: &str = "-ERR internal error while running the command\r\n";

    #[test]
    fn a_panicking_command_costs_one_error_reply() {
        let (server, addr) = start();
        let mut c1 = Client::connect(addr);
        // Connected before the panic and idle through it.
        let mut c2 = Client::connect(addr);
        assert_eq!(c2.cmd(&["PING"]), "+PONG\r\n");

        assert_eq!(c1.cmd(&["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(c1.cmd(&["DEBUG-PANIC"]), INTERNAL);
        // The same connection carries on, and the lock the panic held is free.
        assert_eq!(c1.cmd(&["GET", "k"]), "$1\r\nv\r\n");
        assert_eq!(c1.cmd(&["PING"]), "+PONG\r\n");
        assert_eq!(c1.cmd(&["SET", "k", "w"]), "+OK\r\n");
        // So does the other one.
        assert_eq!(c2.cmd(&["GET", "k"]), "$1\r\nw\r\n");
        assert_eq!(c2.cmd(&["SET", "k2", "x"]), "+OK\r\n");
        assert_eq!(c2.cmd(&["PING"]), "+PONG\r\n");
        // A client that connects afterwards is served too.
        let mut c3 = Client::connect(addr);
        assert_eq!(c3.cmd(&["DBSIZE"]), ":2\r\n");

        // A mutation finished before the panic stays, and the keyspace stays consistent.
        assert_eq!(c1.cmd(&["DEBUG-PANIC", "k3", "v3"]), INTERNAL);
        assert_eq!(c2.cmd(&["GET", "k3"]), "$2\r\nv3\r\n");
        assert_eq!(c2.cmd(&["DBSIZE"]), ":3\r\n");
        assert_eq!(c2.cmd(&["TYPE", "k3"]), "+string\r\n");

        // Panics under the read lock and under no lock, in the middle of one pipelined
        // batch: each costs its own reply only, the partial reply is discarded, and the
        // requests after it run.
        c1.send(&["SET", "n", "1"]);
        c1.send(&["DEBUG-PANIC-READ"]);
        c1.send(&["INCR", "n"]);
        c1.send(&["DEBUG-PANIC"]);
        c1.send(&["INCR", "n"]);
        c1.send(&["DEBUG-PANIC-PLAIN"]);
        c1.send(&["GET", "n"]);
        let got: Vec<String> = (0..7).map(|_| c1.reply()).collect();
        assert_eq!(
            got,
            [
                "+OK\r\n",
                INTERNAL,
                ":2\r\n",
                INTERNAL,
                ":3\r\n",
                INTERNAL,
                "$1\r\n3\r\n"
            ]
        );

        // The lock is usable directly as well: neither left held nor refused as poisoned
        // (taking it on another thread, so a leaked guard shows as a timeout).
        let (tx, rx) = mpsc::channel();
        let s = Arc::clone(&server);
        thread::spawn(move || {
            let n = s.store.write().db(0).len();
            let m = s.store.read().db(0).len();
            tx.send((n, m)).unwrap();
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), (4, 4));

        // Both connections are still registered and open.
        assert_eq!(server.clients.len(), 3);
        assert_eq!(c1.cmd(&["PING"]), "+PONG\r\n");
        assert_eq!(c2.cmd(&["PING"]), "+PONG\r\n");
        assert_eq!(c3.cmd(&["PING"]), "+PONG\r\n");
        assert_eq!(
            c1.cmd(&["DEBUG-PANIC", "a"]),
            "-ERR internal error while running the command\r\n"
        );
        assert_eq!(server.clients.len(), 3);
    }
}
