//! Loading a crash (capture) kernel, `kexec-load -p`: what a panic boots
//! through the purgatory, and what it needs to read the dead kernel's memory
//! through `/proc/vmcore`.
//!
//! Everything the running kernel must tell comes in through [`sources`]
//! (`/proc/iomem`, the CPUs' `crash_notes`, `/sys/kernel/vmcoreinfo`,
//! `/proc/kcore`'s program headers; all of them need root), read under a
//! root directory so that tests and dry runs can point at fixtures. From
//! them, without privilege: [`iomem`] finds the `crashkernel=` reservation and
//! the ranges of each kind, [`elfcore`] writes the ELF core headers the
//! capture kernel finds at `elfcorehdr=`, [`capture_map`] writes its memory
//! map, [`room`] says how much of the reservation the kernel itself needs
//! when it loads, and [`report`] is what `--dry-run` and `--json` show. The
//! plan's `crash` part places all of it in the reservation.

pub mod capture_map;
pub mod elfcore;
pub mod error;
pub mod iomem;
pub mod kcore;
pub mod report;
pub mod room;
pub mod sources;
pub mod span;

pub use error::CrashError;
pub use report::CrashReport;
pub use sources::CrashSources;
pub use span::{Span, subtract};
