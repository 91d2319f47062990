//! CRC-64 as Redis computes it, used for the dump file trailer.
//!
//! This is the "Jones" variant (`crc64.c` in Redis): polynomial `0xad93d23594c935a9`,
//! reflected input and output, initial value 0 and no final xor. Its check value, the CRC
//! of the ASCII bytes `123456789`, is `0xe9c6d914c4b8d9ca`.
//!
//! Because there is neither pre- nor post-conditioning, the running CRC *is* the register
//! value, so [`crc64`] can be fed a file piece by piece: `crc64(crc64(0, a), b)` equals
//! `crc64(0, a ++ b)`.
//!
//! The implementation is "slice-by-8": eight 256-entry tables let the inner loop fold
//! eight input bytes per step with independent table lookups, instead of one dependent
//! lookup per byte. That keeps checksumming a multi-gigabyte dump near memory speed. The
//! tables (16 KiB) are computed at compile time by a `const fn`, so there is no start-up
//! cost and no lazy initialisation on the hot path.

/// The CRC polynomial in reflected (LSB-first) form: the bit reversal of
/// `0xad93d23594c935a9`.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

/// `TABLES[0]` is the classic byte-at-a-time table; `TABLES[k][b]` is the CRC contribution
/// of byte `b` followed by `k` zero bytes, which is what slice-by-8 needs for the byte
/// `k` positions before the end of each 8-byte block.
static TABLES: [[u64; 256]; 8] = build_tables();

/// Builds the eight slice-by-8 tables at compile time.
const fn build_tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    // Table 0: process one byte, one bit at a time (reflected, so shift right).
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    // Table k: the entry of table k-1 pushed through one more (zero) byte.
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

/// Updates a running CRC-64 (Jones, as in Redis) with `data` and returns the new value.
///
/// Start with `crc = 0`; feeding data in several calls gives the same result as one call
/// over the concatenation.
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    let mut crc = crc;
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        // `chunks_exact(8)` guarantees the length, so the copy cannot fail.
        let mut word = [0u8; 8];
        word.copy_from_slice(block);
        // Reflected CRC: the register lines up with the input in little-endian order.
        let x = crc ^ u64::from_le_bytes(word);
        crc = TABLES[7][(x & 0xff) as usize]
            ^ TABLES[6][((x >> 8) & 0xff) as usize]
            ^ TABLES[5][((x >> 16) & 0xff) as usize]
            ^ TABLES[4][((x >> 24) & 0xff) as usize]
            ^ TABLES[3][((x >> 32) & 0xff) as usize]
            ^ TABLES[2][((x >> 40) & 0xff) as usize]
            ^ TABLES[1][((x >> 48) & 0xff) as usize]
            ^ TABLES[0][(x >> 56) as usize];
    }
    for &b in blocks.remainder() {
        crc = TABLES[0][((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::crc64;

    /// Straightforward bit-at-a-time reference, to check the tables against.
    fn reference(mut crc: u64, data: &[u8]) -> u64 {
        for &b in data {
            crc ^= u64::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ super::POLY_REFLECTED
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    /// Deterministic pseudo-random bytes.
    fn noise(len: usize) -> Vec<u8> {
        crate::util::rand::Rng::new(0x9e37_79b9_7f4a_7c15).bytes(len)
    }

    #[test]
    fn check_value() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn byte_table_matches_redis() {
        // Spot checks against `crc64_tab` in Redis's crc64.c.
        let t = &super::TABLES[0];
        assert_eq!(t[0], 0);
        assert_eq!(t[1], 0x7ad8_70c8_3035_8979);
        assert_eq!(t[128], 0x95ac_9329_ac4b_c9b5);
        assert_eq!(t[255], 0x29b7_d047_efec_8728);
    }

    #[test]
    fn empty_input_leaves_crc_unchanged() {
        assert_eq!(crc64(0, b""), 0);
        assert_eq!(crc64(0x1234_5678_9abc_def0, b""), 0x1234_5678_9abc_def0);
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data = noise(1000);
        let whole = crc64(0, &data);
        for split in [0, 1, 3, 7, 8, 9, 15, 16, 17, 500, 999, 1000] {
            let (a, b) = data.split_at(split);
            assert_eq!(crc64(crc64(0, a), b), whole, "split at {split}");
        }
        // Many tiny pieces of irregular size.
        let mut crc = 0;
        let mut rest = &data[..];
        let mut step = 1;
        while !rest.is_empty() {
            let n = step.min(rest.len());
            crc = crc64(crc, &rest[..n]);
            rest = &rest[n..];
            step = step % 11 + 1;
        }
        assert_eq!(crc, whole);
    }

    #[test]
    fn matches_bitwise_reference_for_every_length() {
        let data = noise(300);
        for len in 0..data.len() {
            assert_eq!(
                crc64(0, &data[..len]),
                reference(0, &data[..len]),
                "len {len}"
            );
            assert_eq!(
                crc64(7, &data[..len]),
                reference(7, &data[..len]),
                "len {len}"
            );
        }
    }
}
