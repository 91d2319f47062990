//! Differential scripts over several connections per server, for WATCH (a second client
//! changes a key) and pub/sub (frames arrive on a connection that sent nothing).
//!
//! Included with `#[path]` by the test files that need it, so `common/mod.rs` stays as
//! it is.
//!
//! A step is `(connection, words)`; (P|S)SUBSCRIBE and (P|S)UNSUBSCRIBE given N names read
//! their N frames (without names, follow them with `#read`s for the frames after the
//! first). Besides commands, four words are understood:
//! - `#read`: read one reply the connection has pending (a published message) without
//!   sending anything;
//! - `#reads N`: read N pending replies and compare them as a multiset (Redis sends the
//!   `pmessage` frames of several matching patterns in its dict's order, which is seeded
//!   at random per process);
//! - `#pause MS`: send nothing for MS milliseconds, on both servers (a key's TTL runs
//!   out);
//! - `#resp3`: switch the connection to RESP3 with HELLO 3 (its reply, which names
//!   each server, is not compared).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use pretty_assertions::assert_eq;

use crate::common::diff::{agree, render, render_cmd, same_elements, Pair};
use crate::common::{array_elements, Conn};

/// One step: the connection (0, 1, ...) and the command's words.
pub type Step = (usize, &'static [&'static str]);

/// Connections to one server, opened on first use.
struct Conns {
    port: u16,
    open: BTreeMap<usize, Conn>,
}

impl Conns {
    fn get(&mut self, i: usize) -> &mut Conn {
        let port = self.port;
        self.open.entry(i).or_insert_with(|| Conn::connect(port))
    }
}

/// What one step produced on one server: the replies, rendered, and whether they are to
/// be compared as a multiset.
fn perform(conns: &mut Conns, (i, cmd): Step) -> (Vec<Vec<u8>>, bool) {
    match cmd {
        ["#read"] => (vec![conns.get(i).read_reply()], false),
        ["#resp3"] => {
            conns.get(i).cmd(&["HELLO", "3"]);
            (Vec::new(), false)
        }
        ["#reads", n] => {
            let conn = conns.get(i);
            let replies = (0..n.parse::<usize>().unwrap())
                .map(|_| conn.read_reply())
                .collect();
            (replies, true)
        }
        _ => {
            let conn = conns.get(i);
            let first = conn.cmd(cmd);
            // (P)SUBSCRIBE and (P)UNSUBSCRIBE confirm each name with a frame of its own
            // (unless refused, or queued by MULTI).
            let mut replies = vec![first];
            let confirmed = !replies[0].starts_with(b"-") && replies[0] != b"+QUEUED\r\n";
            if is_subscription(cmd[0]) && confirmed {
                for _ in 2..cmd.len() {
                    replies.push(conn.read_reply());
                }
            }
            (replies, false)
        }
    }
}

/// Whether a command answers with one frame per name it is given.
fn is_subscription(name: &str) -> bool {
    [
        "subscribe",
        "psubscribe",
        "ssubscribe",
        "unsubscribe",
        "punsubscribe",
        "sunsubscribe",
    ]
    .iter()
    .any(|s| name.eq_ignore_ascii_case(s))
}

/// Whether two replies to `cmd` agree: [`agree`]'s rules, plus PUBSUB CHANNELS and
/// SHARDCHANNELS, sets.
fn agree_more(cmd: &[&str], ours: &[u8], theirs: &[u8]) -> bool {
    if agree(cmd, ours, theirs) {
        return true;
    }
    let is_set = cmd.len() >= 2
        && cmd[0].eq_ignore_ascii_case("pubsub")
        && (cmd[1].eq_ignore_ascii_case("channels")
            || cmd[1].eq_ignore_ascii_case("shardchannels"));
    is_set
        && ours.starts_with(b"*")
        && theirs.starts_with(b"*")
        && same_elements(array_elements(ours), array_elements(theirs))
}

/// Runs `script` against a fresh redlite and a fresh reference redis-server, step by
/// step (each step on redlite, then on Redis), and fails with a diff of every
/// step whose replies disagree.
pub fn run_steps(script: &[Step]) {
    let pair = Pair::start();
    let mut ours = Conns {
        port: pair.ours.port,
        open: BTreeMap::new(),
    };
    let mut theirs = Conns {
        port: pair.theirs.port,
        open: BTreeMap::new(),
    };
    let (mut ours_report, mut theirs_report) = (String::new(), String::new());
    let mut failed = Vec::new();
    for (n, &step) in script.iter().enumerate() {
        if let ["#pause", ms] = step.1 {
            // Both servers run meanwhile: one sleep serves both.
            std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
            continue;
        }
        let (a, unordered) = perform(&mut ours, step);
        let (b, _) = perform(&mut theirs, step);
        let same = if unordered {
            same_elements(a.clone(), b.clone())
        } else {
            a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| agree_more(step.1, x, y))
        };
        if !same {
            let line = format!("#{n} @{} {}", step.0, render_cmd(step.1));
            let show = |r: &[Vec<u8>]| r.iter().map(|x| render(x)).collect::<Vec<_>>().join(" ");
            ours_report.push_str(&format!("{line}\n  => {}\n", show(&a)));
            theirs_report.push_str(&format!("{line}\n  => {}\n", show(&b)));
            failed.push(line);
        }
    }
    assert_eq!(
        ours_report,
        theirs_report,
        "{} of {} steps differ (left: redlite, right: redis): {}",
        failed.len(),
        script.len(),
        failed.join(", ")
    );
}
