//! Crash kernels' plans (`-p`) on what two QEMU guests showed: every segment
//! in the main reservation, the ELF core headers at its top and named by
//! `elfcorehdr=`, the capture kernel's memory map in its zero page, and each
//! refusal named.

use super::*;
use crate::crash::iomem::Iomem;
use crate::crash::{CrashError, CrashSources, Span};
use crate::support::crash::{QEMU_HIGH, QEMU_IOMEM_LOW, QEMU_LOW};
use crate::testing::crash_sources;
use goblin::elf::Elf;

const LOW_RESERVATION: Span = Span::new(0x6f00_0000, 0x7f00_0000);
const HIGH_RESERVATION: Span = Span::new(0x1_af00_0000, 0x1_bf00_0000);
/// The zero page's e820 table: count at 0x1e8, entries from 0x2d0.
const E820_ENTRIES: usize = 0x1e8;
const E820_TABLE: usize = 0x2d0;

fn crash_request<'a>(
    image: BzImage<'a>,
    initrd: Option<Vec<u8>>,
    sources: CrashSources,
) -> Request<'a> {
    Request {
        crash: Some(sources),
        ..bz_request(image, initrd, PurgatoryAddr::High)
    }
}

fn crash_plan(sources: CrashSources, initrd_len: usize) -> Result<Plan, PlanError> {
    let bytes = synthetic_bzimage(0x3000);
    let image = BzImage::parse(&bytes).unwrap();
    let initrd = (initrd_len > 0).then(|| vec![0x5a; initrd_len]);
    build(crash_request(image, initrd, sources), &map())
}

/// `(start, end, type)` of the zero page's e820 table.
fn zero_page_e820(params: &[u8]) -> Vec<(u64, u64, u32)> {
    let count = usize::from(params[E820_ENTRIES]);
    (0..count)
        .map(|i| {
            let at = E820_TABLE + 20 * i;
            let u64_at = |o: usize| u64::from_le_bytes(params[o..o + 8].try_into().unwrap());
            let start = u64_at(at);
            let kind = u32::from_le_bytes(params[at + 16..at + 20].try_into().unwrap());
            (start, start + u64_at(at + 8), kind)
        })
        .collect()
}

#[test]
fn a_crash_kernel_lives_in_the_reservation() {
    let plan = crash_plan(crash_sources(&QEMU_LOW), 0x12_3456).unwrap();
    let names: Vec<_> = plan.segments.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        ["elfcorehdr", "kernel", "boot-params", "initrd", "purgatory"]
    );
    for segment in &plan.segments {
        assert!(
            LOW_RESERVATION.contains(&Span::new(segment.addr, segment.end())),
            "{} at {:#x}",
            segment.name,
            segment.addr
        );
    }
    let [headers, kernel, params, initrd, purgatory] = &plan.segments[..] else {
        unreachable!()
    };
    assert_eq!(
        headers.end(),
        LOW_RESERVATION.end,
        "the headers go at the top"
    );
    assert_eq!(
        kernel.addr, LOW_RESERVATION.start,
        "the kernel at the bottom, aligned"
    );
    assert_eq!(initrd.end(), headers.addr);
    assert_eq!(purgatory.end(), initrd.addr);
    assert!(headers.verified() && kernel.verified() && initrd.verified());
    assert!(LOW_RESERVATION.start <= plan.entry && plan.entry < LOW_RESERVATION.end);
    // The command line starts with elfcorehdr=, the headers' address.
    let cmdline = &params.bytes[0x1000..];
    let expected = format!(
        "elfcorehdr={:#x} console=ttyS0 e2e.marker=x\0",
        headers.addr
    );
    assert_eq!(cmdline, expected.as_bytes());
    let crash = plan.crash.as_ref().unwrap();
    assert_eq!(crash.reservation, LOW_RESERVATION);
    assert_eq!(crash.elfcorehdr, Span::new(headers.addr, headers.end()));
    assert!(crash.free >= crash.control_room && crash.control_room > 0);
    assert_eq!(
        crash.free,
        LOW_RESERVATION.len() - plan.segments.iter().map(|s| s.mem_size).sum::<u64>()
    );
    // The zero page carries the capture kernel's map: the reservation but
    // the headers as RAM, the first MiB's RAM, the reserved ranges.
    let e820 = zero_page_e820(&params.bytes);
    let ram: Vec<_> = e820.iter().filter(|e| e.2 == 1).collect();
    assert_eq!(
        ram,
        [
            &(0x1000, 0x9_fc00, 1),
            &(LOW_RESERVATION.start, headers.addr, 1)
        ]
    );
    assert_eq!(e820.len(), crash.memmap.len());
    let ram = Iomem::parse(QEMU_IOMEM_LOW, "iomem").unwrap().ram_ranges();
    assert_eq!(
        crate::kexec::plan_violations(&plan, &ram),
        Vec::<String>::new()
    );
}

#[test]
fn the_headers_segment_is_the_elf_core_header() {
    let plan = crash_plan(crash_sources(&QEMU_LOW), 0).unwrap();
    let headers = &plan.segments[0];
    let crash = plan.crash.as_ref().unwrap();
    assert_eq!(headers.bytes.len() as u64, crash.elfcorehdr_bytes);
    let elf = Elf::parse(&headers.bytes).unwrap();
    // Two CPUs, VMCOREINFO, the kernel text, and the RAM from 1 MiB on
    // both sides of the reservation.
    assert_eq!(elf.program_headers.len(), 2 + 1 + 1 + 2);
    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
        .map(|p| (p.p_paddr, p.p_memsz))
        .collect();
    assert_eq!(
        loads,
        [
            (0x4120_0000, 0x2c3_0000),
            (0x10_0000, LOW_RESERVATION.start - 0x10_0000),
            (LOW_RESERVATION.end, 0x7ffe_0000 - LOW_RESERVATION.end)
        ]
    );
    assert_eq!(crash.dumped_bytes(), loads.iter().map(|l| l.1).sum::<u64>());
}

#[test]
fn above_4g_with_the_low_part_as_capture_ram() {
    let plan = crash_plan(crash_sources(&QEMU_HIGH), 0x1000).unwrap();
    for segment in &plan.segments {
        assert!(HIGH_RESERVATION.contains(&Span::new(segment.addr, segment.end())));
    }
    let crash = plan.crash.as_ref().unwrap();
    assert_eq!(
        crash.low_reservations,
        [Span::new(0xaf00_0000, 0xbf00_0000)]
    );
    let params = plan
        .segments
        .iter()
        .find(|s| s.name == "boot-params")
        .unwrap();
    assert!(zero_page_e820(&params.bytes).contains(&(0xaf00_0000, 0xbf00_0000, 1)));
    // The kernel's pointers to what is above 4 GiB carry their high halves.
    assert_eq!(
        u32::from_le_bytes(params.bytes[0xc8..0xcc].try_into().unwrap()),
        1,
        "ext_cmd_line_ptr"
    );
}

#[test]
fn a_kernel_that_must_stay_below_4g_cannot_use_a_high_reservation() {
    let mut bytes = synthetic_bzimage(0x3000);
    bytes[0x236] &= !2; // no XLF_CAN_BE_LOADED_ABOVE_4G
    let image = BzImage::parse(&bytes).unwrap();
    let err = build(
        crash_request(image, None, crash_sources(&QEMU_HIGH)),
        &map(),
    )
    .unwrap_err();
    assert!(
        matches!(err, PlanError::Crash(CrashError::KernelBelow4G { reservation }) if reservation == HIGH_RESERVATION),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("XLF_CAN_BE_LOADED_ABOVE_4G") && text.contains("without ,high"),
        "{text}"
    );
    // Below 4 GiB the same kernel is fine.
    let image = BzImage::parse(&bytes).unwrap();
    assert!(build(crash_request(image, None, crash_sources(&QEMU_LOW)), &map()).is_ok());
}

#[test]
fn too_much_for_the_reservation_gives_both_sizes() {
    let err = crash_plan(crash_sources(&QEMU_LOW), 300 << 20).unwrap_err();
    assert!(
        matches!(&err, PlanError::Crash(CrashError::TooSmall { reservation, .. }) if *reservation == LOW_RESERVATION),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("the reservation has 0x10000000 bytes (256 MiB) at 0x6f000000")
            && text.contains("the initrd"),
        "{text}"
    );
    // Segments that fit, but leave less than the kernel's control pages.
    let small = Span::new(LOW_RESERVATION.start, LOW_RESERVATION.start + (16 << 20));
    let sources = with_reservation(small);
    let plan = crash_plan(sources.clone(), 0).unwrap();
    let taken: u64 = plan.segments.iter().map(|s| s.mem_size).sum();
    let room = plan.crash.unwrap().control_room;
    let squeezed = small.len() - taken - room + 0x1000;
    let err = crash_plan(sources.clone(), squeezed as usize).unwrap_err();
    assert!(
        matches!(&err, PlanError::Crash(CrashError::TooSmall { room: r, .. }) if *r == room),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("left free for the kernel's control pages"),
        "{err}"
    );
    let plan = crash_plan(sources, squeezed as usize - 0x1000).unwrap();
    assert_eq!(plan.crash.unwrap().free, room, "exactly the room is left");
}

/// QEMU's 2 GiB guest with `reservation` as its "Crash kernel".
fn with_reservation(reservation: Span) -> CrashSources {
    let mut sources = crash_sources(&QEMU_LOW);
    for resource in &mut sources.iomem.resources {
        if resource.name == "Crash kernel" {
            resource.span = reservation;
        }
    }
    sources
}

#[test]
fn room_split_in_pieces_is_named() {
    // A reservation that does not start on the kernel's 2 MiB alignment: the
    // boot parameters take the bottom, the kernel goes 2 MiB up, and the
    // rest is too split for an initrd that fits by size.
    let unaligned = Span::new(
        LOW_RESERVATION.start + 0x1000,
        LOW_RESERVATION.start + (16 << 20),
    );
    let sources = with_reservation(unaligned);
    let plan = crash_plan(sources.clone(), 0).unwrap();
    let taken: u64 = plan.segments.iter().map(|s| s.mem_size).sum();
    let room = plan.crash.unwrap().control_room;
    let exact_fit = unaligned.len() - taken - room;
    let err = crash_plan(sources, exact_fit as usize).unwrap_err();
    assert!(
        matches!(
            &err,
            PlanError::Crash(CrashError::NoRoom {
                segment: "initrd",
                ..
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("not in one piece"), "{err}");
}

#[test]
fn without_crashkernel_the_user_is_told_to_reserve() {
    let mut sources = crash_sources(&QEMU_LOW);
    sources.iomem.resources.retain(|r| r.name != "Crash kernel");
    let err = crash_plan(sources, 0).unwrap_err().to_string();
    assert!(
        err.contains("crashkernel=") && err.contains("/proc/iomem"),
        "{err}"
    );
}

#[test]
fn the_report_carries_the_crash_plan() {
    let plan = crash_plan(crash_sources(&QEMU_HIGH), 0).unwrap();
    let report = plan.report(Vec::new());
    let line = report.to_line().unwrap();
    let back = PlanReport::from_line(&line).unwrap();
    assert_eq!(back, report);
    let crash = back.crash.unwrap();
    assert_eq!(crash.reservation, HIGH_RESERVATION);
    assert_eq!(crash.notes.len(), 2);
    assert!(line.contains(r#""what":"kernel-text""#), "{line}");
    assert!(line.contains(&format!(
        r#""param":"elfcorehdr={:#x}""#,
        crash.elfcorehdr.start
    )));
    let mut table = Vec::new();
    crate::print::print(&plan, &mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains(
            "  crash        reservation 0x1af000000..0x1bf000000 (256 MiB) (crashkernel=)"
        ),
        "{table}"
    );
    assert!(table.contains("  0  elfcorehdr "), "{table}");
    assert!(
        table.contains("cpu1 notes at 0x1bfd3da00, 368 bytes"),
        "{table}"
    );
}
