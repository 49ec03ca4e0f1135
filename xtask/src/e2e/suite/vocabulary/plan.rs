//! The load plan `kexec-load` printed in the guest, as values: the one place
//! the suite reads it. That is its `--json` line (`PlanReport`) when the run
//! asked for one, which also says what a kernel inherits through its boot
//! parameters; else the human table (one row per segment) and its `  hash `
//! line.

use crate::e2e::harness::log::hex_number;
use e2e_protocol::protocol::LOADER_HASH;
use kexec_load::report::boot::BootReport;
use kexec_load::report::{PlanReport, ReportError};
use purgatory_abi::{HashPath, SHA_REGION_COUNT, ShaRegion, ShaRegions};
use std::ops::Range;

/// The segment `kexec-load` names for the purgatory.
const PURGATORY: &str = "purgatory";

/// One `kexec_segment` of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its place in the segment list.
    pub index: usize,
    /// `kernel`, `initrd`, `boot-params`, `payload`, `purgatory`, …
    pub name: String,
    pub start: u64,
    pub end: u64,
    pub mem_size: u64,
    /// File-backed bytes; the rest up to `mem_size` is zero-filled.
    pub bytes: u64,
    /// Listed in the purgatory's region table.
    pub verified: bool,
}

/// What `kexec-load` planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub segments: Vec<Segment>,
    /// The path the purgatory will take, by the ABI's rule, as announced.
    pub hash: HashPath,
    /// Where the purgatory's segment lies.
    pub purgatory: Range<u64>,
    /// What a kernel inherits through its boot parameters: only the JSON
    /// plan says.
    pub boot: Option<BootReport>,
}

impl Plan {
    /// The segment called `name`.
    pub fn segment(&self, name: &str) -> Result<&Segment, String> {
        self.segments
            .iter()
            .find(|segment| segment.name == name)
            .ok_or_else(|| format!("no {name} segment in kexec-load's plan"))
    }

    /// The segments the purgatory verifies, in the order of its region table.
    pub fn verified(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter().filter(|segment| segment.verified)
    }

    /// The bytes the purgatory hashes: every verified segment in memory.
    pub fn covered(&self) -> u64 {
        self.verified().map(|segment| segment.mem_size).sum()
    }

    /// The purgatory's region table as the plan fills it.
    pub fn regions(&self) -> Result<ShaRegions, String> {
        let mut regions = [ShaRegion { start: 0, len: 0 }; SHA_REGION_COUNT];
        let mut verified = self.verified();
        for (region, segment) in regions.iter_mut().zip(verified.by_ref()) {
            *region = ShaRegion {
                start: segment.start,
                len: segment.mem_size,
            };
        }
        match verified.next() {
            Some(_) => Err(format!(
                "kexec-load's plan verifies more than {SHA_REGION_COUNT} segments"
            )),
            None => Ok(regions),
        }
    }
}

/// The plan `kexec-load` printed in `serial`: its JSON line if there is one,
/// else its table.
pub fn read(serial: &str) -> Result<Plan, String> {
    match PlanReport::find_in(serial) {
        Ok(report) => from_report(report),
        Err(ReportError::Missing) => read_table(serial),
        Err(error) => Err(error.to_string()),
    }
}

fn from_report(report: PlanReport) -> Result<Plan, String> {
    let segments: Vec<Segment> = report
        .segments
        .into_iter()
        .map(|s| Segment {
            index: s.index,
            name: s.name,
            start: s.start,
            end: s.end,
            mem_size: s.mem_size,
            bytes: s.bytes,
            verified: s.verified,
        })
        .collect();
    let purgatory = purgatory_range(&segments)?;
    Ok(Plan {
        segments,
        hash: report.hash.path,
        purgatory,
        boot: report.boot,
    })
}

fn purgatory_range(segments: &[Segment]) -> Result<Range<u64>, String> {
    segments
        .iter()
        .find(|segment| segment.name == PURGATORY)
        .map(|segment| segment.start..segment.end)
        .ok_or_else(|| "no purgatory row in kexec-load's plan".into())
}

/// The table `kexec-load` printed in `serial`.
///
/// Rows look like `  3  purgatory    0x…(start)  0x…(end)  0x…(memsz)
/// 0x…(bytes)  yes|no…`; the path is on the line starting with
/// [`LOADER_HASH`].
fn read_table(serial: &str) -> Result<Plan, String> {
    let segments: Vec<_> = serial.lines().filter_map(row).collect();
    let hash = serial
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(LOADER_HASH)?.trim_start();
            HashPath::from_name(rest.split(':').next()?)
        })
        .ok_or("kexec-load announced no hash path")?;
    let purgatory = purgatory_range(&segments)?;
    Ok(Plan {
        segments,
        hash,
        purgatory,
        boot: None,
    })
}

fn row(line: &str) -> Option<Segment> {
    let words: Vec<_> = line.split_whitespace().collect();
    let [index, name, start, end, mem_size, bytes, verified, ..] = words[..] else {
        return None;
    };
    Some(Segment {
        index: index.parse().ok()?,
        name: name.to_owned(),
        start: hex_number(start)?,
        end: hex_number(end)?,
        mem_size: hex_number(mem_size)?,
        bytes: hex_number(bytes)?,
        verified: verified == "yes",
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A plan as `kexec-load` prints it, amid other lines.
    pub const PLAN: &str = "kexec-load: bzImage ...\n\
        \x20 #  segment      start               end                 memsz       bytes       verified\n\
        \x20 0  kernel       0x0000000001000000  0x0000000004c00000  0x03c00000  0x00c31000  yes\n\
        \x20 1  boot-params  0x0000000000010000  0x0000000000012000  0x00002000  0x00001100  yes\n\
        \x20 2  purgatory    0x00000000bffd7000  0x00000000bffe0000  0x00009000  0x00007770  no (holds the digest)\n\
        \x20 purgatory    highest fit in RAM\n\
        \x20 hash         sha-ni: the CPU has SHA, SSSE3 and SSE4.1\n\
        [    0.0] 1 2 3 4 5 6\n";

    #[test]
    fn the_plan_is_read_into_values() {
        let plan = read(PLAN).unwrap();
        assert_eq!(plan.segments.len(), 3);
        assert_eq!(
            plan.segments[2],
            Segment {
                index: 2,
                name: "purgatory".into(),
                start: 0xbffd_7000,
                end: 0xbffe_0000,
                mem_size: 0x9000,
                bytes: 0x7770,
                verified: false
            }
        );
        assert_eq!(plan.hash, HashPath::ShaNi);
        assert_eq!(plan.purgatory, 0xbffd_7000..0xbffe_0000);
        assert_eq!(plan.segment("kernel").unwrap().start, 0x100_0000);
        assert!(plan.segment("initrd").is_err());
        assert_eq!(plan.covered(), 0x03c0_2000);
        let regions = plan.regions().unwrap();
        assert_eq!(
            regions[..3],
            [
                ShaRegion {
                    start: 0x100_0000,
                    len: 0x3c0_0000
                },
                ShaRegion {
                    start: 0x1_0000,
                    len: 0x2000
                },
                ShaRegion { start: 0, len: 0 }
            ]
        );
    }

    #[test]
    fn a_plan_without_its_hash_line_or_purgatory_is_refused() {
        let no_hash: String = PLAN
            .lines()
            .filter(|line| !line.contains("hash"))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(
            read(&no_hash),
            Err("kexec-load announced no hash path".into())
        );
        assert!(read("  hash         software: forced\n").is_err());
    }
}
