//! SORT and SORT_RO (Redis's sort.c): sorting lists, sets and sorted sets by value or by
//! external keys (strings, or hash fields with `key->field`), with LIMIT, GET patterns
//! and STORE.
//!
//! Weights are read with a port of glibc's `strtod` (decimal and hexadecimal, `ERANGE` on
//! overflow and on inexact underflow), and ALPHA compares bytes up to a NUL, as `strcoll`
//! does in the C and C.UTF-8 locales. Equal items come out in Redis's order: glibc's
//! `qsort` is a stable merge sort, and BY with a LIMIT uses a port of Redis's own partial
//! quicksort (`pqsort`). That holds for lists; a set or sorted set goes into the sort in
//! hash-table order in Redis, so its ties (ALPHA by equal or missing weights) and a set
//! sorted `BY nosort` come out in an order only Redis's own hash table decides. Redis 7.0 never clears `errno` before `strtod`, so once a SORT
//! meets an overflowing weight, its later numeric SORTs fail too until some other call
//! resets `errno`; that bug is not copied.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::{int_arg, is, read_key, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::Args;
use crate::store::class::{GENERIC, LIST};
use crate::store::{Keyspace, Value, ValueRef};
use crate::util::c_str;
use crate::util::num::strtod;

pub const COMMANDS: &[Command] = &[
    Command::new("sort", Handler::Write(sort)),
    Command::new("sort_ro", Handler::Write(sort_ro)),
];

/// SORT's options.
struct SortOptions<'a> {
    desc: bool,
    alpha: bool,
    /// LIMIT's offset and count (count -1: to the end).
    limit: (i64, i64),
    by: Option<&'a [u8]>,
    /// Whether any BY pattern had no `*` (in its C-string part): then nothing is
    /// sorted, even if a later BY has one, as in Redis.
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

/// Parses SORT's options as Redis does: any order, the last of a repeated option
/// winning, STORE refused by SORT_RO as an unknown word.
/// `full_key_access`: whether the user may read any key, which BY and GET patterns
/// need (they name keys the ACL check cannot see).
fn parse_sort(
    args: &Args,
    readonly: bool,
    full_key_access: bool,
) -> Result<SortOptions<'_>, CmdError> {
    let mut opts = SortOptions {
        desc: false,
        alpha: false,
        limit: (0, -1),
        by: None,
        dontsort: false,
        gets: Vec::new(),
        store: None,
    };
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let word = &args[j];
        if is(word, "asc") {
            opts.desc = false;
        } else if is(word, "desc") {
            opts.desc = true;
        } else if is(word, "alpha") {
            opts.alpha = true;
        } else if is(word, "limit") && left >= 2 {
            opts.limit = (int_arg(&args[j + 1])?, int_arg(&args[j + 2])?);
            j += 2;
        } else if !readonly && is(word, "store") && left >= 1 {
            opts.store = Some(&args[j + 1]);
            j += 1;
        } else if is(word, "by") && left >= 1 {
            opts.by = Some(&args[j + 1]);
            let pattern = c_str(&args[j + 1]).contains(&b'*');
            opts.dontsort |= !pattern;
            if pattern && !full_key_access {
                return Err(CmdError::err(
                    "BY option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            j += 1;
        } else if is(word, "get") && left >= 1 {
            if !full_key_access {
                return Err(CmdError::err(
                    "GET option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            opts.gets.push(&args[j + 1]);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(opts)
}

/// One element being sorted.
struct SortItem<'a> {
    elem: Cow<'a, [u8]>,
    score: f64,
    /// The BY value for ALPHA sorting (`None`: missing, sorts first).
    by: Option<Cow<'a, [u8]>>,
}

impl<'a> SortItem<'a> {
    fn new(elem: Cow<'a, [u8]>) -> SortItem<'a> {
        SortItem {
            elem,
            score: 0.0,
            by: None,
        }
    }
}

/// One entry of SORT's output: a value, or nil for a GET that found nothing.
type Output<'a> = Option<Cow<'a, [u8]>>;

/// Runs SORT up to its output: the flat reply, one entry per element or, with GET
/// patterns, one per pattern per element (`None` for nil).
///
/// The elements are loaded as Redis's `sortCommandGeneric` loads them: a list in its
/// order, a set in its iteration order (ascending for an intset), a sorted set by rank.
/// With a constant BY (`nosort`) a list or a sorted set keeps its own order (reversed by
/// DESC) and only the LIMIT range is taken from it, while a set comes out in iteration
/// order (unless STORE or a script asks for a result that must not depend on it: then
/// it is sorted ALPHA, as Redis does).
fn sort_output<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    args: &'a Args,
    opts: &SortOptions<'a>,
) -> Result<Vec<Output<'a>>, CmdError> {
    let value = match read_key(ctx, ks, &args[1]).map(|e| e.value()) {
        None => None,
        Some(v @ (ValueRef::List(_) | ValueRef::Set(_) | ValueRef::ZSet(_))) => Some(v),
        Some(_) => return Err(CmdError::WrongType),
    };
    let (mut dontsort, mut alpha, mut by) = (opts.dontsort, opts.alpha, opts.by);
    let stable = opts.store.is_some() || ctx.client.in_script;
    if dontsort && matches!(value, Some(ValueRef::Set(_))) && stable {
        dontsort = false;
        alpha = true;
        by = None;
    }
    let len = match value {
        Some(ValueRef::List(l)) => l.len(),
        Some(ValueRef::Set(s)) => s.len(),
        Some(ValueRef::ZSet(z)) => z.len(),
        _ => 0,
    } as i64;

    // LIMIT, clamped as Redis 7.0 does.
    let mut start = opts.limit.0.clamp(0, len);
    let count = opts.limit.1.clamp(-1, len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);

    let mut items: Vec<SortItem> = Vec::new();
    match value {
        Some(ValueRef::List(list)) if dontsort => {
            // The list's own order (reversed by DESC), only the LIMIT range.
            let n = (end - start + 1).max(0) as usize;
            let elems: Box<dyn Iterator<Item = &[u8]>> = if opts.desc {
                Box::new(list.iter().rev().skip(start.max(0) as usize))
            } else {
                Box::new(list.iter().skip(start.max(0) as usize))
            };
            items.extend(elems.take(n).map(|e| SortItem::new(Cow::Borrowed(e))));
            end -= start;
            start = 0;
        }
        Some(ValueRef::ZSet(zset)) if dontsort => {
            // By rank (from the top with DESC), only the LIMIT range. Redis does this
            // even when the range is empty.
            let n = (end - start + 1).max(0) as usize;
            let first = start.max(0) as usize;
            let ranks = if opts.desc {
                let top = len as usize - first;
                top.saturating_sub(n)..top
            } else {
                first..first + n
            };
            items.extend(
                zset.iter_ranks(ranks, opts.desc)
                    .map(|(m, _)| SortItem::new(Cow::Borrowed(m))),
            );
            end -= start;
            start = 0;
        }
        Some(ValueRef::List(list)) => {
            items.extend(list.iter().map(|e| SortItem::new(Cow::Borrowed(e))));
        }
        Some(ValueRef::Set(set)) => items.extend(set.iter().map(SortItem::new)),
        Some(ValueRef::ZSet(zset)) => {
            items.extend(zset.iter().map(|(m, _)| SortItem::new(Cow::Borrowed(m))));
        }
        _ => {}
    }

    if !dontsort {
        let mut bad_score = false;
        for item in &mut items {
            let weight = match by {
                Some(pattern) => match lookup_by_pattern(ctx, ks, pattern, &item.elem) {
                    Some(v) => v,
                    None => continue,
                },
                None => item.elem.clone(),
            };
            if alpha {
                if by.is_some() {
                    item.by = Some(weight);
                }
            } else {
                match sort_score(&weight) {
                    Some(score) => item.score = score,
                    None => bad_score = true,
                }
            }
        }
        if bad_score {
            return Err(CmdError::err(
                "One or more scores can't be converted into double",
            ));
        }
        // With STORE, Redis compares bytes; otherwise `strcoll` (byte order up to a
        // NUL in the C and C.UTF-8 locales).
        let text_cmp = |a: &[u8], b: &[u8]| match opts.store {
            Some(_) => a.cmp(b),
            None => c_str(a).cmp(c_str(b)),
        };
        let cmp = |a: &SortItem, b: &SortItem| {
            let cmp = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.elem.cmp(&b.elem))
            } else if by.is_some() {
                match (&a.by, &b.by) {
                    (Some(x), Some(y)) => text_cmp(x, y),
                    (x, y) => x.is_some().cmp(&y.is_some()),
                }
            } else {
                text_cmp(&a.elem, &b.elem)
            };
            if opts.desc {
                cmp.reverse()
            } else {
                cmp
            }
        };
        // Equal items (ALPHA by equal or missing weights) come out in the order Redis
        // gives them: its partial quicksort for BY with a LIMIT, else glibc's `qsort`,
        // a merge sort, so stable. (For sets and sorted sets the order going in is the
        // hash table's, so ties there can differ from Redis's.)
        if by.is_some() && (start != 0 || end != len - 1) {
            if end >= start {
                crate::util::pqsort::pqsort(&mut items, &cmp, start as usize, end as usize);
            }
        } else {
            items.sort_by(cmp);
        }
    }

    let mut out = Vec::new();
    if end >= start {
        for item in &items[start as usize..=end as usize] {
            if opts.gets.is_empty() {
                out.push(Some(item.elem.clone()));
            }
            for pattern in &opts.gets {
                out.push(lookup_by_pattern(ctx, ks, pattern, &item.elem));
            }
        }
    }
    Ok(out)
}

/// The value a SORT BY or GET pattern names for element `elem` (Redis's
/// `lookupKeyByPattern`): `#` is the element itself; otherwise the first `*` is replaced
/// by the element and the string at that key is returned. `key->field` (an `->` after
/// the `*`, followed by at least one byte) names the field of the hash at `key`; a key
/// of another type (a non-string for a plain pattern, a non-hash for `->`) names
/// nothing, and so does a pattern without `*`. As in C, the searches for `#`, `*` and
/// `->` stop at a NUL byte, while the field is all the bytes after `->`. The key is
/// looked up as a read (a hit or a miss counted, `keymiss` on a miss).
fn lookup_by_pattern<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    pattern: &[u8],
    elem: &Cow<'a, [u8]>,
) -> Option<Cow<'a, [u8]>> {
    let visible = c_str(pattern);
    if visible == b"#" {
        return Some(elem.clone());
    }
    let star = visible.iter().position(|&b| b == b'*')?;
    let arrow = visible[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&f| f + 2 < visible.len());
    let key_end = arrow.unwrap_or(pattern.len());
    let mut key = Vec::with_capacity(pattern.len() + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    let entry = read_key(ctx, ks, &key)?;
    let found = match arrow {
        Some(f) => entry.hash()?.get(&pattern[f + 2..]),
        None => entry.str(),
    };
    found.map(Cow::Borrowed)
}

/// A SORT weight as Redis reads one with `strtod`: the whole C string must be a number
/// (leading spaces allowed, the empty string is 0), not NaN, and neither overflowing nor
/// underflowing (`ERANGE`).
fn sort_score(s: &[u8]) -> Option<f64> {
    let s = c_str(s);
    if s.is_empty() {
        return Some(0.0);
    }
    let (value, used, erange) = strtod(s)?;
    (used == s.len() && !erange && !value.is_nan()).then_some(value)
}

/// SORT and SORT_RO's reply without STORE: the output as an array.
fn sort_reply(ctx: &mut Ctx, ks: &Keyspace, args: &Args, opts: &SortOptions) -> CmdResult {
    let out = sort_output(ctx, ks, args, opts)?;
    ctx.out.array(out.len());
    for v in out {
        match v {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// SORT ... STORE: the output becomes a list at `dest` (nil GETs as empty strings; an
/// empty output deletes `dest`), and the reply is its length. The list fires
/// `sortstore`; a deletion fires `del` (Redis's `dbDelete` removes even an expired
/// destination still there, so that is a `del` too). The command is replayed as given.
fn sort_store(
    ctx: &mut Ctx,
    ks: &mut Keyspace,
    args: &Args,
    opts: &SortOptions,
    dest: &[u8],
) -> CmdResult {
    let list: crate::store::List = sort_output(ctx, ks, args, opts)?
        .into_iter()
        .map(|v| v.map(Cow::into_owned).unwrap_or_default())
        .collect();
    let n = list.len();
    let dbi = ctx.client.db;
    // The keys the sort met expired go first, as Redis deletes them as it meets them.
    ks.reap_stale();
    if n > 0 {
        // Redis's `setKey`: a write lookup (an expired destination goes), then the list
        // replaces whatever is there, without expiry.
        let db = ks.db_mut(dbi);
        db.get_mut(dest, ctx.now_ms);
        db.set(dest, Value::List(list));
        ks.touched(dbi, dest);
        ks.signal_ready(dbi, dest);
        ks.notify(LIST, "sortstore", dbi, dest);
        ks.dirty += n as u64;
    } else if ks.db_mut(dbi).delete(dest).is_some() {
        ks.changed(GENERIC, "del", dbi, dest);
        ks.dirty += 1;
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// ```text
/// SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
///     [ASC|DESC] [ALPHA] [STORE destination]
/// ```
/// The sorted elements (numbers unless ALPHA), or with GET the values their patterns
/// name; with STORE, how many were stored as a list at destination (an empty result
/// deletes it).
fn sort(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let full = super::acl::full_key_access(ctx, args);
    let opts = parse_sort(args, false, full)?;
    convert_zset(ctx, ks, &args[1]);
    let result = match opts.store {
        Some(dest) => sort_store(ctx, ks, args, &opts, dest),
        None => sort_reply(ctx, ks, args, &opts),
    };
    // The expired keys the lookups met go now, as Redis deletes them as it meets them
    // (the dispatcher does this after read commands only).
    ks.reap_stale();
    result
}

/// ```text
/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
///     [ASC|DESC] [ALPHA]
/// ```
/// SORT without STORE. It still takes the write lock, for the one change it makes: a
/// sorted set it sorts leaves the listpack encoding.
fn sort_ro(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let full = super::acl::full_key_access(ctx, args);
    let opts = parse_sort(args, true, full)?;
    convert_zset(ctx, ks, &args[1]);
    let result = sort_reply(ctx, ks, args, &opts);
    ks.reap_stale();
    result
}

/// Redis converts a sorted set it is about to sort to the skiplist encoding, for SORT
/// and SORT_RO alike (`zsetConvert` in `sortCommandGeneric`, after the options and the
/// type check), which OBJECT ENCODING shows.
fn convert_zset(ctx: &Ctx, ks: &mut Keyspace, key: &[u8]) {
    let (db, now) = (ctx.client.db, ctx.now_ms);
    // Redis converts the object its one lookup found: no lookup (and no keymiss) here.
    let listpack = ks
        .db(db)
        .get_quietly(key, now)
        .and_then(|e| e.zset())
        .is_some_and(|z| z.is_listpack());
    if listpack {
        if let Some(z) = ks.db_mut(db).get_mut(key, now).and_then(|e| e.zset_mut()) {
            z.convert_to_skiplist();
        }
    }
}

// WAIT.

#[cfg(test)]
mod tests {
    use super::*;

    fn score(s: &str) -> Option<f64> {
        sort_score(s.as_bytes())
    }

    #[test]
    fn sort_scores_follow_strtod() {
        assert_eq!(score(""), Some(0.0));
        assert_eq!(score("  5"), Some(5.0));
        assert_eq!(score("+1.5e3"), Some(1500.0));
        assert_eq!(score(".5"), Some(0.5));
        assert_eq!(score("5."), Some(5.0));
        assert_eq!(score("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(score("inf"), Some(f64::INFINITY));
        assert_eq!(score("0x1p3"), Some(8.0));
        assert_eq!(score("0x.8p1"), Some(1.0));
        assert_eq!(score("0X1P-1074"), Some(f64::from_bits(1)));
        assert_eq!(score("0x1.8"), Some(1.5));
        assert_eq!(score("2.2250738585072014e-308"), Some(f64::MIN_POSITIVE));
        assert_eq!(score("7\0garbage"), Some(7.0));
        assert_eq!(score("0.0000"), Some(0.0));
        for bad in [
            "5 ",
            "x",
            "1e400",
            "1e-310",
            "4.9e-324",
            "0x1p-1075",
            "nan",
            "nan(12)",
            "+",
            "0x",
            "1e",
            "1e+",
            "infinit",
            " ",
            "1,5",
            "0x1p99999",
        ] {
            assert_eq!(score(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hex_rounding_is_to_nearest_even() {
        // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: even wins.
        assert_eq!(score("0x20000000000001"), Some(9007199254740992.0));
        assert_eq!(score("0x20000000000003"), Some(9007199254740996.0));
        // Beyond 30 hex digits the rest only breaks ties.
        assert_eq!(
            score("0x1000000000000000000000000000000001"),
            Some(2f64.powi(132))
        );
        // Checked against glibc 2.36.
        assert_eq!(
            score("0x1.fffffffffffff8p1023"),
            None,
            "rounds up to infinity"
        );
        assert_eq!(score("0x1.fffffffffffff7p1023"), Some(f64::MAX));
        assert_eq!(score("0x0.0000000000001p-1022"), Some(f64::from_bits(1)));
        assert_eq!(score("0x0.00000000000018p-1022"), None, "inexact subnormal");
        assert_eq!(score("0x1.00000000000008p0"), Some(1.0));
        assert_eq!(score("0x1.00000000000018p0"), Some(1.0 + 2f64.powi(-51)));
        assert_eq!(
            score("0x.000000000000000000000000000000000001p0"),
            Some(2f64.powi(-144))
        );
    }

    #[test]
    fn sort_store_fires_sortstore_or_del() {
        use crate::command::testing::{strs, Session};
        let mut s = Session::new();
        s.now_ms = Some(1_000_000);
        s.run(&["CONFIG", "SET", "notify-keyspace-events", "KEAn"]);
        s.run(&["RPUSH", "l", "2", "1"]);
        s.run(&["SET", "w_1", "a", "PX", "10"]);
        s.run(&["SET", "d", "1", "PX", "10"]);
        s.now_ms = Some(1_000_011);
        // The keys the sort meets expired go first, in order, then the destination's.
        let (reply, ev, prop) = s.check(&["SORT", "l", "GET", "w_*", "STORE", "d"]);
        assert_eq!(reply, ":2\r\n");
        assert_eq!(
            ev,
            strs(&["expired w_1", "expired d", "new d", "sortstore d"])
        );
        assert_eq!(
            prop,
            strs(&[
                "MULTI",
                "DEL w_1",
                "DEL d",
                "SORT l GET w_* STORE d",
                "EXEC"
            ])
        );
        let (_, ev, prop) = s.check(&["SORT", "l", "STORE", "d"]);
        assert_eq!(ev, strs(&["sortstore d"]), "overwritten: not new");
        assert_eq!(prop, strs(&["SORT l STORE d"]));
        let (reply, ev, prop) = s.check(&["SORT", "l", "LIMIT", "0", "0", "STORE", "d"]);
        assert_eq!(reply, ":0\r\n");
        assert_eq!(ev, strs(&["del d"]));
        assert_eq!(prop, strs(&["SORT l LIMIT 0 0 STORE d"]));
        let (_, ev, prop) = s.check(&["SORT", "l", "LIMIT", "0", "0", "STORE", "d"]);
        assert!(ev.is_empty() && prop.is_empty(), "nothing to delete");
        // An empty result deletes an expired destination as any other (Redis's
        // `dbDelete` does not look at the expiry).
        s.run(&["SET", "z", "1", "PX", "10"]);
        s.now_ms = Some(1_000_022);
        let (_, ev, prop) = s.check(&["SORT", "nokey", "STORE", "z"]);
        assert_eq!(
            (ev, prop),
            (strs(&["del z"]), strs(&["SORT nokey STORE z"]))
        );
        let (_, ev, prop) = s.check(&["SORT", "l"]);
        assert!(ev.is_empty() && prop.is_empty(), "no STORE");
    }
}
