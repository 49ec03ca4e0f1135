//! Whole plans: segments, placement, patching and the JSON report.

use super::*;
use crate::bzimage::BzImage;
use crate::request::PurgatoryAddr;
use crate::support::synthetic_bzimage;
use crate::testing::{bz_request, qemu_6g as map};
use purgatory_abi::{Cpuid, FLAG_SOFTWARE_SHA256, FLAGS_SYMBOL, HashPath};
use purgatory_host::{PURGATORY_ELF, Purgatory, Segment};

mod boot;
mod crash;
#[cfg(feature = "e2e")]
mod raw;
#[cfg(feature = "e2e")]
mod test_regions;

/// The digest the host library computes for `segments`.
fn digest_of(segments: &[Segment<'_>]) -> Sha256Digest {
    Purgatory::embedded()
        .unwrap()
        .set_segments(segments)
        .unwrap()
}

fn bz_plan(initrd: Option<Vec<u8>>, at: PurgatoryAddr) -> Plan {
    let bytes = synthetic_bzimage(0x3000);
    let image = BzImage::parse(&bytes).unwrap();
    build(bz_request(image, initrd, at), &map()).unwrap()
}

#[test]
fn bzimage_plan() {
    let plan = bz_plan(Some(vec![0x5a; 0x1_2345]), PurgatoryAddr::High);
    let names: Vec<_> = plan.segments.iter().map(|s| s.name).collect();
    assert_eq!(names, ["kernel", "boot-params", "initrd", "purgatory"]);
    let [kernel, params, initrd, purgatory] = &plan.segments[..] else {
        unreachable!()
    };
    assert_eq!(
        (kernel.addr, kernel.mem_size, kernel.bytes.len()),
        (0x100_0000, 0x80_0000, 0x3000)
    );
    assert_eq!(params.addr, 0x1_0000);
    assert_eq!(&params.bytes[0x1000..], b"console=ttyS0 e2e.marker=x\0");
    assert_eq!(initrd.end(), 0x1_c000_0000, "highest, above 4 GiB");
    assert_eq!(initrd.mem_size, 0x1_3000);
    assert_eq!(
        purgatory.end(),
        initrd.addr,
        "the purgatory takes the next highest fit"
    );
    assert!(kernel.verified() && params.verified() && initrd.verified() && !purgatory.verified());
    assert_eq!(
        plan.entry,
        purgatory.addr + Purgatory::embedded().unwrap().image().entry()
    );
    assert_eq!(plan.regs.rip, 0x100_0200);
    assert_eq!(plan.regs.rsi, 0x1_0000);
    assert_eq!(plan.regs.rbx, 0);
    let segs: Vec<_> = plan.segments[..3]
        .iter()
        .map(PlannedSegment::region)
        .collect();
    assert_eq!(plan.digest, digest_of(&segs));
    // Each verified segment carries its own digest, as the purgatory holds it.
    for (segment, region) in plan.segments.iter().zip(&segs) {
        assert_eq!(
            segment.digest,
            Some(digest_of(std::slice::from_ref(region)))
        );
    }
    // The zero page's initrd pointer carries the high half.
    assert_eq!(
        u32::from_le_bytes(params.bytes[0x218..0x21c].try_into().unwrap()),
        initrd.addr as u32
    );
    assert_eq!(
        u32::from_le_bytes(params.bytes[0xc0..0xc4].try_into().unwrap()),
        1
    );
    // The patched purgatory holds the digest.
    let elf = Purgatory::parse(PURGATORY_ELF).unwrap();
    let digest_at = elf
        .image()
        .symbol(purgatory_abi::SHA256_DIGEST_SYMBOL)
        .unwrap()
        .offset as usize;
    assert_eq!(&purgatory.bytes[digest_at..digest_at + 32], &plan.digest);
}

#[test]
fn purgatory_policies() {
    let addr = |at| bz_plan(None, at).purgatory().unwrap().addr;
    assert_eq!(addr(PurgatoryAddr::Low), 0x1000);
    let below = addr(PurgatoryAddr::Below4G);
    assert!(below > 0xb000_0000 && below < 1 << 32, "{below:#x}");
    assert!(addr(PurgatoryAddr::High) > 1 << 32);
    assert_eq!(addr(PurgatoryAddr::At(0x4000_0000)), 0x4000_0000);
    let random = addr(PurgatoryAddr::Random);
    assert_eq!(random % 0x1000, 0);
    assert_eq!(
        addr(PurgatoryAddr::Random),
        random,
        "same seed, same address"
    );
}

#[test]
fn exact_purgatory_wins_and_kernel_moves() {
    let plan = bz_plan(None, PurgatoryAddr::At(0x100_0000));
    assert_eq!(plan.purgatory().unwrap().addr, 0x100_0000);
    assert_eq!(
        plan.segments[0].addr, 0x20_0000,
        "the lowest 2 MiB-aligned fit"
    );
    assert!(plan.notes.iter().any(|n| n.contains("preferred address")));
}

#[test]
fn software_sha256_sets_the_flag() {
    let bytes = synthetic_bzimage(0x3000);
    let image = BzImage::parse(&bytes).unwrap();
    let mut request = bz_request(image, None, PurgatoryAddr::High);
    request.purgatory_flags = FLAG_SOFTWARE_SHA256;
    let plan = build(request, &map()).unwrap();
    let at = Purgatory::embedded()
        .unwrap()
        .image()
        .symbol(FLAGS_SYMBOL)
        .unwrap()
        .offset as usize;
    let purgatory = plan.purgatory().unwrap();
    assert_eq!(
        purgatory.bytes[at..at + 8],
        FLAG_SOFTWARE_SHA256.to_le_bytes()
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("FLAG_SOFTWARE_SHA256"))
    );
    assert_eq!(plan.hash.path, HashPath::Software);
    assert_eq!(plan.purgatory_flags, FLAG_SOFTWARE_SHA256);
}

#[test]
fn console_and_reset_are_patched() {
    let bytes = synthetic_bzimage(0x3000);
    let image = BzImage::parse(&bytes).unwrap();
    let mut request = bz_request(image, None, PurgatoryAddr::High);
    request.console = crate::console::given(0x2f8);
    request.on_failure = FailurePolicy::Reset;
    let plan = build(request, &map()).unwrap();
    let image = Purgatory::embedded().unwrap();
    let at = |name| image.image().symbol(name).unwrap().offset as usize;
    let purgatory = plan.purgatory().unwrap();
    let port_at = at(purgatory_abi::CONSOLE_PORT_SYMBOL);
    assert_eq!(
        purgatory.bytes[port_at..port_at + 2],
        0x2f8u16.to_le_bytes()
    );
    let flags_at = at(FLAGS_SYMBOL);
    assert_eq!(
        purgatory.bytes[flags_at..flags_at + 8],
        purgatory_abi::FLAG_RESET_ON_FAILURE.to_le_bytes()
    );
    assert_eq!(plan.purgatory_flags, purgatory_abi::FLAG_RESET_ON_FAILURE);
}

#[test]
fn no_verify_leaves_the_table_empty() {
    let bytes = synthetic_bzimage(0x3000);
    let image = BzImage::parse(&bytes).unwrap();
    let mut request = bz_request(image, None, PurgatoryAddr::High);
    request.verify = false;
    let plan = build(request, &map()).unwrap();
    assert!(plan.segments.iter().all(|s| !s.verified()));
    assert_eq!(plan.digest, digest_of(&[]));
    assert!(plan.notes.iter().any(|n| n.contains("--no-verify")));
}

#[test]
fn bad_requests() {
    let bytes = synthetic_bzimage(0x3000);
    let image = || BzImage::parse(&bytes).unwrap();
    let request = Request {
        payload: Payload::BzImage {
            image: image(),
            initrd: None,
            cmdline: "x".repeat(2048),
        },
        ..bz_request(image(), None, PurgatoryAddr::High)
    };
    assert!(matches!(
        build(request, &map()),
        Err(PlanError::CmdlineTooLong {
            len: 2048,
            max: 2047
        })
    ));
    let request = bz_request(image(), None, PurgatoryAddr::At(0x1_0000_0000 - 0x1000));
    let err = build(request, &map()).unwrap_err();
    assert!(err.to_string().contains("purgatory"), "{err}");
}

/// The report carries the plan's numbers and survives its JSON line.
#[test]
fn the_report_round_trips() {
    let bytes = synthetic_bzimage(0x3000);
    let image = BzImage::parse(&bytes).unwrap();
    let mut request = bz_request(image, Some(vec![7; 0x2000]), PurgatoryAddr::Below4G);
    request.console = crate::console::given(0x3f8);
    request.cpuid = Cpuid {
        max_leaf: 7,
        leaf1_ecx: 1 << 9 | 1 << 19,
        leaf1_edx: 7 << 24,
        leaf7_ebx: 1 << 29,
    };
    let plan = build(request, &map()).unwrap();
    let report = plan.report(vec!["warning: a test".into()]);
    let line = report.to_line().unwrap();
    assert!(line.starts_with(crate::report::LINE_START), "{line}");
    assert!(!line.contains('\n'));
    assert_eq!(PlanReport::from_line(&line).unwrap(), report);
    let logged = format!("[    1.5] booting\r\n[    1.6] {line}\r\n[    1.7] more\r\n");
    assert_eq!(PlanReport::find_in(&logged).unwrap(), report);

    let purgatory = plan.purgatory().unwrap();
    assert_eq!(report.segments.len(), 4);
    for (row, segment) in report.segments.iter().zip(&plan.segments) {
        assert_eq!(
            (
                row.name.as_str(),
                row.start,
                row.end,
                row.mem_size,
                row.bytes
            ),
            (
                segment.name,
                segment.addr,
                segment.end(),
                segment.mem_size,
                segment.bytes.len() as u64
            )
        );
        assert_eq!(row.verified, segment.verified());
        assert_eq!(row.sha256, segment.digest.map(|d| crate::number::hex(&d)));
    }
    assert_eq!(report.segments[3].sha256, None);
    assert_eq!(
        (report.purgatory.start, report.purgatory.entry),
        (purgatory.addr, plan.entry)
    );
    assert_eq!(
        report.purgatory.end,
        purgatory.addr + Purgatory::embedded().unwrap().image().mem_size()
    );
    assert_eq!(report.digest.sha256, crate::number::hex(&plan.digest));
    assert_eq!(report.digest.regions, 3);
    assert_eq!(report.entry_regs, plan.regs);
    assert_eq!(report.hash.path, HashPath::ShaNi);
    assert_eq!(report.console.port, Some(0x3f8));
    assert_eq!(report.warnings, ["warning: a test"]);
    assert!(
        !line.contains("corruption"),
        "no key for what did not happen: {line}"
    );
    // Names, not numbers, for the enumerations.
    assert!(line.contains(r#""path":"sha-ni""#), "{line}");
    assert!(line.contains(r#""on_failure":"halt""#), "{line}");
    assert!(
        line.contains(r#""placement":{"highest":{"max_end":4294967296}}"#),
        "{line}"
    );
}

#[test]
fn bad_report_lines_are_named() {
    use crate::report::ReportError;
    assert!(matches!(
        PlanReport::find_in("[ 1.0] Linux version 6.12\n"),
        Err(ReportError::Missing)
    ));
    let line = bz_plan(None, PurgatoryAddr::High)
        .report(Vec::new())
        .to_line()
        .unwrap();
    let cut = &line[..line.len() / 2];
    let err = PlanReport::from_line(cut).unwrap_err();
    assert!(matches!(err, ReportError::Malformed { .. }), "{err}");
    let wrong_path = line.replace(r#""path":"software""#, r#""path":"avx""#);
    let err = PlanReport::from_line(&wrong_path).unwrap_err();
    assert!(
        err.to_string().contains("expected software or sha-ni"),
        "{err}"
    );
}
