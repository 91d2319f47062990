//! Reply encoding into a reusable output buffer.
//!
//! Every reply of one read batch goes into the same [`Reply`] and leaves in one write.
//! Integers are formatted by hand, never through `fmt`, since this runs for every
//! request. The protocol version is carried here, so commands say what they mean (a
//! map, a set, a null) and the encoder picks RESP2 or RESP3 framing.

use crate::util::num::push_i64;

/// An output buffer of encoded replies.
#[derive(Debug, Default)]
pub struct Reply {
    buf: Vec<u8>,
    /// Whether the client speaks RESP3 (after `HELLO 3`).
    pub resp3: bool,
    /// The codes of the error replies written since the connection last took them (INFO
    /// errorstats and commandstats' failed calls count them; see [`crate::calls`]).
    pub errors: Vec<Box<str>>,
}

impl Reply {
    /// An empty buffer with room for a typical batch of replies.
    pub fn new() -> Reply {
        Reply {
            buf: Vec::with_capacity(16 * 1024),
            resp3: false,
            errors: Vec::new(),
        }
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The number of encoded bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops the sent bytes, releasing memory a huge reply left behind.
    pub fn clear(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > 1024 * 1024 {
            self.buf.shrink_to(16 * 1024);
        }
    }

    /// Cuts the buffer back to `len` bytes (to discard a partly written reply).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Appends bytes that are already encoded.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A status reply: `+text`.
    pub fn simple(&mut self, text: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply: `-text`. The text carries its own prefix (`ERR`, `WRONGTYPE`...).
    /// Like Redis's `addReplyError`, CR and LF inside the text become spaces so the reply
    /// stays one line.
    pub fn error(&mut self, text: &str) {
        self.errors.push(crate::calls::error_code(text).into());
        self.buf.push(b'-');
        self.buf.extend(
            text.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer reply: `:n`.
    pub fn int(&mut self, n: i64) {
        self.buf.push(b':');
        push_i64(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string: `$len` then the bytes.
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.buf.push(b'$');
        push_i64(&mut self.buf, bytes.len() as i64);
        self.buf.extend_from_slice(b"\r\n");
        self.buf.extend_from_slice(bytes);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer sent as a bulk string (as INCRBYFLOAT-style replies and CONFIG do).
    pub fn bulk_int(&mut self, n: i64) {
        let mut digits = Vec::with_capacity(20);
        push_i64(&mut digits, n);
        self.bulk(&digits);
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    /// A double, as Redis's `addReplyDouble`: `,text` in RESP3, a bulk string in RESP2;
    /// `%.17g` text, with `inf` and `-inf` for the infinities.
    pub fn double(&mut self, v: f64) {
        let text = crate::util::num::format_double(v);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(&text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(&text);
        }
    }

    /// A double as Redis's `addReplyHumanLongDouble` prints it: `%.17Lf` with trailing
    /// zeros removed, a bulk string in RESP2 and a double in RESP3 (GEOPOS's coordinates).
    pub fn human_double(&mut self, v: f64) {
        let text = crate::util::num::format_long_double_human(v.into());
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(&text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(&text);
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2 (Redis's `addReplyBool`).
    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(i64::from(b));
        }
    }

    /// A big number: `(digits` in RESP3, a bulk string in RESP2.
    pub fn big_number(&mut self, text: &str) {
        if self.resp3 {
            self.buf.push(b'(');
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// An array header for `n` elements that follow.
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n);
    }

    /// The header of an out-of-band message of `n` elements (pub/sub): a push (`>n`) in
    /// RESP3, an array in RESP2.
    pub fn push_or_array(&mut self, n: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, n);
    }

    /// A map header for `n` key/value pairs: `%n` in RESP3, an array of `2n` in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n);
        } else {
            self.header(b'*', n * 2);
        }
    }

    /// A set header for `n` members: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n);
    }

    /// A verbatim string (`=` in RESP3, a bulk in RESP2), as INFO-like text uses.
    pub fn verbatim(&mut self, format: &str, text: &[u8]) {
        if self.resp3 {
            self.buf.push(b'=');
            push_i64(&mut self.buf, (text.len() + 4) as i64);
            self.buf.extend_from_slice(b"\r\n");
            self.buf.extend_from_slice(format.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    fn header(&mut self, kind: u8, n: usize) {
        self.buf.push(kind);
        push_i64(&mut self.buf, n as i64);
        self.buf.extend_from_slice(b"\r\n");
    }
}

/// Encodes a request as clients send it (an array of bulk strings), for tests, benches
/// and tools that talk to a server.
pub fn request<T: AsRef<[u8]>>(args: &[T]) -> Vec<u8> {
    let mut r = Reply::default();
    r.array(args.len());
    for a in args {
        r.bulk(a.as_ref());
    }
    r.buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_encodings() {
        let mut r = Reply::new();
        r.ok();
        r.simple("PONG");
        r.error("ERR bad\r\nthing");
        r.int(-42);
        r.bulk(b"hi");
        r.bulk(b"");
        r.null();
        r.null_array();
        r.array(2);
        r.map(1);
        r.set(3);
        r.bulk_int(7);
        assert_eq!(
            r.as_bytes(),
            &b"+OK\r\n+PONG\r\n-ERR bad  thing\r\n:-42\r\n$2\r\nhi\r\n$0\r\n\r\n$-1\r\n*-1\r\n*2\r\n*2\r\n*3\r\n$1\r\n7\r\n"[..]
        );
    }

    #[test]
    fn resp3_encodings() {
        let mut r = Reply::new();
        r.resp3 = true;
        r.null();
        r.null_array();
        r.map(2);
        r.set(1);
        r.verbatim("txt", b"ab");
        assert_eq!(r.as_bytes(), &b"_\r\n_\r\n%2\r\n~1\r\n=6\r\ntxt:ab\r\n"[..]);
    }

    #[test]
    fn doubles_and_pushes_follow_the_protocol() {
        let mut r = Reply::new();
        r.double(2.5);
        r.double(f64::INFINITY);
        r.push_or_array(2);
        r.verbatim("txt", b"x");
        assert_eq!(
            r.as_bytes(),
            &b"$3\r\n2.5\r\n$3\r\ninf\r\n*2\r\n$1\r\nx\r\n"[..]
        );
        let mut r = Reply::new();
        r.resp3 = true;
        r.double(2.5);
        r.double(f64::NEG_INFINITY);
        r.double(0.1);
        r.push_or_array(2);
        r.bulk(b"invalidate");
        assert_eq!(
            r.as_bytes(),
            &b",2.5\r\n,-inf\r\n,0.10000000000000001\r\n>2\r\n$10\r\ninvalidate\r\n"[..]
        );
    }
}
