//! What the kernel takes from the reservation for itself when it loads a
//! crash image, besides the segments: every "control page" of a crash image
//! comes from free pages of `crashk_res` (`kimage_alloc_crash_control_pages`,
//! which scans it upwards for holes between the segments), one page at a
//! time on x86_64:
//!
//! * the page `relocate_kernel` runs from (`kimage_alloc_init`,
//!   `KEXEC_CONTROL_PAGE_SIZE` = 4096);
//! * the safe copy of VMCOREINFO (`kimage_crash_copy_vmcoreinfo`, one page);
//! * the identity map the purgatory runs on (`machine_kexec_prepare` →
//!   `init_pgtable`, every table through `alloc_pgt_page`): a top-level page,
//!   a P4D page with 5-level paging, a PUD page per 512 GiB and, on a CPU
//!   without 1 GiB pages, a PMD page per GiB of what it maps (all RAM, the
//!   segments, and the ACPI tables, EFI system table and serial MMIO below
//!   4 GiB).
//!
//! A load whose segments leave less than [`control_room`] free in the
//! reservation fails in the kernel with `ENOMEM`; the plan refuses it first.

use crate::layout::PAGE_SIZE;

const GIB: u64 = 1 << 30;
/// The control code page and the VMCOREINFO copy.
const FIXED_PAGES: u64 = 2;
/// The top level, and a P4D level with 5-level paging.
const TOP_LEVEL_PAGES: u64 = 2;
/// Mappings outside RAM (ACPI, EFI, serial MMIO) in GiBs RAM does not touch.
const SPARE_PAGES: u64 = 8;

/// Bytes the kernel needs free in the reservation when RAM ends at `ram_end`.
pub fn control_room(ram_end: u64) -> u64 {
    let mapped = ram_end.max(1 << 32);
    let tables = TOP_LEVEL_PAGES + mapped.div_ceil(512 * GIB) + mapped.div_ceil(GIB);
    (FIXED_PAGES + tables + SPARE_PAGES) * PAGE_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_per_gib_and_a_few_more() {
        // 2 + (2 + 1 + 4) + 8 pages for anything under 4 GiB.
        assert_eq!(control_room(2 * GIB), 17 * PAGE_SIZE);
        assert_eq!(control_room(7 * GIB), 20 * PAGE_SIZE);
        // A terabyte machine: 1024 PMD pages and 2 PUD pages.
        assert_eq!(control_room(1024 * GIB), (2 + 2 + 2 + 1024 + 8) * PAGE_SIZE);
    }
}
