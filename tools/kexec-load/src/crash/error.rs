//! Why no crash kernel can be planned: each variant names what is missing or
//! wrong, and what to do about it.

use super::span::Span;
use std::fmt;

/// Why no crash kernel can be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrashError {
    /// A file the crash load reads cannot be read.
    Read { path: String, why: String },
    /// A file does not say what the kernel writes there.
    Malformed { path: String, why: String },
    /// `/proc/iomem` shows every address as 0: it was read without root.
    AddressesHidden { path: String },
    /// No "Crash kernel" range: the kernel was booted without `crashkernel=`.
    NoReservation,
    /// No CPU has `crash_notes`.
    NoCrashNotes { dir: String },
    /// `/proc/kcore` lacks the kernel text mapping or the direct map.
    NoKernelMap { path: String, what: &'static str },
    /// The payload is not a bzImage.
    NeedsBzImage,
    /// The reservation lies above 4 GiB and the kernel cannot run there.
    KernelBelow4G { reservation: Span },
    /// Everything to load, and the room the kernel needs, exceeds the reservation.
    TooSmall {
        needed: u64,
        reservation: Span,
        /// Of `needed`, what the kernel's control pages take.
        room: u64,
        /// The biggest item, to say what to shrink.
        largest: String,
    },
    /// The free room is enough in bytes but not in one piece for a segment.
    NoRoom {
        segment: &'static str,
        size: u64,
        reservation: Span,
        free: u64,
    },
    /// More program headers than ELF64 can count in `e_phnum`.
    TooManyHeaders { count: usize },
}

impl fmt::Display for CrashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, why } => write!(f, "cannot read {path}: {why}"),
            Self::Malformed { path, why } => write!(f, "{path}: {why}"),
            Self::AddressesHidden { path } => write!(
                f,
                "{path} shows every address as 0: reading the addresses of a crash load needs root"
            ),
            Self::NoReservation => write!(
                f,
                "no \"Crash kernel\" range in /proc/iomem: boot this kernel with crashkernel=<size> \
                 (e.g. crashkernel=256M, or crashkernel=512M,high above 4 GiB) to reserve memory for a crash kernel"
            ),
            Self::NoCrashNotes { dir } => write!(
                f,
                "no CPU under {dir} has crash_notes: this kernel was built without CONFIG_CRASH_DUMP"
            ),
            Self::NoKernelMap { path, what } => write!(
                f,
                "{path} has no {what}: the ELF core headers need it (a kernel with CONFIG_PROC_KCORE, read as root)"
            ),
            Self::NeedsBzImage => write!(f, "a crash kernel must be a bzImage"),
            Self::KernelBelow4G { reservation } => write!(
                f,
                "the crashkernel= reservation {reservation} lies above 4 GiB and this kernel lacks \
                 XLF_CAN_BE_LOADED_ABOVE_4G: reserve below 4 GiB (crashkernel=<size> without ,high) or load a newer kernel"
            ),
            Self::TooSmall {
                needed,
                reservation,
                room,
                largest,
            } => write!(
                f,
                "the crash kernel needs {needed:#x} bytes ({} MiB) in the crashkernel= reservation, {room:#x} of them \
                 left free for the kernel's control pages, and the reservation has {:#x} bytes ({} MiB) at {:#x}; \
                 the largest part is {largest}: reserve more (crashkernel=) or load less",
                needed.div_ceil(1 << 20),
                reservation.len(),
                reservation.len() >> 20,
                reservation.start
            ),
            Self::NoRoom {
                segment,
                size,
                reservation,
                free,
            } => write!(
                f,
                "no room for the {segment} segment ({size:#x} bytes) in the crashkernel= reservation {reservation}: \
                 {free:#x} bytes are free, but not in one piece aligned for it; reserve more (crashkernel=)"
            ),
            Self::TooManyHeaders { count } => write!(
                f,
                "{count} program headers in the ELF core headers, more than e_phnum can hold"
            ),
        }
    }
}

impl std::error::Error for CrashError {}
