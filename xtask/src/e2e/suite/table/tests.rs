//! The table's invariants: unique names, and what each path must cover.

use super::rows::{BOTH, kdump};
use super::*;
use crate::e2e::harness::variant::Variant;

#[test]
fn names_are_unique_and_every_scenario_runs_somewhere() {
    for (i, a) in SCENARIOS.iter().enumerate() {
        assert!(SCENARIOS[i + 1..].iter().all(|b| b.name != a.name));
        assert!(!a.variants.is_empty(), "{}", a.name);
        assert!(!a.name.contains('@'), "{}", a.name);
    }
}

/// A scenario booted through UEFI says so in its name, and what needs
/// UEFI (the hand-over, lockdown's refusal) is booted through it.
#[test]
fn uefi_scenarios_are_named_and_booted_so() {
    for s in SCENARIOS {
        let uefi = s.firmware == Firmware::Uefi;
        assert_eq!(s.name.contains("uefi"), uefi, "{}", s.name);
        if matches!(
            s.kind,
            Kind::KexecLoad(Load::Handover { .. } | Load::LockedDown)
        ) {
            assert!(uefi, "{}", s.name);
        }
    }
}

/// Each path takes a real kexec, a probe, a refusal, a page fault (in
/// its own hashing code) and a large initrd.
#[test]
fn both_variants_cover_the_core() {
    for name in [
        "kernel-to-kernel",
        "probe-low",
        "corrupt-halts",
        "fault-unmapped-halts",
        "large-initrd",
    ] {
        let s = SCENARIOS.iter().find(|s| s.name == name).unwrap();
        assert_eq!(s.variants, BOTH, "{name}");
    }
    assert!(SCENARIOS.iter().any(|s| matches!(
        s.kind,
        Kind::KexecLoad(Load::Probe {
            software_sha256: true,
            ..
        })
    ) && s.variants.contains(&Variant::Qemu10)));
}

/// A crash kernel is read back on both paths, below and above 4 GiB.
#[test]
fn kdump_reads_the_dump_on_both_variants_both_sides_of_4g() {
    for reservation in [Reservation::Below4G, Reservation::Above4G] {
        let s = SCENARIOS
            .iter()
            .find(|s| s.kind == kdump(reservation, None))
            .unwrap();
        assert_eq!(s.variants, BOTH, "{}", s.name);
        assert!(s.name.contains("kdump"), "{}", s.name);
    }
}
