//! The append-only file (Redis's aof.c): the propagation stream written to disk.
//!
//! [`Aof::feed`] receives every propagated command in execution order (the keyspace
//! write lock is held by the caller) and encodes it as RESP, with a SELECT wherever the
//! database changes, as Redis's `feedAppendOnlyFile` does.

use std::sync::Mutex;

use crate::store::Op;

/// The AOF's state shared by every connection.
#[derive(Debug, Default)]
pub struct Aof {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Whether commands are being recorded.
    on: bool,
    /// The database the stream last SELECTed (`None`: none yet).
    selected: Option<usize>,
    /// Encoded commands not yet written.
    buf: Vec<u8>,
}

impl Aof {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether commands are being recorded.
    pub fn enabled(&self) -> bool {
        self.lock().on
    }

    /// Appends one propagated command (while recording).
    pub fn feed(&self, op: &Op) {
        let mut inner = self.lock();
        if !inner.on {
            return;
        }
        let Inner { selected, buf, .. } = &mut *inner;
        encode_op(op, selected, buf);
    }
}

/// Encodes `op` as a RESP array, preceded by a SELECT if its database is not `selected`.
pub fn encode_op(op: &Op, selected: &mut Option<usize>, buf: &mut Vec<u8>) {
    if *selected != Some(op.db) {
        let db = op.db.to_string();
        encode_argv(&[b"SELECT".as_slice(), db.as_bytes()], buf);
        *selected = Some(op.db);
    }
    encode_argv(&op.argv, buf);
}

/// Encodes one command as a RESP array of bulk strings.
pub fn encode_argv<W: AsRef<[u8]>>(argv: &[W], buf: &mut Vec<u8>) {
    buf.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for w in argv {
        let w = w.as_ref();
        buf.extend_from_slice(format!("${}\r\n", w.len()).as_bytes());
        buf.extend_from_slice(w);
        buf.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_select_precedes_a_change_of_database() {
        let mut buf = Vec::new();
        let mut selected = None;
        encode_op(&Op::new(0, &["SET", "k", "v"]), &mut selected, &mut buf);
        encode_op(&Op::new(0, &["DEL", "k"]), &mut selected, &mut buf);
        encode_op(&Op::new(2, &["DEL", "k"]), &mut selected, &mut buf);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n\
             *2\r\n$3\r\nDEL\r\n$1\r\nk\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n\
             *2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"
        );
    }
}
