//! The load plan: every segment with its bytes and place, the purgatory
//! patched for them (regions, digest, entry registers), and the entry point.
//! Building it needs no privilege, so `--dry-run` prints exactly what a real
//! load would hand to the kernel.
//!
//! [`build`] prepares the purgatory (`patch`), places the payload's
//! segments (`linux` for a bzImage, `raw` for the e2e suite's test payload)
//! in an `Assembly`, then seals the region table and places the purgatory
//! last. A crash kernel (`crash`) is assembled in its reservation, with the
//! ELF core headers first.

mod assembly;
mod boot_data;
#[cfg(feature = "e2e")]
mod corrupt;
mod crash;
mod error;
mod linux;
mod patch;
#[cfg(feature = "e2e")]
mod raw;
mod segment;
#[cfg(feature = "e2e")]
mod test_region;
#[cfg(test)]
mod tests;

use crate::console::Console;
use crate::crash::CrashReport;
use crate::layout::{Layout, Policy};
use crate::memmap::MemoryRange;
use crate::number::hex;
use crate::report::boot::BootReport;
use crate::report::{
    Corruption, DigestReport, HashChoice, PlanReport, PurgatoryReport, SegmentReport, TestRegion,
};
use crate::request::{Payload, Request};
use assembly::Assembly;
#[cfg(feature = "e2e")]
pub use corrupt::CorruptError;
use crash::CrashSite;
pub use crash::ELFCOREHDR;
pub use error::PlanError;
use purgatory_abi::{Entry64Regs, FailurePolicy, Sha256Digest};
pub use segment::PlannedSegment;
#[cfg(feature = "e2e")]
pub use test_region::TestRegionError;

/// Everything `kexec_load` needs, and what to tell the user about it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The header line: what is loaded.
    pub what: String,
    /// In the order handed to the kernel: the verified segments in
    /// region-table order, the purgatory last.
    pub segments: Vec<PlannedSegment>,
    /// Where the old kernel jumps: `purgatory_start`.
    pub entry: u64,
    /// `entry64_regs` as patched.
    pub regs: Entry64Regs,
    /// `purgatory_sha256_digest` as patched.
    pub digest: Sha256Digest,
    /// How the purgatory's address was chosen.
    pub purgatory_policy: Policy,
    /// The purgatory image's memory size (its segment rounds it up).
    pub purgatory_size: u64,
    /// `purgatory_flags` as patched, the failure policy's bit included.
    pub purgatory_flags: u64,
    /// How the purgatory will hash, and why.
    pub hash: HashChoice,
    /// `purgatory_console_port`, and why.
    pub console: Console,
    pub on_failure: FailurePolicy,
    /// What a Linux kernel inherits through its boot parameters (EFI, ACPI,
    /// `setup_data`); `None` for a test payload.
    pub boot: Option<BootReport>,
    /// Extra lines for the user.
    pub notes: Vec<String>,
    /// The byte `--corrupt-after-digest` flipped; only the `e2e` feature has
    /// the option.
    pub corruption: Option<Corruption>,
    /// A crash kernel's reservation, core headers and memory map (`-p`).
    pub crash: Option<CrashReport>,
    /// The region `--test-region` appended after the digest; only the `e2e`
    /// feature has the option.
    pub test_region: Option<TestRegion>,
}

/// Builds the plan for `request` in the RAM of `map`.
pub fn build(request: Request<'_>, map: &[MemoryRange]) -> Result<Plan, PlanError> {
    let mut notes = Vec::new();
    let purgatory = patch::prepare(&request, &mut notes)?;
    // What the purgatory reads, reset bit included.
    let purgatory_flags = purgatory.flags()?;
    let policy = patch::placement(request.purgatory_addr, request.seed);
    let (mut crash, crash_map) = match &request.crash {
        Some(sources) => {
            let size = purgatory.image().mem_size();
            let (crash, map) = CrashSite::prepare(sources, &request.payload, size)?;
            (Some(crash), map)
        }
        None => (None, Vec::new()),
    };
    let (map, layout) = match &crash {
        Some(crash) => (&crash_map[..], crash.layout.clone()),
        None => (map, Layout::new(map)),
    };
    let mut site = Assembly::new(map, layout, purgatory, policy, notes)?;
    let what = match request.payload {
        Payload::BzImage {
            image,
            initrd,
            cmdline,
        } => {
            // A crash kernel's headers go first, and its command line names them.
            let cmdline = match &mut crash {
                Some(crash) => {
                    crash.push_headers(&mut site);
                    crash.cmdline(&cmdline)
                }
                None => cmdline,
            };
            let handover = &request.handover;
            linux::assemble(
                &mut site,
                &image,
                initrd,
                &cmdline,
                request.host_5level,
                handover,
            )
            .map_err(|error| match &crash {
                Some(crash) => crash.explain(error),
                None => error,
            })?
        }
        #[cfg(feature = "e2e")]
        Payload::Raw {
            bytes,
            entry_offset,
            load_addr,
            kexec_idt,
        } => {
            let payload = raw::RawPayload {
                bytes,
                entry_offset,
                load_addr,
                kexec_idt,
            };
            raw::assemble(&mut site, payload, request.host_5level, purgatory_flags)?
        }
    };
    if !request.verify {
        site.notes
            .push("--no-verify: the region table is empty, the purgatory checks nothing".into());
    }
    let digest = patch::seal(&mut site.purgatory, &mut site.segments, request.verify)?;
    let purgatory_addr = site.purgatory_addr()?;
    let placed = site.purgatory.place(purgatory_addr)?;
    // p_memsz need not be a whole number of pages; kexec_load wants them.
    site.push("purgatory", placed.bytes, purgatory_addr, 0);
    let crash = crash.map(|crash| crash.finish(&site));
    Ok(Plan {
        what,
        entry: placed.entry,
        regs: site.purgatory.entry_regs()?,
        digest,
        purgatory_policy: site.purgatory_policy(),
        purgatory_size: site.purgatory.image().mem_size(),
        purgatory_flags,
        hash: patch::hash_choice(&request.cpuid, request.purgatory_flags),
        console: request.console,
        on_failure: request.on_failure,
        segments: site.segments,
        boot: site.boot,
        notes: site.notes,
        corruption: None,
        crash,
        test_region: None,
    })
}

impl Plan {
    /// The purgatory's segment.
    pub fn purgatory(&self) -> Option<&PlannedSegment> {
        self.segments.iter().find(|s| s.name == "purgatory")
    }

    /// The segments in the region table.
    pub fn verified(&self) -> impl Iterator<Item = &PlannedSegment> {
        self.segments.iter().filter(|s| s.verified())
    }

    /// Flips one byte of a verified segment after the digest was computed
    /// (the test switch): `offset` defaults to the middle of its bytes.
    #[cfg(feature = "e2e")]
    pub fn corrupt(
        &mut self,
        name: &str,
        offset: Option<u64>,
    ) -> Result<&Corruption, CorruptError> {
        let corruption = corrupt::flip(&mut self.segments, name, offset)?;
        Ok(self.corruption.insert(corruption))
    }

    /// Appends `{start, len}` to the purgatory's region table after the
    /// digest was computed (the test switch): memory the plan does not load.
    #[cfg(feature = "e2e")]
    pub fn add_test_region(
        &mut self,
        start: u64,
        len: u64,
    ) -> Result<&TestRegion, TestRegionError> {
        let region = test_region::append(&mut self.segments, start, len)?;
        Ok(self.test_region.insert(region))
    }

    /// The plan as data, with `warnings` the tool printed on stderr.
    pub fn report(&self, warnings: Vec<String>) -> PlanReport {
        PlanReport {
            what: self.what.clone(),
            segments: self
                .segments
                .iter()
                .enumerate()
                .map(segment_report)
                .collect(),
            digest: DigestReport {
                sha256: hex(&self.digest),
                regions: self.verified().count(),
                bytes: self.verified().map(|s| s.mem_size).sum(),
            },
            purgatory: self.purgatory_report(),
            entry_regs: self.regs,
            purgatory_flags: self.purgatory_flags,
            hash: self.hash.clone(),
            console: self.console.clone(),
            on_failure: self.on_failure,
            corruption: self.corruption.clone(),
            crash: self.crash.clone(),
            test_region: self.test_region.clone(),
            boot: self.boot.clone(),
            notes: self.notes.clone(),
            warnings,
        }
    }

    fn purgatory_report(&self) -> PurgatoryReport {
        let start = self.purgatory().map_or(0, |s| s.addr);
        PurgatoryReport {
            start,
            end: start + self.purgatory_size,
            size: self.purgatory_size,
            entry: self.entry,
            placement: self.purgatory_policy,
        }
    }
}

fn segment_report((index, segment): (usize, &PlannedSegment)) -> SegmentReport {
    SegmentReport {
        index,
        name: segment.name.to_owned(),
        start: segment.addr,
        end: segment.end(),
        mem_size: segment.mem_size,
        bytes: segment.bytes.len() as u64,
        verified: segment.verified(),
        sha256: segment.digest.as_ref().map(|digest| hex(digest)),
    }
}
