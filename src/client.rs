//! Clients: the registry every connection is in, the part of a client other threads may
//! touch ([`ClientHandle`]), and the part only its own connection uses ([`ClientState`]).
//!
//! A handle owns the write half of the socket behind a mutex, so a reply can be written
//! to a client from any thread (pub/sub messages, a CLIENT KILL) without racing the
//! client's own replies. Killing a client shuts its socket down, which wakes its
//! connection's blocking read.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::util::now_ms;

/// The mutable, shared facts CLIENT LIST reports.
#[derive(Debug, Default, Clone)]
pub struct ClientInfo {
    pub name: Vec<u8>,
    pub lib_name: Vec<u8>,
    pub lib_ver: Vec<u8>,
    pub db: usize,
    pub last_command: &'static str,
    pub resp: u8,
    /// Bytes waiting in the query buffer and argument buffers, sampled per batch.
    pub qbuf: usize,
    pub argv_mem: usize,
}

/// The shared side of one client.
#[derive(Debug)]
pub struct ClientHandle {
    pub id: u64,
    pub addr: SocketAddr,
    pub local_addr: SocketAddr,
    pub fd: i32,
    pub created: Instant,
    /// Unix ms of the last request, for `idle=` and the `timeout` setting.
    pub last_active_ms: AtomicU64,
    pub info: Mutex<ClientInfo>,
    writer: Mutex<TcpStream>,
    killed: AtomicBool,
}

impl ClientHandle {
    /// A handle for an accepted connection; `stream` is a clone used for writing.
    pub fn new(id: u64, stream: TcpStream) -> io::Result<ClientHandle> {
        #[cfg(unix)]
        let fd = std::os::unix::io::AsRawFd::as_raw_fd(&stream);
        #[cfg(not(unix))]
        let fd = -1;
        Ok(ClientHandle {
            id,
            addr: stream.peer_addr()?,
            local_addr: stream.local_addr()?,
            fd,
            created: Instant::now(),
            last_active_ms: AtomicU64::new(now_ms()),
            info: Mutex::new(ClientInfo {
                resp: 2,
                last_command: "NULL",
                ..ClientInfo::default()
            }),
            writer: Mutex::new(stream),
            killed: AtomicBool::new(false),
        })
    }

    /// Writes already encoded replies, from whichever thread.
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(bytes)
    }

    /// The shared info (name, db...), recovering from a poisoned lock.
    pub fn info(&self) -> MutexGuard<'_, ClientInfo> {
        self.info.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes the connection: its reader wakes with end-of-file and cleans up.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _ = w.shutdown(Shutdown::Both);
    }

    /// Whether [`ClientHandle::kill`] was called.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// One CLIENT LIST line (without the trailing newline), in Redis 7.0's field order.
    pub fn list_line(&self, now: u64) -> String {
        let info = self.info().clone();
        let idle = now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)) / 1000;
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags=N db={} sub=0 psub=0 ssub=0 multi=-1 qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs={} rbp={} obl=0 oll=0 omem=0 tot-mem={} events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.local_addr,
            self.fd,
            String::from_utf8_lossy(&info.name),
            self.created.elapsed().as_secs(),
            idle,
            info.db,
            info.qbuf,
            (16 * 1024usize).saturating_sub(info.qbuf),
            info.argv_mem,
            16 * 1024,
            info.qbuf,
            16 * 1024 + info.argv_mem,
            info.last_command,
            info.resp,
        )
    }
}

/// Counters a connection keeps locally and adds to the server's once per batch, so the
/// hot path touches no shared cache line per command.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalStats {
    pub commands: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
}

/// The state only a client's own connection touches.
#[derive(Debug)]
pub struct ClientState {
    pub id: u64,
    /// The selected database.
    pub db: usize,
    /// The protocol version (2, or 3 after `HELLO 3`).
    pub resp: u8,
    /// Close the connection once the pending replies are written (QUIT).
    pub close_after_reply: bool,
    /// The last command run, for CLIENT LIST's `cmd=`.
    pub last_command: &'static str,
    pub stats: LocalStats,
    pub handle: Arc<ClientHandle>,
}

impl ClientState {
    /// State for a new connection.
    pub fn new(handle: Arc<ClientHandle>) -> ClientState {
        ClientState {
            id: handle.id,
            db: 0,
            resp: 2,
            close_after_reply: false,
            last_command: "NULL",
            stats: LocalStats::default(),
            handle,
        }
    }
}

/// Every connected client, by id.
#[derive(Debug, Default)]
pub struct Registry {
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    next_id: AtomicU64,
}

impl Registry {
    /// A fresh client id (ids start at 1, as in Redis... after its internal clients).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<ClientHandle>>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a client unless `max` are already connected; returns whether it was added.
    pub fn register(&self, handle: Arc<ClientHandle>, max: usize) -> bool {
        let mut clients = self.lock();
        if clients.len() >= max {
            return false;
        }
        clients.insert(handle.id, handle);
        true
    }

    /// Removes a client.
    pub fn unregister(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// A snapshot of every client, by id.
    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.lock().values().cloned().collect()
    }

    /// The client with this id.
    pub fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.lock().get(&id).cloned()
    }
}
