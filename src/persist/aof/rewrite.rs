//! The AOF base file: commands that rebuild the dataset, as Redis's
//! `rewriteAppendOnlyFileRio` writes them with `aof-use-rdb-preamble no`.
//!
//! Per non-empty database a SELECT, then per key: `SET` for a string, `RPUSH`, `SADD`,
//! `ZADD` and `HMSET` for the collections in batches of at most
//! [`ITEMS_PER_CMD`] elements (Redis's `AOF_REWRITE_ITEMS_PER_CMD`), scores as `%.17g`,
//! then `PEXPIREAT` with the absolute expiry time if the key has one. A stream becomes
//! what Redis's `rewriteStreamObject` writes: one `XADD` per entry (an empty stream
//! `XADD key MAXLEN 0 0-1 x y`), `XSETID` with ENTRIESADDED and MAXDELETEDID, then per
//! group `XGROUP CREATE ... ENTRIESREAD`, and per consumer an `XCLAIM ... JUSTID FORCE`
//! per pending entry, or `XGROUP CREATECONSUMER` if it has none.

use super::encode_argv;
use crate::store::ValueRef;

/// Redis's `AOF_REWRITE_ITEMS_PER_CMD`.
pub const ITEMS_PER_CMD: usize = 64;

/// `SELECT <db>` as the rewrite writes it.
pub fn select(out: &mut Vec<u8>, db: usize) {
    let db = db.to_string();
    encode_argv(&[b"SELECT".as_slice(), db.as_bytes()], out);
}

/// The commands that rebuild one key.
pub fn key(out: &mut Vec<u8>, key: &[u8], value: ValueRef<'_>, expires_at_ms: Option<u64>) {
    match value {
        ValueRef::Str(s) => encode_argv(&[b"SET".as_slice(), key, s], out),
        ValueRef::List(items) => batched(out, b"RPUSH", key, items.len(), 1, |f| {
            for item in items {
                f(item);
            }
        }),
        ValueRef::Set(set) => batched(out, b"SADD", key, set.len(), 1, |f| {
            for member in set.iter() {
                f(&member);
            }
        }),
        ValueRef::ZSet(zset) => batched(out, b"ZADD", key, zset.len(), 2, |f| {
            for (member, score) in zset.iter() {
                f(&crate::util::num::format_double(score));
                f(member);
            }
        }),
        ValueRef::Hash(hash) => batched(out, b"HMSET", key, hash.len(), 2, |f| {
            for (field, value) in hash.iter() {
                f(field);
                f(value);
            }
        }),
        ValueRef::Stream(stream) => rewrite_stream(out, key, stream),
    }
    if let Some(at) = expires_at_ms {
        let at = at.to_string();
        encode_argv(&[b"PEXPIREAT".as_slice(), key, at.as_bytes()], out);
    }
}

/// Writes `items` elements of `width` words each (what `each` hands over, word by word)
/// as `<cmd> key ...` commands of at most [`ITEMS_PER_CMD`] elements.
fn batched(
    out: &mut Vec<u8>,
    cmd: &[u8],
    key: &[u8],
    items: usize,
    width: usize,
    each: impl FnOnce(&mut dyn FnMut(&[u8])),
) {
    let mut left = items;
    let mut in_cmd = 0usize;
    let mut words = 0usize;
    each(&mut |word: &[u8]| {
        if in_cmd == 0 && words == 0 {
            let n = left.min(ITEMS_PER_CMD);
            header(out, 2 + n * width);
            bulk(out, cmd);
            bulk(out, key);
        }
        bulk(out, word);
        words += 1;
        if words == width {
            words = 0;
            in_cmd += 1;
            left -= 1;
            if in_cmd == ITEMS_PER_CMD {
                in_cmd = 0;
            }
        }
    });
}

/// The commands that rebuild a stream (Redis's `rewriteStreamObject`).
fn rewrite_stream(out: &mut Vec<u8>, key: &[u8], s: &crate::store::Stream) {
    if s.is_empty() {
        encode_argv(
            &[b"XADD".as_slice(), key, b"MAXLEN", b"0", b"0-1", b"x", b"y"],
            out,
        );
    } else {
        s.for_each(|e| {
            let fields = e.fields();
            header(out, 3 + 2 * fields.len());
            bulk(out, b"XADD");
            bulk(out, key);
            bulk(out, &e.id.to_bytes());
            for (f, v) in fields {
                bulk(out, f);
                bulk(out, v);
            }
        });
    }
    let added = s.entries_added.to_string();
    encode_argv(
        &[
            b"XSETID".as_slice(),
            key,
            &s.last_id.to_bytes(),
            b"ENTRIESADDED",
            added.as_bytes(),
            b"MAXDELETEDID",
            &s.max_deleted_id.to_bytes(),
        ],
        out,
    );
    for (name, g) in &s.groups {
        let read = g.entries_read.map_or(-1, |r| r as i64).to_string();
        encode_argv(
            &[
                b"XGROUP".as_slice(),
                b"CREATE",
                key,
                name,
                &g.last_id.to_bytes(),
                b"ENTRIESREAD",
                read.as_bytes(),
            ],
            out,
        );
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                encode_argv(
                    &[b"XGROUP".as_slice(), b"CREATECONSUMER", key, name, cname],
                    out,
                );
                continue;
            }
            for id in &c.pel {
                let Some(nack) = g.pel.get(id) else { continue };
                encode_argv(
                    &[
                        b"XCLAIM".as_slice(),
                        key,
                        name,
                        cname,
                        b"0",
                        &id.to_bytes(),
                        b"TIME",
                        nack.delivery_time.to_string().as_bytes(),
                        b"RETRYCOUNT",
                        nack.delivery_count.to_string().as_bytes(),
                        b"JUSTID",
                        b"FORCE",
                    ],
                    out,
                );
            }
        }
    }
}

fn header(out: &mut Vec<u8>, n: usize) {
    super::encode_len(out, b'*', n);
}

fn bulk(out: &mut Vec<u8>, word: &[u8]) {
    super::encode_len(out, b'$', word.len());
    out.extend_from_slice(word);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(out: &[u8]) -> String {
        String::from_utf8_lossy(out).into_owned()
    }

    #[test]
    fn strings_and_expiry() {
        let mut out = Vec::new();
        select(&mut out, 3);
        key(&mut out, b"k", ValueRef::Str(b"v"), Some(1234));
        assert_eq!(
            text(&out),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n\
             *3\r\n$9\r\nPEXPIREAT\r\n$1\r\nk\r\n$4\r\n1234\r\n"
        );
    }

    #[test]
    fn lists_are_batched_by_64() {
        let items: crate::store::List = (0..130).map(|i| i.to_string().into_bytes()).collect();
        let mut out = Vec::new();
        key(&mut out, b"l", ValueRef::List(&items), None);
        let t = text(&out);
        assert_eq!(t.matches("RPUSH").count(), 3);
        assert!(t.starts_with("*66\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\n0\r\n"));
        assert!(t.contains("*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$3\r\n128\r\n$3\r\n129\r\n"));
        // Exactly 64 makes one command.
        let items: crate::store::List = (0..64).map(|i| i.to_string().into_bytes()).collect();
        let mut out = Vec::new();
        key(&mut out, b"l", ValueRef::List(&items), None);
        assert_eq!(text(&out).matches("RPUSH").count(), 1);
    }

    #[test]
    fn pairs_for_hashes_and_zsets() {
        let mut z = crate::store::ZSet::default();
        let limits = crate::store::Limits::default();
        z.insert(b"a", 1.5, &limits);
        z.insert(b"b", f64::INFINITY, &limits);
        let mut out = Vec::new();
        key(&mut out, b"z", ValueRef::ZSet(&z), None);
        assert_eq!(
            text(&out),
            "*6\r\n$4\r\nZADD\r\n$1\r\nz\r\n$3\r\n1.5\r\n$1\r\na\r\n$3\r\ninf\r\n$1\r\nb\r\n"
        );
    }
}
