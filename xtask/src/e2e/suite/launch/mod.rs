//! How each kind of scenario is booted: [`kexec_load`] when this workspace's
//! loader loads the image in the guest ([`matrix`] between Debian's stock
//! kernels), [`kexec_file`] when the patched kernels' own loader does
//! ([`kho`] for a KHO kexec), [`kdump`] when a crash starts a crash kernel;
//! [`watch`] says when a boot stops, [`trial`] is the boot that decides KVM
//! or TCG; [`high_memory`] is the machine with memory above 2^47.

pub mod high_memory;
pub mod kdump;
pub mod kexec_file;
pub mod kexec_load;
pub mod kho;
pub mod matrix;
pub mod trial;
pub mod watch;
