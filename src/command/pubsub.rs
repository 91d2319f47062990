//! Pub/sub commands (Redis's pubsub.c): SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE,
//! PUNSUBSCRIBE, PUBLISH, the sharded SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH, and PUBSUB.
//!
//! Shard channels are counted apart: an SSUBSCRIBE or SUNSUBSCRIBE confirmation carries
//! the number of shard channels, a SUBSCRIBE or PSUBSCRIBE one the number of channels
//! and patterns, while any subscription of either kind puts a RESP2 client in
//! subscribed mode, as in Redis 7.0.
//!
//! A client's first subscription gives it a writer thread (see
//! [`crate::client::ClientHandle::start_writer`]): from then on its replies and the
//! messages published to it share one ordered queue, bounded by the pubsub class of
//! `client-output-buffer-limit`. Confirmations are queued while the registry is locked,
//! so a message published after a SUBSCRIBE always follows its confirmation.

use super::{CmdError, CmdResult, Command, Ctx, Handler};
use crate::client::ClientState;
use crate::pubsub::Inner;
use crate::resp::{Args, Reply};
use crate::state::Server;

const SUBCOMMANDS: &[Command] = &[
    Command::sub("pubsub", "channels", Handler::Plain(channels)),
    Command::sub("pubsub", "numpat", Handler::Plain(numpat)),
    Command::sub("pubsub", "numsub", Handler::Plain(numsub)),
    Command::sub("pubsub", "shardchannels", Handler::Plain(shardchannels)),
    Command::sub("pubsub", "shardnumsub", Handler::Plain(shardnumsub)),
    Command::sub("pubsub", "help", Handler::Plain(help)),
];

pub const COMMANDS: &[Command] = &[
    Command::new("subscribe", Handler::Plain(subscribe)),
    Command::new("unsubscribe", Handler::Plain(unsubscribe)),
    Command::new("psubscribe", Handler::Plain(psubscribe)),
    Command::new("punsubscribe", Handler::Plain(punsubscribe)),
    Command::new("ssubscribe", Handler::Plain(ssubscribe)),
    Command::new("sunsubscribe", Handler::Plain(sunsubscribe)),
    Command::new("spublish", Handler::Plain(spublish)),
    Command::new("publish", Handler::Plain(publish)),
    Command::container("pubsub", Handler::Container, SUBCOMMANDS),
];

/// Whether a subscribed RESP2 client may run `cmd`.
pub fn allowed_while_subscribed(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "subscribe"
            | "unsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// Channels, patterns or shard channels.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    /// The client's subscriptions of this kind.
    fn list(self, subs: &mut crate::client::Subscriptions) -> &mut Vec<Vec<u8>> {
        match self {
            Kind::Channel => &mut subs.channels,
            Kind::Pattern => &mut subs.patterns,
            Kind::Shard => &mut subs.shard,
        }
    }

    /// The count a confirmation of this kind carries.
    fn confirmed_count(self, subs: &crate::client::Subscriptions) -> usize {
        match self {
            Kind::Shard => subs.shard.len(),
            _ => subs.plain(),
        }
    }

    /// The confirmation words: (subscribe, unsubscribe).
    fn verbs(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Kind::Channel => (b"subscribe", b"unsubscribe"),
            Kind::Pattern => (b"psubscribe", b"punsubscribe"),
            Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
        }
    }
}

/// Writes one confirmation: `[kind, name, subscription count]`.
fn confirm(out: &mut Reply, kind: &[u8], name: Option<&[u8]>, count: usize) {
    out.push_or_array(3);
    out.bulk(kind);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

/// Moves the replies pending for this client (its earlier replies of the batch and the
/// confirmations just written) into its queue, while the registry is still locked. A
/// client without a queue (one that was never subscribed, answered by UNSUBSCRIBE) keeps
/// them in `out`, for its connection to send as usual.
fn queue_pending(client: &ClientState, out: &mut Reply) {
    // What CLIENT LIST shows is refreshed after each batch, but the writer thread may
    // send these replies sooner: refresh the pub/sub part first.
    {
        let mut info = client.handle.info();
        info.sub = client.subscriptions.channels.len();
        info.psub = client.subscriptions.patterns.len();
        info.ssub = client.subscriptions.shard.len();
        info.last_command = client.last_command;
        info.mem.note_subscriptions(client);
    }
    if client.handle.queue(out.as_bytes()) {
        out.clear();
    }
}

/// The output buffer limit of a client with this many subscriptions.
fn limit_for(server: &Server, subscriptions: usize) -> Option<crate::config::ObufLimit> {
    (subscriptions > 0).then(|| server.config().pubsub_output_limit())
}

/// The shared body of SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE.
fn subscribe_generic(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    // Inside EXEC a client expects one reply per command: Redis refuses SSUBSCRIBE
    // there (SUBSCRIBE and PSUBSCRIBE stay allowed, for backward compatibility).
    if kind == Kind::Shard && ctx.client.in_exec {
        return Err(CmdError::err(
            "SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
        ));
    }
    let client = &mut *ctx.client;
    client.handle.start_writer();
    client.handle.set_output_limit(limit_for(ctx.server, 1));
    let mut registry = ctx.server.pubsub.lock();
    for name in args.iter().skip(1) {
        let list = kind.list(&mut client.subscriptions);
        if !list.iter().any(|c| c == name) {
            list.push(name.to_vec());
            match kind {
                Kind::Channel => registry.subscribe(name, &client.handle),
                Kind::Pattern => registry.psubscribe(name, &client.handle),
                Kind::Shard => registry.ssubscribe(name, &client.handle),
            }
        }
        let count = kind.confirmed_count(&client.subscriptions);
        confirm(ctx.out, kind.verbs().0, Some(name), count);
    }
    queue_pending(client, ctx.out);
    Ok(())
}

/// The shared body of UNSUBSCRIBE, PUNSUBSCRIBE and SUNSUBSCRIBE; with no names, from
/// everything of that kind (one confirmation each, or one with a null name if there was
/// none).
fn unsubscribe_generic(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    let client = &mut *ctx.client;
    let mut registry = ctx.server.pubsub.lock();
    let names: Vec<Vec<u8>> = if args.len() > 1 {
        args.iter().skip(1).map(<[u8]>::to_vec).collect()
    } else {
        kind.list(&mut client.subscriptions).clone()
    };
    let verb = kind.verbs().1;
    for name in &names {
        remove_one(&mut registry, client, name, kind);
        let count = kind.confirmed_count(&client.subscriptions);
        confirm(ctx.out, verb, Some(name), count);
    }
    if names.is_empty() {
        let count = kind.confirmed_count(&client.subscriptions);
        confirm(ctx.out, verb, None, count);
    }
    client
        .handle
        .set_output_limit(limit_for(ctx.server, client.subscriptions.count()));
    queue_pending(client, ctx.out);
    Ok(())
}

/// Removes one subscription from the client and the registry, if it has it.
fn remove_one(registry: &mut Inner, client: &mut ClientState, name: &[u8], kind: Kind) {
    let list = kind.list(&mut client.subscriptions);
    if let Some(i) = list.iter().position(|c| c == name) {
        list.remove(i);
        match kind {
            Kind::Channel => registry.unsubscribe(name, client.id),
            Kind::Pattern => registry.punsubscribe(name, client.id),
            Kind::Shard => registry.sunsubscribe(name, client.id),
        }
    }
}

/// Drops every subscription without confirmations (RESET, disconnect).
pub fn unsubscribe_all(server: &Server, client: &mut ClientState) {
    if client.subscriptions.count() == 0 {
        return;
    }
    let mut registry = server.pubsub.lock();
    for name in std::mem::take(&mut client.subscriptions.channels) {
        registry.unsubscribe(&name, client.id);
    }
    for name in std::mem::take(&mut client.subscriptions.patterns) {
        registry.punsubscribe(&name, client.id);
    }
    for name in std::mem::take(&mut client.subscriptions.shard) {
        registry.sunsubscribe(&name, client.id);
    }
    drop(registry);
    client.handle.set_output_limit(None);
}

/// ```text
/// SUBSCRIBE channel [channel ...]
/// ```
fn subscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Channel)
}

/// ```text
/// PSUBSCRIBE pattern [pattern ...]
/// ```
fn psubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Pattern)
}

/// ```text
/// UNSUBSCRIBE [channel [channel ...]]
/// ```
fn unsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Channel)
}

/// ```text
/// PUNSUBSCRIBE [pattern [pattern ...]]
/// ```
fn punsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Pattern)
}

/// ```text
/// SSUBSCRIBE shardchannel [shardchannel ...]
/// ```
fn ssubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Shard)
}

/// ```text
/// SUNSUBSCRIBE [shardchannel [shardchannel ...]]
/// ```
fn sunsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Shard)
}

/// ```text
/// SPUBLISH shardchannel message
/// ```
/// The number of clients that received the message (shard channel subscribers only).
fn spublish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let published = &mut ctx.client.published;
    let receivers = ctx
        .server
        .pubsub
        .lock()
        .spublish(&args[1], &args[2], published);
    ctx.out.int(receivers as i64);
    Ok(())
}

/// ```text
/// PUBLISH channel message
/// ```
/// The number of clients that received the message.
fn publish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let published = &mut ctx.client.published;
    let receivers = ctx
        .server
        .pubsub
        .lock()
        .publish(&args[1], &args[2], published);
    ctx.out.int(receivers as i64);
    Ok(())
}

/// The error of a subcommand given too many arguments for its own check (the table's
/// arity only says "at least"), as Redis's `addReplySubcommandSyntaxError` words it: the
/// subcommand as typed.
fn subcommand_syntax_error(args: &Args) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(&args[1][..args[1].len().min(128)])
    ))
}

/// ```text
/// PUBSUB CHANNELS [pattern]
/// ```
fn channels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(subcommand_syntax_error(args));
    }
    let registry = ctx.server.pubsub.lock();
    let list = registry.channels((args.len() > 2).then(|| &args[2]));
    ctx.out.array(list.len());
    for c in list {
        ctx.out.bulk(c);
    }
    Ok(())
}

/// ```text
/// PUBSUB NUMSUB [channel ...]
/// ```
/// Each channel followed by its number of subscribers: a flat array, even in RESP3.
fn numsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let registry = ctx.server.pubsub.lock();
    ctx.out.array((args.len() - 2) * 2);
    for channel in args.iter().skip(2) {
        ctx.out.bulk(channel);
        ctx.out.int(registry.numsub(channel) as i64);
    }
    Ok(())
}

/// ```text
/// PUBSUB NUMPAT
/// ```
fn numpat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let n = ctx.server.pubsub.lock().numpat();
    ctx.out.int(n as i64);
    Ok(())
}

/// ```text
/// PUBSUB SHARDCHANNELS [pattern]
/// ```
/// The active shard channels matching the pattern.
fn shardchannels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(subcommand_syntax_error(args));
    }
    let registry = ctx.server.pubsub.lock();
    let list = registry.shard_channels((args.len() > 2).then(|| &args[2]));
    ctx.out.array(list.len());
    for c in list {
        ctx.out.bulk(c);
    }
    Ok(())
}

/// ```text
/// PUBSUB SHARDNUMSUB [shardchannel ...]
/// ```
/// Each shard channel followed by its number of subscribers (a flat array).
fn shardnumsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let registry = ctx.server.pubsub.lock();
    ctx.out.array((args.len() - 2) * 2);
    for channel in args.iter().skip(2) {
        ctx.out.bulk(channel);
        ctx.out.int(registry.shard_numsub(channel) as i64);
    }
    Ok(())
}

/// ```text
/// PUBSUB HELP
/// ```
fn help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    const LINES: &[&str] = &[
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ];
    super::reply_lines(ctx.out, LINES);
    Ok(())
}
