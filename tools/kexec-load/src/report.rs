//! The plan as data: what `--json` prints, as one line
//! `{"kexec_load_plan":{…}}`, and what a test reads back from a log (the e2e
//! suite's serial output) with [`PlanReport::find_in`]. The plan makes one
//! with `Plan::report`.

pub mod boot;

use crate::console::Console;
use crate::crash::CrashReport;
use crate::layout::Policy;
use boot::BootReport;
use purgatory_abi::{Entry64Regs, FailurePolicy, HashPath};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How every plan line starts: its one key makes it unambiguous among
/// kernel messages.
pub const LINE_START: &str = "{\"kexec_load_plan\":";

/// Everything the plan holds, as printed by `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanReport {
    /// What is loaded, as the plan's header line says it.
    pub what: String,
    /// Every `kexec_segment` in the order handed to the kernel: the verified
    /// ones in region-table order, then the purgatory.
    pub segments: Vec<SegmentReport>,
    /// `purgatory_sha256_digest`.
    pub digest: DigestReport,
    pub purgatory: PurgatoryReport,
    /// `entry64_regs` as patched: the registers the next stage starts with.
    #[serde(with = "Entry64RegsDef")]
    pub entry_regs: Entry64Regs,
    /// `purgatory_flags` as patched (the `FLAG_*` of the ABI).
    pub purgatory_flags: u64,
    pub hash: HashChoice,
    /// The 16550 the purgatory writes to (`port` null: none), and why.
    pub console: Console,
    /// `halt` or `reset`: what the purgatory does on a mismatch.
    #[serde(with = "failure_policy_name")]
    pub on_failure: FailurePolicy,
    /// The byte `--corrupt-after-digest` flipped: only a build with the `e2e`
    /// feature has the option; absent from the line when unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corruption: Option<Corruption>,
    /// A crash kernel's (`-p`) reservation, ELF core headers and memory map;
    /// absent from the line for any other load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<CrashReport>,
    /// The region `--test-region` appended to the purgatory's table after the
    /// digest (the `e2e` feature); absent from the line when unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_region: Option<TestRegion>,
    /// What a Linux kernel inherits through its boot parameters: the
    /// firmware, EFI, the ACPI RSDP, the e820 split, the `setup_data` chain.
    /// Null for a test payload.
    pub boot: Option<BootReport>,
    /// What the plan tells the user besides the table.
    pub notes: Vec<String>,
    /// What was also printed on stderr as a warning.
    pub warnings: Vec<String>,
}

/// One `kexec_segment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentReport {
    /// Its row; for a verified segment also its region index, the number the
    /// purgatory reports on a mismatch.
    pub index: usize,
    pub name: String,
    pub start: u64,
    /// `start + mem_size`.
    pub end: u64,
    /// Page-aligned; beyond `bytes` the kernel zero-fills.
    pub mem_size: u64,
    /// How many bytes are copied.
    pub bytes: u64,
    /// In the purgatory's region table.
    pub verified: bool,
    /// For a verified segment, the SHA-256 (lowercase hex) of its memory (its
    /// bytes, then zeros to `mem_size`): its `purgatory_segment_digests`
    /// entry. Null otherwise.
    pub sha256: Option<String>,
}

/// The digest the purgatory compares with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestReport {
    /// Lowercase hex.
    pub sha256: String,
    /// How many regions it covers.
    pub regions: usize,
    /// Their bytes together.
    pub bytes: u64,
}

/// Where the purgatory runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgatoryReport {
    pub start: u64,
    /// `start + size` (its segment rounds up to a page).
    pub end: u64,
    /// The image's memory size.
    pub size: u64,
    /// `purgatory_start`, where the old kernel jumps.
    pub entry: u64,
    /// How `start` was chosen.
    pub placement: Policy,
}

/// How the purgatory will hash (its own rule, `HashPath::select`), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashChoice {
    /// `software` or `sha-ni` ([`HashPath::name`]).
    #[serde(with = "hash_path_name")]
    pub path: HashPath,
    pub why: String,
}

/// The byte `--corrupt-after-digest` flipped after the digest was computed
/// (a test of the purgatory's refusal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corruption {
    /// The segment's name.
    pub segment: String,
    /// Its region index: the segment the purgatory must name.
    pub region: usize,
    /// Where the segment starts.
    pub segment_start: u64,
    /// The byte's offset in the segment.
    pub offset: u64,
    /// The byte's physical address.
    pub address: u64,
    pub before: u8,
    pub after: u8,
}

/// The plan's line for it, which the e2e suite looks for.
impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TEST: flipped the byte at {:#x} (segment {} at {:#x}, {} + {:#x}) from {:#04x} to {:#04x} after the digest: the purgatory must refuse to start this image",
            self.address,
            self.region,
            self.segment_start,
            self.segment,
            self.offset,
            self.before,
            self.after
        )
    }
}

/// A region appended to the purgatory's table after the digest was computed,
/// for memory the plan does not load (a test of the purgatory's exception
/// handling: the suite gives an address the kexec does not map).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestRegion {
    /// Its index in the table: the segment the purgatory names.
    pub region: usize,
    pub start: u64,
    pub len: u64,
}

/// The plan's line for it.
impl fmt::Display for TestRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TEST: region {} at {:#x}, {:#x} bytes, added to the purgatory's table after the digest: the purgatory must fault on it or refuse the image",
            self.region, self.start, self.len
        )
    }
}

/// Why no plan could be read from a log.
#[derive(Debug)]
pub enum ReportError {
    /// No line holds [`LINE_START`].
    Missing,
    /// A plan line that does not parse (cut short, or interleaved with other output).
    Malformed {
        line: String,
        error: serde_json::Error,
    },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(f, "no kexec-load plan line ({LINE_START}…) in the log"),
            Self::Malformed { line, error } => {
                write!(
                    f,
                    "the kexec-load plan line does not parse ({error}): {line}"
                )
            }
        }
    }
}

impl std::error::Error for ReportError {}

/// The line's shape: the report under its one key.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanLine {
    kexec_load_plan: PlanReport,
}

impl PlanReport {
    /// The `--json` line, without a newline.
    pub fn to_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&PlanLine {
            kexec_load_plan: self.clone(),
        })
    }

    /// Reads one line as printed by [`to_line`](Self::to_line); anything
    /// before [`LINE_START`] (a log's timestamp) and trailing white space are
    /// ignored.
    pub fn from_line(line: &str) -> Result<Self, ReportError> {
        let at = line.find(LINE_START).ok_or(ReportError::Missing)?;
        let json = line[at..].trim_end();
        serde_json::from_str::<PlanLine>(json)
            .map(|parsed| parsed.kexec_load_plan)
            .map_err(|error| ReportError::Malformed {
                line: json.to_owned(),
                error,
            })
    }

    /// The first plan line of `log`.
    pub fn find_in(log: &str) -> Result<Self, ReportError> {
        let line = log
            .lines()
            .find(|line| line.contains(LINE_START))
            .ok_or(ReportError::Missing)?;
        Self::from_line(line)
    }
}

/// The JSON shape of [`Entry64Regs`]: every register by name.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Entry64Regs")]
struct Entry64RegsDef {
    rax: u64,
    rcx: u64,
    rdx: u64,
    rbx: u64,
    rsp: u64,
    rbp: u64,
    rsi: u64,
    rdi: u64,
    r8: u64,
    r9: u64,
    r10: u64,
    r11: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
    rip: u64,
}

/// [`HashPath`] by its name.
mod hash_path_name {
    use purgatory_abi::HashPath;
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(path: &HashPath, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(path.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<HashPath, D::Error> {
        let name = String::deserialize(deserializer)?;
        HashPath::from_name(&name)
            .ok_or_else(|| D::Error::custom(format!("{name:?}: expected software or sha-ni")))
    }
}

/// [`FailurePolicy`] by its option word.
mod failure_policy_name {
    use crate::request::{failure_policy_name, parse_failure_policy};
    use purgatory_abi::FailurePolicy;
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        policy: &FailurePolicy,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(failure_policy_name(*policy))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<FailurePolicy, D::Error> {
        let name = String::deserialize(deserializer)?;
        parse_failure_policy(&name).map_err(D::Error::custom)
    }
}
