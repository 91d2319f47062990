//! The pub/sub registry: which clients listen to which channels, patterns and shard
//! channels, and the fan-out of PUBLISH and SPUBLISH.
//!
//! Shard channels (Redis 7.0's sharded pub/sub) are a namespace of their own: SPUBLISH
//! reaches only their subscribers, as `smessage`, and patterns never match them. A
//! standalone server serves them as one shard holding every slot.
//!
//! Everything sits behind one mutex. Subscribing, unsubscribing and publishing each
//! queue their frames to the clients concerned while holding it, so every subscriber
//! sees one order of events: a `subscribe` confirmation before any message published
//! after it, and messages in publish order. Queuing never waits on a client (see
//! [`ClientHandle::queue`]), so a slow subscriber never holds the lock for long.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::client::{ClientHandle, Published};
use crate::resp::Reply;
use crate::util::glob;

/// Channel and pattern subscribers.
#[derive(Debug, Default)]
pub struct PubSub {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
pub struct Inner {
    /// Subscribers of each channel, in subscription order.
    channels: HashMap<Vec<u8>, Vec<Arc<ClientHandle>>>,
    /// Subscribers of each pattern, patterns in the order first subscribed.
    patterns: Vec<(Vec<u8>, Vec<Arc<ClientHandle>>)>,
    /// Subscribers of each shard channel, in subscription order.
    shard_channels: HashMap<Vec<u8>, Vec<Arc<ClientHandle>>>,
}

impl PubSub {
    /// The registry, locked (see the module docs for why callers queue under it).
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// Adds a channel subscriber (no-op if already subscribed).
    pub fn subscribe(&mut self, channel: &[u8], client: &Arc<ClientHandle>) {
        add_subscriber(&mut self.channels, channel, client);
    }

    /// Removes a channel subscriber.
    pub fn unsubscribe(&mut self, channel: &[u8], client_id: u64) {
        remove_subscriber(&mut self.channels, channel, client_id);
    }

    /// Adds a shard channel subscriber (no-op if already subscribed).
    pub fn ssubscribe(&mut self, channel: &[u8], client: &Arc<ClientHandle>) {
        add_subscriber(&mut self.shard_channels, channel, client);
    }

    /// Removes a shard channel subscriber.
    pub fn sunsubscribe(&mut self, channel: &[u8], client_id: u64) {
        remove_subscriber(&mut self.shard_channels, channel, client_id);
    }

    /// Adds a pattern subscriber.
    pub fn psubscribe(&mut self, pattern: &[u8], client: &Arc<ClientHandle>) {
        match self.patterns.iter_mut().find(|(p, _)| p == pattern) {
            Some((_, list)) => {
                if !list.iter().any(|c| c.id == client.id) {
                    list.push(Arc::clone(client));
                }
            }
            None => self
                .patterns
                .push((pattern.to_vec(), vec![Arc::clone(client)])),
        }
    }

    /// Removes a pattern subscriber.
    pub fn punsubscribe(&mut self, pattern: &[u8], client_id: u64) {
        if let Some(i) = self.patterns.iter().position(|(p, _)| p == pattern) {
            self.patterns[i].1.retain(|c| c.id != client_id);
            if self.patterns[i].1.is_empty() {
                self.patterns.remove(i);
            }
        }
    }

    /// Sends `message` to the subscribers of `channel` and of every matching pattern.
    /// Returns how many received it (a client subscribed twice counts twice, as in
    /// Redis). The messages are queued, not sent: the caller flushes the subscribers
    /// noted in `published` once its batch of commands is done.
    pub fn publish(&self, channel: &[u8], message: &[u8], published: &mut Published) -> usize {
        let mut receivers = fan_out(&self.channels, b"message", channel, message, published);
        for (pattern, list) in &self.patterns {
            if !glob::matches(pattern, channel, false) {
                continue;
            }
            let mut frames = Frames::default();
            for client in list {
                let frame = frames.get(client, |out| {
                    out.push_or_array(4);
                    out.bulk(b"pmessage");
                    out.bulk(pattern);
                    out.bulk(channel);
                    out.bulk(message);
                });
                if client.queue_for_flush(frame) {
                    published.add(client);
                }
                receivers += 1;
            }
        }
        receivers
    }

    /// Sends `message` to the subscribers of shard channel `channel` (SPUBLISH: no
    /// patterns). Returns how many received it; queued as [`Inner::publish`] does.
    pub fn spublish(&self, channel: &[u8], message: &[u8], published: &mut Published) -> usize {
        fan_out(
            &self.shard_channels,
            b"smessage",
            channel,
            message,
            published,
        )
    }

    /// Active channels (those with at least one subscriber) matching `pattern`.
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        matching(&self.channels, pattern)
    }

    /// Active shard channels matching `pattern`.
    pub fn shard_channels(&self, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        matching(&self.shard_channels, pattern)
    }

    /// The number of subscribers of `channel` (patterns not counted).
    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.channels.get(channel).map_or(0, Vec::len)
    }

    /// The number of subscribers of shard channel `channel`.
    pub fn shard_numsub(&self, channel: &[u8]) -> usize {
        self.shard_channels.get(channel).map_or(0, Vec::len)
    }

    /// How many channels, patterns and shard channels have subscribers (INFO's
    /// `pubsub_channels`, `pubsub_patterns` and `pubsubshard_channels`).
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.channels.len(),
            self.patterns.len(),
            self.shard_channels.len(),
        )
    }

    /// The number of distinct patterns subscribed to.
    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }

    /// The channels and the patterns of one client (ACL SETUSER checks them against
    /// its user's new channel rules).
    pub fn subscriptions_of(&self, client_id: u64) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let has = |subs: &Vec<Arc<ClientHandle>>| subs.iter().any(|c| c.id == client_id);
        let channels = self
            .channels
            .iter()
            .filter(|(_, subs)| has(subs))
            .map(|(c, _)| c.clone())
            .collect();
        let patterns = self
            .patterns
            .iter()
            .filter(|(_, subs)| has(subs))
            .map(|(p, _)| p.clone())
            .collect();
        (channels, patterns)
    }
}

/// Subscribers by channel: plain channels or shard channels.
type ByChannel = HashMap<Vec<u8>, Vec<Arc<ClientHandle>>>;

/// Adds `client` to `channel`'s subscribers, once.
fn add_subscriber(map: &mut ByChannel, channel: &[u8], client: &Arc<ClientHandle>) {
    let list = map.entry(channel.to_vec()).or_default();
    if !list.iter().any(|c| c.id == client.id) {
        list.push(Arc::clone(client));
    }
}

/// Removes a subscriber of `channel`; a channel nobody listens to goes.
fn remove_subscriber(map: &mut ByChannel, channel: &[u8], client_id: u64) {
    if let Some(list) = map.get_mut(channel) {
        list.retain(|c| c.id != client_id);
        if list.is_empty() {
            map.remove(channel);
        }
    }
}

/// Queues `[kind, channel, message]` to every subscriber of `channel`; how many.
fn fan_out(
    map: &ByChannel,
    kind: &[u8],
    channel: &[u8],
    message: &[u8],
    published: &mut Published,
) -> usize {
    let Some(list) = map.get(channel) else {
        return 0;
    };
    let mut frames = Frames::default();
    for client in list {
        let frame = frames.get(client, |out| {
            out.push_or_array(3);
            out.bulk(kind);
            out.bulk(channel);
            out.bulk(message);
        });
        if client.queue_for_flush(frame) {
            published.add(client);
        }
    }
    list.len()
}

/// The channels of `map` matching `pattern` (all of them without one).
fn matching<'a>(map: &'a ByChannel, pattern: Option<&[u8]>) -> Vec<&'a [u8]> {
    map.keys()
        .filter(|c| pattern.is_none_or(|p| glob::matches(p, c, false)))
        .map(Vec::as_slice)
        .collect()
}

/// One message encoded once per protocol version, for a fan-out.
#[derive(Default)]
struct Frames {
    resp2: Option<Vec<u8>>,
    resp3: Option<Vec<u8>>,
}

impl Frames {
    /// The frame for `client`'s protocol, encoded by `write` the first time.
    fn get(&mut self, client: &ClientHandle, write: impl Fn(&mut Reply)) -> &[u8] {
        let resp3 = client.is_resp3();
        let slot = if resp3 {
            &mut self.resp3
        } else {
            &mut self.resp2
        };
        slot.get_or_insert_with(|| {
            let mut out = Reply::new();
            out.resp3 = resp3;
            write(&mut out);
            out.as_bytes().to_vec()
        })
    }
}
