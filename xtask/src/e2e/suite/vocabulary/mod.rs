//! The serial log's vocabulary: every marker and line the suite looks for,
//! by who prints it, read into typed values. The judges use these and type no
//! text of their own.
//!
//! [`linux`] is the kernels' lines, [`guest`] the `/init`s' and the register
//! probe's, [`plan`] `kexec-load`'s (its `--json` line, read in one place,
//! [`plan::read`]), [`purgatory`] the purgatory's console, rendered by
//! its own library ([`template`]); [`monitor`] what the suite tells QEMU's
//! monitor and reads in its `-d` log; [`uefi`] the EFI and ACPI lines of a
//! UEFI run and what its second `/init` reports; [`kdump`] the lines of a
//! crash and of the capture kernel; [`evidence`] picks what a summary quotes.

pub mod evidence;
pub mod guest;
pub mod kdump;
pub mod linux;
pub mod monitor;
pub mod plan;
pub mod purgatory;
pub mod template;
pub mod uefi;
