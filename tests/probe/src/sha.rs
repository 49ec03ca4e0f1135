//! Which hash path the purgatory takes, and the trace the SHA-NI path leaves.
//!
//! The rule restates `has_sha_extensions` in `purgatory/src/cpu.rs` (SHA,
//! SSSE3, SSE4.1, FXSR, SSE and SSE2 in CPUID, and `purgatory_flags` bit 0
//! clear), so the loader can announce the path and the probe can demand it.
//!
//! The trace: the SHA-NI compression (`purgatory/src/sha256/shani.s`) ends by
//! turning its ABEF/CDGH state back into the words `a b c d` and `e f g h`,
//! each group in one XMM register, and keeps the byte-swap mask of the message
//! words in another. Nothing after it touches the XMM registers, so after the
//! last block (the padding block) two of them hold the digest's words. The
//! software path never touches them, and `kexec-load` zeroes them before the
//! reboot, so finding the digest there shows the SHA-NI path ran.

/// CPUID.1:ECX.
const SSSE3: u32 = 1 << 9;
const SSE4_1: u32 = 1 << 19;
/// CPUID.1:EDX: FXSR, SSE, SSE2.
const FXSR_SSE_SSE2: u32 = (1 << 24) | (1 << 25) | (1 << 26);
/// CPUID.7.0:EBX.
const SHA: u32 = 1 << 29;

/// The CPUID words the rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cpuid {
    /// CPUID.0:EAX.
    pub max_leaf: u32,
    /// CPUID.1:ECX.
    pub leaf1_ecx: u32,
    /// CPUID.1:EDX.
    pub leaf1_edx: u32,
    /// CPUID.7.0:EBX (0 when leaf 7 does not exist).
    pub leaf7_ebx: u32,
}

impl Cpuid {
    /// This CPU's.
    #[cfg(target_arch = "x86_64")]
    pub fn read() -> Self {
        use core::arch::x86_64::{__cpuid, __cpuid_count};
        let max_leaf = __cpuid(0).eax;
        let leaf1 = __cpuid(1);
        let leaf7_ebx = if max_leaf >= 7 {
            __cpuid_count(7, 0).ebx
        } else {
            0
        };
        Self {
            max_leaf,
            leaf1_ecx: leaf1.ecx,
            leaf1_edx: leaf1.edx,
            leaf7_ebx,
        }
    }

    /// CPUID reports the SHA extensions (`sha_ni` in /proc/cpuinfo).
    pub fn sha(&self) -> bool {
        self.max_leaf >= 7 && self.leaf7_ebx & SHA != 0
    }

    /// SSSE3.
    pub fn ssse3(&self) -> bool {
        self.leaf1_ecx & SSSE3 != 0
    }

    /// SSE4.1.
    pub fn sse4_1(&self) -> bool {
        self.leaf1_ecx & SSE4_1 != 0
    }

    /// Everything the SHA-NI routine uses, exactly as the purgatory tests it.
    pub fn sha_extensions_usable(&self) -> bool {
        self.sha()
            && self.ssse3()
            && self.sse4_1()
            && self.leaf1_edx & FXSR_SSE_SSE2 == FXSR_SSE_SSE2
    }
}

/// How the purgatory hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashPath {
    /// With the SHA extensions, SSE switched on around the hash.
    ShaNi,
    /// The portable code.
    Software,
}

impl HashPath {
    /// The path the purgatory takes on this CPU with these `purgatory_flags`.
    pub fn expected(cpuid: &Cpuid, purgatory_flags: u64) -> Self {
        if purgatory_flags & purgatory_abi::FLAG_SOFTWARE_SHA256 == 0
            && cpuid.sha_extensions_usable()
        {
            Self::ShaNi
        } else {
            Self::Software
        }
    }

    /// The word the loader, the probe and the suite print for it. (Host code
    /// only: the probe prints the words itself, a `match` to string slices
    /// may become a table of pointers, i.e. relocations.)
    pub fn name(self) -> &'static str {
        match self {
            Self::ShaNi => SHA_NI_WORD,
            Self::Software => SOFTWARE_WORD,
        }
    }

    /// The inverse of [`name`](Self::name).
    pub fn from_name(word: &str) -> Option<Self> {
        match word {
            SHA_NI_WORD => Some(Self::ShaNi),
            SOFTWARE_WORD => Some(Self::Software),
            _ => None,
        }
    }
}

/// [`HashPath::ShaNi`]'s word.
pub const SHA_NI_WORD: &str = "sha-ni";
/// [`HashPath::Software`]'s word.
pub const SOFTWARE_WORD: &str = "software";

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

    const ALL: Cpuid = Cpuid {
        max_leaf: 0xd,
        leaf1_ecx: SSSE3 | SSE4_1,
        leaf1_edx: FXSR_SSE_SSE2,
        leaf7_ebx: SHA,
    };

    #[test]
    fn the_rule_needs_every_feature_and_a_clear_flag() {
        assert_eq!(HashPath::expected(&ALL, 0), HashPath::ShaNi);
        assert_eq!(HashPath::expected(&ALL, 1), HashPath::Software);
        assert_eq!(HashPath::expected(&ALL, 2), HashPath::ShaNi);
        for missing in [
            Cpuid {
                leaf7_ebx: 0,
                ..ALL
            },
            Cpuid { max_leaf: 6, ..ALL },
            Cpuid {
                leaf1_ecx: SSSE3,
                ..ALL
            },
            Cpuid {
                leaf1_ecx: SSE4_1,
                ..ALL
            },
            Cpuid {
                leaf1_edx: 1 << 25 | 1 << 26,
                ..ALL
            },
        ] {
            assert_eq!(
                HashPath::expected(&missing, 0),
                HashPath::Software,
                "{missing:?}"
            );
        }
        assert!(
            Cpuid {
                leaf1_ecx: 0,
                ..ALL
            }
            .sha()
        );
    }

    #[test]
    fn names_round_trip() {
        for path in [HashPath::ShaNi, HashPath::Software] {
            assert_eq!(HashPath::from_name(path.name()), Some(path));
        }
        assert_eq!(HashPath::from_name("sha"), None);
    }

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
