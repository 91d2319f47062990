//! Zipmaps (Redis's `zipmap.c`), the small-hash blob of RDB versions before 4
//! (`RDB_TYPE_HASH_ZIPMAP`). Redis 7.0 still loads them; nothing writes them.
//!
//! ```text
//! u8 count (254: count them), (len field, len value, u8 free, value, free bytes)*, 0xFF
//! len = u8 below 254, or 254 then a little-endian u32
//! ```

/// One field and its value.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Validates `blob` as `zipmapValidateIntegrity` does with deep checking and returns
/// its (field, value) pairs.
pub fn parse(blob: &[u8]) -> Result<Vec<Pair<'_>>, &'static str> {
    const BAD: &str = "zipmap entry past the end";
    if blob.len() < 2 || blob[blob.len() - 1] != 0xff {
        return Err("zipmap without its end byte");
    }
    let end = blob.len() - 1;
    let mut p = 1;
    let mut pairs = Vec::new();
    let len_at = |p: &mut usize| -> Result<usize, &'static str> {
        match blob.get(*p) {
            Some(&n) if n < 254 && *p < end => {
                *p += 1;
                Ok(usize::from(n))
            }
            Some(254) if *p + 5 <= end => {
                let n = u32::from_le_bytes(blob[*p + 1..*p + 5].try_into().expect("4 bytes"));
                *p += 5;
                Ok(n as usize)
            }
            _ => Err(BAD),
        }
    };
    while p < end {
        let flen = len_at(&mut p)?;
        let field = blob.get(p..p.checked_add(flen).ok_or(BAD)?).ok_or(BAD)?;
        p += flen;
        if p >= end {
            return Err(BAD);
        }
        let vlen = len_at(&mut p)?;
        let free = usize::from(*blob.get(p).filter(|_| p < end).ok_or(BAD)?);
        p += 1;
        let stop = p.checked_add(vlen).ok_or(BAD)?;
        if stop + free > end {
            return Err(BAD);
        }
        pairs.push((field, &blob[p..stop]));
        p = stop + free;
    }
    if pairs.is_empty() {
        return Err("empty zipmap");
    }
    if blob[0] != 254 && usize::from(blob[0]) != pairs.len() {
        return Err("zipmap count mismatch");
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zipmap as Redis 2.x wrote it: {"a": "1", "bb": "22"} with one free byte after "1".
    fn sample() -> Vec<u8> {
        vec![
            2, 1, b'a', 1, 1, b'1', 0, 2, b'b', b'b', 2, 0, b'2', b'2', 0xff,
        ]
    }

    #[test]
    fn parses_pairs() {
        let blob = sample();
        let pairs = parse(&blob).unwrap();
        assert_eq!(
            pairs,
            vec![(&b"a"[..], &b"1"[..]), (&b"bb"[..], &b"22"[..])]
        );
    }

    #[test]
    fn invalid_blobs() {
        let good = sample();
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut count = good.clone();
        count[0] = 3;
        assert_eq!(parse(&count), Err("zipmap count mismatch"));
        assert_eq!(parse(&[0, 0xff]), Err("empty zipmap"));
        for i in 0..good.len() {
            for v in [0u8, 1, 200, 253, 254, 255] {
                let mut bad = good.clone();
                bad[i] = v;
                let _ = parse(&bad);
            }
        }
    }
}
