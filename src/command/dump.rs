//! DUMP and RESTORE (Redis keeps them in cluster.c): a key's value as Redis's RDB
//! payload, and back. The encoding is in [`crate::persist::rdb`].

use super::docs::doc;
use super::flags::*;
use super::{int_arg, is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::persist::rdb::{self, PayloadError};
use crate::resp::Args;
use crate::store::class::GENERIC;
use crate::store::value::Value;
use crate::store::Keyspace;

/// The commands of this file.
pub const COMMANDS: &[Command] = &[
    Command::new(
        "dump",
        2,
        READONLY,
        (1, 1, 1),
        Handler::Read(dump),
        doc(
            "generic",
            "2.6.0",
            "Return a serialized version of the value stored at the specified key.",
            "key",
        ),
    ),
    Command::new(
        "restore",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        Handler::Write(restore),
        doc(
            "generic",
            "2.6.0",
            "Create a key using the provided serialized value, previously obtained using DUMP.",
            "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]",
        ),
    ),
];

/// ```text
/// DUMP key
/// ```
/// The value as Redis's payload (type, value, RDB version 10, CRC-64), or nil.
fn dump(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let Some(entry) = ks.db(ctx.client.db).get(&args[1], ctx.now_ms) else {
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
/// replaced key is then replayed as DEL). IDLETIME and FREQ are validated, but there
/// are no LRU/LFU clocks to set.
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
    let value = rdb::restore_payload(&args[3], &ctx.server.limits()).map_err(|e| match e {
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
    if ttl != 0 && ttl <= ctx.now_ms as i64 {
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
