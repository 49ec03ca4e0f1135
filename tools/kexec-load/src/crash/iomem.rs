//! `/proc/iomem`: the kernel's resource tree, one `start-end : name` line per
//! resource, two spaces of indent per level. It is the only place that shows
//! the `crashkernel=` reservation ("Crash kernel"), and the ranges the
//! kernel's own crash loader walks (`arch/x86/kernel/crash.c`): "System RAM"
//! for the dump, "ACPI Tables", "ACPI Non-volatile Storage" and the e820
//! "Reserved" ranges for the capture kernel's map. Without root every
//! address reads as 0.

use super::error::CrashError;
use super::span::Span;
use crate::memmap::{E820_RAM, MemoryRange};

/// One line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub span: Span,
    pub name: String,
    /// Nesting level: 0 for a top-level resource.
    pub depth: usize,
}

/// The kinds of resource a crash load looks at, by the names the kernel
/// gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// "System RAM", and "System RAM (kmem)" and the like (driver-managed
    /// RAM), as `walk_system_ram_res` finds them.
    Ram,
    /// "Crash kernel": `crashk_res`, and `crashk_low_res` with `,high`.
    CrashKernel,
    /// "ACPI Tables" (`IORES_DESC_ACPI_TABLES`).
    AcpiTables,
    /// "ACPI Non-volatile Storage" (`IORES_DESC_ACPI_NV_STORAGE`).
    AcpiNvs,
    /// e820's reserved ranges ("Reserved"; "reserved" in older kernels).
    Reserved,
}

impl Kind {
    fn of(name: &str) -> Option<Self> {
        match name {
            "Crash kernel" => Some(Self::CrashKernel),
            "ACPI Tables" => Some(Self::AcpiTables),
            "ACPI Non-volatile Storage" => Some(Self::AcpiNvs),
            "Reserved" | "reserved" => Some(Self::Reserved),
            _ if name.starts_with("System RAM") => Some(Self::Ram),
            _ => None,
        }
    }
}

/// The parsed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iomem {
    pub resources: Vec<Resource>,
}

impl Iomem {
    /// Parses the text; `path` names the file in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, CrashError> {
        let resources = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                parse_line(line).ok_or_else(|| CrashError::Malformed {
                    path: path.to_owned(),
                    why: format!("line {}: {line:?} is not \"start-end : name\"", index + 1),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if resources.is_empty() {
            return Err(CrashError::Malformed {
                path: path.to_owned(),
                why: "no resources".into(),
            });
        }
        if resources
            .iter()
            .all(|r| r.span.start == 0 && r.span.end <= 1)
        {
            return Err(CrashError::AddressesHidden {
                path: path.to_owned(),
            });
        }
        Ok(Self { resources })
    }

    /// Every resource of `kind`, at any depth, in file (address) order.
    pub fn spans(&self, kind: Kind) -> Vec<Span> {
        self.resources
            .iter()
            .filter(|r| Kind::of(&r.name) == Some(kind))
            .map(|r| r.span)
            .collect()
    }

    /// The System RAM as memory ranges (what `kexec_load` checks segments
    /// and their total against).
    pub fn ram_ranges(&self) -> Vec<MemoryRange> {
        self.spans(Kind::Ram)
            .into_iter()
            .map(|span| span.memory_range(E820_RAM))
            .collect()
    }

    /// The end of the highest System RAM.
    pub fn ram_end(&self) -> u64 {
        self.spans(Kind::Ram)
            .iter()
            .map(|s| s.end)
            .max()
            .unwrap_or(0)
    }
}

/// `  start-end : name`, the last byte inclusive as the kernel prints it.
fn parse_line(line: &str) -> Option<Resource> {
    let body = line.trim_start_matches(' ');
    let depth = (line.len() - body.len()) / 2;
    let (range, name) = body.split_once(" : ")?;
    Some(Resource {
        span: Span::parse_inclusive(range)?,
        name: name.trim_end().to_owned(),
        depth,
    })
}

/// The reservations of `crashkernel=`. x86 makes at most two: `crashk_res`,
/// where `kexec_load` accepts the segments (`sanity_check_segment_list`
/// refuses anything outside it with `EADDRNOTAVAIL`), and with `,high`
/// (or a fallback above 4 GiB) `crashk_low_res` below 4 GiB for DMA, which
/// the capture kernel gets as RAM but which holds no segment. The low one is
/// only made when the main one lies above 4 GiB, so the main one is the
/// highest (kexec-tools chooses the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservations {
    pub main: Span,
    pub low: Vec<Span>,
}

impl Reservations {
    /// From the "Crash kernel" lines of `iomem`.
    pub fn find(iomem: &Iomem) -> Result<Self, CrashError> {
        let mut all = iomem.spans(Kind::CrashKernel);
        all.sort();
        let main = all.pop().ok_or(CrashError::NoReservation)?;
        Ok(Self { main, low: all })
    }

    /// Every reserved range, the main one first.
    pub fn all(&self) -> Vec<Span> {
        std::iter::once(self.main).chain(self.low.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::crash::{QEMU_IOMEM_HIGH, QEMU_IOMEM_LOW};

    #[test]
    fn a_qemu_iomem_with_a_low_reservation() {
        let iomem = Iomem::parse(QEMU_IOMEM_LOW, "iomem").unwrap();
        assert_eq!(
            iomem.spans(Kind::Ram),
            [
                Span::new(0x1000, 0x9_fc00),
                Span::new(0x10_0000, 0x7ffe_0000)
            ]
        );
        let reservations = Reservations::find(&iomem).unwrap();
        assert_eq!(reservations.main, Span::new(0x6f00_0000, 0x7f00_0000));
        assert!(reservations.low.is_empty());
        let kernel_code = &iomem.resources[8];
        assert_eq!(
            (kernel_code.name.as_str(), kernel_code.depth),
            ("Kernel code", 1)
        );
        assert_eq!(iomem.ram_end(), 0x7ffe_0000);
        assert_eq!(
            iomem.spans(Kind::Reserved),
            [
                Span::new(0, 0x1000),
                Span::new(0x9_fc00, 0xa_0000),
                Span::new(0xf_0000, 0x10_0000),
                Span::new(0x7ffe_0000, 0x8000_0000),
                Span::new(0xfffc_0000, 0x1_0000_0000),
                Span::new(0xfd_0000_0000, 0x100_0000_0000)
            ]
        );
    }

    #[test]
    fn with_high_the_main_reservation_is_the_highest() {
        let iomem = Iomem::parse(QEMU_IOMEM_HIGH, "iomem").unwrap();
        let reservations = Reservations::find(&iomem).unwrap();
        assert_eq!(reservations.main, Span::new(0x1_af00_0000, 0x1_bf00_0000));
        assert_eq!(reservations.low, [Span::new(0xaf00_0000, 0xbf00_0000)]);
        assert_eq!(reservations.all().len(), 2);
    }

    #[test]
    fn no_reservation_and_bad_files_are_named() {
        let iomem = Iomem::parse("00001000-0009fbff : System RAM\n", "iomem").unwrap();
        let err = Reservations::find(&iomem).unwrap_err();
        assert!(err.to_string().contains("crashkernel="), "{err}");
        let err = Iomem::parse("00001000-0009fbff : System RAM\nnonsense\n", "/proc/iomem")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/proc/iomem") && err.contains("line 2"),
            "{err}"
        );
        let err = Iomem::parse("", "/proc/iomem").unwrap_err().to_string();
        assert!(err.contains("no resources"), "{err}");
        // What a user without root reads.
        let hidden = "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n  00000000-00000000 : Crash kernel\n";
        let err = Iomem::parse(hidden, "/proc/iomem").unwrap_err();
        assert!(matches!(err, CrashError::AddressesHidden { .. }), "{err}");
        assert!(err.to_string().contains("root"), "{err}");
    }
}
