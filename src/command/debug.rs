//! DEBUG (Redis's `debug.c`): the subcommands tools and client test suites use, refused
//! unless `enable-debug-command` allows the caller.
//!
//! DIGEST and DIGEST-VALUE compute Redis's exact dataset digest (SHA-1s mixed and xored
//! as `xorObjectDigest` does), so two servers holding the same data answer the same hex
//! string whatever their internal encodings.

use super::{is, subcommand_syntax, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::store::{Keyspace, ValueRef};
use crate::util::sha1::sha1;

pub const COMMANDS: &[Command] = &[Command::new("debug", Handler::Plain(debug))];

/// DEBUG HELP's text: the subcommands listed are the ones redlite runs.
const HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "HELP",
    "    Prints this help.",
];

/// ```text
/// DEBUG subcommand [argument ...]
/// ```
fn debug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let setting = ctx.server.config().value("enable-debug-command");
    let allowed = match setting.as_deref() {
        Some(b"yes") => true,
        Some(b"local") => ctx.client.handle.is_local(),
        _ => false,
    };
    if !allowed {
        return Err(CmdError::err(
            "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
        ));
    }
    let sub = args[1].to_ascii_lowercase();
    let argc = args.len();
    match (sub.as_slice(), argc) {
        (b"help", 2) => super::reply_lines(ctx.out, HELP),
        (b"set-active-expire", 3) => {
            // Redis reads it with atoi: anything but a leading nonzero number is 0.
            let on = crate::util::num::parse_i64(&args[2]).is_some_and(|n| n != 0);
            ctx.server
                .active_expire
                .store(on, std::sync::atomic::Ordering::Relaxed);
            ctx.out.ok();
        }
        (b"sleep", 3) => {
            // strtod: garbage is 0. The whole server stops in Redis: here the keyspace
            // lock is held, so every command that touches data waits as long.
            let secs = crate::util::num::parse_double(&args[2]).unwrap_or(0.0);
            let _held = ctx.server.store.write();
            if secs > 0.0 && secs.is_finite() {
                std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(1e9)));
            }
            ctx.out.ok();
        }
        (b"log", 3) => {
            ctx.server.log.warning(&format!(
                "DEBUG LOG: {}",
                String::from_utf8_lossy(crate::util::c_str(&args[2]))
            ));
            ctx.out.ok();
        }
        (b"error", 3) => ctx.out.error(&String::from_utf8_lossy(&args[2])),
        (b"replybuffer", 4) => {
            let buffers = &ctx.server.clients.reply_buffers;
            let value = &args[3];
            if is(&args[2], "peak-reset-time") {
                let ms = if is(value, "never") {
                    -1
                } else if is(value, "reset") {
                    crate::client::PEAK_RESET_MS
                } else {
                    super::int_arg(value)?
                };
                buffers
                    .peak_reset_ms
                    .store(ms, std::sync::atomic::Ordering::Relaxed);
            } else if is(&args[2], "resizing") {
                // atoi: anything but a leading nonzero number is 0.
                let on = crate::util::num::parse_i64(value).is_some_and(|n| n != 0);
                buffers
                    .resizing
                    .store(on, std::sync::atomic::Ordering::Relaxed);
            } else {
                return Err(subcommand_syntax(args));
            }
            ctx.out.ok();
        }
        (b"quicklist-packed-threshold", 3) => {
            let set = crate::config::memtoull(&args[2])
                .is_some_and(crate::store::list::set_packed_threshold);
            if !set {
                return Err(CmdError::err(
                    "argument must be a memory value bigger than 1 and smaller than 4gb",
                ));
            }
            ctx.out.ok();
        }
        (b"stringmatch-test", 2) => {
            stringmatch_fuzz();
            ctx.out
                .simple("Apparently Redis did not crash: test passed");
        }
        (b"panic", 2) => crate::process::server_panic(
            &ctx.server.log,
            &format!(
                "DEBUG PANIC called at Unix time {}",
                crate::util::now_ms() / 1000
            ),
        ),
        (b"protocol", 3) => protocol(ctx, &args[2])?,
        (b"digest", 2) => {
            let ks = ctx.server.store.read();
            ctx.out.simple(&hex(&dataset_digest(&ks)));
        }
        (b"digest-value", _) => {
            let ks = ctx.server.store.read();
            let db = ks.db(ctx.client.db);
            ctx.out.array(argc - 2);
            for key in args.iter().skip(2) {
                let mut digest = [0u8; 20];
                // Logically expired keys count too, as in Redis.
                if let Some(entry) = db.get_quietly(key, 0) {
                    value_digest(&mut digest, entry.value(), entry.expires_at().is_some());
                }
                ctx.out.simple(&hex(&digest));
            }
        }
        (b"object", 3) => object(ctx, &args[2])?,
        (b"listpack", 3) => {
            let ks = ctx.server.store.read();
            let Some(entry) = ks.db(ctx.client.db).get(&args[2], ctx.now_ms) else {
                return Err(CmdError::NoSuchKey);
            };
            if entry.encoding() != "listpack" {
                return Err(CmdError::err("Not a listpack encoded object."));
            }
            println!("{{listpack of {} bytes}}", entry.key().len());
            ctx.out.simple("Listpack structure printed on stdout");
        }
        (b"populate", 3..=5) => populate(ctx, args)?,
        (b"reload", _) => reload(ctx, args)?,
        (b"change-repl-id", 2) => {
            ctx.server
                .log
                .notice("Changing replication IDs after receiving DEBUG change-repl-id");
            ctx.out.ok();
        }
        _ => return Err(subcommand_syntax(args)),
    }
    Ok(())
}

/// DEBUG STRINGMATCH-TEST (Redis's `stringmatchlen_fuzz_test`): ten million random
/// patterns against random strings, to show the glob matcher neither panics nor
/// hangs on any of them.
fn stringmatch_fuzz() -> u64 {
    let mut rng = crate::util::rand::Rng::new(crate::util::now_ms());
    let (mut string, mut pattern) = ([0u8; 32], [0u8; 32]);
    let mut matches = 0;
    for _ in 0..10_000_000 {
        let string_len = rng.below(32) as usize;
        let pattern_len = rng.below(32) as usize;
        for b in &mut string[..string_len] {
            *b = rng.below(128) as u8;
        }
        for b in &mut pattern[..pattern_len] {
            *b = rng.below(128) as u8;
        }
        matches += u64::from(crate::util::glob::matches(
            &pattern[..pattern_len],
            &string[..string_len],
            false,
        ));
    }
    matches
}

/// DEBUG PROTOCOL: a sample reply of each type.
fn protocol(ctx: &mut Ctx, name: &[u8]) -> CmdResult {
    let out = &mut *ctx.out;
    match name.to_ascii_lowercase().as_slice() {
        b"string" => out.bulk(b"Hello World"),
        b"integer" => out.int(12345),
        // Redis's sample value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        b"double" => out.double(3.141),
        b"bignum" => out.big_number("1234567999999999999999999999999999999"),
        b"null" => out.null(),
        b"array" | b"set" => {
            if is(name, "set") {
                out.set(3);
            } else {
                out.array(3);
            }
            for j in 0..3 {
                out.int(j);
            }
        }
        b"map" => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.boolean(j == 1);
            }
        }
        b"attrib" => {
            if out.resp3 {
                out.raw(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n");
            }
            out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !out.resp3 {
                return Err(CmdError::err("RESP2 is not supported by this command"));
            }
            out.raw(b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n");
            out.bulk(b"Some real reply following the push reply");
        }
        b"true" => out.boolean(true),
        b"false" => out.boolean(false),
        b"verbatim" => out.verbatim("txt", b"This is a verbatim\nstring"),
        _ => return Err(CmdError::err(
            "Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        )),
    }
    Ok(())
}

/// DEBUG OBJECT: Redis's line about a value. There is no address or refcount to show:
/// the value's place in the table stands for the address, and every value has one owner.
fn object(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let ks = ctx.server.store.read();
    let Some(entry) = ks.db(ctx.client.db).get_quietly(key, 0) else {
        return Err(CmdError::NoSuchKey);
    };
    let encoding = entry.encoding();
    let mut extra = String::new();
    if let ValueRef::List(list) = entry.value() {
        let bytes: usize = list.iter().map(|e| e.len() + 2).sum();
        extra = format!(
            " ql_nodes:1 ql_avg_node:{:.2} ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:{}",
            list.len() as f64,
            bytes + 7
        );
    }
    let line = format!(
        "Value at:{:p} refcount:1 encoding:{encoding} serializedlength:{} lru:{} lru_seconds_idle:{}{extra}",
        entry,
        serialized_length(entry.value()),
        entry.clock_bits(),
        crate::store::clock::idle_ms(entry.clock_bits()) / 1000
    );
    ctx.out.simple(&line);
    Ok(())
}

/// An estimate of the value's size in a dump: its bytes plus a length prefix each.
fn serialized_length(value: ValueRef<'_>) -> usize {
    let item = |n: usize| {
        n + if n < 64 {
            1
        } else if n < 16384 {
            2
        } else {
            5
        }
    };
    match value {
        ValueRef::Str(s) => item(s.len()),
        ValueRef::List(l) => l.iter().map(|e| item(e.len())).sum::<usize>() + 1,
        ValueRef::Hash(h) => {
            h.iter()
                .map(|(f, v)| item(f.len()) + item(v.len()))
                .sum::<usize>()
                + 1
        }
        ValueRef::Set(s) => s.iter().map(|m| item(m.len())).sum::<usize>() + 1,
        ValueRef::ZSet(z) => z.iter().map(|(m, _)| item(m.len()) + 8).sum::<usize>() + 1,
        ValueRef::Stream(s) => s.len() as usize * 16 + 1,
    }
}

/// DEBUG POPULATE count [prefix] [size]: `count` string keys `prefix:N` holding
/// `value:N` (cut or zero-padded to `size`), skipping keys that exist. Nothing is
/// propagated, as in Redis.
fn populate(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let positive = |a: &[u8]| -> Result<u64, CmdError> {
        // Redis's `getPositiveLongFromObjectOrReply` words both failures the same.
        match crate::util::num::parse_i64(a) {
            Some(n) if n >= 0 => Ok(n as u64),
            _ => Err(CmdError::err("value is out of range, must be positive")),
        }
    };
    positive(&args[2])?;
    if args.len() == 5 {
        positive(&args[4])?;
    }
    let server = ctx.server;
    let mut ks = server.store.write();
    super::run_write(ctx, &mut ks, populate_locked, args)?;
    ctx.out.ok();
    Ok(())
}

/// POPULATE's work, under the write lock, with its arguments checked.
fn populate_locked(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let count = crate::util::num::parse_i64(&args[2]).unwrap_or(0).max(0) as u64;
    let size = if args.len() == 5 {
        crate::util::num::parse_i64(&args[4]).unwrap_or(0).max(0) as usize
    } else {
        0
    };
    let prefix: &[u8] = if args.len() >= 4 { &args[3] } else { b"key" };
    let dbi = ctx.client.db;
    for j in 0..count {
        let mut key = prefix.to_vec();
        key.extend_from_slice(format!(":{j}").as_bytes());
        if ks.db(dbi).get_quietly(&key, ctx.now_ms).is_some() {
            continue;
        }
        let mut value = format!("value:{j}").into_bytes();
        if size > 0 {
            value.resize(size, 0);
        }
        ks.db_mut(dbi).set_str(&key, &value, false, ctx.now_ms);
        ks.touched(dbi, &key);
    }
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves the dump (unless NOSAVE), empties the
/// databases (unless NOFLUSH), then loads the dump back.
fn reload(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut flush, mut save) = (true, true);
    for opt in args.iter().skip(2) {
        if is(opt, "merge") {
        } else if is(opt, "noflush") {
            flush = false;
        } else if is(opt, "nosave") {
            save = false;
        } else {
            return Err(CmdError::err(
                "DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    let server = ctx.server;
    let mut ks = server.store.write();
    if save && crate::persist::save::save(server, &ks).is_err() {
        return Err(CmdError::err("Error trying to save the DB"));
    }
    let (databases, limits, clock, delay) = {
        let config = server.config();
        let delay = config.int("key-load-delay");
        (config.databases, config.limits(), config.clock(), delay)
    };
    let path = server.dump_path();
    let loaded = crate::persist::save::load(&path, databases, &limits, clock, None, delay);
    let Ok(Some((mut loaded, _))) = loaded else {
        return Err(CmdError::err("Error trying to load the RDB dump"));
    };
    for i in 0..ks.db_count().min(loaded.db_count()) {
        if flush {
            ks.db_mut(i).clear();
        }
        let keys: Vec<Vec<u8>> = loaded.db(i).iter().map(|e| e.key().to_vec()).collect();
        for key in keys {
            if let Some(entry) = loaded.db_mut(i).remove(&key, 0) {
                ks.db_mut(i).insert(entry);
            }
        }
    }
    drop(ks);
    server.log.warning("DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
    Ok(())
}

/// Lowercase hex of a digest.
fn hex(digest: &[u8; 20]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `xorDigest`: xors SHA-1(data) into the digest.
fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(data)) {
        *d ^= h;
    }
}

/// `mixDigest`: digest = SHA-1(digest xor SHA-1(data)), so order matters.
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(digest);
}

/// Redis's type codes, which the digest mixes in.
fn type_code(value: ValueRef<'_>) -> u32 {
    match value {
        ValueRef::Str(_) => 0,
        ValueRef::List(_) => 1,
        ValueRef::Set(_) => 2,
        ValueRef::ZSet(_) => 3,
        ValueRef::Hash(_) => 4,
        ValueRef::Stream(_) => 6,
    }
}

/// `xorObjectDigest`: mixes one value (and whether it expires) into `digest`.
fn value_digest(digest: &mut [u8; 20], value: ValueRef<'_>, expires: bool) {
    mix_digest(digest, &type_code(value).to_be_bytes());
    match value {
        ValueRef::Str(s) => mix_digest(digest, s),
        ValueRef::List(list) => list.iter().for_each(|e| mix_digest(digest, e)),
        ValueRef::Set(set) => set.iter().for_each(|m| xor_digest(digest, &m)),
        ValueRef::ZSet(zset) => {
            for (member, score) in zset.iter() {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, member);
                mix_digest(&mut ele, &crate::util::num::format_double(score));
                xor_digest(digest, &ele);
            }
        }
        ValueRef::Hash(hash) => {
            for (field, v) in hash.iter() {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, field);
                mix_digest(&mut ele, v);
                xor_digest(digest, &ele);
            }
        }
        ValueRef::Stream(stream) => stream.for_each(|entry| {
            mix_digest(
                digest,
                format!("{}.{}", entry.id.ms, entry.id.seq).as_bytes(),
            );
            for (field, v) in entry.fields() {
                mix_digest(digest, field);
                mix_digest(digest, v);
            }
        }),
    }
    if expires {
        xor_digest(digest, b"!!expire!!");
    }
}

/// `computeDatasetDigest`: each non-empty database's number mixed in, then the xor of
/// every key's own digest (so the order of keys does not matter).
fn dataset_digest(ks: &Keyspace) -> [u8; 20] {
    let mut out = [0u8; 20];
    for i in 0..ks.db_count() {
        let db = ks.db(i);
        if db.iter().next().is_none() {
            continue;
        }
        mix_digest(&mut out, &(i as u32).to_be_bytes());
        for entry in db.iter() {
            let mut digest = [0u8; 20];
            mix_digest(&mut digest, entry.key());
            value_digest(&mut digest, entry.value(), entry.expires_at().is_some());
            xor_digest(&mut out, &digest);
        }
    }
    out
}
