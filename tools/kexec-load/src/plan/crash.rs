//! A crash kernel's plan (`kexec-load -p`): every segment inside the main
//! `crashkernel=` reservation, the only range `kexec_load(KEXEC_ON_CRASH)`
//! accepts. The ELF core headers go first, at its top; the capture
//! kernel's memory map then knows where they are, and `elfcorehdr=` leads its
//! command line, as Linux's own crash loader writes it. The kernel, the boot
//! parameters, the initrd and the purgatory follow as for any kexec
//! (`linux`), in the reservation instead of all RAM, and what is left free
//! must hold the kernel's control pages (`crate::crash::room`).

use super::assembly::Assembly;
use super::error::PlanError;
use crate::bzimage::BzImage;
use crate::crash::capture_map::capture_map;
use crate::crash::elfcore::{self, dumped_ram};
use crate::crash::iomem::Reservations;
use crate::crash::report::MapEntry;
use crate::crash::room::control_room;
use crate::crash::{CrashError, CrashReport, CrashSources, Span};
use crate::layout::{FOUR_GIB, Layout, PAGE_SIZE, PlaceError, Policy, align_up};
use crate::memmap::{E820_RAM, MemoryRange};
use crate::request::Payload;
use crate::zeropage::ZERO_PAGE_SIZE;

/// The segment's name.
pub const ELFCOREHDR: &str = "elfcorehdr";

/// The reservation with the ELF core headers placed.
#[derive(Debug)]
pub struct CrashSite {
    /// The free part of the reservation the other segments go in.
    pub layout: Layout,
    /// Where the segments may go: the reservation, below 4 GiB for a kernel
    /// that must stay there.
    usable: Span,
    headers: Vec<u8>,
    report: CrashReport,
}

impl CrashSite {
    /// Finds the reservation and writes the ELF core headers at its top;
    /// refuses what cannot fit. Also returns the capture kernel's e820 map,
    /// for its zero page.
    pub fn prepare(
        sources: &CrashSources,
        payload: &Payload<'_>,
        purgatory_size: u64,
    ) -> Result<(Self, Vec<MemoryRange>), PlanError> {
        let (image, initrd, cmdline) = match payload {
            Payload::BzImage {
                image,
                initrd,
                cmdline,
            } => (image, initrd, cmdline),
            #[cfg(feature = "e2e")]
            Payload::Raw { .. } => return Err(CrashError::NeedsBzImage.into()),
        };
        let reservations = Reservations::find(&sources.iomem)?;
        let usable = usable(reservations.main, image)?;
        let dumped = dumped_ram(&sources.iomem, &reservations, &sources.cma);
        let loads = elfcore::loads(sources, &dumped);
        let headers = elfcore::build(sources, &loads)?;
        let room = control_room(sources.iomem.ram_end());
        let parts = [
            (
                "the kernel (init_size)",
                image.init_size.max(image.kernel().len() as u64),
            ),
            ("the boot parameters", params_len(cmdline)),
            ("the initrd", initrd.as_ref().map_or(0, |i| i.len() as u64)),
            ("the purgatory", purgatory_size),
            ("the ELF core headers", headers.len() as u64),
            ("the kernel's control pages", room),
        ];
        check_fits(usable, &parts, room)?;
        let mut layout = Layout::new(&[ram(usable)]);
        let at = layout.place(
            ELFCOREHDR,
            headers.len() as u64,
            PAGE_SIZE,
            Policy::Highest { max_end: u64::MAX },
        )?;
        let elfcorehdr = Span::new(at, at + pages(headers.len() as u64));
        let map = capture_map(&sources.iomem, &reservations, &sources.cma, elfcorehdr);
        let report = CrashReport {
            reservation: reservations.main,
            low_reservations: reservations.low,
            cma: sources.cma.clone(),
            elfcorehdr,
            elfcorehdr_bytes: headers.len() as u64,
            param: format!("elfcorehdr={at:#x}"),
            notes: sources.notes.clone(),
            vmcoreinfo: sources.vmcoreinfo,
            loads,
            memmap: map.iter().map(MapEntry::from).collect(),
            control_room: room,
            free: 0,
        };
        let site = Self {
            layout,
            usable,
            headers,
            report,
        };
        Ok((site, map))
    }

    /// The capture kernel's command line: `elfcorehdr=` first.
    pub fn cmdline(&self, cmdline: &str) -> String {
        format!("{} {cmdline}", self.report.param)
    }

    /// Appends the ELF core headers' segment to `site`.
    pub fn push_headers(&mut self, site: &mut Assembly<'_>) {
        let headers = std::mem::take(&mut self.headers);
        let len = headers.len() as u64;
        site.push(ELFCOREHDR, headers, self.report.elfcorehdr.start, len);
    }

    /// A placement that failed in the reservation, said as such.
    pub fn explain(&self, error: PlanError) -> PlanError {
        match error {
            PlanError::Place(PlaceError::NoRoom { name, size, .. }) => CrashError::NoRoom {
                segment: name,
                size,
                reservation: self.usable,
                free: self.layout.free_bytes(),
            }
            .into(),
            other => other,
        }
    }

    /// The report, once every segment is placed. What is left free holds
    /// the kernel's control pages: `prepare` counted them in.
    pub fn finish(mut self, site: &Assembly<'_>) -> CrashReport {
        self.report.free = site.layout.free_bytes();
        self.report
    }
}

/// The reservation, cut at 4 GiB for a kernel without
/// XLF_CAN_BE_LOADED_ABOVE_4G; refused if nothing is left.
fn usable(reservation: Span, image: &BzImage<'_>) -> Result<Span, CrashError> {
    if image.loadable_above_4g() {
        return Ok(reservation);
    }
    reservation
        .clip(&Span::new(0, FOUR_GIB))
        .ok_or(CrashError::KernelBelow4G { reservation })
}

/// Refuses parts that together exceed `usable`, naming the largest.
fn check_fits(usable: Span, parts: &[(&str, u64)], room: u64) -> Result<(), CrashError> {
    let needed: u64 = parts.iter().map(|&(_, size)| pages(size)).sum();
    if needed <= usable.len() {
        return Ok(());
    }
    let (name, size) = parts
        .iter()
        .max_by_key(|&&(_, size)| size)
        .copied()
        .unwrap_or(("nothing", 0));
    Err(CrashError::TooSmall {
        needed,
        reservation: usable,
        room,
        largest: format!("{name}, {size:#x} bytes"),
    })
}

/// The zero page and the command line after it, `elfcorehdr=` included.
fn params_len(cmdline: &str) -> u64 {
    // "elfcorehdr=0x" + 16 digits + " ".
    const PARAM_MAX: u64 = 30;
    ZERO_PAGE_SIZE as u64 + PARAM_MAX + cmdline.len() as u64 + 1
}

fn pages(len: u64) -> u64 {
    align_up(len.max(1), PAGE_SIZE).unwrap_or(u64::MAX)
}

fn ram(span: Span) -> MemoryRange {
    MemoryRange {
        start: span.start,
        end: span.end,
        e820_type: E820_RAM,
        name: "Crash kernel".into(),
    }
}
