//! The two QEMU builds the scenarios run on, and which hash path each makes the
//! purgatory take. Under TCG with `-cpu max`, Debian bookworm's QEMU 7.2 offers
//! no SHA extensions, so the purgatory hashes in software; bookworm-backports'
//! QEMU 10 emulates them, so it takes the SHA-NI path (measured, see the
//! reference notes). The same kexec on both covers both paths.

use super::qemu::Accel;
use purgatory_abi::HashPath;

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

    /// Whether the guest CPU has the SHA extensions (all the SHA-NI path
    /// needs). Unknown under KVM: the guest then gets the default CPU model,
    /// whose features depend on the host.
    pub fn sha_ni(self, accel: Accel) -> Option<bool> {
        match accel {
            Accel::Kvm => None,
            Accel::Tcg => Some(self == Self::Qemu10),
        }
    }

    /// The path the purgatory must take on this variant, unless the loader
    /// forces software.
    pub fn hash_path(self, accel: Accel, software_sha256: bool) -> Option<HashPath> {
        if software_sha256 {
            return Some(HashPath::Software);
        }
        self.sha_ni(accel).map(|sha_ni| {
            if sha_ni {
                HashPath::ShaNi
            } else {
                HashPath::Software
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_covers_one_path_under_tcg() {
        assert_eq!(
            Variant::Qemu7.hash_path(Accel::Tcg, false),
            Some(HashPath::Software)
        );
        assert_eq!(
            Variant::Qemu10.hash_path(Accel::Tcg, false),
            Some(HashPath::ShaNi)
        );
        assert_eq!(
            Variant::Qemu10.hash_path(Accel::Tcg, true),
            Some(HashPath::Software)
        );
        assert_eq!(Variant::Qemu10.hash_path(Accel::Kvm, false), None);
    }
}
