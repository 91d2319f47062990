//! The command table and the dispatcher.
//!
//! The table is data, as in Redis's `commands.c`: a name, an arity (`N` means exactly N
//! words including the name, `-N` at least N), flags, key positions and a handler.
//!
//! One request goes through one pipeline, as Redis's `processCommand` and `call()`:
//! 1. refusals ([`execute`]): unknown command, arity, a command MULTI may not queue,
//!    NOAUTH, the user's ACL permissions (NOPERM), MISCONF and LOADING, what a RESP2 subscriber may not run; then queueing
//!    inside MULTI;
//! 2. lock and run ([`run`]): the keyspace lock the handler's kind asks for; a returned
//!    [`CmdError`] becomes the error reply. Handlers never count arguments and never lock;
//! 3. effects ([`run_write`]): what a write handler reported on the way, the keys it
//!    changed with their events and the commands to replay (see
//!    [`crate::store::effects`]), closed with the command's own words if it counted a
//!    change;
//! 4. consumers: WATCH, then [`crate::consumers`] (client-side caching, keyspace
//!    notifications, the AOF), none of which knows which command ran. Clients blocked on
//!    keys the write filled are served last, each one's effects delivered on its own.
//!
//! Files follow Redis's split: [`string`] (t_string.c), [`bitmap`] (bitops.c), [`list`]
//! (t_list.c), [`hash`] (t_hash.c), [`set`] (t_set.c), [`zset`] (t_zset.c), [`geo`]
//! (geo.c), [`stream`] (t_stream.c), [`hyperloglog`] (hyperloglog.c), [`keys`] (db.c,
//! expire.c and object.c), [`sort`] (sort.c), [`server`] (server.c, acl.c's AUTH),
//! [`client`] (networking.c's CLIENT), [`config`] (config.c's CONFIG), [`acl`] (acl.c's
//! ACL command and the permission check), [`info`] (INFO's text) and [`docs`] (COMMAND).

pub mod acl;
pub mod admin;
pub mod bitmap;
pub mod blocking;
pub mod client;
pub mod config;
pub mod debug;
pub mod docs;
pub mod dump;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod info;
pub mod introspect;
pub mod keys;
pub mod list;
pub mod lolwut;
pub mod memory;
pub mod multi;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod sync;
#[cfg(test)]
pub mod testing;
pub mod zset;

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::client::ClientState;
use crate::resp::{Args, Reply};
use crate::state::Server;
use crate::store::{Entry, Keyspace};

/// What a command may need while it runs.
pub struct Ctx<'a> {
    /// Server-wide state: the store, config, clients and stats.
    pub server: &'a Server,
    /// The calling connection's own state (selected db, name, flags).
    pub client: &'a mut ClientState,
    /// Where replies go.
    pub out: &'a mut Reply,
    /// The time the command started, in Unix ms (Redis caches it per command too).
    pub now_ms: u64,
}

impl Ctx<'_> {
    /// The time this command's lookups judge expiry by: `now_ms`, or 0 (nothing has
    /// expired) for the commands of our master on a replica, as Redis's
    /// `expireIfNeeded` never finds a key expired for `server.master`: the master
    /// decides, and streams a DEL. (The store's write lookups already see such keys as
    /// they are: a replica's database never expires a key itself.)
    pub fn expiry_now(&self) -> u64 {
        if self.client.master {
            0
        } else {
            self.now_ms
        }
    }

    /// Redis's `checkAlreadyExpired`: whether an absolute expiry time `when_ms` has
    /// passed, so that EXPIRE, GETEX or RESTORE deletes the key instead of setting it.
    /// Never on a replica, which keeps the key with its past time and waits for its
    /// master's DEL, nor while loading.
    pub fn already_expired(&self, when_ms: i64) -> bool {
        when_ms <= self.now_ms as i64
            && !self.server.repl.is_replica()
            && !self
                .server
                .persist
                .loading
                .load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Counts a keyspace hit or miss (INFO's `keyspace_hits` and `keyspace_misses`), as
/// Redis's `lookupKey` does for every read lookup without `LOOKUP_NOSTATS`: the reads
/// of values, and the introspection commands (TYPE, EXISTS, TTL, OBJECT...) too.
pub fn count_lookup(ctx: &mut Ctx, found: bool) {
    if found {
        ctx.client.stats.keyspace_hits += 1;
    } else {
        ctx.client.stats.keyspace_misses += 1;
    }
}

/// Looks `key` up for reading under the read lock, as Redis's `lookupKeyRead` does: an
/// expired key is absent (a miss), a miss fires `keymiss` (while those are on), and the
/// hit or miss is counted ([`count_lookup`]).
pub fn read_key<'a>(ctx: &mut Ctx, ks: &'a Keyspace, key: &[u8]) -> Option<&'a Entry> {
    let entry = ks.db(ctx.client.db).get(key, ctx.expiry_now());
    count_lookup(ctx, entry.is_some());
    entry
}

/// [`read_key`] under the write lock, for the write commands that look a key up as
/// Redis's `lookupKeyRead` does (GETDEL, BITOP's sources...): an expired key is removed
/// at once.
pub fn read_key_mut<'a>(ctx: &mut Ctx, ks: &'a mut Keyspace, key: &[u8]) -> Option<&'a mut Entry> {
    let entry = ks.db_mut(ctx.client.db).lookup_read(key, ctx.expiry_now());
    count_lookup(ctx, entry.is_some());
    entry
}

/// [`read_key`] and Redis's `checkType`: the value at `key` as the type `as_type` picks
/// (`Entry::list`, `Entry::zset`...), `Ok(None)` if absent, `WRONGTYPE` if the key holds
/// another type.
pub fn read_typed<'a, T: ?Sized>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    key: &[u8],
    as_type: impl FnOnce(&'a Entry) -> Option<&'a T>,
) -> Result<Option<&'a T>, CmdError> {
    read_key(ctx, ks, key)
        .map(|e| as_type(e).ok_or(CmdError::WrongType))
        .transpose()
}

/// [`read_typed`] under the write lock ([`read_key_mut`]).
pub fn read_typed_mut<'a, T: ?Sized>(
    ctx: &mut Ctx,
    ks: &'a mut Keyspace,
    key: &[u8],
    as_type: impl FnOnce(&'a mut Entry) -> Option<&'a mut T>,
) -> Result<Option<&'a mut T>, CmdError> {
    read_key_mut(ctx, ks, key)
        .map(|e| as_type(e).ok_or(CmdError::WrongType))
        .transpose()
}

/// A command's failure: one error reply, and the connection stays open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    WrongType,
    NotInteger,
    Syntax,
    Overflow,
    NoSuchKey,
    OutOfRange(&'static str),
    /// Any other message, with its prefix (`ERR ...`).
    Msg(String),
}

impl CmdError {
    /// An `ERR`-prefixed message.
    pub fn err(text: impl std::fmt::Display) -> CmdError {
        CmdError::Msg(format!("ERR {text}"))
    }

    /// The error reply text, as Redis 7.0 words it.
    pub fn message(&self) -> std::borrow::Cow<'_, str> {
        match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::OutOfRange(what) => format!("ERR {what} is out of range").into(),
            CmdError::Msg(m) => m.as_str().into(),
        }
    }
}

/// What a handler returns: its reply is already in `ctx.out`, or it failed.
pub type CmdResult = Result<(), CmdError>;

/// How a handler reaches the keyspace; the dispatcher takes the matching lock.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Runs under the read lock.
    Read(fn(&mut Ctx, &Keyspace, &Args) -> CmdResult),
    /// Runs under the write lock.
    Write(fn(&mut Ctx, &mut Keyspace, &Args) -> CmdResult),
    /// A write command that writes only with some arguments (GEORADIUS without STORE
    /// only reads): `read` runs under the read lock unless `writes` says these arguments
    /// may write, then `write` under the write lock. Inside MULTI and scripts, where the
    /// write lock is held anyway, `write` runs.
    ReadUnless {
        writes: fn(&Args) -> bool,
        read: fn(&mut Ctx, &Keyspace, &Args) -> CmdResult,
        write: fn(&mut Ctx, &mut Keyspace, &Args) -> CmdResult,
    },
    /// A write command that writes only in some states of the keyspace (PFCOUNT stores a
    /// stale cached cardinality): `read` runs under the read lock and either answers,
    /// returning `Ok(true)`, or returns `Ok(false)` having replied and counted nothing,
    /// when it would have to write; then `write` runs under the write lock, deciding
    /// afresh. Inside MULTI and scripts, where the write lock is held anyway, `write` runs.
    ReadFirst {
        read: fn(&mut Ctx, &Keyspace, &Args) -> Result<bool, CmdError>,
        write: fn(&mut Ctx, &mut Keyspace, &Args) -> CmdResult,
    },
    /// Takes no keyspace lock (or takes its own, as SAVE does).
    Plain(fn(&mut Ctx, &Args) -> CmdResult),
    /// A container (CONFIG, CLIENT...): dispatches on its subcommand.
    Container,
}

/// Command flags, as COMMAND INFO reports them.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const FAST: u32 = 1 << 10;
    pub const NO_AUTH: u32 = 1 << 11;
    pub const MAY_REPLICATE: u32 = 1 << 12;
    pub const SENTINEL: u32 = 1 << 13;
    pub const ALLOW_BUSY: u32 = 1 << 14;
    pub const NO_MULTI: u32 = 1 << 15;
    pub const SKIP_SLOWLOG: u32 = 1 << 16;
    /// The keys are not at fixed positions (Redis derives it from the key specs): LMPOP,
    /// SINTERCARD, SORT...
    pub const MOVABLEKEYS: u32 = 1 << 17;
    /// A command that may be called without keys (EVAL, FCALL).
    pub const NO_MANDATORY_KEYS: u32 = 1 << 18;
    /// Allowed on a cluster replica after ASKING (a cluster flag: shown, not acted on).
    pub const ASKING: u32 = 1 << 19;
    /// Refused while a replica loads asynchronously (shown, not acted on).
    pub const NO_ASYNC_LOADING: u32 = 1 << 20;
    /// Refused unless `enable-*-command` allows it (DEBUG, MODULE): hidden, as in Redis.
    pub const PROTECTED: u32 = 1 << 21;
    /// May touch keys it does not name (FLUSHALL...): hidden, as in Redis.
    pub const TOUCHES_ARBITRARY_KEYS: u32 = 1 << 22;

    /// Flag names in COMMAND INFO's order. SENTINEL, MAY_REPLICATE, PROTECTED and
    /// TOUCHES_ARBITRARY_KEYS are not among them: Redis 7.0 keeps them to itself.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLEKEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// One entry of the command table: a name and a handler of ours; the rest (arity,
/// flags, key positions, key specs, docs) is Redis's, read from the catalog
/// ([`crate::acl::catalog`]) when the table is compiled, so the two cannot drift.
pub struct Command {
    /// Lowercase name (for a subcommand, its own word: `get` of CONFIG GET).
    pub name: &'static str,
    /// Redis's arity convention.
    pub arity: i32,
    /// [`flags`] bits.
    pub flags: u32,
    /// Position of the first key, the last key (-1: the last argument) and the step.
    pub keys: (i32, i32, i32),
    /// What runs it.
    pub handler: Handler,
    /// For a container command, its subcommands.
    pub subcommands: &'static [Command],
    /// Its index in the catalog, or [`NOT_LISTED`].
    pub id: usize,
}

/// The catalog index of a command Redis 7.0.15 does not have (test builds' commands,
/// CLIENT SETINFO of 7.2): COMMAND does not list it and ACL rules cannot name it.
pub const NOT_LISTED: usize = usize::MAX;

/// The catalog index of `parent|name` (or of `name` when `parent` is empty); a name
/// the catalog lacks fails the build.
const fn catalog_id(parent: &str, name: &str) -> usize {
    let specs = crate::acl::catalog::SPECS;
    let (p, n) = (parent.as_bytes(), name.as_bytes());
    let len = if p.is_empty() {
        n.len()
    } else {
        p.len() + 1 + n.len()
    };
    let mut i = 0;
    while i < specs.len() {
        let full = specs[i].name.as_bytes();
        if full.len() == len {
            let mut j = 0;
            while j < len {
                let want = if p.is_empty() {
                    n[j]
                } else if j < p.len() {
                    p[j]
                } else if j == p.len() {
                    b'|'
                } else {
                    n[j - p.len() - 1]
                };
                if full[j] != want {
                    break;
                }
                j += 1;
            }
            if j == len {
                return i;
            }
        }
        i += 1;
    }
    panic!("a command the catalog lacks: use Command::unlisted")
}

impl Command {
    /// A command as Redis's catalog describes it (a name the catalog lacks fails the
    /// build).
    pub const fn new(name: &'static str, handler: Handler) -> Command {
        Command::listed("", name, handler, &[])
    }

    /// A subcommand of `parent` (its own word in `name`).
    pub const fn sub(parent: &'static str, name: &'static str, handler: Handler) -> Command {
        Command::listed(parent, name, handler, &[])
    }

    /// A container command (CONFIG, CLIENT...) whose work is done by its subcommands.
    /// `handler` runs when it is called with no subcommand and the arity allows that
    /// (only COMMAND does).
    pub const fn container(
        name: &'static str,
        handler: Handler,
        subcommands: &'static [Command],
    ) -> Command {
        Command::listed("", name, handler, subcommands)
    }

    const fn listed(
        parent: &'static str,
        name: &'static str,
        handler: Handler,
        subcommands: &'static [Command],
    ) -> Command {
        let id = catalog_id(parent, name);
        let spec = &crate::acl::catalog::SPECS[id];
        Command {
            name,
            arity: spec.arity,
            flags: spec.flags,
            keys: spec.range,
            handler,
            subcommands,
            id,
        }
    }

    /// A command Redis 7.0.15 does not have, with its own arity and flags (see
    /// [`NOT_LISTED`]).
    pub const fn unlisted(name: &'static str, arity: i32, flags: u32, handler: Handler) -> Command {
        Command {
            name,
            arity,
            flags,
            keys: (0, 0, 0),
            handler,
            subcommands: &[],
            id: NOT_LISTED,
        }
    }

    /// Its catalog entry, if Redis 7.0.15 has it.
    pub fn spec(&self) -> Option<&'static crate::acl::Spec> {
        crate::acl::catalog::SPECS.get(self.id)
    }

    /// Whether the command changes data.
    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }
}

/// Every top-level command, in no particular order.
pub fn table() -> &'static [&'static [Command]] {
    &[
        string::COMMANDS,
        bitmap::COMMANDS,
        list::COMMANDS,
        blocking::COMMANDS,
        hash::COMMANDS,
        set::COMMANDS,
        zset::COMMANDS,
        geo::COMMANDS,
        keys::COMMANDS,
        dump::COMMANDS,
        multi::COMMANDS,
        pubsub::COMMANDS,
        sort::COMMANDS,
        scripting::COMMANDS,
        stream::COMMANDS,
        hyperloglog::COMMANDS,
        server::COMMANDS,
        client::COMMANDS,
        config::COMMANDS,
        introspect::COMMANDS,
        memory::COMMANDS,
        debug::COMMANDS,
        admin::COMMANDS,
        sync::COMMANDS,
        docs::COMMANDS,
        acl::COMMANDS,
        #[cfg(test)]
        testing::COMMANDS,
    ]
}

/// The index from lowercase name to command.
fn index() -> &'static NameMap {
    static INDEX: OnceLock<NameMap> = OnceLock::new();
    INDEX.get_or_init(|| {
        table()
            .iter()
            .flat_map(|group| group.iter())
            .map(|c| (c.name.as_bytes(), c))
            .collect()
    })
}

/// The top-level commands by name. Hashed with [`crate::util::AddrHasher`]'s FNV rather
/// than SipHash, which cost more than the rest of the lookup: the map is built once from
/// the table and never takes a client's words, so there are no chosen collisions to fear.
type NameMap = HashMap<
    &'static [u8],
    &'static Command,
    std::hash::BuildHasherDefault<crate::util::AddrHasher>,
>;

/// Every top-level command.
pub fn all() -> impl Iterator<Item = &'static Command> {
    table().iter().flat_map(|group| group.iter())
}

thread_local! {
    /// The command this thread's [`lookup`] found last: a pipeline mostly repeats one
    /// command, and comparing its name costs a fraction of lowercasing and hashing it.
    static LAST_FOUND: std::cell::Cell<Option<&'static Command>> =
        const { std::cell::Cell::new(None) };
}

/// Finds a top-level command by name, ignoring case, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    if let Some(last) = LAST_FOUND.with(std::cell::Cell::get) {
        if last.name.as_bytes().eq_ignore_ascii_case(name) {
            return Some(last);
        }
    }
    let found = lookup_uncached(name);
    if found.is_some() {
        LAST_FOUND.with(|last| last.set(found));
    }
    found
}

/// [`lookup`] in the name index.
fn lookup_uncached(name: &[u8]) -> Option<&'static Command> {
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    index().get(&*lower).copied()
}

/// Finds a subcommand of `parent` by name, ignoring case.
pub fn lookup_sub(parent: &'static Command, name: &[u8]) -> Option<&'static Command> {
    parent
        .subcommands
        .iter()
        .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
}

/// The outcome of resolving a request to a table entry.
pub enum Resolved {
    Found(&'static Command),
    /// The error reply to send instead, and the command when it was known (an arity
    /// error counts as its rejected call).
    Rejected(String, Option<&'static Command>),
}

/// Resolves the request's command (and subcommand) and checks its arity, producing the
/// exact error texts Redis 7.0 sends.
pub fn resolve(args: &Args) -> Resolved {
    let Some(cmd) = lookup(&args[0]) else {
        return Resolved::Rejected(unknown_command(args), None);
    };
    let (cmd, parent) = match cmd.subcommands {
        [_, ..] if args.len() >= 2 => match lookup_sub(cmd, &args[1]) {
            Some(sub) => (sub, Some(cmd)),
            None => {
                return Resolved::Rejected(
                    format!(
                        "ERR unknown subcommand '{}'. Try {} HELP.",
                        truncated(&args[1], 128),
                        cmd.name.to_ascii_uppercase()
                    ),
                    None,
                )
            }
        },
        _ => (cmd, None),
    };
    let argc = args.len() as i32;
    if (cmd.arity > 0 && argc != cmd.arity) || argc < -cmd.arity {
        // The full name (`config|get`) is only built for the error, never per request.
        let full_name = match parent {
            Some(p) => format!("{}|{}", p.name, cmd.name),
            None => cmd.name.to_string(),
        };
        return Resolved::Rejected(
            format!("ERR wrong number of arguments for '{full_name}' command"),
            Some(cmd),
        );
    }
    Resolved::Found(cmd)
}

/// `ERR unknown command 'foo', with args beginning with: 'a' 'b' `, built as Redis
/// builds it: the name cut at 128 bytes, then quoted args until 128 bytes are used.
fn unknown_command(args: &Args) -> String {
    let mut list = String::new();
    for arg in args.iter().skip(1) {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push('\'');
        list.push_str(&truncated(arg, room));
        list.push_str("' ");
    }
    format!(
        "ERR unknown command '{}', with args beginning with: {}",
        truncated(&args[0], 128),
        list
    )
}

/// Up to `max` bytes of `arg` as `%.*s` prints it: C strings stop at a NUL byte.
fn truncated(arg: &[u8], max: usize) -> String {
    let end = arg
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(arg.len())
        .min(max);
    String::from_utf8_lossy(&arg[..end]).into_owned()
}

/// Runs one request and writes its reply: resolve it (unknown command, arity), refuse it
/// with `-NOAUTH` if the client must authenticate first and the command is not one of
/// the `no_auth` ones (AUTH, HELLO, QUIT), refuse what a subscribed RESP2 client may not
/// run, queue it if a transaction is open, else run the handler under its lock.
pub fn execute(ctx: &mut Ctx, args: &Args) {
    let server = ctx.server;
    execute_held(ctx, args, &mut Held::new(&server.store), None);
}

/// The keyspace's write lock kept from one write command to the next of a batch of
/// pipelined requests, so that a batch of N writes takes the lock once rather than N
/// times: each taking costs atomics, and when another thread holds it, a spin and a
/// futex sleep. One client's batch then runs without another client's commands in
/// between, as Redis runs a client's whole query buffer before serving the next one.
/// It is let go before any command that may lock the keyspace itself, block, wait or
/// run under a read lock (see [`keeps_lock`]), after [`HELD_RUNS`] commands, and when
/// the batch ends (the holder drops it before replying).
pub struct Held<'s> {
    store: &'s crate::store::Store,
    guard: Option<HeldGuard<'s>>,
    /// Commands run since the lock was taken.
    runs: usize,
}

/// The write lock as [`Held`] keeps it. Its commands may leave the memory account
/// unsettled (see [`Keyspace::settle_later`]): it is settled before the lock goes.
struct HeldGuard<'s>(std::sync::RwLockWriteGuard<'s, Keyspace>);

impl<'s> HeldGuard<'s> {
    fn new(mut guard: std::sync::RwLockWriteGuard<'s, Keyspace>) -> HeldGuard<'s> {
        guard.settle_later = true;
        HeldGuard(guard)
    }
}

impl std::ops::Deref for HeldGuard<'_> {
    type Target = Keyspace;
    fn deref(&self) -> &Keyspace {
        &self.0
    }
}

impl std::ops::DerefMut for HeldGuard<'_> {
    fn deref_mut(&mut self) -> &mut Keyspace {
        &mut self.0
    }
}

impl Drop for HeldGuard<'_> {
    fn drop(&mut self) {
        self.0.settle_later = false;
        self.0.settle();
    }
}

/// The most write commands run under one taking of the lock, so that a long pipeline
/// lets other clients in every so often.
pub const HELD_RUNS: usize = 64;

impl<'s> Held<'s> {
    /// Holds nothing yet.
    pub fn new(store: &'s crate::store::Store) -> Held<'s> {
        Held {
            store,
            guard: None,
            runs: 0,
        }
    }

    /// Lets the lock go, if it is held.
    pub fn release(&mut self) {
        self.guard = None;
        self.runs = 0;
    }

    /// The held guard, or a new one (`None` while a busy script owns the keyspace).
    fn take(&mut self) -> Option<HeldGuard<'s>> {
        match self.guard.take() {
            Some(guard) => Some(guard),
            None => {
                self.runs = 0;
                self.store.write_or_busy().map(HeldGuard::new)
            }
        }
    }

    /// Keeps the guard for the next command, unless enough ran under it.
    fn keep(&mut self, guard: HeldGuard<'s>) {
        self.runs += 1;
        if self.runs < HELD_RUNS {
            self.guard = Some(guard);
        } else {
            self.runs = 0;
        }
    }
}

/// Whether `cmd` may run under (and keep) a write lock held from the previous command:
/// a plain write that does not block, outside MULTI, from a client other than our
/// master, while nothing needs the lock let go between commands: eviction (maxmemory
/// locks the keyspace before the command), CLIENT PAUSE (a paused command waits), and
/// client-side caching (invalidations for others leave once the lock is released).
fn keeps_lock(ctx: &Ctx, cmd: &Command) -> bool {
    keeps_lock_for(ctx.server, ctx.client, cmd)
}

/// [`keeps_lock`] for a client outside a command's context.
fn keeps_lock_for(server: &Server, client: &ClientState, cmd: &Command) -> bool {
    matches!(cmd.handler, Handler::Write(_))
        && cmd.flags & flags::BLOCKING == 0
        && client.multi.is_none()
        && !client.master
        && server.memory.maxmemory() == 0
        && !server.pause.is_on()
        && !server.tracking.active()
}

/// Before a batch of pipelined requests runs, brings the table chains of the keys they
/// name into the cache together (see [`crate::store::Db::prefetch`]), so that their
/// cache misses overlap rather than stall each command in turn. The keys are hashed
/// first, without a lock; the loads then run under the write lock the batch's first
/// command takes anyway when it is a write that keeps it (`held` then keeps it for that
/// command), else under the read lock if it is free at once. Only for two requests or
/// more (a lone request's lookup waits for memory either way) and a dataset too big to
/// stay in the cache.
pub fn prefetch_batch(server: &Server, client: &ClientState, held: &mut Held, input: &[u8]) {
    use crate::store::table::PREFETCH_MAX;
    // The first two requests: the first's name, and each one's second argument.
    let mut name: &[u8] = &[];
    let mut seconds: [Option<&[u8]>; 2] = [None; 2];
    let mut requests = 0;
    crate::resp::parse::peek_requests(input, |args| {
        if requests == 0 {
            name = args.first().copied().unwrap_or_default();
        }
        seconds[requests] = args.get(1).copied();
        requests += 1;
        requests < 2
    });
    // One key filled over and over (LPUSH, HSET... of one key) has nothing to overlap.
    if requests < 2
        || seconds[0] == seconds[1]
        || server.store.used_memory() < crate::store::PREFETCH_MIN_BYTES
    {
        return;
    }
    let first = lookup(name);
    let mut hashes = [0usize; PREFETCH_MAX];
    let n = batch_key_hashes(first, input, &mut hashes);
    if n < 2 {
        return;
    }
    let hashes = &hashes[..n];
    if first.is_some_and(|c| keeps_lock_for(server, client, c)) {
        if held.guard.is_none() {
            held.runs = 0;
            held.guard = held.store.write_or_busy().map(HeldGuard::new);
        }
        if let Some(ks) = &held.guard {
            ks.db(client.db).prefetch(hashes);
        }
    } else if let Some(ks) = held.store.try_read() {
        ks.db(client.db).prefetch(hashes);
    }
}

/// [`prefetch_batch`]'s walk of the batch: the hashes of each request's keys, by the
/// command table's key positions (for a request of at most three arguments, its second:
/// the key of `INCR key`, `SET key value`, `LPUSH key element`... without the table
/// lookup), into `hashes`; how many. A batch whose first four requests name one key (a
/// list or a hash being filled) is given up.
fn batch_key_hashes(first: Option<&'static Command>, input: &[u8], hashes: &mut [usize]) -> usize {
    let mut n = 0;
    let mut requests = 0;
    let mut previous: &[u8] = &[];
    // The last command looked up, by name: a pipeline mostly repeats one.
    let mut last: (&[u8], Option<&'static Command>) = (&[], first);
    crate::resp::parse::peek_requests(input, |args| {
        requests += 1;
        let (first, last_key, step) = if args.len() <= 3 {
            (1, 1, 1)
        } else {
            let name = args[0];
            if requests > 1 && name != last.0 {
                last.1 = lookup(name);
            }
            last.0 = name;
            last.1.map_or((1, 1, 1), |c| c.keys)
        };
        let argc = args.len() as i32;
        let last_key = if last_key < 0 {
            argc + last_key
        } else {
            last_key.min(argc - 1)
        };
        if first > 0 && step > 0 {
            for i in (first..=last_key).step_by(step as usize) {
                let key = args[i as usize];
                if n == hashes.len() {
                    break;
                }
                // Repeats are looked for only while deciding whether to give up.
                if requests <= 4 && n > 0 && previous == key {
                    continue;
                }
                previous = key;
                hashes[n] = crate::store::table::key_hash(key);
                n += 1;
            }
        }
        n < hashes.len() && (requests < 4 || n > 1)
    });
    n
}

/// [`execute`] with a write lock that may be held from the previous command and may be
/// kept for the next one (see [`Held`]), and the clock reading `ctx.now_ms` came from
/// (Unix µs), if the caller took one: the call's timer starts there rather than at a
/// reading of its own (Redis's `call` too reads the clock once for both).
pub fn execute_held(ctx: &mut Ctx, args: &Args, held: &mut Held, started_us: Option<u64>) {
    let cmd = match resolve(args) {
        Resolved::Found(cmd) => cmd,
        Resolved::Rejected(msg, cmd) => return reject(ctx, cmd, &msg),
    };
    let keep = keeps_lock(ctx, cmd);
    if !keep {
        held.release();
    }
    ctx.client.last_command = cmd.name;
    let reject = |ctx: &mut Ctx, msg: &str| reject(ctx, Some(cmd), msg);
    // Checks in processCommand's order. After the existence and arity checks, before
    // authentication an unknown command is still "unknown command", not NOAUTH.
    if ctx.client.multi.is_some() && cmd.flags & flags::NO_MULTI != 0 {
        return reject(ctx, "ERR Command not allowed inside a transaction");
    }
    if !ctx.client.authenticated && cmd.flags & flags::NO_AUTH == 0 && ctx.server.auth_required() {
        return reject(ctx, "NOAUTH Authentication required.");
    }
    // The user's permissions (Redis's `ACLCheckAllPerm`): one flag test for a user
    // who may run everything.
    if let Some(msg) = acl::check_request(ctx, cmd, args) {
        return reject(ctx, &msg);
    }
    // maxmemory: evict what must go; refuse what would grow the dataset if that was not
    // enough (Redis's processCommand, before the disk checks).
    if ctx.server.memory.maxmemory() > 0
        && ctx.server.scripts.busy_error().is_none()
        && !ctx.client.master
        && !crate::replication::ignores_maxmemory(ctx.server)
    {
        let out_of_memory = evict_before(ctx) == crate::store::evict::Outcome::Fail;
        let denyoom = cmd.flags & flags::DENYOOM != 0
            || (cmd.name == "exec"
                && ctx.client.multi.as_ref().is_some_and(|m| {
                    m.queued
                        .iter()
                        .any(|q| lookup(&q[0]).is_some_and(|c| c.flags & flags::DENYOOM != 0))
                }));
        // Inside MULTI anything but EXEC, DISCARD, QUIT and RESET would queue more.
        let queues = ctx.client.multi.is_some()
            && !matches!(cmd.name, "exec" | "discard" | "quit" | "reset");
        if out_of_memory && (denyoom || queues) {
            return reject(ctx, crate::memory::OOM_ERROR);
        }
        ctx.client.oom_at_start = out_of_memory;
    }
    // MISCONF after a failed BGSAVE, LOADING while the dump loads.
    let (write, ok_loading) = (cmd.is_write(), cmd.flags & flags::LOADING != 0);
    if let Some(msg) =
        crate::persist::save::refusal(ctx.server, write, ok_loading, cmd.name == "ping")
    {
        if !ctx.client.master || msg.starts_with("LOADING") {
            return reject(ctx, msg);
        }
        replica_disk_error(ctx, cmd);
    }
    // MISCONF after the AOF could not be written (Redis's DISK_ERROR_TYPE_AOF).
    if cmd.flags & flags::WRITE != 0 || cmd.name == "ping" {
        if let Some(why) = ctx.server.aof.write_error() {
            if !ctx.client.master {
                return reject(
                    ctx,
                    &format!("MISCONF Errors writing to the AOF file: {why}"),
                );
            }
            replica_disk_error(ctx, cmd);
        }
    }
    // NOREPLICAS and READONLY (MASTERDOWN comes after the pub/sub check, as in Redis).
    let exec_writes = || {
        cmd.name == "exec"
            && ctx.client.multi.as_ref().is_some_and(|m| {
                m.queued
                    .iter()
                    .any(|q| lookup(&q[0]).is_some_and(|c| c.is_write()))
            })
    };
    if write || exec_writes() {
        if let Some(msg) = crate::replication::refusal(ctx.server, true, true, ctx.client.master) {
            return reject(ctx, msg);
        }
    }
    if ctx.client.resp == 2
        && ctx.client.subscriptions.count() > 0
        && !pubsub::allowed_while_subscribed(cmd)
    {
        let msg = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            full_name(cmd, args)
        );
        return reject(ctx, &msg);
    }
    if ctx.server.repl.is_replica() && cmd.flags & flags::STALE == 0 {
        if let Some(msg) = crate::replication::refusal(ctx.server, false, false, ctx.client.master)
        {
            return reject(ctx, msg);
        }
    }
    // While a script runs past busy-reply-threshold (Redis's `isInsideYieldingLongCommand`).
    if cmd.flags & flags::ALLOW_BUSY == 0 {
        if let Some(msg) = ctx.server.scripts.busy_error() {
            return reject(ctx, msg);
        }
    }
    // CLIENT PAUSE: the command waits here, before it is queued or run, as Redis
    // postpones it in processCommand.
    if ctx.server.pause.is_on() && !ctx.client.master {
        let writes = may_replicate(cmd)
            || (cmd.name == "exec"
                && ctx.client.multi.as_ref().is_some_and(|m| {
                    m.queued
                        .iter()
                        .any(|q| lookup(&q[0]).is_some_and(may_replicate))
                }));
        if ctx.server.pause.holds(writes) {
            blocking::send_pending(ctx);
            ctx.server.pause.wait(writes);
        }
    }
    if let Some(multi) = &mut ctx.client.multi {
        if !multi::runs_at_once(cmd) {
            // A doomed transaction queues nothing more, as Redis's `queueMultiCommand`
            // (CLIENT LIST's `multi=` shows it).
            let dirty = ctx
                .client
                .watch_flag
                .load(std::sync::atomic::Ordering::Acquire);
            if !multi.aborted && !dirty {
                multi.queued.push(args.clone());
            }
            ctx.out.simple("QUEUED");
            return;
        }
    }
    let start = match started_us {
        Some(at_us) => CallStart::at(ctx, at_us),
        None => CallStart::new(ctx),
    };
    monitor_script(ctx, cmd, args);
    let result = match cmd.handler {
        Handler::Write(f) if keep => run_write_held(ctx, f, args, held),
        _ => run(ctx, cmd, args),
    };
    if let Err(e) = result {
        ctx.out.error(&e.message());
    }
    called(ctx, cmd, args, start, false);
}

/// Evicts before a command runs, as the running client (see
/// [`crate::memory::perform_evictions`]).
fn evict_before(ctx: &mut Ctx) -> crate::store::evict::Outcome {
    let client = &mut *ctx.client;
    let mut origin = crate::consumers::Origin {
        client_id: client.id,
        pending: &mut client.tracking.pending,
        outgoing: &mut client.tracking.outgoing,
        published: &mut client.published,
        held: None,
    };
    crate::memory::perform_evictions(ctx.server, &mut origin)
}

/// Whether a command may write or propagate (`write` or `may_replicate`): what a
/// `CLIENT PAUSE WRITE` holds back.
fn may_replicate(cmd: &Command) -> bool {
    cmd.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0
}

/// Answers a request with an error it never ran for, counted as the command's rejected
/// call; inside MULTI, that also dooms the transaction (Redis's `rejectCommand`).
fn reject(ctx: &mut Ctx, cmd: Option<&'static Command>, msg: &str) {
    if let Some(multi) = &mut ctx.client.multi {
        multi.aborted = true;
    }
    if let Some(cmd) = cmd {
        ctx.client.calls.rejected(command_id(cmd));
    }
    ctx.out.error(msg);
}

/// A write from our master while this replica cannot persist (Redis's
/// `processCommand`): under `replica-ignore-disk-write-errors no` the replica stops
/// rather than hold data its disk lacks; with yes it applies the write and says so in
/// the log, at most every 10 seconds.
fn replica_disk_error(ctx: &Ctx, cmd: &Command) {
    static LAST_LOG_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let server = ctx.server;
    if !server.config().is_yes("replica-ignore-disk-write-errors") && cmd.name != "ping" {
        crate::process::server_panic(&server.log, "Replica was unable to write command to disk.");
    }
    let now = crate::util::now_ms();
    let last = LAST_LOG_MS.load(std::sync::atomic::Ordering::Relaxed);
    if now > last + 10_000 {
        LAST_LOG_MS.store(now, std::sync::atomic::Ordering::Relaxed);
        server
            .log
            .warning("Replica is applying a command even though it is unable to write to disk.");
    }
}

/// Redis's `afterErrorReply` for a command from our master or from the AOF: an error
/// there means the two datasets differ, so it is logged as critical and counted, and
/// under `propagation-error-behavior panic` (or `panic-on-replicas`, for a read-only
/// replica) the server stops at once rather than carry on diverged.
fn propagation_error(ctx: &Ctx, cmd: &'static Command, args: &Args) {
    let server = ctx.server;
    let (from, to) = if ctx.client.master {
        ("replica", "master")
    } else {
        ("server", "AOF-loading-client")
    };
    // The error line just written (the last line that starts with '-').
    let bytes = ctx.out.as_bytes();
    let text = bytes
        .rsplit(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"-"))
        .map(|line| String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line)))
        .unwrap_or_default();
    let text: String = text.chars().take(4096).collect();
    let name = full_name(cmd, args);
    server.log.warning(&format!(
        "== CRITICAL == This {from} is sending an error to its {to}: '{text}' after processing the command '{name}'"
    ));
    server
        .stats
        .unexpected_error_replies
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let behavior = server
        .config()
        .value("propagation-error-behavior")
        .unwrap_or_default();
    let read_only_replica = ctx.client.master && server.config().is_yes("replica-read-only");
    let panics = match behavior.as_slice() {
        b"panic" => true,
        b"panic-on-replicas" => read_only_replica,
        _ => false,
    };
    if panics && (read_only_replica || ctx.client.aof_loading) {
        crate::process::server_panic(
            &server.log,
            &format!(
                "This {from} panicked sending an error to its {to} after processing the command '{name}'"
            ),
        );
    }
}

/// Where a call started: the time (Unix µs), the error replies already in the output,
/// and how many of those calls had already accounted for. The wall clock, read before
/// and after, times the call, as Redis's `call` does with `ustime()`: two clock readings
/// per call, one of which also gives the command its time (a step of the clock
/// backwards counts as 0).
#[derive(Clone, Copy)]
pub struct CallStart {
    at_us: u64,
    errors: usize,
    accounted: usize,
}

impl CallStart {
    /// Notes the start of a call that replies into `ctx.out`.
    pub fn new(ctx: &Ctx) -> CallStart {
        CallStart::at(ctx, crate::util::now_us())
    }

    /// [`CallStart::new`] with a clock reading (Unix µs) the caller took just before.
    pub fn at(ctx: &Ctx, at_us: u64) -> CallStart {
        CallStart {
            at_us,
            errors: ctx.out.errors.len(),
            accounted: ctx.client.calls.accounted_errors,
        }
    }
}

/// What follows every call that ran, as in Redis's `call()` after the command itself:
/// its statistics and latency sample, the slow log, and the MONITOR feed. The call
/// failed if it added error replies that no call nested in it (a transaction's
/// commands) accounts for. The time a blocking command slept does not count. A call
/// from a script replies into the script's own buffer, so what it accounts for is not
/// taken off the script's own count.
pub fn called(
    ctx: &mut Ctx,
    cmd: &'static Command,
    args: &Args,
    start: CallStart,
    from_script: bool,
) {
    let waited = std::mem::take(&mut ctx.client.waited);
    let elapsed = crate::util::now_us().saturating_sub(start.at_us);
    let ns = elapsed
        .saturating_mul(1000)
        .saturating_sub(waited.as_nanos() as u64);
    let calls = &ctx.server.calls;
    let local = &mut ctx.client.calls;
    let added = ctx.out.errors.len().saturating_sub(start.errors);
    let nested = local.accounted_errors.saturating_sub(start.accounted);
    let own = added.saturating_sub(nested);
    local.called(command_id(cmd), ns, own > 0, calls.tracking());
    if !from_script {
        local.accounted_errors += own;
    }
    if own > 0 && (ctx.client.master || ctx.client.aof_loading) && !from_script {
        propagation_error(ctx, cmd, args);
    }
    let us = ns / 1000;
    if ns >= 1_000_000 {
        let event = if cmd.flags & flags::FAST != 0 {
            "fast-command"
        } else {
            "command"
        };
        ctx.server.latency.sample(event, us / 1000);
    }
    let slow = cmd.flags & flags::SKIP_SLOWLOG == 0 && calls.is_slow(us);
    let monitored = calls.monitored() && cmd.flags & (flags::SKIP_MONITOR | flags::ADMIN) == 0;
    if !slow && !monitored {
        return;
    }
    let shown = redacted(cmd, args);
    if slow {
        let (peer, name) = if from_script {
            ("?:0".to_string(), Vec::new())
        } else {
            let handle = &ctx.client.handle;
            (handle.addr.to_string(), handle.info().name.clone())
        };
        let entry = crate::calls::SlowEntry::new(&shown, us, peer, name);
        ctx.client.calls.slow(entry);
    }
    if monitored {
        feed_monitors(ctx, &shown, from_script);
    }
}

/// Sends a call to the MONITOR clients, from a script's client (`lua`) or the caller's.
fn feed_monitors(ctx: &mut Ctx, shown: &[Option<&[u8]>], from_script: bool) {
    let origin = if from_script {
        "lua".to_string()
    } else {
        ctx.client.handle.addr.monitor_origin()
    };
    let line = crate::calls::monitor_line(ctx.client.db, &origin, shown);
    ctx.server
        .calls
        .feed_monitors(&line, &mut ctx.client.published);
}

/// A script call (EVAL, FCALL...) is shown to MONITOR before it runs, so that the
/// commands it runs follow it, as Redis's `evalCommand` feeds it (its table entry says
/// `skip_monitor` for the usual feed after the call).
pub fn monitor_script(ctx: &mut Ctx, cmd: &Command, args: &Args) {
    if ctx.server.calls.monitored() && scripting::runs_script(cmd.name) {
        let shown: Vec<Option<&[u8]>> = args.iter().map(Some).collect();
        feed_monitors(ctx, &shown, false);
    }
}

/// A call's arguments as the slow log and MONITOR show them: `None` where Redis
/// redacts a secret (AUTH's and HELLO AUTH's credentials, MIGRATE's AUTH and AUTH2,
/// CONFIG SET of a sensitive parameter, every argument of ACL SETUSER).
fn redacted<'a>(cmd: &Command, args: &'a Args) -> Vec<Option<&'a [u8]>> {
    let mut shown: Vec<Option<&[u8]>> = args.iter().map(Some).collect();
    let n = shown.len();
    let mut hide = |i: usize| {
        if i < n {
            shown[i] = None;
        }
    };
    let word = |i: usize, w: &str| i < n && is(&args[i], w);
    match cmd.name {
        "auth" => {
            hide(1);
            if n == 3 {
                hide(2);
            }
        }
        "hello" => {
            let mut j = 2;
            while j < n {
                if word(j, "auth") && j + 2 < n {
                    hide(j + 1);
                    hide(j + 2);
                    j += 2;
                }
                j += 1;
            }
        }
        "migrate" => {
            let mut j = 6;
            while j < n {
                if word(j, "auth") {
                    hide(j + 1);
                    j += 1;
                } else if word(j, "auth2") {
                    hide(j + 1);
                    hide(j + 2);
                    j += 2;
                } else if word(j, "keys") {
                    break;
                }
                j += 1;
            }
        }
        "set" if word(0, "config") => {
            let mut j = 2;
            while j + 1 < n {
                if crate::config::Config::is_sensitive(&args[j]) {
                    hide(j + 1);
                }
                j += 2;
            }
        }
        "setuser" if word(0, "acl") => (2..n).for_each(hide),
        _ => {}
    }
    shown
}

/// Every command and subcommand, by the index its statistics are kept under, with its
/// full name (`get`, `config|get`).
struct Ids {
    by_addr: crate::util::AddrMap<usize>,
    names: Vec<String>,
}

fn ids() -> &'static Ids {
    static IDS: OnceLock<Ids> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut ids = Ids {
            by_addr: HashMap::default(),
            names: Vec::new(),
        };
        for c in all() {
            ids.by_addr
                .insert(c as *const Command as usize, ids.names.len());
            ids.names.push(c.name.to_string());
            for s in c.subcommands {
                ids.by_addr
                    .insert(s as *const Command as usize, ids.names.len());
                ids.names.push(format!("{}|{}", c.name, s.name));
            }
        }
        ids
    })
}

/// The index a command's statistics are kept under (see [`crate::calls`]).
pub fn command_id(cmd: &Command) -> usize {
    ids()
        .by_addr
        .get(&(cmd as *const Command as usize))
        .copied()
        .unwrap_or(0)
}

/// The full name of the command with index `id` (`config|get`).
pub fn command_name(id: usize) -> String {
    ids().names.get(id).cloned().unwrap_or_default()
}

/// A command's full name as Redis's errors show it: `get`, or `config|get`.
fn full_name(cmd: &Command, args: &Args) -> String {
    match lookup(&args[0]) {
        Some(parent) if !std::ptr::eq(parent, cmd) => format!("{}|{}", parent.name, cmd.name),
        _ => cmd.name.to_string(),
    }
}

/// Runs a resolved command under the lock its handler asks for, then wakes the clients
/// blocked on keys it filled.
pub fn run(ctx: &mut Ctx, cmd: &Command, args: &Args) -> CmdResult {
    let result = match cmd.handler {
        Handler::Read(f) => run_read_locked(ctx, f, args),
        Handler::Write(f) => run_write_locked(ctx, f, args),
        Handler::ReadUnless {
            writes,
            read,
            write,
        } => {
            if writes(args) {
                run_write_locked(ctx, write, args)
            } else {
                run_read_locked(ctx, read, args)
            }
        }
        Handler::ReadFirst { read, write } => match run_read_locked(ctx, read, args) {
            Ok(true) => Ok(()),
            Ok(false) => run_write_locked(ctx, write, args),
            Err(e) => Err(e),
        },
        Handler::Plain(f) => f(ctx, args),
        Handler::Container => Ok(()),
    };
    if ctx.server.tracking.active() {
        remember_read(ctx, cmd, args);
    }
    result
}

/// Runs a read handler under the read lock, then removes the expired keys it met.
fn run_read_locked<T>(
    ctx: &mut Ctx,
    f: fn(&mut Ctx, &Keyspace, &Args) -> Result<T, CmdError>,
    args: &Args,
) -> Result<T, CmdError> {
    let Some(ks) = ctx.server.store.read_or_busy() else {
        return Err(busy(ctx));
    };
    let result = f(ctx, &ks, args);
    // Reads only ever look at the client's own database.
    let stale = ks.db(ctx.client.db).has_stale();
    drop(ks);
    if stale {
        let server = ctx.server;
        reap_stale(ctx, &mut server.store.write());
    }
    result
}

/// Runs a write handler under the write lock, with its effects and the clients it
/// serves.
fn run_write_locked(ctx: &mut Ctx, f: WriteFn, args: &Args) -> CmdResult {
    let Some(mut ks) = ctx.server.store.write_or_busy() else {
        return Err(busy(ctx));
    };
    let result = run_write(ctx, &mut ks, f, args);
    finish_writes(ctx, ks);
    // A blocking command that found nothing has registered a wait instead of
    // replying; it sleeps now, without the lock.
    blocking::wait(ctx);
    result
}

/// [`run_write_locked`] under the lock `held` keeps between commands.
fn run_write_held(ctx: &mut Ctx, f: WriteFn, args: &Args, held: &mut Held) -> CmdResult {
    let Some(mut ks) = held.take() else {
        return Err(busy(ctx));
    };
    let result = run_write(ctx, &mut ks, f, args);
    serve_ready(ctx, &mut ks);
    if ctx.client.blocked.is_some() {
        // Not a blocking command, but one that registered a wait all the same: it
        // sleeps without the lock.
        drop(ks);
        blocking::wait(ctx);
    } else {
        held.keep(ks);
    }
    result
}

/// The `-BUSY` error for a command that found the keyspace owned by a busy script.
pub fn busy(ctx: &Ctx) -> CmdError {
    let msg = ctx.server.scripts.busy_error().unwrap_or(
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
    );
    CmdError::Msg(msg.into())
}

/// How the AOF loader runs commands (see [`crate::persist::aof::Replay`]): through
/// [`run`], as the loading client, after the table lookup (no refusals: the file was
/// written from commands that ran).
pub const REPLAY: crate::persist::aof::Replay = crate::persist::aof::Replay {
    command_name: replay_name,
    run: replay_one,
    restore_libraries: scripting::restore_libraries,
};

fn replay_name(word: &[u8]) -> Option<&'static str> {
    lookup(word).map(|c| c.name)
}

fn replay_one(server: &Server, client: &mut ClientState, out: &mut Reply, argv: &Args) {
    if let Resolved::Found(cmd) = resolve(argv) {
        // Nothing expires while loading, as in Redis (`keyIsExpired` is false then): the
        // clock stands at 0, before every expiry time. The file's times are absolute.
        let mut ctx = Ctx {
            server,
            client,
            out,
            now_ms: 0,
        };
        let errors = ctx.out.errors.len();
        if let Err(e) = run(&mut ctx, cmd, argv) {
            ctx.out.error(&e.message());
        }
        if ctx.out.errors.len() > errors {
            propagation_error(&ctx, cmd, argv);
        }
    }
}

/// A write handler's signature.
pub type WriteFn = fn(&mut Ctx, &mut Keyspace, &Args) -> CmdResult;

/// A read handler.
pub type ReadFn = fn(&mut Ctx, &Keyspace, &Args) -> CmdResult;

/// Runs a write handler under a write lock the caller holds, then hands what it did, its
/// effects record (see [`crate::store::effects`]) closed with its own words if it
/// counted a change, to the consumers.
pub fn run_write(ctx: &mut Ctx, ks: &mut Keyspace, f: WriteFn, args: &Args) -> CmdResult {
    let dirty = ks.dirty;
    ks.begin(ctx.server.wanted());
    let result = f(ctx, ks, args);
    let changed = ks.dirty != dirty;
    let mut fx = ks.take_effects();
    if ks.wanted().ops {
        fx.finish(ctx.client.db, args.iter(), changed);
    }
    deliver(ctx, ks, fx);
    result
}

/// Hands an effects record the running client caused to the consumers: WATCH (whose
/// registry is in the keyspace), then [`crate::consumers::deliver`].
fn deliver(ctx: &mut Ctx, ks: &Keyspace, fx: crate::store::Effects) {
    if fx.is_empty() {
        return;
    }
    ks.signal_watchers(&fx);
    let client = &mut *ctx.client;
    let mut origin = crate::consumers::Origin {
        client_id: client.id,
        pending: &mut client.tracking.pending,
        outgoing: &mut client.tracking.outgoing,
        published: &mut client.published,
        held: client.held_ops.as_mut(),
    };
    crate::consumers::deliver(ctx.server, fx, &mut origin, true);
}

/// Removes the expired keys that readers met (under the read lock they only note them),
/// and hands their effects (events, invalidations, DELs) to the consumers.
pub fn reap_stale(ctx: &mut Ctx, ks: &mut Keyspace) {
    // A paused server keeps its expired keys (they read as missing meanwhile).
    if ctx.server.pause.holds_expiry() {
        return;
    }
    ks.begin(ctx.server.wanted());
    ks.reap_stale();
    if ks.effects_pending() {
        let fx = ks.take_effects();
        deliver(ctx, ks, fx);
    }
}

/// Serves the clients blocked on keys that got data (see [`crate::store::blocking`]),
/// hands what serving them did to the consumers, then releases the write lock. Each
/// served client's record is delivered on its own, after the command (or EXEC) that
/// woke it, as Redis propagates each served client separately.
pub fn finish_writes(ctx: &mut Ctx, mut ks: std::sync::RwLockWriteGuard<'_, Keyspace>) {
    serve_ready(ctx, &mut ks);
}

/// [`finish_writes`] without releasing the lock.
fn serve_ready(ctx: &mut Ctx, ks: &mut Keyspace) {
    ks.signal_deleted_streams(ctx.now_ms);
    if ks.ready.is_empty() {
        return;
    }
    ks.begin(ctx.server.wanted());
    let served = ks.serve_ready(ctx.now_ms);
    for fx in served {
        deliver(ctx, ks, fx);
    }
}

/// The keys a request names: the command table's positions, or the command's own
/// parsing for those whose keys move (`numkeys key [key ...]`).
pub fn command_keys<'a>(cmd: &Command, args: &'a Args) -> Vec<&'a [u8]> {
    let argc = args.len() as i64;
    let numkeys_at = match cmd.name {
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => Some(1),
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" => Some(2),
        _ => None,
    };
    if let Some(at) = numkeys_at {
        let n = crate::util::num::parse_i64(&args[at]).unwrap_or(0).max(0);
        let end = (at as i64 + 1 + n).min(argc);
        return (at as i64 + 1..end).map(|i| &args[i as usize]).collect();
    }
    if cmd.name == "xread" || cmd.name == "xreadgroup" {
        // The keys are the first half of what follows STREAMS.
        let Some(at) = args.iter().position(|a| is(a, "streams")) else {
            return Vec::new();
        };
        let n = (args.len() - at - 1) / 2;
        return (at + 1..at + 1 + n).map(|i| &args[i]).collect();
    }
    let (first, last, step) = cmd.keys;
    if first <= 0 || step <= 0 {
        return Vec::new();
    }
    let last = if last < 0 {
        argc + i64::from(last)
    } else {
        i64::from(last)
    };
    (i64::from(first)..=last.min(argc - 1))
        .step_by(step as usize)
        .map(|i| &args[i as usize])
        .collect()
}

/// After a read-only command: remembers its keys for the client if it tracks them
/// (default mode; in OPTIN mode only after CLIENT CACHING YES, in OPTOUT mode unless
/// CLIENT CACHING NO).
pub fn remember_read(ctx: &mut Ctx, cmd: &Command, args: &Args) {
    if cmd.flags & flags::READONLY == 0 || cmd.flags & flags::PUBSUB != 0 {
        return;
    }
    // A read-only script's keys are remembered by the reads it runs, as below.
    if matches!(cmd.name, "eval_ro" | "evalsha_ro" | "fcall_ro") {
        return;
    }
    remember_keys(ctx, cmd, args);
}

/// Remembers the keys a command names for the client if it tracks them (default mode;
/// in OPTIN mode only after CLIENT CACHING YES, in OPTOUT mode unless CLIENT CACHING
/// NO). A read inside a script remembers the keys the script declared, as Redis does.
pub fn remember_keys(ctx: &mut Ctx, cmd: &Command, args: &Args) {
    let Some(mode) = &ctx.client.tracking.mode else {
        return;
    };
    let caching = ctx.client.tracking.caching;
    if mode.bcast || (mode.optin && !caching) || (mode.optout && caching) {
        return;
    }
    let keys = command_keys(cmd, args);
    if !keys.is_empty() {
        ctx.server.tracking.remember(ctx.client.id, &keys);
        let client = &mut *ctx.client;
        ctx.server.tracking.limit(
            &ctx.server.clients,
            client.id,
            &mut client.tracking.pending,
            &mut client.tracking.outgoing,
        );
    }
}

// Helpers shared by the handlers.

/// Parses an integer argument (`ERR value is not an integer or out of range`).
pub fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    crate::util::num::parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Refuses a reply of `n` random draws with repeats (HRANDFIELD, SRANDMEMBER and
/// ZRANDMEMBER with a negative count) that could not fit in `proto-max-bulk-len` even
/// if every element were empty (`per_element` bytes each at least): Redis would build
/// it and run out of memory; redlite answers `ERR value is out of range` instead.
pub fn check_draws(ctx: &Ctx, n: u64, per_element: u64) -> Result<(), CmdError> {
    if n.saturating_mul(per_element) > ctx.server.proto_max_bulk_len() {
        return Err(CmdError::err("value is out of range"));
    }
    Ok(())
}

/// A HELP reply: each line as a status string.
pub fn reply_lines(out: &mut Reply, lines: &[&str]) {
    out.array(lines.len());
    for line in lines {
        out.simple(line);
    }
}

/// Redis's `addReplySubcommandSyntaxError`, for a container's subcommand whose arguments
/// its own parsing refuses.
pub fn subcommand_syntax(args: &Args) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        truncated(&args[1], 128),
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    ))
}

/// Whether `arg` equals the ASCII word `word`, ignoring case.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(parts: &[&str]) -> String {
        match resolve(&Args::from_slices(parts)) {
            Resolved::Rejected(m, _) => m,
            Resolved::Found(c) => panic!("found {}", c.name),
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup(b"GeT").unwrap().name, "get");
        assert!(lookup(b"nosuchcommand").is_none());
        assert!(lookup(&[b'a'; 100]).is_none());
    }

    /// The keyspace hits and misses `parts` counted, as (hits, misses).
    fn counted(s: &mut testing::Session, parts: &[&str]) -> (u64, u64) {
        let before = (s.client.stats.keyspace_hits, s.client.stats.keyspace_misses);
        s.run(parts);
        (
            s.client.stats.keyspace_hits - before.0,
            s.client.stats.keyspace_misses - before.1,
        )
    }

    #[test]
    fn read_lookups_count_once_per_key_up_to_a_wrong_type() {
        let mut s = testing::Session::new();
        s.run(&["SADD", "a", "1", "2"]);
        s.run(&["SET", "str", "x"]);
        s.run(&["SET", "w_1", "5"]);
        assert_eq!(counted(&mut s, &["SINTER", "a", "nosuch", "a"]), (2, 1));
        // SUNION stops at the key of the wrong type, as Redis's loop does.
        assert_eq!(counted(&mut s, &["SUNION", "nosuch", "str", "a"]), (1, 1));
        assert_eq!(counted(&mut s, &["ZUNION", "2", "a", "nosuch"]), (1, 1));
        // The sorted key, then the BY and GET keys of each element.
        assert_eq!(
            counted(&mut s, &["SORT", "a", "BY", "w_*", "GET", "w_*"]),
            (3, 2)
        );
        assert_eq!(counted(&mut s, &["GEOPOS", "nosuch", "m"]), (0, 1));
        // Write lookups count nothing.
        assert_eq!(counted(&mut s, &["SADD", "a", "3"]), (0, 0));
        assert_eq!(counted(&mut s, &["SMOVE", "a", "b", "1"]), (0, 0));
        assert_eq!(counted(&mut s, &["ZPOPMIN", "nosuch"]), (0, 0));
    }

    /// The last name found, remembered per thread, answers as the index does: for
    /// itself in any case, and for no other name (a prefix, a longer one, other bytes).
    #[test]
    fn the_remembered_command_answers_as_the_index() {
        let names: [&[u8]; 10] = [
            b"lpush",
            b"LPUSH",
            b"lPuSh",
            b"lpus",
            b"lpushx",
            b"lpush\0",
            b"rpush",
            b"l\xd0ush",
            b"",
            b"LPUSH ",
        ];
        for first in names {
            for then in names {
                lookup(first);
                assert_eq!(
                    lookup(then).map(|c| c.name),
                    lookup_uncached(then).map(|c| c.name),
                    "{first:?} then {then:?}"
                );
            }
        }
    }

    #[test]
    fn every_name_is_lowercase_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in all() {
            assert_eq!(c.name, c.name.to_ascii_lowercase());
            assert!(seen.insert(c.name), "duplicate {}", c.name);
            for s in c.subcommands {
                assert_eq!(s.name, s.name.to_ascii_lowercase());
            }
        }
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            rejected(&["foo", "a", "b"]),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            rejected(&["foo"]),
            "ERR unknown command 'foo', with args beginning with: "
        );
        assert_eq!(
            rejected(&["GET"]),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(
            rejected(&["config", "nope"]),
            "ERR unknown subcommand 'nope'. Try CONFIG HELP."
        );
        assert_eq!(
            rejected(&["config", "get"]),
            "ERR wrong number of arguments for 'config|get' command"
        );
        assert_eq!(
            rejected(&["config"]),
            "ERR wrong number of arguments for 'config' command"
        );
    }
}
