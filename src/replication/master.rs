//! The master's side: SYNC and PSYNC (Redis's `syncCommand`,
//! `masterTryPartialResynchronization` and the full sync that follows).
//!
//! Both run on the replica's own connection thread, which has nothing else to do until
//! the replica is in sync: the snapshot is written to the socket (or to the dump file and
//! then the socket) from there, while the stream since the snapshot's offset waits in
//! the replica's record. Once the snapshot is sent, the connection gets an outbox (see
//! [`crate::client`]) and the held stream goes first into it, under the replication
//! lock, so no byte is lost or reordered.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use super::{unix_secs, Replica, ReplicaState};
use crate::client::ClientHandle;
use crate::command::{CmdError, CmdResult, Ctx};
use crate::persist::save::{self, Format};
use crate::resp::Args;
use crate::state::Server;

/// Writes to a client's socket through its handle.
struct SocketWriter<'a>(&'a ClientHandle);

impl Write for SocketWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.send(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// ```text
/// SYNC
/// PSYNC replicationid offset
/// ```
pub fn sync(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let server = ctx.server;
    if ctx.client.replconf.is_replica {
        // Already a replica: a second SYNC is ignored, as in Redis.
        return Ok(());
    }
    if args.len() > 3
        && crate::command::is(&args[0], "psync")
        && crate::command::is(&args[3], "failover")
    {
        let replid = String::from_utf8_lossy(&args[1]).into_owned();
        server
            .log
            .warning(&format!("Failover request received for replid {replid}."));
        if !server.repl.is_replica() {
            return Err(CmdError::err("PSYNC FAILOVER can't be sent to a master."));
        }
        if replid != server.repl.lock().replid {
            return Err(CmdError::err("PSYNC FAILOVER replid must match my replid."));
        }
        super::replica::unset_master(server);
        server.log.notice(&format!(
            "MASTER MODE enabled (failover request from '{}')",
            ctx.client.handle.list_line(crate::util::now_ms())
        ));
    }
    if super::failover::active(server) {
        return Err(CmdError::Msg(
            "NOMASTERLINK Can't SYNC while failing over".into(),
        ));
    }
    if server.repl.is_replica() && !server.repl.link_up() {
        return Err(CmdError::Msg(
            "NOMASTERLINK Can't SYNC while not connected with my master".into(),
        ));
    }
    let psync = crate::command::is(&args[0], "psync");
    let addr = ctx.client.handle.addr.clone();
    if psync && !ctx.client.replconf.rdb_only {
        let replid = String::from_utf8_lossy(&args[1]).into_owned();
        let offset = crate::util::num::parse_i64(&args[2]);
        if let Some(offset) = offset {
            if try_partial(ctx, &replid, offset) {
                return Ok(());
            }
        }
        if replid != "?" {
            let (ours, second) = {
                let st = server.repl.lock();
                (st.replid.clone(), st.replid2.clone())
            };
            server.log.notice(&format!(
                "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{replid}', my replication IDs are '{ours}' and '{second}')"
            ));
        } else {
            server
                .log
                .notice(&format!("Full resync requested by replica {addr}"));
        }
    }
    ctx.client.replconf.is_replica = true;
    ctx.client.handle.info().repl_flag = Some('S');
    if server.config().is_yes("repl-disable-tcp-nodelay") {
        ctx.client.handle.disable_nodelay();
    }
    // The time spent sending the snapshot is not the command's (like a blocking wait).
    let started = Instant::now();
    let result = full_sync(ctx, psync);
    ctx.client.waited += started.elapsed();
    if let Err(e) = result {
        server
            .log
            .warning(&format!("Full sync to replica {addr} failed: {e}"));
        server.repl.remove_replica(ctx.client.id);
        ctx.client.close_after_reply = true;
    }
    Ok(())
}

/// Accepts a partial resync if the backlog has what the replica lacks (Redis's
/// `masterTryPartialResynchronization`).
fn try_partial(ctx: &mut Ctx, replid: &str, psync_offset: i64) -> bool {
    let server = ctx.server;
    let conf = ctx.client.replconf.clone();
    let handle = ctx.client.handle.clone();
    let limit = server.config().replica_output_limit();
    let mut st = server.repl.lock();
    let ours = replid == st.replid || (replid == st.replid2 && psync_offset <= st.second_offset);
    if !ours || psync_offset < 0 {
        return false;
    }
    let Some(missing) = st.backlog_from(psync_offset as u64) else {
        server.log.notice(&format!(
            "Unable to partial resync with replica {} for lack of backlog (Replica request was: {psync_offset}).",
            handle.addr
        ));
        return false;
    };
    let reply = if conf.capa_psync2 {
        format!("+CONTINUE {}\r\n", st.replid)
    } else {
        "+CONTINUE\r\n".to_string()
    };
    // The outbox is started before anything is queued: the stream that follows keeps its
    // order behind the reply and the backlog's bytes.
    handle.start_writer();
    handle.set_output_limit(Some(limit));
    handle.queue(reply.as_bytes());
    handle.queue(&missing);
    st.replicas
        .push(new_replica(&handle, &conf, ReplicaState::Online));
    drop(st);
    ctx.client.replconf.is_replica = true;
    handle.info().repl_flag = Some('S');
    server.log.notice(&format!(
        "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {psync_offset}.",
        handle.addr,
        missing.len()
    ));
    true
}

fn new_replica(
    handle: &std::sync::Arc<ClientHandle>,
    conf: &super::ReplConf,
    state: ReplicaState,
) -> Replica {
    Replica {
        id: handle.id,
        handle: handle.clone(),
        ip: conf
            .ip_address
            .clone()
            .unwrap_or_else(|| handle.addr.ip_string()),
        port: conf.listening_port,
        state,
        pending: Vec::new(),
        stream_on_ack: false,
        ack_off: 0,
        ack_time: unix_secs(),
    }
}

/// A full resync: waits for the snapshot to be free (and `repl-diskless-sync-delay`),
/// takes it at a known offset, sends it, then the stream since.
fn full_sync(ctx: &mut Ctx, psync: bool) -> io::Result<()> {
    let server = ctx.server;
    let conf = ctx.client.replconf.clone();
    let handle = ctx.client.handle.clone();
    let (diskless, delay, enough) = {
        let config = server.config();
        (
            config.is_yes("repl-diskless-sync") && conf.capa_eof,
            config.uint("repl-diskless-sync-delay"),
            config.uint("repl-diskless-sync-max-replicas") as usize,
        )
    };
    // Listed at once, as Redis lists a replica waiting for its BGSAVE.
    server
        .repl
        .lock()
        .replicas
        .push(new_replica(&handle, &conf, ReplicaState::WaitBgsave));
    if diskless && delay > 0 {
        // Redis waits so that replicas arriving together share one transfer; it stops
        // waiting once `repl-diskless-sync-max-replicas` of them wait.
        let waiting = || {
            let st = server.repl.lock();
            st.replicas
                .iter()
                .filter(|r| r.state == ReplicaState::WaitBgsave)
                .count()
        };
        let until = Instant::now() + Duration::from_secs(delay);
        while Instant::now() < until && !(enough > 0 && waiting() >= enough) {
            sleep_unless_killed(&handle, Duration::from_millis(20))?;
        }
    }
    let (snapshot, offset, replid) = loop {
        let mut ks = server.store.write();
        match save::begin_snapshot(server, &mut ks) {
            Ok(snapshot) => {
                // Under the keyspace lock no command runs, so the stream's offset is the
                // snapshot's.
                let mut st = server.repl.lock();
                st.ensure_backlog(&server.repl.active);
                // The stream must SELECT again from here on.
                st.selected = None;
                let (offset, replid) = (st.offset, st.replid.clone());
                if let Some(r) = st.replica_mut(handle.id) {
                    r.state = ReplicaState::SendBulk;
                    r.pending.clear();
                }
                break (snapshot, offset, replid);
            }
            Err(_) => {
                drop(ks);
                sleep_unless_killed(&handle, Duration::from_millis(100))?;
            }
        }
    };
    server.log.notice(&format!(
        "Starting BGSAVE for SYNC with target: {}",
        if diskless { "replicas sockets" } else { "disk" }
    ));
    if psync {
        handle.send(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes())?;
    }
    let format = Format::Rdb(server.rdb_options());
    let sent = if diskless {
        send_diskless(server, &handle, &snapshot, format)
    } else {
        send_through_disk(server, &handle, &snapshot, format)
    };
    sent?;
    if conf.rdb_only {
        // `redis-cli --rdb` and the like: the snapshot is all they asked for.
        ctx.client.close_after_reply = true;
        server.repl.remove_replica(handle.id);
        return Ok(());
    }
    let limit = server.config().replica_output_limit();
    let mut st = server.repl.lock();
    let Some(r) = st.replica_mut(handle.id) else {
        return Err(io::Error::other("replica gone"));
    };
    r.state = ReplicaState::Online;
    r.ack_time = unix_secs();
    if diskless {
        // The stream starts at its first ACK (see `Replica::stream_on_ack`).
        r.stream_on_ack = true;
    } else {
        let pending = std::mem::take(&mut r.pending);
        handle.start_writer();
        handle.set_output_limit(Some(limit));
        handle.queue(&pending);
    }
    drop(st);
    server.log.notice(&format!(
        "Synchronization with replica {} succeeded",
        handle.addr
    ));
    Ok(())
}

/// The snapshot straight to the socket, in the `$EOF:<mark>` form (the replica learns
/// the end from the 40-byte mark, as no length is known up front).
fn send_diskless(
    server: &Server,
    handle: &ClientHandle,
    snapshot: &save::Snapshot,
    format: Format,
) -> io::Result<()> {
    let mark = super::random_id();
    let written = handle
        .send(format!("$EOF:{mark}\r\n").as_bytes())
        .and_then(|()| save::write_snapshot(server, SocketWriter(handle), snapshot, format, 0))
        .and_then(|_| handle.send(mark.as_bytes()));
    save::end_snapshot(server, snapshot, false);
    if written.is_ok() {
        server
            .log
            .notice("Diskless rdb transfer, done reading from pipe, 1 replicas still up.");
    }
    written
}

/// The snapshot to the dump file (a BGSAVE, as Redis makes for a disk-based sync), then
/// the file to the socket as one bulk string.
fn send_through_disk(
    server: &Server,
    handle: &ClientHandle,
    snapshot: &save::Snapshot,
    format: Format,
) -> io::Result<()> {
    save::save_snapshot(server, snapshot, format, 0)?;
    let mut file = std::fs::File::open(server.dump_path())?;
    // `rdb-del-sync-files`: a file written only to feed replicas does not outlive the
    // transfer (the open handle still reads it).
    if super::delete_sync_files(server) && server.repl.full_syncs() <= 1 {
        server
            .log
            .notice("Removing the RDB file used to feed replicas in a persistence-less instance");
        let _ = std::fs::remove_file(server.dump_path());
    }
    let len = file.metadata()?.len();
    handle.send(format!("${len}\r\n").as_bytes())?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        handle.send(&buf[..n])?;
    }
}

fn sleep_unless_killed(handle: &ClientHandle, total: Duration) -> io::Result<()> {
    let until = Instant::now() + total;
    while Instant::now() < until {
        if handle.is_killed() {
            return Err(io::Error::other("replica gone"));
        }
        std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
    }
    Ok(())
}

/// ```text
/// REPLCONF option value [option value ...]
/// ```
/// What a replica says of itself before it syncs (`listening-port`, `ip-address`,
/// `capa`, `rdb-only`), its acknowledgements (`ack`, which gets no reply), and, from a
/// master to this replica, `getack`.
pub fn replconf(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let server = ctx.server;
    for j in (1..args.len()).step_by(2) {
        let (opt, value) = (&args[j], &args[j + 1]);
        let is = |k| crate::command::is(opt, k);
        if is("ack") {
            // Only a replica's ack counts; the reply is nothing, as in Redis.
            if ctx.client.replconf.is_replica {
                if let Some(off) = crate::util::num::parse_i64(value) {
                    let limit = server.config().replica_output_limit();
                    server.repl.ack(ctx.client.id, off.max(0) as u64, limit);
                }
            }
            return Ok(());
        }
        if is("getack") {
            if ctx.client.master {
                super::replica::send_ack(server);
            }
            return Ok(());
        }
        let conf = &mut ctx.client.replconf;
        if is("listening-port") {
            let port = crate::util::num::parse_i64(value)
                .filter(|p| (0..=65535).contains(p))
                .ok_or(CmdError::NotInteger)?;
            conf.listening_port = port as u16;
        } else if is("ip-address") {
            conf.ip_address = Some(String::from_utf8_lossy(value).into_owned());
        } else if is("capa") {
            if crate::command::is(value, "eof") {
                conf.capa_eof = true;
            } else if crate::command::is(value, "psync2") {
                conf.capa_psync2 = true;
            }
        } else if is("rdb-only") {
            match value {
                b"1" => conf.rdb_only = true,
                b"0" => conf.rdb_only = false,
                _ => return Err(CmdError::Syntax),
            }
        } else if is("rdb-filter-only") {
            if !value.is_empty() {
                return Err(CmdError::err(
                    "redlite cannot filter the RDB it sends (rdb-filter-only)",
                ));
            }
        } else {
            return Err(CmdError::err(format!(
                "Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    ctx.out.ok();
    Ok(())
}

/// ```text
/// WAIT numreplicas timeout
/// ```
/// How many replicas acknowledged this client's last write, waiting up to `timeout` ms
/// (0: forever) until `numreplicas` have.
pub fn wait(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let server = ctx.server;
    if server.repl.is_replica() {
        return Err(CmdError::err(
            "WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
        ));
    }
    let needed = crate::util::num::parse_i64(&args[1]).ok_or(CmdError::NotInteger)?;
    let timeout = crate::util::num::parse_i64(&args[2])
        .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let offset = ctx.client.repl_woff;
    let started = Instant::now();
    let n = if ctx.client.in_exec {
        // Inside a transaction or a script nothing can block: the count as it is.
        server
            .repl
            .wait(offset, 0, Some(Duration::ZERO), &ctx.client.handle)
    } else {
        crate::command::blocking::send_pending(ctx);
        server.repl.wait(
            offset,
            needed.max(0) as usize,
            (timeout > 0).then(|| Duration::from_millis(timeout as u64)),
            &ctx.client.handle,
        )
    };
    ctx.client.waited += started.elapsed();
    ctx.out.int(n as i64);
    Ok(())
}
