//! One client's connection: read what the socket has, parse and run every complete
//! request in it, and send all their replies in one write before blocking again.
//!
//! Until the client authenticates (when a password is set), the parser holds its requests
//! to Redis's unauthenticated limits and the dispatcher answers `-NOAUTH` to all but a
//! few commands.
//!
//! The parser keeps partial requests between reads, so replies are flushed exactly when
//! the read buffer runs dry: a pipeline of N requests that arrived together costs one
//! write, and a request split across reads never holds earlier replies back.

use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::TcpStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::client::{ClientHandle, ClientState, LocalStats};
use crate::command::{self, Ctx};
use crate::resp::parse::Parsed;
use crate::resp::{Args, Parser, Reply};
use crate::state::Server;
use crate::util::{now_ms, now_us};

/// The read buffer's size: at least Redis's 16 KiB `PROTO_IOBUF_LEN`.
const READ_BUFFER: usize = 16 * 1024;

/// Serves a client until it leaves, is killed, or breaks the protocol, reading from its
/// handle's socket.
pub fn serve_client(server: &Server, handle: Arc<ClientHandle>) {
    let reader = handle.reader();
    serve_from(server, reader, handle);
}

/// [`serve_client`] reading from `stream`, a descriptor of the client's socket other than
/// the handle's (a clone of it).
pub fn serve(server: &Server, stream: TcpStream, handle: Arc<ClientHandle>) {
    serve_from(server, stream, handle);
}

fn serve_from<R: Read>(server: &Server, reader: R, handle: Arc<ClientHandle>) {
    let mut client = ClientState::new(handle);
    // Without a password the client is in from the start, and stays in if one is set
    // later (Redis's `clientSetDefaultAuth`).
    client.authenticated = !server.auth_required();
    serve_state(server, reader, client);
}

/// Applies a master's replication stream read from `reader` (which may begin with bytes
/// read ahead during the sync) as the master client: no refusals, no replies, and every
/// command's bytes passed on to this server's own backlog and replicas once applied.
pub fn serve_master<R: Read>(server: &Server, reader: R, handle: Arc<ClientHandle>) {
    let mut client = ClientState::new(handle);
    client.authenticated = true;
    client.master = true;
    client.user = Some(Arc::new(crate::acl::UserCell::superuser()));
    client.handle.info().repl_flag = Some('M');
    serve_state(server, reader, client);
}

fn serve_state<R: Read>(server: &Server, reader: R, client: ClientState) {
    let id = client.id;
    let mut conn = Connection {
        server,
        reader: BufReader::with_capacity(READ_BUFFER, reader),
        parser: Parser::new(server.proto_max_bulk_len()),
        args: Args::default(),
        out: Reply::new(),
        client,
        aof_target: 0,
        carry: Vec::new(),
    };
    conn.run();
    let client = &mut conn.client;
    command::multi::reset(server, client);
    command::pubsub::unsubscribe_all(server, client);
    server.calls.remove_monitor(id);
    server.tracking.disable(id);
    if client.replconf.is_replica {
        server.repl.remove_replica(id);
    }
    client.handle.close_outbox();
    server.clients.unregister(id);
}

struct Connection<'a, R> {
    server: &'a Server,
    reader: BufReader<R>,
    parser: Parser,
    args: Args,
    out: Reply,
    client: ClientState,
    /// How much of the AOF stream must be written (or, with `always`, fsynced) before
    /// the pending replies go out (0: none, the AOF is off).
    aof_target: u64,
    /// The master's stream: the start of a command still incomplete, to pass on with
    /// the rest once applied.
    carry: Vec<u8>,
}

impl<R: Read> Connection<'_, R> {
    fn run(&mut self) {
        loop {
            let input = match self.reader.fill_buf() {
                Ok([]) => return,
                Ok(input) => input,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let n = input.len();
            self.client.batch_bytes = n;
            // The parser copies what it needs, so the whole buffer is consumed each time.
            let keep_going = self.handle_input(n);
            self.reader.consume(n);
            self.account(n as u64);
            if !self.flush() || !keep_going {
                return;
            }
        }
    }

    /// Parses and runs every complete request in the read buffer. Returns false when the
    /// connection must close after the pending replies are sent.
    fn handle_input(&mut self, end: usize) -> bool {
        let mut at = 0;
        // The master's stream: where this read's bytes not yet passed on start.
        let mut mark = 0;
        // The write lock, kept between the batch's write commands; let go when this
        // returns, before the replies are sent.
        let server = self.server;
        let mut held = command::Held::new(&server.store);
        self.parser.max_bulk_len = self.server.proto_max_bulk_len();
        if self.client.authenticated && !self.client.master && !self.parser.in_request() {
            let input = &self.reader.buffer()[..end];
            command::prefetch_batch(server, &self.client, &mut held, input);
        }
        while at < end {
            // Before authentication requests are held to Redis's small limits; checked
            // per request, so an AUTH lifts them for the next one.
            self.parser.unauthenticated = !self.client.authenticated && self.server.auth_required();
            let input = &self.reader.buffer()[at..end];
            match self.parser.parse(input, &mut self.args) {
                Ok(Parsed::Request(used)) => {
                    at += used;
                    self.execute(&mut held);
                    if self.client.master {
                        // Its counters first, so that whoever sees our offset move sees
                        // what the command counted too (Redis counts as it runs).
                        self.merge_counters();
                        // Applied: now it counts in our offset and goes to our replicas
                        // (with its start, if an earlier read brought that).
                        let bytes = &self.reader.buffer()[mark..at];
                        if self.carry.is_empty() {
                            self.server.repl.proxy(bytes);
                        } else {
                            self.carry.extend_from_slice(bytes);
                            self.server.repl.proxy(&self.carry);
                            self.carry.clear();
                        }
                        mark = at;
                    }
                    if self.client.close_after_reply {
                        return false;
                    }
                }
                Ok(Parsed::NeedMore) => break,
                Err(e) => {
                    self.out.error(&e.message());
                    self.server.log.verbose(&format!(
                        "Protocol error ({}) from client: id={} addr={}",
                        e.message(),
                        self.client.id,
                        self.client.handle.addr
                    ));
                    return false;
                }
            }
        }
        if self.client.master {
            self.carry
                .extend_from_slice(&self.reader.buffer()[mark..end]);
        }
        let limit = self.server.query_buffer_limit() as usize;
        // Like Redis, count the bytes received, not the buffer's (doubling) capacity.
        if self.args.data_len() > limit {
            self.server.log.warning(&format!(
                "Closing client that reached max query buffer length: id={} addr={}",
                self.client.id, self.client.handle.addr
            ));
            return false;
        }
        true
    }

    /// Runs the parsed request. A panic in a command is caught here, so one bug cannot
    /// take down the server; the keyspace lock ignores poisoning for the same reason.
    fn execute(&mut self, held: &mut command::Held) {
        let reply_start = self.out.len();
        // What CLIENT INFO and a blocked client's CLIENT LIST line count as `argv-mem`.
        self.client.argv_bytes = self.args.data_len();
        self.client.argc = self.args.len();
        // One clock reading gives the command its time and starts its timer.
        let now_us = now_us();
        let mut ctx = Ctx {
            server: self.server,
            client: &mut self.client,
            out: &mut self.out,
            now_ms: now_us / 1000,
        };
        let args = &self.args;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            command::execute_held(&mut ctx, args, held, Some(now_us))
        }));
        // Whatever was fed until now (this command's, or another client's whose data
        // this one may have read) must reach the AOF before these replies are sent.
        if self.server.aof.enabled() {
            self.aof_target = self.server.aof.fed();
        }
        if self.server.repl.active() {
            // Redis's `c->woff`: what WAIT must see acknowledged (at least this much).
            self.client.repl_woff = self.server.repl.offset();
        }
        if outcome.is_err() {
            self.out.truncate(reply_start);
            self.out
                .error("ERR internal error while running the command");
        }
        self.client.stats.commands += 1;
        self.client.calls.errors_from(&mut self.out.errors);
        self.after_command(reply_start);
    }

    /// What follows a command, as Redis's `call` and `resetClient` do it: CLIENT REPLY
    /// OFF or SKIP drops the reply; invalidations for this client follow its reply, and
    /// those for others leave now that the keyspace lock is released; CLIENT CACHING
    /// lasts one command (or one transaction); a SKIP applies from the next command.
    fn after_command(&mut self, reply_start: usize) {
        let client = &mut self.client;
        if client.reply_off || client.reply_skip {
            self.out.truncate(reply_start);
        }
        let tracking = &mut client.tracking;
        if !tracking.pending.is_empty() {
            self.out.raw(&tracking.pending);
            tracking.pending.clear();
        }
        crate::tracking::deliver(&mut tracking.outgoing);
        let args = &self.args;
        let client_cmd = args.iter().next().is_some_and(|a| command::is(a, "client"));
        if client.multi.is_none() && !client_cmd {
            tracking.caching = false;
        }
        client.reply_skip = std::mem::take(&mut client.reply_skip_next);
    }

    /// Sends the pending replies in one write, then what this batch published to
    /// subscribers. Returns false if the client is gone.
    ///
    /// Replies that must wait for the AOF are handed to its group commit, which sends
    /// them once the commands they answer are written (see
    /// [`crate::persist::aof::Aof::reply_after`]); a batch that published, or the
    /// master's, waits for the write here instead, as what follows it must.
    fn flush(&mut self) -> bool {
        let target = std::mem::take(&mut self.aof_target);
        let aof = &self.server.aof;
        if self.client.master || !self.client.published.is_empty() || self.out.is_empty() {
            if target != 0 {
                aof.before_reply(self.server, target);
            }
        } else if aof.reply_after(
            self.server,
            target,
            &self.client.handle,
            self.out.as_bytes(),
        ) {
            self.count_output();
            return !self.client.handle.is_killed();
        }
        self.client.published.flush();
        if self.client.master {
            // The master is never answered (REPLCONF GETACK answers on its own).
            self.out.clear();
            return !self.client.handle.is_killed();
        }
        if self.out.is_empty() {
            return true;
        }
        let ok = self.client.handle.send(self.out.as_bytes()).is_ok();
        self.count_output();
        ok && !self.client.handle.is_killed()
    }

    /// Counts the pending replies as sent, and clears them.
    fn count_output(&mut self) {
        let stats = &self.server.stats;
        stats
            .net_output_bytes
            .fetch_add(self.out.len() as u64, Ordering::Relaxed);
        stats.writes_processed.fetch_add(1, Ordering::Relaxed);
        self.out.clear();
    }

    /// Adds this batch's counters to the server's and refreshes what CLIENT LIST shows.
    fn account(&mut self, bytes_in: u64) {
        let stats = &self.server.stats;
        stats.net_input_bytes.fetch_add(bytes_in, Ordering::Relaxed);
        stats.reads_processed.fetch_add(1, Ordering::Relaxed);
        self.merge_counters();
        let handle = &self.client.handle;
        handle.last_active_ms.store(now_ms(), Ordering::Relaxed);
        let mut info = handle.info();
        info.db = self.client.db;
        info.last_command = self.client.last_command;
        info.resp = self.client.resp;
        info.argv_mem = self.args.memory();
        let client = &self.client;
        info.multi = client.multi.as_ref().map_or(-1, |m| m.queued.len() as i64);
        info.sub = client.subscriptions.channels.len();
        info.psub = client.subscriptions.patterns.len();
        info.ssub = client.subscriptions.shard.len();
        info.dirty_cas = client.watch_flag.load(Ordering::Relaxed);
        // Between batches the query buffer holds only a request still arriving.
        info.qbuf = if self.parser.in_request() {
            self.args.data_len()
        } else {
            0
        };
        crate::client::MemModel::after_batch(&mut info.mem, client, self.out.len());
    }

    /// Adds the counters of the commands run since the last call (commands, keyspace
    /// hits and misses, COMMANDSTATS) to the server's.
    fn merge_counters(&mut self) {
        let stats = &self.server.stats;
        let LocalStats {
            commands,
            keyspace_hits,
            keyspace_misses,
        } = std::mem::take(&mut self.client.stats);
        if !self.client.calls.is_empty() {
            self.server.calls.merge(&mut self.client.calls);
        }
        stats
            .commands_processed
            .fetch_add(commands, Ordering::Relaxed);
        if keyspace_hits > 0 {
            stats
                .keyspace_hits
                .fetch_add(keyspace_hits, Ordering::Relaxed);
        }
        if keyspace_misses > 0 {
            stats
                .keyspace_misses
                .fetch_add(keyspace_misses, Ordering::Relaxed);
        }
    }
}
