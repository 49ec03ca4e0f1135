//! The trace the purgatory's SHA-NI path leaves, by which the register probe
//! tells which path ran (the rule that picks it is `purgatory_abi::HashPath`).
//!
//! The SHA-NI compression (`purgatory/src/sha256/shani.s`) ends by
//! turning its ABEF/CDGH state back into the words `a b c d` and `e f g h`,
//! each group in one XMM register, and keeps the byte-swap mask of the message
//! words in another. Nothing after it touches the XMM registers, so after the
//! last block (the padding block) two of them hold the digest's words. The
//! software path never touches them, and `kexec-load` zeroes them before the
//! reboot, so finding the digest there shows the SHA-NI path ran.

/// The `pshufb` mask the SHA-NI routine keeps in a register: it turns the
/// big-endian message words into the order `sha256rnds2` wants.
pub const BSWAP_MASK: [u8; 16] = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];

/// The two XMM values the SHA-NI routine ends with for `digest`: the state
/// words `a b c d` and `e f g h`, little-endian dwords in that order.
pub fn final_state(digest: &[u8; 32]) -> [[u8; 16]; 2] {
    let mut out = [[0u8; 16]; 2];
    for (word, chunk) in digest.chunks_exact(4).enumerate() {
        let lane = &mut out[word / 4][(word % 4) * 4..(word % 4) * 4 + 4];
        for (dst, src) in lane.iter_mut().zip(chunk.iter().rev()) {
            *dst = *src;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad.
    #[test]
    fn final_state_is_the_digest_words_little_endian() {
        let digest: [u8; 32] = [
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
            0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
            0xf2, 0x00, 0x15, 0xad,
        ];
        let [abcd, efgh] = final_state(&digest);
        assert_eq!(abcd[..4], 0xba78_16bfu32.to_le_bytes());
        assert_eq!(abcd[12..], 0x5dae_2223u32.to_le_bytes());
        assert_eq!(efgh[..4], 0xb003_61a3u32.to_le_bytes());
        assert_eq!(efgh[12..], 0xf200_15adu32.to_le_bytes());
    }
}
