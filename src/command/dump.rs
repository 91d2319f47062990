//! DUMP, RESTORE and MIGRATE (Redis keeps them in cluster.c): a key's value as Redis's
//! RDB payload, back, and moved to another server. The encoding is in
//! [`crate::persist::rdb`].

use super::{int_arg, is, read_key, CmdError, CmdResult, Command, Ctx, Handler};
use crate::persist::rdb::{self, PayloadError};
use crate::resp::Args;
use crate::store::class::GENERIC;
use crate::store::value::Value;
use crate::store::Keyspace;

/// The commands of this file.
pub const COMMANDS: &[Command] = &[
    Command::new("dump", Handler::Read(dump)),
    Command::new("restore", Handler::Write(restore)),
    Command::new("migrate", Handler::Write(migrate)),
    // RESTORE as a cluster migration sends it to a node that is importing the slot.
    Command::new("restore-asking", Handler::Write(restore)),
];

/// ```text
/// DUMP key
/// ```
/// The value as Redis's payload (type, value, RDB version 10, CRC-64), or nil.
fn dump(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let Some(entry) = read_key(ctx, ks, &args[1]) else {
        ctx.out.null();
        return Ok(());
    };
    let payload = rdb::dump_payload(entry.value(), &ctx.server.rdb_options());
    ctx.out.bulk(&payload);
    Ok(())
}

/// ```text
/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
/// ```
/// OK. Checks in Redis's order: the options, an existing key (`BUSYKEY` unless
/// REPLACE), the TTL, the payload's footer, then the value. A relative TTL is replayed
/// as an absolute one (`ABSTTL` appended); a TTL already past stores nothing (and a
/// replaced key is then replayed as DEL). IDLETIME sets the key's LRU clock under an
/// LRU policy, FREQ its counter under an LFU one.
fn restore(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < args.len() {
        let more = j + 1 < args.len();
        if is(&args[j], "replace") {
            replace = true;
        } else if is(&args[j], "absttl") {
            absttl = true;
        } else if is(&args[j], "idletime") && more && freq.is_none() {
            let v = int_arg(&args[j + 1])?;
            if v < 0 {
                return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            j += 1;
        } else if is(&args[j], "freq") && more && idle.is_none() {
            let v = int_arg(&args[j + 1])?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"));
            }
            freq = Some(v);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let (dbi, key) = (ctx.client.db, &args[1]);
    if !replace && ks.db_mut(dbi).get_mut(key, ctx.now_ms).is_some() {
        return Err(CmdError::Msg(
            "BUSYKEY Target key name already exists.".into(),
        ));
    }
    let mut ttl = int_arg(&args[2])?;
    if ttl < 0 {
        return Err(CmdError::err("Invalid TTL value, must be >= 0"));
    }
    let value = rdb::restore_payload(&args[3], key, &ctx.server.limits()).map_err(|e| match e {
        PayloadError::VersionOrChecksum => {
            CmdError::err("DUMP payload version or checksum are wrong")
        }
        PayloadError::BadFormat => CmdError::err("Bad data format"),
    })?;
    let deleted = replace && ks.db_mut(dbi).delete(key).is_some();
    if ttl != 0 && !absttl {
        // Redis adds in C `long long`; an absurd TTL wraps into the past there too.
        ttl = ttl.wrapping_add(ctx.now_ms as i64);
    }
    if ttl != 0 && ctx.already_expired(ttl) {
        if deleted {
            ks.rewrite(&[&b"DEL"[..], key]);
            ks.changed(GENERIC, "del", dbi, key);
            ks.dirty += 1;
        }
        ctx.out.ok();
        return Ok(());
    }
    // As dbAdd, a list or sorted set may serve a client blocked on the key.
    let wakes = matches!(value, Value::List(_) | Value::ZSet(_));
    ks.db_mut(dbi).set(key, value);
    // IDLETIME or FREQ set the new key's clock, whichever the policy keeps (Redis's
    // `objectSetLRUOrLFU`).
    let db = ks.db(dbi);
    let restored = db
        .clock()
        .restored(idle.map(|i| i as u64), freq.map(|f| f as u32));
    // (The key is looked up again only then.)
    if let Some((bits, entry)) = restored.and_then(|b| Some((b, db.get_quietly(key, ctx.now_ms)?)))
    {
        entry.set_clock_bits(bits);
    }
    if wakes {
        ks.signal_ready(dbi, key);
    }
    if ttl != 0 {
        ks.db_mut(dbi).set_expiry(key, ttl as u64, ctx.now_ms);
        if !absttl {
            let when = ttl.to_string();
            let mut words: Vec<&[u8]> = args.iter().collect();
            words[2] = when.as_bytes();
            words.push(b"ABSTTL");
            ks.rewrite(&words);
        }
    }
    ks.changed(GENERIC, "restore", dbi, key);
    ks.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// ```text
/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
///         [AUTH password | AUTH2 username password] [KEYS key [key ...]]
/// ```
/// Sends each existing key to another server as RESTORE (with its remaining TTL), then
/// deletes it here unless COPY; `NOKEY` when no key exists. Like Redis, the keyspace is
/// held for the whole exchange, which `timeout` (ms) bounds, and the connection is kept
/// for the next call to the same target (see [`crate::state::MigrateSockets`]). The
/// deletions are replayed as one DEL.
fn migrate(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let (mut copy, mut replace) = (false, false);
    let mut auth: Option<(Option<&[u8]>, &[u8])> = None;
    let mut keys: std::ops::Range<usize> = 3..4;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if is(&args[j], "copy") {
            copy = true;
        } else if is(&args[j], "replace") {
            replace = true;
        } else if is(&args[j], "auth") {
            if more < 1 {
                return Err(CmdError::Syntax);
            }
            auth = Some((None, &args[j + 1]));
            j += 1;
        } else if is(&args[j], "auth2") {
            if more < 2 {
                return Err(CmdError::Syntax);
            }
            auth = Some((Some(&args[j + 1]), &args[j + 2]));
            j += 2;
        } else if is(&args[j], "keys") {
            if !args[3].is_empty() {
                return Err(CmdError::err(
                    "When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            keys = j + 1..args.len();
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let timeout = int_arg(&args[5])?;
    let dbid = int_arg(&args[4])?;
    let timeout =
        std::time::Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let dbi = ctx.client.db;
    // The keys that exist, each with its payload and remaining TTL (0: none).
    let opts = ctx.server.rdb_options();
    let mut found: Vec<(&[u8], i64, Vec<u8>)> = Vec::new();
    for i in keys {
        // Each key looked up as a read: a hit or a miss, as Redis's `lookupKeyRead`.
        if let Some(entry) = read_key(ctx, ks, &args[i]) {
            let ttl = entry
                .expires_at()
                .map_or(0, |at| (at as i64 - ctx.now_ms as i64).max(1));
            found.push((&args[i], ttl, rdb::dump_payload(entry.value(), &opts)));
        }
    }
    if found.is_empty() {
        ctx.out.simple("NOKEY");
        return Ok(());
    }
    let target = format!(
        "{}:{}",
        String::from_utf8_lossy(&args[1]),
        String::from_utf8_lossy(&args[2])
    );
    let sockets = &ctx.server.migrate_sockets;
    // A cached connection that fails is dropped and the exchange tried once more on a
    // new one, unless it timed out (Redis's `may_retry`).
    let mut retried = false;
    let (replies, select) = loop {
        let (stream, last_db) = match sockets.take(&target) {
            Some(cached) => cached,
            None => match connect(&args[1], &args[2], timeout) {
                Ok(stream) => (stream, -1),
                // Redis connects without waiting, so a refused connection shows when
                // it writes.
                Err(refused) => {
                    return Err(CmdError::Msg(if refused {
                        "IOERR error or timeout writing to target instance".into()
                    } else {
                        "IOERR error or timeout connecting to the client".into()
                    }))
                }
            },
        };
        let select = last_db != dbid;
        let request = migrate_request(auth, select.then_some(dbid), &found, replace);
        let expected = found.len() + usize::from(select) + usize::from(auth.is_some());
        match exchange(&stream, &request, timeout, expected) {
            Ok(replies) => break ((stream, replies), select),
            Err((stage, timed_out)) if retried || timed_out => {
                let how = if matches!(stage, Stage::Write) {
                    "writing"
                } else {
                    "reading"
                };
                // Redis's words, "reading to". Keys already acknowledged stay here too:
                // a copy on both sides rather than one lost.
                return Err(CmdError::Msg(format!(
                    "IOERR error or timeout {how} to target instance"
                )));
            }
            Err(_) => retried = true,
        }
    };
    let (stream, replies) = replies;
    // Redis's order: an AUTH or SELECT refusal counts against every key; each key's own
    // RESTORE reply decides whether it goes here.
    let mut lines = replies.iter();
    let auth_err = auth
        .and_then(|_| lines.next())
        .filter(|l| l.starts_with(b"-"));
    let select_err = if select {
        lines.next().filter(|l| l.starts_with(b"-"))
    } else {
        None
    };
    let mut error: Option<&Vec<u8>> = None;
    let mut deleted: Vec<&[u8]> = vec![b"DEL"];
    for ((key, _, _), line) in found.iter().zip(lines) {
        let failed = auth_err
            .or(select_err)
            .or(line.starts_with(b"-").then_some(line));
        match failed {
            Some(e) => {
                error.get_or_insert(e);
            }
            None if !copy => {
                ks.db_mut(dbi).remove(key, ctx.now_ms);
                ks.changed(GENERIC, "del", dbi, key);
                ks.dirty += 1;
                deleted.push(key);
            }
            None => {}
        }
    }
    if deleted.len() > 1 {
        ks.rewrite(&deleted);
    }
    // The connection is kept for the next MIGRATE to this target; after a refusal the
    // next one selects the database again.
    let db = if error.is_some() { -1 } else { dbid };
    sockets.put(target, stream, db);
    match error {
        Some(e) => Err(CmdError::Msg(format!(
            "ERR Target instance replied with error: {}",
            String::from_utf8_lossy(&e[1..])
        ))),
        None => {
            ctx.out.ok();
            Ok(())
        }
    }
}

/// Where talking to MIGRATE's target failed.
enum Stage {
    Write,
    Read,
}

/// The commands MIGRATE sends: AUTH if asked, SELECT if the connection is not on the
/// database yet, and one RESTORE per key.
fn migrate_request(
    auth: Option<(Option<&[u8]>, &[u8])>,
    select: Option<i64>,
    found: &[(&[u8], i64, Vec<u8>)],
    replace: bool,
) -> Vec<u8> {
    let mut request = Vec::new();
    if let Some((user, password)) = auth {
        let mut argv: Vec<&[u8]> = vec![b"AUTH"];
        argv.extend(user);
        argv.push(password);
        request.extend_from_slice(&crate::resp::reply::request(&argv));
    }
    if let Some(db) = select {
        let db = db.to_string();
        request.extend_from_slice(&crate::resp::reply::request(&[b"SELECT", db.as_bytes()]));
    }
    for (key, ttl, payload) in found {
        let ttl = ttl.to_string();
        let mut argv: Vec<&[u8]> = vec![b"RESTORE", key, ttl.as_bytes(), payload];
        if replace {
            argv.push(b"REPLACE");
        }
        request.extend_from_slice(&crate::resp::reply::request(&argv));
    }
    request
}

/// Connects to MIGRATE's target within `timeout`; on failure, whether the connection
/// was refused.
fn connect(
    host: &[u8],
    port: &[u8],
    timeout: std::time::Duration,
) -> Result<std::net::TcpStream, bool> {
    use std::net::ToSocketAddrs;
    let host = String::from_utf8_lossy(host);
    let port: u16 = std::str::from_utf8(port)
        .ok()
        .and_then(|p| p.parse().ok())
        .ok_or(false)?;
    let addr = (host.as_ref(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or(false)?;
    let stream = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Sends `request` and reads `lines` reply lines (each without its CRLF), every step
/// within `timeout`, as Redis's `connSync*` calls. A failure says where, and whether it
/// was a timeout.
fn exchange(
    stream: &std::net::TcpStream,
    request: &[u8],
    timeout: std::time::Duration,
    lines: usize,
) -> Result<Vec<Vec<u8>>, (Stage, bool)> {
    use std::io::{BufRead, ErrorKind, Write};
    let timed_out =
        |e: &std::io::Error| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
    let _ = stream.set_write_timeout(Some(timeout));
    let _ = stream.set_read_timeout(Some(timeout));
    let mut writer = stream;
    writer
        .write_all(request)
        .map_err(|e| (Stage::Write, timed_out(&e)))?;
    // Byte by byte: nothing past the last reply may be read away from a cached stream.
    let mut reader = std::io::BufReader::with_capacity(1, stream);
    let mut replies = Vec::with_capacity(lines);
    for _ in 0..lines {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line) {
            Ok(n) if n > 0 && line.ends_with(b"\r\n") => {
                line.truncate(line.len() - 2);
                replies.push(line);
            }
            Ok(_) => return Err((Stage::Read, false)),
            Err(e) => return Err((Stage::Read, timed_out(&e))),
        }
    }
    Ok(replies)
}
