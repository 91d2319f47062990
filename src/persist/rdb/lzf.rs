//! LZF, the compression RDB applies to strings over 20 bytes (`rdbcompression yes`).
//!
//! [`compress`] follows liblzf's `lzf_compress` as Redis builds it (`HLOG` 16,
//! `VERY_FAST`, not `ULTRA_FAST`): the same hash of three bytes, the same greedy match
//! and the same re-hashing of the two positions before a match's end, so it emits the
//! same bytes as Redis. (liblzf leaves its hash table uninitialised; a stale slot can,
//! rarely, let Redis find a match a clean table does not. Both outputs decode alike.)

/// Longest literal run.
const MAX_LIT: usize = 1 << 5;
/// Farthest back-reference.
const MAX_OFF: usize = 1 << 13;
/// Longest back-reference, minus 2.
const MAX_REF: usize = (1 << 8) + (1 << 3);
/// log2 of the hash table size.
const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;

fn idx(h: u32) -> usize {
    (((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5))) as usize) & (HSIZE - 1)
}

/// Compresses `input` into at most `max_out` bytes; `None` when it does not fit (Redis
/// then stores the string as it is). `max_out` is `len - 4` for RDB strings.
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    compress_into(input, max_out, &mut out).then_some(out)
}

/// [`compress`] appending to `out` (no buffer of its own: DUMP writes the payload in
/// one); false, `out` unchanged, when it does not fit.
pub fn compress_into(input: &[u8], max_out: usize, out: &mut Vec<u8>) -> bool {
    if input.is_empty() || max_out == 0 {
        return false;
    }
    HTAB.with(|t| {
        let mut htab = t.borrow_mut();
        if htab.is_empty() {
            htab.resize(HSIZE, 0);
        }
        let base = out.len();
        out.resize(base + max_out, 0);
        let fits = match compress_with(input, &mut out[base..], &mut htab) {
            Some(len) => {
                out.truncate(base + len);
                true
            }
            None => {
                out.truncate(base);
                false
            }
        };
        // Back to all-empty for the next call: only the slots of this input's
        // positions can have been set, so clearing those is enough (and much cheaper
        // than zeroing 256 KiB for a short string).
        let mut h: u32 = 0;
        for (i, &b) in input.iter().enumerate() {
            h = (h << 8) | u32::from(b);
            if i >= 2 {
                htab[idx(h)] = 0;
            }
        }
        fits
    })
}

thread_local! {
    /// The hash table of [`compress`], kept per thread: positions, 0 meaning empty
    /// (liblzf stores offsets and treats 0 as none).
    static HTAB: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Compresses `input` into `out` (zeroed, as long as the output may be); the length
/// written, or `None` when it does not fit.
fn compress_with(input: &[u8], out: &mut [u8], htab: &mut [u32]) -> Option<usize> {
    let in_len = input.len();
    let out_end = out.len();
    let mut op = 1usize; // Room for the first run's length byte.
    let mut lit = 0usize;
    let mut ip = 0usize;
    let at = |i: usize| u32::from(input[i]);
    let mut hval = if in_len >= 2 { (at(0) << 8) | at(1) } else { 0 };
    while in_len >= 3 && ip < in_len - 2 {
        hval = (hval << 8) | at(ip + 2);
        let slot = idx(hval);
        let stored = htab[slot] as usize;
        htab[slot] = ip as u32;
        let matched = stored != 0 && stored < ip && {
            let off = ip - stored - 1;
            off < MAX_OFF && input[stored..stored + 3] == input[ip..ip + 3]
        };
        if matched {
            let rf = stored;
            let off = ip - rf - 1;
            let mut len = 2usize;
            let maxlen = (in_len - ip - len).min(MAX_REF);
            if op + 3 + 1 >= out_end && op - usize::from(lit == 0) + 3 + 1 >= out_end {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);
            // liblzf checks 16 bytes at a time while more than 16 may match, without
            // looking at `maxlen` inside the block; that can make a match one or two
            // bytes longer than `maxlen`, and Redis's output has it.
            'grow: {
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if input[rf + len] != input[ip + len] {
                            break 'grow;
                        }
                    }
                }
                loop {
                    len += 1;
                    if !(len < maxlen && input[rf + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1;
            ip += len + 1;
            if ip >= in_len - 2 {
                break;
            }
            ip -= 2;
            hval = (at(ip) << 8) | at(ip + 1);
            hval = (hval << 8) | at(ip + 2);
            htab[idx(hval)] = ip as u32;
            ip += 1;
            hval = (hval << 8) | at(ip + 2);
            htab[idx(hval)] = ip as u32;
            ip += 1;
        } else {
            if op >= out_end {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > out_end {
        return None;
    }
    while ip < in_len {
        lit += 1;
        out[op] = input[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= usize::from(lit == 0);
    Some(op)
}

/// Decompresses `input`, which must expand to exactly `len` bytes; `None` if it is
/// malformed (a reference before the start, a run past the end, a wrong length).
pub fn decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    decompress_into(input, len, &mut out).then_some(out)
}

/// [`decompress`] appending to `out` (what it holds already is not referred to); false
/// if the input is malformed, `out` then holding part of the output. Loading decodes a
/// string straight into the buffer its entry keeps.
pub fn decompress_into(input: &[u8], len: usize, out: &mut Vec<u8>) -> bool {
    let base = out.len();
    let mut i = 0;
    while i < input.len() {
        let ctrl = usize::from(input[i]);
        i += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let Some(literal) = input.get(i..i + run) else {
                return false;
            };
            if out.len() - base + run > len {
                return false;
            }
            out.extend_from_slice(literal);
            i += run;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                let Some(&more) = input.get(i) else {
                    return false;
                };
                n += usize::from(more);
                i += 1;
            }
            let Some(&low) = input.get(i) else {
                return false;
            };
            let back = ((ctrl & 0x1f) << 8) + usize::from(low) + 1;
            i += 1;
            if out.len() - base < back || out.len() - base + n + 2 > len {
                return false;
            }
            // The reference repeats the `back` bytes before the end: copied in whole
            // periods from its start, doubling, rather than byte by byte.
            let start = out.len() - back;
            let mut left = n + 2;
            while left > 0 {
                let periods = (out.len() - start) / back * back;
                let m = left.min(periods);
                out.extend_from_within(start..start + m);
                left -= m;
            }
        }
    }
    out.len() - base == len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) {
        if let Some(c) = compress(data, data.len().saturating_sub(4)) {
            assert!(c.len() <= data.len() - 4);
            assert_eq!(decompress(&c, data.len()).as_deref(), Some(data));
        }
        // With room to spare, every input compresses (literals cost 1 byte per 32).
        let c = compress(data, data.len() + data.len() / 32 + 8).expect("fits");
        assert_eq!(decompress(&c, data.len()).as_deref(), Some(data));
    }

    #[test]
    fn round_trips() {
        round_trip(b"a");
        round_trip(b"ab");
        round_trip(b"abc");
        round_trip(&[b'a'; 1000]);
        round_trip(b"hello hello hello hello hello hello world world world");
        let mut rng = crate::util::rand::Rng::new(7);
        for n in [5usize, 31, 32, 33, 100, 5000, 70000] {
            round_trip(&rng.bytes(n));
            let text: Vec<u8> = (0..n).map(|_| b'a' + (rng.below(4) as u8)).collect();
            round_trip(&text);
        }
    }

    #[test]
    fn known_redis_output() {
        // What redis-server 7.0.15 stores for SET k "aaa...a" (30 bytes), from its
        // DUMP: a run "aa" (the offset-0 slot reads as empty), a reference of 26 bytes
        // at distance 1 (7<<5, then 26-2-7), a last run "aa".
        let c = compress(&[b'a'; 30], 26).unwrap();
        assert_eq!(
            c,
            vec![0x01, b'a', b'a', 0xe0, 0x11, 0x00, 0x01, b'a', b'a']
        );
    }

    #[test]
    fn incompressible_input_does_not_fit() {
        let mut rng = crate::util::rand::Rng::new(1);
        let data = rng.bytes(100);
        assert_eq!(compress(&data, 96), None);
    }

    /// Byte-at-a-time decoding, to check the period copies against.
    fn reference(input: &[u8]) -> Option<Vec<u8>> {
        let (mut out, mut i) = (Vec::new(), 0);
        while i < input.len() {
            let ctrl = usize::from(input[i]);
            i += 1;
            if ctrl < 32 {
                out.extend_from_slice(input.get(i..i + ctrl + 1)?);
                i += ctrl + 1;
            } else {
                let mut n = ctrl >> 5;
                if n == 7 {
                    n += usize::from(*input.get(i)?);
                    i += 1;
                }
                let back = ((ctrl & 0x1f) << 8) + usize::from(*input.get(i)?) + 1;
                i += 1;
                let start = out.len().checked_sub(back)?;
                for k in 0..n + 2 {
                    out.push(out[start + k]);
                }
            }
        }
        Some(out)
    }

    #[test]
    fn overlapping_references_decode_as_byte_copies_do() {
        let mut rng = crate::util::rand::Rng::new(11);
        for _ in 0..300 {
            // Runs of short periods make references that overlap their own output.
            let mut data = Vec::new();
            while data.len() < 400 {
                let period = 1 + rng.below(12) as usize;
                let unit = rng.bytes(period);
                for _ in 0..rng.below(40) {
                    data.extend_from_slice(&unit);
                }
                let noise = rng.below(5) as usize;
                data.extend(rng.bytes(noise));
            }
            let c = compress(&data, data.len() + data.len() / 32 + 8).expect("fits");
            assert_eq!(reference(&c).as_deref(), Some(&data[..]));
            // Appended after a prefix, which references cannot reach into.
            let mut out = b"prefix".to_vec();
            assert!(decompress_into(&c, data.len(), &mut out));
            assert_eq!((&out[..6], &out[6..]), (&b"prefix"[..], &data[..]));
        }
        let mut out = b"abc".to_vec();
        assert!(
            !decompress_into(&[0x20, 0x00], 2, &mut out),
            "reaches into the prefix"
        );
    }

    #[test]
    fn malformed_input_is_refused() {
        assert_eq!(decompress(&[0x20, 0x00], 3), None); // Reference before the start.
        assert_eq!(decompress(&[0x05, b'a'], 6), None); // Run past the input.
        assert_eq!(decompress(&[0x00, b'a'], 2), None); // Too short.
        assert_eq!(decompress(&[0x01, b'a', b'b'], 1), None); // Too long.
        assert_eq!(decompress(&[0x00, b'a', 0xe0], 40), None); // Cut in a reference.
    }
}
