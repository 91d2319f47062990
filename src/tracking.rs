//! Client-side caching (Redis's `tracking.c`): which clients may hold which keys, and
//! the invalidation messages a write sends them.
//!
//! A client turns tracking on with CLIENT TRACKING. In the default mode the keys it
//! reads are remembered in a table, key -> client ids; a write to a key sends an
//! `invalidate` message to every client of its entry, and forgets the entry (the client
//! must read the key again to hear about it). In BCAST mode nothing is remembered: every
//! write to a key under one of the client's prefixes is announced to it. Keys are global,
//! not per database, as in Redis.
//!
//! A RESP3 client receives `>2 invalidate [keys]` pushes on its own connection. A client
//! may instead REDIRECT its messages to another connection: a RESP3 one gets the same
//! push, a RESP2 one that is subscribed (to anything) gets a pub/sub `message` on the
//! `__redis__:invalidate` channel. FLUSHDB and FLUSHALL invalidate everything: the key
//! list is then a null.
//!
//! Messages for the client running the command (it wrote a key it reads itself) go out
//! after the command's reply, as Redis 7.0 sends them; messages for other clients are
//! sent once the keyspace lock is released (see [`Outgoing`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::client::{ClientHandle, Registry};
use crate::resp::Reply;

/// The pub/sub channel RESP2 redirect targets receive invalidations on.
pub const CHANNEL: &[u8] = b"__redis__:invalidate";

/// How a client tracks (CLIENT TRACKING's options).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Mode {
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// The client id messages go to (0: the client itself).
    pub redirect: u64,
    /// BCAST prefixes (the empty prefix when none was given), sorted as Redis lists them.
    pub prefixes: BTreeSet<Vec<u8>>,
}

/// A client's own view of its tracking, kept in its connection state.
#[derive(Debug, Default)]
pub struct ClientTracking {
    /// `Some` while tracking is on.
    pub mode: Option<Mode>,
    /// CLIENT CACHING was given for the next command (or transaction).
    pub caching: bool,
    /// Pushes for this client, sent after the running command's reply.
    pub pending: Vec<u8>,
    /// Messages for other clients, sent after the keyspace lock is released.
    pub outgoing: Outgoing,
}

/// Encoded messages and the clients they go to.
pub type Outgoing = Vec<(Arc<ClientHandle>, Vec<u8>)>;

/// The server-wide tracking state.
#[derive(Debug, Default)]
pub struct Tracking {
    inner: Mutex<Inner>,
    /// How many clients track: the dispatcher skips everything while it is 0.
    clients: AtomicUsize,
    /// `tracking-table-max-keys` (0: no limit).
    max_keys: AtomicUsize,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every tracking client.
    trackers: HashMap<u64, Tracker>,
    /// Default mode: key -> the ids of clients that may cache it.
    table: HashMap<Vec<u8>, Vec<u64>>,
    /// Calls of [`Tracking::limit`] in a row that left the table over its limit.
    over_limit_calls: usize,
}

#[derive(Debug)]
struct Tracker {
    handle: Arc<ClientHandle>,
    mode: Mode,
}

/// What an invalidation carries: some keys, or "everything" (a flush).
enum Payload<'a> {
    Keys(&'a [&'a [u8]]),
    All,
}

impl Tracking {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// INFO's `tracking_total_keys`, `tracking_total_items` (key-client pairs) and
    /// `tracking_total_prefixes` (distinct BCAST prefixes).
    pub fn totals(&self) -> (usize, usize, usize) {
        let inner = self.lock();
        let items = inner.table.values().map(Vec::len).sum();
        let prefixes: std::collections::HashSet<&[u8]> = inner
            .trackers
            .values()
            .filter(|t| t.mode.bcast)
            .flat_map(|t| t.mode.prefixes.iter().map(Vec::as_slice))
            .collect();
        (inner.table.len(), items, prefixes.len())
    }

    /// Whether any client tracks keys.
    pub fn active(&self) -> bool {
        self.clients.load(Ordering::Relaxed) > 0
    }

    /// Turns tracking on (or changes its options) for a client.
    pub fn enable(&self, handle: &Arc<ClientHandle>, mode: Mode) {
        let mut inner = self.lock();
        let fresh = inner
            .trackers
            .insert(
                handle.id,
                Tracker {
                    handle: Arc::clone(handle),
                    mode,
                },
            )
            .is_none();
        if fresh {
            self.clients.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Turns tracking off for a client (its entries in the key table go lazily, as in
    /// Redis: they are skipped when the key is invalidated).
    pub fn disable(&self, id: u64) {
        if self.lock().trackers.remove(&id).is_some() {
            self.clients.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Remembers that client `id` read `keys` (default mode).
    pub fn remember(&self, id: u64, keys: &[&[u8]]) {
        let mut inner = self.lock();
        for key in keys {
            let ids = inner.table.entry(key.to_vec()).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }

    /// Applies `tracking-table-max-keys`.
    pub fn configure(&self, config: &crate::config::Config) {
        let max = config.uint("tracking-table-max-keys");
        self.max_keys.store(
            usize::try_from(max).unwrap_or(usize::MAX),
            Ordering::Relaxed,
        );
    }

    /// Redis's `trackingLimitUsedSlots`: while the key table holds more keys than
    /// `tracking-table-max-keys`, keys leave it as if they had changed, their clients
    /// told to drop them. Each call does at most 100 times as many as the calls in a row
    /// that found the table still over its limit, so a lowered limit is reached over a
    /// few commands rather than in one long stall. `reader` is the client running.
    pub fn limit(
        &self,
        clients: &Registry,
        reader: u64,
        pending: &mut Vec<u8>,
        outgoing: &mut Outgoing,
    ) {
        let max = self.max_keys.load(Ordering::Relaxed);
        let mut inner = self.lock();
        if max == 0 || inner.table.len() <= max {
            inner.over_limit_calls = 0;
            return;
        }
        let mut effort = 100 * (inner.over_limit_calls + 1);
        let Inner {
            trackers, table, ..
        } = &mut *inner;
        while effort > 0 && table.len() > max {
            effort -= 1;
            // A hash map's order is as good as Redis's random walk.
            let Some(key) = table.keys().next().cloned() else {
                break;
            };
            for id in table.remove(&key).unwrap_or_default() {
                if let Some(t) = trackers.get(&id).filter(|t| !t.mode.bcast) {
                    let keys: [&[u8]; 1] = [&key];
                    message(clients, t, reader, &Payload::Keys(&keys), pending, outgoing);
                }
            }
        }
        if table.len() > max {
            inner.over_limit_calls += 1;
        } else {
            inner.over_limit_calls = 0;
        }
    }

    /// The messages that `keys`, just changed by client `writer`, send: pushes for the
    /// writer itself into `pending`, the others into `outgoing`.
    pub fn invalidate(
        &self,
        clients: &Registry,
        writer: u64,
        keys: &[&[u8]],
        pending: &mut Vec<u8>,
        outgoing: &mut Outgoing,
    ) {
        let mut inner = self.lock();
        let Inner {
            trackers, table, ..
        } = &mut *inner;
        for key in keys {
            let Some(ids) = table.remove(*key) else {
                continue;
            };
            for id in ids {
                let Some(t) = trackers.get(&id) else { continue };
                if t.mode.bcast || (t.mode.noloop && id == writer) {
                    continue;
                }
                message(
                    clients,
                    t,
                    writer,
                    &Payload::Keys(&[key]),
                    pending,
                    outgoing,
                );
            }
        }
        // BCAST: one message per matching prefix, as Redis sends one per prefix.
        for t in trackers.values().filter(|t| t.mode.bcast) {
            if t.mode.noloop && t.handle.id == writer {
                continue;
            }
            for prefix in &t.mode.prefixes {
                let matching: Vec<&[u8]> = keys
                    .iter()
                    .copied()
                    .filter(|k| k.starts_with(prefix))
                    .collect();
                if !matching.is_empty() {
                    message(
                        clients,
                        t,
                        writer,
                        &Payload::Keys(&matching),
                        pending,
                        outgoing,
                    );
                }
            }
        }
    }

    /// FLUSHDB or FLUSHALL by client `writer`: every tracking client hears that all its
    /// keys are invalid, and the key table is emptied.
    pub fn flush(
        &self,
        clients: &Registry,
        writer: u64,
        pending: &mut Vec<u8>,
        outgoing: &mut Outgoing,
    ) {
        let mut inner = self.lock();
        inner.table.clear();
        for t in inner.trackers.values() {
            message(clients, t, writer, &Payload::All, pending, outgoing);
        }
    }
}

/// Encodes one invalidation for tracker `t` (Redis's `sendTrackingMessage`) and files
/// it under the connection it goes to.
fn message(
    clients: &Registry,
    t: &Tracker,
    writer: u64,
    payload: &Payload,
    pending: &mut Vec<u8>,
    outgoing: &mut Outgoing,
) {
    let tracker_resp3 = t.handle.is_resp3();
    let mut out = Reply::new();
    let dest = if t.mode.redirect != 0 {
        match clients.get(t.mode.redirect) {
            Some(dest) => dest,
            None => {
                t.handle.info().tracking_broken = true;
                if tracker_resp3 {
                    out.resp3 = true;
                    out.push_or_array(2);
                    out.bulk(b"tracking-redir-broken");
                    out.int(t.mode.redirect as i64);
                    file(&t.handle, writer, out, pending, outgoing);
                }
                return;
            }
        }
    } else {
        Arc::clone(&t.handle)
    };
    let (dest_resp3, dest_subscribed) = {
        let info = dest.info();
        (info.resp >= 3, info.sub + info.psub + info.ssub > 0)
    };
    if dest_resp3 {
        out.resp3 = true;
        out.push_or_array(2);
        out.bulk(b"invalidate");
    } else if t.mode.redirect != 0 && dest_subscribed {
        out.array(3);
        out.bulk(b"message");
        out.bulk(CHANNEL);
    } else {
        // RESP2 has no pushes on a connection that runs commands.
        return;
    }
    match payload {
        Payload::Keys(keys) => {
            out.array(keys.len());
            for k in *keys {
                out.bulk(k);
            }
        }
        // The null of the tracking client's protocol, even when redirected.
        Payload::All => out.raw(if tracker_resp3 { b"_\r\n" } else { b"$-1\r\n" }),
    }
    file(&dest, writer, out, pending, outgoing);
}

fn file(
    dest: &Arc<ClientHandle>,
    writer: u64,
    out: Reply,
    pending: &mut Vec<u8>,
    outgoing: &mut Outgoing,
) {
    if dest.id == writer {
        pending.extend_from_slice(out.as_bytes());
    } else {
        outgoing.push((Arc::clone(dest), out.as_bytes().to_vec()));
    }
}

/// Sends messages for other clients (after the keyspace lock is released).
pub fn deliver(outgoing: &mut Outgoing) {
    for (dest, bytes) in outgoing.drain(..) {
        let _ = dest.send(&bytes);
    }
}

/// Whether `a` and `b` would both match some key (Redis's prefix collision test).
pub fn overlap(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_overlap_when_one_starts_the_other() {
        assert!(overlap(b"a", b"ab"));
        assert!(overlap(b"ab", b"a"));
        assert!(overlap(b"", b"x"));
        assert!(!overlap(b"ab", b"ac"));
    }
}
