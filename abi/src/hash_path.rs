//! Which SHA-256 implementation the purgatory runs: a pure function of
//! `purgatory_flags` and four CPUID words, so that the purgatory, a loader
//! announcing the path and a test demanding it all apply the same rule.

use crate::flags::FLAG_SOFTWARE_SHA256;

/// CPUID.1:ECX: SSSE3 (`pshufb`) and SSE4.1 (`pblendw`), which the SHA-NI
/// routine uses besides the SHA instructions (SDM vol. 2A, CPUID).
const SSSE3: u32 = 1 << 9;
const SSE4_1: u32 = 1 << 19;
/// CPUID.1:EDX: FXSR is what CR4.OSFXSR enables; SSE and SSE2 for the moves.
const FXSR_SSE_SSE2: u32 = (1 << 24) | (1 << 25) | (1 << 26);
/// CPUID.7.0:EBX: the SHA extensions.
const SHA: u32 = 1 << 29;

/// The CPUID words the rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cpuid {
    /// CPUID.0:EAX, the highest basic leaf.
    pub max_leaf: u32,
    /// CPUID.1:ECX.
    pub leaf1_ecx: u32,
    /// CPUID.1:EDX.
    pub leaf1_edx: u32,
    /// CPUID.7.0:EBX (0 when leaf 7 does not exist).
    pub leaf7_ebx: u32,
}

impl Cpuid {
    /// This CPU's words. Leaf 7 is read only when leaf 0 says it exists.
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
    pub const fn sha(&self) -> bool {
        self.max_leaf >= 7 && self.leaf7_ebx & SHA != 0
    }

    /// SSSE3.
    pub const fn ssse3(&self) -> bool {
        self.leaf1_ecx & SSSE3 != 0
    }

    /// SSE4.1.
    pub const fn sse4_1(&self) -> bool {
        self.leaf1_ecx & SSE4_1 != 0
    }

    /// Everything the SHA-NI routine uses: SHA, SSSE3, SSE4.1, FXSR, SSE, SSE2.
    pub const fn sha_extensions_usable(&self) -> bool {
        self.sha()
            && self.ssse3()
            && self.sse4_1()
            && self.leaf1_edx & FXSR_SSE_SSE2 == FXSR_SSE_SSE2
    }
}

/// How the purgatory hashes the regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashPath {
    /// The portable integer code.
    Software,
    /// The CPU's SHA extensions, with SSE switched on around the hash.
    ShaNi,
}

impl HashPath {
    /// The path the purgatory takes with these `purgatory_flags` on a CPU
    /// with these CPUID words: SHA-NI when the CPU has everything it uses and
    /// the loader did not set [`FLAG_SOFTWARE_SHA256`]. Both compute the
    /// same digest.
    pub const fn select(purgatory_flags: u64, cpuid: &Cpuid) -> Self {
        if purgatory_flags & FLAG_SOFTWARE_SHA256 == 0 && cpuid.sha_extensions_usable() {
            Self::ShaNi
        } else {
            Self::Software
        }
    }

    /// A short name for tools and logs: `software` or `sha-ni`. (Two arms
    /// compile to a select between two RIP-relative addresses, never to a
    /// table of pointers, which a relocation-free payload could not have.)
    pub const fn name(self) -> &'static str {
        if matches!(self, Self::ShaNi) {
            "sha-ni"
        } else {
            "software"
        }
    }

    /// The inverse of [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Software, Self::ShaNi]
            .into_iter()
            .find(|path| path.name() == name)
    }
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
    fn sha_ni_needs_every_feature_and_the_flag_clear() {
        assert_eq!(HashPath::select(0, &ALL), HashPath::ShaNi);
        assert_eq!(
            HashPath::select(FLAG_SOFTWARE_SHA256, &ALL),
            HashPath::Software
        );
        assert_eq!(
            HashPath::select(!FLAG_SOFTWARE_SHA256, &ALL),
            HashPath::ShaNi
        );
        let missing = [
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
                leaf1_edx: (1 << 25) | (1 << 26),
                ..ALL
            },
            Cpuid {
                leaf1_edx: (1 << 24) | (1 << 26),
                ..ALL
            },
            Cpuid {
                leaf1_edx: (1 << 24) | (1 << 25),
                ..ALL
            },
        ];
        for cpuid in missing {
            assert_eq!(HashPath::select(0, &cpuid), HashPath::Software, "{cpuid:?}");
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
}
