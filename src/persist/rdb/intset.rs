//! Intsets (Redis's `intset.c`): the blob RDB stores for a small set of integers.
//!
//! ```text
//! u32 encoding (2, 4 or 8: bytes per element), u32 count, count x little-endian int,
//! strictly increasing
//! ```

/// The blob for `values` (sorted here), in the narrowest encoding that holds them all,
/// as Redis's intset grows its encoding.
pub fn encode(values: &mut [i64]) -> Vec<u8> {
    values.sort_unstable();
    let width: usize = if values.iter().all(|&v| i64::from(v as i16) == v) {
        2
    } else if values.iter().all(|&v| i64::from(v as i32) == v) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &v in values.iter() {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// Validates `blob` as `intsetValidateIntegrity` does with deep checking (a known
/// width, the exact size, not empty, strictly increasing) and returns its values.
pub fn parse(blob: &[u8]) -> Result<Vec<i64>, &'static str> {
    if blob.len() < 8 {
        return Err("intset too short");
    }
    let width = u32::from_le_bytes(blob[0..4].try_into().expect("4 bytes")) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err("intset with a bad encoding");
    }
    let count = u32::from_le_bytes(blob[4..8].try_into().expect("4 bytes")) as usize;
    if count.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(blob.len()) {
        return Err("intset size mismatch");
    }
    if count == 0 {
        return Err("empty intset");
    }
    let mut out = Vec::with_capacity(count);
    for chunk in blob[8..].chunks_exact(width) {
        let v = match width {
            2 => i64::from(i16::from_le_bytes([chunk[0], chunk[1]])),
            4 => i64::from(i32::from_le_bytes(chunk.try_into().expect("4 bytes"))),
            _ => i64::from_le_bytes(chunk.try_into().expect("8 bytes")),
        };
        if out.last().is_some_and(|&prev| v <= prev) {
            return Err("intset not strictly increasing");
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_round_trip() {
        let mut small = vec![3, -1, 2];
        let blob = encode(&mut small);
        assert_eq!(&blob[..8], &[2, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(parse(&blob).unwrap(), vec![-1, 2, 3]);
        let mut mid = vec![1, 70000];
        assert_eq!(encode(&mut mid)[0], 4);
        let mut big = vec![i64::MIN, 0, i64::MAX];
        let blob = encode(&mut big);
        assert_eq!(blob[0], 8);
        assert_eq!(parse(&blob).unwrap(), vec![i64::MIN, 0, i64::MAX]);
    }

    #[test]
    fn invalid_blobs() {
        let good = encode(&mut [1, 2, 3]);
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_err());
        }
        let mut dup = good.clone();
        dup[10] = 1; // 1, 1, 3
        assert_eq!(parse(&dup), Err("intset not strictly increasing"));
        let mut width = good.clone();
        width[0] = 3;
        assert_eq!(parse(&width), Err("intset with a bad encoding"));
        assert_eq!(parse(&[2, 0, 0, 0, 0, 0, 0, 0]), Err("empty intset"));
        let mut count = good;
        count[4] = 0xff;
        assert_eq!(parse(&count), Err("intset size mismatch"));
    }
}
