//! Keyspace notifications (Redis's notify.c): the events of the effects record,
//! published to `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>` for the
//! classes `notify-keyspace-events` turns on.

use crate::client::Published;
use crate::state::Server;
use crate::store::{class, Event};

/// Publishes `events` in order (keyspace channel first, then keyevent, as Redis's
/// `notifyKeyspaceEvent`). Messages are queued; the subscribers noted in `published`
/// are flushed by the caller once its batch is done.
pub fn publish(server: &Server, events: &[Event], published: &mut Published) {
    let flags = server.notify_flags();
    if flags == 0 || events.iter().all(|e| flags & e.class == 0) {
        return;
    }
    let registry = server.pubsub.lock();
    let mut channel = Vec::new();
    for e in events.iter().filter(|e| flags & e.class != 0) {
        if flags & class::KEYSPACE != 0 {
            channel.clear();
            channel.extend_from_slice(format!("__keyspace@{}__:", e.db).as_bytes());
            channel.extend_from_slice(&e.key);
            registry.publish(&channel, e.name.as_bytes(), published);
        }
        if flags & class::KEYEVENT != 0 {
            let channel = format!("__keyevent@{}__:{}", e.db, e.name);
            registry.publish(channel.as_bytes(), &e.key, published);
        }
    }
}
