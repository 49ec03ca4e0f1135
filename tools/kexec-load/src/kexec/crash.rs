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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bzimage::BzImage;
    use crate::request::{PurgatoryAddr, Request};
    use crate::support::crash::QEMU_LOW;
    use crate::support::synthetic_bzimage;
    use crate::testing::{bz_request, crash_sources, qemu_6g};

    #[test]
    fn segments_and_the_entry_outside_the_reservation_are_named() {
        let bytes = synthetic_bzimage(0x3000);
        let request = Request {
            crash: Some(crash_sources(&QEMU_LOW)),
            ..bz_request(BzImage::parse(&bytes).unwrap(), None, PurgatoryAddr::High)
        };
        let mut plan = crate::plan::build(request, &qemu_6g()).unwrap();
        let reservation = plan.crash.as_ref().unwrap().reservation;
        assert_eq!(violations(&plan, reservation), Vec::<String>::new());
        plan.segments[1].addr = reservation.end - 0x1000;
        plan.entry = reservation.start - 1;
        let found = violations(&plan, reservation);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].starts_with("segment kernel 0x7efff000..")
                && found[0].contains("outside the crashkernel= reservation 0x6f000000..0x7f000000"),
            "{found:#?}"
        );
        assert!(found[1].contains("entry point 0x6effffff"), "{found:#?}");
    }
}
