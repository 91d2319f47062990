//! The differential runner: the same commands on redlite and on a reference
//! redis-server 7.0, replies compared byte for byte (rendered with `\r\n` and other bytes
//! escaped, so a failing diff is readable).

use pretty_assertions::assert_eq;

use super::{array_elements, Conn, Reference, Server};

/// One command: its words as sent in a multibulk request.
pub type Cmd = &'static [&'static str];

/// How far apart two PTTL replies may be: both servers set and read the TTL a few
/// milliseconds apart (still tight enough to tell seconds from milliseconds).
pub const PTTL_TOLERANCE_MS: i64 = 500;

/// Renders reply bytes as one readable line: CR, LF, backslash and non-printable bytes
/// escaped.
pub fn render(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// Renders a command for failure reports, quoting words that need it.
pub fn render_cmd(cmd: &[&str]) -> String {
    cmd.iter()
        .map(|w| {
            if w.is_empty() || !w.bytes().all(|b| b.is_ascii_graphic() && b != b'"') {
                format!("{w:?}")
            } else {
                (*w).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The value of an integer reply, if it is one.
pub fn int_reply(bytes: &[u8]) -> Option<i64> {
    std::str::from_utf8(bytes.strip_prefix(b":")?.strip_suffix(b"\r\n")?)
        .ok()?
        .parse()
        .ok()
}

/// Whether two replies to `cmd` agree. Byte equality, except where the reply is
/// legitimately unspecified (see the module doc).
pub fn agree(cmd: &[&str], ours: &[u8], theirs: &[u8]) -> bool {
    if ours == theirs {
        return true;
    }
    let name = cmd[0].to_ascii_lowercase();
    match name.as_str() {
        // These return elements in hash-table order (for a set or hash past its compact
        // encoding): compare the sorted elements.
        "keys" | "smembers" | "sinter" | "sunion" | "sdiff" | "hkeys" | "hvals"
            if is_array(ours) && is_array(theirs) =>
        {
            same_elements(array_elements(ours), array_elements(theirs))
        }
        // The same, for field-value pairs.
        "hgetall" if is_array(ours) && is_array(theirs) => {
            same_elements(pairs(array_elements(ours)), pairs(array_elements(theirs)))
        }
        // Times derived from each server's clock (a TTL counting down, an expiry set
        // relative to "now") depend on when each server ran the command; negative
        // answers (-1, -2) are exact.
        "pttl" | "pexpiretime" => within(ours, theirs, PTTL_TOLERANCE_MS),
        "ttl" | "expiretime" => within(ours, theirs, 1),
        _ => false,
    }
}

fn is_array(reply: &[u8]) -> bool {
    reply.starts_with(b"*")
}

/// Whether two lists hold the same elements, in any order.
pub fn same_elements<T: Ord>(mut a: Vec<T>, mut b: Vec<T>) -> bool {
    a.sort();
    b.sort();
    a == b
}

/// Consecutive elements paired up (a flat field-value or member-score reply).
pub fn pairs(flat: Vec<Vec<u8>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut it = flat.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    out
}

/// Whether two integer replies are both non-negative and at most `tolerance` apart.
fn within(ours: &[u8], theirs: &[u8], tolerance: i64) -> bool {
    match (int_reply(ours), int_reply(theirs)) {
        (Some(a), Some(b)) if a >= 0 && b >= 0 => (a - b).abs() <= tolerance,
        _ => false,
    }
}

/// A fresh redlite and a fresh reference server.
pub struct Pair {
    pub ours: Server,
    pub theirs: Reference,
}

impl Pair {
    pub fn start() -> Pair {
        Pair {
            ours: Server::start(&[]),
            theirs: Reference::start(),
        }
    }
}

/// Runs `script` on one connection to each server of a fresh pair, and fails with a diff
/// of every command whose replies disagree.
pub fn run_script(script: &[Cmd]) {
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    run_on(script, &mut ours, &mut theirs);
}

/// Runs `script` on two existing connections; see [`run_script`].
pub fn run_on(script: &[Cmd], ours: &mut Conn, theirs: &mut Conn) {
    let (mut ours_report, mut theirs_report) = (String::new(), String::new());
    let mut failed = Vec::new();
    for (i, cmd) in script.iter().enumerate() {
        let a = ours.cmd(cmd);
        let b = theirs.cmd(cmd);
        if !agree(cmd, &a, &b) {
            let line = format!("#{i} {}", render_cmd(cmd));
            ours_report.push_str(&format!("{line}\n  => {}\n", render(&a)));
            theirs_report.push_str(&format!("{line}\n  => {}\n", render(&b)));
            failed.push(line);
        }
    }
    assert_eq!(
        ours_report,
        theirs_report,
        "{} of {} replies differ (left: redlite, right: redis): {}",
        failed.len(),
        script.len(),
        failed.join(", ")
    );
}

/// A step of a script that sends nothing: both servers are left alone for
/// [`PAUSE_MS`], so that keys set with `PX 1` have expired.
pub const PAUSE: Cmd = &["#pause"];

pub const PAUSE_MS: u64 = 20;

/// Like `run_script`, with [`PAUSE`] steps.
pub fn run_paused(script: &[Cmd]) {
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    for segment in script.split(|cmd| *cmd == PAUSE) {
        run_on(segment, &mut ours, &mut theirs);
        std::thread::sleep(std::time::Duration::from_millis(PAUSE_MS));
    }
}
