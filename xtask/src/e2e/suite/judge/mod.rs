//! One judge per kind of run, each deciding from the run's serial log (read
//! through the [vocabulary](super::vocabulary)) whether it showed what it
//! must: `Ok` with one line of what it showed, or `Err` with why not.
//!
//! [`boot`]: a second kernel boots; [`refusal`]: the purgatory halts, resets
//! or stays silent on a flipped byte, and [`nmi`] NMIs leave it halted;
//! [`fault`]: it reports an exception and halts or resets; [`probe`]: the
//! register probe's hand-off; [`kexec_file`]: the patched kernels' own
//! loader; [`uefi`]: a second kernel's EFI, ACPI and RNG seed after a UEFI
//! boot; [`lockdown`]: the loader's refusal on a locked-down kernel;
//! [`matrix`]: the kernels a kernel-matrix run booted; [`kho`]: a KHO kexec,
//! which 7.3 leaves unverified unless told otherwise; [`kdump`]: a crash
//! kernel reads the dump, or is refused on the panic. [`common`] and
//! [`stop`] hold what they share.

pub mod boot;
pub mod common;
pub mod fault;
pub mod kdump;
pub mod kexec_file;
pub mod kho;
pub mod lockdown;
pub mod matrix;
pub mod nmi;
pub mod probe;
pub mod refusal;
pub mod stop;
pub mod uefi;

#[cfg(test)]
mod tests;
