//! The capture kernel's e820 map, as Linux's own crash loader writes it
//! (`crash_setup_memmap_entries`, the same in 6.12 and 7.3 but for the CMA
//! areas 7.x adds): the System RAM of the first MiB, the ACPI tables and NVS
//! and the e820 reserved ranges with their types (the capture kernel maps
//! and parses ACPI through them), the low reservation of `,high` and the
//! CMA areas as RAM, and the main reservation as RAM except the ELF core
//! headers, which the capture kernel must leave alone until `/proc/vmcore`
//! has read them. Nothing else of the dead kernel's RAM is RAM to it.

use super::elfcore::LOW_MEMORY;
use super::iomem::{Iomem, Kind, Reservations};
use super::span::Span;
use crate::layout::PAGE_SIZE;
use crate::memmap::{E820_ACPI, E820_NVS, E820_RAM, E820_RESERVED, MemoryRange};

/// The map, sorted by address.
pub fn capture_map(
    iomem: &Iomem,
    reservations: &Reservations,
    cma: &[Span],
    elfcorehdr: Span,
) -> Vec<MemoryRange> {
    let low_ram = iomem
        .spans(Kind::Ram)
        .iter()
        .filter_map(|span| span.clip(&LOW_MEMORY))
        .collect::<Vec<_>>();
    let reservation = reservations
        .main
        .minus(&elfcorehdr)
        .into_iter()
        .filter(|piece| piece.len() >= PAGE_SIZE);
    let mut entries: Vec<MemoryRange> = [
        (low_ram, E820_RAM),
        (iomem.spans(Kind::AcpiTables), E820_ACPI),
        (iomem.spans(Kind::AcpiNvs), E820_NVS),
        (iomem.spans(Kind::Reserved), E820_RESERVED),
        (reservations.low.clone(), E820_RAM),
        (reservation.collect(), E820_RAM),
        (cma.to_vec(), E820_RAM),
    ]
    .into_iter()
    .flat_map(|(spans, e820_type)| {
        spans
            .into_iter()
            .map(move |span| span.memory_range(e820_type))
    })
    .collect();
    entries.sort_by_key(|range| (range.start, range.end));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::crash::{QEMU_IOMEM_HIGH, QEMU_IOMEM_LOW};

    fn map(iomem: &str, cma: &[Span], elfcorehdr: Span) -> Vec<(u64, u64, u32)> {
        let iomem = Iomem::parse(iomem, "iomem").unwrap();
        let reservations = Reservations::find(&iomem).unwrap();
        capture_map(&iomem, &reservations, cma, elfcorehdr)
            .iter()
            .map(|r| (r.start, r.end, r.e820_type))
            .collect()
    }

    #[test]
    fn low_reservation() {
        let headers = Span::new(0x7eff_f000, 0x7f00_0000);
        assert_eq!(
            map(QEMU_IOMEM_LOW, &[], headers),
            [
                (0, 0x1000, 2),
                (0x1000, 0x9_fc00, 1),
                (0x9_fc00, 0xa_0000, 2),
                (0xf_0000, 0x10_0000, 2),
                (0x6f00_0000, 0x7eff_f000, 1),
                (0x7ffe_0000, 0x8000_0000, 2),
                (0xfffc_0000, 0x1_0000_0000, 2),
                (0xfd_0000_0000, 0x100_0000_0000, 2),
            ]
        );
    }

    #[test]
    fn high_reservation_with_its_low_part_and_cma() {
        let headers = Span::new(0x1_b000_0000, 0x1_b000_1000);
        let cma = [Span::new(0x1_4000_0000, 0x1_4800_0000)];
        let ram: Vec<_> = map(QEMU_IOMEM_HIGH, &cma, headers)
            .into_iter()
            .filter(|&(_, _, t)| t == 1)
            .collect();
        assert_eq!(
            ram,
            [
                (0x1000, 0x9_fc00, 1),
                (0xaf00_0000, 0xbf00_0000, 1),
                (0x1_4000_0000, 0x1_4800_0000, 1),
                (0x1_af00_0000, 0x1_b000_0000, 1),
                (0x1_b000_1000, 0x1_bf00_0000, 1),
            ]
        );
    }

    #[test]
    fn acpi_keeps_its_types_and_slivers_are_dropped() {
        let iomem = "\
00001000-0009fbff : System RAM
00100000-7ffdffff : System RAM
  6f000000-7effffff : Crash kernel
7ffe0000-7ffe7fff : ACPI Tables
7ffe8000-7fffffff : ACPI Non-volatile Storage
";
        // The headers leave 0x800 bytes at the bottom: less than a page.
        let headers = Span::new(0x6f00_0800, 0x6f00_2000);
        assert_eq!(
            map(iomem, &[], headers),
            [
                (0x1000, 0x9_fc00, 1),
                (0x6f00_2000, 0x7f00_0000, 1),
                (0x7ffe_0000, 0x7ffe_8000, 3),
                (0x7ffe_8000, 0x8000_0000, 4),
            ]
        );
    }
}
