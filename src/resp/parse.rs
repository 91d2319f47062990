//! Request parsing, as Redis's `processMultibulkBuffer` and `processInlineBuffer` do it.
//!
//! The parser is fed whatever bytes the socket has delivered so far and keeps its place
//! between calls, so a request split anywhere (even one byte at a time) parses the same as
//! one that arrived whole. This lets the connection flush pending replies before it blocks
//! on a read, instead of blocking with replies still in hand.
//!
//! Arguments land in one reusable buffer ([`Args`]), so a steady stream of requests needs
//! no allocation per command. Bulk payloads grow that buffer only as their bytes arrive:
//! a `$500000000` header reserves nothing up front.

use crate::util::num::parse_i64;

/// Redis's `PROTO_INLINE_MAX_SIZE`: the longest inline request or header line.
pub const INLINE_MAX: usize = 64 * 1024;

/// The most we pre-reserve for a bulk payload before its bytes arrive.
const BULK_PREALLOC_MAX: usize = 16 * 1024;

/// The most arguments a request from a client that still has to authenticate may have
/// (Redis's `ll > 10 && authRequired(c)` in `processMultibulkBuffer`).
pub const UNAUTHENTICATED_MAX_ARGS: i64 = 10;

/// The longest bulk such a client may send (`ll > 16384 && authRequired(c)`).
pub const UNAUTHENTICATED_MAX_BULK: usize = 16 * 1024;

/// A protocol error: Redis replies `-ERR Protocol error: ...` and closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    TooBigInline,
    UnbalancedQuotes,
    TooBigMultibulkCount,
    InvalidMultibulkLength,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLength,
    /// More than [`UNAUTHENTICATED_MAX_ARGS`] arguments before authentication.
    UnauthenticatedMultibulkLength,
    /// A bulk longer than [`UNAUTHENTICATED_MAX_BULK`] before authentication.
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// The error reply text, as Redis 7.0 words it (without the leading `-`).
    pub fn message(&self) -> String {
        let what = match self {
            ProtocolError::TooBigInline => "too big inline request".to_string(),
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request".to_string(),
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string".to_string(),
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length".to_string(),
            ProtocolError::TooBigBulkCount => "too big bulk count string".to_string(),
            ProtocolError::ExpectedDollar(c) => {
                // Redis formats the byte with %c and then turns CR and LF into spaces.
                let c = if *c == b'\r' || *c == b'\n' { b' ' } else { *c };
                format!("expected '$', got '{}'", String::from_utf8_lossy(&[c]))
            }
            ProtocolError::InvalidBulkLength => "invalid bulk length".to_string(),
            ProtocolError::UnauthenticatedMultibulkLength => {
                "unauthenticated multibulk length".to_string()
            }
            ProtocolError::UnauthenticatedBulkLength => "unauthenticated bulk length".to_string(),
        };
        format!("ERR Protocol error: {what}")
    }
}

/// The arguments of one request, stored back to back in a single buffer.
#[derive(Debug, Default, Clone)]
pub struct Args {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Args {
    /// Builds arguments from slices (for tests and internal callers).
    pub fn from_slices<T: AsRef<[u8]>>(parts: &[T]) -> Args {
        let mut args = Args::default();
        for p in parts {
            args.push(p.as_ref());
        }
        args
    }

    /// The number of arguments, the command name included.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The argument at `i`.
    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    /// Every argument in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Appends a whole argument.
    pub fn push(&mut self, arg: &[u8]) {
        self.data.extend_from_slice(arg);
        self.ends.push(self.data.len());
    }

    /// Appends bytes to the argument being built, which [`Args::end_arg`] closes (for
    /// readers that get an argument in pieces).
    pub fn extend_arg(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
    }

    /// Closes the argument [`Args::extend_arg`] built.
    pub fn end_arg(&mut self) {
        self.ends.push(self.data.len());
    }

    /// Forgets every argument, keeping the buffers unless one request made them huge.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
        if self.data.capacity() > 1024 * 1024 {
            self.data.shrink_to(BULK_PREALLOC_MAX);
        }
        if self.ends.capacity() > 4096 {
            self.ends.shrink_to(64);
        }
    }

    /// Bytes of argument data received so far (what `client-query-buffer-limit` caps).
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// Bytes held by the argument buffers (reported as `argv-mem`).
    pub fn memory(&self) -> usize {
        self.data.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }
}

impl std::ops::Index<usize> for Args {
    type Output = [u8];
    fn index(&self, i: usize) -> &[u8] {
        self.get(i)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between requests.
    Start,
    /// Reading an inline request line.
    Inline,
    /// Reading the `*<count>` line.
    MultibulkHeader,
    /// Expecting a `$<len>` line; `left` arguments remain.
    BulkHeader { left: u64 },
    /// Copying a payload: `data` bytes of it, then `crlf` bytes of terminator, remain.
    BulkData { left: u64, data: usize, crlf: usize },
}

/// An incremental request parser; one per connection.
#[derive(Debug)]
pub struct Parser {
    state: State,
    /// A header or inline line that straddles two reads.
    line: Vec<u8>,
    /// Whether `line` holds a NUL byte before its end. Redis looks for the end of a line
    /// with `strchr`, which stops at a NUL: such a line never ends, and the request waits
    /// until it grows too big.
    line_nul: bool,
    /// `proto-max-bulk-len`.
    pub max_bulk_len: u64,
    /// Whether the client still has to authenticate: its requests are then held to
    /// [`UNAUTHENTICATED_MAX_ARGS`] arguments of at most [`UNAUTHENTICATED_MAX_BULK`]
    /// bytes. The connection sets it before each request, as Redis checks
    /// `authRequired(c)` while parsing, so an AUTH lifts the limits for the very next
    /// request of the same pipeline.
    pub unauthenticated: bool,
}

/// What [`Parser::parse`] found in the bytes it was given.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole request is in the `Args`; this many input bytes were used.
    Request(usize),
    /// Every input byte was used and the request is still incomplete.
    NeedMore,
}

impl Parser {
    /// A parser that accepts bulks up to `max_bulk_len` bytes.
    pub fn new(max_bulk_len: u64) -> Parser {
        Parser {
            state: State::Start,
            line: Vec::new(),
            line_nul: false,
            max_bulk_len,
            unauthenticated: false,
        }
    }

    /// Whether a request has been started but not finished.
    pub fn in_request(&self) -> bool {
        self.state != State::Start
    }

    /// Parses from `input`, continuing any request begun by an earlier call.
    ///
    /// On [`Parsed::Request`] the request is in `args` and parsing should resume at the
    /// returned offset once it has been executed.
    pub fn parse(&mut self, input: &[u8], args: &mut Args) -> Result<Parsed, ProtocolError> {
        let mut pos = 0;
        loop {
            match self.state {
                State::Start => {
                    if pos == input.len() {
                        return Ok(Parsed::NeedMore);
                    }
                    args.clear();
                    self.line.clear();
                    self.line_nul = false;
                    if input[pos] == b'*' {
                        if let Some(used) = self.whole_request(&input[pos..], args) {
                            return Ok(Parsed::Request(pos + used));
                        }
                    }
                    self.state = if input[pos] == b'*' {
                        State::MultibulkHeader
                    } else {
                        State::Inline
                    };
                }
                State::Inline => {
                    let rest = &input[pos..];
                    // The line ends at the first '\n', unless a NUL comes first (`strchr`).
                    let end = match rest.iter().position(|&b| b == b'\n' || b == 0) {
                        Some(i) if rest[i] == b'\n' && !self.line_nul => Some(i),
                        Some(_) => {
                            self.line_nul = true;
                            None
                        }
                        None => None,
                    };
                    let Some(i) = end else {
                        if self.line.len() + rest.len() > INLINE_MAX {
                            return Err(ProtocolError::TooBigInline);
                        }
                        self.line.extend_from_slice(rest);
                        return Ok(Parsed::NeedMore);
                    };
                    pos += i + 1;
                    let result = if self.line.is_empty() {
                        split_args(strip_cr(&rest[..i]), args)
                    } else {
                        self.line.extend_from_slice(&rest[..i]);
                        split_args(strip_cr(&self.line), args)
                    };
                    self.state = State::Start;
                    result?;
                    if !args.is_empty() {
                        return Ok(Parsed::Request(pos));
                    }
                }
                State::MultibulkHeader => {
                    let Some(n) =
                        self.header(input, &mut pos, ProtocolError::TooBigMultibulkCount)?
                    else {
                        return Ok(Parsed::NeedMore);
                    };
                    // The line starts with '*': that is how we got here.
                    match n.1 {
                        Some(n) if n <= i64::from(i32::MAX) => {
                            if n > UNAUTHENTICATED_MAX_ARGS && self.unauthenticated {
                                return Err(ProtocolError::UnauthenticatedMultibulkLength);
                            }
                            if n <= 0 {
                                self.state = State::Start;
                            } else {
                                self.state = State::BulkHeader { left: n as u64 };
                            }
                        }
                        _ => return Err(ProtocolError::InvalidMultibulkLength),
                    }
                }
                State::BulkHeader { left } => {
                    let Some((first, len)) =
                        self.header(input, &mut pos, ProtocolError::TooBigBulkCount)?
                    else {
                        return Ok(Parsed::NeedMore);
                    };
                    if first != b'$' {
                        return Err(ProtocolError::ExpectedDollar(first));
                    }
                    let len = match len {
                        Some(n) if n >= 0 && n as u64 <= self.max_bulk_len => n as usize,
                        _ => return Err(ProtocolError::InvalidBulkLength),
                    };
                    if len > UNAUTHENTICATED_MAX_BULK && self.unauthenticated {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    args.data.reserve(len.min(BULK_PREALLOC_MAX));
                    self.state = State::BulkData {
                        left,
                        data: len,
                        crlf: 2,
                    };
                }
                State::BulkData {
                    left,
                    mut data,
                    mut crlf,
                } => {
                    let take = data.min(input.len() - pos);
                    args.data.extend_from_slice(&input[pos..pos + take]);
                    pos += take;
                    data -= take;
                    if data == 0 {
                        // Redis skips the two terminator bytes without looking at them.
                        let skip = crlf.min(input.len() - pos);
                        pos += skip;
                        crlf -= skip;
                    }
                    if data > 0 || crlf > 0 {
                        self.state = State::BulkData { left, data, crlf };
                        return Ok(Parsed::NeedMore);
                    }
                    args.ends.push(args.data.len());
                    if left == 1 {
                        self.state = State::Start;
                        return Ok(Parsed::Request(pos));
                    }
                    self.state = State::BulkHeader { left: left - 1 };
                }
            }
        }
    }

    /// The fast path for a multibulk request that is all in `input` with plain headers
    /// (what clients send): parses it in one pass, without the state machine, and
    /// returns the bytes it took. `None` (with `args` left empty) for anything else (a
    /// partial request, an empty or malformed one, a limit reached), which the state
    /// machine then reads from the same start, so both paths agree on every input.
    fn whole_request(&self, input: &[u8], args: &mut Args) -> Option<usize> {
        let (mut pos, (_, n)) = short_number_line(input)?;
        let n = n?;
        if n <= 0 || n > i64::from(i32::MAX) || n > UNAUTHENTICATED_MAX_ARGS && self.unauthenticated
        {
            return None;
        }
        for _ in 0..n {
            let parsed = short_number_line(&input[pos..]).and_then(|(used, (first, len))| {
                let len = usize::try_from(len?).ok()?;
                let start = pos + used;
                let fits = first == b'$'
                    && len as u64 <= self.max_bulk_len
                    && (len <= UNAUTHENTICATED_MAX_BULK || !self.unauthenticated)
                    && input.len() >= start.checked_add(len)?.checked_add(2)?;
                fits.then_some((start, len))
            });
            let Some((start, len)) = parsed else {
                args.clear();
                return None;
            };
            args.push(&input[start..start + len]);
            // Redis skips the two terminator bytes without looking at them.
            pos = start + len + 2;
        }
        Some(pos)
    }

    /// Reads a `*n` or `$n` line, which Redis ends at `\r` plus one more byte (it never
    /// checks that the byte is `\n`), unless a NUL comes before the `\r` (`strchr`).
    /// Returns the line's first byte and its number.
    fn header(
        &mut self,
        input: &[u8],
        pos: &mut usize,
        too_big: ProtocolError,
    ) -> Result<Option<(u8, Option<i64>)>, ProtocolError> {
        let rest = &input[*pos..];
        if self.line.is_empty() {
            // Fastest path: the whole line is in this read and its number is at most 18
            // digits without a sign or a leading zero (what clients send): read in the
            // same pass that finds the line's end.
            if let Some(line) = short_number_line(rest) {
                *pos += line.0;
                return Ok(Some(line.1));
            }
            // Fast path: the whole line is in this read.
            if let Some(i) = rest.iter().position(|&b| b == b'\r' || b == 0) {
                if rest[i] == b'\r' && i + 1 < rest.len() {
                    *pos += i + 2;
                    return Ok(Some(line_value(&rest[..i])));
                }
            }
        }
        // Slow path: the line straddles reads; gather it byte by byte.
        for &b in rest {
            *pos += 1;
            self.line.push(b);
            let n = self.line.len();
            if n >= 2 && self.line[n - 2] == b'\r' && !self.line_nul {
                let value = line_value(&self.line[..n - 2]);
                self.line.clear();
                return Ok(Some(value));
            }
            // Not the end, so any '\r' is the last byte: this NUL comes before it.
            if b == 0 {
                self.line_nul = true;
            }
        }
        if self.line.len() > INLINE_MAX && (self.line_nul || !self.line.contains(&b'\r')) {
            return Err(too_big);
        }
        Ok(None)
    }
}

/// The most arguments of one request [`peek_requests`] shows (the rest are skipped).
pub const PEEK_ARGS: usize = 24;

/// Walks the complete multibulk requests at the start of `input` without copying or
/// keeping any state, handing each one's first [`PEEK_ARGS`] arguments to `each` until it
/// returns false. It stops at the first thing that is not a whole well-formed multibulk
/// request (an inline request, a partial one, a malformed header): that and what follows
/// are the [`Parser`]'s alone to judge. A look ahead for hints (which keys a pipelined
/// batch will touch), never a substitute for parsing.
pub fn peek_requests<'a>(input: &'a [u8], mut each: impl FnMut(&[&'a [u8]]) -> bool) {
    let mut at = 0;
    let mut args: [&[u8]; PEEK_ARGS] = [&[]; PEEK_ARGS];
    while at < input.len() {
        let Some(n) = peek_number(input, &mut at, b'*') else {
            return;
        };
        for i in 0..n {
            let Some(len) = peek_number(input, &mut at, b'$') else {
                return;
            };
            let end = match at.checked_add(len) {
                Some(end) if input.get(end..end + 2) == Some(&b"\r\n"[..]) => end,
                _ => return,
            };
            if let Some(arg) = args.get_mut(i) {
                *arg = &input[at..end];
            }
            at = end + 2;
        }
        if !each(&args[..n.min(PEEK_ARGS)]) {
            return;
        }
    }
}

/// The decimal number of a `*N` or `$N` header line at `*at` (moved past the line).
fn peek_number(input: &[u8], at: &mut usize, tag: u8) -> Option<usize> {
    let rest = input.get(*at..)?;
    if rest.first() != Some(&tag) {
        return None;
    }
    let mut n = 0usize;
    let mut i = 1;
    while let Some(&d) = rest.get(i) {
        if !d.is_ascii_digit() || i > 18 {
            break;
        }
        n = n * 10 + usize::from(d - b'0');
        i += 1;
    }
    if i == 1 || rest.get(i..i + 2) != Some(&b"\r\n"[..]) {
        return None;
    }
    *at += i + 2;
    Some(n)
}

/// A header line at the start of `rest` whose number is 1 to 18 plain digits (no sign,
/// no leading zero), ended by `\r` and one more byte: its length with the terminator,
/// and what [`line_value`] makes of it. `None` for any other line, which
/// [`Parser::header`]'s general path then reads.
fn short_number_line(rest: &[u8]) -> Option<(usize, (u8, Option<i64>))> {
    let (&first, digits) = rest.split_first()?;
    if first == b'\r' || first == 0 {
        return None;
    }
    let mut n: i64 = 0;
    let mut i = 0;
    while let Some(&d) = digits.get(i) {
        if !d.is_ascii_digit() || i == 18 {
            break;
        }
        n = n * 10 + i64::from(d - b'0');
        i += 1;
    }
    let leading_zero = i > 1 && digits[0] == b'0';
    if i == 0 || leading_zero || digits.get(i) != Some(&b'\r') || digits.len() < i + 2 {
        return None;
    }
    Some((i + 3, (first, Some(n))))
}

fn line_value(line: &[u8]) -> (u8, Option<i64>) {
    match line.split_first() {
        Some((&first, number)) => (first, parse_i64(number)),
        None => (b'\r', None),
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Splits an inline request into arguments with Redis's `sdssplitargs` rules: `"..."`
/// with `\n`, `\r`, `\t`, `\b`, `\a` and `\xHH` escapes, `'...'` with `\'`, and a closing
/// quote that must be followed by a space or the end.
pub fn split_args(line: &[u8], args: &mut Args) -> Result<(), ProtocolError> {
    // sdssplitargs works on a C string: a NUL byte ends the line.
    let line = match line.iter().position(|&b| b == 0) {
        Some(i) => &line[..i],
        None => line,
    };
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p == line.len() {
            return Ok(());
        }
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            let c = line.get(p).copied();
            if in_dq {
                match c {
                    None => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b'\\')
                        if line.get(p + 1) == Some(&b'x')
                            && line.get(p + 2).is_some_and(u8::is_ascii_hexdigit)
                            && line.get(p + 3).is_some_and(u8::is_ascii_hexdigit) =>
                    {
                        args.data.push(hex(line[p + 2]) * 16 + hex(line[p + 3]));
                        p += 3;
                    }
                    Some(b'\\') if p + 1 < line.len() => {
                        p += 1;
                        args.data.push(match line[p] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if line.get(p + 1).is_some_and(|&b| !is_space(b)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        p += 1;
                        break;
                    }
                    Some(b) => args.data.push(b),
                }
            } else if in_sq {
                match c {
                    None => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b'\\') if line.get(p + 1) == Some(&b'\'') => {
                        p += 1;
                        args.data.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(p + 1).is_some_and(|&b| !is_space(b)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        p += 1;
                        break;
                    }
                    Some(b) => args.data.push(b),
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(b) => args.data.push(b),
                }
            }
            p += 1;
        }
        args.ends.push(args.data.len());
    }
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses every request in `input`, fed in chunks of `chunk` bytes.
    fn parse_all(input: &[u8], chunk: usize) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        parse_all_as(input, chunk, false)
    }

    /// [`parse_all`] for a client that has (`unauthenticated` false) or has not
    /// authenticated.
    fn parse_all_as(
        input: &[u8],
        chunk: usize,
        unauthenticated: bool,
    ) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut parser = Parser::new(512 * 1024 * 1024);
        parser.unauthenticated = unauthenticated;
        let mut args = Args::default();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            let mut at = 0;
            while at < piece.len() {
                match parser.parse(&piece[at..], &mut args)? {
                    Parsed::Request(used) => {
                        at += used;
                        out.push(args.iter().map(<[u8]>::to_vec).collect());
                    }
                    Parsed::NeedMore => break,
                }
            }
        }
        Ok(out)
    }

    fn words(ws: &[&str]) -> Vec<Vec<u8>> {
        ws.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_whole_and_split_byte_by_byte() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n";
        let want = vec![words(&["SET", "k", "hello"]), words(&["PING"])];
        for chunk in [1, 2, 3, 7, input.len()] {
            assert_eq!(parse_all(input, chunk).unwrap(), want, "chunk {chunk}");
        }
    }

    /// The whole-request fast path and the state machine (which a request fed one byte
    /// at a time always takes) agree on requests, errors and limits, over mutations of
    /// well-formed pipelines.
    #[test]
    fn fast_path_agrees_with_the_state_machine() {
        let base: &[u8] =
            b"*3\r\n$5\r\nLPUSH\r\n$6\r\nmylist\r\n$3\r\nxxx\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        let bytes = b"*$0123456789-+\r\n\0x";
        let mut rng = crate::util::rand::Rng::new(22);
        let mut next = move |n: usize| rng.below(n as u64) as usize;
        let mut compared = 0;
        for _ in 0..20_000 {
            let mut input = base.repeat(1 + next(3));
            for _ in 0..1 + next(3) {
                let at = next(input.len());
                match next(3) {
                    0 => input[at] = bytes[next(bytes.len())],
                    1 => input.insert(at, bytes[next(bytes.len())]),
                    _ => {
                        input.remove(at);
                    }
                }
            }
            let unauthenticated = next(4) == 0;
            let whole = parse_all_as(&input, input.len(), unauthenticated);
            let bytewise = parse_all_as(&input, 1, unauthenticated);
            assert_eq!(
                whole,
                bytewise,
                "input {:?}",
                String::from_utf8_lossy(&input)
            );
            compared += usize::from(whole.is_ok());
        }
        assert!(compared > 1000);
    }

    #[test]
    fn limits_hold_on_the_fast_path() {
        let big = format!("*1\r\n${}\r\n{}\r\n", 20_000, "a".repeat(20_000));
        assert_eq!(
            parse_all_as(big.as_bytes(), big.len(), true),
            Err(ProtocolError::UnauthenticatedBulkLength)
        );
        assert_eq!(
            parse_all_as(big.as_bytes(), big.len(), false)
                .unwrap()
                .len(),
            1
        );
        let many = format!("*11\r\n{}", "$1\r\na\r\n".repeat(11));
        assert_eq!(
            parse_all_as(many.as_bytes(), many.len(), true),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        let mut parser = Parser::new(3);
        let mut args = Args::default();
        assert_eq!(
            parser.parse(b"*1\r\n$4\r\nPING\r\n", &mut args),
            Err(ProtocolError::InvalidBulkLength)
        );
    }

    #[test]
    fn empty_and_binary_bulks() {
        let input = b"*2\r\n$0\r\n\r\n$3\r\na\r\n\r\n";
        for chunk in [1, input.len()] {
            assert_eq!(
                parse_all(input, chunk).unwrap(),
                vec![vec![b"".to_vec(), b"a\r\n".to_vec()]]
            );
        }
    }

    #[test]
    fn inline_requests() {
        let input = b"PING\r\nSET a \"b c\"\nGET 'x y'\r\n";
        let want = vec![
            words(&["PING"]),
            words(&["SET", "a", "b c"]),
            words(&["GET", "x y"]),
        ];
        for chunk in [1, 5, input.len()] {
            assert_eq!(parse_all(input, chunk).unwrap(), want);
        }
    }

    #[test]
    fn empty_lines_and_empty_multibulks_are_ignored() {
        let input = b"\r\n\n   \r\n*0\r\n*-1\r\nPING\r\n";
        for chunk in [1, input.len()] {
            assert_eq!(parse_all(input, chunk).unwrap(), vec![words(&["PING"])]);
        }
    }

    #[test]
    fn inline_quoting_rules() {
        let mut args = Args::default();
        split_args(br#"set "\x41\x4a\n\"" 'it\'s' a"b c""#, &mut args).unwrap();
        let got: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
        assert_eq!(
            got,
            vec![
                b"set".to_vec(),
                b"AJ\n\"".to_vec(),
                b"it's".to_vec(),
                b"ab c".to_vec()
            ]
        );
        for bad in [&br#"get "abc"#[..], b"get 'abc", b"get \"a\"b", b"get 'a'b"] {
            let mut args = Args::default();
            assert_eq!(
                split_args(bad, &mut args),
                Err(ProtocolError::UnbalancedQuotes)
            );
        }
    }

    #[test]
    fn protocol_errors() {
        let cases: &[(&[u8], ProtocolError)] = &[
            (b"*abc\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*3000000000\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*1\r\n$-1\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$x\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$600000000\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\nx3\r\n", ProtocolError::ExpectedDollar(b'x')),
            (b"GET \"a\r\n", ProtocolError::UnbalancedQuotes),
        ];
        for (input, err) in cases {
            for chunk in [1, input.len()] {
                assert_eq!(parse_all(input, chunk), Err(err.clone()), "{input:?}");
            }
        }
        assert_eq!(
            ProtocolError::ExpectedDollar(b'x').message(),
            "ERR Protocol error: expected '$', got 'x'"
        );
    }

    #[test]
    fn a_nul_before_the_line_end_stalls_the_request() {
        // Redis finds line ends with strchr: these requests wait for more, forever.
        for input in [
            &b"ECHO a\x00b\r\nPING\r\n"[..],
            b"*1\x00\r\n$4\r\nPING\r\n",
            b"*1\r\n$4\x00\r\nPING\r\n",
        ] {
            for chunk in [1, 3, input.len()] {
                assert_eq!(
                    parse_all(input, chunk).unwrap(),
                    Vec::<Vec<Vec<u8>>>::new(),
                    "{input:?}"
                );
            }
        }
        // ...until they are too big.
        let mut inline = b"PING\x00".to_vec();
        inline.extend(vec![b'\n'; INLINE_MAX]);
        assert_eq!(parse_all(&inline, 4096), Err(ProtocolError::TooBigInline));
        let mut header = b"*1\x00\r\n".to_vec();
        header.extend(vec![b'\r'; INLINE_MAX]);
        assert_eq!(
            parse_all(&header, 4096),
            Err(ProtocolError::TooBigMultibulkCount)
        );
        // A NUL right after the '\r' is the header's (unchecked) last byte, and NULs in
        // payloads are data.
        let input = b"*1\r\x00$4\r\nP\x00NG\r\n";
        for chunk in [1, input.len()] {
            assert_eq!(
                parse_all(input, chunk).unwrap(),
                vec![vec![b"P\x00NG".to_vec()]]
            );
        }
    }

    #[test]
    fn size_limits() {
        let long = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(parse_all(&long, 4096), Err(ProtocolError::TooBigInline));
        let mut header = b"*1\r\n$".to_vec();
        header.extend(vec![b'1'; INLINE_MAX + 1]);
        assert_eq!(
            parse_all(&header, 4096),
            Err(ProtocolError::TooBigBulkCount)
        );
        let mut count = b"*".to_vec();
        count.extend(vec![b'1'; INLINE_MAX + 1]);
        assert_eq!(
            parse_all(&count, 4096),
            Err(ProtocolError::TooBigMultibulkCount)
        );
    }

    #[test]
    fn huge_announced_bulk_reserves_little() {
        let mut parser = Parser::new(512 * 1024 * 1024);
        let mut args = Args::default();
        let got = parser
            .parse(b"*2\r\n$3\r\nSET\r\n$500000000\r\nabc", &mut args)
            .unwrap();
        assert_eq!(got, Parsed::NeedMore);
        assert!(args.memory() < 1024 * 1024, "reserved {}", args.memory());
    }

    /// `*n` followed by n bulks of `len` bytes each.
    fn request(n: usize, len: usize) -> Vec<u8> {
        let mut out = format!("*{n}\r\n").into_bytes();
        for _ in 0..n {
            out.extend_from_slice(format!("${len}\r\n").as_bytes());
            out.extend(vec![b'x'; len]);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn unauthenticated_limits() {
        let big = UNAUTHENTICATED_MAX_BULK;
        // At the limits: accepted either way.
        for unauth in [false, true] {
            for input in [request(10, 1), request(1, big), request(10, big)] {
                for chunk in [1000, input.len()] {
                    let got = parse_all_as(&input, chunk, unauth).unwrap();
                    assert_eq!(got.len(), 1);
                }
            }
        }
        // One past them: refused before authentication only.
        // (input, error, whole requests in it once authenticated)
        let cases: &[(Vec<u8>, ProtocolError, usize)] = &[
            (
                request(11, 1),
                ProtocolError::UnauthenticatedMultibulkLength,
                1,
            ),
            (
                b"*1000000\r\n".to_vec(),
                ProtocolError::UnauthenticatedMultibulkLength,
                0,
            ),
            (
                request(1, big + 1),
                ProtocolError::UnauthenticatedBulkLength,
                1,
            ),
            (
                b"*2\r\n$3\r\nSET\r\n$100000000\r\n".to_vec(),
                ProtocolError::UnauthenticatedBulkLength,
                0,
            ),
        ];
        for (input, err, whole) in cases {
            for chunk in [1, 7, input.len()] {
                assert_eq!(parse_all_as(input, chunk, true), Err(err.clone()));
            }
            let authenticated = parse_all_as(input, input.len(), false).unwrap();
            assert_eq!(authenticated.len(), *whole);
        }
        // Redis checks the general limits first, and counts of zero or less are fine.
        let general: &[(&[u8], ProtocolError)] = &[
            (b"*3000000000\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*abc\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*1\r\n$600000000\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$-1\r\n", ProtocolError::InvalidBulkLength),
        ];
        for (input, err) in general {
            assert_eq!(parse_all_as(input, input.len(), true), Err(err.clone()));
        }
        assert_eq!(
            parse_all_as(b"*-5\r\n*0\r\nPING\r\n", 3, true).unwrap(),
            vec![words(&["PING"])]
        );
        // Inline requests have only the inline limit, as in Redis.
        let inline = b"a b c d e f g h i j k l m n\r\n";
        assert_eq!(parse_all_as(inline, 5, true).unwrap()[0].len(), 14);
        assert_eq!(
            ProtocolError::UnauthenticatedMultibulkLength.message(),
            "ERR Protocol error: unauthenticated multibulk length"
        );
        assert_eq!(
            ProtocolError::UnauthenticatedBulkLength.message(),
            "ERR Protocol error: unauthenticated bulk length"
        );
    }

    #[test]
    fn the_flag_is_read_per_request() {
        // An AUTH lifts the limits for the next request of the same pipeline: the
        // connection clears the flag between the two parse calls.
        let mut input = b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n".to_vec();
        let second = request(12, 20_000);
        input.extend_from_slice(&second);
        let mut parser = Parser::new(512 * 1024 * 1024);
        parser.unauthenticated = true;
        let mut args = Args::default();
        let Parsed::Request(used) = parser.parse(&input, &mut args).unwrap() else {
            panic!("the AUTH request is whole");
        };
        assert_eq!(args.get(0), b"AUTH");
        parser.unauthenticated = false;
        assert_eq!(
            parser.parse(&input[used..], &mut args).unwrap(),
            Parsed::Request(second.len())
        );
        assert_eq!(args.len(), 12);
        // Left set, the same second request is refused.
        parser.unauthenticated = true;
        assert_eq!(
            parser.parse(&second, &mut args),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
    }

    /// What [`peek_requests`] shows of `input`: each request's arguments.
    fn peeked(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut seen = Vec::new();
        peek_requests(input, |args| {
            seen.push(args.iter().map(|a| a.to_vec()).collect());
            true
        });
        seen
    }

    #[test]
    fn peek_shows_the_whole_requests_the_parser_would_parse() {
        let input = b"*2\r\n$4\r\nINCR\r\n$3\r\nk:1\r\n*3\r\n$3\r\nSET\r\n$0\r\n\r\n$2\r\nv\n\r\n*1\r\n$4\r\nPING\r\n";
        assert_eq!(peeked(input), parse_all(input, input.len()).unwrap());
        // A request cut anywhere is left out, with everything after it.
        for cut in 0..input.len() {
            let whole = parse_all(&input[..cut], cut.max(1)).unwrap();
            assert_eq!(peeked(&input[..cut]), whole, "cut at {cut}");
        }
    }

    #[test]
    fn peek_stops_where_the_parser_must_judge() {
        let two = b"*1\r\n$4\r\nPING\r\n";
        for rest in [
            &b"PING\r\n"[..],
            b"*-1\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n$x\r\n",
            b"*1\r\n:4\r\nPING\r\n",
            b"*1\r\n$4\r\nPINGxx",
            b"*1\r\n$99999999999999999999\r\n",
            b"*\r\n",
        ] {
            let input = [&two[..], rest, &two[..]].concat();
            assert_eq!(peeked(&input), vec![words(&["PING"])], "{rest:?}");
        }
        // The callback ends the walk, and long requests show their first arguments.
        let many: Vec<String> = (0..PEEK_ARGS + 5).map(|i| i.to_string()).collect();
        let mut input = format!("*{}\r\n", many.len());
        for a in &many {
            input += &format!("${}\r\n{a}\r\n", a.len());
        }
        let input = input.repeat(2);
        let mut calls = 0;
        peek_requests(input.as_bytes(), |args| {
            calls += 1;
            let expected: Vec<&[u8]> = many[..PEEK_ARGS].iter().map(|a| a.as_bytes()).collect();
            assert_eq!(args, &expected[..]);
            false
        });
        assert_eq!(calls, 1);
    }

    #[test]
    fn the_short_number_path_reads_lines_as_the_general_one() {
        // The general reading: the line up to the first '\r' (with one more byte after
        // it) or NUL, its first byte and its number.
        let general = |rest: &[u8]| {
            let i = rest.iter().position(|&b| b == b'\r' || b == 0)?;
            (rest[i] == b'\r' && i + 1 < rest.len()).then(|| (i + 2, line_value(&rest[..i])))
        };
        let lines: [&[u8]; 16] = [
            b"*0\r\n",
            b"*3\r\n$3\r\n",
            b"$12\r\nabc",
            b"*01\r\n",
            b"$999999999999999999\r\n",
            b"$9999999999999999999\r\n",
            b"$99999999999999999999\r\n",
            b"*-1\r\n",
            b"*\r\n",
            b"*5\rX",
            b"*5\r",
            b"*5",
            b"\r5\r\n",
            b"x7\r\n",
            b"$1\x002\r\n",
            b"$+1\r\n",
        ];
        for line in lines {
            if let Some(fast) = short_number_line(line) {
                assert_eq!(
                    Some(fast),
                    general(line),
                    "{:?}",
                    String::from_utf8_lossy(line)
                );
            }
        }
        assert_eq!(short_number_line(b"$42\r\n"), Some((5, (b'$', Some(42)))));
        assert_eq!(short_number_line(b"*01\r\n"), None);
        assert_eq!(short_number_line(b"*5\r"), None);
    }
}
