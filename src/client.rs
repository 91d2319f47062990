//! Clients: the registry every connection is in, the part of a client other threads may
//! touch ([`ClientHandle`]), and the part only its own connection uses ([`ClientState`]).
//!
//! A handle shares the client's socket: its connection reads from it (through
//! [`ClientHandle::reader`]), and replies are written to it under a mutex, so a reply can
//! be written to a client from any thread (pub/sub messages, a CLIENT KILL) without racing
//! the client's own replies. One socket, one file descriptor per client, as Redis counts
//! them against the open-files limit. Killing a client shuts its socket down, which wakes
//! its connection's blocking read (and fails a write stuck on a client that does not
//! read).

use std::collections::{BTreeMap, HashSet};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::ObufLimit;
use crate::resp::Args;
use crate::socket::{Peer, Socket};
use crate::store::blocking::{Interrupt, Waiter};
use crate::store::watch::WatchFlag;
use crate::store::Key;
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
    /// Bytes in the query buffer: the running batch's while the client's own command
    /// runs, none between batches (`qbuf=`).
    pub qbuf: usize,
    /// What the parser's argument buffers hold (for the memory account).
    pub argv_mem: usize,
    /// What CLIENT LIST's memory figures are computed from (see [`MemModel`]).
    pub mem: MemModel,
    /// Commands queued by MULTI, or -1 outside a transaction.
    pub multi: i64,
    /// Channel, pattern and shard channel subscriptions.
    pub sub: usize,
    pub psub: usize,
    pub ssub: usize,
    /// Whether a watched key changed (CLIENT LIST's `d` flag).
    pub dirty_cas: bool,
    /// Client-side caching: tracking on (`t`), in BCAST mode (`B`), its redirect target
    /// gone (`R`, set by whichever thread finds out), and the target (`redir=`, -1 when
    /// not tracking).
    pub tracking: bool,
    pub tracking_bcast: bool,
    pub tracking_broken: bool,
    pub redirect: i64,
    /// CLIENT NO-EVICT on (`e`).
    pub no_evict: bool,
    /// In MONITOR mode.
    pub monitor: bool,
    /// `S` for a replica of ours, `M` for our master's link.
    pub repl_flag: Option<char>,
    /// Sleeping in a blocking command (`b`).
    pub blocked: bool,
    /// The user it runs as (`user=`; empty: `default`), and that user's cell id (see
    /// [`crate::acl::UserCell`]), by which ACL DELUSER finds its clients.
    pub user: Vec<u8>,
    pub user_id: u64,
}

/// The shared side of one client.
#[derive(Debug)]
pub struct ClientHandle {
    pub id: u64,
    pub addr: Peer,
    pub local_addr: Peer,
    pub fd: i32,
    pub created: Instant,
    /// Unix ms of the last request, for `idle=` and the `timeout` setting.
    pub last_active_ms: AtomicU64,
    pub info: Mutex<ClientInfo>,
    /// The socket, shared by the connection's reader and the writers.
    socket: Arc<Socket>,
    /// Held while a reply is written, so replies from different threads never interleave.
    write_lock: Mutex<()>,
    killed: AtomicBool,
    /// Output waiting for the client's writer thread, once it has one (see [`Outbox`]).
    outbox: Outbox,
    /// The wait of a blocking command, while the client sleeps in one (CLIENT KILL and
    /// CLIENT UNBLOCK end it).
    waiting: Mutex<Option<Arc<Waiter>>>,
    /// Whether [`ClientHandle::start_writer`] ran: set once, by the client's own
    /// connection thread, which is the one that calls [`ClientHandle::send`].
    has_writer: AtomicBool,
    /// Whether the client speaks RESP3, for the threads that encode messages to it
    /// (PUBLISH, invalidations) without locking its info.
    resp3: AtomicBool,
    /// Replies handed to another thread to send (see [`ClientHandle::hand_off`]) and not
    /// sent yet: until they are, nothing else is written to the socket.
    handoffs: AtomicUsize,
    /// Whether the socket has its send timeout for [`ClientHandle::deliver`].
    bounded: AtomicBool,
}

/// The most the outbox's writer hands the socket at once.
const WRITE_CHUNK: usize = 16 * 1024;

/// How long one write to a client with an outbox may wait for room in its socket (about
/// a scheduler tick): a publisher writing to a subscriber directly waits at most this
/// once, then leaves the rest to the subscriber's writer thread.
const WRITE_STALL: Duration = Duration::from_millis(1);

/// Output queued for a client whose writes must never wait on it: a subscriber, which
/// publishers write to. From its first SUBSCRIBE on, every reply to the client is queued
/// here, in order. A publisher only copies its messages in, then at the end of its read
/// batch sends each subscriber's queue in one write (as Redis writes each client's
/// output once per event-loop pass); whatever the socket does not take at once is left
/// to a writer thread of the subscriber's own, so a subscriber that stops reading holds
/// up nobody for longer than one short send timeout. What is queued counts against
/// Redis's `client-output-buffer-limit` for its class; past it the client is closed, as
/// Redis closes it.
#[derive(Debug, Default)]
struct Outbox {
    state: Mutex<OutboxState>,
    /// Signalled when there is output to send, or the connection ends.
    wake: Condvar,
}

/// What [`ClientHandle::outbox_append`] did with the bytes.
enum Appended<'a> {
    /// The client has no outbox: the caller writes itself.
    Inactive,
    /// Thrown away: the client is closing, or just went over its output limit.
    Dropped,
    /// Queued; the outbox stays locked for the caller to finish with.
    Queued(MutexGuard<'a, OutboxState>),
}

/// Whether a write error only means the socket had no room in time (its send timeout).
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

#[derive(Debug, Default)]
struct OutboxState {
    /// Whether the writer thread runs (then every reply goes through the outbox).
    active: bool,
    buf: Vec<u8>,
    /// Bytes the writer has taken and is writing now (still counted as queued).
    in_flight: usize,
    /// The limit that applies (the pubsub class while subscribed).
    limit: Option<ObufLimit>,
    /// When the queue went over the soft limit, while it stays over.
    soft_since: Option<Instant>,
    /// The connection has ended: the writer sends what is left and stops.
    closed: bool,
    /// The writer is asleep waiting for output. Only then does a publisher wake it: a
    /// busy writer takes everything queued meanwhile in one write anyway.
    idle: bool,
    /// Whether threads other than the writer may write to the socket (it has a send
    /// timeout, so no write can wait long on a client that does not read).
    direct: bool,
}

impl ClientHandle {
    /// A handle for an accepted connection's socket (`stream`, or a clone of it if the
    /// caller reads from another descriptor), TCP or unix.
    pub fn new(id: u64, stream: impl Into<Socket>) -> io::Result<ClientHandle> {
        let socket = stream.into();
        let (addr, local_addr) = socket.addresses()?;
        Ok(ClientHandle {
            id,
            addr,
            local_addr,
            fd: socket.raw_fd(),
            created: Instant::now(),
            last_active_ms: AtomicU64::new(now_ms()),
            info: Mutex::new(ClientInfo {
                resp: 2,
                last_command: "NULL",
                multi: -1,
                redirect: -1,
                ..ClientInfo::default()
            }),
            socket: Arc::new(socket),
            write_lock: Mutex::new(()),
            killed: AtomicBool::new(false),
            outbox: Outbox::default(),
            waiting: Mutex::new(None),
            resp3: AtomicBool::new(false),
            has_writer: AtomicBool::new(false),
            handoffs: AtomicUsize::new(0),
            bounded: AtomicBool::new(false),
        })
    }

    /// Writes already encoded replies, from whichever thread; through the outbox once
    /// the client has one (see [`ClientHandle::start_writer`]).
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        self.await_handoffs();
        // Most clients never get a writer: their replies skip the outbox's lock.
        if self.has_writer.load(Ordering::Acquire) && self.queue(bytes) {
            return Ok(());
        }
        let _turn = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        // Patiently: another thread may just have started the writer, which gives the
        // socket a send timeout.
        self.write_patiently(bytes)
    }

    /// Notes a reply that the client's connection hands to another thread to send (the
    /// AOF's committer, which sends it once what the reply's commands wrote is on disk),
    /// so that the connection can go back to reading. The socket gets a send timeout the
    /// first time, so that [`ClientHandle::deliver`] never waits long on this client.
    pub fn hand_off(&self) {
        self.handoffs.fetch_add(1, Ordering::AcqRel);
        if !self.bounded.swap(true, Ordering::Relaxed) {
            let _ = self.socket.set_write_timeout(Some(WRITE_STALL));
        }
    }

    /// Whether a reply handed off is still to be sent: then the client's next replies
    /// must be handed off too, behind it.
    pub fn has_handoffs(&self) -> bool {
        self.handoffs.load(Ordering::Acquire) > 0
    }

    /// Sends a reply handed off by [`ClientHandle::hand_off`], from the thread it was
    /// handed to, which serves many clients and so must not wait on one: one write,
    /// bounded by the socket's send timeout; what the socket does not take goes to a
    /// writer thread started for the client (as a slow subscriber's output does).
    pub fn deliver(self: &Arc<Self>, bytes: &[u8]) {
        let queued = || self.has_writer.load(Ordering::Acquire) && self.queue(bytes);
        if !self.is_killed() && !queued() {
            let rest = {
                let _turn = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
                match (&*self.socket).write(bytes) {
                    Ok(n) => &bytes[n..],
                    Err(e) if transient(&e) => bytes,
                    Err(_) => {
                        self.kill();
                        &[]
                    }
                }
            };
            if !rest.is_empty() {
                self.start_writer();
                self.queue(rest);
            }
        }
        self.handoffs.fetch_sub(1, Ordering::AcqRel);
    }

    /// Waits until the replies handed off are sent (a few microseconds, or one AOF
    /// round), so that nothing overtakes them.
    fn await_handoffs(&self) {
        let mut tries = 0u32;
        while self.has_handoffs() && !self.is_killed() {
            tries += 1;
            if tries < 64 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }

    fn outbox(&self) -> MutexGuard<'_, OutboxState> {
        self.outbox.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues bytes in the outbox if it is active, and returns whether it was. Closes the
    /// client if the queue passes its output buffer limit.
    pub fn queue(&self, bytes: &[u8]) -> bool {
        match self.outbox_append(bytes) {
            Appended::Inactive => false,
            Appended::Dropped => true,
            Appended::Queued(out) => {
                self.wake_writer(out);
                true
            }
        }
    }

    /// Queues bytes for a subscriber as a publisher does: without waking its writer
    /// thread. Returns whether they were queued: then the caller must call
    /// [`ClientHandle::flush_outbox`] once it has queued all it will for now (see
    /// [`Published`]).
    pub fn queue_for_flush(&self, bytes: &[u8]) -> bool {
        matches!(self.outbox_append(bytes), Appended::Queued(_))
    }

    /// Sends what is queued from the calling thread in one write, as Redis writes each
    /// client's pending output once per pass of its event loop, instead of waking the
    /// writer thread for every message. What the socket does not take within
    /// [`WRITE_STALL`], and everything while the writer is busy, is left to the writer.
    pub fn flush_outbox(&self) {
        let mut out = self.outbox();
        if out.buf.is_empty() {
            return;
        }
        if out.direct && out.in_flight == 0 && !out.closed && !self.is_killed() {
            match (&*self.socket).write(&out.buf) {
                Ok(n) => drop(out.buf.drain(..n)),
                Err(e) if transient(&e) => {}
                Err(_) => {
                    drop(out);
                    self.kill();
                    return;
                }
            }
            if out.buf.is_empty() {
                return;
            }
        }
        self.wake_writer(out);
    }

    /// Wakes the writer thread if it sleeps (a busy one finds the new output itself).
    fn wake_writer(&self, mut out: MutexGuard<'_, OutboxState>) {
        let idle = std::mem::take(&mut out.idle);
        drop(out);
        if idle {
            self.outbox.wake.notify_one();
        }
    }

    /// Appends to the outbox if it is active, enforcing the output buffer limit.
    fn outbox_append(&self, bytes: &[u8]) -> Appended<'_> {
        let mut out = self.outbox();
        if !out.active {
            return Appended::Inactive;
        }
        if out.closed || self.is_killed() {
            return Appended::Dropped;
        }
        out.buf.extend_from_slice(bytes);
        let queued = (out.buf.len() + out.in_flight) as u64;
        let over = match out.limit {
            Some(limit) if limit.hard > 0 && queued > limit.hard => true,
            Some(limit) if limit.soft > 0 && queued > limit.soft => {
                let since = *out.soft_since.get_or_insert_with(Instant::now);
                since.elapsed().as_secs() as i64 > limit.seconds
            }
            _ => {
                out.soft_since = None;
                false
            }
        };
        if over {
            out.buf = Vec::new();
            drop(out);
            self.kill();
            return Appended::Dropped;
        }
        Appended::Queued(out)
    }

    /// Sets the output buffer limit that applies to the queue (`None`: none).
    pub fn set_output_limit(&self, limit: Option<ObufLimit>) {
        self.outbox().limit = limit;
    }

    /// Starts the client's writer thread, if it has none yet: from now on every reply
    /// goes through the outbox. Called by the client's own connection thread before it
    /// queues anything, so no earlier reply can overtake a queued one; or by a tracking
    /// client for its redirect target, whose pushes are not ordered with its replies
    /// (the write lock keeps the two from interleaving within a write).
    pub fn start_writer(self: &Arc<Self>) {
        let mut out = self.outbox();
        if out.active {
            return;
        }
        out.active = true;
        // With a bound on how long a write may wait, other threads may write to the
        // socket directly (see `flush_outbox`).
        out.direct = self.socket.set_write_timeout(Some(WRITE_STALL)).is_ok();
        self.has_writer.store(true, Ordering::Release);
        drop(out);
        let handle = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(format!("client-{}-writer", self.id))
            .spawn(move || handle.write_loop());
        if spawned.is_err() {
            self.kill();
        }
    }

    /// The writer thread: sends queued output until the connection ends.
    fn write_loop(&self) {
        loop {
            let mut out = self.outbox();
            while out.buf.is_empty() && !out.closed && !self.is_killed() {
                out.idle = true;
                out = self
                    .outbox
                    .wake
                    .wait(out)
                    .unwrap_or_else(|e| e.into_inner());
            }
            out.idle = false;
            if out.buf.is_empty() || self.is_killed() {
                return;
            }
            let batch = std::mem::take(&mut out.buf);
            out.in_flight = batch.len();
            drop(out);
            // In chunks, so that what counts against the limit is what the socket has
            // not taken yet (Redis counts its unsent replies), not the whole batch until
            // its last byte is out.
            for chunk in batch.chunks(WRITE_CHUNK) {
                let written = {
                    let _turn = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
                    self.write_patiently(chunk)
                };
                if written.is_err() {
                    self.kill();
                    return;
                }
                let mut out = self.outbox();
                out.in_flight = out.in_flight.saturating_sub(chunk.len());
            }
        }
    }

    /// Writes all of `bytes`, waiting for the client to read as long as it stays
    /// connected (the socket's send timeout only bounds each single write).
    fn write_patiently(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match (&*self.socket).write(bytes) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if transient(&e) && !self.is_killed() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Turns Nagle's algorithm back on for this socket (`repl-disable-tcp-nodelay yes`
    /// on a replica's link: fewer, larger packets, more latency); nothing for a unix
    /// socket.
    pub fn disable_nodelay(&self) {
        let _ = self.socket.set_nodelay(false);
    }

    /// Ends the outbox: the writer sends what is queued, then stops.
    pub fn close_outbox(&self) {
        self.outbox().closed = true;
        self.outbox.wake.notify_all();
    }

    /// What the client's buffers hold, for the memory account (CLIENT LIST's
    /// `tot-mem`).
    pub fn memory(&self) -> usize {
        16 * 1024 + self.info().argv_mem + self.outbox_len()
    }

    /// Bytes queued for the client (CLIENT LIST's `omem`).
    pub fn outbox_len(&self) -> usize {
        let out = self.outbox();
        out.buf.len() + out.in_flight
    }

    /// A reader of the client's socket, for its connection.
    pub fn reader(&self) -> SocketReader {
        SocketReader(Arc::clone(&self.socket))
    }

    /// The shared info (name, db...), recovering from a poisoned lock.
    pub fn info(&self) -> MutexGuard<'_, ClientInfo> {
        self.info.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes the connection: its reader wakes with end-of-file and cleans up. Takes no
    /// lock, so a writer blocked on a client that does not read cannot hold it up.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        let _ = self.socket.shutdown(Shutdown::Both);
        // Taking the lock first means the writer is either waiting (and is woken) or has
        // yet to check `killed`.
        drop(self.outbox());
        self.outbox.wake.notify_all();
        self.interrupt_wait(Interrupt::Killed);
    }

    /// Whether the client speaks RESP3.
    pub fn is_resp3(&self) -> bool {
        self.resp3.load(Ordering::Relaxed)
    }

    /// Records the client's protocol version.
    pub fn set_protocol(&self, version: u8) {
        self.resp3.store(version >= 3, Ordering::Relaxed);
        self.info().resp = version;
    }

    /// Records the wait the client sleeps in (`None` when it ends).
    pub fn set_waiting(&self, waiter: Option<Arc<Waiter>>) {
        *self.waiting.lock().unwrap_or_else(|e| e.into_inner()) = waiter;
        if self.is_killed() {
            self.interrupt_wait(Interrupt::Killed);
        }
    }

    /// Ends the client's blocking wait, if it is in one. Returns whether it was.
    pub fn interrupt_wait(&self, why: Interrupt) -> bool {
        let waiting = self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        waiting.is_some_and(|w| w.interrupt(why))
    }

    /// Whether the peer has closed the connection, looked at without reading (a blocked
    /// client about to be served: an element given to a closed connection would be
    /// lost). A client with a writer thread is assumed alive: its socket must stay
    /// blocking for the writer.
    pub fn peer_closed(&self) -> bool {
        if self.is_killed() {
            return true;
        }
        if self.outbox().active {
            return false;
        }
        let _turn = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.socket.set_nonblocking(true).is_err() {
            return false;
        }
        let peeked = self.socket.peek(&mut [0u8; 1]);
        let _ = self.socket.set_nonblocking(false);
        match peeked {
            Ok(n) => n == 0,
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ),
        }
    }

    /// Whether the client connects from the loopback interface (Redis's `connIsLocal`),
    /// which protected mode and `enable-protected-configs local` care about; a unix
    /// socket client is local, as Redis's `islocalClient` says.
    pub fn is_local(&self) -> bool {
        self.addr.ip().is_none_or(is_local_address)
    }

    /// Whether [`ClientHandle::kill`] was called.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// One CLIENT LIST line (without the trailing newline), in Redis 7.0's field order.
    pub fn list_line(&self, now: u64) -> String {
        self.list_line_running(now, None)
    }

    /// [`ClientHandle::list_line`] while a command runs: `cmd=` names it (by its full
    /// name, `config|get`), as Redis's client info does once a command is looked up.
    pub fn list_line_running(&self, now: u64, running: Option<&'static str>) -> String {
        let mut info = self.info().clone();
        if let Some(name) = running {
            info.last_command = name;
        }
        let idle_ms = now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed));
        let idle = idle_ms / 1000;
        let omem = self.outbox_len();
        let (qbuf_free, argv_mem, multi_mem, tot_mem) = memory_figures(&info, idle_ms, omem);
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll=0 omem={} tot-mem={} events=r cmd={} user={} redir={} resp={}",
            self.id,
            self.addr,
            self.local_addr,
            self.fd,
            String::from_utf8_lossy(&info.name),
            self.created.elapsed().as_secs(),
            idle,
            client_flags(&info, self.addr.is_unix()),
            info.db,
            info.sub,
            info.psub,
            info.ssub,
            info.multi,
            info.qbuf,
            qbuf_free,
            argv_mem,
            multi_mem,
            info.mem.reply_buffer(),
            info.mem.reply_peak,
            info.mem.obl,
            omem,
            tot_mem,
            info.last_command,
            if info.user.is_empty() {
                "default".into()
            } else {
                String::from_utf8_lossy(&info.user)
            },
            info.redirect,
            info.resp,
        )
    }
}

/// What Redis 7.0's CLIENT LIST memory figures (`qbuf-free`, `argv-mem`, `multi-mem`,
/// `tot-mem`) count, kept as Redis's allocations would be: its figures describe its own
/// buffers (a 16 KiB read grows the query buffer to a 20 KiB jemalloc block, a queued
/// command costs its argument bytes plus a pointer each...), so they are computed by
/// Redis's formulas (`catClientInfoString`, `getClientMemoryUsage`) from what the client
/// did, not measured on redlite's own buffers.
#[derive(Debug, Default, Clone)]
pub struct MemModel {
    /// Whether the client has sent anything (its query buffer then has room for a
    /// 16 KiB read).
    pub read_any: bool,
    /// The running or blocked command's argument bytes (`argv-mem`); none between
    /// commands, as Redis frees them.
    pub argv_len_sum: usize,
    /// That command's argument count (a pointer each in `tot-mem`).
    pub argc: usize,
    /// The queued transaction's argument bytes plus a pointer per argument
    /// (`multi-mem`).
    pub multi_mem: usize,
    /// The command slots reserved for it.
    pub multi_slots: usize,
    /// Keys WATCHed.
    pub watched: usize,
    /// The most channels subscribed at once: Redis's per-client dictionary keeps its
    /// table when emptied.
    pub channels_peak: usize,
    /// The same for shard channels.
    pub shard_peak: usize,
    /// The most reply bytes a batch put in the reply buffer since the peak was last
    /// reset (`rbp`, Redis's `buf_peak`).
    pub reply_peak: usize,
    /// The reply buffer's size (`rbs`; 0 until the cron first resizes it: 16 KiB).
    reply_buf: usize,
    /// When the peak was last reset (Unix ms; 0: never, i.e. since the client came).
    peak_reset_ms: u64,
    /// Replies of the running batch not sent yet, while the client's own command runs
    /// (`obl`, up to Redis's 16 KiB static reply buffer).
    pub obl: usize,
}

impl MemModel {
    /// `rbs`: the reply buffer's size.
    pub fn reply_buffer(&self) -> usize {
        if self.reply_buf == 0 {
            REPLY_BUFFER
        } else {
            self.reply_buf
        }
    }

    /// Updates the model after a read batch (the connection calls it with the batch's
    /// reply bytes).
    pub fn after_batch(&mut self, client: &ClientState, reply_bytes: usize) {
        self.read_any = true;
        self.argv_len_sum = 0;
        self.argc = 0;
        self.set_multi(client);
        self.watched = client.watching.len();
        self.note_subscriptions(client);
        self.reply_peak = self.reply_peak.max(reply_bytes.min(self.reply_buffer()));
        self.obl = 0;
    }

    /// Notes the client's subscriptions (their dictionaries keep their largest size).
    pub fn note_subscriptions(&mut self, client: &ClientState) {
        self.read_any = true;
        self.channels_peak = self.channels_peak.max(client.subscriptions.channels.len());
        self.shard_peak = self.shard_peak.max(client.subscriptions.shard.len());
    }

    /// While the client's own command runs (CLIENT INFO, CLIENT LIST) or while it is
    /// blocked: its query buffer holds the batch, its arguments are alive.
    pub fn running(info: &mut ClientInfo, client: &ClientState, pending_replies: usize) {
        info.qbuf = client.batch_bytes;
        info.mem.obl = pending_replies.min(info.mem.reply_buffer());
        info.mem.read_any = true;
        info.mem.argv_len_sum = client.argv_bytes;
        info.mem.argc = client.argc;
        info.mem.set_multi(client);
        info.mem.watched = client.watching.len();
    }

    /// The queued transaction's figures, as Redis's `queueMultiCommand` keeps them: each
    /// command's argument bytes and pointers, in slots reserved two, then doubling.
    fn set_multi(&mut self, client: &ClientState) {
        let queued = client.multi.as_ref().map_or(&[][..], |m| &m.queued[..]);
        self.multi_mem = queued
            .iter()
            .map(|q| q.data_len() + POINTER * q.len())
            .sum();
        self.multi_slots = if queued.is_empty() {
            0
        } else {
            queued.len().next_power_of_two().max(2)
        };
    }
}

/// Redis's reply buffer (`rbs=`) when a client connects, and the most the cron grows it
/// to (`PROTO_REPLY_CHUNK_BYTES`).
const REPLY_BUFFER: usize = 16 * 1024;

/// The least the cron shrinks a reply buffer to (`PROTO_REPLY_MIN_BYTES`).
const REPLY_BUFFER_MIN: usize = 1024;

/// The reply buffer model's settings (DEBUG REPLYBUFFER) and INFO's counters of its
/// resizes.
#[derive(Debug)]
pub struct ReplyBuffers {
    /// `peak-reset-time` in ms (-1: never).
    pub peak_reset_ms: AtomicI64,
    /// `resizing`.
    pub resizing: AtomicBool,
    /// INFO's `reply_buffer_shrinks` and `reply_buffer_expands`.
    pub shrinks: AtomicU64,
    pub expands: AtomicU64,
}

/// Redis's `REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME`.
pub const PEAK_RESET_MS: i64 = 5000;

impl Default for ReplyBuffers {
    fn default() -> ReplyBuffers {
        ReplyBuffers {
            peak_reset_ms: AtomicI64::new(PEAK_RESET_MS),
            resizing: AtomicBool::new(true),
            shrinks: AtomicU64::new(0),
            expands: AtomicU64::new(0),
        }
    }
}

impl ReplyBuffers {
    /// Redis's `clientsCronResizeOutputBuffer` on a client's model (once a second per
    /// client): a buffer whose peak stayed under half of it shrinks to the peak (at
    /// least 1 KiB); one filled to the brim doubles (up to 16 KiB); the peak is reset
    /// every `peak-reset-time`.
    pub fn cron(&self, client: &ClientHandle, now_ms: u64) {
        if !self.resizing.load(Ordering::Relaxed) {
            return;
        }
        let mut info = client.info();
        let m = &mut info.mem;
        let size = m.reply_buffer();
        let new_size = if size / 2 >= REPLY_BUFFER_MIN && m.reply_peak < size / 2 {
            self.shrinks.fetch_add(1, Ordering::Relaxed);
            jemalloc_size(REPLY_BUFFER_MIN.max(m.reply_peak + 1))
        } else if size * 2 < REPLY_BUFFER * 2 && m.reply_peak == size {
            self.expands.fetch_add(1, Ordering::Relaxed);
            jemalloc_size(REPLY_BUFFER.min(size * 2))
        } else {
            0
        };
        if m.peak_reset_ms == 0 {
            m.peak_reset_ms = now_ms.saturating_sub(client.created.elapsed().as_millis() as u64);
        }
        let reset = self.peak_reset_ms.load(Ordering::Relaxed);
        if reset >= 0 && now_ms.saturating_sub(m.peak_reset_ms) >= reset as u64 {
            // The buffer holds nothing between batches: the peak starts again at 0.
            m.reply_peak = 0;
            m.peak_reset_ms = now_ms;
        }
        if new_size != 0 {
            m.reply_buf = new_size;
        }
    }
}

/// jemalloc's size class for an allocation of `n` bytes (Redis's `zmalloc_size`): 8
/// and multiples of 16 up to 128, then four classes per power of two.
fn jemalloc_size(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let lg = usize::BITS - 1 - (n - 1).leading_zeros();
    let step = 1usize << (lg - 2);
    n.div_ceil(step) * step
}

/// The size of the table of a Redis dictionary that has held `peak` entries at most:
/// 4 at first, doubled as it fills.
fn dict_slots(peak: usize) -> usize {
    if peak == 0 {
        0
    } else {
        peak.next_power_of_two().max(4)
    }
}

/// Redis's figures for one client: `(qbuf-free, argv-mem, multi-mem, tot-mem)`.
fn memory_figures(info: &ClientInfo, idle_ms: u64, omem: usize) -> (usize, usize, usize, usize) {
    let m = &info.mem;
    // The query buffer's sds: empty (header and NUL in an 8-byte block) until the first
    // read makes room for 16 KiB (a 16-bit header: 16390 bytes, jemalloc's 20 KiB
    // class); the cron gives the room back after three idle seconds.
    let (qbuf_alloc, qbuf_block) = if !m.read_any {
        (4, 8)
    } else if info.qbuf == 0 && idle_ms >= 3000 {
        (0, 8)
    } else {
        let block = jemalloc_size((info.qbuf.max(16 * 1024)) + 6);
        (block - 6, block)
    };
    let multi_overhead = m.multi_mem + m.multi_slots * MULTI_CMD + m.watched * WATCHED_KEY;
    let pubsub = info.psub * LIST_NODE
        + info.sub * DICT_ENTRY
        + dict_slots(m.channels_peak) * POINTER
        + info.ssub * DICT_ENTRY
        + dict_slots(m.shard_peak) * POINTER;
    let total = omem
        + qbuf_block
        + CLIENT_STRUCT
        + m.reply_buffer()
        + m.argv_len_sum
        + POINTER * m.argc
        + multi_overhead
        + pubsub;
    (
        qbuf_alloc.saturating_sub(info.qbuf),
        m.argv_len_sum,
        m.multi_mem,
        total,
    )
}

/// Sizes of Redis 7.0's structures on a 64-bit build, as `getClientMemoryUsage` adds
/// them: the client struct's jemalloc block, a pointer, a `multiCmd`, a list node with
/// a `watchedKey`, a `dictEntry`.
const CLIENT_STRUCT: usize = 768;
const POINTER: usize = 8;
const MULTI_CMD: usize = 24;
const LIST_NODE: usize = 24;
const WATCHED_KEY: usize = LIST_NODE + 32;
const DICT_ENTRY: usize = 24;

/// CLIENT LIST's `flags=`, in Redis 7.0's order: `O` monitor, `P` subscribed, `x` in MULTI,
/// `b` blocked, `t` tracking, `R` its redirect target gone, `B` broadcast tracking, `d` a
/// watched key changed, `U` a unix socket client, `e` no-evict, or `N` for none of these.
fn client_flags(info: &ClientInfo, unix: bool) -> String {
    let mut flags = String::new();
    flags.extend(info.repl_flag);
    for (on, flag) in [
        (info.monitor, 'O'),
        (info.sub + info.psub + info.ssub > 0, 'P'),
        (info.multi >= 0, 'x'),
        (info.blocked, 'b'),
        (info.tracking, 't'),
        (info.tracking_broken, 'R'),
        (info.tracking_bcast, 'B'),
        (info.dirty_cas, 'd'),
        (unix, 'U'),
        (info.no_evict, 'e'),
    ] {
        if on {
            flags.push(flag);
        }
    }
    if flags.is_empty() {
        flags.push('N');
    }
    flags
}

/// Reads a client's socket, which its [`ClientHandle`] shares (no second descriptor).
#[derive(Debug)]
pub struct SocketReader(Arc<Socket>);

impl Read for SocketReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

/// Whether a peer address is the loopback interface, as Redis's `connIsLocal` decides it
/// (`127.*` or `::1`). An IPv4 loopback peer seen through a dual-stack IPv6 listener
/// (`::ffff:127.0.0.1`) is local too: Redis never sees that form, because it sets
/// `IPV6_V6ONLY` on its IPv6 sockets, and std cannot.
pub fn is_local_address(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback(),
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
    /// Whether the client may run every command. A client is authenticated from the
    /// start if no password was required when it connected (Redis's
    /// `clientSetDefaultAuth`), and by a successful AUTH or HELLO AUTH. Setting a
    /// password later does not log anyone out, as in Redis; removing it lets everyone in
    /// (the dispatcher asks the server whether a password is set at all).
    pub authenticated: bool,
    /// The user it runs as; `None` for the default user (see
    /// [`crate::command::acl::user_of`]).
    pub user: Option<Arc<crate::acl::UserCell>>,
    /// Close the connection once the pending replies are written (QUIT).
    pub close_after_reply: bool,
    /// The last command run, for CLIENT LIST's `cmd=`.
    pub last_command: &'static str,
    pub stats: LocalStats,
    pub handle: Arc<ClientHandle>,
    /// The transaction being queued, between MULTI and EXEC.
    pub multi: Option<Multi>,
    /// Whether EXEC is running the queued commands (blocking commands do not block).
    pub in_exec: bool,
    /// Whether a script is running the command (Redis's `CLIENT_SCRIPT`).
    pub in_script: bool,
    /// While EXEC runs: the commands its transaction propagates, to wrap in MULTI/EXEC.
    pub held_ops: Option<Vec<crate::store::Op>>,
    /// The keys this client WATCHes: (database, key, whether it had already expired).
    pub watching: Vec<(usize, Key, bool)>,
    /// Set when a watched key changes (Redis's `CLIENT_DIRTY_CAS`).
    pub watch_flag: WatchFlag,
    /// The channels and patterns this client is subscribed to.
    pub subscriptions: Subscriptions,
    /// A wait a blocking command registered, for the dispatcher to sleep in once the
    /// lock is released.
    pub blocked: Option<Blocked>,
    /// Client-side caching (CLIENT TRACKING, CLIENT CACHING).
    pub tracking: crate::tracking::ClientTracking,
    /// CLIENT REPLY: OFF drops every reply; SKIP drops the next command's
    /// (`reply_skip_next` becomes `reply_skip` once the SKIP command itself is done).
    pub reply_off: bool,
    pub reply_skip: bool,
    pub reply_skip_next: bool,
    /// Subscribers this client published to, whose output it sends at the end of its
    /// read batch, before it blocks, and when it goes away.
    pub published: Published,
    /// What this connection's calls cost since its last batch (see [`crate::calls`]).
    pub calls: crate::calls::Local,
    /// How long the running blocking command slept, which its statistics leave out.
    pub waited: std::time::Duration,
    /// Bytes of the read batch being run (Redis's query buffer while a command runs).
    pub batch_bytes: usize,
    /// The running command's argument bytes.
    pub argv_bytes: usize,
    /// The running command's argument count.
    pub argc: usize,
    /// The memory account was over `maxmemory` with nothing left to evict when the
    /// running command started (Redis's `server.pre_command_oom_state`): a script's
    /// first `denyoom` write is then refused.
    pub oom_at_start: bool,
    /// This is the link to our master (Redis's `CLIENT_MASTER`): its commands are
    /// applied without replies or refusals.
    pub master: bool,
    /// This is the AOF loader's client (Redis's `CLIENT_ID_AOF`).
    pub aof_loading: bool,
    /// What the client said with REPLCONF, and whether it is a replica of ours.
    pub replconf: crate::replication::ReplConf,
    /// The replication offset after this client's last write (WAIT waits for it).
    pub repl_woff: u64,
}

/// The subscribers a connection queued messages for in its current read batch, each
/// once. Every publisher flushes every subscriber it queued for, even where another
/// publisher's flush may already have sent its messages: that way no subscriber ever
/// waits on a publisher that is held up later in its batch.
#[derive(Debug, Default)]
pub struct Published {
    ids: HashSet<u64>,
    subscribers: Vec<Arc<ClientHandle>>,
}

impl Published {
    /// Notes a subscriber that [`ClientHandle::queue_for_flush`] queued for.
    pub fn add(&mut self, subscriber: &Arc<ClientHandle>) {
        if self.ids.insert(subscriber.id) {
            self.subscribers.push(Arc::clone(subscriber));
        }
    }

    /// Whether no subscriber was noted since the last flush.
    pub fn is_empty(&self) -> bool {
        self.subscribers.is_empty()
    }

    /// Sends each noted subscriber's queue (see [`ClientHandle::flush_outbox`]).
    pub fn flush(&mut self) {
        self.ids.clear();
        for subscriber in self.subscribers.drain(..) {
            subscriber.flush_outbox();
        }
    }
}

/// A blocking command's wait.
pub struct Blocked {
    pub waiter: Arc<Waiter>,
    /// When it times out (`None`: never).
    pub deadline: Option<Instant>,
    /// Writes the reply for a timeout (a null array or a null bulk).
    pub on_timeout: fn(&mut crate::resp::Reply),
}

impl std::fmt::Debug for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blocked")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// A transaction being queued.
#[derive(Debug, Default)]
pub struct Multi {
    /// The requests queued, in order.
    pub queued: Vec<Args>,
    /// Whether a request was refused while queueing (EXEC then answers EXECABORT).
    pub aborted: bool,
}

/// A client's pub/sub subscriptions, in subscription order.
#[derive(Debug, Default)]
pub struct Subscriptions {
    pub channels: Vec<Vec<u8>>,
    pub patterns: Vec<Vec<u8>>,
    /// Shard channels (SSUBSCRIBE).
    pub shard: Vec<Vec<u8>>,
}

impl Subscriptions {
    /// How many subscriptions of every kind: more than 0 puts the client in subscribed
    /// mode (Redis's `CLIENT_PUBSUB` flag).
    pub fn count(&self) -> usize {
        self.plain() + self.shard.len()
    }

    /// How many channels and patterns: the count SUBSCRIBE and PSUBSCRIBE confirm
    /// (Redis's `clientSubscriptionsCount`; shard channels are counted apart).
    pub fn plain(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

impl ClientState {
    /// State for a new connection, not yet authenticated (the connection decides whether
    /// it needs to be).
    pub fn new(handle: Arc<ClientHandle>) -> ClientState {
        ClientState {
            id: handle.id,
            db: 0,
            resp: 2,
            authenticated: false,
            user: None,
            close_after_reply: false,
            last_command: "NULL",
            stats: LocalStats::default(),
            handle,
            multi: None,
            in_exec: false,
            in_script: false,
            held_ops: None,
            watching: Vec::new(),
            watch_flag: WatchFlag::default(),
            subscriptions: Subscriptions::default(),
            blocked: None,
            tracking: Default::default(),
            reply_off: false,
            reply_skip: false,
            reply_skip_next: false,
            published: Published::default(),
            calls: Default::default(),
            waited: std::time::Duration::ZERO,
            batch_bytes: 0,
            argv_bytes: 0,
            argc: 0,
            oom_at_start: false,
            master: false,
            aof_loading: false,
            replconf: Default::default(),
            repl_woff: 0,
        }
    }
}

impl Drop for ClientState {
    /// A connection that ends mid-batch, even by a panic, still sends what it published.
    fn drop(&mut self) {
        self.published.flush();
    }
}

/// Every connected client, by id.
#[derive(Debug, Default)]
pub struct Registry {
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    next_id: AtomicU64,
    /// The reply buffer model every client's figures follow.
    pub reply_buffers: ReplyBuffers,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    #[test]
    fn jemalloc_classes_and_dict_tables() {
        let classes: Vec<usize> = [1, 8, 9, 100, 129, 700, 768, 16390, 65536]
            .iter()
            .map(|&n| jemalloc_size(n))
            .collect();
        assert_eq!(classes, [8, 8, 16, 112, 160, 768, 768, 20480, 65536]);
        let slots: Vec<usize> = [0, 1, 4, 5, 9].iter().map(|&n| dict_slots(n)).collect();
        assert_eq!(slots, [0, 4, 4, 8, 16]);
    }

    #[test]
    fn memory_figures_follow_redis_formulas() {
        // A client that has sent nothing: an empty query buffer (4 bytes free in an
        // 8-byte block), the client struct and the 16 KiB reply buffer (Redis: 17160).
        let mut info = ClientInfo::default();
        assert_eq!(memory_figures(&info, 0, 0), (4, 0, 0, 17160));
        // While its CLIENT INFO runs: 26 bytes read into a 20 KiB block, two arguments
        // of 10 bytes (Redis: qbuf-free 20448, tot-mem 37658).
        info.qbuf = 26;
        info.mem.read_any = true;
        info.mem.argv_len_sum = 10;
        info.mem.argc = 2;
        assert_eq!(memory_figures(&info, 0, 0), (20448, 10, 0, 37658));
        // Idle for three seconds with nothing buffered: the block is given back.
        info.qbuf = 0;
        info.mem.argv_len_sum = 0;
        info.mem.argc = 0;
        assert_eq!(memory_figures(&info, 3000, 0), (0, 0, 0, 17160));
        // Three commands queued in MULTI (29 + 20 + 20 bytes in four slots) and what is
        // waiting for it.
        info.mem.multi_mem = 69;
        info.mem.multi_slots = 4;
        assert_eq!(
            memory_figures(&info, 0, 100),
            (20474, 0, 69, 100 + 20480 + 768 + 16384 + 69 + 4 * 24)
        );
    }

    #[test]
    fn local_addresses_are_the_loopback_ones() {
        for local in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(is_local_address(local.parse().unwrap()), "{local}");
        }
        for remote in [
            "192.0.2.2",
            "10.0.0.1",
            "0.0.0.0",
            "::",
            "::ffff:192.0.2.2",
            "2001:db8::1",
            "fe80::1",
        ] {
            assert!(!is_local_address(remote.parse().unwrap()), "{remote}");
        }
    }

    /// A connected pair: the handle's side (with its writer started) and the peer.
    fn handle_and_peer() -> (Arc<ClientHandle>, TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        let handle = Arc::new(ClientHandle::new(1, ours).unwrap());
        handle.start_writer();
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (handle, peer)
    }

    #[test]
    fn queued_for_flush_output_goes_out_in_order_at_the_flush() {
        let (handle, mut peer) = handle_and_peer();
        assert!(handle.queue_for_flush(b"one "));
        assert!(handle.queue_for_flush(b"two "));
        handle.flush_outbox();
        assert!(handle.queue_for_flush(b"three "));
        // Replies queued meanwhile keep their place between published messages.
        assert!(handle.queue(b"reply "));
        assert!(handle.queue_for_flush(b"four"));
        handle.flush_outbox();
        let mut got = vec![0u8; "one two three reply four".len()];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(got, b"one two three reply four");
        assert_eq!(handle.outbox_len(), 0);
    }

    #[test]
    fn a_publisher_that_goes_away_still_flushes_what_it_published() {
        let (subscriber, mut peer) = handle_and_peer();
        let (publisher, _peer) = handle_and_peer();
        let mut state = ClientState::new(publisher);
        for _ in 0..2 {
            assert!(subscriber.queue_for_flush(b"message"));
            state.published.add(&subscriber);
        }
        assert_eq!(state.published.subscribers.len(), 1, "noted once");
        drop(state);
        let mut got = [0u8; 14];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"messagemessage");
    }

    #[test]
    fn a_flush_to_a_client_that_does_not_read_leaves_the_rest_to_its_writer() {
        let (handle, mut peer) = handle_and_peer();
        // Far more than the socket buffers hold: the flush writes what fits, waits at
        // most one short send timeout, and the writer thread keeps at the rest.
        let chunk = vec![b'x'; 1 << 20];
        let mut total = 0;
        let started = Instant::now();
        for _ in 0..64 {
            handle.queue_for_flush(&chunk);
            handle.flush_outbox();
            total += chunk.len();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "flushes waited on a client that does not read"
        );
        assert!(
            handle.outbox_len() > 0,
            "the socket cannot have taken it all"
        );
        let mut got = 0;
        let mut buf = vec![0u8; 1 << 16];
        while got < total {
            let n = peer.read(&mut buf).unwrap();
            assert!(buf[..n].iter().all(|&b| b == b'x'));
            got += n;
        }
        assert_eq!(got, total);
    }
}
