//! The scenarios, as data: what each boots, what it is about, and on which
//! QEMU variants it runs. Each variant a scenario lists is its own run, named
//! `<scenario>@<variant>`, with its own log.
//!
//! QEMU 7.2 runs the core (a real kernel, one probe, the refusal, the page
//! fault, the large initrd) on the software path; QEMU 10 runs everything on
//! the SHA-NI path, plus the forced software path on a CPU that has SHA-NI,
//! the NMIs and the purgatory above 2^47 (QEMU 7.2 passes that one too, by
//! hand; what it proves does not depend on the hash path, so it runs once). (Timing the large
//! initrd both ways on QEMU 10 showed SHA-NI ahead by only ~0.6 s of ~3 s
//! under TCG, less than the run-to-run noise: the probe's XMM check, not the
//! clock, is what shows the path.) The `kexec-file-*` scenarios run on QEMU 10
//! only: the kernels are tiny and the suite's time counts; its `-cpu max` has
//! SHA-NI, so our purgatory, which Linux loads with `purgatory_flags` as
//! shipped, takes its default path with Linux's hand-off state. A crash
//! kernel is read back from its dump on both paths, below and above 4 GiB;
//! its refusals, like the others beyond the core, run on QEMU 10.
//!
//! The `uefi-*` scenarios boot the first kernel through OVMF instead of
//! SeaBIOS. An OVMF boot under TCG takes longer, so they are few: the full
//! hand-over on both paths with the purgatory above 4 GiB, a random and a
//! `--noefi` placement low in OVMF's fragmented map on QEMU 10, Linux's own
//! `kexec_file_load` through our purgatory, the lockdown refusal, and the
//! probe's hand-off state.
//!
//! The kernel matrix runs `kexec-load` between Debian's stock kernels (see
//! [`Series`]): the first kernel's `kexec_load` and page tables, the second's
//! entry. 6.12 to 6.12 is `kernel-to-kernel`; 7.3 as the first kernel loads
//! each series (x86's `relocate_kernel`, which hands over to the purgatory,
//! was reworked in 6.15: its own GDT and IDT, CR4 handled anew), and
//! 6.12 loads the oldest and the newest, so every series is a first or a
//! second kernel with each other one somewhere. They run on QEMU 10, the SHA-NI
//! path a modern CPU takes, and 7.3 to 7.3 on QEMU 7.2 too, for the software
//! path under the newest first kernel; the register probe checks the hand-off
//! under a 7.3 first kernel, above 4 GiB, where the first kernel's identity map
//! must reach. The `kho-*` runs are KHO kexecs by the patched 7.3's own
//! `kexec_file_load`, which upstream leaves unverified ([`Kho`]).

mod kinds;
mod rows;

pub use kinds::*;
pub use rows::SCENARIOS;

#[cfg(test)]
mod matrix_tests;
#[cfg(test)]
mod tests;
