//! The harness: booting a kernel in QEMU and watching it, and everything that
//! takes. It knows no scenario; what to boot, when to stop and what the serial
//! log means are the suite's.
//!
//! [`fetch`] gets the kernel and the QEMU builds ([`variant`]) through apt,
//! [`accel`] decides KVM or TCG, [`guest`] builds the guest programs (read
//! with `elf_edit`) and the initramfs images ([`cpio`]), [`qemu`] runs and
//! watches one boot, and [`log`] looks things up in what it printed.

pub mod accel;
pub mod cpio;
pub mod fetch;
pub mod guest;
pub mod log;
pub mod qemu;
pub mod variant;
