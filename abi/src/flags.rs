//! The bits of `purgatory_flags`, the options a loader sets, and the failure
//! policy one of them selects. Zero, as shipped, behaves as Linux's purgatory.

/// Hash with the portable code even when the CPU has SHA extensions.
pub const FLAG_SOFTWARE_SHA256: u64 = 1 << 0;
/// Reset the machine instead of halting when verification fails (see
/// [`FailurePolicy`]).
pub const FLAG_RESET_ON_FAILURE: u64 = 1 << 1;

/// What the purgatory does after a failed verification, selected by
/// [`FLAG_RESET_ON_FAILURE`] in [`FLAGS_SYMBOL`](crate::FLAGS_SYMBOL). It never jumps to the next
/// kernel either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Stop the CPU for good (`cli; hlt` in a loop), as Linux's purgatory
    /// does: the machine stays as it is for someone to look at.
    #[default]
    Halt,
    /// Reset the machine (the chipset's reset control register, else a triple
    /// fault), for fleets that would rather reboot into firmware than hang.
    Reset,
}

impl FailurePolicy {
    /// The policy `flags` select.
    pub const fn from_flags(flags: u64) -> Self {
        if flags & FLAG_RESET_ON_FAILURE != 0 {
            Self::Reset
        } else {
            Self::Halt
        }
    }

    /// `flags` with this policy selected and every other bit kept.
    pub const fn apply_to(self, flags: u64) -> u64 {
        match self {
            Self::Halt => flags & !FLAG_RESET_ON_FAILURE,
            Self::Reset => flags | FLAG_RESET_ON_FAILURE,
        }
    }
}
