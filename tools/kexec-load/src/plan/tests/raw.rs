//! The e2e feature's plans: the raw payload and the flipped byte.

use super::*;
use e2e_protocol::control::{CR0_KNOWN, CR4_KNOWN, LOADER_CR0, loader_cr4};
use e2e_protocol::tables::IDT_KEXEC_OWN;
use e2e_protocol::{EXPECTATION_MAGIC, Expectation, distinctive_regs};
use purgatory_abi::{SHA256_DIGEST_SYMBOL, STACK_END_SYMBOL};

fn raw_request(payload: &[u8], entry_offset: u64, load_addr: Option<u64>) -> Request<'_> {
    let payload = Payload::Raw {
        bytes: payload,
        entry_offset,
        load_addr,
        kexec_idt: IDT_KEXEC_OWN,
    };
    crate::testing::request(payload, PurgatoryAddr::Low)
}

#[test]
fn raw_payload_gets_the_probe_protocol() {
    let payload = vec![0xccu8; 0x2100];
    let request = Request {
        purgatory_addr: PurgatoryAddr::Below4G,
        host_5level: true,
        purgatory_flags: FLAG_SOFTWARE_SHA256,
        ..raw_request(&payload, 0x120, None)
    };
    let plan = build(request, &map()).unwrap();
    let [payload_seg, page, purgatory] = &plan.segments[..] else {
        unreachable!()
    };
    assert_eq!(
        (payload_seg.addr, payload_seg.mem_size),
        (0x100_0000, 0x3000)
    );
    assert_eq!(plan.regs.rip, 0x100_0120);
    assert_eq!(plan.regs.rsi, page.addr);
    assert_eq!(plan.regs.rbx, 0);
    assert_eq!(plan.regs.rax, distinctive_regs().rax);
    let stack_end = Purgatory::embedded()
        .unwrap()
        .image()
        .symbol(STACK_END_SYMBOL)
        .unwrap()
        .offset;
    assert_eq!(plan.regs.rsp, purgatory.addr + stack_end);
    let expected = Expectation {
        magic: EXPECTATION_MAGIC,
        regs: plan.regs,
        purgatory_start: purgatory.addr,
        purgatory_end: purgatory.addr + Purgatory::embedded().unwrap().image().mem_size(),
        cr0: LOADER_CR0,
        cr0_mask: CR0_KNOWN,
        cr4: loader_cr4(true),
        cr4_mask: CR4_KNOWN,
        purgatory_flags: FLAG_SOFTWARE_SHA256,
        digest_offset: Purgatory::embedded()
            .unwrap()
            .image()
            .symbol(SHA256_DIGEST_SYMBOL)
            .unwrap()
            .offset,
        idt: IDT_KEXEC_OWN,
    };
    assert_eq!(&page.bytes[..], &expected.to_bytes()[..]);
}

#[test]
fn corrupt_flips_one_byte() {
    let payload = vec![0x11u8; 0x2000];
    let mut plan = build(raw_request(&payload, 0, Some(0x200_0000)), &map()).unwrap();
    let before = plan.clone();
    let note = plan.corrupt("payload", Some(0x10)).unwrap().to_string();
    assert!(note.contains("0x2000010"), "{note}");
    let changed: Vec<_> = plan.segments[0]
        .bytes
        .iter()
        .zip(&before.segments[0].bytes)
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed, [(&0xee, &0x11)]);
    assert_eq!(plan.digest, before.digest);
    let error = |name, offset| plan.clone().corrupt(name, offset).unwrap_err().to_string();
    assert!(error("purgatory", None).contains("not verified"));
    assert!(error("nope", None).contains("payload, expectation, purgatory"));
    assert!(error("payload", Some(0x2000)).contains("outside"));
}

#[test]
fn corruption_names_the_region_and_reaches_the_report() {
    let bytes = synthetic_bzimage(0x3000);
    let image = BzImage::parse(&bytes).unwrap();
    let mut plan = build(bz_request(image, None, PurgatoryAddr::High), &map()).unwrap();
    let note = plan.corrupt("boot-params", Some(0)).unwrap().to_string();
    assert!(
        note.contains("(segment 1 at 0x10000, boot-params + 0x0)"),
        "{note}"
    );
    let report = plan.report(Vec::new());
    let corruption = report.corruption.as_ref().unwrap();
    assert_eq!(
        (
            corruption.region,
            corruption.address,
            corruption.segment.as_str()
        ),
        (1, 0x1_0000, "boot-params")
    );
    let line = report.to_line().unwrap();
    assert_eq!(PlanReport::from_line(&line).unwrap(), report);
}

#[test]
fn nothing_to_corrupt_without_verification() {
    let bytes = synthetic_bzimage(0x3000);
    let image = BzImage::parse(&bytes).unwrap();
    let mut request = bz_request(image, None, PurgatoryAddr::High);
    request.verify = false;
    let mut plan = build(request, &map()).unwrap();
    assert!(
        plan.corrupt("kernel", None)
            .unwrap_err()
            .to_string()
            .contains("not verified")
    );
}

#[test]
fn bad_raw_requests() {
    let payload = [0u8; 16];
    let request = Request {
        purgatory_addr: PurgatoryAddr::High,
        ..raw_request(&payload, 16, None)
    };
    assert!(
        build(request, &map())
            .unwrap_err()
            .to_string()
            .contains("outside the 0x10-byte payload")
    );
    assert!(matches!(
        build(raw_request(&[], 0, None), &map()),
        Err(PlanError::EmptyPayload)
    ));
}
