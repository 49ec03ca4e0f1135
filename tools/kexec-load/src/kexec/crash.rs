//! The kernel's rules for a crash image (`kexec_load` with
//! `KEXEC_ON_CRASH`): `kimage_alloc_init` and `sanity_check_segment_list`
//! refuse with `EADDRNOTAVAIL` an entry point or a segment outside
//! `crashk_res`, the main reservation (never the low part of `,high`).

use crate::crash::Span;
use crate::plan::Plan;

/// `KEXEC_ON_CRASH`: load the image a panic boots.
pub const KEXEC_ON_CRASH: libc::c_ulong = 0x0000_0001;

/// Each segment, and the entry point, outside `reservation`.
pub fn violations(plan: &Plan, reservation: Span) -> Vec<String> {
    let mut violations: Vec<String> = plan
        .segments
        .iter()
        .filter(|s| !reservation.contains(&Span::new(s.addr, s.end())))
        .map(|s| {
            format!(
                "segment {} {:#x}..{:#x} is outside the crashkernel= reservation {reservation}",
                s.name,
                s.addr,
                s.end()
            )
        })
        .collect();
    if !(reservation.start..reservation.end).contains(&plan.entry) {
        violations.push(format!(
            "the entry point {:#x} is outside the crashkernel= reservation {reservation}",
            plan.entry
        ));
    }
    violations
}
