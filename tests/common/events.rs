//! Keyspace notifications as a test sees them: a subscriber to `__key*__:*` on one
//! server, read up to a mark that the controlling connection publishes, so that the
//! events of each command (or step) can be compared between two servers.

use super::Conn;

/// A subscriber to every keyspace notification of one server.
pub struct EventListener {
    conn: Conn,
    keep_expired: bool,
    marks: usize,
}

impl EventListener {
    /// Sets `notify-keyspace-events` to `classes` through `control`, and subscribes `conn`
    /// to every notification and to the sync channel. `keep_expired: false` leaves
    /// `expired` events out of what [`EventListener::take`] returns.
    pub fn start(control: &mut Conn, mut conn: Conn, classes: &str, keep_expired: bool) -> Self {
        assert_eq!(
            control.cmd(&["CONFIG", "SET", "notify-keyspace-events", classes]),
            b"+OK\r\n"
        );
        conn.cmd(&["PSUBSCRIBE", "__key*__:*"]);
        conn.cmd(&["SUBSCRIBE", "sync"]);
        EventListener {
            conn,
            keep_expired,
            marks: 0,
        }
    }

    /// The events of everything `control` ran since the last call, as `channel message`
    /// lines: a PUBLISH to the sync channel marks the end.
    pub fn take(&mut self, control: &mut Conn) -> Vec<String> {
        self.marks += 1;
        let mark = self.marks.to_string();
        control.cmd(&["PUBLISH", "sync", &mark]);
        let mut events = Vec::new();
        loop {
            let text: Vec<String> = super::array_elements(&self.conn.read_reply())
                .iter()
                .map(|p| bulk_text(p))
                .collect();
            match text.first().map(String::as_str) {
                Some("message") if text[1] == "sync" && text[2] == mark => return events,
                Some("pmessage") => {
                    let (channel, message) = (&text[2], &text[3]);
                    let expired = channel.ends_with(":expired") || message == "expired";
                    if self.keep_expired || !expired {
                        events.push(format!("{channel} {message}"));
                    }
                }
                _ => panic!("unexpected on the event listener: {text:?}"),
            }
        }
    }
}

/// The bytes of a raw bulk string (`$<len>\r\n<bytes>\r\n`), as lossy text.
fn bulk_text(raw: &[u8]) -> String {
    let start = raw.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    String::from_utf8_lossy(&raw[start..raw.len().saturating_sub(2)]).into_owned()
}
