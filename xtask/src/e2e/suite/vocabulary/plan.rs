//! The load plan `kexec-load --json` printed in the guest, as values: the one
//! place the suite reads it. The line's type is the tool's own
//! ([`PlanReport`]), so the suite and the tool cannot disagree on its shape.

use kexec_load::crash::CrashReport;
use kexec_load::layout::Policy;
use kexec_load::report::boot::BootReport;
use kexec_load::report::{Corruption, PlanReport, TestRegion};
use purgatory_abi::{HashPath, SHA_REGION_COUNT, ShaRegion, ShaRegions};
use std::ops::Range;

pub use kexec_load::report::SegmentReport as Segment;

/// What `kexec-load` planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub segments: Vec<Segment>,
    /// The path the purgatory will take, by the ABI's rule, as announced.
    pub hash: HashPath,
    /// Where the purgatory lies.
    pub purgatory: Range<u64>,
    /// The byte `--corrupt-after-digest` flipped, if any.
    pub corruption: Option<Corruption>,
    /// The region `--test-region` added to the table after the digest, if any.
    pub test_region: Option<TestRegion>,
    /// The seed of a random placement.
    pub seed: Option<u64>,
    /// What a kernel inherits through its boot parameters (EFI, ACPI,
    /// `setup_data`); `None` for a test payload.
    pub boot: Option<BootReport>,
    /// A crash kernel's reservation, core headers and memory map (`-p`).
    pub crash: Option<CrashReport>,
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

    /// The purgatory's region table as the plan fills it: the verified
    /// segments, then the test region at its index.
    pub fn regions(&self) -> Result<ShaRegions, String> {
        let mut regions = [ShaRegion { start: 0, len: 0 }; SHA_REGION_COUNT];
        let mut verified = self.verified();
        for (region, segment) in regions.iter_mut().zip(verified.by_ref()) {
            *region = ShaRegion {
                start: segment.start,
                len: segment.mem_size,
            };
        }
        if verified.next().is_some() {
            return Err(format!(
                "kexec-load's plan verifies more than {SHA_REGION_COUNT} segments"
            ));
        }
        if let Some(test) = &self.test_region {
            let entry = regions
                .get_mut(test.region)
                .filter(|entry| entry.len == 0)
                .ok_or(format!(
                    "kexec-load's test region {} is not a free entry of its table",
                    test.region
                ))?;
            *entry = ShaRegion {
                start: test.start,
                len: test.len,
            };
        }
        Ok(regions)
    }
}

impl From<PlanReport> for Plan {
    fn from(report: PlanReport) -> Self {
        let seed = match report.purgatory.placement {
            Policy::Random { seed } => Some(seed),
            _ => None,
        };
        Self {
            hash: report.hash.path,
            purgatory: report.purgatory.start..report.purgatory.end,
            corruption: report.corruption,
            test_region: report.test_region,
            seed,
            boot: report.boot,
            crash: report.crash,
            segments: report.segments,
        }
    }
}

/// The plan `kexec-load --json` printed in `serial`.
pub fn read(serial: &str) -> Result<Plan, String> {
    PlanReport::find_in(serial)
        .map(Plan::from)
        .map_err(|error| error.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A plan line as `kexec-load --json` prints it, for `segments` given as
    /// `(name, start, mem_size, bytes, verified)`.
    pub fn plan_line(segments: &[(&str, u64, u64, u64, bool)], hash: HashPath) -> String {
        plan_value(segments, hash, None).to_string()
    }

    /// A crash kernel's plan line: `segments` and `crash` (`kexec-load -p`).
    pub fn crash_plan_line(
        segments: &[(&str, u64, u64, u64, bool)],
        crash: &kexec_load::crash::CrashReport,
    ) -> String {
        let mut plan = plan_value(segments, HashPath::ShaNi, None);
        plan["kexec_load_plan"]["crash"] = serde_json::to_value(crash).unwrap();
        plan.to_string()
    }

    /// The same, with `kernel` flipped at offset 0x618000.
    pub fn corrupted_plan_line(segments: &[(&str, u64, u64, u64, bool)]) -> String {
        let flipped = json!({"segment": "kernel", "region": 0, "segment_start": segments[0].1,
            "offset": 0x61_8000, "address": segments[0].1 + 0x61_8000, "before": 1, "after": 0xfe});
        plan_value(segments, HashPath::ShaNi, Some(flipped)).to_string()
    }

    fn plan_value(
        segments: &[(&str, u64, u64, u64, bool)],
        hash: HashPath,
        corruption: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let rows: Vec<_> = segments
            .iter()
            .enumerate()
            .map(|(index, &(name, start, mem_size, bytes, verified))| {
                json!({"index": index, "name": name, "start": start, "end": start + mem_size,
                    "mem_size": mem_size, "bytes": bytes, "verified": verified,
                    "sha256": verified.then(|| "00".repeat(32))})
            })
            .collect();
        let purgatory = segments
            .iter()
            .find(|segment| segment.0 == "purgatory")
            .copied()
            .unwrap_or(("purgatory", 0, 0, 0, false));
        let regs: serde_json::Map<_, _> = [
            "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15", "rip",
        ]
        .iter()
        .map(|name| (name.to_string(), json!(0)))
        .collect();
        let mut plan = json!({
            "what": "bzImage \"6.12\"", "segments": rows,
            "digest": {"sha256": "00".repeat(32), "regions": 2, "bytes": 0},
            "purgatory": {"start": purgatory.1, "end": purgatory.1 + purgatory.2,
                "size": purgatory.2, "entry": purgatory.1 + 0x3c0,
                "placement": {"highest": {"max_end": u64::MAX}}},
            "entry_regs": regs, "purgatory_flags": 0,
            "hash": {"path": hash.name(), "why": "the CPU has SHA, SSSE3 and SSE4.1"},
            "console": {"port": 1016, "why": "ttyS0"}, "on_failure": "halt",
            "boot": null, "notes": [], "warnings": []
        });
        if let Some(corruption) = corruption {
            plan["corruption"] = corruption;
        }
        json!({ "kexec_load_plan": plan })
    }

    /// The same as [`plan_line`] on the SHA-NI path, with a test region of
    /// `len` bytes at `start` after the verified segments.
    pub fn test_region_plan_line(
        segments: &[(&str, u64, u64, u64, bool)],
        start: u64,
        len: u64,
    ) -> String {
        let region = segments.iter().filter(|segment| segment.4).count();
        let mut plan = plan_value(segments, HashPath::ShaNi, None);
        plan["kexec_load_plan"]["test_region"] =
            json!({"region": region, "start": start, "len": len});
        plan.to_string()
    }

    /// A kernel, its boot parameters and the purgatory below 4 GiB.
    pub const SEGMENTS: &[(&str, u64, u64, u64, bool)] = &[
        ("kernel", 0x100_0000, 0x3c0_0000, 0xc3_1000, true),
        ("boot-params", 0x1_0000, 0x2000, 0x1100, true),
        ("purgatory", 0xbffd_7000, 0x9000, 0x7770, false),
    ];

    /// The plan line amid other lines of a log.
    pub fn plan_log() -> String {
        format!(
            "kexec-load: bzImage ...\n[    1.5] {}\r\n[    1.6] 1 2 3\n",
            plan_line(SEGMENTS, HashPath::ShaNi)
        )
    }

    #[test]
    fn the_plan_is_read_into_values() {
        let plan = read(&plan_log()).unwrap();
        assert_eq!(plan.segments.len(), 3);
        let purgatory = &plan.segments[2];
        assert_eq!(
            (purgatory.index, purgatory.name.as_str(), purgatory.start),
            (2, "purgatory", 0xbffd_7000)
        );
        assert_eq!(
            (purgatory.end, purgatory.mem_size, purgatory.bytes),
            (0xbffe_0000, 0x9000, 0x7770)
        );
        assert!(!purgatory.verified);
        assert_eq!(plan.hash, HashPath::ShaNi);
        assert_eq!(plan.purgatory, 0xbffd_7000..0xbffe_0000);
        assert_eq!(plan.segment("kernel").unwrap().start, 0x100_0000);
        assert!(plan.segment("initrd").is_err());
        assert_eq!(plan.covered(), 0x03c0_2000);
        let regions = plan.regions().unwrap();
        assert_eq!((plan.corruption, plan.seed), (None, None));
        assert_eq!(plan.test_region, None);
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
    fn a_flipped_byte_is_read_from_the_plan() {
        let plan = read(&corrupted_plan_line(SEGMENTS)).unwrap();
        let corruption = plan.corruption.unwrap();
        assert_eq!(
            (corruption.region, corruption.segment_start),
            (0, 0x100_0000)
        );
    }

    #[test]
    fn a_test_region_follows_the_verified_segments_in_the_table() {
        let plan = read(&test_region_plan_line(SEGMENTS, 1 << 36, 0x1000)).unwrap();
        let regions = plan.regions().unwrap();
        assert_eq!(
            regions[2],
            ShaRegion {
                start: 1 << 36,
                len: 0x1000
            }
        );
        assert_eq!(plan.covered(), 0x03c0_2000, "not a verified segment");
        let mut taken = plan.clone();
        taken.test_region.as_mut().unwrap().region = 1;
        assert!(taken.regions().unwrap_err().contains("not a free entry"));
    }

    #[test]
    fn a_log_without_a_whole_plan_line_is_refused() {
        let why = read("kexec-load: bzImage ...\n").unwrap_err();
        assert!(why.contains("no kexec-load plan line"), "{why}");
        let line = plan_line(SEGMENTS, HashPath::Software);
        let cut = &line[..line.len() / 2];
        let why = read(cut).unwrap_err();
        assert!(why.contains("does not parse"), "{why}");
    }
}
