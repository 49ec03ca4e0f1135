//! Host-side support for the kexec purgatory: everything a loader (a kernel's
//! `kexec_file_load`, a Rust kernel, a user-space `kexec_load` tool) needs to
//! validate, place and patch it, with the binary itself embedded.
//!
//! ```
//! use purgatory_abi::FailurePolicy;
//! use purgatory_host::{Purgatory, Segment};
//!
//! # fn main() -> Result<(), purgatory_host::LoadError> {
//! // The next kernel's segments: contents, physical address, memory size.
//! let kernel = vec![0x90u8; 5000];
//! let boot_params = vec![0u8; 4096];
//! let segments = [
//!     Segment { bytes: &kernel, addr: 0x100_0000, mem_size: 0x2000 },
//!     Segment { bytes: &boot_params, addr: 0x9_0000, mem_size: 0x1000 },
//! ];
//!
//! let mut purgatory = Purgatory::embedded()?;
//! let digest = purgatory.set_segments(&segments)?; // region table + SHA-256s
//! purgatory.set_console_port(0x3f8)?; // COM1: progress and any failure
//! purgatory.set_failure_policy(FailurePolicy::Reset)?; // reboot, not hang
//! let load_addr = 0x7fe0_0000; // anywhere page-aligned, outside the segments
//! purgatory.set_linux_entry(load_addr, 0x100_0000, 0x9_0000)?;
//! let placed = purgatory.place(load_addr)?;
//!
//! // Copy `placed.bytes` to `load_addr`, the segments to theirs, and start
//! // the CPU at `placed.entry`.
//! assert_eq!(placed.bytes.len() as u64, purgatory.image().mem_size());
//! assert_eq!(placed.entry, load_addr + purgatory.image().entry());
//! assert_eq!(purgatory.entry_regs()?.rip, 0x100_0200);
//! # let _ = digest;
//! # Ok(())
//! # }
//! ```

#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod contract;
mod embedded;
#[cfg(feature = "hosted")]
pub mod hosted;
mod image;
mod load;

pub use embedded::PURGATORY_ELF;
pub use image::{Image, ImageError, Symbol};
pub use load::{LoadError, Placed, Purgatory, Segment};
