//! What the boots need from Debian, fetched with apt and cached under
//! `target/e2e/`: kernels ([`kernel`](mod@kernel)), the two QEMU variants
//! ([`emulator`]) and OVMF, the UEFI firmware ([`firmware`]). A suite other
//! than the system's is read through a private apt state
//! ([`Apt::suite`](crate::apt::Apt::suite)).

mod emulator;
mod firmware;
mod kernel;

pub use emulator::{Qemu, qemu};
pub use firmware::{Ovmf, ovmf};
pub use kernel::{DEFAULT_KERNEL, Kernel, Stock, kernel, stock};
