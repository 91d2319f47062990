//! Replication (Redis's replication.c): redlite as a master of replicas, and as a
//! replica of a master, speaking Redis's own protocol so that either side may be a real
//! redis-server.
//!
//! # The stream
//!
//! A master's replication stream is its propagation stream: every command the effects
//! record propagates (see [`crate::consumers`]) is encoded as RESP, with a SELECT where
//! the database changes, and appended to the **backlog** (a ring of the last
//! `repl-backlog-size` bytes) and to each replica's output. The **offset** counts every
//! byte ever appended; a replica acknowledges how far it has applied (`REPLCONF ACK`),
//! which WAIT and `min-replicas-to-write` read.
//!
//! The backlog is created when the first replica connects and freed after
//! `repl-backlog-ttl` seconds without replicas; only while it exists do commands record
//! what to propagate for it.
//!
//! # Replicas of this server ([`master`])
//!
//! `PSYNC <replid> <offset>` continues from the backlog when it can (`+CONTINUE`), else
//! sends a snapshot (`+FULLRESYNC <replid> <offset>`) made by the BGSAVE walk (no fork:
//! see [`crate::persist::save`]), straight to the socket (`repl-diskless-sync`, in the
//! `$EOF:` format) or through the dump file. The replica's share of the stream waits
//! until the snapshot is sent, then goes out through its connection's outbox, whose
//! `client-output-buffer-limit replica` closes a replica that falls too far behind.
//!
//! # This server as a replica ([`replica`])
//!
//! REPLICAOF (or the `replicaof` setting) starts a thread that connects, authenticates,
//! asks for a partial resync and otherwise loads the master's snapshot, then applies the
//! stream through the ordinary dispatcher as the "master client", whose replies go
//! nowhere. What it applies is passed on, byte for byte, to this server's own backlog
//! and replicas (chained replication). Replicas are read-only by default and never
//! expire keys themselves: they wait for the master's DEL.

pub mod failover;
pub mod master;
pub mod replica;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::client::ClientHandle;
use crate::state::Server;
use crate::store::Op;

/// The 40 zeros Redis shows as `master_replid2` when there is none.
const NO_REPLID: &str = "0000000000000000000000000000000000000000";

/// What one replica of this server told us and where it is.
#[derive(Debug)]
pub struct Replica {
    pub id: u64,
    pub handle: Arc<ClientHandle>,
    /// The address to show (REPLCONF ip-address, or the peer's).
    pub ip: String,
    /// REPLCONF listening-port.
    pub port: u16,
    pub state: ReplicaState,
    /// The stream since its snapshot's offset, held until the snapshot is sent (and,
    /// after a diskless one, until its first ACK).
    pending: Vec<u8>,
    /// Online after a diskless snapshot, the stream waits for the replica's first ACK:
    /// a Redis replica finds the end of an `$EOF:` transfer by the mark being the last
    /// bytes it read, so nothing may follow the mark until it has loaded (Redis's
    /// `repl_start_cmd_stream_on_ack`).
    stream_on_ack: bool,
    /// The offset it last acknowledged, and when (Unix seconds).
    pub ack_off: u64,
    pub ack_time: u64,
}

/// Redis's `replstate` of a replica, as INFO names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for a snapshot to start.
    WaitBgsave,
    /// Its snapshot is being sent.
    SendBulk,
    /// Fed the stream.
    Online,
}

impl ReplicaState {
    fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsave => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// The link of a replica to its master (Redis's `repl_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Must connect (the next try comes within a second).
    Connect,
    /// Connecting.
    Connecting,
    /// Exchanging PING, AUTH, REPLCONF and PSYNC.
    Handshake,
    /// Receiving the snapshot.
    Transfer,
    /// Applying the stream.
    Connected,
}

/// This server's master, while it is a replica.
#[derive(Debug)]
pub struct Master {
    pub host: String,
    pub port: u16,
    pub link: Link,
    /// Bumped by each REPLICAOF: a link thread of an older one stops.
    pub generation: u64,
    /// Unix seconds of the last bytes from the master, of the link going down (0:
    /// never up), of the last transfer read.
    pub last_io: u64,
    pub down_since: u64,
    pub transfer_size: i64,
    pub transfer_read: u64,
    pub transfer_last_io: u64,
    /// The master client's handle while connected (ACKs are written through it).
    pub client: Option<Arc<ClientHandle>>,
}

/// The last bytes of the stream.
#[derive(Debug)]
struct Backlog {
    data: VecDeque<u8>,
    /// The offset of `data[0]` (Redis's `repl_backlog->offset`).
    first: u64,
}

/// Everything behind the replication lock.
#[derive(Debug)]
struct State {
    replid: String,
    replid2: String,
    /// The last offset `replid2` is valid for (-1: none).
    second_offset: i64,
    /// `master_repl_offset`: bytes ever appended to the stream.
    offset: u64,
    backlog: Option<Backlog>,
    backlog_size: usize,
    /// The database the stream has selected (Redis's `slaveseldb`).
    selected: Option<usize>,
    replicas: Vec<Replica>,
    /// Since when there is no replica (for `repl-backlog-ttl`).
    alone_since: Instant,
    last_ping: Instant,
    master: Option<Master>,
    generation: u64,
    /// A coordinated FAILOVER under way.
    failover: failover::Failover,
}

/// Replication's shared state (see the module docs).
#[derive(Debug)]
pub struct Replication {
    state: Mutex<State>,
    /// A backlog exists: commands record what to propagate for it.
    active: AtomicBool,
    /// This server is a replica (Redis's `server.masterhost != NULL`).
    replica: AtomicBool,
    /// `master_repl_offset`, readable without the lock.
    offset: AtomicU64,
    /// Signalled when a replica acknowledges (WAIT sleeps on it).
    acked: Condvar,
    /// Settings the dispatcher reads for every write: `replica-read-only`,
    /// `replica-serve-stale-data`, `min-replicas-to-write`, `min-replicas-max-lag`,
    /// `replica-ignore-maxmemory`.
    read_only: AtomicBool,
    serve_stale: AtomicBool,
    min_replicas: AtomicU64,
    max_lag: AtomicU64,
    ignore_maxmemory: AtomicBool,
}

impl Default for Replication {
    fn default() -> Self {
        Replication {
            state: Mutex::new(State {
                replid: random_id(),
                replid2: NO_REPLID.to_string(),
                second_offset: -1,
                offset: 0,
                backlog: None,
                backlog_size: 1 << 20,
                selected: None,
                replicas: Vec::new(),
                alone_since: Instant::now(),
                last_ping: Instant::now(),
                master: None,
                generation: 0,
                failover: failover::Failover::None,
            }),
            active: AtomicBool::new(false),
            replica: AtomicBool::new(false),
            offset: AtomicU64::new(0),
            acked: Condvar::new(),
            read_only: AtomicBool::new(true),
            serve_stale: AtomicBool::new(true),
            min_replicas: AtomicU64::new(0),
            max_lag: AtomicU64::new(10),
            ignore_maxmemory: AtomicBool::new(true),
        }
    }
}

/// `rdb-del-sync-files` with every persistence off (no save points, no AOF: Redis's
/// `allPersistenceDisabled`): a dump file written for a sync is deleted after it.
fn delete_sync_files(server: &Server) -> bool {
    let config = server.config();
    config.is_yes("rdb-del-sync-files") && config.save.is_empty() && !server.aof.enabled()
}

/// 40 random hex characters (a replication ID).
pub fn random_id() -> String {
    let mut rng = crate::util::rand::Rng::from_clock();
    (0..40)
        .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
        .collect()
}

fn unix_secs() -> u64 {
    crate::util::now_ms() / 1000
}

impl State {
    fn ensure_backlog(&mut self, active: &AtomicBool) {
        if self.backlog.is_none() {
            self.backlog = Some(Backlog {
                data: VecDeque::new(),
                first: self.offset + 1,
            });
            active.store(true, Ordering::Release);
        }
    }

    /// Appends stream bytes: to the backlog (trimmed to its size), the offset, and every
    /// replica (queued, or held while its snapshot is sent).
    fn append(&mut self, bytes: &[u8], offset: &AtomicU64) {
        let Some(backlog) = &mut self.backlog else {
            return;
        };
        backlog.data.extend(bytes);
        let excess = backlog.data.len().saturating_sub(self.backlog_size);
        if excess > 0 {
            backlog.data.drain(..excess);
            backlog.first += excess as u64;
        }
        self.offset += bytes.len() as u64;
        offset.store(self.offset, Ordering::Release);
        for r in &mut self.replicas {
            match r.state {
                ReplicaState::Online if !r.stream_on_ack => {
                    r.handle.queue(bytes);
                }
                _ => r.pending.extend_from_slice(bytes),
            }
        }
    }

    /// The backlog from `from` (an offset) on, if it still holds that offset.
    fn backlog_from(&self, from: u64) -> Option<Vec<u8>> {
        let b = self.backlog.as_ref()?;
        let end = b.first + b.data.len() as u64;
        if from < b.first || from > end {
            return None;
        }
        Some(b.data.range((from - b.first) as usize..).copied().collect())
    }

    fn replica_mut(&mut self, id: u64) -> Option<&mut Replica> {
        self.replicas.iter_mut().find(|r| r.id == id)
    }
}

impl Replication {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether commands must record what to propagate for the stream.
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Whether this server is a replica.
    pub fn is_replica(&self) -> bool {
        self.replica.load(Ordering::Acquire)
    }

    /// `master_repl_offset`.
    pub fn offset(&self) -> u64 {
        self.offset.load(Ordering::Acquire)
    }

    /// Applies the replication settings (startup and CONFIG SET).
    pub fn configure(&self, config: &crate::config::Config) {
        self.read_only
            .store(config.is_yes("replica-read-only"), Ordering::Relaxed);
        self.serve_stale
            .store(config.is_yes("replica-serve-stale-data"), Ordering::Relaxed);
        self.min_replicas
            .store(config.uint("min-replicas-to-write"), Ordering::Relaxed);
        self.max_lag
            .store(config.uint("min-replicas-max-lag"), Ordering::Relaxed);
        self.ignore_maxmemory
            .store(config.is_yes("replica-ignore-maxmemory"), Ordering::Relaxed);
        let size = config.uint("repl-backlog-size").max(16 * 1024) as usize;
        let mut st = self.lock();
        st.backlog_size = size;
        if let Some(b) = &mut st.backlog {
            let excess = b.data.len().saturating_sub(size);
            b.data.drain(..excess);
            b.first += excess as u64;
        }
    }

    /// Appends one propagated command to the stream (a master's, not a replica's: a
    /// replica passes on its master's stream as it is, see [`Replication::proxy`]).
    pub fn feed(&self, op: &Op) {
        if !self.active() || self.is_replica() {
            return;
        }
        let mut st = self.lock();
        let mut bytes = Vec::with_capacity(64);
        crate::persist::aof::encode_op(op, &mut st.selected, &mut bytes);
        st.append(&bytes, &self.offset);
    }

    /// Passes on bytes of the master's stream that this replica applied.
    pub fn proxy(&self, bytes: &[u8]) {
        let mut st = self.lock();
        st.append(bytes, &self.offset);
    }

    /// Forgets a replica whose connection ended.
    pub fn remove_replica(&self, id: u64) {
        let mut st = self.lock();
        let before = st.replicas.len();
        st.replicas.retain(|r| r.id != id);
        if st.replicas.len() != before {
            if st.replicas.is_empty() {
                st.alone_since = Instant::now();
            }
            drop(st);
            self.acked.notify_all();
        }
    }

    /// Records a replica's `REPLCONF ACK` (called on its own connection's thread); the
    /// first one after a diskless snapshot starts its stream, under `limit`.
    pub fn ack(&self, id: u64, offset: u64, limit: crate::config::ObufLimit) {
        let mut st = self.lock();
        if let Some(r) = st.replica_mut(id) {
            if offset > r.ack_off {
                r.ack_off = offset;
            }
            r.ack_time = unix_secs();
            if r.stream_on_ack && r.state == ReplicaState::Online {
                r.stream_on_ack = false;
                r.handle.start_writer();
                r.handle.set_output_limit(Some(limit));
                let pending = std::mem::take(&mut r.pending);
                r.handle.queue(&pending);
            }
        }
        drop(st);
        self.acked.notify_all();
    }

    /// How many online replicas acknowledged `offset`.
    fn acked_count(st: &State, offset: u64) -> usize {
        st.replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Online && r.ack_off >= offset)
            .count()
    }

    /// Asks every replica for an acknowledgement (`REPLCONF GETACK *`).
    pub fn request_acks(&self) {
        if self.is_replica() {
            return;
        }
        let mut st = self.lock();
        if st.replicas.is_empty() {
            return;
        }
        let mut bytes = Vec::new();
        crate::persist::aof::encode_argv(&[&b"REPLCONF"[..], b"GETACK", b"*"], &mut bytes);
        st.append(&bytes, &self.offset);
    }

    /// WAIT: sleeps until `needed` replicas acknowledged `offset` or `timeout` passes
    /// (`None`: no limit), or `client` is killed; returns how many did.
    pub fn wait(
        &self,
        offset: u64,
        needed: usize,
        timeout: Option<Duration>,
        client: &ClientHandle,
    ) -> usize {
        let deadline = timeout.map(|t| Instant::now() + t);
        {
            let st = self.lock();
            let n = Self::acked_count(&st, offset);
            if n >= needed {
                return n;
            }
        }
        self.request_acks();
        let mut st = self.lock();
        loop {
            let n = Self::acked_count(&st, offset);
            if n >= needed || client.is_killed() {
                return n;
            }
            let mut step = Duration::from_millis(100);
            if let Some(d) = deadline {
                let now = Instant::now();
                if now >= d {
                    return n;
                }
                step = step.min(d - now);
            }
            st = self
                .acked
                .wait_timeout(st, step)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Replicas still waiting for or receiving a snapshot.
    pub fn full_syncs(&self) -> usize {
        self.lock()
            .replicas
            .iter()
            .filter(|r| r.state != ReplicaState::Online)
            .count()
    }

    /// Whether every replica acknowledged the whole stream (Redis's `isReadyToShutdown`).
    pub fn in_sync(&self) -> bool {
        let st = self.lock();
        st.replicas.iter().all(|r| r.ack_off == st.offset)
    }

    /// SHUTDOWN's wait for lagging replicas (`shutdown-timeout`): asks them for an
    /// acknowledgement, then sleeps until all are in sync, `deadline` passes or `stop`
    /// says to give up (SHUTDOWN ABORT).
    pub fn wait_in_sync(&self, deadline: Instant, stop: impl Fn() -> bool) {
        self.request_acks();
        let mut st = self.lock();
        loop {
            let now = Instant::now();
            if st.replicas.iter().all(|r| r.ack_off == st.offset) || now >= deadline || stop() {
                return;
            }
            let step = Duration::from_millis(100).min(deadline - now);
            st = self
                .acked
                .wait_timeout(st, step)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// What Redis's `finishShutdown` logs: each replica behind the stream, and how many
    /// are in sync.
    pub fn log_shutdown(&self, log: &crate::log::Logger) {
        let st = self.lock();
        let now = unix_secs();
        let mut lagging = 0;
        for r in st.replicas.iter().filter(|r| r.ack_off != st.offset) {
            lagging += 1;
            let lag = if r.state == ReplicaState::Online {
                now.saturating_sub(r.ack_time)
            } else {
                0
            };
            log.warning(&format!(
                "Lagging replica {}:{} reported offset {} behind master, lag={lag}, state={}.",
                r.ip,
                r.port,
                st.offset.saturating_sub(r.ack_off),
                r.state.name()
            ));
        }
        let total = st.replicas.len();
        if total > 0 {
            log.notice(&format!(
                "{} of {total} replicas are in sync when shutting down.",
                total - lagging
            ));
        }
    }

    /// Replicas whose last acknowledgement is at most `max_lag` seconds old
    /// (`min-replicas-to-write`'s "good" replicas).
    pub fn good_replicas(&self, max_lag: u64) -> usize {
        let now = unix_secs();
        self.lock()
            .replicas
            .iter()
            .filter(|r| {
                r.state == ReplicaState::Online && now.saturating_sub(r.ack_time) <= max_lag
            })
            .count()
    }

    /// Whether the link to our master is up (false on a master).
    pub fn link_up(&self) -> bool {
        self.lock()
            .master
            .as_ref()
            .is_some_and(|m| m.link == Link::Connected)
    }

    /// ROLE's reply.
    pub fn role(&self, out: &mut crate::resp::Reply) {
        let st = self.lock();
        match &st.master {
            Some(m) => {
                out.array(5);
                out.bulk(b"slave");
                out.bulk(m.host.as_bytes());
                out.int(i64::from(m.port));
                out.bulk(match m.link {
                    Link::Connect => b"connect".as_slice(),
                    Link::Connecting => b"connecting",
                    Link::Handshake => b"handshake",
                    Link::Transfer => b"sync",
                    Link::Connected => b"connected",
                });
                out.int(if m.link == Link::Connected {
                    st.offset as i64
                } else {
                    -1
                });
            }
            None => {
                out.array(3);
                out.bulk(b"master");
                out.int(st.offset as i64);
                let online: Vec<&Replica> = st
                    .replicas
                    .iter()
                    .filter(|r| r.state == ReplicaState::Online)
                    .collect();
                out.array(online.len());
                for r in online {
                    out.array(3);
                    out.bulk(r.ip.as_bytes());
                    out.bulk(r.port.to_string().as_bytes());
                    out.bulk(r.ack_off.to_string().as_bytes());
                }
            }
        }
    }

    /// INFO's Replication section.
    pub fn info(&self, server: &Server, out: &mut String) {
        // The settings first: the config lock is never taken under the replication lock
        // (CONFIG SET takes them the other way round).
        let (priority, read_only, announced, min_replicas, max_lag) = {
            let config = server.config();
            (
                config.uint("replica-priority"),
                config.is_yes("replica-read-only"),
                config.is_yes("replica-announced"),
                config.uint("min-replicas-to-write"),
                config.uint("min-replicas-max-lag"),
            )
        };
        let st = self.lock();
        let mut field = |k: &str, v: &dyn std::fmt::Display| {
            out.push_str(&format!("{k}:{v}\r\n"));
        };
        let now = unix_secs();
        match &st.master {
            Some(m) => {
                field("role", &"slave");
                field("master_host", &m.host);
                field("master_port", &m.port);
                let up = m.link == Link::Connected;
                field("master_link_status", &if up { "up" } else { "down" });
                let last_io = if m.client.is_some() {
                    now.saturating_sub(m.last_io) as i64
                } else {
                    -1
                };
                field("master_last_io_seconds_ago", &last_io);
                field(
                    "master_sync_in_progress",
                    &u8::from(m.link == Link::Transfer),
                );
                field("slave_read_repl_offset", &st.offset);
                field("slave_repl_offset", &st.offset);
                if m.link == Link::Transfer {
                    let perc = if m.transfer_size > 0 {
                        m.transfer_read as f64 / m.transfer_size as f64 * 100.0
                    } else {
                        0.0
                    };
                    field("master_sync_total_bytes", &m.transfer_size);
                    field("master_sync_read_bytes", &m.transfer_read);
                    field(
                        "master_sync_left_bytes",
                        &(m.transfer_size - m.transfer_read as i64),
                    );
                    field("master_sync_perc", &format!("{perc:.2}"));
                    field(
                        "master_sync_last_io_seconds_ago",
                        &now.saturating_sub(m.transfer_last_io),
                    );
                }
                if !up {
                    let down = if m.down_since > 0 {
                        now.saturating_sub(m.down_since) as i64
                    } else {
                        -1
                    };
                    field("master_link_down_since_seconds", &down);
                }
                field("slave_priority", &priority);
                field("slave_read_only", &u8::from(read_only));
                field("replica_announced", &u8::from(announced));
            }
            None => field("role", &"master"),
        }
        field("connected_slaves", &st.replicas.len());
        if min_replicas > 0 && max_lag > 0 {
            let good = st
                .replicas
                .iter()
                .filter(|r| {
                    r.state == ReplicaState::Online && now.saturating_sub(r.ack_time) <= max_lag
                })
                .count();
            field("min_slaves_good_slaves", &good);
        }
        for (i, r) in st.replicas.iter().enumerate() {
            let lag = if r.state == ReplicaState::Online {
                now.saturating_sub(r.ack_time)
            } else {
                0
            };
            field(
                &format!("slave{i}"),
                &format!(
                    "ip={},port={},state={},offset={},lag={lag}",
                    r.ip,
                    r.port,
                    r.state.name(),
                    r.ack_off
                ),
            );
        }
        field("master_failover_state", &st.failover.name());
        field("master_replid", &st.replid);
        field("master_replid2", &st.replid2);
        field("master_repl_offset", &st.offset);
        field("second_repl_offset", &st.second_offset);
        field("repl_backlog_active", &u8::from(st.backlog.is_some()));
        field("repl_backlog_size", &st.backlog_size);
        let (first, histlen) = st
            .backlog
            .as_ref()
            .map_or((0, 0), |b| (b.first, b.data.len()));
        field("repl_backlog_first_byte_offset", &first);
        field("repl_backlog_histlen", &histlen);
    }

    /// INFO memory's `mem_replication_backlog`.
    pub fn backlog_bytes(&self) -> usize {
        self.lock().backlog.as_ref().map_or(0, |b| b.data.len())
    }

    /// INFO memory's `mem_total_replication_buffers`: the backlog and what waits for
    /// each replica (held during its sync, or queued in its outbox).
    pub fn buffer_bytes(&self) -> usize {
        let st = self.lock();
        let replicas: usize = st
            .replicas
            .iter()
            .map(|r| r.pending.len() + r.handle.outbox_len())
            .sum();
        st.backlog.as_ref().map_or(0, |b| b.data.len()) + replicas
    }

    /// What the cron does each tick (Redis's `replicationCron`, once per second):
    /// PINGs the replicas every `repl-ping-replica-period`, frees the backlog after
    /// `repl-backlog-ttl` without replicas, and, as a replica, acknowledges and watches
    /// the link.
    pub fn cron(&self, server: &Server) {
        let (period, ttl) = {
            let config = server.config();
            (
                config.uint("repl-ping-replica-period").max(1),
                config.uint("repl-backlog-ttl"),
            )
        };
        if self.is_replica() {
            replica::cron(server);
            return;
        }
        failover::cron(server);
        let mut st = self.lock();
        // No PING while a FAILOVER waits for a replica to catch up: the offset must
        // stay still (Redis skips it while clients are paused for one).
        let failing_over = st.failover.is_waiting();
        if !st.replicas.is_empty()
            && !failing_over
            && st.last_ping.elapsed() >= Duration::from_secs(period)
        {
            st.last_ping = Instant::now();
            let mut bytes = Vec::new();
            crate::persist::aof::encode_argv(&[b"PING"], &mut bytes);
            st.append(&bytes, &self.offset);
        }
        if st.replicas.is_empty()
            && st.backlog.is_some()
            && ttl > 0
            && st.alone_since.elapsed() >= Duration::from_secs(ttl)
        {
            // A new ID: replicas that were fed from the freed backlog must not continue
            // from here (Redis's `changeReplicationId` when it frees the backlog).
            st.backlog = None;
            st.replid = random_id();
            st.replid2 = NO_REPLID.to_string();
            st.second_offset = -1;
            self.active.store(false, Ordering::Release);
            server.log.notice(&format!(
                "Replication backlog freed after {ttl} seconds without connected replicas."
            ));
        }
    }
}

/// The refusals replication adds to the dispatcher's, in Redis's processCommand order:
/// `-NOREPLICAS` for a write while `min-replicas-to-write` good replicas are lacking,
/// `-READONLY` for a write to a read-only replica, `-MASTERDOWN` while the link is down
/// and `replica-serve-stale-data` is no. The master's own commands are never refused.
pub fn refusal(server: &Server, write: bool, stale_ok: bool, master: bool) -> Option<&'static str> {
    let repl = &server.repl;
    if master {
        return None;
    }
    if !repl.is_replica() {
        let min = repl.min_replicas.load(Ordering::Relaxed);
        let max_lag = repl.max_lag.load(Ordering::Relaxed);
        if write && min > 0 && max_lag > 0 && repl.good_replicas(max_lag) < min as usize {
            return Some("NOREPLICAS Not enough good replicas to write.");
        }
        return None;
    }
    if write && repl.read_only.load(Ordering::Relaxed) {
        return Some("READONLY You can't write against a read only replica.");
    }
    if !stale_ok && !repl.serve_stale.load(Ordering::Relaxed) && !repl.link_up() {
        return Some(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        );
    }
    None
}

/// Whether eviction is off because this is a replica (`replica-ignore-maxmemory`).
pub fn ignores_maxmemory(server: &Server) -> bool {
    server.repl.is_replica() && server.repl.ignore_maxmemory.load(Ordering::Relaxed)
}

/// What a replica told us with REPLCONF before it synced (kept in its client state).
#[derive(Debug, Default, Clone)]
pub struct ReplConf {
    pub listening_port: u16,
    pub ip_address: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    pub rdb_only: bool,
    /// Set once the connection is a replica of this server.
    pub is_replica: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(size: usize) -> (State, AtomicBool, AtomicU64) {
        let repl = Replication::default();
        let mut st = repl.state.into_inner().unwrap();
        st.backlog_size = size;
        let active = AtomicBool::new(false);
        st.ensure_backlog(&active);
        assert!(active.load(Ordering::Relaxed));
        (st, active, AtomicU64::new(0))
    }

    #[test]
    fn the_backlog_keeps_the_last_bytes_and_their_offsets() {
        let (mut st, _, offset) = state(10);
        st.append(b"abcdef", &offset);
        assert_eq!(st.offset, 6);
        assert_eq!(offset.load(Ordering::Relaxed), 6);
        // Offsets count from 1: a replica at 0 wants byte 1 on.
        assert_eq!(st.backlog_from(1).unwrap(), b"abcdef");
        assert_eq!(st.backlog_from(4).unwrap(), b"def");
        assert_eq!(st.backlog_from(7).unwrap(), b"");
        assert_eq!(st.backlog_from(8), None);
        st.append(b"ghijkl", &offset);
        // Trimmed to 10 bytes: "cdefghijkl", the first at offset 3.
        assert_eq!(st.backlog.as_ref().unwrap().first, 3);
        assert_eq!(st.backlog_from(2), None);
        assert_eq!(st.backlog_from(3).unwrap(), b"cdefghijkl");
        assert_eq!(st.backlog_from(11).unwrap(), b"kl");
    }

    #[test]
    fn a_backlog_created_later_starts_after_the_offset() {
        let repl = Replication::default();
        let mut st = repl.lock();
        st.offset = 500;
        st.ensure_backlog(&repl.active);
        assert_eq!(st.backlog_from(501).unwrap(), b"");
        assert_eq!(st.backlog_from(500), None);
    }

    #[test]
    fn ops_are_encoded_with_a_select_when_the_database_changes() {
        let repl = Replication::default();
        repl.feed(&Op::new(0, &["SET", "k", "v"]));
        assert_eq!(repl.offset(), 0, "no backlog: nothing is recorded");
        repl.lock().ensure_backlog(&repl.active);
        repl.feed(&Op::new(2, &["SET", "k", "v"]));
        repl.feed(&Op::new(2, &["DEL", "k"]));
        let st = repl.lock();
        let bytes: Vec<u8> = st.backlog_from(1).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"
        );
        assert_eq!(repl.offset(), st.offset);
    }
}
