//! The two QEMU builds a boot can run on. Under TCG with `-cpu max`, Debian
//! bookworm's QEMU 7.2 offers no SHA extensions; bookworm-backports' QEMU 10
//! emulates them (measured, see the reference notes). The same boot on both
//! meets a CPU without and one with SHA-NI.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// Debian bookworm's QEMU 7.2.
    Qemu7,
    /// Debian bookworm-backports' QEMU 10.
    Qemu10,
}

impl Variant {
    /// In the order the suite runs them.
    pub const ALL: [Variant; 2] = [Variant::Qemu7, Variant::Qemu10];

    /// The suffix of its scenario names (`kernel-to-kernel@qemu7`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Qemu7 => "qemu7",
            Self::Qemu10 => "qemu10",
        }
    }

    pub fn about(self) -> &'static str {
        match self {
            Self::Qemu7 => "Debian bookworm's QEMU 7.2: no SHA-NI under TCG, the software path",
            Self::Qemu10 => "bookworm-backports' QEMU 10: SHA-NI under TCG, the SHA-NI path",
        }
    }

    /// Names a QEMU binary to use instead of the Debian packages.
    pub fn env(self) -> &'static str {
        match self {
            Self::Qemu7 => "E2E_QEMU",
            Self::Qemu10 => "E2E_QEMU10",
        }
    }

    /// Whether its `-cpu max` has the SHA extensions under TCG (under KVM
    /// the guest gets the default CPU model, whose features depend on the host).
    pub fn sha_ni_under_tcg(self) -> bool {
        self == Self::Qemu10
    }
}
