//! The two kinds of socket a client connects through: TCP, and the unix domain socket of
//! `unixsocket` (Redis's `anetUnixServer`). Everything above this module handles one
//! [`Socket`] and one [`Peer`] address, whatever the kind, so there is one serve loop.
//!
//! A unix client's address is shown as Redis shows it: the socket's path followed by
//! `:0` (`addr=` and `laddr=` of CLIENT LIST, CLIENT KILL ADDR), and it is local, so
//! protected mode never refuses it.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::persist::aof::manifest::strerror;

/// A connected client socket.
#[derive(Debug)]
pub enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl From<TcpStream> for Socket {
    fn from(stream: TcpStream) -> Socket {
        Socket::Tcp(stream)
    }
}

impl From<UnixStream> for Socket {
    fn from(stream: UnixStream) -> Socket {
        Socket::Unix(stream)
    }
}

impl Read for &Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => (&*s).read(buf),
            Socket::Unix(s) => (&*s).read(buf),
        }
    }
}

impl Write for &Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => (&*s).write(buf),
            Socket::Unix(s) => (&*s).write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Socket {
    /// The peer's address and our end's, as CLIENT LIST shows them (`addr=`, `laddr=`).
    /// Both ends of a unix client are the listening socket's path, as in Redis.
    pub fn addresses(&self) -> io::Result<(Peer, Peer)> {
        match self {
            Socket::Tcp(s) => Ok((Peer::Tcp(s.peer_addr()?), Peer::Tcp(s.local_addr()?))),
            Socket::Unix(s) => {
                let local = s.local_addr()?;
                let path = local.as_pathname().map_or_else(String::new, |p| {
                    p.as_os_str().to_string_lossy().into_owned()
                });
                let path: Arc<str> = path.into();
                Ok((Peer::Unix(Arc::clone(&path)), Peer::Unix(path)))
            }
        }
    }

    /// The descriptor CLIENT LIST shows (`fd=`).
    pub fn raw_fd(&self) -> RawFd {
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
        }
    }

    /// Shuts the socket down, which wakes a read blocked on it.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.shutdown(how),
            Socket::Unix(s) => s.shutdown(how),
        }
    }

    /// Sets or clears non-blocking mode.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_nonblocking(on),
            Socket::Unix(s) => s.set_nonblocking(on),
        }
    }

    /// Bounds how long one write may wait for room (`None`: forever).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_write_timeout(timeout),
            Socket::Unix(s) => s.set_write_timeout(timeout),
        }
    }

    /// Turns Nagle's algorithm off (`true`) or on. A unix socket has no such thing, as
    /// Redis's `connEnableTcpNoDelay` does nothing for it.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_nodelay(on),
            Socket::Unix(_) => Ok(()),
        }
    }

    /// Reads without consuming. std's `UnixStream::peek` is not stable, so a unix
    /// socket is peeked through a duplicate of its descriptor seen as a `TcpStream`:
    /// its `peek` is a plain `recv(MSG_PEEK)`, valid on any stream socket, and the
    /// duplicate shares the original's queue and non-blocking mode.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.peek(buf),
            Socket::Unix(s) => TcpStream::from(OwnedFd::from(s.try_clone()?)).peek(buf),
        }
    }
}

/// A client's address, rendered as Redis renders it: `ip:port` (`[ip]:port` for IPv6),
/// or for a unix socket the socket's path and `:0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    Tcp(SocketAddr),
    Unix(Arc<str>),
}

impl Peer {
    /// The IP address, for a TCP client.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Peer::Tcp(a) => Some(a.ip()),
            Peer::Unix(_) => None,
        }
    }

    /// Whether it is a unix socket client (CLIENT LIST's `U` flag).
    pub fn is_unix(&self) -> bool {
        matches!(self, Peer::Unix(_))
    }

    /// Where a MONITOR line says the command came from: the address, or `unix:` and
    /// the socket's path (Redis's `replicationFeedMonitors`).
    pub fn monitor_origin(&self) -> String {
        match self {
            Peer::Tcp(a) => a.to_string(),
            Peer::Unix(path) => format!("unix:{path}"),
        }
    }

    /// The IP a replica connected from, as Redis's `connPeerToString` words it
    /// (`/unixsocket` for a unix socket).
    pub fn ip_string(&self) -> String {
        match self {
            Peer::Tcp(a) => a.ip().to_string(),
            Peer::Unix(_) => "/unixsocket".to_string(),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(a) => a.fmt(f),
            Peer::Unix(path) => write!(f, "{path}:0"),
        }
    }
}

/// A listening socket.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    /// Waits for the next client.
    pub fn accept(&self) -> io::Result<Socket> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| Socket::Tcp(s)),
            Listener::Unix(l) => l.accept().map(|(s, _)| Socket::Unix(s)),
        }
    }
}

/// The longest unix socket path: `sun_path` holds 108 bytes with its NUL.
const SUN_PATH_MAX: usize = 107;

/// Listens on the unix socket at `path` as Redis's startup does: a file left there
/// (by a server that did not remove it) is removed first, and a non-zero `perm` is
/// applied to the new socket file. The error reads as Redis's `neterr`.
pub fn listen_unix(path: &str, perm: u32) -> Result<UnixListener, String> {
    if path.len() > SUN_PATH_MAX {
        return Err(format!(
            "unix socket path too long ({}), must be under {}",
            path.len(),
            SUN_PATH_MAX + 1
        ));
    }
    // As Redis's `unlink`: whatever fails here, bind says so.
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).map_err(|e| format!("bind: {}", strerror(&e)))?;
    if perm != 0 {
        // Redis ignores a failed chmod too.
        let _ = std::fs::set_permissions(Path::new(path), std::fs::Permissions::from_mode(perm));
    }
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("redlite-socket-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn unix_addresses_render_as_redis_renders_them() {
        let dir = scratch("addr");
        let path = dir.join("s.sock");
        let path = path.to_str().unwrap();
        let listener = listen_unix(path, 0).unwrap();
        let _client = UnixStream::connect(path).unwrap();
        let socket = Listener::Unix(listener).accept().unwrap();
        let (peer, local) = socket.addresses().unwrap();
        assert_eq!(peer.to_string(), format!("{path}:0"));
        assert_eq!(local, peer);
        assert!(peer.is_unix() && peer.ip().is_none());
        assert_eq!(peer.monitor_origin(), format!("unix:{path}"));
        assert_eq!(peer.ip_string(), "/unixsocket");
        let tcp = Peer::Tcp("[::1]:6379".parse().unwrap());
        assert_eq!(tcp.to_string(), "[::1]:6379");
        assert_eq!(tcp.monitor_origin(), "[::1]:6379");
        assert_eq!(tcp.ip_string(), "::1");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_stale_file_is_replaced_and_the_mode_applied() {
        let dir = scratch("stale");
        let path = dir.join("s.sock");
        std::fs::write(&path, b"left over").unwrap();
        let listener = listen_unix(path.to_str().unwrap(), 0o700).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        drop(listener);
        let long = format!("/tmp/{}", "x".repeat(110));
        assert_eq!(
            listen_unix(&long, 0).unwrap_err(),
            "unix socket path too long (115), must be under 108"
        );
        assert_eq!(
            listen_unix(dir.join("no/such/dir.sock").to_str().unwrap(), 0).unwrap_err(),
            "bind: No such file or directory"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_unix_socket_is_peeked_without_consuming() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let socket = Socket::from(a);
        socket.set_nonblocking(true).unwrap();
        let err = socket.peek(&mut [0u8; 1]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        b.write_all(b"x").unwrap();
        assert_eq!(socket.peek(&mut [0u8; 1]).unwrap(), 1);
        socket.set_nonblocking(false).unwrap();
        let mut got = [0u8; 1];
        (&socket).read_exact(&mut got).unwrap();
        assert_eq!(&got, b"x");
        drop(b);
        assert_eq!(socket.peek(&mut [0u8; 1]).unwrap(), 0, "closed peer");
        assert!(socket.set_nodelay(true).is_ok());
    }
}
