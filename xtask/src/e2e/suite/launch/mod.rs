//! How each kind of scenario is booted: [`kexec_load`] when this workspace's
//! loader loads the image in the guest, [`kexec_file`] when the patched
//! kernels' own loader does; [`watch`] says when a boot stops, [`trial`] is
//! the boot that decides KVM or TCG.

pub mod kexec_file;
pub mod kexec_load;
pub mod trial;
pub mod watch;
