//! The purgatory's side of the plan: the settings patched in before the
//! segments are known (flags, failure policy, console), where it goes, the
//! hash path it will take, and the region table and digests patched in once
//! the segments are final.

use super::error::PlanError;
use super::segment::PlannedSegment;
use crate::layout::{FOUR_GIB, Policy};
use crate::report::HashChoice;
use crate::request::{PurgatoryAddr, Request};
use purgatory_abi::{
    Cpuid, FLAG_SOFTWARE_SHA256, FLAGS_SYMBOL, HashPath, SEGMENT_DIGESTS_SYMBOL, Sha256Digest,
};
use purgatory_host::{LoadError, Purgatory, Segment};

/// The embedded purgatory with the request's flags, failure policy and
/// console patched in, and a note for a non-default flag.
pub fn prepare(
    request: &Request<'_>,
    notes: &mut Vec<String>,
) -> Result<Purgatory<'static>, PlanError> {
    let mut purgatory = Purgatory::embedded()?;
    purgatory.write_symbol(FLAGS_SYMBOL, &request.purgatory_flags.to_le_bytes())?;
    purgatory.set_failure_policy(request.on_failure)?;
    if let Some(port) = request.console.port {
        purgatory.set_console_port(port)?;
    }
    if request.purgatory_flags & FLAG_SOFTWARE_SHA256 != 0 {
        notes.push(
            "purgatory_flags: FLAG_SOFTWARE_SHA256, the portable SHA-256 even with SHA extensions"
                .into(),
        );
    }
    Ok(purgatory)
}

/// How `--purgatory-addr` places the purgatory.
pub fn placement(addr: PurgatoryAddr, seed: u64) -> Policy {
    match addr {
        PurgatoryAddr::Low => Policy::Lowest { min: 0 },
        PurgatoryAddr::High => Policy::Highest { max_end: u64::MAX },
        PurgatoryAddr::Below4G => Policy::Highest { max_end: FOUR_GIB },
        PurgatoryAddr::Random => Policy::Random { seed },
        PurgatoryAddr::At(addr) => Policy::Exact(addr),
    }
}

/// The purgatory's own rule (`purgatory_abi::HashPath`), with the reason.
pub fn hash_choice(cpuid: &Cpuid, purgatory_flags: u64) -> HashChoice {
    let path = HashPath::select(purgatory_flags, cpuid);
    let why = match path {
        HashPath::ShaNi => "the CPU has SHA, SSSE3 and SSE4.1",
        HashPath::Software if purgatory_flags & FLAG_SOFTWARE_SHA256 != 0 => {
            "--software-sha256 (FLAG_SOFTWARE_SHA256)"
        }
        HashPath::Software if !cpuid.sha() => "the CPU lacks the SHA extensions",
        HashPath::Software => "the CPU lacks SSSE3, SSE4.1, FXSR, SSE or SSE2",
    };
    HashChoice {
        path,
        why: why.into(),
    }
}

/// Lists `segments` in the region table (none unless `verify`), patches the
/// digest, and gives each listed segment its own digest as the purgatory
/// holds it.
pub fn seal(
    purgatory: &mut Purgatory<'_>,
    segments: &mut [PlannedSegment],
    verify: bool,
) -> Result<Sha256Digest, LoadError> {
    let listed = if verify { segments.len() } else { 0 };
    let regions: Vec<Segment<'_>> = segments
        .iter()
        .take(listed)
        .map(PlannedSegment::region)
        .collect();
    let digest = purgatory.set_segments(&regions)?;
    let table = purgatory.read_symbol(SEGMENT_DIGESTS_SYMBOL)?;
    let own_digests = table.chunks_exact(size_of::<Sha256Digest>());
    for (segment, own) in segments.iter_mut().take(listed).zip(own_digests) {
        segment.digest = own.try_into().ok();
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_path_and_its_reason() {
        let sha_cpu = Cpuid {
            max_leaf: 7,
            leaf1_ecx: 1 << 9 | 1 << 19,
            leaf1_edx: 7 << 24,
            leaf7_ebx: 1 << 29,
        };
        assert_eq!(hash_choice(&sha_cpu, 0).path, HashPath::ShaNi);
        assert!(
            hash_choice(&sha_cpu, FLAG_SOFTWARE_SHA256)
                .why
                .contains("--software-sha256")
        );
        let no_sha = Cpuid {
            leaf7_ebx: 0,
            ..sha_cpu
        };
        assert!(hash_choice(&no_sha, 0).why.contains("lacks the SHA"));
    }
}
