//! The effects record: what a command did to the keyspace, as Redis's
//! `signalModifiedKey`, `notifyKeyspaceEvent` and `alsoPropagate` report it.
//!
//! A write handler changes the keyspace and says what it changed through the
//! [`Keyspace`](super::Keyspace) methods that fill this record:
//!
//! - [`changed`](super::Keyspace::changed): a key was modified and fires an event (the
//!   common case: both `signalModifiedKey` and `notifyKeyspaceEvent`);
//! - [`notify`](super::Keyspace::notify) and [`touched`](super::Keyspace::touched):
//!   either half alone, where Redis calls only one;
//! - [`propagate`](super::Keyspace::propagate): a command to replay (Redis's
//!   `alsoPropagate`), and [`rewrite`](super::Keyspace::rewrite) /
//!   [`prevent_propagation`](super::Keyspace::prevent_propagation): what replaces the
//!   command's own words, or that they are not to be replayed.
//!
//! Keys that expire on the way (a lookup meets them, or the active cycle removes them)
//! are recorded in the same order, as an `expired` event, a modification and a `DEL`
//! (`UNLINK` under `lazyfree-lazy-expire`).
//!
//! The dispatcher closes the record when the command ends ([`Effects::finish`]): if the
//! command counted a change and did not say otherwise, its own words are propagated
//! after everything it recorded, as Redis's `call()` does. The consumers (WATCH,
//! client-side caching, keyspace notifications, the AOF) read the closed record; none
//! of them looks at which command ran.

use super::Key;

/// Keyspace notification classes: Redis's `NOTIFY_*` bits, as `notify-keyspace-events`
/// spells them.
pub mod class {
    /// `K`: publish to `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish to `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: DEL, EXPIRE, RENAME...
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: strings.
    pub const STRING: u32 = 1 << 3;
    /// `l`: lists.
    pub const LIST: u32 = 1 << 4;
    /// `s`: sets.
    pub const SET: u32 = 1 << 5;
    /// `h`: hashes.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted sets.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: a key expired.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: a key was evicted.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: streams.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: a lookup missed.
    pub const KEY_MISS: u32 = 1 << 11;
    /// `d`: module events.
    pub const MODULE: u32 = 1 << 13;
    /// `n`: a key was created.
    pub const NEW: u32 = 1 << 14;
}

/// One keyspace event (Redis's `notifyKeyspaceEvent(type, event, key, dbid)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// One of the [`class`] bits.
    pub class: u32,
    pub name: &'static str,
    pub db: usize,
    pub key: Key,
}

/// A command to replay: its database and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub db: usize,
    pub argv: Vec<Vec<u8>>,
}

impl Op {
    /// An op from word slices.
    pub fn new<W: AsRef<[u8]>>(db: usize, words: &[W]) -> Op {
        Op {
            db,
            argv: words.iter().map(|w| w.as_ref().to_vec()).collect(),
        }
    }
}

/// Which parts of the record some consumer reads (the others are not recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// Keyspace events (someone may be subscribed to them).
    pub events: bool,
    /// Modified keys (client-side caching).
    pub modified: bool,
    /// Commands to replay (the AOF).
    pub ops: bool,
}

impl Wanted {
    /// Everything.
    pub const ALL: Wanted = Wanted {
        events: true,
        modified: true,
        ops: true,
    };
}

/// What the command's own words become when it is propagated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Own {
    /// Its words as given (if it counted a change).
    #[default]
    Verbatim,
    /// Other words (Redis's `rewriteClientCommandVector`).
    Rewritten(Vec<Vec<u8>>),
    /// Nothing: what it did is in the ops it recorded (`preventCommandPropagation`).
    Prevented,
}

/// What one command (or an expiry pass) did, in order.
#[derive(Debug, Default)]
pub struct Effects {
    /// Keyspace events, in the order they fired.
    pub events: Vec<Event>,
    /// Modified keys (`signalModifiedKey`), in order; a key may repeat.
    pub modified: Vec<(usize, Key)>,
    /// Every key of some database was removed at once (FLUSHDB, FLUSHALL): client-side
    /// caching invalidates everything.
    pub flushed: bool,
    /// Commands to replay, in order.
    pub ops: Vec<Op>,
    /// What happens to the command's own words.
    pub own: Own,
}

impl Effects {
    /// Whether nothing at all was recorded.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.modified.is_empty()
            && !self.flushed
            && self.ops.is_empty()
            && self.own == Own::Verbatim
    }

    /// Closes the record of a command that ran in database `db` with words `argv`:
    /// if it counted a change (`dirty`), its own words (or their rewrite) follow the ops
    /// it recorded, unless it prevented that.
    pub fn finish<'a>(&mut self, db: usize, argv: impl IntoIterator<Item = &'a [u8]>, dirty: bool) {
        match std::mem::take(&mut self.own) {
            Own::Verbatim if dirty => self.ops.push(Op {
                db,
                argv: argv.into_iter().map(<[u8]>::to_vec).collect(),
            }),
            Own::Rewritten(words) if dirty => self.ops.push(Op { db, argv: words }),
            _ => {}
        }
    }

    /// Records that `key` of `db` expired and was removed (`deleteExpiredKeyAndPropagate`).
    /// Only the parts in `wanted` are recorded.
    pub fn expired(&mut self, db: usize, key: Key, lazy_free: bool, wanted: Wanted) {
        if wanted.events {
            self.events.push(Event {
                class: class::EXPIRED,
                name: "expired",
                db,
                key: key.clone(),
            });
        }
        if wanted.ops {
            let del: &[u8] = if lazy_free { b"UNLINK" } else { b"DEL" };
            self.ops.push(Op {
                db,
                argv: vec![del.to_vec(), key.to_vec()],
            });
        }
        if wanted.modified {
            self.modified.push((db, key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words<'a>(parts: &'a [&'a str]) -> impl Iterator<Item = &'a [u8]> {
        parts.iter().map(|p| p.as_bytes())
    }

    #[test]
    fn a_change_propagates_the_command_after_what_it_recorded() {
        let mut fx = Effects::default();
        fx.expired(0, b"old".as_slice().into(), false, Wanted::ALL);
        fx.finish(0, words(&["SET", "old", "v"]), true);
        assert_eq!(
            fx.ops,
            vec![
                Op::new(0, &["DEL", "old"]),
                Op::new(0, &["SET", "old", "v"])
            ]
        );
        assert_eq!(fx.events[0].name, "expired");
        assert_eq!(fx.modified, vec![(0, b"old".as_slice().into())]);
    }

    #[test]
    fn no_change_no_rewrite_and_prevention_propagate_nothing_of_their_own() {
        let mut fx = Effects::default();
        fx.finish(0, words(&["SET", "k", "v", "NX"]), false);
        assert!(fx.ops.is_empty());

        let mut fx = Effects {
            own: Own::Rewritten(
                words(&["PEXPIREAT", "k", "5"])
                    .map(<[u8]>::to_vec)
                    .collect(),
            ),
            ..Effects::default()
        };
        fx.finish(2, words(&["EXPIRE", "k", "1"]), true);
        assert_eq!(fx.ops, vec![Op::new(2, &["PEXPIREAT", "k", "5"])]);

        let mut fx = Effects {
            own: Own::Prevented,
            ops: vec![Op::new(0, &["SREM", "s", "a"])],
            ..Effects::default()
        };
        fx.finish(0, words(&["SPOP", "s"]), true);
        assert_eq!(fx.ops, vec![Op::new(0, &["SREM", "s", "a"])]);
        assert_eq!(fx.own, Own::Verbatim, "closed");
    }

    #[test]
    fn lazy_free_expiry_propagates_unlink() {
        let mut fx = Effects::default();
        fx.expired(3, b"k".as_slice().into(), true, Wanted::ALL);
        assert_eq!(fx.ops, vec![Op::new(3, &["UNLINK", "k"])]);
    }
}
