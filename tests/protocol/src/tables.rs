//! The IDT across a kexec: the one Linux's kexec leaves for the purgatory,
//! which the purgatory must load again before the hand-off (while it runs it
//! has its own, whose gates point into memory the next kernel reuses).
//!
//! Up to Linux 6.14 the kexec invalidates the IDT (base 0, limit 0). From
//! 6.15 `identity_mapped` loads a debug IDT in its control page, at an
//! address a user-space loader cannot know. Either way it is never inside
//! the purgatory.

/// [`Expectation::idt`](crate::Expectation::idt): base 0 and limit 0.
pub const IDT_NULL: u64 = 0;
/// [`Expectation::idt`](crate::Expectation::idt): the kexec's own, somewhere
/// outside the purgatory (Linux 6.15 and later, or a release not understood).
pub const IDT_KEXEC_OWN: u64 = 1;

/// The first release whose kexec loads a debug IDT.
const DEBUG_IDT_SINCE: (u32, u32) = (6, 15);

/// What the kexec of the running kernel, whose release is `release`
/// (`uname -r`, e.g. `6.12.43+deb12-amd64`), leaves in the IDTR.
pub fn kexec_idt(release: &str) -> u64 {
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(str::parse::<u32>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(major)), Some(Ok(minor))) if (major, minor) < DEBUG_IDT_SINCE => IDT_NULL,
        _ => IDT_KEXEC_OWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_before_6_15_leave_a_null_idt() {
        assert_eq!(kexec_idt("6.12.43+deb12-amd64"), IDT_NULL);
        assert_eq!(kexec_idt("6.14.0"), IDT_NULL);
        assert_eq!(kexec_idt("5.10.0-32-amd64"), IDT_NULL);
        assert_eq!(kexec_idt("6.15.0-rc1"), IDT_KEXEC_OWN);
        assert_eq!(kexec_idt("7.0"), IDT_KEXEC_OWN);
        assert_eq!(kexec_idt("unknown"), IDT_KEXEC_OWN);
        assert_eq!(kexec_idt(""), IDT_KEXEC_OWN);
    }
}
