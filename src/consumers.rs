//! The consumers of the effects record (see [`crate::store::effects`]): after a command,
//! an expiry pass or a served blocked client, what changed goes to client-side caching,
//! keyspace notifications and the propagation stream (the AOF, later replicas), in that
//! order, as Redis's `call()` and `afterCommand()` hand it on. None of them knows which
//! command ran.
//!
//! Everything here runs while the caller still holds the keyspace write lock, so the
//! propagation stream is in the order of execution. Nothing here waits on a client:
//! messages are queued and sent by the caller once the lock is released.

use crate::client::Published;
use crate::state::Server;
use crate::store::{Effects, Op};
use crate::tracking::Outgoing;

/// Whoever caused the effects: a client (id, and where its messages wait), or the server
/// itself (id 0: the active expiry cycle).
pub struct Origin<'a> {
    pub client_id: u64,
    /// Invalidation pushes for the client itself, sent after its reply.
    pub pending: &'a mut Vec<u8>,
    /// Invalidations for other clients, sent after the lock is released.
    pub outgoing: &'a mut Outgoing,
    /// Subscribers that keyspace notifications were queued for.
    pub published: &'a mut Published,
    /// Inside EXEC the commands to propagate wait here, to be wrapped in MULTI/EXEC
    /// when the transaction ends; `None` propagates them at once.
    pub held: Option<&'a mut Vec<Op>>,
}

/// Hands one closed effects record to every consumer. `wrap` says whether several
/// propagated commands are wrapped in MULTI/EXEC (commands: yes; the active expiry
/// cycle: no, as Redis's `propagate_no_multi`).
pub fn deliver(server: &Server, fx: Effects, origin: &mut Origin, wrap: bool) {
    if server.tracking.active() {
        if fx.flushed {
            server.tracking.flush(
                &server.clients,
                origin.client_id,
                origin.pending,
                origin.outgoing,
            );
        } else if !fx.modified.is_empty() {
            let keys: Vec<&[u8]> = fx.modified.iter().map(|(_, k)| &**k).collect();
            server.tracking.invalidate(
                &server.clients,
                origin.client_id,
                &keys,
                origin.pending,
                origin.outgoing,
            );
        }
    }
    #[cfg(test)]
    server
        .events
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(fx.events.iter().cloned());
    if !fx.events.is_empty() {
        crate::notify::publish(server, &fx.events, origin.published);
    }
    if fx.ops.is_empty() {
        return;
    }
    match &mut origin.held {
        Some(held) => held.extend(fx.ops),
        None => propagate(server, fx.ops, wrap),
    }
}

/// Sends commands to the propagation stream (Redis's `propagatePendingCommands`):
/// several are wrapped in MULTI/EXEC when `wrap`, the MULTI in the first one's database
/// and the EXEC in the last one's, so no extra SELECT is needed.
pub fn propagate(server: &Server, ops: Vec<Op>, wrap: bool) {
    if ops.is_empty() {
        return;
    }
    let transaction = wrap && ops.len() > 1;
    let (first, last) = (ops[0].db, ops[ops.len() - 1].db);
    if transaction {
        server.feed(&Op::new(first, &["MULTI"]));
    }
    for op in &ops {
        server.feed(op);
    }
    if transaction {
        server.feed(&Op::new(last, &["EXEC"]));
    }
}
