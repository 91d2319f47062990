//! `unixsocket` and `unixsocketperm`: clients served over a unix domain socket, as Redis
//! 7.0.15 serves them (its CLIENT LIST fields, MONITOR origin, CLIENT KILL ADDR, the
//! socket file's mode, a stale file replaced at startup and the file removed on
//! SHUTDOWN), compared with a reference redis-server where one is installed.

mod common;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{free_port, Conn, Reference, Server, TempDir};
use pretty_assertions::assert_eq;

/// Starts redlite listening on `dir/redlite.sock` and on no TCP port (port 0).
fn start_unix(dir: &Path, extra: &[&str]) -> (Server, PathBuf) {
    let path = dir.join("redlite.sock");
    let mut args = vec!["--unixsocket", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let server = Server::start_in(dir, &args).expect("redlite starts");
    (server, path)
}

/// Starts redlite on both a free TCP port and `dir/redlite.sock` (another free port if
/// a test's server took the first one meanwhile).
fn start_both(dir: &Path, extra: &[&str]) -> (Server, PathBuf) {
    let path = dir.join("redlite.sock");
    for _ in 0..5 {
        let port = free_port().to_string();
        let mut args = vec!["--unixsocket", path.to_str().unwrap(), "--port", &port];
        args.extend_from_slice(extra);
        if let Ok(server) = Server::start_in(dir, &args) {
            return (server, path);
        }
    }
    panic!("redlite did not start on a free port and a unix socket");
}

/// Waits (boundedly) for the server process to exit and returns whether it did.
fn exited(server: &mut Server) -> bool {
    common::eventually(Duration::from_secs(20), || {
        matches!(server.child.try_wait(), Ok(Some(_)))
    })
}

#[test]
fn port_zero_and_a_unix_socket_serve_commands_pipelines_and_pubsub() {
    let dir = TempDir::new("unix-only");
    let (server, path) = start_unix(dir.path(), &[]);
    let log = server.log_text();
    // As Redis: no TCP listener, so no "Ready to accept connections" line.
    assert!(
        log.contains(&format!(
            "The server is now ready to accept connections at {}",
            path.display()
        )),
        "{log}"
    );
    assert!(!log.contains("* Ready to accept connections"), "{log}");
    let mut c = Conn::connect_unix(&path);
    assert_eq!(c.cmd(&["SET", "k", "v"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "port"]),
        "*2\r\n$4\r\nport\r\n$1\r\n0\r\n"
    );
    assert_eq!(common::info_field_in(&mut c, "server", "tcp_port"), "0");
    let sock = path.to_str().unwrap();
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "unixsocket"]),
        format!("*2\r\n$10\r\nunixsocket\r\n${}\r\n{sock}\r\n", sock.len())
    );
    // A pipeline of 500 requests in one write, its replies in order.
    let mut batch = Vec::new();
    for i in 0..500 {
        let n = i.to_string();
        batch.extend(common::encode(&[b"INCR", b"n"]));
        batch.extend(common::encode(&[b"ECHO", n.as_bytes()]));
    }
    c.send_raw(&batch);
    for i in 0..500 {
        assert_eq!(c.read_reply(), format!(":{}\r\n", i + 1).into_bytes());
        let n = i.to_string();
        assert_eq!(
            c.read_reply(),
            format!("${}\r\n{n}\r\n", n.len()).into_bytes()
        );
    }
    // Pub/sub between two unix clients.
    let mut sub = Conn::connect_unix(&path);
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "ch"]),
        b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(c.cmd(&["PUBLISH", "ch", "hello"]), b":1\r\n");
    assert_eq!(
        sub.read_reply(),
        b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
    );
}

#[test]
fn the_socket_file_has_unixsocketperm_and_replaces_a_stale_file() {
    let dir = TempDir::new("unix-perm");
    let path = dir.path().join("redlite.sock");
    // What a killed server leaves: a socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(std::os::unix::net::UnixStream::connect(&path).is_err());
    let (server, path) = start_unix(dir.path(), &["--unixsocketperm", "750"]);
    let meta = std::fs::metadata(&path).unwrap();
    assert!(meta.file_type().is_socket(), "{meta:?}");
    assert_eq!(meta.permissions().mode() & 0o777, 0o750);
    let mut c = Conn::connect_unix(&path);
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "unixsocketperm"]),
        "*2\r\n$14\r\nunixsocketperm\r\n$3\r\n750\r\n"
    );
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "unixsocketperm", "777"]),
        "-ERR CONFIG SET failed (possibly related to argument 'unixsocketperm') - can't set immutable config\r\n"
    );
    drop(server);
}

#[test]
fn a_relative_path_is_taken_from_dir() {
    let dir = TempDir::new("unix-relative");
    let server = Server::start_in(dir.path(), &["--unixsocket", "rel.sock"]).expect("starts");
    let path = dir.path().join("rel.sock");
    let mut c = Conn::connect_unix(&path);
    // Shown as configured, as Redis shows `server.unixsocket`.
    let info = c.cmd_str(&["CLIENT", "INFO"]);
    assert!(
        info.contains(" addr=rel.sock:0 laddr=rel.sock:0 "),
        "{info}"
    );
    drop(server);
}

#[test]
fn shutdown_removes_the_socket_file() {
    let dir = TempDir::new("unix-shutdown");
    let (mut server, path) = start_unix(dir.path(), &[]);
    let mut c = Conn::connect_unix(&path);
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(c.is_closed());
    assert!(exited(&mut server), "the server did not exit");
    assert!(!path.exists(), "the socket file is left behind");
    assert!(server.log_text().contains("Removing the unix socket file."));
}

#[test]
fn a_socket_that_cannot_be_bound_stops_the_start() {
    let dir = TempDir::new("unix-bad");
    let path = dir.path().join("no/such/dir/redlite.sock");
    let err = match Server::start_in(dir.path(), &["--unixsocket", path.to_str().unwrap()]) {
        Ok(_) => panic!("started without its unix socket"),
        Err(err) => err,
    };
    assert!(
        err.contains("Failed opening Unix socket: bind: No such file or directory"),
        "{err}"
    );
}

#[test]
fn config_set_port_and_bind_leave_the_unix_listener_alone() {
    let dir = TempDir::new("unix-rebind");
    let (server, path) = start_both(dir.path(), &[]);
    let mut tcp = server.conn();
    let mut unix = Conn::connect_unix(&path);
    let port = free_port().to_string();
    assert_eq!(unix.cmd(&["CONFIG", "SET", "port", &port]), b"+OK\r\n");
    assert_eq!(
        unix.cmd(&["CONFIG", "SET", "bind", "127.0.0.1"]),
        b"+OK\r\n"
    );
    assert_eq!(unix.cmd(&["CONFIG", "SET", "port", "0"]), b"+OK\r\n");
    // Existing clients of both kinds stay, and the socket still takes new ones.
    assert_eq!(tcp.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(unix.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(Conn::connect_unix(&path).cmd(&["PING"]), b"+PONG\r\n");
    // CLIENT LIST tells the two kinds apart.
    let list = unix.cmd_str(&["CLIENT", "LIST"]);
    let sock = path.display();
    assert!(
        list.contains(&format!("addr={sock}:0 laddr={sock}:0 ")),
        "{list}"
    );
    assert!(list.contains("flags=U "), "{list}");
    assert!(list.contains("addr=127.0.0.1:"), "{list}");
    assert!(list.contains("flags=N "), "{list}");
}

#[test]
fn redis_cli_connects_with_dash_s() {
    if Command::new("redis-cli").arg("--version").output().is_err() {
        eprintln!("\n*** SKIPPED redis_cli_connects_with_dash_s: redis-cli not found ***\n");
        return;
    }
    let dir = TempDir::new("unix-cli");
    let (_server, path) = start_unix(dir.path(), &[]);
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .arg("-s")
            .arg(&path)
            .args(args)
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(cli(&["PING"]), "PONG\n");
    assert_eq!(cli(&["SET", "from-cli", "yes"]), "OK\n");
    assert_eq!(
        Conn::connect_unix(&path).cmd(&["GET", "from-cli"]),
        b"$3\r\nyes\r\n"
    );
    let flags = cli(&["CLIENT", "INFO"]);
    assert!(flags.contains(" flags=U "), "{flags}");
}

/// A CLIENT LIST / CLIENT INFO reply's text (its length line dropped) with the facts
/// two servers cannot share masked (`id`, `fd`, `age`, `idle`, and `rbp`: Redis's cron
/// resets its reply buffer's peak on its own schedule) and the server's own socket path
/// written `<sock>`.
fn masked(reply: &[u8], sock: &Path) -> String {
    let text = String::from_utf8_lossy(reply);
    let text = text.split_once("\r\n").map_or(&text[..], |(_, body)| body);
    let text = text.replace(sock.to_str().unwrap(), "<sock>");
    text.split(' ')
        .map(|field| match field.split_once('=') {
            // The reply buffer follows each server's cron (diff_introspect checks it).
            Some((k, _)) if ["id", "fd", "age", "idle", "rbs", "rbp", "tot-mem"].contains(&k) => {
                format!("{k}=*")
            }
            _ => field.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A MONITOR line with its timestamp masked and the socket path written `<sock>`.
fn masked_monitor(reply: &[u8], sock: &Path) -> String {
    let text = String::from_utf8_lossy(reply).replace(sock.to_str().unwrap(), "<sock>");
    let rest = text.split_once(' ').map_or(&text[..], |(_, r)| r);
    format!("+T {rest}")
}

#[test]
fn a_unix_client_looks_as_in_redis() {
    if !common::reference_available("a_unix_client_looks_as_in_redis") {
        return;
    }
    let dir = TempDir::new("unix-diff");
    let protected = ["--enable-protected-configs", "local"];
    let (server, ours_path) = start_both(dir.path(), &protected);
    let theirs_path = dir.path().join("reference.sock");
    let mut reference_args = vec!["--unixsocket", theirs_path.to_str().unwrap()];
    reference_args.extend_from_slice(&protected);
    let reference = Reference::start_with(&reference_args);
    let mut ours = Conn::connect_unix(&ours_path);
    let mut theirs = Conn::connect_unix(&theirs_path);
    // CLIENT INFO and CLIENT LIST of a unix client, byte for byte but for the masks.
    for cmd in [&["CLIENT", "INFO"][..], &["CLIENT", "LIST"]] {
        assert_eq!(
            masked(&ours.cmd(cmd), &ours_path),
            masked(&theirs.cmd(cmd), &theirs_path),
            "{cmd:?}"
        );
    }
    // A unix client is local: protected configs are open to it.
    let scratch = dir.path().to_str().unwrap();
    for cmd in [
        &["CONFIG", "SET", "dir", scratch][..],
        &["CONFIG", "GET", "dir"],
    ] {
        assert_eq!(ours.cmd_str(cmd), theirs.cmd_str(cmd), "{cmd:?}");
    }
    // CLIENT KILL by the unix address, from a TCP client: the old form (the first
    // unix client), then the LADDR and ADDR filters (all of them).
    let (mut ctl_ours, mut ctl_theirs) = (server.conn(), reference.conn());
    let (o, t) = (
        format!("{}:0", ours_path.display()),
        format!("{}:0", theirs_path.display()),
    );
    assert_eq!(
        ctl_ours.cmd_str(&["CLIENT", "KILL", &o]),
        ctl_theirs.cmd_str(&["CLIENT", "KILL", &t])
    );
    assert!(ours.is_closed() && theirs.is_closed());
    for filter in ["LADDR", "ADDR"] {
        let mut victims: Vec<(Conn, Conn)> = (0..3)
            .map(|_| {
                (
                    Conn::connect_unix(&ours_path),
                    Conn::connect_unix(&theirs_path),
                )
            })
            .collect();
        for (a, b) in &mut victims {
            assert_eq!(a.cmd(&["PING"]), b.cmd(&["PING"]));
        }
        assert_eq!(
            ctl_ours.cmd_str(&["CLIENT", "KILL", filter, &o]),
            ctl_theirs.cmd_str(&["CLIENT", "KILL", filter, &t]),
            "{filter}"
        );
        for (a, b) in &mut victims {
            assert!(a.is_closed() && b.is_closed(), "{filter}");
        }
    }
    // MONITOR says where a command came from: `unix:` and the socket's path.
    let mut mon_ours = Conn::connect_unix(&ours_path);
    let mut mon_theirs = Conn::connect_unix(&theirs_path);
    assert_eq!(mon_ours.cmd(&["MONITOR"]), mon_theirs.cmd(&["MONITOR"]));
    let (mut ours, mut theirs) = (
        Conn::connect_unix(&ours_path),
        Conn::connect_unix(&theirs_path),
    );
    assert_eq!(ours.cmd(&["SET", "k", "v"]), theirs.cmd(&["SET", "k", "v"]));
    assert_eq!(
        masked_monitor(&mon_ours.read_reply(), &ours_path),
        masked_monitor(&mon_theirs.read_reply(), &theirs_path)
    );
    drop((server, reference));
}
