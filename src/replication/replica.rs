//! The replica's side: REPLICAOF, the link thread (Redis's `connectWithMaster`,
//! `syncWithMaster` and `readSyncBulkPayload`), acknowledgements, and promotion.
//!
//! One thread per REPLICAOF owns the link: it connects, does the handshake (PING, AUTH,
//! REPLCONF, PSYNC), loads the snapshot if the master sends one, then applies the stream
//! through [`crate::connection::serve_master`] until the link breaks, and tries again a
//! second later. A newer REPLICAOF bumps the generation, and an older thread stops at
//! its next step.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{random_id, unix_secs, Link, Master, NO_REPLID};
use crate::client::ClientHandle;
use crate::command::{CmdError, CmdResult, Ctx};
use crate::resp::Args;
use crate::state::Server;

/// ```text
/// REPLICAOF host port
/// REPLICAOF NO ONE
/// ```
pub fn replicaof(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let server = ctx.server;
    if super::failover::active(server) {
        return Err(CmdError::err("REPLICAOF not allowed while failing over."));
    }
    if crate::command::is(&args[1], "no") && crate::command::is(&args[2], "one") {
        if server.repl.is_replica() {
            unset_master(server);
            server
                .log
                .notice("MASTER MODE enabled (user request from client)");
        }
        ctx.out.ok();
        return Ok(());
    }
    if ctx.client.replconf.is_replica {
        return Err(CmdError::err(
            "Command is not valid when client is a replica.",
        ));
    }
    let port = crate::util::num::parse_i64(&args[2])
        .filter(|p| (0..=65535).contains(p))
        .ok_or_else(|| CmdError::err("Invalid master port"))?;
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    {
        let st = server.repl.lock();
        if let Some(m) = &st.master {
            if m.host.eq_ignore_ascii_case(&host) && i64::from(m.port) == port {
                server.log.notice(
                    "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.",
                );
                ctx.out.simple("OK Already connected to specified master");
                return Ok(());
            }
        }
    }
    set_master(server, host.clone(), port as u16);
    server.log.notice(&format!(
        "REPLICAOF {host}:{port} enabled (user request from client)"
    ));
    ctx.out.ok();
    Ok(())
}

/// Makes this server a replica of `host:port` (REPLICAOF, and `replicaof` at startup):
/// keeps the data and its replication ID and offset, so that the first PSYNC may
/// continue where this server is, and starts the link thread.
pub fn set_master(server: &Server, host: String, port: u16) {
    let generation = take_master(server, host, port);
    connect(server, generation);
}

/// The first half of [`set_master`]: the server becomes a replica of `host:port` (its
/// role, INFO and refusals say so) without connecting yet. At startup it runs before
/// any client is served, as Redis's `replicaof` setting makes it a replica from the
/// start, and [`connect`] follows once the dataset is loaded. Returns the link's
/// generation.
pub fn take_master(server: &Server, host: String, port: u16) -> u64 {
    server
        .config_mut()
        .set_replicaof(Some((host.clone(), port)));
    let generation = {
        let mut st = server.repl.lock();
        st.generation += 1;
        let generation = st.generation;
        if let Some(old) = st.master.take() {
            if let Some(c) = old.client {
                c.kill();
            }
        }
        st.master = Some(Master {
            host,
            port,
            link: Link::Connect,
            generation,
            last_io: 0,
            down_since: 0,
            transfer_size: -1,
            transfer_read: 0,
            transfer_last_io: 0,
            client: None,
        });
        // Our replicas must follow the new history from its start.
        for r in &st.replicas {
            r.handle.kill();
        }
        generation
    };
    server.repl.replica.store(true, Ordering::Release);
    server.log.set_replica(true);
    server.store.write().set_replica(true);
    // A replica takes `oom-score-adj-values`' replica score, as in Redis.
    server.apply_oom_score();
    // Clients sleeping in a blocking command may be waiting for writes that now can
    // only come from the master: Redis unblocks them.
    generation
}

/// The second half of [`set_master`]: starts the link of `generation`.
pub fn connect(server: &Server, generation: u64) {
    let Some(arc) = server.arc() else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("redlite-replica".into())
        .spawn(move || link_loop(&arc, generation));
    if spawned.is_err() {
        server.log.warning("Can't start the replication thread");
    }
}

/// REPLICAOF NO ONE: a master again, keeping the data. The old history stays
/// continuable under the second ID (PSYNC2), so replicas of the same master can
/// partially resync with this one.
pub fn unset_master(server: &Server) {
    server.config_mut().set_replicaof(None);
    let mut st = server.repl.lock();
    st.generation += 1;
    if let Some(m) = st.master.take() {
        if let Some(c) = m.client {
            c.kill();
        }
    }
    st.replid2 = std::mem::replace(&mut st.replid, random_id());
    st.second_offset = st.offset as i64 + 1;
    st.selected = None;
    // Replicas of ours reconnect and continue under the new ID.
    for r in &st.replicas {
        r.handle.kill();
    }
    drop(st);
    server.repl.replica.store(false, Ordering::Release);
    server.log.set_replica(false);
    server.store.write().set_replica(false);
    server.apply_oom_score();
}

/// Whether the link thread of `generation` is still the current one.
fn current(server: &Server, generation: u64) -> bool {
    server.repl.lock().generation == generation
}

/// Updates the link's record, if it is still the current one.
fn with_master(server: &Server, generation: u64, f: impl FnOnce(&mut Master)) {
    let mut st = server.repl.lock();
    if let Some(m) = st.master.as_mut().filter(|m| m.generation == generation) {
        f(m);
    }
}

fn link_loop(server: &Arc<Server>, generation: u64) {
    while current(server, generation) {
        let (host, port) = {
            let st = server.repl.lock();
            match &st.master {
                Some(m) => (m.host.clone(), m.port),
                None => return,
            }
        };
        server
            .log
            .notice(&format!("Connecting to MASTER {host}:{port}"));
        with_master(server, generation, |m| m.link = Link::Connecting);
        if let Err(e) = sync_and_serve(server, generation, &host, port) {
            if current(server, generation) {
                server.log.warning(&format!(
                    "Master link {host}:{port}: {e}. Retrying in a second."
                ));
            }
        }
        with_master(server, generation, |m| {
            if m.link == Link::Connected || m.down_since == 0 {
                m.down_since = unix_secs();
            }
            m.link = Link::Connect;
            m.client = None;
        });
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// A reader of the link that keeps what it read ahead of a reply line.
struct LinkReader {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl LinkReader {
    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by master",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// One reply line, without its CRLF. The lone newlines a master sends to keep the
    /// link alive while it prepares the snapshot are skipped.
    fn line(&mut self) -> io::Result<String> {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.remove(0);
            }
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(text.trim_end_matches(['\r', '\n']).to_string());
            }
            self.fill()?;
        }
    }

    fn send(&mut self, argv: &[&[u8]]) -> io::Result<()> {
        let mut bytes = Vec::new();
        crate::persist::aof::encode_argv(argv, &mut bytes);
        self.stream.write_all(&bytes)
    }

    fn command(&mut self, argv: &[&[u8]]) -> io::Result<String> {
        self.send(argv)?;
        self.line()
    }
}

/// One connection to the master: handshake, sync, then the stream until it breaks.
fn sync_and_serve(server: &Server, generation: u64, host: &str, port: u16) -> io::Result<()> {
    let (timeout, auth, user, announce_ip, announce_port) = {
        let config = server.config();
        let text = |n| String::from_utf8_lossy(&config.value(n).unwrap_or_default()).into_owned();
        (
            Duration::from_secs(config.uint("repl-timeout").max(1)),
            text("masterauth"),
            text("masteruser"),
            text("replica-announce-ip"),
            config.uint("replica-announce-port"),
        )
    };
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other("can't resolve the master's address"))?;
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    let _ = stream.set_nodelay(true);
    server.log.notice("MASTER <-> REPLICA sync started");
    with_master(server, generation, |m| {
        m.link = Link::Handshake;
        m.last_io = unix_secs();
    });
    let mut link = LinkReader {
        stream,
        buf: Vec::new(),
    };
    let pong = link.command(&[b"PING"])?;
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with("-ERR operation not permitted")
    {
        return Err(io::Error::other(format!(
            "Error reply to PING from master: '{pong}'"
        )));
    }
    server
        .log
        .notice("Master replied to PING, replication can continue...");
    if !auth.is_empty() {
        let reply = if user.is_empty() {
            link.command(&[b"AUTH", auth.as_bytes()])?
        } else {
            link.command(&[b"AUTH", user.as_bytes(), auth.as_bytes()])?
        };
        if reply.starts_with('-') {
            return Err(io::Error::other(format!(
                "Unable to AUTH to MASTER: {reply}"
            )));
        }
    }
    let listening = if announce_port > 0 {
        announce_port
    } else {
        u64::from(server.port())
    };
    link.command(&[
        b"REPLCONF",
        b"listening-port",
        listening.to_string().as_bytes(),
    ])?;
    if !announce_ip.is_empty() {
        link.command(&[b"REPLCONF", b"ip-address", announce_ip.as_bytes()])?;
    }
    link.command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])?;
    // What we hold continues our own history (or the master's we were fed before).
    let (replid, offset) = {
        let st = server.repl.lock();
        (st.replid.clone(), st.offset)
    };
    let next = (offset + 1).to_string();
    // A FAILOVER of ours asks the target to take over (Redis's `PSYNC ... FAILOVER`).
    let failing_over = super::failover::in_progress(server);
    let reply = if failing_over {
        link.command(&[b"PSYNC", replid.as_bytes(), next.as_bytes(), b"FAILOVER"])?
    } else {
        link.command(&[b"PSYNC", replid.as_bytes(), next.as_bytes()])?
    };
    if !current(server, generation) {
        return Ok(());
    }
    if failing_over {
        if reply.starts_with("+FULLRESYNC") || reply.starts_with("+CONTINUE") {
            super::failover::finished(server);
        } else {
            super::failover::abort(server, "Failover target rejected psync request");
            return Ok(());
        }
    }
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut words = rest.split(' ');
        let (Some(new_id), Some(new_off)) = (words.next(), words.next()) else {
            return Err(io::Error::other(format!("bad FULLRESYNC reply '{reply}'")));
        };
        let new_off: u64 = new_off
            .parse()
            .map_err(|_| io::Error::other(format!("bad FULLRESYNC reply '{reply}'")))?;
        server
            .log
            .notice(&format!("Full resync from master: {new_id}:{new_off}"));
        full_sync(server, generation, &mut link, new_id, new_off)?;
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let new_id = rest.trim();
        let mut st = server.repl.lock();
        if !new_id.is_empty() && new_id != st.replid {
            // The master's history has a new ID from here: ours continues under it, and
            // the old one stays valid up to here for our own replicas.
            st.replid2 = std::mem::replace(&mut st.replid, new_id.to_string());
            st.second_offset = st.offset as i64 + 1;
            for r in &st.replicas {
                r.handle.kill();
            }
        }
        st.ensure_backlog(&server.repl.active);
        drop(st);
        server
            .log
            .notice("Successful partial resynchronization with master.");
        server
            .log
            .notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
    } else {
        return Err(io::Error::other(format!(
            "Unexpected reply to PSYNC from master: {reply}"
        )));
    }
    serve_stream(server, generation, link)
}

/// Reads the snapshot (`$<len>` or `$EOF:<mark>`), loads it in place of the dataset,
/// and takes the master's ID and offset as ours.
fn full_sync(
    server: &Server,
    generation: u64,
    link: &mut LinkReader,
    replid: &str,
    offset: u64,
) -> io::Result<()> {
    with_master(server, generation, |m| {
        m.link = Link::Transfer;
        m.transfer_read = 0;
        m.transfer_last_io = unix_secs();
    });
    let header = link.line()?;
    let Some(spec) = header.strip_prefix('$') else {
        return Err(io::Error::other(format!(
            "Bad protocol from MASTER, the first byte is not '$' (we received '{header}'), are you sure the host and port are right?"
        )));
    };
    let mut payload = std::mem::take(&mut link.buf);
    let progress = |server: &Server, read: usize| {
        with_master(server, generation, |m| {
            m.transfer_read = read as u64;
            m.transfer_last_io = unix_secs();
            m.last_io = unix_secs();
        })
    };
    if let Some(mark) = spec.strip_prefix("EOF:") {
        let mark = mark.as_bytes().to_vec();
        if mark.len() != 40 {
            return Err(io::Error::other("bad EOF mark from master"));
        }
        server
            .log
            .notice("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk");
        with_master(server, generation, |m| m.transfer_size = 0);
        let mut searched: usize = 0;
        link.buf = loop {
            let from = searched.saturating_sub(39);
            if let Some(pos) = payload[from..].windows(40).position(|w| w == mark) {
                let end = from + pos;
                let leftover = payload.split_off(end + 40);
                payload.truncate(end);
                break leftover;
            }
            searched = payload.len();
            link.fill()?;
            payload.append(&mut link.buf);
            progress(server, payload.len());
        };
    } else {
        let len: usize = spec
            .parse()
            .map_err(|_| io::Error::other(format!("bad bulk length from master: '{header}'")))?;
        server.log.notice(&format!(
            "MASTER <-> REPLICA sync: receiving {len} bytes from master to disk"
        ));
        with_master(server, generation, |m| m.transfer_size = len as i64);
        while payload.len() < len {
            link.fill()?;
            payload.append(&mut link.buf);
            progress(server, payload.len());
        }
        link.buf = payload.split_off(len);
    }
    if !current(server, generation) {
        return Ok(());
    }
    let mode = server
        .config()
        .value("repl-diskless-load")
        .unwrap_or_default();
    if mode == b"disabled" {
        // As Redis: the received file becomes our dump file, then it is loaded.
        write_dump(server, &payload)?;
    }
    if mode == b"swapdb" {
        // Redis keeps the old dataset until the new one has loaded: a snapshot that does
        // not read whole leaves it in place. Here it is read once to check it, then
        // loaded.
        let limits = server.limits();
        crate::persist::rdb::read_prefix(&payload, 0, &limits, |_, _, _, _, _, _| {}).map_err(
            |e| {
                io::Error::other(format!(
                    "Failed trying to load the MASTER synchronization DB from socket: {e}; the old dataset is kept"
                ))
            },
        )?;
    }
    server
        .log
        .notice("MASTER <-> REPLICA sync: Flushing old data");
    let loaded = load(server, &payload);
    if mode == b"disabled" && super::delete_sync_files(server) {
        server.log.notice(
            "Removing the RDB file obtained from the master. This replica has persistence disabled",
        );
        let _ = std::fs::remove_file(server.dump_path());
    }
    loaded.map_err(|e| {
        io::Error::other(format!(
            "Failed trying to load the MASTER synchronization DB from socket: {e}"
        ))
    })?;
    {
        let mut st = server.repl.lock();
        st.replid = replid.to_string();
        st.replid2 = NO_REPLID.to_string();
        st.second_offset = -1;
        st.offset = offset;
        server.repl.offset.store(offset, Ordering::Release);
        // A new history: the backlog starts from here, and our replicas resync.
        st.backlog = None;
        st.ensure_backlog(&server.repl.active);
        for r in &st.replicas {
            r.handle.kill();
        }
    }
    server
        .log
        .notice("MASTER <-> REPLICA sync: Finished with success");
    // An AOF must describe the new dataset: rewrite it (Redis's restartAOFAfterSYNC).
    if server.aof.enabled() {
        let _ = crate::persist::aof::start_rewrite(server);
    }
    Ok(())
}

/// The received snapshot as our dump file (temp file, fsync, rename).
fn write_dump(server: &Server, payload: &[u8]) -> io::Result<()> {
    let path = server.dump_path();
    let tmp = path.with_file_name(format!("temp-{}.{}.rdb", std::process::id(), unix_secs()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(payload)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)
}

/// Replaces the dataset with an RDB's, as the loading state says (clients get
/// `-LOADING` meanwhile, except for the commands that may run then).
fn load(server: &Server, payload: &[u8]) -> Result<(), String> {
    let p = &server.persist;
    p.loading.store(true, Ordering::Release);
    p.loading_started.store(unix_secs(), Ordering::Relaxed);
    p.loading_total_bytes
        .store(payload.len() as u64, Ordering::Relaxed);
    p.loading_loaded_bytes.store(0, Ordering::Relaxed);
    let result = {
        let mut ks = server.store.write();
        ks.begin(server.wanted());
        if server.config().is_yes("replica-lazy-flush") {
            ks.flush_all_lazily();
        } else {
            ks.flush_all();
        }
        ks.flushed();
        let limits = server.limits();
        let delay = server.config().int("key-load-delay");
        let loaded = crate::persist::load_rdb_into(&mut ks, payload, &limits, delay)
            .map(|(stats, _)| stats.functions);
        // Tracking clients and WATCH learn that everything changed; the flush itself
        // is not ours to propagate.
        let mut fx = ks.take_effects();
        fx.ops.clear();
        let mut origin = crate::consumers::Origin {
            client_id: 0,
            pending: &mut Vec::new(),
            outgoing: &mut Vec::new(),
            published: &mut Default::default(),
            held: None,
        };
        crate::consumers::deliver(server, fx, &mut origin, false);
        loaded
    };
    let result = result
        .and_then(|functions| crate::command::scripting::restore_libraries(server, &functions));
    p.loading.store(false, Ordering::Release);
    result
}

/// Applies the stream as the master client until the link breaks.
fn serve_stream(server: &Server, generation: u64, link: LinkReader) -> io::Result<()> {
    let LinkReader { stream, buf } = link;
    // No read timeout while applying: the master PINGs every repl-ping-replica-period,
    // and the cron drops a link silent for repl-timeout.
    stream.set_read_timeout(None)?;
    let handle = Arc::new(ClientHandle::new(
        server.clients.next_id(),
        stream.try_clone()?,
    )?);
    server.clients.register(Arc::clone(&handle), usize::MAX);
    {
        let mut st = server.repl.lock();
        match st.master.as_mut().filter(|m| m.generation == generation) {
            Some(m) => {
                m.link = Link::Connected;
                m.client = Some(Arc::clone(&handle));
                m.last_io = unix_secs();
                m.down_since = 0;
            }
            None => {
                server.clients.unregister(handle.id);
                return Ok(());
            }
        }
    }
    // The first ACK at once: a master that streamed the snapshot waits for it before it
    // sends the stream.
    send_ack(server);
    let reader = LastIo {
        inner: io::Cursor::new(buf).chain(stream),
        server,
        generation,
    };
    crate::connection::serve_master(server, reader, Arc::clone(&handle));
    server.clients.unregister(handle.id);
    Err(io::Error::other("connection with master lost"))
}

/// Notes when the master last sent something (INFO's `master_last_io_seconds_ago`, and
/// the cron's `repl-timeout`).
struct LastIo<'a, R> {
    inner: R,
    server: &'a Server,
    generation: u64,
}

impl<R: Read> Read for LastIo<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        with_master(self.server, self.generation, |m| m.last_io = unix_secs());
        Ok(n)
    }
}

/// `REPLCONF ACK <offset>` to the master (every second, and when it asks).
pub fn send_ack(server: &Server) {
    let (client, offset) = {
        let st = server.repl.lock();
        let Some(client) = st.master.as_ref().and_then(|m| m.client.clone()) else {
            return;
        };
        (client, st.offset)
    };
    let mut bytes = Vec::new();
    crate::persist::aof::encode_argv(
        &[&b"REPLCONF"[..], b"ACK", offset.to_string().as_bytes()],
        &mut bytes,
    );
    if client.send(&bytes).is_err() {
        client.kill();
    }
}

/// The replica's share of the cron: an ACK every second, and a link silent for
/// `repl-timeout` is dropped.
pub fn cron(server: &Server) {
    {
        let mut st = server.repl.lock();
        if st.last_ping.elapsed() < Duration::from_secs(1) {
            return;
        }
        st.last_ping = Instant::now();
    }
    let timeout = server.config().uint("repl-timeout").max(1);
    let silent = {
        let st = server.repl.lock();
        st.master.as_ref().and_then(|m| {
            let client = m.client.clone()?;
            (unix_secs().saturating_sub(m.last_io) > timeout).then_some(client)
        })
    };
    if let Some(client) = silent {
        server
            .log
            .warning("MASTER timeout: no data nor PING received...");
        client.kill();
        return;
    }
    send_ack(server);
}
