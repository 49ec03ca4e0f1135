//! `kexec-load`: loads an x86_64 bzImage through `kexec_load(2)` with the
//! relocation-free purgatory of this workspace, and reboots into it. This
//! library is everything but the command line (`main.rs`, `cli.rs`).
//!
//! Everything but the final system calls runs without privilege:
//! [`console`] picks the purgatory's console, [`bzimage`] validates the
//! kernel, [`memmap`] reads the firmware map, [`layout`] places segments,
//! [`zeropage`] builds the boot parameters, [`plan`] patches the purgatory and
//! assembles the segment list for a [`request`], [`print`](mod@print) and [`report`]
//! show the plan to people and programs, and [`kexec`] checks the kernel's
//! rules and makes the calls.
//!
//! What the next kernel inherits from the running one is read from a sysfs
//! tree ([`sysfs`], a fixture in tests): [`handover`] gathers the EFI state
//! ([`efi`]), the ACPI RSDP ([`boot_params`]) and a random seed, which the
//! plan links into the boot parameters as a [`setup_data`] chain; [`lockdown`]
//! says when `kexec_load` will be refused.
//!
//! With `-p`, [`crash`] reads what the running kernel says about its
//! `crashkernel=` reservation and builds what a capture kernel needs.
//!
//! The `e2e` feature adds the QEMU suite's test payloads: a flat payload that
//! gets the register probe's expectation page, and a byte flipped or a region
//! added after the digest was computed.

pub mod boot_params;
pub mod bzimage;
pub mod console;
pub mod crash;
pub mod efi;
pub mod handover;
pub mod kexec;
pub mod layout;
pub mod lockdown;
pub mod memmap;
pub mod number;
pub mod plan;
pub mod print;
pub mod report;
pub mod request;
pub mod setup_data;
pub mod sysfs;
pub mod zeropage;

#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod support;
#[cfg(test)]
mod testing;
