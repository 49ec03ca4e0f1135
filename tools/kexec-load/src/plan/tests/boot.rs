//! Plans from sysfs fixture trees: what a kernel inherits through its boot
//! parameters on UEFI and BIOS, read back from the boot-params segment's
//! bytes at zero-page.rst's offsets.

use super::*;
use crate::handover::{self, Handover};
use crate::memmap;
use crate::support::{OVMF_ACPI20, OVMF_RUNTIME_MAP, SysfsFixture, scratch_dir, walk_setup_data};
use crate::sysfs::Sysfs;

const SEED: [u8; 32] = [0x5e; 32];

/// A synthetic kernel built with EFI and kexec support (XLF_EFI_KEXEC).
fn efi_kernel() -> Vec<u8> {
    let mut bytes = synthetic_bzimage(0x3000);
    bytes[0x236] |= 1 << 4;
    bytes
}

/// The plan for `kernel` on the system `fixture` describes.
fn plan_on(fixture: &SysfsFixture, kernel: &[u8], noefi: bool) -> Plan {
    let sysfs = Sysfs::new(&fixture.root);
    let handover = handover::read(&sysfs, noefi, Some(SEED)).unwrap();
    let map = memmap::read(&sysfs.memmap()).unwrap();
    let request = Request {
        handover,
        ..bz_request(BzImage::parse(kernel).unwrap(), None, PurgatoryAddr::High)
    };
    build(request, &map).unwrap()
}

fn boot_params(plan: &Plan) -> &PlannedSegment {
    plan.segments
        .iter()
        .find(|s| s.name == "boot-params")
        .unwrap()
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// The chain from `hdr.setup_data`, each node inside the segment.
fn chain(params: &PlannedSegment) -> Vec<(u64, u32, Vec<u8>)> {
    let nodes = walk_setup_data(&params.bytes, params.addr, u64_at(&params.bytes, 0x250));
    for (addr, _, payload) in &nodes {
        assert!(*addr >= params.addr + 0x1000 && addr + 16 + payload.len() as u64 <= params.end());
    }
    nodes
}

#[test]
fn a_uefi_boot_hands_over_efi_acpi_and_the_seed() {
    let dir = scratch_dir("plan-uefi");
    let fixture = SysfsFixture::uefi(&dir);
    let plan = plan_on(&fixture, &efi_kernel(), false);
    let params = boot_params(&plan);
    assert!(params.verified(), "the hand-over is in a verified segment");
    let page = &params.bytes;
    // efi_info at 0x1c0: the running kernel's, with the new memory map.
    assert_eq!(&page[0x1c0..0x1c4], b"EL64");
    assert_eq!(u32_at(page, 0x1c4), 0x7fbe_e018);
    assert_eq!((u32_at(page, 0x1c8), u32_at(page, 0x1cc)), (48, 1));
    let memmap = u64::from(u32_at(page, 0x1d0)) | u64::from(u32_at(page, 0x1dc)) << 32;
    let memmap_size = u32_at(page, 0x1d4) as usize;
    assert_eq!(memmap_size, OVMF_RUNTIME_MAP.len() * 48);
    let at = usize::try_from(memmap - params.addr).unwrap();
    assert!(
        at >= 0x1000 && at.is_multiple_of(16),
        "after the command line"
    );
    for (i, &(kind, phys, virt, pages, attribute)) in OVMF_RUNTIME_MAP.iter().enumerate() {
        let md = &page[at + 48 * i..at + 48 * (i + 1)];
        assert_eq!(
            (
                u32_at(md, 0),
                u64_at(md, 8),
                u64_at(md, 16),
                u64_at(md, 24),
                u64_at(md, 32)
            ),
            (kind, phys, virt, pages, attribute)
        );
    }
    assert_eq!(u64_at(page, 0x70), OVMF_ACPI20, "acpi_rsdp_addr");
    let nodes = chain(params);
    let kinds: Vec<_> = nodes.iter().map(|(_, kind, _)| *kind).collect();
    assert_eq!(kinds, [4, 9], "SETUP_EFI, SETUP_RNG_SEED");
    let efi = &nodes[0].2;
    assert_eq!(efi.len(), 96);
    assert_eq!(
        [
            u64_at(efi, 0),
            u64_at(efi, 8),
            u64_at(efi, 16),
            u64_at(efi, 24)
        ],
        [0x7fbe_e098, 0x7fbe_eb98, 0x7fbe_da18, 0x7f8f_1000]
    );
    assert_eq!(nodes[1].2, SEED);
    // The report says what the bytes say.
    let boot = plan.boot.as_ref().unwrap();
    assert_eq!(boot.firmware, "uefi");
    let reported: Vec<_> = boot
        .setup_data
        .iter()
        .map(|n| (n.addr, n.type_code, n.len))
        .collect();
    let walked: Vec<_> = nodes
        .iter()
        .map(|(a, k, p)| (*a, *k, p.len() as u32))
        .collect();
    assert_eq!(reported, walked);
    let efi = boot.efi.as_ref().unwrap();
    assert_eq!(
        (efi.memmap, efi.descriptors),
        (memmap, OVMF_RUNTIME_MAP.len())
    );
    assert_eq!(boot.acpi_rsdp.as_ref().unwrap().addr, OVMF_ACPI20);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn noefi_hands_over_a_bios_style_zero_page() {
    let dir = scratch_dir("plan-noefi");
    let fixture = SysfsFixture::uefi(&dir);
    let plan = plan_on(&fixture, &efi_kernel(), true);
    let params = boot_params(&plan);
    assert!(
        params.bytes[0x1c0..0x1e0].iter().all(|&b| b == 0),
        "no efi_info"
    );
    assert_eq!(u64_at(&params.bytes, 0x70), OVMF_ACPI20, "ACPI still");
    let kinds: Vec<_> = chain(params).iter().map(|(_, kind, _)| *kind).collect();
    assert_eq!(kinds, [9], "the seed only");
    let boot = plan.boot.unwrap();
    assert_eq!(
        (boot.efi, boot.efi_withheld.as_deref()),
        (None, Some("--noefi"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_kernel_without_xlf_efi_kexec_gets_no_efi() {
    let dir = scratch_dir("plan-no-xlf");
    let fixture = SysfsFixture::uefi(&dir);
    let plan = plan_on(&fixture, &synthetic_bzimage(0x3000), false);
    let params = boot_params(&plan);
    assert!(params.bytes[0x1c0..0x1e0].iter().all(|&b| b == 0));
    assert!(
        plan.notes.iter().any(|n| n.contains("XLF_EFI_KEXEC")),
        "{:?}",
        plan.notes
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ranges_past_128_go_to_setup_e820_ext() {
    let dir = scratch_dir("plan-e820-ext");
    let fixture = SysfsFixture::bios(&dir);
    fixture.fragment_memmap(141);
    let plan = plan_on(&fixture, &efi_kernel(), false);
    let map = memmap::read(&Sysfs::new(&fixture.root).memmap()).unwrap();
    assert_eq!(map.len(), 141);
    let params = boot_params(&plan);
    assert_eq!(params.bytes[0x1e8], 128, "e820_entries");
    let nodes = chain(params);
    let (_, kind, ext) = &nodes[0];
    assert_eq!(*kind, 1, "SETUP_E820_EXT first");
    assert_eq!(ext.len(), 13 * 20, "every range past 128, none dropped");
    for (entry, range) in ext.chunks_exact(20).zip(&map[128..]) {
        assert_eq!(
            (u64_at(entry, 0), u64_at(entry, 8), u32_at(entry, 16)),
            (range.start, range.end - range.start, range.e820_type)
        );
    }
    let boot = plan.boot.unwrap();
    assert_eq!((boot.e820_entries, boot.e820_in_zero_page), (141, 128));
    let _ = std::fs::remove_dir_all(&dir);
}

/// On BIOS the zero page is today's but for the RSDP and the seed's link,
/// and the command line is where it was.
#[test]
fn a_bios_boot_changes_only_the_rsdp_and_the_chain() {
    let dir = scratch_dir("plan-bios");
    let fixture = SysfsFixture::bios(&dir);
    let kernel = efi_kernel();
    let plan = plan_on(&fixture, &kernel, false);
    let map = memmap::read(&Sysfs::new(&fixture.root).memmap()).unwrap();
    let before = build(
        Request {
            handover: Handover::default(),
            ..bz_request(BzImage::parse(&kernel).unwrap(), None, PurgatoryAddr::High)
        },
        &map,
    )
    .unwrap();
    let (now, then) = (&boot_params(&plan).bytes, &boot_params(&before).bytes);
    assert_eq!(boot_params(&plan).addr, boot_params(&before).addr);
    let differing: Vec<usize> = (0..then.len()).filter(|&i| now[i] != then[i]).collect();
    assert!(
        differing
            .iter()
            .all(|&i| (0x70..0x78).contains(&i) || (0x250..0x258).contains(&i)),
        "{differing:x?}"
    );
    assert_eq!(u64_at(now, 0x70), 0xf_5a40);
    let kinds: Vec<_> = chain(boot_params(&plan))
        .iter()
        .map(|(_, kind, _)| *kind)
        .collect();
    assert_eq!(kinds, [9]);
    assert_eq!(plan.boot.unwrap().firmware, "bios");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fixture_refusals_are_named() {
    let dir = scratch_dir("plan-refusals");
    let fixture = SysfsFixture::uefi(&dir);
    let sysfs = Sysfs::new(&fixture.root);
    fixture.set_descriptor_version(2);
    let err = handover::read(&sysfs, false, None).unwrap_err().to_string();
    assert!(
        err.contains("version 2") && err.contains("--noefi"),
        "{err}"
    );
    assert!(handover::read(&sysfs, true, None).is_ok(), "--noefi plans");
    fixture.set_descriptor_version(1);
    std::fs::remove_dir_all(dir.join("firmware/efi/runtime-map")).unwrap();
    let err = handover::read(&sysfs, false, None).unwrap_err().to_string();
    assert!(err.contains("CONFIG_EFI_RUNTIME_MAP=y"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
