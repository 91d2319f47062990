//! Ziplists (Redis's `ziplist.c`), the compact blob of RDB versions before 10: list
//! nodes, small hashes and small sorted sets. Redis 7.0 loads them and converts them to
//! listpacks; nothing writes them any more.
//!
//! ```text
//! u32 total bytes, u32 offset of the last entry, u16 count (65535: count them),
//! entry*, 0xFF
//! entry = prevlen (u8 below 254, or 254 then a little-endian u32), encoding, data
//! ```

use super::listpack::Item;

const HEADER: usize = 10;

/// Validates `blob` as `ziplistValidateIntegrity` does with deep checking (sizes, the
/// tail offset, every prevlen, every encoding, the count) and returns its elements.
pub fn parse(blob: &[u8]) -> Result<Vec<Item<'_>>, &'static str> {
    const TRUNC: &str = "ziplist entry past the end";
    if blob.len() < HEADER + 1 {
        return Err("ziplist too short");
    }
    let total = u32::from_le_bytes(blob[0..4].try_into().expect("4 bytes")) as usize;
    if total != blob.len() {
        return Err("ziplist size mismatch");
    }
    if blob[total - 1] != 0xff {
        return Err("ziplist without its end byte");
    }
    let tail = u32::from_le_bytes(blob[4..8].try_into().expect("4 bytes")) as usize;
    if tail > total - 1 {
        return Err("ziplist tail offset out of range");
    }
    let declared = usize::from(u16::from_le_bytes([blob[8], blob[9]]));
    let end = total - 1;
    let get = |at: usize, n: usize| -> Result<&[u8], &'static str> {
        match at.checked_add(n) {
            Some(stop) if stop <= end => Ok(&blob[at..stop]),
            _ => Err(TRUNC),
        }
    };
    let mut items = Vec::new();
    let mut p = HEADER;
    let mut prev_size = 0usize;
    let mut last_start = HEADER;
    while p < end {
        let start = p;
        let first = get(p, 1)?[0];
        let prevlen = if first < 254 {
            p += 1;
            usize::from(first)
        } else if first == 254 {
            let b = get(p + 1, 4)?;
            p += 5;
            u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize
        } else {
            return Err("ziplist entry with a bad prevlen");
        };
        if prevlen != prev_size {
            return Err("ziplist entry with a wrong prevlen");
        }
        let enc = get(p, 1)?[0];
        let item = match enc >> 6 {
            0 => {
                let n = usize::from(enc & 0x3f);
                let s = get(p + 1, n)?;
                p += 1 + n;
                Item::Str(s)
            }
            1 => {
                let b = get(p + 1, 1)?;
                let n = (usize::from(enc & 0x3f) << 8) | usize::from(b[0]);
                let s = get(p + 2, n)?;
                p += 2 + n;
                Item::Str(s)
            }
            2 => {
                if enc != 0x80 {
                    return Err("ziplist entry with a bad encoding");
                }
                let b = get(p + 1, 4)?;
                let n = u32::from_be_bytes(b.try_into().expect("4 bytes")) as usize;
                let s = get(p + 5, n)?;
                p += 5 + n;
                Item::Str(s)
            }
            _ => {
                let (width, v) = match enc {
                    0xc0 => (2, None),
                    0xd0 => (4, None),
                    0xe0 => (8, None),
                    0xf0 => (3, None),
                    0xfe => (1, None),
                    0xf1..=0xfd => (0, Some(i64::from(enc & 0x0f) - 1)),
                    _ => return Err("ziplist entry with a bad encoding"),
                };
                let d = get(p + 1, width)?;
                p += 1 + width;
                Item::Int(v.unwrap_or_else(|| match width {
                    1 => i64::from(d[0] as i8),
                    2 => i64::from(i16::from_le_bytes([d[0], d[1]])),
                    3 => i64::from(i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8),
                    4 => i64::from(i32::from_le_bytes(d.try_into().expect("4 bytes"))),
                    _ => i64::from_le_bytes(d.try_into().expect("8 bytes")),
                }))
            }
        };
        prev_size = p - start;
        last_start = start;
        items.push(item);
    }
    if tail != last_start {
        return Err("ziplist tail offset mismatch");
    }
    if declared != 65535 && declared != items.len() {
        return Err("ziplist count mismatch");
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ziplist as Redis 6 wrote it for RPUSH l a 5 300 (12 + 3 + 2 + 4 bytes).
    fn sample() -> Vec<u8> {
        let mut z = vec![0; 10];
        z.extend_from_slice(&[0, 0x01, b'a']); // prevlen 0, 1-byte string
        z.extend_from_slice(&[3, 0xf6]); // prevlen 3, immediate 5
        let tail = z.len();
        z.extend_from_slice(&[2, 0xc0, 0x2c, 0x01]); // prevlen 2, int16 300
        z.push(0xff);
        let total = z.len() as u32;
        z[0..4].copy_from_slice(&total.to_le_bytes());
        z[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
        z[8..10].copy_from_slice(&3u16.to_le_bytes());
        z
    }

    #[test]
    fn parses_every_kind() {
        let blob = sample();
        assert_eq!(
            parse(&blob).unwrap(),
            vec![Item::Str(b"a"), Item::Int(5), Item::Int(300)]
        );
    }

    #[test]
    fn invalid_blobs() {
        let good = sample();
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_err());
        }
        let mut prev = good.clone();
        prev[13] = 4;
        assert_eq!(parse(&prev), Err("ziplist entry with a wrong prevlen"));
        let mut tail = good.clone();
        tail[4] = 10;
        assert_eq!(parse(&tail), Err("ziplist tail offset mismatch"));
        let mut count = good.clone();
        count[8] = 2;
        assert_eq!(parse(&count), Err("ziplist count mismatch"));
        for i in 0..good.len() {
            for v in [0u8, 0x3f, 0x40, 0x80, 0xc0, 0xf0, 0xfe, 0xff] {
                let mut bad = good.clone();
                bad[i] = v;
                let _ = parse(&bad);
            }
        }
    }
}
